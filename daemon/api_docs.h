/* api_docs — printed documents beside the post cards: a unit's 应急处置卡
 * (GET /api/v1/units/{id}/emergency-card), the 安全风险公告栏 of a unit and of the site
 * (GET /api/v1/units/{id}/board, GET /api/v1/board), the rectification notices
 * (GET /api/v1/notices, GET /api/v1/notices/{number}) and the three lists (lists.h) as XLSX
 * and HTML (GET /api/v1/lists/{name}.xlsx | .html). Loop thread. */
#ifndef DG_API_DOCS_H
#define DG_API_DOCS_H

#include "api_req.h"

struct api_routes docs_api_routes(void);

#endif
