/* digest — hex and SHA-256 helpers for secrets stored only as their hash (API tokens, login
 * sessions). Pure functions, any thread. */
#ifndef DG_DIGEST_H
#define DG_DIGEST_H

#include <stddef.h>

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void digest_hex(const unsigned char *in, size_t n, char *out);
/* SHA-256 of a token's text, hex: 0 or -EIO. */
int digest_sha256_hex(const char *token, char out[65]);

#endif
