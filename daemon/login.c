#include "login.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "digest.h"
#include "config.h"
#include "http.h"
#include "log.h"

/* Argon2id cost: libsodium's interactive limits, 2 passes over 64 MiB (about 0.1–0.2 s on one idle core). */
#define LOGIN_OPSLIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define LOGIN_MEMLIMIT crypto_pwhash_MEMLIMIT_INTERACTIVE
#define LOGIN_TOKEN_BYTES 32
/* Last use is written at most this often (or a quarter of the idle timeout when shorter). */
#define LOGIN_TOUCH_MS 60000
/* Ended sessions stay this long (who was logged in when), then a login removes them. */
#define LOGIN_KEEP_ENDED_MS (30LL * 86400000)

int login_new(struct login **out, uv_loop_t *loop, struct store *store, const struct dg_config *const *cfg,
              int secure_cookie)
{
  if (sodium_init() < 0) return -EIO;
  struct login *l = calloc(1, sizeof *l);
  if (!l) return -ENOMEM;
  l->loop = loop;
  l->store = store;
  l->cfg = cfg;
  l->secure_cookie = secure_cookie;
  *out = l;
  return 0;
}

void login_free(struct login *l)
{
  if (!l) return;
  if (l->hashing) l->closing = 1;
  else free(l);
}

int login_name_valid(const char *name)
{
  size_t n = strlen(name);
  if (n < 1 || n > LOGIN_NAME_LEN) return 0;
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("._-@", *p)))
      return 0;
  return 1;
}

const char *login_pw_problem(const char *name, const char *password)
{
  size_t n = strlen(password);
  if (n < LOGIN_PW_MIN) return "password: expected at least 10 characters";
  if (n > LOGIN_PW_MAX) return "password: expected at most 256 bytes";
  if (name && strcasecmp(name, password) == 0) return "password: must not be the login name";
  return NULL;
}

/* ---- account rows -------------------------------------------------------------------------- */

static const char *const login__sql_get = "SELECT login, person, pwhash, disabled FROM accounts WHERE login = ?1";
static const char *const login__sql_of_person = "SELECT 1 FROM accounts WHERE person = ?1";
static const char *const login__sql_insert =
  "INSERT INTO accounts (login, person, pwhash, created_ms, changed_ms) VALUES (?1, ?2, ?3, ?4, ?4)";
static const char *const login__sql_set_hash = "UPDATE accounts SET pwhash = ?2, changed_ms = ?3 WHERE login = ?1";
static const char *const login__sql_set_disabled =
  "UPDATE accounts SET disabled = ?3, changed_ms = ?2 WHERE login = ?1";
static const char *const login__sql_list =
  "SELECT a.login, a.person, a.disabled, a.created_ms, a.changed_ms,"
  " (SELECT count(*) FROM sessions s WHERE s.login = a.login AND s.revoked_ms IS NULL AND s.expires_ms > ?1)"
  " FROM accounts a ORDER BY a.login";

/* One statement on the writer, waited for: texts bind to ?1.., numbers after them. */
struct login__exec {
  const char *sql;
  const char *t[3];
  int nt;
  int64_t n[2];
  int nn;
  int changes, rc;
};

static int login__exec_work(struct store_conn *c, void *arg)
{
  struct login__exec *x = arg;
  sqlite3_stmt *st = store_stmt(c, x->sql);
  if (!st) return SQLITE_ERROR;
  for (int i = 0; i < x->nt; i++) store_bind_text(st, i + 1, x->t[i]);
  for (int i = 0; i < x->nn; i++) sqlite3_bind_int64(st, x->nt + i + 1, x->n[i]);
  int rc = store_step_done(st);
  x->changes = sqlite3_changes(store_conn_db(c));
  return rc == SQLITE_CONSTRAINT ? SQLITE_OK : rc; /* a taken name fails this job, not its group */
}

static void login__exec_done(void *arg, int rc) { ((struct login__exec *)arg)->rc = rc; }

/* 0 with x->changes set, or -EIO. */
static int login__exec(struct store *s, struct login__exec *x)
{
  x->rc = 1;
  int rc = store_submit_urgent(s, login__exec_work, login__exec_done, x);
  if (rc) return rc;
  store_wait_own(s);
  return x->rc ? -EIO : 0;
}

int login_account_get(struct store *s, const char *name, struct login_account *out)
{
  sqlite3_stmt *st = store_stmt(store_reader(s), login__sql_get);
  if (!st) return -EIO;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    snprintf(out->login, sizeof out->login, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(out->person, sizeof out->person, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(out->pwhash, sizeof out->pwhash, "%s", (const char *)sqlite3_column_text(st, 2));
    out->disabled = sqlite3_column_int(st, 3);
  }
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int login_person_has_account(struct store *s, const char *person)
{
  sqlite3_stmt *st = store_stmt(store_reader(s), login__sql_of_person);
  if (!st) return 0;
  sqlite3_bind_text(st, 1, person, -1, SQLITE_STATIC);
  int found = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_reset(st);
  return found;
}

int login_account_insert(struct store *s, const char *name, const char *person, const char *pwhash)
{
  struct login__exec x = {.sql = login__sql_insert, .t = {name, person, pwhash}, .nt = 3, .n = {dg_wall_ms()}, .nn = 1};
  int rc = login__exec(s, &x);
  return rc ? rc : x.changes ? 0 : -EEXIST;
}

int login_account_set_hash(struct store *s, const char *name, const char *pwhash)
{
  struct login__exec x = {.sql = login__sql_set_hash, .t = {name, pwhash}, .nt = 2, .n = {dg_wall_ms()}, .nn = 1};
  int rc = login__exec(s, &x);
  return rc ? rc : x.changes ? 0 : -ENOENT;
}

int login_account_set_disabled(struct store *s, const char *name, int disabled)
{
  struct login__exec x = {.sql = login__sql_set_disabled, .t = {name}, .nt = 1, .n = {dg_wall_ms(), disabled}, .nn = 2};
  int rc = login__exec(s, &x);
  return rc ? rc : x.changes ? 0 : -ENOENT;
}

static void login__person_json(cJSON *o, const struct dg_person *p)
{
  cJSON *roles = cJSON_AddArrayToObject(o, "roles");
  for (size_t i = 0; p && i < p->n_roles; i++) cJSON_AddItemToArray(roles, cJSON_CreateString(p->roles[i]));
  if (p && p->name) cJSON_AddStringToObject(o, "person_name", p->name);
  else cJSON_AddNullToObject(o, "person_name");
}

cJSON *login_account_list(struct login *l)
{
  sqlite3_stmt *st = store_stmt(store_reader(l->store), login__sql_list);
  cJSON *arr = st ? cJSON_CreateArray() : NULL;
  int rc = SQLITE_DONE;
  if (st) sqlite3_bind_int64(st, 1, dg_wall_ms());
  while (arr && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    cJSON *o = cJSON_CreateObject();
    const char *person = (const char *)sqlite3_column_text(st, 1);
    cJSON_AddStringToObject(o, "login", (const char *)sqlite3_column_text(st, 0));
    cJSON_AddStringToObject(o, "person", person);
    login__person_json(o, dg_config_person(*l->cfg, person));
    cJSON_AddBoolToObject(o, "disabled", sqlite3_column_int(st, 2));
    cJSON_AddNumberToObject(o, "created_ms", (double)sqlite3_column_int64(st, 3));
    cJSON_AddNumberToObject(o, "changed_ms", (double)sqlite3_column_int64(st, 4));
    cJSON_AddNumberToObject(o, "active_sessions", (double)sqlite3_column_int64(st, 5));
    cJSON_AddItemToArray(arr, o);
  }
  if (arr && rc != SQLITE_DONE) {
    cJSON_Delete(arr);
    arr = NULL;
  }
  if (st) sqlite3_reset(st);
  return arr;
}

/* ---- password jobs ------------------------------------------------------------------------- */

struct login__pw {
  uv_work_t work;
  struct login *l;
  enum login_pw_kind kind;
  char *password, *new_password;
  char hash[LOGIN_HASH_LEN];
  int has_hash, rc;
  login_pw_done done;
  void *ud;
};

int login_pw_hash_now(const char *password, char out[LOGIN_HASH_LEN])
{
  return crypto_pwhash_str(out, password, strlen(password), LOGIN_OPSLIMIT, LOGIN_MEMLIMIT) ? -ENOMEM : 0;
}

static void login__pw_work(uv_work_t *w)
{
  struct login__pw *j = w->data;
  char scratch[LOGIN_HASH_LEN];
  if (j->kind == LOGIN_PW_HASH) {
    j->rc = login_pw_hash_now(j->password, j->hash);
    return;
  }
  if (!j->has_hash) { /* no such account: spend the same time, then fail */
    login_pw_hash_now(j->password, scratch);
    j->rc = -EACCES;
    return;
  }
  j->rc = crypto_pwhash_str_verify(j->hash, j->password, strlen(j->password)) ? -EACCES : 0;
  if (!j->rc && j->kind == LOGIN_PW_CHANGE) j->rc = login_pw_hash_now(j->new_password, j->hash);
}

static void login__pw_free(struct login__pw *j)
{
  if (j->password) sodium_memzero(j->password, strlen(j->password));
  if (j->new_password) sodium_memzero(j->new_password, strlen(j->new_password));
  free(j->password);
  free(j->new_password);
  free(j);
}

static void login__pw_after(uv_work_t *w, int status)
{
  struct login__pw *j = w->data;
  struct login *l = j->l;
  l->hashing--;
  int rc = status == UV_ECANCELED || l->closing ? -ECANCELED : j->rc;
  j->done(j->ud, rc, rc ? NULL : j->hash);
  login__pw_free(j);
  if (l->closing && !l->hashing) free(l);
}

int login_pw_job(struct login *l, enum login_pw_kind kind, const char *password, const char *hash,
                 const char *new_password, login_pw_done done, void *ud)
{
  if (l->hashing >= LOGIN_MAX_HASHING) return -EBUSY;
  struct login__pw *j = calloc(1, sizeof *j);
  if (!j) return -ENOMEM;
  j->l = l;
  j->kind = kind;
  j->done = done;
  j->ud = ud;
  j->password = strdup(password);
  j->new_password = new_password ? strdup(new_password) : NULL;
  j->has_hash = hash != NULL;
  if (hash) snprintf(j->hash, sizeof j->hash, "%s", hash);
  j->work.data = j;
  if (!j->password || (new_password && !j->new_password) ||
      uv_queue_work(l->loop, &j->work, login__pw_work, login__pw_after)) {
    login__pw_free(j);
    return -ENOMEM;
  }
  l->hashing++;
  return 0;
}

/* ---- sessions ------------------------------------------------------------------------------ */

static const char *const login__sql_session_insert =
  "INSERT INTO sessions (login, token_sha256, created_ms, last_seen_ms, expires_ms) VALUES (?1, ?2, ?3, ?3, ?4)";
static const char *const login__sql_session_get =
  "SELECT s.id, s.login, s.last_seen_ms, s.expires_ms, s.revoked_ms, a.person, a.disabled"
  " FROM sessions s JOIN accounts a ON a.login = s.login WHERE s.token_sha256 = ?1";
static const char *const login__sql_session_touch = "UPDATE sessions SET last_seen_ms = ?2 WHERE token_sha256 = ?1";
static const char *const login__sql_session_close =
  "UPDATE sessions SET revoked_ms = ?2 WHERE token_sha256 = ?1 AND revoked_ms IS NULL";
static const char *const login__sql_sessions_prune =
  "DELETE FROM sessions WHERE expires_ms < ?1 OR revoked_ms < ?1";
static const char *const login__sql_sessions_revoke =
  "UPDATE sessions SET revoked_ms = ?3 WHERE login = ?1 AND token_sha256 IS NOT ?2 AND revoked_ms IS NULL";

static void login__submit_done(void *arg, int rc) { free(arg); }

/* Runs one statement without waiting: text `t` (65 bytes at most, or NULL) at ?1 and n after. */
static void login__submit(struct login *l, const char *sql, const char *t, int64_t n)
{
  struct login__exec *x = calloc(1, sizeof *x + 65);
  if (!x) return;
  char *copy = (char *)(x + 1);
  if (t) snprintf(copy, 65, "%s", t);
  *x = (struct login__exec){.sql = sql, .t = {copy}, .nt = t ? 1 : 0, .n = {n}, .nn = 1};
  if (store_submit(l->store, login__exec_work, login__submit_done, x)) free(x);
}

int login_session_open(struct login *l, const char *name, char *token, int64_t *expires_ms)
{
  unsigned char raw[LOGIN_TOKEN_BYTES];
  char hash[65];
  if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) return -EIO;
  strcpy(token, LOGIN_TOKEN_PREFIX);
  digest_hex(raw, sizeof raw, token + strlen(LOGIN_TOKEN_PREFIX));
  if (digest_sha256_hex(token, hash)) return -EIO;
  int64_t now = dg_wall_ms();
  *expires_ms = now + (*l->cfg)->login_lifetime_ms;
  struct login__exec x = {.sql = login__sql_session_insert, .t = {name, hash}, .nt = 2, .n = {now, *expires_ms}, .nn = 2};
  int rc = login__exec(l->store, &x);
  if (!rc) login__submit(l, login__sql_sessions_prune, NULL, now - LOGIN_KEEP_ENDED_MS);
  return rc ? rc : x.changes ? 0 : -EIO;
}

/* Records use of the session with token hash `hash`. */
static void login__touch(struct login *l, const char *hash)
{
  login__submit(l, login__sql_session_touch, hash, dg_wall_ms());
}

struct login__row {
  int64_t id, last_seen_ms, expires_ms;
  int revoked, disabled;
  char login[LOGIN_NAME_LEN + 1], person[128];
};

static int login__session_row(struct login *l, const char *hash, struct login__row *r)
{
  sqlite3_stmt *st = store_stmt(store_reader(l->store), login__sql_session_get);
  if (!st) return -EIO;
  sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    r->id = sqlite3_column_int64(st, 0);
    snprintf(r->login, sizeof r->login, "%s", (const char *)sqlite3_column_text(st, 1));
    r->last_seen_ms = sqlite3_column_int64(st, 2);
    r->expires_ms = sqlite3_column_int64(st, 3);
    r->revoked = sqlite3_column_type(st, 4) != SQLITE_NULL;
    snprintf(r->person, sizeof r->person, "%s", (const char *)sqlite3_column_text(st, 5));
    r->disabled = sqlite3_column_int(st, 6);
  }
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

/* Why the session is not live, or NULL. */
static const char *login__session_refusal(const struct login *l, const struct login__row *r, int64_t now)
{
  if (r->revoked) return "logged out";
  if (r->expires_ms <= now) return "past its lifetime";
  if (now - r->last_seen_ms >= (int64_t)(*l->cfg)->login_idle_ms) return "idle too long";
  if (r->disabled) return "its account is disabled";
  return NULL;
}

const struct dg_person *login_session_person(struct login *l, const char *token, char *name_out)
{
  char hash[65];
  struct login__row r = {0};
  if (digest_sha256_hex(token, hash) || login__session_row(l, hash, &r)) {
    DG_LOG_RL(DG_LOG_WARN, "auth", "authentication failed: unknown session");
    return NULL;
  }
  int64_t now = dg_wall_ms();
  const char *why = login__session_refusal(l, &r, now);
  const struct dg_person *p = why ? NULL : dg_config_person(*l->cfg, r.person);
  if (why) {
    DG_LOG_RL(DG_LOG_INFO, "auth", "session %lld of '%s' refused: %s", (long long)r.id, r.login, why);
    return NULL;
  }
  if (!p) {
    DG_LOG_RL(DG_LOG_WARN, "auth", "session %lld of '%s' refused: person '%s' is no longer configured",
              (long long)r.id, r.login, r.person);
    return NULL;
  }
  int64_t every = (*l->cfg)->login_idle_ms / 4 < LOGIN_TOUCH_MS ? (*l->cfg)->login_idle_ms / 4 : LOGIN_TOUCH_MS;
  if (now - r.last_seen_ms >= every) login__touch(l, hash);
  if (name_out) snprintf(name_out, LOGIN_NAME_LEN + 1, "%s", r.login);
  return p;
}

int login_session_close(struct login *l, const char *token)
{
  char hash[65];
  if (digest_sha256_hex(token, hash)) return -EIO;
  struct login__exec x = {.sql = login__sql_session_close, .t = {hash}, .nt = 1, .n = {dg_wall_ms()}, .nn = 1};
  int rc = login__exec(l->store, &x);
  return rc ? rc : x.changes ? 0 : -ENOENT;
}

int login_sessions_revoke(struct store *s, const char *name, const char *keep_token)
{
  char hash[65] = "";
  if (keep_token && digest_sha256_hex(keep_token, hash)) return -EIO;
  struct login__exec x = {.sql = login__sql_sessions_revoke, .t = {name, keep_token ? hash : NULL}, .nt = 2,
                          .n = {dg_wall_ms()}, .nn = 1};
  return login__exec(s, &x);
}

char *login_cookie(const struct login *l, const char *token)
{
  char buf[256];
  const char *secure = l->secure_cookie ? "; Secure" : "";
  if (token)
    snprintf(buf, sizeof buf, "%s=%s; Path=/; Max-Age=%u; HttpOnly; SameSite=Strict%s", HTTP_SESSION_COOKIE, token,
             (*l->cfg)->login_lifetime_ms / 1000, secure);
  else
    snprintf(buf, sizeof buf, "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s", HTTP_SESSION_COOKIE, secure);
  return strdup(buf);
}
