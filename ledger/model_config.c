#include "model_config.h"

#include "config_ctx.h"
#include "grade.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_CONFIG_TEXTS_MAX 20 /* lines of a printed list (emergency steps, duties): a card, not a manual */
#define MODEL_CONFIG_TEXT_MAX 300 /* bytes of one line: about a hundred Chinese characters */

/* ---- risk bands ---- */

enum { BAND_YELLOW, BAND_ORANGE, BAND_RED };
static const struct dg_yfield model_config__band_fields[] = {
  [BAND_YELLOW] = YF_NUM("yellow", DG_YK_DOUBLE, struct dg_bands, yellow, DG_YF_REQ, 0, 1e6),
  [BAND_ORANGE] = YF_NUM("orange", DG_YK_DOUBLE, struct dg_bands, orange, DG_YF_REQ, 0, 1e6),
  [BAND_RED] = YF_NUM("red", DG_YK_DOUBLE, struct dg_bands, red, DG_YF_REQ, 0, 1e6),
};

static int model_config__bands(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_bands *b = obj;
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, model_config__band_fields, b, &s);
  if (rc) return rc;
  if (!(b->yellow < b->orange)) return dg_yc_failk(y, s.val[BAND_ORANGE], "orange", "expected a limit above yellow's %g", b->yellow);
  if (!(b->orange < b->red)) return dg_yc_failk(y, s.val[BAND_RED], "red", "expected a limit above orange's %g", b->orange);
  return 0;
}

enum { BANDS_LEC, BANDS_LS };
static const struct dg_yfield model_config__risk_bands_fields[] = {
  [BANDS_LEC] = YF_NODE("lec", 0),
  [BANDS_LS] = YF_NODE("ls", 0),
};

/* risk_bands: { lec: {yellow, orange, red}, ls: {yellow, orange, red} } */
static int model_config__risk_bands(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_config *c = obj;
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, model_config__risk_bands_fields, NULL, &s);
  if (!rc) rc = dg_yc_under(y, s.val[BANDS_LEC], "lec", &c->lec_bands, model_config__bands);
  if (!rc) rc = dg_yc_under(y, s.val[BANDS_LS], "ls", &c->ls_bands, model_config__bands);
  return rc;
}

int model_config_risk_bands(struct cfg_ctx *x, const struct dg_ynode *n)
{
  return model_config__risk_bands(&x->y, n, x->c);
}

/* ---- responsible { dept, person } of a unit or a measure ---- */

enum { RESP_DEPT, RESP_PERSON };
static const struct dg_yfield model_config__resp_fields[] = {
  [RESP_DEPT] = YF_STR("dept", struct dg_unit, dept, 0),
  [RESP_PERSON] = YF_STR("person", struct dg_unit, person, 0),
};
static const struct dg_yfield model_config__measure_resp_fields[] = {
  [RESP_DEPT] = YF_STR("dept", struct dg_measure, resp_dept, 0),
  [RESP_PERSON] = YF_STR("person", struct dg_measure, resp_person, 0),
};

/* `fields` store dept and person into obj; *person must then name a configured person. */
static int model_config__resp_map(struct dg_ycheck *y, const struct dg_ynode *n, void *obj, const struct dg_yfield *fields,
                                  char *const *person)
{
  struct dg_yseen s;
  int rc = dg_yc_map(y, n, fields, 2, obj, &s);
  if (!rc && *person && !dg_idmap_get(&cfg_ctx(y)->ix->persons, *person))
    rc = dg_yc_failk(y, s.val[RESP_PERSON], "person", "unknown person '%.64s'", *person);
  return rc;
}

static int model_config__responsible(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  return model_config__resp_map(y, n, obj, model_config__resp_fields, &((struct dg_unit *)obj)->person);
}

static int model_config__measure_responsible(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  return model_config__resp_map(y, n, obj, model_config__measure_resp_fields, &((struct dg_measure *)obj)->resp_person);
}

/* ---- measures ---- */

enum { MEA_ID, MEA_DESC, MEA_CLASSIFY, MEA_SRC, MEA_LEVEL, MEA_RESP, MEA_TROUBLE, MEA_CYCLE, MEA_WORKDAYS, MEA_CLASSIFY3 };
static const struct dg_yfield model_config__measure_fields[] = {
  [MEA_ID] = YF_STR("id", struct dg_measure, id, DG_YF_REQ),
  [MEA_DESC] = YF_STR("desc", struct dg_measure, desc, 0),
  [MEA_CLASSIFY] = YF_NODE("classify", 0),
  [MEA_SRC] = YF_NUM("data_src", DG_YK_INT, struct dg_measure, data_src, DG_YF_REQ, 1, 2),
  [MEA_LEVEL] = YF_NODE("control_level", 0),
  [MEA_RESP] = YF_NODE("responsible", 0),
  [MEA_TROUBLE] = YF_STR("troubleshoot", struct dg_measure, troubleshoot, 0),
  [MEA_CYCLE] = YF_NODE("check_cycle", 0),
  [MEA_WORKDAYS] = YF_BOOL("work_days", struct dg_measure, work_days),
  [MEA_CLASSIFY3] = YF_STR("classify3", struct dg_measure, classify3, 0),
};

enum { CYC_N, CYC_UNIT };
static const struct dg_yfield model_config__cycle_fields[] = {
  [CYC_N] = YF_NUM("n", DG_YK_INT, struct dg_measure, cycle_n, DG_YF_REQ, 1, 1000),
  [CYC_UNIT] = YF_NODE("unit", DG_YF_REQ),
};

/* check_cycle: { n: 2, unit: 天 }; the unit in Chinese or English (enum inspect_unit order). */
static int model_config__cycle(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  static const char *const units[] = {"小时", "天", "月", "年", "hour", "day", "month", "year", NULL};
  struct dg_measure *m = obj;
  struct dg_yseen s;
  int idx = 0;
  int rc = DG_YC_MAP(y, n, model_config__cycle_fields, m, &s);
  if (rc) return rc;
  size_t mark = dg_yc_path_key(y, "unit");
  rc = dg_yc_choice(y, s.val[CYC_UNIT], units, &idx);
  dg_yc_path_restore(y, mark);
  m->cycle_unit = idx % 4 + 1;
  return rc;
}

/* "1" → classify1 only; "1-4" → classify1 1, classify2 "1-4". The national list of sub-classes
 * is closed: 1-1…1-5, 2-1…2-3, 3-1…3-4, 4-1…4-5. */
static int model_config__classify(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  static const char last_sub[5] = {0, '5', '3', '4', '5'};
  struct dg_measure *m = obj;
  const char *t = NULL;
  int rc = dg_yc_scalar(y, n, "a classification like \"1-4\"", &t);
  if (rc) return rc;
  bool ok = t && t[0] >= '1' && t[0] <= '4';
  if (ok && t[1] == '-') ok = t[2] >= '1' && t[2] <= last_sub[t[0] - '0'] && !t[3];
  else if (ok) ok = t[1] == '\0';
  if (!ok)
    return dg_yc_fail(y, n,
                      "expected a classification of the national list (1, 1-1…1-5, 2, 2-1…2-3, 3, 3-1…3-4, 4, "
                      "4-1…4-5), got '%.64s'",
                      t ? t : "");
  m->classify1 = t[0] - '0';
  if (t[1] && !(m->classify2 = strdup(t))) return dg_yc_oom(y);
  return 0;
}

/* 管控层级: one of the five control levels. */
static int model_config__control_level(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  static const char *const levels[] = {"公司", "部门", "车间", "班组", "岗位", NULL};
  int idx;
  int rc = dg_yc_choice(y, n, levels, &idx);
  if (!rc && !(((struct dg_measure *)obj)->control_level = strdup(levels[idx]))) rc = dg_yc_oom(y);
  return rc;
}

static int model_config__measure(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_measure *m = item;
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, model_config__measure_fields, m, &s);
  if (!rc) rc = dg_yc_add_id(y, &cfg_ctx(y)->ix->measures, m->id, m, s.val[MEA_ID], "measure");
  if (!rc && cfg_ctx(y)->c->national && m->data_src == 2 && !(m->troubleshoot && *m->troubleshoot))
    rc = dg_yc_fail(y, n, "expected troubleshoot (troubleshootContent, required by the national upload for an "
                          "inspected measure, data_src 2)");
  if (!rc) rc = dg_yc_under(y, s.val[MEA_CLASSIFY], "classify", m, model_config__classify);
  if (!rc) rc = dg_yc_under(y, s.val[MEA_CYCLE], "check_cycle", m, model_config__cycle);
  if (!rc) rc = dg_yc_under(y, s.val[MEA_LEVEL], "control_level", m, model_config__control_level);
  if (!rc) rc = dg_yc_under(y, s.val[MEA_RESP], "responsible", m, model_config__measure_responsible);
  return rc;
}

struct model_config_ls {
  int l, s;
};

enum { LEC_L, LEC_E, LEC_C };
static const struct dg_yfield model_config__lec_fields[] = {
  [LEC_L] = YF_NUM("l", DG_YK_DOUBLE, struct dg_event, l, DG_YF_REQ, -DBL_MAX, DBL_MAX),
  [LEC_E] = YF_NUM("e", DG_YK_DOUBLE, struct dg_event, e, DG_YF_REQ, -DBL_MAX, DBL_MAX),
  [LEC_C] = YF_NUM("c", DG_YK_DOUBLE, struct dg_event, c, DG_YF_REQ, -DBL_MAX, DBL_MAX),
};

enum { LS_L, LS_S };
static const struct dg_yfield model_config__ls_fields[] = {
  [LS_L] = YF_NUM("l", DG_YK_INT, struct model_config_ls, l, DG_YF_REQ, 1, 5),
  [LS_S] = YF_NUM("s", DG_YK_INT, struct model_config_ls, s, DG_YF_REQ, 1, 5),
};

static int model_config__factor(struct dg_ycheck *y, const struct dg_ynode *v, const char *key, double f,
                                const double *table, size_t n, const char *list)
{
  for (size_t i = 0; i < n; i++)
    if (f == table[i]) return 0;
  return dg_yc_failk(y, v, key, "%g is not in the LEC table (expected one of %s)", f, list);
}

static int model_config__lec(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  static const double tl[] = {10, 6, 3, 1, 0.5, 0.2, 0.1}, te[] = {10, 6, 3, 2, 1, 0.5},
                      tc[] = {100, 40, 15, 7, 3, 1};
  struct dg_event *e = obj;
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, model_config__lec_fields, e, &s);
  if (!rc) rc = model_config__factor(y, s.val[LEC_L], "l", e->l, tl, DG_YCOUNT(tl), "10, 6, 3, 1, 0.5, 0.2, 0.1");
  if (!rc) rc = model_config__factor(y, s.val[LEC_E], "e", e->e, te, DG_YCOUNT(te), "10, 6, 3, 2, 1, 0.5");
  if (!rc) rc = model_config__factor(y, s.val[LEC_C], "c", e->c, tc, DG_YCOUNT(tc), "100, 40, 15, 7, 3, 1");
  if (rc) return rc;
  e->method = DG_ASSESS_LEC;
  e->score = e->l * e->e * e->c;
  e->level = dg_level_from_lec(e->score, &cfg_ctx(y)->c->lec_bands);
  return 0;
}

static int model_config__ls(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_event *e = obj;
  struct model_config_ls ls;
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, model_config__ls_fields, &ls, &s);
  if (rc) return rc;
  e->method = DG_ASSESS_LS;
  e->l = ls.l;
  e->s = ls.s;
  e->score = e->l * e->s;
  e->level = dg_level_from_ls(e->score, &cfg_ctx(y)->c->ls_bands);
  return 0;
}

enum { EV_ID, EV_NAME, EV_ACCIDENT, EV_LEC, EV_LS, EV_MEASURES, EV_EMERGENCY };
static const struct dg_yfield model_config__event_fields[] = {
  [EV_ID] = YF_STR("id", struct dg_event, id, DG_YF_REQ),
  [EV_NAME] = YF_STR("name", struct dg_event, name, 0),
  [EV_ACCIDENT] = YF_STR("accident_type", struct dg_event, accident_type, 0),
  [EV_LEC] = YF_NODE("lec", 0),
  [EV_LS] = YF_NODE("ls", 0),
  [EV_MEASURES] = YF_NODE("measures", 0),
  [EV_EMERGENCY] = YF_NODE("emergency", 0),
};

static int model_config__text_item(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  (void)i;
  const char *t = NULL;
  int rc = dg_yc_scalar(y, n, "a line of text", &t);
  if (!rc && (!t || !*t)) rc = dg_yc_fail(y, n, "expected a line of text, not an empty one");
  if (!rc && strlen(t) > MODEL_CONFIG_TEXT_MAX)
    rc = dg_yc_fail(y, n, "text longer than %d bytes; split it into several lines", MODEL_CONFIG_TEXT_MAX);
  if (!rc && !(*(char **)item = strdup(t))) rc = dg_yc_oom(y);
  return rc;
}

int model_config_texts(struct dg_ycheck *y, const struct dg_ynode *n, const char *key, char ***arr, size_t *count)
{
  if (!n) return 0;
  size_t mark = dg_yc_path_key(y, key);
  int rc = dg_yc_list(y, n, sizeof **arr, arr, count, model_config__text_item);
  if (!rc && *count > MODEL_CONFIG_TEXTS_MAX)
    rc = dg_yc_fail(y, n, "expected at most %d lines, got %zu", MODEL_CONFIG_TEXTS_MAX, *count);
  dg_yc_path_restore(y, mark);
  return rc;
}

void model_config_texts_free(char **arr, size_t n)
{
  for (size_t i = 0; i < n; i++) free(arr[i]);
  free(arr);
}

static int model_config__event(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_event *e = item;
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, model_config__event_fields, e, &s);
  if (!rc) rc = dg_yc_add_id(y, &cfg_ctx(y)->events, e->id, e, s.val[EV_ID], "event");
  if (rc) return rc;
  if (s.key[EV_LEC] && s.key[EV_LS])
    return dg_yc_fail(y, s.key[EV_LS], "both 'lec' and 'ls' given; assess the event with one method");
  if (!s.key[EV_LEC] && !s.key[EV_LS])
    return dg_yc_fail(y, n, "missing risk assessment: give 'lec' {l, e, c} or 'ls' {l, s}");
  rc = s.val[EV_LEC] ? dg_yc_under(y, s.val[EV_LEC], "lec", e, model_config__lec)
                     : dg_yc_under(y, s.val[EV_LS], "ls", e, model_config__ls);
  if (!rc && s.val[EV_MEASURES]) {
    size_t mark = dg_yc_path_key(y, "measures");
    rc = dg_yc_list(y, s.val[EV_MEASURES], sizeof *e->measures, &e->measures, &e->n_measures,
                    model_config__measure);
    dg_yc_path_restore(y, mark);
  }
  if (!rc) rc = model_config_texts(y, s.val[EV_EMERGENCY], "emergency", &e->emergency, &e->n_emergency);
  for (size_t k = 0; k < e->n_measures; k++) e->measures[k].event = e;
  return rc;
}

enum { HP_LEVEL, HP_DEADLINE };
static const struct dg_yfield model_config__hazard_policy_fields[] = {
  [HP_LEVEL] = YF_NUM("level", DG_YK_INT, struct dg_unit, hazard_level, 0, 0, 1),
  [HP_DEADLINE] = YF_NUM("deadline_days", DG_YK_U32, struct dg_unit, hazard_deadline_days, 0, 1, 3650),
};

static int model_config__hazard_policy(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_yseen s;
  return DG_YC_MAP(y, n, model_config__hazard_policy_fields, obj, &s);
}

enum { UNIT_ID, UNIT_NAME, UNIT_RESP, UNIT_POLICY, UNIT_EVENTS };
static const struct dg_yfield model_config__unit_fields[] = {
  [UNIT_ID] = YF_STR("id", struct dg_unit, id, DG_YF_REQ),
  [UNIT_NAME] = YF_STR("name", struct dg_unit, name, 0),
  [UNIT_RESP] = YF_NODE("responsible", 0),
  [UNIT_POLICY] = YF_NODE("hazard_policy", 0),
  [UNIT_EVENTS] = YF_NODE("events", 0),
};

static int model_config__unit(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_unit *u = item;
  struct dg_yseen s;
  u->hazard_level = -1;
  int rc = DG_YC_MAP(y, n, model_config__unit_fields, u, &s);
  if (!rc) rc = dg_yc_add_id(y, &cfg_ctx(y)->ix->units, u->id, u, s.val[UNIT_ID], "unit");
  if (!rc) rc = dg_yc_under(y, s.val[UNIT_RESP], "responsible", u, model_config__responsible);
  if (!rc) rc = dg_yc_under(y, s.val[UNIT_POLICY], "hazard_policy", u, model_config__hazard_policy);
  if (!rc && s.val[UNIT_EVENTS]) {
    size_t mark = dg_yc_path_key(y, "events");
    rc = dg_yc_list(y, s.val[UNIT_EVENTS], sizeof *u->events, &u->events, &u->n_events, model_config__event);
    dg_yc_path_restore(y, mark);
  }
  u->level = DG_LEVEL_NONE;
  for (size_t k = 0; k < u->n_events; k++) {
    u->events[k].unit = u;
    if (u->events[k].level > u->level) u->level = u->events[k].level;
  }
  return rc;
}

/* ---- major hazard grading (grade.h) ---- */

enum { SUB_NAME, SUB_CATEGORY, SUB_QUANTITY, SUB_CRITICAL, SUB_BETA };
static const struct dg_yfield model_config__substance_fields[] = {
  [SUB_NAME] = YF_STR("name", struct dg_substance, name, DG_YF_REQ),
  [SUB_CATEGORY] = YF_STR("category", struct dg_substance, category, 0),
  [SUB_QUANTITY] = YF_NUM("quantity", DG_YK_DOUBLE, struct dg_substance, quantity, DG_YF_REQ, 0, 1e9),
  [SUB_CRITICAL] = YF_NUM("critical", DG_YK_DOUBLE, struct dg_substance, critical, DG_YF_REQ, 1e-6, 1e9),
  [SUB_BETA] = YF_NUM("beta", DG_YK_DOUBLE, struct dg_substance, beta, 0, 0.1, 100),
};

static int model_config__substance(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_substance *sub = item;
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, model_config__substance_fields, sub, &s);
  if (rc) return rc;
  if (sub->category && !grade_beta_by_category(sub->category))
    return dg_yc_failk(y, s.val[SUB_CATEGORY], "category",
                       "unknown hazard category '%.32s' (expected J1..J5, W1.1..W1.3, W2..W4, W5.1..W5.4, "
                       "W6.1, W6.2, W7.1, W7.2, W8, W9.1, W9.2, W10, W11)", sub->category);
  struct grade_substance g = {.name = sub->name, .category = sub->category, .beta = sub->beta};
  if (!(sub->beta = grade_beta(&g)))
    return dg_yc_fail(y, n, "no correction factor for '%.64s': it is not a toxic gas of GB 18218 table 3; "
                      "give 'category' (J1..J5, W1.1..W11) or 'beta'", sub->name);
  return 0;
}

struct model_config_major {
  int persons;
  double alpha;
};

enum { MH_PERSONS, MH_ALPHA, MH_SUBSTANCES };
static const struct dg_yfield model_config__major_fields[] = {
  [MH_PERSONS] = YF_NUM("exposed_persons", DG_YK_INT, struct model_config_major, persons, 0, 0, 10000000),
  [MH_ALPHA] = YF_NUM("alpha", DG_YK_DOUBLE, struct model_config_major, alpha, 0, 0.5, 2),
  [MH_SUBSTANCES] = YF_NODE("substances", DG_YF_REQ),
};

/* major_hazard: { exposed_persons | alpha, substances: [...] } → S, R, is_major, grade. */
static int model_config__major_hazard(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_hazard_source *hs = obj;
  struct model_config_major mh = {0};
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, model_config__major_fields, &mh, &s);
  if (rc) return rc;
  if (!s.key[MH_PERSONS] == !s.key[MH_ALPHA])
    return dg_yc_fail(y, n, "give one of 'exposed_persons' (people outside the plant within 500 m) or 'alpha'");
  size_t mark = dg_yc_path_key(y, "substances");
  rc = dg_yc_list(y, s.val[MH_SUBSTANCES], sizeof *hs->substances, &hs->substances, &hs->n_substances,
                  model_config__substance);
  dg_yc_path_restore(y, mark);
  if (rc) return rc;
  if (!hs->n_substances) return dg_yc_failk(y, s.val[MH_SUBSTANCES], "substances", "expected at least one substance");
  hs->exposed_persons = s.key[MH_PERSONS] ? mh.persons : -1;
  hs->alpha = s.key[MH_PERSONS] ? grade_alpha(mh.persons) : mh.alpha;
  struct grade_substance *g = calloc(hs->n_substances, sizeof *g);
  if (!g) return dg_yc_oom(y);
  for (size_t k = 0; k < hs->n_substances; k++)
    g[k] = (struct grade_substance){.name = hs->substances[k].name, .quantity = hs->substances[k].quantity,
                                    .critical = hs->substances[k].critical, .beta = hs->substances[k].beta};
  struct grade_result r;
  rc = grade_compute(g, hs->n_substances, hs->alpha, &r);
  free(g);
  if (rc) return dg_yc_fail(y, n, "cannot grade the substances (every one needs a correction factor and a critical quantity > 0)");
  hs->graded = true;
  hs->major_s = r.s;
  hs->major_r = r.r;
  hs->is_major = r.is_major;
  hs->major_grade = r.grade;
  return 0;
}

enum { SRC_ID, SRC_NAME, SRC_TYPE, SRC_MAJOR, SRC_GRADE, SRC_MAJOR_HAZARD, SRC_UNITS };
static const struct dg_yfield model_config__source_fields[] = {
  [SRC_ID] = YF_STR("id", struct dg_hazard_source, id, DG_YF_REQ),
  [SRC_NAME] = YF_STR("name", struct dg_hazard_source, name, 0),
  [SRC_TYPE] = YF_STR("type", struct dg_hazard_source, type, 0),
  [SRC_MAJOR] = YF_BOOL("major", struct dg_hazard_source, is_major),
  [SRC_GRADE] = YF_NUM("major_grade", DG_YK_INT, struct dg_hazard_source, major_grade, 0, 1, 4),
  [SRC_MAJOR_HAZARD] = YF_NODE("major_hazard", 0),
  [SRC_UNITS] = YF_NODE("units", 0),
};

static int model_config__source(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_hazard_source *hs = item;
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, model_config__source_fields, hs, &s);
  if (!rc) rc = dg_yc_add_id(y, &cfg_ctx(y)->sources, hs->id, hs, s.val[SRC_ID], "hazard source");
  if (rc) return rc;
  if (s.key[SRC_MAJOR_HAZARD] && (s.key[SRC_MAJOR] || s.key[SRC_GRADE]))
    return dg_yc_fail(y, s.key[s.key[SRC_MAJOR] ? SRC_MAJOR : SRC_GRADE],
                      "'major_hazard' computes the grade: give either it or 'major'/'major_grade'");
  if (s.key[SRC_MAJOR_HAZARD]) rc = dg_yc_under(y, s.val[SRC_MAJOR_HAZARD], "major_hazard", hs, model_config__major_hazard);
  if (rc) return rc;
  if (!hs->graded && hs->is_major && !hs->major_grade)
    return dg_yc_fail(y, n, "missing required key 'major_grade' (grade 1..4 of a major hazard source)");
  if (!hs->graded && !hs->is_major && hs->major_grade)
    return dg_yc_fail(y, s.key[SRC_GRADE], "key 'major_grade' needs 'major: true'");
  if (s.val[SRC_UNITS]) {
    size_t mark = dg_yc_path_key(y, "units");
    rc = dg_yc_list(y, s.val[SRC_UNITS], sizeof *hs->units, &hs->units, &hs->n_units, model_config__unit);
    dg_yc_path_restore(y, mark);
  }
  for (size_t k = 0; k < hs->n_units; k++) hs->units[k].source = hs;
  return rc;
}

int model_config_parse(struct cfg_ctx *x, const struct dg_ynode *n)
{
  struct dg_config *c = x->c;
  return dg_yc_list(&x->y, n, sizeof *c->sources, &c->sources, &c->n_sources, model_config__source);
}

static void model_config__free_units(struct dg_unit *units, size_t n)
{
  for (size_t u = 0; u < n; u++) {
    struct dg_unit *unit = &units[u];
    for (size_t e = 0; e < unit->n_events; e++) {
      struct dg_event *ev = &unit->events[e];
      for (size_t m = 0; m < ev->n_measures; m++) {
        struct dg_measure *me = &ev->measures[m];
        free(me->id);
        free(me->desc);
        free(me->classify2);
        free(me->control_level);
        free(me->resp_dept);
        free(me->resp_person);
        free(me->troubleshoot);
        free(me->classify3);
      }
      free(ev->measures);
      model_config_texts_free(ev->emergency, ev->n_emergency);
      free(ev->id);
      free(ev->name);
      free(ev->accident_type);
    }
    free(unit->events);
    free(unit->id);
    free(unit->name);
    free(unit->dept);
    free(unit->person);
  }
  free(units);
}

void model_config_free(struct dg_config *c)
{
  for (size_t i = 0; i < c->n_sources; i++) {
    model_config__free_units(c->sources[i].units, c->sources[i].n_units);
    free(c->sources[i].id);
    free(c->sources[i].name);
    free(c->sources[i].type);
    for (size_t k = 0; k < c->sources[i].n_substances; k++) {
      free(c->sources[i].substances[k].name);
      free(c->sources[i].substances[k].category);
    }
    free(c->sources[i].substances);
  }
  free(c->sources);
}
