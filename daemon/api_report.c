#include "api_report.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "report.h"

static void report_api__get(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  char month[16], format[8];
  struct report_month m;
  if (api_query_text(req, "month", month, sizeof month, resp) < 0 ||
      api_query_text(req, "format", format, sizeof format, resp) < 0)
    return;
  if (!format[0]) snprintf(format, sizeof format, "json");
  int fmt = strcmp(format, "json") == 0 ? 0 : strcmp(format, "csv") == 0 ? 1 : strcmp(format, "html") == 0 ? 2 : -1;
  if (report_month_parse(month, &m)) {
    api_error(resp, 400, "month: expected YYYY-MM");
    return;
  }
  if (fmt < 0) {
    api_error(resp, 400, "format: expected json, csv or html");
    return;
  }
  store_wait_own(ctx->store); /* report what every answered write committed */
  struct store_conn *c = store_reader(ctx->store);
  cJSON *doc = store_read_begin(c) ? NULL : report_monthly(ctx->engine->cfg, store_conn_db(c), &m, dg_wall_ms());
  store_read_end(c); /* the report's figures from one snapshot */
  if (!doc) {
    api_error(resp, 500, "database error");
    return;
  }
  if (fmt == 0) {
    api_reply(resp, 200, doc);
    return;
  }
  resp->body = fmt == 1 ? report_csv(doc) : report_html(doc);
  cJSON_Delete(doc);
  if (!resp->body) {
    api_error(resp, 500, "out of memory");
    return;
  }
  resp->status = 200;
  resp->content_type = fmt == 1 ? "text/csv; charset=utf-8" : "text/html; charset=utf-8";
}

static const struct api_route report_api__routes[] = {
  {"GET", "/api/v1/reports/monthly", report_api__get, 0, NULL, "month format"},
};

struct api_routes report_api_routes(void) { return API_ROUTES(report_api__routes); }
