/* api_metrics — GET /metrics (Prometheus text exposition format 0.0.4: samples by driver and
 * quality, rule evaluations, alarms by state and priority, outbox, store queues and commit
 * latency, HTTP requests) and GET /readyz (200 when every driver is connected and the store's
 * writer is alive, else 503, with the details as JSON). Loop thread. */
#ifndef DG_API_METRICS_H
#define DG_API_METRICS_H

#include "api_req.h"

struct api_routes metrics_api_routes(void);

#endif
