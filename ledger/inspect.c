#include "inspect.h"

#include <time.h>

#include "workcal.h"

struct inspect_cycle inspect_default_cycle(enum dg_level level)
{
  switch (level) {
  case DG_LEVEL_RED: return (struct inspect_cycle){1, INSPECT_DAY};
  case DG_LEVEL_ORANGE: return (struct inspect_cycle){7, INSPECT_DAY};
  case DG_LEVEL_YELLOW: return (struct inspect_cycle){15, INSPECT_DAY};
  default: return (struct inspect_cycle){1, INSPECT_MONTH};
  }
}

const char *inspect_unit_zh(enum inspect_unit u)
{
  switch (u) {
  case INSPECT_HOUR: return "小时";
  case INSPECT_DAY: return "天";
  case INSPECT_MONTH: return "月";
  default: return "年";
  }
}

static int inspect__leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

static int inspect__days_in_month(int year, int mon)
{
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return mon == 1 && inspect__leap(year) ? 29 : days[mon];
}

int64_t inspect_add(int64_t anchor_ms, struct inspect_cycle c, int64_t k)
{
  time_t t = (time_t)(anchor_ms / 1000);
  int64_t frac = anchor_ms % 1000;
  struct tm tm;
  localtime_r(&t, &tm);
  int64_t steps = k * c.n;
  switch (c.unit) {
  case INSPECT_HOUR: return anchor_ms + steps * 3600000;
  case INSPECT_DAY: tm.tm_mday += (int)steps; break;
  case INSPECT_MONTH:
  case INSPECT_YEAR: {
    int64_t months = (int64_t)tm.tm_year * 12 + tm.tm_mon + (c.unit == INSPECT_YEAR ? steps * 12 : steps);
    tm.tm_year = (int)(months / 12);
    tm.tm_mon = (int)(months % 12);
    int dim = inspect__days_in_month(tm.tm_year + 1900, tm.tm_mon);
    if (tm.tm_mday > dim) tm.tm_mday = dim;
    break;
  }
  }
  tm.tm_isdst = -1;
  return (int64_t)mktime(&tm) * 1000 + frac;
}

static int64_t inspect__approx_len_ms(struct inspect_cycle c)
{
  switch (c.unit) {
  case INSPECT_HOUR: return (int64_t)c.n * 3600000;
  case INSPECT_DAY: return (int64_t)c.n * 86400000;
  case INSPECT_MONTH: return (int64_t)c.n * 28 * 86400000;
  default: return (int64_t)c.n * 365 * 86400000;
  }
}

void inspect_period(int64_t anchor_ms, struct inspect_cycle c, int64_t now_ms, int64_t *start, int64_t *due)
{
  /* An estimate from the shortest possible length, then exact steps (a few at most). */
  int64_t k = now_ms > anchor_ms ? (now_ms - anchor_ms) / inspect__approx_len_ms(c) : 0;
  while (k > 0 && inspect_add(anchor_ms, c, k) > now_ms) k--;
  while (inspect_add(anchor_ms, c, k + 1) <= now_ms) k++;
  *start = inspect_add(anchor_ms, c, k);
  *due = inspect_add(anchor_ms, c, k + 1);
}

struct inspect_cycle inspect_measure_cycle(const struct dg_measure *m)
{
  if (m->cycle_unit >= INSPECT_HOUR && m->cycle_unit <= INSPECT_YEAR && m->cycle_n >= 1)
    return (struct inspect_cycle){m->cycle_n, (enum inspect_unit)m->cycle_unit};
  return inspect_default_cycle(m->event ? m->event->level : DG_LEVEL_BLUE);
}

int inspect_period_workdays(int64_t anchor_ms, struct inspect_cycle c, const struct dg_calendar *cal,
                            int64_t now_ms, int64_t *start, int64_t *due)
{
  int64_t ps, pd;
  inspect_period(anchor_ms, c, now_ms, &ps, &pd);
  if (!cal) {
    *start = ps;
    *due = pd;
    return 1;
  }
  int32_t first = workcal_day_of(ps), last = workcal_day_of(pd - 1);
  while (first <= last && !workcal_is_workday(cal, first)) first++;
  while (last >= first && !workcal_is_workday(cal, last)) last--;
  if (first > last) return 0;
  int64_t s = workcal_day_ms(first), d = workcal_day_ms(last + 1);
  *start = s > ps ? s : ps;
  *due = d < pd ? d : pd;
  return *start <= now_ms && now_ms < *due;
}

int64_t inspect_day_start(int64_t ms)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  localtime_r(&t, &tm);
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  tm.tm_isdst = -1;
  return (int64_t)mktime(&tm) * 1000;
}
