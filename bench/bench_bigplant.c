/* Start-up of a large plant: 100 000 MQTT points on 100 units, 100 000 measures and 200 000
 * rules (a monitored high rule and a low rule per point), about 40 MB of YAML.
 *
 * Starts the real daemon twice on the same database, first fresh, then already populated, and
 * prints for each: wall time from exec to the "ready" log line, the daemon's CPU (user and
 * system) at that moment, its peak resident memory (VmHWM) at ready and its resident memory
 * (VmRSS) SETTLE_S seconds later, each against its target. The broker the configuration names
 * is a free loopback port with nobody on it: start-up does not wait for a connection. Figures
 * only, no assertions; print /proc/loadavg with them (the machine is shared).
 *
 * Usage: bench_bigplant [DAEMON [POINTS]] (default ../dualguardd next to this program, 100000
 * points, a multiple of 100). The configuration and database go to a temporary folder that is
 * removed afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_plant.h"

#define START_TARGET_S 3.0
#define START_TIMEOUT_S 300.0
#define SETTLE_S 3

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

static long status_kb(pid_t pid, const char *key)
{
  char path[64], line[256];
  long kb = -1;
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, key, strlen(key))) kb = atol(line + strlen(key));
  if (f) fclose(f);
  return kb;
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

static int log_says_ready(const char *log)
{
  FILE *f = fopen(log, "r");
  char line[1024];
  int ready = 0;
  while (f && !ready && fgets(line, sizeof line, f)) ready = strstr(line, " ready: site ") != NULL;
  if (f) fclose(f);
  return ready;
}

/* One start to "ready" and SETTLE_S seconds beyond, then SIGTERM. */
static int run_once(const char *bin, const char *dir, const char *name, struct start_figures *out)
{
  char cfg[PATH_MAX], db[PATH_MAX], log[PATH_MAX];
  snprintf(cfg, sizeof cfg, "%s/plant.yaml", dir);
  snprintf(db, sizeof db, "%s/plant.db", dir);
  snprintf(log, sizeof log, "%s/%s.log", dir, name);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 2, 1);
  char *argv[] = {(char *)bin, "-c", cfg, "--db", db, "--http-port", "0", "--log-level", "info", NULL};
  pid_t pid;
  double t0 = mono_s();
  int rc = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc) return -rc;
  rc = -ETIMEDOUT;
  while (mono_s() - t0 < START_TIMEOUT_S && waitpid(pid, NULL, WNOHANG) == 0) {
    if (log_says_ready(log)) {
      out->wall_s = mono_s() - t0;
      out->hwm_kb = status_kb(pid, "VmHWM:");
      rc = cpu_s(pid, &out->user_s, &out->sys_s);
      break;
    }
    usleep(5000);
  }
  if (!rc) {
    sleep(SETTLE_S);
    out->rss_kb = status_kb(pid, "VmRSS:");
  }
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  if (rc) fprintf(stderr, "%s start: %s (see %s)\n", name, strerror(-rc), log);
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
  daemon_path(argc, argv, bin, sizeof bin);
  if (points < 100 || points % 100 || !mkdtemp(dir)) {
    fprintf(stderr, "usage: bench_bigplant [DAEMON [POINTS (a multiple of 100)]]\n");
    return 1;
  }
  snprintf(cfg, sizeof cfg, "%s/plant.yaml", dir);
  /* Ports 1 and 2 on loopback: nobody answers, nothing is waited for. */
  if (bench_plant_write(cfg, 1, 2, 1, points, 1)) return 1;
  printf("%d points, %d rules; daemon %s\n", points, 2 * points, bin);
  fflush(stdout);
  if (system("cat /proc/loadavg")) return 1;
  struct start_figures fresh = {0}, populated = {0};
  int rc = run_once(bin, dir, "fresh", &fresh);
  if (!rc) rc = run_once(bin, dir, "populated", &populated);
  if (!rc) {
    print_figures("fresh", &fresh);
    print_figures("populated", &populated);
  }
  fflush(stdout);
  if (system("cat /proc/loadavg")) rc = 1;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (!rc && system(cmd)) rc = 1;
  return rc ? 1 : 0;
}
