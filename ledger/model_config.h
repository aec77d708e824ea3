/* model_config — the plant model: the `hazard_sources` section (sources with their major
 * hazard grading inputs, units, events with their LEC or LS assessment, control measures) and
 * the `risk_bands` section the assessments are banded by.
 *
 * Called by config.c with the section key on the error path: risk_bands first, then
 * hazard_sources after persons (units and measures name responsible persons). Fills
 * c->lec_bands, c->ls_bands and c->sources (unit and measure ids also go into x->ix, source and
 * event ids into x->sources and x->events); the sources and everything under them belong to the
 * config and are released by model_config_free. */
#ifndef DG_MODEL_CONFIG_H
#define DG_MODEL_CONFIG_H

#include <stddef.h>

struct cfg_ctx;
struct dg_config;
struct dg_ycheck;
struct dg_ynode;

int model_config_risk_bands(struct cfg_ctx *x, const struct dg_ynode *n);
int model_config_parse(struct cfg_ctx *x, const struct dg_ynode *n);
void model_config_free(struct dg_config *c);

/* A list of printed lines under `key` (an event's emergency steps, a post's duties): at most 20
 * non-empty texts of at most 300 bytes, in order, into a new array at *arr (n NULL: none).
 * Released with model_config_texts_free. */
int model_config_texts(struct dg_ycheck *y, const struct dg_ynode *n, const char *key, char ***arr, size_t *count);
void model_config_texts_free(char **arr, size_t n);

#endif
