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

#include "bench_mqtt_util.h"

static struct counter driver_count;
static _Atomic uint64_t driver_bad;

static void on_samples(void *ud, const struct dg_sample *s, size_t n)
{
  uint64_t good = 0;
  for (size_t i = 0; i < n; i++) good += s[i].quality == DG_Q_GOOD;
  atomic_fetch_add(&driver_bad, n - good);
  if (good) counter_add(&driver_count, good);
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
  paho_close(&pub);
  paho_close(&bare);
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
