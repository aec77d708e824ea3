/* The least CPU that what a transition needs can take on this machine, without dualguard: the
 * own-CPU target (≤ 2 µs a message) against what the kernel and libcurl ask for a durable commit
 * and a webhook, whoever sends them.
 *
 *  - a commit: eight WAL frames (4 120 bytes each, what a transition writes) in one pwrite,
 *    then fdatasync, in TMPDIR (default /tmp); and one frame, then fdatasync;
 *  - a webhook: one POST of 600 bytes answered 200, on a kept-alive loopback connection, written
 *    and read with plain system calls, then through a reused libcurl easy handle.
 *
 * CPU is the calling thread's (user + system, RUSAGE_THREAD): the receiver's is left out. Then
 * the floor a message pays in bench_pipeline's QoS 0 pass, from its counts: 9 175 transitions in
 * 200 000 messages, and (-g) transitions sharing one fsync'd group (about 4 there). The per-sample
 * path (measured by bench_pipeline --per-sample) comes on top of it. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_sink.h"

#define FRAME 4120
#define FRAMES 8
#define BODY 600
#define PIPELINE_MESSAGES 200000.0
#define PIPELINE_TRANSITIONS 9175.0

static double thread_cpu_us(void)
{
  struct rusage r;
  getrusage(RUSAGE_THREAD, &r);
  return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 + (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec);
}

static double wall_us(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

struct cost {
  double cpu, wall;
};

static struct cost cost_since(double cpu0, double wall0, int n)
{
  return (struct cost){(thread_cpu_us() - cpu0) / n, (wall_us() - wall0) / n};
}

/* frames frames in one pwrite, then fdatasync, n times over a file rewritten in place. */
static int commit_cost(const char *path, int frames, int n, struct cost *out)
{
  size_t len = (size_t)frames * FRAME;
  char *buf = malloc(len);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  int rc = -1;
  if (!buf || fd < 0) goto fail;
  memset(buf, 0x5a, len);
  for (int i = 0; i < 64; i++) /* the file exists at its size: no commit allocates blocks */
    if (pwrite(fd, buf, len, (off_t)(i * len)) != (ssize_t)len) goto fail;
  if (fdatasync(fd)) goto fail;
  double cpu0 = thread_cpu_us(), wall0 = wall_us();
  for (int i = 0; i < n; i++)
    if (pwrite(fd, buf, len, (off_t)((size_t)(i % 64) * len)) != (ssize_t)len || fdatasync(fd)) goto fail;
  *out = cost_since(cpu0, wall0, n);
  rc = 0;
fail:
  if (rc) perror(path);
  if (fd >= 0) close(fd);
  unlink(path);
  free(buf);
  return rc;
}

static int connect_loopback(uint16_t port)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
  if (fd >= 0) close(fd);
  return -1;
}

static int raw_post_cost(uint16_t port, const char *body, int n, struct cost *out)
{
  char req[BODY + 256], resp[512];
  int len = snprintf(req, sizeof req,
                     "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\n\r\n%s", BODY, body);
  int fd = connect_loopback(port);
  if (fd < 0) return -1;
  double cpu0 = thread_cpu_us(), wall0 = wall_us();
  for (int i = 0; i < n; i++) {
    /* one answer a request: the receiver writes it whole, and nothing else comes */
    if (write(fd, req, (size_t)len) != len || read(fd, resp, sizeof resp) <= 0) {
      close(fd);
      return -1;
    }
  }
  *out = cost_since(cpu0, wall0, n);
  close(fd);
  return 0;
}

static size_t discard(char *p, size_t size, size_t n, void *u)
{
  (void)p, (void)u;
  return size * n;
}

static int curl_post_cost(uint16_t port, const char *body, int n, struct cost *out)
{
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/", port);
  CURL *easy = curl_easy_init();
  struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
  int rc = easy && headers ? 0 : -1;
  double cpu0 = thread_cpu_us(), wall0 = wall_us();
  for (int i = 0; i < n && !rc; i++) {
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)BODY);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    rc = curl_easy_perform(easy) == CURLE_OK ? 0 : -1;
  }
  if (!rc) *out = cost_since(cpu0, wall0, n);
  curl_slist_free_all(headers);
  curl_easy_cleanup(easy);
  return rc;
}

int main(int argc, char **argv)
{
  int n = 2000;
  double per_group = 4;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) n = atoi(argv[++i]);
    else if (strcmp(argv[i], "-g") == 0 && i + 1 < argc) per_group = atof(argv[++i]);
    else return fprintf(stderr, "usage: %s [-n ROUNDS] [-g TRANSITIONS_PER_FSYNC]\n", argv[0]), 2;
  }
  if (n <= 0 || per_group <= 0) return fprintf(stderr, "bad -n or -g\n"), 2;
  const char *tmp = getenv("TMPDIR");
  char path[512], body[BODY + 1];
  snprintf(path, sizeof path, "%s/dg-bench-floor-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
  memset(body, 'x', BODY);
  body[BODY] = 0;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  uint16_t port = sink_start();
  struct cost c8, c1, raw, warm_up, lib;
  /* libcurl's first requests open its connection and fill its caches: a warm-up, not counted */
  if (!port || commit_cost(path, FRAMES, n, &c8) || commit_cost(path, 1, n, &c1) || raw_post_cost(port, body, n, &raw) ||
      curl_post_cost(port, body, n / 4, &warm_up) || curl_post_cost(port, body, n, &lib))
    return fprintf(stderr, "bench_floor: a step failed\n"), 1;

  FILE *la = fopen("/proc/loadavg", "r");
  char load[64] = "?";
  if (la && fgets(load, sizeof load, la)) load[strcspn(load, "\n")] = 0;
  if (la) fclose(la);
  printf("floor: load at start %s, %d rounds each, CPU of the calling thread\n", load, n);
  printf("floor: commit, %d frames in one pwrite + fdatasync  : %6.1f us CPU, %7.1f us wall\n", FRAMES, c8.cpu, c8.wall);
  printf("floor: commit, 1 frame + fdatasync                 : %6.1f us CPU, %7.1f us wall\n", c1.cpu, c1.wall);
  printf("floor: webhook POST, plain system calls, kept alive : %6.1f us CPU, %7.1f us wall\n", raw.cpu, raw.wall);
  printf("floor: webhook POST, libcurl easy handle reused     : %6.1f us CPU, %7.1f us wall\n", lib.cpu, lib.wall);
  double share = PIPELINE_TRANSITIONS / PIPELINE_MESSAGES;
  double with_raw = share * (c8.cpu / per_group + raw.cpu), with_curl = share * (c8.cpu / per_group + lib.cpu);
  printf("floor: a message of bench_pipeline's QoS 0 pass (%.1f %% transitions, %.1f a fsync), no SQLite, no engine:\n",
         share * 100, per_group);
  printf("floor:   with plain system calls %.2f us, with libcurl %.2f us, plus the per-sample path; target 2 us\n",
         with_raw, with_curl);
  curl_global_cleanup();
  return 0;
}
