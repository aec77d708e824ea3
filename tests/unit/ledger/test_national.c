/* The national profile's pure parts: the GB 32100 credit-code check character, the risk-class
 * and cycle-unit enums both ways, the time formats; and, on a real store, that record UUIDs are
 * stored once and a measure deleted from the plant model is still exported with deleted = 1, and
 * that a confirmed safety commitment is marked for upload and becomes a safetyCommitments record. */
#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "national.h"
#include "plant_fixture.h"

static void test_credit_code(void **state)
{
  (void)state;
  assert_true(national_credit_code_valid("91350100M000100Y43"));
  assert_int_equal(national_credit_code_check("91350100M000100Y4"), '3');
  assert_false(national_credit_code_valid("91350100M000100Y44")); /* wrong check character */
  assert_false(national_credit_code_valid("91350100M000100Y4"));  /* 17 characters */
  assert_false(national_credit_code_valid("91350100M000100I43")); /* I is not in the alphabet */
  assert_int_equal(national_credit_code_check("91350100M000100I4"), 0);
  assert_false(national_credit_code_valid(NULL));
  /* a check value of 0 is written '0', not '31' */
  char code[19] = "11000000000000000";
  for (char c = '0'; c <= '9'; c++) {
    code[16] = c;
    char want = national_credit_code_check(code);
    assert_non_null(strchr("0123456789ABCDEFGHJKLMNPQRTUWXY", want));
    code[17] = want;
    code[18] = '\0';
    assert_true(national_credit_code_valid(code));
  }
}

static void test_risk_class(void **state)
{
  (void)state;
  /* wwyt: 1 重大 (red) … 4 低 (blue); the upload client's list: 0 重大 … 3 低 */
  assert_int_equal(national_risk_class(DG_LEVEL_RED, 1), 1);
  assert_int_equal(national_risk_class(DG_LEVEL_ORANGE, 1), 2);
  assert_int_equal(national_risk_class(DG_LEVEL_YELLOW, 1), 3);
  assert_int_equal(national_risk_class(DG_LEVEL_BLUE, 1), 4);
  assert_int_equal(national_risk_class(DG_LEVEL_RED, 0), 0);
  assert_int_equal(national_risk_class(DG_LEVEL_BLUE, 0), 3);
  for (int base = 0; base <= 1; base++)
    for (int l = DG_LEVEL_BLUE; l <= DG_LEVEL_RED; l++)
      assert_int_equal(national_risk_level(national_risk_class(l, base), base), l);
  assert_int_equal(national_risk_level(5, 1), 0);
  assert_int_equal(national_risk_level(0, 1), 0);
  assert_int_equal(national_risk_level(4, 0), 0);
  assert_int_equal(national_risk_class(0, 1), -1);
}

static void test_cycle_unit(void **state)
{
  (void)state;
  const char *want[] = {NULL, "小时", "天", "月", "年"};
  for (int u = 1; u <= 4; u++) {
    assert_string_equal(national_cycle_unit(u), want[u]);
    assert_int_equal(national_cycle_unit_parse(want[u]), u);
  }
  assert_null(national_cycle_unit(5));
  assert_int_equal(national_cycle_unit_parse("周"), 0);
  assert_int_equal(national_cycle_unit_parse(NULL), 0);
}

static void test_times(void **state)
{
  (void)state;
  setenv("TZ", "Asia/Shanghai", 1);
  tzset();
  char buf[NATIONAL_TIME_LEN];
  int64_t ms = 1796054400000LL + 3723000; /* 2026-12-01 01:02:03 +08:00 */
  assert_string_equal(national_time(ms, NATIONAL_TIME_COMPACT, buf), "20261201010203");
  assert_string_equal(national_time(ms, NATIONAL_TIME_ISO, buf), "2026-12-01 01:02:03");
  assert_string_equal(national_date(ms, buf), "2026-12-01");
  assert_null(national_time(0, NATIONAL_TIME_ISO, buf));
  int64_t back = 0;
  assert_int_equal(national_time_parse("20261201010203", &back), 0);
  assert_int_equal(back, ms);
  assert_int_equal(national_time_parse("2026-12-01 01:02:03", &back), 0);
  assert_int_equal(back, ms);
  assert_int_equal(national_time_parse("2026-12-01", &back), 0);
  assert_int_equal(back, 1796054400000LL);
  assert_int_equal(national_time_parse("2026-02-31 00:00:00", &back), -EINVAL);
  assert_int_equal(national_time_parse("2026-12-01T01:02:03", &back), -EINVAL);
  assert_int_equal(national_time_parse("202612010102031", &back), -EINVAL);
}

static void test_uuid(void **state)
{
  (void)state;
  char a[37], b[37];
  assert_int_equal(national_uuid(a), 0);
  assert_int_equal(national_uuid(b), 0);
  assert_int_equal(strlen(a), 36);
  assert_string_not_equal(a, b);
  assert_true(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-' && a[14] == '4');
  assert_non_null(strchr("89ab", a[19]));
}

static const char *const yaml_plant =
  "site: { code: T1 }\n"
  "national: { company_code: '320500123', credit_code: 91350100M000100Y43, hazard_codes: { HS1: '320500123001' } }\n"
  "persons: [ { id: wang, name: 王工, phone: '13800000000' } ]\n"
  PLANT_YAML_TANK_FARM
  "              - { id: M2, desc: 联锁, data_src: 1, classify: '1-4' }\n";

static const cJSON *find(const cJSON *doc, const char *kind, const char *key, const char *value)
{
  const cJSON *r;
  cJSON_ArrayForEach(r, cJSON_GetObjectItem(doc, kind))
  {
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(r, key));
    if (v && !strcmp(v, value)) return r;
  }
  return NULL;
}

static void test_build_ids_and_deletion(void **state)
{
  (void)state;
  struct plant p;
  plant_init(&p, yaml_plant);
  plant_start(&p);
  assert_int_equal(national_assign_ids(p.cfg, p.store), 0);
  cJSON *doc = national_build(p.cfg, store_reader(p.store), 0);
  assert_non_null(doc);
  const cJSON *m1 = find(doc, "controlMeasures", "riskMeasureDesc", "巡检");
  assert_non_null(m1);
  char m1_id[37];
  snprintf(m1_id, sizeof m1_id, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(m1, "id")));
  assert_int_equal(strlen(m1_id), 36);
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(m1, "deleted")), "0");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(m1, "classify2")), "3-1");
  const cJSON *task = find(doc, "checkTasks", "riskMeasureId", m1_id);
  assert_non_null(task);
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(task, "checkCycleUnit")), "天");
  const cJSON *unit = find(doc, "riskUnits", "riskUnitName", "储罐");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(unit, "hazardCode")), "320500123001");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(unit, "hazardLiablePerson")), "王工");
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "checkTasks")), 2); /* one standing task a measure */
  cJSON_Delete(doc);

  /* Stored once: assigning again and rebuilding gives the same UUID. */
  assert_int_equal(national_assign_ids(p.cfg, p.store), 0);
  doc = national_build(p.cfg, store_reader(p.store), 0);
  m1 = find(doc, "controlMeasures", "id", m1_id);
  assert_non_null(m1);
  cJSON_Delete(doc);

  /* M1 leaves the plant model: it and its standing task come back with deleted = 1. */
  struct dg_event *ev = &p.cfg->sources[0].units[0].events[0];
  struct dg_measure keep = ev->measures[0];
  ev->measures[0] = ev->measures[1];
  ev->n_measures = 1;
  doc = national_build(p.cfg, store_reader(p.store), 0);
  m1 = find(doc, "controlMeasures", "id", m1_id);
  assert_non_null(m1);
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(m1, "deleted")), "1");
  assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(m1, "riskEventId")));
  task = find(doc, "checkTasks", "riskMeasureId", m1_id);
  assert_non_null(task);
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(task, "deleted")), "1");
  cJSON_Delete(doc);
  ev->measures[1] = ev->measures[0];
  ev->measures[0] = keep;
  ev->n_measures = 2;
  plant_stop(&p);
  plant_free(&p);
}

static const char *const commitment_body =
  "{\"date\":\"2026-03-10\",\"hazard_sources\":[{\"id\":\"HS1\",\"state\":\"running\"},"
  "{\"id\":\"HS2\",\"state\":\"maintenance\"}],\"hazards_open\":{\"major\":1,\"general\":2,\"total\":3},"
  "\"stops\":[{}],\"alarms\":{\"active\":4},\"inspections\":{\"overdue\":5},\"special_operations\":[{},{}],"
  "\"text_zh\":\"2026-03-10 安全承诺公告\",\"note\":null}";

static int insert_commitment(struct store_conn *c, void *arg)
{
  (void)arg;
  sqlite3_stmt *st = store_stmt(c, "INSERT INTO commitments (day, body, confirmed_by, confirmed_ms)"
                                   " VALUES ('2026-03-10', ?1, 'wang', 1773100800000)");
  if (!st) return SQLITE_ERROR;
  store_bind_text(st, 1, commitment_body);
  return store_step_done(st);
}

static int num(const cJSON *o, const char *k)
{
  const cJSON *v = cJSON_GetObjectItem(o, k);
  assert_true(cJSON_IsNumber(v));
  return (int)v->valuedouble;
}

static void test_build_commitment(void **state)
{
  (void)state;
  struct plant p;
  plant_init(&p, yaml_plant);
  plant_start(&p);
  assert_int_equal(store_submit(p.store, insert_commitment, NULL, NULL), 0);
  assert_int_equal(store_wait_idle(p.store), 0);
  sqlite3_stmt *st =
    store_stmt(store_reader(p.store), "SELECT count(*) FROM upload_marks WHERE kind = 9 AND key = '2026-03-10'");
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 1); /* marked in the confirming transaction */
  sqlite3_reset(st);
  assert_int_equal(national_assign_ids(p.cfg, p.store), 0);
  cJSON *doc = national_build(p.cfg, store_reader(p.store), 0);
  const cJSON *c = find(doc, "safetyCommitments", "commitDate", "2026-03-10");
  assert_non_null(c);
  assert_int_equal(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(c, "id"))), 36);
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(c, "companyCode")), "320500123");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(c, "commitPerson")), "王工");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(c, "commitPersonMobile")), "13800000000");
  char t[NATIONAL_TIME_LEN];
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(c, "commitTime")),
                      national_time(1773100800000, NATIONAL_TIME_COMPACT, t));
  assert_int_equal(num(c, "majorSourceNum"), 2);
  assert_int_equal(num(c, "runningNum"), 1);
  assert_int_equal(num(c, "shutdownNum"), 0);
  assert_int_equal(num(c, "maintenanceNum"), 1);
  assert_int_equal(num(c, "specialOperationNum"), 2);
  assert_int_equal(num(c, "openHazardNum"), 3);
  assert_int_equal(num(c, "majorHazardNum"), 1);
  assert_int_equal(num(c, "generalHazardNum"), 2);
  assert_int_equal(num(c, "activeAlarmNum"), 4);
  assert_int_equal(num(c, "overdueTaskNum"), 5);
  assert_int_equal(num(c, "stopOrderNum"), 1);
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(c, "commitNote")));
  cJSON_Delete(doc);
  doc = national_build(p.cfg, store_reader(p.store), 1773100800000); /* not after `since` */
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "safetyCommitments")), 0);
  cJSON_Delete(doc);
  plant_stop(&p);
  plant_free(&p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_credit_code), cmocka_unit_test(test_risk_class), cmocka_unit_test(test_cycle_unit),
    cmocka_unit_test(test_times),       cmocka_unit_test(test_uuid),
    cmocka_unit_test(test_build_ids_and_deletion), cmocka_unit_test(test_build_commitment),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
