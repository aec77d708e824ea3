#include "describe.h"

#include <stdio.h>

static const char *describe__name(const struct dg_point *p) { return p->name ? p->name : p->id; }

static void describe__limit(const struct dg_rule *r, const struct dg_stage *s, double value, char *zh, size_t zhlen,
                            char *en, size_t enlen)
{
  const struct dg_point *p = r->point;
  const char *u = p->eng_unit ? p->eng_unit : "";
  int high = r->type == DG_RULE_HIGH;
  snprintf(zh, zhlen, "%s（%s）当前值 %g%s，%s %s 限值 %g%s", describe__name(p), p->id, value, u, high ? "高于" : "低于",
           s->name, s->limit, u);
  snprintf(en, enlen, "%s (%s) is %g%s, %s %s limit %g%s", describe__name(p), p->id, value, u, high ? "above" : "below",
           s->name, s->limit, u);
}

static void describe__rate(const struct dg_rule *r, const struct dg_stage *s, double value, char *zh, size_t zhlen,
                           char *en, size_t enlen)
{
  const struct dg_point *p = r->point;
  const char *u = p->eng_unit ? p->eng_unit : "";
  int falling = r->rate_direction == DG_RATE_FALLING;
  snprintf(zh, zhlen, "%s（%s）%s速率 %g%s/%g 秒，超过 %s 限值 %g", describe__name(p), p->id, falling ? "下降" : "上升",
           value, u, r->rate_per_ms / 1000.0, s->name, s->limit);
  snprintf(en, enlen, "%s (%s) %s at %g%s per %g s, beyond %s limit %g", describe__name(p), p->id,
           falling ? "falls" : "rises", value, u, r->rate_per_ms / 1000.0, s->name, s->limit);
}

static void describe__deviation(const struct dg_rule *r, const struct dg_stage *s, double value, char *zh,
                                size_t zhlen, char *en, size_t enlen)
{
  const struct dg_point *p = r->point, *q = r->point2;
  const char *u = p->eng_unit ? p->eng_unit : "";
  snprintf(zh, zhlen, "%s（%s）与 %s（%s）偏差 %g%s，超过限值 %g%s", describe__name(p), p->id, describe__name(q), q->id,
           value, u, s->limit, u);
  snprintf(en, enlen, "%s (%s) and %s (%s) differ by %g%s, more than %g%s", describe__name(p), p->id,
           describe__name(q), q->id, value, u, s->limit, u);
}

void describe_condition(const struct dg_rule *r, int stage, double value, char *zh, size_t zhlen, char *en,
                        size_t enlen)
{
  const struct dg_point *p = r->point;
  const char *u = p->eng_unit ? p->eng_unit : "";
  const char *rname = r->name ? r->name : r->id;
  const struct dg_stage *s = stage >= 0 && (size_t)stage < r->n_stages ? &r->stages[stage] : NULL;
  if (!s) {
    snprintf(zh, zhlen, "%s（%s）已恢复正常，当前值 %g%s", describe__name(p), p->id, value, u);
    snprintf(en, enlen, "%s (%s) returned to normal at %g%s", describe__name(p), p->id, value, u);
    return;
  }
  switch (r->type) {
  case DG_RULE_STALE:
    snprintf(zh, zhlen, "%s（%s）%g 秒内无新数据", describe__name(p), p->id, r->timeout_ms / 1000.0);
    snprintf(en, enlen, "%s (%s) has sent no fresh sample for %g s", describe__name(p), p->id, r->timeout_ms / 1000.0);
    return;
  case DG_RULE_QUALITY:
    snprintf(zh, zhlen, "%s（%s）采集故障（通讯中断、设备故障或数据异常）", describe__name(p), p->id);
    snprintf(en, enlen, "%s (%s) acquisition fault (communication, device or payload)", describe__name(p), p->id);
    return;
  case DG_RULE_EXPR:
    snprintf(zh, zhlen, "条件成立：%s", r->expr_text);
    snprintf(en, enlen, "condition holds: %s", r->expr_text);
    return;
  case DG_RULE_STATE:
    snprintf(zh, zhlen, "%s（%s）%s %g", describe__name(p), p->id, r->state_change ? "状态变化，当前为" : "处于报警状态",
             value);
    snprintf(en, enlen, "%s (%s) %s %g", describe__name(p), p->id, r->state_change ? "changed state, now" : "is in alarm state",
             value);
    return;
  case DG_RULE_RATE: describe__rate(r, s, value, zh, zhlen, en, enlen); return;
  case DG_RULE_DEVIATION: describe__deviation(r, s, value, zh, zhlen, en, enlen); return;
  case DG_RULE_AGGREGATE:
    snprintf(zh, zhlen, "%s 综合等级：%s（%zu 个测点规则汇总）", rname, dg_level_name_zh((enum dg_level)s->limit),
             r->n_agg_inputs);
    snprintf(en, enlen, "%s item level %s (from %zu point rules)", rname, s->name, r->n_agg_inputs);
    return;
  case DG_RULE_VOTE:
    snprintf(zh, zhlen, "%s：%g/%zu 个测点达到报警限值（%u 取 %zu 表决）", rname, value, r->n_inputs, r->vote_k,
             r->n_inputs);
    snprintf(en, enlen, "%s: %g of %zu points at or above their limits (%uoo%zu vote)", rname, value, r->n_inputs,
             r->vote_k, r->n_inputs);
    return;
  default: describe__limit(r, s, value, zh, zhlen, en, enlen); return;
  }
}
