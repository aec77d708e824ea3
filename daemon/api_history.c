#include "api_history.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "log.h"

#define HISTORY_API_WINDOW_MS (3600LL * 1000)   /* default: the last hour */
#define HISTORY_API_LIMIT 2000
#define HISTORY_API_LIMIT_MAX 10000

/* The newest `limit` samples of the window; answered oldest first. The rows not yet moved from
 * the history's log are read from the point's slice only (history.h). */
static const char *const history_api__sql =
  "WITH p AS (SELECT id FROM point_ids WHERE name = ?1)"
  " SELECT ts_ms, value, quality FROM sample_rows WHERE point = (SELECT id FROM p) AND ts_ms >= ?2 AND ts_ms <= ?3"
  " UNION ALL SELECT ts_ms, value, quality FROM sample_log WHERE slice = (SELECT id FROM p) % ?5"
  " AND point = (SELECT id FROM p) AND ts_ms >= ?2 AND ts_ms <= ?3"
  " ORDER BY ts_ms DESC LIMIT ?4";

/* ?limit=: 1 .. HISTORY_API_LIMIT_MAX; anything else answers 400. */
static int history_api__limit(const struct http_request *req, int *out, struct http_response *resp)
{
  char text[16], *end;
  int present = api_query_text(req, "limit", text, sizeof text, resp);
  if (present < 0) return -1;
  if (!present || !text[0]) return 0;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (end == text || *end || errno || v < 1 || v > HISTORY_API_LIMIT_MAX) {
    api_error(resp, 400, "limit: expected 1 to %d", HISTORY_API_LIMIT_MAX);
    return -1;
  }
  *out = (int)v;
  return 0;
}

static int history_api__reads(const struct dg_rule *r, const struct dg_point *p)
{
  if (r->point == p || r->point2 == p) return 1;
  for (size_t i = 0; i < r->n_inputs; i++)
    if (r->inputs[i] == p) return 1;
  return 0;
}

static const char *history_api__type(enum dg_rule_type t)
{
  static const char *const names[] = {"", "high", "low", "stale", "quality", "rate", "expr", "deviation",
                                      "vote", "aggregate", "state"};
  return (size_t)t < sizeof names / sizeof names[0] ? names[t] : "";
}

/* The rules reading the point: stages with limits (a chart draws those of high and low rules)
 * and the state of each rule's alarm. */
static cJSON *history_api__rules(const struct engine *e, const struct dg_point *p)
{
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < e->cfg->n_rules; i++) {
    const struct dg_rule *r = &e->cfg->rules[i];
    if (!history_api__reads(r, p)) continue;
    const struct alarm *a = &e->alarms[i];
    cJSON *o = cJSON_CreateObject();
    api_json_text(o, "id", r->id);
    api_json_text(o, "name", r->name);
    cJSON_AddStringToObject(o, "type", history_api__type(r->type));
    cJSON_AddNumberToObject(o, "deadband", r->deadband);
    cJSON *stages = cJSON_AddArrayToObject(o, "stages");
    for (size_t s = 0; s < r->n_stages; s++) {
      cJSON *st = cJSON_CreateObject();
      api_json_text(st, "name", r->stages[s].name);
      cJSON_AddNumberToObject(st, "limit", r->stages[s].limit);
      api_json_text(st, "priority", dg_priority_name(r->stages[s].priority));
      cJSON_AddItemToArray(stages, st);
    }
    cJSON *al = cJSON_AddObjectToObject(o, "alarm");
    cJSON_AddNumberToObject(al, "id", (double)a->id);
    cJSON_AddStringToObject(al, "state", alarm_state_name(a->state));
    cJSON_AddBoolToObject(al, "active", alarm_is_active(a));
    api_json_text(al, "stage", a->stage >= 0 ? r->stages[a->stage].name : NULL);
    cJSON_AddItemToArray(arr, o);
  }
  return arr;
}

static cJSON *history_api__point(const struct engine *e, const struct dg_point *p)
{
  const struct point_rt *rt = &e->points[p->index];
  cJSON *o = cJSON_CreateObject();
  api_json_text(o, "id", p->id);
  api_json_text(o, "name", p->name);
  api_json_text(o, "eng_unit", p->eng_unit);
  api_json_text(o, "unit_id", p->unit_id);
  if (rt->has_value) cJSON_AddNumberToObject(o, "value", rt->value);
  else cJSON_AddNullToObject(o, "value");
  cJSON_AddStringToObject(o, "quality", dg_quality_name(rt->quality));
  if (rt->ts_ms) cJSON_AddNumberToObject(o, "ts_ms", (double)rt->ts_ms);
  else cJSON_AddNullToObject(o, "ts_ms");
  return o;
}

/* Samples of the window, oldest first; NULL on a database error. */
static cJSON *history_api__samples(struct store_conn *c, const char *point, int64_t since, int64_t until, int limit,
                                   int *truncated)
{
  sqlite3_stmt *st = store_stmt(c, history_api__sql);
  if (!st) return NULL;
  sqlite3_bind_text(st, 1, point, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, since);
  sqlite3_bind_int64(st, 3, until);
  sqlite3_bind_int(st, 4, limit);
  sqlite3_bind_int(st, 5, HISTORY_LOG_SLICES);
  cJSON *arr = cJSON_CreateArray();
  int rc, n = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "ts_ms", (double)sqlite3_column_int64(st, 0));
    api_col_num(o, "value", st, 1);
    cJSON_AddStringToObject(o, "quality", dg_quality_name((enum dg_quality)sqlite3_column_int(st, 2)));
    cJSON_InsertItemInArray(arr, 0, o);
    n++;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    cJSON_Delete(arr);
    return NULL;
  }
  *truncated = n == limit;
  return arr;
}

/* GET /api/v1/points/{id}/history */
static void history_api__get(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  char id[128];
  int used = 0;
  if (sscanf(req->path, "/api/v1/points/%127[^/]/history%n", id, &used) != 1 || req->path[used]) {
    api_error(resp, 404, "not found: GET /api/v1/points/{id}/history");
    return;
  }
  const struct dg_point *p = dg_config_point(ctx->engine->cfg, id);
  if (!p) {
    api_error(resp, 404, "no such point: %s", id);
    return;
  }
  int64_t until = dg_wall_ms(), since;
  int limit = HISTORY_API_LIMIT, truncated = 0;
  if (api_query_ms(req, "until", 0, &until, resp) < 0) return;
  since = until - HISTORY_API_WINDOW_MS;
  if (api_query_ms(req, "since", 0, &since, resp) < 0 || history_api__limit(req, &limit, resp) < 0) return;
  if (since > until) {
    api_error(resp, 400, "since: after until");
    return;
  }
  cJSON *samples = history_api__samples(store_reader(ctx->store), p->id, since, until, limit, &truncated);
  if (!samples) {
    api_error(resp, 500, "database error");
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddItemToObject(o, "point", history_api__point(ctx->engine, p));
  cJSON_AddNumberToObject(o, "since", (double)since);
  cJSON_AddNumberToObject(o, "until", (double)until);
  cJSON_AddBoolToObject(o, "truncated", truncated);
  cJSON_AddItemToObject(o, "samples", samples);
  cJSON_AddItemToObject(o, "rules", history_api__rules(ctx->engine, p));
  api_reply(resp, 200, o);
}

static const struct api_route history_api__routes[] = {
  {"GET", "/api/v1/points/{id}/history", history_api__get, 0, NULL, "since until limit<=10000"}, /* HISTORY_API_LIMIT_MAX */
};

struct api_routes history_api_routes(void) { return API_ROUTES(history_api__routes); }
