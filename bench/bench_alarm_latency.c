/* Alarm latency: sample in (pushed to the sample queue) → alarm transition committed in SQLite
 * (synchronous=FULL) → notification handed to the sender, while a producer thread feeds
 * 50 k samples/s of background traffic on 1000 other points (stored as history). The real
 * engine, store, ledger and outbox run on a real loop with a database in a temporary
 * directory. The history already holds HISTORY_ROWS_PER_POINT rows of every background point
 * (each point's rows past one index page, as in a plant after a while), and the run is long
 * enough for every slice of the history's log to be moved once (HISTORY_LOG_SLICES flushes of 1 s).
 * Every transition's webhook goes to a receiver in this process that answers 200 (one delivery
 * outcome per message, as in a plant whose receiver is up); `--receiver-down` points it at a
 * closed port instead, so every message is retried and each retry's outcome is committed too.
 * Prints p50/p99/max against the targets (p99 < 5 ms, max < 20 ms). DG_BENCH_SLOW_MS=n prints each
 * transition slower than n ms with its CLOCK_MONOTONIC times; TMPDIR sets where the database goes
 * (/dev/shm: the same run without the disk). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_engine_util.h"
#include "bench_plant.h"
#include "bench_sink.h"


#define BG_POINTS 1000
#define BG_RATE 50000
#define TOGGLE_MS 20
#define RUN_MS ((HISTORY_LOG_SLICES + 5) * 1000)
#define MAX_EVENTS 4096
#define HISTORY_ROWS_PER_POINT 300

static struct {
  uv_loop_t loop;
  struct sampleq q;
  struct engine engine;
  struct notify *notify;
  uv_timer_t toggle, stop;
  uv_check_t check;
  atomic_int running;
  uint32_t alarm_point;
  int level;
  uint64_t pending_since_ns;
  size_t handed_before;
  double lat_ms[MAX_EVENTS];
  size_t n_lat;
  double slow_ms;
  uint64_t bg_pushed;
} B;

static char *bench_config(uint16_t receiver_port)
{
  size_t cap = 256 * (BG_POINTS + 16);
  char *out = malloc(cap);
  size_t len = (size_t)snprintf(out, cap,
    "site: { code: BENCH, name: bench }\n"
    "daemon: { history_flush: 1s }\n"
    "hazard_sources:\n  - id: HS\n    name: s\n    units:\n      - id: U\n        name: u\n        events:\n"
    "          - id: E\n            name: e\n            accident_type: 中毒和窒息\n            lec: { l: 3, e: 6, c: 40 }\n"
    "            measures: [ { id: M, desc: m, classify: \"1-4\", data_src: 1 } ]\n"
    "mqtt: [ { id: m, uri: \"tcp://127.0.0.1:9\" } ]\n"
    "channels: [ { id: c, type: webhook, url: \"http://127.0.0.1:%u/\", timeout: 1s } ]\n"
    "policies: [ { id: p, priorities: [low, medium, high, critical], channels: [c] } ]\n"
    "rules:\n  - { id: R, type: high, point: A, measure: M, stages: [ { name: H, limit: 50, priority: high } ] }\n"
    "points:\n  - { id: A, driver: mqtt.m, topic: a }\n", receiver_port);
  for (int i = 0; i < BG_POINTS; i++)
    len += (size_t)snprintf(out + len, cap - len, "  - { id: B%d, driver: mqtt.m, topic: b/%d }\n", i, i);
  return out;
}

static size_t handed_total(void)
{
  struct notify_stats s;
  notify_stats(B.notify, &s);
  return s.queued + s.in_flight + s.delivered + s.expired;
}

static void on_toggle(uv_timer_t *t)
{
  if (B.pending_since_ns) return; /* the previous transition is still on its way */
  B.level = !B.level;
  struct dg_sample s = {.point = B.alarm_point, .quality = DG_Q_GOOD, .value = B.level ? 100 : 0, .ts_ms = dg_wall_ms()};
  B.handed_before = handed_total();
  B.pending_since_ns = uv_hrtime();
  sampleq_push(&B.q, &s, 1);
}

static void on_check(uv_check_t *c)
{
  if (!B.pending_since_ns || handed_total() == B.handed_before) return;
  uint64_t now = uv_hrtime();
  double ms = (double)(now - B.pending_since_ns) / 1e6;
  if (B.n_lat < MAX_EVENTS) B.lat_ms[B.n_lat++] = ms;
  if (B.slow_ms > 0 && ms >= B.slow_ms) /* CLOCK_MONOTONIC, to match against a trace (perf -k CLOCK_MONOTONIC) */
    printf("slow transition: %.2f ms, from %.6f s to %.6f s\n", ms, (double)B.pending_since_ns / 1e9, (double)now / 1e9);
  B.pending_since_ns = 0;
}

static void *producer(void *arg)
{
  struct dg_sample batch[500];
  unsigned seed = 7;
  uint64_t start = uv_hrtime();
  while (atomic_load(&B.running)) {
    for (int i = 0; i < 500; i++) {
      seed = seed * 1103515245u + 12345u;
      batch[i] = (struct dg_sample){.point = 1 + (seed >> 8) % BG_POINTS, .quality = DG_Q_GOOD,
                                    .value = (double)(seed >> 16 & 1023), .ts_ms = dg_wall_ms()};
    }
    sampleq_push(&B.q, batch, 500);
    B.bg_pushed += 500;
    uint64_t due = start + B.bg_pushed * 1000000000ull / BG_RATE, now = uv_hrtime();
    if (due > now) usleep((useconds_t)((due - now) / 1000));
  }
  return NULL;
}

static void on_stop(uv_timer_t *t) { uv_stop(&B.loop); }

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
  int receiver_down = argc > 1 && strcmp(argv[1], "--receiver-down") == 0;
  if (argc > 1 && !receiver_down) {
    fprintf(stderr, "usage: %s [--receiver-down]\n", argv[0]);
    return 2;
  }
  const char *slow = getenv("DG_BENCH_SLOW_MS");
  B.slow_ms = slow ? atof(slow) : 0;
  uint16_t port = receiver_down ? 9 : sink_start();
  struct bench_plant p;
  if (!port || bench_plant_open(&p, "latency", bench_config(port), &B.loop, &B.engine, &B.q)) return 1;
  B.notify = p.notify;
  B.alarm_point = (uint32_t)dg_config_point(p.cfg, "A")->index;
  char db[PATH_MAX];
  snprintf(db, sizeof db, "%s/bench.db", p.dir);
  if (bench_plant_history_prefill(db, "B%d", BG_POINTS, HISTORY_ROWS_PER_POINT, 10000)) return 1;
  uv_timer_init(&B.loop, &B.toggle);
  uv_timer_init(&B.loop, &B.stop);
  uv_check_init(&B.loop, &B.check);
  uv_check_start(&B.check, on_check);
  uv_timer_start(&B.toggle, on_toggle, TOGGLE_MS, TOGGLE_MS);
  uv_timer_start(&B.stop, on_stop, RUN_MS, 0);
  atomic_store(&B.running, 1);
  pthread_t th;
  pthread_create(&th, NULL, producer, NULL);
  uint64_t t0 = uv_hrtime();
  uv_run(&B.loop, UV_RUN_DEFAULT);
  double secs = (double)(uv_hrtime() - t0) / 1e9;
  atomic_store(&B.running, 0);
  pthread_join(th, NULL);

  qsort(B.lat_ms, B.n_lat, sizeof B.lat_ms[0], cmp_double);
  struct notify_stats ns;
  notify_stats(B.notify, &ns);
  printf("alarm latency: %zu transitions, background %.0f samples/s on %d points, %.0f history rows stored\n", B.n_lat,
         (double)B.bg_pushed / secs, BG_POINTS, (double)B.engine.stats.history_rows);
  printf("alarm latency: webhook receiver %s: %llu delivered (%llu received), %llu failed attempts\n",
         receiver_down ? "down" : "up", (unsigned long long)ns.delivered, (unsigned long long)atomic_load(&sink_posts),
         (unsigned long long)ns.failed_attempts);
  if (B.n_lat) {
    double p99 = B.lat_ms[(size_t)((double)B.n_lat * 0.99)], max = B.lat_ms[B.n_lat - 1];
    printf("alarm latency: sample in -> committed -> handed to sender: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
           B.lat_ms[B.n_lat / 2], p99, max);
    printf("alarm latency: target p99 < 5 ms: %s; target max < 20 ms: %s\n", p99 < 5 ? "MET" : "NOT MET",
           max < 20 ? "MET" : "NOT MET");
  }

  uv_close((uv_handle_t *)&B.toggle, NULL);
  uv_close((uv_handle_t *)&B.stop, NULL);
  uv_close((uv_handle_t *)&B.check, NULL);
  return bench_plant_close(&p, &B.loop, &B.engine, &B.q);
}
