/* modbus_config — the `modbus` section: Modbus buses (TCP, RTU, RTU over TCP) with their
 * timing and defaults.
 *
 * Called by config.c with the section's value node and "modbus" on the error path. Fills
 * c->modbus_buses (ids also go into x->buses for the points); the buses and their strings
 * belong to the config and are released by modbus_config_free. */
#ifndef DG_MODBUS_CONFIG_H
#define DG_MODBUS_CONFIG_H

struct cfg_ctx;
struct dg_config;
struct dg_ynode;

int modbus_config_parse(struct cfg_ctx *x, const struct dg_ynode *n);
void modbus_config_free(struct dg_config *c);

#endif
