/* Major hazard installation grading (GB 18218-2018): grade band edges of R, α by exposed persons,
 * β by gas name and by category, a whole installation computed, and the config block. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "grade.h"

static void test_grade_band_edges(void **state)
{
  (void)state;
  assert_int_equal(grade_of_r(100), 1);
  assert_int_equal(grade_of_r(99.9), 2);
  assert_int_equal(grade_of_r(50), 2);
  assert_int_equal(grade_of_r(49.99), 3);
  assert_int_equal(grade_of_r(10), 3);
  assert_int_equal(grade_of_r(9.99), 4);
  assert_int_equal(grade_of_r(0), 4);
  assert_string_equal(grade_name_zh(1), "一级");
  assert_string_equal(grade_name_zh(4), "四级");
  assert_string_equal(grade_name_zh(0), "");
}

static void test_alpha_by_exposed_persons(void **state)
{
  (void)state;
  assert_true(grade_alpha(0) == 0.5);
  assert_true(grade_alpha(1) == 1.0);
  assert_true(grade_alpha(29) == 1.0);
  assert_true(grade_alpha(30) == 1.2);
  assert_true(grade_alpha(49) == 1.2);
  assert_true(grade_alpha(50) == 1.5);
  assert_true(grade_alpha(99) == 1.5);
  assert_true(grade_alpha(100) == 2.0);
  assert_true(grade_alpha(5000) == 2.0);
}

static void test_beta_tables(void **state)
{
  (void)state;
  assert_true(grade_beta_by_name("氨") == 2);
  assert_true(grade_beta_by_name("液氯") == 4);
  assert_true(grade_beta_by_name("硫化氢") == 5);
  assert_true(grade_beta_by_name("光气") == 20);
  assert_true(grade_beta_by_name("甲醇") == 0);
  assert_true(grade_beta_by_category("W2") == 1.5);
  assert_true(grade_beta_by_category("W5.1") == 1.5);
  assert_true(grade_beta_by_category("J1") == 4);
  assert_true(grade_beta_by_category("W12") == 0);
  /* explicit β wins, then the name, then the category */
  struct grade_substance s = {.name = "氨", .category = "W2", .beta = 3};
  assert_true(grade_beta(&s) == 3);
  s.beta = 0;
  assert_true(grade_beta(&s) == 2);
  s.name = "甲醇";
  s.category = "W5.2";
  assert_true(grade_beta(&s) == 1);
  s.category = NULL;
  assert_true(grade_beta(&s) == 0);
}

/* R exactly at the edges from whole installations: α 2, ammonia β 2 → R = 4·q/Q. */
static void test_installation_edges(void **state)
{
  (void)state;
  struct { double q, r; int grade; } cases[] = {
    {250, 100, 1}, {249.75, 99.9, 2}, {125, 50, 2}, {25, 10, 3}, {24.975, 9.99, 4},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct grade_substance s = {.name = "氨", .quantity = cases[i].q, .critical = 10};
    struct grade_result r;
    assert_int_equal(grade_compute(&s, 1, grade_alpha(100), &r), 0);
    assert_true(fabs(r.r - cases[i].r) < 1e-9);
    assert_true(r.is_major);
    assert_int_equal(r.grade, cases[i].grade);
  }
}

static void test_installation_mixture_and_threshold(void **state)
{
  (void)state;
  /* 45 t ammonia (Q 10, β 2) + 200 t methanol (Q 500, W5.2 β 1), 60 exposed persons (α 1.5):
   * S = 4.5 + 0.4 = 4.9; R = 1.5 · (9 + 0.4) = 14.1 → 三级. */
  struct grade_substance s[] = {{.name = "液氨", .quantity = 45, .critical = 10},
                                {.name = "甲醇", .category = "W5.2", .quantity = 200, .critical = 500}};
  struct grade_result r;
  assert_int_equal(grade_compute(s, 2, grade_alpha(60), &r), 0);
  assert_true(fabs(r.s - 4.9) < 1e-9);
  assert_true(fabs(r.r - 14.1) < 1e-9);
  assert_int_equal(r.grade, 3);
  /* S < 1: not a major hazard at all, no grade */
  s[0].quantity = 5;
  s[1].quantity = 100;
  assert_int_equal(grade_compute(s, 2, 1.0, &r), 0);
  assert_true(fabs(r.s - 0.7) < 1e-9);
  assert_false(r.is_major);
  assert_int_equal(r.grade, 0);
  /* S exactly 1 is major */
  s[0].quantity = 10;
  assert_int_equal(grade_compute(s, 1, 1.0, &r), 0);
  assert_true(r.is_major);
  /* a substance without β */
  struct grade_substance unknown = {.name = "某物", .quantity = 1, .critical = 1};
  assert_int_equal(grade_compute(&unknown, 1, 1.0, &r), -EINVAL);
  assert_int_equal(r.missing_beta, 1);
}

static int load(const char *yaml, struct dg_config **c, char *err, size_t len)
{
  return config_load_string("g.yaml", yaml, strlen(yaml), c, err, len);
}

static void test_config_major_hazard(void **state)
{
  (void)state;
  struct dg_config *c = NULL;
  char err[512];
  assert_int_equal(load("site: {code: x}\n"
                        "hazard_sources:\n"
                        "  - id: HS01\n"
                        "    major_hazard:\n"
                        "      exposed_persons: 120\n"
                        "      substances:\n"
                        "        - {name: 液氨, quantity: 250, critical: 10}\n",
                        &c, err, sizeof err), 0);
  const struct dg_hazard_source *hs = &c->sources[0];
  assert_true(hs->graded && hs->is_major);
  assert_true(hs->alpha == 2.0);
  assert_true(fabs(hs->major_r - 100) < 1e-9);
  assert_int_equal(hs->major_grade, 1);
  assert_true(hs->substances[0].beta == 2);
  config_free(c);

  assert_int_equal(load("site: {code: x}\nhazard_sources:\n  - id: HS02\n    major_hazard:\n      alpha: 1\n"
                        "      substances: [{name: 甲醇, category: W5.2, quantity: 100, critical: 500}]\n",
                        &c, err, sizeof err), 0);
  assert_false(c->sources[0].is_major);
  assert_int_equal(c->sources[0].major_grade, 0);
  assert_int_equal(c->sources[0].exposed_persons, -1);
  config_free(c);
}

static void test_config_major_hazard_errors(void **state)
{
  (void)state;
  char err[512];
  assert_int_equal(load("site: {code: x}\nhazard_sources:\n  - id: S\n    major_hazard:\n"
                        "      exposed_persons: 10\n      substances: [{name: 甲醇, quantity: 1, critical: 500}]\n",
                        NULL, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "g.yaml:6:20: hazard_sources[0].major_hazard.substances[0]: no correction factor for '甲醇'"));
  assert_int_equal(load("site: {code: x}\nhazard_sources:\n  - id: S\n    major_hazard:\n"
                        "      alpha: 1\n      substances: [{name: X, category: W99, quantity: 1, critical: 5}]\n",
                        NULL, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "substances[0].category: unknown hazard category 'W99'"));
  assert_int_equal(load("site: {code: x}\nhazard_sources:\n  - id: S\n    major_hazard:\n"
                        "      alpha: 1\n      exposed_persons: 3\n      substances: [{name: 氨, quantity: 1, critical: 5}]\n",
                        NULL, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "g.yaml:5:7: hazard_sources[0].major_hazard: give one of 'exposed_persons'"));
  assert_int_equal(load("site: {code: x}\nhazard_sources:\n  - id: S\n    major: true\n    major_hazard:\n"
                        "      alpha: 1\n      substances: [{name: 氨, quantity: 1, critical: 5}]\n",
                        NULL, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "g.yaml:4:5: hazard_sources[0]: 'major_hazard' computes the grade"));
  assert_int_equal(load("site: {code: x}\nhazard_sources:\n  - id: S\n    major_hazard:\n"
                        "      alpha: 1\n      substances: [{name: 氨, quantity: 1, critical: 0}]\n",
                        NULL, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "substances[0].critical: expected a number from 1e-06 to 1e+09, got '0'"));
  assert_int_equal(load("site: {code: x}\nhazard_sources:\n  - id: S\n    major_hazard:\n"
                        "      alpha: 1\n      substances: []\n",
                        NULL, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "major_hazard.substances: expected at least one substance"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_grade_band_edges),
    cmocka_unit_test(test_alpha_by_exposed_persons),
    cmocka_unit_test(test_beta_tables),
    cmocka_unit_test(test_installation_edges),
    cmocka_unit_test(test_installation_mixture_and_threshold),
    cmocka_unit_test(test_config_major_hazard),
    cmocka_unit_test(test_config_major_hazard_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
