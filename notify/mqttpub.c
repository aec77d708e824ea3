#include "mqttpub.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

enum mqttpub__state { MQTTPUB_IDLE, MQTTPUB_CONNECTING, MQTTPUB_CONNECTED };

struct mqttpub__client {
  struct mqttpub *p;
  char *channel, *uri, *user, *password;
  MQTTAsync client;
  enum mqttpub__state state;
  struct mqttpub__client *next;
};

struct mqttpub__req {
  struct mqttpub *p;
  struct mqttpub__client *c;
  char *topic, *payload;
  size_t len;
  int token;                 /* paho's token once sent, else 0 */
  httpc_done_fn done;
  void *ud;
  uv_timer_t timer;
  struct mqttpub__req *next;
};

/* What a paho thread saw, for the loop. */
struct mqttpub__ev {
  enum { MQTTPUB_EV_CONNECTED, MQTTPUB_EV_CONNECT_FAILED, MQTTPUB_EV_LOST, MQTTPUB_EV_ACK, MQTTPUB_EV_NACK } kind;
  struct mqttpub__client *c;
  int token, code;
  struct mqttpub__ev *next;
};

struct mqttpub {
  uv_loop_t *loop;
  uv_async_t async;
  pthread_mutex_t mu;        /* guards evs and closed */
  struct mqttpub__ev *evs;
  int closed;
  struct mqttpub__client *clients;
  struct mqttpub__req *reqs;
  void (*on_closed)(void *arg);
  void *closed_arg;
};

static void mqttpub__post(struct mqttpub__client *c, int kind, int token, int code)
{
  struct mqttpub *p = c->p;
  struct mqttpub__ev *e = calloc(1, sizeof *e);
  if (!e) return;
  *e = (struct mqttpub__ev){.kind = kind, .c = c, .token = token, .code = code};
  pthread_mutex_lock(&p->mu);
  if (p->closed) {
    free(e);
  } else {
    e->next = p->evs;
    p->evs = e;
    uv_async_send(&p->async);
  }
  pthread_mutex_unlock(&p->mu);
}

/* ---- paho threads ---- */

static void mqttpub__on_connected(void *ctx, MQTTAsync_successData *d)
{
  (void)d;
  mqttpub__post(ctx, MQTTPUB_EV_CONNECTED, 0, 0);
}

static void mqttpub__on_connect_failed(void *ctx, MQTTAsync_failureData *d)
{
  mqttpub__post(ctx, MQTTPUB_EV_CONNECT_FAILED, 0, d ? d->code : -1);
}

static void mqttpub__on_lost(void *ctx, char *cause)
{
  (void)cause;
  mqttpub__post(ctx, MQTTPUB_EV_LOST, 0, 0);
}

static int mqttpub__on_message(void *ctx, char *topic, int len, MQTTAsync_message *m)
{
  (void)ctx;
  (void)len;
  MQTTAsync_freeMessage(&m);
  MQTTAsync_free(topic);
  return 1;
}

static void mqttpub__on_acked(void *ctx, MQTTAsync_successData *d)
{
  mqttpub__post(ctx, MQTTPUB_EV_ACK, d ? d->token : 0, 0);
}

static void mqttpub__on_refused(void *ctx, MQTTAsync_failureData *d)
{
  mqttpub__post(ctx, MQTTPUB_EV_NACK, d ? d->token : 0, d ? d->code : -1);
}

/* ---- loop thread ---- */

static void mqttpub__req_closed(uv_handle_t *h)
{
  struct mqttpub__req *r = h->data;
  free(r->topic);
  free(r->payload);
  free(r);
}

/* Takes r out of the list and tells its caller. */
static void mqttpub__finish(struct mqttpub__req *r, long status, const char *error)
{
  struct mqttpub__req **pp = &r->p->reqs;
  while (*pp && *pp != r) pp = &(*pp)->next;
  if (*pp) *pp = r->next;
  uv_timer_stop(&r->timer);
  r->done(r->ud, status, error, NULL);
  uv_close((uv_handle_t *)&r->timer, mqttpub__req_closed);
}

/* Fails the requests of client c: those sent (sent != 0) or those waiting for the connection. */
static void mqttpub__fail(struct mqttpub__client *c, int sent, const char *why)
{
  for (struct mqttpub__req *r = c->p->reqs, *next; r; r = next) {
    next = r->next;
    if (r->c == c && (r->token != 0) == sent) mqttpub__finish(r, 0, why);
  }
}

static void mqttpub__send(struct mqttpub__req *r)
{
  MQTTAsync_message m = MQTTAsync_message_initializer;
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  m.payload = r->payload;
  m.payloadlen = (int)r->len;
  m.qos = 1;
  ro.onSuccess = mqttpub__on_acked;
  ro.onFailure = mqttpub__on_refused;
  ro.context = r->c;
  int rc = MQTTAsync_sendMessage(r->c->client, r->topic, &m, &ro);
  if (rc == MQTTASYNC_SUCCESS && ro.token) {
    r->token = ro.token;
    return;
  }
  if (rc == MQTTASYNC_DISCONNECTED) r->c->state = MQTTPUB_IDLE;
  char why[64];
  snprintf(why, sizeof why, "publish refused (paho code %d)", rc);
  mqttpub__finish(r, 0, why);
}

static void mqttpub__connect(struct mqttpub__client *c)
{
  MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
  MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
  o.keepAliveInterval = 30;
  o.cleansession = 1;
  o.username = c->user;
  o.password = c->password;
  o.connectTimeout = 5;
  o.automaticReconnect = 0;
  o.MQTTVersion = MQTTVERSION_3_1_1;
  o.onSuccess = mqttpub__on_connected;
  o.onFailure = mqttpub__on_connect_failed;
  o.context = c;
  if (!strncmp(c->uri, "ssl://", 6)) o.ssl = &ssl;
  c->state = MQTTPUB_CONNECTING;
  int rc = MQTTAsync_connect(c->client, &o);
  if (rc != MQTTASYNC_SUCCESS) {
    c->state = MQTTPUB_IDLE;
    char why[64];
    snprintf(why, sizeof why, "connect not started (paho code %d)", rc);
    mqttpub__fail(c, 0, why);
  }
}

static void mqttpub__handle(struct mqttpub__ev *e)
{
  struct mqttpub__client *c = e->c;
  char why[64];
  switch (e->kind) {
  case MQTTPUB_EV_CONNECTED:
    c->state = MQTTPUB_CONNECTED;
    for (struct mqttpub__req *r = c->p->reqs, *next; r; r = next) {
      next = r->next;
      if (r->c == c && !r->token) mqttpub__send(r);
    }
    break;
  case MQTTPUB_EV_CONNECT_FAILED:
    c->state = MQTTPUB_IDLE;
    snprintf(why, sizeof why, "connect failed (paho code %d)", e->code);
    DG_LOG_RL(DG_LOG_WARN, "notify", "mqtt channel %s: %s to %s", c->channel, why, c->uri);
    mqttpub__fail(c, 0, why);
    break;
  case MQTTPUB_EV_LOST:
    c->state = MQTTPUB_IDLE;
    mqttpub__fail(c, 1, "connection lost before the PUBACK");
    break;
  default:
    for (struct mqttpub__req *r = c->p->reqs; r; r = r->next)
      if (r->c == c && r->token == e->token) {
        snprintf(why, sizeof why, "publish failed (code %d)", e->code);
        mqttpub__finish(r, e->kind == MQTTPUB_EV_ACK, e->kind == MQTTPUB_EV_ACK ? NULL : why);
        break;
      }
  }
}

static void mqttpub__on_async(uv_async_t *h)
{
  struct mqttpub *p = h->data;
  pthread_mutex_lock(&p->mu);
  struct mqttpub__ev *list = p->evs, *rev = NULL;
  p->evs = NULL;
  pthread_mutex_unlock(&p->mu);
  while (list) { /* oldest first */
    struct mqttpub__ev *e = list;
    list = e->next;
    e->next = rev;
    rev = e;
  }
  while (rev) {
    struct mqttpub__ev *e = rev;
    rev = e->next;
    mqttpub__handle(e);
    free(e);
  }
}

static void mqttpub__on_timeout(uv_timer_t *t) { mqttpub__finish(t->data, 0, "timeout waiting for the PUBACK"); }

static struct mqttpub__client *mqttpub__client(struct mqttpub *p, const char *channel, const char *uri,
                                               const char *user, const char *password)
{
  struct mqttpub__client *c = p->clients;
  while (c && (strcmp(c->channel, channel) || strcmp(c->uri, uri))) c = c->next;
  if (c) return c;
  char id[128];
  snprintf(id, sizeof id, "dualguard-notify-%s", channel);
  MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
  co.MQTTVersion = MQTTVERSION_3_1_1;
  if (!(c = calloc(1, sizeof *c))) return NULL;
  c->p = p;
  c->channel = strdup(channel);
  c->uri = strdup(uri);
  c->user = user ? strdup(user) : NULL;
  c->password = password ? strdup(password) : NULL;
  if (!c->channel || !c->uri ||
      MQTTAsync_createWithOptions(&c->client, c->uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &co) != MQTTASYNC_SUCCESS ||
      MQTTAsync_setCallbacks(c->client, c, mqttpub__on_lost, mqttpub__on_message, NULL) != MQTTASYNC_SUCCESS) {
    if (c->client) MQTTAsync_destroy(&c->client);
    free(c->channel);
    free(c->uri);
    free(c->user);
    free(c->password);
    free(c);
    return NULL;
  }
  c->next = p->clients;
  p->clients = c;
  return c;
}

int mqttpub_init(struct mqttpub **out, uv_loop_t *loop)
{
  struct mqttpub *p = calloc(1, sizeof *p);
  if (!p) return -ENOMEM;
  p->loop = loop;
  pthread_mutex_init(&p->mu, NULL);
  int rc = uv_async_init(loop, &p->async, mqttpub__on_async);
  if (rc) {
    pthread_mutex_destroy(&p->mu);
    free(p);
    return rc;
  }
  p->async.data = p;
  *out = p;
  return 0;
}

int mqttpub_publish(struct mqttpub *p, const char *channel, const char *uri, const char *user, const char *password,
                    const char *topic, const char *payload, size_t len, uint32_t timeout_ms, httpc_done_fn done,
                    void *ud)
{
  struct mqttpub__client *c = mqttpub__client(p, channel, uri, user, password);
  struct mqttpub__req *r = c ? calloc(1, sizeof *r) : NULL;
  if (!r) return c ? -ENOMEM : -EINVAL;
  *r = (struct mqttpub__req){.p = p, .c = c, .topic = strdup(topic), .payload = malloc(len + 1), .len = len,
                             .done = done, .ud = ud};
  if (!r->topic || !r->payload) {
    free(r->topic);
    free(r->payload);
    free(r);
    return -ENOMEM;
  }
  memcpy(r->payload, payload, len);
  uv_timer_init(p->loop, &r->timer);
  r->timer.data = r;
  uv_timer_start(&r->timer, mqttpub__on_timeout, timeout_ms, 0);
  r->next = p->reqs;
  p->reqs = r;
  if (c->state == MQTTPUB_CONNECTED) mqttpub__send(r);
  else if (c->state == MQTTPUB_IDLE) mqttpub__connect(c);
  return 0;
}

static void mqttpub__closed(uv_handle_t *h)
{
  struct mqttpub *p = h->data;
  while (p->evs) {
    struct mqttpub__ev *e = p->evs;
    p->evs = e->next;
    free(e);
  }
  pthread_mutex_destroy(&p->mu);
  void (*cb)(void *) = p->on_closed;
  void *arg = p->closed_arg;
  free(p);
  if (cb) cb(arg);
}

void mqttpub_close(struct mqttpub *p, void (*closed)(void *arg), void *arg)
{
  pthread_mutex_lock(&p->mu);
  p->closed = 1;
  pthread_mutex_unlock(&p->mu);
  while (p->reqs) mqttpub__finish(p->reqs, 0, "cancelled");
  while (p->clients) {
    struct mqttpub__client *c = p->clients;
    p->clients = c->next;
    if (c->state == MQTTPUB_CONNECTED) {
      MQTTAsync_disconnectOptions o = MQTTAsync_disconnectOptions_initializer;
      MQTTAsync_disconnect(c->client, &o);
    }
    MQTTAsync_destroy(&c->client); /* no callback of it runs after this */
    free(c->channel);
    free(c->uri);
    free(c->user);
    free(c->password);
    free(c);
  }
  p->on_closed = closed;
  p->closed_arg = arg;
  uv_close((uv_handle_t *)&p->async, mqttpub__closed);
}
