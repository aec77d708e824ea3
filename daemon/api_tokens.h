/* api_tokens — the admin's view of API tokens: GET /api/v1/tokens lists them (never a hash),
 * DELETE /api/v1/tokens/{id} revokes one. Role admin; loop thread. */
#ifndef DG_API_TOKENS_H
#define DG_API_TOKENS_H

#include "api.h"

int tokens_api_register(struct http_server *s, struct api_ctx *ctx);

#endif
