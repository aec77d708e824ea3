#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarm_rows.h"
#include "expr.h"
#include "log.h"

#define STALE_SWEEP_MS 500

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
  e->changed = calloc(nr, sizeof *e->changed);
  e->changed_mark = calloc(nr, 1);
  e->n_changed = 0;
  if (!e->points || !e->rules || !e->alarms || !e->deadlines || !e->pending || !e->expr_values || !e->expr_quality ||
      !e->changed || !e->changed_mark)
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
  free(e->changed);
  free(e->changed_mark);
  e->changed = NULL;
  e->changed_mark = NULL;
  e->n_changed = 0;
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

/* ---- rule evaluation and delays ------------------------------------------------------------- */

static void engine__commit(struct engine *e, struct alarm *a, const struct alarm_transition *tr, const char *actor,
                           const char *comment)
{
  size_t ri = (size_t)(a - e->alarms);
  if (!e->changed_mark[ri]) {
    e->changed_mark[ri] = 1;
    e->changed[e->n_changed++] = (uint32_t)ri;
  }
  alarm_txn_commit(&e->txn, e->cfg, a, tr, actor, comment);
}

size_t engine_take_changed(struct engine *e, const uint32_t **rules)
{
  size_t n = e->n_changed;
  *rules = e->changed;
  for (size_t i = 0; i < n; i++) e->changed_mark[e->changed[i]] = 0;
  e->n_changed = 0;
  return n;
}

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

void engine_flush_history(struct engine *e) { history_flush(&e->history, e->cfg); }

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
    history_add(&e->history, e->cfg, &pt->stored, &s[i]);
    pt->quality = s[i].quality;
    pt->ts_ms = s[i].ts_ms;
    pt->received_ms = wall;
    pt->samples++;
    if (s[i].quality <= DG_Q_UNKNOWN) pt->by_quality[s[i].quality]++;
    events_point(e->events, p, e->config_generation, e->cfg->points[p].id, s[i].quality == DG_Q_GOOD || pt->has_value,
                 s[i].quality == DG_Q_GOOD ? s[i].value : pt->value, dg_quality_name(s[i].quality), s[i].ts_ms, wall);
    e->stats.samples++;
    e->stats.rule_evals += e->point_rule_off[p + 1] - e->point_rule_off[p];
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
  e->txn = (struct alarm_txn_ctx){.loop = loop, .store = store, .ledger = ledger, .notify = notify,
                                  .next_journal_id = &e->next_journal_id, .transitions = &e->stats.transitions,
                                  .commits_failed = &e->stats.commits_failed};
  history_init(&e->history, store, &e->stats.history_rows);
  /* The writer ensures the alarm rows while the state arrays are built here. */
  struct alarm_rows_job rows;
  int rc = alarm_rows_ensure(store, cfg, &rows);
  if (!rc) rc = engine__alloc(e);
  uint8_t *fresh = calloc(cfg->n_rules + 1, 1);
  if (!rc && !fresh) rc = -ENOMEM;
  if (!rc) {
    memset(fresh, 1, cfg->n_rules);
    rc = alarm_rows_load(e->store, &rows, e->alarms, e->rules, fresh, &e->next_journal_id);
  }
  alarm_rows_wait(store, &rows);
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
  alarm_txn_start(&e->txn);
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
  uint32_t *idx = alarm_rows_rule_index(o->cfg);
  for (size_t i = 0; idx && i < e->cfg->n_rules; i++) {
    const struct dg_rule *nr = &e->cfg->rules[i];
    const struct dg_rule *old = alarm_rows_find_rule(o->cfg, idx, nr->id);
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
  if (alarm_txn_waiting(&e->txn)) {
    DG_ERR("engine", "alarm transitions wait for the database to take writes: reload refused");
    return -EBUSY;
  }
  engine_flush_history(e);
  struct engine old = *e;
  e->cfg = cfg;
  e->config_generation++;
  e->points = NULL;
  struct alarm_rows_job rows;
  int rc = alarm_rows_ensure(e->store, cfg, &rows);
  if (!rc) rc = engine__alloc(e);
  uint8_t *fresh = calloc(cfg->n_rules + 1, 1);
  if (!rc && !fresh) rc = -ENOMEM;
  if (!rc) {
    engine__carry_over(e, &old, fresh);
    rc = alarm_rows_load(e->store, &rows, e->alarms, e->rules, fresh, &e->next_journal_id);
  }
  alarm_rows_wait(e->store, &rows);
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
    e->expr_values = old.expr_values;
    e->expr_quality = old.expr_quality;
    e->changed = old.changed;
    e->changed_mark = old.changed_mark;
    e->n_changed = old.n_changed;
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
  alarm_txn_close(&e->txn);
}

void engine_free(struct engine *e)
{
  alarm_txn_free(&e->txn);
  engine__free_state(e);
  history_free(&e->history);
}
