/* store: schema migrations, the writer's job queue and grouping, durability across a crash,
 * the reader, the statement cache and the heartbeat, against real SQLite files. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "plant_fixture.h"
#include "store_gate.h"
#include "store.h"
#include "store_history.h"

#define MAX_JOBS 64

static const char SQL_CREATE_SCRATCH[] =
  "CREATE TABLE IF NOT EXISTS scratch(point TEXT, ts_ms INTEGER, value REAL, quality INTEGER)";
static const char SQL_INSERT_SAMPLE[] =
  "INSERT INTO scratch(point, ts_ms, value, quality) VALUES('p', ?1, ?1, 0)";
static const char SQL_ORPHAN_JOURNAL[] =
  "INSERT INTO alarm_journal(alarm_id, ts_ms, event) VALUES(424242, 0, 'orphan')";
static const char SQL_COUNT_SAMPLE[] = "SELECT count(*) FROM scratch WHERE ts_ms = ?1";

struct ctx {
  int done_id[MAX_JOBS];
  int done_rc[MAX_JOBS];
  int runs[MAX_JOBS];
  int n_done;
};

enum job_kind { JOB_INSERT, JOB_INSERT_THEN_FAIL, JOB_DEFERRED_FK_VIOLATION, JOB_ORPHAN_JOURNAL };

struct job {
  struct ctx *ctx;
  int id;
  enum job_kind kind;
  int runs; /* times its work ran (writer thread; read after done) */
};

/* ---- helpers ------------------------------------------------------------------------------ */

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

/* The plant's loop and database path; each test opens its stores itself. */
static int setup(void **state)
{
  struct plant *f = calloc(1, sizeof *f);
  assert_non_null(f);
  plant_make_dir(f);
  plant_start_to(f, PLANT_LOOP);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct plant *f = *state;
  plant_stop(f); /* finishes the store's handle close, closes the loop */
  plant_free(f);
  free(f);
  return 0;
}

static void raw_exec(const char *path, const char *sql);

/* The jobs of these tests write rows of a table of their own in the main database. */
static struct store *open_store(struct plant *f)
{
  struct store *s = NULL;
  char err[256];
  int rc = store_open(&s, &f->loop, f->db, err, sizeof err);
  if (rc) fprintf(stderr, "store_open: %s\n", err);
  assert_int_equal(rc, 0);
  assert_non_null(s);
  raw_exec(f->db, SQL_CREATE_SCRATCH);
  f->store = s; /* a test that fails before close_store leaves it to the teardown */
  return s;
}

/* The history database beside the plant's database. */
static const char *history_db(const struct plant *f)
{
  static char path[4200];
  snprintf(path, sizeof path, "%s-history", f->db);
  return path;
}

static void close_store(struct plant *f, struct store *s)
{
  if (f->store == s) f->store = NULL;
  store_close(s);
  uv_run(&f->loop, UV_RUN_DEFAULT);
}

/* Opens its own connection, runs `sql`, returns the first column of the first row (or -1). */
static int64_t raw_int(const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int64_t v = -1;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

static void raw_exec(const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  assert_int_equal(sqlite3_open_v2(path, &db, flags, NULL), SQLITE_OK);
  char *msg = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) fprintf(stderr, "%s: %s\n", sql, msg);
  sqlite3_free(msg);
  assert_int_equal(rc, SQLITE_OK);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int64_t table_exists(const char *path, const char *name)
{
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'", name);
  return raw_int(path, sql);
}

static char *read_file(const char *path, size_t *len)
{
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  *len = (size_t)n;
  return buf;
}

static int64_t count_reader(struct store *s, int id)
{
  sqlite3_stmt *st = store_stmt(store_reader(s), SQL_COUNT_SAMPLE);
  assert_non_null(st);
  sqlite3_bind_int(st, 1, id);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return n;
}

static int insert_sample(struct store_conn *c, int id)
{
  sqlite3_stmt *st = store_stmt(c, SQL_INSERT_SAMPLE);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int(st, 1, id);
  int rc = sqlite3_step(st);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int job_work(struct store_conn *c, void *arg)
{
  struct job *j = arg;
  j->runs++;
  switch (j->kind) {
  case JOB_INSERT: return insert_sample(c, j->id);
  case JOB_INSERT_THEN_FAIL: {
    int rc = insert_sample(c, j->id);
    return rc == SQLITE_OK ? SQLITE_CONSTRAINT : rc; /* its own row must be rolled back */
  }
  case JOB_DEFERRED_FK_VIOLATION: {
    /* Passes its work but makes COMMIT fail: the whole group's transaction is lost. */
    int rc = sqlite3_exec(store_conn_db(c), "PRAGMA defer_foreign_keys=ON", NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = insert_sample(c, j->id);
    if (rc == SQLITE_OK) rc = sqlite3_exec(store_conn_db(c), SQL_ORPHAN_JOURNAL, NULL, NULL, NULL);
    return rc;
  }
  case JOB_ORPHAN_JOURNAL:
    return sqlite3_exec(store_conn_db(c), SQL_ORPHAN_JOURNAL, NULL, NULL, NULL);
  }
  return SQLITE_MISUSE;
}

static void job_done(void *arg, int rc)
{
  struct job *j = arg;
  struct ctx *c = j->ctx;
  if (c->n_done < MAX_JOBS) {
    c->done_id[c->n_done] = j->id;
    c->done_rc[c->n_done] = rc;
  }
  c->runs[c->n_done < MAX_JOBS ? c->n_done : 0] = j->runs;
  c->n_done++;
  free(j);
}

static void submit_lane(struct store *s, struct ctx *c, int id, enum job_kind kind, bool urgent)
{
  struct job *j = calloc(1, sizeof *j);
  assert_non_null(j);
  j->ctx = c;
  j->id = id;
  j->kind = kind;
  if (urgent) assert_int_equal(store_submit_urgent(s, job_work, job_done, j), 0);
  else assert_int_equal(store_submit(s, job_work, job_done, j), 0);
}

static void submit(struct store *s, struct ctx *c, int id, enum job_kind kind) { submit_lane(s, c, id, kind, false); }

/* Urgent jobs are the ones grouped into a shared commit (alarm bursts). */
static void submit_urgent(struct store *s, struct ctx *c, int id, enum job_kind kind)
{
  submit_lane(s, c, id, kind, true);
}

/* Holds the writer inside a job until released, so the jobs queued meanwhile form one group. */
static void gate_close(struct store *s, struct gate *g) { gate_close_on(s, g, store_submit); }

/* ---- schema -------------------------------------------------------------------------------- */

struct pragmas {
  int64_t synchronous, foreign_keys;
  char journal_mode[16];
};

static int pragma_work(struct store_conn *c, void *arg)
{
  struct pragmas *p = arg;
  static const char *const sql[] = {"PRAGMA synchronous", "PRAGMA foreign_keys", "PRAGMA journal_mode"};
  for (int i = 0; i < 3; i++) {
    sqlite3_stmt *st = store_stmt(c, sql[i]);
    if (!st || sqlite3_step(st) != SQLITE_ROW) return SQLITE_ERROR;
    if (i == 0) p->synchronous = sqlite3_column_int64(st, 0);
    if (i == 1) p->foreign_keys = sqlite3_column_int64(st, 0);
    if (i == 2)
      snprintf(p->journal_mode, sizeof p->journal_mode, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
  }
  return SQLITE_OK;
}

static void test_open_creates_latest_schema(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  struct pragmas p = {0};
  assert_int_equal(store_submit(s, pragma_work, NULL, &p), 0);
  struct ctx c = {0};
  submit(s, &c, 1, JOB_ORPHAN_JOURNAL);
  store_wait_idle(s);
  assert_int_equal(p.synchronous, 2); /* FULL */
  assert_int_equal(p.foreign_keys, 1);
  assert_string_equal(p.journal_mode, "wal");
  assert_int_equal(c.n_done, 1);
  assert_true(c.done_rc[0] < 0); /* foreign keys enforced on the writer */
  close_store(f, s);

  assert_int_equal(raw_int(f->db, "SELECT version FROM schema_version"), (int64_t)store_n_migrations);
  assert_int_equal(raw_int(f->db, "SELECT count(*) FROM schema_version"), 1);
  /* History lives beside it, in its own database. */
  assert_int_equal(raw_int(f->db, "SELECT count(*) FROM sqlite_master WHERE name IN ('sample_rows', 'point_ids',"
                                    " 'samples', 'history_carry_rows', 'history_carry_ids')"), 0);
  assert_int_equal(table_exists(history_db(f), "sample_rows"), 1);
  assert_int_equal(table_exists(history_db(f), "point_ids"), 1);
  assert_int_equal(raw_int(history_db(f), "SELECT count(*) FROM sqlite_master WHERE type = 'view' AND name = 'samples'"),
                   1);
  assert_int_equal(table_exists(f->db, "alarms"), 1);
  assert_int_equal(table_exists(f->db, "hazards"), 1);
  assert_int_equal(table_exists(f->db, "outbox"), 1);
  assert_int_equal(raw_int(f->db, "SELECT count(*) FROM alarm_journal"), 0);
}

static void test_reopen_is_noop(void **state)
{
  struct plant *f = *state;
  close_store(f, open_store(f));
  raw_exec(history_db(f), "INSERT INTO samples(point, ts_ms, value, quality) VALUES('kept', 1, 1, 0)");
  int64_t cookie = raw_int(f->db, "PRAGMA schema_version");
  assert_true(cookie > 0);

  close_store(f, open_store(f));
  assert_int_equal(raw_int(f->db, "PRAGMA schema_version"), cookie);
  assert_int_equal(raw_int(f->db, "SELECT version FROM schema_version"), (int64_t)store_n_migrations);
  assert_int_equal(raw_int(f->db, "SELECT count(*) FROM schema_version"), 1);
  assert_int_equal(raw_int(history_db(f), "SELECT count(*) FROM samples WHERE point = 'kept'"), 1);
}

/* A history database as a build of schema `version` left it, before the store opens it. */
static void history_at_schema(const char *h, unsigned version)
{
  char sql[160];
  snprintf(sql, sizeof sql, "PRAGMA journal_mode=WAL; CREATE TABLE schema_version(version INTEGER NOT NULL);"
                            "INSERT INTO schema_version VALUES (%u)", version);
  raw_exec(h, sql);
  for (unsigned i = 0; i < version; i++) raw_exec(h, store_history_migrations[i]);
}

/* A history database of the first schema (rows straight in sample_rows) gains packed history:
 * its rows read back through `samples` as they were, in order, and rows inserted after them
 * follow them. */
static void test_history_first_schema_gains_packs(void **state)
{
  struct plant *f = *state;
  const char *h = history_db(f);
  history_at_schema(h, 1);
  raw_exec(h, "INSERT INTO point_ids (id, name) VALUES (3, 'TT1');"
              "INSERT INTO sample_rows (rowid, point, ts_ms, value, quality) VALUES (5, 3, 10, 1.5, 0), (9, 3, 20, 2.5, 0)");
  close_store(f, open_store(f));
  assert_int_equal(raw_int(h, "SELECT version FROM schema_version"), (int64_t)store_history_n_migrations);
  assert_int_equal(table_exists(h, "sample_packs"), 1);
  assert_int_equal(table_exists(h, "sample_blocks"), 1);
  raw_exec(h, "INSERT INTO samples (point, ts_ms, value, quality) VALUES ('TT1', 30, 3.5, 0)");
  assert_int_equal(raw_int(h, "SELECT count(*) FROM samples WHERE point = 'TT1'"), 3);
  assert_int_equal(raw_int(h, "SELECT max(rowid) FROM samples WHERE ts_ms = 30"), 65536);
  assert_int_equal(raw_int(h, "SELECT sum(value * 2) FROM samples WHERE point = 'TT1' AND ts_ms >= 20"), 12);
  raw_exec(h, "DELETE FROM sample_rows WHERE ts_ms = 10");
  assert_int_equal(raw_int(h, "SELECT group_concat(rowid, ' ') = '9 65536' FROM (SELECT rowid FROM samples ORDER BY rowid)"),
                   1);
}

/* A history database of schema 3 with rows in its per-row log: the upgrade moves them into
 * sample_rows, ids kept, and drops the log; a row inserted by name then follows them without
 * scanning anything (the first free id is a seek to the end of each table). */
static void test_history_row_log_moves_to_rows(void **state)
{
  struct plant *f = *state;
  const char *h = history_db(f);
  history_at_schema(h, 3);
  raw_exec(h, "INSERT INTO point_ids (id, name) VALUES (4, 'TT1'), (34, 'TT2');"
              "INSERT INTO sample_log (slice, id, point, ts_ms, value, quality)"
              " WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)"
              " SELECT 4, i, 4 + i % 2 * 30, i, i, 0 FROM n");
  close_store(f, open_store(f));
  assert_int_equal(table_exists(h, "sample_log"), 0);
  assert_int_equal(raw_int(h, "SELECT count(*) FROM sample_rows"), 6000);
  assert_int_equal(raw_int(h, "SELECT count(*) FROM samples WHERE point = 'TT2' AND rowid = value AND rowid % 2 = 1"),
                   3000);
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_open_v2(h, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO samples (point, ts_ms, value, quality) VALUES ('TT1', 7000, 1, 0)",
                                      -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  assert_true(sqlite3_stmt_status(st, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0) < 100);
  sqlite3_finalize(st);
  sqlite3_close(db);
  assert_int_equal(raw_int(h, "SELECT rowid FROM samples WHERE ts_ms = 7000"), 65536);
  assert_int_equal(raw_int(h, "SELECT id FROM sample_next_id"), 2);
}

/* A history database of schema 4 with blocks found through (point, t1): the upgrade leaves them
 * as they are (no move), readable by name, and narrows (point, t1) to them, so that moved blocks
 * enter (move, point) only. */
static void test_history_blocks_of_schema_4_kept(void **state)
{
  struct plant *f = *state;
  const char *h = history_db(f);
  history_at_schema(h, 4);
  raw_exec(h, "INSERT INTO point_ids (id, name) VALUES (4, 'TT1');"
              "INSERT INTO sample_blocks (id, point, t0, t1, n, data) VALUES"
              " (7, 4, 100, 200, 2, x'00000000003FF000000000000000000064004000000000000000')");
  close_store(f, open_store(f));
  assert_int_equal(raw_int(h, "SELECT version FROM schema_version"), (int64_t)store_history_n_migrations);
  assert_int_equal(raw_int(h, "SELECT count(*) FROM sample_blocks WHERE move IS NULL AND id = 7"), 1);
  assert_int_equal(raw_int(h, "SELECT sum(value * 10) FROM samples WHERE point = 'TT1' AND ts_ms IN (100, 200)"), 30);
  assert_int_equal(raw_int(h, "SELECT count(*) FROM sqlite_master WHERE name = 'sample_blocks_point_t1'"
                              " AND sql LIKE '%WHERE move IS NULL'"), 1);
  assert_int_equal(raw_int(h, "SELECT count(*) FROM sqlite_master WHERE name = 'sample_blocks_move'"), 1);
  assert_int_equal(raw_int(h, "SELECT count(*) FROM sample_moves"), 0);
}

/* Text-keyed history from before integer point ids, kept in the main database: every row moves
 * to the history database, keyed by its point's id, and reads back unchanged through the
 * samples view, also through the main reader. */
static void test_old_history_carried_to_history_database(void **state)
{
  struct plant *f = *state;
  raw_exec(f->db, "CREATE TABLE schema_version(version INTEGER NOT NULL); INSERT INTO schema_version VALUES (9)");
  for (unsigned i = 0; i < 9; i++) raw_exec(f->db, store_migrations[i]);
  raw_exec(f->db, "INSERT INTO samples(point, ts_ms, value, quality) VALUES ('TT1', 1, 1.5, 0), ('PT2', 2, NULL, 2),"
                    " ('TT1', 3, 2.5, 0)");
  struct store *s = open_store(f);
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(store_conn_db(store_reader(s)), "SELECT count(*) FROM samples WHERE point = 'TT1'",
                                      -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 2);
  sqlite3_finalize(st);
  close_store(f, s);
  const char *h = history_db(f);
  assert_int_equal(raw_int(f->db, "SELECT version FROM schema_version"), (int64_t)store_n_migrations);
  assert_int_equal(raw_int(f->db, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'history_carry%'"), 0);
  assert_int_equal(raw_int(h, "SELECT count(*) FROM point_ids"), 2);
  assert_int_equal(raw_int(h, "SELECT count(*) FROM sample_rows s JOIN point_ids p ON p.id = s.point"
                              " WHERE p.name = 'TT1' AND typeof(s.point) = 'integer'"), 2);
  assert_int_equal(raw_int(h, "SELECT count(*) FROM samples WHERE point = 'TT1' AND value = 2.5 AND ts_ms = 3"), 1);
  assert_int_equal(raw_int(h, "SELECT count(*) FROM samples WHERE point = 'PT2' AND value IS NULL AND quality = 2"), 1);
  raw_exec(h, "DELETE FROM sample_rows WHERE ts_ms < 3");
  assert_int_equal(raw_int(h, "SELECT count(*) FROM samples"), 1);
}

/* A crash after the rows were copied but before the main database dropped them: the next open
 * copies nothing twice, and drops them. */
static void test_history_carry_over_runs_once(void **state)
{
  struct plant *f = *state;
  close_store(f, open_store(f));
  const char *h = history_db(f);
  raw_exec(h, "INSERT INTO point_ids (id, name) VALUES (7, 'TT1');"
              "INSERT INTO sample_rows (rowid, point, ts_ms, value, quality) VALUES (1, 7, 10, 1, 0), (2, 7, 20, 2, 0)");
  raw_exec(f->db, "CREATE TABLE history_carry_ids (id INTEGER PRIMARY KEY, name TEXT);"
                  "CREATE TABLE history_carry_rows (point INTEGER, ts_ms INTEGER, value REAL, quality INTEGER);"
                  "INSERT INTO history_carry_ids VALUES (7, 'TT1');"
                  "INSERT INTO history_carry_rows (rowid, point, ts_ms, value, quality) VALUES (1, 7, 10, 1, 0),"
                  " (2, 7, 20, 2, 0), (3, 7, 30, 3, 0)");
  close_store(f, open_store(f));
  assert_int_equal(raw_int(h, "SELECT count(*) FROM samples WHERE point = 'TT1'"), 3);
  assert_int_equal(raw_int(h, "SELECT sum(value) FROM samples"), 6);
  assert_int_equal(raw_int(f->db, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'history_carry%'"), 0);
}

/* A history database that names an id otherwise: nothing is copied or dropped, and the daemon
 * still opens (alarms do not wait for old history). */
static void test_history_carry_over_refuses_a_clash(void **state)
{
  struct plant *f = *state;
  close_store(f, open_store(f));
  const char *h = history_db(f);
  raw_exec(h, "INSERT INTO point_ids (id, name) VALUES (7, 'OTHER')");
  raw_exec(f->db, "CREATE TABLE history_carry_ids (id INTEGER PRIMARY KEY, name TEXT);"
                  "CREATE TABLE history_carry_rows (point INTEGER, ts_ms INTEGER, value REAL, quality INTEGER);"
                  "INSERT INTO history_carry_ids VALUES (7, 'TT1');"
                  "INSERT INTO history_carry_rows (point, ts_ms, value, quality) VALUES (7, 10, 1, 0)");
  close_store(f, open_store(f));
  assert_int_equal(raw_int(h, "SELECT count(*) FROM sample_rows"), 0);
  assert_int_equal(raw_int(f->db, "SELECT count(*) FROM history_carry_rows"), 1);
}

static void test_newer_schema_refused_untouched(void **state)
{
  struct plant *f = *state;
  close_store(f, open_store(f));
  char sql[96];
  snprintf(sql, sizeof sql, "UPDATE schema_version SET version = %u", store_n_migrations + 1);
  raw_exec(f->db, sql);
  size_t len_before, len_after;
  char *before = read_file(f->db, &len_before);

  struct store *s = (struct store *)&s;
  char err[256] = "";
  assert_true(store_open(&s, &f->loop, f->db, err, sizeof err) < 0);
  assert_null(s);
  assert_non_null(strstr(err, "newer than this build"));
  assert_non_null(strstr(err, "refusing"));
  assert_non_null(strstr(err, f->db));

  char *after = read_file(f->db, &len_after);
  assert_int_equal(len_before, len_after);
  assert_memory_equal(before, after, len_before);
  free(before);
  free(after);
  assert_int_equal(raw_int(f->db, "SELECT version FROM schema_version"), (int64_t)store_n_migrations + 1);
}

static void test_failing_migration_leaves_version_0(void **state)
{
  struct plant *f = *state;
  raw_exec(f->db, "CREATE TABLE alarms(legacy TEXT); INSERT INTO alarms VALUES('old')");
  struct store *s = NULL;
  char err[256] = "";
  assert_true(store_open(&s, &f->loop, f->db, err, sizeof err) < 0);
  assert_null(s);
  assert_non_null(strstr(err, "migration 0 to 1 failed"));
  assert_non_null(strstr(err, "alarms already exists"));

  /* Nothing of the migration survived: no version recorded, no v1 table, old table intact. */
  assert_int_equal(table_exists(f->db, "schema_version"), 0);
  assert_int_equal(table_exists(f->db, "samples"), 0);
  assert_int_equal(raw_int(f->db, "SELECT count(*) FROM pragma_table_info('alarms')"), 1);
  assert_int_equal(raw_int(f->db, "SELECT count(*) FROM alarms WHERE legacy = 'old'"), 1);
}

static void test_wal_required(void **state)
{
  struct plant *f = *state;
  struct store *s = NULL;
  char err[256] = "";
  assert_true(store_open(&s, &f->loop, ":memory:", err, sizeof err) < 0);
  assert_null(s);
  assert_non_null(strstr(err, "WAL is required"));
}

static void test_not_a_database_refused(void **state)
{
  struct plant *f = *state;
  FILE *fp = fopen(f->db, "wb");
  assert_non_null(fp);
  for (int i = 0; i < 512; i++) fputs("garbage!", fp);
  fclose(fp);
  struct store *s = NULL;
  char err[256] = "";
  assert_true(store_open(&s, &f->loop, f->db, err, sizeof err) < 0);
  assert_null(s);
  assert_non_null(strstr(err, "not a database"));
}

/* ---- jobs ---------------------------------------------------------------------------------- */

static void on_guard_timer(uv_timer_t *t) { *(int *)t->data = 1; }

/* Runs the loop until `ctx` has seen `n` done callbacks (guarded by a 10 s deadline). */
static void run_until_done(struct plant *f, struct ctx *c, int n)
{
  uv_timer_t guard;
  int expired = 0;
  uv_timer_init(&f->loop, &guard);
  guard.data = &expired;
  uv_timer_start(&guard, on_guard_timer, 10000, 0);
  while (c->n_done < n && !expired) uv_run(&f->loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&guard, NULL);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_false(expired);
}

static void test_jobs_done_in_order(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  struct ctx c = {0};
  for (int i = 0; i < 20; i++) submit(s, &c, i, JOB_INSERT);
  run_until_done(f, &c, 20); /* through the async handle, not store_wait_idle */
  assert_int_equal(c.n_done, 20);
  assert_int_equal(store_pending(s), 0);
  for (int i = 0; i < 20; i++) {
    assert_int_equal(c.done_id[i], i);
    assert_int_equal(c.done_rc[i], 0);
    assert_int_equal(count_reader(s, i), 1);
  }
  close_store(f, s);
}

static void test_failed_job_alone_rolls_back(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  struct ctx c = {0};
  submit(s, &c, 1, JOB_INSERT);
  submit(s, &c, 2, JOB_INSERT_THEN_FAIL);
  store_wait_idle(s);
  submit(s, &c, 3, JOB_INSERT);
  store_wait_idle(s);
  assert_int_equal(c.n_done, 3);
  assert_int_equal(c.done_rc[0], 0);
  assert_true(c.done_rc[1] < 0);
  assert_int_equal(c.done_rc[2], 0);
  assert_int_equal(count_reader(s, 1), 1);
  assert_int_equal(count_reader(s, 2), 0);
  assert_int_equal(count_reader(s, 3), 1);
  close_store(f, s);
}

static void test_group_with_failing_work(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  struct ctx c = {0};
  struct gate g;
  gate_close(s, &g);
  for (int i = 0; i < 10; i++) submit_urgent(s, &c, i, i == 4 || i == 7 ? JOB_INSERT_THEN_FAIL : JOB_INSERT);
  assert_int_equal(store_pending(s), 11);
  gate_open(&g);
  store_wait_idle(s);
  gate_destroy(&g);
  assert_int_equal(store_pending(s), 0);
  assert_int_equal(c.n_done, 10);
  for (int i = 0; i < 10; i++) {
    assert_int_equal(c.done_id[i], i);
    int bad = i == 4 || i == 7;
    if (bad) assert_true(c.done_rc[i] < 0);
    else assert_int_equal(c.done_rc[i], 0);
    assert_int_equal(count_reader(s, i), bad ? 0 : 1);
    assert_int_equal(c.runs[i], 1); /* savepoints: no neighbour had to run again */
  }
  close_store(f, s);
}

static void test_group_with_failing_commit(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  struct ctx c = {0};
  struct gate g;
  gate_close(s, &g);
  for (int i = 0; i < 6; i++) submit_urgent(s, &c, i, i == 2 ? JOB_DEFERRED_FK_VIOLATION : JOB_INSERT);
  gate_open(&g);
  store_wait_idle(s);
  gate_destroy(&g);
  assert_int_equal(c.n_done, 6);
  for (int i = 0; i < 6; i++) {
    assert_int_equal(c.done_id[i], i);
    if (i == 2) assert_true(c.done_rc[i] < 0);
    else assert_int_equal(c.done_rc[i], 0);
    assert_int_equal(count_reader(s, i), i == 2 ? 0 : 1);
    assert_int_equal(c.runs[i], 2); /* once in the lost group, once on its own */
  }
  close_store(f, s);
  assert_int_equal(raw_int(f->db, "SELECT count(*) FROM alarm_journal"), 0);
}

static void test_urgent_jobs_overtake_queued_ones(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  struct ctx c = {0};
  struct gate g;
  gate_close(s, &g);
  for (int i = 0; i < 4; i++) submit(s, &c, i, JOB_INSERT);
  submit_urgent(s, &c, 10, JOB_INSERT);
  submit_urgent(s, &c, 11, JOB_INSERT);
  gate_open(&g);
  store_wait_idle(s);
  gate_destroy(&g);
  assert_int_equal(c.n_done, 6);
  const int expected[] = {10, 11, 0, 1, 2, 3}; /* urgent first, each lane in its own order */
  for (int i = 0; i < 6; i++) {
    assert_int_equal(c.done_id[i], expected[i]);
    assert_int_equal(c.done_rc[i], 0);
  }
  close_store(f, s);
}

/* History (relaxed) commits with synchronous=NORMAL; every other job, in either lane, with FULL.
 * Relaxed and other jobs never share a transaction, so no transition commits at the relaxed
 * level. */
static void test_relaxed_jobs_commit_with_normal_sync(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  struct pragmas p[4] = {{0}};
  struct gate g;
  gate_close(s, &g);
  assert_int_equal(store_submit_relaxed(s, pragma_work, NULL, &p[0]), 0);
  assert_int_equal(store_submit(s, pragma_work, NULL, &p[1]), 0);
  assert_int_equal(store_submit_urgent(s, pragma_work, NULL, &p[2]), 0);
  assert_int_equal(store_submit_relaxed(s, pragma_work, NULL, &p[3]), 0);
  gate_open(&g);
  store_wait_idle(s);
  gate_destroy(&g);
  assert_int_equal(p[0].synchronous, 1); /* NORMAL */
  assert_int_equal(p[1].synchronous, 2); /* FULL */
  assert_int_equal(p[2].synchronous, 2);
  assert_int_equal(p[3].synchronous, 1);
  close_store(f, s);
}

static int insert_many(struct store_conn *c, void *arg)
{
  (void)arg;
  int rc = SQLITE_OK;
  for (int i = 0; rc == SQLITE_OK && i < 5000; i++) rc = insert_sample(c, 10000 + i);
  return rc;
}

static int64_t file_size(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* Commits go to the WAL; the background checkpointer, not a commit, copies them into the
 * database file within a few seconds while the store stays open. */
static void test_background_checkpoint(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  int64_t before = file_size(f->db);
  assert_int_equal(store_submit(s, insert_many, NULL, NULL), 0);
  store_wait_idle(s);
  int64_t deadline = now_ms() + 10000;
  while (file_size(f->db) <= before && now_ms() < deadline) nap_ms(20);
  assert_true(file_size(f->db) > before);
  assert_int_equal(raw_int(f->db, "SELECT count(*) FROM scratch"), 5000);
  close_store(f, s);
}

/* Rows of about a page each: every commit of churn_work rewrites CHURN_PAGES_A_COMMIT pages. */
#define CHURN_ROWS 64
#define CHURN_PAGES_A_COMMIT 8
#define CHURN_JOBS 3000
#define CHURN_IN_FLIGHT 4
/* STORE_WAL_FRAMES_MAX (8192 frames of a 4 KiB page) and the groups committed meanwhile. */
#define CHURN_WAL_LIMIT ((int64_t)40 << 20)

static struct {
  struct store *s;
  char wal[PATH_MAX + 8];
  int submitted, done, failed;
  int64_t wal_max;
} churn;

static int churn_work(struct store_conn *c, void *arg)
{
  sqlite3_stmt *st = store_stmt(c, "UPDATE scratch SET value = value + 1 WHERE quality = 1 AND ts_ms % ?2 = ?1");
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int(st, 1, (int)(intptr_t)arg % (CHURN_ROWS / CHURN_PAGES_A_COMMIT));
  sqlite3_bind_int(st, 2, CHURN_ROWS / CHURN_PAGES_A_COMMIT);
  return store_step_done(st);
}

static void churn_done(void *arg, int rc);

static void churn_next(void)
{
  intptr_t k = churn.submitted++;
  assert_int_equal(store_submit(churn.s, churn_work, churn_done, (void *)k), 0);
}

static void churn_done(void *arg, int rc)
{
  (void)arg;
  churn.done++;
  if (rc) churn.failed++;
  int64_t wal = file_size(churn.wal);
  if (wal > churn.wal_max) churn.wal_max = wal;
  if (churn.submitted < CHURN_JOBS) churn_next();
}

/* Commits that never pause (a flood of alarms) leave no moment in which a checkpoint run once
 * in a while could copy all of the WAL, and only then does the WAL start over: it would grow by
 * every commit for as long as the flood lasts. It stays bounded, and nothing is lost. */
static void test_wal_bounded_under_commits_that_never_pause(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  char fill[256];
  snprintf(fill, sizeof fill,
           "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < %d)"
           " INSERT INTO scratch(point, ts_ms, value, quality) SELECT hex(zeroblob(1700)), i, 0, 1 FROM n",
           CHURN_ROWS);
  raw_exec(f->db, fill);
  churn = (__typeof__(churn)){.s = s};
  snprintf(churn.wal, sizeof churn.wal, "%s-wal", f->db);
  for (int i = 0; i < CHURN_IN_FLIGHT; i++) churn_next();
  int64_t deadline = now_ms() + 120000;
  while (churn.done < CHURN_JOBS && now_ms() < deadline) uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(churn.done, CHURN_JOBS);
  assert_int_equal(churn.failed, 0);
  assert_true(churn.wal_max > 0);
  if (churn.wal_max >= CHURN_WAL_LIMIT) fprintf(stderr, "WAL grew to %lld bytes\n", (long long)churn.wal_max);
  assert_true(churn.wal_max < CHURN_WAL_LIMIT);
  assert_int_equal(raw_int(f->db, "SELECT sum(value) FROM scratch WHERE quality = 1"),
                   (int64_t)CHURN_JOBS * CHURN_PAGES_A_COMMIT);
  close_store(f, s);
}

static int cache_used_work(struct store_conn *c, void *arg)
{
  int cur = 0, hi = 0;
  int rc = sqlite3_db_status(store_conn_db(c), SQLITE_DBSTATUS_CACHE_USED, &cur, &hi, 0);
  *(int64_t *)arg = cur;
  return rc;
}

/* A writer with nothing to do for STORE_IDLE_RELEASE_MS gives its page cache back (the
 * process's SQLite memory falls by most of what the writer's cache held), and takes jobs as
 * before. */
static void test_idle_writer_releases_its_cache(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  int64_t cached = 0;
  for (int i = 0; i < 4; i++) assert_int_equal(store_submit(s, insert_many, NULL, NULL), 0);
  assert_int_equal(store_submit(s, cache_used_work, NULL, &cached), 0);
  store_wait_idle(s);
  assert_true(cached > 256 * 1024);
  int64_t busy = sqlite3_memory_used(), released = busy;
  int64_t deadline = now_ms() + STORE_IDLE_RELEASE_MS + 5000;
  while ((released = sqlite3_memory_used()) > busy - cached / 2 && now_ms() < deadline) nap_ms(50);
  assert_true(released <= busy - cached / 2);
  struct ctx c = {0};
  submit(s, &c, 7, JOB_INSERT);
  store_wait_idle(s);
  assert_int_equal(c.done_rc[0], 0);
  assert_int_equal(count_reader(s, 7), 1);
  close_store(f, s);
}

/* Open files of this process that are SQLite temporary files (unlinked when opened). */
static int temp_files_open(void)
{
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  for (struct dirent *e; (e = readdir(d));) {
    char path[300], target[PATH_MAX];
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t len = readlink(path, target, sizeof target - 1);
    if (len <= 0) continue;
    target[len] = '\0';
    n += strstr(target, "etilqs_") != NULL;
  }
  closedir(d);
  return n;
}

/* Inside a savepoint, as in a group, rewrites every row (far more than the 64 KiB a statement
 * journal keeps in memory by default), then counts temporary files open meanwhile. */
static int savepoint_rewrite_work(struct store_conn *c, void *arg)
{
  sqlite3 *db = store_conn_db(c);
  int rc = sqlite3_exec(db, "SAVEPOINT big; UPDATE scratch SET value = value + 1, point = point || 'x'", NULL, NULL, NULL);
  *(int *)arg = temp_files_open();
  int rrc = sqlite3_exec(db, "RELEASE big", NULL, NULL, NULL);
  return rc != SQLITE_OK ? rc : rrc;
}

/* The writer keeps a savepoint's journal in memory: no temporary file is created for it. */
static void test_writer_keeps_temporary_data_in_memory(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  int temp_files = -1;
  for (int i = 0; i < 4; i++) assert_int_equal(store_submit(s, insert_many, NULL, NULL), 0);
  assert_int_equal(store_submit(s, savepoint_rewrite_work, NULL, &temp_files), 0);
  store_wait_idle(s);
  assert_int_equal(temp_files, 0);
  assert_int_equal(raw_int(f->db, "SELECT count(*) FROM scratch WHERE point = 'px'"), 20000);
  close_store(f, s);
}

/* Queries between store_read_begin and store_read_end see one snapshot: a commit made in the
 * meantime shows only after the end. */
static void test_read_snapshot(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  struct ctx c = {0};
  submit(s, &c, 1, JOB_INSERT);
  store_wait_idle(s);
  assert_int_equal(store_read_begin(store_reader(s)), 0);
  assert_int_equal(count_reader(s, 1), 1);
  submit(s, &c, 1, JOB_INSERT);
  store_wait_idle(s);
  assert_int_equal(raw_int(f->db, "SELECT count(*) FROM scratch WHERE ts_ms = 1"), 2); /* committed */
  assert_int_equal(count_reader(s, 1), 1);                                               /* not yet seen */
  store_read_end(store_reader(s));
  assert_int_equal(count_reader(s, 1), 2);
  close_store(f, s);
}

static void test_close_finishes_queue_then_refuses(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  struct ctx c = {0};
  for (int i = 0; i < 5; i++) submit(s, &c, i, JOB_INSERT);
  f->store = NULL; /* closed here, and used after its close */
  store_close(s);
  assert_int_equal(c.n_done, 5); /* done callbacks ran inside store_close */
  for (int i = 0; i < 5; i++) assert_int_equal(c.done_rc[i], 0);
  int dummy = 0;
  assert_int_equal(store_submit(s, job_work, NULL, &dummy), -ESHUTDOWN);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(raw_int(f->db, "SELECT count(*) FROM scratch"), 5);
  struct stat st;
  char wal[160];
  snprintf(wal, sizeof wal, "%s-wal", f->db);
  assert_true(stat(wal, &st) != 0 || st.st_size == 0); /* checkpointed */
}

/* ---- durability ---------------------------------------------------------------------------- */

static void crash_child(const char *path)
{
  uv_loop_t loop;
  if (uv_loop_init(&loop)) _exit(2);
  struct store *s = NULL;
  char err[256];
  if (store_open(&s, &loop, path, err, sizeof err)) _exit(3);
  raw_exec(path, SQL_CREATE_SCRATCH);
  struct ctx c = {0};
  struct job *j = calloc(1, sizeof *j);
  if (!j) _exit(4);
  j->ctx = &c;
  j->id = 77;
  j->kind = JOB_INSERT;
  if (store_submit(s, job_work, job_done, j)) _exit(5);
  store_wait_idle(s);
  if (c.n_done != 1 || c.done_rc[0] != 0) _exit(6);
  raise(SIGKILL);
  _exit(7);
}

static void test_commit_survives_kill(void **state)
{
  struct plant *f = *state;
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) crash_child(f->db);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (WIFEXITED(status)) fprintf(stderr, "child exited with %d\n", WEXITSTATUS(status));
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGKILL);

  /* The commit lives only in the WAL the killed process left behind. */
  char wal[160];
  struct stat st;
  snprintf(wal, sizeof wal, "%s-wal", f->db);
  assert_int_equal(stat(wal, &st), 0);
  assert_true(st.st_size > 0);

  struct store *s = open_store(f);
  assert_int_equal(count_reader(s, 77), 1);
  close_store(f, s);
}

/* ---- reader and statement cache ------------------------------------------------------------ */

static void test_reader_sees_commits(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  struct ctx c = {0};
  submit(s, &c, 5, JOB_INSERT);
  store_wait_idle(s);
  assert_int_equal(count_reader(s, 5), 1);
  submit(s, &c, 5, JOB_INSERT);
  store_wait_idle(s);
  assert_int_equal(count_reader(s, 5), 2);

  sqlite3_stmt *w = store_stmt(store_reader(s), SQL_INSERT_SAMPLE);
  assert_non_null(w);
  sqlite3_bind_int(w, 1, 9);
  assert_int_equal(sqlite3_step(w) & 0xff, SQLITE_READONLY);
  sqlite3_reset(w);
  close_store(f, s);
}

/* A read on the read lane: where it ran, what it saw, when its done came. */
struct lane_read {
  int seq, *order, *n_order;
  pthread_t thread, done_thread;
  int64_t count;
  int history_rc, done_rc;
};

static int lane_read_work(struct store_conn *c, void *arg)
{
  struct lane_read *r = arg;
  r->thread = pthread_self();
  sqlite3_stmt *st = store_stmt(c, SQL_COUNT_SAMPLE);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int(st, 1, 8);
  r->count = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_reset(st);
  st = store_stmt(c, "SELECT count(*) FROM history.sample_moves");
  r->history_rc = st ? sqlite3_step(st) : SQLITE_ERROR;
  if (st) sqlite3_reset(st);
  return SQLITE_OK;
}

static void lane_read_done(void *arg, int rc)
{
  struct lane_read *r = arg;
  r->done_thread = pthread_self();
  r->done_rc = rc;
  r->order[(*r->n_order)++] = r->seq;
}

/* Reads on the read lane run on their own thread and connection, in order, while the writer
 * commits and the loop runs; at most STORE_READS_MAX wait or run. */
static void test_read_lane(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  struct ctx c = {0};
  struct gate g;
  gate_close_on(s, &g, store_submit_read); /* the reader holds its first read */
  submit(s, &c, 8, JOB_INSERT);
  for (int64_t deadline = now_ms() + 10000; c.n_done < 1 && now_ms() < deadline; nap_ms(1))
    uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(c.n_done, 1); /* committed and done on the loop while the read is held */
  assert_int_equal(count_reader(s, 8), 1);
  /* A wait for the commits (an API answer's) does not wait behind the held read. */
  submit(s, &c, 9, JOB_INSERT);
  store_wait_idle(s);
  assert_int_equal(c.n_done, 2);
  assert_int_equal(count_reader(s, 9), 1);
  assert_int_equal(store_pending(s), 0); /* reads are not pending jobs */

  enum { N = STORE_READS_MAX - 1 };
  struct lane_read r[N + 1];
  int order[N + 1], n_order = 0;
  for (int i = 0; i <= N; i++) r[i] = (struct lane_read){.seq = i, .order = order, .n_order = &n_order};
  uint64_t commits = store_health(s)->commits;
  for (int i = 0; i < N; i++) assert_int_equal(store_submit_read(s, lane_read_work, lane_read_done, &r[i]), 0);
  assert_int_equal(store_submit_read(s, lane_read_work, lane_read_done, &r[N]), -EBUSY);
  assert_int_equal(n_order, 0);
  gate_open(&g);
  store_wait_reads(s);
  gate_destroy(&g);
  assert_int_equal(n_order, N);
  assert_int_equal(store_health(s)->commits, commits); /* reads are not commits */
  for (int i = 0; i < N; i++) {
    assert_int_equal(order[i], i);
    assert_false(pthread_equal(r[i].thread, pthread_self()));
    assert_true(pthread_equal(r[i].done_thread, pthread_self()));
    assert_int_equal(r[i].done_rc, SQLITE_OK);
    assert_int_equal(r[i].count, 1);
    assert_int_equal(r[i].history_rc, SQLITE_ROW); /* the history is attached, as on the loop's reader */
  }
  close_store(f, s);
}

/* An API answer that must see every earlier ledger write waits for the main database only: a
 * history batch being committed (held here) does not hold it. */
static void test_wait_own_skips_history(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  struct ctx c = {0};
  struct gate g;
  gate_close_on(store_history(s), &g, store_submit_relaxed);
  submit(s, &c, 10, JOB_INSERT);
  store_wait_own(s);
  assert_int_equal(c.n_done, 1);
  assert_int_equal(count_reader(s, 10), 1);
  assert_int_equal(store_pending(store_history(s)), 1); /* the batch is still being committed */
  gate_open(&g);
  store_wait_idle(s);
  assert_int_equal(store_pending(store_history(s)), 0);
  gate_destroy(&g);
  close_store(f, s);
}

/* A chain as the national upload makes one: a write whose done submits a read whose done
 * submits a write (and a history batch on the side). */
struct chain {
  struct store *s;
  int steps; /* done callbacks run */
};

static int chain_noop(struct store_conn *c, void *arg)
{
  (void)c;
  (void)arg;
  return SQLITE_OK;
}

static void chain_done(void *arg, int rc)
{
  struct chain *ch = arg;
  assert_int_equal(rc, 0);
  switch (++ch->steps) {
  case 1: assert_int_equal(store_submit_read(ch->s, chain_noop, chain_done, ch), 0); break;
  case 2: assert_int_equal(store_submit_relaxed(store_history(ch->s), chain_noop, chain_done, ch), 0); break;
  case 3: assert_int_equal(store_submit_urgent(ch->s, chain_noop, chain_done, ch), 0); break;
  default: break;
  }
}

/* What a reload waits for before it frees the old configuration: every read and job, and the
 * ones their done callbacks submit. */
static void test_wait_quiet_follows_chains(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  struct chain ch = {.s = s};
  assert_int_equal(store_submit(s, chain_noop, chain_done, &ch), 0);
  store_wait_quiet(s);
  assert_int_equal(ch.steps, 4);
  assert_int_equal(store_pending(s), 0);
  assert_int_equal(store_pending(store_history(s)), 0);
  close_store(f, s);
}

static void test_stmt_cache(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  struct store_conn *r = store_reader(s);
  static const char echo[] = "SELECT ?1";
  static const char echo_copy[] = "SELECT ?1";

  sqlite3_stmt *a = store_stmt(r, echo);
  assert_non_null(a);
  assert_ptr_equal(store_stmt(r, echo), a);
  assert_ptr_not_equal(store_stmt(r, echo_copy), a); /* keyed by pointer, not text */

  /* Handed back reset and with bindings cleared. */
  a = store_stmt(r, echo);
  sqlite3_bind_int(a, 1, 7);
  assert_int_equal(sqlite3_step(a), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(a, 0), 7);
  assert_true(sqlite3_stmt_busy(a));
  assert_ptr_equal(store_stmt(r, echo), a);
  assert_false(sqlite3_stmt_busy(a));
  assert_int_equal(sqlite3_step(a), SQLITE_ROW);
  assert_int_equal(sqlite3_column_type(a, 0), SQLITE_NULL);
  sqlite3_reset(a);

  /* Enough distinct statements to make the cache grow several times. */
  enum { N = 300 };
  static char sql[N][24];
  static sqlite3_stmt *first[N];
  for (int i = 0; i < N; i++) {
    snprintf(sql[i], sizeof sql[i], "SELECT %d", i);
    first[i] = store_stmt(r, sql[i]);
    assert_non_null(first[i]);
  }
  for (int i = 0; i < N; i++) {
    sqlite3_stmt *st = store_stmt(r, sql[i]);
    assert_ptr_equal(st, first[i]);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), i);
    sqlite3_reset(st);
  }

  assert_null(store_stmt(r, "SELEKT nonsense"));
  assert_null(store_stmt(r, "SELECT * FROM no_such_table"));
  assert_ptr_equal(store_conn_db(r), sqlite3_db_handle(a));
  close_store(f, s);
}

/* ---- heartbeat ----------------------------------------------------------------------------- */

static void test_heartbeat_advances(void **state)
{
  struct plant *f = *state;
  struct store *s = open_store(f);
  int64_t first = store_heartbeat_ms(s);
  assert_true(first > 0);
  assert_true(first <= now_ms());
  /* Two beats in a row with no job submitted: the idle writer keeps signalling. */
  for (int i = 0; i < 2; i++) {
    int64_t deadline = now_ms() + 10000;
    while (store_heartbeat_ms(s) == first && now_ms() < deadline) nap_ms(20);
    int64_t next = store_heartbeat_ms(s);
    assert_true(next > first);
    first = next;
  }
  close_store(f, s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_open_creates_latest_schema, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reopen_is_noop, setup, teardown),
    cmocka_unit_test_setup_teardown(test_history_first_schema_gains_packs, setup, teardown),
    cmocka_unit_test_setup_teardown(test_history_row_log_moves_to_rows, setup, teardown),
    cmocka_unit_test_setup_teardown(test_history_blocks_of_schema_4_kept, setup, teardown),
    cmocka_unit_test_setup_teardown(test_old_history_carried_to_history_database, setup, teardown),
    cmocka_unit_test_setup_teardown(test_history_carry_over_runs_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_history_carry_over_refuses_a_clash, setup, teardown),
    cmocka_unit_test_setup_teardown(test_newer_schema_refused_untouched, setup, teardown),
    cmocka_unit_test_setup_teardown(test_failing_migration_leaves_version_0, setup, teardown),
    cmocka_unit_test_setup_teardown(test_wal_required, setup, teardown),
    cmocka_unit_test_setup_teardown(test_not_a_database_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(test_jobs_done_in_order, setup, teardown),
    cmocka_unit_test_setup_teardown(test_failed_job_alone_rolls_back, setup, teardown),
    cmocka_unit_test_setup_teardown(test_group_with_failing_work, setup, teardown),
    cmocka_unit_test_setup_teardown(test_group_with_failing_commit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_urgent_jobs_overtake_queued_ones, setup, teardown),
    cmocka_unit_test_setup_teardown(test_relaxed_jobs_commit_with_normal_sync, setup, teardown),
    cmocka_unit_test_setup_teardown(test_background_checkpoint, setup, teardown),
    cmocka_unit_test_setup_teardown(test_wal_bounded_under_commits_that_never_pause, setup, teardown),
    cmocka_unit_test_setup_teardown(test_idle_writer_releases_its_cache, setup, teardown),
    cmocka_unit_test_setup_teardown(test_writer_keeps_temporary_data_in_memory, setup, teardown),
    cmocka_unit_test_setup_teardown(test_read_snapshot, setup, teardown),
    cmocka_unit_test_setup_teardown(test_close_finishes_queue_then_refuses, setup, teardown),
    cmocka_unit_test_setup_teardown(test_commit_survives_kill, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reader_sees_commits, setup, teardown),
    cmocka_unit_test_setup_teardown(test_read_lane, setup, teardown),
    cmocka_unit_test_setup_teardown(test_wait_own_skips_history, setup, teardown),
    cmocka_unit_test_setup_teardown(test_wait_quiet_follows_chains, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stmt_cache, setup, teardown),
    cmocka_unit_test_setup_teardown(test_heartbeat_advances, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
