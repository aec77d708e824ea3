/* The words for each rule type's condition, used by notifications and by the hazard records
 * the ledger opens (a deviation or vote hazard must not read "below a limit"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "describe.h"
#include "plant_fixture.h"

static const char yaml[] =
  "site: { code: T1 }\n"
  PLANT_YAML_MQTT
  "points:\n"
  "  - { id: P1, name: 氨气浓度, eng_unit: \"%LEL\", driver: mqtt.main, topic: t/p1 }\n"
  "  - { id: P2, driver: mqtt.main, topic: t/p2 }\n"
  "  - { id: G1, driver: mqtt.main, topic: t/g1 }\n"
  "  - { id: G2, driver: mqtt.main, topic: t/g2 }\n"
  "  - { id: G3, driver: mqtt.main, topic: t/g3 }\n"
  "rules:\n"
  "  - { id: H1, type: high, point: P1, stages: [ { name: H, limit: 25, priority: high } ] }\n"
  "  - { id: L1, type: low, point: P2, stages: [ { name: L, limit: 3, priority: high } ] }\n"
  "  - { id: D1, type: deviation, points: [P1, P2], limit: 5, priority: high }\n"
  "  - { id: V1, name: 罐区气体表决, type: vote, points: [G1, G2, G3], k: 2, limits: [20, 25, 30], priority: critical }\n"
  "  - { id: X1, type: expr, expr: \"P1 > 20 and P2 > 20\", priority: high }\n"
  "  - { id: S1, type: stale, point: P2, timeout: 30s, priority: medium }\n"
  "  - { id: Q1, type: quality, point: P2, priority: medium }\n"
  "  - { id: RT1, type: rate, point: P1, rate: { per: 1m, window: 5m },\n"
  "      stages: [ { name: rise, limit: 10, priority: high } ] }\n";

static void expect(const struct dg_config *c, const char *rule, int stage, double value, const char *zh,
                   const char *en)
{
  const struct dg_rule *r = NULL;
  for (size_t i = 0; i < c->n_rules; i++)
    if (strcmp(c->rules[i].id, rule) == 0) r = &c->rules[i];
  assert_non_null(r);
  char z[400], e[400];
  describe_condition(r, stage, value, z, sizeof z, e, sizeof e);
  assert_string_equal(z, zh);
  assert_string_equal(e, en);
}

static void test_every_rule_type(void **state)
{
  (void)state;
  struct dg_config *c = plant_load(yaml);
  expect(c, "H1", 0, 32, "氨气浓度（P1）当前值 32%LEL，高于 H 限值 25%LEL", "氨气浓度 (P1) is 32%LEL, above H limit 25%LEL");
  expect(c, "L1", 0, 1.5, "P2（P2）当前值 1.5，低于 L 限值 3", "P2 (P2) is 1.5, below L limit 3");
  expect(c, "D1", 0, 7, "氨气浓度（P1）与 P2（P2）偏差 7%LEL，超过限值 5%LEL",
         "氨气浓度 (P1) and P2 (P2) differ by 7%LEL, more than 5%LEL");
  expect(c, "V1", 0, 2, "罐区气体表决：2/3 个测点达到报警限值（2 取 3 表决）",
         "罐区气体表决: 2 of 3 points at or above their limits (2oo3 vote)");
  expect(c, "X1", 0, 1, "条件成立：P1 > 20 and P2 > 20", "condition holds: P1 > 20 and P2 > 20");
  expect(c, "S1", 0, 0, "P2（P2）30 秒内无新数据", "P2 (P2) has sent no fresh sample for 30 s");
  expect(c, "Q1", 0, 0, "P2（P2）采集故障（通讯中断、设备故障或数据异常）",
         "P2 (P2) acquisition fault (communication, device or payload)");
  expect(c, "RT1", 0, 12, "氨气浓度（P1）上升速率 12%LEL/60 秒，超过 rise 限值 10",
         "氨气浓度 (P1) rises at 12%LEL per 60 s, beyond rise limit 10");
  expect(c, "H1", -1, 20, "氨气浓度（P1）已恢复正常，当前值 20%LEL", "氨气浓度 (P1) returned to normal at 20%LEL");
  config_free(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_every_rule_type)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
