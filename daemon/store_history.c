/* The history database beside the main one: its schema, its path, how the main database's
 * reader sees it, and the one-time carry-over of history rows that an older schema kept in the
 * main database. See store.h (store_history). */
#include "store_history.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define STORE_HISTORY_BUSY_MS 5000

/* No index on ts_ms: retention prunes point by point through (point, ts_ms), and an index on
 * time alone would take an insert at a scattered place for every row. */
/* Packed history (history_pack.h) decoded in plain SQL for the `samples` view, from h, the
 * hex of one record: SH_BYTE(j) is the byte whose two hex digits start at position j. */
#define SH_DIGIT(j) "(instr('0123456789ABCDEF', substr(h, " j ", 1)) - 1)"
#define SH_BYTE(j) "(" SH_DIGIT(j) " * 16 + " SH_DIGIT(j " + 1") ")"
#define SH_U32(j) "(" SH_BYTE(j) " * 16777216 + " SH_BYTE(j " + 2") " * 65536 + " SH_BYTE(j " + 4") " * 256 + " \
  SH_BYTE(j " + 6") ")"
/* An IEEE 754 double's sign, exponent and mantissa from its 8 bytes at j ... */
#define SH_DOUBLE_PARTS(j) SH_BYTE(j) " >= 128 AS neg, (" SH_BYTE(j) " & 127) * 16 + (" SH_BYTE(j " + 2") " >> 4) AS e, (" \
  SH_BYTE(j " + 2") " & 15) * 281474976710656 + " SH_BYTE(j " + 4") " * 1099511627776 + " SH_BYTE(j " + 6") \
  " * 4294967296 + " SH_U32(j " + 8") " AS m"
/* ... and its value, exact (a power of two times an integer below 2^53); NULL unless the
 * quality q is good, and for a NaN. */
#define SH_VALUE "CASE WHEN q = 0 THEN (CASE WHEN neg THEN -1 ELSE 1 END) * (CASE e WHEN 0 THEN m * pow(2, -1074)" \
  " WHEN 2047 THEN (CASE WHEN m = 0 THEN 9e999 END) ELSE (m + 4503599627370496) * pow(2, e - 1075) END) END"

const char *const store_history_migrations[] = {
  "CREATE TABLE point_ids (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
  "CREATE TABLE sample_rows ("
  "  point INTEGER NOT NULL REFERENCES point_ids(id), ts_ms INTEGER NOT NULL, value REAL, quality INTEGER NOT NULL);"
  "CREATE INDEX sample_rows_point_ts ON sample_rows(point, ts_ms);"
  "CREATE VIEW samples AS SELECT s.rowid AS rowid, p.name AS point, s.ts_ms AS ts_ms, s.value AS value,"
  " s.quality AS quality FROM sample_rows s JOIN point_ids p ON p.id = s.point;"
  "CREATE TRIGGER samples_insert INSTEAD OF INSERT ON samples BEGIN"
  " INSERT OR IGNORE INTO point_ids (name) VALUES (NEW.point);"
  " INSERT INTO sample_rows (point, ts_ms, value, quality)"
  " VALUES ((SELECT id FROM point_ids WHERE name = NEW.point), NEW.ts_ms, NEW.value, NEW.quality);"
  " END;"
  "CREATE TRIGGER samples_delete INSTEAD OF DELETE ON samples BEGIN"
  " DELETE FROM sample_rows WHERE rowid = OLD.rowid;"
  " END;",
  /* The writer appends each flush to sample_log, and each flush moves one of its
   * HISTORY_LOG_SLICES slices (the points whose id is that slice modulo) into sample_rows,
   * sorted by point (history.h): written straight into sample_rows, a flush dirtied a leaf of the
   * (point, ts_ms) index for nearly every point it touched. Keyed by (slice, id), the log grows
   * at one end per slice. Its ids run on from sample_rows' rowids, so `samples` ordered by rowid
   * keeps each point's samples in their order of arrival. */
  "CREATE TABLE sample_log (slice INTEGER NOT NULL, id INTEGER NOT NULL, point INTEGER NOT NULL,"
  "  ts_ms INTEGER NOT NULL, value REAL, quality INTEGER NOT NULL, PRIMARY KEY (slice, id)) WITHOUT ROWID;"
  "DROP VIEW samples;"
  "CREATE VIEW samples AS SELECT s.rowid AS rowid, p.name AS point, s.ts_ms AS ts_ms, s.value AS value,"
  " s.quality AS quality FROM sample_rows s JOIN point_ids p ON p.id = s.point"
  " UNION ALL SELECT l.id, p.name, l.ts_ms, l.value, l.quality FROM sample_log l JOIN point_ids p ON p.id = l.point;"
  "CREATE TRIGGER samples_insert INSTEAD OF INSERT ON samples BEGIN"
  " INSERT OR IGNORE INTO point_ids (name) VALUES (NEW.point);"
  " INSERT INTO sample_rows (rowid, point, ts_ms, value, quality)"
  " VALUES (max(coalesce((SELECT max(rowid) FROM sample_rows), 0), coalesce((SELECT max(id) FROM sample_log), 0)) + 1,"
  " (SELECT id FROM point_ids WHERE name = NEW.point), NEW.ts_ms, NEW.value, NEW.quality);"
  " END;"
  "CREATE TRIGGER samples_delete INSTEAD OF DELETE ON samples BEGIN"
  " DELETE FROM sample_rows WHERE rowid = OLD.rowid;"
  " DELETE FROM sample_log WHERE id = OLD.rowid;"
  " END;",
  /* The first free id, read by the writer and by an insert by name: the log's max(id) slice by
   * slice (a seek to the end of each), where max(id) over the whole log scanned all of it for
   * every row inserted by name. A row deleted by name is found in its point's slice. The slice
   * count is HISTORY_LOG_SLICES (history.h). */
  "CREATE VIEW sample_next_id (id) AS WITH RECURSIVE s(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM s WHERE k + 1 < 30)"
  " SELECT max(coalesce((SELECT max(rowid) FROM sample_rows), 0),"
  " coalesce((SELECT max((SELECT max(id) FROM sample_log WHERE slice = k)) FROM s), 0)) + 1;"
  "DROP TRIGGER samples_insert;"
  "CREATE TRIGGER samples_insert INSTEAD OF INSERT ON samples BEGIN"
  " INSERT OR IGNORE INTO point_ids (name) VALUES (NEW.point);"
  " INSERT INTO sample_rows (rowid, point, ts_ms, value, quality)"
  " VALUES ((SELECT id FROM sample_next_id), (SELECT id FROM point_ids WHERE name = NEW.point), NEW.ts_ms, NEW.value,"
  " NEW.quality);"
  " END;"
  "DROP TRIGGER samples_delete;"
  "CREATE TRIGGER samples_delete INSTEAD OF DELETE ON samples BEGIN"
  " DELETE FROM sample_rows WHERE rowid = OLD.rowid;"
  " DELETE FROM sample_log WHERE slice = (SELECT id FROM point_ids WHERE name = OLD.point) % 30 AND id = OLD.rowid;"
  " END;",
  /* Packed history (history_pack.h): a flush is one pack per slice of the log, a move one
   * block per point, about 17 and 13 bytes a sample where a row of the log and its move into
   * sample_rows wrote some 110 (and the disk wrote it twice, WAL then database). The rows of the
   * per-row log move into sample_rows, which keeps the rows of earlier schemas and rows inserted
   * through `samples` by name; readers read all three. `samples` decodes the packs in plain SQL
   * (one row of sample_seq per record); its rowids are a block's or pack's id times 65536 plus
   * the record's place, after every rowid of sample_rows, so that ordered by rowid each point's
   * rows stay in order. Packed rows are not deleted through the view. */
  "DROP TRIGGER samples_insert;"
  "DROP TRIGGER samples_delete;"
  "DROP VIEW samples;"
  "DROP VIEW sample_next_id;"
  "INSERT INTO sample_rows (rowid, point, ts_ms, value, quality)"
  " SELECT id, point, ts_ms, value, quality FROM sample_log ORDER BY point, ts_ms, id;"
  "DROP TABLE sample_log;"
  "CREATE TABLE sample_seq (i INTEGER PRIMARY KEY);"
  "INSERT INTO sample_seq (i) WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i + 1 < 4096)"
  " SELECT i FROM k;"
  "CREATE TABLE sample_packs (id INTEGER PRIMARY KEY, slice INTEGER NOT NULL, base_ms INTEGER NOT NULL,"
  "  n INTEGER NOT NULL, data BLOB NOT NULL);"
  "CREATE INDEX sample_packs_slice ON sample_packs (slice);"
  "CREATE TABLE sample_blocks (id INTEGER PRIMARY KEY, point INTEGER NOT NULL REFERENCES point_ids(id),"
  "  t0 INTEGER NOT NULL, t1 INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL);"
  "CREATE INDEX sample_blocks_point_t1 ON sample_blocks (point, t1);"
  "CREATE VIEW sample_next_id (id) AS SELECT max(coalesce((SELECT max(id) FROM sample_blocks), 0),"
  " coalesce((SELECT max(id) FROM sample_packs), 0), coalesce((SELECT max(rowid) FROM sample_rows), 0) / 65536) + 1;"
  "CREATE VIEW samples AS SELECT s.rowid AS rowid, p.name AS point, s.ts_ms AS ts_ms, s.value AS value,"
  " s.quality AS quality FROM sample_rows s JOIN point_ids p ON p.id = s.point"
  " UNION ALL SELECT id * 65536 + i, name, ts_ms, " SH_VALUE ", q FROM (SELECT id, i, name, t0 + " SH_U32("1")
  " AS ts_ms, " SH_BYTE("9") " AS q, " SH_DOUBLE_PARTS("11") " FROM (SELECT b.id, k.i, p.name, b.t0,"
  " hex(substr(b.data, k.i * 13 + 1, 13)) AS h FROM sample_blocks b JOIN point_ids p ON p.id = b.point"
  " JOIN sample_seq k ON k.i < b.n))"
  " UNION ALL SELECT x.id * 65536 + x.i, p.name, x.ts_ms, " SH_VALUE ", x.q FROM (SELECT id, i, " SH_U32("1")
  " AS point, base_ms + " SH_U32("9") " - (CASE WHEN " SH_BYTE("9") " >= 128 THEN 4294967296 ELSE 0 END) AS ts_ms, "
  SH_BYTE("17") " AS q, " SH_DOUBLE_PARTS("19") " FROM (SELECT s.id, k.i, s.base_ms,"
  " hex(substr(s.data, k.i * 17 + 1, 17)) AS h FROM sample_packs s JOIN sample_seq k ON k.i < s.n)) x"
  " JOIN point_ids p ON p.id = x.point;"
  "CREATE TRIGGER samples_insert INSTEAD OF INSERT ON samples BEGIN"
  " INSERT OR IGNORE INTO point_ids (name) VALUES (NEW.point);"
  " INSERT INTO sample_rows (rowid, point, ts_ms, value, quality)"
  " VALUES ((SELECT id FROM sample_next_id) * 65536, (SELECT id FROM point_ids WHERE name = NEW.point), NEW.ts_ms,"
  " NEW.value, NEW.quality);"
  " END;",
  /* A move's blocks are found through the move (sample_moves: its slice, its first and last
   * sample time), no longer through (point, t1): a move put one entry into (point, t1) for every
   * point of its slice, each at a leaf of its own, so that a block of a few hundred bytes wrote a
   * 4 KB page of index (twice: WAL, then database). (move, point) grows at its end. Blocks of
   * schema 4 (move NULL) keep (point, t1), now partial, and are read through it until retention
   * has dropped them. */
  "CREATE TABLE sample_moves (id INTEGER PRIMARY KEY, slice INTEGER NOT NULL, t0 INTEGER NOT NULL,"
  "  t1 INTEGER NOT NULL);"
  "CREATE INDEX sample_moves_slice_t1 ON sample_moves (slice, t1, t0);"
  "ALTER TABLE sample_blocks ADD COLUMN move INTEGER;"
  "DROP INDEX sample_blocks_point_t1;"
  "CREATE INDEX sample_blocks_point_t1 ON sample_blocks (point, t1) WHERE move IS NULL;"
  "CREATE INDEX sample_blocks_move ON sample_blocks (move, point) WHERE move IS NOT NULL;",
};

const unsigned store_history_n_migrations = sizeof store_history_migrations / sizeof store_history_migrations[0];

int store_history_path(const char *db, char *out, size_t len)
{
  if (strncmp(db, "file:", 5) == 0) return -EINVAL; /* a URI has no plain place beside it */
  int n = snprintf(out, len, "%s%s", db, STORE_HISTORY_SUFFIX);
  return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int store_history_attach(sqlite3 *db, const char *history_path)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS history", -1, &st, NULL);
  if (rc == SQLITE_OK) sqlite3_bind_text(st, 1, history_path, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int store_history__count(sqlite3 *db, const char *sql, int64_t *n)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? SQLITE_OK : rc == SQLITE_OK || rc == SQLITE_DONE ? SQLITE_ERROR : rc;
}

/* Copies the rows kept by the main database into the history database, ids and rowids as they
 * were, so running it again after a crash inserts nothing twice. Refuses when the history
 * database already names an id differently (it was used without the carry-over). */
static int store_history__copy(sqlite3 *db, char *err, size_t errlen)
{
  int64_t clashes = 0;
  int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = store_history__count(db, "SELECT count(*) FROM carry.history_carry_ids c JOIN point_ids p ON p.id = c.id"
                                  " WHERE p.name <> c.name", &clashes);
  if (rc == SQLITE_OK && clashes) {
    snprintf(err, errlen, "history database names %lld point ids differently from the main database",
             (long long)clashes);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -EEXIST;
  }
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(db, "INSERT OR IGNORE INTO point_ids (id, name) SELECT id, name FROM carry.history_carry_ids;"
                          "INSERT OR IGNORE INTO sample_rows (rowid, point, ts_ms, value, quality)"
                          " SELECT rowid, point, ts_ms, value, quality FROM carry.history_carry_rows ORDER BY rowid;"
                          "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "%s", sqlite3_errmsg(db));
    if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -EIO;
  }
  return 0;
}

static int store_history__open(const char *path, sqlite3 **db)
{
  int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (*db) sqlite3_busy_timeout(*db, STORE_HISTORY_BUSY_MS);
  return rc;
}

int store_history_carry(const char *db_path, const char *history_path, char *err, size_t errlen)
{
  sqlite3 *main = NULL, *hist = NULL;
  int64_t tables = 0, rows = 0;
  int rc = store_history__open(db_path, &main);
  if (rc == SQLITE_OK)
    rc = store_history__count(main, "SELECT count(*) FROM sqlite_master WHERE name = 'history_carry_rows'", &tables);
  if (rc != SQLITE_OK || !tables) goto out;
  rc = store_history__count(main, "SELECT count(*) FROM history_carry_rows", &rows);
  if (rc == SQLITE_OK && rows) {
    rc = store_history__open(history_path, &hist);
    if (rc == SQLITE_OK) {
      sqlite3_stmt *st = NULL;
      rc = sqlite3_prepare_v2(hist, "ATTACH DATABASE ?1 AS carry", -1, &st, NULL);
      if (rc == SQLITE_OK) sqlite3_bind_text(st, 1, db_path, -1, SQLITE_STATIC);
      if (rc == SQLITE_OK) rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(hist);
      sqlite3_finalize(st);
    }
    if (rc == SQLITE_OK) {
      int crc = store_history__copy(hist, err, errlen);
      if (crc) {
        DG_ERR("store", "%s: history kept in the main database, not carried over: %s", history_path, err);
        sqlite3_close(hist);
        sqlite3_close(main);
        return crc;
      }
      DG_INFO("store", "%s: %lld history rows carried over from %s", history_path, (long long)rows, db_path);
    }
  }
out:
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "%s: history carry-over: %s", db_path,
             main ? sqlite3_errmsg(hist && sqlite3_errcode(hist) ? hist : main) : sqlite3_errstr(rc));
    DG_ERR("store", "%s", err);
    if (main && !sqlite3_get_autocommit(main)) sqlite3_exec(main, "ROLLBACK", NULL, NULL, NULL);
  }
  sqlite3_close(hist);
  sqlite3_close(main);
  return rc != SQLITE_OK ? -EIO : tables ? 1 : 0;
}

