/* Commits that fail and are retried, on a real store whose writer refuses chosen writes (a
 * temporary trigger on the writer connection): alarm transitions wait in one queue and commit
 * in the order they happened once writes pass again, the alarm row ends in the newest state, a
 * reload is refused meanwhile; a delivery outcome that could not be written is written again. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "plant_fixture.h"
#include "sdnotify.h"

static const char test_yaml[] =
  "site: { code: T1 }\n"
  "mqtt:\n"
  "  - { id: main, uri: \"tcp://127.0.0.1:1\", client_id: t }\n"
  "points:\n"
  "  - { id: P1, driver: mqtt.main, topic: t/p1 }\n"
  "rules:\n"
  "  - { id: R1, type: high, point: P1, stages: [ { name: H, limit: 25, priority: high } ] }\n"
  "channels:\n"
  "  - { id: hook, type: webhook, url: \"http://127.0.0.1:1/hook\", timeout: 1s }\n"
  "policies:\n"
  "  - { id: all, priorities: [low, medium, high, critical], channels: [hook] }\n";

static int exec_work(struct store_conn *c, void *arg) { return sqlite3_exec(store_conn_db(c), arg, NULL, NULL, NULL); }

/* Runs sql on the writer connection (temporary triggers live there). */
static void writer_exec(struct plant *f, const char *sql)
{
  assert_int_equal(store_submit(f->store, exec_work, NULL, (void *)sql), 0);
  store_wait_idle(f->store);
}

static int64_t query_int(struct plant *f, const char *sql)
{
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(store_conn_db(store_reader(f->store)), sql, -1, &st, NULL), SQLITE_OK);
  int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  return v;
}

/* Runs the loop until query_int(sql) == want or 10 s pass; returns the last value. */
static int64_t run_until(struct plant *f, const char *sql, int64_t want)
{
  int64_t end = dg_mono_ms() + 10000, v;
  while ((v = query_int(f, sql)) != want && dg_mono_ms() < end) {
    uv_run(&f->loop, UV_RUN_NOWAIT);
    usleep(5000);
  }
  return v;
}

static void test_failed_transitions_commit_in_order(void **state)
{
  struct plant *f = *state;
  writer_exec(f, "CREATE TEMP TRIGGER refuse BEFORE INSERT ON alarm_journal BEGIN SELECT RAISE(ABORT, 'refused'); END");
  plant_feed(f, "P1", 30, DG_Q_GOOD); /* activate */
  plant_feed(f, "P1", 10, DG_Q_GOOD); /* clear */
  plant_feed(f, "P1", 40, DG_Q_GOOD); /* activate */
  assert_int_equal(query_int(f, "SELECT COUNT(*) FROM alarm_journal"), 0);
  assert_true(alarm_txn_waiting(&f->engine.txn));
  assert_int_equal(engine_reload(&f->engine, f->cfg), -EBUSY);

  writer_exec(f, "DROP TRIGGER temp.refuse");
  assert_int_equal(run_until(f, "SELECT COUNT(*) FROM alarm_journal", 3), 3);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(store_conn_db(store_reader(f->store)), "SELECT event FROM alarm_journal ORDER BY id",
                                      -1, &st, NULL), SQLITE_OK);
  const char *want[] = {"activate", "clear", "activate"};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), want[i]);
  }
  sqlite3_finalize(st);
  assert_int_equal(query_int(f, "SELECT state = 'UNACK' AND active = 1 AND value = 40 FROM alarms"), 1);
  store_wait_idle(f->store); /* the last commit's done callback */
  assert_false(alarm_txn_waiting(&f->engine.txn));
  assert_int_equal(query_int(f, "SELECT COUNT(*) FROM outbox"), 3);
}

static void test_failed_outcome_is_written_again(void **state)
{
  struct plant *f = *state;
  writer_exec(f, "CREATE TEMP TRIGGER refuse BEFORE UPDATE ON outbox BEGIN SELECT RAISE(ABORT, 'refused'); END");
  plant_feed(f, "P1", 30, DG_Q_GOOD); /* the delivery fails (nothing listens): its outcome cannot be written */
  int64_t end = dg_mono_ms() + 10000;
  while (store_health(f->store)->outcome_retries == 0 && dg_mono_ms() < end) {
    uv_run(&f->loop, UV_RUN_NOWAIT);
    usleep(5000);
  }
  assert_true(store_health(f->store)->outcome_retries > 0);
  assert_int_equal(query_int(f, "SELECT attempts FROM outbox"), 0);

  writer_exec(f, "DROP TRIGGER temp.refuse");
  assert_int_equal(run_until(f, "SELECT attempts > 0 AND last_error IS NOT NULL FROM outbox", 1), 1);
}

int main(void)
{
  dg_log_set_level(DG_LOG_ERR);
  const struct CMUnitTest tests[] = {
    plant_unit_test(test_failed_transitions_commit_in_order, test_yaml),
    plant_unit_test(test_failed_outcome_is_written_again, test_yaml),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
