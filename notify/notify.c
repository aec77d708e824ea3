#include "notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "idset.h"
#include "log.h"
#include "mqttpub.h"

#define NOTIFY_MAX_IN_FLIGHT 16
#define NOTIFY_BACKOFF_MAX_MS (5 * 60 * 1000)
#define NOTIFY_SEND_LOG_MS 3600000 /* the longest limit window */
#define NOTIFY_DEFAULT_IN_MEMORY 4096

struct notify {
  uv_loop_t *loop;
  const struct dg_config *cfg;
  struct store *store;
  struct httpc *httpc;
  struct mqttpub *mqtt;      /* mqtt channels' clients */
  notify_render_fn render;   /* the body as sent (NULL: as stored) */
  void *render_arg;
  uv_timer_t timer;
  struct notify_msg *queue;  /* waiting for their next attempt */
  size_t n_queued, in_flight;
  int64_t next_id;
  int closing;
  struct notify_stats stats;
  /* Outcomes whose commit failed (disk full): written again every NOTIFY_OUTCOME_RETRY_MS, so a
   * confirmed delivery is not sent a second time after a restart. */
  struct notify__outcome *unrecorded;
  uv_timer_t outcome_timer;
  int open_handles;
  struct notify__bucket *buckets; /* provider rate limits: per channel, per called number */
  /* Bounded memory: at most max_queued messages are in memory (queued or in flight). Beyond
   * that a committed message is dropped from memory (spilled: its row stays pending) and read
   * back from the outbox once the queue has drained to half, oldest first. `held` has the id of every message the sender
   * owns (queued, in flight, or its final outcome not yet committed), so a row read back is
   * never the second copy of one already here. */
  size_t max_queued;
  struct idset held;
  bool spilled;
  int64_t spill_min; /* while spilled: no pending row below this id is missing from memory */
};

/* Sends counted in fixed one-minute and one-hour windows. */
struct notify__bucket {
  char key[160];
  int64_t min_start, hour_start;
  uint32_t min_count, hour_count;
  struct notify__bucket *next;
};

/* One attempt's outcome on its way to the database. */
struct notify__outcome {
  struct notify *n;
  int64_t id;
  int state;                 /* 0 pending, 1 delivered, 2 expired */
  uint32_t attempts;
  int64_t next_attempt_ms, when_ms;
  char error[128];
  struct notify__outcome *next;
};

#define NOTIFY_OUTCOME_RETRY_MS 1000

static void notify__schedule(struct notify *n);
static void notify__on_outcome_timer(uv_timer_t *t);
static void notify__pump(struct notify *n);
static void notify__expire(struct notify *n, struct notify_msg *m, const char *why);
static int notify__load_sends(struct notify *n, int64_t now);

static const char *const notify__sql_max = "SELECT COALESCE(MAX(id), 0) + 1 FROM outbox";
static const char *const notify__sql_pending =
  "SELECT id, channel, ref, body, attempts, created_ms, next_attempt_ms, expires_ms FROM outbox"
  " WHERE state = 0 AND id >= ?1 ORDER BY id LIMIT ?2";
static const char *const notify__sql_insert =
  "INSERT INTO outbox (id, created_ms, channel, ref, body, state, attempts, next_attempt_ms, expires_ms, recipient)"
  " VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, ?7, ?6, ?8)";
static const char *const notify__sql_outcome =
  "UPDATE outbox SET state = ?2, attempts = ?3, next_attempt_ms = ?4, last_error = ?5,"
  " delivered_ms = CASE WHEN ?2 = 1 THEN ?6 ELSE delivered_ms END"
  /* an outcome written again after a failed commit never undoes a later one */
  " WHERE id = ?1 AND state = 0 AND attempts <= ?3";

static void notify__on_timer(uv_timer_t *t) { notify__pump(t->data); }

int notify_init(struct notify **out, uv_loop_t *loop, const struct dg_config *cfg, struct store *store,
                struct httpc *httpc)
{
  struct notify *n = calloc(1, sizeof *n);
  if (!n) return -ENOMEM;
  n->loop = loop;
  n->cfg = cfg;
  n->store = store;
  n->httpc = httpc;
  n->max_queued = cfg && cfg->outbox_in_memory ? cfg->outbox_in_memory : NOTIFY_DEFAULT_IN_MEMORY;
  sqlite3_stmt *st = store_stmt(store_reader(store), notify__sql_max);
  if (!st || sqlite3_step(st) != SQLITE_ROW) {
    if (st) sqlite3_reset(st);
    free(n);
    return -EIO;
  }
  n->next_id = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  if (mqttpub_init(&n->mqtt, loop)) {
    free(n);
    return -ENOMEM;
  }
  uv_timer_init(loop, &n->timer);
  n->timer.data = n;
  uv_timer_init(loop, &n->outcome_timer);
  n->outcome_timer.data = n;
  n->open_handles = 3;
  *out = n;
  return 0;
}

void notify_set_config(struct notify *n, const struct dg_config *cfg)
{
  n->cfg = cfg;
  n->max_queued = cfg && cfg->outbox_in_memory ? cfg->outbox_in_memory : NOTIFY_DEFAULT_IN_MEMORY;
}

void notify_set_render(struct notify *n, notify_render_fn fn, void *arg)
{
  n->render = fn;
  n->render_arg = arg;
}

static char *notify__dup(const unsigned char *s) { return strdup(s ? (const char *)s : ""); }
static void notify__msg_free(struct notify_msg *m);

static struct notify_msg *notify__row(sqlite3_stmt *st)
{
  struct notify_msg *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->id = sqlite3_column_int64(st, 0);
  m->channel = notify__dup(sqlite3_column_text(st, 1));
  m->ref = notify__dup(sqlite3_column_text(st, 2));
  m->body = notify__dup(sqlite3_column_text(st, 3));
  m->attempts = (uint32_t)sqlite3_column_int(st, 4);
  m->created_ms = sqlite3_column_int64(st, 5);
  m->next_attempt_ms = sqlite3_column_int64(st, 6);
  m->expires_ms = sqlite3_column_int64(st, 7);
  return m;
}

static void notify__queue(struct notify *n, struct notify_msg *m)
{
  m->next = n->queue;
  n->queue = m;
  n->n_queued++;
}

/* Reads spilled rows back, oldest first, up to the queue's bound. Returns how many came back. */
static size_t notify__refill(struct notify *n)
{
  size_t held = n->n_queued + n->in_flight;
  size_t room = n->max_queued > held ? n->max_queued - held : 0;
  sqlite3_stmt *st = store_stmt(store_reader(n->store), notify__sql_pending);
  if (!st || !room) return 0;
  sqlite3_bind_int64(st, 1, n->spill_min);
  sqlite3_bind_int64(st, 2, (int64_t)room);
  size_t rows = 0, taken = 0;
  int64_t last = n->spill_min - 1;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    rows++;
    last = sqlite3_column_int64(st, 0);
    if (idset_has(&n->held, last)) continue;
    struct notify_msg *m = notify__row(st);
    if (!m || idset_add(&n->held, m->id)) {
      if (m) notify__msg_free(m);
      rc = SQLITE_NOMEM;
      break;
    }
    notify__queue(n, m);
    taken++;
  }
  sqlite3_reset(st);
  if (rc == SQLITE_ROW || rc == SQLITE_NOMEM || (rc == SQLITE_DONE && rows == room)) {
    n->spill_min = last + 1; /* more may wait: read on from there at the next drain */
  } else if (rc == SQLITE_DONE) {
    n->spilled = false;
  } else {
    DG_LOG_RL(DG_LOG_ERR, "notify", "cannot read pending outbox rows back: %s", sqlite3_errstr(rc));
  }
  n->stats.read_back += taken;
  return taken;
}

int notify_resume(struct notify *n)
{
  n->spilled = true;
  n->spill_min = 1;
  size_t count = notify__refill(n);
  if (count) DG_INFO("notify", "resuming %zu undelivered notification(s) from the outbox%s", count,
                     n->spilled ? " (more are read as these go out)" : "");
  int rc = notify__load_sends(n, dg_wall_ms());
  notify__pump(n);
  return rc;
}

struct notify_msg *notify_msg_new(struct notify *n, const struct dg_channel *ch, const char *ref, char *body,
                                  int64_t now_ms)
{
  struct notify_msg *m = calloc(1, sizeof *m);
  if (!m) {
    free(body);
    return NULL;
  }
  m->id = n->next_id++;
  m->channel = strdup(ch->id);
  m->ref = strdup(ref);
  m->body = body;
  m->created_ms = m->next_attempt_ms = now_ms;
  m->expires_ms = now_ms + (int64_t)ch->expire_s * 1000;
  return m;
}

static void notify__msg_free(struct notify_msg *m)
{
  free(m->channel);
  free(m->ref);
  free(m->body);
  free(m->recipient);
  free(m);
}

void notify_msg_free_list(struct notify_msg *m)
{
  while (m) {
    struct notify_msg *next = m->next;
    notify__msg_free(m);
    m = next;
  }
}

int notify_msg_write(struct store_conn *c, const struct notify_msg *m)
{
  for (; m; m = m->next) {
    sqlite3_stmt *st = store_stmt(c, notify__sql_insert);
    if (!st) return SQLITE_ERROR;
    sqlite3_bind_int64(st, 1, m->id);
    sqlite3_bind_int64(st, 2, m->created_ms);
    sqlite3_bind_text(st, 3, m->channel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, m->ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, m->body, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, m->expires_ms);
    sqlite3_bind_int64(st, 7, m->next_attempt_ms);
    store_bind_text(st, 8, m->recipient);
    int rc = store_step_done(st);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

void notify_send(struct notify *n, struct notify_msg *list)
{
  if (n->closing) { /* their rows are committed and pending: the next start resumes them */
    notify_msg_free_list(list);
    return;
  }
  while (list) {
    struct notify_msg *m = list;
    list = list->next;
    if (idset_has(&n->held, m->id)) { /* already read back from its committed row */
      notify__msg_free(m);
      continue;
    }
    if (n->spilled || n->n_queued + n->in_flight >= n->max_queued || idset_add(&n->held, m->id)) {
      if (!n->spilled || m->id < n->spill_min) n->spill_min = m->id;
      n->spilled = true;
      n->stats.spilled++;
      notify__msg_free(m);
      continue;
    }
    notify__queue(n, m);
  }
  notify__pump(n);
}

/* ---- outcomes ---------------------------------------------------------------------------- */

static int notify__outcome_work(struct store_conn *c, void *arg)
{
  struct notify__outcome *o = arg;
  sqlite3_stmt *st = store_stmt(c, notify__sql_outcome);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, o->id);
  sqlite3_bind_int(st, 2, o->state);
  sqlite3_bind_int(st, 3, (int)o->attempts);
  sqlite3_bind_int64(st, 4, o->next_attempt_ms);
  if (o->error[0]) sqlite3_bind_text(st, 5, o->error, -1, SQLITE_STATIC);
  else sqlite3_bind_null(st, 5);
  sqlite3_bind_int64(st, 6, o->when_ms);
  return store_step_done(st);
}

static void notify__outcome_done(void *arg, int rc)
{
  struct notify__outcome *o = arg;
  struct notify *n = o->n;
  if (rc == 0) {
    if (o->state != 0) idset_del(&n->held, o->id); /* its row is no longer pending */
    free(o);
    return;
  }
  if (n->closing) {
    DG_ERR("notify", "outcome of outbox row %lld not recorded (rc %d): it is sent again after the restart",
           (long long)o->id, rc);
    free(o);
    return;
  }
  DG_LOG_RL(DG_LOG_ERR, "notify", "could not record the outcome of outbox row %lld (rc %d); retrying",
            (long long)o->id, rc);
  o->next = n->unrecorded;
  n->unrecorded = o;
  if (!uv_is_active((uv_handle_t *)&n->outcome_timer))
    uv_timer_start(&n->outcome_timer, notify__on_outcome_timer, NOTIFY_OUTCOME_RETRY_MS, 0);
}

/* Relaxed (no fsync of its own): the next full commit makes it durable. Lost to a power cut
 * before that, the message is sent again after the restart, never lost. */
static void notify__submit_outcome(struct notify__outcome *o)
{
  if (store_submit_relaxed(o->n->store, notify__outcome_work, notify__outcome_done, o))
    notify__outcome_done(o, -ESHUTDOWN);
}

static void notify__on_outcome_timer(uv_timer_t *t)
{
  struct notify *n = t->data;
  struct notify__outcome *list = n->unrecorded;
  n->unrecorded = NULL;
  while (list) {
    struct notify__outcome *o = list;
    list = list->next;
    store_health(n->store)->outcome_retries++;
    notify__submit_outcome(o);
  }
}

static void notify__record(struct notify *n, const struct notify_msg *m, int state, const char *error)
{
  struct notify__outcome *o = calloc(1, sizeof *o);
  if (!o) return;
  o->n = n;
  o->id = m->id;
  o->state = state;
  o->attempts = m->attempts;
  o->next_attempt_ms = m->next_attempt_ms;
  o->when_ms = dg_wall_ms();
  snprintf(o->error, sizeof o->error, "%s", error ? error : "");
  notify__submit_outcome(o);
}

/* ---- sending ----------------------------------------------------------------------------- */

struct notify__attempt {
  struct notify *n;
  struct notify_msg *m;
  char channel[64];   /* the channel actually used (a capped voice call goes out as SMS) */
};

static int64_t notify__backoff_ms(uint32_t attempts)
{
  int64_t ms = 1000;
  for (uint32_t i = 1; i < attempts && ms < NOTIFY_BACKOFF_MAX_MS; i++) ms *= 2;
  return ms < NOTIFY_BACKOFF_MAX_MS ? ms : NOTIFY_BACKOFF_MAX_MS;
}


static void notify__on_done(void *ud, long status, const char *error, const char *body)
{
  struct notify__attempt *a = ud;
  struct notify *n = a->n;
  struct notify_msg *m = a->m;
  const struct dg_channel *ch = dg_config_channel(n->cfg, a->channel);
  char why[128];
  int64_t min_delay = 0;
  enum chan_verdict v = CHAN_RETRY;
  why[0] = '\0';
  if (ch) v = chan_verdict(ch, status, body, why, sizeof why, &min_delay);
  free(a);
  n->in_flight--;
  m->attempts++;
  if (!why[0]) snprintf(why, sizeof why, "%s", status ? "bad answer" : error ? error : "transport error");
  if (v == CHAN_DELIVERED) {
    n->stats.delivered++;
    notify__record(n, m, 1, NULL);
    DG_DEBUG("notify", "outbox %lld delivered to %s", (long long)m->id, m->channel);
    notify__msg_free(m);
  } else if (v == CHAN_GIVE_UP && !n->closing) {
    n->stats.failed_attempts++;
    notify__expire(n, m, why);
  } else {
    int64_t backoff = notify__backoff_ms(m->attempts);
    n->stats.failed_attempts++;
    m->next_attempt_ms = dg_wall_ms() + (backoff > min_delay ? backoff : min_delay);
    DG_LOG_RL(DG_LOG_WARN, "notify", "outbox %lld to %s failed (attempt %u): %s", (long long)m->id, m->channel,
              m->attempts, why);
    if (n->closing) {
      notify__msg_free(m);
      return;
    }
    notify__record(n, m, 0, why);
    notify__queue(n, m);
  }
  if (!n->closing) notify__pump(n);
}

static const struct dg_channel *notify__channel(const struct notify *n, const char *id)
{
  return dg_config_channel(n->cfg, id);
}

static void notify__expire(struct notify *n, struct notify_msg *m, const char *why)
{
  n->stats.expired++;
  DG_ERR("notify", "outbox %lld to %s given up: %s", (long long)m->id, m->channel, why);
  notify__record(n, m, 2, why);
  notify__msg_free(m);
}

/* ---- provider limits: fixed windows per key, logged so that a restart counts them again ---- */

static const char *const notify__sql_send_log = "INSERT INTO notify_sends (key, ts_ms) VALUES (?1, ?2)";
static const char *const notify__sql_send_prune = "DELETE FROM notify_sends WHERE ts_ms < ?1";
static const char *const notify__sql_sends = "SELECT key, ts_ms FROM notify_sends WHERE ts_ms >= ?1 ORDER BY ts_ms, rowid";

struct notify__send {
  char key[160];
  int64_t ts_ms;
};

static int notify__send_work(struct store_conn *c, void *arg)
{
  const struct notify__send *s = arg;
  sqlite3_stmt *st = store_stmt(c, notify__sql_send_log);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_text(st, 1, s->key, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, s->ts_ms);
  int rc = store_step_done(st);
  if (rc != SQLITE_OK || !(st = store_stmt(c, notify__sql_send_prune))) return rc != SQLITE_OK ? rc : SQLITE_ERROR;
  sqlite3_bind_int64(st, 1, s->ts_ms - NOTIFY_SEND_LOG_MS);
  return store_step_done(st);
}

static void notify__send_done(void *arg, int rc)
{
  if (rc) DG_LOG_RL(DG_LOG_WARN, "notify", "a send was not logged for the rate limits (rc %d)", rc);
  free(arg);
}

static struct notify__bucket *notify__bucket(struct notify *n, const char *key, int64_t now)
{
  struct notify__bucket *b = n->buckets;
  while (b && strcmp(b->key, key)) b = b->next;
  if (!b && (b = calloc(1, sizeof *b))) {
    snprintf(b->key, sizeof b->key, "%s", key);
    b->min_start = b->hour_start = now;
    b->next = n->buckets;
    n->buckets = b;
  }
  if (b && now - b->min_start >= 60000) b->min_start = now, b->min_count = 0;
  if (b && now - b->hour_start >= 3600000) b->hour_start = now, b->hour_count = 0;
  return b;
}

/* Loads the sends of the last hour into the windows. */
static int notify__load_sends(struct notify *n, int64_t now)
{
  sqlite3_stmt *st = store_stmt(store_reader(n->store), notify__sql_sends);
  if (!st) return -EIO;
  sqlite3_bind_int64(st, 1, now - NOTIFY_SEND_LOG_MS);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct notify__bucket *b = notify__bucket(n, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
    if (b) b->min_count++, b->hour_count++;
  }
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Counts one send against `key`'s limits; 0 when allowed, else the ms until a window reopens. */
static int64_t notify__take(struct notify *n, const char *key, uint32_t per_min, uint32_t per_hour, int64_t now)
{
  if (!per_min && !per_hour) return 0;
  struct notify__send *s = calloc(1, sizeof *s);
  struct notify__bucket *b;
  if (!s || !(b = notify__bucket(n, key, now))) {
    free(s);
    return 0;
  }
  int64_t wait = per_min && b->min_count >= per_min     ? b->min_start + 60000 - now
                 : per_hour && b->hour_count >= per_hour ? b->hour_start + 3600000 - now : 0;
  if (wait) {
    free(s);
    DG_DEBUG("notify", "%s: held by its rate limit for %lld ms", key, (long long)wait);
    return wait;
  }
  b->min_count++;
  b->hour_count++;
  snprintf(s->key, sizeof s->key, "%s", key);
  s->ts_ms = now;
  if (store_submit(n->store, notify__send_work, notify__send_done, s)) free(s);
  return 0;
}

/* The request for m on ch, with the body as sent (the render hook's). */
static int notify__encode(struct notify *n, const struct dg_channel *ch, const struct notify_msg *m, int64_t now,
                          struct chan_req *req)
{
  char *shown = n->render ? n->render(n->render_arg, m->body) : NULL;
  int rc = chan_encode(ch, m->id, shown ? shown : m->body, now, req);
  free(shown);
  return rc;
}

/* A voice call over its number's cap goes out through the fallback SMS channel, if any. */
static const struct dg_channel *notify__route(struct notify *n, const struct dg_channel *ch, struct chan_req *req,
                                              const struct notify_msg *m, int64_t now, int64_t *wait)
{
  char key[160];
  if (ch->type == DG_CHANNEL_VOICE && req->number) {
    snprintf(key, sizeof key, "%s|%s", ch->id, req->number);
    if ((*wait = notify__take(n, key, ch->per_number_per_min, ch->per_number_per_hour, now)) && ch->fallback) {
      DG_WARN("notify", "outbox %lld: voice calls to this number are capped; sending an SMS through %s",
              (long long)m->id, ch->fallback->id);
      chan_req_free(req);
      if (notify__encode(n, ch->fallback, m, now, req)) return NULL;
      ch = ch->fallback;
      *wait = 0;
    }
    if (*wait) return ch;
  }
  *wait = notify__take(n, ch->id, ch->rate_per_min, 0, now);
  return ch;
}

static int notify__start(struct notify *n, const struct dg_channel *ch, const struct chan_req *req,
                         struct notify__attempt *a)
{
  if (ch->type == DG_CHANNEL_MQTT)
    return mqttpub_publish(n->mqtt, ch->id, req->url, ch->username, ch->secret, req->topic, req->body, req->body_len,
                           ch->timeout_ms, notify__on_done, a);
  if (req->smtp)
    return httpc_smtp(n->httpc, req->url, ch->username, ch->secret, ch->tls, req->mail_from, req->rcpt, req->body,
                      req->body_len, ch->timeout_ms, notify__on_done, a);
  return httpc_post(n->httpc, req->url, req->content_type, req->body, req->body_len,
                    (const char *const *)req->headers, ch->timeout_ms, notify__on_done, a);
}

static void notify__attempt(struct notify *n, struct notify_msg *m)
{
  const struct dg_channel *ch = notify__channel(n, m->channel);
  struct chan_req req;
  int64_t now = dg_wall_ms(), wait = 1000;
  if (!ch) {
    notify__expire(n, m, "channel no longer configured");
    return;
  }
  int rc = notify__encode(n, ch, m, now, &req);
  if (rc) {
    notify__expire(n, m, rc == -EINVAL ? "the recipient has no contact point for this channel" : "out of memory");
    return;
  }
  struct notify__attempt *a = malloc(sizeof *a);
  if (!a || !(ch = notify__route(n, ch, &req, m, now, &wait)) || wait) goto retry;
  a->n = n;
  a->m = m;
  snprintf(a->channel, sizeof a->channel, "%s", ch->id);
  if (notify__start(n, ch, &req, a) == 0) {
    n->in_flight++;
    chan_req_free(&req);
    return;
  }
  wait = 1000;
retry:
  free(a);
  chan_req_free(&req);
  m->next_attempt_ms = now + (wait > 0 ? wait : 1000);
  notify__queue(n, m);
}

/* Starts every due message (bounded in flight), expires the stale ones, re-arms the timer. */
static void notify__pump(struct notify *n)
{
  int64_t now = dg_wall_ms();
  struct notify_msg **pp = &n->queue;
  while (*pp && n->in_flight < NOTIFY_MAX_IN_FLIGHT) {
    struct notify_msg *m = *pp;
    if (m->next_attempt_ms > now && m->expires_ms > now) {
      pp = &m->next;
      continue;
    }
    *pp = m->next;
    n->n_queued--;
    if (m->expires_ms <= now) notify__expire(n, m, "expired undelivered");
    else notify__attempt(n, m);
    pp = &n->queue; /* notify__attempt may requeue at the head */
  }
  if (n->spilled && !n->closing && n->n_queued + n->in_flight <= n->max_queued / 2 && notify__refill(n)) {
    notify__pump(n);
    return;
  }
  notify__schedule(n);
}

static void notify__schedule(struct notify *n)
{
  int64_t now = dg_wall_ms(), next = INT64_MAX;
  for (struct notify_msg *m = n->queue; m; m = m->next) {
    int64_t due = m->next_attempt_ms < m->expires_ms ? m->next_attempt_ms : m->expires_ms;
    if (due < next) next = due;
  }
  if (next == INT64_MAX) {
    uv_timer_stop(&n->timer);
    return;
  }
  /* With the in-flight limit reached, completions pump again; a short timer is a safety net. */
  int64_t wait = next > now ? next - now : (n->in_flight >= NOTIFY_MAX_IN_FLIGHT ? 100 : 0);
  uv_timer_start(&n->timer, notify__on_timer, (uint64_t)wait, 0);
}

void notify_stats(const struct notify *n, struct notify_stats *out)
{
  *out = n->stats;
  out->queued = n->n_queued;
  out->in_flight = n->in_flight;
}

static void notify__release(void *arg)
{
  struct notify *n = arg;
  if (--n->open_handles) return;
  notify_msg_free_list(n->queue);
  idset_free(&n->held);
  while (n->buckets) {
    struct notify__bucket *b = n->buckets;
    n->buckets = b->next;
    free(b);
  }
  while (n->unrecorded) {
    struct notify__outcome *o = n->unrecorded;
    n->unrecorded = o->next;
    DG_ERR("notify", "outcome of outbox row %lld not recorded: it is sent again after the restart",
           (long long)o->id);
    free(o);
  }
  free(n);
}

static void notify__on_close(uv_handle_t *h) { notify__release(h->data); }

void notify_close(struct notify *n)
{
  if (!n) return;
  n->closing = 1;
  mqttpub_close(n->mqtt, notify__release, n);
  uv_close((uv_handle_t *)&n->timer, notify__on_close);
  uv_close((uv_handle_t *)&n->outcome_timer, notify__on_close);
}
