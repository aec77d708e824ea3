/* rule — evaluation of one rule against its point's samples. Pure: no I/O, no clock of its own
 * (the caller passes now_ms), no allocation, so tests drive it with a controllable clock.
 *
 * A rule's condition is a stage index: -1 = normal, 0..n_stages-1 = the most severe stage whose
 * condition holds. Stage changes pass through on-delay (towards more severe) and off-delay
 * (towards less severe) and the deadband (hysteresis) before they take effect. */
#ifndef DG_RULE_H
#define DG_RULE_H

#include <stdint.h>

#include "model.h"

#define RULE_NORMAL (-1)

#define RULE_RATE_SLOTS 8

/* Recent (time, value) pairs of a rate rule, about window/RULE_RATE_SLOTS apart. */
struct rule_rate {
  int64_t t_ms[RULE_RATE_SLOTS];
  double v[RULE_RATE_SLOTS];
  uint8_t first, n;
};

/* Per-rule runtime state, owned by the loop thread. */
struct rule_state {
  int8_t stage;            /* effective stage, RULE_NORMAL when not in alarm */
  int8_t pending;          /* stage waiting for its delay; equals stage when nothing pends */
  int64_t pending_since_ms;
  double value;            /* last good value seen */
  uint8_t has_value;
  struct rule_rate *rate;  /* rate rules: owned by the caller, zeroed; NULL for other types */
  uint32_t votes;          /* vote rules: bit i set while input i votes */
};

/* Resets everything but st->rate. */
void rule_state_init(struct rule_state *st);

/* The stage the value asks for right now, given the current stage (deadband applies to stages
 * already active). Exposed for tests. */
int rule_target_stage(const struct dg_rule *r, int current, double value);

/* Feeds one good sample. For a rate rule, st->value becomes the rate (units per rate_per_ms,
 * positive in the rule's direction); until the window holds enough history nothing changes. Returns 1 if st->stage changed, 0 if not. *deadline_ms is set to the
 * time at which rule_tick must run because a delay is pending, or 0. */
int rule_eval(const struct dg_rule *r, struct rule_state *st, double value, int64_t now_ms,
              int64_t *deadline_ms);

/* Re-evaluates a pending delay with the last value (a timer fired). Same returns as rule_eval. */
int rule_tick(const struct dg_rule *r, struct rule_state *st, int64_t now_ms, int64_t *deadline_ms);

/* Stale and quality rules: feeds whether the fault holds now (1) or not (0); the on-delay
 * applies to a fault appearing, the off-delay to it going. Same returns as rule_eval. */
int rule_eval_fault(const struct dg_rule *r, struct rule_state *st, int fault, int64_t now_ms, int64_t *deadline_ms);

/* Deviation rules: feeds one good value of each of the two points; the rule's value is |a - b|.
 * Same returns as rule_eval. */
int rule_eval_pair(const struct dg_rule *r, struct rule_state *st, double a, double b, int64_t now_ms,
                   int64_t *deadline_ms);

/* Vote rules: values[i] and good[i] of each of r->n_inputs inputs. Input i votes at or above its
 * limit and keeps voting until it falls to limit - deadband; an input without a good value does
 * not vote. The rule's value is the number of votes, its stage holds at vote_k or more. Same
 * returns as rule_eval. */
int rule_eval_vote(const struct dg_rule *r, struct rule_state *st, const double *values, const uint8_t *good,
                   int64_t now_ms, int64_t *deadline_ms);

/* The level a high/low rule's stage stands for: a stage named blue/yellow/orange/red (or
 * 低/一般/较大/重大风险) is that level, otherwise stage index 0..3 is blue..red; DG_LEVEL_NONE
 * when normal. */
enum dg_level rule_stage_level(const struct dg_rule *r, int stage);

/* Aggregate rules: stages[i] is the effective stage of r->agg_inputs[i]. Counting each input at
 * its level and every level below, the item is red with red_from_orange inputs at orange or
 * more, else orange with orange_from_yellow at yellow or more, else yellow with yellow_from_blue
 * at blue or more. The rule's value is that dg_level. Same returns as rule_eval. */
int rule_eval_aggregate(const struct dg_rule *r, struct rule_state *st, const int8_t *stages, int64_t now_ms,
                        int64_t *deadline_ms);

/* State rules go through rule_eval: with state_change unset the stage holds while the value
 * equals r->state_value (on/off-delays apply); with state_change every change of the value
 * (the first sample sets the reference, it is no change) enters the stage at once and it is
 * left r->off_delay_ms after the last change (at the next rule_tick when 0). st->value is the
 * input's value. */

/* Drops a pending delay (e.g. the point's quality went bad: its value cannot confirm anything). */
void rule_cancel_pending(struct rule_state *st);

#endif
