/* Inspection schedules: default cycles by level, periods across month ends and leap years,
 * in China Standard Time, with the clock given by the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>

#include "inspect.h"

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

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_default_cycle_by_level),
    cmocka_unit_test(test_month_ends_clamp_without_drift),
    cmocka_unit_test(test_leap_day_yearly),
    cmocka_unit_test(test_day_and_hour_cycles_cross_month_and_year_ends),
    cmocka_unit_test(test_period_containing_now),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
