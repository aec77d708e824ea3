/* alarm — ISA-18.2 / IEC 62682 alarm state machine of one rule. Pure: the caller passes time,
 * persists the transition, and only then announces it.
 *
 *   NORMAL ──activate──► UNACK ──ack──► ACKED
 *     ▲                   │  ▲            │
 *     │ ack            clear  └─escalate──┤ (a more severe stage needs a new ack)
 *     │                   ▼               │ clear
 *     └────────────── RTN_UNACK           ▼
 *                                       NORMAL
 */
#ifndef DG_ALARM_H
#define DG_ALARM_H

#include <stdint.h>

#include "model.h"

enum alarm_state { ALARM_NORMAL = 0, ALARM_UNACK, ALARM_ACKED, ALARM_RTN_UNACK };

enum alarm_event {
  ALARM_EV_NONE = 0,
  ALARM_EV_ACTIVATE,   /* normal → a stage */
  ALARM_EV_ESCALATE,   /* to a more severe stage while active */
  ALARM_EV_DEESCALATE, /* to a less severe stage, still active */
  ALARM_EV_CLEAR,      /* return to normal */
  ALARM_EV_ACK,
};

const char *alarm_state_name(enum alarm_state s); /* "NORMAL", "UNACK", "ACKED", "RTN_UNACK" */
int alarm_state_parse(const char *s);             /* -1 if unknown */
const char *alarm_event_name(enum alarm_event e); /* "activate", ... */

/* The alarm of one rule; owned by the loop thread. Strings are owned by the alarm. */
struct alarm {
  int64_t id;
  const struct dg_rule *rule;
  enum alarm_state state;
  int stage;                  /* active stage index, -1 when not active */
  enum dg_priority priority;  /* priority of the active (or last active) stage */
  double value;               /* value at the last transition */
  int64_t first_active_ms;    /* start of the current/last activation */
  int64_t last_active_ms;     /* last activation or escalation */
  int64_t cleared_ms;
  int64_t ack_ms;
  char *ack_user;
  char *ack_comment;
  uint32_t activations;
};

/* What a transition changed, for the journal. */
struct alarm_transition {
  enum alarm_event event;
  enum alarm_state from, to;
  int stage;
  enum dg_priority priority;
  double value;
  int64_t ts_ms;
};

void alarm_init(struct alarm *a, const struct dg_rule *rule, int64_t id);
void alarm_release(struct alarm *a);
int alarm_is_active(const struct alarm *a);

/* The rule's effective stage changed to new_stage (RULE_NORMAL = -1 for normal). Fills *tr and
 * returns 1 on a transition, 0 if nothing changed. */
int alarm_on_stage(struct alarm *a, int new_stage, double value, int64_t now_ms, struct alarm_transition *tr);

/* Operator acknowledgement. Returns 1 and fills *tr, or -EALREADY when there is nothing to
 * acknowledge (NORMAL or ACKED). user must not be NULL. */
int alarm_ack(struct alarm *a, const char *user, const char *comment, int64_t now_ms, struct alarm_transition *tr);

#endif
