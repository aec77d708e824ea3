#include "api_attach.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_lane.h"
#include "attach.h"
#include "govern.h"
#include "hazard_flow.h"
#include "ledger.h"
#include "log.h"

#define ATTACH_API_NOTE_MAX 1000

static const char *const attach_api__stages[] = {"discover", "rectify", "verify"};

/* ---- the store job: the file on disk, its row and the hazard's journal entry ---------------- */

struct attach_api__job {
  const char *dir;
  const char *buf;
  size_t len;
  const char *type, *ext, *stage, *uploader, *note;
  int64_t hazard_id, task_id, now_ms;
  int state;               /* the hazard's state, journaled as from and to */
  int document;            /* a major hazard's document (stage assessment or plan), PDF allowed */
  int level;               /* the hazard's danger_level */
  char comment[1200];
  /* results */
  char sha256[ATTACH_SHA256_HEX];
  char file[96];
  int64_t id;
  int disk_rc;
};

static const char *const attach_api__sql_insert =
  "INSERT INTO attachments (hazard_id, task_id, stage, sha256, size, content_type, file, uploader, note, created_ms)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char *const attach_api__sql_journal =
  "INSERT INTO hazard_journal (hazard_id, ts_ms, actor, action, from_state, to_state, comment)"
  " VALUES (?1, ?2, ?3, ?6, ?4, ?4, ?5)";

static void attach_api__bind_id(sqlite3_stmt *st, int i, int64_t id)
{
  if (id) sqlite3_bind_int64(st, i, id);
  else sqlite3_bind_null(st, i);
}

static int attach_api__journal(struct store_conn *c, struct attach_api__job *j)
{
  sqlite3_stmt *st = store_stmt(c, attach_api__sql_journal);
  if (!st) return SQLITE_ERROR;
  snprintf(j->comment, sizeof j->comment, "%s %s #%lld sha256 %.12s…%s%s", j->stage,
           j->document ? "document" : "photo", (long long)j->id, j->sha256, j->note ? ": " : "", j->note ? j->note : "");
  sqlite3_bind_int64(st, 1, j->hazard_id);
  sqlite3_bind_int64(st, 2, j->now_ms);
  store_bind_text(st, 3, j->uploader);
  sqlite3_bind_int(st, 4, j->state);
  store_bind_text(st, 5, j->comment);
  store_bind_text(st, 6, j->document ? "document" : "photo");
  return store_step_done(st);
}

/* Writer thread: the file is durable before the row naming it commits. Running it again after
 * a rollback finds the file in place and inserts the row again. */
static int attach_api__work(struct store_conn *c, void *arg)
{
  struct attach_api__job *j = arg;
  int rc = attach_store(j->dir, j->buf, j->len, j->ext, j->sha256, j->file, sizeof j->file);
  j->disk_rc = rc;
  if (rc) return rc;
  sqlite3_stmt *st = store_stmt(c, attach_api__sql_insert);
  if (!st) return SQLITE_ERROR;
  attach_api__bind_id(st, 1, j->hazard_id);
  attach_api__bind_id(st, 2, j->task_id);
  store_bind_text(st, 3, j->stage);
  store_bind_text(st, 4, j->sha256);
  sqlite3_bind_int64(st, 5, (sqlite3_int64)j->len);
  store_bind_text(st, 6, j->type);
  store_bind_text(st, 7, j->file);
  store_bind_text(st, 8, j->uploader);
  store_bind_text(st, 9, j->note);
  sqlite3_bind_int64(st, 10, j->now_ms);
  if ((rc = store_step_done(st)) != SQLITE_OK) return rc;
  j->id = sqlite3_last_insert_rowid(store_conn_db(c));
  return j->hazard_id ? attach_api__journal(c, j) : SQLITE_OK;
}

/* An upload on its way to the writer: its job and what the job points into (the bytes, the
 * note, the uploader), owned until it is answered. */
struct attach_api__op {
  struct attach_api__job j;
  char *body, *note, *uploader;
};

static void attach_api__op_free(struct attach_api__op *op)
{
  if (!op) return;
  free(op->body);
  free(op->note);
  free(op->uploader);
  free(op);
}

static const char *const attach_api__sql_unmoved =
  "SELECT 1 FROM hazards WHERE id = ?1 AND danger_state = ?2 AND dismissed = 0";

/* Writer thread: the upload was checked against the hazard as the loop's reader saw it, without
 * waiting for jobs queued before it; a hazard that has moved since (closed, dismissed, or in
 * another step) gets nothing (-ESTALE). */
static int attach_api__op_work(struct store_conn *c, void *arg)
{
  struct attach_api__job *j = &((struct attach_api__op *)arg)->j;
  if (j->hazard_id) {
    sqlite3_stmt *st = store_stmt(c, attach_api__sql_unmoved);
    if (!st) return SQLITE_ERROR;
    sqlite3_bind_int64(st, 1, j->hazard_id);
    sqlite3_bind_int(st, 2, j->state);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return -ESTALE;
    if (rc != SQLITE_ROW) return rc;
  }
  return attach_api__work(c, j);
}

/* ---- POST .../{id}/photos --------------------------------------------------------------------- */

static const char *const attach_api__sql_hazard =
  "SELECT danger_state, dismissed, rectifier, danger_level FROM hazards WHERE id = ?1";
static const char *const attach_api__sql_task = "SELECT id FROM inspection_tasks WHERE id = ?1";

/* Loads what the upload needs of its hazard or task: 1 found, 0 not found, negative on error. */
static int attach_api__target(struct api_ctx *ctx, struct attach_api__job *j, int *dismissed, int *rectified)
{
  sqlite3_stmt *st = store_stmt(store_reader(ctx->store), j->hazard_id ? attach_api__sql_hazard : attach_api__sql_task);
  if (!st) return -EIO;
  sqlite3_bind_int64(st, 1, j->hazard_id ? j->hazard_id : j->task_id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && j->hazard_id) {
    j->state = sqlite3_column_int(st, 0);
    *dismissed = sqlite3_column_int(st, 1);
    *rectified = sqlite3_column_type(st, 2) != SQLITE_NULL;
    j->level = sqlite3_column_int(st, 3);
  }
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

static const char *const attach_api__sql_person_bytes =
  "SELECT COALESCE(SUM(size), 0) FROM attachments WHERE uploader = ?1 AND created_ms > ?2";
static const char *const attach_api__sql_total_bytes =
  "SELECT COALESCE(SUM(size), 0) FROM (SELECT MAX(size) AS size FROM attachments GROUP BY sha256)";

static int64_t attach_api__bytes(struct store_conn *c, const char *sql, const char *person, int64_t since_ms)
{
  sqlite3_stmt *st = store_stmt(c, sql);
  if (!st) return -1;
  if (person) {
    store_bind_text(st, 1, person);
    sqlite3_bind_int64(st, 2, since_ms);
  }
  int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_reset(st);
  return n;
}

/* ledger.upload_quota: what the uploader sent in the last 24 h (429) and what all stored photos
 * take (507), each with this upload. Answers and returns negative when over. */
static int attach_api__quota(struct api_ctx *ctx, const struct attach_api__job *j, struct http_response *resp)
{
  const struct dg_config *cfg = ctx->engine->cfg;
  struct store_conn *c = store_reader(ctx->store);
  int64_t mine = attach_api__bytes(c, attach_api__sql_person_bytes, j->uploader, j->now_ms - 86400000);
  int64_t all = attach_api__bytes(c, attach_api__sql_total_bytes, NULL, 0);
  if (mine < 0 || all < 0) {
    api_error(resp, 500, "database error");
    return -EIO;
  }
  if (mine + (int64_t)j->len > (int64_t)cfg->upload_person_day_mib << 20) {
    api_error(resp, 429, "upload quota: %s may upload %u MiB of photos in 24 h (%lld bytes used); 上传配额已用完",
              j->uploader, (unsigned)cfg->upload_person_day_mib, (long long)mine);
    return -EDQUOT;
  }
  if (all + (int64_t)j->len > (int64_t)cfg->upload_total_mib << 20) {
    DG_LOG_RL(DG_LOG_WARN, "attach", "photo storage quota of %u MiB reached (%lld bytes stored)",
              (unsigned)cfg->upload_total_mib, (long long)all);
    api_error(resp, 507, "photo storage full: %u MiB in total (ledger.upload_quota.total_mib); 附件存储已满",
              (unsigned)cfg->upload_total_mib);
    return -EDQUOT;
  }
  return 0;
}

/* Without ?stage=, a hazard photo belongs to the step the hazard is in. */
static const char *attach_api__default_stage(int state, int rectified)
{
  if (state == HAZARD_ACCEPTED) return "verify";
  if (state == HAZARD_PENDING_ACCEPTANCE || (state == HAZARD_RECTIFYING && rectified)) return "rectify";
  return "discover";
}

/* Query and body checks; answers 400/415 and returns negative on bad input. */
static int attach_api__input(const struct http_request *req, struct http_response *resp, struct attach_api__job *j,
                             char *note, size_t notelen)
{
  char stage[16];
  int has_stage = api_query_text(req, "stage", stage, sizeof stage, resp);
  if (has_stage < 0) return -EINVAL;
  if (j->document) {
    if (has_stage && govern_is_document_stage(stage)) j->stage = !strcmp(stage, "plan") ? "plan" : "assessment";
    else {
      api_error(resp, 400, "stage: expected assessment (评估报告书) or plan (治理方案)");
      return -EINVAL;
    }
  } else if (has_stage) {
    j->stage = NULL;
    for (size_t i = 0; j->hazard_id && i < sizeof attach_api__stages / sizeof attach_api__stages[0]; i++)
      if (strcmp(stage, attach_api__stages[i]) == 0) j->stage = attach_api__stages[i];
    if (!j->stage) {
      api_error(resp, 400, "stage: %s", j->hazard_id ? "expected discover, rectify or verify" : "only for hazard photos");
      return -EINVAL;
    }
  }
  int n = http_query_get(req->query, "note", note, notelen);
  if (n > ATTACH_API_NOTE_MAX || n == -2) {
    api_error(resp, 400, "note: at most %d bytes of text", ATTACH_API_NOTE_MAX);
    return -EINVAL;
  }
  j->note = n > 0 ? note : NULL;
  int rc = attach_sniff(req->content_type, req->body, req->body_len, &j->type, &j->ext);
  if (rc == -EPROTONOSUPPORT || (!rc && !j->document && !strcmp(j->type, "application/pdf"))) {
    api_error(resp, 415, "Content-Type: expected image/jpeg, image/png or image/webp%s",
              j->document ? " or application/pdf" : " (a PDF is accepted as a major hazard's document)");
    return -EPROTONOSUPPORT;
  }
  if (rc || !req->body_len) {
    api_error(resp, 400, "body: expected the bytes of a %s file (they are not)", req->content_type);
    return -EINVAL;
  }
  j->buf = req->body;
  j->len = req->body_len;
  return 0;
}

static void attach_api__answer(struct http_response *resp, const struct attach_api__job *j)
{
  char url[64];
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", (double)j->id);
  if (j->hazard_id) cJSON_AddNumberToObject(o, "hazard_id", (double)j->hazard_id);
  else cJSON_AddNumberToObject(o, "task_id", (double)j->task_id);
  api_json_text(o, "stage", j->stage);
  cJSON_AddStringToObject(o, "sha256", j->sha256);
  cJSON_AddNumberToObject(o, "size", (double)j->len);
  cJSON_AddStringToObject(o, "content_type", j->type);
  api_json_text(o, "note", j->note);
  snprintf(url, sizeof url, "/api/v1/attachments/%lld", (long long)j->id);
  cJSON_AddStringToObject(o, "url", url);
  api_reply(resp, 201, o);
}

/* Loop thread, once the upload is committed (or could not be): answers, frees the operation. */
static void attach_api__written(void *arg, int rc, struct http_response *resp)
{
  struct attach_api__op *op = arg;
  struct attach_api__job *j = &op->j;
  const char *what = j->document ? "document" : "photo";
  if (rc == 0) {
    DG_INFO("attach", "%s %lld: %s %lld (%zu bytes, %s) by %s", j->hazard_id ? "hazard" : "inspection task",
            (long long)(j->hazard_id ? j->hazard_id : j->task_id), what, (long long)j->id, j->len, j->file,
            j->uploader);
    attach_api__answer(resp, j);
  } else if (rc == -ESHUTDOWN) {
    api_error(resp, 503, "database unavailable");
  } else if (rc == -ESTALE) {
    DG_INFO("attach", "hazard %lld: %s by %s refused: it moved meanwhile", (long long)j->hazard_id, what, j->uploader);
    api_error(resp, 409, "hazard %lld changed meanwhile; the %s was not stored", (long long)j->hazard_id, what);
  } else if (j->disk_rc) {
    DG_ERR("attach", "%s not stored in %s: %s", what, j->dir, strerror(-j->disk_rc));
    api_error(resp, 500, "%s not stored (attachments directory: %s)", what, strerror(-j->disk_rc));
  } else {
    api_error(resp, 500, "%s not stored (database error)", what);
  }
  attach_api__op_free(op);
}

static int attach_api__path(const char *path, struct attach_api__job *j)
{
  long long id;
  int n = 0;
  if (sscanf(path, "/api/v1/hazards/%lld/photos%n", &id, &n) == 1 && !path[n] && id > 0) j->hazard_id = id;
  else if (sscanf(path, "/api/v1/hazards/%lld/documents%n", &id, &n) == 1 && !path[n] && id > 0) {
    j->hazard_id = id;
    j->document = 1;
  }
  else if (sscanf(path, "/api/v1/inspections/%lld/photos%n", &id, &n) == 1 && !path[n] && id > 0) j->task_id = id;
  else return -ENOENT;
  return 0;
}

/* Checks the upload against its hazard or task and hands it to the writer, which answers once
 * it is committed (true: the operation is the commit's now); or answers the refusal. */
static bool attach_api__store(struct api_ctx *ctx, struct attach_api__op *op, const struct http_request *req,
                              struct http_response *resp)
{
  struct attach_api__job *j = &op->j;
  int dismissed = 0, rectified = 0;
  int found = attach_api__target(ctx, j, &dismissed, &rectified);
  if (found <= 0) {
    const char *what = found ? "database error" : j->hazard_id ? "no such hazard" : "no such inspection task";
    api_error(resp, found ? 500 : 404, "%s", what);
    return false;
  }
  if (dismissed) {
    api_error(resp, 409, "the report was dismissed as not a hazard (已撤销); it is closed");
    return false;
  }
  if (j->document && (j->level != 1 || j->state == HAZARD_REVIEWING)) {
    api_error(resp, 409, "documents (评估报告书, 治理方案) belong to a major hazard (重大隐患) in the ledger");
    return false;
  }
  if (j->hazard_id && j->state == HAZARD_ACCEPTED) {
    api_error(resp, 409, "the hazard is closed (已验收); photos are taken before it is accepted");
    return false;
  }
  if (attach_api__quota(ctx, j, resp)) return false;
  if (j->hazard_id && !j->stage) j->stage = attach_api__default_stage(j->state, rectified);
  op->body = malloc(j->len);
  op->uploader = strdup(j->uploader);
  if (!op->body || !op->uploader) {
    api_error(resp, 500, "out of memory");
    return false;
  }
  memcpy(op->body, j->buf, j->len); /* the request's buffer goes with its connection */
  j->buf = op->body;
  j->uploader = op->uploader;
  api_lane_write(ctx->store, req, resp, false, attach_api__op_work, attach_api__written, op);
  return true;
}

int attach_api_upload(struct api_ctx *ctx, const struct http_request *req, struct http_response *resp)
{
  size_t plen = strlen(req->path), qlen = strlen(req->query) + 1;
  if ((plen < 7 || strcmp(req->path + plen - 7, "/photos") != 0) &&
      (plen < 10 || strcmp(req->path + plen - 10, "/documents") != 0))
    return 0;
  const struct dg_person *who = api_caller(ctx, req);
  struct attach_api__op *op = calloc(1, sizeof *op);
  char *note = op ? malloc(qlen) : NULL; /* a decoded value is never longer than the query */
  if (!note) {
    free(op);
    api_error(resp, 500, "out of memory");
    return 1;
  }
  op->note = note;
  op->j = (struct attach_api__job){.dir = ctx->attachments_dir, .now_ms = dg_wall_ms()};
  if (attach_api__path(req->path, &op->j))
    api_error(resp, 404, "not found: POST /api/v1/{hazards|inspections}/{id}/photos or /api/v1/hazards/{id}/documents");
  else if (!who) api_error(resp, 401, "Authorization: a valid bearer token is required");
  else if (!(govern_rights(ctx->engine->cfg, who) & HAZARD_RIGHT_REPORT))
    api_error(resp, 403, "%s has no role that may upload photos (roles operator, workshop_director, engineer,"
              " safety_director, principal, admin)", who->id);
  else if (!attach_api__input(req, resp, &op->j, note, qlen)) {
    op->j.uploader = who->id;
    if (attach_api__store(ctx, op, req, resp)) op = NULL;
  }
  attach_api__op_free(op);
  return 1;
}

/* ---- lists and GET /api/v1/attachments/{id} ---------------------------------------------------- */

#define ATTACH_API_COLS "SELECT id, sha256, size, content_type, stage, uploader, note, created_ms FROM attachments"
static const char *const attach_api__sql_by_hazard = ATTACH_API_COLS " WHERE hazard_id = ?1 ORDER BY id";
static const char *const attach_api__sql_by_task = ATTACH_API_COLS " WHERE task_id = ?1 ORDER BY id";

cJSON *attach_api_list(struct store_conn *c, int64_t hazard_id, int64_t task_id)
{
  static const char *const keys[] = {"id", "sha256", "size", "content_type", "stage", "uploader", "note", "ts_ms"};
  cJSON *arr = cJSON_CreateArray();
  sqlite3_stmt *st = store_stmt(c, hazard_id ? attach_api__sql_by_hazard : attach_api__sql_by_task);
  if (!st) return arr;
  sqlite3_bind_int64(st, 1, hazard_id ? hazard_id : task_id);
  while (sqlite3_step(st) == SQLITE_ROW) {
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < (int)(sizeof keys / sizeof keys[0]); i++) {
      int t = sqlite3_column_type(st, i);
      if (t == SQLITE_NULL) cJSON_AddNullToObject(o, keys[i]);
      else if (t == SQLITE_INTEGER) cJSON_AddNumberToObject(o, keys[i], (double)sqlite3_column_int64(st, i));
      else cJSON_AddStringToObject(o, keys[i], (const char *)sqlite3_column_text(st, i));
    }
    cJSON_AddItemToArray(arr, o);
  }
  sqlite3_reset(st);
  return arr;
}

static const char *const attach_api__sql_one = "SELECT sha256, size, content_type, file FROM attachments WHERE id = ?1";

struct attach_api__row {
  char sha256[ATTACH_SHA256_HEX];
  char type[64];
  char file[96];
  int64_t size;
};

/* 1 found, 0 none, negative on error. */
static int attach_api__load(struct api_ctx *ctx, long long id, struct attach_api__row *r)
{
  sqlite3_stmt *st = store_stmt(store_reader(ctx->store), attach_api__sql_one);
  if (!st) return -EIO;
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    snprintf(r->sha256, sizeof r->sha256, "%s", (const char *)sqlite3_column_text(st, 0));
    r->size = sqlite3_column_int64(st, 1);
    snprintf(r->type, sizeof r->type, "%s", (const char *)sqlite3_column_text(st, 2));
    snprintf(r->file, sizeof r->file, "%s", (const char *)sqlite3_column_text(st, 3));
  }
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

static void attach_api__get(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct attach_api__row r;
  long long id;
  int n = 0;
  if (sscanf(req->path, "/api/v1/attachments/%lld%n", &id, &n) != 1 || req->path[n] || id <= 0) {
    api_error(resp, 404, "not found");
    return;
  }
  int found = attach_api__load(ctx, id, &r);
  if (found <= 0) {
    api_error(resp, found ? 500 : 404, found ? "database error" : "no such attachment");
    return;
  }
  char *buf = NULL;
  size_t len = 0;
  const char *type = NULL, *ext;
  int rc = attach_read(ctx->attachments_dir, r.file, r.sha256, r.size, &buf, &len);
  if (!rc && attach_sniff(r.type, buf, len, &type, &ext)) rc = -EBADMSG;
  if (rc) {
    DG_ERR("attach", "attachment %lld: %s/%s %s", id, ctx->attachments_dir, r.file,
           rc == -EBADMSG ? "no longer matches its size and SHA-256 (damaged)" : strerror(-rc));
    free(buf);
    const char *what = rc == -ENOENT ? "missing" : rc == -EBADMSG ? "damaged" : "unreadable";
    api_error(resp, 500, "attachment %lld: file %s", id, what);
    return;
  }
  resp->content_type = type; /* a static string: outlives this handler */
  resp->body = buf;
  resp->body_len = len;
}

static void attach_api__documents(void *ud, const struct http_request *req, struct http_response *resp)
{
  attach_api_upload(ud, req, resp);
}

static const struct api_route attach_api__routes[] = {
  {"GET", "/api/v1/attachments/{id}", attach_api__get, 0, NULL, NULL},
  {"POST", "/api/v1/hazards/{id}/documents", attach_api__documents, 0, NULL, "stage note"},
  {"POST", "/api/v1/hazards/*/documents", NULL, ATTACH_MAX_BYTES, api_admit, NULL},
  /* A photo's body is only read for a caller with a valid token. */
  {"POST", "/api/v1/hazards/*/photos", NULL, ATTACH_MAX_BYTES, api_admit, NULL},
  {"POST", "/api/v1/inspections/*/photos", NULL, ATTACH_MAX_BYTES, api_admit, NULL},
};

struct api_routes attach_api_routes(void) { return API_ROUTES(attach_api__routes); }
