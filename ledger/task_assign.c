#include "task_assign.h"

#include <string.h>

#include "hazard_flow.h"

static bool task_assign__faces(const struct dg_post *p, const struct dg_event *e)
{
  for (size_t i = 0; i < p->n_events; i++)
    if (p->events[i] == e) return true;
  return false;
}

void task_assign(const struct dg_config *c, const struct dg_measure *m, struct task_assignee *a)
{
  memset(a, 0, sizeof *a);
  if (!m) return;
  if (m->control_level && !strcmp(m->control_level, "岗位"))
    for (size_t i = 0; i < c->n_posts && a->n_posts < TASK_ASSIGN_MAX_POSTS; i++)
      if (task_assign__faces(&c->posts[i], m->event)) a->posts[a->n_posts++] = &c->posts[i];
  a->person = dg_config_person(c, m->resp_person);
}

bool task_assign_none(const struct task_assignee *a) { return !a->n_posts && !a->person; }

static bool task_assign__in(struct dg_person *const *v, size_t n, const struct dg_person *p)
{
  for (size_t i = 0; i < n; i++)
    if (v[i] == p) return true;
  return false;
}

bool task_assign_is_mine(const struct task_assignee *a, const struct dg_person *p)
{
  if (!p) return false;
  if (a->person == p) return true;
  for (int i = 0; i < a->n_posts; i++)
    if (task_assign__in(a->posts[i]->persons, a->posts[i]->n_persons, p) ||
        task_assign__in(a->posts[i]->deputies, a->posts[i]->n_deputies, p))
      return true;
  return false;
}

static int task_assign__rank(const struct dg_person *p)
{
  return p ? __builtin_popcount(hazard_rights(p->roles, p->n_roles)) : 0;
}

/* The highest rank among the assignees (deputies act for the post's persons, so they do not count). */
static int task_assign__top_rank(const struct task_assignee *a)
{
  int top = task_assign__rank(a->person);
  for (int i = 0; i < a->n_posts; i++)
    for (size_t k = 0; k < a->posts[i]->n_persons; k++) {
      int r = task_assign__rank(a->posts[i]->persons[k]);
      if (r > top) top = r;
    }
  return top;
}

bool task_assign_may_complete(const struct task_assignee *a, const struct dg_person *p)
{
  if (!p || !(hazard_rights(p->roles, p->n_roles) & HAZARD_RIGHT_REPORT)) return false;
  return task_assign_none(a) || task_assign_is_mine(a, p) || task_assign__rank(p) > task_assign__top_rank(a);
}
