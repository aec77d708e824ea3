#include "task_assign.h"

#include <errno.h>
#include <stdio.h>
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

bool task_assign_is_deputy_of(const struct dg_config *c, const struct dg_person *p, const struct dg_person *q)
{
  for (size_t i = 0; p && q && i < c->n_posts; i++)
    if (task_assign__in(c->posts[i].persons, c->posts[i].n_persons, q) &&
        task_assign__in(c->posts[i].deputies, c->posts[i].n_deputies, p))
      return true;
  return false;
}

bool task_assign_may_complete(const struct task_assignee *a, const struct dg_config *c, const struct dg_person *p)
{
  if (!p || !(hazard_rights(p->roles, p->n_roles) & HAZARD_RIGHT_REPORT)) return false;
  return task_assign_none(a) || task_assign_is_mine(a, p) || task_assign_is_deputy_of(c, p, a->person);
}

int task_assign_encode(const struct task_assignee *a, char *buf, size_t len)
{
  size_t n = 0;
  if (len) buf[0] = 0;
  for (int i = 0; i < a->n_posts; i++) {
    int w = snprintf(buf + n, len - n, "%s%s", n ? " " : "", a->posts[i]->id);
    if (w < 0 || (size_t)w >= len - n) return -ENOSPC;
    n += (size_t)w;
  }
  return 0;
}

void task_assign_decode(const struct dg_config *c, const char *posts, const char *person, struct task_assignee *a)
{
  memset(a, 0, sizeof *a);
  a->person = person ? dg_config_person(c, person) : NULL;
  for (const char *s = posts; s && *s && a->n_posts < TASK_ASSIGN_MAX_POSTS;) {
    size_t k = strcspn(s, " ");
    char id[128];
    if (k && k < sizeof id) {
      memcpy(id, s, k);
      id[k] = 0;
      const struct dg_post *p = dg_config_post(c, id);
      if (p) a->posts[a->n_posts++] = p;
    }
    s += k + (s[k] == ' ');
  }
}
