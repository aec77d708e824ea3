/* alarm — ISA-18.2 / IEC 62682 alarm state machine of one rule. Pure: the caller passes time,
 * persists the transition, and only then announces it.
 *
 *   NORMAL ──activate──► UNACK ──ack──► ACKED
 *     ▲                   │  ▲            │
 *     │ ack            clear  └─escalate──┤ (a more severe stage needs a new ack)
 *     │                   ▼               │ clear
 *     └────────────── RTN_UNACK           ▼
 *                                       NORMAL
 *
 * A latched rule (rule->latched) does not return to NORMAL by itself: clearing an UNACK or ACKED
 * alarm moves it to LATCHED, which only an operator reset leaves. SHELVED (with an expiry) and
 * OUT_OF_SERVICE take an alarm out of annunciation: the condition is still followed (stage,
 * value, activations) and journaled, but the state stays until unshelve / return to service,
 * which put the alarm in the state its condition implies (UNACK if active, else NORMAL).
 * SUPPRESSED (suppression by design, the rule's suppress_when holds) silences the same way; when
 * the suppression ends the alarm takes the state its condition implies. A suppression that
 * starts or ends while shelved or out of service only changes a->suppressed: unshelve and return
 * to service then resume into SUPPRESSED.
 */
#ifndef DG_ALARM_H
#define DG_ALARM_H

#include <stdint.h>

#include "model.h"

enum alarm_state {
  ALARM_NORMAL = 0, ALARM_UNACK, ALARM_ACKED, ALARM_RTN_UNACK,
  ALARM_LATCHED, ALARM_SHELVED, ALARM_OUT_OF_SERVICE, ALARM_SUPPRESSED
};

enum alarm_event {
  ALARM_EV_NONE = 0,
  ALARM_EV_ACTIVATE,   /* normal → a stage */
  ALARM_EV_ESCALATE,   /* to a more severe stage while active */
  ALARM_EV_DEESCALATE, /* to a less severe stage, still active */
  ALARM_EV_CLEAR,      /* return to normal */
  ALARM_EV_ACK,
  ALARM_EV_SHELVE,
  ALARM_EV_UNSHELVE,          /* by an operator or on expiry (actor "system") */
  ALARM_EV_OUT_OF_SERVICE,
  ALARM_EV_RETURN_TO_SERVICE,
  ALARM_EV_RESET,             /* LATCHED → NORMAL */
  ALARM_EV_SUPPRESS,          /* the rule's suppress_when started to hold (actor "system") */
  ALARM_EV_UNSUPPRESS,        /* it stopped holding */
};

/* "NORMAL", "UNACK", "ACKED", "RTN_UNACK", "LATCHED", "SHELVED", "OUT_OF_SERVICE", "SUPPRESSED" */
const char *alarm_state_name(enum alarm_state s);
int alarm_state_parse(const char *s);             /* -1 if unknown */
const char *alarm_event_name(enum alarm_event e); /* "activate", ..., "reset", "suppress", "unsuppress" */

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
  int64_t shelved_until_ms;   /* wall time a shelve expires, 0 when not shelved */
  char *shelve_reason;
  uint8_t suppressed;         /* the rule's suppress_when holds */
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
/* The condition is active (a stage holds), whatever the annunciation state. */
int alarm_is_active(const struct alarm *a);
/* Not annunciated: shelved, out of service or suppressed (still evaluated and journaled). */
int alarm_is_silenced(const struct alarm *a);
/* Whether a stored state carries an active stage (restore after restart). */
int alarm_state_may_be_active(enum alarm_state s);

/* The rule's effective stage changed to new_stage (RULE_NORMAL = -1 for normal). Fills *tr and
 * returns 1 on a transition, 0 if nothing changed. */
int alarm_on_stage(struct alarm *a, int new_stage, double value, int64_t now_ms, struct alarm_transition *tr);

/* Operator acknowledgement. Returns 1 and fills *tr, or -EALREADY when there is nothing to
 * acknowledge (NORMAL or ACKED). user must not be NULL. */
int alarm_ack(struct alarm *a, const char *user, const char *comment, int64_t now_ms, struct alarm_transition *tr);

/* Operator transitions. Each returns 1 and fills *tr, or a negative errno with the alarm
 * unchanged: -EALREADY when already in the target state, -EINVAL when the transition is not
 * allowed from the current state (see alarm_refusal for the reason). user must not be NULL. */

/* Any state but SHELVED and OUT_OF_SERVICE → SHELVED until until_ms (> now_ms). reason required. */
int alarm_shelve(struct alarm *a, const char *user, const char *reason, int64_t until_ms, int64_t now_ms,
                 struct alarm_transition *tr);
/* SHELVED → UNACK or NORMAL. Also used on expiry with user "system". */
int alarm_unshelve(struct alarm *a, const char *user, int64_t now_ms, struct alarm_transition *tr);
/* Any state but OUT_OF_SERVICE → OUT_OF_SERVICE (a shelve in force ends). */
int alarm_out_of_service(struct alarm *a, const char *user, int64_t now_ms, struct alarm_transition *tr);
/* OUT_OF_SERVICE → UNACK or NORMAL. */
int alarm_return_to_service(struct alarm *a, const char *user, int64_t now_ms, struct alarm_transition *tr);
/* LATCHED (condition normal) → NORMAL; also records the user as the acknowledger. */
int alarm_reset(struct alarm *a, const char *user, const char *comment, int64_t now_ms,
                struct alarm_transition *tr);

/* The rule's suppress_when holds (1) or not (0). Returns 1 and fills *tr when the state changed
 * (NORMAL/UNACK/ACKED/RTN_UNACK/LATCHED ↔ SUPPRESSED), 0 otherwise. */
int alarm_set_suppressed(struct alarm *a, int holds, int64_t now_ms, struct alarm_transition *tr);

/* Why `ev` is refused in the alarm's current state, for a 409 body. */
const char *alarm_refusal(const struct alarm *a, enum alarm_event ev);

#endif
