#include "api_upload.h"

#include "engine.h"
#include "log.h"
#include "upload.h"

static void upload_api__get(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  (void)req;
  cJSON *doc = upload_status(ctx->upload, ctx->engine->cfg, store_reader(ctx->store));
  if (!doc) {
    DG_WARN("upload", "upload status failed: database error");
    api_error(resp, 500, "database error");
    return;
  }
  api_reply(resp, 200, doc);
}

int upload_api_register(struct http_server *s, struct api_ctx *ctx)
{
  return http_route(s, "GET", "/api/v1/upload", upload_api__get, ctx);
}
