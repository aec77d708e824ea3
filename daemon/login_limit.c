#include "login_limit.h"

#include <stdio.h>
#include <string.h>

static struct login_limit_entry *login_limit__find(const struct login_limit *ll, const char *key)
{
  for (size_t i = 0; i < LOGIN_LIMIT_SLOTS; i++)
    if (ll->e[i].key[0] && strncmp(ll->e[i].key, key, LOGIN_LIMIT_KEY - 1) == 0)
      return (struct login_limit_entry *)&ll->e[i];
  return NULL;
}

/* A free slot, else the unlocked one failed longest ago, else the lock that ends first. */
static struct login_limit_entry *login_limit__slot(struct login_limit *ll, int64_t now_ms)
{
  struct login_limit_entry *best = &ll->e[0];
  for (size_t i = 0; i < LOGIN_LIMIT_SLOTS; i++) {
    struct login_limit_entry *e = &ll->e[i];
    if (!e->key[0]) return e;
    int e_locked = e->locked_until_ms > now_ms, b_locked = best->locked_until_ms > now_ms;
    if (e_locked != b_locked) {
      if (!e_locked) best = e;
    } else if (e_locked ? e->locked_until_ms < best->locked_until_ms : e->last_ms < best->last_ms) {
      best = e;
    }
  }
  return best;
}

int64_t login_limit_wait(const struct login_limit *ll, const char *key, int64_t now_ms)
{
  const struct login_limit_entry *e = login_limit__find(ll, key);
  return e && e->locked_until_ms > now_ms ? e->locked_until_ms - now_ms : 0;
}

uint32_t login_limit_fail(struct login_limit *ll, const char *key, int64_t now_ms, uint32_t max, int64_t lockout_ms)
{
  struct login_limit_entry *e = login_limit__find(ll, key);
  if (!e) {
    e = login_limit__slot(ll, now_ms);
    memset(e, 0, sizeof *e);
    snprintf(e->key, sizeof e->key, "%s", key);
  }
  if (e->locked_until_ms <= now_ms && now_ms - e->last_ms > LOGIN_LIMIT_FORGET_MS) e->failures = 0;
  e->failures++;
  e->last_ms = now_ms;
  if (e->failures >= max) {
    uint32_t doublings = e->failures - max < 12 ? e->failures - max : 12;
    int64_t lock = lockout_ms << doublings;
    e->locked_until_ms = now_ms + (lock < LOGIN_LIMIT_MAX_LOCK_MS ? lock : LOGIN_LIMIT_MAX_LOCK_MS);
  }
  return e->failures;
}

void login_limit_clear(struct login_limit *ll, const char *key)
{
  struct login_limit_entry *e = login_limit__find(ll, key);
  if (e) memset(e, 0, sizeof *e);
}
