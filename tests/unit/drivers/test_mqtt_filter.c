/* MQTT topic filters: validation, matching (MQTT 3.1.1 section 4.7) and topic level extraction
 * used by wildcard_topics. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mqtt.h"

static bool matches(const char *filter, const char *topic)
{
  return mqtt_topic_matches(filter, topic, strlen(topic));
}

static void test_filter_check(void **state)
{
  (void)state;
  const char *good[] = {"a", "plant/+/gas/+", "+", "#", "a/#", "+/+", "/+", "a//b", "a/+/#"};
  const char *bad[] = {"", "a+", "a/b#", "#/a", "a/#/b", "+a/b", "a/++", "a/b+/c"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) assert_int_equal(mqtt_filter_check(good[i]), 0);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) assert_int_equal(mqtt_filter_check(bad[i]), -EINVAL);
  assert_int_equal(mqtt_filter_check(NULL), -EINVAL);
}

static void test_level_is_plus(void **state)
{
  (void)state;
  assert_int_equal(mqtt_filter_level_is_plus("plant/+/gas/+", 4), 1);
  assert_int_equal(mqtt_filter_level_is_plus("plant/+/gas/+", 2), 1);
  assert_int_equal(mqtt_filter_level_is_plus("plant/+/gas/+", 3), 0);
  assert_int_equal(mqtt_filter_level_is_plus("plant/+/gas/#", 4), 0);
  assert_int_equal(mqtt_filter_level_is_plus("plant/+/gas/+", 5), -EINVAL);
  assert_int_equal(mqtt_filter_level_is_plus("plant/+", 0), -EINVAL);
}

static void test_matching(void **state)
{
  (void)state;
  assert_true(matches("plant/+/gas/+", "plant/area1/gas/GT101"));
  assert_true(matches("plant/+/gas/+", "plant//gas/GT101"));  /* an empty level matches '+' */
  assert_false(matches("plant/+/gas/+", "plant/area1/gas"));
  assert_false(matches("plant/+/gas/+", "plant/area1/gas/GT101/x"));
  assert_false(matches("plant/+/gas/+", "plant/area1/water/GT101"));
  assert_false(matches("plant/+/gas/+", "plantx/area1/gas/GT101"));
  assert_true(matches("a/#", "a"));
  assert_true(matches("a/#", "a/b/c"));
  assert_false(matches("a/#", "ab"));
  assert_true(matches("#", "x/y"));
  assert_true(matches("+/+", "/x"));
  assert_false(matches("+", "a/b"));
  assert_true(matches("a/b", "a/b"));
  assert_false(matches("a/b", "a/b/"));
  assert_true(matches("a/+", "a/"));
  assert_false(matches("#", "$SYS/broker/load"));
  assert_false(matches("+/broker/load", "$SYS/broker/load"));
  assert_true(matches("$SYS/#", "$SYS/broker/load"));
  /* the topic is not NUL-terminated where the length ends */
  assert_true(mqtt_topic_matches("plant/+", "plant/GT1/extra", 9));
}

static void test_topic_level(void **state)
{
  (void)state;
  const char *t = "plant/area1/gas/GT101";
  size_t start, n;
  assert_int_equal(mqtt_topic_level(t, strlen(t), 4, &start, &n), 0);
  assert_int_equal(n, 5);
  assert_memory_equal(t + start, "GT101", 5);
  assert_int_equal(mqtt_topic_level(t, strlen(t), 1, &start, &n), 0);
  assert_int_equal(start, 0);
  assert_int_equal(n, 5);
  assert_int_equal(mqtt_topic_level(t, strlen(t), 5, &start, &n), -ENOENT);
  assert_int_equal(mqtt_topic_level(t, strlen(t), 0, &start, &n), -ENOENT);
  assert_int_equal(mqtt_topic_level("a//b", 4, 2, &start, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(mqtt_topic_level(t, 11, 3, &start, &n), -ENOENT); /* bounded by len */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_filter_check),
    cmocka_unit_test(test_level_is_plus),
    cmocka_unit_test(test_matching),
    cmocka_unit_test(test_topic_level),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
