/* history — the samples kept in the history database: a point's sample is stored when its value
 * moves beyond the point's deadband (any change without one), when its quality changes, and at
 * least every HISTORY_MAX_INTERVAL_MS while it reports; samples older than
 * HISTORY_RETENTION_MS are pruned hourly. Rows are buffered here and each flush is handed
 * whole to the history database's own writer (store_history), which appends it to the log in
 * one transaction; alarm transitions commit in the main database meanwhile, never behind it.
 * The engine owns the buffer and flushes it on its timer.
 * Memory is bounded: while HISTORY_MAX_BACKLOG_ROWS rows wait for the writer (a slow or stalled
 * disk), further rows are dropped and counted (history is sampled data; alarm transitions never
 * take this path).
 * Loop thread. */
#ifndef DG_HISTORY_H
#define DG_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "sampleq.h"
#include "store.h"

#define HISTORY_MAX_INTERVAL_MS 60000
#define HISTORY_RETENTION_MS (30LL * 86400 * 1000)
/* Rows handed to the writer and not yet committed, at most. */
#define HISTORY_MAX_BACKLOG_ROWS 100000
/* Flushes go to the history database's log, one pack per slice of HISTORY_LOG_SLICES by point id
 * (sample_packs, history_pack.h); each flush also moves one slice into blocks, one per point
 * sorted by time (sample_blocks), found through their move (sample_moves; the (move, point)
 * index grows at its end), and no flush moves more than a slice's share of the log. `samples`
 * and history_read (with the log) see both; readers without the log see a sample at most
 * HISTORY_LOG_SLICES + 2 flushes after it was buffered. Changing the count
 * needs a migration (the slice is stored with each pack, and the views name it). */
#define HISTORY_LOG_SLICES 30

/* A point's last stored sample (kept with the point's runtime state). */
struct history_mark {
  double value;
  int64_t ts_ms;             /* 0: nothing stored yet */
  uint8_t quality;
};

struct history_row;
struct history_ids;

struct history {
  struct store *store;
  struct history_row *rows;  /* buffered, not yet handed to the writer */
  size_t n, cap;
  int64_t last_prune_ms;     /* wall time of the last retention pass */
  uint64_t *stored;          /* the owner's counter of rows written */
  struct history_ids *ids;   /* point_ids of the config last flushed */
  size_t backlog;            /* rows handed to the writer, not yet done */
  unsigned next_slice;       /* the log's slice the next flush moves */
  unsigned quiet_flushes;    /* flushes since the last one with rows */
  unsigned rounds;           /* rounds of the slices moved in this run */
  uint64_t dropped;          /* rows dropped because the backlog was full (also in store_health) */
};

void history_init(struct history *h, struct store *store, uint64_t *stored);
/* Buffers sample s when it is due against mark (then updated); s->point indexes cfg->points. */
void history_add(struct history *h, const struct dg_config *cfg, struct history_mark *mark, const struct dg_sample *s);
/* Hands the buffered rows to the writer (point ids borrowed from cfg, which must outlive the
 * jobs), and a retention pass when the last one is an hour old. Rows are keyed by integer
 * point id (table point_ids): the first flush under a config registers its points. */
void history_flush(struct history *h, const struct dg_config *cfg);
void history_free(struct history *h);

#endif
