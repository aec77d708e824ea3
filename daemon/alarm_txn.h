/* alarm_txn — one alarm transition made durable before it is announced.
 *
 * alarm_txn_commit snapshots the alarm after the transition, lets the ledger decide the hazard
 * change of an activation (hazard_on_activation), builds the notifications (notify/message.h)
 * and submits one urgent store job that writes the alarm row, its journal entry, the hazard
 * change, the outbox rows and the escalation rows (escalate.h) in a single transaction. Back on the loop after COMMIT the messages
 * go to notify_send; a failed commit is retried every ALARM_TXN_RETRY_MS and never announced
 * before it is durable (lost only when the store shuts down). Failed transitions wait in one
 * queue, oldest first, and while one waits newer ones queue behind it, so a database that takes
 * writes again commits them in the order they happened; a row written late never overwrites the
 * state of a newer journal entry. The job owns its snapshot; config strings are borrowed (a
 * reload waits for the store to be idle before freeing a config, and is refused while
 * transitions wait: alarm_txn_waiting).
 * Loop thread. */
#ifndef DG_ALARM_TXN_H
#define DG_ALARM_TXN_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "alarm.h"
#include "events.h"
#include "ledger.h"
#include "model.h"
#include "notify.h"
#include "sampleq.h"
#include "store.h"

#define ALARM_TXN_RETRY_MS 1000
/* Transitions not yet committed past which the samples that could make more are held in their
 * queue (back-pressure up to the drivers), and below which they flow again. Nothing is dropped. */
#define ALARM_TXN_HIGH_WATER 4096
#define ALARM_TXN_LOW_WATER 1024

/* Where transitions go, owned by the caller (the engine) and alive until the store is closed;
 * the counters are the caller's. */
struct alarm_txn_ctx {
  uv_loop_t *loop;
  struct store *store;
  struct ledger *ledger;
  struct notify *notify;
  struct escalate *escalate; /* tiered escalation to persons (NULL: none) */
  int64_t *next_journal_id;  /* taken by each transition */
  uint64_t *transitions;     /* bumped by each transition submitted */
  uint64_t *commits_failed;  /* bumped by each failed commit */
  size_t in_flight;          /* transitions submitted and not yet committed (or lost) */
  struct sampleq *hold;      /* held at ALARM_TXN_HIGH_WATER (NULL: none) */
  struct events *events;     /* committed transitions are published here (NULL: none) */
  /* alarm_txn's own: transitions whose commit failed, oldest first */
  struct alarm_txn *retry_head;
  bool retry_busy;           /* retry_head is with the store */
  uv_timer_t retry_timer;
};

/* The retry timer: started after the fields above are set, closed with alarm_txn_close (the loop
 * must run once more); alarm_txn_free then drops the transitions still waiting (logged). */
void alarm_txn_start(struct alarm_txn_ctx *x);
void alarm_txn_close(struct alarm_txn_ctx *x);
void alarm_txn_free(struct alarm_txn_ctx *x);
/* True while failed transitions wait to be committed again. */
bool alarm_txn_waiting(const struct alarm_txn_ctx *x);

/* Commits transition tr of alarm a (a already in its new state), journaled with actor and
 * comment (either may be NULL). An allocation failure is logged and the transition dropped. */
void alarm_txn_commit(struct alarm_txn_ctx *x, const struct dg_config *cfg, struct alarm *a,
                      const struct alarm_transition *tr, const char *actor, const char *comment);

#endif
