/* idset — a set of positive 64-bit ids (open addressing, linear probing). The owner's thread
 * only; no locking. */
#ifndef DG_IDSET_H
#define DG_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct idset {
  int64_t *slots; /* 0 marks an empty slot */
  size_t cap, n;  /* cap is 0 or a power of two */
};

/* Adds id (> 0). 0, or -ENOMEM (the set is unchanged), or -EINVAL. */
int idset_add(struct idset *s, int64_t id);
bool idset_has(const struct idset *s, int64_t id);
void idset_del(struct idset *s, int64_t id);
void idset_free(struct idset *s);

#endif
