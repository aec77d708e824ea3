/* Inspection plans: the dates of their tasks under a controlled clock (every call names "now"),
 * across month and year ends, before holiday blocks and in the site's time zone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <time.h>

#include "plan.h"
#include "workcal.h"

static int64_t at(int y, int mon, int d, int h)
{
  struct tm tm = {.tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d, .tm_hour = h, .tm_isdst = -1};
  return (int64_t)mktime(&tm) * 1000;
}

static void tz(const char *zone)
{
  setenv("TZ", zone, 1);
  tzset();
}

static int setup(void **state)
{
  (void)state;
  tz("CST-8");
  return 0;
}

static struct dg_plan plan(int kind, int32_t from, int32_t to)
{
  return (struct dg_plan){.id = "P", .kind = kind, .from = from, .to = to, .before_days = 1};
}

static void expect(const struct dg_plan *p, const struct dg_calendar *cal, int64_t now, int64_t s, int64_t d)
{
  int64_t start = 0, due = 0;
  assert_int_equal(plan_current(p, cal, now, &start, &due), 1);
  assert_int_equal(start, s);
  assert_int_equal(due, d);
}

static void expect_none(const struct dg_plan *p, const struct dg_calendar *cal, int64_t now)
{
  int64_t start, due;
  assert_int_equal(plan_current(p, cal, now, &start, &due), 0);
}

static void test_one_task_across_the_year_end(void **state)
{
  (void)state;
  struct dg_plan p = plan(DG_PLAN_SPECIAL, workcal_from_civil(2026, 12, 28), workcal_from_civil(2027, 1, 3));
  expect_none(&p, NULL, at(2026, 12, 27, 23));
  expect(&p, NULL, at(2026, 12, 28, 0), at(2026, 12, 28, 0), at(2027, 1, 4, 0));
  expect(&p, NULL, at(2027, 1, 3, 23), at(2026, 12, 28, 0), at(2027, 1, 4, 0));
  expect_none(&p, NULL, at(2027, 1, 4, 0));
  int64_t s, d;
  assert_int_equal(plan_next(&p, NULL, at(2026, 1, 1, 0), &s, &d), 1); /* the next one, a year ahead */
  assert_int_equal(s, at(2026, 12, 28, 0));
  assert_int_equal(plan_next(&p, NULL, at(2027, 1, 4, 0), &s, &d), 0);  /* none left */
}

static void test_monthly_plan_at_month_ends(void **state)
{
  (void)state;
  struct dg_plan p = plan(DG_PLAN_ANNUAL, workcal_from_civil(2027, 1, 31), workcal_from_civil(2027, 12, 31));
  p.cycle_n = 1;
  p.cycle_unit = 3; /* INSPECT_MONTH */
  expect(&p, NULL, at(2027, 2, 1, 9), at(2027, 1, 31, 0), at(2027, 2, 28, 0));
  expect(&p, NULL, at(2027, 2, 28, 0), at(2027, 2, 28, 0), at(2027, 3, 31, 0)); /* no drift to the 28th */
  expect(&p, NULL, at(2027, 4, 29, 23), at(2027, 3, 31, 0), at(2027, 4, 30, 0));
  expect(&p, NULL, at(2027, 4, 30, 0), at(2027, 4, 30, 0), at(2027, 5, 31, 0));
  expect(&p, NULL, at(2027, 12, 31, 12), at(2027, 12, 31, 0), at(2028, 1, 1, 0)); /* cut at the end of 'to' */
  expect_none(&p, NULL, at(2028, 1, 1, 0));
  int64_t s, d, after = at(2027, 1, 1, 0);
  int n = 0;
  while (plan_next(&p, NULL, after, &s, &d)) after = d, n++;
  assert_int_equal(n, 12); /* 31 Jan, 28 Feb, 31 Mar, 30 Apr, … 31 Dec */
}

static void test_holiday_inspections_before_each_block(void **state)
{
  (void)state;
  int32_t holidays[] = {workcal_from_civil(2027, 1, 1), workcal_from_civil(2027, 1, 2), workcal_from_civil(2027, 1, 3),
                        workcal_from_civil(2027, 5, 3), workcal_from_civil(2027, 10, 1),
                        workcal_from_civil(2027, 10, 4), workcal_from_civil(2028, 1, 1)};
  struct dg_calendar cal = {.weekend_mask = WORKCAL_DEFAULT_WEEKEND, .holidays = holidays,
                            .n_holidays = sizeof holidays / sizeof holidays[0]};
  struct dg_plan p = plan(DG_PLAN_HOLIDAY, workcal_from_civil(2027, 1, 1), workcal_from_civil(2027, 12, 31));
  p.before_days = 2;
  /* New Year (Fri 1 Jan): the two days before, across the year end. */
  expect(&p, &cal, at(2026, 12, 30, 8), at(2026, 12, 30, 0), at(2027, 1, 1, 0));
  expect_none(&p, &cal, at(2027, 1, 1, 8));
  /* Mon 3 May after a weekend: the run of days off starts Saturday 1 May. */
  expect(&p, &cal, at(2027, 4, 30, 8), at(2027, 4, 29, 0), at(2027, 5, 1, 0));
  expect_none(&p, &cal, at(2027, 5, 2, 8));
  /* 1–4 Oct (Fri, the weekend, Mon) is one block: one task, before it, across the month end. */
  expect(&p, &cal, at(2027, 9, 30, 23), at(2027, 9, 29, 0), at(2027, 10, 1, 0));
  int64_t s, d;
  assert_int_equal(plan_next(&p, &cal, at(2027, 10, 1, 0), &s, &d), 0); /* 1 Jan 2028 is outside the range */
}

static void test_work_days_trim_a_weekly_plan(void **state)
{
  (void)state;
  struct dg_calendar cal = {.weekend_mask = WORKCAL_DEFAULT_WEEKEND};
  struct dg_plan p = plan(DG_PLAN_SEASONAL, workcal_from_civil(2027, 3, 6), workcal_from_civil(2027, 3, 31));
  p.cycle_n = 7;
  p.cycle_unit = 2; /* INSPECT_DAY, from Saturday 6 March */
  p.work_days = true;
  expect_none(&p, &cal, at(2027, 3, 6, 10));                                         /* Saturday */
  expect(&p, &cal, at(2027, 3, 8, 10), at(2027, 3, 8, 0), at(2027, 3, 13, 0));       /* Mon–Fri */
  expect(&p, &cal, at(2027, 3, 29, 10), at(2027, 3, 29, 0), at(2027, 4, 1, 0));      /* cut at 31 March */
}

static void test_dates_are_the_site_time_zone(void **state)
{
  (void)state;
  struct dg_plan p = plan(DG_PLAN_SPECIAL, workcal_from_civil(2027, 1, 1), workcal_from_civil(2027, 1, 1));
  int64_t s, d;
  tz("UTC0");
  assert_int_equal(plan_next(&p, NULL, 0, &s, &d), 1);
  assert_int_equal(s, 1798761600000LL); /* 2027-01-01T00:00Z */
  tz("CST-8");
  assert_int_equal(plan_next(&p, NULL, 0, &s, &d), 1);
  assert_int_equal(s, 1798761600000LL - 8 * 3600000LL); /* 2027-01-01T00:00+08:00 */
  assert_int_equal(d - s, 86400000);
}

static void test_task_keys(void **state)
{
  (void)state;
  struct dg_plan p = plan(DG_PLAN_ANNUAL, 0, 0);
  char buf[16];
  assert_string_equal(plan_task_key(&p, buf, sizeof buf), "plan:P");
  assert_null(plan_task_key(&p, buf, 6));
  assert_string_equal(plan_of_key("plan:P"), "P");
  assert_null(plan_of_key("M01"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_one_task_across_the_year_end, setup),
    cmocka_unit_test_setup(test_monthly_plan_at_month_ends, setup),
    cmocka_unit_test_setup(test_holiday_inspections_before_each_block, setup),
    cmocka_unit_test_setup(test_work_days_trim_a_weekly_plan, setup),
    cmocka_unit_test_setup(test_dates_are_the_site_time_zone, setup),
    cmocka_unit_test_setup(test_task_keys, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
