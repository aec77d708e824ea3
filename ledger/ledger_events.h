/* ledger_events — what happens to hazards and inspection tasks, handed to whoever tells people.
 *
 * The ledger does not know how people are told: the daemon sets a hook (ledger_set_hook) whose
 * begin builds, on the loop thread, the rows and messages an event means (an opaque change,
 * several events may join one); write persists them on the writer thread inside the ledger's own
 * transaction, and end is called on the loop thread once that transaction has committed (rc 0,
 * then messages may go out) or failed. Without a hook, events go nowhere. Strings are borrowed
 * for the call of begin. */
#ifndef DG_LEDGER_EVENTS_H
#define DG_LEDGER_EVENTS_H

#include <stdint.h>

#include "store.h"

enum ledger_event_kind {
  LEDGER_EV_HAZARD_OPENED,      /* a hazard entered 整改中 (registered, or a report confirmed) */
  LEDGER_EV_HAZARD_SUBMITTED,   /* submitted for acceptance (待验收) */
  LEDGER_EV_HAZARD_OVERDUE,     /* past its rectification deadline */
  LEDGER_EV_HAZARD_MOVED,       /* left a state otherwise (verified, rejected, dismissed) */
  LEDGER_EV_INSPECTION_MISSED,  /* an inspection task's period ended unchecked (未排查) */
};

struct ledger_event {
  enum ledger_event_kind kind;
  int64_t ts_ms;
  int64_t hazard_id;            /* 0 for a missed inspection */
  const char *code;
  int danger_level;             /* 0 一般, 1 重大 */
  int state;                    /* danger_state after the event */
  int closed;                   /* accepted or dismissed: nothing more to do about it */
  int64_t deadline_ms;          /* 0: none */
  const char *description;
  const char *unit, *measure;   /* plant model ids (may be NULL) */
  const char *liable, *assignee, *rectifier; /* person ids (may be NULL) */
  int64_t task_id;              /* a missed inspection's task */
  int64_t due_ms;               /* its period's end */
};

struct ledger_hook {
  /* Adds what ev means to change (NULL: a new one); returns the change (NULL: nothing). */
  void *(*begin)(void *arg, const struct ledger_event *ev, void *change);
  /* Writer thread: SQLITE_OK or an SQLite error. */
  int (*write)(struct store_conn *c, const void *change);
  /* After the transaction: rc 0 committed, else not (the change is dropped). Frees the change. */
  void (*end)(void *arg, void *change, int rc);
  void *arg;
};

struct ledger;

void ledger_set_hook(struct ledger *l, const struct ledger_hook *h);
/* Calls the hook (each a no-op without one, or with change NULL for write and end). */
void *ledger_event_begin(const struct ledger *l, const struct ledger_event *ev, void *change);
int ledger_event_write(const struct ledger *l, struct store_conn *c, const void *change);
void ledger_event_end(const struct ledger *l, void *change, int rc);

#endif
