#include "yaml.h"

#include "idmap.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors and the key path ---- */

static int ycheck__vfail_at(struct dg_ycheck *y, int line, int col, const char *fmt, va_list ap)
{
  char msg[512], prefix[sizeof y->path + 2];
  vsnprintf(msg, sizeof msg, fmt, ap);
  snprintf(prefix, sizeof prefix, "%s%s", y->path, y->plen ? ": " : "");
  if (line > 0) {
    dg_yaml_format_error(y->err, y->errlen, y->name, line, col, prefix, msg);
  } else if (y->err && y->errlen) { /* a node of a model edit: the file has no position for it */
    snprintf(y->err, y->errlen, "%s: %s%s", y->name, prefix, msg);
    for (char *p = y->err; *p; p++)
      if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
  }
  return -EINVAL;
}

int dg_yc_fail_at(struct dg_ycheck *y, int line, int col, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = ycheck__vfail_at(y, line, col, fmt, ap);
  va_end(ap);
  return rc;
}

/* Reports an error at node `n` under the current key path. */
int dg_yc_fail(struct dg_ycheck *y, const struct dg_ynode *n, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = ycheck__vfail_at(y, n->line, n->col, fmt, ap);
  va_end(ap);
  return rc;
}

int dg_yc_oom(struct dg_ycheck *y)
{
  if (y->err && y->errlen) snprintf(y->err, y->errlen, "%s: out of memory", y->name);
  return -ENOMEM;
}

/* Appends `len` bytes of `s` to the key path, truncated to fit (these run for every node of a
 * configuration, so without printf). */
static void ycheck__path_append(struct dg_ycheck *y, const char *s, size_t len)
{
  size_t room = sizeof y->path - 1 - y->plen;
  if (len > room) len = room;
  memcpy(y->path + y->plen, s, len);
  y->plen += len;
  y->path[y->plen] = '\0';
}

size_t dg_yc_path_key(struct dg_ycheck *y, const char *key)
{
  size_t old = y->plen;
  if (old) ycheck__path_append(y, ".", 1);
  ycheck__path_append(y, key, strlen(key));
  return old;
}

size_t dg_yc_path_index(struct dg_ycheck *y, size_t i)
{
  char buf[24], *p = buf + sizeof buf;
  size_t old = y->plen;
  *--p = ']';
  do *--p = (char)('0' + i % 10);
  while ((i /= 10));
  *--p = '[';
  ycheck__path_append(y, p, (size_t)(buf + sizeof buf - p));
  return old;
}

void dg_yc_path_restore(struct dg_ycheck *y, size_t old)
{
  y->plen = old;
  y->path[old] = '\0';
}

/* Reports an error at node `n` under the current path extended by `key`. */
int dg_yc_failk(struct dg_ycheck *y, const struct dg_ynode *n, const char *key, const char *fmt, ...)
{
  size_t mark = dg_yc_path_key(y, key);
  va_list ap;
  va_start(ap, fmt);
  int rc = ycheck__vfail_at(y, n->line, n->col, fmt, ap);
  va_end(ap);
  dg_yc_path_restore(y, mark);
  return rc;
}

/* ---- scalars ---- */

bool dg_yc_is_null(const struct dg_ynode *n)
{
  if (n->type != DG_YSCALAR || !n->plain) return false;
  return n->len == 0 || !strcmp(n->text, "~") || !strcmp(n->text, "null") ||
         !strcmp(n->text, "Null") || !strcmp(n->text, "NULL");
}

/* *text is the scalar's text, or NULL for a null scalar. */
int dg_yc_scalar(struct dg_ycheck *y, const struct dg_ynode *n, const char *what, const char **text)
{
  if (n->type != DG_YSCALAR) return dg_yc_fail(y, n, "expected %s", what);
  if (n->has_nul) return dg_yc_fail(y, n, "expected %s without NUL characters", what);
  *text = dg_yc_is_null(n) ? NULL : n->text;
  return 0;
}

int dg_yc_str(struct dg_ycheck *y, const struct dg_ynode *n, bool required, char **dst)
{
  const char *t = NULL;
  int rc = dg_yc_scalar(y, n, "a string", &t);
  if (rc) return rc;
  if (!t || (required && !*t))
    return required ? dg_yc_fail(y, n, "expected a non-empty string") : 0;
  *dst = strdup(t);
  return *dst ? 0 : dg_yc_oom(y);
}

/* A required non-empty string borrowed from the tree. */
int dg_yc_text(struct dg_ycheck *y, const struct dg_ynode *n, const char **text)
{
  int rc = dg_yc_scalar(y, n, "a string", text);
  if (!rc && (!*text || !**text)) rc = dg_yc_fail(y, n, "expected a non-empty string");
  return rc;
}

int dg_yc_bool(struct dg_ycheck *y, const struct dg_ynode *n, bool *dst)
{
  static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False", "FALSE"};
  const char *t = NULL;
  int rc = dg_yc_scalar(y, n, "true or false", &t);
  if (rc) return rc;
  for (size_t i = 0; t && i < DG_YCOUNT(yes); i++) {
    if (!strcmp(t, yes[i])) return *dst = true, 0;
    if (!strcmp(t, no[i])) return *dst = false, 0;
  }
  return dg_yc_fail(y, n, "expected true or false, got '%.64s'", t ? t : "");
}

static bool ycheck__parse_double(const char *t, double *out)
{
  char *end;
  errno = 0;
  double d = strtod(t, &end);
  if (end == t || *end || !isfinite(d)) return false;
  *out = d;
  return true;
}

int dg_yc_double(struct dg_ycheck *y, const struct dg_ynode *n, double lo, double hi, double *dst)
{
  const char *t = NULL;
  double d;
  int rc = dg_yc_scalar(y, n, "a number", &t);
  if (rc) return rc;
  if (!t || !ycheck__parse_double(t, &d))
    return dg_yc_fail(y, n, "expected a number, got '%.64s'", t ? t : "");
  if (d < lo || d > hi) {
    if (hi == DBL_MAX) return dg_yc_fail(y, n, "expected a number >= %g, got '%.64s'", lo, t);
    return dg_yc_fail(y, n, "expected a number from %g to %g, got '%.64s'", lo, hi, t);
  }
  *dst = d;
  return 0;
}

int dg_yc_int(struct dg_ycheck *y, const struct dg_ynode *n, double lo, double hi, long long *dst)
{
  const char *t = NULL;
  double d;
  int rc = dg_yc_scalar(y, n, "a number", &t);
  if (rc) return rc;
  if (!t) return dg_yc_fail(y, n, "expected a number, got ''");
  char *end;
  errno = 0;
  long long v = strtoll(t, &end, 10);
  if (end == t || *end) {
    if (ycheck__parse_double(t, &d)) return dg_yc_fail(y, n, "expected an integer, got '%.64s'", t);
    return dg_yc_fail(y, n, "expected a number, got '%.64s'", t);
  }
  if (errno == ERANGE || (double)v < lo || (double)v > hi)
    return dg_yc_fail(y, n, "expected an integer from %.0f to %.0f, got '%.64s'", lo, hi, t);
  *dst = v;
  return 0;
}

static void ycheck__fmt_ms(char *buf, size_t size, double ms)
{
  static const struct { const char *unit; double ms; } units[] = {
    {"d", 86400000.0}, {"h", 3600000.0}, {"m", 60000.0}, {"s", 1000.0}};
  for (size_t i = 0; i < DG_YCOUNT(units); i++)
    if (ms >= units[i].ms && fmod(ms, units[i].ms) == 0) {
      snprintf(buf, size, "%.0f%s", ms / units[i].ms, units[i].unit);
      return;
    }
  snprintf(buf, size, "%.0fms", ms);
}

/* "500ms", "2s", "1.5m", "24h", "7d"; a bare number is seconds. Returns false on bad syntax
 * or a value that is not a whole number of milliseconds. */
static bool ycheck__parse_duration(const char *s, uint64_t *ms)
{
  static const struct { const char *unit; uint64_t ms; } units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}, {"", 1000}};
  uint64_t whole = 0, frac = 0, scale = 1;
  const char *p = s;
  if (*p < '0' || *p > '9') return false;
  for (; *p >= '0' && *p <= '9'; p++) {
    whole = whole * 10 + (uint64_t)(*p - '0');
    if (whole > 10000000000ull) return false;
  }
  if (*p == '.') {
    if (p[1] < '0' || p[1] > '9') return false;
    for (p++; *p >= '0' && *p <= '9'; p++) {
      if (scale >= 1000000000ull) return false;
      frac = frac * 10 + (uint64_t)(*p - '0');
      scale *= 10;
    }
  }
  for (size_t i = 0; i < DG_YCOUNT(units); i++)
    if (!strcmp(p, units[i].unit)) {
      if ((frac * units[i].ms) % scale) return false;
      *ms = whole * units[i].ms + frac * units[i].ms / scale;
      return true;
    }
  return false;
}

bool dg_parse_duration(const char *s, uint64_t *ms) { return ycheck__parse_duration(s, ms); }

int dg_yc_duration(struct dg_ycheck *y, const struct dg_ynode *n, double lo, double hi, uint64_t *ms)
{
  const char *t = NULL;
  int rc = dg_yc_scalar(y, n, "a duration", &t);
  if (rc) return rc;
  if (!t || !ycheck__parse_duration(t, ms))
    return dg_yc_fail(y, n, "expected a duration like 500ms, 2s, 5m, 24h or 7d, got '%.64s'",
                      t ? t : "");
  if ((double)*ms < lo || (double)*ms > hi) {
    char a[32], b[32];
    ycheck__fmt_ms(a, sizeof a, lo);
    ycheck__fmt_ms(b, sizeof b, hi);
    return dg_yc_fail(y, n, "expected a duration from %s to %s, got '%.64s'", a, b, t);
  }
  return 0;
}

static void ycheck__join(char *buf, size_t size, const char *const *names, size_t n)
{
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n && names[i] && used < size; i++) {
    int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
    if (w < 0) break;
    used += (size_t)w;
  }
}

/* Index of the name matched by scalar `n` in NULL-terminated `names`. */
int dg_yc_choice(struct dg_ycheck *y, const struct dg_ynode *n, const char *const *names, int *idx)
{
  const char *t = NULL;
  int rc = dg_yc_scalar(y, n, "a name", &t);
  if (rc) return rc;
  for (int i = 0; t && names[i]; i++)
    if (!strcmp(t, names[i])) return *idx = i, 0;
  char list[256];
  ycheck__join(list, sizeof list, names, SIZE_MAX);
  return dg_yc_fail(y, n, "expected one of %s, got '%.64s'", list, t ? t : "");
}

/* ---- mappings described by field tables ---- */

static int ycheck__number(struct dg_ycheck *y, const struct dg_ynode *v, const struct dg_yfield *f, char *dst)
{
  long long i;
  int rc = dg_yc_int(y, v, f->lo, f->hi, &i);
  if (rc) return rc;
  switch (f->kind) {
  case DG_YK_INT: *(int *)dst = (int)i; break;
  case DG_YK_U8: *(uint8_t *)dst = (uint8_t)i; break;
  case DG_YK_U16: *(uint16_t *)dst = (uint16_t)i; break;
  default: *(uint32_t *)dst = (uint32_t)i; break;
  }
  return 0;
}

static int ycheck__timespan(struct dg_ycheck *y, const struct dg_ynode *v, const struct dg_yfield *f, char *dst)
{
  uint64_t ms = 0;
  int rc = dg_yc_duration(y, v, f->lo, f->hi, &ms);
  if (rc) return rc;
  if (f->kind == DG_YK_MS) {
    *(uint32_t *)dst = (uint32_t)ms;
    return 0;
  }
  if (ms % 1000) return dg_yc_fail(y, v, "expected a whole number of seconds, got '%.64s'", v->text);
  *(uint32_t *)dst = (uint32_t)(ms / 1000);
  return 0;
}

static int ycheck__value(struct dg_ycheck *y, const struct dg_ynode *v, const struct dg_yfield *f, void *obj)
{
  char *dst = (char *)obj + f->off;
  int idx, rc;
  switch (f->kind) {
  case DG_YK_STR: return dg_yc_str(y, v, f->flags & DG_YF_REQ, (char **)dst);
  case DG_YK_BOOL: return dg_yc_bool(y, v, (bool *)dst);
  case DG_YK_INT:
  case DG_YK_U8:
  case DG_YK_U16:
  case DG_YK_U32: return ycheck__number(y, v, f, dst);
  case DG_YK_DOUBLE: return dg_yc_double(y, v, f->lo, f->hi, (double *)dst);
  case DG_YK_MS:
  case DG_YK_SEC: return ycheck__timespan(y, v, f, dst);
  case DG_YK_ENUM:
    rc = dg_yc_choice(y, v, f->names, &idx);
    if (!rc) *(int *)dst = idx + 1;
    return rc;
  default: return 0;
  }
}

static int ycheck__unknown_key(struct dg_ycheck *y, const struct dg_ynode *key, const struct dg_yfield *f, size_t nf)
{
  const char *names[DG_YMAX_FIELDS + 1];
  for (size_t i = 0; i < nf; i++) names[i] = f[i].key;
  names[nf] = NULL;
  char list[512];
  ycheck__join(list, sizeof list, names, nf);
  return dg_yc_fail(y, key, "unknown key '%.64s' (expected one of: %s)", key->text, list);
}

/* Walks mapping `n`: stores plain fields into `obj` and records every key/value node in `s`
 * for the caller's DG_YK_NODE fields and cross-checks. */
int dg_yc_map(struct dg_ycheck *y, const struct dg_ynode *n, const struct dg_yfield *f, size_t nf,
              void *obj, struct dg_yseen *s)
{
  memset(s, 0, sizeof *s);
  if (n->type != DG_YMAP) return dg_yc_fail(y, n, "expected a mapping");
  for (size_t k = 0; k + 1 < n->n; k += 2) {
    const struct dg_ynode *key = n->kids[k], *val = n->kids[k + 1];
    if (key->type != DG_YSCALAR || key->has_nul) return dg_yc_fail(y, key, "expected a plain key");
    size_t i = 0;
    while (i < nf && (f[i].key[0] != key->text[0] || strcmp(f[i].key, key->text) != 0)) i++;
    if (i == nf) return ycheck__unknown_key(y, key, f, nf);
    if (s->key[i]) return dg_yc_fail(y, key, "duplicate key '%s'", f[i].key);
    s->key[i] = key;
    s->val[i] = val;
    if (f[i].kind == DG_YK_NODE) continue;
    size_t mark = dg_yc_path_key(y, f[i].key);
    int rc = ycheck__value(y, val, &f[i], obj);
    dg_yc_path_restore(y, mark);
    if (rc) return rc;
  }
  for (size_t i = 0; i < nf; i++)
    if ((f[i].flags & DG_YF_REQ) && !s->key[i]) return dg_yc_fail(y, n, "missing required key '%s'", f[i].key);
  return 0;
}
/* Rejects the first present key whose flags intersect `flags`. */
int dg_yc_forbid(struct dg_ycheck *y, const struct dg_yseen *s, const struct dg_yfield *f, size_t nf,
                 unsigned flags, const char *why)
{
  for (size_t i = 0; i < nf; i++)
    if ((f[i].flags & flags) && s->key[i])
      return dg_yc_fail(y, s->key[i], "key '%s' is only valid %s", f[i].key, why);
  return 0;
}


/* Parses a sequence of items into a new array stored at `arrp` (the address of the owning
 * pointer field); *count is set before the items are filled so config_free releases a partly
 * built array. A null value is an empty list. */
int dg_yc_list(struct dg_ycheck *y, const struct dg_ynode *n, size_t elsize, void *arrp, size_t *count,
               dg_yc_item_fn fn)
{
  if (dg_yc_is_null(n)) return 0;
  if (n->type != DG_YSEQ) return dg_yc_fail(y, n, "expected a sequence");
  if (!n->n) return 0;
  char *items = calloc(n->n, elsize);
  if (!items) return dg_yc_oom(y);
  memcpy(arrp, &items, sizeof items);
  *count = n->n;
  for (size_t i = 0; i < n->n; i++) {
    size_t mark = dg_yc_path_index(y, i);
    int rc = fn(y, n->kids[i], items + i * elsize, i);
    dg_yc_path_restore(y, mark);
    if (rc) return rc;
  }
  return 0;
}

/* Runs `fn` on the value of key `key` (if present) with the key in the error path. */
int dg_yc_under(struct dg_ycheck *y, const struct dg_ynode *v, const char *key, void *obj,
                dg_yc_fn fn)
{
  if (!v) return 0;
  size_t mark = dg_yc_path_key(y, key);
  int rc = fn(y, v, obj);
  dg_yc_path_restore(y, mark);
  return rc;
}

int dg_yc_add_id(struct dg_ycheck *y, struct dg_idmap *m, const char *id, void *obj,
                 const struct dg_ynode *at, const char *kind)
{
  void *old;
  int rc = dg_idmap_put(m, id, obj, &old);
  if (rc < 0) return dg_yc_oom(y);
  if (rc == 1) return dg_yc_failk(y, at, "id", "duplicate %s id '%.64s'", kind, id);
  return 0;
}

/* Resolves the id named by scalar `v` (under key `key`) in `m`. */
int dg_yc_ref(struct dg_ycheck *y, const struct dg_ynode *v, const char *key, const struct dg_idmap *m,
              const char *kind, void **obj)
{
  const char *id = NULL;
  size_t mark = dg_yc_path_key(y, key);
  int rc = dg_yc_text(y, v, &id);
  if (!rc && !(*obj = dg_idmap_get(m, id))) rc = dg_yc_fail(y, v, "unknown %s '%.64s'", kind, id);
  dg_yc_path_restore(y, mark);
  return rc;
}


bool dg_yc_has_scheme(const char *uri, const char *const *schemes)
{
  for (; *schemes; schemes++) {
    size_t n = strlen(*schemes);
    if (!strncmp(uri, *schemes, n) && uri[n]) return true;
  }
  return false;
}

int dg_yc_secret(struct dg_ycheck *y, const struct dg_yseen *s, const struct dg_yfield *f, int key, int file_key,
                 char **dst)
{
  const char *path;
  if (!s->key[file_key]) return 0;
  if (s->key[key]) return dg_yc_fail(y, s->key[file_key], "give '%s' or '%s', not both", f[key].key, f[file_key].key);
  size_t mark = dg_yc_path_key(y, f[file_key].key);
  int rc = dg_yc_text(y, s->val[file_key], &path);
  dg_yc_path_restore(y, mark);
  if (!rc && (rc = dg_yaml_read_secret(path, dst)))
    rc = dg_yc_failk(y, s->val[file_key], f[file_key].key, "cannot read the secret in '%.128s': %s", path,
                     rc == -EINVAL ? "expected one non-empty line" : strerror(-rc));
  return rc;
}
int dg_yaml_read_secret(const char *path, char **out)
{
  enum { MAX = 64 << 10 };
  char *buf = NULL;
  size_t n = 0;
  int rc = 0;
  FILE *f = fopen(path, "re");
  if (!f) return -errno;
  if (!(buf = malloc(MAX + 2))) rc = -ENOMEM;
  if (!rc && (n = fread(buf, 1, MAX + 1, f)) == 0 && ferror(f)) rc = -EIO;
  if (!rc && n > MAX) rc = -EFBIG;
  if (!rc) {
    if (n && buf[n - 1] == '\n') n--;
    if (n && buf[n - 1] == '\r') n--;
    buf[n] = '\0';
    if (!n || strlen(buf) != n || strpbrk(buf, "\r\n")) rc = -EINVAL;
  }
  fclose(f);
  if (rc) free(buf);
  else *out = buf;
  return rc;
}
