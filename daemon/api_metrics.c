#include "api_metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sdnotify.h"

#define METRICS_STORE_MAX_AGE_MS 10000
#define METRICS_CT "text/plain; version=0.0.4; charset=utf-8"

/* A growing text buffer; on allocation failure it stops growing and reports it at the end. */
struct metrics_buf {
  char *p;
  size_t len, cap;
  int oom;
};

static void metrics__printf(struct metrics_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void metrics__printf(struct metrics_buf *b, const char *fmt, ...)
{
  for (int tries = 0; !b->oom && tries < 2; tries++) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (b->p && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap <= b->len + (size_t)n) cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) b->oom = 1;
    else b->p = np, b->cap = cap;
  }
}

/* A label value with \, " and newline escaped, as the text format requires. */
static void metrics__label(struct metrics_buf *b, const char *v)
{
  for (const char *s = v ? v : ""; *s; s++) {
    if (*s == '\\') metrics__printf(b, "\\\\");
    else if (*s == '"') metrics__printf(b, "\\\"");
    else if (*s == '\n') metrics__printf(b, "\\n");
    else metrics__printf(b, "%c", *s);
  }
}

static void metrics__head(struct metrics_buf *b, const char *name, const char *type, const char *help)
{
  metrics__printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{k1="v1",k2="v2"} value; k2 may be NULL. */
static void metrics__sample(struct metrics_buf *b, const char *name, const char *k1, const char *v1, const char *k2,
                            const char *v2, double value)
{
  metrics__printf(b, "%s", name);
  if (k1) {
    metrics__printf(b, "{%s=\"", k1);
    metrics__label(b, v1);
    if (k2) {
      metrics__printf(b, "\",%s=\"", k2);
      metrics__label(b, v2);
    }
    metrics__printf(b, "\"}");
  }
  metrics__printf(b, " %.17g\n", value);
}

static void metrics__samples(struct metrics_buf *b, const struct engine *e)
{
  const struct dg_config *cfg = e->cfg;
  metrics__head(b, "dualguard_samples_total", "counter", "Samples received, by driver and point quality.");
  for (size_t d = 0; d < cfg->n_mqtt_brokers + cfg->n_modbus_buses; d++) {
    int mqtt = d < cfg->n_mqtt_brokers;
    const char *id = mqtt ? cfg->mqtt_brokers[d].id : cfg->modbus_buses[d - cfg->n_mqtt_brokers].id;
    for (int q = DG_Q_GOOD; q <= DG_Q_UNKNOWN; q++) {
      uint64_t n = 0;
      for (size_t i = 0; i < cfg->n_points; i++) {
        const struct dg_point *p = &cfg->points[i];
        if ((p->driver_kind == DG_DRIVER_MQTT) == mqtt && p->driver_id && strcmp(p->driver_id, id) == 0)
          n += e->points[i].by_quality[q];
      }
      metrics__sample(b, "dualguard_samples_total", "driver", id, "quality", dg_quality_name(q), (double)n);
    }
  }
  metrics__head(b, "dualguard_rule_evaluations_total", "counter", "Rule evaluations on received samples.");
  metrics__sample(b, "dualguard_rule_evaluations_total", NULL, NULL, NULL, NULL, (double)e->stats.rule_evals);
  metrics__head(b, "dualguard_alarm_transitions_total", "counter", "Alarm transitions committed.");
  metrics__sample(b, "dualguard_alarm_transitions_total", NULL, NULL, NULL, NULL, (double)e->stats.transitions);
}

static void metrics__alarms(struct metrics_buf *b, const struct engine *e)
{
  unsigned n[ALARM_SUPPRESSED + 1][DG_PRIO_CRITICAL + 1] = {{0}};
  for (size_t i = 0; i < e->cfg->n_rules; i++) {
    const struct alarm *a = &e->alarms[i];
    if ((unsigned)a->state <= ALARM_SUPPRESSED && (unsigned)a->priority <= DG_PRIO_CRITICAL) n[a->state][a->priority]++;
  }
  metrics__head(b, "dualguard_alarms", "gauge", "Alarms by state and priority (priority none: never active).");
  for (int s = ALARM_NORMAL; s <= ALARM_SUPPRESSED; s++)
    for (int p = DG_PRIO_NONE; p <= DG_PRIO_CRITICAL; p++)
      metrics__sample(b, "dualguard_alarms", "state", alarm_state_name(s), "priority", dg_priority_name(p), n[s][p]);
}

static void metrics__drivers(struct metrics_buf *b, struct api_ctx *ctx)
{
  const struct dg_config *cfg = ctx->engine->cfg;
  metrics__head(b, "dualguard_driver_connected", "gauge", "1 when the driver's link is up.");
  for (size_t i = 0; ctx->mqtt && i < mqtt_broker_count(ctx->mqtt) && i < cfg->n_mqtt_brokers; i++) {
    struct mqtt_broker_stats s;
    if (!mqtt_broker_stats(ctx->mqtt, i, &s))
      metrics__sample(b, "dualguard_driver_connected", "driver", cfg->mqtt_brokers[i].id, "kind", "mqtt", s.connected);
  }
  for (size_t i = 0; ctx->modbus && i < mb_bus_count(ctx->modbus) && i < cfg->n_modbus_buses; i++) {
    struct mb_bus_stats s;
    if (!mb_bus_stats(ctx->modbus, i, &s))
      metrics__sample(b, "dualguard_driver_connected", "driver", cfg->modbus_buses[i].id, "kind", "modbus",
                      s.connected);
  }
  metrics__head(b, "dualguard_sample_queue_dropped_total", "counter", "Samples dropped on a full sample queue.");
  metrics__sample(b, "dualguard_sample_queue_dropped_total", NULL, NULL, NULL, NULL,
                  ctx->queue ? (double)sampleq_dropped(ctx->queue) : 0);
}

static const char *const metrics__sql_outbox =
  "SELECT count(*), min(created_ms), (SELECT count(*) FROM outbox WHERE state = 2) FROM outbox WHERE state = 0";

static void metrics__outbox(struct metrics_buf *b, struct api_ctx *ctx)
{
  double pending = 0, expired = 0, oldest_s = 0;
  sqlite3_stmt *st = store_stmt(store_reader(ctx->store), metrics__sql_outbox);
  if (st && sqlite3_step(st) == SQLITE_ROW) {
    pending = sqlite3_column_double(st, 0);
    if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
      int64_t age = dg_wall_ms() - sqlite3_column_int64(st, 1);
      oldest_s = age > 0 ? (double)age / 1000.0 : 0;
    }
    expired = sqlite3_column_double(st, 2);
  }
  if (st) sqlite3_reset(st);
  struct notify_stats ns = {0};
  if (ctx->notify) notify_stats(ctx->notify, &ns);
  metrics__head(b, "dualguard_outbox_pending", "gauge", "Notifications waiting in the outbox.");
  metrics__sample(b, "dualguard_outbox_pending", NULL, NULL, NULL, NULL, pending);
  metrics__head(b, "dualguard_outbox_failed", "gauge", "Notifications that expired undelivered.");
  metrics__sample(b, "dualguard_outbox_failed", NULL, NULL, NULL, NULL, expired);
  metrics__head(b, "dualguard_outbox_oldest_age_seconds", "gauge", "Age of the oldest pending notification.");
  metrics__sample(b, "dualguard_outbox_oldest_age_seconds", NULL, NULL, NULL, NULL, oldest_s);
  metrics__head(b, "dualguard_notify_delivered_total", "counter", "Notifications delivered since start.");
  metrics__sample(b, "dualguard_notify_delivered_total", NULL, NULL, NULL, NULL, (double)ns.delivered);
  metrics__head(b, "dualguard_notify_failed_attempts_total", "counter", "Failed delivery attempts since start.");
  metrics__sample(b, "dualguard_notify_failed_attempts_total", NULL, NULL, NULL, NULL, (double)ns.failed_attempts);
  metrics__head(b, "dualguard_notify_queued", "gauge", "Pending notifications held in memory (bounded).");
  metrics__sample(b, "dualguard_notify_queued", NULL, NULL, NULL, NULL, (double)ns.queued);
  metrics__head(b, "dualguard_notify_spilled_total", "counter",
                "Notifications left on disk for want of room in memory, read back as the queue drains.");
  metrics__sample(b, "dualguard_notify_spilled_total", NULL, NULL, NULL, NULL, (double)ns.spilled);
}

static void metrics__store(struct metrics_buf *b, struct api_ctx *ctx)
{
  struct store_stats s;
  store_stats(ctx->store, &s);
  metrics__head(b, "dualguard_store_queue_depth", "gauge", "Store jobs waiting, by lane.");
  metrics__sample(b, "dualguard_store_queue_depth", "lane", "urgent", NULL, NULL, s.urgent_queued);
  metrics__sample(b, "dualguard_store_queue_depth", "lane", "normal", NULL, NULL, s.normal_queued);
  metrics__head(b, "dualguard_store_commit_seconds", "histogram", "Duration of the writer's COMMITs.");
  for (int i = 0; i < STORE_COMMIT_BUCKETS; i++) {
    char le[32];
    snprintf(le, sizeof le, "%g", store_commit_bounds_s[i]);
    metrics__sample(b, "dualguard_store_commit_seconds_bucket", "le", le, NULL, NULL, (double)s.commit_buckets[i]);
  }
  metrics__sample(b, "dualguard_store_commit_seconds_bucket", "le", "+Inf", NULL, NULL, (double)s.commits);
  metrics__sample(b, "dualguard_store_commit_seconds_sum", NULL, NULL, NULL, NULL, s.commit_sum_s);
  metrics__sample(b, "dualguard_store_commit_seconds_count", NULL, NULL, NULL, NULL, (double)s.commits);
  const struct store_health *hl = store_health(ctx->store);
  metrics__head(b, "dualguard_store_jobs_failed_total", "counter", "Store jobs not committed for a storage reason.");
  metrics__sample(b, "dualguard_store_jobs_failed_total", NULL, NULL, NULL, NULL, (double)hl->commits_failed);
  metrics__head(b, "dualguard_history_dropped_total", "counter", "History samples never stored.");
  metrics__sample(b, "dualguard_history_dropped_total", NULL, NULL, NULL, NULL, (double)hl->history_dropped);
}

static void metrics__http(struct metrics_buf *b, struct api_ctx *ctx)
{
  struct http_stats hs;
  if (!ctx->http) return;
  http_stats(ctx->http, &hs);
  metrics__head(b, "dualguard_http_requests_total", "counter", "HTTP requests answered, by method and status class.");
  for (int m = 0; m <= HTTP_STATS_OTHER; m++)
    for (int c = 1; c <= 5; c++) {
      char code[4] = {(char)('0' + c), 'x', 'x', 0};
      if (hs.requests[m][c] || (m == 0 && c == 2))
        metrics__sample(b, "dualguard_http_requests_total", "method", http_stats_methods[m], "code", code,
                        (double)hs.requests[m][c]);
    }
}

static void metrics__handler(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct metrics_buf b = {0};
  (void)req;
  metrics__head(&b, "dualguard_uptime_seconds", "gauge", "Seconds since the daemon started.");
  metrics__sample(&b, "dualguard_uptime_seconds", NULL, NULL, NULL, NULL,
                  (double)(dg_wall_ms() - ctx->started_ms) / 1000.0);
  metrics__samples(&b, ctx->engine);
  metrics__alarms(&b, ctx->engine);
  metrics__drivers(&b, ctx);
  metrics__outbox(&b, ctx);
  metrics__store(&b, ctx);
  metrics__http(&b, ctx);
  if (b.oom) {
    free(b.p);
    api_error(resp, 500, "out of memory");
    return;
  }
  resp->content_type = METRICS_CT;
  resp->body = b.p;
  resp->body_len = b.len;
}

/* ---- /readyz -------------------------------------------------------------------------------- */

static int metrics__ready_add(cJSON *arr, const char *id, const char *kind, int connected)
{
  cJSON *o = cJSON_CreateObject();
  api_json_text(o, "id", id);
  cJSON_AddStringToObject(o, "kind", kind);
  cJSON_AddBoolToObject(o, "connected", connected);
  cJSON_AddItemToArray(arr, o);
  return !!connected;
}

static int metrics__ready_drivers(struct api_ctx *ctx, cJSON *arr)
{
  const struct dg_config *cfg = ctx->engine->cfg;
  int all = 1;
  for (size_t i = 0; ctx->mqtt && i < mqtt_broker_count(ctx->mqtt) && i < cfg->n_mqtt_brokers; i++) {
    struct mqtt_broker_stats s = {0};
    mqtt_broker_stats(ctx->mqtt, i, &s);
    all &= metrics__ready_add(arr, cfg->mqtt_brokers[i].id, "mqtt", s.connected);
  }
  for (size_t i = 0; ctx->modbus && i < mb_bus_count(ctx->modbus) && i < cfg->n_modbus_buses; i++) {
    struct mb_bus_stats s = {0};
    mb_bus_stats(ctx->modbus, i, &s);
    all &= metrics__ready_add(arr, cfg->modbus_buses[i].id, "modbus", s.connected);
  }
  return all;
}

static void metrics__readyz(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  (void)req;
  cJSON *o = cJSON_CreateObject();
  int drivers = metrics__ready_drivers(ctx, cJSON_AddArrayToObject(o, "drivers"));
  int64_t age = dg_mono_ms() - store_heartbeat_ms(ctx->store);
  char why[160] = "";
  int failing = store_failing(ctx->store, why, sizeof why);
  int db = age < METRICS_STORE_MAX_AGE_MS && !failing;
  cJSON *jd = cJSON_AddObjectToObject(o, "database");
  cJSON_AddBoolToObject(jd, "writable", db);
  cJSON_AddNumberToObject(jd, "writer_heartbeat_age_ms", (double)age);
  if (!db) cJSON_AddStringToObject(jd, "reason", failing ? why : "database writer silent");
  cJSON_AddBoolToObject(o, "drivers_connected", drivers);
  cJSON_AddBoolToObject(o, "ready", drivers && db);
  api_reply(resp, drivers && db ? 200 : 503, o);
}

static const struct api_route metrics__routes[] = {
  {"GET", "/metrics", metrics__handler, 0, NULL, NULL},
  {"GET", "/readyz", metrics__readyz, 0, NULL, NULL},
};

struct api_routes metrics_api_routes(void) { return API_ROUTES(metrics__routes); }
