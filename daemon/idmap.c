#include "idmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IDMAP_MIN_CAP 16

static uint64_t idmap__hash(const char *s)
{
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h ^ (h >> 29);
}

/* The stored hash spares most probes a visit to the key's text, which is rarely in cache when
 * the map holds a large plant's ids. */
static struct dg_idmap_slot *idmap__find(struct dg_idmap_slot *slots, size_t cap, const char *key, uint64_t h)
{
  size_t i = (size_t)h & (cap - 1);
  while (slots[i].key && (slots[i].hash != h || strcmp(slots[i].key, key) != 0)) i = (i + 1) & (cap - 1);
  return &slots[i];
}

static struct dg_idmap_slot *idmap__free_slot(struct dg_idmap_slot *slots, size_t cap, uint64_t h)
{
  size_t i = (size_t)h & (cap - 1);
  while (slots[i].key) i = (i + 1) & (cap - 1);
  return &slots[i];
}

static int idmap__grow(struct dg_idmap *m)
{
  size_t cap = m->cap ? m->cap * 2 : IDMAP_MIN_CAP;
  struct dg_idmap_slot *slots = calloc(cap, sizeof *slots);
  if (!slots) return -ENOMEM;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key) *idmap__free_slot(slots, cap, m->slots[i].hash) = m->slots[i];
  free(m->slots);
  m->slots = slots;
  m->cap = cap;
  return 0;
}

int dg_idmap_put(struct dg_idmap *m, const char *key, void *val, void **existing)
{
  if ((m->n + 1) * 4 > m->cap * 3) {
    int rc = idmap__grow(m);
    if (rc) return rc;
  }
  uint64_t h = idmap__hash(key);
  struct dg_idmap_slot *s = idmap__find(m->slots, m->cap, key, h);
  if (s->key) {
    if (existing) *existing = s->val;
    return 1;
  }
  s->key = key;
  s->val = val;
  s->hash = h;
  m->n++;
  return 0;
}

void *dg_idmap_get(const struct dg_idmap *m, const char *key)
{
  if (!m->cap || !key) return NULL;
  return idmap__find(m->slots, m->cap, key, idmap__hash(key))->val;
}

void dg_idmap_free(struct dg_idmap *m)
{
  free(m->slots);
  m->slots = NULL;
  m->cap = m->n = 0;
}
