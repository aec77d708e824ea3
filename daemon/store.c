#include "store.h"

#include "heap.h"
#include "log.h"
#include "store_history.h"
#include "store_vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_BEAT_INTERVAL_MS 500
#define STORE_CHECKPOINT_INTERVAL_MS 1000
#define STORE_CHECKPOINT_FRAMES 1024
#define STORE_WAL_FRAMES_MAX 8192
#define STORE_NORMAL_GROUP_MAX 16
#define STORE_GROUP_MAX 128
#define STORE_STMT_INITIAL_CAP 32

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_SAVEPOINT[] = "SAVEPOINT store_job";
static const char SQL_RELEASE[] = "RELEASE store_job";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO store_job";
static const char SQL_CREATE_VERSION[] = "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)";

struct store_stmt_slot {
  const char *sql; /* key: the caller's pointer, never dereferenced for lookup */
  sqlite3_stmt *stmt;
};

struct store_conn {
  sqlite3 *db;
  struct store_stmt_slot *slots; /* open addressing, capacity a power of two */
  unsigned cap, used;
  struct store *owner;           /* the write connection's store, NULL for readers */
};

struct store_job {
  store_work_fn work;
  store_done_fn done;
  void *arg;
  int rc;
  bool failed; /* its work failed inside a group: not run again */
  bool relaxed; /* commits with synchronous=NORMAL (store_submit_relaxed) */
  bool read;    /* the read lane's (store_submit_read): no commit, not counted in the health */
  struct store_job *next;
};

struct store_job_list {
  struct store_job *head, *tail;
};

struct store {
  uv_loop_t *loop;
  uv_async_t async;
  pthread_t writer;
  pthread_mutex_t lock;
  pthread_cond_t wake; /* writer: jobs queued or quit (CLOCK_MONOTONIC) */
  pthread_cond_t idle; /* loop: writer finished a group */
  struct store_job_list queue;     /* guarded by lock */
  struct store_job_list urgent;    /* guarded by lock: run before anything in queue */
  struct store_job_list completed; /* guarded by lock */
  unsigned inflight;               /* guarded by lock: queued + running */
  bool busy;                       /* guarded by lock: writer holds jobs */
  bool sync_relaxed;               /* writer thread: synchronous=NORMAL is set */
  int64_t last_job_ms;             /* writer thread: monotonic ms its last group ended, 0 released */
  bool closing;                    /* guarded by lock: submit refused */
  bool quit;                       /* guarded by lock: writer exits once the queue is empty */
  struct store_job_list ready;     /* loop thread only: completed jobs awaiting done */
  struct store_conn wconn;         /* writer thread (loop thread before start / after join) */
  struct store_conn rconn;         /* loop thread */
  _Atomic int64_t heartbeat_ms;
  /* Commit latency (written by the writer thread, read by store_stats). */
  _Atomic uint64_t commit_buckets[STORE_COMMIT_BUCKETS];
  _Atomic uint64_t commit_count, commit_sum_us;
  struct store_health health;      /* loop thread */
  /* Background checkpointer: its own connection copies the WAL into the database every
   * STORE_CHECKPOINT_INTERVAL_MS, and at once when a commit leaves the WAL past
   * STORE_CHECKPOINT_FRAMES (PASSIVE: it never waits for the writer), so no commit of the writer
   * pays for a checkpoint (wal_autocheckpoint is off on the writer connection) until the WAL
   * passes STORE_WAL_FRAMES_MAX (store__wal_hook). */
  pthread_t checkpointer;
  pthread_cond_t ckpt_wake;        /* CLOCK_MONOTONIC */
  bool ckpt_running, ckpt_quit;    /* ckpt_quit guarded by lock */
  bool ckpt_due;                   /* guarded by lock: the WAL passed STORE_CHECKPOINT_FRAMES */
  int wal_frames;                  /* writer thread: the WAL's frames after its last commit */
  sqlite3 *cdb;                    /* checkpointer thread */
  const char *writer_name;
  struct store *history;           /* the history database's own store (store_open), or NULL */
  /* Read lane (store_submit_read): its own thread and read-only connection, both started by the
   * first read submitted. */
  pthread_t reader;
  pthread_cond_t read_wake;        /* reader: reads queued or quit */
  struct store_job_list reads;     /* guarded by lock */
  unsigned n_reads;                /* guarded by lock: queued + running */
  bool reader_running, reader_quit; /* reader_quit guarded by lock */
  struct store_conn bconn;         /* reader thread (loop thread before start / after join) */
};

static int64_t store__now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const double store_commit_bounds_s[STORE_COMMIT_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                             0.1,   0.25,   0.5,   1,    2.5};

static int store__exec(struct store_conn *c, const char *sql);

/* COMMIT on the writer connection, its duration counted in the latency histogram. */
static int store__commit(struct store *s, struct store_conn *c)
{
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  int rc = store__exec(c, SQL_COMMIT);
  clock_gettime(CLOCK_MONOTONIC, &b);
  if (rc != SQLITE_OK) return rc;
  int64_t us = (int64_t)(b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
  for (int i = 0; i < STORE_COMMIT_BUCKETS; i++)
    if ((double)us <= store_commit_bounds_s[i] * 1e6) atomic_fetch_add(&s->commit_buckets[i], 1);
  atomic_fetch_add(&s->commit_count, 1);
  atomic_fetch_add(&s->commit_sum_us, (uint64_t)(us > 0 ? us : 0));
  return rc;
}

static void store__beat(struct store *s)
{
  atomic_store_explicit(&s->heartbeat_ms, store__now_ms(), memory_order_relaxed);
}

static int store__errno(int rc)
{
  if (rc < 0) return rc; /* work returned a negative errno already */
  switch (rc & 0xff) {
  case SQLITE_OK: return 0;
  case SQLITE_NOMEM: return -ENOMEM;
  case SQLITE_FULL: return -ENOSPC;
  case SQLITE_BUSY:
  case SQLITE_LOCKED: return -EBUSY;
  case SQLITE_READONLY: return -EROFS;
  case SQLITE_PERM:
  case SQLITE_AUTH: return -EACCES;
  case SQLITE_CANTOPEN: return -ENOENT;
  case SQLITE_NOTADB:
  case SQLITE_CORRUPT: return -EILSEQ;
  case SQLITE_IOERR: return -EIO;
  default: return -EINVAL; /* the job's own error (constraint, bad statement), not the storage's */
  }
}

static bool store__storage_error(int rc)
{
  switch (-rc) {
  case ENOSPC: case EIO: case EROFS: case EILSEQ: case ENOMEM:
    return true;
  default: return false;
  }
}

static void store__set_err(char *err, size_t errlen, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
static void store__set_err(char *err, size_t errlen, const char *fmt, ...)
{
  if (!err || !errlen) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

/* ---- statement cache ---------------------------------------------------------------------- */

static unsigned store__slot_of(const char *sql, unsigned cap)
{
  uint64_t h = (uint64_t)(uintptr_t)sql * 0x9E3779B97F4A7C15ull;
  return (unsigned)(h >> 32) & (cap - 1);
}

static int store__cache_grow(struct store_conn *c)
{
  unsigned cap = c->cap ? c->cap * 2 : STORE_STMT_INITIAL_CAP;
  struct store_stmt_slot *slots = calloc(cap, sizeof *slots);
  if (!slots) return -ENOMEM;
  for (unsigned i = 0; i < c->cap; i++) {
    if (!c->slots[i].sql) continue;
    unsigned j = store__slot_of(c->slots[i].sql, cap);
    while (slots[j].sql) j = (j + 1) & (cap - 1);
    slots[j] = c->slots[i];
  }
  free(c->slots);
  c->slots = slots;
  c->cap = cap;
  return 0;
}

static struct store_stmt_slot *store__cache_find(struct store_conn *c, const char *sql)
{
  if (!c->cap) return NULL;
  unsigned i = store__slot_of(sql, c->cap);
  while (c->slots[i].sql) {
    if (c->slots[i].sql == sql) return &c->slots[i];
    i = (i + 1) & (c->cap - 1);
  }
  return NULL;
}

static int store__cache_insert(struct store_conn *c, const char *sql, sqlite3_stmt *stmt)
{
  if ((c->used + 1) * 2 > c->cap) {
    int rc = store__cache_grow(c);
    if (rc) return rc;
  }
  unsigned i = store__slot_of(sql, c->cap);
  while (c->slots[i].sql) i = (i + 1) & (c->cap - 1);
  c->slots[i].sql = sql;
  c->slots[i].stmt = stmt;
  c->used++;
  return 0;
}

sqlite3_stmt *store_stmt(struct store_conn *c, const char *sql)
{
  if (!c || !c->db || !sql) return NULL;
  struct store_stmt_slot *slot = store__cache_find(c, sql);
  if (slot) {
    sqlite3_reset(slot->stmt);
    sqlite3_clear_bindings(slot->stmt);
    return slot->stmt;
  }
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
  if (rc != SQLITE_OK || !stmt) {
    DG_ERR("store", "prepare failed: %s: %s", sqlite3_errmsg(c->db), sql);
    sqlite3_finalize(stmt);
    return NULL;
  }
  if (store__cache_insert(c, sql, stmt)) {
    DG_ERR("store", "out of memory caching statement: %s", sql);
    sqlite3_finalize(stmt);
    return NULL;
  }
  return stmt;
}

sqlite3 *store_conn_db(struct store_conn *c) { return c ? c->db : NULL; }

static void store__conn_close(struct store_conn *c)
{
  for (unsigned i = 0; i < c->cap; i++)
    if (c->slots[i].sql) sqlite3_finalize(c->slots[i].stmt);
  free(c->slots);
  c->slots = NULL;
  c->cap = c->used = 0;
  if (!c->db) return;
  if (sqlite3_close(c->db) != SQLITE_OK) {
    DG_ERR("store", "close: %s (statements prepared outside the cache left open)",
      sqlite3_errmsg(c->db));
    sqlite3_close_v2(c->db);
  }
  c->db = NULL;
}

/* Runs one cached statement to completion. `sql` must be a string literal. */
static int store__exec(struct store_conn *c, const char *sql)
{
  sqlite3_stmt *stmt = store_stmt(c, sql);
  if (!stmt) return SQLITE_ERROR;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {}
  sqlite3_reset(stmt);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int store_read_begin(struct store_conn *c)
{
  return store__exec(c, "BEGIN") == SQLITE_OK ? 0 : -EIO;
}

void store_read_end(struct store_conn *c)
{
  if (!sqlite3_get_autocommit(c->db)) store__exec(c, "COMMIT");
}

/* Statements a job left mid-step would make COMMIT or ROLLBACK TO fail. */
static void store__reset_busy(sqlite3 *db)
{
  for (sqlite3_stmt *st = sqlite3_next_stmt(db, NULL); st; st = sqlite3_next_stmt(db, st))
    if (sqlite3_stmt_busy(st)) sqlite3_reset(st);
}

/* ---- writer thread ------------------------------------------------------------------------ */

static void store__log_job_error(struct store *s, const char *what, int rc)
{
  if (rc == -ESTALE) { /* the job's own refusal: what it would change moved meanwhile */
    DG_LOG_RL(DG_LOG_INFO, "store", "%s: what it would change moved meanwhile", what);
    return;
  }
  char buf[128];
  const char *why = rc < 0 ? strerror_r(-rc, buf, sizeof buf) : sqlite3_errstr(rc);
  int last = sqlite3_errcode(s->wconn.db);
  if (last == SQLITE_OK || last == SQLITE_ROW || last == SQLITE_DONE)
    DG_LOG_RL(DG_LOG_ERR, "store", "%s (%s)", what, why);
  else
    DG_LOG_RL(DG_LOG_ERR, "store", "%s (%s): %s", what, why, sqlite3_errmsg(s->wconn.db));
}

static void store__rollback(struct store *s)
{
  store__reset_busy(s->wconn.db);
  if (sqlite3_get_autocommit(s->wconn.db)) return; /* the error already ended the transaction */
  int rc = store__exec(&s->wconn, SQL_ROLLBACK);
  if (rc != SQLITE_OK) store__log_job_error(s, "ROLLBACK failed", rc);
}

/* One job in its own transaction. Returns 0 once committed, else a negative errno. */
static int store__run_one(struct store *s, struct store_job *j)
{
  int rc = store__exec(&s->wconn, SQL_BEGIN);
  if (rc != SQLITE_OK) {
    store__log_job_error(s, "BEGIN failed", rc);
    return store__errno(rc);
  }
  rc = j->work(&s->wconn, j->arg);
  if (rc != SQLITE_OK) {
    store__log_job_error(s, "job failed, rolled back", rc);
    store__rollback(s);
    return store__errno(rc);
  }
  store__reset_busy(s->wconn.db);
  rc = store__commit(s, &s->wconn);
  if (rc != SQLITE_OK) {
    store__log_job_error(s, "COMMIT failed, rolled back", rc);
    store__rollback(s);
    return store__errno(rc);
  }
  return 0;
}

/* Several jobs in one transaction, each in a savepoint. Returns 0 when committed (jobs whose
 * work failed carry their own rc), -1 when the transaction was lost as a whole. */
static int store__run_group(struct store *s, struct store_job **jobs, unsigned n)
{
  struct store_conn *c = &s->wconn;
  int rc = store__exec(c, SQL_BEGIN);
  if (rc != SQLITE_OK) return -1;
  for (unsigned i = 0; i < n; i++) {
    struct store_job *j = jobs[i];
    rc = store__exec(c, SQL_SAVEPOINT);
    if (rc != SQLITE_OK) goto lost;
    rc = j->work(c, j->arg);
    if (rc == SQLITE_OK) {
      rc = store__exec(c, SQL_RELEASE);
      if (rc != SQLITE_OK) goto lost;
      continue;
    }
    store__log_job_error(s, "job failed, rolled back", rc);
    j->failed = true;
    j->rc = store__errno(rc);
    if (sqlite3_get_autocommit(c->db)) goto lost;
    store__reset_busy(c->db);
    rc = store__exec(c, SQL_ROLLBACK_TO);
    if (rc == SQLITE_OK) rc = store__exec(c, SQL_RELEASE);
    if (rc != SQLITE_OK) goto lost;
  }
  store__reset_busy(c->db);
  rc = store__commit(s, c);
  if (rc != SQLITE_OK) {
    store__log_job_error(s, "group COMMIT failed, retrying its jobs one by one", rc);
    goto lost;
  }
  return 0;
lost:
  store__rollback(s);
  return -1;
}

static void store__run_jobs(struct store *s, struct store_job **jobs, unsigned n)
{
  if (n == 1) {
    jobs[0]->rc = store__run_one(s, jobs[0]);
    return;
  }
  if (store__run_group(s, jobs, n) == 0) return;
  for (unsigned i = 0; i < n; i++) {
    if (jobs[i]->failed) continue;
    jobs[i]->rc = store__run_one(s, jobs[i]);
    store__beat(s);
  }
}

static void store__list_append(struct store_job_list *l, struct store_job *j)
{
  j->next = NULL;
  if (l->tail) l->tail->next = j;
  else l->head = j;
  l->tail = j;
}

static struct store_job *store__list_pop(struct store_job_list *l)
{
  struct store_job *j = l->head;
  if (!j) return NULL;
  l->head = j->next;
  if (!l->head) l->tail = NULL;
  j->next = NULL;
  return j;
}

static void store__wait_for_work(struct store *s)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_nsec += (long)STORE_BEAT_INTERVAL_MS * 1000000;
  ts.tv_sec += ts.tv_nsec / 1000000000;
  ts.tv_nsec %= 1000000000;
  pthread_cond_timedwait(&s->wake, &s->lock, &ts);
}

/* Under s->lock: takes the next group, urgent jobs first. Urgent bursts share a commit; normal
 * jobs are taken a few at a time, so an urgent job never waits behind a long group. */
static unsigned store__take(struct store *s, struct store_job **jobs)
{
  struct store_job_list *from = s->urgent.head ? &s->urgent : &s->queue;
  unsigned max = from == &s->urgent ? STORE_GROUP_MAX : STORE_NORMAL_GROUP_MAX;
  unsigned n = 0;
  while (n < max && from->head && (!n || from->head->relaxed == jobs[0]->relaxed))
    jobs[n++] = store__list_pop(from);
  return n;
}

/* Under s->lock: hands run jobs (writes, or one read) to the loop. */
static void store__hand_over(struct store *s, struct store_job **jobs, unsigned n)
{
  for (unsigned i = 0; i < n; i++) store__list_append(&s->completed, jobs[i]);
  pthread_cond_broadcast(&s->idle);
  uv_async_send(&s->async);
}

/* Under s->lock: the writer hands its run jobs to the loop. */
static void store__finish(struct store *s, struct store_job **jobs, unsigned n)
{
  s->inflight -= n;
  store__hand_over(s, jobs, n);
}

/* Writer thread, outside a transaction (SQLite refuses the pragma inside one). */
static void store__set_sync(struct store *s, bool relaxed)
{
  if (s->sync_relaxed == relaxed) return;
  int rc = store__exec(&s->wconn, relaxed ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL");
  if (rc != SQLITE_OK) {
    store__log_job_error(s, "cannot change the synchronous level", rc);
    if (relaxed) return; /* stays FULL: only slower */
  }
  s->sync_relaxed = relaxed;
}

/* Writer thread, under s->lock, nothing queued: once the writer has had nothing to do for
 * STORE_IDLE_RELEASE_MS, its connection's page cache (up to a few MB) and the memory the
 * allocator keeps free go back to the system, so a quiet daemon stays small. The next job reads
 * its pages again, from the system's file cache. */
static void store__release_if_idle(struct store *s)
{
  if (!s->last_job_ms || store__now_ms() - s->last_job_ms < STORE_IDLE_RELEASE_MS) return;
  s->last_job_ms = 0;
  pthread_mutex_unlock(&s->lock);
  sqlite3_db_release_memory(s->wconn.db);
  heap_release_unused();
  pthread_mutex_lock(&s->lock);
}

/* Writer thread, after each commit. The WAL starts over from its beginning only when a writer
 * begins after a checkpoint has copied all of it, so a checkpoint run once a second never
 * catches up with commits that keep coming: the WAL would grow through a flood of alarms, every
 * commit extending the file (block allocation, the inode written by each fdatasync). A WAL past
 * STORE_CHECKPOINT_FRAMES wakes the checkpointer at once; past STORE_WAL_FRAMES_MAX the writer
 * finishes the checkpoint itself (store__bound_wal) and leaves the checkpointer be. */
static int store__wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
  (void)db, (void)name;
  struct store *s = arg;
  s->wal_frames = frames;
  if (frames < STORE_CHECKPOINT_FRAMES || frames >= STORE_WAL_FRAMES_MAX) return SQLITE_OK;
  pthread_mutex_lock(&s->lock);
  if (!s->ckpt_due) {
    s->ckpt_due = true;
    pthread_cond_signal(&s->ckpt_wake);
  }
  pthread_mutex_unlock(&s->lock);
  return SQLITE_OK;
}

/* Writer thread, under s->lock, between groups: no commit can land during this checkpoint, so
 * it copies all of the WAL (unless a reader still needs part of it) and the next group starts
 * the WAL over. It copies only what the checkpointer had not; SQLITE_BUSY (the checkpointer is
 * running) is tried again after the next commit. */
static void store__bound_wal(struct store *s)
{
  if (s->wal_frames < STORE_WAL_FRAMES_MAX) return;
  pthread_mutex_unlock(&s->lock);
  int rc = sqlite3_wal_checkpoint_v2(s->wconn.db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  if (rc == SQLITE_OK) s->wal_frames = 0;
  else if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
    DG_LOG_RL(DG_LOG_WARN, "store", "WAL checkpoint by the writer: %s", sqlite3_errmsg(s->wconn.db));
  pthread_mutex_lock(&s->lock);
}

static void *store__writer_main(void *p)
{
  struct store *s = p;
  struct store_job *jobs[STORE_GROUP_MAX];
  pthread_setname_np(pthread_self(), s->writer_name); /* for per-thread CPU in top, perf and bench_pipeline */
  pthread_mutex_lock(&s->lock);
  for (;;) {
    store__beat(s);
    if (!s->queue.head && !s->urgent.head) {
      if (s->quit) break;
      store__release_if_idle(s);
      store__wait_for_work(s);
      continue;
    }
    unsigned n = store__take(s, jobs);
    s->busy = true;
    pthread_mutex_unlock(&s->lock);

    store__set_sync(s, jobs[0]->relaxed);
    store__run_jobs(s, jobs, n);
    store__beat(s);

    pthread_mutex_lock(&s->lock);
    s->busy = false;
    s->last_job_ms = store__now_ms();
    store__finish(s, jobs, n);
    store__bound_wal(s);
  }
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

/* ---- loop thread -------------------------------------------------------------------------- */

static void store__account(struct store *s, int rc)
{
  if (rc == 0) {
    s->health.commits++;
    return;
  }
  if (!store__storage_error(rc)) return;
  if (!store_failing(s, NULL, 0)) {
    char buf[64];
    DG_ERR("store", "the database does not take writes: %s; health is degraded",
           strerror_r(-rc, buf, sizeof buf));
  }
  s->health.commits_failed++;
  s->health.last_failure_ms = store__now_ms();
  s->health.last_error = rc;
}

struct store_health *store_health(struct store *s) { return &s->health; }

static bool store__failing(const struct store *s, const char *what, char *why, size_t len)
{
  const struct store_health *h = &s->health;
  if (!h->last_failure_ms || store__now_ms() - h->last_failure_ms > STORE_FAILING_WINDOW_MS) return false;
  if (why && len) {
    char buf[64];
    snprintf(why, len, "%s commits failing: %s (%llu failed)", what, strerror_r(-h->last_error, buf, sizeof buf),
             (unsigned long long)h->commits_failed);
  }
  return true;
}

bool store_failing(struct store *s, char *why, size_t len)
{
  return store__failing(s, "database", why, len) || (s->history && store__failing(s->history, "history database", why, len));
}

struct store *store_history(struct store *s) { return s->history ? s->history : s; }

/* One job at a time, so a done callback that re-enters (store_wait_idle) keeps the order. */
static void store__deliver(struct store *s)
{
  for (;;) {
    if (!s->ready.head) {
      pthread_mutex_lock(&s->lock);
      s->ready = s->completed;
      s->completed.head = s->completed.tail = NULL;
      pthread_mutex_unlock(&s->lock);
      if (!s->ready.head) return;
    }
    struct store_job *j = store__list_pop(&s->ready);
    if (!j->read) store__account(s, j->rc);
    if (j->done) j->done(j->arg, j->rc);
    free(j);
  }
}

static void store__on_async(uv_async_t *h) { store__deliver(h->data); }

static void store__on_closed(uv_handle_t *h)
{
  struct store *s = h->data;
  pthread_mutex_destroy(&s->lock);
  pthread_cond_destroy(&s->wake);
  pthread_cond_destroy(&s->idle);
  free(s);
}

static int store__submit(struct store *s, struct store_job_list *lane, bool relaxed, store_work_fn work,
                         store_done_fn done, void *arg)
{
  if (!s || !work) return -EINVAL;
  struct store_job *j = calloc(1, sizeof *j);
  if (!j) return -ENOMEM;
  j->work = work;
  j->done = done;
  j->arg = arg;
  j->relaxed = relaxed;
  pthread_mutex_lock(&s->lock);
  if (s->closing) {
    pthread_mutex_unlock(&s->lock);
    free(j);
    return -ESHUTDOWN;
  }
  store__list_append(lane == &s->urgent ? &s->urgent : &s->queue, j);
  s->inflight++;
  pthread_cond_signal(&s->wake);
  pthread_mutex_unlock(&s->lock);
  return 0;
}

int store_submit(struct store *s, store_work_fn work, store_done_fn done, void *arg)
{
  return store__submit(s, s ? &s->queue : NULL, false, work, done, arg);
}

int store_submit_relaxed(struct store *s, store_work_fn work, store_done_fn done, void *arg)
{
  return store__submit(s, s ? &s->queue : NULL, true, work, done, arg);
}

int store_submit_urgent(struct store *s, store_work_fn work, store_done_fn done, void *arg)
{
  return store__submit(s, s ? &s->urgent : NULL, false, work, done, arg);
}

struct store_conn *store_reader(struct store *s) { return &s->rconn; }

/* ---- read lane ----------------------------------------------------------------------------- */

static void *store__reader_main(void *p)
{
  struct store *s = p;
  pthread_setname_np(pthread_self(), "dg-reader");
  pthread_mutex_lock(&s->lock);
  for (;;) {
    while (!s->reads.head && !s->reader_quit) pthread_cond_wait(&s->read_wake, &s->lock);
    if (!s->reads.head) break;
    struct store_job *j = store__list_pop(&s->reads);
    pthread_mutex_unlock(&s->lock);
    j->rc = store__errno(j->work(&s->bconn, j->arg));
    store_read_end(&s->bconn); /* a read left open would hold the WAL's checkpoint back */
    sqlite3_db_release_memory(s->bconn.db); /* reads are rare: their pages are not kept */
    pthread_mutex_lock(&s->lock);
    s->n_reads--;
    store__hand_over(s, &j, 1);
  }
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

/* Loop thread, at the first read: the connection (the reader's files, the history attached
 * as on the loop's reader) and the thread. */
static int store__start_reader(struct store *s)
{
  const char *path = sqlite3_db_filename(s->rconn.db, "main");
  const char *hpath = sqlite3_db_filename(s->rconn.db, "history");
  int rc = sqlite3_open_v2(path, &s->bconn.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc == SQLITE_OK && hpath && *hpath) rc = store_history_attach(s->bconn.db, hpath);
  if (rc != SQLITE_OK) {
    DG_LOG_RL(DG_LOG_ERR, "store", "read lane: %s", s->bconn.db ? sqlite3_errmsg(s->bconn.db) : sqlite3_errstr(rc));
    store__conn_close(&s->bconn);
    return -EIO;
  }
  sqlite3_extended_result_codes(s->bconn.db, 1);
  sqlite3_busy_timeout(s->bconn.db, STORE_BUSY_TIMEOUT_MS);
  if ((rc = pthread_cond_init(&s->read_wake, NULL))) {
    store__conn_close(&s->bconn);
    return -rc;
  }
  if ((rc = pthread_create(&s->reader, NULL, store__reader_main, s))) {
    pthread_cond_destroy(&s->read_wake);
    store__conn_close(&s->bconn);
    return -rc;
  }
  s->reader_running = true;
  return 0;
}

static void store__stop_reader(struct store *s)
{
  if (!s->reader_running) return;
  pthread_mutex_lock(&s->lock);
  s->reader_quit = true;
  pthread_cond_signal(&s->read_wake);
  pthread_mutex_unlock(&s->lock);
  pthread_join(s->reader, NULL);
  pthread_cond_destroy(&s->read_wake);
  store__conn_close(&s->bconn);
  s->reader_running = false;
}

static int store__submit_read(struct store *s, bool capped, store_work_fn work, store_done_fn done, void *arg)
{
  if (!s || !work) return -EINVAL;
  int rc = s->reader_running ? 0 : store__start_reader(s);
  if (rc) return rc;
  struct store_job *j = calloc(1, sizeof *j);
  if (!j) return -ENOMEM;
  *j = (struct store_job){.work = work, .done = done, .arg = arg, .read = true};
  pthread_mutex_lock(&s->lock);
  rc = s->closing ? -ESHUTDOWN : capped && s->n_reads >= STORE_READS_MAX ? -EBUSY : 0;
  if (!rc) {
    store__list_append(&s->reads, j);
    s->n_reads++;
    pthread_cond_signal(&s->read_wake);
  }
  pthread_mutex_unlock(&s->lock);
  if (rc) free(j);
  return rc;
}

int store_submit_read(struct store *s, store_work_fn work, store_done_fn done, void *arg)
{
  return store__submit_read(s, true, work, done, arg);
}

int store_submit_read_uncapped(struct store *s, store_work_fn work, store_done_fn done, void *arg)
{
  return store__submit_read(s, false, work, done, arg);
}

void store_bind_text(sqlite3_stmt *st, int i, const char *s)
{
  if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
  else sqlite3_bind_null(st, i);
}

void store_bind_ms(sqlite3_stmt *st, int i, int64_t ms)
{
  if (ms) sqlite3_bind_int64(st, i, ms);
  else sqlite3_bind_null(st, i);
}

int store_step_done(sqlite3_stmt *st)
{
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int store_wait_idle(struct store *s)
{
  if (s->history) store_wait_idle(s->history);
  return store_wait_own(s);
}

int store_wait_own(struct store *s)
{
  pthread_mutex_lock(&s->lock);
  while (s->queue.head || s->urgent.head || s->busy) pthread_cond_wait(&s->idle, &s->lock);
  pthread_mutex_unlock(&s->lock);
  store__deliver(s);
  return 0;
}

struct store__now {
  store_work_fn work;
  void *arg;
  int rc;
};

static int store__now_work(struct store_conn *c, void *arg)
{
  struct store__now *n = arg;
  return n->work(c, n->arg);
}

static void store__now_done(void *arg, int rc) { ((struct store__now *)arg)->rc = rc; }

int store_write_now(struct store *s, bool urgent, store_work_fn work, void *arg)
{
  struct store__now n = {.work = work, .arg = arg, .rc = -EIO};
  int rc = (urgent ? store_submit_urgent : store_submit)(s, store__now_work, store__now_done, &n);
  if (rc) return rc;
  store_wait_own(s);
  return n.rc;
}

int store_wait_reads(struct store *s)
{
  pthread_mutex_lock(&s->lock);
  while (s->n_reads) pthread_cond_wait(&s->idle, &s->lock);
  pthread_mutex_unlock(&s->lock);
  store__deliver(s);
  return 0;
}

static bool store__quiet(struct store *s)
{
  pthread_mutex_lock(&s->lock);
  bool quiet = !s->n_reads && !s->queue.head && !s->urgent.head && !s->busy && !s->completed.head;
  pthread_mutex_unlock(&s->lock);
  return quiet && !s->ready.head;
}

int store_wait_quiet(struct store *s)
{
  do {
    store_wait_reads(s);
    store_wait_idle(s);
  } while (!store__quiet(s) || (s->history && !store__quiet(s->history)));
  return 0;
}

int64_t store_heartbeat_ms(void *store)
{
  struct store *s = store;
  return atomic_load_explicit(&s->heartbeat_ms, memory_order_relaxed);
}

unsigned store_pending(struct store *s)
{
  pthread_mutex_lock(&s->lock);
  unsigned n = s->inflight;
  pthread_mutex_unlock(&s->lock);
  return n;
}

static unsigned store__list_len(const struct store_job_list *l)
{
  unsigned n = 0;
  for (const struct store_job *j = l->head; j; j = j->next) n++;
  return n;
}

void store_stats(struct store *s, struct store_stats *out)
{
  pthread_mutex_lock(&s->lock);
  out->urgent_queued = store__list_len(&s->urgent);
  out->normal_queued = store__list_len(&s->queue);
  out->inflight = s->inflight;
  pthread_mutex_unlock(&s->lock);
  for (int i = 0; i < STORE_COMMIT_BUCKETS; i++) out->commit_buckets[i] = atomic_load(&s->commit_buckets[i]);
  out->commits = atomic_load(&s->commit_count);
  out->commit_sum_s = (double)atomic_load(&s->commit_sum_us) / 1e6;
}

static void *store__checkpointer_main(void *p)
{
  struct store *s = p;
  pthread_setname_np(pthread_self(), "dg-checkpoint");
  pthread_mutex_lock(&s->lock);
  while (!s->ckpt_quit) {
    if (!s->ckpt_due) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      ts.tv_sec += STORE_CHECKPOINT_INTERVAL_MS / 1000;
      ts.tv_nsec += (long)(STORE_CHECKPOINT_INTERVAL_MS % 1000) * 1000000;
      ts.tv_sec += ts.tv_nsec / 1000000000;
      ts.tv_nsec %= 1000000000;
      pthread_cond_timedwait(&s->ckpt_wake, &s->lock, &ts);
    }
    if (s->ckpt_quit) break;
    s->ckpt_due = false;
    pthread_mutex_unlock(&s->lock);
    int rc = sqlite3_wal_checkpoint_v2(s->cdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
      DG_LOG_RL(DG_LOG_WARN, "store", "background WAL checkpoint: %s", sqlite3_errmsg(s->cdb));
    pthread_mutex_lock(&s->lock);
  }
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

static int store__start_checkpointer(struct store *s, const char *path)
{
  int rc = sqlite3_open_v2(path, &s->cdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  /* a first read opens the WAL; until then the connection has nothing to checkpoint */
  if (rc == SQLITE_OK) rc = sqlite3_exec(s->cdb, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
  if (rc != SQLITE_OK) return -EIO;
  pthread_condattr_t attr;
  rc = pthread_condattr_init(&attr);
  if (rc) return -rc;
  rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  if (!rc) rc = pthread_cond_init(&s->ckpt_wake, &attr);
  pthread_condattr_destroy(&attr);
  if (rc) return -rc;
  rc = pthread_create(&s->checkpointer, NULL, store__checkpointer_main, s);
  if (rc) {
    pthread_cond_destroy(&s->ckpt_wake);
    return -rc;
  }
  s->ckpt_running = true;
  sqlite3_wal_hook(s->wconn.db, store__wal_hook, s);
  return 0;
}

/* After the writer: it calls the WAL hook, which wakes this thread. */
static void store__stop_checkpointer(struct store *s)
{
  if (s->wconn.db) sqlite3_wal_hook(s->wconn.db, NULL, NULL);
  if (s->ckpt_running) {
    pthread_mutex_lock(&s->lock);
    s->ckpt_quit = true;
    pthread_cond_signal(&s->ckpt_wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->checkpointer, NULL);
    pthread_cond_destroy(&s->ckpt_wake);
    s->ckpt_running = false;
  }
  sqlite3_close(s->cdb);
  s->cdb = NULL;
}

static void store__stop_writer(struct store *s)
{
  pthread_mutex_lock(&s->lock);
  s->quit = true;
  pthread_cond_signal(&s->wake);
  pthread_mutex_unlock(&s->lock);
  pthread_join(s->writer, NULL);
}

void store_close(struct store *s)
{
  if (!s) return;
  pthread_mutex_lock(&s->lock);
  s->closing = true;
  pthread_mutex_unlock(&s->lock);
  store_wait_reads(s);
  store_wait_idle(s); /* done callbacks may still read through the reader */
  store__stop_reader(s);
  store__conn_close(&s->rconn); /* it has the history attached: closed before the history's checkpoint */
  store_close(s->history); /* its done callbacks count into this store's health */
  s->history = NULL;
  store__stop_writer(s);
  store__stop_checkpointer(s);
  int rc = sqlite3_exec(s->wconn.db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
  if (rc != SQLITE_OK) DG_ERR("store", "WAL checkpoint: %s", sqlite3_errmsg(s->wconn.db));
  store__conn_close(&s->wconn);
  store__deliver(s);
  uv_close((uv_handle_t *)&s->async, store__on_closed);
}

/* ---- open and migrations ------------------------------------------------------------------ */

static int store__read_version(sqlite3 *db, int64_t *version, bool *has_table)
{
  static const char *const sql[] = {
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
    "SELECT coalesce(max(version), 0) FROM schema_version",
  };
  *version = 0;
  *has_table = false;
  for (int i = 0; i < 2; i++) {
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, sql[i], -1, &stmt, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
      sqlite3_finalize(stmt);
      return rc == SQLITE_DONE ? SQLITE_ERROR : rc;
    }
    int64_t v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    if (i == 0) {
      *has_table = v > 0;
      if (!*has_table) return SQLITE_OK;
    } else {
      *version = v;
    }
  }
  return SQLITE_OK;
}

static int store__check_version(int64_t version, unsigned known, const char *path, char *err, size_t errlen)
{
  if (version <= (int64_t)known && version >= 0) return 0;
  store__set_err(err, errlen, "%s: schema version %lld is %s (this build knows up to %u); refusing to open",
    path, (long long)version, version > 0 ? "newer than this build" : "invalid", known);
  DG_ERR("store", "%s", err);
  return -ENOTSUP;
}

/* Looks at an existing file through a read-only connection, so a database from a newer build
 * is refused before anything could write to it. */
static int store__probe(const char *path, unsigned known, char *err, size_t errlen)
{
  if (access(path, F_OK) != 0) return 0;
  sqlite3 *db = NULL;
  int64_t version = 0;
  bool has_table;
  int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
    rc = store__read_version(db, &version, &has_table);
  }
  if (rc != SQLITE_OK) {
    store__set_err(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    DG_ERR("store", "%s", err);
    sqlite3_close(db);
    return store__errno(rc);
  }
  sqlite3_close(db);
  return store__check_version(version, known, path, err, errlen);
}

static int store__sql_fail(sqlite3 *db, const char *path, const char *what, char *err, size_t errlen)
{
  int rc = sqlite3_errcode(db);
  store__set_err(err, errlen, "%s: %s%s", path, what, sqlite3_errmsg(db));
  DG_ERR("store", "%s", err);
  return store__errno(rc ? rc : SQLITE_ERROR);
}

static int store__fk_violations(sqlite3 *db)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &stmt, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  return rc;
}

/* Applies every pending migration in one transaction. Foreign keys are still off here so a
 * migration may rebuild tables; the whole result is checked before COMMIT. */
static int store__migrate(sqlite3 *db, const char *path, const struct store_schema *schema, char *err, size_t errlen)
{
  const char *const *migrations = schema->migrations;
  unsigned known = schema->n;
  int64_t version;
  bool has_table;
  if (store__read_version(db, &version, &has_table) != SQLITE_OK)
    return store__sql_fail(db, path, "", err, errlen);
  int rc = store__check_version(version, known, path, err, errlen);
  if (rc) return rc;
  if (has_table && version == (int64_t)known) return 0;

  if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return store__sql_fail(db, path, "", err, errlen);
  if (store__read_version(db, &version, &has_table) != SQLITE_OK) {
    rc = store__sql_fail(db, path, "", err, errlen);
    goto fail;
  }
  rc = store__check_version(version, known, path, err, errlen);
  if (rc) goto fail;
  rc = sqlite3_exec(db, SQL_CREATE_VERSION, NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    rc = store__sql_fail(db, path, "creating schema_version: ", err, errlen);
    goto fail;
  }
  for (unsigned i = (unsigned)version; i < known; i++) {
    if (sqlite3_exec(db, migrations[i], NULL, NULL, NULL) != SQLITE_OK) {
      char what[64];
      snprintf(what, sizeof what, "migration %u to %u failed: ", i, i + 1);
      rc = store__sql_fail(db, path, what, err, errlen);
      goto fail;
    }
  }
  int fk = store__fk_violations(db);
  if (fk != SQLITE_DONE) {
    if (fk == SQLITE_ROW) {
      store__set_err(err, errlen, "%s: migration left foreign key violations", path);
      DG_ERR("store", "%s", err);
      rc = -EILSEQ;
    } else {
      rc = store__sql_fail(db, path, "foreign key check: ", err, errlen);
    }
    goto fail;
  }
  char sql[96];
  snprintf(sql, sizeof sql, "DELETE FROM schema_version; INSERT INTO schema_version(version) VALUES(%u)", known);
  rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    rc = store__sql_fail(db, path, "", err, errlen);
    goto fail;
  }
  if (version != (int64_t)known)
    DG_INFO("store", "%s: schema migrated from version %lld to %u", path, (long long)version, known);
  return 0;
fail:
  if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

static int store__set_wal(sqlite3 *db, const char *path, char *err, size_t errlen)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) {
    sqlite3_finalize(stmt);
    return store__sql_fail(db, path, "", err, errlen);
  }
  const char *mode = (const char *)sqlite3_column_text(stmt, 0);
  if (mode && strcasecmp(mode, "wal") == 0) {
    sqlite3_finalize(stmt);
    return 0;
  }
  store__set_err(err, errlen, "%s: journal_mode is '%s', WAL is required", path, mode ? mode : "?");
  DG_ERR("store", "%s", err);
  sqlite3_finalize(stmt);
  return -ENOTSUP;
}

/* A new database is created 0600 (less under a stricter umask) whoever starts the daemon:
 * SQLite would create it 0644 & ~umask. Its -wal and -shm files take the database's mode. */
static int store__create_private(const char *path, char *err, size_t errlen)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) return close(fd) ? -errno : 0;
  if (errno == EEXIST) return 0;
  int rc = -errno;
  store__set_err(err, errlen, "%s: %s", path, strerror(errno));
  return rc;
}

static pthread_once_t store__vfs_once = PTHREAD_ONCE_INIT;
static int store__vfs_rc;

static void store__vfs_register(void) { store__vfs_rc = store_vfs_register(STORE_VFS_NAME, NULL); }

/* The writer's connection writes each transaction's WAL frames at once (store_vfs.h). */
static int store__vfs_ready(void)
{
  pthread_once(&store__vfs_once, store__vfs_register);
  return store__vfs_rc;
}

static int store__open_writer(struct store *s, const char *path, const struct store_schema *schema, char *err,
                              size_t errlen)
{
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  s->wconn.owner = s;
  if (strcmp(path, ":memory:") != 0 && strncmp(path, "file:", 5) != 0) {
    int crc = store__create_private(path, err, errlen);
    if (crc) return crc;
  }
  int rc = store__vfs_ready();
  if (rc) {
    store__set_err(err, errlen, "%s: cannot register the %s VFS: %s", path, STORE_VFS_NAME, strerror(-rc));
    return rc;
  }
  rc = sqlite3_open_v2(path, &s->wconn.db, flags, STORE_VFS_NAME);
  if (rc != SQLITE_OK) {
    if (!s->wconn.db) {
      store__set_err(err, errlen, "%s: %s", path, sqlite3_errstr(rc));
      return -ENOMEM;
    }
    return store__sql_fail(s->wconn.db, path, "", err, errlen);
  }
  sqlite3 *db = s->wconn.db;
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
  if (sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK)
    return store__sql_fail(db, path, "", err, errlen);
  rc = store__migrate(db, path, schema, err, errlen);
  if (rc) return rc;
  rc = store__set_wal(db, path, err, errlen);
  if (rc) return rc;
  /* the background checkpointer does it, off the writer's commits */
  if (sqlite3_exec(db, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL) != SQLITE_OK)
    return store__sql_fail(db, path, "", err, errlen);
  if (sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL) != SQLITE_OK)
    return store__sql_fail(db, path, "", err, errlen);
  /* A group's savepoint journal past 64 KiB, or a history move's sort, would otherwise go to a
   * file created for the one transaction in the system's temporary directory: a full or
   * read-only /var/tmp would then fail commits whose own disk has room. */
  if (sqlite3_exec(db, "PRAGMA temp_store=MEMORY", NULL, NULL, NULL) != SQLITE_OK)
    return store__sql_fail(db, path, "", err, errlen);
  return 0;
}

static int store__open_reader(struct store *s, const char *path, char *err, size_t errlen)
{
  int rc = sqlite3_open_v2(path, &s->rconn.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    if (!s->rconn.db) {
      store__set_err(err, errlen, "%s: %s", path, sqlite3_errstr(rc));
      return -ENOMEM;
    }
    return store__sql_fail(s->rconn.db, path, "reader: ", err, errlen);
  }
  sqlite3_extended_result_codes(s->rconn.db, 1);
  sqlite3_busy_timeout(s->rconn.db, STORE_BUSY_TIMEOUT_MS);
  return 0;
}

static int store__init_sync(struct store *s)
{
  pthread_condattr_t attr;
  int rc = pthread_condattr_init(&attr);
  if (rc) return -rc;
  rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  if (!rc) rc = pthread_cond_init(&s->wake, &attr);
  pthread_condattr_destroy(&attr);
  if (rc) return -rc;
  rc = pthread_cond_init(&s->idle, NULL);
  if (rc) {
    pthread_cond_destroy(&s->wake);
    return -rc;
  }
  rc = pthread_mutex_init(&s->lock, NULL);
  if (rc) {
    pthread_cond_destroy(&s->idle);
    pthread_cond_destroy(&s->wake);
    return -rc;
  }
  return 0;
}

static void store__destroy_sync(struct store *s)
{
  pthread_mutex_destroy(&s->lock);
  pthread_cond_destroy(&s->wake);
  pthread_cond_destroy(&s->idle);
}

int store_open_schema(struct store **out, uv_loop_t *loop, const char *path, const struct store_schema *schema,
                      char *err, size_t errlen)
{
  *out = NULL;
  store__set_err(err, errlen, "%s", "");
  struct store *s = calloc(1, sizeof *s);
  if (!s) {
    store__set_err(err, errlen, "%s: out of memory", path);
    return -ENOMEM;
  }
  s->loop = loop;
  s->writer_name = schema->writer_name;
  int rc = store__probe(path, schema->n, err, errlen);
  if (rc) goto fail;
  rc = store__open_writer(s, path, schema, err, errlen);
  if (rc) goto fail;
  rc = store__open_reader(s, path, err, errlen);
  if (rc) goto fail;
  rc = store__init_sync(s);
  if (rc) {
    store__set_err(err, errlen, "%s: %s", path, strerror(-rc));
    goto fail;
  }
  store__beat(s);
  rc = store__start_checkpointer(s, path); /* first: it owns the WAL hook the writer calls */
  if (rc) {
    store__set_err(err, errlen, "%s: %s", path, rc == -EIO ? "checkpointer connection" : strerror(-rc));
    store__stop_checkpointer(s);
    store__destroy_sync(s);
    goto fail;
  }
  rc = -pthread_create(&s->writer, NULL, store__writer_main, s);
  if (rc) {
    store__set_err(err, errlen, "%s: writer thread: %s", path, strerror(-rc));
    store__stop_checkpointer(s);
    store__destroy_sync(s);
    goto fail;
  }
  rc = uv_async_init(loop, &s->async, store__on_async);
  if (rc) {
    store__set_err(err, errlen, "%s: %s", path, uv_strerror(rc));
    store__stop_writer(s);
    store__stop_checkpointer(s);
    store__destroy_sync(s);
    goto fail;
  }
  s->async.data = s;
  *out = s;
  return 0;
fail:
  store__conn_close(&s->rconn);
  store__conn_close(&s->wconn);
  free(s);
  return rc;
}

static void store__ran(void *arg, int rc) { *(int *)arg = rc; }

static int store__carry_drop(struct store_conn *c, void *arg)
{
  return sqlite3_exec(c->db, "DROP TABLE history_carry_rows; DROP TABLE history_carry_ids", NULL, NULL, NULL);
}

/* One job through the writer, waited for: for the loop thread at open. 0 or negative. */
static int store__run_now(struct store *s, store_work_fn work)
{
  int rc = -EIO;
  int src = store_submit(s, work, store__ran, &rc);
  if (src) return src;
  store_wait_idle(s);
  return rc;
}

/* The main database, then the history database beside it, attached to the main reader, then
 * the history an older schema kept in the main database carried over. */
int store_open(struct store **out, uv_loop_t *loop, const char *path, char *err, size_t errlen)
{
  const struct store_schema main_schema = {store_migrations, store_n_migrations, "dg-store"};
  const struct store_schema history_schema = {store_history_migrations, store_history_n_migrations, "dg-history"};
  char hpath[4096];
  *out = NULL;
  int rc = store_history_path(path, hpath, sizeof hpath);
  if (rc) {
    store__set_err(err, errlen, "%s: %s", path, rc == -EINVAL ? "a file name is required, not a URI" : strerror(-rc));
    return rc;
  }
  struct store *s = NULL;
  if ((rc = store_open_schema(&s, loop, path, &main_schema, err, errlen))) return rc;
  if ((rc = store_open_schema(&s->history, loop, hpath, &history_schema, err, errlen))) goto fail;
  if (store_history_attach(s->rconn.db, hpath) != SQLITE_OK) {
    rc = store__sql_fail(s->rconn.db, hpath, "attaching: ", err, errlen);
    goto fail;
  }
  /* Alarms do not wait for old history: a carry-over that fails is logged and tried again at the
   * next start, its rows kept where they are. */
  if (store_history_carry(path, hpath, err, errlen) == 1 && (rc = store__run_now(s, store__carry_drop)))
    DG_ERR("store", "%s: history carried over, but its old copy not dropped: %s", path, strerror(-rc));
  *out = s;
  return 0;
fail:
  store_close(s);
  return rc;
}
