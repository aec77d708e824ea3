/* message: an alarm's notifications, one per channel its priority reaches, each with its own
 * copy of the same body. */
#include "plant_fixture.h"

#include <cjson/cJSON.h>

#include "message.h"

static const char *const yaml =
  "site: { code: T1, name: 测试厂 }\n" PLANT_YAML_MQTT
  "points:\n  - { id: P1, name: 1号罐液位, driver: mqtt.main, topic: t/p1, eng_unit: m }\n"
  "rules:\n  - { id: R1, type: high, point: P1, stages: [ { name: H, limit: 25, priority: high } ] }\n"
  "channels:\n"
  "  - { id: hook, type: webhook, url: \"http://127.0.0.1:1/hook\" }\n"
  "  - { id: pager, type: webhook, url: \"http://127.0.0.1:1/pager\" }\n"
  "  - { id: night, type: webhook, url: \"http://127.0.0.1:1/night\" }\n"
  "policies:\n"
  "  - { id: all, priorities: [low, medium, high, critical], channels: [hook] }\n"
  "  - { id: high, priorities: [high, critical], channels: [pager, hook] }\n"
  "  - { id: low, priorities: [low], channels: [night] }\n";

static struct notify_msg *find(struct notify_msg *list, const char *channel)
{
  for (; list; list = list->next)
    if (!strcmp(list->channel, channel)) return list;
  return NULL;
}

static void test_one_body_per_channel(void **state)
{
  struct plant *p = *state;
  struct alarm a;
  alarm_init(&a, &p->cfg->rules[0], 7);
  struct alarm_transition tr = {.event = ALARM_EV_ACTIVATE, .from = ALARM_NORMAL, .to = ALARM_UNACK,
                                .stage = 0, .priority = DG_PRIO_HIGH, .value = 26.5, .ts_ms = 1700000000000};
  struct hazard_change hc = {.kind = HAZARD_OPEN, .hazard_id = 3, .code = "YH-1"};
  struct notify_msg *list = NULL;
  message_alarm_build(p->notify, p->cfg, &a, &tr, &hc, 11, &list);

  struct notify_msg *hook = find(list, "hook"), *pager = find(list, "pager");
  assert_non_null(hook);
  assert_non_null(pager);
  assert_null(find(list, "night"));
  size_t n = 0;
  for (struct notify_msg *m = list; m; m = m->next) n++;
  assert_int_equal(n, 2); /* hook once, though two policies name it */
  assert_ptr_not_equal(hook->body, pager->body);
  assert_string_equal(hook->body, pager->body);
  assert_string_equal(hook->ref, "alarm:7:journal:11");
  cJSON *body = cJSON_Parse(pager->body);
  assert_non_null(body);
  const cJSON *alarm = cJSON_GetObjectItem(body, "alarm");
  assert_string_equal(cJSON_GetObjectItem(alarm, "rule")->valuestring, "R1");
  assert_string_equal(cJSON_GetObjectItem(alarm, "priority")->valuestring, "high");
  assert_true(cJSON_GetObjectItem(alarm, "value")->valuedouble == 26.5);
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(body, "hazard"), "code")->valuestring, "YH-1");
  cJSON_Delete(body);
  notify_msg_free_list(list);
  alarm_release(&a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_prestate_setup_teardown(test_one_body_per_channel, plant_setup, plant_teardown, (void *)yaml),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
