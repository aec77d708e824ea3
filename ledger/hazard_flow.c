#include "hazard_flow.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ledger.h"

static const char *const hazard_flow__names[] = {NULL, "rectify", "submit", "verify", "reject", "confirm", "dismiss",
                                                     "assign"};

const char *hazard_action_name(enum hazard_action a)
{
  return a >= HAZARD_ACT_RECTIFY && a <= HAZARD_ACT_ASSIGN ? hazard_flow__names[a] : "unknown";
}

int hazard_action_parse(const char *s)
{
  for (int a = HAZARD_ACT_RECTIFY; s && a <= HAZARD_ACT_ASSIGN; a++)
    if (strcmp(s, hazard_flow__names[a]) == 0) return a;
  return -1;
}

static int hazard_flow__filled(const char *s) { return s && s[0]; }

static void hazard_flow__append(char *out, size_t outlen, int *n, const char *name)
{
  size_t used = strlen(out);
  if (used < outlen) snprintf(out + used, outlen - used, "%s%s", *n ? ", " : "", name);
  (*n)++;
}

int hazard_flow_missing_five(const struct hazard_facts *h, char *out, size_t outlen)
{
  int n = 0;
  if (outlen) out[0] = '\0';
  if (!hazard_flow__filled(h->liable_person)) hazard_flow__append(out, outlen, &n, "liable_person");
  if (!hazard_flow__filled(h->rectify_measures)) hazard_flow__append(out, outlen, &n, "rectify_measures");
  if (!h->has_cost) hazard_flow__append(out, outlen, &n, "cost");
  if (!h->deadline_ms) hazard_flow__append(out, outlen, &n, "deadline_ms");
  if (!hazard_flow__filled(h->contingency_plan)) hazard_flow__append(out, outlen, &n, "contingency_plan");
  return n;
}

/* Writes the reason into why and returns rc (-EPERM: the closed loop forbids it, 409; -EACCES:
 * the person's rights do not reach, 403). */
static int hazard_flow__why(int rc, char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int hazard_flow__why(int rc, char *why, size_t whylen, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, whylen, fmt, ap);
  va_end(ap);
  return rc;
}

static const char *hazard_flow__state_name(int s)
{
  switch (s) {
  case HAZARD_REVIEWING: return "审核中 (-1)";
  case HAZARD_RECTIFYING: return "整改中 (0)";
  case HAZARD_PENDING_ACCEPTANCE: return "待验收 (1)";
  case HAZARD_ACCEPTED: return "已验收 (9)";
  default: return "unknown";
  }
}

static int hazard_flow__leave_rectifying(const struct hazard_facts *h, char *why, size_t whylen)
{
  if (h->danger_level == 1) {
    char missing[128];
    if (hazard_flow_missing_five(h, missing, sizeof missing))
      return hazard_flow__why(-EPERM, why, whylen, "major hazard: five-in-place fields missing: %s", missing);
  }
  if (!hazard_flow__filled(h->rectify_measures) || !hazard_flow__filled(h->rectifier))
    return hazard_flow__why(-EPERM, why, whylen, "no rectification recorded (rectify_measures and rectifier)");
  return 0;
}

int hazard_flow_initial_state(int review_reports, int manual, int danger_src)
{
  return review_reports && manual && danger_src != HAZARD_SRC_MEASURE_FAILED ? HAZARD_REVIEWING : HAZARD_RECTIFYING;
}

/* confirm / dismiss a manual report in 审核中. */
static int hazard_flow__review(const struct hazard_facts *h, enum hazard_action a, const char *actor, int *to,
                               char *why, size_t whylen)
{
  if (h->state != HAZARD_REVIEWING)
    return hazard_flow__why(-EPERM, why, whylen, "%s needs state %s, hazard is %s", hazard_action_name(a),
                             hazard_flow__state_name(HAZARD_REVIEWING), hazard_flow__state_name(h->state));
  if (hazard_flow__filled(h->reporter) && actor && strcmp(actor, h->reporter) == 0)
    return hazard_flow__why(-EPERM, why, whylen, "the reviewer must differ from the reporter (%s)", h->reporter);
  *to = a == HAZARD_ACT_CONFIRM ? HAZARD_RECTIFYING : HAZARD_REVIEWING;
  return 0;
}

int hazard_flow_check(const struct hazard_facts *h, enum hazard_action a, const char *actor, int *to, char *why,
                      size_t whylen)
{
  int need = a == HAZARD_ACT_RECTIFY || a == HAZARD_ACT_SUBMIT || a == HAZARD_ACT_ASSIGN ? HAZARD_RECTIFYING
                                                                                       : HAZARD_PENDING_ACCEPTANCE;
  if (a < HAZARD_ACT_RECTIFY || a > HAZARD_ACT_ASSIGN) return hazard_flow__why(-EPERM, why, whylen, "unknown action");
  if (h->state == HAZARD_REVIEWING && h->dismissed)
    return hazard_flow__why(-EPERM, why, whylen, "%s: the report was dismissed as not a hazard (已撤销); it is closed",
                             hazard_action_name(a));
  if (a == HAZARD_ACT_CONFIRM || a == HAZARD_ACT_DISMISS) return hazard_flow__review(h, a, actor, to, why, whylen);
  if (h->state == HAZARD_REVIEWING)
    return hazard_flow__why(-EPERM, why, whylen, "%s: the hazard is awaiting confirmation (审核中); an engineer confirms it"
                             " first", hazard_action_name(a));
  if (h->state != need)
    return hazard_flow__why(-EPERM, why, whylen, "%s needs state %s, hazard is %s", hazard_action_name(a),
                             hazard_flow__state_name(need), hazard_flow__state_name(h->state));
  switch (a) {
  case HAZARD_ACT_RECTIFY:
  case HAZARD_ACT_ASSIGN: *to = HAZARD_RECTIFYING; return 0;
  case HAZARD_ACT_SUBMIT:
    if (hazard_flow__leave_rectifying(h, why, whylen)) return -EPERM;
    *to = HAZARD_PENDING_ACCEPTANCE;
    return 0;
  default:
    if (hazard_flow__filled(h->rectifier) && actor && strcmp(actor, h->rectifier) == 0)
      return hazard_flow__why(-EPERM, why, whylen, "the verifier must differ from the rectifier (%s)", h->rectifier);
    if (a == HAZARD_ACT_VERIFY && h->danger_level == 1 && !h->expert_approved)
      return hazard_flow__why(-EPERM, why, whylen, "major hazard: no approved expert review (专家论证) recorded;"
                              " POST /api/v1/hazards/{id}/expert-review first");
    *to = a == HAZARD_ACT_VERIFY ? HAZARD_ACCEPTED : HAZARD_RECTIFYING;
    return 0;
  }
}

/* ---- rights ---------------------------------------------------------------------------------- */

static const struct {
  const char *role;
  unsigned rights;
} hazard_flow__roles[] = {
  {"operator", HAZARD_RIGHT_REPORT},
  {"workshop_director", HAZARD_RIGHT_REPORT | HAZARD_RIGHT_MANAGE | HAZARD_RIGHT_VERIFY},
  {"engineer", HAZARD_RIGHT_REPORT | HAZARD_RIGHT_MANAGE | HAZARD_RIGHT_REVIEW | HAZARD_RIGHT_VERIFY},
  {"safety_director", HAZARD_RIGHT_REPORT | HAZARD_RIGHT_MANAGE | HAZARD_RIGHT_REVIEW | HAZARD_RIGHT_VERIFY |
                        HAZARD_RIGHT_VERIFY_MAJOR},
  {"principal", HAZARD_RIGHT_REPORT | HAZARD_RIGHT_MANAGE | HAZARD_RIGHT_REVIEW | HAZARD_RIGHT_VERIFY |
                  HAZARD_RIGHT_VERIFY_MAJOR | HAZARD_RIGHT_ACCEPT_MAJOR},
  {"admin", HAZARD_RIGHT_REPORT | HAZARD_RIGHT_MANAGE | HAZARD_RIGHT_REVIEW | HAZARD_RIGHT_VERIFY |
              HAZARD_RIGHT_VERIFY_MAJOR},
};

unsigned hazard_rights(char *const *roles, size_t n_roles)
{
  unsigned r = 0;
  for (size_t i = 0; i < n_roles; i++)
    for (size_t k = 0; k < sizeof hazard_flow__roles / sizeof hazard_flow__roles[0]; k++)
      if (strcmp(roles[i], hazard_flow__roles[k].role) == 0) r |= hazard_flow__roles[k].rights;
  return r;
}

static int hazard_flow__is(const char *who, const char *actor)
{
  return hazard_flow__filled(who) && actor && strcmp(who, actor) == 0;
}

static const char *hazard_flow__or_none(const char *s) { return hazard_flow__filled(s) ? s : "none"; }

int hazard_flow_may(const struct hazard_facts *h, enum hazard_action a, const char *actor, unsigned rights,
                    char *why, size_t whylen)
{
  const char *name = hazard_action_name(a);
  int assigned = hazard_flow__is(h->assignee, actor), liable = hazard_flow__is(h->liable_person, actor);
  int manage = (rights & HAZARD_RIGHT_MANAGE) != 0;
  if (!(rights & HAZARD_RIGHT_REPORT))
    return hazard_flow__why(-EACCES, why, whylen, "%s: %s has no role that may act on hazards", name, actor);
  switch (a) {
  case HAZARD_ACT_RECTIFY:
    if (manage || assigned || liable) return 0;
    return hazard_flow__why(-EACCES, why, whylen, "rectify: only the assignee (%s), the liable person (%s) or a"
                            " workshop_director, engineer, safety_director, principal or admin",
                            hazard_flow__or_none(h->assignee), hazard_flow__or_none(h->liable_person));
  case HAZARD_ACT_ASSIGN:
    if (manage || liable) return 0;
    return hazard_flow__why(-EACCES, why, whylen, "assign: only the liable person (%s) or a workshop_director,"
                            " engineer, safety_director, principal or admin may name another person to rectify",
                            hazard_flow__or_none(h->liable_person));
  case HAZARD_ACT_SUBMIT:
    if (manage || assigned || liable || hazard_flow__is(h->rectifier, actor)) return 0;
    return hazard_flow__why(-EACCES, why, whylen, "submit: only the rectifier, the assignee, the liable person or a"
                            " workshop_director, engineer, safety_director, principal or admin");
  case HAZARD_ACT_CONFIRM:
  case HAZARD_ACT_DISMISS:
    if (rights & HAZARD_RIGHT_REVIEW) return 0;
    return hazard_flow__why(-EACCES, why, whylen, "%s: requires the engineer, safety_director, principal or admin"
                            " role", name);
  case HAZARD_ACT_VERIFY:
  case HAZARD_ACT_REJECT:
    if (rights & (h->danger_level == 1 ? HAZARD_RIGHT_ACCEPT_MAJOR : HAZARD_RIGHT_VERIFY)) return 0;
    if (h->danger_level == 1)
      return hazard_flow__why(-EACCES, why, whylen, "%s: a major hazard (重大隐患) is accepted only by the"
                              " principal person in charge (主要负责人) or a delegate named in"
                              " ledger.principal_delegates", name);
    return hazard_flow__why(-EACCES, why, whylen, "%s: requires the workshop_director, engineer, safety_director,"
                            " principal or admin role", name);
  }
  return hazard_flow__why(-EACCES, why, whylen, "unknown action");
}
