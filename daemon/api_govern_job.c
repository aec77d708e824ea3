#include "api_govern_job.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_lane.h"
#include "govern.h"
#include "ledger.h"
#include "log.h"

/* ---- the store job: one change and its journal or history row -------------------------------- */

static const char *const govern_job__sql_journal =
  "INSERT INTO hazard_journal (hazard_id, ts_ms, actor, action, from_state, to_state, comment)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)";

static int govern_job__journal(struct store_conn *c, struct govern_job *j)
{
  sqlite3_stmt *st = store_stmt(c, govern_job__sql_journal);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, j->hazard_id);
  sqlite3_bind_int64(st, 2, j->now_ms);
  store_bind_text(st, 3, j->actor);
  store_bind_text(st, 4, j->action);
  sqlite3_bind_int(st, 5, j->state);
  store_bind_text(st, 6, j->comment);
  return store_step_done(st);
}

static int govern_job__work(struct store_conn *c, void *arg)
{
  struct govern_job *j = arg;
  j->id = 0; /* a job run again alone after its group was lost must not keep the lost run's row */
  int rc = j->work(c, j);
  if (rc == SQLITE_OK && !j->id) j->id = sqlite3_last_insert_rowid(store_conn_db(c));
  return rc == SQLITE_OK && j->hazard_id ? govern_job__journal(c, j) : rc;
}

struct govern_job *govern_job_new(struct api_ctx *ctx, const struct http_request *req, const struct dg_person *who,
                                  int (*work)(struct store_conn *c, struct govern_job *j), const char *action,
                                  struct http_response *resp)
{
  struct govern_job *j = api_calloc(sizeof *j, resp);
  if (!j) return NULL;
  *j = (struct govern_job){.ctx = ctx, .work = work, .action = action, .now_ms = dg_wall_ms()};
  snprintf(j->actor, sizeof j->actor, "%s", who->id);
  if ((j->body = api_body_object(req, resp))) return j;
  free(j);
  return NULL;
}

void govern_job_free(struct govern_job *j)
{
  if (!j) return;
  free(j->reviewers);
  cJSON_Delete(j->body);
  free(j);
}

static void govern_job__written(void *arg, int rc, struct http_response *resp)
{
  struct govern_job *j = arg;
  if (rc == 0) {
    if (j->touch_ledger) ledger_touch(j->ctx->engine->ledger);
    j->committed(j, resp);
  } else if (rc == -ESTALE) {
    DG_INFO("govern", "hazard %lld: %s by %s refused: it changed meanwhile", (long long)j->hazard_id, j->action,
            j->actor);
    api_error(resp, 409, "hazard %lld changed meanwhile; %s not applied", (long long)j->hazard_id, j->action);
  } else if (rc == -ESHUTDOWN) {
    api_error(resp, 503, "database unavailable");
  } else {
    DG_WARN("govern", "%s not committed (rc %d)", j->action, rc);
    api_error(resp, 500, "%s not committed (database error)", j->action);
  }
  govern_job_free(j);
}

void govern_job_commit(struct govern_job *j, const struct http_request *req, struct http_response *resp,
                       void (*committed)(struct govern_job *j, struct http_response *resp))
{
  j->committed = committed;
  api_lane_write(j->ctx->store, req, resp, true, govern_job__work, govern_job__written, j);
}

/* ---- request helpers ---------------------------------------------------------------------------- */

/* The caller with all of `need` (enum hazard_right), or NULL after answering 401/403. */
const struct dg_person *govern_job_caller(struct api_ctx *ctx, const struct http_request *req, unsigned need,
                                                  const char *who, struct http_response *resp)
{
  const struct dg_person *p = api_caller(ctx, req);
  if (!p) api_error(resp, 401, "Authorization: a valid bearer token is required");
  else if ((govern_rights(ctx->engine->cfg, p) & need) != need) api_error(resp, 403, "%s may not do this: %s", p->id, who);
  else return p;
  return NULL;
}

/* A string field: NULL (and 400 answered, *bad set) when required and missing, or too long. */
const char *govern_job_str(const cJSON *body, const char *key, int required, struct http_response *resp,
                                   int *bad)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
  if (*bad || (!required && (!v || cJSON_IsNull(v)))) return NULL;
  if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > GOVERN_API_TEXT_MAX) {
    api_error(resp, 400, "%s: expected a non-empty string of at most %d bytes", key, GOVERN_API_TEXT_MAX);
    *bad = 1;
    return NULL;
  }
  return v->valuestring;
}

int64_t govern_job_ms(const cJSON *body, const char *key, struct http_response *resp, int *bad)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
  if (*bad) return 0;
  if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1) || v->valuedouble > 9e15) {
    api_error(resp, 400, "%s: expected epoch milliseconds", key);
    *bad = 1;
    return 0;
  }
  return (int64_t)v->valuedouble;
}
