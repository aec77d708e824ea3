/* Hazard closed-loop rules: every action from every state, five-in-place for major hazards,
 * the verifier differing from the rectifier, the review of manual reports (审核中). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hazard_flow.h"

static struct hazard_facts rectified(int state, int level)
{
  return (struct hazard_facts){.state = state, .danger_level = level, .liable_person = "li",
                               .rectify_measures = "更换探头", .has_cost = 1, .deadline_ms = 1700000000000,
                               .contingency_plan = "泄漏应急预案", .rectifier = "wang", .expert_approved = level};
}

struct flow_case {
  int state;
  enum hazard_action action;
  int allowed;
  int to;
};

static void test_every_action_from_every_state(void **state)
{
  (void)state;
  static const struct flow_case cases[] = {
    {0, HAZARD_ACT_RECTIFY, 1, 0}, {0, HAZARD_ACT_SUBMIT, 1, 1}, {0, HAZARD_ACT_VERIFY, 0, 0},
    {0, HAZARD_ACT_REJECT, 0, 0},  {1, HAZARD_ACT_RECTIFY, 0, 0}, {1, HAZARD_ACT_SUBMIT, 0, 0},
    {1, HAZARD_ACT_VERIFY, 1, 9},  {1, HAZARD_ACT_REJECT, 1, 0},  {9, HAZARD_ACT_RECTIFY, 0, 0},
    {9, HAZARD_ACT_SUBMIT, 0, 0},  {9, HAZARD_ACT_VERIFY, 0, 0},  {9, HAZARD_ACT_REJECT, 0, 0},
    {0, HAZARD_ACT_CONFIRM, 0, 0}, {0, HAZARD_ACT_DISMISS, 0, 0}, {1, HAZARD_ACT_CONFIRM, 0, 0},
    {1, HAZARD_ACT_DISMISS, 0, 0}, {9, HAZARD_ACT_CONFIRM, 0, 0}, {9, HAZARD_ACT_DISMISS, 0, 0},
  };
  for (int level = 0; level <= 1; level++) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      const struct flow_case *c = &cases[i];
      struct hazard_facts h = rectified(c->state, level);
      char why[256] = "";
      int to = -1;
      int rc = hazard_flow_check(&h, c->action, "zhao", &to, why, sizeof why);
      if (c->allowed) {
        assert_int_equal(rc, 0);
        assert_int_equal(to, c->to);
      } else {
        assert_int_equal(rc, -EPERM);
        assert_non_null(strstr(why, "needs state"));
      }
    }
  }
}

static void test_submit_needs_a_rectification(void **state)
{
  (void)state;
  struct hazard_facts h = {.state = 0, .danger_level = 0};
  char why[256];
  int to;
  assert_int_equal(hazard_flow_check(&h, HAZARD_ACT_SUBMIT, "wang", &to, why, sizeof why), -EPERM);
  assert_non_null(strstr(why, "no rectification recorded"));
  h.rectify_measures = "更换探头";
  assert_int_equal(hazard_flow_check(&h, HAZARD_ACT_SUBMIT, "wang", &to, why, sizeof why), -EPERM);
  h.rectifier = "";
  assert_int_equal(hazard_flow_check(&h, HAZARD_ACT_SUBMIT, "wang", &to, why, sizeof why), -EPERM);
  h.rectifier = "wang";
  assert_int_equal(hazard_flow_check(&h, HAZARD_ACT_SUBMIT, "wang", &to, why, sizeof why), 0);
  assert_int_equal(to, 1);
}

static void test_major_hazard_needs_five_in_place(void **state)
{
  (void)state;
  char why[256], missing[128];
  int to;
  struct hazard_facts h = {.state = 0, .danger_level = 1, .rectifier = "wang"};
  assert_int_equal(hazard_flow_missing_five(&h, missing, sizeof missing), 5);
  assert_string_equal(missing, "liable_person, rectify_measures, cost, deadline_ms, contingency_plan");
  assert_int_equal(hazard_flow_check(&h, HAZARD_ACT_SUBMIT, "wang", &to, why, sizeof why), -EPERM);
  assert_non_null(strstr(why, "five-in-place"));
  assert_non_null(strstr(why, "contingency_plan"));

  /* Each field alone missing is named alone and blocks the submission. */
  static const char *const names[] = {"liable_person", "rectify_measures", "cost", "deadline_ms", "contingency_plan"};
  for (int k = 0; k < 5; k++) {
    h = rectified(0, 1);
    switch (k) {
    case 0: h.liable_person = ""; break;
    case 1: h.rectify_measures = NULL; break;
    case 2: h.has_cost = 0; break;
    case 3: h.deadline_ms = 0; break;
    case 4: h.contingency_plan = NULL; break;
    }
    assert_int_equal(hazard_flow_missing_five(&h, missing, sizeof missing), 1);
    assert_string_equal(missing, names[k]);
    assert_int_equal(hazard_flow_check(&h, HAZARD_ACT_SUBMIT, "wang", &to, why, sizeof why), -EPERM);
    assert_non_null(strstr(why, names[k]));
    /* A general hazard with the same gap may be submitted unless the gap is the rectification. */
    h.danger_level = 0;
    assert_int_equal(hazard_flow_check(&h, HAZARD_ACT_SUBMIT, "wang", &to, why, sizeof why), k == 1 ? -EPERM : 0);
  }
  h = rectified(0, 1);
  assert_int_equal(hazard_flow_missing_five(&h, missing, sizeof missing), 0);
  assert_int_equal(hazard_flow_check(&h, HAZARD_ACT_SUBMIT, "wang", &to, why, sizeof why), 0);
}

static void test_verifier_differs_from_rectifier(void **state)
{
  (void)state;
  char why[256];
  int to;
  struct hazard_facts h = rectified(1, 0);
  assert_int_equal(hazard_flow_check(&h, HAZARD_ACT_VERIFY, "wang", &to, why, sizeof why), -EPERM);
  assert_non_null(strstr(why, "verifier must differ"));
  assert_int_equal(hazard_flow_check(&h, HAZARD_ACT_REJECT, "wang", &to, why, sizeof why), -EPERM);
  assert_int_equal(hazard_flow_check(&h, HAZARD_ACT_VERIFY, "zhao", &to, why, sizeof why), 0);
  assert_int_equal(to, 9);
  assert_int_equal(hazard_flow_check(&h, HAZARD_ACT_REJECT, "zhao", &to, why, sizeof why), 0);
  assert_int_equal(to, 0);
}

/* 审核中: only confirm (→ 0) and dismiss (stays -1, dismissed) apply, by someone other than the
 * reporter; a dismissed report takes no action at all. */
static void test_review_of_a_manual_report(void **state)
{
  (void)state;
  static const struct flow_case cases[] = {
    {-1, HAZARD_ACT_RECTIFY, 0, 0}, {-1, HAZARD_ACT_SUBMIT, 0, 0},  {-1, HAZARD_ACT_VERIFY, 0, 0},
    {-1, HAZARD_ACT_REJECT, 0, 0},  {-1, HAZARD_ACT_CONFIRM, 1, 0}, {-1, HAZARD_ACT_DISMISS, 1, -1},
  };
  for (int level = 0; level <= 1; level++) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      const struct flow_case *c = &cases[i];
      struct hazard_facts h = rectified(c->state, level);
      h.reporter = "zhao";
      char why[256] = "";
      int to = 99;
      int rc = hazard_flow_check(&h, c->action, "li", &to, why, sizeof why);
      if (c->allowed) {
        assert_int_equal(rc, 0);
        assert_int_equal(to, c->to);
        /* The reporter may not review his own report. */
        to = 99;
        assert_int_equal(hazard_flow_check(&h, c->action, "zhao", &to, why, sizeof why), -EPERM);
        assert_non_null(strstr(why, "reviewer must differ from the reporter (zhao)"));
        assert_int_equal(to, 99);
      } else {
        assert_int_equal(rc, -EPERM);
        assert_non_null(strstr(why, "awaiting confirmation (审核中)"));
        assert_int_equal(to, 99);
      }
      /* Dismissed: closed, every action refused. */
      h.dismissed = 1;
      assert_int_equal(hazard_flow_check(&h, c->action, "li", &to, why, sizeof why), -EPERM);
      assert_non_null(strstr(why, "dismissed as not a hazard"));
    }
  }
  /* A report without a recorded reporter may be reviewed by anyone. */
  struct hazard_facts h = {.state = -1};
  int to = 99;
  char why[256];
  assert_int_equal(hazard_flow_check(&h, HAZARD_ACT_CONFIRM, "zhao", &to, why, sizeof why), 0);
  assert_int_equal(to, 0);
}

static void test_initial_state(void **state)
{
  (void)state;
  /* Manual reports enter 审核中 only while reports are reviewed. */
  assert_int_equal(hazard_flow_initial_state(1, 1, 1), -1);
  assert_int_equal(hazard_flow_initial_state(1, 1, 10), -1);
  assert_int_equal(hazard_flow_initial_state(0, 1, 1), 0);
  /* The monitoring (dangerSrc 9) and inspection records never do. */
  assert_int_equal(hazard_flow_initial_state(1, 0, 9), 0);
  assert_int_equal(hazard_flow_initial_state(1, 1, 9), 0);
  assert_int_equal(hazard_flow_initial_state(1, 0, 1), 0);
  assert_int_equal(hazard_flow_initial_state(0, 0, 1), 0);
}

static unsigned rights_of(const char *role)
{
  char *roles[] = {(char *)role};
  return hazard_rights(roles, 1);
}

static void test_rights_of_roles(void **state)
{
  (void)state;
  char *none[] = {"safety", "viewer", "maintenance"};
  assert_int_equal(hazard_rights(none, 3), 0);
  assert_int_equal(rights_of("operator"), HAZARD_RIGHT_REPORT);
  assert_int_equal(rights_of("workshop_director") & HAZARD_RIGHT_VERIFY_MAJOR, 0);
  assert_int_not_equal(rights_of("workshop_director") & HAZARD_RIGHT_VERIFY, 0);
  assert_int_equal(rights_of("engineer") & HAZARD_RIGHT_VERIFY_MAJOR, 0);
  assert_int_not_equal(rights_of("safety_director") & HAZARD_RIGHT_VERIFY_MAJOR, 0);
  assert_int_not_equal(rights_of("principal") & HAZARD_RIGHT_VERIFY_MAJOR, 0);
  /* Accepting a major hazard is the principal's alone: no other role, not even admin, gives it. */
  assert_int_equal(rights_of("admin"), 31);
  assert_int_equal(rights_of("safety_director") & HAZARD_RIGHT_ACCEPT_MAJOR, 0);
  assert_int_equal(rights_of("principal"), 63);
  char *both[] = {"safety_director", "engineer"};
  assert_int_equal(hazard_rights(both, 2), 31);
}

/* Who may act at all: 403 (-EACCES) before the closed-loop rules (409) are looked at. */
static void test_who_may_act(void **state)
{
  (void)state;
  char why[256];
  unsigned op = rights_of("operator"), eng = rights_of("engineer"), sd = rights_of("safety_director");
  struct hazard_facts h = rectified(0, 0);
  h.rectifier = NULL;
  assert_int_equal(hazard_flow_may(&h, HAZARD_ACT_RECTIFY, "zhao", 0, why, sizeof why), -EACCES);
  assert_non_null(strstr(why, "no role"));
  assert_int_equal(hazard_flow_may(&h, HAZARD_ACT_RECTIFY, "zhang", op, why, sizeof why), -EACCES);
  assert_int_equal(hazard_flow_may(&h, HAZARD_ACT_ASSIGN, "zhang", op, why, sizeof why), -EACCES);
  assert_int_equal(hazard_flow_may(&h, HAZARD_ACT_RECTIFY, "li", op, why, sizeof why), 0); /* liable */
  h.assignee = "zhang";
  assert_int_equal(hazard_flow_may(&h, HAZARD_ACT_RECTIFY, "zhang", op, why, sizeof why), 0);
  assert_int_equal(hazard_flow_may(&h, HAZARD_ACT_SUBMIT, "zhang", op, why, sizeof why), 0);
  assert_int_equal(hazard_flow_may(&h, HAZARD_ACT_SUBMIT, "sun", op, why, sizeof why), -EACCES);
  assert_int_equal(hazard_flow_may(&h, HAZARD_ACT_RECTIFY, "chen", eng, why, sizeof why), 0);
  assert_int_equal(hazard_flow_may(&h, HAZARD_ACT_CONFIRM, "zhang", op, why, sizeof why), -EACCES);
  assert_int_equal(hazard_flow_may(&h, HAZARD_ACT_CONFIRM, "chen", eng, why, sizeof why), 0);
  h.state = 1;
  assert_int_equal(hazard_flow_may(&h, HAZARD_ACT_VERIFY, "zhang", op, why, sizeof why), -EACCES);
  assert_int_equal(hazard_flow_may(&h, HAZARD_ACT_VERIFY, "chen", eng, why, sizeof why), 0);
  h.danger_level = 1;
  assert_int_equal(hazard_flow_may(&h, HAZARD_ACT_VERIFY, "chen", eng, why, sizeof why), -EACCES);
  assert_non_null(strstr(why, "major hazard"));
  assert_int_equal(hazard_flow_may(&h, HAZARD_ACT_REJECT, "chen", eng, why, sizeof why), -EACCES);
  assert_int_equal(hazard_flow_may(&h, HAZARD_ACT_VERIFY, "wang", sd, why, sizeof why), -EACCES);
  assert_non_null(strstr(why, "principal"));
  assert_int_equal(hazard_flow_may(&h, HAZARD_ACT_VERIFY, "root", rights_of("admin"), why, sizeof why), -EACCES);
  assert_int_equal(hazard_flow_may(&h, HAZARD_ACT_VERIFY, "qian", rights_of("principal"), why, sizeof why), 0);
  assert_int_equal(hazard_flow_may(&h, HAZARD_ACT_REJECT, "qian", rights_of("principal"), why, sizeof why), 0);
}

/* A major hazard is accepted only after an approved expert review; a rejection needs none. */
static void test_major_hazard_needs_expert_review(void **state)
{
  (void)state;
  char why[256];
  int to = -1;
  struct hazard_facts h = rectified(1, 1);
  h.expert_approved = 0;
  assert_int_equal(hazard_flow_check(&h, HAZARD_ACT_VERIFY, "qian", &to, why, sizeof why), -EPERM);
  assert_non_null(strstr(why, "expert review"));
  assert_int_equal(hazard_flow_check(&h, HAZARD_ACT_REJECT, "qian", &to, why, sizeof why), 0);
  assert_int_equal(to, 0);
  h.expert_approved = 1;
  assert_int_equal(hazard_flow_check(&h, HAZARD_ACT_VERIFY, "qian", &to, why, sizeof why), 0);
  assert_int_equal(to, 9);
}

static void test_assign_stays_rectifying(void **state)
{
  (void)state;
  char why[256];
  int to = -1;
  struct hazard_facts h = rectified(0, 0);
  assert_int_equal(hazard_flow_check(&h, HAZARD_ACT_ASSIGN, "li", &to, why, sizeof why), 0);
  assert_int_equal(to, 0);
  h.state = 1;
  assert_int_equal(hazard_flow_check(&h, HAZARD_ACT_ASSIGN, "li", &to, why, sizeof why), -EPERM);
}

static void test_action_names(void **state)
{
  (void)state;
  assert_string_equal(hazard_action_name(HAZARD_ACT_CONFIRM), "confirm");
  assert_string_equal(hazard_action_name(HAZARD_ACT_DISMISS), "dismiss");
  assert_string_equal(hazard_action_name((enum hazard_action)0), "unknown");
  assert_string_equal(hazard_action_name(HAZARD_ACT_ASSIGN), "assign");
  assert_string_equal(hazard_action_name((enum hazard_action)8), "unknown");
  for (int a = HAZARD_ACT_RECTIFY; a <= HAZARD_ACT_ASSIGN; a++)
    assert_int_equal(hazard_action_parse(hazard_action_name((enum hazard_action)a)), a);
  assert_int_equal(hazard_action_parse("close"), -1);
  assert_int_equal(hazard_action_parse(NULL), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_every_action_from_every_state),
    cmocka_unit_test(test_submit_needs_a_rectification),
    cmocka_unit_test(test_major_hazard_needs_five_in_place),
    cmocka_unit_test(test_major_hazard_needs_expert_review),
    cmocka_unit_test(test_verifier_differs_from_rectifier),
    cmocka_unit_test(test_review_of_a_manual_report),
    cmocka_unit_test(test_initial_state),
    cmocka_unit_test(test_action_names),
    cmocka_unit_test(test_rights_of_roles),
    cmocka_unit_test(test_who_may_act),
    cmocka_unit_test(test_assign_stays_rectifying),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
