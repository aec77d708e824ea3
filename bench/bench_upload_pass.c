/* How long the national upload's pass takes to build its document (every record of the ledger
 * and the model, national.h) as a plant's ledger grows: TASKS completed inspection tasks (a
 * year of 100 measures checked daily is 36 500) and HAZARDS hazards, with their UUIDs stored.
 * The pass runs whenever the ledger changed (upload.h); it reads on the store's read lane, off
 * the loop (docs/architecture.md), and the figures say what the lane takes it from. Figures
 * only, no assertions. Usage: bench_upload_pass [TASKS [HAZARDS]] (default 36500 2000). */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "config.h"
#include "national.h"
#include "store.h"

#define ROUNDS 3

static const char yaml[] =
  "site: { code: T1 }\n"
  "national: { company_code: '320500123', credit_code: 91350100M000100Y43 }\n"
  "persons: [ { id: wang, name: 王工, phone: '13800000000' } ]\n"
  "hazard_sources:\n"
  "  - id: HS1\n"
  "    name: 罐区\n"
  "    units:\n"
  "      - id: U1\n"
  "        name: 储罐\n"
  "        responsible: { dept: 储运, person: wang }\n"
  "        events:\n"
  "          - id: E1\n"
  "            name: 泄漏\n"
  "            lec: { l: 3, e: 6, c: 40 }\n"
  "            measures:\n"
  "              - { id: M1, desc: 巡检, data_src: 2, classify: '3-1', troubleshoot: 查看液位 }\n";

static int exec_work(struct store_conn *c, void *arg) { return sqlite3_exec(store_conn_db(c), arg, NULL, NULL, NULL); }

static void exec_done(void *arg, int rc)
{
  (void)arg;
  if (rc) fprintf(stderr, "filling the ledger failed (%d)\n", rc);
}

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
  long tasks = argc > 1 ? atol(argv[1]) : 36500, hazards = argc > 2 ? atol(argv[2]) : 2000;
  char dir[] = "/tmp/bench-upload-pass-XXXXXX", db[PATH_MAX], err[256], fill[1024];
  struct dg_config *cfg = NULL;
  if (tasks < 0 || hazards < 0 || !mkdtemp(dir)) return 2;
  snprintf(db, sizeof db, "%s/bench.db", dir);
  uv_loop_t loop;
  struct store *s = NULL;
  if (config_load_string("plant.yaml", yaml, strlen(yaml), &cfg, err, sizeof err) || uv_loop_init(&loop) ||
      store_open(&s, &loop, db, err, sizeof err))
    return fprintf(stderr, "%s\n", err), 1;
  snprintf(fill, sizeof fill,
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %ld)"
           " INSERT INTO inspection_tasks (measure, event, unit, hazard_source, check_cycle, check_cycle_unit, start_ms,"
           " due_ms, check_status, checker, checked_ms, data_src)"
           " SELECT 'M1', 'E1', 'U1', 'HS1', 1, '天', 1700000000000 + i * 86400000, 1700086400000 + i * 86400000, 0,"
           " 'wang', 1700050000000 + i * 86400000, 2 FROM n;"
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %ld)"
           " INSERT INTO hazards (code, danger_level, danger_src, danger_manage_type, hazard_danger_type, danger_state,"
           " description, liable_person, hazard_source, unit, measure, created_ms, updated_ms)"
           " SELECT 'YH-' || i, 0, 1, 1, 1, 9, '地沟积水', 'wang', 'HS1', 'U1', 'M1', 1700000000000 + i * 60000,"
           " 1700000000000 + i * 60000 FROM n",
           tasks, hazards);
  if (store_submit(s, exec_work, exec_done, fill) || store_wait_idle(s) || national_assign_ids(cfg, s)) return 1;
  printf("upload pass document: %ld completed inspection tasks, %ld hazards, their UUIDs stored\n", tasks, hazards);
  printf("  national_build (whole ledger)          :");
  int records = 0;
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = now_ms();
    cJSON *doc = national_build(cfg, store_reader(s), 0);
    double t = now_ms() - t0;
    if (!doc) return fprintf(stderr, "national_build failed\n"), 1;
    records = 0;
    for (const cJSON *k = doc->child; k; k = k->next) records += cJSON_IsArray(k) ? cJSON_GetArraySize(k) : 0;
    cJSON_Delete(doc);
    printf(" %7.1f ms", t);
  }
  printf("  (%d records)\n", records);
  store_close(s);
  uv_run(&loop, UV_RUN_DEFAULT);
  config_free(cfg);
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return uv_loop_close(&loop) || system(cmd) ? 1 : 0;
}
