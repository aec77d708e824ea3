/* history_read — a point's stored samples, from every place the history database keeps them:
 * sample_rows (rows of earlier schemas and rows inserted by name), sample_blocks and, when asked,
 * the point's slice of the log not yet moved (sample_packs). See history_pack.h.
 * Any thread holding a connection to the history database (the loop's reader attaches it). */
#ifndef DG_HISTORY_READ_H
#define DG_HISTORY_READ_H

#include <stddef.h>
#include <stdint.h>

#include "history_pack.h"
#include "store.h"

/* The newest `limit` samples of the point named `point` with since <= ts_ms <= until, oldest first
 * (samples of one time in the order they were stored), into *out (malloc'd, the caller frees;
 * NULL when none) and *n. with_log: include the log. 0, -ENOMEM, or -EIO. */
int history_read(struct store_conn *c, const char *point, int64_t since, int64_t until, size_t limit, int with_log,
                 struct history_sample **out, size_t *n);

#endif
