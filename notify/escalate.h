/* escalate — tiered escalation of alarms to persons (esc_config.h policies).
 *
 * An alarm transition asks escalate_on_alarm what it means: an activation starts an escalation
 * (its first tier told at once), a worse stage jumps to the stage's tier, an acknowledgement,
 * shelve, out-of-service or return to normal stops it (per the policy's stop conditions). The
 * answer — messages to the persons of the tier and the escalation's rows — is written in the
 * transition's own transaction (escalate_write), so an escalation exists exactly when its
 * transition does. A hazard the transition opens starts a hazard escalation (escalate_on_ledger), a quality or stale alarm is chosen a
 * driver_fault policy before an alarm_activate one. Later steps (next tier after a timeout, re-notify, repeats of the last tier)
 * are timed on the loop from the next step time stored on the row, each committed with its
 * messages and journal entry before they are sent; escalate_resume reloads running escalations
 * after a restart, so they go on with their remaining time. Loop thread only. */
#ifndef DG_ESCALATE_H
#define DG_ESCALATE_H

#include <stdint.h>
#include <uv.h>

#include "esc_config.h"
#include "ledger_events.h"
#include "notify.h"
#include "store.h"

struct escalate;
struct esc_change;

/* One alarm transition, as escalation sees it (strings borrowed for the call). */
struct esc_alarm {
  enum esc_event kind;        /* ALARM_ACTIVATE, _ESCALATE, _RTN, _ACK, or ESC_EV_COUNT for none */
  unsigned stop;              /* ESC_STOP_* this transition is (0: none) */
  int64_t alarm_id;
  const struct dg_rule *rule;
  const char *stage;          /* stage name (may be NULL) */
  enum dg_priority priority;
  double value;
  int has_limit;
  double limit;
  int64_t ts_ms;
  const char *hazard_code;    /* a hazard the transition opened or counted (may be NULL) */
  int hazard_opened;          /* the transition opened it: 1 一般, 2 重大 (major) */
  int64_t hazard_id;
  int64_t hazard_deadline_ms;
  const char *hazard_description;
};

/* The current (dynamic) risk colour of unit `unit`, DG_LEVEL_NONE when unknown (then the unit's
 * assessed level is used). */
typedef enum dg_level (*escalate_level_fn)(void *arg, const char *unit);

struct escalate_stats {
  size_t running;
  uint64_t steps, messages;
  int64_t late_max_ms;        /* how late a timed step ran against its due time, worst seen */
  double late_sum_ms;
};

int escalate_init(struct escalate **out, uv_loop_t *loop, const struct dg_config *cfg, struct store *store,
                  struct notify *notify);
void escalate_set_config(struct escalate *x, const struct dg_config *cfg);
/* Where policies' `risk:` filters read a unit's current colour (default: its assessed level). */
void escalate_set_level_source(struct escalate *x, escalate_level_fn fn, void *arg);
/* Reads (or creates) the key acknowledgement links' tokens are derived from (acklink.h); without
 * it a random key serves until the next start. 0 or -errno (then the random key stays). */
int escalate_set_link_key_file(struct escalate *x, const char *path);
/* Loads running escalations and arms their next steps (overdue ones run at once). */
int escalate_resume(struct escalate *x);

/* While the transition is being built: the rows to write with it (NULL: nothing), its messages
 * appended to *msgs (written and sent by the caller with the transition's). */
struct esc_change *escalate_on_alarm(struct escalate *x, const struct esc_alarm *ev, struct notify_msg **msgs);
/* Writer thread, in the transition's transaction. SQLITE_OK or an SQLite error. */
int escalate_write(struct store_conn *c, const struct esc_change *ch);
void escalate_change_free(struct esc_change *ch);

/* A hazard or inspection event (the ledger's hook, ledger_events.h): starts the escalation of the
 * policy for its kind (hazard_opened, major_hazard_opened, hazard_submitted, hazard_overdue; a
 * missed inspection tells the first tier once), and stops the hazard's escalations it moved on
 * from (hazard_moved_on; any once the hazard is closed). Joins ch (NULL: a new change); returns
 * the change or NULL when nothing happens. Its messages are in the change: written with it by
 * escalate_write, sent by escalate_change_done after the commit (rc 0), which frees it. */
struct esc_change *escalate_on_ledger(struct escalate *x, const struct ledger_event *ev, struct esc_change *ch);
void escalate_change_done(struct esc_change *ch, int rc);

/* An acknowledgement link's token: 0 with the alarm and the person it was sent to, -ENOENT when
 * unknown, -ESTALE when expired or already used. The caller acknowledges, then spends the link
 * with escalate_link_used. */
int escalate_link_lookup(struct escalate *x, const char *token, int64_t *alarm_id, char *person, size_t len);
void escalate_link_used(struct escalate *x, const char *token);

/* JSON for the API: running escalations (GET /api/v1/escalations), with the journal of one
 * alarm's escalations when alarm_id > 0; who is on call at at_ms (GET /api/v1/oncall). */
char *escalate_list_json(struct escalate *x, int64_t alarm_id);
char *escalate_oncall_json(struct escalate *x, int64_t at_ms);

void escalate_stats(const struct escalate *x, struct escalate_stats *out);
void escalate_close(struct escalate *x);

#endif
