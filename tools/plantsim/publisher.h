/* publisher — a blocking MQTT publisher for plantsim on top of paho MQTTAsync.
 *
 * One thread calls these functions; paho's callbacks only update state under a mutex.
 * ps_pub_maintain() reconnects with backoff (1 s to 10 s) once the link is lost; samples sent
 * while it is down are dropped (a live sensor does not buffer either). In-flight messages are
 * bounded. */
#ifndef PS_PUBLISHER_H
#define PS_PUBLISHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ps_pub;

struct ps_pub_stats {
  uint64_t sent;    /* accepted by paho */
  uint64_t acked;   /* completed (QoS 1/2: acknowledged by the broker) */
  uint64_t failed;  /* reported failed by paho */
  uint64_t dropped; /* not sent: disconnected or in-flight window full for too long */
};

/* Returns 0 or a negative errno. */
int ps_pub_create(struct ps_pub **out, const char *uri, const char *client_id);
/* Starts a connect and waits for its outcome (up to timeout_ms). Returns 0, -ECONNREFUSED or
 * -ETIMEDOUT. */
int ps_pub_connect(struct ps_pub *p, int timeout_ms);
/* Starts a reconnect when the link is down and the backoff has expired; never blocks. */
void ps_pub_maintain(struct ps_pub *p);
/* Returns 0, or -ENOTCONN / -ETIMEDOUT / -EIO when the message was dropped. */
int ps_pub_send(struct ps_pub *p, const char *topic, const void *payload, size_t len, int qos,
                bool retain);
/* Waits until nothing is in flight; returns 0 or -ETIMEDOUT. */
int ps_pub_flush(struct ps_pub *p, int timeout_ms);
void ps_pub_stats(struct ps_pub *p, struct ps_pub_stats *out);
/* Disconnects (if connected) and frees everything. */
void ps_pub_destroy(struct ps_pub *p);

#endif
