/* acklink — the one-time acknowledgement links' tokens. A link's token is derived from its id
 * with a key the database never holds (HMAC-SHA256, kept in a file beside it), so an outbox row
 * names only the link's id and the token is rendered into the message when it is sent; the
 * ack_links row keeps the token's SHA-256 to find it again. */
#ifndef DG_ACKLINK_H
#define DG_ACKLINK_H

#include <stdint.h>

#define ACKLINK_KEY_BYTES 32
#define ACKLINK_TOKEN_LEN 32 /* hex characters */

/* Reads the key from path, or creates the file (mode 0600) with a random one. 0 or -errno. */
int acklink_key_load(const char *path, unsigned char key[ACKLINK_KEY_BYTES]);
/* A random key (links then last until the next start). 0 or -errno. */
int acklink_key_random(unsigned char key[ACKLINK_KEY_BYTES]);

/* The token of link `id`: ACKLINK_TOKEN_LEN hex characters and a NUL. */
void acklink_token(const unsigned char key[ACKLINK_KEY_BYTES], int64_t id, char out[ACKLINK_TOKEN_LEN + 1]);
/* SHA-256 of a token, 64 hex characters and a NUL. */
void acklink_hash(const char *token, char out[65]);

#endif
