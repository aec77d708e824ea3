/* ledger_watch — the ledger's periodic duties on the loop thread: hazards past their deadline
 * (超期) are flagged once each, journaled and announced through the outbox in one transaction;
 * the notification is handed to the sender after the commit.
 *
 * Overdue notifications go to the channels of the policies covering priority `critical` for a
 * major hazard (danger_level 1) and `high` for a general one.
 *
 * The dynamic risk level of each unit is tracked and its changes recorded (risk_level_history). */
#ifndef DG_LEDGER_WATCH_H
#define DG_LEDGER_WATCH_H

#include <stdint.h>

#include "engine.h"

#define LEDGER_WATCH_OVERDUE_PERIOD_MS 60000
#define LEDGER_WATCH_RISK_PERIOD_MS 1000
#define LEDGER_WATCH_EVIDENCE_GRACE_MS 1000

struct ledger_watch;

/* Starts the timers (a first overdue scan right away, then every LEDGER_WATCH_OVERDUE_PERIOD_MS). The
 * engine's config, store and notify are read at each scan, so a reload needs nothing here. */
int ledger_watch_start(struct ledger_watch **out, struct engine *e);

/* Flags the hazards whose deadline is before now_ms, not closed and not flagged yet. Returns
 * how many were submitted (their job commits later), 0 while a previous scan is still being
 * committed, or a negative errno. */
int ledger_watch_overdue(struct ledger_watch *w, int64_t now_ms);

/* Evaluates the dynamic risk of every unit (risk.h) and records each unit whose current level
 * differs from the last recorded one (or, never recorded, from its assessed level) in
 * risk_level_history. Runs after alarm transitions and ledger changes once the store has
 * committed them, and every LEDGER_WATCH_RISK_PERIOD_MS. Returns how many changes were
 * submitted, or a negative errno. */
int ledger_watch_risk(struct ledger_watch *w, int64_t now_ms);

/* The last recorded current level of unit `unit` (its dynamic colour), or DG_LEVEL_NONE when
 * none was recorded (the unit is at its assessed level). */
enum dg_level ledger_watch_level(const struct ledger_watch *w, const char *unit);

/* Creates, for each measure, the task of the period that contains now_ms when it does not exist
 * yet (inspect.h: the measure's check_cycle, else the cycle by the level of its event; periods
 * counted from the first task of the measure's current cycle, starting at local midnight (a
 * changed cycle starts that day, or the next when that day has a task of the old one); with work_days
 * trimmed to the site calendar's work days, no task on a day off). The whole pass at once
 * (task_pass.h); the overdue timer runs the same pass TASK_PASS_SLICE measures per loop turn.
 * Returns how many tasks were submitted, or a negative errno. */
int ledger_watch_inspections(struct ledger_watch *w, int64_t now_ms);

/* Closes the pending tasks whose period has ended (due_ms <= now_ms). A task of a measure
 * monitored automatically (data_src 1) is judged from the monitoring (evidence.h) once
 * LEDGER_WATCH_EVIDENCE_GRACE_MS plus HISTORY_LOG_SLICES + 2 history flushes have passed
 * since its due time (the period's last samples are in sample_rows by then, history.h): 正常
 * or 存在隐患 with checker and evidence "monitoring". Any other task, and a monitored one
 * without usable data, is marked 未排查 (check_status 2, checker and evidence "system") and
 * announced once through the outbox, in the same transaction, to the policies covering the
 * priority matching the level of the measure's event (red critical, orange high, yellow medium,
 * blue low). Runs with the overdue scan. The evidence is read on the store's read lane
 * (store_submit_read); the commit is submitted when it is done: wait with store_wait_reads,
 * then store_wait_idle.
 * Returns how many were submitted, 0 while a previous pass is being judged or committed, or a
 * negative errno. */
int ledger_watch_missed(struct ledger_watch *w, int64_t now_ms);

/* Stops the timers; the watch is freed once its handle has closed (the loop must run again).
 * Call before store_close: a scan still being committed completes during store_close. */
void ledger_watch_close(struct ledger_watch *w);

#endif
