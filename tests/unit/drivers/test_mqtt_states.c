/* mqtt_parse_payload with a states map: bare text and JSON strings/booleans mapped to numbers,
 * unmapped strings refused, numbers still accepted. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mqtt.h"

static struct dg_mqtt_state states[] = {
  {(char *)"RUN", 1}, {(char *)"STOP", 0}, {(char *)"FAULT", 2}, {(char *)"true", 5},
};

struct state_case {
  const char *path; /* NULL: bare payload */
  const char *payload;
  int rc;
  double value;
  const char *why; /* expected reason when rc != 0 */
};

static const struct state_case cases[] = {
  {NULL, "RUN", 0, 1, NULL},
  {NULL, " STOP\r\n", 0, 0, NULL},
  {NULL, "\"FAULT\"", 0, 2, NULL},
  {NULL, "FAULT\0", 0, 2, NULL},
  {NULL, "7.5", 0, 7.5, NULL},
  {NULL, "run", -EINVAL, 0, "unmapped state"},
  {NULL, "RUNNING", -EINVAL, 0, "unmapped state"},
  {NULL, "\"\"", -EINVAL, 0, "unmapped state"},
  {"state", "{\"state\": \"STOP\"}", 0, 0, NULL},
  {"state", "{\"state\": \"FAULT\"}", 0, 2, NULL},
  {"state", "{\"state\": true}", 0, 5, NULL},
  {"state", "{\"state\": false}", 0, 0, NULL}, /* "false" unmapped: plain 0 */
  {"state", "{\"state\": 3}", 0, 3, NULL},
  {"state", "{\"state\": \"4.5\"}", 0, 4.5, NULL},
  {"state", "{\"state\": \"HALT\"}", -EINVAL, 0, "unmapped state"},
  {"state", "{\"state\": null}", -EINVAL, 0, NULL},
  {"state", "{\"other\": \"RUN\"}", -EINVAL, 0, "field missing"},
};

static void test_states(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const struct state_case *c = &cases[i];
    struct dg_mqtt_binding b = {.path = (char *)c->path, .states = states,
                                .n_states = sizeof states / sizeof *states};
    size_t len = strlen(c->payload) + (strcmp(c->payload, "FAULT") == 0 ? 1 : 0);
    double v = -999;
    const char *why = NULL;
    int rc = mqtt_parse_payload(&b, c->payload, len, &v, NULL, &why);
    if (rc != c->rc) fail_msg("case %zu (%s): rc %d", i, c->payload, rc);
    if (!rc && v != c->value) fail_msg("case %zu (%s): value %g", i, c->payload, v);
    if (rc) assert_non_null(why);
    if (rc && c->why) assert_string_equal(why, c->why);
  }
}

static void test_without_states_text_is_bad(void **state)
{
  (void)state;
  struct dg_mqtt_binding b = {0};
  double v = -1;
  const char *why = NULL;
  assert_int_equal(mqtt_parse_payload(&b, "RUN", 3, &v, NULL, &why), -EINVAL);
  assert_int_equal(v, -1);
  b.path = (char *)"s";
  assert_int_equal(mqtt_parse_payload(&b, "{\"s\": true}", 11, &v, NULL, &why), 0);
  assert_true(v == 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_states),
    cmocka_unit_test(test_without_states_text_is_bad),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
