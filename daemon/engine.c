#include "engine.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "describe.h"
#include "escalate.h"
#include "expr.h"
#include "log.h"

#define HISTORY_MAX_INTERVAL_MS ENGINE_HISTORY_MAX_INTERVAL_MS
#define HISTORY_RETENTION_MS ENGINE_HISTORY_RETENTION_MS
#define COMMIT_RETRY_MS 1000
#define HISTORY_CHUNK_ROWS 2000
/* A waiting alarm transition is committed after at most this many history rows (store_yield). */
#define ENGINE_HISTORY_YIELD_ROWS 200
#define STALE_SWEEP_MS 500

struct history_row {
  uint32_t point;
  uint8_t quality;
  double value;
  int64_t ts_ms;
};

/* ---- rule lookup by id (sorted index, for restore and reload) ----------------------------- */

static const struct dg_config *engine__sort_cfg;
static int engine__cmp_rule(const void *a, const void *b)
{
  return strcmp(engine__sort_cfg->rules[*(const uint32_t *)a].id, engine__sort_cfg->rules[*(const uint32_t *)b].id);
}

static uint32_t *engine__rule_index(const struct dg_config *cfg)
{
  uint32_t *idx = malloc((cfg->n_rules ? cfg->n_rules : 1) * sizeof *idx);
  if (!idx) return NULL;
  for (size_t i = 0; i < cfg->n_rules; i++) idx[i] = (uint32_t)i;
  engine__sort_cfg = cfg; /* loop thread only: qsort has no user pointer */
  qsort(idx, cfg->n_rules, sizeof *idx, engine__cmp_rule);
  return idx;
}

static const struct dg_rule *engine__find_rule(const struct dg_config *cfg, const uint32_t *idx, const char *id)
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

static int engine__stage_by_name(const struct dg_rule *r, const char *name)
{
  for (size_t i = 0; name && i < r->n_stages; i++)
    if (strcmp(r->stages[i].name, name) == 0) return (int)i;
  return -1;
}

/* ---- alarm rows: create and restore --------------------------------------------------------- */

static const char *const engine__sql_ensure =
  "INSERT INTO alarms (rule, point, measure, updated_ms) VALUES (?1, ?2, ?3, ?4)"
  " ON CONFLICT(rule) DO UPDATE SET point = excluded.point, measure = excluded.measure";
static const char *const engine__sql_load =
  "SELECT id, rule, state, stage, priority, value, first_active_ms, last_active_ms, cleared_ms, ack_user,"
  " ack_comment, ack_ms, activations, shelved_until_ms, shelve_reason FROM alarms";
static const char *const engine__sql_next_journal = "SELECT COALESCE(MAX(id), 0) + 1 FROM alarm_journal";

struct engine__ensure {
  const struct dg_config *cfg;
  int rc;
};

static int engine__ensure_work(struct store_conn *c, void *arg)
{
  const struct dg_config *cfg = ((struct engine__ensure *)arg)->cfg;
  int64_t now = dg_wall_ms();
  for (size_t i = 0; i < cfg->n_rules; i++) {
    const struct dg_rule *r = &cfg->rules[i];
    sqlite3_stmt *st = store_stmt(c, engine__sql_ensure);
    if (!st) return SQLITE_ERROR;
    sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->point->id, -1, SQLITE_STATIC);
    if (r->measure) sqlite3_bind_text(st, 3, r->measure->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return rc;
  }
  return SQLITE_OK;
}

static void engine__ensure_done(void *arg, int rc) { ((struct engine__ensure *)arg)->rc = rc; }

static char *engine__col_dup(sqlite3_stmt *st, int i)
{
  const unsigned char *s = sqlite3_column_text(st, i);
  return s ? strdup((const char *)s) : NULL;
}

/* Restores one alarm row into e->alarms; `keep` set means the rule changed identity on reload
 * and its in-memory state was not carried over, so the row's state is not trusted either. */
static void engine__restore_row(struct engine *e, const struct dg_rule *r, sqlite3_stmt *st, int fresh)
{
  struct alarm *a = &e->alarms[r->index];
  a->id = sqlite3_column_int64(st, 0);
  if (!fresh) return;
  int state = alarm_state_parse((const char *)sqlite3_column_text(st, 2));
  int stage = engine__stage_by_name(r, (const char *)sqlite3_column_text(st, 3));
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
  a->ack_user = engine__col_dup(st, 9);
  a->ack_comment = engine__col_dup(st, 10);
  a->ack_ms = sqlite3_column_int64(st, 11);
  a->activations = (uint32_t)sqlite3_column_int(st, 12);
  a->shelved_until_ms = sqlite3_column_int64(st, 13);
  a->shelve_reason = engine__col_dup(st, 14);
  a->suppressed = a->state == ALARM_SUPPRESSED;
  if (a->state == ALARM_SHELVED && !a->shelved_until_ms) a->shelved_until_ms = dg_wall_ms(); /* expire now */
  e->rules[r->index].stage = (int8_t)a->stage;
  e->rules[r->index].pending = (int8_t)a->stage;
}

/* fresh[i]: rule i has no carried-over state and takes the database's. */
static int engine__load_alarms(struct engine *e, const uint8_t *fresh)
{
  struct engine__ensure ensure = {e->cfg, 1};
  if (store_submit(e->store, engine__ensure_work, engine__ensure_done, &ensure)) return -EIO;
  store_wait_idle(e->store);
  if (ensure.rc) return -EIO;
  int rc;
  uint32_t *idx = engine__rule_index(e->cfg);
  if (!idx) return -ENOMEM;
  struct store_conn *c = store_reader(e->store);
  sqlite3_stmt *st = store_stmt(c, engine__sql_load);
  int err = st ? 0 : -EIO;
  while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const struct dg_rule *r = engine__find_rule(e->cfg, idx, (const char *)sqlite3_column_text(st, 1));
    if (r) engine__restore_row(e, r, st, fresh[r->index]);
  }
  if (st) sqlite3_reset(st);
  free(idx);
  if (err || rc != SQLITE_DONE) return -EIO;
  st = store_stmt(c, engine__sql_next_journal);
  if (!st || sqlite3_step(st) != SQLITE_ROW) return -EIO;
  e->next_journal_id = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return 0;
}

/* ---- state arrays --------------------------------------------------------------------------- */

/* The points whose samples evaluate a rule: its point; both points of a deviation rule; every
 * input of a vote rule; every point an expr rule reads; none for an aggregate rule, which its
 * input rules' stage changes evaluate. buf has room for DG_MAX_VOTE_INPUTS. */
static size_t engine__rule_points(const struct dg_rule *r, const uint32_t **pts, uint32_t *buf)
{
  if (r->type == DG_RULE_EXPR) return expr_points(r->expr, pts);
  *pts = buf;
  if (r->type == DG_RULE_AGGREGATE) return 0;
  if (r->type == DG_RULE_VOTE) {
    for (size_t k = 0; k < r->n_inputs; k++) buf[k] = (uint32_t)r->inputs[k]->index;
    return r->n_inputs;
  }
  buf[0] = (uint32_t)r->point->index;
  if (r->type != DG_RULE_DEVIATION) return 1;
  buf[1] = (uint32_t)r->point2->index;
  return 2;
}

static int engine__index_rules(struct engine *e)
{
  const struct dg_config *cfg = e->cfg;
  const uint32_t *pts;
  uint32_t one[DG_MAX_VOTE_INPUTS];
  size_t n_bind = 0;
  for (size_t i = 0; i < cfg->n_rules; i++) n_bind += engine__rule_points(&cfg->rules[i], &pts, one);
  e->point_rule_off = calloc(cfg->n_points + 1, sizeof *e->point_rule_off);
  e->point_rules = malloc((n_bind ? n_bind : 1) * sizeof *e->point_rules);
  if (!e->point_rule_off || !e->point_rules) return -ENOMEM;
  for (size_t i = 0; i < cfg->n_rules; i++)
    for (size_t k = 0, n = engine__rule_points(&cfg->rules[i], &pts, one); k < n; k++) e->point_rule_off[pts[k] + 1]++;
  for (size_t p = 0; p < cfg->n_points; p++) e->point_rule_off[p + 1] += e->point_rule_off[p];
  uint32_t *fill = calloc(cfg->n_points + 1, sizeof *fill);
  if (!fill) return -ENOMEM;
  for (size_t i = 0; i < cfg->n_rules; i++)
    for (size_t k = 0, n = engine__rule_points(&cfg->rules[i], &pts, one); k < n; k++)
      e->point_rules[e->point_rule_off[pts[k]] + fill[pts[k]]++] = (uint32_t)i;
  free(fill);
  e->n_suppress = 0;
  e->suppress_rules = malloc((cfg->n_rules ? cfg->n_rules : 1) * sizeof *e->suppress_rules);
  if (!e->suppress_rules) return -ENOMEM;
  for (size_t i = 0; i < cfg->n_rules; i++)
    if (cfg->rules[i].suppress_point) e->suppress_rules[e->n_suppress++] = (uint32_t)i;
  return 0;
}

static int engine__alloc(struct engine *e)
{
  const struct dg_config *cfg = e->cfg;
  size_t np = cfg->n_points ? cfg->n_points : 1, nr = cfg->n_rules ? cfg->n_rules : 1;
  e->points = calloc(np, sizeof *e->points);
  e->rules = calloc(nr, sizeof *e->rules);
  e->alarms = calloc(nr, sizeof *e->alarms);
  e->deadlines = calloc(nr, sizeof *e->deadlines);
  e->pending = calloc(nr, sizeof *e->pending);
  e->expr_values = calloc(np, sizeof *e->expr_values);
  e->expr_quality = calloc(np, sizeof *e->expr_quality);
  if (!e->points || !e->rules || !e->alarms || !e->deadlines || !e->pending || !e->expr_values || !e->expr_quality)
    return -ENOMEM;
  int64_t now = (int64_t)uv_now(e->loop);
  for (size_t i = 0; i < cfg->n_points; i++) {
    e->points[i].quality = DG_Q_UNKNOWN;
    e->points[i].fresh_ms = now;
  }
  size_t n_rate = 0;
  for (size_t i = 0; i < cfg->n_rules; i++) n_rate += cfg->rules[i].type == DG_RULE_RATE;
  e->rates = calloc(n_rate ? n_rate : 1, sizeof *e->rates);
  if (!e->rates) return -ENOMEM;
  for (size_t i = 0, k = 0; i < cfg->n_rules; i++) {
    rule_state_init(&e->rules[i]);
    e->rules[i].rate = cfg->rules[i].type == DG_RULE_RATE ? &e->rates[k++] : NULL;
    alarm_init(&e->alarms[i], &cfg->rules[i], 0);
  }
  return engine__index_rules(e);
}

static void engine__free_state(struct engine *e)
{
  if (e->alarms && e->cfg)
    for (size_t i = 0; i < e->cfg->n_rules; i++) alarm_release(&e->alarms[i]);
  free(e->points);
  free(e->rules);
  free(e->alarms);
  free(e->deadlines);
  free(e->pending);
  free(e->point_rules);
  free(e->suppress_rules);
  e->suppress_rules = NULL;
  e->n_suppress = 0;
  free(e->point_rule_off);
  free(e->rates);
  free(e->expr_values);
  free(e->expr_quality);
  e->expr_values = NULL;
  e->expr_quality = NULL;
  e->rates = NULL;
  e->points = NULL;
  e->rules = NULL;
  e->alarms = NULL;
  e->deadlines = NULL;
  e->pending = NULL;
  e->point_rules = e->point_rule_off = NULL;
  e->n_pending = 0;
}

/* ---- transitions: one durable job each ------------------------------------------------------ */

struct engine__txn {
  struct engine *e;
  int64_t alarm_id;
  const char *state, *stage, *priority;
  int active;
  double value;
  int64_t first_ms, last_ms, cleared_ms, ack_ms, updated_ms;
  char *ack_user, *ack_comment;
  uint32_t activations;
  int64_t journal_id;
  struct alarm_transition tr;
  const char *tr_stage;
  char *actor, *comment;
  struct hazard_change hc;
  struct notify_msg *msgs;
  struct esc_change *esc;
  int64_t shelved_until_ms;
  char *shelve_reason;
  int latched, out_of_service;
};

static const char *const engine__sql_alarm =
  "UPDATE alarms SET state = ?2, active = ?3, stage = ?4, priority = ?5, value = ?6, first_active_ms = ?7,"
  " last_active_ms = ?8, cleared_ms = ?9, ack_user = ?10, ack_comment = ?11, ack_ms = ?12, activations = ?13,"
  " updated_ms = ?14, shelved_until_ms = ?15, shelve_reason = ?16, latched = ?17, out_of_service = ?18"
  " WHERE id = ?1";
static const char *const engine__sql_journal =
  "INSERT INTO alarm_journal (id, alarm_id, ts_ms, event, from_state, to_state, stage, priority, value, actor,"
  " comment) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

static int engine__write_alarm(struct store_conn *c, const struct engine__txn *t)
{
  sqlite3_stmt *st = store_stmt(c, engine__sql_alarm);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, t->alarm_id);
  store_bind_text(st, 2, t->state);
  sqlite3_bind_int(st, 3, t->active);
  store_bind_text(st, 4, t->stage);
  store_bind_text(st, 5, t->priority);
  sqlite3_bind_double(st, 6, t->value);
  store_bind_ms(st, 7, t->first_ms);
  store_bind_ms(st, 8, t->last_ms);
  store_bind_ms(st, 9, t->cleared_ms);
  store_bind_text(st, 10, t->ack_user);
  store_bind_text(st, 11, t->ack_comment);
  store_bind_ms(st, 12, t->ack_ms);
  sqlite3_bind_int(st, 13, (int)t->activations);
  sqlite3_bind_int64(st, 14, t->updated_ms);
  store_bind_ms(st, 15, t->shelved_until_ms);
  store_bind_text(st, 16, t->shelve_reason);
  sqlite3_bind_int(st, 17, t->latched);
  sqlite3_bind_int(st, 18, t->out_of_service);
  return store_step_done(st);
}

static int engine__write_journal(struct store_conn *c, const struct engine__txn *t)
{
  sqlite3_stmt *st = store_stmt(c, engine__sql_journal);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, t->journal_id);
  sqlite3_bind_int64(st, 2, t->alarm_id);
  sqlite3_bind_int64(st, 3, t->tr.ts_ms);
  store_bind_text(st, 4, alarm_event_name(t->tr.event));
  store_bind_text(st, 5, alarm_state_name(t->tr.from));
  store_bind_text(st, 6, alarm_state_name(t->tr.to));
  store_bind_text(st, 7, t->tr_stage);
  store_bind_text(st, 8, t->tr.priority ? dg_priority_name(t->tr.priority) : NULL);
  sqlite3_bind_double(st, 9, t->tr.value);
  store_bind_text(st, 10, t->actor);
  store_bind_text(st, 11, t->comment);
  return store_step_done(st);
}

static int engine__txn_work(struct store_conn *c, void *arg)
{
  struct engine__txn *t = arg;
  int rc = engine__write_alarm(c, t);
  if (rc == SQLITE_OK) rc = engine__write_journal(c, t);
  if (rc == SQLITE_OK && t->hc.kind != HAZARD_NONE) rc = hazard_write(c, &t->hc);
  if (rc == SQLITE_OK) rc = notify_msg_write(c, t->msgs);
  if (rc == SQLITE_OK) rc = escalate_write(c, t->esc);
  return rc;
}

static void engine__txn_free(struct engine__txn *t)
{
  free(t->ack_user);
  free(t->ack_comment);
  free(t->actor);
  free(t->comment);
  free(t->shelve_reason);
  hazard_change_release(&t->hc);
  notify_msg_free_list(t->msgs);
  escalate_change_free(t->esc);
  free(t);
}

static void engine__txn_done(void *arg, int rc);

static void engine__retry_cb(uv_timer_t *timer)
{
  struct engine__txn *t = timer->data;
  uv_close((uv_handle_t *)timer, (uv_close_cb)free);
  int rc = store_submit_urgent(t->e->store, engine__txn_work, engine__txn_done, t);
  if (rc) engine__txn_done(t, rc);
}

static void engine__txn_done(void *arg, int rc)
{
  struct engine__txn *t = arg;
  struct engine *e = t->e;
  if (rc == 0) {
    notify_send(e->notify, t->msgs);
    t->msgs = NULL;
    engine__txn_free(t);
    return;
  }
  /* The transition is not durable yet, so it may not be announced: keep trying. A database
   * that cannot commit is itself an emergency, logged on every failure. */
  e->stats.commits_failed++;
  uv_timer_t *timer = rc == -ESHUTDOWN ? NULL : malloc(sizeof *timer);
  if (!timer) {
    DG_ERR("engine", "alarm %lld transition lost: not committed (rc %d)", (long long)t->alarm_id, rc);
    engine__txn_free(t);
    return;
  }
  DG_ERR("engine", "alarm %lld transition not committed (rc %d); retrying", (long long)t->alarm_id, rc);
  uv_timer_init(e->loop, timer);
  timer->data = t;
  uv_timer_start(timer, engine__retry_cb, COMMIT_RETRY_MS, 0);
}

/* ---- notification bodies -------------------------------------------------------------------- */

static const char *engine__event_zh(enum alarm_event ev)
{
  switch (ev) {
  case ALARM_EV_ACTIVATE: return "报警";
  case ALARM_EV_ESCALATE: return "报警升级";
  case ALARM_EV_DEESCALATE: return "报警降级";
  case ALARM_EV_CLEAR: return "报警恢复";
  case ALARM_EV_ACK: return "报警确认";
  case ALARM_EV_UNSHELVE: return "报警解除搁置";
  case ALARM_EV_RETURN_TO_SERVICE: return "报警恢复投用";
  default: return "";
  }
}

static const char *engine__priority_zh(enum dg_priority p)
{
  static const char *const names[] = {"", "低", "中", "高", "紧急"};
  return names[p];
}

static void engine__add_text(cJSON *o, const char *k, const char *v)
{
  if (v) cJSON_AddStringToObject(o, k, v);
  else cJSON_AddNullToObject(o, k);
}

static void engine__body_texts(cJSON *root, const struct engine__txn *t, const struct alarm *a)
{
  char cond_zh[400], cond_en[400], zh[512], en[512];
  describe_condition(a->rule, t->tr.stage, t->tr.value, cond_zh, sizeof cond_zh, cond_en, sizeof cond_en);
  if (t->tr.stage >= 0) {
    snprintf(zh, sizeof zh, "【%s】%s，优先级：%s", engine__event_zh(t->tr.event), cond_zh,
             engine__priority_zh(t->tr.priority));
    snprintf(en, sizeof en, "[%s] %s, priority %s", alarm_event_name(t->tr.event), cond_en,
             dg_priority_name(t->tr.priority));
  } else {
    snprintf(zh, sizeof zh, "【%s】%s", engine__event_zh(t->tr.event), cond_zh);
    snprintf(en, sizeof en, "[%s] %s", alarm_event_name(t->tr.event), cond_en);
  }
  cJSON_AddStringToObject(root, "text_zh", zh);
  cJSON_AddStringToObject(root, "text_en", en);
}

static void engine__body_plant(const struct engine *e, cJSON *root, const struct dg_rule *r)
{
  const struct dg_measure *m = r->measure;
  const struct dg_event *ev = m ? m->event : NULL;
  const struct dg_unit *unit = ev ? ev->unit : NULL;
  if (!unit && r->point->unit_id) unit = dg_config_unit(e->cfg, r->point->unit_id);
  if (m) {
    cJSON *jm = cJSON_AddObjectToObject(root, "measure");
    engine__add_text(jm, "id", m->id);
    engine__add_text(jm, "desc", m->desc);
  }
  if (unit) {
    cJSON *ju = cJSON_AddObjectToObject(root, "unit");
    engine__add_text(ju, "id", unit->id);
    engine__add_text(ju, "name", unit->name);
    engine__add_text(ju, "level", dg_level_name(unit->level));
    engine__add_text(ju, "liable_person", unit->person);
    if (unit->source) {
      cJSON *js = cJSON_AddObjectToObject(root, "hazard_source");
      engine__add_text(js, "id", unit->source->id);
      engine__add_text(js, "name", unit->source->name);
      cJSON_AddBoolToObject(js, "major", unit->source->is_major);
    }
  }
}

static char *engine__body(const struct engine *e, const struct engine__txn *t, const struct alarm *a)
{
  const struct dg_rule *r = a->rule;
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "kind", "alarm");
  cJSON_AddStringToObject(root, "event", alarm_event_name(t->tr.event));
  cJSON_AddNumberToObject(root, "ts_ms", (double)t->tr.ts_ms);
  cJSON *site = cJSON_AddObjectToObject(root, "site");
  engine__add_text(site, "code", e->cfg->site_code);
  engine__add_text(site, "name", e->cfg->site_name);
  cJSON *ja = cJSON_AddObjectToObject(root, "alarm");
  cJSON_AddNumberToObject(ja, "id", (double)a->id);
  engine__add_text(ja, "rule", r->id);
  engine__add_text(ja, "rule_name", r->name);
  engine__add_text(ja, "state", alarm_state_name(t->tr.to));
  engine__add_text(ja, "stage", t->tr_stage);
  engine__add_text(ja, "priority", t->tr.priority ? dg_priority_name(t->tr.priority) : NULL);
  if (t->tr.stage >= 0) cJSON_AddNumberToObject(ja, "limit", r->stages[t->tr.stage].limit);
  cJSON_AddNumberToObject(ja, "value", t->tr.value);
  cJSON *jp = cJSON_AddObjectToObject(root, "point");
  engine__add_text(jp, "id", r->point->id);
  engine__add_text(jp, "name", r->point->name);
  engine__add_text(jp, "eng_unit", r->point->eng_unit);
  engine__body_plant(e, root, r);
  if (t->hc.kind != HAZARD_NONE) {
    cJSON *jh = cJSON_AddObjectToObject(root, "hazard");
    cJSON_AddNumberToObject(jh, "id", (double)t->hc.hazard_id);
    cJSON_AddStringToObject(jh, "code", t->hc.code);
    cJSON_AddBoolToObject(jh, "new", t->hc.kind == HAZARD_OPEN);
  }
  engine__body_texts(root, t, a);
  char *s = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  return s;
}

static int engine__has_channel(const struct notify_msg *list, const char *id)
{
  for (; list; list = list->next)
    if (strcmp(list->channel, id) == 0) return 1;
  return 0;
}

static void engine__build_msgs(struct engine *e, struct engine__txn *t, const struct alarm *a)
{
  enum alarm_event ev = t->tr.event;
  /* An alarm back in annunciation with its condition active is announced like an activation. */
  int resumed = (ev == ALARM_EV_UNSHELVE || ev == ALARM_EV_RETURN_TO_SERVICE || ev == ALARM_EV_UNSUPPRESS) &&
                t->tr.to == ALARM_UNACK;
  if (ev != ALARM_EV_ACTIVATE && ev != ALARM_EV_ESCALATE && ev != ALARM_EV_CLEAR && !resumed) return;
  if (alarm_is_silenced(a)) return;
  char ref[96];
  snprintf(ref, sizeof ref, "alarm:%lld:journal:%lld", (long long)a->id, (long long)t->journal_id);
  for (size_t i = 0; i < e->cfg->n_policies; i++) {
    const struct dg_policy *pol = &e->cfg->policies[i];
    if (!(pol->priority_mask & (1u << t->tr.priority))) continue;
    for (size_t k = 0; k < pol->n_channels; k++) {
      const struct dg_channel *ch = pol->channels[k];
      if (engine__has_channel(t->msgs, ch->id)) continue;
      char *body = engine__body(e, t, a);
      struct notify_msg *m = body ? notify_msg_new(e->notify, ch, ref, body, t->tr.ts_ms) : NULL;
      if (!m) {
        DG_ERR("engine", "out of memory building a notification");
        continue;
      }
      m->next = t->msgs;
      t->msgs = m;
    }
  }
}

/* What the transition means to escalation: a start, a jump to a worse stage, a stop, a notice. */
static void engine__escalate(struct engine *e, struct engine__txn *t, const struct alarm *a, int resumed)
{
  static const struct { enum alarm_event ev; enum esc_event kind; unsigned stop; } map[] = {
    {ALARM_EV_ACTIVATE, ESC_EV_ALARM_ACTIVATE, 0}, {ALARM_EV_ESCALATE, ESC_EV_ALARM_ESCALATE, 0},
    {ALARM_EV_CLEAR, ESC_EV_ALARM_RTN, ESC_STOP_RTN}, {ALARM_EV_ACK, ESC_EV_ALARM_ACK, ESC_STOP_ACKED},
    {ALARM_EV_SHELVE, ESC_EV_COUNT, ESC_STOP_SHELVED}, {ALARM_EV_OUT_OF_SERVICE, ESC_EV_COUNT, ESC_STOP_OUT_OF_SERVICE},
    {ALARM_EV_SUPPRESS, ESC_EV_COUNT, ESC_STOP_SHELVED}};
  struct esc_alarm ev = {.kind = resumed ? ESC_EV_ALARM_ACTIVATE : ESC_EV_COUNT, .alarm_id = a->id, .rule = a->rule,
                         .stage = t->tr_stage, .priority = t->tr.priority, .value = t->tr.value, .ts_ms = t->tr.ts_ms,
                         .has_limit = t->tr.stage >= 0, .hazard_code = t->hc.kind != HAZARD_NONE ? t->hc.code : NULL};
  if (ev.has_limit) ev.limit = a->rule->stages[t->tr.stage].limit;
  for (size_t i = 0; !resumed && i < sizeof map / sizeof map[0]; i++)
    if (map[i].ev == t->tr.event) ev.kind = map[i].kind, ev.stop = map[i].stop;
  if (ev.kind == ESC_EV_COUNT && !ev.stop) return;
  t->esc = escalate_on_alarm(e->escalate, &ev, &t->msgs);
}

static char *engine__strdup0(const char *s) { return s ? strdup(s) : NULL; }

static void engine__commit(struct engine *e, struct alarm *a, const struct alarm_transition *tr, const char *actor,
                           const char *comment)
{
  struct engine__txn *t = calloc(1, sizeof *t);
  if (!t) {
    DG_ERR("engine", "out of memory committing alarm %lld", (long long)a->id);
    return;
  }
  const struct dg_rule *r = a->rule;
  t->e = e;
  t->alarm_id = a->id;
  t->state = alarm_state_name(a->state);
  t->active = alarm_is_active(a);
  t->stage = a->stage >= 0 ? r->stages[a->stage].name : NULL;
  t->priority = a->priority ? dg_priority_name(a->priority) : NULL;
  t->value = a->value;
  t->first_ms = a->first_active_ms;
  t->last_ms = a->last_active_ms;
  t->cleared_ms = a->cleared_ms;
  t->ack_ms = a->ack_ms;
  t->ack_user = engine__strdup0(a->ack_user);
  t->ack_comment = engine__strdup0(a->ack_comment);
  t->activations = a->activations;
  t->updated_ms = tr->ts_ms;
  t->journal_id = e->next_journal_id++;
  t->tr = *tr;
  t->tr_stage = tr->stage >= 0 ? r->stages[tr->stage].name : NULL;
  t->actor = engine__strdup0(actor);
  t->comment = engine__strdup0(comment);
  t->shelved_until_ms = a->shelved_until_ms;
  t->shelve_reason = engine__strdup0(a->shelve_reason);
  t->latched = a->state == ALARM_LATCHED;
  t->out_of_service = a->state == ALARM_OUT_OF_SERVICE;
  if (tr->event == ALARM_EV_ACTIVATE)
    hazard_on_activation(e->ledger, r, tr->stage, tr->value, a->id, tr->ts_ms, &t->hc);
  engine__build_msgs(e, t, a);
  if (e->escalate) engine__escalate(e, t, a, (tr->event == ALARM_EV_UNSHELVE || tr->event == ALARM_EV_RETURN_TO_SERVICE ||
                                              tr->event == ALARM_EV_UNSUPPRESS) && tr->to == ALARM_UNACK);
  e->stats.transitions++;
  DG_INFO("alarm", "%s %s: %s → %s (stage %s, value %g)", r->id, alarm_event_name(tr->event),
          alarm_state_name(tr->from), alarm_state_name(tr->to), t->tr_stage ? t->tr_stage : "-", tr->value);
  int rc = store_submit_urgent(e->store, engine__txn_work, engine__txn_done, t);
  if (rc) engine__txn_done(t, rc);
}

/* ---- rule evaluation and delays ------------------------------------------------------------- */

static void engine__arm_delay_timer(struct engine *e);

static void engine__set_deadline(struct engine *e, uint32_t rule, int64_t deadline)
{
  if (deadline && !e->deadlines[rule]) e->pending[e->n_pending++] = rule;
  e->deadlines[rule] = deadline;
}

static int engine__is_fault_rule(const struct dg_rule *r)
{
  return r->type == DG_RULE_STALE || r->type == DG_RULE_QUALITY || r->type == DG_RULE_EXPR;
}

static int engine__is_fault_quality(uint8_t q)
{
  return q == DG_Q_COMM || q == DG_Q_DEVICE || q == DG_Q_BAD_PAYLOAD;
}

static void engine__eval_aggregates(struct engine *e, uint32_t input);

static void engine__stage_changed(struct engine *e, uint32_t ri)
{
  struct alarm *a = &e->alarms[ri];
  struct alarm_transition tr;
  const struct dg_rule *r = &e->cfg->rules[ri];
  /* A fault rule's own value is its fault flag; the journal shows the point's last value. */
  double value = engine__is_fault_rule(r) ? e->points[r->point->index].value : e->rules[ri].value;
  if (alarm_on_stage(a, e->rules[ri].stage, value, dg_wall_ms(), &tr))
    engine__commit(e, a, &tr, "system", NULL);
  if (r->agg_input) engine__eval_aggregates(e, ri);
}

/* Re-evaluates the aggregate rules that read rule `input` (inputs are high/low rules only, so
 * this does not recurse further). */
static void engine__eval_aggregates(struct engine *e, uint32_t input)
{
  int64_t now = (int64_t)uv_now(e->loop);
  for (size_t ai = 0; ai < e->cfg->n_rules; ai++) {
    const struct dg_rule *r = &e->cfg->rules[ai];
    if (r->type != DG_RULE_AGGREGATE) continue;
    int8_t stages[DG_MAX_AGG_INPUTS];
    int reads = 0;
    for (size_t k = 0; k < r->n_agg_inputs && k < DG_MAX_AGG_INPUTS; k++) {
      stages[k] = e->rules[r->agg_inputs[k]->index].stage;
      reads |= r->agg_inputs[k]->index == input;
    }
    if (!reads) continue;
    int64_t deadline;
    if (rule_eval_aggregate(r, &e->rules[ai], stages, now, &deadline)) engine__stage_changed(e, (uint32_t)ai);
    engine__set_deadline(e, (uint32_t)ai, deadline);
  }
}

/* A deviation rule compares with the other point's last value, and holds while that one has no
 * good value (its quality is bad or it never reported). */
static int engine__eval_deviation(struct engine *e, uint32_t ri, uint32_t p, double value, int64_t now,
                                  int64_t *deadline)
{
  const struct dg_rule *r = &e->cfg->rules[ri];
  const struct point_rt *other = &e->points[r->point->index == p ? r->point2->index : r->point->index];
  *deadline = 0;
  if (!other->has_value || other->quality != DG_Q_GOOD) {
    rule_cancel_pending(&e->rules[ri]);
    return 0;
  }
  return rule_eval_pair(r, &e->rules[ri], value, other->value, now, deadline);
}

/* A vote rule counts its inputs' last good values; an input with bad quality does not vote. */
static int engine__eval_vote(struct engine *e, uint32_t ri, int64_t now, int64_t *deadline)
{
  const struct dg_rule *r = &e->cfg->rules[ri];
  double values[DG_MAX_VOTE_INPUTS];
  uint8_t good[DG_MAX_VOTE_INPUTS];
  for (size_t i = 0; i < r->n_inputs && i < DG_MAX_VOTE_INPUTS; i++) {
    const struct point_rt *pt = &e->points[r->inputs[i]->index];
    values[i] = pt->value;
    good[i] = pt->has_value && pt->quality == DG_Q_GOOD;
  }
  return rule_eval_vote(r, &e->rules[ri], values, good, now, deadline);
}

/* An expr rule after a sample of one of its points. An unknown result (an input without a good
 * value, a division by zero) holds the rule where it is and drops a pending delay. */
static void engine__eval_expr(struct engine *e, uint32_t ri, int64_t now)
{
  const struct dg_rule *r = &e->cfg->rules[ri];
  const uint32_t *pts;
  for (size_t k = 0, n = expr_points(r->expr, &pts); k < n; k++) {
    const struct point_rt *pt = &e->points[pts[k]];
    e->expr_values[pts[k]] = pt->value;
    e->expr_quality[pts[k]] = pt->has_value ? pt->quality : DG_Q_UNKNOWN;
  }
  enum expr_result res = expr_eval(r->expr, e->expr_values, e->expr_quality);
  int64_t deadline = 0;
  if (res == EXPR_UNKNOWN) rule_cancel_pending(&e->rules[ri]);
  else if (rule_eval_fault(r, &e->rules[ri], res == EXPR_TRUE, now, &deadline)) engine__stage_changed(e, ri);
  engine__set_deadline(e, ri, deadline);
}

/* Suppression by design: the rules whose suppress_when reads point p follow its new sample. */
static void engine__eval_suppress(struct engine *e, uint32_t p)
{
  const struct point_rt *pt = &e->points[p];
  for (size_t k = 0; k < e->n_suppress; k++) {
    uint32_t ri = e->suppress_rules[k];
    const struct dg_rule *r = &e->cfg->rules[ri];
    if (r->suppress_point->index != p) continue;
    int holds = pt->quality == DG_Q_GOOD && pt->has_value &&
                (r->suppress_below ? pt->value < r->suppress_limit : pt->value > r->suppress_limit);
    struct alarm_transition tr;
    if (alarm_set_suppressed(&e->alarms[ri], holds, dg_wall_ms(), &tr))
      engine__commit(e, &e->alarms[ri], &tr, "system", NULL);
  }
}

static void engine__eval_point(struct engine *e, uint32_t p, double value, int64_t now)
{
  for (uint32_t k = e->point_rule_off[p]; k < e->point_rule_off[p + 1]; k++) {
    uint32_t ri = e->point_rules[k];
    const struct dg_rule *r = &e->cfg->rules[ri];
    int64_t deadline;
    int changed;
    if (r->type == DG_RULE_EXPR) {
      engine__eval_expr(e, ri, now);
      continue;
    }
    changed = r->type == DG_RULE_VOTE          ? engine__eval_vote(e, ri, now, &deadline)
              : r->type == DG_RULE_DEVIATION   ? engine__eval_deviation(e, ri, p, value, now, &deadline)
              : engine__is_fault_rule(r)       ? rule_eval_fault(r, &e->rules[ri], 0, now, &deadline)
                                               : rule_eval(r, &e->rules[ri], value, now, &deadline);
    if (changed) engine__stage_changed(e, ri);
    engine__set_deadline(e, ri, deadline);
  }
}

/* A sample without a usable value: limit rules hold where they are (their delays cannot be
 * confirmed), quality rules see the fault, stale rules wait for a good sample. */
static void engine__hold_point(struct engine *e, uint32_t p, uint8_t quality, int64_t now)
{
  for (uint32_t k = e->point_rule_off[p]; k < e->point_rule_off[p + 1]; k++) {
    uint32_t ri = e->point_rules[k];
    const struct dg_rule *r = &e->cfg->rules[ri];
    if (r->type == DG_RULE_STALE) continue;
    int64_t deadline;
    if (r->type == DG_RULE_EXPR) {
      engine__eval_expr(e, ri, now);
      continue;
    }
    if (r->type == DG_RULE_VOTE) {
      if (engine__eval_vote(e, ri, now, &deadline)) engine__stage_changed(e, ri);
      engine__set_deadline(e, ri, deadline);
      continue;
    }
    if (r->type != DG_RULE_QUALITY) {
      rule_cancel_pending(&e->rules[ri]);
      engine__set_deadline(e, ri, 0);
      continue;
    }
    if (rule_eval_fault(r, &e->rules[ri], engine__is_fault_quality(quality), now, &deadline))
      engine__stage_changed(e, ri);
    engine__set_deadline(e, ri, deadline);
  }
}

static void engine__on_stale_timer(uv_timer_t *timer)
{
  struct engine *e = timer->data;
  int64_t now = (int64_t)uv_now(e->loop);
  for (size_t ri = 0; ri < e->cfg->n_rules; ri++) {
    const struct dg_rule *r = &e->cfg->rules[ri];
    if (r->type != DG_RULE_STALE) continue;
    /* Only a good sample ends staleness (engine__eval_point); the sweep only raises it. */
    int fault = now - e->points[r->point->index].fresh_ms >= (int64_t)r->timeout_ms;
    if (!fault || e->rules[ri].pending >= 0) continue;
    int64_t deadline;
    if (rule_eval_fault(r, &e->rules[ri], 1, now, &deadline)) engine__stage_changed(e, (uint32_t)ri);
    engine__set_deadline(e, (uint32_t)ri, deadline);
  }
  engine__arm_delay_timer(e);
}

static void engine__start_stale_timer(struct engine *e)
{
  for (size_t ri = 0; ri < e->cfg->n_rules; ri++)
    if (e->cfg->rules[ri].type == DG_RULE_STALE) {
      uv_timer_start(&e->stale_timer, engine__on_stale_timer, STALE_SWEEP_MS, STALE_SWEEP_MS);
      return;
    }
  uv_timer_stop(&e->stale_timer);
}

static void engine__on_delay_timer(uv_timer_t *timer)
{
  struct engine *e = timer->data;
  int64_t now = (int64_t)uv_now(e->loop);
  size_t kept = 0;
  for (size_t i = 0; i < e->n_pending; i++) {
    uint32_t ri = e->pending[i];
    int64_t deadline = e->deadlines[ri];
    if (deadline && deadline <= now) {
      if (rule_tick(&e->cfg->rules[ri], &e->rules[ri], now, &deadline)) engine__stage_changed(e, ri);
      e->deadlines[ri] = deadline;
    }
    if (e->deadlines[ri]) e->pending[kept++] = ri;
  }
  e->n_pending = kept;
  engine__arm_delay_timer(e);
}

static void engine__arm_delay_timer(struct engine *e)
{
  int64_t next = INT64_MAX;
  size_t kept = 0;
  for (size_t i = 0; i < e->n_pending; i++) {
    uint32_t ri = e->pending[i];
    if (!e->deadlines[ri]) continue;
    e->pending[kept++] = ri;
    if (e->deadlines[ri] < next) next = e->deadlines[ri];
  }
  e->n_pending = kept;
  if (next == INT64_MAX) {
    uv_timer_stop(&e->delay_timer);
    return;
  }
  int64_t now = (int64_t)uv_now(e->loop);
  uv_timer_start(&e->delay_timer, engine__on_delay_timer, next > now ? (uint64_t)(next - now) : 0, 0);
}

/* ---- history -------------------------------------------------------------------------------- */

static int engine__history_due(const struct dg_point *cp, const struct point_rt *pt, const struct dg_sample *s)
{
  if (!pt->stored_ms || pt->stored_quality != s->quality) return 1;
  if (s->ts_ms - pt->stored_ms >= HISTORY_MAX_INTERVAL_MS) return 1;
  if (s->quality != DG_Q_GOOD) return 0;
  double d = fabs(s->value - pt->stored_value);
  return cp->deadband > 0 ? d > cp->deadband : d > 0;
}

static void engine__history_add(struct engine *e, const struct dg_sample *s)
{
  struct point_rt *pt = &e->points[s->point];
  if (!engine__history_due(&e->cfg->points[s->point], pt, s)) return;
  if (e->n_history == e->cap_history) {
    size_t cap = e->cap_history ? e->cap_history * 2 : 1024;
    struct history_row *h = realloc(e->history, cap * sizeof *h);
    if (!h) {
      DG_LOG_RL(DG_LOG_ERR, "history", "out of memory: sample of %s not stored", e->cfg->points[s->point].id);
      return;
    }
    e->history = h;
    e->cap_history = cap;
  }
  e->history[e->n_history++] = (struct history_row){s->point, s->quality, s->value, s->ts_ms};
  pt->stored_value = s->value;
  pt->stored_ms = s->ts_ms;
  pt->stored_quality = s->quality;
}

struct engine__batch {
  struct engine *e;
  const struct dg_config *cfg;
  struct history_row *rows;
  size_t n;
  int64_t prune_before_ms;
};

static const char *const engine__sql_sample = "INSERT INTO samples (point, ts_ms, value, quality) VALUES (?1, ?2, ?3, ?4)";
static const char *const engine__sql_prune = "DELETE FROM samples WHERE ts_ms < ?1";

static int engine__batch_work(struct store_conn *c, void *arg)
{
  struct engine__batch *b = arg;
  for (size_t i = 0; i < b->n; i++) {
    const struct history_row *h = &b->rows[i];
    sqlite3_stmt *st = store_stmt(c, engine__sql_sample);
    if (!st) return SQLITE_ERROR;
    sqlite3_bind_text(st, 1, b->cfg->points[h->point].id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, h->ts_ms);
    if (h->quality == DG_Q_GOOD) sqlite3_bind_double(st, 3, h->value);
    else sqlite3_bind_null(st, 3);
    sqlite3_bind_int(st, 4, h->quality);
    int rc = store_step_done(st);
    if (rc == SQLITE_OK && i % ENGINE_HISTORY_YIELD_ROWS == ENGINE_HISTORY_YIELD_ROWS - 1) rc = store_yield(c);
    if (rc != SQLITE_OK) return rc;
  }
  if (!b->prune_before_ms) return SQLITE_OK;
  sqlite3_stmt *st = store_stmt(c, engine__sql_prune);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, b->prune_before_ms);
  return store_step_done(st);
}

static void engine__batch_done(void *arg, int rc)
{
  struct engine__batch *b = arg;
  if (rc) DG_LOG_RL(DG_LOG_ERR, "history", "%zu samples could not be stored (rc %d)", b->n, rc);
  else b->e->stats.history_rows += b->n;
  free(b->rows);
  free(b);
}

/* History goes to the writer in bounded chunks so that an urgent transition never waits for
 * more than one chunk's transaction. */
static void engine__submit_batch(struct engine *e, struct history_row *rows, size_t n, int64_t prune_before_ms)
{
  struct engine__batch *b = calloc(1, sizeof *b);
  if (!b) {
    free(rows);
    return;
  }
  b->e = e;
  b->cfg = e->cfg;
  b->rows = rows;
  b->n = n;
  b->prune_before_ms = prune_before_ms;
  int rc = store_submit(e->store, engine__batch_work, engine__batch_done, b);
  if (rc) engine__batch_done(b, rc);
}

void engine_flush_history(struct engine *e)
{
  int64_t now = dg_wall_ms();
  for (size_t off = 0; off < e->n_history; off += HISTORY_CHUNK_ROWS) {
    size_t n = e->n_history - off < HISTORY_CHUNK_ROWS ? e->n_history - off : HISTORY_CHUNK_ROWS;
    struct history_row *rows = malloc(n * sizeof *rows);
    if (!rows) {
      DG_LOG_RL(DG_LOG_ERR, "history", "out of memory: %zu samples not stored", n);
      continue;
    }
    memcpy(rows, e->history + off, n * sizeof *rows);
    engine__submit_batch(e, rows, n, 0);
  }
  e->n_history = 0;
  if (now - e->last_prune_ms >= 3600 * 1000) {
    e->last_prune_ms = now;
    engine__submit_batch(e, NULL, 0, now - HISTORY_RETENTION_MS);
  }
}

static void engine__on_flush_timer(uv_timer_t *t) { engine_flush_history(t->data); }

/* ---- samples -------------------------------------------------------------------------------- */

void engine_on_samples(void *ud, const struct dg_sample *s, size_t n)
{
  struct engine *e = ud;
  int64_t now = (int64_t)uv_now(e->loop), wall = dg_wall_ms();
  for (size_t i = 0; i < n; i++) {
    uint32_t p = s[i].point;
    if (p >= e->cfg->n_points) continue;
    struct point_rt *pt = &e->points[p];
    engine__history_add(e, &s[i]);
    pt->quality = s[i].quality;
    pt->ts_ms = s[i].ts_ms;
    pt->received_ms = wall;
    pt->samples++;
    e->stats.samples++;
    if (s[i].quality == DG_Q_GOOD) {
      pt->value = s[i].value;
      pt->has_value = 1;
      pt->fresh_ms = now;
      engine__eval_suppress(e, p);
      engine__eval_point(e, p, s[i].value, now);
    } else {
      e->stats.bad_samples++;
      engine__eval_suppress(e, p);
      engine__hold_point(e, p, s[i].quality, now);
    }
  }
  engine__arm_delay_timer(e);
}

/* ---- public --------------------------------------------------------------------------------- */

struct alarm *engine_alarm_by_id(struct engine *e, int64_t id)
{
  for (size_t i = 0; i < e->cfg->n_rules; i++)
    if (e->alarms[i].id == id) return &e->alarms[i];
  return NULL;
}

int engine_ack(struct engine *e, int64_t alarm_id, const char *user, const char *comment)
{
  struct alarm *a = engine_alarm_by_id(e, alarm_id);
  if (!a) return -ENOENT;
  struct alarm_transition tr;
  int rc = alarm_ack(a, user, comment, dg_wall_ms(), &tr);
  if (rc < 0) return rc;
  engine__commit(e, a, &tr, user, comment);
  return 1;
}

/* ---- operator transitions and shelve expiry ------------------------------------------------ */

static void engine__arm_shelve_timer(struct engine *e);

static void engine__on_shelve_timer(uv_timer_t *timer)
{
  struct engine *e = timer->data;
  int64_t now = dg_wall_ms();
  for (size_t i = 0; i < e->cfg->n_rules; i++) {
    struct alarm *a = &e->alarms[i];
    struct alarm_transition tr;
    if (a->state == ALARM_SHELVED && a->shelved_until_ms <= now && alarm_unshelve(a, "system", now, &tr) == 1)
      engine__commit(e, a, &tr, "system", "shelve expired");
  }
  engine__arm_shelve_timer(e);
}

static void engine__arm_shelve_timer(struct engine *e)
{
  int64_t next = INT64_MAX;
  for (size_t i = 0; i < e->cfg->n_rules; i++)
    if (e->alarms[i].state == ALARM_SHELVED && e->alarms[i].shelved_until_ms < next) next = e->alarms[i].shelved_until_ms;
  if (next == INT64_MAX) {
    uv_timer_stop(&e->shelve_timer);
    return;
  }
  int64_t now = dg_wall_ms();
  uv_timer_start(&e->shelve_timer, engine__on_shelve_timer, next > now ? (uint64_t)(next - now) : 0, 0);
}

static enum dg_priority engine__shelve_priority(const struct alarm *a)
{
  if (a->priority) return a->priority;
  enum dg_priority p = DG_PRIO_LOW;
  for (size_t i = 0; i < a->rule->n_stages; i++)
    if (a->rule->stages[i].priority > p) p = a->rule->stages[i].priority;
  return p;
}

static int engine__apply_op(struct engine *e, struct alarm *a, enum alarm_event op, const char *user,
                            const char *comment, int64_t shelve_ms, int64_t now, struct alarm_transition *tr)
{
  switch (op) {
  case ALARM_EV_ACK: return alarm_ack(a, user, comment, now, tr);
  case ALARM_EV_SHELVE:
    if (shelve_ms <= 0 || (uint64_t)shelve_ms > e->cfg->max_shelve_ms[engine__shelve_priority(a)]) return -ERANGE;
    return alarm_shelve(a, user, comment, now + shelve_ms, now, tr);
  case ALARM_EV_UNSHELVE: return alarm_unshelve(a, user, now, tr);
  case ALARM_EV_OUT_OF_SERVICE: return alarm_out_of_service(a, user, now, tr);
  case ALARM_EV_RETURN_TO_SERVICE: return alarm_return_to_service(a, user, now, tr);
  case ALARM_EV_RESET: return alarm_reset(a, user, comment, now, tr);
  default: return -EINVAL;
  }
}

int engine_operate(struct engine *e, int64_t alarm_id, enum alarm_event op, const char *user, const char *comment,
                   int64_t shelve_ms)
{
  struct alarm *a = engine_alarm_by_id(e, alarm_id);
  if (!a) return -ENOENT;
  struct alarm_transition tr;
  int rc = engine__apply_op(e, a, op, user, comment, shelve_ms, dg_wall_ms(), &tr);
  if (rc < 0) return rc;
  engine__commit(e, a, &tr, user, comment);
  engine__arm_shelve_timer(e);
  return 1;
}

int engine_init(struct engine *e, uv_loop_t *loop, const struct dg_config *cfg, struct store *store,
                struct ledger *ledger, struct notify *notify)
{
  memset(e, 0, sizeof *e);
  e->loop = loop;
  e->cfg = cfg;
  e->store = store;
  e->ledger = ledger;
  e->notify = notify;
  int rc = engine__alloc(e);
  uint8_t *fresh = calloc(cfg->n_rules + 1, 1);
  if (!rc && !fresh) rc = -ENOMEM;
  if (!rc) {
    memset(fresh, 1, cfg->n_rules);
    rc = engine__load_alarms(e, fresh);
  }
  free(fresh);
  if (rc) {
    engine__free_state(e);
    return rc;
  }
  uv_timer_init(loop, &e->delay_timer);
  e->delay_timer.data = e;
  uv_timer_init(loop, &e->flush_timer);
  e->flush_timer.data = e;
  uv_timer_start(&e->flush_timer, engine__on_flush_timer, cfg->history_flush_ms, cfg->history_flush_ms);
  uv_timer_init(loop, &e->shelve_timer);
  e->shelve_timer.data = e;
  engine__arm_shelve_timer(e);
  uv_timer_init(loop, &e->stale_timer);
  e->stale_timer.data = e;
  engine__start_stale_timer(e);
  return 0;
}

static int engine__same_identity(const struct dg_rule *a, const struct dg_rule *b)
{
  if (a->type != b->type || a->n_stages != b->n_stages || strcmp(a->point->id, b->point->id)) return 0;
  if (a->type == DG_RULE_EXPR && strcmp(a->expr_text, b->expr_text)) return 0;
  for (size_t i = 0; i < a->n_stages; i++)
    if (strcmp(a->stages[i].name, b->stages[i].name) || a->stages[i].limit != b->stages[i].limit) return 0;
  if (!a->point2 != !b->point2 || (a->point2 && strcmp(a->point2->id, b->point2->id))) return 0;
  if (a->n_inputs != b->n_inputs || a->n_agg_inputs != b->n_agg_inputs) return 0;
  for (size_t i = 0; i < a->n_agg_inputs; i++)
    if (strcmp(a->agg_inputs[i]->id, b->agg_inputs[i]->id) || memcmp(a->agg_counts, b->agg_counts, sizeof a->agg_counts))
      return 0;
  for (size_t i = 0; i < a->n_inputs; i++)
    if (strcmp(a->inputs[i]->id, b->inputs[i]->id) || a->input_limits[i] != b->input_limits[i]) return 0;
  return 1;
}

/* Moves the state that survives a reload from the old arrays (o) into the new ones (e). */
static void engine__carry_over(struct engine *e, struct engine *o, uint8_t *fresh)
{
  for (size_t i = 0; i < e->cfg->n_points; i++) {
    const struct dg_point *old = dg_config_point(o->cfg, e->cfg->points[i].id);
    if (old) e->points[i] = o->points[old->index];
  }
  uint32_t *idx = engine__rule_index(o->cfg);
  for (size_t i = 0; idx && i < e->cfg->n_rules; i++) {
    const struct dg_rule *nr = &e->cfg->rules[i];
    const struct dg_rule *old = engine__find_rule(o->cfg, idx, nr->id);
    fresh[i] = !old || !engine__same_identity(old, nr);
    if (fresh[i]) continue;
    struct rule_rate *rate = e->rules[i].rate;
    e->rules[i] = o->rules[old->index];
    e->rules[i].rate = rate;
    if (rate && o->rules[old->index].rate) *rate = *o->rules[old->index].rate;
    e->rules[i].pending = e->rules[i].stage; /* delays restart under the new config */
    alarm_release(&e->alarms[i]);
    e->alarms[i] = o->alarms[old->index];
    e->alarms[i].rule = nr;
    o->alarms[old->index].ack_user = o->alarms[old->index].ack_comment = NULL;
    o->alarms[old->index].shelve_reason = NULL;
  }
  free(idx);
}

int engine_reload(struct engine *e, const struct dg_config *cfg)
{
  engine_flush_history(e);
  struct engine old = *e;
  e->cfg = cfg;
  e->points = NULL;
  int rc = engine__alloc(e);
  uint8_t *fresh = calloc(cfg->n_rules + 1, 1);
  if (!rc && !fresh) rc = -ENOMEM;
  if (!rc) {
    engine__carry_over(e, &old, fresh);
    rc = engine__load_alarms(e, fresh);
  }
  free(fresh);
  if (rc) {
    engine__free_state(e);
    e->cfg = old.cfg;
    e->points = old.points;
    e->rules = old.rules;
    e->alarms = old.alarms;
    e->deadlines = old.deadlines;
    e->pending = old.pending;
    e->n_pending = old.n_pending;
    e->point_rules = old.point_rules;
    e->suppress_rules = old.suppress_rules;
    e->n_suppress = old.n_suppress;
    e->point_rule_off = old.point_rule_off;
    e->rates = old.rates;
    return rc;
  }
  engine__free_state(&old);
  e->n_pending = 0;
  uv_timer_stop(&e->delay_timer);
  uv_timer_start(&e->flush_timer, engine__on_flush_timer, cfg->history_flush_ms, cfg->history_flush_ms);
  engine__arm_shelve_timer(e);
  engine__start_stale_timer(e);
  return 0;
}

void engine_close(struct engine *e)
{
  engine_flush_history(e);
  uv_close((uv_handle_t *)&e->delay_timer, NULL);
  uv_close((uv_handle_t *)&e->flush_timer, NULL);
  uv_close((uv_handle_t *)&e->shelve_timer, NULL);
  uv_close((uv_handle_t *)&e->stale_timer, NULL);
}

void engine_free(struct engine *e)
{
  engine__free_state(e);
  free(e->history);
  e->history = NULL;
}
