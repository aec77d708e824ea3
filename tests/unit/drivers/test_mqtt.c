/* MQTT driver against real mosquitto brokers started on free loopback ports. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "mqtt.h"
#include "sampleq.h"

#define MOSQUITTO "/usr/sbin/mosquitto"
#define WAIT_MS 10000

/* ---------------------------------------------------------------------------------------------
 * mosquitto on a free port */

struct broker {
  char dir[64];
  char conf[96];
  char log[96];
  uint16_t port;
  pid_t pid;
};

/* Brokers still running when an assertion fails are killed by the test teardown. */
static pid_t live_pids[8];

static void live_add(pid_t pid)
{
  for (size_t i = 0; i < 8; i++)
    if (!live_pids[i]) {
      live_pids[i] = pid;
      return;
    }
}

static void live_remove(pid_t pid)
{
  for (size_t i = 0; i < 8; i++)
    if (live_pids[i] == pid) live_pids[i] = 0;
}

static int teardown_brokers(void **state)
{
  (void)state;
  for (size_t i = 0; i < 8; i++)
    if (live_pids[i]) {
      kill(live_pids[i], SIGKILL);
      waitpid(live_pids[i], NULL, 0);
      live_pids[i] = 0;
    }
  return 0;
}

static uint16_t free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static int64_t mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool port_accepts(uint16_t port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  close(fd);
  return ok;
}

static void broker_init(struct broker *b, uint16_t port)
{
  memset(b, 0, sizeof *b);
  snprintf(b->dir, sizeof b->dir, "/tmp/dg-mqtt-test-XXXXXX");
  assert_non_null(mkdtemp(b->dir));
  snprintf(b->conf, sizeof b->conf, "%s/mosquitto.conf", b->dir);
  snprintf(b->log, sizeof b->log, "%s/mosquitto.log", b->dir);
  b->port = port ? port : free_port();
  FILE *f = fopen(b->conf, "w");
  assert_non_null(f);
  fprintf(f,
          "listener %u 127.0.0.1\n"
          "allow_anonymous true\n"
          "max_queued_messages 200000\n"
          "max_inflight_messages 100\n"
          "set_tcp_nodelay true\n"
          "persistence false\n",
          b->port);
  fclose(f);
}

static void broker_start(struct broker *b)
{
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open(b->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execl(MOSQUITTO, MOSQUITTO, "-c", b->conf, (char *)NULL);
    _exit(127);
  }
  b->pid = pid;
  live_add(pid);
  int64_t deadline = mono_ms() + WAIT_MS;
  while (!port_accepts(b->port)) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) fail_msg("mosquitto exited, see %s", b->log);
    if (mono_ms() > deadline) fail_msg("mosquitto did not listen on %u", b->port);
    struct timespec poll_gap = {0, 10 * 1000000L};
    nanosleep(&poll_gap, NULL);
  }
}

static void broker_kill(struct broker *b)
{
  if (b->pid <= 0) return;
  kill(b->pid, SIGKILL);
  waitpid(b->pid, NULL, 0);
  live_remove(b->pid);
  b->pid = 0;
}

static void broker_cleanup(struct broker *b)
{
  broker_kill(b);
  unlink(b->conf);
  unlink(b->log);
  rmdir(b->dir);
}

/* ---------------------------------------------------------------------------------------------
 * Publishing with mosquitto_pub (QoS 1: it exits once the broker has the message) */

#define MOSQUITTO_PUB "/usr/bin/mosquitto_pub"

struct publisher {
  char port[8];
};

static void pub_open(struct publisher *p, uint16_t port)
{
  snprintf(p->port, sizeof p->port, "%u", port);
}

static void pub_send(struct publisher *p, const char *topic, const char *payload)
{
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    execl(MOSQUITTO_PUB, MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", p->port, "-q", "1", "-t", topic,
          "-m", payload, (char *)NULL);
    _exit(127);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---------------------------------------------------------------------------------------------
 * Loop, sample queue, driver and a hand-built config */

#define MAX_POINTS 8

struct fixture {
  uv_loop_t loop;
  uv_timer_t check;
  struct sampleq q;
  struct mqtt_driver *mqtt;
  struct dg_sample *got;
  size_t n_got, cap_got;
  struct dg_config cfg;
  struct dg_mqtt_broker brokers[2];
  struct dg_point points[MAX_POINTS];
  char uris[2][64];
};

static void on_drain(void *ud, const struct dg_sample *s, size_t n)
{
  struct fixture *f = ud;
  if (f->n_got + n > f->cap_got) {
    f->cap_got = (f->n_got + n) * 2;
    f->got = realloc(f->got, f->cap_got * sizeof *f->got);
    assert_non_null(f->got);
  }
  memcpy(f->got + f->n_got, s, n * sizeof *s);
  f->n_got += n;
}

static void fixture_init(struct fixture *f)
{
  memset(f, 0, sizeof *f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(uv_timer_init(&f->loop, &f->check), 0);
  assert_int_equal(sampleq_init(&f->q, &f->loop, on_drain, f), 0);
  f->cfg.mqtt_brokers = f->brokers;
  f->cfg.points = f->points;
}

static void add_broker(struct fixture *f, uint16_t port)
{
  size_t i = f->cfg.n_mqtt_brokers++;
  snprintf(f->uris[i], sizeof f->uris[i], "tcp://127.0.0.1:%u", port);
  f->brokers[i] = (struct dg_mqtt_broker){.id = i ? (char *)"second" : (char *)"main",
                                          .uri = f->uris[i], .client_id = NULL, .qos = 1,
                                          .keepalive_s = 30, .clean_session = true};
}

static size_t add_point(struct fixture *f, const char *id, size_t broker, const char *topic,
                        const char *path, const char *ts_path)
{
  size_t i = f->cfg.n_points++;
  assert_true(i < MAX_POINTS);
  f->points[i] = (struct dg_point){.id = (char *)id, .name = (char *)id,
                                   .driver_kind = DG_DRIVER_MQTT, .driver_index = broker,
                                   .mqtt = {.topic = (char *)topic, .path = (char *)path, .ts_path = (char *)ts_path},
                                   .scale = 1, .offset = 0, .index = i};
  return i;
}

static void driver_start(struct fixture *f)
{
  assert_int_equal(mqtt_start(&f->mqtt, &f->loop, &f->cfg, &f->q), 0);
  assert_int_equal(mqtt_broker_count(f->mqtt), f->cfg.n_mqtt_brokers);
}

static void fixture_close(struct fixture *f)
{
  mqtt_stop(f->mqtt);
  f->mqtt = NULL;
  sampleq_close(&f->q);
  uv_close((uv_handle_t *)&f->check, NULL);
  assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  free(f->got);
}

/* Run the loop until `pred` holds or `timeout_ms` passes. */
typedef bool (*pred_fn)(struct fixture *f, const void *arg);

struct waiter {
  struct fixture *f;
  pred_fn pred;
  const void *arg;
  int64_t deadline;
  bool ok;
};

static void on_check(uv_timer_t *t)
{
  struct waiter *w = t->data;
  if (w->pred(w->f, w->arg)) w->ok = true;
  if (w->ok || mono_ms() >= w->deadline) uv_stop(t->loop);
}

static bool wait_for(struct fixture *f, pred_fn pred, const void *arg, int timeout_ms)
{
  struct waiter w = {f, pred, arg, mono_ms() + timeout_ms, pred(f, arg)};
  if (w.ok) return true;
  f->check.data = &w;
  uv_timer_start(&f->check, on_check, 5, 5);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  uv_timer_stop(&f->check);
  return w.ok;
}

static const struct dg_sample *last_sample(struct fixture *f, size_t point)
{
  for (size_t i = f->n_got; i > 0; i--)
    if (f->got[i - 1].point == point) return &f->got[i - 1];
  return NULL;
}

struct expect {
  size_t point;
  enum dg_quality quality;
  double value; /* checked for GOOD */
};

static bool pred_sample(struct fixture *f, const void *arg)
{
  const struct expect *e = arg;
  const struct dg_sample *s = last_sample(f, e->point);
  if (!s || s->quality != e->quality) return false;
  return e->quality != DG_Q_GOOD || s->value == e->value;
}

struct expect_link {
  size_t broker;
  bool connected;
  uint64_t min_connects;
};

static bool pred_link(struct fixture *f, const void *arg)
{
  const struct expect_link *e = arg;
  struct mqtt_broker_stats st;
  assert_int_equal(mqtt_broker_stats(f->mqtt, e->broker, &st), 0);
  return st.connected == e->connected && st.connects >= e->min_connects;
}

static void expect_sample(struct fixture *f, size_t point, enum dg_quality q, double value)
{
  struct expect e = {point, q, value};
  if (!wait_for(f, pred_sample, &e, WAIT_MS))
    fail_msg("point %zu: no %s sample with value %g", point, dg_quality_name(q), value);
}

/* Subscriptions complete asynchronously after a (re)connect: publish until one arrives. */
static void publish_until(struct fixture *f, struct publisher *p, const char *topic,
                          const char *payload, size_t point, double value)
{
  struct expect e = {point, DG_Q_GOOD, value};
  int64_t deadline = mono_ms() + WAIT_MS;
  while (mono_ms() < deadline) {
    pub_send(p, topic, payload);
    if (wait_for(f, pred_sample, &e, 200)) return;
  }
  fail_msg("point %zu never received %s on %s", point, payload, topic);
}

static struct mqtt_broker_stats stats(struct fixture *f, size_t broker)
{
  struct mqtt_broker_stats st;
  assert_int_equal(mqtt_broker_stats(f->mqtt, broker, &st), 0);
  return st;
}

/* ---------------------------------------------------------------------------------------------
 * Tests */

static void test_ingest(void **state)
{
  (void)state;
  struct broker br;
  broker_init(&br, 0);
  broker_start(&br);
  struct fixture f;
  fixture_init(&f);
  add_broker(&f, br.port);
  size_t gt = add_point(&f, "GT101", 0, "dg/gt101", "value", "ts");
  size_t tt = add_point(&f, "TT101", 0, "dg/tt101", NULL, NULL);
  size_t ch4 = add_point(&f, "CH4", 0, "dg/multi", "data.ch4", NULL);
  size_t h2s = add_point(&f, "H2S", 0, "dg/multi", "$.data.h2s", NULL);
  f.points[h2s].scale = 10;
  f.points[h2s].offset = 1;
  /* A Modbus point in the same config is none of this driver's business. */
  f.points[f.cfg.n_points] = (struct dg_point){.id = (char *)"MB1", .driver_kind = DG_DRIVER_MODBUS,
                                               .index = f.cfg.n_points};
  f.cfg.n_points++;
  driver_start(&f);
  struct expect_link up = {0, true, 1};
  assert_true(wait_for(&f, pred_link, &up, WAIT_MS));

  struct publisher pub;
  pub_open(&pub, br.port);
  publish_until(&f, &pub, "dg/tt101", "5", tt, 5);
  struct mqtt_broker_stats before = stats(&f, 0);
  assert_int_equal(before.malformed, 0);
  assert_true(before.last_message_ms > 0);

  /* Source timestamp from the payload. */
  pub_send(&pub, "dg/gt101", "{\"value\": 12.5, \"ts\": 1700000000123}");
  expect_sample(&f, gt, DG_Q_GOOD, 12.5);
  assert_true(last_sample(&f, gt)->ts_ms == INT64_C(1700000000123));

  /* No timestamp in the payload: receive time. */
  int64_t t0 = dg_wall_ms();
  pub_send(&pub, "dg/gt101", "{\"value\": 13}");
  expect_sample(&f, gt, DG_Q_GOOD, 13);
  int64_t t1 = dg_wall_ms();
  assert_true(last_sample(&f, gt)->ts_ms >= t0 && last_sample(&f, gt)->ts_ms <= t1);

  /* Two points on one topic, different paths, scale and offset applied. */
  pub_send(&pub, "dg/multi", "{\"data\": {\"ch4\": 1.5, \"h2s\": 0.25}}");
  expect_sample(&f, ch4, DG_Q_GOOD, 1.5);
  expect_sample(&f, h2s, DG_Q_GOOD, 3.5);

  /* Malformed payload. */
  pub_send(&pub, "dg/gt101", "{not json");
  expect_sample(&f, gt, DG_Q_BAD_PAYLOAD, 0);
  assert_true(isnan(last_sample(&f, gt)->value));
  assert_int_equal(stats(&f, 0).malformed, 1);

  /* Partly bad: one bound point good, the other missing its field. */
  pub_send(&pub, "dg/multi", "{\"data\": {\"ch4\": 2}}");
  expect_sample(&f, ch4, DG_Q_GOOD, 2);
  expect_sample(&f, h2s, DG_Q_BAD_PAYLOAD, 0);
  assert_int_equal(stats(&f, 0).malformed, 2);

  /* Good again after bad. */
  pub_send(&pub, "dg/gt101", "{\"value\": 3, \"ts\": 1700000001}");
  expect_sample(&f, gt, DG_Q_GOOD, 3);
  assert_true(last_sample(&f, gt)->ts_ms == INT64_C(1700000001000));

  struct mqtt_broker_stats after = stats(&f, 0);
  assert_int_equal(after.messages - before.messages, 6);
  assert_int_equal(after.connects, 1);
  assert_true(after.connected);
  struct mqtt_broker_stats none;
  assert_int_equal(mqtt_broker_stats(f.mqtt, 1, &none), -ENOENT);
  /* Nothing was ever delivered for the Modbus point. */
  assert_null(last_sample(&f, f.cfg.n_points - 1));

  fixture_close(&f);
  broker_cleanup(&br);
}

static bool pred_comm_ab(struct fixture *f, const void *arg)
{
  (void)arg;
  struct expect a = {0, DG_Q_COMM, 0}, b = {1, DG_Q_COMM, 0};
  return pred_sample(f, &a) && pred_sample(f, &b);
}

static void test_broker_restart(void **state)
{
  (void)state;
  struct broker ba, bb;
  broker_init(&ba, 0);
  broker_init(&bb, 0);
  broker_start(&ba);
  broker_start(&bb);
  struct fixture f;
  fixture_init(&f);
  add_broker(&f, ba.port);
  add_broker(&f, bb.port);
  size_t a1 = add_point(&f, "A1", 0, "r/a1", NULL, NULL);
  size_t a2 = add_point(&f, "A2", 0, "r/a2", "value", NULL);
  size_t b1 = add_point(&f, "B1", 1, "r/b1", NULL, NULL);
  driver_start(&f);

  struct publisher pa, pb;
  pub_open(&pa, ba.port);
  pub_open(&pb, bb.port);
  publish_until(&f, &pa, "r/a1", "1", a1, 1);
  publish_until(&f, &pa, "r/a2", "{\"value\": 2}", a2, 2);
  publish_until(&f, &pb, "r/b1", "3", b1, 3);

  broker_kill(&ba);
  assert_true(wait_for(&f, pred_comm_ab, NULL, WAIT_MS));
  struct expect_link down = {0, false, 1};
  assert_true(wait_for(&f, pred_link, &down, WAIT_MS));
  /* The other broker's point is untouched. */
  assert_int_equal(last_sample(&f, b1)->quality, DG_Q_GOOD);
  assert_true(stats(&f, 1).connected);

  /* Same port again: reconnect, resubscribe, values flow. */
  broker_start(&ba);
  struct expect_link up = {0, true, 2};
  assert_true(wait_for(&f, pred_link, &up, 3 * WAIT_MS));
  pub_open(&pa, ba.port);
  publish_until(&f, &pa, "r/a1", "7", a1, 7);
  publish_until(&f, &pa, "r/a2", "{\"value\": 8}", a2, 8);
  assert_int_equal(stats(&f, 0).connects, 2);
  assert_int_equal(stats(&f, 1).connects, 1);

  fixture_close(&f);
  broker_cleanup(&ba);
  broker_cleanup(&bb);
}

static void test_broker_down_at_start(void **state)
{
  (void)state;
  struct broker br;
  broker_init(&br, 0); /* port chosen, nothing listening yet */
  struct fixture f;
  fixture_init(&f);
  add_broker(&f, br.port);
  size_t p = add_point(&f, "P1", 0, "late/p1", "value", "ts");
  driver_start(&f);

  expect_sample(&f, p, DG_Q_COMM, 0);
  assert_false(stats(&f, 0).connected);
  assert_int_equal(stats(&f, 0).connects, 0);

  broker_start(&br);
  struct expect_link up = {0, true, 1};
  assert_true(wait_for(&f, pred_link, &up, 3 * WAIT_MS));
  struct publisher pub;
  pub_open(&pub, br.port);
  publish_until(&f, &pub, "late/p1", "{\"value\": 4.5, \"ts\": 1700000002000}", p, 4.5);
  assert_true(last_sample(&f, p)->ts_ms == INT64_C(1700000002000));

  fixture_close(&f);
  broker_cleanup(&br);
}

static void test_stop_while_connecting(void **state)
{
  (void)state;
  struct fixture f;
  fixture_init(&f);
  add_broker(&f, free_port());
  size_t p = add_point(&f, "P1", 0, "nobody/p1", NULL, NULL);
  driver_start(&f);
  expect_sample(&f, p, DG_Q_COMM, 0);
  fixture_close(&f);
}

static void test_bad_config(void **state)
{
  (void)state;
  struct fixture f;
  fixture_init(&f);
  add_broker(&f, free_port());
  add_point(&f, "W1", 0, "plant/+/gt", NULL, NULL);
  struct mqtt_driver *m = (struct mqtt_driver *)&f;
  assert_int_equal(mqtt_start(&m, &f.loop, &f.cfg, &f.q), -EINVAL);
  assert_null(m);
  fixture_close(&f);
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_ingest, teardown_brokers),
    cmocka_unit_test_teardown(test_broker_restart, teardown_brokers),
    cmocka_unit_test_teardown(test_broker_down_at_start, teardown_brokers),
    cmocka_unit_test_teardown(test_stop_while_connecting, teardown_brokers),
    cmocka_unit_test_teardown(test_bad_config, teardown_brokers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
