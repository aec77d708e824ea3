/* History under a stalled store: at most HISTORY_MAX_BACKLOG_ROWS rows wait for the writer, the
 * rest are dropped and counted, and once the writer moves again every row handed to it is
 * stored. The order a flush is written in. Real store on a temporary database; the writer is
 * stalled by a job that waits. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "history.h"
#include "history_read.h"
#include <math.h>
#include "log.h"

struct gate {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int open;
};

#define FLUSH_ROWS 2000 /* the engine flushes about this many at a time under load */

static int stall_work(struct store_conn *c, void *arg)
{
  (void)c;
  struct gate *g = arg;
  pthread_mutex_lock(&g->lock);
  while (!g->open) pthread_cond_wait(&g->cond, &g->lock);
  pthread_mutex_unlock(&g->lock);
  return SQLITE_OK;
}

static void stall_done(void *arg, int rc)
{
  (void)arg;
  assert_int_equal(rc, 0);
}

/* A real store on a database in a temporary directory, with its loop. */
struct fixture {
  char dir[32];
  uv_loop_t loop;
  struct store *store;
};

static void fixture_open(struct fixture *f)
{
  char db[64], err[256];
  snprintf(f->dir, sizeof f->dir, "/tmp/dg-history-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(db, sizeof db, "%s/dg.db", f->dir);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(store_open(&f->store, &f->loop, db, err, sizeof err), 0);
}

static void fixture_close(struct fixture *f)
{
  store_close(f->store);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
}

static void test_backlog_bounded_while_the_store_stalls(void **state)
{
  (void)state;
  struct fixture f;
  fixture_open(&f);
  struct store *store = f.store;
  struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
  assert_int_equal(store_submit(store_history(store), stall_work, stall_done, &g), 0);

  struct dg_point point = {.id = "P1"};
  struct dg_config cfg = {.points = &point, .n_points = 1};
  uint64_t stored = 0;
  struct history h;
  history_init(&h, store, &stored);
  struct history_mark mark = {0};
  const size_t total = HISTORY_MAX_BACKLOG_ROWS + 3 * FLUSH_ROWS;
  const int64_t now = dg_wall_ms(); /* recent: the retention pass keeps them */
  for (size_t i = 0; i < total; i++) {
    struct dg_sample s = {.point = 0, .quality = DG_Q_GOOD, .value = (double)i, .ts_ms = now + (int64_t)i};
    history_add(&h, &cfg, &mark, &s);
    if (i % FLUSH_ROWS == FLUSH_ROWS - 1) history_flush(&h, &cfg);
    assert_true(h.backlog <= HISTORY_MAX_BACKLOG_ROWS);
  }
  history_flush(&h, &cfg);
  assert_int_equal(h.backlog, HISTORY_MAX_BACKLOG_ROWS);
  assert_int_equal(h.dropped, total - HISTORY_MAX_BACKLOG_ROWS);

  pthread_mutex_lock(&g.lock);
  g.open = 1;
  pthread_cond_signal(&g.cond);
  pthread_mutex_unlock(&g.lock);
  assert_int_equal(store_wait_idle(store), 0);
  assert_int_equal(h.backlog, 0);
  assert_int_equal(stored, HISTORY_MAX_BACKLOG_ROWS);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(store_conn_db(store_reader(store)), "SELECT COUNT(*) FROM samples", -1, &st, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int64(st, 0), HISTORY_MAX_BACKLOG_ROWS);
  sqlite3_finalize(st);

  history_free(&h);
  fixture_close(&f);
}

/* What the reader sees of the history: `samples` ordered by rowid, as "value value ...". */
static void expect_values(struct store *store, const char *want)
{
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(store_conn_db(store_reader(store)),
                                      "SELECT group_concat(value, ' ') FROM (SELECT value FROM samples"
                                      " ORDER BY rowid)", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), want);
  sqlite3_finalize(st);
}

/* Samples in the log (packs) or moved out of it (blocks). */
static int64_t count_rows(struct store *store, const char *table)
{
  char sql[64];
  snprintf(sql, sizeof sql, "SELECT coalesce(sum(n), 0) FROM %s", table);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(store_conn_db(store_reader(store)), sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

/* Empty flushes until every slice of the log has been moved since the last rows came. */
static void flush_until_moved(struct history *h, const struct dg_config *cfg)
{
  for (int i = 0; i < HISTORY_LOG_SLICES; i++) history_flush(h, cfg);
}

/* A flush goes to the log, each point's samples in their order of arrival; a round of the slices
 * moves the log into blocks sorted by point and time, a point's samples of one time in their
 * order of arrival, every row once; rows flushed after it follow every moved row. */
static void test_flush_keeps_arrival_order_within_a_time(void **state)
{
  (void)state;
  struct fixture f;
  fixture_open(&f);
  struct store *store = f.store;
  struct dg_point points[2] = {{.id = "P1"}, {.id = "P2"}};
  struct dg_config cfg = {.points = points, .n_points = 2};
  uint64_t stored = 0;
  struct history h;
  history_init(&h, store, &stored);
  struct history_mark marks[2] = {{0}};
  const int64_t now = dg_wall_ms();
  /* P2 then P1 interleaved, times out of order, and P1 five times within one millisecond. */
  const struct {
    uint32_t point;
    int64_t dt;
  } in[] = {{1, 5}, {0, 3}, {1, 1}, {0, 3}, {0, 3}, {0, 0}, {0, 3}, {1, 2}, {0, 3}};
  for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
    struct dg_sample s = {.point = in[i].point, .quality = DG_Q_GOOD, .value = (double)i, .ts_ms = now + in[i].dt};
    history_add(&h, &cfg, &marks[in[i].point], &s);
  }
  history_flush(&h, &cfg);
  assert_int_equal(store_wait_idle(store), 0);
  assert_int_equal(stored, 9);
  assert_int_equal(count_rows(store, "sample_packs"), 9);
  expect_values(store, "1.0 3.0 4.0 5.0 6.0 8.0 0.0 2.0 7.0"); /* P1's slice, then P2's */

  flush_until_moved(&h, &cfg);
  assert_int_equal(store_wait_idle(store), 0);
  assert_int_equal(count_rows(store, "sample_packs"), 0);
  assert_int_equal(count_rows(store, "sample_blocks"), 9);
  /* P1 by time (5 at +0, then 1 3 4 6 8 at +3 as they came), then P2 by time. */
  expect_values(store, "5.0 1.0 3.0 4.0 6.0 8.0 2.0 7.0 0.0");

  struct dg_sample late = {.point = 0, .quality = DG_Q_GOOD, .value = 9, .ts_ms = now - 1};
  history_add(&h, &cfg, &marks[0], &late);
  history_flush(&h, &cfg);
  assert_int_equal(store_wait_idle(store), 0);
  expect_values(store, "5.0 1.0 3.0 4.0 6.0 8.0 2.0 7.0 0.0 9.0");
  assert_int_equal(stored, 10);
  history_free(&h);
  fixture_close(&f);
}

/* A flush of 3 points x 45 rows (some without a good value) is stored row for row, and moved
 * in index order. */
static void test_flush_stores_every_row_exactly(void **state)
{
  (void)state;
  struct fixture f;
  fixture_open(&f);
  struct dg_point points[3] = {{.id = "A"}, {.id = "B"}, {.id = "C"}};
  struct dg_config cfg = {.points = points, .n_points = 3};
  uint64_t stored = 0;
  struct history h;
  history_init(&h, f.store, &stored);
  struct history_mark marks[3] = {{0}};
  const int64_t now = dg_wall_ms();
  char want[8192] = "";
  for (uint32_t p = 0; p < 3; p++)
    for (int i = 0; i < 45; i++) {
      int bad = i % 7 == 3;
      size_t n = strlen(want);
      if (bad) snprintf(want + n, sizeof want - n, "%s%d:null:%d;", points[p].id, i, DG_Q_COMM);
      else snprintf(want + n, sizeof want - n, "%s%d:%.1f:%d;", points[p].id, i, p * 100 + i + 0.5, DG_Q_GOOD);
    }
  for (int i = 0; i < 45; i++) /* arrival interleaves the points */
    for (uint32_t p = 3; p-- > 0;) {
      int bad = i % 7 == 3;
      struct dg_sample s = {.point = p, .quality = bad ? DG_Q_COMM : DG_Q_GOOD, .value = p * 100 + i + 0.5,
                            .ts_ms = now + i};
      history_add(&h, &cfg, &marks[p], &s);
    }
  flush_until_moved(&h, &cfg);
  assert_int_equal(store_wait_idle(f.store), 0);
  assert_int_equal(stored, 135);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(store_conn_db(store_reader(f.store)),
                                      "SELECT group_concat(point || (ts_ms - ?1) || ':' || iif(value IS NULL, 'null', printf('%.1f', value))"
                                      " || ':' || quality || ';', '') FROM (SELECT * FROM samples ORDER BY rowid)",
                                      -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int64(st, 1, now);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), want);
  sqlite3_finalize(st);
  history_free(&h);
  fixture_close(&f);
}

/* The log an earlier run left (it stopped within a round) is moved by the first round of the
 * next run, though nothing new arrives. */
static void test_log_of_an_earlier_run_is_moved(void **state)
{
  (void)state;
  struct fixture f;
  fixture_open(&f);
  struct dg_point point = {.id = "P1"};
  struct dg_config cfg = {.points = &point, .n_points = 1};
  uint64_t stored = 0;
  struct history h;
  history_init(&h, f.store, &stored);
  struct history_mark mark = {0};
  const int64_t now = dg_wall_ms();
  for (int i = 0; i < 3; i++) {
    struct dg_sample s = {.point = 0, .quality = DG_Q_GOOD, .value = i, .ts_ms = now + i};
    history_add(&h, &cfg, &mark, &s);
  }
  history_flush(&h, &cfg);
  assert_int_equal(store_wait_idle(f.store), 0);
  history_free(&h);
  assert_int_equal(count_rows(f.store, "sample_packs"), 3);

  history_init(&h, f.store, &stored);
  for (int i = 0; i < HISTORY_LOG_SLICES; i++) {
    history_flush(&h, &cfg);
    assert_int_equal(h.rounds, i + 1 == HISTORY_LOG_SLICES);
  }
  assert_int_equal(store_wait_idle(f.store), 0);
  assert_int_equal(count_rows(f.store, "sample_packs"), 0);
  expect_values(f.store, "0.0 1.0 2.0");
  history_free(&h);
  fixture_close(&f);
}

/* A flush moves one slice of the log (the points whose id is that slice modulo HISTORY_LOG_SLICES)
 * in turn, so no flush moves more than a slice's share; after a round the log is empty, with
 * nothing new a round later no further job is submitted, and a new row starts the moves again. */
static void test_each_flush_moves_one_slice(void **state)
{
  (void)state;
  struct fixture f;
  fixture_open(&f);
  enum { POINTS = 2 * HISTORY_LOG_SLICES };
  struct dg_point points[POINTS];
  char names[POINTS][8];
  for (int p = 0; p < POINTS; p++) {
    snprintf(names[p], sizeof names[p], "Q%02d", p);
    points[p] = (struct dg_point){.id = names[p]};
  }
  struct dg_config cfg = {.points = points, .n_points = POINTS};
  uint64_t stored = 0;
  struct history h;
  history_init(&h, f.store, &stored);
  struct history_mark marks[POINTS] = {{0}};
  const int64_t now = dg_wall_ms();
  for (int round = 0; round < 3; round++)
    for (uint32_t p = 0; p < POINTS; p++) {
      struct dg_sample s = {.point = p, .quality = DG_Q_GOOD, .value = round * 100 + p, .ts_ms = now + round};
      history_add(&h, &cfg, &marks[p], &s);
    }
  history_flush(&h, &cfg); /* its rows go to the log, then the first slice moves */
  assert_int_equal(store_wait_idle(f.store), 0);
  assert_int_equal(stored, 3 * POINTS);
  int64_t in_log = count_rows(f.store, "sample_packs");
  assert_int_equal(in_log, 3 * POINTS - 3 * 2); /* two points in each slice, three rows each */
  for (int i = 1; i < HISTORY_LOG_SLICES; i++) {
    history_flush(&h, &cfg);
    assert_int_equal(store_wait_idle(f.store), 0);
    int64_t now_in_log = count_rows(f.store, "sample_packs");
    assert_int_equal(in_log - now_in_log, 3 * 2);
    in_log = now_in_log;
  }
  assert_int_equal(in_log, 0);
  assert_int_equal(count_rows(f.store, "sample_blocks"), 3 * POINTS);
  /* every point's three rows together and in order */
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(store_conn_db(store_reader(f.store)),
                                      "SELECT count(*) FROM (SELECT point, value - lag(value) OVER"
                                      " (PARTITION BY point ORDER BY rowid) AS d FROM samples) WHERE d <> 100",
                                      -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int64(st, 0), 0);
  sqlite3_finalize(st);
  for (int i = 0; i < HISTORY_LOG_SLICES; i++) history_flush(&h, &cfg);
  assert_int_equal(h.quiet_flushes, 2 * HISTORY_LOG_SLICES);
  unsigned slice = h.next_slice;
  history_flush(&h, &cfg); /* quiet for a whole round: nothing submitted */
  assert_int_equal(h.next_slice, slice);
  /* A row after the quiet round starts the moves again: within a round it has left the log,
   * whichever slice the moves resume at. */
  struct dg_sample late = {.point = (slice + 7) % POINTS, .quality = DG_Q_GOOD, .value = 999, .ts_ms = now + 10};
  history_add(&h, &cfg, &marks[late.point], &late);
  for (int i = 0; i < HISTORY_LOG_SLICES; i++) history_flush(&h, &cfg);
  assert_int_equal(store_wait_idle(f.store), 0);
  assert_int_equal(count_rows(f.store, "sample_packs"), 0);
  assert_int_equal(count_rows(f.store, "sample_blocks"), 3 * POINTS + 1);
  history_free(&h);
  fixture_close(&f);
}

/* SQL on the history database from a connection of its own (the store's reader is read-only). */
static void exec_history(const struct fixture *f, const char *sql)
{
  char path[96], *err = NULL;
  sqlite3 *db = NULL;
  snprintf(path, sizeof path, "%s/dg.db-history", f->dir);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK) fail_msg("%s: %s", sql, err);
  sqlite3_close(db);
}

/* The exact doubles `samples` answers for point P, in rowid order, compared with want. */
static void expect_exact(struct store *store, const char *point, const double *want, size_t n)
{
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(store_conn_db(store_reader(store)),
                                      "SELECT value FROM samples WHERE point = ?1 ORDER BY rowid", -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_text(st, 1, point, -1, SQLITE_STATIC);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    if (isnan(want[i])) assert_int_equal(sqlite3_column_type(st, 0), SQLITE_NULL);
    else if (memcmp(&(double){sqlite3_column_double(st, 0)}, &want[i], sizeof want[i]))
      fail_msg("value %zu: %.17g, expected %.17g", i, sqlite3_column_double(st, 0), want[i]);
  }
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
}

/* Every double comes back bit for bit, from the log and from a block, through the plain-SQL
 * view and through history_read; a sample without good quality has no value. */
static void test_values_are_exact(void **state)
{
  (void)state;
  struct fixture f;
  fixture_open(&f);
  struct dg_point point = {.id = "X1"};
  struct dg_config cfg = {.points = &point, .n_points = 1};
  uint64_t stored = 0;
  struct history h;
  history_init(&h, f.store, &stored);
  struct history_mark mark = {0};
  const double in[] = {0.1 + 0.2, -123456.78901234567, 4.9e-324, -2.2250738585072014e-308, 1.7976931348623157e308,
                       -0.0, 75.5, INFINITY, -INFINITY, 1e-300, 42};
  enum { N = sizeof in / sizeof in[0] };
  double want[N + 1];
  const int64_t now = dg_wall_ms();
  for (size_t i = 0; i < N; i++) {
    struct dg_sample s = {.point = 0, .quality = DG_Q_GOOD, .value = in[i], .ts_ms = now + (int64_t)i};
    history_add(&h, &cfg, &mark, &s);
    want[i] = in[i];
  }
  struct dg_sample bad = {.point = 0, .quality = DG_Q_COMM, .value = 7, .ts_ms = now + N};
  history_add(&h, &cfg, &mark, &bad);
  want[N] = NAN;
  history_flush(&h, &cfg);
  assert_int_equal(store_wait_idle(f.store), 0);
  assert_int_equal(count_rows(f.store, "sample_packs"), N + 1);
  expect_exact(f.store, "X1", want, N + 1);
  flush_until_moved(&h, &cfg);
  assert_int_equal(store_wait_idle(f.store), 0);
  assert_int_equal(count_rows(f.store, "sample_blocks"), N + 1);
  expect_exact(f.store, "X1", want, N + 1);

  struct history_sample *got = NULL;
  size_t n = 0;
  assert_int_equal(history_read(store_reader(f.store), "X1", now, now + N, SIZE_MAX, 0, &got, &n), 0);
  assert_int_equal(n, N + 1);
  for (size_t i = 0; i < N; i++) {
    assert_int_equal(got[i].ts_ms, now + (int64_t)i);
    assert_int_equal(got[i].quality, DG_Q_GOOD);
    assert_memory_equal(&got[i].value, &in[i], sizeof in[i]);
  }
  assert_int_equal(got[N].quality, DG_Q_COMM);
  free(got);
  history_free(&h);
  fixture_close(&f);
}

/* A point's samples are read from all three places, rows inserted by name, blocks and the log,
 * the newest `limit` of the window, oldest first; without the log, only the first two. */
static void test_read_newest_from_rows_blocks_and_log(void **state)
{
  (void)state;
  struct fixture f;
  fixture_open(&f);
  struct dg_point point = {.id = "R1"};
  struct dg_config cfg = {.points = &point, .n_points = 1};
  uint64_t stored = 0;
  struct history h;
  history_init(&h, f.store, &stored);
  struct history_mark mark = {0};
  const int64_t t = dg_wall_ms() - 3600 * 1000; /* within retention */
  char sql[256];
  for (int i = 0; i < 5; i++) { /* t .. t+4000, by name */
    snprintf(sql, sizeof sql, "INSERT INTO samples (point, ts_ms, value, quality) VALUES ('R1', %lld, %d, 0)",
             (long long)(t + i * 1000), i);
    exec_history(&f, sql);
  }
  for (int i = 5; i < 10; i++) { /* t+5000 .. t+9000, moved into a block */
    struct dg_sample s = {.point = 0, .quality = DG_Q_GOOD, .value = i, .ts_ms = t + i * 1000};
    history_add(&h, &cfg, &mark, &s);
  }
  flush_until_moved(&h, &cfg);
  assert_int_equal(store_wait_idle(f.store), 0);
  for (int i = 10; i < 13; i++) { /* t+10000 .. t+12000, left in the log */
    struct dg_sample s = {.point = 0, .quality = DG_Q_GOOD, .value = i, .ts_ms = t + i * 1000};
    history_add(&h, &cfg, &mark, &s);
  }
  while (h.next_slice == 1) history_flush(&h, &cfg); /* R1 has id 1: its slice not moved now */
  history_flush(&h, &cfg);
  assert_int_equal(store_wait_idle(f.store), 0);
  assert_int_equal(count_rows(f.store, "sample_packs"), 3);
  assert_int_equal(count_rows(f.store, "sample_blocks"), 5);

  struct history_sample *got = NULL;
  size_t n = 0;
  assert_int_equal(history_read(store_reader(f.store), "R1", t, t + 20000, SIZE_MAX, 1, &got, &n), 0);
  assert_int_equal(n, 13);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(got[i].ts_ms, t + (int64_t)i * 1000);
    assert_true(got[i].value == (double)i);
  }
  free(got);
  assert_int_equal(history_read(store_reader(f.store), "R1", t + 1000, t + 11500, 7, 1, &got, &n), 0);
  assert_int_equal(n, 7); /* 5 .. 11 */
  assert_true(got[0].value == 5 && got[6].value == 11);
  free(got);
  assert_int_equal(history_read(store_reader(f.store), "R1", t + 1000, t + 11500, 7, 0, &got, &n), 0);
  assert_int_equal(n, 7); /* without the log: 3 .. 9 */
  assert_true(got[0].value == 3 && got[6].value == 9);
  free(got);
  assert_int_equal(history_read(store_reader(f.store), "R1", INT64_MIN, t + 4500, 1, 0, &got, &n), 0);
  assert_int_equal(n, 1);
  assert_true(got[0].value == 4);
  free(got);
  assert_int_equal(history_read(store_reader(f.store), "nobody", t, t + 20000, 10, 1, &got, &n), 0);
  assert_int_equal(n, 0);
  assert_null(got);
  history_free(&h);
  fixture_close(&f);
}

/* A flush of more than HISTORY_PACK_MAX samples of a slice takes several packs; a point's move
 * cuts blocks at HISTORY_PACK_MAX samples and at HISTORY_BLOCK_SPAN_MS; every sample reads back
 * once, in time order, and a damaged block is left out of an answer, never read past its end. */
static void test_packs_and_blocks_are_bounded(void **state)
{
  (void)state;
  struct fixture f;
  fixture_open(&f);
  struct dg_point points[2] = {{.id = "B1"}, {.id = "B2"}};
  struct dg_config cfg = {.points = points, .n_points = 2};
  uint64_t stored = 0;
  struct history h;
  history_init(&h, f.store, &stored);
  struct history_mark marks[2] = {{0}};
  enum { N = HISTORY_PACK_MAX + 100 };
  char sql[128];
  const int64_t t = dg_wall_ms() - 2 * HISTORY_BLOCK_SPAN_MS; /* within retention */
  for (int i = 0; i < N; i++) /* B1 a second apart, past the block span; B2 0.1 s apart */
    for (uint32_t p = 0; p < 2; p++) {
      struct dg_sample s = {.point = p, .quality = DG_Q_GOOD, .value = i, .ts_ms = t + i * (p ? 100LL : 1000LL)};
      history_add(&h, &cfg, &marks[p], &s);
    }
  history_flush(&h, &cfg);
  assert_int_equal(store_wait_idle(f.store), 0);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(store_conn_db(store_reader(f.store)), "SELECT count(*), max(n) FROM sample_packs",
                                      -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 4);
  assert_int_equal(sqlite3_column_int(st, 1), HISTORY_PACK_MAX);
  sqlite3_finalize(st);
  flush_until_moved(&h, &cfg);
  assert_int_equal(store_wait_idle(f.store), 0);
  assert_int_equal(sqlite3_prepare_v2(store_conn_db(store_reader(f.store)),
                                      "SELECT group_concat(n, ' '), max(t1 - t0), sum(n) FROM"
                                      " (SELECT * FROM sample_blocks ORDER BY point, t0)", -1, &st, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), "3601 595 4096 100"); /* span; count */
  assert_true(sqlite3_column_int64(st, 1) <= HISTORY_BLOCK_SPAN_MS);
  assert_int_equal(sqlite3_column_int(st, 2), 2 * N);
  sqlite3_finalize(st);
  struct history_sample *got = NULL;
  size_t n = 0;
  assert_int_equal(history_read(store_reader(f.store), "B1", t, t + N * 1000LL, SIZE_MAX, 1, &got, &n), 0);
  assert_int_equal(n, N);
  for (size_t i = 0; i < n; i++) assert_true(got[i].ts_ms == t + (int64_t)i * 1000 && got[i].value == (double)i);
  free(got);
  assert_int_equal(history_read(store_reader(f.store), "B1", t, t + N * 1000LL, 10, 1, &got, &n), 0);
  assert_int_equal(n, 10);
  assert_true(got[9].value == N - 1);
  free(got);
  snprintf(sql, sizeof sql, "UPDATE sample_blocks SET data = substr(data, 1, 20) WHERE t0 = %lld", (long long)t);
  exec_history(&f, sql);
  assert_int_equal(history_read(store_reader(f.store), "B1", t, t + N * 1000LL, SIZE_MAX, 1, &got, &n), 0);
  assert_int_equal(n, N - 3601);
  free(got);
  history_free(&h);
  fixture_close(&f);
}

/* One sample of M1 into the history and a round of flushes: one move of M1's slice. */
static void add_and_move(struct history *h, const struct dg_config *cfg, struct history_mark *mark, int64_t ts,
                         double value)
{
  struct dg_sample s = {.point = 0, .quality = DG_Q_GOOD, .value = value, .ts_ms = ts};
  history_add(h, cfg, mark, &s);
  flush_until_moved(h, cfg);
}

/* M1's samples in the whole of time, newest `limit`, as "value value ..." oldest first. */
static void expect_read(struct store *store, size_t limit, const char *want)
{
  struct history_sample *got = NULL;
  size_t n = 0;
  char buf[256] = "";
  assert_int_equal(history_read(store_reader(store), "M1", INT64_MIN, INT64_MAX, limit, 0, &got, &n), 0);
  for (size_t i = 0; i < n; i++) snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%g", i ? " " : "", got[i].value);
  free(got);
  assert_string_equal(buf, want);
}

static int64_t reader_int(struct store *store, const char *sql)
{
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(store_conn_db(store_reader(store)), sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* Each move is a row of sample_moves (its slice, its oldest and newest sample) whose id its
 * blocks carry; blocks of schema 4 (no move) are read beside them through (point, t1). The
 * newest samples come from several moves and both kinds of block. Retention drops a move with
 * its blocks once its newest sample is past, and a block of schema 4 likewise, and keeps the
 * rest. */
static void test_moves_and_retention(void **state)
{
  (void)state;
  struct fixture f;
  fixture_open(&f);
  struct dg_point point = {.id = "M1"};
  struct dg_config cfg = {.points = &point, .n_points = 1};
  uint64_t stored = 0;
  struct history h;
  history_init(&h, f.store, &stored);
  struct history_mark mark = {0};
  const int64_t now = dg_wall_ms(), old = now - HISTORY_RETENTION_MS - 3600 * 1000;
  add_and_move(&h, &cfg, &mark, old + 1000, 10);
  char sql[512];
  snprintf(sql, sizeof sql, /* schema 4 blocks of one record each: 1.0 long ago, 2.0 two hours ago */
           "INSERT INTO sample_blocks (id, point, t0, t1, n, data) SELECT 1000 + k, p.id, t, t, 1,"
           " iif(k, x'00000000004000000000000000', x'00000000003FF0000000000000') FROM point_ids p,"
           " (SELECT 0 AS k, %lld AS t UNION ALL SELECT 1, %lld) WHERE p.name = 'M1'",
           (long long)old, (long long)(now - 7200 * 1000));
  assert_int_equal(store_wait_idle(f.store), 0);
  exec_history(&f, sql);
  for (int i = 0; i < 3; i++) {
    struct dg_sample s = {.point = 0, .quality = DG_Q_GOOD, .value = 20 + i, .ts_ms = now - 3000 + i * 1000};
    history_add(&h, &cfg, &mark, &s);
  }
  flush_until_moved(&h, &cfg);
  add_and_move(&h, &cfg, &mark, now, 23);
  assert_int_equal(store_wait_idle(f.store), 0);

  assert_int_equal(reader_int(f.store, "SELECT count(*) FROM sample_moves WHERE slice = 1"), 3);
  snprintf(sql, sizeof sql, "SELECT group_concat((t0 - %lld) || '..' || (t1 - %lld), ' ') FROM sample_moves", (long long)now,
           (long long)now);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(store_conn_db(store_reader(f.store)), sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  char want[96];
  snprintf(want, sizeof want, "%lld..%lld -3000..-1000 0..0", (long long)(old + 1000 - now), (long long)(old + 1000 - now));
  assert_string_equal((const char *)sqlite3_column_text(st, 0), want);
  sqlite3_finalize(st);
  assert_int_equal(reader_int(f.store, "SELECT count(*) FROM sample_blocks b JOIN sample_moves m ON m.id = b.move"
                                       " WHERE b.t0 >= m.t0 AND b.t1 <= m.t1"), 3);
  assert_int_equal(reader_int(f.store, "SELECT count(*) FROM sample_blocks WHERE move IS NULL"), 2);

  expect_read(f.store, SIZE_MAX, "1 10 2 20 21 22 23");
  expect_read(f.store, 2, "22 23");
  expect_read(f.store, 5, "2 20 21 22 23");
  expect_values(f.store, "10.0 1.0 2.0 20.0 21.0 22.0 23.0"); /* by rowid: blocks by id */

  h.last_prune_ms = 0; /* the next flush runs retention */
  history_flush(&h, &cfg);
  assert_int_equal(store_wait_idle(f.store), 0);
  expect_read(f.store, SIZE_MAX, "2 20 21 22 23");
  assert_int_equal(reader_int(f.store, "SELECT count(*) FROM sample_moves"), 2);
  assert_int_equal(reader_int(f.store, "SELECT count(*) FROM sample_blocks"), 3);
  history_free(&h);
  fixture_close(&f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_backlog_bounded_while_the_store_stalls),
    cmocka_unit_test(test_flush_keeps_arrival_order_within_a_time),
    cmocka_unit_test(test_flush_stores_every_row_exactly),
    cmocka_unit_test(test_log_of_an_earlier_run_is_moved),
    cmocka_unit_test(test_each_flush_moves_one_slice),
    cmocka_unit_test(test_values_are_exact),
    cmocka_unit_test(test_read_newest_from_rows_blocks_and_log),
    cmocka_unit_test(test_packs_and_blocks_are_bounded),
    cmocka_unit_test(test_moves_and_retention),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
