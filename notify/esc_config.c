#include "esc_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workcal.h"

#define ESC_MAX_KEYS 24
#define ESC_COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct ecx {
  const struct esc_parse *p;
  struct dg_config *c;
  struct esc_config *e;
  struct esc_rota *rota; /* the rota being parsed, for its overrides' local times */
  char path[256];
  size_t plen;
};

/* Values of the keys of one mapping, in the order of the allowed names. */
struct esc_keys {
  const struct dg_ynode *key[ESC_MAX_KEYS], *val[ESC_MAX_KEYS];
};

static const char *const esc__events[] = {"alarm_activate", "alarm_escalate", "alarm_rtn", "alarm_ack",
                                          "hazard_opened", "hazard_submitted", "hazard_overdue",
                                          "major_hazard_opened", "inspection_missed", "driver_fault", NULL};
static const char *const esc__stops[] = {"acknowledged", "shelved", "out_of_service", "returned_to_normal",
                                         "hazard_moved_on", NULL};
static const char *const esc__resp[] = {"measure", "unit", "hazard_source", NULL};
static const char *const esc__prios[] = {"low", "medium", "high", "critical", NULL};
static const char *const esc__levels[] = {"blue", "yellow", "orange", "red", NULL};
static const char *const esc__types[] = {"webhook", "dingtalk", "wecom", "feishu", "smtp", "sms", "voice", NULL};
static const char *const esc__langs[] = {"zh", "en", NULL};
static const char *const esc__periods[] = {"daily", "weekly", NULL};

const char *esc_event_name(enum esc_event ev)
{
  return ev < ESC_EV_COUNT ? esc__events[ev] : "unknown";
}

/* ---- errors and key paths ---- */

__attribute__((format(printf, 3, 4)))
static int esc__fail(struct ecx *x, const struct dg_ynode *n, const char *fmt, ...)
{
  char msg[512], prefix[sizeof x->path + 2];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(prefix, sizeof prefix, "%s: ", x->path);
  dg_yaml_format_error(x->p->err, x->p->errlen, x->p->name, n ? n->line : 1, n ? n->col : 1, prefix, msg);
  return -EINVAL;
}

static int esc__oom(struct ecx *x)
{
  if (x->p->err && x->p->errlen) snprintf(x->p->err, x->p->errlen, "%s: out of memory", x->p->name);
  return -ENOMEM;
}

static size_t esc__push(struct ecx *x, const char *key, size_t index)
{
  size_t old = x->plen;
  int n = key ? snprintf(x->path + old, sizeof x->path - old, ".%s", key)
              : snprintf(x->path + old, sizeof x->path - old, "[%zu]", index);
  x->plen = n < 0 || (size_t)n >= sizeof x->path - old ? sizeof x->path - 1 : old + (size_t)n;
  return old;
}

static void esc__pop(struct ecx *x, size_t old)
{
  x->plen = old;
  x->path[old] = '\0';
}

/* ---- scalars ---- */

static int esc__text(struct ecx *x, const struct dg_ynode *n, const char **out)
{
  if (n->type != DG_YSCALAR || n->has_nul || !n->len) return esc__fail(x, n, "expected a non-empty string");
  *out = n->text;
  return 0;
}

static int esc__str(struct ecx *x, const struct dg_ynode *n, char **dst)
{
  const char *t = NULL;
  int rc = esc__text(x, n, &t);
  if (rc) return rc;
  free(*dst);
  return (*dst = strdup(t)) ? 0 : esc__oom(x);
}

static int esc__str_at(struct ecx *x, const struct dg_ynode *n, void *dst) { return esc__str(x, n, dst); }

static int esc__choice(struct ecx *x, const struct dg_ynode *n, const char *const *names, int *idx)
{
  const char *t = NULL;
  int rc = esc__text(x, n, &t);
  if (rc) return rc;
  char list[256] = "";
  for (int i = 0; names[i]; i++) {
    if (!strcmp(t, names[i])) return *idx = i, 0;
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
  }
  return esc__fail(x, n, "expected one of %s, got '%.64s'", list, t);
}

static int esc__uint(struct ecx *x, const struct dg_ynode *n, uint32_t lo, uint32_t hi, uint32_t *dst)
{
  const char *t = NULL;
  char *end;
  int rc = esc__text(x, n, &t);
  if (rc) return rc;
  errno = 0;
  unsigned long v = strtoul(t, &end, 10);
  if (*t == '-' || *end || errno || v < lo || v > hi)
    return esc__fail(x, n, "expected an integer from %u to %u, got '%.64s'", lo, hi, t);
  *dst = (uint32_t)v;
  return 0;
}

static int esc__bool(struct ecx *x, const struct dg_ynode *n, bool *dst)
{
  const char *t = NULL;
  int rc = esc__text(x, n, &t);
  if (rc) return rc;
  if (!strcmp(t, "true")) return *dst = true, 0;
  if (!strcmp(t, "false")) return *dst = false, 0;
  return esc__fail(x, n, "expected true or false, got '%.64s'", t);
}

/* "30s", "5m", "2h", "1d", or bare seconds, into seconds within [lo, hi]. */
static int esc__duration(struct ecx *x, const struct dg_ynode *n, uint32_t lo, uint32_t hi, uint32_t *dst)
{
  const char *t = NULL;
  char *end;
  int rc = esc__text(x, n, &t);
  if (rc) return rc;
  errno = 0;
  unsigned long v = strtoul(t, &end, 10);
  unsigned long mul = !*end || !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600
                    : !strcmp(end, "d") ? 86400 : 0;
  if (end == t || *t == '-' || errno || !mul || v > hi / mul || v * mul < lo)
    return esc__fail(x, n, "expected a duration like 30s, 5m, 2h or 1d from %us to %us, got '%.64s'", lo, hi, t);
  *dst = (uint32_t)(v * mul);
  return 0;
}

/* "HH:MM" into minutes after midnight. */
static int esc__clock(struct ecx *x, const struct dg_ynode *n, uint32_t *min)
{
  const char *t = NULL;
  unsigned h, m;
  char tail;
  int rc = esc__text(x, n, &t);
  if (rc) return rc;
  if (sscanf(t, "%2u:%2u%c", &h, &m, &tail) != 2 || h > 23 || m > 59)
    return esc__fail(x, n, "expected a time of day \"HH:MM\", got '%.64s'", t);
  *min = h * 60 + m;
  return 0;
}

/* "+08:00", "-05:30", "UTC" into minutes east of UTC. */
static int esc__offset(struct ecx *x, const struct dg_ynode *n, int32_t *min)
{
  const char *t = NULL;
  unsigned h, m;
  char sign, tail;
  int rc = esc__text(x, n, &t);
  if (rc) return rc;
  if (!strcmp(t, "UTC") || !strcmp(t, "Z")) return *min = 0, 0;
  if (sscanf(t, "%c%2u:%2u%c", &sign, &h, &m, &tail) != 3 || (sign != '+' && sign != '-') || h > 14 || m > 59)
    return esc__fail(x, n, "expected a UTC offset like \"+08:00\" or \"UTC\", got '%.64s'", t);
  *min = (int32_t)(h * 60 + m) * (sign == '-' ? -1 : 1);
  return 0;
}

/* "YYYY-MM-DD HH:MM" local time (offset minutes east) into wall-clock ms. */
static int esc__local_time(struct ecx *x, const struct dg_ynode *n, int32_t offset_min, int64_t *ms)
{
  const char *t = NULL;
  char date[11];
  unsigned h, m;
  int32_t day;
  char tail;
  int rc = esc__text(x, n, &t);
  if (rc) return rc;
  if (sscanf(t, "%10s %2u:%2u%c", date, &h, &m, &tail) != 3 || h > 23 || m > 59 || workcal_parse_date(date, &day))
    return esc__fail(x, n, "expected a local time \"YYYY-MM-DD HH:MM\", got '%.64s'", t);
  *ms = ((int64_t)day * 1440 + h * 60 + m - offset_min) * 60000;
  return 0;
}

/* ---- mappings and lists ---- */

static int esc__map(struct ecx *x, const struct dg_ynode *n, const char *const *names, struct esc_keys *k)
{
  memset(k, 0, sizeof *k);
  if (n->type != DG_YMAP) return esc__fail(x, n, "expected a mapping");
  for (size_t i = 0; i + 1 < n->n; i += 2) {
    const struct dg_ynode *key = n->kids[i];
    size_t f = 0;
    while (names[f] && (key->type != DG_YSCALAR || strcmp(names[f], key->text))) f++;
    if (!names[f]) {
      char list[512] = "";
      for (size_t j = 0; names[j]; j++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? ", " : "", names[j]);
      return esc__fail(x, key, "unknown key '%.64s' (expected one of: %s)", key->text ? key->text : "", list);
    }
    if (k->key[f]) return esc__fail(x, key, "duplicate key '%s'", names[f]);
    k->key[f] = key;
    k->val[f] = n->kids[i + 1];
  }
  return 0;
}

typedef int (*esc_item_fn)(struct ecx *x, const struct dg_ynode *n, void *item);

/* A sequence into a new array of `size`-byte items at *arr; *count is set first so a partly
 * built array is freed with its owner. */
static int esc__list(struct ecx *x, const struct dg_ynode *n, size_t size, void *arr, size_t *count,
                     esc_item_fn fn)
{
  if (n->type != DG_YSEQ) return esc__fail(x, n, "expected a sequence");
  if (!n->n) return 0;
  char *items = calloc(n->n, size);
  if (!items) return esc__oom(x);
  memcpy(arr, &items, sizeof items);
  *count = n->n;
  for (size_t i = 0; i < n->n; i++) {
    size_t mark = esc__push(x, NULL, i);
    int rc = fn(x, n->kids[i], items + i * size);
    esc__pop(x, mark);
    if (rc) return rc;
  }
  return 0;
}

/* A sequence of names into a bit mask (bit index + shift). */
static int esc__mask(struct ecx *x, const struct dg_ynode *n, const char *const *names, int shift, unsigned *mask)
{
  if (n->type != DG_YSEQ || !n->n) return esc__fail(x, n, "expected a non-empty sequence");
  *mask = 0;
  for (size_t i = 0; i < n->n; i++) {
    int idx;
    size_t mark = esc__push(x, NULL, i);
    int rc = esc__choice(x, n->kids[i], names, &idx);
    esc__pop(x, mark);
    if (rc) return rc;
    *mask |= 1u << (idx + shift);
  }
  return 0;
}

static int esc__under(struct ecx *x, const struct dg_ynode *v, const char *key, void *obj,
                      int (*fn)(struct ecx *, const struct dg_ynode *, void *))
{
  if (!v) return 0;
  size_t mark = esc__push(x, key, 0);
  int rc = fn(x, v, obj);
  esc__pop(x, mark);
  return rc;
}

/* ---- secrets: `<key>`, `<key>_file` or `<key>_env` ---- */

static int esc__secret(struct ecx *x, const struct esc_keys *k, int key, const char *name, char **dst)
{
  const struct dg_ynode *plain = k->val[key], *file = k->val[key + 1], *env = k->val[key + 2];
  const char *t = NULL;
  if ((plain != NULL) + (file != NULL) + (env != NULL) > 1)
    return esc__fail(x, k->key[key + 1] ? k->key[key + 1] : k->key[key + 2],
                     "give one of '%s', '%s_file' or '%s_env'", name, name, name);
  if (plain) return esc__under(x, plain, name, dst, esc__str_at);
  char which[32];
  snprintf(which, sizeof which, "%s%s", name, file ? "_file" : "_env");
  size_t mark = esc__push(x, which, 0);
  int rc = 0;
  if (file && !(rc = esc__text(x, file, &t)) && (rc = dg_yaml_read_secret(t, dst)))
    rc = esc__fail(x, file, "cannot read the secret in '%.128s': %s", t,
                   rc == -EINVAL ? "expected one non-empty line" : strerror(-rc));
  if (env && !(rc = esc__text(x, env, &t))) {
    const char *v = getenv(t);
    if (!v || !*v) rc = esc__fail(x, env, "environment variable '%.64s' is not set", t);
    else if (!(*dst = strdup(v))) rc = esc__oom(x);
  }
  esc__pop(x, mark);
  return rc;
}

/* ---- channels ---- */

enum { CH_ID, CH_TYPE, CH_URL, CH_URL_FILE, CH_URL_ENV, CH_SECRET, CH_SECRET_FILE, CH_SECRET_ENV, CH_TIMEOUT,
       CH_EXPIRE, CH_HEADERS, CH_BODY, CH_TEMPLATE, CH_USER, CH_FROM, CH_TLS, CH_MARKDOWN, CH_RATE, CH_NUM_MIN,
       CH_NUM_HOUR, CH_FALLBACK };
static const char *const esc__channel_keys[] = {
  "id", "type", "url", "url_file", "url_env", "secret", "secret_file", "secret_env", "timeout", "expire",
  "headers", "body_template", "template", "username", "from", "tls", "markdown", "rate_per_min",
  "per_number_per_min", "per_number_per_hour", "fallback", NULL};

static int esc__headers(struct ecx *x, const struct dg_ynode *n, void *obj)
{
  struct dg_channel *ch = obj;
  if (n->type != DG_YMAP) return esc__fail(x, n, "expected a mapping of header names to values");
  if (!(ch->headers = calloc(n->n / 2 + 1, sizeof *ch->headers))) return esc__oom(x);
  for (size_t i = 0; i + 1 < n->n; i += 2) {
    const char *name = NULL, *value = NULL;
    int rc = esc__text(x, n->kids[i], &name);
    if (!rc) rc = esc__text(x, n->kids[i + 1], &value);
    if (rc) return rc;
    if (strpbrk(name, ":\r\n ") || strpbrk(value, "\r\n"))
      return esc__fail(x, n->kids[i], "header '%.64s' has a bad name or value", name);
    size_t len = strlen(name) + strlen(value) + 3;
    if (!(ch->headers[ch->n_headers] = malloc(len))) return esc__oom(x);
    snprintf(ch->headers[ch->n_headers++], len, "%s: %s", name, value);
  }
  return 0;
}

static bool esc__prefixed(const char *s, const char *const *schemes)
{
  for (; *schemes; schemes++)
    if (!strncmp(s, *schemes, strlen(*schemes)) && s[strlen(*schemes)]) return true;
  return false;
}

static int esc__channel_check(struct ecx *x, const struct dg_ynode *n, struct dg_channel *ch, const struct esc_keys *k)
{
  static const char *const http[] = {"http://", "https://", NULL}, *const smtp[] = {"smtp://", "smtps://", NULL};
  if (!ch->url) return esc__fail(x, n, "missing required key 'url' (or 'url_file', 'url_env')");
  bool is_smtp = ch->type == DG_CHANNEL_SMTP;
  if (!esc__prefixed(ch->url, is_smtp ? smtp : http))
    return esc__fail(x, k->val[CH_URL] ? k->val[CH_URL] : n, "expected %s URL", is_smtp ? "an smtp:// or smtps://" : "an http:// or https://");
  if (is_smtp && !ch->from) return esc__fail(x, n, "missing required key 'from' (the sender address)");
  if (!is_smtp && (k->key[CH_FROM] || k->key[CH_USER] || k->key[CH_TLS]))
    return esc__fail(x, k->key[CH_FROM] ? k->key[CH_FROM] : k->key[CH_USER] ? k->key[CH_USER] : k->key[CH_TLS],
                     "key is only valid for smtp channels");
  if ((ch->type == DG_CHANNEL_SMS || ch->type == DG_CHANNEL_VOICE) && !ch->body_template)
    return esc__fail(x, n, "missing required key 'body_template' (the gateway request)");
  if (k->key[CH_FALLBACK] && ch->type != DG_CHANNEL_VOICE)
    return esc__fail(x, k->key[CH_FALLBACK], "'fallback' is only valid for voice channels");
  if (ch->markdown && ch->type != DG_CHANNEL_DINGTALK && ch->type != DG_CHANNEL_WECOM)
    return esc__fail(x, k->key[CH_MARKDOWN], "'markdown' is only valid for dingtalk and wecom channels");
  return 0;
}

static uint32_t esc__default_rate(enum dg_channel_type t)
{
  switch (t) {
  case DG_CHANNEL_DINGTALK:
  case DG_CHANNEL_WECOM: return 20;
  case DG_CHANNEL_FEISHU: return 100;
  default: return 0;
  }
}

static int esc__channel(struct ecx *x, const struct dg_ynode *n, void *item)
{
  struct dg_channel *ch = item;
  struct esc_keys k;
  int type = 0, rc = esc__map(x, n, esc__channel_keys, &k);
  ch->timeout_ms = 5000;
  ch->expire_s = 86400;
  if (rc) return rc;
  if (!k.val[CH_ID] || !k.val[CH_TYPE]) return esc__fail(x, n, "missing required key '%s'", k.val[CH_ID] ? "type" : "id");
  rc = esc__under(x, k.val[CH_ID], "id", &ch->id, esc__str_at);
  if (!rc && (dg_config_channel(x->c, ch->id) != ch || esc_config_channel(x->e, ch->id) != ch))
    rc = esc__fail(x, k.val[CH_ID], "duplicate channel id '%.64s'", ch->id);
  size_t mark = esc__push(x, "type", 0);
  if (!rc) rc = esc__choice(x, k.val[CH_TYPE], esc__types, &type);
  esc__pop(x, mark);
  ch->type = (enum dg_channel_type)(type + 1);
  ch->rate_per_min = esc__default_rate(ch->type);
  if (!rc) rc = esc__secret(x, &k, CH_URL, "url", &ch->url);
  if (!rc) rc = esc__secret(x, &k, CH_SECRET, "secret", &ch->secret);
  uint32_t timeout_s = 5;
  if (!rc && k.val[CH_TIMEOUT] && !(rc = esc__duration(x, k.val[CH_TIMEOUT], 1, 600, &timeout_s)))
    ch->timeout_ms = timeout_s * 1000;
  if (!rc && k.val[CH_EXPIRE]) rc = esc__duration(x, k.val[CH_EXPIRE], 60, 365 * 86400, &ch->expire_s);
  if (!rc) rc = esc__under(x, k.val[CH_HEADERS], "headers", ch, esc__headers);
  if (!rc && k.val[CH_BODY]) rc = esc__str(x, k.val[CH_BODY], &ch->body_template);
  if (!rc && k.val[CH_TEMPLATE]) rc = esc__str(x, k.val[CH_TEMPLATE], &ch->template_code);
  if (!rc && k.val[CH_USER]) rc = esc__str(x, k.val[CH_USER], &ch->username);
  if (!rc && k.val[CH_FROM]) rc = esc__str(x, k.val[CH_FROM], &ch->from);
  if (!rc && k.val[CH_TLS]) rc = esc__bool(x, k.val[CH_TLS], &ch->tls);
  if (!rc && k.val[CH_MARKDOWN]) rc = esc__bool(x, k.val[CH_MARKDOWN], &ch->markdown);
  if (!rc && k.val[CH_RATE]) rc = esc__uint(x, k.val[CH_RATE], 0, 100000, &ch->rate_per_min);
  if (!rc && k.val[CH_NUM_MIN]) rc = esc__uint(x, k.val[CH_NUM_MIN], 0, 1000, &ch->per_number_per_min);
  if (!rc && k.val[CH_NUM_HOUR]) rc = esc__uint(x, k.val[CH_NUM_HOUR], 0, 10000, &ch->per_number_per_hour);
  if (!rc) rc = esc__channel_check(x, n, ch, &k);
  return rc;
}

/* Fallbacks name channels of this section, resolved once all are loaded. */
static int esc__fallbacks(struct ecx *x, const struct dg_ynode *list)
{
  for (size_t i = 0; i < x->e->n_channels; i++) {
    struct esc_keys k;
    struct dg_channel *ch = &x->e->channels[i];
    size_t mark = esc__push(x, NULL, i);
    int rc = esc__map(x, list->kids[i], esc__channel_keys, &k);
    const char *id = NULL;
    if (!rc && k.val[CH_FALLBACK] && !(rc = esc__text(x, k.val[CH_FALLBACK], &id))) {
      ch->fallback = esc_config_channel(x->e, id);
      if (!ch->fallback || ch->fallback->type != DG_CHANNEL_SMS)
        rc = esc__fail(x, k.val[CH_FALLBACK], "expected the id of an sms channel, got '%.64s'", id);
    }
    esc__pop(x, mark);
    if (rc) return rc;
  }
  return 0;
}

/* ---- rotas ---- */

enum { RO_ID, RO_OFFSET, RO_HANDOVER, RO_PERIOD, RO_START, RO_PERSONS, RO_OVERRIDES };
static const char *const esc__rota_keys[] = {"id", "utc_offset", "handover", "period", "start", "persons",
                                             "overrides", NULL};
enum { OV_PERSON, OV_COVERS, OV_FROM, OV_TO };
static const char *const esc__override_keys[] = {"person", "covers", "from", "to", NULL};

static int esc__person_ref(struct ecx *x, const struct dg_ynode *n, void *item)
{
  const char *id = NULL;
  int rc = esc__text(x, n, &id);
  if (!rc && !(*(struct dg_person **)item = dg_config_person(x->c, id)))
    rc = esc__fail(x, n, "unknown person '%.64s'", id);
  return rc;
}

static int esc__override(struct ecx *x, const struct dg_ynode *n, void *item)
{
  struct esc_override *o = item;
  struct esc_keys k;
  int rc = esc__map(x, n, esc__override_keys, &k);
  if (!rc && (!k.val[OV_PERSON] || !k.val[OV_FROM] || !k.val[OV_TO]))
    rc = esc__fail(x, n, "missing required key '%s'", !k.val[OV_PERSON] ? "person" : !k.val[OV_FROM] ? "from" : "to");
  if (!rc) rc = esc__under(x, k.val[OV_PERSON], "person", &o->person, esc__person_ref);
  if (!rc) rc = esc__under(x, k.val[OV_COVERS], "covers", &o->covers, esc__person_ref);
  if (!rc) rc = esc__local_time(x, k.val[OV_FROM], x->rota->utc_offset_min, &o->from_ms);
  if (!rc) rc = esc__local_time(x, k.val[OV_TO], x->rota->utc_offset_min, &o->to_ms);
  if (!rc && o->to_ms <= o->from_ms) rc = esc__fail(x, k.val[OV_TO], "expected 'to' after 'from'");
  return rc;
}

static int esc__rota(struct ecx *x, const struct dg_ynode *n, void *item)
{
  struct esc_rota *r = item;
  struct esc_keys k;
  int period = 0, rc = esc__map(x, n, esc__rota_keys, &k);
  r->utc_offset_min = 480;
  r->period_days = 1;
  if (!rc && (!k.val[RO_ID] || !k.val[RO_PERSONS] || !k.val[RO_START]))
    rc = esc__fail(x, n, "missing required key '%s'", !k.val[RO_ID] ? "id" : !k.val[RO_PERSONS] ? "persons" : "start");
  if (!rc) rc = esc__str(x, k.val[RO_ID], &r->id);
  if (!rc && esc_config_rota(x->e, r->id) != r) rc = esc__fail(x, k.val[RO_ID], "duplicate rota id '%.64s'", r->id);
  if (!rc && k.val[RO_OFFSET]) rc = esc__offset(x, k.val[RO_OFFSET], &r->utc_offset_min);
  if (!rc && k.val[RO_HANDOVER]) rc = esc__clock(x, k.val[RO_HANDOVER], &r->handover_min);
  if (!rc && k.val[RO_PERIOD] && !(rc = esc__choice(x, k.val[RO_PERIOD], esc__periods, &period)))
    r->period_days = period ? 7 : 1;
  const char *t = NULL;
  if (!rc && !(rc = esc__text(x, k.val[RO_START], &t)) && workcal_parse_date(t, &r->start_day))
    rc = esc__fail(x, k.val[RO_START], "expected a date \"YYYY-MM-DD\", got '%.64s'", t);
  size_t mark = esc__push(x, "persons", 0);
  if (!rc) rc = esc__list(x, k.val[RO_PERSONS], sizeof *r->persons, &r->persons, &r->n_persons, esc__person_ref);
  if (!rc && !r->n_persons) rc = esc__fail(x, k.val[RO_PERSONS], "expected at least one person");
  esc__pop(x, mark);
  x->rota = r;
  mark = esc__push(x, "overrides", 0);
  if (!rc && k.val[RO_OVERRIDES])
    rc = esc__list(x, k.val[RO_OVERRIDES], sizeof *r->overrides, &r->overrides, &r->n_overrides, esc__override);
  esc__pop(x, mark);
  return rc;
}

/* ---- policies ---- */

enum { TI_ROLES, TI_PERSONS, TI_RESP, TI_ROTA, TI_CHANNELS, TI_TIMEOUT, TI_RENOTIFY };
static const char *const esc__tier_keys[] = {"roles", "persons", "responsible", "rota", "channels", "timeout",
                                             "renotify", NULL};

static int esc__role(struct ecx *x, const struct dg_ynode *n, void *item) { return esc__str(x, n, item); }

static int esc__channel_ref(struct ecx *x, const struct dg_ynode *n, void *item)
{
  const char *id = NULL;
  int rc = esc__text(x, n, &id);
  struct dg_channel *ch = rc ? NULL : esc_config_channel(x->e, id);
  if (!rc && !ch) ch = dg_config_channel(x->c, id);
  if (!rc && !ch) rc = esc__fail(x, n, "unknown channel '%.64s'", id);
  *(struct dg_channel **)item = ch;
  return rc;
}

static int esc__tier(struct ecx *x, const struct dg_ynode *n, void *item)
{
  struct esc_tier *t = item;
  struct esc_keys k;
  int rc = esc__map(x, n, esc__tier_keys, &k);
  size_t mark;
  if (!rc && !k.val[TI_CHANNELS]) rc = esc__fail(x, n, "missing required key 'channels'");
  if (!rc && !k.val[TI_ROLES] && !k.val[TI_PERSONS] && !k.val[TI_RESP] && !k.val[TI_ROTA])
    rc = esc__fail(x, n, "expected at least one of 'roles', 'persons', 'responsible' or 'rota'");
#define ESC_SUBLIST(key, name, arr, cnt, fn)                                                       \
  if (!rc && k.val[key]) {                                                                         \
    mark = esc__push(x, name, 0);                                                                  \
    rc = esc__list(x, k.val[key], sizeof *(arr), &(arr), &(cnt), fn);                              \
    esc__pop(x, mark);                                                                             \
  }
  ESC_SUBLIST(TI_ROLES, "roles", t->roles, t->n_roles, esc__role)
  ESC_SUBLIST(TI_PERSONS, "persons", t->persons, t->n_persons, esc__person_ref)
  ESC_SUBLIST(TI_CHANNELS, "channels", t->channels, t->n_channels, esc__channel_ref)
#undef ESC_SUBLIST
  if (!rc && !t->n_channels) rc = esc__fail(x, k.val[TI_CHANNELS], "expected at least one channel");
  mark = esc__push(x, "responsible", 0);
  if (!rc && k.val[TI_RESP]) rc = esc__mask(x, k.val[TI_RESP], esc__resp, 0, &t->responsible);
  esc__pop(x, mark);
  const char *id = NULL;
  if (!rc && k.val[TI_ROTA] && !(rc = esc__text(x, k.val[TI_ROTA], &id)) && !(t->rota = esc_config_rota(x->e, id)))
    rc = esc__fail(x, k.val[TI_ROTA], "unknown rota '%.64s'", id);
  if (!rc && k.val[TI_TIMEOUT]) rc = esc__duration(x, k.val[TI_TIMEOUT], 1, 7 * 86400, &t->timeout_s);
  if (!rc && k.val[TI_RENOTIFY]) rc = esc__duration(x, k.val[TI_RENOTIFY], 1, 7 * 86400, &t->renotify_s);
  return rc;
}

enum { PO_ID, PO_EVENTS, PO_PRIOS, PO_RISK, PO_TIERS, PO_REPEAT, PO_STOP, PO_STAGES };
static const char *const esc__policy_keys[] = {"id", "events", "priorities", "risk", "tiers", "repeat_last",
                                               "stop", "stages", NULL};

static int esc__stages(struct ecx *x, const struct dg_ynode *n, struct esc_policy *p)
{
  if (n->type != DG_YMAP) return esc__fail(x, n, "expected a mapping of stage names to tier numbers");
  if (!(p->stages = calloc(n->n / 2 + 1, sizeof *p->stages))) return esc__oom(x);
  for (size_t i = 0; i + 1 < n->n; i += 2) {
    struct esc_stage_map *m = &p->stages[p->n_stages++];
    int rc = esc__str(x, n->kids[i], &m->stage);
    if (!rc) rc = esc__uint(x, n->kids[i + 1], 1, (uint32_t)p->n_tiers, &m->tier);
    if (rc) return rc;
    m->tier--;
  }
  return 0;
}

static int esc__policy(struct ecx *x, const struct dg_ynode *n, void *item)
{
  struct esc_policy *p = item;
  struct esc_keys k;
  int rc = esc__map(x, n, esc__policy_keys, &k);
  p->stop_mask = ESC_STOP_ACKED | ESC_STOP_SHELVED | ESC_STOP_OUT_OF_SERVICE;
  if (!rc && (!k.val[PO_ID] || !k.val[PO_EVENTS] || !k.val[PO_TIERS]))
    rc = esc__fail(x, n, "missing required key '%s'", !k.val[PO_ID] ? "id" : !k.val[PO_EVENTS] ? "events" : "tiers");
  if (!rc) rc = esc__str(x, k.val[PO_ID], &p->id);
  for (size_t i = 0; !rc && x->e->policies + i < p; i++)
    if (!strcmp(x->e->policies[i].id, p->id)) rc = esc__fail(x, k.val[PO_ID], "duplicate policy id '%.64s'", p->id);
  size_t mark = esc__push(x, "events", 0);
  if (!rc) rc = esc__mask(x, k.val[PO_EVENTS], esc__events, 0, &p->event_mask);
  esc__pop(x, mark);
  mark = esc__push(x, "priorities", 0);
  if (!rc && k.val[PO_PRIOS]) rc = esc__mask(x, k.val[PO_PRIOS], esc__prios, 1, &p->priority_mask);
  esc__pop(x, mark);
  mark = esc__push(x, "risk", 0);
  if (!rc && k.val[PO_RISK]) rc = esc__mask(x, k.val[PO_RISK], esc__levels, 1, &p->level_mask);
  esc__pop(x, mark);
  mark = esc__push(x, "stop", 0);
  if (!rc && k.val[PO_STOP]) rc = esc__mask(x, k.val[PO_STOP], esc__stops, 0, &p->stop_mask);
  esc__pop(x, mark);
  if (!rc && k.val[PO_REPEAT]) rc = esc__bool(x, k.val[PO_REPEAT], &p->repeat_last);
  mark = esc__push(x, "tiers", 0);
  if (!rc) rc = esc__list(x, k.val[PO_TIERS], sizeof *p->tiers, &p->tiers, &p->n_tiers, esc__tier);
  if (!rc && !p->n_tiers) rc = esc__fail(x, k.val[PO_TIERS], "expected at least one tier");
  esc__pop(x, mark);
  mark = esc__push(x, "stages", 0);
  if (!rc && k.val[PO_STAGES]) rc = esc__stages(x, k.val[PO_STAGES], p);
  esc__pop(x, mark);
  return rc;
}

/* ---- the section ---- */

enum { TOP_LANG, TOP_DASH, TOP_LINK_TTL, TOP_DIGEST_WINDOW, TOP_DIGEST_AFTER, TOP_QUIET, TOP_OFFSET, TOP_CHANNELS,
       TOP_ROTAS, TOP_POLICIES };
static const char *const esc__top_keys[] = {"language", "dashboard_url", "link_ttl", "digest_window", "digest_after",
                                            "quiet_hours", "utc_offset", "channels", "rotas", "policies", NULL};

static int esc__quiet(struct ecx *x, const struct dg_ynode *n, struct esc_config *e)
{
  static const char *const keys[] = {"from", "to", NULL};
  struct esc_keys k;
  uint32_t from, to;
  int rc = esc__map(x, n, keys, &k);
  if (!rc && (!k.val[0] || !k.val[1])) rc = esc__fail(x, n, "expected both 'from' and 'to'");
  if (!rc) rc = esc__clock(x, k.val[0], &from);
  if (!rc) rc = esc__clock(x, k.val[1], &to);
  e->quiet_from_min = (int32_t)from;
  e->quiet_to_min = (int32_t)to;
  return rc;
}

static int esc__top(struct ecx *x, const struct dg_ynode *n, struct esc_config *e)
{
  struct esc_keys k;
  int lang = 0, rc = esc__map(x, n, esc__top_keys, &k);
  if (!rc && k.val[TOP_LANG] && !(rc = esc__choice(x, k.val[TOP_LANG], esc__langs, &lang))) e->lang = (enum esc_lang)lang;
  if (!rc && k.val[TOP_DASH]) rc = esc__str(x, k.val[TOP_DASH], &e->dashboard_url);
  if (!rc && k.val[TOP_LINK_TTL]) rc = esc__duration(x, k.val[TOP_LINK_TTL], 60, 30 * 86400, &e->link_ttl_s);
  if (!rc && k.val[TOP_DIGEST_WINDOW]) rc = esc__duration(x, k.val[TOP_DIGEST_WINDOW], 10, 86400, &e->digest_window_s);
  if (!rc && k.val[TOP_DIGEST_AFTER]) rc = esc__uint(x, k.val[TOP_DIGEST_AFTER], 0, 1000, &e->digest_after);
  if (!rc && k.val[TOP_OFFSET]) rc = esc__offset(x, k.val[TOP_OFFSET], &e->utc_offset_min);
  size_t mark = esc__push(x, "quiet_hours", 0);
  if (!rc && k.val[TOP_QUIET]) rc = esc__quiet(x, k.val[TOP_QUIET], e);
  esc__pop(x, mark);
  mark = esc__push(x, "channels", 0);
  if (!rc && k.val[TOP_CHANNELS])
    rc = esc__list(x, k.val[TOP_CHANNELS], sizeof *e->channels, &e->channels, &e->n_channels, esc__channel);
  if (!rc && k.val[TOP_CHANNELS]) rc = esc__fallbacks(x, k.val[TOP_CHANNELS]);
  esc__pop(x, mark);
  mark = esc__push(x, "rotas", 0);
  if (!rc && k.val[TOP_ROTAS]) rc = esc__list(x, k.val[TOP_ROTAS], sizeof *e->rotas, &e->rotas, &e->n_rotas, esc__rota);
  esc__pop(x, mark);
  mark = esc__push(x, "policies", 0);
  if (!rc && k.val[TOP_POLICIES])
    rc = esc__list(x, k.val[TOP_POLICIES], sizeof *e->policies, &e->policies, &e->n_policies, esc__policy);
  esc__pop(x, mark);
  return rc;
}

int esc_config_parse(const struct esc_parse *p, const struct dg_ynode *n, struct dg_config *c)
{
  if (!n) return 0;
  struct ecx x = {.p = p, .c = c, .path = "escalation", .plen = strlen("escalation")};
  if (!(x.e = c->esc = calloc(1, sizeof *c->esc))) return esc__oom(&x);
  x.e->link_ttl_s = 86400;
  x.e->digest_window_s = 60;
  x.e->digest_after = 5;
  x.e->quiet_from_min = x.e->quiet_to_min = -1;
  x.e->utc_offset_min = 480;
  return esc__top(&x, n, x.e);
}

struct dg_channel *esc_config_channel(const struct esc_config *e, const char *id)
{
  for (size_t i = 0; e && id && i < e->n_channels; i++)
    if (e->channels[i].id && !strcmp(e->channels[i].id, id)) return &e->channels[i];
  return NULL;
}

struct esc_rota *esc_config_rota(const struct esc_config *e, const char *id)
{
  for (size_t i = 0; e && id && i < e->n_rotas; i++)
    if (e->rotas[i].id && !strcmp(e->rotas[i].id, id)) return &e->rotas[i];
  return NULL;
}

static void esc__free_channel(struct dg_channel *ch)
{
  free(ch->id);
  free(ch->url);
  free(ch->secret);
  for (size_t i = 0; i < ch->n_headers; i++) free(ch->headers[i]);
  free(ch->headers);
  free(ch->body_template);
  free(ch->template_code);
  free(ch->username);
  free(ch->from);
}

static void esc__free_policy(struct esc_policy *p)
{
  for (size_t t = 0; t < p->n_tiers; t++) {
    struct esc_tier *tier = &p->tiers[t];
    for (size_t i = 0; i < tier->n_roles; i++) free(tier->roles[i]);
    free(tier->roles);
    free(tier->persons);
    free(tier->channels);
  }
  free(p->tiers);
  for (size_t i = 0; i < p->n_stages; i++) free(p->stages[i].stage);
  free(p->stages);
  free(p->id);
}

void esc_config_free(struct esc_config *e)
{
  if (!e) return;
  for (size_t i = 0; i < e->n_channels; i++) esc__free_channel(&e->channels[i]);
  free(e->channels);
  for (size_t i = 0; i < e->n_policies; i++) esc__free_policy(&e->policies[i]);
  free(e->policies);
  for (size_t i = 0; i < e->n_rotas; i++) {
    free(e->rotas[i].id);
    free(e->rotas[i].persons);
    free(e->rotas[i].overrides);
  }
  free(e->rotas);
  free(e->dashboard_url);
  free(e);
}
