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

/* A token's issue as a store job, answered off the loop (api_lane_write): auth_issue_prepare
 * checks the person and the validity (1 ms .. AUTH_MAX_VALID_MS) and makes the token, and
 * auth_issue_work (writer thread) stores its hash. 0, -ENOENT (no such person), -ERANGE or -EIO.
 * The caller owns the struct and clears it after use: it holds the token. */
struct auth_issue {
  char person[128];
  int64_t created_ms, valid_ms;
  char token[AUTH_TOKEN_HEX_LEN + 1]; /* hex, NUL terminated: shown once */
  char hash[65];
};
int auth_issue_prepare(struct auth *a, struct auth_issue *is, const char *person, int64_t valid_ms);
int auth_issue_work(struct store_conn *c, void *issue);

/* A token's revocation as a store job; auth_revocation_result (loop thread, once the job has
 * committed): 0, -ENOENT (no such token), -EALREADY (already revoked) or -EIO. */
struct auth_revocation {
  int64_t id, when_ms;
  int changed; /* written by the job */
};
void auth_revocation_init(struct auth_revocation *r, int64_t id);
int auth_revocation_work(struct store_conn *c, void *revocation);
int auth_revocation_result(struct store *s, const struct auth_revocation *r);

/* The same for the command line, blocking until committed: the token (hex, NUL terminated) into
 * out (at least AUTH_TOKEN_HEX_LEN + 1 bytes), or -EINVAL for a shorter out. */
int auth_create_token(struct auth *a, const char *person, int64_t valid_ms, char *out, size_t outlen);
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
