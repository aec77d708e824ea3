/* What one wake-up of a libuv loop costs on this machine: a timer every millisecond, nothing
 * done in its callback, the loop thread's CPU (CLOCK_THREAD_CPUTIME_ID) divided by the wake-ups.
 * The loop of dualguardd wakes about once per millisecond of a sample stream (the sample
 * queue's pace), so this is the floor under its CPU per sample at a given rate: at 20 000
 * samples/s, a wake-up's cost divided by 20. Figures only, no assertions. */
#include <stdio.h>
#include <time.h>
#include <uv.h>

#define WAKES 5000
#define ROUNDS 3

static unsigned fired;

static void on_tick(uv_timer_t *t)
{
  if (++fired == WAKES) uv_timer_stop(t);
}

static double thread_cpu_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
  uv_loop_t loop;
  uv_timer_t timer;
  if (uv_loop_init(&loop) || uv_timer_init(&loop, &timer)) return 1;
  for (int round = 0; round < ROUNDS; round++) {
    fired = 0;
    uv_timer_start(&timer, on_tick, 1, 1);
    double cpu = thread_cpu_s();
    uint64_t t0 = uv_hrtime();
    uv_run(&loop, UV_RUN_DEFAULT);
    cpu = thread_cpu_s() - cpu;
    double wall = (double)(uv_hrtime() - t0) / 1e9;
    printf("loop wake-up: %u in %.2f s, %.1f us of CPU each (%.2f us a sample at 20 000 samples/s)\n", fired, wall,
           cpu / fired * 1e6, cpu / fired * 1e6 / 20);
  }
  uv_close((uv_handle_t *)&timer, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  return uv_loop_close(&loop) ? 1 : 0;
}
