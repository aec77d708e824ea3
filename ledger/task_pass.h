/* task_pass — the inspection task (排查任务) of the current period, created for each measure
 * that does not have it yet.
 *
 * A pass walks the measures of the configuration in force; for each one task_cache does not
 * know, it asks the reader whether the task of the period containing now exists (inspect.h:
 * the measure's check_cycle, else the cycle by the level of its event; periods counted from
 * the first task of the measure's current cycle, starting at local midnight; a changed cycle
 * starts that day, or the next when that day has a task of the old one; with work_days trimmed
 * to the site calendar's work days, no task on a day off). The missing tasks are committed in
 * one normal-lane job, and remembered once committed.
 *
 * task_pass_run does a whole pass at once; task_pass_start (the ledger watch's minute timer)
 * does TASK_PASS_SLICE measures per loop turn, so the first pass of a large plant never holds
 * the loop for long, and starts again when another configuration is put in force meanwhile.
 *
 * Owned by the ledger watch; loop thread only. The engine's config, store and generation are
 * read at each pass. */
#ifndef DG_TASK_PASS_H
#define DG_TASK_PASS_H

#include <stdint.h>

#include "engine.h"

#define TASK_PASS_SLICE 1000 /* measures checked per loop turn by task_pass_start */

struct task_pass;

int task_pass_open(struct task_pass **out, struct engine *e);
/* Stops a pass under way; freed once its handle has closed (the loop must run). NULL is accepted. */
void task_pass_close(struct task_pass *p);

/* A whole pass: how many tasks were submitted, or a negative errno. */
int task_pass_run(struct task_pass *p, int64_t now_ms);
/* A pass in slices, one per loop turn; nothing when one is under way. */
void task_pass_start(struct task_pass *p, int64_t now_ms);

#endif
