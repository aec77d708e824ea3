/* yaml — YAML text to a tree of nodes carrying 1-based line:column positions, and the checks
 * the configuration loader and the section parsers of each module apply to such trees.
 *
 * libfyaml's event parser does the syntax; scalar text is decoded here from the source for the
 * quoted and block styles, because libfyaml 0.7.12 misreads some of them (see yaml.c). Input
 * must be UTF-8 holding at most one document; aliases are refused. */
#ifndef DG_YAML_H
#define DG_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dg_ynode_type { DG_YSCALAR = 1, DG_YSEQ, DG_YMAP };

/* 40 bytes: a large configuration has millions of nodes. */
struct dg_ynode {
  uint8_t type;           /* enum dg_ynode_type */
  bool plain;             /* unquoted scalar (may mean null) */
  bool has_nul;           /* scalar text contains a NUL character */
  int line, col;          /* 1-based */
  uint32_t len;           /* of text */
  char *text;             /* scalar text, NUL-terminated */
  struct dg_ynode **kids; /* sequence items; mapping keys and values interleaved */
  uint32_t n, cap;
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

/* ---- checking a tree against what a configuration expects (yaml_check.c) ----
 *
 * The configuration loader and the section parsers of each module (*_config.c) share these.
 * Every error is one line "<name>:<line>:<col>: <key path>: <message>" written to y->err, for
 * the node it is about, under the key path walked so far ("rules[2].stages[0].limit"). A node
 * with line 0 (one added by a model edit) has no position: "<name>: <key path>: <message>".
 * The checks return 0, -EINVAL (bad content) or -ENOMEM ("<name>: out of memory"). */

struct dg_idmap;

#define DG_YCOUNT(a) (sizeof(a) / sizeof((a)[0]))
#define DG_YMAX_FIELDS 32
#define DG_YMS_DAY 86400000.0

struct dg_ycheck {
  const char *name; /* file name for messages */
  char *err;        /* caller's buffer, may be NULL */
  size_t errlen;
  char path[256];   /* key path of the node being checked */
  size_t plen;
};

__attribute__((format(printf, 4, 5)))
int dg_yc_fail_at(struct dg_ycheck *y, int line, int col, const char *fmt, ...);
/* Reports an error at node `n` under the current key path. */
__attribute__((format(printf, 3, 4)))
int dg_yc_fail(struct dg_ycheck *y, const struct dg_ynode *n, const char *fmt, ...);
/* Reports an error at node `n` under the current key path extended by `key`. */
__attribute__((format(printf, 4, 5)))
int dg_yc_failk(struct dg_ycheck *y, const struct dg_ynode *n, const char *key, const char *fmt, ...);
int dg_yc_oom(struct dg_ycheck *y);

/* Extend the key path by ".key" or "[i]"; each returns the mark dg_yc_path_restore goes back to. */
size_t dg_yc_path_key(struct dg_ycheck *y, const char *key);
size_t dg_yc_path_index(struct dg_ycheck *y, size_t i);
void dg_yc_path_restore(struct dg_ycheck *y, size_t old);

/* Typed scalars. `what` names the expected value in messages; numbers are checked against
 * [lo, hi]; durations are "500ms", "2s", "1.5m", "24h", "7d" or bare seconds, in ms. */
bool dg_yc_is_null(const struct dg_ynode *n);
int dg_yc_scalar(struct dg_ycheck *y, const struct dg_ynode *n, const char *what, const char **text); /* NULL for null */
int dg_yc_str(struct dg_ycheck *y, const struct dg_ynode *n, bool required, char **dst); /* *dst: new copy */
int dg_yc_text(struct dg_ycheck *y, const struct dg_ynode *n, const char **text); /* non-empty, borrowed */
int dg_yc_bool(struct dg_ycheck *y, const struct dg_ynode *n, bool *dst);
int dg_yc_double(struct dg_ycheck *y, const struct dg_ynode *n, double lo, double hi, double *dst);
int dg_yc_int(struct dg_ycheck *y, const struct dg_ynode *n, double lo, double hi, long long *dst);
/* A duration as the configuration writes it ("500ms", "2s", "24h", "90d"; a bare number is
 * seconds) in *ms; false on bad syntax. */
bool dg_parse_duration(const char *s, uint64_t *ms);
int dg_yc_duration(struct dg_ycheck *y, const struct dg_ynode *n, double lo, double hi, uint64_t *ms);
/* Index of the name matched by scalar `n` in NULL-terminated `names`. */
int dg_yc_choice(struct dg_ycheck *y, const struct dg_ynode *n, const char *const *names, int *idx);
/* Whether `uri` starts with one of the NULL-terminated `schemes` and has more after it. */
bool dg_yc_has_scheme(const char *uri, const char *const *schemes);

/* A mapping is described by a table of fields: plain fields are stored into the object at
 * `off`, DG_YK_NODE fields are left to the caller (dg_yseen holds every key and value node,
 * indexed like the table). Unknown keys, duplicate keys and missing DG_YF_REQ keys are errors. */
enum dg_ykind { DG_YK_NODE, DG_YK_STR, DG_YK_BOOL, DG_YK_INT, DG_YK_U8, DG_YK_U16, DG_YK_U32, DG_YK_DOUBLE,
                DG_YK_MS, DG_YK_SEC, DG_YK_ENUM };

enum { DG_YF_REQ = 1 }; /* higher flag bits are the caller's, see dg_yc_forbid */

struct dg_yfield {
  const char *key;
  enum dg_ykind kind;
  unsigned flags;
  size_t off;
  double lo, hi;
  const char *const *names; /* DG_YK_ENUM: value stored is index + 1 (an int) */
};

#define YF_NODE(k, fl) {k, DG_YK_NODE, fl, 0, 0, 0, NULL}
#define YF_STR(k, T, m, fl) {k, DG_YK_STR, fl, offsetof(T, m), 0, 0, NULL}
#define YF_NUM(k, kind, T, m, fl, lo, hi) {k, kind, fl, offsetof(T, m), lo, hi, NULL}
#define YF_BOOL(k, T, m) {k, DG_YK_BOOL, 0, offsetof(T, m), 0, 0, NULL}
#define YF_ENUM(k, T, m, fl, names) {k, DG_YK_ENUM, fl, offsetof(T, m), 0, 0, names}

struct dg_yseen {
  const struct dg_ynode *key[DG_YMAX_FIELDS];
  const struct dg_ynode *val[DG_YMAX_FIELDS];
};

/* Walks mapping `n`: stores plain fields into `obj` and records every key/value node in `s`. */
int dg_yc_map(struct dg_ycheck *y, const struct dg_ynode *n, const struct dg_yfield *f, size_t nf, void *obj,
              struct dg_yseen *s);
#define DG_YC_MAP(y, n, table, obj, s)                                                                    \
  dg_yc_map(y, n, table, DG_YCOUNT(table) + 0 * sizeof(char[DG_YCOUNT(table) <= DG_YMAX_FIELDS ? 1 : -1]), \
            obj, s)

/* Rejects the first present key whose flags intersect `flags` ("key 'k' is only valid <why>"). */
int dg_yc_forbid(struct dg_ycheck *y, const struct dg_yseen *s, const struct dg_yfield *f, size_t nf,
                 unsigned flags, const char *why);

/* Parses a sequence into a new calloc'ed array of `elsize` items stored at `arrp` (the address
 * of the owning pointer field), calling `fn` on each with "[i]" in the key path. *count is set
 * before the items are filled, so the owner's free function releases a partly built array. A
 * null value is an empty list. */
typedef int (*dg_yc_item_fn)(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i);
int dg_yc_list(struct dg_ycheck *y, const struct dg_ynode *n, size_t elsize, void *arrp, size_t *count,
               dg_yc_item_fn fn);

/* Runs `fn` on value `v` (if not NULL) with ".key" in the key path. */
typedef int (*dg_yc_fn)(struct dg_ycheck *y, const struct dg_ynode *v, void *obj);
int dg_yc_under(struct dg_ycheck *y, const struct dg_ynode *v, const char *key, void *obj, dg_yc_fn fn);

/* Adds `id` to `m` ("duplicate <kind> id" at `at` if present); resolves the id named by
 * scalar `v` under key `key` ("unknown <kind> '<id>'"). */
int dg_yc_add_id(struct dg_ycheck *y, struct dg_idmap *m, const char *id, void *obj, const struct dg_ynode *at,
                 const char *kind);
int dg_yc_ref(struct dg_ycheck *y, const struct dg_ynode *v, const char *key, const struct dg_idmap *m,
              const char *kind, void **obj);

/* `<key>_file` (field `file_key`) in place of `<key>` (field `key`) of the mapping seen in `s`:
 * the secret is read from that file (dg_yaml_read_secret) into *dst (malloc'd). Giving both
 * keys is an error; neither leaves *dst alone. */
int dg_yc_secret(struct dg_ycheck *y, const struct dg_yseen *s, const struct dg_yfield *f, int key, int file_key,
                 char **dst);

#endif
