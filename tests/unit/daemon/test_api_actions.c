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
#include "api_fixture.h"
#include "config.h"
#include "httpc.h"
#include "log.h"
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

/* Stands in for the token store: fixed tokens of configured persons. */
static const struct dg_person *authenticate(void *ud, const char *token)
{
  struct api_fixture *f = ud;
  static const char *const tokens[][2] = {{"tok-wang", "wang"}, {"tok-li", "li"}, {"tok-zhao", "zhao"}};
  for (size_t i = 0; i < 3; i++)
    if (strcmp(token, tokens[i][0]) == 0) return dg_config_person(f->p.cfg, tokens[i][1]);
  return NULL;
}

static int setup(void **state)
{
  struct api_fixture *f = calloc(1, sizeof *f);
  plant_init(&f->p, test_yaml);
  plant_start(&f->p);
  api_fixture_listen(f, authenticate, f);
  /* Alarm R1 active before the loop thread takes over. */
  plant_feed(&f->p, "P1", 30, DG_Q_GOOD);
  api_fixture_run(f);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  api_fixture_stop(*state);
  free(*state);
  return 0;
}

/* The reply (64 KiB) is kept static: one call at a time, on the test's thread. */
static const struct api_reply *call(struct api_fixture *f, const char *path, const char *token, const char *body)
{
  static struct api_reply r;
  api_fixture_call(f, path, token, body, 20, &r);
  assert_int_equal(r.rc, CURLE_OK);
  return &r;
}

#define EXPECT(r, code, text)                                                                      \
  do {                                                                                             \
    const struct api_reply *r_ = (r);                                                              \
    if (r_->status != (code) || !strstr(r_->body, (text)))                                         \
      fail_msg("status %ld body %s; expected %d with '%s'", r_->status, r_->body, (code), (text));  \
  } while (0)

static void test_auth_and_roles(void **state)
{
  struct api_fixture *f = *state;
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
  const struct api_reply *r;
  do r = call(f, path, NULL, NULL);
  while (!strstr(r->body, "return_to_service") && dg_mono_ms() < deadline);
  EXPECT(r, 200, "\"actor\":\"li\",\"comment\":\"loop test\"");
}

static void test_shelve_and_reset(void **state)
{
  struct api_fixture *f = *state;
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
