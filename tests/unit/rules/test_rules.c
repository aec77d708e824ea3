/* Rule evaluation (stages, deadband, on/off-delay) and the ISA-18.2 alarm state machine, driven
 * with an explicit clock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <cmocka.h>

#include "alarm.h"
#include "rule.h"

static struct dg_point test_point = {.id = "GT101", .name = "gas"};

static struct dg_rule make_high(double deadband, uint32_t on_ms, uint32_t off_ms)
{
  struct dg_rule r = {.id = "R1", .type = DG_RULE_HIGH, .point = &test_point, .n_stages = 2,
                      .deadband = deadband, .on_delay_ms = on_ms, .off_delay_ms = off_ms};
  r.stages[0] = (struct dg_stage){.name = "H", .limit = 25, .priority = DG_PRIO_HIGH};
  r.stages[1] = (struct dg_stage){.name = "HH", .limit = 50, .priority = DG_PRIO_CRITICAL};
  return r;
}

static struct dg_rule make_low(double deadband)
{
  struct dg_rule r = {.id = "R2", .type = DG_RULE_LOW, .point = &test_point, .n_stages = 2, .deadband = deadband};
  r.stages[0] = (struct dg_stage){.name = "L", .limit = 10, .priority = DG_PRIO_MEDIUM};
  r.stages[1] = (struct dg_stage){.name = "LL", .limit = 5, .priority = DG_PRIO_HIGH};
  return r;
}

/* One step of a scenario: at time t feed value v (or tick when tick is set), expect stage. */
struct step {
  int64_t t;
  double v;
  int tick;
  int expect_stage;
  int expect_changed;
};

static void run_steps(const struct dg_rule *r, const struct step *steps, size_t n)
{
  struct rule_state st;
  rule_state_init(&st);
  for (size_t i = 0; i < n; i++) {
    int64_t deadline;
    int changed = steps[i].tick ? rule_tick(r, &st, steps[i].t, &deadline)
                                : rule_eval(r, &st, steps[i].v, steps[i].t, &deadline);
    if (st.stage != steps[i].expect_stage || changed != steps[i].expect_changed)
      fail_msg("step %zu (t=%lld v=%g): stage %d changed %d, expected stage %d changed %d", i,
               (long long)steps[i].t, steps[i].v, st.stage, changed, steps[i].expect_stage, steps[i].expect_changed);
  }
}

static void test_high_limits_and_deadband(void **state)
{
  struct dg_rule r = make_high(2, 0, 0);
  const struct step steps[] = {
    {0, 24.999, 0, -1, 0},
    {1, 25.0, 0, 0, 1},    /* exactly at the limit is in alarm */
    {2, 23.5, 0, 0, 0},    /* inside the deadband: stays */
    {3, 23.0, 0, -1, 1},   /* exactly at limit - deadband: clears */
    {4, 24.0, 0, -1, 0},   /* below the limit, not re-entered by the deadband */
    {5, 50.0, 0, 1, 1},    /* straight to HH */
    {6, 48.5, 0, 1, 0},    /* HH deadband */
    {7, 48.0, 0, 0, 1},    /* HH cleared to H */
    {8, 10.0, 0, -1, 1},
  };
  run_steps(&r, steps, sizeof steps / sizeof steps[0]);
}

static void test_low_limits_and_deadband(void **state)
{
  struct dg_rule r = make_low(1);
  const struct step steps[] = {
    {0, 10.001, 0, -1, 0}, {1, 10.0, 0, 0, 1}, {2, 10.9, 0, 0, 0}, {3, 11.0, 0, -1, 1},
    {4, 4.0, 0, 1, 1},     {5, 5.5, 0, 1, 0},  {6, 6.0, 0, 0, 1},
  };
  run_steps(&r, steps, sizeof steps / sizeof steps[0]);
}

static void test_on_delay(void **state)
{
  struct dg_rule r = make_high(0, 3000, 0);
  const struct step steps[] = {
    {0, 30, 0, -1, 0},
    {2999, 30, 0, -1, 0},
    {3000, 30, 0, 0, 1},   /* held for exactly the on-delay */
  };
  run_steps(&r, steps, sizeof steps / sizeof steps[0]);
}

static void test_on_delay_interrupted_by_dip(void **state)
{
  struct dg_rule r = make_high(0, 3000, 0);
  const struct step steps[] = {
    {0, 30, 0, -1, 0},
    {2000, 20, 0, -1, 0},  /* dip: the delay restarts */
    {2500, 30, 0, -1, 0},
    {4000, 0, 1, -1, 0},   /* the old deadline would have fired here */
    {5499, 0, 1, -1, 0},
    {5500, 0, 1, 0, 1},    /* timer tick with no new sample activates */
  };
  run_steps(&r, steps, sizeof steps / sizeof steps[0]);
}

static void test_on_delay_keeps_running_into_higher_stage(void **state)
{
  struct dg_rule r = make_high(0, 3000, 0);
  const struct step steps[] = {
    {0, 30, 0, -1, 0},
    {1000, 60, 0, -1, 0},  /* climbing into HH does not restart the clock */
    {3000, 60, 0, 1, 1},
  };
  run_steps(&r, steps, sizeof steps / sizeof steps[0]);
}

/* Stage entries override the rule's deadband and delays for that stage. */
static void test_stage_overrides(void **state)
{
  struct dg_rule r = make_high(1, 0, 0);
  r.stages[0].on_delay_ms = 5000;
  r.stages[0].own_on_delay = 1;
  r.stages[1].on_delay_ms = 0;
  r.stages[1].own_on_delay = 1;
  const struct step direct[] = {
    {0, 60, 0, 1, 1},      /* HH has no on-delay: at once, although H waits 5 s */
    {1000, 30, 0, 0, 1},   /* rule off-delay 0 */
    {2000, 10, 0, -1, 1},
    {3000, 30, 0, -1, 0},  /* H waits its own 5 s */
    {7999, 0, 1, -1, 0},
    {8000, 0, 1, 0, 1},
  };
  run_steps(&r, direct, sizeof direct / sizeof direct[0]);

  /* HH with a 5 s on-delay and H without: H at once, HH after 5 s of the same excursion. */
  r.stages[0].on_delay_ms = 0;
  r.stages[1].on_delay_ms = 5000;
  const struct step through[] = {
    {0, 60, 0, 0, 1},
    {4999, 0, 1, 0, 0},
    {5000, 0, 1, 1, 1},
  };
  run_steps(&r, through, sizeof through / sizeof through[0]);

  /* A stage-specific deadband (HH 5) and off-delay (HH 2 s); H keeps the rule's deadband 1. */
  r = make_high(1, 0, 0);
  r.stages[1].deadband = 5;
  r.stages[1].own_deadband = 1;
  r.stages[1].off_delay_ms = 2000;
  r.stages[1].own_off_delay = 1;
  const struct step band[] = {
    {0, 50, 0, 1, 1},      /* exactly at the HH limit */
    {100, 45.5, 0, 1, 0},  /* inside HH's deadband */
    {200, 45, 0, 1, 0},    /* exactly limit - deadband: leaving HH waits HH's off-delay */
    {2199, 45, 0, 1, 0},
    {2200, 45, 0, 0, 1},
    {2300, 24.5, 0, 0, 0}, /* inside H's deadband (rule's 1) */
    {2400, 24, 0, -1, 1},  /* H's off-delay is the rule's 0 */
  };
  run_steps(&r, band, sizeof band / sizeof band[0]);
}

/* Suppression by design: one step feeds a stage change or a suppression change. */
struct sup_step {
  int suppress;      /* -1: feed stage instead */
  int stage;
  int expect_ret;
  enum alarm_state expect;
  enum alarm_event expect_ev;
};

static void test_alarm_suppression(void **state)
{
  (void)state;
  struct dg_rule r = make_high(0, 0, 0);
  r.latched = true;
  static const struct sup_step steps[] = {
    {1, 0, 1, ALARM_SUPPRESSED, ALARM_EV_SUPPRESS},     /* NORMAL → SUPPRESSED */
    {1, 0, 0, ALARM_SUPPRESSED, ALARM_EV_NONE},         /* already */
    {-1, 0, 1, ALARM_SUPPRESSED, ALARM_EV_ACTIVATE},    /* evaluated, stays suppressed */
    {-1, 1, 1, ALARM_SUPPRESSED, ALARM_EV_ESCALATE},
    {0, 0, 1, ALARM_UNACK, ALARM_EV_UNSUPPRESS},        /* active: UNACK */
    {1, 0, 1, ALARM_SUPPRESSED, ALARM_EV_SUPPRESS},     /* UNACK → SUPPRESSED */
    {-1, -1, 1, ALARM_SUPPRESSED, ALARM_EV_CLEAR},      /* no latch while suppressed */
    {0, 0, 1, ALARM_NORMAL, ALARM_EV_UNSUPPRESS},       /* normal: NORMAL */
    {0, 0, 0, ALARM_NORMAL, ALARM_EV_NONE},
    {-1, 0, 1, ALARM_UNACK, ALARM_EV_ACTIVATE},
    {-1, -1, 1, ALARM_LATCHED, ALARM_EV_CLEAR},
    {1, 0, 1, ALARM_SUPPRESSED, ALARM_EV_SUPPRESS},     /* LATCHED → SUPPRESSED */
  };
  struct alarm a;
  alarm_init(&a, &r, 1);
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    struct alarm_transition tr = {0};
    int ret = steps[i].suppress >= 0 ? alarm_set_suppressed(&a, steps[i].suppress, (int64_t)i, &tr)
                                     : alarm_on_stage(&a, steps[i].stage, 1, (int64_t)i, &tr);
    if (ret != steps[i].expect_ret || a.state != steps[i].expect || (ret && tr.event != steps[i].expect_ev))
      fail_msg("step %zu: ret %d state %s event %s", i, ret, alarm_state_name(a.state), alarm_event_name(tr.event));
    assert_true(alarm_is_silenced(&a) == (a.state == ALARM_SUPPRESSED));
  }
  /* Suppression starting and ending while shelved only moves the flag; unshelve resumes into it. */
  struct alarm_transition tr;
  assert_int_equal(alarm_set_suppressed(&a, 0, 20, &tr), 1);
  assert_int_equal(alarm_on_stage(&a, 0, 30, 21, &tr), 1);
  assert_int_equal(alarm_shelve(&a, "op", "work", 1000, 22, &tr), 1);
  assert_int_equal(alarm_set_suppressed(&a, 1, 23, &tr), 0);
  assert_int_equal(a.state, ALARM_SHELVED);
  assert_int_equal(alarm_unshelve(&a, "op", 24, &tr), 1);
  assert_int_equal(a.state, ALARM_SUPPRESSED);
  assert_int_equal(alarm_out_of_service(&a, "op", 25, &tr), 1);
  assert_int_equal(alarm_set_suppressed(&a, 0, 26, &tr), 0);
  assert_int_equal(alarm_return_to_service(&a, "op", 27, &tr), 1);
  assert_int_equal(a.state, ALARM_UNACK);
  assert_int_equal(alarm_state_parse("SUPPRESSED"), ALARM_SUPPRESSED);
  assert_true(alarm_state_may_be_active(ALARM_SUPPRESSED));
  alarm_release(&a);
}

static void test_off_delay(void **state)
{
  struct dg_rule r = make_high(0, 0, 2000);
  const struct step steps[] = {
    {0, 30, 0, 0, 1},
    {100, 10, 0, 0, 0},
    {1000, 30, 0, 0, 0},   /* back in alarm during the off-delay: cancelled */
    {1500, 10, 0, 0, 0},
    {3499, 0, 1, 0, 0},
    {3500, 0, 1, -1, 1},
  };
  run_steps(&r, steps, sizeof steps / sizeof steps[0]);
}

static void test_deadline_reported(void **state)
{
  struct dg_rule r = make_high(0, 3000, 0);
  struct rule_state st;
  rule_state_init(&st);
  int64_t deadline;
  assert_int_equal(rule_eval(&r, &st, 30, 1000, &deadline), 0);
  assert_int_equal(deadline, 4000);
  assert_int_equal(rule_eval(&r, &st, 31, 2000, &deadline), 0);
  assert_int_equal(deadline, 4000);
  rule_cancel_pending(&st);
  assert_int_equal(rule_tick(&r, &st, 5000, &deadline), 0);
  assert_int_equal(st.stage, RULE_NORMAL);
  assert_int_equal(deadline, 0);
}

/* ---- alarm state machine ---- */

static void test_alarm_lifecycle_ack_while_active(void **state)
{
  struct dg_rule r = make_high(0, 0, 0);
  struct alarm a;
  struct alarm_transition tr;
  alarm_init(&a, &r, 7);
  assert_int_equal(alarm_on_stage(&a, 0, 30, 100, &tr), 1);
  assert_int_equal(tr.event, ALARM_EV_ACTIVATE);
  assert_int_equal(tr.from, ALARM_NORMAL);
  assert_int_equal(tr.to, ALARM_UNACK);
  assert_int_equal(a.priority, DG_PRIO_HIGH);
  assert_int_equal(alarm_ack(&a, "zhang", "checking", 200, &tr), 1);
  assert_int_equal(tr.to, ALARM_ACKED);
  assert_string_equal(a.ack_user, "zhang");
  assert_int_equal(alarm_ack(&a, "zhang", NULL, 250, &tr), -EALREADY);
  assert_int_equal(alarm_on_stage(&a, 1, 60, 300, &tr), 1); /* escalation needs a new ack */
  assert_int_equal(tr.event, ALARM_EV_ESCALATE);
  assert_int_equal(a.state, ALARM_UNACK);
  assert_int_equal(a.priority, DG_PRIO_CRITICAL);
  assert_int_equal(alarm_ack(&a, "li", NULL, 350, &tr), 1);
  assert_int_equal(alarm_on_stage(&a, 0, 40, 400, &tr), 1);
  assert_int_equal(tr.event, ALARM_EV_DEESCALATE);
  assert_int_equal(a.state, ALARM_ACKED);
  assert_int_equal(alarm_on_stage(&a, -1, 10, 500, &tr), 1);
  assert_int_equal(tr.event, ALARM_EV_CLEAR);
  assert_int_equal(a.state, ALARM_NORMAL);
  assert_int_equal(a.cleared_ms, 500);
  assert_int_equal(a.activations, 1);
  alarm_release(&a);
}

static void test_alarm_rtn_unack(void **state)
{
  struct dg_rule r = make_high(0, 0, 0);
  struct alarm a;
  struct alarm_transition tr;
  alarm_init(&a, &r, 1);
  alarm_on_stage(&a, 0, 30, 100, &tr);
  assert_int_equal(alarm_on_stage(&a, -1, 10, 200, &tr), 1);
  assert_int_equal(a.state, ALARM_RTN_UNACK);
  assert_int_equal(alarm_on_stage(&a, 0, 30, 300, &tr), 1); /* re-alarm before ack */
  assert_int_equal(tr.from, ALARM_RTN_UNACK);
  assert_int_equal(a.state, ALARM_UNACK);
  assert_int_equal(a.activations, 2);
  alarm_on_stage(&a, -1, 10, 400, &tr);
  assert_int_equal(alarm_ack(&a, "zhang", "ok", 500, &tr), 1); /* ack during RTN */
  assert_int_equal(tr.from, ALARM_RTN_UNACK);
  assert_int_equal(a.state, ALARM_NORMAL);
  assert_int_equal(alarm_on_stage(&a, -1, 5, 600, &tr), 0);
  assert_int_equal(alarm_ack(&a, "zhang", NULL, 700, &tr), -EALREADY);
  alarm_release(&a);
}

/* Random streams through rule + alarm never produce a transition the state machine forbids. */
static int allowed(enum alarm_state from, enum alarm_event ev, enum alarm_state to)
{
  switch (ev) {
  case ALARM_EV_ACTIVATE: return (from == ALARM_NORMAL || from == ALARM_RTN_UNACK) && to == ALARM_UNACK;
  case ALARM_EV_ESCALATE: return (from == ALARM_UNACK || from == ALARM_ACKED) && to == ALARM_UNACK;
  case ALARM_EV_DEESCALATE: return (from == ALARM_UNACK || from == ALARM_ACKED) && to == from;
  case ALARM_EV_CLEAR:
    return (from == ALARM_UNACK && to == ALARM_RTN_UNACK) || (from == ALARM_ACKED && to == ALARM_NORMAL);
  case ALARM_EV_ACK:
    return (from == ALARM_UNACK && to == ALARM_ACKED) || (from == ALARM_RTN_UNACK && to == ALARM_NORMAL);
  default: return 0;
  }
}

static void test_random_streams_stay_legal(void **state)
{
  struct dg_rule r = make_high(1.5, 700, 300);
  srand(12345);
  for (int run = 0; run < 200; run++) {
    struct rule_state st;
    struct alarm a;
    rule_state_init(&st);
    alarm_init(&a, &r, 1);
    int64_t t = 0;
    for (int i = 0; i < 500; i++) {
      t += rand() % 400;
      int64_t deadline;
      struct alarm_transition tr;
      int changed = (rand() % 4 == 0) ? rule_tick(&r, &st, t, &deadline)
                                      : rule_eval(&r, &st, (double)(rand() % 7000) / 100.0, t, &deadline);
      if (changed && alarm_on_stage(&a, st.stage, st.value, t, &tr))
        assert_true(allowed(tr.from, tr.event, tr.to));
      if (rand() % 10 == 0 && alarm_ack(&a, "op", NULL, t, &tr) == 1) assert_true(allowed(tr.from, tr.event, tr.to));
      assert_int_equal(alarm_is_active(&a), st.stage >= 0);
      assert_int_equal(a.stage, st.stage);
    }
    alarm_release(&a);
  }
}

/* ---- shelve, out of service, latch: every operator transition from every state ---- */

enum setup { S_NORMAL, S_UNACK, S_ACKED, S_RTN_UNACK, S_LATCHED, S_SHELVED_ACTIVE, S_SHELVED_NORMAL, S_OOS_ACTIVE,
             S_OOS_NORMAL };
enum op { OP_ACTIVATE, OP_ESCALATE, OP_CLEAR, OP_ACK, OP_SHELVE, OP_UNSHELVE, OP_OOS, OP_RTS, OP_RESET };

static void drive_to(struct alarm *a, enum setup s)
{
  struct alarm_transition tr;
  int active = s == S_UNACK || s == S_ACKED || s == S_SHELVED_ACTIVE || s == S_OOS_ACTIVE || s == S_LATCHED ||
               s == S_RTN_UNACK;
  if (active) assert_int_equal(alarm_on_stage(a, 0, 30, 100, &tr), 1);
  if (s == S_ACKED || s == S_LATCHED) assert_int_equal(alarm_ack(a, "op", NULL, 150, &tr), 1);
  if (s == S_RTN_UNACK || s == S_LATCHED) assert_int_equal(alarm_on_stage(a, -1, 10, 200, &tr), 1);
  if (s == S_SHELVED_ACTIVE || s == S_SHELVED_NORMAL)
    assert_int_equal(alarm_shelve(a, "op", "sensor recalibration", 10000, 300, &tr), 1);
  if (s == S_OOS_ACTIVE || s == S_OOS_NORMAL) assert_int_equal(alarm_out_of_service(a, "eng", 300, &tr), 1);
}

static int apply(struct alarm *a, enum op op, struct alarm_transition *tr)
{
  switch (op) {
  case OP_ACTIVATE: return alarm_on_stage(a, 0, 30, 1000, tr);
  case OP_ESCALATE: return alarm_on_stage(a, 1, 60, 1000, tr);
  case OP_CLEAR: return alarm_on_stage(a, -1, 10, 1000, tr);
  case OP_ACK: return alarm_ack(a, "op", "seen", 1000, tr);
  case OP_SHELVE: return alarm_shelve(a, "op", "maintenance", 5000, 1000, tr);
  case OP_UNSHELVE: return alarm_unshelve(a, "system", 1000, tr);
  case OP_OOS: return alarm_out_of_service(a, "eng", 1000, tr);
  case OP_RTS: return alarm_return_to_service(a, "eng", 1000, tr);
  case OP_RESET: return alarm_reset(a, "op", "field checked", 1000, tr);
  }
  return -1;
}

struct op_case {
  int latched;
  enum setup setup;
  enum op op;
  int rc;
  enum alarm_event event;
  enum alarm_state to;
  int stage;
};

static const struct op_case op_cases[] = {
  /* latched rule */
  {1, S_UNACK, OP_CLEAR, 1, ALARM_EV_CLEAR, ALARM_LATCHED, -1},
  {1, S_ACKED, OP_CLEAR, 1, ALARM_EV_CLEAR, ALARM_LATCHED, -1},
  {1, S_LATCHED, OP_RESET, 1, ALARM_EV_RESET, ALARM_NORMAL, -1},
  {1, S_LATCHED, OP_ACK, -EALREADY, 0, ALARM_LATCHED, -1},
  {1, S_LATCHED, OP_ACTIVATE, 1, ALARM_EV_ACTIVATE, ALARM_UNACK, 0},
  {1, S_UNACK, OP_RESET, -EINVAL, 0, ALARM_UNACK, 0},   /* reset only when latched and normal */
  {1, S_ACKED, OP_RESET, -EINVAL, 0, ALARM_ACKED, 0},
  {1, S_NORMAL, OP_RESET, -EINVAL, 0, ALARM_NORMAL, -1},
  {1, S_LATCHED, OP_SHELVE, 1, ALARM_EV_SHELVE, ALARM_SHELVED, -1},
  /* reset is refused on a rule that does not latch */
  {0, S_RTN_UNACK, OP_RESET, -EINVAL, 0, ALARM_RTN_UNACK, -1},
  /* ack during RTN */
  {0, S_RTN_UNACK, OP_ACK, 1, ALARM_EV_ACK, ALARM_NORMAL, -1},
  /* shelve from every annunciated state */
  {0, S_NORMAL, OP_SHELVE, 1, ALARM_EV_SHELVE, ALARM_SHELVED, -1},
  {0, S_UNACK, OP_SHELVE, 1, ALARM_EV_SHELVE, ALARM_SHELVED, 0},
  {0, S_ACKED, OP_SHELVE, 1, ALARM_EV_SHELVE, ALARM_SHELVED, 0},
  {0, S_RTN_UNACK, OP_SHELVE, 1, ALARM_EV_SHELVE, ALARM_SHELVED, -1},
  {0, S_SHELVED_ACTIVE, OP_SHELVE, -EALREADY, 0, ALARM_SHELVED, 0},
  {0, S_OOS_ACTIVE, OP_SHELVE, -EINVAL, 0, ALARM_OUT_OF_SERVICE, 0},
  /* shelved: the condition is followed but not annunciated */
  {0, S_SHELVED_NORMAL, OP_ACTIVATE, 1, ALARM_EV_ACTIVATE, ALARM_SHELVED, 0},
  {0, S_SHELVED_ACTIVE, OP_ESCALATE, 1, ALARM_EV_ESCALATE, ALARM_SHELVED, 1},
  {0, S_SHELVED_ACTIVE, OP_CLEAR, 1, ALARM_EV_CLEAR, ALARM_SHELVED, -1},
  {0, S_SHELVED_ACTIVE, OP_ACK, -EALREADY, 0, ALARM_SHELVED, 0},
  {0, S_SHELVED_ACTIVE, OP_RESET, -EINVAL, 0, ALARM_SHELVED, 0},
  /* shelve ending (operator or expiry) while active → UNACK, while normal → NORMAL */
  {0, S_SHELVED_ACTIVE, OP_UNSHELVE, 1, ALARM_EV_UNSHELVE, ALARM_UNACK, 0},
  {0, S_SHELVED_NORMAL, OP_UNSHELVE, 1, ALARM_EV_UNSHELVE, ALARM_NORMAL, -1},
  {0, S_UNACK, OP_UNSHELVE, -EINVAL, 0, ALARM_UNACK, 0},
  /* out of service */
  {0, S_NORMAL, OP_OOS, 1, ALARM_EV_OUT_OF_SERVICE, ALARM_OUT_OF_SERVICE, -1},
  {0, S_UNACK, OP_OOS, 1, ALARM_EV_OUT_OF_SERVICE, ALARM_OUT_OF_SERVICE, 0},
  {0, S_SHELVED_ACTIVE, OP_OOS, 1, ALARM_EV_OUT_OF_SERVICE, ALARM_OUT_OF_SERVICE, 0},
  {0, S_OOS_NORMAL, OP_OOS, -EALREADY, 0, ALARM_OUT_OF_SERVICE, -1},
  {0, S_OOS_NORMAL, OP_ACTIVATE, 1, ALARM_EV_ACTIVATE, ALARM_OUT_OF_SERVICE, 0},
  {0, S_OOS_ACTIVE, OP_CLEAR, 1, ALARM_EV_CLEAR, ALARM_OUT_OF_SERVICE, -1},
  {0, S_OOS_ACTIVE, OP_ACK, -EALREADY, 0, ALARM_OUT_OF_SERVICE, 0},
  {0, S_OOS_ACTIVE, OP_UNSHELVE, -EINVAL, 0, ALARM_OUT_OF_SERVICE, 0},
  {0, S_OOS_ACTIVE, OP_RTS, 1, ALARM_EV_RETURN_TO_SERVICE, ALARM_UNACK, 0},
  {0, S_OOS_NORMAL, OP_RTS, 1, ALARM_EV_RETURN_TO_SERVICE, ALARM_NORMAL, -1},
  {0, S_NORMAL, OP_RTS, -EINVAL, 0, ALARM_NORMAL, -1},
  /* latched rule while out of service: clearing does not latch, the alarm returns to NORMAL */
  {1, S_OOS_ACTIVE, OP_CLEAR, 1, ALARM_EV_CLEAR, ALARM_OUT_OF_SERVICE, -1},
};

static void test_alarm_operator_transitions(void **state)
{
  for (size_t i = 0; i < sizeof op_cases / sizeof op_cases[0]; i++) {
    const struct op_case *c = &op_cases[i];
    struct dg_rule r = make_high(0, 0, 0);
    r.latched = c->latched;
    struct alarm a;
    struct alarm_transition tr = {0};
    alarm_init(&a, &r, 1);
    drive_to(&a, c->setup);
    enum alarm_state from = a.state;
    int rc = apply(&a, c->op, &tr);
    if (rc != c->rc || a.state != c->to || a.stage != c->stage || (rc == 1 && (tr.event != c->event || tr.from != from || tr.to != c->to)))
      fail_msg("case %zu: rc %d state %s stage %d event %s; expected rc %d state %s stage %d event %s", i, rc,
               alarm_state_name(a.state), a.stage, alarm_event_name(tr.event), c->rc, alarm_state_name(c->to),
               c->stage, alarm_event_name(c->event));
    alarm_release(&a);
  }
}

static void test_alarm_shelve_fields(void **state)
{
  struct dg_rule r = make_high(0, 0, 0);
  struct alarm a;
  struct alarm_transition tr;
  alarm_init(&a, &r, 1);
  assert_int_equal(alarm_shelve(&a, "op", "", 5000, 1000, &tr), -EINVAL);    /* reason required */
  assert_int_equal(alarm_shelve(&a, "op", NULL, 5000, 1000, &tr), -EINVAL);
  assert_int_equal(alarm_shelve(&a, "op", "why", 1000, 1000, &tr), -EINVAL); /* expiry in the past */
  assert_int_equal(a.state, ALARM_NORMAL);
  assert_int_equal(alarm_shelve(&a, "op", "valve work", 5000, 1000, &tr), 1);
  assert_int_equal(a.shelved_until_ms, 5000);
  assert_string_equal(a.shelve_reason, "valve work");
  assert_true(alarm_is_silenced(&a));
  assert_int_equal(alarm_on_stage(&a, 0, 30, 2000, &tr), 1); /* still evaluated */
  assert_int_equal(a.activations, 1);
  assert_true(alarm_is_active(&a));
  assert_int_equal(alarm_unshelve(&a, "system", 5000, &tr), 1); /* expiry while active */
  assert_int_equal(a.state, ALARM_UNACK);
  assert_int_equal(a.shelved_until_ms, 0);
  assert_null(a.shelve_reason);
  assert_false(alarm_is_silenced(&a));
  assert_string_equal(alarm_refusal(&a, ALARM_EV_RESET), "only a latched alarm whose condition is normal can be reset");
  alarm_release(&a);
}

static void test_alarm_state_names_round_trip(void **state)
{
  for (int s = ALARM_NORMAL; s <= ALARM_SUPPRESSED; s++)
    assert_int_equal(alarm_state_parse(alarm_state_name((enum alarm_state)s)), s);
  assert_int_equal(alarm_state_parse("SUPPRESSED_X"), -1);
  assert_true(alarm_state_may_be_active(ALARM_SHELVED));
  assert_false(alarm_state_may_be_active(ALARM_LATCHED));
}

/* ---- stale and quality rules: a fault flag through on/off-delays ---- */

struct fault_step {
  int64_t t;
  int fault;
  int tick;
  int expect_stage;
  int expect_changed;
};

static void test_fault_rule_delays(void **state)
{
  struct dg_rule r = {.id = "Q1", .type = DG_RULE_QUALITY, .point = &test_point, .n_stages = 1,
                      .on_delay_ms = 5000, .off_delay_ms = 1000};
  r.stages[0] = (struct dg_stage){.name = "quality", .priority = DG_PRIO_HIGH};
  const struct fault_step steps[] = {
    {0, 1, 0, -1, 0},     /* fault starts: on-delay runs */
    {4999, 1, 0, -1, 0},
    {5000, 0, 1, 0, 1},   /* tick exactly at the on-delay: alarm (the last flag was a fault) */
    {6000, 0, 0, 0, 0},   /* recovered: off-delay runs */
    {6500, 1, 0, 0, 0},   /* fault again during the off-delay: stays in alarm */
    {7000, 0, 0, 0, 0},
    {8000, 0, 1, -1, 1},  /* off-delay elapsed */
    {9000, 1, 0, -1, 0},
    {10000, 0, 0, -1, 0}, /* a fault shorter than the on-delay never alarms */
    {20000, 0, 1, -1, 0},
  };
  struct rule_state st;
  rule_state_init(&st);
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    int64_t deadline;
    int changed = steps[i].tick ? rule_tick(&r, &st, steps[i].t, &deadline)
                                : rule_eval_fault(&r, &st, steps[i].fault, steps[i].t, &deadline);
    if (st.stage != steps[i].expect_stage || changed != steps[i].expect_changed)
      fail_msg("step %zu: stage %d changed %d, expected %d %d", i, st.stage, changed, steps[i].expect_stage,
               steps[i].expect_changed);
  }
  r.type = DG_RULE_STALE;
  assert_int_equal(rule_target_stage(&r, RULE_NORMAL, 1), 0);
  assert_int_equal(rule_target_stage(&r, 0, 0), RULE_NORMAL);
}

/* ---- rate rules: change over a window, rising and falling ---- */

static void test_rate_rule(void **state)
{
  /* 1 unit per second over a 10 s window: H at 2/s, HH at 5/s. */
  struct dg_rule r = {.id = "RT", .type = DG_RULE_RATE, .point = &test_point, .n_stages = 2, .deadband = 0.5,
                      .rate_per_ms = 1000, .rate_window_ms = 10000, .rate_direction = DG_RATE_RISING};
  r.stages[0] = (struct dg_stage){.name = "H", .limit = 2, .priority = DG_PRIO_HIGH};
  r.stages[1] = (struct dg_stage){.name = "HH", .limit = 5, .priority = DG_PRIO_CRITICAL};
  struct rule_rate rr = {0};
  struct rule_state st;
  rule_state_init(&st);
  st.rate = &rr;
  int64_t deadline;
  assert_int_equal(rule_eval(&r, &st, 0, 0, &deadline), 0);
  assert_int_equal(rule_eval(&r, &st, 100, 1000, &deadline), 0); /* history shorter than a slot: no rate */
  assert_int_equal(st.stage, RULE_NORMAL);
  assert_int_equal(rule_eval(&r, &st, 2.5, 1250, &deadline), 1);   /* (2.5 - 0) / 1.25 s = 2/s exactly: H */
  assert_int_equal(st.stage, 0);
  assert_true(st.value == 2.0);
  /* Steady climb of 1/s for a long time: the window forgets the old values, rate 1/s. */
  for (int64_t t = 2000; t <= 30000; t += 1000) rule_eval(&r, &st, 2.5 + (double)(t - 1250) / 1000, t, &deadline);
  assert_int_equal(st.stage, RULE_NORMAL);
  assert_true(st.value > 0.99 && st.value < 1.01);
  /* A jump of 60 in 10 s: 6/s → HH. */
  double base = 2.5 + (30000 - 1250) / 1000.0;
  assert_int_equal(rule_eval(&r, &st, base + 60, 31000, &deadline), 1);
  assert_int_equal(st.stage, 1);
  /* Falling direction: a fall of 3/s alarms, a rise does not. */
  struct dg_rule f = r;
  f.rate_direction = DG_RATE_FALLING;
  struct rule_rate fr = {0};
  rule_state_init(&st);
  st.rate = &fr;
  rule_eval(&f, &st, 100, 0, &deadline);
  assert_int_equal(rule_eval(&f, &st, 130, 5000, &deadline), 0);
  assert_int_equal(st.stage, RULE_NORMAL);
  assert_int_equal(rule_eval(&f, &st, 70, 10000, &deadline), 1); /* (70 - 100) / 10 s = -3/s */
  assert_int_equal(st.stage, 0);
  /* No history buffer: never alarms, never crashes. */
  rule_state_init(&st);
  st.rate = NULL;
  assert_int_equal(rule_eval(&r, &st, 1e9, 1000, &deadline), 0);
}

/* The same with every operator action and a latched rule: no forbidden transition, and the
 * state always agrees with the condition. */
static int allowed_full(enum alarm_state from, enum alarm_event ev, enum alarm_state to, int latched)
{
  int silenced = from == ALARM_SHELVED || from == ALARM_OUT_OF_SERVICE;
  switch (ev) {
  case ALARM_EV_ACTIVATE:
    return silenced ? to == from : (from == ALARM_NORMAL || from == ALARM_RTN_UNACK || from == ALARM_LATCHED) && to == ALARM_UNACK;
  case ALARM_EV_ESCALATE: return silenced ? to == from : (from == ALARM_UNACK || from == ALARM_ACKED) && to == ALARM_UNACK;
  case ALARM_EV_DEESCALATE: return to == from && (silenced || from == ALARM_UNACK || from == ALARM_ACKED);
  case ALARM_EV_CLEAR:
    if (silenced) return to == from;
    if (latched) return (from == ALARM_UNACK || from == ALARM_ACKED) && to == ALARM_LATCHED;
    return (from == ALARM_UNACK && to == ALARM_RTN_UNACK) || (from == ALARM_ACKED && to == ALARM_NORMAL);
  case ALARM_EV_ACK:
    return (from == ALARM_UNACK && to == ALARM_ACKED) || (from == ALARM_RTN_UNACK && to == ALARM_NORMAL);
  case ALARM_EV_SHELVE: return !silenced && to == ALARM_SHELVED;
  case ALARM_EV_UNSHELVE: return from == ALARM_SHELVED && (to == ALARM_UNACK || to == ALARM_NORMAL);
  case ALARM_EV_OUT_OF_SERVICE: return from != ALARM_OUT_OF_SERVICE && to == ALARM_OUT_OF_SERVICE;
  case ALARM_EV_RETURN_TO_SERVICE: return from == ALARM_OUT_OF_SERVICE && (to == ALARM_UNACK || to == ALARM_NORMAL);
  case ALARM_EV_RESET: return from == ALARM_LATCHED && to == ALARM_NORMAL;
  default: return 0;
  }
}

static void check_consistent(const struct alarm *a, const struct rule_state *st)
{
  assert_int_equal(a->stage, st->stage);
  if (a->state == ALARM_UNACK || a->state == ALARM_ACKED) assert_true(a->stage >= 0);
  if (a->state == ALARM_NORMAL || a->state == ALARM_RTN_UNACK || a->state == ALARM_LATCHED) assert_true(a->stage < 0);
  assert_int_equal(a->shelved_until_ms != 0, a->state == ALARM_SHELVED);
}

static void test_random_operations_stay_legal(void **state)
{
  srand(777);
  for (int run = 0; run < 200; run++) {
    struct dg_rule r = make_high(1.5, 700, 300);
    r.latched = run % 2;
    struct rule_state st;
    struct alarm a;
    rule_state_init(&st);
    alarm_init(&a, &r, 1);
    int64_t t = 0;
    for (int i = 0; i < 500; i++) {
      t += 1 + rand() % 400;
      int64_t deadline;
      struct alarm_transition tr;
      enum alarm_state from = a.state;
      int rc = 0;
      switch (rand() % 12) {
      case 0: rc = alarm_ack(&a, "op", NULL, t, &tr); break;
      case 1: rc = alarm_shelve(&a, "op", "why", t + 1000, t, &tr); break;
      case 2: rc = alarm_unshelve(&a, "op", t, &tr); break;
      case 3: rc = alarm_out_of_service(&a, "eng", t, &tr); break;
      case 4: rc = alarm_return_to_service(&a, "eng", t, &tr); break;
      case 5: rc = alarm_reset(&a, "op", NULL, t, &tr); break;
      default:
        if (rule_eval(&r, &st, (double)(rand() % 7000) / 100.0, t, &deadline))
          rc = alarm_on_stage(&a, st.stage, st.value, t, &tr);
      }
      if (rc == 1 && !allowed_full(from, tr.event, tr.to, r.latched))
        fail_msg("forbidden: %s --%s--> %s", alarm_state_name(from), alarm_event_name(tr.event), alarm_state_name(tr.to));
      if (rc < 0) assert_int_equal(a.state, from); /* a refused action changes nothing */
      check_consistent(&a, &st);
    }
    alarm_release(&a);
  }
}

static struct dg_point test_point_b = {.id = "GT102", .name = "gas B"};

/* One step of a two-point scenario: at time t feed a and b, expect stage. */
struct pair_step {
  int64_t t;
  double a, b;
  int expect_stage;
  int expect_changed;
};

static void test_deviation_rule(void **state)
{
  (void)state;
  struct dg_rule r = {.id = "D1", .type = DG_RULE_DEVIATION, .point = &test_point, .point2 = &test_point_b,
                      .n_stages = 1, .deadband = 1, .on_delay_ms = 100, .off_delay_ms = 50, .limit = 5};
  r.stages[0] = (struct dg_stage){.name = "deviation", .limit = 5, .priority = DG_PRIO_HIGH};
  static const struct pair_step steps[] = {
    {0, 10, 15, RULE_NORMAL, 0},   /* exactly at the limit: the sensors still agree */
    {10, 10, 15.5, RULE_NORMAL, 0}, /* beyond it: the on-delay starts */
    {60, 10, 12, RULE_NORMAL, 0},  /* a dip cancels it */
    {70, 16, 10, RULE_NORMAL, 0},  /* either sign counts; the delay restarts */
    {169, 16, 10, RULE_NORMAL, 0},
    {170, 16, 10, 0, 1},           /* on-delay elapsed */
    {180, 14.5, 10, 0, 0},         /* inside the deadband (limit - 1 < 4.5): holds */
    {190, 14, 10, 0, 0},           /* exactly limit - deadband: leaving starts the off-delay */
    {239, 14, 10, 0, 0},
    {240, 14, 10, RULE_NORMAL, 1}, /* off-delay elapsed */
  };
  struct rule_state st;
  rule_state_init(&st);
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    int64_t deadline;
    int changed = rule_eval_pair(&r, &st, steps[i].a, steps[i].b, steps[i].t, &deadline);
    if (st.stage != steps[i].expect_stage || changed != steps[i].expect_changed)
      fail_msg("step %zu (t=%lld a=%g b=%g): stage %d changed %d, expected stage %d changed %d", i,
               (long long)steps[i].t, steps[i].a, steps[i].b, st.stage, changed, steps[i].expect_stage,
               steps[i].expect_changed);
  }
  assert_true(st.value == 4);
}

/* One step of a 2oo3 scenario: three values (NAN = bad quality), expected votes and stage. */
struct vote_step {
  int64_t t;
  double v[3];
  int expect_votes;
  int expect_stage;
  int expect_changed;
};

static void test_vote_rule(void **state)
{
  (void)state;
  struct dg_point pa = {.id = "GT1"}, pb = {.id = "GT2"}, pc = {.id = "GT3"};
  struct dg_point *inputs[] = {&pa, &pb, &pc};
  double limits[] = {20, 25, 30};
  struct dg_rule r = {.id = "V1", .type = DG_RULE_VOTE, .point = &pa, .n_stages = 1, .deadband = 2,
                      .on_delay_ms = 100, .inputs = inputs, .input_limits = limits, .n_inputs = 3, .vote_k = 2};
  r.stages[0] = (struct dg_stage){.name = "vote", .limit = 2, .priority = DG_PRIO_CRITICAL};
  static const struct vote_step steps[] = {
    {0, {19.9, 24.9, 29.9}, 0, RULE_NORMAL, 0},
    {10, {20, 24.9, 29.9}, 1, RULE_NORMAL, 0},  /* exactly at its own limit: one vote */
    {20, {20, 25, 29.9}, 2, RULE_NORMAL, 0},    /* 2oo3: the on-delay starts */
    {50, {20, NAN, 29.9}, 1, RULE_NORMAL, 0},   /* a bad input does not vote: the delay drops */
    {60, {20, 25, 29.9}, 2, RULE_NORMAL, 0},    /* the delay restarts here */
    {159, {20, 25, 29.9}, 2, RULE_NORMAL, 0},
    {160, {20, 25, 29.9}, 2, 0, 1},
    {170, {18.1, 23.1, 29.9}, 2, 0, 0},         /* inside each input's deadband: still voting */
    {180, {18, 23.1, 29.9}, 1, RULE_NORMAL, 1}, /* exactly limit - deadband: input 0 stops voting */
    {190, {18, 23.1, 30}, 2, RULE_NORMAL, 0},   /* any two of three: the on-delay again */
    {290, {18, 23.1, 30}, 2, 0, 1},
    {300, {NAN, NAN, 30}, 1, RULE_NORMAL, 1},   /* bad inputs do not vote */
  };
  struct rule_state st;
  rule_state_init(&st);
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    double v[3];
    uint8_t good[3];
    for (int k = 0; k < 3; k++) {
      good[k] = !isnan(steps[i].v[k]);
      v[k] = good[k] ? steps[i].v[k] : 1e9; /* a bad input's stale value must not count */
    }
    int64_t deadline;
    int changed = rule_eval_vote(&r, &st, v, good, steps[i].t, &deadline);
    if ((int)st.value != steps[i].expect_votes || st.stage != steps[i].expect_stage ||
        changed != steps[i].expect_changed)
      fail_msg("step %zu (t=%lld): votes %g stage %d changed %d, expected votes %d stage %d changed %d", i,
               (long long)steps[i].t, st.value, st.stage, changed, steps[i].expect_votes, steps[i].expect_stage,
               steps[i].expect_changed);
  }
}

/* Item level from five point rules: named stages map by name, unnamed ones by index. */
static void test_aggregate_rule(void **state)
{
  (void)state;
  struct dg_rule named = {.id = "N", .type = DG_RULE_HIGH, .point = &test_point, .n_stages = 4};
  static char *const level_names[] = {"blue", "yellow", "orange", "red"};
  for (int k = 0; k < 4; k++) named.stages[k] = (struct dg_stage){.name = level_names[k], .limit = k + 1};
  struct dg_rule only_red = {.id = "R", .type = DG_RULE_HIGH, .point = &test_point, .n_stages = 1};
  only_red.stages[0] = (struct dg_stage){.name = "red", .limit = 1};
  struct dg_rule hh = make_high(0, 0, 0); /* H, HH: index 0 blue, 1 yellow */
  assert_int_equal(rule_stage_level(&named, RULE_NORMAL), DG_LEVEL_NONE);
  assert_int_equal(rule_stage_level(&named, 2), DG_LEVEL_ORANGE);
  assert_int_equal(rule_stage_level(&only_red, 0), DG_LEVEL_RED);
  assert_int_equal(rule_stage_level(&hh, 1), DG_LEVEL_YELLOW);

  struct dg_rule *inputs[] = {&named, &named, &named, &named, &hh};
  struct dg_rule r = {.id = "AG", .type = DG_RULE_AGGREGATE, .point = &test_point, .n_stages = 3,
                      .agg_inputs = inputs, .n_agg_inputs = 5, .agg_counts = {4, 3, 2}};
  r.stages[0] = (struct dg_stage){.name = "yellow", .limit = DG_LEVEL_YELLOW, .priority = DG_PRIO_MEDIUM};
  r.stages[1] = (struct dg_stage){.name = "orange", .limit = DG_LEVEL_ORANGE, .priority = DG_PRIO_HIGH};
  r.stages[2] = (struct dg_stage){.name = "red", .limit = DG_LEVEL_RED, .priority = DG_PRIO_CRITICAL};
  static const struct {
    int8_t stages[5];
    int expect_stage;
  } cases[] = {
    {{-1, -1, -1, -1, -1}, RULE_NORMAL},
    {{0, 0, 0, -1, -1}, RULE_NORMAL}, /* 3 blue: not yet */
    {{0, 0, 0, -1, 0}, 0},            /* 4 blue (H counts as blue) → yellow */
    {{1, 1, -1, -1, -1}, RULE_NORMAL}, /* 2 yellow, 2 at blue or more: below every count */
    {{1, 1, -1, -1, 1}, 1},           /* 3 yellow (HH counts as yellow) → orange, with only 3 at blue */
    {{1, 1, 0, 0, -1}, 0},            /* 2 yellow, 4 at blue or more → yellow */
    {{2, 0, 0, 0, -1}, 0},            /* 1 orange, 4 blue: yellow */
    {{2, 3, -1, -1, -1}, 2},          /* 2 orange or more (red counts) → red */
    {{3, -1, -1, -1, -1}, RULE_NORMAL}, /* one red point alone: counts below thresholds */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct rule_state st;
    int64_t deadline;
    rule_state_init(&st);
    rule_eval_aggregate(&r, &st, cases[i].stages, 0, &deadline);
    if (st.stage != cases[i].expect_stage) fail_msg("case %zu: stage %d, expected %d", i, st.stage, cases[i].expect_stage);
  }
  /* Counts are configurable: 1 orange → red. */
  r.agg_counts[2] = 1;
  struct rule_state st;
  int64_t deadline;
  rule_state_init(&st);
  assert_int_equal(rule_eval_aggregate(&r, &st, (const int8_t[]){2, -1, -1, -1, -1}, 0, &deadline), 1);
  assert_int_equal(st.stage, 2);
  assert_true(st.value == DG_LEVEL_RED);
}

/* A digital input: an ESD trip (1) alarms while it lasts, with the usual delays. */
static void test_state_rule_on_value(void **state)
{
  (void)state;
  struct dg_rule r = {.id = "ESD", .type = DG_RULE_STATE, .point = &test_point, .n_stages = 1, .state_value = 1,
                      .on_delay_ms = 100};
  r.stages[0] = (struct dg_stage){.name = "state", .limit = 1, .priority = DG_PRIO_CRITICAL};
  const struct step steps[] = {
    {0, 0, 0, RULE_NORMAL, 0},  {10, 1, 0, RULE_NORMAL, 0}, {60, 0, 0, RULE_NORMAL, 0}, /* a blip shorter than the on-delay */
    {200, 1, 0, RULE_NORMAL, 0}, {300, 0, 1, 0, 1},        {350, 2, 0, RULE_NORMAL, 1}, /* 2 is not the trip state */
    {400, 1, 0, RULE_NORMAL, 0}, {500, 1, 0, 0, 1},        {600, 0, 0, RULE_NORMAL, 1},
  };
  run_steps(&r, steps, sizeof steps / sizeof steps[0]);
}

/* A change alarms at once and returns to normal off_delay after the last change. */
static void test_state_rule_on_change(void **state)
{
  (void)state;
  struct dg_rule r = {.id = "XV", .type = DG_RULE_STATE, .point = &test_point, .n_stages = 1, .state_change = true,
                      .off_delay_ms = 1000};
  r.stages[0] = (struct dg_stage){.name = "change", .priority = DG_PRIO_LOW};
  const struct step steps[] = {
    {0, 1, 0, RULE_NORMAL, 0},   /* the first sample is the reference, not a change */
    {100, 1, 0, RULE_NORMAL, 0}, {200, 0, 0, 0, 1},      {700, 0, 0, 0, 0},  {900, 0, 1, 0, 0},
    {1100, 1, 0, 0, 0},          /* another change restarts the hold */
    {1900, 1, 1, 0, 0},          {2100, 0, 1, RULE_NORMAL, 1}, {2200, 0, 0, 0, 1},
  };
  run_steps(&r, steps, sizeof steps / sizeof steps[0]);
  /* Without an off-delay the alarm is left at the next tick, which is due at once. */
  r.off_delay_ms = 0;
  struct rule_state st;
  int64_t deadline;
  rule_state_init(&st);
  assert_int_equal(rule_eval(&r, &st, 0, 5000, &deadline), 0);
  assert_int_equal(rule_eval(&r, &st, 1, 5001, &deadline), 1);
  assert_int_equal(st.stage, 0);
  assert_int_equal(deadline, 5001);
  assert_int_equal(rule_tick(&r, &st, 5001, &deadline), 1);
  assert_int_equal(st.stage, RULE_NORMAL);
  assert_true(st.value == 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_high_limits_and_deadband),
    cmocka_unit_test(test_low_limits_and_deadband),
    cmocka_unit_test(test_on_delay),
    cmocka_unit_test(test_on_delay_interrupted_by_dip),
    cmocka_unit_test(test_on_delay_keeps_running_into_higher_stage),
    cmocka_unit_test(test_off_delay),
    cmocka_unit_test(test_stage_overrides),
    cmocka_unit_test(test_alarm_suppression),
    cmocka_unit_test(test_deadline_reported),
    cmocka_unit_test(test_alarm_lifecycle_ack_while_active),
    cmocka_unit_test(test_alarm_rtn_unack),
    cmocka_unit_test(test_random_streams_stay_legal),
    cmocka_unit_test(test_alarm_operator_transitions),
    cmocka_unit_test(test_alarm_shelve_fields),
    cmocka_unit_test(test_alarm_state_names_round_trip),
    cmocka_unit_test(test_fault_rule_delays),
    cmocka_unit_test(test_rate_rule),
    cmocka_unit_test(test_random_operations_stay_legal),
    cmocka_unit_test(test_deviation_rule),
    cmocka_unit_test(test_vote_rule),
    cmocka_unit_test(test_aggregate_rule),
    cmocka_unit_test(test_state_rule_on_value),
    cmocka_unit_test(test_state_rule_on_change),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
