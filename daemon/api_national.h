/* api_national — the national upload profile's API: GET /api/v1/upload (the push to the
 * regulator's platform: queue depth, oldest pending and last error per record type) and the
 * shutdown / maintenance records (停车检修) the profile sends: POST /api/v1/shutdowns,
 * DELETE /api/v1/shutdowns/{id}, GET /api/v1/shutdowns. */
#ifndef DG_API_NATIONAL_H
#define DG_API_NATIONAL_H

#include "api_req.h"

struct api_routes national_api_routes(void);

#endif
