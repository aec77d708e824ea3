/* yaml_split: a text parsed in two parts on two threads gives the tree, positions and error
 * messages of the one-piece parse, for well-formed texts, for texts it must not cut, and for
 * every line of a plant made bad in several ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "yaml_part.h"
#include "yaml_split.h"

static const char plant[] =
  "# a plant with every scalar style and an anchor\n"
  "site: {code: \"410700-0001\", name: 'a ''b'' c'}\n"
  "daemon:\n"
  "  http: {listen: 127.0.0.1, port: 0}\n"
  "persons:\n"
  "  - &li {id: li, name: 李主任, roles: [a, b]}\n"
  "  - id: wang\n"
  "    note: |\n"
  "      line one\n"
  "        more\n"
  "    folded: >-\n"
  "      a\n"
  "      b\n"
  "\n"
  "hazard_sources:\n"
  "  - id: HS01\n"
  "    name: \"multi\n"
  "      line \\t escaped\"\n"
  "    units: []\n"
  "# between sections\n"
  "points:\n"
  "  - {id: P1, unit_id: U1, driver: mqtt.main, topic: \"a/b\", path: value}\n"
  "  - id: P2\n"
  "    topic: plain\n"
  "      continued\n"
  "rules:\n"
  "  - {id: R1, type: high, point: P1, stages: [{name: H, limit: 80, priority: high}]}\n"
  "channels: ~\n"
  "policies:\n"
  "  - {id: all, channels: [sink]}";

static void assert_same_node(const struct dg_ynode *a, const struct dg_ynode *b)
{
  if (!a || !b) {
    assert_ptr_equal(a, b);
    return;
  }
  assert_int_equal(a->type, b->type);
  assert_int_equal(a->plain, b->plain);
  assert_int_equal(a->has_nul, b->has_nul);
  assert_int_equal(a->line, b->line);
  assert_int_equal(a->col, b->col);
  assert_int_equal(a->len, b->len);
  assert_int_equal(!a->text, !b->text);
  if (a->text) assert_memory_equal(a->text, b->text, a->len + 1);
  assert_int_equal(a->n, b->n);
  for (uint32_t i = 0; i < a->n; i++) assert_same_node(a->kids[i], b->kids[i]);
}

/* Parses `text` in one piece and split (cut wherever it allows); both must agree. Returns 1
 * when the split parse did cut, 0 when it did not, -1 for an error (never cut). */
static int parse_both(const char *text, size_t len)
{
  struct dg_ytree one, two;
  char err1[512] = "", err2[512] = "";
  bool split;
  int rc1 = yaml_parse_part("t.yaml", text, len, 0, &one, err1, sizeof err1, NULL);
  int rc2 = dg_yaml_parse_split("t.yaml", text, len, 0, &two, err2, sizeof err2, &split);
  if (rc1 != rc2 || strcmp(err1, err2)) print_error("one piece: %d %s\nsplit: %d %s\nfor:\n%s\n", rc1, err1, rc2, err2, text);
  assert_int_equal(rc1, rc2);
  assert_string_equal(err1, err2);
  if (!rc1) assert_same_node(one.root, two.root);
  if (rc1) assert_false(split);
  dg_yaml_free(&one);
  dg_yaml_free(&two);
  return rc1 ? -1 : split;
}

static bool parse_both_str(const char *text)
{
  return parse_both(text, strlen(text)) == 1;
}

static char *crlf(const char *text)
{
  char *out = malloc(2 * strlen(text) + 1), *o = out;
  assert_non_null(out);
  for (const char *p = text; *p; p++) {
    if (*p == '\n') *o++ = '\r';
    *o++ = *p;
  }
  *o = 0;
  return out;
}

static void test_cut_texts(void **state)
{
  assert_true(parse_both_str(plant));
  char *windows = crlf(plant);
  assert_true(parse_both_str(windows));
  free(windows);
  assert_true(parse_both_str("site: {code: x}\nrules: []\nrules: [again]\n")); /* duplicates stay for the checks */
  assert_true(parse_both_str("\n# lead\nsite: x\n\n\npoints:\n  - a\nrules:\n  - b\n"));
  assert_true(parse_both_str("_a: 1\nb: 2"));
}

/* Texts whose parts would not read as the whole, or that are not a block mapping in column 0:
 * parsed in one piece. */
static void test_uncut_texts(void **state)
{
  static const char *const texts[] = {
    "{site: {code: x},\nrules: []}\n",            /* flow root */
    "%YAML 1.2\n---\nsite: x\nrules: y\n",        /* directive */
    "site: x\n---\nrules: y\n",                   /* a second document */
    "site: x\n...\nrules: y\n",                   /* document end */
    "  site: x\n  rules: y\n",                    /* indented root */
    "\xEF\xBB\xBFsite: x\nrules: y\n",            /* byte order mark */
    "site: x\rpoints: y\nrules: z\n",             /* a lone CR counts as a line */
    "site: x\xE2\x80\xA8points: y\nrules: z\n",   /* U+2028 */
    "- a\nb: c\n",                                /* sequence root */
    "&root\nsite: x\nrules: y\n",                 /* anchored root */
    "site: x\n",                                  /* one key */
    "",
  };
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) assert_false(parse_both_str(texts[i]));
}

/* Every line of the plant replaced, or preceded, by a bad or surprising line: one-piece and
 * split parses agree on the tree or on the exact error (file:line:column: message). */
static void test_every_line_made_bad(void **state)
{
  static const char *const bad[] = {
    "  x: [1, 2\n", "x: 'open\n", "- item\n", "rules: *li\n", "  - *li\n", "    - {id: [}\n", "\tx: 1\n",
    "x: \"\\q\"\n", "x: \xC3\x28\n", "x: y: z\n", "zz\n", "  zz: 1\n", "%TAG ! x\n", "---\n", "? k\n",
  };
  size_t len = strlen(plant), cuts = 0, good = 0;
  char *text = malloc(len + 64);
  assert_non_null(text);
  for (const char *line = plant; *line;) {
    const char *next = strchr(line, '\n');
    next = next ? next + 1 : plant + len;
    size_t head = (size_t)(line - plant);
    for (size_t b = 0; b < sizeof bad / sizeof *bad; b++)
      for (int replace = 0; replace < 2; replace++) {
        const char *rest = replace ? next : line;
        int n = snprintf(text, len + 64, "%.*s%s%s", (int)head, plant, bad[b], rest);
        int rc = parse_both(text, (size_t)n);
        cuts += rc == 1;
        good += rc >= 0;
      }
    line = next;
  }
  free(text);
  /* Most that parse were cut: the comparison is not of one-piece parses only. */
  assert_true(good > 20);
  assert_true(cuts > good / 2);
}

/* Loads `path` with its text parsed in one piece, then cut: same error, or same model. */
static bool load_both(const char *path)
{
  struct dg_config *one = NULL, *two = NULL;
  char err1[512] = "", err2[512] = "";
  dg_yaml_split_min = SIZE_MAX;
  int rc1 = config_load(path, &one, err1, sizeof err1);
  dg_yaml_split_min = 0;
  int rc2 = config_load(path, &two, err2, sizeof err2);
  dg_yaml_split_min = DG_YAML_SPLIT_MIN;
  if (rc1 != rc2 || strcmp(err1, err2)) print_error("%s\none piece: %d %s\ncut: %d %s\n", path, rc1, err1, rc2, err2);
  assert_int_equal(rc1, rc2);
  assert_string_equal(err1, err2);
  if (!rc1) {
    assert_int_equal(one->n_sources, two->n_sources);
    assert_int_equal(one->n_persons, two->n_persons);
    assert_int_equal(one->n_points, two->n_points);
    for (size_t i = 0; i < one->n_points; i++) assert_string_equal(one->points[i].id, two->points[i].id);
    assert_int_equal(one->n_rules, two->n_rules);
    for (size_t i = 0; i < one->n_rules; i++) {
      assert_string_equal(one->rules[i].id, two->rules[i].id);
      assert_int_equal(one->rules[i].n_stages, two->rules[i].n_stages);
      assert_int_equal(!one->rules[i].point, !two->rules[i].point);
      if (one->rules[i].point) assert_string_equal(one->rules[i].point->id, two->rules[i].point->id);
    }
    assert_int_equal(one->n_channels, two->n_channels);
  }
  config_free(one);
  config_free(two);
  /* Whether the cut was made: the text parses, so its parts did, or the fallback ran. */
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static char text[1 << 20];
  size_t len = fread(text, 1, sizeof text, f);
  fclose(f);
  struct dg_ytree t;
  bool split = false;
  dg_yaml_parse_split(path, text, len, 0, &t, err1, sizeof err1, &split);
  dg_yaml_free(&t);
  return split;
}

/* Every configuration of the test data (most with one error, at a known place) and the demo
 * plant load alike whether their text was cut or not. */
static void test_configs_load_alike(void **state)
{
  const char *dir = DG_TEST_DATA "/config";
  DIR *dp = opendir(dir);
  assert_non_null(dp);
  size_t files = 0, cuts = 0;
  char path[1024];
  for (struct dirent *e; (e = readdir(dp));) {
    size_t n = strlen(e->d_name);
    if (n < 6 || strcmp(e->d_name + n - 5, ".yaml")) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    cuts += load_both(path);
    files++;
  }
  closedir(dp);
  assert_true(load_both(DG_SOURCE_DIR "/examples/demo-plant.yaml"));
  assert_true(files > 40);
  assert_true(cuts > files / 2);
}

/* A configuration large enough for dg_yaml_parse to cut it: the plant loads, and an error in
 * the second part names its line and column in the whole file. */
static char *big_config(int n, const char *last_point, size_t *len)
{
  size_t cap = (size_t)n * 200 + 4096, o = 0;
  char *s = malloc(cap);
  assert_non_null(s);
  o += (size_t)snprintf(s + o, cap - o, "site: {code: x}\nmqtt: [{id: main, uri: \"tcp://127.0.0.1:1\"}]\npoints:\n");
  for (int i = 0; i < n; i++)
    o += (size_t)snprintf(s + o, cap - o, "  - {id: P%06d, driver: mqtt.main, topic: t/%d, path: value, ts_path: ts}\n", i, i);
  o += (size_t)snprintf(s + o, cap - o, "rules:\n");
  for (int i = 0; i < n; i++)
    o += (size_t)snprintf(s + o, cap - o, "  - {id: R%06d, type: high, point: %s, stages: [{name: H, limit: 80, priority: high}]}\n",
                          i, i == n - 1 ? last_point : "P000000");
  *len = o;
  return s;
}

static void test_large_text_is_cut(void **state)
{
  enum { N = 25000 };
  size_t len;
  char *yaml = big_config(N, "P000001", &len), err[512] = "";
  assert_true(len >= DG_YAML_SPLIT_MIN);
  struct dg_ytree t;
  bool split = false;
  assert_int_equal(dg_yaml_parse_split("big.yaml", yaml, len, DG_YAML_SPLIT_MIN, &t, err, sizeof err, &split), 0);
  assert_true(split);
  dg_yaml_free(&t);
  struct dg_config *c = NULL;
  assert_int_equal(config_load_string("big.yaml", yaml, len, &c, err, sizeof err), 0);
  assert_int_equal(c->n_rules, N);
  assert_string_equal(c->rules[N - 1].point->id, "P000001");
  config_free(c);
  free(yaml);

  yaml = big_config(N, "NOPE", &len);
  assert_int_equal(config_load_string("big.yaml", yaml, len, &c, err, sizeof err), -EINVAL);
  char want[128];
  snprintf(want, sizeof want, "big.yaml:%d:38: rules[%d].point: unknown point 'NOPE'", 2 * N + 4, N - 1);
  assert_string_equal(err, want);
  free(yaml);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_cut_texts),
    cmocka_unit_test(test_uncut_texts),
    cmocka_unit_test(test_every_line_made_bad),
    cmocka_unit_test(test_configs_load_alike),
    cmocka_unit_test(test_large_text_is_cut),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
