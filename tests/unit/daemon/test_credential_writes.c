/* Credentials written over HTTP (api_login: login, logout, password change, the admin's account
 * routes; api_tokens: a token's issue and revocation), with the real server, API, password jobs,
 * token checks and store on loopback and a real libcurl client. Each is answered once its write is committed, but the loop does not wait
 * for the commit: with the writer held, other requests are answered meanwhile. */
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
#include "auth.h"
#include "digest.h"
#include "login.h"

static const char test_yaml[] =
  "site: { code: T1, name: 测试化工 }\n"
  "persons:\n"
  "  - { id: chen, name: 陈工, phone: '13800000000', roles: [admin] }\n"
  "  - { id: li, name: 李班长, phone: '13800000001', roles: [operator] }\n"
  "  - { id: wang, name: 王工, phone: '13800000002', roles: [engineer] }\n"
  PLANT_YAML_TANK_FARM;

#define LI_PASSWORD "li-password-1"
/* Two live sessions of li's account. */
#define SESSION_1 "s-1111111111111111111111111111111111111111111111111111111111111111"
#define SESSION_2 "s-2222222222222222222222222222222222222222222222222222222222222222"

struct fixture {
  struct api_gated g; /* first: api_gate's helpers take the fixture as their api_gated */
  struct login *login;
  struct auth auth;
  const struct dg_config *cfg;
  char chen[AUTH_TOKEN_HEX_LEN + 1]; /* the admin's API token */
  char li[AUTH_TOKEN_HEX_LEN + 1];   /* the principal's, to be revoked */
};

/* li's account with LI_PASSWORD, and its two sessions. */
static char *fill_sql(void)
{
  char hash[LOGIN_HASH_LEN], s1[65], s2[65];
  assert_int_equal(login_pw_hash_now(LI_PASSWORD, hash), 0);
  assert_int_equal(digest_sha256_hex(SESSION_1, s1), 0);
  assert_int_equal(digest_sha256_hex(SESSION_2, s2), 0);
  long long now = (long long)dg_wall_ms(), end = now + 86400000LL;
  char *sql = NULL;
  assert_true(asprintf(&sql,
                       "INSERT INTO accounts (login, person, pwhash, created_ms, changed_ms)"
                       " VALUES ('li', 'li', '%s', %lld, %lld);"
                       "INSERT INTO sessions (login, token_sha256, created_ms, last_seen_ms, expires_ms) VALUES"
                       " ('li', '%s', %lld, %lld, %lld), ('li', '%s', %lld, %lld, %lld);",
                       hash, now, now, s1, now, now, end, s2, now, now, end) > 0);
  return sql;
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);
  struct api_fixture *a = &f->g.a;
  gate_init(&f->g.gate);
  plant_init(&a->p, test_yaml);
  plant_start(&a->p);
  char *sql = fill_sql();
  assert_int_equal(store_submit(a->p.store, api_fixture__fill, NULL, sql), 0);
  assert_int_equal(store_wait_idle(a->p.store), 0);
  free(sql);
  f->cfg = a->p.cfg;
  assert_int_equal(login_new(&f->login, &a->p.loop, a->p.store, &f->cfg, 0), 0);
  f->auth = (struct auth){.cfg = &f->cfg, .store = a->p.store, .login = f->login};
  /* Issued before the loop thread runs: the store's done callbacks belong to that thread. */
  assert_int_equal(auth_create_token(&f->auth, "chen", AUTH_DEFAULT_VALID_MS, f->chen, sizeof f->chen), 0);
  assert_int_equal(auth_create_token(&f->auth, "li", AUTH_DEFAULT_VALID_MS, f->li, sizeof f->li), 0);
  /* Its use is recorded now, so no request of a test queues a job to record it. */
  assert_non_null(auth_authenticate(&f->auth, f->chen));
  assert_int_equal(store_wait_own(a->p.store), 0);
  api_fixture_listen(a, auth_authenticate, &f->auth);
  a->api.login = f->login;
  api_fixture_run(a);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  gate_open(&f->g.gate); /* a failed assertion must not leave the writer held */
  api_fixture_stop(&f->g.a);
  login_free(f->login);
  gate_destroy(&f->g.gate);
  free(f);
  return 0;
}

static void assert_query(const struct fixture *f, const char *sql, const char *want)
{
  char got[256];
  api_fixture_query(&f->g.a, sql, got, sizeof got);
  assert_string_equal(got, want);
}

/* Posts body to path as `token` with the writer held: once `jobs` writes are queued behind the
 * gate, the loop answers another request while `sql` still reads `before`. Then the writer goes
 * on, and the post is answered once committed: its status, the reply in x. */
static long post_held(struct fixture *f, struct api_call_thread *x, const char *path, const char *token,
                      const char *body, unsigned jobs, const char *sql, const char *before)
{
  gate_close_on(f->g.a.p.store, &f->g.gate, store_submit);
  api_call_thread_start(x, &f->g.a, path, token, body);
  api_gated_wait_pending(&f->g, 1 + jobs); /* after the password job, where there is one */
  api_gated_answered_meanwhile(&f->g, f->chen, x);
  assert_query(f, sql, before);
  gate_open(&f->g.gate);
  return api_call_thread_join(x);
}

/* The status of `GET /api/v1/whoami` as `token`. */
static long whoami(const struct fixture *f, const char *token)
{
  struct api_reply r;
  api_fixture_call(&f->g.a, "/api/v1/whoami", token, NULL, 10, &r);
  assert_int_equal(r.rc, CURLE_OK);
  return r.status;
}

static const char live_sql[] = "SELECT count(*) FROM sessions WHERE login = 'li' AND revoked_ms IS NULL";

static void test_login_is_answered_after_its_session_commits(void **state)
{
  struct fixture *f = *state;
  struct api_call_thread x;
  const char *body = "{\"login\":\"li\",\"password\":\"" LI_PASSWORD "\"}";
  assert_int_equal(post_held(f, &x, "/api/v1/login", NULL, body, 1, live_sql, "2"), 200);
  cJSON *o = cJSON_Parse(x.reply.body);
  assert_non_null(o);
  assert_string_equal(cJSON_GetObjectItem(o, "person")->valuestring, "li");
  assert_string_equal(cJSON_GetObjectItem(o, "roles")->child->valuestring, "operator");
  cJSON_Delete(o);
  assert_query(f, live_sql, "3");
}

static void test_logout_is_answered_after_its_commit(void **state)
{
  struct fixture *f = *state;
  struct api_call_thread x;
  /* The browser's logout: a POST with an empty body. */
  assert_int_equal(post_held(f, &x, "/api/v1/logout", SESSION_2, "", 1, live_sql, "2"), 200);
  assert_non_null(strstr(x.reply.body, "\"logged_out\":true"));
  assert_query(f, live_sql, "1");
  assert_int_equal(whoami(f, SESSION_2), 401);
  assert_int_equal(whoami(f, SESSION_1), 200);
}

/* The new hash and the end of the other sessions are one write. */
static void test_password_change_ends_the_other_sessions_with_its_commit(void **state)
{
  struct fixture *f = *state;
  struct api_call_thread x;
  const char *body = "{\"current_password\":\"" LI_PASSWORD "\",\"new_password\":\"li-password-2\"}";
  assert_int_equal(post_held(f, &x, "/api/v1/account/password", SESSION_1, body, 1, live_sql, "2"), 200);
  assert_query(f, live_sql, "1");
  assert_int_equal(whoami(f, SESSION_1), 200);
  assert_int_equal(whoami(f, SESSION_2), 401);
  struct api_reply r;
  api_fixture_call(&f->g.a, "/api/v1/login", NULL, "{\"login\":\"li\",\"password\":\"li-password-2\"}", 10, &r);
  assert_int_equal(r.status, 200);
}

static void test_disable_is_answered_after_its_commit(void **state)
{
  struct fixture *f = *state;
  struct api_call_thread x;
  const char *state_sql = "SELECT disabled || ' ' || (SELECT count(*) FROM sessions WHERE login = 'li'"
                          " AND revoked_ms IS NULL) FROM accounts WHERE login = 'li'";
  assert_int_equal(post_held(f, &x, "/api/v1/accounts/li/disable", f->chen, "{}", 1, state_sql, "0 2"), 200);
  assert_non_null(strstr(x.reply.body, "\"disabled\":true"));
  assert_query(f, state_sql, "1 0");
  struct api_reply r;
  api_fixture_call(&f->g.a, "/api/v1/accounts/nobody/disable", f->chen, "{}", 10, &r);
  assert_int_equal(r.status, 404);
}

/* Two admins create an account for the same person at once: both pass the check, both are
 * hashed, and the second write finds the person taken. */
static void test_two_accounts_for_one_person_at_once(void **state)
{
  struct fixture *f = *state;
  struct api_call_thread x, y;
  gate_close_on(f->g.a.p.store, &f->g.gate, store_submit);
  api_call_thread_start(&x, &f->g.a, "/api/v1/accounts", f->chen,
                        "{\"login\":\"wang1\",\"person\":\"wang\",\"password\":\"wang-password-1\"}");
  api_call_thread_start(&y, &f->g.a, "/api/v1/accounts", f->chen,
                        "{\"login\":\"wang2\",\"person\":\"wang\",\"password\":\"wang-password-2\"}");
  api_gated_wait_pending(&f->g, 3);
  api_gated_answered_meanwhile(&f->g, f->chen, &x);
  gate_open(&f->g.gate);
  long sx = api_call_thread_join(&x), sy = api_call_thread_join(&y);
  assert_true((sx == 201 && sy == 409) || (sx == 409 && sy == 201));
  assert_non_null(strstr(sx == 409 ? x.reply.body : y.reply.body, "exists already"));
  assert_query(f, "SELECT count(*) FROM accounts WHERE person = 'wang'", "1");
}

static void test_token_issue_is_answered_after_its_commit(void **state)
{
  struct fixture *f = *state;
  struct api_call_thread x;
  const char *count_sql = "SELECT count(*) FROM api_tokens WHERE person = 'wang'";
  assert_int_equal(post_held(f, &x, "/api/v1/tokens", f->chen, "{\"person\":\"wang\",\"expires\":\"30d\"}", 1,
                             count_sql, "0"),
                   201);
  assert_query(f, count_sql, "1");
  cJSON *o = cJSON_Parse(x.reply.body);
  assert_non_null(o);
  const char *token = cJSON_GetObjectItem(o, "token")->valuestring;
  char expires[32];
  snprintf(expires, sizeof expires, "%.0f", cJSON_GetObjectItem(o, "expires_ms")->valuedouble);
  assert_query(f, "SELECT expires_ms FROM api_tokens WHERE person = 'wang'", expires);
  struct api_reply r;
  api_fixture_call(&f->g.a, "/api/v1/whoami", token, NULL, 10, &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\"auth\":\"token\""));
  assert_non_null(strstr(r.body, "\"id\":\"wang\""));
  cJSON_Delete(o);
}

static void test_token_revocation_is_answered_after_its_commit(void **state)
{
  struct fixture *f = *state;
  struct api_call_thread x;
  char id[32], path[64];
  api_fixture_query(&f->g.a, "SELECT id FROM api_tokens WHERE person = 'li'", id, sizeof id);
  snprintf(path, sizeof path, "/api/v1/tokens/%s", id);
  const char *revoked_sql = "SELECT revoked FROM api_tokens WHERE person = 'li'";
  gate_close_on(f->g.a.p.store, &f->g.gate, store_submit);
  x = (struct api_call_thread){.a = &f->g.a, .path = path, .token = f->chen, .method = "DELETE"};
  api_call_thread_run(&x);
  api_gated_wait_pending(&f->g, 2);
  api_gated_answered_meanwhile(&f->g, f->chen, &x);
  assert_query(f, revoked_sql, "0");
  gate_open(&f->g.gate);
  assert_int_equal(api_call_thread_join(&x), 200);
  assert_query(f, revoked_sql, "1");
  assert_int_equal(whoami(f, f->li), 401);
}

int main(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_login_is_answered_after_its_session_commits, setup, teardown),
    cmocka_unit_test_setup_teardown(test_logout_is_answered_after_its_commit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_password_change_ends_the_other_sessions_with_its_commit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_disable_is_answered_after_its_commit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_two_accounts_for_one_person_at_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_token_issue_is_answered_after_its_commit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_token_revocation_is_answered_after_its_commit, setup, teardown),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
