#include "hazard_flow.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ledger.h"

static const char *const hazard_flow__names[] = {NULL, "rectify", "submit", "verify", "reject", "confirm", "dismiss"};

const char *hazard_action_name(enum hazard_action a)
{
  return a >= HAZARD_ACT_RECTIFY && a <= HAZARD_ACT_DISMISS ? hazard_flow__names[a] : "unknown";
}

int hazard_action_parse(const char *s)
{
  for (int a = HAZARD_ACT_RECTIFY; s && a <= HAZARD_ACT_DISMISS; a++)
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

static int hazard_flow__deny(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int hazard_flow__deny(char *why, size_t whylen, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, whylen, fmt, ap);
  va_end(ap);
  return -EPERM;
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
      return hazard_flow__deny(why, whylen, "major hazard: five-in-place fields missing: %s", missing);
  }
  if (!hazard_flow__filled(h->rectify_measures) || !hazard_flow__filled(h->rectifier))
    return hazard_flow__deny(why, whylen, "no rectification recorded (rectify_measures and rectifier)");
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
    return hazard_flow__deny(why, whylen, "%s needs state %s, hazard is %s", hazard_action_name(a),
                             hazard_flow__state_name(HAZARD_REVIEWING), hazard_flow__state_name(h->state));
  if (hazard_flow__filled(h->reporter) && actor && strcmp(actor, h->reporter) == 0)
    return hazard_flow__deny(why, whylen, "the reviewer must differ from the reporter (%s)", h->reporter);
  *to = a == HAZARD_ACT_CONFIRM ? HAZARD_RECTIFYING : HAZARD_REVIEWING;
  return 0;
}

int hazard_flow_check(const struct hazard_facts *h, enum hazard_action a, const char *actor, int *to, char *why,
                      size_t whylen)
{
  int need = a == HAZARD_ACT_RECTIFY || a == HAZARD_ACT_SUBMIT ? HAZARD_RECTIFYING : HAZARD_PENDING_ACCEPTANCE;
  if (a < HAZARD_ACT_RECTIFY || a > HAZARD_ACT_DISMISS) return hazard_flow__deny(why, whylen, "unknown action");
  if (h->state == HAZARD_REVIEWING && h->dismissed)
    return hazard_flow__deny(why, whylen, "%s: the report was dismissed as not a hazard (已撤销); it is closed",
                             hazard_action_name(a));
  if (a == HAZARD_ACT_CONFIRM || a == HAZARD_ACT_DISMISS) return hazard_flow__review(h, a, actor, to, why, whylen);
  if (h->state == HAZARD_REVIEWING)
    return hazard_flow__deny(why, whylen, "%s: the hazard is awaiting confirmation (审核中); an engineer confirms it"
                             " first", hazard_action_name(a));
  if (h->state != need)
    return hazard_flow__deny(why, whylen, "%s needs state %s, hazard is %s", hazard_action_name(a),
                             hazard_flow__state_name(need), hazard_flow__state_name(h->state));
  switch (a) {
  case HAZARD_ACT_RECTIFY: *to = HAZARD_RECTIFYING; return 0;
  case HAZARD_ACT_SUBMIT:
    if (hazard_flow__leave_rectifying(h, why, whylen)) return -EPERM;
    *to = HAZARD_PENDING_ACCEPTANCE;
    return 0;
  default:
    if (hazard_flow__filled(h->rectifier) && actor && strcmp(actor, h->rectifier) == 0)
      return hazard_flow__deny(why, whylen, "the verifier must differ from the rectifier (%s)", h->rectifier);
    *to = a == HAZARD_ACT_VERIFY ? HAZARD_ACCEPTED : HAZARD_RECTIFYING;
    return 0;
  }
}
