#include "rule.h"

#include <math.h>

void rule_state_init(struct rule_state *st)
{
  st->stage = RULE_NORMAL;
  st->pending = RULE_NORMAL;
  st->pending_since_ms = 0;
  st->value = 0;
  st->has_value = 0;
  st->votes = 0;
}

static double rule__deadband(const struct dg_rule *r, int i)
{
  return r->stages[i].own_deadband ? r->stages[i].deadband : r->deadband;
}

static int64_t rule__on_delay(const struct dg_rule *r, int i)
{
  return r->stages[i].own_on_delay ? r->stages[i].on_delay_ms : r->on_delay_ms;
}

static int64_t rule__off_delay(const struct dg_rule *r, int i)
{
  return r->stages[i].own_off_delay ? r->stages[i].off_delay_ms : r->off_delay_ms;
}

/* A stage is entered at its limit and left only beyond limit ∓ its deadband. */
static int rule__stage_holds(const struct dg_rule *r, int i, int current, double value)
{
  double limit = r->stages[i].limit;
  double deadband = rule__deadband(r, i);
  int active = i <= current;
  /* A deviation is "more than" its limit: two sensors exactly `limit` apart still agree. */
  if (r->type == DG_RULE_DEVIATION) return value > limit || (active && value > limit - deadband);
  if (r->type == DG_RULE_VOTE || r->type == DG_RULE_AGGREGATE) return value >= limit; /* counts: no deadband */
  if (r->type != DG_RULE_LOW) return value >= limit || (active && value > limit - deadband);
  return value <= limit || (active && value < limit + deadband);
}

int rule_target_stage(const struct dg_rule *r, int current, double value)
{
  if (r->type == DG_RULE_STALE || r->type == DG_RULE_QUALITY || r->type == DG_RULE_EXPR)
    return value > 0 ? 0 : RULE_NORMAL;
  /* A change holds only at the instant it happens (rule__eval_change). */
  if (r->type == DG_RULE_STATE) return !r->state_change && value == r->state_value ? 0 : RULE_NORMAL;
  for (int i = (int)r->n_stages - 1; i >= 0; i--)
    if (rule__stage_holds(r, i, current, value)) return i;
  return RULE_NORMAL;
}

static int rule__settle(const struct dg_rule *r, struct rule_state *st, int target, int64_t now_ms,
                        int64_t *deadline_ms)
{
  *deadline_ms = 0;
  if (target == st->stage) {
    st->pending = st->stage;
    return 0;
  }
  int rising = target > st->stage;
  /* Keep the delay running while the target stays on the same side of the current stage: a value
   * climbing from H into HH during H's on-delay must not restart the clock. */
  int same_side = st->pending != st->stage && (st->pending > st->stage) == rising;
  if (!same_side) st->pending_since_ms = now_ms;
  st->pending = (int8_t)target;
  /* Entering a stage waits for that stage's on-delay, leaving one for the off-delay of the stage
   * left. */
  int64_t due = st->pending_since_ms + (rising ? rule__on_delay(r, target) : rule__off_delay(r, st->stage));
  if (now_ms >= due) {
    st->stage = (int8_t)target;
    st->pending = st->stage;
    return 1;
  }
  *deadline_ms = due;
  if (!rising) return 0;
  /* A less severe stage with a shorter on-delay is entered meanwhile (HH pending, H due). */
  for (int i = target - 1; i > st->stage; i--) {
    if (now_ms < st->pending_since_ms + rule__on_delay(r, i)) continue;
    st->stage = (int8_t)i;
    return 1;
  }
  for (int i = target - 1; i > st->stage; i--) {
    int64_t at = st->pending_since_ms + rule__on_delay(r, i);
    if (at < *deadline_ms) *deadline_ms = at;
  }
  return 0;
}

/* Keeps history within the window; sets *rate from the oldest pair in it. 0, or -1 when the
 * history spans less than one slot. */
static int rule__rate(const struct dg_rule *r, struct rule_rate *rr, double value, int64_t now_ms, double *rate)
{
  int64_t slot_ms = r->rate_window_ms / RULE_RATE_SLOTS;
  while (rr->n && now_ms - rr->t_ms[rr->first] > (int64_t)r->rate_window_ms) {
    rr->first = (uint8_t)((rr->first + 1) % RULE_RATE_SLOTS);
    rr->n--;
  }
  int have = rr->n && now_ms - rr->t_ms[rr->first] >= slot_ms && now_ms > rr->t_ms[rr->first];
  if (have) *rate = (value - rr->v[rr->first]) / (double)(now_ms - rr->t_ms[rr->first]) * r->rate_per_ms;
  int last = (rr->first + rr->n - 1) % RULE_RATE_SLOTS;
  if (!rr->n || now_ms - rr->t_ms[last] >= slot_ms) {
    if (rr->n == RULE_RATE_SLOTS) {
      rr->first = (uint8_t)((rr->first + 1) % RULE_RATE_SLOTS);
      rr->n--;
    }
    int at = (rr->first + rr->n) % RULE_RATE_SLOTS;
    rr->t_ms[at] = now_ms;
    rr->v[at] = value;
    rr->n++;
  }
  return have ? 0 : -1;
}

/* A change enters the stage at once and (re)starts its off-delay; a sample without a change lets
 * a pending return to normal run on (or starts it again after rule_cancel_pending). */
static int rule__eval_change(const struct dg_rule *r, struct rule_state *st, double value, int64_t now_ms,
                             int64_t *deadline_ms)
{
  int changed = st->has_value && value != st->value, was = st->stage;
  st->value = value;
  st->has_value = 1;
  *deadline_ms = 0;
  if (changed) {
    st->stage = 0;
    st->pending = RULE_NORMAL;
    st->pending_since_ms = now_ms;
    *deadline_ms = now_ms + r->off_delay_ms;
    return was != st->stage;
  }
  if (st->stage == RULE_NORMAL) return 0;
  return rule__settle(r, st, RULE_NORMAL, now_ms, deadline_ms);
}

int rule_eval(const struct dg_rule *r, struct rule_state *st, double value, int64_t now_ms,
              int64_t *deadline_ms)
{
  if (r->type == DG_RULE_STATE && r->state_change) return rule__eval_change(r, st, value, now_ms, deadline_ms);
  if (r->type == DG_RULE_RATE) {
    double rate;
    *deadline_ms = 0;
    if (!st->rate || rule__rate(r, st->rate, value, now_ms, &rate)) {
      rule_cancel_pending(st);
      return 0;
    }
    value = r->rate_direction == DG_RATE_FALLING ? -rate : rate;
  }
  st->value = value;
  st->has_value = 1;
  return rule__settle(r, st, rule_target_stage(r, st->stage, value), now_ms, deadline_ms);
}

int rule_tick(const struct dg_rule *r, struct rule_state *st, int64_t now_ms, int64_t *deadline_ms)
{
  *deadline_ms = 0;
  if (!st->has_value || st->pending == st->stage) return 0;
  return rule__settle(r, st, rule_target_stage(r, st->stage, st->value), now_ms, deadline_ms);
}

int rule_eval_fault(const struct dg_rule *r, struct rule_state *st, int fault, int64_t now_ms, int64_t *deadline_ms)
{
  return rule_eval(r, st, fault ? 1.0 : 0.0, now_ms, deadline_ms);
}

void rule_cancel_pending(struct rule_state *st) { st->pending = st->stage; }

int rule_eval_pair(const struct dg_rule *r, struct rule_state *st, double a, double b, int64_t now_ms,
                   int64_t *deadline_ms)
{
  return rule_eval(r, st, fabs(a - b), now_ms, deadline_ms);
}

int rule_eval_vote(const struct dg_rule *r, struct rule_state *st, const double *values, const uint8_t *good,
                   int64_t now_ms, int64_t *deadline_ms)
{
  uint32_t votes = 0;
  int n = 0;
  for (size_t i = 0; i < r->n_inputs && i < DG_MAX_VOTE_INPUTS; i++) {
    double limit = r->input_limits[i];
    int was = (st->votes >> i) & 1u;
    if (good[i] && (values[i] >= limit || (was && values[i] > limit - r->deadband))) {
      votes |= 1u << i;
      n++;
    }
  }
  st->votes = votes;
  return rule_eval(r, st, n, now_ms, deadline_ms);
}

enum dg_level rule_stage_level(const struct dg_rule *r, int stage)
{
  if (stage < 0 || stage >= (int)r->n_stages) return DG_LEVEL_NONE;
  int named = dg_level_parse(r->stages[stage].name);
  if (named > DG_LEVEL_NONE) return (enum dg_level)named;
  return stage + 1 > DG_LEVEL_RED ? DG_LEVEL_RED : (enum dg_level)(stage + 1);
}

int rule_eval_aggregate(const struct dg_rule *r, struct rule_state *st, const int8_t *stages, int64_t now_ms,
                        int64_t *deadline_ms)
{
  uint32_t at_least[DG_LEVEL_RED + 1] = {0};
  for (size_t i = 0; i < r->n_agg_inputs; i++) {
    enum dg_level l = rule_stage_level(r->agg_inputs[i], stages[i]);
    for (int k = DG_LEVEL_BLUE; k <= (int)l; k++) at_least[k]++;
  }
  enum dg_level item = DG_LEVEL_NONE;
  if (at_least[DG_LEVEL_ORANGE] >= r->agg_counts[2]) item = DG_LEVEL_RED;
  else if (at_least[DG_LEVEL_YELLOW] >= r->agg_counts[1]) item = DG_LEVEL_ORANGE;
  else if (at_least[DG_LEVEL_BLUE] >= r->agg_counts[0]) item = DG_LEVEL_YELLOW;
  return rule_eval(r, st, item, now_ms, deadline_ms);
}
