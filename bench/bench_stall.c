/* Bounded memory with a stalled store. The real engine, store, ledger and outbox on a real loop;
 * 1000 points, each with a high rule that the random values cross all the time, fed at 50 k
 * samples/s by a producer thread through the sample queue. The store's writer is stalled for
 * STALL_MS by a job that waits, then released. Every half second: RSS, samples taken by the
 * engine, history rows waiting for the writer and dropped, alarm transitions waiting for their
 * commit, and pushes that had to wait for room (back-pressure). RSS must stay flat while
 * stalled, no transition is lost, and everything drains once the writer moves again. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_engine_util.h"


#define POINTS 1000
#define RATE 50000
#define STALL_MS 8000
#define AFTER_MS 6000

static struct {
  uv_loop_t loop;
  struct sampleq q;
  struct engine engine;
  uv_timer_t report, release, stop;
  atomic_int running;
  _Atomic uint64_t pushed;
  pthread_mutex_t gate_lock;
  pthread_cond_t gate_cond;
  int gate_open;
  uint64_t t0;
  long rss_stalled_max, rss_at_stall;
} B = {.gate_lock = PTHREAD_MUTEX_INITIALIZER, .gate_cond = PTHREAD_COND_INITIALIZER};

static char *stall_config(void)
{
  size_t cap = 256 * (2 * POINTS + 16);
  char *out = malloc(cap);
  size_t len = (size_t)snprintf(out, cap,
    "site: { code: BENCH, name: bench }\n"
    "daemon: { history_flush: 1s }\n"
    "mqtt: [ { id: m, uri: \"tcp://127.0.0.1:9\" } ]\n"
    "points:\n");
  for (int i = 0; i < POINTS; i++)
    len += (size_t)snprintf(out + len, cap - len, "  - { id: P%d, driver: mqtt.m, topic: p/%d }\n", i, i);
  len += (size_t)snprintf(out + len, cap - len, "rules:\n");
  for (int i = 0; i < POINTS; i++)
    len += (size_t)snprintf(out + len, cap - len,
                            "  - { id: R%d, type: high, point: P%d, stages: [ { name: H, limit: 512, priority: high } ] }\n",
                            i, i);
  return out;
}

static long rss_kb(void)
{
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) kb = strtol(line + 6, NULL, 10);
  if (f) fclose(f);
  return kb;
}

static int stall_work(struct store_conn *c, void *arg)
{
  pthread_mutex_lock(&B.gate_lock);
  while (!B.gate_open) pthread_cond_wait(&B.gate_cond, &B.gate_lock);
  pthread_mutex_unlock(&B.gate_lock);
  return SQLITE_OK;
}

static void *producer(void *arg)
{
  struct dg_sample batch[500];
  unsigned seed = 7;
  uint64_t start = uv_hrtime(), n = 0;
  while (atomic_load(&B.running)) {
    for (int i = 0; i < 500; i++) {
      seed = seed * 1103515245u + 12345u;
      batch[i] = (struct dg_sample){.point = (seed >> 8) % POINTS, .quality = DG_Q_GOOD,
                                    .value = (double)(seed >> 16 & 1023), .ts_ms = dg_wall_ms()};
    }
    sampleq_push(&B.q, batch, 500); /* waits while the queue is full or held */
    n += 500;
    atomic_store(&B.pushed, n);
    uint64_t due = start + n * 1000000000ull / RATE, now = uv_hrtime();
    if (due > now) usleep((useconds_t)((due - now) / 1000));
  }
  return NULL;
}

static void on_report(uv_timer_t *t)
{
  const struct engine *e = &B.engine;
  long rss = rss_kb();
  int stalled = !B.gate_open;
  if (stalled && rss > B.rss_stalled_max) B.rss_stalled_max = rss;
  printf("%5.1f s %s  RSS %6ld kB  pushed %8llu  engine %8llu  history waiting %6zu dropped %7llu stored %7llu"
         "  transitions %6llu waiting %5zu  queue waits %llu\n",
         (double)(uv_hrtime() - B.t0) / 1e9, stalled ? "stalled" : "running", rss,
         (unsigned long long)atomic_load(&B.pushed), (unsigned long long)e->stats.samples, e->history.backlog,
         (unsigned long long)e->history.dropped, (unsigned long long)e->stats.history_rows,
         (unsigned long long)e->stats.transitions, e->txn.in_flight, (unsigned long long)sampleq_waits(&B.q));
}

static void on_release(uv_timer_t *t)
{
  pthread_mutex_lock(&B.gate_lock);
  B.gate_open = 1;
  pthread_cond_signal(&B.gate_cond);
  pthread_mutex_unlock(&B.gate_lock);
  printf("writer released\n");
}

static void on_stop(uv_timer_t *t) { uv_stop(&B.loop); }

int main(void)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct bench_plant p;
  if (bench_plant_open(&p, "stall", stall_config(), &B.loop, &B.engine, &B.q)) return 1;
  struct store *store = p.store;
  B.engine.txn.hold = &B.q;
  store_submit(store, stall_work, NULL, NULL);
  uv_timer_init(&B.loop, &B.report);
  uv_timer_init(&B.loop, &B.release);
  uv_timer_init(&B.loop, &B.stop);
  uv_timer_start(&B.report, on_report, 500, 500);
  uv_timer_start(&B.release, on_release, STALL_MS, 0);
  uv_timer_start(&B.stop, on_stop, STALL_MS + AFTER_MS, 0);
  B.rss_at_stall = rss_kb();
  B.t0 = uv_hrtime();
  atomic_store(&B.running, 1);
  pthread_t th;
  pthread_create(&th, NULL, producer, NULL);
  uv_run(&B.loop, UV_RUN_DEFAULT);
  atomic_store(&B.running, 0);
  sampleq_set_blocking(&B.q, 0); /* the producer may be waiting for room */
  pthread_join(th, NULL);
  store_wait_idle(store);
  on_report(&B.report);
  printf("stalled %d s: RSS %ld kB at the stall, at most %ld kB while stalled (growth %ld kB)   bounded: %s\n",
         STALL_MS / 1000, B.rss_at_stall, B.rss_stalled_max, B.rss_stalled_max - B.rss_at_stall,
         B.rss_stalled_max - B.rss_at_stall < 32 * 1024 ? "MET" : "NOT MET");
  printf("sample queue: back-pressure (producers wait; %llu pushes waited, %llu samples dropped);"
         " history: %llu rows dropped and counted; alarm transitions: none dropped (%llu made, %zu still waiting)\n",
         (unsigned long long)sampleq_waits(&B.q), (unsigned long long)sampleq_dropped(&B.q),
         (unsigned long long)B.engine.history.dropped, (unsigned long long)B.engine.stats.transitions,
         B.engine.txn.in_flight);

  uv_close((uv_handle_t *)&B.report, NULL);
  uv_close((uv_handle_t *)&B.release, NULL);
  uv_close((uv_handle_t *)&B.stop, NULL);
  return bench_plant_close(&p, &B.loop, &B.engine, &B.q);
}
