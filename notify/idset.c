#include "idset.h"

#include <errno.h>
#include <stdlib.h>

static size_t idset__slot(const struct idset *s, int64_t id)
{
  uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
  return (size_t)(h >> 17) & (s->cap - 1);
}

static int idset__grow(struct idset *s)
{
  size_t cap = s->cap ? s->cap * 2 : 64;
  int64_t *slots = calloc(cap, sizeof *slots);
  if (!slots) return -ENOMEM;
  struct idset old = *s;
  s->slots = slots;
  s->cap = cap;
  s->n = 0;
  for (size_t i = 0; i < old.cap; i++)
    if (old.slots[i]) idset_add(s, old.slots[i]);
  free(old.slots);
  return 0;
}

int idset_add(struct idset *s, int64_t id)
{
  if (id <= 0) return -EINVAL;
  if ((s->n + 1) * 4 > s->cap * 3 && idset__grow(s)) return -ENOMEM;
  size_t i = idset__slot(s, id);
  while (s->slots[i] && s->slots[i] != id) i = (i + 1) & (s->cap - 1);
  if (!s->slots[i]) {
    s->slots[i] = id;
    s->n++;
  }
  return 0;
}

bool idset_has(const struct idset *s, int64_t id)
{
  if (!s->cap || id <= 0) return false;
  for (size_t i = idset__slot(s, id); s->slots[i]; i = (i + 1) & (s->cap - 1))
    if (s->slots[i] == id) return true;
  return false;
}

/* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
void idset_del(struct idset *s, int64_t id)
{
  if (!s->cap || id <= 0) return;
  size_t mask = s->cap - 1, i = idset__slot(s, id);
  while (s->slots[i] && s->slots[i] != id) i = (i + 1) & mask;
  if (!s->slots[i]) return;
  s->slots[i] = 0;
  s->n--;
  for (size_t j = (i + 1) & mask; s->slots[j]; j = (j + 1) & mask) {
    size_t home = idset__slot(s, s->slots[j]);
    /* move slots[j] into the hole at i unless its home lies cyclically in (i, j] */
    bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (stays) continue;
    s->slots[i] = s->slots[j];
    s->slots[j] = 0;
    i = j;
  }
}

void idset_free(struct idset *s)
{
  free(s->slots);
  s->slots = NULL;
  s->cap = s->n = 0;
}
