#include "task_cache.h"

#include <stdlib.h>
#include <string.h>

#include "inspect.h"

void task_cache_follow(struct task_cache *c, const struct dg_config *cfg, uint64_t generation)
{
  if (c->cfg == cfg && c->generation == generation) return;
  task_cache_free(c);
  c->cfg = cfg;
  c->generation = generation;
}

static uint64_t task_cache__mix(uint64_t h, const void *p, size_t len)
{
  const unsigned char *b = p;
  for (size_t i = 0; i < len; i++) h = (h ^ b[i]) * 0x100000001b3ULL; /* FNV-1a */
  return h;
}

uint64_t task_cache_key(const struct dg_measure *m)
{
  struct inspect_cycle cycle = inspect_measure_cycle(m);
  int fields[] = {cycle.n, (int)cycle.unit, m->data_src, m->work_days ? 1 : 0};
  uint64_t h = task_cache__mix(0xcbf29ce484222325ULL, m->id, strlen(m->id));
  return task_cache__mix(h, fields, sizeof fields);
}

bool task_cache_quiet(const struct task_cache *c, size_t i, uint64_t key, int64_t now_ms)
{
  return i < c->n && c->entries[i].key == key && now_ms < c->entries[i].until_ms;
}

void task_cache_set(struct task_cache *c, size_t i, uint64_t key, int64_t until_ms)
{
  if (i >= c->n) {
    size_t n = i + 1 > 2 * c->n ? i + 1 : 2 * c->n;
    struct task_cache_entry *e = realloc(c->entries, n * sizeof *e);
    if (!e) return; /* not remembered: asked again next pass */
    memset(e + c->n, 0, (n - c->n) * sizeof *e);
    c->entries = e;
    c->n = n;
  }
  c->entries[i] = (struct task_cache_entry){key, until_ms};
}

void task_cache_free(struct task_cache *c)
{
  free(c->entries);
  *c = (struct task_cache){0};
}
