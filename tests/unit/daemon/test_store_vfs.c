/* store_vfs: a transaction's WAL frames in one write, and nothing a commit wrote left unseen by
 * other connections, by a crash of the process, or by another writer; against real files. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store_vfs.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

struct dir {
  char path[64];
  char db[96];
};

static int setup(void **state)
{
  int rc = store_vfs_register(STORE_VFS_NAME, NULL);
  assert_true(rc == 0 || rc == -EEXIST);
  struct dir *d = calloc(1, sizeof *d);
  assert_non_null(d);
  snprintf(d->path, sizeof d->path, "/tmp/dg-vfs-XXXXXX");
  assert_non_null(mkdtemp(d->path));
  snprintf(d->db, sizeof d->db, "%s/t.db", d->path);
  *state = d;
  return 0;
}

static int teardown(void **state)
{
  struct dir *d = *state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", d->path);
  assert_int_equal(system(cmd), 0);
  free(d);
  return 0;
}

static void exec_ok(sqlite3 *db, const char *sql)
{
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("%s: %s", sql, msg ? msg : "?");
}

static int64_t int_of(sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* vfs NULL: the default one. */
static sqlite3 *open_db(const char *path, const char *vfs, const char *synchronous)
{
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  exec_ok(db, "PRAGMA journal_mode=WAL");
  exec_ok(db, "PRAGMA wal_autocheckpoint=0");
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA synchronous=%s", synchronous);
  exec_ok(db, sql);
  return db;
}

static void create_table(const char *path)
{
  sqlite3 *db = open_db(path, NULL, "FULL");
  exec_ok(db, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, n INTEGER, pad BLOB)");
  sqlite3_close(db);
}

/* Rows [from, from + n), each 1000 bytes of padding: about four to a page. */
static int insert_rows(sqlite3 *db, int from, int n)
{
  char sql[160];
  snprintf(sql, sizeof sql,
           "WITH RECURSIVE c(x) AS (SELECT %d UNION ALL SELECT x + 1 FROM c WHERE x < %d)"
           " INSERT INTO t(id, n, pad) SELECT x, x, zeroblob(1000) FROM c",
           from, from + n - 1);
  return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* This process's write system calls so far (pwrite included). Under valgrind they include its
 * own, so the tests that count them only print what they saw there. */
static bool writes_countable(void) { return !RUNNING_ON_VALGRIND; }

static long write_calls(void)
{
  FILE *f = fopen("/proc/self/io", "r");
  assert_non_null(f);
  char line[128];
  long n = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "syscw: %ld", &n) == 1) break;
  fclose(f);
  assert_true(n >= 0);
  return n;
}

/* Write calls that committing 40 rows (about ten pages) costs through `vfs`, and the WAL's growth. */
static long commit_cost(const char *path, const char *vfs, const char *synchronous, int from, int64_t *wal_bytes)
{
  sqlite3 *db = open_db(path, vfs, synchronous);
  assert_int_equal(insert_rows(db, from, 1), SQLITE_OK); /* the WAL and its header exist */
  int64_t before = int_of(db, "SELECT count(*) FROM t");
  char wal[128];
  snprintf(wal, sizeof wal, "%s-wal", path);
  FILE *f = fopen(wal, "r");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long size0 = ftell(f);
  long calls = write_calls();
  assert_int_equal(insert_rows(db, from + 1, 40), SQLITE_OK);
  calls = write_calls() - calls;
  fseek(f, 0, SEEK_END);
  *wal_bytes = ftell(f) - size0;
  fclose(f);
  assert_int_equal(int_of(db, "SELECT count(*) FROM t"), before + 40);
  sqlite3_close(db);
  return calls;
}

/* Write calls of a commit that changes one row in place (one page), after a first such commit. */
static long one_page_cost(const char *path, const char *vfs)
{
  sqlite3 *db = open_db(path, vfs, "FULL");
  exec_ok(db, "UPDATE t SET n = n + 1 WHERE id = 1000");
  long calls = write_calls();
  exec_ok(db, "UPDATE t SET n = n + 1 WHERE id = 1000");
  calls = write_calls() - calls;
  assert_int_equal(sqlite3_changes(db), 1);
  sqlite3_close(db);
  return calls;
}

static void test_commit_is_one_write(void **state)
{
  struct dir *d = *state;
  create_table(d->db);
  int64_t plain_bytes = 0, ours_bytes = 0;
  long plain = commit_cost(d->db, NULL, "FULL", 1000, &plain_bytes);
  long ours = commit_cost(d->db, STORE_VFS_NAME, "FULL", 2000, &ours_bytes);
  long frames = (long)(ours_bytes / (24 + 4096));
  print_message("commit of %ld frames: %ld writes through the default VFS, %ld through %s\n", frames, plain,
                ours, STORE_VFS_NAME);
  assert_true(frames >= 8);
  if (!writes_countable()) return;
  assert_int_equal(plain, 2 * frames); /* SQLite's own way: header, then page */
  assert_int_equal(ours, 1);
  ours = commit_cost(d->db, STORE_VFS_NAME, "NORMAL", 3000, &ours_bytes);
  assert_int_equal(ours, 1);
  /* a one-page commit, the commonest: its commit frame alone */
  assert_int_equal(one_page_cost(d->db, NULL), 2);
  assert_int_equal(one_page_cost(d->db, STORE_VFS_NAME), 1);
}

/* Write calls of a 4000-row transaction (about 1000 pages) through `vfs` into a fresh database
 * `name` in d, with a cache small enough that frames spill before the commit. Checks it reads
 * back whole from another connection. */
static long big_transaction(const struct dir *d, const char *name, const char *vfs)
{
  char path[128];
  snprintf(path, sizeof path, "%s/%s", d->path, name);
  create_table(path);
  sqlite3 *db = open_db(path, vfs, "FULL");
  exec_ok(db, "PRAGMA cache_size=20");
  long calls = write_calls();
  exec_ok(db, "BEGIN");
  assert_int_equal(insert_rows(db, 1, 4000), SQLITE_OK);
  exec_ok(db, "UPDATE t SET n = n + 1 WHERE id % 7 = 0"); /* pages written again in the transaction */
  exec_ok(db, "COMMIT");
  calls = write_calls() - calls;
  sqlite3 *other = open_db(path, NULL, "FULL");
  assert_int_equal(int_of(other, "SELECT count(*) FROM t"), 4000);
  assert_int_equal(int_of(other, "SELECT sum(n) FROM t"), 4000 * 4001 / 2 + 4000 / 7);
  assert_int_equal(int_of(other, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'"), 0);
  sqlite3_close(other);
  sqlite3_close(db);
  return calls;
}

/* A transaction too big for one buffer, spilling and writing pages again, streams out in pieces
 * and reads back whole. */
static void test_big_transaction_in_pieces(void **state)
{
  struct dir *d = *state;
  long plain = big_transaction(d, "plain.db", NULL);
  long ours = big_transaction(d, "ours.db", STORE_VFS_NAME);
  print_message("4000 rows, spilling: %ld write calls through the default VFS, %ld through %s\n", plain, ours,
                STORE_VFS_NAME);
  if (writes_countable()) assert_true(ours * 10 < plain * 7);
}

/* synchronous=NORMAL has no sync to write the frames before: each commit must still be in the
 * file when another connection (here the default VFS's) reads, and when another writer writes. */
static void test_commits_seen_by_readers_and_writers(void **state)
{
  struct dir *d = *state;
  create_table(d->db);
  sqlite3 *ours = open_db(d->db, STORE_VFS_NAME, "NORMAL");
  sqlite3 *theirs = open_db(d->db, NULL, "NORMAL");
  sqlite3 *reader = open_db(d->db, NULL, "NORMAL");
  int next = 1;
  for (int round = 0; round < 60; round++) {
    int n = 1 + round % 13;
    sqlite3 *w = round % 3 == 2 ? theirs : ours;
    assert_int_equal(insert_rows(w, next, n), SQLITE_OK);
    next += n;
    assert_int_equal(int_of(reader, "SELECT count(*) FROM t"), next - 1);
    if (round % 10 == 9) {
      /* a transaction given up after its frames spilled: the next writer takes their place */
      exec_ok(ours, "PRAGMA cache_size=5");
      exec_ok(ours, "BEGIN");
      assert_int_equal(insert_rows(ours, 100000, 200), SQLITE_OK);
      exec_ok(ours, "ROLLBACK");
      assert_int_equal(insert_rows(theirs, next, 3), SQLITE_OK);
      next += 3;
      assert_int_equal(int_of(reader, "SELECT count(*) FROM t"), next - 1);
    }
    if (round % 20 == 19) exec_ok(reader, "PRAGMA wal_checkpoint(TRUNCATE)");
  }
  assert_int_equal(int_of(reader, "SELECT count(*) FROM t WHERE id >= 100000"), 0);
  assert_int_equal(int_of(reader, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'"), 0);
  sqlite3_close(reader);
  sqlite3_close(theirs);
  sqlite3_close(ours);
}

/* The child commits and tells each commit; killed at a random moment, every commit it told of
 * is in the database (a killed process loses no written data, only what it still held). */
static void commit_until_killed(const char *path, int fd)
{
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, STORE_VFS_NAME) != SQLITE_OK) _exit(2);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
  for (int i = 1;; i++) {
    sqlite3_exec(db, i % 2 ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    if (insert_rows(db, i * 10, 1 + i % 9) != SQLITE_OK) _exit(3);
    if (write(fd, &i, sizeof i) != sizeof i) _exit(4);
  }
}

static void test_told_commits_survive_kill(void **state)
{
  struct dir *d = *state;
  create_table(d->db);
  srand((unsigned)getpid());
  for (int run = 0; run < 5; run++) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      commit_until_killed(d->db, fds[1]);
    }
    close(fds[1]);
    int told = 0, i;
    int want = 20 + rand() % 60;
    while (told < want && read(fds[0], &i, sizeof i) == sizeof i) told = i;
    kill(pid, SIGKILL);
    while (read(fds[0], &i, sizeof i) == sizeof i) told = i; /* what it told before it died */
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    sqlite3 *db = open_db(d->db, NULL, "FULL");
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(DISTINCT id / 10) FROM t WHERE id / 10 BETWEEN 1 AND %d", told);
    assert_int_equal(int_of(db, sql), told);
    assert_int_equal(int_of(db, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'"), 0);
    exec_ok(db, "DELETE FROM t");
    sqlite3_close(db);
  }
}

/* A write that fails (the WAL may not grow by the transaction's frames) fails its commit; nothing
 * of it shows, and the database takes the next commit once the file can grow again. The
 * transaction is small, so its frames are all gathered until its commit frame. */
static void test_failed_write_fails_the_commit(void **state)
{
  struct dir *d = *state;
  create_table(d->db);
  sqlite3 *db = open_db(d->db, STORE_VFS_NAME, "NORMAL");
  assert_int_equal(insert_rows(db, 1, 4), SQLITE_OK);
  char wal[128];
  snprintf(wal, sizeof wal, "%s-wal", d->db);
  struct stat st;
  assert_int_equal(stat(wal, &st), 0);
  struct rlimit old;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = {.rlim_cur = (rlim_t)st.st_size + 4096, .rlim_max = old.rlim_max};
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
  int rc = insert_rows(db, 100, 12); /* three or four pages */
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, prev);
  assert_int_not_equal(rc, SQLITE_OK);
  sqlite3 *reader = open_db(d->db, NULL, "FULL");
  assert_int_equal(int_of(reader, "SELECT count(*) FROM t"), 4);
  assert_int_equal(insert_rows(db, 100, 12), SQLITE_OK);
  assert_int_equal(int_of(reader, "SELECT count(*) FROM t"), 16);
  assert_int_equal(int_of(reader, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'"), 0);
  sqlite3_close(reader);
  sqlite3_close(db);
}

static void test_register_checks(void **state)
{
  (void)state;
  assert_int_equal(store_vfs_register(STORE_VFS_NAME, NULL), -EEXIST);
  assert_int_equal(store_vfs_register("dg-other", "no-such-vfs"), -ENOENT);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_commit_is_one_write, setup, teardown),
    cmocka_unit_test_setup_teardown(test_big_transaction_in_pieces, setup, teardown),
    cmocka_unit_test_setup_teardown(test_commits_seen_by_readers_and_writers, setup, teardown),
    cmocka_unit_test_setup_teardown(test_told_commits_survive_kill, setup, teardown),
    cmocka_unit_test_setup_teardown(test_failed_write_fails_the_commit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_register_checks, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
