/* A large plant: 100 000 points on 100 units, 100 000 measures and 200 000 rules (a monitored
 * high rule and a low rule per point), about 40 MB of YAML.
 *
 * Start-up: the plant's points are MQTT topics on a broker nobody runs (a free loopback port:
 * start-up does not wait for a connection). Starts the real daemon twice on the same database,
 * first fresh, then already populated, and prints for each: wall time from exec to the "ready"
 * log line, the daemon's CPU (user and system) at that moment, its peak resident memory (VmHWM)
 * at ready and its resident memory (VmRSS) SETTLE_S seconds later, each against its target.
 *
 * Steady load: the same model and rules with the points as Modbus holding registers of 100
 * slaves on four in-process mbsim servers (one bus each), polled every STEADY_POLL_MS, so
 * 50 000 samples/s; a thread here changes every register's value every VALUE_MS (values stay
 * between both rules' limits: the per-sample path, rules and history, without transitions).
 * The history already holds STEADY_HISTORY_ROWS rows of every point (written between a first
 * start that creates the schema and the measured one), as after a while of running.
 * After WARMUP_S it reads the daemon's counters (GET /api/v1/drivers, an open read on
 * loopback) over STEADY_S and prints the samples and history rows per second, the sample
 * queue's drops and producer waits, CPU per thread, and resident memory each second.
 *
 * Figures only, no assertions; print /proc/loadavg with them (the machine is shared).
 * Usage: bench_bigplant [DAEMON [POINTS]] (default ../dualguardd next to this program, 100000
 * points, a multiple of 25000). The configuration and database go to a temporary folder that is
 * removed afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_plant.h"
#include "bench_proc.h"
#include "mbsim.h"

#define START_TARGET_S 3.0
#define START_TIMEOUT_S 300.0
#define SETTLE_S 3
#define STEADY_POLL_MS 2000
#define STEADY_TARGET 50000.0
#define VALUE_MS 500
#define WARMUP_S 6
#define STEADY_S 20
#define MAX_BUSES 16
#define STEADY_HISTORY_ROWS 100

extern char **environ;

struct start_figures {
  double wall_s, user_s, sys_s;
  long hwm_kb, rss_kb;
};

static double mono_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* utime and stime of the whole process, in seconds. */
static int cpu_s(pid_t pid, double *user, double *sys)
{
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  unsigned long ut, st;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -EIO;
  long hz = sysconf(_SC_CLK_TCK);
  *user = (double)ut / (double)hz;
  *sys = (double)st / (double)hz;
  return 0;
}

/* 1 once the log says "ready"; the HTTP port it listens on into *port when it says so. */
static int log_says_ready(const char *log, uint16_t *port)
{
  static const char listening[] = "listening on http://127.0.0.1:";
  FILE *f = fopen(log, "r");
  char line[1024];
  int ready = 0;
  while (f && fgets(line, sizeof line, f)) {
    char *l = strstr(line, listening);
    if (l && port) *port = (uint16_t)atoi(l + strlen(listening));
    if (strstr(line, "ready")) ready = 1;
  }
  if (f) fclose(f);
  return ready;
}

struct daemon {
  pid_t pid;
  uint16_t port;
  double started_s;
  char log[PATH_MAX];
};

/* Spawns the daemon on dir/<cfg_name> and dir/plant.db and waits for "ready". */
static int daemon_start(struct daemon *d, const char *bin, const char *dir, const char *cfg_name, const char *name)
{
  char cfg[PATH_MAX], db[PATH_MAX];
  snprintf(cfg, sizeof cfg, "%s/%s", dir, cfg_name);
  snprintf(db, sizeof db, "%s/plant.db", dir);
  snprintf(d->log, sizeof d->log, "%s/%s.log", dir, name);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, d->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 2, 1);
  char *argv[] = {(char *)bin, "-c", cfg, "--db", db, "--http-port", "0", "--log-level", "info", NULL};
  d->started_s = mono_s();
  int rc = posix_spawn(&d->pid, bin, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc) return -rc;
  while (mono_s() - d->started_s < START_TIMEOUT_S && waitpid(d->pid, NULL, WNOHANG) == 0) {
    if (log_says_ready(d->log, &d->port)) return 0;
    usleep(5000);
  }
  fprintf(stderr, "%s start: not ready (see %s)\n", name, d->log);
  return -ETIMEDOUT;
}

static void daemon_stop(struct daemon *d)
{
  kill(d->pid, SIGTERM);
  waitpid(d->pid, NULL, 0);
}

static int run_start(const char *bin, const char *dir, const char *name, struct start_figures *out)
{
  struct daemon d = {0};
  int rc = daemon_start(&d, bin, dir, "plant.yaml", name);
  if (!rc) {
    out->wall_s = mono_s() - d.started_s;
    out->hwm_kb = rss_kb(d.pid, "VmHWM:");
    rc = cpu_s(d.pid, &out->user_s, &out->sys_s);
  }
  if (!rc) {
    sleep(SETTLE_S);
    out->rss_kb = rss_kb(d.pid, "VmRSS:");
  }
  daemon_stop(&d);
  return rc;
}

static void print_figures(const char *name, const struct start_figures *f)
{
  printf("%s database:\n", name);
  printf("  start to ready        : %.2f s wall   start < %.0f s: %s\n", f->wall_s, START_TARGET_S,
         f->wall_s < START_TARGET_S ? "MET" : "NOT MET");
  printf("  CPU to ready          : %.2f s user + %.2f s system\n", f->user_s, f->sys_s);
  printf("  peak memory (VmHWM)   : %ld MB   (reported; no target)\n", f->hwm_kb / 1024);
  printf("  resident %d s after    : %ld MB   (reported; no target)\n", SETTLE_S, f->rss_kb / 1024);
}

/* ---- steady load ---------------------------------------------------------------------------- */

struct field {
  struct mbsim *sim[MAX_BUSES];
  int n_buses;
  pthread_t thread;
  atomic_int running;
};

/* Every register of every slave gets a new value between 20.0 and 59.9 every VALUE_MS. */
static void *field_main(void *arg)
{
  struct field *fl = arg;
  uint16_t v[BENCH_PLANT_REGS_PER_SLAVE];
  for (unsigned tick = 0; atomic_load(&fl->running); tick++) {
    for (int b = 0; b < fl->n_buses; b++)
      for (int unit = 1; unit <= BENCH_PLANT_SLAVES_PER_BUS; unit++) {
        for (unsigned j = 0; j < BENCH_PLANT_REGS_PER_SLAVE; j++)
          v[j] = (uint16_t)(200 + (j * 37 + tick * 11 + (unsigned)(b * 31 + unit) * 13) % 400);
        mbsim_set_registers(fl->sim[b], unit, DG_MB_HOLDING, 0, v, BENCH_PLANT_REGS_PER_SLAVE);
      }
    usleep(VALUE_MS * 1000);
  }
  return NULL;
}

static int field_start(struct field *fl, int n_buses, uint16_t *ports)
{
  uint8_t units[BENCH_PLANT_SLAVES_PER_BUS];
  for (int u = 0; u < BENCH_PLANT_SLAVES_PER_BUS; u++) units[u] = (uint8_t)(u + 1);
  struct mbsim_opts o = {.units = units, .n_units = BENCH_PLANT_SLAVES_PER_BUS,
                         .n_holdings = BENCH_PLANT_REGS_PER_SLAVE};
  fl->n_buses = n_buses;
  for (int b = 0; b < n_buses; b++) {
    int rc = mbsim_start(&fl->sim[b], &o);
    if (rc) return rc;
    ports[b] = mbsim_port(fl->sim[b]);
  }
  atomic_store(&fl->running, 1);
  return -pthread_create(&fl->thread, NULL, field_main, fl);
}

static void field_stop(struct field *fl)
{
  atomic_store(&fl->running, 0);
  pthread_join(fl->thread, NULL);
  for (int b = 0; b < fl->n_buses; b++) mbsim_stop(fl->sim[b]);
}

struct counters {
  double samples, history_rows, dropped, waits, history_waiting, history_shed;
};

static int counters_read(const struct daemon *d, struct counters *c)
{
  static char body[1 << 16];
  if (http_get(d->port, NULL, "/api/v1/drivers", body, sizeof body)) return -EIO;
  *c = (struct counters){json_num(body, "samples"), json_num(body, "history_rows"), json_num(body, "queue_dropped"),
                         json_num(body, "queue_waits"),
                         json_num(body, "history_backlog") + json_num(body, "history_buffered"),
                         json_num(body, "history_backlog_dropped")};
  return c->samples >= 0 ? 0 : -EIO;
}

static void steady_print(int points, const struct counters *a, const struct counters *b, const struct cpu *ca,
                         const struct cpu *cb, const long *rss)
{
  double rate = (b->samples - a->samples) / STEADY_S, rows = (b->history_rows - a->history_rows) / STEADY_S;
  double expected = points * 1000.0 / STEADY_POLL_MS;
  /* Kept up: every poll's samples evaluated and the history stored at the stream's rate (the
   * window may catch one poll more than the flushes committed in it), nothing dropped or shed. */
  int kept_up = rate >= 0.98 * expected && rows >= 0.98 * expected && b->dropped == a->dropped &&
                b->history_shed == a->history_shed;
  printf("steady load: %d Modbus points polled every %d ms (%.0f samples/s expected), %d s:\n", points,
         STEADY_POLL_MS, expected, STEADY_S);
  printf("  samples evaluated     : %.0f /s   steady %.0f k samples/s: %s\n", rate, STEADY_TARGET / 1000,
         kept_up && expected >= STEADY_TARGET ? "MET" : "NOT MET");
  printf("  history rows stored   : %.0f /s, %.0f waiting at the end, %.0f shed\n", rows, b->history_waiting,
         b->history_shed - a->history_shed);
  printf("  sample queue          : %.0f dropped, %.0f producer waits\n", b->dropped - a->dropped, b->waits - a->waits);
  printf("  CPU (%% of one core)   : %.1f total;", (cb->total - ca->total) / STEADY_S * 100);
  for (unsigned i = 0; i < cb->n; i++) {
    double d = cb->group[i].s - cpu_of(ca, cb->group[i].name);
    if (d > 0) printf(" %s %.1f", cb->group[i].name, d / STEADY_S * 100);
  }
  printf("\n  resident memory (MB)  :");
  for (int i = 0; i <= STEADY_S; i++) printf(" %ld", rss[i] / 1024);
  printf("   (each second; bounded if it levels off)\n");
}

static int run_steady(const char *bin, const char *dir, int points)
{
  uint16_t ports[MAX_BUSES];
  int n_buses = points / (BENCH_PLANT_REGS_PER_SLAVE * BENCH_PLANT_SLAVES_PER_BUS);
  struct field fl = {0};
  char cfg[PATH_MAX];
  snprintf(cfg, sizeof cfg, "%s/modbus.yaml", dir);
  int rc = field_start(&fl, n_buses, ports);
  if (!rc) rc = bench_plant_write_modbus(cfg, ports, points, STEADY_POLL_MS);
  struct daemon d = {0};
  if (!rc) rc = daemon_start(&d, bin, dir, "modbus.yaml", "schema");
  if (d.pid) daemon_stop(&d);
  d.pid = 0;
  double t_fill = mono_s();
  char db[PATH_MAX];
  snprintf(db, sizeof db, "%s/plant.db", dir);
  if (!rc) rc = bench_plant_history_prefill(db, "P%06d", points, STEADY_HISTORY_ROWS, 30000);
  if (!rc)
    printf("steady load: history filled with %d rows of each point (%.0f M rows) in %.1f s\n", STEADY_HISTORY_ROWS,
           (double)points * STEADY_HISTORY_ROWS / 1e6, mono_s() - t_fill);
  if (!rc) rc = daemon_start(&d, bin, dir, "modbus.yaml", "steady");
  if (!rc) {
    printf("steady load: Modbus plant ready in %.2f s\n", mono_s() - d.started_s);
    sleep(WARMUP_S);
    struct counters a, b;
    struct cpu ca, cb;
    long rss[STEADY_S + 1];
    rc = counters_read(&d, &a);
    cpu_read(d.pid, &ca);
    for (int i = 0; !rc && i <= STEADY_S; i++) {
      rss[i] = rss_kb(d.pid, "VmRSS:");
      if (i < STEADY_S) sleep(1);
    }
    if (!rc) rc = counters_read(&d, &b);
    cpu_read(d.pid, &cb);
    if (!rc) steady_print(points, &a, &b, &ca, &cb, rss);
    else fprintf(stderr, "steady load: cannot read GET /api/v1/drivers (see %s)\n", d.log);
  }
  if (d.pid) daemon_stop(&d);
  field_stop(&fl);
  return rc;
}

static void daemon_path(int argc, char **argv, char *bin, size_t len)
{
  if (argc > 1) {
    snprintf(bin, len, "%s", argv[1]);
    return;
  }
  ssize_t n = readlink("/proc/self/exe", bin, len - 32);
  bin[n > 0 ? n : 0] = 0;
  char *slash = strrchr(bin, '/');
  if (slash) *slash = 0;
  strcat(bin, "/../dualguardd");
}

int main(int argc, char **argv)
{
  char bin[PATH_MAX], dir[] = "/tmp/dg-bigplant-XXXXXX", cfg[PATH_MAX], cmd[PATH_MAX + 16];
  int points = argc > 2 ? atoi(argv[2]) : 100000;
  int per_bus = BENCH_PLANT_REGS_PER_SLAVE * BENCH_PLANT_SLAVES_PER_BUS;
  daemon_path(argc, argv, bin, sizeof bin);
  if (points < per_bus || points % per_bus || points / per_bus > MAX_BUSES || !mkdtemp(dir)) {
    fprintf(stderr, "usage: bench_bigplant [DAEMON [POINTS (a multiple of %d, at most %d)]]\n", per_bus,
            per_bus * MAX_BUSES);
    return 1;
  }
  snprintf(cfg, sizeof cfg, "%s/plant.yaml", dir);
  /* Ports 1 and 2 on loopback: nobody answers, nothing is waited for. */
  if (bench_plant_write(cfg, 1, 2, 1, points, 1)) return 1;
  printf("%d points, %d rules; daemon %s\n", points, 2 * points, bin);
  fflush(stdout);
  if (system("cat /proc/loadavg")) return 1;
  struct start_figures fresh = {0}, populated = {0};
  int rc = run_start(bin, dir, "fresh", &fresh);
  if (!rc) rc = run_start(bin, dir, "populated", &populated);
  if (!rc) {
    print_figures("fresh", &fresh);
    print_figures("populated", &populated);
  }
  fflush(stdout);
  if (!rc) {
    snprintf(cmd, sizeof cmd, "rm -f '%s'/plant.db*", dir); /* the steady plant names other points */
    if (system(cmd)) rc = 1;
  }
  if (!rc) rc = run_steady(bin, dir, points);
  fflush(stdout);
  if (system("cat /proc/loadavg")) rc = 1;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (!rc && system(cmd)) rc = 1;
  return rc ? 1 : 0;
}
