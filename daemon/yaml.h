/* yaml — YAML text to a tree of nodes carrying 1-based line:column positions, for config.c.
 *
 * libfyaml's event parser does the syntax; scalar text is decoded here from the source for the
 * quoted and block styles, because libfyaml 0.7.12 misreads some of them (see yaml.c). Input
 * must be UTF-8 holding at most one document; aliases are refused. */
#ifndef DG_YAML_H
#define DG_YAML_H

#include <stdbool.h>
#include <stddef.h>

enum dg_ynode_type { DG_YSCALAR = 1, DG_YSEQ, DG_YMAP };

struct dg_ynode {
  enum dg_ynode_type type;
  int line, col;          /* 1-based */
  bool plain;             /* unquoted scalar (may mean null) */
  bool has_nul;           /* scalar text contains a NUL character */
  char *text;             /* scalar text, NUL-terminated */
  size_t len;
  struct dg_ynode **kids; /* sequence items; mapping keys and values interleaved */
  size_t n, cap;
};

struct dg_yaml_chunk;

struct dg_ytree {
  struct dg_ynode *root;        /* NULL for a stream without a document */
  struct dg_yaml_chunk *arena;  /* owns every node and text */
};

/* Parses `len` bytes of `buf`. Returns 0, -EINVAL with `err` set to
 * "<name>:<line>:<col>: <message>", or -ENOMEM. Free the tree with dg_yaml_free either way. */
int dg_yaml_parse(const char *name, const char *buf, size_t len, struct dg_ytree *t, char *err,
                  size_t errlen);
void dg_yaml_free(struct dg_ytree *t);

/* Memory owned by tree `t` (freed with it), for callers that edit a parsed tree in place: new
 * nodes, texts and larger kids arrays. NULL when out of memory. */
void *dg_yaml_alloc(struct dg_ytree *t, size_t size);

/* Reads a secret kept in its own file (a `password_file:` key): the file's text without one
 * trailing newline, in *out (malloc'd). 0, -errno when unreadable, -EINVAL when empty or
 * holding a NUL or a line break, -EFBIG above 64 KiB. */
int dg_yaml_read_secret(const char *path, char **out);

/* Writes "<name>:<line>:<col>: <prefix><msg>" to err, control characters replaced by '?'. */
void dg_yaml_format_error(char *err, size_t errlen, const char *name, int line, int col,
                          const char *prefix, const char *msg);

#endif
