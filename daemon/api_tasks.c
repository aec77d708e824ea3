#include "api_tasks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_lane.h"
#include "hazard_flow.h"
#include "log.h"
#include "plan.h"
#include "plan_config.h"

void api_task_assignment(const struct dg_config *c, const struct api_task_row *r, struct task_assignee *a)
{
  if (r->posts || r->person || r->by || r->plan) task_assign_decode(c, r->posts, r->person, a);
  else task_assign(c, dg_config_measure(c, r->measure), a);
}

cJSON *api_task_assigned_json(const struct task_assignee *a, const char *by, int64_t by_ms)
{
  cJSON *o = cJSON_CreateObject(), *posts = cJSON_AddArrayToObject(o, "posts");
  for (int i = 0; i < a->n_posts; i++) cJSON_AddItemToArray(posts, cJSON_CreateString(a->posts[i]->id));
  api_json_text(o, "person", a->person ? a->person->id : NULL);
  api_json_text(o, "by", by);
  if (by) cJSON_AddNumberToObject(o, "ms", (double)by_ms);
  else cJSON_AddNullToObject(o, "ms");
  return o;
}

cJSON *api_task_plan_json(const struct dg_config *c, const char *plan_id, const char *items_json)
{
  const struct dg_plan *p = dg_config_plan(c, plan_id);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", plan_id);
  api_json_text(o, "name", p ? p->name : NULL);
  api_json_text(o, "kind", p ? plan_kind_name(p->kind) : NULL);
  api_json_text(o, "kind_zh", p ? plan_kind_zh(p->kind) : NULL);
  cJSON *checklist = cJSON_AddArrayToObject(o, "checklist");
  for (size_t i = 0; p && i < p->n_items; i++) cJSON_AddItemToArray(checklist, cJSON_CreateString(p->items[i]));
  cJSON *res = items_json ? cJSON_Parse(items_json) : NULL;
  cJSON_AddItemToObject(o, "results", res ? res : cJSON_CreateNull());
  return o;
}

int api_task_may_complete(const struct dg_config *c, const struct task_assignee *a, const struct dg_person *p,
                          long long id, struct http_response *resp)
{
  if (task_assign_may_complete(a, c, p)) return 0;
  char who[256] = "";
  size_t len = 0;
  for (int i = 0; i < a->n_posts && len < sizeof who; i++)
    len += (size_t)snprintf(who + len, sizeof who - len, "%s岗位 post %s", len ? ", " : "", a->posts[i]->id);
  if (a->person && len < sizeof who) snprintf(who + len, sizeof who - len, "%s%s", len ? ", " : "", a->person->id);
  if (!p || !(hazard_rights(p->roles, p->n_roles) & HAZARD_RIGHT_REPORT))
    api_error(resp, 403, "无权完成排查任务 %lld：%s 没有可排查的角色 / %s has no role that may complete inspections",
              id, p ? p->id : "?", p ? p->id : "?");
  else
    api_error(resp, 403, "排查任务 %lld 已分配给 %s，只有被分配人或其代理人可以完成 / inspection task %lld is"
              " assigned to %s; only an assignee or a deputy may complete it, and %s is neither", id, who, id, who, p->id);
  return -1;
}

static int api_tasks__bad(struct http_response *resp, size_t i, const char *what)
{
  api_error(resp, 400, "items[%zu]: %s", i, what);
  return -1;
}

int api_task_items(const struct dg_plan *p, const cJSON *body, char **items, int *status, char *findings,
                   size_t len, struct http_response *resp)
{
  const cJSON *in = cJSON_GetObjectItemCaseSensitive(body, "items");
  size_t n = 0, used = 0;
  *items = NULL;
  findings[0] = 0;
  if (!cJSON_IsArray(in) || (size_t)cJSON_GetArraySize(in) != p->n_items) {
    api_error(resp, 400, "items: expected one result per checklist item of plan %s (%zu), each"
              " {\"result\": 0 正常 | 1 存在隐患 | 3 其他, \"note\": \"...\"}", p->id, p->n_items);
    return -1;
  }
  int any_hazard = 0, any_other = 0;
  cJSON *out = cJSON_CreateArray();
  const cJSON *it;
  cJSON_ArrayForEach(it, in) {
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(it, "result"), *note = cJSON_GetObjectItemCaseSensitive(it, "note");
    if (!cJSON_IsNumber(r) || (r->valuedouble != 0 && r->valuedouble != 1 && r->valuedouble != 3)) {
      cJSON_Delete(out);
      return api_tasks__bad(resp, n, "result: expected 0 正常, 1 存在隐患 or 3 其他");
    }
    if (note && !cJSON_IsNull(note) && !cJSON_IsString(note)) {
      cJSON_Delete(out);
      return api_tasks__bad(resp, n, "note: expected a string");
    }
    int res = r->valueint;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "item", p->items[n]);
    cJSON_AddNumberToObject(o, "result", res);
    api_json_text(o, "note", cJSON_IsString(note) ? note->valuestring : NULL);
    cJSON_AddItemToArray(out, o);
    any_hazard |= res == 1;
    any_other |= res == 3;
    if (res == 1 && used < len)
      used += (size_t)snprintf(findings + used, len - used, "%s%s%s%s", used ? "；" : "", p->items[n],
                               cJSON_IsString(note) ? "：" : "", cJSON_IsString(note) ? note->valuestring : "");
    n++;
  }
  *status = any_hazard ? 1 : any_other ? 3 : 0;
  *items = cJSON_PrintUnformatted(out);
  cJSON_Delete(out);
  if (!*items) {
    api_error(resp, 500, "out of memory");
    return -1;
  }
  return 0;
}

/* ---- POST /api/v1/inspections/{id}/assign --------------------------------------------------- */

/* An assignment waiting for its commit; owns its texts. */
struct api_tasks__assign {
  struct api_ctx *ctx;
  int64_t id, now_ms;
  char *posts, *person; /* NULL: none */
  char actor[128];
};

static const char *const api_tasks__sql_assign =
  "UPDATE inspection_tasks SET assigned_posts = ?2, assigned_person = ?3, assigned_by = ?4, assigned_ms = ?5"
  " WHERE id = ?1 AND check_status IS NULL";
static const char *const api_tasks__sql_state = "SELECT check_status FROM inspection_tasks WHERE id = ?1";

static int api_tasks__assign_work(struct store_conn *c, void *arg)
{
  struct api_tasks__assign *j = arg;
  sqlite3_stmt *st = store_stmt(c, api_tasks__sql_assign);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, j->id);
  store_bind_text(st, 2, j->posts);
  store_bind_text(st, 3, j->person);
  store_bind_text(st, 4, j->actor);
  sqlite3_bind_int64(st, 5, j->now_ms);
  int rc = store_step_done(st);
  if (rc == SQLITE_OK && sqlite3_changes(store_conn_db(c)) != 1) rc = -ESTALE;
  return rc;
}

static void api_tasks__assign_free(struct api_tasks__assign *j)
{
  if (!j) return;
  free(j->posts);
  free(j->person);
  free(j);
}

static void api_tasks__assigned(void *arg, int rc, struct http_response *resp)
{
  struct api_tasks__assign *j = arg;
  if (rc == -ESTALE) api_error(resp, 409, "inspection task %lld completed meanwhile", (long long)j->id);
  else if (rc) api_error(resp, rc == -ESHUTDOWN ? 503 : 500, "database error");
  else {
    DG_INFO("ledger", "inspection task %lld assigned to post %s, person %s by %s", (long long)j->id,
            j->posts ? j->posts : "-", j->person ? j->person : "-", j->actor);
    struct task_assignee a;
    task_assign_decode(j->ctx->engine->cfg, j->posts, j->person, &a);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)j->id);
    cJSON_AddItemToObject(o, "assigned", api_task_assigned_json(&a, j->actor, j->now_ms));
    api_reply(resp, 200, o);
  }
  api_tasks__assign_free(j);
}

/* 1 pending, 0 done, -ENOENT unknown, -EIO. */
static int api_tasks__pending(struct api_ctx *ctx, int64_t id)
{
  sqlite3_stmt *st = store_stmt(store_reader(ctx->store), api_tasks__sql_state);
  if (!st) return -EIO;
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st);
  int pending = rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_NULL;
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? pending : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

/* The body's post and person (ids of the model in force); 0 or -1 answered 400. */
static int api_tasks__assignee(struct api_ctx *ctx, const cJSON *body, struct api_tasks__assign *j,
                               struct http_response *resp)
{
  const struct dg_config *c = ctx->engine->cfg;
  const cJSON *post = cJSON_GetObjectItemCaseSensitive(body, "post");
  const cJSON *person = cJSON_GetObjectItemCaseSensitive(body, "person");
  if (post && !cJSON_IsNull(post) && !(cJSON_IsString(post) && dg_config_post(c, post->valuestring))) {
    api_error(resp, 400, "post: not a configured post id");
    return -1;
  }
  if (person && !cJSON_IsNull(person) && !(cJSON_IsString(person) && dg_config_person(c, person->valuestring))) {
    api_error(resp, 400, "person: not a configured person id");
    return -1;
  }
  if (!cJSON_IsString(post) && !cJSON_IsString(person)) {
    api_error(resp, 400, "post or person: name the post (岗位) or the person the task is assigned to");
    return -1;
  }
  j->posts = cJSON_IsString(post) ? strdup(post->valuestring) : NULL;
  j->person = cJSON_IsString(person) ? strdup(person->valuestring) : NULL;
  if ((cJSON_IsString(post) && !j->posts) || (cJSON_IsString(person) && !j->person)) {
    api_error(resp, 500, "out of memory");
    return -1;
  }
  return 0;
}

/* POST /api/v1/inspections/{id}/assign: answered once committed, while the loop goes on; a task
 * completed meanwhile is refused by the job (409). */
static void api_tasks__assign_route(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct api_tasks__assign *j = NULL;
  long long id;
  int n = 0;
  if (sscanf(req->path, "/api/v1/inspections/%lld/assign%n", &id, &n) != 1 || req->path[n] || id <= 0) {
    api_error(resp, 404, "not found: POST /api/v1/inspections/{id}/assign");
    return;
  }
  const struct dg_person *p = api_caller(ctx, req);
  if (!p) {
    api_error(resp, 401, "Authorization: a valid bearer token is required");
    return;
  }
  if (!(hazard_rights(p->roles, p->n_roles) & HAZARD_RIGHT_MANAGE)) {
    api_error(resp, 403, "无权改派排查任务 / %s may not reassign inspection tasks (roles workshop_director,"
              " engineer, safety_director, principal, admin)", p->id);
    return;
  }
  cJSON *body = api_body_object(req, resp);
  if (!body) return;
  if (!(j = api_calloc(sizeof *j, resp))) goto out;
  *j = (struct api_tasks__assign){.ctx = ctx, .id = id, .now_ms = dg_wall_ms()};
  snprintf(j->actor, sizeof j->actor, "%s", p->id);
  if (api_tasks__assignee(ctx, body, j, resp)) goto out;
  int pending = api_tasks__pending(ctx, id);
  if (pending <= 0) {
    if (pending == 0) api_error(resp, 409, "inspection task %lld is already completed", id);
    else api_error(resp, pending == -ENOENT ? 404 : 500, pending == -ENOENT ? "no such inspection task" : "database error");
    goto out;
  }
  api_lane_write(ctx->store, req, resp, true, api_tasks__assign_work, api_tasks__assigned, j);
  j = NULL;
out:
  api_tasks__assign_free(j);
  cJSON_Delete(body);
}

/* ---- GET /api/v1/inspection-plans ------------------------------------------------------------ */

#define API_TASKS_NEXT 3

static cJSON *api_tasks__plan(const struct dg_config *c, const struct dg_plan *p, int64_t now_ms)
{
  cJSON *o = api_task_plan_json(c, p->id, NULL);
  cJSON_DeleteItemFromObjectCaseSensitive(o, "results");
  cJSON_AddStringToObject(o, "from", p->from_s);
  cJSON_AddStringToObject(o, "to", p->to_s);
  api_json_text(o, "unit", p->unit ? p->unit->id : NULL);
  api_json_text(o, "post", p->post ? p->post->id : NULL);
  api_json_text(o, "person", p->person ? p->person->id : NULL);
  cJSON *next = cJSON_AddArrayToObject(o, "next");
  int64_t after = now_ms, s, d;
  for (int i = 0; i < API_TASKS_NEXT && plan_next(p, &c->calendar, after, &s, &d); i++, after = d) {
    cJSON *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "start_ms", (double)s);
    cJSON_AddNumberToObject(t, "due_ms", (double)d);
    cJSON_AddItemToArray(next, t);
  }
  return o;
}

static void api_tasks__plans(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_config *c = ctx->engine->cfg;
  (void)req;
  cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "plans");
  int64_t now = dg_wall_ms();
  for (size_t i = 0; i < c->n_plans; i++) cJSON_AddItemToArray(arr, api_tasks__plan(c, &c->plans[i], now));
  api_reply(resp, 200, root);
}

static const struct api_route tasks_api__routes[] = {
  {"POST", "/api/v1/inspections/{id}/assign", api_tasks__assign_route, 0, NULL, NULL},
  {"GET", "/api/v1/inspection-plans", api_tasks__plans, 0, NULL, NULL},
};

struct api_routes tasks_api_routes(void) { return API_ROUTES(tasks_api__routes); }
