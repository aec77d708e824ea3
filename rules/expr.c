#include "expr.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum expr_code {
  EXPR_OP_NUM, EXPR_OP_VALUE, EXPR_OP_GOOD, EXPR_OP_QUALITY,
  EXPR_OP_NEG, EXPR_OP_ADD, EXPR_OP_SUB, EXPR_OP_MUL, EXPR_OP_DIV,
  EXPR_OP_LT, EXPR_OP_LE, EXPR_OP_GT, EXPR_OP_GE, EXPR_OP_EQ, EXPR_OP_NE,
  EXPR_OP_AND, EXPR_OP_OR, EXPR_OP_NOT, EXPR_OP_ABS, EXPR_OP_MAX, EXPR_OP_MIN
};

struct expr_op {
  uint8_t code;
  uint8_t argc;      /* max/min: operands taken from the stack */
  uint32_t point;    /* value/good/quality */
  double num;        /* num */
};

struct expr {
  uint16_t n_ops;
  uint16_t n_points;
  uint32_t *points;  /* inside the same allocation, after ops */
  struct expr_op ops[];
};

enum expr_type { EXPR_T_NUM = 1, EXPR_T_BOOL = 2 };

#define EXPR_MAX_DEPTH 64
#define EXPR_MAX_ARGS 32

/* Compiler state: a hand-written recursive descent emitting postfix code into a bounded buffer. */
struct expr_cc {
  const char *text;
  size_t pos;
  expr_lookup_fn lookup;
  void *ud;
  char *err;
  size_t errlen;
  int depth;
  int stack, max_stack;
  size_t n_ops;
  struct expr_op ops[EXPR_MAX_OPS];
  size_t n_points;
  uint32_t points[EXPR_MAX_OPS];
};

static int expr__fail(struct expr_cc *c, size_t at, const char *fmt, ...)
{
  char msg[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (c->errlen) snprintf(c->err, c->errlen, "col %zu: %s", at + 1, msg);
  return -EINVAL;
}

static void expr__skip_space(struct expr_cc *c)
{
  while (c->text[c->pos] == ' ' || c->text[c->pos] == '\t' || c->text[c->pos] == '\n' || c->text[c->pos] == '\r')
    c->pos++;
}

static int expr__is_ident_start(char ch) { return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_'; }
static int expr__is_ident(char ch) { return expr__is_ident_start(ch) || (ch >= '0' && ch <= '9') || ch == '.'; }

/* Length of the identifier at the current position (0 if none); does not consume it. */
static size_t expr__ident_len(const struct expr_cc *c)
{
  size_t n = 0;
  if (!expr__is_ident_start(c->text[c->pos])) return 0;
  while (expr__is_ident(c->text[c->pos + n])) n++;
  return n;
}

static int expr__word_is(const struct expr_cc *c, const char *word)
{
  size_t n = expr__ident_len(c), wl = strlen(word);
  return n == wl && !memcmp(c->text + c->pos, word, n);
}

/* Consumes the keyword `word` if it comes next. */
static int expr__accept_word(struct expr_cc *c, const char *word)
{
  expr__skip_space(c);
  if (!expr__word_is(c, word)) return 0;
  c->pos += strlen(word);
  return 1;
}

static int expr__accept(struct expr_cc *c, const char *sym)
{
  expr__skip_space(c);
  size_t n = strlen(sym);
  if (strncmp(c->text + c->pos, sym, n)) return 0;
  c->pos += n;
  return 1;
}

/* Appends one instruction; `pops` operands are replaced by one result. */
static int expr__emit(struct expr_cc *c, struct expr_op op, int pops)
{
  if (c->n_ops >= EXPR_MAX_OPS) return expr__fail(c, c->pos, "expression too long (over %d operations)", EXPR_MAX_OPS);
  c->stack += 1 - pops;
  if (c->stack > c->max_stack) c->max_stack = c->stack;
  if (c->max_stack > EXPR_MAX_STACK) return expr__fail(c, c->pos, "expression nested too deeply");
  c->ops[c->n_ops++] = op;
  return 0;
}

static int expr__emit_code(struct expr_cc *c, enum expr_code code, int pops)
{
  return expr__emit(c, (struct expr_op){.code = (uint8_t)code}, pops);
}

static const char *expr__type_name(int t) { return t == EXPR_T_BOOL ? "a condition" : "a number"; }

static int expr__want(struct expr_cc *c, size_t at, int got, int want, const char *where)
{
  if (got == want) return 0;
  return expr__fail(c, at, "%s needs %s, not %s", where, expr__type_name(want), expr__type_name(got));
}

static int expr__or(struct expr_cc *c, int *type);

static long expr__point(struct expr_cc *c, size_t at, size_t len)
{
  long idx = c->lookup(c->ud, c->text + at, len);
  if (idx < 0 || idx > (long)UINT32_MAX) return expr__fail(c, at, "unknown point '%.*s'", (int)(len > 64 ? 64 : len), c->text + at);
  size_t i = 0;
  while (i < c->n_points && c->points[i] != (uint32_t)idx) i++;
  if (i == c->n_points) c->points[c->n_points++] = (uint32_t)idx;
  return idx;
}

/* good(P) / quality(P): one point id argument. */
static int expr__quality_call(struct expr_cc *c, enum expr_code code, const char *name, int *type)
{
  expr__skip_space(c);
  size_t at = c->pos, len = expr__ident_len(c);
  if (!len) return expr__fail(c, at, "%s() takes a point id", name);
  long idx = expr__point(c, at, len);
  if (idx < 0) return (int)idx;
  c->pos += len;
  if (!expr__accept(c, ")")) return expr__fail(c, c->pos, "expected ')' after %s(%.*s", name, (int)len, c->text + at);
  *type = code == EXPR_OP_GOOD ? EXPR_T_BOOL : EXPR_T_NUM;
  return expr__emit(c, (struct expr_op){.code = (uint8_t)code, .point = (uint32_t)idx}, 0);
}

/* abs(x), max(a, ...), min(a, ...): numbers. */
static int expr__math_call(struct expr_cc *c, enum expr_code code, const char *name, size_t name_at, int *type)
{
  int argc = 0, rc, t;
  do {
    expr__skip_space(c);
    size_t at = c->pos;
    if ((rc = expr__or(c, &t)) || (rc = expr__want(c, at, t, EXPR_T_NUM, name))) return rc;
    if (++argc > EXPR_MAX_ARGS) return expr__fail(c, at, "%s() takes at most %d arguments", name, EXPR_MAX_ARGS);
  } while (expr__accept(c, ","));
  if (!expr__accept(c, ")")) return expr__fail(c, c->pos, "expected ',' or ')' in %s()", name);
  if (code == EXPR_OP_ABS && argc != 1) return expr__fail(c, name_at, "abs() takes one argument");
  *type = EXPR_T_NUM;
  if (code == EXPR_OP_ABS) return expr__emit_code(c, code, 1);
  if (argc == 1) return 0;
  return expr__emit(c, (struct expr_op){.code = (uint8_t)code, .argc = (uint8_t)argc}, argc);
}

static int expr__call(struct expr_cc *c, size_t at, size_t len, int *type)
{
  static const struct { const char *name; enum expr_code code; } fns[] = {
    {"good", EXPR_OP_GOOD}, {"quality", EXPR_OP_QUALITY}, {"abs", EXPR_OP_ABS}, {"max", EXPR_OP_MAX}, {"min", EXPR_OP_MIN},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    if (strlen(fns[i].name) != len || memcmp(fns[i].name, c->text + at, len)) continue;
    if (fns[i].code == EXPR_OP_GOOD || fns[i].code == EXPR_OP_QUALITY) return expr__quality_call(c, fns[i].code, fns[i].name, type);
    return expr__math_call(c, fns[i].code, fns[i].name, at, type);
  }
  return expr__fail(c, at, "unknown function '%.*s'", (int)(len > 64 ? 64 : len), c->text + at);
}

static int expr__number(struct expr_cc *c, int *type)
{
  const char *start = c->text + c->pos;
  char *end;
  double v = strtod(start, &end);
  /* strtod accepts hex, inf and nan; the language has plain decimal numbers only. */
  for (const char *p = start; p < end; p++)
    if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-'))
      return expr__fail(c, c->pos, "malformed number");
  if (end == start || !isfinite(v)) return expr__fail(c, c->pos, "malformed number");
  if (expr__is_ident(*end)) return expr__fail(c, c->pos, "malformed number");
  c->pos += (size_t)(end - start);
  *type = EXPR_T_NUM;
  return expr__emit(c, (struct expr_op){.code = EXPR_OP_NUM, .num = v}, 0);
}

static int expr__primary(struct expr_cc *c, int *type)
{
  expr__skip_space(c);
  size_t at = c->pos;
  char ch = c->text[at];
  if (ch == '(') {
    c->pos++;
    int rc = expr__or(c, type);
    if (rc) return rc;
    if (!expr__accept(c, ")")) return expr__fail(c, c->pos, "expected ')'");
    return 0;
  }
  if ((ch >= '0' && ch <= '9') || ch == '.') return expr__number(c, type);
  size_t len = expr__ident_len(c);
  if (!len) {
    if (!ch) return expr__fail(c, at, "unexpected end of expression");
    return expr__fail(c, at, "unexpected '%c'", ch);
  }
  if (expr__word_is(c, "and") || expr__word_is(c, "or") || expr__word_is(c, "not"))
    return expr__fail(c, at, "expected a value before '%.*s'", (int)len, c->text + at);
  c->pos += len;
  if (expr__accept(c, "(")) return expr__call(c, at, len, type);
  long idx = expr__point(c, at, len);
  if (idx < 0) return (int)idx;
  *type = EXPR_T_NUM;
  return expr__emit(c, (struct expr_op){.code = EXPR_OP_VALUE, .point = (uint32_t)idx}, 0);
}

static int expr__unary(struct expr_cc *c, int *type)
{
  expr__skip_space(c);
  size_t at = c->pos;
  if (!expr__accept(c, "-")) return expr__primary(c, type);
  if (++c->depth > EXPR_MAX_DEPTH) return expr__fail(c, at, "expression nested too deeply");
  expr__skip_space(c);
  size_t arg_at = c->pos;
  int rc = expr__unary(c, type);
  c->depth--;
  if (rc || (rc = expr__want(c, arg_at, *type, EXPR_T_NUM, "'-'"))) return rc;
  return expr__emit_code(c, EXPR_OP_NEG, 1);
}

/* Left-associative binary level: `ops` are the symbols, `codes` their instructions. */
static int expr__binary(struct expr_cc *c, int *type, int (*next)(struct expr_cc *, int *), const char *const *ops,
                        const enum expr_code *codes, int operand_type)
{
  expr__skip_space(c);
  size_t lhs_at = c->pos;
  int rc = next(c, type);
  if (rc) return rc;
  for (;;) {
    expr__skip_space(c);
    int k = 0;
    while (ops[k] && !(expr__is_ident_start(ops[k][0]) ? expr__accept_word(c, ops[k]) : expr__accept(c, ops[k]))) k++;
    if (!ops[k]) return 0;
    char where[32];
    snprintf(where, sizeof where, "'%s'", ops[k]);
    if ((rc = expr__want(c, lhs_at, *type, operand_type, where))) return rc;
    expr__skip_space(c);
    size_t rhs_at = c->pos;
    int rt;
    if ((rc = next(c, &rt)) || (rc = expr__want(c, rhs_at, rt, operand_type, where))) return rc;
    if ((rc = expr__emit_code(c, codes[k], 2))) return rc;
  }
}

static int expr__term(struct expr_cc *c, int *type)
{
  static const char *const ops[] = {"*", "/", NULL};
  static const enum expr_code codes[] = {EXPR_OP_MUL, EXPR_OP_DIV};
  return expr__binary(c, type, expr__unary, ops, codes, EXPR_T_NUM);
}

static int expr__sum(struct expr_cc *c, int *type)
{
  static const char *const ops[] = {"+", "-", NULL};
  static const enum expr_code codes[] = {EXPR_OP_ADD, EXPR_OP_SUB};
  return expr__binary(c, type, expr__term, ops, codes, EXPR_T_NUM);
}

/* One comparison at most: `a < b < c` is refused rather than guessed at. */
static int expr__compare(struct expr_cc *c, int *type)
{
  static const char *const ops[] = {"<=", ">=", "==", "!=", "<", ">", NULL};
  static const enum expr_code codes[] = {EXPR_OP_LE, EXPR_OP_GE, EXPR_OP_EQ, EXPR_OP_NE, EXPR_OP_LT, EXPR_OP_GT};
  expr__skip_space(c);
  size_t lhs_at = c->pos;
  int rc = expr__sum(c, type);
  if (rc) return rc;
  expr__skip_space(c);
  int k = 0;
  while (ops[k] && !expr__accept(c, ops[k])) k++;
  if (!ops[k]) return 0;
  char where[32];
  snprintf(where, sizeof where, "'%s'", ops[k]);
  if ((rc = expr__want(c, lhs_at, *type, EXPR_T_NUM, where))) return rc;
  expr__skip_space(c);
  size_t rhs_at = c->pos;
  int rt;
  if ((rc = expr__sum(c, &rt)) || (rc = expr__want(c, rhs_at, rt, EXPR_T_NUM, where))) return rc;
  expr__skip_space(c);
  for (int j = 0; ops[j]; j++)
    if (!strncmp(c->text + c->pos, ops[j], strlen(ops[j])))
      return expr__fail(c, c->pos, "comparisons do not chain: use 'and'");
  *type = EXPR_T_BOOL;
  return expr__emit_code(c, codes[k], 2);
}

static int expr__not(struct expr_cc *c, int *type)
{
  expr__skip_space(c);
  size_t at = c->pos;
  if (!expr__accept_word(c, "not")) return expr__compare(c, type);
  if (++c->depth > EXPR_MAX_DEPTH) return expr__fail(c, at, "expression nested too deeply");
  expr__skip_space(c);
  size_t arg_at = c->pos;
  int rc = expr__not(c, type);
  c->depth--;
  if (rc || (rc = expr__want(c, arg_at, *type, EXPR_T_BOOL, "'not'"))) return rc;
  return expr__emit_code(c, EXPR_OP_NOT, 1);
}

static int expr__and(struct expr_cc *c, int *type)
{
  static const char *const ops[] = {"and", NULL};
  static const enum expr_code codes[] = {EXPR_OP_AND};
  return expr__binary(c, type, expr__not, ops, codes, EXPR_T_BOOL);
}

static int expr__or(struct expr_cc *c, int *type)
{
  static const char *const ops[] = {"or", NULL};
  static const enum expr_code codes[] = {EXPR_OP_OR};
  expr__skip_space(c);
  size_t at = c->pos;
  if (++c->depth > EXPR_MAX_DEPTH) return expr__fail(c, at, "expression nested too deeply");
  int rc = expr__binary(c, type, expr__and, ops, codes, EXPR_T_BOOL);
  c->depth--;
  return rc;
}

int expr_compile(const char *text, expr_lookup_fn lookup, void *ud, struct expr **out, char *err, size_t errlen)
{
  *out = NULL;
  if (errlen) err[0] = '\0';
  struct expr_cc *c = calloc(1, sizeof *c);
  if (!c) return -ENOMEM;
  *c = (struct expr_cc){.text = text, .lookup = lookup, .ud = ud, .err = err, .errlen = errlen};
  int rc, type;
  size_t len = strnlen(text, EXPR_MAX_TEXT + 1);
  if (len > EXPR_MAX_TEXT) {
    rc = expr__fail(c, EXPR_MAX_TEXT, "expression longer than %d characters", EXPR_MAX_TEXT);
    goto fail;
  }
  if ((rc = expr__or(c, &type))) goto fail;
  expr__skip_space(c);
  if (c->text[c->pos]) {
    rc = expr__fail(c, c->pos, "unexpected '%c' after the expression", c->text[c->pos]);
    goto fail;
  }
  if (type != EXPR_T_BOOL) {
    rc = expr__fail(c, 0, "the expression is a number, not a condition (compare it with something)");
    goto fail;
  }
  struct expr *x = malloc(sizeof *x + c->n_ops * sizeof x->ops[0] + c->n_points * sizeof *x->points);
  if (!x) {
    rc = -ENOMEM;
    goto fail;
  }
  x->n_ops = (uint16_t)c->n_ops;
  x->n_points = (uint16_t)c->n_points;
  memcpy(x->ops, c->ops, c->n_ops * sizeof x->ops[0]);
  x->points = (uint32_t *)(void *)(x->ops + c->n_ops);
  memcpy(x->points, c->points, c->n_points * sizeof *x->points);
  free(c);
  *out = x;
  return 0;
fail:
  free(c);
  return rc;
}

void expr_free(struct expr *x) { free(x); }

size_t expr_points(const struct expr *x, const uint32_t **points)
{
  *points = x->points;
  return x->n_points;
}

/* ---- evaluation ----------------------------------------------------------------------------- */

struct expr_cell {
  double v;        /* number, or 0/1 for a condition */
  uint8_t known;
};

static struct expr_cell expr__num(double v, int known)
{
  return (struct expr_cell){.v = v, .known = (uint8_t)(known && isfinite(v))};
}

static struct expr_cell expr__bool(int v, int known) { return (struct expr_cell){.v = v ? 1 : 0, .known = (uint8_t)known}; }

/* Kleene and / or: a decided operand decides the result even if the other is unknown. */
static struct expr_cell expr__logic(int is_and, struct expr_cell a, struct expr_cell b)
{
  int decisive = is_and ? 0 : 1;
  if ((a.known && (int)a.v == decisive) || (b.known && (int)b.v == decisive)) return expr__bool(decisive, 1);
  if (!a.known || !b.known) return expr__bool(0, 0);
  return expr__bool(!decisive, 1);
}

static struct expr_cell expr__apply2(uint8_t code, struct expr_cell a, struct expr_cell b)
{
  int known = a.known && b.known;
  switch (code) {
  case EXPR_OP_ADD: return expr__num(a.v + b.v, known);
  case EXPR_OP_SUB: return expr__num(a.v - b.v, known);
  case EXPR_OP_MUL: return expr__num(a.v * b.v, known);
  case EXPR_OP_DIV: return expr__num(b.v != 0 ? a.v / b.v : 0, known && b.v != 0);
  case EXPR_OP_LT: return expr__bool(a.v < b.v, known);
  case EXPR_OP_LE: return expr__bool(a.v <= b.v, known);
  case EXPR_OP_GT: return expr__bool(a.v > b.v, known);
  case EXPR_OP_GE: return expr__bool(a.v >= b.v, known);
  case EXPR_OP_EQ: return expr__bool(a.v == b.v, known);
  case EXPR_OP_NE: return expr__bool(a.v != b.v, known);
  case EXPR_OP_AND: return expr__logic(1, a, b);
  default: return expr__logic(0, a, b);
  }
}

static struct expr_cell expr__extreme(const struct expr_cell *args, int argc, int want_max)
{
  struct expr_cell r = args[0];
  for (int i = 1; i < argc; i++) {
    r.known = r.known && args[i].known;
    if (want_max ? args[i].v > r.v : args[i].v < r.v) r.v = args[i].v;
  }
  return r;
}

enum expr_result expr_eval(const struct expr *x, const double *values, const uint8_t *quality)
{
  struct expr_cell st[EXPR_MAX_STACK];
  int sp = 0;
  for (uint16_t i = 0; i < x->n_ops; i++) {
    const struct expr_op *op = &x->ops[i];
    switch (op->code) {
    case EXPR_OP_NUM: st[sp++] = expr__num(op->num, 1); break;
    case EXPR_OP_VALUE: st[sp++] = expr__num(values[op->point], quality[op->point] == 0); break;
    case EXPR_OP_GOOD: st[sp++] = expr__bool(quality[op->point] == 0, 1); break;
    case EXPR_OP_QUALITY: st[sp++] = expr__num(quality[op->point], 1); break;
    case EXPR_OP_NEG: st[sp - 1].v = -st[sp - 1].v; break;
    case EXPR_OP_NOT: st[sp - 1].v = !(int)st[sp - 1].v; break;
    case EXPR_OP_ABS: st[sp - 1].v = fabs(st[sp - 1].v); break;
    case EXPR_OP_MAX:
    case EXPR_OP_MIN:
      sp -= op->argc;
      st[sp] = expr__extreme(&st[sp], op->argc, op->code == EXPR_OP_MAX);
      sp++;
      break;
    default:
      sp--;
      st[sp - 1] = expr__apply2(op->code, st[sp - 1], st[sp]);
      break;
    }
  }
  return st[0].known ? (st[0].v != 0 ? EXPR_TRUE : EXPR_FALSE) : EXPR_UNKNOWN;
}
