/* api_report — GET /api/v1/reports/monthly?month=YYYY-MM&format=json|csv|html: the monthly
 * report (report.h) read from one snapshot after waiting for the writer to be idle. Loop thread. */
#ifndef DG_API_REPORT_H
#define DG_API_REPORT_H

#include "api_req.h"

struct api_routes report_api_routes(void);

#endif
