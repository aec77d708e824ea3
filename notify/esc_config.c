#include "esc_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_ctx.h"
#include "workcal.h"

#define ESC_DAY_S (86400.0 * 1000)

static const char *const esc__events[] = {"alarm_activate", "alarm_escalate", "alarm_rtn", "alarm_ack",
                                          "hazard_opened", "hazard_submitted", "hazard_overdue",
                                          "major_hazard_opened", "inspection_missed", "driver_fault", NULL};
static const char *const esc__stops[] = {"acknowledged", "shelved", "out_of_service", "returned_to_normal",
                                         "hazard_moved_on", NULL};
static const char *const esc__resp[] = {"measure", "unit", "hazard_source", "hazard", NULL};
static const char *const esc__levels[] = {"blue", "yellow", "orange", "red", NULL};
static const char *const esc__types[] = {"webhook", "dingtalk", "wecom", "feishu", "smtp", "sms", "voice", "mqtt", NULL};
static const char *const esc__langs[] = {"zh", "en", NULL};
static const char *const esc__periods[] = {"daily", "weekly", NULL};

const char *esc_event_name(enum esc_event ev)
{
  return ev < ESC_EV_COUNT ? esc__events[ev] : "unknown";
}

enum esc_event esc_event_parse(const char *s)
{
  for (int i = 0; s && i < ESC_EV_COUNT; i++)
    if (!strcmp(s, esc__events[i])) return (enum esc_event)i;
  return ESC_EV_COUNT;
}

int esc_event_is_ledger(enum esc_event ev)
{
  return ev == ESC_EV_HAZARD_OPENED || ev == ESC_EV_HAZARD_SUBMITTED || ev == ESC_EV_HAZARD_OVERDUE ||
         ev == ESC_EV_MAJOR_HAZARD_OPENED || ev == ESC_EV_INSPECTION_MISSED;
}

static struct esc_config *esc__cfg(struct dg_ycheck *y) { return cfg_ctx(y)->c->esc; }

/* ---- small values ---- */

/* "HH:MM" into minutes after midnight. */
static int esc__clock(struct dg_ycheck *y, const struct dg_ynode *n, uint32_t *min)
{
  const char *t = NULL;
  unsigned h, m;
  char tail;
  int rc = dg_yc_text(y, n, &t);
  if (!rc && (sscanf(t, "%2u:%2u%c", &h, &m, &tail) != 2 || h > 23 || m > 59))
    rc = dg_yc_fail(y, n, "expected a time of day \"HH:MM\", got '%.64s'", t);
  if (!rc) *min = h * 60 + m;
  return rc;
}

/* "+08:00", "-05:30", "UTC" into minutes east of UTC. */
static int esc__offset(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  const char *t = NULL;
  unsigned h, m;
  char sign, tail;
  int rc = dg_yc_text(y, n, &t);
  if (rc) return rc;
  if (!strcmp(t, "UTC") || !strcmp(t, "Z")) return *(int32_t *)obj = 0, 0;
  if (sscanf(t, "%c%2u:%2u%c", &sign, &h, &m, &tail) != 3 || (sign != '+' && sign != '-') || h > 14 || m > 59)
    return dg_yc_fail(y, n, "expected a UTC offset like \"+08:00\" or \"UTC\", got '%.64s'", t);
  *(int32_t *)obj = (int32_t)(h * 60 + m) * (sign == '-' ? -1 : 1);
  return 0;
}

/* "YYYY-MM-DD HH:MM" local time (offset minutes east) into wall-clock ms. */
static int esc__local_time(struct dg_ycheck *y, const struct dg_ynode *n, int32_t offset_min, int64_t *ms)
{
  const char *t = NULL;
  char date[11];
  unsigned h, m;
  int32_t day;
  char tail;
  int rc = dg_yc_text(y, n, &t);
  if (rc) return rc;
  if (sscanf(t, "%10s %2u:%2u%c", date, &h, &m, &tail) != 3 || h > 23 || m > 59 || workcal_parse_date(date, &day))
    return dg_yc_fail(y, n, "expected a local time \"YYYY-MM-DD HH:MM\", got '%.64s'", t);
  *ms = ((int64_t)day * 1440 + h * 60 + m - offset_min) * 60000;
  return 0;
}

/* A non-empty sequence of names into a bit mask (bit index + shift). */
static int esc__mask(struct dg_ycheck *y, const struct dg_ynode *n, const char *const *names, int shift, unsigned *mask)
{
  if (n->type != DG_YSEQ || !n->n) return dg_yc_fail(y, n, "expected a non-empty sequence");
  *mask = 0;
  for (size_t i = 0; i < n->n; i++) {
    int idx;
    size_t mark = dg_yc_path_index(y, i);
    int rc = dg_yc_choice(y, n->kids[i], names, &idx);
    dg_yc_path_restore(y, mark);
    if (rc) return rc;
    *mask |= 1u << (idx + shift);
  }
  return 0;
}

static int esc__mask_at(struct dg_ycheck *y, const struct dg_ynode *v, const char *key, const char *const *names,
                        int shift, unsigned *mask)
{
  if (!v) return 0;
  size_t mark = dg_yc_path_key(y, key);
  int rc = esc__mask(y, v, names, shift, mask);
  dg_yc_path_restore(y, mark);
  return rc;
}

/* A list item naming an id of `m`. */
static int esc__item_ref(struct dg_ycheck *y, const struct dg_ynode *n, const struct dg_idmap *m, const char *kind,
                         void **obj)
{
  const char *id = NULL;
  int rc = dg_yc_text(y, n, &id);
  if (!rc && !(*obj = dg_idmap_get(m, id))) rc = dg_yc_fail(y, n, "unknown %s '%.64s'", kind, id);
  return rc;
}

static int esc__person_ref(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  (void)i;
  return esc__item_ref(y, n, &cfg_ctx(y)->ix->persons, "person", item);
}

static int esc__list_at(struct dg_ycheck *y, const struct dg_ynode *v, const char *key, size_t elsize, void *arrp,
                        size_t *count, dg_yc_item_fn fn)
{
  if (!v) return 0;
  size_t mark = dg_yc_path_key(y, key);
  int rc = dg_yc_list(y, v, elsize, arrp, count, fn);
  dg_yc_path_restore(y, mark);
  return rc;
}

/* `<key>_env`: the secret is the value of that environment variable at load. */
static int esc__secret_env(struct dg_ycheck *y, const struct dg_yseen *s, const struct dg_yfield *f, int key,
                           int env_key, char **dst)
{
  const char *name = NULL;
  if (!s->key[env_key]) return 0;
  if (*dst || s->key[key]) return dg_yc_fail(y, s->key[env_key], "give only one of '%s', '%s_file' or '%s'",
                                             f[key].key, f[key].key, f[env_key].key);
  size_t mark = dg_yc_path_key(y, f[env_key].key);
  int rc = dg_yc_text(y, s->val[env_key], &name);
  const char *v = rc ? NULL : getenv(name);
  if (!rc && (!v || !*v)) rc = dg_yc_fail(y, s->val[env_key], "environment variable '%.64s' is not set", name);
  else if (!rc && !(*dst = strdup(v))) rc = dg_yc_oom(y);
  dg_yc_path_restore(y, mark);
  return rc;
}

/* ---- channels ---- */

enum { CH_ID, CH_TYPE, CH_URL, CH_URL_FILE, CH_URL_ENV, CH_SECRET, CH_SECRET_FILE, CH_SECRET_ENV, CH_TIMEOUT,
       CH_EXPIRE, CH_HEADERS, CH_BODY, CH_TEMPLATE, CH_USER, CH_FROM, CH_TLS, CH_MARKDOWN, CH_RATE, CH_NUM_MIN,
       CH_NUM_HOUR, CH_FALLBACK, CH_TOPIC };
static const struct dg_yfield esc__channel_fields[] = {
  [CH_ID] = YF_STR("id", struct dg_channel, id, DG_YF_REQ),
  [CH_TYPE] = YF_ENUM("type", struct dg_channel, type, DG_YF_REQ, esc__types),
  [CH_URL] = YF_STR("url", struct dg_channel, url, 0),
  [CH_URL_FILE] = YF_NODE("url_file", 0),
  [CH_URL_ENV] = YF_NODE("url_env", 0),
  [CH_SECRET] = YF_STR("secret", struct dg_channel, secret, 0),
  [CH_SECRET_FILE] = YF_NODE("secret_file", 0),
  [CH_SECRET_ENV] = YF_NODE("secret_env", 0),
  [CH_TIMEOUT] = YF_NUM("timeout", DG_YK_MS, struct dg_channel, timeout_ms, 0, 1000, 600000),
  [CH_EXPIRE] = YF_NUM("expire", DG_YK_SEC, struct dg_channel, expire_s, 0, 60000, 365 * ESC_DAY_S),
  [CH_HEADERS] = YF_NODE("headers", 0),
  [CH_BODY] = YF_STR("body_template", struct dg_channel, body_template, 0),
  [CH_TEMPLATE] = YF_STR("template", struct dg_channel, template_code, 0),
  [CH_USER] = YF_STR("username", struct dg_channel, username, 0),
  [CH_FROM] = YF_STR("from", struct dg_channel, from, 0),
  [CH_TLS] = YF_BOOL("tls", struct dg_channel, tls),
  [CH_MARKDOWN] = YF_BOOL("markdown", struct dg_channel, markdown),
  [CH_RATE] = YF_NUM("rate_per_min", DG_YK_U32, struct dg_channel, rate_per_min, 0, 0, 100000),
  [CH_NUM_MIN] = YF_NUM("per_number_per_min", DG_YK_U32, struct dg_channel, per_number_per_min, 0, 0, 1000),
  [CH_NUM_HOUR] = YF_NUM("per_number_per_hour", DG_YK_U32, struct dg_channel, per_number_per_hour, 0, 0, 10000),
  [CH_FALLBACK] = YF_NODE("fallback", 0),
  [CH_TOPIC] = YF_STR("topic", struct dg_channel, topic, 0),
};

static int esc__headers(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_channel *ch = obj;
  if (n->type != DG_YMAP) return dg_yc_fail(y, n, "expected a mapping of header names to values");
  if (!(ch->headers = calloc(n->n / 2 + 1, sizeof *ch->headers))) return dg_yc_oom(y);
  for (size_t i = 0; i + 1 < n->n; i += 2) {
    const char *name = NULL, *value = NULL;
    int rc = dg_yc_text(y, n->kids[i], &name);
    if (!rc) rc = dg_yc_text(y, n->kids[i + 1], &value);
    if (rc) return rc;
    if (strpbrk(name, ":\r\n ") || strpbrk(value, "\r\n"))
      return dg_yc_fail(y, n->kids[i], "header '%.64s' has a bad name or value", name);
    size_t len = strlen(name) + strlen(value) + 3;
    if (!(ch->headers[ch->n_headers] = malloc(len))) return dg_yc_oom(y);
    snprintf(ch->headers[ch->n_headers++], len, "%s: %s", name, value);
  }
  return 0;
}

/* Keys that only some types take, and what each type needs. */
static int esc__channel_check(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_channel *ch,
                              const struct dg_yseen *s)
{
  static const char *const http[] = {"http://", "https://", NULL}, *const smtp[] = {"smtp://", "smtps://", NULL},
                           *const mqtt[] = {"tcp://", "ssl://", NULL};
  bool is_smtp = ch->type == DG_CHANNEL_SMTP, is_mqtt = ch->type == DG_CHANNEL_MQTT;
  if (!ch->url) return dg_yc_fail(y, n, "missing required key 'url' (or 'url_file', 'url_env')");
  if (!dg_yc_has_scheme(ch->url, is_smtp ? smtp : is_mqtt ? mqtt : http))
    return dg_yc_failk(y, s->val[CH_URL] ? s->val[CH_URL] : n, "url", "expected %s URL",
                       is_smtp ? "an smtp:// or smtps://" : is_mqtt ? "a tcp:// or ssl:// broker" : "an http:// or https://");
  if (is_smtp && !ch->from) return dg_yc_fail(y, n, "missing required key 'from' (the sender address)");
  for (int k = CH_USER; k <= CH_TLS && !is_smtp; k++)
    if (s->key[k] && !(is_mqtt && k == CH_USER))
      return dg_yc_fail(y, s->key[k], "'%s' is only valid for smtp channels", esc__channel_fields[k].key);
  if (s->key[CH_TOPIC] && !is_mqtt) return dg_yc_fail(y, s->key[CH_TOPIC], "'topic' is only valid for mqtt channels");
  if (is_mqtt && (s->key[CH_HEADERS] || s->key[CH_BODY]))
    return dg_yc_fail(y, s->key[CH_HEADERS] ? s->key[CH_HEADERS] : s->key[CH_BODY],
                      "'%s' is not valid for mqtt channels (the payload is the message's JSON)",
                      s->key[CH_HEADERS] ? "headers" : "body_template");
  if ((ch->type == DG_CHANNEL_SMS || ch->type == DG_CHANNEL_VOICE) && !ch->body_template)
    return dg_yc_fail(y, n, "missing required key 'body_template' (the gateway request)");
  if (s->key[CH_FALLBACK] && ch->type != DG_CHANNEL_VOICE)
    return dg_yc_fail(y, s->key[CH_FALLBACK], "'fallback' is only valid for voice channels");
  if (s->key[CH_MARKDOWN] && ch->type != DG_CHANNEL_DINGTALK && ch->type != DG_CHANNEL_WECOM)
    return dg_yc_fail(y, s->key[CH_MARKDOWN], "'markdown' is only valid for dingtalk and wecom channels");
  return 0;
}

static int esc__channel(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  (void)i;
  struct dg_channel *ch = item;
  struct dg_yseen s;
  ch->timeout_ms = 5000;
  ch->expire_s = 86400;
  ch->rate_per_min = UINT32_MAX;
  int rc = DG_YC_MAP(y, n, esc__channel_fields, ch, &s);
  if (!rc) rc = dg_yc_add_id(y, &cfg_ctx(y)->ix->channels, ch->id, ch, s.val[CH_ID], "channel");
  if (!rc) rc = dg_yc_secret(y, &s, esc__channel_fields, CH_URL, CH_URL_FILE, &ch->url);
  if (!rc) rc = esc__secret_env(y, &s, esc__channel_fields, CH_URL, CH_URL_ENV, &ch->url);
  if (!rc) rc = dg_yc_secret(y, &s, esc__channel_fields, CH_SECRET, CH_SECRET_FILE, &ch->secret);
  if (!rc) rc = esc__secret_env(y, &s, esc__channel_fields, CH_SECRET, CH_SECRET_ENV, &ch->secret);
  if (!rc) rc = dg_yc_under(y, s.val[CH_HEADERS], "headers", ch, esc__headers);
  if (!rc) rc = esc__channel_check(y, n, ch, &s);
  if (ch->rate_per_min == UINT32_MAX) /* the providers' documented limits per robot */
    ch->rate_per_min = ch->type == DG_CHANNEL_FEISHU ? 100 : ch->type == DG_CHANNEL_DINGTALK || ch->type == DG_CHANNEL_WECOM ? 20 : 0;
  return rc;
}

/* Fallbacks name channels of this section, resolved once all are loaded. */
static int esc__fallbacks(struct dg_ycheck *y, const struct dg_ynode *list, struct esc_config *e)
{
  for (size_t i = 0; i < e->n_channels; i++) {
    const struct dg_ynode *item = list->kids[i], *v = NULL;
    for (size_t k = 0; k + 1 < item->n; k += 2)
      if (!strcmp(item->kids[k]->text, "fallback")) v = item->kids[k + 1];
    if (!v) continue;
    size_t mark = dg_yc_path_index(y, i);
    int rc = dg_yc_ref(y, v, "fallback", &cfg_ctx(y)->ix->channels, "channel", (void **)&e->channels[i].fallback);
    if (!rc && e->channels[i].fallback->type != DG_CHANNEL_SMS)
      rc = dg_yc_failk(y, v, "fallback", "expected the id of an sms channel");
    dg_yc_path_restore(y, mark);
    if (rc) return rc;
  }
  return 0;
}

/* ---- rotas ---- */

enum { RO_ID, RO_OFFSET, RO_HANDOVER, RO_PERIOD, RO_START, RO_PERSONS, RO_OVERRIDES };
static const struct dg_yfield esc__rota_fields[] = {
  [RO_ID] = YF_STR("id", struct esc_rota, id, DG_YF_REQ),
  [RO_OFFSET] = YF_NODE("utc_offset", 0),
  [RO_HANDOVER] = YF_NODE("handover", 0),
  [RO_PERIOD] = YF_NODE("period", 0),
  [RO_START] = YF_NODE("start", DG_YF_REQ),
  [RO_PERSONS] = YF_NODE("persons", DG_YF_REQ),
  [RO_OVERRIDES] = YF_NODE("overrides", 0),
};
enum { OV_PERSON, OV_COVERS, OV_FROM, OV_TO };
static const struct dg_yfield esc__override_fields[] = {
  [OV_PERSON] = YF_NODE("person", DG_YF_REQ),
  [OV_COVERS] = YF_NODE("covers", 0),
  [OV_FROM] = YF_NODE("from", DG_YF_REQ),
  [OV_TO] = YF_NODE("to", DG_YF_REQ),
};

static int esc__override(struct dg_ycheck *y, const struct dg_ynode *n, struct esc_rota *r, struct esc_override *o)
{
  struct dg_yseen s;
  const struct dg_idmap *persons = &cfg_ctx(y)->ix->persons;
  int rc = DG_YC_MAP(y, n, esc__override_fields, NULL, &s);
  if (!rc) rc = dg_yc_ref(y, s.val[OV_PERSON], "person", persons, "person", (void **)&o->person);
  if (!rc && s.val[OV_COVERS]) rc = dg_yc_ref(y, s.val[OV_COVERS], "covers", persons, "person", (void **)&o->covers);
  if (!rc) rc = esc__local_time(y, s.val[OV_FROM], r->utc_offset_min, &o->from_ms);
  if (!rc) rc = esc__local_time(y, s.val[OV_TO], r->utc_offset_min, &o->to_ms);
  if (!rc && o->to_ms <= o->from_ms) rc = dg_yc_failk(y, s.val[OV_TO], "to", "expected a time after 'from'");
  return rc;
}

static int esc__overrides(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct esc_rota *r = obj;
  if (n->type != DG_YSEQ) return dg_yc_fail(y, n, "expected a sequence");
  if (!n->n) return 0;
  if (!(r->overrides = calloc(n->n, sizeof *r->overrides))) return dg_yc_oom(y);
  r->n_overrides = n->n;
  for (size_t i = 0; i < n->n; i++) {
    size_t mark = dg_yc_path_index(y, i);
    int rc = esc__override(y, n->kids[i], r, &r->overrides[i]);
    dg_yc_path_restore(y, mark);
    if (rc) return rc;
  }
  return 0;
}

static int esc__rota(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  struct esc_rota *r = item;
  struct dg_yseen s;
  const char *t = NULL;
  int period = 0;
  r->utc_offset_min = esc__cfg(y)->utc_offset_min;
  r->period_days = 1;
  int rc = DG_YC_MAP(y, n, esc__rota_fields, r, &s);
  for (size_t k = 0; !rc && k < i; k++)
    if (!strcmp(esc__cfg(y)->rotas[k].id, r->id)) rc = dg_yc_failk(y, s.val[RO_ID], "id", "duplicate rota id '%.64s'", r->id);
  if (!rc) rc = dg_yc_under(y, s.val[RO_OFFSET], "utc_offset", &r->utc_offset_min, esc__offset);
  if (!rc && s.val[RO_HANDOVER]) rc = esc__clock(y, s.val[RO_HANDOVER], &r->handover_min);
  if (!rc && s.val[RO_PERIOD] && !(rc = dg_yc_choice(y, s.val[RO_PERIOD], esc__periods, &period)))
    r->period_days = period ? 7 : 1;
  if (!rc && !(rc = dg_yc_text(y, s.val[RO_START], &t)) && workcal_parse_date(t, &r->start_day))
    rc = dg_yc_failk(y, s.val[RO_START], "start", "expected a date \"YYYY-MM-DD\", got '%.64s'", t);
  if (!rc) rc = esc__list_at(y, s.val[RO_PERSONS], "persons", sizeof *r->persons, &r->persons, &r->n_persons, esc__person_ref);
  if (!rc && !r->n_persons) rc = dg_yc_failk(y, s.val[RO_PERSONS], "persons", "expected at least one person");
  if (!rc) rc = dg_yc_under(y, s.val[RO_OVERRIDES], "overrides", r, esc__overrides);
  return rc;
}

/* ---- policies ---- */

enum { TI_ROLES, TI_PERSONS, TI_RESP, TI_ROTA, TI_CHANNELS, TI_TIMEOUT, TI_RENOTIFY };
static const struct dg_yfield esc__tier_fields[] = {
  [TI_ROLES] = YF_NODE("roles", 0),
  [TI_PERSONS] = YF_NODE("persons", 0),
  [TI_RESP] = YF_NODE("responsible", 0),
  [TI_ROTA] = YF_NODE("rota", 0),
  [TI_CHANNELS] = YF_NODE("channels", DG_YF_REQ),
  [TI_TIMEOUT] = YF_NUM("timeout", DG_YK_SEC, struct esc_tier, timeout_s, 0, 1000, 7 * ESC_DAY_S),
  [TI_RENOTIFY] = YF_NUM("renotify", DG_YK_SEC, struct esc_tier, renotify_s, 0, 1000, 7 * ESC_DAY_S),
};

static int esc__role(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  (void)i;
  return dg_yc_str(y, n, true, item);
}

static int esc__channel_ref(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  (void)i;
  return esc__item_ref(y, n, &cfg_ctx(y)->ix->channels, "channel", item);
}

static int esc__tier(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  (void)i;
  struct esc_tier *t = item;
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, esc__tier_fields, t, &s);
  if (!rc && !s.val[TI_ROLES] && !s.val[TI_PERSONS] && !s.val[TI_RESP] && !s.val[TI_ROTA])
    rc = dg_yc_fail(y, n, "expected at least one of 'roles', 'persons', 'responsible' or 'rota'");
  if (!rc) rc = esc__list_at(y, s.val[TI_ROLES], "roles", sizeof *t->roles, &t->roles, &t->n_roles, esc__role);
  if (!rc) rc = esc__list_at(y, s.val[TI_PERSONS], "persons", sizeof *t->persons, &t->persons, &t->n_persons,
                             esc__person_ref);
  if (!rc) rc = esc__list_at(y, s.val[TI_CHANNELS], "channels", sizeof *t->channels, &t->channels, &t->n_channels,
                             esc__channel_ref);
  if (!rc && !t->n_channels) rc = dg_yc_failk(y, s.val[TI_CHANNELS], "channels", "expected at least one channel");
  if (!rc) rc = esc__mask_at(y, s.val[TI_RESP], "responsible", esc__resp, 0, &t->responsible);
  if (!rc && s.val[TI_ROTA]) {
    const char *id = NULL;
    if (!(rc = dg_yc_text(y, s.val[TI_ROTA], &id)) && !(t->rota = esc_config_rota(esc__cfg(y), id)))
      rc = dg_yc_failk(y, s.val[TI_ROTA], "rota", "unknown rota '%.64s'", id);
  }
  return rc;
}

enum { PO_ID, PO_EVENTS, PO_PRIOS, PO_RISK, PO_TIERS, PO_REPEAT, PO_STOP, PO_STAGES };
static const struct dg_yfield esc__policy_fields[] = {
  [PO_ID] = YF_STR("id", struct esc_policy, id, DG_YF_REQ),
  [PO_EVENTS] = YF_NODE("events", DG_YF_REQ),
  [PO_PRIOS] = YF_NODE("priorities", 0),
  [PO_RISK] = YF_NODE("risk", 0),
  [PO_TIERS] = YF_NODE("tiers", DG_YF_REQ),
  [PO_REPEAT] = YF_BOOL("repeat_last", struct esc_policy, repeat_last),
  [PO_STOP] = YF_NODE("stop", 0),
  [PO_STAGES] = YF_NODE("stages", 0),
};

static int esc__stages(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct esc_policy *p = obj;
  if (n->type != DG_YMAP) return dg_yc_fail(y, n, "expected a mapping of stage names to tier numbers");
  if (!(p->stages = calloc(n->n / 2 + 1, sizeof *p->stages))) return dg_yc_oom(y);
  for (size_t i = 0; i + 1 < n->n; i += 2) {
    struct esc_stage_map *m = &p->stages[p->n_stages++];
    long long tier = 0;
    int rc = dg_yc_str(y, n->kids[i], true, &m->stage);
    if (!rc) rc = dg_yc_int(y, n->kids[i + 1], 1, (double)p->n_tiers, &tier);
    if (rc) return rc;
    m->tier = (uint32_t)tier - 1;
  }
  return 0;
}

static int esc__policy(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  struct esc_policy *p = item;
  struct dg_yseen s;
  p->stop_mask = ESC_STOP_ACKED | ESC_STOP_SHELVED | ESC_STOP_OUT_OF_SERVICE | ESC_STOP_HAZARD_MOVED;
  int rc = DG_YC_MAP(y, n, esc__policy_fields, p, &s);
  for (size_t k = 0; !rc && k < i; k++)
    if (!strcmp(esc__cfg(y)->policies[k].id, p->id))
      rc = dg_yc_failk(y, s.val[PO_ID], "id", "duplicate policy id '%.64s'", p->id);
  if (!rc) rc = esc__mask_at(y, s.val[PO_EVENTS], "events", esc__events, 0, &p->event_mask);
  if (!rc) rc = esc__mask_at(y, s.val[PO_PRIOS], "priorities", cfg_priorities, 1, &p->priority_mask);
  if (!rc) rc = esc__mask_at(y, s.val[PO_RISK], "risk", esc__levels, 1, &p->level_mask);
  if (!rc) rc = esc__mask_at(y, s.val[PO_STOP], "stop", esc__stops, 0, &p->stop_mask);
  if (!rc) rc = esc__list_at(y, s.val[PO_TIERS], "tiers", sizeof *p->tiers, &p->tiers, &p->n_tiers, esc__tier);
  if (!rc && !p->n_tiers) rc = dg_yc_failk(y, s.val[PO_TIERS], "tiers", "expected at least one tier");
  if (!rc) rc = dg_yc_under(y, s.val[PO_STAGES], "stages", p, esc__stages);
  return rc;
}

/* ---- the section ---- */

enum { TOP_LANG, TOP_DASH, TOP_LINK_TTL, TOP_DIGEST_WINDOW, TOP_DIGEST_AFTER, TOP_QUIET, TOP_OFFSET, TOP_CHANNELS,
       TOP_ROTAS, TOP_POLICIES };
static const struct dg_yfield esc__top_fields[] = {
  [TOP_LANG] = YF_NODE("language", 0),
  [TOP_DASH] = YF_STR("dashboard_url", struct esc_config, dashboard_url, 0),
  [TOP_LINK_TTL] = YF_NUM("link_ttl", DG_YK_SEC, struct esc_config, link_ttl_s, 0, 60000, 30 * ESC_DAY_S),
  [TOP_DIGEST_WINDOW] = YF_NUM("digest_window", DG_YK_SEC, struct esc_config, digest_window_s, 0, 1000, ESC_DAY_S),
  [TOP_DIGEST_AFTER] = YF_NUM("digest_after", DG_YK_U32, struct esc_config, digest_after, 0, 0, 1000),
  [TOP_QUIET] = YF_NODE("quiet_hours", 0),
  [TOP_OFFSET] = YF_NODE("utc_offset", 0),
  [TOP_CHANNELS] = YF_NODE("channels", 0),
  [TOP_ROTAS] = YF_NODE("rotas", 0),
  [TOP_POLICIES] = YF_NODE("policies", 0),
};

static int esc__quiet(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  static const struct dg_yfield fields[] = {YF_NODE("from", DG_YF_REQ), YF_NODE("to", DG_YF_REQ)};
  struct esc_config *e = obj;
  struct dg_yseen s;
  uint32_t from = 0, to = 0;
  int rc = DG_YC_MAP(y, n, fields, NULL, &s);
  if (!rc) rc = esc__clock(y, s.val[0], &from);
  if (!rc) rc = esc__clock(y, s.val[1], &to);
  e->quiet_from_min = (int32_t)from;
  e->quiet_to_min = (int32_t)to;
  return rc;
}

int esc_config_parse(struct cfg_ctx *x, const struct dg_ynode *n)
{
  struct dg_ycheck *y = &x->y;
  struct dg_yseen s;
  struct esc_config *e = x->c->esc = calloc(1, sizeof *x->c->esc);
  int lang = 0;
  if (!e) return dg_yc_oom(y);
  e->link_ttl_s = 86400;
  e->digest_window_s = 60;
  e->digest_after = 5;
  e->quiet_from_min = e->quiet_to_min = -1;
  e->utc_offset_min = 480;
  int rc = DG_YC_MAP(y, n, esc__top_fields, e, &s);
  if (!rc && s.val[TOP_LANG] && !(rc = dg_yc_choice(y, s.val[TOP_LANG], esc__langs, &lang))) e->lang = (enum esc_lang)lang;
  if (!rc) rc = dg_yc_under(y, s.val[TOP_OFFSET], "utc_offset", &e->utc_offset_min, esc__offset);
  if (!rc) rc = dg_yc_under(y, s.val[TOP_QUIET], "quiet_hours", e, esc__quiet);
  if (!rc) rc = esc__list_at(y, s.val[TOP_CHANNELS], "channels", sizeof *e->channels, &e->channels, &e->n_channels,
                             esc__channel);
  if (!rc && s.val[TOP_CHANNELS]) {
    size_t mark = dg_yc_path_key(y, "channels");
    rc = esc__fallbacks(y, s.val[TOP_CHANNELS], e);
    dg_yc_path_restore(y, mark);
  }
  if (!rc) rc = esc__list_at(y, s.val[TOP_ROTAS], "rotas", sizeof *e->rotas, &e->rotas, &e->n_rotas, esc__rota);
  if (!rc) rc = esc__list_at(y, s.val[TOP_POLICIES], "policies", sizeof *e->policies, &e->policies, &e->n_policies,
                             esc__policy);
  return rc;
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
  free(ch->topic);
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
