#include "api_req.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void api_reply(struct http_response *resp, int status, cJSON *json)
{
  resp->status = status;
  resp->body = cJSON_PrintUnformatted(json);
  cJSON_Delete(json);
}

void api_error(struct http_response *resp, int status, const char *fmt, ...)
{
  char msg[320];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "error", msg);
  api_reply(resp, status, o);
}

void *api_calloc(size_t size, struct http_response *resp)
{
  void *p = calloc(1, size);
  if (!p) api_error(resp, 500, "out of memory");
  return p;
}

void api_json_text(cJSON *o, const char *k, const char *v)
{
  if (v) cJSON_AddStringToObject(o, k, v);
  else cJSON_AddNullToObject(o, k);
}

void api_col_text(cJSON *o, const char *k, sqlite3_stmt *st, int i)
{
  api_json_text(o, k, (const char *)sqlite3_column_text(st, i));
}

void api_col_num(cJSON *o, const char *k, sqlite3_stmt *st, int i)
{
  if (sqlite3_column_type(st, i) == SQLITE_NULL) cJSON_AddNullToObject(o, k);
  else cJSON_AddNumberToObject(o, k, sqlite3_column_double(st, i));
}

void api_col_json(cJSON *o, const char *k, sqlite3_stmt *st, int i)
{
  const char *t = (const char *)sqlite3_column_text(st, i);
  cJSON *v = t ? cJSON_Parse(t) : NULL;
  if (v) cJSON_AddItemToObject(o, k, v);
  else cJSON_AddNullToObject(o, k);
}

int api_query_text(const struct http_request *req, const char *key, char *out, size_t outlen,
                   struct http_response *resp)
{
  int n = http_query_get(req->query, key, out, outlen);
  if (n == -2) {
    out[0] = '\0';
    api_error(resp, 400, "%s: value too long (at most %zu bytes) or not text", key, outlen - 1);
    return -1;
  }
  if (n < 0) out[0] = '\0';
  return n >= 0;
}

int api_query_ms(const struct http_request *req, const char *key, int64_t min_ms, int64_t *out,
                 struct http_response *resp)
{
  char text[24], *end;
  int present = api_query_text(req, key, text, sizeof text, resp);
  if (present < 0) return -1;
  if (!present || !text[0]) return 0; /* absent or empty: the caller's default */
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (end == text || *end || errno || v < min_ms) {
    api_error(resp, 400, "%s: expected epoch milliseconds >= %lld", key, (long long)min_ms);
    return -1;
  }
  *out = v;
  return 1;
}

int api_query_limit(const struct http_request *req, int dflt)
{
  char buf[16];
  if (http_query_get(req->query, "limit", buf, sizeof buf) <= 0) return dflt;
  int v = atoi(buf);
  return v <= 0 ? dflt : v > API_LIMIT_MAX ? API_LIMIT_MAX : v;
}

int api_query_cursor(const struct http_request *req, int64_t *v, int n, struct http_response *resp)
{
  char text[48];
  long long a, b;
  int used = 0;
  int present = api_query_text(req, "cursor", text, sizeof text, resp);
  if (present <= 0) return present;
  int got = n == 2 ? sscanf(text, "%lld.%lld%n", &a, &b, &used) : sscanf(text, "%lld%n", &a, &used);
  if (got != n || text[used] || text[0] == ' ') {
    api_error(resp, 400, "cursor: expected the next_cursor of a previous answer");
    return -1;
  }
  v[0] = a;
  if (n == 2) v[1] = b;
  return 1;
}

void api_next_cursor(cJSON *root, const int64_t *v, int n, int rows, int limit)
{
  char text[48];
  if (rows < limit) {
    cJSON_AddNullToObject(root, "next_cursor");
    return;
  }
  if (n == 2) snprintf(text, sizeof text, "%lld.%lld", (long long)v[0], (long long)v[1]);
  else snprintf(text, sizeof text, "%lld", (long long)v[0]);
  cJSON_AddStringToObject(root, "next_cursor", text);
}

static const char *api__bearer_of(const char *h)
{
  if (!h || strncasecmp(h, "Bearer ", 7) != 0) return NULL;
  h += 7;
  while (*h == ' ') h++;
  return *h ? h : NULL;
}

const char *api_bearer(const struct http_request *req) { return api__bearer_of(req->authorization); }

const struct dg_person *api_person_of(struct api_ctx *ctx, const char *authorization)
{
  const char *token = api__bearer_of(authorization);
  return ctx->authenticate && token ? ctx->authenticate(ctx->auth_ud, token) : NULL;
}

const struct dg_person *api_caller_with_role(struct api_ctx *ctx, const struct http_request *req,
                                             struct http_response *resp, const char *role)
{
  const struct dg_person *p = api_caller(ctx, req);
  if (!p) {
    api_error(resp, 401, "Authorization: a valid bearer token or login session is required");
    return NULL;
  }
  for (size_t i = 0; i < p->n_roles; i++)
    if (strcmp(p->roles[i], role) == 0) return p;
  api_error(resp, 403, "requires the %s role", role);
  return NULL;
}

const struct dg_person *api_caller(struct api_ctx *ctx, const struct http_request *req)
{
  return api_person_of(ctx, req->authorization);
}

int api_admit(void *ctx, const char *authorization) { return api_person_of(ctx, authorization) != NULL; }

cJSON *api_body_object(const struct http_request *req, struct http_response *resp)
{
  size_t bad = 0;
  if (!req->body_len) return cJSON_CreateObject();
  if (!http_utf8_valid(req->body, req->body_len, &bad)) {
    api_error(resp, 400, "body: not valid UTF-8 text (byte %zu)", bad);
    return NULL;
  }
  const char *end = NULL;
  cJSON *body = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, 0);
  if (!body) {
    api_error(resp, 400, "body: not valid JSON");
    return NULL;
  }
  while (end < req->body + req->body_len && strchr(" \t\r\n", *end)) end++;
  if (end < req->body + req->body_len) {
    api_error(resp, 400, "body: unexpected data after the JSON value (byte %zu)", (size_t)(end - req->body));
  } else if (!cJSON_IsObject(body)) {
    api_error(resp, 400, "body: expected a JSON object");
  } else {
    return body;
  }
  cJSON_Delete(body);
  return NULL;
}
