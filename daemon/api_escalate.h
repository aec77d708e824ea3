/* api_escalate — escalation routes: running escalations, the notification outbox, who is on
 * call (reads under /api/, with the reader's token), and the one-time acknowledgement links sent
 * in messages (GET /ack, a page outside /api/ whose token is its own credential; POST /api/v1/ack). */
#ifndef DG_API_ESCALATE_H
#define DG_API_ESCALATE_H

#include "api_req.h"

struct api_routes escalate_api_routes(void);

#endif
