#include "history_read.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "history.h"
#include "log.h"

static const char *const history_read__sql_point = "SELECT id FROM point_ids WHERE name = ?1";
static const char *const history_read__sql_rows =
  "SELECT rowid, ts_ms, value, quality FROM sample_rows WHERE point = ?1 AND ts_ms >= ?2 AND ts_ms <= ?3"
  " ORDER BY ts_ms DESC LIMIT ?4";
/* Blocks of schema 4, newest first by t1, through (point, t1): a block's samples lie within
 * HISTORY_BLOCK_SPAN_MS of its t0, so no block ending later than until + the span holds a sample
 * of the window. */
static const char *const history_read__sql_blocks =
  "SELECT id, t0, t1, n, data FROM sample_blocks WHERE point = ?1 AND t1 >= ?2 AND t1 <= ?3 + ?4 AND t0 <= ?3"
  " AND move IS NULL ORDER BY t1 DESC";
/* Moved blocks: the moves of the point's slice (?4) that overlap the window, newest first by their
 * newest sample (no block of a move is newer), each through (move, point). */
static const char *const history_read__sql_moved =
  "SELECT b.id, b.t0, m.t1, b.n, b.data FROM sample_moves m CROSS JOIN sample_blocks b"
  " ON b.move = m.id AND b.point = ?1 AND b.t1 >= ?2 AND b.t0 <= ?3"
  " WHERE m.slice = ?4 AND m.t1 >= ?2 AND m.t0 <= ?3 ORDER BY m.t1 DESC";
static const char *const history_read__sql_packs = "SELECT id, base_ms, n, data FROM sample_packs WHERE slice = ?1";

struct history_read__item {
  struct history_sample s;
  int64_t key;               /* the `samples` view's rowid: the order samples of one time were stored in */
};

struct history_read__set {
  struct history_read__item *v;
  size_t n, cap, sorted;     /* sorted: v[0 .. sorted) newest first */
  size_t limit;
  int64_t since, until;
};

static int history_read__newest_first(const void *a, const void *b)
{
  const struct history_read__item *x = a, *y = b;
  if (x->s.ts_ms != y->s.ts_ms) return x->s.ts_ms > y->s.ts_ms ? -1 : 1;
  return x->key > y->key ? -1 : x->key < y->key;
}

static int history_read__add(struct history_read__set *set, const struct history_sample *s, int64_t key)
{
  if (s->ts_ms < set->since || s->ts_ms > set->until) return 0;
  if (set->n == set->cap) {
    size_t cap = set->cap ? set->cap * 2 : 256;
    struct history_read__item *v = realloc(set->v, cap * sizeof *v);
    if (!v) return -ENOMEM;
    set->v = v;
    set->cap = cap;
  }
  set->v[set->n++] = (struct history_read__item){*s, key};
  return 0;
}

/* Sorts newest first and keeps the newest `limit`. */
static void history_read__trim(struct history_read__set *set)
{
  if (set->sorted == set->n) return;
  qsort(set->v, set->n, sizeof *set->v, history_read__newest_first);
  if (set->n > set->limit) set->n = set->limit;
  set->sorted = set->n;
}

/* No block whose newest sample is older than the oldest of `limit` samples already found can
 * change the answer. */
static int history_read__enough(struct history_read__set *set, int64_t t1)
{
  if (set->n < set->limit) return 0;
  history_read__trim(set);
  return t1 < set->v[set->limit - 1].s.ts_ms;
}

/* sql with the point, the window and a fourth parameter bound. */
static sqlite3_stmt *history_read__window(struct store_conn *c, const char *sql, int64_t point,
                                         const struct history_read__set *set, int64_t fourth)
{
  sqlite3_stmt *st = store_stmt(c, sql);
  if (!st) return NULL;
  sqlite3_bind_int64(st, 1, point);
  sqlite3_bind_int64(st, 2, set->since);
  sqlite3_bind_int64(st, 3, set->until);
  sqlite3_bind_int64(st, 4, fourth);
  return st;
}

static int history_read__rows(struct store_conn *c, int64_t point, struct history_read__set *set)
{
  int64_t limit = set->limit > INT64_MAX ? INT64_MAX : (int64_t)set->limit;
  sqlite3_stmt *st = history_read__window(c, history_read__sql_rows, point, set, limit);
  if (!st) return -EIO;
  int rc = SQLITE_DONE, err = 0;
  while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct history_sample s = {.ts_ms = sqlite3_column_int64(st, 1), .value = sqlite3_column_double(st, 2),
                               .quality = (uint8_t)sqlite3_column_int(st, 3)};
    if (sqlite3_column_type(st, 2) == SQLITE_NULL) s.value = NAN; /* as a block keeps a NaN */
    err = history_read__add(set, &s, sqlite3_column_int64(st, 0));
  }
  sqlite3_reset(st);
  return err ? err : rc == SQLITE_DONE ? 0 : -EIO;
}

/* Blocks from sql (id, t0, a bound on the newest sample, n, data), newest first by that bound. */
static int history_read__blocks(struct store_conn *c, const char *sql, int64_t point, int64_t fourth,
                                struct history_read__set *set)
{
  sqlite3_stmt *st = history_read__window(c, sql, point, set, fourth);
  if (!st) return -EIO;
  int rc = SQLITE_DONE, err = 0;
  while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(st, 0), t0 = sqlite3_column_int64(st, 1), n = sqlite3_column_int64(st, 3);
    if (history_read__enough(set, sqlite3_column_int64(st, 2))) break;
    const uint8_t *data = history_pack_records(st, 4, n, HISTORY_BLOCK_REC, "block");
    for (int64_t i = 0; data && !err && i < n; i++) {
      struct history_sample s;
      history_block_get(data + i * HISTORY_BLOCK_REC, t0, &s);
      err = history_read__add(set, &s, id * HISTORY_PACK_ROWID_SCALE + i);
    }
  }
  sqlite3_reset(st);
  return err ? err : rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -EIO;
}

static int history_read__packs(struct store_conn *c, int64_t point, struct history_read__set *set)
{
  sqlite3_stmt *st = store_stmt(c, history_read__sql_packs);
  if (!st) return -EIO;
  sqlite3_bind_int64(st, 1, point % HISTORY_LOG_SLICES);
  int rc = SQLITE_DONE, err = 0;
  while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(st, 0), base = sqlite3_column_int64(st, 1), n = sqlite3_column_int64(st, 2);
    const uint8_t *data = history_pack_records(st, 3, n, HISTORY_PACK_REC, "pack");
    for (int64_t i = 0; data && !err && i < n; i++) {
      struct history_sample s;
      history_pack_get(data + i * HISTORY_PACK_REC, base, &s);
      if (s.point == point) err = history_read__add(set, &s, id * HISTORY_PACK_ROWID_SCALE + i);
    }
  }
  sqlite3_reset(st);
  return err ? err : rc == SQLITE_DONE ? 0 : -EIO;
}

/* The point's id in point_ids: 1, 0 when it has none (nothing stored), -EIO. */
static int history_read__point(struct store_conn *c, const char *name, int64_t *id)
{
  sqlite3_stmt *st = store_stmt(c, history_read__sql_point);
  if (!st) return -EIO;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *id = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

int history_read(struct store_conn *c, const char *point, int64_t since, int64_t until, size_t limit, int with_log,
                 struct history_sample **out, size_t *n)
{
  struct history_read__set set = {.limit = limit, .since = since, .until = until};
  int64_t id = 0;
  *out = NULL;
  *n = 0;
  int rc = limit ? history_read__point(c, point, &id) : 0;
  if (rc <= 0) return rc;
  rc = history_read__rows(c, id, &set);
  if (!rc && with_log) rc = history_read__packs(c, id, &set);
  if (!rc) rc = history_read__blocks(c, history_read__sql_blocks, id, HISTORY_BLOCK_SPAN_MS, &set);
  if (!rc) rc = history_read__blocks(c, history_read__sql_moved, id, id % HISTORY_LOG_SLICES, &set);
  if (!rc) history_read__trim(&set);
  struct history_sample *s = !rc && set.n ? malloc(set.n * sizeof *s) : NULL;
  if (!rc && set.n && !s) rc = -ENOMEM;
  for (size_t i = 0; s && i < set.n; i++) s[i] = set.v[set.n - 1 - i].s;
  free(set.v);
  if (rc) return rc;
  *out = s;
  *n = set.n;
  return 0;
}
