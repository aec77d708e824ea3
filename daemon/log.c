#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define RL_WINDOW_MS 10000
#define RL_BURST 10

static int log__level = DG_LOG_INFO;
static pthread_mutex_t log__lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const log__names[] = {
  [DG_LOG_ERR] = "error", [DG_LOG_WARN] = "warn", [DG_LOG_INFO] = "info", [DG_LOG_DEBUG] = "debug"};

int dg_log_parse_level(const char *name)
{
  for (int i = DG_LOG_ERR; i <= DG_LOG_DEBUG; i++)
    if (log__names[i] && name && strcmp(name, log__names[i]) == 0) return i;
  return -1;
}

void dg_log_set_level(int level) { log__level = level; }
int dg_log_get_level(void) { return log__level; }

int64_t dg_wall_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void log__write(int level, const char *subsys, const char *fmt, va_list ap)
{
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  /* One fprintf per line so lines from different threads never interleave. */
  fprintf(stderr, "<%d>%s[%s] %s\n", level, log__names[level] ? log__names[level] : "?", subsys, msg);
}

void dg_log(int level, const char *subsys, const char *fmt, ...)
{
  if (level > log__level) return;
  va_list ap;
  va_start(ap, fmt);
  log__write(level, subsys, fmt, ap);
  va_end(ap);
}

void dg_log_rl(struct dg_ratelimit *rl, int level, const char *subsys, const char *fmt, ...)
{
  if (level > log__level) return;
  int64_t now = dg_wall_ms();
  uint32_t dropped = 0;
  int emit;
  pthread_mutex_lock(&log__lock);
  if (now - rl->window_start_ms >= RL_WINDOW_MS) {
    dropped = rl->suppressed;
    rl->window_start_ms = now;
    rl->count = 0;
    rl->suppressed = 0;
  }
  emit = rl->count < RL_BURST;
  if (emit) rl->count++;
  else rl->suppressed++;
  pthread_mutex_unlock(&log__lock);
  if (dropped) dg_log(level, subsys, "(%u similar messages suppressed)", dropped);
  if (!emit) return;
  va_list ap;
  va_start(ap, fmt);
  log__write(level, subsys, fmt, ap);
  va_end(ap);
}
