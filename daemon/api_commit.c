#include "api_commit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alarm.h"
#include "api_govern.h"
#include "api_lane.h"
#include "api_site_ops.h"
#include "govern.h"
#include "ledger.h"
#include "log.h"
#include "workcal.h"

#define COMMIT_API_DAY_MS 86400000LL
#define COMMIT_API_TASKS_MAX 50

static void commit_api__date(int32_t day, char *out, size_t len)
{
  time_t t = (time_t)((workcal_day_ms(day) + COMMIT_API_DAY_MS / 2) / 1000);
  struct tm tm;
  localtime_r(&t, &tm);
  if (!strftime(out, len, "%Y-%m-%d", &tm) && len) out[0] = '\0';
}

/* ---- the prefilled content ------------------------------------------------------------------- */

struct commit_api__counts {
  int sources, running, shutdown, maintenance;
  int major, general, alarms, overdue, ops, stops;
  int by_type[GOVERN_N_OP_TYPES];
};

static cJSON *commit_api__sources(struct store_conn *c, const struct dg_config *cfg, struct commit_api__counts *n)
{
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < cfg->n_sources; i++) {
    const struct dg_hazard_source *s = &cfg->sources[i];
    if (!s->is_major) continue;
    cJSON *o = site_ops_api_state(c, s->id);
    cJSON_AddStringToObject(o, "id", s->id);
    api_json_text(o, "name", s->name);
    cJSON_AddNumberToObject(o, "major_grade", s->major_grade);
    int st = govern_op_state_parse(cJSON_GetObjectItem(o, "state")->valuestring);
    n->sources++;
    n->running += st == GOVERN_RUNNING;
    n->shutdown += st == GOVERN_SHUTDOWN;
    n->maintenance += st == GOVERN_MAINTENANCE;
    cJSON_AddItemToArray(arr, o);
  }
  return arr;
}

static const char *const commit_api__sql_open =
  "SELECT danger_level, COUNT(*) FROM hazards WHERE danger_state IN (0, 1) AND dismissed = 0 GROUP BY danger_level";

static cJSON *commit_api__hazards(struct store_conn *c, struct commit_api__counts *n)
{
  sqlite3_stmt *st = store_stmt(c, commit_api__sql_open);
  while (st && sqlite3_step(st) == SQLITE_ROW) {
    if (sqlite3_column_int(st, 0) == 1) n->major = sqlite3_column_int(st, 1);
    else n->general += sqlite3_column_int(st, 1);
  }
  if (st) sqlite3_reset(st);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "major", n->major);
  cJSON_AddNumberToObject(o, "general", n->general);
  cJSON_AddNumberToObject(o, "total", n->major + n->general);
  return o;
}

static cJSON *commit_api__alarms(const struct engine *e, struct commit_api__counts *n)
{
  int by[DG_PRIO_CRITICAL + 1] = {0}, unacked = 0;
  for (size_t i = 0; i < e->cfg->n_rules; i++) {
    const struct alarm *a = &e->alarms[i];
    if (!alarm_is_active(a)) continue;
    n->alarms++;
    if (a->priority >= DG_PRIO_NONE && a->priority <= DG_PRIO_CRITICAL) by[a->priority]++;
    unacked += a->state == ALARM_UNACK;
  }
  cJSON *o = cJSON_CreateObject(), *p = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "active", n->alarms);
  cJSON_AddNumberToObject(o, "unacknowledged", unacked);
  for (int k = DG_PRIO_CRITICAL; k >= DG_PRIO_LOW; k--) cJSON_AddNumberToObject(p, dg_priority_name(k), by[k]);
  cJSON_AddItemToObject(o, "by_priority", p);
  return o;
}

static const char *const commit_api__sql_overdue =
  "SELECT id, measure, unit, start_ms, due_ms, check_status FROM inspection_tasks"
  " WHERE due_ms >= ?1 AND due_ms < ?2 AND (check_status IS NULL OR check_status = 2) ORDER BY due_ms, id";

static cJSON *commit_api__overdue(struct store_conn *c, int64_t ref_ms, struct commit_api__counts *n)
{
  cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
  sqlite3_stmt *st = store_stmt(c, commit_api__sql_overdue);
  if (st) {
    sqlite3_bind_int64(st, 1, ref_ms - COMMIT_API_DAY_MS);
    sqlite3_bind_int64(st, 2, ref_ms);
  }
  while (st && sqlite3_step(st) == SQLITE_ROW) {
    if (n->overdue++ >= COMMIT_API_TASKS_MAX) continue;
    cJSON *t = cJSON_CreateObject();
    api_col_num(t, "id", st, 0);
    api_col_text(t, "measure", st, 1);
    api_col_text(t, "unit", st, 2);
    api_col_num(t, "start_ms", st, 3);
    api_col_num(t, "due_ms", st, 4);
    cJSON_AddStringToObject(t, "status", sqlite3_column_type(st, 5) == SQLITE_NULL ? "pending" : "missed");
    cJSON_AddItemToArray(arr, t);
  }
  if (st) sqlite3_reset(st);
  cJSON_AddNumberToObject(o, "overdue", n->overdue);
  cJSON_AddNumberToObject(o, "window_start_ms", (double)(ref_ms - COMMIT_API_DAY_MS));
  cJSON_AddNumberToObject(o, "window_end_ms", (double)ref_ms);
  cJSON_AddItemToObject(o, "tasks", arr);
  return o;
}

static void commit_api__count_ops(const cJSON *ops, struct commit_api__counts *n)
{
  const cJSON *it;
  cJSON_ArrayForEach(it, ops) {
    int t = govern_op_type_parse(cJSON_GetObjectItem(it, "type")->valuestring);
    if (t >= 0) n->by_type[t]++;
    n->ops++;
  }
}

/* The announcement's sentences, zh-CN and English. */
static void commit_api__text(cJSON *o, const char *date, const struct dg_config *cfg, const struct commit_api__counts *n)
{
  char ops_zh[512] = "", ops_en[512] = "", zh[2048], en[2048];
  size_t lz = 0, le = 0;
  for (int t = 0; t < GOVERN_N_OP_TYPES; t++) {
    if (!n->by_type[t]) continue;
    lz += (size_t)snprintf(ops_zh + lz, sizeof ops_zh - lz, "%s%s%d处", lz ? "、" : "", govern_op_type_zh(t), n->by_type[t]);
    le += (size_t)snprintf(ops_en + le, sizeof ops_en - le, "%s%d %s", le ? ", " : "", n->by_type[t], govern_op_type_name(t));
    if (lz >= sizeof ops_zh || le >= sizeof ops_en) break;
  }
  const char *site = cfg->site_name ? cfg->site_name : cfg->site_code ? cfg->site_code : "";
  snprintf(zh, sizeof zh, "%s %s安全承诺公告：重大危险源%d处，其中运行%d处、停产%d处、检修%d处；特殊作业%d处%s%s%s；"
           "未关闭隐患%d项（重大隐患%d项、一般隐患%d项）；未消除报警%d条；超期未排查任务%d项；停产停业或撤人%d处。"
           "今天我公司已进行安全风险研判，各项安全风险防控措施已落实到位，我承诺所有生产装置处于安全运行状态，"
           "罐区、仓库等重大危险源安全风险得到有效管控。",
           date, site, n->sources, n->running, n->shutdown, n->maintenance, n->ops, n->ops ? "（" : "", ops_zh,
           n->ops ? "）" : "", n->major + n->general, n->major, n->general, n->alarms, n->overdue, n->stops);
  snprintf(en, sizeof en, "Safety commitment of %s, %s: %d major hazard source(s), %d running, %d shut down, %d under"
           " maintenance; %d special operation(s)%s%s%s; %d open hazard(s) (%d major, %d general); %d active alarm(s);"
           " %d overdue inspection task(s); %d stop-production or evacuation order(s). Today we have assessed our"
           " safety risks and put every control measure in place; I commit that all production units run safely and"
           " the risks of the major hazard sources are under effective control.",
           site, date, n->sources, n->running, n->shutdown, n->maintenance, n->ops, n->ops ? " (" : "", ops_en,
           n->ops ? ")" : "", n->major + n->general, n->major, n->general, n->alarms, n->overdue, n->stops);
  cJSON_AddStringToObject(o, "text_zh", zh);
  cJSON_AddStringToObject(o, "text_en", en);
}

/* The draft of `day` from the live data at now_ms. */
static cJSON *commit_api__draft(struct api_ctx *ctx, int32_t day, int64_t now_ms)
{
  const struct engine *e = ctx->engine;
  struct store_conn *c = store_reader(ctx->store);
  struct commit_api__counts n = {0};
  char date[16];
  int64_t end = workcal_day_ms(day + 1);
  commit_api__date(day, date, sizeof date);
  cJSON *o = cJSON_CreateObject(), *site = cJSON_AddObjectToObject(o, "site");
  cJSON_AddStringToObject(o, "date", date);
  cJSON_AddStringToObject(o, "status", "draft");
  cJSON_AddNumberToObject(o, "generated_ms", (double)now_ms);
  api_json_text(site, "code", e->cfg->site_code);
  api_json_text(site, "name", e->cfg->site_name);
  cJSON_AddItemToObject(o, "hazard_sources", commit_api__sources(c, e->cfg, &n));
  cJSON_AddItemToObject(o, "hazards_open", commit_api__hazards(c, &n));
  cJSON *stops = govern_api_stops(c);
  n.stops = cJSON_GetArraySize(stops);
  cJSON_AddItemToObject(o, "stops", stops);
  cJSON_AddItemToObject(o, "alarms", commit_api__alarms(e, &n));
  cJSON_AddItemToObject(o, "inspections", commit_api__overdue(c, end < now_ms ? end : now_ms, &n));
  cJSON *ops = site_ops_api_operations(c, workcal_day_ms(day), end);
  commit_api__count_ops(ops, &n);
  cJSON_AddItemToObject(o, "special_operations", ops);
  commit_api__text(o, date, e->cfg, &n);
  cJSON_AddNullToObject(o, "confirmed_by");
  cJSON_AddNullToObject(o, "confirmed_by_name");
  cJSON_AddNullToObject(o, "confirmed_ms");
  return o;
}

/* ---- stored commitments ---------------------------------------------------------------------- */

static const char *const commit_api__sql_one = "SELECT body FROM commitments WHERE day = ?1";
static const char *const commit_api__sql_insert =
  "INSERT INTO commitments (day, body, confirmed_by, confirmed_ms) VALUES (?1, ?2, ?3, ?4)";
static const char *const commit_api__sql_list =
  "SELECT body, day FROM commitments WHERE day < ?1 ORDER BY day DESC LIMIT ?2";
static const char *const commit_api__sql_since =
  "SELECT body FROM commitments WHERE confirmed_ms >= ?1 ORDER BY confirmed_ms, day";

/* The confirmed commitment of `date`, parsed; NULL when none. */
static cJSON *commit_api__load(struct store_conn *c, const char *date)
{
  sqlite3_stmt *st = store_stmt(c, commit_api__sql_one);
  if (!st) return NULL;
  store_bind_text(st, 1, date);
  cJSON *o = sqlite3_step(st) == SQLITE_ROW ? cJSON_Parse((const char *)sqlite3_column_text(st, 0)) : NULL;
  sqlite3_reset(st);
  return o;
}

cJSON *commit_api_since(struct store_conn *c, int64_t since_ms)
{
  cJSON *arr = cJSON_CreateArray();
  sqlite3_stmt *st = store_stmt(c, commit_api__sql_since);
  if (!st) return arr;
  sqlite3_bind_int64(st, 1, since_ms);
  while (sqlite3_step(st) == SQLITE_ROW) {
    cJSON *o = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
    if (o) cJSON_AddItemToArray(arr, o);
  }
  sqlite3_reset(st);
  return arr;
}

/* A confirmation waiting for its commit; owns its texts and the answer's draft. */
struct commit_api__job {
  char day[16], actor[128];
  char *body;
  cJSON *draft;
  int64_t now_ms;
};

static int commit_api__work(struct store_conn *c, void *arg)
{
  struct commit_api__job *j = arg;
  sqlite3_stmt *st = store_stmt(c, commit_api__sql_insert);
  if (!st) return SQLITE_ERROR;
  store_bind_text(st, 1, j->day);
  store_bind_text(st, 2, j->body);
  store_bind_text(st, 3, j->actor);
  sqlite3_bind_int64(st, 4, j->now_ms);
  int rc = store_step_done(st);
  return (rc & 0xff) == SQLITE_CONSTRAINT ? -ESTALE : rc; /* confirmed meanwhile, by a request before it */
}

static void commit_api__job_free(struct commit_api__job *j)
{
  free(j->body);
  cJSON_Delete(j->draft);
  free(j);
}

static void commit_api__confirmed(void *arg, int rc, struct http_response *resp)
{
  struct commit_api__job *j = arg;
  if (rc == -ESTALE) {
    api_error(resp, 409, "the commitment of %s is already confirmed; a confirmed commitment is never changed", j->day);
  } else if (rc) {
    api_error(resp, rc == -ESHUTDOWN ? 503 : 500, "commitment not committed (database error)");
  } else {
    DG_INFO("govern", "safety commitment of %s confirmed by %s", j->day, j->actor);
    api_reply(resp, 201, j->draft);
    j->draft = NULL;
  }
  commit_api__job_free(j);
}

/* ---- handlers ---------------------------------------------------------------------------------- */

/* ?date= (default today) as a day number; -1 after answering 400. */
static int commit_api__day(const struct http_request *req, struct http_response *resp, int32_t *day)
{
  char date[16];
  *day = workcal_day_of(dg_wall_ms());
  int has = api_query_text(req, "date", date, sizeof date, resp);
  if (has < 0) return -1;
  if (has && workcal_parse_date(date, day)) {
    api_error(resp, 400, "date: expected YYYY-MM-DD");
    return -1;
  }
  return 0;
}

/* GET /api/v1/commitment?date=YYYY-MM-DD */
static void commit_api__get(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  int32_t day;
  char date[16];
  if (commit_api__day(req, resp, &day)) return;
  commit_api__date(day, date, sizeof date);
  /* No wait for the writer: every screen asks every 10 s, and behind a flood of alarm
   * transitions a wait would hold the loop until all of them commit. Writes answered to a
   * person are committed already; the rest (hazards of transitions still queued) show at the
   * next poll. */
  cJSON *o = commit_api__load(store_reader(ctx->store), date);
  api_reply(resp, 200, o ? o : commit_api__draft(ctx, day, dg_wall_ms()));
}

/* POST /api/v1/commitment/confirm {date?, note?}: today's only, by the principal or a delegate.
 * Answered once committed; of two confirmations at once, the second is refused (409). */
static void commit_api__confirm(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_config *cfg = ctx->engine->cfg;
  int64_t now_ms = dg_wall_ms();
  const struct dg_person *p = api_caller(ctx, req);
  char date[16], today[16];
  int32_t day = workcal_day_of(now_ms);
  cJSON *body = NULL, *draft = NULL;
  struct commit_api__job *j = NULL;
  if (!p) {
    api_error(resp, 401, "Authorization: a valid bearer token is required");
    return;
  }
  if (!govern_is_principal(cfg, p)) {
    api_error(resp, 403, "%s may not confirm the safety commitment: only the principal person in charge (主要负责人)"
              " or a delegate named in ledger.principal_delegates", p->id);
    return;
  }
  if (!(body = api_body_object(req, resp))) return;
  commit_api__date(day, today, sizeof today);
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(body, "date"), *note = cJSON_GetObjectItemCaseSensitive(body, "note");
  snprintf(date, sizeof date, "%s", cJSON_IsString(d) ? d->valuestring : today);
  if ((d && !cJSON_IsString(d)) || (note && !cJSON_IsNull(note) && (!cJSON_IsString(note) || strlen(note->valuestring) > 2000))) {
    api_error(resp, 400, "date: expected YYYY-MM-DD; note: expected text of at most 2000 bytes");
    goto out;
  }
  if (strcmp(date, today) != 0) {
    api_error(resp, 409, "only today's commitment (%s) can be confirmed, not %s", today, date);
    goto out;
  }
  if ((draft = commit_api__load(store_reader(ctx->store), today))) {
    api_error(resp, 409, "the commitment of %s is already confirmed; a confirmed commitment is never changed", today);
    goto out;
  }
  draft = commit_api__draft(ctx, day, now_ms);
  cJSON_ReplaceItemInObject(draft, "status", cJSON_CreateString("confirmed"));
  cJSON_ReplaceItemInObject(draft, "confirmed_by", cJSON_CreateString(p->id));
  cJSON_ReplaceItemInObject(draft, "confirmed_by_name", p->name ? cJSON_CreateString(p->name) : cJSON_CreateNull());
  cJSON_ReplaceItemInObject(draft, "confirmed_ms", cJSON_CreateNumber((double)now_ms));
  cJSON_AddItemToObject(draft, "note", cJSON_IsString(note) ? cJSON_CreateString(note->valuestring) : cJSON_CreateNull());
  if (!(j = calloc(1, sizeof *j)) || !(j->body = cJSON_PrintUnformatted(draft))) {
    api_error(resp, 500, "out of memory");
    goto out;
  }
  snprintf(j->day, sizeof j->day, "%s", today);
  snprintf(j->actor, sizeof j->actor, "%s", p->id);
  j->now_ms = now_ms;
  j->draft = draft;
  draft = NULL;
  api_lane_write(ctx->store, req, resp, true, commit_api__work, commit_api__confirmed, j);
  j = NULL;
out:
  if (j) commit_api__job_free(j);
  cJSON_Delete(draft);
  cJSON_Delete(body);
}

/* GET /api/v1/commitments?limit=&cursor=: confirmed commitments, newest first. */
static void commit_api__list(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  int64_t before = INT32_MAX;
  int lim = api_query_limit(req, 31), n = 0;
  char date[16] = "9999-12-31";
  if (api_query_cursor(req, &before, 1, resp) < 0) return;
  if (before < INT32_MAX) commit_api__date((int32_t)before, date, sizeof date);
  sqlite3_stmt *st = store_stmt(store_reader(ctx->store), commit_api__sql_list);
  if (!st) {
    api_error(resp, 500, "database error");
    return;
  }
  store_bind_text(st, 1, date);
  sqlite3_bind_int(st, 2, lim);
  cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "commitments");
  while (sqlite3_step(st) == SQLITE_ROW) {
    cJSON *o = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
    if (o) cJSON_AddItemToArray(arr, o);
    int32_t d;
    if (!workcal_parse_date((const char *)sqlite3_column_text(st, 1), &d)) before = d;
    n++;
  }
  sqlite3_reset(st);
  api_next_cursor(root, &before, 1, n, lim);
  api_reply(resp, 200, root);
}

static const struct api_route commit_api__routes[] = {
  {"GET", "/api/v1/commitment", commit_api__get, 0, NULL, "date"},
  {"POST", "/api/v1/commitment/confirm", commit_api__confirm, 0, NULL, NULL},
  {"GET", "/api/v1/commitments", commit_api__list, 0, NULL, "limit cursor"},
};

struct api_routes commit_api_routes(void) { return API_ROUTES(commit_api__routes); }
