#include "ledger_config.h"

#include "config_ctx.h"
#include "workcal.h"

#include <stdlib.h>

/* ---- ledger ---- */

enum { QUOTA_PERSON, QUOTA_TOTAL };
static const struct dg_yfield ledger_config__quota_fields[] = {
  [QUOTA_PERSON] = YF_NUM("per_person_day_mib", DG_YK_U32, struct dg_config, upload_person_day_mib, 0, 1, 1048576),
  [QUOTA_TOTAL] = YF_NUM("total_mib", DG_YK_U32, struct dg_config, upload_total_mib, 0, 1, 16777216),
};

static int ledger_config__upload_quota(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_yseen s;
  return DG_YC_MAP(y, n, ledger_config__quota_fields, obj, &s);
}

static int ledger_config__delegate(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  const char *id = NULL;
  (void)i;
  int rc = dg_yc_text(y, n, &id);
  if (!rc && !(*(void **)item = dg_idmap_get(&cfg_ctx(y)->ix->persons, id)))
    rc = dg_yc_fail(y, n, "unknown person '%.64s'", id);
  return rc;
}

enum { LDG_REVIEW, LDG_ATTACH_DIR, LDG_QUOTA, LDG_DELEGATES };
static const struct dg_yfield ledger_config__ledger_fields[] = {
  [LDG_REVIEW] = YF_BOOL("review_reports", struct dg_config, review_reports),
  [LDG_ATTACH_DIR] = YF_STR("attachments_dir", struct dg_config, attachments_dir, 0),
  [LDG_QUOTA] = YF_NODE("upload_quota", 0),
  [LDG_DELEGATES] = YF_NODE("principal_delegates", 0),
};

static int ledger_config__ledger(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_yseen s;
  struct dg_config *c = obj;
  int rc = DG_YC_MAP(y, n, ledger_config__ledger_fields, obj, &s);
  if (!rc && c->attachments_dir && !c->attachments_dir[0])
    rc = dg_yc_failk(y, s.val[LDG_ATTACH_DIR], "attachments_dir", "expected a directory path, got ''");
  if (!rc && s.val[LDG_QUOTA]) rc = dg_yc_under(y, s.val[LDG_QUOTA], "upload_quota", obj, ledger_config__upload_quota);
  if (!rc && s.val[LDG_DELEGATES]) {
    size_t mark = dg_yc_path_key(y, "principal_delegates");
    rc = dg_yc_list(y, s.val[LDG_DELEGATES], sizeof *c->principal_delegates, &c->principal_delegates,
                    &c->n_principal_delegates, ledger_config__delegate);
    dg_yc_path_restore(y, mark);
  }
  return rc;
}

int ledger_config_parse(struct cfg_ctx *x, const struct dg_ynode *n)
{
  return ledger_config__ledger(&x->y, n, x->c);
}

/* ---- calendar ---- */

enum { CAL_WEEKEND, CAL_HOLIDAYS, CAL_WORKDAYS };
static const struct dg_yfield ledger_config__calendar_fields[] = {
  [CAL_WEEKEND] = YF_NODE("weekend", 0),
  [CAL_HOLIDAYS] = YF_NODE("holidays", 0),
  [CAL_WORKDAYS] = YF_NODE("workdays", 0),
};

static int ledger_config__weekday(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  (void)i;
  const char *t = NULL;
  int rc = dg_yc_scalar(y, n, "a weekday name", &t);
  int w = rc ? -1 : workcal_weekday_parse(t);
  if (!rc && w < 0)
    rc = dg_yc_fail(y, n, "expected a weekday name (sun, mon, tue, wed, thu, fri, sat), got '%.64s'", t ? t : "");
  if (!rc) *(int *)item = w;
  return rc;
}

static int ledger_config__date(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  (void)i;
  const char *t = NULL;
  int rc = dg_yc_scalar(y, n, "a date", &t);
  if (!rc && workcal_parse_date(t, item))
    rc = dg_yc_fail(y, n, "expected a date \"YYYY-MM-DD\" (1970 or later), got '%.64s'", t ? t : "");
  return rc;
}

/* Parses the date list under `key`, rejecting repeats and (for workdays) holidays. */
static int ledger_config__dates(struct dg_ycheck *y, const struct dg_ynode *n, const char *key, int32_t **days, size_t *count,
                                const struct dg_calendar *cal)
{
  if (!n) return 0;
  size_t mark = dg_yc_path_key(y, key);
  int rc = dg_yc_list(y, n, sizeof **days, days, count, ledger_config__date);
  for (size_t i = 0; !rc && i < *count; i++) {
    const int32_t *d = *days;
    const char *clash = NULL;
    for (size_t k = 0; k < i && !clash; k++)
      if (d[k] == d[i]) clash = "is listed twice";
    for (size_t k = 0; cal && k < cal->n_holidays && !clash; k++)
      if (cal->holidays[k] == d[i]) clash = "is also listed in holidays";
    if (clash) {
      size_t m2 = dg_yc_path_index(y, i);
      rc = dg_yc_fail(y, n->kids[i], "date %s %s", n->kids[i]->text, clash);
      dg_yc_path_restore(y, m2);
    }
  }
  dg_yc_path_restore(y, mark);
  return rc;
}

static int ledger_config__calendar(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_calendar *cal = obj;
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, ledger_config__calendar_fields, cal, &s);
  if (!rc && s.val[CAL_WEEKEND]) {
    int *days = NULL;
    size_t nd = 0;
    size_t mark = dg_yc_path_key(y, "weekend");
    rc = dg_yc_list(y, s.val[CAL_WEEKEND], sizeof *days, &days, &nd, ledger_config__weekday);
    dg_yc_path_restore(y, mark);
    cal->weekend_mask = 0;
    for (size_t i = 0; !rc && i < nd; i++) cal->weekend_mask |= 1u << days[i];
    free(days);
  }
  if (!rc) rc = ledger_config__dates(y, s.val[CAL_HOLIDAYS], "holidays", &cal->holidays, &cal->n_holidays, NULL);
  if (!rc) rc = ledger_config__dates(y, s.val[CAL_WORKDAYS], "workdays", &cal->workdays, &cal->n_workdays, cal);
  if (!rc) {
    workcal_sort(cal->holidays, cal->n_holidays);
    workcal_sort(cal->workdays, cal->n_workdays);
  }
  return rc;
}

int ledger_config_calendar(struct cfg_ctx *x, const struct dg_ynode *n)
{
  return ledger_config__calendar(&x->y, n, &x->c->calendar);
}

void ledger_config_free(struct dg_config *c)
{
  free(c->calendar.holidays);
  free(c->calendar.workdays);
  free(c->principal_delegates);
}
