/* api_siteplan — the four-colour spatial map (风险四色空间分布图) over the API: a site-plan image
 * and each risk unit's polygon on it, coloured by the unit's current level.
 *
 *   GET    /api/v1/site-plan               the image's size and every unit with its polygon (or
 *                                          null), assessed and current level, active alarms and
 *                                          open hazards
 *   GET    /api/v1/site-plan/image         the image's bytes
 *   GET    /api/v1/site-plan/audit         the journal of uploads and polygon changes
 *   POST   /api/v1/site-plan/image         raw PNG/JPEG body (engineer, admin)
 *   PUT    /api/v1/site-plan/units/{id}    {"points": [[x, y], ...]} in image pixels (engineer, admin)
 *   DELETE /api/v1/site-plan/units/{id}    removes the unit's polygon (engineer, admin)
 *
 * The image is stored like a photo (attach_store: content-addressed, fsync'ed before its row
 * commits) in the attachments directory. Every change is one store job on the normal lane that
 * also writes its site_plan_edits row; it is answered after its commit while the loop goes on
 * (api_lane_write). A polygon set on a plan replaced meanwhile by a smaller image, or deleted
 * twice, is refused by its job (409). Loop thread. */
#ifndef DG_API_SITEPLAN_H
#define DG_API_SITEPLAN_H

#include "api_req.h"

struct api_routes siteplan_api_routes(void);

#endif
