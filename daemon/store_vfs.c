#include "store_vfs.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* SQLite's WAL frame header: page number, then the database size in pages, non-zero only in a
 * transaction's commit frame, then salts and checksums (fileformat2.html, "WAL File Format"). */
#define STORE_VFS_FRAME_HDR 24
/* Frames gathered at most before they are written anyway: a big transaction streams in writes of
 * this size. The unix VFS writes at most 128 KiB - 1 in one call (seekAndWriteFd masks the size
 * with 0x1ffff); 120 KiB holds 29 frames of 4 KiB pages, more than most urgent groups write. */
#define STORE_VFS_BUF_CAP (120 * 1024)

struct store_vfs__file {
  sqlite3_file base;
  sqlite3_file *real;          /* the parent's file, in the memory after this struct */
  struct store_vfs__file *wal; /* database: the WAL its connection has open, or NULL */
  struct store_vfs__file *db;  /* WAL: its database file, or NULL */
  /* WAL: frames not yet written, for [off, off + len) of the file */
  unsigned char *buf;
  size_t len;
  sqlite3_int64 off;
  bool commit_last;          /* the buffer ends with a commit frame's header: its page is next */
  sqlite3_int64 end;         /* where the last write ended, or -1 after a read or truncation */
};

static const sqlite3_io_methods store_vfs__db_methods;
static const sqlite3_io_methods store_vfs__wal_methods;

static struct store_vfs__file *store_vfs__of(sqlite3_file *f) { return (struct store_vfs__file *)f; }

static sqlite3_vfs *store_vfs__parent(sqlite3_vfs *vfs) { return vfs->pAppData; }

/* ---- the WAL's buffer ---------------------------------------------------------------------- */

/* Writes what is gathered. On failure the frames are dropped: SQLite fails the statement that
 * needed them, and a transaction that failed to write is rolled back, never published. */
static int store_vfs__flush(struct store_vfs__file *p)
{
  if (!p->len) return SQLITE_OK;
  int rc = p->real->pMethods->xWrite(p->real, p->buf, (int)p->len, p->off);
  p->len = 0;
  p->commit_last = false;
  return rc;
}

static bool store_vfs__is_frame_header(int amt) { return amt == STORE_VFS_FRAME_HDR; }

static bool store_vfs__is_commit_header(const unsigned char *d, int amt)
{
  return store_vfs__is_frame_header(amt) && (d[4] | d[5] | d[6] | d[7]);
}

static int store_vfs__gather(struct store_vfs__file *p, const void *data, int amt, sqlite3_int64 off)
{
  if (!p->buf && !(p->buf = malloc(STORE_VFS_BUF_CAP))) return SQLITE_IOERR_NOMEM;
  if (!p->len) p->off = off;
  memcpy(p->buf + p->len, data, (size_t)amt);
  p->len += (size_t)amt;
  return SQLITE_OK;
}

/* Appends to the gathered frames go to the buffer, and a commit frame's page writes them all.
 * A frame header starts a buffer; a commit frame's header only where the last write ended, as
 * when SQLite appends it: the commit headers it writes again in place (rewriting checksums,
 * each after reading its frame) go straight to the file. So do its other writes (the WAL
 * header, which it syncs at once, and pages written over in place), after what is gathered. */
static int store_vfs__wal_write(sqlite3_file *f, const void *data, int amt, sqlite3_int64 off)
{
  struct store_vfs__file *p = store_vfs__of(f);
  const unsigned char *d = data;
  bool commit = store_vfs__is_commit_header(d, amt);
  bool appends = p->len && off == p->off + (sqlite3_int64)p->len && p->len + (size_t)amt <= STORE_VFS_BUF_CAP;
  bool starts = !p->len && store_vfs__is_frame_header(amt) && (!commit || off == p->end);
  int rc;
  p->end = off + amt;
  if (appends || starts) {
    if ((rc = store_vfs__gather(p, data, amt, off)) != SQLITE_OK) return rc;
    if (p->commit_last) return store_vfs__flush(p);
    p->commit_last = commit;
    return SQLITE_OK;
  }
  if ((rc = store_vfs__flush(p)) != SQLITE_OK) return rc;
  return p->real->pMethods->xWrite(p->real, data, amt, off);
}

/* ---- WAL methods: everything that could see the file writes the buffer first ---------------- */

static int store_vfs__wal_close(sqlite3_file *f)
{
  struct store_vfs__file *p = store_vfs__of(f);
  int rc = store_vfs__flush(p);
  if (p->db && p->db->wal == p) p->db->wal = NULL;
  free(p->buf);
  p->buf = NULL;
  int crc = p->real->pMethods->xClose(p->real);
  return rc != SQLITE_OK ? rc : crc;
}

static int store_vfs__wal_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
  struct store_vfs__file *p = store_vfs__of(f);
  int rc = store_vfs__flush(p);
  p->end = -1;
  return rc != SQLITE_OK ? rc : p->real->pMethods->xRead(p->real, buf, amt, off);
}

static int store_vfs__wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
  struct store_vfs__file *p = store_vfs__of(f);
  int rc = store_vfs__flush(p);
  p->end = -1;
  return rc != SQLITE_OK ? rc : p->real->pMethods->xTruncate(p->real, size);
}

static int store_vfs__wal_sync(sqlite3_file *f, int flags)
{
  struct store_vfs__file *p = store_vfs__of(f);
  int rc = store_vfs__flush(p);
  return rc != SQLITE_OK ? rc : p->real->pMethods->xSync(p->real, flags);
}

static int store_vfs__wal_size(sqlite3_file *f, sqlite3_int64 *size)
{
  struct store_vfs__file *p = store_vfs__of(f);
  int rc = store_vfs__flush(p);
  return rc != SQLITE_OK ? rc : p->real->pMethods->xFileSize(p->real, size);
}

/* ---- database methods: the WAL's buffer is written before its locks go ---------------------- */

static int store_vfs__db_close(sqlite3_file *f)
{
  struct store_vfs__file *p = store_vfs__of(f);
  if (p->wal) p->wal->db = NULL;
  return p->real->pMethods->xClose(p->real);
}

/* A safety net: by the rules of store_vfs__wal_write nothing committed is still gathered here. */
static void store_vfs__flush_wal_of(struct store_vfs__file *db, const char *when)
{
  if (!db->wal || !db->wal->len) return;
  int rc = store_vfs__flush(db->wal);
  if (rc != SQLITE_OK) DG_LOG_RL(DG_LOG_ERR, "store", "WAL frames not written %s: %s", when, sqlite3_errstr(rc));
}

static int store_vfs__db_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
  struct store_vfs__file *p = store_vfs__of(f);
  /* another writer may take the lock next and write where these frames would go */
  if (flags & SQLITE_SHM_UNLOCK) store_vfs__flush_wal_of(p, "at a lock's release");
  return p->real->pMethods->xShmLock(p->real, offset, n, flags);
}

static void store_vfs__db_shm_barrier(sqlite3_file *f)
{
  struct store_vfs__file *p = store_vfs__of(f);
  store_vfs__flush_wal_of(p, "at a wal-index update");
  p->real->pMethods->xShmBarrier(p->real);
}

/* ---- methods passed straight through -------------------------------------------------------- */

#define STORE_VFS_IO(ret, name, method, params, args)                                              \
  static ret store_vfs__##name params                                                              \
  {                                                                                                \
    sqlite3_file *r = store_vfs__of(f)->real;                                                      \
    return r->pMethods->method args;                                                               \
  }

STORE_VFS_IO(int, read, xRead, (sqlite3_file * f, void *buf, int amt, sqlite3_int64 off), (r, buf, amt, off))
STORE_VFS_IO(int, write, xWrite, (sqlite3_file * f, const void *buf, int amt, sqlite3_int64 off), (r, buf, amt, off))
STORE_VFS_IO(int, truncate, xTruncate, (sqlite3_file * f, sqlite3_int64 size), (r, size))
STORE_VFS_IO(int, sync, xSync, (sqlite3_file * f, int flags), (r, flags))
STORE_VFS_IO(int, size, xFileSize, (sqlite3_file * f, sqlite3_int64 *size), (r, size))
STORE_VFS_IO(int, lock, xLock, (sqlite3_file * f, int level), (r, level))
STORE_VFS_IO(int, unlock, xUnlock, (sqlite3_file * f, int level), (r, level))
STORE_VFS_IO(int, check_reserved, xCheckReservedLock, (sqlite3_file * f, int *out), (r, out))
STORE_VFS_IO(int, file_control, xFileControl, (sqlite3_file * f, int op, void *arg), (r, op, arg))
STORE_VFS_IO(int, sector_size, xSectorSize, (sqlite3_file * f), (r))
STORE_VFS_IO(int, device, xDeviceCharacteristics, (sqlite3_file * f), (r))
STORE_VFS_IO(int, shm_map, xShmMap, (sqlite3_file * f, int region, int size, int extend, void volatile **out),
             (r, region, size, extend, out))
STORE_VFS_IO(int, shm_lock, xShmLock, (sqlite3_file * f, int offset, int n, int flags), (r, offset, n, flags))
STORE_VFS_IO(int, shm_unmap, xShmUnmap, (sqlite3_file * f, int del), (r, del))
STORE_VFS_IO(int, fetch, xFetch, (sqlite3_file * f, sqlite3_int64 off, int amt, void **pp), (r, off, amt, pp))
STORE_VFS_IO(int, unfetch, xUnfetch, (sqlite3_file * f, sqlite3_int64 off, void *p), (r, off, p))
#undef STORE_VFS_IO

static void store_vfs__shm_barrier(sqlite3_file *f)
{
  sqlite3_file *r = store_vfs__of(f)->real;
  r->pMethods->xShmBarrier(r);
}

static const sqlite3_io_methods store_vfs__db_methods = {
  .iVersion = 3,
  .xClose = store_vfs__db_close,
  .xRead = store_vfs__read,
  .xWrite = store_vfs__write,
  .xTruncate = store_vfs__truncate,
  .xSync = store_vfs__sync,
  .xFileSize = store_vfs__size,
  .xLock = store_vfs__lock,
  .xUnlock = store_vfs__unlock,
  .xCheckReservedLock = store_vfs__check_reserved,
  .xFileControl = store_vfs__file_control,
  .xSectorSize = store_vfs__sector_size,
  .xDeviceCharacteristics = store_vfs__device,
  .xShmMap = store_vfs__shm_map,
  .xShmLock = store_vfs__db_shm_lock,
  .xShmBarrier = store_vfs__db_shm_barrier,
  .xShmUnmap = store_vfs__shm_unmap,
  .xFetch = store_vfs__fetch,
  .xUnfetch = store_vfs__unfetch,
};

static const sqlite3_io_methods store_vfs__wal_methods = {
  .iVersion = 3,
  .xClose = store_vfs__wal_close,
  .xRead = store_vfs__wal_read,
  .xWrite = store_vfs__wal_write,
  .xTruncate = store_vfs__wal_truncate,
  .xSync = store_vfs__wal_sync,
  .xFileSize = store_vfs__wal_size,
  .xLock = store_vfs__lock,
  .xUnlock = store_vfs__unlock,
  .xCheckReservedLock = store_vfs__check_reserved,
  .xFileControl = store_vfs__file_control,
  .xSectorSize = store_vfs__sector_size,
  .xDeviceCharacteristics = store_vfs__device,
  .xShmMap = store_vfs__shm_map,
  .xShmLock = store_vfs__shm_lock,
  .xShmBarrier = store_vfs__shm_barrier,
  .xShmUnmap = store_vfs__shm_unmap,
  .xFetch = store_vfs__fetch,
  .xUnfetch = store_vfs__unfetch,
};

/* ---- the VFS -------------------------------------------------------------------------------- */

static size_t store_vfs__head(void)
{
  size_t a = sizeof(void *) > sizeof(sqlite3_int64) ? sizeof(void *) : sizeof(sqlite3_int64);
  return (sizeof(struct store_vfs__file) + a - 1) / a * a;
}

static int store_vfs__open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
  sqlite3_vfs *parent = store_vfs__parent(vfs);
  struct store_vfs__file *p = store_vfs__of(f);
  memset(p, 0, sizeof *p);
  p->real = (sqlite3_file *)((char *)p + store_vfs__head());
  p->real->pMethods = NULL;
  p->end = -1;
  int rc = parent->xOpen(parent, name, p->real, flags, out_flags);
  if (rc == SQLITE_OK && p->real->pMethods && p->real->pMethods->iVersion < 3) rc = SQLITE_CANTOPEN;
  if (rc != SQLITE_OK || !p->real->pMethods) {
    /* a parent's file with methods is closed even when its open failed (sqlite3_vfs.xOpen) */
    if (p->real->pMethods) p->real->pMethods->xClose(p->real);
    p->base.pMethods = NULL; /* SQLite then does not call our xClose */
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  if (!(flags & SQLITE_OPEN_WAL)) {
    p->base.pMethods = &store_vfs__db_methods;
    return SQLITE_OK;
  }
  p->base.pMethods = &store_vfs__wal_methods;
  sqlite3_file *db = sqlite3_database_file_object(name);
  if (db && db->pMethods == &store_vfs__db_methods) {
    p->db = store_vfs__of(db);
    p->db->wal = p;
  }
  return SQLITE_OK;
}

#define STORE_VFS_PASS(ret, fn, params, args)                                                      \
  static ret store_vfs__##fn params                                                                \
  {                                                                                                \
    sqlite3_vfs *parent = store_vfs__parent(vfs);                                                  \
    return parent->fn args;                                                                        \
  }

STORE_VFS_PASS(int, xDelete, (sqlite3_vfs * vfs, const char *name, int sync), (parent, name, sync))
STORE_VFS_PASS(int, xAccess, (sqlite3_vfs * vfs, const char *name, int flags, int *out), (parent, name, flags, out))
STORE_VFS_PASS(int, xFullPathname, (sqlite3_vfs * vfs, const char *name, int n, char *out), (parent, name, n, out))
STORE_VFS_PASS(void *, xDlOpen, (sqlite3_vfs * vfs, const char *name), (parent, name))
STORE_VFS_PASS(int, xRandomness, (sqlite3_vfs * vfs, int n, char *out), (parent, n, out))
STORE_VFS_PASS(int, xSleep, (sqlite3_vfs * vfs, int us), (parent, us))
STORE_VFS_PASS(int, xCurrentTime, (sqlite3_vfs * vfs, double *out), (parent, out))
STORE_VFS_PASS(int, xGetLastError, (sqlite3_vfs * vfs, int n, char *out), (parent, n, out))
STORE_VFS_PASS(int, xCurrentTimeInt64, (sqlite3_vfs * vfs, sqlite3_int64 *out), (parent, out))
#undef STORE_VFS_PASS

static void store_vfs__xDlError(sqlite3_vfs *vfs, int n, char *out)
{
  sqlite3_vfs *parent = store_vfs__parent(vfs);
  parent->xDlError(parent, n, out);
}

static void (*store_vfs__xDlSym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
  sqlite3_vfs *parent = store_vfs__parent(vfs);
  return parent->xDlSym(parent, h, sym);
}

static void store_vfs__xDlClose(sqlite3_vfs *vfs, void *h)
{
  sqlite3_vfs *parent = store_vfs__parent(vfs);
  parent->xDlClose(parent, h);
}

int store_vfs_register(const char *name, const char *parent_name)
{
  sqlite3_vfs *parent = sqlite3_vfs_find(parent_name);
  if (!parent) return -ENOENT;
  if (parent->iVersion < 2) return -ENOENT;
  if (sqlite3_vfs_find(name)) return -EEXIST;
  /* SQLite keeps the VFS (and its name) registered for the life of the process. */
  sqlite3_vfs *vfs = calloc(1, sizeof *vfs);
  char *copy = vfs ? strdup(name) : NULL;
  if (!copy) {
    free(vfs);
    return -ENOMEM;
  }
  *vfs = (sqlite3_vfs){
    .iVersion = 2,
    .szOsFile = (int)(store_vfs__head() + (size_t)parent->szOsFile),
    .mxPathname = parent->mxPathname,
    .zName = copy,
    .pAppData = parent,
    .xOpen = store_vfs__open,
    .xDelete = store_vfs__xDelete,
    .xAccess = store_vfs__xAccess,
    .xFullPathname = store_vfs__xFullPathname,
    .xDlOpen = store_vfs__xDlOpen,
    .xDlError = store_vfs__xDlError,
    .xDlSym = store_vfs__xDlSym,
    .xDlClose = store_vfs__xDlClose,
    .xRandomness = store_vfs__xRandomness,
    .xSleep = store_vfs__xSleep,
    .xCurrentTime = store_vfs__xCurrentTime,
    .xGetLastError = store_vfs__xGetLastError,
    .xCurrentTimeInt64 = store_vfs__xCurrentTimeInt64,
  };
  if (sqlite3_vfs_register(vfs, 0) != SQLITE_OK) {
    free(copy);
    free(vfs);
    return -ENOMEM;
  }
  return 0;
}
