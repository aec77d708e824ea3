#include "workcal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Howard Hinnant's days_from_civil / civil_from_days. */
int32_t workcal_from_civil(int y, int m, int d)
{
  y -= m <= 2;
  int era = (y >= 0 ? y : y - 399) / 400;
  int yoe = y - era * 400;
  int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return (int32_t)(era * 146097 + doe - 719468);
}

static void workcal__civil(int32_t z, int *y, int *m, int *d)
{
  z += 719468;
  int era = (z >= 0 ? z : z - 146096) / 146097;
  int doe = z - era * 146097;
  int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yoe + era * 400 + (*m <= 2);
}

static int workcal__leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int workcal_parse_date(const char *s, int32_t *day)
{
  static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return -EINVAL;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return -EINVAL;
  int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
  if (y < 1970 || m < 1 || m > 12 || d < 1) return -EINVAL;
  if (d > dim[m - 1] + (m == 2 && workcal__leap(y))) return -EINVAL;
  *day = workcal_from_civil(y, m, d);
  return 0;
}

int workcal_weekday(int32_t day)
{
  int w = (int)((day + 4) % 7); /* 1970-01-01 was a Thursday */
  return w < 0 ? w + 7 : w;
}

int workcal_weekday_parse(const char *name)
{
  static const char *const names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  for (int i = 0; name && i < 7; i++)
    if (strcmp(name, names[i]) == 0) return i;
  return -1;
}

int32_t workcal_day_of(int64_t ms)
{
  time_t t = (time_t)(ms / 1000 - (ms % 1000 < 0));
  struct tm tm;
  localtime_r(&t, &tm);
  return workcal_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

int64_t workcal_day_ms(int32_t day)
{
  struct tm tm = {.tm_isdst = -1};
  int y, m, d;
  workcal__civil(day, &y, &m, &d);
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  return (int64_t)mktime(&tm) * 1000;
}

static int workcal__cmp(const void *a, const void *b)
{
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

void workcal_sort(int32_t *days, size_t n)
{
  if (n) qsort(days, n, sizeof *days, workcal__cmp);
}

bool workcal_contains(const int32_t *days, size_t n, int32_t day)
{
  return n && bsearch(&day, days, n, sizeof *days, workcal__cmp) != NULL;
}

bool workcal_is_workday(const struct dg_calendar *cal, int32_t day)
{
  if (workcal_contains(cal->workdays, cal->n_workdays, day)) return true;
  if (workcal_contains(cal->holidays, cal->n_holidays, day)) return false;
  return !(cal->weekend_mask & (1u << workcal_weekday(day)));
}
