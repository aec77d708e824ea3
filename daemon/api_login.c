#include "api_login.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "log.h"
#include "login.h"

/* A request waiting for its password job or its write. */
struct login_api__job {
  struct api_ctx *ctx;
  struct http_deferred *d;
  int found, disabled;
  char name[LOGIN_NAME_LEN + 1], person[128], peer[64], actor[128];
  char token[LOGIN_TOKEN_LEN + 1]; /* login: the new session; password change: the one that stays */
  int64_t expires_ms;
};

static struct login *login_api__login(struct api_ctx *ctx, struct http_response *resp)
{
  if (!ctx->login) api_error(resp, 503, "login: accounts are not served here");
  return ctx->login;
}

/* A text member of body, or NULL after answering 400. */
static const char *login_api__text(cJSON *body, const char *key, struct http_response *resp)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
  if (cJSON_IsString(v) && v->valuestring[0]) return v->valuestring;
  api_error(resp, 400, "%s: expected text", key);
  return NULL;
}

/* Defers the request and starts its password job; else answers and returns nonzero. The job is
 * the job's own from then on. */
static int login_api__start(struct login_api__job *j, const struct http_request *req, struct http_response *resp,
                            enum login_pw_kind kind, const char *pw, const char *hash, const char *new_pw,
                            login_pw_done done)
{
  struct login *l = j->ctx->login;
  if (l->hashing >= LOGIN_MAX_HASHING) {
    api_error(resp, 503, "login: busy checking other passwords, try again in a second");
    return -EBUSY;
  }
  snprintf(j->peer, sizeof j->peer, "%s", req->peer ? req->peer : "");
  if (!(j->d = http_defer(req))) {
    api_error(resp, 503, "login: this request cannot wait for its password check");
    return -ENOTSUP;
  }
  if (login_pw_job(l, kind, pw, hash, new_pw, done, j) == 0) return 0;
  struct http_response r = {.status = 200};
  api_error(&r, 500, "out of memory");
  http_deferred_answer(j->d, &r);
  return -ENOMEM;
}

static void login_api__answer(struct login_api__job *j, struct http_response *r)
{
  http_deferred_answer(j->d, r);
  free(j);
}

/* Hands w to the store; `written` answers j once it is committed. Else answers now. */
static void login_api__write(struct login_api__job *j, struct login_write *w, login_written_fn written)
{
  int rc = login_write_submit(j->ctx->login, w, written, j);
  if (!rc) return;
  struct http_response r = {.status = 200};
  api_error(&r, rc == -ENOMEM ? 500 : 503, rc == -ENOMEM ? "out of memory" : "not stored: the daemon is stopping");
  login_api__answer(j, &r);
}

/* A job for a request answered after its write, deferred; NULL after answering. */
static struct login_api__job *login_api__deferred(struct api_ctx *ctx, const struct http_request *req,
                                                  struct http_response *resp)
{
  struct login_api__job *j = api_calloc(sizeof *j, resp);
  if (j && (j->d = http_defer(req))) {
    j->ctx = ctx;
    return j;
  }
  if (j) api_error(resp, 503, "this request cannot wait for its write");
  free(j);
  return NULL;
}

/* The answer to a write finished while the daemon stops (-ECANCELED) or failed; 0 when it is
 * the caller's to answer. */
static int login_api__write_failed(int rc, struct http_response *r, const char *what)
{
  if (rc == -ECANCELED) api_error(r, 503, "%s: the daemon is stopping", what);
  else if (rc == -EIO) api_error(r, 500, "%s (database error)", what);
  else return 0;
  return 1;
}

/* 429 when the name or the client address is locked out. */
static int login_api__locked(struct login *l, const char *name, const char *peer, struct http_response *resp)
{
  char kn[LOGIN_LIMIT_KEY], ka[LOGIN_LIMIT_KEY];
  int64_t now = dg_wall_ms();
  snprintf(kn, sizeof kn, "name:%s", name);
  snprintf(ka, sizeof ka, "addr:%s", peer ? peer : "");
  int64_t wait = login_limit_wait(&l->limit, kn, now), wa = login_limit_wait(&l->limit, ka, now);
  if (wa > wait) wait = wa;
  if (!wait) return 0;
  long long s = (long long)((wait + 999) / 1000);
  DG_LOG_RL(DG_LOG_WARN, "auth", "login of '%s' from %s refused: locked out for %lld s after failed logins", name,
            peer ? peer : "?", s);
  cJSON *o = cJSON_CreateObject();
  char msg[128];
  snprintf(msg, sizeof msg, "too many failed logins: try again in %lld s", s);
  cJSON_AddStringToObject(o, "error", msg);
  cJSON_AddNumberToObject(o, "retry_after_s", (double)s);
  api_reply(resp, 429, o);
  return 1;
}

static void login_api__failed(struct login *l, const char *name, const char *peer)
{
  char kn[LOGIN_LIMIT_KEY], ka[LOGIN_LIMIT_KEY];
  const struct dg_config *c = *l->cfg;
  int64_t now = dg_wall_ms();
  snprintf(kn, sizeof kn, "name:%s", name);
  snprintf(ka, sizeof ka, "addr:%s", peer);
  uint32_t n = login_limit_fail(&l->limit, kn, now, c->login_max_failures, c->login_lockout_ms);
  login_limit_fail(&l->limit, ka, now, c->login_max_failures_addr, c->login_lockout_ms);
  DG_LOG_RL(DG_LOG_WARN, "auth", "login of '%s' from %s failed: wrong name or password (failure %u)", name, peer, n);
}

/* ---- POST /api/v1/login, /api/v1/logout ------------------------------------------------------ */

/* Loop thread, once the session is committed: only now may the browser use its token. */
static void login_api__session_stored(void *ud, int rc)
{
  struct login_api__job *j = ud;
  struct http_response r = {.status = 200};
  if (login_api__write_failed(rc, &r, "session not stored")) {
    login_api__answer(j, &r);
    return;
  }
  struct login *l = j->ctx->login;
  const struct dg_person *p = dg_config_person(*l->cfg, j->person);
  char key[LOGIN_LIMIT_KEY];
  if (!p) { /* the configuration was reloaded meanwhile: the session cannot be used */
    api_error(&r, 403, "account '%s': its person '%s' is not configured", j->name, j->person);
    login_api__answer(j, &r);
    return;
  }
  snprintf(key, sizeof key, "name:%s", j->name);
  login_limit_clear(&l->limit, key);
  DG_INFO("auth", "'%s' (%s) logged in from %s", j->name, p->id, j->peer);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "login", j->name);
  cJSON_AddStringToObject(o, "person", p->id);
  api_json_text(o, "name", p->name);
  cJSON *roles = cJSON_AddArrayToObject(o, "roles");
  for (size_t i = 0; i < p->n_roles; i++) cJSON_AddItemToArray(roles, cJSON_CreateString(p->roles[i]));
  cJSON_AddNumberToObject(o, "expires_ms", (double)j->expires_ms);
  cJSON_AddNumberToObject(o, "idle_timeout_s", (double)((*l->cfg)->login_idle_ms / 1000));
  r.set_cookie = login_cookie(l, j->token);
  api_reply(&r, 200, o);
  login_api__answer(j, &r);
}

static void login_api__login_done(void *ud, int rc, const char *hash)
{
  struct login_api__job *j = ud;
  struct login *l = j->ctx->login;
  struct http_response r = {.status = 200};
  const struct dg_person *p = rc ? NULL : dg_config_person(*l->cfg, j->person);
  if (rc == -ECANCELED || rc == -ENOMEM) {
    api_error(&r, 503, "login: not checked (shutting down or out of memory)");
  } else if (rc || !j->found) {
    login_api__failed(l, j->name, j->peer);
    api_error(&r, 401, "wrong login name or password");
  } else if (j->disabled) {
    api_error(&r, 403, "account '%s' is disabled", j->name);
  } else if (!p || !auth_role_usable(p)) {
    api_error(&r, 403, "account '%s': its person '%s' is not configured or has no role", j->name, j->person);
  } else {
    login_api__write(j, login_write_session_open(l, j->name, j->token, &j->expires_ms), login_api__session_stored);
    return;
  }
  login_api__answer(j, &r);
}

static void login_api__login_req(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct login *l = login_api__login(ctx, resp);
  cJSON *body = l ? api_body_object(req, resp) : NULL;
  const char *name = body ? login_api__text(body, "login", resp) : NULL;
  const char *pw = name ? login_api__text(body, "password", resp) : NULL;
  struct login_account acct;
  struct login_api__job *j = NULL;
  if (!pw) goto done;
  if (!login_name_valid(name) || strlen(pw) > LOGIN_PW_MAX) { /* no account can match: counted, not hashed */
    if (!login_api__locked(l, "(invalid)", req->peer, resp)) {
      login_api__failed(l, "(invalid)", req->peer ? req->peer : "");
      api_error(resp, 401, "wrong login name or password");
    }
    goto done;
  }
  if (login_api__locked(l, name, req->peer, resp)) goto done;
  int rc = login_account_get(ctx->store, name, &acct);
  if (rc && rc != -ENOENT) {
    api_error(resp, 500, "database error");
    goto done;
  }
  if (!(j = api_calloc(sizeof *j, resp))) goto done;
  *j = (struct login_api__job){.ctx = ctx, .found = !rc, .disabled = !rc && acct.disabled};
  snprintf(j->name, sizeof j->name, "%s", name);
  if (!rc) snprintf(j->person, sizeof j->person, "%s", acct.person);
  if (login_api__start(j, req, resp, LOGIN_PW_VERIFY, pw, rc ? NULL : acct.pwhash, NULL, login_api__login_done) == 0)
    j = NULL;
done:
  free(j);
  cJSON_Delete(body);
}

static void login_api__logged_out(void *ud, int rc)
{
  struct login_api__job *j = ud;
  struct http_response r = {.status = 200};
  if (rc == -ENOENT || !login_api__write_failed(rc, &r, "session not ended")) {
    if (!rc) DG_INFO("auth", "'%s' logged out", j->name);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "logged_out", !rc);
    r.set_cookie = login_cookie(j->ctx->login, NULL);
    api_reply(&r, 200, o);
  }
  login_api__answer(j, &r);
}

static void login_api__logout(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct login *l = login_api__login(ctx, resp);
  if (!l) return;
  const char *token = api_bearer(req);
  char name[LOGIN_NAME_LEN + 1] = "";
  int live = token && strncmp(token, LOGIN_TOKEN_PREFIX, strlen(LOGIN_TOKEN_PREFIX)) == 0 &&
             login_session_person(l, token, name) != NULL;
  if (!live) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "logged_out", 0);
    resp->set_cookie = login_cookie(l, NULL);
    api_reply(resp, 200, o);
    return;
  }
  struct login_api__job *j = login_api__deferred(ctx, req, resp);
  if (!j) return;
  snprintf(j->name, sizeof j->name, "%s", name);
  login_api__write(j, login_write_session_close(token), login_api__logged_out);
}

/* ---- POST /api/v1/account/password ------------------------------------------------------------ */

static void login_api__changed(void *ud, int rc)
{
  struct login_api__job *j = ud;
  struct http_response r = {.status = 200};
  if (rc == -ENOENT) rc = -EIO; /* the session's account cannot have gone */
  if (!login_api__write_failed(rc, &r, "password not changed")) {
    DG_INFO("auth", "'%s' changed their password; their other sessions have ended", j->name);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "login", j->name);
    cJSON_AddBoolToObject(o, "changed", 1);
    api_reply(&r, 200, o);
  }
  login_api__answer(j, &r);
}

static void login_api__change_done(void *ud, int rc, const char *hash)
{
  struct login_api__job *j = ud;
  struct http_response r = {.status = 200};
  if (rc == -EACCES) {
    login_api__failed(j->ctx->login, j->name, j->peer);
    api_error(&r, 400, "current_password: wrong password");
  } else if (rc) {
    api_error(&r, 503, "password not changed (shutting down or out of memory)");
  } else {
    login_api__write(j, login_write_set_hash(j->name, hash, j->token), login_api__changed);
    return;
  }
  login_api__answer(j, &r);
}

static void login_api__change(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct login *l = login_api__login(ctx, resp);
  const char *token = l ? api_bearer(req) : NULL;
  char name[LOGIN_NAME_LEN + 1];
  struct login_account acct;
  struct login_api__job *j = NULL;
  cJSON *body = NULL;
  if (!l) return;
  if (!token || strncmp(token, LOGIN_TOKEN_PREFIX, 2) || !login_session_person(l, token, name)) {
    api_error(resp, 401, "a login session is required (POST /api/v1/login)");
    return;
  }
  const char *cur = (body = api_body_object(req, resp)) ? login_api__text(body, "current_password", resp) : NULL;
  const char *pw = cur ? login_api__text(body, "new_password", resp) : NULL;
  const char *why = pw ? login_pw_problem(name, pw) : NULL;
  if (why) api_error(resp, 400, "new_%s", why);
  if (!pw || why || login_api__locked(l, name, req->peer, resp)) goto done;
  if (login_account_get(ctx->store, name, &acct) || !(j = calloc(1, sizeof *j))) {
    api_error(resp, 500, "database error");
    goto done;
  }
  *j = (struct login_api__job){.ctx = ctx, .found = 1};
  snprintf(j->name, sizeof j->name, "%s", name);
  snprintf(j->token, sizeof j->token, "%s", token);
  if (login_api__start(j, req, resp, LOGIN_PW_CHANGE, cur, acct.pwhash, pw, login_api__change_done) == 0) j = NULL;
done:
  free(j);
  cJSON_Delete(body);
}

/* ---- the admin's routes: /api/v1/accounts ------------------------------------------------------ */

static void login_api__list(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct login *l = login_api__login(ctx, resp);
  if (!l || !api_caller_with_role(ctx, req, resp, "admin")) return;
  cJSON *arr = login_account_list(l);
  if (!arr) {
    api_error(resp, 500, "database error");
    return;
  }
  cJSON *root = cJSON_CreateObject();
  cJSON_AddItemToObject(root, "accounts", arr);
  api_reply(resp, 200, root);
}

static void login_api__hash_stored(void *ud, int rc)
{
  struct login_api__job *j = ud;
  struct http_response r = {.status = 200};
  if (rc == -EEXIST) {
    api_error(&r, 409, "account '%s' or an account of '%s' exists already", j->name, j->person);
  } else if (rc == -ENOENT) {
    api_error(&r, 404, "no account '%s'", j->name);
  } else if (!login_api__write_failed(rc, &r, j->found ? "password not stored" : "account not stored")) {
    DG_INFO("auth", j->found ? "password of '%s' reset by %s" : "account '%s' created by %s", j->name, j->actor);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "login", j->name);
    if (!j->found) cJSON_AddStringToObject(o, "person", j->person);
    else cJSON_AddBoolToObject(o, "changed", 1);
    api_reply(&r, j->found ? 200 : 201, o);
  }
  login_api__answer(j, &r);
}

/* A new hash for an account: created (j->found 0) or reset by the admin (1, every session ends). */
static void login_api__hashed(void *ud, int rc, const char *hash)
{
  struct login_api__job *j = ud;
  if (rc) {
    struct http_response r = {.status = 200};
    api_error(&r, 503, "password not hashed (shutting down or out of memory)");
    login_api__answer(j, &r);
    return;
  }
  struct login_write *w =
    j->found ? login_write_set_hash(j->name, hash, NULL) : login_write_account_insert(j->name, j->person, hash);
  login_api__write(j, w, login_api__hash_stored);
}

static void login_api__create(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct login *l = login_api__login(ctx, resp);
  const struct dg_person *who = l ? api_caller_with_role(ctx, req, resp, "admin") : NULL;
  cJSON *body = who ? api_body_object(req, resp) : NULL;
  const char *name = body ? login_api__text(body, "login", resp) : NULL;
  const char *person = name ? login_api__text(body, "person", resp) : NULL;
  const char *pw = person ? login_api__text(body, "password", resp) : NULL;
  const char *why = pw ? login_pw_problem(name, pw) : NULL;
  struct login_account acct;
  struct login_api__job *j = NULL;
  if (!pw) goto done;
  if (!login_name_valid(name)) api_error(resp, 400, "login: expected 1 to 64 of A-Z a-z 0-9 . _ - @");
  else if (why) api_error(resp, 400, "%s", why);
  else if (!dg_config_person(*l->cfg, person)) api_error(resp, 400, "person: no person '%s' in the configuration", person);
  else if (login_account_get(ctx->store, name, &acct) == 0 || login_person_has_account(ctx->store, person))
    api_error(resp, 409, "account '%s' or an account of '%s' exists already", name, person);
  else if (!(j = calloc(1, sizeof *j))) api_error(resp, 500, "out of memory");
  if (!j) goto done;
  *j = (struct login_api__job){.ctx = ctx};
  snprintf(j->name, sizeof j->name, "%s", name);
  snprintf(j->person, sizeof j->person, "%s", person);
  snprintf(j->actor, sizeof j->actor, "%s", who->id);
  if (login_api__start(j, req, resp, LOGIN_PW_HASH, pw, NULL, NULL, login_api__hashed) == 0) j = NULL;
done:
  free(j);
  cJSON_Delete(body);
}

/* The {login} of /api/v1/accounts/{login}/<action> into name; 0, or -1 after answering 404. */
static int login_api__path_name(const struct http_request *req, char *name, const char **action,
                                struct http_response *resp)
{
  static const char prefix[] = "/api/v1/accounts/";
  const char *p = req->path + strlen(prefix), *slash = strchr(p, '/');
  size_t n = slash ? (size_t)(slash - p) : 0;
  if (!slash || n == 0 || n > LOGIN_NAME_LEN) {
    api_error(resp, 404, "not found");
    return -1;
  }
  memcpy(name, p, n);
  name[n] = '\0';
  *action = slash + 1;
  return 0;
}

static void login_api__disabled(void *ud, int rc)
{
  struct login_api__job *j = ud;
  struct http_response r = {.status = 200};
  if (rc == -ENOENT) {
    api_error(&r, 404, "no account '%s'", j->name);
  } else if (!login_api__write_failed(rc, &r, "account not changed")) {
    DG_INFO("auth", "account '%s' %s by %s", j->name, j->disabled ? "disabled, its sessions ended," : "enabled",
            j->actor);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "login", j->name);
    cJSON_AddBoolToObject(o, "disabled", j->disabled);
    api_reply(&r, 200, o);
  }
  login_api__answer(j, &r);
}

static void login_api__admin_action(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct login *l = login_api__login(ctx, resp);
  const struct dg_person *who = l ? api_caller_with_role(ctx, req, resp, "admin") : NULL;
  char name[LOGIN_NAME_LEN + 1];
  const char *action = NULL;
  struct login_account acct;
  if (!who || login_api__path_name(req, name, &action, resp)) return;
  if (!login_name_valid(name) || login_account_get(ctx->store, name, &acct)) {
    api_error(resp, 404, "no account '%s'", name);
    return;
  }
  if (strcmp(action, "password") == 0) {
    cJSON *body = api_body_object(req, resp);
    const char *pw = body ? login_api__text(body, "password", resp) : NULL;
    const char *why = pw ? login_pw_problem(name, pw) : NULL;
    struct login_api__job *j = pw && !why ? calloc(1, sizeof *j) : NULL;
    if (why) api_error(resp, 400, "%s", why);
    if (j) {
      *j = (struct login_api__job){.ctx = ctx, .found = 1};
      snprintf(j->name, sizeof j->name, "%s", name);
      snprintf(j->actor, sizeof j->actor, "%s", who->id);
      if (login_api__start(j, req, resp, LOGIN_PW_HASH, pw, NULL, NULL, login_api__hashed)) free(j);
    } else if (pw && !why) {
      api_error(resp, 500, "out of memory");
    }
    cJSON_Delete(body);
    return;
  }
  int disable = strcmp(action, "disable") == 0;
  if (!disable && strcmp(action, "enable") != 0) {
    api_error(resp, 404, "not found: POST /api/v1/accounts/{login}/disable, enable or password");
    return;
  }
  if (disable && strcmp(acct.person, who->id) == 0) {
    api_error(resp, 409, "account '%s' is the caller's own: another admin must disable it", name);
    return;
  }
  struct login_api__job *j = login_api__deferred(ctx, req, resp);
  if (!j) return;
  snprintf(j->name, sizeof j->name, "%s", name);
  snprintf(j->actor, sizeof j->actor, "%s", who->id);
  j->disabled = disable;
  login_api__write(j, login_write_set_disabled(name, disable), login_api__disabled);
}

static const struct api_route login_api__routes[] = {
  {"POST", "/api/v1/login", login_api__login_req, 0, NULL, NULL},
  {"POST", "/api/v1/logout", login_api__logout, 0, NULL, NULL},
  {"POST", "/api/v1/account/password", login_api__change, 0, NULL, NULL},
  {"GET", "/api/v1/accounts", login_api__list, 0, NULL, NULL},
  {"POST", "/api/v1/accounts", login_api__create, 0, NULL, NULL},
  {"POST", "/api/v1/accounts/{login}/{action}", login_api__admin_action, 0, NULL, NULL},
};

struct api_routes login_api_routes(void) { return API_ROUTES(login_api__routes); }
