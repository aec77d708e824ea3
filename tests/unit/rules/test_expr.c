/* The expr language: precedence, type checks with column-exact errors, and three-valued
 * evaluation, table-driven over a fixed point table. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "expr.h"

/* Points A=0 B=1 C=2 GT101=3 GT102=4 BAD=5 (quality comm). */
static const char *const test_ids[] = {"A", "B", "C", "GT101", "GT102", "BAD"};
static const double test_values[] = {2, 3, 4, 25, 18, 99};
static const uint8_t test_quality[] = {0, 0, 0, 0, 0, 2};

static long test__lookup(void *ud, const char *id, size_t len)
{
  (void)ud;
  for (size_t i = 0; i < sizeof test_ids / sizeof test_ids[0]; i++)
    if (strlen(test_ids[i]) == len && !memcmp(test_ids[i], id, len)) return (long)i;
  return -1;
}

static enum expr_result test__run(const char *text)
{
  char err[256];
  struct expr *x;
  int rc = expr_compile(text, test__lookup, NULL, &x, err, sizeof err);
  if (rc) fail_msg("'%s' did not compile: %s", text, err);
  enum expr_result r = expr_eval(x, test_values, test_quality);
  expr_free(x);
  return r;
}

struct eval_case {
  const char *text;
  enum expr_result want;
};

static void test_eval_table(void **state)
{
  (void)state;
  static const struct eval_case cases[] = {
    /* precedence: * / over + -, arithmetic over comparison, not over and over or */
    {"A + B * C == 14", EXPR_TRUE},
    {"(A + B) * C == 20", EXPR_TRUE},
    {"C - B - A == -1", EXPR_TRUE},          /* left-associative */
    {"C / A / A == 1", EXPR_TRUE},
    {"-A * -B == 6", EXPR_TRUE},
    {"- - A == 2", EXPR_TRUE},
    {"A < B or B < A and C < A", EXPR_TRUE},  /* or binds looser than and */
    {"(A < B or B < A) and C < A", EXPR_FALSE},
    {"not A > B", EXPR_TRUE},                 /* not (A > B) */
    {"not not A < B", EXPR_TRUE},
    {"not A < B and C > B", EXPR_FALSE},      /* (not A<B) and ... */
    {"A <= 2 and A >= 2 and A != 3 and A == 2", EXPR_TRUE},
    {"A < 2 or A > 2", EXPR_FALSE},
    {"GT101 > 20 and GT102 > 20", EXPR_FALSE},
    {"GT101 > 20 or GT102 > 20", EXPR_TRUE},
    {"abs(A - C) == 2", EXPR_TRUE},
    {"max(A, C, B) == 4 and min(C, B, A) == 2 and max(B) == 3", EXPR_TRUE},
    {"max(GT101, GT102) - min(GT101, GT102) > 5", EXPR_TRUE},
    {"1.5e1 == 15 and .5 * 4 == 2", EXPR_TRUE},
    {"good(A) and not good(BAD) and quality(BAD) == 2", EXPR_TRUE},
    /* unknown: bad quality, division by zero, overflow */
    {"BAD > 1", EXPR_UNKNOWN},
    {"BAD > 1 or A > 1", EXPR_TRUE},          /* decided regardless of BAD */
    {"BAD > 1 and A > 1", EXPR_UNKNOWN},
    {"BAD > 1 and A > 5", EXPR_FALSE},        /* decided regardless of BAD */
    {"BAD > 1 or A > 5", EXPR_UNKNOWN},
    {"not (BAD > 1)", EXPR_UNKNOWN},
    {"A / (B - 3) > 0", EXPR_UNKNOWN},
    {"A / (B - 3) > 0 or C > 1", EXPR_TRUE},
    {"max(A, BAD) > 0", EXPR_UNKNOWN},
    {"1e308 * 10 > 0", EXPR_UNKNOWN},
    {"abs(BAD) > 0", EXPR_UNKNOWN},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    enum expr_result got = test__run(cases[i].text);
    if (got != cases[i].want) fail_msg("'%s': got %d, want %d", cases[i].text, got, cases[i].want);
  }
}

struct error_case {
  const char *text;
  const char *want; /* exact error */
};

static void test_error_table(void **state)
{
  (void)state;
  static const struct error_case cases[] = {
    {"GT101 > 20 and GT1O1 > 20", "col 16: unknown point 'GT1O1'"},
    {"GT101", "col 1: the expression is a number, not a condition (compare it with something)"},
    {"GT101 > 20 and 5", "col 16: 'and' needs a condition, not a number"},
    {"A + (B > 1) > 0", "col 5: '+' needs a number, not a condition"},
    {"not A", "col 5: 'not' needs a condition, not a number"},
    {"-(A > 1)", "col 2: '-' needs a number, not a condition"},
    {"A < B < C", "col 7: comparisons do not chain: use 'and'"},
    {"A > ", "col 5: unexpected end of expression"},
    {"(A > 1", "col 7: expected ')'"},
    {"A > 1)", "col 6: unexpected ')' after the expression"},
    {"A > 1 $", "col 7: unexpected '$' after the expression"},
    {"sqrt(A) > 1", "col 1: unknown function 'sqrt'"},
    {"abs(A, B) > 1", "col 1: abs() takes one argument"},
    {"max(A, B > 1) > 1", "col 8: max needs a number, not a condition"},
    {"max(A, B > 1", "col 8: max needs a number, not a condition"},
    {"max(A, B > 0", "col 8: max needs a number, not a condition"},
    {"min(A B) > 1", "col 7: expected ',' or ')' in min()"},
    {"good(3) or A > 1", "col 6: good() takes a point id"},
    {"good(X) or A > 1", "col 6: unknown point 'X'"},
    {"quality(A > 1", "col 11: expected ')' after quality(A"},
    {"0x10 > 1", "col 1: malformed number"},
    {"2and > 1", "col 1: malformed number"},
    {"A > 1 and or B > 1", "col 11: expected a value before 'or'"},
    {"", "col 1: unexpected end of expression"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char err[256];
    struct expr *x = (struct expr *)&err;
    int rc = expr_compile(cases[i].text, test__lookup, NULL, &x, err, sizeof err);
    if (rc != -EINVAL || x) fail_msg("'%s' compiled (rc %d)", cases[i].text, rc);
    if (strcmp(err, cases[i].want)) fail_msg("'%s': got \"%s\", want \"%s\"", cases[i].text, err, cases[i].want);
  }
}

static void test_limits(void **state)
{
  (void)state;
  char text[EXPR_MAX_TEXT + 64], err[256];
  struct expr *x;
  /* deep nesting is refused, not a stack overflow */
  size_t n = 0;
  for (int i = 0; i < 200; i++) text[n++] = '(';
  strcpy(text + n, "A > 1");
  n += 5;
  for (int i = 0; i < 200; i++) text[n++] = ')';
  text[n] = '\0';
  assert_int_equal(expr_compile(text, test__lookup, NULL, &x, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "nested too deeply"));
  /* too many operations */
  n = 0;
  for (int i = 0; i < 300; i++) n += (size_t)snprintf(text + n, sizeof text - n, "A+");
  strcpy(text + n, "A > 1");
  assert_int_equal(expr_compile(text, test__lookup, NULL, &x, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "too long"));
  /* a long flat chain fits the evaluation stack (left-associative) */
  n = 0;
  for (int i = 0; i < 100; i++) n += (size_t)snprintf(text + n, sizeof text - n, "A+");
  strcpy(text + n, "A == 202");
  assert_int_equal(test__run(text), EXPR_TRUE);
}

static void test_points_distinct(void **state)
{
  (void)state;
  char err[256];
  struct expr *x;
  assert_int_equal(expr_compile("GT102 > 1 and GT101 > GT102 or good(A) and quality(GT101) == 0", test__lookup,
                                NULL, &x, err, sizeof err),
                   0);
  const uint32_t *pts;
  assert_int_equal(expr_points(x, &pts), 3);
  assert_int_equal(pts[0], 4);
  assert_int_equal(pts[1], 3);
  assert_int_equal(pts[2], 0);
  expr_free(x);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_eval_table),
    cmocka_unit_test(test_error_table),
    cmocka_unit_test(test_limits),
    cmocka_unit_test(test_points_distinct),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
