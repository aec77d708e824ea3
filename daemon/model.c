#include "model.h"

#include "idmap.h"

#include <string.h>

static const char *const model__level_names[] = {
  [DG_LEVEL_NONE] = "none", [DG_LEVEL_BLUE] = "blue", [DG_LEVEL_YELLOW] = "yellow",
  [DG_LEVEL_ORANGE] = "orange", [DG_LEVEL_RED] = "red"};

static const char *const model__level_names_zh[] = {
  [DG_LEVEL_NONE] = "未评估", [DG_LEVEL_BLUE] = "低风险", [DG_LEVEL_YELLOW] = "一般风险",
  [DG_LEVEL_ORANGE] = "较大风险", [DG_LEVEL_RED] = "重大风险"};

static const char *const model__priority_names[] = {
  [DG_PRIO_NONE] = "none", [DG_PRIO_LOW] = "low", [DG_PRIO_MEDIUM] = "medium",
  [DG_PRIO_HIGH] = "high", [DG_PRIO_CRITICAL] = "critical"};

#define MODEL_COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *dg_level_name(enum dg_level l)
{
  if ((unsigned)l >= MODEL_COUNT(model__level_names)) return "none";
  return model__level_names[l];
}

const char *dg_level_name_zh(enum dg_level l)
{
  if ((unsigned)l >= MODEL_COUNT(model__level_names_zh)) return model__level_names_zh[0];
  return model__level_names_zh[l];
}

int dg_level_parse(const char *s)
{
  if (!s) return -1;
  for (size_t i = 0; i < MODEL_COUNT(model__level_names); i++)
    if (strcmp(s, model__level_names[i]) == 0 || strcmp(s, model__level_names_zh[i]) == 0)
      return (int)i;
  return -1;
}

const char *dg_priority_name(enum dg_priority p)
{
  if ((unsigned)p >= MODEL_COUNT(model__priority_names)) return "none";
  return model__priority_names[p];
}

int dg_priority_parse(const char *s)
{
  if (!s) return -1;
  for (size_t i = 0; i < MODEL_COUNT(model__priority_names); i++)
    if (strcmp(s, model__priority_names[i]) == 0) return (int)i;
  return -1;
}

const struct dg_bands dg_default_lec_bands = {70, 160, 320};
const struct dg_bands dg_default_ls_bands = {9, 15, 20};

enum dg_level dg_level_from_lec(double d, const struct dg_bands *b)
{
  if (!b) b = &dg_default_lec_bands;
  if (d > b->red) return DG_LEVEL_RED;
  if (d > b->orange) return DG_LEVEL_ORANGE;
  if (d > b->yellow) return DG_LEVEL_YELLOW;
  return DG_LEVEL_BLUE;
}

enum dg_level dg_level_from_ls(double r, const struct dg_bands *b)
{
  if (!b) b = &dg_default_ls_bands;
  if (r >= b->red) return DG_LEVEL_RED;
  if (r >= b->orange) return DG_LEVEL_ORANGE;
  if (r >= b->yellow) return DG_LEVEL_YELLOW;
  return DG_LEVEL_BLUE;
}

static bool model__id_is(const char *have, const char *want)
{
  return have && strcmp(have, want) == 0;
}

struct dg_point *dg_config_point(const struct dg_config *c, const char *id)
{
  if (!c || !id) return NULL;
  if (c->index) return dg_idmap_get(&c->index->points, id);
  for (size_t i = 0; i < c->n_points; i++)
    if (model__id_is(c->points[i].id, id)) return &c->points[i];
  return NULL;
}

static struct dg_measure *model__scan_measure(const struct dg_unit *u, const char *id)
{
  for (size_t e = 0; e < u->n_events; e++)
    for (size_t m = 0; m < u->events[e].n_measures; m++)
      if (model__id_is(u->events[e].measures[m].id, id)) return &u->events[e].measures[m];
  return NULL;
}

struct dg_measure *dg_config_measure(const struct dg_config *c, const char *id)
{
  if (!c || !id) return NULL;
  if (c->index) return dg_idmap_get(&c->index->measures, id);
  for (size_t s = 0; s < c->n_sources; s++)
    for (size_t u = 0; u < c->sources[s].n_units; u++) {
      struct dg_measure *m = model__scan_measure(&c->sources[s].units[u], id);
      if (m) return m;
    }
  return NULL;
}

struct dg_unit *dg_config_unit(const struct dg_config *c, const char *id)
{
  if (!c || !id) return NULL;
  if (c->index) return dg_idmap_get(&c->index->units, id);
  for (size_t s = 0; s < c->n_sources; s++)
    for (size_t u = 0; u < c->sources[s].n_units; u++)
      if (model__id_is(c->sources[s].units[u].id, id)) return &c->sources[s].units[u];
  return NULL;
}

struct dg_person *dg_config_person(const struct dg_config *c, const char *id)
{
  if (!c || !id) return NULL;
  if (c->index) return dg_idmap_get(&c->index->persons, id);
  for (size_t i = 0; i < c->n_persons; i++)
    if (model__id_is(c->persons[i].id, id)) return &c->persons[i];
  return NULL;
}

struct dg_post *dg_config_post(const struct dg_config *c, const char *id)
{
  for (size_t i = 0; c && id && i < c->n_posts; i++)
    if (model__id_is(c->posts[i].id, id)) return &c->posts[i];
  return NULL;
}

struct dg_plan *dg_config_plan(const struct dg_config *c, const char *id)
{
  for (size_t i = 0; c && id && i < c->n_plans; i++)
    if (model__id_is(c->plans[i].id, id)) return &c->plans[i];
  return NULL;
}

struct dg_channel *dg_config_channel(const struct dg_config *c, const char *id)
{
  if (!c || !id) return NULL;
  struct dg_channel *ch = c->index ? dg_idmap_get(&c->index->channels, id) : NULL;
  for (size_t i = 0; !c->index && !ch && i < c->n_channels; i++)
    if (model__id_is(c->channels[i].id, id)) ch = &c->channels[i];
  return ch; /* escalation channels are in the index too (esc_config adds them) */
}
