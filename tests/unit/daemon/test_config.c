/* config: the demo plant, malformed files with exact positions, risk bands, a large plant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "workcal.h"

#define DATA_DIR DG_TEST_DATA "/config/"

static struct dg_config *load_ok(const char *path)
{
  char err[512] = "";
  struct dg_config *c = NULL;
  int rc = config_load(path, &c, err, sizeof err);
  if (rc) print_error("%s\n", err);
  assert_int_equal(rc, 0);
  assert_non_null(c);
  return c;
}

static struct dg_config *load_str(const char *yaml, int want_rc, char *err, size_t errlen)
{
  struct dg_config *c = NULL;
  int rc = config_load_string("t.yaml", yaml, strlen(yaml), &c, err, errlen);
  if (rc != want_rc) print_error("rc %d: %s\nfor:\n%s\n", rc, err, yaml);
  assert_int_equal(rc, want_rc);
  if (want_rc) assert_null(c);
  else assert_non_null(c);
  return c;
}

static void test_demo_plant(void **state)
{
  struct dg_config *c = load_ok(DG_SOURCE_DIR "/examples/demo-plant.yaml");

  assert_string_equal(c->site_code, "410700-0001");
  assert_string_equal(c->site_name, "某化工储运公司液氨罐区");
  assert_string_equal(c->http_listen, "127.0.0.1");
  assert_int_equal(c->http_port, 8080);
  assert_string_equal(c->db_path, "dualguard-demo.db");
  assert_int_equal(c->history_flush_ms, 1000);
  assert_int_equal(c->hazard_deadline_days, 7);

  assert_int_equal(c->n_persons, 4);
  assert_int_equal(c->n_principal_delegates, 1);
  assert_string_equal(c->principal_delegates[0]->id, "wang");
  assert_string_equal(c->persons[0].id, "zhang");
  assert_string_equal(c->persons[0].phone, "+8613800000001");
  assert_int_equal(c->persons[1].n_roles, 1);
  assert_string_equal(c->persons[1].roles[0], "workshop_director");
  assert_null(c->persons[2].email);

  assert_int_equal(c->n_sources, 1);
  struct dg_hazard_source *hs = &c->sources[0];
  assert_string_equal(hs->id, "HS01");
  assert_string_equal(hs->type, "储罐");
  assert_true(hs->is_major);
  assert_int_equal(hs->major_grade, 2);
  assert_int_equal(hs->n_units, 2);

  struct dg_unit *u1 = &hs->units[0], *u2 = &hs->units[1];
  assert_string_equal(u1->dept, "储运车间");
  assert_string_equal(u1->person, "li");
  assert_int_equal(u1->level, DG_LEVEL_RED); /* E01: 3·6·40 = 720 */
  assert_int_equal(u2->level, DG_LEVEL_YELLOW); /* E04: 3·3·15 = 135 */
  assert_int_equal(u1->n_events, 3);
  struct dg_event *e1 = &u1->events[0], *e2 = &u1->events[1], *e3 = &u1->events[2];
  assert_int_equal(e1->method, DG_ASSESS_LEC);
  assert_true(e1->score == 720);
  assert_int_equal(e1->level, DG_LEVEL_RED);
  assert_string_equal(e1->accident_type, "中毒和窒息");
  assert_int_equal(e2->level, DG_LEVEL_ORANGE);
  assert_int_equal(e3->method, DG_ASSESS_LS);
  assert_true(e3->l == 2 && e3->s == 4 && e3->score == 8);
  assert_int_equal(e3->level, DG_LEVEL_BLUE);

  struct dg_measure *m1 = &e1->measures[0], *m2 = &e1->measures[1];
  assert_string_equal(m1->id, "M01");
  assert_int_equal(m1->classify1, 1);
  assert_string_equal(m1->classify2, "1-4");
  assert_int_equal(m1->data_src, 1);
  assert_string_equal(m1->control_level, "班组");
  assert_null(m1->troubleshoot);
  assert_int_equal(m2->classify1, 3);
  assert_int_equal(m2->data_src, 2);
  /* back pointers */
  assert_ptr_equal(m1->event, e1);
  assert_ptr_equal(e3->measures[0].event, e3);
  assert_ptr_equal(e1->unit, u1);
  assert_ptr_equal(u2->events[0].unit, u2);
  assert_ptr_equal(u1->source, hs);

  assert_int_equal(c->n_mqtt_brokers, 1);
  assert_string_equal(c->mqtt_brokers[0].uri, "tcp://127.0.0.1:1883");
  assert_string_equal(c->mqtt_brokers[0].client_id, "dualguardd-demo");
  assert_int_equal(c->mqtt_brokers[0].qos, 1);
  assert_int_equal(c->mqtt_brokers[0].keepalive_s, 30);
  assert_true(c->mqtt_brokers[0].clean_session);
  assert_null(c->mqtt_brokers[0].username);

  assert_int_equal(c->n_points, 5);
  struct dg_point *gt101 = &c->points[0], *pt101 = &c->points[3], *tt101 = &c->points[4];
  assert_string_equal(gt101->eng_unit, "%LEL");
  assert_string_equal(gt101->unit_id, "U01");
  assert_string_equal(gt101->mqtt.topic, "plant/tankfarm/gt101");
  assert_string_equal(gt101->mqtt.ts_path, "ts");
  assert_int_equal(gt101->driver_kind, DG_DRIVER_MQTT);
  assert_string_equal(gt101->driver_id, "main");
  assert_int_equal(gt101->driver_index, 0);
  assert_string_equal(pt101->id, "PT101");
  assert_string_equal(pt101->mqtt.path, "data.pressure");
  assert_int_equal(pt101->index, 3);
  assert_null(tt101->mqtt.path);
  assert_string_equal(tt101->eng_unit, "°C");
  assert_true(tt101->scale == 1 && tt101->offset == 0 && tt101->deadband == 0);

  assert_int_equal(c->n_rules, 5);
  struct dg_rule *r0 = &c->rules[0], *r2 = &c->rules[2], *r4 = &c->rules[4];
  assert_string_equal(r0->id, "R-GT101-H");
  assert_string_equal(r0->name, "1#罐区氨气浓度高");
  assert_int_equal(r0->type, DG_RULE_HIGH);
  assert_ptr_equal(r0->point, gt101);
  assert_ptr_equal(r0->measure, m1);
  assert_int_equal(r0->n_stages, 2);
  assert_string_equal(r0->stages[0].name, "H");
  assert_true(r0->stages[0].limit == 25);
  assert_int_equal(r0->stages[0].priority, DG_PRIO_HIGH);
  assert_string_equal(r0->stages[1].name, "HH");
  assert_true(r0->stages[1].limit == 50);
  assert_int_equal(r0->stages[1].priority, DG_PRIO_CRITICAL);
  assert_true(r0->deadband == 2);
  assert_int_equal(r0->on_delay_ms, 500);
  assert_int_equal(r0->off_delay_ms, 0);
  assert_int_equal(r0->hazard_level, -1);
  assert_int_equal(r0->hazard_deadline_days, 0);
  assert_int_equal(r2->on_delay_ms, 3000);
  assert_int_equal(r2->hazard_level, 1);
  assert_true(r2->stages[0].limit == 1.6 && r2->deadband == 0.05);
  assert_null(c->rules[1].name);
  assert_int_equal(r4->type, DG_RULE_LOW);
  assert_null(r4->measure);
  assert_int_equal(r4->off_delay_ms, 5000);
  assert_int_equal(r4->stages[0].priority, DG_PRIO_LOW);
  assert_int_equal(r4->index, 4);

  assert_int_equal(c->n_channels, 1);
  assert_int_equal(c->channels[0].type, DG_CHANNEL_WEBHOOK);
  assert_string_equal(c->channels[0].url, "http://127.0.0.1:8090/hook");
  assert_int_equal(c->channels[0].timeout_ms, 5000);
  assert_int_equal(c->channels[0].expire_s, 86400);
  assert_int_equal(c->n_policies, 1);
  assert_int_equal(c->policies[0].priority_mask, (1u << DG_PRIO_LOW) | (1u << DG_PRIO_MEDIUM) |
                                                     (1u << DG_PRIO_HIGH) | (1u << DG_PRIO_CRITICAL));
  assert_int_equal(c->policies[0].n_channels, 1);
  assert_ptr_equal(c->policies[0].channels[0], &c->channels[0]);

  assert_ptr_equal(dg_config_point(c, "LT101"), &c->points[2]);
  assert_ptr_equal(dg_config_measure(c, "M04"), &e3->measures[0]);
  assert_ptr_equal(dg_config_unit(c, "U02"), u2);
  assert_ptr_equal(dg_config_person(c, "li"), &c->persons[1]);
  assert_ptr_equal(dg_config_channel(c, "control-room"), &c->channels[0]);
  assert_null(dg_config_point(c, "GT109"));
  assert_null(dg_config_measure(c, "M99"));
  config_free(c);
}

static void test_defaults(void **state)
{
  struct dg_config *c = load_ok(DATA_DIR "minimal.yaml");
  assert_string_equal(c->site_code, "T1");
  assert_null(c->site_name);
  assert_string_equal(c->http_listen, "127.0.0.1");
  assert_int_equal(c->http_port, 8080);
  assert_string_equal(c->db_path, "dualguard.db");
  assert_int_equal(c->history_flush_ms, 1000);
  assert_int_equal(c->hazard_deadline_days, 7);
  assert_false(c->review_reports);
  assert_null(c->attachments_dir);
  assert_int_equal(c->n_points + c->n_rules + c->n_sources + c->n_persons, 0);
  assert_string_equal(c->path, DATA_DIR "minimal.yaml");
  config_free(c);
}

static void test_modbus_bindings(void **state)
{
  struct dg_config *c = load_ok(DATA_DIR "modbus.yaml");
  assert_int_equal(c->http_port, 0);
  assert_int_equal(c->history_flush_ms, 500);

  assert_int_equal(c->n_modbus_buses, 3);
  struct dg_modbus_bus *tcp = &c->modbus_buses[0], *rtu = &c->modbus_buses[1], *gw = &c->modbus_buses[2];
  assert_int_equal(tcp->transport, DG_MB_TCP);
  assert_string_equal(tcp->host, "127.0.0.1");
  assert_int_equal(tcp->port, 502);
  assert_int_equal(tcp->baud, 9600);
  assert_int_equal(tcp->parity, 'N');
  assert_int_equal(tcp->data_bits, 8);
  assert_int_equal(tcp->stop_bits, 1);
  assert_false(tcp->rs485);
  assert_int_equal(tcp->response_timeout_ms, 1000);
  assert_int_equal(tcp->byte_timeout_ms, 500);
  assert_int_equal(tcp->poll_interval_ms, 1000);
  assert_int_equal(tcp->request_pause_ms, 0);
  assert_int_equal(tcp->max_gap, 8);
  assert_int_equal(tcp->fail_threshold, 3);
  assert_int_equal(tcp->reconnect_max_ms, 30000);

  assert_int_equal(rtu->transport, DG_MB_RTU);
  assert_string_equal(rtu->device, "/dev/ttyS1");
  assert_null(rtu->host);
  assert_int_equal(rtu->baud, 19200);
  assert_int_equal(rtu->parity, 'E');
  assert_int_equal(rtu->stop_bits, 2);
  assert_true(rtu->rs485);
  assert_int_equal(rtu->response_timeout_ms, 250);
  assert_int_equal(rtu->byte_timeout_ms, 50);
  assert_int_equal(rtu->poll_interval_ms, 2000);
  assert_int_equal(rtu->request_pause_ms, 20);
  assert_int_equal(rtu->max_gap, 4);
  assert_int_equal(rtu->fail_threshold, 5);
  assert_int_equal(rtu->reconnect_max_ms, 60000);
  assert_int_equal(gw->transport, DG_MB_RTU_OVER_TCP);
  assert_int_equal(gw->port, 4001);

  struct dg_mqtt_broker *b = &c->mqtt_brokers[0];
  assert_int_equal(b->qos, 0);
  assert_int_equal(b->keepalive_s, 60);
  assert_false(b->clean_session);
  assert_string_equal(b->password, "p");
  assert_string_equal(b->client_id, "dualguardd-edge");

  struct dg_point *lt = &c->points[0];
  assert_int_equal(lt->driver_kind, DG_DRIVER_MODBUS);
  assert_int_equal(lt->driver_index, 0);
  assert_int_equal(lt->modbus.slave, 1);
  assert_int_equal(lt->modbus.space, DG_MB_HOLDING);
  assert_int_equal(lt->modbus.address, 100);
  assert_int_equal(lt->modbus.type, DG_MB_FLOAT32);
  assert_string_equal(lt->modbus.order, "CDAB");
  assert_int_equal(lt->modbus.bit, -1);
  assert_int_equal(lt->modbus.poll_ms, 0);
  assert_true(lt->scale == 0.1 && lt->offset == -5 && lt->deadband == 0.5);

  struct dg_point *xs1 = &c->points[1], *xs2 = &c->points[2], *xs3 = &c->points[3], *ft1 = &c->points[4];
  assert_int_equal(xs1->driver_index, 1);
  assert_int_equal(xs1->modbus.slave, 3);
  assert_int_equal(xs1->modbus.space, DG_MB_COIL);
  assert_int_equal(xs1->modbus.type, DG_MB_BOOL);
  assert_int_equal(xs2->modbus.space, DG_MB_DISCRETE);
  assert_int_equal(xs2->modbus.address, 65535);
  assert_int_equal(xs2->modbus.poll_ms, 250);
  assert_int_equal(xs3->driver_index, 2);
  assert_int_equal(xs3->modbus.space, DG_MB_INPUT);
  assert_int_equal(xs3->modbus.type, DG_MB_UINT16);
  assert_int_equal(xs3->modbus.bit, 15);
  assert_string_equal(ft1->modbus.order, "ABCD");
  assert_null(ft1->mqtt.topic);

  struct dg_point *mq = &c->points[5];
  assert_int_equal(mq->driver_kind, DG_DRIVER_MQTT);
  assert_string_equal(mq->mqtt.path, "$.value");
  config_free(c);
}

struct bad_case {
  const char *file;
  int line, col;
  const char *what;
};

static const struct bad_case bad_cases[] = {
  {"bad-unknown-top.yaml", 2, 1, "unknown key 'sitee' (expected one of: site, daemon, persons,"},
  {"bad-unknown-nested.yaml", 5, 5, "daemon.http: unknown key 'prot' (expected one of: listen, port, max_connections"},
  {"bad-wrong-type.yaml", 3, 17, "daemon.http.port: expected a number, got 'eighty'"},
  {"bad-http-tls-half.yaml", 4, 5, "daemon.http: tls_cert and tls_key: expected both"},
  {"bad-wrong-type-mapping.yaml", 2, 9, "daemon: expected a mapping"},
  {"bad-missing-key.yaml", 5, 5, "points[0]: missing required key 'driver'"},
  {"bad-site-code.yaml", 1, 7, "site: missing required key 'code'"},
  {"bad-dup-point.yaml", 7, 11, "points[2].id: duplicate point id 'GT101'"},
  {"bad-dup-measure.yaml", 12, 61, "measures[0].id: duplicate measure id 'M01'"},
  {"bad-dup-key.yaml", 6, 5, "mqtt[0]: duplicate key 'qos'"},
  {"bad-rule-point.yaml", 9, 12, "rules[0].point: unknown point 'GT109'"},
  {"bad-rule-measure.yaml", 15, 50, "rules[0].measure: unknown measure 'M09'"},
  {"bad-point-broker.yaml", 5, 26, "points[0].driver: unknown MQTT broker 'mian'"},
  {"bad-point-unit.yaml", 5, 58, "points[0].unit_id: unknown unit 'U404'"},
  {"bad-unit-person.yaml", 7, 54, "units[0].responsible.person: unknown person 'zhao'"},
  {"bad-duration.yaml", 11, 15, "rules[0].on_delay: expected a duration like 500ms, 2s, 5m, 24h or 7d, got '2sec'"},
  {"bad-stages-order.yaml", 12, 28, "rules[0].stages[1].limit: limits of a high rule must ascend strictly"},
  {"bad-stages-low-order.yaml", 12, 28, "rules[0].stages[1].limit: limits of a low rule must descend strictly"},
  {"bad-lec-ls.yaml", 9, 13, "events[0]: both 'lec' and 'ls' given"},
  {"bad-no-assessment.yaml", 7, 13, "events[0]: missing risk assessment"},
  {"bad-lec-factor.yaml", 8, 29, "lec.e: 4 is not in the LEC table (expected one of 10, 6, 3, 2, 1, 0.5)"},
  {"bad-ls-range.yaml", 7, 38, "ls.s: expected an integer from 1 to 5, got '6'"},
  {"bad-emergency-step.yaml", 11, 17, "events[0].emergency[1]: expected a line of text"},
  {"bad-emergency-list.yaml", 7, 62, "events[0].emergency: expected a sequence"},
  {"bad-post-duty.yaml", 8, 42, "posts[0].duties[1]: expected a line of text, not an empty one"},
  {"bad-classify.yaml", 7, 98, "measures[0].classify: expected a classification of the national list"},
  {"bad-classify-closed.yaml", 7, 98, "measures[0].classify: expected a classification of the national list"},
  {"bad-national-credit.yaml", 4, 16, "national.credit_code: check character is '4', expected '3' (GB 32100)"},
  {"bad-national-company.yaml", 2, 28, "national.company_code: expected the 9-digit enterprise code, got '32050012'"},
  {"bad-national-troubleshoot.yaml", 8, 63, "measures[0]: expected troubleshoot (troubleshootContent"},
  {"bad-national-hazard-code.yaml", 5, 19, "national.hazard_codes: unknown hazard source"},
  {"bad-priority.yaml", 10, 47, "rules[0].stages[0].priority: expected one of low, medium, high, critical, got 'urgent'"},
  {"bad-syntax.yaml", 4, 6, "missing comma in flow mapping"},
  {"bad-two-documents.yaml", 2, 1, "only one YAML document is allowed"},
  {"bad-alias.yaml", 2, 10, "aliases are not supported"},
  {"bad-empty.yaml", 1, 1, "empty configuration"},
  {"bad-modbus-two-spaces.yaml", 8, 5, "points[0]: both 'holding' and 'input' given"},
  {"bad-modbus-no-space.yaml", 5, 5, "points[0]: missing register address: one of coil, discrete, input, holding"},
  {"bad-modbus-bit-type.yaml", 5, 66, "points[0]: key 'bit' needs a 16-bit type"},
  {"bad-modbus-serial-key.yaml", 3, 50, "modbus[0]: key 'baud' is only valid for transport rtu"},
  {"bad-mqtt-key-on-modbus.yaml", 5, 51, "points[0]: key 'topic' is only valid for mqtt points"},
  {"bad-policy-channel.yaml", 5, 71, "policies[0].channels[1]: unknown channel 'pager'"},
  {"bad-utf8-directive.yaml", 1, 6, "invalid UTF-8 byte 0xd4"},
  {"bad-tab-in-explicit-key.yaml", 2, 5, "cannot use tab for indentation of block entry"},
  {"bad-calendar-date.yaml", 3, 29, "calendar.holidays[1]: expected a date \"YYYY-MM-DD\" (1970 or later), got '2026-02-29'"},
  {"bad-calendar-clash.yaml", 5, 29, "calendar.workdays[1]: date 2026-10-02 is also listed in holidays"},
  {"bad-calendar-weekday.yaml", 3, 18, "calendar.weekend[1]: expected a weekday name (sun, mon, tue, wed, thu, fri, sat), got 'sunday'"},
  {"bad-check-cycle.yaml", 10, 68, "measures[0].check_cycle.unit: expected one of 小时, 天, 月, 年, hour, day, month, year, got 'week'"},
  {"bad-ledger-bool.yaml", 3, 19, "ledger.review_reports: expected true or false, got 'yes'"},
  {"bad-ledger-key.yaml", 4, 3, "ledger: unknown key 'attachment_dir' (expected one of: review_reports, attachments_dir, upload_quota, principal_delegates)"},
  {"bad-ledger-dir.yaml", 2, 29, "ledger.attachments_dir: expected a directory path, got ''"},
};

static void test_inspection_schedule(void **state)
{
  (void)state;
  char err[512] = "";
  static const char yaml[] =
    "site: { code: T1 }\n"
    "calendar:\n"
    "  weekend: [sun]\n"
    "  holidays: [\"2026-10-02\", \"2026-10-01\"]\n"
    "  workdays: [\"2026-10-11\"]\n"
    "hazard_sources:\n"
    "  - id: HS1\n"
    "    units:\n"
    "      - id: U1\n"
    "        events:\n"
    "          - id: E1\n"
    "            lec: { l: 3, e: 6, c: 40 }\n"
    "            measures:\n"
    "              - { id: M01, data_src: 1, check_cycle: { n: 8, unit: 小时 }, work_days: true }\n"
    "              - { id: M02, data_src: 2, check_cycle: { n: 2, unit: month } }\n"
    "              - { id: M03, data_src: 2 }\n";
  struct dg_config *c = load_str(yaml, 0, err, sizeof err);
  const struct dg_measure *m = c->sources[0].units[0].events[0].measures;
  assert_true(m[0].cycle_n == 8 && m[0].cycle_unit == 1 && m[0].work_days);
  assert_true(m[1].cycle_n == 2 && m[1].cycle_unit == 3 && !m[1].work_days);
  assert_true(m[2].cycle_n == 0 && m[2].cycle_unit == 0); /* by level */
  assert_int_equal(c->calendar.weekend_mask, 1u << 0);
  assert_int_equal(c->calendar.n_holidays, 2);
  assert_int_equal(c->calendar.holidays[0], workcal_from_civil(2026, 10, 1)); /* sorted */
  assert_true(workcal_is_workday(&c->calendar, workcal_from_civil(2026, 10, 3))); /* a Saturday */
  assert_true(workcal_is_workday(&c->calendar, workcal_from_civil(2026, 10, 11))); /* make-up Sunday */
  assert_false(workcal_is_workday(&c->calendar, workcal_from_civil(2026, 10, 2)));
  config_free(c);

  /* Without a calendar: Saturday and Sunday off, no holidays. */
  c = load_str("site: { code: T1 }\ncalendar: { weekend: [] }\n", 0, err, sizeof err);
  assert_int_equal(c->calendar.weekend_mask, 0);
  config_free(c);
  c = load_str("site: { code: T1 }\n", 0, err, sizeof err);
  assert_int_equal(c->calendar.weekend_mask, WORKCAL_DEFAULT_WEEKEND);
  assert_int_equal(c->calendar.n_holidays, 0);
  config_free(c);

  load_str("site: { code: T1 }\ncalendar: { holidays: [\"2026-10-01\", \"2026-10-01\"] }\n", -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "t.yaml:2:39: calendar.holidays[1]: date 2026-10-01 is listed twice"));
  load_str("site: { code: T1 }\nhazard_sources: [ { id: HS1, units: [ { id: U1, events: [ { id: E1, ls: { l: 1, s: 1 },"
           " measures: [ { id: M1, data_src: 2, check_cycle: { n: 0, unit: 天 } } ] } ] } ] } ]\n", -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "check_cycle.n: expected an integer from 1 to 1000, got '0'"));
}

static void test_bad_files(void **state)
{
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    const struct bad_case *bc = &bad_cases[i];
    char path[512], prefix[600], err[512] = "";
    struct dg_config sentinel, *c = &sentinel; /* a failed load must reset it to NULL */
    snprintf(path, sizeof path, DATA_DIR "%s", bc->file);
    snprintf(prefix, sizeof prefix, "%s:%d:%d: ", path, bc->line, bc->col);
    int rc = config_load(path, &c, err, sizeof err);
    if (rc != -EINVAL || strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, bc->what))
      print_error("case %s\n  got:  %s\n  want: %s... %s\n", bc->file, err, prefix, bc->what);
    assert_int_equal(rc, -EINVAL);
    assert_null(c);
    assert_int_equal(strncmp(err, prefix, strlen(prefix)), 0);
    assert_non_null(strstr(err, bc->what));
    assert_null(strchr(err, '\n'));
  }
}

static void test_ledger_section(void **state)
{
  char err[512] = "";
  struct dg_config *c =
    load_str("site: { code: T1 }\nledger: { review_reports: true, attachments_dir: /srv/dg/photos }\n", 0, err,
             sizeof err);
  assert_true(c->review_reports);
  assert_string_equal(c->attachments_dir, "/srv/dg/photos");
  assert_int_equal(c->upload_person_day_mib, 256);
  assert_int_equal(c->upload_total_mib, 4096);
  config_free(c);
  c = load_str("site: { code: T1 }\nledger: { upload_quota: { per_person_day_mib: 10, total_mib: 100 } }\n", 0, err,
               sizeof err);
  assert_int_equal(c->upload_person_day_mib, 10);
  assert_int_equal(c->upload_total_mib, 100);
  config_free(c);
  load_str("site: { code: T1 }\nledger: { upload_quota: { total_mib: 0 } }\n", -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "ledger.upload_quota.total_mib"));
  c = load_str("site: { code: T1 }\nledger: { review_reports: false }\n", 0, err, sizeof err);
  assert_false(c->review_reports);
  assert_null(c->attachments_dir);
  assert_int_equal(c->n_principal_delegates, 0);
  config_free(c);
  /* The principal's delegates are configured persons. */
  c = load_str("site: { code: T1 }\npersons: [ { id: a }, { id: b } ]\nledger: { principal_delegates: [b] }\n", 0, err,
               sizeof err);
  assert_int_equal(c->n_principal_delegates, 1);
  assert_ptr_equal(c->principal_delegates[0], &c->persons[1]);
  config_free(c);
  load_str("site: { code: T1 }\npersons: [ { id: a } ]\nledger: { principal_delegates: [a, zz] }\n", -EINVAL, err,
           sizeof err);
  assert_non_null(strstr(err, "t.yaml:3:36: ledger.principal_delegates[1]: unknown person 'zz'"));
}

static void test_io_errors(void **state)
{
  char err[256];
  struct dg_config *c = NULL;
  assert_int_equal(config_load(DATA_DIR "does-not-exist.yaml", &c, err, sizeof err), -ENOENT);
  assert_null(c);
  assert_string_equal(err, DATA_DIR "does-not-exist.yaml: No such file or directory");
}

static void test_level_bands(void **state)
{
  assert_int_equal(dg_level_from_lec(720, NULL), DG_LEVEL_RED);
  assert_int_equal(dg_level_from_lec(320.0001, NULL), DG_LEVEL_RED);
  assert_int_equal(dg_level_from_lec(320, NULL), DG_LEVEL_ORANGE);
  assert_int_equal(dg_level_from_lec(160.5, NULL), DG_LEVEL_ORANGE);
  assert_int_equal(dg_level_from_lec(160, NULL), DG_LEVEL_YELLOW);
  assert_int_equal(dg_level_from_lec(70.01, NULL), DG_LEVEL_YELLOW);
  assert_int_equal(dg_level_from_lec(70, NULL), DG_LEVEL_BLUE);
  assert_int_equal(dg_level_from_lec(0.1, NULL), DG_LEVEL_BLUE);

  assert_int_equal(dg_level_from_ls(25, NULL), DG_LEVEL_RED);
  assert_int_equal(dg_level_from_ls(20, NULL), DG_LEVEL_RED);
  assert_int_equal(dg_level_from_ls(19, NULL), DG_LEVEL_ORANGE);
  assert_int_equal(dg_level_from_ls(15, NULL), DG_LEVEL_ORANGE);
  assert_int_equal(dg_level_from_ls(14, NULL), DG_LEVEL_YELLOW);
  assert_int_equal(dg_level_from_ls(9, NULL), DG_LEVEL_YELLOW);
  assert_int_equal(dg_level_from_ls(8, NULL), DG_LEVEL_BLUE);
  assert_int_equal(dg_level_from_ls(1, NULL), DG_LEVEL_BLUE);

  /* through the loader: 1·6·40 = 240 orange, 4·5 = 20 red, 0.1·0.5·1 = 0.05 blue */
  char err[512] = "";
  struct dg_config *c = load_str("site: {code: x}\nhazard_sources:\n - id: S\n   units:\n"
                                 "   - id: U\n     events:\n"
                                 "     - {id: A, lec: {l: 1, e: 6, c: 40}}\n"
                                 "     - {id: B, ls: {l: 4, s: 5}}\n"
                                 "     - {id: C, lec: {l: 0.1, e: 0.5, c: 1}}\n",
                                 0, err, sizeof err);
  struct dg_unit *u = &c->sources[0].units[0];
  assert_int_equal(u->events[0].level, DG_LEVEL_ORANGE);
  assert_int_equal(u->events[1].level, DG_LEVEL_RED);
  assert_true(u->events[2].score > 0.0499 && u->events[2].score < 0.0501);
  assert_int_equal(u->events[2].level, DG_LEVEL_BLUE);
  assert_int_equal(u->level, DG_LEVEL_RED);
  config_free(c);
}

/* risk_bands moves the edges: with LEC {100, 200, 400}, D = 240 is orange and 400 is orange
 * (the red edge is exclusive), with LS {5, 10, 16} R = 16 is red and 15 orange. */
static void test_configured_bands(void **state)
{
  char err[512] = "";
  struct dg_config *c = load_str("site: {code: x}\n"
                                 "risk_bands: {lec: {yellow: 100, orange: 200, red: 400}, ls: {yellow: 5, orange: 10, red: 16}}\n"
                                 "hazard_sources:\n - id: S\n   units:\n   - id: U\n     events:\n"
                                 "     - {id: A, lec: {l: 1, e: 6, c: 40}}\n"
                                 "     - {id: B, lec: {l: 10, e: 1, c: 40}}\n"
                                 "     - {id: C, ls: {l: 4, s: 4}}\n"
                                 "     - {id: D, ls: {l: 3, s: 5}}\n"
                                 "     - {id: E, lec: {l: 1, e: 1, c: 100}}\n",
                                 0, err, sizeof err);
  const struct dg_event *ev = c->sources[0].units[0].events;
  assert_int_equal(ev[0].level, DG_LEVEL_ORANGE); /* 240 */
  assert_int_equal(ev[1].level, DG_LEVEL_ORANGE); /* 400 */
  assert_int_equal(ev[2].level, DG_LEVEL_RED);    /* 16 */
  assert_int_equal(ev[3].level, DG_LEVEL_ORANGE); /* 15 */
  assert_int_equal(ev[4].level, DG_LEVEL_BLUE);   /* 100 */
  assert_true(c->ls_bands.red == 16 && c->lec_bands.yellow == 100);
  config_free(c);

  load_str("site: {code: x}\nrisk_bands:\n  lec: {yellow: 100, orange: 100, red: 400}\n", -EINVAL, err, sizeof err);
  assert_string_equal(err, "t.yaml:3:30: risk_bands.lec.orange: expected a limit above yellow's 100");
  load_str("site: {code: x}\nrisk_bands:\n  ls: {yellow: 5, orange: 10}\n", -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "risk_bands.ls: missing required key 'red'"));
  load_str("site: {code: x}\nrisk_bands:\n  lep: {}\n", -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "risk_bands: unknown key 'lep' (expected one of: lec, ls)"));
}

static void test_unit_hazard_policy(void **state)
{
  char err[512] = "";
  struct dg_config *c = load_str("site: {code: x}\nhazard_sources:\n - id: S\n   units:\n"
                                 "   - {id: U1, hazard_policy: {level: 1, deadline_days: 3}}\n"
                                 "   - {id: U2}\n",
                                 0, err, sizeof err);
  assert_int_equal(c->sources[0].units[0].hazard_level, 1);
  assert_int_equal(c->sources[0].units[0].hazard_deadline_days, 3);
  assert_int_equal(c->sources[0].units[1].hazard_level, -1);
  assert_int_equal(c->sources[0].units[1].hazard_deadline_days, 0);
  config_free(c);
  load_str("site: {code: x}\nhazard_sources:\n - id: S\n   units:\n   - {id: U1, hazard_policy: {level: 2}}\n",
           -EINVAL, err, sizeof err);
  assert_string_equal(err, "t.yaml:5:38: hazard_sources[0].units[0].hazard_policy.level: expected an integer from 0 to 1, got '2'");
}

static void test_measure_control_level_and_responsible(void **state)
{
  char err[512] = "";
  const char *head = "site: {code: x}\npersons: [{id: li}]\nhazard_sources:\n - id: S\n   units:\n   - id: U\n"
                     "     events:\n     - id: E\n       lec: {l: 1, e: 1, c: 1}\n       measures:\n";
  char yaml[1024];
  snprintf(yaml, sizeof yaml, "%s       - {id: M, data_src: 2, control_level: 班组, responsible: {dept: 储运车间, person: li}}\n",
           head);
  struct dg_config *c = load_str(yaml, 0, err, sizeof err);
  const struct dg_measure *m = &c->sources[0].units[0].events[0].measures[0];
  assert_string_equal(m->control_level, "班组");
  assert_string_equal(m->resp_dept, "储运车间");
  assert_string_equal(m->resp_person, "li");
  config_free(c);
  snprintf(yaml, sizeof yaml, "%s       - {id: M, data_src: 2, control_level: 厂级}\n", head);
  load_str(yaml, -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "measures[0].control_level: expected one of 公司, 部门, 车间, 班组, 岗位, got '厂级'"));
  snprintf(yaml, sizeof yaml, "%s       - {id: M, data_src: 2, responsible: {person: wu}}\n", head);
  load_str(yaml, -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "measures[0].responsible.person: unknown person 'wu'"));
}

static void test_names(void **state)
{
  assert_string_equal(dg_level_name(DG_LEVEL_ORANGE), "orange");
  assert_string_equal(dg_level_name_zh(DG_LEVEL_RED), "重大风险");
  assert_string_equal(dg_level_name_zh(DG_LEVEL_BLUE), "低风险");
  assert_int_equal(dg_level_parse("yellow"), DG_LEVEL_YELLOW);
  assert_int_equal(dg_level_parse("较大风险"), DG_LEVEL_ORANGE);
  assert_int_equal(dg_level_parse("purple"), -1);
  assert_string_equal(dg_priority_name(DG_PRIO_CRITICAL), "critical");
  assert_int_equal(dg_priority_parse("medium"), DG_PRIO_MEDIUM);
  assert_int_equal(dg_priority_parse("urgent"), -1);
  assert_int_equal(dg_priority_parse(NULL), -1);
}

static const char rule_head[] = "site: {code: x}\nmqtt: [{id: m, uri: 'tcp://h:1'}]\n"
                                "points: [{id: P, driver: mqtt.m, topic: t}]\n";

/* A state rule: `value` or `change: true`, one implicit stage with the rule's priority. */
static void test_state_rule(void **state)
{
  char yaml[1024], err[512] = "";
  snprintf(yaml, sizeof yaml, "%srules: [{id: ESD, type: state, point: P, value: 1, priority: critical, on_delay: 1s},"
           " {id: CHG, type: state, point: P, change: true, priority: low, off_delay: 30s}]\n", rule_head);
  struct dg_config *c = load_str(yaml, 0, err, sizeof err);
  const struct dg_rule *r = &c->rules[0];
  assert_int_equal(r->type, DG_RULE_STATE);
  assert_false(r->state_change);
  assert_true(r->state_value == 1 && r->n_stages == 1 && r->stages[0].limit == 1);
  assert_string_equal(r->stages[0].name, "state");
  assert_int_equal(r->stages[0].priority, DG_PRIO_CRITICAL);
  r = &c->rules[1];
  assert_true(r->state_change);
  assert_string_equal(r->stages[0].name, "change");
  assert_int_equal(r->off_delay_ms, 30000);
  config_free(c);
  static const struct {
    const char *rule, *what;
  } bad[] = {
    {"{id: S, type: state, point: P, priority: high}", "rules[0]: a state rule needs 'value: <state that alarms>' or 'change: true'"},
    {"{id: S, type: state, point: P, priority: high, value: 1, change: true}", "rules[0].value: a state rule takes 'value' or 'change: true', not both"},
    {"{id: S, type: state, point: P, value: 1}", "rules of type state need 'priority'"},
    {"{id: S, type: state, point: P, priority: high, change: true, on_delay: 1s}", "rules[0].on_delay: a change alarms at once"},
    {"{id: S, type: state, point: P, priority: high, value: 1, stages: []}", "rules[0].stages: a state rule has no stages"},
    {"{id: S, type: state, point: P, priority: high, value: 1, deadband: 1}", "rules[0].deadband: a state rule has no deadband"},
    {"{id: S, type: high, point: P, value: 1, stages: [{name: H, limit: 1, priority: low}]}", "rules[0].value: only state rules have 'value'"},
    {"{id: S, type: state, priority: high, value: 1}", "missing required key 'point'"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(yaml, sizeof yaml, "%srules: [%s]\n", rule_head, bad[i].rule);
    load_str(yaml, -EINVAL, err, sizeof err);
    if (!strstr(err, bad[i].what)) print_error("got: %s\nwant: %s\n", err, bad[i].what);
    assert_non_null(strstr(err, bad[i].what));
  }
}

/* Loads one rule with `on_delay: <text>`; returns its delay or -1 with err filled. */
static long long on_delay_of(const char *text, char *err, size_t errlen)
{
  char yaml[512];
  snprintf(yaml, sizeof yaml, "%srules: [{id: R, type: high, point: P, stages: [{name: H, limit: 1, priority: low}], "
           "on_delay: %s}]\n", rule_head, text);
  struct dg_config *c = NULL;
  if (config_load_string("t.yaml", yaml, strlen(yaml), &c, err, errlen)) return -1;
  long long ms = c->rules[0].on_delay_ms;
  config_free(c);
  return ms;
}

static void test_stage_overrides(void **state)
{
  char err[512];
  char yaml[768];
  snprintf(yaml, sizeof yaml, "%srules: [{id: R, type: high, point: P, deadband: 1, on_delay: 2s, stages: ["
           "{name: H, limit: 1, priority: low, on_delay: 5s}, "
           "{name: HH, limit: 2, priority: high, deadband: 0.5, on_delay: 0, off_delay: 1m}]}]\n", rule_head);
  struct dg_config *c = NULL;
  assert_int_equal(config_load_string("t.yaml", yaml, strlen(yaml), &c, err, sizeof err), 0);
  const struct dg_stage *h = &c->rules[0].stages[0], *hh = &c->rules[0].stages[1];
  assert_true(h->own_on_delay && h->on_delay_ms == 5000 && !h->own_deadband && !h->own_off_delay);
  assert_true(hh->own_deadband && hh->deadband == 0.5 && hh->own_on_delay && hh->on_delay_ms == 0);
  assert_true(hh->own_off_delay && hh->off_delay_ms == 60000);
  config_free(c);
  snprintf(yaml, sizeof yaml, "%srules: [{id: R, type: high, point: P, stages: ["
           "{name: H, limit: 1, priority: low, deadband: -1}]}]\n", rule_head);
  assert_int_not_equal(config_load_string("t.yaml", yaml, strlen(yaml), &c, err, sizeof err), 0);
  assert_non_null(strstr(err, "rules[0].stages[0].deadband"));
}

static void test_durations(void **state)
{
  char err[512];
  assert_int_equal(on_delay_of("500ms", err, sizeof err), 500);
  assert_int_equal(on_delay_of("2s", err, sizeof err), 2000);
  assert_int_equal(on_delay_of("2", err, sizeof err), 2000);
  assert_int_equal(on_delay_of("1.5s", err, sizeof err), 1500);
  assert_int_equal(on_delay_of("5m", err, sizeof err), 300000);
  assert_int_equal(on_delay_of("2h", err, sizeof err), 7200000);
  assert_int_equal(on_delay_of("1d", err, sizeof err), 86400000);
  assert_int_equal(on_delay_of("0", err, sizeof err), 0);
  static const char *const bad[] = {"-1s", "1.0005s", "s", "''", "2 s", "1e3", "5w", "[1]", ".5s", "~"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (on_delay_of(bad[i], err, sizeof err) != -1) print_error("accepted %s\n", bad[i]);
    assert_int_equal(on_delay_of(bad[i], err, sizeof err), -1);
    assert_non_null(strstr(err, "rules[0].on_delay: expected a duration"));
  }
  assert_int_equal(on_delay_of("2d", err, sizeof err), -1);
  assert_non_null(strstr(err, "rules[0].on_delay: expected a duration from 0ms to 1d, got '2d'"));
}

static void test_scalar_rules(void **state)
{
  char err[512], yaml[1024];
  /* a bare classify is classify1 only */
  struct dg_config *c = load_str("site: {code: x}\nhazard_sources:\n - id: S\n   units:\n"
                                 "   - id: U\n     events:\n"
                                 "     - {id: A, ls: {l: 1, s: 1}, measures: [{id: M, data_src: 2, classify: 1}]}\n",
                                 0, err, sizeof err);
  struct dg_measure *m = &c->sources[0].units[0].events[0].measures[0];
  assert_int_equal(m->classify1, 1);
  assert_null(m->classify2);
  config_free(c);

  /* quoted values that look like numbers stay strings; empty optional strings are absent */
  c = load_str("site: {code: 007, name: }\n", 0, err, sizeof err);
  assert_string_equal(c->site_code, "007");
  assert_null(c->site_name);
  config_free(c);

  /* single-quoted scalars: '' escapes (also consecutive ones) and line folding */
  c = load_str("site:\n  code: 'a''''b ''c''\n    d\n\n    e'\n"
               "  name: ''''''''''''''''''''''''''''''''''''''''''''''''''''''''''''''\n",
               0, err, sizeof err);
  assert_string_equal(c->site_code, "a''b 'c' d\ne");
  assert_string_equal(c->site_name, "''''''''''''''''''''''''''''''");
  config_free(c);

  load_str("site: {code: ''}\n", -EINVAL, err, sizeof err);
  assert_string_equal(err, "t.yaml:1:15: site.code: expected a non-empty string");
  load_str("site: {code: x}\ndaemon: {http: {port: 1.5}}\n", -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "daemon.http.port: expected an integer, got '1.5'"));
  load_str("site: {code: x}\ndaemon: {http: {port: 65536}}\n", -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "expected an integer from 0 to 65535, got '65536'"));
  load_str("site: {code: x}\nhazard_sources: [{id: S, major: yes}]\n", -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "hazard_sources[0].major: expected true or false, got 'yes'"));
  load_str("site: {code: x}\nhazard_sources: [{id: S, major: true}]\n", -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "missing required key 'major_grade'"));
  load_str("site: {code: x}\nhazard_sources: [{id: S, major_grade: 2}]\n", -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "needs 'major: true'"));
  load_str("site: {code: x}\npersons: {id: p}\n", -EINVAL, err, sizeof err);
  assert_string_equal(err, "t.yaml:2:10: persons: expected a sequence");

  snprintf(yaml, sizeof yaml, "%srules: [{id: R, type: high, point: P, stages: []}]\n", rule_head);
  load_str(yaml, -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "rules[0].stages: expected 1 to 4 stages, got 0"));
  snprintf(yaml, sizeof yaml, "%srules: [{id: R, type: slope, point: P, stages: [{name: H, limit: 1, priority: low}]}]\n",
           rule_head);
  load_str(yaml, -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "rules[0].type: expected one of high, low, stale, quality, rate, expr, deviation, vote, aggregate, state, got 'slope'"));
  snprintf(yaml, sizeof yaml, "%srules: [{id: R, type: high, point: P, deadband: -1, "
           "stages: [{name: H, limit: 1, priority: low}]}]\n", rule_head);
  load_str(yaml, -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "rules[0].deadband: expected a number >= 0, got '-1'"));
  load_str("site: {code: x}\nmqtt: [{id: m, uri: 'tcp://h:1'}]\npoints: [{id: P, driver: mqtt.m, topic: 'a/+'}]\n",
           -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "points[0].topic: expected an exact topic without wildcards"));
  load_str("site: {code: x}\nmqtt: [{id: m, uri: 'tcp://h:1'}]\npoints: [{id: P, driver: opcua.m, topic: a}]\n",
           -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "points[0].driver: expected 'mqtt.<broker id>' or 'modbus.<bus id>', got 'opcua.m'"));
  load_str("site: {code: x}\nchannels: [{id: c, type: webhook, url: 'ftp://x'}]\n", -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "channels[0].url: expected an http:// or https:// URL"));
  load_str("site: {code: x}\nmodbus: [{id: b, transport: tcp, host: h}]\n"
           "points: [{id: P, driver: modbus.b, holding: 65533, type: float64}]\n", -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "points[0].holding: a float64 at address 65533 runs past register 65535"));
  load_str("site: {code: x}\nmodbus: [{id: b, transport: rtu}]\n", -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "modbus[0]: missing required key 'device' (transport rtu)"));
  load_str("site: {code: \"a\\0b\"}\n", -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "site.code: expected a string without NUL characters"));
}

/* Quoted and block scalars are decoded by the loader itself (libfyaml 0.7.12 misreads some
 * of them); the expected values match PyYAML. */
static void test_scalar_styles(void **state)
{
  struct dg_config *c = load_ok(DATA_DIR "text.yaml");
  assert_string_equal(c->site_code, "TAé");
  assert_string_equal(c->site_name, "line one continued\tand \"quoted\" folded");
  struct dg_person *p = &c->persons[0];
  assert_string_equal(p->name, "folded text\n\n  more indented\nend\n");
  assert_string_equal(p->phone, "literal\n  kept\n");
  assert_string_equal(p->email, "it's 'x' next");
  assert_int_equal(p->n_roles, 2);
  assert_string_equal(p->roles[0], "strip");
  assert_string_equal(p->roles[1], "\\\t");
  config_free(c);
}

static void test_lookups_without_index(void **state)
{
  struct dg_measure measures[] = {{.id = "M1"}, {.id = "M2"}};
  struct dg_event events[] = {{.id = "E1", .measures = measures, .n_measures = 2}};
  struct dg_unit units[] = {{.id = "U1", .events = events, .n_events = 1}};
  struct dg_hazard_source sources[] = {{.id = "S1", .units = units, .n_units = 1}};
  struct dg_point points[] = {{.id = "P1"}, {.id = "P2"}};
  struct dg_person persons[] = {{.id = "zhang"}};
  struct dg_channel channels[] = {{.id = "hook"}};
  struct dg_config c = {.sources = sources, .n_sources = 1, .points = points, .n_points = 2,
                        .persons = persons, .n_persons = 1, .channels = channels, .n_channels = 1};
  assert_ptr_equal(dg_config_point(&c, "P2"), &points[1]);
  assert_ptr_equal(dg_config_measure(&c, "M2"), &measures[1]);
  assert_ptr_equal(dg_config_unit(&c, "U1"), &units[0]);
  assert_ptr_equal(dg_config_person(&c, "zhang"), &persons[0]);
  assert_ptr_equal(dg_config_channel(&c, "hook"), &channels[0]);
  assert_null(dg_config_point(&c, "P3"));
  assert_null(dg_config_measure(&c, "M3"));
  assert_null(dg_config_point(NULL, "P1"));
}

/* 10k points and 20k rules over 100 units; each point has a high and a low rule. */
static char *large_config(size_t n_points, size_t *len)
{
  char *buf = NULL;
  FILE *f = open_memstream(&buf, len);
  assert_non_null(f);
  fprintf(f, "site: {code: big}\nmqtt: [{id: m, uri: 'tcp://127.0.0.1:1883'}]\nhazard_sources:\n - id: S\n   units:\n");
  for (int u = 0; u < 100; u++)
    fprintf(f, "   - id: U%03d\n     events:\n     - id: E%03d\n       lec: {l: 3, e: 6, c: 7}\n"
               "       measures: [{id: M%03d, data_src: 1, classify: '1-1'}]\n", u, u, u);
  fprintf(f, "points:\n");
  for (size_t i = 0; i < n_points; i++)
    fprintf(f, "- {id: P%05zu, driver: mqtt.m, topic: plant/p%05zu, path: value, unit_id: U%03zu}\n", i, i, i % 100);
  fprintf(f, "rules:\n");
  for (size_t i = 0; i < n_points; i++) {
    fprintf(f, "- {id: RH%05zu, type: high, point: P%05zu, measure: M%03zu, on_delay: 1s, "
               "stages: [{name: H, limit: 80, priority: high}, {name: HH, limit: 90, priority: critical}]}\n",
            i, i, i % 100);
    fprintf(f, "- {id: RL%05zu, type: low, point: P%05zu, stages: [{name: L, limit: 10, priority: low}]}\n", i, i);
  }
  assert_int_equal(fclose(f), 0);
  return buf;
}

static void test_large_config(void **state)
{
  size_t len;
  char *yaml = large_config(10000, &len);
  char err[512] = "";
  struct dg_config *c = NULL;
  int rc = config_load_string("big.yaml", yaml, len, &c, err, sizeof err);
  if (rc) print_error("%s\n", err);
  assert_int_equal(rc, 0);
  assert_int_equal(c->n_points, 10000);
  assert_int_equal(c->n_rules, 20000);
  struct dg_point *p = dg_config_point(c, "P09999");
  assert_ptr_equal(p, &c->points[9999]);
  assert_int_equal(p->index, 9999);
  assert_ptr_equal(c->rules[19999].point, p);
  assert_int_equal(c->rules[19999].index, 19999);
  assert_ptr_equal(c->rules[19998].measure, dg_config_measure(c, "M099"));
  assert_string_equal(dg_config_measure(c, "M099")->event->unit->id, "U099");
  assert_int_equal(dg_config_unit(c, "U042")->level, DG_LEVEL_YELLOW); /* 3·6·7 = 126 */
  config_free(c);
  free(yaml);
}

/* password_file / url_file: the secret comes from its own file, one line, newline dropped. */
static void test_secret_files(void **state)
{
  char err[512], yaml[1024], pass[] = "/tmp/dg-secret-XXXXXX", url[] = "/tmp/dg-secret-XXXXXX";
  int fd = mkstemp(pass);
  assert_true(fd >= 0 && write(fd, "s3cr3t\n", 7) == 7 && close(fd) == 0);
  fd = mkstemp(url);
  assert_true(fd >= 0 && write(fd, "https://hooks.example/x?token=abc", 33) == 33 && close(fd) == 0);
  snprintf(yaml, sizeof yaml,
           "site: {code: x}\nmqtt: [{id: b, uri: 'tcp://h:1883', username: u, password_file: %s}]\n"
           "channels: [{id: c, type: webhook, url_file: %s}]\n", pass, url);
  struct dg_config *c = load_str(yaml, 0, err, sizeof err);
  assert_string_equal(c->mqtt_brokers[0].password, "s3cr3t");
  assert_string_equal(c->channels[0].url, "https://hooks.example/x?token=abc");
  config_free(c);

  snprintf(yaml, sizeof yaml, "site: {code: x}\nmqtt: [{id: b, uri: 'tcp://h:1883', password_file: %s-gone}]\n", pass);
  load_str(yaml, -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "t.yaml:2:52: mqtt[0].password_file: cannot read the secret in '/tmp/dg-secret-"));
  assert_non_null(strstr(err, "-gone': No such file or directory"));
  snprintf(yaml, sizeof yaml, "site: {code: x}\nmqtt: [{id: b, uri: 'tcp://h:1883', password: p, password_file: %s}]\n",
           pass);
  load_str(yaml, -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "give 'password' or 'password_file', not both"));
  load_str("site: {code: x}\nchannels: [{id: c, type: webhook}]\n", -EINVAL, err, sizeof err);
  assert_string_equal(err, "t.yaml:2:12: channels[0]: missing required key 'url' (or 'url_file')");
  fd = open(pass, O_WRONLY | O_TRUNC);
  assert_true(fd >= 0 && write(fd, "a\nb\n", 4) == 4 && close(fd) == 0);
  snprintf(yaml, sizeof yaml, "site: {code: x}\nmqtt: [{id: b, uri: 'tcp://h:1883', password_file: %s}]\n", pass);
  load_str(yaml, -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "': expected one non-empty line"));
  unlink(pass);
  unlink(url);
}

/* posts: references resolved to the model, bad ones named at their file position. */
static void test_posts(void **state)
{
  static const char head[] =
    "site: {code: x}\n"
    "persons: [{id: p1, roles: [operator]}, {id: p2}]\n"
    "hazard_sources:\n"
    "  - id: S\n"
    "    units:\n"
    "      - {id: U1, events: [{id: E1, ls: {l: 2, s: 2}}]}\n"
    "      - {id: U2, events: [{id: E2, ls: {l: 5, s: 5}}]}\n";
  char yaml[2048], err[512];
  snprintf(yaml, sizeof yaml, "%sposts:\n  - id: P\n    name: 操作工\n    units: [U1, U2]\n    persons: [p1]\n"
           "    deputies: [p2]\n    events: [E1, E2]\n    emergency_phones: [{name: 火警, phone: '119'}]\n", head);
  struct dg_config *c = load_str(yaml, 0, err, sizeof err);
  assert_int_equal(c->n_posts, 1);
  struct dg_post *p = dg_config_post(c, "P");
  assert_non_null(p);
  assert_string_equal(p->name, "操作工");
  assert_int_equal(p->n_units, 2);
  assert_ptr_equal(p->units[1], dg_config_unit(c, "U2"));
  assert_ptr_equal(p->persons[0], dg_config_person(c, "p1"));
  assert_ptr_equal(p->deputies[0], dg_config_person(c, "p2"));
  assert_int_equal(p->n_events, 2);
  assert_string_equal(p->events[1]->id, "E2");
  assert_string_equal(p->phones[0].phone, "119");
  assert_null(dg_config_post(c, "Q"));
  config_free(c);

  snprintf(yaml, sizeof yaml, "%sposts:\n  - {id: P, units: [U1, U9]}\n", head);
  load_str(yaml, -EINVAL, err, sizeof err);
  assert_string_equal(err, "t.yaml:9:25: posts[0].units[1]: unknown unit 'U9'");
  snprintf(yaml, sizeof yaml, "%sposts:\n  - {id: P, units: [U1], persons: [p1, nobody]}\n", head);
  load_str(yaml, -EINVAL, err, sizeof err);
  assert_string_equal(err, "t.yaml:9:40: posts[0].persons[1]: unknown person 'nobody'");
  snprintf(yaml, sizeof yaml, "%sposts:\n  - {id: P, units: [U1], events: [E7]}\n", head);
  load_str(yaml, -EINVAL, err, sizeof err);
  assert_string_equal(err, "t.yaml:9:35: posts[0].events[0]: unknown event 'E7'");
  snprintf(yaml, sizeof yaml, "%sposts:\n  - {id: P, units: [U1], events: [E1, E2]}\n", head);
  load_str(yaml, -EINVAL, err, sizeof err);
  assert_string_equal(err, "t.yaml:9:39: posts[0].events[1]: event 'E2' is in unit 'U2', which is not one of the "
                           "post's units");
  snprintf(yaml, sizeof yaml, "%sposts:\n  - {id: P, units: [U1]}\n  - {id: P, units: [U2]}\n", head);
  load_str(yaml, -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "t.yaml:10:10: posts[1].id: duplicate post id 'P'"));
  snprintf(yaml, sizeof yaml, "%sposts:\n  - {id: P, units: []}\n", head);
  load_str(yaml, -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "posts[0].units: expected at least one unit id"));
  snprintf(yaml, sizeof yaml, "%sposts:\n  - {id: P, units: [U1], emergency_phones: [{name: 火警}]}\n", head);
  load_str(yaml, -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "posts[0].emergency_phones[0]: missing required key 'phone'"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_demo_plant),
    cmocka_unit_test(test_defaults),
    cmocka_unit_test(test_modbus_bindings),
    cmocka_unit_test(test_inspection_schedule),
    cmocka_unit_test(test_bad_files),
    cmocka_unit_test(test_ledger_section),
    cmocka_unit_test(test_state_rule),
    cmocka_unit_test(test_io_errors),
    cmocka_unit_test(test_level_bands),
    cmocka_unit_test(test_configured_bands),
    cmocka_unit_test(test_unit_hazard_policy),
    cmocka_unit_test(test_measure_control_level_and_responsible),
    cmocka_unit_test(test_names),
    cmocka_unit_test(test_durations),
    cmocka_unit_test(test_stage_overrides),
    cmocka_unit_test(test_scalar_rules),
    cmocka_unit_test(test_scalar_styles),
    cmocka_unit_test(test_lookups_without_index),
    cmocka_unit_test(test_large_config),
    cmocka_unit_test(test_secret_files),
    cmocka_unit_test(test_posts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
