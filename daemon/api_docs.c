#include "api_docs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_posts.h"
#include "board.h"
#include "lists.h"
#include "log.h"
#include "notice.h"
#include "post_docs.h"

#define DOCS_API_UNITS "/api/v1/units/"
#define DOCS_API_NOTICES "/api/v1/notices/"

static void docs_api__html(struct http_response *resp, char *page, const char *what)
{
  if (!page) {
    api_error(resp, 500, "cannot render %s", what);
    return;
  }
  resp->body = page;
  resp->status = 200;
  resp->content_type = "text/html; charset=utf-8";
}

/* The unit named by "/api/v1/units/{id}/<tail>", or NULL after answering 404. */
static const struct dg_unit *docs_api__unit(struct api_ctx *ctx, const char *path, struct http_response *resp)
{
  char id[128];
  const char *seg = path + strlen(DOCS_API_UNITS), *slash = strchr(seg, '/');
  size_t n = slash ? (size_t)(slash - seg) : 0;
  const struct dg_unit *u = NULL;
  if (n && n < sizeof id) {
    memcpy(id, seg, n);
    id[n] = '\0';
    u = dg_config_unit(ctx->engine->cfg, id);
  }
  if (!u) api_error(resp, 404, "no such unit");
  return u;
}

static void docs_api__unit_emergency(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_unit *u = docs_api__unit(ctx, req->path, resp);
  if (u) docs_api__html(resp, post_docs_unit_emergency_html(ctx->engine->cfg, u, dg_wall_ms()), "the card");
}

/* The first post working in unit u, or NULL. */
static const struct dg_post *docs_api__post_of(const struct dg_config *c, const struct dg_unit *u)
{
  for (size_t i = 0; i < c->n_posts; i++)
    for (size_t k = 0; k < c->posts[i].n_units; k++)
      if (c->posts[i].units[k] == u) return &c->posts[i];
  return NULL;
}

/* A board's QR code: a unit's opens the phone page of a post working there; the site's opens
 * the dashboard. */
static int docs_api__board_url(struct api_ctx *ctx, const struct dg_unit *only, char *url, size_t len)
{
  const struct dg_post *p = only ? docs_api__post_of(ctx->engine->cfg, only) : NULL;
  if (p) return posts_api_link(ctx, p, url, len);
  posts_api_base(ctx->engine->cfg, url, len);
  size_t n = strlen(url);
  if (n + 2 > len) return -ENOSPC;
  memcpy(url + n, "/", 2);
  return 0;
}

static void docs_api__board_of(struct api_ctx *ctx, const struct dg_unit *only, struct http_response *resp)
{
  const struct engine *e = ctx->engine;
  struct risk_unit *units;
  size_t n;
  char url[1024];
  int rc = docs_api__board_url(ctx, only, url, sizeof url) ? -EIO
                                                            : risk_evaluate_now(store_reader(ctx->store), e->cfg, e->alarms, &units, &n);
  if (rc) {
    api_error(resp, 500, "%s", rc == -EIO ? "database error" : "out of memory");
    return;
  }
  docs_api__html(resp, board_html(e->cfg, units, n, only, url, dg_wall_ms()), "the board");
  free(units);
}

static void docs_api__unit_board(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_unit *u = docs_api__unit(ctx, req->path, resp);
  if (u) docs_api__board_of(ctx, u, resp);
}

static void docs_api__site_board(void *ud, const struct http_request *req, struct http_response *resp)
{
  (void)req;
  docs_api__board_of(ud, NULL, resp);
}

static const char *const docs_api__sql_notices =
  "SELECT n.number, n.hazard_id, h.code, n.rectifier, n.issued_ms, n.issued_by FROM rect_notices n"
  " JOIN hazards h ON h.id = n.hazard_id WHERE (?1 IS NULL OR n.hazard_id = ?1) ORDER BY n.id";

/* GET /api/v1/notices[?hazard=ID] */
static void docs_api__notices(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  char hz[24];
  int has = api_query_text(req, "hazard", hz, sizeof hz, resp);
  if (has < 0) return;
  sqlite3_stmt *st = store_stmt(store_reader(ctx->store), docs_api__sql_notices);
  if (!st) {
    api_error(resp, 500, "database error");
    return;
  }
  if (has) sqlite3_bind_int64(st, 1, strtoll(hz, NULL, 10));
  cJSON *arr = cJSON_CreateArray();
  static const char *const keys[] = {"number", "hazard_id", "hazard_code", "rectifier", "issued_ms", "issued_by"};
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < 6; i++)
      if (i == 1 || i == 4) api_col_num(o, keys[i], st, i);
      else api_col_text(o, keys[i], st, i);
    cJSON_AddItemToArray(arr, o);
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    cJSON_Delete(arr);
    api_error(resp, 500, "database error");
    return;
  }
  cJSON *root = cJSON_CreateObject();
  cJSON_AddItemToObject(root, "notices", arr);
  api_reply(resp, 200, root);
}

/* GET /api/v1/notices/{number}: the printable notice; its QR code opens the hazard on the dashboard. */
static void docs_api__notice(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const char *number = req->path + strlen(DOCS_API_NOTICES);
  char url[600];
  char *page = NULL;
  posts_api_base(ctx->engine->cfg, url, sizeof url - 16);
  strcat(url, "/#hazards");
  int rc = notice_html(store_reader(ctx->store), ctx->engine->cfg, number, url, &page);
  if (rc == -ENOENT) api_error(resp, 404, "no such notice");
  else docs_api__html(resp, page, "the notice");
}

/* GET /api/v1/lists/{risks|hazards|duties}.{xlsx|html} */
static void docs_api__list(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  char name[16];
  const char *seg = req->path + strlen("/api/v1/lists/"), *dot = strrchr(seg, '.');
  size_t n = dot ? (size_t)(dot - seg) : 0;
  int kind = -1, xlsx = dot && !strcmp(dot, ".xlsx");
  if (n && n < sizeof name && (xlsx || !strcmp(dot, ".html"))) {
    memcpy(name, seg, n);
    name[n] = '\0';
    kind = lists_kind_parse(name);
  }
  if (kind < 0) {
    api_error(resp, 404, "no such list: GET /api/v1/lists/{risks|hazards|duties}.{xlsx|html}");
    return;
  }
  struct lists_table t;
  int rc = lists_build(ctx->engine->cfg, store_reader(ctx->store), (enum lists_kind)kind, &t);
  if (rc) {
    api_error(resp, 500, "%s", rc == -EIO ? "database error" : "out of memory");
    return;
  }
  if (!xlsx) {
    docs_api__html(resp, lists_html(ctx->engine->cfg, &t, dg_wall_ms()), "the list");
  } else if ((rc = lists_xlsx(ctx->engine->cfg, &t, NULL, &resp->body, &resp->body_len))) {
    api_error(resp, 500, "cannot write the workbook (%s)", strerror(-rc));
  } else {
    resp->status = 200;
    resp->content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  }
  lists_table_free(&t);
}

static const struct api_route docs_api__routes[] = {
  {"GET", "/api/v1/lists/{name}", docs_api__list, 0, NULL, NULL},
  {"GET", DOCS_API_UNITS "{id}/emergency-card", docs_api__unit_emergency, 0, NULL, NULL},
  {"GET", DOCS_API_UNITS "{id}/board", docs_api__unit_board, 0, NULL, NULL},
  {"GET", "/api/v1/board", docs_api__site_board, 0, NULL, NULL},
  {"GET", "/api/v1/notices", docs_api__notices, 0, NULL, "hazard"},
  {"GET", DOCS_API_NOTICES "{number}", docs_api__notice, 0, NULL, NULL},
};

struct api_routes docs_api_routes(void) { return API_ROUTES(docs_api__routes); }
