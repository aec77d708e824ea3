/* The escalation engine's rows: writing a change in its transaction, resuming running escalations
 * after a restart, spending acknowledgement links, the API views (esc_internal.h). */
#include "escalate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esc_internal.h"
#include "log.h"

/* An acknowledgement link being spent. */
struct esc__used {
  struct escalate *x;
  char hash[2 * SHA256_DIGEST_LENGTH + 1];
  int64_t when;
  struct esc__used *next;
};

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
  esc__arm(x);
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
