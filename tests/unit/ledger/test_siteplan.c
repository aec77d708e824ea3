/* The site plan's pure parts: image sizes read from PNG and JPEG headers (and refused when
 * missing, truncated or absurd), polygons checked against the image, and their JSON. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "siteplan.h"

static const unsigned char png_1600x1000[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D',
                                              'R', 0, 0, 0x06, 0x40, 0, 0, 0x03, 0xe8, 8, 2, 0, 0, 0};

/* SOI, APP0 (16), a DQT-like segment to skip, fill bytes, then SOF2 (progressive) 300 high, 400 wide. */
static const unsigned char jpeg_400x300[] = {
  0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xff, 0xdb, 0, 4, 0, 0,
  0xff, 0xff, 0xff, 0xc2, 0, 17, 8, 0x01, 0x2c, 0x01, 0x90, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xd9};

static void test_image_size(void **state)
{
  (void)state;
  uint32_t w = 0, h = 0;
  assert_int_equal(siteplan_image_size("image/png", png_1600x1000, sizeof png_1600x1000, &w, &h), 0);
  assert_int_equal(w, 1600);
  assert_int_equal(h, 1000);
  assert_int_equal(siteplan_image_size("image/jpeg", jpeg_400x300, sizeof jpeg_400x300, &w, &h), 0);
  assert_int_equal(w, 400);
  assert_int_equal(h, 300);
  /* truncated anywhere before the size: refused */
  for (size_t n = 0; n < 24; n++) assert_int_equal(siteplan_image_size("image/png", png_1600x1000, n, &w, &h), -EINVAL);
  for (size_t n = 2; n < 36; n++)
    assert_int_equal(siteplan_image_size("image/jpeg", jpeg_400x300, n, &w, &h), -EINVAL);
  assert_int_equal(siteplan_image_size("image/webp", png_1600x1000, sizeof png_1600x1000, &w, &h), -EPROTONOSUPPORT);
  /* a zero side, and one above the limit */
  unsigned char png[sizeof png_1600x1000];
  memcpy(png, png_1600x1000, sizeof png);
  memset(png + 16, 0, 4);
  assert_int_equal(siteplan_image_size("image/png", png, sizeof png, &w, &h), -EINVAL);
  png[17] = 0x01; /* 65536 pixels wide */
  assert_int_equal(siteplan_image_size("image/png", png, sizeof png, &w, &h), -EINVAL);
  /* scan data before any frame header */
  static const unsigned char sos_first[] = {0xff, 0xd8, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0};
  assert_int_equal(siteplan_image_size("image/jpeg", sos_first, sizeof sos_first, &w, &h), -EINVAL);
}

static int parse(const char *json, struct siteplan_poly *p, char *err, size_t errlen)
{
  cJSON *v = cJSON_Parse(json);
  int rc = siteplan_poly_parse(v, 100, 50, p, err, errlen);
  cJSON_Delete(v);
  return rc;
}

static void test_polygon(void **state)
{
  (void)state;
  struct siteplan_poly *p = malloc(sizeof *p);
  char err[160];
  assert_non_null(p);
  assert_int_equal(parse("[[0,0],[100,0],[100,50],[12.345,49.96]]", p, err, sizeof err), 0);
  assert_int_equal(p->n, 4);
  assert_true(p->max_x == 100 && p->max_y == 50);
  char *s = siteplan_poly_json(p);
  assert_string_equal(s, "[[0,0],[100,0],[100,50],[12.3,50]]");
  free(s);
  static const struct {
    const char *json, *err;
  } bad[] = {
    {"[[0,0],[1,1]]", "points: expected an array of 3 to 256 [x, y] pairs (a polygon needs at least 3 points)"},
    {"{\"x\":1}", "points: expected an array of 3 to 256 [x, y] pairs"},
    {"[[0,0],[101,0],[0,1]]", "points[1]: x 101 is outside the image (0 to 100)"},
    {"[[0,0],[1,0],[0,-0.5]]", "points[2]: y -0.5 is outside the image (0 to 50)"},
    {"[[0,0],[1,\"0\"],[0,1]]", "points[1]: expected [x, y], two numbers (image pixels)"},
    {"[[0,0],[1,0,0],[0,1]]", "points[1]: expected [x, y], two numbers (image pixels)"},
    {"[[0,0],[10,10],[20,20],[5,5]]", "points: the polygon encloses no area (its points lie on one line)"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(parse(bad[i].json, p, err, sizeof err), -EINVAL);
    assert_string_equal(err, bad[i].err);
  }
  assert_int_equal(siteplan_poly_parse(NULL, 100, 50, p, err, sizeof err), -EINVAL);
  free(p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_image_size),
    cmocka_unit_test(test_polygon),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
