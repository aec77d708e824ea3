/* esc_config: the escalation section — channels of every type with secrets from files and the
 * environment, tiered policies, rotas — and its errors at file:line:column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "esc_config.h"

#define HEAD                                                                                       \
  "site: { code: S1, name: 站 }\n"                                                                 \
  "persons:\n"                                                                                     \
  "  - { id: zhang, phone: '+8613800000001', dingtalk: '13800000001', roles: [operator] }\n"       \
  "  - { id: li, email: li@example.com, wecom: li01, feishu: ou_li, roles: [workshop_director] }\n"\
  "channels:\n"                                                                                    \
  "  - { id: hook, type: webhook, url: 'http://127.0.0.1:1/x' }\n"

static struct dg_config *load(const char *body, int want, char *err, size_t len)
{
  char yaml[8192];
  snprintf(yaml, sizeof yaml, "%s%s", HEAD, body);
  struct dg_config *c = NULL;
  err[0] = '\0';
  int rc = config_load_string("t.yaml", yaml, strlen(yaml), &c, err, len);
  if (rc != want) print_error("rc %d: %s\n", rc, err);
  assert_int_equal(rc, want);
  return c;
}

static void test_full_section(void **state)
{
  (void)state;
  char secret_path[] = "/tmp/dg-esc-secretXXXXXX", err[512];
  int fd = mkstemp(secret_path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "SECfile\n", 8), 8);
  close(fd);
  setenv("DG_TEST_FEISHU_SECRET", "SECenv", 1);
  char body[4096];
  snprintf(body, sizeof body,
           "escalation:\n"
           "  language: en\n"
           "  dashboard_url: http://127.0.0.1:8080\n"
           "  quiet_hours: { from: '22:00', to: '07:00' }\n"
           "  channels:\n"
           "    - { id: ding, type: dingtalk, url: 'http://127.0.0.1:2/robot/send?access_token=T', secret_file: %s }\n"
           "    - { id: fs, type: feishu, url: 'http://127.0.0.1:2/open-apis/bot/v2/hook/ID', secret_env: DG_TEST_FEISHU_SECRET }\n"
           "    - { id: mail, type: smtp, url: 'smtp://127.0.0.1:25', from: dg@example.com, tls: true }\n"
           "    - { id: sms, type: sms, url: 'http://127.0.0.1:3/sms', template: SMS_1, body_template: '{\"to\":\"{{phone}}\"}' }\n"
           "    - { id: call, type: voice, url: 'http://127.0.0.1:3/call', body_template: x, fallback: sms, per_number_per_min: 1 }\n"
           "  rotas:\n"
           "    - id: night\n"
           "      handover: '08:30'\n"
           "      start: 2026-12-01\n"
           "      persons: [zhang, li]\n"
           "      overrides: [{ person: li, covers: zhang, from: '2026-12-03 20:00', to: '2026-12-04 08:30' }]\n"
           "  policies:\n"
           "    - id: gas\n"
           "      events: [alarm_activate, alarm_escalate]\n"
           "      priorities: [high, critical]\n"
           "      repeat_last: true\n"
           "      tiers:\n"
           "        - { roles: [operator], responsible: [unit], channels: [ding, hook], timeout: 5m, renotify: 2m }\n"
           "        - { persons: [li], rota: night, channels: [mail, call], timeout: 10m }\n"
           "      stages: { HH: 2 }\n",
           secret_path);
  struct dg_config *c = load(body, 0, err, sizeof err);
  unlink(secret_path);
  struct esc_config *e = c->esc;
  assert_non_null(e);
  assert_int_equal(e->lang, ESC_LANG_EN);
  assert_int_equal(e->quiet_from_min, 22 * 60);
  assert_int_equal(e->n_channels, 5);
  struct dg_channel *ding = dg_config_channel(c, "ding");
  assert_ptr_equal(ding, &e->channels[0]);
  assert_int_equal(ding->type, DG_CHANNEL_DINGTALK);
  assert_string_equal(ding->secret, "SECfile");
  assert_int_equal(ding->rate_per_min, 20);
  assert_string_equal(dg_config_channel(c, "fs")->secret, "SECenv");
  assert_true(dg_config_channel(c, "mail")->tls);
  assert_ptr_equal(dg_config_channel(c, "call")->fallback, dg_config_channel(c, "sms"));
  assert_string_equal(c->persons[0].dingtalk, "13800000001");
  assert_string_equal(c->persons[1].feishu, "ou_li");
  struct esc_rota *r = esc_config_rota(e, "night");
  assert_int_equal(r->handover_min, 8 * 60 + 30);
  assert_int_equal(r->utc_offset_min, 480);
  assert_int_equal(r->n_overrides, 1);
  assert_ptr_equal(r->overrides[0].covers, &c->persons[0]);
  /* 2026-12-03 20:00 +08:00 = 12:00 UTC */
  assert_true(r->overrides[0].from_ms == 1796299200000LL);
  struct esc_policy *p = &e->policies[0];
  assert_int_equal(p->n_tiers, 2);
  assert_int_equal(p->event_mask, (1u << ESC_EV_ALARM_ACTIVATE) | (1u << ESC_EV_ALARM_ESCALATE));
  assert_int_equal(p->priority_mask, (1u << DG_PRIO_HIGH) | (1u << DG_PRIO_CRITICAL));
  assert_int_equal(p->tiers[0].timeout_s, 300);
  assert_int_equal(p->tiers[0].responsible, ESC_RESP_UNIT);
  assert_ptr_equal(p->tiers[0].channels[1], dg_config_channel(c, "hook"));
  assert_ptr_equal(p->tiers[1].rota, r);
  assert_int_equal(p->n_stages, 1);
  assert_int_equal(p->stages[0].tier, 1);
  config_free(c);
}

static void expect_error(const char *body, const char *want)
{
  char err[512];
  struct dg_config *c = load(body, -EINVAL, err, sizeof err);
  assert_null(c);
  if (!strstr(err, want)) print_error("got: %s\nwant: %s\n", err, want);
  assert_non_null(strstr(err, want));
}

static void test_errors(void **state)
{
  (void)state;
  expect_error("escalation:\n  channels:\n    - { id: d, type: dingtlk, url: 'http://x/' }\n",
               "t.yaml:9:22: escalation.channels[0].type: expected one of webhook, dingtalk");
  expect_error("escalation:\n  policies:\n    - id: p\n      events: [alarm_activate]\n      tiers:\n"
               "        - { persons: [nobody], channels: [hook] }\n",
               "t.yaml:12:23: escalation.policies[0].tiers[0].persons[0]: unknown person 'nobody'");
  expect_error("escalation:\n  policies:\n    - id: p\n      events: [alarm_activate]\n      tiers:\n"
               "        - { roles: [operator], channels: [nope] }\n",
               "escalation.policies[0].tiers[0].channels[0]: unknown channel 'nope'");
  expect_error("escalation:\n  channels:\n    - { id: d, type: dingtalk, url: 'http://x/', secret_env: DG_UNSET_XYZ }\n",
               "escalation.channels[0].secret_env: environment variable 'DG_UNSET_XYZ' is not set");
  expect_error("escalation:\n  channels:\n    - { id: hook, type: wecom, url: 'http://x/' }\n",
               "escalation.channels[0].id: duplicate channel id 'hook'");
  expect_error("escalation:\n  rotas:\n    - { id: r, start: 2026-13-01, persons: [li] }\n",
               "t.yaml:9:23: escalation.rotas[0].start: expected a date");
  expect_error("escalation:\n  policies:\n    - id: p\n      events: [alarm_activate]\n      tiers:\n"
               "        - { roles: [operator], channels: [hook] }\n      stages: { HH: 3 }\n",
               "expected an integer from 1 to 1, got '3'");
  expect_error("escalation:\n  colour: red\n", "t.yaml:8:3: escalation: unknown key 'colour'");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_full_section),
    cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
