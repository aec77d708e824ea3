/* inspect — inspection schedules (排查任务周期), pure calendar arithmetic in local time.
 *
 * A measure's tasks are periods [anchor + k·cycle, anchor + (k+1)·cycle) counted from a fixed
 * anchor (the start of its first task), so month cycles do not drift: from 31 Jan, one month is
 * 29 Feb in a leap year (28 otherwise), two months 31 Mar. Default cycle by the risk level of
 * the measure's event: red daily, orange weekly, yellow every 15 days (half month), blue monthly. */
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

/* Local midnight of the day containing ms. */
int64_t inspect_day_start(int64_t ms);

#endif
