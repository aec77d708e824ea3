/* plan — the dates of an inspection plan's tasks (计划排查任务), pure calendar arithmetic in local
 * time (the daemon's time zone, which is the site's: TZ or /etc/localtime).
 *
 * A plan covers the local days from..to. Without a cycle it has one task over the whole range;
 * with one, a task per period counted from local midnight of `from` (inspect.h: month cycles do
 * not drift, 31 Jan + 1 month is 28/29 Feb), the last cut at the end of `to`. A holiday plan has
 * a task for each run of days off that holds a calendar holiday inside the range: the
 * `before_days` days just before the run (so the check is done before the site closes), which
 * may lie before `from` and across a month or year end. With work_days each period is trimmed to
 * its work days (none: no task). */
#ifndef DG_PLAN_H
#define DG_PLAN_H

#include <stdint.h>

#include "model.h"

/* The first task of `p` that ends after `after_ms`: 1 with [*start, *due), or 0 (no more). */
int plan_next(const struct dg_plan *p, const struct dg_calendar *cal, int64_t after_ms, int64_t *start, int64_t *due);

/* The task whose period contains now_ms: 1 with [*start, *due), or 0. */
int plan_current(const struct dg_plan *p, const struct dg_calendar *cal, int64_t now_ms, int64_t *start, int64_t *due);

/* The task key stored as the task's measure: "plan:<id>" (NULL if it does not fit). */
const char *plan_task_key(const struct dg_plan *p, char *buf, size_t len);
/* The plan id of a task key, or NULL when the key is a measure's. */
const char *plan_of_key(const char *key);

#endif
