#include "escalate.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acklink.h"
#include "emergency.h"
#include "esc_sched.h"
#include "esc_text.h"
#include "log.h"

#define ESC_MAX_RECIPIENTS 64

/* One running escalation. */
struct esc_run {
  int64_t id, alarm_id;
  enum esc_event kind;      /* what started it (the words of its messages) */
  int64_t hazard_id;        /* a hazard's escalation (0: an alarm's) */
  int hazard_state;         /* the hazard's state that started it (hazard_moved_on: it left it) */
  char *policy;             /* policy id (re-resolved after a reload) */
  struct esc_sched s;
  int64_t next_ms;          /* INT64_MAX: nothing scheduled */
  int64_t created_ms;
  uint32_t steps;
  char *ctx;                /* JSON context of the messages */
  size_t hi;                /* index in the heap */
};

/* An acknowledgement link being spent. */
struct esc__used {
  struct escalate *x;
  char hash[2 * SHA256_DIGEST_LENGTH + 1];
  int64_t when;
  struct esc__used *next;
};

struct escalate {
  uv_loop_t *loop;
  const struct dg_config *cfg;
  struct store *store;
  struct notify *notify;
  uv_timer_t timer;
  struct esc_run **heap;    /* min-heap on next_ms */
  size_t n, cap;
  int64_t next_id, next_step_id, next_link_id;
  int closing;
  struct escalate_stats stats;
  struct esc__used *spending; /* links spent whose used_ms is not committed yet */
  struct esc_digest *digests;
  uv_timer_t dtimer;          /* sends digests whose window has ended */
  unsigned char link_key[ACKLINK_KEY_BYTES]; /* derives acknowledgement links' tokens */
  escalate_level_fn level_fn; /* the units' current colour */
  void *level_arg;
};

/* Rows of one transaction. */
struct esc_snap {
  int64_t id, alarm_id, tier_start_ms, last_notify_ms, next_ms, created_ms, updated_ms, hazard_id;
  uint32_t tier, steps;
  int state, hazard_state;
  enum esc_event kind;
  char *policy, *ctx, *stop_reason;
  struct esc_snap *next;
};
struct esc_step {
  int64_t id, esc_id, alarm_id, ts_ms;
  int tier;                 /* 0-based, -1 none */
  const char *action;
  char *detail;
  struct esc_step *next;
};
struct esc_link {
  char hash[2 * SHA256_DIGEST_LENGTH + 1];
  int64_t id, alarm_id, esc_id, created_ms, expires_ms;
  char *person;
  struct esc_link *next;
};
/* A digest row's body, rewritten as messages join it. */
struct esc_upd {
  int64_t id;
  char *body;
  struct esc_upd *next;
};
struct esc_change {
  struct escalate *x;
  struct esc_snap *snaps;
  struct esc_step *steps;
  struct esc_link *links;
  struct notify_msg *msgs;  /* timed steps only: the alarm path hands its messages to the engine */
  struct notify_msg *held;  /* new digest rows: written, sent when their window ends */
  struct esc_upd *upds;
};

/* The digest of one person on one channel while messages flood in. */
struct esc_digest {
  char key[160];            /* "<person>|<channel>" */
  struct esc_flood flood;
  struct notify_msg *msg;   /* the window's digest row, committed and waiting (NULL: none yet) */
  cJSON *lines;             /* the titles it holds */
  struct esc_digest *next;
};

static void escalate__arm(struct escalate *x);
static void esc__on_dtimer(uv_timer_t *t);
static void esc__step_done(void *arg, int rc);
static char *esc__render(void *arg, const char *body);

/* ---- heap ---------------------------------------------------------------------------------- */

static void esc__swap(struct escalate *x, size_t a, size_t b)
{
  struct esc_run *t = x->heap[a];
  x->heap[a] = x->heap[b];
  x->heap[b] = t;
  x->heap[a]->hi = a;
  x->heap[b]->hi = b;
}

static void esc__sift(struct escalate *x, size_t i)
{
  while (i > 0 && x->heap[(i - 1) / 2]->next_ms > x->heap[i]->next_ms) {
    esc__swap(x, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < x->n && x->heap[l]->next_ms < x->heap[m]->next_ms) m = l;
    if (r < x->n && x->heap[r]->next_ms < x->heap[m]->next_ms) m = r;
    if (m == i) return;
    esc__swap(x, i, m);
    i = m;
  }
}

static int esc__push(struct escalate *x, struct esc_run *r)
{
  if (x->n == x->cap) {
    size_t cap = x->cap ? x->cap * 2 : 64;
    struct esc_run **h = realloc(x->heap, cap * sizeof *h);
    if (!h) return -ENOMEM;
    x->heap = h;
    x->cap = cap;
  }
  r->hi = x->n;
  x->heap[x->n++] = r;
  esc__sift(x, r->hi);
  return 0;
}

static void esc__remove(struct escalate *x, struct esc_run *r)
{
  size_t i = r->hi;
  esc__swap(x, i, x->n - 1);
  x->n--;
  if (i < x->n) esc__sift(x, i);
}

static void esc__run_free(struct esc_run *r)
{
  if (!r) return;
  free(r->policy);
  free(r->ctx);
  free(r);
}

static struct esc_run *esc__find_alarm(const struct escalate *x, int64_t alarm_id)
{
  for (size_t i = 0; i < x->n; i++)
    if (x->heap[i]->alarm_id == alarm_id && !x->heap[i]->hazard_id) return x->heap[i];
  return NULL;
}

static const struct esc_policy *esc__policy(const struct escalate *x, const char *id)
{
  const struct esc_config *e = x->cfg->esc;
  for (size_t i = 0; e && i < e->n_policies; i++)
    if (!strcmp(e->policies[i].id, id)) return &e->policies[i];
  return NULL;
}

/* ---- setup --------------------------------------------------------------------------------- */

static int64_t esc__max_id(struct escalate *x, const char *sql)
{
  sqlite3_stmt *st = store_stmt(store_reader(x->store), sql);
  int64_t v = -1;
  if (st && sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  if (st) sqlite3_reset(st);
  return v;
}

static const char *const esc__sql_max_esc = "SELECT COALESCE(MAX(id), 0) + 1 FROM escalations";
static const char *const esc__sql_max_step = "SELECT COALESCE(MAX(id), 0) + 1 FROM escalation_steps";
static const char *const esc__sql_max_link = "SELECT COALESCE(MAX(id), 0) + 1 FROM ack_links";

int escalate_init(struct escalate **out, uv_loop_t *loop, const struct dg_config *cfg, struct store *store,
                  struct notify *notify)
{
  struct escalate *x = calloc(1, sizeof *x);
  if (!x) return -ENOMEM;
  x->loop = loop;
  x->cfg = cfg;
  x->store = store;
  x->notify = notify;
  x->next_id = esc__max_id(x, esc__sql_max_esc);
  x->next_step_id = esc__max_id(x, esc__sql_max_step);
  x->next_link_id = esc__max_id(x, esc__sql_max_link);
  if (x->next_id < 0 || x->next_step_id < 0 || x->next_link_id < 0) {
    free(x);
    return -EIO;
  }
  if (acklink_key_random(x->link_key)) {
    free(x);
    return -EIO;
  }
  notify_set_render(notify, esc__render, x);
  uv_timer_init(loop, &x->timer);
  x->timer.data = x;
  uv_timer_init(loop, &x->dtimer);
  x->dtimer.data = x;
  *out = x;
  return 0;
}

void escalate_set_config(struct escalate *x, const struct dg_config *cfg) { x->cfg = cfg; }

void escalate_set_level_source(struct escalate *x, escalate_level_fn fn, void *arg)
{
  x->level_fn = fn;
  x->level_arg = arg;
}

/* ---- changes ------------------------------------------------------------------------------- */

static struct esc_change *esc__change(struct escalate *x)
{
  struct esc_change *ch = calloc(1, sizeof *ch);
  if (ch) ch->x = x;
  return ch;
}

static void esc__snap(struct esc_change *ch, const struct esc_run *r, int state, const char *why, int64_t now)
{
  struct esc_snap *s = calloc(1, sizeof *s);
  if (!s) return;
  *s = (struct esc_snap){.id = r->id, .alarm_id = r->alarm_id, .tier_start_ms = r->s.tier_start_ms,
                         .last_notify_ms = r->s.last_notify_ms, .next_ms = r->next_ms, .created_ms = r->created_ms,
                         .updated_ms = now, .tier = r->s.tier, .steps = r->steps, .state = state,
                         .hazard_id = r->hazard_id, .hazard_state = r->hazard_state, .kind = r->kind,
                         .policy = strdup(r->policy), .ctx = strdup(r->ctx), .stop_reason = why ? strdup(why) : NULL};
  s->next = ch->snaps;
  ch->snaps = s;
}

static void esc__journal(struct esc_change *ch, const struct esc_run *r, int tier, const char *action, cJSON *detail,
                         int64_t now)
{
  struct esc_step *s = calloc(1, sizeof *s);
  if (!s) {
    cJSON_Delete(detail);
    return;
  }
  *s = (struct esc_step){.id = ch->x->next_step_id++, .esc_id = r->id, .alarm_id = r->alarm_id, .ts_ms = now,
                         .tier = tier, .action = action};
  if (detail) s->detail = cJSON_PrintUnformatted(detail);
  cJSON_Delete(detail);
  s->next = ch->steps;
  ch->steps = s;
}

void escalate_change_free(struct esc_change *ch)
{
  if (!ch) return;
  while (ch->snaps) {
    struct esc_snap *s = ch->snaps;
    ch->snaps = s->next;
    free(s->policy);
    free(s->ctx);
    free(s->stop_reason);
    free(s);
  }
  while (ch->steps) {
    struct esc_step *s = ch->steps;
    ch->steps = s->next;
    free(s->detail);
    free(s);
  }
  while (ch->links) {
    struct esc_link *l = ch->links;
    ch->links = l->next;
    free(l->person);
    free(l);
  }
  notify_msg_free_list(ch->msgs);
  notify_msg_free_list(ch->held);
  while (ch->upds) {
    struct esc_upd *u = ch->upds;
    ch->upds = u->next;
    free(u->body);
    free(u);
  }
  free(ch);
}

static const char *const esc__sql_snap =
  "INSERT OR REPLACE INTO escalations (id, alarm_id, policy, state, tier, tier_start_ms, last_notify_ms, next_ms,"
  " steps, stop_reason, context, created_ms, updated_ms, event, hazard_id, hazard_state)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";
static const char *const esc__sql_step =
  "INSERT INTO escalation_steps (id, escalation_id, alarm_id, ts_ms, tier, action, detail)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char *const esc__sql_link =
  "INSERT INTO ack_links (id, token_sha256, alarm_id, person, escalation_id, created_ms, expires_ms)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

static const char *const esc__sql_digest = "UPDATE outbox SET body = ?2 WHERE id = ?1 AND state = 0";

static int esc__write_snaps(struct store_conn *c, const struct esc_snap *s)
{
  /* The list is newest first: write oldest first so the last state wins. */
  if (!s) return SQLITE_OK;
  int rc = esc__write_snaps(c, s->next);
  if (rc != SQLITE_OK) return rc;
  sqlite3_stmt *st = store_stmt(c, esc__sql_snap);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, s->id);
  if (s->alarm_id) sqlite3_bind_int64(st, 2, s->alarm_id);
  else sqlite3_bind_null(st, 2);
  store_bind_text(st, 3, s->policy);
  sqlite3_bind_int(st, 4, s->state);
  sqlite3_bind_int(st, 5, (int)s->tier);
  sqlite3_bind_int64(st, 6, s->tier_start_ms);
  sqlite3_bind_int64(st, 7, s->last_notify_ms);
  if (s->next_ms == INT64_MAX || s->state) sqlite3_bind_null(st, 8);
  else sqlite3_bind_int64(st, 8, s->next_ms);
  sqlite3_bind_int(st, 9, (int)s->steps);
  store_bind_text(st, 10, s->stop_reason);
  store_bind_text(st, 11, s->ctx);
  sqlite3_bind_int64(st, 12, s->created_ms);
  sqlite3_bind_int64(st, 13, s->updated_ms);
  store_bind_text(st, 14, esc_event_name(s->kind));
  if (s->hazard_id) {
    sqlite3_bind_int64(st, 15, s->hazard_id);
    sqlite3_bind_int(st, 16, s->hazard_state);
  } else {
    sqlite3_bind_null(st, 15);
    sqlite3_bind_null(st, 16);
  }
  return store_step_done(st);
}

int escalate_write(struct store_conn *c, const struct esc_change *ch)
{
  if (!ch) return SQLITE_OK;
  int rc = esc__write_snaps(c, ch->snaps);
  for (const struct esc_step *s = ch->steps; rc == SQLITE_OK && s; s = s->next) {
    sqlite3_stmt *st = store_stmt(c, esc__sql_step);
    if (!st) return SQLITE_ERROR;
    sqlite3_bind_int64(st, 1, s->id);
    sqlite3_bind_int64(st, 2, s->esc_id);
    if (s->alarm_id) sqlite3_bind_int64(st, 3, s->alarm_id);
    else sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, s->ts_ms);
    if (s->tier >= 0) sqlite3_bind_int(st, 5, s->tier + 1);
    store_bind_text(st, 6, s->action);
    store_bind_text(st, 7, s->detail);
    rc = store_step_done(st);
  }
  for (const struct esc_link *l = ch->links; rc == SQLITE_OK && l; l = l->next) {
    sqlite3_stmt *st = store_stmt(c, esc__sql_link);
    if (!st) return SQLITE_ERROR;
    sqlite3_bind_int64(st, 1, l->id);
    store_bind_text(st, 2, l->hash);
    sqlite3_bind_int64(st, 3, l->alarm_id);
    store_bind_text(st, 4, l->person);
    sqlite3_bind_int64(st, 5, l->esc_id);
    sqlite3_bind_int64(st, 6, l->created_ms);
    sqlite3_bind_int64(st, 7, l->expires_ms);
    rc = store_step_done(st);
  }
  if (rc == SQLITE_OK) rc = notify_msg_write(c, ch->msgs);
  if (rc == SQLITE_OK) rc = notify_msg_write(c, ch->held);
  for (const struct esc_upd *u = ch->upds; rc == SQLITE_OK && u; u = u->next) {
    sqlite3_stmt *st = store_stmt(c, esc__sql_digest);
    if (!st) return SQLITE_ERROR;
    sqlite3_bind_int64(st, 1, u->id);
    store_bind_text(st, 2, u->body);
    rc = store_step_done(st);
  }
  return rc;
}

/* ---- recipients and messages --------------------------------------------------------------- */

static void esc__add_person(struct dg_person **out, size_t *n, struct dg_person *p)
{
  if (!p || *n >= ESC_MAX_RECIPIENTS) return;
  for (size_t i = 0; i < *n; i++)
    if (out[i] == p) return;
  out[(*n)++] = p;
}

static int esc__has_role(const struct dg_person *p, const char *role)
{
  for (size_t i = 0; i < p->n_roles; i++)
    if (!strcmp(p->roles[i], role)) return 1;
  return 0;
}

static size_t esc__recipients(const struct escalate *x, const struct esc_tier *t, const cJSON *ctx, int64_t now,
                              struct dg_person **out)
{
  const struct dg_config *c = x->cfg;
  size_t n = 0;
  for (size_t i = 0; i < t->n_persons; i++) esc__add_person(out, &n, t->persons[i]);
  for (size_t r = 0; r < t->n_roles; r++)
    for (size_t i = 0; i < c->n_persons; i++)
      if (esc__has_role(&c->persons[i], t->roles[r])) esc__add_person(out, &n, &c->persons[i]);
  const cJSON *jm = cJSON_GetObjectItemCaseSensitive(ctx, "measure"), *ju = cJSON_GetObjectItemCaseSensitive(ctx, "unit");
  const struct dg_measure *m = cJSON_IsString(jm) ? dg_config_measure(c, jm->valuestring) : NULL;
  const struct dg_unit *u = cJSON_IsString(ju) ? dg_config_unit(c, ju->valuestring) : NULL;
  if ((t->responsible & ESC_RESP_MEASURE) && m) esc__add_person(out, &n, dg_config_person(c, m->resp_person));
  if ((t->responsible & ESC_RESP_UNIT) && u) esc__add_person(out, &n, dg_config_person(c, u->person));
  if ((t->responsible & ESC_RESP_SOURCE) && u && u->source)
    for (size_t i = 0; i < u->source->n_units; i++)
      esc__add_person(out, &n, dg_config_person(c, u->source->units[i].person));
  const cJSON *hp = cJSON_GetObjectItemCaseSensitive(ctx, "hazard_people"), *e;
  if (t->responsible & ESC_RESP_HAZARD)
    cJSON_ArrayForEach(e, hp) if (cJSON_IsString(e)) esc__add_person(out, &n, dg_config_person(c, e->valuestring));
  if (t->rota) esc__add_person(out, &n, esc_rota_on_call(t->rota, now));
  return n;
}

static const char *esc__contact(const struct dg_person *p, const struct dg_channel *ch)
{
  switch (ch->type) {
  case DG_CHANNEL_DINGTALK: return p->dingtalk;
  case DG_CHANNEL_WECOM: return p->wecom;
  case DG_CHANNEL_FEISHU: return p->feishu;
  default: return NULL;
  }
}

static int esc__reachable(const struct dg_person *p, const struct dg_channel *ch)
{
  if (ch->type == DG_CHANNEL_SMTP) return p->email != NULL;
  if (ch->type == DG_CHANNEL_SMS || ch->type == DG_CHANNEL_VOICE) return p->phone != NULL;
  return 1;
}

/* A one-time link acknowledging alarm r->alarm_id as p: its id (0: none), which the message
 * carries until it is sent (esc__render); only the token's hash is kept. */
static int64_t esc__link(struct escalate *x, struct esc_change *ch, const struct esc_run *r, const struct dg_person *p,
                         int64_t now)
{
  const struct esc_config *e = x->cfg->esc;
  char token[ACKLINK_TOKEN_LEN + 1];
  if (!e->dashboard_url) return 0;
  struct esc_link *l = calloc(1, sizeof *l);
  if (!l || !(l->person = strdup(p->id))) {
    free(l);
    return 0;
  }
  l->id = x->next_link_id++;
  acklink_token(x->link_key, l->id, token);
  acklink_hash(token, l->hash);
  l->alarm_id = r->alarm_id;
  l->esc_id = r->id;
  l->created_ms = now;
  l->expires_ms = now + (int64_t)e->link_ttl_s * 1000;
  l->next = ch->links;
  ch->links = l;
  return l->id;
}

/* At send time (notify's render hook): the acknowledgement link's token goes into the message. */
static char *esc__render(void *arg, const char *body)
{
  struct escalate *x = arg;
  const struct esc_config *e = x->cfg->esc;
  if (!e || !e->dashboard_url || !strstr(body, "\"ack_link\"")) return NULL;
  cJSON *root = cJSON_Parse(body);
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "ack_link");
  char *out = NULL, token[ACKLINK_TOKEN_LEN + 1], url[1024];
  if (cJSON_IsNumber(id)) {
    acklink_token(x->link_key, (int64_t)id->valuedouble, token);
    snprintf(url, sizeof url, "%s/ack?token=%s", e->dashboard_url, token);
    cJSON_DeleteItemFromObjectCaseSensitive(root, "ack_link");
    cJSON_DeleteItemFromObjectCaseSensitive(root, "link");
    cJSON_AddStringToObject(root, "link", url);
    out = cJSON_PrintUnformatted(root);
  }
  cJSON_Delete(root);
  return out;
}

int escalate_set_link_key_file(struct escalate *x, const char *path)
{
  int rc = acklink_key_load(path, x->link_key);
  if (rc) DG_ERR("escalate", "acknowledgement link key %s: %s; links last until the next start", path, strerror(-rc));
  return rc;
}

/* A hazard's page on the dashboard (no token: nothing to acknowledge there without a login). */
static char *esc__page_link(const struct esc_config *e, const struct esc_run *r)
{
  if (!e->dashboard_url || !r->hazard_id) return NULL;
  size_t len = strlen(e->dashboard_url) + 48;
  char *url = malloc(len);
  if (url) snprintf(url, len, "%s/#hazards/%lld", e->dashboard_url, (long long)r->hazard_id);
  return url;
}

static char *esc__envelope(const struct dg_person *p, const struct dg_channel *chn, const char *title,
                           const char *text, const char *link, int64_t ack, const struct esc_run *r, uint32_t tier,
                           const char *priority)
{
  cJSON *root = cJSON_CreateObject(), *to = cJSON_AddObjectToObject(root, "to");
  cJSON_AddStringToObject(to, "person", p->id);
  if (p->name) cJSON_AddStringToObject(to, "name", p->name);
  if (p->phone) cJSON_AddStringToObject(to, "phone", p->phone);
  if (p->email) cJSON_AddStringToObject(to, "email", p->email);
  const char *im = esc__contact(p, chn);
  if (im) cJSON_AddStringToObject(to, "im", im);
  cJSON_AddStringToObject(root, "title", title);
  cJSON_AddStringToObject(root, "text", text);
  if (link) cJSON_AddStringToObject(root, "link", link);
  if (ack) cJSON_AddNumberToObject(root, "ack_link", (double)ack); /* its token is rendered when sent */
  if (priority) cJSON_AddStringToObject(root, "priority", priority);
  if (r->alarm_id) cJSON_AddNumberToObject(root, "alarm_id", (double)r->alarm_id);
  if (r->hazard_id) cJSON_AddNumberToObject(root, "hazard_id", (double)r->hazard_id);
  cJSON_AddNumberToObject(root, "escalation", (double)r->id);
  cJSON_AddNumberToObject(root, "tier", tier + 1);
  char *s = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  return s;
}

/* ---- flood digests ---- */

static void esc__arm_digests(struct escalate *x)
{
  int64_t next = INT64_MAX;
  for (const struct esc_digest *d = x->digests; d; d = d->next)
    if (d->msg && d->msg->next_attempt_ms < next) next = d->msg->next_attempt_ms;
  if (next == INT64_MAX || x->closing) {
    uv_timer_stop(&x->dtimer);
    return;
  }
  int64_t wait = next - dg_wall_ms();
  uv_timer_start(&x->dtimer, esc__on_dtimer, (uint64_t)(wait > 0 ? wait : 0), 0);
}

/* Windows that have ended: their digests go to the sender (their rows are committed). */
static void esc__on_dtimer(uv_timer_t *t)
{
  struct escalate *x = t->data;
  int64_t now = dg_wall_ms();
  for (struct esc_digest **pp = &x->digests; *pp;) {
    struct esc_digest *d = *pp;
    if (d->msg && d->msg->next_attempt_ms <= now) {
      notify_send(x->notify, d->msg);
      d->msg = NULL;
      cJSON_Delete(d->lines);
      d->lines = NULL;
    }
    int64_t window = x->cfg->esc ? (int64_t)x->cfg->esc->digest_window_s * 1000 : 0;
    if (!d->msg && now >= d->flood.window_start_ms + window) {
      *pp = d->next;
      free(d);
    } else {
      pp = &d->next;
    }
  }
  esc__arm_digests(x);
}

static char *esc__digest_body(const struct dg_person *p, const struct dg_channel *chn, const struct esc_digest *d,
                              enum esc_lang lang)
{
  cJSON *root = cJSON_CreateObject(), *to = cJSON_AddObjectToObject(root, "to");
  int n = cJSON_GetArraySize(d->lines);
  char title[128];
  size_t len = 64;
  for (int i = 0; i < n; i++) len += strlen(cJSON_GetArrayItem(d->lines, i)->valuestring) + 1;
  char *text = malloc(len);
  snprintf(title, sizeof title, lang == ESC_LANG_EN ? "%d more alerts (digest)" : "另有%d条通知（汇总）", n);
  if (text) {
    size_t used = (size_t)snprintf(text, len, "%s", title);
    for (int i = 0; i < n; i++) used += (size_t)snprintf(text + used, len - used, "\n%s", cJSON_GetArrayItem(d->lines, i)->valuestring);
  }
  cJSON_AddStringToObject(to, "person", p->id);
  if (p->phone) cJSON_AddStringToObject(to, "phone", p->phone);
  if (p->email) cJSON_AddStringToObject(to, "email", p->email);
  const char *im = esc__contact(p, chn);
  if (im) cJSON_AddStringToObject(to, "im", im);
  cJSON_AddStringToObject(root, "title", title);
  cJSON_AddStringToObject(root, "text", text ? text : title);
  free(text);
  char *s = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  return s;
}

/* The digest of person `person` on channel `channel` (made when absent; NULL without memory). */
static struct esc_digest *esc__digest_of(struct escalate *x, const char *person, const char *channel)
{
  char key[160];
  snprintf(key, sizeof key, "%s|%s", person, channel);
  struct esc_digest *d = x->digests;
  while (d && strcmp(d->key, key)) d = d->next;
  if (!d && (d = calloc(1, sizeof *d))) {
    snprintf(d->key, sizeof d->key, "%s", key);
    d->next = x->digests;
    x->digests = d;
  }
  return d;
}

static const char *const esc__sql_recent =
  "SELECT recipient, channel, created_ms, ref FROM outbox WHERE recipient IS NOT NULL AND created_ms >= ?1"
  " ORDER BY created_ms, id";

/* The digest windows of the messages to persons committed lately, as they were counted before a
 * restart: a window's messages sent on their own count one each, its digest row one beyond the
 * window's allowance. A new window is begun no earlier than it was. */
static int esc__load_digests(struct escalate *x, int64_t now)
{
  const struct esc_config *e = x->cfg->esc;
  if (!e || !e->digest_after || !e->digest_window_s) return 0;
  int64_t window = (int64_t)e->digest_window_s * 1000;
  sqlite3_stmt *st = store_stmt(store_reader(x->store), esc__sql_recent);
  if (!st) return -EIO;
  sqlite3_bind_int64(st, 1, now - 2 * window);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct esc_digest *d = esc__digest_of(x, (const char *)sqlite3_column_text(st, 0),
                                          (const char *)sqlite3_column_text(st, 1));
    if (!d) break;
    esc_flood_hold(&d->flood, sqlite3_column_int64(st, 2), window, e->digest_after);
    if (!strncmp((const char *)sqlite3_column_text(st, 3), "digest:", 7) && d->flood.count <= e->digest_after)
      d->flood.count = e->digest_after + 1;
  }
  sqlite3_reset(st);
  esc__arm_digests(x);
  return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Counts a message to p on chn; when it is one too many for the window, it joins the window's
 * digest (a row committed now, sent when the window ends) instead: 1, else 0. */
static int esc__digest(struct escalate *x, struct esc_change *ch, const struct dg_person *p,
                       const struct dg_channel *chn, const char *title, int64_t now)
{
  const struct esc_config *e = x->cfg->esc;
  struct esc_digest *d = esc__digest_of(x, p->id, chn->id);
  int64_t window = (int64_t)e->digest_window_s * 1000;
  if (!d || !esc_flood_hold(&d->flood, now, window, e->digest_after)) return 0;
  if (!d->lines && !(d->lines = cJSON_CreateArray())) return 0;
  cJSON_AddItemToArray(d->lines, cJSON_CreateString(title));
  char *body = esc__digest_body(p, chn, d, e->lang);
  if (!body) return 0;
  if (!d->msg) {
    char ref[200];
    struct notify_msg *m = notify_msg_new(x->notify, chn, "digest", body, now), *copy = calloc(1, sizeof *copy);
    if (m) { /* one per window, and a second one in a window begun before a restart */
      snprintf(ref, sizeof ref, "digest:%s:%lld:%lld", d->key, (long long)d->flood.window_start_ms, (long long)m->id);
      free(m->ref);
      m->ref = strdup(ref);
    }
    if (!m || !m->ref || !copy || !(m->recipient = strdup(p->id))) {
      notify_msg_free_list(m);
      free(copy);
      return 0;
    }
    m->next_attempt_ms = d->flood.window_start_ms + window;
    *copy = *m; /* the change writes a copy; the digest keeps the row to send */
    copy->channel = strdup(m->channel);
    copy->ref = strdup(m->ref);
    copy->body = strdup(m->body);
    copy->recipient = strdup(m->recipient);
    copy->next = ch->held;
    ch->held = copy;
    d->msg = m;
    esc__arm_digests(x);
    return 1;
  }
  struct esc_upd *u = calloc(1, sizeof *u);
  if (!u) {
    free(body);
    return 1;
  }
  free(d->msg->body);
  d->msg->body = strdup(body);
  u->id = d->msg->id;
  u->body = body;
  u->next = ch->upds;
  ch->upds = u;
  return 1;
}

/* Tells tier `tier` of r's policy: one message per person and channel, journaled. */
static void esc__tell(struct escalate *x, struct esc_change *ch, struct esc_run *r, const struct esc_policy *p,
                      uint32_t tier, enum esc_event ev, const char *action, int64_t now, struct notify_msg **msgs)
{
  const struct esc_config *e = x->cfg->esc;
  const struct esc_tier *t = &p->tiers[tier];
  cJSON *ctx = cJSON_Parse(r->ctx), *detail = cJSON_CreateObject(), *told = cJSON_AddArrayToObject(detail, "told");
  struct dg_person *who[ESC_MAX_RECIPIENTS];
  char *title = NULL, *text = NULL;
  if (!ctx || (esc_event_is_ledger(ev) ? esc_text_hazard(ctx, ev, tier, e->lang, e->utc_offset_min, &title, &text)
                                        : esc_text_alarm(ctx, ev, tier, e->lang, e->utc_offset_min, &title, &text)))
    goto out;
  const cJSON *jp = cJSON_GetObjectItemCaseSensitive(ctx, "priority");
  const char *prio = cJSON_IsString(jp) ? jp->valuestring : NULL;
  int quiet = prio && !strcmp(prio, "low") && esc_in_quiet_hours(e->quiet_from_min, e->quiet_to_min, now, e->utc_offset_min);
  /* a critical alarm or a major hazard is never held back by a digest */
  int urgent = (prio && !strcmp(prio, "critical")) || ev == ESC_EV_MAJOR_HAZARD_OPENED;
  size_t n = esc__recipients(x, t, ctx, now, who);
  r->steps++;
  for (size_t i = 0; i < n; i++) {
    int hazard = r->hazard_id || esc_event_is_ledger(ev);
    char *link = hazard ? esc__page_link(e, r) : NULL;
    int64_t ack = hazard ? 0 : esc__link(x, ch, r, who[i], now);
    for (size_t k = 0; k < t->n_channels; k++) {
      const struct dg_channel *chn = t->channels[k];
      cJSON *entry = cJSON_CreateObject();
      cJSON_AddStringToObject(entry, "person", who[i]->id);
      cJSON_AddStringToObject(entry, "channel", chn->id);
      cJSON_AddItemToArray(told, entry);
      if (!esc__reachable(who[i], chn)) {
        cJSON_AddStringToObject(entry, "skipped", "no contact point");
        continue;
      }
      if (!urgent && esc__digest(x, ch, who[i], chn, title, now)) {
        cJSON_AddStringToObject(entry, "held", "digest");
        continue;
      }
      char ref[160];
      snprintf(ref, sizeof ref, "esc:%lld:step:%u:%s", (long long)r->id, r->steps, who[i]->id);
      char *body = esc__envelope(who[i], chn, title, text, link, ack, r, tier, prio);
      struct notify_msg *m = body ? notify_msg_new(x->notify, chn, ref, body, now) : NULL;
      if (!m || !(m->recipient = strdup(who[i]->id))) {
        notify_msg_free_list(m);
        continue;
      }
      if (quiet) { /* low priority waits for the end of the quiet hours */
        int32_t wait = (e->quiet_to_min - esc_local_minute(now, e->utc_offset_min) + 1440) % 1440;
        m->next_attempt_ms = now + (int64_t)wait * 60000;
        m->expires_ms += (int64_t)wait * 60000;
      }
      cJSON_AddNumberToObject(entry, "outbox", (double)m->id);
      m->next = *msgs;
      *msgs = m;
      x->stats.messages++;
    }
    free(link);
  }
  if (!n) cJSON_AddStringToObject(detail, "warning", "the tier resolved to nobody");
out:
  esc__journal(ch, r, (int)tier, action, detail, now);
  free(title);
  free(text);
  cJSON_Delete(ctx);
}

/* ---- alarm transitions --------------------------------------------------------------------- */

/* The unit's current (dynamic) colour: the last one the risk watch recorded, else its assessed one. */
static unsigned esc__current_level(const struct escalate *x, const struct dg_unit *u)
{
  if (!u) return DG_LEVEL_NONE;
  unsigned now = x->level_fn ? (unsigned)x->level_fn(x->level_arg, u->id) : DG_LEVEL_NONE;
  return now != DG_LEVEL_NONE ? now : u->level;
}

static unsigned esc__level_of(const struct escalate *x, const struct dg_rule *rule, const struct dg_unit **unit)
{
  const struct dg_measure *m = rule->measure;
  const struct dg_unit *u = m && m->event ? m->event->unit : NULL;
  if (!u && rule->point && rule->point->unit_id) u = dg_config_unit(x->cfg, rule->point->unit_id);
  *unit = u;
  return esc__current_level(x, u);
}

static const struct esc_policy *esc__choose(const struct escalate *x, enum esc_event kind, enum dg_priority prio,
                                            unsigned level)
{
  const struct esc_config *e = x->cfg->esc;
  for (size_t i = 0; e && i < e->n_policies; i++) {
    const struct esc_policy *p = &e->policies[i];
    if (!(p->event_mask & (1u << kind))) continue;
    if (p->priority_mask && !(p->priority_mask & (1u << prio))) continue;
    if (p->level_mask && !(p->level_mask & (1u << level))) continue;
    return p;
  }
  return NULL;
}

static char *esc__context(const struct escalate *x, const struct esc_alarm *ev, const struct dg_unit *u)
{
  const struct dg_rule *r = ev->rule;
  const struct dg_measure *m = r->measure;
  cJSON *o = cJSON_CreateObject();
  if (x->cfg->site_name) cJSON_AddStringToObject(o, "site", x->cfg->site_name);
  cJSON_AddNumberToObject(o, "alarm", (double)ev->alarm_id);
  cJSON_AddStringToObject(o, "rule", r->id);
  if (r->point) {
    cJSON_AddStringToObject(o, "point", r->point->id);
    if (r->point->name) cJSON_AddStringToObject(o, "point_name", r->point->name);
    if (r->point->eng_unit) cJSON_AddStringToObject(o, "eng_unit", r->point->eng_unit);
  }
  if (m) cJSON_AddStringToObject(o, "measure", m->id);
  char todo[EMERGENCY_TODO_MAX];
  if (emergency_todo(m, todo, sizeof todo) != -ENOENT) cJSON_AddStringToObject(o, "todo", todo);
  if (u) {
    cJSON_AddStringToObject(o, "unit", u->id);
    if (u->name) cJSON_AddStringToObject(o, "unit_name", u->name);
    cJSON_AddStringToObject(o, "level", dg_level_name(u->level));
    const struct dg_person *lp = dg_config_person(x->cfg, m && m->resp_person ? m->resp_person : u->person);
    if (lp) cJSON_AddStringToObject(o, "liable_name", lp->name ? lp->name : lp->id);
  }
  if (ev->stage) cJSON_AddStringToObject(o, "stage", ev->stage);
  if (ev->priority) cJSON_AddStringToObject(o, "priority", dg_priority_name(ev->priority));
  cJSON_AddNumberToObject(o, "value", ev->value);
  if (ev->has_limit) cJSON_AddNumberToObject(o, "limit", ev->limit);
  cJSON_AddNumberToObject(o, "ts_ms", (double)ev->ts_ms);
  if (ev->hazard_code) cJSON_AddStringToObject(o, "hazard_code", ev->hazard_code);
  if (ev->hazard_deadline_ms) cJSON_AddNumberToObject(o, "deadline_ms", (double)ev->hazard_deadline_ms);
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}

static void esc__stop(struct escalate *x, struct esc_change *ch, struct esc_run *r, const char *why, int64_t now)
{
  cJSON *d = cJSON_CreateObject();
  cJSON_AddStringToObject(d, "reason", why);
  esc__journal(ch, r, (int)r->s.tier, "stop", d, now);
  esc__snap(ch, r, 1, why, now);
  esc__remove(x, r);
  esc__run_free(r);
}

static const char *esc__stop_name(unsigned bit)
{
  switch (bit) {
  case ESC_STOP_ACKED: return "acknowledged";
  case ESC_STOP_SHELVED: return "shelved";
  case ESC_STOP_OUT_OF_SERVICE: return "out_of_service";
  case ESC_STOP_RTN: return "returned_to_normal";
  default: return "hazard_moved_on";
  }
}

static void esc__start(struct escalate *x, struct esc_change *ch, const struct esc_alarm *ev,
                       const struct esc_policy *p, const struct dg_unit *u, struct notify_msg **msgs)
{
  struct esc_run *r = calloc(1, sizeof *r);
  if (!r) return;
  r->id = x->next_id++;
  r->alarm_id = ev->alarm_id;
  r->created_ms = ev->ts_ms;
  r->policy = strdup(p->id);
  r->kind = ESC_EV_ALARM_ACTIVATE;
  r->ctx = esc__context(x, ev, u);
  uint32_t tier = esc_sched_start_tier(p, ev->stage);
  r->s = (struct esc_sched){tier, ev->ts_ms, ev->ts_ms};
  if (!r->policy || !r->ctx) {
    esc__run_free(r);
    return;
  }
  esc__tell(x, ch, r, p, tier, ESC_EV_ALARM_ACTIVATE, "start", ev->ts_ms, msgs);
  r->next_ms = esc_sched_next(p, &r->s);
  esc__snap(ch, r, 0, NULL, ev->ts_ms);
  if (esc__push(x, r)) esc__run_free(r);
}

/* A notice that starts nothing (return to normal, acknowledgement): the policy's first tier once. */
static void esc__notice(struct escalate *x, struct esc_change *ch, const struct esc_alarm *ev,
                        const struct esc_policy *p, const struct dg_unit *u, struct notify_msg **msgs)
{
  struct esc_run r = {.id = x->next_id++, .alarm_id = ev->alarm_id, .created_ms = ev->ts_ms,
                      .policy = (char *)p->id, .ctx = esc__context(x, ev, u)};
  if (!r.ctx) return;
  esc__tell(x, ch, &r, p, 0, ev->kind, "notice", ev->ts_ms, msgs);
  esc__snap(ch, &r, 1, esc_event_name(ev->kind), ev->ts_ms);
  free(r.ctx);
}

/* ---- hazards and inspections (ledger_events.h) ------------------------------------------------ */

static void esc__add_text(cJSON *o, const char *k, const char *v)
{
  if (v) cJSON_AddStringToObject(o, k, v);
}

static char *esc__ledger_context(const struct escalate *x, const struct ledger_event *ev, const struct dg_unit *u,
                                 const struct dg_measure *m, unsigned level, enum dg_priority prio)
{
  const struct dg_config *c = x->cfg;
  cJSON *o = cJSON_CreateObject(), *people = cJSON_AddArrayToObject(o, "hazard_people");
  esc__add_text(o, "site", c->site_name);
  if (ev->hazard_id) cJSON_AddNumberToObject(o, "hazard", (double)ev->hazard_id);
  esc__add_text(o, "hazard_code", ev->code);
  if (ev->hazard_id) cJSON_AddNumberToObject(o, "danger_level", ev->danger_level);
  esc__add_text(o, "description", ev->description);
  if (ev->task_id) cJSON_AddNumberToObject(o, "task", (double)ev->task_id);
  if (ev->due_ms) cJSON_AddNumberToObject(o, "due_ms", (double)ev->due_ms);
  if (m) cJSON_AddStringToObject(o, "measure", m->id);
  if (m && (m->troubleshoot || m->desc)) cJSON_AddStringToObject(o, "todo", m->troubleshoot ? m->troubleshoot : m->desc);
  if (u) {
    cJSON_AddStringToObject(o, "unit", u->id);
    esc__add_text(o, "unit_name", u->name);
  }
  if (level) cJSON_AddStringToObject(o, "level", dg_level_name(level));
  const char *who[] = {ev->liable, ev->assignee, ev->rectifier};
  for (size_t i = 0; i < 3; i++)
    if (who[i] && dg_config_person(c, who[i])) cJSON_AddItemToArray(people, cJSON_CreateString(who[i]));
  const struct dg_person *lp = ev->liable ? dg_config_person(c, ev->liable) : NULL;
  if (lp) cJSON_AddStringToObject(o, "liable_name", lp->name ? lp->name : lp->id);
  cJSON_AddStringToObject(o, "priority", dg_priority_name(prio));
  cJSON_AddNumberToObject(o, "ts_ms", (double)ev->ts_ms);
  if (ev->deadline_ms) cJSON_AddNumberToObject(o, "deadline_ms", (double)ev->deadline_ms);
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}

/* Stops the escalations of the hazard that it has left behind: any once it is closed, those
 * started in another state when their policy stops on hazard_moved_on, an older one of the
 * same kind (superseded by `kind`; ESC_EV_COUNT: none). */
static void esc__hazard_stops(struct escalate *x, struct esc_change *ch, const struct ledger_event *ev,
                              enum esc_event kind)
{
  struct esc_run **hit = NULL;
  const char **why = NULL;
  size_t n = 0;
  for (size_t i = 0; i < x->n; i++) {
    struct esc_run *r = x->heap[i];
    if (r->hazard_id != ev->hazard_id) continue;
    const struct esc_policy *p = esc__policy(x, r->policy);
    const char *w = ev->closed ? "hazard_closed"
                    : r->hazard_state != ev->state && (!p || (p->stop_mask & ESC_STOP_HAZARD_MOVED)) ? "hazard_moved_on"
                    : r->kind == kind ? "superseded" : NULL;
    if (!w) continue;
    struct esc_run **h = realloc(hit, (n + 1) * sizeof *h);
    const char **y = h ? realloc(why, (n + 1) * sizeof *y) : NULL;
    if (h) hit = h;
    if (y) why = y;
    if (!h || !y) break;
    hit[n] = r;
    why[n++] = w;
  }
  for (size_t i = 0; i < n; i++) esc__stop(x, ch, hit[i], why[i], ev->ts_ms);
  free(hit);
  free(why);
}

static void esc__hazard_start(struct escalate *x, struct esc_change *ch, const struct ledger_event *ev,
                              enum esc_event kind, const struct esc_policy *p, const char *ctx, struct notify_msg **msgs)
{
  struct esc_run *r = calloc(1, sizeof *r);
  if (!r) return;
  *r = (struct esc_run){.id = x->next_id++, .kind = kind, .hazard_id = ev->hazard_id,
                        .hazard_state = ev->state, .created_ms = ev->ts_ms, .policy = strdup(p->id), .ctx = strdup(ctx),
                        .s = {0, ev->ts_ms, ev->ts_ms}};
  if (!r->policy || !r->ctx) {
    esc__run_free(r);
    return;
  }
  if (!ev->hazard_id) { /* nothing can stop it (a missed inspection): its first tier once */
    esc__tell(x, ch, r, p, 0, kind, "notice", ev->ts_ms, msgs);
    esc__snap(ch, r, 1, esc_event_name(kind), ev->ts_ms);
    esc__run_free(r);
    return;
  }
  esc__tell(x, ch, r, p, 0, kind, "start", ev->ts_ms, msgs);
  r->next_ms = esc_sched_next(p, &r->s);
  esc__snap(ch, r, 0, NULL, ev->ts_ms);
  if (esc__push(x, r)) esc__run_free(r);
}

static enum dg_priority esc__priority_of_level(unsigned level)
{
  return level == DG_LEVEL_RED ? DG_PRIO_CRITICAL : level == DG_LEVEL_ORANGE ? DG_PRIO_HIGH
         : level == DG_LEVEL_YELLOW ? DG_PRIO_MEDIUM : DG_PRIO_LOW;
}

/* What a ledger event starts or stops. A major hazard is announced to the major_hazard_opened
 * policy and (the 整改通知 to its rectifier) to the hazard_opened one; it makes its unit red. */
static void esc__hazard_event(struct escalate *x, struct esc_change *ch, const struct ledger_event *ev,
                              struct notify_msg **msgs)
{
  static const enum esc_event kinds[] = {[LEDGER_EV_HAZARD_OPENED] = ESC_EV_HAZARD_OPENED,
                                         [LEDGER_EV_HAZARD_SUBMITTED] = ESC_EV_HAZARD_SUBMITTED,
                                         [LEDGER_EV_HAZARD_OVERDUE] = ESC_EV_HAZARD_OVERDUE,
                                         [LEDGER_EV_HAZARD_MOVED] = ESC_EV_COUNT,
                                         [LEDGER_EV_INSPECTION_MISSED] = ESC_EV_INSPECTION_MISSED};
  enum esc_event kind = kinds[ev->kind];
  const struct dg_measure *m = ev->measure ? dg_config_measure(x->cfg, ev->measure) : NULL;
  const struct dg_unit *u = ev->unit ? dg_config_unit(x->cfg, ev->unit) : m ? m->event->unit : NULL;
  unsigned level = esc__current_level(x, u);
  if (ev->hazard_id && ev->danger_level == 1 && !ev->closed) level = DG_LEVEL_RED;
  enum dg_priority prio = ev->hazard_id ? (ev->danger_level == 1 ? DG_PRIO_CRITICAL : DG_PRIO_HIGH)
                                        : esc__priority_of_level(m ? m->event->level : level);
  if (ev->hazard_id) esc__hazard_stops(x, ch, ev, kind);
  if (kind == ESC_EV_COUNT || ev->closed) return;
  char *ctx = esc__ledger_context(x, ev, u, m, level, prio);
  const struct esc_policy *major = NULL, *p = esc__choose(x, kind, prio, level);
  if (kind == ESC_EV_HAZARD_OPENED && ev->danger_level == 1)
    major = esc__choose(x, ESC_EV_MAJOR_HAZARD_OPENED, prio, level);
  if (ctx && major) esc__hazard_start(x, ch, ev, ESC_EV_MAJOR_HAZARD_OPENED, major, ctx, msgs);
  if (ctx && p && p != major) esc__hazard_start(x, ch, ev, kind, p, ctx, msgs);
  free(ctx);
}

struct esc_change *escalate_on_ledger(struct escalate *x, const struct ledger_event *ev, struct esc_change *ch)
{
  if (!x || !x->cfg->esc) return ch;
  struct esc_change *mine = ch ? NULL : esc__change(x);
  if (!ch && !(ch = mine)) return NULL;
  esc__hazard_event(x, ch, ev, &ch->msgs);
  escalate__arm(x);
  if (mine && !mine->snaps && !mine->steps) {
    escalate_change_free(mine);
    return NULL;
  }
  return ch;
}

/* The 整改通知 of a hazard the transition opened, as the ledger would tell it. */
static void esc__hazard(struct escalate *x, struct esc_change *ch, const struct esc_alarm *ev, const struct dg_unit *u,
                        struct notify_msg **msgs)
{
  const struct dg_measure *m = ev->rule->measure;
  const char *liable = m && m->resp_person ? m->resp_person : u ? u->person : NULL;
  struct ledger_event h = {.kind = LEDGER_EV_HAZARD_OPENED, .ts_ms = ev->ts_ms, .hazard_id = ev->hazard_id,
                           .code = ev->hazard_code, .danger_level = ev->hazard_opened == 2, .state = 0,
                           .deadline_ms = ev->hazard_deadline_ms, .unit = u ? u->id : NULL, .measure = m ? m->id : NULL,
                           .liable = liable, .description = ev->hazard_description};
  esc__hazard_event(x, ch, &h, msgs);
}

struct esc_change *escalate_on_alarm(struct escalate *x, const struct esc_alarm *ev, struct notify_msg **msgs)
{
  if (!x || !x->cfg->esc) return NULL;
  struct esc_change *ch = esc__change(x);
  if (!ch) return NULL;
  const struct dg_unit *u;
  unsigned level = esc__level_of(x, ev->rule, &u);
  /* an active alarm colours its unit at once (risk.h), before the risk watch records it */
  int active = ev->kind == ESC_EV_ALARM_ACTIVATE || ev->kind == ESC_EV_ALARM_ESCALATE;
  if (u && active && (unsigned)ev->priority > level) level = (unsigned)ev->priority;
  struct esc_run *r = esc__find_alarm(x, ev->alarm_id);
  const struct esc_policy *rp = r ? esc__policy(x, r->policy) : NULL;
  if (r && ev->stop && (!rp || (rp->stop_mask & ev->stop))) {
    esc__stop(x, ch, r, rp ? esc__stop_name(ev->stop) : "policy removed", ev->ts_ms);
    r = NULL;
  }
  if (r && rp && ev->kind == ESC_EV_ALARM_ESCALATE) {
    uint32_t tier = esc_sched_jump(rp, &r->s, ev->stage, ev->ts_ms);
    free(r->ctx);
    r->ctx = esc__context(x, ev, u);
    esc__tell(x, ch, r, rp, tier, ESC_EV_ALARM_ESCALATE, "jump", ev->ts_ms, msgs);
    r->next_ms = esc_sched_next(rp, &r->s);
    esc__sift(x, r->hi);
    esc__snap(ch, r, 0, NULL, ev->ts_ms);
  } else if (ev->kind == ESC_EV_ALARM_ACTIVATE || (!r && ev->kind == ESC_EV_ALARM_ESCALATE)) {
    int fault = ev->rule->type == DG_RULE_QUALITY || ev->rule->type == DG_RULE_STALE;
    const struct esc_policy *p = fault ? esc__choose(x, ESC_EV_DRIVER_FAULT, ev->priority, level) : NULL;
    if (!p) p = esc__choose(x, ev->kind, ev->priority, level);
    if (!p && ev->kind == ESC_EV_ALARM_ESCALATE) p = esc__choose(x, ESC_EV_ALARM_ACTIVATE, ev->priority, level);
    if (r) esc__stop(x, ch, r, "superseded", ev->ts_ms);
    if (p) esc__start(x, ch, ev, p, u, msgs);
  } else if (ev->kind == ESC_EV_ALARM_RTN || ev->kind == ESC_EV_ALARM_ACK) {
    const struct esc_policy *p = esc__choose(x, ev->kind, ev->priority, level);
    if (p) esc__notice(x, ch, ev, p, u, msgs);
  }
  if (ev->hazard_opened) esc__hazard(x, ch, ev, u, msgs);
  escalate__arm(x);
  if (!ch->snaps && !ch->steps) {
    escalate_change_free(ch);
    return NULL;
  }
  return ch;
}

/* ---- timed steps --------------------------------------------------------------------------- */

static int esc__step_work(struct store_conn *c, void *arg) { return escalate_write(c, arg); }

/* A ledger change that was not committed: the escalations it started did not begin either (those
 * it stopped stay stopped until the next start reloads them). */
static void esc__forget_started(struct esc_change *ch)
{
  struct escalate *x = ch->x;
  for (const struct esc_snap *s = ch->snaps; s; s = s->next) {
    if (s->state || s->created_ms != s->updated_ms) continue;
    for (size_t i = 0; i < x->n; i++)
      if (x->heap[i]->id == s->id) {
        struct esc_run *r = x->heap[i];
        esc__remove(x, r);
        esc__run_free(r);
        break;
      }
  }
  escalate__arm(x);
}

void escalate_change_done(struct esc_change *ch, int rc)
{
  if (rc && ch) esc__forget_started(ch);
  esc__step_done(ch, rc);
}

static void esc__step_done(void *arg, int rc)
{
  struct esc_change *ch = arg;
  struct escalate *x = ch->x;
  if (rc == 0) {
    notify_send(x->notify, ch->msgs);
    ch->msgs = NULL;
  } else {
    DG_ERR("escalate", "an escalation step was not committed (rc %d); its messages are not sent", rc);
  }
  escalate_change_free(ch);
}

static void esc__fire(struct escalate *x, struct esc_run *r, int64_t now, struct esc_change *ch)
{
  const struct esc_policy *p = esc__policy(x, r->policy);
  if (!p || r->s.tier >= p->n_tiers) {
    esc__stop(x, ch, r, "policy removed", now);
    return;
  }
  int64_t due = r->next_ms;
  int64_t late = now - due;
  if (late > x->stats.late_max_ms) x->stats.late_max_ms = late;
  x->stats.late_sum_ms += (double)(late > 0 ? late : 0);
  x->stats.steps++;
  uint32_t before = r->s.tier;
  uint32_t tier = esc_sched_step(p, &r->s, due);
  esc__tell(x, ch, r, p, tier, r->kind, tier != before ? "next_tier" : "renotify", due, &ch->msgs);
  r->next_ms = esc_sched_next(p, &r->s);
  esc__sift(x, r->hi);
  esc__snap(ch, r, 0, NULL, now);
}

static void esc__on_timer(uv_timer_t *t)
{
  struct escalate *x = t->data;
  int64_t now = dg_wall_ms();
  struct esc_change *ch = esc__change(x);
  if (!ch) return;
  while (x->n && x->heap[0]->next_ms <= now) esc__fire(x, x->heap[0], now, ch);
  if (ch->snaps || ch->steps) {
    if (store_submit_urgent(x->store, esc__step_work, esc__step_done, ch)) esc__step_done(ch, -EIO);
  } else {
    escalate_change_free(ch);
  }
  escalate__arm(x);
}

static void escalate__arm(struct escalate *x)
{
  if (x->closing) return;
  if (!x->n || x->heap[0]->next_ms == INT64_MAX) {
    uv_timer_stop(&x->timer);
    return;
  }
  int64_t wait = x->heap[0]->next_ms - dg_wall_ms();
  uv_timer_start(&x->timer, esc__on_timer, (uint64_t)(wait > 0 ? wait : 0), 0);
}

/* ---- restart ------------------------------------------------------------------------------- */

static const char *const esc__sql_running =
  "SELECT id, alarm_id, policy, tier, tier_start_ms, last_notify_ms, next_ms, steps, context, created_ms, event,"
  " hazard_id, hazard_state FROM escalations WHERE state = 0 ORDER BY id";

int escalate_resume(struct escalate *x)
{
  sqlite3_stmt *st = store_stmt(store_reader(x->store), esc__sql_running);
  if (!st) return -EIO;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct esc_run *r = calloc(1, sizeof *r);
    if (!r) break;
    r->id = sqlite3_column_int64(st, 0);
    r->alarm_id = sqlite3_column_int64(st, 1);
    r->policy = strdup((const char *)sqlite3_column_text(st, 2));
    r->s.tier = (uint32_t)sqlite3_column_int(st, 3);
    r->s.tier_start_ms = sqlite3_column_int64(st, 4);
    r->s.last_notify_ms = sqlite3_column_int64(st, 5);
    r->next_ms = sqlite3_column_type(st, 6) == SQLITE_NULL ? INT64_MAX : sqlite3_column_int64(st, 6);
    r->steps = (uint32_t)sqlite3_column_int(st, 7);
    r->ctx = strdup((const char *)sqlite3_column_text(st, 8));
    r->created_ms = sqlite3_column_int64(st, 9);
    r->kind = esc_event_parse((const char *)sqlite3_column_text(st, 10));
    if (r->kind == ESC_EV_COUNT) r->kind = ESC_EV_ALARM_ACTIVATE;
    r->hazard_id = sqlite3_column_int64(st, 11);
    r->hazard_state = sqlite3_column_int(st, 12);
    if (!r->policy || !r->ctx || esc__push(x, r)) esc__run_free(r);
  }
  sqlite3_reset(st);
  if (x->n) DG_INFO("escalate", "resuming %zu running escalation(s)", x->n);
  escalate__arm(x);
  if (rc == SQLITE_DONE && esc__load_digests(x, dg_wall_ms())) rc = SQLITE_ERROR;
  return rc == SQLITE_DONE ? 0 : -EIO;
}

/* ---- acknowledgement links ----------------------------------------------------------------- */

static const char *const esc__sql_link_get =
  "SELECT alarm_id, person, expires_ms, used_ms FROM ack_links WHERE token_sha256 = ?1";

int escalate_link_lookup(struct escalate *x, const char *token, int64_t *alarm_id, char *person, size_t len)
{
  char hex[2 * SHA256_DIGEST_LENGTH + 1];
  acklink_hash(token, hex);
  sqlite3_stmt *st = store_stmt(store_reader(x->store), esc__sql_link_get);
  if (!st) return -EIO;
  sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
  int rc = -ENOENT;
  for (const struct esc__used *u = x->spending; u; u = u->next)
    if (!strcmp(u->hash, hex)) rc = -ESTALE;
  if (rc == -ENOENT && sqlite3_step(st) == SQLITE_ROW) {
    *alarm_id = sqlite3_column_int64(st, 0);
    snprintf(person, len, "%s", (const char *)sqlite3_column_text(st, 1));
    rc = sqlite3_column_int64(st, 2) <= dg_wall_ms() || sqlite3_column_type(st, 3) != SQLITE_NULL ? -ESTALE : 0;
  }
  sqlite3_reset(st);
  return rc;
}

static const char *const esc__sql_link_use = "UPDATE ack_links SET used_ms = ?2 WHERE token_sha256 = ?1 AND used_ms IS NULL";

static int esc__used_work(struct store_conn *c, void *arg)
{
  struct esc__used *u = arg;
  sqlite3_stmt *st = store_stmt(c, esc__sql_link_use);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_text(st, 1, u->hash, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, u->when);
  return store_step_done(st);
}

static void esc__used_done(void *arg, int rc)
{
  struct esc__used *u = arg, **pp = &u->x->spending;
  if (rc) DG_ERR("escalate", "could not mark an acknowledgement link used (rc %d)", rc);
  while (*pp && *pp != u) pp = &(*pp)->next;
  if (*pp) *pp = u->next;
  free(u);
}

void escalate_link_used(struct escalate *x, const char *token)
{
  struct esc__used *u = calloc(1, sizeof *u);
  if (!u) return;
  acklink_hash(token, u->hash);
  u->x = x;
  u->when = dg_wall_ms();
  u->next = x->spending;
  x->spending = u;
  if (store_submit_urgent(x->store, esc__used_work, esc__used_done, u)) esc__used_done(u, -EIO);
}

/* ---- API views ----------------------------------------------------------------------------- */

static const char *const esc__sql_steps =
  "SELECT s.escalation_id, s.ts_ms, s.tier, s.action, s.detail FROM escalation_steps s"
  " WHERE s.alarm_id = ?1 ORDER BY s.id";

static void esc__add_steps(struct escalate *x, cJSON *root, int64_t alarm_id)
{
  sqlite3_stmt *st = store_stmt(store_reader(x->store), esc__sql_steps);
  cJSON *arr = cJSON_AddArrayToObject(root, "journal");
  if (!st) return;
  sqlite3_bind_int64(st, 1, alarm_id);
  while (sqlite3_step(st) == SQLITE_ROW) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "escalation", (double)sqlite3_column_int64(st, 0));
    cJSON_AddNumberToObject(o, "ts_ms", (double)sqlite3_column_int64(st, 1));
    if (sqlite3_column_type(st, 2) != SQLITE_NULL) cJSON_AddNumberToObject(o, "tier", sqlite3_column_int(st, 2));
    cJSON_AddStringToObject(o, "action", (const char *)sqlite3_column_text(st, 3));
    cJSON *d = sqlite3_column_type(st, 4) == SQLITE_NULL ? NULL : cJSON_Parse((const char *)sqlite3_column_text(st, 4));
    if (d) cJSON_AddItemToObject(o, "detail", d);
    cJSON_AddItemToArray(arr, o);
  }
  sqlite3_reset(st);
}

char *escalate_list_json(struct escalate *x, int64_t alarm_id)
{
  cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "escalations");
  for (size_t i = 0; i < x->n; i++) {
    const struct esc_run *r = x->heap[i];
    if (alarm_id > 0 && r->alarm_id != alarm_id) continue;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)r->id);
    if (r->alarm_id) cJSON_AddNumberToObject(o, "alarm_id", (double)r->alarm_id);
    else cJSON_AddNullToObject(o, "alarm_id");
    if (r->hazard_id) cJSON_AddNumberToObject(o, "hazard_id", (double)r->hazard_id);
    else cJSON_AddNullToObject(o, "hazard_id");
    cJSON_AddStringToObject(o, "event", esc_event_name(r->kind));
    cJSON_AddStringToObject(o, "policy", r->policy);
    cJSON_AddNumberToObject(o, "tier", r->s.tier + 1);
    cJSON_AddNumberToObject(o, "tier_started_ms", (double)r->s.tier_start_ms);
    cJSON_AddNumberToObject(o, "steps", r->steps);
    if (r->next_ms == INT64_MAX) cJSON_AddNullToObject(o, "next_step_ms");
    else cJSON_AddNumberToObject(o, "next_step_ms", (double)r->next_ms);
    cJSON_AddItemToArray(arr, o);
  }
  if (alarm_id > 0) esc__add_steps(x, root, alarm_id);
  char *s = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  return s;
}

char *escalate_oncall_json(struct escalate *x, int64_t at_ms)
{
  const struct esc_config *e = x->cfg->esc;
  cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "rotas");
  cJSON_AddNumberToObject(root, "at_ms", (double)at_ms);
  for (size_t i = 0; e && i < e->n_rotas; i++) {
    const struct esc_rota *r = &e->rotas[i];
    int64_t from, to;
    const struct dg_person *sched = esc_rota_scheduled(r, at_ms, &from, &to), *who = esc_rota_on_call(r, at_ms);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "rota", r->id);
    cJSON_AddStringToObject(o, "person", who->id);
    if (who->name) cJSON_AddStringToObject(o, "name", who->name);
    cJSON_AddBoolToObject(o, "override", who != sched);
    cJSON_AddStringToObject(o, "scheduled", sched->id);
    cJSON_AddNumberToObject(o, "shift_from_ms", (double)from);
    cJSON_AddNumberToObject(o, "shift_to_ms", (double)to);
    cJSON_AddItemToArray(arr, o);
  }
  char *s = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  return s;
}

void escalate_stats(const struct escalate *x, struct escalate_stats *out)
{
  *out = x->stats;
  out->running = x->n;
}

static void esc__on_close(uv_handle_t *h)
{
  struct escalate *x = h->data;
  while (x->digests) {
    struct esc_digest *d = x->digests;
    x->digests = d->next;
    notify_msg_free_list(d->msg);
    cJSON_Delete(d->lines);
    free(d);
  }
  for (size_t i = 0; i < x->n; i++) esc__run_free(x->heap[i]);
  free(x->heap);
  free(x);
}

void escalate_close(struct escalate *x)
{
  if (!x) return;
  x->closing = 1;
  uv_close((uv_handle_t *)&x->dtimer, NULL);
  uv_close((uv_handle_t *)&x->timer, esc__on_close);
}
