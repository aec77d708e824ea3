/* Major-hazard governance names and who counts as the principal person in charge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "govern.h"
#include "hazard_flow.h"

static void test_principal_and_delegates(void **state)
{
  (void)state;
  char *principal[] = {"principal"}, *admin[] = {"admin", "safety_director", "engineer"}, *viewer[] = {"viewer"};
  struct dg_person persons[] = {
    {.id = "qian", .roles = principal, .n_roles = 1},
    {.id = "chen", .roles = admin, .n_roles = 3},
    {.id = "sun", .roles = viewer, .n_roles = 1},
  };
  struct dg_person *delegates[] = {&persons[2]};
  struct dg_config cfg = {.principal_delegates = delegates, .n_principal_delegates = 1};
  assert_true(govern_is_principal(&cfg, &persons[0]));
  assert_false(govern_is_principal(&cfg, &persons[1])); /* whatever other roles */
  assert_true(govern_is_principal(&cfg, &persons[2]));
  assert_false(govern_is_principal(&cfg, NULL));
  assert_int_equal(govern_rights(&cfg, &persons[1]) & HAZARD_RIGHT_ACCEPT_MAJOR, 0);
  assert_int_not_equal(govern_rights(&cfg, &persons[1]) & HAZARD_RIGHT_VERIFY_MAJOR, 0);
  unsigned d = govern_rights(&cfg, &persons[2]);
  assert_int_equal(d, HAZARD_RIGHT_REPORT | HAZARD_RIGHT_VERIFY_MAJOR | HAZARD_RIGHT_ACCEPT_MAJOR);
  cfg.n_principal_delegates = 0;
  assert_false(govern_is_principal(&cfg, &persons[2]));
  assert_int_equal(govern_rights(&cfg, &persons[2]), 0);
  assert_int_equal(govern_rights(&cfg, NULL), 0);
}

static void test_names(void **state)
{
  (void)state;
  assert_int_equal(govern_stop_parse("evacuate"), GOVERN_STOP_EVACUATE);
  assert_int_equal(govern_stop_parse("none"), GOVERN_STOP_NONE);
  assert_int_equal(govern_stop_parse("halt"), -1);
  assert_int_equal(govern_stop_parse(NULL), -1);
  assert_string_equal(govern_stop_zh(GOVERN_STOP_PRODUCTION), "停产停业");
  assert_string_equal(govern_stop_name(7), "unknown");
  assert_int_equal(govern_op_state_parse("maintenance"), GOVERN_MAINTENANCE);
  assert_string_equal(govern_op_state_zh(GOVERN_SHUTDOWN), "停产");
  /* Special operations by English name, full Chinese name or the short one. */
  assert_int_equal(govern_op_type_parse("hot_work"), 0);
  assert_int_equal(govern_op_type_parse("动火作业"), 0);
  assert_int_equal(govern_op_type_parse("动火"), 0);
  assert_int_equal(govern_op_type_parse("受限空间"), 1);
  assert_string_equal(govern_op_type_zh(govern_op_type_parse("road_break")), "断路作业");
  assert_int_equal(govern_op_type_parse("作业"), -1);
  assert_int_equal(govern_op_type_parse(""), -1);
  assert_int_equal(govern_op_type_parse("动"), -1);
  assert_int_equal(govern_conclusion_parse("approved"), GOVERN_APPROVED);
  assert_int_equal(govern_conclusion_parse("ok"), -1);
  assert_true(govern_is_document_stage("plan"));
  assert_false(govern_is_document_stage("verify"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_principal_and_delegates),
    cmocka_unit_test(test_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
