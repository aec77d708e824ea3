/* store — SQLite persistence.
 *
 * One writer thread owns the only write connection. The loop thread submits jobs; each job's
 * `work` runs on the writer thread inside its own BEGIN IMMEDIATE … COMMIT (synchronous=FULL in
 * WAL mode, so a committed job survives kill -9 and power loss), then its `done` runs on the
 * loop thread with rc 0 after COMMIT, or a negative code after ROLLBACK. Jobs of one lane run in submission
 * order. Producer allocates `arg`; `done` (loop thread) frees it.
 *
 * Under bursts the writer commits several queued jobs in one transaction (one fsync), each job
 * inside its own savepoint, so a job whose work fails rolls back alone and its neighbours still
 * commit. If the shared transaction itself is lost (COMMIT fails, or an error aborts the whole
 * transaction), the jobs that had succeeded run again, each in its own transaction: `work` must
 * give the same result when run again after a rollback.
 *
 * The loop thread also has one read-only connection (store_reader) for API queries; reads too
 * long for the loop go to the read lane (store_submit_read), which has its own thread and one.
 * Schema: `schema_version` table and the forward migrations in store_schema.c. */
#ifndef DG_STORE_H
#define DG_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct store;
struct store_conn; /* a connection plus its prepared-statement cache */

typedef int (*store_work_fn)(struct store_conn *c, void *arg);   /* writer (or reader) thread; SQLITE_OK or error */
typedef void (*store_done_fn)(void *arg, int rc);                /* loop thread */

/* A database's schema: migrations[i] brings it from version i to i+1. */
struct store_schema {
  const char *const *migrations;
  unsigned n;
  const char *writer_name; /* the writer thread's name (top, perf), at most 15 characters */
};

/* Opens (creating if needed) the database at path, sets WAL, synchronous=FULL, foreign_keys,
 * busy_timeout, applies pending migrations in one transaction, starts the writer thread and
 * opens the reader. Returns 0 or negative; `err` says why ("db.sqlite: database is locked").
 * It also opens the history database beside it (`<path>-history`, its own store: own writer
 * thread, own WAL) and attaches it to the reader, so the reader's queries of `samples`,
 * `sample_rows` and `point_ids` read it; store_close closes both. */
int store_open(struct store **out, uv_loop_t *loop, const char *path, char *err, size_t errlen);
/* One database with the given schema, without a history companion. */
int store_open_schema(struct store **out, uv_loop_t *loop, const char *path, const struct store_schema *schema,
                      char *err, size_t errlen);
/* The store that history batches go to: s's history companion (s itself if it has none). */
struct store *store_history(struct store *s);

/* Online backup (any thread, own connections; no store needed): copies database `db` to file
 * `dest` as one consistent snapshot while a daemon may be writing it (WAL), checks the copy
 * (quick_check) and renames it into place, so `dest` is either absent or whole. The copy is a
 * single file in rollback-journal mode; the daemon turns WAL back on when it opens it. The
 * history database beside `db`, when there is one, is copied the same way to `dest-history`
 * (its own snapshot, taken after the main one). 0, or negative with `err` saying why. */
int store_backup(const char *db, const char *dest, char *err, size_t errlen);

/* Loop thread. Queues a job. Returns 0 or negative errno (then nothing runs). */
int store_submit(struct store *s, store_work_fn work, store_done_fn done, void *arg);
/* Same, in the urgent lane: urgent jobs run (in their own submission order) before any job
 * waiting in the normal lane, so alarm and hazard transitions never queue behind history
 * batches. A job already running is not interrupted. */
int store_submit_urgent(struct store *s, store_work_fn work, store_done_fn done, void *arg);
/* Same as store_submit, for sampled data (history) whose commit need not reach the disk on its
 * own: it commits with synchronous=NORMAL, so it is durable against a crash of the process at
 * once, and against a power loss at the next synchronous=FULL commit of the same database or
 * its next WAL checkpoint (every second), which fsyncs the WAL with every frame written before
 * it. Every other job commits with synchronous=FULL. Relaxed jobs are never grouped with other
 * jobs. */
int store_submit_relaxed(struct store *s, store_work_fn work, store_done_fn done, void *arg);

/* Cached prepared statement for this connection, keyed by the `sql` pointer (use string
 * literals). Returned reset with bindings cleared; NULL on prepare error (logged). */
sqlite3_stmt *store_stmt(struct store_conn *c, const char *sql);
sqlite3 *store_conn_db(struct store_conn *c);

/* Reader: several queries that must agree (one answer, one export, one report) run between
 * these two, on one snapshot of the database (a read transaction). Begin returns 0 or -EIO. */
int store_read_begin(struct store_conn *c);
void store_read_end(struct store_conn *c);

/* Statement helpers for work functions. store_bind_text binds s (SQLITE_STATIC) or NULL;
 * store_bind_ms binds ms or NULL for 0; store_step_done steps a statement that returns no rows,
 * resets it and answers SQLITE_OK, or the SQLite error. */
void store_bind_text(sqlite3_stmt *st, int i, const char *s);
void store_bind_ms(sqlite3_stmt *st, int i, int64_t ms);
int store_step_done(sqlite3_stmt *st);

/* Loop thread's read-only connection (WAL readers never block the writer). */
struct store_conn *store_reader(struct store *s);

/* Reads too long for the loop (a week of a point's history): `work` runs on the store's reader
 * thread with its own read-only connection (the history attached, as on store_reader), one
 * read at a time in the order submitted; `done` runs on the loop thread with 0 or the work's
 * error as a negative errno. The connection is the reader thread's; a read transaction the
 * work leaves open is ended after it. The thread and connection start with the first read.
 * Loop thread; 0, -EBUSY with STORE_READS_MAX reads waiting or running, -ESHUTDOWN once the
 * store is closing, or negative. store_wait_reads and store_close wait for the reads submitted. */
#define STORE_READS_MAX 16
int store_submit_read(struct store *s, store_work_fn work, store_done_fn done, void *arg);
/* The same without the cap, for the daemon's own passes that have at most one read in flight
 * each (the missed-task pass): screens asking for history cannot starve them. */
int store_submit_read_uncapped(struct store *s, store_work_fn work, store_done_fn done, void *arg);

/* Loop thread. Blocks until every job submitted so far (to this database and to its history
 * companion) has committed, then runs the `done` callbacks of what has completed before
 * returning. Reads are not waited for. For shutdown, reloads and tests. */
int store_wait_idle(struct store *s);
/* The same for this database alone: its history companion's batches are not waited for. API
 * answers that must see every earlier write to the ledger wait here, so they do not hold the
 * loop while a large history batch commits. */
int store_wait_own(struct store *s);
/* Loop thread, where nobody else is served (the command line, an internal caller): runs `work`
 * on the urgent lane (or the normal one) and waits for its commit (store_wait_own). 0, or the
 * job's (or the submit's) negative errno. */
int store_write_now(struct store *s, bool urgent, store_work_fn work, void *arg);
/* Loop thread. Blocks until every read submitted so far has run, then runs the `done` callbacks
 * of what has completed. A `done` may submit more jobs: wait for them with store_wait_idle
 * after (store_close does). */
int store_wait_reads(struct store *s);
/* Loop thread. Waits for reads and jobs, and the ones their `done` callbacks submit, until none
 * is left: what a reload waits for before it frees the configuration they borrow (a job's done
 * may submit a read that borrows it: the national upload's does). */
int store_wait_quiet(struct store *s);

/* A writer that has had no job for this long gives its connection's page cache and the
 * allocator's free memory back to the system (once, until its next job). */
#define STORE_IDLE_RELEASE_MS 5000

/* Monotonic ms of the writer thread's last sign of life (for the watchdog). */
int64_t store_heartbeat_ms(void *store);

/* Jobs queued or running (writes; reads are not counted). */
unsigned store_pending(struct store *s);

/* Queue depths and the commit latency histogram (cumulative: commit_buckets[i] counts the
 * commits that took at most store_commit_bounds_s[i] seconds). Loop thread. */
#define STORE_COMMIT_BUCKETS 11
extern const double store_commit_bounds_s[STORE_COMMIT_BUCKETS];
struct store_stats {
  unsigned urgent_queued, normal_queued, inflight;
  uint64_t commit_buckets[STORE_COMMIT_BUCKETS];
  uint64_t commits;
  double commit_sum_s;
};
void store_stats(struct store *s, struct store_stats *out);

/* Durability health, the one place /healthz, the status routes and systemd's STATUS read.
 * The store counts every job that could not be committed for a storage reason (disk full, I/O
 * error, read-only or corrupt database, out of memory, locked); producers that give data up for
 * good add what they dropped. Loop thread only. */
struct store_health {
  uint64_t commits;               /* jobs committed */
  uint64_t commits_failed;        /* jobs not committed for a storage reason */
  int64_t last_failure_ms;        /* monotonic ms of the latest such failure, 0 none */
  int last_error;                 /* its negative errno (-ENOSPC: disk full) */
  uint64_t history_dropped;       /* history samples never stored */
  uint64_t outcome_retries;       /* delivery outcomes written again after a failed commit */
};
struct store_health *store_health(struct store *s);
/* Commits failed within the last STORE_FAILING_WINDOW_MS: the database is not taking writes.
 * Then `why` (may be NULL) says so in one line. */
#define STORE_FAILING_WINDOW_MS 10000
bool store_failing(struct store *s, char *why, size_t len);

/* Loop thread. Finishes queued jobs (running their done callbacks), checkpoints the WAL,
 * joins the writer, closes connections and the async handle (loop must run once more). */
void store_close(struct store *s);

/* Schema migrations: store_migrations[i] brings the schema from version i to i+1. */
extern const char *const store_migrations[];
extern const unsigned store_n_migrations;

#endif
