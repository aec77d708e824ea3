#include "history.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

_Static_assert(HISTORY_LOG_SLICES == 30, "the history schema's views and triggers name 30 slices (store_history.c)");

struct history_row {
  uint32_t point;
  uint8_t quality;
  double value;
  int64_t ts_ms;
};

void history_init(struct history *h, struct store *store, uint64_t *stored)
{
  memset(h, 0, sizeof *h);
  h->store = store;
  h->stored = stored;
}

static int history__due(const struct dg_point *cp, const struct history_mark *mark, const struct dg_sample *s)
{
  if (!mark->ts_ms || mark->quality != s->quality) return 1;
  if (s->ts_ms - mark->ts_ms >= HISTORY_MAX_INTERVAL_MS) return 1;
  if (s->quality != DG_Q_GOOD) return 0;
  double d = fabs(s->value - mark->value);
  return cp->deadband > 0 ? d > cp->deadband : d > 0;
}

/* Rows shed because the writer is behind: counted here and in the store's health. */
static void history__shed(struct history *h, size_t n)
{
  h->dropped += n;
  store_health(h->store)->history_dropped += n;
}

void history_add(struct history *h, const struct dg_config *cfg, struct history_mark *mark, const struct dg_sample *s)
{
  if (!history__due(&cfg->points[s->point], mark, s)) return;
  if (h->n >= HISTORY_MAX_BACKLOG_ROWS) {
    history__shed(h, 1);
    return;
  }
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 1024;
    struct history_row *rows = realloc(h->rows, cap * sizeof *rows);
    if (!rows) {
      DG_LOG_RL(DG_LOG_ERR, "history", "out of memory: sample of %s not stored", cfg->points[s->point].id);
      store_health(h->store)->history_dropped++;
      return;
    }
    h->rows = rows;
    h->cap = cap;
  }
  h->rows[h->n] = (struct history_row){s->point, s->quality, s->value, s->ts_ms};
  h->n++;
  mark->value = s->value;
  mark->ts_ms = s->ts_ms;
  mark->quality = s->quality;
}

/* The point_ids of one config's points, by point index: written by the writer thread only (the
 * registration job, which runs before any batch of that config), read by its batches. */
struct history_ids {
  const struct dg_config *cfg;
  int64_t *id;               /* 0: not registered (then a batch looks the point up by name) */
  size_t refs;               /* loop thread: the history and each job in flight */
};

struct history__batch {
  struct history *h;
  struct history_ids *ids;
  struct history_row *rows;
  size_t n;
  int compact_slice;         /* the log's slice to move into sample_rows, or -1 */
  int64_t prune_before_ms;
};

static const char *const history__sql_sample =
  "INSERT INTO sample_log (slice, id, point, ts_ms, value, quality) VALUES (?1 % ?6, ?5, ?1, ?2, ?3, ?4)";
static const char *const history__sql_next_id = "SELECT id FROM sample_next_id";
/* Sorted as the (point, ts_ms) index is, the inserts fill one leaf after the other and the
 * table grows at its end; a point's rows of one time keep their order of arrival. */
static const char *const history__sql_compact =
  "INSERT INTO sample_rows (point, ts_ms, value, quality)"
  " SELECT point, ts_ms, value, quality FROM sample_log WHERE slice = ?1 ORDER BY point, ts_ms, id";
static const char *const history__sql_compact_clear = "DELETE FROM sample_log WHERE slice = ?1";
static const char *const history__sql_sample_by_name =
  "INSERT INTO samples (point, ts_ms, value, quality) VALUES (?1, ?2, ?3, ?4)";
static const char *const history__sql_prune = "DELETE FROM sample_rows WHERE point = ?1 AND ts_ms < ?2";
static const char *const history__sql_point_all = "SELECT id FROM point_ids";
static const char *const history__sql_point_add = "INSERT OR IGNORE INTO point_ids (name) VALUES (?1)";
static const char *const history__sql_point_id = "SELECT id FROM point_ids WHERE name = ?1";

static void history__ids_release(struct history_ids *ids)
{
  if (!ids || --ids->refs) return;
  free(ids->id);
  free(ids);
}

/* Registers every point of the config in point_ids and reads their ids. Run again after a
 * rollback, it reads them again. */
static int history__register_work(struct store_conn *c, void *arg)
{
  struct history_ids *ids = arg;
  sqlite3_stmt *add = store_stmt(c, history__sql_point_add), *get = store_stmt(c, history__sql_point_id);
  if (!add || !get) return SQLITE_ERROR;
  for (size_t p = 0; p < ids->cfg->n_points; p++) {
    const char *name = ids->cfg->points[p].id;
    sqlite3_bind_text(add, 1, name, -1, SQLITE_STATIC);
    int rc = store_step_done(add);
    if (rc != SQLITE_OK) return rc;
    sqlite3_bind_text(get, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(get);
    ids->id[p] = rc == SQLITE_ROW ? sqlite3_column_int64(get, 0) : 0;
    sqlite3_reset(get);
    if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? SQLITE_ERROR : rc;
  }
  return SQLITE_OK;
}

static void history__register_done(void *arg, int rc)
{
  struct history_ids *ids = arg;
  if (rc) {
    DG_LOG_RL(DG_LOG_ERR, "history", "point ids not registered (rc %d): samples stored by name", rc);
    memset(ids->id, 0, ids->cfg->n_points * sizeof *ids->id);
  }
  history__ids_release(ids);
}

/* Retention, point by point through the (point, ts_ms) index. */
static int history__prune(struct store_conn *c, int64_t before_ms)
{
  sqlite3_stmt *all = store_stmt(c, history__sql_point_all), *del = store_stmt(c, history__sql_prune);
  if (!all || !del) return SQLITE_ERROR;
  int rc;
  while ((rc = sqlite3_step(all)) == SQLITE_ROW) {
    sqlite3_bind_int64(del, 1, sqlite3_column_int64(all, 0));
    sqlite3_bind_int64(del, 2, before_ms);
    if ((rc = store_step_done(del)) != SQLITE_OK) break;
  }
  sqlite3_reset(all);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The first id after every row of both tables (the log's ids run on from sample_rows' rowids). */
static int history__next_id(struct store_conn *c, int64_t *id)
{
  sqlite3_stmt *st = store_stmt(c, history__sql_next_id);
  if (!st) return SQLITE_ERROR;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *id = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int history__compact(struct store_conn *c, int slice)
{
  sqlite3_stmt *move = store_stmt(c, history__sql_compact), *clear = store_stmt(c, history__sql_compact_clear);
  if (!move || !clear) return SQLITE_ERROR;
  sqlite3_bind_int(move, 1, slice);
  sqlite3_bind_int(clear, 1, slice);
  int rc = store_step_done(move);
  return rc == SQLITE_OK ? store_step_done(clear) : rc;
}

/* One prepared statement for the batch's rows; a point without an id (its registration failed)
 * goes through the samples view, which registers it. */
static int history__batch_work(struct store_conn *c, void *arg)
{
  struct history__batch *b = arg;
  int64_t rowid = 0;
  sqlite3_stmt *by_id = b->n ? store_stmt(c, history__sql_sample) : NULL;
  if (b->n && (!by_id || history__next_id(c, &rowid) != SQLITE_OK)) return SQLITE_ERROR;
  for (size_t i = 0; i < b->n; i++) {
    const struct history_row *h = &b->rows[i];
    int64_t id = b->ids->id[h->point];
    sqlite3_stmt *st = id ? by_id : store_stmt(c, history__sql_sample_by_name);
    if (!st) return SQLITE_ERROR;
    if (id) {
      sqlite3_bind_int64(st, 1, id);
      sqlite3_bind_int64(st, 5, rowid++);
      sqlite3_bind_int(st, 6, HISTORY_LOG_SLICES);
    } else {
      sqlite3_bind_text(st, 1, b->ids->cfg->points[h->point].id, -1, SQLITE_STATIC);
      rowid++; /* the view's trigger takes the next rowid itself */
    }
    sqlite3_bind_int64(st, 2, h->ts_ms);
    if (h->quality == DG_Q_GOOD) sqlite3_bind_double(st, 3, h->value);
    else sqlite3_bind_null(st, 3);
    sqlite3_bind_int(st, 4, h->quality);
    int rc = store_step_done(st);
    if (rc != SQLITE_OK) return rc;
  }
  int rc = b->compact_slice >= 0 ? history__compact(c, b->compact_slice) : SQLITE_OK;
  return rc == SQLITE_OK && b->prune_before_ms ? history__prune(c, b->prune_before_ms) : rc;
}

static void history__batch_done(void *arg, int rc)
{
  struct history__batch *b = arg;
  if (rc) {
    DG_LOG_RL(DG_LOG_ERR, "history", "%zu samples could not be stored (rc %d)", b->n, rc);
    store_health(b->h->store)->history_dropped += b->n;
  } else {
    *b->h->stored += b->n;
  }
  b->h->backlog -= b->n;
  history__ids_release(b->ids);
  free(b->rows);
  free(b);
}

/* The ids of cfg's points, registered by a job queued ahead of the batches that use them. */
static struct history_ids *history__ids(struct history *h, const struct dg_config *cfg)
{
  if (h->ids && h->ids->cfg == cfg) return h->ids;
  struct history_ids *ids = calloc(1, sizeof *ids);
  if (ids) ids->id = calloc(cfg->n_points + 1, sizeof *ids->id);
  if (!ids || !ids->id) {
    free(ids);
    return NULL;
  }
  ids->cfg = cfg;
  ids->refs = 2; /* the history, the registration job */
  if (store_submit(store_history(h->store), history__register_work, history__register_done, ids)) ids->refs--;
  history__ids_release(h->ids);
  h->ids = ids;
  return ids;
}

/* A flush is one job of the history database's writer: one transaction, one fsync-free commit. */
static void history__submit_batch(struct history *h, const struct dg_config *cfg, struct history_row *rows, size_t n,
                                  int compact_slice, int64_t prune_before_ms)
{
  struct history_ids *ids = history__ids(h, cfg);
  struct history__batch *b = ids ? calloc(1, sizeof *b) : NULL;
  if (!b) {
    DG_LOG_RL(DG_LOG_ERR, "history", "out of memory: %zu samples not stored", n);
    store_health(h->store)->history_dropped += n;
    free(rows);
    return;
  }
  ids->refs++;
  b->ids = ids;
  b->h = h;
  h->backlog += n;
  b->rows = rows;
  b->n = n;
  b->compact_slice = compact_slice;
  b->prune_before_ms = prune_before_ms;
  int rc = store_submit_relaxed(store_history(h->store), history__batch_work, history__batch_done, b);
  if (rc) history__batch_done(b, rc);
}

/* The buffer goes to the writer whole (a fresh one takes its place); what would take the
 * backlog over its bound is shed. */
void history_flush(struct history *h, const struct dg_config *cfg)
{
  int64_t now = dg_wall_ms();
  size_t room = h->backlog < HISTORY_MAX_BACKLOG_ROWS ? HISTORY_MAX_BACKLOG_ROWS - h->backlog : 0;
  if (h->n > room) {
    DG_LOG_RL(DG_LOG_WARN, "history", "the store is behind by %zu rows: %zu samples dropped", h->backlog, h->n - room);
    history__shed(h, h->n - room);
    h->n = room;
  }
  if (h->n) {
    struct history_row *rows = h->rows;
    size_t n = h->n;
    h->rows = NULL;
    h->n = h->cap = 0;
    history__submit_batch(h, cfg, rows, n, -1, 0);
    h->quiet_flushes = 0;
  }
  /* One slice of the log moves at each flush while rows have gone into it within a round of the
   * slices (the first round after a start also moves what an earlier run left); a job of its
   * own, so that should it fail no flushed row is lost with it. */
  if (h->quiet_flushes < HISTORY_LOG_SLICES || h->rounds == 0) {
    history__submit_batch(h, cfg, NULL, 0, (int)h->next_slice, 0);
    if (++h->next_slice == HISTORY_LOG_SLICES) {
      h->next_slice = 0;
      h->rounds++;
    }
  }
  h->quiet_flushes++;
  if (now - h->last_prune_ms >= 3600 * 1000) {
    h->last_prune_ms = now;
    history__submit_batch(h, cfg, NULL, 0, -1, now - HISTORY_RETENTION_MS);
  }
}

void history_free(struct history *h)
{
  history__ids_release(h->ids);
  h->ids = NULL;
  free(h->rows);
  h->rows = NULL;
  h->n = h->cap = 0;
}
