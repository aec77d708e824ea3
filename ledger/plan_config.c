#include "plan_config.h"

#include "config_ctx.h"
#include "workcal.h"

#include <stdlib.h>
#include <string.h>

static const char *const plan_config__kinds[] = {"annual", "special", "seasonal", "holiday", NULL};
static const char *const plan_config__kinds_zh[] = {"全年排查计划", "专项排查", "季节性排查", "节假日排查"};

const char *plan_kind_name(int kind) { return kind >= 0 && kind <= DG_PLAN_HOLIDAY ? plan_config__kinds[kind] : "?"; }
const char *plan_kind_zh(int kind) { return kind >= 0 && kind <= DG_PLAN_HOLIDAY ? plan_config__kinds_zh[kind] : "?"; }

enum { PL_ID, PL_NAME, PL_KIND, PL_FROM, PL_TO, PL_CYCLE, PL_BEFORE, PL_WORK_DAYS, PL_UNIT, PL_POST, PL_PERSON,
       PL_ITEMS };
static const struct dg_yfield plan_config__fields[] = {
  [PL_ID] = YF_STR("id", struct dg_plan, id, DG_YF_REQ),
  [PL_NAME] = YF_STR("name", struct dg_plan, name, 0),
  [PL_KIND] = YF_NODE("kind", DG_YF_REQ),
  [PL_FROM] = YF_STR("from", struct dg_plan, from_s, DG_YF_REQ),
  [PL_TO] = YF_STR("to", struct dg_plan, to_s, DG_YF_REQ),
  [PL_CYCLE] = YF_NODE("cycle", 0),
  [PL_BEFORE] = YF_NUM("before_days", DG_YK_INT, struct dg_plan, before_days, 0, 1, 60),
  [PL_WORK_DAYS] = YF_BOOL("work_days", struct dg_plan, work_days),
  [PL_UNIT] = YF_NODE("unit", 0),
  [PL_POST] = YF_NODE("post", 0),
  [PL_PERSON] = YF_NODE("person", 0),
  [PL_ITEMS] = YF_NODE("items", DG_YF_REQ),
};

enum { PC_N, PC_UNIT };
static const struct dg_yfield plan_config__cycle_fields[] = {
  [PC_N] = YF_NUM("n", DG_YK_INT, struct dg_plan, cycle_n, DG_YF_REQ, 1, 1000),
  [PC_UNIT] = YF_NODE("unit", DG_YF_REQ),
};

/* cycle: { n: 1, unit: 月 }, as a measure's check_cycle but without hours. */
static int plan_config__cycle(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  static const char *const units[] = {"天", "月", "年", "day", "month", "year", NULL};
  struct dg_plan *p = obj;
  struct dg_yseen s;
  int idx = 0;
  int rc = DG_YC_MAP(y, n, plan_config__cycle_fields, p, &s);
  if (rc) return rc;
  size_t mark = dg_yc_path_key(y, "unit");
  rc = dg_yc_choice(y, s.val[PC_UNIT], units, &idx);
  dg_yc_path_restore(y, mark);
  p->cycle_unit = idx % 3 + 2; /* INSPECT_DAY .. INSPECT_YEAR */
  return rc;
}

static int plan_config__item(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  (void)i;
  return dg_yc_str(y, n, true, item);
}

static int plan_config__date(struct dg_ycheck *y, const struct dg_ynode *at, const char *key, const char *text,
                             int32_t *day)
{
  if (!workcal_parse_date(text, day)) return 0;
  return dg_yc_failk(y, at, key, "expected a date \"YYYY-MM-DD\" (1970 or later), got '%.64s'", text);
}

static int plan_config__refs(struct dg_ycheck *y, struct dg_plan *p, const struct dg_yseen *s)
{
  struct cfg_ctx *x = cfg_ctx(y);
  int rc = 0;
  if (s->val[PL_UNIT]) rc = dg_yc_ref(y, s->val[PL_UNIT], "unit", &x->ix->units, "unit", (void **)&p->unit);
  if (!rc && s->val[PL_POST]) rc = dg_yc_ref(y, s->val[PL_POST], "post", &x->posts, "post", (void **)&p->post);
  if (!rc && s->val[PL_PERSON])
    rc = dg_yc_ref(y, s->val[PL_PERSON], "person", &x->ix->persons, "person", (void **)&p->person);
  return rc;
}

static int plan_config__plan(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_plan *p = item;
  struct dg_yseen s;
  int kind = 0;
  (void)i;
  int rc = DG_YC_MAP(y, n, plan_config__fields, p, &s);
  if (!rc) rc = dg_yc_add_id(y, &cfg_ctx(y)->plans, p->id, p, s.val[PL_ID], "inspection plan");
  if (!rc) {
    size_t mark = dg_yc_path_key(y, "kind");
    rc = dg_yc_choice(y, s.val[PL_KIND], plan_config__kinds, &kind);
    dg_yc_path_restore(y, mark);
    p->kind = kind;
  }
  if (!rc) rc = plan_config__date(y, s.val[PL_FROM], "from", p->from_s, &p->from);
  if (!rc) rc = plan_config__date(y, s.val[PL_TO], "to", p->to_s, &p->to);
  if (!rc && p->to < p->from) rc = dg_yc_failk(y, s.val[PL_TO], "to", "expected a date on or after 'from' (%s)", p->from_s);
  if (!rc) rc = dg_yc_under(y, s.val[PL_CYCLE], "cycle", p, plan_config__cycle);
  if (!rc && p->kind == DG_PLAN_HOLIDAY && s.val[PL_CYCLE])
    rc = dg_yc_failk(y, s.val[PL_CYCLE], "cycle", "a holiday inspection falls before each holiday block; no cycle");
  if (!rc && p->kind != DG_PLAN_HOLIDAY && s.val[PL_BEFORE])
    rc = dg_yc_failk(y, s.val[PL_BEFORE], "before_days", "only for kind: holiday");
  if (!rc && !p->before_days) p->before_days = 1;
  if (!rc) rc = plan_config__refs(y, p, &s);
  if (!rc) {
    size_t mark = dg_yc_path_key(y, "items");
    rc = dg_yc_list(y, s.val[PL_ITEMS], sizeof *p->items, &p->items, &p->n_items, plan_config__item);
    if (!rc && (!p->n_items || p->n_items > 64)) rc = dg_yc_fail(y, s.val[PL_ITEMS], "expected 1 to 64 checklist items");
    dg_yc_path_restore(y, mark);
  }
  return rc;
}

int plan_config_parse(struct cfg_ctx *x, const struct dg_ynode *n)
{
  struct dg_config *c = x->c;
  return dg_yc_list(&x->y, n, sizeof *c->plans, &c->plans, &c->n_plans, plan_config__plan);
}

void plan_config_free(struct dg_config *c)
{
  for (size_t i = 0; i < c->n_plans; i++) {
    struct dg_plan *p = &c->plans[i];
    for (size_t k = 0; k < p->n_items; k++) free(p->items[k]);
    free(p->items);
    free(p->id);
    free(p->name);
    free(p->from_s);
    free(p->to_s);
  }
  free(c->plans);
}
