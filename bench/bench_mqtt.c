/* MQTT ingest rate of the driver next to a bare paho subscriber, on one mosquitto, same run.
 *
 * A mosquitto on a free loopback port; one publisher thread (paho MQTTAsync) sends JSON
 * payloads {"value": v, "ts": ms} round-robin over 10 000 topics, with at most WINDOW messages
 * unacknowledged by paho. Two subscribers receive the same stream at the same time:
 *   - driver: mqtt_start() with 10 000 points bound to the 10 000 topics (path "value",
 *     ts_path "ts"); samples are counted where the loop thread drains the sample queue, so
 *     the figure includes topic lookup, JSON decoding and the hop to the loop;
 *   - bare: a paho MQTTAsync client subscribed to "bench/p/#" that only counts and frees.
 * Each is timed from its first to its last message of the pass. Runs QoS 0 and QoS 1.
 * When both rates match, both kept pace with the publisher and the figure is the publisher's
 * (and the shared CPUs'), not a ceiling of the driver. Figures are printed, nothing is
 * asserted. Whole run: about 20 s. */
#include <MQTTAsync.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "log.h"
#include "mqtt.h"
#include "sampleq.h"

#define TOPICS 10000
#define WINDOW 2000
#define PASS_TIMEOUT_S 60.0

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

static struct counter driver_count, bare_count;
static _Atomic uint64_t driver_bad;

static void on_samples(void *ud, const struct dg_sample *s, size_t n)
{
  uint64_t good = 0;
  for (size_t i = 0; i < n; i++) good += s[i].quality == DG_Q_GOOD;
  atomic_fetch_add(&driver_bad, n - good);
  if (good) counter_add(&driver_count, good);
}

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
  snprintf(topic, sizeof topic, "bench/p/%llu", (unsigned long long)(i % TOPICS));
  int len = snprintf(payload, sizeof payload, "{\"value\": %llu.5, \"ts\": %lld}", (unsigned long long)(i % 1000),
                     (long long)dg_wall_ms());
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

/* ---- the driver on its loop ---- */

struct bench {
  uv_loop_t loop;
  struct sampleq q;
  struct mqtt_driver *driver;
  struct dg_config cfg;
  struct dg_mqtt_broker broker;
  struct dg_point *points;
  char (*topics)[24];
  uint64_t expect;
  double deadline;
  uv_timer_t timer;
};

static void on_timer(uv_timer_t *t)
{
  struct bench *b = t->data;
  bool done = atomic_load(&driver_count.n) >= b->expect && atomic_load(&bare_count.n) >= b->expect;
  if (done || now_s() > b->deadline) uv_stop(&b->loop);
}

static int build_config(struct bench *b, const char *uri, int qos)
{
  b->points = calloc(TOPICS, sizeof *b->points);
  b->topics = calloc(TOPICS, sizeof *b->topics);
  if (!b->points || !b->topics) return -ENOMEM;
  b->broker = (struct dg_mqtt_broker){.id = "bench", .uri = (char *)uri, .client_id = "bench-driver", .qos = qos,
                                      .keepalive_s = 60, .clean_session = true};
  for (size_t i = 0; i < TOPICS; i++) {
    snprintf(b->topics[i], sizeof b->topics[i], "bench/p/%zu", i);
    b->points[i] = (struct dg_point){.id = b->topics[i], .driver_kind = DG_DRIVER_MQTT, .scale = 1, .index = i,
                                     .mqtt = {.topic = b->topics[i], .path = "value", .ts_path = "ts"}};
  }
  b->cfg.mqtt_brokers = &b->broker;
  b->cfg.n_mqtt_brokers = 1;
  b->cfg.points = b->points;
  b->cfg.n_points = TOPICS;
  return 0;
}

/* Runs the loop until the driver has seen a probe on every 1000th topic: subscriptions done. */
static int wait_subscribed(struct bench *b, MQTTAsync pub)
{
  double end = now_s() + 30;
  while (now_s() < end) {
    counter_reset(&driver_count);
    counter_reset(&bare_count);
    for (int i = 0; i < TOPICS; i += 1000) {
      char topic[24];
      snprintf(topic, sizeof topic, "bench/p/%d", i);
      MQTTAsync_send(pub, topic, 12, "{\"value\": 1}", 1, 0, NULL);
    }
    b->expect = TOPICS / 1000;
    b->deadline = now_s() + 0.5;
    uv_timer_start(&b->timer, on_timer, 10, 10);
    uv_run(&b->loop, UV_RUN_DEFAULT);
    uv_timer_stop(&b->timer);
    if (atomic_load(&driver_count.n) >= b->expect && atomic_load(&bare_count.n) >= b->expect) return 0;
  }
  return -ETIMEDOUT;
}

static void run_pass(struct bench *b, MQTTAsync pub, int qos, uint64_t count)
{
  struct publisher p = {.client = pub, .qos = qos, .count = count};
  counter_reset(&driver_count);
  counter_reset(&bare_count);
  atomic_store(&driver_bad, 0);
  pthread_t th;
  double t0 = now_s();
  pthread_create(&th, NULL, publisher_main, &p);
  b->expect = count;
  b->deadline = t0 + PASS_TIMEOUT_S;
  uv_timer_start(&b->timer, on_timer, 10, 10);
  uv_run(&b->loop, UV_RUN_DEFAULT);
  uv_timer_stop(&b->timer);
  pthread_join(th, NULL);
  double pub_rate = (double)count / p.seconds;
  printf("QoS %d, %llu messages over %d topics: published %.0f msg/s (%llu failed)\n", qos,
         (unsigned long long)count, TOPICS, pub_rate, (unsigned long long)atomic_load(&p.failed));
  printf("  bare paho subscriber : %8.0f msg/s, received %llu\n", counter_rate(&bare_count),
         (unsigned long long)atomic_load(&bare_count.n));
  printf("  dualguard driver     : %8.0f samples/s, received %llu good, %llu bad (%.0f%% of bare)\n",
         counter_rate(&driver_count), (unsigned long long)atomic_load(&driver_count.n),
         (unsigned long long)atomic_load(&driver_bad),
         counter_rate(&bare_count) > 0 ? 100 * counter_rate(&driver_count) / counter_rate(&bare_count) : 0);
}

static int bench_qos(const char *uri, int qos, uint64_t count)
{
  struct bench b = {0};
  int rc = -EIO;
  MQTTAsync pub = NULL, bare = NULL;
  uv_loop_init(&b.loop);
  uv_timer_init(&b.loop, &b.timer);
  b.timer.data = &b;
  if (build_config(&b, uri, qos) || sampleq_init(&b.q, &b.loop, on_samples, &b)) goto out;
  if (mqtt_start(&b.driver, &b.loop, &b.cfg, &b.q)) goto out_q;
  if (!(bare = bare_subscribe(uri, qos)) || !(pub = paho_connect(uri, "bench-pub", NULL))) {
    fprintf(stderr, "bench_mqtt: cannot connect to %s\n", uri);
    goto out_driver;
  }
  if (wait_subscribed(&b, pub)) {
    fprintf(stderr, "bench_mqtt: the driver did not subscribe in time\n");
    goto out_driver;
  }
  run_pass(&b, pub, qos, count);
  rc = 0;
out_driver:
  if (pub) {
    MQTTAsync_disconnect(pub, NULL);
    MQTTAsync_destroy(&pub);
  }
  if (bare) {
    MQTTAsync_disconnect(bare, NULL);
    MQTTAsync_destroy(&bare);
  }
  mqtt_stop(b.driver);
out_q:
  sampleq_close(&b.q);
out:
  uv_close((uv_handle_t *)&b.timer, NULL);
  uv_run(&b.loop, UV_RUN_DEFAULT);
  uv_loop_close(&b.loop);
  free(b.points);
  free(b.topics);
  return rc;
}

int main(void)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  dg_log_set_level(DG_LOG_WARN);
  char dir[] = "/tmp/bench-mqtt-XXXXXX";
  uint16_t port = free_port();
  if (!mkdtemp(dir) || !port) return 1;
  pid_t broker = start_mosquitto(dir, port);
  if (broker < 0) {
    fprintf(stderr, "bench_mqtt: mosquitto did not start (see %s/mosquitto.log)\n", dir);
    return 1;
  }
  char uri[64];
  snprintf(uri, sizeof uri, "tcp://127.0.0.1:%u", port);
  int rc = bench_qos(uri, 0, 100000);
  if (!rc) rc = bench_qos(uri, 1, 50000);
  kill(broker, SIGTERM);
  waitpid(broker, NULL, 0);
  char path[160];
  snprintf(path, sizeof path, "%s/mosquitto.conf", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/mosquitto.log", dir);
  unlink(path);
  rmdir(dir);
  return rc ? 1 : 0;
}
