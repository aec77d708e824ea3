#include "auth.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"

#define AUTH_TOKEN_BYTES 32

static void auth__hex(const unsigned char *in, size_t n, char *out)
{
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * n] = '\0';
}

/* SHA-256 of the token text, hex. 0 or -EIO. */
static int auth__hash(const char *token, char out[65])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(token, strlen(token), md, &len, EVP_sha256(), NULL) || len != 32) return -EIO;
  auth__hex(md, len, out);
  return 0;
}

struct auth__insert {
  const char *person;
  char hash[65];
  int rc;
};

static const char *const auth__sql_insert =
  "INSERT INTO api_tokens (person, token_sha256, created_ms) VALUES (?1, ?2, ?3)";
static const char *const auth__sql_lookup =
  "SELECT id, person FROM api_tokens WHERE token_sha256 = ?1 AND revoked = 0";
static const char *const auth__sql_used = "UPDATE api_tokens SET last_used_ms = ?2 WHERE id = ?1";

static int auth__insert_work(struct store_conn *c, void *arg)
{
  struct auth__insert *ins = arg;
  sqlite3_stmt *st = store_stmt(c, auth__sql_insert);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_text(st, 1, ins->person, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, ins->hash, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, dg_wall_ms());
  return store_step_done(st);
}

static void auth__insert_done(void *arg, int rc) { ((struct auth__insert *)arg)->rc = rc; }

int auth_create_token(struct auth *a, const char *person, char *out, size_t outlen)
{
  if (outlen < AUTH_TOKEN_HEX_LEN + 1) return -EINVAL;
  if (!dg_config_person(*a->cfg, person)) return -ENOENT;
  unsigned char raw[AUTH_TOKEN_BYTES];
  if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) return -EIO;
  auth__hex(raw, sizeof raw, out);
  struct auth__insert ins = {.person = person, .rc = 1};
  int rc = auth__hash(out, ins.hash);
  if (!rc) rc = store_submit_urgent(a->store, auth__insert_work, auth__insert_done, &ins);
  if (!rc) {
    store_wait_idle(a->store);
    rc = ins.rc;
  }
  if (rc) memset(out, 0, outlen);
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
  if (strlen(token) != AUTH_TOKEN_HEX_LEN || auth__hash(token, hash)) return NULL;
  sqlite3_stmt *st = store_stmt(store_reader(a->store), auth__sql_lookup);
  if (!st) return NULL;
  sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
  int64_t id = -1;
  if (sqlite3_step(st) == SQLITE_ROW) {
    id = sqlite3_column_int64(st, 0);
    snprintf(person, sizeof person, "%s", (const char *)sqlite3_column_text(st, 1));
  }
  sqlite3_reset(st);
  if (id < 0) return NULL;
  const struct dg_person *p = dg_config_person(*a->cfg, person);
  if (!p) DG_LOG_RL(DG_LOG_WARN, "auth", "token %lld belongs to '%s', who is no longer configured", (long long)id, person);
  else auth__record_use(a, id);
  return p;
}
