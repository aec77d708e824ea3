/* The upload journal on a real store: a change leaves its mark in its own transaction (and
 * none when it rolls back); a pass turns marks into versions and consumes them; the
 * reconciliation counts a ledger change that carried no mark; a refused record is
 * dead-lettered and a retry queues its current version again; the 包保 task entries are
 * checked at load and exported as workType 1..3 rows. */
#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "national.h"
#include "plant_fixture.h"
#include "store_gate.h"
#include "upload.h"
#include "upload_journal.h"

static const char *const yaml_plant =
  "site: { code: T1 }\n"
  "national:\n"
  "  company_code: '320500123'\n"
  "  credit_code: 91350100M000100Y43\n"
  "  responsibility_tasks:\n"
  "    - { measure: M1, role: principal, task_num: 9 }\n"
  "    - { measure: M1, role: operational, task_num: 10, check_cycle: { n: 1, unit: 天 } }\n"
  "persons: [ { id: wang, name: 王工, phone: '13800000000' } ]\n"
  PLANT_YAML_TANK_FARM;

static int exec_work(struct store_conn *c, void *arg)
{
  return sqlite3_exec(store_conn_db(c), arg, NULL, NULL, NULL);
}

static void ignore_done(void *arg, int rc)
{
  (void)arg;
  (void)rc;
}

/* Runs SQL through the writer; the SQLite result of its transaction. */
static int write_sql(struct plant *p, const char *sql)
{
  assert_int_equal(store_submit(p->store, exec_work, ignore_done, (void *)sql), 0);
  return store_wait_idle(p->store);
}

static long long count(struct plant *p, const char *sql)
{
  sqlite3_stmt *st = store_stmt(store_reader(p->store), sql);
  assert_non_null(st);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  long long n = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return n;
}

struct pass_result {
  int rc, called;
  struct upload_pass_count n;
};

static void pass_done(void *arg, int rc, const struct upload_pass_count *n)
{
  struct pass_result *r = arg;
  r->rc = rc;
  r->n = *n;
  r->called = 1;
}

static struct pass_result pass(struct plant *p, int reconcile)
{
  struct pass_result r = {0};
  int64_t mark = upload_journal_last_mark(store_reader(p->store));
  assert_true(mark >= 0);
  assert_int_equal(national_assign_ids(p->cfg, p->store), 0);
  cJSON *doc = national_build(p->cfg, store_reader(p->store), 0);
  assert_non_null(doc);
  assert_int_equal(upload_journal_pass(p->store, doc, mark, reconcile, pass_done, &r), 0);
  assert_int_equal(store_wait_idle(p->store), 0);
  assert_true(r.called);
  assert_int_equal(r.rc, 0);
  return r;
}

static const char *const sql_shutdown =
  "INSERT INTO shutdown_records (hazard_source, unit, start_ms, reason, created_ms, created_by, updated_ms,"
  " updated_by) VALUES ('HS1', 'U1', 1700000000000, '检修', 1700000000000, 'wang', 1700000000000, 'wang')";

static void test_marks_passes_and_reconciliation(void **state)
{
  (void)state;
  struct plant p;
  plant_init(&p, yaml_plant);
  plant_start_to(&p, PLANT_STORE);
  struct pass_result r = pass(&p, 1); /* the model from the file: queued by the reconciliation */
  assert_true(r.n.model >= 6);       /* source, unit, event, measure, its daily and two 包保 tasks */
  assert_int_equal(r.n.missed, 0);

  /* a change marks itself in its transaction; a rolled-back one leaves nothing */
  assert_int_equal(write_sql(&p, sql_shutdown), 0);
  assert_int_equal(count(&p, "SELECT count(*) FROM upload_marks"), 1);
  write_sql(&p, "INSERT INTO shutdown_records (hazard_source) VALUES ('HS1')"); /* NOT NULL: rolled back */
  assert_int_equal(count(&p, "SELECT count(*) FROM upload_marks"), 1);
  r = pass(&p, 0);
  assert_int_equal(r.n.marks, 1);
  assert_int_equal(r.n.queued, 1);
  assert_int_equal(count(&p, "SELECT count(*) FROM upload_marks"), 0);
  assert_int_equal(count(&p, "SELECT count(*) FROM upload_queue WHERE kind = 7"), 1);

  /* marked again, then reconciled: nothing missed */
  assert_int_equal(write_sql(&p, "UPDATE shutdown_records SET deleted = 1, updated_ms = updated_ms + 1"), 0);
  r = pass(&p, 1);
  assert_int_equal(r.n.queued, 1);
  assert_int_equal(r.n.missed, 0);
  assert_int_equal(r.n.model, 0);

  /* a change whose mark is lost is what the reconciliation counts */
  assert_int_equal(write_sql(&p, "UPDATE shutdown_records SET reason = '大修', updated_ms = updated_ms + 1;"
                                 " DELETE FROM upload_marks"), 0);
  r = pass(&p, 0);
  assert_int_equal(r.n.queued, 0);
  r = pass(&p, 1);
  assert_int_equal(r.n.missed, 1);
  plant_stop(&p);
  plant_free(&p);
}

/* The pass's document holds every record of the ledger and the model (a year of a plant's
 * inspection tasks is tens of thousands): it is read on the store's read lane, not on the loop.
 * With the lane held, the upload module's first pass queues nothing however often the loop
 * turns and the store commits; once the lane runs, the model's records are queued. */
static void test_upload_pass_read_off_the_loop(void **state)
{
  (void)state;
  char yaml[4096];
  snprintf(yaml, sizeof yaml, "%s", yaml_plant);
  char *at = strstr(yaml, "persons:");
  assert_non_null(at);
  static const char upload_block[] = "  upload: { url: 'http://127.0.0.1:1/', interval_s: 3600 }\n";
  memmove(at + strlen(upload_block), at, strlen(at) + 1);
  memcpy(at, upload_block, strlen(upload_block));
  struct plant p;
  plant_init(&p, yaml);
  plant_start_to(&p, PLANT_NOTIFY);
  struct gate g;
  gate_close_on(p.store, &g, store_submit_read);
  struct upload *u = NULL;
  const struct dg_config *cfg = p.cfg;
  assert_int_equal(upload_start(&u, &p.loop, &cfg, p.store, p.httpc), 0);
  assert_non_null(u);
  for (int i = 0; i < 5; i++) { /* the scan (a timer due now), its UUIDs' commit, then the read */
    uv_run(&p.loop, UV_RUN_NOWAIT);
    store_wait_idle(p.store);
  }
  assert_true(count(&p, "SELECT count(*) FROM national_ids") > 0); /* the UUIDs were stored */
  assert_int_equal(count(&p, "SELECT count(*) FROM upload_queue"), 0);
  gate_open(&g);
  store_wait_reads(p.store);
  store_wait_idle(p.store);
  assert_true(count(&p, "SELECT count(*) FROM upload_queue") >= 6); /* source, unit, event, measure, tasks */
  upload_close(u);
  plant_stop(&p);
  gate_destroy(&g);
  plant_free(&p);
}

static int record_work(struct store_conn *c, void *arg)
{
  return upload_journal_record(c, arg);
}

static void test_dead_letter_and_retry(void **state)
{
  (void)state;
  struct plant p;
  plant_init(&p, yaml_plant);
  plant_start_to(&p, PLANT_STORE);
  pass(&p, 1);
  assert_int_equal(write_sql(&p, sql_shutdown), 0);
  pass(&p, 0);
  long long seq = count(&p, "SELECT max(seq) FROM upload_queue WHERE kind = 7");
  /* refused twice of max 3: still pending; a refuse code sets it aside at once */
  struct upload_outcome o = {.kind = 7, .first = seq, .last = seq, .now = 1, .answer = UPLOAD_REFUSED,
                             .max_refusals = 3, .error = "code 500"};
  for (int i = 0; i < 2; i++) {
    assert_int_equal(store_submit(p.store, record_work, ignore_done, &o), 0);
    assert_int_equal(store_wait_idle(p.store), 0);
    assert_false(o.dead);
  }
  o.dead_letter = 1;
  assert_int_equal(store_submit(p.store, record_work, ignore_done, &o), 0);
  assert_int_equal(store_wait_idle(p.store), 0);
  assert_true(o.dead);
  assert_int_equal(count(&p, "SELECT count(*) FROM upload_queue WHERE dead_ms IS NOT NULL"), 1);
  /* a transient failure never counts against a record */
  o = (struct upload_outcome){.kind = 3, .first = 1, .last = 1, .now = 1, .answer = UPLOAD_TRANSIENT, .max_refusals = 1};
  assert_int_equal(store_submit(p.store, record_work, ignore_done, &o), 0);
  assert_int_equal(store_wait_idle(p.store), 0);
  assert_int_equal(count(&p, "SELECT refusals FROM upload_queue WHERE seq = 1"), 0);

  struct upload_retry retry = {.kind = 7, .now = 2};
  assert_int_equal(store_write_now(p.store, false, upload_journal_retry_work, &retry), 0);
  assert_int_equal(retry.n, 1);
  struct pass_result r = pass(&p, 0);
  assert_int_equal(r.n.queued, 1); /* unchanged, but its digest was forgotten: queued again */
  assert_int_equal(count(&p, "SELECT count(*) FROM upload_queue WHERE kind = 7 AND dead_ms IS NULL"), 1);
  plant_stop(&p);
  plant_free(&p);
}

static const cJSON *task_of(const cJSON *doc, const char *work_type)
{
  const cJSON *t;
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(doc, "checkTasks"))
  if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(t, "workType")), work_type)) return t;
  return NULL;
}

static void test_responsibility_tasks(void **state)
{
  (void)state;
  struct plant p;
  plant_init(&p, yaml_plant);
  plant_start_to(&p, PLANT_STORE);
  assert_int_equal(national_assign_ids(p.cfg, p.store), 0);
  cJSON *doc = national_build(p.cfg, store_reader(p.store), 0);
  const cJSON *daily = task_of(doc, "0"), *principal = task_of(doc, "1"), *op = task_of(doc, "3");
  assert_non_null(daily);
  assert_non_null(principal);
  assert_non_null(op);
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(daily, "taskNum")));
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(principal, "taskNum")), "9");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(principal, "checkCycleUnit")), "月");
  assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(principal, "checkCycle")), 3);
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(op, "taskNum")), "10");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(op, "riskMeasureId")),
                      cJSON_GetStringValue(cJSON_GetObjectItem(daily, "riskMeasureId")));
  assert_string_not_equal(cJSON_GetStringValue(cJSON_GetObjectItem(op, "id")),
                          cJSON_GetStringValue(cJSON_GetObjectItem(daily, "id")));
  cJSON_Delete(doc);
  plant_stop(&p);
  plant_free(&p);

  /* load errors name the place and what was expected */
  static const struct {
    const char *from, *to, *want;
  } bad[] = {
    {"role: principal, task_num: 9", "role: principal, task_num: 10", "expected an item 1..9 of the principal"},
    {"role: principal, task_num: 9", "role: boss, task_num: 1", "role"},
    {"measure: M1, role: principal", "measure: M9, role: principal", "unknown control measure 'M9'"},
    {"role: operational, task_num: 10,", "role: principal, task_num: 9,", "already has task 9"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char yaml[4096], err[512] = "";
    const char *at = strstr(yaml_plant, bad[i].from);
    assert_non_null(at);
    snprintf(yaml, sizeof yaml, "%.*s%s%s", (int)(at - yaml_plant), yaml_plant, bad[i].to, at + strlen(bad[i].from));
    struct dg_config *cfg = NULL;
    assert_int_not_equal(config_load_string("plant.yaml", yaml, strlen(yaml), &cfg, err, sizeof err), 0);
    assert_non_null(strstr(err, bad[i].want));
    assert_non_null(strstr(err, "plant.yaml:"));
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_marks_passes_and_reconciliation),
    cmocka_unit_test(test_dead_letter_and_retry),
    cmocka_unit_test(test_upload_pass_read_off_the_loop),
    cmocka_unit_test(test_responsibility_tasks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
