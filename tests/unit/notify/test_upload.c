/* The `datas` encryption of the upload client's transport: AES-128-CBC with the key as IV,
 * PKCS#7 padding, base64 — checked against a vector made by an independent implementation
 * (Python's cryptography package) and for the padding of a full block. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "upload.h"

static void test_known_vector(void **state)
{
  (void)state;
  const char *text = "[{\"id\":\"隐患\"}]";
  char *got = upload_encrypt("HAYJJWWYTSJJHMYH", text, strlen(text));
  assert_non_null(got);
  assert_string_equal(got, "ASlCCGdcDyJ+UA/ENsB5E0LJ95u7S/ga3r/PrJJGqy4=");
  free(got);
}

static void test_full_block_gets_a_padding_block(void **state)
{
  (void)state;
  char *got = upload_encrypt("0123456789abcdef", "0123456789abcdef", 16);
  assert_non_null(got);
  assert_int_equal(strlen(got), 44); /* 32 bytes of ciphertext in base64 */
  free(got);
}

static void test_bad_key(void **state)
{
  (void)state;
  assert_null(upload_encrypt("short", "x", 1));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_known_vector),
    cmocka_unit_test(test_full_block_gets_a_padding_block),
    cmocka_unit_test(test_bad_key),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
