/* idset: adds, lookups and backward-shift deletions checked against a plain bitmap reference,
 * over ids chosen to collide and wrap around the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "idset.h"

#define RANGE 5000

static void test_random_ops_match_reference(void **state)
{
  (void)state;
  struct idset s = {0};
  static bool ref[RANGE + 1];
  size_t n = 0;
  srand(7);
  for (int op = 0; op < 200000; op++) {
    int64_t id = 1 + rand() % RANGE;
    if (rand() % 3) {
      assert_int_equal(idset_add(&s, id), 0);
      if (!ref[id]) n++;
      ref[id] = true;
    } else {
      idset_del(&s, id);
      if (ref[id]) n--;
      ref[id] = false;
    }
    if (op % 1000 == 0)
      for (int64_t k = 1; k <= RANGE; k++) assert_int_equal(idset_has(&s, k), ref[k]);
  }
  assert_int_equal(s.n, n);
  for (int64_t k = 1; k <= RANGE; k++) assert_int_equal(idset_has(&s, k), ref[k]);
  idset_free(&s);
}

static void test_empty_and_invalid(void **state)
{
  (void)state;
  struct idset s = {0};
  assert_false(idset_has(&s, 1));
  idset_del(&s, 1);
  assert_int_equal(idset_add(&s, 0), -EINVAL);
  assert_int_equal(idset_add(&s, -3), -EINVAL);
  assert_int_equal(idset_add(&s, 42), 0);
  assert_int_equal(idset_add(&s, 42), 0);
  assert_int_equal(s.n, 1);
  assert_true(idset_has(&s, 42));
  assert_false(idset_has(&s, 0));
  idset_del(&s, 42);
  assert_false(idset_has(&s, 42));
  assert_int_equal(s.n, 0);
  idset_free(&s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_random_ops_match_reference),
    cmocka_unit_test(test_empty_and_invalid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
