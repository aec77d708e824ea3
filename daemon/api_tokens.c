#include "api_tokens.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_lane.h"
#include "auth.h"
#include "config.h"
#include "log.h"

static const struct dg_person *tokens_api__admin(struct api_ctx *ctx, const struct http_request *req,
                                                 struct http_response *resp)
{
  return api_caller_with_role(ctx, req, resp, "admin");
}

static void tokens_api__list(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  if (!tokens_api__admin(ctx, req, resp)) return;
  cJSON *arr = auth_list_tokens(store_reader(ctx->store), dg_wall_ms());
  if (!arr) {
    api_error(resp, 500, "database error");
    return;
  }
  cJSON *root = cJSON_CreateObject();
  cJSON_AddItemToObject(root, "tokens", arr);
  api_reply(resp, 200, root);
}

/* An issue or a revocation waiting for its commit, and who asked for it. */
struct tokens_api__op {
  struct auth_issue is;
  struct auth_revocation r;
  struct store *store;
  char who[128];
};

static struct tokens_api__op *tokens_api__op(struct api_ctx *ctx, const struct dg_person *who,
                                             struct http_response *resp)
{
  struct tokens_api__op *op = api_calloc(sizeof *op, resp);
  if (!op) return NULL;
  op->store = ctx->store;
  snprintf(op->who, sizeof op->who, "%s", who->id);
  return op;
}

static int tokens_api__issue_work(struct store_conn *c, void *arg)
{
  return auth_issue_work(c, &((struct tokens_api__op *)arg)->is);
}

static int tokens_api__revoke_work(struct store_conn *c, void *arg)
{
  return auth_revocation_work(c, &((struct tokens_api__op *)arg)->r);
}

static void tokens_api__revoked(void *arg, int rc, struct http_response *resp)
{
  struct tokens_api__op *op = arg;
  long long id = (long long)op->r.id;
  if (!rc) rc = auth_revocation_result(op->store, &op->r);
  if (rc == -ENOENT) api_error(resp, 404, "no such token");
  else if (rc == -EALREADY) api_error(resp, 409, "token %lld is already revoked", id);
  else if (rc) api_error(resp, rc == -ESHUTDOWN ? 503 : 500, "token not revoked (database error)");
  else {
    DG_INFO("auth", "token %lld revoked by %s", id, op->who);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddBoolToObject(o, "revoked", 1);
    api_reply(resp, 200, o);
  }
  free(op);
}

static void tokens_api__revoke(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  long long id;
  int n = 0;
  const struct dg_person *who = tokens_api__admin(ctx, req, resp);
  if (!who) return;
  if (sscanf(req->path, "/api/v1/tokens/%lld%n", &id, &n) != 1 || req->path[n] || id <= 0) {
    api_error(resp, 404, "not found: DELETE /api/v1/tokens/{id}");
    return;
  }
  struct tokens_api__op *op = tokens_api__op(ctx, who, resp);
  if (!op) return;
  auth_revocation_init(&op->r, id);
  api_lane_write(ctx->store, req, resp, true, tokens_api__revoke_work, tokens_api__revoked, op);
}

static void tokens_api__issued(void *arg, int rc, struct http_response *resp)
{
  struct tokens_api__op *op = arg;
  if (rc) {
    api_error(resp, rc == -ESHUTDOWN ? 503 : 500, "token not created (database error)");
  } else {
    DG_INFO("auth", "token for '%s' issued by %s", op->is.person, op->who);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "person", op->is.person);
    cJSON_AddStringToObject(o, "token", op->is.token);
    cJSON_AddNumberToObject(o, "expires_ms", (double)(op->is.created_ms + op->is.valid_ms));
    api_reply(resp, 201, o);
  }
  memset(&op->is, 0, sizeof op->is);
  free(op);
}

/* POST /api/v1/tokens {"person": ID, "expires": "90d"}: the token is in this answer only. */
static void tokens_api__create(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_person *who = tokens_api__admin(ctx, req, resp);
  if (!who) return;
  if (ctx->authenticate != auth_authenticate) {
    api_error(resp, 503, "tokens: not issued by this server");
    return;
  }
  cJSON *body = cJSON_ParseWithLength(req->body, req->body_len);
  const cJSON *person = cJSON_GetObjectItemCaseSensitive(body, "person");
  const cJSON *expires = cJSON_GetObjectItemCaseSensitive(body, "expires");
  uint64_t valid_ms = AUTH_DEFAULT_VALID_MS;
  struct tokens_api__op *op = NULL;
  if (!cJSON_IsObject(body)) api_error(resp, 400, "body: expected a JSON object");
  else if (!cJSON_IsString(person)) api_error(resp, 400, "person: expected a person id");
  else if (expires && (!cJSON_IsString(expires) || !config_parse_duration(expires->valuestring, &valid_ms) ||
                       valid_ms < 1 || valid_ms > (uint64_t)AUTH_MAX_VALID_MS))
    api_error(resp, 400, "expires: expected a duration from 1s to 3650d, e.g. 90d");
  else if ((op = tokens_api__op(ctx, who, resp))) {
    int rc = auth_issue_prepare(ctx->auth_ud, &op->is, person->valuestring, (int64_t)valid_ms);
    if (rc == -ENOENT) api_error(resp, 400, "person: no person '%s' in the configuration", person->valuestring);
    else if (rc) api_error(resp, 500, "token not created (no randomness)");
    else api_lane_write(ctx->store, req, resp, true, tokens_api__issue_work, tokens_api__issued, op);
    if (rc) free(op);
  }
  cJSON_Delete(body);
}

static const struct api_route tokens_api__routes[] = {
  {"POST", "/api/v1/tokens", tokens_api__create, 0, NULL, NULL},
  {"GET", "/api/v1/tokens", tokens_api__list, 0, NULL, NULL},
  {"DELETE", "/api/v1/tokens/{id}", tokens_api__revoke, 0, NULL, NULL},
};

struct api_routes tokens_api_routes(void) { return API_ROUTES(tokens_api__routes); }
