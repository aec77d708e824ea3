/* store_history — the history database kept beside the main one (`<db>-history`): sampled
 * values are written there by their own writer thread, so their commits never hold an alarm
 * transition back, and the transition's fsync never carries their pages. Internal to the store
 * module (store.c opens it; callers use store_history()); plain SQLite, no store of its own. */
#ifndef DG_STORE_HISTORY_H
#define DG_STORE_HISTORY_H

#include <sqlite3.h>
#include <stddef.h>

#define STORE_HISTORY_SUFFIX "-history"

/* The history database's migrations (store_migrations' counterpart). */
extern const char *const store_history_migrations[];
extern const unsigned store_history_n_migrations;

/* `<db>-history` into out. 0, -EINVAL for a "file:" URI, -ENAMETOOLONG. */
int store_history_path(const char *db, char *out, size_t len);

/* Attaches the history database to connection db as schema "history"; its tables and the
 * `samples` view then answer unqualified names (the main schema has none of them). */
int store_history_attach(sqlite3 *db, const char *history_path);

/* Once, after the main schema renamed the history an older version kept in the main database
 * to history_carry_rows/history_carry_ids: copies those rows into the history database (ids
 * and rowids kept, so running it again after a crash copies nothing twice). 1 when the main
 * database's copies are then to be dropped (by a job of the main store), 0 when there are
 * none, or negative with err saying why (logged; the rows stay where they are). */
int store_history_carry(const char *db_path, const char *history_path, char *err, size_t errlen);

#endif
