/* What a bench reads of a running daemon: CPU per thread and memory from /proc, and the API
 * over plain HTTP on loopback. Static: include once per bench program. */
#ifndef DG_BENCH_PROC_H
#define DG_BENCH_PROC_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* CPU seconds of the process by thread name (the loop is "dualguardd", the store writer
 * "dg-store", paho's receive thread "MQTTAsync_rcv"; libuv's pool threads share one name). */
#define CPU_GROUPS 16
struct cpu {
  double total;
  unsigned n;
  struct { char name[16]; double s; } group[CPU_GROUPS];
};

static inline double cpu_of(const struct cpu *c, const char *name)
{
  for (unsigned i = 0; i < c->n; i++)
    if (strcmp(c->group[i].name, name) == 0) return c->group[i].s;
  return 0;
}

static inline void cpu_add(struct cpu *c, const char *name, double s)
{
  c->total += s;
  unsigned i = 0;
  while (i < c->n && strcmp(c->group[i].name, name) != 0) i++;
  if (i == c->n) {
    if (c->n == CPU_GROUPS) i = CPU_GROUPS - 1, name = "other";
    else snprintf(c->group[c->n++].name, sizeof c->group[0].name, "%s", name);
  }
  c->group[i].s += s;
}

/* One thread's CPU seconds: the scheduler's nanoseconds when the kernel keeps them (schedstat),
 * else its clock ticks (10 ms each, too coarse for a thread that ran a tenth of a second). */
static inline double cpu__thread_s(pid_t pid, const char *tid)
{
  char path[300];
  unsigned long long ns;
  unsigned long ut, st;
  snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", (int)pid, tid);
  FILE *f = fopen(path, "r");
  int ok = f && fscanf(f, "%llu", &ns) == 1;
  if (f) fclose(f);
  if (ok) return (double)ns / 1e9;
  snprintf(path, sizeof path, "/proc/%d/task/%s/stat", (int)pid, tid);
  char line[1024], *close_paren = NULL;
  if ((f = fopen(path, "r")) && fgets(line, sizeof line, f)) close_paren = strrchr(line, ')');
  if (f) fclose(f);
  ok = close_paren && sscanf(close_paren + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2;
  return ok ? (double)(ut + st) / (double)sysconf(_SC_CLK_TCK) : 0;
}

static inline void cpu_read(pid_t pid, struct cpu *c)
{
  char path[300], name[16]; /* a thread name is at most 15 bytes */
  *c = (struct cpu){0};
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *dir = opendir(path);
  struct dirent *e;
  while (dir && (e = readdir(dir))) {
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "/proc/%d/task/%s/comm", (int)pid, e->d_name);
    FILE *f = fopen(path, "r");
    int named = f && fgets(name, sizeof name, f);
    if (f) fclose(f);
    if (!named) continue;
    name[strcspn(name, "\n")] = 0;
    cpu_add(c, name, cpu__thread_s(pid, e->d_name));
  }
  if (dir) closedir(dir);
}

static inline long rss_kb(pid_t pid, const char *field)
{
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, field, strlen(field)) == 0) kb = strtol(line + strlen(field) + 1, NULL, 10);
  if (f) fclose(f);
  return kb;
}

static inline int http__connect(uint16_t port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
  if (fd >= 0) close(fd);
  return -1;
}

/* One exchange on fd: the body into buf (NUL-terminated). 1 when the connection can be used
 * again (the answer had a Content-Length), 0 when it was read to its end, negative on error. */
static inline int http__exchange(int fd, const char *req, size_t req_len, char *buf, size_t len)
{
  if (write(fd, req, req_len) != (ssize_t)req_len) return -EIO;
  size_t have = 0;
  char *body = NULL;
  long want = -1;
  ssize_t r = 1;
  while (have + 1 < len && r > 0) {
    if (body && want >= 0 && (long)(have - (size_t)(body - buf)) >= want) break;
    if ((r = read(fd, buf + have, len - 1 - have)) > 0) have += (size_t)r;
    buf[have] = 0;
    if (!body && (body = strstr(buf, "\r\n\r\n"))) {
      body += 4;
      const char *cl = strcasestr(buf, "\r\ncontent-length:");
      if (cl && cl < body) want = strtol(cl + 17, NULL, 10);
    }
  }
  if (!body || (want >= 0 && (long)(have - (size_t)(body - buf)) < want)) return -EIO;
  memmove(buf, body, have - (size_t)(body - buf) + 1);
  return want >= 0;
}

/* GET path as the token's holder (none: an open read from loopback); the body into buf. 0 or
 * negative. The connection is kept for the next call to the same port: a poll then costs the
 * daemon a request, not a new connection. */
static inline int http_get(uint16_t port, const char *token, const char *path, char *buf, size_t len)
{
  static int fd = -1;
  static uint16_t fd_port;
  char req[512], auth[160] = "";
  if (token && *token) snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%s\r\n", path, port, auth);
  for (int attempt = 0; attempt < 2; attempt++) {
    if (fd >= 0 && fd_port != port) close(fd), fd = -1;
    if (fd < 0 && (fd = http__connect(port)) < 0) return -EIO;
    fd_port = port;
    int rc = http__exchange(fd, req, (size_t)n, buf, len);
    if (rc <= 0) close(fd), fd = -1;
    if (rc >= 0) return 0;
  }
  return -EIO;
}

static inline double json_num(const char *body, const char *key)
{
  char k[64];
  snprintf(k, sizeof k, "\"%s\":", key);
  const char *p = strstr(body, k);
  return p ? strtod(p + strlen(k), NULL) : -1;
}

#endif
