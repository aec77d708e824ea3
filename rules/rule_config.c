#include "rule_config.h"

#include "config_ctx.h"
#include "expr.h"

#include <errno.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

static const char *const rule_config__rule_types[] = {"high", "low", "stale", "quality", "rate", "expr",
                                                     "deviation", "vote", "aggregate", "state", NULL};
static const char *const rule_config__rate_directions[] = {"rising", "falling", NULL};

enum { ST_NAME, ST_LIMIT, ST_PRIORITY, ST_DEADBAND, ST_ON, ST_OFF };
static const struct dg_yfield rule_config__stage_fields[] = {
  [ST_NAME] = YF_STR("name", struct dg_stage, name, DG_YF_REQ),
  [ST_LIMIT] = YF_NUM("limit", DG_YK_DOUBLE, struct dg_stage, limit, DG_YF_REQ, -DBL_MAX, DBL_MAX),
  [ST_PRIORITY] = YF_ENUM("priority", struct dg_stage, priority, DG_YF_REQ, cfg_priorities),
  [ST_DEADBAND] = YF_NUM("deadband", DG_YK_DOUBLE, struct dg_stage, deadband, 0, 0, DBL_MAX),
  [ST_ON] = YF_NUM("on_delay", DG_YK_MS, struct dg_stage, on_delay_ms, 0, 0, DG_YMS_DAY),
  [ST_OFF] = YF_NUM("off_delay", DG_YK_MS, struct dg_stage, off_delay_ms, 0, 0, DG_YMS_DAY),
};

static int rule_config__stage(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_rule *r, size_t i)
{
  struct dg_stage *st = &r->stages[i];
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, rule_config__stage_fields, st, &s);
  st->own_deadband = s.val[ST_DEADBAND] != NULL;
  st->own_on_delay = s.val[ST_ON] != NULL;
  st->own_off_delay = s.val[ST_OFF] != NULL;
  if (rc || i == 0) return rc;
  double prev = r->stages[i - 1].limit;
  if ((r->type == DG_RULE_HIGH || r->type == DG_RULE_RATE) && !(st->limit > prev))
    return dg_yc_failk(y, s.val[ST_LIMIT], "limit",
                       "limits of a %s rule must ascend strictly (%g after %g)", rule_config__rule_types[r->type - 1],
                       st->limit, prev);
  if (r->type == DG_RULE_LOW && !(st->limit < prev))
    return dg_yc_failk(y, s.val[ST_LIMIT], "limit",
                       "limits of a low rule must descend strictly (%g after %g)", st->limit, prev);
  return 0;
}

static int rule_config__stages(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_rule *r = obj;
  if (n->type != DG_YSEQ) return dg_yc_fail(y, n, "expected a sequence of 1 to %d stages", DG_MAX_STAGES);
  if (n->n < 1 || n->n > DG_MAX_STAGES)
    return dg_yc_fail(y, n, "expected 1 to %d stages, got %zu", DG_MAX_STAGES, (size_t)n->n);
  for (size_t i = 0; i < n->n; i++) {
    size_t mark = dg_yc_path_index(y, i);
    int rc = rule_config__stage(y, n->kids[i], r, i);
    r->n_stages = i + 1;
    dg_yc_path_restore(y, mark);
    if (rc) return rc;
  }
  return 0;
}

enum { RU_ID, RU_NAME, RU_TYPE, RU_POINT, RU_MEASURE, RU_STAGES, RU_DEADBAND, RU_ON, RU_OFF, RU_LEVEL, RU_DEADLINE,
       RU_LATCHED, RU_TIMEOUT, RU_PRIORITY, RU_RATE, RU_DIRECTION, RU_EXPR, RU_POINTS, RU_LIMIT, RU_K,
       RU_LIMITS, RU_RULES, RU_COUNTS, RU_PRIORITIES, RU_SUPPRESS, RU_VALUE, RU_CHANGE };
static const struct dg_yfield rule_config__rule_fields[] = {
  [RU_ID] = YF_STR("id", struct dg_rule, id, DG_YF_REQ),
  [RU_NAME] = YF_STR("name", struct dg_rule, name, 0),
  [RU_TYPE] = YF_ENUM("type", struct dg_rule, type, DG_YF_REQ, rule_config__rule_types),
  [RU_POINT] = YF_NODE("point", 0),
  [RU_MEASURE] = YF_NODE("measure", 0),
  [RU_STAGES] = YF_NODE("stages", 0),
  [RU_DEADBAND] = YF_NUM("deadband", DG_YK_DOUBLE, struct dg_rule, deadband, 0, 0, DBL_MAX),
  [RU_ON] = YF_NUM("on_delay", DG_YK_MS, struct dg_rule, on_delay_ms, 0, 0, DG_YMS_DAY),
  [RU_OFF] = YF_NUM("off_delay", DG_YK_MS, struct dg_rule, off_delay_ms, 0, 0, DG_YMS_DAY),
  [RU_LEVEL] = YF_NUM("hazard_level", DG_YK_INT, struct dg_rule, hazard_level, 0, 0, 1),
  [RU_DEADLINE] = YF_NUM("hazard_deadline_days", DG_YK_U32, struct dg_rule, hazard_deadline_days, 0, 0, 3650),
  [RU_LATCHED] = YF_BOOL("latched", struct dg_rule, latched),
  [RU_TIMEOUT] = YF_NUM("timeout", DG_YK_MS, struct dg_rule, timeout_ms, 0, 100, DG_YMS_DAY),
  [RU_PRIORITY] = YF_ENUM("priority", struct dg_rule, priority, 0, cfg_priorities),
  [RU_RATE] = YF_NODE("rate", 0),
  [RU_DIRECTION] = YF_ENUM("direction", struct dg_rule, rate_direction, 0, rule_config__rate_directions),
  [RU_EXPR] = YF_STR("expr", struct dg_rule, expr_text, 0),
  [RU_POINTS] = YF_NODE("points", 0),
  [RU_LIMIT] = YF_NUM("limit", DG_YK_DOUBLE, struct dg_rule, limit, 0, -DBL_MAX, DBL_MAX),
  [RU_K] = YF_NUM("k", DG_YK_U32, struct dg_rule, vote_k, 0, 1, DG_MAX_VOTE_INPUTS),
  [RU_LIMITS] = YF_NODE("limits", 0),
  [RU_RULES] = YF_NODE("rules", 0),
  [RU_COUNTS] = YF_NODE("counts", 0),
  [RU_PRIORITIES] = YF_NODE("priorities", 0),
  [RU_SUPPRESS] = YF_NODE("suppress_when", 0),
  [RU_VALUE] = YF_NUM("value", DG_YK_DOUBLE, struct dg_rule, state_value, 0, -DBL_MAX, DBL_MAX),
  [RU_CHANGE] = YF_BOOL("change", struct dg_rule, state_change),
};

struct rule_config_suppress {
  double below, above;
};

enum { SUP_POINT, SUP_BELOW, SUP_ABOVE };
static const struct dg_yfield rule_config__suppress_fields[] = {
  [SUP_POINT] = YF_NODE("point", DG_YF_REQ),
  [SUP_BELOW] = YF_NUM("below", DG_YK_DOUBLE, struct rule_config_suppress, below, 0, -DBL_MAX, DBL_MAX),
  [SUP_ABOVE] = YF_NUM("above", DG_YK_DOUBLE, struct rule_config_suppress, above, 0, -DBL_MAX, DBL_MAX),
};

/* suppress_when: { point: P, below: x } or { point: P, above: x }. */
static int rule_config__suppress(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_rule *r = obj;
  struct rule_config_suppress sup = {0};
  struct dg_yseen s;
  void *p;
  int rc = DG_YC_MAP(y, n, rule_config__suppress_fields, &sup, &s);
  if (rc) return rc;
  if (s.val[SUP_BELOW] && s.val[SUP_ABOVE])
    return dg_yc_failk(y, s.val[SUP_ABOVE], "above", "suppress_when takes one of 'below' and 'above', not both");
  if (!s.val[SUP_BELOW] && !s.val[SUP_ABOVE]) return dg_yc_fail(y, n, "suppress_when needs 'below' or 'above'");
  rc = dg_yc_ref(y, s.val[SUP_POINT], "point", &cfg_ctx(y)->ix->points, "point", &p);
  if (rc) return rc;
  r->suppress_point = p;
  r->suppress_below = s.val[SUP_BELOW] != NULL;
  r->suppress_limit = r->suppress_below ? sup.below : sup.above;
  return 0;
}

enum { AGC_YELLOW, AGC_ORANGE, AGC_RED };
static const struct dg_yfield rule_config__agg_count_fields[] = {
  [AGC_YELLOW] = YF_NUM("yellow_from_blue", DG_YK_U32, struct dg_rule, agg_counts[0], 0, 1, DG_MAX_AGG_INPUTS),
  [AGC_ORANGE] = YF_NUM("orange_from_yellow", DG_YK_U32, struct dg_rule, agg_counts[1], 0, 1, DG_MAX_AGG_INPUTS),
  [AGC_RED] = YF_NUM("red_from_orange", DG_YK_U32, struct dg_rule, agg_counts[2], 0, 1, DG_MAX_AGG_INPUTS),
};

enum { RATE_PER, RATE_WINDOW };
static const struct dg_yfield rule_config__rate_fields[] = {
  [RATE_PER] = YF_NUM("per", DG_YK_MS, struct dg_rule, rate_per_ms, DG_YF_REQ, 1, DG_YMS_DAY * 366),
  [RATE_WINDOW] = YF_NUM("window", DG_YK_MS, struct dg_rule, rate_window_ms, DG_YF_REQ, 100, DG_YMS_DAY * 31),
};

static int rule_config__rate(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_yseen s;
  return DG_YC_MAP(y, n, rule_config__rate_fields, obj, &s);
}

/* rate rules: limit stages over the change per `per` within `window`. */
static int rule_config__rate_rule(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_rule *r, const struct dg_yseen *s)
{
  if (!s->val[RU_RATE]) return dg_yc_fail(y, n, "a rate rule needs 'rate: { per, window }'");
  if (!r->rate_direction) r->rate_direction = DG_RATE_RISING;
  return dg_yc_under(y, s->val[RU_RATE], "rate", r, rule_config__rate);
}

/* stale and quality rules: one implicit stage named after the type, no limits. */
static int rule_config__fault_rule(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_rule *r, const struct dg_yseen *s)
{
  const char *type = rule_config__rule_types[r->type - 1];
  if (s->val[RU_STAGES]) return dg_yc_failk(y, s->val[RU_STAGES], "stages", "a %s rule has no stages", type);
  if (!s->val[RU_PRIORITY]) return dg_yc_fail(y, n, "rules of type %s need 'priority'", type);
  if (r->type == DG_RULE_STALE && !s->val[RU_TIMEOUT]) return dg_yc_fail(y, n, "a stale rule needs 'timeout'");
  if (r->type != DG_RULE_STALE && s->val[RU_TIMEOUT])
    return dg_yc_failk(y, s->val[RU_TIMEOUT], "timeout", "only stale rules have a timeout");
  r->stages[0] = (struct dg_stage){.name = strdup(type), .limit = 0, .priority = r->priority};
  r->n_stages = 1;
  return r->stages[0].name ? 0 : dg_yc_oom(y);
}

/* state rules: `value: V` (alarm while the input equals V) or `change: true` (alarm on each
 * change, back to normal off_delay after the last one); one implicit stage. */
static int rule_config__state_rule(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_rule *r,
                                   const struct dg_yseen *s)
{
  if (s->val[RU_VALUE] && r->state_change)
    return dg_yc_failk(y, s->val[RU_VALUE], "value", "a state rule takes 'value' or 'change: true', not both");
  if (!s->val[RU_VALUE] && !r->state_change)
    return dg_yc_fail(y, n, "a state rule needs 'value: <state that alarms>' or 'change: true'");
  if (r->state_change && s->val[RU_ON])
    return dg_yc_failk(y, s->val[RU_ON], "on_delay", "a change alarms at once: 'change: true' takes no on_delay");
  if (s->val[RU_DEADBAND]) return dg_yc_failk(y, s->val[RU_DEADBAND], "deadband", "a state rule has no deadband");
  int rc = rule_config__fault_rule(y, n, r, s);
  if (rc) return rc;
  free(r->stages[0].name);
  r->stages[0].name = strdup(r->state_change ? "change" : "state");
  r->stages[0].limit = r->state_change ? 0 : r->state_value;
  return r->stages[0].name ? 0 : dg_yc_oom(y);
}

static long rule_config__expr_point(void *ud, const char *id, size_t len)
{
  struct dg_ycheck *y = ud;
  char name[256];
  if (len >= sizeof name) return -1;
  memcpy(name, id, len);
  name[len] = '\0';
  const struct dg_point *p = dg_idmap_get(&cfg_ctx(y)->ix->points, name);
  return p ? (long)p->index : -1;
}

/* expr rules: the condition decides the one implicit stage; the rule is bound to every point
 * it reads and reported under the first. */
static int rule_config__expr_rule(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_rule *r, const struct dg_yseen *s)
{
  char err[256];
  if (!s->val[RU_EXPR]) return dg_yc_fail(y, n, "an expr rule needs 'expr'");
  if (s->val[RU_POINT]) return dg_yc_failk(y, s->val[RU_POINT], "point", "an expr rule reads the points named in 'expr'");
  int rc = expr_compile(r->expr_text, rule_config__expr_point, y, &r->expr, err, sizeof err);
  if (rc == -ENOMEM) return dg_yc_oom(y);
  if (rc) return dg_yc_failk(y, s->val[RU_EXPR], "expr", "%s", err);
  const uint32_t *pts;
  expr_points(r->expr, &pts);
  r->point = &cfg_ctx(y)->c->points[pts[0]];
  return rule_config__fault_rule(y, n, r, s);
}

/* deviation rules: points: [A, B], a limit and a priority; one implicit stage. */
static int rule_config__deviation_rule(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_rule *r,
                                       const struct dg_yseen *s)
{
  const struct dg_ynode *pts = s->val[RU_POINTS];
  void *obj;
  if (!pts || pts->type != DG_YSEQ || pts->n != 2)
    return dg_yc_fail(y, pts ? pts : n, "a deviation rule needs 'points: [A, B]' (two points)");
  if (s->val[RU_STAGES]) return dg_yc_failk(y, s->val[RU_STAGES], "stages", "a deviation rule has no stages");
  if (!s->val[RU_LIMIT]) return dg_yc_fail(y, n, "a deviation rule needs 'limit'");
  if (r->limit < 0) return dg_yc_failk(y, s->val[RU_LIMIT], "limit", "a deviation limit must be >= 0, got %g", r->limit);
  if (!s->val[RU_PRIORITY]) return dg_yc_fail(y, n, "a deviation rule needs 'priority'");
  int rc = dg_yc_ref(y, pts->kids[0], "points", &cfg_ctx(y)->ix->points, "point", &obj);
  if (rc) return rc;
  r->point = obj;
  if ((rc = dg_yc_ref(y, pts->kids[1], "points", &cfg_ctx(y)->ix->points, "point", &obj))) return rc;
  r->point2 = obj;
  if (r->point == r->point2) return dg_yc_failk(y, pts, "points", "the two points of a deviation rule must differ");
  r->stages[0] = (struct dg_stage){.name = strdup("deviation"), .limit = r->limit, .priority = r->priority};
  r->n_stages = 1;
  return r->stages[0].name ? 0 : dg_yc_oom(y);
}

static int rule_config__vote_inputs(struct dg_ycheck *y, const struct dg_ynode *pts, struct dg_rule *r)
{
  r->inputs = calloc(pts->n, sizeof *r->inputs);
  r->input_limits = calloc(pts->n, sizeof *r->input_limits);
  if (!r->inputs || !r->input_limits) return dg_yc_oom(y);
  r->n_inputs = pts->n;
  for (size_t i = 0; i < pts->n; i++) {
    const char *id = NULL;
    size_t mark = dg_yc_path_key(y, "points");
    size_t mark2 = dg_yc_path_index(y, i);
    int rc = dg_yc_text(y, pts->kids[i], &id);
    if (!rc && !(r->inputs[i] = dg_idmap_get(&cfg_ctx(y)->ix->points, id))) rc = dg_yc_fail(y, pts->kids[i], "unknown point '%.64s'", id);
    for (size_t j = 0; !rc && j < i; j++)
      if (r->inputs[j] == r->inputs[i]) rc = dg_yc_fail(y, pts->kids[i], "point '%.64s' is listed twice", r->inputs[i]->id);
    dg_yc_path_restore(y, mark2);
    dg_yc_path_restore(y, mark);
    if (rc) return rc;
  }
  r->point = r->inputs[0];
  return 0;
}

static int rule_config__vote_limits(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_rule *r, const struct dg_yseen *s)
{
  const struct dg_ynode *lims = s->val[RU_LIMITS];
  if (!lims == !s->val[RU_LIMIT]) return dg_yc_fail(y, n, "a vote rule needs one of 'limit' or 'limits: [..]'");
  if (!lims) {
    for (size_t i = 0; i < r->n_inputs; i++) r->input_limits[i] = r->limit;
    return 0;
  }
  if (lims->type != DG_YSEQ || lims->n != r->n_inputs)
    return dg_yc_failk(y, lims, "limits", "expected one limit per point (%zu)", r->n_inputs);
  size_t mark = dg_yc_path_key(y, "limits");
  int rc = 0;
  for (size_t i = 0; !rc && i < lims->n; i++) {
    size_t mark2 = dg_yc_path_index(y, i);
    rc = dg_yc_double(y, lims->kids[i], -DBL_MAX, DBL_MAX, &r->input_limits[i]);
    dg_yc_path_restore(y, mark2);
  }
  dg_yc_path_restore(y, mark);
  return rc;
}

/* vote rules: k of points: [..] at or above their limit; one implicit stage. */
static int rule_config__vote_rule(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_rule *r, const struct dg_yseen *s)
{
  const struct dg_ynode *pts = s->val[RU_POINTS];
  if (!pts || pts->type != DG_YSEQ || pts->n < 2 || pts->n > DG_MAX_VOTE_INPUTS)
    return dg_yc_fail(y, pts ? pts : n, "a vote rule needs 'points: [..]' (2 to %d points)", DG_MAX_VOTE_INPUTS);
  if (s->val[RU_STAGES]) return dg_yc_failk(y, s->val[RU_STAGES], "stages", "a vote rule has no stages");
  if (!s->val[RU_K]) return dg_yc_fail(y, n, "a vote rule needs 'k'");
  if (!s->val[RU_PRIORITY]) return dg_yc_fail(y, n, "a vote rule needs 'priority'");
  if (r->vote_k > pts->n) return dg_yc_failk(y, s->val[RU_K], "k", "k (%u) exceeds the number of points (%zu)", r->vote_k, (size_t)pts->n);
  int rc = rule_config__vote_inputs(y, pts, r);
  if (!rc) rc = rule_config__vote_limits(y, n, r, s);
  if (rc) return rc;
  r->stages[0] = (struct dg_stage){.name = strdup("vote"), .limit = r->vote_k, .priority = r->priority};
  r->n_stages = 1;
  return r->stages[0].name ? 0 : dg_yc_oom(y);
}

static int rule_config__agg_counts(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_yseen s;
  return DG_YC_MAP(y, n, rule_config__agg_count_fields, obj, &s);
}

static int rule_config__agg_inputs(struct dg_ycheck *y, const struct dg_ynode *list, struct dg_rule *r)
{
  if (!(r->agg_inputs = calloc(list->n, sizeof *r->agg_inputs))) return dg_yc_oom(y);
  r->n_agg_inputs = list->n;
  for (size_t i = 0; i < list->n; i++) {
    const char *id = NULL;
    size_t mark = dg_yc_path_key(y, "rules");
    size_t mark2 = dg_yc_path_index(y, i);
    struct dg_rule *in = NULL;
    int rc = dg_yc_text(y, list->kids[i], &id);
    if (!rc && !(in = dg_idmap_get(&cfg_ctx(y)->rules, id)))
      rc = dg_yc_fail(y, list->kids[i], "unknown rule '%.64s' (inputs must be listed before the aggregate)", id);
    if (!rc && in->type != DG_RULE_HIGH && in->type != DG_RULE_LOW)
      rc = dg_yc_fail(y, list->kids[i], "input rule '%.64s' must be of type high or low", id);
    for (size_t j = 0; !rc && j < i; j++)
      if (r->agg_inputs[j] == in) rc = dg_yc_fail(y, list->kids[i], "rule '%.64s' is listed twice", id);
    dg_yc_path_restore(y, mark2);
    dg_yc_path_restore(y, mark);
    if (rc) return rc;
    in->agg_input = true;
    r->agg_inputs[i] = in;
  }
  r->point = r->agg_inputs[0]->point;
  return 0;
}

static int rule_config__agg_priorities(struct dg_ycheck *y, const struct dg_ynode *list, enum dg_priority *prio)
{
  if (list->type != DG_YSEQ || list->n != 3)
    return dg_yc_failk(y, list, "priorities", "expected three priorities (yellow, orange, red)");
  size_t mark = dg_yc_path_key(y, "priorities");
  int rc = 0;
  for (size_t i = 0; !rc && i < 3; i++) {
    const char *t = NULL;
    size_t mark2 = dg_yc_path_index(y, i);
    int p = -1;
    rc = dg_yc_text(y, list->kids[i], &t);
    if (!rc && (p = dg_priority_parse(t)) <= 0)
      rc = dg_yc_fail(y, list->kids[i], "expected one of low, medium, high, critical, got '%.64s'", t);
    if (!rc) prio[i] = (enum dg_priority)p;
    dg_yc_path_restore(y, mark2);
  }
  dg_yc_path_restore(y, mark);
  return rc;
}

/* aggregate rules: rules: [..] of earlier high/low rules, optional counts and priorities. */
static int rule_config__aggregate_rule(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_rule *r,
                                       const struct dg_yseen *s)
{
  static const char *const names[] = {"yellow", "orange", "red"};
  enum dg_priority prio[3] = {DG_PRIO_MEDIUM, DG_PRIO_HIGH, DG_PRIO_CRITICAL};
  const struct dg_ynode *list = s->val[RU_RULES];
  if (!list || list->type != DG_YSEQ || list->n < 1 || list->n > DG_MAX_AGG_INPUTS)
    return dg_yc_fail(y, list ? list : n, "an aggregate rule needs 'rules: [..]' (1 to %d rules)", DG_MAX_AGG_INPUTS);
  if (s->val[RU_STAGES] || s->val[RU_PRIORITY])
    return dg_yc_failk(y, s->val[RU_STAGES] ? s->val[RU_STAGES] : s->val[RU_PRIORITY],
                       s->val[RU_STAGES] ? "stages" : "priority",
                       "an aggregate rule has the stages yellow, orange, red; set 'priorities: [..]'");
  r->agg_counts[0] = 4;
  r->agg_counts[1] = 3;
  r->agg_counts[2] = 2;
  int rc = rule_config__agg_inputs(y, list, r);
  if (!rc && s->val[RU_COUNTS]) rc = dg_yc_under(y, s->val[RU_COUNTS], "counts", r, rule_config__agg_counts);
  if (!rc && s->val[RU_PRIORITIES]) rc = rule_config__agg_priorities(y, s->val[RU_PRIORITIES], prio);
  if (rc) return rc;
  for (size_t i = 0; i < 3; i++) {
    r->stages[i] = (struct dg_stage){.name = strdup(names[i]), .limit = DG_LEVEL_YELLOW + (int)i, .priority = prio[i]};
    r->n_stages = i + 1;
    if (!r->stages[i].name) return dg_yc_oom(y);
  }
  return 0;
}

/* Keys only some rule types take. */
static int rule_config__rule_keys(struct dg_ycheck *y, const struct dg_ynode *n, const struct dg_rule *r,
                                  const struct dg_yseen *s)
{
  int multi = r->type == DG_RULE_DEVIATION || r->type == DG_RULE_VOTE;
  const char *type = rule_config__rule_types[r->type - 1];
  int agg = r->type == DG_RULE_AGGREGATE;
  if (!agg && (s->val[RU_RULES] || s->val[RU_COUNTS] || s->val[RU_PRIORITIES])) {
    int k = s->val[RU_RULES] ? RU_RULES : s->val[RU_COUNTS] ? RU_COUNTS : RU_PRIORITIES;
    return dg_yc_failk(y, s->val[k], rule_config__rule_fields[k].key, "only aggregate rules have '%s'", rule_config__rule_fields[k].key);
  }
  if (agg && s->val[RU_POINT]) return dg_yc_failk(y, s->val[RU_POINT], "point", "an aggregate rule takes 'rules: [..]'");
  if (agg && (s->val[RU_POINTS] || s->val[RU_LIMIT]))
    return dg_yc_failk(y, s->val[RU_POINTS] ? s->val[RU_POINTS] : s->val[RU_LIMIT], s->val[RU_POINTS] ? "points" : "limit",
                       "only deviation and vote rules have '%s'", s->val[RU_POINTS] ? "points" : "limit");
  if (agg) multi = 1;
  if (multi && s->val[RU_POINT]) return dg_yc_failk(y, s->val[RU_POINT], "point", "a %s rule takes 'points: [..]'", type);
  if (!multi && r->type != DG_RULE_EXPR && !s->val[RU_POINT]) return dg_yc_fail(y, n, "missing required key 'point'");
  if (!multi && (s->val[RU_POINTS] || s->val[RU_LIMIT]))
    return dg_yc_failk(y, s->val[RU_POINTS] ? s->val[RU_POINTS] : s->val[RU_LIMIT], s->val[RU_POINTS] ? "points" : "limit",
                       "only deviation and vote rules have '%s'", s->val[RU_POINTS] ? "points" : "limit");
  if (r->type != DG_RULE_VOTE && (s->val[RU_K] || s->val[RU_LIMITS]))
    return dg_yc_failk(y, s->val[RU_K] ? s->val[RU_K] : s->val[RU_LIMITS], s->val[RU_K] ? "k" : "limits",
                       "only vote rules have '%s'", s->val[RU_K] ? "k" : "limits");
  return 0;
}

static int rule_config__rule(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_rule *r = item;
  struct dg_yseen s;
  void *obj;
  r->index = i;
  r->hazard_level = -1;
  int rc = DG_YC_MAP(y, n, rule_config__rule_fields, r, &s);
  if (!rc) rc = dg_yc_add_id(y, &cfg_ctx(y)->rules, r->id, r, s.val[RU_ID], "rule");
  if (!rc) rc = rule_config__rule_keys(y, n, r, &s);
  if (!rc && r->type != DG_RULE_EXPR && s.val[RU_EXPR])
    rc = dg_yc_failk(y, s.val[RU_EXPR], "expr", "only expr rules have 'expr'");
  if (!rc && r->type == DG_RULE_DEVIATION) rc = rule_config__deviation_rule(y, n, r, &s);
  else if (!rc && r->type == DG_RULE_VOTE) rc = rule_config__vote_rule(y, n, r, &s);
  else if (!rc && r->type == DG_RULE_AGGREGATE) rc = rule_config__aggregate_rule(y, n, r, &s);
  else if (!rc && r->type != DG_RULE_EXPR) {
    rc = dg_yc_ref(y, s.val[RU_POINT], "point", &cfg_ctx(y)->ix->points, "point", &obj);
    if (!rc) r->point = obj;
  }
  if (rc) return rc;
  if (s.val[RU_MEASURE]) {
    rc = dg_yc_ref(y, s.val[RU_MEASURE], "measure", &cfg_ctx(y)->ix->measures, "measure", &obj);
    if (rc) return rc;
    r->measure = obj;
  }
  if (s.val[RU_SUPPRESS] && (rc = dg_yc_under(y, s.val[RU_SUPPRESS], "suppress_when", r, rule_config__suppress))) return rc;
  if (r->type != DG_RULE_RATE && (s.val[RU_RATE] || s.val[RU_DIRECTION]))
    return dg_yc_failk(y, s.val[RU_RATE] ? s.val[RU_RATE] : s.val[RU_DIRECTION], s.val[RU_RATE] ? "rate" : "direction",
                       "only rate rules have '%s'", s.val[RU_RATE] ? "rate" : "direction");
  if (r->type == DG_RULE_EXPR) return rule_config__expr_rule(y, n, r, &s);
  if (r->type != DG_RULE_STATE && (s.val[RU_VALUE] || s.val[RU_CHANGE]))
    return dg_yc_failk(y, s.val[RU_VALUE] ? s.val[RU_VALUE] : s.val[RU_CHANGE], s.val[RU_VALUE] ? "value" : "change",
                       "only state rules have '%s'", s.val[RU_VALUE] ? "value" : "change");
  if (r->type == DG_RULE_STATE) return rule_config__state_rule(y, n, r, &s);
  if (r->type == DG_RULE_STALE || r->type == DG_RULE_QUALITY) return rule_config__fault_rule(y, n, r, &s);
  if (r->type == DG_RULE_DEVIATION || r->type == DG_RULE_VOTE || r->type == DG_RULE_AGGREGATE) return 0;
  if (r->type == DG_RULE_RATE && (rc = rule_config__rate_rule(y, n, r, &s))) return rc;
  if (s.val[RU_TIMEOUT] || s.val[RU_PRIORITY])
    return dg_yc_failk(y, s.val[RU_TIMEOUT] ? s.val[RU_TIMEOUT] : s.val[RU_PRIORITY],
                       s.val[RU_TIMEOUT] ? "timeout" : "priority", "a %s rule takes its priorities from its stages",
                       rule_config__rule_types[r->type - 1]);
  if (!s.val[RU_STAGES]) return dg_yc_fail(y, n, "missing required key 'stages'");
  return dg_yc_under(y, s.val[RU_STAGES], "stages", r, rule_config__stages);
}

int rule_config_parse(struct cfg_ctx *x, const struct dg_ynode *n)
{
  struct dg_config *c = x->c;
  return dg_yc_list(&x->y, n, sizeof *c->rules, &c->rules, &c->n_rules, rule_config__rule);
}

void rule_config_free(struct dg_config *c)
{
  for (size_t i = 0; i < c->n_rules; i++) {
    struct dg_rule *r = &c->rules[i];
    for (size_t k = 0; k < r->n_stages; k++) free(r->stages[k].name);
    free(r->inputs);
    free(r->input_limits);
    free(r->agg_inputs);
    free(r->id);
    free(r->name);
    free(r->expr_text);
    expr_free(r->expr);
  }
  free(c->rules);
}
