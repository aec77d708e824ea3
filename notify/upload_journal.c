#include "upload_journal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "log.h"
#include "national.h"

struct upload_journal__item {
  int kind, wanted;       /* wanted: 1 by a mark, 2 by reconciliation only */
  const cJSON *rec;       /* in the pass's document */
  const char *uuid;
};

struct upload_journal__pass {
  cJSON *doc;
  struct upload_journal__item *v;
  size_t n;
  size_t start[NATIONAL_N_KINDS + 1]; /* items of kind k: [start[k], start[k + 1]) */
  int64_t max_mark, now;
  int reconcile;
  struct upload_pass_count count;
  upload_pass_done_fn done;
  void *arg;
};

int64_t upload_journal_last_mark(struct store_conn *reader)
{
  sqlite3_stmt *st = store_stmt(reader, "SELECT COALESCE(max(seq), 0) FROM upload_marks");
  if (!st) return -EIO;
  int64_t seq = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -EIO;
  sqlite3_reset(st);
  return seq;
}

static int upload_journal__drop_work(struct store_conn *c, void *arg)
{
  (void)arg;
  sqlite3_stmt *st = store_stmt(c, "DELETE FROM upload_marks");
  return st ? store_step_done(st) : SQLITE_ERROR;
}

static void upload_journal__drop_done(void *arg, int rc)
{
  (void)arg;
  if (rc != SQLITE_OK) DG_WARN("upload", "dropping change marks failed: %s", sqlite3_errstr(rc));
}

int upload_journal_drop_marks(struct store *s)
{
  return store_submit(s, upload_journal__drop_work, upload_journal__drop_done, NULL);
}

/* ---- a pass (writer thread) ------------------------------------------------------------------- */

static const char *const upload_journal__sql_state = "SELECT sha256 FROM upload_state WHERE uuid = ?1";
static const char *const upload_journal__sql_queue =
  "INSERT INTO upload_queue (kind, uuid, body, queued_ms) VALUES (?1, ?2, ?3, ?4)";
static const char *const upload_journal__sql_put_state =
  "INSERT OR REPLACE INTO upload_state (uuid, kind, sha256) VALUES (?1, ?2, ?3)";

/* Appends the item's version unless it is the last one queued. *queued says whether it was. */
static int upload_journal__queue_one(struct store_conn *c, const struct upload_journal__item *it, int64_t now,
                                     int *queued)
{
  char sha[65];
  char *body = cJSON_PrintUnformatted(it->rec);
  *queued = 0;
  if (!body) return SQLITE_NOMEM;
  int rc = attach_sha256_hex(body, strlen(body), sha) ? SQLITE_ERROR : SQLITE_OK;
  sqlite3_stmt *st = rc ? NULL : store_stmt(c, upload_journal__sql_state);
  if (!st) rc = SQLITE_ERROR;
  int same = 0;
  if (st) {
    store_bind_text(st, 1, it->uuid);
    int step = sqlite3_step(st);
    same = step == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 0), sha);
    if (step != SQLITE_ROW && step != SQLITE_DONE) rc = step;
    sqlite3_reset(st);
  }
  if (rc || same) goto out;
  if (!(st = store_stmt(c, upload_journal__sql_queue))) {
    rc = SQLITE_ERROR;
    goto out;
  }
  sqlite3_bind_int(st, 1, it->kind);
  store_bind_text(st, 2, it->uuid);
  store_bind_text(st, 3, body);
  sqlite3_bind_int64(st, 4, now);
  if ((rc = store_step_done(st)) != SQLITE_OK) goto out;
  if (!(st = store_stmt(c, upload_journal__sql_put_state))) {
    rc = SQLITE_ERROR;
    goto out;
  }
  store_bind_text(st, 1, it->uuid);
  sqlite3_bind_int(st, 2, it->kind);
  store_bind_text(st, 3, sha);
  rc = store_step_done(st);
  *queued = rc == SQLITE_OK;
out:
  free(body);
  return rc;
}

static const char *const upload_journal__sql_marks =
  "SELECT m.kind, n.uuid FROM upload_marks m LEFT JOIN national_ids n ON n.key = m.key AND n.kind ="
  " CASE m.kind WHEN 5 THEN 'record' WHEN 6 THEN 'hazard' WHEN 7 THEN 'shutdown' WHEN 8 THEN 'report'"
  " WHEN 9 THEN 'commitment' END"
  " WHERE m.seq <= ?1 ORDER BY m.seq";
static const char *const upload_journal__sql_unmark = "DELETE FROM upload_marks WHERE seq <= ?1";

static void upload_journal__want(struct upload_journal__pass *p, int kind, const char *uuid)
{
  for (size_t i = p->start[kind]; uuid && i < p->start[kind + 1]; i++)
    if (!strcmp(p->v[i].uuid, uuid)) {
      p->v[i].wanted = 1;
      return;
    }
}

/* Marks the items the marks name (every model item for a model mark). */
static int upload_journal__read_marks(struct store_conn *c, struct upload_journal__pass *p)
{
  sqlite3_stmt *st = store_stmt(c, upload_journal__sql_marks);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, p->max_mark);
  int step, model = 0;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    int kind = sqlite3_column_int(st, 0);
    p->count.marks++;
    if (kind <= NATIONAL_TASK) model = 1;
    else if (kind < NATIONAL_N_KINDS) upload_journal__want(p, kind, (const char *)sqlite3_column_text(st, 1));
  }
  sqlite3_reset(st);
  if (step != SQLITE_DONE) return step;
  for (size_t i = 0; model && i < p->start[NATIONAL_TASK + 1]; i++) p->v[i].wanted = 1;
  return SQLITE_OK;
}

static int upload_journal__pass_work(struct store_conn *c, void *arg)
{
  struct upload_journal__pass *p = arg;
  struct upload_pass_count zero = {0};
  p->count = zero; /* work may run again after a rollback */
  for (size_t i = 0; i < p->n; i++) p->v[i].wanted = p->reconcile ? 2 : 0;
  int rc = upload_journal__read_marks(c, p);
  for (size_t i = 0; rc == SQLITE_OK && i < p->n; i++) {
    const struct upload_journal__item *it = &p->v[i];
    int queued = 0;
    if (!it->wanted || (rc = upload_journal__queue_one(c, it, p->now, &queued)) != SQLITE_OK || !queued) continue;
    p->count.queued++;
    if (it->wanted == 2 && it->kind <= NATIONAL_TASK) p->count.model++;
    else if (it->wanted == 2) p->count.missed++;
  }
  sqlite3_stmt *st = rc == SQLITE_OK ? store_stmt(c, upload_journal__sql_unmark) : NULL;
  if (rc == SQLITE_OK && !st) rc = SQLITE_ERROR;
  if (st) {
    sqlite3_bind_int64(st, 1, p->max_mark);
    rc = store_step_done(st);
  }
  return rc;
}

static void upload_journal__pass_free(struct upload_journal__pass *p)
{
  cJSON_Delete(p->doc);
  free(p->v);
  free(p);
}

static void upload_journal__pass_done(void *arg, int rc)
{
  struct upload_journal__pass *p = arg;
  if (rc != SQLITE_OK) DG_WARN("upload", "queueing changed records failed: %s", sqlite3_errstr(rc));
  if (p->done) p->done(p->arg, rc == SQLITE_OK ? 0 : -EIO, &p->count);
  upload_journal__pass_free(p);
}

/* The document's records as items, grouped by kind in upload order. 0 or -EINVAL. */
static int upload_journal__items(struct upload_journal__pass *p)
{
  size_t total = 0;
  for (int k = 0; k < NATIONAL_N_KINDS; k++)
    total += (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(p->doc, national_kind_key(k)));
  if (!(p->v = calloc(total + 1, sizeof *p->v))) return -ENOMEM;
  for (int k = 0; k < NATIONAL_N_KINDS; k++) {
    const cJSON *r;
    p->start[k] = p->n;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(p->doc, national_kind_key(k)))
    {
      const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(r, "id"));
      if (!id) return -EINVAL;
      p->v[p->n++] = (struct upload_journal__item){k, 0, r, id};
    }
  }
  p->start[NATIONAL_N_KINDS] = p->n;
  return 0;
}

int upload_journal_pass(struct store *s, cJSON *doc, int64_t max_mark, int reconcile, upload_pass_done_fn done,
                        void *arg)
{
  struct upload_journal__pass *p = calloc(1, sizeof *p);
  if (!p) {
    cJSON_Delete(doc);
    return -ENOMEM;
  }
  *p = (struct upload_journal__pass){.doc = doc, .max_mark = max_mark, .now = dg_wall_ms(), .reconcile = reconcile,
                                     .done = done, .arg = arg};
  int rc = upload_journal__items(p);
  if (!rc) rc = store_submit(s, upload_journal__pass_work, upload_journal__pass_done, p);
  if (rc) upload_journal__pass_free(p);
  return rc;
}

/* ---- the platform's answers (writer thread) --------------------------------------------------- */

static const char *const upload_journal__sql_ack =
  "UPDATE upload_queue SET acked_ms = ?4, attempts = attempts + 1, last_error = NULL"
  " WHERE seq BETWEEN ?1 AND ?2 AND kind = ?3 AND acked_ms IS NULL AND dead_ms IS NULL";
static const char *const upload_journal__sql_fail =
  "UPDATE upload_queue SET attempts = attempts + 1, last_error = ?4, refusals = refusals + (?5 AND ?1 = ?2)"
  " WHERE seq BETWEEN ?1 AND ?2 AND kind = ?3 AND acked_ms IS NULL AND dead_ms IS NULL";
/* a one-record page refused for good, or refused max_refusals times */
static const char *const upload_journal__sql_dead =
  "UPDATE upload_queue SET dead_ms = ?3 WHERE seq = ?1 AND acked_ms IS NULL AND dead_ms IS NULL"
  " AND (?4 OR refusals >= ?2)";

int upload_journal_record(struct store_conn *c, struct upload_outcome *o)
{
  int taken = o->answer == UPLOAD_TAKEN;
  sqlite3_stmt *st = store_stmt(c, taken ? upload_journal__sql_ack : upload_journal__sql_fail);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, o->first);
  sqlite3_bind_int64(st, 2, o->last);
  sqlite3_bind_int(st, 3, o->kind);
  if (taken) {
    sqlite3_bind_int64(st, 4, o->now);
  } else {
    store_bind_text(st, 4, o->error);
    sqlite3_bind_int(st, 5, o->answer == UPLOAD_REFUSED);
  }
  int rc = store_step_done(st);
  o->dead = 0;
  if (rc != SQLITE_OK || o->answer != UPLOAD_REFUSED || o->first != o->last) return rc;
  if (!(st = store_stmt(c, upload_journal__sql_dead))) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, o->first);
  sqlite3_bind_int(st, 2, (int)o->max_refusals);
  sqlite3_bind_int64(st, 3, o->now);
  sqlite3_bind_int(st, 4, o->dead_letter);
  rc = store_step_done(st);
  o->dead = rc == SQLITE_OK && sqlite3_changes(store_conn_db(c)) > 0;
  return rc;
}

/* ---- retrying dead letters (writer thread) ---------------------------------------------------- */

/* The record's digest is forgotten (so its current version is queued even if unchanged) and a
 * mark left on it; the dead versions are marked retried. */
static const char *const upload_journal__sql_retry_mark =
  "INSERT INTO upload_marks (kind, key, ts_ms) SELECT DISTINCT q.kind, n.key, ?3 FROM upload_queue q"
  " JOIN national_ids n ON n.uuid = q.uuid WHERE q.dead_ms IS NOT NULL AND q.retried_ms IS NULL"
  " AND (?1 > 0 AND q.seq = ?1 OR ?1 <= 0 AND (?2 < 0 OR q.kind = ?2))";
static const char *const upload_journal__sql_retry_state =
  "DELETE FROM upload_state WHERE uuid IN (SELECT q.uuid FROM upload_queue q WHERE q.dead_ms IS NOT NULL"
  " AND q.retried_ms IS NULL AND (?1 > 0 AND q.seq = ?1 OR ?1 <= 0 AND (?2 < 0 OR q.kind = ?2)))";
static const char *const upload_journal__sql_retry =
  "UPDATE upload_queue SET retried_ms = ?3 WHERE dead_ms IS NOT NULL AND retried_ms IS NULL"
  " AND (?1 > 0 AND seq = ?1 OR ?1 <= 0 AND (?2 < 0 OR kind = ?2))";

int upload_journal_retry_work(struct store_conn *c, void *arg)
{
  struct upload_retry *r = arg;
  const char *const sql[] = {upload_journal__sql_retry_mark, upload_journal__sql_retry_state,
                             upload_journal__sql_retry};
  int rc = SQLITE_OK;
  r->n = 0;
  for (size_t i = 0; rc == SQLITE_OK && i < sizeof sql / sizeof *sql; i++) {
    sqlite3_stmt *st = store_stmt(c, sql[i]);
    if (!st) return SQLITE_ERROR;
    sqlite3_bind_int64(st, 1, r->seq);
    sqlite3_bind_int(st, 2, r->kind);
    if (i != 1) sqlite3_bind_int64(st, 3, r->now);
    rc = store_step_done(st);
  }
  if (rc == SQLITE_OK) r->n = (unsigned)sqlite3_changes(store_conn_db(c));
  return rc;
}
