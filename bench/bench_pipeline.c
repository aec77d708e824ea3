/* The full pipeline at the broker's pace: the real daemon next to a bare paho subscriber, on one
 * mosquitto, in the same run.
 *
 * 10 000 MQTT points, one high rule per point (limit 80, deadband 2) on a monitored measure (an
 * activation opens or updates a hazard), history stored, one webhook channel for every
 * transition answered by a sink in this process. The publisher sends MESSAGES {"value", "ts"}
 * payloads round-robin over the topics with values around the limit; the bare subscriber only
 * counts. The daemon's progress is read from GET /api/v1/drivers (engine.samples), every 10 ms
 * at both ends of the pass and every 100 ms between; its rate is its samples over the time from
 * its first to its last sample, the bare one's likewise. After the pass the bench waits for
 * every transition to be committed, every webhook delivered and the pass's history moved, then
 * prints, each against its target: the rate ratio, dualguard's own CPU per message (all threads
 * but paho's receive thread, in the scheduler's nanoseconds from /proc; judged with the idle
 * daemon's CPU over the same time taken out, as read over IDLE_CPU_MS once it has settled),
 * peak RSS and the RSS idle before the pass (IDLE_SETTLE_MS after the probes that show every
 * topic subscribed), transitions and webhooks.
 * QoS 0 then QoS 1, each on a fresh database whose history already holds 300 rows of every
 * point (bench_plant_history_prefill), then QoS 0 with every value below the limit (no
 * transition: the per-sample path alone).
 * Usage: bench_pipeline [DAEMON [--per-sample]] (default: ../dualguardd next to this program;
 * --per-sample: the last pass only); bench_pipeline --write-config FILE writes the configuration
 * only (broker 1883, sink 8090) for profiling the daemon by hand. About six minutes; figures
 * only, no assertions. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <sys/wait.h>

#define TOPICS 10000
#define WINDOW 2000
#define PASS_TIMEOUT_S 120.0
#define MESSAGES 200000
/* Idle: the first round of moves after a start (one slice per 1 s flush) is over and the
 * writers have had nothing to do for long enough to give their caches back. */
#define IDLE_SETTLE_MS ((HISTORY_LOG_SLICES + 2) * 1000 + STORE_IDLE_RELEASE_MS + 1000)
/* The idle daemon's CPU is read over IDLE_CPU_MS after that settling (its timers: the
 * inspection tasks' pass, the risk and stale sweeps, the checkpointers' rounds). */
#define IDLE_CPU_MS 20000


#include "bench_mqtt_util.h"
#include "bench_plant.h"
#include "bench_proc.h"
#include "bench_sink.h"
#include "history.h"
#include "store.h"

#define LIMIT BENCH_PLANT_LIMIT
#define DEADBAND BENCH_PLANT_DEADBAND

/* ---- the workload ---- */

/* Values around the limit: a few per cent of the messages cross it one way or the other. */
static double value_of(uint64_t i)
{
  uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull;
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 32;
  return 60.0 + (double)(x % 2050) / 100.0; /* 60.00 .. 80.49 */
}

/* The same values 30 lower: no rule ever changes state, so the pass measures the per-sample
 * path alone (history still stored). */
static double value_below(uint64_t i) { return value_of(i) - 30.0; }

/* The transitions the rules must make: activation above the limit, clear below limit - deadband. */
static void expected_transitions(double (*value)(uint64_t), uint64_t *act, uint64_t *clr)
{
  static uint8_t on[TOPICS];
  memset(on, 0, sizeof on);
  *act = *clr = 0;
  for (uint64_t i = 0; i < MESSAGES; i++) {
    double v = value(i);
    uint8_t *s = &on[i % TOPICS];
    if (!*s && v >= LIMIT) *s = 1, (*act)++;
    else if (*s && v <= LIMIT - DEADBAND) *s = 0, (*clr)++;
  }
}

/* ---- the daemon ---- */

struct daemon {
  pid_t pid;
  uint16_t port;
  char log[PATH_MAX];
  char token[128]; /* reads of the API need one: issued by the daemon's own CLI before start */
};

static int daemon_token(struct daemon *d, const char *bin, const char *cfg, const char *db)
{
  char cmd[3 * PATH_MAX];
  snprintf(cmd, sizeof cmd, "'%s' -c '%s' --db '%s' --create-token li --log-level error", bin, cfg, db);
  FILE *p = popen(cmd, "r");
  if (!p) return -errno;
  int ok = fgets(d->token, sizeof d->token, p) != NULL;
  if (pclose(p) != 0 || !ok) return -EIO;
  d->token[strcspn(d->token, "\r\n")] = 0;
  return 0;
}

static int daemon_start(struct daemon *d, const char *bin, const char *dir)
{
  char cfg[PATH_MAX], db[PATH_MAX];
  snprintf(cfg, sizeof cfg, "%s/bench.yaml", dir);
  snprintf(db, sizeof db, "%s/bench.db", dir);
  snprintf(d->log, sizeof d->log, "%s/daemon.log", dir);
  int rc = daemon_token(d, bin, cfg, db);
  if (rc) return rc;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, d->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 2, 1);
  char *argv[] = {(char *)bin, "-c", cfg, "--db", db, "--http-port", "0", "--log-level", "info", NULL};
  rc = posix_spawn(&d->pid, bin, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc) return -rc;
  for (int i = 0; i < 1200; i++) {
    sleep_ms(25);
    FILE *f = fopen(d->log, "r");
    char line[512];
    int ready = 0;
    while (f && fgets(line, sizeof line, f)) {
      char *l = strstr(line, "listening on http://127.0.0.1:");
      if (l) d->port = (uint16_t)atoi(l + strlen("listening on http://127.0.0.1:"));
      if (strstr(line, "ready")) ready = 1;
    }
    if (f) fclose(f);
    if (ready && d->port) return 0;
  }
  return -ETIMEDOUT;
}

static void daemon_stop(struct daemon *d)
{
  if (d->pid <= 0) return;
  kill(d->pid, SIGTERM);
  waitpid(d->pid, NULL, 0);
  d->pid = 0;
}

/* 300 rows of each point: a little more than one leaf of the history's index each, as after some
 * minutes of this stream. */
#define HISTORY_ROWS_PER_POINT 300

/* Samples in the history's log, not yet moved into blocks. */
static int64_t history_log_samples(const char *dir)
{
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/bench.db-history", dir);
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int64_t n = -1;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
    if (sqlite3_prepare_v2(db, "SELECT coalesce(sum(n), 0) FROM sample_packs", -1, &st, NULL) != SQLITE_OK) n = 0;
    else if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

struct status {
  double samples, transitions, delivered, queued, in_flight, history_rows, history_waiting;
};

static int status_read(const struct daemon *d, struct status *s)
{
  static char body[1 << 16];
  if (http_get(d->port, d->token, "/api/v1/drivers", body, sizeof body)) return -EIO;
  *s = (struct status){json_num(body, "samples"), json_num(body, "transitions"), json_num(body, "delivered"),
                       json_num(body, "queued"), json_num(body, "in_flight"), json_num(body, "history_rows"),
                       json_num(body, "history_backlog") + json_num(body, "history_buffered")};
  return 0;
}

/* Each thread group's CPU over the pass, in microseconds per message. */
static void cpu_print_groups(const struct cpu *before, const struct cpu *after)
{
  printf("  by thread (us per message)        :");
  for (unsigned i = 0; i < after->n; i++) {
    double d = after->group[i].s - cpu_of(before, after->group[i].name);
    if (d > 0) printf(" %s %.2f", after->group[i].name, d / MESSAGES * 1e6);
  }
  printf("\n");
}

static const char *verdict(int ok) { return ok ? "MET" : "NOT MET"; }

/* CPU seconds of every thread but paho's receive thread. */
static double cpu_own(const struct cpu *c) { return c->total - cpu_of(c, "MQTTAsync_rcv"); }

/* The progress is polled often at both ends of the pass, where its first and last sample are
 * timed, and seldom between them: each poll is a request the daemon serves on its loop. */
static unsigned poll_ms(double first, double last, double done)
{
  if (!first || last <= first) return 10;
  return (MESSAGES - done) / (done / (last - first)) < 0.3 ? 10 : 100;
}

static int run_qos(const char *bin, uint16_t mqtt_port, uint16_t sink_port, int qos, double (*value)(uint64_t))
{
  char dir[] = "/tmp/bench-pipeline-XXXXXX", cfg[PATH_MAX], uri[64];
  if (!mkdtemp(dir)) return -errno;
  snprintf(cfg, sizeof cfg, "%s/bench.yaml", dir);
  snprintf(uri, sizeof uri, "tcp://127.0.0.1:%u", mqtt_port);
  struct daemon d = {0};
  struct status s0, s;
  int rc = bench_plant_write(cfg, mqtt_port, sink_port, qos, TOPICS, 0);
  if (!rc) rc = daemon_start(&d, bin, dir);
  daemon_stop(&d);
  if (!rc) {
    char db[PATH_MAX];
    snprintf(db, sizeof db, "%s/bench.db", dir);
    rc = bench_plant_history_prefill(db, "P%06d", TOPICS, HISTORY_ROWS_PER_POINT, 10000);
  }
  double t_start = now_s();
  if (!rc) rc = daemon_start(&d, bin, dir);
  double t_ready = now_s();
  MQTTAsync pub = NULL, bare = NULL;
  if (rc || !(bare = bare_subscribe(uri, qos)) || !(pub = paho_connect(uri, "bench-pub", NULL))) {
    fprintf(stderr, "bench_pipeline: setup failed (rc %d; daemon log %s)\n", rc, d.log);
    rc = -EIO;
    goto out;
  }
  /* Subscribed: a probe on every topic reaches the daemon (values below the limit). */
  for (int tries = 0; tries < 60; tries++) {
    status_read(&d, &s0);
    for (int i = 0; i < TOPICS; i += 500) {
      char topic[24];
      snprintf(topic, sizeof topic, "bench/p/%d", i);
      MQTTAsync_send(pub, topic, 13, "{\"value\": 1}", 1, 0, NULL);
    }
    sleep_ms(500);
    status_read(&d, &s);
    if (s.samples - s0.samples >= TOPICS / 500) break;
  }
  sleep_ms(1500); /* the probes' history and hazards settle */
  long started_rss = rss_kb(d.pid, "VmRSS:");
  sleep_ms(IDLE_SETTLE_MS);
  long idle_rss = rss_kb(d.pid, "VmRSS:");
  struct cpu i0, i1;
  cpu_read(d.pid, &i0);
  double t_idle = now_s();
  sleep_ms(IDLE_CPU_MS);
  cpu_read(d.pid, &i1);
  double idle_rate = (cpu_own(&i1) - cpu_own(&i0)) / (now_s() - t_idle);
  uint64_t act, clr;
  expected_transitions(value, &act, &clr);
  status_read(&d, &s0);
  counter_reset(&bare_count);
  struct cpu c0, c1, b0, b1;
  cpu_read(d.pid, &c0);
  double t_c0 = now_s();
  cpu_read(getpid(), &b0); /* this process's paho receive thread: the bare subscriber's */
  struct publisher p = {.client = pub, .qos = qos, .count = MESSAGES, .value = value};
  pthread_t th;
  pthread_create(&th, NULL, publisher_main, &p);
  double first = 0, last = 0, end = now_s() + PASS_TIMEOUT_S, prev = s0.samples;
  while (now_s() < end) {
    sleep_ms(poll_ms(first, last, prev - s0.samples));
    if (status_read(&d, &s)) continue;
    if (s.samples > prev) {
      if (!first) first = now_s();
      last = now_s();
      prev = s.samples;
    }
    if (s.samples - s0.samples >= MESSAGES) break;
  }
  pthread_join(th, NULL);
  double got = s.samples - s0.samples;
  /* Everything durable and delivered; the CPU is read after the history of the pass is stored
   * too (its last flush comes up to history_flush after the last sample), so all the work the
   * pass caused is counted. */
  double want = (double)(act + clr), t_settled = 0;
  while (now_s() < end) {
    status_read(&d, &s);
    int settled = s.transitions - s0.transitions >= want && s.queued == 0 && s.in_flight == 0 &&
                  s.delivered - s0.delivered >= want;
    if (settled && !t_settled) t_settled = now_s();
    if (settled && s.history_waiting == 0) break;
    sleep_ms(50);
  }
  double t_stored = now_s();
  if (!t_settled) t_settled = t_stored;
  /* and moved from the log into blocks, the moves counted with the rest */
  while (now_s() < end && history_log_samples(dir) != 0) sleep_ms(200);
  double t_moved = now_s();
  cpu_read(d.pid, &c1);
  double window = now_s() - t_c0;
  cpu_read(getpid(), &b1);
  double ratio_den = counter_rate(&bare_count);
  double drate = last > first ? got / (last - first) : 0, ratio = ratio_den > 0 ? drate / ratio_den : 0;
  double rcv = cpu_of(&c1, "MQTTAsync_rcv") - cpu_of(&c0, "MQTTAsync_rcv");
  double per_msg = (c1.total - c0.total) / MESSAGES * 1e6, own = (cpu_own(&c1) - cpu_own(&c0)) / MESSAGES * 1e6;
  double idle_share = idle_rate * window / MESSAGES * 1e6, net = own - idle_share;
  printf("QoS %d, %d messages over %d topics (published %.0f msg/s)\n", qos, MESSAGES, TOPICS,
         (double)MESSAGES / p.seconds);
  printf("  start-up (config, schema, alarms) : %.2f s\n", t_ready - t_start);
  printf("  bare paho subscriber              : %8.0f msg/s (%llu received)\n", ratio_den,
         (unsigned long long)atomic_load(&bare_count.n));
  printf("  dualguard full pipeline           : %8.0f samples/s (%.0f received) = %.1f %% of bare"
         "   target >= 95 %%: %s\n", drate, got, 100 * ratio, verdict(ratio >= 0.95));
  printf("  transitions committed             : %.0f (expected %llu activations + %llu clears)\n",
         s.transitions - s0.transitions, (unsigned long long)act, (unsigned long long)clr);
  printf("  webhooks delivered                : %.0f, sink received %llu, all settled %.1f s after the last sample"
         "   every one delivered: %s\n", s.delivered - s0.delivered, (unsigned long long)atomic_load(&sink_posts),
         last ? t_settled - last : -1, verdict(s.delivered - s0.delivered >= want));
  printf("  webhook connections opened        : %llu (kept alive between bursts: a few for the whole pass)\n",
         (unsigned long long)atomic_load(&sink_conns));
  printf("  history rows stored               : %.0f, the last %.1f s after the last sample, moved %.1f s after it\n",
         s.history_rows - s0.history_rows, last ? t_stored - last : -1, last ? t_moved - last : -1);
  printf("  CPU per message                   : %.1f us total, paho receive thread %.1f us,"
         " dualguard's own %.2f us\n", per_msg, rcv / MESSAGES * 1e6, own);
  printf("  dualguard's own, idle taken out   : %.2f us (the idle daemon's %.2f ms/s over the %.1f s measured"
         " is %.2f us a message)   target <= 2 us: %s\n", net, idle_rate * 1e3, window, idle_share,
         per_msg > 0 ? verdict(net <= 2.0) : "not measured");
  cpu_print_groups(&c0, &c1);
  /* The daemon's receive thread also runs its callback (topic, JSON payload, hand-over to the
   * loop): next to the bare subscriber's, the difference is what that callback costs. paho has
   * one receive thread per process, which here also reads the publisher's acks at QoS 1. */
  double bare_rcv = cpu_of(&b1, "MQTTAsync_rcv") - cpu_of(&b0, "MQTTAsync_rcv");
  uint64_t bare_n = atomic_load(&bare_count.n);
  if (qos == 0 && bare_n)
    printf("  paho receive thread per message   : dualguard's %.1f us, the bare subscriber's %.1f us\n",
           rcv / MESSAGES * 1e6, bare_rcv / bare_n * 1e6);
  long hwm = rss_kb(d.pid, "VmHWM:");
  printf("  RSS                               : 1.5 s after the probes %ld kB, idle %ld kB (%d s later),"
         " peak %ld kB   idle target <= 40 MB: %s\n", started_rss, idle_rss, IDLE_SETTLE_MS / 1000,
         hwm, verdict(idle_rss >= 0 && idle_rss <= 40 * 1024));
  atomic_store(&sink_posts, 0);
  atomic_store(&sink_conns, 0);
out:
  paho_close(&pub);
  paho_close(&bare);
  daemon_stop(&d);
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (!rc && system(cmd)) rc = -EIO;
  return rc;
}

int main(int argc, char **argv)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  char bin[PATH_MAX];
  if (argc > 2 && strcmp(argv[1], "--write-config") == 0) /* for profiling the daemon by hand */
    return bench_plant_write(argv[2], 1883, 8090, 1, argc > 3 ? atoi(argv[3]) : TOPICS, argc > 3) ? 1 : 0;
  if (argc > 1) snprintf(bin, sizeof bin, "%s", argv[1]);
  else {
    ssize_t n = readlink("/proc/self/exe", bin, sizeof bin - 32);
    if (n <= 0) return 2;
    bin[n] = 0;
    char *slash = strrchr(bin, '/');
    snprintf(slash, 32, "/../dualguardd");
  }
  char dir[] = "/tmp/bench-pipeline-mq-XXXXXX";
  uint16_t port = free_port(), sink = sink_start();
  if (!mkdtemp(dir) || !port || !sink) return 1;
  pid_t broker = start_mosquitto(dir, port);
  if (broker < 0) return 1;
  printf("load at start: ");
  fflush(stdout);
  if (system("cat /proc/loadavg")) return 1;
  int per_sample_only = argc > 2 && strcmp(argv[2], "--per-sample") == 0;
  int rc = per_sample_only ? 0 : run_qos(bin, port, sink, 0, value_of);
  if (!rc && !per_sample_only) rc = run_qos(bin, port, sink, 1, value_of);
  if (!rc) {
    printf("QoS 0 again, every value below the limits (the per-sample path alone, no transition):\n");
    rc = run_qos(bin, port, sink, 0, value_below);
  }
  kill(broker, SIGTERM);
  waitpid(broker, NULL, 0);
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return rc || system(cmd) ? 1 : 0;
}
