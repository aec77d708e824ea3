/* Failed-login counting: lock-out after max failures, doubling, per key, forgetting, and a full
 * table that keeps the locks rather than the stale entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "login_limit.h"

static struct login_limit ll;

static int setup(void **state)
{
  (void)state;
  memset(&ll, 0, sizeof ll);
  return 0;
}

static void test_lockout_doubles(void **state)
{
  (void)state;
  int64_t t = 1000000;
  assert_int_equal(login_limit_wait(&ll, "name:a", t), 0);
  assert_int_equal(login_limit_fail(&ll, "name:a", t, 3, 60000), 1);
  assert_int_equal(login_limit_fail(&ll, "name:a", t, 3, 60000), 2);
  assert_int_equal(login_limit_wait(&ll, "name:a", t), 0);
  assert_int_equal(login_limit_fail(&ll, "name:a", t, 3, 60000), 3);
  assert_int_equal(login_limit_wait(&ll, "name:a", t), 60000);
  assert_int_equal(login_limit_wait(&ll, "name:b", t), 0); /* its own count */
  t += 60000;
  assert_int_equal(login_limit_wait(&ll, "name:a", t), 0);
  login_limit_fail(&ll, "name:a", t, 3, 60000); /* 4th: twice as long */
  assert_int_equal(login_limit_wait(&ll, "name:a", t), 120000);
  for (int i = 0; i < 40; i++) login_limit_fail(&ll, "name:a", t, 3, 60000);
  assert_int_equal(login_limit_wait(&ll, "name:a", t), LOGIN_LIMIT_MAX_LOCK_MS);
  login_limit_clear(&ll, "name:a");
  assert_int_equal(login_limit_wait(&ll, "name:a", t), 0);
}

static void test_old_failures_forgotten(void **state)
{
  (void)state;
  int64_t t = 5000000;
  login_limit_fail(&ll, "addr:x", t, 3, 1000);
  login_limit_fail(&ll, "addr:x", t, 3, 1000);
  t += LOGIN_LIMIT_FORGET_MS + 1;
  assert_int_equal(login_limit_fail(&ll, "addr:x", t, 3, 1000), 1);
  assert_int_equal(login_limit_wait(&ll, "addr:x", t), 0);
}

static void test_full_table_keeps_locks(void **state)
{
  (void)state;
  int64_t t = 9000000;
  login_limit_fail(&ll, "name:victim", t, 1, 600000);
  char key[32];
  for (int i = 0; i < 3 * LOGIN_LIMIT_SLOTS; i++) {
    snprintf(key, sizeof key, "name:n%d", i);
    login_limit_fail(&ll, key, t + 1 + i, 5, 600000);
  }
  assert_true(login_limit_wait(&ll, "name:victim", t + 10) > 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_lockout_doubles, setup),
    cmocka_unit_test_setup(test_old_failures_forgotten, setup),
    cmocka_unit_test_setup(test_full_table_keeps_locks, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
