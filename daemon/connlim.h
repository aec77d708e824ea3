/* connlim — caps on HTTP connections derived from the process's descriptor limit, and the count
 * of open connections per client address.
 *
 * The HTTP server must never use the descriptors that drivers, the store and outgoing
 * notifications need: it keeps `reserve` of the RLIMIT_NOFILE soft limit free and accepts at most
 * `max_total` connections (at most `max_per_client` from one address). Loop thread only. */
#ifndef DG_CONNLIM_H
#define DG_CONNLIM_H

#include <sys/socket.h>

#define CONNLIM_MIN_RESERVE 64u    /* descriptors kept for everything but HTTP clients, at least */
#define CONNLIM_MIN_TOTAL 16u      /* a limit leaving fewer HTTP connections is refused */
#define CONNLIM_MAX_TRACKED 65536u /* descriptors tracked per client (larger limits are capped) */

struct connlim_caps {
  unsigned nofile;         /* the descriptor limit the caps were derived from */
  unsigned reserve;        /* kept free for the rest of the daemon */
  unsigned max_total;      /* HTTP connections at once */
  unsigned max_per_client; /* HTTP connections at once from one client address */
};

/* The RLIMIT_NOFILE soft limit (capped at CONNLIM_MAX_TRACKED). */
unsigned connlim_nofile(void);

/* Caps for a descriptor limit; a zero `want_*` takes its default: reserve max(64, nofile / 4),
 * total nofile - reserve, per client max(4, total / 4). Wanted caps above what the limit leaves
 * are lowered to it (*clamped set). 0, or -EMFILE when the limit leaves fewer than
 * CONNLIM_MIN_TOTAL connections beyond the reserve. */
int connlim_derive(unsigned nofile, unsigned want_total, unsigned want_per_client, unsigned want_reserve,
                   struct connlim_caps *out, int *clamped);

struct connlim;

int connlim_new(struct connlim **out, unsigned nofile, const struct connlim_caps *caps);
void connlim_free(struct connlim *l);

/* A connection accepted on descriptor fd from addr: 0 when admitted (counted until released),
 * -ENFILE when max_total connections are open, -EBUSY when its address already holds
 * max_per_client. A descriptor counted before is released first (closed without a release).
 * The count includes connections lws has given up but whose descriptors are not yet closed
 * (libuv closes them a loop iteration later), which lws's own cap does not. */
int connlim_admit(struct connlim *l, int fd, const struct sockaddr *addr, socklen_t len);

/* Ties the connection counted on fd to `owner` (its lws wsi), released by connlim_release. */
void connlim_bind(struct connlim *l, int fd, const void *owner);
void connlim_release(struct connlim *l, const void *owner);

/* Connections counted now (all addresses). */
unsigned connlim_open(const struct connlim *l);

#endif
