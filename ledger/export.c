#include "export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grade.h"
#include "log.h"
#include "national.h"

void export_json_text(cJSON *o, const char *k, const char *v)
{
  if (v) cJSON_AddStringToObject(o, k, v);
  else cJSON_AddNullToObject(o, k);
}

static const char *const export__sql_tasks =
  "SELECT id AS checkTaskId, measure AS controlMeasureId, event AS riskEventId, unit AS riskUnitId,"
  " hazard_source AS hazardCode, check_cycle AS checkCycle, check_cycle_unit AS checkCycleUnit,"
  " " EXPORT_TIME("start_ms") " AS taskStartTime, " EXPORT_TIME("due_ms") " AS taskEndTime,"
  " CASE WHEN check_status IS NULL THEN 0 ELSE 1 END AS taskDone"
  " FROM inspection_tasks WHERE plan IS NULL AND (start_ms > ?1 OR checked_ms > ?1) ORDER BY id";
static const char *const export__sql_records =
  "SELECT id AS checkRecordId, id AS checkTaskId, measure AS controlMeasureId, check_status AS checkStatus,"
  " checker AS checkPerson, " EXPORT_TIME("checked_ms") " AS checkTime, note AS checkDesc, hazard_id AS hazardId"
  " FROM inspection_tasks WHERE plan IS NULL AND check_status IS NOT NULL AND checked_ms > ?1 ORDER BY id";
static const char *const export__sql_hazards =
  "SELECT id AS hazardId, code AS dangerCode, hazard_source AS hazardCode, unit AS riskUnitId,"
  " event AS riskEventId, measure AS controlMeasureId, danger_level AS dangerLevel, danger_src AS dangerSrc,"
  " danger_manage_type AS dangerManageType, hazard_danger_type AS hazardDangerType,"
  " danger_state AS dangerState, description AS dangerDesc, reason AS dangerReason,"
  " rectify_measures AS controlMeasures, cost AS cost, liable_person AS liablePerson,"
  " " EXPORT_TIME("deadline_ms") " AS dangerManageDeadline, contingency_plan AS contingencyPlan, reporter AS registPerson,"
  " rectifier AS rectifyPerson, verifier AS checkAcceptPerson, verify_comment AS checkAcceptComment,"
  " " EXPORT_TIME("closed_ms") " AS checkAcceptTime, " EXPORT_TIME("overdue_ms") " AS overdueTime, occurrences AS occurrences,"
  " " EXPORT_TIME("created_ms") " AS createTime, " EXPORT_TIME("updated_ms") " AS updateTime"
  " FROM hazards WHERE updated_ms > ?1 AND danger_state >= 0 ORDER BY id";

int export_rows(sqlite3_stmt *st, cJSON *arr)
{
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < sqlite3_column_count(st); i++) {
      const char *k = sqlite3_column_name(st, i);
      switch (sqlite3_column_type(st, i)) {
      case SQLITE_NULL: cJSON_AddNullToObject(o, k); break;
      case SQLITE_INTEGER:
      case SQLITE_FLOAT: cJSON_AddNumberToObject(o, k, sqlite3_column_double(st, i)); break;
      default: cJSON_AddStringToObject(o, k, (const char *)sqlite3_column_text(st, i)); break;
      }
    }
    cJSON_AddItemToArray(arr, o);
  }
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : -EIO;
}

static int export__query(struct store_conn *c, const char *sql, int64_t since_ms, cJSON *root, const char *key)
{
  cJSON *arr = cJSON_AddArrayToObject(root, key);
  sqlite3_stmt *st = store_stmt(c, sql);
  if (!st) return -EIO;
  sqlite3_bind_int64(st, 1, since_ms);
  return export_rows(st, arr);
}

static void export__measure(cJSON *arr, const struct dg_measure *m)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "controlMeasureId", m->id);
  cJSON_AddStringToObject(o, "riskEventId", m->event->id);
  export_json_text(o, "riskMeasureDesc", m->desc);
  cJSON_AddNumberToObject(o, "classify1", m->classify1);
  export_json_text(o, "classify2", m->classify2);
  cJSON_AddNumberToObject(o, "dataSrc", m->data_src);
  export_json_text(o, "troubleshootContent", m->troubleshoot);
  export_json_text(o, "controlLevel", m->control_level);
  export_json_text(o, "controlLiableDep", m->resp_dept);
  export_json_text(o, "controlLiablePerson", m->resp_person);
  cJSON_AddItemToArray(arr, o);
}

static void export__event(cJSON *events, cJSON *measures, const struct dg_event *e)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "riskEventId", e->id);
  export_json_text(o, "riskEventName", e->name);
  cJSON_AddStringToObject(o, "riskUnitId", e->unit->id);
  export_json_text(o, "accidentType", e->accident_type);
  cJSON_AddStringToObject(o, "assessMethod", e->method == DG_ASSESS_LS ? "LS" : "LEC");
  cJSON_AddNumberToObject(o, "riskL", e->l);
  if (e->method == DG_ASSESS_LS) {
    cJSON_AddNumberToObject(o, "riskS", e->s);
  } else {
    cJSON_AddNumberToObject(o, "riskE", e->e);
    cJSON_AddNumberToObject(o, "riskC", e->c);
  }
  cJSON_AddNumberToObject(o, "riskValue", e->score);
  cJSON_AddNumberToObject(o, "riskLevel", e->level);
  cJSON_AddItemToArray(events, o);
  for (size_t i = 0; i < e->n_measures; i++) export__measure(measures, &e->measures[i]);
}

static void export__unit(cJSON *root, const struct dg_unit *u)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "riskUnitId", u->id);
  export_json_text(o, "riskUnitName", u->name);
  export_json_text(o, "hazardCode", u->source ? u->source->id : NULL);
  export_json_text(o, "hazardDep", u->dept);
  export_json_text(o, "hazardLiablePerson", u->person);
  cJSON_AddNumberToObject(o, "riskLevel", u->level);
  cJSON_AddItemToArray(cJSON_GetObjectItem(root, "riskUnits"), o);
  for (size_t i = 0; i < u->n_events; i++)
    export__event(cJSON_GetObjectItem(root, "riskEvents"), cJSON_GetObjectItem(root, "controlMeasures"),
                  &u->events[i]);
}

cJSON *export_hazard_source(const struct dg_hazard_source *hs)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "hazardCode", hs->id);
  export_json_text(o, "hazardName", hs->name);
  export_json_text(o, "hazardType", hs->type);
  cJSON_AddNumberToObject(o, "isMajor", hs->is_major);
  if (hs->major_grade) cJSON_AddNumberToObject(o, "hazardLevel", hs->major_grade);
  else cJSON_AddNullToObject(o, "hazardLevel");
  export_json_text(o, "hazardLevelName", hs->major_grade ? grade_name_zh(hs->major_grade) : NULL);
  if (!hs->graded) {
    cJSON_AddNullToObject(o, "rValue");
    return o;
  }
  cJSON_AddNumberToObject(o, "rValue", hs->major_r);
  cJSON_AddNumberToObject(o, "sValue", hs->major_s);
  cJSON_AddNumberToObject(o, "alpha", hs->alpha);
  if (hs->exposed_persons >= 0) cJSON_AddNumberToObject(o, "exposedPersons", (double)hs->exposed_persons);
  cJSON_AddItemToObject(o, "substances", export_substances(hs, "criticalQuantity"));
  return o;
}

cJSON *export_substances(const struct dg_hazard_source *hs, const char *critical_key)
{
  cJSON *subs = cJSON_CreateArray();
  for (size_t i = 0; i < hs->n_substances; i++) {
    const struct dg_substance *sb = &hs->substances[i];
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", sb->name);
    export_json_text(j, "category", sb->category);
    cJSON_AddNumberToObject(j, "quantity", sb->quantity);
    cJSON_AddNumberToObject(j, critical_key, sb->critical);
    cJSON_AddNumberToObject(j, "beta", sb->beta);
    cJSON_AddItemToArray(subs, j);
  }
  return subs;
}

cJSON *export_build(const struct dg_config *cfg, struct store_conn *c, int64_t since_ms)
{
  if (cfg->national) return national_build(cfg, c, since_ms); /* the national profile replaces this one */
  cJSON *root = cJSON_CreateObject();
  cJSON_AddNumberToObject(root, "since", (double)since_ms);
  cJSON_AddNumberToObject(root, "until", (double)dg_wall_ms());
  export_json_text(root, "enterpriseCode", cfg->site_code);
  cJSON *sources = cJSON_AddArrayToObject(root, "hazardSources");
  cJSON_AddArrayToObject(root, "riskUnits");
  cJSON_AddArrayToObject(root, "riskEvents");
  cJSON_AddArrayToObject(root, "controlMeasures");
  for (size_t s = 0; s < cfg->n_sources; s++) {
    cJSON_AddItemToArray(sources, export_hazard_source(&cfg->sources[s]));
    for (size_t u = 0; u < cfg->sources[s].n_units; u++) export__unit(root, &cfg->sources[s].units[u]);
  }
  /* tasks, records and hazards from one snapshot, so a record never names a missing hazard */
  int failed = store_read_begin(c) || export__query(c, export__sql_tasks, since_ms, root, "checkTasks") ||
               export__query(c, export__sql_records, since_ms, root, "checkRecords") ||
               export__query(c, export__sql_hazards, since_ms, root, "hazards");
  store_read_end(c);
  if (failed) {
    cJSON_Delete(root);
    return NULL;
  }
  return root;
}

static const char *const export__kinds[] = {"hazardSources", "riskUnits", "riskEvents", "controlMeasures",
                                            "checkTasks", "checkRecords", "hazards"};

static int export__write_json(const char *dir, const char *name, const cJSON *json, char *err, size_t errlen)
{
  char path[4096], tmp[4200];
  snprintf(path, sizeof path, "%s/%s.json", dir, name);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  char *text = cJSON_Print(json);
  FILE *f = text ? fopen(tmp, "w") : NULL;
  int ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
  if (f && fclose(f)) ok = 0;
  free(text);
  if (ok && rename(tmp, path) == 0) return 0;
  snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
  unlink(tmp);
  return -EIO;
}

int export_write_files(const struct dg_config *cfg, struct store_conn *c, int64_t since_ms, const char *dir,
                       char *err, size_t errlen)
{
  if (mkdir(dir, 0750) && errno != EEXIST) {
    snprintf(err, errlen, "%s: %s", dir, strerror(errno));
    return -errno;
  }
  cJSON *root = export_build(cfg, c, since_ms);
  if (!root) {
    snprintf(err, errlen, "reading the database failed");
    return -EIO;
  }
  cJSON *manifest = cJSON_CreateObject();
  cJSON_AddItemReferenceToObject(manifest, "since", cJSON_GetObjectItem(root, "since"));
  cJSON_AddItemReferenceToObject(manifest, "until", cJSON_GetObjectItem(root, "until"));
  const char *code_key = cfg->national ? "companyCode" : "enterpriseCode";
  cJSON_AddItemReferenceToObject(manifest, code_key, cJSON_GetObjectItem(root, code_key));
  cJSON *counts = cJSON_AddObjectToObject(manifest, "counts");
  size_t n_kinds = cfg->national ? NATIONAL_N_KINDS : sizeof export__kinds / sizeof export__kinds[0];
  int rc = 0;
  for (size_t i = 0; !rc && i < n_kinds; i++) {
    const char *kind = cfg->national ? national_kind_key((enum national_kind)i) : export__kinds[i];
    const cJSON *arr = cJSON_GetObjectItem(root, kind);
    cJSON_AddNumberToObject(counts, kind, cJSON_GetArraySize(arr));
    rc = export__write_json(dir, kind, arr, err, errlen);
  }
  if (!rc) rc = export__write_json(dir, "manifest", manifest, err, errlen);
  cJSON_Delete(manifest);
  cJSON_Delete(root);
  return rc;
}
