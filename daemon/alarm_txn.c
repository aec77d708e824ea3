#include "alarm_txn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "escalate.h"
#include "log.h"
#include "message.h"

struct alarm_txn {
  struct alarm_txn_ctx *x;
  int64_t alarm_id;
  const char *rule_id, *point_id; /* borrowed from the config */
  const char *state, *stage, *priority;
  int active;
  double value;
  int64_t first_ms, last_ms, cleared_ms, ack_ms, updated_ms;
  char *ack_user, *ack_comment;
  uint32_t activations;
  int64_t journal_id;
  struct alarm_transition tr;
  const char *tr_stage;
  char *actor, *comment;
  struct hazard_change hc;
  struct notify_msg *msgs;
  struct esc_change *esc;
  int64_t shelved_until_ms;
  char *shelve_reason;
  int latched, out_of_service;
  struct alarm_txn *next;    /* in x->retry_head */
};

static const char *const alarm_txn__sql_alarm =
  "UPDATE alarms SET state = ?2, active = ?3, stage = ?4, priority = ?5, value = ?6, first_active_ms = ?7,"
  " last_active_ms = ?8, cleared_ms = ?9, ack_user = ?10, ack_comment = ?11, ack_ms = ?12, activations = ?13,"
  " updated_ms = ?14, shelved_until_ms = ?15, shelve_reason = ?16, latched = ?17, out_of_service = ?18"
  /* a transition committed late (after a failed commit) never overwrites a newer one's state */
  " WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM alarm_journal WHERE alarm_id = ?1 AND id > ?19)";
static const char *const alarm_txn__sql_journal =
  "INSERT INTO alarm_journal (id, alarm_id, ts_ms, event, from_state, to_state, stage, priority, value, actor,"
  " comment) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

static int alarm_txn__write_alarm(struct store_conn *c, const struct alarm_txn *t)
{
  sqlite3_stmt *st = store_stmt(c, alarm_txn__sql_alarm);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, t->alarm_id);
  store_bind_text(st, 2, t->state);
  sqlite3_bind_int(st, 3, t->active);
  store_bind_text(st, 4, t->stage);
  store_bind_text(st, 5, t->priority);
  sqlite3_bind_double(st, 6, t->value);
  store_bind_ms(st, 7, t->first_ms);
  store_bind_ms(st, 8, t->last_ms);
  store_bind_ms(st, 9, t->cleared_ms);
  store_bind_text(st, 10, t->ack_user);
  store_bind_text(st, 11, t->ack_comment);
  store_bind_ms(st, 12, t->ack_ms);
  sqlite3_bind_int(st, 13, (int)t->activations);
  sqlite3_bind_int64(st, 14, t->updated_ms);
  store_bind_ms(st, 15, t->shelved_until_ms);
  store_bind_text(st, 16, t->shelve_reason);
  sqlite3_bind_int(st, 17, t->latched);
  sqlite3_bind_int(st, 18, t->out_of_service);
  sqlite3_bind_int64(st, 19, t->journal_id);
  return store_step_done(st);
}

static int alarm_txn__write_journal(struct store_conn *c, const struct alarm_txn *t)
{
  sqlite3_stmt *st = store_stmt(c, alarm_txn__sql_journal);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, t->journal_id);
  sqlite3_bind_int64(st, 2, t->alarm_id);
  sqlite3_bind_int64(st, 3, t->tr.ts_ms);
  store_bind_text(st, 4, alarm_event_name(t->tr.event));
  store_bind_text(st, 5, alarm_state_name(t->tr.from));
  store_bind_text(st, 6, alarm_state_name(t->tr.to));
  store_bind_text(st, 7, t->tr_stage);
  store_bind_text(st, 8, t->tr.priority ? dg_priority_name(t->tr.priority) : NULL);
  sqlite3_bind_double(st, 9, t->tr.value);
  store_bind_text(st, 10, t->actor);
  store_bind_text(st, 11, t->comment);
  return store_step_done(st);
}

static int alarm_txn__work(struct store_conn *c, void *arg)
{
  struct alarm_txn *t = arg;
  int rc = alarm_txn__write_alarm(c, t);
  if (rc == SQLITE_OK) rc = alarm_txn__write_journal(c, t);
  if (rc == SQLITE_OK && t->hc.kind != HAZARD_NONE) rc = hazard_write(c, &t->hc);
  if (rc == SQLITE_OK) rc = notify_msg_write(c, t->msgs);
  if (rc == SQLITE_OK) rc = escalate_write(c, t->esc);
  return rc;
}

static void alarm_txn__free(struct alarm_txn *t)
{
  free(t->ack_user);
  free(t->ack_comment);
  free(t->actor);
  free(t->comment);
  free(t->shelve_reason);
  hazard_change_release(&t->hc);
  notify_msg_free_list(t->msgs);
  escalate_change_free(t->esc);
  free(t);
}

static void alarm_txn__done(void *arg, int rc);

/* The committed transition (and the hazard it opened or appended to) on the live stream. */
static void alarm_txn__publish(const struct alarm_txn *t)
{
  struct events *ev = t->x->events;
  if (!ev) return;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", (double)t->alarm_id);
  cJSON_AddNumberToObject(o, "journal_id", (double)t->journal_id);
  cJSON_AddStringToObject(o, "rule", t->rule_id);
  cJSON_AddStringToObject(o, "point", t->point_id);
  cJSON_AddStringToObject(o, "event", alarm_event_name(t->tr.event));
  cJSON_AddStringToObject(o, "from", alarm_state_name(t->tr.from));
  cJSON_AddStringToObject(o, "state", t->state);
  cJSON_AddBoolToObject(o, "active", t->active);
  if (t->priority) cJSON_AddStringToObject(o, "priority", t->priority);
  else cJSON_AddNullToObject(o, "priority");
  if (t->tr_stage) cJSON_AddStringToObject(o, "stage", t->tr_stage);
  else cJSON_AddNullToObject(o, "stage");
  cJSON_AddNumberToObject(o, "value", t->tr.value);
  cJSON_AddNumberToObject(o, "ts_ms", (double)t->tr.ts_ms);
  if (t->actor) cJSON_AddStringToObject(o, "actor", t->actor);
  events_publish(ev, "alarm", o);
  if (t->hc.kind == HAZARD_NONE) return;
  o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", (double)t->hc.hazard_id);
  cJSON_AddStringToObject(o, "code", t->hc.code);
  cJSON_AddStringToObject(o, "action", t->hc.kind == HAZARD_OPEN ? "open" : "occurrence");
  cJSON_AddNumberToObject(o, "danger_level", t->hc.danger_level);
  cJSON_AddNumberToObject(o, "alarm_id", (double)t->alarm_id);
  events_publish(ev, "hazard", o);
}

/* Into the retry queue, in journal order; never ahead of a head that is with the store. */
static void alarm_txn__retry_push(struct alarm_txn_ctx *x, struct alarm_txn *t)
{
  struct alarm_txn **at = x->retry_busy ? &x->retry_head->next : &x->retry_head;
  while (*at && (*at)->journal_id < t->journal_id) at = &(*at)->next;
  t->next = *at;
  *at = t;
}

static void alarm_txn__submit(struct alarm_txn_ctx *x, struct alarm_txn *t)
{
  if (x->retry_head) {
    alarm_txn__retry_push(x, t);
    return;
  }
  int rc = store_submit_urgent(x->store, alarm_txn__work, alarm_txn__done, t);
  if (rc) alarm_txn__done(t, rc);
}

/* The oldest waiting transition goes again; it leaves the queue once it has committed, so newer
 * ones keep queueing behind it meanwhile. */
static void alarm_txn__retry_cb(uv_timer_t *timer)
{
  struct alarm_txn_ctx *x = timer->data;
  struct alarm_txn *t = x->retry_head;
  if (!t || x->retry_busy) return;
  x->retry_busy = true;
  int rc = store_submit_urgent(x->store, alarm_txn__work, alarm_txn__done, t);
  if (rc) alarm_txn__done(t, rc);
}

/* A transition committed or lost: the samples flow again once few are left. */
static void alarm_txn__settled(struct alarm_txn_ctx *x)
{
  x->in_flight--;
  if (x->hold && x->hold->held && x->in_flight <= ALARM_TXN_LOW_WATER) sampleq_hold(x->hold, 0);
}

static void alarm_txn__done(void *arg, int rc)
{
  struct alarm_txn *t = arg;
  struct alarm_txn_ctx *x = t->x;
  bool closing = uv_is_closing((uv_handle_t *)&x->retry_timer);
  bool queued = t == x->retry_head;
  if (queued) x->retry_busy = false;
  if (rc == 0 || rc == -ESHUTDOWN || closing) {
    if (queued) x->retry_head = t->next;
    if (rc == 0) {
      alarm_txn__publish(t);
      notify_send(x->notify, t->msgs);
      t->msgs = NULL;
    } else {
      DG_ERR("engine", "alarm %lld transition lost: not committed (rc %d)", (long long)t->alarm_id, rc);
    }
    alarm_txn__free(t);
    alarm_txn__settled(x);
    if (x->retry_head && !closing) uv_timer_start(&x->retry_timer, alarm_txn__retry_cb, 0, 0);
    return;
  }
  /* Not durable yet, so it may not be announced: keep trying. The store counts the failure and
   * /healthz reports it. */
  (*x->commits_failed)++;
  DG_LOG_RL(DG_LOG_ERR, "engine", "alarm %lld transition not committed (rc %d); retrying", (long long)t->alarm_id, rc);
  if (!queued) alarm_txn__retry_push(x, t);
  uv_timer_start(&x->retry_timer, alarm_txn__retry_cb, ALARM_TXN_RETRY_MS, 0);
}

/* What the transition means to escalation: a start (an activation, or an alarm back in
 * annunciation with its condition active), a jump to a worse stage, a stop, a notice. */
static void alarm_txn__escalate(const struct alarm_txn_ctx *x, struct alarm_txn *t, const struct alarm *a)
{
  static const struct { enum alarm_event ev; enum esc_event kind; unsigned stop; } map[] = {
    {ALARM_EV_ACTIVATE, ESC_EV_ALARM_ACTIVATE, 0}, {ALARM_EV_ESCALATE, ESC_EV_ALARM_ESCALATE, 0},
    {ALARM_EV_CLEAR, ESC_EV_ALARM_RTN, ESC_STOP_RTN}, {ALARM_EV_ACK, ESC_EV_ALARM_ACK, ESC_STOP_ACKED},
    {ALARM_EV_SHELVE, ESC_EV_COUNT, ESC_STOP_SHELVED}, {ALARM_EV_OUT_OF_SERVICE, ESC_EV_COUNT, ESC_STOP_OUT_OF_SERVICE},
    {ALARM_EV_SUPPRESS, ESC_EV_COUNT, ESC_STOP_SHELVED}};
  enum alarm_event ev = t->tr.event;
  int resumed = (ev == ALARM_EV_UNSHELVE || ev == ALARM_EV_RETURN_TO_SERVICE || ev == ALARM_EV_UNSUPPRESS) &&
                t->tr.to == ALARM_UNACK;
  struct esc_alarm e = {.kind = resumed ? ESC_EV_ALARM_ACTIVATE : ESC_EV_COUNT, .alarm_id = a->id, .rule = a->rule,
                        .stage = t->tr_stage, .priority = t->tr.priority, .value = t->tr.value, .ts_ms = t->tr.ts_ms,
                        .has_limit = t->tr.stage >= 0, .hazard_code = t->hc.kind != HAZARD_NONE ? t->hc.code : NULL};
  if (e.has_limit) e.limit = a->rule->stages[t->tr.stage].limit;
  if (t->hc.kind == HAZARD_OPEN) {
    e.hazard_opened = t->hc.danger_level == 1 ? 2 : 1;
    e.hazard_deadline_ms = t->hc.deadline_ms;
    e.hazard_id = t->hc.hazard_id;
    e.hazard_description = t->hc.description;
  }
  for (size_t i = 0; !resumed && i < sizeof map / sizeof map[0]; i++)
    if (map[i].ev == ev) e.kind = map[i].kind, e.stop = map[i].stop;
  if (e.kind != ESC_EV_COUNT || e.stop) t->esc = escalate_on_alarm(x->escalate, &e, &t->msgs);
}

void alarm_txn_start(struct alarm_txn_ctx *x)
{
  uv_timer_init(x->loop, &x->retry_timer);
  x->retry_timer.data = x;
}

void alarm_txn_close(struct alarm_txn_ctx *x) { uv_close((uv_handle_t *)&x->retry_timer, NULL); }

void alarm_txn_free(struct alarm_txn_ctx *x)
{
  while (x->retry_head) {
    struct alarm_txn *t = x->retry_head;
    x->retry_head = t->next;
    DG_ERR("engine", "alarm %lld transition lost at shutdown: not committed", (long long)t->alarm_id);
    alarm_txn__free(t);
  }
}

bool alarm_txn_waiting(const struct alarm_txn_ctx *x) { return x->retry_head != NULL; }

static char *alarm_txn__strdup0(const char *s) { return s ? strdup(s) : NULL; }

void alarm_txn_commit(struct alarm_txn_ctx *x, const struct dg_config *cfg, struct alarm *a,
                      const struct alarm_transition *tr, const char *actor, const char *comment)
{
  struct alarm_txn *t = calloc(1, sizeof *t);
  if (!t) {
    DG_ERR("engine", "out of memory committing alarm %lld", (long long)a->id);
    return;
  }
  const struct dg_rule *r = a->rule;
  t->x = x;
  t->alarm_id = a->id;
  t->rule_id = r->id;
  t->point_id = r->point->id;
  t->state = alarm_state_name(a->state);
  t->active = alarm_is_active(a);
  t->stage = a->stage >= 0 ? r->stages[a->stage].name : NULL;
  t->priority = a->priority ? dg_priority_name(a->priority) : NULL;
  t->value = a->value;
  t->first_ms = a->first_active_ms;
  t->last_ms = a->last_active_ms;
  t->cleared_ms = a->cleared_ms;
  t->ack_ms = a->ack_ms;
  t->ack_user = alarm_txn__strdup0(a->ack_user);
  t->ack_comment = alarm_txn__strdup0(a->ack_comment);
  t->activations = a->activations;
  t->updated_ms = tr->ts_ms;
  t->journal_id = (*x->next_journal_id)++;
  t->tr = *tr;
  t->tr_stage = tr->stage >= 0 ? r->stages[tr->stage].name : NULL;
  t->actor = alarm_txn__strdup0(actor);
  t->comment = alarm_txn__strdup0(comment);
  t->shelved_until_ms = a->shelved_until_ms;
  t->shelve_reason = alarm_txn__strdup0(a->shelve_reason);
  t->latched = a->state == ALARM_LATCHED;
  t->out_of_service = a->state == ALARM_OUT_OF_SERVICE;
  if (tr->event == ALARM_EV_ACTIVATE)
    hazard_on_activation(x->ledger, r, tr->stage, tr->value, a->id, tr->ts_ms, &t->hc);
  message_alarm_build(x->notify, cfg, a, &t->tr, &t->hc, t->journal_id, &t->msgs);
  if (x->escalate) alarm_txn__escalate(x, t, a);
  (*x->transitions)++;
  if (++x->in_flight >= ALARM_TXN_HIGH_WATER && x->hold && !x->hold->held) {
    DG_LOG_RL(DG_LOG_WARN, "engine", "%zu alarm transitions wait for the store: samples held", x->in_flight);
    sampleq_hold(x->hold, 1);
  }
  DG_INFO("alarm", "%s %s: %s → %s (stage %s, value %g)", r->id, alarm_event_name(tr->event),
          alarm_state_name(tr->from), alarm_state_name(tr->to), t->tr_stage ? t->tr_stage : "-", tr->value);
  alarm_txn__submit(x, t);
}
