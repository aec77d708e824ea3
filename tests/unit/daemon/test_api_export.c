/* GET /api/v1/export over HTTP: the real server, API and store on loopback, a real libcurl
 * client. The export stores the national record UUIDs through the writer and reads the ledger
 * on the read lane; the loop waits for neither, so other requests are answered meanwhile. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api_fixture.h"
#include "store_gate.h"

static const char test_yaml[] =
  "site: { code: T1 }\n"
  "national: { company_code: '320500123', credit_code: 91350100M000100Y43 }\n"
  "persons: [ { id: wang, name: 王工, phone: '13800000000', roles: [viewer] } ]\n"
  PLANT_YAML_TANK_FARM;

struct fixture {
  struct api_fixture a;
  struct gate gate;
};

static const struct dg_person *authenticate(void *ud, const char *token)
{
  struct fixture *f = ud;
  return strcmp(token, "tok-wang") == 0 ? dg_config_person(f->a.p.cfg, "wang") : NULL;
}

static int fill_work(struct store_conn *c, void *arg)
{
  (void)arg;
  return sqlite3_exec(store_conn_db(c),
                      "INSERT INTO hazards (code, danger_level, danger_src, danger_manage_type, hazard_danger_type,"
                      " danger_state, description, liable_person, hazard_source, unit, measure, created_ms, updated_ms)"
                      " VALUES ('YH-1', 0, 1, 1, 1, 9, '地沟积水', 'wang', 'HS1', 'U1', 'M1', 1700000000000, 1700000000000)",
                      NULL, NULL, NULL);
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);
  plant_init(&f->a.p, test_yaml);
  plant_start(&f->a.p);
  assert_int_equal(store_submit(f->a.p.store, fill_work, NULL, NULL), 0);
  assert_int_equal(store_wait_idle(f->a.p.store), 0);
  api_fixture_listen(&f->a, authenticate, f);
  gate_init(&f->gate);
  api_fixture_run(&f->a);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  gate_open(&f->gate); /* a failed assertion must not leave the writer held */
  api_fixture_stop(&f->a);
  gate_destroy(&f->gate);
  free(f);
  return 0;
}

struct export_call {
  const struct api_fixture *a;
  struct api_reply reply;
};

static void *export_main(void *arg)
{
  struct export_call *x = arg;
  api_fixture_call(x->a, "/api/v1/export?since=0", "tok-wang", NULL, 30, &x->reply);
  return NULL;
}

/* The first column of the first row of sql, read with a connection of its own ("" if none). */
static void query(const struct fixture *f, const char *sql, char *out, size_t len)
{
  sqlite3 *db;
  sqlite3_stmt *st;
  out[0] = '\0';
  assert_int_equal(sqlite3_open_v2(f->a.p.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
    snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
}

static int count_uuids(const struct fixture *f)
{
  char n[32];
  query(f, "SELECT count(*) FROM national_ids", n, sizeof n);
  return atoi(n);
}

/* With the writer held, the export waits for its UUIDs' commit while the loop answers others;
 * once the writer goes on, the export carries the hazard with the UUID it stored. */
static void test_export_waits_for_its_uuids_off_the_loop(void **state)
{
  struct fixture *f = *state;
  int before = count_uuids(f);
  gate_close_on(f->a.p.store, &f->gate, store_submit);
  struct export_call *x = calloc(1, sizeof *x);
  x->a = &f->a;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, export_main, x), 0);

  struct api_reply *who = calloc(1, sizeof *who);
  api_fixture_call(&f->a, "/api/v1/whoami", "tok-wang", NULL, 10, who);
  assert_int_equal(who->rc, CURLE_OK);
  assert_int_equal(who->status, 200);
  free(who);
  assert_int_equal(count_uuids(f), before); /* the export's job is still held */

  gate_open(&f->gate);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(x->reply.rc, CURLE_OK);
  assert_int_equal(x->reply.status, 200);
  assert_true(count_uuids(f) > before);
  char uuid[40];
  query(f, "SELECT uuid FROM national_ids WHERE kind = 'hazard'", uuid, sizeof uuid);
  assert_int_equal(strlen(uuid), 36);
  assert_non_null(strstr(x->reply.body, uuid));
  free(x);
}

int main(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_export_waits_for_its_uuids_off_the_loop, setup, teardown),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
