#include "api_assess.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "api_lane.h"
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

/* The export's columns after rank, id and name: headers (zh and en) and the row's values, a
 * negative value standing for "none" (no due task, no acknowledgement). */
enum { ASSESS_API_NCOLS = 14 };
static const char *const assess_api__heads[3 + ASSESS_API_NCOLS] = {
  "排名 rank", "编号 id", "名称 name", "人数 members", "应排查 due", "按时完成 on time", "逾期完成 late",
  "未排查 missed", "按时率 on-time rate", "上报隐患 hazards reported", "按期整改 rectified on time",
  "逾期整改 rectified overdue", "逾期未改 overdue open", "确认报警 alarms acknowledged",
  "平均确认时间(秒) mean time to acknowledge (s)", "参与人数 participants", "参与率 participation rate"};
/* 1: a ratio (3 decimals, a percentage in XLSX), 2: seconds (1 decimal), 0: a count */
static const int assess_api__kinds[ASSESS_API_NCOLS] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 1};

static void assess_api__values(const struct assess_row *r, double *v)
{
  const double cols[ASSESS_API_NCOLS] = {
    r->members, r->due, r->on_time, r->late, r->missed, assess_api__ratio(r->on_time, r->due),
    r->hazards_reported, r->rectified_on_time, r->rectified_overdue, r->overdue_open, r->acks,
    r->acks ? (double)r->ack_ms_sum / r->acks / 1000.0 : -1, r->participants,
    assess_api__ratio(r->participants, r->members)};
  memcpy(v, cols, sizeof cols);
}

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
  size_t cap = 2048 + a->n * 1024, n = 0;
  char *buf = malloc(cap);
  if (!buf) return NULL;
  n += (size_t)snprintf(buf, cap, "\xEF\xBB\xBF");
  for (int c = 0; c < 3 + ASSESS_API_NCOLS; c++) n += (size_t)snprintf(buf + n, cap - n, "%s%s", c ? "," : "", assess_api__heads[c]);
  n += (size_t)snprintf(buf + n, cap - n, "\r\n");
  for (size_t i = 0; i < a->n; i++) {
    const struct assess_row *r = &a->rows[i];
    double v[ASSESS_API_NCOLS];
    assess_api__values(r, v);
    n += (size_t)snprintf(buf + n, cap - n, "%d,", r->rank);
    n += assess_api__field(buf + n, 300, r->id);
    buf[n++] = ',';
    n += assess_api__field(buf + n, 300, r->name ? r->name : "");
    for (int c = 0; c < ASSESS_API_NCOLS; c++) {
      if (v[c] < 0) n += (size_t)snprintf(buf + n, cap - n, ",");
      else n += (size_t)snprintf(buf + n, cap - n, assess_api__kinds[c] == 1 ? ",%.3f" : assess_api__kinds[c] ? ",%.1f" : ",%.0f", v[c]);
    }
    n += (size_t)snprintf(buf + n, cap - n, "\r\n");
  }
  return buf;
}

static void assess_api__sheet(lxw_workbook *wb, const struct assess *a, const char *title)
{
  lxw_worksheet *ws = workbook_add_worksheet(wb, NULL);
  lxw_format *bold = workbook_add_format(wb), *pct = workbook_add_format(wb), *sec = workbook_add_format(wb);
  format_set_bold(bold);
  format_set_text_wrap(bold);
  format_set_num_format(pct, "0.0%");
  format_set_num_format(sec, "0.0");
  worksheet_write_string(ws, 0, 0, title, bold);
  for (int c = 0; c < 3 + ASSESS_API_NCOLS; c++) worksheet_write_string(ws, 1, (lxw_col_t)c, assess_api__heads[c], bold);
  worksheet_set_column(ws, 0, 2 + ASSESS_API_NCOLS, 12, NULL);
  worksheet_freeze_panes(ws, 2, 3);
  for (size_t i = 0; i < a->n; i++) {
    const struct assess_row *r = &a->rows[i];
    lxw_row_t row = (lxw_row_t)(i + 2);
    double v[ASSESS_API_NCOLS];
    assess_api__values(r, v);
    worksheet_write_number(ws, row, 0, r->rank, NULL);
    worksheet_write_string(ws, row, 1, r->id, NULL);
    worksheet_write_string(ws, row, 2, r->name ? r->name : "", NULL);
    for (int c = 0; c < ASSESS_API_NCOLS; c++)
      if (v[c] >= 0)
        worksheet_write_number(ws, row, (lxw_col_t)(3 + c), v[c],
                               assess_api__kinds[c] == 1 ? pct : assess_api__kinds[c] ? sec : NULL);
  }
}

/* The whole file at `path` into *out (malloc'd). */
static int assess_api__slurp(const char *path, char **out, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f) return -errno;
  long end = !fseek(f, 0, SEEK_END) ? ftell(f) : -1;
  size_t size = end > 0 ? (size_t)end : 0;
  int rc = size && !fseek(f, 0, SEEK_SET) ? 0 : -EIO;
  if (!rc && !(*out = malloc(size))) rc = -ENOMEM;
  if (!rc && fread(*out, 1, size, f) != size) {
    free(*out);
    rc = -EIO;
  }
  fclose(f);
  if (!rc) *len = size;
  return rc;
}

/* The workbook is written to a temporary file (libxlsxwriter writes files) and read back. */
static int assess_api__xlsx(const struct assess *a, const char *title, char **out, size_t *len)
{
  const char *dir = getenv("TMPDIR");
  char path[512];
  snprintf(path, sizeof path, "%s/dualguard-assessment-XXXXXX", dir && *dir ? dir : "/tmp");
  int fd = mkstemp(path);
  if (fd < 0) return -errno;
  close(fd);
  lxw_workbook *wb = workbook_new(path);
  int rc = wb ? 0 : -EIO;
  if (wb) {
    assess_api__sheet(wb, a, title);
    rc = workbook_close(wb) == LXW_NO_ERROR ? 0 : -EIO;
  }
  if (!rc) rc = assess_api__slurp(path, out, len);
  unlink(path);
  return rc;
}

enum assess_api__format { ASSESS_API_JSON, ASSESS_API_CSV, ASSESS_API_XLSX };

/* A month's assessment, read and rendered on the store's read lane (the workbook is a file). */
struct assess_api__read {
  const struct dg_config *cfg; /* in force while the read runs: a reload waits for reads */
  char month[16];
  enum assess_by by;
  enum assess_api__format format;
  int64_t from, to, until; /* the month, and its part up to now */
  char *body;
  size_t body_len;
  bool no_workbook; /* libxlsxwriter failed */
};

static char *assess_api__json(const struct assess_api__read *r, const struct assess *a)
{
  cJSON *root = cJSON_CreateObject(), *rows = cJSON_CreateArray();
  cJSON_AddStringToObject(root, "month", r->month);
  cJSON_AddStringToObject(root, "by", assess_api__by[r->by]);
  cJSON_AddNumberToObject(root, "from_ms", (double)r->from);
  cJSON_AddNumberToObject(root, "to_ms", (double)r->to);
  for (size_t i = 0; i < a->n; i++) cJSON_AddItemToArray(rows, assess_api__row(&a->rows[i]));
  cJSON_AddItemToObject(root, "rows", rows);
  char *text = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  return text;
}

static int assess_api__work(struct store_conn *c, void *arg)
{
  struct assess_api__read *r = arg;
  struct assess a;
  if (assess_month(c, r->cfg, r->by, r->from, r->until, &a)) return SQLITE_IOERR;
  if (r->format == ASSESS_API_XLSX) {
    char title[96];
    snprintf(title, sizeof title, "%s 考核 performance assessment by %s", r->month, assess_api__by[r->by]);
    r->no_workbook = assess_api__xlsx(&a, title, &r->body, &r->body_len) != 0;
  } else {
    r->body = r->format == ASSESS_API_CSV ? assess_api__csv(&a) : assess_api__json(r, &a);
  }
  assess_free(&a);
  return r->body || r->no_workbook ? SQLITE_OK : SQLITE_NOMEM;
}

static void assess_api__reply(struct assess_api__read *r, int rc, struct http_response *resp)
{
  if (api_lane_failed(resp, "assessment", rc)) return;
  if (r->no_workbook) {
    api_error(resp, 500, "cannot write the workbook");
    return;
  }
  resp->status = 200;
  resp->body = r->body;
  resp->body_len = r->body_len;
  r->body = NULL;
  if (r->format == ASSESS_API_XLSX) resp->content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  if (r->format == ASSESS_API_CSV) resp->content_type = "text/csv; charset=utf-8";
}

static void assess_api__answer(void *arg, int rc, struct http_response *resp)
{
  struct assess_api__read *r = arg;
  assess_api__reply(r, rc, resp);
  free(r->body);
  free(r);
}

/* GET /api/v1/assessment?month=YYYY-MM&by=person|post|department&format=json|csv|xlsx */
static void assess_api__get(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  char by_s[16], format[8];
  struct assess_api__read q = {.cfg = ctx->engine->cfg};
  if (api_query_text(req, "month", q.month, sizeof q.month, resp) < 0 ||
      api_query_text(req, "by", by_s, sizeof by_s, resp) < 0 || api_query_text(req, "format", format, sizeof format, resp) < 0)
    return;
  if (assess_parse_month(q.month, &q.from, &q.to)) {
    api_error(resp, 400, "month: expected YYYY-MM, e.g. 2026-11");
    return;
  }
  int by = 0;
  while (by_s[0] && by < 3 && strcmp(by_s, assess_api__by[by])) by++;
  if (by == 3) {
    api_error(resp, 400, "by: expected person, post or department");
    return;
  }
  q.by = (enum assess_by)by;
  if (!format[0] || !strcmp(format, "json")) q.format = ASSESS_API_JSON;
  else if (!strcmp(format, "csv")) q.format = ASSESS_API_CSV;
  else if (!strcmp(format, "xlsx")) q.format = ASSESS_API_XLSX;
  else {
    api_error(resp, 400, "format: expected json, csv or xlsx");
    return;
  }
  int64_t now = dg_wall_ms();
  q.until = q.to < now ? q.to : now;
  struct assess_api__read *r = malloc(sizeof *r);
  if (!r) {
    api_error(resp, 500, "out of memory");
    return;
  }
  *r = q;
  /* assess what every answered write committed */
  api_lane_read_after_writes(ctx->store, req, resp, assess_api__work, assess_api__answer, r);
}

static const struct api_route assess_api__routes[] = {
  {"GET", "/api/v1/assessment", assess_api__get, 0, NULL, "month by format"},
};

struct api_routes assess_api_routes(void) { return API_ROUTES(assess_api__routes); }
