/* api_kpi — GET /api/v1/alarm-kpis: alarm-system performance after EEMUA 191 / ISA-18.2
 * (annunciated activations in the last 10 minutes and 24 hours, floods, chattering, standing
 * alarms, the ten most frequent), read from one snapshot of the alarm journal. Loop thread. */
#ifndef DG_API_KPI_H
#define DG_API_KPI_H

#include "api_req.h"

struct api_routes kpi_api_routes(void);

#endif
