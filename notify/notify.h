/* notify — the durable notification outbox and its sender.
 *
 * A transition builds its outbox messages (notify_msg_new) and writes them (notify_msg_write) in
 * the same store transaction as the transition; only after that commit does the loop hand them to
 * notify_send. The sender POSTs each to its channel (webhook, via httpc), retries with
 * exponential backoff until delivered or expired, and commits the outcome. Undelivered rows are
 * reloaded at start (notify_resume), so nothing is lost across a restart; a delivery carries its
 * outbox id in the X-Dualguard-Delivery header so receivers can drop the rare duplicate that a
 * crash between the receiver's 2xx and our commit would cause. Loop thread only. */
#ifndef DG_NOTIFY_H
#define DG_NOTIFY_H

#include <stdint.h>
#include <uv.h>

#include "httpc.h"
#include "model.h"
#include "store.h"

struct notify;

struct notify_msg {
  int64_t id;
  char *channel;          /* channel id */
  char *ref;              /* what it announces, unique per channel */
  char *body;             /* JSON (chan.h) */
  char *recipient;        /* person id, or NULL for a channel-wide message */
  uint32_t attempts;
  int64_t created_ms, next_attempt_ms, expires_ms; /* wall clock */
  struct notify_msg *next;
};

struct notify_stats {
  uint64_t delivered, failed_attempts, expired;
  uint64_t spilled, read_back; /* messages left on disk for want of room, and read back later */
  size_t queued, in_flight;
};

int notify_init(struct notify **out, uv_loop_t *loop, const struct dg_config *cfg, struct store *store,
                struct httpc *httpc);
void notify_set_config(struct notify *n, const struct dg_config *cfg);
/* Loads pending outbox rows (up to the in-memory bound; the rest as these go out) and schedules them. */
int notify_resume(struct notify *n);

/* Builds a message for channel ch (id assigned here). body is taken over. */
struct notify_msg *notify_msg_new(struct notify *n, const struct dg_channel *ch, const char *ref, char *body,
                                  int64_t now_ms);
void notify_msg_free_list(struct notify_msg *m);
/* Writer thread: inserts the rows of a list. SQLITE_OK or an SQLite error. */
int notify_msg_write(struct store_conn *c, const struct notify_msg *list);
/* Loop thread, after the commit of their rows: takes over the list and sends it. */
void notify_send(struct notify *n, struct notify_msg *list);

void notify_stats(const struct notify *n, struct notify_stats *out);
/* Stops timers and closes handles; queued messages stay pending in the database. */
void notify_close(struct notify *n);

#endif
