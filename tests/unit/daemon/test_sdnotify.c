/* sdnotify against a real notification socket: a unix datagram socket in a temp dir plays
 * systemd's side of the sd_notify protocol. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "loop_deadline.h"
#include "sdnotify.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define WATCHDOG_USEC 200000
#define PERIOD_MS (WATCHDOG_USEC / 2000)

struct fixture {
  uv_loop_t loop;
  struct loop_deadline deadline;
  char dir[64];
  char sock_path[96];
  int fd;
  struct sdnotify *sdn;
  /* Datagrams seen so far, by kind. */
  int ready, watchdog, stopping, reloading, other;
  char last_status[256];
  char last_ready_msg[1024];
};

struct beat {
  bool stale;
};

static int64_t beat_fn(void *ud)
{
  struct beat *b = ud;
  return b->stale ? dg_mono_ms() - 60000 : dg_mono_ms();
}

/* Reads every queued datagram and tallies it. */
static void drain_socket(struct fixture *f)
{
  char buf[1024];
  ssize_t n;
  while ((n = recv(f->fd, buf, sizeof buf - 1, MSG_DONTWAIT)) >= 0) {
    buf[n] = '\0';
    const char *status = strstr(buf, "STATUS=");
    if (status) snprintf(f->last_status, sizeof f->last_status, "%s", status + 7);
    if (strncmp(buf, "READY=1", 7) == 0) {
      f->ready++;
      snprintf(f->last_ready_msg, sizeof f->last_ready_msg, "%s", buf);
    } else if (strcmp(buf, "WATCHDOG=1") == 0) {
      f->watchdog++;
    } else if (strcmp(buf, "STOPPING=1") == 0) {
      f->stopping++;
    } else if (strncmp(buf, "RELOADING=1\n", 12) == 0 || strcmp(buf, "RELOADING=1") == 0) {
      f->reloading++;
    } else if (!status) {
      f->other++;
    }
  }
}

/* Runs the loop for ms (a bounded observation window, not a synchronisation). */
static void run_for(struct fixture *f, uint64_t ms)
{
  loop_deadline_arm(&f->deadline, ms);
  while (!f->deadline.expired) uv_run(&f->loop, UV_RUN_ONCE);
  drain_socket(f);
}

/* Runs the loop until `want` WATCHDOG=1 have arrived or the deadline passes. */
static void run_until_watchdogs(struct fixture *f, int want, uint64_t deadline_ms)
{
  loop_deadline_arm(&f->deadline, deadline_ms);
  while (!f->deadline.expired && f->watchdog < want) {
    uv_run(&f->loop, UV_RUN_ONCE);
    drain_socket(f);
  }
  loop_deadline_stop(&f->deadline);
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);
  if (!f) return -1;
  strcpy(f->dir, "/tmp/dg-sdn-XXXXXX");
  if (!mkdtemp(f->dir)) return -1;
  snprintf(f->sock_path, sizeof f->sock_path, "%s/notify.sock", f->dir);
  f->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (f->fd < 0) return -1;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", f->sock_path);
  if (bind(f->fd, (struct sockaddr *)&sa, sizeof sa)) return -1;
  char pid[32];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  setenv("NOTIFY_SOCKET", f->sock_path, 1);
  setenv("WATCHDOG_USEC", "200000", 1);
  setenv("WATCHDOG_PID", pid, 1);
  if (uv_loop_init(&f->loop)) return -1;
  loop_deadline_init(&f->deadline, &f->loop);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  if (f->sdn) sdn_close(f->sdn);
  loop_deadline_close(&f->deadline);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&f->loop);
  close(f->fd);
  unlink(f->sock_path);
  rmdir(f->dir);
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  free(f);
  assert_int_equal(rc, 0);
  return 0;
}

static void test_ready_sends_status(void **state)
{
  struct fixture *f = *state;
  assert_int_equal(sdn_init(&f->sdn, &f->loop), 0);
  assert_int_equal(sdn_ready(f->sdn, "plant demo: 12 points\nline two"), 0);
  drain_socket(f);
  assert_int_equal(f->ready, 1);
  /* A newline in the status must not start a new protocol field. */
  assert_string_equal(f->last_ready_msg, "READY=1\nSTATUS=plant demo: 12 points line two");
  assert_int_equal(sdn_status(f->sdn, "reloading rules"), 0);
  drain_socket(f);
  assert_string_equal(f->last_status, "reloading rules");
  assert_int_equal(f->other, 0);
}

static void test_watchdog_pings_while_fresh_and_stops_when_stale(void **state)
{
  struct fixture *f = *state;
  struct beat bus = {0}, writer = {0};
  assert_int_equal(sdn_init(&f->sdn, &f->loop), 0);
  assert_int_equal(sdn_add_heartbeat(f->sdn, "bus:modbus-1", beat_fn, &bus, 1000), 0);
  assert_int_equal(sdn_add_heartbeat(f->sdn, "store-writer", beat_fn, &writer, 1000), 0);
  assert_int_equal(sdn_ready(f->sdn, "running"), 0);
  run_until_watchdogs(f, 3, 5000);
  assert_true(f->watchdog >= 3);
  assert_true(sdn_healthy(f->sdn));

  writer.stale = true;
  drain_socket(f);
  f->watchdog = 0;
  run_for(f, 5 * PERIOD_MS);
  assert_int_equal(f->watchdog, 0);
  assert_false(sdn_healthy(f->sdn)); /* proves ticks ran during the window */

  writer.stale = false;
  run_until_watchdogs(f, 1, 5000);
  assert_true(f->watchdog >= 1);
  assert_true(sdn_healthy(f->sdn));
}

static void test_reload_and_stop(void **state)
{
  struct fixture *f = *state;
  struct beat bus = {0};
  assert_int_equal(sdn_init(&f->sdn, &f->loop), 0);
  assert_int_equal(sdn_add_heartbeat(f->sdn, "bus", beat_fn, &bus, 1000), 0);
  assert_int_equal(sdn_ready(f->sdn, "running"), 0);
  assert_int_equal(sdn_reloading(f->sdn), 0);
  assert_int_equal(sdn_ready(f->sdn, "reloaded"), 0);
  drain_socket(f);
  assert_int_equal(f->ready, 2);
  assert_int_equal(f->reloading, 1);
  assert_string_equal(f->last_status, "reloaded");

  /* The watchdog keeps running across the reload. */
  f->watchdog = 0;
  run_until_watchdogs(f, 2, 5000);
  assert_true(f->watchdog >= 2);

  assert_int_equal(sdn_stopping(f->sdn), 0);
  drain_socket(f);
  assert_int_equal(f->stopping, 1);
  f->watchdog = 0;
  run_for(f, 3 * PERIOD_MS);
  assert_int_equal(f->watchdog, 0);
}

static void test_watchdog_for_another_pid_is_ignored(void **state)
{
  struct fixture *f = *state;
  struct beat bus = {0};
  setenv("WATCHDOG_PID", "1", 1);
  assert_int_equal(sdn_init(&f->sdn, &f->loop), 0);
  assert_int_equal(sdn_add_heartbeat(f->sdn, "bus", beat_fn, &bus, 1000), 0);
  assert_int_equal(sdn_ready(f->sdn, "running"), 0);
  run_for(f, 5 * PERIOD_MS);
  assert_int_equal(f->ready, 1);
  assert_int_equal(f->watchdog, 0);
}

static void test_without_notify_socket_everything_is_a_no_op(void **state)
{
  struct fixture *f = *state;
  struct beat bus = {.stale = true};
  unsetenv("NOTIFY_SOCKET");
  assert_int_equal(sdn_init(&f->sdn, &f->loop), 0);
  assert_int_equal(sdn_add_heartbeat(f->sdn, "bus", beat_fn, &bus, 1000), 0);
  assert_int_equal(sdn_ready(f->sdn, "running"), 0);
  assert_int_equal(sdn_status(f->sdn, "still running"), 0);
  assert_int_equal(sdn_reloading(f->sdn), 0);
  assert_int_equal(sdn_ready(f->sdn, "reloaded"), 0);
  run_for(f, 5 * PERIOD_MS);
  assert_int_equal(sdn_stopping(f->sdn), 0);
  drain_socket(f);
  assert_int_equal(f->ready + f->watchdog + f->stopping + f->reloading + f->other, 0);
  assert_string_equal(f->last_status, "");
}

static void test_invalid_heartbeat(void **state)
{
  struct fixture *f = *state;
  struct beat bus = {0};
  assert_int_equal(sdn_init(&f->sdn, &f->loop), 0);
  assert_int_equal(sdn_add_heartbeat(f->sdn, "bus", NULL, &bus, 1000), -EINVAL);
  assert_int_equal(sdn_add_heartbeat(f->sdn, "bus", beat_fn, &bus, 0), -EINVAL);
  assert_int_equal(sdn_add_heartbeat(f->sdn, NULL, beat_fn, &bus, 1000), -EINVAL);
}

static void test_mono_clock_matches_uv_hrtime(void **state)
{
  int64_t a = dg_mono_ms();
  int64_t uv = (int64_t)(uv_hrtime() / 1000000);
  int64_t b = dg_mono_ms();
  assert_true(a <= uv + 1 && uv <= b + 1);
  assert_true(b >= a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_ready_sends_status, setup, teardown),
    cmocka_unit_test_setup_teardown(test_watchdog_pings_while_fresh_and_stops_when_stale, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reload_and_stop, setup, teardown),
    cmocka_unit_test_setup_teardown(test_watchdog_for_another_pid_is_ignored, setup, teardown),
    cmocka_unit_test_setup_teardown(test_without_notify_socket_everything_is_a_no_op, setup, teardown),
    cmocka_unit_test_setup_teardown(test_invalid_heartbeat, setup, teardown),
    cmocka_unit_test(test_mono_clock_matches_uv_hrtime),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
