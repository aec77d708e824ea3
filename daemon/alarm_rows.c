#include "alarm_rows.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const struct dg_config *alarm_rows__sort_cfg;
static int alarm_rows__cmp_rule(const void *a, const void *b)
{
  const struct dg_rule *rules = alarm_rows__sort_cfg->rules;
  return strcmp(rules[*(const uint32_t *)a].id, rules[*(const uint32_t *)b].id);
}

uint32_t *alarm_rows_rule_index(const struct dg_config *cfg)
{
  uint32_t *idx = malloc((cfg->n_rules ? cfg->n_rules : 1) * sizeof *idx);
  if (!idx) return NULL;
  for (size_t i = 0; i < cfg->n_rules; i++) idx[i] = (uint32_t)i;
  alarm_rows__sort_cfg = cfg; /* loop thread only: qsort has no user pointer */
  qsort(idx, cfg->n_rules, sizeof *idx, alarm_rows__cmp_rule);
  return idx;
}

const struct dg_rule *alarm_rows_find_rule(const struct dg_config *cfg, const uint32_t *idx, const char *id)
{
  size_t lo = 0, hi = cfg->n_rules;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(cfg->rules[idx[mid]].id, id);
    if (c == 0) return &cfg->rules[idx[mid]];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

static int alarm_rows__stage_by_name(const struct dg_rule *r, const char *name)
{
  for (size_t i = 0; name && i < r->n_stages; i++)
    if (strcmp(r->stages[i].name, name) == 0) return (int)i;
  return -1;
}

static const char *const alarm_rows__sql_ensure =
  "INSERT INTO alarms (rule, point, measure, updated_ms) VALUES (?1, ?2, ?3, ?4)"
  " ON CONFLICT(rule) DO UPDATE SET point = excluded.point, measure = excluded.measure"
  " WHERE point IS NOT excluded.point OR measure IS NOT excluded.measure"; /* unchanged rows stay unwritten */
static const char *const alarm_rows__sql_load =
  "SELECT id, rule, state, stage, priority, value, first_active_ms, last_active_ms, cleared_ms, ack_user,"
  " ack_comment, ack_ms, activations, shelved_until_ms, shelve_reason FROM alarms";
static const char *const alarm_rows__sql_current = "SELECT rule, point, measure FROM alarms";
static const char *const alarm_rows__sql_next_journal = "SELECT COALESCE(MAX(id), 0) + 1 FROM alarm_journal";

static bool alarm_rows__same(const unsigned char *col, const char *id)
{
  return col ? id && !strcmp((const char *)col, id) : !id;
}

/* Marks in `current` the rules whose row exists with their point and measure: most of them at
 * a start on a populated database, where reading the rows costs far less than upserting. */
static int alarm_rows__current(struct store_conn *c, const struct alarm_rows_job *job, uint8_t *current)
{
  sqlite3_stmt *st = store_stmt(c, alarm_rows__sql_current);
  if (!st) return SQLITE_ERROR;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const struct dg_rule *r = alarm_rows_find_rule(job->cfg, job->idx, (const char *)sqlite3_column_text(st, 0));
    if (r && alarm_rows__same(sqlite3_column_text(st, 1), r->point->id) &&
        alarm_rows__same(sqlite3_column_text(st, 2), r->measure ? r->measure->id : NULL))
      current[r->index] = 1;
  }
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int alarm_rows__ensure_work(struct store_conn *c, void *arg)
{
  const struct alarm_rows_job *job = arg;
  const struct dg_config *cfg = job->cfg;
  int64_t now = dg_wall_ms();
  uint8_t *current = calloc(cfg->n_rules + 1, 1);
  int rc = current ? alarm_rows__current(c, job, current) : SQLITE_NOMEM;
  for (size_t i = 0; rc == SQLITE_OK && i < cfg->n_rules; i++) {
    const struct dg_rule *r = &cfg->rules[i];
    if (current[i]) continue;
    sqlite3_stmt *st = store_stmt(c, alarm_rows__sql_ensure);
    if (!st) {
      rc = SQLITE_ERROR;
      break;
    }
    sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->point->id, -1, SQLITE_STATIC);
    if (r->measure) sqlite3_bind_text(st, 3, r->measure->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
  }
  free(current);
  return rc;
}

static void alarm_rows__ensure_done(void *arg, int rc)
{
  struct alarm_rows_job *job = arg;
  job->rc = rc;
  job->done = true;
}

static char *alarm_rows__col_dup(sqlite3_stmt *st, int i)
{
  const unsigned char *s = sqlite3_column_text(st, i);
  return s ? strdup((const char *)s) : NULL;
}

/* Restores one alarm row: its id always, its state only when `fresh` (the rule has no state
 * carried over in memory). */
static void alarm_rows__restore_row(struct alarm *alarms, struct rule_state *rules, const struct dg_rule *r,
                                    sqlite3_stmt *st, int fresh)
{
  struct alarm *a = &alarms[r->index];
  a->id = sqlite3_column_int64(st, 0);
  if (!fresh) return;
  int state = alarm_state_parse((const char *)sqlite3_column_text(st, 2));
  int stage = alarm_rows__stage_by_name(r, (const char *)sqlite3_column_text(st, 3));
  a->state = state < 0 ? ALARM_NORMAL : (enum alarm_state)state;
  a->stage = alarm_state_may_be_active(a->state) ? stage : -1;
  if ((a->state == ALARM_UNACK || a->state == ALARM_ACKED) && stage < 0)
    a->state = ALARM_NORMAL; /* stage no longer configured */
  int prio = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : dg_priority_parse((const char *)sqlite3_column_text(st, 4));
  a->priority = prio < 0 ? DG_PRIO_NONE : (enum dg_priority)prio;
  a->value = sqlite3_column_double(st, 5);
  a->first_active_ms = sqlite3_column_int64(st, 6);
  a->last_active_ms = sqlite3_column_int64(st, 7);
  a->cleared_ms = sqlite3_column_int64(st, 8);
  a->ack_user = alarm_rows__col_dup(st, 9);
  a->ack_comment = alarm_rows__col_dup(st, 10);
  a->ack_ms = sqlite3_column_int64(st, 11);
  a->activations = (uint32_t)sqlite3_column_int(st, 12);
  a->shelved_until_ms = sqlite3_column_int64(st, 13);
  a->shelve_reason = alarm_rows__col_dup(st, 14);
  a->suppressed = a->state == ALARM_SUPPRESSED;
  if (a->state == ALARM_SHELVED && !a->shelved_until_ms) a->shelved_until_ms = dg_wall_ms(); /* expire now */
  rules[r->index].stage = (int8_t)a->stage;
  rules[r->index].pending = (int8_t)a->stage;
}

int alarm_rows_ensure(struct store *store, const struct dg_config *cfg, struct alarm_rows_job *job)
{
  *job = (struct alarm_rows_job){cfg, alarm_rows_rule_index(cfg), SQLITE_ERROR, true};
  if (!job->idx) return -ENOMEM;
  job->done = false;
  if (!store_submit(store, alarm_rows__ensure_work, alarm_rows__ensure_done, job)) return 0;
  job->done = true;
  return -EIO;
}

static void alarm_rows__join(struct store *store, struct alarm_rows_job *job)
{
  if (!job->done) store_wait_idle(store);
}

void alarm_rows_wait(struct store *store, struct alarm_rows_job *job)
{
  alarm_rows__join(store, job);
  free(job->idx);
  job->idx = NULL;
}

int alarm_rows_load(struct store *store, struct alarm_rows_job *job, struct alarm *alarms, struct rule_state *rules,
                    const uint8_t *fresh, int64_t *next_journal_id)
{
  const struct dg_config *cfg = job->cfg;
  const uint32_t *idx = job->idx;
  alarm_rows__join(store, job);
  if (job->rc) return -EIO;
  int rc;
  struct store_conn *c = store_reader(store);
  sqlite3_stmt *st = store_stmt(c, alarm_rows__sql_load);
  int err = st ? 0 : -EIO;
  while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const struct dg_rule *r = alarm_rows_find_rule(cfg, idx, (const char *)sqlite3_column_text(st, 1));
    if (r) alarm_rows__restore_row(alarms, rules, r, st, fresh[r->index]);
  }
  if (st) sqlite3_reset(st);
  if (err || rc != SQLITE_DONE) return -EIO;
  st = store_stmt(c, alarm_rows__sql_next_journal);
  if (!st || sqlite3_step(st) != SQLITE_ROW) return -EIO;
  *next_journal_id = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return 0;
}
