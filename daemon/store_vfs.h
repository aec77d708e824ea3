/* store_vfs — the writers' SQLite VFS: a WAL transaction's frames in one write.
 *
 * SQLite writes each WAL frame as two writes, its 24-byte header then its page, so a transaction
 * of n pages costs 2n system calls before its fsync. This VFS wraps another (the default) and
 * gathers the frames a connection appends to its WAL in a buffer, written as one `pwrite` when
 * the transaction's commit frame is complete, and before anything that could see the file
 * otherwise: a read or sync of the WAL, its size, its truncation, its close, the release of the
 * connection's WAL locks. A commit's frames are therefore in the file before SQLite publishes
 * the commit to other connections (its wal-index header) and before its fsync, and an error
 * writing them fails the commit like a failed write would. Other files pass straight through.
 *
 * Any thread, once (SQLite keeps the VFS for the life of the process). */
#ifndef DG_STORE_VFS_H
#define DG_STORE_VFS_H

#define STORE_VFS_NAME "dg-wal"

/* Registers a VFS called `name` over `parent` (NULL: the default VFS), not as the default.
 * 0, -ENOENT (no such parent), -EEXIST (name taken) or -ENOMEM. */
int store_vfs_register(const char *name, const char *parent);

#endif
