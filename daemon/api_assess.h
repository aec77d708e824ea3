/* api_assess — GET /api/v1/assessment?month=YYYY-MM&by=person|post|department&format=json|csv:
 * the monthly performance assessment (考核, assess.h) as JSON or as a CSV export (UTF-8 with a
 * byte-order mark so spreadsheet programs read the Chinese headers). Loop thread. */
#ifndef DG_API_ASSESS_H
#define DG_API_ASSESS_H

#include "api_req.h"

struct api_routes assess_api_routes(void);

#endif
