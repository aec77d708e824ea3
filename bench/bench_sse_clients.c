/* The client side of bench_sse_fanout.py: N event-stream clients in one epoll loop, so the
 * clients are not what limits the figures. Connects N clients to GET /api/v1/events with a
 * bearer token, reads for warmup + window seconds, and for the window counts the alarm events
 * each client received, the resyncs, and the lag from each alarm event's ts_ms (the transition's
 * wall time) to its arrival. Prints one line of key=value figures.
 *
 *   bench_sse_clients PORT TOKEN CLIENTS WARMUP_S WINDOW_S */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#define BUF 65536
#define MAX_LAGS 4000000

struct client {
  int fd;
  char buf[BUF];
  size_t len;
  uint64_t alarms, resyncs;
};

static double *lags;
static size_t n_lags;

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_client(int port, const char *token)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) return -1;
  char req[1024];
  int n = snprintf(req, sizeof req, "GET /api/v1/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n\r\n",
                   token);
  if (write(fd, req, (size_t)n) != n) return -1;
  return fd;
}

/* Complete frames ("...\n\n") in c->buf are counted; the rest stays for the next read. */
static void consume(struct client *c, int counting, int64_t t)
{
  char *p = c->buf, *end = c->buf + c->len, *sep;
  while ((sep = memmem(p, (size_t)(end - p), "\n\n", 2))) {
    *sep = '\0';
    if (counting && strstr(p, "event: alarm\n")) {
      c->alarms++;
      const char *ts = strstr(p, "\"ts_ms\":");
      if (ts && n_lags < MAX_LAGS) lags[n_lags++] = (double)(t - strtoll(ts + 8, NULL, 10));
    } else if (counting && strstr(p, "event: resync\n")) {
      c->resyncs++;
    }
    p = sep + 2;
  }
  c->len = (size_t)(end - p);
  memmove(c->buf, p, c->len);
}

static int cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
  if (argc != 6) {
    fprintf(stderr, "usage: %s PORT TOKEN CLIENTS WARMUP_S WINDOW_S\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]), n = atoi(argv[3]);
  double warmup = atof(argv[4]), window = atof(argv[5]);
  struct client *cl = calloc((size_t)n, sizeof *cl);
  lags = malloc(MAX_LAGS * sizeof *lags);
  int ep = epoll_create1(0);
  for (int i = 0; i < n; i++) {
    if ((cl[i].fd = connect_client(port, argv[2])) < 0) {
      perror("connect");
      return 1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cl[i]};
    epoll_ctl(ep, EPOLL_CTL_ADD, cl[i].fd, &ev);
  }
  double start = mono_s(), from = start + warmup, to = from + window;
  struct epoll_event evs[256];
  for (;;) {
    double t = mono_s();
    if (t >= to) break;
    int k = epoll_wait(ep, evs, 256, 100);
    int counting = t >= from;
    for (int i = 0; i < k; i++) {
      struct client *c = evs[i].data.ptr;
      ssize_t r = read(c->fd, c->buf + c->len, BUF - c->len - 1);
      if (r <= 0) {
        fprintf(stderr, "a client's stream ended (%s)\n", r == 0 ? "closed" : strerror(errno));
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        continue;
      }
      c->len += (size_t)r;
      consume(c, counting, now_ms());
      if (c->len > BUF / 2) c->len = 0; /* no frame this long: the headers, or garbage */
    }
  }
  uint64_t total = 0, min = UINT64_MAX, resyncs = 0;
  for (int i = 0; i < n; i++) {
    total += cl[i].alarms;
    resyncs += cl[i].resyncs;
    if (cl[i].alarms < min) min = cl[i].alarms;
  }
  qsort(lags, n_lags, sizeof *lags, cmp);
  double p50 = n_lags ? lags[n_lags / 2] : -1, p99 = n_lags ? lags[n_lags * 99 / 100] : -1;
  double max = n_lags ? lags[n_lags - 1] : -1;
  printf("delivered=%.0f per_client=%.0f min_client=%.0f lag_samples=%zu p50=%.0f p99=%.0f max=%.0f resyncs=%llu\n",
         (double)total / window, (double)total / window / n, (double)min / window, n_lags, p50, p99, max,
         (unsigned long long)resyncs);
  return 0;
}
