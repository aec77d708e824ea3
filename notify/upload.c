#include "upload.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "log.h"
#include "national.h"
#include "upload_journal.h"

struct upload__kind {
  char last_error[256];
  int64_t last_error_ms, last_ack_ms;
};

struct upload {
  uv_loop_t *loop;
  const struct dg_config *const *cfgp;
  struct store *store;
  struct httpc *httpc;
  uv_timer_t scan_timer, send_timer, kick_timer;
  int handles_open, jobs, in_flight, closing, scanning, rescan, reconcile;
  unsigned failures;
  int single;     /* a page was refused: one record a page until the platform takes one */
  /* the page in flight */
  int page_kind;
  int64_t page_first, page_last;
  /* the journal: marks turned into versions, reconciliation counts */
  uint64_t marks_seen, recon_model, recon_missed, dead_lettered;
  int64_t recon_ms, pass_mark;
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

/* ---- the journal: turning change marks into versions (upload_journal.h) -------------------- */

static void upload__pump(struct upload *u);
static void upload__on_send_timer(uv_timer_t *t);
static void upload__scan(struct upload *u, int reconcile);

static void upload__pass_done(void *arg, int rc, const struct upload_pass_count *n)
{
  struct upload *u = arg;
  u->jobs--;
  u->scanning = 0;
  if (!rc) {
    u->marks_seen += n->marks;
    u->recon_model += n->model;
    u->recon_missed += n->missed;
    if (n->missed) DG_WARN("upload", "reconciliation found %u changed records without a change mark", n->missed);
  }
  if (u->rescan && !u->closing) upload_kick(u); /* from a timer: see upload__on_scan */
  upload__pump(u);
  upload__maybe_free(u);
}

/* A pass's document: every record of the ledger and the model, built on the store's read lane
 * (a year of a plant's inspection tasks is tens of thousands of records). */
struct upload__build {
  struct upload *u;
  const struct dg_config *cfg; /* in force while the read runs: a reload waits for reads */
  int reconcile;
  cJSON *doc;
};

static int upload__build_work(struct store_conn *c, void *arg)
{
  struct upload__build *b = arg;
  b->doc = national_build(b->cfg, c, 0);
  return b->doc ? SQLITE_OK : SQLITE_IOERR;
}

/* The loop: the document read, its records are turned into versions (upload_journal.h). */
static void upload__built(void *arg, int rc)
{
  struct upload__build *b = arg;
  struct upload *u = b->u;
  int reconcile = b->reconcile;
  cJSON *doc = b->doc;
  free(b);
  u->jobs--;
  if (u->closing) rc = -ESHUTDOWN;
  if (!rc) rc = upload_journal_pass(u->store, doc, u->pass_mark, reconcile, upload__pass_done, u); /* takes doc */
  else cJSON_Delete(doc);
  if (rc) {
    if (rc != -ESHUTDOWN) DG_WARN("upload", "reading the records to upload failed: %s", strerror(-rc));
    u->reconcile |= reconcile;
    u->scanning = 0;
    upload__maybe_free(u);
    return;
  }
  if (reconcile) u->recon_ms = dg_wall_ms();
  u->jobs++;
}

/* After the UUIDs are stored: the marks were read before (u->pass_mark), the document is built
 * from a later snapshot, so it holds every marked change with its UUID. */
static void upload__scan_ids_done(void *arg, int rc)
{
  struct upload *u = arg;
  u->jobs--;
  struct upload__build *b = NULL;
  if (rc || u->pass_mark < 0 || u->closing || !upload__cfg(u) || (!u->pass_mark && !u->reconcile)) {
    u->scanning = 0;
    if (u->rescan) upload_kick(u);
    upload__maybe_free(u);
    return;
  }
  if (!(b = calloc(1, sizeof *b))) rc = -ENOMEM;
  else *b = (struct upload__build){.u = u, .cfg = *u->cfgp, .reconcile = u->reconcile};
  /* one pass at a time (scanning): screens asking for history cannot starve it */
  if (!rc) rc = store_submit_read_uncapped(u->store, upload__build_work, upload__built, b);
  if (rc) {
    DG_WARN("upload", "reading the records to upload failed: %s", strerror(-rc));
    free(b);
    u->scanning = 0;
    upload__maybe_free(u);
    return;
  }
  u->reconcile = 0; /* asked again meanwhile: the next pass reconciles */
  u->jobs++;
}

/* Stores the UUIDs of new records (a writer job, not waited for), then runs a pass. */
static void upload__scan(struct upload *u, int reconcile)
{
  if (reconcile) u->reconcile = 1;
  if (u->scanning) u->rescan = 1; /* a change committed after that pass read the marks */
  if (u->closing || !upload__cfg(u) || u->scanning) return;
  u->rescan = 0;
  /* read before the UUIDs are stored: every marked row then has its UUID in the document */
  u->pass_mark = upload_journal_last_mark(store_reader(u->store));
  if (u->pass_mark < 0 || (!u->pass_mark && !u->reconcile)) return; /* a read error: the next tick tries again */
  if (national_assign_submit(*u->cfgp, u->store, upload__scan_ids_done, u)) {
    DG_WARN("upload", "storing record UUIDs failed");
    return;
  }
  u->scanning = 1;
  u->jobs++;
}

/* Passes start from a timer, never inside another module's callback: a plant-model edit is
 * committed and put in force within one API call, and its mark must be read with the new
 * model in force. */
static void upload__on_scan(uv_timer_t *t)
{
  upload__scan(t->data, 0);
}

void upload_kick(struct upload *u)
{
  if (u && !u->closing) uv_timer_start(&u->kick_timer, upload__on_scan, 0, 0);
}

void upload_reconcile(struct upload *u)
{
  if (!u || u->closing) return;
  u->reconcile = 1;
  upload_kick(u);
}

/* ---- sending --------------------------------------------------------------------------------- */

static const char *const upload__sql_head =
  "SELECT seq, kind, body FROM upload_queue WHERE acked_ms IS NULL AND dead_ms IS NULL ORDER BY seq LIMIT ?1";

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
  struct upload_outcome o;
};

static int upload__ack_work(struct store_conn *c, void *arg)
{
  return upload_journal_record(c, &((struct upload__ack *)arg)->o);
}

static void upload__ack_done(void *arg, int rc)
{
  struct upload__ack *a = arg;
  struct upload *u = a->u;
  const struct upload_outcome *o = &a->o;
  u->jobs--;
  u->in_flight = 0;
  if (rc != SQLITE_OK) DG_WARN("upload", "recording the platform's answer failed: %s", sqlite3_errstr(rc));
  if (rc == SQLITE_OK && o->dead) {
    u->dead_lettered++;
    DG_WARN("upload", "%s seq %lld set aside (dead letter) after the platform refused it: %s",
            national_kind_key(o->kind), (long long)o->first, o->error);
  }
  if (rc == SQLITE_OK && (o->answer == UPLOAD_TAKEN || o->dead)) {
    u->failures = 0;
    if (o->answer == UPLOAD_TAKEN) {
      u->single = 0;
      u->kinds[o->kind].last_ack_ms = o->now;
    }
    upload__pump(u);
  } else if (!u->closing) {
    const struct dg_national_upload *cfg = upload__cfg(u);
    /* a refused page is sent again one record at a time, to find the record refused */
    if (o->answer == UPLOAD_REFUSED && o->first != o->last) u->single = 1;
    unsigned shift = u->failures < 20 ? u->failures : 20;
    uint64_t delay = 1000ull << shift, cap = cfg ? cfg->max_backoff_s * 1000ull : 300000ull;
    u->failures++;
    uv_timer_start(&u->send_timer, upload__on_send_timer, delay < cap ? delay : cap, 0);
  }
  free(a);
  upload__maybe_free(u);
}

static int upload__refuse_code(const struct dg_national_upload *cfg, long code)
{
  for (size_t i = 0; cfg && i < cfg->n_refuse_codes; i++)
    if (cfg->refuse_codes[i] == code) return 1;
  return 0;
}

/* Classifies the platform's answer into o: taken (2xx and its code, top level or data.code,
 * number or text, is success_code); refused (the platform read the page and said no: a 2xx
 * with another code, or HTTP 400, 413, 422), which counts against the record; anything else
 * (transport, timeout, 5xx, 401, 403, 408, 429 …) is transient and only delays the queue. */
static void upload__classify(const struct dg_national_upload *cfg, long status, const char *error, const char *body,
                             struct upload_outcome *o)
{
  long want = cfg ? cfg->success_code : 200;
  if (!status) {
    o->answer = UPLOAD_TRANSIENT;
    snprintf(o->error, sizeof o->error, "transport: %s", error ? error : "failed");
    return;
  }
  cJSON *j = body ? cJSON_Parse(body) : NULL;
  const cJSON *code = cJSON_GetObjectItem(j, "code");
  if (!code) code = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "code");
  long got = cJSON_IsNumber(code) ? (long)code->valuedouble : cJSON_IsString(code) ? strtol(code->valuestring, NULL, 10) : -1;
  const cJSON *msg = cJSON_GetObjectItem(j, "msg");
  if (!msg) msg = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "msg");
  int ok2xx = status >= 200 && status < 300;
  if (ok2xx && code && got == want) o->answer = UPLOAD_TAKEN;
  else if ((ok2xx && code) || status == 400 || status == 413 || status == 422) o->answer = UPLOAD_REFUSED;
  else o->answer = UPLOAD_TRANSIENT;
  if (o->answer != UPLOAD_TAKEN)
    snprintf(o->error, sizeof o->error, "HTTP %ld, code %ld: %.160s", status, got,
             cJSON_IsString(msg) ? msg->valuestring : body ? body : "");
  o->dead_letter = o->answer == UPLOAD_REFUSED && upload__refuse_code(cfg, got);
  o->max_refusals = cfg ? cfg->max_refusals : 5;
  cJSON_Delete(j);
}

static void upload__on_answer(void *ud, long status, const char *error, const char *body)
{
  struct upload *u = ud;
  struct upload__ack *a = calloc(1, sizeof *a);
  if (!a) {
    u->in_flight = 0;
    upload__maybe_free(u);
    return;
  }
  a->u = u;
  a->o = (struct upload_outcome){.kind = u->page_kind, .first = u->page_first, .last = u->page_last,
                                 .now = dg_wall_ms()};
  upload__classify(upload__cfg(u), status, error, body, &a->o);
  if (a->o.answer != UPLOAD_TAKEN) {
    struct upload__kind *k = &u->kinds[a->o.kind];
    snprintf(k->last_error, sizeof k->last_error, "%s", a->o.error);
    k->last_error_ms = a->o.now;
    DG_WARN("upload", "%s (seq %lld..%lld) not taken: %s", national_kind_key(a->o.kind), (long long)a->o.first,
            (long long)a->o.last, a->o.error);
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
  char *page = upload__page(u, u->single ? 1 : cfg->page_size);
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
  if (!c->national || !c->national->upload) return upload_journal_drop_marks(store);
  struct upload *u = calloc(1, sizeof *u);
  if (!u) return -ENOMEM;
  *u = (struct upload){.loop = loop, .cfgp = cfgp, .store = store, .httpc = httpc};
  uv_timer_init(loop, &u->scan_timer);
  uv_timer_init(loop, &u->send_timer);
  uv_timer_init(loop, &u->kick_timer);
  u->scan_timer.data = u->send_timer.data = u->kick_timer.data = u;
  u->handles_open = 3;
  u->reconcile = 1; /* the safety net: the model file may have changed, and marks must have covered the rest */
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
  uv_close((uv_handle_t *)&u->kick_timer, upload__on_closed);
}

/* ---- status ---------------------------------------------------------------------------------- */

static const char *const upload__sql_status =
  "SELECT kind, sum(dead_ms IS NULL), min(CASE WHEN dead_ms IS NULL THEN queued_ms END),"
  " (SELECT q2.last_error FROM upload_queue q2 WHERE q2.kind = q.kind AND q2.acked_ms IS NULL"
  "   AND q2.last_error IS NOT NULL AND q2.retried_ms IS NULL ORDER BY q2.seq DESC LIMIT 1),"
  " sum(dead_ms IS NOT NULL), min(CASE WHEN dead_ms IS NOT NULL THEN seq END)"
  " FROM upload_queue q WHERE acked_ms IS NULL AND retried_ms IS NULL GROUP BY kind";

static void upload__status_row(cJSON *j, sqlite3_stmt *st)
{
  cJSON_ReplaceItemInObject(j, "pending", cJSON_CreateNumber(sqlite3_column_int(st, 1)));
  if (sqlite3_column_type(st, 2) != SQLITE_NULL)
    cJSON_ReplaceItemInObject(j, "oldest_pending_ms", cJSON_CreateNumber((double)sqlite3_column_int64(st, 2)));
  const char *err = (const char *)sqlite3_column_text(st, 3);
  if (err && cJSON_IsNull(cJSON_GetObjectItem(j, "last_error")))
    cJSON_ReplaceItemInObject(j, "last_error", cJSON_CreateString(err));
  cJSON_ReplaceItemInObject(j, "dead_lettered", cJSON_CreateNumber(sqlite3_column_int(st, 4)));
  if (sqlite3_column_type(st, 5) != SQLITE_NULL)
    cJSON_ReplaceItemInObject(j, "oldest_dead_seq", cJSON_CreateNumber((double)sqlite3_column_int64(st, 5)));
}

static void upload__status_journal(struct upload *u, cJSON *o, struct store_conn *reader)
{
  cJSON *j = cJSON_AddObjectToObject(o, "journal");
  sqlite3_stmt *st = store_stmt(reader, "SELECT count(*) FROM upload_marks");
  cJSON_AddNumberToObject(j, "marks_waiting", st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0);
  if (st) sqlite3_reset(st);
  cJSON_AddNumberToObject(j, "marks_consumed", u ? (double)u->marks_seen : 0);
  cJSON_AddNumberToObject(j, "reconciled_at_ms", u ? (double)u->recon_ms : 0);
  cJSON_AddNumberToObject(j, "reconciled_model", u ? (double)u->recon_model : 0);
  cJSON_AddNumberToObject(j, "reconciled_missed", u ? (double)u->recon_missed : 0);
  cJSON_AddNumberToObject(j, "dead_lettered_since_start", u ? (double)u->dead_lettered : 0);
}

cJSON *upload_status(struct upload *u, const struct dg_config *cfg, struct store_conn *reader)
{
  const struct dg_national_upload *ucfg = cfg->national ? cfg->national->upload : NULL;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddBoolToObject(o, "enabled", u && ucfg);
  if (ucfg) cJSON_AddStringToObject(o, "url", ucfg->url);
  cJSON_AddBoolToObject(o, "in_flight", u && u->in_flight);
  cJSON_AddNumberToObject(o, "failures", u ? u->failures : 0);
  cJSON *kinds = cJSON_AddArrayToObject(o, "kinds");
  cJSON *by[NATIONAL_N_KINDS];
  for (int k = 0; k < NATIONAL_N_KINDS; k++) {
    cJSON *j = by[k] = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "kind", national_kind_key(k));
    if (ucfg) cJSON_AddStringToObject(j, "path", ucfg->paths[k]);
    cJSON_AddNumberToObject(j, "pending", 0);
    cJSON_AddNullToObject(j, "oldest_pending_ms");
    const struct upload__kind *s = u ? &u->kinds[k] : NULL;
    if (s && s->last_error[0]) cJSON_AddStringToObject(j, "last_error", s->last_error);
    else cJSON_AddNullToObject(j, "last_error");
    cJSON_AddNumberToObject(j, "last_error_ms", s ? (double)s->last_error_ms : 0);
    cJSON_AddNumberToObject(j, "last_ack_ms", s ? (double)s->last_ack_ms : 0);
    cJSON_AddNumberToObject(j, "dead_lettered", 0);
    cJSON_AddNullToObject(j, "oldest_dead_seq");
    cJSON_AddItemToArray(kinds, j);
  }
  sqlite3_stmt *st = store_stmt(reader, upload__sql_status);
  double total = 0, dead = 0;
  int step = SQLITE_ERROR;
  while (st && (step = sqlite3_step(st)) == SQLITE_ROW) {
    int k = sqlite3_column_int(st, 0);
    if (k < 0 || k >= NATIONAL_N_KINDS) continue;
    total += sqlite3_column_int(st, 1);
    dead += sqlite3_column_int(st, 4);
    upload__status_row(by[k], st);
  }
  if (st) sqlite3_reset(st);
  if (step != SQLITE_DONE) {
    cJSON_Delete(o);
    return NULL;
  }
  cJSON_AddNumberToObject(o, "pending", total);
  cJSON_AddNumberToObject(o, "dead_lettered", dead);
  upload__status_journal(u, o, reader);
  return o;
}
