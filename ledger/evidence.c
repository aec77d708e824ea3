#include "evidence.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine.h"
#include "expr.h"
#include "history_read.h"

/* An activation in the period, or an activation still standing (not cleared) at its start, of
 * an alarm of rule ?1 (a rule bound to the measure now: the row of a rule removed while active
 * is never cleared and must not count). */
static const char *const evidence__sql_alarm =
  "SELECT a.rule FROM alarms a WHERE a.rule = ?1 AND ("
  " EXISTS (SELECT 1 FROM alarm_journal j WHERE j.alarm_id = a.id AND j.event = 'activate'"
  "  AND j.ts_ms >= ?2 AND j.ts_ms < ?3)"
  " OR (SELECT j.event FROM alarm_journal j WHERE j.alarm_id = a.id AND j.event IN ('activate', 'clear')"
  "  AND j.ts_ms < ?2 ORDER BY j.id DESC LIMIT 1) = 'activate')"
  " ORDER BY a.id LIMIT 1";
static const char *const evidence__sql_hazard =
  "SELECT id FROM hazards WHERE measure = ?1 AND dismissed = 0 AND danger_state >= 0 AND created_ms < ?3"
  " AND (closed_ms IS NULL OR closed_ms >= ?2)"
  " ORDER BY created_ms DESC, id DESC LIMIT 1";
/* Runs a one-row query on (text, start, due): 1 row (its first column copied), 0 none, -EIO. */
static int evidence__row(struct store_conn *c, const char *sql, const char *key, int64_t a, int64_t b,
                         char *text, size_t len, int64_t *num)
{
  sqlite3_stmt *st = store_stmt(c, sql);
  if (!st) return -EIO;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, a);
  if (sqlite3_bind_parameter_count(st) >= 3) sqlite3_bind_int64(st, 3, b);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    if (text) snprintf(text, len, "%s", sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
    if (num) *num = sqlite3_column_int64(st, 0);
  }
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

static int evidence__add(const struct dg_point **pts, size_t *n, size_t cap, const struct dg_point *p)
{
  if (!p) return 0;
  for (size_t i = 0; i < *n; i++)
    if (pts[i] == p) return 0;
  if (*n == cap) return -ENOSPC;
  pts[(*n)++] = p;
  return 0;
}

/* The distinct points read by the rules bound to m, into pts (capacity cap). */
static int evidence__points(const struct dg_config *cfg, const struct dg_measure *m, const struct dg_point **pts,
                            size_t cap, size_t *n)
{
  int rc = 0;
  *n = 0;
  for (size_t i = 0; !rc && i < cfg->n_rules; i++) {
    const struct dg_rule *r = &cfg->rules[i];
    if (r->measure != m) continue;
    rc = evidence__add(pts, n, cap, r->point);
    if (!rc) rc = evidence__add(pts, n, cap, r->point2);
    for (size_t k = 0; !rc && k < r->n_inputs; k++) rc = evidence__add(pts, n, cap, r->inputs[k]);
    for (size_t k = 0; !rc && k < r->n_agg_inputs; k++) rc = evidence__add(pts, n, cap, r->agg_inputs[k]->point);
    const uint32_t *idx = NULL;
    size_t ne = r->expr ? expr_points(r->expr, &idx) : 0;
    for (size_t k = 0; !rc && k < ne; k++)
      if (idx[k] < cfg->n_points) rc = evidence__add(pts, n, cap, &cfg->points[idx[k]]);
  }
  return rc;
}

/* 1 and the rule id when an alarm of a rule bound to m was active in the period, 0, or -EIO. */
static int evidence__alarm(struct store_conn *c, const struct dg_config *cfg, const struct dg_measure *m,
                           int64_t start, int64_t due, char *rule, size_t len)
{
  for (size_t i = 0; i < cfg->n_rules; i++) {
    if (cfg->rules[i].measure != m) continue;
    int rc = evidence__row(c, evidence__sql_alarm, cfg->rules[i].id, start, due, rule, len, NULL);
    if (rc) return rc;
  }
  return 0;
}

/* Status 1 when an alarm was active or a hazard open in the period: 1, 0 (not), or -EIO. */
static int evidence__trouble(struct store_conn *c, const struct dg_config *cfg, const struct dg_measure *m,
                             int64_t start, int64_t due, struct evidence_verdict *v)
{
  char rule[128] = "";
  int64_t hz = 0;
  int alarm = evidence__alarm(c, cfg, m, start, due, rule, sizeof rule);
  if (alarm < 0) return alarm;
  int hazard = evidence__row(c, evidence__sql_hazard, m->id, start, due, NULL, 0, &hz);
  if (hazard < 0) return hazard;
  if (!alarm && !hazard) return 0;
  v->check_status = 1;
  v->hazard_id = hazard ? hz : 0;
  if (alarm)
    snprintf(v->note, sizeof v->note, "自动化监控: 周期内报警 %s 处于激活 / monitoring: alarm of rule %s active in the period",
             rule, rule);
  else
    snprintf(v->note, sizeof v->note, "自动化监控: 周期内存在隐患 %lld / monitoring: hazard %lld open in the period",
             (long long)hz, (long long)hz);
  return 1;
}

/* The longest silence of point p that still counts as monitored: the longest timeout of the
 * stale rules watching it (a slow sensor says how slow it is there), else EVIDENCE_MAX_GAP_MS;
 * never less than the engine's store interval plus a flush of slack. */
static int64_t evidence__allowed_gap(const struct dg_config *cfg, const struct dg_point *p)
{
  int64_t allowed = 0;
  for (size_t i = 0; i < cfg->n_rules; i++)
    if (cfg->rules[i].type == DG_RULE_STALE && cfg->rules[i].point == p && cfg->rules[i].timeout_ms > allowed)
      allowed = cfg->rules[i].timeout_ms;
  if (!allowed) allowed = EVIDENCE_MAX_GAP_MS;
  int64_t floor = ENGINE_HISTORY_MAX_INTERVAL_MS + 2 * (int64_t)cfg->history_flush_ms;
  return allowed > floor ? allowed : floor;
}

/* What the history says of point p over [start, due): its samples from the last one at or
 * before start (those moved out of the log: history.h), checked in turn. */
struct evidence__trace {
  int has_before, bad_before, bad_within;
  int64_t max_gap;
};

static int evidence__trace(struct store_conn *c, const char *point, int64_t start, int64_t due,
                           struct evidence__trace *t)
{
  struct history_sample *s = NULL;
  size_t n = 0;
  *t = (struct evidence__trace){0};
  int rc = history_read(c, point, INT64_MIN, start, 1, 0, &s, &n);
  if (rc) return rc;
  t->has_before = n == 1;
  t->bad_before = n == 1 && s[0].quality != DG_Q_GOOD;
  int64_t from = n == 1 ? s[0].ts_ms : start;
  free(s);
  if (!t->has_before || t->bad_before) return 0;
  if ((rc = history_read(c, point, from, due - 1, SIZE_MAX, 0, &s, &n))) return rc;
  int64_t prev = from;
  for (size_t i = 0; i < n; i++) {
    if (s[i].ts_ms > start && s[i].quality != DG_Q_GOOD) t->bad_within = 1;
    if (s[i].ts_ms - prev > t->max_gap) t->max_gap = s[i].ts_ms - prev;
    prev = s[i].ts_ms;
  }
  if (due - prev > t->max_gap) t->max_gap = due - prev;
  free(s);
  return 0;
}

/* Status 0 when every point was good throughout, else 2 with the reason: 0 or -EIO. */
static int evidence__quality(struct store_conn *c, const struct dg_config *cfg, const struct dg_measure *m,
                             int64_t start, int64_t due, struct evidence_verdict *v)
{
  enum { CAP = 128 };
  const struct dg_point *pts[CAP];
  size_t n = 0;
  evidence__points(cfg, m, pts, CAP, &n); /* beyond CAP points: the first CAP are judged */
  v->check_status = 2;
  if (!n) {
    snprintf(v->note, sizeof v->note, "自动化监控: 措施无监测点 / monitoring: the measure has no monitored point");
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    struct evidence__trace t;
    int rc = evidence__trace(c, pts[i]->id, start, due, &t);
    if (rc) return rc;
    int64_t allowed = evidence__allowed_gap(cfg, pts[i]);
    if (!t.has_before || t.bad_before)
      snprintf(v->note, sizeof v->note,
               t.has_before ? "自动化监控: 测点 %s 周期开始时质量异常 / monitoring: point %s had bad quality at the period start"
                            : "自动化监控: 测点 %s 周期开始前无数据 / monitoring: no data for point %s at the period start",
               pts[i]->id, pts[i]->id);
    else if (t.bad_within)
      snprintf(v->note, sizeof v->note,
               "自动化监控: 测点 %s 周期内质量异常 / monitoring: point %s had bad quality in the period", pts[i]->id,
               pts[i]->id);
    else if (t.max_gap > allowed)
      snprintf(v->note, sizeof v->note,
               "自动化监控: 测点 %s 周期内 %lld 秒无数据 / monitoring: no data from point %s for %lld s in the period",
               pts[i]->id, (long long)(t.max_gap / 1000), pts[i]->id, (long long)(t.max_gap / 1000));
    else
      continue;
    return 0;
  }
  v->check_status = 0;
  snprintf(v->note, sizeof v->note, "自动化监控: 周期内监测正常 / monitoring healthy over the period");
  return 0;
}

int evidence_judge(struct store_conn *c, const struct dg_config *cfg, const struct dg_measure *m, int64_t start_ms,
                   int64_t due_ms, int64_t kept_from_ms, struct evidence_verdict *v)
{
  *v = (struct evidence_verdict){0};
  int rc = evidence__trouble(c, cfg, m, start_ms, due_ms, v);
  if (rc) return rc < 0 ? rc : 0;
  if (kept_from_ms >= due_ms) {
    v->check_status = 2;
    snprintf(v->note, sizeof v->note, "自动化监控: 周期的历史数据已不再保留 / monitoring: the period's history is no longer kept");
    return 0;
  }
  return evidence__quality(c, cfg, m, start_ms > kept_from_ms ? start_ms : kept_from_ms, due_ms, v);
}
