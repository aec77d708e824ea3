/* events — the live event stream behind GET /api/v1/events (server-sent events).
 *
 * Producers on the loop thread publish committed alarm transitions, hazard transitions, risk
 * level changes and point values (at most one per point per EVENTS_POINT_MIN_MS: the latest
 * value in that window follows when it ends). Each event gets an id "<boot>-<seq>" and goes into
 * one ring of the last EVENTS_RING (daemon.http.event_buffer) events, shared by every subscriber: a subscriber is only a
 * cursor into the ring, so memory does not grow with slow clients. A subscriber that falls more
 * than EVENTS_RING events behind, or reconnects with a Last-Event-ID the ring no longer holds (or
 * of an earlier run), gets a "resync" event (read the full state again) and continues from the
 * newest event. A point value is kept as data and written out when a subscriber first reads it,
 * so values cost little while nobody watches. Every EVENTS_PING_MS a comment line goes to each subscriber (liveness), and every
 * second subscribers whose client has closed the connection are ended.
 *
 * Owned by the daemon; a NULL `struct events *` is accepted everywhere and publishes nothing.
 * Loop thread only. */
#ifndef DG_EVENTS_H
#define DG_EVENTS_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <uv.h>

#include "http.h"

#define EVENTS_RING 4096u
#define EVENTS_POINT_MIN_MS 1000
#define EVENTS_PING_MS 15000
#define EVENTS_MAX_FRAME 16384 /* an event larger than this is not published (logged) */
#define EVENTS_RETRY_MS 3000   /* reconnect delay suggested to clients */

struct events;

struct events_stats {
  uint64_t published, dropped, resyncs;
  unsigned subscribers;
};

/* ring: events kept (0: EVENTS_RING). */
int events_new(struct events **out, uv_loop_t *loop, unsigned ring);
/* Stops the timer (the loop must run once more); subscribers still open end with their
 * connections. events_free after the HTTP server has closed every connection. */
void events_close(struct events *ev);
void events_free(struct events *ev);

/* Publishes an event of `type` with data (taken, deleted here). */
void events_publish(struct events *ev, const char *type, cJSON *data);

/* A point's sample (quality a dg_quality name; has_value 0: value null; ts_ms its source time,
 * received_ms when the daemon took it, as the alarms API's live_received_ms), throttled per
 * point index. point_id is copied, and read again only when config_generation (the engine's,
 * bumped whenever its configuration is replaced) differs from the point's last sample's. */
void events_point(struct events *ev, uint32_t index, uint64_t config_generation, const char *point_id, int has_value,
                  double value, const char *quality, int64_t ts_ms, int64_t received_ms);

/* The stream for a new subscriber (http_stream_ops and its ctx in resp), resuming after
 * last_event_id when the ring still holds what followed it. */
int events_subscribe(struct events *ev, const char *last_event_id, struct http_response *resp);

void events_stats(const struct events *ev, struct events_stats *out);

#endif
