/* api_events — GET /api/v1/events: the live event stream (events.h) as server-sent events, read
 * with the reader's token like every other /api/ read. */
#ifndef DG_API_EVENTS_H
#define DG_API_EVENTS_H

#include "api_req.h"

struct api_routes events_api_routes(void);

#endif
