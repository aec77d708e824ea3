#include "config.h"

#include "alarm_config.h"
#include "config_ctx.h"
#include "ledger_config.h"
#include "log.h"
#include "model_config.h"
#include "mqtt.h"
#include "notify_config.h"
#include "rule_config.h"
#include "workcal.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CFG_MAX_FILE (64u << 20)

_Static_assert(sizeof(enum dg_priority) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(enum dg_mb_type) == sizeof(int), "enum fields are stored as int");

/* ---- site, daemon ---- */

enum { SITE_CODE, SITE_NAME };
static const struct dg_yfield cfg__site_fields[] = {
  [SITE_CODE] = YF_STR("code", struct dg_config, site_code, DG_YF_REQ),
  [SITE_NAME] = YF_STR("name", struct dg_config, site_name, 0),
};

static int cfg__site(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_yseen s;
  return DG_YC_MAP(y, n, cfg__site_fields, obj, &s);
}

enum { HTTP_LISTEN, HTTP_PORT };
static const struct dg_yfield cfg__http_fields[] = {
  [HTTP_LISTEN] = YF_STR("listen", struct dg_config, http_listen, 0),
  [HTTP_PORT] = YF_NUM("port", DG_YK_U16, struct dg_config, http_port, 0, 0, 65535),
};

static int cfg__http(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_yseen s;
  return DG_YC_MAP(y, n, cfg__http_fields, obj, &s);
}

enum { DMN_HTTP, DMN_DB, DMN_FLUSH, DMN_DEADLINE };
static const struct dg_yfield cfg__daemon_fields[] = {
  [DMN_HTTP] = YF_NODE("http", 0),
  [DMN_DB] = YF_STR("db", struct dg_config, db_path, 0),
  [DMN_FLUSH] = YF_NUM("history_flush", DG_YK_MS, struct dg_config, history_flush_ms, 0, 1, 3600000),
  [DMN_DEADLINE] = YF_NUM("hazard_deadline_days", DG_YK_U32, struct dg_config, hazard_deadline_days, 0, 1, 3650),
};

static int cfg__daemon(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, cfg__daemon_fields, obj, &s);
  if (!rc) rc = dg_yc_under(y, s.val[DMN_HTTP], "http", obj, cfg__http);
  return rc;
}

/* ---- persons ---- */

enum { PER_ID, PER_NAME, PER_PHONE, PER_EMAIL, PER_ROLES };
static const struct dg_yfield cfg__person_fields[] = {
  [PER_ID] = YF_STR("id", struct dg_person, id, DG_YF_REQ),
  [PER_NAME] = YF_STR("name", struct dg_person, name, 0),
  [PER_PHONE] = YF_STR("phone", struct dg_person, phone, 0),
  [PER_EMAIL] = YF_STR("email", struct dg_person, email, 0),
  [PER_ROLES] = YF_NODE("roles", 0),
};

static int cfg__role(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  return dg_yc_str(y, n, true, item);
}

static int cfg__person(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_person *p = item;
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, cfg__person_fields, p, &s);
  if (!rc) rc = dg_yc_add_id(y, &cfg_ctx(y)->ix->persons, p->id, p, s.val[PER_ID], "person");
  if (!rc && s.val[PER_ROLES]) {
    size_t mark = dg_yc_path_key(y, "roles");
    rc = dg_yc_list(y, s.val[PER_ROLES], sizeof(char *), &p->roles, &p->n_roles, cfg__role);
    dg_yc_path_restore(y, mark);
  }
  return rc;
}


/* ==== mqtt brokers (mqtt_config) ==== */

enum { MQ_ID, MQ_URI, MQ_CLIENT, MQ_USER, MQ_PASS, MQ_QOS, MQ_KEEPALIVE, MQ_CLEAN, MQ_CA, MQ_CERT, MQ_KEY, MQ_INSECURE, MQ_SKEW, MQ_WILDCARDS };
static const struct dg_yfield mqtt_config__mqtt_fields[] = {
  [MQ_ID] = YF_STR("id", struct dg_mqtt_broker, id, DG_YF_REQ),
  [MQ_URI] = YF_STR("uri", struct dg_mqtt_broker, uri, DG_YF_REQ),
  [MQ_CLIENT] = YF_STR("client_id", struct dg_mqtt_broker, client_id, 0),
  [MQ_USER] = YF_STR("username", struct dg_mqtt_broker, username, 0),
  [MQ_PASS] = YF_STR("password", struct dg_mqtt_broker, password, 0),
  [MQ_QOS] = YF_NUM("qos", DG_YK_INT, struct dg_mqtt_broker, qos, 0, 0, 2),
  [MQ_KEEPALIVE] = YF_NUM("keepalive", DG_YK_SEC, struct dg_mqtt_broker, keepalive_s, 0, 0, 65535000),
  [MQ_CLEAN] = YF_BOOL("clean_session", struct dg_mqtt_broker, clean_session),
  [MQ_CA] = YF_STR("ca_file", struct dg_mqtt_broker, ca_file, 0),
  [MQ_CERT] = YF_STR("cert_file", struct dg_mqtt_broker, cert_file, 0),
  [MQ_KEY] = YF_STR("key_file", struct dg_mqtt_broker, key_file, 0),
  [MQ_INSECURE] = YF_BOOL("insecure", struct dg_mqtt_broker, insecure),
  [MQ_SKEW] = YF_NUM("max_clock_skew", DG_YK_MS, struct dg_mqtt_broker, max_clock_skew_ms, 0, 1, DG_YMS_DAY),
  [MQ_WILDCARDS] = YF_NODE("wildcard_topics", 0),
};

/* ---- wildcard_topics ---- */

enum { WC_FILTER, WC_LEVEL, WC_PATH, WC_TS_PATH };
static const struct dg_yfield mqtt_config__wildcard_fields[] = {
  [WC_FILTER] = YF_STR("filter", struct dg_mqtt_wildcard, filter, DG_YF_REQ),
  [WC_LEVEL] = YF_NUM("id_level", DG_YK_U32, struct dg_mqtt_wildcard, id_level, DG_YF_REQ, 1, 64),
  [WC_PATH] = YF_STR("path", struct dg_mqtt_wildcard, path, 0),
  [WC_TS_PATH] = YF_STR("ts_path", struct dg_mqtt_wildcard, ts_path, 0),
};

/* The id level must be a '+' of the filter: a fixed level would give every message one id, and
 * '#' spans several levels. */
static int mqtt_config__wildcard(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  (void)i;
  struct dg_mqtt_wildcard *w = item;
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, mqtt_config__wildcard_fields, w, &s);
  if (rc) return rc;
  if (mqtt_filter_check(w->filter))
    return dg_yc_failk(y, s.val[WC_FILTER], "filter",
                       "expected an MQTT topic filter like plant/+/gas/+ ('#' only as the last level), got '%.64s'",
                       w->filter);
  if (mqtt_filter_level_is_plus(w->filter, w->id_level) != 1)
    return dg_yc_failk(y, s.val[WC_LEVEL], "id_level", "level %u of '%.64s' must be a '+' level",
                       w->id_level, w->filter);
  if (w->path && mqtt_path_check(w->path))
    return dg_yc_failk(y, s.val[WC_PATH], "path", "expected a field path like value or data.ch4, got '%.64s'", w->path);
  if (w->ts_path && mqtt_path_check(w->ts_path))
    return dg_yc_failk(y, s.val[WC_TS_PATH], "ts_path", "expected a field path like ts, got '%.64s'", w->ts_path);
  return 0;
}

static int mqtt_config__mqtt_wildcards(struct dg_ycheck *y, struct dg_mqtt_broker *b, const struct dg_yseen *s)
{
  if (!s->val[MQ_WILDCARDS]) return 0;
  size_t mark = dg_yc_path_key(y, "wildcard_topics");
  int rc = dg_yc_list(y, s->val[MQ_WILDCARDS], sizeof *b->wildcards, &b->wildcards, &b->n_wildcards,
                      mqtt_config__wildcard);
  dg_yc_path_restore(y, mark);
  return rc;
}

/* ---- brokers ---- */

/* TLS keys need a TLS URI, a client certificate needs its key, and the files must be readable
 * now: a typo would otherwise only show as a broker that never connects. */
static int mqtt_config__mqtt_tls(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_mqtt_broker *b,
                                 const struct dg_yseen *s)
{
  static const char *const tls_schemes[] = {"ssl://", "mqtts://", "wss://", NULL};
  static const int keys[] = {MQ_CA, MQ_CERT, MQ_KEY, MQ_INSECURE};
  char *const files[] = {b->ca_file, b->cert_file, b->key_file};
  bool tls = dg_yc_has_scheme(b->uri, tls_schemes);
  for (int k = 0; k < 4; k++) {
    if (!s->key[keys[k]]) continue;
    if (!tls)
      return dg_yc_fail(y, s->key[keys[k]], "key '%s' needs a TLS uri (ssl://, mqtts:// or wss://)",
                        mqtt_config__mqtt_fields[keys[k]].key);
    if (k < 3 && access(files[k], R_OK) != 0)
      return dg_yc_failk(y, s->val[keys[k]], mqtt_config__mqtt_fields[keys[k]].key, "cannot read '%.128s': %s", files[k],
                         strerror(errno));
  }
  if (!b->cert_file != !b->key_file)
    return dg_yc_fail(y, n, "cert_file and key_file go together (the client certificate and its key)");
  return 0;
}

static int mqtt_config__broker(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  static const char *const schemes[] = {"tcp://", "ssl://", "mqtt://", "mqtts://", "ws://", "wss://", NULL};
  struct dg_mqtt_broker *b = item;
  struct dg_yseen s;
  b->qos = 1;
  b->keepalive_s = 30;
  b->clean_session = true;
  b->max_clock_skew_ms = 300000;
  int rc = DG_YC_MAP(y, n, mqtt_config__mqtt_fields, b, &s);
  if (!rc) rc = dg_yc_add_id(y, &cfg_ctx(y)->brokers, b->id, b, s.val[MQ_ID], "MQTT broker");
  if (rc) return rc;
  if (!dg_yc_has_scheme(b->uri, schemes))
    return dg_yc_failk(y, s.val[MQ_URI], "uri", "expected a URI like tcp://host:1883 or ssl://host:8883, got '%.64s'",
                       b->uri);
  if (!b->client_id && asprintf(&b->client_id, "dualguardd-%s", b->id) < 0) {
    b->client_id = NULL;
    return dg_yc_oom(y);
  }
  rc = mqtt_config__mqtt_tls(y, n, b, &s);
  return rc ? rc : mqtt_config__mqtt_wildcards(y, b, &s);
}

static int mqtt_config_parse(struct cfg_ctx *x, const struct dg_ynode *n)
{
  struct dg_config *c = x->c;
  return dg_yc_list(&x->y, n, sizeof *c->mqtt_brokers, &c->mqtt_brokers, &c->n_mqtt_brokers, mqtt_config__broker);
}

static void mqtt_config_free(struct dg_config *c)
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
}

/* ==== modbus buses (modbus_config) ==== */

static const char *const modbus_config__transports[] = {"tcp", "rtu", "rtu_over_tcp", NULL};
static const char *const modbus_config__parities[] = {"N", "E", "O", NULL};

/* Key flags: which transport a bus key belongs to. */
enum { F_NET = 2, F_SERIAL = 4 };

enum {
  MB_ID, MB_TRANSPORT, MB_HOST, MB_PORT, MB_DEVICE, MB_BAUD, MB_PARITY, MB_DATA_BITS, MB_STOP_BITS,
  MB_RS485, MB_RESPONSE, MB_BYTE, MB_POLL, MB_PAUSE, MB_GAP, MB_FAILS, MB_RECONNECT
};
static const struct dg_yfield modbus_config__modbus_fields[] = {
  [MB_ID] = YF_STR("id", struct dg_modbus_bus, id, DG_YF_REQ),
  [MB_TRANSPORT] = YF_ENUM("transport", struct dg_modbus_bus, transport, DG_YF_REQ, modbus_config__transports),
  [MB_HOST] = YF_STR("host", struct dg_modbus_bus, host, F_NET),
  [MB_PORT] = YF_NUM("port", DG_YK_U16, struct dg_modbus_bus, port, F_NET, 1, 65535),
  [MB_DEVICE] = YF_STR("device", struct dg_modbus_bus, device, F_SERIAL),
  [MB_BAUD] = YF_NUM("baud", DG_YK_U32, struct dg_modbus_bus, baud, F_SERIAL, 50, 4000000),
  [MB_PARITY] = YF_NODE("parity", F_SERIAL),
  [MB_DATA_BITS] = YF_NUM("data_bits", DG_YK_U8, struct dg_modbus_bus, data_bits, F_SERIAL, 5, 8),
  [MB_STOP_BITS] = YF_NUM("stop_bits", DG_YK_U8, struct dg_modbus_bus, stop_bits, F_SERIAL, 1, 2),
  [MB_RS485] = {"rs485", DG_YK_BOOL, F_SERIAL, offsetof(struct dg_modbus_bus, rs485), 0, 0, NULL},
  [MB_RESPONSE] = YF_NUM("response_timeout", DG_YK_MS, struct dg_modbus_bus, response_timeout_ms, 0, 1, 600000),
  [MB_BYTE] = YF_NUM("byte_timeout", DG_YK_MS, struct dg_modbus_bus, byte_timeout_ms, 0, 0, 600000),
  [MB_POLL] = YF_NUM("poll_interval", DG_YK_MS, struct dg_modbus_bus, poll_interval_ms, 0, 1, DG_YMS_DAY),
  [MB_PAUSE] = YF_NUM("request_pause", DG_YK_MS, struct dg_modbus_bus, request_pause_ms, 0, 0, 60000),
  [MB_GAP] = YF_NUM("max_gap", DG_YK_U16, struct dg_modbus_bus, max_gap, 0, 0, 125),
  [MB_FAILS] = YF_NUM("fail_threshold", DG_YK_U32, struct dg_modbus_bus, fail_threshold, 0, 1, 1000000),
  [MB_RECONNECT] = YF_NUM("reconnect_max", DG_YK_MS, struct dg_modbus_bus, reconnect_max_ms, 0, 1, DG_YMS_DAY),
};

static void modbus_config__modbus_defaults(struct dg_modbus_bus *b)
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

static int modbus_config__modbus_transport(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_modbus_bus *b,
                                           const struct dg_yseen *s)
{
  const size_t nf = DG_YCOUNT(modbus_config__modbus_fields);
  if (b->transport == DG_MB_RTU) {
    int rc = dg_yc_forbid(y, s, modbus_config__modbus_fields, nf, F_NET, "for transport tcp or rtu_over_tcp");
    if (!rc && !b->device) rc = dg_yc_fail(y, n, "missing required key 'device' (transport rtu)");
    return rc;
  }
  int rc = dg_yc_forbid(y, s, modbus_config__modbus_fields, nf, F_SERIAL, "for transport rtu");
  if (!rc && !b->host) rc = dg_yc_fail(y, n, "missing required key 'host' (transport %s)",
                                       modbus_config__transports[b->transport - 1]);
  return rc;
}

static int modbus_config__bus(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_modbus_bus *b = item;
  struct dg_yseen s;
  int parity;
  modbus_config__modbus_defaults(b);
  int rc = DG_YC_MAP(y, n, modbus_config__modbus_fields, b, &s);
  if (!rc) rc = dg_yc_add_id(y, &cfg_ctx(y)->buses, b->id, b, s.val[MB_ID], "Modbus bus");
  if (!rc) rc = modbus_config__modbus_transport(y, n, b, &s);
  if (!rc && s.val[MB_PARITY]) {
    size_t mark = dg_yc_path_key(y, "parity");
    rc = dg_yc_choice(y, s.val[MB_PARITY], modbus_config__parities, &parity);
    dg_yc_path_restore(y, mark);
    if (!rc) b->parity = modbus_config__parities[parity][0];
  }
  return rc;
}

static int modbus_config_parse(struct cfg_ctx *x, const struct dg_ynode *n)
{
  struct dg_config *c = x->c;
  return dg_yc_list(&x->y, n, sizeof *c->modbus_buses, &c->modbus_buses, &c->n_modbus_buses, modbus_config__bus);
}

static void modbus_config_free(struct dg_config *c)
{
  for (size_t i = 0; i < c->n_modbus_buses; i++) {
    free(c->modbus_buses[i].id);
    free(c->modbus_buses[i].host);
    free(c->modbus_buses[i].device);
  }
  free(c->modbus_buses);
}

/* ==== points (point_config) ==== */

static const char *const point_config__mb_types[] = {"bool", "int16", "uint16", "int32", "uint32",
                                            "float32", "int64", "uint64", "float64", NULL};
static const char *const point_config__orders[] = {"ABCD", "DCBA", "BADC", "CDAB", NULL};
/* Key flags: which driver a point key belongs to. */
enum { F_MQTT = 2, F_MODBUS = 4 };

enum {
  PT_ID, PT_NAME, PT_ENG_UNIT, PT_UNIT, PT_DRIVER, PT_SCALE, PT_OFFSET, PT_DEADBAND,
  PT_TOPIC, PT_PATH, PT_TS_PATH,
  PT_SLAVE, PT_COIL, PT_DISCRETE, PT_INPUT, PT_HOLDING, PT_TYPE, PT_ORDER, PT_BIT, PT_POLL, PT_STATES
};
static const struct dg_yfield point_config__point_fields[] = {
  [PT_ID] = YF_STR("id", struct dg_point, id, DG_YF_REQ),
  [PT_NAME] = YF_STR("name", struct dg_point, name, 0),
  [PT_ENG_UNIT] = YF_STR("eng_unit", struct dg_point, eng_unit, 0),
  [PT_UNIT] = YF_STR("unit_id", struct dg_point, unit_id, 0),
  [PT_DRIVER] = YF_NODE("driver", DG_YF_REQ),
  [PT_SCALE] = YF_NUM("scale", DG_YK_DOUBLE, struct dg_point, scale, 0, -DBL_MAX, DBL_MAX),
  [PT_OFFSET] = YF_NUM("offset", DG_YK_DOUBLE, struct dg_point, offset, 0, -DBL_MAX, DBL_MAX),
  [PT_DEADBAND] = YF_NUM("deadband", DG_YK_DOUBLE, struct dg_point, deadband, 0, 0, DBL_MAX),
  [PT_TOPIC] = YF_STR("topic", struct dg_point, mqtt.topic, F_MQTT),
  [PT_PATH] = YF_STR("path", struct dg_point, mqtt.path, F_MQTT),
  [PT_TS_PATH] = YF_STR("ts_path", struct dg_point, mqtt.ts_path, F_MQTT),
  [PT_SLAVE] = YF_NUM("slave", DG_YK_INT, struct dg_point, modbus.slave, F_MODBUS, 0, 247),
  [PT_COIL] = YF_NODE("coil", F_MODBUS),
  [PT_DISCRETE] = YF_NODE("discrete", F_MODBUS),
  [PT_INPUT] = YF_NODE("input", F_MODBUS),
  [PT_HOLDING] = YF_NODE("holding", F_MODBUS),
  [PT_TYPE] = YF_ENUM("type", struct dg_point, modbus.type, F_MODBUS, point_config__mb_types),
  [PT_ORDER] = YF_NODE("order", F_MODBUS),
  [PT_BIT] = YF_NUM("bit", DG_YK_INT, struct dg_point, modbus.bit, F_MODBUS, 0, 15),
  [PT_POLL] = YF_NUM("poll", DG_YK_MS, struct dg_point, modbus.poll_ms, F_MODBUS, 1, DG_YMS_DAY),
  [PT_STATES] = YF_NODE("states", F_MQTT),
};

static int point_config__driver(struct dg_ycheck *y, const struct dg_ynode *v, struct dg_point *p)
{
  const char *t, *dot;
  void *obj;
  int rc = dg_yc_text(y, v, &t);
  if (rc) return rc;
  if (!strncmp(t, "mqtt.", 5)) p->driver_kind = DG_DRIVER_MQTT;
  else if (!strncmp(t, "modbus.", 7)) p->driver_kind = DG_DRIVER_MODBUS;
  dot = strchr(t, '.');
  if (!p->driver_kind || !dot[1])
    return dg_yc_fail(y, v, "expected 'mqtt.<broker id>' or 'modbus.<bus id>', got '%.64s'", t);
  if (!(p->driver_id = strdup(dot + 1))) return dg_yc_oom(y);
  if (p->driver_kind == DG_DRIVER_MQTT) {
    if (!(obj = dg_idmap_get(&cfg_ctx(y)->brokers, p->driver_id)))
      return dg_yc_fail(y, v, "unknown MQTT broker '%.64s' (no mqtt entry has that id)", p->driver_id);
    p->driver_index = (size_t)((struct dg_mqtt_broker *)obj - cfg_ctx(y)->c->mqtt_brokers);
  } else {
    if (!(obj = dg_idmap_get(&cfg_ctx(y)->buses, p->driver_id)))
      return dg_yc_fail(y, v, "unknown Modbus bus '%.64s' (no modbus entry has that id)", p->driver_id);
    p->driver_index = (size_t)((struct dg_modbus_bus *)obj - cfg_ctx(y)->c->modbus_buses);
  }
  return 0;
}

static int point_config__mqtt_paths(struct dg_ycheck *y, const struct dg_point *p, const struct dg_yseen *s)
{
  if (p->mqtt.path && mqtt_path_check(p->mqtt.path))
    return dg_yc_failk(y, s->val[PT_PATH], "path",
                       "expected a field path like value, data.ch4, values.0 or [id=GT101].value, got '%.64s'",
                       p->mqtt.path);
  if (p->mqtt.ts_path && mqtt_path_check(p->mqtt.ts_path))
    return dg_yc_failk(y, s->val[PT_TS_PATH], "ts_path",
                       "expected a field path like ts, meta.ts or [id=GT101].ts, got '%.64s'", p->mqtt.ts_path);
  return 0;
}

/* states: { "RUN": 1, "STOP": 0 }: text → finite number, texts unique. */
static int point_config__mqtt_states(struct dg_ycheck *y, struct dg_point *p, const struct dg_yseen *s)
{
  const struct dg_ynode *m = s->val[PT_STATES];
  if (!m || dg_yc_is_null(m)) return 0;
  if (m->type != DG_YMAP || !m->n)
    return dg_yc_failk(y, m, "states", "expected a non-empty mapping of payload text to number, like { RUN: 1, STOP: 0 }");
  size_t n = m->n / 2;
  p->mqtt.states = calloc(n, sizeof *p->mqtt.states);
  if (!p->mqtt.states) return dg_yc_oom(y);
  for (size_t i = 0; i < n; i++) {
    const struct dg_ynode *k = m->kids[2 * i], *v = m->kids[2 * i + 1];
    const char *text, *num;
    int rc = dg_yc_scalar(y, k, "a state text", &text);
    if (!rc) rc = dg_yc_scalar(y, v, "a number", &num);
    if (rc) return rc;
    if (!text || !*text) return dg_yc_failk(y, k, "states", "expected a non-empty state text");
    for (size_t j = 0; j < p->mqtt.n_states; j++)
      if (!strcmp(p->mqtt.states[j].text, text))
        return dg_yc_failk(y, k, "states", "state '%.64s' given twice", text);
    char *end = NULL;
    errno = 0;
    double d = num ? strtod(num, &end) : NAN;
    if (!num || end == num || *end || errno || !isfinite(d))
      return dg_yc_failk(y, v, "states", "expected a number for state '%.64s'", text);
    p->mqtt.states[p->mqtt.n_states].text = strdup(text);
    if (!p->mqtt.states[p->mqtt.n_states].text) return dg_yc_oom(y);
    p->mqtt.states[p->mqtt.n_states++].value = d;
  }
  return 0;
}

static int point_config__mqtt_binding(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_point *p,
                                      const struct dg_yseen *s)
{
  int rc = dg_yc_forbid(y, s, point_config__point_fields, DG_YCOUNT(point_config__point_fields), F_MODBUS, "for modbus points");
  if (!rc) rc = point_config__mqtt_states(y, p, s);
  if (rc) return rc;
  if (!p->mqtt.topic && !s->val[PT_TOPIC] && cfg_ctx(y)->c->mqtt_brokers[p->driver_index].n_wildcards)
    return point_config__mqtt_paths(y, p, s); /* fed only through the broker's wildcard_topics */
  if (!p->mqtt.topic || !*p->mqtt.topic) {
    if (s->val[PT_TOPIC]) return dg_yc_failk(y, s->val[PT_TOPIC], "topic", "expected a non-empty string");
    return dg_yc_fail(y, n, "missing required key 'topic' (MQTT points)");
  }
  if (strpbrk(p->mqtt.topic, "+#"))
    return dg_yc_failk(y, s->val[PT_TOPIC], "topic", "expected an exact topic without wildcards, got '%.64s'",
                       p->mqtt.topic);
  return point_config__mqtt_paths(y, p, s);
}

static unsigned point_config__mb_words(enum dg_mb_type t)
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
static int point_config__mb_space(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_point *p, const struct dg_yseen *s)
{
  static const int keys[] = {PT_COIL, PT_DISCRETE, PT_INPUT, PT_HOLDING};
  static const enum dg_mb_space spaces[] = {DG_MB_COIL, DG_MB_DISCRETE, DG_MB_INPUT, DG_MB_HOLDING};
  int chosen = -1;
  for (int k = 0; k < 4; k++) {
    if (!s->key[keys[k]]) continue;
    if (chosen >= 0) {
      const struct dg_ynode *a = s->key[keys[chosen]], *b = s->key[keys[k]];
      bool b_later = b->line > a->line || (b->line == a->line && b->col > a->col);
      return dg_yc_fail(y, b_later ? b : a, "both '%s' and '%s' given; a point reads one of coil, discrete, input, holding",
                        (b_later ? a : b)->text, (b_later ? b : a)->text);
    }
    chosen = k;
  }
  if (chosen < 0) return dg_yc_fail(y, n, "missing register address: one of coil, discrete, input, holding");
  long long addr;
  const char *key = point_config__point_fields[keys[chosen]].key;
  size_t mark = dg_yc_path_key(y, key);
  int rc = dg_yc_int(y, s->val[keys[chosen]], 0, 65535, &addr);
  dg_yc_path_restore(y, mark);
  p->modbus.space = spaces[chosen];
  p->modbus.address = (uint16_t)addr;
  return rc;
}

static int point_config__mb_type(struct dg_ycheck *y, struct dg_point *p, const struct dg_yseen *s)
{
  struct dg_modbus_binding *mb = &p->modbus;
  bool is_bit_space = mb->space == DG_MB_COIL || mb->space == DG_MB_DISCRETE;
  if (!mb->type) mb->type = is_bit_space ? DG_MB_BOOL : DG_MB_UINT16;
  if (is_bit_space) {
    if (mb->type != DG_MB_BOOL)
      return dg_yc_failk(y, s->val[PT_TYPE], "type", "coils and discrete inputs are bool");
    if (s->key[PT_BIT]) return dg_yc_fail(y, s->key[PT_BIT], "key 'bit' is only valid for input or holding registers");
    if (s->key[PT_ORDER]) return dg_yc_fail(y, s->key[PT_ORDER], "key 'order' is only valid for input or holding registers");
    return 0;
  }
  if (mb->type == DG_MB_BOOL)
    return dg_yc_failk(y, s->val[PT_TYPE], "type",
                       "type bool needs a coil or discrete input; use 'bit' to read one bit of a register");
  if (s->key[PT_BIT] && mb->type != DG_MB_INT16 && mb->type != DG_MB_UINT16)
    return dg_yc_fail(y, s->key[PT_BIT], "key 'bit' needs a 16-bit type (int16 or uint16)");
  if ((unsigned)mb->address + point_config__mb_words(mb->type) - 1 > 65535) {
    const struct dg_ynode *at = s->val[PT_COIL + (int)mb->space - 1];
    return dg_yc_failk(y, at, point_config__point_fields[PT_COIL + (int)mb->space - 1].key,
                       "a %s at address %u runs past register 65535", point_config__mb_types[mb->type - 1], mb->address);
  }
  return 0;
}

static int point_config__modbus_binding(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_point *p,
                                        const struct dg_yseen *s)
{
  int rc = dg_yc_forbid(y, s, point_config__point_fields, DG_YCOUNT(point_config__point_fields), F_MQTT, "for mqtt points");
  if (!rc) rc = point_config__mb_space(y, n, p, s);
  if (!rc) rc = point_config__mb_type(y, p, s);
  if (!rc && s->val[PT_ORDER]) {
    int order;
    size_t mark = dg_yc_path_key(y, "order");
    rc = dg_yc_choice(y, s->val[PT_ORDER], point_config__orders, &order);
    dg_yc_path_restore(y, mark);
    if (!rc) memcpy(p->modbus.order, point_config__orders[order], 5);
  }
  return rc;
}

static int point_config__point(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_point *p = item;
  struct dg_yseen s;
  p->index = i;
  p->scale = 1;
  p->modbus.slave = 1;
  p->modbus.bit = -1;
  memcpy(p->modbus.order, "ABCD", 5);
  int rc = DG_YC_MAP(y, n, point_config__point_fields, p, &s);
  if (!rc) rc = dg_yc_add_id(y, &cfg_ctx(y)->ix->points, p->id, p, s.val[PT_ID], "point");
  if (!rc) {
    size_t mark = dg_yc_path_key(y, "driver");
    rc = point_config__driver(y, s.val[PT_DRIVER], p);
    dg_yc_path_restore(y, mark);
  }
  if (!rc && p->unit_id && !dg_idmap_get(&cfg_ctx(y)->ix->units, p->unit_id))
    rc = dg_yc_failk(y, s.val[PT_UNIT], "unit_id", "unknown unit '%.64s'", p->unit_id);
  if (rc) return rc;
  if (p->driver_kind == DG_DRIVER_MQTT) return point_config__mqtt_binding(y, n, p, &s);
  return point_config__modbus_binding(y, n, p, &s);
}

static int point_config_parse(struct cfg_ctx *x, const struct dg_ynode *n)
{
  struct dg_config *c = x->c;
  return dg_yc_list(&x->y, n, sizeof *c->points, &c->points, &c->n_points, point_config__point);
}

static void point_config_free(struct dg_config *c)
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
}

/* ---- top level ---- */

enum { TOP_SITE, TOP_DAEMON, TOP_PERSONS, TOP_SOURCES, TOP_MQTT, TOP_MODBUS, TOP_POINTS, TOP_RULES,
       TOP_CHANNELS, TOP_POLICIES, TOP_ALARM, TOP_RISK_BANDS, TOP_CALENDAR, TOP_LEDGER };
static const struct dg_yfield cfg__top_fields[] = {
  [TOP_SITE] = YF_NODE("site", DG_YF_REQ),
  [TOP_DAEMON] = YF_NODE("daemon", 0),
  [TOP_PERSONS] = YF_NODE("persons", 0),
  [TOP_SOURCES] = YF_NODE("hazard_sources", 0),
  [TOP_MQTT] = YF_NODE("mqtt", 0),
  [TOP_MODBUS] = YF_NODE("modbus", 0),
  [TOP_POINTS] = YF_NODE("points", 0),
  [TOP_RULES] = YF_NODE("rules", 0),
  [TOP_CHANNELS] = YF_NODE("channels", 0),
  [TOP_POLICIES] = YF_NODE("policies", 0),
  [TOP_ALARM] = YF_NODE("alarm", 0),
  [TOP_RISK_BANDS] = YF_NODE("risk_bands", 0),
  [TOP_CALENDAR] = YF_NODE("calendar", 0),
  [TOP_LEDGER] = YF_NODE("ledger", 0),
};

/* Hands the value of top-level key `key` (if present) to the section's owner. */
static int cfg__section(struct cfg_ctx *x, const struct dg_yseen *s, int key,
                        int (*parse)(struct cfg_ctx *, const struct dg_ynode *))
{
  if (!s->val[key]) return 0;
  size_t mark = dg_yc_path_key(&x->y, cfg__top_fields[key].key);
  int rc = parse(x, s->val[key]);
  dg_yc_path_restore(&x->y, mark);
  return rc;
}

static int cfg__persons(struct cfg_ctx *x, const struct dg_ynode *n)
{
  struct dg_config *c = x->c;
  return dg_yc_list(&x->y, n, sizeof *c->persons, &c->persons, &c->n_persons, cfg__person);
}

static int cfg__defaults(struct cfg_ctx *x)
{
  struct dg_config *c = x->c;
  alarm_config_defaults(c);
  if (!c->http_listen && !(c->http_listen = strdup("127.0.0.1"))) return dg_yc_oom(&x->y);
  if (!c->db_path && !(c->db_path = strdup("dualguard.db"))) return dg_yc_oom(&x->y);
  return 0;
}

static int cfg__root(struct cfg_ctx *x, const struct dg_ynode *root)
{
  struct dg_config *c = x->c;
  struct dg_yseen s;
  if (!root) return dg_yc_fail_at(&x->y, 1, 1, "empty configuration (expected a mapping with at least 'site')");
  int rc = DG_YC_MAP(&x->y, root, cfg__top_fields, NULL, &s);
  if (!rc) rc = dg_yc_under(&x->y, s.val[TOP_SITE], "site", c, cfg__site);
  if (!rc) rc = dg_yc_under(&x->y, s.val[TOP_DAEMON], "daemon", c, cfg__daemon);
  if (!rc) rc = cfg__section(x, &s, TOP_RISK_BANDS, model_config_risk_bands);
  /* Sections in dependency order, so every reference names something already loaded. */
  if (!rc) rc = cfg__section(x, &s, TOP_PERSONS, cfg__persons);
  if (!rc) rc = cfg__section(x, &s, TOP_SOURCES, model_config_parse);
  if (!rc) rc = cfg__section(x, &s, TOP_MQTT, mqtt_config_parse);
  if (!rc) rc = cfg__section(x, &s, TOP_MODBUS, modbus_config_parse);
  if (!rc) rc = cfg__section(x, &s, TOP_POINTS, point_config_parse);
  if (!rc) rc = cfg__section(x, &s, TOP_RULES, rule_config_parse);
  if (!rc) rc = cfg__section(x, &s, TOP_CHANNELS, notify_config_channels);
  if (!rc) rc = cfg__section(x, &s, TOP_POLICIES, notify_config_policies);
  if (!rc) rc = cfg__section(x, &s, TOP_ALARM, alarm_config_parse);
  if (!rc) rc = cfg__section(x, &s, TOP_CALENDAR, ledger_config_calendar);
  if (!rc) rc = cfg__section(x, &s, TOP_LEDGER, ledger_config_parse);
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
  if (k != SIZE_MAX && dg_yc_is_null(val)) {
    memmove(map->kids + k, map->kids + k + 2, (map->n - k - 2) * sizeof *map->kids);
    map->n -= 2;
  } else if (k != SIZE_MAX) {
    map->kids[k + 1] = val;
  } else if (!dg_yc_is_null(val)) {
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
  if (list && !dg_yc_is_null(list)) return *why = "the parent's list is not a sequence", NULL;
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
    if (why && !strcmp(why, "out of memory")) return dg_yc_oom(&x->y);
    if (!why) {
      x->c->n_edits_applied++;
      continue;
    }
    x->c->n_edits_skipped++;
    DG_WARN("config", "%s: model edit %lld (%s %s '%.64s') skipped: %s", x->y.name, e->id, e->op ? e->op : "?",
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
  struct cfg_ctx x = {.y = {.name = name ? name : "<string>", .err = err, .errlen = errlen}};
  struct dg_ytree tree = {0};
  struct dg_ytree *bodies = n ? calloc(n, sizeof *bodies) : NULL;
  int rc;
  if (out) *out = NULL;
  if (n && !bodies) return dg_yc_oom(&x.y);
  if (err && errlen) err[0] = '\0';
  if (!(x.c = calloc(1, sizeof *x.c)) || !(x.ix = calloc(1, sizeof *x.ix))) {
    free(x.c);
    free(bodies);
    return dg_yc_oom(&x.y);
  }
  x.c->index = x.ix;
  x.c->http_port = 8080;
  x.c->history_flush_ms = 1000;
  x.c->hazard_deadline_days = 7;
  x.c->lec_bands = dg_default_lec_bands;
  x.c->ls_bands = dg_default_ls_bands;
  x.c->calendar.weekend_mask = WORKCAL_DEFAULT_WEEKEND;
  if (!(x.c->path = strdup(x.y.name))) rc = dg_yc_oom(&x.y);
  else rc = dg_yaml_parse(x.y.name, yaml, yaml ? len : 0, &tree, err, errlen);
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
  model_config_free(c);
  mqtt_config_free(c);
  modbus_config_free(c);
  point_config_free(c);
  rule_config_free(c);
  notify_config_free(c);
  ledger_config_free(c);
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

