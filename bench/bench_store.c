/* bench_store — write throughput of the store's writer thread on a real file.
 *
 *   bench_store [dir]   (default: a fresh directory under /var/tmp, removed afterwards)
 *
 * 1. samples: jobs of 1000 inserted rows each, one job in flight (1000 rows per transaction),
 *    into the history database beside the main one (its own writer), as the daemon stores them.
 * 2. transitions, one at a time: single-row durable jobs, each submitted after the previous
 *    one's done (one fsync per job with synchronous=FULL).
 * 3. transitions, burst: the same jobs all submitted at once, so the writer groups them.
 * 4. transitions under load: one transition every 2 ms while sample batches stream without
 *    pause into the history database; latency from submit to done (commit acknowledged on the
 *    loop thread). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define ROWS_PER_BATCH 1000
#define SAMPLE_ROWS 500000
#define TRANSITIONS 3000

static const char SQL_SAMPLE[] = "INSERT INTO sample_rows(point, ts_ms, value, quality) VALUES(?1, ?2, ?3, 0)";
/* The history table as it was before integer point ids: text keys in two indexes. */
static const char SQL_SAMPLE_TEXT[] = "INSERT INTO samples_text(point, ts_ms, value, quality) VALUES(?1, ?2, ?3, 0)";
static const char SQL_SETUP[] =
  "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)"
  " INSERT INTO point_ids(id, name) SELECT i, printf('pt%04d', i - 1) FROM n;"
  "CREATE TABLE samples_text(point TEXT NOT NULL, ts_ms INTEGER NOT NULL, value REAL, quality INTEGER NOT NULL);"
  "CREATE INDEX samples_text_point_ts ON samples_text(point, ts_ms);"
  "CREATE INDEX samples_text_ts ON samples_text(ts_ms);";
static int text_keys; /* samples phase: into samples_text by name */
static const char SQL_ALARM[] =
  "INSERT INTO alarms(id, rule, state, updated_ms) VALUES(1, 'bench', 'NORMAL', 0)";
static const char SQL_JOURNAL[] =
  "INSERT INTO alarm_journal(alarm_id, ts_ms, event, from_state, to_state, value) "
  "VALUES(1, ?1, 'activate', 'NORMAL', 'UNACK', ?2)";

struct bench {
  struct store *store;
  int64_t next;  /* next row / transition number to submit */
  int64_t limit; /* how many to submit */
  int64_t done;  /* how many done */
  int failed;
  int chain;     /* done submits the next job */
};

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct job {
  struct bench *b;
  int64_t n; /* first row of a sample batch, or the transition number */
  double submitted;
};

static struct job *job_new(struct bench *b, int64_t n)
{
  struct job *j = malloc(sizeof *j);
  if (!j) {
    b->failed = 1;
    return NULL;
  }
  j->b = b;
  j->n = n;
  j->submitted = now_s();
  return j;
}

static void job_submit(struct bench *b, store_work_fn work, store_done_fn done, int64_t n)
{
  struct job *j = job_new(b, n);
  if (j && store_submit(b->store, work, done, j)) {
    free(j);
    b->failed = 1;
  }
}

static int sample_work(struct store_conn *c, void *arg)
{
  int64_t first = ((struct job *)arg)->n;
  sqlite3_stmt *st = store_stmt(c, text_keys ? SQL_SAMPLE_TEXT : SQL_SAMPLE);
  if (!st) return SQLITE_ERROR;
  for (int64_t i = first; i < first + ROWS_PER_BATCH; i++) {
    char point[24];
    snprintf(point, sizeof point, "pt%04d", (int)(i % 10000));
    if (text_keys) sqlite3_bind_text(st, 1, point, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_int64(st, 1, i % 10000 + 1);
    sqlite3_bind_int64(st, 2, i);
    sqlite3_bind_double(st, 3, (double)i * 0.5);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return rc;
  }
  return SQLITE_OK;
}

static int exec_work(struct store_conn *c, void *arg)
{
  return sqlite3_exec(store_conn_db(c), arg, NULL, NULL, NULL);
}

static void sample_done(void *arg, int rc);

static void sample_submit(struct bench *b)
{
  job_submit(b, sample_work, sample_done, b->next);
  b->next += ROWS_PER_BATCH;
}

static void sample_done(void *arg, int rc)
{
  struct bench *b = ((struct job *)arg)->b;
  free(arg);
  if (rc) b->failed = 1;
  b->done += ROWS_PER_BATCH;
  if (b->next < b->limit && !b->failed) sample_submit(b);
}

static int transition_work(struct store_conn *c, void *arg)
{
  struct job *t = arg;
  sqlite3_stmt *st = store_stmt(c, SQL_JOURNAL);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, t->n);
  sqlite3_bind_double(st, 2, (double)t->n);
  int rc = sqlite3_step(st);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static void transition_done(void *arg, int rc);

static void transition_submit(struct bench *b) { job_submit(b, transition_work, transition_done, b->next++); }

static double latencies[TRANSITIONS];
static int n_latencies;

static void transition_done(void *arg, int rc)
{
  struct job *j = arg;
  struct bench *b = j->b;
  if (n_latencies < TRANSITIONS) latencies[n_latencies++] = now_s() - j->submitted;
  free(j);
  if (rc) b->failed = 1;
  b->done++;
  if (b->chain && b->next < b->limit && !b->failed) transition_submit(b);
}

static int alarm_work(struct store_conn *c, void *arg)
{
  sqlite3_stmt *st = store_stmt(c, SQL_ALARM);
  return st && sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
}

static void run_until(uv_loop_t *loop, struct bench *b, int64_t target)
{
  while (b->done < target && !b->failed) uv_run(loop, UV_RUN_ONCE);
}

struct load {
  struct bench samples, transitions;
  uv_timer_t tick;
  double until;
};

static void on_tick(uv_timer_t *t)
{
  struct load *l = t->data;
  if (now_s() >= l->until || l->transitions.next >= l->transitions.limit) {
    uv_timer_stop(t);
    l->samples.limit = 0; /* stop chaining sample batches */
    return;
  }
  transition_submit(&l->transitions);
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void run_under_load(uv_loop_t *loop, struct store *s)
{
  struct load l = {.samples = {.store = store_history(s), .next = 10 * SAMPLE_ROWS, .limit = INT64_MAX, .chain = 1},
    .transitions = {.store = s, .next = 10 * TRANSITIONS, .limit = 11 * TRANSITIONS},
    .until = now_s() + 3.0};
  n_latencies = 0;
  uv_timer_init(loop, &l.tick);
  l.tick.data = &l;
  double t0 = now_s();
  sample_submit(&l.samples);
  uv_timer_start(&l.tick, on_tick, 2, 2);
  while (uv_is_active((uv_handle_t *)&l.tick) && !l.samples.failed && !l.transitions.failed)
    uv_run(loop, UV_RUN_ONCE);
  store_wait_idle(s);
  double t = now_s() - t0;
  uv_close((uv_handle_t *)&l.tick, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  qsort(latencies, (size_t)n_latencies, sizeof latencies[0], cmp_double);
  if (!n_latencies) return;
  printf("transitions under sample load:   p50 %.2f ms  p99 %.2f ms  max %.2f ms",
    latencies[n_latencies / 2] * 1e3, latencies[n_latencies * 99 / 100] * 1e3, latencies[n_latencies - 1] * 1e3);
  printf("  (%d jobs, %.0f sample rows/s)\n", n_latencies, (double)l.samples.done / t);
}

static void remove_dir(const char *dir)
{
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char p[512];
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

int main(int argc, char **argv)
{
  char dir[256];
  int own_dir = argc < 2;
  if (own_dir) {
    snprintf(dir, sizeof dir, "/var/tmp/dg-bench-store-XXXXXX");
    if (!mkdtemp(dir)) {
      perror("mkdtemp");
      return 1;
    }
  } else {
    snprintf(dir, sizeof dir, "%s", argv[1]);
  }
  char path[320];
  snprintf(path, sizeof path, "%s/bench.sqlite", dir);
  if (!own_dir) unlink(path);

  uv_loop_t loop;
  uv_loop_init(&loop);
  struct store *s = NULL;
  char err[256];
  if (store_open(&s, &loop, path, err, sizeof err)) {
    fprintf(stderr, "store_open: %s\n", err);
    return 1;
  }
  printf("database: %s (WAL, synchronous=FULL)\n", path);

  store_submit(store_history(s), exec_work, NULL, (void *)SQL_SETUP);
  store_wait_idle(s);
  double t0, t;
  int failed = 0;
  /* Alternated, so that a change of machine load does not favour one. */
  static const char *const phases[] = {"text point keys (before)", "integer point ids"};
  for (int ph = 0; ph < 4; ph++) {
    text_keys = ph % 2 == 0;
    struct bench b = {.store = store_history(s), .limit = SAMPLE_ROWS, .chain = 1};
    t0 = now_s();
    sample_submit(&b);
    run_until(&loop, &b, b.limit);
    t = now_s() - t0;
    printf("samples, %d rows/txn, %-26s %10.0f rows/s  (%.2f us/row)\n", ROWS_PER_BATCH, phases[ph % 2],
           (double)b.done / t, t / (double)b.done * 1e6);
    failed |= b.failed;
  }

  store_submit(s, alarm_work, NULL, NULL);
  store_wait_idle(s);

  struct bench seq = {.store = s, .limit = TRANSITIONS, .chain = 1};
  t0 = now_s();
  transition_submit(&seq);
  run_until(&loop, &seq, seq.limit);
  t = now_s() - t0;
  printf("transitions, one at a time:      %10.0f jobs/s  (%lld jobs in %.3f s)\n", (double)seq.done / t,
    (long long)seq.done, t);

  struct bench burst = {.store = s, .next = TRANSITIONS, .limit = 2 * TRANSITIONS};
  t0 = now_s();
  while (burst.next < burst.limit && !burst.failed) transition_submit(&burst);
  run_until(&loop, &burst, TRANSITIONS);
  t = now_s() - t0;
  printf("transitions, burst (grouped):    %10.0f jobs/s  (%lld jobs in %.3f s)\n", (double)burst.done / t,
    (long long)burst.done, t);

  run_under_load(&loop, s);

  failed = failed || seq.failed || burst.failed;
  store_close(s);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (own_dir) remove_dir(dir);
  if (failed) fprintf(stderr, "a job failed\n");
  return failed;
}
