#include "api_export.h"

#include "api_commit.h"
#include "export.h"
#include "log.h"
#include "national.h"

static void export_api__get(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  int64_t since_ms = 0;
  if (api_query_ms(req, "since", 0, &since_ms, resp) < 0) return;
  store_wait_own(ctx->store); /* export what every answered write committed */
  if (ctx->engine->cfg->national && national_assign_ids(ctx->engine->cfg, ctx->store))
    DG_WARN("export", "storing national record UUIDs failed");
  cJSON *doc = export_build(ctx->engine->cfg, store_reader(ctx->store), since_ms);
  if (!doc) {
    DG_WARN("export", "export since %lld failed: database error", (long long)since_ms);
    api_error(resp, 500, "database error");
    return;
  }
  cJSON_AddItemToObject(doc, "commitments", commit_api_since(store_reader(ctx->store), since_ms));
  api_reply(resp, 200, doc);
}

static const struct api_route export_api__routes[] = {
  {"GET", "/api/v1/export", export_api__get, 0, NULL, "since"},
};

struct api_routes export_api_routes(void) { return API_ROUTES(export_api__routes); }
