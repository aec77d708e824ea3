#include "post_link.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#define POST_LINK_SECRET_LEN 32
#define POST_LINK_MAC_BYTES 18 /* 144 bits: 24 base64url characters */

static const char *const post_link__sql_secret = "SELECT key FROM doc_secret WHERE id = 1";
static const char *const post_link__sql_secret_add = "INSERT OR IGNORE INTO doc_secret (id, key) VALUES (1, ?1)";
static const char *const post_link__sql_gen = "SELECT generation FROM post_links WHERE post = ?1";
static const char *const post_link__sql_revoke =
  "INSERT INTO post_links (post, generation, revoked_ms, revoked_by) VALUES (?1, 1, ?2, ?3)"
  " ON CONFLICT (post) DO UPDATE SET generation = generation + 1, revoked_ms = ?2, revoked_by = ?3";

struct post_link__job {
  unsigned char secret[POST_LINK_SECRET_LEN];
  int rc;
};

static int post_link__secret_work(struct store_conn *c, void *arg)
{
  struct post_link__job *j = arg;
  sqlite3_stmt *st = store_stmt(c, post_link__sql_secret_add);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_blob(st, 1, j->secret, sizeof j->secret, SQLITE_STATIC);
  return store_step_done(st);
}

int post_link_revoke_work(struct store_conn *c, void *arg)
{
  struct post_link_revocation *r = arg;
  sqlite3_stmt *st = store_stmt(c, post_link__sql_revoke);
  if (!st) return SQLITE_ERROR;
  store_bind_text(st, 1, r->post);
  sqlite3_bind_int64(st, 2, r->now_ms);
  store_bind_text(st, 3, r->by);
  return store_step_done(st);
}

static void post_link__done(void *arg, int rc) { ((struct post_link__job *)arg)->rc = rc; }

static int post_link__run(struct store *s, store_work_fn work, struct post_link__job *j)
{
  j->rc = 1;
  if (store_submit_urgent(s, work, post_link__done, j)) return -EIO;
  store_wait_own(s);
  return j->rc ? -EIO : 0;
}

/* 1 with the secret in out, 0 when there is none yet, negative on a database error. */
static int post_link__read_secret(struct store *s, unsigned char *out)
{
  sqlite3_stmt *st = store_stmt(store_reader(s), post_link__sql_secret);
  if (!st) return -EIO;
  int rc = sqlite3_step(st), found = 0;
  if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == POST_LINK_SECRET_LEN) {
    memcpy(out, sqlite3_column_blob(st, 0), POST_LINK_SECRET_LEN);
    found = 1;
  }
  sqlite3_reset(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -EIO;
}

static int post_link__secret(struct store *s, unsigned char *out)
{
  int rc = post_link__read_secret(s, out);
  if (rc) return rc < 0 ? rc : 0;
  struct post_link__job j = {0};
  if (getrandom(j.secret, sizeof j.secret, 0) != (ssize_t)sizeof j.secret) return -EIO;
  rc = post_link__run(s, post_link__secret_work, &j);
  memset(j.secret, 0, sizeof j.secret);
  if (!rc) rc = post_link__read_secret(s, out) == 1 ? 0 : -EIO; /* another writer's secret wins */
  return rc;
}

static int64_t post_link__generation(struct store *s, const char *post_id)
{
  sqlite3_stmt *st = store_stmt(store_reader(s), post_link__sql_gen);
  if (!st) return -EIO;
  store_bind_text(st, 1, post_id);
  int rc = sqlite3_step(st);
  int64_t g = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : rc == SQLITE_DONE ? 0 : -EIO;
  sqlite3_reset(st);
  return g;
}

static void post_link__encode(const unsigned char *mac, char *out)
{
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t o = 0;
  for (size_t i = 0; i < POST_LINK_MAC_BYTES; i += 3) {
    unsigned v = (unsigned)mac[i] << 16 | (unsigned)mac[i + 1] << 8 | mac[i + 2];
    for (int k = 18; k >= 0; k -= 6) out[o++] = b64[(v >> k) & 63];
  }
  out[o] = '\0';
}

static int post_link__compute(const unsigned char *secret, const char *post_id, int64_t gen, char *out)
{
  char msg[300];
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned maclen = 0;
  int n = snprintf(msg, sizeof msg, "post-link\n%s\n%lld", post_id, (long long)gen);
  if (n < 0 || (size_t)n >= sizeof msg) return -ENAMETOOLONG;
  if (!HMAC(EVP_sha256(), secret, POST_LINK_SECRET_LEN, (const unsigned char *)msg, (size_t)n, mac, &maclen))
    return -EIO;
  post_link__encode(mac, out);
  return 0;
}

int post_link_key(struct store *s, const char *post_id, char *out, size_t len, int64_t *generation)
{
  unsigned char secret[POST_LINK_SECRET_LEN];
  if (len <= POST_LINK_KEY_LEN) return -ENOSPC;
  int rc = post_link__secret(s, secret);
  int64_t gen = rc ? 0 : post_link__generation(s, post_id);
  if (!rc && gen < 0) rc = (int)gen;
  if (!rc) rc = post_link__compute(secret, post_id, gen, out);
  memset(secret, 0, sizeof secret);
  if (!rc && generation) *generation = gen;
  return rc;
}

const struct dg_post *post_link_find(struct store *s, const struct dg_config *cfg, const char *key)
{
  unsigned char secret[POST_LINK_SECRET_LEN];
  const struct dg_post *found = NULL;
  if (strlen(key) != POST_LINK_KEY_LEN || post_link__read_secret(s, secret) != 1) return NULL;
  for (size_t i = 0; i < cfg->n_posts && !found; i++) {
    char k[POST_LINK_KEY_LEN + 1];
    int64_t gen = post_link__generation(s, cfg->posts[i].id);
    if (gen >= 0 && !post_link__compute(secret, cfg->posts[i].id, gen, k) && !CRYPTO_memcmp(k, key, POST_LINK_KEY_LEN))
      found = &cfg->posts[i];
  }
  memset(secret, 0, sizeof secret);
  return found;
}

int post_link_url(const char *base, const char *key, char *out, size_t len)
{
  size_t blen = strlen(base);
  while (blen && base[blen - 1] == '/') blen--;
  int n = snprintf(out, len, "%.*s/p/%s", (int)blen, base, key);
  return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}
