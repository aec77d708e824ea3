/* Acknowledgement link tokens: derived from the link id with the key (checked against Python's
 * hmac), different per id and per key, and the key file is created once and read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "acklink.h"

static void test_token_is_hmac_of_the_id(void **state)
{
  (void)state;
  unsigned char key[ACKLINK_KEY_BYTES], other[ACKLINK_KEY_BYTES];
  char a[ACKLINK_TOKEN_LEN + 1], b[ACKLINK_TOKEN_LEN + 1], c[ACKLINK_TOKEN_LEN + 1];
  for (int i = 0; i < ACKLINK_KEY_BYTES; i++) key[i] = (unsigned char)i, other[i] = (unsigned char)(i + 1);
  acklink_token(key, 7, a);
  assert_string_equal(a, "5bd577ad8fdd0fa66f1095edb5918eba");
  acklink_token(key, 8, b);
  acklink_token(other, 7, c);
  assert_string_not_equal(a, b);
  assert_string_not_equal(a, c);
  char h[65];
  acklink_hash("abc", h);
  assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_key_file_created_once(void **state)
{
  (void)state;
  char dir[] = "/tmp/acklink-XXXXXX", path[64];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/k", dir);
  unsigned char k1[ACKLINK_KEY_BYTES], k2[ACKLINK_KEY_BYTES];
  assert_int_equal(acklink_key_load(path, k1), 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(acklink_key_load(path, k2), 0);
  assert_memory_equal(k1, k2, ACKLINK_KEY_BYTES);
  FILE *f = fopen(path, "w"); /* a truncated key is refused, not replaced */
  fputs("short", f);
  fclose(f);
  assert_int_equal(acklink_key_load(path, k2), -EINVAL);
  unlink(path);
  rmdir(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_token_is_hmac_of_the_id),
    cmocka_unit_test(test_key_file_created_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
