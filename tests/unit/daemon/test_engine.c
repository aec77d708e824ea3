/* Engine alarm management on a real store: operator transitions are journaled and persisted,
 * shelved and out-of-service alarms are evaluated but not notified, a shelve expires on its
 * own, and every state survives a restart. */
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
  "  - { id: P4, driver: mqtt.main, topic: t/p4 }\n"
  "  - { id: P5, driver: mqtt.main, topic: t/p5 }\n"
  "  - { id: P6, driver: mqtt.main, topic: t/p6 }\n"
  "  - { id: P7, driver: mqtt.main, topic: t/p7 }\n"
  "  - { id: G1, driver: mqtt.main, topic: t/g1 }\n"
  "  - { id: G2, driver: mqtt.main, topic: t/g2 }\n"
  "  - { id: G3, driver: mqtt.main, topic: t/g3 }\n"
  "  - { id: T1, driver: mqtt.main, topic: t/t1 }\n"
  "  - { id: T2, driver: mqtt.main, topic: t/t2 }\n"
  "  - { id: S1, driver: mqtt.main, topic: t/s1 }\n"
  "  - { id: F1, driver: mqtt.main, topic: t/f1 }\n"
  "rules:\n"
  "  - { id: R1, type: high, point: P1, latched: true, stages: [ { name: H, limit: 25, priority: high } ] }\n"
  "  - { id: R2, type: high, point: P2, stages: [ { name: H, limit: 25, priority: critical } ] }\n"
  "  - { id: Q3, type: quality, point: P3, priority: high, on_delay: 100ms }\n"
  "  - { id: S4, type: stale, point: P4, timeout: 300ms, priority: medium }\n"
  "  - { id: RT5, type: rate, point: P5, rate: { per: 1s, window: 800ms }, direction: falling,\n"
  "      stages: [ { name: fall, limit: 10, priority: high } ] }\n"
  "  - { id: D6, type: deviation, points: [P6, P7], limit: 5, priority: high }\n"
  "  - { id: V7, type: vote, points: [G1, G2, G3], k: 2, limits: [20, 25, 30], priority: critical }\n"
  "  - { id: TL1, type: high, point: T1, stages: [ { name: blue, limit: 1, priority: low },\n"
  "      { name: yellow, limit: 2, priority: medium }, { name: orange, limit: 3, priority: high } ] }\n"
  "  - { id: TL2, type: high, point: T2, stages: [ { name: blue, limit: 1, priority: low },\n"
  "      { name: yellow, limit: 2, priority: medium }, { name: orange, limit: 3, priority: high } ] }\n"
  "  - { id: AG8, type: aggregate, rules: [TL1, TL2], counts: { yellow_from_blue: 2, orange_from_yellow: 2,\n"
  "      red_from_orange: 2 }, priorities: [low, medium, high] }\n"
  "  - { id: SU9, type: high, point: S1, suppress_when: { point: F1, below: 5 },\n"
  "      stages: [ { name: H, limit: 25, priority: high } ] }\n"
  PLANT_YAML_HOOK
  "alarm: { max_shelve: { critical: 30m } }\n";

static void feed(struct plant *f, const char *point, double value) { plant_feed(f, point, value, DG_Q_GOOD); }

static void feed_quality(struct plant *f, const char *point, uint8_t quality) { plant_feed(f, point, 0, quality); }

static int op(struct plant *f, const char *rule, enum alarm_event ev, const char *comment, int64_t shelve_ms)
{
  int rc = engine_operate(&f->engine, plant_alarm(f, rule)->id, ev, "zhang", comment, shelve_ms);
  store_wait_idle(f->store);
  return rc;
}

static int64_t count(struct plant *f, const char *sql, int64_t alarm_id)
{
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(store_conn_db(store_reader(f->store)), sql, -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int64(st, 1, alarm_id);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

static int64_t outbox_rows(struct plant *f, const char *rule)
{
  char like[64];
  snprintf(like, sizeof like, "alarm:%lld:%%", (long long)plant_alarm(f, rule)->id);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(store_conn_db(store_reader(f->store)), "SELECT COUNT(*) FROM outbox WHERE ref LIKE ?1",
                                      -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_text(st, 1, like, -1, SQLITE_TRANSIENT);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

static void restart(struct plant *f)
{
  plant_stop(f);
  memset(&f->engine, 0, sizeof f->engine);
  plant_start(f);
}

static void test_operator_errors(void **state)
{
  struct plant *f = *state;
  assert_int_equal(engine_operate(&f->engine, 9999, ALARM_EV_ACK, "zhang", NULL, 0), -ENOENT);
  assert_int_equal(op(f, "R1", ALARM_EV_ACK, NULL, 0), -EALREADY);
  assert_int_equal(op(f, "R1", ALARM_EV_RESET, NULL, 0), -EINVAL);
  assert_int_equal(op(f, "R1", ALARM_EV_UNSHELVE, NULL, 0), -EINVAL);
  assert_int_equal(op(f, "R2", ALARM_EV_SHELVE, "work", 31 * 60000), -ERANGE); /* max_shelve critical 30m */
  assert_int_equal(op(f, "R1", ALARM_EV_SHELVE, "work", 5 * 3600000), -ERANGE); /* config default high 4h */
  assert_int_equal(op(f, "R1", ALARM_EV_SHELVE, "work", 0), -ERANGE);
  assert_int_equal(op(f, "R1", ALARM_EV_SHELVE, "", 60000), -EINVAL);
  assert_int_equal(plant_alarm(f, "R1")->state, ALARM_NORMAL);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM alarm_journal WHERE alarm_id = ?1", plant_alarm(f, "R1")->id), 0);
}

static void test_shelved_and_oos_are_journaled_not_notified(void **state)
{
  struct plant *f = *state;
  int64_t id = plant_alarm(f, "R2")->id;
  assert_int_equal(op(f, "R2", ALARM_EV_SHELVE, "sensor swap", 20 * 60000), 1);
  feed(f, "P2", 40);
  assert_int_equal(plant_alarm(f, "R2")->state, ALARM_SHELVED);
  assert_true(alarm_is_active(plant_alarm(f, "R2")));
  feed(f, "P2", 10);
  assert_int_equal(op(f, "R2", ALARM_EV_OUT_OF_SERVICE, "loop check", 0), 1);
  feed(f, "P2", 40);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM alarm_journal WHERE alarm_id = ?1", id), 5);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM alarm_journal WHERE alarm_id = ?1 AND actor = 'zhang'"
                            " AND comment = 'sensor swap' AND event = 'shelve'", id), 1);
  assert_int_equal(outbox_rows(f, "R2"), 0);
  /* Back in service with the condition active: UNACK and announced. */
  assert_int_equal(op(f, "R2", ALARM_EV_RETURN_TO_SERVICE, NULL, 0), 1);
  assert_int_equal(plant_alarm(f, "R2")->state, ALARM_UNACK);
  assert_int_equal(outbox_rows(f, "R2"), 1);
}

/* F1 (say the feed flow) below 5 suppresses SU9 by design: evaluated and journaled, not notified. */
static void test_suppressed_by_design(void **state)
{
  struct plant *f = *state;
  int64_t id = plant_alarm(f, "SU9")->id;
  feed(f, "F1", 2);
  assert_int_equal(plant_alarm(f, "SU9")->state, ALARM_SUPPRESSED);
  feed(f, "S1", 40);
  assert_int_equal(plant_alarm(f, "SU9")->state, ALARM_SUPPRESSED);
  assert_true(alarm_is_active(plant_alarm(f, "SU9")));
  assert_int_equal(outbox_rows(f, "SU9"), 0);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM alarm_journal WHERE alarm_id = ?1 AND event = 'suppress'"
                            " AND actor = 'system' AND to_state = 'SUPPRESSED'", id), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM alarm_journal WHERE alarm_id = ?1 AND event = 'activate'", id), 1);
  /* The suppression survives a restart. */
  restart(f);
  assert_int_equal(plant_alarm(f, "SU9")->state, ALARM_SUPPRESSED);
  assert_true(plant_alarm(f, "SU9")->suppressed);
  assert_true(alarm_is_active(plant_alarm(f, "SU9")));
  feed(f, "F1", 3);
  assert_int_equal(plant_alarm(f, "SU9")->state, ALARM_SUPPRESSED);
  assert_int_equal(outbox_rows(f, "SU9"), 0);
  /* Condition still active when the suppression ends: UNACK and announced. */
  feed(f, "F1", 8);
  assert_int_equal(plant_alarm(f, "SU9")->state, ALARM_UNACK);
  assert_int_equal(outbox_rows(f, "SU9"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM alarm_journal WHERE alarm_id = ?1 AND event = 'unsuppress'"
                            " AND actor = 'system' AND to_state = 'UNACK'", id), 1);
  /* A bad-quality sample of F1 cannot prove the suppression. */
  feed(f, "F1", 2);
  assert_int_equal(plant_alarm(f, "SU9")->state, ALARM_SUPPRESSED);
  feed_quality(f, "F1", DG_Q_COMM);
  assert_int_equal(plant_alarm(f, "SU9")->state, ALARM_UNACK);
}

static void test_suppress_when_config(void **state)
{
  (void)state;
  static const char head[] = "site: {code: x}\nmqtt: [{id: m, uri: 'tcp://h:1'}]\n"
                             "points: [{id: P, driver: mqtt.m, topic: t}, {id: Q, driver: mqtt.m, topic: u}]\n"
                             "rules: [{id: R, type: high, point: P, stages: [{name: H, limit: 1, priority: low}],\n"
                             "  suppress_when: ";
  static const struct {
    const char *text, *err;
  } cases[] = {
    {"{point: Q, below: 1, above: 2}}]\n", "t.yaml:5:46: rules[0].suppress_when.above"},
    {"{point: Q}}]\n", "needs 'below' or 'above'"},
    {"{point: Z, above: 2}}]\n", "unknown point 'Z'"},
    {"{point: Q, above: 2, over: 1}}]\n", "over"},
  };
  char yaml[512], err[512];
  struct dg_config *c = NULL;
  snprintf(yaml, sizeof yaml, "%s{point: Q, above: 2.5}}]\n", head);
  assert_int_equal(config_load_string("t.yaml", yaml, strlen(yaml), &c, err, sizeof err), 0);
  assert_true(c->rules[0].suppress_point == dg_config_point(c, "Q") && !c->rules[0].suppress_below);
  assert_true(c->rules[0].suppress_limit == 2.5);
  config_free(c);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(yaml, sizeof yaml, "%s%s", head, cases[i].text);
    c = NULL;
    assert_int_not_equal(config_load_string("t.yaml", yaml, strlen(yaml), &c, err, sizeof err), 0);
    if (!strstr(err, cases[i].err) || !strstr(err, "suppress_when")) fail_msg("case %zu: %s", i, err);
  }
}

static void test_latched_needs_reset(void **state)
{
  struct plant *f = *state;
  feed(f, "P1", 30);
  feed(f, "P1", 10);
  struct alarm *a = plant_alarm(f, "R1");
  assert_int_equal(a->state, ALARM_LATCHED);
  assert_int_equal(op(f, "R1", ALARM_EV_RESET, "found a leak at the flange", 0), 1);
  assert_int_equal(a->state, ALARM_NORMAL);
  assert_string_equal(a->ack_user, "zhang");
  assert_int_equal(count(f, "SELECT COUNT(*) FROM alarms WHERE id = ?1 AND state = 'NORMAL' AND latched = 0", a->id), 1);
}

static void test_shelve_expires_while_active(void **state)
{
  struct plant *f = *state;
  feed(f, "P2", 40);
  assert_int_equal(op(f, "R2", ALARM_EV_ACK, NULL, 0), 1);
  assert_int_equal(op(f, "R2", ALARM_EV_SHELVE, "short", 1), 1);
  int64_t notified = outbox_rows(f, "R2");
  plant_wait_state(f, "R2", ALARM_UNACK, 10000);
  store_wait_idle(f->store);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM alarm_journal WHERE alarm_id = ?1 AND event = 'unshelve'"
                            " AND actor = 'system'", plant_alarm(f, "R2")->id), 1);
  assert_int_equal(outbox_rows(f, "R2"), notified + 1);
  assert_int_equal(plant_alarm(f, "R2")->shelved_until_ms, 0);
}

static void test_quality_rule(void **state)
{
  struct plant *f = *state;
  feed(f, "P3", 12);
  feed_quality(f, "P3", DG_Q_UNKNOWN); /* not a fault */
  feed_quality(f, "P3", DG_Q_COMM);
  assert_int_equal(plant_alarm(f, "Q3")->state, ALARM_NORMAL); /* on-delay running */
  plant_wait_state(f, "Q3", ALARM_UNACK, 10000);
  struct alarm *a = plant_alarm(f, "Q3");
  assert_int_equal(a->priority, DG_PRIO_HIGH);
  assert_int_equal(a->value, 12); /* the point's last good value */
  feed(f, "P3", 13);
  assert_int_equal(a->state, ALARM_RTN_UNACK);
  assert_int_equal(outbox_rows(f, "Q3"), 2);
  /* A fault shorter than the on-delay: no alarm. */
  assert_int_equal(op(f, "Q3", ALARM_EV_ACK, NULL, 0), 1);
  feed_quality(f, "P3", DG_Q_DEVICE);
  feed(f, "P3", 13);
  int64_t until = dg_mono_ms() + 300;
  while (dg_mono_ms() < until) uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(plant_alarm(f, "Q3")->state, ALARM_NORMAL);
}

static void test_stale_rule(void **state)
{
  struct plant *f = *state;
  plant_wait_state(f, "S4", ALARM_UNACK, 10000); /* never reported since start */
  feed_quality(f, "P4", DG_Q_COMM);  /* a fault sample is not fresh data */
  assert_int_equal(plant_alarm(f, "S4")->state, ALARM_UNACK);
  feed(f, "P4", 1);
  assert_int_equal(plant_alarm(f, "S4")->state, ALARM_RTN_UNACK);
  assert_int_equal(op(f, "S4", ALARM_EV_ACK, NULL, 0), 1);
  plant_wait_state(f, "S4", ALARM_UNACK, 10000); /* silent again for the timeout */
  assert_int_equal(plant_alarm(f, "S4")->activations, 2);
  /* An active stale alarm stays active across a restart until a good sample arrives. */
  restart(f);
  assert_int_equal(plant_alarm(f, "S4")->state, ALARM_UNACK);
  int64_t until = dg_mono_ms() + 100;
  while (dg_mono_ms() < until) uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(plant_alarm(f, "S4")->state, ALARM_UNACK);
  feed(f, "P4", 2);
  assert_int_equal(plant_alarm(f, "S4")->state, ALARM_RTN_UNACK);
}

static void advance_loop_time(struct plant *f, uint64_t ms)
{
  uint64_t until = uv_now(&f->loop) + ms;
  while (uv_now(&f->loop) < until) uv_update_time(&f->loop);
}

static void test_rate_rule_in_engine(void **state)
{
  struct plant *f = *state;
  feed(f, "P5", 100);
  advance_loop_time(f, 150);
  feed(f, "P5", 99.9); /* a slow fall: no alarm */
  assert_int_equal(plant_alarm(f, "RT5")->state, ALARM_NORMAL);
  advance_loop_time(f, 150);
  feed(f, "P5", 50); /* 50 in under 800 ms: far beyond 10 per second */
  struct alarm *a = plant_alarm(f, "RT5");
  assert_int_equal(a->state, ALARM_UNACK);
  assert_true(a->value > 10); /* the alarm shows the rate */
  assert_int_equal(outbox_rows(f, "RT5"), 1);
}

static void expect_config_error(const char *rule_yaml, const char *msg)
{
  char yaml[1024], err[256];
  struct dg_config *cfg = NULL;
  snprintf(yaml, sizeof yaml,
           "site: { code: T1 }\nmqtt: [ { id: m, uri: \"tcp://127.0.0.1:1\" } ]\n"
           "points: [ { id: P1, driver: mqtt.m, topic: a } ]\nrules:\n  - %s\n", rule_yaml);
  assert_int_not_equal(config_load_string("r.yaml", yaml, strlen(yaml), &cfg, err, sizeof err), 0);
  if (!strstr(err, msg)) fail_msg("error '%s' does not say '%s'", err, msg);
}

static void test_fault_rule_config(void **state)
{
  expect_config_error("{ id: S, type: stale, point: P1, priority: high }", "r.yaml:5:5: rules[0]: a stale rule needs 'timeout'");
  expect_config_error("{ id: S, type: stale, point: P1, timeout: 1s }", "rules of type stale need 'priority'");
  expect_config_error("{ id: Q, type: quality, point: P1, priority: high, timeout: 1s }",
                      "rules[0].timeout: only stale rules have a timeout");
  expect_config_error("{ id: Q, type: quality, point: P1, priority: high, stages: [ { name: H, limit: 1, priority: low } ] }",
                      "a quality rule has no stages");
  expect_config_error("{ id: H, type: high, point: P1, priority: high, stages: [ { name: H, limit: 1, priority: low } ] }",
                      "a high rule takes its priorities from its stages");
  expect_config_error("{ id: H, type: high, point: P1 }", "missing required key 'stages'");
  expect_config_error("{ id: S, type: stale, point: P1, priority: high, timeout: 10ms }", "timeout");
  expect_config_error("{ id: R, type: rate, point: P1, stages: [ { name: H, limit: 1, priority: low } ] }",
                      "a rate rule needs 'rate: { per, window }'");
  expect_config_error("{ id: R, type: rate, point: P1, rate: { per: 1m }, stages: [ { name: H, limit: 1, priority: low } ] }",
                      "rules[0].rate: missing required key 'window'");
  expect_config_error("{ id: R, type: rate, point: P1, rate: { per: 1m, window: 5m }, direction: up,"
                      " stages: [ { name: H, limit: 1, priority: low } ] }", "expected one of rising, falling");
  expect_config_error("{ id: R, type: rate, point: P1, rate: { per: 1m, window: 5m },"
                      " stages: [ { name: H, limit: 2, priority: low }, { name: HH, limit: 1, priority: high } ] }",
                      "limits of a rate rule must ascend strictly");
  expect_config_error("{ id: H, type: high, point: P1, direction: falling, stages: [ { name: H, limit: 1, priority: low } ] }",
                      "only rate rules have 'direction'");
}

/* Either point's good sample evaluates; a bad-quality input holds the state. */
static void test_deviation_rule_in_engine(void **state)
{
  struct plant *f = *state;
  feed(f, "P6", 10);
  assert_int_equal(plant_alarm(f, "D6")->state, ALARM_NORMAL); /* P7 has no value yet */
  feed(f, "P7", 16);
  struct alarm *a = plant_alarm(f, "D6");
  assert_int_equal(a->state, ALARM_UNACK);
  assert_true(a->value == 6);
  feed_quality(f, "P7", DG_Q_COMM);
  feed(f, "P6", 16); /* would agree with P7's old value, but P7 is bad: the alarm holds */
  assert_int_equal(plant_alarm(f, "D6")->state, ALARM_UNACK);
  feed(f, "P7", 15); /* P7 good again: 1 apart */
  assert_int_equal(plant_alarm(f, "D6")->state, ALARM_RTN_UNACK);
  assert_int_equal(outbox_rows(f, "D6"), 2);
}

static void test_deviation_rule_config(void **state)
{
  (void)state;
  expect_config_error("{ id: D, type: deviation, points: [P1], limit: 1, priority: high }",
                      "a deviation rule needs 'points: [A, B]' (two points)");
  expect_config_error("{ id: D, type: deviation, points: [P1, P1], limit: 1, priority: high }",
                      "the two points of a deviation rule must differ");
  expect_config_error("{ id: D, type: deviation, points: [P1, P9], limit: 1, priority: high }", "unknown point 'P9'");
  expect_config_error("{ id: D, type: deviation, points: [P1, P1], priority: high }", "a deviation rule needs 'limit'");
  expect_config_error("{ id: D, type: deviation, point: P1, points: [P1, P1], limit: 1, priority: high }",
                      "a deviation rule takes 'points: [..]'");
  expect_config_error("{ id: H, type: high, point: P1, limit: 1, stages: [ { name: H, limit: 1, priority: low } ] }",
                      "only deviation and vote rules have 'limit'");
  expect_config_error("{ id: H, type: high, stages: [ { name: H, limit: 1, priority: low } ] }",
                      "missing required key 'point'");
}

/* 2oo3 in the engine: any input's sample re-counts; a detector going bad stops voting. */
static void test_vote_rule_in_engine(void **state)
{
  struct plant *f = *state;
  feed(f, "G1", 21);
  assert_int_equal(plant_alarm(f, "V7")->state, ALARM_NORMAL);
  feed(f, "G3", 29);
  assert_int_equal(plant_alarm(f, "V7")->state, ALARM_NORMAL);
  feed(f, "G2", 25);
  struct alarm *a = plant_alarm(f, "V7");
  assert_int_equal(a->state, ALARM_UNACK);
  assert_true(a->value == 2);
  feed_quality(f, "G2", DG_Q_COMM);
  assert_int_equal(plant_alarm(f, "V7")->state, ALARM_RTN_UNACK);
  assert_int_equal(outbox_rows(f, "V7"), 2);
}

static void test_vote_rule_config(void **state)
{
  (void)state;
  expect_config_error("{ id: V, type: vote, points: [P1], k: 1, limit: 1, priority: high }",
                      "a vote rule needs 'points: [..]' (2 to 32 points)");
  expect_config_error("{ id: V, type: vote, points: [P1, P1], k: 1, limit: 1, priority: high }",
                      "rules[0].points[1]: point 'P1' is listed twice");
  expect_config_error("{ id: V, type: vote, points: [P1, P9], k: 1, limit: 1, priority: high }", "unknown point 'P9'");
  expect_config_error("{ id: V, type: vote, points: [P1, P1], limit: 1, priority: high }", "a vote rule needs 'k'");
  expect_config_error("{ id: V, type: vote, points: [P1, P1], k: 3, limit: 1, priority: high }",
                      "k (3) exceeds the number of points (2)");
  expect_config_error("{ id: V, type: vote, points: [P1, P1], k: 1, priority: high }", "listed twice");
  expect_config_error("{ id: H, type: high, point: P1, k: 1, stages: [ { name: H, limit: 1, priority: low } ] }",
                      "only vote rules have 'k'");
}

/* A vote's limits: one shared limit or one per point, never both. */
static void test_vote_rule_limits(void **state)
{
  (void)state;
  static const char *const base = "site: { code: T1 }\nmqtt: [ { id: m, uri: \"tcp://127.0.0.1:1\" } ]\n"
                                  "points: [ { id: A, driver: mqtt.m, topic: a }, { id: B, driver: mqtt.m, topic: b } ]\n"
                                  "rules:\n  - { id: V, type: vote, points: [A, B], k: 1, priority: high%s }\n";
  static const struct { const char *keys; const char *err; double l0, l1; } cases[] = {
    {", limit: 7", NULL, 7, 7},
    {", limits: [3, 4]", NULL, 3, 4},
    {"", "a vote rule needs one of 'limit' or 'limits: [..]'", 0, 0},
    {", limit: 1, limits: [3, 4]", "a vote rule needs one of 'limit' or 'limits: [..]'", 0, 0},
    {", limits: [3]", "rules[0].limits: expected one limit per point (2)", 0, 0},
    {", limits: [3, x]", "rules[0].limits[1]: expected a number", 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char yaml[1024], err[256] = "";
    struct dg_config *cfg = NULL;
    snprintf(yaml, sizeof yaml, base, cases[i].keys);
    int rc = config_load_string("v.yaml", yaml, strlen(yaml), &cfg, err, sizeof err);
    if (cases[i].err) {
      if (rc == 0 || !strstr(err, cases[i].err)) fail_msg("case %zu: '%s' does not say '%s'", i, err, cases[i].err);
      continue;
    }
    if (rc) fail_msg("case %zu: %s", i, err);
    const struct dg_rule *r = &cfg->rules[0];
    assert_int_equal(r->n_inputs, 2);
    assert_true(r->input_limits[0] == cases[i].l0 && r->input_limits[1] == cases[i].l1);
    assert_string_equal(r->stages[0].name, "vote");
    config_free(cfg);
  }
}

/* The item level follows its point rules' stage changes, escalating and returning. */
static void test_aggregate_rule_in_engine(void **state)
{
  struct plant *f = *state;
  feed(f, "T1", 1.5);
  assert_int_equal(plant_alarm(f, "AG8")->state, ALARM_NORMAL);
  feed(f, "T2", 1.5); /* 2 blue → yellow */
  struct alarm *a = plant_alarm(f, "AG8");
  assert_int_equal(a->state, ALARM_UNACK);
  assert_int_equal(a->stage, 0);
  assert_int_equal(a->priority, DG_PRIO_LOW);
  feed(f, "T1", 3.5);
  feed(f, "T2", 2.5); /* orange + yellow: 2 at yellow or more → orange */
  assert_int_equal(plant_alarm(f, "AG8")->stage, 1);
  feed(f, "T2", 3.5); /* 2 orange → red */
  assert_int_equal(plant_alarm(f, "AG8")->stage, 2);
  assert_true(plant_alarm(f, "AG8")->value == DG_LEVEL_RED);
  feed(f, "T1", 0);
  feed(f, "T2", 0);
  assert_int_equal(plant_alarm(f, "AG8")->state, ALARM_RTN_UNACK);
}

static void test_aggregate_rule_config(void **state)
{
  (void)state;
  expect_config_error("{ id: A, type: aggregate, rules: [X], priorities: [low, low, low] }",
                      "rules[0].rules[0]: unknown rule 'X' (inputs must be listed before the aggregate)");
  expect_config_error("{ id: A, type: aggregate, point: P1, rules: [X] }", "an aggregate rule takes 'rules: [..]'");
  expect_config_error("{ id: A, type: aggregate }", "an aggregate rule needs 'rules: [..]'");
  expect_config_error("{ id: H, type: high, point: P1, counts: { red_from_orange: 1 },"
                      " stages: [ { name: H, limit: 1, priority: low } ] }", "only aggregate rules have 'counts'");
}

/* Inputs, defaults and errors that need earlier rules. */
static void test_aggregate_rule_inputs(void **state)
{
  (void)state;
  static const char *const base =
    "site: { code: T1 }\nmqtt: [ { id: m, uri: \"tcp://127.0.0.1:1\" } ]\n"
    "points: [ { id: A, driver: mqtt.m, topic: a } ]\nrules:\n"
    "  - { id: H, type: high, point: A, stages: [ { name: blue, limit: 1, priority: low } ] }\n"
    "  - { id: S, type: stale, point: A, timeout: 1s, priority: low }\n"
    "  - { id: AG, type: aggregate%s }\n";
  static const struct { const char *keys; const char *err; uint32_t c0, c1, c2; enum dg_priority p2; } cases[] = {
    {", rules: [H]", NULL, 4, 3, 2, DG_PRIO_CRITICAL},
    {", rules: [H], counts: { orange_from_yellow: 5 }, priorities: [low, low, high]", NULL, 4, 5, 2, DG_PRIO_HIGH},
    {", rules: [S]", "rules[2].rules[0]: input rule 'S' must be of type high or low", 0, 0, 0, 0},
    {", rules: [H, H]", "rule 'H' is listed twice", 0, 0, 0, 0},
    {", rules: [H], counts: { red_from_orange: 0 }", "rules[2].counts.red_from_orange", 0, 0, 0, 0},
    {", rules: [H], priorities: [low, high]", "expected three priorities", 0, 0, 0, 0},
    {", rules: [H], priorities: [low, high, urgent]", "rules[2].priorities[2]: expected one of", 0, 0, 0, 0},
    {", rules: [H], priority: high", "set 'priorities: [..]'", 0, 0, 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char yaml[1024], err[256] = "";
    struct dg_config *cfg = NULL;
    snprintf(yaml, sizeof yaml, base, cases[i].keys);
    int rc = config_load_string("a.yaml", yaml, strlen(yaml), &cfg, err, sizeof err);
    if (cases[i].err) {
      if (rc == 0 || !strstr(err, cases[i].err)) fail_msg("case %zu: '%s' does not say '%s'", i, err, cases[i].err);
      continue;
    }
    if (rc) fail_msg("case %zu: %s", i, err);
    const struct dg_rule *r = &cfg->rules[2];
    assert_int_equal(r->n_stages, 3);
    assert_string_equal(r->stages[2].name, "red");
    assert_int_equal(r->stages[2].priority, cases[i].p2);
    assert_true(r->agg_counts[0] == cases[i].c0 && r->agg_counts[1] == cases[i].c1 && r->agg_counts[2] == cases[i].c2);
    assert_true(cfg->rules[0].agg_input);
    config_free(cfg);
  }
}

/* Drive each alarm to a state, restart, and find the same state, stage and shelve. */
static void test_restart_in_each_state(void **state)
{
  struct plant *f = *state;
  static const enum alarm_state states[] = {ALARM_UNACK,   ALARM_ACKED,   ALARM_RTN_UNACK,
                                            ALARM_LATCHED, ALARM_SHELVED, ALARM_OUT_OF_SERVICE};
  for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
    const char *rule = states[i] == ALARM_LATCHED ? "R1" : "R2";
    const char *point = rule[1] == '1' ? "P1" : "P2";
    feed(f, point, 40);
    if (states[i] != ALARM_UNACK) op(f, rule, ALARM_EV_ACK, NULL, 0);
    if (states[i] == ALARM_RTN_UNACK) {
      feed(f, point, 10);
      feed(f, point, 40);
      feed(f, point, 10);
    }
    if (states[i] == ALARM_LATCHED) feed(f, point, 10);
    if (states[i] == ALARM_SHELVED) assert_int_equal(op(f, rule, ALARM_EV_SHELVE, "hot work", 20 * 60000), 1);
    if (states[i] == ALARM_OUT_OF_SERVICE) assert_int_equal(op(f, rule, ALARM_EV_OUT_OF_SERVICE, NULL, 0), 1);
    struct alarm before = *plant_alarm(f, rule);
    assert_int_equal(before.state, states[i]);
    restart(f);
    struct alarm *a = plant_alarm(f, rule);
    if (a->state != states[i] || a->stage != before.stage || a->shelved_until_ms != before.shelved_until_ms)
      fail_msg("%s: restored %s stage %d", alarm_state_name(states[i]), alarm_state_name(a->state), a->stage);
    if (states[i] == ALARM_SHELVED) assert_string_equal(a->shelve_reason, "hot work");
    /* Back to NORMAL for the next round. */
    if (states[i] == ALARM_SHELVED) assert_int_equal(op(f, rule, ALARM_EV_UNSHELVE, NULL, 0), 1);
    if (states[i] == ALARM_OUT_OF_SERVICE) assert_int_equal(op(f, rule, ALARM_EV_RETURN_TO_SERVICE, NULL, 0), 1);
    if (states[i] == ALARM_LATCHED) assert_int_equal(op(f, rule, ALARM_EV_RESET, NULL, 0), 1);
    feed(f, point, 10);
    op(f, rule, ALARM_EV_ACK, NULL, 0);
    assert_int_equal(plant_alarm(f, rule)->state, ALARM_NORMAL);
  }
}

/* A restart on a changed configuration: a rule moved to another point keeps its row (and id)
 * with the new point, a new rule gets a row, an unchanged rule keeps its id. */
static void test_alarm_rows_follow_the_config(void **state)
{
  struct plant *f = *state;
  int64_t r1 = plant_alarm(f, "R1")->id, r2 = plant_alarm(f, "R2")->id;
  assert_int_equal(count(f, "SELECT COUNT(*) FROM alarms WHERE id = ?1 AND point = 'P1' AND measure IS NULL", r1), 1);
  plant_stop(f);
  config_free(f->cfg);
  f->cfg = plant_load("site: { code: T1 }\n" PLANT_YAML_MQTT
                      "points: [{ id: P1, driver: mqtt.main, topic: t/p1 }, { id: P2, driver: mqtt.main, topic: t/p2 }]\n"
                      "rules:\n"
                      "  - { id: R1, type: high, point: P2, stages: [ { name: H, limit: 25, priority: high } ] }\n"
                      "  - { id: R2, type: high, point: P2, stages: [ { name: H, limit: 25, priority: critical } ] }\n"
                      "  - { id: R9, type: low, point: P1, stages: [ { name: L, limit: 5, priority: low } ] }\n");
  for (int round = 0; round < 2; round++) {
    memset(&f->engine, 0, sizeof f->engine);
    plant_start(f);
    assert_int_equal(plant_alarm(f, "R1")->id, r1);
    assert_int_equal(plant_alarm(f, "R2")->id, r2);
    int64_t r9 = plant_alarm(f, "R9")->id;
    assert_true(r9 > 0 && r9 != r1 && r9 != r2);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM alarms WHERE id = ?1 AND point = 'P2'", r1), 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM alarms WHERE id = ?1 AND rule = 'R9' AND point = 'P1'", r9), 1);
    if (!round) plant_stop(f);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    plant_unit_test(test_operator_errors, test_yaml),
    plant_unit_test(test_alarm_rows_follow_the_config, test_yaml),
    plant_unit_test(test_shelved_and_oos_are_journaled_not_notified, test_yaml),
    plant_unit_test(test_latched_needs_reset, test_yaml),
    plant_unit_test(test_shelve_expires_while_active, test_yaml),
    plant_unit_test(test_restart_in_each_state, test_yaml),
    plant_unit_test(test_suppressed_by_design, test_yaml),
    cmocka_unit_test(test_suppress_when_config),
    plant_unit_test(test_quality_rule, test_yaml),
    plant_unit_test(test_stale_rule, test_yaml),
    plant_unit_test(test_rate_rule_in_engine, test_yaml),
    cmocka_unit_test(test_fault_rule_config),
    plant_unit_test(test_deviation_rule_in_engine, test_yaml),
    cmocka_unit_test(test_deviation_rule_config),
    plant_unit_test(test_vote_rule_in_engine, test_yaml),
    cmocka_unit_test(test_vote_rule_config),
    cmocka_unit_test(test_vote_rule_limits),
    plant_unit_test(test_aggregate_rule_in_engine, test_yaml),
    cmocka_unit_test(test_aggregate_rule_config),
    cmocka_unit_test(test_aggregate_rule_inputs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
