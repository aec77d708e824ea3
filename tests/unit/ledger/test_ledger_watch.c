/* Overdue hazards: flagged once each, journaled, announced to the channels of the policy for
 * their level; dynamic risk level changes recorded; inspection tasks generated per period (the
 * measure's check_cycle, work days of the site calendar) and missed ones marked 未排查 and
 * announced; tasks of monitored measures judged from the monitoring history. The clock is given
 * by the test; real store on a temporary database. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "history_pack.h"
#include "ledger_watch.h"
#include "plant_fixture.h"
#include "store_gate.h"
#include "workcal.h"
#include "inspect.h"
#include "task_pass.h"

struct fixture {
  struct plant p; /* up to the notifier, on cfg */
  struct engine engine; /* built here, around alarm */
  struct ledger_watch *watch;
  struct dg_config cfg;
  struct dg_person person;
  struct dg_channel channels[2];
  struct dg_channel *pol_channels[2];
  struct dg_policy policies[2];
  struct dg_hazard_source source;
  struct dg_unit unit;
  struct dg_event event;
  struct dg_measure measures[2];
  struct dg_point point;
  struct dg_rule rule;
  struct alarm alarm;
  struct gate gate; /* opened by teardown too: a failed test must not leave the read lane held */
};

static void fixture_model(struct fixture *f)
{
  f->cfg.site_code = "410700-0001";
  f->cfg.site_name = "测试化工";
  f->cfg.history_flush_ms = 100;
  f->person = (struct dg_person){.id = "li", .name = "李主任"};
  f->cfg.persons = &f->person;
  f->cfg.n_persons = 1;
  /* Nothing listens on port 1: deliveries stay pending in the outbox, which is what is checked. */
  f->channels[0] = (struct dg_channel){.id = "shift", .type = DG_CHANNEL_WEBHOOK, .url = "http://127.0.0.1:1/h",
                                       .timeout_ms = 1000, .expire_s = 3600};
  f->channels[1] = (struct dg_channel){.id = "director", .type = DG_CHANNEL_WEBHOOK, .url = "http://127.0.0.1:1/d",
                                       .timeout_ms = 1000, .expire_s = 3600};
  f->pol_channels[0] = &f->channels[0];
  f->pol_channels[1] = &f->channels[1];
  f->policies[0] = (struct dg_policy){.id = "high", .priority_mask = 1u << DG_PRIO_HIGH,
                                      .channels = &f->pol_channels[0], .n_channels = 1};
  f->policies[1] = (struct dg_policy){.id = "critical", .priority_mask = 1u << DG_PRIO_CRITICAL,
                                      .channels = &f->pol_channels[1], .n_channels = 1};
  f->cfg.channels = f->channels;
  f->cfg.n_channels = 2;
  f->cfg.policies = f->policies;
  f->cfg.n_policies = 2;
  /* U01, assessed yellow, with measure M01 watched by rule R1 and M02 checked by inspection. */
  f->source = (struct dg_hazard_source){.id = "HS01", .units = &f->unit, .n_units = 1};
  f->unit = (struct dg_unit){.id = "U01", .level = DG_LEVEL_YELLOW, .events = &f->event, .n_events = 1,
                             .source = &f->source};
  f->event = (struct dg_event){.id = "E01", .level = DG_LEVEL_YELLOW, .measures = f->measures, .n_measures = 2,
                               .unit = &f->unit};
  f->measures[0] = (struct dg_measure){.id = "M01", .data_src = 1, .event = &f->event};
  f->measures[1] = (struct dg_measure){.id = "M02", .data_src = 2, .event = &f->event}; /* inspected */
  f->point = (struct dg_point){.id = "GT1"};
  f->rule = (struct dg_rule){.id = "R1", .type = DG_RULE_HIGH, .point = &f->point, .measure = &f->measures[0], .n_stages = 1};
  f->rule.stages[0] = (struct dg_stage){.name = "H", .limit = 25, .priority = DG_PRIO_HIGH};
  alarm_init(&f->alarm, &f->rule, 1);
  f->source.is_major = true;
  f->cfg.sources = &f->source;
  f->cfg.n_sources = 1;
  f->cfg.points = &f->point;
  f->cfg.n_points = 1;
  f->cfg.rules = &f->rule;
  f->cfg.n_rules = 1;
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);
  fixture_model(f);
  gate_init(&f->gate);
  plant_init_with(&f->p, &f->cfg);
  plant_start_to(&f->p, PLANT_NOTIFY);
  f->engine = (struct engine){.loop = &f->p.loop, .cfg = &f->cfg, .store = f->p.store, .notify = f->p.notify,
                              .alarms = &f->alarm};
  assert_int_equal(ledger_watch_start(&f->watch, &f->engine), 0);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  gate_open(&f->gate);
  store_wait_idle(f->p.store);
  ledger_watch_close(f->watch);
  plant_stop(&f->p);
  gate_destroy(&f->gate); /* the reader has left it: the store is closed */
  plant_free(&f->p);
  free(f);
  return 0;
}

struct exec_job {
  const char *sql;
  int rc;
};

static int exec_work(struct store_conn *c, void *arg)
{
  struct exec_job *j = arg;
  return sqlite3_exec(store_conn_db(c), j->sql, NULL, NULL, NULL);
}

static void exec_done(void *arg, int rc) { ((struct exec_job *)arg)->rc = rc; }

/* Runs sql on store s (the main one or its history), then waits for both, so that the jobs the
 * test started before are committed too. */
static void exec_sql_on(struct fixture *f, struct store *s, const char *sql)
{
  struct exec_job j = {sql, 1};
  assert_int_equal(store_submit(s, exec_work, exec_done, &j), 0);
  store_wait_idle(f->p.store);
  assert_int_equal(j.rc, 0);
}

static void exec_sql(struct fixture *f, const char *sql) { exec_sql_on(f, f->p.store, sql); }

/* Samples live in the history database beside the main one. */
static void exec_history_sql(struct fixture *f, const char *sql) { exec_sql_on(f, store_history(f->p.store), sql); }

/* A one-number query on the reader, prepared afresh: the store's statement cache is keyed by the
 * SQL pointer, and the tests build SQL in reused buffers. ?1 and ?2 are bound to a and b. */
static int64_t count_ab(struct fixture *f, const char *sql, int64_t a, int64_t b)
{
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(store_conn_db(store_reader(f->p.store)), sql, -1, &st, NULL), SQLITE_OK);
  if (sqlite3_bind_parameter_count(st) >= 2) {
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
  }
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

static int64_t count(struct fixture *f, const char *sql) { return count_ab(f, sql, 0, 0); }

#define HAZARD_ROW(id, level, state, deadline)                                                               \
  "INSERT INTO hazards (id, code, danger_level, danger_src, danger_manage_type, hazard_danger_type,"       \
  " danger_state, description, liable_person, deadline_ms, created_ms, updated_ms) VALUES (" #id ", 'YH-" #id \
  "', " #level ", 1, 1, 1, " #state ", '地沟积水', 'li', " #deadline ", 1, 1);"

/* The test's clock reads China Standard Time, as the site's does. */
static void use_cst(void)
{
  setenv("TZ", "CST-8", 1);
  tzset();
}

/* The event keeps only the monitored measure M01, checked once per `unit`. */
static void only_monitored_m01(struct fixture *f, enum inspect_unit unit)
{
  use_cst();
  f->event.measures = &f->measures[0];
  f->event.n_measures = 1;
  f->measures[0].cycle_n = 1;
  f->measures[0].cycle_unit = unit;
}

static void test_overdue_flagged_once_and_announced_by_level(void **state)
{
  struct fixture *f = *state;
  exec_sql(f, HAZARD_ROW(1, 0, 0, 1000) HAZARD_ROW(2, 0, 9, 1000) HAZARD_ROW(3, 1, 1, 5000) HAZARD_ROW(4, 0, 0, NULL));

  assert_int_equal(ledger_watch_overdue(f->watch, 1000), 0); /* due at, not past, its deadline */
  assert_int_equal(ledger_watch_overdue(f->watch, 2000), 1);
  assert_int_equal(ledger_watch_overdue(f->watch, 2000), 0); /* the first scan is not committed yet */
  store_wait_idle(f->p.store);
  assert_int_equal(count(f, "SELECT overdue_ms FROM hazards WHERE id = 1"), 2000);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM hazards WHERE overdue_ms IS NOT NULL"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox WHERE channel = 'shift' AND ref = 'hazard:1:overdue:1000'"
                            " AND body LIKE '%\"event\":\"overdue\"%' AND body LIKE '%李主任%'"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox"), 1);

  /* Later: the major hazard in 待验收 passes its deadline; hazard 1 is not announced again. */
  assert_int_equal(ledger_watch_overdue(f->watch, 6000), 1);
  store_wait_idle(f->p.store);
  assert_int_equal(ledger_watch_overdue(f->watch, 7000), 0);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox WHERE channel = 'director' AND ref = 'hazard:3:overdue:5000'"
                            " AND body LIKE '%重大隐患%'"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox"), 2);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM hazard_journal WHERE action = 'overdue' AND actor = 'system'"), 2);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM hazard_journal WHERE hazard_id = 3 AND from_state = 1 AND to_state = 1"), 1);

  /* A deadline extended (flag cleared) and missed again is announced again. */
  exec_sql(f, "UPDATE hazards SET deadline_ms = 9000, overdue_ms = NULL WHERE id = 1");
  assert_int_equal(ledger_watch_overdue(f->watch, 9500), 1);
  store_wait_idle(f->p.store);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox WHERE ref = 'hazard:1:overdue:9000'"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM hazards WHERE id = 2 AND overdue_ms IS NULL"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM hazards WHERE id = 4 AND overdue_ms IS NULL"), 1);
}

static void test_risk_level_changes_recorded(void **state)
{
  struct fixture *f = *state;
  static const char *const sql_rows = "SELECT COUNT(*) FROM risk_level_history";
  assert_int_equal(ledger_watch_risk(f->watch, 1000), 0); /* at its assessed level: nothing to record */

  f->alarm.state = ALARM_UNACK;
  f->alarm.stage = 0;
  f->alarm.priority = DG_PRIO_HIGH;
  assert_int_equal(ledger_watch_risk(f->watch, 2000), 1);
  assert_int_equal(ledger_watch_risk(f->watch, 2500), 0);
  store_wait_idle(f->p.store);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM risk_level_history WHERE unit = 'U01' AND ts_ms = 2000"
                            " AND from_level = 2 AND to_level = 3 AND cause = 'alarm R1 (high)'"), 1);

  exec_sql(f, HAZARD_ROW(5, 1, 0, NULL) "UPDATE hazards SET unit = 'U01' WHERE id = 5;");
  assert_int_equal(ledger_watch_risk(f->watch, 3000), 1);
  store_wait_idle(f->p.store);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM risk_level_history WHERE ts_ms = 3000 AND from_level = 3"
                            " AND to_level = 4 AND cause = 'major_hazard 5'"), 1);

  /* The alarm clears and the hazard is closed: back to the assessment. */
  f->alarm.state = ALARM_RTN_UNACK;
  f->alarm.stage = -1;
  exec_sql(f, "UPDATE hazards SET danger_state = 9 WHERE id = 5");
  assert_int_equal(ledger_watch_risk(f->watch, 4000), 1);
  store_wait_idle(f->p.store);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM risk_level_history WHERE ts_ms = 4000 AND from_level = 4"
                            " AND to_level = 2 AND cause = 'assessment'"), 1);
  assert_int_equal(count(f, sql_rows), 3);

  /* A restarted watch continues from the recorded levels. */
  struct ledger_watch *again;
  assert_int_equal(ledger_watch_start(&again, &f->engine), 0);
  assert_int_equal(ledger_watch_risk(again, 5000), 0);
  f->alarm.state = ALARM_UNACK;
  f->alarm.stage = 0;
  f->alarm.priority = DG_PRIO_CRITICAL;
  assert_int_equal(ledger_watch_risk(again, 6000), 1);
  store_wait_idle(f->p.store);
  ledger_watch_close(again);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM risk_level_history WHERE ts_ms = 6000 AND from_level = 2"
                            " AND to_level = 4"), 1);
}

/* After each loop iteration only the units of the rules the engine reports as changed are
 * evaluated: an alarm change it did not report is seen by the next full evaluation only. */
static void test_risk_follows_the_changed_rules(void **state)
{
  struct fixture *f = *state;
  static const char *const sql_rows = "SELECT COUNT(*) FROM risk_level_history";
  uint32_t changed[1];
  uint8_t mark[1] = {0};
  f->engine.changed = changed;
  f->engine.changed_mark = mark;
  assert_int_equal(ledger_watch_risk(f->watch, 1000), 0);

  f->alarm.state = ALARM_UNACK; /* not reported */
  f->alarm.stage = 0;
  f->alarm.priority = DG_PRIO_HIGH;
  uv_run(&f->p.loop, UV_RUN_NOWAIT);
  store_wait_idle(f->p.store);
  assert_int_equal(count(f, sql_rows), 0);

  changed[0] = 0; /* reported, as engine__commit does */
  mark[0] = 1;
  f->engine.n_changed = 1;
  uv_run(&f->p.loop, UV_RUN_NOWAIT);
  store_wait_idle(f->p.store);
  assert_int_equal(f->engine.n_changed, 0);
  assert_int_equal(mark[0], 0);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM risk_level_history WHERE unit = 'U01' AND to_level = 3"
                            " AND cause = 'alarm R1 (high)'"), 1);
}

/* A model edit changes a unit's assessment: the change is recorded though the unit had no history. */
static void test_assessment_change_recorded(void **state)
{
  struct fixture *f = *state;
  assert_int_equal(ledger_watch_risk(f->watch, 1000), 0);
  f->unit.level = DG_LEVEL_RED;
  assert_int_equal(ledger_watch_risk(f->watch, 2000), 1);
  store_wait_idle(f->p.store);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM risk_level_history WHERE unit = 'U01' AND ts_ms = 2000"
                            " AND from_level = 2 AND to_level = 4 AND cause = 'assessment'"), 1);
}

static int64_t cst(int y, int mon, int d, int h)
{
  struct tm tm = {.tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d, .tm_hour = h, .tm_isdst = -1};
  return (int64_t)mktime(&tm) * 1000;
}

static void test_inspection_tasks_generated_per_period(void **state)
{
  struct fixture *f = *state;
  use_cst();
  /* Yellow event: every 15 days from local midnight of the first generation, for the inspected
   * measure M02 and the monitored M01 alike. */
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 1, 31, 10)), 2);
  store_wait_idle(f->p.store);
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 2, 14, 23)), 0); /* same period */
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 2, 15, 0)), 2);
  store_wait_idle(f->p.store);
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM inspection_tasks WHERE measure = 'M02' AND unit = 'U01'"
           " AND hazard_source = 'HS01' AND check_cycle = 15 AND check_cycle_unit = '天' AND start_ms = %lld"
           " AND due_ms = %lld AND check_status IS NULL", (long long)cst(2024, 2, 15, 0), (long long)cst(2024, 3, 1, 0));
  assert_int_equal(count(f, sql), 1);

  /* Reassessed blue on 2 April: the monthly cycle starts that day (2 Apr → 2 May), a period
   * skipped while nothing ran is not created afterwards. */
  f->event.level = DG_LEVEL_BLUE;
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 4, 2, 9)), 2);
  store_wait_idle(f->p.store);
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM inspection_tasks WHERE start_ms = %lld AND due_ms = %lld"
           " AND check_cycle = 1 AND check_cycle_unit = '月'", (long long)cst(2024, 4, 2, 0), (long long)cst(2024, 5, 2, 0));
  assert_int_equal(count(f, sql), 2);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks"), 6);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE measure = 'M01' AND data_src = 1"), 3);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE measure = 'M02' AND data_src = 2"), 3);
  /* The monthly run keeps its own anchor: 2 May → 2 Jun. */
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 5, 20, 9)), 2);
  store_wait_idle(f->p.store);
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM inspection_tasks WHERE start_ms = %lld AND due_ms = %lld",
           (long long)cst(2024, 5, 2, 0), (long long)cst(2024, 6, 2, 0));
  assert_int_equal(count(f, sql), 2);

  /* Red on 20 May, a day that already has a task of the old cycle: daily from the next day, not
   * a month later. */
  f->event.level = DG_LEVEL_RED;
  exec_sql(f, "UPDATE inspection_tasks SET start_ms = start_ms + 18 * 86400000 WHERE start_ms = (SELECT MAX(start_ms)"
              " FROM inspection_tasks)");
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 5, 20, 10)), 2);
  store_wait_idle(f->p.store);
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM inspection_tasks WHERE check_cycle = 1 AND check_cycle_unit = '天'"
           " AND start_ms = %lld AND due_ms = %lld", (long long)cst(2024, 5, 21, 0), (long long)cst(2024, 5, 22, 0));
  assert_int_equal(count(f, sql), 2);
}

/* A plant model whose one event has n inspected measures named prefix0000...: the watch's
 * fixture model with its own source, unit and event. */
struct big_model {
  struct dg_config cfg;
  struct dg_hazard_source source;
  struct dg_unit unit;
  struct dg_event event;
  struct dg_measure *measures;
  char (*ids)[24];
};

static void big_model(struct big_model *b, const struct dg_config *like, char prefix, size_t n)
{
  b->cfg = *like;
  b->source = (struct dg_hazard_source){.id = "HS01", .units = &b->unit, .n_units = 1};
  b->unit = (struct dg_unit){.id = "U01", .level = DG_LEVEL_YELLOW, .events = &b->event, .n_events = 1,
                             .source = &b->source};
  b->measures = calloc(n, sizeof *b->measures);
  b->ids = calloc(n, sizeof *b->ids);
  b->event = (struct dg_event){.id = "E01", .level = DG_LEVEL_YELLOW, .measures = b->measures, .n_measures = n,
                               .unit = &b->unit};
  for (size_t i = 0; i < n; i++) {
    snprintf(b->ids[i], sizeof b->ids[i], "%c%04zu", prefix, i);
    b->measures[i] = (struct dg_measure){.id = b->ids[i], .data_src = 2, .event = &b->event};
  }
  b->cfg.sources = &b->source;
  b->cfg.n_sources = 1;
  b->cfg.rules = NULL;
  b->cfg.n_rules = 0;
}

static void big_model_free(struct big_model *b)
{
  free(b->measures);
  free(b->ids);
}

/* The minute's pass checks TASK_PASS_SLICE measures per loop turn: across turns it
 * misses none, and a configuration put in force in the middle of a pass starts it again on the
 * new one (no task for a measure the old one had). */
static void test_task_pass_in_slices_restarts_on_a_new_config(void **state)
{
  struct fixture *f = *state;
  const size_t n = 2 * TASK_PASS_SLICE + 500;
  struct big_model old, now;
  big_model(&old, &f->cfg, 'A', n);
  big_model(&now, &f->cfg, 'B', n);
  ledger_watch_close(f->watch);
  f->engine.cfg = &old.cfg;
  assert_int_equal(ledger_watch_start(&f->watch, &f->engine), 0);
  uv_run(&f->p.loop, UV_RUN_NOWAIT); /* the timer starts the pass; its first slice runs */
  uv_run(&f->p.loop, UV_RUN_NOWAIT); /* the second */
  store_wait_idle(f->p.store);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks"), 0); /* not submitted yet */
  f->engine.cfg = &now.cfg;
  f->engine.config_generation++;
  for (int i = 0; i < 20 && count(f, "SELECT COUNT(*) FROM inspection_tasks") < (int64_t)n; i++) {
    uv_run(&f->p.loop, UV_RUN_NOWAIT);
    store_wait_idle(f->p.store);
  }
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE measure LIKE 'B%'"), n);
  assert_int_equal(count(f, "SELECT COUNT(DISTINCT measure) FROM inspection_tasks"), n);
  ledger_watch_close(f->watch);
  uv_run(&f->p.loop, UV_RUN_NOWAIT);
  f->watch = NULL;
  f->engine.cfg = &f->cfg;
  big_model_free(&old);
  big_model_free(&now);
}

static void test_missed_inspection_marked_and_announced_once(void **state)
{
  struct fixture *f = *state;
  use_cst();
  f->event.level = DG_LEVEL_ORANGE; /* weekly; announced as priority high → channel "shift" */
  f->event.measures = &f->measures[1]; /* the inspected measure only */
  f->event.n_measures = 1;
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 2, 27, 10)), 1);
  store_wait_idle(f->p.store);
  assert_int_equal(ledger_watch_missed(f->watch, cst(2024, 3, 4, 23)), 0);
  assert_int_equal(ledger_watch_missed(f->watch, cst(2024, 3, 5, 0)), 1); /* 27 Feb + 7 days, via 29 Feb */
  assert_int_equal(ledger_watch_missed(f->watch, cst(2024, 3, 5, 0)), 0); /* not committed yet */
  store_wait_idle(f->p.store);
  assert_int_equal(ledger_watch_missed(f->watch, cst(2024, 3, 6, 0)), 0);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE id = 1 AND check_status = 2"
                            " AND checker = 'system' AND evidence = 'system'"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox WHERE channel = 'shift' AND ref = 'inspection:1:missed'"
                            " AND body LIKE '%\"event\":\"missed\"%' AND body LIKE '%未排查%'"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox"), 1);

  /* The next period's task; once completed it is never marked missed. */
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 3, 6, 0)), 1);
  store_wait_idle(f->p.store);
  exec_sql(f, "UPDATE inspection_tasks SET check_status = 0 WHERE id = 2");
  assert_int_equal(ledger_watch_missed(f->watch, cst(2024, 3, 13, 0)), 0);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox"), 1);
}

static int64_t task_count(struct fixture *f, const char *where, int64_t a, int64_t b)
{
  char sql[512];
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM inspection_tasks WHERE %s", where);
  return count_ab(f, sql, a, b);
}

static void test_configured_cycle_and_work_days(void **state)
{
  struct fixture *f = *state;
  use_cst();
  f->cfg.calendar.weekend_mask = WORKCAL_DEFAULT_WEEKEND;
  f->measures[0].cycle_n = 1; /* M01: daily on work days */
  f->measures[0].cycle_unit = INSPECT_DAY;
  f->measures[0].work_days = true;
  f->measures[1].cycle_n = 2; /* M02: every two months, calendar days */
  f->measures[1].cycle_unit = INSPECT_MONTH;
  /* Saturday 30 Nov 2024: M02's first task, none for M01. */
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 11, 30, 10)), 1);
  store_wait_idle(f->p.store);
  assert_int_equal(task_count(f, "measure = 'M02' AND check_cycle = 2 AND check_cycle_unit = '月'"
                                 " AND start_ms = ?1 AND due_ms = ?2", cst(2024, 11, 30, 0), cst(2025, 1, 30, 0)), 1);
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 12, 1, 10)), 0); /* Sunday */
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 12, 2, 10)), 1); /* Monday */
  store_wait_idle(f->p.store);
  assert_int_equal(task_count(f, "measure = 'M01' AND check_cycle = 1 AND check_cycle_unit = '天'"
                                 " AND start_ms = ?1 AND due_ms = ?2", cst(2024, 12, 2, 0), cst(2024, 12, 3, 0)), 1);
  /* Across the year end to the next two-month period (30 Jan → 30 Mar). */
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2025, 1, 30, 9)), 2);
  store_wait_idle(f->p.store);
  assert_int_equal(task_count(f, "measure = 'M02' AND start_ms = ?1 AND due_ms = ?2", cst(2025, 1, 30, 0),
                              cst(2025, 3, 30, 0)), 1);
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2025, 3, 29, 9)), 0); /* Saturday, same period */
  /* M02 on work days too: its period 30 Mar (a Sunday) → 30 May starts Monday 31 Mar. */
  f->measures[1].work_days = true;
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2025, 3, 30, 9)), 0);
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2025, 3, 31, 9)), 2);
  store_wait_idle(f->p.store);
  assert_int_equal(task_count(f, "measure = 'M02' AND start_ms = ?1 AND due_ms = ?2", cst(2025, 3, 31, 0),
                              cst(2025, 5, 30, 0)), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks"), 6);
}

/* A pass with monitored tasks is judged on the store's read lane, then committed. */
static void settle(struct fixture *f)
{
  store_wait_reads(f->p.store);
  store_wait_idle(f->p.store);
}

#define GRACE 5000 /* past LEDGER_WATCH_EVIDENCE_GRACE_MS and HISTORY_LOG_SLICES + 2 flushes */

/* Judges the monitored task of the day that ended at `due` (one task). */
static void judge(struct fixture *f, int64_t due)
{
  assert_int_equal(ledger_watch_missed(f->watch, due), 0); /* its last samples may be in flight */
  /* or stored, but still in the history's log, which the evidence does not read */
  int64_t moved = LEDGER_WATCH_EVIDENCE_GRACE_MS + (2 + HISTORY_LOG_SLICES) * f->cfg.history_flush_ms;
  assert_true(moved <= GRACE);
  assert_int_equal(ledger_watch_missed(f->watch, due + moved - 1), 0);
  assert_int_equal(ledger_watch_missed(f->watch, due + GRACE), 1);
  settle(f);
}

static void sample(struct fixture *f, int64_t ts, int quality)
{
  char sql[160];
  snprintf(sql, sizeof sql, "INSERT INTO samples (point, ts_ms, value, quality) VALUES ('GT1', %lld, 20, %d)",
           (long long)ts, quality);
  exec_history_sql(f, sql);
}

/* Good samples of GT1 every 5 minutes in [from, to): a live point as the engine stores it (at
 * least one sample a minute while data arrives; 5 minutes is within the 10-minute allowance),
 * written as the history writer's blocks are (history_pack.h), an hour's span each. */
static void samples_every_5min(struct fixture *f, int64_t from, int64_t to)
{
  enum { PER_BLOCK = 12 };
  exec_history_sql(f, "INSERT OR IGNORE INTO point_ids (name) VALUES ('GT1')");
  for (int64_t t0 = from; t0 < to; t0 += PER_BLOCK * 300000) {
    char hex[2 * PER_BLOCK * HISTORY_BLOCK_REC + 1] = "", sql[sizeof hex + 256];
    uint8_t rec[HISTORY_BLOCK_REC];
    int n = 0;
    for (int64_t t = t0; t < to && n < PER_BLOCK; t += 300000, n++) {
      history_block_put(rec, (uint32_t)(t - t0), DG_Q_GOOD, 20);
      for (size_t i = 0; i < sizeof rec; i++) sprintf(hex + (n * sizeof rec + i) * 2, "%02X", rec[i]);
    }
    snprintf(sql, sizeof sql,
             "INSERT INTO sample_blocks (point, t0, t1, n, data) VALUES ((SELECT id FROM point_ids WHERE name = 'GT1'),"
             " %lld, %lld, %d, X'%s')", (long long)t0, (long long)(t0 + (n - 1) * 300000LL), n, hex);
    exec_history_sql(f, sql);
  }
}

static void test_monitoring_evidence(void **state)
{
  struct fixture *f = *state;
  only_monitored_m01(f, INSPECT_DAY); /* daily, announced high */
  f->event.level = DG_LEVEL_ORANGE;
  char sql[1024];

  /* 1 Mar: good before the period and throughout it → 正常 by the monitoring, nothing announced. */
  samples_every_5min(f, cst(2024, 2, 29, 23), cst(2024, 3, 2, 0));
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 3, 1, 8)), 1);
  store_wait_idle(f->p.store);
  judge(f, cst(2024, 3, 2, 0));
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE id = 1 AND check_status = 0"
                            " AND checker = 'monitoring' AND evidence = 'monitoring' AND hazard_id IS NULL"
                            " AND note LIKE '%周期内监测正常%' AND note LIKE '%monitoring healthy%'"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox"), 0);

  /* 2 Mar: R1's alarm active 10:00-11:00 and the hazard it opened, closed at 20:00 → 存在隐患. */
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 3, 2, 8)), 1);
  snprintf(sql, sizeof sql,
           "INSERT INTO alarms (id, rule, point, measure, updated_ms) VALUES (1, 'R1', 'GT1', 'M01', 1);"
           "INSERT INTO alarm_journal (alarm_id, ts_ms, event) VALUES (1, %lld, 'activate'), (1, %lld, 'clear');"
           HAZARD_ROW(7, 0, 9, NULL) "UPDATE hazards SET measure = 'M01', created_ms = %lld, closed_ms = %lld;",
           (long long)cst(2024, 3, 2, 10), (long long)cst(2024, 3, 2, 11), (long long)cst(2024, 3, 2, 10),
           (long long)cst(2024, 3, 2, 20));
  exec_sql(f, sql);
  judge(f, cst(2024, 3, 3, 0));
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE id = 2 AND check_status = 1"
                            " AND checker = 'monitoring' AND evidence = 'monitoring' AND hazard_id = 7"
                            " AND note LIKE '%R1%'"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox"), 0);

  /* 3 Mar: the alarm cleared and the hazard closed before it; a bad-quality sample at 09:00 →
   * 未排查, announced as a missed task. */
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 3, 3, 8)), 1);
  sample(f, cst(2024, 3, 3, 9), 2);
  sample(f, cst(2024, 3, 3, 10), 0);
  judge(f, cst(2024, 3, 4, 0));
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE id = 3 AND check_status = 2"
                            " AND checker = 'system' AND evidence = 'system' AND note LIKE '%GT1%质量异常%'"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox WHERE channel = 'shift' AND ref = 'inspection:3:missed'"), 1);

  /* 4 Mar: no samples at all → 未排查 for want of data. */
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 3, 4, 8)), 1);
  exec_history_sql(f, "DELETE FROM sample_rows; DELETE FROM sample_blocks");
  judge(f, cst(2024, 3, 5, 0));
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE id = 4 AND check_status = 2"
                            " AND note LIKE '%无数据%' AND note LIKE '%no data for point GT1%'"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox WHERE ref = 'inspection:4:missed'"), 1);

  /* 5 Mar: healthy samples, but the alarm activated at 23:30 the day before still stands and no
   * hazard is open → 存在隐患 with no hazard to link. */
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 3, 5, 8)), 1);
  snprintf(sql, sizeof sql, "INSERT INTO alarm_journal (alarm_id, ts_ms, event) VALUES (1, %lld, 'activate')",
           (long long)cst(2024, 3, 4, 23) + 1800000);
  exec_sql(f, sql);
  sample(f, cst(2024, 3, 4, 22), 0);
  judge(f, cst(2024, 3, 6, 0));
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE id = 5 AND check_status = 1"
                            " AND hazard_id IS NULL AND evidence = 'monitoring'"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox"), 2);

  /* A person may complete a monitored task by hand before it is due: the pass leaves it alone. */
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 3, 6, 8)), 1);
  store_wait_idle(f->p.store);
  exec_sql(f, "UPDATE inspection_tasks SET check_status = 0, checker = 'li', evidence = 'person' WHERE id = 6");
  assert_int_equal(ledger_watch_missed(f->watch, cst(2024, 3, 7, 0) + GRACE), 0);

  /* 7 Mar: the alarm cleared at 23:59 the day before; good data, but none from 10:00 to 11:00 (a
   * silent device, or the daemon stopped): the monitoring cannot vouch for the day → 未排查. */
  snprintf(sql, sizeof sql, "INSERT INTO alarm_journal (alarm_id, ts_ms, event) VALUES (1, %lld, 'clear')",
           (long long)cst(2024, 3, 6, 23) + 3540000);
  exec_sql(f, sql);
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 3, 7, 8)), 1);
  samples_every_5min(f, cst(2024, 3, 6, 23), cst(2024, 3, 7, 10));
  samples_every_5min(f, cst(2024, 3, 7, 11), cst(2024, 3, 8, 0));
  judge(f, cst(2024, 3, 8, 0));
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE id = 7 AND check_status = 2"
                            " AND note LIKE '%no data from point GT1 for 3900 s%'"), 1);
  /* 8 Mar: the same hour-long gap on a point whose stale rule allows 2 hours of silence → 正常. */
  struct dg_rule rules[2] = {f->rule, {.id = "S1", .type = DG_RULE_STALE, .point = &f->point,
                                       .measure = &f->measures[0], .timeout_ms = 7200000}};
  f->cfg.rules = rules;
  f->cfg.n_rules = 2;
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 3, 8, 8)), 1);
  samples_every_5min(f, cst(2024, 3, 8, 0), cst(2024, 3, 8, 10));
  samples_every_5min(f, cst(2024, 3, 8, 11), cst(2024, 3, 9, 0));
  judge(f, cst(2024, 3, 9, 0));
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE id = 8 AND check_status = 0"), 1);
  f->cfg.rules = &f->rule;
  f->cfg.n_rules = 1;
}

/* A rule removed while its alarm was active leaves a row that is never cleared: it no longer
 * speaks for the measure. A report still awaiting review (审核中) is not a hazard of it either.
 * A task is judged by how it was to be checked when created. */
static void test_monitoring_evidence_ignores_removed_rules_and_pending_reports(void **state)
{
  struct fixture *f = *state;
  only_monitored_m01(f, INSPECT_DAY);
  char sql[1024];
  snprintf(sql, sizeof sql,
           "INSERT INTO alarms (id, rule, point, measure, active, updated_ms) VALUES (1, 'R-GONE', 'GT1', 'M01', 1, 1);"
           "INSERT INTO alarm_journal (alarm_id, ts_ms, event) VALUES (1, %lld, 'activate');"
           HAZARD_ROW(9, 0, 0, NULL) "UPDATE hazards SET measure = 'M01', danger_state = -1, created_ms = %lld;",
           (long long)cst(2024, 2, 28, 10), (long long)cst(2024, 3, 1, 9));
  exec_sql(f, sql);
  samples_every_5min(f, cst(2024, 2, 29, 23), cst(2024, 3, 2, 0));
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 3, 1, 8)), 1);
  store_wait_idle(f->p.store);
  judge(f, cst(2024, 3, 2, 0));
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE id = 1 AND check_status = 0"
                            " AND hazard_id IS NULL"), 1);
  /* A task created while M01 was checked by inspection (data_src 2) stays a person's task after
   * M01 became monitored: past due, it is 未排查, not judged by the monitoring. */
  snprintf(sql, sizeof sql,
           "INSERT INTO inspection_tasks (id, measure, event, unit, check_cycle, check_cycle_unit, start_ms, due_ms,"
           " data_src) VALUES (50, 'M01', 'E01', 'U01', 1, '天', %lld, %lld, 2)",
           (long long)cst(2024, 2, 20, 0), (long long)cst(2024, 2, 21, 0));
  exec_sql(f, sql);
  assert_int_equal(ledger_watch_missed(f->watch, cst(2024, 3, 2, 0) + GRACE), 1);
  store_wait_idle(f->p.store);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE id = 50 AND check_status = 2"
                            " AND evidence = 'system'"), 1);
}

/* The evidence is read on the read lane, not on the loop: with the lane held, the pass is taken
 * but nothing is judged or committed, and the next pass waits for it; once the lane runs, the
 * verdict commits. A task checked by inspection in the same pass waits with it (one commit). */
static void test_monitoring_evidence_read_off_the_loop(void **state)
{
  struct fixture *f = *state;
  only_monitored_m01(f, INSPECT_DAY);
  f->event.level = DG_LEVEL_ORANGE; /* a missed task is announced high → channel "shift" */
  samples_every_5min(f, cst(2024, 2, 29, 23), cst(2024, 3, 2, 0));
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 3, 1, 8)), 1);
  char sql[512];
  snprintf(sql, sizeof sql,
           "INSERT INTO inspection_tasks (id, measure, event, unit, check_cycle, check_cycle_unit, start_ms, due_ms,"
           " data_src) VALUES (50, 'M01', 'E01', 'U01', 1, '天', %lld, %lld, 2)",
           (long long)cst(2024, 2, 20, 0), (long long)cst(2024, 2, 21, 0));
  exec_sql(f, sql);
  gate_destroy(&f->gate);
  gate_close_on(f->p.store, &f->gate, store_submit_read);
  assert_int_equal(ledger_watch_missed(f->watch, cst(2024, 3, 2, 0) + GRACE), 2);
  store_wait_idle(f->p.store);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE check_status IS NULL"), 2);
  assert_int_equal(ledger_watch_missed(f->watch, cst(2024, 3, 2, 0) + GRACE), 0); /* still being judged */
  gate_open(&f->gate);
  settle(f);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE id = 1 AND check_status = 0"
                            " AND evidence = 'monitoring'"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE id = 50 AND check_status = 2"
                            " AND evidence = 'system'"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox WHERE ref = 'inspection:50:missed'"
                            " AND body LIKE '%\"unit\":\"U01\"%' AND body LIKE '%\"measure\":\"M01\"%'"), 1);
  assert_int_equal(ledger_watch_missed(f->watch, cst(2024, 3, 2, 0) + GRACE), 0);
}

/* Stopped while a pass is being judged: the pass is dropped whole (the next start judges the
 * task again), nothing is left behind (the sanitizers' leak check) and nothing is committed. */
static void test_monitoring_evidence_dropped_when_stopped(void **state)
{
  struct fixture *f = *state;
  only_monitored_m01(f, INSPECT_DAY);
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 3, 1, 8)), 1);
  store_wait_idle(f->p.store);
  gate_destroy(&f->gate);
  gate_close_on(f->p.store, &f->gate, store_submit_read);
  assert_int_equal(ledger_watch_missed(f->watch, cst(2024, 3, 2, 0) + GRACE), 1);
  ledger_watch_close(f->watch);
  f->watch = NULL; /* closed: teardown opens the gate, and the store's close runs the judged pass */
}

static int noop_read(struct store_conn *c, void *arg)
{
  (void)c;
  (void)arg;
  return SQLITE_OK;
}

/* Screens asking for history fill the read lane's queue (503 beyond it): the pass still gets
 * its read, behind them. */
static void test_monitoring_evidence_not_starved_by_screens(void **state)
{
  struct fixture *f = *state;
  only_monitored_m01(f, INSPECT_DAY);
  samples_every_5min(f, cst(2024, 2, 29, 23), cst(2024, 3, 2, 0));
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 3, 1, 8)), 1);
  store_wait_idle(f->p.store);
  gate_destroy(&f->gate);
  gate_close_on(f->p.store, &f->gate, store_submit_read);
  for (int i = 1; i < STORE_READS_MAX; i++) assert_int_equal(store_submit_read(f->p.store, noop_read, NULL, NULL), 0);
  assert_int_equal(store_submit_read(f->p.store, noop_read, NULL, NULL), -EBUSY);
  assert_int_equal(ledger_watch_missed(f->watch, cst(2024, 3, 2, 0) + GRACE), 1);
  gate_open(&f->gate);
  settle(f);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE id = 1 AND check_status = 0"
                            " AND evidence = 'monitoring'"), 1);
}

/* A month is longer than the history kept (30 days): the quality is judged over what is kept. */
static void test_monitoring_evidence_beyond_retention(void **state)
{
  struct fixture *f = *state;
  only_monitored_m01(f, INSPECT_MONTH);
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 3, 1, 8)), 1); /* 1 Mar → 1 Apr */
  store_wait_idle(f->p.store);
  /* The samples before 2 Mar are pruned by the time the period is judged. */
  samples_every_5min(f, cst(2024, 3, 2, 0), cst(2024, 4, 1, 0));
  judge(f, cst(2024, 4, 1, 0));
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE id = 1 AND check_status = 0"
                            " AND evidence = 'monitoring'"), 1);
  /* A period judged only after its whole history was pruned cannot be vouched for. */
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 4, 1, 8)), 1);
  store_wait_idle(f->p.store);
  assert_int_equal(ledger_watch_missed(f->watch, cst(2024, 6, 15, 0)), 1);
  settle(f);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE id = 2 AND check_status = 2"
                            " AND note LIKE '%no longer kept%'"), 1);
}

/* A database from before inspection evidence: its tasks were all for inspected measures, and
 * their completions were by persons or the missed-task pass. */
static void test_upgrade_backfills_data_src_and_evidence(void **state)
{
  (void)state;
  struct plant p = {0};
  char sql[256];
  plant_make_dir(&p);
  unsigned mine = 0;
  while (mine < store_n_migrations && !strstr(store_migrations[mine], "inspection_tasks ADD COLUMN evidence")) mine++;
  assert_true(mine < store_n_migrations);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(p.db, &db), SQLITE_OK);
  for (unsigned i = 0; i < mine; i++) assert_int_equal(sqlite3_exec(db, store_migrations[i], NULL, NULL, NULL), SQLITE_OK);
  snprintf(sql, sizeof sql, "CREATE TABLE schema_version(version INTEGER NOT NULL); INSERT INTO schema_version VALUES (%u)",
           mine);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db,
    "INSERT INTO inspection_tasks (measure, check_cycle, check_cycle_unit, start_ms, due_ms, check_status, checker)"
    " VALUES ('M02', 1, '天', 0, 1, NULL, NULL), ('M02', 1, '天', 1, 2, 2, 'system'), ('M02', 1, '天', 2, 3, 0, 'li')",
    NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);

  plant_start_to(&p, PLANT_STORE);
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(store_conn_db(store_reader(p.store)),
                                      "SELECT group_concat(data_src || ':' || coalesce(evidence, '-'), ' ')"
                                      " FROM (SELECT * FROM inspection_tasks ORDER BY id)", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), "2:- 2:system 2:person");
  sqlite3_finalize(st);
  plant_stop(&p);
  plant_free(&p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_overdue_flagged_once_and_announced_by_level, setup, teardown),
    cmocka_unit_test_setup_teardown(test_risk_level_changes_recorded, setup, teardown),
    cmocka_unit_test_setup_teardown(test_assessment_change_recorded, setup, teardown),
    cmocka_unit_test_setup_teardown(test_risk_follows_the_changed_rules, setup, teardown),
    cmocka_unit_test_setup_teardown(test_inspection_tasks_generated_per_period, setup, teardown),
    cmocka_unit_test_setup_teardown(test_task_pass_in_slices_restarts_on_a_new_config, setup, teardown),
    cmocka_unit_test_setup_teardown(test_missed_inspection_marked_and_announced_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_configured_cycle_and_work_days, setup, teardown),
    cmocka_unit_test_setup_teardown(test_monitoring_evidence, setup, teardown),
    cmocka_unit_test_setup_teardown(test_monitoring_evidence_ignores_removed_rules_and_pending_reports, setup, teardown),
    cmocka_unit_test_setup_teardown(test_monitoring_evidence_beyond_retention, setup, teardown),
    cmocka_unit_test_setup_teardown(test_monitoring_evidence_read_off_the_loop, setup, teardown),
    cmocka_unit_test_setup_teardown(test_monitoring_evidence_not_starved_by_screens, setup, teardown),
    cmocka_unit_test_setup_teardown(test_monitoring_evidence_dropped_when_stopped, setup, teardown),
    cmocka_unit_test(test_upgrade_backfills_data_src_and_evidence),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
