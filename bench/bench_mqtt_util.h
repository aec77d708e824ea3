/* Shared by the MQTT benches: a private mosquitto on a free loopback port, paho clients (a bare
 * counting subscriber, a windowed publisher of {"value", "ts"} over TOPICS topics) and rate
 * counters. Static functions: include once per bench program, after defining TOPICS, WINDOW and
 * PASS_TIMEOUT_S. */
#ifndef DG_BENCH_MQTT_UTIL_H
#define DG_BENCH_MQTT_UTIL_H

#include <MQTTAsync.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

extern char **environ;

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ---- mosquitto ---- */

static uint16_t free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &len)) {
    if (fd >= 0) close(fd);
    return 0;
  }
  close(fd);
  return ntohs(a.sin_port);
}

static bool port_open(uint16_t port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

static pid_t start_mosquitto(char *dir, uint16_t port)
{
  char conf[128], log[128];
  snprintf(conf, sizeof conf, "%s/mosquitto.conf", dir);
  snprintf(log, sizeof log, "%s/mosquitto.log", dir);
  FILE *f = fopen(conf, "w");
  if (!f) return -1;
  fprintf(f, "listener %u 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n"
             "max_inflight_messages 0\nset_tcp_nodelay true\n", port);
  fclose(f);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  char *argv[] = {"/usr/sbin/mosquitto", "-c", conf, NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc) return -1;
  for (int i = 0; i < 200 && !port_open(port); i++) sleep_ms(25);
  return port_open(port) ? pid : -1;
}

/* ---- receivers ---- */

struct counter {
  _Atomic uint64_t n;
  _Atomic uint64_t first_ns, last_ns;
};

static uint64_t now_ns(void) { return (uint64_t)(now_s() * 1e9); }

static void counter_add(struct counter *c, uint64_t n)
{
  uint64_t t = now_ns(), zero = 0;
  atomic_compare_exchange_strong(&c->first_ns, &zero, t);
  atomic_store(&c->last_ns, t);
  atomic_fetch_add(&c->n, n);
}

static void counter_reset(struct counter *c)
{
  atomic_store(&c->n, 0);
  atomic_store(&c->first_ns, 0);
  atomic_store(&c->last_ns, 0);
}

static double counter_rate(struct counter *c)
{
  double span = (double)(atomic_load(&c->last_ns) - atomic_load(&c->first_ns)) / 1e9;
  return span > 0 ? (double)atomic_load(&c->n) / span : 0;
}

static struct counter bare_count;

static int bare_on_message(void *ctx, char *topic, int len, MQTTAsync_message *m)
{
  counter_add(&bare_count, 1);
  MQTTAsync_freeMessage(&m);
  MQTTAsync_free(topic);
  return 1;
}

static _Atomic int connected_flag;

static void on_connect_ok(void *ctx, MQTTAsync_successData *d) { atomic_store(&connected_flag, 1); }
static void on_connect_fail(void *ctx, MQTTAsync_failureData *d) { atomic_store(&connected_flag, -1); }

static MQTTAsync paho_connect(const char *uri, const char *id, MQTTAsync_messageArrived *on_msg)
{
  MQTTAsync c;
  if (MQTTAsync_create(&c, uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL) != MQTTASYNC_SUCCESS) return NULL;
  if (on_msg) MQTTAsync_setCallbacks(c, NULL, NULL, on_msg, NULL);
  MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
  o.cleansession = 1;
  o.keepAliveInterval = 60;
  o.maxInflight = WINDOW * 2;
  o.onSuccess = on_connect_ok;
  o.onFailure = on_connect_fail;
  atomic_store(&connected_flag, 0);
  if (MQTTAsync_connect(c, &o) != MQTTASYNC_SUCCESS) goto fail;
  for (int i = 0; i < 400 && !atomic_load(&connected_flag); i++) sleep_ms(10);
  if (atomic_load(&connected_flag) == 1) return c;
fail:
  MQTTAsync_destroy(&c);
  return NULL;
}

static void paho_close(MQTTAsync *c)
{
  if (!*c) return;
  MQTTAsync_disconnect(*c, NULL);
  MQTTAsync_destroy(c);
}

static MQTTAsync bare_subscribe(const char *uri, int qos)
{
  MQTTAsync c = paho_connect(uri, "bench-bare", bare_on_message);
  if (!c) return NULL;
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  if (MQTTAsync_subscribe(c, "bench/p/#", qos, &ro) != MQTTASYNC_SUCCESS) {
    MQTTAsync_destroy(&c);
    return NULL;
  }
  return c;
}

/* ---- publisher ---- */

struct publisher {
  MQTTAsync client;
  int qos;
  uint64_t count;
  double (*value)(uint64_t i); /* the i-th message's value (NULL: i % 1000 + 0.5) */
  uint64_t topics;             /* round-robin over bench/p/0 .. topics - 1 (0: TOPICS) */
  _Atomic uint64_t done, failed;
  double seconds;
};

static void on_sent(void *ctx, MQTTAsync_successData *d) { atomic_fetch_add(&((struct publisher *)ctx)->done, 1); }

static void on_send_fail(void *ctx, MQTTAsync_failureData *d)
{
  struct publisher *p = ctx;
  atomic_fetch_add(&p->done, 1);
  atomic_fetch_add(&p->failed, 1);
}

static void publish_one(struct publisher *p, uint64_t i)
{
  char topic[32], payload[96];
  snprintf(topic, sizeof topic, "bench/p/%llu", (unsigned long long)(i % (p->topics ? p->topics : TOPICS)));
  double v = p->value ? p->value(i) : (double)(i % 1000) + 0.5;
  int len = snprintf(payload, sizeof payload, "{\"value\": %.3f, \"ts\": %lld}", v, (long long)dg_wall_ms());
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  ro.onSuccess = on_sent;
  ro.onFailure = on_send_fail;
  ro.context = p;
  while (MQTTAsync_send(p->client, topic, len, payload, p->qos, 0, &ro) != MQTTASYNC_SUCCESS) sleep_ms(1);
}

static void *publisher_main(void *arg)
{
  struct publisher *p = arg;
  double t0 = now_s();
  for (uint64_t i = 0; i < p->count; i++) {
    while (i - atomic_load(&p->done) >= WINDOW) sched_yield();
    publish_one(p, i);
  }
  while (atomic_load(&p->done) < p->count && now_s() - t0 < PASS_TIMEOUT_S) sleep_ms(1);
  p->seconds = now_s() - t0;
  return NULL;
}

#endif
