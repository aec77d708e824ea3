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

static struct risk_unit *risk__find(struct risk_unit *u, size_t n, const struct dg_unit *unit)
{
  for (size_t i = 0; i < n; i++)
    if (u[i].unit == unit) return &u[i];
  return NULL;
}

static struct risk_unit *risk__find_id(struct risk_unit *u, size_t n, const char *id)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(u[i].unit->id, id) == 0) return &u[i];
  return NULL;
}

int risk_evaluate(const struct dg_config *cfg, const struct alarm *alarms, const struct risk_major *majors,
                  size_t n_majors, struct risk_unit **out, size_t *n)
{
  size_t total = 0;
  for (size_t s = 0; s < cfg->n_sources; s++) total += cfg->sources[s].n_units;
  struct risk_unit *u = calloc(total ? total : 1, sizeof *u);
  if (!u) return -ENOMEM;
  size_t k = 0;
  for (size_t s = 0; s < cfg->n_sources; s++)
    for (size_t i = 0; i < cfg->sources[s].n_units; i++) {
      u[k].unit = &cfg->sources[s].units[i];
      u[k++].assessed = cfg->sources[s].units[i].level;
    }
  for (size_t i = 0; alarms && i < cfg->n_rules; i++) {
    const struct alarm *a = &alarms[i];
    if (!alarm_is_active(a)) continue;
    struct risk_unit *ru = risk__find(u, total, risk__rule_unit(cfg, &cfg->rules[i]));
    enum dg_level l = risk_level_of_priority(a->priority);
    if (ru && l > ru->alarm_level) {
      ru->alarm_level = l;
      ru->alarm = a;
    }
  }
  for (size_t i = 0; i < n_majors; i++) {
    struct risk_unit *ru = risk__find_id(u, total, majors[i].unit);
    if (ru && !ru->major_hazard_id) ru->major_hazard_id = majors[i].hazard_id;
  }
  for (size_t i = 0; i < total; i++)
    u[i].current = risk_current_level(u[i].assessed, u[i].alarm_level, u[i].major_hazard_id != 0, &u[i].cause);
  *out = u;
  *n = total;
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
