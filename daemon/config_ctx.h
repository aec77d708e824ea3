/* config_ctx — what the configuration loader (config.c) shares with the section parsers of
 * each module (*_config.c) while it loads one file.
 *
 * config.c owns the context and everything in it: it creates the dg_config, walks the top-level
 * mapping and hands each section's value node to its owner's xxx_config_parse(x, node) with the
 * section key already on the error path. A parser fills its part of x->c (freed by the owner's
 * xxx_config_free, which config_free calls, also for a partly built config) and resolves its
 * references through x->ix and the id maps of the sections loaded before it. */
#ifndef DG_CONFIG_CTX_H
#define DG_CONFIG_CTX_H

#include "idmap.h"
#include "model.h"
#include "yaml.h"

struct cfg_ctx {
  struct dg_ycheck y;         /* first: item callbacks get &x->y and cfg_ctx() converts back */
  struct dg_config *c;        /* the config being built */
  struct dg_config_index *ix; /* c->index: points, measures, units, persons, channels */
  /* ids of kinds that have no public lookup, checked for duplicates and references only */
  struct dg_idmap sources, events, brokers, buses, rules, policies, posts, plans;
};

/* The context a dg_ycheck handed to a callback belongs to (every one the loader passes does). */
static inline struct cfg_ctx *cfg_ctx(struct dg_ycheck *y)
{
  return (struct cfg_ctx *)y;
}

static const char *const cfg_priorities[] = {"low", "medium", "high", "critical", NULL};

#endif
