#include "yaml_split.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "yaml_part.h"

size_t dg_yaml_split_min = DG_YAML_SPLIT_MIN;

/* One part of the text and what its parse gave. */
struct ysplit_part {
  const char *name, *buf;
  size_t len;
  int line_base;
  struct dg_ytree t;
  int rc, end_line;
  char err[256]; /* not shown: a part that fails is parsed again as part of the whole */
};

static bool ysplit__key_start(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* Whether the line at `p` holds only white space or a comment. */
static bool ysplit__blank(const char *p, const char *end)
{
  while (p < end && (*p == ' ' || *p == '\t')) p++;
  return p == end || *p == '#' || *p == '\n' || *p == '\r';
}

/* Whether the line at `p` could change how the lines after a cut read: a directive, or the
 * start or end of a document. */
static bool ysplit__marker(const char *p, const char *end)
{
  if (*p == '%') return true;
  return end - p >= 3 && (*p == '-' || *p == '.') && p[1] == *p && p[2] == *p;
}

/* The start of a line, nearest the middle, where a top-level key begins (a letter or '_' in
 * column 0) after a first one, with the lines above it. False when the text is not a block
 * mapping starting that way in column 0, holds a directive or document marker, or has no
 * second top-level key. */
static bool ysplit__find(const char *buf, size_t len, size_t *at, int *lines)
{
  const char *p = buf, *end = buf + len, *best = NULL;
  bool content = false;
  size_t best_gap = SIZE_MAX;
  for (int line = 0; p < end; line++) {
    if (ysplit__marker(p, end)) return false;
    if (!content && !ysplit__blank(p, end)) {
      if (!ysplit__key_start(*p)) return false;
      content = true;
    } else if (content && ysplit__key_start(*p)) {
      size_t off = (size_t)(p - buf), gap = off > len / 2 ? off - len / 2 : len / 2 - off;
      if (gap < best_gap) {
        best_gap = gap;
        best = p;
        *lines = line;
      }
    }
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) break;
    p = nl + 1;
  }
  if (!best) return false;
  *at = (size_t)(best - buf);
  return true;
}

static void ysplit__parse(struct ysplit_part *w)
{
  w->rc = yaml_parse_part(w->name, w->buf, w->len, w->line_base, &w->t, w->err, sizeof w->err, &w->end_line);
}

static void *ysplit__thread(void *arg)
{
  pthread_setname_np(pthread_self(), "dg-yaml");
  ysplit__parse(arg);
  return NULL;
}

static bool ysplit__root_map(const struct ysplit_part *w)
{
  return !w->rc && w->t.root && w->t.root->type == DG_YMAP;
}

/* The second part's keys follow the first's in the first's root; one arena then owns all. */
static int ysplit__join(struct ysplit_part *a, struct ysplit_part *b, struct dg_ytree *t)
{
  struct dg_ynode *ra = a->t.root, *rb = b->t.root;
  size_t n = (size_t)ra->n + rb->n;
  struct dg_ynode **kids = dg_yaml_alloc(&a->t, n * sizeof *kids);
  if (!kids) return -ENOMEM;
  memcpy(kids, ra->kids, ra->n * sizeof *kids);
  memcpy(kids + ra->n, rb->kids, rb->n * sizeof *kids);
  ra->kids = kids;
  ra->n = ra->cap = (uint32_t)n;
  yaml_arena_join(&a->t, &b->t);
  *t = a->t;
  return 0;
}

int dg_yaml_parse_split(const char *name, const char *buf, size_t len, size_t min_len, struct dg_ytree *t,
                        char *err, size_t errlen, bool *split)
{
  size_t at = 0;
  int lines = 0;
  if (split) *split = false;
  if (len < min_len || !buf || !ysplit__find(buf, len, &at, &lines))
    return yaml_parse_part(name, buf, len, 0, t, err, errlen, NULL);
  struct ysplit_part a = {.name = name, .buf = buf, .len = at};
  struct ysplit_part b = {.name = name, .buf = buf + at, .len = len - at, .line_base = lines};
  pthread_t th;
  bool threaded = pthread_create(&th, NULL, ysplit__thread, &b) == 0;
  ysplit__parse(&a);
  if (threaded) pthread_join(th, NULL);
  else ysplit__parse(&b);
  /* The parts read as the whole only if each is a mapping and libfyaml counted the lines
   * above the cut as the cut did (it also counts lone CRs and some Unicode breaks). */
  bool ok = ysplit__root_map(&a) && ysplit__root_map(&b) && a.end_line == lines;
  if (ok && !ysplit__join(&a, &b, t)) {
    if (split) *split = true;
    return 0;
  }
  dg_yaml_free(&a.t);
  dg_yaml_free(&b.t);
  return yaml_parse_part(name, buf, len, 0, t, err, errlen, NULL);
}

int dg_yaml_parse(const char *name, const char *buf, size_t len, struct dg_ytree *t, char *err, size_t errlen)
{
  return dg_yaml_parse_split(name, buf, len, dg_yaml_split_min, t, err, errlen, NULL);
}
