/* point_config — the `points` section: each point, its driver (mqtt.<broker> or modbus.<bus>)
 * and that driver's binding (MQTT topic, paths and states; Modbus register space, address,
 * type, byte order, bit).
 *
 * Called by config.c after the mqtt and modbus sections (their ids resolve the driver) and
 * after hazard_sources (unit_id must name a unit). Fills c->points (ids also go into
 * x->ix->points); the points and their strings belong to the config and are released by
 * point_config_free. */
#ifndef DG_POINT_CONFIG_H
#define DG_POINT_CONFIG_H

struct cfg_ctx;
struct dg_config;
struct dg_ynode;

int point_config_parse(struct cfg_ctx *x, const struct dg_ynode *n);
void point_config_free(struct dg_config *c);

#endif
