/* api_govern — major-hazard governance over the API (govern.h): the expert review of a major
 * hazard, its stop-production / evacuate flag, its governance record; the operating state of
 * hazard sources; special operations declared for a day. Every change is committed (with its
 * journal or history row, who and when) before the answer and before anything else is told.
 * Loop thread. */
#ifndef DG_API_GOVERN_H
#define DG_API_GOVERN_H

#include "api_req.h"

struct api_routes govern_api_routes(void);

/* Adds "stop_flag", "stop_flag_zh", "stop_reason", "stop_by", "stop_ms" from the four result
 * columns starting at col (stop_flag, stop_reason, stop_by, stop_ms). */
void govern_api_stop_json(cJSON *o, sqlite3_stmt *st, int col);

/* The current operating state of hazard source `id` ({state, state_zh, reason, actor, ts_ms};
 * running with null fields when never set). Reader connection. */
cJSON *govern_api_source_state(struct store_conn *c, const char *id);

/* The special operations whose window overlaps [from_ms, to_ms), as a JSON array. */
cJSON *govern_api_operations(struct store_conn *c, int64_t from_ms, int64_t to_ms);

/* The major hazards with a stop flag set, as a JSON array ({id, code, unit, hazard_source,
 * stop_flag, stop_flag_zh, stop_reason, stop_by, stop_ms}). */
cJSON *govern_api_stops(struct store_conn *c);

/* Adds the governance facts to a risk-map document: "stops" (govern_api_stops), each unit's
 * "stop" (the flag of a major hazard on that unit, or null) and each hazard source's
 * "operating_state". */
void govern_api_risk_map(cJSON *root, struct store_conn *c);

#endif
