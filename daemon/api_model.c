#include "api_model.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "export.h"
#include "inspect.h"
#include "log.h"
#include "model_edits.h"
#include "plan_config.h"
#include "yaml.h"

#define MODEL_API_PREFIX "/api/v1/model/"
#define MODEL_API_AUDIT_LIMIT 1000
#define MODEL_API_ID_MAX 64

enum { MK_SOURCE, MK_UNIT, MK_EVENT, MK_MEASURE, MK_POST, MK_PLAN, MK_COUNT };

/* Per kind: the URL segment, the journal's kind, the child list key, names for messages. */
static const struct model_api__kind {
  const char *url, *kind, *children, *name;
} model_api__kinds[MK_COUNT] = {
  {"hazard-sources", "hazard_source", "units", "hazard source"},
  {"units", "unit", "events", "risk unit"},
  {"events", "event", "measures", "risk event"},
  {"measures", "measure", NULL, "control measure"},
  {"posts", "post", NULL, "post"},
  {"inspection-plans", "inspection_plan", NULL, "inspection plan"},
};

/* Hazard sources, posts and plans are top-level lists; the others go under the kind before them. */
static int model_api__has_parent(int kind) { return kind != MK_SOURCE && kind < MK_POST; }

/* ---- lookups -------------------------------------------------------------------------------- */

static void *model_api__find(const struct dg_config *c, int kind, const char *id)
{
  if (kind == MK_POST) return dg_config_post(c, id);
  if (kind == MK_PLAN) return dg_config_plan(c, id);
  for (size_t s = 0; s < c->n_sources; s++) {
    struct dg_hazard_source *hs = &c->sources[s];
    if (kind == MK_SOURCE && !strcmp(hs->id, id)) return hs;
    for (size_t u = 0; kind > MK_SOURCE && u < hs->n_units; u++) {
      struct dg_unit *un = &hs->units[u];
      if (kind == MK_UNIT && !strcmp(un->id, id)) return un;
      for (size_t e = 0; kind > MK_UNIT && e < un->n_events; e++) {
        struct dg_event *ev = &un->events[e];
        if (kind == MK_EVENT && !strcmp(ev->id, id)) return ev;
        for (size_t m = 0; kind == MK_MEASURE && m < ev->n_measures; m++)
          if (!strcmp(ev->measures[m].id, id)) return &ev->measures[m];
      }
    }
  }
  return NULL;
}

/* Whether measure `m` / unit `u` lies inside entity `ent` of kind `kind`. */
static int model_api__measure_in(const struct dg_measure *m, int kind, const void *ent)
{
  const void *at[MK_COUNT] = {m->event->unit->source, m->event->unit, m->event, m};
  return at[kind] == ent;
}

static int model_api__unit_in(const struct dg_unit *u, int kind, const void *ent)
{
  return (kind == MK_UNIT && u == ent) || (kind == MK_SOURCE && u->source == ent);
}

/* ---- JSON of the model (config key names, plus computed fields) ----------------------------- */

static void model_api__level(cJSON *o, enum dg_level l)
{
  cJSON_AddStringToObject(o, "level", dg_level_name(l));
  cJSON_AddStringToObject(o, "level_zh", dg_level_name_zh(l));
}

static cJSON *model_api__measure_json(const struct dg_config *c, const struct dg_measure *m)
{
  char classify[8];
  cJSON *o = cJSON_CreateObject();
  api_json_text(o, "id", m->id);
  api_json_text(o, "event", m->event->id);
  api_json_text(o, "desc", m->desc);
  snprintf(classify, sizeof classify, "%d", m->classify1);
  api_json_text(o, "classify", m->classify2 ? m->classify2 : m->classify1 ? classify : NULL);
  cJSON_AddNumberToObject(o, "data_src", m->data_src);
  api_json_text(o, "control_level", m->control_level);
  cJSON *r = cJSON_AddObjectToObject(o, "responsible");
  api_json_text(r, "dept", m->resp_dept);
  api_json_text(r, "person", m->resp_person);
  api_json_text(o, "troubleshoot", m->troubleshoot);
  /* the cycle in force (configured or the default of the event's level), and whether it was set */
  struct inspect_cycle cy = inspect_measure_cycle(m);
  cJSON *jc = cJSON_AddObjectToObject(o, "check_cycle");
  cJSON_AddNumberToObject(jc, "n", cy.n);
  cJSON_AddStringToObject(jc, "unit", inspect_unit_zh(cy.unit));
  cJSON_AddBoolToObject(jc, "configured", m->cycle_unit != 0);
  cJSON_AddBoolToObject(o, "work_days", m->work_days);
  cJSON *rules = cJSON_AddArrayToObject(o, "rules");
  for (size_t i = 0; i < c->n_rules; i++)
    if (c->rules[i].measure == m) cJSON_AddItemToArray(rules, cJSON_CreateString(c->rules[i].id));
  return o;
}

static void model_api__texts(cJSON *o, const char *key, char *const *v, size_t n)
{
  cJSON *arr = cJSON_AddArrayToObject(o, key);
  for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateString(v[i]));
}

static cJSON *model_api__event_json(const struct dg_config *c, const struct dg_event *e, int deep)
{
  cJSON *o = cJSON_CreateObject();
  api_json_text(o, "id", e->id);
  api_json_text(o, "unit", e->unit->id);
  api_json_text(o, "name", e->name);
  api_json_text(o, "accident_type", e->accident_type);
  cJSON *a = cJSON_AddObjectToObject(o, e->method == DG_ASSESS_LEC ? "lec" : "ls");
  cJSON_AddNumberToObject(a, "l", e->l);
  if (e->method == DG_ASSESS_LEC) {
    cJSON_AddNumberToObject(a, "e", e->e);
    cJSON_AddNumberToObject(a, "c", e->c);
  } else {
    cJSON_AddNumberToObject(a, "s", e->s);
  }
  cJSON_AddNumberToObject(o, "score", e->score);
  model_api__level(o, e->level);
  model_api__texts(o, "emergency", e->emergency, e->n_emergency);
  if (!deep) return o;
  cJSON *arr = cJSON_AddArrayToObject(o, "measures");
  for (size_t i = 0; i < e->n_measures; i++) cJSON_AddItemToArray(arr, model_api__measure_json(c, &e->measures[i]));
  return o;
}

static cJSON *model_api__unit_json(const struct dg_config *c, const struct dg_unit *u, int deep)
{
  cJSON *o = cJSON_CreateObject();
  api_json_text(o, "id", u->id);
  api_json_text(o, "hazard_source", u->source->id);
  api_json_text(o, "name", u->name);
  cJSON *r = cJSON_AddObjectToObject(o, "responsible");
  api_json_text(r, "dept", u->dept);
  api_json_text(r, "person", u->person);
  cJSON *hp = cJSON_AddObjectToObject(o, "hazard_policy");
  if (u->hazard_level >= 0) cJSON_AddNumberToObject(hp, "level", u->hazard_level);
  if (u->hazard_deadline_days) cJSON_AddNumberToObject(hp, "deadline_days", u->hazard_deadline_days);
  model_api__level(o, u->level);
  if (!deep) return o;
  cJSON *arr = cJSON_AddArrayToObject(o, "events");
  for (size_t i = 0; i < u->n_events; i++) cJSON_AddItemToArray(arr, model_api__event_json(c, &u->events[i], 1));
  return o;
}

/* major_hazard as configured, with what it computed (S, R, α, β per substance); null when the
 * grade is given by hand. */
static void model_api__grading(cJSON *o, const struct dg_hazard_source *hs)
{
  if (!hs->graded) {
    cJSON_AddNullToObject(o, "major_hazard");
    return;
  }
  cJSON *g = cJSON_AddObjectToObject(o, "major_hazard");
  if (hs->exposed_persons >= 0) cJSON_AddNumberToObject(g, "exposed_persons", (double)hs->exposed_persons);
  cJSON_AddNumberToObject(g, "alpha", hs->alpha);
  cJSON_AddNumberToObject(g, "s", hs->major_s);
  cJSON_AddNumberToObject(g, "r", hs->major_r);
  cJSON_AddItemToObject(g, "substances", export_substances(hs, "critical"));
}

static void model_api__ids(cJSON *o, const char *key, void *const *v, size_t n, size_t id_offset)
{
  cJSON *arr = cJSON_AddArrayToObject(o, key);
  for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateString(*(char **)((char *)v[i] + id_offset)));
}

static cJSON *model_api__post_json(const struct dg_post *p)
{
  cJSON *o = cJSON_CreateObject();
  api_json_text(o, "id", p->id);
  api_json_text(o, "name", p->name);
  model_api__ids(o, "units", (void *const *)p->units, p->n_units, offsetof(struct dg_unit, id));
  model_api__ids(o, "persons", (void *const *)p->persons, p->n_persons, offsetof(struct dg_person, id));
  model_api__ids(o, "deputies", (void *const *)p->deputies, p->n_deputies, offsetof(struct dg_person, id));
  model_api__ids(o, "events", (void *const *)p->events, p->n_events, offsetof(struct dg_event, id));
  cJSON *arr = cJSON_AddArrayToObject(o, "emergency_phones");
  for (size_t i = 0; i < p->n_phones; i++) {
    cJSON *ph = cJSON_CreateObject();
    api_json_text(ph, "name", p->phones[i].name);
    api_json_text(ph, "phone", p->phones[i].phone);
    cJSON_AddItemToArray(arr, ph);
  }
  model_api__texts(o, "duties", p->duties, p->n_duties);
  return o;
}

static cJSON *model_api__source_json(const struct dg_config *c, const struct dg_hazard_source *hs, int deep)
{
  cJSON *o = cJSON_CreateObject();
  api_json_text(o, "id", hs->id);
  api_json_text(o, "name", hs->name);
  api_json_text(o, "type", hs->type);
  cJSON_AddBoolToObject(o, "major", hs->is_major);
  if (hs->major_grade) cJSON_AddNumberToObject(o, "major_grade", hs->major_grade);
  else cJSON_AddNullToObject(o, "major_grade");
  model_api__grading(o, hs);
  if (!deep) return o;
  cJSON *arr = cJSON_AddArrayToObject(o, "units");
  for (size_t i = 0; i < hs->n_units; i++) cJSON_AddItemToArray(arr, model_api__unit_json(c, &hs->units[i], 1));
  return o;
}

/* An inspection plan with its config keys (plan_config.h). */
static cJSON *model_api__plan_json(const struct dg_plan *p)
{
  cJSON *o = cJSON_CreateObject(), *items = cJSON_CreateArray();
  api_json_text(o, "id", p->id);
  api_json_text(o, "name", p->name);
  api_json_text(o, "kind", plan_kind_name(p->kind));
  api_json_text(o, "from", p->from_s);
  api_json_text(o, "to", p->to_s);
  if (p->cycle_n) {
    cJSON *c = cJSON_AddObjectToObject(o, "cycle");
    cJSON_AddNumberToObject(c, "n", p->cycle_n);
    api_json_text(c, "unit", inspect_unit_zh((enum inspect_unit)p->cycle_unit));
  }
  if (p->kind == DG_PLAN_HOLIDAY) cJSON_AddNumberToObject(o, "before_days", p->before_days);
  cJSON_AddBoolToObject(o, "work_days", p->work_days);
  api_json_text(o, "unit", p->unit ? p->unit->id : NULL);
  api_json_text(o, "post", p->post ? p->post->id : NULL);
  api_json_text(o, "person", p->person ? p->person->id : NULL);
  for (size_t i = 0; i < p->n_items; i++) cJSON_AddItemToArray(items, cJSON_CreateString(p->items[i]));
  cJSON_AddItemToObject(o, "items", items);
  return o;
}

static cJSON *model_api__entity_json(const struct dg_config *c, int kind, const void *ent, int deep)
{
  switch (kind) {
  case MK_SOURCE: return model_api__source_json(c, ent, deep);
  case MK_UNIT: return model_api__unit_json(c, ent, deep);
  case MK_EVENT: return model_api__event_json(c, ent, deep);
  case MK_POST: return model_api__post_json(ent);
  case MK_PLAN: return model_api__plan_json(ent);
  default: return model_api__measure_json(c, ent);
  }
}

/* ---- GET /api/v1/model ---------------------------------------------------------------------- */

static void model_api__tree(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_config *c = ctx->engine->cfg;
  (void)req;
  cJSON *root = cJSON_CreateObject();
  cJSON *site = cJSON_AddObjectToObject(root, "site");
  api_json_text(site, "code", c->site_code);
  api_json_text(site, "name", c->site_name);
  cJSON *edits = cJSON_AddObjectToObject(root, "edits");
  cJSON_AddNumberToObject(edits, "applied", (double)c->n_edits_applied);
  cJSON_AddNumberToObject(edits, "skipped", (double)c->n_edits_skipped);
  cJSON *arr = cJSON_AddArrayToObject(root, "hazard_sources");
  for (size_t i = 0; i < c->n_sources; i++) cJSON_AddItemToArray(arr, model_api__source_json(c, &c->sources[i], 1));
  arr = cJSON_AddArrayToObject(root, "posts");
  for (size_t i = 0; i < c->n_posts; i++) cJSON_AddItemToArray(arr, model_api__post_json(&c->posts[i]));
  api_reply(resp, 200, root);
}

/* ---- GET /api/v1/model/audit ---------------------------------------------------------------- */

static const char *const model_api__sql_audit =
  "SELECT id, ts_ms, actor, op, kind, entity, parent, body, before, after FROM model_edits"
  " WHERE (?1 IS NULL OR ts_ms >= ?1) AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR entity = ?3)"
  " AND id > ?5 ORDER BY id LIMIT ?4";

static cJSON *model_api__audit_row(sqlite3_stmt *st)
{
  static const char *const texts[] = {"actor", "op", "kind", "entity", "parent"};
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, 0));
  cJSON_AddNumberToObject(o, "ts_ms", (double)sqlite3_column_int64(st, 1));
  for (int i = 0; i < 5; i++) api_json_text(o, texts[i], (const char *)sqlite3_column_text(st, 2 + i));
  api_col_json(o, "body", st, 7);
  api_col_json(o, "before", st, 8);
  api_col_json(o, "after", st, 9);
  return o;
}

/* ?kind= takes the URL segment (units) or the journal's kind (unit). */
static const char *model_api__kind_param(const char *s)
{
  for (int k = 0; k < MK_COUNT; k++)
    if (!strcmp(s, model_api__kinds[k].url) || !strcmp(s, model_api__kinds[k].kind)) return model_api__kinds[k].kind;
  return NULL;
}

static void model_api__audit(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  char kind[32], entity[128];
  int64_t since_ms = 0;
  int64_t after = 0;
  int limit = api_query_limit(req, MODEL_API_AUDIT_LIMIT), rows = 0;
  int has_since = api_query_ms(req, "since", 0, &since_ms, resp);
  if (has_since < 0 || api_query_cursor(req, &after, 1, resp) < 0) return;
  if (api_query_text(req, "kind", kind, sizeof kind, resp) < 0 ||
      api_query_text(req, "entity", entity, sizeof entity, resp) < 0)
    return;
  int has_kind = kind[0] != '\0', has_entity = entity[0] != '\0';
  const char *k = has_kind ? model_api__kind_param(kind) : NULL;
  if (has_kind && !k) {
    api_error(resp, 400, "kind: expected hazard-sources, units, events, measures, posts or inspection-plans");
    return;
  }
  sqlite3_stmt *st = store_stmt(store_reader(ctx->store), model_api__sql_audit);
  if (!st) {
    api_error(resp, 500, "database error");
    return;
  }
  if (has_since) sqlite3_bind_int64(st, 1, since_ms);
  store_bind_text(st, 2, k);
  store_bind_text(st, 3, has_entity ? entity : NULL);
  sqlite3_bind_int(st, 4, limit);
  sqlite3_bind_int64(st, 5, after);
  cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "edits");
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    rows++;
    after = sqlite3_column_int64(st, 0);
    cJSON_AddItemToArray(arr, model_api__audit_row(st));
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    cJSON_Delete(root);
    api_error(resp, 500, "database error");
    return;
  }
  api_next_cursor(root, &after, 1, rows, limit);
  api_reply(resp, 200, root);
}

/* ---- edits ---------------------------------------------------------------------------------- */

/* 400/409 naming the field: {"error": "<field>: <message>", "field": "<field>"}. */
__attribute__((format(printf, 4, 5)))
static void model_api__bad(struct http_response *resp, int status, const char *field, const char *fmt, ...)
{
  char msg[320];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cJSON *o = cJSON_CreateObject();
  char full[400];
  snprintf(full, sizeof full, "%s%s%s", field ? field : "", field ? ": " : "", msg);
  cJSON_AddStringToObject(o, "error", full);
  api_json_text(o, "field", field);
  api_reply(resp, status, o);
}

/* A loader error as a 400 naming the field: "<file>: <field path>: <message>" (a key of an edit)
 * answers from the field path on; "<file>:<line>:<col>: ..." (a node of the file) keeps the file
 * and position in the message. */
static void model_api__load_error(struct http_response *resp, const char *path, const char *err)
{
  const char *p = err, *msg = err;
  size_t plen = strlen(path);
  if (!strncmp(p, path, plen)) {
    p += plen;
    int positioned = p[0] == ':' && isdigit((unsigned char)p[1]);
    while (*p == ':' || isdigit((unsigned char)*p)) p++;
    while (*p == ' ') p++;
    if (!positioned) msg = p;
  }
  const char *sep = strstr(p, ": ");
  char field[256] = "";
  if (sep && (size_t)(sep - p) < sizeof field && !memchr(p, ' ', (size_t)(sep - p)))
    snprintf(field, sizeof field, "%.*s", (int)(sep - p), p);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "error", msg);
  api_json_text(o, "field", field[0] ? field : NULL);
  api_reply(resp, 400, o);
}

struct model_api__req {
  int kind;
  char id[128];         /* "" for a create */
};

/* "/api/v1/model/{kind}" or "/api/v1/model/{kind}/{id}"; 0 or -1 (not found). */
static int model_api__parse_path(const char *path, struct model_api__req *r)
{
  if (strncmp(path, MODEL_API_PREFIX, strlen(MODEL_API_PREFIX))) return -1;
  const char *seg = path + strlen(MODEL_API_PREFIX), *slash = strchr(seg, '/');
  size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
  r->kind = -1;
  for (int k = 0; k < MK_COUNT; k++)
    if (strlen(model_api__kinds[k].url) == len && !strncmp(seg, model_api__kinds[k].url, len)) r->kind = k;
  if (r->kind < 0) return -1;
  r->id[0] = '\0';
  if (!slash) return 0;
  if (!slash[1] || strchr(slash + 1, '/') || strlen(slash + 1) >= sizeof r->id) return -1;
  snprintf(r->id, sizeof r->id, "%s", slash + 1);
  return 0;
}

static int model_api__may_edit(const struct dg_person *p)
{
  for (size_t i = 0; i < p->n_roles; i++)
    if (!strcmp(p->roles[i], "engineer") || !strcmp(p->roles[i], "admin")) return 1;
  return 0;
}

/* The journal row and what the handler needs after the commit. */
struct model_api__job {
  int64_t ts_ms;
  char actor[128];
  const char *op, *kind, *entity, *parent;
  char *body, *before, *after; /* JSON text, owned (NULL: none) */
  int64_t row_id;
  int rc;
};

static const char *const model_api__sql_insert =
  "INSERT INTO model_edits (ts_ms, actor, op, kind, entity, parent, body, before, after)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

static int model_api__job_work(struct store_conn *c, void *arg)
{
  struct model_api__job *j = arg;
  sqlite3_stmt *st = store_stmt(c, model_api__sql_insert);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, j->ts_ms);
  store_bind_text(st, 2, j->actor);
  store_bind_text(st, 3, j->op);
  store_bind_text(st, 4, j->kind);
  store_bind_text(st, 5, j->entity);
  store_bind_text(st, 6, j->parent);
  store_bind_text(st, 7, j->body);
  store_bind_text(st, 8, j->before);
  store_bind_text(st, 9, j->after);
  int rc = store_step_done(st);
  if (rc == SQLITE_OK) j->row_id = sqlite3_last_insert_rowid(store_conn_db(c));
  return rc;
}

static void model_api__job_done(void *arg, int rc) { ((struct model_api__job *)arg)->rc = rc; }

static void model_api__job_free(struct model_api__job *j)
{
  free(j->body);
  free(j->before);
  free(j->after);
}

/* Validates the body of a create or update: an object without child lists (edited through their
 * own endpoints) or "parent" (except on create, where it names the parent). 0 or -1 (answered). */
static int model_api__check_body(const cJSON *body, int kind, int create, struct http_response *resp)
{
  if (!cJSON_IsObject(body)) {
    model_api__bad(resp, 400, "body", "expected a JSON object of %s keys", model_api__kinds[kind].name);
    return -1;
  }
  const char *children = model_api__kinds[kind].children;
  if (children && cJSON_GetObjectItemCaseSensitive(body, children)) {
    model_api__bad(resp, 400, children, "not editable here; use /api/v1/model/%s", model_api__kinds[kind + 1].url);
    return -1;
  }
  if (!create && !body->child) {
    model_api__bad(resp, 400, "body", "no keys to change");
    return -1;
  }
  if (!create && cJSON_GetObjectItemCaseSensitive(body, "parent")) {
    model_api__bad(resp, 400, "parent", "an existing %s cannot be moved", model_api__kinds[kind].name);
    return -1;
  }
  return 0;
}

/* Ids created through the API: what a URL path segment carries unescaped, so the entity can be
 * edited and deleted afterwards. */
static int model_api__valid_id(const char *id)
{
  size_t n = strlen(id);
  if (n < 1 || n > MODEL_API_ID_MAX || !isalnum((unsigned char)id[0])) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)id[i]) && !strchr("_.-", id[i])) return 0;
  return 1;
}

/* Fills the edit of a create from its body (taking "parent" out). 0 or -1 (answered). */
static int model_api__prepare_create(const struct dg_config *c, struct model_api__req *r, cJSON *body,
                                     char *parent, size_t parent_len, struct http_response *resp)
{
  if (model_api__check_body(body, r->kind, 1, resp)) return -1;
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "id");
  if (!cJSON_IsString(id) || !id->valuestring[0] || strlen(id->valuestring) >= sizeof r->id) {
    model_api__bad(resp, 400, "id", "expected a non-empty string");
    return -1;
  }
  if (!model_api__valid_id(id->valuestring)) {
    model_api__bad(resp, 400, "id", "expected 1 to %d of A-Z a-z 0-9 _ . - (starting with a letter or digit), got"
                   " '%.64s'", MODEL_API_ID_MAX, id->valuestring);
    return -1;
  }
  snprintf(r->id, sizeof r->id, "%s", id->valuestring);
  if (model_api__find(c, r->kind, r->id)) {
    model_api__bad(resp, 409, "id", "a %s '%s' already exists", model_api__kinds[r->kind].name, r->id);
    return -1;
  }
  cJSON *p = cJSON_DetachItemFromObjectCaseSensitive(body, "parent");
  int has_parent = model_api__has_parent(r->kind);
  int ok = !has_parent ? !p || cJSON_IsNull(p) : cJSON_IsString(p) && strlen(p->valuestring) < parent_len;
  if (ok && has_parent) snprintf(parent, parent_len, "%s", p->valuestring);
  cJSON_Delete(p);
  if (!ok) {
    if (!has_parent) model_api__bad(resp, 400, "parent", "%ss have no parent", model_api__kinds[r->kind].name);
    else model_api__bad(resp, 400, "parent", "expected the id of the %s to add to", model_api__kinds[r->kind - 1].name);
    return -1;
  }
  if (has_parent && !model_api__find(c, r->kind - 1, parent)) {
    model_api__bad(resp, 400, "parent", "no %s '%s'", model_api__kinds[r->kind - 1].name, parent);
    return -1;
  }
  return 0;
}

static const char *const model_api__sql_open_hazard =
  "SELECT code FROM hazards WHERE danger_state != 9 AND dismissed = 0 AND"
  " CASE ?1 WHEN 'hazard_source' THEN hazard_source WHEN 'unit' THEN unit WHEN 'event' THEN event"
  " ELSE measure END = ?2 LIMIT 1";

/* A delete is refused (409) while rules, points or open hazards refer to what it removes. */
static int model_api__check_delete(struct api_ctx *ctx, const struct dg_config *c, const struct model_api__req *r,
                                   const void *ent, struct http_response *resp)
{
  if (r->kind >= MK_POST) return 0; /* nothing refers to a post or plan but the tasks, which keep its id */
  for (size_t i = 0; i < c->n_rules; i++) {
    const struct dg_measure *m = c->rules[i].measure;
    if (m && model_api__measure_in(m, r->kind, ent)) {
      api_error(resp, 409, "rule '%s' watches control measure '%s'; change or remove the rule in %s first",
                c->rules[i].id, m->id, c->path);
      return -1;
    }
  }
  for (size_t i = 0; i < c->n_points; i++) {
    const struct dg_unit *u = c->points[i].unit_id ? dg_config_unit(c, c->points[i].unit_id) : NULL;
    if (u && model_api__unit_in(u, r->kind, ent)) {
      api_error(resp, 409, "point '%s' belongs to risk unit '%s'; change or remove the point in %s first",
                c->points[i].id, u->id, c->path);
      return -1;
    }
  }
  sqlite3_stmt *st = store_stmt(store_reader(ctx->store), model_api__sql_open_hazard);
  if (!st) {
    api_error(resp, 500, "database error");
    return -1;
  }
  store_bind_text(st, 1, model_api__kinds[r->kind].kind);
  store_bind_text(st, 2, r->id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    api_error(resp, 409, "open hazard %s refers to this %s; close it first", (const char *)sqlite3_column_text(st, 0),
              model_api__kinds[r->kind].name);
  else if (rc != SQLITE_DONE) api_error(resp, 500, "database error");
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : -1;
}

/* Trial load of the file with the journal and `e`; the new config, or NULL (answered). */
static struct dg_config *model_api__trial(struct api_ctx *ctx, const struct config_edit *e, int kind,
                                          struct http_response *resp)
{
  const char *path = ctx->engine->cfg->path;
  struct dg_config *nc = NULL;
  char err[512];
  int rc = model_edits_load(store_reader(ctx->store), path, e, &nc, NULL, err, sizeof err);
  if (rc == -EINVAL) {
    model_api__load_error(resp, path, err);
    return NULL;
  }
  if (rc) {
    api_error(resp, 500, "%s", err);
    return NULL;
  }
  int present = model_api__find(nc, kind, e->entity) != NULL, deleting = !strcmp(e->op, "delete");
  if (present == deleting || nc->n_edits_skipped > ctx->engine->cfg->n_edits_skipped) {
    /* skipped: the file changed under the model */
    api_error(resp, 409, "%s '%s' is not in %s as it is now; reload and retry", model_api__kinds[kind].name,
              e->entity, path);
    config_free(nc);
    return NULL;
  }
  return nc;
}

/* Commits the journal row, then puts `nc` in force and answers `answer` with `status`. */
static void model_api__commit(struct api_ctx *ctx, struct model_api__job *j, struct dg_config *nc, cJSON *answer,
                              int status, struct http_response *resp)
{
  j->rc = 1;
  if (store_submit(ctx->store, model_api__job_work, model_api__job_done, j)) {
    config_free(nc);
    cJSON_Delete(answer);
    api_error(resp, 503, "database unavailable");
    return;
  }
  store_wait_own(ctx->store);
  if (j->rc) {
    DG_WARN("model", "%s %s '%s' not committed (rc %d)", j->op, j->kind, j->entity, j->rc);
    config_free(nc);
    cJSON_Delete(answer);
    api_error(resp, 500, "%s not committed (database error)", j->op);
    return;
  }
  DG_INFO("model", "edit %lld by %s: %s %s '%s'", (long long)j->row_id, j->actor, j->op, j->kind, j->entity);
  cJSON_AddNumberToObject(answer, "edit_id", (double)j->row_id);
  /* The old config (and the caller's person) is freed by the swap: nothing of it is used after. */
  if (ctx->apply_model(ctx->model_ud, nc)) {
    cJSON_Delete(answer);
    api_error(resp, 500, "edit %lld committed but not put in force; it applies at the next reload",
              (long long)j->row_id);
    return;
  }
  api_reply(resp, status, answer);
}

static char *model_api__print(const struct dg_config *c, int kind, const void *ent)
{
  if (!ent) return NULL;
  cJSON *o = model_api__entity_json(c, kind, ent, 0);
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}

/* Caller, role and path of an edit; 0 with the actor in j, or -1 (answered). */
static int model_api__gate(struct api_ctx *ctx, const struct http_request *req, int create, struct model_api__req *r,
                           struct model_api__job *j, struct http_response *resp)
{
  const struct dg_person *who = api_caller(ctx, req);
  if (!who) {
    api_error(resp, 401, "a valid 'Authorization: Bearer <token>' is required");
    return -1;
  }
  if (!model_api__may_edit(who)) {
    api_error(resp, 403, "requires the engineer or admin role");
    return -1;
  }
  if (model_api__parse_path(req->path, r) || (create ? r->id[0] != '\0' : r->id[0] == '\0')) {
    api_error(resp, 404, "not found");
    return -1;
  }
  if (!ctx->apply_model) {
    api_error(resp, 503, "plant-model edits are not available");
    return -1;
  }
  snprintf(j->actor, sizeof j->actor, "%s", who->id);
  return 0;
}

/* The stored body is read back at every load by the configuration's YAML parser: refuse what
 * it would not take (nesting deeper than it allows) instead of storing an edit that every load
 * would skip. 0 or -1 (answered). */
static int model_api__replayable(const char *body, struct http_response *resp)
{
  struct dg_ytree t = {0};
  char err[256];
  int rc = dg_yaml_parse("body", body, strlen(body), &t, err, sizeof err);
  dg_yaml_free(&t);
  if (!rc) return 0;
  const char *why = err;
  for (int colons = 0; *why && colons < 3; why++) colons += *why == ':'; /* past "body:line:col:" */
  while (*why == ' ') why++;
  model_api__bad(resp, 400, "body", "%s (the configuration loader's limit)", *why ? why : err);
  return -1;
}

/* The body of a create or update as the journal's JSON (j->body); for a create also the id (in
 * r) and the parent. 0 or -1 (answered). */
static int model_api__read_body(const struct dg_config *c, const struct http_request *req, int create,
                                struct model_api__req *r, char *parent, size_t parent_len, struct model_api__job *j,
                                struct http_response *resp)
{
  cJSON *body = req->body_len ? api_body_object(req, resp) : NULL;
  if (req->body_len && !body) return -1;
  int rc = create ? model_api__prepare_create(c, r, body, parent, parent_len, resp)
                  : model_api__check_body(body, r->kind, 0, resp);
  const cJSON *id = rc ? NULL : cJSON_GetObjectItemCaseSensitive(body, "id");
  if (!create && id && !(cJSON_IsString(id) && !strcmp(id->valuestring, r->id))) {
    model_api__bad(resp, 400, "id", "cannot be changed (delete and create instead)");
    rc = -1;
  }
  if (!rc && !(j->body = cJSON_PrintUnformatted(body))) {
    api_error(resp, 500, "out of memory");
    rc = -1;
  }
  cJSON_Delete(body);
  return rc ? rc : model_api__replayable(j->body, resp);
}

/* Trial load, before/after snapshots of the entity `ent` (NULL for a create), commit, swap. */
static void model_api__apply(struct api_ctx *ctx, const struct model_api__req *r, const void *ent,
                             struct model_api__job *j, struct http_response *resp)
{
  const struct dg_config *c = ctx->engine->cfg;
  int del = !strcmp(j->op, "delete");
  const struct config_edit e = {0, j->op, j->kind, j->entity, j->parent, j->body};
  struct dg_config *nc = model_api__trial(ctx, &e, r->kind, resp);
  if (!nc) return;
  const void *after = del ? NULL : model_api__find(nc, r->kind, r->id);
  j->before = model_api__print(c, r->kind, ent);
  j->after = model_api__print(nc, r->kind, after);
  cJSON *answer = after ? model_api__entity_json(nc, r->kind, after, 1) : cJSON_CreateObject();
  if (del) {
    cJSON_AddStringToObject(answer, "deleted", j->kind);
    cJSON_AddStringToObject(answer, "id", r->id);
  }
  if ((ent && !j->before) || (after && !j->after)) {
    cJSON_Delete(answer);
    config_free(nc);
    api_error(resp, 500, "out of memory");
    return;
  }
  model_api__commit(ctx, j, nc, answer, ent ? 200 : 201, resp);
}

/* The shared flow of POST, PUT and DELETE. */
static void model_api__edit(struct api_ctx *ctx, const struct http_request *req, struct http_response *resp,
                            const char *op)
{
  const struct dg_config *c = ctx->engine->cfg;
  struct model_api__req r;
  struct model_api__job j = {.ts_ms = dg_wall_ms(), .op = op};
  char parent[128] = "";
  int create = !strcmp(op, "create"), rc;
  const void *ent = NULL;
  if (model_api__gate(ctx, req, create, &r, &j, resp)) return;
  if (!create && !(ent = model_api__find(c, r.kind, r.id))) {
    api_error(resp, 404, "no %s '%s'", model_api__kinds[r.kind].name, r.id);
    return;
  }
  if (!strcmp(op, "delete")) rc = model_api__check_delete(ctx, c, &r, ent, resp);
  else rc = model_api__read_body(c, req, create, &r, parent, sizeof parent, &j, resp);
  if (!rc) {
    j.kind = model_api__kinds[r.kind].kind;
    j.entity = r.id;
    j.parent = create && model_api__has_parent(r.kind) ? parent : NULL;
    model_api__apply(ctx, &r, ent, &j, resp);
  }
  model_api__job_free(&j);
}

static void model_api__post(void *ud, const struct http_request *req, struct http_response *resp)
{
  model_api__edit(ud, req, resp, "create");
}

static void model_api__put(void *ud, const struct http_request *req, struct http_response *resp)
{
  model_api__edit(ud, req, resp, "update");
}

static void model_api__delete(void *ud, const struct http_request *req, struct http_response *resp)
{
  model_api__edit(ud, req, resp, "delete");
}

static const struct api_route model_api__routes[] = {
  {"GET", "/api/v1/model", model_api__tree, 0, NULL, NULL},
  {"GET", "/api/v1/model/audit", model_api__audit, 0, NULL, "since kind entity limit cursor"},
  {"POST", MODEL_API_PREFIX "{kind}", model_api__post, 0, NULL, NULL},
  {"PUT", MODEL_API_PREFIX "{kind}/{id}", model_api__put, 0, NULL, NULL},
  {"DELETE", MODEL_API_PREFIX "{kind}/{id}", model_api__delete, 0, NULL, NULL},
};

struct api_routes model_api_routes(void) { return API_ROUTES(model_api__routes); }
