#include "report.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export.h"
#include "grade.h"
#include "log.h"

int report_month_parse(const char *s, struct report_month *m)
{
  int y, mo, n = 0;
  if (!s || strlen(s) != 7 || s[4] != '-') return -EINVAL;
  for (int i = 0; i < 7; i++)
    if (i != 4 && !isdigit((unsigned char)s[i])) return -EINVAL;
  if (sscanf(s, "%4d-%2d%n", &y, &mo, &n) != 2 || n != 7 || y < 1970 || mo < 1 || mo > 12) return -EINVAL;
  struct tm a = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = 1, .tm_isdst = -1};
  struct tm b = {.tm_year = y - 1900 + (mo == 12), .tm_mon = mo % 12, .tm_mday = 1, .tm_isdst = -1};
  time_t ta = mktime(&a), tb = mktime(&b);
  if (ta == (time_t)-1 || tb == (time_t)-1) return -EINVAL;
  m->year = y;
  m->month = mo;
  m->start_ms = (int64_t)ta * 1000;
  m->end_ms = (int64_t)tb * 1000;
  return 0;
}

/* ---- aggregation ---------------------------------------------------------------------------- */

/* ?1 start, ?2 end, ?3 min(end, now). A report dismissed as not a hazard counts nowhere. */
static const char *const report__sql_counts =
  "SELECT"
  " (SELECT count(*) FROM hazards WHERE dismissed = 0 AND created_ms >= ?1 AND created_ms < ?2) AS opened,"
  " (SELECT count(*) FROM hazards WHERE dismissed = 0 AND closed_ms >= ?1 AND closed_ms < ?2) AS closed,"
  " (SELECT count(*) FROM hazards WHERE dismissed = 0 AND deadline_ms >= ?1 AND deadline_ms < ?3"
  "   AND (closed_ms IS NULL OR closed_ms > deadline_ms)) AS overdue,"
  " (SELECT count(*) FROM hazards WHERE dismissed = 0 AND created_ms < ?2"
  "   AND (closed_ms IS NULL OR closed_ms >= ?2)) AS openAtEnd";
static const char *const report__sql_by_level =
  "SELECT danger_level AS code, count(*) AS count FROM hazards WHERE dismissed = 0 AND created_ms >= ?1 AND created_ms < ?2"
  " GROUP BY 1 ORDER BY 1";
static const char *const report__sql_by_type =
  "SELECT hazard_danger_type AS code, count(*) AS count FROM hazards WHERE dismissed = 0 AND created_ms >= ?1"
  " AND created_ms < ?2"
  " GROUP BY 1 ORDER BY 1";
static const char *const report__sql_by_source =
  "SELECT danger_src AS code, count(*) AS count FROM hazards WHERE dismissed = 0 AND created_ms >= ?1 AND created_ms < ?2"
  " GROUP BY 1 ORDER BY 1";
static const char *const report__sql_major =
  "SELECT id AS hazardId, code AS dangerCode, description AS dangerDesc, danger_state AS dangerState,"
  " hazard_source AS hazardCode, unit AS riskUnitId, liable_person AS liablePerson,"
  " " EXPORT_TIME("deadline_ms") " AS dangerManageDeadline, " EXPORT_TIME("created_ms") " AS createTime,"
  " " EXPORT_TIME("closed_ms") " AS checkAcceptTime"
  " FROM hazards WHERE danger_level = 1 AND dismissed = 0 AND created_ms < ?2 AND (closed_ms IS NULL OR closed_ms >= ?1)"
  " ORDER BY created_ms, id";

static int report__query(sqlite3 *db, const char *sql, const struct report_month *m, int64_t now_ms, cJSON *arr)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    DG_ERR("report", "prepare: %s", sqlite3_errmsg(db));
    return -EIO;
  }
  sqlite3_bind_int64(st, 1, m->start_ms);
  sqlite3_bind_int64(st, 2, m->end_ms);
  sqlite3_bind_int64(st, 3, now_ms < m->end_ms ? now_ms : m->end_ms);
  int rc = export_rows(st, arr);
  sqlite3_finalize(st);
  return rc;
}

static cJSON *report__risk(cJSON *arr, const char *kind, const char *id, const char *name, const char *parent,
                           const char *level, const char *basis)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "kind", kind);
  cJSON_AddStringToObject(o, "id", id);
  export_json_text(o, "name", name);
  export_json_text(o, "parent", parent);
  cJSON_AddStringToObject(o, "level", level);
  cJSON_AddStringToObject(o, "basis", basis);
  cJSON_AddItemToArray(arr, o);
  return o;
}

/* Units whose dynamic level was red at some time in the month (?1 start, ?2 end): red when the
 * month began, or raised to red within it; the last such change's cause. */
static const char *const report__sql_dynamic_red =
  "SELECT unit, cause FROM risk_level_history h WHERE to_level = 4 AND ((ts_ms >= ?1 AND ts_ms < ?2)"
  " OR (ts_ms < ?1 AND id = (SELECT max(id) FROM risk_level_history WHERE unit = h.unit AND ts_ms < ?1)))"
  " ORDER BY unit, id";

static int report__dynamic_red(const struct dg_config *cfg, sqlite3 *db, const struct report_month *m, cJSON *arr)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, report__sql_dynamic_red, -1, &st, NULL) != SQLITE_OK) {
    DG_ERR("report", "prepare: %s", sqlite3_errmsg(db));
    return -EIO;
  }
  sqlite3_bind_int64(st, 1, m->start_ms);
  sqlite3_bind_int64(st, 2, m->end_ms);
  int rc;
  cJSON *last = NULL;
  const struct dg_unit *last_unit = NULL;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const struct dg_unit *un = dg_config_unit(cfg, (const char *)sqlite3_column_text(st, 0));
    if (!un || un->level == DG_LEVEL_RED) continue; /* gone from the model, or listed as assessed */
    if (un != last_unit)
      last = report__risk(arr, "unit", un->id, un->name, un->source ? un->source->id : NULL,
                          dg_level_name_zh(DG_LEVEL_RED), "dynamic");
    last_unit = un;
    cJSON_DeleteItemFromObject(last, "cause");
    export_json_text(last, "cause", (const char *)sqlite3_column_text(st, 1));
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Sources that are major hazard installations (grade, and R when computed), units and events
 * assessed red, and units whose dynamic level was red during the month. */
static int report__major_risks(const struct dg_config *cfg, sqlite3 *db, const struct report_month *m, cJSON *arr)
{
  const char *red = dg_level_name_zh(DG_LEVEL_RED);
  for (size_t s = 0; s < cfg->n_sources; s++) {
    const struct dg_hazard_source *hs = &cfg->sources[s];
    if (hs->is_major) {
      cJSON *o = report__risk(arr, "hazard_source", hs->id, hs->name, NULL,
                              hs->major_grade ? grade_name_zh(hs->major_grade) : "重大危险源", "assessed");
      if (hs->graded) cJSON_AddNumberToObject(o, "rValue", hs->major_r);
    }
    for (size_t u = 0; u < hs->n_units; u++) {
      const struct dg_unit *un = &hs->units[u];
      if (un->level == DG_LEVEL_RED) report__risk(arr, "unit", un->id, un->name, hs->id, red, "assessed");
      for (size_t e = 0; e < un->n_events; e++)
        if (un->events[e].level == DG_LEVEL_RED)
          report__risk(arr, "event", un->events[e].id, un->events[e].name, un->id, red, "assessed");
    }
  }
  return report__dynamic_red(cfg, db, m, arr);
}

cJSON *report_monthly(const struct dg_config *cfg, sqlite3 *db, const struct report_month *m, int64_t now_ms)
{
  char month[16];
  snprintf(month, sizeof month, "%04d-%02d", m->year, m->month);
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "month", month);
  cJSON_AddNumberToObject(root, "start_ms", (double)m->start_ms);
  cJSON_AddNumberToObject(root, "end_ms", (double)m->end_ms);
  cJSON_AddNumberToObject(root, "generated_ms", (double)now_ms);
  export_json_text(root, "enterpriseCode", cfg->site_code);
  export_json_text(root, "enterpriseName", cfg->site_name);
  cJSON *counts = cJSON_CreateArray();
  cJSON *stats = cJSON_AddObjectToObject(root, "statistics");
  int rc = report__major_risks(cfg, db, m, cJSON_AddArrayToObject(root, "majorRisks"));
  if (!rc) rc = report__query(db, report__sql_major, m, now_ms, cJSON_AddArrayToObject(root, "majorHazards"));
  if (!rc) rc = report__query(db, report__sql_counts, m, now_ms, counts);
  if (!rc) rc = report__query(db, report__sql_by_level, m, now_ms, cJSON_AddArrayToObject(stats, "byLevel"));
  if (!rc) rc = report__query(db, report__sql_by_type, m, now_ms, cJSON_AddArrayToObject(stats, "byType"));
  if (!rc) rc = report__query(db, report__sql_by_source, m, now_ms, cJSON_AddArrayToObject(stats, "bySource"));
  if (!rc) {
    const char *keys[] = {"opened", "closed", "overdue", "openAtEnd"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
      const cJSON *v = cJSON_GetObjectItem(cJSON_GetArrayItem(counts, 0), keys[i]);
      cJSON_AddNumberToObject(stats, keys[i], cJSON_IsNumber(v) ? v->valuedouble : 0);
    }
  }
  cJSON_Delete(counts);
  if (rc) {
    cJSON_Delete(root);
    return NULL;
  }
  return root;
}

/* ---- renderings ----------------------------------------------------------------------------- */

static const char *report__state_zh(int s)
{
  return s == 0 ? "整改中" : s == 1 ? "待验收" : s == 9 ? "已验收" : s == -1 ? "审核中" : "未知";
}

static const char *report__kind_zh(const char *kind, const char *basis)
{
  if (strcmp(kind, "unit") == 0) return strcmp(basis, "dynamic") == 0 ? "风险分析单元（动态）" : "风险分析单元";
  return strcmp(kind, "hazard_source") == 0 ? "重大危险源" : "风险事件";
}

static const char *report__str(const cJSON *o, const char *k)
{
  const cJSON *v = cJSON_GetObjectItem(o, k);
  return cJSON_IsString(v) ? v->valuestring : "";
}

static long long report__num(const cJSON *o, const char *k)
{
  const cJSON *v = cJSON_GetObjectItem(o, k);
  return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

/* The date part "YYYY-MM-DD" of a time field ("yyyy-MM-dd HH:mm:ss"), "" when null. */
static const char *report__date(const cJSON *o, const char *k, char *buf, size_t len)
{
  const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
  snprintf(buf, len, "%.10s", v ? v : "");
  return buf;
}

/* One table row: the cells, written by put (CSV or HTML). */
typedef void (*report__cell_fn)(FILE *f, const char *s, int first);

static void report__row(FILE *f, report__cell_fn put, const char *end, const char *const *cells, size_t n)
{
  for (size_t i = 0; i < n; i++) put(f, cells[i], i == 0);
  fputs(end, f);
}

static void report__rows(FILE *f, report__cell_fn put, const char *end, const cJSON *doc)
{
  const cJSON *stats = cJSON_GetObjectItem(doc, "statistics"), *it;
  char num[32], d1[16], d2[16];
  static const char *const totals[][2] = {
    {"opened", "本月新增隐患"}, {"closed", "本月已验收隐患"}, {"overdue", "本月逾期隐患"}, {"openAtEnd", "月末未闭环隐患"}};
  for (size_t i = 0; i < 4; i++) {
    snprintf(num, sizeof num, "%lld", report__num(stats, totals[i][0]));
    report__row(f, put, end, (const char *[]){"隐患统计", totals[i][1], "", "", "", num}, 6);
  }
  static const char *const groups[][2] = {{"byLevel", "按隐患等级"}, {"byType", "按隐患类型"}, {"bySource", "按隐患来源"}};
  for (size_t g = 0; g < 3; g++)
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(stats, groups[g][0])) {
      char code[16];
      long long c = report__num(it, "code");
      snprintf(code, sizeof code, "%lld", c);
      snprintf(num, sizeof num, "%lld", report__num(it, "count"));
      const char *name = g == 0 ? (c == 1 ? "重大隐患" : "一般隐患") : "";
      report__row(f, put, end, (const char *[]){groups[g][1], "新增隐患", code, name, "", num}, 6);
    }
  cJSON_ArrayForEach(it, cJSON_GetObjectItem(doc, "majorRisks"))
    report__row(f, put, end, (const char *[]){"重大风险", report__kind_zh(report__str(it, "kind"), report__str(it, "basis")),
                                              report__str(it, "id"), report__str(it, "name"),
                                              report__str(it, "level"), ""}, 6);
  cJSON_ArrayForEach(it, cJSON_GetObjectItem(doc, "majorHazards")) {
    char detail[160];
    snprintf(detail, sizeof detail, "%s 责任人 %s 期限 %s 验收 %s", report__str(it, "riskUnitId"),
             report__str(it, "liablePerson"), report__date(it, "dangerManageDeadline", d1, sizeof d1),
             report__date(it, "checkAcceptTime", d2, sizeof d2));
    report__row(f, put, end, (const char *[]){"重大隐患", detail, report__str(it, "dangerCode"),
                                              report__str(it, "dangerDesc"),
                                              report__state_zh((int)report__num(it, "dangerState")), ""}, 6);
  }
}

static const char *const report__header[] = {"类别", "项目", "编号", "名称", "等级或状态", "数量"};

/* RFC 4180 quoting; a leading = + - @ is prefixed with ' so spreadsheets do not run it. */
static void report__csv_cell(FILE *f, const char *s, int first)
{
  if (!first) fputc(',', f);
  fputc('"', f);
  if (strchr("=+-@", s[0]) && s[0]) fputc('\'', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

void report_html_text(FILE *f, const char *s)
{
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    default: fputc(*s, f); break;
    }
  }
}

static void report__html_cell(FILE *f, const char *s, int first)
{
  fputs(first ? "<tr><td>" : "<td>", f);
  report_html_text(f, s);
  fputs("</td>", f);
}

/* The memstream's buffer is only final after fclose. */
static char *report__close(FILE *f, char **buf)
{
  if (fclose(f) == 0) return *buf;
  free(*buf);
  return NULL;
}

char *report_csv(const cJSON *doc)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  fputs("\xEF\xBB\xBF", f); /* BOM: spreadsheet programs then read UTF-8 */
  report__row(f, report__csv_cell, "\r\n", report__header, 6);
  report__rows(f, report__csv_cell, "\r\n", doc);
  return report__close(f, &buf);
}

char *report_html(const cJSON *doc)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>", f);
  report_html_text(f, report__str(doc, "enterpriseName"));
  fputs(" 双重预防月报 ", f);
  report_html_text(f, report__str(doc, "month"));
  fputs("</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}"
        "th,td{border:1px solid #444;padding:4px 6px;text-align:left}"
        "@media print{body{margin:0}tr{page-break-inside:avoid}}</style></head><body><h1>", f);
  report_html_text(f, report__str(doc, "enterpriseName"));
  fputs(" 双重预防机制月报</h1><p>企业编码 ", f);
  report_html_text(f, report__str(doc, "enterpriseCode"));
  fputs("，月份 ", f);
  report_html_text(f, report__str(doc, "month"));
  fputs("</p><table><thead><tr>", f);
  for (size_t i = 0; i < 6; i++) {
    fputs("<th>", f);
    report_html_text(f, report__header[i]);
    fputs("</th>", f);
  }
  fputs("</tr></thead><tbody>\n", f);
  report__rows(f, report__html_cell, "</tr>\n", doc);
  fputs("</tbody></table></body></html>\n", f);
  return report__close(f, &buf);
}
