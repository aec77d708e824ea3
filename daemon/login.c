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

/* The last password job or write out frees a login that login_free closed. */
static void login__free_when_idle(struct login *l)
{
  if (l->closing && !l->hashing && !l->writing) free(l);
}

void login_free(struct login *l)
{
  if (!l) return;
  l->closing = 1;
  login__free_when_idle(l);
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
  login__free_when_idle(l);
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

/* ---- writes, off the loop ------------------------------------------------------------------ */

/* One statement: texts bind to ?1.., numbers after them. */
struct login__step {
  const char *sql;
  const char *t[3]; /* into text, or NULL (binds NULL) */
  char text[3][LOGIN_HASH_LEN];
  int nt, nn;
  int64_t n[2];
};

struct login_write {
  struct login__step step[2];
  int n;
  int missing; /* the result when the first statement changes no row: -EEXIST or -ENOENT */
  int changed; /* rows the first statement changed (writer thread, read after its done) */
  struct login *l;
  login_written_fn done;
  void *arg;
};

static struct login__step *login__step(struct login_write *w, const char *sql)
{
  struct login__step *x = &w->step[w->n++];
  x->sql = sql;
  return x;
}

static void login__text(struct login__step *x, const char *t)
{
  int i = x->nt++;
  if (!t) return;
  snprintf(x->text[i], sizeof x->text[i], "%s", t);
  x->t[i] = x->text[i];
}

static void login__num(struct login__step *x, int64_t n) { x->n[x->nn++] = n; }

static struct login_write *login__write_new(int missing)
{
  struct login_write *w = calloc(1, sizeof *w);
  if (w) w->missing = missing;
  return w;
}

/* A write of one statement with text t at ?1 (or none) and n after it. */
static struct login_write *login__write1(const char *sql, const char *t, int64_t n, int missing)
{
  struct login_write *w = login__write_new(missing);
  if (!w) return NULL;
  struct login__step *x = login__step(w, sql);
  if (t) login__text(x, t);
  login__num(x, n);
  return w;
}

static int login__write_work(struct store_conn *c, void *arg)
{
  struct login_write *w = arg;
  w->changed = 0; /* a job is run again alone when its group's transaction is lost */
  for (int i = 0; i < w->n; i++) {
    const struct login__step *x = &w->step[i];
    sqlite3_stmt *st = store_stmt(c, x->sql);
    if (!st) return SQLITE_ERROR;
    for (int k = 0; k < x->nt; k++) store_bind_text(st, k + 1, x->t[k]);
    for (int k = 0; k < x->nn; k++) sqlite3_bind_int64(st, x->nt + k + 1, x->n[k]);
    int rc = store_step_done(st);
    if (i == 0 && (rc & 0xff) == SQLITE_CONSTRAINT) return SQLITE_OK; /* a taken name: -EEXIST, not a failed job */
    if (rc) return rc;
    if (i == 0) w->changed = sqlite3_changes(store_conn_db(c));
  }
  return SQLITE_OK;
}

static int login__result(const struct login_write *w, int rc) { return rc ? -EIO : w->changed ? 0 : w->missing; }

static void login__written(void *arg, int rc)
{
  struct login_write *w = arg;
  struct login *l = w->l;
  l->writing--;
  rc = l->closing ? -ECANCELED : login__result(w, rc);
  w->done(w->arg, rc);
  free(w);
  login__free_when_idle(l);
}

int login_write_submit(struct login *l, struct login_write *w, login_written_fn done, void *arg)
{
  if (!w) return -ENOMEM;
  w->l = l;
  w->done = done;
  w->arg = arg;
  int rc = store_submit_urgent(l->store, login__write_work, login__written, w);
  if (rc) free(w);
  else l->writing++;
  return rc;
}

int login_write_now(struct store *s, struct login_write *w)
{
  if (!w) return -ENOMEM;
  int rc = login__result(w, store_write_now(s, true, login__write_work, w));
  free(w);
  return rc;
}

static void login__write_free(void *arg, int rc)
{
  (void)rc;
  free(arg);
}

/* Records use of the session with token hash `hash`, relaxed: losing it in a crash costs nothing. */
static void login__touch(struct login *l, const char *hash)
{
  struct login_write *w = login__write1(login__sql_session_touch, hash, dg_wall_ms(), -ENOENT);
  if (w && store_submit(l->store, login__write_work, login__write_free, w)) free(w);
}

struct login_write *login_write_session_open(struct login *l, const char *name, char *token, int64_t *expires_ms)
{
  unsigned char raw[LOGIN_TOKEN_BYTES];
  char hash[65];
  if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) return NULL;
  strcpy(token, LOGIN_TOKEN_PREFIX);
  digest_hex(raw, sizeof raw, token + strlen(LOGIN_TOKEN_PREFIX));
  struct login_write *w = digest_sha256_hex(token, hash) ? NULL : login__write_new(-EIO);
  if (!w) return NULL;
  int64_t now = dg_wall_ms();
  *expires_ms = now + (*l->cfg)->login_lifetime_ms;
  struct login__step *x = login__step(w, login__sql_session_insert);
  login__text(x, name);
  login__text(x, hash);
  login__num(x, now);
  login__num(x, *expires_ms);
  login__num(login__step(w, login__sql_sessions_prune), now - LOGIN_KEEP_ENDED_MS);
  return w;
}

struct login_write *login_write_session_close(const char *token)
{
  char hash[65];
  if (digest_sha256_hex(token, hash)) return NULL;
  return login__write1(login__sql_session_close, hash, dg_wall_ms(), -ENOENT);
}

/* Ends the other sessions of `name` (all but keep_token's; NULL: all) in the same commit. */
static void login__revoke_others(struct login_write *w, const char *name, const char *keep_token, int64_t now)
{
  char hash[65];
  struct login__step *x = login__step(w, login__sql_sessions_revoke);
  login__text(x, name);
  login__text(x, keep_token && digest_sha256_hex(keep_token, hash) == 0 ? hash : NULL);
  login__num(x, now);
}

struct login_write *login_write_account_insert(const char *name, const char *person, const char *pwhash)
{
  struct login_write *w = login__write_new(-EEXIST);
  if (!w) return NULL;
  struct login__step *x = login__step(w, login__sql_insert);
  login__text(x, name);
  login__text(x, person);
  login__text(x, pwhash);
  login__num(x, dg_wall_ms());
  return w;
}

struct login_write *login_write_set_hash(const char *name, const char *pwhash, const char *keep_token)
{
  struct login_write *w = login__write_new(-ENOENT);
  if (!w) return NULL;
  int64_t now = dg_wall_ms();
  struct login__step *x = login__step(w, login__sql_set_hash);
  login__text(x, name);
  login__text(x, pwhash);
  login__num(x, now);
  login__revoke_others(w, name, keep_token, now);
  return w;
}

struct login_write *login_write_set_disabled(const char *name, int disabled)
{
  struct login_write *w = login__write_new(-ENOENT);
  if (!w) return NULL;
  int64_t now = dg_wall_ms();
  struct login__step *x = login__step(w, login__sql_set_disabled);
  login__text(x, name);
  login__num(x, now);
  login__num(x, disabled);
  if (disabled) login__revoke_others(w, name, NULL, now);
  return w;
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
