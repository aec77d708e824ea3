/* api_escalate — escalation routes: running escalations, the notification outbox, who is on
 * call, and the one-time acknowledgement links sent in messages. */
#ifndef DG_API_ESCALATE_H
#define DG_API_ESCALATE_H

#include "api_req.h"

struct api_routes escalate_api_routes(void);

#endif
