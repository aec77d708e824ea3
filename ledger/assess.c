#include "assess.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task_assign.h"
#include "workcal.h"

#define ASSESS_MAX_GROUPS 64 /* groups one person belongs to */

struct assess__ctx {
  const struct dg_config *cfg;
  enum assess_by by;
  struct assess_row *rows;
  size_t n;
  unsigned *stamp;        /* per group: the event it last counted */
  unsigned tick;
  unsigned char *active;  /* per person: took part */
};

static const char *const assess__sql_tasks =
  "SELECT checker, check_status, evidence, checked_ms, due_ms, measure, assigned_posts, assigned_person,"
  " assigned_by, plan FROM inspection_tasks WHERE due_ms >= ?1 AND due_ms < ?2 AND check_status IS NOT NULL"
  " AND COALESCE(evidence, '') <> 'monitoring'";
static const char *const assess__sql_reported =
  "SELECT reporter FROM hazards WHERE created_ms >= ?1 AND created_ms < ?2 AND reporter IS NOT NULL AND dismissed = 0";
static const char *const assess__sql_rectified =
  "SELECT COALESCE(rectifier, assignee, liable_person), deadline_ms IS NOT NULL AND closed_ms > deadline_ms"
  " FROM hazards WHERE danger_state = 9 AND closed_ms >= ?1 AND closed_ms < ?2";
static const char *const assess__sql_overdue =
  "SELECT COALESCE(assignee, liable_person) FROM hazards WHERE deadline_ms >= ?1 AND deadline_ms < ?2"
  " AND danger_state >= 0 AND dismissed = 0 AND (closed_ms IS NULL OR closed_ms > deadline_ms AND closed_ms >= ?2)";
static const char *const assess__sql_acks =
  "SELECT j.actor, j.ts_ms - (SELECT MAX(k.ts_ms) FROM alarm_journal k WHERE k.alarm_id = j.alarm_id"
  "  AND k.event = 'activate' AND k.ts_ms <= j.ts_ms)"
  " FROM alarm_journal j WHERE j.event = 'ack' AND j.ts_ms >= ?1 AND j.ts_ms < ?2";

static int assess__person_ix(const struct assess__ctx *x, const char *id)
{
  const struct dg_person *p = id ? dg_config_person(x->cfg, id) : NULL;
  return p ? (int)(p - x->cfg->persons) : -1;
}

static bool assess__has(struct dg_person *const *v, size_t n, const struct dg_person *p)
{
  for (size_t i = 0; i < n; i++)
    if (v[i] == p) return true;
  return false;
}

/* The groups person `pi` belongs to. */
static int assess__groups_of(const struct assess__ctx *x, int pi, int *g)
{
  const struct dg_person *p = &x->cfg->persons[pi];
  int n = 0;
  if (x->by == ASSESS_PERSON) g[n++] = pi;
  for (size_t k = 0; x->by == ASSESS_POST && k < x->cfg->n_posts && n < ASSESS_MAX_GROUPS; k++)
    if (assess__has(x->cfg->posts[k].persons, x->cfg->posts[k].n_persons, p)) g[n++] = (int)k;
  for (size_t k = 0; x->by == ASSESS_DEPARTMENT && p->dept && k < x->n; k++)
    if (!strcmp(x->rows[k].id, p->dept)) g[n++] = (int)k;
  return n;
}

/* Counts one event (field at `off`, plus ack_ms) once in each group of the persons (and posts). */
static void assess__count(struct assess__ctx *x, const int *persons, int np, const struct dg_post *const *posts,
                          int nposts, size_t off, int64_t ack_ms, bool participates)
{
  int g[ASSESS_MAX_GROUPS];
  x->tick++;
  for (int i = 0; i < np + nposts; i++) {
    int ng = 0;
    if (i < np) {
      ng = assess__groups_of(x, persons[i], g);
      if (participates) x->active[persons[i]] = 1;
    } else if (x->by == ASSESS_POST) {
      g[ng++] = (int)(posts[i - np] - x->cfg->posts);
    }
    for (int k = 0; k < ng; k++) {
      if (x->stamp[g[k]] == x->tick) continue;
      x->stamp[g[k]] = x->tick;
      (*(int *)((char *)&x->rows[g[k]] + off))++;
      x->rows[g[k]].ack_ms_sum += ack_ms;
    }
  }
}

static sqlite3_stmt *assess__stmt(struct store_conn *c, const char *sql, int64_t from, int64_t to)
{
  sqlite3_stmt *st = store_stmt(c, sql);
  if (!st) return NULL;
  sqlite3_bind_int64(st, 1, from);
  sqlite3_bind_int64(st, 2, to);
  return st;
}

static const char *assess__col(sqlite3_stmt *st, int i) { return (const char *)sqlite3_column_text(st, i); }

static void assess__task(struct assess__ctx *x, sqlite3_stmt *st)
{
  int status = sqlite3_column_int(st, 1);
  const char *ev = assess__col(st, 2);
  int persons[TASK_ASSIGN_MAX_POSTS * 64 + 1], np = 0;
  struct task_assignee a;
  if (assess__col(st, 6) || assess__col(st, 7) || assess__col(st, 8) || assess__col(st, 9))
    task_assign_decode(x->cfg, assess__col(st, 6), assess__col(st, 7), &a);
  else
    task_assign(x->cfg, dg_config_measure(x->cfg, assess__col(st, 5)), &a);
  if (status != 2 && ev && !strcmp(ev, "person")) { /* done: it counts for whoever did it */
    int pi = assess__person_ix(x, assess__col(st, 0));
    if (pi >= 0) persons[np++] = pi;
    size_t off = sqlite3_column_int64(st, 3) <= sqlite3_column_int64(st, 4) ? offsetof(struct assess_row, on_time)
                                                                              : offsetof(struct assess_row, late);
    assess__count(x, persons, np, a.posts, a.n_posts, offsetof(struct assess_row, due), 0, true);
    assess__count(x, persons, np, a.posts, a.n_posts, off, 0, true);
    return;
  }
  if (a.person) persons[np++] = (int)(a.person - x->cfg->persons);
  for (int i = 0; i < a.n_posts; i++)
    for (size_t k = 0; k < a.posts[i]->n_persons && np < (int)(sizeof persons / sizeof persons[0]); k++)
      persons[np++] = (int)(a.posts[i]->persons[k] - x->cfg->persons);
  assess__count(x, persons, np, a.posts, a.n_posts, offsetof(struct assess_row, due), 0, false);
  assess__count(x, persons, np, a.posts, a.n_posts, offsetof(struct assess_row, missed), 0, false);
}

/* Each row of `sql`: column 0 a person, counted at `off` (column 1 chooses `off2` when set). */
static int assess__people(struct assess__ctx *x, struct store_conn *c, const char *sql, int64_t from, int64_t to,
                          size_t off, size_t off2, bool ack)
{
  sqlite3_stmt *st = assess__stmt(c, sql, from, to);
  if (!st) return -EIO;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int pi = assess__person_ix(x, assess__col(st, 0));
    if (pi < 0) continue;
    int64_t v = sqlite3_column_int64(st, 1);
    assess__count(x, &pi, 1, NULL, 0, !ack && v ? off2 : off, ack ? v : 0, off != offsetof(struct assess_row, overdue_open));
  }
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : -EIO;
}

static int assess__groups(struct assess__ctx *x)
{
  const struct dg_config *c = x->cfg;
  size_t cap = x->by == ASSESS_POST ? c->n_posts : c->n_persons;
  x->rows = calloc(cap ? cap : 1, sizeof *x->rows);
  x->stamp = calloc(cap ? cap : 1, sizeof *x->stamp);
  x->active = calloc(c->n_persons ? c->n_persons : 1, 1);
  if (!x->rows || !x->stamp || !x->active) return -ENOMEM;
  for (size_t i = 0; x->by == ASSESS_PERSON && i < c->n_persons; i++)
    x->rows[x->n++] = (struct assess_row){.id = c->persons[i].id, .name = c->persons[i].name, .members = 1};
  for (size_t i = 0; x->by == ASSESS_POST && i < c->n_posts; i++)
    x->rows[x->n++] = (struct assess_row){.id = c->posts[i].id, .name = c->posts[i].name,
                                          .members = (int)c->posts[i].n_persons};
  for (size_t i = 0; x->by == ASSESS_DEPARTMENT && i < c->n_persons; i++) {
    const char *d = c->persons[i].dept;
    size_t k = 0;
    while (d && k < x->n && strcmp(x->rows[k].id, d)) k++;
    if (!d) continue;
    if (k == x->n) x->rows[x->n++] = (struct assess_row){.id = d, .name = d};
    x->rows[k].members++;
  }
  return 0;
}

static double assess__rate(const struct assess_row *r) { return r->due ? (double)r->on_time / r->due : -1; }

static int assess__cmp(const void *pa, const void *pb)
{
  const struct assess_row *a = pa, *b = pb;
  double ra = assess__rate(a), rb = assess__rate(b);
  if (ra != rb) return ra > rb ? -1 : 1;
  if (a->missed != b->missed) return a->missed - b->missed;
  if (a->hazards_reported != b->hazards_reported) return b->hazards_reported - a->hazards_reported;
  return strcmp(a->id, b->id);
}

static void assess__finish(struct assess__ctx *x)
{
  int g[ASSESS_MAX_GROUPS];
  for (size_t p = 0; p < x->cfg->n_persons; p++) {
    if (!x->active[p]) continue;
    int ng = assess__groups_of(x, (int)p, g);
    for (int k = 0; k < ng; k++) x->rows[g[k]].participants++;
  }
  qsort(x->rows, x->n, sizeof *x->rows, assess__cmp);
  for (size_t i = 0; i < x->n; i++) x->rows[i].rank = (int)i + 1;
}

int assess_month(struct store_conn *c, const struct dg_config *cfg, enum assess_by by, int64_t from_ms,
                 int64_t to_ms, struct assess *out)
{
  struct assess__ctx x = {.cfg = cfg, .by = by};
  int rc = assess__groups(&x);
  sqlite3_stmt *st = rc ? NULL : assess__stmt(c, assess__sql_tasks, from_ms, to_ms);
  if (!rc && !st) rc = -EIO;
  while (!rc && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    assess__task(&x, st);
    rc = 0;
  }
  if (st) sqlite3_reset(st);
  if (rc == SQLITE_DONE) rc = 0;
  if (!rc) rc = assess__people(&x, c, assess__sql_reported, from_ms, to_ms, offsetof(struct assess_row, hazards_reported), 0, false);
  if (!rc) rc = assess__people(&x, c, assess__sql_rectified, from_ms, to_ms, offsetof(struct assess_row, rectified_on_time),
                               offsetof(struct assess_row, rectified_overdue), false);
  if (!rc) rc = assess__people(&x, c, assess__sql_overdue, from_ms, to_ms, offsetof(struct assess_row, overdue_open), 0, false);
  if (!rc) rc = assess__people(&x, c, assess__sql_acks, from_ms, to_ms, offsetof(struct assess_row, acks), 0, true);
  if (rc > 0) rc = -EIO;
  if (!rc) assess__finish(&x);
  free(x.stamp);
  free(x.active);
  if (rc) free(x.rows);
  *out = rc ? (struct assess){0} : (struct assess){x.rows, x.n};
  return rc;
}

void assess_free(struct assess *a)
{
  free(a->rows);
  a->rows = NULL;
  a->n = 0;
}

int assess_parse_month(const char *s, int64_t *from_ms, int64_t *to_ms)
{
  int y, m, n = 0;
  if (!s || sscanf(s, "%4d-%2d%n", &y, &m, &n) != 2 || s[n] || n != 7 || y < 1970 || y > 9999 || m < 1 || m > 12)
    return -EINVAL;
  *from_ms = workcal_day_ms(workcal_from_civil(y, m, 1));
  *to_ms = workcal_day_ms(workcal_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1));
  return 0;
}
