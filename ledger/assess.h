/* assess — the monthly performance assessment (考核) per person, post or department, computed
 * from the journals (inspection_tasks, hazards, alarm_journal), never entered by hand.
 *
 * Over the local month [from_ms, to_ms) (and never past now):
 * - inspection tasks due in the month (due_ms) and closed, except those the monitoring judged:
 *   done on time (by a person, checked_ms <= due_ms), late (after), missed (未排查). A done task
 *   counts for the person who did it, a missed one for every assignee (the assigned person and
 *   the persons of the assigned posts); a post also counts the tasks assigned to it.
 * - hazards reported (reporter, created in the month, not dismissed as no hazard); rectified on time / overdue (closed
 *   (已验收) in the month by their deadline or after it, for the rectifier, else the assignee,
 *   else the liable person); overdue open (deadline in the month, still open at its end, for
 *   the assignee, else the liable person).
 * - alarms acknowledged (ack journal entries, by the acknowledging person) and the mean time from
 *   the alarm's latest activation to the acknowledgement.
 * - participants: members with at least one done task, report, rectification or acknowledgement;
 *   participation rate = participants / members.
 * A group counts each task, hazard and acknowledgement once. Rank: on-time rate (on time / due;
 * groups without due tasks last), then fewer missed, then more hazards reported, then id.
 * Membership (posts, departments) is the model's in force. Loop thread, reader connection. */
#ifndef DG_ASSESS_H
#define DG_ASSESS_H

#include <stdint.h>

#include "model.h"
#include "store.h"

enum assess_by { ASSESS_PERSON, ASSESS_POST, ASSESS_DEPARTMENT };

struct assess_row {
  const char *id, *name;  /* borrowed from the config */
  int members, participants;
  int due, on_time, late, missed;
  int hazards_reported, rectified_on_time, rectified_overdue, overdue_open;
  int acks;
  int64_t ack_ms_sum;
  int rank;               /* 1-based after assess_rank */
};

struct assess {
  struct assess_row *rows;
  size_t n;
};

/* Fills *out (rows in rank order); 0 or negative errno. assess_free releases it. */
int assess_month(struct store_conn *c, const struct dg_config *cfg, enum assess_by by, int64_t from_ms,
                 int64_t to_ms, struct assess *out);
void assess_free(struct assess *a);

/* "YYYY-MM" → the local month [*from, *to); 0 or -EINVAL. */
int assess_parse_month(const char *s, int64_t *from_ms, int64_t *to_ms);

#endif
