/* config — load and validate the YAML plant configuration (libfyaml).
 *
 * Every error names file:line:column and what was expected, e.g.
 *   "demo.yaml:12:7: rules[0].point: unknown point 'GT109'"
 *   "demo.yaml:3:3: unknown key 'sitee' (expected one of: site, persons, ...)"
 * Unknown keys are errors. References (rule → point/measure, point → driver, policy → channel,
 * unit → person) are resolved and checked. */
#ifndef DG_CONFIG_H
#define DG_CONFIG_H

#include "model.h"

/* Loads `path`. On success returns 0 and *out owns a new config (free with config_free).
 * On failure returns a negative errno-style code (-EINVAL for bad content, -ENOENT/...
 * for I/O), *out is NULL, and `err` (if not NULL) holds one line:
 * "<path>:<line>:<col>: <message>" (line/col 1-based; for I/O errors just "<path>: <message>"). */
int config_load(const char *path, struct dg_config **out, char *err, size_t errlen);

/* Same, from a memory buffer; `name` is used as the file name in messages. */
int config_load_string(const char *name, const char *yaml, size_t len, struct dg_config **out,
                       char *err, size_t errlen);

/* One plant-model edit made through the API (a model_edits row), replayed over the YAML tree
 * before validation, so every rule of the loader applies to it. Strings are borrowed. */
struct config_edit {
  long long id;        /* journal row id, for messages */
  const char *op;      /* "create", "update" or "delete" */
  const char *kind;    /* "hazard_source", "unit", "event" or "measure" */
  const char *entity;  /* the entity's id */
  const char *parent;  /* create: the id of the source / unit / event it goes under (NULL for a source
                        * or a post) */
  const char *body;    /* create, update: a JSON object of config keys (create: with "id"); a null
                        * value removes the key */
};

/* Loads `path` with `edits` applied in order: update replaces the given keys of the entity's
 * mapping, create appends the body to the parent's list (creating the list), delete removes the
 * entity. An edit whose target or parent is not in the file, or whose create names an id the file
 * already has, is skipped with a warning (c->n_edits_skipped). Errors inside an edit's keys have
 * no position: "<path>: <field path>: <message>". Otherwise as config_load. */
int config_load_edits(const char *path, const struct config_edit *edits, size_t n, struct dg_config **out,
                      char *err, size_t errlen);
int config_load_edits_string(const char *name, const char *yaml, size_t len, const struct config_edit *edits,
                             size_t n, struct dg_config **out, char *err, size_t errlen);

/* The kind index 0..4 (hazard_source, unit, event, measure, post) of a config_edit kind, or -1. */
int config_edit_kind(const char *kind);

/* A duration as the configuration writes it ("500ms", "2s", "24h", "90d"; a bare number is
 * seconds) in *ms; false on bad syntax. */
bool config_parse_duration(const char *s, uint64_t *ms);

void config_free(struct dg_config *c);

#endif
