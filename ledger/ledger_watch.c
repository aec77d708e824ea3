#include "ledger_watch.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "evidence.h"
#include "inspect.h"
#include "ledger_events.h"
#include "log.h"
#include "plan_watch.h"
#include "risk.h"
#include "task_pass.h"

struct ledger_watch__level {
  char *unit;
  enum dg_level level;
};

struct ledger_watch {
  struct engine *e;
  uv_timer_t timer, risk_timer;
  uv_check_t check;          /* after each loop iteration: re-evaluate risk when something changed */
  uint64_t seen_generation;
  struct risk_index idx;     /* of the config the per-unit arrays below follow */
  uint32_t *unit_level;      /* per unit: its entry in levels, or RISK_NO_UNIT */
  int64_t *major;            /* per unit: its open major hazard, 0 none */
  uint8_t *dirty_mark;       /* per unit: listed in dirty */
  uint32_t *dirty;           /* units to re-evaluate */
  size_t n_dirty;
  int majors_stale;          /* the ledger changed: read the open major hazards again */
  int busy;                  /* a scan's job is not committed yet */
  int missed_busy;           /* the same for missed inspection tasks */
  int closing, open_handles;
  struct ledger_watch__level *levels; /* last recorded level per unit id (also of units no longer configured) */
  size_t n_levels;
  int levels_loaded;
  struct task_pass *tasks;   /* the inspection tasks of each period */
};

struct ledger_watch__hazard {
  int64_t id;
  int state;
};

/* How a past-due task is closed. */
struct ledger_watch__verdict {
  int64_t id;
  int check_status;
  int64_t hazard_id;          /* 0: none */
  const char *who;            /* checker and evidence: "system" or "monitoring" */
  char note[512];
  int evidence;               /* judged from the monitoring (on the read lane) */
  int64_t start_ms, due_ms;
  char *measure, *unit;       /* owned */
};

/* One pass of the overdue or missed-task watch: the rows it flags and their announcements, all
 * committed in one transaction; the pass's busy flag stays set until that transaction is done. */
struct ledger_watch__job {
  struct ledger_watch *w;
  int64_t now_ms;
  struct ledger_watch__hazard *hz; /* overdue pass */
  struct ledger_watch__verdict *v; /* missed-task pass */
  size_t n;
  size_t n_evidence;               /* of v, the tasks judged from the monitoring */
  const struct dg_config *cfg;     /* the one in force when the pass was read (missed-task pass) */
  struct notify_msg *msgs;
  void *told;                      /* what the pass means to people (ledger_events.h) */
  int *busy;
  const char *flagged;             /* log text after the count, e.g. "hazard(s) flagged overdue" */
};

static const char *const ledger_watch__sql_due =
  "SELECT id, code, danger_level, danger_state, deadline_ms, description, liable_person, unit, measure, assignee,"
  " rectifier FROM hazards"
  " WHERE danger_state IN (0, 1) AND overdue_ms IS NULL AND deadline_ms IS NOT NULL AND deadline_ms < ?1 ORDER BY id";
static const char *const ledger_watch__sql_flag =
  "UPDATE hazards SET overdue_ms = ?2, updated_ms = ?2 WHERE id = ?1 AND overdue_ms IS NULL";
static const char *const ledger_watch__sql_journal =
  "INSERT INTO hazard_journal (hazard_id, ts_ms, actor, action, from_state, to_state, comment)"
  " VALUES (?1, ?2, 'system', 'overdue', ?3, ?3, '超过整改期限')";

/* ---- notification ---------------------------------------------------------------------------- */

static void ledger_watch__text(cJSON *o, const char *k, const char *v)
{
  if (v) cJSON_AddStringToObject(o, k, v);
  else cJSON_AddNullToObject(o, k);
}

static char *ledger_watch__body(const struct dg_config *cfg, sqlite3_stmt *st, int64_t now_ms)
{
  const char *code = (const char *)sqlite3_column_text(st, 1);
  const char *desc = (const char *)sqlite3_column_text(st, 5);
  const char *liable = (const char *)sqlite3_column_text(st, 6);
  const struct dg_person *p = liable ? dg_config_person(cfg, liable) : NULL;
  int major = sqlite3_column_int(st, 2) == 1;
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "kind", "hazard");
  cJSON_AddStringToObject(root, "event", "overdue");
  cJSON_AddNumberToObject(root, "ts_ms", (double)now_ms);
  cJSON *site = cJSON_AddObjectToObject(root, "site");
  ledger_watch__text(site, "code", cfg->site_code);
  ledger_watch__text(site, "name", cfg->site_name);
  cJSON *h = cJSON_AddObjectToObject(root, "hazard");
  cJSON_AddNumberToObject(h, "id", (double)sqlite3_column_int64(st, 0));
  ledger_watch__text(h, "code", code);
  cJSON_AddNumberToObject(h, "danger_level", major);
  cJSON_AddNumberToObject(h, "danger_state", sqlite3_column_int(st, 3));
  cJSON_AddNumberToObject(h, "deadline_ms", (double)sqlite3_column_int64(st, 4));
  ledger_watch__text(h, "description", desc);
  ledger_watch__text(h, "liable_person", liable);
  ledger_watch__text(h, "unit", (const char *)sqlite3_column_text(st, 7));
  char zh[768], en[768];
  const char *who = p && p->name ? p->name : liable ? liable : "未指定";
  snprintf(zh, sizeof zh, "【隐患超期】%s%s 已超过整改期限，责任人：%s。%s", major ? "重大隐患 " : "", code, who,
           desc ? desc : "");
  snprintf(en, sizeof en, "[overdue] %shazard %s is past its rectification deadline; liable: %s",
           major ? "major " : "", code, liable ? liable : "nobody");
  cJSON_AddStringToObject(root, "text_zh", zh);
  cJSON_AddStringToObject(root, "text_en", en);
  char *s = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  return s;
}

static int ledger_watch__has_channel(const struct notify_msg *list, const char *id, const char *ref)
{
  for (; list; list = list->next)
    if (strcmp(list->channel, id) == 0 && strcmp(list->ref, ref) == 0) return 1;
  return 0;
}

/* Queues `body` on *list for every channel of the policies covering `prio` (once per channel). */
static void ledger_watch__announce(struct notify_msg **list, const struct engine *e, enum dg_priority prio,
                                   const char *ref, const char *body, int64_t now_ms)
{
  for (size_t i = 0; body && i < e->cfg->n_policies; i++) {
    const struct dg_policy *pol = &e->cfg->policies[i];
    if (!(pol->priority_mask & (1u << prio))) continue;
    for (size_t k = 0; k < pol->n_channels; k++) {
      const struct dg_channel *ch = pol->channels[k];
      if (ledger_watch__has_channel(*list, ch->id, ref)) continue;
      char *copy = strdup(body);
      struct notify_msg *m = copy ? notify_msg_new(e->notify, ch, ref, copy, now_ms) : NULL;
      if (!m) {
        DG_ERR("ledger", "out of memory building a notification (%s)", ref);
        continue;
      }
      m->next = *list;
      *list = m;
    }
  }
}

static void ledger_watch__msgs(struct ledger_watch__job *j, const struct engine *e, sqlite3_stmt *st)
{
  enum dg_priority prio = sqlite3_column_int(st, 2) == 1 ? DG_PRIO_CRITICAL : DG_PRIO_HIGH;
  char ref[80]; /* a deadline extended and missed again is announced again */
  snprintf(ref, sizeof ref, "hazard:%lld:overdue:%lld", (long long)sqlite3_column_int64(st, 0),
           (long long)sqlite3_column_int64(st, 4));
  char *body = ledger_watch__body(e->cfg, st, j->now_ms);
  ledger_watch__announce(&j->msgs, e, prio, ref, body, j->now_ms);
  free(body);
  struct ledger_event ev = {.kind = LEDGER_EV_HAZARD_OVERDUE, .ts_ms = j->now_ms, .hazard_id = sqlite3_column_int64(st, 0),
                            .code = (const char *)sqlite3_column_text(st, 1), .danger_level = sqlite3_column_int(st, 2),
                            .state = sqlite3_column_int(st, 3), .deadline_ms = sqlite3_column_int64(st, 4),
                            .description = (const char *)sqlite3_column_text(st, 5),
                            .liable = (const char *)sqlite3_column_text(st, 6),
                            .unit = (const char *)sqlite3_column_text(st, 7),
                            .measure = (const char *)sqlite3_column_text(st, 8),
                            .assignee = (const char *)sqlite3_column_text(st, 9),
                            .rectifier = (const char *)sqlite3_column_text(st, 10)};
  j->told = ledger_event_begin(e->ledger, &ev, j->told);
}

/* ---- the job ----------------------------------------------------------------------------------- */

static int ledger_watch__work(struct store_conn *c, void *arg)
{
  struct ledger_watch__job *j = arg;
  for (size_t i = 0; i < j->n; i++) {
    sqlite3_stmt *st = store_stmt(c, ledger_watch__sql_flag);
    if (!st) return SQLITE_ERROR;
    sqlite3_bind_int64(st, 1, j->hz[i].id);
    sqlite3_bind_int64(st, 2, j->now_ms);
    int rc = store_step_done(st);
    if (rc != SQLITE_OK) return rc;
    st = store_stmt(c, ledger_watch__sql_journal);
    if (!st) return SQLITE_ERROR;
    sqlite3_bind_int64(st, 1, j->hz[i].id);
    sqlite3_bind_int64(st, 2, j->now_ms);
    sqlite3_bind_int(st, 3, j->hz[i].state);
    if ((rc = store_step_done(st)) != SQLITE_OK) return rc;
  }
  int rc = notify_msg_write(c, j->msgs);
  return rc == SQLITE_OK ? ledger_event_write(j->w->e->ledger, c, j->told) : rc;
}

static struct ledger_watch__job *ledger_watch__job_new(struct ledger_watch *w, int *busy, const char *flagged,
                                                       int64_t now_ms)
{
  struct ledger_watch__job *j = calloc(1, sizeof *j);
  if (j) *j = (struct ledger_watch__job){.w = w, .now_ms = now_ms, .busy = busy, .flagged = flagged};
  return j;
}

static void ledger_watch__job_free(struct ledger_watch__job *j)
{
  ledger_event_end(j->w->e->ledger, j->told, -ECANCELED);
  notify_msg_free_list(j->msgs);
  free(j->hz);
  for (size_t i = 0; j->v && i < j->n; i++) {
    free(j->v[i].measure);
    free(j->v[i].unit);
  }
  free(j->v);
  free(j);
}

static void ledger_watch__done(void *arg, int rc)
{
  struct ledger_watch__job *j = arg;
  *j->busy = 0;
  ledger_event_end(j->w->e->ledger, j->told, rc);
  j->told = NULL;
  if (rc == 0) {
    DG_INFO("ledger", "%zu %s", j->n, j->flagged);
    notify_send(j->w->e->notify, j->msgs);
    j->msgs = NULL;
  } else {
    DG_ERR("ledger", "%zu %s: not committed (rc %d); the next pass retries", j->n, j->flagged, rc);
  }
  ledger_watch__job_free(j);
}

/* Collects the due hazards into j; 0 or negative. */
static int ledger_watch__collect(struct ledger_watch *w, struct ledger_watch__job *j)
{
  sqlite3_stmt *st = store_stmt(store_reader(w->e->store), ledger_watch__sql_due);
  if (!st) return -EIO;
  sqlite3_bind_int64(st, 1, j->now_ms);
  size_t cap = 0;
  int rc, err = 0;
  while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if ((err = dg_array_reserve(&j->hz, j->n, &cap, sizeof *j->hz))) break;
    j->hz[j->n++] = (struct ledger_watch__hazard){sqlite3_column_int64(st, 0), sqlite3_column_int(st, 3)};
    ledger_watch__msgs(j, w->e, st);
  }
  sqlite3_reset(st);
  if (err) return err;
  return rc == SQLITE_DONE ? 0 : -EIO;
}

int ledger_watch_overdue(struct ledger_watch *w, int64_t now_ms)
{
  if (w->busy) return 0;
  struct ledger_watch__job *j = ledger_watch__job_new(w, &w->busy, "hazard(s) flagged overdue", now_ms);
  if (!j) return -ENOMEM;
  int rc = ledger_watch__collect(w, j);
  size_t n = j->n;
  if (!rc && n) rc = store_submit_urgent(w->e->store, ledger_watch__work, ledger_watch__done, j);
  if (rc || !n) {
    ledger_watch__job_free(j);
    return rc;
  }
  w->busy = 1;
  return (int)n;
}

/* ---- dynamic risk history --------------------------------------------------------------------- */

struct ledger_watch__change {
  char *unit;
  enum dg_level from, to;
  char *cause;
};

struct ledger_watch__risk_job {
  int64_t now_ms;
  struct events *events;     /* the recorded changes are published here (NULL: none) */
  struct ledger_watch__change *c;
  size_t n;
};

static const char *const ledger_watch__sql_last_levels =
  "SELECT unit, to_level FROM risk_level_history WHERE id IN (SELECT MAX(id) FROM risk_level_history GROUP BY unit)";
static const char *const ledger_watch__sql_level =
  "INSERT INTO risk_level_history (unit, ts_ms, from_level, to_level, cause) VALUES (?1, ?2, ?3, ?4, ?5)";

static int ledger_watch__add_level(struct ledger_watch *w, const char *unit, enum dg_level level)
{
  struct ledger_watch__level *l = realloc(w->levels, (w->n_levels + 1) * sizeof *l);
  if (!l) return -ENOMEM;
  w->levels = l;
  char *id = strdup(unit);
  if (!id) return -ENOMEM;
  uint32_t u = w->idx.units ? risk_index_find(&w->idx, unit) : RISK_NO_UNIT;
  if (u != RISK_NO_UNIT) w->unit_level[u] = (uint32_t)w->n_levels;
  w->levels[w->n_levels++] = (struct ledger_watch__level){id, level};
  return 0;
}

static int ledger_watch__set_level(struct ledger_watch *w, uint32_t u, enum dg_level level)
{
  if (w->unit_level[u] == RISK_NO_UNIT) return ledger_watch__add_level(w, w->idx.units[u]->id, level);
  w->levels[w->unit_level[u]].level = level;
  return 0;
}

static const struct ledger_watch__level *ledger_watch__get_level(const struct ledger_watch *w, uint32_t u)
{
  return w->unit_level[u] == RISK_NO_UNIT ? NULL : &w->levels[w->unit_level[u]];
}

enum dg_level ledger_watch_level(const struct ledger_watch *w, const char *unit)
{
  for (size_t i = 0; w && unit && i < w->n_levels; i++)
    if (!strcmp(w->levels[i].unit, unit)) return w->levels[i].level;
  return DG_LEVEL_NONE;
}

static int ledger_watch__load_levels(struct ledger_watch *w)
{
  sqlite3_stmt *st = store_stmt(store_reader(w->e->store), ledger_watch__sql_last_levels);
  if (!st) return -EIO;
  int rc, err = 0;
  while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *unit = (const char *)sqlite3_column_text(st, 0);
    uint32_t u = risk_index_find(&w->idx, unit);
    enum dg_level level = (enum dg_level)sqlite3_column_int(st, 1);
    err = u != RISK_NO_UNIT ? ledger_watch__set_level(w, u, level) : ledger_watch__add_level(w, unit, level);
  }
  sqlite3_reset(st);
  if (err) return err;
  if (rc != SQLITE_DONE) return -EIO;
  w->levels_loaded = 1;
  return 0;
}

static void ledger_watch__mark(struct ledger_watch *w, uint32_t u)
{
  if (u == RISK_NO_UNIT || w->dirty_mark[u]) return;
  w->dirty_mark[u] = 1;
  w->dirty[w->n_dirty++] = u;
}

static void ledger_watch__free_units(struct ledger_watch *w)
{
  risk_index_free(&w->idx);
  free(w->unit_level);
  free(w->major);
  free(w->dirty_mark);
  free(w->dirty);
  w->unit_level = w->dirty = NULL;
  w->major = NULL;
  w->dirty_mark = NULL;
  w->n_dirty = 0;
}

/* Follows the engine's config: rules by unit, the remembered levels by unit, every unit dirty
 * and the major hazards to be read. */
static int ledger_watch__follow_config(struct ledger_watch *w)
{
  const struct dg_config *cfg = w->e->cfg;
  if (w->idx.cfg == cfg) return 0;
  ledger_watch__free_units(w);
  int rc = risk_index_build(&w->idx, cfg);
  size_t n = w->idx.n_units + 1;
  w->unit_level = malloc(n * sizeof *w->unit_level);
  w->major = calloc(n, sizeof *w->major);
  w->dirty_mark = calloc(n, 1);
  w->dirty = malloc(n * sizeof *w->dirty);
  if (rc || !w->unit_level || !w->major || !w->dirty_mark || !w->dirty) {
    ledger_watch__free_units(w);
    return -ENOMEM;
  }
  for (size_t u = 0; u < n; u++) w->unit_level[u] = RISK_NO_UNIT;
  for (size_t i = 0; i < w->n_levels; i++) {
    uint32_t u = risk_index_find(&w->idx, w->levels[i].unit);
    if (u != RISK_NO_UNIT) w->unit_level[u] = (uint32_t)i;
  }
  for (uint32_t u = 0; u < w->idx.n_units; u++) ledger_watch__mark(w, u);
  w->majors_stale = 1;
  return 0;
}

/* Reads the open major hazards; the units whose major hazard changed become dirty. */
static int ledger_watch__load_majors(struct ledger_watch *w)
{
  struct risk_major *majors;
  size_t n;
  int rc = risk_load_majors(store_reader(w->e->store), &majors, &n);
  if (rc) return rc;
  int64_t *now = calloc(w->idx.n_units + 1, sizeof *now);
  if (!now) {
    risk_majors_free(majors, n);
    return -ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    uint32_t u = risk_index_find(&w->idx, majors[i].unit);
    if (u != RISK_NO_UNIT && !now[u]) now[u] = majors[i].hazard_id;
  }
  for (uint32_t u = 0; u < w->idx.n_units; u++)
    if (now[u] != w->major[u]) {
      w->major[u] = now[u];
      ledger_watch__mark(w, u);
    }
  free(now);
  risk_majors_free(majors, n);
  w->majors_stale = 0;
  return 0;
}

static char *ledger_watch__cause(const struct risk_unit *u)
{
  char buf[160];
  if (u->cause == RISK_BY_ALARM && u->alarm)
    snprintf(buf, sizeof buf, "alarm %s (%s)", u->alarm->rule->id, dg_priority_name(u->alarm->priority));
  else if (u->cause == RISK_BY_MAJOR_HAZARD)
    snprintf(buf, sizeof buf, "major_hazard %lld", (long long)u->major_hazard_id);
  else
    snprintf(buf, sizeof buf, "assessment");
  return strdup(buf);
}

static void ledger_watch__risk_job_free(struct ledger_watch__risk_job *j)
{
  for (size_t i = 0; i < j->n; i++) {
    free(j->c[i].unit);
    free(j->c[i].cause);
  }
  free(j->c);
  free(j);
}

static int ledger_watch__risk_work(struct store_conn *c, void *arg)
{
  struct ledger_watch__risk_job *j = arg;
  for (size_t i = 0; i < j->n; i++) {
    sqlite3_stmt *st = store_stmt(c, ledger_watch__sql_level);
    if (!st) return SQLITE_ERROR;
    sqlite3_bind_text(st, 1, j->c[i].unit, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, j->now_ms);
    sqlite3_bind_int(st, 3, j->c[i].from);
    sqlite3_bind_int(st, 4, j->c[i].to);
    if (j->c[i].cause) sqlite3_bind_text(st, 5, j->c[i].cause, -1, SQLITE_STATIC);
    int rc = store_step_done(st);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

static void ledger_watch__risk_done(void *arg, int rc)
{
  struct ledger_watch__risk_job *j = arg;
  if (rc) DG_LOG_RL(DG_LOG_ERR, "ledger", "%zu risk level change(s) not recorded (rc %d)", j->n, rc);
  for (size_t i = 0; !rc && j->events && i < j->n; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "unit", j->c[i].unit);
    cJSON_AddStringToObject(o, "from", dg_level_name(j->c[i].from));
    cJSON_AddStringToObject(o, "to", dg_level_name(j->c[i].to));
    if (j->c[i].cause) cJSON_AddStringToObject(o, "cause", j->c[i].cause);
    cJSON_AddNumberToObject(o, "ts_ms", (double)j->now_ms);
    events_publish(j->events, "risk", o);
  }
  ledger_watch__risk_job_free(j);
}

/* Adds the units whose level changed to j and remembers their new level. */
static int ledger_watch__diff(struct ledger_watch *w, const struct risk_unit *u, const uint32_t *pos, size_t n,
                              struct ledger_watch__risk_job *j)
{
  j->c = calloc(n ? n : 1, sizeof *j->c);
  if (!j->c) return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const struct ledger_watch__level *last = ledger_watch__get_level(w, pos[i]);
    enum dg_level from = last ? last->level : u[i].assessed;
    if (from == u[i].current) {
      /* Remembered, so a later change of the assessment itself (a model edit) is recorded. */
      if (!last && ledger_watch__set_level(w, pos[i], u[i].current)) return -ENOMEM;
      continue;
    }
    struct ledger_watch__change *c = &j->c[j->n++];
    c->unit = strdup(u[i].unit->id);
    c->cause = ledger_watch__cause(&u[i]);
    c->from = from;
    c->to = u[i].current;
    if (!c->unit || ledger_watch__set_level(w, pos[i], u[i].current)) return -ENOMEM;
    DG_INFO("ledger", "risk unit %s: %s → %s (%s)", c->unit, dg_level_name(from), dg_level_name(c->to),
            c->cause ? c->cause : "");
  }
  return 0;
}

/* Evaluates the dirty units and records the changes of level. Returns how many were submitted. */
static int ledger_watch__evaluate_dirty(struct ledger_watch *w, int64_t now_ms)
{
  const struct engine *e = w->e;
  int rc = w->levels_loaded ? 0 : ledger_watch__load_levels(w);
  if (!rc && w->majors_stale) rc = ledger_watch__load_majors(w);
  if (rc || !w->n_dirty) return rc;
  size_t n = w->n_dirty;
  struct risk_unit *units = malloc(n * sizeof *units);
  struct ledger_watch__risk_job *j = calloc(1, sizeof *j);
  if (!units || !j) rc = -ENOMEM;
  for (size_t i = 0; !rc && i < n; i++) risk_evaluate_unit(&w->idx, e->alarms, w->dirty[i], w->major[w->dirty[i]], &units[i]);
  if (!rc) {
    j->now_ms = now_ms;
    j->events = e->events;
    rc = ledger_watch__diff(w, units, w->dirty, n, j);
  }
  free(units);
  if (!rc) {
    for (size_t i = 0; i < n; i++) w->dirty_mark[w->dirty[i]] = 0;
    w->n_dirty = 0;
  }
  if (rc || !j->n) {
    if (j) ledger_watch__risk_job_free(j);
    return rc;
  }
  int changes = (int)j->n;
  if ((rc = store_submit(e->store, ledger_watch__risk_work, ledger_watch__risk_done, j))) {
    ledger_watch__risk_job_free(j);
    return rc;
  }
  return changes;
}

int ledger_watch_risk(struct ledger_watch *w, int64_t now_ms)
{
  int rc = ledger_watch__follow_config(w);
  if (rc) return rc;
  for (uint32_t u = 0; u < w->idx.n_units; u++) ledger_watch__mark(w, u);
  w->majors_stale = 1;
  return ledger_watch__evaluate_dirty(w, now_ms);
}

/* Every LEDGER_WATCH_RISK_PERIOD_MS: the major hazards are read again (a hazard can change
 * without the loop, by a job's commit), and the units they changed evaluated. */
static void ledger_watch__on_risk_timer(uv_timer_t *t)
{
  struct ledger_watch *w = t->data;
  int rc = ledger_watch__follow_config(w);
  w->majors_stale = w->idx.n_units > 0;
  if (!rc) rc = ledger_watch__evaluate_dirty(w, dg_wall_ms());
  if (rc < 0) DG_LOG_RL(DG_LOG_ERR, "ledger", "risk evaluation failed (%d)", rc);
}

/* Alarm transitions make their rules' units dirty and ledger changes the major hazards stale;
 * the dirty units are evaluated once the store has committed those changes (the major hazards
 * are read from the database). Work follows what changed, not the size of the plant. */
static void ledger_watch__on_check(uv_check_t *h)
{
  struct ledger_watch *w = h->data;
  struct engine *e = w->e;
  int rc = ledger_watch__follow_config(w);
  const uint32_t *rules;
  size_t n = e->changed ? engine_take_changed(e, &rules) : 0;
  for (size_t i = 0; !rc && i < n; i++) ledger_watch__mark(w, w->idx.rule_unit[rules[i]]);
  uint64_t gen = e->ledger ? ledger_generation(e->ledger) : 0;
  if (gen != w->seen_generation) {
    w->seen_generation = gen;
    w->majors_stale = w->idx.n_units > 0;
  }
  if (rc || (!w->n_dirty && !w->majors_stale) || store_pending(e->store)) return;
  rc = ledger_watch__evaluate_dirty(w, dg_wall_ms());
  if (rc < 0) DG_LOG_RL(DG_LOG_ERR, "ledger", "risk evaluation failed (%d)", rc);
}

int ledger_watch_inspections(struct ledger_watch *w, int64_t now_ms) { return task_pass_run(w->tasks, now_ms); }

/* ---- missed inspection tasks (未排查) ---------------------------------------------------------- */

static const char *const ledger_watch__sql_missed =
  "SELECT id, measure, unit, start_ms, due_ms, data_src FROM inspection_tasks WHERE check_status IS NULL"
  " AND due_ms <= ?1"
  " ORDER BY id";
static const char *const ledger_watch__sql_mark_missed =
  "UPDATE inspection_tasks SET check_status = ?3, checker = ?4, evidence = ?4, checked_ms = ?2, note = ?5,"
  " hazard_id = ?6 WHERE id = ?1 AND check_status IS NULL";

static enum dg_priority ledger_watch__priority_of_level(enum dg_level l)
{
  switch (l) {
  case DG_LEVEL_RED: return DG_PRIO_CRITICAL;
  case DG_LEVEL_ORANGE: return DG_PRIO_HIGH;
  case DG_LEVEL_YELLOW: return DG_PRIO_MEDIUM;
  default: return DG_PRIO_LOW;
  }
}

static char *ledger_watch__missed_body(const struct dg_config *cfg, const struct dg_measure *m,
                                       const struct ledger_watch__verdict *v, int64_t now_ms)
{
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "kind", "inspection");
  cJSON_AddStringToObject(root, "event", "missed");
  cJSON_AddNumberToObject(root, "ts_ms", (double)now_ms);
  cJSON *site = cJSON_AddObjectToObject(root, "site");
  ledger_watch__text(site, "code", cfg->site_code);
  ledger_watch__text(site, "name", cfg->site_name);
  cJSON *t = cJSON_AddObjectToObject(root, "task");
  cJSON_AddNumberToObject(t, "id", (double)v->id);
  ledger_watch__text(t, "measure", v->measure);
  ledger_watch__text(t, "measure_desc", m ? m->desc : NULL);
  ledger_watch__text(t, "unit", v->unit);
  cJSON_AddNumberToObject(t, "start_ms", (double)v->start_ms);
  cJSON_AddNumberToObject(t, "due_ms", (double)v->due_ms);
  cJSON_AddNumberToObject(t, "check_status", 2);
  ledger_watch__text(t, "note", v->note); /* why: no one did it, or the monitoring cannot vouch for it */
  char zh[512], en[256];
  snprintf(zh, sizeof zh, "【未排查】排查任务 %lld（%s：%s）未在排查周期内完成", (long long)v->id, v->measure,
           m && m->desc ? m->desc : "");
  snprintf(en, sizeof en, "[missed] inspection task %lld of measure %s was not done within its period",
           (long long)v->id, v->measure);
  cJSON_AddStringToObject(root, "text_zh", zh);
  cJSON_AddStringToObject(root, "text_en", en);
  char *s = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  return s;
}

static int ledger_watch__missed_work(struct store_conn *c, void *arg)
{
  struct ledger_watch__job *j = arg;
  for (size_t i = 0; i < j->n; i++) {
    const struct ledger_watch__verdict *v = &j->v[i];
    sqlite3_stmt *st = store_stmt(c, ledger_watch__sql_mark_missed);
    if (!st) return SQLITE_ERROR;
    sqlite3_bind_int64(st, 1, v->id);
    sqlite3_bind_int64(st, 2, j->now_ms);
    sqlite3_bind_int(st, 3, v->check_status);
    store_bind_text(st, 4, v->who);
    store_bind_text(st, 5, v->note);
    if (v->hazard_id) sqlite3_bind_int64(st, 6, v->hazard_id);
    else sqlite3_bind_null(st, 6);
    int rc = store_step_done(st);
    if (rc != SQLITE_OK) return rc;
  }
  int rc = notify_msg_write(c, j->msgs);
  return rc == SQLITE_OK ? ledger_event_write(j->w->e->ledger, c, j->told) : rc;
}

static char *ledger_watch__dup(const unsigned char *text) { return text ? strdup((const char *)text) : NULL; }

/* Takes a past-due task's row into *v: 1, or 0 when it is not to be judged yet (a monitored
 * period's last samples may still be on their way to the database), or negative. A task to be
 * judged from the monitoring keeps v->evidence set and is judged on the read lane. */
static int ledger_watch__take_task(const struct engine *e, const struct dg_measure *m, sqlite3_stmt *st,
                                   int64_t now_ms, struct ledger_watch__verdict *v)
{
  int64_t due = sqlite3_column_int64(st, 4);
  /* how the task was to be checked when it was created, whatever the measure says now */
  int evidence = m && sqlite3_column_int(st, 5) == 1;
  /* the evidence reads sample_rows: the period's last rows are there once their slice moved */
  if (evidence &&
      now_ms - due < LEDGER_WATCH_EVIDENCE_GRACE_MS + (2 + HISTORY_LOG_SLICES) * (int64_t)e->cfg->history_flush_ms)
    return 0;
  *v = (struct ledger_watch__verdict){.id = sqlite3_column_int64(st, 0), .check_status = 2, .who = "system",
                                      .evidence = evidence, .start_ms = sqlite3_column_int64(st, 3), .due_ms = due,
                                      .measure = ledger_watch__dup(sqlite3_column_text(st, 1)),
                                      .unit = ledger_watch__dup(sqlite3_column_text(st, 2))};
  snprintf(v->note, sizeof v->note, "超过排查周期未完成");
  return v->measure && (v->unit || sqlite3_column_type(st, 2) == SQLITE_NULL) ? 1 : -ENOMEM;
}

/* The loop: the past-due tasks, without their evidence. */
static int ledger_watch__collect_missed(struct ledger_watch *w, struct ledger_watch__job *j)
{
  const struct engine *e = w->e;
  sqlite3_stmt *st = store_stmt(store_reader(e->store), ledger_watch__sql_missed);
  if (!st) return -EIO;
  sqlite3_bind_int64(st, 1, j->now_ms);
  size_t cap = 0;
  int rc, err = 0;
  while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if ((err = dg_array_reserve(&j->v, j->n, &cap, sizeof *j->v))) break;
    const struct dg_measure *m = dg_config_measure(e->cfg, (const char *)sqlite3_column_text(st, 1));
    int taken = ledger_watch__take_task(e, m, st, j->now_ms, &j->v[j->n]);
    if (taken < 0) err = taken;
    if (taken) j->n++; /* a failed one too: job_free frees what it holds */
    if (taken > 0 && j->v[j->n - 1].evidence) j->n_evidence++;
  }
  sqlite3_reset(st);
  if (err) return err;
  return rc == SQLITE_DONE ? 0 : -EIO;
}

/* The read lane: judges the monitored tasks from the history and the ledger (evidence.h). The
 * configuration read here stays in force meanwhile: a reload waits for reads (store_wait_quiet). */
static int ledger_watch__judge_work(struct store_conn *c, void *arg)
{
  struct ledger_watch__job *j = arg;
  /* History from an hour after the retention horizon on is complete (one sample a minute at least). */
  int64_t kept_from = j->now_ms - ENGINE_HISTORY_RETENTION_MS + 3600000;
  for (size_t i = 0; i < j->n; i++) {
    struct ledger_watch__verdict *v = &j->v[i];
    const struct dg_measure *m = v->evidence ? dg_config_measure(j->cfg, v->measure) : NULL;
    if (!m) continue;
    struct evidence_verdict ev;
    int rc = evidence_judge(c, j->cfg, m, v->start_ms, v->due_ms, kept_from, &ev);
    if (rc) return rc == -ENOMEM ? SQLITE_NOMEM : SQLITE_IOERR;
    v->check_status = ev.check_status;
    v->hazard_id = ev.hazard_id;
    v->who = ev.check_status == 2 ? "system" : "monitoring";
    snprintf(v->note, sizeof v->note, "%s", ev.note);
  }
  return SQLITE_OK;
}

/* The loop: the announcements of the tasks left 未排查, then the pass's commit. 0 or negative. */
static int ledger_watch__commit_missed(struct ledger_watch__job *j)
{
  const struct engine *e = j->w->e;
  for (size_t i = 0; i < j->n; i++) {
    const struct ledger_watch__verdict *v = &j->v[i];
    if (v->check_status != 2) continue;
    const struct dg_measure *m = dg_config_measure(e->cfg, v->measure);
    char ref[48];
    snprintf(ref, sizeof ref, "inspection:%lld:missed", (long long)v->id);
    char *body = ledger_watch__missed_body(e->cfg, m, v, j->now_ms);
    ledger_watch__announce(&j->msgs, e, ledger_watch__priority_of_level(m ? m->event->level : DG_LEVEL_BLUE), ref,
                           body, j->now_ms);
    free(body);
    struct ledger_event ev = {.kind = LEDGER_EV_INSPECTION_MISSED, .ts_ms = j->now_ms, .task_id = v->id,
                              .measure = v->measure, .unit = v->unit, .due_ms = v->due_ms,
                              .description = m ? m->desc : NULL};
    j->told = ledger_event_begin(e->ledger, &ev, j->told);
  }
  return store_submit_urgent(e->store, ledger_watch__missed_work, ledger_watch__done, j);
}

/* The loop, once the read lane has judged the monitored tasks (or during store_close, after
 * ledger_watch_close: then nothing is committed, and the next start judges the tasks again). */
static void ledger_watch__judged(void *arg, int rc)
{
  struct ledger_watch__job *j = arg;
  if (j->w->closing) rc = -ESHUTDOWN;
  else if (!rc) rc = ledger_watch__commit_missed(j);
  if (!rc) return;
  if (rc != -ESHUTDOWN)
    DG_LOG_RL(DG_LOG_ERR, "ledger", "%zu %s: not judged (rc %d); the next pass retries", j->n, j->flagged, rc);
  *j->busy = 0;
  ledger_watch__job_free(j);
}

int ledger_watch_missed(struct ledger_watch *w, int64_t now_ms)
{
  if (w->missed_busy) return 0;
  struct ledger_watch__job *j = ledger_watch__job_new(w, &w->missed_busy,
                                                      "past-due inspection task(s) closed (未排查 or by monitoring evidence)",
                                                      now_ms);
  if (!j) return -ENOMEM;
  int rc = ledger_watch__collect_missed(w, j);
  size_t n = j->n;
  if (!rc && n) {
    j->cfg = w->e->cfg;
    rc = j->n_evidence ? store_submit_read_uncapped(w->e->store, ledger_watch__judge_work, ledger_watch__judged, j)
                       : ledger_watch__commit_missed(j);
  }
  if (rc || !n) {
    ledger_watch__job_free(j);
    return rc;
  }
  w->missed_busy = 1;
  return (int)n;
}

static void ledger_watch__on_timer(uv_timer_t *t)
{
  struct ledger_watch *w = t->data;
  int64_t now = dg_wall_ms();
  int rc = ledger_watch_overdue(w, now);
  if (rc < 0) DG_LOG_RL(DG_LOG_ERR, "ledger", "overdue scan failed (%d)", rc);
  rc = ledger_watch_missed(w, now);
  if (rc < 0) DG_LOG_RL(DG_LOG_ERR, "ledger", "missed inspection scan failed (%d)", rc);
  task_pass_start(w->tasks, now);
  rc = plan_watch_tasks(w->e, now);
  if (rc < 0) DG_LOG_RL(DG_LOG_ERR, "ledger", "inspection plan task generation failed (%d)", rc);
}

int ledger_watch_start(struct ledger_watch **out, struct engine *e)
{
  struct ledger_watch *w = calloc(1, sizeof *w);
  if (!w) return -ENOMEM;
  w->e = e;
  int rc = task_pass_open(&w->tasks, e);
  if (rc) {
    free(w);
    return rc;
  }
  uv_timer_init(e->loop, &w->timer);
  uv_timer_init(e->loop, &w->risk_timer);
  uv_check_init(e->loop, &w->check);
  w->timer.data = w->risk_timer.data = w->check.data = w;
  w->open_handles = 3;
  uv_check_start(&w->check, ledger_watch__on_check);
  uv_timer_start(&w->timer, ledger_watch__on_timer, 0, LEDGER_WATCH_OVERDUE_PERIOD_MS);
  uv_timer_start(&w->risk_timer, ledger_watch__on_risk_timer, LEDGER_WATCH_RISK_PERIOD_MS, LEDGER_WATCH_RISK_PERIOD_MS);
  *out = w;
  return 0;
}

static void ledger_watch__closed(uv_handle_t *h)
{
  struct ledger_watch *w = h->data;
  if (--w->open_handles) return;
  for (size_t i = 0; i < w->n_levels; i++) free(w->levels[i].unit);
  free(w->levels);
  ledger_watch__free_units(w);
  free(w);
}

void ledger_watch_close(struct ledger_watch *w)
{
  if (!w || w->closing) return;
  w->closing = 1;
  uv_timer_stop(&w->timer);
  uv_timer_stop(&w->risk_timer);
  uv_check_stop(&w->check);
  task_pass_close(w->tasks);
  w->tasks = NULL;
  uv_close((uv_handle_t *)&w->timer, ledger_watch__closed);
  uv_close((uv_handle_t *)&w->risk_timer, ledger_watch__closed);
  uv_close((uv_handle_t *)&w->check, ledger_watch__closed);
}
