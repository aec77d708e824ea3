#include "national.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "govern.h"
#include "inspect.h"
#include "log.h"

static const char *const national__keys[NATIONAL_N_KINDS] = {
  "hazardSources", "riskUnits", "riskEvents", "controlMeasures", "checkTasks", "checkRecords", "hazards",
  "shutdownRecords", "monthlyReports", "safetyCommitments"};
/* national_ids.kind of each record type */
static const char *const national__id_kinds[NATIONAL_N_KINDS] = {"hazard_source", "unit", "event", "measure",
                                                                 "task", "record", "hazard", "shutdown", "report",
                                                                 "commitment"};

const char *national_kind_key(enum national_kind k)
{
  return k < NATIONAL_N_KINDS ? national__keys[k] : NULL;
}

/* ---- enterprise codes, enums, times ---------------------------------------------------------- */

int national_risk_class(int dg_level, int base)
{
  return dg_level >= DG_LEVEL_BLUE && dg_level <= DG_LEVEL_RED ? base + (DG_LEVEL_RED - dg_level) : -1;
}

int national_risk_level(int risk_class, int base)
{
  int i = risk_class - base;
  return i >= 0 && i <= 3 ? DG_LEVEL_RED - i : 0;
}

static const char *const national__units[] = {NULL, "小时", "天", "月", "年"};

const char *national_cycle_unit(int unit)
{
  return unit >= 1 && unit <= 4 ? national__units[unit] : NULL;
}

int national_cycle_unit_parse(const char *text)
{
  for (int u = 1; text && u <= 4; u++)
    if (!strcmp(text, national__units[u])) return u;
  return 0;
}

static struct tm *national__local(int64_t ms, struct tm *tm)
{
  time_t t = (time_t)(ms / 1000);
  return ms > 0 ? localtime_r(&t, tm) : NULL;
}

char *national_time(int64_t ms, enum national_time_format f, char out[NATIONAL_TIME_LEN])
{
  struct tm tm;
  if (!national__local(ms, &tm)) return NULL;
  strftime(out, NATIONAL_TIME_LEN, f == NATIONAL_TIME_ISO ? "%Y-%m-%d %H:%M:%S" : "%Y%m%d%H%M%S", &tm);
  return out;
}

char *national_date(int64_t ms, char out[NATIONAL_TIME_LEN])
{
  struct tm tm;
  if (!national__local(ms, &tm)) return NULL;
  strftime(out, NATIONAL_TIME_LEN, "%Y-%m-%d", &tm);
  return out;
}

int national_time_parse(const char *text, int64_t *ms)
{
  struct tm tm = {0};
  char rest = 0;
  size_t n = text ? strlen(text) : 0;
  int got = n == 14   ? sscanf(text, "%4d%2d%2d%2d%2d%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                               &tm.tm_min, &tm.tm_sec, &rest)
            : n == 19 ? sscanf(text, "%4d-%2d-%2d %2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                               &tm.tm_min, &tm.tm_sec, &rest)
            : n == 10 ? sscanf(text, "%4d-%2d-%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &rest) + 3
                      : 0;
  if (got != 6 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60)
    return -EINVAL;
  struct tm want = tm;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  time_t t = mktime(&tm);
  if (t == (time_t)-1 || tm.tm_mday != want.tm_mday) return -EINVAL; /* 31 Feb normalised away */
  *ms = (int64_t)t * 1000;
  return 0;
}

int national_uuid(char out[37])
{
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) return -EIO;
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
           b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return 0;
}

/* ---- storing the UUIDs (writer thread) ------------------------------------------------------- */

struct national__ent {
  int kind;             /* enum national_kind */
  char *key, *parent;   /* owned */
};

struct national__assign {
  struct national__ent *v;
  size_t n, cap;
  void (*done)(void *arg, int rc); /* national_assign_submit's caller, after the commit */
  void *arg;
};

static int national__push(struct national__assign *a, int kind, const char *key, const char *parent)
{
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 64;
    struct national__ent *v = realloc(a->v, cap * sizeof *v);
    if (!v) return -ENOMEM;
    a->v = v;
    a->cap = cap;
  }
  struct national__ent *e = &a->v[a->n];
  e->kind = kind;
  e->key = strdup(key);
  e->parent = parent ? strdup(parent) : NULL;
  if (!e->key || (parent && !e->parent)) {
    free(e->key);
    free(e->parent);
    return -ENOMEM;
  }
  a->n++;
  return 0;
}

static void national__assign_free(struct national__assign *a)
{
  for (size_t i = 0; i < a->n; i++) {
    free(a->v[i].key);
    free(a->v[i].parent);
  }
  free(a->v);
  free(a);
}

static const char *const national__sql_put =
  "INSERT OR IGNORE INTO national_ids (kind, key, uuid, parent, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)";

static int national__put(struct store_conn *c, int kind, const char *key, const char *parent, int64_t now)
{
  char uuid[37];
  sqlite3_stmt *st = store_stmt(c, national__sql_put);
  if (!st || national_uuid(uuid)) return SQLITE_ERROR;
  store_bind_text(st, 1, national__id_kinds[kind]);
  store_bind_text(st, 2, key);
  store_bind_text(st, 3, uuid);
  store_bind_text(st, 4, parent);
  sqlite3_bind_int64(st, 5, now);
  return store_step_done(st);
}

/* Ledger rows of one kind that have no UUID yet: (key, parent) pairs read first, stored after. */
static const char *const national__sql_missing[NATIONAL_N_KINDS] = {
  [NATIONAL_RECORD] = "SELECT CAST(t.id AS TEXT), t.measure FROM inspection_tasks t WHERE t.check_status IS NOT NULL AND t.plan IS NULL"
                      " AND NOT EXISTS (SELECT 1 FROM national_ids n WHERE n.kind = 'record'"
                      " AND n.key = CAST(t.id AS TEXT))",
  [NATIONAL_HAZARD] = "SELECT CAST(h.id AS TEXT), h.measure FROM hazards h WHERE h.danger_state >= 0"
                      " AND NOT EXISTS (SELECT 1 FROM national_ids n WHERE n.kind = 'hazard'"
                      " AND n.key = CAST(h.id AS TEXT))",
  [NATIONAL_SHUTDOWN] = "SELECT CAST(s.id AS TEXT), s.unit FROM shutdown_records s"
                        " WHERE NOT EXISTS (SELECT 1 FROM national_ids n WHERE n.kind = 'shutdown'"
                        " AND n.key = CAST(s.id AS TEXT))",
  [NATIONAL_REPORT] = "SELECT r.month, NULL FROM monthly_reports r WHERE NOT EXISTS (SELECT 1 FROM national_ids n"
                      " WHERE n.kind = 'report' AND n.key = r.month)",
  [NATIONAL_COMMITMENT] = "SELECT c.day, NULL FROM commitments c WHERE NOT EXISTS (SELECT 1 FROM national_ids n"
                          " WHERE n.kind = 'commitment' AND n.key = c.day)",
};

static int national__assign_rows(struct store_conn *c, int kind, int64_t now)
{
  struct national__assign rows = {0};
  sqlite3_stmt *st = store_stmt(c, national__sql_missing[kind]);
  int rc = st ? SQLITE_OK : SQLITE_ERROR, step;
  while (st && (step = sqlite3_step(st)) == SQLITE_ROW)
    if (national__push(&rows, kind, (const char *)sqlite3_column_text(st, 0),
                       (const char *)sqlite3_column_text(st, 1)))
      rc = SQLITE_NOMEM;
  if (st && step != SQLITE_DONE && rc == SQLITE_OK) rc = step;
  if (st) sqlite3_reset(st);
  for (size_t i = 0; rc == SQLITE_OK && i < rows.n; i++) rc = national__put(c, kind, rows.v[i].key, rows.v[i].parent, now);
  for (size_t i = 0; i < rows.n; i++) {
    free(rows.v[i].key);
    free(rows.v[i].parent);
  }
  free(rows.v);
  return rc;
}

static int national__assign_work(struct store_conn *c, void *arg)
{
  struct national__assign *a = arg;
  int64_t now = dg_wall_ms();
  int rc = SQLITE_OK;
  for (size_t i = 0; rc == SQLITE_OK && i < a->n; i++) rc = national__put(c, a->v[i].kind, a->v[i].key, a->v[i].parent, now);
  for (int k = NATIONAL_RECORD; rc == SQLITE_OK && k < NATIONAL_N_KINDS; k++) rc = national__assign_rows(c, k, now);
  return rc;
}

static void national__assign_done(void *arg, int rc)
{
  struct national__assign *a = arg;
  if (rc != SQLITE_OK) DG_WARN("national", "storing record UUIDs failed: %s", sqlite3_errstr(rc));
  if (a->done) a->done(a->arg, rc == SQLITE_OK ? 0 : -EIO);
  national__assign_free(a);
}

static int national__collect(const struct dg_config *cfg, struct national__assign *a)
{
  int rc = 0;
  for (size_t i = 0; cfg->national && !rc && i < cfg->national->n_tasks; i++)
    rc = national__push(a, NATIONAL_TASK, cfg->national->tasks[i].key, cfg->national->tasks[i].measure);
  for (size_t s = 0; !rc && s < cfg->n_sources; s++) {
    const struct dg_hazard_source *hs = &cfg->sources[s];
    rc = national__push(a, NATIONAL_SOURCE, hs->id, NULL);
    for (size_t u = 0; !rc && u < hs->n_units; u++) {
      const struct dg_unit *un = &hs->units[u];
      rc = national__push(a, NATIONAL_UNIT, un->id, hs->id);
      for (size_t e = 0; !rc && e < un->n_events; e++) {
        const struct dg_event *ev = &un->events[e];
        rc = national__push(a, NATIONAL_EVENT, ev->id, un->id);
        for (size_t m = 0; !rc && m < ev->n_measures; m++) {
          rc = national__push(a, NATIONAL_MEASURE, ev->measures[m].id, ev->id);
          if (!rc) rc = national__push(a, NATIONAL_TASK, ev->measures[m].id, ev->measures[m].id);
        }
      }
    }
  }
  return rc;
}

int national_assign_submit(const struct dg_config *cfg, struct store *s, void (*done)(void *arg, int rc), void *arg)
{
  struct national__assign *a = calloc(1, sizeof *a);
  if (!a) return -ENOMEM;
  a->done = done;
  a->arg = arg;
  int rc = national__collect(cfg, a);
  if (!rc) rc = store_submit(s, national__assign_work, national__assign_done, a);
  if (rc) national__assign_free(a);
  return rc;
}

int national_assign_ids(const struct dg_config *cfg, struct store *s)
{
  int rc = national_assign_submit(cfg, s, NULL, NULL);
  return rc ? rc : store_wait_own(s);
}

/* ---- building the document (reader) ---------------------------------------------------------- */

struct national__ctx {
  const struct dg_config *cfg;
  const struct dg_national *nat;
  struct store_conn *c;
  int64_t since_ms;
  int failed;
};

static const char *const national__sql_uuid = "SELECT uuid, parent, created_ms FROM national_ids WHERE kind = ?1 AND key = ?2";

/* The UUID of (kind, key) into out (37 bytes); its parent key into parent (may be NULL, 64
 * bytes) and creation time. false when none is stored. */
static bool national__uuid(struct national__ctx *x, int kind, const char *key, char *out, char *parent,
                           int64_t *created)
{
  sqlite3_stmt *st = store_stmt(x->c, national__sql_uuid);
  if (!st || !key) return false;
  store_bind_text(st, 1, national__id_kinds[kind]);
  store_bind_text(st, 2, key);
  bool found = sqlite3_step(st) == SQLITE_ROW;
  if (found) {
    snprintf(out, 37, "%s", (const char *)sqlite3_column_text(st, 0));
    const char *p = (const char *)sqlite3_column_text(st, 1);
    if (parent) snprintf(parent, 64, "%s", p ? p : "");
    if (created) *created = sqlite3_column_int64(st, 2);
  }
  sqlite3_reset(st);
  return found;
}

static cJSON *national__str(cJSON *o, const char *k, const char *v)
{
  return v ? cJSON_AddStringToObject(o, k, v) : cJSON_AddNullToObject(o, k);
}

static void national__int_str(cJSON *o, const char *k, long long v)
{
  char buf[24];
  snprintf(buf, sizeof buf, "%lld", v);
  cJSON_AddStringToObject(o, k, buf);
}

static void national__time(struct national__ctx *x, cJSON *o, const char *k, int64_t ms)
{
  char buf[NATIONAL_TIME_LEN];
  national__str(o, k, national_time(ms, x->nat->time_format, buf));
}

/* A person's name for an id in the config (the text itself when it names no person). */
static const char *national__name(struct national__ctx *x, const char *id)
{
  const struct dg_person *p = id ? dg_config_person(x->cfg, id) : NULL;
  return p && p->name ? p->name : id;
}

static const char *national__mobile(struct national__ctx *x, const char *id)
{
  const struct dg_person *p = id ? dg_config_person(x->cfg, id) : NULL;
  return p && p->phone ? p->phone : "";
}

struct national__stamp {
  int64_t create_ms, update_ms;
  const char *create_by, *update_by; /* person ids or texts */
  int deleted;
};

/* The fields every record carries: id, enterprise codes, deletion, creation and update. */
static cJSON *national__record(struct national__ctx *x, const char *uuid, const struct national__stamp *s)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", uuid);
  cJSON_AddStringToObject(o, "companyCode", x->nat->company_code);
  cJSON_AddStringToObject(o, "tyshxydm", x->nat->credit_code);
  national__int_str(o, "deleted", s->deleted);
  national__time(x, o, "createDate", s->create_ms);
  national__str(o, "createBy", national__name(x, s->create_by ? s->create_by : "system"));
  national__time(x, o, "updateDate", s->update_ms ? s->update_ms : s->create_ms);
  national__str(o, "updateBy", national__name(x, s->update_by ? s->update_by : s->create_by ? s->create_by : "system"));
  return o;
}

static const char *const national__sql_first_edit =
  "SELECT ts_ms, actor FROM model_edits WHERE kind = ?1 AND entity = ?2 ORDER BY id LIMIT 1";
static const char *const national__sql_last_edit =
  "SELECT ts_ms, actor FROM model_edits WHERE kind = ?1 AND entity = ?2 ORDER BY id DESC LIMIT 1";

/* Creation and update of a model entity: its first and last journal edit, else when its UUID
 * was stored. Actor strings are copied into the caller's buffers. */
static void national__model_stamp(struct national__ctx *x, const char *edit_kind, const char *id, int64_t created,
                                  struct national__stamp *s, char by[2][64])
{
  const char *sql[2] = {national__sql_first_edit, national__sql_last_edit};
  int64_t *ms[2] = {&s->create_ms, &s->update_ms};
  s->create_ms = s->update_ms = created;
  s->create_by = s->update_by = NULL;
  for (int i = 0; i < 2; i++) {
    sqlite3_stmt *st = store_stmt(x->c, sql[i]);
    if (!st) {
      x->failed = 1;
      return;
    }
    store_bind_text(st, 1, edit_kind);
    store_bind_text(st, 2, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
      *ms[i] = sqlite3_column_int64(st, 0);
      snprintf(by[i], 64, "%s", (const char *)sqlite3_column_text(st, 1));
      if (i == 0) s->create_by = by[0];
      else s->update_by = by[1];
    }
    sqlite3_reset(st);
  }
}

static cJSON *national__arr(cJSON *root, enum national_kind k)
{
  return cJSON_GetObjectItem(root, national__keys[k]);
}

/* A model record of kind k for entity id (NULL if it has no UUID yet): id fields and stamps. */
static cJSON *national__model_record(struct national__ctx *x, enum national_kind k, const char *id, int deleted)
{
  static const char *const edit_kinds[] = {"hazard_source", "unit", "event", "measure", "measure"};
  char uuid[37], by[2][64];
  int64_t created = 0;
  struct national__stamp s = {0};
  if (!national__uuid(x, k, id, uuid, NULL, &created)) return NULL;
  national__model_stamp(x, edit_kinds[k], id, created, &s, by);
  s.deleted = deleted;
  return national__record(x, uuid, &s);
}

/* The UUID of the parent of kind pk named pid into out ("" when it has none). */
static const char *national__ref(struct national__ctx *x, enum national_kind pk, const char *pid, char out[37])
{
  if (!national__uuid(x, pk, pid, out, NULL, NULL)) out[0] = '\0';
  return out[0] ? out : NULL;
}

static void national__source(struct national__ctx *x, cJSON *root, const struct dg_hazard_source *hs)
{
  cJSON *o = national__model_record(x, NATIONAL_SOURCE, hs->id, 0);
  if (!o) return;
  national__str(o, "hazardCode", national_config_hazard_code(x->nat, hs->id));
  national__str(o, "hazardName", hs->name);
  national__str(o, "hazardType", hs->type);
  national__int_str(o, "isMajor", hs->is_major);
  if (hs->major_grade) national__int_str(o, "hazardLevel", hs->major_grade);
  else cJSON_AddNullToObject(o, "hazardLevel");
  if (hs->graded) cJSON_AddNumberToObject(o, "rValue", hs->major_r);
  cJSON_AddItemToArray(national__arr(root, NATIONAL_SOURCE), o);
}

static void national__unit(struct national__ctx *x, cJSON *root, const struct dg_unit *u)
{
  cJSON *o = national__model_record(x, NATIONAL_UNIT, u->id, 0);
  if (!o) return;
  national__str(o, "hazardCode", national_config_hazard_code(x->nat, u->source->id));
  national__str(o, "hazardDep", u->dept);
  national__str(o, "hazardLiablePerson", national__name(x, u->person));
  national__str(o, "riskUnitName", u->name);
  cJSON_AddNumberToObject(o, "riskClass", national_risk_class((int)u->level, x->nat->risk_class_base));
  cJSON_AddItemToArray(national__arr(root, NATIONAL_UNIT), o);
}

static void national__event(struct national__ctx *x, cJSON *root, const struct dg_event *e)
{
  char ref[37];
  cJSON *o = national__model_record(x, NATIONAL_EVENT, e->id, 0);
  if (!o) return;
  national__str(o, "riskUnitId", national__ref(x, NATIONAL_UNIT, e->unit->id, ref));
  national__str(o, "riskEventName", e->name);
  cJSON_AddNumberToObject(o, "riskClass", national_risk_class((int)e->level, x->nat->risk_class_base));
  cJSON_AddItemToArray(national__arr(root, NATIONAL_EVENT), o);
}

/* The measure fields a record needs, from the live measure or a deleted one's snapshot. */
struct national__measure {
  const char *id, *event, *desc, *classify, *classify3, *troubleshoot;
  int data_src, cycle_n, cycle_unit, work_days;
};

static void national__measure_fields(struct national__ctx *x, cJSON *root, const struct national__measure *m,
                                     int deleted)
{
  char ref[37], c1[4] = "";
  cJSON *o = national__model_record(x, NATIONAL_MEASURE, m->id, deleted);
  if (!o) return;
  if (m->classify) snprintf(c1, sizeof c1, "%c", m->classify[0]);
  national__str(o, "riskEventId", national__ref(x, NATIONAL_EVENT, m->event, ref));
  national__int_str(o, "dataSrc", m->data_src);
  national__str(o, "riskMeasureDesc", m->desc);
  national__str(o, "classify1", c1[0] ? c1 : NULL);
  national__str(o, "classify2", m->classify && m->classify[1] ? m->classify : NULL);
  national__str(o, "classify3", m->classify3);
  /* required of every measure by the platform; a monitored measure (config validation does not
   * ask it there) is checked by its monitoring: what is checked is the measure itself */
  national__str(o, "troubleshootContent", m->troubleshoot ? m->troubleshoot : m->desc);
  cJSON_AddItemToArray(national__arr(root, NATIONAL_MEASURE), o);
}

static const char *const national__sql_task_start = "SELECT min(start_ms) FROM inspection_tasks WHERE measure = ?1";

/* The standing inspection task of a measure (national: one row per measure; every measure has
 * inspection periods, a monitored one judged from its monitoring). */
static void national__task_row(struct national__ctx *x, cJSON *root, const struct national__measure *m, int deleted,
                              const struct dg_national_task *bb)
{
  char ref[37];
  cJSON *o = national__model_record(x, NATIONAL_TASK, bb ? bb->key : m->id, deleted);
  if (!o) return;
  int64_t start = 0;
  sqlite3_stmt *st = store_stmt(x->c, national__sql_task_start);
  if (st) {
    store_bind_text(st, 1, m->id);
    if (sqlite3_step(st) == SQLITE_ROW) start = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
  } else {
    x->failed = 1;
  }
  if (!start) national__uuid(x, NATIONAL_TASK, bb ? bb->key : m->id, ref, NULL, &start);
  national__str(o, "riskMeasureId", national__ref(x, NATIONAL_MEASURE, m->id, ref));
  national__str(o, "troubleshootContent", m->troubleshoot ? m->troubleshoot : m->desc);
  int unit = bb ? bb->cycle_unit : m->cycle_unit;
  cJSON_AddNumberToObject(o, "checkCycle", bb ? bb->cycle_n : m->cycle_n);
  national__str(o, "checkCycleUnit", national_cycle_unit(unit));
  national__time(x, o, "taskStartTime", start);
  /* work hours only matter for an hourly cycle; the daemon inspects around the clock */
  national__str(o, "workStartTime", unit == INSPECT_HOUR ? "0:00:00" : NULL);
  national__str(o, "workEndTime", unit == INSPECT_HOUR ? "23:59:59" : NULL);
  national__int_str(o, "workDayType", m->work_days ? 1 : 0);
  /* 0 日常任务; 包保 tasks: 1 主要负责人 2 技术负责人 3 操作负责人 with the checklist item */
  national__int_str(o, "workType", bb ? bb->work_type : 0);
  if (bb) national__int_str(o, "taskNum", bb->task_num);
  else cJSON_AddNullToObject(o, "taskNum");
  cJSON_AddItemToArray(national__arr(root, NATIONAL_TASK), o);
}

static void national__task(struct national__ctx *x, cJSON *root, const struct national__measure *m, int deleted)
{
  national__task_row(x, root, m, deleted, NULL);
}

static void national__measure(struct national__ctx *x, cJSON *root, const struct dg_measure *me)
{
  char classify[8];
  struct inspect_cycle cy = inspect_measure_cycle(me);
  snprintf(classify, sizeof classify, "%d", me->classify1);
  struct national__measure m = {me->id, me->event->id, me->desc, me->classify2 ? me->classify2 : me->classify1 ? classify : NULL,
                                me->classify3, me->troubleshoot, me->data_src, cy.n, (int)cy.unit, me->work_days};
  national__measure_fields(x, root, &m, 0);
  national__task(x, root, &m, 0);
  for (size_t i = 0; i < x->nat->n_tasks; i++)
    if (!strcmp(x->nat->tasks[i].measure, me->id)) national__task_row(x, root, &m, 0, &x->nat->tasks[i]);
}

/* ---- deleted model entities ---- */

static const char *const national__sql_gone =
  "SELECT kind, key, parent FROM national_ids WHERE kind IN ('hazard_source', 'unit', 'event', 'measure', 'task')"
  " ORDER BY created_ms, rowid";
static const char *const national__sql_snapshot =
  "SELECT before FROM model_edits WHERE kind = ?1 AND entity = ?2 AND op = 'delete' ORDER BY id DESC LIMIT 1";

static bool national__live(const struct dg_config *cfg, int kind, const char *id)
{
  if (kind == NATIONAL_TASK && strchr(id, '#')) {
    const struct dg_national_task *t = national_config_task(cfg->national, id);
    return t && national__live(cfg, NATIONAL_MEASURE, t->measure);
  }
  for (size_t s = 0; s < cfg->n_sources; s++) {
    const struct dg_hazard_source *hs = &cfg->sources[s];
    if (kind == NATIONAL_SOURCE && !strcmp(hs->id, id)) return true;
    for (size_t u = 0; u < hs->n_units; u++) {
      if (kind == NATIONAL_UNIT && !strcmp(hs->units[u].id, id)) return true;
      for (size_t e = 0; e < hs->units[u].n_events; e++) {
        const struct dg_event *ev = &hs->units[u].events[e];
        if (kind == NATIONAL_EVENT && !strcmp(ev->id, id)) return true;
        for (size_t m = 0; m < ev->n_measures; m++)
          if ((kind == NATIONAL_MEASURE || kind == NATIONAL_TASK) && !strcmp(ev->measures[m].id, id))
            return true;
      }
    }
  }
  return false;
}

/* The deletion snapshot (the entity as it was, JSON) of a model entity, NULL if none. */
static cJSON *national__snapshot(struct national__ctx *x, int kind, const char *id)
{
  sqlite3_stmt *st = store_stmt(x->c, national__sql_snapshot);
  if (!st) return NULL;
  store_bind_text(st, 1, national__id_kinds[kind == NATIONAL_TASK ? NATIONAL_MEASURE : kind]);
  store_bind_text(st, 2, id);
  cJSON *j = sqlite3_step(st) == SQLITE_ROW ? cJSON_Parse((const char *)sqlite3_column_text(st, 0)) : NULL;
  sqlite3_reset(st);
  return j;
}

static const char *national__jtext(const cJSON *j, const char *k)
{
  return cJSON_GetStringValue(cJSON_GetObjectItem(j, k));
}

static const char *const national__sql_last_sent =
  "SELECT q.body FROM upload_queue q JOIN national_ids n ON n.uuid = q.uuid"
  " WHERE n.kind = ?1 AND n.key = ?2 AND q.body LIKE '%\"deleted\":\"0\"%' ORDER BY q.seq DESC LIMIT 1";

/* A gone entity whose live version was queued for the platform: that version with deleted = 1
 * (every field the platform had, stable from one scan to the next), updated by its deletion
 * edit when the journal has one. NULL when it was never queued. */
static cJSON *national__gone_from_sent(struct national__ctx *x, int kind, const char *id)
{
  sqlite3_stmt *st = store_stmt(x->c, national__sql_last_sent);
  if (!st) return NULL;
  store_bind_text(st, 1, national__id_kinds[kind]);
  store_bind_text(st, 2, id);
  cJSON *o = sqlite3_step(st) == SQLITE_ROW ? cJSON_Parse((const char *)sqlite3_column_text(st, 0)) : NULL;
  sqlite3_reset(st);
  if (!o) return NULL;
  cJSON_ReplaceItemInObject(o, "deleted", cJSON_CreateString("1"));
  char by[2][64];
  struct national__stamp s = {0};
  national__model_stamp(x, kind == NATIONAL_TASK ? "measure" : national__id_kinds[kind], id, 0, &s, by);
  if (s.update_ms) {
    char t[NATIONAL_TIME_LEN];
    cJSON_ReplaceItemInObject(o, "updateDate", cJSON_CreateString(national_time(s.update_ms, x->nat->time_format, t)));
    cJSON_ReplaceItemInObject(o, "updateBy", cJSON_CreateString(national__name(x, s.update_by)));
  }
  return o;
}

static void national__gone_one(struct national__ctx *x, cJSON *root, int kind, const char *id, const char *parent)
{
  cJSON *o = national__gone_from_sent(x, kind, id);
  if (o) {
    cJSON_AddItemToArray(national__arr(root, kind), o);
    return;
  }
  if (kind == NATIONAL_TASK && strchr(id, '#')) return; /* a 包保 task the platform never had */
  cJSON *snap = national__snapshot(x, kind, id);
  if (kind == NATIONAL_MEASURE || kind == NATIONAL_TASK) {
    const cJSON *cy = cJSON_GetObjectItem(snap, "check_cycle");
    struct national__measure m = {id, parent, national__jtext(snap, "desc"), national__jtext(snap, "classify"),
                                  national__jtext(snap, "classify3"), national__jtext(snap, "troubleshoot"),
                                  (int)cJSON_GetNumberValue(cJSON_GetObjectItem(snap, "data_src")),
                                  (int)cJSON_GetNumberValue(cJSON_GetObjectItem(cy, "n")),
                                  national_cycle_unit_parse(national__jtext(cy, "unit")),
                                  cJSON_IsTrue(cJSON_GetObjectItem(snap, "work_days"))};
    if (kind == NATIONAL_MEASURE) {
      char ev[64] = "";
      char tmp[37];
      national__uuid(x, NATIONAL_MEASURE, id, tmp, ev, NULL);
      m.event = ev;
      national__measure_fields(x, root, &m, 1);
    } else {
      national__task(x, root, &m, 1);
    }
  } else if ((o = national__model_record(x, kind, id, 1))) {
    char ref[37];
    const char *name = national__jtext(snap, "name");
    if (kind == NATIONAL_SOURCE) {
      national__str(o, "hazardCode", national_config_hazard_code(x->nat, id));
      national__str(o, "hazardName", name);
    } else if (kind == NATIONAL_UNIT) {
      national__str(o, "hazardCode", national_config_hazard_code(x->nat, parent));
      national__str(o, "riskUnitName", name);
    } else {
      national__str(o, "riskUnitId", national__ref(x, NATIONAL_UNIT, parent, ref));
      national__str(o, "riskEventName", name);
    }
    cJSON_AddItemToArray(national__arr(root, kind), o);
  }
  cJSON_Delete(snap);
}

static void national__gone(struct national__ctx *x, cJSON *root)
{
  struct national__assign gone = {0};
  sqlite3_stmt *st = store_stmt(x->c, national__sql_gone);
  if (!st) {
    x->failed = 1;
    return;
  }
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *k = (const char *)sqlite3_column_text(st, 0), *id = (const char *)sqlite3_column_text(st, 1);
    int kind = NATIONAL_SOURCE;
    while (kind < NATIONAL_N_KINDS && strcmp(national__id_kinds[kind], k)) kind++;
    if (!national__live(x->cfg, kind, id) &&
        national__push(&gone, kind, id, (const char *)sqlite3_column_text(st, 2)))
      x->failed = 1;
  }
  sqlite3_reset(st);
  for (size_t i = 0; i < gone.n; i++) national__gone_one(x, root, gone.v[i].kind, gone.v[i].key, gone.v[i].parent);
  for (size_t i = 0; i < gone.n; i++) {
    free(gone.v[i].key);
    free(gone.v[i].parent);
  }
  free(gone.v);
}

/* ---- ledger records ---- */

static const char *const national__sql_records =
  "SELECT n.uuid, t.measure, t.checked_ms, t.check_status, t.checker"
  " FROM inspection_tasks t JOIN national_ids n ON n.kind = 'record' AND n.key = CAST(t.id AS TEXT)"
  " WHERE t.check_status IS NOT NULL AND t.checked_ms > ?1 ORDER BY t.checked_ms, t.id";

/* Runs `sql` (?1 = since) and hands each row to `row`; a database error marks the build failed. */
static void national__each(struct national__ctx *x, cJSON *root, const char *sql,
                           void (*row)(struct national__ctx *, cJSON *, sqlite3_stmt *))
{
  sqlite3_stmt *st = store_stmt(x->c, sql);
  if (!st) {
    x->failed = 1;
    return;
  }
  sqlite3_bind_int64(st, 1, x->since_ms);
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) row(x, root, st);
  if (step != SQLITE_DONE) x->failed = 1;
  sqlite3_reset(st);
}

static void national__record_row(struct national__ctx *x, cJSON *root, sqlite3_stmt *st)
{
  char ref[37];
  const char *measure = (const char *)sqlite3_column_text(st, 1), *checker = (const char *)sqlite3_column_text(st, 4);
  int64_t at = sqlite3_column_int64(st, 2);
  struct national__stamp s = {at, at, checker, checker, 0};
  cJSON *o = national__record(x, (const char *)sqlite3_column_text(st, 0), &s);
  national__str(o, "checkTaskId", national__ref(x, NATIONAL_TASK, measure, ref));
  national__time(x, o, "checkTime", at);
  national__int_str(o, "checkStatus", sqlite3_column_int(st, 3));
  national__str(o, "mobileMe", national__mobile(x, checker));
  national__str(o, "createByMobile", national__mobile(x, checker));
  national__str(o, "updateByMobile", national__mobile(x, checker));
  cJSON_AddItemToArray(national__arr(root, NATIONAL_RECORD), o);
}

static const char *const national__sql_hazards =
  "SELECT n.uuid, h.hazard_source, h.measure, (SELECT r.uuid FROM inspection_tasks t JOIN national_ids r"
  "   ON r.kind = 'record' AND r.key = CAST(t.id AS TEXT) WHERE t.hazard_id = h.id ORDER BY t.id LIMIT 1),"
  " h.description, h.danger_level, h.created_ms, h.reporter, h.danger_src, h.danger_manage_type,"
  " h.hazard_danger_type, h.reason, h.rectify_measures, h.cost, h.liable_person, h.deadline_ms, h.verifier,"
  " h.closed_ms, h.verify_comment, h.danger_state, h.updated_ms, h.rectifier,"
  " (SELECT group_concat('/api/v1/attachments/' || a.id) FROM attachments a WHERE a.hazard_id = h.id"
  "   AND a.stage = 'discover'),"
  " (SELECT group_concat('/api/v1/attachments/' || a.id) FROM attachments a WHERE a.hazard_id = h.id"
  "   AND a.stage IN ('rectify', 'verify')), h.management_classification, h.occurrence_link"
  " FROM hazards h JOIN national_ids n ON n.kind = 'hazard' AND n.key = CAST(h.id AS TEXT)"
  " WHERE h.danger_state >= 0 AND h.updated_ms > ?1 ORDER BY h.id";

static const char *national__col(sqlite3_stmt *st, int i)
{
  return (const char *)sqlite3_column_text(st, i);
}

static void national__opt_int(cJSON *o, const char *k, sqlite3_stmt *st, int i)
{
  if (sqlite3_column_type(st, i) == SQLITE_NULL) cJSON_AddNullToObject(o, k);
  else cJSON_AddNumberToObject(o, k, sqlite3_column_int(st, i));
}

/* dangerName: the first line of the description, at most 100 bytes, cut on a UTF-8 boundary. */
static void national__danger_name(const char *desc, char out[101])
{
  size_t n = 0;
  while (desc && desc[n] && desc[n] != '\n' && n < 100) n++;
  while (n > 0 && desc[n] && ((unsigned char)desc[n] & 0xc0) == 0x80) n--;
  snprintf(out, 101, "%.*s", (int)n, desc ? desc : "");
}

static void national__hazard(struct national__ctx *x, cJSON *root, sqlite3_stmt *st)
{
  char ref[37], name[101], date[NATIONAL_TIME_LEN];
  const char *reporter = national__col(st, 7);
  const char *updater = national__col(st, 16) ? national__col(st, 16) : national__col(st, 21) ? national__col(st, 21) : reporter;
  struct national__stamp s = {sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 20), reporter, updater, 0};
  cJSON *o = national__record(x, national__col(st, 0), &s);
  national__str(o, "hazardCode", national_config_hazard_code(x->nat, national__col(st, 1)));
  national__str(o, "riskMeasureId", national__ref(x, NATIONAL_MEASURE, national__col(st, 2), ref));
  national__str(o, "checkRecordId", national__col(st, 3));
  national__danger_name(national__col(st, 4), name);
  national__str(o, "dangerName", name);
  national__int_str(o, "dangerLevel", sqlite3_column_int(st, 5));
  national__time(x, o, "registTime", sqlite3_column_int64(st, 6));
  national__str(o, "registrant", national__name(x, reporter ? reporter : "system"));
  national__int_str(o, "dangerSrc", sqlite3_column_int(st, 8));
  national__int_str(o, "dangerManageType", sqlite3_column_int(st, 9));
  national__int_str(o, "hazardDangerType", sqlite3_column_int(st, 10));
  cJSON_AddNumberToObject(o, "hazardCategory", 0);
  national__str(o, "dangerDesc", national__col(st, 4));
  national__str(o, "dangerReason", national__col(st, 11));
  national__str(o, "controlMeasures", national__col(st, 12));
  if (sqlite3_column_type(st, 13) != SQLITE_NULL) {
    char cost[32];
    snprintf(cost, sizeof cost, "%g", sqlite3_column_double(st, 13));
    cJSON_AddStringToObject(o, "cost", cost);
  } else {
    cJSON_AddNullToObject(o, "cost");
  }
  national__str(o, "liablePerson", national__name(x, national__col(st, 14)));
  national__str(o, "dangerManageDeadline", national_date(sqlite3_column_int64(st, 15), date));
  int state = sqlite3_column_int(st, 19);
  national__str(o, "checkAcceptPerson", state == 9 ? national__name(x, national__col(st, 16)) : NULL);
  national__time(x, o, "checkAcceptTime", state == 9 ? sqlite3_column_int64(st, 17) : 0);
  national__str(o, "checkAcceptComment", state == 9 ? national__col(st, 18) : NULL);
  national__int_str(o, "dangerState", state);
  national__str(o, "dangerImg", national__col(st, 22));
  national__str(o, "dangerAcceptImg", national__col(st, 23));
  /* W: 人物管理分类 1 人的不安全行为 2 物的不安全状态 3 管理上的缺陷; 发生环节 1 设计 … 10 运输 */
  national__opt_int(o, "managementClassification", st, 24);
  national__opt_int(o, "occurrenceLink", st, 25);
  cJSON_AddItemToArray(national__arr(root, NATIONAL_HAZARD), o);
}

static const char *const national__sql_shutdowns =
  "SELECT n.uuid, s.hazard_source, s.unit, s.start_ms, s.end_ms, s.reason, s.deleted, s.created_ms, s.created_by,"
  " s.updated_ms, s.updated_by FROM shutdown_records s"
  " JOIN national_ids n ON n.kind = 'shutdown' AND n.key = CAST(s.id AS TEXT)"
  " WHERE s.updated_ms > ?1 ORDER BY s.id";

static void national__shutdown(struct national__ctx *x, cJSON *root, sqlite3_stmt *st)
{
  char ref[37];
  struct national__stamp s = {sqlite3_column_int64(st, 7), sqlite3_column_int64(st, 9), national__col(st, 8),
                              national__col(st, 10), sqlite3_column_int(st, 6)};
  cJSON *o = national__record(x, national__col(st, 0), &s);
  national__str(o, "hazardCode", national_config_hazard_code(x->nat, national__col(st, 1)));
  national__str(o, "riskUnitId", national__ref(x, NATIONAL_UNIT, national__col(st, 2), ref));
  national__time(x, o, "stopStartTime", sqlite3_column_int64(st, 3));
  national__time(x, o, "stopEndTime", sqlite3_column_int64(st, 4));
  national__str(o, "stopReason", national__col(st, 5));
  cJSON_AddItemToArray(national__arr(root, NATIONAL_SHUTDOWN), o);
}

static const char *const national__sql_reports =
  "SELECT n.uuid, r.month, r.created_ms, r.body FROM monthly_reports r"
  " JOIN national_ids n ON n.kind = 'report' AND n.key = r.month WHERE r.created_ms > ?1 ORDER BY r.month";

/* The monthly report of major risks and major hazards: reportMonth and the report document. */
static void national__report(struct national__ctx *x, cJSON *root, sqlite3_stmt *st)
{
  struct national__stamp s = {sqlite3_column_int64(st, 2), 0, "system", NULL, 0};
  cJSON *o = national__record(x, national__col(st, 0), &s);
  national__str(o, "reportMonth", national__col(st, 1));
  cJSON *doc = cJSON_Parse(national__col(st, 3));
  if (doc) cJSON_AddItemToObject(o, "report", doc);
  else cJSON_AddNullToObject(o, "report");
  cJSON_AddItemToArray(national__arr(root, NATIONAL_REPORT), o);
}

static const char *const national__sql_commitments =
  "SELECT n.uuid, c.day, c.confirmed_ms, c.confirmed_by, c.body FROM commitments c"
  " JOIN national_ids n ON n.kind = 'commitment' AND n.key = c.day WHERE c.confirmed_ms > ?1 ORDER BY c.day";

/* The count at path ("a.b") of a stored document; 0 when it is not a number there. */
static int national__jint(const cJSON *o, const char *path)
{
  char key[32];
  const char *dot = strchr(path, '.');
  const cJSON *v = dot ? NULL : cJSON_GetObjectItem(o, path);
  if (!dot) return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < INT32_MAX ? (int)v->valuedouble : 0;
  snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
  return national__jint(cJSON_GetObjectItem(o, key), dot + 1);
}

/* The confirmed daily safety commitment (安全承诺公告): its figures as the principal confirmed
 * them (the stored body, never changed), the text and who confirmed it when. */
static void national__commitment(struct national__ctx *x, cJSON *root, sqlite3_stmt *st)
{
  static const char *const figures[][2] = {
    {"openHazardNum", "hazards_open.total"}, {"majorHazardNum", "hazards_open.major"},
    {"generalHazardNum", "hazards_open.general"}, {"activeAlarmNum", "alarms.active"},
    {"overdueTaskNum", "inspections.overdue"}};
  const char *by = national__col(st, 3);
  struct national__stamp s = {sqlite3_column_int64(st, 2), 0, by, NULL, 0};
  cJSON *body = cJSON_Parse(national__col(st, 4)), *o = national__record(x, national__col(st, 0), &s);
  const cJSON *it, *src = cJSON_GetObjectItem(body, "hazard_sources");
  int n[GOVERN_MAINTENANCE + 1] = {0};
  cJSON_ArrayForEach(it, src) {
    int k = govern_op_state_parse(cJSON_GetStringValue(cJSON_GetObjectItem(it, "state")));
    if (k >= 0 && k <= GOVERN_MAINTENANCE) n[k]++;
  }
  national__str(o, "commitDate", national__col(st, 1));
  national__time(x, o, "commitTime", sqlite3_column_int64(st, 2));
  national__str(o, "commitPerson", national__name(x, by));
  national__str(o, "commitPersonMobile", national__mobile(x, by));
  cJSON_AddNumberToObject(o, "majorSourceNum", cJSON_GetArraySize(src));
  cJSON_AddNumberToObject(o, "runningNum", n[GOVERN_RUNNING]);
  cJSON_AddNumberToObject(o, "shutdownNum", n[GOVERN_SHUTDOWN]);
  cJSON_AddNumberToObject(o, "maintenanceNum", n[GOVERN_MAINTENANCE]);
  const cJSON *ops = cJSON_GetObjectItem(body, "special_operations");
  cJSON_AddNumberToObject(o, "specialOperationNum", cJSON_GetArraySize(ops));
  for (size_t i = 0; i < sizeof figures / sizeof *figures; i++)
    cJSON_AddNumberToObject(o, figures[i][0], national__jint(body, figures[i][1]));
  cJSON_AddNumberToObject(o, "stopOrderNum", cJSON_GetArraySize(cJSON_GetObjectItem(body, "stops")));
  national__str(o, "commitContent", cJSON_GetStringValue(cJSON_GetObjectItem(body, "text_zh")));
  national__str(o, "commitNote", cJSON_GetStringValue(cJSON_GetObjectItem(body, "note")));
  cJSON_Delete(body);
  cJSON_AddItemToArray(national__arr(root, NATIONAL_COMMITMENT), o);
}

cJSON *national_build(const struct dg_config *cfg, struct store_conn *c, int64_t since_ms)
{
  if (!cfg->national) return NULL;
  struct national__ctx x = {cfg, cfg->national, c, since_ms, 0};
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "profile", "national");
  cJSON_AddNumberToObject(root, "since", (double)since_ms);
  cJSON_AddNumberToObject(root, "until", (double)dg_wall_ms());
  cJSON_AddStringToObject(root, "companyCode", x.nat->company_code);
  cJSON_AddStringToObject(root, "tyshxydm", x.nat->credit_code);
  for (int k = 0; k < NATIONAL_N_KINDS; k++) cJSON_AddArrayToObject(root, national__keys[k]);
  if (store_read_begin(c)) {
    cJSON_Delete(root);
    return NULL;
  }
  for (size_t s = 0; s < cfg->n_sources; s++) {
    const struct dg_hazard_source *hs = &cfg->sources[s];
    national__source(&x, root, hs);
    for (size_t u = 0; u < hs->n_units; u++) {
      national__unit(&x, root, &hs->units[u]);
      for (size_t e = 0; e < hs->units[u].n_events; e++) {
        const struct dg_event *ev = &hs->units[u].events[e];
        national__event(&x, root, ev);
        for (size_t m = 0; m < ev->n_measures; m++) national__measure(&x, root, &ev->measures[m]);
      }
    }
  }
  national__gone(&x, root);
  national__each(&x, root, national__sql_records, national__record_row);
  national__each(&x, root, national__sql_hazards, national__hazard);
  national__each(&x, root, national__sql_shutdowns, national__shutdown);
  national__each(&x, root, national__sql_reports, national__report);
  national__each(&x, root, national__sql_commitments, national__commitment);
  store_read_end(c);
  if (x.failed) {
    cJSON_Delete(root);
    return NULL;
  }
  return root;
}
