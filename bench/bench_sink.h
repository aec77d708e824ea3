/* A webhook receiver for the benches: one thread per connection, HTTP/1.1 keep-alive, every
 * request answered 200 and counted in sink_posts, every connection accepted in sink_conns.
 * sink_start() listens on a free loopback port and returns it (0 on failure). */
#ifndef BENCH_SINK_H
#define BENCH_SINK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static _Atomic uint64_t sink_posts, sink_conns;

static void *sink_conn(void *arg)
{
  int fd = (int)(intptr_t)arg;
  char buf[65536];
  size_t have = 0;
  for (;;) {
    char *end = have ? memmem(buf, have, "\r\n\r\n", 4) : NULL;
    if (!end) {
      ssize_t r = have < sizeof buf ? read(fd, buf + have, sizeof buf - have) : -1;
      if (r <= 0) break;
      have += (size_t)r;
      continue;
    }
    size_t head = (size_t)(end - buf) + 4, body = 0;
    char *cl = memmem(buf, head, "Content-Length:", 15);
    if (!cl) cl = memmem(buf, head, "content-length:", 15);
    if (cl) body = strtoul(cl + 15, NULL, 10);
    while (have < head + body) {
      ssize_t r = read(fd, buf + have, sizeof buf - have);
      if (r <= 0) goto out;
      have += (size_t)r;
    }
    atomic_fetch_add(&sink_posts, 1);
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    if (write(fd, ok, sizeof ok - 1) < 0) break;
    memmove(buf, buf + head + body, have - head - body);
    have -= head + body;
  }
out:
  close(fd);
  return NULL;
}

static void *sink_main(void *arg)
{
  int lfd = (int)(intptr_t)arg, fd;
  while ((fd = accept(lfd, NULL, NULL)) >= 0) {
    atomic_fetch_add(&sink_conns, 1);
    pthread_t t;
    if (pthread_create(&t, NULL, sink_conn, (void *)(intptr_t)fd) == 0) pthread_detach(t);
    else close(fd);
  }
  return NULL;
}

static uint16_t sink_start(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 64) ||
      getsockname(fd, (struct sockaddr *)&a, &len))
    return 0;
  pthread_t t;
  pthread_create(&t, NULL, sink_main, (void *)(intptr_t)fd);
  pthread_detach(t);
  return ntohs(a.sin_port);
}

#endif
