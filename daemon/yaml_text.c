#include "yaml_part.h"

#include <stddef.h>
#include <stdint.h>

/* ---- UTF-8 of the YAML text ---- */

size_t yaml_utf8_put(char *out, uint32_t c)
{
  if (c < 0x80) {
    out[0] = (char)c;
    return 1;
  }
  if (c < 0x800) {
    out[0] = (char)(0xc0 | c >> 6);
    out[1] = (char)(0x80 | (c & 0x3f));
    return 2;
  }
  if (c < 0x10000) {
    out[0] = (char)(0xe0 | c >> 12);
    out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
    out[2] = (char)(0x80 | (c & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | c >> 18);
  out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
  out[3] = (char)(0x80 | (c & 0x3f));
  return 4;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF), or 0. */
static size_t yaml__utf8_len(const unsigned char *p, size_t left)
{
  unsigned char lo = 0x80, hi = 0xbf;
  size_t n;
  if (p[0] < 0x80) return 1;
  if (p[0] >= 0xc2 && p[0] <= 0xdf) n = 2;
  else if (p[0] >= 0xe0 && p[0] <= 0xef) n = 3;
  else if (p[0] >= 0xf0 && p[0] <= 0xf4) n = 4;
  else return 0;
  if (p[0] == 0xe0) lo = 0xa0;
  else if (p[0] == 0xed) hi = 0x9f;
  else if (p[0] == 0xf0) lo = 0x90;
  else if (p[0] == 0xf4) hi = 0x8f;
  if (left < n || p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xbf) return 0;
  return n;
}


/* libfyaml 0.7.12 can loop forever on malformed UTF-8 (e.g. in a reserved directive), so bad
 * bytes are found before it sees them. */
const unsigned char *yaml_utf8_check(const char *buf, size_t len, int *line, int *col)
{
  const unsigned char *p = (const unsigned char *)buf;
  *line = *col = 1;
  for (size_t i = 0; i < len; (*col)++) {
    size_t n = p[i] ? yaml__utf8_len(p + i, len - i) : 0;
    if (!n) return p + i;
    if (p[i] == '\n') {
      (*line)++;
      *col = 0;
    }
    i += n;
  }
  return NULL;
}
