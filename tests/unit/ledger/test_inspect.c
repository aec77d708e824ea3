/* Inspection schedules: default cycles by level, periods across month ends and leap years, the
 * site work calendar and periods trimmed to its work days (a National Day week with make-up
 * working days), in China Standard Time, with the clock given by the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>

#include "inspect.h"
#include "workcal.h"

/* Local (CST, UTC+8) wall time → epoch ms. */
static int64_t cst(int y, int mon, int d, int h, int min)
{
  struct tm tm = {.tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d, .tm_hour = h, .tm_min = min, .tm_isdst = -1};
  return (int64_t)mktime(&tm) * 1000;
}

static int setup(void **state)
{
  (void)state;
  setenv("TZ", "CST-8", 1);
  tzset();
  return 0;
}

static void test_default_cycle_by_level(void **state)
{
  (void)state;
  struct inspect_cycle c = inspect_default_cycle(DG_LEVEL_RED);
  assert_true(c.n == 1 && c.unit == INSPECT_DAY);
  c = inspect_default_cycle(DG_LEVEL_ORANGE);
  assert_true(c.n == 7 && c.unit == INSPECT_DAY);
  c = inspect_default_cycle(DG_LEVEL_YELLOW);
  assert_true(c.n == 15 && c.unit == INSPECT_DAY);
  c = inspect_default_cycle(DG_LEVEL_BLUE);
  assert_true(c.n == 1 && c.unit == INSPECT_MONTH);
  assert_string_equal(inspect_unit_zh(INSPECT_MONTH), "月");
}

static void test_month_ends_clamp_without_drift(void **state)
{
  (void)state;
  struct inspect_cycle month = {1, INSPECT_MONTH};
  int64_t jan31 = cst(2024, 1, 31, 8, 0);
  assert_int_equal(inspect_add(jan31, month, 1), cst(2024, 2, 29, 8, 0)); /* leap year */
  assert_int_equal(inspect_add(jan31, month, 2), cst(2024, 3, 31, 8, 0)); /* no drift to the 29th */
  assert_int_equal(inspect_add(jan31, month, 3), cst(2024, 4, 30, 8, 0));
  assert_int_equal(inspect_add(jan31, month, 11), cst(2024, 12, 31, 8, 0));
  assert_int_equal(inspect_add(jan31, month, 13), cst(2025, 2, 28, 8, 0)); /* common year */
  assert_int_equal(inspect_add(cst(2023, 1, 31, 0, 0), month, 1), cst(2023, 2, 28, 0, 0));
  assert_int_equal(inspect_add(cst(2100, 1, 31, 0, 0), month, 1), cst(2100, 2, 28, 0, 0)); /* not leap */
  assert_int_equal(inspect_add(cst(2000, 1, 31, 0, 0), month, 1), cst(2000, 2, 29, 0, 0)); /* leap */
}

static void test_leap_day_yearly(void **state)
{
  (void)state;
  struct inspect_cycle year = {1, INSPECT_YEAR};
  int64_t feb29 = cst(2024, 2, 29, 0, 0);
  assert_int_equal(inspect_add(feb29, year, 1), cst(2025, 2, 28, 0, 0));
  assert_int_equal(inspect_add(feb29, year, 4), cst(2028, 2, 29, 0, 0));
}

static void test_day_and_hour_cycles_cross_month_and_year_ends(void **state)
{
  (void)state;
  struct inspect_cycle half = {15, INSPECT_DAY}, week = {7, INSPECT_DAY}, hours = {8, INSPECT_HOUR};
  assert_int_equal(inspect_add(cst(2024, 2, 20, 0, 0), half, 1), cst(2024, 3, 6, 0, 0)); /* via 29 Feb */
  assert_int_equal(inspect_add(cst(2023, 2, 20, 0, 0), half, 1), cst(2023, 3, 7, 0, 0));
  assert_int_equal(inspect_add(cst(2024, 12, 28, 0, 0), week, 1), cst(2025, 1, 4, 0, 0));
  assert_int_equal(inspect_add(cst(2024, 12, 31, 20, 0), hours, 1), cst(2025, 1, 1, 4, 0));
}

static void test_period_containing_now(void **state)
{
  (void)state;
  int64_t start, due;
  struct inspect_cycle month = {1, INSPECT_MONTH}, day = {1, INSPECT_DAY}, half = {15, INSPECT_DAY};
  int64_t anchor = cst(2024, 1, 31, 0, 0);
  inspect_period(anchor, month, cst(2024, 3, 30, 23, 59), &start, &due);
  assert_int_equal(start, cst(2024, 2, 29, 0, 0));
  assert_int_equal(due, cst(2024, 3, 31, 0, 0));
  inspect_period(anchor, month, cst(2024, 3, 31, 0, 0), &start, &due); /* the due instant opens the next */
  assert_int_equal(start, cst(2024, 3, 31, 0, 0));
  assert_int_equal(due, cst(2024, 4, 30, 0, 0));
  inspect_period(anchor, month, anchor, &start, &due);
  assert_int_equal(start, anchor);
  inspect_period(anchor, month, cst(2034, 6, 15, 12, 0), &start, &due); /* ten years on */
  assert_int_equal(start, cst(2034, 5, 31, 0, 0));
  assert_int_equal(due, cst(2034, 6, 30, 0, 0));
  inspect_period(cst(2024, 2, 28, 0, 0), day, cst(2024, 2, 29, 13, 0), &start, &due);
  assert_int_equal(start, cst(2024, 2, 29, 0, 0));
  assert_int_equal(due, cst(2024, 3, 1, 0, 0));
  inspect_period(cst(2024, 1, 1, 0, 0), half, cst(2024, 2, 29, 23, 0), &start, &due);
  assert_int_equal(start, cst(2024, 2, 15, 0, 0)); /* 1 Jan + 45 days */
  assert_int_equal(due, cst(2024, 3, 1, 0, 0));    /* + 60 days, through 29 Feb */
  assert_int_equal(inspect_day_start(cst(2024, 2, 29, 23, 59)), cst(2024, 2, 29, 0, 0));
}

static int32_t day(int y, int m, int d) { return workcal_from_civil(y, m, d); }

/* Weekend Saturday and Sunday; National Day 2026: 1-7 Oct off, Sunday 27 Sep and Saturday 10 Oct
 * make-up working days. */
static int32_t holidays[7], workdays[2];
static struct dg_calendar calendar = {.weekend_mask = WORKCAL_DEFAULT_WEEKEND, .holidays = holidays, .n_holidays = 7,
                                      .workdays = workdays, .n_workdays = 2};

static void calendar_init(void)
{
  for (int i = 0; i < 7; i++) holidays[i] = day(2026, 10, 1 + i);
  workdays[0] = day(2026, 9, 27);
  workdays[1] = day(2026, 10, 10);
}

static void test_workcal_days(void **state)
{
  (void)state;
  calendar_init();
  int32_t d = 0;
  assert_int_equal(workcal_weekday(day(1970, 1, 1)), 4);
  assert_int_equal(workcal_weekday(day(2024, 2, 29)), 4);
  assert_int_equal(workcal_weekday(day(2026, 10, 10)), 6);
  assert_int_equal(workcal_weekday_parse("sat"), 6);
  assert_int_equal(workcal_weekday_parse("Saturday"), -1);
  assert_false(workcal_is_workday(&calendar, day(2026, 9, 26))); /* Saturday */
  assert_true(workcal_is_workday(&calendar, day(2026, 9, 27)));  /* make-up Sunday */
  assert_true(workcal_is_workday(&calendar, day(2026, 9, 30)));
  assert_false(workcal_is_workday(&calendar, day(2026, 10, 1))); /* holiday on a Thursday */
  assert_false(workcal_is_workday(&calendar, day(2026, 10, 7)));
  assert_true(workcal_is_workday(&calendar, day(2026, 10, 8)));
  assert_true(workcal_is_workday(&calendar, day(2026, 10, 10)));  /* make-up Saturday */
  assert_false(workcal_is_workday(&calendar, day(2026, 10, 11)));
  struct dg_calendar none = {0};
  assert_true(workcal_is_workday(&none, day(2026, 10, 11))); /* no weekend at all */
  assert_int_equal(workcal_parse_date("2024-02-29", &d), 0);
  assert_int_equal(d, day(2024, 2, 29));
  assert_int_equal(workcal_parse_date("2026-02-29", &d), -EINVAL); /* not a leap year */
  assert_int_equal(workcal_parse_date("2026-04-31", &d), -EINVAL);
  assert_int_equal(workcal_parse_date("2026-13-01", &d), -EINVAL);
  assert_int_equal(workcal_parse_date("2026-1-01", &d), -EINVAL);
  assert_int_equal(workcal_parse_date("2026/10/01", &d), -EINVAL);
  assert_int_equal(workcal_parse_date("2026-10-01x", &d), -EINVAL);
  assert_int_equal(workcal_parse_date("1969-12-31", &d), -EINVAL);
  assert_int_equal(workcal_parse_date(NULL, &d), -EINVAL);
  assert_int_equal(workcal_day_of(cst(2026, 10, 1, 23, 59)), day(2026, 10, 1));
  assert_int_equal(workcal_day_ms(day(2026, 10, 1)), cst(2026, 10, 1, 0, 0));
}

/* Expects the task containing now: start and due, or none (s == 0). */
static void expect_task(int64_t anchor, struct inspect_cycle c, int64_t now, int64_t s, int64_t d)
{
  int64_t start = 0, due = 0;
  int got = inspect_period_workdays(anchor, c, &calendar, now, &start, &due);
  if (!s) {
    assert_int_equal(got, 0);
    return;
  }
  assert_int_equal(got, 1);
  assert_int_equal(start, s);
  assert_int_equal(due, d);
}

static void test_workdays_national_day(void **state)
{
  (void)state;
  calendar_init();
  struct inspect_cycle daily = {1, INSPECT_DAY}, weekly = {7, INSPECT_DAY}, hours = {8, INSPECT_HOUR};
  int64_t fri = cst(2026, 9, 25, 0, 0);
  expect_task(fri, daily, cst(2026, 9, 25, 10, 0), cst(2026, 9, 25, 0, 0), cst(2026, 9, 26, 0, 0));
  expect_task(fri, daily, cst(2026, 9, 26, 10, 0), 0, 0); /* Saturday */
  expect_task(fri, daily, cst(2026, 9, 27, 10, 0), cst(2026, 9, 27, 0, 0), cst(2026, 9, 28, 0, 0));
  expect_task(fri, daily, cst(2026, 10, 3, 10, 0), 0, 0);
  expect_task(fri, daily, cst(2026, 10, 7, 23, 0), 0, 0);
  expect_task(fri, daily, cst(2026, 10, 10, 10, 0), cst(2026, 10, 10, 0, 0), cst(2026, 10, 11, 0, 0));
  expect_task(fri, daily, cst(2026, 10, 11, 10, 0), 0, 0);
  /* A week cut short by the holiday, and one that starts after it and ends on the make-up day. */
  int64_t mon = cst(2026, 9, 28, 0, 0);
  expect_task(mon, weekly, cst(2026, 9, 30, 18, 0), mon, cst(2026, 10, 1, 0, 0));
  expect_task(mon, weekly, cst(2026, 10, 2, 9, 0), 0, 0);
  expect_task(mon, weekly, cst(2026, 10, 6, 9, 0), 0, 0); /* period started, first work day not yet */
  expect_task(mon, weekly, cst(2026, 10, 8, 9, 0), cst(2026, 10, 8, 0, 0), cst(2026, 10, 11, 0, 0));
  /* Hourly: skipped on days off, unchanged on work days. */
  expect_task(fri, hours, cst(2026, 9, 26, 9, 0), 0, 0);
  expect_task(fri, hours, cst(2026, 10, 4, 17, 0), 0, 0);
  expect_task(fri, hours, cst(2026, 9, 27, 9, 0), cst(2026, 9, 27, 8, 0), cst(2026, 9, 27, 16, 0));
  expect_task(fri, hours, cst(2026, 10, 8, 1, 0), cst(2026, 10, 8, 0, 0), cst(2026, 10, 8, 8, 0));
}

static void test_workdays_month_ends_and_leap_years(void **state)
{
  (void)state;
  calendar_init();
  struct inspect_cycle daily = {1, INSPECT_DAY}, month = {1, INSPECT_MONTH}, two = {2, INSPECT_MONTH},
                       year = {1, INSPECT_YEAR};
  /* Leap day, daily: 29 Feb 2024 is a Thursday. */
  expect_task(cst(2024, 2, 28, 0, 0), daily, cst(2024, 2, 29, 13, 0), cst(2024, 2, 29, 0, 0), cst(2024, 3, 1, 0, 0));
  /* Monthly from 31 Jan: 29 Feb → 31 Mar; 30 Mar is a Saturday, so the task is due Friday 24:00. */
  int64_t jan31 = cst(2024, 1, 31, 0, 0);
  expect_task(jan31, month, cst(2024, 3, 15, 9, 0), cst(2024, 2, 29, 0, 0), cst(2024, 3, 30, 0, 0));
  expect_task(jan31, month, cst(2024, 3, 30, 12, 0), 0, 0);
  /* Monthly from the leap day: 29 Mar → 29 Apr, the last work day Friday 26 Apr. */
  int64_t feb29 = cst(2024, 2, 29, 0, 0);
  expect_task(feb29, month, cst(2024, 4, 2, 9, 0), cst(2024, 3, 29, 0, 0), cst(2024, 4, 27, 0, 0));
  /* check_cycle { 2, 月 } across December → February, from Saturday 30 Nov: starts Monday 2 Dec;
   * the next period 30 Jan → 30 Mar (a Sunday) is due Friday 28 Mar 24:00. */
  int64_t nov30 = cst(2024, 11, 30, 0, 0);
  expect_task(nov30, two, cst(2024, 11, 30, 9, 0), 0, 0);
  expect_task(nov30, two, cst(2024, 12, 31, 9, 0), cst(2024, 12, 2, 0, 0), cst(2025, 1, 30, 0, 0));
  expect_task(nov30, two, cst(2025, 2, 28, 9, 0), cst(2025, 1, 30, 0, 0), cst(2025, 3, 29, 0, 0));
  int64_t start, due;
  inspect_period(cst(2024, 12, 31, 0, 0), two, cst(2025, 2, 10, 0, 0), &start, &due);
  assert_int_equal(due, cst(2025, 2, 28, 0, 0));
  inspect_period(cst(2024, 12, 31, 0, 0), two, cst(2025, 2, 28, 0, 0), &start, &due);
  assert_int_equal(due, cst(2025, 4, 30, 0, 0));
  /* Yearly from the leap day: 28 Feb 2025 (Friday) → 28 Feb 2026 (Saturday) → the next starts
   * Monday 2 Mar 2026. */
  expect_task(feb29, year, cst(2025, 6, 1, 0, 0), cst(2025, 2, 28, 0, 0), cst(2026, 2, 28, 0, 0));
  expect_task(feb29, year, cst(2026, 2, 28, 12, 0), 0, 0);
  expect_task(feb29, year, cst(2026, 3, 2, 8, 0), cst(2026, 3, 2, 0, 0), cst(2027, 2, 27, 0, 0));
  /* Without a calendar the period is untouched. */
  assert_int_equal(inspect_period_workdays(feb29, year, NULL, cst(2026, 2, 28, 12, 0), &start, &due), 1);
  assert_int_equal(start, cst(2026, 2, 28, 0, 0));
  assert_int_equal(due, cst(2027, 2, 28, 0, 0));
}

static void test_measure_cycle(void **state)
{
  (void)state;
  struct dg_event ev = {.level = DG_LEVEL_RED};
  struct dg_measure m = {.event = &ev};
  struct inspect_cycle c = inspect_measure_cycle(&m);
  assert_true(c.n == 1 && c.unit == INSPECT_DAY);
  m.cycle_n = 2;
  m.cycle_unit = INSPECT_MONTH;
  c = inspect_measure_cycle(&m);
  assert_true(c.n == 2 && c.unit == INSPECT_MONTH);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_default_cycle_by_level),
    cmocka_unit_test(test_month_ends_clamp_without_drift),
    cmocka_unit_test(test_leap_day_yearly),
    cmocka_unit_test(test_day_and_hour_cycles_cross_month_and_year_ends),
    cmocka_unit_test(test_period_containing_now),
    cmocka_unit_test(test_workcal_days),
    cmocka_unit_test(test_workdays_national_day),
    cmocka_unit_test(test_workdays_month_ends_and_leap_years),
    cmocka_unit_test(test_measure_cycle),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
