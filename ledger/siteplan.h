/* siteplan — the four-colour spatial map's pure parts: the size of an uploaded site-plan image
 * and the validation of a risk unit's polygon on it.
 *
 * Coordinates are image pixels, x to the right and y down from the top-left corner, so a
 * polygon stays on the same spot of the plan at any display size. No I/O, no state. */
#ifndef DG_SITEPLAN_H
#define DG_SITEPLAN_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define SITEPLAN_MAX_POINTS 256
#define SITEPLAN_MAX_SIDE 20000 /* pixels; larger plans are refused */

/* Width and height of a PNG (IHDR) or JPEG (first SOFn frame header) held in buf; type is the
 * canonical type from attach_sniff ("image/png", "image/jpeg"). 0; -EPROTONOSUPPORT for another
 * type; -EINVAL when the header is missing or truncated, or a side is 0 or above
 * SITEPLAN_MAX_SIDE. */
int siteplan_image_size(const char *type, const void *buf, size_t len, uint32_t *width, uint32_t *height);

struct siteplan_poly {
  double xy[2 * SITEPLAN_MAX_POINTS]; /* x0 y0 x1 y1 ... */
  size_t n;                           /* points */
  double max_x, max_y;                /* bounding box corner, to re-check against a new image */
};

/* Reads `points` ([[x, y], ...]) into *out, checking: an array of 3 to SITEPLAN_MAX_POINTS
 * pairs of finite numbers, each within 0..width and 0..height, enclosing a non-zero area.
 * 0, or -EINVAL with a message for a 400 in err ("points[3]: x 1700 is outside the image (0 to
 * 1600)"). */
int siteplan_poly_parse(const cJSON *points, uint32_t width, uint32_t height, struct siteplan_poly *out, char *err,
                        size_t errlen);

/* The polygon as compact JSON ([[x,y],...]), malloc'd; NULL when out of memory. */
char *siteplan_poly_json(const struct siteplan_poly *p);

#endif
