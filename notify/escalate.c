#include "escalate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emergency.h"
#include "esc_internal.h"
#include "log.h"

static void esc__step_done(void *arg, int rc);

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

int esc__push(struct escalate *x, struct esc_run *r)
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

void esc__remove(struct escalate *x, struct esc_run *r)
{
  size_t i = r->hi;
  esc__swap(x, i, x->n - 1);
  x->n--;
  if (i < x->n) esc__sift(x, i);
}

void esc__run_free(struct esc_run *r)
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

const struct esc_policy *esc__policy(const struct escalate *x, const char *id)
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

struct esc_change *esc__change(struct escalate *x)
{
  struct esc_change *ch = calloc(1, sizeof *ch);
  if (ch) ch->x = x;
  return ch;
}

void esc__snap(struct esc_change *ch, const struct esc_run *r, int state, const char *why, int64_t now)
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

void esc__journal(struct esc_change *ch, const struct esc_run *r, int tier, const char *action, cJSON *detail,
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

/* ---- alarm transitions --------------------------------------------------------------------- */

/* The unit's current (dynamic) colour: the last one the risk watch recorded, else its assessed one. */
unsigned esc__current_level(const struct escalate *x, const struct dg_unit *u)
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

const struct esc_policy *esc__choose(const struct escalate *x, enum esc_event kind, enum dg_priority prio,
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

void esc__stop(struct escalate *x, struct esc_change *ch, struct esc_run *r, const char *why, int64_t now)
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
  esc__arm(x);
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
  esc__arm(x);
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
  esc__arm(x);
}

void esc__arm(struct escalate *x)
{
  if (x->closing) return;
  if (!x->n || x->heap[0]->next_ms == INT64_MAX) {
    uv_timer_stop(&x->timer);
    return;
  }
  int64_t wait = x->heap[0]->next_ms - dg_wall_ms();
  uv_timer_start(&x->timer, esc__on_timer, (uint64_t)(wait > 0 ? wait : 0), 0);
}

void escalate_stats(const struct escalate *x, struct escalate_stats *out)
{
  *out = x->stats;
  out->running = x->n;
}

static void esc__on_close(uv_handle_t *h)
{
  struct escalate *x = h->data;
  esc__digests_free(x);
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
