#include "api_escalate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define API_ESC_LIST_MAX 1000

static void api_esc__json(struct http_response *resp, char *json)
{
  if (!json) {
    api_error(resp, 500, "out of memory");
    return;
  }
  resp->status = 200;
  resp->body = json;
}

/* GET /api/v1/escalations[?alarm=ID] */
static void api_esc__list(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  int64_t alarm = 0;
  if (api_query_ms(req, "alarm", 1, &alarm, resp) < 0) return;
  if (!ctx->escalate) return api_reply(resp, 200, cJSON_Parse("{\"escalations\":[]}"));
  api_esc__json(resp, escalate_list_json(ctx->escalate, alarm));
}

/* GET /api/v1/oncall[?at=ms] */
static void api_esc__oncall(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  int64_t at = dg_wall_ms();
  if (api_query_ms(req, "at", 0, &at, resp) < 0) return;
  if (!ctx->escalate) return api_reply(resp, 200, cJSON_Parse("{\"rotas\":[]}"));
  api_esc__json(resp, escalate_oncall_json(ctx->escalate, at));
}

static const char *const api_esc__sql_outbox =
  "SELECT id, created_ms, channel, recipient, ref, state, attempts, last_error, delivered_ms, expires_ms"
  " FROM outbox WHERE (?1 IS NULL OR recipient = ?1) ORDER BY id DESC LIMIT ?2";

/* GET /api/v1/notifications[?recipient=person&limit=N] */
static void api_esc__outbox(void *ud, const struct http_request *req, struct http_response *resp)
{
  static const char *const states[] = {"pending", "delivered", "expired"};
  struct api_ctx *ctx = ud;
  char who[128], lim[16];
  int has = api_query_text(req, "recipient", who, sizeof who, resp);
  if (has < 0) return;
  int limit = http_query_get(req->query, "limit", lim, sizeof lim) > 0 ? atoi(lim) : 100;
  if (limit <= 0 || limit > API_ESC_LIST_MAX) limit = 100;
  sqlite3_stmt *st = store_stmt(store_reader(ctx->store), api_esc__sql_outbox);
  if (!st) return api_error(resp, 500, "database error");
  store_bind_text(st, 1, has && who[0] ? who : NULL);
  sqlite3_bind_int(st, 2, limit);
  cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "notifications");
  while (sqlite3_step(st) == SQLITE_ROW) {
    cJSON *o = cJSON_CreateObject();
    int state = sqlite3_column_int(st, 5);
    cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, 0));
    cJSON_AddNumberToObject(o, "created_ms", (double)sqlite3_column_int64(st, 1));
    api_json_text(o, "channel", (const char *)sqlite3_column_text(st, 2));
    api_json_text(o, "recipient", (const char *)sqlite3_column_text(st, 3));
    api_json_text(o, "ref", (const char *)sqlite3_column_text(st, 4));
    cJSON_AddStringToObject(o, "state", state >= 0 && state <= 2 ? states[state] : "unknown");
    cJSON_AddNumberToObject(o, "attempts", sqlite3_column_int(st, 6));
    api_json_text(o, "last_response", (const char *)sqlite3_column_text(st, 7));
    if (sqlite3_column_type(st, 8) == SQLITE_NULL) cJSON_AddNullToObject(o, "delivered_ms");
    else cJSON_AddNumberToObject(o, "delivered_ms", (double)sqlite3_column_int64(st, 8));
    cJSON_AddNumberToObject(o, "expires_ms", (double)sqlite3_column_int64(st, 9));
    cJSON_AddBoolToObject(o, "expired", state == 2);
    cJSON_AddItemToArray(arr, o);
  }
  sqlite3_reset(st);
  api_reply(resp, 200, root);
}

static int api_esc__token_ok(const char *t)
{
  size_t n = strlen(t);
  if (n != 32) return 0;
  return strspn(t, "0123456789abcdef") == n;
}

/* GET /ack?token=T, outside /api/ (no login: the token is the credential): a page asking to
 * confirm, so a link preview fetching the URL acknowledges nothing; the button POSTs the token. */
static void api_esc__ack_page(void *ud, const struct http_request *req, struct http_response *resp)
{
  (void)ud;
  char token[80];
  if (api_query_text(req, "token", token, sizeof token, resp) < 0) return;
  if (!api_esc__token_ok(token)) return api_error(resp, 400, "token: expected the link's token");
  static const char page[] =
    "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>确认报警 Acknowledge</title></head>"
    "<body><form method=\"post\" action=\"/api/v1/ack\"><input type=\"hidden\" name=\"token\" value=\"%s\">"
    "<button style=\"font-size:2em;padding:.5em 1em\">确认报警 / Acknowledge</button></form></body></html>";
  size_t len = sizeof page + strlen(token);
  char *html = malloc(len);
  if (!html) return api_error(resp, 500, "out of memory");
  snprintf(html, len, page, token);
  resp->status = 200;
  resp->content_type = "text/html; charset=utf-8";
  resp->body = html;
}

/* POST /api/v1/ack with token=T (form) or {"token": T}: acknowledges as the link's recipient. */
static void api_esc__ack(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  char token[80] = "", person[128];
  cJSON *body = req->body_len && req->body[0] == '{' ? cJSON_ParseWithLength(req->body, req->body_len) : NULL;
  const cJSON *jt = cJSON_GetObjectItemCaseSensitive(body, "token");
  if (cJSON_IsString(jt)) snprintf(token, sizeof token, "%s", jt->valuestring);
  else if (!body) http_query_get(req->body, "token", token, sizeof token);
  cJSON_Delete(body);
  if (!api_esc__token_ok(token)) return api_error(resp, 400, "token: expected the link's token");
  int64_t alarm = 0;
  int rc = ctx->escalate ? escalate_link_lookup(ctx->escalate, token, &alarm, person, sizeof person) : -ENOENT;
  if (rc == -ESTALE) return api_error(resp, 410, "this link has expired or was used already");
  if (rc) return api_error(resp, 404, "unknown link");
  rc = engine_ack(ctx->engine, alarm, person, "acknowledged through the notification link");
  escalate_link_used(ctx->escalate, token);
  if (rc < 0 && rc != -EALREADY) return api_error(resp, 404, "no such alarm");
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "alarm_id", (double)alarm);
  cJSON_AddStringToObject(o, "acknowledged_by", person);
  cJSON_AddBoolToObject(o, "already", rc == -EALREADY);
  DG_INFO("api", "alarm %lld acknowledged by %s through a notification link", (long long)alarm, person);
  api_reply(resp, 200, o);
}

static const struct api_route api_esc__routes[] = {
  {"GET", "/api/v1/escalations", api_esc__list, 0, NULL},
  {"GET", "/api/v1/notifications", api_esc__outbox, 0, NULL},
  {"GET", "/api/v1/oncall", api_esc__oncall, 0, NULL},
  {"GET", "/ack", api_esc__ack_page, 0, NULL},
  {"POST", "/api/v1/ack", api_esc__ack, 0, NULL},
};

struct api_routes escalate_api_routes(void) { return API_ROUTES(api_esc__routes); }
