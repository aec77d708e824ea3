/* hazard_flow — the closed-loop rules of a hazard (隐患闭环), free of I/O.
 *
 * States: 整改中 (0) → submit → 待验收 (1) → verify → 已验收 (9, closed); reject: 1 → 0.
 * rectify records the rectification while the hazard is 整改中. A manual report enters 整改中
 * directly (any person may report; the reporter is recorded), or 审核中 (-1) when the site
 * reviews reports (ledger.review_reports). Hazards from the monitoring (dangerSrc 9) and from
 * inspection records never enter 审核中.
 * Review: confirm (-1 → 0) or dismiss (-1 stays -1, closed as not a hazard: `dismissed`). The
 * reviewer must differ from the reporter (the engineer or admin role is checked by the API).
 * Nothing else applies to a hazard in 审核中, and nothing at all to a dismissed one.
 * A hazard in 审核中 is not yet a hazard: it does not raise its unit's risk level, is not
 * escalated as overdue and is not exported until confirmed; a dismissed one is closed and
 * counted nowhere.
 * Rules: submit needs a recorded rectification (measures and rectifier); a major hazard
 * (danger_level 1) needs the five-in-place fields (责任 liable person, 措施 measures, 资金 cost,
 * 时限 deadline, 预案 contingency plan) before it leaves 整改中 and an approved expert review
 * before it is accepted (govern.h); the verifier (who verifies or rejects) must differ from the
 * rectifier.
 * Rights (hazard_flow_may): who may act at all comes from the person's roles (hazard_rights);
 * the actor is always the person of the request. Naming another person as rectifier is an
 * assignment (HAZARD_ACT_ASSIGN): the assignee must then rectify as themselves, and only a
 * recorded rectifier's own rectification lets the hazard be submitted. */
#ifndef DG_HAZARD_FLOW_H
#define DG_HAZARD_FLOW_H

#include <stddef.h>
#include <stdint.h>

enum hazard_action {
  HAZARD_ACT_RECTIFY = 1,
  HAZARD_ACT_SUBMIT,
  HAZARD_ACT_VERIFY,
  HAZARD_ACT_REJECT,
  HAZARD_ACT_CONFIRM,
  HAZARD_ACT_DISMISS,
  HAZARD_ACT_ASSIGN,
};

/* What a person's roles allow on hazards and inspection tasks (README "Roles and rights"). */
enum hazard_right {
  HAZARD_RIGHT_REPORT = 1,        /* report, complete inspections, upload photos; rectify when assigned */
  HAZARD_RIGHT_MANAGE = 2,        /* rectify, assign and submit any hazard */
  HAZARD_RIGHT_REVIEW = 4,        /* confirm or dismiss a report in 审核中 */
  HAZARD_RIGHT_VERIFY = 8,        /* verify or reject a general hazard (一般) */
  HAZARD_RIGHT_VERIFY_MAJOR = 16, /* record the expert review and the stop flag of a major hazard */
  HAZARD_RIGHT_ACCEPT_MAJOR = 32, /* verify or reject a major hazard (重大): the principal or a delegate */
};

/* The facts of one hazard the rules look at (strings NULL or "" when not filled). */
struct hazard_facts {
  int state;                 /* -1, 0, 1, 9 */
  int dismissed;             /* with state -1: closed as not a hazard */
  const char *reporter;
  int danger_level;          /* 0 一般, 1 重大 */
  const char *liable_person;
  const char *rectify_measures;
  int has_cost;
  int64_t deadline_ms;       /* 0: none */
  const char *contingency_plan;
  const char *rectifier;
  const char *assignee;      /* named to rectify by someone else; NULL when none */
  int expert_approved;       /* an approved expert review (专家论证) is recorded (govern.h) */
};

/* "rectify", "submit", "verify", "reject", "confirm", "dismiss", "assign" */
const char *hazard_action_name(enum hazard_action a);
int hazard_action_parse(const char *s);               /* name → action, -1 if unknown */

/* Checks whether `actor` may apply `a` to a hazard with facts *h. Returns 0 and the state after
 * the action in *to, or -EPERM with a reason in `why` (answered as 409). */
int hazard_flow_check(const struct hazard_facts *h, enum hazard_action a, const char *actor, int *to, char *why,
                      size_t whylen);

/* The rights of a person with these roles (an OR of enum hazard_right): operator REPORT;
 * workshop_director REPORT, MANAGE, VERIFY; engineer also REVIEW; safety_director and admin
 * also VERIFY_MAJOR; principal also ACCEPT_MAJOR. Other role names (viewer, job titles) give
 * none. A delegate of the principal (ledger.principal_delegates) gets VERIFY_MAJOR and
 * ACCEPT_MAJOR from the API, not from a role. */
unsigned hazard_rights(char *const *roles, size_t n_roles);

/* Checks whether a person with `rights` may apply `a` to a hazard with facts *h at all (before
 * hazard_flow_check): rectify by the assignee, the liable person or MANAGE; assign by the
 * liable person or MANAGE; submit by those or the rectifier; confirm/dismiss REVIEW; verify and
 * reject VERIFY, or ACCEPT_MAJOR for a major hazard. 0, or -EACCES with the reason (403). */
int hazard_flow_may(const struct hazard_facts *h, enum hazard_action a, const char *actor, unsigned rights,
                    char *why, size_t whylen);

/* The state a newly registered hazard enters: 审核中 (-1) for a manual report while reports are
 * reviewed, else 整改中 (0). `manual` is 0 for the monitoring and inspection records. */
int hazard_flow_initial_state(int review_reports, int manual, int danger_src);

/* Writes the missing five-in-place field names, comma separated, into out; returns how many
 * are missing. */
int hazard_flow_missing_five(const struct hazard_facts *h, char *out, size_t outlen);

#endif
