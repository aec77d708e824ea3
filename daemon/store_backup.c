/* Online backup of a database in use: SQLite's backup API on its own connections. */
#include "store.h"
#include "store_history.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BACKUP_BUSY_TIMEOUT_MS 10000

__attribute__((format(printf, 3, 4)))
static int store_backup__fail(char *err, size_t errlen, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -EIO;
}

/* The directory entry of `path` made durable after the rename. */
static void store_backup__sync_dir(const char *path)
{
  char *copy = strdup(path);
  if (!copy) return;
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  free(copy);
}

/* Copies every page in one step, so the copy is the snapshot of one read transaction: in WAL
 * mode the daemon's writer goes on committing meanwhile, and the copy is consistent. */
static int store_backup__copy(sqlite3 *src, sqlite3 *dst, char *err, size_t errlen, const char *db)
{
  sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
  if (!b) return store_backup__fail(err, errlen, "%s: backup: %s", db, sqlite3_errmsg(dst));
  int rc;
  while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(50);
  int frc = sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE || frc != SQLITE_OK)
    return store_backup__fail(err, errlen, "%s: backup: %s", db, sqlite3_errstr(rc != SQLITE_DONE ? rc : frc));
  return 0;
}

static int store_backup__check(sqlite3 *dst, char *err, size_t errlen, const char *dest)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  const char *res = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
  int ok = res && !strcmp(res, "ok");
  if (!ok) store_backup__fail(err, errlen, "%s: the copy fails its check: %s", dest, res ? res : sqlite3_errmsg(dst));
  sqlite3_finalize(st);
  return ok ? 0 : -EIO;
}

static int store_backup__one(const char *db, const char *dest, char *err, size_t errlen)
{
  sqlite3 *src = NULL, *dst = NULL;
  char *tmp = NULL;
  int rc = -ENOMEM;
  if (asprintf(&tmp, "%s.partial", dest) < 0) {
    tmp = NULL;
    store_backup__fail(err, errlen, "%s: out of memory", dest);
    goto fail;
  }
  unlink(tmp);
  /* Read-write without create: a missing database is an error, and in WAL mode a reader needs
   * the shared-memory file the daemon already has. */
  if (sqlite3_open_v2(db, &src, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
    rc = store_backup__fail(err, errlen, "%s: %s", db, src ? sqlite3_errmsg(src) : "out of memory");
    goto fail;
  }
  sqlite3_busy_timeout(src, BACKUP_BUSY_TIMEOUT_MS);
  mode_t old = umask(027);
  int orc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  umask(old);
  if (orc != SQLITE_OK) {
    rc = store_backup__fail(err, errlen, "%s: %s", tmp, dst ? sqlite3_errmsg(dst) : "out of memory");
    goto fail;
  }
  if ((rc = store_backup__copy(src, dst, err, errlen, db))) goto fail;
  /* One self-contained file: no -wal beside it when it is copied elsewhere or restored. */
  if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK) {
    rc = store_backup__fail(err, errlen, "%s: %s", tmp, sqlite3_errmsg(dst));
    goto fail;
  }
  if ((rc = store_backup__check(dst, err, errlen, dest))) goto fail;
  sqlite3_close(dst);
  dst = NULL;
  if (rename(tmp, dest)) {
    rc = -errno;
    store_backup__fail(err, errlen, "%s: %s", dest, strerror(-rc));
    goto fail;
  }
  store_backup__sync_dir(dest);
  rc = 0;
fail:
  sqlite3_close(dst);
  sqlite3_close(src);
  if (rc && tmp) unlink(tmp);
  free(tmp);
  return rc;
}

int store_backup(const char *db, const char *dest, char *err, size_t errlen)
{
  char hdb[4096], hdest[4096];
  int rc = store_backup__one(db, dest, err, errlen);
  if (rc || store_history_path(db, hdb, sizeof hdb) || access(hdb, F_OK) != 0) return rc;
  if (store_history_path(dest, hdest, sizeof hdest))
    return store_backup__fail(err, errlen, "%s: name too long for its history copy", dest);
  return store_backup__one(hdb, hdest, err, errlen);
}
