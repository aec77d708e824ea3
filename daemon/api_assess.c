#include "api_assess.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assess.h"
#include "log.h"

static const char *const assess_api__by[] = {"person", "post", "department"};

static double assess_api__ratio(int num, int den) { return den ? (double)num / den : -1; }

static void assess_api__num(cJSON *o, const char *k, double v)
{
  if (v < 0) cJSON_AddNullToObject(o, k);
  else cJSON_AddNumberToObject(o, k, v);
}

static cJSON *assess_api__row(const struct assess_row *r)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "rank", r->rank);
  cJSON_AddStringToObject(o, "id", r->id);
  api_json_text(o, "name", r->name);
  cJSON_AddNumberToObject(o, "members", r->members);
  cJSON_AddNumberToObject(o, "inspections_due", r->due);
  cJSON_AddNumberToObject(o, "inspections_on_time", r->on_time);
  cJSON_AddNumberToObject(o, "inspections_late", r->late);
  cJSON_AddNumberToObject(o, "inspections_missed", r->missed);
  assess_api__num(o, "on_time_rate", assess_api__ratio(r->on_time, r->due));
  cJSON_AddNumberToObject(o, "hazards_reported", r->hazards_reported);
  cJSON_AddNumberToObject(o, "rectified_on_time", r->rectified_on_time);
  cJSON_AddNumberToObject(o, "rectified_overdue", r->rectified_overdue);
  cJSON_AddNumberToObject(o, "overdue_open", r->overdue_open);
  cJSON_AddNumberToObject(o, "alarms_acknowledged", r->acks);
  assess_api__num(o, "ack_mean_s", r->acks ? (double)r->ack_ms_sum / r->acks / 1000.0 : -1);
  cJSON_AddNumberToObject(o, "participants", r->participants);
  assess_api__num(o, "participation_rate", assess_api__ratio(r->participants, r->members));
  return o;
}

static const char *const assess_api__csv_head =
  "\xEF\xBB\xBF排名 rank,编号 id,名称 name,人数 members,应排查 due,按时完成 on time,逾期完成 late,未排查 missed,"
  "按时率 on-time rate,上报隐患 hazards reported,按期整改 rectified on time,逾期整改 rectified overdue,"
  "逾期未改 overdue open,确认报警 alarms acknowledged,平均确认时间(秒) mean time to acknowledge (s),"
  "参与人数 participants,参与率 participation rate\r\n";

/* A CSV field: quoted, inner quotes doubled. */
static size_t assess_api__field(char *out, size_t len, const char *s)
{
  size_t n = 0;
  if (n < len) out[n++] = '"';
  for (; s && *s && n + 2 < len; s++) {
    if (*s == '"') out[n++] = '"';
    out[n++] = *s;
  }
  if (n < len) out[n++] = '"';
  return n;
}

static char *assess_api__csv(const struct assess *a)
{
  size_t cap = strlen(assess_api__csv_head) + a->n * 1024 + 1, n = 0;
  char *buf = malloc(cap);
  if (!buf) return NULL;
  n += (size_t)snprintf(buf, cap, "%s", assess_api__csv_head);
  for (size_t i = 0; i < a->n; i++) {
    const struct assess_row *r = &a->rows[i];
    char rate[16] = "", part[16] = "", mean[24] = "";
    if (r->due) snprintf(rate, sizeof rate, "%.3f", (double)r->on_time / r->due);
    if (r->members) snprintf(part, sizeof part, "%.3f", (double)r->participants / r->members);
    if (r->acks) snprintf(mean, sizeof mean, "%.1f", (double)r->ack_ms_sum / r->acks / 1000.0);
    n += (size_t)snprintf(buf + n, cap - n, "%d,", r->rank);
    n += assess_api__field(buf + n, 300, r->id);
    buf[n++] = ',';
    n += assess_api__field(buf + n, 300, r->name ? r->name : "");
    n += (size_t)snprintf(buf + n, cap - n, ",%d,%d,%d,%d,%d,%s,%d,%d,%d,%d,%d,%s,%d,%s\r\n", r->members, r->due,
                          r->on_time, r->late, r->missed, rate, r->hazards_reported, r->rectified_on_time,
                          r->rectified_overdue, r->overdue_open, r->acks, mean, r->participants, part);
  }
  return buf;
}

static void assess_api__get(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  char month[16], by_s[16], format[8];
  int64_t from, to;
  int by = 0;
  if (api_query_text(req, "month", month, sizeof month, resp) < 0 || api_query_text(req, "by", by_s, sizeof by_s, resp) < 0 ||
      api_query_text(req, "format", format, sizeof format, resp) < 0)
    return;
  if (assess_parse_month(month, &from, &to)) {
    api_error(resp, 400, "month: expected YYYY-MM, e.g. 2026-11");
    return;
  }
  while (by_s[0] && by < 3 && strcmp(by_s, assess_api__by[by])) by++;
  if (by == 3) {
    api_error(resp, 400, "by: expected person, post or department");
    return;
  }
  if (format[0] && strcmp(format, "json") && strcmp(format, "csv")) {
    api_error(resp, 400, "format: expected json or csv");
    return;
  }
  struct assess a;
  int64_t now = dg_wall_ms();
  store_wait_idle(ctx->store);
  if (assess_month(store_reader(ctx->store), ctx->engine->cfg, (enum assess_by)by, from, to < now ? to : now, &a)) {
    api_error(resp, 500, "database error");
    return;
  }
  if (!strcmp(format, "csv")) {
    resp->body = assess_api__csv(&a);
    resp->status = resp->body ? 200 : 500;
    resp->content_type = "text/csv; charset=utf-8";
  } else {
    cJSON *root = cJSON_CreateObject(), *rows = cJSON_CreateArray();
    cJSON_AddStringToObject(root, "month", month);
    cJSON_AddStringToObject(root, "by", assess_api__by[by]);
    cJSON_AddNumberToObject(root, "from_ms", (double)from);
    cJSON_AddNumberToObject(root, "to_ms", (double)to);
    for (size_t i = 0; i < a.n; i++) cJSON_AddItemToArray(rows, assess_api__row(&a.rows[i]));
    cJSON_AddItemToObject(root, "rows", rows);
    api_reply(resp, 200, root);
  }
  assess_free(&a);
}

static const struct api_route assess_api__routes[] = {
  {"GET", "/api/v1/assessment", assess_api__get, 0, NULL, "month by format"},
};

struct api_routes assess_api_routes(void) { return API_ROUTES(assess_api__routes); }
