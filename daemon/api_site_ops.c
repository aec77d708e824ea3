#include "api_site_ops.h"

#include <stdio.h>
#include <string.h>

#include "api_govern_job.h"
#include "govern.h"
#include "hazard_flow.h"
#include "log.h"
#include "workcal.h"

#define SITE_OPS_API_OP_MAX_MS (7LL * 86400000) /* a declared operation spans at most a week */

/* ---- hazard sources: operating state -------------------------------------------------------- */

static const char *const site_ops_api__sql_state_insert =
  "INSERT INTO source_states (hazard_source, state, reason, actor, ts_ms) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char *const site_ops_api__sql_state_now =
  "SELECT state, reason, actor, ts_ms FROM source_states WHERE hazard_source = ?1 ORDER BY id DESC LIMIT ?2";

static int site_ops_api__state_work(struct store_conn *c, struct govern_job *j)
{
  sqlite3_stmt *st = store_stmt(c, site_ops_api__sql_state_insert);
  if (!st) return SQLITE_ERROR;
  store_bind_text(st, 1, j->source);
  sqlite3_bind_int(st, 2, j->flag);
  store_bind_text(st, 3, j->reason);
  store_bind_text(st, 4, j->actor);
  sqlite3_bind_int64(st, 5, j->now_ms);
  return store_step_done(st);
}

static cJSON *site_ops_api__state_json(sqlite3_stmt *st)
{
  cJSON *o = cJSON_CreateObject();
  int s = st ? sqlite3_column_int(st, 0) : GOVERN_RUNNING;
  cJSON_AddStringToObject(o, "state", govern_op_state_name(s));
  cJSON_AddStringToObject(o, "state_zh", govern_op_state_zh(s));
  if (st) {
    api_col_text(o, "reason", st, 1);
    api_col_text(o, "actor", st, 2);
    api_col_num(o, "ts_ms", st, 3);
  } else {
    cJSON_AddNullToObject(o, "reason");
    cJSON_AddNullToObject(o, "actor");
    cJSON_AddNullToObject(o, "ts_ms");
  }
  return o;
}

cJSON *site_ops_api_state(struct store_conn *c, const char *id)
{
  sqlite3_stmt *st = store_stmt(c, site_ops_api__sql_state_now);
  if (!st) return site_ops_api__state_json(NULL);
  store_bind_text(st, 1, id);
  sqlite3_bind_int(st, 2, 1);
  cJSON *o = site_ops_api__state_json(sqlite3_step(st) == SQLITE_ROW ? st : NULL);
  sqlite3_reset(st);
  return o;
}

static const struct dg_hazard_source *site_ops_api__source(const struct dg_config *cfg, const char *id)
{
  for (size_t i = 0; i < cfg->n_sources; i++)
    if (strcmp(cfg->sources[i].id, id) == 0) return &cfg->sources[i];
  return NULL;
}

static cJSON *site_ops_api__source_json(struct store_conn *c, const struct dg_hazard_source *s)
{
  cJSON *o = site_ops_api_state(c, s->id);
  cJSON_AddStringToObject(o, "id", s->id);
  api_json_text(o, "name", s->name);
  cJSON_AddBoolToObject(o, "is_major", s->is_major);
  cJSON_AddNumberToObject(o, "major_grade", s->major_grade);
  return o;
}

/* GET /api/v1/hazard-sources/states: every source's current operating state. */
static void site_ops_api__states(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_config *cfg = ctx->engine->cfg;
  (void)req;
  cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "hazard_sources");
  for (size_t i = 0; i < cfg->n_sources; i++)
    cJSON_AddItemToArray(arr, site_ops_api__source_json(store_reader(ctx->store), &cfg->sources[i]));
  api_reply(resp, 200, root);
}

/* GET /api/v1/hazard-sources/{id}/states: its history, newest first; POST sets the state. */
static void site_ops_api__source_states(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  char id[128];
  int n = 0;
  if (sscanf(req->path, "/api/v1/hazard-sources/%127[^/]/states%n", id, &n) != 1 || req->path[n]) {
    api_error(resp, 404, "not found");
    return;
  }
  if (!site_ops_api__source(ctx->engine->cfg, id)) {
    api_error(resp, 404, "no such hazard source");
    return;
  }
  sqlite3_stmt *st = store_stmt(store_reader(ctx->store), site_ops_api__sql_state_now);
  if (!st) {
    api_error(resp, 500, "database error");
    return;
  }
  store_bind_text(st, 1, id);
  sqlite3_bind_int(st, 2, api_query_limit(req, 100));
  cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "states");
  while (sqlite3_step(st) == SQLITE_ROW) cJSON_AddItemToArray(arr, site_ops_api__state_json(st));
  sqlite3_reset(st);
  api_reply(resp, 200, root);
}

static void site_ops_api__state_set(struct govern_job *j, struct http_response *resp)
{
  DG_INFO("govern", "hazard source %s: %s by %s", j->source, govern_op_state_name(j->flag), j->actor);
  const struct dg_hazard_source *s = site_ops_api__source(j->ctx->engine->cfg, j->source);
  cJSON *o = s ? site_ops_api__source_json(store_reader(j->ctx->store), s)
               : site_ops_api_state(store_reader(j->ctx->store), j->source); /* gone in a reload meanwhile */
  api_reply(resp, 201, o);
}

/* POST /api/v1/hazard-sources/{id}/state {state: running|shutdown|maintenance, reason} */
static void site_ops_api__set_state(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct govern_job *j = NULL;
  char id[128];
  int n = 0, bad = 0;
  const struct dg_person *p = govern_job_caller(ctx, req, HAZARD_RIGHT_MANAGE, "a hazard source's operating state"
                                                 " is set by the workshop_director, engineer, safety_director,"
                                                 " principal or admin role", resp);
  if (!p) return;
  if (sscanf(req->path, "/api/v1/hazard-sources/%127[^/]/state%n", id, &n) != 1 || req->path[n]) {
    api_error(resp, 404, "not found");
    return;
  }
  if (!site_ops_api__source(ctx->engine->cfg, id)) {
    api_error(resp, 404, "no such hazard source");
    return;
  }
  if (!(j = govern_job_new(ctx, req, p, site_ops_api__state_work, "source_state", resp))) return;
  j->touch_ledger = true;
  snprintf(j->source, sizeof j->source, "%s", id);
  const char *state = govern_job_str(j->body, "state", 1, resp, &bad);
  j->reason = govern_job_str(j->body, "reason", 1, resp, &bad);
  if (bad) goto out;
  if ((j->flag = govern_op_state_parse(state)) < 0) {
    api_error(resp, 400, "state: expected running (运行), shutdown (停产) or maintenance (检修)");
    goto out;
  }
  govern_job_commit(j, req, resp, site_ops_api__state_set);
  j = NULL;
out:
  govern_job_free(j);
}

/* ---- special operations (特殊作业) ----------------------------------------------------------- */

static const char *const site_ops_api__sql_op_insert =
  "INSERT INTO special_operations (op_type, place, unit, start_ms, end_ms, supervisor, note, declared_by, created_ms)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char *const site_ops_api__sql_ops =
  "SELECT id, op_type, place, unit, start_ms, end_ms, supervisor, note, declared_by, created_ms"
  " FROM special_operations WHERE start_ms < ?2 AND end_ms > ?1 ORDER BY start_ms, id";

static int site_ops_api__op_work(struct store_conn *c, struct govern_job *j)
{
  sqlite3_stmt *st = store_stmt(c, site_ops_api__sql_op_insert);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int(st, 1, j->op_type);
  store_bind_text(st, 2, j->place);
  store_bind_text(st, 3, j->unit);
  sqlite3_bind_int64(st, 4, j->start_ms);
  sqlite3_bind_int64(st, 5, j->end_ms);
  store_bind_text(st, 6, j->supervisor);
  store_bind_text(st, 7, j->reason);
  store_bind_text(st, 8, j->actor);
  sqlite3_bind_int64(st, 9, j->now_ms);
  return store_step_done(st);
}

cJSON *site_ops_api_operations(struct store_conn *c, int64_t from_ms, int64_t to_ms)
{
  cJSON *arr = cJSON_CreateArray();
  sqlite3_stmt *st = store_stmt(c, site_ops_api__sql_ops);
  if (!st) return arr;
  sqlite3_bind_int64(st, 1, from_ms);
  sqlite3_bind_int64(st, 2, to_ms);
  while (sqlite3_step(st) == SQLITE_ROW) {
    static const char *const keys[] = {"id", NULL, "place", "unit", "start_ms", "end_ms", "supervisor", "note",
                                       "declared_by", "created_ms"};
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < 10; i++) {
      if (!keys[i]) continue;
      if (sqlite3_column_type(st, i) == SQLITE_INTEGER) api_col_num(o, keys[i], st, i);
      else api_col_text(o, keys[i], st, i);
    }
    int t = sqlite3_column_int(st, 1);
    cJSON_AddStringToObject(o, "type", govern_op_type_name(t));
    cJSON_AddStringToObject(o, "type_zh", govern_op_type_zh(t));
    cJSON_AddItemToArray(arr, o);
  }
  sqlite3_reset(st);
  return arr;
}

static void site_ops_api__declared(struct govern_job *j, struct http_response *resp)
{
  DG_INFO("govern", "special operation %lld (%s at %s) declared by %s", (long long)j->id,
          govern_op_type_name(j->op_type), j->place, j->actor);
  cJSON *arr = site_ops_api_operations(store_reader(j->ctx->store), j->start_ms, j->start_ms + 1), *it, *found = NULL;
  cJSON_ArrayForEach(it, arr)
    if ((int64_t)cJSON_GetObjectItem(it, "id")->valuedouble == j->id) found = it;
  api_reply(resp, 201, found ? cJSON_DetachItemViaPointer(arr, found) : cJSON_CreateObject());
  cJSON_Delete(arr);
}

/* POST /api/v1/special-operations {type, place, start_ms, end_ms, unit?, supervisor?, note?} */
static void site_ops_api__declare(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct govern_job *j = NULL;
  int bad = 0;
  const struct dg_person *p = govern_job_caller(ctx, req, HAZARD_RIGHT_MANAGE, "special operations are declared by"
                                                 " the workshop_director, engineer, safety_director, principal or"
                                                 " admin role", resp);
  if (!p || !(j = govern_job_new(ctx, req, p, site_ops_api__op_work, "special_operation", resp))) return;
  const char *type = govern_job_str(j->body, "type", 1, resp, &bad);
  j->place = govern_job_str(j->body, "place", 1, resp, &bad);
  j->start_ms = govern_job_ms(j->body, "start_ms", resp, &bad);
  j->end_ms = govern_job_ms(j->body, "end_ms", resp, &bad);
  j->unit = govern_job_str(j->body, "unit", 0, resp, &bad);
  j->supervisor = govern_job_str(j->body, "supervisor", 0, resp, &bad);
  j->reason = govern_job_str(j->body, "note", 0, resp, &bad);
  if (bad) goto out;
  if ((j->op_type = govern_op_type_parse(type)) < 0) {
    api_error(resp, 400, "type: expected a special operation of GB 30871 (hot_work 动火, confined_space 受限空间,"
              " blind_plate 盲板抽堵, work_at_height 高处, lifting 吊装, temporary_power 临时用电, excavation 动土,"
              " road_break 断路)");
    goto out;
  }
  if (j->end_ms <= j->start_ms || j->end_ms - j->start_ms > SITE_OPS_API_OP_MAX_MS) {
    api_error(resp, 400, "end_ms: expected after start_ms, at most 7 days later");
    goto out;
  }
  if (j->unit && !dg_config_unit(ctx->engine->cfg, j->unit)) {
    api_error(resp, 400, "unit: not a configured risk unit id");
    goto out;
  }
  govern_job_commit(j, req, resp, site_ops_api__declared);
  j = NULL;
out:
  govern_job_free(j);
}

/* GET /api/v1/special-operations?date=YYYY-MM-DD (default today): those overlapping the day. */
static void site_ops_api__operations(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  char date[16];
  int32_t day = workcal_day_of(dg_wall_ms());
  int has = api_query_text(req, "date", date, sizeof date, resp);
  if (has < 0) return;
  if (has && workcal_parse_date(date, &day)) {
    api_error(resp, 400, "date: expected YYYY-MM-DD");
    return;
  }
  cJSON *root = cJSON_CreateObject();
  cJSON_AddItemToObject(root, "special_operations",
                        site_ops_api_operations(store_reader(ctx->store), workcal_day_ms(day), workcal_day_ms(day + 1)));
  api_reply(resp, 200, root);
}

static const struct api_route site_ops_api__routes[] = {
  {"GET", "/api/v1/hazard-sources/states", site_ops_api__states, 0, NULL, NULL},
  {"GET", "/api/v1/hazard-sources/{id}/states", site_ops_api__source_states, 0, NULL, "limit"},
  {"POST", "/api/v1/hazard-sources/{id}/state", site_ops_api__set_state, 0, NULL, NULL},
  {"POST", "/api/v1/special-operations", site_ops_api__declare, 0, NULL, NULL},
  {"GET", "/api/v1/special-operations", site_ops_api__operations, 0, NULL, "date"},
};

struct api_routes site_ops_api_routes(void) { return API_ROUTES(site_ops_api__routes); }
