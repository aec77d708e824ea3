#include "api_national.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_govern_job.h"
#include "api_lane.h"
#include "engine.h"
#include "hazard_flow.h"
#include "export.h"
#include "log.h"
#include "national.h"
#include "upload.h"
#include "upload_journal.h"

static void national_api__upload(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  (void)req;
  cJSON *doc = upload_status(ctx->upload, ctx->engine->cfg, store_reader(ctx->store));
  if (!doc) {
    DG_WARN("upload", "upload status failed: database error");
    api_error(resp, 500, "database error");
    return;
  }
  api_reply(resp, 200, doc);
}

/* ---- POST /api/v1/upload/retry: dead-lettered versions queued again (admin, engineer) ---- */

struct national_api__retry {
  struct api_ctx *ctx;
  struct upload_retry r;
  char who[128];
};

static int national_api__may_retry(const struct dg_person *p)
{
  for (size_t i = 0; p && i < p->n_roles; i++)
    if (!strcmp(p->roles[i], "admin") || !strcmp(p->roles[i], "engineer")) return 1;
  return 0;
}

static int national_api__retry_work(struct store_conn *c, void *arg)
{
  return upload_journal_retry_work(c, &((struct national_api__retry *)arg)->r);
}

static void national_api__retried(void *arg, int rc, struct http_response *resp)
{
  struct national_api__retry *x = arg;
  if (rc == -ESHUTDOWN) {
    api_error(resp, 503, "database unavailable");
  } else if (rc) {
    api_error(resp, 500, "database error");
  } else {
    DG_INFO("upload", "%s retried %u dead-lettered upload versions", x->who, x->r.n);
    upload_kick(x->ctx->upload);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "retried", x->r.n);
    api_reply(resp, 200, o);
  }
  free(x);
}

/* {"seq": n} one version, {"kind": "hazards"} those of a record type, {} all; answered after
 * the commit. */
static void national_api__retry(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct national_api__retry *x = NULL;
  const struct dg_person *who = api_caller(ctx, req);
  if (!who) {
    api_error(resp, 401, "a valid 'Authorization: Bearer <token>' is required");
    return;
  }
  if (!national_api__may_retry(who)) {
    api_error(resp, 403, "retrying uploads needs the admin or engineer role; 需要管理员或工程师角色");
    return;
  }
  cJSON *b = req->body_len ? cJSON_ParseWithLength(req->body, req->body_len) : cJSON_CreateObject();
  const cJSON *seq = cJSON_GetObjectItem(b, "seq");
  const char *kind_key = cJSON_GetStringValue(cJSON_GetObjectItem(b, "kind"));
  int kind = -1;
  for (int k = 0; kind_key && k < NATIONAL_N_KINDS; k++)
    if (!strcmp(national_kind_key(k), kind_key)) kind = k;
  if (!cJSON_IsObject(b)) api_error(resp, 400, "body: expected a JSON object");
  else if (seq && !(cJSON_IsNumber(seq) && seq->valuedouble >= 1)) api_error(resp, 400, "seq: expected a queue seq");
  else if (kind_key && kind < 0) api_error(resp, 400, "kind: expected a record type such as 'hazards'");
  else if ((x = api_calloc(sizeof *x, resp))) {
    *x = (struct national_api__retry){.ctx = ctx,
                                      .r = {.kind = kind, .seq = seq ? (int64_t)seq->valuedouble : 0,
                                            .now = dg_wall_ms()}};
    snprintf(x->who, sizeof x->who, "%s", who->id);
    api_lane_write(ctx->store, req, resp, false, national_api__retry_work, national_api__retried, x);
  }
  cJSON_Delete(b);
}

/* ---- shutdown / maintenance records ---- */

/* A record's write in flight, on the heap until its answer: it owns the request's body (the
 * texts point into it) and a copy of the actor. Answered after its commit (api_lane_write). */
struct national_api__job {
  struct api_ctx *ctx;
  int64_t id, now;
  const char *source, *unit, *reason;
  char actor[128];
  cJSON *body;
  int64_t start_ms, end_ms;
  int changed;
};

static const char *const national_api__sql_insert =
  "INSERT INTO shutdown_records (hazard_source, unit, start_ms, end_ms, reason, created_ms, created_by, updated_ms,"
  " updated_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6, ?7)";
static const char *const national_api__sql_delete =
  "UPDATE shutdown_records SET deleted = 1, updated_ms = ?2, updated_by = ?3 WHERE id = ?1 AND deleted = 0";

static int national_api__insert(struct store_conn *c, void *arg)
{
  struct national_api__job *j = arg;
  sqlite3_stmt *st = store_stmt(c, national_api__sql_insert);
  if (!st) return SQLITE_ERROR;
  store_bind_text(st, 1, j->source);
  store_bind_text(st, 2, j->unit);
  sqlite3_bind_int64(st, 3, j->start_ms);
  store_bind_ms(st, 4, j->end_ms);
  store_bind_text(st, 5, j->reason);
  sqlite3_bind_int64(st, 6, j->now);
  store_bind_text(st, 7, j->actor);
  int rc = store_step_done(st);
  j->id = sqlite3_last_insert_rowid(store_conn_db(c));
  return rc;
}

static int national_api__delete_work(struct store_conn *c, void *arg)
{
  struct national_api__job *j = arg;
  sqlite3_stmt *st = store_stmt(c, national_api__sql_delete);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, j->id);
  sqlite3_bind_int64(st, 2, j->now);
  store_bind_text(st, 3, j->actor);
  int rc = store_step_done(st);
  j->changed = sqlite3_changes(store_conn_db(c));
  return rc;
}

static struct national_api__job *national_api__job_new(struct api_ctx *ctx, const struct dg_person *who,
                                                       struct http_response *resp)
{
  struct national_api__job *j = api_calloc(sizeof *j, resp);
  if (!j) return NULL;
  *j = (struct national_api__job){.ctx = ctx, .now = dg_wall_ms()};
  snprintf(j->actor, sizeof j->actor, "%s", who->id);
  return j;
}

static void national_api__job_free(struct national_api__job *j)
{
  if (!j) return;
  cJSON_Delete(j->body);
  free(j);
}

/* 0 once the write committed, the upload told of the change; else rc, 503 or 500 answered. */
static int national_api__outcome(struct national_api__job *j, int rc, struct http_response *resp)
{
  if (rc == -ESHUTDOWN) api_error(resp, 503, "database unavailable");
  else if (rc) api_error(resp, 500, "database error");
  else upload_kick(j->ctx->upload);
  return rc;
}

static void national_api__posted(void *arg, int rc, struct http_response *resp)
{
  struct national_api__job *j = arg;
  if (!national_api__outcome(j, rc, resp)) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)j->id);
    api_reply(resp, 201, o);
  }
  national_api__job_free(j);
}

static void national_api__deleted(void *arg, int rc, struct http_response *resp)
{
  struct national_api__job *j = arg;
  if (national_api__outcome(j, rc, resp)) (void)0;
  else if (!j->changed) api_error(resp, 404, "no shutdown record %lld (or already deleted)", (long long)j->id);
  else api_reply(resp, 200, cJSON_CreateObject());
  national_api__job_free(j);
}

static int national_api__unit_of(const struct dg_hazard_source *hs, const char *unit)
{
  for (size_t i = 0; hs && unit && i < hs->n_units; i++)
    if (!strcmp(hs->units[i].id, unit)) return 1;
  return 0;
}

#define NATIONAL_API_SHUTDOWN_RIGHTS \
  "shutdown records are kept by the workshop_director, engineer, safety_director, principal or admin role"

static const struct dg_hazard_source *national_api__source(const struct dg_config *cfg, const char *id)
{
  for (size_t i = 0; id && i < cfg->n_sources; i++)
    if (!strcmp(cfg->sources[i].id, id)) return &cfg->sources[i];
  return NULL;
}

static void national_api__post(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_person *who = govern_job_caller(ctx, req, HAZARD_RIGHT_MANAGE, NATIONAL_API_SHUTDOWN_RIGHTS, resp);
  struct national_api__job *j;
  if (!who || !(j = national_api__job_new(ctx, who, resp))) return;
  cJSON *b = j->body = cJSON_ParseWithLength(req->body, req->body_len);
  j->source = cJSON_GetStringValue(cJSON_GetObjectItem(b, "hazard_source"));
  j->unit = cJSON_GetStringValue(cJSON_GetObjectItem(b, "unit"));
  j->reason = cJSON_GetStringValue(cJSON_GetObjectItem(b, "reason"));
  const cJSON *start = cJSON_GetObjectItem(b, "start_ms"), *end = cJSON_GetObjectItem(b, "end_ms");
  j->start_ms = cJSON_IsNumber(start) ? (int64_t)start->valuedouble : 0;
  j->end_ms = cJSON_IsNumber(end) ? (int64_t)end->valuedouble : 0;
  const struct dg_hazard_source *hs = national_api__source(ctx->engine->cfg, j->source);
  if (!cJSON_IsObject(b)) api_error(resp, 400, "body: expected a JSON object");
  else if (!hs) api_error(resp, 400, "hazard_source: required, a hazard source id");
  else if (j->unit && !national_api__unit_of(hs, j->unit)) api_error(resp, 400, "unit: not a unit of %s", hs->id);
  else if (j->start_ms <= 0) api_error(resp, 400, "start_ms: required, epoch ms");
  else if (end && !cJSON_IsNull(end) && j->end_ms < j->start_ms) api_error(resp, 400, "end_ms: before start_ms");
  else if (!j->reason || !*j->reason) api_error(resp, 400, "reason: required text");
  else {
    api_lane_write(ctx->store, req, resp, false, national_api__insert, national_api__posted, j);
    return;
  }
  national_api__job_free(j);
}

static void national_api__delete(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_person *who = govern_job_caller(ctx, req, HAZARD_RIGHT_MANAGE, NATIONAL_API_SHUTDOWN_RIGHTS, resp);
  struct national_api__job *j;
  long long id = 0;
  int n = 0;
  if (!who) return;
  if (sscanf(req->path, "/api/v1/shutdowns/%lld%n", &id, &n) != 1 || req->path[n] || id <= 0) {
    api_error(resp, 404, "not found: DELETE /api/v1/shutdowns/{id}");
    return;
  }
  if (!(j = national_api__job_new(ctx, who, resp))) return;
  j->id = id;
  api_lane_write(ctx->store, req, resp, false, national_api__delete_work, national_api__deleted, j);
}

static const char *const national_api__sql_list =
  "SELECT id, hazard_source, unit, start_ms, end_ms, reason, deleted, created_by, updated_ms FROM shutdown_records"
  " ORDER BY id DESC LIMIT 500";

static void national_api__list(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  (void)req;
  cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "shutdowns");
  sqlite3_stmt *st = store_stmt(store_reader(ctx->store), national_api__sql_list);
  if (!st || export_rows(st, arr)) {
    cJSON_Delete(o);
    api_error(resp, 500, "database error");
    return;
  }
  api_reply(resp, 200, o);
}

static const struct api_route national_api__routes[] = {
  {"GET", "/api/v1/upload", national_api__upload, 0, NULL, NULL},
  {"POST", "/api/v1/upload/retry", national_api__retry, 0, NULL, NULL},
  {"GET", "/api/v1/shutdowns", national_api__list, 0, NULL, NULL},
  {"POST", "/api/v1/shutdowns", national_api__post, 0, NULL, NULL},
  {"DELETE", "/api/v1/shutdowns/{id}", national_api__delete, 0, NULL, NULL},
};

struct api_routes national_api_routes(void) { return API_ROUTES(national_api__routes); }
