/* chan_sign — the signatures and encodings the providers' wire formats need. Pure functions. */
#ifndef DG_CHAN_SIGN_H
#define DG_CHAN_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* Standard Base64 of len bytes, malloc'd and NUL-terminated (NULL when out of memory). */
char *chan_base64(const void *data, size_t len);

/* Percent-encodes every byte outside A-Z a-z 0-9 - _ . ~ (malloc'd, NULL when out of memory). */
char *chan_urlencode(const char *s);

/* DingTalk robot 加签: URL-encode(Base64(HMAC-SHA256(key = secret, msg = ts_ms "\n" secret))). */
char *chan_dingtalk_sign(const char *secret, int64_t ts_ms);

/* Feishu bot: Base64(HMAC-SHA256(key = ts_s "\n" secret, msg = "")) — the string-to-sign is the key. */
char *chan_feishu_sign(const char *secret, int64_t ts_s);

/* The longest prefix of s (at most max bytes) that ends on a UTF-8 character boundary. */
size_t chan_utf8_cut(const char *s, size_t max);

/* RFC 2047 header value: plain ASCII text as is, otherwise =?UTF-8?B?...?= encoded-words of at
 * most 75 characters, each holding whole UTF-8 characters, folded with CRLF SP. malloc'd. */
char *chan_rfc2047(const char *text);

#endif
