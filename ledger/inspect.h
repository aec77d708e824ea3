/* inspect — inspection schedules (排查任务周期), pure calendar arithmetic in local time.
 *
 * A measure's tasks are periods [anchor + k·cycle, anchor + (k+1)·cycle) counted from a fixed
 * anchor (the start of its first task), so month cycles do not drift: from 31 Jan, one month is
 * 29 Feb in a leap year (28 otherwise), two months 31 Mar. Default cycle by the risk level of
 * the measure's event: red daily, orange weekly, yellow every 15 days (half month), blue monthly.
 *
 * Work-day rule (a measure with work_days: true), the same for every cycle unit: each period is
 * trimmed to the site calendar's work days. It starts at the later of its own start and the local
 * midnight of its first work day, and is due at the earlier of its own end and the end (next
 * midnight) of its last work day; non-work days between them stay inside. A period with no work
 * day has no task. So a daily cycle has no task on weekends and holidays, an hourly cycle none on
 * those days, and a monthly task whose period would end on a Saturday is due Friday 24:00. */
#ifndef DG_INSPECT_H
#define DG_INSPECT_H

#include <stdint.h>

#include "model.h"

/* checkCycleUnit */
enum inspect_unit { INSPECT_HOUR = 1, INSPECT_DAY, INSPECT_MONTH, INSPECT_YEAR };

struct inspect_cycle {
  int n;                     /* checkCycle, >= 1 */
  enum inspect_unit unit;
};

struct inspect_cycle inspect_default_cycle(enum dg_level level);
const char *inspect_unit_zh(enum inspect_unit u); /* 小时 天 月 年 */

/* anchor + k cycles (local time; day-of-month clamped to the target month). */
int64_t inspect_add(int64_t anchor_ms, struct inspect_cycle c, int64_t k);

/* The period containing now_ms (now_ms >= anchor_ms): *start <= now_ms < *due. */
void inspect_period(int64_t anchor_ms, struct inspect_cycle c, int64_t now_ms, int64_t *start, int64_t *due);

/* The measure's configured cycle, else the default by its event's level. */
struct inspect_cycle inspect_measure_cycle(const struct dg_measure *m);

/* The task containing now_ms under the work-day rule (cal NULL: every day is a work day): 1 and
 * *start <= now_ms < *due, or 0 when now_ms is in no task (a day off, or outside the trimmed
 * period of the calendar period containing it). */
int inspect_period_workdays(int64_t anchor_ms, struct inspect_cycle c, const struct dg_calendar *cal,
                            int64_t now_ms, int64_t *start, int64_t *due);

/* Local midnight of the day containing ms. */
int64_t inspect_day_start(int64_t ms);

#endif
