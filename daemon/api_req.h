/* api_req — what every API module shares: the context its handlers receive (struct api_ctx,
 * owned by the daemon and alive while the server runs), the route table each module hands to
 * api_register, JSON answers, query parameters and the caller behind a bearer token.
 * Depends on no API module; loop thread only. */
#ifndef DG_API_REQ_H
#define DG_API_REQ_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "escalate.h"
#include "http.h"
#include "modbus.h"
#include "mqtt.h"
#include "notify.h"
#include "sampleq.h"
#include "store.h"

struct api_ctx {
  struct engine *engine;
  struct store *store;
  struct mqtt_driver *mqtt;
  struct mb_driver *modbus;
  struct notify *notify;
  struct escalate *escalate; /* may be NULL */
  struct sampleq *queue;
  int64_t started_ms;
  /* Operator actions (POST /api/v1/alarms/{id}/...): maps a bearer token to the person it was
   * issued to, or NULL if unknown or revoked. A NULL callback refuses every action with 401. */
  const struct dg_person *(*authenticate)(void *ud, const char *token);
  void *auth_ud;
  /* Plant-model edits (api_model.c): puts a config holding a committed edit in force, taking it
   * (the reload path). 0, or negative when it was refused (the config in force stays). NULL:
   * model edits answer 503. */
  int (*apply_model)(void *ud, struct dg_config *cfg);
  void *model_ud;
  /* Directory of photo attachments, fixed at start (ledger.attachments_dir, else
   * "<database>.attachments"); owned by the caller. */
  const char *attachments_dir;
  /* Push to the regulator's platform (notify/upload.h); NULL when not configured. */
  struct upload *upload;
  /* Accounts and login sessions (login.h); NULL: the login routes answer 503. */
  struct login *login;
  /* The server answering (request counts for /metrics); NULL: none reported. */
  const struct http_server *http;
};

/* One entry of a module's route table: a route (fn set), or, with fn NULL, a body limit
 * (http_body_limit for `pattern` as a glob, max_body and admit, with ud = the api_ctx).
 * A route's pattern is its path as docs/openapi.yaml names it: literal segments and "{name}"
 * segments, each matching one non-empty segment ("/api/v1/alarms/{id}/journal"). The server
 * routes everything from the first "{" on as a prefix to api.c, which picks the entry whose
 * pattern matches best (most literal segments) and calls fn with ud = the api_ctx.
 * `query` lists the query parameters the route takes, separated by spaces (NULL: none); any
 * other parameter answers 400 before fn runs, and so does a `limit` that is not an integer from
 * 1 to API_LIMIT_MAX, or to N when the list names it "limit<=N". */
struct api_route {
  const char *method;
  const char *pattern;
  http_handler_fn fn;
  size_t max_body;
  http_admit_fn admit;
  const char *query;
};

#define API_LIMIT_MAX 1000

/* A module's table: static storage, registered in order. */
struct api_routes {
  const struct api_route *v;
  size_t n;
};

#define API_ROUTES(arr) ((struct api_routes){(arr), sizeof(arr) / sizeof((arr)[0])})

/* JSON answers: api_reply takes the JSON (and deletes it); api_error answers
 * {"error": "<message>"}; api_json_text adds a string or null. */
void api_reply(struct http_response *resp, int status, cJSON *json);
void api_error(struct http_response *resp, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void api_json_text(cJSON *o, const char *k, const char *v);
/* size zeroed bytes (a write's job, say), or NULL after answering 500 "out of memory". */
void *api_calloc(size_t size, struct http_response *resp);
/* Column i of a result row added under k: as text, or as a number; null when NULL. */
void api_col_text(cJSON *o, const char *k, sqlite3_stmt *st, int i);
void api_col_num(cJSON *o, const char *k, sqlite3_stmt *st, int i);
/* Column i holding JSON text, added parsed; null when NULL or not JSON. */
void api_col_json(cJSON *o, const char *k, sqlite3_stmt *st, int i);

/* Query parameter `key` as text in out: 1 present, 0 absent (out ""), -1 after answering 400
 * naming the parameter when its value is too long for out or not text. */
int api_query_text(const struct http_request *req, const char *key, char *out, size_t outlen,
                   struct http_response *resp);

/* Query parameter `key` as epoch milliseconds >= min_ms: 1 and *out when present and valid,
 * 0 (and *out untouched) when absent, -1 after answering 400 naming the parameter. */
int api_query_ms(const struct http_request *req, const char *key, int64_t min_ms, int64_t *out,
                 struct http_response *resp);

/* The request's `limit` (checked by the router: absent or 1 … API_LIMIT_MAX), or dflt. */
int api_query_limit(const struct http_request *req, int dflt);

/* Cursor paging: a list answers "next_cursor", an opaque text to send back as ?cursor= for the
 * rows after the last one given, or null when the page was not full. It carries n (1 or 2)
 * integers, the sort key of the last row. api_query_cursor: 1 with v[0..n) set, 0 when absent
 * (v untouched), -1 after answering 400. */
int api_query_cursor(const struct http_request *req, int64_t *v, int n, struct http_response *resp);
void api_next_cursor(cJSON *root, const int64_t *v, int n, int rows, int limit);

/* The token of the request's "Authorization: Bearer <token>" (or session cookie), or NULL. */
const char *api_bearer(const struct http_request *req);
/* The caller when one of their roles is `role`; else NULL after answering 401 or 403. */
const struct dg_person *api_caller_with_role(struct api_ctx *ctx, const struct http_request *req,
                                             struct http_response *resp, const char *role);
/* The person behind the request's "Authorization: Bearer <token>", or NULL. */
const struct dg_person *api_caller(struct api_ctx *ctx, const struct http_request *req);
/* The same from an Authorization header's value (NULL: none). */
const struct dg_person *api_person_of(struct api_ctx *ctx, const char *authorization);
/* http_admit_fn: nonzero when the Authorization header's token belongs to a configured person,
 * whatever their roles (reading the API needs no more; "viewer" is the role for read only). */
int api_admit(void *ctx, const char *authorization);

/* The request body as a JSON object; NULL after answering 400 saying what is wrong (not UTF-8,
 * not JSON, data after the value, not an object). An empty body is an empty object. */
cJSON *api_body_object(const struct http_request *req, struct http_response *resp);

#endif
