/* engine — the loop thread's domain state: point values, rule states and alarms, and the timers
 * that drive them (rule delays, stale sweeps, shelve expiry, history flushes).
 *
 * One sample's path: engine_on_samples (sampleq drain) → point table → rules bound to the point
 * (rules/rule.h) → alarm state machine (rules/alarm.h) → alarm_txn_commit (alarm_txn.h: one store
 * job that writes the alarm row, its journal entry, the hazard change and the outbox rows in a
 * single transaction → after COMMIT, notify_send). Samples go to history (history.h) in batches.
 * Loop thread only. */
#ifndef DG_ENGINE_H
#define DG_ENGINE_H

#include <stdint.h>
#include <uv.h>

#include "alarm.h"
#include "alarm_txn.h"
#include "events.h"
#include "history.h"
#include "ledger.h"
#include "notify.h"
#include "rule.h"
#include "sampleq.h"
#include "store.h"

/* History (samples, history.h) is stored on change and at least every minute while a point
 * reports, and kept this long; older samples are pruned. */
#define ENGINE_HISTORY_MAX_INTERVAL_MS HISTORY_MAX_INTERVAL_MS
#define ENGINE_HISTORY_RETENTION_MS HISTORY_RETENTION_MS

struct point_rt {
  double value;             /* last good value */
  uint8_t quality;          /* enum dg_quality */
  uint8_t has_value;
  int64_t ts_ms;            /* source time of the last sample */
  int64_t received_ms;      /* wall time of the last sample */
  uint64_t samples;
  uint64_t by_quality[DG_Q_UNKNOWN + 1]; /* samples by enum dg_quality (metrics) */
  struct history_mark stored; /* history: last sample written */
  int64_t fresh_ms;         /* loop time of the last good sample (or of start-up) */
};

struct engine_stats {
  uint64_t samples, bad_samples, transitions, commits_failed, history_rows;
  uint64_t rule_evals; /* rules evaluated on samples (one per rule bound to each sample's point) */
};

struct engine {
  uv_loop_t *loop;
  const struct dg_config *cfg;
  uint64_t config_generation; /* bumped whenever cfg is replaced: a freed config's address can recur */
  struct store *store;
  struct ledger *ledger;
  struct notify *notify;
  struct events *events;      /* live event stream (events.h), NULL: none; set by the daemon */

  struct point_rt *points;
  struct rule_state *rules;
  struct alarm *alarms;
  uint32_t *point_rules;      /* rules by point: point_rules[point_rule_off[p] .. off[p+1]) */
  uint32_t *suppress_rules;   /* rules with a suppress_when, evaluated on their point's samples */
  size_t n_suppress;
  uint32_t *point_rule_off;

  int64_t *deadlines;         /* per rule, monotonic ms of a pending delay, 0 none */
  uint32_t *pending;          /* rules with a deadline */
  size_t n_pending;
  uv_timer_t delay_timer;

  struct history history;
  uv_timer_t flush_timer;

  int64_t next_journal_id;
  struct alarm_txn_ctx txn;   /* where transitions are committed (points at the fields here) */
  struct engine_stats stats;
  uv_timer_t shelve_timer;    /* fires at the earliest shelve expiry */
  uv_timer_t stale_timer;     /* sweeps stale rules */
  struct rule_rate *rates;    /* history of the rate rules, pointed to by their rule_state */
  double *expr_values;        /* per point: inputs of expr rules, refreshed before each evaluation */
  uint8_t *expr_quality;
  uint32_t *changed;          /* rules with a transition not yet taken by engine_take_changed */
  size_t n_changed;
  uint8_t *changed_mark;      /* per rule: listed in changed */
};

/* Creates alarm rows for configured rules, restores alarm and rule state from the database. */
int engine_init(struct engine *e, uv_loop_t *loop, const struct dg_config *cfg, struct store *store,
                struct ledger *ledger, struct notify *notify);
/* sampleq drain callback (ud = engine). */
void engine_on_samples(void *ud, const struct dg_sample *s, size_t n);
/* Acknowledges alarm `id`: 1 acked, -ENOENT no such alarm, -EALREADY nothing to ack. */
int engine_ack(struct engine *e, int64_t alarm_id, const char *user, const char *comment);
struct alarm *engine_alarm_by_id(struct engine *e, int64_t id);

/* An operator transition on alarm `id`, journaled with user and comment and committed before
 * it is announced. op: ALARM_EV_ACK, _SHELVE (shelve_ms = duration, comment = the required
 * reason), _UNSHELVE, _OUT_OF_SERVICE, _RETURN_TO_SERVICE or _RESET. Returns 1, -ENOENT (no
 * such alarm), -EALREADY / -EINVAL (not allowed in this state: alarm_refusal says why),
 * -ERANGE (shelve longer than alarm.max_shelve for the alarm's priority, or not positive). */
int engine_operate(struct engine *e, int64_t alarm_id, enum alarm_event op, const char *user, const char *comment,
                   int64_t shelve_ms);
/* The rules that had a transition since the last call (each once; *rules valid until the next
 * transition), for watchers whose work follows what changed (the risk of their units). */
size_t engine_take_changed(struct engine *e, const uint32_t **rules);
/* Writes pending history now (shutdown, tests). */
void engine_flush_history(struct engine *e);
/* Swaps in a new config, keeping point values by point id and alarm/rule state by rule id when
 * the rule's identity (type, point, stages) is unchanged. The old config must stay alive until
 * the store is idle. 0 or negative (then the old config stays in force); -EBUSY while failed
 * transitions wait to be committed again (they borrow the config's strings). */
int engine_reload(struct engine *e, const struct dg_config *cfg);
/* Writes pending history and closes the timers (the loop must run once more). */
void engine_close(struct engine *e);
/* Frees the state, after engine_close and once the store is closed. */
void engine_free(struct engine *e);

#endif
