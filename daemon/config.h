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

void config_free(struct dg_config *c);

#endif
