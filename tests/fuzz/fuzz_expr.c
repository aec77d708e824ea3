/* libFuzzer target for the expr compiler and evaluator: any text must compile, or fail with one
 * "col N: message" line; a compiled expression must evaluate against any values. Never crash,
 * hang or leak. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"

static const char *const fuzz_points[] = {"GT101", "GT102", "GT103", "LT1.level", "P_2"};
#define FUZZ_N_POINTS (sizeof fuzz_points / sizeof fuzz_points[0])

static long fuzz__lookup(void *ud, const char *id, size_t len)
{
  (void)ud;
  for (size_t i = 0; i < FUZZ_N_POINTS; i++)
    if (strlen(fuzz_points[i]) == len && !memcmp(fuzz_points[i], id, len)) return (long)i;
  return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  char err[256];
  struct expr *x = NULL;
  int rc = expr_compile(text, fuzz__lookup, NULL, &x, err, sizeof err);
  if (rc == 0 && !x) __builtin_trap();
  if (rc != 0 && (x || strncmp(err, "col ", 4) || strchr(err, '\n'))) __builtin_trap();
  if (x) {
    static const double value_sets[][FUZZ_N_POINTS] = {
      {0, 0, 0, 0, 0}, {25, -3, 1e308, -1e308, 0.5}, {NAN, INFINITY, -INFINITY, 0, 1},
    };
    static const uint8_t quality_sets[][FUZZ_N_POINTS] = {{0, 0, 0, 0, 0}, {0, 2, 0, 5, 1}};
    for (size_t v = 0; v < sizeof value_sets / sizeof value_sets[0]; v++)
      for (size_t q = 0; q < sizeof quality_sets / sizeof quality_sets[0]; q++) {
        enum expr_result r = expr_eval(x, value_sets[v], quality_sets[q]);
        if (r != EXPR_TRUE && r != EXPR_FALSE && r != EXPR_UNKNOWN) __builtin_trap();
      }
    const uint32_t *pts;
    size_t n = expr_points(x, &pts);
    for (size_t i = 0; i < n; i++)
      if (pts[i] >= FUZZ_N_POINTS) __builtin_trap();
  }
  expr_free(x);
  free(text);
  return 0;
}
