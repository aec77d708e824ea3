#include "history.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "history_pack.h"
#include "log.h"

_Static_assert(HISTORY_LOG_SLICES == 30, "packs are stored by slice, point id modulo 30: another count needs a migration");

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
  int compact_slice;         /* the log's slice to move into blocks, or -1 */
  int64_t prune_before_ms;
};

static const char *const history__sql_pack =
  "INSERT INTO sample_packs (id, slice, base_ms, n, data) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char *const history__sql_next_id = "SELECT id FROM sample_next_id";
static const char *const history__sql_slice = "SELECT id, base_ms, n, data FROM sample_packs WHERE slice = ?1 ORDER BY id";
static const char *const history__sql_slice_clear = "DELETE FROM sample_packs WHERE slice = ?1";
static const char *const history__sql_block =
  "INSERT INTO sample_blocks (id, point, t0, n, data, t1, move) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char *const history__sql_move_add = "INSERT INTO sample_moves (slice, t0, t1) VALUES (?1, ?2, ?3)";
static const char *const history__sql_prune = "DELETE FROM sample_rows WHERE point = ?1 AND ts_ms < ?2";
static const char *const history__sql_prune_blocks =
  "DELETE FROM sample_blocks WHERE point = ?1 AND t1 < ?2 AND move IS NULL";
static const char *const history__sql_prune_moved =
  "DELETE FROM sample_blocks WHERE move IN (SELECT id FROM sample_moves WHERE slice = ?1 AND t1 < ?2)";
static const char *const history__sql_prune_moves = "DELETE FROM sample_moves WHERE slice = ?1 AND t1 < ?2";
static const char *const history__sql_point_all = "SELECT id FROM point_ids";
static const char *const history__sql_point_add = "INSERT OR IGNORE INTO point_ids (name) VALUES (?1)";
static const char *const history__sql_point_id = "SELECT id FROM point_ids WHERE name = ?1";

static void history__ids_release(struct history_ids *ids)
{
  if (!ids || --ids->refs) return;
  free(ids->id);
  free(ids);
}

/* Registers the point named name in point_ids and reads its id. */
static int history__point_by_name(struct store_conn *c, const char *name, int64_t *id)
{
  sqlite3_stmt *add = store_stmt(c, history__sql_point_add), *get = store_stmt(c, history__sql_point_id);
  if (!add || !get) return SQLITE_ERROR;
  sqlite3_bind_text(add, 1, name, -1, SQLITE_STATIC);
  int rc = store_step_done(add);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(get, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step(get);
  if (rc == SQLITE_ROW) *id = sqlite3_column_int64(get, 0);
  sqlite3_reset(get);
  return rc == SQLITE_ROW ? SQLITE_OK : rc == SQLITE_DONE ? SQLITE_ERROR : rc;
}

/* Registers every point of the config in point_ids and reads their ids. Run again after a
 * rollback, it reads them again. */
static int history__register_work(struct store_conn *c, void *arg)
{
  struct history_ids *ids = arg;
  for (size_t p = 0; p < ids->cfg->n_points; p++) {
    int rc = history__point_by_name(c, ids->cfg->points[p].id, &ids->id[p]);
    if (rc != SQLITE_OK) return rc;
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

/* Retention of moved blocks, slice by slice: a move's blocks go once its newest sample is past
 * retention. */
static int history__prune_moves(struct store_conn *c, int64_t before_ms)
{
  sqlite3_stmt *blocks = store_stmt(c, history__sql_prune_moved), *moves = store_stmt(c, history__sql_prune_moves);
  if (!blocks || !moves) return SQLITE_ERROR;
  int rc = SQLITE_OK;
  for (int slice = 0; rc == SQLITE_OK && slice < HISTORY_LOG_SLICES; slice++) {
    sqlite3_bind_int(blocks, 1, slice);
    sqlite3_bind_int64(blocks, 2, before_ms);
    sqlite3_bind_int(moves, 1, slice);
    sqlite3_bind_int64(moves, 2, before_ms);
    if ((rc = store_step_done(blocks)) == SQLITE_OK) rc = store_step_done(moves);
  }
  return rc;
}

/* Retention, point by point: rows through the (point, ts_ms) index, blocks of schema 4 through
 * (point, t1) (a block goes once its newest sample is past retention); then moved blocks. */
static int history__prune(struct store_conn *c, int64_t before_ms)
{
  sqlite3_stmt *all = store_stmt(c, history__sql_point_all), *del = store_stmt(c, history__sql_prune),
               *del_blocks = store_stmt(c, history__sql_prune_blocks);
  if (!all || !del || !del_blocks) return SQLITE_ERROR;
  int rc;
  while ((rc = sqlite3_step(all)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(all, 0);
    sqlite3_bind_int64(del, 1, id);
    sqlite3_bind_int64(del, 2, before_ms);
    sqlite3_bind_int64(del_blocks, 1, id);
    sqlite3_bind_int64(del_blocks, 2, before_ms);
    if ((rc = store_step_done(del)) != SQLITE_OK || (rc = store_step_done(del_blocks)) != SQLITE_OK) break;
  }
  sqlite3_reset(all);
  return rc == SQLITE_DONE ? history__prune_moves(c, before_ms) : rc;
}

/* The next id for a pack or block: after every one of them and every rowid of sample_rows
 * (history_pack.h: the `samples` view's rowids). */
static int history__next_id(struct store_conn *c, int64_t *id)
{
  sqlite3_stmt *st = store_stmt(c, history__sql_next_id);
  if (!st) return SQLITE_ERROR;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *id = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Packs or blocks being filled: records in buf, one row per history__emit. */
struct history__packer {
  sqlite3_stmt *st;
  int64_t next_id;
  int64_t move;              /* blocks: their move's id; 0 for packs */
  uint8_t buf[HISTORY_PACK_MAX * HISTORY_PACK_REC];
  size_t n;
};

static int history__emit(struct history__packer *pk, int64_t key, int64_t t0, int64_t t1, size_t rec_len)
{
  sqlite3_stmt *st = pk->st;
  int i = 1;
  sqlite3_bind_int64(st, i++, pk->next_id++);
  sqlite3_bind_int64(st, i++, key);
  sqlite3_bind_int64(st, i++, t0);
  sqlite3_bind_int64(st, i++, (sqlite3_int64)pk->n);
  sqlite3_bind_blob(st, i++, pk->buf, (int)(pk->n * rec_len), SQLITE_STATIC);
  if (pk->move) {
    sqlite3_bind_int64(st, i++, t1);
    sqlite3_bind_int64(st, i, pk->move);
  }
  pk->n = 0;
  return store_step_done(st);
}

/* The batch's rows, one pack per slice (more when a slice outgrows HISTORY_PACK_MAX records or
 * a time leaves the pack's signed 32-bit offset), in their order of arrival. */
static int history__write_packs(struct store_conn *c, const struct history__batch *b, struct history__packer *pk)
{
  uint32_t *pid = malloc(b->n * sizeof *pid);
  size_t *order = malloc(b->n * sizeof *order), start[HISTORY_LOG_SLICES + 1] = {0};
  int rc = pid && order ? SQLITE_OK : SQLITE_NOMEM;
  for (size_t i = 0; rc == SQLITE_OK && i < b->n; i++) {
    int64_t id = b->ids->id[b->rows[i].point];
    if (!id) rc = history__point_by_name(c, b->ids->cfg->points[b->rows[i].point].id, &id);
    pid[i] = (uint32_t)id;
    start[pid[i] % HISTORY_LOG_SLICES + 1]++;
  }
  for (int s = 0; s < HISTORY_LOG_SLICES; s++) start[s + 1] += start[s];
  size_t fill[HISTORY_LOG_SLICES];
  memcpy(fill, start, sizeof fill);
  for (size_t i = 0; rc == SQLITE_OK && i < b->n; i++) order[fill[pid[i] % HISTORY_LOG_SLICES]++] = i;
  for (int s = 0; rc == SQLITE_OK && s < HISTORY_LOG_SLICES; s++) {
    int64_t base = 0;
    for (size_t k = start[s]; rc == SQLITE_OK && k < start[s + 1]; k++) {
      const struct history_row *r = &b->rows[order[k]];
      if (pk->n && (pk->n == HISTORY_PACK_MAX || r->ts_ms - base > INT32_MAX || r->ts_ms - base < INT32_MIN))
        rc = history__emit(pk, s, base, 0, HISTORY_PACK_REC);
      if (!pk->n) base = r->ts_ms;
      history_pack_put(pk->buf + pk->n++ * HISTORY_PACK_REC, pid[order[k]], (int32_t)(r->ts_ms - base), r->quality,
                       r->value);
    }
    if (rc == SQLITE_OK && pk->n) rc = history__emit(pk, s, base, 0, HISTORY_PACK_REC);
  }
  free(pid);
  free(order);
  return rc;
}

struct history__moved {
  struct history_sample s;
  size_t seq;                /* order of arrival */
};

static int history__moved_cmp(const void *a, const void *b)
{
  const struct history__moved *x = a, *y = b;
  if (x->s.point != y->s.point) return x->s.point < y->s.point ? -1 : 1;
  if (x->s.ts_ms != y->s.ts_ms) return x->s.ts_ms < y->s.ts_ms ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The slice's packs in order, decoded into *out (grown); a damaged pack is left out. */
static int history__read_slice(struct store_conn *c, int slice, struct history__moved **out, size_t *n)
{
  sqlite3_stmt *st = store_stmt(c, history__sql_slice);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int(st, 1, slice);
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t base = sqlite3_column_int64(st, 1), k = sqlite3_column_int64(st, 2);
    const uint8_t *data = history_pack_records(st, 3, k, HISTORY_PACK_REC, "pack");
    if (!data) continue;
    if (*n + (size_t)k > cap) {
      cap = (*n + (size_t)k) * 2;
      struct history__moved *grown = realloc(*out, cap * sizeof *grown);
      if (!grown) {
        rc = SQLITE_NOMEM;
        break;
      }
      *out = grown;
    }
    for (int64_t i = 0; i < k; i++, (*n)++) {
      history_pack_get(data + i * HISTORY_PACK_REC, base, &(*out)[*n].s);
      (*out)[*n].seq = *n;
    }
  }
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The move's row in sample_moves (its slice and the times of its oldest and newest samples),
 * whose id its blocks carry. */
static int history__move_add(struct store_conn *c, int slice, const struct history__moved *m, size_t n,
                             struct history__packer *pk)
{
  sqlite3_stmt *st = store_stmt(c, history__sql_move_add);
  if (!st) return SQLITE_ERROR;
  int64_t t0 = m[0].s.ts_ms, t1 = t0;
  for (size_t i = 1; i < n; i++) {
    if (m[i].s.ts_ms < t0) t0 = m[i].s.ts_ms;
    if (m[i].s.ts_ms > t1) t1 = m[i].s.ts_ms;
  }
  sqlite3_bind_int(st, 1, slice);
  sqlite3_bind_int64(st, 2, t0);
  sqlite3_bind_int64(st, 3, t1);
  int rc = store_step_done(st);
  pk->move = sqlite3_last_insert_rowid(store_conn_db(c));
  return rc;
}

/* One slice of the log into blocks of one move: per point, sorted by time (ties in order of
 * arrival), a block at most HISTORY_PACK_MAX records and HISTORY_BLOCK_SPAN_MS long. */
static int history__move(struct store_conn *c, int slice, struct history__packer *pk)
{
  struct history__moved *m = NULL;
  size_t n = 0;
  sqlite3_stmt *clear = store_stmt(c, history__sql_slice_clear);
  int rc = clear ? history__read_slice(c, slice, &m, &n) : SQLITE_ERROR;
  if (rc == SQLITE_OK && n) rc = history__move_add(c, slice, m, n, pk);
  if (rc == SQLITE_OK && n) qsort(m, n, sizeof *m, history__moved_cmp);
  for (size_t i = 0, first = 0; rc == SQLITE_OK && i < n; i++) {
    const struct history_sample *s = &m[i].s, *next = i + 1 < n ? &m[i + 1].s : NULL;
    int64_t t0 = m[first].s.ts_ms;
    history_block_put(pk->buf + pk->n * HISTORY_BLOCK_REC, (uint32_t)(s->ts_ms - t0), s->quality, s->value);
    pk->n++;
    if (!next || next->point != s->point || pk->n == HISTORY_PACK_MAX || next->ts_ms - t0 > HISTORY_BLOCK_SPAN_MS) {
      rc = history__emit(pk, s->point, t0, s->ts_ms, HISTORY_BLOCK_REC);
      first = i + 1;
    }
  }
  free(m);
  if (rc == SQLITE_OK) sqlite3_bind_int(clear, 1, slice);
  return rc == SQLITE_OK ? store_step_done(clear) : rc;
}

static int history__batch_work(struct store_conn *c, void *arg)
{
  struct history__batch *b = arg;
  struct history__packer *pk = NULL;
  int rc = SQLITE_OK;
  if (b->n || b->compact_slice >= 0) {
    pk = malloc(sizeof *pk);
    if (!pk) return SQLITE_NOMEM;
    pk->n = 0;
    pk->move = 0;
    rc = history__next_id(c, &pk->next_id);
  }
  if (rc == SQLITE_OK && b->n) {
    pk->st = store_stmt(c, history__sql_pack);
    rc = pk->st ? history__write_packs(c, b, pk) : SQLITE_ERROR;
  }
  if (rc == SQLITE_OK && b->compact_slice >= 0) {
    pk->st = store_stmt(c, history__sql_block);
    rc = pk->st ? history__move(c, b->compact_slice, pk) : SQLITE_ERROR;
  }
  free(pk);
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
