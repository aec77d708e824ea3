#include "api.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_attach.h"
#include "api_docs.h"
#include "api_escalate.h"
#include "api_events.h"
#include "api_commit.h"
#include "api_export.h"
#include "api_govern.h"
#include "api_history.h"
#include "api_kpi.h"
#include "api_login.h"
#include "api_ledger.h"
#include "api_metrics.h"
#include "api_model.h"
#include "api_national.h"
#include "api_posts.h"
#include "api_tasks.h"
#include "api_assess.h"
#include "api_report.h"
#include "api_site_ops.h"
#include "api_siteplan.h"
#include "api_tokens.h"
#include "emergency.h"
#include "log.h"
#include "login.h"
#include "sdnotify.h"

#define API_STORE_MAX_AGE_MS 10000

static void api__ms(cJSON *o, const char *k, int64_t ms)
{
  if (ms) cJSON_AddNumberToObject(o, k, (double)ms);
  else cJSON_AddNullToObject(o, k);
}

/* ---- /healthz ------------------------------------------------------------------------------- */

/* The durability counters of store_health, for /healthz and /api/v1/drivers. */
static void api__durability_json(cJSON *o, struct store *store)
{
  const struct store_health *h = store_health(store);
  cJSON_AddNumberToObject(o, "commits", (double)h->commits);
  cJSON_AddNumberToObject(o, "commits_failed", (double)h->commits_failed);
  cJSON_AddNumberToObject(o, "history_dropped", (double)h->history_dropped);
  cJSON_AddNumberToObject(o, "outcome_retries", (double)h->outcome_retries);
}

static void api__healthz(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  int64_t age = dg_mono_ms() - store_heartbeat_ms(ctx->store);
  char why[160] = "";
  bool failing = store_failing(ctx->store, why, sizeof why);
  if (age >= API_STORE_MAX_AGE_MS)
    snprintf(why, sizeof why, "database writer silent for %lld ms", (long long)age);
  bool ok = !failing && age < API_STORE_MAX_AGE_MS;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "status", ok ? "ok" : "degraded");
  if (!ok) cJSON_AddStringToObject(o, "reason", why);
  cJSON_AddStringToObject(o, "version", DG_VERSION);
  cJSON_AddNumberToObject(o, "uptime_s", (double)(dg_wall_ms() - ctx->started_ms) / 1000.0);
  cJSON_AddStringToObject(o, "site", ctx->engine->cfg->site_code);
  cJSON_AddNumberToObject(o, "store_heartbeat_age_ms", (double)age);
  cJSON_AddNumberToObject(o, "store_pending_jobs", store_pending(ctx->store));
  api__durability_json(o, ctx->store);
  api_reply(resp, ok ? 200 : 503, o);
}

/* ---- /api/v1/points ------------------------------------------------------------------------- */

static void api__points(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct engine *e = ctx->engine;
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < e->cfg->n_points; i++) {
    const struct dg_point *p = &e->cfg->points[i];
    const struct point_rt *rt = &e->points[i];
    cJSON *o = cJSON_CreateObject();
    api_json_text(o, "id", p->id);
    api_json_text(o, "name", p->name);
    api_json_text(o, "eng_unit", p->eng_unit);
    api_json_text(o, "unit_id", p->unit_id);
    api_json_text(o, "driver", p->driver_kind == DG_DRIVER_MQTT ? "mqtt" : "modbus");
    api_json_text(o, "driver_id", p->driver_id);
    if (rt->has_value) cJSON_AddNumberToObject(o, "value", rt->value);
    else cJSON_AddNullToObject(o, "value");
    cJSON_AddStringToObject(o, "quality", dg_quality_name(rt->quality));
    api__ms(o, "ts_ms", rt->ts_ms);
    api__ms(o, "received_ms", rt->received_ms);
    cJSON_AddNumberToObject(o, "samples", (double)rt->samples);
    cJSON_AddItemToArray(arr, o);
  }
  cJSON *root = cJSON_CreateObject();
  cJSON_AddItemToObject(root, "points", arr);
  api_reply(resp, 200, root);
}

/* ---- /api/v1/alarms ------------------------------------------------------------------------- */

/* Fields an alarm screen shows beside the alarm: the point's live reading and quality, the
 * measure's text and what to do, the unit by name, the longest shelve its priority allows. */
static void api__alarm_context(cJSON *o, const struct engine *e, const struct alarm *a)
{
  const struct dg_rule *r = a->rule;
  const struct point_rt *pt = r->point->index < e->cfg->n_points ? &e->points[r->point->index] : NULL;
  if (pt && pt->has_value) cJSON_AddNumberToObject(o, "live_value", pt->value);
  else cJSON_AddNullToObject(o, "live_value");
  cJSON_AddStringToObject(o, "live_quality", dg_quality_name(pt ? pt->quality : DG_Q_UNKNOWN));
  if (pt && pt->received_ms) cJSON_AddNumberToObject(o, "live_received_ms", (double)pt->received_ms);
  else cJSON_AddNullToObject(o, "live_received_ms");
  api_json_text(o, "measure_desc", r->measure ? r->measure->desc : NULL);
  char todo[EMERGENCY_TODO_MAX];
  api_json_text(o, "response", emergency_todo(r->measure, todo, sizeof todo) == -ENOENT ? NULL : todo);
  const struct dg_unit *u = r->point->unit_id ? dg_config_unit(e->cfg, r->point->unit_id) : NULL;
  api_json_text(o, "unit", r->point->unit_id);
  api_json_text(o, "unit_name", u ? u->name : NULL);
  enum dg_priority p = a->priority ? a->priority : r->stages[r->n_stages - 1].priority;
  cJSON_AddNumberToObject(o, "max_shelve_minutes", (double)(e->cfg->max_shelve_ms[p] / 60000));
  cJSON_AddBoolToObject(o, "suppressed", a->suppressed);
}

static cJSON *api__alarm_json(const struct alarm *a)
{
  const struct dg_rule *r = a->rule;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", (double)a->id);
  api_json_text(o, "rule", r->id);
  api_json_text(o, "rule_name", r->name);
  api_json_text(o, "point", r->point->id);
  api_json_text(o, "point_name", r->point->name);
  api_json_text(o, "eng_unit", r->point->eng_unit);
  api_json_text(o, "measure", r->measure ? r->measure->id : NULL);
  api_json_text(o, "state", alarm_state_name(a->state));
  cJSON_AddBoolToObject(o, "active", alarm_is_active(a));
  cJSON_AddBoolToObject(o, "acked", a->state == ALARM_NORMAL || a->state == ALARM_ACKED);
  api_json_text(o, "stage", a->stage >= 0 ? r->stages[a->stage].name : NULL);
  if (a->stage >= 0) cJSON_AddNumberToObject(o, "limit", r->stages[a->stage].limit);
  api_json_text(o, "priority", a->priority ? dg_priority_name(a->priority) : NULL);
  cJSON_AddNumberToObject(o, "value", a->value);
  api__ms(o, "first_active_ms", a->first_active_ms);
  api__ms(o, "last_active_ms", a->last_active_ms);
  api__ms(o, "cleared_ms", a->cleared_ms);
  api_json_text(o, "ack_user", a->ack_user);
  api_json_text(o, "ack_comment", a->ack_comment);
  api__ms(o, "ack_ms", a->ack_ms);
  cJSON_AddNumberToObject(o, "activations", a->activations);
  api__ms(o, "shelved_until_ms", a->shelved_until_ms);
  api_json_text(o, "shelve_reason", a->shelve_reason);
  cJSON_AddBoolToObject(o, "latched", a->rule->latched);
  return o;
}

/* ?state= all | active | a state name; default: every alarm that is not NORMAL. */
static int api__alarm_selected(const struct alarm *a, const char *filter)
{
  if (!filter[0]) return a->state != ALARM_NORMAL;
  if (strcmp(filter, "all") == 0) return 1;
  if (strcmp(filter, "active") == 0) return alarm_is_active(a);
  return strcmp(filter, alarm_state_name(a->state)) == 0;
}

static int api__cmp_alarm(const void *pa, const void *pb)
{
  const struct alarm *a = *(const struct alarm *const *)pa, *b = *(const struct alarm *const *)pb;
  if (a->priority != b->priority) return (int)b->priority - (int)a->priority;
  if (a->last_active_ms != b->last_active_ms) return a->last_active_ms < b->last_active_ms ? 1 : -1;
  return a->id < b->id ? -1 : a->id > b->id;
}

static void api__alarms(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct engine *e = ctx->engine;
  char filter[32];
  if (api_query_text(req, "state", filter, sizeof filter, resp) < 0) return;
  if (filter[0] && strcmp(filter, "all") && strcmp(filter, "active") && alarm_state_parse(filter) < 0) {
    api_error(resp, 400, "state: expected all, active, NORMAL, UNACK, ACKED or RTN_UNACK");
    return;
  }
  const struct alarm **sel = malloc((e->cfg->n_rules + 1) * sizeof *sel);
  if (!sel) {
    api_error(resp, 500, "out of memory");
    return;
  }
  size_t n = 0;
  for (size_t i = 0; i < e->cfg->n_rules; i++)
    if (api__alarm_selected(&e->alarms[i], filter)) sel[n++] = &e->alarms[i];
  qsort(sel, n, sizeof *sel, api__cmp_alarm);
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < n; i++) {
    cJSON *o = api__alarm_json(sel[i]);
    api__alarm_context(o, e, sel[i]);
    cJSON_AddItemToArray(arr, o);
  }
  free(sel);
  cJSON *root = cJSON_CreateObject();
  cJSON_AddItemToObject(root, "alarms", arr);
  api_reply(resp, 200, root);
}

static const char *const api__sql_journal =
  "SELECT id, ts_ms, event, from_state, to_state, stage, priority, value, actor, comment FROM alarm_journal"
  " WHERE alarm_id = ?1 AND id < ?3 ORDER BY id DESC LIMIT ?2";

/* GET /api/v1/alarms/{id}/journal */
static void api__alarm_sub(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  long long id;
  char tail[32];
  if (sscanf(req->path, "/api/v1/alarms/%lld/%31s", &id, tail) != 2 || strcmp(tail, "journal")) {
    api_error(resp, 404, "not found");
    return;
  }
  if (!engine_alarm_by_id(ctx->engine, id)) {
    api_error(resp, 404, "no such alarm");
    return;
  }
  sqlite3_stmt *st = store_stmt(store_reader(ctx->store), api__sql_journal);
  if (!st) {
    api_error(resp, 500, "database error");
    return;
  }
  int64_t after = INT64_MAX;
  int limit = api_query_limit(req, 200), rows = 0;
  if (api_query_cursor(req, &after, 1, resp) < 0) return;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_int(st, 2, limit);
  sqlite3_bind_int64(st, 3, after);
  cJSON *arr = cJSON_CreateArray();
  while (sqlite3_step(st) == SQLITE_ROW) {
    cJSON *o = cJSON_CreateObject();
    rows++;
    after = sqlite3_column_int64(st, 0);
    api_col_num(o, "id", st, 0);
    api_col_num(o, "ts_ms", st, 1);
    api_col_text(o, "event", st, 2);
    api_col_text(o, "from_state", st, 3);
    api_col_text(o, "to_state", st, 4);
    api_col_text(o, "stage", st, 5);
    api_col_text(o, "priority", st, 6);
    api_col_num(o, "value", st, 7);
    api_col_text(o, "actor", st, 8);
    api_col_text(o, "comment", st, 9);
    cJSON_AddItemToArray(arr, o);
  }
  sqlite3_reset(st);
  cJSON *root = cJSON_CreateObject();
  cJSON_AddItemToObject(root, "journal", arr);
  api_next_cursor(root, &after, 1, rows, limit);
  api_reply(resp, 200, root);
}

/* ---- /api/v1/hazards ------------------------------------------------------------------------ */

static const char *api__hazard_state_zh(int s, int dismissed)
{
  switch (s) {
  case HAZARD_REVIEWING: return dismissed ? "已撤销" : "审核中";
  case HAZARD_RECTIFYING: return "整改中";
  case HAZARD_PENDING_ACCEPTANCE: return "待验收";
  case HAZARD_ACCEPTED: return "已验收";
  default: return "未知";
  }
}

#define API_HAZARD_COLS                                                                             \
  "SELECT id, code, danger_level, danger_src, danger_manage_type, hazard_danger_type, danger_state,"    \
  " description, reason, rectify_measures, cost, liable_person, deadline_ms, contingency_plan, reporter," \
  " rectifier, verifier, verify_comment, hazard_source, unit, event, measure, rule, alarm_id, occurrences," \
  " created_ms, updated_ms, closed_ms, reviewer, review_comment, reviewed_ms, dismissed, assignee,"       \
  " stop_flag, stop_reason, stop_by, stop_ms FROM hazards"

static const char *const api__sql_hazards_all = API_HAZARD_COLS " WHERE id < ?3 ORDER BY id DESC LIMIT ?1";
/* Open: 审核中 (awaiting confirmation), 整改中 and 待验收, not a dismissed report. */
static const char *const api__sql_hazards_open =
  API_HAZARD_COLS " WHERE danger_state <> 9 AND dismissed = 0 AND id < ?3 ORDER BY id DESC LIMIT ?1";
static const char *const api__sql_hazards_state =
  API_HAZARD_COLS " WHERE danger_state = ?2 AND dismissed = 0 AND id < ?3 ORDER BY id DESC LIMIT ?1";
static const char *const api__sql_hazards_dismissed =
  API_HAZARD_COLS " WHERE dismissed = 1 AND id < ?3 ORDER BY id DESC LIMIT ?1";
static const char *const api__sql_hazard_one = API_HAZARD_COLS " WHERE id = ?2 AND ?1 > 0";
static const char *const api__sql_occurrences =
  "SELECT ts_ms, alarm_id, rule, stage, value FROM hazard_occurrences WHERE hazard_id = ?1 ORDER BY id";
static const char *const api__sql_hazard_journal =
  "SELECT ts_ms, actor, action, from_state, to_state, comment FROM hazard_journal WHERE hazard_id = ?1 ORDER BY id";

static cJSON *api__hazard_json(sqlite3_stmt *st)
{
  static const char *const keys[] = {
    "id", "code", "danger_level", "danger_src", "danger_manage_type", "hazard_danger_type", "danger_state",
    "description", "reason", "rectify_measures", "cost", "liable_person", "deadline_ms", "contingency_plan",
    "reporter", "rectifier", "verifier", "verify_comment", "hazard_source", "unit", "event", "measure", "rule",
    "alarm_id", "occurrences", "created_ms", "updated_ms", "closed_ms", "reviewer", "review_comment", "reviewed_ms"};
  cJSON *o = cJSON_CreateObject();
  for (int i = 0; i < (int)(sizeof keys / sizeof keys[0]); i++) {
    int t = sqlite3_column_type(st, i);
    if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) api_col_num(o, keys[i], st, i);
    else api_col_text(o, keys[i], st, i);
  }
  int dismissed = sqlite3_column_int(st, 31);
  cJSON_AddBoolToObject(o, "dismissed", dismissed);
  api_col_text(o, "assignee", st, 32);
  govern_api_stop_json(o, st, 33);
  cJSON_AddStringToObject(o, "danger_state_zh", api__hazard_state_zh(sqlite3_column_int(st, 6), dismissed));
  cJSON_AddStringToObject(o, "danger_level_zh", sqlite3_column_int(st, 2) ? "重大隐患" : "一般隐患");
  return o;
}

static sqlite3_stmt *api__hazard_query(struct api_ctx *ctx, const struct http_request *req, int limit,
                                       struct http_response *resp)
{
  char filter[16];
  int64_t after = INT64_MAX;
  if (api_query_text(req, "state", filter, sizeof filter, resp) < 0) return NULL;
  if (api_query_cursor(req, &after, 1, resp) < 0) return NULL;
  const char *sql = api__sql_hazards_all;
  int state = -1;
  if (!filter[0] || strcmp(filter, "open") == 0) sql = api__sql_hazards_open;
  else if (strcmp(filter, "dismissed") == 0) sql = api__sql_hazards_dismissed;
  else if (strcmp(filter, "-1") == 0 || strcmp(filter, "0") == 0 || strcmp(filter, "1") == 0 ||
           strcmp(filter, "9") == 0) {
    sql = api__sql_hazards_state;
    state = atoi(filter);
  } else if (strcmp(filter, "all") != 0) {
    api_error(resp, 400, "state: expected open, all, dismissed, -1, 0, 1 or 9");
    return NULL;
  }
  sqlite3_stmt *st = store_stmt(store_reader(ctx->store), sql);
  if (!st) {
    api_error(resp, 500, "database error");
    return NULL;
  }
  sqlite3_bind_int(st, 1, limit);
  if (sql == api__sql_hazards_state) sqlite3_bind_int(st, 2, state);
  sqlite3_bind_int64(st, 3, after);
  return st;
}

static void api__hazards(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  int limit = api_query_limit(req, 200), rows = 0;
  int64_t last = 0;
  sqlite3_stmt *st = api__hazard_query(ctx, req, limit, resp);
  if (!st) return;
  cJSON *arr = cJSON_CreateArray();
  while (sqlite3_step(st) == SQLITE_ROW) {
    rows++;
    last = sqlite3_column_int64(st, 0);
    cJSON *h = api__hazard_json(st);
    cJSON_AddItemToObject(h, "attachments", attach_api_list(store_reader(ctx->store), sqlite3_column_int64(st, 0), 0));
    cJSON_AddItemToArray(arr, h);
  }
  sqlite3_reset(st);
  cJSON *root = cJSON_CreateObject();
  cJSON_AddItemToObject(root, "hazards", arr);
  api_next_cursor(root, &last, 1, rows, limit);
  api_reply(resp, 200, root);
}

static cJSON *api__rows(struct store_conn *c, const char *sql, int64_t id, const char *const *keys, int n)
{
  cJSON *arr = cJSON_CreateArray();
  sqlite3_stmt *st = store_stmt(c, sql);
  if (!st) return arr;
  sqlite3_bind_int64(st, 1, id);
  while (sqlite3_step(st) == SQLITE_ROW) {
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < n; i++) {
      int t = sqlite3_column_type(st, i);
      if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) api_col_num(o, keys[i], st, i);
      else api_col_text(o, keys[i], st, i);
    }
    cJSON_AddItemToArray(arr, o);
  }
  sqlite3_reset(st);
  return arr;
}

/* GET /api/v1/hazards/{id} with its occurrences and journal. */
static void api__hazard_one(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  static const char *const occ_keys[] = {"ts_ms", "alarm_id", "rule", "stage", "value"};
  static const char *const jr_keys[] = {"ts_ms", "actor", "action", "from_state", "to_state", "comment"};
  long long id;
  char extra;
  if (sscanf(req->path, "/api/v1/hazards/%lld%c", &id, &extra) != 1) {
    api_error(resp, 404, "not found");
    return;
  }
  struct store_conn *c = store_reader(ctx->store);
  sqlite3_stmt *st = store_stmt(c, api__sql_hazard_one);
  if (!st) {
    api_error(resp, 500, "database error");
    return;
  }
  sqlite3_bind_int(st, 1, 1);
  sqlite3_bind_int64(st, 2, id);
  cJSON *o = sqlite3_step(st) == SQLITE_ROW ? api__hazard_json(st) : NULL;
  sqlite3_reset(st);
  if (!o) {
    api_error(resp, 404, "no such hazard");
    return;
  }
  cJSON_AddItemToObject(o, "occurrences", api__rows(c, api__sql_occurrences, id, occ_keys, 5));
  cJSON_AddItemToObject(o, "journal", api__rows(c, api__sql_hazard_journal, id, jr_keys, 6));
  cJSON_AddItemToObject(o, "attachments", attach_api_list(c, id, 0));
  api_reply(resp, 200, o);
}

/* ---- /api/v1/persons: who is who, so screens show people by name (no contact details) ---- */

static void api__persons(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_config *cfg = ctx->engine->cfg;
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < cfg->n_persons; i++) {
    cJSON *o = cJSON_CreateObject();
    api_json_text(o, "id", cfg->persons[i].id);
    api_json_text(o, "name", cfg->persons[i].name);
    cJSON *roles = cJSON_AddArrayToObject(o, "roles");
    for (size_t k = 0; k < cfg->persons[i].n_roles; k++)
      cJSON_AddItemToArray(roles, cJSON_CreateString(cfg->persons[i].roles[k]));
    cJSON_AddItemToArray(arr, o);
  }
  cJSON *root = cJSON_CreateObject();
  cJSON_AddItemToObject(root, "persons", arr);
  api_reply(resp, 200, root);
}

/* ---- /api/v1/whoami ------------------------------------------------------------------------- */

/* The person behind the request's token, so a screen can offer only what that person may do and
 * list "my" tasks. 401 without a valid token. */
static void api__whoami(void *ud, const struct http_request *req, struct http_response *resp)
{
  const struct dg_person *p = api_caller(ud, req);
  if (!p) {
    api_error(resp, 401, "a valid 'Authorization: Bearer <token>' is required");
    return;
  }
  cJSON *o = cJSON_CreateObject();
  api_json_text(o, "id", p->id);
  api_json_text(o, "name", p->name);
  cJSON *roles = cJSON_AddArrayToObject(o, "roles");
  for (size_t k = 0; k < p->n_roles; k++) cJSON_AddItemToArray(roles, cJSON_CreateString(p->roles[k]));
  const char *token = api_bearer(req);
  cJSON_AddStringToObject(o, "auth", strncmp(token, LOGIN_TOKEN_PREFIX, strlen(LOGIN_TOKEN_PREFIX)) ? "token" : "session");
  api_reply(resp, 200, o);
}

/* ---- /api/v1/drivers ------------------------------------------------------------------------ */

static cJSON *api__modbus_json(const struct dg_modbus_bus *bus, const struct mb_bus_stats *s)
{
  static const char *const transports[] = {"", "tcp", "rtu", "rtu_over_tcp"};
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "kind", "modbus");
  api_json_text(o, "id", bus->id);
  api_json_text(o, "transport", transports[bus->transport]);
  api_json_text(o, "endpoint", bus->transport == DG_MB_RTU ? bus->device : bus->host);
  cJSON_AddBoolToObject(o, "connected", s->connected);
  cJSON_AddNumberToObject(o, "requests", (double)s->requests);
  cJSON_AddNumberToObject(o, "errors", (double)s->errors);
  cJSON_AddNumberToObject(o, "timeouts", (double)s->timeouts);
  cJSON_AddNumberToObject(o, "exceptions", (double)s->exceptions);
  cJSON_AddNumberToObject(o, "connects", (double)s->connects);
  cJSON_AddNumberToObject(o, "reconnects", (double)s->reconnects);
  cJSON_AddNumberToObject(o, "connect_failures", (double)s->connect_failures);
  cJSON_AddNumberToObject(o, "last_rtt_us", s->last_rtt_us);
  cJSON_AddNumberToObject(o, "slaves_down", s->slaves_down);
  cJSON *codes = cJSON_AddObjectToObject(o, "exception_codes");
  for (int c = 1; c < MB_EXCEPTION_CODES; c++) {
    char key[8];
    snprintf(key, sizeof key, "%d", c);
    if (s->exception_codes[c]) cJSON_AddNumberToObject(codes, key, (double)s->exception_codes[c]);
  }
  return o;
}

static void api__drivers(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_config *cfg = ctx->engine->cfg;
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; ctx->mqtt && i < mqtt_broker_count(ctx->mqtt) && i < cfg->n_mqtt_brokers; i++) {
    struct mqtt_broker_stats s;
    if (mqtt_broker_stats(ctx->mqtt, i, &s)) continue;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "mqtt");
    api_json_text(o, "id", cfg->mqtt_brokers[i].id);
    api_json_text(o, "uri", cfg->mqtt_brokers[i].uri);
    cJSON_AddBoolToObject(o, "connected", s.connected);
    cJSON_AddBoolToObject(o, "subscribed", s.subscribed);
    cJSON_AddNumberToObject(o, "messages", (double)s.messages);
    cJSON_AddNumberToObject(o, "malformed", (double)s.malformed);
    cJSON_AddNumberToObject(o, "connects", (double)s.connects);
    api__ms(o, "last_message_ms", s.last_message_ms);
    cJSON_AddNumberToObject(o, "clock_skewed", (double)s.clock_skewed);
    cJSON_AddNumberToObject(o, "unknown_point", (double)s.unknown_point);
    cJSON_AddItemToArray(arr, o);
  }
  for (size_t i = 0; ctx->modbus && i < mb_bus_count(ctx->modbus) && i < cfg->n_modbus_buses; i++) {
    struct mb_bus_stats s;
    if (mb_bus_stats(ctx->modbus, i, &s)) continue;
    cJSON_AddItemToArray(arr, api__modbus_json(&cfg->modbus_buses[i], &s));
  }
  struct notify_stats ns;
  notify_stats(ctx->notify, &ns);
  cJSON *root = cJSON_CreateObject();
  cJSON_AddItemToObject(root, "drivers", arr);
  cJSON *jn = cJSON_AddObjectToObject(root, "notify");
  cJSON_AddNumberToObject(jn, "delivered", (double)ns.delivered);
  cJSON_AddNumberToObject(jn, "failed_attempts", (double)ns.failed_attempts);
  cJSON_AddNumberToObject(jn, "expired", (double)ns.expired);
  cJSON_AddNumberToObject(jn, "queued", (double)ns.queued);
  cJSON_AddNumberToObject(jn, "in_flight", (double)ns.in_flight);
  cJSON_AddNumberToObject(jn, "spilled", (double)ns.spilled);
  cJSON_AddNumberToObject(jn, "read_back", (double)ns.read_back);
  cJSON *je = cJSON_AddObjectToObject(root, "engine");
  cJSON_AddNumberToObject(je, "samples", (double)ctx->engine->stats.samples);
  cJSON_AddNumberToObject(je, "bad_samples", (double)ctx->engine->stats.bad_samples);
  cJSON_AddNumberToObject(je, "transitions", (double)ctx->engine->stats.transitions);
  cJSON_AddNumberToObject(je, "history_rows", (double)ctx->engine->stats.history_rows);
  cJSON_AddNumberToObject(je, "history_backlog_dropped", (double)ctx->engine->history.dropped);
  cJSON_AddNumberToObject(je, "history_backlog", (double)ctx->engine->history.backlog);
  cJSON_AddNumberToObject(je, "history_buffered", (double)ctx->engine->history.n);
  cJSON_AddNumberToObject(je, "transitions_in_flight", (double)ctx->engine->txn.in_flight);
  cJSON_AddNumberToObject(je, "queue_dropped", (double)sampleq_dropped(ctx->queue));
  cJSON_AddNumberToObject(je, "queue_waits", (double)sampleq_waits(ctx->queue));
  api__durability_json(cJSON_AddObjectToObject(root, "store"), ctx->store);
  api_reply(resp, 200, root);
}

/* ---- POST /api/v1/alarms/{id}/{action} ---------------------------------------------------- */

enum api_role { API_ROLE_OPERATOR, API_ROLE_ENGINEER };

static const struct api_action {
  const char *name;
  enum alarm_event op;
  enum api_role role;
} api__actions[] = {
  {"ack", ALARM_EV_ACK, API_ROLE_OPERATOR},
  {"shelve", ALARM_EV_SHELVE, API_ROLE_OPERATOR},
  {"unshelve", ALARM_EV_UNSHELVE, API_ROLE_OPERATOR},
  {"reset", ALARM_EV_RESET, API_ROLE_OPERATOR},
  {"out-of-service", ALARM_EV_OUT_OF_SERVICE, API_ROLE_ENGINEER},
  {"return-to-service", ALARM_EV_RETURN_TO_SERVICE, API_ROLE_ENGINEER},
};

static int api__has_role(const struct dg_person *p, enum api_role need)
{
  for (size_t i = 0; i < p->n_roles; i++) {
    const char *r = p->roles[i];
    if (strcmp(r, "admin") == 0 || strcmp(r, "engineer") == 0) return 1;
    if (strcmp(r, "operator") == 0 && need == API_ROLE_OPERATOR) return 1;
  }
  return 0;
}

/* Optional string field; 0, or -1 with a 400 already set. */
static int api__opt_string(const cJSON *body, const char *key, const char **out, struct http_response *resp)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
  *out = NULL;
  if (!v || cJSON_IsNull(v)) return 0;
  if (!cJSON_IsString(v)) {
    char msg[64];
    snprintf(msg, sizeof msg, "%s: expected a string", key);
    api_error(resp, 400, "%s", msg);
    return -1;
  }
  *out = v->valuestring;
  return 0;
}

/* Shelve body: minutes (positive number) and reason (non-empty string). */
static int api__shelve_args(const cJSON *body, int64_t *ms, const char **reason, struct http_response *resp)
{
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "minutes");
  if (!cJSON_IsNumber(m) || !(m->valuedouble > 0) || m->valuedouble > 1e7) {
    api_error(resp, 400, "minutes: expected a positive number of minutes");
    return -1;
  }
  *ms = (int64_t)(m->valuedouble * 60000.0);
  if (api__opt_string(body, "reason", reason, resp)) return -1;
  if (!*reason || !(*reason)[0]) {
    api_error(resp, 400, "reason: a shelve needs a reason");
    return -1;
  }
  return 0;
}

static void api__operate(struct api_ctx *ctx, const struct dg_person *who, const struct api_action *act,
                         struct alarm *a, const cJSON *body, struct http_response *resp)
{
  const char *comment = NULL;
  int64_t shelve_ms = 0;
  if (act->op == ALARM_EV_SHELVE ? api__shelve_args(body, &shelve_ms, &comment, resp)
                                 : api__opt_string(body, "comment", &comment, resp))
    return;
  int rc = engine_operate(ctx->engine, a->id, act->op, who->id, comment, shelve_ms);
  if (rc == -ERANGE) {
    char msg[128];
    enum dg_priority p = a->priority ? a->priority : a->rule->stages[a->rule->n_stages - 1].priority;
    snprintf(msg, sizeof msg, "minutes: at most %u for a %s priority alarm",
             (unsigned)(ctx->engine->cfg->max_shelve_ms[p] / 60000), dg_priority_name(p));
    api_error(resp, 400, "%s", msg);
  } else if (rc == -EALREADY || rc == -EINVAL) {
    api_error(resp, 409, "%s", alarm_refusal(a, act->op));
  } else if (rc < 0) {
    api_error(resp, 500, "%s", strerror(-rc));
  } else {
    cJSON *o = api__alarm_json(a);
    api__alarm_context(o, ctx->engine, a);
    api_reply(resp, 200, o);
  }
}

static void api__alarm_action(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_person *who = api_caller(ctx, req);
  if (!who) {
    api_error(resp, 401, "a valid 'Authorization: Bearer <token>' is required");
    return;
  }
  long long id;
  char name[32];
  int used = 0;
  const struct api_action *act = NULL;
  if (sscanf(req->path, "/api/v1/alarms/%lld/%31[a-z-]%n", &id, name, &used) == 2 && !req->path[used])
    for (size_t i = 0; i < sizeof api__actions / sizeof api__actions[0]; i++)
      if (strcmp(name, api__actions[i].name) == 0) act = &api__actions[i];
  if (!act) {
    api_error(resp, 404, "not found");
    return;
  }
  if (!api__has_role(who, act->role)) {
    api_error(resp, 403, "%s", act->role == API_ROLE_ENGINEER ? "requires the engineer or admin role"
                                                         : "requires the operator, engineer or admin role");
    return;
  }
  struct alarm *a = engine_alarm_by_id(ctx->engine, id);
  if (!a) {
    api_error(resp, 404, "no such alarm");
    return;
  }
  cJSON *body = api_body_object(req, resp);
  if (body) api__operate(ctx, who, act, a, body, resp);
  cJSON_Delete(body);
}

static const struct api_route api__routes[] = {
  {"GET", "/healthz", api__healthz, 0, NULL, NULL},
  {"GET", "/api/v1/points", api__points, 0, NULL, NULL},
  {"GET", "/api/v1/alarms", api__alarms, 0, NULL, "state"},
  {"GET", "/api/v1/alarms/{id}/journal", api__alarm_sub, 0, NULL, "limit cursor"},
  {"GET", "/api/v1/hazards", api__hazards, 0, NULL, "state limit cursor"},
  {"GET", "/api/v1/hazards/{id}", api__hazard_one, 0, NULL, NULL},
  {"GET", "/api/v1/drivers", api__drivers, 0, NULL, NULL},
  {"GET", "/api/v1/persons", api__persons, 0, NULL, NULL},
  {"GET", "/api/v1/whoami", api__whoami, 0, NULL, NULL},
  {"POST", "/api/v1/alarms/{id}/{action}", api__alarm_action, 0, NULL, NULL},
};

/* ---- routing: the tables, the dispatcher, the query check ----------------------------------- */

#define API_MAX_TABLES 32

static size_t api__tables(struct api_routes *t)
{
  const struct api_routes all[] = {
    API_ROUTES(api__routes), kpi_api_routes(), ledger_api_routes(), attach_api_routes(),
    model_api_routes(), export_api_routes(), report_api_routes(), tokens_api_routes(), escalate_api_routes(),
    metrics_api_routes(), national_api_routes(), events_api_routes(), posts_api_routes(), history_api_routes(),
    siteplan_api_routes(), login_api_routes(), docs_api_routes(), govern_api_routes(), site_ops_api_routes(),
    commit_api_routes(), tasks_api_routes(), assess_api_routes(),
  };
  size_t n = sizeof all / sizeof all[0];
  _Static_assert(sizeof all / sizeof all[0] <= API_MAX_TABLES, "raise API_MAX_TABLES");
  memcpy(t, all, sizeof all);
  return n;
}

/* Literal segments of `pattern` when it matches path, else -1. */
static int api__match(const char *pattern, const char *path)
{
  int literal = 0;
  while (*pattern == '/' && *path == '/') {
    pattern++, path++;
    size_t tl = strcspn(pattern, "/"), pl = strcspn(path, "/");
    if (pattern[0] == '{' ? pl == 0 : tl != pl || strncmp(pattern, path, tl)) return -1;
    literal += pattern[0] != '{';
    pattern += tl, path += pl;
  }
  return *pattern || *path ? -1 : literal;
}

static const struct api_route *api__find(const char *method, const char *path)
{
  struct api_routes t[API_MAX_TABLES];
  size_t nt = api__tables(t);
  const struct api_route *best = NULL;
  int best_lit = -1;
  if (strcmp(method, "HEAD") == 0) method = "GET";
  for (size_t i = 0; i < nt; i++)
    for (size_t k = 0; k < t[i].n; k++) {
      const struct api_route *r = &t[i].v[k];
      int lit = r->fn && strcmp(r->method, method) == 0 ? api__match(r->pattern, path) : -1;
      if (lit > best_lit) best = r, best_lit = lit;
    }
  return best;
}

/* The entry of the space-separated list names for the word w (wlen bytes), or NULL. An entry
 * is a name, for limit optionally with its maximum: "limit<=10000". */
static const char *api__listed(const char *names, const char *w, size_t wlen)
{
  for (const char *p = names; p && *p; p += strcspn(p, " "), p += *p == ' ') {
    size_t len = strcspn(p, " <");
    if (len == wlen && strncmp(p, w, wlen) == 0) return p;
  }
  return NULL;
}

/* 0, or -1 after answering 400 naming an unknown parameter or a bad limit. */
static int api__check_query(const struct api_route *r, const struct http_request *req, struct http_response *resp)
{
  for (const char *q = req->query; *q; q += strcspn(q, "&"), q += *q == '&') {
    size_t klen = strcspn(q, "=&");
    if (klen == 1 && q[0] == '/' && !q[1]) break; /* lws reports a bare "?" as the argument "/" */
    if (klen && !api__listed(r->query, q, klen)) {
      api_error(resp, 400, "%.*s: unknown query parameter (%s %s takes %s)", (int)(klen > 64 ? 64 : klen), q,
                r->method, r->pattern, r->query ? r->query : "none");
      return -1;
    }
  }
  char buf[16], *end;
  const char *entry = api__listed(r->query, "limit", 5);
  long max = entry && !strncmp(entry + 5, "<=", 2) ? strtol(entry + 7, NULL, 10) : API_LIMIT_MAX;
  int n = entry ? http_query_get(req->query, "limit", buf, sizeof buf) : -1;
  if (n == -1) return 0;
  long v = n > 0 ? strtol(buf, &end, 10) : 0;
  if (n <= 0 || *end || v < 1 || v > max) {
    api_error(resp, 400, "limit: expected an integer from 1 to %ld", max);
    return -1;
  }
  return 0;
}

static void api__dispatch(void *ud, const struct http_request *req, struct http_response *resp)
{
  const struct api_route *r = api__find(req->method, req->path);
  if (!r) api_error(resp, 404, "not found: %s %s", req->method, req->path);
  else if (!api__check_query(r, req, resp)) r->fn(ud, req, resp);
}

/* The server's pattern for a route: up to the first "{", then "*". */
static int api__add_route(struct http_server *s, struct api_ctx *ctx, const struct api_route *r)
{
  char pattern[256];
  const char *brace = strchr(r->pattern, '{');
  int len = brace ? (int)(brace - r->pattern) : (int)strlen(r->pattern);
  if (snprintf(pattern, sizeof pattern, "%.*s%s", len, r->pattern, brace ? "*" : "") >= (int)sizeof pattern)
    return -EINVAL;
  int rc = http_route(s, r->method, pattern, api__dispatch, ctx);
  return rc == -EEXIST && brace ? 0 : rc; /* one prefix serves several patterns */
}

/* -EEXIST when two routes share a method and pattern. */
static int api__unique(const struct api_routes *t, size_t nt)
{
  for (size_t i = 0; i < nt; i++)
    for (size_t k = 0; k < t[i].n; k++)
      for (size_t j = i; j < nt; j++)
        for (size_t m = j == i ? k + 1 : 0; m < t[j].n; m++) {
          const struct api_route *a = &t[i].v[k], *b = &t[j].v[m];
          if (a->fn && b->fn && !strcmp(a->method, b->method) && !strcmp(a->pattern, b->pattern)) {
            DG_ERR("http", "route %s %s registered twice", a->method, a->pattern);
            return -EEXIST;
          }
        }
  return 0;
}

int api_register(struct http_server *s, struct api_ctx *ctx)
{
  struct api_routes t[API_MAX_TABLES];
  size_t nt = api__tables(t);
  int rc = api__unique(t, nt);
  for (size_t i = 0; i < nt && !rc; i++)
    for (size_t k = 0; k < t[i].n; k++) {
      const struct api_route *r = &t[i].v[k];
      rc |= r->fn ? api__add_route(s, ctx, r) : http_body_limit(s, r->method, r->pattern, r->max_body, r->admit, ctx);
    }
  return rc ? -EINVAL : 0;
}

void api_list_routes(FILE *out)
{
  struct api_routes t[API_MAX_TABLES];
  size_t nt = api__tables(t);
  for (size_t i = 0; i < nt; i++)
    for (size_t k = 0; k < t[i].n; k++)
      if (t[i].v[k].fn)
        fprintf(out, "%s %s %s\n", t[i].v[k].method, t[i].v[k].pattern, t[i].v[k].query ? t[i].v[k].query : "");
}
