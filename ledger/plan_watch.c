#include "plan_watch.h"

#include <errno.h>
#include <stdlib.h>

#include "engine.h"
#include "inspect.h"
#include "log.h"
#include "plan.h"
#include "store.h"

struct plan_watch__task {
  const struct dg_plan *p; /* borrowed from the config, which outlives store jobs */
  char key[160];
  int64_t start_ms, due_ms;
};

struct plan_watch__job {
  struct plan_watch__task *t;
  size_t n;
};

static const char *const plan_watch__sql_has =
  "SELECT 1 FROM inspection_tasks WHERE measure = ?1 AND start_ms = ?2";
static const char *const plan_watch__sql_insert =
  "INSERT OR IGNORE INTO inspection_tasks (measure, unit, hazard_source, check_cycle, check_cycle_unit, start_ms,"
  " due_ms, data_src, assigned_posts, assigned_person, plan) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 2, ?8, ?9, ?10)";

static int plan_watch__work(struct store_conn *c, void *arg)
{
  struct plan_watch__job *j = arg;
  for (size_t i = 0; i < j->n; i++) {
    const struct plan_watch__task *t = &j->t[i];
    const struct dg_plan *p = t->p;
    sqlite3_stmt *st = store_stmt(c, plan_watch__sql_insert);
    if (!st) return SQLITE_ERROR;
    sqlite3_bind_text(st, 1, t->key, -1, SQLITE_STATIC);
    store_bind_text(st, 2, p->unit ? p->unit->id : NULL);
    store_bind_text(st, 3, p->unit && p->unit->source ? p->unit->source->id : NULL);
    sqlite3_bind_int(st, 4, p->cycle_n ? p->cycle_n : 1);
    store_bind_text(st, 5, p->cycle_n ? inspect_unit_zh((enum inspect_unit)p->cycle_unit) : "次");
    sqlite3_bind_int64(st, 6, t->start_ms);
    sqlite3_bind_int64(st, 7, t->due_ms);
    store_bind_text(st, 8, p->post ? p->post->id : NULL);
    store_bind_text(st, 9, p->person ? p->person->id : NULL);
    store_bind_text(st, 10, p->id);
    int rc = store_step_done(st);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

static void plan_watch__done(void *arg, int rc)
{
  struct plan_watch__job *j = arg;
  if (rc) DG_LOG_RL(DG_LOG_ERR, "ledger", "%zu plan inspection task(s) not created (rc %d)", j->n, rc);
  else DG_INFO("ledger", "%zu plan inspection task(s) created", j->n);
  free(j->t);
  free(j);
}

/* 1 when the plan's current task is missing (filled *t), 0, or negative. */
static int plan_watch__due(struct engine *e, const struct dg_plan *p, int64_t now_ms, struct plan_watch__task *t)
{
  if (!plan_current(p, &e->cfg->calendar, now_ms, &t->start_ms, &t->due_ms)) return 0;
  if (!plan_task_key(p, t->key, sizeof t->key)) return 0;
  t->p = p;
  sqlite3_stmt *st = store_stmt(store_reader(e->store), plan_watch__sql_has);
  if (!st) return -EIO;
  sqlite3_bind_text(st, 1, t->key, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, t->start_ms);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 1 : rc == SQLITE_ROW ? 0 : -EIO;
}

int plan_watch_tasks(struct engine *e, int64_t now_ms)
{
  const struct dg_config *cfg = e->cfg;
  if (!cfg->n_plans) return 0;
  struct plan_watch__job *j = calloc(1, sizeof *j);
  if (j) j->t = calloc(cfg->n_plans, sizeof *j->t);
  int rc = j && j->t ? 0 : -ENOMEM;
  for (size_t i = 0; !rc && i < cfg->n_plans; i++) {
    int due = plan_watch__due(e, &cfg->plans[i], now_ms, &j->t[j->n]);
    if (due < 0) rc = due;
    else j->n += (size_t)due;
  }
  if (!rc && j->n && !(rc = store_submit(e->store, plan_watch__work, plan_watch__done, j))) return (int)j->n;
  if (j) free(j->t);
  free(j);
  return rc;
}
