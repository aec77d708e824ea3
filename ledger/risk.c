#include "risk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"

enum dg_level risk_level_of_priority(enum dg_priority p)
{
  switch (p) {
  case DG_PRIO_CRITICAL: return DG_LEVEL_RED;
  case DG_PRIO_HIGH: return DG_LEVEL_ORANGE;
  case DG_PRIO_MEDIUM: return DG_LEVEL_YELLOW;
  case DG_PRIO_LOW: return DG_LEVEL_BLUE;
  default: return DG_LEVEL_NONE;
  }
}

const char *risk_cause_name(enum risk_cause c)
{
  static const char *const names[] = {"assessment", "alarm", "major_hazard"};
  return (unsigned)c < 3 ? names[c] : "assessment";
}

enum dg_level risk_current_level(enum dg_level assessed, enum dg_level alarms, int open_major, enum risk_cause *cause)
{
  enum dg_level level = assessed;
  *cause = RISK_BY_ASSESSMENT;
  if (alarms > level) {
    level = alarms;
    *cause = RISK_BY_ALARM;
  }
  if (open_major && level < DG_LEVEL_RED) {
    level = DG_LEVEL_RED;
    *cause = RISK_BY_MAJOR_HAZARD;
  }
  return level;
}

/* The unit a rule watches: its measure's, else its point's. */
static const struct dg_unit *risk__rule_unit(const struct dg_config *cfg, const struct dg_rule *r)
{
  if (r->measure && r->measure->event && r->measure->event->unit) return r->measure->event->unit;
  return r->point && r->point->unit_id ? dg_config_unit(cfg, r->point->unit_id) : NULL;
}

static const struct risk_index *risk__sort_ctx;

static int risk__cmp_id(const void *a, const void *b)
{
  const struct risk_index *x = risk__sort_ctx;
  return strcmp(x->units[*(const uint32_t *)a]->id, x->units[*(const uint32_t *)b]->id);
}

uint32_t risk_index_find(const struct risk_index *x, const char *id)
{
  size_t lo = 0, hi = x->n_units;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(x->units[x->by_id[mid]]->id, id);
    if (c == 0) return x->by_id[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return RISK_NO_UNIT;
}

/* Units by position and by id. */
static int risk__index_units(struct risk_index *x, const struct dg_config *cfg)
{
  size_t total = 0;
  for (size_t s = 0; s < cfg->n_sources; s++) total += cfg->sources[s].n_units;
  x->units = malloc((total ? total : 1) * sizeof *x->units);
  x->by_id = malloc((total ? total : 1) * sizeof *x->by_id);
  if (!x->units || !x->by_id) return -ENOMEM;
  for (size_t s = 0; s < cfg->n_sources; s++)
    for (size_t i = 0; i < cfg->sources[s].n_units; i++) {
      x->by_id[x->n_units] = (uint32_t)x->n_units;
      x->units[x->n_units++] = &cfg->sources[s].units[i];
    }
  risk__sort_ctx = x; /* loop thread only */
  qsort(x->by_id, x->n_units, sizeof *x->by_id, risk__cmp_id);
  return 0;
}

int risk_index_build(struct risk_index *x, const struct dg_config *cfg)
{
  memset(x, 0, sizeof *x);
  x->cfg = cfg;
  size_t nr = cfg->n_rules;
  int rc = risk__index_units(x, cfg);
  x->rule_unit = malloc((nr ? nr : 1) * sizeof *x->rule_unit);
  x->unit_rule_off = calloc(x->n_units + 1, sizeof *x->unit_rule_off);
  x->unit_rules = malloc((nr ? nr : 1) * sizeof *x->unit_rules);
  if (rc || !x->rule_unit || !x->unit_rule_off || !x->unit_rules) goto fail;
  for (size_t i = 0; i < nr; i++) {
    const struct dg_unit *unit = risk__rule_unit(cfg, &cfg->rules[i]);
    x->rule_unit[i] = unit ? risk_index_find(x, unit->id) : RISK_NO_UNIT;
    if (x->rule_unit[i] != RISK_NO_UNIT) x->unit_rule_off[x->rule_unit[i] + 1]++;
  }
  for (size_t u = 0; u < x->n_units; u++) x->unit_rule_off[u + 1] += x->unit_rule_off[u];
  uint32_t *fill = calloc(x->n_units + 1, sizeof *fill);
  if (!fill) goto fail;
  for (size_t i = 0; i < nr; i++) {
    uint32_t u = x->rule_unit[i];
    if (u != RISK_NO_UNIT) x->unit_rules[x->unit_rule_off[u] + fill[u]++] = (uint32_t)i;
  }
  free(fill);
  return 0;
fail:
  risk_index_free(x);
  return -ENOMEM;
}

void risk_index_free(struct risk_index *x)
{
  free(x->units);
  free(x->by_id);
  free(x->rule_unit);
  free(x->unit_rule_off);
  free(x->unit_rules);
  memset(x, 0, sizeof *x);
}

void risk_evaluate_unit(const struct risk_index *x, const struct alarm *alarms, uint32_t u, int64_t major_hazard_id,
                        struct risk_unit *out)
{
  *out = (struct risk_unit){.unit = x->units[u], .assessed = x->units[u]->level, .major_hazard_id = major_hazard_id};
  for (uint32_t k = x->unit_rule_off[u]; alarms && k < x->unit_rule_off[u + 1]; k++) {
    const struct alarm *a = &alarms[x->unit_rules[k]];
    enum dg_level l = alarm_is_active(a) ? risk_level_of_priority(a->priority) : DG_LEVEL_NONE;
    if (l > out->alarm_level) {
      out->alarm_level = l;
      out->alarm = a;
    }
  }
  out->current = risk_current_level(out->assessed, out->alarm_level, major_hazard_id != 0, &out->cause);
}

int risk_evaluate(const struct dg_config *cfg, const struct alarm *alarms, const struct risk_major *majors,
                  size_t n_majors, struct risk_unit **out, size_t *n)
{
  struct risk_index x;
  if (risk_index_build(&x, cfg)) return -ENOMEM;
  int64_t *major = calloc(x.n_units + 1, sizeof *major);
  struct risk_unit *u = calloc(x.n_units + 1, sizeof *u);
  if (!major || !u) {
    free(major);
    free(u);
    risk_index_free(&x);
    return -ENOMEM;
  }
  for (size_t i = 0; i < n_majors; i++) {
    uint32_t p = risk_index_find(&x, majors[i].unit);
    if (p != RISK_NO_UNIT && !major[p]) major[p] = majors[i].hazard_id;
  }
  for (uint32_t i = 0; i < x.n_units; i++) risk_evaluate_unit(&x, alarms, i, major[i], &u[i]);
  *out = u;
  *n = x.n_units;
  free(major);
  risk_index_free(&x);
  return 0;
}

/* Open major hazards: 整改中 and 待验收. A report awaiting confirmation (审核中) does not raise its
 * unit until an engineer confirms it; a dismissed one never does. */
static const char *const risk__sql_majors =
  "SELECT unit, MIN(id) FROM hazards WHERE danger_level = 1 AND danger_state IN (0, 1) AND unit IS NOT NULL"
  " GROUP BY unit";

int risk_load_majors(struct store_conn *c, struct risk_major **out, size_t *n)
{
  sqlite3_stmt *st = store_stmt(c, risk__sql_majors);
  *out = NULL;
  *n = 0;
  if (!st) return -EIO;
  size_t cap = 0;
  int rc, err = 0;
  while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if ((err = dg_array_reserve(out, *n, &cap, sizeof **out))) break;
    char *unit = strdup((const char *)sqlite3_column_text(st, 0));
    if (!unit) {
      err = -ENOMEM;
      break;
    }
    (*out)[(*n)++] = (struct risk_major){unit, sqlite3_column_int64(st, 1)};
  }
  sqlite3_reset(st);
  if (!err && rc != SQLITE_DONE) err = -EIO;
  if (err) {
    risk_majors_free(*out, *n);
    *out = NULL;
    *n = 0;
  }
  return err;
}

void risk_majors_free(struct risk_major *m, size_t n)
{
  for (size_t i = 0; i < n; i++) free((char *)m[i].unit);
  free(m);
}

int risk_evaluate_now(struct store_conn *c, const struct dg_config *cfg, const struct alarm *alarms,
                      struct risk_unit **out, size_t *n)
{
  struct risk_major *majors;
  size_t n_majors;
  if (risk_load_majors(c, &majors, &n_majors)) return -EIO;
  int rc = risk_evaluate(cfg, alarms, majors, n_majors, out, n);
  risk_majors_free(majors, n_majors);
  return rc ? -ENOMEM : 0;
}
