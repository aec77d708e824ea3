/* api_govern — major-hazard governance over the API (govern.h): the expert review of a major
 * hazard, its stop-production / evacuate flag, its governance record (GET /api/v1/governance).
 * Every change is committed with its journal entry (who, when) before the answer and before
 * anything else is told. Loop thread. */
#ifndef DG_API_GOVERN_H
#define DG_API_GOVERN_H

#include "api_req.h"

struct api_routes govern_api_routes(void);

/* Adds "stop_flag", "stop_flag_zh", "stop_reason", "stop_by", "stop_ms" from the four result
 * columns starting at col (stop_flag, stop_reason, stop_by, stop_ms). */
void govern_api_stop_json(cJSON *o, sqlite3_stmt *st, int col);

/* The major hazards with a stop flag set, as a JSON array ({id, code, unit, hazard_source,
 * stop_flag, stop_flag_zh, stop_reason, stop_by, stop_ms}). */
cJSON *govern_api_stops(struct store_conn *c);

/* Adds the governance facts to a risk-map document: "stops" (govern_api_stops), each unit's
 * "stop" (the flag of a major hazard on that unit, or null) and each hazard source's
 * "operating_state". */
void govern_api_risk_map(cJSON *root, struct store_conn *c);

#endif
