/* Overdue hazards: flagged once each, journaled, announced to the channels of the policy for
 * their level; dynamic risk level changes recorded; inspection tasks generated per period and
 * missed ones marked 未排查 and announced. The clock is given by the test; real store
 * on a temporary database. */
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

#include "ledger_watch.h"

struct fixture {
  char dir[64];
  char db[128];
  uv_loop_t loop;
  struct store *store;
  struct httpc *httpc;
  struct notify *notify;
  struct engine engine;
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
};

static void fixture_model(struct fixture *f)
{
  f->cfg.site_code = "410700-0001";
  f->cfg.site_name = "测试化工";
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
  char err[256];
  snprintf(f->dir, sizeof f->dir, "/tmp/dg-watch-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->db, sizeof f->db, "%s/dg.db", f->dir);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  fixture_model(f);
  assert_int_equal(store_open(&f->store, &f->loop, f->db, err, sizeof err), 0);
  assert_int_equal(httpc_init(&f->httpc, &f->loop), 0);
  assert_int_equal(notify_init(&f->notify, &f->loop, &f->cfg, f->store, f->httpc), 0);
  f->engine = (struct engine){.loop = &f->loop, .cfg = &f->cfg, .store = f->store, .notify = f->notify,
                              .alarms = &f->alarm};
  assert_int_equal(ledger_watch_start(&f->watch, &f->engine), 0);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  store_wait_idle(f->store);
  ledger_watch_close(f->watch);
  notify_close(f->notify);
  httpc_close(f->httpc);
  store_close(f->store);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
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

static void exec_sql(struct fixture *f, const char *sql)
{
  struct exec_job j = {sql, 1};
  assert_int_equal(store_submit(f->store, exec_work, exec_done, &j), 0);
  store_wait_idle(f->store);
  assert_int_equal(j.rc, 0);
}

static int64_t count(struct fixture *f, const char *sql)
{
  sqlite3_stmt *st = store_stmt(store_reader(f->store), sql);
  assert_non_null(st);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return n;
}

#define HAZARD_ROW(id, level, state, deadline)                                                               \
  "INSERT INTO hazards (id, code, danger_level, danger_src, danger_manage_type, hazard_danger_type,"       \
  " danger_state, description, liable_person, deadline_ms, created_ms, updated_ms) VALUES (" #id ", 'YH-" #id \
  "', " #level ", 1, 1, 1, " #state ", '地沟积水', 'li', " #deadline ", 1, 1);"

static void test_overdue_flagged_once_and_announced_by_level(void **state)
{
  struct fixture *f = *state;
  exec_sql(f, HAZARD_ROW(1, 0, 0, 1000) HAZARD_ROW(2, 0, 9, 1000) HAZARD_ROW(3, 1, 1, 5000) HAZARD_ROW(4, 0, 0, NULL));

  assert_int_equal(ledger_watch_overdue(f->watch, 1000), 0); /* due at, not past, its deadline */
  assert_int_equal(ledger_watch_overdue(f->watch, 2000), 1);
  assert_int_equal(ledger_watch_overdue(f->watch, 2000), 0); /* the first scan is not committed yet */
  store_wait_idle(f->store);
  assert_int_equal(count(f, "SELECT overdue_ms FROM hazards WHERE id = 1"), 2000);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM hazards WHERE overdue_ms IS NOT NULL"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox WHERE channel = 'shift' AND ref = 'hazard:1:overdue:1000'"
                            " AND body LIKE '%\"event\":\"overdue\"%' AND body LIKE '%李主任%'"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox"), 1);

  /* Later: the major hazard in 待验收 passes its deadline; hazard 1 is not announced again. */
  assert_int_equal(ledger_watch_overdue(f->watch, 6000), 1);
  store_wait_idle(f->store);
  assert_int_equal(ledger_watch_overdue(f->watch, 7000), 0);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox WHERE channel = 'director' AND ref = 'hazard:3:overdue:5000'"
                            " AND body LIKE '%重大隐患%'"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox"), 2);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM hazard_journal WHERE action = 'overdue' AND actor = 'system'"), 2);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM hazard_journal WHERE hazard_id = 3 AND from_state = 1 AND to_state = 1"), 1);

  /* A deadline extended (flag cleared) and missed again is announced again. */
  exec_sql(f, "UPDATE hazards SET deadline_ms = 9000, overdue_ms = NULL WHERE id = 1");
  assert_int_equal(ledger_watch_overdue(f->watch, 9500), 1);
  store_wait_idle(f->store);
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
  store_wait_idle(f->store);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM risk_level_history WHERE unit = 'U01' AND ts_ms = 2000"
                            " AND from_level = 2 AND to_level = 3 AND cause = 'alarm R1 (high)'"), 1);

  exec_sql(f, HAZARD_ROW(5, 1, 0, NULL) "UPDATE hazards SET unit = 'U01' WHERE id = 5;");
  assert_int_equal(ledger_watch_risk(f->watch, 3000), 1);
  store_wait_idle(f->store);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM risk_level_history WHERE ts_ms = 3000 AND from_level = 3"
                            " AND to_level = 4 AND cause = 'major_hazard 5'"), 1);

  /* The alarm clears and the hazard is closed: back to the assessment. */
  f->alarm.state = ALARM_RTN_UNACK;
  f->alarm.stage = -1;
  exec_sql(f, "UPDATE hazards SET danger_state = 9 WHERE id = 5");
  assert_int_equal(ledger_watch_risk(f->watch, 4000), 1);
  store_wait_idle(f->store);
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
  store_wait_idle(f->store);
  ledger_watch_close(again);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM risk_level_history WHERE ts_ms = 6000 AND from_level = 2"
                            " AND to_level = 4"), 1);
}

/* A model edit changes a unit's assessment: the change is recorded though the unit had no history. */
static void test_assessment_change_recorded(void **state)
{
  struct fixture *f = *state;
  assert_int_equal(ledger_watch_risk(f->watch, 1000), 0);
  f->unit.level = DG_LEVEL_RED;
  assert_int_equal(ledger_watch_risk(f->watch, 2000), 1);
  store_wait_idle(f->store);
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
  setenv("TZ", "CST-8", 1);
  tzset();
  /* Yellow event: every 15 days from local midnight of the first generation. */
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 1, 31, 10)), 1);
  store_wait_idle(f->store);
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 2, 14, 23)), 0); /* same period */
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 2, 15, 0)), 1);
  store_wait_idle(f->store);
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM inspection_tasks WHERE measure = 'M02' AND unit = 'U01'"
           " AND hazard_source = 'HS01' AND check_cycle = 15 AND check_cycle_unit = '天' AND start_ms = %lld"
           " AND due_ms = %lld AND check_status IS NULL", (long long)cst(2024, 2, 15, 0), (long long)cst(2024, 3, 1, 0));
  assert_int_equal(count(f, sql), 1);

  /* Reassessed blue: monthly from the same anchor (31 Jan → 29 Feb → 31 Mar), a period skipped
   * while nothing ran is not created afterwards. */
  f->event.level = DG_LEVEL_BLUE;
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 4, 2, 9)), 1);
  store_wait_idle(f->store);
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM inspection_tasks WHERE start_ms = %lld AND due_ms = %lld"
           " AND check_cycle = 1 AND check_cycle_unit = '月'", (long long)cst(2024, 3, 31, 0), (long long)cst(2024, 4, 30, 0));
  assert_int_equal(count(f, sql), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks"), 3);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE measure = 'M01'"), 0);
}

static void test_missed_inspection_marked_and_announced_once(void **state)
{
  struct fixture *f = *state;
  setenv("TZ", "CST-8", 1);
  tzset();
  f->event.level = DG_LEVEL_ORANGE; /* weekly; announced as priority high → channel "shift" */
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 2, 27, 10)), 1);
  store_wait_idle(f->store);
  assert_int_equal(ledger_watch_missed(f->watch, cst(2024, 3, 4, 23)), 0);
  assert_int_equal(ledger_watch_missed(f->watch, cst(2024, 3, 5, 0)), 1); /* 27 Feb + 7 days, via 29 Feb */
  assert_int_equal(ledger_watch_missed(f->watch, cst(2024, 3, 5, 0)), 0); /* not committed yet */
  store_wait_idle(f->store);
  assert_int_equal(ledger_watch_missed(f->watch, cst(2024, 3, 6, 0)), 0);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM inspection_tasks WHERE id = 1 AND check_status = 2"
                            " AND checker = 'system'"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox WHERE channel = 'shift' AND ref = 'inspection:1:missed'"
                            " AND body LIKE '%\"event\":\"missed\"%' AND body LIKE '%未排查%'"), 1);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox"), 1);

  /* The next period's task; once completed it is never marked missed. */
  assert_int_equal(ledger_watch_inspections(f->watch, cst(2024, 3, 6, 0)), 1);
  store_wait_idle(f->store);
  exec_sql(f, "UPDATE inspection_tasks SET check_status = 0 WHERE id = 2");
  assert_int_equal(ledger_watch_missed(f->watch, cst(2024, 3, 13, 0)), 0);
  assert_int_equal(count(f, "SELECT COUNT(*) FROM outbox"), 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_overdue_flagged_once_and_announced_by_level, setup, teardown),
    cmocka_unit_test_setup_teardown(test_risk_level_changes_recorded, setup, teardown),
    cmocka_unit_test_setup_teardown(test_assessment_change_recorded, setup, teardown),
    cmocka_unit_test_setup_teardown(test_inspection_tasks_generated_per_period, setup, teardown),
    cmocka_unit_test_setup_teardown(test_missed_inspection_marked_and_announced_once, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
