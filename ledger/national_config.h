/* national_config — the `national:` configuration section: the enterprise's codes and the
 * choices of the national upload profile (ledger/national.h, docs/national-upload.md).
 *
 *   national:
 *     company_code: "123456789"          # 9 digits, the dangerous-chemicals registration code
 *     credit_code: 91320000MA1XXXXXXX    # 18 characters, GB 32100 check character
 *     time_format: compact               # compact (yyyyMMddHHmmss) | iso (yyyy-MM-dd HH:mm:ss)
 *     risk_class_base: 1                 # 1: 1 重大 … 4 低; 0: 0 重大 … 3 低
 *     hazard_codes: { HS01: "320500001" }  # hazard source id → its registration code (危险源编码)
 *     upload:                            # push to the regulator's platform (notify/upload.h)
 *       url: https://platform.example/api   # base; each record type POSTs to url + its path
 *       token: "…"                       # sent as header `token_header: token` (optional; or token_file)
 *       token_header: token
 *       aes_key: 16-character key        # `datas` AES-128-CBC encrypted, IV = key (optional; or aes_key_file)
 *       page_size: 20                    # records per POST
 *       interval_s: 1                    # how often the change marks are looked at
 *       timeout_s: 10                    # per POST
 *       max_backoff_s: 300               # retries back off 1 s, 2 s, 4 s … up to this
 *       success_code: 200                # the platform's `code` (top level or data.code) of success
 *       max_refusals: 5                  # a record refused this often is set aside (dead letter)
 *       refuse_codes: [400]              # codes that set a record aside at once
 *       paths: { hazards: /sec_hidden_danger_info, … }  # per record type, defaults in docs
 *     responsibility_tasks:              # 包保责任人 tasks (checkTasks workType 1..3)
 *       - { measure: M03, role: principal, task_num: 1, check_cycle: { n: 3, unit: 月 } }
 *
 * Present, it also makes the measures' troubleshoot required on inspected measures (data_src 2).
 * Owned by the dg_config (national_config_free). */
#ifndef DG_NATIONAL_CONFIG_H
#define DG_NATIONAL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "yaml.h"

/* record types (enum national_kind in national.h), each with its upload path */
#define DG_NATIONAL_N_PATHS 10

enum national_time_format { NATIONAL_TIME_COMPACT = 1, NATIONAL_TIME_ISO = 2 };

struct dg_national_code {
  char *source;  /* hazard source id */
  char *code;    /* its registration code */
  int line, col; /* where it was given, for the check against the loaded sources */
};

struct dg_national_upload {
  char *url, *token, *token_header, *aes_key;
  char *paths[DG_NATIONAL_N_PATHS]; /* per enum national_kind; defaults filled by the parser */
  uint32_t page_size, interval_s, timeout_s, max_backoff_s;
  int success_code;
  uint32_t max_refusals;     /* a record refused this often is dead-lettered */
  long *refuse_codes;        /* codes that dead-letter a record at once */
  size_t n_refuse_codes;
};

/* 包保责任人 inspection task (national checkTasks row with workType 1..3): a responsible person
 * of a major hazard source checks a measure, item task_num of the national 包保 checklist. */
enum national_role { NATIONAL_PRINCIPAL = 1, NATIONAL_TECHNICAL = 2, NATIONAL_OPERATIONAL = 3 };
struct dg_national_task {
  char *measure;             /* the control measure checked (riskMeasureId) */
  int work_type;             /* enum national_role: 1 主要负责人 2 技术负责人 3 操作负责人 */
  int task_num;              /* 1..9 (principal, technical), 1..10 (operational) */
  int cycle_n, cycle_unit;   /* enum inspect_unit; default by role: 3 月, 1 月, 7 天 */
  char key[160];             /* national_ids key: "<measure>#<work_type>#<task_num>" */
  int line, col;
};

struct dg_national {
  char *company_code;
  char *credit_code;
  int time_format;           /* enum national_time_format */
  int risk_class_base;
  struct dg_national_code *codes;
  size_t n_codes;
  struct dg_national_upload *upload; /* NULL: no push, the pull export only */
  struct dg_national_task *tasks;    /* responsibility_tasks */
  size_t n_tasks;
};

struct cfg_ctx;
struct dg_config;

/* The section, called by config.c with "national" on the error path before hazard_sources. */
int national_config_parse(struct cfg_ctx *x, const struct dg_ynode *n);
/* After the whole file: every hazard_codes key names a hazard source, every responsibility
 * task a measure. 0 or -EINVAL. */
int national_config_check(struct cfg_ctx *x);
/* The registration code of hazard source `id` (the id itself when none is configured). */
const char *national_config_hazard_code(const struct dg_national *n, const char *id);
/* The responsibility task whose national_ids key is `key`, or NULL. */
const struct dg_national_task *national_config_task(const struct dg_national *n, const char *key);
void national_config_free(struct dg_config *c);

/* GB 32100-2015 unified social credit code: 18 characters of "0-9A-HJ-NPQRTUWXY" whose last is
 * the check character of the first 17. */
bool national_credit_code_valid(const char *code);
/* The check character for the first 17 characters of `code`, or 0 if one is not allowed. */
char national_credit_code_check(const char *code);

#endif
