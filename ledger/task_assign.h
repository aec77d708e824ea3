/* task_assign — who carries out a measure's inspection tasks (排查任务分配), from the plant model.
 *
 * By the measure's control level (管控层级): 岗位 tasks go to the posts whose events include the
 * measure's event (their persons and deputies); at every level the task also goes to the
 * measure's responsible person. A task with neither is unassigned: anyone who may complete
 * inspections does (so a model without posts or responsible persons works as before). A higher
 * role is no stand-in for an assignee.
 *
 * Pure functions over a read-only config. The assignment is worked out when a task is created and
 * stored with it (task_assign_encode: post ids; the person's id), and may be overridden per task;
 * task_assign_decode reads it back against the config in force. Only an assignee or a deputy
 * completes an assigned task: a person of an assigned post or a deputy of it, the assigned person
 * or a deputy of a post that person belongs to. */
#ifndef DG_TASK_ASSIGN_H
#define DG_TASK_ASSIGN_H

#include <stdbool.h>

#include "model.h"

#define TASK_ASSIGN_MAX_POSTS 8

struct task_assignee {
  const struct dg_post *posts[TASK_ASSIGN_MAX_POSTS]; /* 岗位 level: the posts facing the event */
  int n_posts;
  const struct dg_person *person;                     /* responsible person, or NULL */
};

/* The assignees of measure `m`'s tasks (none if `m` is NULL). */
void task_assign(const struct dg_config *c, const struct dg_measure *m, struct task_assignee *a);
bool task_assign_none(const struct task_assignee *a);

/* Whether `p` is an assignee: the person, or a person or deputy of one of the posts. */
bool task_assign_is_mine(const struct task_assignee *a, const struct dg_person *p);

/* Whether `p` may complete the task: `p`'s roles must allow completing inspections at all, and
 * `p` is an assignee or a deputy (task_assign_is_mine), or the task is unassigned. */
bool task_assign_may_complete(const struct task_assignee *a, const struct dg_config *c, const struct dg_person *p);

/* The posts as space-separated ids into buf (empty: none); -ENOSPC if they do not fit. */
int task_assign_encode(const struct task_assignee *a, char *buf, size_t len);
/* The stored assignment (either may be NULL) read against `c`: unknown ids are left out. */
void task_assign_decode(const struct dg_config *c, const char *posts, const char *person, struct task_assignee *a);
/* Whether `p` stands in for person `q`: a deputy of a post q belongs to. */
bool task_assign_is_deputy_of(const struct dg_config *c, const struct dg_person *p, const struct dg_person *q);

#endif
