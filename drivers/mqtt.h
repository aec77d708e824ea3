/* mqtt — MQTT ingest with paho MQTTAsync, one client per configured broker.
 *
 * Threads: paho runs its own threads; its callbacks only copy what they need, push samples to
 * the sampleq (or control events to this module's own uv_async) and return 1. Subscribing after
 * a (re)connect happens on the loop thread, never inside a paho callback.
 * A lost connection marks every point of that broker with quality DG_Q_COMM; a malformed
 * payload is counted, logged (rate-limited) and marks its points DG_Q_BAD_PAYLOAD. */
#ifndef DG_MQTT_H
#define DG_MQTT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "model.h"
#include "sampleq.h"

struct mqtt_driver;

struct mqtt_broker_stats {
  bool connected;
  bool subscribed;         /* connected and every topic's subscription acknowledged */
  uint64_t messages;       /* payloads received on subscribed topics */
  uint64_t malformed;      /* payloads that did not parse for at least one bound point */
  uint64_t connects;       /* successful (re)connects */
  int64_t last_message_ms; /* wall clock, 0 if none */
  uint64_t clock_skewed;   /* samples whose source timestamp was further ahead of the receive
                            * time than max_clock_skew: stamped with the receive time instead */
  uint64_t unknown_point;  /* wildcard_topics messages whose id level names no point of the broker */
};

/* Loop thread. Creates one client per broker in cfg and starts connecting (with automatic
 * reconnect). Returns 0 or a negative errno; never blocks on the network. */
int mqtt_start(struct mqtt_driver **out, uv_loop_t *loop, const struct dg_config *cfg,
               struct sampleq *q);
/* Loop thread. Disconnects and destroys every client; after it returns no paho thread will
 * push to the sampleq again. Closes the module's uv handles (run the loop once more). */
void mqtt_stop(struct mqtt_driver *m);
size_t mqtt_broker_count(const struct mqtt_driver *m);
/* Loop thread. Returns 0 or -ENOENT. */
int mqtt_broker_stats(struct mqtt_driver *m, size_t broker, struct mqtt_broker_stats *out);

/* Pure payload decoding, shared by the driver, tests and the fuzzer.
 * binding->path NULL: the payload is a bare number ("12.5", " 3e2 ").
 * Otherwise a JSON object or array; path is "value", "$.value" or "data.ch4" (dotted), where a
 * numeric segment or "[N]" indexes an array and "[key=val]" picks the first array element whose
 * member `key` is the string (or number) val: "[id=GT101].value" in
 * [{"id": "GT101", "value": 3.2}, ...]. The field must be a number (or a numeric string, or
 * true/false = 1/0). If ts_path is set and present, it is epoch seconds (< 1e11) or
 * milliseconds (number or numeric string), or an ISO 8601 string
 * "YYYY-MM-DDThh:mm[:ss[.fff]][Z|+hh:mm]" (no zone: UTC); *ts_ms is set to it, else left
 * unchanged.
 * Returns 0, or -EINVAL with a short reason in `why` (static string). */
int mqtt_parse_payload(const struct dg_mqtt_binding *binding, const char *payload, size_t len,
                       double *value, int64_t *ts_ms, const char **why);

/* 0 if path is a well-formed path for mqtt_parse_payload, else -EINVAL. */
int mqtt_path_check(const char *path);

/* Topic filters (MQTT 3.1.1 section 4.7). 0 if filter is a valid filter: non-empty, '+' and '#'
 * each a whole level, '#' only last; else -EINVAL. */
int mqtt_filter_check(const char *filter);
/* 1 if 1-based level `level` of filter is '+', 0 if it is another level, -EINVAL if there is no
 * such level. */
int mqtt_filter_level_is_plus(const char *filter, uint32_t level);
/* True if topic (len bytes, not NUL-terminated) matches filter. Topics starting with '$' never
 * match a filter starting with a wildcard. */
bool mqtt_topic_matches(const char *filter, const char *topic, size_t len);
/* Finds 1-based level `level` of topic: 0 with *start and *n set, or -ENOENT. */
int mqtt_topic_level(const char *topic, size_t len, uint32_t level, size_t *start, size_t *n);

#endif
