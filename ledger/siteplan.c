#include "siteplan.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t siteplan__be32(const unsigned char *b)
{
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint32_t siteplan__be16(const unsigned char *b) { return (uint32_t)b[0] << 8 | b[1]; }

/* PNG: signature (8), IHDR length (4), "IHDR" (4), width (4), height (4). */
static int siteplan__png(const unsigned char *b, size_t len, uint32_t *w, uint32_t *h)
{
  if (len < 24 || memcmp(b + 12, "IHDR", 4) != 0) return -EINVAL;
  *w = siteplan__be32(b + 16);
  *h = siteplan__be32(b + 20);
  return 0;
}

/* A start-of-frame marker: C0..CF except DHT (C4), JPG (C8) and DAC (CC). */
static int siteplan__is_sof(unsigned m) { return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc; }

/* JPEG: walk the marker segments after SOI up to the first SOFn; its header holds
 * precision (1), height (2), width (2). */
static int siteplan__jpeg(const unsigned char *b, size_t len, uint32_t *w, uint32_t *h)
{
  size_t i = 2;
  while (i + 4 <= len) {
    if (b[i] != 0xff) return -EINVAL;
    unsigned m = b[i + 1];
    if (m == 0xff) { /* fill byte */
      i++;
      continue;
    }
    if (m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7)) { /* no length */
      i += 2;
      continue;
    }
    if (m == 0xd9 || m == 0xda) return -EINVAL; /* end of image or scan data before any frame */
    uint32_t seg = siteplan__be16(b + i + 2);
    if (seg < 2) return -EINVAL;
    if (siteplan__is_sof(m)) {
      if (seg < 7 || i + 9 > len) return -EINVAL;
      *h = siteplan__be16(b + i + 5);
      *w = siteplan__be16(b + i + 7);
      return 0;
    }
    i += 2 + seg;
  }
  return -EINVAL;
}

int siteplan_image_size(const char *type, const void *buf, size_t len, uint32_t *width, uint32_t *height)
{
  uint32_t w = 0, h = 0;
  int rc;
  if (!type) return -EPROTONOSUPPORT;
  if (!strcmp(type, "image/png")) rc = siteplan__png(buf, len, &w, &h);
  else if (!strcmp(type, "image/jpeg")) rc = siteplan__jpeg(buf, len, &w, &h);
  else return -EPROTONOSUPPORT;
  if (rc) return rc;
  if (!w || !h || w > SITEPLAN_MAX_SIDE || h > SITEPLAN_MAX_SIDE) return -EINVAL;
  *width = w;
  *height = h;
  return 0;
}

/* Twice the signed area (shoelace). */
static double siteplan__area2(const struct siteplan_poly *p)
{
  double a = 0;
  for (size_t i = 0; i < p->n; i++) {
    size_t j = (i + 1) % p->n;
    a += p->xy[2 * i] * p->xy[2 * j + 1] - p->xy[2 * j] * p->xy[2 * i + 1];
  }
  return a;
}

static int siteplan__point(const cJSON *pt, size_t i, uint32_t width, uint32_t height, struct siteplan_poly *out,
                           char *err, size_t errlen)
{
  const cJSON *x = cJSON_GetArrayItem(pt, 0), *y = cJSON_GetArrayItem(pt, 1);
  if (!cJSON_IsArray(pt) || cJSON_GetArraySize(pt) != 2 || !cJSON_IsNumber(x) || !cJSON_IsNumber(y) ||
      !isfinite(x->valuedouble) || !isfinite(y->valuedouble)) {
    snprintf(err, errlen, "points[%zu]: expected [x, y], two numbers (image pixels)", i);
    return -EINVAL;
  }
  if (x->valuedouble < 0 || x->valuedouble > width) {
    snprintf(err, errlen, "points[%zu]: x %g is outside the image (0 to %u)", i, x->valuedouble, (unsigned)width);
    return -EINVAL;
  }
  if (y->valuedouble < 0 || y->valuedouble > height) {
    snprintf(err, errlen, "points[%zu]: y %g is outside the image (0 to %u)", i, y->valuedouble, (unsigned)height);
    return -EINVAL;
  }
  /* a tenth of a pixel is finer than any click */
  out->xy[2 * i] = round(x->valuedouble * 10) / 10;
  out->xy[2 * i + 1] = round(y->valuedouble * 10) / 10;
  if (out->xy[2 * i] > out->max_x) out->max_x = out->xy[2 * i];
  if (out->xy[2 * i + 1] > out->max_y) out->max_y = out->xy[2 * i + 1];
  return 0;
}

int siteplan_poly_parse(const cJSON *points, uint32_t width, uint32_t height, struct siteplan_poly *out, char *err,
                        size_t errlen)
{
  memset(out, 0, sizeof *out);
  int n = cJSON_IsArray(points) ? cJSON_GetArraySize(points) : -1;
  if (n < 3 || n > SITEPLAN_MAX_POINTS) {
    snprintf(err, errlen, "points: expected an array of 3 to %d [x, y] pairs%s", SITEPLAN_MAX_POINTS,
             n >= 0 && n < 3 ? " (a polygon needs at least 3 points)" : "");
    return -EINVAL;
  }
  size_t i = 0;
  for (const cJSON *pt = points->child; pt; pt = pt->next, i++)
    if (siteplan__point(pt, i, width, height, out, err, errlen)) return -EINVAL;
  out->n = i;
  if (fabs(siteplan__area2(out)) < 1.0) {
    snprintf(err, errlen, "points: the polygon encloses no area (its points lie on one line)");
    return -EINVAL;
  }
  return 0;
}

char *siteplan_poly_json(const struct siteplan_poly *p)
{
  size_t cap = p->n * 48 + 3, off = 0;
  char *s = malloc(cap);
  if (!s) return NULL;
  s[off++] = '[';
  for (size_t i = 0; i < p->n; i++)
    off += (size_t)snprintf(s + off, cap - off, "%s[%.10g,%.10g]", i ? "," : "", p->xy[2 * i], p->xy[2 * i + 1]);
  snprintf(s + off, cap - off, "]");
  return s;
}
