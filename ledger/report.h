/* report — the monthly report (月报): major risks (units and events assessed red, major hazard
 * sources), major hazards open during the month, and the month's hazard statistics (opened,
 * closed, overdue; opened by level, type and source), as JSON, CSV (UTF-8 with BOM) or a
 * printable zh-CN HTML page, built from the plant model and the database (no HTTP: api_report
 * serves it as GET /api/v1/reports/monthly?month=YYYY-MM&format=json|csv|html). */
#ifndef DG_REPORT_H
#define DG_REPORT_H

#include <stdio.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdint.h>

#include "model.h"

/* A month as the half-open window [start_ms, end_ms) of local time. */
struct report_month {
  int year, month;
  int64_t start_ms, end_ms;
};

/* "YYYY-MM" → the month's local-time window; -EINVAL if malformed. */
int report_month_parse(const char *s, struct report_month *m);

/* The report for month m as of now_ms (a deadline counts as overdue only once it has passed),
 * read from db; NULL on a database error. */
cJSON *report_monthly(const struct dg_config *cfg, sqlite3 *db, const struct report_month *m, int64_t now_ms);

/* Renderings of report_monthly's document; malloc'd, NUL-terminated, NULL on allocation error. */
char *report_csv(const cJSON *doc);
char *report_html(const cJSON *doc);
/* Writes `s` to `f` escaped for HTML text and attribute values. */
void report_html_text(FILE *f, const char *s);

#endif
