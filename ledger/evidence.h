/* evidence — monitoring evidence for inspection tasks of automatically monitored measures
 * (dataSrc = 1): the monitoring itself stands for the check when the period is over.
 *
 * The period [start, due) is judged from the database alone (durable across restarts):
 *   1 存在隐患  an alarm of a rule bound to the measure was active in the period, or a hazard of
 *              the measure (not a report awaiting review) was open in it (hazard_id: the latest
 *              such hazard, 0 if none);
 *   0 正常      else every point the measure's rules read had good quality throughout and
 *              reported: its last sample at or before start is good, no sample in the period
 *              has a bad quality, and no stretch of the period went without a stored sample for
 *              longer than the point's stale-rule timeout (EVIDENCE_MAX_GAP_MS without one; the
 *              engine stores a sample at least every minute while data arrives, so a longer gap
 *              means a silent device or a daemon that was not running);
 *   2 未排查    else (no monitored point, no data at the period start, bad quality, history of
 *              the period no longer kept), with the reason in the note.
 * Samples older than the history retention are pruned: the quality is judged over the part of
 * the period from kept_from_ms on (the instant after which history is surely complete).
 * Reads use the caller's connection (the store's read lane, ledger_watch) and cached prepared
 * statements; the configuration must stay in force meanwhile. */
#ifndef DG_EVIDENCE_H
#define DG_EVIDENCE_H

#include <stdint.h>

#include "model.h"
#include "store.h"

#define EVIDENCE_MAX_GAP_MS (10 * 60 * 1000)

struct evidence_verdict {
  int check_status;  /* 0, 1 or 2 */
  int64_t hazard_id; /* 0: none */
  char note[512];    /* zh-CN / English */
};

/* 0 (filled *v) or negative errno on a database error. */
int evidence_judge(struct store_conn *c, const struct dg_config *cfg, const struct dg_measure *m, int64_t start_ms,
                   int64_t due_ms, int64_t kept_from_ms, struct evidence_verdict *v);

#endif
