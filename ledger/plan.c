#include "plan.h"

#include <stdio.h>
#include <string.h>

#include "inspect.h"
#include "workcal.h"

#define PLAN_MAX_STEPS 100000 /* periods looked at in one call: a daily plan over 270 years */

/* Trims [*s, *d) to its first and last work day; 0 when it holds none. */
static int plan__trim(const struct dg_calendar *cal, int64_t *s, int64_t *d)
{
  int32_t first = workcal_day_of(*s), last = workcal_day_of(*d - 1);
  while (first <= last && !workcal_is_workday(cal, first)) first++;
  while (last >= first && !workcal_is_workday(cal, last)) last--;
  if (first > last) return 0;
  int64_t ws = workcal_day_ms(first), wd = workcal_day_ms(last + 1);
  if (ws > *s) *s = ws;
  if (wd < *d) *d = wd;
  return 1;
}

static int plan__holiday(const struct dg_plan *p, const struct dg_calendar *cal, int64_t after_ms, int64_t *start,
                         int64_t *due)
{
  int32_t prev = INT32_MIN;
  for (size_t i = 0; cal && i < cal->n_holidays; i++) {
    int32_t h = cal->holidays[i];
    if (h < p->from || h > p->to) continue;
    int32_t b = h;
    while (!workcal_is_workday(cal, b - 1) && h - b < 366) b--; /* back to the first day off of the run */
    if (b == prev) continue;
    prev = b;
    int64_t s = workcal_day_ms(b - p->before_days), d = workcal_day_ms(b);
    if (d > after_ms) {
      *start = s;
      *due = d;
      return 1;
    }
  }
  return 0;
}

int plan_next(const struct dg_plan *p, const struct dg_calendar *cal, int64_t after_ms, int64_t *start, int64_t *due)
{
  if (p->kind == DG_PLAN_HOLIDAY) return plan__holiday(p, cal, after_ms, start, due);
  const struct dg_calendar *wcal = p->work_days ? cal : NULL;
  int64_t rs = workcal_day_ms(p->from), re = workcal_day_ms(p->to + 1);
  if (re <= after_ms) return 0;
  if (!p->cycle_n) {
    int64_t s = rs, d = re;
    if (wcal && !plan__trim(wcal, &s, &d)) return 0;
    if (d <= after_ms) return 0;
    *start = s;
    *due = d;
    return 1;
  }
  struct inspect_cycle c = {p->cycle_n, (enum inspect_unit)p->cycle_unit};
  int64_t ps, pd;
  inspect_period(rs, c, after_ms > rs ? after_ms : rs, &ps, &pd);
  for (int i = 0; i < PLAN_MAX_STEPS && ps < re; i++) {
    int64_t s = ps, d = pd < re ? pd : re;
    if ((!wcal || plan__trim(wcal, &s, &d)) && d > after_ms) {
      *start = s;
      *due = d;
      return 1;
    }
    inspect_period(rs, c, pd, &ps, &pd);
  }
  return 0;
}

int plan_current(const struct dg_plan *p, const struct dg_calendar *cal, int64_t now_ms, int64_t *start, int64_t *due)
{
  return plan_next(p, cal, now_ms, start, due) && *start <= now_ms;
}

const char *plan_task_key(const struct dg_plan *p, char *buf, size_t len)
{
  int n = snprintf(buf, len, "plan:%s", p->id);
  return n > 0 && (size_t)n < len ? buf : NULL;
}

const char *plan_of_key(const char *key)
{
  return key && !strncmp(key, "plan:", 5) ? key + 5 : NULL;
}
