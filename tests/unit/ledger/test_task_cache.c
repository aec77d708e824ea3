/* task_cache: a measure is skipped until the end of the period its task exists for, only while
 * nothing that decides the period changed, and a new configuration starts empty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "task_cache.h"

static void test_quiet_until_the_period_ends(void **state)
{
  (void)state;
  struct dg_config cfg = {0};
  struct dg_measure m = {.id = "M01", .data_src = 2};
  struct task_cache c = {0};
  task_cache_follow(&c, &cfg, 1);
  uint64_t key = task_cache_key(&m);
  assert_false(task_cache_quiet(&c, 0, key, 1000)); /* never asked: the database is */
  task_cache_set(&c, 5, key, 2000);                 /* the sixth measure: grows */
  assert_true(task_cache_quiet(&c, 5, key, 1000));
  assert_true(task_cache_quiet(&c, 5, key, 1999));
  assert_false(task_cache_quiet(&c, 5, key, 2000)); /* the next period */
  assert_false(task_cache_quiet(&c, 4, key, 1000)); /* another measure */
  assert_false(task_cache_quiet(&c, 6, key, 1000));
  task_cache_free(&c);
}

static void test_what_decides_the_period_is_in_the_key(void **state)
{
  (void)state;
  struct dg_event red = {.level = DG_LEVEL_RED}, blue = {.level = DG_LEVEL_BLUE};
  struct dg_measure m = {.id = "M01", .data_src = 2, .event = &red}; /* the cycle by the event's level */
  uint64_t key = task_cache_key(&m);
  struct dg_measure other = m;
  other.id = "M02";
  assert_true(task_cache_key(&other) != key);
  other = m;
  other.data_src = 1;
  assert_true(task_cache_key(&other) != key);
  other = m;
  other.work_days = true;
  assert_true(task_cache_key(&other) != key);
  other = m;
  other.event = &blue; /* reassessed: another default cycle */
  assert_true(task_cache_key(&other) != key);
  other = m;
  other.cycle_n = 15, other.cycle_unit = 2; /* its own cycle */
  assert_true(task_cache_key(&other) != key);
  other = m;
  assert_true(task_cache_key(&other) == key);
}

static void test_a_new_configuration_starts_empty(void **state)
{
  (void)state;
  struct dg_config a = {0}, b = {0};
  struct dg_measure m = {.id = "M01"};
  struct task_cache c = {0};
  uint64_t key = task_cache_key(&m);
  task_cache_follow(&c, &a, 1);
  task_cache_set(&c, 0, key, 5000);
  task_cache_follow(&c, &a, 1);
  assert_true(task_cache_quiet(&c, 0, key, 1000));
  task_cache_follow(&c, &b, 2);
  assert_false(task_cache_quiet(&c, 0, key, 1000));
  task_cache_set(&c, 0, key, 5000);
  task_cache_follow(&c, &b, 3); /* a new configuration at the address of the last */
  assert_false(task_cache_quiet(&c, 0, key, 1000));
  task_cache_free(&c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_quiet_until_the_period_ends),
    cmocka_unit_test(test_what_decides_the_period_is_in_the_key),
    cmocka_unit_test(test_a_new_configuration_starts_empty),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
