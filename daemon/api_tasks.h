/* api_tasks — what inspection tasks add to the ledger API (api_ledger.c lists and completes them):
 * the assignment stored with each task, read back and shown; the checklist of a plan task and
 * its per-item results; and the routes POST /api/v1/inspections/{id}/assign (override a task's
 * assignment, role workshop_director and above) and GET /api/v1/inspection-plans (the plans in
 * force with their next tasks). Loop thread. */
#ifndef DG_API_TASKS_H
#define DG_API_TASKS_H

#include "api_req.h"
#include "task_assign.h"

/* The stored assignment of a task row (columns as named); a task without any (created before
 * assignments were stored) is assigned by its measure in the model in force. */
struct api_task_row {
  const char *measure, *posts, *person, *by, *plan;
};
void api_task_assignment(const struct dg_config *c, const struct api_task_row *r, struct task_assignee *a);

/* {"posts": [...], "person": id|null, "by": id|null (null: by the control level / plan), "ms"}. */
cJSON *api_task_assigned_json(const struct task_assignee *a, const char *by, int64_t by_ms);

/* The plan of a plan task with its checklist and, once done, the results (items_json, stored). */
cJSON *api_task_plan_json(const struct dg_config *c, const char *plan_id, const char *items_json);

/* 0 when `p` may complete the task, else -1 with a 403 naming the assignees (zh and en). */
int api_task_may_complete(const struct dg_config *c, const struct task_assignee *a, const struct dg_person *p,
                          long long id, struct http_response *resp);

/* A plan task's body "items": one result per checklist item ({"result": 0 正常 | 1 存在隐患 | 3 其他,
 * "note"}), in order. Fills *items (JSON, malloc'd), *status (1 if any item found a hazard, else 3
 * if any is 其他, else 0) and `findings` (the items that found one). 0, or -1 answered 400. */
int api_task_items(const struct dg_plan *p, const cJSON *body, char **items, int *status, char *findings,
                   size_t len, struct http_response *resp);

struct api_routes tasks_api_routes(void);

#endif
