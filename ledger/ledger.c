#include "ledger.h"
#include "ledger_events.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array.h"
#include "idmap.h"
#include "describe.h"
#include "log.h"

/* The open monitoring hazard of a measure (hazard_id 0: none now). An entry is made the first
 * time its measure opens one and kept for the next: found by measure in O(1), so an activation
 * costs the same however many hazards are open. */
struct ledger__open {
  char *measure;
  int64_t hazard_id;
  char code[64];
};

struct ledger {
  const struct dg_config *cfg;
  struct ledger__open **entries;   /* owned, open or not */
  size_t n_entries, cap_entries;
  struct dg_idmap by_measure;      /* measure id → entry (keys: the entries' own strings) */
  size_t n_open;
  int64_t next_id;
  uint64_t generation;
  struct ledger_hook hook;
};

static struct ledger__open *ledger__entry(struct ledger *l, const char *measure)
{
  struct ledger__open *o = dg_idmap_get(&l->by_measure, measure);
  if (o) return o;
  if (dg_array_reserve(&l->entries, l->n_entries, &l->cap_entries, sizeof *l->entries)) return NULL;
  o = calloc(1, sizeof *o);
  if (o && !(o->measure = strdup(measure))) {
    free(o);
    return NULL;
  }
  if (!o || dg_idmap_put(&l->by_measure, o->measure, o, NULL) < 0) {
    if (o) free(o->measure);
    free(o);
    return NULL;
  }
  l->entries[l->n_entries++] = o;
  return o;
}

static int ledger__remember(struct ledger *l, const char *measure, int64_t id, const char *code)
{
  struct ledger__open *o = ledger__entry(l, measure);
  if (!o) return -ENOMEM;
  if (!o->hazard_id) l->n_open++;
  o->hazard_id = id;
  snprintf(o->code, sizeof o->code, "%s", code);
  return 0;
}

static const char *const ledger__sql_open =
  "SELECT id, code, measure FROM hazards WHERE danger_src = 9 AND danger_state <> 9 AND measure IS NOT NULL";
static const char *const ledger__sql_max = "SELECT COALESCE(MAX(id), 0) + 1 FROM hazards";

static int ledger__load(struct ledger *l, struct store_conn *c)
{
  sqlite3_stmt *st = store_stmt(c, ledger__sql_open);
  if (!st) return -EIO;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int err = ledger__remember(l, (const char *)sqlite3_column_text(st, 2), sqlite3_column_int64(st, 0),
                               (const char *)sqlite3_column_text(st, 1));
    if (err) return err;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return -EIO;
  st = store_stmt(c, ledger__sql_max);
  if (!st || sqlite3_step(st) != SQLITE_ROW) return -EIO;
  l->next_id = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return 0;
}

int ledger_open(struct ledger **out, const struct dg_config *cfg, struct store *store)
{
  struct ledger *l = calloc(1, sizeof *l);
  if (!l) return -ENOMEM;
  l->cfg = cfg;
  int rc = ledger__load(l, store_reader(store));
  if (rc) {
    ledger_close(l);
    return rc;
  }
  *out = l;
  return 0;
}

void ledger_close(struct ledger *l)
{
  if (!l) return;
  for (size_t i = 0; i < l->n_entries; i++) {
    free(l->entries[i]->measure);
    free(l->entries[i]);
  }
  free(l->entries);
  dg_idmap_free(&l->by_measure);
  free(l);
}

void ledger_set_config(struct ledger *l, const struct dg_config *cfg) { l->cfg = cfg; }

size_t ledger_open_count(const struct ledger *l) { return l->n_open; }

static struct ledger__open *ledger__find(struct ledger *l, const char *measure)
{
  struct ledger__open *o = dg_idmap_get(&l->by_measure, measure);
  return o && o->hazard_id ? o : NULL;
}

static void ledger__code(const struct ledger *l, int64_t id, int64_t now_ms, char *out, size_t len)
{
  time_t t = (time_t)(now_ms / 1000);
  struct tm tm;
  localtime_r(&t, &tm);
  snprintf(out, len, "%s-YH-%04d%02d%02d-%04lld", l->cfg->site_code, tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, (long long)id);
}

static char *ledger__fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *ledger__fmt(const char *fmt, ...)
{
  char *s = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0) s = NULL;
  va_end(ap);
  return s;
}

static void ledger__describe(const struct dg_rule *r, int stage, double value, struct hazard_change *hc)
{
  char zh[400], en[400];
  describe_condition(r, stage, value, zh, sizeof zh, en, sizeof en);
  hc->description = ledger__fmt("管控措施失效：%s。%s", r->measure->desc ? r->measure->desc : r->measure->id, zh);
  hc->reason = ledger__fmt("自动化监控规则 %s 报警（%s 阶段）", r->id, r->stages[stage].name);
}

int hazard_on_activation(struct ledger *l, const struct dg_rule *rule, int stage, double value,
                         int64_t alarm_id, int64_t now_ms, struct hazard_change *hc)
{
  memset(hc, 0, sizeof *hc);
  const struct dg_measure *m = rule->measure;
  if (!m || m->data_src != 1) return 0;
  hc->rule = rule;
  hc->measure = m;
  hc->alarm_id = alarm_id;
  hc->stage = rule->stages[stage].name;
  hc->value = value;
  hc->ts_ms = now_ms;
  struct ledger__open *o = ledger__find(l, m->id);
  if (o) {
    hc->kind = HAZARD_APPEND;
    hc->hazard_id = o->hazard_id;
    snprintf(hc->code, sizeof hc->code, "%s", o->code);
    return 1;
  }
  hc->kind = HAZARD_OPEN;
  hc->hazard_id = l->next_id++;
  ledger__code(l, hc->hazard_id, now_ms, hc->code, sizeof hc->code);
  const struct dg_unit *unit = m->event ? m->event->unit : NULL;
  int unit_level = unit && unit->hazard_level >= 0 ? unit->hazard_level : 0;
  uint32_t unit_days = unit && unit->hazard_deadline_days ? unit->hazard_deadline_days : l->cfg->hazard_deadline_days;
  hc->danger_level = rule->hazard_level >= 0 ? rule->hazard_level : unit_level;
  uint32_t days = rule->hazard_deadline_days ? rule->hazard_deadline_days : unit_days;
  hc->deadline_ms = now_ms + (int64_t)days * 86400000;
  if (hc->danger_level == 1) l->generation++; /* a new open major hazard: the units' risk may change */
  ledger__describe(rule, stage, value, hc);
  if (ledger__remember(l, m->id, hc->hazard_id, hc->code)) DG_ERR("ledger", "out of memory");
  return 1;
}

void hazard_change_release(struct hazard_change *hc)
{
  free(hc->description);
  free(hc->reason);
  hc->description = hc->reason = NULL;
}

static const char *const ledger__sql_insert =
  "INSERT INTO hazards (id, code, danger_level, danger_src, danger_manage_type, hazard_danger_type,"
  " danger_state, description, reason, liable_person, deadline_ms, reporter, hazard_source, unit, event,"
  " measure, rule, alarm_id, occurrences, created_ms, updated_ms, management_classification)"
  " VALUES (?1, ?2, ?3, 9, 1, 1, 0, ?4, ?5, ?6, ?7, 'system', ?8, ?9, ?10, ?11, ?12, ?13, 1, ?14, ?14, 2)";
static const char *const ledger__sql_bump =
  "UPDATE hazards SET occurrences = occurrences + 1, updated_ms = ?2 WHERE id = ?1";
static const char *const ledger__sql_occurrence =
  "INSERT INTO hazard_occurrences (hazard_id, ts_ms, alarm_id, rule, stage, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char *const ledger__sql_journal =
  "INSERT INTO hazard_journal (hazard_id, ts_ms, actor, action, from_state, to_state, comment)"
  " VALUES (?1, ?2, 'system', 'register', NULL, 0, ?3)";

static int ledger__insert(struct store_conn *c, const struct hazard_change *hc)
{
  sqlite3_stmt *st = store_stmt(c, ledger__sql_insert);
  if (!st) return SQLITE_ERROR;
  const struct dg_event *ev = hc->measure->event;
  const struct dg_unit *unit = ev ? ev->unit : NULL;
  sqlite3_bind_int64(st, 1, hc->hazard_id);
  store_bind_text(st, 2, hc->code);
  sqlite3_bind_int(st, 3, hc->danger_level);
  store_bind_text(st, 4, hc->description);
  store_bind_text(st, 5, hc->reason);
  store_bind_text(st, 6, unit ? unit->person : NULL);
  sqlite3_bind_int64(st, 7, hc->deadline_ms);
  store_bind_text(st, 8, unit && unit->source ? unit->source->id : NULL);
  store_bind_text(st, 9, unit ? unit->id : NULL);
  store_bind_text(st, 10, ev ? ev->id : NULL);
  store_bind_text(st, 11, hc->measure->id);
  store_bind_text(st, 12, hc->rule->id);
  sqlite3_bind_int64(st, 13, hc->alarm_id);
  sqlite3_bind_int64(st, 14, hc->ts_ms);
  int rc = store_step_done(st);
  if (rc != SQLITE_OK) return rc;
  st = store_stmt(c, ledger__sql_journal);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, hc->hazard_id);
  sqlite3_bind_int64(st, 2, hc->ts_ms);
  store_bind_text(st, 3, hc->reason);
  return store_step_done(st);
}

int hazard_write(struct store_conn *c, const struct hazard_change *hc)
{
  int rc;
  sqlite3_stmt *st;
  if (hc->kind == HAZARD_OPEN) {
    rc = ledger__insert(c, hc);
  } else {
    st = store_stmt(c, ledger__sql_bump);
    if (!st) return SQLITE_ERROR;
    sqlite3_bind_int64(st, 1, hc->hazard_id);
    sqlite3_bind_int64(st, 2, hc->ts_ms);
    rc = store_step_done(st);
  }
  if (rc != SQLITE_OK) return rc;
  st = store_stmt(c, ledger__sql_occurrence);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, hc->hazard_id);
  sqlite3_bind_int64(st, 2, hc->ts_ms);
  sqlite3_bind_int64(st, 3, hc->alarm_id);
  store_bind_text(st, 4, hc->rule->id);
  store_bind_text(st, 5, hc->stage);
  sqlite3_bind_double(st, 6, hc->value);
  return store_step_done(st);
}

int64_t ledger_alloc_hazard(struct ledger *l, int64_t now_ms, char *code, size_t len)
{
  int64_t id = l->next_id++;
  ledger__code(l, id, now_ms, code, len);
  return id;
}

void ledger_forget(struct ledger *l, int64_t hazard_id)
{
  for (size_t i = 0; i < l->n_entries; i++) {
    if (l->entries[i]->hazard_id != hazard_id) continue;
    l->entries[i]->hazard_id = 0;
    l->n_open--;
    return;
  }
}

void ledger_touch(struct ledger *l) { l->generation++; }

uint64_t ledger_generation(const struct ledger *l) { return l->generation; }

void ledger_set_hook(struct ledger *l, const struct ledger_hook *h) { l->hook = *h; }

void *ledger_event_begin(const struct ledger *l, const struct ledger_event *ev, void *change)
{
  return l && l->hook.begin ? l->hook.begin(l->hook.arg, ev, change) : change;
}

int ledger_event_write(const struct ledger *l, struct store_conn *c, const void *change)
{
  return l && change && l->hook.write ? l->hook.write(c, change) : SQLITE_OK;
}

void ledger_event_end(const struct ledger *l, void *change, int rc)
{
  if (l && change && l->hook.end) l->hook.end(l->hook.arg, change, rc);
}
