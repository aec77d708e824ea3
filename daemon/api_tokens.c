#include "api_tokens.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "log.h"

/* The caller when it holds the admin role; else answers 401/403 and returns NULL. */
static const struct dg_person *tokens_api__admin(struct api_ctx *ctx, const struct http_request *req,
                                                 struct http_response *resp)
{
  const struct dg_person *p = api_caller(ctx, req);
  if (!p) {
    api_error(resp, 401, "Authorization: a valid bearer token is required");
    return NULL;
  }
  for (size_t i = 0; i < p->n_roles; i++)
    if (strcmp(p->roles[i], "admin") == 0) return p;
  api_error(resp, 403, "tokens: requires the admin role");
  return NULL;
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
  int rc = auth_revoke_token(ctx->store, id);
  if (rc == -ENOENT) api_error(resp, 404, "no such token");
  else if (rc == -EALREADY) api_error(resp, 409, "token %lld is already revoked", id);
  else if (rc) api_error(resp, 500, "token not revoked (database error)");
  if (rc) return;
  DG_INFO("auth", "token %lld revoked by %s", id, who->id);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", (double)id);
  cJSON_AddBoolToObject(o, "revoked", 1);
  api_reply(resp, 200, o);
}

static const struct api_route tokens_api__routes[] = {
  {"GET", "/api/v1/tokens", tokens_api__list, 0, NULL},
  {"DELETE", "/api/v1/tokens/*", tokens_api__revoke, 0, NULL},
};

struct api_routes tokens_api_routes(void) { return API_ROUTES(tokens_api__routes); }
