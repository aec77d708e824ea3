/* ledger_watch — the ledger's periodic duties on the loop thread: hazards past their deadline
 * (超期) are flagged once each, journaled and announced through the outbox in one transaction;
 * the notification is handed to the sender after the commit.
 *
 * Overdue notifications go to the channels of the policies covering priority `critical` for a
 * major hazard (danger_level 1) and `high` for a general one. */
#ifndef DG_LEDGER_WATCH_H
#define DG_LEDGER_WATCH_H

#include <stdint.h>

#include "engine.h"

#define LEDGER_WATCH_OVERDUE_PERIOD_MS 60000

struct ledger_watch;

/* Starts the timer (a first scan right away, then every LEDGER_WATCH_OVERDUE_PERIOD_MS). The
 * engine's config, store and notify are read at each scan, so a reload needs nothing here. */
int ledger_watch_start(struct ledger_watch **out, struct engine *e);

/* Flags the hazards whose deadline is before now_ms, not closed and not flagged yet. Returns
 * how many were submitted (their job commits later), 0 while a previous scan is still being
 * committed, or a negative errno. */
int ledger_watch_overdue(struct ledger_watch *w, int64_t now_ms);

/* Stops the timer; the watch is freed once its handle has closed (the loop must run again).
 * Call before store_close: a scan still being committed completes during store_close. */
void ledger_watch_close(struct ledger_watch *w);

#endif
