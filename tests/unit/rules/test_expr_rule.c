/* expr rules through the engine on a real store: bound to every point they read, an unknown
 * condition holds the alarm where it is, the on-delay applies, config errors point into the
 * expression. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "engine.h"
#include "httpc.h"
#include "log.h"
#include "plant_fixture.h"
#include "sdnotify.h"

static const char test_yaml[] =
  "site: { code: T1 }\n"
  PLANT_YAML_MQTT
  "points:\n"
  "  - { id: P1, driver: mqtt.main, topic: t/p1 }\n"
  "  - { id: P2, driver: mqtt.main, topic: t/p2 }\n"
  "  - { id: P3, driver: mqtt.main, topic: t/p3 }\n"
  "rules:\n"
  "  - { id: XA, type: expr, expr: \"P1 > 20 and P2 > 20\", priority: high, on_delay: 200ms }\n"
  "  - { id: XB, type: expr, expr: \"abs(P1 - P2) > 5 or P3 / P1 > 2\", priority: medium }\n"
  PLANT_YAML_HOOK;

static void feed(struct plant *f, const char *point, double value) { plant_feed(f, point, value, DG_Q_GOOD); }

static void test_bound_to_every_point_and_holds_when_unknown(void **state)
{
  struct plant *f = *state;
  feed(f, "P1", 10); /* P2 and P3 never reported: unknown */
  assert_int_equal(plant_alarm(f, "XB")->state, ALARM_NORMAL);
  feed(f, "P2", 20); /* |10 - 20| > 5: true whatever P3 is */
  assert_int_equal(plant_alarm(f, "XB")->state, ALARM_UNACK);
  assert_int_equal(plant_alarm(f, "XB")->priority, DG_PRIO_MEDIUM);
  feed(f, "P2", 12); /* first operand false, P3 unknown: unknown, the alarm holds */
  assert_int_equal(plant_alarm(f, "XB")->state, ALARM_UNACK);
  feed(f, "P3", 5); /* 5 / 10 > 2 is false: both false */
  assert_int_equal(plant_alarm(f, "XB")->state, ALARM_RTN_UNACK);
  feed(f, "P3", 30); /* a sample of the third point alone raises it again */
  assert_int_equal(plant_alarm(f, "XB")->state, ALARM_UNACK);
  plant_feed(f, "P1", 0, DG_Q_COMM); /* bad quality: unknown, holds */
  assert_int_equal(plant_alarm(f, "XB")->state, ALARM_UNACK);
  feed(f, "P1", 0); /* division by zero, |0 - 12| > 5: true */
  assert_int_equal(plant_alarm(f, "XB")->state, ALARM_UNACK);
  feed(f, "P1", 15); /* |15 - 12| = 3, 30 / 15 = 2: false */
  assert_int_equal(plant_alarm(f, "XB")->state, ALARM_RTN_UNACK);
  assert_int_equal(plant_alarm(f, "XB")->activations, 2);
}

static void test_on_delay(void **state)
{
  struct plant *f = *state;
  feed(f, "P1", 25);
  feed(f, "P2", 25);
  assert_int_equal(plant_alarm(f, "XA")->state, ALARM_NORMAL); /* on-delay pending */
  plant_feed(f, "P2", 0, DG_Q_DEVICE); /* unknown drops the pending delay */
  int64_t until = dg_mono_ms() + 300;
  while (dg_mono_ms() < until) uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(plant_alarm(f, "XA")->state, ALARM_NORMAL);
  feed(f, "P2", 26);
  plant_wait_state(f, "XA", ALARM_UNACK, 5000);
  assert_int_equal(plant_alarm(f, "XA")->priority, DG_PRIO_HIGH);
  feed(f, "P1", 19);
  assert_int_equal(plant_alarm(f, "XA")->state, ALARM_RTN_UNACK);
}

/* A reload keeps an expr alarm whose condition is unchanged and starts over one whose text
 * changed; the new bindings take effect. */
static void test_reload(void **state)
{
  struct plant *f = *state;
  feed(f, "P1", 10);
  feed(f, "P2", 30);
  assert_int_equal(plant_alarm(f, "XB")->state, ALARM_UNACK);
  char yaml[sizeof test_yaml + 64], err[256];
  snprintf(yaml, sizeof yaml, "%s", test_yaml);
  char *at = strstr(yaml, "\"P1 > 20 and P2 > 20\"");
  assert_non_null(at);
  memcpy(at, "\"P3 > 20 or  P2 > 99\"", 21);
  struct dg_config *cfg2;
  assert_int_equal(config_load_string("test.yaml", yaml, strlen(yaml), &cfg2, err, sizeof err), 0);
  store_wait_idle(f->store);
  assert_int_equal(engine_reload(&f->engine, cfg2), 0);
  ledger_set_config(f->ledger, cfg2);
  notify_set_config(f->notify, cfg2);
  store_wait_idle(f->store);
  struct dg_config *old = f->cfg;
  f->cfg = cfg2;
  config_free(old);
  assert_int_equal(plant_alarm(f, "XB")->state, ALARM_UNACK); /* same text: state kept */
  assert_int_equal(plant_alarm(f, "XA")->state, ALARM_NORMAL);
  feed(f, "P3", 25); /* XA now reads P3 */
  plant_wait_state(f, "XA", ALARM_UNACK, 5000);
}

static void expect_config_error(const char *rule_yaml, const char *msg)
{
  char yaml[1024], err[256];
  struct dg_config *cfg = NULL;
  snprintf(yaml, sizeof yaml,
           "site: { code: T1 }\nmqtt: [ { id: m, uri: \"tcp://127.0.0.1:1\" } ]\n"
           "points: [ { id: GT101, driver: mqtt.m, topic: a }, { id: GT102, driver: mqtt.m, topic: b } ]\n"
           "rules:\n  - { id: X, type: high, point: GT101, stages: [ { name: H, limit: 1, priority: low } ] }\n"
           "  - %s\n", rule_yaml);
  assert_int_not_equal(config_load_string("r.yaml", yaml, strlen(yaml), &cfg, err, sizeof err), 0);
  assert_null(cfg);
  if (!strstr(err, msg)) fail_msg("error '%s' does not say '%s'", err, msg);
}

static void test_config(void **state)
{
  (void)state;
  expect_config_error("{ id: E, type: expr, priority: high, expr: \"GT101 > 20 and GT1O1 > 20\" }",
                      "r.yaml:6:49: rules[1].expr: col 16: unknown point 'GT1O1'");
  expect_config_error("{ id: E, type: expr, priority: high, expr: \"GT101 + 1\" }",
                      "rules[1].expr: col 1: the expression is a number, not a condition");
  expect_config_error("{ id: E, type: expr, priority: high }", "rules[1]: an expr rule needs 'expr'");
  expect_config_error("{ id: E, type: expr, expr: \"GT101 > 1\" }", "rules of type expr need 'priority'");
  expect_config_error("{ id: E, type: expr, point: GT101, priority: high, expr: \"GT101 > 1\" }",
                      "rules[1].point: an expr rule reads the points named in 'expr'");
  expect_config_error("{ id: E, type: expr, priority: high, expr: \"GT101 > 1\", stages: [ { name: H, limit: 1, priority: low } ] }",
                      "expr rule has no stages");
  expect_config_error("{ id: E, type: high, point: GT101, expr: \"GT101 > 1\", stages: [ { name: H, limit: 1, priority: low } ] }",
                      "rules[1].expr: only expr rules have 'expr'");
  expect_config_error("{ id: E, type: high, stages: [ { name: H, limit: 1, priority: low } ] }",
                      "rules[1]: missing required key 'point'");

  char yaml[512], err[256];
  struct dg_config *cfg = NULL;
  snprintf(yaml, sizeof yaml,
           "site: { code: T1 }\nmqtt: [ { id: m, uri: \"tcp://127.0.0.1:1\" } ]\n"
           "points: [ { id: GT101, driver: mqtt.m, topic: a }, { id: GT102, driver: mqtt.m, topic: b } ]\n"
           "rules: [ { id: E, type: expr, expr: \"GT102 > 20 and GT101 > 20\", priority: high, on_delay: 2s } ]\n");
  assert_int_equal(config_load_string("r.yaml", yaml, strlen(yaml), &cfg, err, sizeof err), 0);
  const struct dg_rule *r = &cfg->rules[0];
  assert_int_equal(r->type, DG_RULE_EXPR);
  assert_string_equal(r->point->id, "GT102"); /* reported under the first point it reads */
  assert_int_equal(r->n_stages, 1);
  assert_string_equal(r->stages[0].name, "expr");
  assert_int_equal(r->stages[0].priority, DG_PRIO_HIGH);
  assert_int_equal(r->on_delay_ms, 2000);
  config_free(cfg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    plant_unit_test(test_bound_to_every_point_and_holds_when_unknown, test_yaml),
    plant_unit_test(test_on_delay, test_yaml),
    plant_unit_test(test_reload, test_yaml),
    cmocka_unit_test(test_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
