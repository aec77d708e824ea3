#include "mqtt.h"

#include <MQTTAsync.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "log.h"

#define MQTT__MAX_PAYLOAD (64 * 1024)
#define MQTT__MAX_NUMBER 64        /* longest bare number accepted, in characters */
#define MQTT__TS_MAX 1e15          /* epoch milliseconds beyond year 33000 are garbage */
#define MQTT__SECONDS_LIMIT 1e11   /* below: epoch seconds, above: milliseconds */
#define MQTT__RETRY_MIN_MS 1000
#define MQTT__RETRY_MAX_MS 30000
#define MQTT__CONNECT_TIMEOUT_S 5
#define MQTT__DISCONNECT_MS 500
#define MQTT__STOP_WAIT_MS 1500
#define MQTT__SUB_CHUNK 500        /* topics per SUBSCRIBE packet */
#define MQTT__BATCH 32             /* samples per sampleq_push from a callback */
#define MQTT__SUBACK_FAILURE 0x80
#define MQTT__DEFAULT_SKEW_MS 300000

/* ---------------------------------------------------------------------------------------------
 * Payload decoding */

static bool mqtt__is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static bool mqtt__is_number_char(char c)
{
  return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E';
}

/* Decimal number in s[0..len), surrounding whitespace allowed. The character set excludes
 * strtod's hex, "nan" and "inf" forms; the copy gives strtod the terminator it needs. */
static int mqtt__parse_number(const char *s, size_t len, double *out, const char **why)
{
  while (len && mqtt__is_space(*s)) s++, len--;
  while (len && mqtt__is_space(s[len - 1])) len--;
  if (len == 0) {
    *why = "empty number";
    return -EINVAL;
  }
  if (len >= MQTT__MAX_NUMBER) {
    *why = "number too long";
    return -EINVAL;
  }
  char buf[MQTT__MAX_NUMBER];
  for (size_t i = 0; i < len; i++) {
    if (!mqtt__is_number_char(s[i])) {
      *why = "not a number";
      return -EINVAL;
    }
    buf[i] = s[i];
  }
  buf[len] = '\0';
  char *end;
  double v = strtod(buf, &end);
  if (end != buf + len) {
    *why = "not a number";
    return -EINVAL;
  }
  if (!isfinite(v)) {
    *why = "number out of range";
    return -EINVAL;
  }
  *out = v;
  return 0;
}

/* Some device firmware sends its C string terminator along: drop trailing NULs. */
static size_t mqtt__trim_nul(const char *payload, size_t len)
{
  while (len && payload[len - 1] == '\0') len--;
  return len;
}

static bool mqtt__state(const struct dg_mqtt_binding *b, const char *text, size_t len, double *value)
{
  for (size_t i = 0; i < b->n_states; i++) {
    const char *t = b->states[i].text;
    if (strlen(t) == len && memcmp(t, text, len) == 0) {
      *value = b->states[i].value;
      return true;
    }
  }
  return false;
}

/* Bare payload text of a point with states: surrounding blanks and one pair of double quotes
 * (a JSON string) are not part of the state. */
static bool mqtt__bare_state(const struct dg_mqtt_binding *b, const char *p, size_t len, double *value)
{
  while (len && mqtt__is_space(*p)) p++, len--;
  while (len && mqtt__is_space(p[len - 1])) len--;
  if (len >= 2 && p[0] == '"' && p[len - 1] == '"') p++, len -= 2;
  return mqtt__state(b, p, len, value);
}

static int mqtt__parse_bare(const struct dg_mqtt_binding *b, const char *payload, size_t len,
                            double *value, const char **why)
{
  if (len > MQTT__MAX_PAYLOAD) {
    *why = "payload too large";
    return -EINVAL;
  }
  len = mqtt__trim_nul(payload, len);
  if (len == 0) {
    *why = "empty payload";
    return -EINVAL;
  }
  if (b->n_states && mqtt__bare_state(b, payload, len, value)) return 0;
  int rc = mqtt__parse_number(payload, len, value, why);
  if (rc && b->n_states) *why = "unmapped state";
  return rc;
}

static cJSON *mqtt__parse_doc(const char *payload, size_t len, const char **why)
{
  if (len > MQTT__MAX_PAYLOAD) {
    *why = "payload too large";
    return NULL;
  }
  len = mqtt__trim_nul(payload, len);
  if (len == 0) {
    *why = "empty payload";
    return NULL;
  }
  const char *end = NULL;
  cJSON *doc = cJSON_ParseWithLengthOpts(payload, len, &end, 0);
  if (!doc) {
    *why = "invalid JSON";
    return NULL;
  }
  while (end && end < payload + len && mqtt__is_space(*end)) end++;
  if (!end || end != payload + len) {
    cJSON_Delete(doc);
    *why = "trailing data after JSON";
    return NULL;
  }
  if (!cJSON_IsObject(doc) && !cJSON_IsArray(doc)) {
    cJSON_Delete(doc);
    *why = "not a JSON object or array";
    return NULL;
  }
  return doc;
}

static const cJSON *mqtt__child(const cJSON *node, const char *seg, size_t len)
{
  if (cJSON_IsObject(node)) {
    for (const cJSON *c = node->child; c; c = c->next)
      if (c->string && strncmp(c->string, seg, len) == 0 && c->string[len] == '\0') return c;
    return NULL;
  }
  if (cJSON_IsArray(node) && len > 0 && len <= 9) {
    int idx = 0;
    for (size_t i = 0; i < len; i++) {
      if (seg[i] < '0' || seg[i] > '9') return NULL;
      idx = idx * 10 + (seg[i] - '0');
    }
    return cJSON_GetArrayItem(node, idx);
  }
  return NULL;
}

/* The first object of array `node` whose member `key` is the string `want` (or a number written
 * exactly so): sel is "key=want" without the brackets. */
static const cJSON *mqtt__select(const cJSON *node, const char *sel, size_t len)
{
  const char *eq = memchr(sel, '=', len);
  if (!cJSON_IsArray(node) || !eq || eq == sel) return NULL;
  size_t klen = (size_t)(eq - sel), wlen = len - klen - 1;
  for (const cJSON *item = node->child; item; item = item->next) {
    const cJSON *k = mqtt__child(item, sel, klen);
    char num[32];
    const char *have = NULL;
    if (cJSON_IsString(k)) have = k->valuestring;
    else if (cJSON_IsNumber(k) && snprintf(num, sizeof num, "%.17g", k->valuedouble) < (int)sizeof num) have = num;
    if (have && strlen(have) == wlen && memcmp(have, eq + 1, wlen) == 0) return item;
  }
  return NULL;
}

/* Length of the path segment at p: a name up to '.' or '[', or a whole "[...]" selector.
 * Returns 0 for an empty name or an unclosed selector. */
static size_t mqtt__segment(const char *p, bool *selector)
{
  *selector = *p == '[';
  if (*selector) {
    const char *close = strchr(p, ']');
    return close && close > p + 1 ? (size_t)(close - p) + 1 : 0;
  }
  return strcspn(p, ".[");
}

/* Walks a path from root (NULL: only checks the syntax); *valid tells whether it parsed. */
static const cJSON *mqtt__walk(const cJSON *root, const char *path, bool *valid)
{
  if (path[0] == '$' && path[1] == '.') path += 2;
  else if (path[0] == '$' && path[1] == '[') path += 1;
  const cJSON *node = root;
  *valid = false;
  for (;;) {
    bool selector;
    size_t len = mqtt__segment(path, &selector);
    if (len == 0) return NULL;
    if (node && selector) {
      bool index = strspn(path + 1, "0123456789") == len - 2;
      node = index ? mqtt__child(node, path + 1, len - 2) : mqtt__select(node, path + 1, len - 2);
    } else if (node) {
      node = mqtt__child(node, path, len);
    }
    path += len;
    if (!*path) break;
    if (*path == '.') path++;
    else if (*path != '[') return NULL;
  }
  *valid = true;
  return node;
}

/* "value", "$.value", "data.ch4"; a numeric segment or "[N]" indexes an array; "[key=val]"
 * picks the array element whose `key` is val: "[id=GT101].value". */
static const cJSON *mqtt__lookup(const cJSON *root, const char *path)
{
  bool valid;
  return mqtt__walk(root, path, &valid);
}

int mqtt_path_check(const char *path)
{
  bool valid;
  if (!path || !*path) return -EINVAL;
  mqtt__walk(NULL, path, &valid);
  return valid ? 0 : -EINVAL;
}

static int mqtt__node_number(const cJSON *node, bool allow_bool, double *out, const char **why)
{
  if (cJSON_IsNumber(node)) {
    if (!isfinite(node->valuedouble)) {
      *why = "number out of range";
      return -EINVAL;
    }
    *out = node->valuedouble;
    return 0;
  }
  if (cJSON_IsString(node)) return mqtt__parse_number(node->valuestring, strlen(node->valuestring), out, why);
  if (allow_bool && cJSON_IsBool(node)) {
    *out = cJSON_IsTrue(node) ? 1.0 : 0.0;
    return 0;
  }
  *why = "field is not a number";
  return -EINVAL;
}

static int mqtt__ts_ms(double t, int64_t *ts_ms, const char **why)
{
  if (!isfinite(t) || t < 0 || t >= MQTT__TS_MAX) {
    *why = "timestamp out of range";
    return -EINVAL;
  }
  *ts_ms = (int64_t)llround(t < MQTT__SECONDS_LIMIT ? t * 1000.0 : t);
  return 0;
}

static int64_t mqtt__days_from_civil(int64_t y, unsigned m, unsigned d)
{
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

/* Reads exactly n digits. */
static bool mqtt__digits(const char **p, int n, int *out)
{
  int v = 0;
  for (int i = 0; i < n; i++, (*p)++) {
    if (**p < '0' || **p > '9') return false;
    v = v * 10 + (**p - '0');
  }
  *out = v;
  return true;
}

/* Zone designator: Z, +hh:mm, +hhmm, +hh (or -). No designator: UTC. */
static bool mqtt__iso_zone(const char *p, int *offset_min)
{
  int hh = 0, mm = 0;
  *offset_min = 0;
  if (!*p || ((*p == 'Z' || *p == 'z') && !p[1])) return true;
  if (*p != '+' && *p != '-') return false;
  int sign = *p++ == '-' ? -1 : 1;
  if (!mqtt__digits(&p, 2, &hh)) return false;
  if (*p == ':') p++;
  if (*p && !mqtt__digits(&p, 2, &mm)) return false;
  if (*p || hh > 23 || mm > 59) return false;
  *offset_min = sign * (hh * 60 + mm);
  return true;
}

/* YYYY-MM-DD[T| ]hh:mm[:ss[.frac]][zone] to epoch milliseconds. */
static int mqtt__iso8601_ms(const char *s, int64_t *ms)
{
  int y, mo, d, h, mi, sec = 0, frac_ms = 0, zone;
  const char *p = s;
  if (!mqtt__digits(&p, 4, &y) || *p++ != '-' || !mqtt__digits(&p, 2, &mo) || *p++ != '-' ||
      !mqtt__digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
    return -EINVAL;
  p++;
  if (!mqtt__digits(&p, 2, &h) || *p++ != ':' || !mqtt__digits(&p, 2, &mi)) return -EINVAL;
  if (*p == ':') {
    p++;
    if (!mqtt__digits(&p, 2, &sec)) return -EINVAL;
    if (*p == '.' || *p == ',') {
      int scale = 100, digits = 0;
      for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
        frac_ms += scale * (*p - '0');
        scale /= 10;
      }
      if (!digits) return -EINVAL;
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || !mqtt__iso_zone(p, &zone))
    return -EINVAL;
  int64_t days = mqtt__days_from_civil(y, (unsigned)mo, (unsigned)d);
  int64_t t = ((days * 24 + h) * 60 + mi - zone) * 60 + sec;
  if (t < 0) return -EINVAL;
  *ms = t * 1000 + frac_ms;
  return 0;
}

static int mqtt__ts_node(const cJSON *node, int64_t *ms, const char **why)
{
  double t;
  const char *ignored;
  if (mqtt__node_number(node, false, &t, &ignored) == 0) return mqtt__ts_ms(t, ms, why);
  if (cJSON_IsString(node) && mqtt__iso8601_ms(node->valuestring, ms) == 0) return 0;
  *why = "timestamp is neither epoch seconds/milliseconds nor ISO 8601";
  return -EINVAL;
}

/* A mapped state text wins over the number a string or boolean would otherwise give. */
static int mqtt__node_value(const struct dg_mqtt_binding *b, const cJSON *node, double *v, const char **why)
{
  if (b->n_states && cJSON_IsString(node) && mqtt__state(b, node->valuestring, strlen(node->valuestring), v))
    return 0;
  if (b->n_states && cJSON_IsTrue(node) && mqtt__state(b, "true", 4, v)) return 0;
  if (b->n_states && cJSON_IsFalse(node) && mqtt__state(b, "false", 5, v)) return 0;
  int rc = mqtt__node_number(node, true, v, why);
  if (rc && b->n_states && cJSON_IsString(node)) *why = "unmapped state";
  return rc;
}

static int mqtt__from_doc(const cJSON *doc, const struct dg_mqtt_binding *b, double *value,
                          int64_t *ts_ms, const char **why)
{
  const cJSON *node = mqtt__lookup(doc, b->path);
  if (!node) {
    *why = "field missing";
    return -EINVAL;
  }
  double v;
  int rc = mqtt__node_value(b, node, &v, why);
  if (rc) return rc;
  const cJSON *ts_node = b->ts_path ? mqtt__lookup(doc, b->ts_path) : NULL;
  if (ts_node) {
    int64_t ms;
    rc = mqtt__ts_node(ts_node, &ms, why);
    if (rc) return rc;
    if (ts_ms) *ts_ms = ms;
  }
  *value = v;
  return 0;
}

int mqtt_parse_payload(const struct dg_mqtt_binding *binding, const char *payload, size_t len,
                       double *value, int64_t *ts_ms, const char **why)
{
  const char *ignored;
  if (!why) why = &ignored;
  if (!payload && len) {
    *why = "no payload";
    return -EINVAL;
  }
  if (!binding->path) return mqtt__parse_bare(binding, payload, len, value, why);
  cJSON *doc = mqtt__parse_doc(payload, len, why);
  if (!doc) return -EINVAL;
  int rc = mqtt__from_doc(doc, binding, value, ts_ms, why);
  cJSON_Delete(doc);
  return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Topic filters */

int mqtt_filter_check(const char *filter)
{
  if (!filter || !*filter) return -EINVAL;
  for (const char *p = filter; *p; p++) {
    if (*p != '+' && *p != '#') continue;
    bool whole = (p == filter || p[-1] == '/') && (p[1] == '\0' || p[1] == '/');
    if (!whole || (*p == '#' && p[1] != '\0')) return -EINVAL;
  }
  return 0;
}

int mqtt_topic_level(const char *topic, size_t len, uint32_t level, size_t *start, size_t *n)
{
  if (!level) return -ENOENT;
  size_t pos = 0;
  for (uint32_t l = 1; l < level; l++) {
    const char *slash = memchr(topic + pos, '/', len - pos);
    if (!slash) return -ENOENT;
    pos = (size_t)(slash - topic) + 1;
  }
  const char *slash = memchr(topic + pos, '/', len - pos);
  *start = pos;
  *n = slash ? (size_t)(slash - topic) - pos : len - pos;
  return 0;
}

int mqtt_filter_level_is_plus(const char *filter, uint32_t level)
{
  size_t start, n;
  if (!filter || mqtt_topic_level(filter, strlen(filter), level, &start, &n)) return -EINVAL;
  return n == 1 && filter[start] == '+';
}

bool mqtt_topic_matches(const char *filter, const char *topic, size_t len)
{
  if (len && topic[0] == '$' && (filter[0] == '+' || filter[0] == '#')) return false;
  const char *f = filter;
  size_t pos = 0;
  for (;;) {
    const char *fend = strchr(f, '/');
    size_t flen = fend ? (size_t)(fend - f) : strlen(f);
    if (flen == 1 && f[0] == '#') return true;
    if (pos > len) return false; /* topic has fewer levels than the filter */
    const char *slash = memchr(topic + pos, '/', len - pos);
    size_t tlen = slash ? (size_t)(slash - topic) - pos : len - pos;
    if (!(flen == 1 && f[0] == '+') && (flen != tlen || memcmp(f, topic + pos, tlen) != 0))
      return false;
    /* "a/#" also matches "a": the parent level of a multi-level wildcard */
    if (!slash) return !fend || strcmp(fend, "/#") == 0;
    if (!fend) return false;
    f = fend + 1;
    pos = (size_t)(slash - topic) + 1;
  }
}

/* ---------------------------------------------------------------------------------------------
 * Driver state */

/* One point bound to a topic; strings are owned copies so paho threads never read the config. */
struct mqtt__binding {
  uint32_t point;
  char *point_id;
  struct dg_mqtt_binding json; /* topic unused; path NULL for a bare number */
  double scale, offset;
};

struct mqtt__topic {
  char *name;
  size_t len;
  uint64_t hash;
  struct mqtt__binding *bindings;
  size_t n_bindings;
  bool has_json;
};

/* A wildcard_topics entry and, sorted by id, every point of the broker it may feed. */
struct mqtt__wildcard {
  char *filter;
  uint32_t id_level;
  struct dg_mqtt_binding json;
};

struct mqtt__point {
  char *id;
  uint32_t point;
  double scale, offset;
  struct dg_mqtt_state *states; /* owned; topic and wildcard bindings borrow it */
  size_t n_states;
};

/* subscribeMany does not report how many topics its success data covers. */
struct mqtt__sub_chunk {
  struct mqtt__broker *b;
  int n;
};

enum mqtt__ev_kind {
  MQTT__EV_CONNECTED = 1,
  MQTT__EV_LOST,
  MQTT__EV_CONNECT_FAILED,
  MQTT__EV_SUBSCRIBED,
  MQTT__EV_SUBSCRIBE_FAILED,
};

struct mqtt__event {
  enum mqtt__ev_kind kind;
  struct mqtt__broker *b;
  int code;
  char text[128];
};

enum mqtt__retry { MQTT__RETRY_CONNECT = 1, MQTT__RETRY_SUBSCRIBE };

struct mqtt__broker {
  struct mqtt_driver *m;
  char *id, *uri, *client_id, *username, *password;
  char *ca_file, *cert_file, *key_file;
  bool insecure;
  int qos;
  uint32_t keepalive_s;
  bool clean_session;
  bool ssl;
  MQTTAsync client;

  /* Topic map, built in mqtt_start and read-only afterwards (paho threads read it). */
  struct mqtt__topic *topics;
  size_t n_topics, n_points;
  uint32_t *slots; /* open addressing: topic index + 1, 0 = empty */
  size_t n_slots;  /* power of two */
  char **sub_topics;
  int *sub_qos;
  struct mqtt__sub_chunk *chunks;
  size_t n_chunks;
  size_t n_subs;   /* topics + wildcard filters */
  struct mqtt__wildcard *wildcards;
  size_t n_wildcards;
  struct mqtt__point *points; /* every point of the broker, sorted by id */

  /* Loop thread only. */
  uv_timer_t retry;
  uint32_t backoff_ms;
  enum mqtt__retry retry_what;
  bool connected;
  uint64_t connects;
  size_t subscribed;

  /* Paho callbacks hold `gate` while they touch the driver; mqtt_stop sets `closed` under it so
   * no callback pushes anything once the client is being destroyed. */
  pthread_mutex_t gate;
  bool closed;
  bool disconnected; /* guarded by m->stop_lock */
  atomic_bool comm_marked;
  _Atomic uint64_t messages, malformed, clock_skewed, unknown_point;
  int64_t max_skew_ms;
  _Atomic int64_t last_message_ms;
};

struct mqtt_driver {
  uv_loop_t *loop;
  struct sampleq *q;
  struct mqtt__broker *brokers;
  size_t n_brokers;

  uv_async_t ctl;
  pthread_mutex_t ctl_lock;
  struct mqtt__event *events; /* guarded by ctl_lock */
  size_t n_events, cap_events;

  pthread_mutex_t stop_lock;
  pthread_cond_t stop_cond;
  int open_handles;
  bool locks_ready;
};

/* ---------------------------------------------------------------------------------------------
 * Topic map */

static uint64_t mqtt__hash(const char *s, size_t len)
{
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  return h;
}

static struct mqtt__topic *mqtt__find_topic(const struct mqtt__broker *b, const char *name, size_t len)
{
  if (!b->n_slots) return NULL;
  uint64_t h = mqtt__hash(name, len);
  size_t mask = b->n_slots - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    uint32_t slot = b->slots[i];
    if (!slot) return NULL;
    struct mqtt__topic *t = &b->topics[slot - 1];
    if (t->hash == h && t->len == len && memcmp(t->name, name, len) == 0) return t;
  }
}

static struct mqtt__topic *mqtt__add_topic(struct mqtt__broker *b, const char *name)
{
  size_t len = strlen(name);
  struct mqtt__topic *t = mqtt__find_topic(b, name, len);
  if (t) return t;
  t = &b->topics[b->n_topics];
  t->name = strdup(name);
  if (!t->name) return NULL;
  t->len = len;
  t->hash = mqtt__hash(name, len);
  size_t mask = b->n_slots - 1, i = t->hash & mask;
  while (b->slots[i]) i = (i + 1) & mask;
  b->slots[i] = (uint32_t)++b->n_topics;
  return t;
}

static char *mqtt__strdup_or_null(const char *s, bool *fail)
{
  if (!s) return NULL;
  char *d = strdup(s);
  if (!d) *fail = true;
  return d;
}

static int mqtt__add_point(struct mqtt__broker *b, const struct dg_point *p)
{
  struct mqtt__point *mp = &b->points[b->n_points++];
  mp->point = (uint32_t)p->index;
  mp->scale = p->scale;
  mp->offset = p->offset;
  mp->id = strdup(p->id ? p->id : "?");
  if (!mp->id) return -ENOMEM;
  if (!p->mqtt.n_states) return 0;
  mp->states = calloc(p->mqtt.n_states, sizeof *mp->states);
  if (!mp->states) return -ENOMEM;
  for (size_t i = 0; i < p->mqtt.n_states; i++) {
    mp->states[i].text = strdup(p->mqtt.states[i].text);
    if (!mp->states[i].text) return -ENOMEM;
    mp->states[i].value = p->mqtt.states[i].value;
    mp->n_states++;
  }
  return 0;
}

static int mqtt__bind_point(struct mqtt__broker *b, const struct dg_point *p)
{
  const char *topic = p->mqtt.topic;
  int rc = mqtt__add_point(b, p);
  if (rc) return rc;
  if (!topic && b->n_wildcards) return 0; /* fed through wildcard_topics only */
  if (!topic || !*topic || strpbrk(topic, "+#")) {
    DG_ERR("mqtt", "point %s: topic '%s' must be a non-empty exact topic", p->id,
           topic ? topic : "");
    return -EINVAL;
  }
  struct mqtt__topic *t = mqtt__add_topic(b, topic);
  if (!t) return -ENOMEM;
  struct mqtt__binding *bs = realloc(t->bindings, (t->n_bindings + 1) * sizeof *bs);
  if (!bs) return -ENOMEM;
  t->bindings = bs;
  struct mqtt__binding *bd = &bs[t->n_bindings];
  memset(bd, 0, sizeof *bd);
  bool fail = false;
  bd->point = (uint32_t)p->index;
  bd->point_id = mqtt__strdup_or_null(p->id ? p->id : "?", &fail);
  bd->json.path = mqtt__strdup_or_null(p->mqtt.path, &fail);
  bd->json.ts_path = mqtt__strdup_or_null(p->mqtt.ts_path, &fail);
  bd->json.states = b->points[b->n_points - 1].states;
  bd->json.n_states = b->points[b->n_points - 1].n_states;
  bd->scale = p->scale;
  bd->offset = p->offset;
  t->n_bindings++;
  if (bd->json.path) t->has_json = true;
  return fail ? -ENOMEM : 0;
}

static int mqtt__prepare_topics(struct mqtt__broker *b, size_t max_points)
{
  b->n_slots = 8;
  while (b->n_slots < 2 * max_points) b->n_slots *= 2;
  b->slots = calloc(b->n_slots, sizeof *b->slots);
  b->topics = calloc(max_points ? max_points : 1, sizeof *b->topics);
  b->points = calloc(max_points ? max_points : 1, sizeof *b->points);
  return b->slots && b->topics && b->points ? 0 : -ENOMEM;
}

static int mqtt__point_cmp(const void *a, const void *b)
{
  return strcmp(((const struct mqtt__point *)a)->id, ((const struct mqtt__point *)b)->id);
}

static const struct mqtt__point *mqtt__find_point(const struct mqtt__broker *b, const char *id, size_t len)
{
  size_t lo = 0, hi = b->n_points;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const char *mid_id = b->points[mid].id;
    int c = strncmp(mid_id, id, len);
    if (!c && mid_id[len]) c = 1;
    if (!c) return &b->points[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

static int mqtt__prepare_subscriptions(struct mqtt__broker *b)
{
  qsort(b->points, b->n_points, sizeof *b->points, mqtt__point_cmp);
  b->n_subs = b->n_topics + b->n_wildcards;
  size_t n = b->n_subs ? b->n_subs : 1;
  b->sub_topics = calloc(n, sizeof *b->sub_topics);
  b->sub_qos = calloc(n, sizeof *b->sub_qos);
  b->n_chunks = (b->n_subs + MQTT__SUB_CHUNK - 1) / MQTT__SUB_CHUNK;
  b->chunks = calloc(b->n_chunks ? b->n_chunks : 1, sizeof *b->chunks);
  if (!b->sub_topics || !b->sub_qos || !b->chunks) return -ENOMEM;
  for (size_t i = 0; i < b->n_topics; i++) {
    b->sub_topics[i] = b->topics[i].name;
    b->sub_qos[i] = b->qos;
  }
  for (size_t i = 0; i < b->n_wildcards; i++) {
    b->sub_topics[b->n_topics + i] = b->wildcards[i].filter;
    b->sub_qos[b->n_topics + i] = b->qos;
  }
  for (size_t c = 0; c < b->n_chunks; c++) {
    size_t left = b->n_subs - c * MQTT__SUB_CHUNK;
    b->chunks[c].b = b;
    b->chunks[c].n = (int)(left < MQTT__SUB_CHUNK ? left : MQTT__SUB_CHUNK);
  }
  return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Paho callbacks (paho threads): copy, enqueue, return. */

static void mqtt__post(struct mqtt__broker *b, enum mqtt__ev_kind kind, int code, const char *text)
{
  struct mqtt_driver *m = b->m;
  pthread_mutex_lock(&m->ctl_lock);
  if (dg_array_reserve(&m->events, m->n_events, &m->cap_events, sizeof *m->events)) {
    pthread_mutex_unlock(&m->ctl_lock);
    DG_LOG_RL(DG_LOG_ERR, "mqtt", "%s: out of memory queueing a connection event", b->id);
    return;
  }
  struct mqtt__event *ev = &m->events[m->n_events++];
  ev->kind = kind;
  ev->b = b;
  ev->code = code;
  snprintf(ev->text, sizeof ev->text, "%s", text ? text : "");
  pthread_mutex_unlock(&m->ctl_lock);
  uv_async_send(&m->ctl);
}

static void mqtt__push(struct mqtt__broker *b, const struct dg_sample *s, size_t n)
{
  if (sampleq_push(b->m->q, s, n))
    DG_LOG_RL(DG_LOG_ERR, "mqtt", "%s: sample queue full, %zu samples dropped", b->id, n);
}

static void mqtt__mark_comm(struct mqtt__broker *b)
{
  struct dg_sample batch[MQTT__BATCH];
  size_t n = 0;
  int64_t now = dg_wall_ms();
  for (size_t i = 0; i < b->n_points; i++) {
    batch[n++] = (struct dg_sample){.point = b->points[i].point, .quality = DG_Q_COMM,
                                    .value = NAN, .ts_ms = now};
    if (n == MQTT__BATCH) {
      mqtt__push(b, batch, n);
      n = 0;
    }
  }
  if (n) mqtt__push(b, batch, n);
}

/* Fills `out` for one binding; returns NULL, or why the payload is bad for it. */
static const char *mqtt__decode(const struct mqtt__binding *bd, const cJSON *doc,
                                const char *doc_why, const char *payload, size_t len,
                                int64_t now, struct dg_sample *out)
{
  const char *why = doc_why;
  double raw = NAN;
  int64_t ts = now;
  int rc;
  *out = (struct dg_sample){.point = bd->point, .quality = DG_Q_BAD_PAYLOAD, .value = NAN,
                            .ts_ms = now};
  if (!bd->json.path) rc = mqtt__parse_bare(&bd->json, payload, len, &raw, &why);
  else if (!doc) rc = -EINVAL;
  else rc = mqtt__from_doc(doc, &bd->json, &raw, &ts, &why);
  if (rc) return why ? why : "malformed";
  double v = raw * bd->scale + bd->offset;
  if (!isfinite(v)) return "scaled value out of range";
  out->quality = DG_Q_GOOD;
  out->value = v;
  out->ts_ms = ts;
  return NULL;
}

/* A source clock running ahead would put samples in the future (and keep stale detection
 * quiet): beyond the tolerance the receive time is used instead, and counted. */
static void mqtt__check_skew(struct mqtt__broker *b, const struct mqtt__binding *bd, struct dg_sample *s,
                             int64_t now)
{
  if (s->quality != DG_Q_GOOD || s->ts_ms <= now + b->max_skew_ms) return;
  DG_LOG_RL(DG_LOG_WARN, "mqtt", "%s: point %s: source timestamp %lld ms ahead of the receive time, "
            "using the receive time", b->id, bd->point_id, (long long)(s->ts_ms - now));
  s->ts_ms = now;
  atomic_fetch_add_explicit(&b->clock_skewed, 1, memory_order_relaxed);
}

/* One received message while its bindings are decoded; the JSON document is parsed once, on
 * first need. */
struct mqtt__msg {
  const char *topic, *payload;
  size_t tlen, len;
  int64_t now;
  cJSON *doc;
  const char *doc_why;
  bool parsed, bad;
  struct dg_sample batch[MQTT__BATCH];
  size_t n;
};

static void mqtt__feed(struct mqtt__broker *b, struct mqtt__msg *msg, const struct mqtt__binding *bd)
{
  if (bd->json.path && !msg->parsed) {
    msg->doc = mqtt__parse_doc(msg->payload, msg->len, &msg->doc_why);
    msg->parsed = true;
  }
  struct dg_sample *out = &msg->batch[msg->n];
  const char *why = mqtt__decode(bd, msg->doc, msg->doc_why, msg->payload, msg->len, msg->now, out);
  mqtt__check_skew(b, bd, out, msg->now);
  if (why) {
    msg->bad = true;
    DG_LOG_RL(DG_LOG_WARN, "mqtt", "%s: topic %.*s, point %s: bad payload: %s", b->id,
              (int)msg->tlen, msg->topic, bd->point_id, why);
  }
  if (++msg->n == MQTT__BATCH) {
    mqtt__push(b, msg->batch, msg->n);
    msg->n = 0;
  }
}

static void mqtt__feed_wildcard(struct mqtt__broker *b, struct mqtt__msg *msg, const struct mqtt__wildcard *w)
{
  size_t start, n;
  if (!mqtt_topic_matches(w->filter, msg->topic, msg->tlen) ||
      mqtt_topic_level(msg->topic, msg->tlen, w->id_level, &start, &n))
    return;
  const struct mqtt__point *p = mqtt__find_point(b, msg->topic + start, n);
  if (!p) {
    atomic_fetch_add_explicit(&b->unknown_point, 1, memory_order_relaxed);
    DG_LOG_RL(DG_LOG_WARN, "mqtt", "%s: topic %.*s: no point '%.*s' on this broker (filter %s)", b->id,
              (int)msg->tlen, msg->topic, (int)n, msg->topic + start, w->filter);
    return;
  }
  struct mqtt__binding bd = {.point = p->point, .point_id = p->id, .json = w->json,
                             .scale = p->scale, .offset = p->offset};
  bd.json.states = p->states;
  bd.json.n_states = p->n_states;
  mqtt__feed(b, msg, &bd);
}

static void mqtt__deliver(struct mqtt__broker *b, const char *topic, size_t tlen,
                          const char *payload, size_t len)
{
  struct mqtt__msg msg = {.topic = topic, .tlen = tlen, .payload = payload, .len = len,
                          .now = dg_wall_ms()};
  atomic_fetch_add_explicit(&b->messages, 1, memory_order_relaxed);
  atomic_store_explicit(&b->last_message_ms, msg.now, memory_order_relaxed);
  const struct mqtt__topic *t = mqtt__find_topic(b, topic, tlen);
  for (size_t i = 0; t && i < t->n_bindings; i++) mqtt__feed(b, &msg, &t->bindings[i]);
  for (size_t i = 0; i < b->n_wildcards; i++) mqtt__feed_wildcard(b, &msg, &b->wildcards[i]);
  /* Counted before the point's bad quality is handed on: whoever sees the quality sees the count. */
  if (msg.bad) atomic_fetch_add_explicit(&b->malformed, 1, memory_order_relaxed);
  if (msg.n) mqtt__push(b, msg.batch, msg.n);
  cJSON_Delete(msg.doc);
}

static int mqtt__on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
  struct mqtt__broker *b = ctx;
  size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
  pthread_mutex_lock(&b->gate);
  if (!b->closed)
    mqtt__deliver(b, topic, tlen, msg->payload, msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0);
  pthread_mutex_unlock(&b->gate);
  MQTTAsync_freeMessage(&msg);
  MQTTAsync_free(topic);
  return 1;
}

/* COMM samples are pushed here, on the paho thread, so they stay ordered with the samples of
 * that thread: a fast reconnect cannot let a stale COMM overwrite fresh values. */
static void mqtt__on_lost(void *ctx, char *cause)
{
  struct mqtt__broker *b = ctx;
  pthread_mutex_lock(&b->gate);
  if (!b->closed) {
    atomic_store(&b->comm_marked, true);
    mqtt__mark_comm(b);
    mqtt__post(b, MQTT__EV_LOST, 0, cause);
  }
  pthread_mutex_unlock(&b->gate);
}

static void mqtt__on_connected(void *ctx, char *cause)
{
  struct mqtt__broker *b = ctx;
  pthread_mutex_lock(&b->gate);
  if (!b->closed) {
    atomic_store(&b->comm_marked, false);
    mqtt__post(b, MQTT__EV_CONNECTED, 0, cause);
  }
  pthread_mutex_unlock(&b->gate);
}

static void mqtt__on_connect_failure(void *ctx, MQTTAsync_failureData *d)
{
  struct mqtt__broker *b = ctx;
  pthread_mutex_lock(&b->gate);
  if (!b->closed) {
    if (!atomic_exchange(&b->comm_marked, true)) mqtt__mark_comm(b);
    mqtt__post(b, MQTT__EV_CONNECT_FAILED, d ? d->code : 0, d && d->message ? d->message : NULL);
  }
  pthread_mutex_unlock(&b->gate);
}

static void mqtt__on_subscribed(void *ctx, MQTTAsync_successData *d)
{
  struct mqtt__sub_chunk *c = ctx;
  struct mqtt__broker *b = c->b;
  int refused = 0;
  if (d && c->n == 1) refused = d->alt.qos == MQTT__SUBACK_FAILURE;
  else if (d && d->alt.qosList)
    for (int i = 0; i < c->n; i++) refused += d->alt.qosList[i] == MQTT__SUBACK_FAILURE;
  pthread_mutex_lock(&b->gate);
  if (!b->closed) {
    if (refused) mqtt__post(b, MQTT__EV_SUBSCRIBE_FAILED, refused, "subscription refused by broker");
    else mqtt__post(b, MQTT__EV_SUBSCRIBED, c->n, NULL);
  }
  pthread_mutex_unlock(&b->gate);
}

static void mqtt__on_subscribe_failure(void *ctx, MQTTAsync_failureData *d)
{
  struct mqtt__sub_chunk *c = ctx;
  struct mqtt__broker *b = c->b;
  pthread_mutex_lock(&b->gate);
  if (!b->closed)
    mqtt__post(b, MQTT__EV_SUBSCRIBE_FAILED, d ? d->code : 0, d && d->message ? d->message : NULL);
  pthread_mutex_unlock(&b->gate);
}

static void mqtt__on_disconnect_done(struct mqtt__broker *b)
{
  struct mqtt_driver *m = b->m;
  pthread_mutex_lock(&m->stop_lock);
  b->disconnected = true;
  pthread_cond_broadcast(&m->stop_cond);
  pthread_mutex_unlock(&m->stop_lock);
}

static void mqtt__on_disconnected(void *ctx, MQTTAsync_successData *d) { mqtt__on_disconnect_done(ctx); }

static void mqtt__on_disconnect_failure(void *ctx, MQTTAsync_failureData *d)
{
  mqtt__on_disconnect_done(ctx);
}

/* ---------------------------------------------------------------------------------------------
 * Loop thread */

static void mqtt__schedule(struct mqtt__broker *b, enum mqtt__retry what);

/* paho thread: OpenSSL's reason (bad CA, expired or mismatched certificate) for the log. */
static int mqtt__on_ssl_error(const char *str, size_t len, void *ctx)
{
  struct mqtt__broker *b = ctx;
  DG_LOG_RL(DG_LOG_WARN, "mqtt", "%s: TLS: %.*s", b->id, (int)(len > 0 && str[len - 1] == '\n' ? len - 1 : len), str);
  return 0;
}

static void mqtt__connect(struct mqtt__broker *b)
{
  MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
  MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
  o.keepAliveInterval = (int)b->keepalive_s;
  o.cleansession = b->clean_session;
  o.username = b->username;
  o.password = b->password;
  o.connectTimeout = MQTT__CONNECT_TIMEOUT_S;
  /* Reconnects are ours (loop timer, backoff): paho 1.3.12's automatic reconnect also retries
   * a failed first connect on its own, and a second MQTTAsync_connect racing it blocks and
   * loses its callbacks. One connect at a time, always started from the loop thread. */
  o.automaticReconnect = 0;
  o.MQTTVersion = MQTTVERSION_3_1_1;
  o.onFailure = mqtt__on_connect_failure;
  o.context = b;
  if (b->ssl) {
    ssl.trustStore = b->ca_file;
    ssl.keyStore = b->cert_file;
    ssl.privateKey = b->key_file;
    ssl.enableServerCertAuth = !b->insecure;
    ssl.verify = !b->insecure;
    ssl.ssl_error_cb = mqtt__on_ssl_error;
    ssl.ssl_error_context = b;
    o.ssl = &ssl;
  }
  int rc = MQTTAsync_connect(b->client, &o);
  if (rc != MQTTASYNC_SUCCESS) {
    DG_LOG_RL(DG_LOG_WARN, "mqtt", "%s: connect to %s not started (paho code %d), retry in %u ms",
              b->id, b->uri, rc, b->backoff_ms);
    mqtt__schedule(b, MQTT__RETRY_CONNECT);
  }
}

static void mqtt__subscribe(struct mqtt__broker *b)
{
  b->subscribed = 0;
  for (size_t c = 0; c < b->n_chunks; c++) {
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.onSuccess = mqtt__on_subscribed;
    ro.onFailure = mqtt__on_subscribe_failure;
    ro.context = &b->chunks[c];
    size_t off = c * MQTT__SUB_CHUNK;
    int rc = MQTTAsync_subscribeMany(b->client, b->chunks[c].n, b->sub_topics + off,
                                     b->sub_qos + off, &ro);
    if (rc == MQTTASYNC_DISCONNECTED) return; /* the lost event follows; resubscribe on connect */
    if (rc != MQTTASYNC_SUCCESS) {
      DG_LOG_RL(DG_LOG_WARN, "mqtt", "%s: subscribe failed (paho code %d), retry in %u ms", b->id,
                rc, b->backoff_ms);
      mqtt__schedule(b, MQTT__RETRY_SUBSCRIBE);
      return;
    }
  }
}

static void mqtt__on_retry(uv_timer_t *t)
{
  struct mqtt__broker *b = t->data;
  if (b->retry_what == MQTT__RETRY_CONNECT && !b->connected) mqtt__connect(b);
  else if (b->retry_what == MQTT__RETRY_SUBSCRIBE && b->connected) mqtt__subscribe(b);
}

static void mqtt__schedule(struct mqtt__broker *b, enum mqtt__retry what)
{
  b->retry_what = what;
  uv_timer_start(&b->retry, mqtt__on_retry, b->backoff_ms, 0);
  b->backoff_ms = b->backoff_ms * 2 > MQTT__RETRY_MAX_MS ? MQTT__RETRY_MAX_MS : b->backoff_ms * 2;
}

static void mqtt__handle(struct mqtt__event *ev)
{
  struct mqtt__broker *b = ev->b;
  switch (ev->kind) {
  case MQTT__EV_CONNECTED:
    b->connected = true;
    b->connects++;
    b->backoff_ms = MQTT__RETRY_MIN_MS;
    uv_timer_stop(&b->retry);
    DG_INFO("mqtt", "%s: connected to %s (connect #%llu), subscribing to %zu topics", b->id, b->uri,
            (unsigned long long)b->connects, b->n_subs);
    mqtt__subscribe(b);
    break;
  case MQTT__EV_LOST:
    b->connected = false;
    DG_LOG_RL(DG_LOG_WARN, "mqtt", "%s: connection to %s lost%s%s; %zu points marked comm_fault, "
              "reconnecting in %u ms", b->id, b->uri, ev->text[0] ? ": " : "", ev->text,
              b->n_points, b->backoff_ms);
    mqtt__schedule(b, MQTT__RETRY_CONNECT);
    break;
  case MQTT__EV_CONNECT_FAILED:
    DG_LOG_RL(DG_LOG_WARN, "mqtt", "%s: cannot connect to %s: %s (code %d), retry in %u ms", b->id,
              b->uri, ev->text[0] ? ev->text : "failed", ev->code, b->backoff_ms);
    mqtt__schedule(b, MQTT__RETRY_CONNECT);
    break;
  case MQTT__EV_SUBSCRIBED:
    b->subscribed += (size_t)ev->code;
    if (b->subscribed == b->n_subs) DG_INFO("mqtt", "%s: subscribed to %zu topics", b->id, b->n_subs);
    break;
  case MQTT__EV_SUBSCRIBE_FAILED:
    if (!b->connected) break;
    DG_LOG_RL(DG_LOG_WARN, "mqtt", "%s: subscribe failed: %s (code %d), retry in %u ms", b->id,
              ev->text[0] ? ev->text : "failed", ev->code, b->backoff_ms);
    mqtt__schedule(b, MQTT__RETRY_SUBSCRIBE);
    break;
  }
}

static void mqtt__on_ctl(uv_async_t *h)
{
  struct mqtt_driver *m = h->data;
  pthread_mutex_lock(&m->ctl_lock);
  struct mqtt__event *events = m->events;
  size_t n = m->n_events;
  m->events = NULL;
  m->n_events = m->cap_events = 0;
  pthread_mutex_unlock(&m->ctl_lock);
  for (size_t i = 0; i < n; i++) mqtt__handle(&events[i]);
  free(events);
}

/* ---------------------------------------------------------------------------------------------
 * Start / stop */

static void mqtt__free_broker(struct mqtt__broker *b)
{
  for (size_t i = 0; i < b->n_topics; i++) {
    struct mqtt__topic *t = &b->topics[i];
    for (size_t j = 0; j < t->n_bindings; j++) {
      free(t->bindings[j].point_id);
      free(t->bindings[j].json.path);
      free(t->bindings[j].json.ts_path);
    }
    free(t->bindings);
    free(t->name);
  }
  free(b->topics);
  free(b->slots);
  for (size_t i = 0; i < b->n_points; i++) {
    free(b->points[i].id);
    for (size_t j = 0; j < b->points[i].n_states; j++) free(b->points[i].states[j].text);
    free(b->points[i].states);
  }
  free(b->points);
  for (size_t i = 0; i < b->n_wildcards; i++) {
    free(b->wildcards[i].filter);
    free(b->wildcards[i].json.path);
    free(b->wildcards[i].json.ts_path);
  }
  free(b->wildcards);
  free(b->sub_topics);
  free(b->sub_qos);
  free(b->chunks);
  free(b->id);
  free(b->uri);
  free(b->client_id);
  free(b->username);
  free(b->password);
  free(b->ca_file);
  free(b->cert_file);
  free(b->key_file);
  pthread_mutex_destroy(&b->gate);
}

static void mqtt__free(struct mqtt_driver *m)
{
  for (size_t i = 0; i < m->n_brokers; i++) mqtt__free_broker(&m->brokers[i]);
  free(m->brokers);
  free(m->events);
  if (m->locks_ready) {
    pthread_mutex_destroy(&m->ctl_lock);
    pthread_mutex_destroy(&m->stop_lock);
    pthread_cond_destroy(&m->stop_cond);
  }
  free(m);
}

static int mqtt__init_broker(struct mqtt__broker *b, struct mqtt_driver *m,
                             const struct dg_mqtt_broker *cfg, size_t max_points)
{
  bool fail = false;
  b->m = m;
  b->id = mqtt__strdup_or_null(cfg->id ? cfg->id : "?", &fail);
  b->uri = mqtt__strdup_or_null(cfg->uri, &fail);
  b->username = mqtt__strdup_or_null(cfg->username, &fail);
  b->password = mqtt__strdup_or_null(cfg->password, &fail);
  b->ca_file = mqtt__strdup_or_null(cfg->ca_file, &fail);
  b->cert_file = mqtt__strdup_or_null(cfg->cert_file, &fail);
  b->key_file = mqtt__strdup_or_null(cfg->key_file, &fail);
  b->insecure = cfg->insecure;
  b->max_skew_ms = cfg->max_clock_skew_ms ? cfg->max_clock_skew_ms : MQTT__DEFAULT_SKEW_MS;
  if (cfg->client_id && *cfg->client_id) {
    b->client_id = mqtt__strdup_or_null(cfg->client_id, &fail);
  } else if (asprintf(&b->client_id, "dualguardd-%s-%ld", cfg->id ? cfg->id : "mqtt",
                      (long)getpid()) < 0) {
    b->client_id = NULL;
    fail = true;
  }
  if (!fail && cfg->n_wildcards) {
    b->wildcards = calloc(cfg->n_wildcards, sizeof *b->wildcards);
    if (!b->wildcards) return -ENOMEM;
    b->n_wildcards = cfg->n_wildcards;
  }
  for (size_t i = 0; !fail && i < b->n_wildcards; i++) {
    const struct dg_mqtt_wildcard *w = &cfg->wildcards[i];
    b->wildcards[i].filter = mqtt__strdup_or_null(w->filter, &fail);
    b->wildcards[i].id_level = w->id_level;
    b->wildcards[i].json.path = mqtt__strdup_or_null(w->path, &fail);
    b->wildcards[i].json.ts_path = mqtt__strdup_or_null(w->ts_path, &fail);
    if (!fail && (mqtt_filter_check(w->filter) || mqtt_filter_level_is_plus(w->filter, w->id_level) != 1)) {
      DG_ERR("mqtt", "%s: wildcard topic '%s' with id_level %u is not a filter with '+' at that level",
             b->id, w->filter ? w->filter : "", w->id_level);
      return -EINVAL;
    }
  }
  if (fail) return -ENOMEM;
  if (!b->uri) {
    DG_ERR("mqtt", "%s: broker has no uri", b->id);
    return -EINVAL;
  }
  b->qos = cfg->qos < 0 ? 0 : cfg->qos > 2 ? 2 : cfg->qos;
  b->keepalive_s = cfg->keepalive_s;
  b->clean_session = cfg->clean_session;
  b->ssl = strncmp(b->uri, "ssl://", 6) == 0 || strncmp(b->uri, "mqtts://", 8) == 0;
  b->backoff_ms = MQTT__RETRY_MIN_MS;
  return mqtt__prepare_topics(b, max_points);
}

static int mqtt__create_client(struct mqtt__broker *b)
{
  MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
  co.MQTTVersion = MQTTVERSION_3_1_1;
  int rc = MQTTAsync_createWithOptions(&b->client, b->uri, b->client_id,
                                       MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
  if (rc != MQTTASYNC_SUCCESS) {
    DG_ERR("mqtt", "%s: cannot create client for %s (paho code %d)", b->id, b->uri, rc);
    b->client = NULL;
    return -EINVAL;
  }
  rc = MQTTAsync_setCallbacks(b->client, b, mqtt__on_lost, mqtt__on_message, NULL);
  if (rc == MQTTASYNC_SUCCESS) rc = MQTTAsync_setConnected(b->client, b, mqtt__on_connected);
  if (rc != MQTTASYNC_SUCCESS) {
    DG_ERR("mqtt", "%s: cannot set callbacks (paho code %d)", b->id, rc);
    return -EINVAL;
  }
  return 0;
}

static int mqtt__build(struct mqtt_driver *m, const struct dg_config *cfg)
{
  size_t n = cfg->n_mqtt_brokers;
  m->brokers = calloc(n ? n : 1, sizeof *m->brokers);
  size_t *per_broker = calloc(n ? n : 1, sizeof *per_broker);
  int rc = -ENOMEM;
  if (!m->brokers || !per_broker) goto done;
  m->n_brokers = n;
  for (size_t i = 0; i < n; i++) pthread_mutex_init(&m->brokers[i].gate, NULL);
  for (size_t i = 0; i < cfg->n_points; i++) {
    const struct dg_point *p = &cfg->points[i];
    if (p->driver_kind != DG_DRIVER_MQTT) continue;
    if (p->driver_index >= m->n_brokers) {
      DG_ERR("mqtt", "point %s: no MQTT broker #%zu", p->id, p->driver_index);
      rc = -EINVAL;
      goto done;
    }
    per_broker[p->driver_index]++;
  }
  for (size_t i = 0; i < m->n_brokers; i++) {
    rc = mqtt__init_broker(&m->brokers[i], m, &cfg->mqtt_brokers[i], per_broker[i]);
    if (rc) goto done;
  }
  for (size_t i = 0; i < cfg->n_points; i++) {
    const struct dg_point *p = &cfg->points[i];
    if (p->driver_kind != DG_DRIVER_MQTT) continue;
    rc = mqtt__bind_point(&m->brokers[p->driver_index], p);
    if (rc) goto done;
  }
  for (size_t i = 0; i < m->n_brokers; i++) {
    rc = mqtt__prepare_subscriptions(&m->brokers[i]);
    if (rc) goto done;
  }
  rc = 0;
done:
  free(per_broker);
  return rc;
}

static void mqtt__destroy_clients(struct mqtt_driver *m)
{
  for (size_t i = 0; i < m->n_brokers; i++) {
    struct mqtt__broker *b = &m->brokers[i];
    pthread_mutex_lock(&b->gate);
    b->closed = true;
    pthread_mutex_unlock(&b->gate);
    if (b->client) MQTTAsync_destroy(&b->client);
  }
}

int mqtt_start(struct mqtt_driver **out, uv_loop_t *loop, const struct dg_config *cfg,
               struct sampleq *q)
{
  *out = NULL;
  struct mqtt_driver *m = calloc(1, sizeof *m);
  if (!m) return -ENOMEM;
  m->loop = loop;
  m->q = q;
  pthread_mutex_init(&m->ctl_lock, NULL);
  pthread_mutex_init(&m->stop_lock, NULL);
  pthread_cond_init(&m->stop_cond, NULL);
  m->locks_ready = true;
  int rc = mqtt__build(m, cfg);
  for (size_t i = 0; rc == 0 && i < m->n_brokers; i++) rc = mqtt__create_client(&m->brokers[i]);
  if (rc == 0) rc = uv_async_init(loop, &m->ctl, mqtt__on_ctl);
  if (rc) goto fail;
  m->ctl.data = m;
  m->open_handles = 1;
  for (size_t i = 0; i < m->n_brokers; i++) {
    struct mqtt__broker *b = &m->brokers[i];
    uv_timer_init(loop, &b->retry);
    b->retry.data = b;
    m->open_handles++;
  }
  for (size_t i = 0; i < m->n_brokers; i++) mqtt__connect(&m->brokers[i]);
  *out = m;
  return 0;
fail:
  mqtt__destroy_clients(m);
  mqtt__free(m);
  return rc;
}

static void mqtt__on_close(uv_handle_t *h)
{
  struct mqtt_driver *m = h->data;
  if (--m->open_handles == 0) mqtt__free(m);
}

/* Sends DISCONNECT to every connected broker and waits a short while for them to complete. */
static void mqtt__disconnect_all(struct mqtt_driver *m)
{
  for (size_t i = 0; i < m->n_brokers; i++) {
    struct mqtt__broker *b = &m->brokers[i];
    MQTTAsync_disconnectOptions o = MQTTAsync_disconnectOptions_initializer;
    o.timeout = MQTT__DISCONNECT_MS;
    o.onSuccess = mqtt__on_disconnected;
    o.onFailure = mqtt__on_disconnect_failure;
    o.context = b;
    if (MQTTAsync_disconnect(b->client, &o) != MQTTASYNC_SUCCESS) mqtt__on_disconnect_done(b);
  }
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += MQTT__STOP_WAIT_MS / 1000;
  deadline.tv_nsec += (MQTT__STOP_WAIT_MS % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&m->stop_lock);
  for (size_t i = 0; i < m->n_brokers; i++) {
    while (!m->brokers[i].disconnected) {
      if (pthread_cond_timedwait(&m->stop_cond, &m->stop_lock, &deadline) == ETIMEDOUT) break;
    }
    if (!m->brokers[i].disconnected) break;
  }
  pthread_mutex_unlock(&m->stop_lock);
}

void mqtt_stop(struct mqtt_driver *m)
{
  if (!m) return;
  mqtt__disconnect_all(m);
  mqtt__destroy_clients(m);
  for (size_t i = 0; i < m->n_brokers; i++) {
    struct mqtt__broker *b = &m->brokers[i];
    uv_timer_stop(&b->retry);
    b->retry.data = m;
    uv_close((uv_handle_t *)&b->retry, mqtt__on_close);
  }
  uv_close((uv_handle_t *)&m->ctl, mqtt__on_close);
}

size_t mqtt_broker_count(const struct mqtt_driver *m) { return m ? m->n_brokers : 0; }

int mqtt_broker_stats(struct mqtt_driver *m, size_t broker, struct mqtt_broker_stats *out)
{
  if (!m || broker >= m->n_brokers) return -ENOENT;
  struct mqtt__broker *b = &m->brokers[broker];
  out->connected = b->connected;
  out->subscribed = b->connected && b->subscribed == b->n_subs;
  out->messages = atomic_load_explicit(&b->messages, memory_order_relaxed);
  out->malformed = atomic_load_explicit(&b->malformed, memory_order_relaxed);
  out->connects = b->connects;
  out->last_message_ms = atomic_load_explicit(&b->last_message_ms, memory_order_relaxed);
  out->clock_skewed = atomic_load_explicit(&b->clock_skewed, memory_order_relaxed);
  out->unknown_point = atomic_load_explicit(&b->unknown_point, memory_order_relaxed);
  return 0;
}
