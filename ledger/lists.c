#include "lists.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc_page.h"
#include "emergency.h"

static const char *const lists__risk_heads[] = {"序号", "风险分析对象", "风险单元", "风险事件", "事故类型",
                                                "评估方法", "风险值", "风险等级", "管控措施", "应急处置",
                                                "责任部门", "责任人"};
static const char *const lists__hazard_heads[] = {"序号", "隐患编号", "隐患等级", "风险单元", "隐患描述", "整改措施",
                                                  "整改状态", "责任人", "整改人", "整改期限", "发现时间", "销号时间"};
static const char *const lists__duty_heads[] = {"序号", "风险单元", "单元责任部门", "单元责任人", "风险事件",
                                                "管控措施", "管控层级", "措施责任部门", "措施责任人", "岗位"};

int lists_kind_parse(const char *name)
{
  static const char *const names[] = {"risks", "hazards", "duties"};
  for (int i = 0; i < LISTS_COUNT; i++)
    if (!strcmp(name, names[i])) return i;
  return -1;
}

void lists_table_free(struct lists_table *t)
{
  for (size_t i = 0; i < t->n_rows * t->n_cols; i++) free(t->cells[i]);
  free(t->cells);
  memset(t, 0, sizeof *t);
}

/* A new row of empty cells; its first cell, or NULL. */
static char **lists__row(struct lists_table *t)
{
  if (t->n_rows == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 32;
    char **v = realloc(t->cells, cap * t->n_cols * sizeof *v);
    if (!v) return NULL;
    t->cells = v;
    t->cap = cap;
  }
  char **row = t->cells + t->n_rows++ * t->n_cols;
  memset(row, 0, t->n_cols * sizeof *row);
  if (asprintf(&row[0], "%zu", t->n_rows) < 0) row[0] = NULL;
  return row;
}

static int lists__set(char **cell, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int lists__set(char **cell, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(cell, fmt, ap);
  va_end(ap);
  if (n < 0) *cell = NULL;
  return n < 0 ? -ENOMEM : 0;
}

static int lists__dup(char **cell, const char *s) { return s ? lists__set(cell, "%s", s) : 0; }

static const char *lists__name(const struct dg_config *c, const char *id)
{
  const struct dg_person *p = id ? dg_config_person(c, id) : NULL;
  return p && p->name ? p->name : id;
}

/* The event's control measures (not 应急措施), one per line. */
static int lists__measures(char **cell, const struct dg_event *e)
{
  char *buf = NULL;
  size_t len = 0, n = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return -ENOMEM;
  for (size_t i = 0; i < e->n_measures; i++)
    if (e->measures[i].classify1 != 4 && e->measures[i].desc) {
      fprintf(f, "%s%zu. %s", n ? "\n" : "", n + 1, e->measures[i].desc);
      n++;
    }
  if (fclose(f)) return -ENOMEM;
  *cell = buf;
  return 0;
}

static int lists__risk_row(struct lists_table *t, const struct dg_config *c, const struct dg_event *e)
{
  char **r = lists__row(t), todo[EMERGENCY_TODO_MAX];
  if (!r) return -ENOMEM;
  const struct dg_unit *u = e->unit;
  int rc = lists__dup(&r[1], u->source ? u->source->name : NULL) | lists__dup(&r[2], u->name ? u->name : u->id) |
           lists__dup(&r[3], e->name ? e->name : e->id) | lists__dup(&r[4], e->accident_type) |
           lists__dup(&r[5], e->method == DG_ASSESS_LEC ? "LEC" : "LS") | lists__set(&r[6], "%g", e->score) |
           lists__dup(&r[7], dg_level_name_zh(e->level)) | lists__measures(&r[8], e) | lists__dup(&r[10], u->dept) |
           lists__dup(&r[11], lists__name(c, u->person));
  if (!emergency_text(e, todo, sizeof todo)) rc |= lists__dup(&r[9], todo);
  return rc ? -ENOMEM : 0;
}

/* The posts facing event e, by name, separated by "、". */
static int lists__posts(char **cell, const struct dg_config *c, const struct dg_event *e)
{
  char *buf = NULL;
  size_t len = 0, n = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return -ENOMEM;
  for (size_t i = 0; i < c->n_posts; i++)
    for (size_t k = 0; k < c->posts[i].n_events; k++)
      if (c->posts[i].events[k] == e) fprintf(f, "%s%s", n++ ? "、" : "", c->posts[i].name ? c->posts[i].name : c->posts[i].id);
  if (fclose(f)) return -ENOMEM;
  *cell = buf;
  return 0;
}

static int lists__duty_row(struct lists_table *t, const struct dg_config *c, const struct dg_measure *m)
{
  char **r = lists__row(t);
  if (!r) return -ENOMEM;
  const struct dg_event *e = m->event;
  const struct dg_unit *u = e->unit;
  int rc = lists__dup(&r[1], u->name ? u->name : u->id) | lists__dup(&r[2], u->dept) |
           lists__dup(&r[3], lists__name(c, u->person)) | lists__dup(&r[4], e->name ? e->name : e->id) |
           lists__dup(&r[5], m->desc) | lists__dup(&r[6], m->control_level) | lists__dup(&r[7], m->resp_dept) |
           lists__dup(&r[8], lists__name(c, m->resp_person)) | lists__posts(&r[9], c, e);
  return rc ? -ENOMEM : 0;
}

static int lists__model(const struct dg_config *c, struct lists_table *t)
{
  for (size_t s = 0; s < c->n_sources; s++)
    for (size_t u = 0; u < c->sources[s].n_units; u++)
      for (size_t e = 0; e < c->sources[s].units[u].n_events; e++) {
        const struct dg_event *ev = &c->sources[s].units[u].events[e];
        if (t->kind == LISTS_RISKS && lists__risk_row(t, c, ev)) return -ENOMEM;
        for (size_t m = 0; t->kind == LISTS_DUTIES && m < ev->n_measures; m++)
          if (lists__duty_row(t, c, &ev->measures[m])) return -ENOMEM;
      }
  return 0;
}

static const char *const lists__sql_hazards =
  "SELECT code, danger_level, unit, description, rectify_measures, danger_state, dismissed, liable_person,"
  " COALESCE(rectifier, assignee), deadline_ms, created_ms, closed_ms FROM hazards ORDER BY id";

static const char *lists__state_zh(int state, int dismissed)
{
  if (dismissed) return "不予认定";
  switch (state) {
  case -1: return "审核中";
  case 0: return "整改中";
  case 1: return "待验收";
  case 9: return "已验收";
  default: return "—";
  }
}

static int lists__date(char **cell, sqlite3_stmt *st, int i)
{
  char d[32];
  if (sqlite3_column_type(st, i) == SQLITE_NULL) return 0;
  doc_date(sqlite3_column_int64(st, i), d, sizeof d);
  return lists__dup(cell, d);
}

static int lists__hazard_row(struct lists_table *t, const struct dg_config *c, sqlite3_stmt *st)
{
  char **r = lists__row(t);
  if (!r) return -ENOMEM;
  const char *unit = (const char *)sqlite3_column_text(st, 2);
  const struct dg_unit *u = unit ? dg_config_unit(c, unit) : NULL;
  int rc = lists__dup(&r[1], (const char *)sqlite3_column_text(st, 0)) |
           lists__dup(&r[2], sqlite3_column_int(st, 1) ? "重大隐患" : "一般隐患") |
           lists__dup(&r[3], u && u->name ? u->name : unit) | lists__dup(&r[4], (const char *)sqlite3_column_text(st, 3)) |
           lists__dup(&r[5], (const char *)sqlite3_column_text(st, 4)) |
           lists__dup(&r[6], lists__state_zh(sqlite3_column_int(st, 5), sqlite3_column_int(st, 6))) |
           lists__dup(&r[7], lists__name(c, (const char *)sqlite3_column_text(st, 7))) |
           lists__dup(&r[8], lists__name(c, (const char *)sqlite3_column_text(st, 8))) | lists__date(&r[9], st, 9) |
           lists__date(&r[10], st, 10) | lists__date(&r[11], st, 11);
  return rc ? -ENOMEM : 0;
}

static int lists__hazards(const struct dg_config *c, struct store_conn *reader, struct lists_table *t)
{
  sqlite3_stmt *st = store_stmt(reader, lists__sql_hazards);
  if (!st) return -EIO;
  int rc, err = 0;
  while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) err = lists__hazard_row(t, c, st);
  sqlite3_reset(st);
  return err ? err : rc == SQLITE_DONE ? 0 : -EIO;
}

int lists_build(const struct dg_config *c, struct store_conn *reader, enum lists_kind kind, struct lists_table *t)
{
  static const struct {
    const char *title, *title_en;
    const char *const *heads;
    size_t n;
  } kinds[] = {
    [LISTS_RISKS] = {"风险清单", "Risk list", lists__risk_heads, sizeof lists__risk_heads / sizeof lists__risk_heads[0]},
    [LISTS_HAZARDS] = {"隐患清单", "Hazard list", lists__hazard_heads, sizeof lists__hazard_heads / sizeof lists__hazard_heads[0]},
    [LISTS_DUTIES] = {"责任清单", "Responsibility list", lists__duty_heads, sizeof lists__duty_heads / sizeof lists__duty_heads[0]},
  };
  memset(t, 0, sizeof *t);
  t->kind = kind;
  t->title = kinds[kind].title;
  t->title_en = kinds[kind].title_en;
  t->heads = kinds[kind].heads;
  t->n_cols = kinds[kind].n;
  int rc = kind == LISTS_HAZARDS ? lists__hazards(c, reader, t) : lists__model(c, t);
  if (rc) lists_table_free(t);
  return rc;
}
