/* mqttpub — publishes notification payloads to MQTT brokers with QoS 1 (paho MQTTAsync), for
 * channels of type mqtt. One client per channel (client id "dualguard-notify-<channel>"),
 * connected on first use and again after a loss. A publish is done once the broker's PUBACK has
 * arrived (done with status 1); it fails (status 0 and the reason) when the connection is refused
 * or lost, paho refuses the message, or no PUBACK arrives within the timeout; the caller retries.
 * Paho's callbacks run on its threads and only queue events for the loop (uv_async), where done
 * is called. Loop thread only. */
#ifndef DG_MQTTPUB_H
#define DG_MQTTPUB_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "httpc.h"

struct mqttpub;

int mqttpub_init(struct mqttpub **out, uv_loop_t *loop);

/* Publishes payload (copied) to topic on broker uri as channel `channel` (its client), QoS 1.
 * user/password may be NULL. 0, and done is called exactly once; or a negative errno. */
int mqttpub_publish(struct mqttpub *p, const char *channel, const char *uri, const char *user, const char *password,
                    const char *topic, const char *payload, size_t len, uint32_t timeout_ms, httpc_done_fn done,
                    void *ud);

/* Fails what is in flight ("cancelled"), destroys the clients and closes the handles; `closed`
 * is called once they are closed (the loop must run). */
void mqttpub_close(struct mqttpub *p, void (*closed)(void *arg), void *arg);

#endif
