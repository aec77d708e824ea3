/* rule_config — the `rules` section: every rule type (high, low, rate, stale, quality, expr,
 * deviation, vote, aggregate), its stages, delays, suppression and hazard settings.
 *
 * Called by config.c after points and hazard_sources (rules name points and measures; an
 * aggregate names rules listed before it). Fills c->rules (ids also go into x->rules); the
 * rules, their stages, input arrays and compiled expressions belong to the config and are
 * released by rule_config_free. */
#ifndef DG_RULE_CONFIG_H
#define DG_RULE_CONFIG_H

struct cfg_ctx;
struct dg_config;
struct dg_ynode;

int rule_config_parse(struct cfg_ctx *x, const struct dg_ynode *n);
void rule_config_free(struct dg_config *c);

#endif
