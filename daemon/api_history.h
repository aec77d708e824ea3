/* api_history — a point's stored history for trend screens:
 * GET /api/v1/points/{id}/history?since=&until=&limit= reads the samples table on the loop's
 * reader connection (prepared statements) and answers the point with its live value, the rules
 * reading it (their stage limits, for drawing) and each rule's alarm. Loop thread. */
#ifndef DG_API_HISTORY_H
#define DG_API_HISTORY_H

#include "api_req.h"

struct api_routes history_api_routes(void);

#endif
