/* api_commit — the daily safety commitment (安全承诺公告, govern.h) over the API.
 *
 * GET /api/v1/commitment?date=YYYY-MM-DD answers the day's confirmed commitment, or a draft
 * prefilled from the live data: each major hazard source's operating state, open hazards by
 * level, the major hazards with their stop flags, active alarms by priority, overdue inspection
 * tasks (not done, their period ended in the 24 h before the end of the day or now, whichever is
 * earlier) and the special operations declared for the day. POST /api/v1/commitment/confirm
 * stores today's draft as confirmed by the principal person in charge or a delegate; a confirmed
 * commitment never changes (the database refuses updates). GET /api/v1/commitments lists them,
 * newest first. Loop thread. */
#ifndef DG_API_COMMIT_H
#define DG_API_COMMIT_H

#include "api_req.h"

struct api_routes commit_api_routes(void);

/* The commitments confirmed at or after since_ms, as a JSON array of their bodies, oldest
 * first (for /api/v1/export). */
cJSON *commit_api_since(struct store_conn *c, int64_t since_ms);

#endif
