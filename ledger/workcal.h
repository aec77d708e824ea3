/* workcal — the site work calendar: which local days are work days.
 *
 * A day is a work day when it is listed in calendar.workdays (a make-up working day, 调休), else
 * when it is neither a holiday nor a weekend day. Days are civil day numbers (days since
 * 1970-01-01 in the proleptic Gregorian calendar); conversions to and from instants use local
 * time. Pure functions: the calendar is owned by the config. */
#ifndef DG_WORKCAL_H
#define DG_WORKCAL_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

#define WORKCAL_DEFAULT_WEEKEND ((1u << 0) | (1u << 6)) /* Sunday, Saturday */

/* "YYYY-MM-DD" (a real date, years 1970..9999) → day number; 0 or -EINVAL. */
int workcal_parse_date(const char *s, int32_t *day);

int32_t workcal_from_civil(int y, int m, int d);
int workcal_weekday(int32_t day);   /* 0 Sunday … 6 Saturday */
int workcal_weekday_parse(const char *name); /* "sun" … "sat" → 0..6, -1 if unknown */

int32_t workcal_day_of(int64_t ms);  /* local day containing ms */
int64_t workcal_day_ms(int32_t day); /* local midnight starting the day */

bool workcal_is_workday(const struct dg_calendar *cal, int32_t day);

void workcal_sort(int32_t *days, size_t n); /* ascending, for workcal_contains */
bool workcal_contains(const int32_t *days, size_t n, int32_t day);

#endif
