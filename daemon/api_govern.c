#include "api_govern.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_govern_job.h"
#include "api_site_ops.h"
#include "govern.h"
#include "hazard_flow.h"
#include "log.h"

#define GOVERN_API_REVIEWERS_MAX 20

/* ---- a major hazard's governance ------------------------------------------------------------------ */

struct govern_api__hazard {
  int level, state, dismissed, flag, n_assessment, n_plan;
};

static const char *const govern_api__sql_hazard =
  "SELECT danger_level, danger_state, dismissed, stop_flag,"
  " (SELECT COUNT(*) FROM attachments a WHERE a.hazard_id = hazards.id AND a.stage = 'assessment'),"
  " (SELECT COUNT(*) FROM attachments a WHERE a.hazard_id = hazards.id AND a.stage = 'plan')"
  " FROM hazards WHERE id = ?1";

/* Reads the hazard's governance facts on c: SQLITE_ROW, SQLITE_DONE (no such hazard) or an error. */
static int govern_api__load(struct store_conn *c, int64_t id, struct govern_api__hazard *h)
{
  sqlite3_stmt *st = store_stmt(c, govern_api__sql_hazard);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    h->level = sqlite3_column_int(st, 0);
    h->state = sqlite3_column_int(st, 1);
    h->dismissed = sqlite3_column_int(st, 2);
    h->flag = sqlite3_column_int(st, 3);
    h->n_assessment = sqlite3_column_int(st, 4);
    h->n_plan = sqlite3_column_int(st, 5);
  }
  sqlite3_reset(st);
  return rc;
}

/* Whether the job may go on from h: 0, or nonzero after answering 409 (when resp is given). */
typedef int (*govern_api__check_fn)(const struct govern_api__hazard *h, const struct govern_job *j,
                                    struct http_response *resp);

static int govern_api__is_major(const struct govern_api__hazard *h, const struct govern_job *j,
                                struct http_response *resp)
{
  if (h->level == 1 && !h->dismissed && h->state != HAZARD_REVIEWING) return 0;
  if (resp) api_error(resp, 409, "hazard %lld is not a major hazard (重大隐患) in the ledger", (long long)j->hazard_id);
  return -EPERM;
}

/* Loads the hazard of a governance request from what is committed and checks it; answers
 * 404/409/500 and returns negative unless `check` lets the job go on. */
static int govern_api__major(struct govern_job *j, struct govern_api__hazard *h, govern_api__check_fn check,
                             struct http_response *resp)
{
  int rc = govern_api__load(store_reader(j->ctx->store), j->hazard_id, h);
  if (rc == SQLITE_DONE) {
    api_error(resp, 404, "no such hazard");
    return -ENOENT;
  }
  if (rc != SQLITE_ROW) {
    api_error(resp, 500, "database error");
    return -EIO;
  }
  return check(h, j, resp) ? -EPERM : 0;
}

/* In the job: the hazard as the writer finds it must still pass `check`, else -ESTALE. */
static int govern_api__still(struct store_conn *c, struct govern_job *j, struct govern_api__hazard *h,
                             govern_api__check_fn check)
{
  int rc = govern_api__load(c, j->hazard_id, h);
  if (rc == SQLITE_DONE) return -ESTALE;
  if (rc != SQLITE_ROW) return rc;
  return check(h, j, NULL) ? -ESTALE : SQLITE_OK;
}

static int govern_api__path(const char *path, const char *tail, int64_t *id)
{
  long long v;
  int n = 0;
  char fmt[64];
  snprintf(fmt, sizeof fmt, "/api/v1/hazards/%%lld/%s%%n", tail);
  if (sscanf(path, fmt, &v, &n) != 1 || path[n] || v <= 0) return -ENOENT;
  *id = v;
  return 0;
}

static const char *const govern_api__sql_review =
  "INSERT INTO expert_reviews (hazard_id, ts_ms, recorder, reviewers, conclusion, opinion)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

static int govern_api__reviewable(const struct govern_api__hazard *h, const struct govern_job *j,
                                  struct http_response *resp)
{
  if (govern_api__is_major(h, j, resp)) return -EPERM;
  if (h->state == HAZARD_ACCEPTED) {
    if (resp) api_error(resp, 409, "hazard %lld is closed (已验收)", (long long)j->hazard_id);
    return -EPERM;
  }
  if (h->n_assessment && h->n_plan) return 0;
  if (resp)
    api_error(resp, 409, "the expert review needs the assessment report (评估报告书) and the treatment plan (治理方案)"
              " attached first (POST /api/v1/hazards/%lld/documents?stage=assessment|plan); missing:%s%s",
              (long long)j->hazard_id, h->n_assessment ? "" : " assessment", h->n_plan ? "" : " plan");
  return -EPERM;
}

static int govern_api__review_work(struct store_conn *c, struct govern_job *j)
{
  struct govern_api__hazard h;
  int rc = govern_api__still(c, j, &h, govern_api__reviewable);
  if (rc != SQLITE_OK) return rc;
  j->state = h.state;
  sqlite3_stmt *st = store_stmt(c, govern_api__sql_review);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, j->hazard_id);
  sqlite3_bind_int64(st, 2, j->now_ms);
  store_bind_text(st, 3, j->actor);
  store_bind_text(st, 4, j->reviewers);
  sqlite3_bind_int(st, 5, j->conclusion);
  store_bind_text(st, 6, j->opinion);
  return store_step_done(st);
}

/* reviewers: 1..20 non-empty names, as JSON text (malloc'd) and as "a、b" into names. */
static char *govern_api__reviewers(const cJSON *body, char *names, size_t len, struct http_response *resp)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "reviewers"), *it;
  int n = cJSON_GetArraySize(v);
  size_t used = 0;
  names[0] = '\0';
  if (!cJSON_IsArray(v) || n < 1 || n > GOVERN_API_REVIEWERS_MAX) goto bad;
  cJSON_ArrayForEach(it, v) {
    if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) > 100) goto bad;
    if (used < len) used += (size_t)snprintf(names + used, len - used, "%s%s", used ? "、" : "", it->valuestring);
  }
  return cJSON_PrintUnformatted(v);
bad:
  api_error(resp, 400, "reviewers: expected a list of 1 to %d expert names", GOVERN_API_REVIEWERS_MAX);
  return NULL;
}

static void govern_api__reviewed(struct govern_job *j, struct http_response *resp)
{
  DG_INFO("govern", "hazard %lld: expert review %s recorded by %s", (long long)j->hazard_id, j->conclusion_name,
          j->actor);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", (double)j->id);
  cJSON_AddNumberToObject(o, "hazard_id", (double)j->hazard_id);
  cJSON_AddStringToObject(o, "conclusion", j->conclusion_name);
  cJSON_AddStringToObject(o, "conclusion_zh", govern_conclusion_zh(j->conclusion));
  cJSON_AddItemToObject(o, "reviewers", cJSON_Parse(j->reviewers));
  cJSON_AddStringToObject(o, "opinion", j->opinion);
  cJSON_AddStringToObject(o, "recorder", j->actor);
  cJSON_AddNumberToObject(o, "ts_ms", (double)j->now_ms);
  api_reply(resp, 201, o);
}

/* POST /api/v1/hazards/{id}/expert-review {reviewers, conclusion, opinion} */
static void govern_api__expert_review(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct govern_job *j = NULL;
  struct govern_api__hazard h;
  int64_t id;
  int bad = 0;
  if (govern_api__path(req->path, "expert-review", &id)) {
    api_error(resp, 404, "not found");
    return;
  }
  const struct dg_person *p = govern_job_caller(ctx, req, HAZARD_RIGHT_VERIFY_MAJOR,
                                                 "the expert review is recorded by the safety_director, principal or"
                                                 " admin role or a principal's delegate", resp);
  if (!p || !(j = govern_job_new(ctx, req, p, govern_api__review_work, "expert_review", resp))) return;
  j->hazard_id = id;
  j->touch_ledger = true;
  if (!(j->reviewers = govern_api__reviewers(j->body, j->names, sizeof j->names, resp))) goto out;
  j->conclusion_name = govern_job_str(j->body, "conclusion", 1, resp, &bad);
  j->opinion = govern_job_str(j->body, "opinion", 1, resp, &bad);
  if (bad) goto out;
  if ((j->conclusion = govern_conclusion_parse(j->conclusion_name)) < 0) {
    api_error(resp, 400, "conclusion: expected approved (通过) or rejected (不通过)");
    goto out;
  }
  if (govern_api__major(j, &h, govern_api__reviewable, resp)) goto out;
  snprintf(j->comment, sizeof j->comment, "专家论证%s (%s): %s", govern_conclusion_zh(j->conclusion), j->names,
           j->opinion);
  govern_job_commit(j, req, resp, govern_api__reviewed);
  j = NULL;
out:
  govern_job_free(j);
}

static const char *const govern_api__sql_stop =
  "UPDATE hazards SET stop_flag = ?2, stop_reason = ?3, stop_by = ?4, stop_ms = ?5, updated_ms = ?7"
  " WHERE id = ?1 AND stop_flag = ?6";

static int govern_api__stoppable(const struct govern_api__hazard *h, const struct govern_job *j,
                                 struct http_response *resp)
{
  if (govern_api__is_major(h, j, resp)) return -EPERM;
  if (h->flag != j->flag) return 0;
  if (resp)
    api_error(resp, 409, "hazard %lld: the stop flag is already %s", (long long)j->hazard_id, govern_stop_name(j->flag));
  return -EPERM;
}

/* The flag moves only from the one the handler read (old_flag), on a hazard still major. */
static int govern_api__stop_work(struct store_conn *c, struct govern_job *j)
{
  struct govern_api__hazard h;
  int rc = govern_api__still(c, j, &h, govern_api__stoppable);
  if (rc != SQLITE_OK) return rc;
  j->state = h.state;
  sqlite3_stmt *st = store_stmt(c, govern_api__sql_stop);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, j->hazard_id);
  sqlite3_bind_int(st, 2, j->flag);
  store_bind_text(st, 3, j->flag ? j->reason : NULL);
  store_bind_text(st, 4, j->flag ? j->actor : NULL);
  if (j->flag) sqlite3_bind_int64(st, 5, j->now_ms);
  else sqlite3_bind_null(st, 5);
  sqlite3_bind_int(st, 6, j->old_flag);
  sqlite3_bind_int64(st, 7, j->now_ms);
  rc = store_step_done(st);
  if (rc == SQLITE_OK && sqlite3_changes(store_conn_db(c)) != 1) rc = -ESTALE;
  j->id = j->hazard_id;
  return rc;
}

static void govern_api__stopped(struct govern_job *j, struct http_response *resp)
{
  DG_INFO("govern", "hazard %lld: stop flag %s → %s by %s", (long long)j->hazard_id, govern_stop_name(j->old_flag),
          govern_stop_name(j->flag), j->actor);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "hazard_id", (double)j->hazard_id);
  cJSON_AddStringToObject(o, "stop_flag", govern_stop_name(j->flag));
  cJSON_AddStringToObject(o, "stop_flag_zh", govern_stop_zh(j->flag));
  cJSON_AddStringToObject(o, "reason", j->reason);
  cJSON_AddStringToObject(o, "by", j->actor);
  cJSON_AddNumberToObject(o, "ts_ms", (double)j->now_ms);
  api_reply(resp, 200, o);
}

/* POST /api/v1/hazards/{id}/stop {flag: stop_production|evacuate, reason} and
 * POST /api/v1/hazards/{id}/resume {reason}. */
static void govern_api__stop(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct govern_job *j = NULL;
  struct govern_api__hazard h;
  int64_t id;
  int bad = 0, resume = govern_api__path(req->path, "stop", &id) != 0;
  if (resume && govern_api__path(req->path, "resume", &id)) {
    api_error(resp, 404, "not found");
    return;
  }
  const struct dg_person *p = govern_job_caller(ctx, req, HAZARD_RIGHT_VERIFY_MAJOR,
                                                 "the stop flag is set and cleared by the safety_director, principal"
                                                 " or admin role or a principal's delegate", resp);
  if (!p || !(j = govern_job_new(ctx, req, p, govern_api__stop_work, resume ? "resume" : "stop", resp))) return;
  j->hazard_id = id;
  j->touch_ledger = true;
  const char *flag = resume ? "none" : govern_job_str(j->body, "flag", 1, resp, &bad);
  j->reason = govern_job_str(j->body, "reason", 1, resp, &bad);
  if (bad) goto out;
  j->flag = govern_stop_parse(flag);
  if (j->flag <= 0 && !resume) {
    api_error(resp, 400, "flag: expected stop_production (停产停业) or evacuate (撤人)");
    goto out;
  }
  if (govern_api__major(j, &h, govern_api__stoppable, resp)) goto out;
  j->old_flag = h.flag;
  snprintf(j->comment, sizeof j->comment, "%s → %s: %s", govern_stop_zh(h.flag), govern_stop_zh(j->flag), j->reason);
  govern_job_commit(j, req, resp, govern_api__stopped);
  j = NULL;
out:
  govern_job_free(j);
}

void govern_api_stop_json(cJSON *o, sqlite3_stmt *st, int col)
{
  int flag = sqlite3_column_int(st, col);
  cJSON_AddStringToObject(o, "stop_flag", govern_stop_name(flag));
  cJSON_AddStringToObject(o, "stop_flag_zh", govern_stop_zh(flag));
  api_col_text(o, "stop_reason", st, col + 1);
  api_col_text(o, "stop_by", st, col + 2);
  api_col_num(o, "stop_ms", st, col + 3);
}

static const char *const govern_api__sql_stops =
  "SELECT id, code, unit, hazard_source, description, danger_state, stop_flag, stop_reason, stop_by, stop_ms"
  " FROM hazards WHERE stop_flag <> 0 ORDER BY id";

cJSON *govern_api_stops(struct store_conn *c)
{
  cJSON *arr = cJSON_CreateArray();
  sqlite3_stmt *st = store_stmt(c, govern_api__sql_stops);
  while (st && sqlite3_step(st) == SQLITE_ROW) {
    cJSON *o = cJSON_CreateObject();
    api_col_num(o, "id", st, 0);
    api_col_text(o, "code", st, 1);
    api_col_text(o, "unit", st, 2);
    api_col_text(o, "hazard_source", st, 3);
    api_col_text(o, "description", st, 4);
    api_col_num(o, "danger_state", st, 5);
    govern_api_stop_json(o, st, 6);
    cJSON_AddItemToArray(arr, o);
  }
  if (st) sqlite3_reset(st);
  return arr;
}

static const cJSON *govern_api__stop_of(const cJSON *stops, const char *unit)
{
  const cJSON *it;
  cJSON_ArrayForEach(it, stops) {
    const cJSON *u = cJSON_GetObjectItem(it, "unit");
    if (unit && cJSON_IsString(u) && strcmp(u->valuestring, unit) == 0) return it;
  }
  return NULL;
}

void govern_api_risk_map(cJSON *root, struct store_conn *c)
{
  cJSON *stops = govern_api_stops(c), *it;
  cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "units")) {
    const cJSON *id = cJSON_GetObjectItem(it, "id");
    const cJSON *s = govern_api__stop_of(stops, cJSON_IsString(id) ? id->valuestring : NULL);
    cJSON_AddItemToObject(it, "stop", s ? cJSON_Duplicate(s, 1) : cJSON_CreateNull());
  }
  cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "hazard_sources")) {
    const cJSON *id = cJSON_GetObjectItem(it, "hazardCode");
    if (cJSON_IsString(id)) cJSON_AddItemToObject(it, "operating_state", site_ops_api_state(c, id->valuestring));
  }
  cJSON_AddItemToObject(root, "stops", stops);
}

/* ---- GET /api/v1/governance: the open major hazards and where each stands ---------------------- */

static const char *const govern_api__sql_majors =
  "SELECT id, code, description, unit, hazard_source, danger_state, liable_person, deadline_ms,"
  " stop_flag, stop_reason, stop_by, stop_ms,"
  " (SELECT COUNT(*) FROM attachments a WHERE a.hazard_id = hazards.id AND a.stage = 'assessment'),"
  " (SELECT COUNT(*) FROM attachments a WHERE a.hazard_id = hazards.id AND a.stage = 'plan'),"
  " (SELECT conclusion FROM expert_reviews r WHERE r.hazard_id = hazards.id ORDER BY r.id DESC LIMIT 1),"
  " verifier, closed_ms"
  " FROM hazards WHERE danger_level = 1 AND dismissed = 0 AND danger_state <> -1"
  " AND (danger_state <> 9 OR ?1) ORDER BY id DESC LIMIT 200";

static cJSON *govern_api__major_json(sqlite3_stmt *st)
{
  cJSON *o = cJSON_CreateObject();
  api_col_num(o, "id", st, 0);
  api_col_text(o, "code", st, 1);
  api_col_text(o, "description", st, 2);
  api_col_text(o, "unit", st, 3);
  api_col_text(o, "hazard_source", st, 4);
  api_col_num(o, "danger_state", st, 5);
  api_col_text(o, "liable_person", st, 6);
  api_col_num(o, "deadline_ms", st, 7);
  govern_api_stop_json(o, st, 8);
  cJSON *steps = cJSON_AddObjectToObject(o, "steps");
  cJSON_AddBoolToObject(steps, "assessment", sqlite3_column_int(st, 12) > 0);
  cJSON_AddBoolToObject(steps, "plan", sqlite3_column_int(st, 13) > 0);
  int c = sqlite3_column_type(st, 14) == SQLITE_NULL ? 0 : sqlite3_column_int(st, 14);
  api_json_text(steps, "expert_review", c == GOVERN_APPROVED ? "approved" : c == GOVERN_REJECTED ? "rejected" : NULL);
  cJSON_AddBoolToObject(steps, "accepted", sqlite3_column_int(st, 5) == HAZARD_ACCEPTED);
  api_col_text(o, "verifier", st, 15);
  api_col_num(o, "closed_ms", st, 16);
  return o;
}

static void govern_api__overview(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_config *cfg = ctx->engine->cfg;
  char closed[8];
  if (api_query_text(req, "closed", closed, sizeof closed, resp) < 0) return;
  sqlite3_stmt *st = store_stmt(store_reader(ctx->store), govern_api__sql_majors);
  if (!st) {
    api_error(resp, 500, "database error");
    return;
  }
  sqlite3_bind_int(st, 1, closed[0] && strcmp(closed, "0") != 0);
  cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "major_hazards");
  while (sqlite3_step(st) == SQLITE_ROW) cJSON_AddItemToArray(arr, govern_api__major_json(st));
  sqlite3_reset(st);
  cJSON *who = cJSON_AddArrayToObject(root, "principal_delegates");
  for (size_t i = 0; i < cfg->n_principal_delegates; i++)
    cJSON_AddItemToArray(who, cJSON_CreateString(cfg->principal_delegates[i]->id));
  cJSON_AddItemToObject(root, "stops", govern_api_stops(store_reader(ctx->store)));
  api_reply(resp, 200, root);
}

static const struct api_route govern_api__routes[] = {
  {"GET", "/api/v1/governance", govern_api__overview, 0, NULL, "closed"},
  {"POST", "/api/v1/hazards/{id}/expert-review", govern_api__expert_review, 0, NULL, NULL},
  {"POST", "/api/v1/hazards/{id}/stop", govern_api__stop, 0, NULL, NULL},
  {"POST", "/api/v1/hazards/{id}/resume", govern_api__stop, 0, NULL, NULL},
};

struct api_routes govern_api_routes(void) { return API_ROUTES(govern_api__routes); }
