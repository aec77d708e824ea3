/* Flood digests: when a person gets too many messages on one channel within a window, the rest
 * join one digest row sent when the window ends (esc_internal.h). */
#include "escalate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esc_internal.h"
#include "log.h"

/* The digest of one person on one channel while messages flood in. */
struct esc_digest {
  char key[160];            /* "<person>|<channel>" */
  struct esc_flood flood;
  struct notify_msg *msg;   /* the window's digest row, committed and waiting (NULL: none yet) */
  cJSON *lines;             /* the titles it holds */
  struct esc_digest *next;
};

static void esc__on_dtimer(uv_timer_t *t);

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
int esc__load_digests(struct escalate *x, int64_t now)
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
int esc__digest(struct escalate *x, struct esc_change *ch, const struct dg_person *p,
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

void esc__digests_free(struct escalate *x)
{
  while (x->digests) {
    struct esc_digest *d = x->digests;
    x->digests = d->next;
    notify_msg_free_list(d->msg);
    cJSON_Delete(d->lines);
    free(d);
  }
}
