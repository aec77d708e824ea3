/* login_limit — failed login attempts counted by key ("name:<login>", "addr:<client address>").
 * After max failures a key is locked out for lockout_ms, doubled with every further failure up
 * to LOGIN_LIMIT_MAX_LOCK_MS; failures older than LOGIN_LIMIT_FORGET_MS without a lock-out are
 * forgotten. A fixed table: when full, the entry least recently failed (unlocked ones first) is
 * reused. Loop thread; no allocation. */
#ifndef DG_LOGIN_LIMIT_H
#define DG_LOGIN_LIMIT_H

#include <stdint.h>

#define LOGIN_LIMIT_SLOTS 512
#define LOGIN_LIMIT_KEY 96
#define LOGIN_LIMIT_MAX_LOCK_MS 3600000
#define LOGIN_LIMIT_FORGET_MS 3600000

struct login_limit_entry {
  char key[LOGIN_LIMIT_KEY];
  uint32_t failures;
  int64_t last_ms, locked_until_ms;
};

struct login_limit {
  struct login_limit_entry e[LOGIN_LIMIT_SLOTS];
};

/* Milliseconds `key` stays locked out from now_ms (0: it may try). */
int64_t login_limit_wait(const struct login_limit *ll, const char *key, int64_t now_ms);
/* Counts a failure; returns the failures counted (including this one). */
uint32_t login_limit_fail(struct login_limit *ll, const char *key, int64_t now_ms, uint32_t max, int64_t lockout_ms);
/* Forgets the failures of `key` (a successful login). */
void login_limit_clear(struct login_limit *ll, const char *key);

#endif
