#include "connlim.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

struct connlim_slot {
  unsigned char addr[16]; /* IPv6, or IPv4-mapped */
  const void *owner;
  int used;
};

struct connlim {
  struct connlim_slot *slots; /* indexed by descriptor */
  unsigned nslots, hi;        /* hi: one past the highest descriptor in use */
  unsigned max_total, max_per_client, open;
};

unsigned connlim_nofile(void)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > CONNLIM_MAX_TRACKED)
    return CONNLIM_MAX_TRACKED;
  return (unsigned)rl.rlim_cur;
}

static unsigned connlim__lower(unsigned want, unsigned room, int *clamped)
{
  if (!want) return room;
  if (want > room) {
    *clamped = 1;
    return room;
  }
  return want;
}

int connlim_derive(unsigned nofile, unsigned want_total, unsigned want_per_client, unsigned want_reserve,
                   struct connlim_caps *out, int *clamped)
{
  *clamped = 0;
  unsigned reserve = want_reserve ? want_reserve : nofile / 4;
  if (!want_reserve && reserve < CONNLIM_MIN_RESERVE) reserve = CONNLIM_MIN_RESERVE;
  if (nofile < reserve || nofile - reserve < CONNLIM_MIN_TOTAL) return -EMFILE;
  unsigned total = connlim__lower(want_total, nofile - reserve, clamped);
  unsigned per_client = total / 4 < 4 ? 4 : total / 4;
  per_client = want_per_client ? connlim__lower(want_per_client, total, clamped) : per_client;
  *out = (struct connlim_caps){.nofile = nofile, .reserve = nofile - total, .max_total = total,
                               .max_per_client = per_client};
  return 0;
}

int connlim_new(struct connlim **out, unsigned nofile, const struct connlim_caps *caps)
{
  struct connlim *l = calloc(1, sizeof *l);
  if (!l || !(l->slots = calloc(nofile ? nofile : 1, sizeof *l->slots))) {
    free(l);
    return -ENOMEM;
  }
  l->nslots = nofile;
  l->max_total = caps->max_total;
  l->max_per_client = caps->max_per_client;
  *out = l;
  return 0;
}

void connlim_free(struct connlim *l)
{
  if (!l) return;
  free(l->slots);
  free(l);
}

static void connlim__key(const struct sockaddr *sa, socklen_t len, unsigned char key[16])
{
  memset(key, 0, 16);
  if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
    memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
  } else if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
    key[10] = key[11] = 0xff;
    memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
  }
}

static void connlim__clear(struct connlim *l, unsigned fd)
{
  if (!l->slots[fd].used) return;
  memset(&l->slots[fd], 0, sizeof l->slots[fd]);
  l->open--;
  while (l->hi > 0 && !l->slots[l->hi - 1].used) l->hi--;
}

int connlim_admit(struct connlim *l, int fd, const struct sockaddr *addr, socklen_t len)
{
  if (fd < 0 || (unsigned)fd >= l->nslots) return 0; /* beyond what is tracked: the total cap holds */
  connlim__clear(l, (unsigned)fd);
  if (l->open >= l->max_total) return -ENFILE;
  unsigned char key[16];
  connlim__key(addr, len, key);
  unsigned same = 0;
  for (unsigned i = 0; i < l->hi; i++)
    if (l->slots[i].used && memcmp(l->slots[i].addr, key, 16) == 0) same++;
  if (same >= l->max_per_client) return -EBUSY;
  struct connlim_slot *s = &l->slots[fd];
  memcpy(s->addr, key, 16);
  s->owner = NULL;
  s->used = 1;
  l->open++;
  if ((unsigned)fd >= l->hi) l->hi = (unsigned)fd + 1;
  return 0;
}

void connlim_bind(struct connlim *l, int fd, const void *owner)
{
  if (fd >= 0 && (unsigned)fd < l->nslots && l->slots[fd].used && !l->slots[fd].owner) l->slots[fd].owner = owner;
}

void connlim_release(struct connlim *l, const void *owner)
{
  for (unsigned i = 0; owner && i < l->hi; i++)
    if (l->slots[i].used && l->slots[i].owner == owner) {
      connlim__clear(l, i);
      return;
    }
}

unsigned connlim_open(const struct connlim *l) { return l->open; }
