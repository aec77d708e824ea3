/* bench_escalate — 10,000 concurrent escalations on a real database.
 *
 *   bench_escalate [count] [dir]   (default 10000; a fresh directory under /var/tmp, removed after)
 *
 * Starts `count` escalations of a three-tier policy (tier timeouts 2 s and 3 s), each written in
 * its own durable job as an alarm transition would, then runs the loop until every escalation has
 * reached its last tier. Prints the CPU time, the peak memory, and how late the timed tier steps
 * ran against their due times. Messages are committed to the outbox but not delivered (the
 * sender is closed): this measures the escalation engine and its commits, not HTTP. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "escalate.h"
#include "log.h"
#include "notify.h"

static const char config_yaml[] =
  "site: { code: B1, name: 基准 }\n"
  "persons:\n"
  "  - { id: op, name: 操作员, phone: '+8613800000001', roles: [operator] }\n"
  "  - { id: dir, name: 主任, phone: '+8613800000002', roles: [workshop_director] }\n"
  "  - { id: safe, name: 安全总监, phone: '+8613800000003', roles: [safety_director] }\n"
  "mqtt: [ { id: m, uri: 'tcp://127.0.0.1:1', client_id: bench } ]\n"
  "points: [ { id: P1, name: 可燃气体, eng_unit: '%LEL', driver: mqtt.m, topic: t/p1 } ]\n"
  "rules: [ { id: R1, type: high, point: P1, stages: [ { name: H, limit: 25, priority: high } ] } ]\n"
  "escalation:\n"
  "  dashboard_url: http://127.0.0.1:8080\n"
  "  digest_after: 0\n"
  "  channels: [ { id: sms, type: sms, url: 'http://127.0.0.1:9/sms', body_template: '{\"to\":\"{{phone}}\"}' } ]\n"
  "  policies:\n"
  "    - id: p\n"
  "      events: [alarm_activate]\n"
  "      tiers:\n"
  "        - { roles: [operator], channels: [sms], timeout: 2s }\n"
  "        - { roles: [workshop_director], channels: [sms], timeout: 3s }\n"
  "        - { roles: [safety_director], channels: [sms] }\n";

struct bench {
  uv_loop_t loop;
  struct store *store;
  struct notify *notify;
  struct escalate *esc;
  uv_timer_t check;
  uint64_t want_steps;
  int started_failed;
};

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(long *maxrss_kb)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *maxrss_kb = ru.ru_maxrss;
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

struct start_job {
  struct esc_change *ch;
  struct notify_msg *msgs;
  struct bench *b;
};

static int start_work(struct store_conn *c, void *arg)
{
  struct start_job *j = arg;
  int rc = escalate_write(c, j->ch);
  if (rc == SQLITE_OK) rc = notify_msg_write(c, j->msgs);
  return rc;
}

static void start_done(void *arg, int rc)
{
  struct start_job *j = arg;
  if (rc) j->b->started_failed++;
  escalate_change_free(j->ch);
  notify_msg_free_list(j->msgs);
  free(j);
}

static void on_check(uv_timer_t *t)
{
  struct bench *b = t->data;
  struct escalate_stats s;
  escalate_stats(b->esc, &s);
  if (s.steps >= b->want_steps) uv_stop(&b->loop);
}

int main(int argc, char **argv)
{
  int count = argc > 1 ? atoi(argv[1]) : 10000;
  char dir[256], db[300], err[256];
  snprintf(dir, sizeof dir, "%s", argc > 2 ? argv[2] : "/var/tmp/dg-bench-escXXXXXX");
  if (argc <= 2 && !mkdtemp(dir)) return perror("mkdtemp"), 1;
  snprintf(db, sizeof db, "%s/bench.db", dir);
  dg_log_set_level(DG_LOG_WARN);

  struct bench b = {0};
  struct dg_config *cfg = NULL;
  if (config_load_string("bench.yaml", config_yaml, strlen(config_yaml), &cfg, err, sizeof err))
    return fprintf(stderr, "%s\n", err), 1;
  uv_loop_init(&b.loop);
  if (store_open(&b.store, &b.loop, db, err, sizeof err)) return fprintf(stderr, "%s\n", err), 1;
  if (notify_init(&b.notify, &b.loop, cfg, b.store, NULL) || escalate_init(&b.esc, &b.loop, cfg, b.store, b.notify))
    return fprintf(stderr, "init failed\n"), 1;
  notify_close(b.notify); /* committed messages stay pending: delivery is not measured */

  long rss0, rss1;
  double cpu0 = cpu_s(&rss0), t0 = now_s();
  for (int i = 0; i < count; i++) {
    struct start_job *j = calloc(1, sizeof *j);
    struct esc_alarm ev = {.kind = ESC_EV_ALARM_ACTIVATE, .alarm_id = i + 1, .rule = &cfg->rules[0], .stage = "H",
                           .priority = DG_PRIO_HIGH, .value = 25.0 + i % 100 / 10.0, .has_limit = 1, .limit = 25,
                           .ts_ms = dg_wall_ms()};
    j->b = &b;
    j->ch = escalate_on_alarm(b.esc, &ev, &j->msgs);
    if (store_submit_urgent(b.store, start_work, start_done, j)) start_done(j, -1);
  }
  double t_start = now_s() - t0;
  b.want_steps = 2ull * (uint64_t)count;
  uv_timer_init(&b.loop, &b.check);
  b.check.data = &b;
  uv_timer_start(&b.check, on_check, 50, 50);
  uv_run(&b.loop, UV_RUN_DEFAULT);
  double t_all = now_s() - t0, cpu = cpu_s(&rss1) - cpu0;

  struct escalate_stats s;
  escalate_stats(b.esc, &s);
  printf("escalations started:   %d in %.3f s (%.1f µs each, commits queued)\n", count, t_start, t_start * 1e6 / count);
  printf("tier steps fired:      %llu (%llu messages committed), all by %.2f s after the start\n",
         (unsigned long long)s.steps, (unsigned long long)s.messages, t_all);
  printf("step lateness:         mean %.1f ms, worst %lld ms (against each step's stored due time)\n",
         s.steps ? s.late_sum_ms / (double)s.steps : 0.0, (long long)s.late_max_ms);
  printf("CPU:                   %.2f s user+system over %.2f s (%.0f%% of one core)\n", cpu, t_all,
         100.0 * cpu / t_all);
  printf("peak memory (RSS):     %.1f MiB (%.1f MiB before the escalations)\n", rss1 / 1024.0, rss0 / 1024.0);
  printf("failed commits:        %d\n", b.started_failed);

  uv_timer_stop(&b.check);
  uv_close((uv_handle_t *)&b.check, NULL);
  escalate_close(b.esc);
  store_wait_idle(b.store);
  uv_run(&b.loop, UV_RUN_NOWAIT);
  store_close(b.store);
  uv_run(&b.loop, UV_RUN_DEFAULT);
  uv_loop_close(&b.loop);
  config_free(cfg);
  if (argc <= 2) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
  }
  return 0;
}
