/* How long a point's history takes to read, on a history database holding a month of moves the
 * way the daemon leaves them: one move of the point's slice every 30 s (HISTORY_LOG_SLICES
 * slices, one moved per 1 s flush), each with a block of OTHERS other points of the slice, and
 * the point sampled once a minute (a slow point: its reads walk the most moves for their
 * samples). Prints the time of history_read for the dashboard's trend windows and the
 * ledger's evidence reads, then of writing 10 000 samples as the API's JSON. These reads run on
 * the store's read lane, off the loop (docs/architecture.md); the figures say what the lane
 * takes them from. Figures only, no assertions. Usage: bench_history_read [DAYS] (default 30). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <uv.h>

#include "history.h"
#include "history_pack.h"
#include "history_read.h"
#include "log.h"
#include "store.h"

#define OTHERS 20
#define MOVE_EVERY_MS 30000
#define ROUNDS 3

static sqlite3_stmt *prepare(sqlite3 *h, const char *sql)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(h));
  return st;
}

static int step_reset(sqlite3_stmt *st)
{
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Point P has id HISTORY_LOG_SLICES (slice 0), the others the next ids of slice 0. Returns the
 * moves written. */
static long fill(const char *hpath, int days, int64_t now)
{
  sqlite3 *h = NULL;
  long moves = 0;
  int rc = sqlite3_open(hpath, &h) == SQLITE_OK ? 0 : -EIO;
  sqlite3_stmt *id = prepare(h, "INSERT INTO point_ids (id, name) VALUES (?1, ?2)");
  sqlite3_stmt *mv = prepare(h, "INSERT INTO sample_moves (id, slice, t0, t1) VALUES (?1, 0, ?2, ?3)");
  sqlite3_stmt *bl = prepare(h, "INSERT INTO sample_blocks (point, t0, t1, n, data, move) VALUES (?1, ?2, ?2, 1, ?3, ?4)");
  if (!id || !mv || !bl || sqlite3_exec(h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) rc = -EIO;
  for (int p = 0; !rc && p <= OTHERS; p++) {
    char name[16];
    snprintf(name, sizeof name, p ? "Q%d" : "P", p);
    sqlite3_bind_int64(id, 1, (int64_t)HISTORY_LOG_SLICES * (p + 1));
    sqlite3_bind_text(id, 2, name, -1, SQLITE_TRANSIENT);
    rc = step_reset(id);
  }
  uint8_t rec[HISTORY_BLOCK_REC];
  for (int64_t t1 = now - (int64_t)days * 86400000; !rc && t1 < now; t1 += MOVE_EVERY_MS) {
    moves++;
    sqlite3_bind_int64(mv, 1, moves);
    sqlite3_bind_int64(mv, 2, t1 - MOVE_EVERY_MS + 1);
    sqlite3_bind_int64(mv, 3, t1);
    rc = step_reset(mv);
    for (int p = 0; !rc && p <= OTHERS; p++) {
      if (p == 0 && moves % 2) continue; /* P: once a minute */
      history_block_put(rec, 0, DG_Q_GOOD, (double)(moves % 1000));
      sqlite3_bind_int64(bl, 1, (int64_t)HISTORY_LOG_SLICES * (p + 1));
      sqlite3_bind_int64(bl, 2, t1);
      sqlite3_bind_blob(bl, 3, rec, sizeof rec, SQLITE_TRANSIENT);
      sqlite3_bind_int64(bl, 4, moves);
      rc = step_reset(bl);
    }
  }
  sqlite3_finalize(id);
  sqlite3_finalize(mv);
  sqlite3_finalize(bl);
  if (!rc && sqlite3_exec(h, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK) rc = -EIO;
  if (rc) fprintf(stderr, "bench_history_read: %s: %s\n", hpath, sqlite3_errmsg(h));
  sqlite3_close(h);
  return rc ? rc : moves;
}

struct window {
  const char *what;
  int64_t since_ago, until_ago; /* ms before now; since INT64_MIN: from the start */
  size_t limit;
};

static double read_ms(struct store *s, const struct window *w, int64_t now, size_t *n)
{
  struct history_sample *got = NULL;
  int64_t since = w->since_ago == INT64_MIN ? INT64_MIN : now - w->since_ago;
  uint64_t t0 = uv_hrtime();
  int rc = history_read(store_reader(s), "P", since, now - w->until_ago, w->limit, 1, &got, n);
  double ms = (double)(uv_hrtime() - t0) / 1e6;
  free(got);
  return rc ? -1 : ms;
}

static double json_ms(void)
{
  uint64_t t0 = uv_hrtime();
  cJSON *arr = cJSON_CreateArray();
  for (int i = 0; i < 10000; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "ts_ms", 1796477417957.0 + i * 60000.0);
    cJSON_AddNumberToObject(o, "value", 12.345678 + i * 0.01);
    cJSON_AddStringToObject(o, "quality", "good");
    cJSON_AddItemToArray(arr, o);
  }
  char *text = cJSON_PrintUnformatted(arr);
  double ms = (double)(uv_hrtime() - t0) / 1e6;
  cJSON_free(text);
  cJSON_Delete(arr);
  return ms;
}

int main(int argc, char **argv)
{
  int days = argc > 1 ? atoi(argv[1]) : 30;
  if (days < 1 || days > 30) {
    fprintf(stderr, "usage: %s [DAYS 1..30]\n", argv[0]);
    return 2;
  }
  char dir[] = "/tmp/bench-history-read-XXXXXX", db[PATH_MAX], hpath[PATH_MAX + 16], err[256];
  if (!mkdtemp(dir)) return 1;
  snprintf(db, sizeof db, "%s/bench.db", dir);
  snprintf(hpath, sizeof hpath, "%s-history", db);
  uv_loop_t loop;
  struct store *s = NULL;
  if (uv_loop_init(&loop) || store_open(&s, &loop, db, err, sizeof err)) return fprintf(stderr, "%s\n", err), 1;
  store_close(s);
  uv_run(&loop, UV_RUN_DEFAULT);
  int64_t now = dg_wall_ms();
  long moves = fill(hpath, days, now);
  if (moves < 0 || store_open(&s, &loop, db, err, sizeof err)) return 1;
  printf("history read: %ld moves of the point's slice over %d days, %d other points' blocks in each,"
         " the point once a minute\n", moves, days, OTHERS);
  const int64_t day = 86400000;
  const struct window w[] = {
    {"trend 1 h (limit 5000)", 3600000, 0, 5000},
    {"trend 24 h (limit 5000)", day, 0, 5000},
    {"trend 7 days (limit 10000)", 7 * day, 0, 10000},
    {"30 days, limit 10000", 30 * day, 0, 10000},
    {"30 days, no limit", 30 * day, 0, SIZE_MAX},
    {"evidence: last sample before a day ago", INT64_MIN, day, 1},
    {"evidence: a day, 28 days ago, no limit", 29 * day, 28 * day, SIZE_MAX},
  };
  for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
    size_t n = 0;
    printf("  %-42s:", w[i].what);
    for (int r = 0; r < ROUNDS; r++) printf(" %7.1f ms", read_ms(s, &w[i], now, &n));
    printf("  (%zu samples)\n", n);
  }
  printf("  %-42s:", "10 000 samples written as JSON");
  for (int r = 0; r < ROUNDS; r++) printf(" %7.1f ms", json_ms());
  printf("\n");
  store_close(s);
  uv_run(&loop, UV_RUN_DEFAULT);
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return uv_loop_close(&loop) || system(cmd) ? 1 : 0;
}
