#include "alarm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const alarm__state_names[] = {"NORMAL", "UNACK", "ACKED", "RTN_UNACK"};
static const char *const alarm__event_names[] = {"none", "activate", "escalate", "deescalate", "clear", "ack"};

const char *alarm_state_name(enum alarm_state s) { return alarm__state_names[s]; }
const char *alarm_event_name(enum alarm_event e) { return alarm__event_names[e]; }

int alarm_state_parse(const char *s)
{
  for (int i = 0; i < 4; i++)
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
  a->ack_user = a->ack_comment = NULL;
}

int alarm_is_active(const struct alarm *a) { return a->state == ALARM_UNACK || a->state == ALARM_ACKED; }

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

int alarm_on_stage(struct alarm *a, int new_stage, double value, int64_t now_ms, struct alarm_transition *tr)
{
  if (new_stage == a->stage) return 0;
  enum alarm_state from = a->state;
  enum alarm_event ev = alarm__classify(a->stage, new_stage);
  a->value = value;
  a->stage = new_stage;
  switch (ev) {
  case ALARM_EV_ACTIVATE:
    a->first_active_ms = a->last_active_ms = now_ms;
    a->activations++;
    a->priority = a->rule->stages[new_stage].priority;
    a->state = ALARM_UNACK;
    break;
  case ALARM_EV_ESCALATE:
    a->last_active_ms = now_ms;
    a->priority = a->rule->stages[new_stage].priority;
    a->state = ALARM_UNACK;
    break;
  case ALARM_EV_DEESCALATE:
    a->priority = a->rule->stages[new_stage].priority;
    break;
  case ALARM_EV_CLEAR:
    a->cleared_ms = now_ms;
    a->state = a->state == ALARM_ACKED ? ALARM_NORMAL : ALARM_RTN_UNACK;
    break;
  default:
    break;
  }
  alarm__fill(a, ev, from, now_ms, tr);
  return 1;
}

int alarm_ack(struct alarm *a, const char *user, const char *comment, int64_t now_ms, struct alarm_transition *tr)
{
  enum alarm_state from = a->state;
  if (from == ALARM_UNACK) a->state = ALARM_ACKED;
  else if (from == ALARM_RTN_UNACK) a->state = ALARM_NORMAL;
  else return -EALREADY;
  free(a->ack_user);
  free(a->ack_comment);
  a->ack_user = strdup(user);
  a->ack_comment = comment ? strdup(comment) : NULL;
  a->ack_ms = now_ms;
  alarm__fill(a, ALARM_EV_ACK, from, now_ms, tr);
  return 1;
}
