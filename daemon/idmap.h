/* idmap — string id → object hash map (open addressing), used by config loading and the
 * dg_config_* lookups. Keys are borrowed: they must outlive the map. */
#ifndef DG_IDMAP_H
#define DG_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct dg_idmap_slot {
  const char *key;
  void *val;
  uint64_t hash;
};

struct dg_idmap {
  struct dg_idmap_slot *slots;
  size_t cap; /* power of two, or 0 before the first insert */
  size_t n;
};

/* Inserts key → val. Returns 0 when inserted, 1 when the key was already present (the map is
 * unchanged and *existing, if not NULL, gets the stored value), -ENOMEM. */
int dg_idmap_put(struct dg_idmap *m, const char *key, void *val, void **existing);
void *dg_idmap_get(const struct dg_idmap *m, const char *key); /* NULL if absent */
void dg_idmap_free(struct dg_idmap *m);

/* The lookup tables a loaded config carries (struct dg_config.index). */
struct dg_config_index {
  struct dg_idmap points;
  struct dg_idmap measures;
  struct dg_idmap units;
  struct dg_idmap persons;
  struct dg_idmap channels;
};

#endif
