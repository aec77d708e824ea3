/* api_attach — photo attachments over the API.
 *
 *   POST /api/v1/hazards/{id}/photos[?stage=discover|rectify|verify][&note=...]
 *   POST /api/v1/inspections/{id}/photos[?note=...]
 *     body: the raw image (Content-Type image/jpeg, image/png or image/webp, magic bytes
 *     checked; 415 / 400 otherwise), up to ATTACH_MAX_BYTES (413 beyond); bearer token required.
 *     The file is written (attach_store) and the row inserted, with a hazard_journal entry
 *     "photo" for a hazard, in one store job on the writer thread; the handler waits for it.
 *   GET /api/v1/attachments/{id}: the bytes with their content type; 500 (and an error logged)
 *     when the file is missing or no longer matches its SHA-256.
 *
 * The POST handlers are reached through the ledger's POST routes (which own the
 * /api/v1/hazards/ and /api/v1/inspections/ prefixes); attach_api_routes holds the GET route and
 * the larger body limit for the photo paths. */
#ifndef DG_API_ATTACH_H
#define DG_API_ATTACH_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "api_req.h"
#include "http.h"

/* The GET route and the body limits of the photo paths. */
struct api_routes attach_api_routes(void);

/* 1 when req is a photo upload (path ending in "/photos"), which has then been answered. */
int attach_api_upload(struct api_ctx *ctx, const struct http_request *req, struct http_response *resp);

/* The attachments of a hazard (task_id 0) or an inspection task (hazard_id 0), oldest first:
 * [{id, sha256, size, content_type, stage, uploader, note, ts_ms}]. */
cJSON *attach_api_list(struct store_conn *c, int64_t hazard_id, int64_t task_id);

#endif
