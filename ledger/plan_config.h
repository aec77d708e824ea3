/* plan_config — the `inspection_plans` section: the annual inspection plan (全年隐患排查计划) and
 * special, seasonal and holiday inspections (专项/季节性/节假日排查), each with its checklist,
 * date range, optional cycle and assignees.
 *
 * Called by config.c with "inspection_plans" on the error path, after persons, hazard_sources
 * and posts (a plan names them). Fills c->plans, released by plan_config_free. */
#ifndef DG_PLAN_CONFIG_H
#define DG_PLAN_CONFIG_H

struct cfg_ctx;
struct dg_config;
struct dg_ynode;

int plan_config_parse(struct cfg_ctx *x, const struct dg_ynode *n);
void plan_config_free(struct dg_config *c);

/* The kind's config name (annual special seasonal holiday) and its Chinese name. */
const char *plan_kind_name(int kind);
const char *plan_kind_zh(int kind);

#endif
