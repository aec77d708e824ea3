/* Operator actions over HTTP: the real server, API, engine and store on loopback, a real libcurl
 * client. Tokens map to configured persons through the api_ctx authenticator; roles decide. */
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
#include <unistd.h>
#include <cmocka.h>

#include "api.h"
#include "config.h"
#include "httpc.h"
#include "log.h"
#include "plant_fixture.h"
#include "sdnotify.h"

static const char test_yaml[] =
  "site: { code: T1 }\n"
  "persons:\n"
  "  - { id: wang, name: 王, roles: [operator] }\n"
  "  - { id: li, name: 李, roles: [engineer] }\n"
  "  - { id: zhao, name: 赵, roles: [viewer] }\n"
  PLANT_YAML_MQTT
  "points:\n"
  "  - { id: P1, driver: mqtt.main, topic: t/p1 }\n"
  "rules:\n"
  "  - { id: R1, type: high, point: P1, latched: true, stages: [ { name: H, limit: 25, priority: critical } ] }\n";

struct fixture {
  struct plant p;
  uv_async_t stop;
  struct http_server *http;
  struct api_ctx api;
  pthread_t thread;
  char base[64];
};

/* Stands in for the token store: fixed tokens of configured persons. */
static const struct dg_person *authenticate(void *ud, const char *token)
{
  struct fixture *f = ud;
  static const char *const tokens[][2] = {{"tok-wang", "wang"}, {"tok-li", "li"}, {"tok-zhao", "zhao"}};
  for (size_t i = 0; i < 3; i++)
    if (strcmp(token, tokens[i][0]) == 0) return dg_config_person(f->p.cfg, tokens[i][1]);
  return NULL;
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

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);
  plant_init(&f->p, test_yaml);
  plant_start(&f->p);
  assert_int_equal(http_start(&f->http, &f->p.loop, "127.0.0.1", 0), 0);
  f->api = (struct api_ctx){.engine = &f->p.engine, .store = f->p.store, .notify = f->p.notify, .started_ms = dg_wall_ms(),
                            .authenticate = authenticate, .auth_ud = f};
  assert_int_equal(api_register(f->http, &f->api), 0);
  snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", http_port(f->http));
  /* Alarm R1 active before the loop thread takes over. */
  plant_feed(&f->p, "P1", 30, DG_Q_GOOD);
  uv_async_init(&f->p.loop, &f->stop, on_stop);
  f->stop.data = f;
  assert_int_equal(pthread_create(&f->thread, NULL, loop_main, f), 0);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  uv_async_send(&f->stop);
  pthread_join(f->thread, NULL);
  plant_release(&f->p);
  plant_free(&f->p);
  free(f);
  return 0;
}

struct reply {
  long status;
  char body[4096];
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

/* POST (body non-NULL) or GET; token NULL sends no Authorization header. */
static struct reply call(struct fixture *f, const char *path, const char *token, const char *body)
{
  struct reply r = {0};
  char url[256], auth[128];
  snprintf(url, sizeof url, "%s%s", f->base, path);
  CURL *c = curl_easy_init();
  assert_non_null(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
  if (token) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    hdrs = curl_slist_append(hdrs, auth);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  assert_int_equal(curl_easy_perform(c), CURLE_OK);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(c);
  return r;
}

#define EXPECT(r, code, text)                                                                      \
  do {                                                                                             \
    struct reply r_ = (r);                                                                         \
    if (r_.status != (code) || !strstr(r_.body, (text)))                                           \
      fail_msg("status %ld body %s; expected %d with '%s'", r_.status, r_.body, (code), (text));    \
  } while (0)

static void test_auth_and_roles(void **state)
{
  struct fixture *f = *state;
  char path[64];
  snprintf(path, sizeof path, "/api/v1/alarms/%lld/ack", (long long)f->p.engine.alarms[0].id);
  EXPECT(call(f, path, NULL, "{}"), 401, "Bearer");
  EXPECT(call(f, path, "tok-nobody", "{}"), 401, "Bearer");
  EXPECT(call(f, path, "tok-zhao", "{}"), 403, "operator");
  EXPECT(call(f, "/api/v1/alarms/9999/ack", "tok-wang", "{}"), 404, "no such alarm");
  EXPECT(call(f, "/api/v1/alarms/1/explode", "tok-wang", "{}"), 404, "not found");
  EXPECT(call(f, path, "tok-wang", "[1,2]"), 400, "body");
  EXPECT(call(f, path, "tok-wang", "{\"comment\": 5}"), 400, "comment");
  EXPECT(call(f, path, "tok-wang", "{\"comment\": \"on my way\"}"), 200, "\"state\":\"ACKED\"");
  EXPECT(call(f, path, "tok-wang", "{}"), 409, "nothing to acknowledge");
  EXPECT(call(f, "/api/v1/alarms?state=all", NULL, NULL), 200, "\"ack_user\":\"wang\"");
  snprintf(path, sizeof path, "/api/v1/alarms/%lld/out-of-service", (long long)f->p.engine.alarms[0].id);
  EXPECT(call(f, path, "tok-wang", "{}"), 403, "engineer");
  EXPECT(call(f, path, "tok-li", "{\"comment\": \"loop test\"}"), 200, "OUT_OF_SERVICE");
  snprintf(path, sizeof path, "/api/v1/alarms/%lld/return-to-service", (long long)f->p.engine.alarms[0].id);
  EXPECT(call(f, path, "tok-li", ""), 200, "\"state\":\"UNACK\"");
  snprintf(path, sizeof path, "/api/v1/alarms/%lld/journal", (long long)f->p.engine.alarms[0].id);
  /* The journal row commits on the writer thread after the answer: wait for it. */
  int64_t deadline = dg_mono_ms() + 10000;
  struct reply r;
  do r = call(f, path, NULL, NULL);
  while (!strstr(r.body, "return_to_service") && dg_mono_ms() < deadline);
  EXPECT(r, 200, "\"actor\":\"li\",\"comment\":\"loop test\"");
}

static void test_shelve_and_reset(void **state)
{
  struct fixture *f = *state;
  long long id = f->p.engine.alarms[0].id;
  char shelve[64], unshelve[64], reset[64];
  snprintf(shelve, sizeof shelve, "/api/v1/alarms/%lld/shelve", id);
  snprintf(unshelve, sizeof unshelve, "/api/v1/alarms/%lld/unshelve", id);
  snprintf(reset, sizeof reset, "/api/v1/alarms/%lld/reset", id);
  EXPECT(call(f, shelve, "tok-wang", "{\"reason\": \"x\"}"), 400, "minutes");
  EXPECT(call(f, shelve, "tok-wang", "{\"minutes\": -5, \"reason\": \"x\"}"), 400, "minutes");
  EXPECT(call(f, shelve, "tok-wang", "{\"minutes\": 30}"), 400, "reason");
  EXPECT(call(f, shelve, "tok-wang", "{\"minutes\": 61, \"reason\": \"x\"}"), 400, "minutes: at most 60 for a critical");
  EXPECT(call(f, shelve, "tok-wang", "{\"minutes\": 30, \"reason\": \"detector swap\"}"), 200,
         "\"shelve_reason\":\"detector swap\"");
  EXPECT(call(f, shelve, "tok-wang", "{\"minutes\": 30, \"reason\": \"again\"}"), 409, "already shelved");
  EXPECT(call(f, reset, "tok-wang", "{}"), 409, "only a latched alarm");
  EXPECT(call(f, unshelve, "tok-wang", "{}"), 200, "\"state\":\"UNACK\"");
  EXPECT(call(f, unshelve, "tok-wang", "{}"), 409, "not shelved");
}

int main(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_auth_and_roles, setup, teardown),
    cmocka_unit_test_setup_teardown(test_shelve_and_reset, setup, teardown),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
