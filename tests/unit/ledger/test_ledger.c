/* Hazard automation: open on the first activation of an automated measure, append while open,
 * remember open hazards across a restart. Uses the real store on a temporary database. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ledger.h"
#include "plant_fixture.h"
#include "store.h"

struct fixture {
  struct plant p; /* up to the store, on cfg */
  struct dg_config cfg;
  struct dg_hazard_source source;
  struct dg_unit unit;
  struct dg_event event;
  struct dg_measure measures[3];
  struct dg_point point;
  struct dg_rule rules[4];
};

static void fixture_model(struct fixture *f)
{
  f->cfg.site_code = "410700-0001";
  f->cfg.hazard_deadline_days = 7;
  f->source = (struct dg_hazard_source){.id = "HS01", .name = "罐区", .is_major = true, .units = &f->unit, .n_units = 1};
  f->unit = (struct dg_unit){.id = "U01", .name = "1#罐", .person = "li", .hazard_level = -1, .events = &f->event, .n_events = 1,
                             .source = &f->source};
  f->event = (struct dg_event){.id = "E01", .name = "泄漏", .measures = f->measures, .n_measures = 3, .unit = &f->unit};
  f->measures[0] = (struct dg_measure){.id = "M01", .desc = "检测报警有效", .data_src = 1, .event = &f->event};
  f->measures[1] = (struct dg_measure){.id = "M02", .desc = "巡检", .data_src = 2, .event = &f->event};
  f->measures[2] = (struct dg_measure){.id = "M03", .desc = "联锁有效", .data_src = 1, .event = &f->event};
  f->point = (struct dg_point){.id = "GT101", .name = "气体", .eng_unit = "%LEL"};
  const struct dg_measure *m[] = {&f->measures[0], &f->measures[0], &f->measures[1], NULL};
  for (int i = 0; i < 4; i++) {
    f->rules[i] = (struct dg_rule){.id = (char *[]){"R1", "R2", "R3", "R4"}[i], .type = DG_RULE_HIGH, .point = &f->point,
                                   .measure = (struct dg_measure *)m[i], .n_stages = 1, .hazard_level = -1};
    f->rules[i].stages[0] = (struct dg_stage){.name = "H", .limit = 25, .priority = DG_PRIO_HIGH};
  }
  f->rules[1].hazard_level = 1;
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);
  fixture_model(f);
  plant_init_with(&f->p, &f->cfg);
  plant_start_to(&f->p, PLANT_STORE);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  plant_stop(&f->p);
  plant_free(&f->p);
  free(f);
  return 0;
}

struct write_job {
  struct hazard_change hc;
  int rc;
};

static int write_work(struct store_conn *c, void *arg) { return hazard_write(c, &((struct write_job *)arg)->hc); }
static void write_done(void *arg, int rc) { ((struct write_job *)arg)->rc = rc; }

static void persist(struct fixture *f, struct hazard_change *hc)
{
  struct write_job job = {.hc = *hc, .rc = 1};
  assert_int_equal(store_submit(f->p.store, write_work, write_done, &job), 0);
  store_wait_idle(f->p.store);
  assert_int_equal(job.rc, 0);
  hazard_change_release(hc);
}

static int64_t count(struct fixture *f, const char *sql)
{
  sqlite3_stmt *st = store_stmt(store_reader(f->p.store), sql);
  assert_non_null(st);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return n;
}

static void test_open_then_append_for_same_measure(void **state)
{
  struct fixture *f = *state;
  struct ledger *l;
  struct hazard_change hc;
  assert_int_equal(ledger_open(&l, &f->cfg, f->p.store), 0);
  uint64_t gen = ledger_generation(l);
  assert_int_equal(hazard_on_activation(l, &f->rules[0], 0, 30.5, 11, 1700000000000, &hc), 1);
  assert_int_equal(hc.kind, HAZARD_OPEN);
  assert_int_equal(hc.hazard_id, 1);
  assert_int_equal(hc.danger_level, 0);
  assert_int_equal(ledger_generation(l), gen); /* a general hazard: the open majors are as they were */
  assert_int_equal(hc.deadline_ms, 1700000000000 + 7 * 86400000LL);
  assert_non_null(strstr(hc.code, "410700-0001-YH-"));
  assert_non_null(strstr(hc.description, "检测报警有效"));
  char code[64];
  strcpy(code, hc.code);
  persist(f, &hc);

  /* Another rule proving the same measure failed: appended, not a second hazard. */
  assert_int_equal(hazard_on_activation(l, &f->rules[1], 0, 31, 12, 1700000001000, &hc), 1);
  assert_int_equal(hc.kind, HAZARD_APPEND);
  assert_int_equal(hc.hazard_id, 1);
  assert_string_equal(hc.code, code);
  assert_int_equal(ledger_generation(l), gen);
  persist(f, &hc);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM hazards"), 1);
  assert_int_equal(count(f, "SELECT occurrences FROM hazards WHERE id = 1"), 2);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM hazard_occurrences WHERE hazard_id = 1"), 2);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM hazards WHERE danger_src = 9 AND danger_state = 0"
                            " AND measure = 'M01' AND unit = 'U01' AND event = 'E01' AND hazard_source = 'HS01'"
                            " AND liable_person = 'li' AND alarm_id = 11"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM hazard_journal WHERE hazard_id = 1 AND action = 'register'"), 1);
  assert_int_equal(ledger_open_count(l), 1);
  ledger_close(l);
}

static void test_no_hazard_without_automated_measure(void **state)
{
  struct fixture *f = *state;
  struct ledger *l;
  struct hazard_change hc;
  assert_int_equal(ledger_open(&l, &f->cfg, f->p.store), 0);
  assert_int_equal(hazard_on_activation(l, &f->rules[2], 0, 30, 1, 1000, &hc), 0); /* data_src 2 */
  assert_int_equal(hazard_on_activation(l, &f->rules[3], 0, 30, 1, 1000, &hc), 0); /* no measure */
  assert_int_equal(ledger_open_count(l), 0);
  ledger_close(l);
}

static void test_rule_level_override_and_open_hazards_survive_restart(void **state)
{
  struct fixture *f = *state;
  struct ledger *l;
  struct hazard_change hc;
  assert_int_equal(ledger_open(&l, &f->cfg, f->p.store), 0);
  uint64_t gen = ledger_generation(l);
  assert_int_equal(hazard_on_activation(l, &f->rules[1], 0, 30, 5, 1000, &hc), 1);
  assert_int_equal(hc.danger_level, 1);
  assert_true(ledger_generation(l) != gen); /* a new open major hazard: the risk watch looks again */
  persist(f, &hc);
  ledger_close(l);
  plant_close_store(&f->p);

  plant_open_store(&f->p);
  assert_int_equal(ledger_open(&l, &f->cfg, f->p.store), 0);
  assert_int_equal(ledger_open_count(l), 1);
  assert_int_equal(hazard_on_activation(l, &f->rules[0], 0, 30, 5, 2000, &hc), 1);
  assert_int_equal(hc.kind, HAZARD_APPEND);
  assert_int_equal(hc.hazard_id, 1);
  hazard_change_release(&hc);
  /* A new measure gets the next free id. */
  f->rules[3].measure = &f->measures[2];
  assert_int_equal(hazard_on_activation(l, &f->rules[3], 0, 30, 6, 3000, &hc), 1);
  assert_int_equal(hc.kind, HAZARD_OPEN);
  assert_int_equal(hc.hazard_id, 2);
  hazard_change_release(&hc);
  ledger_close(l);
}

/* Without a level or deadline on the rule, the unit's hazard_policy decides; the rule's own
 * values still win over it. */
static void test_unit_policy_decides_unless_the_rule_does(void **state)
{
  struct fixture *f = *state;
  struct ledger *l;
  struct hazard_change hc;
  f->unit.hazard_level = 1;
  f->unit.hazard_deadline_days = 3;
  f->rules[1].hazard_level = 0;
  f->rules[1].hazard_deadline_days = 10;
  f->rules[3].measure = &f->measures[2];
  assert_int_equal(ledger_open(&l, &f->cfg, f->p.store), 0);
  assert_int_equal(hazard_on_activation(l, &f->rules[0], 0, 30, 5, 1000, &hc), 1);
  assert_int_equal(hc.danger_level, 1);
  assert_int_equal(hc.deadline_ms, 1000 + 3 * 86400000LL);
  hazard_change_release(&hc);
  assert_int_equal(hazard_on_activation(l, &f->rules[3], 0, 30, 6, 1000, &hc), 1); /* M03: another measure */
  assert_int_equal(hc.kind, HAZARD_OPEN);
  hazard_change_release(&hc);
  ledger_close(l);
  /* the rule's own level and deadline */
  assert_int_equal(ledger_open(&l, &f->cfg, f->p.store), 0);
  f->rules[1].measure = &f->measures[0];
  assert_int_equal(hazard_on_activation(l, &f->rules[1], 0, 30, 7, 2000, &hc), 1);
  assert_int_equal(hc.danger_level, 0);
  assert_int_equal(hc.deadline_ms, 2000 + 10 * 86400000LL);
  hazard_change_release(&hc);
  ledger_close(l);
}

static void test_forgotten_hazard_lets_the_measure_open_a_new_one(void **state)
{
  struct fixture *f = *state;
  struct ledger *l;
  struct hazard_change hc;
  char code[64];
  assert_int_equal(ledger_open(&l, &f->cfg, f->p.store), 0);
  assert_int_equal(hazard_on_activation(l, &f->rules[0], 0, 30, 5, 1000, &hc), 1);
  assert_int_equal(hc.hazard_id, 1);
  persist(f, &hc);
  /* A manual report takes the next id, shared with automation. */
  assert_int_equal(ledger_alloc_hazard(l, 1700000000000, code, sizeof code), 2);
  assert_non_null(strstr(code, "410700-0001-YH-"));
  assert_non_null(strstr(code, "-0002"));
  ledger_forget(l, 2); /* not an automatic hazard: nothing to forget */
  assert_int_equal(ledger_open_count(l), 1);
  ledger_forget(l, 1);
  assert_int_equal(ledger_open_count(l), 0);
  assert_int_equal(hazard_on_activation(l, &f->rules[1], 0, 31, 6, 2000, &hc), 1);
  assert_int_equal(hc.kind, HAZARD_OPEN);
  assert_int_equal(hc.hazard_id, 3);
  hazard_change_release(&hc);
  assert_int_equal(ledger_open_count(l), 1);
  /* The measure's new hazard is the one later activations append to. */
  assert_int_equal(hazard_on_activation(l, &f->rules[1], 0, 32, 7, 3000, &hc), 1);
  assert_int_equal(hc.kind, HAZARD_APPEND);
  assert_int_equal(hc.hazard_id, 3);
  hazard_change_release(&hc);
  ledger_forget(l, 1); /* forgotten already: nothing changes */
  assert_int_equal(ledger_open_count(l), 1);
  ledger_close(l);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_open_then_append_for_same_measure, setup, teardown),
    cmocka_unit_test_setup_teardown(test_no_hazard_without_automated_measure, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rule_level_override_and_open_hazards_survive_restart, setup, teardown),
    cmocka_unit_test_setup_teardown(test_unit_policy_decides_unless_the_rule_does, setup, teardown),
    cmocka_unit_test_setup_teardown(test_forgotten_hazard_lets_the_measure_open_a_new_one, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
