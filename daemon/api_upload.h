/* api_upload — GET /api/v1/upload: the push to the regulator's platform (notify/upload.h):
 * queue depth, oldest pending and last error per record type. */
#ifndef DG_API_UPLOAD_H
#define DG_API_UPLOAD_H

#include "api.h"
#include "http.h"

int upload_api_register(struct http_server *s, struct api_ctx *ctx);

#endif
