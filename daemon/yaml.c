#include "yaml.h"
#include "yaml_part.h"

#include <errno.h>
#include <libfyaml.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define YAML_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define YAML_LSAN 1
#endif
#endif
#ifdef YAML_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#define YAML_MAX_DEPTH 64
#define YAML_CHUNK_MIN (64u << 10)
#define YAML_CHUNK_MAX (32u << 20)
#define YAML_HUGE (2u << 20)
#define YAML_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- arena owning the tree ----
 *
 * Chunks double in size, so a large configuration (millions of nodes) takes few of them; those
 * of 2 MiB and more are mapped on their own, aligned for transparent huge pages where the
 * system allows them on request: touching hundreds of megabytes page by page costs more than
 * building the tree. Everything is given back when the tree is freed. */

struct dg_yaml_chunk {
  struct dg_yaml_chunk *next;
  size_t used, size;
  void *map;        /* start of the mapping, NULL for a malloc'ed chunk */
  size_t map_len;
  max_align_t data[];
};

static struct dg_yaml_chunk *yaml__map_chunk(size_t bytes)
{
  size_t len = bytes + YAML_HUGE;
  char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  char *aligned = (char *)(((uintptr_t)p + YAML_HUGE - 1) & ~(uintptr_t)(YAML_HUGE - 1));
#ifdef MADV_HUGEPAGE
  madvise(aligned, bytes, MADV_HUGEPAGE); /* a hint: without it the pages are small */
#endif
  struct dg_yaml_chunk *ch = (struct dg_yaml_chunk *)aligned;
  ch->map = p;
  ch->map_len = len;
  return ch;
}

static struct dg_yaml_chunk *yaml__new_chunk(const struct dg_yaml_chunk *prev, size_t size)
{
  size_t cap = prev ? prev->size * 2 : YAML_CHUNK_MIN;
  if (cap > YAML_CHUNK_MAX) cap = YAML_CHUNK_MAX;
  if (cap < size) cap = size;
  size_t bytes = sizeof(struct dg_yaml_chunk) + cap;
  struct dg_yaml_chunk *ch = bytes >= YAML_HUGE ? yaml__map_chunk(bytes) : malloc(bytes);
  if (!ch) return NULL;
  if (bytes < YAML_HUGE) ch->map = NULL;
  ch->size = cap;
  ch->used = 0;
  return ch;
}

/* `align` is a power of two no larger than max_align_t's. */
static void *yaml__alloc_aligned(struct dg_yaml_chunk **head, size_t size, size_t align)
{
  struct dg_yaml_chunk *ch = *head;
  size_t at = ch ? (ch->used + align - 1) & ~(align - 1) : 0;
  if (!ch || at > ch->size || ch->size - at < size) {
    if (!(ch = yaml__new_chunk(ch, size))) return NULL;
    ch->next = *head;
    *head = ch;
    at = 0;
  }
  ch->used = at + size;
  return (char *)ch->data + at;
}

static void *yaml__alloc(struct dg_yaml_chunk **head, size_t size)
{
  return yaml__alloc_aligned(head, size, sizeof(max_align_t));
}

static void yaml__arena_free(struct dg_yaml_chunk *ch)
{
  while (ch) {
    struct dg_yaml_chunk *next = ch->next;
    if (ch->map) munmap(ch->map, ch->map_len);
    else free(ch);
    ch = next;
  }
}

/* Puts the chunks of `from` at the end of `into`'s: one arena owns both trees' nodes. */
void yaml_arena_join(struct dg_ytree *into, struct dg_ytree *from)
{
  struct dg_yaml_chunk **tail = &into->arena;
  while (*tail) tail = &(*tail)->next;
  *tail = from->arena;
  from->arena = NULL;
  from->root = NULL;
}

/* ---- YAML events → tree ---- */

struct ybuild {
  struct dg_ytree *t;
  const char *name; /* file name for messages */
  char *err;
  size_t errlen;
  const char *buf;  /* the text being parsed */
  size_t len;
  size_t prev_end; /* input position where the previous event ended */
  struct dg_ynode *stack[YAML_MAX_DEPTH];
  size_t first_kid[YAML_MAX_DEPTH]; /* where each open node's children start in `kids` */
  size_t depth;
  /* Children of the open nodes, collected here and copied into an array of the exact size
   * when their node ends. */
  struct dg_ynode **kids;
  size_t n_kids, cap_kids;
  struct dg_ynode *root;
  int docs;
  int line, col; /* position of the last event that had one */
  int line_base; /* lines of the whole text above `buf` (a part of it) */
};

void dg_yaml_format_error(char *err, size_t errlen, const char *name, int line, int col,
                          const char *prefix, const char *msg)
{
  if (!err || !errlen) return;
  snprintf(err, errlen, "%s:%d:%d: %s%s", name, line > 0 ? line : 1, col > 0 ? col : 1, prefix, msg);
  for (char *s = err; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = '?';
}

__attribute__((format(printf, 4, 5)))
static int yaml__fail(struct ybuild *b, int line, int col, const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dg_yaml_format_error(b->err, b->errlen, b->name, line, col, "", msg);
  return -EINVAL;
}

static int yaml__oom(struct ybuild *b)
{
  if (b->err && b->errlen) snprintf(b->err, b->errlen, "%s: out of memory", b->name);
  return -ENOMEM;
}

static int yaml__attach(struct ybuild *b, struct dg_ynode *n)
{
  if (!b->depth) {
    b->root = n;
    return 0;
  }
  if (b->n_kids == b->cap_kids) {
    size_t cap = b->cap_kids ? b->cap_kids * 2 : 256;
    struct dg_ynode **kids = realloc(b->kids, cap * sizeof *kids);
    if (!kids) return yaml__oom(b);
    b->kids = kids;
    b->cap_kids = cap;
  }
  b->kids[b->n_kids++] = n;
  return 0;
}

/* The end of the innermost open node: its children move into the tree. */
static int yaml__close(struct ybuild *b)
{
  if (!b->depth) return 0;
  struct dg_ynode *n = b->stack[--b->depth];
  size_t first = b->first_kid[b->depth], count = b->n_kids - first;
  b->n_kids = first;
  if (!count) return 0;
  n->kids = yaml__alloc_aligned(&b->t->arena, count * sizeof *n->kids, _Alignof(struct dg_ynode *));
  if (!n->kids) return yaml__oom(b);
  memcpy(n->kids, b->kids + first, count * sizeof *n->kids);
  n->n = n->cap = count;
  return 0;
}

static struct dg_ynode *yaml__node(struct ybuild *b, enum dg_ynode_type type)
{
  struct dg_ynode *n = yaml__alloc_aligned(&b->t->arena, sizeof *n, _Alignof(struct dg_ynode));
  if (!n) return NULL;
  memset(n, 0, sizeof *n);
  n->type = type;
  n->line = b->line;
  n->col = b->col;
  return n;
}

static int yaml__open(struct ybuild *b, enum dg_ynode_type type)
{
  if (b->depth == YAML_MAX_DEPTH)
    return yaml__fail(b, b->line, b->col, "nesting deeper than %d levels", YAML_MAX_DEPTH);
  struct dg_ynode *n = yaml__node(b, type);
  if (!n) return yaml__oom(b);
  int rc = yaml__attach(b, n);
  if (rc) return rc;
  b->first_kid[b->depth] = b->n_kids;
  b->stack[b->depth++] = n;
  return 0;
}

static bool yaml__is_white(char c)
{
  return c == ' ' || c == '\t';
}

/* Copies one line of a single-quoted scalar, turning '' into '. */
static size_t yaml__unquote_line(const char *s, const char *e, char *out)
{
  size_t o = 0;
  while (s < e) {
    if (*s == '\'' && s + 1 < e && s[1] == '\'') s++;
    out[o++] = *s++;
  }
  return o;
}

/* Decodes the content of a single-quoted scalar (between the quotes) by YAML flow folding:
 * white space around line breaks is dropped, a single break becomes a space, each empty line
 * a newline. The output is never longer than the input. libfyaml 0.7.12 leaks memory when it
 * formats such scalars holding many '' escapes, so they are decoded here. */
static size_t yaml__single_quoted(const char *raw, size_t len, char *out)
{
  const char *p = raw, *end = raw + len;
  size_t o = 0, empty_lines = 0;
  for (bool first = true;; first = false) {
    const char *s = p, *e = p;
    while (e < end && *e != '\n' && *e != '\r') e++;
    bool last = e == end;
    if (!first)
      while (s < e && yaml__is_white(*s)) s++;
    if (!last)
      while (e > s && yaml__is_white(e[-1])) e--;
    if (!first && s == e && !last) {
      empty_lines++;
    } else {
      if (!first && !empty_lines) out[o++] = ' ';
      for (; empty_lines; empty_lines--) out[o++] = '\n';
      o += yaml__unquote_line(s, e, out + o);
    }
    if (last) return o;
    while (p < end && *p != '\n' && *p != '\r') p++;
    p += (*p == '\r' && p + 1 < end && p[1] == '\n') ? 2 : 1;
  }
}

static const char *yaml__skip_break(const char *p, const char *end)
{
  return p + ((*p == '\r' && p + 1 < end && p[1] == '\n') ? 2 : 1);
}

/* Skips the white space that starts a line and any following white-only lines (counted in
 * *empty); returns the first character of the next content, or end. */
static const char *yaml__skip_empty_lines(const char *p, const char *end, size_t *empty)
{
  for (;;) {
    const char *q = p;
    while (q < end && yaml__is_white(*q)) q++;
    if (q == end || (*q != '\n' && *q != '\r')) return q;
    (*empty)++;
    p = yaml__skip_break(q, end);
  }
}

static int yaml__hex(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  c |= 0x20;
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes the escape that follows a backslash at *pp (YAML 1.2 double-quoted escapes other
 * than the escaped line break). Returns the bytes written, or 0 for an invalid escape. */
static size_t yaml__escape(const char **pp, const char *end, char *out)
{
  static const struct { char esc; uint32_t c; } table[] = {
    {'0', 0}, {'a', 7}, {'b', 8}, {'t', 9}, {'\t', 9}, {'n', 10}, {'v', 11}, {'f', 12},
    {'r', 13}, {'e', 27}, {' ', 32}, {'"', '"'}, {'/', '/'}, {'\\', '\\'}, {'N', 0x85},
    {'_', 0xa0}, {'L', 0x2028}, {'P', 0x2029}};
  const char *p = *pp;
  int digits = *p == 'x' ? 2 : *p == 'u' ? 4 : *p == 'U' ? 8 : 0;
  uint32_t c = 0;
  if (!digits) {
    for (size_t i = 0; i < YAML_COUNT(table); i++)
      if (*p == table[i].esc) {
        *pp = p + 1;
        return yaml_utf8_put(out, table[i].c);
      }
    return 0;
  }
  for (p++; digits--; p++) {
    int v = p < end ? yaml__hex(*p) : -1;
    if (v < 0) return 0;
    c = c << 4 | (uint32_t)v;
  }
  if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
  *pp = p;
  return yaml_utf8_put(out, c);
}

/* Decodes the content of a double-quoted scalar (between the quotes): escapes, and line
 * folding as for single quotes, except that white space kept by an escape survives and an
 * escaped line break joins the lines. `out` must hold 2 * len bytes. Returns false on an
 * invalid escape. libfyaml 0.7.12 misreads escaped breaks and white space next to breaks. */
static bool yaml__double_quoted(const char *raw, size_t len, char *out, size_t *outlen)
{
  const char *p = raw, *end = raw + len;
  size_t o = 0, white_from = SIZE_MAX; /* where trailing literal white space starts in out */
  while (p < end) {
    size_t empty = 0;
    if (*p == '\n' || *p == '\r') {
      if (white_from != SIZE_MAX) o = white_from;
      p = yaml__skip_empty_lines(yaml__skip_break(p, end), end, &empty);
      if (!empty) out[o++] = ' ';
    } else if (*p == '\\' && p + 1 < end && (p[1] == '\n' || p[1] == '\r')) {
      p = yaml__skip_empty_lines(yaml__skip_break(p + 1, end), end, &empty);
    } else if (*p == '\\') {
      p++;
      size_t w = p < end ? yaml__escape(&p, end, out + o) : 0;
      if (!w) return false;
      o += w;
      white_from = SIZE_MAX;
      continue;
    } else {
      if (!yaml__is_white(*p)) white_from = SIZE_MAX;
      else if (white_from == SIZE_MAX) white_from = o;
      out[o++] = *p++;
      continue;
    }
    memset(out + o, '\n', empty);
    o += empty;
    white_from = SIZE_MAX;
  }
  *outlen = o;
  return true;
}

/* The raw content of a token, if its marks lie within the parsed text. */
static bool yaml__token_raw(struct ybuild *b, struct fy_token *tok, const char **raw, size_t *len)
{
  const struct fy_mark *s = fy_token_start_mark(tok), *e = fy_token_end_mark(tok);
  if (!s || !e || s->input_pos > e->input_pos || e->input_pos > b->len) return false;
  *raw = b->buf + s->input_pos;
  *len = e->input_pos - s->input_pos;
  return true;
}

struct yaml_block {
  bool folded;      /* '>' rather than '|' */
  int indent;       /* content indentation, -1 to detect from the first non-empty line */
  char chomp;       /* '-' strip, '+' keep, 0 clip */
};

/* Reads the header of the block scalar whose content starts at `raw` ("| 2-", "> # note", ...)
 * from the line above it, searching after the previous event. */
static bool yaml__block_header(struct ybuild *b, const char *raw, int parent_indent, struct yaml_block *h)
{
  const char *lend = raw, *line = raw, *from = b->buf + b->prev_end;
  if (lend == b->buf || (lend[-1] != '\n' && lend[-1] != '\r')) return false;
  lend -= (lend - b->buf >= 2 && lend[-2] == '\r' && lend[-1] == '\n') ? 2 : 1;
  for (line = lend; line > b->buf && line[-1] != '\n' && line[-1] != '\r';) line--;
  for (const char *p = from > line ? from : line; p < lend; p++) {
    if ((*p != '|' && *p != '>') || (p > line && !yaml__is_white(p[-1]) && p[-1] != ':' && p[-1] != '-'))
      continue;
    const char *q = p + 1;
    int digit = 0;
    char chomp = 0;
    for (int k = 0; k < 2 && q < lend; k++, q++) {
      if (*q >= '1' && *q <= '9' && !digit) digit = *q - '0';
      else if ((*q == '-' || *q == '+') && !chomp) chomp = *q;
      else break;
    }
    const char *r = q;
    while (r < lend && yaml__is_white(*r)) r++;
    if (r < lend && (*r != '#' || r == q)) continue;
    h->folded = *p == '>';
    h->indent = digit ? (parent_indent < 0 ? 0 : parent_indent) + digit : -1;
    h->chomp = chomp;
    return true;
  }
  return false;
}

/* Consumes up to `indent` spaces of the line at *pp; returns how many. */
static int yaml__indent(const char **pp, const char *end, int indent)
{
  int col = 0;
  while (*pp < end && **pp == ' ' && (indent < 0 || col < indent)) (*pp)++, col++;
  return col;
}

/* Counts the empty lines that follow into *breaks and consumes the indentation of the next
 * line; returns its column. */
static int yaml__block_breaks(const char **pp, const char *end, int indent, size_t *breaks)
{
  int col = yaml__indent(pp, end, indent);
  while (*pp < end && (**pp == '\n' || **pp == '\r')) {
    *pp = yaml__skip_break(*pp, end);
    (*breaks)++;
    col = yaml__indent(pp, end, indent);
  }
  return col;
}

/* The content indentation of a block scalar without an indentation indicator: the deepest
 * of its leading lines up to the first non-empty one. */
static int yaml__auto_indent(const char *p, const char *end)
{
  int deepest = 1;
  for (;;) {
    int col = yaml__indent(&p, end, -1);
    if (col > deepest) deepest = col;
    if (p == end || (*p != '\n' && *p != '\r')) return deepest;
    p = yaml__skip_break(p, end);
  }
}

/* Decodes a block scalar's content `raw` the way PyYAML does. Literal: lines keep their
 * breaks. Folded: lines of the content indentation are joined by a space, while lines that
 * start with white space ("more indented") keep their breaks. libfyaml 0.7.12 drops breaks
 * next to more-indented folded lines and returns a NUL for an empty literal block. */
static size_t yaml__block(const char *raw, size_t len, const struct yaml_block *h, char *out)
{
  const char *p = raw, *end = raw + len;
  size_t o = 0, nb = 0;
  int indent = h->indent >= 0 ? h->indent : yaml__auto_indent(p, end);
  int col = yaml__block_breaks(&p, end, indent, &nb);
  bool had_break = false;
  while (col == indent && p < end) {
    memset(out + o, '\n', nb);
    o += nb;
    bool leading_text = !yaml__is_white(*p);
    while (p < end && *p != '\n' && *p != '\r') out[o++] = *p++;
    had_break = p < end;
    if (had_break) p = yaml__skip_break(p, end);
    nb = 0;
    col = yaml__block_breaks(&p, end, indent, &nb);
    if (col != indent || p == end) break;
    if (h->folded && leading_text && !yaml__is_white(*p)) {
      if (!nb) out[o++] = ' ';
    } else {
      out[o++] = '\n';
    }
  }
  if (h->chomp != '-' && had_break) out[o++] = '\n';
  if (h->chomp == '+') {
    memset(out + o, '\n', nb);
    o += nb;
  }
  return o;
}

/* Quoted and block scalars are decoded from the source text (libfyaml 0.7.12 misreads some,
 * see the decoders); plain scalars come from libfyaml. */
static int yaml__scalar_text(struct ybuild *b, struct fy_token *tok, struct dg_ynode *n, int parent_indent)
{
  enum fy_scalar_style style = tok ? fy_token_scalar_style(tok) : FYSS_PLAIN;
  const char *text = NULL;
  size_t len = 0;
  struct yaml_block h = {0};
  bool block = style == FYSS_LITERAL || style == FYSS_FOLDED;
  bool own = (block || style == FYSS_SINGLE_QUOTED || style == FYSS_DOUBLE_QUOTED) &&
             yaml__token_raw(b, tok, &text, &len);
  if (own && block) own = yaml__block_header(b, text, parent_indent, &h);
  if (!own) {
    text = tok ? fy_token_get_text(tok, &len) : NULL;
    if (!text) len = 0;
  }
  if (!(n->text = yaml__alloc_aligned(&b->t->arena, (own ? 2 * len : len) + 1, 1))) return yaml__oom(b);
  if (!own) {
    if (len) memcpy(n->text, text, len);
  } else if (style == FYSS_SINGLE_QUOTED) {
    len = yaml__single_quoted(text, len, n->text);
  } else if (block) {
    len = yaml__block(text, len, &h, n->text);
  } else if (!yaml__double_quoted(text, len, n->text, &len)) {
    return yaml__fail(b, n->line, n->col, "invalid escape in double-quoted scalar");
  }
  n->text[len] = '\0';
  n->len = len;
  /* The text holds no NUL byte (yaml__check_text): only a "\0" escape makes one. */
  n->has_nul = style == FYSS_DOUBLE_QUOTED && len && memchr(n->text, '\0', len);
  return 0;
}

static int yaml__scalar(struct ybuild *b, struct fy_token *tok)
{
  struct dg_ynode *n = yaml__node(b, DG_YSCALAR);
  if (!n) return yaml__oom(b);
  int parent_indent = b->depth ? b->stack[b->depth - 1]->col - 1 : -1;
  int rc = yaml__scalar_text(b, tok, n, parent_indent);
  if (rc) return rc;
  n->plain = !tok || fy_token_scalar_style(tok) == FYSS_PLAIN;
  return yaml__attach(b, n);
}

static int yaml__dispatch(struct ybuild *b, struct fy_event *e)
{
  switch (e->type) {
  case FYET_DOCUMENT_START:
    if (b->docs++) return yaml__fail(b, b->line, b->col, "only one YAML document is allowed");
    return 0;
  case FYET_MAPPING_START: return yaml__open(b, DG_YMAP);
  case FYET_SEQUENCE_START: return yaml__open(b, DG_YSEQ);
  case FYET_MAPPING_END:
  case FYET_SEQUENCE_END:
    return yaml__close(b);
  case FYET_SCALAR: return yaml__scalar(b, e->scalar.value);
  case FYET_ALIAS:
    return yaml__fail(b, b->line, b->col, "YAML aliases are not supported; repeat the value");
  default: return 0;
  }
}

static int yaml__event(struct ybuild *b, struct fy_event *e)
{
  const struct fy_mark *m = fy_event_start_mark(e);
  if (m) {
    b->line = m->line + 1 + b->line_base;
    b->col = m->column + 1;
  }
  int rc = yaml__dispatch(b, e);
  m = fy_event_end_mark(e);
  if (m && m->input_pos <= b->len) b->prev_end = m->input_pos;
  return rc;
}

static void yaml__diag_sink(struct fy_diag *diag, void *user, const char *buf, size_t len) {}

static int yaml__syntax_error(struct ybuild *b, struct fy_diag *diag)
{
  void *it = NULL;
  struct fy_diag_error *de;
  while ((de = fy_diag_errors_iterate(diag, &it)))
    if (de->type >= FYET_ERROR)
      return yaml__fail(b, de->line, de->column, "%s", de->msg ? de->msg : "YAML syntax error");
  return yaml__fail(b, b->line, b->col, "YAML syntax error");
}

/* YAML text is UTF-8 here, and libfyaml 0.7.12 can loop forever on malformed UTF-8 (e.g. in
 * a reserved directive), so bad bytes are rejected before it sees them. */
static int yaml__check_text(struct ybuild *b, const char *buf, size_t len)
{
  int line, col;
  const unsigned char *bad = yaml_utf8_check(buf, len, &line, &col);
  if (!bad) return 0;
  return yaml__fail(b, line + b->line_base, col, *bad ? "invalid UTF-8 byte 0x%02x" : "NUL byte in the text", *bad);
}

/* libfyaml 0.7.12 corrupts its stack of indentations when it refuses a tab inside an explicit
 * key ("? a:<TAB>>"), and then crashes in fy_parser_destroy. After that refusal the parser is
 * left as it is: a few KB, once per refused text, instead of a daemon that dies on a reload. */
static bool yaml__parser_unsafe(struct fy_diag *diag)
{
  void *it = NULL;
  struct fy_diag_error *de;
  while ((de = fy_diag_errors_iterate(diag, &it)))
    if (de->msg && strstr(de->msg, "cannot use tab for indentation")) return true;
  return false;
}

static void yaml__parser_close(struct fy_parser *p, struct fy_diag *diag, int failed)
{
  if (!failed || !yaml__parser_unsafe(diag)) {
    fy_parser_destroy(p);
    return;
  }
#ifdef YAML_LSAN
  __lsan_ignore_object(p); /* kept on purpose, with what it holds */
#endif
}

int yaml_parse_part(const char *name, const char *buf, size_t len, int line_base, struct dg_ytree *t, char *err,
                    size_t errlen, int *end_line)
{
  struct ybuild b = {.t = t, .name = name, .err = err, .errlen = errlen, .buf = buf, .len = len,
                     .line = 1 + line_base, .col = 1, .line_base = line_base};
  t->root = NULL;
  t->arena = NULL;
  int rc = yaml__check_text(&b, buf, len);
  if (rc) return rc;
  struct fy_diag_cfg dcfg;
  fy_diag_cfg_default(&dcfg);
  dcfg.fp = NULL;
  dcfg.output_fn = yaml__diag_sink;
  dcfg.level = FYET_ERROR;
  struct fy_diag *diag = fy_diag_create(&dcfg);
  if (!diag) return yaml__oom(&b);
  fy_diag_set_collect_errors(diag, true);
  struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET, .diag = diag};
  struct fy_parser *p = fy_parser_create(&pcfg);
  rc = p ? 0 : yaml__oom(&b);
  if (!rc && fy_parser_set_string(p, len ? buf : "", len) != 0) rc = yaml__oom(&b);
  struct fy_event *e;
  while (!rc && (e = fy_parser_parse(p))) {
    rc = yaml__event(&b, e);
    fy_parser_event_free(p, e);
  }
  if (!rc && fy_parser_get_stream_error(p)) rc = yaml__syntax_error(&b, diag);
  if (p) yaml__parser_close(p, diag, rc);
  fy_diag_destroy(diag);
  free(b.kids);
  t->root = b.root;
  /* The last event is the end of the stream, at the end of the text. */
  if (end_line) *end_line = b.col == 1 ? b.line - 1 - line_base : -1;
  return rc;
}

void dg_yaml_free(struct dg_ytree *t)
{
  yaml__arena_free(t->arena);
  t->root = NULL;
  t->arena = NULL;
}

void *dg_yaml_alloc(struct dg_ytree *t, size_t size)
{
  return yaml__alloc(&t->arena, size);
}
