/* post_link — the signed, read-only link a post's QR code opens ("<base>/p/<key>"): the key is
 * an HMAC-SHA256 (truncated to 144 bits, base64url) of the post id and its link generation under
 * a secret the database keeps (table doc_secret, made at first use from getrandom). The link
 * opens that post's cards and nothing else; revoking it moves the post to the next generation,
 * so the old key stops working and new prints carry the new one. Nothing but the secret and
 * the generations is stored.
 *
 * Loop thread: reads through the store's reader; the secret, made at first use, through an
 * urgent job it waits for (once in a database's life); the revocation is a job of its caller's. */
#ifndef DG_POST_LINK_H
#define DG_POST_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "store.h"

#define POST_LINK_KEY_LEN 24 /* base64url characters of the key */

/* The key of post `post_id` into out (size > POST_LINK_KEY_LEN) and its generation. 0, or
 * negative (database error). */
int post_link_key(struct store *s, const char *post_id, char *out, size_t len, int64_t *generation);

/* The post of cfg whose current key is `key`, or NULL (unknown, revoked or malformed). */
const struct dg_post *post_link_find(struct store *s, const struct dg_config *cfg, const char *key);

/* A revocation of a post's current link (the next generation replaces it), recording who. */
struct post_link_revocation {
  char post[128], by[128];
  int64_t now_ms;
};
/* Writer job body (arg: a struct post_link_revocation). */
int post_link_revoke_work(struct store_conn *c, void *arg);

/* "<base>/p/<key>" into out (base without its trailing '/'); 0 or -ENOSPC. */
int post_link_url(const char *base, const char *key, char *out, size_t len);

#endif
