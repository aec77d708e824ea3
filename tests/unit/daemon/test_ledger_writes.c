/* The operators' ledger writes over HTTP (api_ledger: report, hazard transitions, inspection
 * results; api_attach: photos), with the real server, API and store on loopback and a real
 * libcurl client. Each is answered after its commit, but the loop does not wait for the commit:
 * with the writer held, other requests are answered meanwhile. Two writes read from the same
 * state while the first is still queued: the second is refused, not applied on top; so is the
 * second of two confirmations of the day's safety commitment, the assignment of an
 * inspection task completed meanwhile, the second of two stop flags set at once and an expert
 * review of a major hazard closed meanwhile. The governance writes (stop flag, expert review,
 * a hazard source's state, a special operation) and the site plan's are answered after their
 * commit the same way, and so are the national upload's shutdown records and a post link's
 * revocation; a polygon drawn on a plan replaced meanwhile by a smaller image is refused. A
 * write still queued when the server stops commits, its answer dropped. */
#include <curl/curl.h>
#include <errno.h>
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
  "persons:\n"
  "  - { id: wang, name: 王工, phone: '13800000000', roles: [engineer] }\n"
  "  - { id: zhao, name: 赵工, phone: '13800000001', roles: [viewer] }\n"
  "  - { id: li, name: 李总, phone: '13800000002', roles: [principal] }\n"
  PLANT_YAML_TANK_FARM
  "posts:\n  - { id: P1, name: 罐区操作工, units: [U1], persons: [wang] }\n";

static const struct dg_person *authenticate(void *ud, const char *token)
{
  struct api_gated *f = ud;
  if (strcmp(token, "tok-wang") == 0) return dg_config_person(f->a.p.cfg, "wang");
  if (strcmp(token, "tok-zhao") == 0) return dg_config_person(f->a.p.cfg, "zhao");
  if (strcmp(token, "tok-li") == 0) return dg_config_person(f->a.p.cfg, "li");
  return NULL;
}

/* A general hazard 1000 in 整改中, its rectification recorded by wang: ready to submit. */
static const char fill_sql[] =
  "INSERT INTO hazards (id, code, danger_level, danger_src, danger_manage_type, hazard_danger_type,"
  " danger_state, description, liable_person, rectifier, rectify_measures, cost, contingency_plan,"
  " deadline_ms, hazard_source, unit, measure, created_ms, updated_ms)"
  " VALUES (1000, 'YH-1000', 0, 1, 1, 1, 0, '法兰渗漏', 'wang', 'wang', '更换法兰垫片', 800,"
  " '泄漏专项预案', 4102444800000, 'HS1', 'U1', 'M1', 1699920000000, 1699920000000);"
  /* a major hazard 1001 in 整改中, its assessment report and treatment plan attached */
  "INSERT INTO hazards (id, code, danger_level, danger_src, danger_manage_type, hazard_danger_type,"
  " danger_state, description, hazard_source, unit, measure, created_ms, updated_ms)"
  " VALUES (1001, 'YH-1001', 1, 1, 1, 1, 0, '储罐基础沉降', 'HS1', 'U1', 'M1', 1699920000000, 1699920000000);"
  "INSERT INTO attachments (hazard_id, stage, sha256, size, content_type, file, uploader, created_ms)"
  " VALUES (1001, 'assessment', 'aa', 1, 'application/pdf', 'a.pdf', 'li', 1699920000000),"
  " (1001, 'plan', 'bb', 1, 'application/pdf', 'b.pdf', 'li', 1699920000000);"
  /* a site plan of 1000 x 800 pixels */
  "INSERT INTO site_plans (sha256, size, content_type, file, width, height, uploader, created_ms)"
  " VALUES ('cc', 1, 'image/png', 'p.png', 1000, 800, 'wang', 1699920000000);"
  /* and inspection task 2000 of M1, pending */
  "INSERT INTO inspection_tasks (id, measure, unit, hazard_source, check_cycle, check_cycle_unit, start_ms, due_ms)"
  " VALUES (2000, 'M1', 'U1', 'HS1', 1, '天', 1699920000000, 4102444800000)";

static int setup(void **state) { return api_gated_setup(state, test_yaml, fill_sql, authenticate); }

static void assert_query(const struct api_gated *f, const char *sql, const char *want)
{
  char got[256];
  api_fixture_query(&f->a, sql, got, sizeof got);
  assert_string_equal(got, want);
}

/* Runs the prepared request x with the writer held: its job queues behind the gate, and the loop
 * answers another request meanwhile while `sql` still reads `before`. Then the writer goes on;
 * the write's answer comes once it is committed. Returns its status, the reply in x. */
static long run_held(struct api_gated *f, struct api_call_thread *x, const char *sql, const char *before)
{
  gate_close_on(f->a.p.store, &f->gate, store_submit);
  api_call_thread_run(x);
  api_gated_wait_pending(f, 2);
  api_gated_answered_meanwhile(f, "tok-wang", x);
  assert_query(f, sql, before);
  gate_open(&f->gate);
  return api_call_thread_join(x);
}

static long post_held_as(struct api_gated *f, struct api_call_thread *x, const char *token, const char *path,
                         const char *body, const char *sql, const char *before)
{
  *x = (struct api_call_thread){.a = &f->a, .path = path, .token = token, .body = body};
  return run_held(f, x, sql, before);
}

static long post_held(struct api_gated *f, struct api_call_thread *x, const char *path, const char *body,
                      const char *sql, const char *before)
{
  return post_held_as(f, x, "tok-wang", path, body, sql, before);
}

static void test_transition_is_answered_after_its_commit_off_the_loop(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread x;
  const char *state_sql = "SELECT danger_state FROM hazards WHERE id = 1000";
  assert_int_equal(post_held(f, &x, "/api/v1/hazards/1000/submit", "{}", state_sql, "0"), 200);
  cJSON *o = cJSON_Parse(x.reply.body);
  assert_non_null(o);
  assert_int_equal(cJSON_GetObjectItem(o, "danger_state")->valueint, 1);
  assert_string_equal(cJSON_GetObjectItem(o, "code")->valuestring, "YH-1000");
  cJSON_Delete(o);
  assert_query(f, state_sql, "1");
  assert_query(f, "SELECT action || ' ' || actor FROM hazard_journal WHERE hazard_id = 1000", "submit wang");
}

static void test_report_is_answered_after_its_commit_off_the_loop(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread x;
  assert_int_equal(post_held(f, &x, "/api/v1/hazards", "{\"description\":\"储罐呼吸阀堵塞\",\"danger_src\":1}",
                             "SELECT count(*) FROM hazards", "2"),
                   201);
  cJSON *o = cJSON_Parse(x.reply.body);
  assert_non_null(o);
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT description FROM hazards WHERE id = %d", cJSON_GetObjectItem(o, "id")->valueint);
  cJSON_Delete(o);
  assert_query(f, sql, "储罐呼吸阀堵塞");
}

/* Two submits read 整改中 while neither is committed: the first moves the hazard, the second
 * finds the state moved and is refused with 409; one journal entry, not two. */
/* With the writer held, a submit of hazard 1000 is queued, then `second` (prepared, not yet
 * started) is read from the same state and queued behind it. Once the writer goes on, the submit
 * commits (200) and `second` finds the state moved (409 "changed meanwhile"). */
static void second_behind_a_submit(struct api_gated *f, struct api_call_thread *second)
{
  gate_close_on(f->a.p.store, &f->gate, store_submit);
  struct api_call_thread first;
  api_call_thread_start(&first, &f->a, "/api/v1/hazards/1000/submit", "tok-wang", "{}");
  api_gated_wait_pending(f, 2);
  api_call_thread_run(second);
  api_gated_wait_pending(f, 3);
  gate_open(&f->gate);
  assert_int_equal(api_call_thread_join(&first), 200);
  assert_int_equal(api_call_thread_join(second), 409);
  assert_non_null(strstr(second->reply.body, "changed meanwhile"));
}

static void test_second_transition_from_the_same_state_is_refused(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread x = {.a = &f->a, .path = "/api/v1/hazards/1000/submit", .token = "tok-wang", .body = "{}"};
  second_behind_a_submit(f, &x);
  assert_query(f, "SELECT count(*) FROM hazard_journal WHERE hazard_id = 1000", "1");
  assert_query(f, "SELECT danger_state FROM hazards WHERE id = 1000", "1");
}

/* Refusals are answered at once, before anything is queued, and leave the hazard as it was. */
static void test_refusals_are_answered_without_a_job(void **state)
{
  struct api_gated *f = *state;
  gate_close_on(f->a.p.store, &f->gate, store_submit);
  struct api_reply r;
  api_fixture_call(&f->a, "/api/v1/hazards/1000/verify", "tok-wang", "{}", 10, &r);
  assert_int_equal(r.status, 409); /* not pending acceptance yet */
  api_fixture_call(&f->a, "/api/v1/hazards/1000/submit", "tok-zhao", "{}", 10, &r);
  assert_int_equal(r.status, 403); /* a viewer */
  api_fixture_call(&f->a, "/api/v1/hazards/99/submit", "tok-wang", "{}", 10, &r);
  assert_int_equal(r.status, 404);
  api_fixture_call(&f->a, "/api/v1/hazards/1000/rectify", "tok-wang", "{\"cost\":\"many\"}", 10, &r);
  assert_int_equal(r.status, 400);
  assert_int_equal(store_pending(f->a.p.store), 1); /* the gate's job alone */
  gate_open(&f->gate);
  api_gated_wait_pending(f, 0);
  assert_query(f, "SELECT count(*) FROM hazard_journal", "0");
  assert_query(f, "SELECT danger_state FROM hazards WHERE id = 1000", "0");
}

/* The smallest PNG the upload's check takes: its signature, then bytes. */
static const char png[] = "\x89PNG\r\n\x1a\n rectified flange, photo";
#define PNG_LEN (sizeof png - 1)

/* A photo's bytes go to disk and its row commits on the writer (an fsync each); meanwhile the
 * loop answers others. Then 201 with the row as committed, the file in the attachments folder. */
static void test_photo_is_answered_after_its_commit_off_the_loop(void **state)
{
  struct api_gated *f = *state;
  const char *count_sql = "SELECT count(*) FROM attachments WHERE hazard_id = 1000";
  gate_close_on(f->a.p.store, &f->gate, store_submit);
  struct api_call_thread x;
  api_call_thread_post(&x, &f->a, "/api/v1/hazards/1000/photos?note=%E6%B3%95%E5%85%B0", "tok-wang", "image/png",
                       png, PNG_LEN);
  api_gated_wait_pending(f, 2);
  api_gated_answered_meanwhile(f, "tok-wang", &x);
  assert_query(f, count_sql, "0");
  gate_open(&f->gate);
  assert_int_equal(api_call_thread_join(&x), 201);
  cJSON *o = cJSON_Parse(x.reply.body);
  assert_non_null(o);
  assert_string_equal(cJSON_GetObjectItem(o, "stage")->valuestring, "rectify");
  assert_string_equal(cJSON_GetObjectItem(o, "note")->valuestring, "法兰");
  assert_int_equal(cJSON_GetObjectItem(o, "size")->valueint, (int)PNG_LEN);
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT uploader || ' ' || file FROM attachments WHERE id = %d",
           cJSON_GetObjectItem(o, "id")->valueint);
  cJSON_Delete(o);
  assert_query(f, count_sql, "1");
  char row[256], path[512];
  api_fixture_query(&f->a, sql, row, sizeof row);
  assert_memory_equal(row, "wang ", 5);
  snprintf(path, sizeof path, "%s/%s", f->a.attachments, row + 5);
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  char got[64];
  assert_int_equal(fread(got, 1, sizeof got, fp), PNG_LEN);
  fclose(fp);
  assert_memory_equal(got, png, PNG_LEN);
  assert_query(f, "SELECT action || ' ' || actor FROM hazard_journal WHERE hazard_id = 1000", "photo wang");
}

/* A photo checked against 整改中 while a submit read from the same state is queued ahead of it:
 * the submit commits first, and the photo, which would be journaled in a step the hazard has
 * left, is refused with 409; no row, no journal entry of it. */
static void test_photo_for_a_hazard_that_moved_is_refused(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread x = {.a = &f->a, .path = "/api/v1/hazards/1000/photos", .token = "tok-wang", .body = png,
                              .content_type = "image/png", .len = PNG_LEN};
  second_behind_a_submit(f, &x);
  assert_query(f, "SELECT count(*) FROM attachments WHERE hazard_id = 1000", "0");
  assert_query(f, "SELECT group_concat(action) FROM hazard_journal WHERE hazard_id = 1000", "submit");
}

static const char assigned_sql[] = "SELECT coalesce(assigned_person, '-') FROM inspection_tasks WHERE id = 2000";

static void test_task_assignment_is_answered_after_its_commit_off_the_loop(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread x;
  assert_int_equal(post_held(f, &x, "/api/v1/inspections/2000/assign", "{\"person\":\"zhao\"}", assigned_sql, "-"),
                   200);
  assert_non_null(strstr(x.reply.body, "\"person\":\"zhao\""));
  assert_query(f, assigned_sql, "zhao");
}

static int complete_task_2000(struct store_conn *c, void *arg)
{
  return sqlite3_exec(store_conn_db(c), "UPDATE inspection_tasks SET check_status = 0 WHERE id = 2000", NULL, NULL,
                      NULL);
}

/* The task is completed by a write queued before the assignment, which read it pending: the
 * assignment is refused and changes nothing. */
static void test_assignment_of_a_task_completed_meanwhile_is_refused(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread x;
  gate_close_on(f->a.p.store, &f->gate, store_submit);
  assert_int_equal(store_submit_urgent(f->a.p.store, complete_task_2000, NULL, NULL), 0);
  api_call_thread_start(&x, &f->a, "/api/v1/inspections/2000/assign", "tok-wang", "{\"person\":\"zhao\"}");
  api_gated_wait_pending(f, 3);
  gate_open(&f->gate);
  assert_int_equal(api_call_thread_join(&x), 409);
  assert_non_null(strstr(x.reply.body, "completed meanwhile"));
  assert_query(f, assigned_sql, "-");
}

/* The principal confirms today's safety commitment twice at once (two screens): both find the
 * day unconfirmed, the first is committed and the second refused. */
static void test_two_confirmations_of_the_commitment_at_once(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread x, y;
  gate_close_on(f->a.p.store, &f->gate, store_submit);
  api_call_thread_start(&x, &f->a, "/api/v1/commitment/confirm", "tok-li", "{\"note\":\"一号屏\"}");
  api_call_thread_start(&y, &f->a, "/api/v1/commitment/confirm", "tok-li", "{\"note\":\"二号屏\"}");
  api_gated_wait_pending(f, 3);
  api_gated_answered_meanwhile(f, "tok-wang", &x);
  assert_query(f, "SELECT count(*) FROM commitments", "0");
  gate_open(&f->gate);
  long sx = api_call_thread_join(&x), sy = api_call_thread_join(&y);
  assert_true((sx == 201 && sy == 409) || (sx == 409 && sy == 201));
  const struct api_call_thread *won = sx == 201 ? &x : &y;
  assert_non_null(strstr(won->reply.body, "\"status\":\"confirmed\""));
  assert_non_null(strstr((sx == 409 ? &x : &y)->reply.body, "already confirmed"));
  char want[64];
  snprintf(want, sizeof want, "1 %s", won == &x ? "一号屏" : "二号屏");
  assert_query(f, "SELECT count(*) || ' ' || json_extract(max(body), '$.note') FROM commitments", want);
}

static const char stop_sql[] = "SELECT stop_flag || ' ' || coalesce(stop_by, '-') FROM hazards WHERE id = 1001";

static void test_stop_flag_is_answered_after_its_commit_off_the_loop(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread x;
  assert_int_equal(post_held_as(f, &x, "tok-li", "/api/v1/hazards/1001/stop",
                                "{\"flag\":\"stop_production\",\"reason\":\"基础沉降超限\"}", stop_sql, "0 -"),
                   200);
  assert_non_null(strstr(x.reply.body, "\"stop_flag\":\"stop_production\""));
  assert_query(f, stop_sql, "1 li");
  assert_query(f, "SELECT action || ' ' || actor FROM hazard_journal WHERE hazard_id = 1001", "stop li");
}

/* Two screens set the stop flag at once: both read it clear, the first sets it and the second
 * finds it moved (409); one journal entry. */
static void test_second_of_two_stops_at_once_is_refused(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread x, y;
  gate_close_on(f->a.p.store, &f->gate, store_submit);
  api_call_thread_start(&x, &f->a, "/api/v1/hazards/1001/stop", "tok-li", "{\"flag\":\"evacuate\",\"reason\":\"一号屏\"}");
  api_gated_wait_pending(f, 2);
  api_call_thread_start(&y, &f->a, "/api/v1/hazards/1001/stop", "tok-li",
                        "{\"flag\":\"stop_production\",\"reason\":\"二号屏\"}");
  api_gated_wait_pending(f, 3);
  gate_open(&f->gate);
  assert_int_equal(api_call_thread_join(&x), 200);
  assert_int_equal(api_call_thread_join(&y), 409);
  assert_non_null(strstr(y.reply.body, "changed meanwhile"));
  assert_query(f, "SELECT stop_flag || ' ' || stop_reason FROM hazards WHERE id = 1001", "2 一号屏");
  assert_query(f, "SELECT count(*) FROM hazard_journal WHERE hazard_id = 1001", "1");
}

static int accept_hazard_1001(struct store_conn *c, void *arg)
{
  (void)arg;
  return sqlite3_exec(store_conn_db(c), "UPDATE hazards SET danger_state = 9 WHERE id = 1001", NULL, NULL, NULL);
}

static const char review_body[] =
  "{\"reviewers\":[\"张教授\",\"刘工\"],\"conclusion\":\"approved\",\"opinion\":\"治理方案可行\"}";

static void test_expert_review_is_answered_after_its_commit_off_the_loop(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread x;
  assert_int_equal(post_held_as(f, &x, "tok-li", "/api/v1/hazards/1001/expert-review", review_body,
                                "SELECT count(*) FROM expert_reviews", "0"),
                   201);
  assert_non_null(strstr(x.reply.body, "\"reviewers\":[\"张教授\",\"刘工\"]"));
  assert_query(f, "SELECT recorder || ' ' || conclusion || ' ' || opinion FROM expert_reviews", "li 1 治理方案可行");
  assert_query(f, "SELECT action || ' ' || comment FROM hazard_journal WHERE hazard_id = 1001",
               "expert_review 专家论证通过 (张教授、刘工): 治理方案可行");
}

/* The hazard is closed by a write queued before the review, which read it open: the review is
 * refused and records nothing. */
static void test_expert_review_of_a_hazard_closed_meanwhile_is_refused(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread x;
  gate_close_on(f->a.p.store, &f->gate, store_submit);
  assert_int_equal(store_submit_urgent(f->a.p.store, accept_hazard_1001, NULL, NULL), 0);
  api_call_thread_start(&x, &f->a, "/api/v1/hazards/1001/expert-review", "tok-li", review_body);
  api_gated_wait_pending(f, 3);
  gate_open(&f->gate);
  assert_int_equal(api_call_thread_join(&x), 409);
  assert_non_null(strstr(x.reply.body, "changed meanwhile"));
  assert_query(f, "SELECT count(*) FROM expert_reviews", "0");
  assert_query(f, "SELECT count(*) FROM hazard_journal WHERE hazard_id = 1001", "0");
}

static void test_source_state_is_answered_after_its_commit_off_the_loop(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread x;
  assert_int_equal(post_held(f, &x, "/api/v1/hazard-sources/HS1/state", "{\"state\":\"maintenance\",\"reason\":\"年度检修\"}",
                             "SELECT count(*) FROM source_states", "0"),
                   201);
  assert_non_null(strstr(x.reply.body, "\"state\":\"maintenance\""));
  assert_non_null(strstr(x.reply.body, "\"id\":\"HS1\""));
  assert_query(f, "SELECT hazard_source || ' ' || state || ' ' || actor FROM source_states", "HS1 2 wang");
}

static void test_special_operation_is_answered_after_its_commit_off_the_loop(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread x;
  assert_int_equal(post_held(f, &x, "/api/v1/special-operations",
                             "{\"type\":\"hot_work\",\"place\":\"罐区东侧\",\"start_ms\":1699920000000,"
                             "\"end_ms\":1699934400000,\"unit\":\"U1\"}",
                             "SELECT count(*) FROM special_operations", "0"),
                   201);
  assert_non_null(strstr(x.reply.body, "\"place\":\"罐区东侧\""));
  assert_non_null(strstr(x.reply.body, "\"declared_by\":\"wang\""));
  assert_query(f, "SELECT op_type || ' ' || unit || ' ' || declared_by FROM special_operations", "0 U1 wang");
}

static const char polygon_body[] = "{\"points\":[[100,100],[300,100],[300,250],[100,250]]}";
static const char polygon_sql[] = "SELECT count(*) FROM site_plan_units";

static void test_polygon_is_answered_after_its_commit_off_the_loop(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread x = {.a = &f->a, .path = "/api/v1/site-plan/units/U1", .token = "tok-wang",
                              .body = polygon_body, .method = "PUT"};
  assert_int_equal(run_held(f, &x, polygon_sql, "0"), 200);
  assert_non_null(strstr(x.reply.body, "\"updated_by\":\"wang\""));
  assert_query(f, "SELECT unit || ' ' || max_x || ' ' || max_y FROM site_plan_units", "U1 300.0 250.0");
  assert_query(f, "SELECT op || ' ' || unit || ' ' || coalesce(before, '-') FROM site_plan_edits", "set U1 -");
}

/* A 16 x 16 PNG (signature and IHDR: enough for the size and the type). */
static const char small_png[] = "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x10\0\0\0\x10\x08\x02\0\0\0\0\0\0\0";
#define SMALL_PNG_LEN (sizeof small_png - 1)

/* A polygon drawn on the 1000 x 800 plan is queued behind the upload of a 16 x 16 one: the
 * upload commits, and the polygon, which no longer fits, is refused and stores nothing. */
static void test_polygon_on_a_plan_replaced_meanwhile_is_refused(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread up, x = {.a = &f->a, .path = "/api/v1/site-plan/units/U1", .token = "tok-wang",
                                  .body = polygon_body, .method = "PUT"};
  gate_close_on(f->a.p.store, &f->gate, store_submit);
  api_call_thread_post(&up, &f->a, "/api/v1/site-plan/image", "tok-wang", "image/png", small_png, SMALL_PNG_LEN);
  api_gated_wait_pending(f, 2);
  api_call_thread_run(&x);
  api_gated_wait_pending(f, 3);
  gate_open(&f->gate);
  assert_int_equal(api_call_thread_join(&up), 201);
  assert_non_null(strstr(up.reply.body, "\"width\":16"));
  assert_int_equal(api_call_thread_join(&x), 409);
  assert_non_null(strstr(x.reply.body, "changed meanwhile"));
  assert_query(f, polygon_sql, "0");
  assert_query(f, "SELECT group_concat(op) FROM site_plan_edits", "image");
}

/* A shutdown record for the national upload (停产检修), then its deletion: each answered after
 * its commit; deleting it again finds nothing to delete. */
static void test_shutdown_record_is_answered_after_its_commit_off_the_loop(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread x;
  const char *sql = "SELECT count(*) || ' ' || coalesce(max(deleted), '-') FROM shutdown_records";
  assert_int_equal(post_held(f, &x, "/api/v1/shutdowns",
                             "{\"hazard_source\":\"HS1\",\"unit\":\"U1\",\"start_ms\":1699920000000,\"reason\":\"年度检修\"}",
                             sql, "0 -"),
                   201);
  cJSON *o = cJSON_Parse(x.reply.body);
  assert_non_null(o);
  char path[64];
  snprintf(path, sizeof path, "/api/v1/shutdowns/%d", cJSON_GetObjectItem(o, "id")->valueint);
  cJSON_Delete(o);
  assert_query(f, "SELECT unit || ' ' || reason || ' ' || created_by FROM shutdown_records", "U1 年度检修 wang");
  x = (struct api_call_thread){.a = &f->a, .path = path, .token = "tok-wang", .method = "DELETE"};
  assert_int_equal(run_held(f, &x, sql, "1 0"), 200);
  assert_query(f, sql, "1 1");
  struct api_reply r;
  api_fixture_request(&f->a, "DELETE", path, "tok-wang", NULL, NULL, 0, 10, &r);
  assert_int_equal(r.status, 404);
}

/* The retry of dead-lettered uploads (here none) is answered after its commit. */
static void test_upload_retry_is_answered_after_its_commit_off_the_loop(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread x;
  assert_int_equal(post_held(f, &x, "/api/v1/upload/retry", "{\"kind\":\"hazards\"}",
                             "SELECT count(*) FROM upload_queue", "0"),
                   200);
  assert_string_equal(x.reply.body, "{\"retried\":0}");
}

/* The daemon stops while a stop flag waits for the writer: the server closes the connection
 * without an answer, and the change, already taken by the writer's queue, still commits once
 * the writer goes on; its answer is dropped, touching nothing freed (ASan). */
static void test_shutdown_while_a_governance_write_waits(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread x = {.a = &f->a, .path = "/api/v1/hazards/1001/stop", .token = "tok-li",
                              .body = "{\"flag\":\"evacuate\",\"reason\":\"停机前\"}"};
  gate_close_on(f->a.p.store, &f->gate, store_submit);
  api_call_thread_run(&x);
  api_gated_wait_pending(f, 2);
  uv_async_send(&f->a.stop); /* the server stops; the store's close waits for the held writer */
  assert_int_equal(pthread_join(x.thread, NULL), 0);
  assert_int_not_equal(x.reply.rc, CURLE_OK);
  gate_open(&f->gate);
  assert_int_equal(pthread_join(f->a.thread, NULL), 0);
  plant_release(&f->a.p);
  assert_query(f, stop_sql, "2 li");
  plant_free(&f->a.p);
  gate_destroy(&f->gate);
  free(f);
}

/* Revoking a post's phone link is answered after its commit, with the next generation's link. */
static void test_post_link_revocation_is_answered_after_its_commit_off_the_loop(void **state)
{
  struct api_gated *f = *state;
  struct api_call_thread x;
  struct api_reply r;
  api_fixture_call(&f->a, "/api/v1/posts/P1/link", "tok-wang", NULL, 10, &r); /* makes the secret */
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\"generation\":0"));
  assert_int_equal(post_held(f, &x, "/api/v1/posts/P1/link/revoke", "{}",
                             "SELECT count(*) FROM post_links", "0"),
                   200);
  assert_non_null(strstr(x.reply.body, "\"generation\":1"));
  assert_query(f, "SELECT post || ' ' || generation || ' ' || revoked_by FROM post_links", "P1 1 wang");
}

int main(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_transition_is_answered_after_its_commit_off_the_loop, setup, api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_report_is_answered_after_its_commit_off_the_loop, setup, api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_second_transition_from_the_same_state_is_refused, setup, api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_refusals_are_answered_without_a_job, setup, api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_photo_is_answered_after_its_commit_off_the_loop, setup, api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_photo_for_a_hazard_that_moved_is_refused, setup, api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_stop_flag_is_answered_after_its_commit_off_the_loop, setup, api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_second_of_two_stops_at_once_is_refused, setup, api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_expert_review_is_answered_after_its_commit_off_the_loop, setup,
                                    api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_expert_review_of_a_hazard_closed_meanwhile_is_refused, setup,
                                    api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_source_state_is_answered_after_its_commit_off_the_loop, setup,
                                    api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_special_operation_is_answered_after_its_commit_off_the_loop, setup,
                                    api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_polygon_is_answered_after_its_commit_off_the_loop, setup, api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_polygon_on_a_plan_replaced_meanwhile_is_refused, setup, api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_shutdown_record_is_answered_after_its_commit_off_the_loop, setup,
                                    api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_upload_retry_is_answered_after_its_commit_off_the_loop, setup,
                                    api_gated_teardown),
    cmocka_unit_test_setup(test_shutdown_while_a_governance_write_waits, setup),
    cmocka_unit_test_setup_teardown(test_post_link_revocation_is_answered_after_its_commit_off_the_loop, setup,
                                    api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_two_confirmations_of_the_commitment_at_once, setup, api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_task_assignment_is_answered_after_its_commit_off_the_loop, setup,
                                    api_gated_teardown),
    cmocka_unit_test_setup_teardown(test_assignment_of_a_task_completed_meanwhile_is_refused, setup,
                                    api_gated_teardown),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
