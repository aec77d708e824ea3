/* auth — operator API tokens. A token is 32 random bytes shown once, in hex, when it is created;
 * the database keeps only its SHA-256 (api_tokens). Every token expires (90 days unless told
 * otherwise) and can be revoked; a failed authentication is logged (rate-limited). Loop thread
 * only. */
#ifndef DG_AUTH_H
#define DG_AUTH_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "store.h"

#define AUTH_TOKEN_HEX_LEN 64
#define AUTH_DEFAULT_VALID_MS (90LL * 86400000)
#define AUTH_MAX_VALID_MS (3650LL * 86400000)

struct login;

struct auth {
  const struct dg_config *const *cfg; /* the daemon's current config (changes on reload) */
  struct store *store;
  struct login *login; /* sessions (login.h); NULL: session tokens are refused */
};

/* Creates a token for a configured person, valid for valid_ms (1 ms .. AUTH_MAX_VALID_MS), stores
 * its hash and writes the token (hex, NUL terminated) to out (at least AUTH_TOKEN_HEX_LEN + 1
 * bytes). 0, -ENOENT (no such person), -ERANGE (validity), or another negative errno. Blocks
 * until the row is committed. */
int auth_create_token(struct auth *a, const char *person, int64_t valid_ms, char *out, size_t outlen);

/* Revokes token `id`: 0, -ENOENT (no such token), -EALREADY (already revoked) or another
 * negative errno. Blocks until committed. */
int auth_revoke_token(struct store *s, int64_t id);

/* Every token, newest first, as a JSON array of {id, person, created_ms, expires_ms,
 * last_used_ms, revoked, revoked_ms, status (active, expired, revoked)}; NULL on a database
 * error. Never the hash. */
cJSON *auth_list_tokens(struct store_conn *c, int64_t now_ms);

/* 1 when one of the person's roles is one the API knows (viewer, operator, workshop_director,
 * engineer, safety_director, principal, admin); a token for anyone else is refused everything. */
int auth_role_usable(const struct dg_person *p);

/* api_ctx.authenticate: the person a bearer token was issued to (or, for a token starting
 * LOGIN_TOKEN_PREFIX, whose login session it is), or NULL (and a rate-limited
 * warning) if the token is unknown, expired, revoked or its person is no longer configured.
 * Records last use. */
const struct dg_person *auth_authenticate(void *auth, const char *token);

#endif
