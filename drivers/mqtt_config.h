/* mqtt_config — the `mqtt` section: MQTT brokers and their wildcard_topics.
 *
 * Called by config.c with the section's value node and "mqtt" on the error path. Fills
 * c->mqtt_brokers (ids also go into x->brokers for the points); the brokers, their strings and
 * wildcard lists belong to the config and are released by mqtt_config_free. TLS files are
 * checked to be readable at load time. */
#ifndef DG_MQTT_CONFIG_H
#define DG_MQTT_CONFIG_H

struct cfg_ctx;
struct dg_config;
struct dg_ynode;

int mqtt_config_parse(struct cfg_ctx *x, const struct dg_ynode *n);
void mqtt_config_free(struct dg_config *c);

#endif
