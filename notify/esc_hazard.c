/* Escalations of hazards and inspections: what a ledger event (ledger_events.h) starts and stops
 * (esc_internal.h). */
#include "escalate.h"

#include <stdlib.h>
#include <string.h>

#include "esc_internal.h"

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
  esc__arm(x);
  if (mine && !mine->snaps && !mine->steps) {
    escalate_change_free(mine);
    return NULL;
  }
  return ch;
}

/* The 整改通知 of a hazard the transition opened, as the ledger would tell it. */
void esc__hazard(struct escalate *x, struct esc_change *ch, const struct esc_alarm *ev, const struct dg_unit *u,
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
