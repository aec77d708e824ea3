#include "mqtt_config.h"

#include "config_ctx.h"
#include "mqtt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MQ_ID, MQ_URI, MQ_CLIENT, MQ_USER, MQ_PASS, MQ_PASS_FILE, MQ_QOS, MQ_KEEPALIVE, MQ_CLEAN, MQ_CA, MQ_CERT, MQ_KEY, MQ_INSECURE, MQ_SKEW, MQ_WILDCARDS };
static const struct dg_yfield mqtt_config__mqtt_fields[] = {
  [MQ_ID] = YF_STR("id", struct dg_mqtt_broker, id, DG_YF_REQ),
  [MQ_URI] = YF_STR("uri", struct dg_mqtt_broker, uri, DG_YF_REQ),
  [MQ_CLIENT] = YF_STR("client_id", struct dg_mqtt_broker, client_id, 0),
  [MQ_USER] = YF_STR("username", struct dg_mqtt_broker, username, 0),
  [MQ_PASS] = YF_STR("password", struct dg_mqtt_broker, password, 0),
  [MQ_PASS_FILE] = YF_NODE("password_file", 0),
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
  if (!rc) rc = dg_yc_secret(y, &s, mqtt_config__mqtt_fields, MQ_PASS, MQ_PASS_FILE, &b->password);
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

int mqtt_config_parse(struct cfg_ctx *x, const struct dg_ynode *n)
{
  struct dg_config *c = x->c;
  return dg_yc_list(&x->y, n, sizeof *c->mqtt_brokers, &c->mqtt_brokers, &c->n_mqtt_brokers, mqtt_config__broker);
}

void mqtt_config_free(struct dg_config *c)
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
