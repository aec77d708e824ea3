#include "api_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_lane.h"
#include "log.h"
#include "report.h"

enum report_api__format { REPORT_API_JSON, REPORT_API_CSV, REPORT_API_HTML };

/* A month's report, read and rendered on the store's read lane (a year's ledger takes tens of
 * milliseconds when its pages are cold). */
struct report_api__read {
  const struct dg_config *cfg; /* in force while the read runs: a reload waits for reads */
  struct report_month month;
  enum report_api__format format;
  int64_t now_ms;
  char *text;
};

static int report_api__work(struct store_conn *c, void *arg)
{
  struct report_api__read *r = arg;
  cJSON *doc = store_read_begin(c) ? NULL : report_monthly(r->cfg, store_conn_db(c), &r->month, r->now_ms);
  store_read_end(c); /* the report's figures from one snapshot */
  if (!doc) return SQLITE_IOERR;
  r->text = r->format == REPORT_API_CSV    ? report_csv(doc)
            : r->format == REPORT_API_HTML ? report_html(doc)
                                           : cJSON_PrintUnformatted(doc);
  cJSON_Delete(doc);
  return r->text ? SQLITE_OK : SQLITE_NOMEM;
}

static void report_api__answer(void *arg, int rc, struct http_response *resp)
{
  struct report_api__read *r = arg;
  if (!api_lane_failed(resp, "report", rc)) {
    resp->status = 200;
    resp->body = r->text;
    r->text = NULL;
    if (r->format == REPORT_API_CSV) resp->content_type = "text/csv; charset=utf-8";
    if (r->format == REPORT_API_HTML) resp->content_type = "text/html; charset=utf-8";
  }
  free(r->text);
  free(r);
}

/* GET /api/v1/reports/monthly?month=YYYY-MM&format=json|csv|html */
static void report_api__get(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  char month[16], format[8];
  struct report_api__read q = {.cfg = ctx->engine->cfg, .now_ms = dg_wall_ms()};
  if (api_query_text(req, "month", month, sizeof month, resp) < 0 ||
      api_query_text(req, "format", format, sizeof format, resp) < 0)
    return;
  if (report_month_parse(month, &q.month)) {
    api_error(resp, 400, "month: expected YYYY-MM");
    return;
  }
  if (!format[0] || !strcmp(format, "json")) q.format = REPORT_API_JSON;
  else if (!strcmp(format, "csv")) q.format = REPORT_API_CSV;
  else if (!strcmp(format, "html")) q.format = REPORT_API_HTML;
  else {
    api_error(resp, 400, "format: expected json, csv or html");
    return;
  }
  struct report_api__read *r = malloc(sizeof *r);
  if (!r) {
    api_error(resp, 500, "out of memory");
    return;
  }
  *r = q;
  /* report what every answered write committed */
  api_lane_read_after_writes(ctx->store, req, resp, report_api__work, report_api__answer, r);
}

static const struct api_route report_api__routes[] = {
  {"GET", "/api/v1/reports/monthly", report_api__get, 0, NULL, "month format"},
};

struct api_routes report_api_routes(void) { return API_ROUTES(report_api__routes); }
