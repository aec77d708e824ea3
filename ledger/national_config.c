#include "national_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_ctx.h"

static const char national_config__cc_chars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static const int national_config__cc_weights[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};

static int national_config__cc_value(char ch)
{
  const char *p = ch ? strchr(national_config__cc_chars, ch) : NULL;
  return p ? (int)(p - national_config__cc_chars) : -1;
}

char national_credit_code_check(const char *code)
{
  int sum = 0;
  for (int i = 0; i < 17; i++) {
    int v = code ? national_config__cc_value(code[i]) : -1;
    if (v < 0) return 0;
    sum += v * national_config__cc_weights[i];
  }
  return national_config__cc_chars[(31 - sum % 31) % 31];
}

bool national_credit_code_valid(const char *code)
{
  if (!code || strlen(code) != 18) return false;
  char want = national_credit_code_check(code);
  return want && code[17] == want;
}

static const char *const national_config__formats[] = {"compact", "iso", NULL};

enum { NAT_COMPANY, NAT_CREDIT, NAT_TIME, NAT_BASE, NAT_CODES, NAT_UPLOAD, NAT_TASKS };
static const struct dg_yfield national_config__fields[] = {
  [NAT_COMPANY] = YF_STR("company_code", struct dg_national, company_code, DG_YF_REQ),
  [NAT_CREDIT] = YF_STR("credit_code", struct dg_national, credit_code, DG_YF_REQ),
  [NAT_TIME] = YF_ENUM("time_format", struct dg_national, time_format, 0, national_config__formats),
  [NAT_BASE] = YF_NUM("risk_class_base", DG_YK_INT, struct dg_national, risk_class_base, 0, 0, 1),
  [NAT_CODES] = YF_NODE("hazard_codes", 0),
  [NAT_UPLOAD] = YF_NODE("upload", 0),
  [NAT_TASKS] = YF_NODE("responsibility_tasks", 0),
};

enum { UP_URL, UP_TOKEN, UP_TOKEN_FILE, UP_HEADER, UP_KEY, UP_KEY_FILE, UP_PAGE, UP_INTERVAL, UP_TIMEOUT, UP_BACKOFF,
       UP_CODE, UP_PATHS, UP_REFUSALS, UP_REFUSE };
static const struct dg_yfield national_config__upload_fields[] = {
  [UP_URL] = YF_STR("url", struct dg_national_upload, url, DG_YF_REQ),
  [UP_TOKEN] = YF_STR("token", struct dg_national_upload, token, 0),
  [UP_TOKEN_FILE] = YF_NODE("token_file", 0),
  [UP_HEADER] = YF_STR("token_header", struct dg_national_upload, token_header, 0),
  [UP_KEY] = YF_STR("aes_key", struct dg_national_upload, aes_key, 0),
  [UP_KEY_FILE] = YF_NODE("aes_key_file", 0),
  [UP_PAGE] = YF_NUM("page_size", DG_YK_U32, struct dg_national_upload, page_size, 0, 1, 1000),
  [UP_INTERVAL] = YF_NUM("interval_s", DG_YK_U32, struct dg_national_upload, interval_s, 0, 1, 86400),
  [UP_TIMEOUT] = YF_NUM("timeout_s", DG_YK_U32, struct dg_national_upload, timeout_s, 0, 1, 600),
  [UP_BACKOFF] = YF_NUM("max_backoff_s", DG_YK_U32, struct dg_national_upload, max_backoff_s, 0, 1, 86400),
  [UP_CODE] = YF_NUM("success_code", DG_YK_INT, struct dg_national_upload, success_code, 0, 0, 999999),
  [UP_PATHS] = YF_NODE("paths", 0),
  [UP_REFUSALS] = YF_NUM("max_refusals", DG_YK_U32, struct dg_national_upload, max_refusals, 0, 1, 1000),
  [UP_REFUSE] = YF_NODE("refuse_codes", 0),
};

/* upload.paths: one optional path per record type (enum national_kind order). */
#define NATIONAL_PATH(k, i) YF_STR(k, struct dg_national_upload, paths[i], 0)
static const struct dg_yfield national_config__path_fields[] = {
  NATIONAL_PATH("hazardSources", 0), NATIONAL_PATH("riskUnits", 1), NATIONAL_PATH("riskEvents", 2),
  NATIONAL_PATH("controlMeasures", 3), NATIONAL_PATH("checkTasks", 4), NATIONAL_PATH("checkRecords", 5),
  NATIONAL_PATH("hazards", 6), NATIONAL_PATH("shutdownRecords", 7), NATIONAL_PATH("monthlyReports", 8),
  NATIONAL_PATH("safetyCommitments", 9),
};

/* The upload client's paths; hazard sources have none there: ours follows its naming. */
static const char *const national_config__default_paths[DG_NATIONAL_N_PATHS] = {
  "/sec_hazard_source", "/sec_security_risk_unit", "/sec_security_risk_events",
  "/sec_security_risk_control_measures", "/sec_hidden_check_mission", "/sec_hidden_check_record",
  "/sec_hidden_danger_info", "/sec_deactivated_maintenance_record", "/sec_monthly_report", "/sec_safety_promise"};

static bool national_config__digits(const char *s, size_t len)
{
  if (!s || strlen(s) != len) return false;
  for (size_t i = 0; i < len; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

static int national_config__paths(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_national_upload *u = obj;
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, national_config__path_fields, u, &s);
  for (int i = 0; !rc && i < DG_NATIONAL_N_PATHS; i++)
    if (u->paths[i] && u->paths[i][0] != '/')
      rc = dg_yc_failk(y, s.val[i], national_config__path_fields[i].key, "expected a path starting with '/'");
  return rc;
}

static int national_config__refuse_code(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  long long v = 0;
  (void)i;
  int rc = dg_yc_int(y, n, -999999, 999999, &v);
  *(long *)item = (long)v;
  return rc;
}

static int national_config__refuse(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_national_upload *u = obj;
  return dg_yc_list(y, n, sizeof *u->refuse_codes, &u->refuse_codes, &u->n_refuse_codes, national_config__refuse_code);
}

static const char *const national_config__roles[] = {"principal", "technical", "operational", NULL};
static const char *const national_config__units[] = {"小时", "天", "月", "年", NULL};

enum { NT_MEASURE, NT_ROLE, NT_NUM, NT_CYCLE };
static const struct dg_yfield national_config__task_fields[] = {
  [NT_MEASURE] = YF_STR("measure", struct dg_national_task, measure, DG_YF_REQ),
  [NT_ROLE] = YF_ENUM("role", struct dg_national_task, work_type, DG_YF_REQ, national_config__roles),
  [NT_NUM] = YF_NUM("task_num", DG_YK_INT, struct dg_national_task, task_num, DG_YF_REQ, 1, 10),
  [NT_CYCLE] = YF_NODE("check_cycle", 0),
};
enum { NC_N, NC_UNIT };
static const struct dg_yfield national_config__cycle_fields[] = {
  [NC_N] = YF_NUM("n", DG_YK_INT, struct dg_national_task, cycle_n, DG_YF_REQ, 1, 9999),
  [NC_UNIT] = YF_ENUM("unit", struct dg_national_task, cycle_unit, DG_YF_REQ, national_config__units),
};

static int national_config__cycle(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_yseen s;
  return DG_YC_MAP(y, n, national_config__cycle_fields, obj, &s);
}

/* The 包保 checklist's frequencies: principal every quarter, technical every month, operational
 * every week; its items run 1..9, 1..9 and 1..10. */
static int national_config__task(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  static const int cycle_n[] = {0, 3, 1, 7}, cycle_unit[] = {0, 3, 3, 2}, max_num[] = {0, 9, 9, 10};
  struct dg_national_task *t = item;
  struct dg_yseen s;
  (void)i;
  int rc = DG_YC_MAP(y, n, national_config__task_fields, t, &s);
  if (!rc && t->task_num > max_num[t->work_type])
    rc = dg_yc_failk(y, s.val[NT_NUM], "task_num", "expected an item 1..%d of the %s checklist, got %d",
                     max_num[t->work_type], national_config__roles[t->work_type - 1], t->task_num);
  if (!rc) rc = dg_yc_under(y, s.val[NT_CYCLE], "check_cycle", t, national_config__cycle);
  if (!rc && !t->cycle_n) {
    t->cycle_n = cycle_n[t->work_type];
    t->cycle_unit = cycle_unit[t->work_type];
  }
  if (rc) return rc;
  snprintf(t->key, sizeof t->key, "%.120s#%d#%d", t->measure, t->work_type, t->task_num);
  t->line = n->line;
  t->col = n->col;
  return 0;
}

static int national_config__tasks(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_national *nat = obj;
  int rc = dg_yc_list(y, n, sizeof *nat->tasks, &nat->tasks, &nat->n_tasks, national_config__task);
  for (size_t i = 0; !rc && i < nat->n_tasks; i++)
    for (size_t j = 0; j < i; j++)
      if (!strcmp(nat->tasks[i].key, nat->tasks[j].key))
        return dg_yc_fail_at(y, nat->tasks[i].line, nat->tasks[i].col,
                             "measure '%.64s' already has task %d of this role (line %d)", nat->tasks[i].measure,
                             nat->tasks[i].task_num, nat->tasks[j].line);
  return rc;
}

static int national_config__upload(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  static const char *const schemes[] = {"http://", "https://", NULL};
  struct dg_national *nat = obj;
  struct dg_national_upload *u = nat->upload = calloc(1, sizeof *u);
  if (!u) return dg_yc_oom(y);
  *u = (struct dg_national_upload){.page_size = 20, .interval_s = 60, .timeout_s = 10, .max_backoff_s = 300,
                                   .success_code = 200, .max_refusals = 5};
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, national_config__upload_fields, u, &s);
  if (!rc) rc = dg_yc_secret(y, &s, national_config__upload_fields, UP_TOKEN, UP_TOKEN_FILE, &u->token);
  if (!rc) rc = dg_yc_secret(y, &s, national_config__upload_fields, UP_KEY, UP_KEY_FILE, &u->aes_key);
  if (!rc && !dg_yc_has_scheme(u->url, schemes))
    rc = dg_yc_failk(y, s.val[UP_URL], "url", "expected an http:// or https:// URL");
  if (!rc && u->aes_key && strlen(u->aes_key) != 16)
    rc = dg_yc_failk(y, s.val[UP_KEY] ? s.val[UP_KEY] : s.val[UP_KEY_FILE], "aes_key",
                     "expected a key of 16 bytes (AES-128)");
  if (!rc) rc = dg_yc_under(y, s.val[UP_PATHS], "paths", u, national_config__paths);
  if (!rc) rc = dg_yc_under(y, s.val[UP_REFUSE], "refuse_codes", u, national_config__refuse);
  if (!rc && !u->token_header && !(u->token_header = strdup("token"))) rc = dg_yc_oom(y);
  for (int i = 0; !rc && i < DG_NATIONAL_N_PATHS; i++)
    if (!u->paths[i] && !(u->paths[i] = strdup(national_config__default_paths[i]))) rc = dg_yc_oom(y);
  return rc;
}

static int national_config__codes(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_national *nat = obj;
  if (n->type != DG_YMAP) return dg_yc_fail(y, n, "expected a mapping of hazard source id to registration code");
  if (!(nat->codes = calloc(n->n / 2 + 1, sizeof *nat->codes))) return dg_yc_oom(y);
  for (size_t k = 0; k + 1 < n->n; k += 2) {
    const char *id = NULL, *code = NULL;
    int rc = dg_yc_text(y, n->kids[k], &id);
    if (!rc) rc = dg_yc_text(y, n->kids[k + 1], &code);
    if (!rc && strlen(code) > 36) rc = dg_yc_fail(y, n->kids[k + 1], "expected a registration code of 1 to 36 characters");
    if (rc) return rc;
    struct dg_national_code *c = &nat->codes[nat->n_codes++];
    *c = (struct dg_national_code){strdup(id), strdup(code), n->kids[k]->line, n->kids[k]->col};
    if (!c->source || !c->code) return dg_yc_oom(y);
  }
  return 0;
}

int national_config_parse(struct cfg_ctx *x, const struct dg_ynode *n)
{
  struct dg_ycheck *y = &x->y;
  struct dg_national *nat = x->c->national = calloc(1, sizeof *nat);
  if (!nat) return dg_yc_oom(y);
  nat->risk_class_base = 1;
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, national_config__fields, nat, &s);
  if (!nat->time_format) nat->time_format = NATIONAL_TIME_COMPACT;
  if (!rc && !national_config__digits(nat->company_code, 9))
    rc = dg_yc_failk(y, s.val[NAT_COMPANY], "company_code", "expected the 9-digit enterprise code, got '%.64s'",
                     nat->company_code);
  if (!rc && strlen(nat->credit_code) != 18)
    rc = dg_yc_failk(y, s.val[NAT_CREDIT], "credit_code",
                     "expected the 18-character unified social credit code, got '%.64s'", nat->credit_code);
  if (!rc && !national_credit_code_valid(nat->credit_code)) {
    char want = national_credit_code_check(nat->credit_code);
    rc = want ? dg_yc_failk(y, s.val[NAT_CREDIT], "credit_code", "check character is '%c', expected '%c' (GB 32100)",
                            nat->credit_code[17], want)
              : dg_yc_failk(y, s.val[NAT_CREDIT], "credit_code",
                            "'%.18s' has a character outside 0-9 and A-Y without I, O, S, V, Z", nat->credit_code);
  }
  if (!rc) rc = dg_yc_under(y, s.val[NAT_CODES], "hazard_codes", nat, national_config__codes);
  if (!rc) rc = dg_yc_under(y, s.val[NAT_UPLOAD], "upload", nat, national_config__upload);
  if (!rc) rc = dg_yc_under(y, s.val[NAT_TASKS], "responsibility_tasks", nat, national_config__tasks);
  return rc;
}

static bool national_config__has_source(const struct dg_config *c, const char *id)
{
  for (size_t i = 0; i < c->n_sources; i++)
    if (!strcmp(c->sources[i].id, id)) return true;
  return false;
}

static bool national_config__has_measure(const struct dg_config *c, const char *id)
{
  for (size_t s = 0; s < c->n_sources; s++)
    for (size_t u = 0; u < c->sources[s].n_units; u++)
      for (size_t e = 0; e < c->sources[s].units[u].n_events; e++) {
        const struct dg_event *ev = &c->sources[s].units[u].events[e];
        for (size_t m = 0; m < ev->n_measures; m++)
          if (!strcmp(ev->measures[m].id, id)) return true;
      }
  return false;
}

int national_config_check(struct cfg_ctx *x)
{
  const struct dg_national *nat = x->c->national;
  for (size_t i = 0; nat && i < nat->n_tasks; i++) {
    const struct dg_national_task *t = &nat->tasks[i];
    if (national_config__has_measure(x->c, t->measure)) continue;
    size_t mark = dg_yc_path_key(&x->y, "national");
    dg_yc_path_key(&x->y, "responsibility_tasks");
    int rc = dg_yc_fail_at(&x->y, t->line, t->col, "unknown control measure '%.64s'", t->measure);
    dg_yc_path_restore(&x->y, mark);
    return rc;
  }
  for (size_t i = 0; nat && i < nat->n_codes; i++) {
    const struct dg_national_code *c = &nat->codes[i];
    if (national_config__has_source(x->c, c->source)) continue;
    size_t mark = dg_yc_path_key(&x->y, "national");
    dg_yc_path_key(&x->y, "hazard_codes");
    int rc = dg_yc_fail_at(&x->y, c->line, c->col, "unknown hazard source '%.64s'", c->source);
    dg_yc_path_restore(&x->y, mark);
    return rc;
  }
  return 0;
}

const char *national_config_hazard_code(const struct dg_national *n, const char *id)
{
  for (size_t i = 0; n && id && i < n->n_codes; i++)
    if (!strcmp(n->codes[i].source, id)) return n->codes[i].code;
  return id;
}

const struct dg_national_task *national_config_task(const struct dg_national *n, const char *key)
{
  for (size_t i = 0; n && key && i < n->n_tasks; i++)
    if (!strcmp(n->tasks[i].key, key)) return &n->tasks[i];
  return NULL;
}

void national_config_free(struct dg_config *c)
{
  struct dg_national *n = c->national;
  if (!n) return;
  for (size_t i = 0; i < n->n_codes; i++) {
    free(n->codes[i].source);
    free(n->codes[i].code);
  }
  free(n->codes);
  if (n->upload) {
    for (int i = 0; i < DG_NATIONAL_N_PATHS; i++) free(n->upload->paths[i]);
    free(n->upload->url);
    free(n->upload->token);
    free(n->upload->token_header);
    free(n->upload->aes_key);
    free(n->upload->refuse_codes);
    free(n->upload);
  }
  for (size_t i = 0; i < n->n_tasks; i++) free(n->tasks[i].measure);
  free(n->tasks);
  free(n->company_code);
  free(n->credit_code);
  free(n);
  c->national = NULL;
}
