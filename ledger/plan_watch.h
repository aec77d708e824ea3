/* plan_watch — creates the tasks of the inspection plans (plan.h) whose period contains now,
 * with the plan's assignees stored (task_assign.h). Loop thread; called by ledger_watch at start
 * and every minute. A task is created once (one row per plan and start); a plan whose period
 * passed while the daemon was down gets no task for it. */
#ifndef DG_PLAN_WATCH_H
#define DG_PLAN_WATCH_H

#include <stdint.h>

struct engine;

/* Queues the missing tasks: how many (0 none), or negative errno. */
int plan_watch_tasks(struct engine *e, int64_t now_ms);

#endif
