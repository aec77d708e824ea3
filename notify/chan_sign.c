#include "chan_sign.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *chan_base64(const void *data, size_t len)
{
  char *out = malloc(4 * ((len + 2) / 3) + 1);
  if (out) EVP_EncodeBlock((unsigned char *)out, data, (int)len);
  return out;
}

char *chan_urlencode(const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  char *out = malloc(strlen(s) * 3 + 1), *p = out;
  if (!out) return NULL;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-_.~", c)) {
      *p++ = (char)c;
    } else {
      *p++ = '%';
      *p++ = hex[c >> 4];
      *p++ = hex[c & 15];
    }
  }
  *p = '\0';
  return out;
}

static char *chan__hmac_b64(const void *key, size_t keylen, const void *msg, size_t msglen)
{
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int maclen = 0;
  if (!HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, mac, &maclen)) return NULL;
  return chan_base64(mac, maclen);
}

char *chan_dingtalk_sign(const char *secret, int64_t ts_ms)
{
  size_t len = strlen(secret) + 32;
  char *msg = malloc(len);
  if (!msg) return NULL;
  int n = snprintf(msg, len, "%lld\n%s", (long long)ts_ms, secret);
  char *b64 = chan__hmac_b64(secret, strlen(secret), msg, (size_t)n);
  free(msg);
  char *enc = b64 ? chan_urlencode(b64) : NULL;
  free(b64);
  return enc;
}

char *chan_feishu_sign(const char *secret, int64_t ts_s)
{
  size_t len = strlen(secret) + 32;
  char *key = malloc(len);
  if (!key) return NULL;
  int n = snprintf(key, len, "%lld\n%s", (long long)ts_s, secret);
  char *b64 = chan__hmac_b64(key, (size_t)n, "", 0);
  free(key);
  return b64;
}

size_t chan_utf8_cut(const char *s, size_t max)
{
  size_t len = strlen(s);
  if (len <= max) return len;
  while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) max--;
  return max;
}

/* 45 bytes encode to 60 Base64 characters: "=?UTF-8?B?" + 60 + "?=" = 72 <= 75. */
#define CHAN_WORD_BYTES 45

char *chan_rfc2047(const char *text)
{
  size_t len = strlen(text);
  int ascii = 1;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)text[i] >= 0x7f || (unsigned char)text[i] < 0x20) ascii = 0;
  if (ascii) return strdup(text);
  char *out = malloc((len / 30 + 2) * 80), *p = out;
  if (!out) return NULL;
  for (size_t off = 0; off < len;) {
    size_t take = len - off > CHAN_WORD_BYTES ? CHAN_WORD_BYTES : len - off;
    while (take < len - off && take > 0 && ((unsigned char)text[off + take] & 0xC0) == 0x80) take--;
    char *b64 = chan_base64(text + off, take);
    if (!b64) {
      free(out);
      return NULL;
    }
    p += sprintf(p, "%s=?UTF-8?B?%s?=", off ? "\r\n " : "", b64);
    free(b64);
    off += take;
  }
  return out;
}
