/* esc_wire — connects escalation to the modules it must not be included by: the ledger's events
 * (ledger_events.h hook) start and stop hazard escalations, and the risk watch's current colours
 * feed the policies' `risk:` filters. Loop thread, once at start. */
#ifndef DG_ESC_WIRE_H
#define DG_ESC_WIRE_H

#include "escalate.h"
#include "ledger.h"
#include "ledger_watch.h"

/* *watch is read at each lookup (it is NULL before the watch starts and after it closes). */
void esc_wire(struct ledger *l, struct escalate *x, struct ledger_watch *const *watch);

#endif
