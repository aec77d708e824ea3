#include "digest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

void digest_hex(const unsigned char *in, size_t n, char *out)
{
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * n] = '\0';
}

int digest_sha256_hex(const char *token, char out[65])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(token, strlen(token), md, &len, EVP_sha256(), NULL) || len != 32) return -EIO;
  digest_hex(md, len, out);
  return 0;
}
