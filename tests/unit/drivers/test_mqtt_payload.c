/* mqtt_parse_payload: bare numbers, JSON paths, value types, timestamps, size limits. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mqtt.h"

#define TS_UNSET INT64_C(-777)

struct payload_case {
  const char *name;
  const char *path;    /* NULL: bare number */
  const char *ts_path; /* may be NULL */
  const char *payload;
  int rc;              /* 0 or -EINVAL */
  double value;        /* when rc == 0 */
  int64_t ts_ms;       /* expected *ts_ms after the call (TS_UNSET: untouched) */
};

static const struct payload_case cases[] = {
  /* bare numbers */
  {"bare integer", NULL, NULL, "42", 0, 42, TS_UNSET},
  {"bare decimal", NULL, NULL, "12.5", 0, 12.5, TS_UNSET},
  {"bare negative", NULL, NULL, "-3.25", 0, -3.25, TS_UNSET},
  {"bare exponent", NULL, NULL, "3e2", 0, 300, TS_UNSET},
  {"bare negative exponent", NULL, NULL, "-1.5E-3", 0, -0.0015, TS_UNSET},
  {"bare whitespace", NULL, NULL, " \t3e2 \r\n", 0, 300, TS_UNSET},
  {"bare plus sign", NULL, NULL, "+7", 0, 7, TS_UNSET},
  {"bare empty", NULL, NULL, "", -EINVAL, 0, TS_UNSET},
  {"bare only spaces", NULL, NULL, "   ", -EINVAL, 0, TS_UNSET},
  {"bare junk", NULL, NULL, "abc", -EINVAL, 0, TS_UNSET},
  {"bare trailing junk", NULL, NULL, "12.5x", -EINVAL, 0, TS_UNSET},
  {"bare two numbers", NULL, NULL, "1 2", -EINVAL, 0, TS_UNSET},
  {"bare nan", NULL, NULL, "nan", -EINVAL, 0, TS_UNSET},
  {"bare NaN", NULL, NULL, "NaN", -EINVAL, 0, TS_UNSET},
  {"bare inf", NULL, NULL, "inf", -EINVAL, 0, TS_UNSET},
  {"bare -infinity", NULL, NULL, "-infinity", -EINVAL, 0, TS_UNSET},
  {"bare overflow", NULL, NULL, "1e999", -EINVAL, 0, TS_UNSET},
  {"bare hex", NULL, NULL, "0x10", -EINVAL, 0, TS_UNSET},
  {"bare lone dot", NULL, NULL, ".", -EINVAL, 0, TS_UNSET},
  {"bare lone exponent", NULL, NULL, "1e", -EINVAL, 0, TS_UNSET},
  {"bare json object", NULL, NULL, "{\"value\": 1}", -EINVAL, 0, TS_UNSET},
  {"bare too long", NULL, NULL,
   "1.00000000000000000000000000000000000000000000000000000000000000000000000", -EINVAL, 0,
   TS_UNSET},

  /* JSON paths */
  {"top-level field", "value", NULL, "{\"value\": 21.5}", 0, 21.5, TS_UNSET},
  {"dollar prefix", "$.value", NULL, "{\"value\": -4}", 0, -4, TS_UNSET},
  {"nested", "data.ch4", NULL, "{\"data\": {\"ch4\": 7.25, \"h2s\": 1}}", 0, 7.25, TS_UNSET},
  {"nested dollar", "$.data.ch4", NULL, "{\"data\": {\"ch4\": 8}}", 0, 8, TS_UNSET},
  {"array index", "values.1", NULL, "{\"values\": [1, 2, 3]}", 0, 2, TS_UNSET},
  {"whitespace around object", "value", NULL, " \n{\"value\": 1}\n ", 0, 1, TS_UNSET},
  {"missing field", "value", NULL, "{\"other\": 1}", -EINVAL, 0, TS_UNSET},
  {"missing nested", "data.ch4", NULL, "{\"data\": {\"co\": 1}}", -EINVAL, 0, TS_UNSET},
  {"parent not an object", "data.ch4", NULL, "{\"data\": 5}", -EINVAL, 0, TS_UNSET},
  {"case sensitive", "value", NULL, "{\"Value\": 1}", -EINVAL, 0, TS_UNSET},
  {"value is object", "value", NULL, "{\"value\": {\"x\": 1}}", -EINVAL, 0, TS_UNSET},
  {"value is array", "value", NULL, "{\"value\": [1]}", -EINVAL, 0, TS_UNSET},
  {"value is null", "value", NULL, "{\"value\": null}", -EINVAL, 0, TS_UNSET},
  {"numeric string", "value", NULL, "{\"value\": \"12.5\"}", 0, 12.5, TS_UNSET},
  {"numeric string padded", "value", NULL, "{\"value\": \" 3e1 \"}", 0, 30, TS_UNSET},
  {"non-numeric string", "value", NULL, "{\"value\": \"high\"}", -EINVAL, 0, TS_UNSET},
  {"empty string", "value", NULL, "{\"value\": \"\"}", -EINVAL, 0, TS_UNSET},
  {"true", "value", NULL, "{\"value\": true}", 0, 1, TS_UNSET},
  {"false", "value", NULL, "{\"value\": false}", 0, 0, TS_UNSET},
  {"number overflow", "value", NULL, "{\"value\": 1e999}", -EINVAL, 0, TS_UNSET},
  {"root is array", "value", NULL, "[1, 2]", -EINVAL, 0, TS_UNSET},
  {"root is number", "value", NULL, "12", -EINVAL, 0, TS_UNSET},
  {"invalid JSON", "value", NULL, "{\"value\": ", -EINVAL, 0, TS_UNSET},
  {"trailing junk after JSON", "value", NULL, "{\"value\": 1} x", -EINVAL, 0, TS_UNSET},
  {"empty JSON payload", "value", NULL, "", -EINVAL, 0, TS_UNSET},

  /* timestamps */
  {"ts milliseconds", "value", "ts", "{\"value\": 1, \"ts\": 1700000000123}", 0, 1,
   INT64_C(1700000000123)},
  {"ts seconds", "value", "ts", "{\"value\": 1, \"ts\": 1700000000}", 0, 1,
   INT64_C(1700000000000)},
  {"ts fractional seconds", "value", "ts", "{\"value\": 1, \"ts\": 1700000000.25}", 0, 1,
   INT64_C(1700000000250)},
  {"ts numeric string", "value", "ts", "{\"value\": 1, \"ts\": \"1700000000123\"}", 0, 1,
   INT64_C(1700000000123)},
  {"ts nested", "data.v", "meta.ts", "{\"data\": {\"v\": 2}, \"meta\": {\"ts\": 1700000001}}", 0,
   2, INT64_C(1700000001000)},
  {"ts missing", "value", "ts", "{\"value\": 3}", 0, 3, TS_UNSET},
  {"ts not a number", "value", "ts", "{\"value\": 3, \"ts\": \"yesterday\"}", -EINVAL, 0,
   TS_UNSET},
  {"ts boolean", "value", "ts", "{\"value\": 3, \"ts\": true}", -EINVAL, 0, TS_UNSET},
  {"ts negative", "value", "ts", "{\"value\": 3, \"ts\": -5}", -EINVAL, 0, TS_UNSET},
  {"ts absurd", "value", "ts", "{\"value\": 3, \"ts\": 1e30}", -EINVAL, 0, TS_UNSET},
  {"bad value keeps ts", "value", "ts", "{\"value\": null, \"ts\": 1700000000}", -EINVAL, 0,
   TS_UNSET},

  /* arrays of {id, value, ts} objects */
  {"array by id", "[id=GT102].value", "[id=GT102].ts",
   "[{\"id\": \"GT101\", \"value\": 3.2, \"ts\": 1}, {\"id\": \"GT102\", \"value\": 4.5, "
   "\"ts\": 1700000000}]", 0, 4.5, INT64_C(1700000000000)},
  {"array by id, first of two", "[id=A].v", NULL, "[{\"id\": \"A\", \"v\": 1}, {\"id\": \"A\", \"v\": 2}]", 0, 1,
   TS_UNSET},
  {"array by numeric id", "[id=7].v", NULL, "[{\"id\": 8, \"v\": 1}, {\"id\": 7, \"v\": 2}]", 0, 2, TS_UNSET},
  {"array by index", "[1].v", NULL, "[{\"v\": 1}, {\"v\": 2}]", 0, 2, TS_UNSET},
  {"array nested in object", "data[id=GT101].value", NULL,
   "{\"data\": [{\"id\": \"GT101\", \"value\": 9}]}", 0, 9, TS_UNSET},
  {"array dollar prefix", "$[id=X].value", NULL, "[{\"id\": \"X\", \"value\": 5}]", 0, 5, TS_UNSET},
  {"array id absent", "[id=GT109].value", NULL, "[{\"id\": \"GT101\", \"value\": 3}]", -EINVAL, 0, TS_UNSET},
  {"array id is a prefix", "[id=GT1].value", NULL, "[{\"id\": \"GT101\", \"value\": 3}]", -EINVAL, 0, TS_UNSET},
  {"selector on an object", "[id=A].v", NULL, "{\"id\": \"A\", \"v\": 1}", -EINVAL, 0, TS_UNSET},
  {"element without the key", "[id=A].v", NULL, "[{\"v\": 1}, 5, null]", -EINVAL, 0, TS_UNSET},

  /* ISO 8601 timestamps */
  {"ts iso Z", "value", "ts", "{\"value\": 1, \"ts\": \"2023-11-14T22:13:20Z\"}", 0, 1,
   INT64_C(1700000000000)},
  {"ts iso offset fraction", "value", "ts", "{\"value\": 1, \"ts\": \"2023-11-15T06:13:20.25+08:00\"}", 0, 1,
   INT64_C(1700000000250)},
  {"ts iso negative offset no colon", "value", "ts", "{\"value\": 1, \"ts\": \"2023-11-14T17:13:20-0500\"}", 0,
   1, INT64_C(1700000000000)},
  {"ts iso space no zone", "value", "ts", "{\"value\": 1, \"ts\": \"2023-11-14 22:13:20\"}", 0, 1,
   INT64_C(1700000000000)},
  {"ts iso minutes only", "value", "ts", "{\"value\": 1, \"ts\": \"2023-11-14T22:13Z\"}", 0, 1,
   INT64_C(1699999980000)},
  {"ts iso leap day", "value", "ts", "{\"value\": 1, \"ts\": \"2024-02-29T00:00:00Z\"}", 0, 1,
   INT64_C(1709164800000)},
  {"ts iso date only", "value", "ts", "{\"value\": 1, \"ts\": \"2023-11-14\"}", -EINVAL, 0, TS_UNSET},
  {"ts iso bad month", "value", "ts", "{\"value\": 1, \"ts\": \"2023-13-14T22:13:20Z\"}", -EINVAL, 0, TS_UNSET},
  {"ts iso bad zone", "value", "ts", "{\"value\": 1, \"ts\": \"2023-11-14T22:13:20+8\"}", -EINVAL, 0, TS_UNSET},
  {"ts iso trailing junk", "value", "ts", "{\"value\": 1, \"ts\": \"2023-11-14T22:13:20Zx\"}", -EINVAL, 0,
   TS_UNSET},
  {"ts iso empty fraction", "value", "ts", "{\"value\": 1, \"ts\": \"2023-11-14T22:13:20.Z\"}", -EINVAL, 0,
   TS_UNSET},
};

static void test_table(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const struct payload_case *c = &cases[i];
    struct dg_mqtt_binding b = {.topic = (char *)"t", .path = (char *)c->path,
                                .ts_path = (char *)c->ts_path};
    double value = -999;
    int64_t ts = TS_UNSET;
    const char *why = NULL;
    int rc = mqtt_parse_payload(&b, c->payload, strlen(c->payload), &value, &ts, &why);
    print_message("case: %s -> rc %d%s%s\n", c->name, rc, why ? ", " : "", why ? why : "");
    assert_int_equal(rc, c->rc);
    if (rc == 0) {
      assert_true(fabs(value - c->value) <= 1e-12 * fmax(1.0, fabs(c->value)));
    } else {
      assert_non_null(why);
      assert_true(strlen(why) > 0);
    }
    assert_true(ts == c->ts_ms);
  }
}

/* The payload is not NUL-terminated: a number followed by more digits outside `len` must be
 * read only up to `len`. */
static void test_not_nul_terminated(void **state)
{
  (void)state;
  struct dg_mqtt_binding bare = {.topic = (char *)"t"};
  const char buf[] = {'1', '2', '.', '5', '9', '9', '9'};
  double v = 0;
  assert_int_equal(mqtt_parse_payload(&bare, buf, 4, &v, NULL, NULL), 0);
  assert_true(v == 12.5);

  /* An exact-size heap copy lets ASan catch any read past the end. */
  char *heap = malloc(4);
  memcpy(heap, "77.5", 4);
  assert_int_equal(mqtt_parse_payload(&bare, heap, 4, &v, NULL, NULL), 0);
  assert_true(v == 77.5);
  free(heap);

  /* A NUL terminator sent along by the device is tolerated, a NUL inside is not. */
  assert_int_equal(mqtt_parse_payload(&bare, "8.25", 5, &v, NULL, NULL), 0);
  assert_true(v == 8.25);
  assert_int_equal(mqtt_parse_payload(&bare, "8\0.25", 5, &v, NULL, NULL), -EINVAL);
  assert_int_equal(mqtt_parse_payload(&bare, "\0", 1, &v, NULL, NULL), -EINVAL);

  struct dg_mqtt_binding json = {.topic = (char *)"t", .path = (char *)"value",
                                 .ts_path = (char *)"ts"};
  const char *nul_doc = "{\"value\": 6}";
  assert_int_equal(mqtt_parse_payload(&json, nul_doc, strlen(nul_doc) + 1, &v, NULL, NULL), 0);
  assert_true(v == 6);
  const char *doc = "{\"value\": 5, \"ts\": 1700000000000}GARBAGE";
  size_t len = strlen("{\"value\": 5, \"ts\": 1700000000000}");
  char *jheap = malloc(len);
  memcpy(jheap, doc, len);
  int64_t ts = 0;
  assert_int_equal(mqtt_parse_payload(&json, jheap, len, &v, &ts, NULL), 0);
  assert_true(v == 5);
  assert_true(ts == INT64_C(1700000000000));
  free(jheap);
}

static void test_oversized_rejected(void **state)
{
  (void)state;
  size_t len = 70 * 1024;
  char *big = malloc(len);
  /* A valid JSON object padded with spaces: only the size makes it invalid. */
  memset(big, ' ', len);
  memcpy(big, "{\"value\": 1}", 12);
  struct dg_mqtt_binding json = {.topic = (char *)"t", .path = (char *)"value"};
  struct dg_mqtt_binding bare = {.topic = (char *)"t"};
  double v = -1;
  const char *why = NULL;
  assert_int_equal(mqtt_parse_payload(&json, big, len, &v, NULL, &why), -EINVAL);
  assert_string_equal(why, "payload too large");
  assert_true(v == -1);
  memset(big, ' ', len);
  big[0] = '1';
  assert_int_equal(mqtt_parse_payload(&bare, big, len, &v, NULL, &why), -EINVAL);
  assert_string_equal(why, "payload too large");
  /* Just under the limit still parses. */
  assert_int_equal(mqtt_parse_payload(&bare, big, 64 * 1024, &v, NULL, &why), 0);
  assert_true(v == 1);
  free(big);
}

static void test_path_check(void **state)
{
  static const char *const good[] = {"value", "$.value", "data.ch4", "values.1", "[id=GT101].value",
                                     "$[id=GT101].ts", "data[id=A].v", "[0]", "a[1][id=x].b"};
  static const char *const bad[] = {"", ".value", "value.", "a..b", "[id=GT101", "[]", "[id=A]x", "$."};
  (void)state;
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    if (mqtt_path_check(good[i])) fail_msg("'%s' refused", good[i]);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (mqtt_path_check(bad[i]) != -EINVAL) fail_msg("'%s' accepted", bad[i]);
  assert_int_equal(mqtt_path_check(NULL), -EINVAL);
}

static void test_failure_leaves_outputs(void **state)
{
  (void)state;
  struct dg_mqtt_binding json = {.topic = (char *)"t", .path = (char *)"value",
                                 .ts_path = (char *)"ts"};
  const char *p = "{\"value\": \"oops\", \"ts\": 1700000000}";
  double v = 4;
  int64_t ts = 9;
  assert_int_equal(mqtt_parse_payload(&json, p, strlen(p), &v, &ts, NULL), -EINVAL);
  assert_true(v == 4);
  assert_true(ts == 9);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_table),
    cmocka_unit_test(test_not_nul_terminated),
    cmocka_unit_test(test_oversized_rejected),
    cmocka_unit_test(test_failure_leaves_outputs),
    cmocka_unit_test(test_path_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
