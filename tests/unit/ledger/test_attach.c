/* Photo attachments on disk: type and magic checks, storage under the SHA-256, one file per
 * content, hash-checked reads that notice damage. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach.h"

static const unsigned char png_head[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};

static void test_sniff(void **state)
{
  (void)state;
  const char *type = NULL, *ext = NULL;
  static const unsigned char jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F'};
  static const char webp[] = "RIFF\x10\0\0\0WEBPVP8 ";
  assert_int_equal(attach_sniff("image/png", png_head, sizeof png_head, &type, &ext), 0);
  assert_string_equal(type, "image/png");
  assert_string_equal(ext, "png");
  assert_int_equal(attach_sniff("Image/JPEG; q=1", jpeg, sizeof jpeg, &type, &ext), 0);
  assert_string_equal(type, "image/jpeg");
  assert_string_equal(ext, "jpg");
  assert_int_equal(attach_sniff("image/webp", webp, sizeof webp - 1, &type, &ext), 0);
  assert_string_equal(ext, "webp");
  /* Declared type and bytes disagree, or too short to tell. */
  assert_int_equal(attach_sniff("image/png", jpeg, sizeof jpeg, &type, &ext), -EINVAL);
  assert_int_equal(attach_sniff("image/webp", "RIFF\x10\0\0\0WAVEfmt ", 16, &type, &ext), -EINVAL);
  assert_int_equal(attach_sniff("image/jpeg", jpeg, 2, &type, &ext), -EINVAL);
  assert_int_equal(attach_sniff("image/png", "", 0, &type, &ext), -EINVAL);
  /* Unsupported types. */
  assert_int_equal(attach_sniff("image/gif", "GIF89a", 6, &type, &ext), -EPROTONOSUPPORT);
  assert_int_equal(attach_sniff("image/pngx", png_head, sizeof png_head, &type, &ext), -EPROTONOSUPPORT);
  assert_int_equal(attach_sniff("text/plain", png_head, sizeof png_head, &type, &ext), -EPROTONOSUPPORT);
  assert_int_equal(attach_sniff(NULL, png_head, sizeof png_head, &type, &ext), -EPROTONOSUPPORT);
}

/* A PDF needs its header and its %%EOF trailer near the end; an image declared as PDF is refused. */
static void test_sniff_pdf(void **state)
{
  (void)state;
  const char *type = NULL, *ext = NULL;
  static const char pdf[] = "%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
  assert_int_equal(attach_sniff("application/pdf", pdf, sizeof pdf - 1, &type, &ext), 0);
  assert_string_equal(type, "application/pdf");
  assert_string_equal(ext, "pdf");
  assert_int_equal(attach_sniff("application/pdf", pdf, sizeof pdf - 8, &type, &ext), -EINVAL); /* truncated */
  assert_int_equal(attach_sniff("application/pdf", png_head, sizeof png_head, &type, &ext), -EINVAL);
  assert_int_equal(attach_sniff("application/pdf", "%PDF-", 5, &type, &ext), -EINVAL);
  assert_int_equal(attach_sniff("image/png", pdf, sizeof pdf - 1, &type, &ext), -EINVAL);
}

static void test_sha256_and_dir(void **state)
{
  (void)state;
  char hex[ATTACH_SHA256_HEX];
  assert_int_equal(attach_sha256_hex("abc", 3, hex), 0);
  assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  char *d = attach_dir(NULL, "/var/lib/dg/dg.db");
  assert_string_equal(d, "/var/lib/dg/dg.db.attachments");
  free(d);
  d = attach_dir("/srv/photos", "/var/lib/dg/dg.db");
  assert_string_equal(d, "/srv/photos");
  free(d);
}

static int count_files(const char *dir)
{
  DIR *dp = opendir(dir);
  int n = 0;
  for (struct dirent *e; dp && (e = readdir(dp));) n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  if (dp) closedir(dp);
  return n;
}

static void test_store_and_read(void **state)
{
  (void)state;
  char root[] = "/tmp/dg-attach-XXXXXX";
  assert_non_null(mkdtemp(root));
  char dir[128];
  snprintf(dir, sizeof dir, "%s/att", root);
  unsigned char photo[5000];
  memcpy(photo, png_head, sizeof png_head);
  for (size_t i = sizeof png_head; i < sizeof photo; i++) photo[i] = (unsigned char)(i * 7);
  char hex[ATTACH_SHA256_HEX], want[ATTACH_SHA256_HEX], file[96], path[256];
  assert_int_equal(attach_sha256_hex(photo, sizeof photo, want), 0);

  /* Creates the directory; the file is named by the hash. */
  assert_int_equal(attach_store(dir, photo, sizeof photo, "png", hex, file, sizeof file), 0);
  assert_string_equal(hex, want);
  assert_int_equal(strlen(file), 68);
  assert_memory_equal(file, want, 64);
  assert_string_equal(file + 64, ".png");
  char *buf = NULL;
  size_t len = 0;
  assert_int_equal(attach_read(dir, file, hex, sizeof photo, &buf, &len), 0);
  assert_int_equal(len, sizeof photo);
  assert_memory_equal(buf, photo, sizeof photo);
  free(buf);

  /* The same content again: still one file, no temporary left. */
  assert_int_equal(attach_store(dir, photo, sizeof photo, "png", hex, file, sizeof file), 0);
  assert_int_equal(count_files(dir), 1);

  /* Damage is noticed, by content or by size; storing the content again repairs it. */
  snprintf(path, sizeof path, "%s/%s", dir, file);
  FILE *f = fopen(path, "r+b");
  assert_non_null(f);
  fseek(f, 100, SEEK_SET);
  fputc(photo[100] ^ 1, f);
  fclose(f);
  buf = NULL;
  assert_int_equal(attach_read(dir, file, hex, sizeof photo, &buf, &len), -EBADMSG);
  assert_null(buf);
  assert_int_equal(attach_read(dir, file, hex, sizeof photo - 1, &buf, &len), -EBADMSG);
  assert_int_equal(attach_store(dir, photo, sizeof photo, "png", hex, file, sizeof file), 0);
  assert_int_equal(attach_read(dir, file, hex, sizeof photo, &buf, &len), 0);
  free(buf);
  assert_int_equal(count_files(dir), 1);

  /* Missing, or a name that would leave the directory. */
  unlink(path);
  assert_int_equal(attach_read(dir, file, hex, sizeof photo, &buf, &len), -ENOENT);
  assert_int_equal(attach_read(dir, "../x.png", hex, 1, &buf, &len), -EINVAL);
  assert_int_equal(attach_read(dir, ".upload-abc", hex, 1, &buf, &len), -EINVAL);

  /* The directory's parent must exist. */
  char deep[200];
  snprintf(deep, sizeof deep, "%s/no/such", root);
  assert_int_equal(attach_store(deep, photo, sizeof photo, "png", hex, file, sizeof file), -ENOENT);
  rmdir(dir);
  rmdir(root);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sniff),
    cmocka_unit_test(test_sniff_pdf),
    cmocka_unit_test(test_sha256_and_dir),
    cmocka_unit_test(test_store_and_read),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
