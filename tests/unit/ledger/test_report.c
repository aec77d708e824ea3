/* The monthly report's aggregation over a month window in a fixed time zone, around the end of
 * November 2026, and its CSV and HTML renderings. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "report.h"
#include "store.h"

#define DAY 86400000LL
#define NOV_START 1793462400000LL /* 2026-11-01 00:00 UTC+8 */
#define DEC_START 1796054400000LL /* 2026-12-01 00:00 UTC+8 */

struct fixture {
  sqlite3 *db;
  struct dg_config cfg;
  struct dg_hazard_source src;
  struct dg_unit units[2];
  struct dg_event events[2];
};

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);
  assert_int_equal(sqlite3_open(":memory:", &f->db), SQLITE_OK);
  for (unsigned i = 0; i < store_n_migrations; i++)
    assert_int_equal(sqlite3_exec(f->db, store_migrations[i], NULL, NULL, NULL), SQLITE_OK);
  f->src = (struct dg_hazard_source){.id = "HS01", .name = "液氨储罐区", .is_major = true, .major_grade = 2,
                                     .units = f->units, .n_units = 2};
  f->units[0] = (struct dg_unit){.id = "U01", .name = "1#液氨储罐", .level = DG_LEVEL_RED, .events = &f->events[0],
                                 .n_events = 1, .source = &f->src};
  f->units[1] = (struct dg_unit){.id = "U02", .name = "装卸站", .level = DG_LEVEL_YELLOW, .events = &f->events[1],
                                 .n_events = 1, .source = &f->src};
  f->events[0] = (struct dg_event){.id = "E01", .name = "液氨泄漏中毒", .level = DG_LEVEL_RED, .unit = &f->units[0]};
  f->events[1] = (struct dg_event){.id = "E02", .name = "装卸溢流", .level = DG_LEVEL_YELLOW, .unit = &f->units[1]};
  f->cfg = (struct dg_config){.site_code = "410700-0001", .site_name = "测试<化工>", .sources = &f->src, .n_sources = 1};
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  sqlite3_close(f->db);
  free(f);
  return 0;
}

static void add_hazard(sqlite3 *db, int id, int level, int src, int type, int64_t created, int64_t deadline,
                       int64_t closed, const char *desc)
{
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "INSERT INTO hazards (id, code, danger_level, danger_src, danger_manage_type,"
                                      " hazard_danger_type, danger_state, description, unit, deadline_ms, created_ms,"
                                      " updated_ms, closed_ms) VALUES (?1, 'YH-' || ?1, ?2, ?3, 1, ?4, ?5, ?6, 'U01',"
                                      " ?7, ?8, ?8, ?9)", -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int(st, 1, id);
  sqlite3_bind_int(st, 2, level);
  sqlite3_bind_int(st, 3, src);
  sqlite3_bind_int(st, 4, type);
  sqlite3_bind_int(st, 5, closed ? 9 : 0);
  sqlite3_bind_text(st, 6, desc, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 7, deadline);
  sqlite3_bind_int64(st, 8, created);
  if (closed) sqlite3_bind_int64(st, 9, closed);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
}

/* A: major, opened in the last ms of November, still open, due 5 December.
 * B: general, opened 10 November, due 20 November, closed at the first ms of December (overdue).
 * C: opened at the first ms of December.
 * D: major, opened in October, closed at the first ms of November.
 * E: major, closed in the last ms of October. */
static void add_month_end_hazards(sqlite3 *db)
{
  add_hazard(db, 1, 1, 1, 2, DEC_START - 1, DEC_START + 4 * DAY, 0, "A <script>alert(1)</script>");
  add_hazard(db, 2, 0, 9, 1, NOV_START + 9 * DAY, NOV_START + 19 * DAY, DEC_START, "B, \"quoted\"");
  add_hazard(db, 3, 0, 9, 3, DEC_START, DEC_START + 7 * DAY, 0, "C");
  add_hazard(db, 4, 1, 2, 1, NOV_START - 27 * DAY, NOV_START - 11 * DAY, NOV_START, "D");
  add_hazard(db, 5, 1, 2, 1, NOV_START - 60 * DAY, NOV_START - 40 * DAY, NOV_START - 1, "E");
}

static double month_stat(const cJSON *doc, const char *k)
{
  return cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "statistics"), k)->valuedouble;
}

/* "code:count,…" of a statistics group. */
static void group(const cJSON *doc, const char *k, char *out, size_t len)
{
  const cJSON *it;
  out[0] = 0;
  cJSON_ArrayForEach(it, cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "statistics"), k)) {
    size_t n = strlen(out);
    snprintf(out + n, len - n, "%s%d:%d", n ? "," : "", cJSON_GetObjectItem(it, "code")->valueint,
             cJSON_GetObjectItem(it, "count")->valueint);
  }
}

static void major_ids(const cJSON *doc, char *out, size_t len)
{
  const cJSON *it;
  out[0] = 0;
  cJSON_ArrayForEach(it, cJSON_GetObjectItem(doc, "majorHazards")) {
    size_t n = strlen(out);
    snprintf(out + n, len - n, "%s%d", n ? "," : "", cJSON_GetObjectItem(it, "hazardId")->valueint);
  }
}

static void test_month_parse(void **state)
{
  (void)state;
  struct report_month m;
  assert_int_equal(report_month_parse("2026-11", &m), 0);
  assert_int_equal(m.start_ms, NOV_START);
  assert_int_equal(m.end_ms, DEC_START);
  assert_int_equal(report_month_parse("2026-12", &m), 0);
  assert_int_equal(m.start_ms, DEC_START);
  assert_int_equal(m.end_ms, DEC_START + 31 * DAY);
  assert_int_equal(report_month_parse("2028-02", &m), 0);
  assert_int_equal(m.end_ms - m.start_ms, 29 * DAY);
  const char *bad[] = {"2026-13", "2026-00", "2026-1", "2026-11x", "26-11", "", "2026/11", "2026-+1", " 2026-1", "1969-12"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_int_equal(report_month_parse(bad[i], &m), -EINVAL);
  assert_int_equal(report_month_parse(NULL, &m), -EINVAL);
}

static void test_november_window(void **state)
{
  struct fixture *f = *state;
  struct report_month m;
  char buf[128];
  add_month_end_hazards(f->db);
  assert_int_equal(report_month_parse("2026-11", &m), 0);
  cJSON *doc = report_monthly(&f->cfg, f->db, &m, DEC_START + 10 * DAY);
  assert_non_null(doc);
  assert_string_equal(cJSON_GetObjectItem(doc, "month")->valuestring, "2026-11");
  assert_int_equal(month_stat(doc, "opened"), 2);    /* A, B */
  assert_int_equal(month_stat(doc, "closed"), 1);    /* D */
  assert_int_equal(month_stat(doc, "overdue"), 1);   /* B */
  assert_int_equal(month_stat(doc, "openAtEnd"), 2); /* A, B (closed only at the first ms of December) */
  group(doc, "byLevel", buf, sizeof buf);
  assert_string_equal(buf, "0:1,1:1");
  group(doc, "byType", buf, sizeof buf);
  assert_string_equal(buf, "1:1,2:1");
  group(doc, "bySource", buf, sizeof buf);
  assert_string_equal(buf, "1:1,9:1");
  major_ids(doc, buf, sizeof buf);
  assert_string_equal(buf, "4,1"); /* D (closed within November), A; not E */
  const cJSON *risks = cJSON_GetObjectItem(doc, "majorRisks");
  assert_int_equal(cJSON_GetArraySize(risks), 3); /* HS01 major, U01 red, E01 red; not U02/E02 */
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(risks, 0), "level")->valuestring, "二级");
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(risks, 1), "id")->valuestring, "U01");
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(risks, 2), "id")->valuestring, "E01");
  cJSON_Delete(doc);
}

static void add_level_change(sqlite3 *db, const char *unit, int64_t ts, int from, int to, const char *cause)
{
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO risk_level_history (unit, ts_ms, from_level, to_level, cause)"
                                          " VALUES (?1, ?2, ?3, ?4, ?5)", -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_text(st, 1, unit, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, ts);
  sqlite3_bind_int(st, 3, from);
  sqlite3_bind_int(st, 4, to);
  sqlite3_bind_text(st, 5, cause, -1, SQLITE_STATIC);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
}

static const cJSON *dynamic_risk(const cJSON *doc)
{
  const cJSON *it, *found = NULL;
  cJSON_ArrayForEach(it, cJSON_GetObjectItem(doc, "majorRisks"))
    if (strcmp(cJSON_GetObjectItem(it, "basis")->valuestring, "dynamic") == 0) {
      assert_null(found); /* one entry per unit */
      found = it;
    }
  return found;
}

/* U02 is assessed yellow: red in October only → not in November's report; raised to red in the
 * middle of November → listed as dynamic with the cause; raised again at the end of November and
 * still red when December begins → listed in December too. U01, assessed red, is listed once. */
static void test_dynamic_red_units(void **state)
{
  struct fixture *f = *state;
  struct report_month nov, dec, oct;
  assert_int_equal(report_month_parse("2026-11", &nov), 0);
  assert_int_equal(report_month_parse("2026-12", &dec), 0);
  assert_int_equal(report_month_parse("2026-10", &oct), 0);
  add_level_change(f->db, "U02", NOV_START - 12 * DAY, 2, 4, "alarm R-OLD");
  add_level_change(f->db, "U02", NOV_START - 6 * DAY, 4, 2, "assessment");
  add_level_change(f->db, "U01", NOV_START + 3 * DAY, 4, 4, "major_hazard 1");
  cJSON *doc = report_monthly(&f->cfg, f->db, &nov, DEC_START);
  assert_null(dynamic_risk(doc));
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "majorRisks")), 3);
  cJSON_Delete(doc);

  add_level_change(f->db, "U02", NOV_START + 14 * DAY, 2, 4, "alarm R-LT101-H");
  add_level_change(f->db, "U02", NOV_START + 15 * DAY, 4, 2, "assessment");
  add_level_change(f->db, "U02", DEC_START - DAY, 2, 4, "major_hazard 7");
  doc = report_monthly(&f->cfg, f->db, &nov, DEC_START);
  const cJSON *u = dynamic_risk(doc);
  assert_non_null(u);
  assert_string_equal(cJSON_GetObjectItem(u, "id")->valuestring, "U02");
  assert_string_equal(cJSON_GetObjectItem(u, "level")->valuestring, "重大风险");
  assert_string_equal(cJSON_GetObjectItem(u, "cause")->valuestring, "major_hazard 7");
  char *csv = report_csv(doc);
  assert_non_null(strstr(csv, "\"重大风险\",\"风险分析单元（动态）\",\"U02\",\"装卸站\",\"重大风险\""));
  free(csv);
  cJSON_Delete(doc);
  doc = report_monthly(&f->cfg, f->db, &dec, DEC_START + DAY);
  assert_non_null(dynamic_risk(doc));
  cJSON_Delete(doc);
  doc = report_monthly(&f->cfg, f->db, &oct, NOV_START);
  assert_non_null(dynamic_risk(doc)); /* red from 19 to 25 October */
  cJSON_Delete(doc);
}

static void test_december_window_and_now(void **state)
{
  struct fixture *f = *state;
  struct report_month m;
  char buf[128];
  add_month_end_hazards(f->db);
  assert_int_equal(report_month_parse("2026-12", &m), 0);
  /* 3 December: A's deadline (5 December) has not passed yet. */
  cJSON *doc = report_monthly(&f->cfg, f->db, &m, DEC_START + 2 * DAY);
  assert_non_null(doc);
  assert_int_equal(month_stat(doc, "opened"), 1);  /* C */
  assert_int_equal(month_stat(doc, "closed"), 1);  /* B */
  assert_int_equal(month_stat(doc, "overdue"), 0);
  assert_int_equal(month_stat(doc, "openAtEnd"), 2); /* A, C */
  major_ids(doc, buf, sizeof buf);
  assert_string_equal(buf, "1");
  cJSON_Delete(doc);
  doc = report_monthly(&f->cfg, f->db, &m, DEC_START + 9 * DAY); /* A and C are overdue now */
  assert_int_equal(month_stat(doc, "overdue"), 2);
  cJSON_Delete(doc);
}

/* A report dismissed as not a hazard counts nowhere; one still awaiting confirmation (审核中)
 * counts as reported. */
static void test_dismissed_reports_count_nowhere(void **state)
{
  struct fixture *f = *state;
  struct report_month m;
  char buf[128];
  add_month_end_hazards(f->db);
  add_hazard(f->db, 6, 1, 1, 4, NOV_START + 4 * DAY, NOV_START + 10 * DAY, NOV_START + 5 * DAY, "dismissed");
  add_hazard(f->db, 7, 1, 1, 5, NOV_START + 3 * DAY, DEC_START + 10 * DAY, 0, "pending");
  assert_int_equal(sqlite3_exec(f->db, "UPDATE hazards SET danger_state = -1, dismissed = 1 WHERE id = 6;"
                                       "UPDATE hazards SET danger_state = -1 WHERE id = 7", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(report_month_parse("2026-11", &m), 0);
  cJSON *doc = report_monthly(&f->cfg, f->db, &m, DEC_START + 10 * DAY);
  assert_non_null(doc);
  assert_int_equal(month_stat(doc, "opened"), 3);    /* A, B, pending */
  assert_int_equal(month_stat(doc, "closed"), 1);    /* D */
  assert_int_equal(month_stat(doc, "overdue"), 1);   /* B */
  assert_int_equal(month_stat(doc, "openAtEnd"), 3); /* A, B, pending */
  group(doc, "byType", buf, sizeof buf);
  assert_string_equal(buf, "1:1,2:1,5:1");
  major_ids(doc, buf, sizeof buf);
  assert_string_equal(buf, "4,7,1");
  cJSON_Delete(doc);
}

static void test_csv_and_html(void **state)
{
  struct fixture *f = *state;
  struct report_month m;
  add_month_end_hazards(f->db);
  assert_int_equal(report_month_parse("2026-11", &m), 0);
  cJSON *doc = report_monthly(&f->cfg, f->db, &m, DEC_START);
  char *csv = report_csv(doc), *html = report_html(doc);
  assert_non_null(csv);
  assert_non_null(html);
  assert_memory_equal(csv, "\xEF\xBB\xBF\"类别\",\"项目\",\"编号\",\"名称\",\"等级或状态\",\"数量\"\r\n", 67);
  assert_non_null(strstr(csv, "\"隐患统计\",\"本月新增隐患\",\"\",\"\",\"\",\"2\"\r\n"));
  assert_non_null(strstr(csv, "\"重大风险\",\"重大危险源\",\"HS01\",\"液氨储罐区\",\"二级\",\"\"\r\n"));
  assert_non_null(strstr(csv, "\"YH-1\",\"A <script>alert(1)</script>\",\"整改中\""));
  assert_non_null(strstr(html, "<html lang=\"zh-CN\">"));
  assert_non_null(strstr(html, "测试&lt;化工&gt; 双重预防机制月报"));
  assert_non_null(strstr(html, "A &lt;script&gt;alert(1)&lt;/script&gt;"));
  assert_null(strstr(html, "<script>"));
  assert_null(strstr(html, "测试<化工>"));
  free(csv);
  free(html);
  cJSON_Delete(doc);
}

int main(void)
{
  setenv("TZ", "CST-8", 1); /* China Standard Time, no tz database needed */
  tzset();
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_month_parse),
    cmocka_unit_test_setup_teardown(test_november_window, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dynamic_red_units, setup, teardown),
    cmocka_unit_test_setup_teardown(test_december_window_and_now, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dismissed_reports_count_nowhere, setup, teardown),
    cmocka_unit_test_setup_teardown(test_csv_and_html, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
