/* api_site_ops — the site's daily operating facts the safety commitment reports (govern.h):
 * each hazard source's operating state (running, shutdown, maintenance; every change a row of
 * its history with who, when and why) and the special operations (特殊作业) declared for a day.
 * Loop thread. */
#ifndef DG_API_SITE_OPS_H
#define DG_API_SITE_OPS_H

#include "api_req.h"

struct api_routes site_ops_api_routes(void);

/* The current operating state of hazard source `id` ({state, state_zh, reason, actor, ts_ms};
 * running with null fields when never set). */
cJSON *site_ops_api_state(struct store_conn *c, const char *id);

/* The special operations whose window overlaps [from_ms, to_ms), as a JSON array. */
cJSON *site_ops_api_operations(struct store_conn *c, int64_t from_ms, int64_t to_ms);

#endif
