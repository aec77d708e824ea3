#include "upload.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "log.h"
#include "national.h"

struct upload__kind {
  char last_error[256];
  int64_t last_error_ms, last_ack_ms;
};

struct upload {
  uv_loop_t *loop;
  const struct dg_config *const *cfgp;
  struct store *store;
  struct httpc *httpc;
  uv_timer_t scan_timer, send_timer;
  int handles_open, jobs, in_flight, closing, scanning, rescan;
  unsigned failures;
  /* the page in flight */
  int page_kind;
  int64_t page_first, page_last;
  struct upload__kind kinds[NATIONAL_N_KINDS];
};

static const struct dg_national_upload *upload__cfg(const struct upload *u)
{
  const struct dg_config *c = *u->cfgp;
  return c && c->national ? c->national->upload : NULL;
}

static void upload__maybe_free(struct upload *u)
{
  if (u->closing && !u->handles_open && !u->in_flight && !u->jobs) free(u);
}

/* ---- encryption ------------------------------------------------------------------------------ */

char *upload_encrypt(const char *key, const char *text, size_t len)
{
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  unsigned char *ct = malloc(len + 32);
  char *out = NULL;
  int n1 = 0, n2 = 0;
  if (ctx && ct && strlen(key) == 16 &&
      EVP_EncryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, (const unsigned char *)key, (const unsigned char *)key) == 1 &&
      EVP_EncryptUpdate(ctx, ct, &n1, (const unsigned char *)text, (int)len) == 1 &&
      EVP_EncryptFinal_ex(ctx, ct + n1, &n2) == 1 && (out = malloc(4 * ((size_t)(n1 + n2) + 2) / 3 + 4)))
    EVP_EncodeBlock((unsigned char *)out, ct, n1 + n2);
  EVP_CIPHER_CTX_free(ctx);
  free(ct);
  return out;
}

/* ---- the journal: queueing changed records (writer thread) ----------------------------------- */

struct upload__item {
  int kind;
  char uuid[37], sha[65];
  char *body;
};

struct upload__batch {
  struct upload *u;
  struct upload__item *v;
  size_t n;
  int64_t now;
};

static const char *const upload__sql_state = "SELECT sha256 FROM upload_state WHERE uuid = ?1";
static const char *const upload__sql_queue =
  "INSERT INTO upload_queue (kind, uuid, body, queued_ms) VALUES (?1, ?2, ?3, ?4)";
static const char *const upload__sql_put_state =
  "INSERT OR REPLACE INTO upload_state (uuid, kind, sha256) VALUES (?1, ?2, ?3)";

static int upload__queue_one(struct store_conn *c, const struct upload__item *it, int64_t now)
{
  sqlite3_stmt *st = store_stmt(c, upload__sql_state);
  if (!st) return SQLITE_ERROR;
  store_bind_text(st, 1, it->uuid);
  int step = sqlite3_step(st);
  int same = step == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 0), it->sha);
  sqlite3_reset(st);
  if (step != SQLITE_ROW && step != SQLITE_DONE) return step;
  if (same) return SQLITE_OK;
  if (!(st = store_stmt(c, upload__sql_queue))) return SQLITE_ERROR;
  sqlite3_bind_int(st, 1, it->kind);
  store_bind_text(st, 2, it->uuid);
  store_bind_text(st, 3, it->body);
  sqlite3_bind_int64(st, 4, now);
  int rc = store_step_done(st);
  if (rc != SQLITE_OK || !(st = store_stmt(c, upload__sql_put_state))) return rc ? rc : SQLITE_ERROR;
  store_bind_text(st, 1, it->uuid);
  sqlite3_bind_int(st, 2, it->kind);
  store_bind_text(st, 3, it->sha);
  return store_step_done(st);
}

static int upload__queue_work(struct store_conn *c, void *arg)
{
  struct upload__batch *b = arg;
  int rc = SQLITE_OK;
  for (size_t i = 0; rc == SQLITE_OK && i < b->n; i++) rc = upload__queue_one(c, &b->v[i], b->now);
  return rc;
}

static void upload__pump(struct upload *u);
static void upload__on_send_timer(uv_timer_t *t);
static void upload__scan(struct upload *u);

static void upload__batch_free(struct upload__batch *b)
{
  for (size_t i = 0; i < b->n; i++) free(b->v[i].body);
  free(b->v);
  free(b);
}

static void upload__queue_done(void *arg, int rc)
{
  struct upload__batch *b = arg;
  struct upload *u = b->u;
  if (rc != SQLITE_OK) DG_WARN("upload", "queueing changed records failed: %s", sqlite3_errstr(rc));
  upload__batch_free(b);
  u->jobs--;
  u->scanning = 0;
  if (u->rescan) upload__scan(u);
  upload__pump(u);
  upload__maybe_free(u);
}

/* The document's records as items (body, digest). 0 or -ENOMEM. */
static int upload__items(const cJSON *doc, struct upload__batch *b)
{
  size_t total = 0;
  for (int k = 0; k < NATIONAL_N_KINDS; k++) total += (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(doc, national_kind_key(k)));
  if (!(b->v = calloc(total + 1, sizeof *b->v))) return -ENOMEM;
  for (int k = 0; k < NATIONAL_N_KINDS; k++) {
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(doc, national_kind_key(k)))
    {
      struct upload__item *it = &b->v[b->n];
      const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(r, "id"));
      if (!id || !(it->body = cJSON_PrintUnformatted(r))) return -ENOMEM;
      it->kind = k;
      snprintf(it->uuid, sizeof it->uuid, "%s", id);
      if (attach_sha256_hex(it->body, strlen(it->body), it->sha)) return -EIO;
      b->n++;
    }
  }
  return 0;
}

/* After the UUIDs are stored: builds the national document from what is committed and queues
 * what changed. */
static void upload__scan_ids_done(void *arg, int rc)
{
  struct upload *u = arg;
  u->jobs--;
  const struct dg_config *cfg = *u->cfgp;
  if (rc || u->closing || !upload__cfg(u)) {
    u->scanning = 0;
    upload__maybe_free(u);
    return;
  }
  cJSON *doc = national_build(cfg, store_reader(u->store), 0);
  struct upload__batch *b = calloc(1, sizeof *b);
  rc = doc && b ? upload__items(doc, b) : -ENOMEM;
  cJSON_Delete(doc);
  if (b) {
    b->u = u;
    b->now = dg_wall_ms();
  }
  if (!rc) rc = store_submit(u->store, upload__queue_work, upload__queue_done, b);
  if (rc) {
    DG_WARN("upload", "reading the records to upload failed: %s", strerror(-rc));
    if (b) upload__batch_free(b);
    u->scanning = 0;
    return;
  }
  u->jobs++;
}

/* Stores the UUIDs of new records (a writer job, not waited for), then scans. */
static void upload__scan(struct upload *u)
{
  if (u->scanning) u->rescan = 1; /* a change committed after that scan read the database */
  if (u->closing || !upload__cfg(u) || u->scanning) return;
  u->rescan = 0;
  if (national_assign_submit(*u->cfgp, u->store, upload__scan_ids_done, u)) {
    DG_WARN("upload", "storing record UUIDs failed");
    return;
  }
  u->scanning = 1;
  u->jobs++;
}

static void upload__on_scan(uv_timer_t *t)
{
  upload__scan(t->data);
}

void upload_kick(struct upload *u)
{
  if (u) upload__scan(u);
}

/* ---- sending --------------------------------------------------------------------------------- */

static const char *const upload__sql_head =
  "SELECT seq, kind, body FROM upload_queue WHERE acked_ms IS NULL ORDER BY seq LIMIT ?1";

/* The head page: consecutive pending records of the first one's type, as a JSON array text. */
static char *upload__page(struct upload *u, unsigned page_size)
{
  sqlite3_stmt *st = store_stmt(store_reader(u->store), upload__sql_head);
  if (!st) return NULL;
  sqlite3_bind_int(st, 1, (int)page_size);
  size_t len = 1, cap = 4096;
  char *text = malloc(cap);
  int n = 0;
  while (text && sqlite3_step(st) == SQLITE_ROW) {
    int kind = sqlite3_column_int(st, 1);
    if (n && kind != u->page_kind) break;
    const char *body = (const char *)sqlite3_column_text(st, 2);
    size_t bl = strlen(body);
    if (len + bl + 3 > cap) {
      char *t = realloc(text, cap = (len + bl + 3) * 2);
      if (!t) {
        free(text);
        text = NULL;
        break;
      }
      text = t;
    }
    text[len - 1 + 0] = n ? ',' : '[';
    memcpy(text + len, body, bl);
    len += bl + 1;
    u->page_kind = kind;
    if (!n++) u->page_first = sqlite3_column_int64(st, 0);
    u->page_last = sqlite3_column_int64(st, 0);
  }
  sqlite3_reset(st);
  if (text && !n) {
    free(text);
    return NULL;
  }
  if (text) {
    text[len - 1] = ']';
    text[len] = '\0';
  }
  return text;
}

struct upload__ack {
  struct upload *u;
  int kind, ok;
  int64_t first, last, now;
  char error[256];
};

static const char *const upload__sql_ack =
  "UPDATE upload_queue SET acked_ms = ?4, attempts = attempts + 1, last_error = NULL"
  " WHERE seq BETWEEN ?1 AND ?2 AND kind = ?3 AND acked_ms IS NULL";
static const char *const upload__sql_fail =
  "UPDATE upload_queue SET attempts = attempts + 1, last_error = ?4"
  " WHERE seq BETWEEN ?1 AND ?2 AND kind = ?3 AND acked_ms IS NULL";

static int upload__ack_work(struct store_conn *c, void *arg)
{
  struct upload__ack *a = arg;
  sqlite3_stmt *st = store_stmt(c, a->ok ? upload__sql_ack : upload__sql_fail);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, a->first);
  sqlite3_bind_int64(st, 2, a->last);
  sqlite3_bind_int(st, 3, a->kind);
  if (a->ok) sqlite3_bind_int64(st, 4, a->now);
  else store_bind_text(st, 4, a->error);
  return store_step_done(st);
}

static void upload__ack_done(void *arg, int rc)
{
  struct upload__ack *a = arg;
  struct upload *u = a->u;
  u->jobs--;
  u->in_flight = 0;
  if (rc != SQLITE_OK) DG_WARN("upload", "recording the platform's answer failed: %s", sqlite3_errstr(rc));
  if (a->ok && rc == SQLITE_OK) {
    u->failures = 0;
    u->kinds[a->kind].last_ack_ms = a->now;
    upload__pump(u);
  } else if (!u->closing) {
    const struct dg_national_upload *cfg = upload__cfg(u);
    unsigned shift = u->failures < 20 ? u->failures : 20;
    uint64_t delay = 1000ull << shift, cap = cfg ? cfg->max_backoff_s * 1000ull : 300000ull;
    u->failures++;
    uv_timer_start(&u->send_timer, upload__on_send_timer, delay < cap ? delay : cap, 0);
  }
  free(a);
  upload__maybe_free(u);
}

/* The platform's success: a 2xx answer whose code (top level or data.code, number or text)
 * is the configured one. Otherwise why not, into err. */
static int upload__success(long status, const char *error, const char *body, long want, char *err, size_t errlen)
{
  if (!status) {
    snprintf(err, errlen, "transport: %s", error ? error : "failed");
    return 0;
  }
  cJSON *j = body ? cJSON_Parse(body) : NULL;
  const cJSON *code = cJSON_GetObjectItem(j, "code");
  if (!code) code = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "code");
  long got = cJSON_IsNumber(code) ? (long)code->valuedouble : cJSON_IsString(code) ? strtol(code->valuestring, NULL, 10) : -1;
  const cJSON *msg = cJSON_GetObjectItem(j, "msg");
  if (!msg) msg = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "msg");
  int ok = status >= 200 && status < 300 && code && got == want;
  if (!ok)
    snprintf(err, errlen, "HTTP %ld, code %ld: %.160s", status, got,
             cJSON_IsString(msg) ? msg->valuestring : body ? body : "");
  cJSON_Delete(j);
  return ok;
}

static void upload__on_answer(void *ud, long status, const char *error, const char *body)
{
  struct upload *u = ud;
  const struct dg_national_upload *cfg = upload__cfg(u);
  struct upload__ack *a = calloc(1, sizeof *a);
  if (!a) {
    u->in_flight = 0;
    upload__maybe_free(u);
    return;
  }
  *a = (struct upload__ack){u, u->page_kind, 0, u->page_first, u->page_last, dg_wall_ms(), ""};
  a->ok = upload__success(status, error, body, cfg ? cfg->success_code : 200, a->error, sizeof a->error);
  if (!a->ok) {
    struct upload__kind *k = &u->kinds[a->kind];
    snprintf(k->last_error, sizeof k->last_error, "%s", a->error);
    k->last_error_ms = a->now;
    DG_WARN("upload", "%s (seq %lld..%lld) not taken: %s", national_kind_key(a->kind), (long long)a->first,
            (long long)a->last, a->error);
  }
  if (store_submit(u->store, upload__ack_work, upload__ack_done, a)) {
    u->in_flight = 0;
    free(a);
    upload__maybe_free(u);
    return;
  }
  u->jobs++;
}

static int upload__post(struct upload *u, const struct dg_national_upload *cfg, const char *page)
{
  char *datas = cfg->aes_key ? upload_encrypt(cfg->aes_key, page, strlen(page)) : strdup(page);
  cJSON *req = cJSON_CreateObject();
  char *body = NULL, url[1024], token[512];
  if (datas && req && cJSON_AddStringToObject(req, "datas", datas)) body = cJSON_PrintUnformatted(req);
  free(datas);
  cJSON_Delete(req);
  if (!body) return -ENOMEM;
  snprintf(url, sizeof url, "%s%s", cfg->url, cfg->paths[u->page_kind]);
  snprintf(token, sizeof token, "%s: %s", cfg->token_header, cfg->token ? cfg->token : "");
  const char *headers[] = {cfg->token ? token : NULL, NULL};
  int rc = httpc_post(u->httpc, url, "application/json; charset=utf-8", body, strlen(body), headers,
                      cfg->timeout_s * 1000u, upload__on_answer, u);
  free(body);
  return rc;
}

static void upload__pump(struct upload *u)
{
  const struct dg_national_upload *cfg = upload__cfg(u);
  if (!cfg || u->closing || u->in_flight || uv_is_active((uv_handle_t *)&u->send_timer)) return;
  char *page = upload__page(u, cfg->page_size);
  if (!page) return;
  int rc = upload__post(u, cfg, page);
  free(page);
  if (rc) {
    DG_WARN("upload", "POST failed to start: %s", strerror(-rc));
    uv_timer_start(&u->send_timer, upload__on_send_timer, 1000, 0);
    return;
  }
  u->in_flight = 1;
}

static void upload__on_send_timer(uv_timer_t *t)
{
  upload__pump(t->data);
}

/* ---- life ------------------------------------------------------------------------------------ */

int upload_start(struct upload **out, uv_loop_t *loop, const struct dg_config *const *cfgp, struct store *store,
                 struct httpc *httpc)
{
  *out = NULL;
  const struct dg_config *c = *cfgp;
  if (!c->national || !c->national->upload) return 0;
  struct upload *u = calloc(1, sizeof *u);
  if (!u) return -ENOMEM;
  *u = (struct upload){.loop = loop, .cfgp = cfgp, .store = store, .httpc = httpc};
  uv_timer_init(loop, &u->scan_timer);
  uv_timer_init(loop, &u->send_timer);
  u->scan_timer.data = u->send_timer.data = u;
  u->handles_open = 2;
  uint64_t every = c->national->upload->interval_s * 1000ull;
  uv_timer_start(&u->scan_timer, upload__on_scan, 0, every);
  *out = u;
  return 0;
}

static void upload__on_closed(uv_handle_t *h)
{
  struct upload *u = h->data;
  u->handles_open--;
  upload__maybe_free(u);
}

void upload_close(struct upload *u)
{
  if (!u) return;
  u->closing = 1;
  uv_close((uv_handle_t *)&u->scan_timer, upload__on_closed);
  uv_close((uv_handle_t *)&u->send_timer, upload__on_closed);
}

/* ---- status ---------------------------------------------------------------------------------- */

static const char *const upload__sql_status =
  "SELECT kind, count(*), min(queued_ms),"
  " (SELECT q2.last_error FROM upload_queue q2 WHERE q2.kind = q.kind AND q2.acked_ms IS NULL"
  "   AND q2.last_error IS NOT NULL ORDER BY q2.seq LIMIT 1)"
  " FROM upload_queue q WHERE acked_ms IS NULL GROUP BY kind";

cJSON *upload_status(struct upload *u, const struct dg_config *cfg, struct store_conn *reader)
{
  const struct dg_national_upload *ucfg = cfg->national ? cfg->national->upload : NULL;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddBoolToObject(o, "enabled", u && ucfg);
  if (ucfg) cJSON_AddStringToObject(o, "url", ucfg->url);
  cJSON_AddBoolToObject(o, "inFlight", u && u->in_flight);
  cJSON_AddNumberToObject(o, "failures", u ? u->failures : 0);
  cJSON *kinds = cJSON_AddArrayToObject(o, "kinds");
  cJSON *by[NATIONAL_N_KINDS];
  for (int k = 0; k < NATIONAL_N_KINDS; k++) {
    cJSON *j = by[k] = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "kind", national_kind_key(k));
    if (ucfg) cJSON_AddStringToObject(j, "path", ucfg->paths[k]);
    cJSON_AddNumberToObject(j, "pending", 0);
    cJSON_AddNullToObject(j, "oldestPendingMs");
    const struct upload__kind *s = u ? &u->kinds[k] : NULL;
    if (s && s->last_error[0]) cJSON_AddStringToObject(j, "lastError", s->last_error);
    else cJSON_AddNullToObject(j, "lastError");
    cJSON_AddNumberToObject(j, "lastErrorMs", s ? (double)s->last_error_ms : 0);
    cJSON_AddNumberToObject(j, "lastAckMs", s ? (double)s->last_ack_ms : 0);
    cJSON_AddItemToArray(kinds, j);
  }
  sqlite3_stmt *st = store_stmt(reader, upload__sql_status);
  double total = 0;
  int step = SQLITE_ERROR;
  while (st && (step = sqlite3_step(st)) == SQLITE_ROW) {
    int k = sqlite3_column_int(st, 0);
    if (k < 0 || k >= NATIONAL_N_KINDS) continue;
    total += sqlite3_column_int(st, 1);
    cJSON_ReplaceItemInObject(by[k], "pending", cJSON_CreateNumber(sqlite3_column_int(st, 1)));
    cJSON_ReplaceItemInObject(by[k], "oldestPendingMs", cJSON_CreateNumber((double)sqlite3_column_int64(st, 2)));
    const char *err = (const char *)sqlite3_column_text(st, 3);
    if (err && cJSON_IsNull(cJSON_GetObjectItem(by[k], "lastError")))
      cJSON_ReplaceItemInObject(by[k], "lastError", cJSON_CreateString(err));
  }
  if (st) sqlite3_reset(st);
  if (step != SQLITE_DONE) {
    cJSON_Delete(o);
    return NULL;
  }
  cJSON_AddNumberToObject(o, "pending", total);
  return o;
}
