/* notify_config — the `channels` and `policies` sections: webhook channels, and which channels
 * hear about alarms of which priorities.
 *
 * Called by config.c with the section key on the error path, channels before policies (a
 * policy names channels). Fills c->channels (ids also go into x->ix->channels) and c->policies
 * (x->policies); both, with their strings and channel arrays, belong to the config and are
 * released by notify_config_free. */
#ifndef DG_NOTIFY_CONFIG_H
#define DG_NOTIFY_CONFIG_H

struct cfg_ctx;
struct dg_config;
struct dg_ynode;

int notify_config_channels(struct cfg_ctx *x, const struct dg_ynode *n);
int notify_config_policies(struct cfg_ctx *x, const struct dg_ynode *n);
void notify_config_free(struct dg_config *c);

#endif
