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

#include "api.h"
#include "config.h"
#include "plant_fixture.h"
#include "store_gate.h"

static const char test_yaml[] =
  "site: { code: T1 }\n"
  "national: { company_code: '320500123', credit_code: 91350100M000100Y43 }\n"
  "persons: [ { id: wang, name: 王工, phone: '13800000000', roles: [viewer] } ]\n"
  "hazard_sources:\n"
  "  - id: HS1\n"
  "    name: 罐区\n"
  "    units:\n"
  "      - id: U1\n"
  "        name: 储罐\n"
  "        responsible: { dept: 储运, person: wang }\n"
  "        events:\n"
  "          - id: E1\n"
  "            name: 泄漏\n"
  "            lec: { l: 3, e: 6, c: 40 }\n"
  "            measures:\n"
  "              - { id: M1, desc: 巡检, data_src: 2, classify: '3-1', troubleshoot: 查看液位 }\n";

struct fixture {
  struct plant p;
  uv_async_t stop;
  struct http_server *http;
  struct api_ctx api;
  pthread_t thread;
  char base[64];
  struct gate gate;
};

static const struct dg_person *authenticate(void *ud, const char *token)
{
  struct fixture *f = ud;
  return strcmp(token, "tok-wang") == 0 ? dg_config_person(f->p.cfg, "wang") : NULL;
}

static void on_stop(uv_async_t *a)
{
  struct fixture *f = a->data;
  http_stop(f->http);
  plant_close_handles(&f->p);
  uv_close((uv_handle_t *)a, NULL);
}

static void *loop_main(void *arg)
{
  struct fixture *f = arg;
  uv_run(&f->p.loop, UV_RUN_DEFAULT);
  return NULL;
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
  plant_init(&f->p, test_yaml);
  plant_start(&f->p);
  assert_int_equal(store_submit(f->p.store, fill_work, NULL, NULL), 0);
  assert_int_equal(store_wait_idle(f->p.store), 0);
  assert_int_equal(http_start(&f->http, &f->p.loop, "127.0.0.1", 0), 0);
  f->api = (struct api_ctx){.engine = &f->p.engine, .store = f->p.store, .started_ms = dg_wall_ms(), .authenticate = authenticate, .auth_ud = f};
  assert_int_equal(api_register(f->http, &f->api), 0);
  snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", http_port(f->http));
  gate_init(&f->gate);
  uv_async_init(&f->p.loop, &f->stop, on_stop);
  f->stop.data = f;
  assert_int_equal(pthread_create(&f->thread, NULL, loop_main, f), 0);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  gate_open(&f->gate); /* a failed assertion must not leave the writer held */
  uv_async_send(&f->stop);
  pthread_join(f->thread, NULL);
  gate_destroy(&f->gate);
  plant_release(&f->p);
  plant_free(&f->p);
  free(f);
  return 0;
}

struct reply {
  struct fixture *f;
  const char *path;
  CURLcode rc;
  long status;
  char body[65536];
  size_t len;
};

static size_t write_cb(char *data, size_t size, size_t n, void *ud)
{
  struct reply *r = ud;
  size_t add = size * n;
  if (r->len + add >= sizeof r->body) return 0;
  memcpy(r->body + r->len, data, add);
  r->len += add;
  r->body[r->len] = '\0';
  return add;
}

/* GET path as wang, on a connection of its own; gives up after timeout_s. */
static void get(struct reply *r, long timeout_s)
{
  char url[256];
  snprintf(url, sizeof url, "%s%s", r->f->base, r->path);
  CURL *c = curl_easy_init();
  assert_non_null(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  struct curl_slist *hdrs = curl_slist_append(NULL, "Authorization: Bearer tok-wang");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  r->rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(c);
}

static void *get_main(void *arg)
{
  get(arg, 30);
  return NULL;
}

static int count_rows(struct fixture *f, const char *sql)
{
  sqlite3 *db;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open_v2(f->p.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int n = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

/* With the writer held, the export waits for its UUIDs' commit while the loop answers others;
 * once the writer goes on, the export carries the hazard with the UUID it stored. */
static void test_export_waits_for_its_uuids_off_the_loop(void **state)
{
  struct fixture *f = *state;
  static const char uuids[] = "SELECT count(*) FROM national_ids";
  int before = count_rows(f, uuids);
  gate_close_on(f->p.store, &f->gate, store_submit);
  struct reply *exp = calloc(1, sizeof *exp);
  *exp = (struct reply){.f = f, .path = "/api/v1/export?since=0"};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, get_main, exp), 0);

  struct reply who = {.f = f, .path = "/api/v1/whoami"};
  get(&who, 10);
  assert_int_equal(who.rc, CURLE_OK);
  assert_int_equal(who.status, 200);
  assert_int_equal(count_rows(f, uuids), before); /* the export's job is still held */

  gate_open(&f->gate);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(exp->rc, CURLE_OK);
  assert_int_equal(exp->status, 200);
  assert_true(count_rows(f, uuids) > before);
  char uuid[40] = "";
  sqlite3 *db;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open_v2(f->p.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT uuid FROM national_ids WHERE kind = 'hazard'", -1, &st, NULL),
                   SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW) snprintf(uuid, sizeof uuid, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  assert_int_equal(strlen(uuid), 36);
  assert_non_null(strstr(exp->body, uuid));
  free(exp);
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
