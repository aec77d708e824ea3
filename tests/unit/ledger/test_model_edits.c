/* config_load_edits: plant-model edits replayed over a YAML text, validated like the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static const char *const plant =
  "site: { code: T1 }\n"
  "persons:\n"
  "  - { id: wang, roles: [engineer] }\n"
  "hazard_sources:\n"
  "  - id: HS1\n"
  "    name: tank farm\n"
  "    units:\n"
  "      - id: U1\n"
  "        name: tank 1\n"
  "        responsible: { dept: ops, person: wang }\n"
  "        events:\n"
  "          - id: E1\n"
  "            accident_type: 中毒和窒息\n"
  "            lec: { l: 1, e: 6, c: 7 }\n"
  "            measures:\n"
  "              - { id: M1, classify: \"1-4\", data_src: 1 }\n"
  "              - { id: M2, classify: \"2\", data_src: 2 }\n"
  "mqtt:\n"
  "  - { id: main, uri: tcp://127.0.0.1:1883 }\n"
  "points:\n"
  "  - { id: GT1, unit_id: U1, driver: mqtt.main, topic: t/gt1 }\n"
  "rules:\n"
  "  - { id: R1, type: high, point: GT1, measure: M1, stages: [ { name: H, limit: 25, priority: high } ] }\n";

static struct dg_config *load(const struct config_edit *e, size_t n, int want_rc, char *err, size_t errlen)
{
  struct dg_config *c = NULL;
  int rc = config_load_edits_string("t.yaml", plant, strlen(plant), e, n, &c, err, errlen);
  if (rc != want_rc) print_error("rc %d: %s\n", rc, err);
  assert_int_equal(rc, want_rc);
  if (want_rc) assert_null(c);
  else assert_non_null(c);
  return c;
}

static void test_create_update_delete(void **state)
{
  char err[512] = "";
  const struct config_edit e[] = {
    {1, "create", "unit", "U2", "HS1", "{\"id\":\"U2\",\"name\":\"loading bay\"}"},
    {2, "create", "event", "E2", "U2", "{\"id\":\"E2\",\"name\":\"leak\",\"lec\":{\"l\":3,\"e\":6,\"c\":40}}"},
    {3, "create", "measure", "M3", "E2", "{\"id\":\"M3\",\"classify\":\"1-2\",\"data_src\":1}"},
    {4, "update", "event", "E1", NULL, "{\"lec\":null,\"ls\":{\"l\":4,\"s\":5},\"name\":\"overfill\"}"},
    {5, "delete", "measure", "M2", NULL, NULL},
    {6, "create", "hazard_source", "HS2", NULL, "{\"id\":\"HS2\",\"major\":true,\"major_grade\":3}"},
  };
  struct dg_config *c = load(e, 6, 0, err, sizeof err);
  assert_int_equal(c->n_edits_applied, 6);
  assert_int_equal(c->n_edits_skipped, 0);
  assert_int_equal(c->n_sources, 2);
  assert_true(c->sources[1].is_major);
  assert_int_equal(c->sources[1].major_grade, 3);
  const struct dg_unit *u2 = dg_config_unit(c, "U2");
  assert_non_null(u2);
  assert_string_equal(u2->name, "loading bay");
  assert_int_equal(u2->n_events, 1);
  assert_true(u2->events[0].score == 720);
  assert_int_equal(u2->level, DG_LEVEL_RED);
  assert_ptr_equal(dg_config_measure(c, "M3")->event, &u2->events[0]);
  const struct dg_unit *u1 = dg_config_unit(c, "U1");
  assert_int_equal(u1->events[0].method, DG_ASSESS_LS);
  assert_true(u1->events[0].score == 20);
  assert_string_equal(u1->events[0].name, "overfill");
  assert_string_equal(u1->events[0].accident_type, "中毒和窒息"); /* keys not given are kept */
  assert_int_equal(u1->events[0].n_measures, 1);
  assert_null(dg_config_measure(c, "M2"));
  config_free(c);
}

static void test_invalid_edit_names_field_without_position(void **state)
{
  char err[512] = "";
  const struct config_edit e[] = {{7, "update", "event", "E1", NULL, "{\"lec\":{\"l\":4,\"e\":6,\"c\":7}}"}};
  load(e, 1, -EINVAL, err, sizeof err);
  assert_string_equal(err, "t.yaml: hazard_sources[0].units[0].events[0].lec.l: 4 is not in the LEC table "
                           "(expected one of 10, 6, 3, 1, 0.5, 0.2, 0.1)");

  const struct config_edit bad_key[] = {{8, "create", "measure", "M9", "E1", "{\"id\":\"M9\",\"data_src\":3}"}};
  load(bad_key, 1, -EINVAL, err, sizeof err);
  assert_string_equal(err, "t.yaml: hazard_sources[0].units[0].events[0].measures[2].data_src: "
                           "expected an integer from 1 to 2, got '3'");

  const struct config_edit person[] = {{9, "update", "unit", "U1", NULL, "{\"responsible\":{\"person\":\"li\"}}"}};
  load(person, 1, -EINVAL, err, sizeof err);
  assert_string_equal(err, "t.yaml: hazard_sources[0].units[0].responsible.person: unknown person 'li'");
}

static void test_vanished_target_is_skipped(void **state)
{
  char err[512] = "";
  const struct config_edit e[] = {
    {1, "update", "unit", "U7", NULL, "{\"name\":\"gone\"}"},
    {2, "create", "measure", "M7", "E7", "{\"id\":\"M7\",\"data_src\":1}"},
    {3, "delete", "event", "E7", NULL, NULL},
    {4, "update", "unit", "U1", NULL, "{\"name\":\"renamed\"}"},
  };
  struct dg_config *c = load(e, 4, 0, err, sizeof err);
  assert_int_equal(c->n_edits_applied, 1);
  assert_int_equal(c->n_edits_skipped, 3);
  assert_string_equal(dg_config_unit(c, "U1")->name, "renamed");
  config_free(c);
}

static void test_id_collision_refused(void **state)
{
  char err[512] = "";
  /* a create whose id the file already has is not applied: the file's entity stays */
  const struct config_edit e[] = {{1, "create", "measure", "M1", "E1", "{\"id\":\"M1\",\"data_src\":2}"}};
  struct dg_config *c = load(e, 1, 0, err, sizeof err);
  assert_int_equal(c->n_edits_skipped, 1);
  assert_int_equal(dg_config_measure(c, "M1")->data_src, 1);
  config_free(c);
  /* the same id under another parent of the same kind is a duplicate for the loader */
  const struct config_edit dup[] = {
    {1, "create", "unit", "U2", "HS1", "{\"id\":\"U2\",\"events\":[{\"id\":\"E1\",\"ls\":{\"l\":1,\"s\":1}}]}"}};
  load(dup, 1, -EINVAL, err, sizeof err);
  assert_string_equal(err, "t.yaml: hazard_sources[0].units[1].events[0].id: duplicate event id 'E1'");
}

static void test_delete_of_bound_measure_refused_by_loader(void **state)
{
  char err[512] = "";
  const struct config_edit e[] = {{1, "delete", "measure", "M1", NULL, NULL}};
  load(e, 1, -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "rules[0].measure: unknown measure 'M1'"));
  const struct config_edit u[] = {{1, "delete", "unit", "U1", NULL, NULL}};
  load(u, 1, -EINVAL, err, sizeof err);
  assert_non_null(strstr(err, "points[0].unit_id: unknown unit 'U1'"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_create_update_delete),
    cmocka_unit_test(test_invalid_edit_names_field_without_position),
    cmocka_unit_test(test_vanished_target_is_skipped),
    cmocka_unit_test(test_id_collision_refused),
    cmocka_unit_test(test_delete_of_bound_measure_refused_by_loader),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
