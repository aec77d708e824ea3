#include "api_ledger.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_attach.h"
#include "api_govern.h"
#include "api_lane.h"
#include "export.h"
#include "govern.h"
#include "hazard_flow.h"
#include "ledger.h"
#include "ledger_events.h"
#include "inspect.h"
#include "notice.h"
#include "api_tasks.h"
#include "task_assign.h"
#include "log.h"
#include "risk.h"

/* dangerSrc: 1 日常排查 … 8 外聘专家诊断式排查, 9 管控措施失效 (automation only), 10 其他. */
#define LEDGER_API_SRC_MAX 10
#define LEDGER_API_DANGER_TYPE_MAX 8

static const char *ledger_api__state_zh(int s, int dismissed)
{
  switch (s) {
  case HAZARD_REVIEWING: return dismissed ? "已撤销" : "审核中";
  case HAZARD_RECTIFYING: return "整改中";
  case HAZARD_PENDING_ACCEPTANCE: return "待验收";
  case HAZARD_ACCEPTED: return "已验收";
  default: return "未知";
  }
}

/* ---- request fields ------------------------------------------------------------------------- */

/* Reads fields of a JSON body; the first invalid one answers 400 naming it. */
struct ledger_api__in {
  cJSON *body;
  const struct dg_config *cfg;
  struct http_response *resp;
  int failed;
};

static int ledger_api__parse(struct ledger_api__in *in, const struct http_request *req)
{
  in->body = api_body_object(req, in->resp);
  if (in->body) return 0;
  in->failed = 1;
  return -EINVAL;
}

static void ledger_api__bad(struct ledger_api__in *in, const char *key, const char *expected)
{
  if (in->failed) return;
  api_error(in->resp, 400, "%s: %s", key, expected);
  in->failed = 1;
}

static const cJSON *ledger_api__field(struct ledger_api__in *in, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(in->body, key);
  return cJSON_IsNull(v) ? NULL : v;
}

static const char *ledger_api__str(struct ledger_api__in *in, const char *key, int required)
{
  const cJSON *v = ledger_api__field(in, key);
  if (!v && !required) return NULL;
  if (!cJSON_IsString(v) || !v->valuestring[0]) {
    ledger_api__bad(in, key, "expected a non-empty string");
    return NULL;
  }
  return v->valuestring;
}

static const char *ledger_api__person(struct ledger_api__in *in, const char *key, int required)
{
  const char *id = ledger_api__str(in, key, required);
  if (id && !dg_config_person(in->cfg, id)) {
    ledger_api__bad(in, key, "not a configured person id");
    return NULL;
  }
  return id;
}

/* An integer in [lo, hi]; dflt when absent. */
static int ledger_api__int(struct ledger_api__in *in, const char *key, int lo, int hi, int dflt)
{
  const cJSON *v = ledger_api__field(in, key);
  if (!v) return dflt;
  double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
  if (!(d >= lo && d <= hi) || d != floor(d)) {
    char what[64];
    snprintf(what, sizeof what, "expected an integer from %d to %d", lo, hi);
    ledger_api__bad(in, key, what);
    return dflt;
  }
  return (int)d;
}

/* A number >= 0; returns 1 when present and valid. */
static int ledger_api__amount(struct ledger_api__in *in, const char *key, double *out)
{
  const cJSON *v = ledger_api__field(in, key);
  if (!v) return 0;
  if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || !isfinite(v->valuedouble)) {
    ledger_api__bad(in, key, "expected a number >= 0");
    return 0;
  }
  *out = v->valuedouble;
  return 1;
}

/* Epoch milliseconds > 0; 0 when absent. */
static int64_t ledger_api__ms(struct ledger_api__in *in, const char *key)
{
  const cJSON *v = ledger_api__field(in, key);
  if (!v) return 0;
  if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1) || v->valuedouble > 9e15) {
    ledger_api__bad(in, key, "expected epoch milliseconds");
    return 0;
  }
  return (int64_t)v->valuedouble;
}

/* Every write is made by the person its bearer token was issued to: 401 without a valid token,
 * 403 when the person's roles give none of `need` (enum hazard_right). *rights gets them all. */
static const char *ledger_api__actor(struct api_ctx *ctx, const struct http_request *req, struct ledger_api__in *in,
                                     unsigned need, unsigned *rights)
{
  const struct dg_person *p = api_caller(ctx, req);
  unsigned r = govern_rights(in->cfg, p);
  if (rights) *rights = r;
  if (in->failed) return p ? p->id : NULL;
  if (!p) {
    api_error(in->resp, 401, "Authorization: a valid bearer token is required");
    in->failed = 1;
  } else if (!(r & need)) {
    api_error(in->resp, 403, "%s has no role that may do this (roles operator, workshop_director, engineer,"
              " safety_director, principal, admin)", p->id);
    in->failed = 1;
  }
  return p ? p->id : NULL;
}

/* ---- the store job: one hazard row change and its journal entry ----------------------------- */

struct ledger_api__job {
  int report;                /* insert a new hazard, else update one */
  int64_t id;
  const char *code;
  int from, to;
  const char *action, *actor, *comment;
  int64_t now_ms;
  /* report */
  int danger_level, danger_src, manage_type, danger_type;
  const char *description, *reason, *source, *unit, *event, *measure;
  /* NULL / 0 = keep the stored value */
  const char *measures, *rectifier, *liable, *plan, *verifier, *verify_comment, *assignee;
  int clear_rectifier;       /* an assignment: the rectification must be recorded anew */
  /* confirm / dismiss of a report in 审核中 */
  int review, dismissed;
  int has_cost;
  double cost;
  int mgmt_class, occurrence_link; /* national managementClassification 1..3, occurrenceLink 1..10; 0 none */
  int64_t deadline_ms, closed_ms;
  /* an inspection record; with report set, its check_status 1 opens the hazard */
  int64_t task_id;
  int check_status;
  const char *note;
  void *told;                /* what the change means to people (ledger_events.h), written with it */
  struct ledger *ledger;
  char notice[NOTICE_NUMBER_MAX]; /* an assignment's rectification notice (notice.h) */
  char *items;               /* a plan task's checklist results (JSON, owned) */
};

static const char *const ledger_api__sql_insert =
  "INSERT INTO hazards (id, code, danger_level, danger_src, danger_manage_type, hazard_danger_type,"
  " danger_state, description, reason, liable_person, deadline_ms, reporter, hazard_source, unit, event,"
  " measure, occurrences, created_ms, updated_ms, management_classification, occurrence_link)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?17, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 1, ?16, ?16, ?18, ?19)";
static const char *const ledger_api__sql_update =
  "UPDATE hazards SET danger_state = ?2, rectify_measures = COALESCE(?3, rectify_measures),"
  " cost = COALESCE(?4, cost), rectifier = CASE WHEN ?14 THEN NULL ELSE COALESCE(?5, rectifier) END,"
  " assignee = COALESCE(?15, assignee), liable_person = COALESCE(?6, liable_person),"
  " deadline_ms = COALESCE(?7, deadline_ms),"
  " overdue_ms = CASE WHEN ?7 IS NOT NULL AND ?7 > ?12 THEN NULL ELSE overdue_ms END,"
  " contingency_plan = COALESCE(?8, contingency_plan), verifier = COALESCE(?9, verifier),"
  " verify_comment = COALESCE(?10, verify_comment), closed_ms = ?11, updated_ms = ?12,"
  " management_classification = COALESCE(?16, management_classification),"
  " occurrence_link = COALESCE(?17, occurrence_link)"
  " WHERE id = ?1 AND danger_state = ?13";
static const char *const ledger_api__sql_review =
  "UPDATE hazards SET danger_state = ?2, dismissed = ?3, reviewer = ?4, review_comment = ?5, reviewed_ms = ?6,"
  " closed_ms = CASE WHEN ?3 THEN ?6 ELSE closed_ms END, updated_ms = ?6"
  " WHERE id = ?1 AND danger_state = -1 AND dismissed = 0";
static const char *const ledger_api__sql_journal =
  "INSERT INTO hazard_journal (hazard_id, ts_ms, actor, action, from_state, to_state, comment)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

static int ledger_api__insert(struct store_conn *c, const struct ledger_api__job *j)
{
  sqlite3_stmt *st = store_stmt(c, ledger_api__sql_insert);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, j->id);
  store_bind_text(st, 2, j->code);
  sqlite3_bind_int(st, 3, j->danger_level);
  sqlite3_bind_int(st, 4, j->danger_src);
  sqlite3_bind_int(st, 5, j->manage_type);
  sqlite3_bind_int(st, 6, j->danger_type);
  store_bind_text(st, 7, j->description);
  store_bind_text(st, 8, j->reason);
  store_bind_text(st, 9, j->liable);
  store_bind_ms(st, 10, j->deadline_ms);
  store_bind_text(st, 11, j->actor);
  store_bind_text(st, 12, j->source);
  store_bind_text(st, 13, j->unit);
  store_bind_text(st, 14, j->event);
  store_bind_text(st, 15, j->measure);
  sqlite3_bind_int64(st, 16, j->now_ms);
  sqlite3_bind_int(st, 17, j->to);
  if (j->mgmt_class) sqlite3_bind_int(st, 18, j->mgmt_class);
  if (j->occurrence_link) sqlite3_bind_int(st, 19, j->occurrence_link);
  return store_step_done(st);
}

static int ledger_api__review(struct store_conn *c, const struct ledger_api__job *j)
{
  sqlite3_stmt *st = store_stmt(c, ledger_api__sql_review);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, j->id);
  sqlite3_bind_int(st, 2, j->to);
  sqlite3_bind_int(st, 3, j->dismissed);
  store_bind_text(st, 4, j->actor);
  store_bind_text(st, 5, j->comment);
  sqlite3_bind_int64(st, 6, j->now_ms);
  int rc = store_step_done(st);
  if (rc == SQLITE_OK && sqlite3_changes(store_conn_db(c)) != 1) rc = -ESTALE; /* reviewed meanwhile */
  return rc;
}

static int ledger_api__update(struct store_conn *c, const struct ledger_api__job *j)
{
  sqlite3_stmt *st = store_stmt(c, ledger_api__sql_update);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, j->id);
  sqlite3_bind_int(st, 2, j->to);
  store_bind_text(st, 3, j->measures);
  if (j->has_cost) sqlite3_bind_double(st, 4, j->cost);
  store_bind_text(st, 5, j->rectifier);
  store_bind_text(st, 6, j->liable);
  store_bind_ms(st, 7, j->deadline_ms);
  store_bind_text(st, 8, j->plan);
  store_bind_text(st, 9, j->verifier);
  store_bind_text(st, 10, j->verify_comment);
  store_bind_ms(st, 11, j->closed_ms);
  sqlite3_bind_int64(st, 12, j->now_ms);
  sqlite3_bind_int(st, 13, j->from);
  sqlite3_bind_int(st, 14, j->clear_rectifier);
  store_bind_text(st, 15, j->assignee);
  if (j->mgmt_class) sqlite3_bind_int(st, 16, j->mgmt_class);
  if (j->occurrence_link) sqlite3_bind_int(st, 17, j->occurrence_link);
  int rc = store_step_done(st);
  if (rc == SQLITE_OK && sqlite3_changes(store_conn_db(c)) != 1) rc = -ESTALE; /* state moved */
  return rc;
}

static const char *const ledger_api__sql_task_done =
  "UPDATE inspection_tasks SET check_status = ?2, checker = ?3, checked_ms = ?4, note = ?5, hazard_id = ?6,"
  " evidence = 'person', items = ?7 WHERE id = ?1 AND check_status IS NULL";

static int ledger_api__task_done(struct store_conn *c, const struct ledger_api__job *j)
{
  sqlite3_stmt *st = store_stmt(c, ledger_api__sql_task_done);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, j->task_id);
  sqlite3_bind_int(st, 2, j->check_status);
  store_bind_text(st, 3, j->actor);
  sqlite3_bind_int64(st, 4, j->now_ms);
  store_bind_text(st, 5, j->note);
  if (j->report) sqlite3_bind_int64(st, 6, j->id);
  store_bind_text(st, 7, j->items);
  int rc = store_step_done(st);
  if (rc == SQLITE_OK && sqlite3_changes(store_conn_db(c)) != 1) rc = -ESTALE; /* completed meanwhile */
  return rc;
}

static int ledger_api__job_work(struct store_conn *c, void *arg)
{
  struct ledger_api__job *j = arg;
  int rc;
  if (j->task_id && (rc = ledger_api__task_done(c, j)) != SQLITE_OK) return rc;
  if (j->task_id && !j->report) return SQLITE_OK;
  rc = j->report ? ledger_api__insert(c, j) : j->review ? ledger_api__review(c, j) : ledger_api__update(c, j);
  if (rc == SQLITE_OK && j->assignee) rc = notice_issue(c, j->id, j->assignee, j->actor, j->now_ms, j->notice,
                                                        sizeof j->notice);
  if (rc != SQLITE_OK) return rc;
  sqlite3_stmt *st = store_stmt(c, ledger_api__sql_journal);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, j->id);
  sqlite3_bind_int64(st, 2, j->now_ms);
  store_bind_text(st, 3, j->actor);
  store_bind_text(st, 4, j->action);
  if (j->report) sqlite3_bind_null(st, 5);
  else sqlite3_bind_int(st, 5, j->from);
  sqlite3_bind_int(st, 6, j->to);
  store_bind_text(st, 7, j->comment);
  rc = store_step_done(st);
  return rc == SQLITE_OK ? ledger_event_write(j->ledger, c, j->told) : rc;
}

/* A committed hazard transition or inspection result on the live stream. */
static void ledger_api__publish(struct api_ctx *ctx, const struct ledger_api__job *j)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", (double)j->id);
  if (j->code) cJSON_AddStringToObject(o, "code", j->code);
  if (j->action) cJSON_AddStringToObject(o, "action", j->action);
  cJSON_AddNumberToObject(o, "danger_state", j->to);
  cJSON_AddBoolToObject(o, "dismissed", j->dismissed);
  if (j->task_id) cJSON_AddNumberToObject(o, "task_id", (double)j->task_id);
  events_publish(ctx->engine->events, "hazard", o);
}

struct ledger_api__row {
  struct hazard_facts f;
  char *code, *liable, *measures, *plan, *rectifier, *reporter, *assignee, *unit, *measure, *description;
};

/* An operator's write in flight: its job and everything the job points into, kept until the
 * answer. The loop does not wait for the commit: the answer follows it (api_lane_write). */
struct ledger_api__op {
  struct api_ctx *ctx;
  struct ledger_api__job j;
  struct ledger_api__row row;
  cJSON *body;
  char code[64], desc[1024];
  void (*committed)(struct ledger_api__op *op, struct http_response *resp); /* the handler's answer */
};

static void ledger_api__row_free(struct ledger_api__row *r);

static struct ledger_api__op *ledger_api__op_new(struct api_ctx *ctx, struct http_response *resp)
{
  struct ledger_api__op *op = api_calloc(sizeof *op, resp);
  if (op) op->ctx = ctx;
  return op;
}

static void ledger_api__op_free(struct ledger_api__op *op)
{
  if (!op) return;
  ledger_api__row_free(&op->row);
  free(op->j.items);
  cJSON_Delete(op->body);
  free(op);
}

static int ledger_api__op_work(struct store_conn *c, void *arg)
{
  return ledger_api__job_work(c, &((struct ledger_api__op *)arg)->j);
}

/* Loop thread, once the job is committed (or could not be): publishes and answers, or answers
 * 409/500/503; frees the operation. */
static void ledger_api__written(void *arg, int rc, struct http_response *resp)
{
  struct ledger_api__op *op = arg;
  struct ledger_api__job *j = &op->j;
  ledger_event_end(j->ledger, j->told, rc);
  j->told = NULL;
  if (rc == 0) {
    ledger_api__publish(op->ctx, j);
    op->committed(op, resp);
  } else if (rc == -ESHUTDOWN) {
    api_error(resp, 503, "database unavailable");
  } else if (rc == -ESTALE) {
    DG_INFO("ledger", "hazard %lld / task %lld %s by %s refused: it moved meanwhile", (long long)j->id,
            (long long)j->task_id, j->action, j->actor);
    if (j->task_id) api_error(resp, 409, "inspection task %lld completed meanwhile", (long long)j->task_id);
    else api_error(resp, 409, "hazard %lld changed meanwhile; %s not applied", (long long)j->id, j->action);
  } else {
    DG_WARN("ledger", "hazard %lld / task %lld %s not committed (rc %d)", (long long)j->id, (long long)j->task_id,
            j->action, rc);
    api_error(resp, 500, "%s not committed (database error)", j->action);
  }
  ledger_api__op_free(op);
}

/* Commits the operation's job with the request's body kept for it; `committed` answers after
 * the commit. The operation belongs to the commit from here on. */
static void ledger_api__commit(struct ledger_api__op *op, struct ledger_api__in *in, const struct http_request *req,
                               struct http_response *resp,
                               void (*committed)(struct ledger_api__op *op, struct http_response *resp))
{
  op->body = in->body;
  in->body = NULL;
  op->j.ledger = op->ctx->engine->ledger;
  op->committed = committed;
  api_lane_write(op->ctx->store, req, resp, true, ledger_api__op_work, ledger_api__written, op);
}

static void ledger_api__answer(struct http_response *resp, int status, const struct ledger_api__job *j)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", (double)j->id);
  cJSON_AddStringToObject(o, "code", j->code);
  cJSON_AddStringToObject(o, "action", j->action);
  cJSON_AddNumberToObject(o, "danger_state", j->to);
  cJSON_AddStringToObject(o, "danger_state_zh", ledger_api__state_zh(j->to, j->dismissed));
  cJSON_AddBoolToObject(o, "dismissed", j->dismissed);
  if (j->notice[0]) cJSON_AddStringToObject(o, "notice", j->notice);
  api_reply(resp, status, o);
}

/* ---- POST /api/v1/hazards: manual report ---------------------------------------------------- */

/* Links the report to the plant model: a measure gives its event, unit and source; a unit alone
 * gives its source. */
static void ledger_api__link(struct ledger_api__in *in, struct ledger_api__job *j)
{
  const char *mid = ledger_api__str(in, "measure", 0), *uid = ledger_api__str(in, "unit", 0);
  const struct dg_measure *m = mid ? dg_config_measure(in->cfg, mid) : NULL;
  const struct dg_unit *u = uid ? dg_config_unit(in->cfg, uid) : NULL;
  if (mid && !m) ledger_api__bad(in, "measure", "not a configured measure id");
  if (uid && !u) ledger_api__bad(in, "unit", "not a configured risk unit id");
  if (m && u && m->event->unit != u) ledger_api__bad(in, "unit", "does not hold the given measure");
  if (!mid && !uid && in->cfg->national)
    ledger_api__bad(in, "unit", "required (or measure): the national upload names each hazard's hazard source");
  if (in->failed) return;
  if (m) {
    j->measure = m->id;
    j->event = m->event->id;
    u = m->event->unit;
  }
  if (u) {
    j->unit = u->id;
    j->source = u->source ? u->source->id : NULL;
    j->liable = u->person;
  }
}

/* A hazard registered straight into 整改中 (not a report awaiting review) is announced. */
static void ledger_api__tell_opened(struct api_ctx *ctx, struct ledger_api__job *j)
{
  if (j->to != HAZARD_RECTIFYING) return;
  struct ledger_event ev = {.kind = LEDGER_EV_HAZARD_OPENED, .ts_ms = j->now_ms, .hazard_id = j->id, .code = j->code,
                            .danger_level = j->danger_level, .state = j->to, .deadline_ms = j->deadline_ms,
                            .description = j->description, .unit = j->unit, .measure = j->measure, .liable = j->liable};
  j->told = ledger_event_begin(ctx->engine->ledger, &ev, NULL);
}

/* 人物管理分类 and 发生环节 of the national hazard record (optional). */
static void ledger_api__national_class(struct ledger_api__in *in, struct ledger_api__job *j)
{
  j->mgmt_class = ledger_api__int(in, "management_classification", 1, 3, 0);
  j->occurrence_link = ledger_api__int(in, "occurrence_link", 1, 10, 0);
}

static void ledger_api__reported(struct ledger_api__op *op, struct http_response *resp)
{
  struct ledger_api__job *j = &op->j;
  ledger_touch(op->ctx->engine->ledger);
  DG_INFO("ledger", "hazard %s reported by %s%s", j->code, j->actor, j->to == HAZARD_REVIEWING ? ", awaiting confirmation" : "");
  ledger_api__answer(resp, 201, j);
}

static void ledger_api__report(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_config *cfg = ctx->engine->cfg;
  struct ledger_api__in in = {.cfg = cfg, .resp = resp};
  struct ledger_api__op *op = ledger_api__op_new(ctx, resp);
  if (!op) return;
  struct ledger_api__job *j = &op->j;
  *j = (struct ledger_api__job){.report = 1, .action = "report", .now_ms = dg_wall_ms()};
  if (ledger_api__parse(&in, req)) goto out;
  j->actor = ledger_api__actor(ctx, req, &in, HAZARD_RIGHT_REPORT, NULL);
  j->description = ledger_api__str(&in, "description", 1);
  j->reason = ledger_api__str(&in, "reason", 0);
  j->danger_level = ledger_api__int(&in, "danger_level", 0, 1, 0);
  j->danger_src = ledger_api__int(&in, "danger_src", 1, LEDGER_API_SRC_MAX, 0);
  if (!in.failed && !j->danger_src) ledger_api__bad(&in, "danger_src", "required (1..10)");
  if (j->danger_src == HAZARD_SRC_MEASURE_FAILED)
    ledger_api__bad(&in, "danger_src", "9 (管控措施失效) is registered by the monitoring itself");
  j->manage_type = ledger_api__int(&in, "danger_manage_type", 0, 1, 1);
  j->danger_type = ledger_api__int(&in, "hazard_danger_type", 1, LEDGER_API_DANGER_TYPE_MAX, 1);
  ledger_api__national_class(&in, j);
  ledger_api__link(&in, j);
  const char *liable = ledger_api__person(&in, "liable_person", 0);
  if (liable) j->liable = liable;
  j->deadline_ms = ledger_api__ms(&in, "deadline_ms");
  if (!j->deadline_ms) j->deadline_ms = j->now_ms + (int64_t)cfg->hazard_deadline_days * 86400000;
  j->comment = j->reason;
  if (in.failed) goto out;
  j->to = hazard_flow_initial_state(cfg->review_reports, 1, j->danger_src);
  j->id = ledger_alloc_hazard(ctx->engine->ledger, j->now_ms, op->code, sizeof op->code);
  j->code = op->code;
  ledger_api__tell_opened(ctx, j);
  ledger_api__commit(op, &in, req, resp, ledger_api__reported);
  return;
out:
  ledger_api__op_free(op);
  cJSON_Delete(in.body);
}

/* ---- POST /api/v1/hazards/{id}/{action} ----------------------------------------------------- */

static const char *const ledger_api__sql_facts =
  "SELECT danger_state, danger_level, liable_person, rectify_measures, cost, deadline_ms, contingency_plan,"
  " rectifier, code, reporter, dismissed, assignee, unit, measure, description,"
  " EXISTS (SELECT 1 FROM expert_reviews r WHERE r.hazard_id = hazards.id AND r.conclusion = 1)"
  " FROM hazards WHERE id = ?1";

static char *ledger_api__col(sqlite3_stmt *st, int i)
{
  const unsigned char *s = sqlite3_column_text(st, i);
  return s ? strdup((const char *)s) : NULL;
}

/* 1 found, 0 no such hazard, negative on a database error. */
static int ledger_api__load(struct api_ctx *ctx, int64_t id, struct ledger_api__row *r)
{
  sqlite3_stmt *st = store_stmt(store_reader(ctx->store), ledger_api__sql_facts);
  if (!st) return -EIO;
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    r->f.state = sqlite3_column_int(st, 0);
    r->f.danger_level = sqlite3_column_int(st, 1);
    r->f.liable_person = r->liable = ledger_api__col(st, 2);
    r->f.rectify_measures = r->measures = ledger_api__col(st, 3);
    r->f.has_cost = sqlite3_column_type(st, 4) != SQLITE_NULL;
    r->f.deadline_ms = sqlite3_column_int64(st, 5);
    r->f.contingency_plan = r->plan = ledger_api__col(st, 6);
    r->f.rectifier = r->rectifier = ledger_api__col(st, 7);
    r->code = ledger_api__col(st, 8);
    r->f.reporter = r->reporter = ledger_api__col(st, 9);
    r->f.dismissed = sqlite3_column_int(st, 10);
    r->f.assignee = r->assignee = ledger_api__col(st, 11);
    r->unit = ledger_api__col(st, 12);
    r->measure = ledger_api__col(st, 13);
    r->description = ledger_api__col(st, 14);
    r->f.expert_approved = sqlite3_column_int(st, 15);
  }
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

static void ledger_api__row_free(struct ledger_api__row *r)
{
  free(r->code);
  free(r->liable);
  free(r->measures);
  free(r->plan);
  free(r->rectifier);
  free(r->reporter);
  free(r->assignee);
  free(r->unit);
  free(r->measure);
  free(r->description);
}

/* What a committed transition means to people: a hazard opened (a report confirmed), submitted
 * for acceptance, or moved on otherwise (ledger_events.h). */
static void ledger_api__tell_moved(struct api_ctx *ctx, struct ledger_api__job *j, const struct ledger_api__row *r,
                                   enum hazard_action a)
{
  struct ledger_event ev = {.kind = LEDGER_EV_HAZARD_MOVED, .ts_ms = j->now_ms, .hazard_id = j->id, .code = r->code,
                            .danger_level = r->f.danger_level, .state = j->to, .deadline_ms = r->f.deadline_ms,
                            .description = r->description, .unit = r->unit, .measure = r->measure,
                            .liable = r->liable, .assignee = r->assignee, .rectifier = r->rectifier};
  if (a == HAZARD_ACT_CONFIRM) ev.kind = LEDGER_EV_HAZARD_OPENED;
  else if (a == HAZARD_ACT_SUBMIT) ev.kind = LEDGER_EV_HAZARD_SUBMITTED;
  else if (j->to == j->from && a != HAZARD_ACT_DISMISS) return; /* rectify, assign: still where it was */
  ev.closed = j->to == HAZARD_ACCEPTED || a == HAZARD_ACT_DISMISS;
  j->told = ledger_event_begin(ctx->engine->ledger, &ev, NULL);
}

/* The person named to rectify: configured and with a role that lets them act on the hazard. */
static const char *ledger_api__assignee(struct ledger_api__in *in, const char *key, int required)
{
  const char *id = ledger_api__person(in, key, required);
  const struct dg_person *p = id ? dg_config_person(in->cfg, id) : NULL;
  if (p && !(hazard_rights(p->roles, p->n_roles) & HAZARD_RIGHT_REPORT)) {
    ledger_api__bad(in, key, "this person has no role that may rectify a hazard");
    return NULL;
  }
  return id;
}

/* rectify: the fields given replace the stored ones and the actor is the rectifier. Naming
 * another person (`rectifier` to rectify, `assignee` to assign) is an assignment instead: the
 * fields are recorded, the assignee must rectify as themselves before the hazard is submitted. */
static void ledger_api__rectify_fields(struct ledger_api__in *in, struct ledger_api__job *j, enum hazard_action *a)
{
  j->measures = ledger_api__str(in, "rectify_measures", 0);
  j->has_cost = ledger_api__amount(in, "cost", &j->cost);
  const char *named = ledger_api__assignee(in, *a == HAZARD_ACT_ASSIGN ? "assignee" : "rectifier",
                                           *a == HAZARD_ACT_ASSIGN);
  if (named && j->actor && strcmp(named, j->actor) != 0) *a = HAZARD_ACT_ASSIGN;
  if (*a == HAZARD_ACT_ASSIGN) {
    j->assignee = named;
    j->clear_rectifier = 1;
  } else {
    j->rectifier = j->actor;
  }
  j->action = hazard_action_name(*a);
  j->liable = ledger_api__person(in, "liable_person", 0);
  j->deadline_ms = ledger_api__ms(in, "deadline_ms");
  j->plan = ledger_api__str(in, "contingency_plan", 0);
  j->comment = ledger_api__str(in, "comment", 0);
}

static void ledger_api__action_fields(struct ledger_api__in *in, struct ledger_api__job *j, enum hazard_action *ap)
{
  enum hazard_action a = *ap;
  if (a != HAZARD_ACT_CONFIRM && a != HAZARD_ACT_DISMISS) ledger_api__national_class(in, j); /* a fix for the platform */
  switch (a) {
  case HAZARD_ACT_ASSIGN:
  case HAZARD_ACT_RECTIFY: ledger_api__rectify_fields(in, j, ap); break;
  case HAZARD_ACT_SUBMIT: j->comment = ledger_api__str(in, "comment", 0); break;
  case HAZARD_ACT_VERIFY:
    j->verifier = j->actor;
    j->verify_comment = j->comment = ledger_api__str(in, "comment", 0);
    j->closed_ms = j->now_ms;
    break;
  case HAZARD_ACT_REJECT:
    j->verifier = j->actor;
    j->verify_comment = j->comment = ledger_api__str(in, "comment", 1);
    break;
  case HAZARD_ACT_CONFIRM:
    j->review = 1;
    j->comment = ledger_api__str(in, "comment", 0);
    break;
  case HAZARD_ACT_DISMISS:
    j->review = j->dismissed = 1;
    j->comment = ledger_api__str(in, "comment", 1); /* why it is not a hazard */
    break;
  }
}

static int ledger_api__path(const char *path, int64_t *id, enum hazard_action *a)
{
  long long v;
  char tail[16];
  int n = 0;
  if (sscanf(path, "/api/v1/hazards/%lld/%15[a-z]%n", &v, tail, &n) != 2 || path[n] || v <= 0) return -ENOENT;
  int act = hazard_action_parse(tail);
  if (act < 0) return -ENOENT;
  *id = v;
  *a = (enum hazard_action)act;
  return 0;
}

static void ledger_api__moved(struct ledger_api__op *op, struct http_response *resp)
{
  struct ledger_api__job *j = &op->j;
  if (j->to == HAZARD_ACCEPTED) ledger_forget(op->ctx->engine->ledger, j->id);
  ledger_touch(op->ctx->engine->ledger);
  DG_INFO("ledger", "hazard %s %s by %s: %d → %d", j->code, j->action, j->actor, j->from, j->to);
  ledger_api__answer(resp, 200, j);
}

/* The hazard is read as the reader sees it now, without waiting for jobs still queued: the
 * update applies only if the state is still the one read (-ESTALE: 409 "changed meanwhile"). */
static void ledger_api__transition(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct ledger_api__in in = {.cfg = ctx->engine->cfg, .resp = resp};
  enum hazard_action a;
  char why[256];
  if (attach_api_upload(ctx, req, resp)) return;
  struct ledger_api__op *op = ledger_api__op_new(ctx, resp);
  if (!op) return;
  struct ledger_api__job *j = &op->j;
  j->now_ms = dg_wall_ms();
  if (ledger_api__path(req->path, &j->id, &a)) {
    api_error(resp, 404, "not found: POST /api/v1/hazards/{id}/rectify|assign|submit|verify|reject|confirm|dismiss|photos");
    goto out;
  }
  j->action = hazard_action_name(a);
  unsigned rights;
  if (ledger_api__parse(&in, req)) goto out;
  j->actor = ledger_api__actor(ctx, req, &in, HAZARD_RIGHT_REPORT, &rights);
  if (!in.failed) ledger_api__action_fields(&in, j, &a);
  if (in.failed) goto out;
  int found = ledger_api__load(ctx, j->id, &op->row);
  if (found <= 0) {
    api_error(resp, found ? 500 : 404, found ? "database error" : "no such hazard");
    goto out;
  }
  j->code = op->row.code;
  j->from = op->row.f.state;
  if (hazard_flow_check(&op->row.f, a, j->actor, &j->to, why, sizeof why)) {
    api_error(resp, 409, "%s", why);
    goto out;
  }
  if (hazard_flow_may(&op->row.f, a, j->actor, rights, why, sizeof why)) {
    api_error(resp, 403, "%s", why);
    goto out;
  }
  ledger_api__tell_moved(ctx, j, &op->row, a);
  ledger_api__commit(op, &in, req, resp, ledger_api__moved);
  return;
out:
  ledger_api__op_free(op);
  cJSON_Delete(in.body);
}

/* ---- inspection tasks ------------------------------------------------------------------------- */

#define INSPECTION_COLS                                                                             \
  "SELECT id, measure, event, unit, hazard_source, check_cycle, check_cycle_unit, start_ms, due_ms,"   \
  " check_status, checker, checked_ms, note, hazard_id, data_src, evidence, assigned_posts, assigned_person,"   \
  " assigned_by, assigned_ms, plan, items FROM inspection_tasks"

/* The column of due_ms in INSPECTION_COLS (the paging key with id, after ?4 and ?5). */
#define LEDGER_API_TASK_DUE_COL 8
static const char *const ledger_api__sql_tasks =
  INSPECTION_COLS " WHERE (?1 = 0 OR (?1 = 1 AND check_status IS NULL) OR (?1 = 2 AND check_status IS NOT NULL))"
  " AND due_ms <= ?2 AND (due_ms > ?4 OR (due_ms = ?4 AND id > ?5)) ORDER BY due_ms, id LIMIT ?3";
/* ?mine=1: the tasks whose period overlaps the day [?2, ?3) */
static const char *const ledger_api__sql_tasks_day =
  INSPECTION_COLS " WHERE (?1 = 0 OR (?1 = 1 AND check_status IS NULL) OR (?1 = 2 AND check_status IS NOT NULL))"
  " AND start_ms < ?3 AND due_ms > ?2 AND (due_ms > ?4 OR (due_ms = ?4 AND id > ?5)) ORDER BY due_ms, id";
static const char *const ledger_api__sql_task =
  "SELECT measure, check_status, start_ms, assigned_posts, assigned_person, assigned_by, assigned_ms, plan"
  " FROM inspection_tasks"
  " WHERE id = ?1";

static cJSON *ledger_api__task_json(sqlite3_stmt *st)
{
  static const char *const keys[] = {"id", "measure", "event", "unit", "hazard_source", "check_cycle",
                                     "check_cycle_unit", "start_ms", "due_ms", "check_status", "checker",
                                     "checked_ms", "note", "hazard_id", "data_src", "evidence"};
  static const char *const status_zh[] = {"正常", "存在隐患", "未排查", "其他"};
  static const char *const status_en[] = {"normal", "hazard found", "not inspected", "other"};
  cJSON *o = cJSON_CreateObject();
  for (int i = 0; i < (int)(sizeof keys / sizeof keys[0]); i++) {
    int t = sqlite3_column_type(st, i);
    if (t == SQLITE_NULL) cJSON_AddNullToObject(o, keys[i]);
    else if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) cJSON_AddNumberToObject(o, keys[i], sqlite3_column_double(st, i));
    else cJSON_AddStringToObject(o, keys[i], (const char *)sqlite3_column_text(st, i));
  }
  int done = sqlite3_column_type(st, 9) != SQLITE_NULL;
  int status = sqlite3_column_int(st, 9);
  api_json_text(o, "check_status_zh", done && status >= 0 && status <= 3 ? status_zh[status] : NULL);
  api_json_text(o, "check_status_en", done && status >= 0 && status <= 3 ? status_en[status] : NULL);
  int src = sqlite3_column_int(st, 14);
  api_json_text(o, "data_src_zh", src == 1 ? "自动化监控" : src == 2 ? "隐患排查" : NULL);
  api_json_text(o, "data_src_en", src == 1 ? "automated monitoring" : src == 2 ? "inspection" : NULL);
  const char *ev = (const char *)sqlite3_column_text(st, 15);
  api_json_text(o, "evidence_zh", !ev ? NULL : !strcmp(ev, "monitoring") ? "自动化监控判定"
                                  : !strcmp(ev, "person") ? "人工排查" : "系统判定");
  return o;
}

#define LEDGER_API_COL_POSTS 16 /* assigned_posts, assigned_person, assigned_by, assigned_ms, plan, items */

static const char *ledger_api__text(sqlite3_stmt *st, int i) { return (const char *)sqlite3_column_text(st, i); }

/* The stored assignment of the task row at st (api_tasks.h). */
static void ledger_api__task_assignee(const struct dg_config *cfg, sqlite3_stmt *st, int measure_col, int posts_col,
                                      struct task_assignee *a)
{
  struct api_task_row r = {ledger_api__text(st, measure_col), ledger_api__text(st, posts_col),
                           ledger_api__text(st, posts_col + 1), ledger_api__text(st, posts_col + 2),
                           ledger_api__text(st, posts_col + 4)};
  api_task_assignment(cfg, &r, a);
}

/* The statement of a task list: every task due by ?due, or with ?mine=1 today's tasks (the local
 * day's) of the caller; NULL (answered) on a bad query. */
static sqlite3_stmt *ledger_api__tasks_stmt(struct api_ctx *ctx, const struct http_request *req, int which,
                                            const int64_t *after, const struct dg_person **mine,
                                            struct http_response *resp)
{
  char mine_q[8];
  int64_t due_ms = INT64_MAX;
  if (api_query_text(req, "mine", mine_q, sizeof mine_q, resp) < 0 || api_query_ms(req, "due", 1, &due_ms, resp) < 0)
    return NULL;
  *mine = NULL;
  if (mine_q[0] && strcmp(mine_q, "0") && !(*mine = api_caller(ctx, req))) {
    api_error(resp, 401, "mine=1: a valid 'Authorization: Bearer <token>' is required");
    return NULL;
  }
  sqlite3_stmt *st = store_stmt(store_reader(ctx->store), *mine ? ledger_api__sql_tasks_day : ledger_api__sql_tasks);
  if (!st) {
    api_error(resp, 500, "database error");
    return NULL;
  }
  sqlite3_bind_int(st, 1, which);
  sqlite3_bind_int64(st, 4, after[0]);
  sqlite3_bind_int64(st, 5, after[1]);
  if (*mine) {
    int64_t day = inspect_day_start(dg_wall_ms());
    sqlite3_bind_int64(st, 2, day);
    sqlite3_bind_int64(st, 3, inspect_add(day, (struct inspect_cycle){1, INSPECT_DAY}, 1));
  } else {
    sqlite3_bind_int64(st, 2, due_ms);
  }
  return st;
}

/* GET /api/v1/inspections?status=pending|done|all&due=<epoch ms>&mine=1&limit= */
static void ledger_api__inspections(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_config *cfg = ctx->engine->cfg;
  const struct dg_person *mine;
  char status[16];
  int64_t after[2] = {INT64_MIN, 0};
  int lim = api_query_limit(req, 200);
  if (api_query_text(req, "status", status, sizeof status, resp) < 0 || api_query_cursor(req, after, 2, resp) < 0)
    return;
  int which = !status[0] || strcmp(status, "pending") == 0 ? 1 : strcmp(status, "done") == 0 ? 2
            : strcmp(status, "all") == 0 ? 0 : -1;
  if (which < 0) {
    api_error(resp, 400, "status: expected pending, done or all");
    return;
  }
  sqlite3_stmt *st = ledger_api__tasks_stmt(ctx, req, which, after, &mine, resp);
  if (!st) return;
  if (!mine) sqlite3_bind_int(st, 3, lim);
  cJSON *arr = cJSON_CreateArray();
  int n = 0;
  while (n < lim && sqlite3_step(st) == SQLITE_ROW) {
    struct task_assignee a;
    ledger_api__task_assignee(cfg, st, 1, LEDGER_API_COL_POSTS, &a);
    if (mine && !task_assign_is_mine(&a, mine) && !task_assign_is_deputy_of(cfg, mine, a.person)) continue;
    cJSON *t = ledger_api__task_json(st);
    cJSON_AddItemToObject(t, "assigned", api_task_assigned_json(&a, ledger_api__text(st, LEDGER_API_COL_POSTS + 2),
                                                                sqlite3_column_int64(st, LEDGER_API_COL_POSTS + 3)));
    const char *plan = ledger_api__text(st, LEDGER_API_COL_POSTS + 4);
    if (plan) {
      cJSON_ReplaceItemInObjectCaseSensitive(t, "measure", cJSON_CreateNull());
      cJSON_AddItemToObject(t, "plan", api_task_plan_json(cfg, plan, ledger_api__text(st, LEDGER_API_COL_POSTS + 5)));
    } else {
      cJSON_AddNullToObject(t, "plan");
    }
    cJSON_AddItemToObject(t, "attachments", attach_api_list(store_reader(ctx->store), 0, sqlite3_column_int64(st, 0)));
    cJSON_AddItemToArray(arr, t);
    after[0] = sqlite3_column_int64(st, LEDGER_API_TASK_DUE_COL);
    after[1] = sqlite3_column_int64(st, 0);
    n++;
  }
  sqlite3_reset(st);
  cJSON *root = cJSON_CreateObject();
  cJSON_AddItemToObject(root, "inspections", arr);
  api_next_cursor(root, after, 2, n, lim);
  api_reply(resp, 200, root);
}

/* 1 found (measure copied into out, *status -1 while pending, the stored assignment in *a, the
 * plan's id in plan or ""), 0 none, negative on error. */
static int ledger_api__load_task(struct api_ctx *ctx, int64_t id, char *measure, size_t len, int *status,
                                 int64_t *start_ms, struct task_assignee *a, char *plan, size_t plan_len)
{
  sqlite3_stmt *st = store_stmt(store_reader(ctx->store), ledger_api__sql_task);
  if (!st) return -EIO;
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    snprintf(measure, len, "%s", (const char *)sqlite3_column_text(st, 0));
    *status = sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 1);
    *start_ms = sqlite3_column_int64(st, 2);
    ledger_api__task_assignee(ctx->engine->cfg, st, 0, 3, a);
    snprintf(plan, plan_len, "%s", sqlite3_column_type(st, 7) == SQLITE_NULL ? "" : ledger_api__text(st, 7));
  }
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

/* checkStatus 1 (存在隐患): the record opens a hazard (dangerSrc 1 日常排查) on the task's measure. */
static void ledger_api__inspection_hazard(struct api_ctx *ctx, struct ledger_api__in *in, struct ledger_api__job *j,
                                          const char *measure, char *desc, size_t len)
{
  const struct dg_config *cfg = ctx->engine->cfg;
  const struct dg_measure *m = dg_config_measure(cfg, measure);
  j->report = 1;
  j->action = "report";
  j->to = HAZARD_RECTIFYING;
  j->danger_src = 1;
  j->manage_type = ledger_api__int(in, "danger_manage_type", 0, 1, 1);
  j->danger_type = ledger_api__int(in, "hazard_danger_type", 1, LEDGER_API_DANGER_TYPE_MAX, 1);
  j->danger_level = ledger_api__int(in, "danger_level", 0, 1, 0);
  ledger_api__national_class(in, j);
  snprintf(desc, len, "排查发现隐患：%s%s%s", m && m->desc ? m->desc : measure, j->note ? "。" : "",
           j->note ? j->note : "");
  j->description = desc;
  j->reason = j->comment = "隐患排查记录 checkStatus = 1 (存在隐患)";
  j->measure = m ? m->id : NULL;
  j->event = m ? m->event->id : NULL;
  const struct dg_unit *u = m ? m->event->unit : NULL;
  j->unit = u ? u->id : NULL;
  j->source = u && u->source ? u->source->id : NULL;
  j->liable = u ? u->person : NULL;
  j->deadline_ms = ledger_api__ms(in, "deadline_ms");
  if (!j->deadline_ms) j->deadline_ms = j->now_ms + (int64_t)cfg->hazard_deadline_days * 86400000;
}

/* A plan task's finding: the hazard goes to the plan's unit, described by the failed items. */
static void ledger_api__plan_hazard(struct api_ctx *ctx, struct ledger_api__job *j, const struct dg_plan *p,
                                    const char *findings, char *desc, size_t len)
{
  snprintf(desc, len, "%s发现隐患：%s", p->name ? p->name : p->id, findings);
  j->description = desc;
  j->reason = j->comment = "计划排查检查表 存在隐患 (plan checklist item found a hazard)";
  j->measure = j->event = NULL;
  j->unit = p->unit ? p->unit->id : NULL;
  j->source = p->unit && p->unit->source ? p->unit->source->id : NULL;
  j->liable = p->unit ? p->unit->person : NULL;
  (void)ctx;
}

static void ledger_api__complete_answer(struct http_response *resp, const struct ledger_api__job *j)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", (double)j->task_id);
  cJSON_AddNumberToObject(o, "check_status", j->check_status);
  if (j->report) {
    cJSON *h = cJSON_AddObjectToObject(o, "hazard");
    cJSON_AddNumberToObject(h, "id", (double)j->id);
    cJSON_AddStringToObject(h, "code", j->code);
  } else {
    cJSON_AddNullToObject(o, "hazard");
  }
  api_reply(resp, 200, o);
}

static void ledger_api__completed(struct ledger_api__op *op, struct http_response *resp)
{
  struct ledger_api__job *j = &op->j;
  if (j->report) ledger_touch(op->ctx->engine->ledger);
  DG_INFO("ledger", "inspection task %lld completed by %s: check_status %d", (long long)j->task_id, j->actor,
          j->check_status);
  ledger_api__complete_answer(resp, j);
}

/* POST /api/v1/inspections/{id}/complete: actor, check_status 0..3, optional note. The task is
 * read as the reader sees it now: the result is recorded only if the task is still open
 * (-ESTALE: 409 "completed meanwhile"). */
static void ledger_api__complete(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct ledger_api__in in = {.cfg = ctx->engine->cfg, .resp = resp};
  char measure[128], plan_id[128], findings[768];
  long long id;
  int n = 0, status;
  int64_t start_ms;
  struct task_assignee a;
  if (attach_api_upload(ctx, req, resp)) return;
  if (sscanf(req->path, "/api/v1/inspections/%lld/complete%n", &id, &n) != 1 || req->path[n] || id <= 0) {
    api_error(resp, 404, "not found: POST /api/v1/inspections/{id}/complete|photos");
    return;
  }
  struct ledger_api__op *op = ledger_api__op_new(ctx, resp);
  if (!op) return;
  struct ledger_api__job *j = &op->j;
  *j = (struct ledger_api__job){.now_ms = dg_wall_ms(), .action = "inspect", .task_id = id};
  if (ledger_api__parse(&in, req)) goto out;
  j->actor = ledger_api__actor(ctx, req, &in, HAZARD_RIGHT_REPORT, NULL);
  j->check_status = ledger_api__int(&in, "check_status", 0, 3, -1);
  j->note = ledger_api__str(&in, "note", 0);
  if (in.failed) goto out;
  int found = ledger_api__load_task(ctx, id, measure, sizeof measure, &status, &start_ms, &a, plan_id, sizeof plan_id);
  if (found <= 0) {
    api_error(resp, found ? 500 : 404, found ? "database error" : "no such inspection task");
    goto out;
  }
  const struct dg_plan *plan = plan_id[0] ? dg_config_plan(ctx->engine->cfg, plan_id) : NULL;
  if (plan && api_task_items(plan, in.body, &j->items, &j->check_status, findings, sizeof findings, resp)) goto out;
  if (j->check_status < 0) {
    ledger_api__bad(&in, "check_status", "required: 0 正常, 1 存在隐患, 2 未排查, 3 其他");
    goto out;
  }
  if (status >= 0) {
    api_error(resp, 409, "inspection task %lld already completed (check_status %d)", id, status);
    goto out;
  }
  if (start_ms > j->now_ms) {
    api_error(resp, 409, "inspection task %lld: its period has not started", id);
    goto out;
  }
  if (api_task_may_complete(ctx->engine->cfg, &a, api_caller(ctx, req), id, resp)) goto out;
  if (j->check_status == 1) ledger_api__inspection_hazard(ctx, &in, j, measure, op->desc, sizeof op->desc);
  if (j->check_status == 1 && plan) ledger_api__plan_hazard(ctx, j, plan, findings, op->desc, sizeof op->desc);
  if (in.failed) goto out;
  if (j->report) {
    j->id = ledger_alloc_hazard(ctx->engine->ledger, j->now_ms, op->code, sizeof op->code);
    j->code = op->code;
    ledger_api__tell_opened(ctx, j);
  }
  ledger_api__commit(op, &in, req, resp, ledger_api__completed);
  return;
out:
  ledger_api__op_free(op);
  cJSON_Delete(in.body);
}

/* ---- GET /api/v1/risk-map -------------------------------------------------------------------- */

static cJSON *ledger_api__level(enum dg_level l)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "level", dg_level_name(l));
  cJSON_AddStringToObject(o, "level_zh", dg_level_name_zh(l));
  return o;
}

static cJSON *ledger_api__raised_by(const struct risk_unit *u)
{
  cJSON *o = cJSON_CreateObject();
  if (u->alarm) {
    const struct alarm *a = u->alarm;
    cJSON *ja = cJSON_AddObjectToObject(o, "alarm");
    cJSON_AddNumberToObject(ja, "id", (double)a->id);
    cJSON_AddStringToObject(ja, "rule", a->rule->id);
    api_json_text(ja, "stage", a->stage >= 0 ? a->rule->stages[a->stage].name : NULL);
    cJSON_AddStringToObject(ja, "priority", dg_priority_name(a->priority));
    cJSON_AddStringToObject(ja, "implies", dg_level_name(u->alarm_level));
  } else {
    cJSON_AddNullToObject(o, "alarm");
  }
  if (u->major_hazard_id) {
    cJSON *jh = cJSON_AddObjectToObject(o, "major_hazard");
    cJSON_AddNumberToObject(jh, "id", (double)u->major_hazard_id);
  } else {
    cJSON_AddNullToObject(o, "major_hazard");
  }
  return o;
}

static cJSON *ledger_api__risk_unit(const struct risk_unit *u)
{
  const struct dg_unit *unit = u->unit;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", unit->id);
  api_json_text(o, "name", unit->name);
  api_json_text(o, "hazard_source", unit->source ? unit->source->id : NULL);
  api_json_text(o, "hazard_source_name", unit->source ? unit->source->name : NULL);
  api_json_text(o, "dept", unit->dept);
  api_json_text(o, "person", unit->person);
  cJSON_AddItemToObject(o, "assessed", ledger_api__level(u->assessed));
  cJSON_AddItemToObject(o, "current", ledger_api__level(u->current));
  cJSON_AddBoolToObject(o, "raised", u->current > u->assessed);
  cJSON_AddStringToObject(o, "cause", risk_cause_name(u->cause));
  cJSON_AddItemToObject(o, "raised_by", ledger_api__raised_by(u));
  return o;
}

static cJSON *ledger_api__counts(const struct risk_unit *u, size_t n, int current)
{
  size_t by[DG_LEVEL_RED + 1] = {0};
  for (size_t i = 0; i < n; i++) by[current ? u[i].current : u[i].assessed]++;
  cJSON *o = cJSON_CreateObject();
  for (int l = DG_LEVEL_RED; l >= DG_LEVEL_BLUE; l--) cJSON_AddNumberToObject(o, dg_level_name(l), (double)by[l]);
  return o;
}

static void ledger_api__risk_map(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct engine *e = ctx->engine;
  struct risk_unit *units;
  size_t n;
  (void)req;
  int rc = risk_evaluate_now(store_reader(ctx->store), e->cfg, e->alarms, &units, &n);
  if (rc) {
    api_error(resp, 500, "%s", rc == -EIO ? "database error" : "out of memory");
    return;
  }
  cJSON *root = cJSON_CreateObject();
  cJSON *site = cJSON_AddObjectToObject(root, "site");
  api_json_text(site, "code", e->cfg->site_code);
  api_json_text(site, "name", e->cfg->site_name);
  cJSON_AddItemToObject(root, "counts", ledger_api__counts(units, n, 1));
  cJSON_AddItemToObject(root, "counts_assessed", ledger_api__counts(units, n, 0));
  cJSON *sources = cJSON_AddArrayToObject(root, "hazard_sources");
  for (size_t i = 0; i < e->cfg->n_sources; i++) cJSON_AddItemToArray(sources, export_hazard_source(&e->cfg->sources[i]));
  cJSON *arr = cJSON_AddArrayToObject(root, "units");
  for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, ledger_api__risk_unit(&units[i]));
  free(units);
  govern_api_risk_map(root, store_reader(ctx->store));
  api_reply(resp, 200, root);
}

static const struct api_route ledger_api__routes[] = {
  {"GET", "/api/v1/risk-map", ledger_api__risk_map, 0, NULL, NULL},
  {"GET", "/api/v1/inspections", ledger_api__inspections, 0, NULL, "status due mine limit cursor"},
  {"POST", "/api/v1/inspections/{id}/complete", ledger_api__complete, 0, NULL, NULL},
  {"POST", "/api/v1/inspections/{id}/photos", ledger_api__complete, 0, NULL, "note"},
  {"POST", "/api/v1/hazards", ledger_api__report, 0, NULL, NULL},
  {"POST", "/api/v1/hazards/{id}/{action}", ledger_api__transition, 0, NULL, NULL},
  {"POST", "/api/v1/hazards/{id}/photos", ledger_api__transition, 0, NULL, "stage note"},
};

struct api_routes ledger_api_routes(void) { return API_ROUTES(ledger_api__routes); }
