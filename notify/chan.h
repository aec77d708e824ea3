/* chan — the wire requests of each channel type, built from an outbox row, and the reading of
 * the providers' answers. Pure functions (no I/O): notify.c sends what chan_encode builds.
 *
 * An outbox body is JSON. A message to a person (an "envelope") is
 *   {"to": {"person", "name", "phone", "email", "im"}, "title", "text", "link", "priority", "event": {...}}
 * where "im" is the person's id on the channel's provider; any other body (the alarm webhook
 * body) is posted to webhooks as it is, and robots and gateways send its "text_zh". */
#ifndef DG_CHAN_H
#define DG_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define CHAN_MAX_HEADERS 16

struct chan_req {
  char *url;
  char *body;
  size_t body_len;
  const char *content_type;
  char *headers[CHAN_MAX_HEADERS + 1]; /* NULL-terminated "Name: value" */
  size_t n_headers;
  bool smtp;                           /* body is an RFC 5322 message for mail_from → rcpt */
  char *mail_from, *rcpt;
  char *number;                        /* SMS/voice: the number called (for caps) */
  char *topic;                         /* MQTT: the topic the body is published to (url: the broker) */
};

/* Builds the request for outbox row `id` holding `body` on channel ch at wall time now_ms
 * (signatures carry it). 0, -EINVAL when the body lacks what the channel needs (an e-mail
 * address for SMTP, a phone for SMS), -ENOMEM. */
int chan_encode(const struct dg_channel *ch, int64_t id, const char *body, int64_t now_ms, struct chan_req *out);
void chan_req_free(struct chan_req *r);

enum chan_verdict { CHAN_DELIVERED, CHAN_RETRY, CHAN_GIVE_UP };

/* Reads an answer: HTTP status (0: transport error; SMTP: the last reply code) and response
 * body. DingTalk, WeCom and Feishu answer 200 with an error code in the JSON, which decides.
 * `why` gets a short reason; *min_delay_ms the least wait before a retry (rate limits). */
enum chan_verdict chan_verdict(const struct dg_channel *ch, long status, const char *resp, char *why, size_t len,
                               int64_t *min_delay_ms);

/* Expands {{name}} placeholders of tmpl with vars (name, value pairs, NULL-terminated); values
 * are JSON-string-escaped when `json`. Unknown names expand to nothing. malloc'd. */
char *chan_expand(const char *tmpl, const char *const *vars, bool json);

#endif
