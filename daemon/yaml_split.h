/* yaml_split — the two-thread parse of a large text (the reader's internals it uses are in
 * yaml_part.h).
 *
 * A large configuration is read on two threads: the text is cut at a top-level key near its
 * middle and each part is parsed on its own; the two root mappings are then joined. The cut is
 * made only where the two parts must read exactly as the whole does (a block mapping at the
 * root, one document, no directives); when either part does not parse, the whole text is
 * parsed again in one piece, so every error message is the one-piece parse's. */
#ifndef DG_YAML_SPLIT_H
#define DG_YAML_SPLIT_H

#include "yaml.h"

#include <stdbool.h>
#include <stddef.h>

/* Below dg_yaml_split_min bytes (DG_YAML_SPLIT_MIN unless a test changes it before parsing)
 * dg_yaml_parse reads the text in one piece. */
#define DG_YAML_SPLIT_MIN ((size_t)4 << 20)
extern size_t dg_yaml_split_min;

/* dg_yaml_parse, split when `len` >= `min_len` and the text allows it; *split (may be NULL)
 * says whether the tree came from two parts. */
int dg_yaml_parse_split(const char *name, const char *buf, size_t len, size_t min_len, struct dg_ytree *t,
                        char *err, size_t errlen, bool *split);

#endif
