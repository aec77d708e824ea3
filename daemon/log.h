/* log — leveled, subsystem-tagged logging to stderr (journald reads the <N> prefix).
 * Thread-safe: any thread may log. Repeats of one call site can be rate-limited with DG_LOG_RL. */
#ifndef DG_LOG_H
#define DG_LOG_H

#include <stdint.h>

enum dg_log_level { DG_LOG_ERR = 3, DG_LOG_WARN = 4, DG_LOG_INFO = 6, DG_LOG_DEBUG = 7 };

/* Parses "error|warn|info|debug"; returns the level or -1. */
int dg_log_parse_level(const char *name);
void dg_log_set_level(int level);
int dg_log_get_level(void);

void dg_log(int level, const char *subsys, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Per-call-site limiter: at most `burst` lines per `window_ms`; the next line after a
 * suppressed run says how many were dropped. */
struct dg_ratelimit {
  int64_t window_start_ms;
  uint32_t count;
  uint32_t suppressed;
};
void dg_log_rl(struct dg_ratelimit *rl, int level, const char *subsys, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));

#define DG_ERR(sub, ...) dg_log(DG_LOG_ERR, sub, __VA_ARGS__)
#define DG_WARN(sub, ...) dg_log(DG_LOG_WARN, sub, __VA_ARGS__)
#define DG_INFO(sub, ...) dg_log(DG_LOG_INFO, sub, __VA_ARGS__)
#define DG_DEBUG(sub, ...) dg_log(DG_LOG_DEBUG, sub, __VA_ARGS__)
/* Rate-limited (10 lines per 10 s per call site). */
#define DG_LOG_RL(level, sub, ...)                                                                 \
  do {                                                                                             \
    static struct dg_ratelimit dg__rl;                                                             \
    dg_log_rl(&dg__rl, level, sub, __VA_ARGS__);                                                   \
  } while (0)

/* Wall clock in milliseconds since the epoch. */
int64_t dg_wall_ms(void);

#endif
