/* The API's reads on the store's read lane (api_lane), over HTTP: the real server, API and store
 * on loopback, a real libcurl client. The export stores the national record UUIDs through the
 * writer and reads the ledger on the read lane; the month's report and assessment are read and
 * rendered on the lane. The loop waits for none of it, so other requests are answered meanwhile.
 * The safety commitment's draft, which every screen asks for every 10 s, waits for no write. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api_gate.h"

static const char test_yaml[] =
  "site: { code: T1, name: 测试化工 }\n"
  "national: { company_code: '320500123', credit_code: 91350100M000100Y43 }\n"
  "persons: [ { id: wang, name: 王工, phone: '13800000000', roles: [viewer] } ]\n"
  PLANT_YAML_TANK_FARM;

static const struct dg_person *authenticate(void *ud, const char *token)
{
  struct api_gated *f = ud;
  return strcmp(token, "tok-wang") == 0 ? dg_config_person(f->a.p.cfg, "wang") : NULL;
}

/* A major hazard (重大, 整改中) found on 2023-11-14. */
static const char fill_sql[] =
  "INSERT INTO hazards (code, danger_level, danger_src, danger_manage_type, hazard_danger_type,"
  " danger_state, description, liable_person, hazard_source, unit, measure, created_ms, updated_ms)"
  " VALUES ('YH-9', 1, 1, 1, 1, 0, '储罐区可燃气体报警', 'wang', 'HS1', 'U1', 'M1',"
  " 1699920000000, 1699920000000)";

static int setup(void **state) { return api_gated_setup(state, test_yaml, fill_sql, authenticate); }

static struct api_reply *call(const struct api_gated *f, const char *path)
{
  struct api_reply *r = calloc(1, sizeof *r);
  api_fixture_call(&f->a, path, "tok-wang", NULL, 10, r);
  assert_int_equal(r->rc, CURLE_OK);
  return r;
}

/* Holds the store thread of `lane` and asks for `path` on a thread of its own; meanwhile the
 * loop must answer another request. */
static struct api_call_thread *held_call_start(struct api_gated *f, gate_submit_fn lane, const char *path)
{
  gate_close_on(f->a.p.store, &f->gate, lane);
  struct api_call_thread *x = calloc(1, sizeof *x);
  api_call_thread_start(x, &f->a, path, "tok-wang", NULL);
  api_gated_answered_meanwhile(f, "tok-wang", x);
  return x;
}

/* Lets the held thread go on; the request must then be answered 200. */
static void held_call_finish(struct api_gated *f, struct api_call_thread *x)
{
  gate_open(&f->gate);
  assert_int_equal(api_call_thread_join(x), 200);
}

static int count_uuids(const struct api_gated *f)
{
  char n[32];
  api_fixture_query(&f->a, "SELECT count(*) FROM national_ids", n, sizeof n);
  return atoi(n);
}

/* With the writer held, the export waits for its UUIDs' commit while the loop answers others;
 * once the writer goes on, the export carries the hazard with the UUID it stored. */
static void test_export_waits_for_its_uuids_off_the_loop(void **state)
{
  struct api_gated *f = *state;
  int before = count_uuids(f);
  struct api_call_thread *x = held_call_start(f, store_submit, "/api/v1/export?since=0");
  assert_int_equal(count_uuids(f), before); /* the export's job is still held */
  held_call_finish(f, x);
  assert_true(count_uuids(f) > before);
  char uuid[40];
  api_fixture_query(&f->a, "SELECT uuid FROM national_ids WHERE kind = 'hazard'", uuid, sizeof uuid);
  assert_int_equal(strlen(uuid), 36);
  assert_non_null(strstr(x->reply.body, uuid));
  free(x);
}

/* With the read lane held, the report waits while the loop answers; once the lane goes on,
 * the report holds the month's major hazard. */
static void test_report_waits_on_the_read_lane(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread *x = held_call_start(f, store_submit_read, "/api/v1/reports/monthly?month=2023-11");
  assert_false(atomic_load(&x->answered)); /* its read is behind the held one */
  held_call_finish(f, x);
  cJSON *doc = cJSON_Parse(x->reply.body);
  assert_non_null(doc);
  assert_string_equal(cJSON_GetObjectItem(doc, "month")->valuestring, "2023-11");
  const cJSON *major = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "majorHazards"), 0);
  assert_non_null(major);
  char *text = cJSON_PrintUnformatted(major);
  assert_non_null(strstr(text, "YH-9"));
  free(text);
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "statistics"), "opened")->valueint, 1);
  cJSON_Delete(doc);
  free(x);
}

/* A second major hazard of November 2023, committed by a job of its own. */
static int second_major_work(struct store_conn *c, void *arg)
{
  (void)arg;
  return sqlite3_exec(store_conn_db(c),
                      "INSERT INTO hazards (code, danger_level, danger_src, danger_manage_type, hazard_danger_type,"
                      " danger_state, description, liable_person, hazard_source, unit, measure, created_ms,"
                      " updated_ms) VALUES ('YH-10', 1, 1, 1, 1, 0, '罐区液位计失效', 'wang', 'HS1', 'U1', 'M1',"
                      " 1699930000000, 1699930000000)",
                      NULL, NULL, NULL);
}

/* A write queued before the report is in it, and the loop does not wait for that write: with
 * the writer held, the report waits while the loop answers others, then counts both hazards. */
static void test_report_follows_writes_queued_before_it_off_the_loop(void **state)
{
  struct api_gated *f = *state;
  gate_close_on(f->a.p.store, &f->gate, store_submit);
  assert_int_equal(store_submit_urgent(f->a.p.store, second_major_work, NULL, NULL), 0);
  struct api_call_thread *x = calloc(1, sizeof *x);
  api_call_thread_start(x, &f->a, "/api/v1/reports/monthly?month=2023-11", "tok-wang", NULL);
  api_gated_wait_pending(f, 3); /* the gate, the hazard, and the report's turn behind them */
  api_gated_answered_meanwhile(f, "tok-wang", x);
  held_call_finish(f, x);
  cJSON *doc = cJSON_Parse(x->reply.body);
  assert_non_null(doc);
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "statistics"), "opened")->valueint, 2);
  cJSON_Delete(doc);
  free(x);
}

static int noop_read(struct store_conn *c, void *arg)
{
  (void)c;
  (void)arg;
  return SQLITE_OK;
}

/* With the read lane full (one read held, the rest waiting), the report and the assessment are
 * refused with 503 at once, not queued behind them nor read on the loop. */
static void test_reads_when_the_read_lane_is_full(void **state)
{
  struct api_gated *f = *state;
  gate_close_on(f->a.p.store, &f->gate, store_submit_read);
  for (int i = 1; i < STORE_READS_MAX; i++) assert_int_equal(store_submit_read(f->a.p.store, noop_read, NULL, NULL), 0);
  const char *paths[] = {"/api/v1/reports/monthly?month=2023-11", "/api/v1/assessment?month=2023-11&format=xlsx"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    struct api_reply *busy = call(f, paths[i]);
    assert_int_equal(busy->status, 503);
    assert_non_null(strstr(busy->body, "too many reads waiting"));
    free(busy);
  }
}

/* The renderings are made on the lane too; a bad month or format is refused at once. */
static void test_report_formats_and_refusals(void **state)
{
  struct api_gated *f = *state;
  struct api_reply *csv = call(f, "/api/v1/reports/monthly?month=2023-11&format=csv");
  assert_int_equal(csv->status, 200);
  assert_non_null(strstr(csv->body, "类别"));
  assert_non_null(strstr(csv->body, "YH-9"));
  free(csv);
  struct api_reply *html = call(f, "/api/v1/reports/monthly?month=2023-11&format=html");
  assert_int_equal(html->status, 200);
  assert_non_null(strstr(html->body, "<table"));
  assert_non_null(strstr(html->body, "YH-9"));
  free(html);
  struct api_reply *bad = call(f, "/api/v1/reports/monthly?month=2023-13");
  assert_int_equal(bad->status, 400);
  assert_non_null(strstr(bad->body, "YYYY-MM"));
  free(bad);
  bad = call(f, "/api/v1/reports/monthly?month=2023-11&format=pdf");
  assert_int_equal(bad->status, 400);
  assert_non_null(strstr(bad->body, "json, csv or html"));
  free(bad);
}

/* With the writer held (as by a flood of alarm transitions), the draft is read at once. */
static void test_commitment_draft_does_not_wait_for_the_writer(void **state)
{
  struct api_gated *f = *state;
  gate_close_on(f->a.p.store, &f->gate, store_submit);
  struct api_reply *r = call(f, "/api/v1/commitment");
  gate_open(&f->gate);
  assert_int_equal(r->status, 200);
  cJSON *o = cJSON_Parse(r->body);
  assert_non_null(o);
  assert_string_equal(cJSON_GetObjectItem(o, "status")->valuestring, "draft");
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "hazards_open"), "major")->valueint, 1);
  cJSON_Delete(o);
  free(r);
}

int main(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_export_waits_for_its_uuids_off_the_loop, setup, api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_report_waits_on_the_read_lane, setup, api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_report_follows_writes_queued_before_it_off_the_loop, setup, api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_reads_when_the_read_lane_is_full, setup, api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_report_formats_and_refusals, setup, api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_commitment_draft_does_not_wait_for_the_writer, setup, api_gated_teardown),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
