/* mbserve — plantsim's Modbus side: one mbsim TCP server per port named by the scenario's
 * Modbus signals, serving every unit id those signals use.
 *
 * Called from plantsim's one thread. ps_mbserve_update() writes a signal's value into its
 * registers and records whether its segment makes the device silent or answer with an
 * exception; ps_mbserve_apply() then pushes those device states to the servers (a unit is
 * silent while any of its signals is in a silent segment). */
#ifndef PS_MBSERVE_H
#define PS_MBSERVE_H

#include <stddef.h>

#include "scenario.h"

struct ps_mbserve;

/* Starts the servers of every Modbus signal of s (none: *out is NULL and 0 is returned).
 * Returns 0 or a negative errno (-EADDRINUSE when a port is taken). */
int ps_mbserve_start(struct ps_mbserve **out, struct ps_scenario *s);
/* Signal `i` of the scenario given to ps_mbserve_start, at scenario time t. */
void ps_mbserve_update(struct ps_mbserve *m, struct ps_scenario *s, size_t i, double t);
void ps_mbserve_apply(struct ps_mbserve *m);
/* Stops every server. NULL is accepted. */
void ps_mbserve_stop(struct ps_mbserve *m);

#endif
