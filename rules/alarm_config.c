#include "alarm_config.h"

#include "config_ctx.h"

#define MS_WEEK (7 * DG_YMS_DAY)
enum { SHV_LOW, SHV_MEDIUM, SHV_HIGH, SHV_CRITICAL };
static const struct dg_yfield alarm_config__max_shelve_fields[] = {
  [SHV_LOW] = YF_NUM("low", DG_YK_MS, struct dg_config, max_shelve_ms[DG_PRIO_LOW], 0, 1000, MS_WEEK),
  [SHV_MEDIUM] = YF_NUM("medium", DG_YK_MS, struct dg_config, max_shelve_ms[DG_PRIO_MEDIUM], 0, 1000, MS_WEEK),
  [SHV_HIGH] = YF_NUM("high", DG_YK_MS, struct dg_config, max_shelve_ms[DG_PRIO_HIGH], 0, 1000, MS_WEEK),
  [SHV_CRITICAL] = YF_NUM("critical", DG_YK_MS, struct dg_config, max_shelve_ms[DG_PRIO_CRITICAL], 0, 1000, MS_WEEK),
};

static int alarm_config__max_shelve(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_yseen s;
  return DG_YC_MAP(y, n, alarm_config__max_shelve_fields, obj, &s);
}

enum { ALM_MAX_SHELVE };
static const struct dg_yfield alarm_config__alarm_fields[] = {
  [ALM_MAX_SHELVE] = YF_NODE("max_shelve", 0),
};

static int alarm_config__alarm(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, alarm_config__alarm_fields, obj, &s);
  if (!rc) rc = dg_yc_under(y, s.val[ALM_MAX_SHELVE], "max_shelve", obj, alarm_config__max_shelve);
  return rc;
}

int alarm_config_parse(struct cfg_ctx *x, const struct dg_ynode *n)
{
  return alarm_config__alarm(&x->y, n, x->c);
}

void alarm_config_defaults(struct dg_config *c)
{
  static const uint32_t dflt[5] = {0, 8 * 3600000u, 8 * 3600000u, 4 * 3600000u, 3600000u};
  for (int p = DG_PRIO_LOW; p <= DG_PRIO_CRITICAL; p++)
    if (!c->max_shelve_ms[p]) c->max_shelve_ms[p] = dflt[p];
}
