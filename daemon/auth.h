/* auth — operator API tokens. A token is 32 random bytes shown once, in hex, when it is created;
 * the database keeps only its SHA-256 (api_tokens). Loop thread only. */
#ifndef DG_AUTH_H
#define DG_AUTH_H

#include <stddef.h>

#include "model.h"
#include "store.h"

#define AUTH_TOKEN_HEX_LEN 64

struct auth {
  const struct dg_config *const *cfg; /* the daemon's current config (changes on reload) */
  struct store *store;
};

/* Creates a token for a configured person, stores its hash and writes the token (hex, NUL
 * terminated) to out (at least AUTH_TOKEN_HEX_LEN + 1 bytes). 0, -ENOENT (no such person),
 * or another negative errno. Blocks until the row is committed. */
int auth_create_token(struct auth *a, const char *person, char *out, size_t outlen);

/* api_ctx.authenticate: the person a bearer token was issued to, or NULL if the token is
 * unknown, revoked or its person is no longer configured. Records last use. */
const struct dg_person *auth_authenticate(void *auth, const char *token);

#endif
