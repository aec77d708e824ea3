/* expr — boolean conditions over points, compiled once at config load and evaluated with no
 * allocation.
 *
 * Language: point ids (their value), numbers, + - * / and unary -, comparisons < <= > >= == !=
 * (numbers only, not chained), and / or / not, parentheses, abs(x), max(a, b, ...),
 * min(a, b, ...), good(P) (the point's quality is good: a condition) and quality(P) (its
 * quality code, a number). Precedence, loosest first: or, and, not, comparison, + -, * /,
 * unary -. A whole expression must be a condition.
 *
 * Unknown: a point value whose quality is not good, a division by zero, or a result that is not
 * finite makes the value unknown. Unknown propagates through arithmetic and comparisons; and/or
 * follow three-valued (Kleene) logic, so `false and unknown` is false and `true or unknown` is
 * true. An unknown result means "cannot tell": the caller holds its state. good() and quality()
 * are never unknown. */
#ifndef DG_EXPR_H
#define DG_EXPR_H

#include <stddef.h>
#include <stdint.h>

#define EXPR_MAX_OPS 256   /* compiled instructions per expression */
#define EXPR_MAX_STACK 32  /* evaluation depth per expression */
#define EXPR_MAX_TEXT 4096 /* source length */

enum expr_result { EXPR_FALSE = 0, EXPR_TRUE = 1, EXPR_UNKNOWN = 2 };

struct expr;

/* Resolves a point id (not NUL-terminated) to its index, or returns -1 if there is none. */
typedef long (*expr_lookup_fn)(void *ud, const char *id, size_t len);

/* Compiles `text` into *out (one allocation, freed with expr_free). On error returns -EINVAL
 * (or -ENOMEM) and writes "col N: message" to err, N being the 1-based column in text. */
int expr_compile(const char *text, expr_lookup_fn lookup, void *ud, struct expr **out, char *err, size_t errlen);

void expr_free(struct expr *x);

/* Evaluates against values[i] / quality[i] of point index i (quality 0 is good, as DG_Q_GOOD);
 * both arrays must cover every point index the lookup returned. No allocation. */
enum expr_result expr_eval(const struct expr *x, const double *values, const uint8_t *quality);

/* The distinct point indexes the expression reads, in order of first use. */
size_t expr_points(const struct expr *x, const uint32_t **points);

#endif
