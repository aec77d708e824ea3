#include "scenario.h"

#include <errno.h>
#include <libfyaml.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modbus.h"

#define PS__EPS 1e-9

struct ps__ctx {
  const char *path;
  char *err;
  size_t errlen;
};

/* libfyaml 0.7 has no node start mark: locate a node by its first scalar. */
static const struct fy_mark *ps__mark(struct fy_node *n)
{
  void *it = NULL;
  if (!n) return NULL;
  if (fy_node_is_scalar(n)) {
    struct fy_token *t = fy_node_get_scalar_token(n);
    return t ? fy_token_start_mark(t) : NULL;
  }
  if (fy_node_is_mapping(n)) {
    struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
    return p ? ps__mark(fy_node_pair_key(p)) : NULL;
  }
  if (fy_node_is_sequence(n)) return ps__mark(fy_node_sequence_iterate(n, &it));
  return NULL;
}

__attribute__((format(printf, 3, 4)))
static int ps__err(struct ps__ctx *c, struct fy_node *n, const char *fmt, ...)
{
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const struct fy_mark *m = ps__mark(n);
  if (m) snprintf(c->err, c->errlen, "%s:%d:%d: %s", c->path, m->line + 1, m->column + 1, msg);
  else snprintf(c->err, c->errlen, "%s: %s", c->path, msg);
  return -EINVAL;
}

static const char *ps__scalar(struct fy_node *n, size_t *len)
{
  if (!n || !fy_node_is_scalar(n)) return NULL;
  return fy_node_get_scalar(n, len);
}

static int ps__key_is(struct fy_node *key, const char *name)
{
  size_t len;
  const char *s = ps__scalar(key, &len);
  return s && len == strlen(name) && memcmp(s, name, len) == 0;
}

static int ps__number(struct ps__ctx *c, struct fy_node *n, double *out)
{
  size_t len;
  const char *s = ps__scalar(n, &len);
  char buf[64];
  if (!s || len == 0 || len >= sizeof buf) return ps__err(c, n, "expected a number");
  memcpy(buf, s, len);
  buf[len] = '\0';
  char *end;
  double v = strtod(buf, &end);
  if (*end || !isfinite(v)) return ps__err(c, n, "expected a number, got '%s'", buf);
  *out = v;
  return 0;
}

int ps_parse_duration(const char *s, size_t len, double *seconds)
{
  char buf[64];
  if (len == 0 || len >= sizeof buf) return -EINVAL;
  memcpy(buf, s, len);
  buf[len] = '\0';
  char *end;
  double v = strtod(buf, &end);
  if (end == buf || !isfinite(v) || v < 0) return -EINVAL;
  double unit;
  if (!*end || strcmp(end, "s") == 0) unit = 1;
  else if (strcmp(end, "ms") == 0) unit = 0.001;
  else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0) unit = 60;
  else if (strcmp(end, "h") == 0) unit = 3600;
  else return -EINVAL;
  *seconds = v * unit;
  return 0;
}

static int ps__duration(struct ps__ctx *c, struct fy_node *n, double *out)
{
  size_t len;
  const char *s = ps__scalar(n, &len);
  if (!s || ps_parse_duration(s, len, out))
    return ps__err(c, n, "expected a duration such as 500ms, 1s, 2m or 1h");
  return 0;
}

static int ps__bool(struct ps__ctx *c, struct fy_node *n, bool *out)
{
  if (ps__key_is(n, "true") || ps__key_is(n, "yes")) *out = true;
  else if (ps__key_is(n, "false") || ps__key_is(n, "no")) *out = false;
  else return ps__err(c, n, "expected true or false");
  return 0;
}

static int ps__string(struct ps__ctx *c, struct fy_node *n, char **out)
{
  size_t len;
  const char *s = ps__scalar(n, &len);
  if (!s || len == 0) return ps__err(c, n, "expected a non-empty string");
  free(*out);
  *out = strndup(s, len);
  return *out ? 0 : -ENOMEM;
}

static int ps__kind(struct ps__ctx *c, struct fy_node *n, enum ps_kind *out)
{
  static const struct { const char *name; enum ps_kind kind; } kinds[] = {
    {"const", PS_CONST}, {"ramp", PS_RAMP}, {"step", PS_STEP},
    {"noise", PS_NOISE}, {"drop", PS_DROP}, {"stuck", PS_STUCK},
    {"silent", PS_SILENT}, {"exception", PS_EXCEPTION},
  };
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (ps__key_is(n, kinds[i].name)) {
      *out = kinds[i].kind;
      return 0;
    }
  return ps__err(c, n, "unknown kind (expected one of: const, ramp, step, noise, drop, stuck, "
                       "silent, exception)");
}

static int ps__segment(struct ps__ctx *c, struct fy_node *n, struct ps_segment *seg,
                       double *duration)
{
  if (!fy_node_is_mapping(n)) return ps__err(c, n, "a profile segment must be a mapping");
  *seg = (struct ps_segment){.at_s = NAN, .value = NAN, .from = NAN, .to = NAN};
  *duration = NAN;
  double code = NAN;
  void *it = NULL;
  struct fy_node_pair *p;
  int rc = 0;
  while (rc == 0 && (p = fy_node_mapping_iterate(n, &it))) {
    struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
    if (ps__key_is(k, "at")) rc = ps__duration(c, v, &seg->at_s);
    else if (ps__key_is(k, "kind")) rc = ps__kind(c, v, &seg->kind);
    else if (ps__key_is(k, "value")) rc = ps__number(c, v, &seg->value);
    else if (ps__key_is(k, "from")) rc = ps__number(c, v, &seg->from);
    else if (ps__key_is(k, "to")) rc = ps__number(c, v, &seg->to);
    else if (ps__key_is(k, "amplitude")) rc = ps__number(c, v, &seg->amplitude);
    else if (ps__key_is(k, "duration")) rc = ps__duration(c, v, duration);
    else if (ps__key_is(k, "code")) rc = ps__number(c, v, &code);
    else
      rc = ps__err(c, k, "unknown key (expected one of: at, kind, value, from, to, amplitude, "
                         "duration, code)");
  }
  if (rc) return rc;
  if (isnan(seg->at_s)) return ps__err(c, n, "segment needs 'at'");
  if (!seg->kind) return ps__err(c, n, "segment needs 'kind'");
  if (seg->amplitude < 0) return ps__err(c, n, "'amplitude' must not be negative");
  switch (seg->kind) {
  case PS_CONST:
  case PS_STEP:
    if (isnan(seg->value)) return ps__err(c, n, "this kind needs 'value'");
    break;
  case PS_NOISE:
    if (isnan(seg->value) || !(seg->amplitude > 0))
      return ps__err(c, n, "noise needs 'value' and a positive 'amplitude'");
    break;
  case PS_RAMP:
    if (isnan(seg->from) || isnan(seg->to)) return ps__err(c, n, "ramp needs 'from' and 'to'");
    break;
  case PS_EXCEPTION:
    if (!(code >= 1 && code <= 255 && code == floor(code)))
      return ps__err(c, n, "exception needs 'code', a Modbus exception code 1..255");
    seg->code = (int)code;
    break;
  case PS_DROP:
  case PS_STUCK:
  case PS_SILENT:
    break;
  }
  if (seg->kind != PS_EXCEPTION && !isnan(code)) return ps__err(c, n, "'code' is only for kind exception");
  return 0;
}

static int ps__profile(struct ps__ctx *c, struct fy_node *n, struct ps_signal *sig)
{
  if (!fy_node_is_sequence(n) || fy_node_sequence_item_count(n) <= 0)
    return ps__err(c, n, "'profile' must be a non-empty list of segments");
  size_t count = (size_t)fy_node_sequence_item_count(n);
  double *durations = calloc(count, sizeof *durations);
  sig->segments = calloc(count, sizeof *sig->segments);
  if (!durations || !sig->segments) {
    free(durations);
    return -ENOMEM;
  }
  void *it = NULL;
  struct fy_node *item, *last = n;
  int rc = 0;
  while (rc == 0 && (item = fy_node_sequence_iterate(n, &it))) {
    size_t i = sig->n_segments;
    last = item;
    rc = ps__segment(c, item, &sig->segments[i], &durations[i]);
    if (rc == 0 && i > 0 && !(sig->segments[i].at_s > sig->segments[i - 1].at_s))
      rc = ps__err(c, item, "segments must be in increasing 'at' order");
    sig->n_segments++;
  }
  for (size_t i = 0; rc == 0 && i < sig->n_segments; i++) {
    struct ps_segment *seg = &sig->segments[i];
    if (seg->kind != PS_RAMP) continue;
    if (!isnan(durations[i]) && durations[i] > 0) seg->end_s = seg->at_s + durations[i];
    else if (i + 1 < sig->n_segments) seg->end_s = sig->segments[i + 1].at_s;
    else rc = ps__err(c, last, "the last ramp needs a 'duration'");
  }
  free(durations);
  return rc;
}

static int ps__json_path(struct ps__ctx *c, struct fy_node *n, char **out)
{
  int rc = ps__string(c, n, out);
  if (rc) return rc;
  const char *p = *out;
  if (strncmp(p, "$.", 2) == 0) memmove(*out, p + 2, strlen(p + 2) + 1);
  bool seg_empty = true;
  for (p = *out; *p; p++) {
    if (*p == '.') {
      if (seg_empty) break;
      seg_empty = true;
    } else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
               *p == '_' || *p == '-') {
      seg_empty = false;
    } else {
      seg_empty = true;
      break;
    }
  }
  if (seg_empty) return ps__err(c, n, "json_path must be dotted names of [A-Za-z0-9_-]");
  return 0;
}

static int ps__format(struct ps__ctx *c, struct fy_node *n, enum ps_format *out)
{
  if (ps__key_is(n, "json")) *out = PS_JSON;
  else if (ps__key_is(n, "bare")) *out = PS_BARE;
  else return ps__err(c, n, "format must be json or bare");
  return 0;
}

static int ps__choice(struct ps__ctx *c, struct fy_node *n, const char *const *names, size_t count,
                      const char *what, int *out)
{
  for (size_t i = 0; i < count; i++)
    if (ps__key_is(n, names[i])) {
      *out = (int)i;
      return 0;
    }
  return ps__err(c, n, "unknown %s", what);
}

static int ps__int(struct ps__ctx *c, struct fy_node *n, double lo, double hi, double *out)
{
  int rc = ps__number(c, n, out);
  if (rc == 0 && !(*out >= lo && *out <= hi && *out == floor(*out)))
    rc = ps__err(c, n, "expected an integer from %g to %g", lo, hi);
  return rc;
}

static int ps__rtu_path(struct ps__ctx *c, struct fy_node *v, char **dst)
{
  size_t len;
  const char *t = ps__scalar(v, &len);
  if (!t || !len || memchr(t, '\0', len)) return ps__err(c, v, "expected a path");
  free(*dst);
  *dst = strndup(t, len);
  return *dst ? 0 : ps__err(c, v, "out of memory");
}

/* rtu: { link: /tmp/plantsim-rtu } (a pty created here) or { device: /dev/ttyUSB0, baud: 19200 }. */
static int ps__rtu(struct ps__ctx *c, struct fy_node *n, struct ps_modbus *mb)
{
  if (!fy_node_is_mapping(n)) return ps__err(c, n, "'rtu' must be a mapping with 'link' or 'device'");
  void *it = NULL;
  struct fy_node_pair *p;
  int rc = 0;
  double num = 0;
  while (rc == 0 && (p = fy_node_mapping_iterate(n, &it))) {
    struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
    if (ps__key_is(k, "link")) rc = ps__rtu_path(c, v, &mb->rtu_link);
    else if (ps__key_is(k, "device")) rc = ps__rtu_path(c, v, &mb->rtu_device);
    else if (ps__key_is(k, "baud")) {
      if ((rc = ps__int(c, v, 300, 4000000, &num)) == 0) mb->rtu_baud = (uint32_t)num;
    } else rc = ps__err(c, k, "unknown key (expected one of: link, device, baud)");
  }
  if (rc) return rc;
  if (!mb->rtu_link == !mb->rtu_device) return ps__err(c, n, "'rtu' needs exactly one of 'link' or 'device'");
  return 0;
}

static int ps__modbus_key(struct ps__ctx *c, struct fy_node *k, struct fy_node *v, struct ps_modbus *mb,
                          int *spaces)
{
  static const char *const space_keys[] = {"coil", "discrete", "input", "holding"};
  static const char *const types[] = {"bool", "int16", "uint16", "int32", "uint32", "float32",
                                      "int64", "uint64", "float64"};
  double num;
  int rc, choice = 0;
  for (int i = 0; i < 4; i++) {
    if (!ps__key_is(k, space_keys[i])) continue;
    if ((rc = ps__int(c, v, 0, 65535, &num))) return rc;
    mb->space = (enum dg_mb_space)(DG_MB_COIL + i);
    mb->address = (uint16_t)num;
    ++*spaces;
    return 0;
  }
  if (ps__key_is(k, "port")) {
    if ((rc = ps__int(c, v, 1, 65535, &num))) return rc;
    mb->port = (uint16_t)num;
  } else if (ps__key_is(k, "unit")) {
    if ((rc = ps__int(c, v, 0, 247, &num))) return rc;
    mb->unit = (uint8_t)num;
  } else if (ps__key_is(k, "type")) {
    if ((rc = ps__choice(c, v, types, 9, "type (expected bool, int16, uint16, int32, uint32, "
                                      "float32, int64, uint64 or float64)", &choice)))
      return rc;
    mb->type = (enum dg_mb_type)(DG_MB_BOOL + choice);
  } else if (ps__key_is(k, "order")) {
    size_t len;
    const char *s = ps__scalar(v, &len);
    char buf[8] = "";
    if (s && len < sizeof buf) memcpy(buf, s, len);
    if ((mb->order = mb_order_parse(buf)) < 0 || !s || len != 4)
      return ps__err(c, v, "order must be ABCD, CDAB, BADC or DCBA");
  } else if (ps__key_is(k, "rtu")) {
    return ps__rtu(c, v, mb);
  } else if (ps__key_is(k, "scale")) {
    if ((rc = ps__number(c, v, &mb->scale))) return rc;
    if (mb->scale == 0) return ps__err(c, v, "scale must not be 0");
  } else if (ps__key_is(k, "offset")) {
    return ps__number(c, v, &mb->offset);
  } else {
    return ps__err(c, k, "unknown key (expected one of: port, rtu, unit, coil, discrete, input, holding, "
                         "type, order, scale, offset)");
  }
  return 0;
}

static int ps__modbus(struct ps__ctx *c, struct fy_node *n, struct ps_modbus *mb)
{
  if (!fy_node_is_mapping(n)) return ps__err(c, n, "'modbus' must be a mapping");
  *mb = (struct ps_modbus){.unit = 1, .scale = 1};
  int spaces = 0, rc = 0;
  bool typed = false;
  void *it = NULL;
  struct fy_node_pair *p;
  while (rc == 0 && (p = fy_node_mapping_iterate(n, &it))) {
    rc = ps__modbus_key(c, fy_node_pair_key(p), fy_node_pair_value(p), mb, &spaces);
    typed = typed || ps__key_is(fy_node_pair_key(p), "type");
  }
  if (rc) return rc;
  if (!mb->port && !mb->rtu_link && !mb->rtu_device) return ps__err(c, n, "'modbus' needs 'port' or 'rtu'");
  if (mb->port && (mb->rtu_link || mb->rtu_device)) return ps__err(c, n, "'modbus' takes 'port' or 'rtu', not both");
  if (spaces != 1) return ps__err(c, n, "'modbus' needs exactly one of coil, discrete, input, holding");
  bool bits = mb->space == DG_MB_COIL || mb->space == DG_MB_DISCRETE;
  if (!typed) mb->type = bits ? DG_MB_BOOL : DG_MB_UINT16;
  if (bits != (mb->type == DG_MB_BOOL)) return ps__err(c, n, "coils and discrete inputs are bool, registers are not");
  if ((unsigned)mb->address + mb_type_registers(mb->type, -1) > 65536)
    return ps__err(c, n, "the value runs past address 65535");
  return 0;
}

/* silent and exception describe a Modbus device; an MQTT sensor has no such thing. */
static int ps__check_kinds(struct ps__ctx *c, struct fy_node *n, const struct ps_signal *sig)
{
  for (size_t i = 0; !sig->is_modbus && i < sig->n_segments; i++)
    if (sig->segments[i].kind == PS_SILENT || sig->segments[i].kind == PS_EXCEPTION)
      return ps__err(c, n, "kinds silent and exception need a 'modbus' signal (use drop for MQTT)");
  return 0;
}

static int ps__signal(struct ps__ctx *c, struct fy_node *n, struct ps_signal *sig)
{
  if (!fy_node_is_mapping(n)) return ps__err(c, n, "a signal must be a mapping");
  *sig = (struct ps_signal){.format = PS_JSON, .with_ts = true, .period_s = 1, .qos = 1};
  struct fy_node *profile = NULL;
  double qos = 1;
  void *it = NULL;
  struct fy_node_pair *p;
  int rc = 0;
  while (rc == 0 && (p = fy_node_mapping_iterate(n, &it))) {
    struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
    if (ps__key_is(k, "topic")) rc = ps__string(c, v, &sig->topic);
    else if (ps__key_is(k, "format")) rc = ps__format(c, v, &sig->format);
    else if (ps__key_is(k, "json_path")) rc = ps__json_path(c, v, &sig->json_path);
    else if (ps__key_is(k, "ts")) rc = ps__bool(c, v, &sig->with_ts);
    else if (ps__key_is(k, "period")) rc = ps__duration(c, v, &sig->period_s);
    else if (ps__key_is(k, "loop")) rc = ps__duration(c, v, &sig->loop_s);
    else if (ps__key_is(k, "qos")) rc = ps__number(c, v, &qos);
    else if (ps__key_is(k, "retain")) rc = ps__bool(c, v, &sig->retain);
    else if (ps__key_is(k, "profile")) profile = v;
    else if (ps__key_is(k, "modbus")) {
      sig->is_modbus = true;
      rc = ps__modbus(c, v, &sig->mb);
    } else
      rc = ps__err(c, k, "unknown key (expected one of: topic, modbus, format, json_path, ts, "
                         "period, loop, qos, retain, profile)");
    if (rc == 0 && ps__key_is(k, "qos") && qos != 0 && qos != 1 && qos != 2)
      rc = ps__err(c, v, "qos must be 0, 1 or 2");
    if (rc == 0 && ps__key_is(k, "period") && !(sig->period_s >= 0.001))
      rc = ps__err(c, v, "period must be at least 1ms");
  }
  if (rc) return rc;
  sig->qos = (int)qos;
  if (!sig->topic == !sig->is_modbus) return ps__err(c, n, "signal needs exactly one of 'topic', 'modbus'");
  if (sig->topic && strpbrk(sig->topic, "+#")) return ps__err(c, n, "topic must not contain wildcards");
  if (!profile) return ps__err(c, n, "signal needs 'profile'");
  if (sig->format == PS_JSON && !sig->json_path && !(sig->json_path = strdup("value")))
    return -ENOMEM;
  rc = ps__profile(c, profile, sig);
  return rc ? rc : ps__check_kinds(c, profile, sig);
}

static int ps__signals(struct ps__ctx *c, struct fy_node *n, struct ps_scenario *s)
{
  if (!fy_node_is_sequence(n) || fy_node_sequence_item_count(n) <= 0)
    return ps__err(c, n, "'signals' must be a non-empty list");
  size_t count = (size_t)fy_node_sequence_item_count(n);
  s->signals = calloc(count, sizeof *s->signals);
  if (!s->signals) return -ENOMEM;
  void *it = NULL;
  struct fy_node *item;
  int rc = 0;
  while (rc == 0 && (item = fy_node_sequence_iterate(n, &it))) rc = ps__signal(c, item, &s->signals[s->n_signals++]);
  return rc;
}

static int ps__root(struct ps__ctx *c, struct fy_node *root, struct ps_scenario *s)
{
  if (!root) return ps__err(c, NULL, "empty scenario");
  if (fy_node_is_sequence(root)) return ps__signals(c, root, s);
  if (!fy_node_is_mapping(root)) return ps__err(c, root, "expected a mapping with 'signals'");
  struct fy_node *signals = NULL;
  double seed = 1;
  void *it = NULL;
  struct fy_node_pair *p;
  int rc = 0;
  while (rc == 0 && (p = fy_node_mapping_iterate(root, &it))) {
    struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
    if (ps__key_is(k, "signals")) signals = v;
    else if (ps__key_is(k, "loop")) rc = ps__duration(c, v, &s->loop_s);
    else if (ps__key_is(k, "duration")) rc = ps__duration(c, v, &s->duration_s);
    else if (ps__key_is(k, "seed")) rc = ps__number(c, v, &seed);
    else rc = ps__err(c, k, "unknown key (expected one of: signals, loop, duration, seed)");
  }
  if (rc) return rc;
  if (!signals) return ps__err(c, root, "scenario needs 'signals'");
  s->rng = (uint64_t)fabs(seed) * 2654435761u + 88172645463325252ull;
  return ps__signals(c, signals, s);
}

int ps_load(const char *path, struct ps_scenario *out, char *err, size_t errlen)
{
  struct ps__ctx c = {path, err, errlen};
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "r");
  if (!f) {
    int e = errno;
    snprintf(err, errlen, "%s: %s", path, strerror(e));
    return -e;
  }
  fclose(f);
  /* Not quiet: libfyaml prints syntax errors as file:line:col itself. */
  struct fy_parse_cfg cfg = {.flags = FYPCF_DEFAULT_PARSE};
  struct fy_document *doc = fy_document_build_from_file(&cfg, path);
  if (!doc) {
    snprintf(err, errlen, "%s: not valid YAML (see the message above)", path);
    return -EINVAL;
  }
  out->path = strdup(path);
  int rc = out->path ? ps__root(&c, fy_document_root(doc), out) : -ENOMEM;
  fy_document_destroy(doc);
  for (size_t i = 0; rc == 0 && i < out->n_signals; i++)
    if (out->signals[i].loop_s == 0) out->signals[i].loop_s = out->loop_s;
  if (rc == -ENOMEM) snprintf(err, errlen, "%s: out of memory", path);
  if (rc) ps_free(out);
  return rc;
}

void ps_free(struct ps_scenario *s)
{
  for (size_t i = 0; i < s->n_signals; i++) {
    free(s->signals[i].topic);
    free(s->signals[i].mb.rtu_link);
    free(s->signals[i].mb.rtu_device);
    free(s->signals[i].json_path);
    free(s->signals[i].segments);
  }
  free(s->signals);
  free(s->path);
  memset(s, 0, sizeof *s);
}

double ps_length(const struct ps_scenario *s, bool *inclusive)
{
  *inclusive = false;
  if (s->duration_s > 0) return s->duration_s;
  if (s->loop_s > 0) return s->loop_s;
  double end = 0;
  bool from_loop = false;
  for (size_t i = 0; i < s->n_signals; i++) {
    const struct ps_signal *sig = &s->signals[i];
    double sig_end = sig->loop_s;
    for (size_t j = 0; j < sig->n_segments && sig->loop_s <= 0; j++) {
      const struct ps_segment *seg = &sig->segments[j];
      double e = seg->kind == PS_RAMP ? seg->end_s : seg->at_s;
      if (e > sig_end) sig_end = e;
    }
    if (sig_end > end) {
      end = sig_end;
      from_loop = sig->loop_s > 0;
    }
  }
  *inclusive = !from_loop;
  return end;
}

/* xorshift64*: noise only needs to look random, and a seed makes demos repeatable. */
static double ps__uniform(struct ps_scenario *s)
{
  uint64_t x = s->rng ? s->rng : 88172645463325252ull;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  s->rng = x;
  return (double)((x * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

const struct ps_segment *ps_segment_at(const struct ps_signal *sig, double t)
{
  if (sig->loop_s > 0) t = fmod(t, sig->loop_s);
  const struct ps_segment *seg = NULL;
  for (size_t i = 0; i < sig->n_segments && sig->segments[i].at_s <= t + PS__EPS; i++)
    seg = &sig->segments[i];
  return seg;
}

bool ps_value(struct ps_scenario *s, struct ps_signal *sig, double t, double *value)
{
  const struct ps_segment *seg = ps_segment_at(sig, t);
  if (!seg) return false;
  if (sig->loop_s > 0) t = fmod(t, sig->loop_s);
  double v;
  switch (seg->kind) {
  case PS_DROP:
  case PS_SILENT:
  case PS_EXCEPTION:
    return false;
  case PS_STUCK:
    if (sig->has_last) v = sig->last_value;
    else if (!isnan(seg->value)) v = seg->value;
    else return false;
    *value = v;
    return true;
  case PS_RAMP: {
    double span = seg->end_s - seg->at_s;
    double frac = span > 0 ? (t - seg->at_s) / span : 1;
    frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
    v = seg->from + (seg->to - seg->from) * frac;
    break;
  }
  default:
    v = seg->value;
    break;
  }
  if (seg->amplitude > 0) v += seg->amplitude * (2 * ps__uniform(s) - 1);
  sig->last_value = v;
  sig->has_last = true;
  *value = v;
  return true;
}

static int ps__append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= len - *pos) return -1;
  *pos += (size_t)n;
  return 0;
}

int ps_payload(const struct ps_signal *sig, double value, int64_t ts_ms, char *buf, size_t len)
{
  size_t pos = 0;
  if (len == 0) return -1;
  if (sig->format == PS_BARE) return ps__append(buf, len, &pos, "%.10g", value) ? -1 : (int)pos;
  const char *path = sig->json_path;
  int depth = 0, rc = ps__append(buf, len, &pos, "{");
  for (;;) {
    const char *dot = strchr(path, '.');
    int seg = dot ? (int)(dot - path) : (int)strlen(path);
    if (rc == 0) rc = ps__append(buf, len, &pos, "\"%.*s\": ", seg, path);
    if (!dot) break;
    if (rc == 0) rc = ps__append(buf, len, &pos, "{");
    depth++;
    path = dot + 1;
  }
  if (rc == 0) rc = ps__append(buf, len, &pos, "%.10g", value);
  while (rc == 0 && depth-- > 0) rc = ps__append(buf, len, &pos, "}");
  if (rc == 0 && sig->with_ts) rc = ps__append(buf, len, &pos, ", \"ts\": %lld", (long long)ts_ms);
  if (rc == 0) rc = ps__append(buf, len, &pos, "}");
  return rc ? -1 : (int)pos;
}
