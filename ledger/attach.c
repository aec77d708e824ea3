#include "attach.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ATTACH_READ_CHUNK (64 * 1024)

static const struct attach__type {
  const char *type, *ext;
  const unsigned char *magic;
  size_t magic_len;
  size_t magic_at; /* offset of a second part ("WEBP" after the RIFF size), 0 = none */
  const char *magic2;
} attach__types[] = {
  {"image/jpeg", "jpg", (const unsigned char *)"\xff\xd8\xff", 3, 0, NULL},
  {"image/png", "png", (const unsigned char *)"\x89PNG\r\n\x1a\n", 8, 0, NULL},
  {"image/webp", "webp", (const unsigned char *)"RIFF", 4, 8, "WEBP"},
  {"application/pdf", "pdf", (const unsigned char *)"%PDF-", 5, 0, NULL},
};

/* A PDF ends with "%%EOF" (possibly followed by line ends) within its last kilobyte. */
static int attach__pdf_trailer(const unsigned char *b, size_t len)
{
  size_t from = len > 1024 ? len - 1024 : 0;
  for (size_t i = len >= 5 ? len - 5 + 1 : 0; i-- > from;)
    if (memcmp(b + i, "%%EOF", 5) == 0) return 1;
  return 0;
}

static int attach__is_type(const char *content_type, const char *type)
{
  size_t n = strlen(type);
  if (strncasecmp(content_type, type, n) != 0) return 0;
  const char *rest = content_type + n;
  while (*rest == ' ') rest++;
  return *rest == '\0' || *rest == ';';
}

int attach_sniff(const char *content_type, const void *buf, size_t len, const char **type, const char **ext)
{
  const unsigned char *b = buf;
  for (size_t i = 0; content_type && i < sizeof attach__types / sizeof attach__types[0]; i++) {
    const struct attach__type *t = &attach__types[i];
    if (!attach__is_type(content_type, t->type)) continue;
    if (len < t->magic_len || memcmp(b, t->magic, t->magic_len) != 0) return -EINVAL;
    if (t->magic2 && (len < t->magic_at + strlen(t->magic2) || memcmp(b + t->magic_at, t->magic2, strlen(t->magic2))))
      return -EINVAL;
    if (!strcmp(t->ext, "pdf") && !attach__pdf_trailer(b, len)) return -EINVAL;
    *type = t->type;
    *ext = t->ext;
    return 0;
  }
  return -EPROTONOSUPPORT;
}

static void attach__hex(const unsigned char *md, char *out)
{
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[64] = '\0';
}

int attach_sha256_hex(const void *buf, size_t len, char *out)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL) || n != 32) return -EIO;
  attach__hex(md, out);
  return 0;
}

char *attach_dir(const char *configured, const char *db_path)
{
  if (configured && configured[0]) return strdup(configured);
  const char *db = db_path && db_path[0] ? db_path : "dualguard.db";
  size_t n = strlen(db) + sizeof ".attachments";
  char *d = malloc(n);
  if (d) snprintf(d, n, "%s.attachments", db);
  return d;
}

static char *attach__path(const char *dir, const char *file)
{
  size_t n = strlen(dir) + strlen(file) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, file);
  return p;
}

/* ---- reading ------------------------------------------------------------------------------- */

static int attach__read_fd(int fd, size_t size, EVP_MD_CTX *md, char *buf)
{
  size_t got = 0;
  while (got < size) {
    size_t want = size - got < ATTACH_READ_CHUNK ? size - got : ATTACH_READ_CHUNK;
    ssize_t r = read(fd, buf + got, want);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    if (r == 0) return -EBADMSG; /* shrank while being read */
    if (!EVP_DigestUpdate(md, buf + got, (size_t)r)) return -EIO;
    got += (size_t)r;
  }
  return 0;
}

int attach_read(const char *dir, const char *file, const char *sha256_hex, int64_t size, char **out, size_t *outlen)
{
  if (strchr(file, '/') || file[0] == '.' || size < 0 || size > ATTACH_MAX_BYTES) return -EINVAL;
  char *path = attach__path(dir, file);
  if (!path) return -ENOMEM;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  free(path);
  if (fd < 0) return -errno;
  char *buf = NULL;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  struct stat st;
  int rc = -EBADMSG;
  if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
    rc = -EIO;
    goto fail;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != size) goto fail;
  if (!(buf = malloc((size_t)size + 1))) {
    rc = -ENOMEM;
    goto fail;
  }
  if ((rc = attach__read_fd(fd, (size_t)size, md, buf))) goto fail;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  char hex[ATTACH_SHA256_HEX];
  rc = -EIO;
  if (!EVP_DigestFinal_ex(md, digest, &n) || n != 32) goto fail;
  attach__hex(digest, hex);
  rc = -EBADMSG;
  if (strcmp(hex, sha256_hex) != 0) goto fail;
  buf[size] = '\0';
  EVP_MD_CTX_free(md);
  close(fd);
  *out = buf;
  *outlen = (size_t)size;
  return 0;
fail:
  EVP_MD_CTX_free(md);
  free(buf);
  close(fd);
  return rc;
}

/* ---- writing (writer thread) --------------------------------------------------------------- */

static int attach__write_all(int fd, const char *buf, size_t len)
{
  while (len > 0) {
    ssize_t w = write(fd, buf, len);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -errno;
    buf += w;
    len -= (size_t)w;
  }
  return 0;
}

static int attach__fsync_dir(const char *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int rc = fsync(fd) == 0 ? 0 : -errno;
  close(fd);
  return rc;
}

/* Writes buf to a new temporary file in dir, fsyncs it and renames it to path. */
static int attach__write_new(const char *dir, const char *path, const void *buf, size_t len)
{
  char *tmp = attach__path(dir, ".upload-XXXXXX");
  if (!tmp) return -ENOMEM;
  int fd = mkostemp(tmp, O_CLOEXEC);
  int rc = fd < 0 ? -errno : 0;
  if (!rc) rc = attach__write_all(fd, buf, len);
  if (!rc && fsync(fd) != 0) rc = -errno;
  if (fd >= 0 && close(fd) != 0 && !rc) rc = -errno;
  if (!rc && rename(tmp, path) != 0) rc = -errno;
  if (rc && fd >= 0) unlink(tmp);
  if (!rc) rc = attach__fsync_dir(dir);
  free(tmp);
  return rc;
}

int attach_store(const char *dir, const void *buf, size_t len, const char *ext, char *sha256_hex, char *file,
                 size_t filelen)
{
  int rc = attach_sha256_hex(buf, len, sha256_hex);
  if (rc) return rc;
  if ((size_t)snprintf(file, filelen, "%s.%s", sha256_hex, ext) >= filelen) return -ENAMETOOLONG;
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) return -errno; /* photos of the plant: the daemon's only */
  char *existing = NULL;
  size_t n = 0;
  if (attach_read(dir, file, sha256_hex, (int64_t)len, &existing, &n) == 0) {
    free(existing); /* the same content is already stored */
    return 0;
  }
  char *path = attach__path(dir, file);
  if (!path) return -ENOMEM;
  rc = attach__write_new(dir, path, buf, len);
  free(path);
  return rc;
}
