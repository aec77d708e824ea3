#include "api_siteplan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_lane.h"
#include "attach.h"
#include "log.h"
#include "risk.h"
#include "siteplan.h"

#define SITEPLAN_API_UNITS "/api/v1/site-plan/units/"
#define SITEPLAN_API_AUDIT_LIMIT 200

/* ---- the plan in force -------------------------------------------------------------------- */

struct siteplan_api__plan {
  int64_t id, size, created_ms;
  uint32_t width, height;
  char sha256[ATTACH_SHA256_HEX];
  char type[32], file[96], uploader[128];
};

static const char *const siteplan_api__sql_plan =
  "SELECT id, sha256, size, content_type, file, width, height, uploader, created_ms FROM site_plans"
  " ORDER BY id DESC LIMIT 1";

static void siteplan_api__copy(char *out, size_t len, sqlite3_stmt *st, int i)
{
  const char *s = (const char *)sqlite3_column_text(st, i);
  snprintf(out, len, "%s", s ? s : "");
}

/* 1 with *p, 0 when no plan was uploaded, negative on a database error. */
static int siteplan_api__load_plan(struct store_conn *c, struct siteplan_api__plan *p)
{
  sqlite3_stmt *st = store_stmt(c, siteplan_api__sql_plan);
  if (!st) return -EIO;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    p->id = sqlite3_column_int64(st, 0);
    siteplan_api__copy(p->sha256, sizeof p->sha256, st, 1);
    p->size = sqlite3_column_int64(st, 2);
    siteplan_api__copy(p->type, sizeof p->type, st, 3);
    siteplan_api__copy(p->file, sizeof p->file, st, 4);
    p->width = (uint32_t)sqlite3_column_int64(st, 5);
    p->height = (uint32_t)sqlite3_column_int64(st, 6);
    siteplan_api__copy(p->uploader, sizeof p->uploader, st, 7);
    p->created_ms = sqlite3_column_int64(st, 8);
  }
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

static cJSON *siteplan_api__plan_json(const struct siteplan_api__plan *p)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", (double)p->id);
  cJSON_AddStringToObject(o, "url", "/api/v1/site-plan/image");
  cJSON_AddNumberToObject(o, "width", p->width);
  cJSON_AddNumberToObject(o, "height", p->height);
  cJSON_AddStringToObject(o, "content_type", p->type);
  cJSON_AddNumberToObject(o, "size", (double)p->size);
  cJSON_AddStringToObject(o, "sha256", p->sha256);
  cJSON_AddStringToObject(o, "uploader", p->uploader);
  cJSON_AddNumberToObject(o, "ts_ms", (double)p->created_ms);
  return o;
}

/* The three answers every request may give before its own work: 401, 403 and, for a change
 * that needs an image, 409. The caller, or NULL (answered). */
static const struct dg_person *siteplan_api__editor(struct api_ctx *ctx, const struct http_request *req,
                                                    struct http_response *resp)
{
  const struct dg_person *who = api_caller(ctx, req);
  if (!who) {
    api_error(resp, 401, "a valid 'Authorization: Bearer <token>' is required");
    return NULL;
  }
  for (size_t i = 0; i < who->n_roles; i++)
    if (!strcmp(who->roles[i], "engineer") || !strcmp(who->roles[i], "admin")) return who;
  api_error(resp, 403, "%s: the site plan is edited by the engineer or admin role; 只有工程师或管理员可以编辑平面图",
            who->id);
  return NULL;
}

/* ---- GET /api/v1/site-plan ---------------------------------------------------------------- */

static cJSON *siteplan_api__level(enum dg_level l)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "level", dg_level_name(l));
  cJSON_AddStringToObject(o, "level_zh", dg_level_name_zh(l));
  return o;
}

/* What the map shows of every unit beside its polygon; positions are cfg's unit order. */
struct siteplan_api__live {
  struct risk_unit *risk;
  struct risk_index index;
  uint32_t *alarms, *hazards;
  size_t n;
};

static void siteplan_api__live_free(struct siteplan_api__live *l)
{
  free(l->risk);
  risk_index_free(&l->index);
  free(l->alarms);
  free(l->hazards);
}

static const char *const siteplan_api__sql_open_hazards =
  "SELECT unit, COUNT(*) FROM hazards WHERE danger_state != 9 AND dismissed = 0 AND unit IS NOT NULL GROUP BY unit";

static int siteplan_api__count_hazards(struct store_conn *c, struct siteplan_api__live *l)
{
  sqlite3_stmt *st = store_stmt(c, siteplan_api__sql_open_hazards);
  if (!st) return -EIO;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    uint32_t u = risk_index_find(&l->index, (const char *)sqlite3_column_text(st, 0));
    if (u != RISK_NO_UNIT) l->hazards[u] = (uint32_t)sqlite3_column_int64(st, 1);
  }
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Current levels (risk.h), active alarms that are annunciated and open hazards, per unit. */
static int siteplan_api__live(struct api_ctx *ctx, struct siteplan_api__live *l)
{
  const struct engine *e = ctx->engine;
  struct store_conn *c = store_reader(ctx->store);
  struct risk_major *majors = NULL;
  size_t n_majors = 0;
  memset(l, 0, sizeof *l);
  if (risk_load_majors(c, &majors, &n_majors)) return -EIO;
  int rc = risk_evaluate(e->cfg, e->alarms, majors, n_majors, &l->risk, &l->n);
  risk_majors_free(majors, n_majors);
  if (!rc) rc = risk_index_build(&l->index, e->cfg);
  if (!rc && (!(l->alarms = calloc(l->n + 1, sizeof *l->alarms)) || !(l->hazards = calloc(l->n + 1, sizeof *l->hazards))))
    rc = -ENOMEM;
  for (size_t i = 0; !rc && i < e->cfg->n_rules; i++) {
    uint32_t u = l->index.rule_unit[i];
    if (u < l->n && alarm_is_active(&e->alarms[i]) && !alarm_is_silenced(&e->alarms[i])) l->alarms[u]++;
  }
  if (!rc) rc = siteplan_api__count_hazards(c, l);
  return rc;
}

static const char *const siteplan_api__sql_units = "SELECT unit, points, actor, updated_ms FROM site_plan_units";

/* Adds each stored polygon to the JSON object of its unit (by id in `by_id`). */
static int siteplan_api__polygons(struct store_conn *c, cJSON *by_id)
{
  sqlite3_stmt *st = store_stmt(c, siteplan_api__sql_units);
  if (!st) return -EIO;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    cJSON *o = cJSON_GetObjectItemCaseSensitive(by_id, (const char *)sqlite3_column_text(st, 0));
    cJSON *pts = o ? cJSON_Parse((const char *)sqlite3_column_text(st, 1)) : NULL;
    if (!pts) continue; /* a unit no longer in the model keeps its row until deleted */
    cJSON_ReplaceItemInObjectCaseSensitive(o, "points", pts);
    api_col_text(o, "updated_by", st, 2);
    api_col_num(o, "updated_ms", st, 3);
  }
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : -EIO;
}

static cJSON *siteplan_api__unit_json(const struct dg_config *cfg, const struct siteplan_api__live *l, size_t i)
{
  const struct risk_unit *r = &l->risk[i];
  const struct dg_person *person = r->unit->person ? dg_config_person(cfg, r->unit->person) : NULL;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", r->unit->id);
  api_json_text(o, "name", r->unit->name);
  api_json_text(o, "hazard_source", r->unit->source ? r->unit->source->id : NULL);
  api_json_text(o, "hazard_source_name", r->unit->source ? r->unit->source->name : NULL);
  api_json_text(o, "dept", r->unit->dept);
  api_json_text(o, "person", r->unit->person);
  api_json_text(o, "person_name", person ? person->name : NULL);
  cJSON_AddNullToObject(o, "points");
  cJSON_AddItemToObject(o, "assessed", siteplan_api__level(r->assessed));
  cJSON_AddItemToObject(o, "current", siteplan_api__level(r->current));
  cJSON_AddBoolToObject(o, "raised", r->current > r->assessed);
  cJSON_AddStringToObject(o, "cause", risk_cause_name(r->cause));
  cJSON_AddNumberToObject(o, "alarms_active", l->alarms[i]);
  cJSON_AddNumberToObject(o, "hazards_open", l->hazards[i]);
  cJSON_AddNullToObject(o, "updated_by");
  cJSON_AddNullToObject(o, "updated_ms");
  return o;
}

static void siteplan_api__get(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_config *cfg = ctx->engine->cfg;
  struct store_conn *c = store_reader(ctx->store);
  struct siteplan_api__plan plan;
  struct siteplan_api__live live;
  (void)req;
  int has_plan = siteplan_api__load_plan(c, &plan);
  if (has_plan < 0 || siteplan_api__live(ctx, &live)) {
    if (has_plan >= 0) siteplan_api__live_free(&live);
    api_error(resp, 500, "database error");
    return;
  }
  cJSON *root = cJSON_CreateObject(), *by_id = cJSON_CreateObject();
  cJSON *site = cJSON_AddObjectToObject(root, "site");
  api_json_text(site, "code", cfg->site_code);
  api_json_text(site, "name", cfg->site_name);
  if (has_plan) cJSON_AddItemToObject(root, "image", siteplan_api__plan_json(&plan));
  else cJSON_AddNullToObject(root, "image");
  cJSON *arr = cJSON_AddArrayToObject(root, "units");
  for (size_t i = 0; i < live.n; i++) {
    cJSON *o = siteplan_api__unit_json(cfg, &live, i);
    cJSON_AddItemToArray(arr, o);
    cJSON_AddItemReferenceToObject(by_id, live.risk[i].unit->id, o);
  }
  int rc = siteplan_api__polygons(c, by_id);
  cJSON_Delete(by_id); /* references only */
  siteplan_api__live_free(&live);
  if (rc) {
    cJSON_Delete(root);
    api_error(resp, 500, "database error");
    return;
  }
  api_reply(resp, 200, root);
}

/* ---- GET /api/v1/site-plan/image ------------------------------------------------------------ */

static void siteplan_api__image(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct siteplan_api__plan p;
  (void)req;
  int found = siteplan_api__load_plan(store_reader(ctx->store), &p);
  if (found <= 0) {
    api_error(resp, found ? 500 : 404, found ? "database error" : "no site plan uploaded yet; 尚未上传平面图");
    return;
  }
  char *buf = NULL;
  size_t len = 0;
  const char *type = NULL, *ext;
  int rc = attach_read(ctx->attachments_dir, p.file, p.sha256, p.size, &buf, &len);
  if (!rc && attach_sniff(p.type, buf, len, &type, &ext)) rc = -EBADMSG;
  if (rc) {
    DG_ERR("siteplan", "site plan %lld: %s/%s %s", (long long)p.id, ctx->attachments_dir, p.file,
           rc == -EBADMSG ? "no longer matches its size and SHA-256 (damaged)" : strerror(-rc));
    free(buf);
    api_error(resp, 500, "site plan image: file %s", rc == -ENOENT ? "missing" : rc == -EBADMSG ? "damaged" : "unreadable");
    return;
  }
  resp->content_type = type; /* static */
  resp->body = buf;
  resp->body_len = len;
}

/* ---- GET /api/v1/site-plan/audit ------------------------------------------------------------ */

static const char *const siteplan_api__sql_audit =
  "SELECT id, ts_ms, actor, op, unit, before, after FROM site_plan_edits"
  " WHERE (?1 IS NULL OR unit = ?1) AND id > ?3 ORDER BY id LIMIT ?2";

static void siteplan_api__audit(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  char unit[128];
  int64_t after = 0;
  int limit = api_query_limit(req, SITEPLAN_API_AUDIT_LIMIT), rows = 0, rc;
  if (api_query_cursor(req, &after, 1, resp) < 0 || api_query_text(req, "unit", unit, sizeof unit, resp) < 0) return;
  sqlite3_stmt *st = store_stmt(store_reader(ctx->store), siteplan_api__sql_audit);
  if (!st) {
    api_error(resp, 500, "database error");
    return;
  }
  store_bind_text(st, 1, unit[0] ? unit : NULL);
  sqlite3_bind_int(st, 2, limit);
  sqlite3_bind_int64(st, 3, after);
  cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "edits");
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    cJSON *o = cJSON_CreateObject();
    rows++;
    after = sqlite3_column_int64(st, 0);
    api_col_num(o, "id", st, 0);
    api_col_num(o, "ts_ms", st, 1);
    api_col_text(o, "actor", st, 2);
    api_col_text(o, "op", st, 3);
    api_col_text(o, "unit", st, 4);
    api_col_json(o, "before", st, 5);
    api_col_json(o, "after", st, 6);
    cJSON_AddItemToArray(arr, o);
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    cJSON_Delete(root);
    api_error(resp, 500, "database error");
    return;
  }
  api_next_cursor(root, &after, 1, rows, limit);
  api_reply(resp, 200, root);
}

/* ---- changes: one store job each, with its journal row ------------------------------------- */

/* A change in flight, on the heap until its answer: it owns its texts and the image's bytes
 * (the request's buffer goes with its connection, the person with a reload). The journal's
 * "before" is read by the job, so it is what the change replaced. */
struct siteplan_api__job {
  struct api_ctx *ctx;
  char actor[128], unit[128];
  const char *op; /* static text */
  int64_t ts_ms;
  char *before;      /* JSON text of the journal row: read by the job */
  const char *after; /* JSON text of the journal row */
  char *points;      /* the new polygon as JSON; NULL with a unit: delete */
  double max_x, max_y;
  /* image upload */
  const char *dir, *type, *ext; /* the daemon's and attach_sniff's: static */
  char *buf;
  size_t len;
  uint32_t width, height;
  char sha256[ATTACH_SHA256_HEX];
  char file[96];
  /* results */
  int64_t plan_id;
  int dropped;
  int disk_rc;
};

static const char *const siteplan_api__sql_edit =
  "INSERT INTO site_plan_edits (ts_ms, actor, op, unit, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char *const siteplan_api__sql_set =
  "INSERT OR REPLACE INTO site_plan_units (unit, points, max_x, max_y, actor, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char *const siteplan_api__sql_delete = "DELETE FROM site_plan_units WHERE unit = ?1";
static const char *const siteplan_api__sql_insert_plan =
  "INSERT INTO site_plans (sha256, size, content_type, file, width, height, uploader, created_ms)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
/* Polygons that do not fit a new, smaller image are dropped, each with its journal row. */
static const char *const siteplan_api__sql_journal_drop =
  "INSERT INTO site_plan_edits (ts_ms, actor, op, unit, before, after)"
  " SELECT ?1, ?2, 'drop', unit, points, NULL FROM site_plan_units WHERE max_x > ?3 OR max_y > ?4";
static const char *const siteplan_api__sql_drop = "DELETE FROM site_plan_units WHERE max_x > ?1 OR max_y > ?2";
static const char *const siteplan_api__sql_points = "SELECT points FROM site_plan_units WHERE unit = ?1";

static struct siteplan_api__job *siteplan_api__job_new(struct api_ctx *ctx, const struct dg_person *who,
                                                       const char *op, struct http_response *resp)
{
  struct siteplan_api__job *j = api_calloc(sizeof *j, resp);
  if (!j) return NULL;
  *j = (struct siteplan_api__job){.ctx = ctx, .op = op, .ts_ms = dg_wall_ms(), .dir = ctx->attachments_dir};
  snprintf(j->actor, sizeof j->actor, "%s", who->id);
  return j;
}

static void siteplan_api__job_free(struct siteplan_api__job *j)
{
  if (!j) return;
  free(j->before);
  free(j->points);
  free(j->buf);
  free(j);
}

/* The unit's stored polygon as malloc'd JSON text in *out (NULL: none). 0 or -EIO. */
static int siteplan_api__stored(struct store_conn *c, const char *unit, char **out)
{
  sqlite3_stmt *st = store_stmt(c, siteplan_api__sql_points);
  *out = NULL;
  if (!st) return -EIO;
  store_bind_text(st, 1, unit);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && !(*out = strdup((const char *)sqlite3_column_text(st, 0)))) rc = SQLITE_NOMEM;
  sqlite3_reset(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

static int siteplan_api__journal(struct store_conn *c, const struct siteplan_api__job *j)
{
  sqlite3_stmt *st = store_stmt(c, siteplan_api__sql_edit);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, j->ts_ms);
  store_bind_text(st, 2, j->actor);
  store_bind_text(st, 3, j->op);
  store_bind_text(st, 4, j->unit[0] ? j->unit : NULL); /* none for an image */
  store_bind_text(st, 5, j->before);
  store_bind_text(st, 6, j->after);
  return store_step_done(st);
}

/* A polygon set on the plan it was checked against (a smaller image uploaded meanwhile drops
 * it), or deleted while it is there: else -ESTALE. */
static int siteplan_api__work_unit(struct store_conn *c, void *arg)
{
  struct siteplan_api__job *j = arg;
  struct siteplan_api__plan plan;
  free(j->before);
  if (siteplan_api__stored(c, j->unit, &j->before)) return SQLITE_ERROR;
  if (j->points) {
    int has = siteplan_api__load_plan(c, &plan);
    if (has < 0) return SQLITE_ERROR;
    if (!has || j->max_x > plan.width || j->max_y > plan.height) return -ESTALE;
  } else if (!j->before) {
    return -ESTALE;
  }
  sqlite3_stmt *st = store_stmt(c, j->points ? siteplan_api__sql_set : siteplan_api__sql_delete);
  if (!st) return SQLITE_ERROR;
  store_bind_text(st, 1, j->unit);
  if (j->points) {
    store_bind_text(st, 2, j->points);
    sqlite3_bind_double(st, 3, j->max_x);
    sqlite3_bind_double(st, 4, j->max_y);
    store_bind_text(st, 5, j->actor);
    sqlite3_bind_int64(st, 6, j->ts_ms);
  }
  int rc = store_step_done(st);
  return rc ? rc : siteplan_api__journal(c, j);
}

static int siteplan_api__drop(struct store_conn *c, struct siteplan_api__job *j)
{
  sqlite3_stmt *st = store_stmt(c, siteplan_api__sql_journal_drop);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, j->ts_ms);
  store_bind_text(st, 2, j->actor);
  sqlite3_bind_double(st, 3, j->width);
  sqlite3_bind_double(st, 4, j->height);
  int rc = store_step_done(st);
  if (rc || !(st = store_stmt(c, siteplan_api__sql_drop))) return rc ? rc : SQLITE_ERROR;
  sqlite3_bind_double(st, 1, j->width);
  sqlite3_bind_double(st, 2, j->height);
  rc = store_step_done(st);
  j->dropped = sqlite3_changes(store_conn_db(c));
  return rc;
}

/* The plan in force as the journal's JSON text in j->before (NULL: none yet); SQLite's code. */
static int siteplan_api__before_image(struct store_conn *c, struct siteplan_api__job *j)
{
  struct siteplan_api__plan prev;
  int had = siteplan_api__load_plan(c, &prev);
  free(j->before);
  j->before = NULL;
  if (had <= 0) return had ? SQLITE_ERROR : SQLITE_OK;
  cJSON *o = siteplan_api__plan_json(&prev);
  j->before = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return j->before ? SQLITE_OK : SQLITE_NOMEM;
}

/* Writer thread: the file is durable before the row naming it commits. */
static int siteplan_api__work_image(struct store_conn *c, void *arg)
{
  struct siteplan_api__job *j = arg;
  int rc = siteplan_api__before_image(c, j);
  if (rc) return rc;
  rc = attach_store(j->dir, j->buf, j->len, j->ext, j->sha256, j->file, sizeof j->file);
  if ((j->disk_rc = rc)) return rc;
  sqlite3_stmt *st = store_stmt(c, siteplan_api__sql_insert_plan);
  if (!st) return SQLITE_ERROR;
  store_bind_text(st, 1, j->sha256);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)j->len);
  store_bind_text(st, 3, j->type);
  store_bind_text(st, 4, j->file);
  sqlite3_bind_int64(st, 5, j->width);
  sqlite3_bind_int64(st, 6, j->height);
  store_bind_text(st, 7, j->actor);
  sqlite3_bind_int64(st, 8, j->ts_ms);
  if ((rc = store_step_done(st))) return rc;
  j->plan_id = sqlite3_last_insert_rowid(store_conn_db(c));
  char after[200];
  snprintf(after, sizeof after, "{\"id\":%lld,\"sha256\":\"%s\",\"width\":%u,\"height\":%u,\"content_type\":\"%s\"}",
           (long long)j->plan_id, j->sha256, (unsigned)j->width, (unsigned)j->height, j->type);
  j->after = after;
  rc = siteplan_api__journal(c, j);
  j->after = NULL;
  return rc ? rc : siteplan_api__drop(c, j);
}

/* The answer to a change that did not commit: 409, 500 or 503. */
static void siteplan_api__failed(struct siteplan_api__job *j, int rc, struct http_response *resp)
{
  if (rc == -ESTALE) {
    api_error(resp, 409, "the site plan changed meanwhile; %s not applied, reload and retry; 平面图已被修改，请刷新后重试",
              j->op);
  } else if (rc == -ESHUTDOWN) {
    api_error(resp, 503, "database unavailable");
  } else if (j->disk_rc) {
    DG_ERR("siteplan", "site plan not stored in %s: %s", j->dir, strerror(-j->disk_rc));
    api_error(resp, 500, "site plan not stored (attachments directory: %s)", strerror(-j->disk_rc));
  } else {
    api_error(resp, 500, "site plan %s not committed (database error)", j->op);
  }
}

/* ---- POST /api/v1/site-plan/image --------------------------------------------------------- */

/* Content type, magic bytes and dimensions, and a copy of the bytes; 0, or negative after
 * answering 400/415/500. */
static int siteplan_api__check_image(const struct http_request *req, struct siteplan_api__job *j,
                                     struct http_response *resp)
{
  int rc = attach_sniff(req->content_type, req->body, req->body_len, &j->type, &j->ext);
  if (rc == -EPROTONOSUPPORT || (!rc && strcmp(j->type, "image/png") && strcmp(j->type, "image/jpeg"))) {
    api_error(resp, 415, "Content-Type: expected image/png or image/jpeg; 平面图须为 PNG 或 JPEG");
    return -EPROTONOSUPPORT;
  }
  if (rc || !req->body_len) {
    api_error(resp, 400, "body: expected the bytes of a %s image", req->content_type);
    return -EINVAL;
  }
  if (siteplan_image_size(j->type, req->body, req->body_len, &j->width, &j->height)) {
    api_error(resp, 400, "body: the %s header holds no image size from 1 to %d pixels a side", j->type,
              SITEPLAN_MAX_SIDE);
    return -EINVAL;
  }
  if (!(j->buf = malloc(req->body_len))) {
    api_error(resp, 500, "out of memory");
    return -ENOMEM;
  }
  memcpy(j->buf, req->body, req->body_len);
  j->len = req->body_len;
  return 0;
}

static void siteplan_api__uploaded(void *arg, int rc, struct http_response *resp)
{
  struct siteplan_api__job *j = arg;
  struct siteplan_api__plan now;
  if (rc) {
    siteplan_api__failed(j, rc, resp);
  } else {
    DG_INFO("siteplan", "site plan %lld: %ux%u %s (%zu bytes, %s) by %s; %d polygon(s) dropped", (long long)j->plan_id,
            (unsigned)j->width, (unsigned)j->height, j->type, j->len, j->file, j->actor, j->dropped);
    if (siteplan_api__load_plan(store_reader(j->ctx->store), &now) <= 0) {
      api_error(resp, 500, "database error");
    } else {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddItemToObject(o, "image", siteplan_api__plan_json(&now));
      cJSON_AddNumberToObject(o, "dropped", j->dropped);
      api_reply(resp, 201, o);
    }
  }
  siteplan_api__job_free(j);
}

/* Answered after its commit; the file's write and fsync keep the normal lane, off the alarms'. */
static void siteplan_api__upload(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct siteplan_api__job *j = NULL;
  const struct dg_person *who = siteplan_api__editor(ctx, req, resp);
  if (!who || !(j = siteplan_api__job_new(ctx, who, "image", resp))) return;
  if (siteplan_api__check_image(req, j, resp)) {
    siteplan_api__job_free(j);
    return;
  }
  api_lane_write(ctx->store, req, resp, false, siteplan_api__work_image, siteplan_api__uploaded, j);
}

/* ---- PUT and DELETE /api/v1/site-plan/units/{id} ----------------------------------------- */

/* The {id} of the path, or NULL (answered 404). */
static const char *siteplan_api__unit_id(const struct http_request *req, struct http_response *resp)
{
  const char *id = req->path + strlen(SITEPLAN_API_UNITS);
  if (strncmp(req->path, SITEPLAN_API_UNITS, strlen(SITEPLAN_API_UNITS)) || !*id || strchr(id, '/')) {
    api_error(resp, 404, "not found");
    return NULL;
  }
  return id;
}

/* The body's polygon checked against the plan in force, as JSON in j; 0, or -1 after answering
 * 400/409/500. */
static int siteplan_api__read_poly(struct api_ctx *ctx, const struct http_request *req, struct siteplan_api__job *j,
                                   struct http_response *resp)
{
  struct siteplan_api__plan plan;
  struct siteplan_poly *poly = NULL;
  char err[160];
  int has = siteplan_api__load_plan(store_reader(ctx->store), &plan);
  if (has <= 0) {
    api_error(resp, has ? 500 : 409, has ? "database error" : "no site plan image yet: POST /api/v1/site-plan/image first;"
              " 请先上传平面图");
    return -1;
  }
  cJSON *body = api_body_object(req, resp);
  if (!body) return -1;
  if (!(poly = malloc(sizeof *poly))) {
    api_error(resp, 500, "out of memory");
  } else if (siteplan_poly_parse(cJSON_GetObjectItemCaseSensitive(body, "points"), plan.width, plan.height, poly, err,
                                 sizeof err)) {
    api_error(resp, 400, "%s", err);
  } else if (!(j->points = siteplan_poly_json(poly))) {
    api_error(resp, 500, "out of memory");
  } else {
    j->max_x = poly->max_x;
    j->max_y = poly->max_y;
  }
  cJSON_Delete(body);
  free(poly);
  return j->points ? 0 : -1;
}

static void siteplan_api__changed(void *arg, int rc, struct http_response *resp)
{
  struct siteplan_api__job *j = arg;
  if (rc) {
    siteplan_api__failed(j, rc, resp);
  } else {
    DG_INFO("siteplan", "%s polygon of unit %s by %s", j->op, j->unit, j->actor);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "unit", j->unit);
    if (j->points) cJSON_AddItemToObject(o, "points", cJSON_Parse(j->points));
    else cJSON_AddStringToObject(o, "deleted", "polygon");
    cJSON_AddStringToObject(o, "updated_by", j->actor);
    cJSON_AddNumberToObject(o, "updated_ms", (double)j->ts_ms);
    api_reply(resp, 200, o);
  }
  siteplan_api__job_free(j);
}

/* Checked against what is committed, answered after the change's own commit. */
static void siteplan_api__change(struct api_ctx *ctx, const struct http_request *req, struct http_response *resp,
                                 int set)
{
  struct siteplan_api__job *j = NULL;
  char *before = NULL;
  const char *unit;
  const struct dg_person *who = siteplan_api__editor(ctx, req, resp);
  if (!who || !(unit = siteplan_api__unit_id(req, resp))) return;
  if (set && !dg_config_unit(ctx->engine->cfg, unit)) {
    api_error(resp, 400, "unit: no risk unit '%.64s' in the plant model; 风险单元不存在", unit);
    return;
  }
  if (!set && siteplan_api__stored(store_reader(ctx->store), unit, &before)) {
    api_error(resp, 500, "database error");
    return;
  }
  if (!set && !before) api_error(resp, 404, "risk unit '%.64s' has no polygon on the site plan", unit);
  else if (!(j = siteplan_api__job_new(ctx, who, set ? "set" : "delete", resp))) (void)0;
  else if (snprintf(j->unit, sizeof j->unit, "%s", unit) >= (int)sizeof j->unit)
    api_error(resp, 400, "unit: at most %zu bytes", sizeof j->unit - 1);
  else if (set && siteplan_api__read_poly(ctx, req, j, resp)) (void)0;
  else {
    j->after = j->points;
    api_lane_write(ctx->store, req, resp, false, siteplan_api__work_unit, siteplan_api__changed, j);
    j = NULL;
  }
  siteplan_api__job_free(j);
  free(before);
}

static void siteplan_api__put(void *ud, const struct http_request *req, struct http_response *resp)
{
  siteplan_api__change(ud, req, resp, 1);
}

static void siteplan_api__delete(void *ud, const struct http_request *req, struct http_response *resp)
{
  siteplan_api__change(ud, req, resp, 0);
}

static const struct api_route siteplan_api__routes[] = {
  {"GET", "/api/v1/site-plan", siteplan_api__get, 0, NULL, NULL},
  {"GET", "/api/v1/site-plan/image", siteplan_api__image, 0, NULL, NULL},
  {"GET", "/api/v1/site-plan/audit", siteplan_api__audit, 0, NULL, "unit limit cursor"},
  {"POST", "/api/v1/site-plan/image", siteplan_api__upload, 0, NULL, NULL},
  {"PUT", SITEPLAN_API_UNITS "{id}", siteplan_api__put, 0, NULL, NULL},
  {"DELETE", SITEPLAN_API_UNITS "{id}", siteplan_api__delete, 0, NULL, NULL},
  /* The image's body is only read for a caller with a valid token. */
  {"POST", "/api/v1/site-plan/image", NULL, ATTACH_MAX_BYTES, api_admit, NULL},
};

struct api_routes siteplan_api_routes(void) { return API_ROUTES(siteplan_api__routes); }
