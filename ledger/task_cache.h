/* task_cache — which measures already have their inspection task for the current period.
 *
 * The minute's task pass asks the database, per measure, whether the task of the period
 * containing now exists. Once it does (found, or created by the pass), nothing changes for that
 * measure until the period ends: the cache remembers that end, and the pass skips the measure
 * until then. An entry is keyed by what decides the period (the measure's id, cycle, data
 * source and work-day rule), and the whole cache is dropped when the configuration in force
 * changes, so an edited cycle is asked about again at once. Tasks are only ever added for a
 * period, never removed, so a remembered "exists" cannot turn false.
 *
 * Owned by the ledger watch; loop thread only. */
#ifndef DG_TASK_CACHE_H
#define DG_TASK_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct task_cache {
  const struct dg_config *cfg; /* the configuration the entries follow, and its generation */
  uint64_t generation;
  struct task_cache_entry *entries;
  size_t n;
};

struct task_cache_entry {
  uint64_t key;
  int64_t until_ms; /* the measure's task exists for every now before this */
};

/* Follows cfg (of engine.h's config_generation), whose measures are numbered in the order the
 * pass walks them: a new configuration starts with an empty cache. */
void task_cache_follow(struct task_cache *c, const struct dg_config *cfg, uint64_t generation);
uint64_t task_cache_key(const struct dg_measure *m);
/* Whether measure i's task of the period containing now_ms is known to exist. */
bool task_cache_quiet(const struct task_cache *c, size_t i, uint64_t key, int64_t now_ms);
/* Measure i's task exists for the period ending at until_ms (not remembered when out of
 * memory: the measure is asked about again). */
void task_cache_set(struct task_cache *c, size_t i, uint64_t key, int64_t until_ms);
void task_cache_free(struct task_cache *c);

#endif
