#include "alarm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ALARM_N_STATES 8

static const char *const alarm__state_names[ALARM_N_STATES] = {"NORMAL",  "UNACK",   "ACKED",         "RTN_UNACK",
                                                               "LATCHED", "SHELVED", "OUT_OF_SERVICE",
                                                               "SUPPRESSED"};
static const char *const alarm__event_names[] = {"none",    "activate",      "escalate",       "deescalate",
                                                 "clear",   "ack",           "shelve",         "unshelve",
                                                 "out_of_service", "return_to_service", "reset",
                                                 "suppress", "unsuppress"};

const char *alarm_state_name(enum alarm_state s) { return alarm__state_names[s]; }
const char *alarm_event_name(enum alarm_event e) { return alarm__event_names[e]; }

int alarm_state_parse(const char *s)
{
  for (int i = 0; i < ALARM_N_STATES; i++)
    if (strcmp(s, alarm__state_names[i]) == 0) return i;
  return -1;
}

void alarm_init(struct alarm *a, const struct dg_rule *rule, int64_t id)
{
  memset(a, 0, sizeof *a);
  a->id = id;
  a->rule = rule;
  a->state = ALARM_NORMAL;
  a->stage = -1;
}

void alarm_release(struct alarm *a)
{
  free(a->ack_user);
  free(a->ack_comment);
  free(a->shelve_reason);
  a->ack_user = a->ack_comment = a->shelve_reason = NULL;
}

int alarm_is_active(const struct alarm *a) { return a->stage >= 0; }

int alarm_is_silenced(const struct alarm *a)
{
  return a->state == ALARM_SHELVED || a->state == ALARM_OUT_OF_SERVICE || a->state == ALARM_SUPPRESSED;
}

int alarm_state_may_be_active(enum alarm_state s)
{
  return s == ALARM_UNACK || s == ALARM_ACKED || s == ALARM_SHELVED || s == ALARM_OUT_OF_SERVICE ||
         s == ALARM_SUPPRESSED;
}

static void alarm__fill(const struct alarm *a, enum alarm_event ev, enum alarm_state from, int64_t now_ms,
                        struct alarm_transition *tr)
{
  tr->event = ev;
  tr->from = from;
  tr->to = a->state;
  tr->stage = a->stage;
  tr->priority = a->priority;
  tr->value = a->value;
  tr->ts_ms = now_ms;
}

static enum alarm_event alarm__classify(int old_stage, int new_stage)
{
  if (old_stage < 0) return ALARM_EV_ACTIVATE;
  if (new_stage < 0) return ALARM_EV_CLEAR;
  return new_stage > old_stage ? ALARM_EV_ESCALATE : ALARM_EV_DEESCALATE;
}

static enum alarm_state alarm__on_clear(const struct alarm *a)
{
  if (a->rule->latched && (a->state == ALARM_UNACK || a->state == ALARM_ACKED)) return ALARM_LATCHED;
  return a->state == ALARM_ACKED ? ALARM_NORMAL : ALARM_RTN_UNACK;
}

int alarm_on_stage(struct alarm *a, int new_stage, double value, int64_t now_ms, struct alarm_transition *tr)
{
  if (new_stage == a->stage) return 0;
  enum alarm_state from = a->state;
  enum alarm_event ev = alarm__classify(a->stage, new_stage);
  int silenced = alarm_is_silenced(a);
  a->value = value;
  a->stage = new_stage;
  switch (ev) {
  case ALARM_EV_ACTIVATE:
    a->first_active_ms = a->last_active_ms = now_ms;
    a->activations++;
    a->priority = a->rule->stages[new_stage].priority;
    if (!silenced) a->state = ALARM_UNACK;
    break;
  case ALARM_EV_ESCALATE:
    a->last_active_ms = now_ms;
    a->priority = a->rule->stages[new_stage].priority;
    if (!silenced) a->state = ALARM_UNACK;
    break;
  case ALARM_EV_DEESCALATE:
    a->priority = a->rule->stages[new_stage].priority;
    break;
  case ALARM_EV_CLEAR:
    a->cleared_ms = now_ms;
    if (!silenced) a->state = alarm__on_clear(a);
    break;
  default:
    break;
  }
  alarm__fill(a, ev, from, now_ms, tr);
  return 1;
}

static int alarm__set_ack(struct alarm *a, const char *user, const char *comment, int64_t now_ms)
{
  char *u = strdup(user), *c = comment ? strdup(comment) : NULL;
  if (!u || (comment && !c)) {
    free(u);
    free(c);
    return -ENOMEM;
  }
  free(a->ack_user);
  free(a->ack_comment);
  a->ack_user = u;
  a->ack_comment = c;
  a->ack_ms = now_ms;
  return 0;
}

int alarm_ack(struct alarm *a, const char *user, const char *comment, int64_t now_ms, struct alarm_transition *tr)
{
  enum alarm_state from = a->state, to;
  if (from == ALARM_UNACK) to = ALARM_ACKED;
  else if (from == ALARM_RTN_UNACK) to = ALARM_NORMAL;
  else return -EALREADY;
  int rc = alarm__set_ack(a, user, comment, now_ms);
  if (rc) return rc;
  a->state = to;
  alarm__fill(a, ALARM_EV_ACK, from, now_ms, tr);
  return 1;
}

/* The state the condition implies once an alarm is annunciated again. */
static enum alarm_state alarm__resume_state(const struct alarm *a)
{
  if (a->suppressed) return ALARM_SUPPRESSED;
  return a->stage >= 0 ? ALARM_UNACK : ALARM_NORMAL;
}

int alarm_set_suppressed(struct alarm *a, int holds, int64_t now_ms, struct alarm_transition *tr)
{
  holds = holds != 0;
  if (holds == a->suppressed) return 0;
  a->suppressed = (uint8_t)holds;
  if (a->state == ALARM_SHELVED || a->state == ALARM_OUT_OF_SERVICE) return 0;
  enum alarm_state from = a->state;
  a->state = alarm__resume_state(a);
  alarm__fill(a, holds ? ALARM_EV_SUPPRESS : ALARM_EV_UNSUPPRESS, from, now_ms, tr);
  return 1;
}

int alarm_shelve(struct alarm *a, const char *user, const char *reason, int64_t until_ms, int64_t now_ms,
                 struct alarm_transition *tr)
{
  if (a->state == ALARM_SHELVED) return -EALREADY;
  if (a->state == ALARM_OUT_OF_SERVICE || !reason || !reason[0] || until_ms <= now_ms) return -EINVAL;
  char *r = strdup(reason);
  if (!r) return -ENOMEM;
  enum alarm_state from = a->state;
  free(a->shelve_reason);
  a->shelve_reason = r;
  a->shelved_until_ms = until_ms;
  a->state = ALARM_SHELVED;
  alarm__fill(a, ALARM_EV_SHELVE, from, now_ms, tr);
  return 1;
}

static void alarm__end_shelve(struct alarm *a)
{
  free(a->shelve_reason);
  a->shelve_reason = NULL;
  a->shelved_until_ms = 0;
}

int alarm_unshelve(struct alarm *a, const char *user, int64_t now_ms, struct alarm_transition *tr)
{
  if (a->state != ALARM_SHELVED) return -EINVAL;
  alarm__end_shelve(a);
  a->state = alarm__resume_state(a);
  alarm__fill(a, ALARM_EV_UNSHELVE, ALARM_SHELVED, now_ms, tr);
  return 1;
}

int alarm_out_of_service(struct alarm *a, const char *user, int64_t now_ms, struct alarm_transition *tr)
{
  if (a->state == ALARM_OUT_OF_SERVICE) return -EALREADY;
  enum alarm_state from = a->state;
  alarm__end_shelve(a);
  a->state = ALARM_OUT_OF_SERVICE;
  alarm__fill(a, ALARM_EV_OUT_OF_SERVICE, from, now_ms, tr);
  return 1;
}

int alarm_return_to_service(struct alarm *a, const char *user, int64_t now_ms, struct alarm_transition *tr)
{
  if (a->state != ALARM_OUT_OF_SERVICE) return -EINVAL;
  a->state = alarm__resume_state(a);
  alarm__fill(a, ALARM_EV_RETURN_TO_SERVICE, ALARM_OUT_OF_SERVICE, now_ms, tr);
  return 1;
}

int alarm_reset(struct alarm *a, const char *user, const char *comment, int64_t now_ms,
                struct alarm_transition *tr)
{
  if (a->state != ALARM_LATCHED || a->stage >= 0) return -EINVAL;
  int rc = alarm__set_ack(a, user, comment, now_ms);
  if (rc) return rc;
  a->state = ALARM_NORMAL;
  alarm__fill(a, ALARM_EV_RESET, ALARM_LATCHED, now_ms, tr);
  return 1;
}

const char *alarm_refusal(const struct alarm *a, enum alarm_event ev)
{
  switch (ev) {
  case ALARM_EV_ACK: return "nothing to acknowledge: the alarm is not unacknowledged";
  case ALARM_EV_SHELVE:
    if (a->state == ALARM_SHELVED) return "the alarm is already shelved";
    if (a->state == ALARM_OUT_OF_SERVICE) return "an alarm out of service cannot be shelved";
    return "a shelve needs a reason and a time in the future";
  case ALARM_EV_UNSHELVE: return "the alarm is not shelved";
  case ALARM_EV_OUT_OF_SERVICE: return "the alarm is already out of service";
  case ALARM_EV_RETURN_TO_SERVICE: return "the alarm is not out of service";
  case ALARM_EV_RESET: return "only a latched alarm whose condition is normal can be reset";
  default: return "transition not allowed";
  }
}
