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

static int64_t count_rows(struct store *store, const char *table)
{
  char sql[64];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(store_conn_db(store_reader(store)), sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

/* The flushes that bring the next compaction of the log (the last one compacts). */
static void flush_until_compacted(struct history *h, const struct dg_config *cfg)
{
  while (h->flushes + 1 < HISTORY_COMPACT_FLUSHES) {
    history_flush(h, cfg);
    assert_int_not_equal(h->flushes, 0);
  }
  history_flush(h, cfg);
  assert_int_equal(h->flushes, 0);
}

/* A flush goes to the log in its order of arrival; the compaction moves the log into sample_rows
 * sorted by point and time (for the index), a point's samples of one time in their order of
 * arrival, every row once; rows flushed after it follow every compacted row. */
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
  assert_int_equal(count_rows(store, "sample_log"), 9);
  expect_values(store, "0.0 1.0 2.0 3.0 4.0 5.0 6.0 7.0 8.0");

  flush_until_compacted(&h, &cfg);
  assert_int_equal(store_wait_idle(store), 0);
  assert_int_equal(count_rows(store, "sample_log"), 0);
  assert_int_equal(count_rows(store, "sample_rows"), 9);
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

/* A flush of 3 points x 45 rows (some without a good value) is stored row for row, and compacted
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
  flush_until_compacted(&h, &cfg);
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

/* The log an earlier run left (it stopped between compactions) is compacted at the first due
 * flush of the next run, though nothing new arrives. */
static void test_log_of_an_earlier_run_is_compacted(void **state)
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
  assert_int_equal(count_rows(f.store, "sample_log"), 3);

  history_init(&h, f.store, &stored);
  flush_until_compacted(&h, &cfg);
  assert_int_equal(store_wait_idle(f.store), 0);
  assert_int_equal(count_rows(f.store, "sample_log"), 0);
  expect_values(f.store, "0.0 1.0 2.0");
  /* nothing logged since: the next due flush has nothing to move and submits nothing */
  history_flush(&h, &cfg);
  assert_false(h.compacted && h.logged);
  history_free(&h);
  fixture_close(&f);
}

/* The log holds at most HISTORY_COMPACT_ROWS rows before a compaction, however short the flush
 * interval (a reader of `samples` scans it without an index). */
static void test_log_compacted_at_its_row_bound(void **state)
{
  (void)state;
  struct fixture f;
  fixture_open(&f);
  struct dg_point points[100];
  char names[100][4];
  for (int p = 0; p < 100; p++) {
    snprintf(names[p], sizeof names[p], "Q%02d", p);
    points[p] = (struct dg_point){.id = names[p]};
  }
  struct dg_config cfg = {.points = points, .n_points = 100};
  uint64_t stored = 0;
  struct history h;
  history_init(&h, f.store, &stored);
  struct history_mark marks[100] = {{0}};
  const int64_t now = dg_wall_ms();
  size_t added = 0, flushes = 0;
  while (added < HISTORY_COMPACT_ROWS) {
    for (size_t i = 0; i < HISTORY_MAX_BACKLOG_ROWS / 2; i++, added++) {
      struct dg_sample s = {.point = (uint32_t)(added % 100), .quality = DG_Q_GOOD, .value = (double)added,
                            .ts_ms = now + (int64_t)(added / 100)};
      history_add(&h, &cfg, &marks[added % 100], &s);
    }
    history_flush(&h, &cfg);
    flushes++;
    assert_int_equal(store_wait_idle(f.store), 0);
    assert_true(count_rows(f.store, "sample_log") < HISTORY_COMPACT_ROWS);
  }
  assert_true(flushes < HISTORY_COMPACT_FLUSHES);
  assert_int_equal(count_rows(f.store, "sample_log"), 0);
  assert_int_equal(count_rows(f.store, "sample_rows"), (int64_t)added);
  assert_int_equal(stored, added);
  history_free(&h);
  fixture_close(&f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_backlog_bounded_while_the_store_stalls),
    cmocka_unit_test(test_flush_keeps_arrival_order_within_a_time),
    cmocka_unit_test(test_flush_stores_every_row_exactly),
    cmocka_unit_test(test_log_of_an_earlier_run_is_compacted),
    cmocka_unit_test(test_log_compacted_at_its_row_bound),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
