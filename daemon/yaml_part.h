/* yaml_part — the YAML reader's internals shared by its files: yaml.c (parsing a part of a
 * text), yaml_text.c (UTF-8) and yaml_split.c (the two-thread parse). It names the tree only
 * by pointer, so that yaml.c can use it without including yaml_split back. */
#ifndef DG_YAML_PART_H
#define DG_YAML_PART_H

#include <stddef.h>
#include <stdint.h>

struct dg_ytree;

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
