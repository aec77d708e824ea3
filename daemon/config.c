#include "config.h"

#include "expr.h"
#include "grade.h"
#include "idmap.h"
#include "log.h"
#include "mqtt.h"
#include "workcal.h"
#include "yaml.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CFG_MAX_FILE (64u << 20)
#define CFG_MAX_FIELDS 32
#define CFG_COUNT(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(sizeof(enum dg_priority) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(enum dg_mb_type) == sizeof(int), "enum fields are stored as int");

/* ---- loading context ---- */

struct cfg_ctx {
  const char *name;
  char *err;
  size_t errlen;
  char path[256];
  size_t plen;
  struct dg_config *c;
  struct dg_config_index *ix;
  /* ids of kinds that have no public lookup, checked for duplicates only */
  struct dg_idmap sources, events, brokers, buses, rules, policies;
};

static int cfg__vfail_at(struct cfg_ctx *x, int line, int col, const char *fmt, va_list ap)
{
  char msg[512], prefix[sizeof x->path + 2];
  vsnprintf(msg, sizeof msg, fmt, ap);
  snprintf(prefix, sizeof prefix, "%s%s", x->path, x->plen ? ": " : "");
  if (line > 0) {
    dg_yaml_format_error(x->err, x->errlen, x->name, line, col, prefix, msg);
  } else if (x->err && x->errlen) { /* a node of a model edit: the file has no position for it */
    snprintf(x->err, x->errlen, "%s: %s%s", x->name, prefix, msg);
    for (char *p = x->err; *p; p++)
      if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
  }
  return -EINVAL;
}

__attribute__((format(printf, 4, 5)))
static int cfg__fail_at(struct cfg_ctx *x, int line, int col, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = cfg__vfail_at(x, line, col, fmt, ap);
  va_end(ap);
  return rc;
}

/* Reports an error at node `n` under the current key path. */
__attribute__((format(printf, 3, 4)))
static int cfg__fail(struct cfg_ctx *x, const struct dg_ynode *n, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = cfg__vfail_at(x, n->line, n->col, fmt, ap);
  va_end(ap);
  return rc;
}

static int cfg__oom(struct cfg_ctx *x)
{
  if (x->err && x->errlen) snprintf(x->err, x->errlen, "%s: out of memory", x->name);
  return -ENOMEM;
}

static size_t cfg__path_key(struct cfg_ctx *x, const char *key)
{
  size_t old = x->plen;
  int n = snprintf(x->path + old, sizeof x->path - old, "%s%s", old ? "." : "", key);
  x->plen = n < 0 || (size_t)n >= sizeof x->path - old ? sizeof x->path - 1 : old + (size_t)n;
  return old;
}

static size_t cfg__path_index(struct cfg_ctx *x, size_t i)
{
  size_t old = x->plen;
  int n = snprintf(x->path + old, sizeof x->path - old, "[%zu]", i);
  x->plen = n < 0 || (size_t)n >= sizeof x->path - old ? sizeof x->path - 1 : old + (size_t)n;
  return old;
}

static void cfg__path_restore(struct cfg_ctx *x, size_t old)
{
  x->plen = old;
  x->path[old] = '\0';
}

/* Reports an error at node `n` under the current path extended by `key`. */
__attribute__((format(printf, 4, 5)))
static int cfg__failk(struct cfg_ctx *x, const struct dg_ynode *n, const char *key, const char *fmt, ...)
{
  size_t mark = cfg__path_key(x, key);
  va_list ap;
  va_start(ap, fmt);
  int rc = cfg__vfail_at(x, n->line, n->col, fmt, ap);
  va_end(ap);
  cfg__path_restore(x, mark);
  return rc;
}

/* ---- scalars ---- */

static bool cfg__is_null(const struct dg_ynode *n)
{
  if (n->type != DG_YSCALAR || !n->plain) return false;
  return n->len == 0 || !strcmp(n->text, "~") || !strcmp(n->text, "null") ||
         !strcmp(n->text, "Null") || !strcmp(n->text, "NULL");
}

/* *text is the scalar's text, or NULL for a null scalar. */
static int cfg__scalar(struct cfg_ctx *x, const struct dg_ynode *n, const char *what, const char **text)
{
  if (n->type != DG_YSCALAR) return cfg__fail(x, n, "expected %s", what);
  if (n->has_nul) return cfg__fail(x, n, "expected %s without NUL characters", what);
  *text = cfg__is_null(n) ? NULL : n->text;
  return 0;
}

static int cfg__str(struct cfg_ctx *x, const struct dg_ynode *n, bool required, char **dst)
{
  const char *t = NULL;
  int rc = cfg__scalar(x, n, "a string", &t);
  if (rc) return rc;
  if (!t || (required && !*t))
    return required ? cfg__fail(x, n, "expected a non-empty string") : 0;
  *dst = strdup(t);
  return *dst ? 0 : cfg__oom(x);
}

/* A required non-empty string borrowed from the tree. */
static int cfg__text(struct cfg_ctx *x, const struct dg_ynode *n, const char **text)
{
  int rc = cfg__scalar(x, n, "a string", text);
  if (!rc && (!*text || !**text)) rc = cfg__fail(x, n, "expected a non-empty string");
  return rc;
}

static int cfg__bool(struct cfg_ctx *x, const struct dg_ynode *n, bool *dst)
{
  static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False", "FALSE"};
  const char *t = NULL;
  int rc = cfg__scalar(x, n, "true or false", &t);
  if (rc) return rc;
  for (size_t i = 0; t && i < CFG_COUNT(yes); i++) {
    if (!strcmp(t, yes[i])) return *dst = true, 0;
    if (!strcmp(t, no[i])) return *dst = false, 0;
  }
  return cfg__fail(x, n, "expected true or false, got '%.64s'", t ? t : "");
}

static bool cfg__parse_double(const char *t, double *out)
{
  char *end;
  errno = 0;
  double d = strtod(t, &end);
  if (end == t || *end || !isfinite(d)) return false;
  *out = d;
  return true;
}

static int cfg__double(struct cfg_ctx *x, const struct dg_ynode *n, double lo, double hi, double *dst)
{
  const char *t = NULL;
  double d;
  int rc = cfg__scalar(x, n, "a number", &t);
  if (rc) return rc;
  if (!t || !cfg__parse_double(t, &d))
    return cfg__fail(x, n, "expected a number, got '%.64s'", t ? t : "");
  if (d < lo || d > hi) {
    if (hi == DBL_MAX) return cfg__fail(x, n, "expected a number >= %g, got '%.64s'", lo, t);
    return cfg__fail(x, n, "expected a number from %g to %g, got '%.64s'", lo, hi, t);
  }
  *dst = d;
  return 0;
}

static int cfg__int(struct cfg_ctx *x, const struct dg_ynode *n, double lo, double hi, long long *dst)
{
  const char *t = NULL;
  double d;
  int rc = cfg__scalar(x, n, "a number", &t);
  if (rc) return rc;
  if (!t) return cfg__fail(x, n, "expected a number, got ''");
  char *end;
  errno = 0;
  long long v = strtoll(t, &end, 10);
  if (end == t || *end) {
    if (cfg__parse_double(t, &d)) return cfg__fail(x, n, "expected an integer, got '%.64s'", t);
    return cfg__fail(x, n, "expected a number, got '%.64s'", t);
  }
  if (errno == ERANGE || (double)v < lo || (double)v > hi)
    return cfg__fail(x, n, "expected an integer from %.0f to %.0f, got '%.64s'", lo, hi, t);
  *dst = v;
  return 0;
}

static void cfg__fmt_ms(char *buf, size_t size, double ms)
{
  static const struct { const char *unit; double ms; } units[] = {
    {"d", 86400000.0}, {"h", 3600000.0}, {"m", 60000.0}, {"s", 1000.0}};
  for (size_t i = 0; i < CFG_COUNT(units); i++)
    if (ms >= units[i].ms && fmod(ms, units[i].ms) == 0) {
      snprintf(buf, size, "%.0f%s", ms / units[i].ms, units[i].unit);
      return;
    }
  snprintf(buf, size, "%.0fms", ms);
}

/* "500ms", "2s", "1.5m", "24h", "7d"; a bare number is seconds. Returns false on bad syntax
 * or a value that is not a whole number of milliseconds. */
static bool cfg__parse_duration(const char *s, uint64_t *ms)
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
  for (size_t i = 0; i < CFG_COUNT(units); i++)
    if (!strcmp(p, units[i].unit)) {
      if ((frac * units[i].ms) % scale) return false;
      *ms = whole * units[i].ms + frac * units[i].ms / scale;
      return true;
    }
  return false;
}

bool config_parse_duration(const char *s, uint64_t *ms) { return cfg__parse_duration(s, ms); }

static int cfg__duration(struct cfg_ctx *x, const struct dg_ynode *n, double lo, double hi, uint64_t *ms)
{
  const char *t = NULL;
  int rc = cfg__scalar(x, n, "a duration", &t);
  if (rc) return rc;
  if (!t || !cfg__parse_duration(t, ms))
    return cfg__fail(x, n, "expected a duration like 500ms, 2s, 5m, 24h or 7d, got '%.64s'",
                     t ? t : "");
  if ((double)*ms < lo || (double)*ms > hi) {
    char a[32], b[32];
    cfg__fmt_ms(a, sizeof a, lo);
    cfg__fmt_ms(b, sizeof b, hi);
    return cfg__fail(x, n, "expected a duration from %s to %s, got '%.64s'", a, b, t);
  }
  return 0;
}

static void cfg__join(char *buf, size_t size, const char *const *names, size_t n)
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
static int cfg__choice(struct cfg_ctx *x, const struct dg_ynode *n, const char *const *names, int *idx)
{
  const char *t = NULL;
  int rc = cfg__scalar(x, n, "a name", &t);
  if (rc) return rc;
  for (int i = 0; t && names[i]; i++)
    if (!strcmp(t, names[i])) return *idx = i, 0;
  char list[256];
  cfg__join(list, sizeof list, names, SIZE_MAX);
  return cfg__fail(x, n, "expected one of %s, got '%.64s'", list, t ? t : "");
}

/* ---- mappings described by field tables ---- */

enum cfg_kind { K_NODE, K_STR, K_BOOL, K_INT, K_U8, K_U16, K_U32, K_DOUBLE, K_MS, K_SEC, K_ENUM };

enum {
  F_REQ = 1,
  F_MQTT = 2,    /* point keys of MQTT bindings */
  F_MODBUS = 4,  /* point keys of Modbus bindings */
  F_NET = 8,     /* bus keys of TCP transports */
  F_SERIAL = 16, /* bus keys of the RTU transport */
};

struct cfg_field {
  const char *key;
  enum cfg_kind kind;
  unsigned flags;
  size_t off;
  double lo, hi;
  const char *const *names; /* K_ENUM: value stored is index + 1 */
};

#define FNODE(k, fl) {k, K_NODE, fl, 0, 0, 0, NULL}
#define FSTR(k, T, m, fl) {k, K_STR, fl, offsetof(T, m), 0, 0, NULL}
#define FNUM(k, kind, T, m, fl, lo, hi) {k, kind, fl, offsetof(T, m), lo, hi, NULL}
#define FBOOL(k, T, m) {k, K_BOOL, 0, offsetof(T, m), 0, 0, NULL}
#define FENUM(k, T, m, fl, names) {k, K_ENUM, fl, offsetof(T, m), 0, 0, names}

#define MS_DAY 86400000.0

struct cfg_seen {
  const struct dg_ynode *key[CFG_MAX_FIELDS];
  const struct dg_ynode *val[CFG_MAX_FIELDS];
};

static const char *const cfg__transports[] = {"tcp", "rtu", "rtu_over_tcp", NULL};
static const char *const cfg__rule_types[] = {"high", "low", "stale", "quality", "rate", "expr",
                                               "deviation", "vote", "aggregate", "state", NULL};
static const char *const cfg__rate_directions[] = {"rising", "falling", NULL};
static const char *const cfg__channel_types[] = {"webhook", NULL};
static const char *const cfg__priorities[] = {"low", "medium", "high", "critical", NULL};
static const char *const cfg__mb_types[] = {"bool", "int16", "uint16", "int32", "uint32",
                                            "float32", "int64", "uint64", "float64", NULL};
static const char *const cfg__orders[] = {"ABCD", "DCBA", "BADC", "CDAB", NULL};
static const char *const cfg__parities[] = {"N", "E", "O", NULL};

static int cfg__number(struct cfg_ctx *x, const struct dg_ynode *v, const struct cfg_field *f, char *dst)
{
  long long i;
  int rc = cfg__int(x, v, f->lo, f->hi, &i);
  if (rc) return rc;
  switch (f->kind) {
  case K_INT: *(int *)dst = (int)i; break;
  case K_U8: *(uint8_t *)dst = (uint8_t)i; break;
  case K_U16: *(uint16_t *)dst = (uint16_t)i; break;
  default: *(uint32_t *)dst = (uint32_t)i; break;
  }
  return 0;
}

static int cfg__timespan(struct cfg_ctx *x, const struct dg_ynode *v, const struct cfg_field *f, char *dst)
{
  uint64_t ms = 0;
  int rc = cfg__duration(x, v, f->lo, f->hi, &ms);
  if (rc) return rc;
  if (f->kind == K_MS) {
    *(uint32_t *)dst = (uint32_t)ms;
    return 0;
  }
  if (ms % 1000) return cfg__fail(x, v, "expected a whole number of seconds, got '%.64s'", v->text);
  *(uint32_t *)dst = (uint32_t)(ms / 1000);
  return 0;
}

static int cfg__value(struct cfg_ctx *x, const struct dg_ynode *v, const struct cfg_field *f, void *obj)
{
  char *dst = (char *)obj + f->off;
  int idx, rc;
  switch (f->kind) {
  case K_STR: return cfg__str(x, v, f->flags & F_REQ, (char **)dst);
  case K_BOOL: return cfg__bool(x, v, (bool *)dst);
  case K_INT:
  case K_U8:
  case K_U16:
  case K_U32: return cfg__number(x, v, f, dst);
  case K_DOUBLE: return cfg__double(x, v, f->lo, f->hi, (double *)dst);
  case K_MS:
  case K_SEC: return cfg__timespan(x, v, f, dst);
  case K_ENUM:
    rc = cfg__choice(x, v, f->names, &idx);
    if (!rc) *(int *)dst = idx + 1;
    return rc;
  default: return 0;
  }
}

static int cfg__unknown_key(struct cfg_ctx *x, const struct dg_ynode *key, const struct cfg_field *f, size_t nf)
{
  const char *names[CFG_MAX_FIELDS + 1];
  for (size_t i = 0; i < nf; i++) names[i] = f[i].key;
  names[nf] = NULL;
  char list[512];
  cfg__join(list, sizeof list, names, nf);
  return cfg__fail(x, key, "unknown key '%.64s' (expected one of: %s)", key->text, list);
}

/* Walks mapping `n`: stores plain fields into `obj` and records every key/value node in `s`
 * for the caller's K_NODE fields and cross-checks. */
static int cfg__map(struct cfg_ctx *x, const struct dg_ynode *n, const struct cfg_field *f, size_t nf,
                    void *obj, struct cfg_seen *s)
{
  memset(s, 0, sizeof *s);
  if (n->type != DG_YMAP) return cfg__fail(x, n, "expected a mapping");
  for (size_t k = 0; k + 1 < n->n; k += 2) {
    const struct dg_ynode *key = n->kids[k], *val = n->kids[k + 1];
    if (key->type != DG_YSCALAR || key->has_nul) return cfg__fail(x, key, "expected a plain key");
    size_t i = 0;
    while (i < nf && strcmp(f[i].key, key->text) != 0) i++;
    if (i == nf) return cfg__unknown_key(x, key, f, nf);
    if (s->key[i]) return cfg__fail(x, key, "duplicate key '%s'", f[i].key);
    s->key[i] = key;
    s->val[i] = val;
    if (f[i].kind == K_NODE) continue;
    size_t mark = cfg__path_key(x, f[i].key);
    int rc = cfg__value(x, val, &f[i], obj);
    cfg__path_restore(x, mark);
    if (rc) return rc;
  }
  for (size_t i = 0; i < nf; i++)
    if ((f[i].flags & F_REQ) && !s->key[i]) return cfg__fail(x, n, "missing required key '%s'", f[i].key);
  return 0;
}

#define CFG_MAP(x, n, table, obj, s)                                                               \
  cfg__map(x, n, table, CFG_COUNT(table) + 0 * sizeof(char[CFG_COUNT(table) <= CFG_MAX_FIELDS ? 1 : -1]), \
           obj, s)

/* Rejects the first present key whose flags intersect `flags`. */
static int cfg__forbid(struct cfg_ctx *x, const struct cfg_seen *s, const struct cfg_field *f, size_t nf,
                       unsigned flags, const char *why)
{
  for (size_t i = 0; i < nf; i++)
    if ((f[i].flags & flags) && s->key[i])
      return cfg__fail(x, s->key[i], "key '%s' is only valid %s", f[i].key, why);
  return 0;
}

typedef int (*cfg_item_fn)(struct cfg_ctx *x, const struct dg_ynode *n, void *item, size_t i);

/* Parses a sequence of items into a new array stored at `arrp` (the address of the owning
 * pointer field); *count is set before the items are filled so config_free releases a partly
 * built array. A null value is an empty list. */
static int cfg__list(struct cfg_ctx *x, const struct dg_ynode *n, size_t elsize, void *arrp, size_t *count,
                     cfg_item_fn fn)
{
  if (cfg__is_null(n)) return 0;
  if (n->type != DG_YSEQ) return cfg__fail(x, n, "expected a sequence");
  if (!n->n) return 0;
  char *items = calloc(n->n, elsize);
  if (!items) return cfg__oom(x);
  memcpy(arrp, &items, sizeof items);
  *count = n->n;
  for (size_t i = 0; i < n->n; i++) {
    size_t mark = cfg__path_index(x, i);
    int rc = fn(x, n->kids[i], items + i * elsize, i);
    cfg__path_restore(x, mark);
    if (rc) return rc;
  }
  return 0;
}

/* Runs `fn` on the value of key `key` (if present) with the key in the error path. */
static int cfg__under(struct cfg_ctx *x, const struct dg_ynode *v, const char *key, void *obj,
                      int (*fn)(struct cfg_ctx *, const struct dg_ynode *, void *))
{
  if (!v) return 0;
  size_t mark = cfg__path_key(x, key);
  int rc = fn(x, v, obj);
  cfg__path_restore(x, mark);
  return rc;
}

static int cfg__add_id(struct cfg_ctx *x, struct dg_idmap *m, const char *id, void *obj,
                       const struct dg_ynode *at, const char *kind)
{
  void *old;
  int rc = dg_idmap_put(m, id, obj, &old);
  if (rc < 0) return cfg__oom(x);
  if (rc == 1) return cfg__failk(x, at, "id", "duplicate %s id '%.64s'", kind, id);
  return 0;
}

/* Resolves the id named by scalar `v` (under key `key`) in `m`. */
static int cfg__ref(struct cfg_ctx *x, const struct dg_ynode *v, const char *key, const struct dg_idmap *m,
                    const char *kind, void **obj)
{
  const char *id = NULL;
  size_t mark = cfg__path_key(x, key);
  int rc = cfg__text(x, v, &id);
  if (!rc && !(*obj = dg_idmap_get(m, id))) rc = cfg__fail(x, v, "unknown %s '%.64s'", kind, id);
  cfg__path_restore(x, mark);
  return rc;
}

/* `<key>_file` in place of `<key>`: the secret is read from that file at load (files under
 * /etc/dualguard/secrets/, readable by the daemon's group only), so the YAML holds none. */
static int cfg__secret(struct cfg_ctx *x, const struct cfg_seen *s, const struct cfg_field *f, int key,
                       int file_key, char **dst)
{
  const char *path;
  if (!s->key[file_key]) return 0;
  if (s->key[key]) return cfg__fail(x, s->key[file_key], "give '%s' or '%s', not both", f[key].key, f[file_key].key);
  size_t mark = cfg__path_key(x, f[file_key].key);
  int rc = cfg__text(x, s->val[file_key], &path);
  cfg__path_restore(x, mark);
  if (!rc && (rc = dg_yaml_read_secret(path, dst)))
    rc = cfg__failk(x, s->val[file_key], f[file_key].key, "cannot read the secret in '%.128s': %s", path,
                    rc == -EINVAL ? "expected one non-empty line" : strerror(-rc));
  return rc;
}

/* ---- site, daemon ---- */

enum { SITE_CODE, SITE_NAME };
static const struct cfg_field cfg__site_fields[] = {
  [SITE_CODE] = FSTR("code", struct dg_config, site_code, F_REQ),
  [SITE_NAME] = FSTR("name", struct dg_config, site_name, 0),
};

static int cfg__site(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct cfg_seen s;
  return CFG_MAP(x, n, cfg__site_fields, obj, &s);
}

enum { HTTP_LISTEN, HTTP_PORT };
static const struct cfg_field cfg__http_fields[] = {
  [HTTP_LISTEN] = FSTR("listen", struct dg_config, http_listen, 0),
  [HTTP_PORT] = FNUM("port", K_U16, struct dg_config, http_port, 0, 0, 65535),
};

static int cfg__http(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct cfg_seen s;
  return CFG_MAP(x, n, cfg__http_fields, obj, &s);
}

enum { DMN_HTTP, DMN_DB, DMN_FLUSH, DMN_DEADLINE };
static const struct cfg_field cfg__daemon_fields[] = {
  [DMN_HTTP] = FNODE("http", 0),
  [DMN_DB] = FSTR("db", struct dg_config, db_path, 0),
  [DMN_FLUSH] = FNUM("history_flush", K_MS, struct dg_config, history_flush_ms, 0, 1, 3600000),
  [DMN_DEADLINE] = FNUM("hazard_deadline_days", K_U32, struct dg_config, hazard_deadline_days, 0, 1, 3650),
};

static int cfg__daemon(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct cfg_seen s;
  int rc = CFG_MAP(x, n, cfg__daemon_fields, obj, &s);
  if (!rc) rc = cfg__under(x, s.val[DMN_HTTP], "http", obj, cfg__http);
  return rc;
}

/* ---- persons ---- */

enum { PER_ID, PER_NAME, PER_PHONE, PER_EMAIL, PER_ROLES };
static const struct cfg_field cfg__person_fields[] = {
  [PER_ID] = FSTR("id", struct dg_person, id, F_REQ),
  [PER_NAME] = FSTR("name", struct dg_person, name, 0),
  [PER_PHONE] = FSTR("phone", struct dg_person, phone, 0),
  [PER_EMAIL] = FSTR("email", struct dg_person, email, 0),
  [PER_ROLES] = FNODE("roles", 0),
};

static int cfg__role(struct cfg_ctx *x, const struct dg_ynode *n, void *item, size_t i)
{
  return cfg__str(x, n, true, item);
}

static int cfg__person(struct cfg_ctx *x, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_person *p = item;
  struct cfg_seen s;
  int rc = CFG_MAP(x, n, cfg__person_fields, p, &s);
  if (!rc) rc = cfg__add_id(x, &x->ix->persons, p->id, p, s.val[PER_ID], "person");
  if (!rc && s.val[PER_ROLES]) {
    size_t mark = cfg__path_key(x, "roles");
    rc = cfg__list(x, s.val[PER_ROLES], sizeof(char *), &p->roles, &p->n_roles, cfg__role);
    cfg__path_restore(x, mark);
  }
  return rc;
}

/* ---- hazard sources, units, events, measures ---- */

/* ---- responsible { dept, person } of a unit or a measure ---- */

enum { RESP_DEPT, RESP_PERSON };
static const struct cfg_field cfg__resp_fields[] = {
  [RESP_DEPT] = FSTR("dept", struct dg_unit, dept, 0),
  [RESP_PERSON] = FSTR("person", struct dg_unit, person, 0),
};
static const struct cfg_field cfg__measure_resp_fields[] = {
  [RESP_DEPT] = FSTR("dept", struct dg_measure, resp_dept, 0),
  [RESP_PERSON] = FSTR("person", struct dg_measure, resp_person, 0),
};

/* `fields` store dept and person into obj; *person must then name a configured person. */
static int cfg__resp_map(struct cfg_ctx *x, const struct dg_ynode *n, void *obj, const struct cfg_field *fields,
                         char *const *person)
{
  struct cfg_seen s;
  int rc = cfg__map(x, n, fields, 2, obj, &s);
  if (!rc && *person && !dg_idmap_get(&x->ix->persons, *person))
    rc = cfg__failk(x, s.val[RESP_PERSON], "person", "unknown person '%.64s'", *person);
  return rc;
}

static int cfg__responsible(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  return cfg__resp_map(x, n, obj, cfg__resp_fields, &((struct dg_unit *)obj)->person);
}

static int cfg__measure_responsible(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  return cfg__resp_map(x, n, obj, cfg__measure_resp_fields, &((struct dg_measure *)obj)->resp_person);
}

/* ---- measures ---- */

enum { MEA_ID, MEA_DESC, MEA_CLASSIFY, MEA_SRC, MEA_LEVEL, MEA_RESP, MEA_TROUBLE, MEA_CYCLE, MEA_WORKDAYS };
static const struct cfg_field cfg__measure_fields[] = {
  [MEA_ID] = FSTR("id", struct dg_measure, id, F_REQ),
  [MEA_DESC] = FSTR("desc", struct dg_measure, desc, 0),
  [MEA_CLASSIFY] = FNODE("classify", 0),
  [MEA_SRC] = FNUM("data_src", K_INT, struct dg_measure, data_src, F_REQ, 1, 2),
  [MEA_LEVEL] = FNODE("control_level", 0),
  [MEA_RESP] = FNODE("responsible", 0),
  [MEA_TROUBLE] = FSTR("troubleshoot", struct dg_measure, troubleshoot, 0),
  [MEA_CYCLE] = FNODE("check_cycle", 0),
  [MEA_WORKDAYS] = FBOOL("work_days", struct dg_measure, work_days),
};

enum { CYC_N, CYC_UNIT };
static const struct cfg_field cfg__cycle_fields[] = {
  [CYC_N] = FNUM("n", K_INT, struct dg_measure, cycle_n, F_REQ, 1, 1000),
  [CYC_UNIT] = FNODE("unit", F_REQ),
};

/* check_cycle: { n: 2, unit: 天 }; the unit in Chinese or English (enum inspect_unit order). */
static int cfg__cycle(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  static const char *const units[] = {"小时", "天", "月", "年", "hour", "day", "month", "year", NULL};
  struct dg_measure *m = obj;
  struct cfg_seen s;
  int idx = 0;
  int rc = CFG_MAP(x, n, cfg__cycle_fields, m, &s);
  if (rc) return rc;
  size_t mark = cfg__path_key(x, "unit");
  rc = cfg__choice(x, s.val[CYC_UNIT], units, &idx);
  cfg__path_restore(x, mark);
  m->cycle_unit = idx % 4 + 1;
  return rc;
}

/* "1" → classify1 only; "1-4" → classify1 1, classify2 "1-4". */
static int cfg__classify(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct dg_measure *m = obj;
  const char *t = NULL;
  int rc = cfg__scalar(x, n, "a classification like \"1-4\"", &t);
  if (rc) return rc;
  bool ok = t && t[0] >= '1' && t[0] <= '4';
  if (ok && t[1] == '-') {
    const char *sub = t + 2;
    ok = sub[0] >= '1' && sub[0] <= '9' && (!sub[1] || (sub[1] >= '0' && sub[1] <= '9' && !sub[2]));
  } else if (ok) {
    ok = t[1] == '\0';
  }
  if (!ok)
    return cfg__fail(x, n, "expected a classification like \"1-4\" (classify1 1..4, '-', sub-class), got '%.64s'",
                     t ? t : "");
  m->classify1 = t[0] - '0';
  if (t[1] && !(m->classify2 = strdup(t))) return cfg__oom(x);
  return 0;
}

/* 管控层级: one of the five control levels. */
static int cfg__control_level(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  static const char *const levels[] = {"公司", "部门", "车间", "班组", "岗位", NULL};
  int idx;
  int rc = cfg__choice(x, n, levels, &idx);
  if (!rc && !(((struct dg_measure *)obj)->control_level = strdup(levels[idx]))) rc = cfg__oom(x);
  return rc;
}

static int cfg__measure(struct cfg_ctx *x, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_measure *m = item;
  struct cfg_seen s;
  int rc = CFG_MAP(x, n, cfg__measure_fields, m, &s);
  if (!rc) rc = cfg__add_id(x, &x->ix->measures, m->id, m, s.val[MEA_ID], "measure");
  if (!rc) rc = cfg__under(x, s.val[MEA_CLASSIFY], "classify", m, cfg__classify);
  if (!rc) rc = cfg__under(x, s.val[MEA_CYCLE], "check_cycle", m, cfg__cycle);
  if (!rc) rc = cfg__under(x, s.val[MEA_LEVEL], "control_level", m, cfg__control_level);
  if (!rc) rc = cfg__under(x, s.val[MEA_RESP], "responsible", m, cfg__measure_responsible);
  return rc;
}

struct cfg_ls {
  int l, s;
};

enum { LEC_L, LEC_E, LEC_C };
static const struct cfg_field cfg__lec_fields[] = {
  [LEC_L] = FNUM("l", K_DOUBLE, struct dg_event, l, F_REQ, -DBL_MAX, DBL_MAX),
  [LEC_E] = FNUM("e", K_DOUBLE, struct dg_event, e, F_REQ, -DBL_MAX, DBL_MAX),
  [LEC_C] = FNUM("c", K_DOUBLE, struct dg_event, c, F_REQ, -DBL_MAX, DBL_MAX),
};

enum { LS_L, LS_S };
static const struct cfg_field cfg__ls_fields[] = {
  [LS_L] = FNUM("l", K_INT, struct cfg_ls, l, F_REQ, 1, 5),
  [LS_S] = FNUM("s", K_INT, struct cfg_ls, s, F_REQ, 1, 5),
};

static int cfg__factor(struct cfg_ctx *x, const struct dg_ynode *v, const char *key, double f,
                       const double *table, size_t n, const char *list)
{
  for (size_t i = 0; i < n; i++)
    if (f == table[i]) return 0;
  return cfg__failk(x, v, key, "%g is not in the LEC table (expected one of %s)", f, list);
}

static int cfg__lec(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  static const double tl[] = {10, 6, 3, 1, 0.5, 0.2, 0.1}, te[] = {10, 6, 3, 2, 1, 0.5},
                      tc[] = {100, 40, 15, 7, 3, 1};
  struct dg_event *e = obj;
  struct cfg_seen s;
  int rc = CFG_MAP(x, n, cfg__lec_fields, e, &s);
  if (!rc) rc = cfg__factor(x, s.val[LEC_L], "l", e->l, tl, CFG_COUNT(tl), "10, 6, 3, 1, 0.5, 0.2, 0.1");
  if (!rc) rc = cfg__factor(x, s.val[LEC_E], "e", e->e, te, CFG_COUNT(te), "10, 6, 3, 2, 1, 0.5");
  if (!rc) rc = cfg__factor(x, s.val[LEC_C], "c", e->c, tc, CFG_COUNT(tc), "100, 40, 15, 7, 3, 1");
  if (rc) return rc;
  e->method = DG_ASSESS_LEC;
  e->score = e->l * e->e * e->c;
  e->level = dg_level_from_lec(e->score, &x->c->lec_bands);
  return 0;
}

static int cfg__ls(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct dg_event *e = obj;
  struct cfg_ls ls;
  struct cfg_seen s;
  int rc = CFG_MAP(x, n, cfg__ls_fields, &ls, &s);
  if (rc) return rc;
  e->method = DG_ASSESS_LS;
  e->l = ls.l;
  e->s = ls.s;
  e->score = e->l * e->s;
  e->level = dg_level_from_ls(e->score, &x->c->ls_bands);
  return 0;
}

enum { EV_ID, EV_NAME, EV_ACCIDENT, EV_LEC, EV_LS, EV_MEASURES };
static const struct cfg_field cfg__event_fields[] = {
  [EV_ID] = FSTR("id", struct dg_event, id, F_REQ),
  [EV_NAME] = FSTR("name", struct dg_event, name, 0),
  [EV_ACCIDENT] = FSTR("accident_type", struct dg_event, accident_type, 0),
  [EV_LEC] = FNODE("lec", 0),
  [EV_LS] = FNODE("ls", 0),
  [EV_MEASURES] = FNODE("measures", 0),
};

static int cfg__event(struct cfg_ctx *x, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_event *e = item;
  struct cfg_seen s;
  int rc = CFG_MAP(x, n, cfg__event_fields, e, &s);
  if (!rc) rc = cfg__add_id(x, &x->events, e->id, e, s.val[EV_ID], "event");
  if (rc) return rc;
  if (s.key[EV_LEC] && s.key[EV_LS])
    return cfg__fail(x, s.key[EV_LS], "both 'lec' and 'ls' given; assess the event with one method");
  if (!s.key[EV_LEC] && !s.key[EV_LS])
    return cfg__fail(x, n, "missing risk assessment: give 'lec' {l, e, c} or 'ls' {l, s}");
  rc = s.val[EV_LEC] ? cfg__under(x, s.val[EV_LEC], "lec", e, cfg__lec)
                     : cfg__under(x, s.val[EV_LS], "ls", e, cfg__ls);
  if (!rc && s.val[EV_MEASURES]) {
    size_t mark = cfg__path_key(x, "measures");
    rc = cfg__list(x, s.val[EV_MEASURES], sizeof *e->measures, &e->measures, &e->n_measures,
                   cfg__measure);
    cfg__path_restore(x, mark);
  }
  for (size_t k = 0; k < e->n_measures; k++) e->measures[k].event = e;
  return rc;
}

enum { HP_LEVEL, HP_DEADLINE };
static const struct cfg_field cfg__hazard_policy_fields[] = {
  [HP_LEVEL] = FNUM("level", K_INT, struct dg_unit, hazard_level, 0, 0, 1),
  [HP_DEADLINE] = FNUM("deadline_days", K_U32, struct dg_unit, hazard_deadline_days, 0, 1, 3650),
};

static int cfg__hazard_policy(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct cfg_seen s;
  return CFG_MAP(x, n, cfg__hazard_policy_fields, obj, &s);
}

enum { UNIT_ID, UNIT_NAME, UNIT_RESP, UNIT_POLICY, UNIT_EVENTS };
static const struct cfg_field cfg__unit_fields[] = {
  [UNIT_ID] = FSTR("id", struct dg_unit, id, F_REQ),
  [UNIT_NAME] = FSTR("name", struct dg_unit, name, 0),
  [UNIT_RESP] = FNODE("responsible", 0),
  [UNIT_POLICY] = FNODE("hazard_policy", 0),
  [UNIT_EVENTS] = FNODE("events", 0),
};

static int cfg__unit(struct cfg_ctx *x, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_unit *u = item;
  struct cfg_seen s;
  u->hazard_level = -1;
  int rc = CFG_MAP(x, n, cfg__unit_fields, u, &s);
  if (!rc) rc = cfg__add_id(x, &x->ix->units, u->id, u, s.val[UNIT_ID], "unit");
  if (!rc) rc = cfg__under(x, s.val[UNIT_RESP], "responsible", u, cfg__responsible);
  if (!rc) rc = cfg__under(x, s.val[UNIT_POLICY], "hazard_policy", u, cfg__hazard_policy);
  if (!rc && s.val[UNIT_EVENTS]) {
    size_t mark = cfg__path_key(x, "events");
    rc = cfg__list(x, s.val[UNIT_EVENTS], sizeof *u->events, &u->events, &u->n_events, cfg__event);
    cfg__path_restore(x, mark);
  }
  u->level = DG_LEVEL_NONE;
  for (size_t k = 0; k < u->n_events; k++) {
    u->events[k].unit = u;
    if (u->events[k].level > u->level) u->level = u->events[k].level;
  }
  return rc;
}

/* ---- major hazard grading (grade.h) ---- */

enum { SUB_NAME, SUB_CATEGORY, SUB_QUANTITY, SUB_CRITICAL, SUB_BETA };
static const struct cfg_field cfg__substance_fields[] = {
  [SUB_NAME] = FSTR("name", struct dg_substance, name, F_REQ),
  [SUB_CATEGORY] = FSTR("category", struct dg_substance, category, 0),
  [SUB_QUANTITY] = FNUM("quantity", K_DOUBLE, struct dg_substance, quantity, F_REQ, 0, 1e9),
  [SUB_CRITICAL] = FNUM("critical", K_DOUBLE, struct dg_substance, critical, F_REQ, 1e-6, 1e9),
  [SUB_BETA] = FNUM("beta", K_DOUBLE, struct dg_substance, beta, 0, 0.1, 100),
};

static int cfg__substance(struct cfg_ctx *x, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_substance *sub = item;
  struct cfg_seen s;
  int rc = CFG_MAP(x, n, cfg__substance_fields, sub, &s);
  if (rc) return rc;
  if (sub->category && !grade_beta_by_category(sub->category))
    return cfg__failk(x, s.val[SUB_CATEGORY], "category",
                      "unknown hazard category '%.32s' (expected J1..J5, W1.1..W1.3, W2..W4, W5.1..W5.4, "
                      "W6.1, W6.2, W7.1, W7.2, W8, W9.1, W9.2, W10, W11)", sub->category);
  struct grade_substance g = {.name = sub->name, .category = sub->category, .beta = sub->beta};
  if (!(sub->beta = grade_beta(&g)))
    return cfg__fail(x, n, "no correction factor for '%.64s': it is not a toxic gas of GB 18218 table 3; "
                     "give 'category' (J1..J5, W1.1..W11) or 'beta'", sub->name);
  return 0;
}

struct cfg_major {
  int persons;
  double alpha;
};

enum { MH_PERSONS, MH_ALPHA, MH_SUBSTANCES };
static const struct cfg_field cfg__major_fields[] = {
  [MH_PERSONS] = FNUM("exposed_persons", K_INT, struct cfg_major, persons, 0, 0, 10000000),
  [MH_ALPHA] = FNUM("alpha", K_DOUBLE, struct cfg_major, alpha, 0, 0.5, 2),
  [MH_SUBSTANCES] = FNODE("substances", F_REQ),
};

/* major_hazard: { exposed_persons | alpha, substances: [...] } → S, R, is_major, grade. */
static int cfg__major_hazard(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct dg_hazard_source *hs = obj;
  struct cfg_major mh = {0};
  struct cfg_seen s;
  int rc = CFG_MAP(x, n, cfg__major_fields, &mh, &s);
  if (rc) return rc;
  if (!s.key[MH_PERSONS] == !s.key[MH_ALPHA])
    return cfg__fail(x, n, "give one of 'exposed_persons' (people outside the plant within 500 m) or 'alpha'");
  size_t mark = cfg__path_key(x, "substances");
  rc = cfg__list(x, s.val[MH_SUBSTANCES], sizeof *hs->substances, &hs->substances, &hs->n_substances,
                 cfg__substance);
  cfg__path_restore(x, mark);
  if (rc) return rc;
  if (!hs->n_substances) return cfg__failk(x, s.val[MH_SUBSTANCES], "substances", "expected at least one substance");
  hs->exposed_persons = s.key[MH_PERSONS] ? mh.persons : -1;
  hs->alpha = s.key[MH_PERSONS] ? grade_alpha(mh.persons) : mh.alpha;
  struct grade_substance *g = calloc(hs->n_substances, sizeof *g);
  if (!g) return cfg__oom(x);
  for (size_t k = 0; k < hs->n_substances; k++)
    g[k] = (struct grade_substance){.name = hs->substances[k].name, .quantity = hs->substances[k].quantity,
                                    .critical = hs->substances[k].critical, .beta = hs->substances[k].beta};
  struct grade_result r;
  rc = grade_compute(g, hs->n_substances, hs->alpha, &r);
  free(g);
  if (rc) return cfg__fail(x, n, "cannot grade the substances (every one needs a correction factor and a critical quantity > 0)");
  hs->graded = true;
  hs->major_s = r.s;
  hs->major_r = r.r;
  hs->is_major = r.is_major;
  hs->major_grade = r.grade;
  return 0;
}

enum { SRC_ID, SRC_NAME, SRC_TYPE, SRC_MAJOR, SRC_GRADE, SRC_MAJOR_HAZARD, SRC_UNITS };
static const struct cfg_field cfg__source_fields[] = {
  [SRC_ID] = FSTR("id", struct dg_hazard_source, id, F_REQ),
  [SRC_NAME] = FSTR("name", struct dg_hazard_source, name, 0),
  [SRC_TYPE] = FSTR("type", struct dg_hazard_source, type, 0),
  [SRC_MAJOR] = FBOOL("major", struct dg_hazard_source, is_major),
  [SRC_GRADE] = FNUM("major_grade", K_INT, struct dg_hazard_source, major_grade, 0, 1, 4),
  [SRC_MAJOR_HAZARD] = FNODE("major_hazard", 0),
  [SRC_UNITS] = FNODE("units", 0),
};

static int cfg__source(struct cfg_ctx *x, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_hazard_source *hs = item;
  struct cfg_seen s;
  int rc = CFG_MAP(x, n, cfg__source_fields, hs, &s);
  if (!rc) rc = cfg__add_id(x, &x->sources, hs->id, hs, s.val[SRC_ID], "hazard source");
  if (rc) return rc;
  if (s.key[SRC_MAJOR_HAZARD] && (s.key[SRC_MAJOR] || s.key[SRC_GRADE]))
    return cfg__fail(x, s.key[s.key[SRC_MAJOR] ? SRC_MAJOR : SRC_GRADE],
                     "'major_hazard' computes the grade: give either it or 'major'/'major_grade'");
  if (s.key[SRC_MAJOR_HAZARD]) rc = cfg__under(x, s.val[SRC_MAJOR_HAZARD], "major_hazard", hs, cfg__major_hazard);
  if (rc) return rc;
  if (!hs->graded && hs->is_major && !hs->major_grade)
    return cfg__fail(x, n, "missing required key 'major_grade' (grade 1..4 of a major hazard source)");
  if (!hs->graded && !hs->is_major && hs->major_grade)
    return cfg__fail(x, s.key[SRC_GRADE], "key 'major_grade' needs 'major: true'");
  if (s.val[SRC_UNITS]) {
    size_t mark = cfg__path_key(x, "units");
    rc = cfg__list(x, s.val[SRC_UNITS], sizeof *hs->units, &hs->units, &hs->n_units, cfg__unit);
    cfg__path_restore(x, mark);
  }
  for (size_t k = 0; k < hs->n_units; k++) hs->units[k].source = hs;
  return rc;
}

/* ---- drivers ---- */

enum { MQ_ID, MQ_URI, MQ_CLIENT, MQ_USER, MQ_PASS, MQ_PASS_FILE, MQ_QOS, MQ_KEEPALIVE, MQ_CLEAN, MQ_CA, MQ_CERT, MQ_KEY, MQ_INSECURE, MQ_SKEW, MQ_WILDCARDS };
static const struct cfg_field cfg__mqtt_fields[] = {
  [MQ_ID] = FSTR("id", struct dg_mqtt_broker, id, F_REQ),
  [MQ_URI] = FSTR("uri", struct dg_mqtt_broker, uri, F_REQ),
  [MQ_CLIENT] = FSTR("client_id", struct dg_mqtt_broker, client_id, 0),
  [MQ_USER] = FSTR("username", struct dg_mqtt_broker, username, 0),
  [MQ_PASS] = FSTR("password", struct dg_mqtt_broker, password, 0),
  [MQ_PASS_FILE] = FNODE("password_file", 0),
  [MQ_QOS] = FNUM("qos", K_INT, struct dg_mqtt_broker, qos, 0, 0, 2),
  [MQ_KEEPALIVE] = FNUM("keepalive", K_SEC, struct dg_mqtt_broker, keepalive_s, 0, 0, 65535000),
  [MQ_CLEAN] = FBOOL("clean_session", struct dg_mqtt_broker, clean_session),
  [MQ_CA] = FSTR("ca_file", struct dg_mqtt_broker, ca_file, 0),
  [MQ_CERT] = FSTR("cert_file", struct dg_mqtt_broker, cert_file, 0),
  [MQ_KEY] = FSTR("key_file", struct dg_mqtt_broker, key_file, 0),
  [MQ_INSECURE] = FBOOL("insecure", struct dg_mqtt_broker, insecure),
  [MQ_SKEW] = FNUM("max_clock_skew", K_MS, struct dg_mqtt_broker, max_clock_skew_ms, 0, 1, MS_DAY),
  [MQ_WILDCARDS] = FNODE("wildcard_topics", 0),
};

static int cfg__mqtt_wildcards(struct cfg_ctx *x, struct dg_mqtt_broker *b, const struct cfg_seen *s);

static bool cfg__has_scheme(const char *uri, const char *const *schemes)
{
  for (; *schemes; schemes++) {
    size_t n = strlen(*schemes);
    if (!strncmp(uri, *schemes, n) && uri[n]) return true;
  }
  return false;
}

/* TLS keys need a TLS URI, a client certificate needs its key, and the files must be readable
 * now: a typo would otherwise only show as a broker that never connects. */
static int cfg__mqtt_tls(struct cfg_ctx *x, const struct dg_ynode *n, struct dg_mqtt_broker *b,
                         const struct cfg_seen *s)
{
  static const char *const tls_schemes[] = {"ssl://", "mqtts://", "wss://", NULL};
  static const int keys[] = {MQ_CA, MQ_CERT, MQ_KEY, MQ_INSECURE};
  char *const files[] = {b->ca_file, b->cert_file, b->key_file};
  bool tls = cfg__has_scheme(b->uri, tls_schemes);
  for (int k = 0; k < 4; k++) {
    if (!s->key[keys[k]]) continue;
    if (!tls)
      return cfg__fail(x, s->key[keys[k]], "key '%s' needs a TLS uri (ssl://, mqtts:// or wss://)",
                       cfg__mqtt_fields[keys[k]].key);
    if (k < 3 && access(files[k], R_OK) != 0)
      return cfg__failk(x, s->val[keys[k]], cfg__mqtt_fields[keys[k]].key, "cannot read '%.128s': %s", files[k],
                        strerror(errno));
  }
  if (!b->cert_file != !b->key_file)
    return cfg__fail(x, n, "cert_file and key_file go together (the client certificate and its key)");
  return 0;
}

static int cfg__mqtt(struct cfg_ctx *x, const struct dg_ynode *n, void *item, size_t i)
{
  static const char *const schemes[] = {"tcp://", "ssl://", "mqtt://", "mqtts://", "ws://", "wss://", NULL};
  struct dg_mqtt_broker *b = item;
  struct cfg_seen s;
  b->qos = 1;
  b->keepalive_s = 30;
  b->clean_session = true;
  b->max_clock_skew_ms = 300000;
  int rc = CFG_MAP(x, n, cfg__mqtt_fields, b, &s);
  if (!rc) rc = cfg__add_id(x, &x->brokers, b->id, b, s.val[MQ_ID], "MQTT broker");
  if (!rc) rc = cfg__secret(x, &s, cfg__mqtt_fields, MQ_PASS, MQ_PASS_FILE, &b->password);
  if (rc) return rc;
  if (!cfg__has_scheme(b->uri, schemes))
    return cfg__failk(x, s.val[MQ_URI], "uri", "expected a URI like tcp://host:1883 or ssl://host:8883, got '%.64s'",
                      b->uri);
  if (!b->client_id && asprintf(&b->client_id, "dualguardd-%s", b->id) < 0) {
    b->client_id = NULL;
    return cfg__oom(x);
  }
  rc = cfg__mqtt_tls(x, n, b, &s);
  return rc ? rc : cfg__mqtt_wildcards(x, b, &s);
}

enum {
  MB_ID, MB_TRANSPORT, MB_HOST, MB_PORT, MB_DEVICE, MB_BAUD, MB_PARITY, MB_DATA_BITS, MB_STOP_BITS,
  MB_RS485, MB_RESPONSE, MB_BYTE, MB_POLL, MB_PAUSE, MB_GAP, MB_FAILS, MB_RECONNECT
};
static const struct cfg_field cfg__modbus_fields[] = {
  [MB_ID] = FSTR("id", struct dg_modbus_bus, id, F_REQ),
  [MB_TRANSPORT] = FENUM("transport", struct dg_modbus_bus, transport, F_REQ, cfg__transports),
  [MB_HOST] = FSTR("host", struct dg_modbus_bus, host, F_NET),
  [MB_PORT] = FNUM("port", K_U16, struct dg_modbus_bus, port, F_NET, 1, 65535),
  [MB_DEVICE] = FSTR("device", struct dg_modbus_bus, device, F_SERIAL),
  [MB_BAUD] = FNUM("baud", K_U32, struct dg_modbus_bus, baud, F_SERIAL, 50, 4000000),
  [MB_PARITY] = FNODE("parity", F_SERIAL),
  [MB_DATA_BITS] = FNUM("data_bits", K_U8, struct dg_modbus_bus, data_bits, F_SERIAL, 5, 8),
  [MB_STOP_BITS] = FNUM("stop_bits", K_U8, struct dg_modbus_bus, stop_bits, F_SERIAL, 1, 2),
  [MB_RS485] = {"rs485", K_BOOL, F_SERIAL, offsetof(struct dg_modbus_bus, rs485), 0, 0, NULL},
  [MB_RESPONSE] = FNUM("response_timeout", K_MS, struct dg_modbus_bus, response_timeout_ms, 0, 1, 600000),
  [MB_BYTE] = FNUM("byte_timeout", K_MS, struct dg_modbus_bus, byte_timeout_ms, 0, 0, 600000),
  [MB_POLL] = FNUM("poll_interval", K_MS, struct dg_modbus_bus, poll_interval_ms, 0, 1, MS_DAY),
  [MB_PAUSE] = FNUM("request_pause", K_MS, struct dg_modbus_bus, request_pause_ms, 0, 0, 60000),
  [MB_GAP] = FNUM("max_gap", K_U16, struct dg_modbus_bus, max_gap, 0, 0, 125),
  [MB_FAILS] = FNUM("fail_threshold", K_U32, struct dg_modbus_bus, fail_threshold, 0, 1, 1000000),
  [MB_RECONNECT] = FNUM("reconnect_max", K_MS, struct dg_modbus_bus, reconnect_max_ms, 0, 1, MS_DAY),
};

static void cfg__modbus_defaults(struct dg_modbus_bus *b)
{
  b->port = 502;
  b->baud = 9600;
  b->parity = 'N';
  b->data_bits = 8;
  b->stop_bits = 1;
  b->response_timeout_ms = 1000;
  b->byte_timeout_ms = 500;
  b->poll_interval_ms = 1000;
  b->max_gap = 8;
  b->fail_threshold = 3;
  b->reconnect_max_ms = 30000;
}

static int cfg__modbus_transport(struct cfg_ctx *x, const struct dg_ynode *n, struct dg_modbus_bus *b,
                                 const struct cfg_seen *s)
{
  const size_t nf = CFG_COUNT(cfg__modbus_fields);
  if (b->transport == DG_MB_RTU) {
    int rc = cfg__forbid(x, s, cfg__modbus_fields, nf, F_NET, "for transport tcp or rtu_over_tcp");
    if (!rc && !b->device) rc = cfg__fail(x, n, "missing required key 'device' (transport rtu)");
    return rc;
  }
  int rc = cfg__forbid(x, s, cfg__modbus_fields, nf, F_SERIAL, "for transport rtu");
  if (!rc && !b->host) rc = cfg__fail(x, n, "missing required key 'host' (transport %s)",
                                      cfg__transports[b->transport - 1]);
  return rc;
}

static int cfg__modbus(struct cfg_ctx *x, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_modbus_bus *b = item;
  struct cfg_seen s;
  int parity;
  cfg__modbus_defaults(b);
  int rc = CFG_MAP(x, n, cfg__modbus_fields, b, &s);
  if (!rc) rc = cfg__add_id(x, &x->buses, b->id, b, s.val[MB_ID], "Modbus bus");
  if (!rc) rc = cfg__modbus_transport(x, n, b, &s);
  if (!rc && s.val[MB_PARITY]) {
    size_t mark = cfg__path_key(x, "parity");
    rc = cfg__choice(x, s.val[MB_PARITY], cfg__parities, &parity);
    cfg__path_restore(x, mark);
    if (!rc) b->parity = cfg__parities[parity][0];
  }
  return rc;
}

/* ---- points ---- */

enum {
  PT_ID, PT_NAME, PT_ENG_UNIT, PT_UNIT, PT_DRIVER, PT_SCALE, PT_OFFSET, PT_DEADBAND,
  PT_TOPIC, PT_PATH, PT_TS_PATH,
  PT_SLAVE, PT_COIL, PT_DISCRETE, PT_INPUT, PT_HOLDING, PT_TYPE, PT_ORDER, PT_BIT, PT_POLL, PT_STATES
};
static const struct cfg_field cfg__point_fields[] = {
  [PT_ID] = FSTR("id", struct dg_point, id, F_REQ),
  [PT_NAME] = FSTR("name", struct dg_point, name, 0),
  [PT_ENG_UNIT] = FSTR("eng_unit", struct dg_point, eng_unit, 0),
  [PT_UNIT] = FSTR("unit_id", struct dg_point, unit_id, 0),
  [PT_DRIVER] = FNODE("driver", F_REQ),
  [PT_SCALE] = FNUM("scale", K_DOUBLE, struct dg_point, scale, 0, -DBL_MAX, DBL_MAX),
  [PT_OFFSET] = FNUM("offset", K_DOUBLE, struct dg_point, offset, 0, -DBL_MAX, DBL_MAX),
  [PT_DEADBAND] = FNUM("deadband", K_DOUBLE, struct dg_point, deadband, 0, 0, DBL_MAX),
  [PT_TOPIC] = FSTR("topic", struct dg_point, mqtt.topic, F_MQTT),
  [PT_PATH] = FSTR("path", struct dg_point, mqtt.path, F_MQTT),
  [PT_TS_PATH] = FSTR("ts_path", struct dg_point, mqtt.ts_path, F_MQTT),
  [PT_SLAVE] = FNUM("slave", K_INT, struct dg_point, modbus.slave, F_MODBUS, 0, 247),
  [PT_COIL] = FNODE("coil", F_MODBUS),
  [PT_DISCRETE] = FNODE("discrete", F_MODBUS),
  [PT_INPUT] = FNODE("input", F_MODBUS),
  [PT_HOLDING] = FNODE("holding", F_MODBUS),
  [PT_TYPE] = FENUM("type", struct dg_point, modbus.type, F_MODBUS, cfg__mb_types),
  [PT_ORDER] = FNODE("order", F_MODBUS),
  [PT_BIT] = FNUM("bit", K_INT, struct dg_point, modbus.bit, F_MODBUS, 0, 15),
  [PT_POLL] = FNUM("poll", K_MS, struct dg_point, modbus.poll_ms, F_MODBUS, 1, MS_DAY),
  [PT_STATES] = FNODE("states", F_MQTT),
};

static int cfg__driver(struct cfg_ctx *x, const struct dg_ynode *v, struct dg_point *p)
{
  const char *t, *dot;
  void *obj;
  int rc = cfg__text(x, v, &t);
  if (rc) return rc;
  if (!strncmp(t, "mqtt.", 5)) p->driver_kind = DG_DRIVER_MQTT;
  else if (!strncmp(t, "modbus.", 7)) p->driver_kind = DG_DRIVER_MODBUS;
  dot = strchr(t, '.');
  if (!p->driver_kind || !dot[1])
    return cfg__fail(x, v, "expected 'mqtt.<broker id>' or 'modbus.<bus id>', got '%.64s'", t);
  if (!(p->driver_id = strdup(dot + 1))) return cfg__oom(x);
  if (p->driver_kind == DG_DRIVER_MQTT) {
    if (!(obj = dg_idmap_get(&x->brokers, p->driver_id)))
      return cfg__fail(x, v, "unknown MQTT broker '%.64s' (no mqtt entry has that id)", p->driver_id);
    p->driver_index = (size_t)((struct dg_mqtt_broker *)obj - x->c->mqtt_brokers);
  } else {
    if (!(obj = dg_idmap_get(&x->buses, p->driver_id)))
      return cfg__fail(x, v, "unknown Modbus bus '%.64s' (no modbus entry has that id)", p->driver_id);
    p->driver_index = (size_t)((struct dg_modbus_bus *)obj - x->c->modbus_buses);
  }
  return 0;
}

static int cfg__mqtt_paths(struct cfg_ctx *x, const struct dg_point *p, const struct cfg_seen *s)
{
  if (p->mqtt.path && mqtt_path_check(p->mqtt.path))
    return cfg__failk(x, s->val[PT_PATH], "path",
                      "expected a field path like value, data.ch4, values.0 or [id=GT101].value, got '%.64s'",
                      p->mqtt.path);
  if (p->mqtt.ts_path && mqtt_path_check(p->mqtt.ts_path))
    return cfg__failk(x, s->val[PT_TS_PATH], "ts_path",
                      "expected a field path like ts, meta.ts or [id=GT101].ts, got '%.64s'", p->mqtt.ts_path);
  return 0;
}

static int cfg__mqtt_states(struct cfg_ctx *x, struct dg_point *p, const struct cfg_seen *s);

static int cfg__mqtt_binding(struct cfg_ctx *x, const struct dg_ynode *n, struct dg_point *p,
                             const struct cfg_seen *s)
{
  int rc = cfg__forbid(x, s, cfg__point_fields, CFG_COUNT(cfg__point_fields), F_MODBUS, "for modbus points");
  if (!rc) rc = cfg__mqtt_states(x, p, s);
  if (rc) return rc;
  if (!p->mqtt.topic && !s->val[PT_TOPIC] && x->c->mqtt_brokers[p->driver_index].n_wildcards)
    return cfg__mqtt_paths(x, p, s); /* fed only through the broker's wildcard_topics */
  if (!p->mqtt.topic || !*p->mqtt.topic) {
    if (s->val[PT_TOPIC]) return cfg__failk(x, s->val[PT_TOPIC], "topic", "expected a non-empty string");
    return cfg__fail(x, n, "missing required key 'topic' (MQTT points)");
  }
  if (strpbrk(p->mqtt.topic, "+#"))
    return cfg__failk(x, s->val[PT_TOPIC], "topic", "expected an exact topic without wildcards, got '%.64s'",
                      p->mqtt.topic);
  return cfg__mqtt_paths(x, p, s);
}

static unsigned cfg__mb_words(enum dg_mb_type t)
{
  switch (t) {
  case DG_MB_INT32:
  case DG_MB_UINT32:
  case DG_MB_FLOAT32: return 2;
  case DG_MB_INT64:
  case DG_MB_UINT64:
  case DG_MB_FLOAT64: return 4;
  default: return 1;
  }
}

/* Picks the one register space given and its address. */
static int cfg__mb_space(struct cfg_ctx *x, const struct dg_ynode *n, struct dg_point *p, const struct cfg_seen *s)
{
  static const int keys[] = {PT_COIL, PT_DISCRETE, PT_INPUT, PT_HOLDING};
  static const enum dg_mb_space spaces[] = {DG_MB_COIL, DG_MB_DISCRETE, DG_MB_INPUT, DG_MB_HOLDING};
  int chosen = -1;
  for (int k = 0; k < 4; k++) {
    if (!s->key[keys[k]]) continue;
    if (chosen >= 0) {
      const struct dg_ynode *a = s->key[keys[chosen]], *b = s->key[keys[k]];
      bool b_later = b->line > a->line || (b->line == a->line && b->col > a->col);
      return cfg__fail(x, b_later ? b : a, "both '%s' and '%s' given; a point reads one of coil, discrete, input, holding",
                       (b_later ? a : b)->text, (b_later ? b : a)->text);
    }
    chosen = k;
  }
  if (chosen < 0) return cfg__fail(x, n, "missing register address: one of coil, discrete, input, holding");
  long long addr;
  const char *key = cfg__point_fields[keys[chosen]].key;
  size_t mark = cfg__path_key(x, key);
  int rc = cfg__int(x, s->val[keys[chosen]], 0, 65535, &addr);
  cfg__path_restore(x, mark);
  p->modbus.space = spaces[chosen];
  p->modbus.address = (uint16_t)addr;
  return rc;
}

static int cfg__mb_type(struct cfg_ctx *x, struct dg_point *p, const struct cfg_seen *s)
{
  struct dg_modbus_binding *mb = &p->modbus;
  bool is_bit_space = mb->space == DG_MB_COIL || mb->space == DG_MB_DISCRETE;
  if (!mb->type) mb->type = is_bit_space ? DG_MB_BOOL : DG_MB_UINT16;
  if (is_bit_space) {
    if (mb->type != DG_MB_BOOL)
      return cfg__failk(x, s->val[PT_TYPE], "type", "coils and discrete inputs are bool");
    if (s->key[PT_BIT]) return cfg__fail(x, s->key[PT_BIT], "key 'bit' is only valid for input or holding registers");
    if (s->key[PT_ORDER]) return cfg__fail(x, s->key[PT_ORDER], "key 'order' is only valid for input or holding registers");
    return 0;
  }
  if (mb->type == DG_MB_BOOL)
    return cfg__failk(x, s->val[PT_TYPE], "type",
                      "type bool needs a coil or discrete input; use 'bit' to read one bit of a register");
  if (s->key[PT_BIT] && mb->type != DG_MB_INT16 && mb->type != DG_MB_UINT16)
    return cfg__fail(x, s->key[PT_BIT], "key 'bit' needs a 16-bit type (int16 or uint16)");
  if ((unsigned)mb->address + cfg__mb_words(mb->type) - 1 > 65535) {
    const struct dg_ynode *at = s->val[PT_COIL + (int)mb->space - 1];
    return cfg__failk(x, at, cfg__point_fields[PT_COIL + (int)mb->space - 1].key,
                      "a %s at address %u runs past register 65535", cfg__mb_types[mb->type - 1], mb->address);
  }
  return 0;
}

static int cfg__modbus_binding(struct cfg_ctx *x, const struct dg_ynode *n, struct dg_point *p,
                               const struct cfg_seen *s)
{
  int rc = cfg__forbid(x, s, cfg__point_fields, CFG_COUNT(cfg__point_fields), F_MQTT, "for mqtt points");
  if (!rc) rc = cfg__mb_space(x, n, p, s);
  if (!rc) rc = cfg__mb_type(x, p, s);
  if (!rc && s->val[PT_ORDER]) {
    int order;
    size_t mark = cfg__path_key(x, "order");
    rc = cfg__choice(x, s->val[PT_ORDER], cfg__orders, &order);
    cfg__path_restore(x, mark);
    if (!rc) memcpy(p->modbus.order, cfg__orders[order], 5);
  }
  return rc;
}

static int cfg__point(struct cfg_ctx *x, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_point *p = item;
  struct cfg_seen s;
  p->index = i;
  p->scale = 1;
  p->modbus.slave = 1;
  p->modbus.bit = -1;
  memcpy(p->modbus.order, "ABCD", 5);
  int rc = CFG_MAP(x, n, cfg__point_fields, p, &s);
  if (!rc) rc = cfg__add_id(x, &x->ix->points, p->id, p, s.val[PT_ID], "point");
  if (!rc) {
    size_t mark = cfg__path_key(x, "driver");
    rc = cfg__driver(x, s.val[PT_DRIVER], p);
    cfg__path_restore(x, mark);
  }
  if (!rc && p->unit_id && !dg_idmap_get(&x->ix->units, p->unit_id))
    rc = cfg__failk(x, s.val[PT_UNIT], "unit_id", "unknown unit '%.64s'", p->unit_id);
  if (rc) return rc;
  if (p->driver_kind == DG_DRIVER_MQTT) return cfg__mqtt_binding(x, n, p, &s);
  return cfg__modbus_binding(x, n, p, &s);
}

/* ---- rules ---- */

enum { ST_NAME, ST_LIMIT, ST_PRIORITY, ST_DEADBAND, ST_ON, ST_OFF };
static const struct cfg_field cfg__stage_fields[] = {
  [ST_NAME] = FSTR("name", struct dg_stage, name, F_REQ),
  [ST_LIMIT] = FNUM("limit", K_DOUBLE, struct dg_stage, limit, F_REQ, -DBL_MAX, DBL_MAX),
  [ST_PRIORITY] = FENUM("priority", struct dg_stage, priority, F_REQ, cfg__priorities),
  [ST_DEADBAND] = FNUM("deadband", K_DOUBLE, struct dg_stage, deadband, 0, 0, DBL_MAX),
  [ST_ON] = FNUM("on_delay", K_MS, struct dg_stage, on_delay_ms, 0, 0, MS_DAY),
  [ST_OFF] = FNUM("off_delay", K_MS, struct dg_stage, off_delay_ms, 0, 0, MS_DAY),
};

static int cfg__stage(struct cfg_ctx *x, const struct dg_ynode *n, struct dg_rule *r, size_t i)
{
  struct dg_stage *st = &r->stages[i];
  struct cfg_seen s;
  int rc = CFG_MAP(x, n, cfg__stage_fields, st, &s);
  st->own_deadband = s.val[ST_DEADBAND] != NULL;
  st->own_on_delay = s.val[ST_ON] != NULL;
  st->own_off_delay = s.val[ST_OFF] != NULL;
  if (rc || i == 0) return rc;
  double prev = r->stages[i - 1].limit;
  if ((r->type == DG_RULE_HIGH || r->type == DG_RULE_RATE) && !(st->limit > prev))
    return cfg__failk(x, s.val[ST_LIMIT], "limit",
                      "limits of a %s rule must ascend strictly (%g after %g)", cfg__rule_types[r->type - 1],
                      st->limit, prev);
  if (r->type == DG_RULE_LOW && !(st->limit < prev))
    return cfg__failk(x, s.val[ST_LIMIT], "limit",
                      "limits of a low rule must descend strictly (%g after %g)", st->limit, prev);
  return 0;
}

static int cfg__stages(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct dg_rule *r = obj;
  if (n->type != DG_YSEQ) return cfg__fail(x, n, "expected a sequence of 1 to %d stages", DG_MAX_STAGES);
  if (n->n < 1 || n->n > DG_MAX_STAGES)
    return cfg__fail(x, n, "expected 1 to %d stages, got %zu", DG_MAX_STAGES, n->n);
  for (size_t i = 0; i < n->n; i++) {
    size_t mark = cfg__path_index(x, i);
    int rc = cfg__stage(x, n->kids[i], r, i);
    r->n_stages = i + 1;
    cfg__path_restore(x, mark);
    if (rc) return rc;
  }
  return 0;
}

enum { RU_ID, RU_NAME, RU_TYPE, RU_POINT, RU_MEASURE, RU_STAGES, RU_DEADBAND, RU_ON, RU_OFF, RU_LEVEL, RU_DEADLINE,
       RU_LATCHED, RU_TIMEOUT, RU_PRIORITY, RU_RATE, RU_DIRECTION, RU_EXPR, RU_POINTS, RU_LIMIT, RU_K,
       RU_LIMITS, RU_RULES, RU_COUNTS, RU_PRIORITIES, RU_SUPPRESS, RU_VALUE, RU_CHANGE };
static const struct cfg_field cfg__rule_fields[] = {
  [RU_ID] = FSTR("id", struct dg_rule, id, F_REQ),
  [RU_NAME] = FSTR("name", struct dg_rule, name, 0),
  [RU_TYPE] = FENUM("type", struct dg_rule, type, F_REQ, cfg__rule_types),
  [RU_POINT] = FNODE("point", 0),
  [RU_MEASURE] = FNODE("measure", 0),
  [RU_STAGES] = FNODE("stages", 0),
  [RU_DEADBAND] = FNUM("deadband", K_DOUBLE, struct dg_rule, deadband, 0, 0, DBL_MAX),
  [RU_ON] = FNUM("on_delay", K_MS, struct dg_rule, on_delay_ms, 0, 0, MS_DAY),
  [RU_OFF] = FNUM("off_delay", K_MS, struct dg_rule, off_delay_ms, 0, 0, MS_DAY),
  [RU_LEVEL] = FNUM("hazard_level", K_INT, struct dg_rule, hazard_level, 0, 0, 1),
  [RU_DEADLINE] = FNUM("hazard_deadline_days", K_U32, struct dg_rule, hazard_deadline_days, 0, 0, 3650),
  [RU_LATCHED] = FBOOL("latched", struct dg_rule, latched),
  [RU_TIMEOUT] = FNUM("timeout", K_MS, struct dg_rule, timeout_ms, 0, 100, MS_DAY),
  [RU_PRIORITY] = FENUM("priority", struct dg_rule, priority, 0, cfg__priorities),
  [RU_RATE] = FNODE("rate", 0),
  [RU_DIRECTION] = FENUM("direction", struct dg_rule, rate_direction, 0, cfg__rate_directions),
  [RU_EXPR] = FSTR("expr", struct dg_rule, expr_text, 0),
  [RU_POINTS] = FNODE("points", 0),
  [RU_LIMIT] = FNUM("limit", K_DOUBLE, struct dg_rule, limit, 0, -DBL_MAX, DBL_MAX),
  [RU_K] = FNUM("k", K_U32, struct dg_rule, vote_k, 0, 1, DG_MAX_VOTE_INPUTS),
  [RU_LIMITS] = FNODE("limits", 0),
  [RU_RULES] = FNODE("rules", 0),
  [RU_COUNTS] = FNODE("counts", 0),
  [RU_PRIORITIES] = FNODE("priorities", 0),
  [RU_SUPPRESS] = FNODE("suppress_when", 0),
  [RU_VALUE] = FNUM("value", K_DOUBLE, struct dg_rule, state_value, 0, -DBL_MAX, DBL_MAX),
  [RU_CHANGE] = FBOOL("change", struct dg_rule, state_change),
};

struct cfg_suppress {
  double below, above;
};

enum { SUP_POINT, SUP_BELOW, SUP_ABOVE };
static const struct cfg_field cfg__suppress_fields[] = {
  [SUP_POINT] = FNODE("point", F_REQ),
  [SUP_BELOW] = FNUM("below", K_DOUBLE, struct cfg_suppress, below, 0, -DBL_MAX, DBL_MAX),
  [SUP_ABOVE] = FNUM("above", K_DOUBLE, struct cfg_suppress, above, 0, -DBL_MAX, DBL_MAX),
};

/* suppress_when: { point: P, below: x } or { point: P, above: x }. */
static int cfg__suppress(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct dg_rule *r = obj;
  struct cfg_suppress sup = {0};
  struct cfg_seen s;
  void *p;
  int rc = CFG_MAP(x, n, cfg__suppress_fields, &sup, &s);
  if (rc) return rc;
  if (s.val[SUP_BELOW] && s.val[SUP_ABOVE])
    return cfg__failk(x, s.val[SUP_ABOVE], "above", "suppress_when takes one of 'below' and 'above', not both");
  if (!s.val[SUP_BELOW] && !s.val[SUP_ABOVE]) return cfg__fail(x, n, "suppress_when needs 'below' or 'above'");
  rc = cfg__ref(x, s.val[SUP_POINT], "point", &x->ix->points, "point", &p);
  if (rc) return rc;
  r->suppress_point = p;
  r->suppress_below = s.val[SUP_BELOW] != NULL;
  r->suppress_limit = r->suppress_below ? sup.below : sup.above;
  return 0;
}

enum { AGC_YELLOW, AGC_ORANGE, AGC_RED };
static const struct cfg_field cfg__agg_count_fields[] = {
  [AGC_YELLOW] = FNUM("yellow_from_blue", K_U32, struct dg_rule, agg_counts[0], 0, 1, DG_MAX_AGG_INPUTS),
  [AGC_ORANGE] = FNUM("orange_from_yellow", K_U32, struct dg_rule, agg_counts[1], 0, 1, DG_MAX_AGG_INPUTS),
  [AGC_RED] = FNUM("red_from_orange", K_U32, struct dg_rule, agg_counts[2], 0, 1, DG_MAX_AGG_INPUTS),
};

enum { RATE_PER, RATE_WINDOW };
static const struct cfg_field cfg__rate_fields[] = {
  [RATE_PER] = FNUM("per", K_MS, struct dg_rule, rate_per_ms, F_REQ, 1, MS_DAY * 366),
  [RATE_WINDOW] = FNUM("window", K_MS, struct dg_rule, rate_window_ms, F_REQ, 100, MS_DAY * 31),
};

static int cfg__rate(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct cfg_seen s;
  return CFG_MAP(x, n, cfg__rate_fields, obj, &s);
}

/* rate rules: limit stages over the change per `per` within `window`. */
static int cfg__rate_rule(struct cfg_ctx *x, const struct dg_ynode *n, struct dg_rule *r, const struct cfg_seen *s)
{
  if (!s->val[RU_RATE]) return cfg__fail(x, n, "a rate rule needs 'rate: { per, window }'");
  if (!r->rate_direction) r->rate_direction = DG_RATE_RISING;
  return cfg__under(x, s->val[RU_RATE], "rate", r, cfg__rate);
}

/* stale and quality rules: one implicit stage named after the type, no limits. */
static int cfg__fault_rule(struct cfg_ctx *x, const struct dg_ynode *n, struct dg_rule *r, const struct cfg_seen *s)
{
  const char *type = cfg__rule_types[r->type - 1];
  if (s->val[RU_STAGES]) return cfg__failk(x, s->val[RU_STAGES], "stages", "a %s rule has no stages", type);
  if (!s->val[RU_PRIORITY]) return cfg__fail(x, n, "rules of type %s need 'priority'", type);
  if (r->type == DG_RULE_STALE && !s->val[RU_TIMEOUT]) return cfg__fail(x, n, "a stale rule needs 'timeout'");
  if (r->type != DG_RULE_STALE && s->val[RU_TIMEOUT])
    return cfg__failk(x, s->val[RU_TIMEOUT], "timeout", "only stale rules have a timeout");
  r->stages[0] = (struct dg_stage){.name = strdup(type), .limit = 0, .priority = r->priority};
  r->n_stages = 1;
  return r->stages[0].name ? 0 : cfg__oom(x);
}

/* state rules: `value: V` (alarm while the input equals V) or `change: true` (alarm on each
 * change, back to normal off_delay after the last one); one implicit stage. */
static int cfg__state_rule(struct cfg_ctx *x, const struct dg_ynode *n, struct dg_rule *r, const struct cfg_seen *s)
{
  if (s->val[RU_VALUE] && r->state_change)
    return cfg__failk(x, s->val[RU_VALUE], "value", "a state rule takes 'value' or 'change: true', not both");
  if (!s->val[RU_VALUE] && !r->state_change)
    return cfg__fail(x, n, "a state rule needs 'value: <state that alarms>' or 'change: true'");
  if (r->state_change && s->val[RU_ON])
    return cfg__failk(x, s->val[RU_ON], "on_delay", "a change alarms at once: 'change: true' takes no on_delay");
  if (s->val[RU_DEADBAND]) return cfg__failk(x, s->val[RU_DEADBAND], "deadband", "a state rule has no deadband");
  int rc = cfg__fault_rule(x, n, r, s);
  if (rc) return rc;
  free(r->stages[0].name);
  r->stages[0].name = strdup(r->state_change ? "change" : "state");
  r->stages[0].limit = r->state_change ? 0 : r->state_value;
  return r->stages[0].name ? 0 : cfg__oom(x);
}

static long cfg__expr_point(void *ud, const char *id, size_t len)
{
  struct cfg_ctx *x = ud;
  char name[256];
  if (len >= sizeof name) return -1;
  memcpy(name, id, len);
  name[len] = '\0';
  const struct dg_point *p = dg_idmap_get(&x->ix->points, name);
  return p ? (long)p->index : -1;
}

/* expr rules: the condition decides the one implicit stage; the rule is bound to every point
 * it reads and reported under the first. */
static int cfg__expr_rule(struct cfg_ctx *x, const struct dg_ynode *n, struct dg_rule *r, const struct cfg_seen *s)
{
  char err[256];
  if (!s->val[RU_EXPR]) return cfg__fail(x, n, "an expr rule needs 'expr'");
  if (s->val[RU_POINT]) return cfg__failk(x, s->val[RU_POINT], "point", "an expr rule reads the points named in 'expr'");
  int rc = expr_compile(r->expr_text, cfg__expr_point, x, &r->expr, err, sizeof err);
  if (rc == -ENOMEM) return cfg__oom(x);
  if (rc) return cfg__failk(x, s->val[RU_EXPR], "expr", "%s", err);
  const uint32_t *pts;
  expr_points(r->expr, &pts);
  r->point = &x->c->points[pts[0]];
  return cfg__fault_rule(x, n, r, s);
}

/* deviation rules: points: [A, B], a limit and a priority; one implicit stage. */
static int cfg__deviation_rule(struct cfg_ctx *x, const struct dg_ynode *n, struct dg_rule *r,
                               const struct cfg_seen *s)
{
  const struct dg_ynode *pts = s->val[RU_POINTS];
  void *obj;
  if (!pts || pts->type != DG_YSEQ || pts->n != 2)
    return cfg__fail(x, pts ? pts : n, "a deviation rule needs 'points: [A, B]' (two points)");
  if (s->val[RU_STAGES]) return cfg__failk(x, s->val[RU_STAGES], "stages", "a deviation rule has no stages");
  if (!s->val[RU_LIMIT]) return cfg__fail(x, n, "a deviation rule needs 'limit'");
  if (r->limit < 0) return cfg__failk(x, s->val[RU_LIMIT], "limit", "a deviation limit must be >= 0, got %g", r->limit);
  if (!s->val[RU_PRIORITY]) return cfg__fail(x, n, "a deviation rule needs 'priority'");
  int rc = cfg__ref(x, pts->kids[0], "points", &x->ix->points, "point", &obj);
  if (rc) return rc;
  r->point = obj;
  if ((rc = cfg__ref(x, pts->kids[1], "points", &x->ix->points, "point", &obj))) return rc;
  r->point2 = obj;
  if (r->point == r->point2) return cfg__failk(x, pts, "points", "the two points of a deviation rule must differ");
  r->stages[0] = (struct dg_stage){.name = strdup("deviation"), .limit = r->limit, .priority = r->priority};
  r->n_stages = 1;
  return r->stages[0].name ? 0 : cfg__oom(x);
}

static int cfg__vote_inputs(struct cfg_ctx *x, const struct dg_ynode *pts, struct dg_rule *r)
{
  r->inputs = calloc(pts->n, sizeof *r->inputs);
  r->input_limits = calloc(pts->n, sizeof *r->input_limits);
  if (!r->inputs || !r->input_limits) return cfg__oom(x);
  r->n_inputs = pts->n;
  for (size_t i = 0; i < pts->n; i++) {
    const char *id = NULL;
    size_t mark = cfg__path_key(x, "points");
    size_t mark2 = cfg__path_index(x, i);
    int rc = cfg__text(x, pts->kids[i], &id);
    if (!rc && !(r->inputs[i] = dg_idmap_get(&x->ix->points, id))) rc = cfg__fail(x, pts->kids[i], "unknown point '%.64s'", id);
    for (size_t j = 0; !rc && j < i; j++)
      if (r->inputs[j] == r->inputs[i]) rc = cfg__fail(x, pts->kids[i], "point '%.64s' is listed twice", r->inputs[i]->id);
    cfg__path_restore(x, mark2);
    cfg__path_restore(x, mark);
    if (rc) return rc;
  }
  r->point = r->inputs[0];
  return 0;
}

static int cfg__vote_limits(struct cfg_ctx *x, const struct dg_ynode *n, struct dg_rule *r, const struct cfg_seen *s)
{
  const struct dg_ynode *lims = s->val[RU_LIMITS];
  if (!lims == !s->val[RU_LIMIT]) return cfg__fail(x, n, "a vote rule needs one of 'limit' or 'limits: [..]'");
  if (!lims) {
    for (size_t i = 0; i < r->n_inputs; i++) r->input_limits[i] = r->limit;
    return 0;
  }
  if (lims->type != DG_YSEQ || lims->n != r->n_inputs)
    return cfg__failk(x, lims, "limits", "expected one limit per point (%zu)", r->n_inputs);
  size_t mark = cfg__path_key(x, "limits");
  int rc = 0;
  for (size_t i = 0; !rc && i < lims->n; i++) {
    size_t mark2 = cfg__path_index(x, i);
    rc = cfg__double(x, lims->kids[i], -DBL_MAX, DBL_MAX, &r->input_limits[i]);
    cfg__path_restore(x, mark2);
  }
  cfg__path_restore(x, mark);
  return rc;
}

/* vote rules: k of points: [..] at or above their limit; one implicit stage. */
static int cfg__vote_rule(struct cfg_ctx *x, const struct dg_ynode *n, struct dg_rule *r, const struct cfg_seen *s)
{
  const struct dg_ynode *pts = s->val[RU_POINTS];
  if (!pts || pts->type != DG_YSEQ || pts->n < 2 || pts->n > DG_MAX_VOTE_INPUTS)
    return cfg__fail(x, pts ? pts : n, "a vote rule needs 'points: [..]' (2 to %d points)", DG_MAX_VOTE_INPUTS);
  if (s->val[RU_STAGES]) return cfg__failk(x, s->val[RU_STAGES], "stages", "a vote rule has no stages");
  if (!s->val[RU_K]) return cfg__fail(x, n, "a vote rule needs 'k'");
  if (!s->val[RU_PRIORITY]) return cfg__fail(x, n, "a vote rule needs 'priority'");
  if (r->vote_k > pts->n) return cfg__failk(x, s->val[RU_K], "k", "k (%u) exceeds the number of points (%zu)", r->vote_k, pts->n);
  int rc = cfg__vote_inputs(x, pts, r);
  if (!rc) rc = cfg__vote_limits(x, n, r, s);
  if (rc) return rc;
  r->stages[0] = (struct dg_stage){.name = strdup("vote"), .limit = r->vote_k, .priority = r->priority};
  r->n_stages = 1;
  return r->stages[0].name ? 0 : cfg__oom(x);
}

static int cfg__agg_counts(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct cfg_seen s;
  return CFG_MAP(x, n, cfg__agg_count_fields, obj, &s);
}

static int cfg__agg_inputs(struct cfg_ctx *x, const struct dg_ynode *list, struct dg_rule *r)
{
  if (!(r->agg_inputs = calloc(list->n, sizeof *r->agg_inputs))) return cfg__oom(x);
  r->n_agg_inputs = list->n;
  for (size_t i = 0; i < list->n; i++) {
    const char *id = NULL;
    size_t mark = cfg__path_key(x, "rules");
    size_t mark2 = cfg__path_index(x, i);
    struct dg_rule *in = NULL;
    int rc = cfg__text(x, list->kids[i], &id);
    if (!rc && !(in = dg_idmap_get(&x->rules, id)))
      rc = cfg__fail(x, list->kids[i], "unknown rule '%.64s' (inputs must be listed before the aggregate)", id);
    if (!rc && in->type != DG_RULE_HIGH && in->type != DG_RULE_LOW)
      rc = cfg__fail(x, list->kids[i], "input rule '%.64s' must be of type high or low", id);
    for (size_t j = 0; !rc && j < i; j++)
      if (r->agg_inputs[j] == in) rc = cfg__fail(x, list->kids[i], "rule '%.64s' is listed twice", id);
    cfg__path_restore(x, mark2);
    cfg__path_restore(x, mark);
    if (rc) return rc;
    in->agg_input = true;
    r->agg_inputs[i] = in;
  }
  r->point = r->agg_inputs[0]->point;
  return 0;
}

static int cfg__agg_priorities(struct cfg_ctx *x, const struct dg_ynode *list, enum dg_priority *prio)
{
  if (list->type != DG_YSEQ || list->n != 3)
    return cfg__failk(x, list, "priorities", "expected three priorities (yellow, orange, red)");
  size_t mark = cfg__path_key(x, "priorities");
  int rc = 0;
  for (size_t i = 0; !rc && i < 3; i++) {
    const char *t = NULL;
    size_t mark2 = cfg__path_index(x, i);
    int p = -1;
    rc = cfg__text(x, list->kids[i], &t);
    if (!rc && (p = dg_priority_parse(t)) <= 0)
      rc = cfg__fail(x, list->kids[i], "expected one of low, medium, high, critical, got '%.64s'", t);
    if (!rc) prio[i] = (enum dg_priority)p;
    cfg__path_restore(x, mark2);
  }
  cfg__path_restore(x, mark);
  return rc;
}

/* aggregate rules: rules: [..] of earlier high/low rules, optional counts and priorities. */
static int cfg__aggregate_rule(struct cfg_ctx *x, const struct dg_ynode *n, struct dg_rule *r,
                               const struct cfg_seen *s)
{
  static const char *const names[] = {"yellow", "orange", "red"};
  enum dg_priority prio[3] = {DG_PRIO_MEDIUM, DG_PRIO_HIGH, DG_PRIO_CRITICAL};
  const struct dg_ynode *list = s->val[RU_RULES];
  if (!list || list->type != DG_YSEQ || list->n < 1 || list->n > DG_MAX_AGG_INPUTS)
    return cfg__fail(x, list ? list : n, "an aggregate rule needs 'rules: [..]' (1 to %d rules)", DG_MAX_AGG_INPUTS);
  if (s->val[RU_STAGES] || s->val[RU_PRIORITY])
    return cfg__failk(x, s->val[RU_STAGES] ? s->val[RU_STAGES] : s->val[RU_PRIORITY],
                      s->val[RU_STAGES] ? "stages" : "priority",
                      "an aggregate rule has the stages yellow, orange, red; set 'priorities: [..]'");
  r->agg_counts[0] = 4;
  r->agg_counts[1] = 3;
  r->agg_counts[2] = 2;
  int rc = cfg__agg_inputs(x, list, r);
  if (!rc && s->val[RU_COUNTS]) rc = cfg__under(x, s->val[RU_COUNTS], "counts", r, cfg__agg_counts);
  if (!rc && s->val[RU_PRIORITIES]) rc = cfg__agg_priorities(x, s->val[RU_PRIORITIES], prio);
  if (rc) return rc;
  for (size_t i = 0; i < 3; i++) {
    r->stages[i] = (struct dg_stage){.name = strdup(names[i]), .limit = DG_LEVEL_YELLOW + (int)i, .priority = prio[i]};
    r->n_stages = i + 1;
    if (!r->stages[i].name) return cfg__oom(x);
  }
  return 0;
}

/* Keys only some rule types take. */
static int cfg__rule_keys(struct cfg_ctx *x, const struct dg_ynode *n, const struct dg_rule *r,
                          const struct cfg_seen *s)
{
  int multi = r->type == DG_RULE_DEVIATION || r->type == DG_RULE_VOTE;
  const char *type = cfg__rule_types[r->type - 1];
  int agg = r->type == DG_RULE_AGGREGATE;
  if (!agg && (s->val[RU_RULES] || s->val[RU_COUNTS] || s->val[RU_PRIORITIES])) {
    int k = s->val[RU_RULES] ? RU_RULES : s->val[RU_COUNTS] ? RU_COUNTS : RU_PRIORITIES;
    return cfg__failk(x, s->val[k], cfg__rule_fields[k].key, "only aggregate rules have '%s'", cfg__rule_fields[k].key);
  }
  if (agg && s->val[RU_POINT]) return cfg__failk(x, s->val[RU_POINT], "point", "an aggregate rule takes 'rules: [..]'");
  if (agg && (s->val[RU_POINTS] || s->val[RU_LIMIT]))
    return cfg__failk(x, s->val[RU_POINTS] ? s->val[RU_POINTS] : s->val[RU_LIMIT], s->val[RU_POINTS] ? "points" : "limit",
                      "only deviation and vote rules have '%s'", s->val[RU_POINTS] ? "points" : "limit");
  if (agg) multi = 1;
  if (multi && s->val[RU_POINT]) return cfg__failk(x, s->val[RU_POINT], "point", "a %s rule takes 'points: [..]'", type);
  if (!multi && r->type != DG_RULE_EXPR && !s->val[RU_POINT]) return cfg__fail(x, n, "missing required key 'point'");
  if (!multi && (s->val[RU_POINTS] || s->val[RU_LIMIT]))
    return cfg__failk(x, s->val[RU_POINTS] ? s->val[RU_POINTS] : s->val[RU_LIMIT], s->val[RU_POINTS] ? "points" : "limit",
                      "only deviation and vote rules have '%s'", s->val[RU_POINTS] ? "points" : "limit");
  if (r->type != DG_RULE_VOTE && (s->val[RU_K] || s->val[RU_LIMITS]))
    return cfg__failk(x, s->val[RU_K] ? s->val[RU_K] : s->val[RU_LIMITS], s->val[RU_K] ? "k" : "limits",
                      "only vote rules have '%s'", s->val[RU_K] ? "k" : "limits");
  return 0;
}

static int cfg__rule(struct cfg_ctx *x, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_rule *r = item;
  struct cfg_seen s;
  void *obj;
  r->index = i;
  r->hazard_level = -1;
  int rc = CFG_MAP(x, n, cfg__rule_fields, r, &s);
  if (!rc) rc = cfg__add_id(x, &x->rules, r->id, r, s.val[RU_ID], "rule");
  if (!rc) rc = cfg__rule_keys(x, n, r, &s);
  if (!rc && r->type != DG_RULE_EXPR && s.val[RU_EXPR])
    rc = cfg__failk(x, s.val[RU_EXPR], "expr", "only expr rules have 'expr'");
  if (!rc && r->type == DG_RULE_DEVIATION) rc = cfg__deviation_rule(x, n, r, &s);
  else if (!rc && r->type == DG_RULE_VOTE) rc = cfg__vote_rule(x, n, r, &s);
  else if (!rc && r->type == DG_RULE_AGGREGATE) rc = cfg__aggregate_rule(x, n, r, &s);
  else if (!rc && r->type != DG_RULE_EXPR) {
    rc = cfg__ref(x, s.val[RU_POINT], "point", &x->ix->points, "point", &obj);
    if (!rc) r->point = obj;
  }
  if (rc) return rc;
  if (s.val[RU_MEASURE]) {
    rc = cfg__ref(x, s.val[RU_MEASURE], "measure", &x->ix->measures, "measure", &obj);
    if (rc) return rc;
    r->measure = obj;
  }
  if (s.val[RU_SUPPRESS] && (rc = cfg__under(x, s.val[RU_SUPPRESS], "suppress_when", r, cfg__suppress))) return rc;
  if (r->type != DG_RULE_RATE && (s.val[RU_RATE] || s.val[RU_DIRECTION]))
    return cfg__failk(x, s.val[RU_RATE] ? s.val[RU_RATE] : s.val[RU_DIRECTION], s.val[RU_RATE] ? "rate" : "direction",
                      "only rate rules have '%s'", s.val[RU_RATE] ? "rate" : "direction");
  if (r->type == DG_RULE_EXPR) return cfg__expr_rule(x, n, r, &s);
  if (r->type != DG_RULE_STATE && (s.val[RU_VALUE] || s.val[RU_CHANGE]))
    return cfg__failk(x, s.val[RU_VALUE] ? s.val[RU_VALUE] : s.val[RU_CHANGE], s.val[RU_VALUE] ? "value" : "change",
                      "only state rules have '%s'", s.val[RU_VALUE] ? "value" : "change");
  if (r->type == DG_RULE_STATE) return cfg__state_rule(x, n, r, &s);
  if (r->type == DG_RULE_STALE || r->type == DG_RULE_QUALITY) return cfg__fault_rule(x, n, r, &s);
  if (r->type == DG_RULE_DEVIATION || r->type == DG_RULE_VOTE || r->type == DG_RULE_AGGREGATE) return 0;
  if (r->type == DG_RULE_RATE && (rc = cfg__rate_rule(x, n, r, &s))) return rc;
  if (s.val[RU_TIMEOUT] || s.val[RU_PRIORITY])
    return cfg__failk(x, s.val[RU_TIMEOUT] ? s.val[RU_TIMEOUT] : s.val[RU_PRIORITY],
                      s.val[RU_TIMEOUT] ? "timeout" : "priority", "a %s rule takes its priorities from its stages",
                      cfg__rule_types[r->type - 1]);
  if (!s.val[RU_STAGES]) return cfg__fail(x, n, "missing required key 'stages'");
  return cfg__under(x, s.val[RU_STAGES], "stages", r, cfg__stages);
}

/* ---- notification ---- */

enum { CH_ID, CH_TYPE, CH_URL, CH_URL_FILE, CH_TIMEOUT, CH_EXPIRE };
static const struct cfg_field cfg__channel_fields[] = {
  [CH_ID] = FSTR("id", struct dg_channel, id, F_REQ),
  [CH_TYPE] = FENUM("type", struct dg_channel, type, F_REQ, cfg__channel_types),
  [CH_URL] = FSTR("url", struct dg_channel, url, 0),
  [CH_URL_FILE] = FNODE("url_file", 0), /* a URL carrying its access token */
  [CH_TIMEOUT] = FNUM("timeout", K_MS, struct dg_channel, timeout_ms, 0, 1, 600000),
  [CH_EXPIRE] = FNUM("expire", K_SEC, struct dg_channel, expire_s, 0, 1000, 365 * MS_DAY),
};

static int cfg__channel(struct cfg_ctx *x, const struct dg_ynode *n, void *item, size_t i)
{
  static const char *const schemes[] = {"http://", "https://", NULL};
  struct dg_channel *ch = item;
  struct cfg_seen s;
  ch->timeout_ms = 5000;
  ch->expire_s = 86400;
  int rc = CFG_MAP(x, n, cfg__channel_fields, ch, &s);
  if (!rc) rc = cfg__add_id(x, &x->ix->channels, ch->id, ch, s.val[CH_ID], "channel");
  if (!rc) rc = cfg__secret(x, &s, cfg__channel_fields, CH_URL, CH_URL_FILE, &ch->url);
  if (!rc && !ch->url) rc = cfg__fail(x, n, "missing required key 'url' (or 'url_file')");
  if (!rc && !cfg__has_scheme(ch->url, schemes))
    rc = cfg__failk(x, s.val[CH_URL] ? s.val[CH_URL] : s.val[CH_URL_FILE], "url", "expected an http:// or https:// URL, got '%.64s'", ch->url);
  return rc;
}

static int cfg__priority_item(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  int idx;
  int rc = cfg__choice(x, n, cfg__priorities, &idx);
  if (!rc) *(unsigned *)obj |= 1u << (idx + 1);
  return rc;
}

static int cfg__policy_priorities(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct dg_policy *pol = obj;
  if (n->type != DG_YSEQ || !n->n) return cfg__fail(x, n, "expected a non-empty sequence of priorities");
  for (size_t i = 0; i < n->n; i++) {
    size_t mark = cfg__path_index(x, i);
    int rc = cfg__priority_item(x, n->kids[i], &pol->priority_mask);
    cfg__path_restore(x, mark);
    if (rc) return rc;
  }
  return 0;
}

static int cfg__policy_channel(struct cfg_ctx *x, struct dg_policy *pol, const struct dg_ynode *n, size_t i)
{
  const char *id = NULL;
  int rc = cfg__text(x, n, &id);
  if (rc) return rc;
  struct dg_channel *ch = dg_idmap_get(&x->ix->channels, id);
  if (!ch) return cfg__fail(x, n, "unknown channel '%.64s'", id);
  for (size_t k = 0; k < i; k++)
    if (pol->channels[k] == ch) return cfg__fail(x, n, "channel '%.64s' listed twice", id);
  pol->channels[i] = ch;
  return 0;
}

static int cfg__policy_channels(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct dg_policy *pol = obj;
  if (n->type != DG_YSEQ || !n->n) return cfg__fail(x, n, "expected a non-empty sequence of channel ids");
  if (!(pol->channels = calloc(n->n, sizeof *pol->channels))) return cfg__oom(x);
  pol->n_channels = n->n;
  for (size_t i = 0; i < n->n; i++) {
    size_t mark = cfg__path_index(x, i);
    int rc = cfg__policy_channel(x, pol, n->kids[i], i);
    cfg__path_restore(x, mark);
    if (rc) return rc;
  }
  return 0;
}

enum { POL_ID, POL_PRIORITIES, POL_CHANNELS };
static const struct cfg_field cfg__policy_fields[] = {
  [POL_ID] = FSTR("id", struct dg_policy, id, F_REQ),
  [POL_PRIORITIES] = FNODE("priorities", F_REQ),
  [POL_CHANNELS] = FNODE("channels", F_REQ),
};

static int cfg__policy(struct cfg_ctx *x, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_policy *pol = item;
  struct cfg_seen s;
  int rc = CFG_MAP(x, n, cfg__policy_fields, pol, &s);
  if (!rc) rc = cfg__add_id(x, &x->policies, pol->id, pol, s.val[POL_ID], "policy");
  if (!rc) rc = cfg__under(x, s.val[POL_PRIORITIES], "priorities", pol, cfg__policy_priorities);
  if (!rc) rc = cfg__under(x, s.val[POL_CHANNELS], "channels", pol, cfg__policy_channels);
  return rc;
}

/* ---- top level ---- */

enum { TOP_SITE, TOP_DAEMON, TOP_PERSONS, TOP_SOURCES, TOP_MQTT, TOP_MODBUS, TOP_POINTS, TOP_RULES,
       TOP_CHANNELS, TOP_POLICIES, TOP_ALARM, TOP_RISK_BANDS, TOP_CALENDAR, TOP_LEDGER };
static const struct cfg_field cfg__top_fields[] = {
  [TOP_SITE] = FNODE("site", F_REQ),
  [TOP_DAEMON] = FNODE("daemon", 0),
  [TOP_PERSONS] = FNODE("persons", 0),
  [TOP_SOURCES] = FNODE("hazard_sources", 0),
  [TOP_MQTT] = FNODE("mqtt", 0),
  [TOP_MODBUS] = FNODE("modbus", 0),
  [TOP_POINTS] = FNODE("points", 0),
  [TOP_RULES] = FNODE("rules", 0),
  [TOP_CHANNELS] = FNODE("channels", 0),
  [TOP_POLICIES] = FNODE("policies", 0),
  [TOP_ALARM] = FNODE("alarm", 0),
  [TOP_RISK_BANDS] = FNODE("risk_bands", 0),
  [TOP_CALENDAR] = FNODE("calendar", 0),
  [TOP_LEDGER] = FNODE("ledger", 0),
};

static int cfg__section(struct cfg_ctx *x, const struct cfg_seen *s, int key, size_t elsize, void *arrp,
                        size_t *count, cfg_item_fn fn)
{
  if (!s->val[key]) return 0;
  size_t mark = cfg__path_key(x, cfg__top_fields[key].key);
  int rc = cfg__list(x, s->val[key], elsize, arrp, count, fn);
  cfg__path_restore(x, mark);
  return rc;
}

#define CFG_SECTION(x, s, key, arr, count, fn) cfg__section(x, s, key, sizeof *(arr), &(arr), &(count), fn)

/* ---- risk bands ---- */

enum { BAND_YELLOW, BAND_ORANGE, BAND_RED };
static const struct cfg_field cfg__band_fields[] = {
  [BAND_YELLOW] = FNUM("yellow", K_DOUBLE, struct dg_bands, yellow, F_REQ, 0, 1e6),
  [BAND_ORANGE] = FNUM("orange", K_DOUBLE, struct dg_bands, orange, F_REQ, 0, 1e6),
  [BAND_RED] = FNUM("red", K_DOUBLE, struct dg_bands, red, F_REQ, 0, 1e6),
};

static int cfg__bands(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct dg_bands *b = obj;
  struct cfg_seen s;
  int rc = CFG_MAP(x, n, cfg__band_fields, b, &s);
  if (rc) return rc;
  if (!(b->yellow < b->orange)) return cfg__failk(x, s.val[BAND_ORANGE], "orange", "expected a limit above yellow's %g", b->yellow);
  if (!(b->orange < b->red)) return cfg__failk(x, s.val[BAND_RED], "red", "expected a limit above orange's %g", b->orange);
  return 0;
}

enum { BANDS_LEC, BANDS_LS };
static const struct cfg_field cfg__risk_bands_fields[] = {
  [BANDS_LEC] = FNODE("lec", 0),
  [BANDS_LS] = FNODE("ls", 0),
};

/* risk_bands: { lec: {yellow, orange, red}, ls: {yellow, orange, red} } */
static int cfg__risk_bands(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct dg_config *c = obj;
  struct cfg_seen s;
  int rc = CFG_MAP(x, n, cfg__risk_bands_fields, NULL, &s);
  if (!rc) rc = cfg__under(x, s.val[BANDS_LEC], "lec", &c->lec_bands, cfg__bands);
  if (!rc) rc = cfg__under(x, s.val[BANDS_LS], "ls", &c->ls_bands, cfg__bands);
  return rc;
}

/* ---- alarm management ---- */

#define MS_WEEK (7 * MS_DAY)
enum { SHV_LOW, SHV_MEDIUM, SHV_HIGH, SHV_CRITICAL };
static const struct cfg_field cfg__max_shelve_fields[] = {
  [SHV_LOW] = FNUM("low", K_MS, struct dg_config, max_shelve_ms[DG_PRIO_LOW], 0, 1000, MS_WEEK),
  [SHV_MEDIUM] = FNUM("medium", K_MS, struct dg_config, max_shelve_ms[DG_PRIO_MEDIUM], 0, 1000, MS_WEEK),
  [SHV_HIGH] = FNUM("high", K_MS, struct dg_config, max_shelve_ms[DG_PRIO_HIGH], 0, 1000, MS_WEEK),
  [SHV_CRITICAL] = FNUM("critical", K_MS, struct dg_config, max_shelve_ms[DG_PRIO_CRITICAL], 0, 1000, MS_WEEK),
};

static int cfg__max_shelve(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct cfg_seen s;
  return CFG_MAP(x, n, cfg__max_shelve_fields, obj, &s);
}

enum { ALM_MAX_SHELVE };
static const struct cfg_field cfg__alarm_fields[] = {
  [ALM_MAX_SHELVE] = FNODE("max_shelve", 0),
};

static int cfg__alarm(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct cfg_seen s;
  int rc = CFG_MAP(x, n, cfg__alarm_fields, obj, &s);
  if (!rc) rc = cfg__under(x, s.val[ALM_MAX_SHELVE], "max_shelve", obj, cfg__max_shelve);
  return rc;
}

/* ---- hazard ledger ---- */

enum { QUOTA_PERSON, QUOTA_TOTAL };
static const struct cfg_field cfg__quota_fields[] = {
  [QUOTA_PERSON] = FNUM("per_person_day_mib", K_U32, struct dg_config, upload_person_day_mib, 0, 1, 1048576),
  [QUOTA_TOTAL] = FNUM("total_mib", K_U32, struct dg_config, upload_total_mib, 0, 1, 16777216),
};

static int cfg__upload_quota(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct cfg_seen s;
  return CFG_MAP(x, n, cfg__quota_fields, obj, &s);
}

enum { LDG_REVIEW, LDG_ATTACH_DIR, LDG_QUOTA };
static const struct cfg_field cfg__ledger_fields[] = {
  [LDG_REVIEW] = FBOOL("review_reports", struct dg_config, review_reports),
  [LDG_ATTACH_DIR] = FSTR("attachments_dir", struct dg_config, attachments_dir, 0),
  [LDG_QUOTA] = FNODE("upload_quota", 0),
};

static int cfg__ledger(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct cfg_seen s;
  struct dg_config *c = obj;
  int rc = CFG_MAP(x, n, cfg__ledger_fields, obj, &s);
  if (!rc && c->attachments_dir && !c->attachments_dir[0])
    rc = cfg__failk(x, s.val[LDG_ATTACH_DIR], "attachments_dir", "expected a directory path, got ''");
  if (!rc) rc = cfg__under(x, s.val[LDG_QUOTA], "upload_quota", obj, cfg__upload_quota);
  return rc;
}

/* ---- site work calendar ---- */

enum { CAL_WEEKEND, CAL_HOLIDAYS, CAL_WORKDAYS };
static const struct cfg_field cfg__calendar_fields[] = {
  [CAL_WEEKEND] = FNODE("weekend", 0),
  [CAL_HOLIDAYS] = FNODE("holidays", 0),
  [CAL_WORKDAYS] = FNODE("workdays", 0),
};

static int cfg__weekday(struct cfg_ctx *x, const struct dg_ynode *n, void *item, size_t i)
{
  (void)i;
  const char *t = NULL;
  int rc = cfg__scalar(x, n, "a weekday name", &t);
  int w = rc ? -1 : workcal_weekday_parse(t);
  if (!rc && w < 0)
    rc = cfg__fail(x, n, "expected a weekday name (sun, mon, tue, wed, thu, fri, sat), got '%.64s'", t ? t : "");
  if (!rc) *(int *)item = w;
  return rc;
}

static int cfg__date(struct cfg_ctx *x, const struct dg_ynode *n, void *item, size_t i)
{
  (void)i;
  const char *t = NULL;
  int rc = cfg__scalar(x, n, "a date", &t);
  if (!rc && workcal_parse_date(t, item))
    rc = cfg__fail(x, n, "expected a date \"YYYY-MM-DD\" (1970 or later), got '%.64s'", t ? t : "");
  return rc;
}

/* Parses the date list under `key`, rejecting repeats and (for workdays) holidays. */
static int cfg__dates(struct cfg_ctx *x, const struct dg_ynode *n, const char *key, int32_t **days, size_t *count,
                      const struct dg_calendar *cal)
{
  if (!n) return 0;
  size_t mark = cfg__path_key(x, key);
  int rc = cfg__list(x, n, sizeof **days, days, count, cfg__date);
  for (size_t i = 0; !rc && i < *count; i++) {
    const int32_t *d = *days;
    const char *clash = NULL;
    for (size_t k = 0; k < i && !clash; k++)
      if (d[k] == d[i]) clash = "is listed twice";
    for (size_t k = 0; cal && k < cal->n_holidays && !clash; k++)
      if (cal->holidays[k] == d[i]) clash = "is also listed in holidays";
    if (clash) {
      size_t m2 = cfg__path_index(x, i);
      rc = cfg__fail(x, n->kids[i], "date %s %s", n->kids[i]->text, clash);
      cfg__path_restore(x, m2);
    }
  }
  cfg__path_restore(x, mark);
  return rc;
}

static int cfg__calendar(struct cfg_ctx *x, const struct dg_ynode *n, void *obj)
{
  struct dg_calendar *cal = obj;
  struct cfg_seen s;
  int rc = CFG_MAP(x, n, cfg__calendar_fields, cal, &s);
  if (!rc && s.val[CAL_WEEKEND]) {
    int *days = NULL;
    size_t nd = 0;
    size_t mark = cfg__path_key(x, "weekend");
    rc = cfg__list(x, s.val[CAL_WEEKEND], sizeof *days, &days, &nd, cfg__weekday);
    cfg__path_restore(x, mark);
    cal->weekend_mask = 0;
    for (size_t i = 0; !rc && i < nd; i++) cal->weekend_mask |= 1u << days[i];
    free(days);
  }
  if (!rc) rc = cfg__dates(x, s.val[CAL_HOLIDAYS], "holidays", &cal->holidays, &cal->n_holidays, NULL);
  if (!rc) rc = cfg__dates(x, s.val[CAL_WORKDAYS], "workdays", &cal->workdays, &cal->n_workdays, cal);
  if (!rc) {
    workcal_sort(cal->holidays, cal->n_holidays);
    workcal_sort(cal->workdays, cal->n_workdays);
  }
  return rc;
}

static void cfg__alarm_defaults(struct dg_config *c)
{
  static const uint32_t dflt[5] = {0, 8 * 3600000u, 8 * 3600000u, 4 * 3600000u, 3600000u};
  for (int p = DG_PRIO_LOW; p <= DG_PRIO_CRITICAL; p++)
    if (!c->max_shelve_ms[p]) c->max_shelve_ms[p] = dflt[p];
}

static int cfg__defaults(struct cfg_ctx *x)
{
  struct dg_config *c = x->c;
  cfg__alarm_defaults(c);
  if (!c->http_listen && !(c->http_listen = strdup("127.0.0.1"))) return cfg__oom(x);
  if (!c->db_path && !(c->db_path = strdup("dualguard.db"))) return cfg__oom(x);
  return 0;
}

static int cfg__root(struct cfg_ctx *x, const struct dg_ynode *root)
{
  struct dg_config *c = x->c;
  struct cfg_seen s;
  if (!root) return cfg__fail_at(x, 1, 1, "empty configuration (expected a mapping with at least 'site')");
  int rc = CFG_MAP(x, root, cfg__top_fields, NULL, &s);
  if (!rc) rc = cfg__under(x, s.val[TOP_SITE], "site", c, cfg__site);
  if (!rc) rc = cfg__under(x, s.val[TOP_DAEMON], "daemon", c, cfg__daemon);
  if (!rc) rc = cfg__under(x, s.val[TOP_RISK_BANDS], "risk_bands", c, cfg__risk_bands);
  /* Sections in dependency order, so every reference names something already loaded. */
  if (!rc) rc = CFG_SECTION(x, &s, TOP_PERSONS, c->persons, c->n_persons, cfg__person);
  if (!rc) rc = CFG_SECTION(x, &s, TOP_SOURCES, c->sources, c->n_sources, cfg__source);
  if (!rc) rc = CFG_SECTION(x, &s, TOP_MQTT, c->mqtt_brokers, c->n_mqtt_brokers, cfg__mqtt);
  if (!rc) rc = CFG_SECTION(x, &s, TOP_MODBUS, c->modbus_buses, c->n_modbus_buses, cfg__modbus);
  if (!rc) rc = CFG_SECTION(x, &s, TOP_POINTS, c->points, c->n_points, cfg__point);
  if (!rc) rc = CFG_SECTION(x, &s, TOP_RULES, c->rules, c->n_rules, cfg__rule);
  if (!rc) rc = CFG_SECTION(x, &s, TOP_CHANNELS, c->channels, c->n_channels, cfg__channel);
  if (!rc) rc = CFG_SECTION(x, &s, TOP_POLICIES, c->policies, c->n_policies, cfg__policy);
  if (!rc) rc = cfg__under(x, s.val[TOP_ALARM], "alarm", c, cfg__alarm);
  if (!rc) rc = cfg__under(x, s.val[TOP_CALENDAR], "calendar", &c->calendar, cfg__calendar);
  if (!rc) rc = cfg__under(x, s.val[TOP_LEDGER], "ledger", c, cfg__ledger);
  if (!rc) rc = cfg__defaults(x);
  return rc;
}

/* ---- plant-model edits over the tree ---- */

static const char *const cfg__edit_kinds[] = {"hazard_source", "unit", "event", "measure", NULL};
/* The list key holding each kind, under the root, a source, a unit and an event. */
static const char *const cfg__edit_lists[] = {"hazard_sources", "units", "events", "measures"};

int config_edit_kind(const char *kind)
{
  for (int i = 0; kind && cfg__edit_kinds[i]; i++)
    if (!strcmp(kind, cfg__edit_kinds[i])) return i;
  return -1;
}

static bool cfg__ykey_is(const struct dg_ynode *k, const char *key)
{
  return k->type == DG_YSCALAR && !k->has_nul && !strcmp(k->text, key);
}

/* Index of `key` in mapping `map` (of its key node), or SIZE_MAX. */
static size_t cfg__yfind_key(const struct dg_ynode *map, const char *key)
{
  if (!map || map->type != DG_YMAP) return SIZE_MAX;
  for (size_t k = 0; k + 1 < map->n; k += 2)
    if (cfg__ykey_is(map->kids[k], key)) return k;
  return SIZE_MAX;
}

static struct dg_ynode *cfg__yget(const struct dg_ynode *map, const char *key)
{
  size_t k = cfg__yfind_key(map, key);
  return k == SIZE_MAX ? NULL : map->kids[k + 1];
}

struct cfg_yfound {
  struct dg_ynode *list, *item;
  size_t i;
};

/* Finds the item of kind `kind` with id `id` in `list`, a list of kind `depth`. */
static bool cfg__yfind(struct dg_ynode *list, int depth, int kind, const char *id, struct cfg_yfound *f)
{
  if (!list || list->type != DG_YSEQ) return false;
  for (size_t i = 0; i < list->n; i++) {
    struct dg_ynode *item = list->kids[i], *idn = cfg__yget(item, "id");
    if (!item || item->type != DG_YMAP) continue;
    if (depth == kind && idn && idn->type == DG_YSCALAR && !idn->has_nul && !strcmp(idn->text, id)) {
      *f = (struct cfg_yfound){list, item, i};
      return true;
    }
    if (depth < kind && cfg__yfind(cfg__yget(item, cfg__edit_lists[depth + 1]), depth + 1, kind, id, f)) return true;
  }
  return false;
}

static bool cfg__yentity(struct dg_ynode *root, int kind, const char *id, struct cfg_yfound *f)
{
  return id && cfg__yfind(cfg__yget(root, cfg__edit_lists[0]), 0, kind, id, f);
}

static int cfg__ygrow(struct dg_ytree *t, struct dg_ynode *n, size_t more)
{
  if (n->n + more <= n->cap) return 0;
  size_t cap = (n->n + more) * 2;
  struct dg_ynode **kids = dg_yaml_alloc(t, cap * sizeof *kids);
  if (!kids) return -ENOMEM;
  if (n->n) memcpy(kids, n->kids, n->n * sizeof *kids);
  n->kids = kids;
  n->cap = cap;
  return 0;
}

static struct dg_ynode *cfg__ynew(struct dg_ytree *t, enum dg_ynode_type type, const char *text)
{
  struct dg_ynode *n = dg_yaml_alloc(t, sizeof *n);
  if (!n) return NULL;
  memset(n, 0, sizeof *n);
  n->type = type;
  if (type != DG_YSCALAR) return n;
  n->len = strlen(text);
  if (!(n->text = dg_yaml_alloc(t, n->len + 1))) return NULL;
  memcpy(n->text, text, n->len + 1);
  return n;
}

/* Sets key `key` of `map` to `val`, replacing its value; a null `val` removes the key. */
static int cfg__yput(struct dg_ytree *t, struct dg_ynode *map, struct dg_ynode *key, struct dg_ynode *val)
{
  size_t k = cfg__yfind_key(map, key->text);
  if (k != SIZE_MAX && cfg__is_null(val)) {
    memmove(map->kids + k, map->kids + k + 2, (map->n - k - 2) * sizeof *map->kids);
    map->n -= 2;
  } else if (k != SIZE_MAX) {
    map->kids[k + 1] = val;
  } else if (!cfg__is_null(val)) {
    if (cfg__ygrow(t, map, 2)) return -ENOMEM;
    map->kids[map->n++] = key;
    map->kids[map->n++] = val;
  }
  return 0;
}

/* Overlay nodes have no position in the file: line 0 makes errors about them name the field
 * path only. */
static void cfg__yunplace(struct dg_ynode *n)
{
  n->line = n->col = 0;
  for (size_t i = 0; i < n->n; i++) cfg__yunplace(n->kids[i]);
}

/* The list of kind `kind` under the parent named by the edit, created if absent; NULL with
 * *why set if the parent is not there. */
static struct dg_ynode *cfg__ylist_for(struct dg_ytree *t, int kind, const char *parent, const char **why)
{
  struct dg_ynode *holder = t->root;
  struct cfg_yfound f;
  if (kind > 0) {
    if (!cfg__yentity(t->root, kind - 1, parent, &f)) return *why = "its parent is not in the file", NULL;
    holder = f.item;
  }
  struct dg_ynode *list = cfg__yget(holder, cfg__edit_lists[kind]);
  if (list && list->type == DG_YSEQ) return list;
  if (list && !cfg__is_null(list)) return *why = "the parent's list is not a sequence", NULL;
  struct dg_ynode *key = cfg__ynew(t, DG_YSCALAR, cfg__edit_lists[kind]);
  if (!key || !(list = cfg__ynew(t, DG_YSEQ, NULL))) return *why = "out of memory", NULL;
  cfg__yunplace(key);
  key->plain = true;
  size_t k = cfg__yfind_key(holder, key->text);
  if (k != SIZE_MAX) holder->kids[k + 1] = list;
  else if (cfg__ygrow(t, holder, 2)) return *why = "out of memory", NULL;
  else {
    holder->kids[holder->n++] = key;
    holder->kids[holder->n++] = list;
  }
  return list;
}

/* Applies one edit to the tree; NULL, or why it was skipped. */
static const char *cfg__edit_one(struct dg_ytree *t, const struct config_edit *e, struct dg_ytree *body)
{
  int kind = config_edit_kind(e->kind);
  struct cfg_yfound f;
  const char *why = NULL;
  if (kind < 0 || !e->op || !e->entity) return "unknown kind or operation";
  if (!t->root || t->root->type != DG_YMAP) return "the file has no plant model";
  bool found = cfg__yentity(t->root, kind, e->entity, &f);
  if (!strcmp(e->op, "delete")) {
    if (!found) return "it is not in the file";
    memmove(f.list->kids + f.i, f.list->kids + f.i + 1, (f.list->n - f.i - 1) * sizeof *f.list->kids);
    f.list->n--;
    return NULL;
  }
  if (strcmp(e->op, "update") && strcmp(e->op, "create")) return "unknown operation";
  char err[256];
  if (!e->body || dg_yaml_parse("edit", e->body, strlen(e->body), body, err, sizeof err)) return "its body is not JSON";
  if (!body->root || body->root->type != DG_YMAP) return "its body is not an object";
  cfg__yunplace(body->root);
  if (!strcmp(e->op, "update")) {
    if (!found) return "it is not in the file";
    for (size_t k = 0; k + 1 < body->root->n; k += 2)
      if (body->root->kids[k]->type == DG_YSCALAR && cfg__yput(t, f.item, body->root->kids[k], body->root->kids[k + 1]))
        return "out of memory";
    return NULL;
  }
  if (found) return "the file already has that id";
  struct dg_ynode *list = cfg__ylist_for(t, kind, e->parent, &why);
  if (!list) return why;
  if (cfg__ygrow(t, list, 1)) return "out of memory";
  list->kids[list->n++] = body->root;
  return NULL;
}

static int cfg__apply_edits(struct cfg_ctx *x, struct dg_ytree *t, const struct config_edit *edits, size_t n,
                            struct dg_ytree *bodies)
{
  for (size_t i = 0; i < n; i++) {
    const struct config_edit *e = &edits[i];
    const char *why = cfg__edit_one(t, e, &bodies[i]);
    if (why && !strcmp(why, "out of memory")) return cfg__oom(x);
    if (!why) {
      x->c->n_edits_applied++;
      continue;
    }
    x->c->n_edits_skipped++;
    DG_WARN("config", "%s: model edit %lld (%s %s '%.64s') skipped: %s", x->name, e->id, e->op ? e->op : "?",
            e->kind ? e->kind : "?", e->entity ? e->entity : "?", why);
  }
  return 0;
}

int config_load_string(const char *name, const char *yaml, size_t len, struct dg_config **out,
                       char *err, size_t errlen)
{
  return config_load_edits_string(name, yaml, len, NULL, 0, out, err, errlen);
}

int config_load_edits_string(const char *name, const char *yaml, size_t len, const struct config_edit *edits,
                             size_t n, struct dg_config **out, char *err, size_t errlen)
{
  struct cfg_ctx x = {.name = name ? name : "<string>", .err = err, .errlen = errlen};
  struct dg_ytree tree = {0};
  struct dg_ytree *bodies = n ? calloc(n, sizeof *bodies) : NULL;
  int rc;
  if (out) *out = NULL;
  if (n && !bodies) return cfg__oom(&x);
  if (err && errlen) err[0] = '\0';
  if (!(x.c = calloc(1, sizeof *x.c)) || !(x.ix = calloc(1, sizeof *x.ix))) {
    free(x.c);
    free(bodies);
    return cfg__oom(&x);
  }
  x.c->index = x.ix;
  x.c->http_port = 8080;
  x.c->history_flush_ms = 1000;
  x.c->hazard_deadline_days = 7;
  x.c->upload_person_day_mib = 256;
  x.c->upload_total_mib = 4096;
  x.c->lec_bands = dg_default_lec_bands;
  x.c->ls_bands = dg_default_ls_bands;
  x.c->calendar.weekend_mask = WORKCAL_DEFAULT_WEEKEND;
  if (!(x.c->path = strdup(x.name))) rc = cfg__oom(&x);
  else rc = dg_yaml_parse(x.name, yaml, yaml ? len : 0, &tree, err, errlen);
  if (!rc && n) rc = cfg__apply_edits(&x, &tree, edits, n, bodies);
  if (!rc) rc = cfg__root(&x, tree.root);
  dg_yaml_free(&tree);
  for (size_t i = 0; i < n; i++) dg_yaml_free(&bodies[i]);
  free(bodies);
  dg_idmap_free(&x.sources);
  dg_idmap_free(&x.events);
  dg_idmap_free(&x.brokers);
  dg_idmap_free(&x.buses);
  dg_idmap_free(&x.rules);
  dg_idmap_free(&x.policies);
  if (rc || !out) {
    config_free(x.c);
    return rc;
  }
  *out = x.c;
  return 0;
}

static int cfg__read_file(const char *path, char **buf, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f) return -errno;
  size_t cap = 0, used = 0;
  char *data = NULL;
  int rc = 0;
  for (;;) {
    if (used == cap) {
      size_t ncap = cap ? cap * 2 : 64 << 10;
      char *p = ncap > CFG_MAX_FILE + 1 ? NULL : realloc(data, ncap);
      if (!p) {
        rc = ncap > CFG_MAX_FILE + 1 ? -EFBIG : -ENOMEM;
        break;
      }
      data = p;
      cap = ncap;
    }
    errno = 0;
    size_t got = fread(data + used, 1, cap - used, f);
    used += got;
    if (got == 0) {
      if (ferror(f)) rc = errno ? -errno : -EIO;
      break;
    }
  }
  if (!rc && used > CFG_MAX_FILE) rc = -EFBIG;
  fclose(f);
  if (rc) {
    free(data);
    return rc;
  }
  *buf = data;
  *len = used;
  return 0;
}

int config_load(const char *path, struct dg_config **out, char *err, size_t errlen)
{
  return config_load_edits(path, NULL, 0, out, err, errlen);
}

int config_load_edits(const char *path, const struct config_edit *edits, size_t n, struct dg_config **out,
                      char *err, size_t errlen)
{
  char *buf = NULL;
  size_t len = 0;
  if (out) *out = NULL;
  int rc = cfg__read_file(path, &buf, &len);
  if (rc) {
    if (err && errlen)
      snprintf(err, errlen, "%s: %s", path, rc == -EFBIG ? "file too large" : strerror(-rc));
    return rc;
  }
  rc = config_load_edits_string(path, buf, len, edits, n, out, err, errlen);
  free(buf);
  return rc;
}

static void cfg__free_units(struct dg_unit *units, size_t n)
{
  for (size_t u = 0; u < n; u++) {
    struct dg_unit *unit = &units[u];
    for (size_t e = 0; e < unit->n_events; e++) {
      struct dg_event *ev = &unit->events[e];
      for (size_t m = 0; m < ev->n_measures; m++) {
        struct dg_measure *me = &ev->measures[m];
        free(me->id);
        free(me->desc);
        free(me->classify2);
        free(me->control_level);
        free(me->resp_dept);
        free(me->resp_person);
        free(me->troubleshoot);
      }
      free(ev->measures);
      free(ev->id);
      free(ev->name);
      free(ev->accident_type);
    }
    free(unit->events);
    free(unit->id);
    free(unit->name);
    free(unit->dept);
    free(unit->person);
  }
  free(units);
}

static void cfg__free_drivers(struct dg_config *c)
{
  for (size_t i = 0; i < c->n_mqtt_brokers; i++) {
    struct dg_mqtt_broker *b = &c->mqtt_brokers[i];
    free(b->id);
    free(b->uri);
    free(b->client_id);
    free(b->username);
    free(b->password);
    free(b->ca_file);
    free(b->cert_file);
    free(b->key_file);
    for (size_t k = 0; k < b->n_wildcards; k++) {
      free(b->wildcards[k].filter);
      free(b->wildcards[k].path);
      free(b->wildcards[k].ts_path);
    }
    free(b->wildcards);
  }
  free(c->mqtt_brokers);
  for (size_t i = 0; i < c->n_modbus_buses; i++) {
    free(c->modbus_buses[i].id);
    free(c->modbus_buses[i].host);
    free(c->modbus_buses[i].device);
  }
  free(c->modbus_buses);
}

static void cfg__free_points_rules(struct dg_config *c)
{
  for (size_t i = 0; i < c->n_points; i++) {
    struct dg_point *p = &c->points[i];
    free(p->id);
    free(p->name);
    free(p->eng_unit);
    free(p->unit_id);
    free(p->driver_id);
    free(p->mqtt.topic);
    free(p->mqtt.path);
    free(p->mqtt.ts_path);
    for (size_t k = 0; k < p->mqtt.n_states; k++) free(p->mqtt.states[k].text);
    free(p->mqtt.states);
  }
  free(c->points);
  for (size_t i = 0; i < c->n_rules; i++) {
    struct dg_rule *r = &c->rules[i];
    for (size_t k = 0; k < r->n_stages; k++) free(r->stages[k].name);
    free(r->inputs);
    free(r->input_limits);
    free(r->agg_inputs);
    free(r->id);
    free(r->name);
    free(r->expr_text);
    expr_free(r->expr);
  }
  free(c->rules);
}

static void cfg__free_notify(struct dg_config *c)
{
  for (size_t i = 0; i < c->n_channels; i++) {
    free(c->channels[i].id);
    free(c->channels[i].url);
  }
  free(c->channels);
  for (size_t i = 0; i < c->n_policies; i++) {
    free(c->policies[i].id);
    free(c->policies[i].channels);
  }
  free(c->policies);
}

void config_free(struct dg_config *c)
{
  if (!c) return;
  for (size_t i = 0; i < c->n_persons; i++) {
    struct dg_person *p = &c->persons[i];
    for (size_t r = 0; r < p->n_roles; r++) free(p->roles[r]);
    free(p->roles);
    free(p->id);
    free(p->name);
    free(p->phone);
    free(p->email);
  }
  free(c->persons);
  for (size_t i = 0; i < c->n_sources; i++) {
    cfg__free_units(c->sources[i].units, c->sources[i].n_units);
    free(c->sources[i].id);
    free(c->sources[i].name);
    free(c->sources[i].type);
    for (size_t k = 0; k < c->sources[i].n_substances; k++) {
      free(c->sources[i].substances[k].name);
      free(c->sources[i].substances[k].category);
    }
    free(c->sources[i].substances);
  }
  free(c->sources);
  cfg__free_drivers(c);
  cfg__free_points_rules(c);
  cfg__free_notify(c);
  free(c->calendar.holidays);
  free(c->calendar.workdays);
  if (c->index) {
    dg_idmap_free(&c->index->points);
    dg_idmap_free(&c->index->measures);
    dg_idmap_free(&c->index->units);
    dg_idmap_free(&c->index->persons);
    dg_idmap_free(&c->index->channels);
    free(c->index);
  }
  free(c->path);
  free(c->site_code);
  free(c->site_name);
  free(c->http_listen);
  free(c->db_path);
  free(c->attachments_dir);
  free(c);
}

/* ---- mqtt wildcard_topics ---- */

enum { WC_FILTER, WC_LEVEL, WC_PATH, WC_TS_PATH };
static const struct cfg_field cfg__wildcard_fields[] = {
  [WC_FILTER] = FSTR("filter", struct dg_mqtt_wildcard, filter, F_REQ),
  [WC_LEVEL] = FNUM("id_level", K_U32, struct dg_mqtt_wildcard, id_level, F_REQ, 1, 64),
  [WC_PATH] = FSTR("path", struct dg_mqtt_wildcard, path, 0),
  [WC_TS_PATH] = FSTR("ts_path", struct dg_mqtt_wildcard, ts_path, 0),
};

/* The id level must be a '+' of the filter: a fixed level would give every message one id, and
 * '#' spans several levels. */
static int cfg__wildcard(struct cfg_ctx *x, const struct dg_ynode *n, void *item, size_t i)
{
  (void)i;
  struct dg_mqtt_wildcard *w = item;
  struct cfg_seen s;
  int rc = CFG_MAP(x, n, cfg__wildcard_fields, w, &s);
  if (rc) return rc;
  if (mqtt_filter_check(w->filter))
    return cfg__failk(x, s.val[WC_FILTER], "filter",
                      "expected an MQTT topic filter like plant/+/gas/+ ('#' only as the last level), got '%.64s'",
                      w->filter);
  if (mqtt_filter_level_is_plus(w->filter, w->id_level) != 1)
    return cfg__failk(x, s.val[WC_LEVEL], "id_level", "level %u of '%.64s' must be a '+' level",
                      w->id_level, w->filter);
  if (w->path && mqtt_path_check(w->path))
    return cfg__failk(x, s.val[WC_PATH], "path", "expected a field path like value or data.ch4, got '%.64s'", w->path);
  if (w->ts_path && mqtt_path_check(w->ts_path))
    return cfg__failk(x, s.val[WC_TS_PATH], "ts_path", "expected a field path like ts, got '%.64s'", w->ts_path);
  return 0;
}

static int cfg__mqtt_wildcards(struct cfg_ctx *x, struct dg_mqtt_broker *b, const struct cfg_seen *s)
{
  if (!s->val[MQ_WILDCARDS]) return 0;
  size_t mark = cfg__path_key(x, "wildcard_topics");
  int rc = cfg__list(x, s->val[MQ_WILDCARDS], sizeof *b->wildcards, &b->wildcards, &b->n_wildcards,
                     cfg__wildcard);
  cfg__path_restore(x, mark);
  return rc;
}

/* ---- mqtt point states ---- */

/* states: { "RUN": 1, "STOP": 0 }: text → finite number, texts unique. */
static int cfg__mqtt_states(struct cfg_ctx *x, struct dg_point *p, const struct cfg_seen *s)
{
  const struct dg_ynode *m = s->val[PT_STATES];
  if (!m || cfg__is_null(m)) return 0;
  if (m->type != DG_YMAP || !m->n)
    return cfg__failk(x, m, "states", "expected a non-empty mapping of payload text to number, like { RUN: 1, STOP: 0 }");
  size_t n = m->n / 2;
  p->mqtt.states = calloc(n, sizeof *p->mqtt.states);
  if (!p->mqtt.states) return cfg__oom(x);
  for (size_t i = 0; i < n; i++) {
    const struct dg_ynode *k = m->kids[2 * i], *v = m->kids[2 * i + 1];
    const char *text, *num;
    int rc = cfg__scalar(x, k, "a state text", &text);
    if (!rc) rc = cfg__scalar(x, v, "a number", &num);
    if (rc) return rc;
    if (!text || !*text) return cfg__failk(x, k, "states", "expected a non-empty state text");
    for (size_t j = 0; j < p->mqtt.n_states; j++)
      if (!strcmp(p->mqtt.states[j].text, text))
        return cfg__failk(x, k, "states", "state '%.64s' given twice", text);
    char *end = NULL;
    errno = 0;
    double d = num ? strtod(num, &end) : NAN;
    if (!num || end == num || *end || errno || !isfinite(d))
      return cfg__failk(x, v, "states", "expected a number for state '%.64s'", text);
    p->mqtt.states[p->mqtt.n_states].text = strdup(text);
    if (!p->mqtt.states[p->mqtt.n_states].text) return cfg__oom(x);
    p->mqtt.states[p->mqtt.n_states++].value = d;
  }
  return 0;
}
