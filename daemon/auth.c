#include "auth.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "digest.h"
#include "hazard_flow.h"
#include "log.h"
#include "login.h"

#define AUTH_TOKEN_BYTES 32

static const char *const auth__sql_insert =
  "INSERT INTO api_tokens (person, token_sha256, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?3 + ?4)";
static const char *const auth__sql_lookup =
  "SELECT id, person, revoked, expires_ms, last_used_ms FROM api_tokens WHERE token_sha256 = ?1";
static const char *const auth__sql_revoke =
  "UPDATE api_tokens SET revoked = 1, revoked_ms = ?2 WHERE id = ?1 AND revoked = 0";
static const char *const auth__sql_exists = "SELECT revoked FROM api_tokens WHERE id = ?1";
static const char *const auth__sql_list =
  "SELECT id, person, created_ms, expires_ms, last_used_ms, revoked, revoked_ms FROM api_tokens ORDER BY id DESC";
static const char *const auth__sql_used = "UPDATE api_tokens SET last_used_ms = ?2 WHERE id = ?1";

int auth_issue_prepare(struct auth *a, struct auth_issue *is, const char *person, int64_t valid_ms)
{
  if (valid_ms < 1 || valid_ms > AUTH_MAX_VALID_MS) return -ERANGE;
  if (!dg_config_person(*a->cfg, person) || strlen(person) >= sizeof is->person) return -ENOENT;
  unsigned char raw[AUTH_TOKEN_BYTES];
  if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) return -EIO;
  snprintf(is->person, sizeof is->person, "%s", person);
  is->created_ms = dg_wall_ms();
  is->valid_ms = valid_ms;
  digest_hex(raw, sizeof raw, is->token);
  return digest_sha256_hex(is->token, is->hash) ? -EIO : 0;
}

int auth_issue_work(struct store_conn *c, void *arg)
{
  const struct auth_issue *is = arg;
  sqlite3_stmt *st = store_stmt(c, auth__sql_insert);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_text(st, 1, is->person, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, is->hash, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, is->created_ms);
  sqlite3_bind_int64(st, 4, is->valid_ms);
  return store_step_done(st);
}

int auth_create_token(struct auth *a, const char *person, int64_t valid_ms, char *out, size_t outlen)
{
  struct auth_issue is;
  if (outlen < AUTH_TOKEN_HEX_LEN + 1) return -EINVAL;
  int rc = auth_issue_prepare(a, &is, person, valid_ms);
  if (!rc && store_write_now(a->store, true, auth_issue_work, &is)) rc = -EIO;
  if (!rc) memcpy(out, is.token, sizeof is.token);
  memset(&is, 0, sizeof is);
  return rc;
}

struct auth__used {
  int64_t id, when_ms;
};

static int auth__used_work(struct store_conn *c, void *arg)
{
  struct auth__used *u = arg;
  sqlite3_stmt *st = store_stmt(c, auth__sql_used);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, u->id);
  sqlite3_bind_int64(st, 2, u->when_ms);
  return store_step_done(st);
}

static void auth__used_done(void *arg, int rc) { free(arg); }

/* Last use is kept to the minute: a dashboard reading every second must not cost a commit each. */
#define AUTH__USE_RESOLUTION_MS 60000

static void auth__record_use(struct auth *a, int64_t id)
{
  struct auth__used *u = malloc(sizeof *u);
  if (!u) return;
  u->id = id;
  u->when_ms = dg_wall_ms();
  if (store_submit(a->store, auth__used_work, auth__used_done, u)) free(u);
}

const struct dg_person *auth_authenticate(void *ud, const char *token)
{
  struct auth *a = ud;
  char hash[65], person[128] = "";
  if (strncmp(token, LOGIN_TOKEN_PREFIX, strlen(LOGIN_TOKEN_PREFIX)) == 0)
    return a->login ? login_session_person(a->login, token, NULL) : NULL;
  if (strlen(token) != AUTH_TOKEN_HEX_LEN || digest_sha256_hex(token, hash)) {
    DG_LOG_RL(DG_LOG_WARN, "auth", "authentication failed: malformed bearer token");
    return NULL;
  }
  sqlite3_stmt *st = store_stmt(store_reader(a->store), auth__sql_lookup);
  if (!st) return NULL;
  sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
  int64_t id = -1, expires_ms = 0, last_used_ms = 0;
  int revoked = 0;
  if (sqlite3_step(st) == SQLITE_ROW) {
    id = sqlite3_column_int64(st, 0);
    snprintf(person, sizeof person, "%s", (const char *)sqlite3_column_text(st, 1));
    revoked = sqlite3_column_int(st, 2);
    expires_ms = sqlite3_column_int64(st, 3);
    last_used_ms = sqlite3_column_int64(st, 4);
  }
  sqlite3_reset(st);
  const struct dg_person *p = id < 0 || revoked || expires_ms <= dg_wall_ms() ? NULL : dg_config_person(*a->cfg, person);
  if (id < 0) DG_LOG_RL(DG_LOG_WARN, "auth", "authentication failed: unknown token");
  else if (revoked) DG_LOG_RL(DG_LOG_WARN, "auth", "authentication failed: token %lld (%s) is revoked", (long long)id, person);
  else if (!p && expires_ms <= dg_wall_ms())
    DG_LOG_RL(DG_LOG_WARN, "auth", "authentication failed: token %lld (%s) expired", (long long)id, person);
  else if (!p)
    DG_LOG_RL(DG_LOG_WARN, "auth", "authentication failed: token %lld belongs to '%s', who is no longer configured",
              (long long)id, person);
  else if (dg_wall_ms() - last_used_ms >= AUTH__USE_RESOLUTION_MS) auth__record_use(a, id);
  return p;
}

/* ---- revocation and listing ------------------------------------------------------------------- */

void auth_revocation_init(struct auth_revocation *r, int64_t id)
{
  *r = (struct auth_revocation){.id = id, .when_ms = dg_wall_ms()};
}

int auth_revocation_work(struct store_conn *c, void *arg)
{
  struct auth_revocation *r = arg;
  sqlite3_stmt *st = store_stmt(c, auth__sql_revoke);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, r->id);
  sqlite3_bind_int64(st, 2, r->when_ms);
  int rc = store_step_done(st);
  r->changed = sqlite3_changes(store_conn_db(c));
  return rc;
}

int auth_revocation_result(struct store *s, const struct auth_revocation *r)
{
  if (r->changed) return 0;
  sqlite3_stmt *st = store_stmt(store_reader(s), auth__sql_exists);
  if (!st) return -EIO;
  sqlite3_bind_int64(st, 1, r->id);
  int rc = sqlite3_step(st) == SQLITE_ROW ? -EALREADY : -ENOENT;
  sqlite3_reset(st);
  return rc;
}

int auth_revoke_token(struct store *s, int64_t id)
{
  struct auth_revocation r;
  auth_revocation_init(&r, id);
  return store_write_now(s, true, auth_revocation_work, &r) ? -EIO : auth_revocation_result(s, &r);
}

static void auth__json_ms(cJSON *o, const char *key, sqlite3_stmt *st, int col)
{
  if (sqlite3_column_type(st, col) == SQLITE_NULL) cJSON_AddNullToObject(o, key);
  else cJSON_AddNumberToObject(o, key, (double)sqlite3_column_int64(st, col));
}

cJSON *auth_list_tokens(struct store_conn *c, int64_t now_ms)
{
  sqlite3_stmt *st = store_stmt(c, auth__sql_list);
  cJSON *arr = st ? cJSON_CreateArray() : NULL;
  int rc = SQLITE_DONE;
  while (arr && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, 0));
    cJSON_AddStringToObject(o, "person", (const char *)sqlite3_column_text(st, 1));
    auth__json_ms(o, "created_ms", st, 2);
    auth__json_ms(o, "expires_ms", st, 3);
    auth__json_ms(o, "last_used_ms", st, 4);
    int revoked = sqlite3_column_int(st, 5);
    cJSON_AddBoolToObject(o, "revoked", revoked);
    auth__json_ms(o, "revoked_ms", st, 6);
    cJSON_AddStringToObject(o, "status", revoked ? "revoked" : sqlite3_column_int64(st, 3) <= now_ms ? "expired" : "active");
    cJSON_AddItemToArray(arr, o);
  }
  if (arr && rc != SQLITE_DONE) {
    cJSON_Delete(arr);
    arr = NULL;
  }
  if (st) sqlite3_reset(st);
  return arr;
}

int auth_role_usable(const struct dg_person *p)
{
  if (hazard_rights(p->roles, p->n_roles)) return 1;
  for (size_t i = 0; i < p->n_roles; i++)
    if (strcmp(p->roles[i], "viewer") == 0) return 1;
  return 0;
}
