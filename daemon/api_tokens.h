/* api_tokens — the admin's view of API tokens: GET /api/v1/tokens lists them (never a hash),
 * DELETE /api/v1/tokens/{id} revokes one. Role admin; loop thread. */
#ifndef DG_API_TOKENS_H
#define DG_API_TOKENS_H

#include "api_req.h"

struct api_routes tokens_api_routes(void);

#endif
