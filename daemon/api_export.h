/* api_export — GET /api/v1/export?since=<epoch ms>: the export document (export.h) of the
 * changes committed after `since`, after waiting for the writer to be idle. Loop thread. */
#ifndef DG_API_EXPORT_H
#define DG_API_EXPORT_H

#include "api_req.h"

struct api_routes export_api_routes(void);

#endif
