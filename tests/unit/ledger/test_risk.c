/* Dynamic four-colour risk: the level an alarm priority implies, the current level from the
 * assessment, active alarms and open major hazards, rising and falling with them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "risk.h"

static void test_priority_to_level(void **state)
{
  (void)state;
  assert_int_equal(risk_level_of_priority(DG_PRIO_CRITICAL), DG_LEVEL_RED);
  assert_int_equal(risk_level_of_priority(DG_PRIO_HIGH), DG_LEVEL_ORANGE);
  assert_int_equal(risk_level_of_priority(DG_PRIO_MEDIUM), DG_LEVEL_YELLOW);
  assert_int_equal(risk_level_of_priority(DG_PRIO_LOW), DG_LEVEL_BLUE);
  assert_int_equal(risk_level_of_priority(DG_PRIO_NONE), DG_LEVEL_NONE);
}

static void test_current_level_table(void **state)
{
  (void)state;
  static const struct {
    enum dg_level assessed, alarms;
    int major;
    enum dg_level current;
    enum risk_cause cause;
  } cases[] = {
    {DG_LEVEL_BLUE, DG_LEVEL_NONE, 0, DG_LEVEL_BLUE, RISK_BY_ASSESSMENT},
    {DG_LEVEL_BLUE, DG_LEVEL_BLUE, 0, DG_LEVEL_BLUE, RISK_BY_ASSESSMENT},
    {DG_LEVEL_BLUE, DG_LEVEL_YELLOW, 0, DG_LEVEL_YELLOW, RISK_BY_ALARM},
    {DG_LEVEL_YELLOW, DG_LEVEL_ORANGE, 0, DG_LEVEL_ORANGE, RISK_BY_ALARM},
    {DG_LEVEL_ORANGE, DG_LEVEL_RED, 0, DG_LEVEL_RED, RISK_BY_ALARM},
    {DG_LEVEL_RED, DG_LEVEL_ORANGE, 0, DG_LEVEL_RED, RISK_BY_ASSESSMENT},
    {DG_LEVEL_YELLOW, DG_LEVEL_NONE, 1, DG_LEVEL_RED, RISK_BY_MAJOR_HAZARD},
    {DG_LEVEL_BLUE, DG_LEVEL_ORANGE, 1, DG_LEVEL_RED, RISK_BY_MAJOR_HAZARD},
    {DG_LEVEL_ORANGE, DG_LEVEL_RED, 1, DG_LEVEL_RED, RISK_BY_ALARM},
    {DG_LEVEL_RED, DG_LEVEL_NONE, 1, DG_LEVEL_RED, RISK_BY_ASSESSMENT},
    {DG_LEVEL_NONE, DG_LEVEL_NONE, 0, DG_LEVEL_NONE, RISK_BY_ASSESSMENT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    enum risk_cause cause = (enum risk_cause)-1;
    assert_int_equal(risk_current_level(cases[i].assessed, cases[i].alarms, cases[i].major, &cause), cases[i].current);
    assert_int_equal(cause, cases[i].cause);
  }
  assert_string_equal(risk_cause_name(RISK_BY_MAJOR_HAZARD), "major_hazard");
}

struct plant {
  struct dg_config cfg;
  struct dg_hazard_source source;
  struct dg_unit units[2];
  struct dg_event event;
  struct dg_measure measure;
  struct dg_point points[3];
  struct dg_rule rules[3];
  struct alarm alarms[3];
};

/* U01 (yellow) holds measure M01 watched by R1 on GT1; R2 watches GT2 of U02 (blue) without a
 * measure; R3's point belongs to no unit. */
static void plant_init(struct plant *p)
{
  memset(p, 0, sizeof *p);
  p->source = (struct dg_hazard_source){.id = "HS01", .units = p->units, .n_units = 2};
  p->units[0] = (struct dg_unit){.id = "U01", .level = DG_LEVEL_YELLOW, .events = &p->event, .n_events = 1,
                                 .source = &p->source};
  p->units[1] = (struct dg_unit){.id = "U02", .level = DG_LEVEL_BLUE, .source = &p->source};
  p->event = (struct dg_event){.id = "E01", .measures = &p->measure, .n_measures = 1, .unit = &p->units[0]};
  p->measure = (struct dg_measure){.id = "M01", .data_src = 1, .event = &p->event};
  p->points[0] = (struct dg_point){.id = "GT1"};
  p->points[1] = (struct dg_point){.id = "GT2", .unit_id = "U02"};
  p->points[2] = (struct dg_point){.id = "TT3"};
  for (int i = 0; i < 3; i++) {
    p->rules[i] = (struct dg_rule){.id = (char *[]){"R1", "R2", "R3"}[i], .type = DG_RULE_HIGH, .point = &p->points[i],
                                   .n_stages = 1, .index = (size_t)i};
    p->rules[i].stages[0] = (struct dg_stage){.name = "H", .limit = 1, .priority = DG_PRIO_HIGH};
    alarm_init(&p->alarms[i], &p->rules[i], i + 1);
  }
  p->rules[0].measure = &p->measure;
  p->cfg.sources = &p->source;
  p->cfg.n_sources = 1;
  p->cfg.rules = p->rules;
  p->cfg.n_rules = 3;
  p->cfg.points = p->points;
  p->cfg.n_points = 3;
}

static void activate(struct plant *p, int rule, enum dg_priority prio)
{
  p->alarms[rule].state = ALARM_UNACK;
  p->alarms[rule].stage = 0;
  p->alarms[rule].priority = prio;
}

static void test_units_rise_and_fall_with_alarms_and_major_hazards(void **state)
{
  (void)state;
  struct plant p;
  plant_init(&p);
  struct risk_unit *u;
  size_t n;

  assert_int_equal(risk_evaluate(&p.cfg, p.alarms, NULL, 0, &u, &n), 0);
  assert_int_equal(n, 2);
  assert_int_equal(u[0].current, DG_LEVEL_YELLOW);
  assert_int_equal(u[1].current, DG_LEVEL_BLUE);
  assert_null(u[0].alarm);
  free(u);

  /* Rises: R1 high → U01 orange; R2 low on U02 stays blue; R3 (no unit) affects nobody. */
  activate(&p, 0, DG_PRIO_HIGH);
  activate(&p, 1, DG_PRIO_LOW);
  activate(&p, 2, DG_PRIO_CRITICAL);
  assert_int_equal(risk_evaluate(&p.cfg, p.alarms, NULL, 0, &u, &n), 0);
  assert_int_equal(u[0].current, DG_LEVEL_ORANGE);
  assert_int_equal(u[0].cause, RISK_BY_ALARM);
  assert_ptr_equal(u[0].alarm, &p.alarms[0]);
  assert_int_equal(u[1].current, DG_LEVEL_BLUE);
  assert_int_equal(u[1].alarm_level, DG_LEVEL_BLUE);
  assert_int_equal(u[1].cause, RISK_BY_ASSESSMENT);
  free(u);

  /* Escalation to critical → red; an open major hazard of U02 → red. */
  p.alarms[0].priority = DG_PRIO_CRITICAL;
  struct risk_major majors[] = {{"U02", 7}, {"U99", 8}};
  assert_int_equal(risk_evaluate(&p.cfg, p.alarms, majors, 2, &u, &n), 0);
  assert_int_equal(u[0].current, DG_LEVEL_RED);
  assert_int_equal(u[1].current, DG_LEVEL_RED);
  assert_int_equal(u[1].cause, RISK_BY_MAJOR_HAZARD);
  assert_int_equal(u[1].major_hazard_id, 7);
  free(u);

  /* Falls back to the assessment once the alarms clear and the hazard is closed. */
  for (int i = 0; i < 3; i++) {
    p.alarms[i].state = i == 0 ? ALARM_RTN_UNACK : ALARM_NORMAL;
    p.alarms[i].stage = -1;
  }
  assert_int_equal(risk_evaluate(&p.cfg, p.alarms, NULL, 0, &u, &n), 0);
  assert_int_equal(u[0].current, DG_LEVEL_YELLOW);
  assert_int_equal(u[0].cause, RISK_BY_ASSESSMENT);
  assert_null(u[0].alarm);
  assert_int_equal(u[1].current, DG_LEVEL_BLUE);
  free(u);
}

/* Rules by unit: each unit's evaluation reads the alarms of its own rules only. */
static void test_index_evaluates_a_unit_from_its_rules(void **state)
{
  (void)state;
  struct plant p;
  plant_init(&p);
  struct risk_index x;
  assert_int_equal(risk_index_build(&x, &p.cfg), 0);
  assert_int_equal(x.n_units, 2);
  assert_int_equal(risk_index_find(&x, "U02"), 1);
  assert_int_equal(risk_index_find(&x, "U03"), RISK_NO_UNIT);
  assert_int_equal(x.rule_unit[0], 0);
  assert_int_equal(x.rule_unit[1], 1);
  assert_int_equal(x.rule_unit[2], RISK_NO_UNIT);
  assert_int_equal(x.unit_rule_off[1] - x.unit_rule_off[0], 1);
  assert_int_equal(x.unit_rules[x.unit_rule_off[1]], 1);

  activate(&p, 1, DG_PRIO_CRITICAL); /* U02's rule */
  activate(&p, 2, DG_PRIO_CRITICAL); /* nobody's */
  struct risk_unit u;
  risk_evaluate_unit(&x, p.alarms, 0, 0, &u);
  assert_int_equal(u.current, DG_LEVEL_YELLOW);
  assert_null(u.alarm);
  risk_evaluate_unit(&x, p.alarms, 1, 0, &u);
  assert_int_equal(u.current, DG_LEVEL_RED);
  assert_ptr_equal(u.alarm, &p.alarms[1]);
  risk_evaluate_unit(&x, p.alarms, 0, 9, &u);
  assert_int_equal(u.current, DG_LEVEL_RED);
  assert_int_equal(u.cause, RISK_BY_MAJOR_HAZARD);
  risk_index_free(&x);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_priority_to_level),
    cmocka_unit_test(test_current_level_table),
    cmocka_unit_test(test_units_rise_and_fall_with_alarms_and_major_hazards),
    cmocka_unit_test(test_index_evaluates_a_unit_from_its_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
