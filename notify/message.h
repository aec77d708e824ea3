/* message — what an alarm transition says to people: the JSON body of its notification (texts
 * in zh-CN and English, site, alarm, point, the plant model around the rule, the hazard it opened
 * or appended to) and the outbox messages (notify_msg) for the channels of the policies its
 * priority matches. Builds only: the caller writes the messages in the transition's transaction
 * and sends them after COMMIT (alarm_txn). Loop thread. */
#ifndef DG_MESSAGE_H
#define DG_MESSAGE_H

#include <stdint.h>

#include "alarm.h"
#include "ledger.h"
#include "model.h"
#include "notify.h"

/* The body of transition tr of alarm a (hc: the ledger change, kind HAZARD_NONE if none) as
 * JSON text; malloc'd, NULL on allocation failure. */
char *message_alarm_body(const struct dg_config *cfg, const struct alarm *a, const struct alarm_transition *tr,
                         const struct hazard_change *hc);

/* Prepends to *list one message per channel (a channel once, whatever the number of matching
 * policies) for an announced transition: an activation, an escalation, a clear, or an alarm
 * back in annunciation (unshelve, return to service, unsuppress) with its condition active.
 * Nothing while the alarm is silenced. ref: "alarm:<id>:journal:<journal_id>". */
void message_alarm_build(struct notify *n, const struct dg_config *cfg, const struct alarm *a,
                         const struct alarm_transition *tr, const struct hazard_change *hc, int64_t journal_id,
                         struct notify_msg **list);

#endif
