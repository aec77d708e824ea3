#include "config.h"

#include "alarm_config.h"
#include "config_ctx.h"
#include "esc_config.h"
#include "ledger_config.h"
#include "log.h"
#include "modbus_config.h"
#include "national_config.h"
#include "model_config.h"
#include "mqtt_config.h"
#include "notify_config.h"
#include "point_config.h"
#include "plan_config.h"
#include "post_config.h"
#include "rule_config.h"
#include "workcal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CFG_MAX_FILE (64u << 20)

_Static_assert(sizeof(enum dg_priority) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(enum dg_mb_type) == sizeof(int), "enum fields are stored as int");

/* ---- site, daemon ---- */

enum { SITE_CODE, SITE_NAME };
static const struct dg_yfield cfg__site_fields[] = {
  [SITE_CODE] = YF_STR("code", struct dg_config, site_code, DG_YF_REQ),
  [SITE_NAME] = YF_STR("name", struct dg_config, site_name, 0),
};

static int cfg__site(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_yseen s;
  return DG_YC_MAP(y, n, cfg__site_fields, obj, &s);
}

static int cfg__role(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i);

enum { HTTP_LISTEN, HTTP_PORT, HTTP_MAXC, HTTP_MAXPC, HTTP_RESERVE, HTTP_HOSTS, HTTP_OPEN, HTTP_CERT, HTTP_KEY, HTTP_EVBUF };
static const struct dg_yfield cfg__http_fields[] = {
  [HTTP_LISTEN] = YF_STR("listen", struct dg_config, http_listen, 0),
  [HTTP_PORT] = YF_NUM("port", DG_YK_U16, struct dg_config, http_port, 0, 0, 65535),
  [HTTP_MAXC] = YF_NUM("max_connections", DG_YK_U32, struct dg_config, http_max_connections, 0, 16, 1000000),
  [HTTP_MAXPC] = YF_NUM("max_connections_per_client", DG_YK_U32, struct dg_config, http_max_per_client, 0, 1, 1000000),
  [HTTP_RESERVE] = YF_NUM("fd_reserve", DG_YK_U32, struct dg_config, http_fd_reserve, 0, 16, 1000000),
  [HTTP_HOSTS] = YF_NODE("hosts", 0),
  [HTTP_OPEN] = YF_BOOL("open_reads_on_loopback", struct dg_config, http_open_reads_on_loopback),
  [HTTP_CERT] = YF_STR("tls_cert", struct dg_config, http_tls_cert, 0),
  [HTTP_KEY] = YF_STR("tls_key", struct dg_config, http_tls_key, 0),
  [HTTP_EVBUF] = YF_NUM("event_buffer", DG_YK_U32, struct dg_config, http_event_buffer, 0, 16, 1000000),
};

static int cfg__http(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_config *c = obj;
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, cfg__http_fields, obj, &s);
  if (!rc && s.val[HTTP_HOSTS]) {
    size_t mark = dg_yc_path_key(y, "hosts");
    rc = dg_yc_list(y, s.val[HTTP_HOSTS], sizeof(char *), &c->http_hosts, &c->n_http_hosts, cfg__role);
    dg_yc_path_restore(y, mark);
  }
  if (!rc && !c->http_tls_cert != !c->http_tls_key)
    rc = dg_yc_fail(y, n, "tls_cert and tls_key: expected both (a certificate and its private key) or neither");
  return rc;
}

enum { LOGIN_IDLE, LOGIN_LIFE, LOGIN_FAIL, LOGIN_FAIL_ADDR, LOGIN_LOCKOUT };
static const struct dg_yfield cfg__login_fields[] = {
  [LOGIN_IDLE] = YF_NUM("idle_timeout", DG_YK_MS, struct dg_config, login_idle_ms, 0, 1000, 86400000),
  [LOGIN_LIFE] = YF_NUM("session_lifetime", DG_YK_MS, struct dg_config, login_lifetime_ms, 0, 1000, 30.0 * 86400000),
  [LOGIN_FAIL] = YF_NUM("max_failures", DG_YK_U32, struct dg_config, login_max_failures, 0, 1, 1000),
  [LOGIN_FAIL_ADDR] = YF_NUM("max_failures_per_address", DG_YK_U32, struct dg_config, login_max_failures_addr, 0, 1, 100000),
  [LOGIN_LOCKOUT] = YF_NUM("lockout", DG_YK_MS, struct dg_config, login_lockout_ms, 0, 1000, 3600000),
};

static int cfg__login(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_yseen s;
  return DG_YC_MAP(y, n, cfg__login_fields, obj, &s);
}

enum { DMN_HTTP, DMN_DB, DMN_FLUSH, DMN_DEADLINE, DMN_PUBLIC_URL, DMN_OUTBOX_MEM, DMN_LOGIN };
static const struct dg_yfield cfg__daemon_fields[] = {
  [DMN_HTTP] = YF_NODE("http", 0),
  [DMN_LOGIN] = YF_NODE("login", 0),
  [DMN_DB] = YF_STR("db", struct dg_config, db_path, 0),
  [DMN_FLUSH] = YF_NUM("history_flush", DG_YK_MS, struct dg_config, history_flush_ms, 0, 1, 3600000),
  [DMN_DEADLINE] = YF_NUM("hazard_deadline_days", DG_YK_U32, struct dg_config, hazard_deadline_days, 0, 1, 3650),
  [DMN_PUBLIC_URL] = YF_STR("public_url", struct dg_config, public_url, 0),
  [DMN_OUTBOX_MEM] = YF_NUM("outbox_in_memory", DG_YK_U32, struct dg_config, outbox_in_memory, 0, 16, 1000000),
};

static int cfg__daemon(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, cfg__daemon_fields, obj, &s);
  if (!rc) rc = dg_yc_under(y, s.val[DMN_HTTP], "http", obj, cfg__http);
  if (!rc) rc = dg_yc_under(y, s.val[DMN_LOGIN], "login", obj, cfg__login);
  return rc;
}

/* ---- persons ---- */

enum { PER_ID, PER_NAME, PER_PHONE, PER_EMAIL, PER_DINGTALK, PER_WECOM, PER_FEISHU, PER_ROLES, PER_DEPT };
static const struct dg_yfield cfg__person_fields[] = {
  [PER_ID] = YF_STR("id", struct dg_person, id, DG_YF_REQ),
  [PER_NAME] = YF_STR("name", struct dg_person, name, 0),
  [PER_PHONE] = YF_STR("phone", struct dg_person, phone, 0),
  [PER_EMAIL] = YF_STR("email", struct dg_person, email, 0),
  [PER_DINGTALK] = YF_STR("dingtalk", struct dg_person, dingtalk, 0),
  [PER_WECOM] = YF_STR("wecom", struct dg_person, wecom, 0),
  [PER_FEISHU] = YF_STR("feishu", struct dg_person, feishu, 0),
  [PER_ROLES] = YF_NODE("roles", 0),
  [PER_DEPT] = YF_STR("dept", struct dg_person, dept, 0),
};

static int cfg__role(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  return dg_yc_str(y, n, true, item);
}

static int cfg__person(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_person *p = item;
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, cfg__person_fields, p, &s);
  if (!rc) rc = dg_yc_add_id(y, &cfg_ctx(y)->ix->persons, p->id, p, s.val[PER_ID], "person");
  if (!rc && s.val[PER_ROLES]) {
    size_t mark = dg_yc_path_key(y, "roles");
    rc = dg_yc_list(y, s.val[PER_ROLES], sizeof(char *), &p->roles, &p->n_roles, cfg__role);
    dg_yc_path_restore(y, mark);
  }
  return rc;
}

/* ---- top level ---- */

enum { TOP_SITE, TOP_DAEMON, TOP_PERSONS, TOP_SOURCES, TOP_MQTT, TOP_MODBUS, TOP_POINTS, TOP_RULES,
       TOP_CHANNELS, TOP_POLICIES, TOP_ALARM, TOP_RISK_BANDS, TOP_CALENDAR, TOP_LEDGER, TOP_NATIONAL, TOP_ESCALATION,
       TOP_POSTS, TOP_PLANS };
static const struct dg_yfield cfg__top_fields[] = {
  [TOP_SITE] = YF_NODE("site", DG_YF_REQ),
  [TOP_DAEMON] = YF_NODE("daemon", 0),
  [TOP_PERSONS] = YF_NODE("persons", 0),
  [TOP_SOURCES] = YF_NODE("hazard_sources", 0),
  [TOP_MQTT] = YF_NODE("mqtt", 0),
  [TOP_MODBUS] = YF_NODE("modbus", 0),
  [TOP_POINTS] = YF_NODE("points", 0),
  [TOP_RULES] = YF_NODE("rules", 0),
  [TOP_CHANNELS] = YF_NODE("channels", 0),
  [TOP_POLICIES] = YF_NODE("policies", 0),
  [TOP_ALARM] = YF_NODE("alarm", 0),
  [TOP_RISK_BANDS] = YF_NODE("risk_bands", 0),
  [TOP_CALENDAR] = YF_NODE("calendar", 0),
  [TOP_LEDGER] = YF_NODE("ledger", 0),
  [TOP_NATIONAL] = YF_NODE("national", 0),
  [TOP_ESCALATION] = YF_NODE("escalation", 0),
  [TOP_POSTS] = YF_NODE("posts", 0),
  [TOP_PLANS] = YF_NODE("inspection_plans", 0),
};

/* Hands the value of top-level key `key` (if present) to the section's owner. */
static int cfg__section(struct cfg_ctx *x, const struct dg_yseen *s, int key,
                        int (*parse)(struct cfg_ctx *, const struct dg_ynode *))
{
  if (!s->val[key]) return 0;
  size_t mark = dg_yc_path_key(&x->y, cfg__top_fields[key].key);
  int rc = parse(x, s->val[key]);
  dg_yc_path_restore(&x->y, mark);
  return rc;
}

static int cfg__persons(struct cfg_ctx *x, const struct dg_ynode *n)
{
  struct dg_config *c = x->c;
  return dg_yc_list(&x->y, n, sizeof *c->persons, &c->persons, &c->n_persons, cfg__person);
}

static int cfg__defaults(struct cfg_ctx *x)
{
  struct dg_config *c = x->c;
  alarm_config_defaults(c);
  if (!c->http_listen && !(c->http_listen = strdup("127.0.0.1"))) return dg_yc_oom(&x->y);
  if (!c->db_path && !(c->db_path = strdup("dualguard.db"))) return dg_yc_oom(&x->y);
  return 0;
}

static int cfg__root(struct cfg_ctx *x, const struct dg_ynode *root)
{
  struct dg_config *c = x->c;
  struct dg_yseen s;
  if (!root) return dg_yc_fail_at(&x->y, 1, 1, "empty configuration (expected a mapping with at least 'site')");
  int rc = DG_YC_MAP(&x->y, root, cfg__top_fields, NULL, &s);
  if (!rc) rc = dg_yc_under(&x->y, s.val[TOP_SITE], "site", c, cfg__site);
  if (!rc) rc = dg_yc_under(&x->y, s.val[TOP_DAEMON], "daemon", c, cfg__daemon);
  if (!rc) rc = cfg__section(x, &s, TOP_RISK_BANDS, model_config_risk_bands);
  if (!rc) rc = cfg__section(x, &s, TOP_NATIONAL, national_config_parse); /* before the measures it constrains */
  /* Sections in dependency order, so every reference names something already loaded. */
  if (!rc) rc = cfg__section(x, &s, TOP_PERSONS, cfg__persons);
  if (!rc) rc = cfg__section(x, &s, TOP_SOURCES, model_config_parse);
  if (!rc) rc = cfg__section(x, &s, TOP_POSTS, post_config_parse);
  if (!rc) rc = cfg__section(x, &s, TOP_PLANS, plan_config_parse);
  if (!rc) rc = cfg__section(x, &s, TOP_MQTT, mqtt_config_parse);
  if (!rc) rc = cfg__section(x, &s, TOP_MODBUS, modbus_config_parse);
  if (!rc) rc = cfg__section(x, &s, TOP_POINTS, point_config_parse);
  if (!rc) rc = cfg__section(x, &s, TOP_RULES, rule_config_parse);
  if (!rc) rc = cfg__section(x, &s, TOP_CHANNELS, notify_config_channels);
  if (!rc) rc = cfg__section(x, &s, TOP_POLICIES, notify_config_policies);
  if (!rc) rc = cfg__section(x, &s, TOP_ALARM, alarm_config_parse);
  if (!rc) rc = cfg__section(x, &s, TOP_CALENDAR, ledger_config_calendar);
  if (!rc) rc = cfg__section(x, &s, TOP_LEDGER, ledger_config_parse);
  if (!rc) rc = national_config_check(x);
  if (!rc) rc = cfg__section(x, &s, TOP_ESCALATION, esc_config_parse);
  if (!rc) rc = cfg__defaults(x);
  return rc;
}

/* ---- plant-model edits over the tree ---- */

static const char *const cfg__edit_kinds[] = {"hazard_source", "unit", "event", "measure", "post", "inspection_plan",
                                              NULL};
/* The list key holding each kind, under the root, a source, a unit and an event; posts and
 * inspection plans are further lists under the root (kinds from CFG_EDIT_POST on). */
static const char *const cfg__edit_lists[] = {"hazard_sources", "units", "events", "measures", "posts",
                                              "inspection_plans"};
enum { CFG_EDIT_POST = 4 };

int config_edit_kind(const char *kind)
{
  for (int i = 0; kind && cfg__edit_kinds[i]; i++)
    if (!strcmp(kind, cfg__edit_kinds[i])) return i;
  return -1;
}

static bool cfg__ykey_is(const struct dg_ynode *k, const char *key)
{
  return k->type == DG_YSCALAR && !k->has_nul && !strcmp(k->text, key);
}

/* Index of `key` in mapping `map` (of its key node), or SIZE_MAX. */
static size_t cfg__yfind_key(const struct dg_ynode *map, const char *key)
{
  if (!map || map->type != DG_YMAP) return SIZE_MAX;
  for (size_t k = 0; k + 1 < map->n; k += 2)
    if (cfg__ykey_is(map->kids[k], key)) return k;
  return SIZE_MAX;
}

static struct dg_ynode *cfg__yget(const struct dg_ynode *map, const char *key)
{
  size_t k = cfg__yfind_key(map, key);
  return k == SIZE_MAX ? NULL : map->kids[k + 1];
}

struct cfg_yfound {
  struct dg_ynode *list, *item;
  size_t i;
};

/* Finds the item of kind `kind` with id `id` in `list`, a list of kind `depth`. */
static bool cfg__yfind(struct dg_ynode *list, int depth, int kind, const char *id, struct cfg_yfound *f)
{
  if (!list || list->type != DG_YSEQ) return false;
  for (size_t i = 0; i < list->n; i++) {
    struct dg_ynode *item = list->kids[i], *idn = cfg__yget(item, "id");
    if (!item || item->type != DG_YMAP) continue;
    if (depth == kind && idn && idn->type == DG_YSCALAR && !idn->has_nul && !strcmp(idn->text, id)) {
      *f = (struct cfg_yfound){list, item, i};
      return true;
    }
    if (depth < kind && cfg__yfind(cfg__yget(item, cfg__edit_lists[depth + 1]), depth + 1, kind, id, f)) return true;
  }
  return false;
}

static bool cfg__yentity(struct dg_ynode *root, int kind, const char *id, struct cfg_yfound *f)
{
  int top = kind >= CFG_EDIT_POST ? kind : 0;
  return id && cfg__yfind(cfg__yget(root, cfg__edit_lists[top]), top, kind, id, f);
}

static int cfg__ygrow(struct dg_ytree *t, struct dg_ynode *n, size_t more)
{
  if (n->n + more <= n->cap) return 0;
  size_t cap = (n->n + more) * 2;
  struct dg_ynode **kids = dg_yaml_alloc(t, cap * sizeof *kids);
  if (!kids) return -ENOMEM;
  if (n->n) memcpy(kids, n->kids, n->n * sizeof *kids);
  n->kids = kids;
  n->cap = cap;
  return 0;
}

static struct dg_ynode *cfg__ynew(struct dg_ytree *t, enum dg_ynode_type type, const char *text)
{
  struct dg_ynode *n = dg_yaml_alloc(t, sizeof *n);
  if (!n) return NULL;
  memset(n, 0, sizeof *n);
  n->type = type;
  if (type != DG_YSCALAR) return n;
  n->len = strlen(text);
  if (!(n->text = dg_yaml_alloc(t, n->len + 1))) return NULL;
  memcpy(n->text, text, n->len + 1);
  return n;
}

/* Sets key `key` of `map` to `val`, replacing its value; a null `val` removes the key. */
static int cfg__yput(struct dg_ytree *t, struct dg_ynode *map, struct dg_ynode *key, struct dg_ynode *val)
{
  size_t k = cfg__yfind_key(map, key->text);
  if (k != SIZE_MAX && dg_yc_is_null(val)) {
    memmove(map->kids + k, map->kids + k + 2, (map->n - k - 2) * sizeof *map->kids);
    map->n -= 2;
  } else if (k != SIZE_MAX) {
    map->kids[k + 1] = val;
  } else if (!dg_yc_is_null(val)) {
    if (cfg__ygrow(t, map, 2)) return -ENOMEM;
    map->kids[map->n++] = key;
    map->kids[map->n++] = val;
  }
  return 0;
}

/* Overlay nodes have no position in the file: line 0 makes errors about them name the field
 * path only. */
static void cfg__yunplace(struct dg_ynode *n)
{
  n->line = n->col = 0;
  for (size_t i = 0; i < n->n; i++) cfg__yunplace(n->kids[i]);
}

/* The list of kind `kind` under the parent named by the edit, created if absent; NULL with
 * *why set if the parent is not there. */
static struct dg_ynode *cfg__ylist_for(struct dg_ytree *t, int kind, const char *parent, const char **why)
{
  struct dg_ynode *holder = t->root;
  struct cfg_yfound f;
  if (kind > 0 && kind < CFG_EDIT_POST) {
    if (!cfg__yentity(t->root, kind - 1, parent, &f)) return *why = "its parent is not in the file", NULL;
    holder = f.item;
  }
  struct dg_ynode *list = cfg__yget(holder, cfg__edit_lists[kind]);
  if (list && list->type == DG_YSEQ) return list;
  if (list && !dg_yc_is_null(list)) return *why = "the parent's list is not a sequence", NULL;
  struct dg_ynode *key = cfg__ynew(t, DG_YSCALAR, cfg__edit_lists[kind]);
  if (!key || !(list = cfg__ynew(t, DG_YSEQ, NULL))) return *why = "out of memory", NULL;
  cfg__yunplace(key);
  key->plain = true;
  size_t k = cfg__yfind_key(holder, key->text);
  if (k != SIZE_MAX) holder->kids[k + 1] = list;
  else if (cfg__ygrow(t, holder, 2)) return *why = "out of memory", NULL;
  else {
    holder->kids[holder->n++] = key;
    holder->kids[holder->n++] = list;
  }
  return list;
}

/* Applies one edit to the tree; NULL, or why it was skipped. */
static const char *cfg__edit_one(struct dg_ytree *t, const struct config_edit *e, struct dg_ytree *body)
{
  int kind = config_edit_kind(e->kind);
  struct cfg_yfound f;
  const char *why = NULL;
  if (kind < 0 || !e->op || !e->entity) return "unknown kind or operation";
  if (!t->root || t->root->type != DG_YMAP) return "the file has no plant model";
  bool found = cfg__yentity(t->root, kind, e->entity, &f);
  if (!strcmp(e->op, "delete")) {
    if (!found) return "it is not in the file";
    memmove(f.list->kids + f.i, f.list->kids + f.i + 1, (f.list->n - f.i - 1) * sizeof *f.list->kids);
    f.list->n--;
    return NULL;
  }
  if (strcmp(e->op, "update") && strcmp(e->op, "create")) return "unknown operation";
  char err[256];
  if (!e->body || dg_yaml_parse("edit", e->body, strlen(e->body), body, err, sizeof err)) return "its body is not JSON";
  if (!body->root || body->root->type != DG_YMAP) return "its body is not an object";
  cfg__yunplace(body->root);
  if (!strcmp(e->op, "update")) {
    if (!found) return "it is not in the file";
    for (size_t k = 0; k + 1 < body->root->n; k += 2)
      if (body->root->kids[k]->type == DG_YSCALAR && cfg__yput(t, f.item, body->root->kids[k], body->root->kids[k + 1]))
        return "out of memory";
    return NULL;
  }
  if (found) return "the file already has that id";
  struct dg_ynode *list = cfg__ylist_for(t, kind, e->parent, &why);
  if (!list) return why;
  if (cfg__ygrow(t, list, 1)) return "out of memory";
  list->kids[list->n++] = body->root;
  return NULL;
}

static int cfg__apply_edits(struct cfg_ctx *x, struct dg_ytree *t, const struct config_edit *edits, size_t n,
                            struct dg_ytree *bodies)
{
  for (size_t i = 0; i < n; i++) {
    const struct config_edit *e = &edits[i];
    const char *why = cfg__edit_one(t, e, &bodies[i]);
    if (why && !strcmp(why, "out of memory")) return dg_yc_oom(&x->y);
    if (!why) {
      x->c->n_edits_applied++;
      continue;
    }
    x->c->n_edits_skipped++;
    DG_WARN("config", "%s: model edit %lld (%s %s '%.64s') skipped: %s", x->y.name, e->id, e->op ? e->op : "?",
            e->kind ? e->kind : "?", e->entity ? e->entity : "?", why);
  }
  return 0;
}

int config_load_string(const char *name, const char *yaml, size_t len, struct dg_config **out,
                       char *err, size_t errlen)
{
  return config_load_edits_string(name, yaml, len, NULL, 0, out, err, errlen);
}

int config_load_edits_string(const char *name, const char *yaml, size_t len, const struct config_edit *edits,
                             size_t n, struct dg_config **out, char *err, size_t errlen)
{
  struct cfg_ctx x = {.y = {.name = name ? name : "<string>", .err = err, .errlen = errlen}};
  struct dg_ytree tree = {0};
  struct dg_ytree *bodies = n ? calloc(n, sizeof *bodies) : NULL;
  int rc;
  if (out) *out = NULL;
  if (n && !bodies) return dg_yc_oom(&x.y);
  if (err && errlen) err[0] = '\0';
  if (!(x.c = calloc(1, sizeof *x.c)) || !(x.ix = calloc(1, sizeof *x.ix))) {
    free(x.c);
    free(bodies);
    return dg_yc_oom(&x.y);
  }
  x.c->index = x.ix;
  x.c->http_port = 8080;
  x.c->history_flush_ms = 1000;
  x.c->login_idle_ms = 30 * 60000;
  x.c->login_lifetime_ms = 12 * 3600000;
  x.c->login_max_failures = 5;
  x.c->login_max_failures_addr = 20;
  x.c->login_lockout_ms = 60000;
  x.c->hazard_deadline_days = 7;
  x.c->upload_person_day_mib = 256;
  x.c->upload_total_mib = 4096;
  x.c->lec_bands = dg_default_lec_bands;
  x.c->ls_bands = dg_default_ls_bands;
  x.c->calendar.weekend_mask = WORKCAL_DEFAULT_WEEKEND;
  if (!(x.c->path = strdup(x.y.name))) rc = dg_yc_oom(&x.y);
  else rc = dg_yaml_parse(x.y.name, yaml, yaml ? len : 0, &tree, err, errlen);
  if (!rc && n) rc = cfg__apply_edits(&x, &tree, edits, n, bodies);
  if (!rc) rc = cfg__root(&x, tree.root);
  dg_yaml_free(&tree);
  for (size_t i = 0; i < n; i++) dg_yaml_free(&bodies[i]);
  free(bodies);
  dg_idmap_free(&x.sources);
  dg_idmap_free(&x.events);
  dg_idmap_free(&x.brokers);
  dg_idmap_free(&x.buses);
  dg_idmap_free(&x.rules);
  dg_idmap_free(&x.policies);
  dg_idmap_free(&x.posts);
  dg_idmap_free(&x.plans);
  if (rc || !out) {
    config_free(x.c);
    return rc;
  }
  *out = x.c;
  return 0;
}

static int cfg__read_file(const char *path, char **buf, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f) return -errno;
  struct stat sb;
  /* Sized from the file's length (one read of a large file, no copies); grows if it does. */
  size_t cap = fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size <= CFG_MAX_FILE
                 ? (size_t)sb.st_size + 1 : 0, used = 0;
  char *data = cap ? malloc(cap) : NULL;
  int rc = 0;
  if (!data) cap = 0;
  for (;;) {
    if (used == cap) {
      size_t ncap = cap ? cap * 2 : 64 << 10;
      char *p = ncap > CFG_MAX_FILE + 1 ? NULL : realloc(data, ncap);
      if (!p) {
        rc = ncap > CFG_MAX_FILE + 1 ? -EFBIG : -ENOMEM;
        break;
      }
      data = p;
      cap = ncap;
    }
    errno = 0;
    size_t got = fread(data + used, 1, cap - used, f);
    used += got;
    if (got == 0) {
      if (ferror(f)) rc = errno ? -errno : -EIO;
      break;
    }
  }
  if (!rc && used > CFG_MAX_FILE) rc = -EFBIG;
  fclose(f);
  if (rc) {
    free(data);
    return rc;
  }
  *buf = data;
  *len = used;
  return 0;
}

int config_load(const char *path, struct dg_config **out, char *err, size_t errlen)
{
  return config_load_edits(path, NULL, 0, out, err, errlen);
}

int config_load_edits(const char *path, const struct config_edit *edits, size_t n, struct dg_config **out,
                      char *err, size_t errlen)
{
  char *buf = NULL;
  size_t len = 0;
  if (out) *out = NULL;
  int rc = cfg__read_file(path, &buf, &len);
  if (rc) {
    if (err && errlen)
      snprintf(err, errlen, "%s: %s", path, rc == -EFBIG ? "file too large" : strerror(-rc));
    return rc;
  }
  rc = config_load_edits_string(path, buf, len, edits, n, out, err, errlen);
  free(buf);
  return rc;
}


bool config_parse_duration(const char *s, uint64_t *ms) { return dg_parse_duration(s, ms); }

void config_free(struct dg_config *c)
{
  if (!c) return;
  for (size_t i = 0; i < c->n_persons; i++) {
    struct dg_person *p = &c->persons[i];
    for (size_t r = 0; r < p->n_roles; r++) free(p->roles[r]);
    free(p->roles);
    free(p->id);
    free(p->name);
    free(p->phone);
    free(p->email);
    free(p->dingtalk);
    free(p->wecom);
    free(p->feishu);
    free(p->dept);
  }
  free(c->persons);
  esc_config_free(c->esc);
  model_config_free(c);
  mqtt_config_free(c);
  modbus_config_free(c);
  point_config_free(c);
  rule_config_free(c);
  notify_config_free(c);
  ledger_config_free(c);
  national_config_free(c);
  post_config_free(c);
  plan_config_free(c);
  if (c->index) {
    dg_idmap_free(&c->index->points);
    dg_idmap_free(&c->index->measures);
    dg_idmap_free(&c->index->units);
    dg_idmap_free(&c->index->persons);
    dg_idmap_free(&c->index->channels);
    free(c->index);
  }
  free(c->path);
  free(c->site_code);
  free(c->site_name);
  free(c->public_url);
  free(c->http_listen);
  for (size_t i = 0; i < c->n_http_hosts; i++) free(c->http_hosts[i]);
  free(c->http_hosts);
  free(c->http_tls_cert);
  free(c->http_tls_key);
  free(c->db_path);
  free(c->attachments_dir);
  free(c);
}

