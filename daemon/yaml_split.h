/* yaml_split — the YAML reader's internals shared by its files (yaml.c, yaml_text.c,
 * yaml_split.c), and the two-thread parse of a large text.
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
#include <stdint.h>

/* Below dg_yaml_split_min bytes (DG_YAML_SPLIT_MIN unless a test changes it before parsing)
 * dg_yaml_parse reads the text in one piece. */
#define DG_YAML_SPLIT_MIN ((size_t)4 << 20)
extern size_t dg_yaml_split_min;

/* dg_yaml_parse, split when `len` >= `min_len` and the text allows it; *split (may be NULL)
 * says whether the tree came from two parts. */
int dg_yaml_parse_split(const char *name, const char *buf, size_t len, size_t min_len, struct dg_ytree *t,
                        char *err, size_t errlen, bool *split);

/* Parses `buf` as the part of a text that starts after `line_base` lines: node and error lines
 * count from the start of the whole text. *end_line (may be NULL) is the number of lines
 * libfyaml counted in the part, or -1 when the part does not end at the start of a line. */
int yaml_parse_part(const char *name, const char *buf, size_t len, int line_base, struct dg_ytree *t, char *err,
                    size_t errlen, int *end_line);
void yaml_arena_join(struct dg_ytree *into, struct dg_ytree *from);

/* First byte of `buf` that is not well-formed UTF-8 (RFC 3629) or is NUL, with its 1-based
 * line and column; NULL when all is well. */
const unsigned char *yaml_utf8_check(const char *buf, size_t len, int *line, int *col);
/* Encodes code point `c` at `out` (4 bytes room); returns the bytes written. */
size_t yaml_utf8_put(char *out, uint32_t c);

#endif
