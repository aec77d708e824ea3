/* risk — dynamic four-colour risk of the risk units (动态风险).
 *
 * A unit's current level is the highest of: its assessed level (config: the highest of its
 * events); the level its active alarms imply (priority critical → red, high → orange,
 * medium → yellow, low → blue) over the rules on its measures or on its points; red while an
 * open major hazard (danger_level 1) of the unit exists. Loop thread. */
#ifndef DG_RISK_H
#define DG_RISK_H

#include <stddef.h>
#include <stdint.h>

#include "alarm.h"
#include "model.h"
#include "store.h"

enum risk_cause { RISK_BY_ASSESSMENT = 0, RISK_BY_ALARM, RISK_BY_MAJOR_HAZARD };

struct risk_major {
  const char *unit;          /* unit id */
  int64_t hazard_id;
};

struct risk_unit {
  const struct dg_unit *unit;
  enum dg_level assessed, current;
  enum dg_level alarm_level;           /* highest implied by active alarms, NONE if none */
  const struct alarm *alarm;           /* the active alarm implying alarm_level, or NULL */
  int64_t major_hazard_id;             /* an open major hazard of the unit, 0 if none */
  enum risk_cause cause;               /* what set the current level */
};

enum dg_level risk_level_of_priority(enum dg_priority p);
const char *risk_cause_name(enum risk_cause c); /* "assessment", "alarm", "major_hazard" */

/* Current level from its three inputs; *cause says which one decided (the assessment on ties,
 * then alarms). */
enum dg_level risk_current_level(enum dg_level assessed, enum dg_level alarms, int open_major, enum risk_cause *cause);

/* Rules by unit, built once per config, so that a re-evaluation costs the rules of the units it
 * looks at, not every rule of the plant. Borrows cfg's units; positions are cfg's unit order. */
#define RISK_NO_UNIT UINT32_MAX
struct risk_index {
  const struct dg_config *cfg;
  const struct dg_unit **units;  /* by position */
  size_t n_units;
  uint32_t *by_id;               /* positions sorted by unit id */
  uint32_t *rule_unit;           /* per rule: the position of the unit it watches, or RISK_NO_UNIT */
  uint32_t *unit_rule_off;       /* rules of unit u: unit_rules[unit_rule_off[u] .. unit_rule_off[u + 1]) */
  uint32_t *unit_rules;
};

/* 0 or -ENOMEM (then x is empty). */
int risk_index_build(struct risk_index *x, const struct dg_config *cfg);
void risk_index_free(struct risk_index *x);
/* The position of unit `id`, or RISK_NO_UNIT. */
uint32_t risk_index_find(const struct risk_index *x, const char *id);
/* Evaluates the unit at position u from its own rules' alarms (indexed like cfg->rules, may be
 * NULL) and its open major hazard (0: none). */
void risk_evaluate_unit(const struct risk_index *x, const struct alarm *alarms, uint32_t u, int64_t major_hazard_id,
                        struct risk_unit *out);

/* Evaluates every unit of cfg. alarms is indexed like cfg->rules (NULL: none active).
 * *out (malloc'd, cfg's unit order) and *n; 0 or -ENOMEM. */
int risk_evaluate(const struct dg_config *cfg, const struct alarm *alarms, const struct risk_major *majors,
                  size_t n_majors, struct risk_unit **out, size_t *n);

/* Reads the open major hazards with a unit: *out (malloc'd, unit strings owned; free with
 * risk_majors_free). 0 or negative. */
int risk_load_majors(struct store_conn *c, struct risk_major **out, size_t *n);
void risk_majors_free(struct risk_major *m, size_t n);

/* risk_evaluate with the open major hazards read through c: 0, -EIO (database) or -ENOMEM. */
int risk_evaluate_now(struct store_conn *c, const struct dg_config *cfg, const struct alarm *alarms,
                      struct risk_unit **out, size_t *n);

#endif
