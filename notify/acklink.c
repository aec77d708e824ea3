#include "acklink.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

int acklink_key_random(unsigned char key[ACKLINK_KEY_BYTES])
{
  return getrandom(key, ACKLINK_KEY_BYTES, 0) == ACKLINK_KEY_BYTES ? 0 : -EIO;
}

static int acklink__read(int fd, unsigned char key[ACKLINK_KEY_BYTES])
{
  ssize_t n = read(fd, key, ACKLINK_KEY_BYTES);
  return n == ACKLINK_KEY_BYTES ? 0 : n < 0 ? -errno : -EINVAL;
}

int acklink_key_load(const char *path, unsigned char key[ACKLINK_KEY_BYTES])
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    int rc = acklink__read(fd, key);
    close(fd);
    return rc;
  }
  if (errno != ENOENT) return -errno;
  int rc = acklink_key_random(key);
  if (rc) return rc;
  if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) return -errno;
  rc = write(fd, key, ACKLINK_KEY_BYTES) == ACKLINK_KEY_BYTES && fsync(fd) == 0 ? 0 : -EIO;
  close(fd);
  if (rc) unlink(path);
  return rc;
}

void acklink_token(const unsigned char key[ACKLINK_KEY_BYTES], int64_t id, char out[ACKLINK_TOKEN_LEN + 1])
{
  char msg[48];
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  int n = snprintf(msg, sizeof msg, "ack-link:%lld", (long long)id);
  HMAC(EVP_sha256(), key, ACKLINK_KEY_BYTES, (const unsigned char *)msg, (size_t)n, mac, &len);
  for (int i = 0; i < ACKLINK_TOKEN_LEN / 2; i++) snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

void acklink_hash(const char *token, char out[65])
{
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256((const unsigned char *)token, strlen(token), d);
  for (size_t i = 0; i < sizeof d; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}
