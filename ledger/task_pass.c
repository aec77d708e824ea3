#include "task_pass.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "inspect.h"
#include "log.h"
#include "task_assign.h"
#include "task_cache.h"

struct task_pass {
  struct engine *e;
  struct task_cache tasks;     /* measures whose task of the current period exists */
  uv_idle_t idle;              /* runs the next slice of the timer's pass */
  struct task_pass__job *pass; /* the timer's pass under way, NULL when none */
};

struct task_pass__task {
  const struct dg_measure *m;   /* borrowed from the config, which outlives store jobs */
  int data_src;
  struct inspect_cycle cycle;
  int64_t start_ms, due_ms;
  char *posts;                  /* the assignment stored with the task (task_assign.h), NULL none; owned */
  const char *person;
  size_t index;                 /* the measure's number in the pass (task_cache) */
  uint64_t key;
};

struct task_pass__job {
  struct task_pass__task *t;
  size_t n, cap;
  struct task_pass *p;
  const struct dg_config *cfg;  /* in force when the pass ran, and its generation */
  uint64_t generation;
  int64_t now_ms;
  size_t s, u, e, k, i;         /* where the pass goes on: source, unit, event, measure; its number */
};

/* The anchor of the measure's current cycle (?2 ?3): the first task of the latest run of tasks
 * with that cycle, NULL when the last task had another cycle or there is none; and the start of
 * the latest task. */
static const char *const task_pass__sql_span =
  "SELECT (SELECT MIN(start_ms) FROM inspection_tasks WHERE measure = ?1 AND check_cycle = ?2"
  "   AND check_cycle_unit = ?3 AND start_ms > COALESCE((SELECT MAX(start_ms) FROM inspection_tasks"
  "   WHERE measure = ?1 AND (check_cycle <> ?2 OR check_cycle_unit <> ?3)), -1)),"
  " (SELECT MAX(start_ms) FROM inspection_tasks WHERE measure = ?1)";
static const char *const task_pass__sql_insert =
  "INSERT OR IGNORE INTO inspection_tasks (measure, event, unit, hazard_source, check_cycle, check_cycle_unit,"
  " start_ms, due_ms, data_src, assigned_posts, assigned_person) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

static int task_pass__work(struct store_conn *c, void *arg)
{
  struct task_pass__job *j = arg;
  for (size_t i = 0; i < j->n; i++) {
    const struct task_pass__task *t = &j->t[i];
    const struct dg_unit *u = t->m->event->unit;
    sqlite3_stmt *st = store_stmt(c, task_pass__sql_insert);
    if (!st) return SQLITE_ERROR;
    sqlite3_bind_text(st, 1, t->m->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, t->m->event->id, -1, SQLITE_STATIC);
    if (u) sqlite3_bind_text(st, 3, u->id, -1, SQLITE_STATIC);
    if (u && u->source) sqlite3_bind_text(st, 4, u->source->id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, t->cycle.n);
    sqlite3_bind_text(st, 6, inspect_unit_zh(t->cycle.unit), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, t->start_ms);
    sqlite3_bind_int64(st, 8, t->due_ms);
    sqlite3_bind_int(st, 9, t->data_src);
    store_bind_text(st, 10, t->posts);
    store_bind_text(st, 11, t->person);
    int rc = store_step_done(st);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

static void task_pass__job_free(struct task_pass__job *j)
{
  for (size_t i = 0; j && i < j->n; i++) free(j->t[i].posts);
  if (j) free(j->t);
  free(j);
}

static void task_pass__done(void *arg, int rc)
{
  struct task_pass__job *j = arg;
  if (rc) DG_LOG_RL(DG_LOG_ERR, "ledger", "%zu inspection task(s) not created (rc %d)", j->n, rc);
  else DG_INFO("ledger", "%zu inspection task(s) created", j->n);
  struct task_cache *cache = &j->p->tasks;
  for (size_t i = 0; !rc && cache->cfg == j->cfg && cache->generation == j->generation && i < j->n; i++)
    task_cache_set(cache, j->t[i].index, j->t[i].key, j->t[i].due_ms);
  task_pass__job_free(j);
}

/* The task of the current period for m if it is missing: 1 (filled *t), 0, or negative. When it
 * exists, *exists_until is the end of its period (else 0). */
static int task_pass__due(struct task_pass *p, const struct dg_measure *m, int64_t now_ms, struct task_pass__task *t,
                          int64_t *exists_until)
{
  *exists_until = 0;
  sqlite3_stmt *st = store_stmt(store_reader(p->e->store), task_pass__sql_span);
  if (!st) return -EIO;
  t->cycle = inspect_measure_cycle(m);
  sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, t->cycle.n);
  sqlite3_bind_text(st, 3, inspect_unit_zh(t->cycle.unit), -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_ROW) {
    sqlite3_reset(st);
    return -EIO;
  }
  int has_anchor = sqlite3_column_type(st, 0) != SQLITE_NULL, has_tasks = sqlite3_column_type(st, 1) != SQLITE_NULL;
  int64_t anchor = has_anchor ? sqlite3_column_int64(st, 0) : inspect_day_start(now_ms);
  int64_t last = has_tasks ? sqlite3_column_int64(st, 1) : INT64_MIN;
  sqlite3_reset(st);
  /* A new cycle starts today, or tomorrow when today already has a task of the old one. */
  if (!has_anchor && anchor <= last) anchor = inspect_add(anchor, (struct inspect_cycle){1, INSPECT_DAY}, 1);
  t->m = m;
  t->data_src = m->data_src;
  const struct dg_calendar *cal = m->work_days ? &p->e->cfg->calendar : NULL;
  if (!inspect_period_workdays(anchor, t->cycle, cal, now_ms, &t->start_ms, &t->due_ms)) return 0;
  if (t->start_ms <= last) {
    *exists_until = t->due_ms;
    return 0;
  }
  struct task_assignee a;
  task_assign(p->e->cfg, m, &a);
  char posts[256];
  if (task_assign_encode(&a, posts, sizeof posts)) posts[0] = 0; /* too many: the person alone */
  t->posts = NULL;
  if (posts[0] && !(t->posts = strdup(posts))) return -ENOMEM;
  t->person = a.person ? a.person->id : NULL;
  return 1;
}

/* Whether m (the i'th measure of the pass) needs its task of the period: adds it to j. A
 * measure whose task is known to exist costs no query until its period ends. 0 or negative. */
static int task_pass__check(struct task_pass *p, const struct dg_measure *m, size_t i, struct task_pass__job *j)
{
  uint64_t key = task_cache_key(m);
  if (task_cache_quiet(&p->tasks, i, key, j->now_ms)) return 0;
  int rc = dg_array_reserve(&j->t, j->n, &j->cap, sizeof *j->t);
  int64_t exists_until = 0;
  int due = rc ? rc : task_pass__due(p, m, j->now_ms, &j->t[j->n], &exists_until);
  if (due < 0) return due;
  if (due) {
    j->t[j->n].index = i;
    j->t[j->n++].key = key;
  }
  if (exists_until) task_cache_set(&p->tasks, i, key, exists_until);
  return 0;
}

/* Checks up to `limit` more measures of j's pass, from where it stopped: 1 when every measure has
 * been checked, 0 when some remain, or negative. */
static int task_pass__step(struct task_pass *p, struct task_pass__job *j, size_t limit)
{
  const struct dg_config *cfg = j->cfg;
  for (; j->s < cfg->n_sources; j->s++, j->u = 0)
    for (; j->u < cfg->sources[j->s].n_units; j->u++, j->e = 0)
      for (; j->e < cfg->sources[j->s].units[j->u].n_events; j->e++, j->k = 0) {
        const struct dg_event *ev = &cfg->sources[j->s].units[j->u].events[j->e];
        for (; j->k < ev->n_measures; j->k++, j->i++) {
          if (!limit--) return 0;
          int rc = task_pass__check(p, &ev->measures[j->k], j->i, j);
          if (rc) return rc;
        }
      }
  return 1;
}

/* Commits the tasks the pass found missing (taking j): how many, or negative. */
static int task_pass__submit(struct task_pass *p, struct task_pass__job *j)
{
  int n = (int)j->n, rc = 0;
  if (!n) task_pass__job_free(j);
  else if ((rc = store_submit(p->e->store, task_pass__work, task_pass__done, j)))
    task_pass__job_free(j);
  return rc ? rc : n;
}

static struct task_pass__job *task_pass__begin(struct task_pass *p, int64_t now_ms)
{
  struct task_pass__job *j = calloc(1, sizeof *j);
  task_cache_follow(&p->tasks, p->e->cfg, p->e->config_generation);
  if (j)
    *j = (struct task_pass__job){.p = p, .cfg = p->e->cfg, .generation = p->e->config_generation,
                                         .now_ms = now_ms};
  return j;
}

int task_pass_run(struct task_pass *p, int64_t now_ms)
{
  struct task_pass__job *j = task_pass__begin(p, now_ms);
  int rc = j ? task_pass__step(p, j, SIZE_MAX) : -ENOMEM;
  if (rc < 0) {
    task_pass__job_free(j);
    return rc;
  }
  return task_pass__submit(p, j);
}

/* One turn of the timer's pass: TASK_PASS_SLICE measures. A configuration put in force
 * meanwhile starts the pass again on it. */
static void task_pass__slice(uv_idle_t *h)
{
  struct task_pass *p = h->data;
  struct task_pass__job *j = p->pass;
  if (j->cfg != p->e->cfg || j->generation != p->e->config_generation) {
    int64_t now_ms = j->now_ms;
    task_pass__job_free(j);
    if (!(j = p->pass = task_pass__begin(p, now_ms))) {
      uv_idle_stop(h);
      return;
    }
  }
  int rc = task_pass__step(p, j, TASK_PASS_SLICE);
  if (rc == 0) return;
  uv_idle_stop(h);
  p->pass = NULL;
  if (rc > 0) rc = task_pass__submit(p, j);
  else task_pass__job_free(j);
  if (rc < 0) DG_LOG_RL(DG_LOG_ERR, "ledger", "inspection task generation failed (%d)", rc);
}

void task_pass_start(struct task_pass *p, int64_t now_ms)
{
  if (p->pass) return; /* the last one is still going */
  if (!(p->pass = task_pass__begin(p, now_ms))) return;
  uv_idle_start(&p->idle, task_pass__slice);
}

/* ---- lifecycle -------------------------------------------------------------------------------- */

int task_pass_open(struct task_pass **out, struct engine *e)
{
  struct task_pass *p = calloc(1, sizeof *p);
  if (!p) return -ENOMEM;
  p->e = e;
  uv_idle_init(e->loop, &p->idle);
  p->idle.data = p;
  *out = p;
  return 0;
}

static void task_pass__closed(uv_handle_t *h)
{
  struct task_pass *p = h->data;
  task_cache_free(&p->tasks);
  task_pass__job_free(p->pass);
  free(p);
}

void task_pass_close(struct task_pass *p)
{
  if (!p) return;
  uv_idle_stop(&p->idle);
  uv_close((uv_handle_t *)&p->idle, task_pass__closed);
}
