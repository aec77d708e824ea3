#include "publisher.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define PS_PUB_MAX_INFLIGHT 256
#define PS_PUB_WINDOW_WAIT_MS 2000
#define PS_PUB_RETRY_MIN_MS 1000
#define PS_PUB_RETRY_MAX_MS 10000

enum ps_pub_attempt { PS_ATTEMPT_NONE, PS_ATTEMPT_PENDING, PS_ATTEMPT_OK, PS_ATTEMPT_FAILED };

struct ps_pub {
  MQTTAsync client;
  char *uri;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  /* guarded by lock */
  enum ps_pub_attempt attempt;
  bool connected, ever_connected;
  struct timespec retry_at; /* CLOCK_MONOTONIC: next reconnect attempt */
  int backoff_ms;
  unsigned inflight;
  struct ps_pub_stats stats;
};

static void ps_pub__deadline(struct timespec *ts, int timeout_ms)
{
  clock_gettime(CLOCK_REALTIME, ts);
  ts->tv_sec += timeout_ms / 1000;
  ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

static void ps_pub__schedule_retry(struct ps_pub *p)
{
  clock_gettime(CLOCK_MONOTONIC, &p->retry_at);
  p->retry_at.tv_sec += p->backoff_ms / 1000;
  p->retry_at.tv_nsec += (long)(p->backoff_ms % 1000) * 1000000L;
  if (p->retry_at.tv_nsec >= 1000000000L) {
    p->retry_at.tv_sec++;
    p->retry_at.tv_nsec -= 1000000000L;
  }
  p->backoff_ms = p->backoff_ms * 2 > PS_PUB_RETRY_MAX_MS ? PS_PUB_RETRY_MAX_MS : p->backoff_ms * 2;
}

static void ps_pub__on_connect_ok(void *ctx, MQTTAsync_successData *d)
{
  struct ps_pub *p = ctx;
  pthread_mutex_lock(&p->lock);
  p->attempt = PS_ATTEMPT_OK;
  p->connected = true; /* the connected callback comes right after; senders need not wait */
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
}

static void ps_pub__on_connect_failed(void *ctx, MQTTAsync_failureData *d)
{
  struct ps_pub *p = ctx;
  pthread_mutex_lock(&p->lock);
  if (p->attempt == PS_ATTEMPT_PENDING) p->attempt = PS_ATTEMPT_FAILED;
  ps_pub__schedule_retry(p);
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
}

static void ps_pub__on_connected(void *ctx, char *cause)
{
  struct ps_pub *p = ctx;
  pthread_mutex_lock(&p->lock);
  bool again = p->ever_connected;
  p->connected = p->ever_connected = true;
  p->attempt = PS_ATTEMPT_OK;
  p->backoff_ms = PS_PUB_RETRY_MIN_MS;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
  if (again) DG_INFO("plantsim", "reconnected to %s", p->uri);
}

static void ps_pub__on_lost(void *ctx, char *cause)
{
  struct ps_pub *p = ctx;
  pthread_mutex_lock(&p->lock);
  p->connected = false;
  p->attempt = PS_ATTEMPT_NONE;
  ps_pub__schedule_retry(p);
  pthread_mutex_unlock(&p->lock);
  DG_WARN("plantsim", "connection to %s lost, reconnecting", p->uri);
}

static int ps_pub__on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
  MQTTAsync_freeMessage(&m);
  MQTTAsync_free(topic);
  return 1;
}

static void ps_pub__complete(struct ps_pub *p, bool ok)
{
  pthread_mutex_lock(&p->lock);
  if (p->inflight) p->inflight--;
  if (ok) p->stats.acked++;
  else p->stats.failed++;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
}

static void ps_pub__on_sent(void *ctx, MQTTAsync_successData *d) { ps_pub__complete(ctx, true); }
static void ps_pub__on_send_failed(void *ctx, MQTTAsync_failureData *d)
{
  ps_pub__complete(ctx, false);
}

int ps_pub_create(struct ps_pub **out, const char *uri, const char *client_id)
{
  *out = NULL;
  struct ps_pub *p = calloc(1, sizeof *p);
  if (!p) return -ENOMEM;
  p->uri = strdup(uri);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->cond, NULL);
  p->backoff_ms = PS_PUB_RETRY_MIN_MS;
  MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
  co.MQTTVersion = MQTTVERSION_3_1_1;
  int rc = p->uri ? MQTTAsync_createWithOptions(&p->client, uri, client_id,
                                                MQTTCLIENT_PERSISTENCE_NONE, NULL, &co)
                  : MQTTASYNC_FAILURE;
  if (rc == MQTTASYNC_SUCCESS)
    rc = MQTTAsync_setCallbacks(p->client, p, ps_pub__on_lost, ps_pub__on_message, NULL);
  if (rc == MQTTASYNC_SUCCESS) rc = MQTTAsync_setConnected(p->client, p, ps_pub__on_connected);
  if (rc != MQTTASYNC_SUCCESS) {
    DG_ERR("plantsim", "cannot create an MQTT client for '%s' (paho code %d)", uri, rc);
    ps_pub_destroy(p);
    return -EINVAL;
  }
  *out = p;
  return 0;
}

/* Reconnects are ours: paho 1.3.12's automatic reconnect also retries a failed first connect,
 * and an explicit connect racing it blocks and loses its callbacks. */
static int ps_pub__start_connect(struct ps_pub *p, int timeout_ms)
{
  MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
  o.keepAliveInterval = 20;
  o.cleansession = 1;
  o.connectTimeout = timeout_ms / 1000 > 0 ? timeout_ms / 1000 : 1;
  o.automaticReconnect = 0;
  o.MQTTVersion = MQTTVERSION_3_1_1;
  o.onSuccess = ps_pub__on_connect_ok;
  o.onFailure = ps_pub__on_connect_failed;
  o.context = p;
  pthread_mutex_lock(&p->lock);
  p->attempt = PS_ATTEMPT_PENDING;
  pthread_mutex_unlock(&p->lock);
  if (MQTTAsync_connect(p->client, &o) == MQTTASYNC_SUCCESS) return 0;
  pthread_mutex_lock(&p->lock);
  p->attempt = PS_ATTEMPT_FAILED;
  ps_pub__schedule_retry(p);
  pthread_mutex_unlock(&p->lock);
  return -ECONNREFUSED;
}

int ps_pub_connect(struct ps_pub *p, int timeout_ms)
{
  int rc = ps_pub__start_connect(p, timeout_ms);
  if (rc) return rc;
  struct timespec deadline;
  ps_pub__deadline(&deadline, timeout_ms + 1000);
  pthread_mutex_lock(&p->lock);
  while (p->attempt == PS_ATTEMPT_PENDING)
    if (pthread_cond_timedwait(&p->cond, &p->lock, &deadline) == ETIMEDOUT) break;
  enum ps_pub_attempt a = p->attempt;
  pthread_mutex_unlock(&p->lock);
  if (a == PS_ATTEMPT_OK) return 0;
  return a == PS_ATTEMPT_FAILED ? -ECONNREFUSED : -ETIMEDOUT;
}

void ps_pub_maintain(struct ps_pub *p)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  pthread_mutex_lock(&p->lock);
  bool due = !p->connected && p->attempt != PS_ATTEMPT_PENDING &&
             (now.tv_sec > p->retry_at.tv_sec ||
              (now.tv_sec == p->retry_at.tv_sec && now.tv_nsec >= p->retry_at.tv_nsec));
  pthread_mutex_unlock(&p->lock);
  if (due) ps_pub__start_connect(p, 5000);
}

/* Waits for room in the in-flight window; returns with the lock held either way. */
static int ps_pub__reserve(struct ps_pub *p)
{
  struct timespec deadline;
  ps_pub__deadline(&deadline, PS_PUB_WINDOW_WAIT_MS);
  pthread_mutex_lock(&p->lock);
  while (p->inflight >= PS_PUB_MAX_INFLIGHT)
    if (pthread_cond_timedwait(&p->cond, &p->lock, &deadline) == ETIMEDOUT) return -ETIMEDOUT;
  if (!p->connected) return -ENOTCONN;
  p->inflight++;
  p->stats.sent++;
  return 0;
}

int ps_pub_send(struct ps_pub *p, const char *topic, const void *payload, size_t len, int qos,
                bool retain)
{
  int rc = ps_pub__reserve(p);
  if (rc) p->stats.dropped++;
  pthread_mutex_unlock(&p->lock);
  if (rc) return rc;
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  ro.onSuccess = ps_pub__on_sent;
  ro.onFailure = ps_pub__on_send_failed;
  ro.context = p;
  MQTTAsync_message m = MQTTAsync_message_initializer;
  m.payload = (void *)payload;
  m.payloadlen = (int)len;
  m.qos = qos;
  m.retained = retain;
  int prc = MQTTAsync_sendMessage(p->client, topic, &m, &ro);
  if (prc == MQTTASYNC_SUCCESS) return 0;
  /* paho will not call back for a message it refused. */
  pthread_mutex_lock(&p->lock);
  p->inflight--;
  p->stats.sent--;
  p->stats.dropped++;
  pthread_mutex_unlock(&p->lock);
  return prc == MQTTASYNC_DISCONNECTED ? -ENOTCONN : -EIO;
}

int ps_pub_flush(struct ps_pub *p, int timeout_ms)
{
  struct timespec deadline;
  ps_pub__deadline(&deadline, timeout_ms);
  pthread_mutex_lock(&p->lock);
  while (p->inflight)
    if (pthread_cond_timedwait(&p->cond, &p->lock, &deadline) == ETIMEDOUT) break;
  int rc = p->inflight ? -ETIMEDOUT : 0;
  pthread_mutex_unlock(&p->lock);
  return rc;
}

void ps_pub_stats(struct ps_pub *p, struct ps_pub_stats *out)
{
  pthread_mutex_lock(&p->lock);
  *out = p->stats;
  pthread_mutex_unlock(&p->lock);
}

static void ps_pub__on_disconnect_done(void *ctx)
{
  struct ps_pub *p = ctx;
  pthread_mutex_lock(&p->lock);
  p->attempt = PS_ATTEMPT_NONE;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
}

static void ps_pub__on_disconnected(void *ctx, MQTTAsync_successData *d)
{
  ps_pub__on_disconnect_done(ctx);
}

static void ps_pub__on_disconnect_failed(void *ctx, MQTTAsync_failureData *d)
{
  ps_pub__on_disconnect_done(ctx);
}

void ps_pub_destroy(struct ps_pub *p)
{
  if (!p) return;
  if (p->client) {
    MQTTAsync_disconnectOptions o = MQTTAsync_disconnectOptions_initializer;
    o.timeout = 1000;
    o.onSuccess = ps_pub__on_disconnected;
    o.onFailure = ps_pub__on_disconnect_failed;
    o.context = p;
    pthread_mutex_lock(&p->lock);
    p->attempt = PS_ATTEMPT_PENDING;
    pthread_mutex_unlock(&p->lock);
    if (MQTTAsync_disconnect(p->client, &o) == MQTTASYNC_SUCCESS) {
      struct timespec deadline;
      ps_pub__deadline(&deadline, 2000);
      pthread_mutex_lock(&p->lock);
      while (p->attempt == PS_ATTEMPT_PENDING)
        if (pthread_cond_timedwait(&p->cond, &p->lock, &deadline) == ETIMEDOUT) break;
      pthread_mutex_unlock(&p->lock);
    }
    MQTTAsync_destroy(&p->client);
  }
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->cond);
  free(p->uri);
  free(p);
}
