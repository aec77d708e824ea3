/* esc_sched: tier timing, re-notify, last-tier repeats, stage jumps, rota hand-overs across
 * midnight, month end and time zones, overrides, quiet hours — all at chosen instants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "esc_sched.h"
#include "workcal.h"

#define MIN 60000LL
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

static struct esc_tier tiers[3];
static struct esc_stage_map stages[1] = {{(char *)"HH", 2}};
static struct esc_policy pol;

static int setup(void **state)
{
  (void)state;
  memset(tiers, 0, sizeof tiers);
  tiers[0].timeout_s = 300;   /* 5 min */
  tiers[1].timeout_s = 600;   /* 10 min */
  tiers[2].timeout_s = 900;   /* 15 min: the repeat interval of the last tier */
  pol = (struct esc_policy){.tiers = tiers, .n_tiers = 3, .stages = stages, .n_stages = 1};
  return 0;
}

static int64_t day_ms(const char *date)
{
  int32_t d;
  assert_int_equal(workcal_parse_date(date, &d), 0);
  return (int64_t)d * DAY;
}

static void test_tiers_in_order(void **state)
{
  (void)state;
  int64_t t0 = 1000000;
  struct esc_sched s = {0, t0, t0};
  assert_int_equal(esc_sched_start_tier(&pol, "H"), 0);
  assert_true(esc_sched_next(&pol, &s) == t0 + 5 * MIN);
  assert_int_equal(esc_sched_step(&pol, &s, t0 + 5 * MIN), 1);
  assert_true(esc_sched_next(&pol, &s) == t0 + 15 * MIN);
  /* A late step (the daemon was down) keeps the schedule: times advance from the due time. */
  assert_int_equal(esc_sched_step(&pol, &s, t0 + 15 * MIN), 2);
  assert_true(s.tier_start_ms == t0 + 15 * MIN);
  /* The last tier does not repeat unless told to. */
  assert_true(esc_sched_next(&pol, &s) == INT64_MAX);
  pol.repeat_last = true;
  assert_true(esc_sched_next(&pol, &s) == t0 + 30 * MIN);
  assert_int_equal(esc_sched_step(&pol, &s, t0 + 30 * MIN), 2);
  assert_true(esc_sched_next(&pol, &s) == t0 + 45 * MIN);
}

static void test_renotify_within_a_tier(void **state)
{
  (void)state;
  tiers[0].renotify_s = 120;
  struct esc_sched s = {0, 0, 0};
  assert_true(esc_sched_next(&pol, &s) == 2 * MIN);
  assert_int_equal(esc_sched_step(&pol, &s, 2 * MIN), 0);
  assert_true(esc_sched_next(&pol, &s) == 4 * MIN);
  assert_int_equal(esc_sched_step(&pol, &s, 4 * MIN), 0);
  /* the tier's timeout (5 min) comes before the next re-notify (6 min) */
  assert_true(esc_sched_next(&pol, &s) == 5 * MIN);
  assert_int_equal(esc_sched_step(&pol, &s, 5 * MIN), 1);
}

static void test_stage_jump(void **state)
{
  (void)state;
  struct esc_sched s = {0, 0, 0};
  assert_int_equal(esc_sched_start_tier(&pol, "HH"), 2);
  /* H → HH at minute 1: straight to tier 3, timed from the jump */
  assert_int_equal(esc_sched_jump(&pol, &s, "HH", MIN), 2);
  assert_true(s.tier_start_ms == MIN);
  /* a stage mapped before the current tier re-tells the current tier, never goes back */
  assert_int_equal(esc_sched_jump(&pol, &s, "H", 2 * MIN), 2);
}

static struct dg_person people[3] = {{.id = (char *)"a"}, {.id = (char *)"b"}, {.id = (char *)"c"}};
static struct dg_person *order[3] = {&people[0], &people[1], &people[2]};

static void test_rota_daily_across_midnight_and_month_end(void **state)
{
  (void)state;
  /* Daily, hand-over 08:00 Beijing time (00:00 UTC), a's first shift starts 2026-11-29 08:00. */
  struct esc_rota r = {.utc_offset_min = 480, .handover_min = 480, .period_days = 1, .persons = order, .n_persons = 3};
  workcal_parse_date("2026-11-29", &r.start_day);
  int64_t nov29 = day_ms("2026-11-29"); /* 00:00 UTC = 08:00 local */
  assert_string_equal(esc_rota_on_call(&r, nov29)->id, "a");
  assert_string_equal(esc_rota_on_call(&r, nov29 - 1)->id, "c"); /* 07:59:59.999 local: yesterday's shift */
  /* across local midnight (16:00 UTC) the shift goes on */
  assert_string_equal(esc_rota_on_call(&r, nov29 + 16 * HOUR + 30 * MIN)->id, "a");
  assert_string_equal(esc_rota_on_call(&r, nov29 + DAY)->id, "b");
  /* month end: Nov 30 → Dec 1 08:00 local hands over from b to c */
  int64_t dec1 = day_ms("2026-12-01");
  assert_string_equal(esc_rota_on_call(&r, dec1 - MIN)->id, "b");
  assert_string_equal(esc_rota_on_call(&r, dec1)->id, "c");
  int64_t from, to;
  esc_rota_scheduled(&r, dec1 + HOUR, &from, &to);
  assert_true(from == dec1 && to == dec1 + DAY);
  /* before the rota's start the rotation runs backwards consistently */
  assert_string_equal(esc_rota_on_call(&r, nov29 - DAY)->id, "c");
}

static void test_rota_weekly_and_time_zones(void **state)
{
  (void)state;
  /* Weekly, hand-over Monday 23:30 local; the same wall instant falls in different shifts for a
   * site at UTC+8 and one at UTC-5. */
  struct esc_rota east = {.utc_offset_min = 480, .handover_min = 23 * 60 + 30, .period_days = 7, .persons = order,
                          .n_persons = 2};
  workcal_parse_date("2026-11-30", &east.start_day); /* a Monday */
  struct esc_rota west = east;
  west.utc_offset_min = -300;
  int64_t h = day_ms("2026-11-30") + 23 * HOUR + 30 * MIN; /* Monday 23:30 UTC */
  /* east: Monday 23:30 local was 15:30 UTC, so a's shift began 8 h before h */
  assert_string_equal(esc_rota_on_call(&east, h)->id, "a");
  /* west: Monday 23:30 local is Tuesday 04:30 UTC, 5 h after h: still the week before (b) */
  assert_string_equal(esc_rota_on_call(&west, h)->id, "b");
  assert_string_equal(esc_rota_on_call(&west, h + 5 * HOUR)->id, "a");
  assert_string_equal(esc_rota_on_call(&east, h + 7 * DAY - 8 * HOUR)->id, "b");
}

static void test_rota_overrides(void **state)
{
  (void)state;
  struct esc_rota r = {.utc_offset_min = 480, .handover_min = 480, .period_days = 1, .persons = order, .n_persons = 2};
  workcal_parse_date("2026-12-01", &r.start_day);
  int64_t d0 = day_ms("2026-12-01");
  struct esc_override ov[2] = {
    {.person = &people[2], .covers = &people[0], .from_ms = d0 + 12 * HOUR, .to_ms = d0 + DAY}, /* c covers a */
    {.person = &people[2], .covers = &people[1], .from_ms = d0 + 2 * DAY, .to_ms = d0 + 2 * DAY + HOUR},
  };
  r.overrides = ov;
  r.n_overrides = 2;
  assert_string_equal(esc_rota_on_call(&r, d0 + 11 * HOUR)->id, "a");
  assert_string_equal(esc_rota_on_call(&r, d0 + 12 * HOUR)->id, "c");
  assert_string_equal(esc_rota_on_call(&r, d0 + DAY)->id, "b");        /* override over, b's shift */
  assert_string_equal(esc_rota_on_call(&r, d0 + 2 * DAY)->id, "a");    /* covers b, but a is on */
  assert_string_equal(esc_rota_scheduled(&r, d0 + 12 * HOUR, NULL, NULL)->id, "a");
}

static void test_quiet_hours(void **state)
{
  (void)state;
  int64_t d0 = day_ms("2026-12-01"); /* 08:00 at UTC+8 */
  assert_int_equal(esc_local_minute(d0, 480), 480);
  assert_int_equal(esc_local_minute(d0, -300), 19 * 60);
  /* 22:00–07:00 spans midnight */
  assert_false(esc_in_quiet_hours(22 * 60, 7 * 60, d0, 480));
  assert_true(esc_in_quiet_hours(22 * 60, 7 * 60, d0 + 14 * HOUR, 480));       /* 22:00 */
  assert_true(esc_in_quiet_hours(22 * 60, 7 * 60, d0 + 22 * HOUR + 59 * MIN, 480)); /* 06:59 */
  assert_false(esc_in_quiet_hours(22 * 60, 7 * 60, d0 + 23 * HOUR, 480));      /* 07:00 */
  assert_true(esc_in_quiet_hours(12 * 60, 13 * 60, d0 + 4 * HOUR, 480));       /* 12:00 */
  assert_false(esc_in_quiet_hours(-1, -1, d0, 480));
}

static void test_digest_window(void **state)
{
  (void)state;
  struct esc_flood f = {0};
  int64_t t = 5 * MIN;
  /* three on their own, then the window's digest takes the rest */
  for (int i = 0; i < 3; i++) assert_false(esc_flood_hold(&f, t + i * 1000, MIN, 3));
  assert_true(esc_flood_hold(&f, t + 10000, MIN, 3));
  assert_true(esc_flood_hold(&f, t + MIN - 1, MIN, 3));
  assert_true(f.window_start_ms == t);
  /* a new window starts with the first message after the last one ended */
  assert_false(esc_flood_hold(&f, t + MIN, MIN, 3));
  assert_true(f.window_start_ms == t + MIN && f.count == 1);
  /* after = 0: never held */
  struct esc_flood g = {0};
  for (int i = 0; i < 10; i++) assert_false(esc_flood_hold(&g, t, MIN, 0));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_tiers_in_order, setup),
    cmocka_unit_test_setup(test_renotify_within_a_tier, setup),
    cmocka_unit_test_setup(test_stage_jump, setup),
    cmocka_unit_test(test_rota_daily_across_midnight_and_month_end),
    cmocka_unit_test(test_rota_weekly_and_time_zones),
    cmocka_unit_test(test_rota_overrides),
    cmocka_unit_test(test_quiet_hours),
    cmocka_unit_test(test_digest_window),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
