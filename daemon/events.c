#include "events.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "model.h"

#define EVENTS_TICK_MS 250
#define EVENTS_PREFIX_MAX 512
#define EVENTS_POINT_ID_MAX 64
#define EVENTS_CHECK_MS 1000 /* how often subscribers are checked for clients that left */

struct events__point_data {
  int has_value;
  double value;
  const char *quality; /* static dg_quality name */
  int64_t ts_ms, received_ms;
  char id[];
};

/* A point value is kept as data and written out only when a subscriber first reads it: with
 * nobody watching, a value costs one small allocation instead of a JSON document. */
struct events__frame {
  uint64_t seq;
  char *text; /* "id: …\nevent: …\ndata: …\n\n"; NULL until a point's is written */
  size_t len;
  struct events__point_data *point; /* a point value not written yet, else NULL */
};

struct events__sub {
  struct events *ev;
  struct http_stream *h;   /* NULL until opened */
  uint64_t next;           /* the next event's seq to send */
  char prefix[EVENTS_PREFIX_MAX]; /* retry, hello or resync: sent before the ring's events */
  size_t prefix_len, prefix_off;
  int idle;                /* pull found nothing: wake on the next event */
  int ping;                /* a liveness comment is due */
  int gone;                /* the client closed its side: end the stream */
  struct events__sub *prev, *next_sub;
};

struct events__point {
  int64_t last_ms;         /* loop time of the last published value */
  int pending, has_value;
  double value;
  const char *quality;     /* static dg_quality name */
  int64_t ts_ms, received_ms;
  uint64_t config;         /* the configuration generation id was taken from, + 1; 0: none yet */
  char id[EVENTS_POINT_ID_MAX];
};

struct events {
  uv_loop_t *loop;
  uv_timer_t timer;
  uint64_t boot;           /* wall ms at start: ids of an earlier run never resume */
  uint64_t head;           /* seq of the next event; the first is 1 */
  struct events__frame *ring;
  uint64_t cap;            /* frames in ring */
  struct events__sub *subs;
  struct events__point *points;
  size_t n_points;
  size_t n_pending;
  int64_t last_ping_ms, last_check_ms;
  struct events_stats stats;
};

static uint64_t events__oldest(const struct events *ev) { return ev->head > ev->cap ? ev->head - ev->cap : 1; }

static void events__wake_idle(struct events *ev)
{
  for (struct events__sub *s = ev->subs; s; s = s->next_sub)
    if (s->idle && s->h) {
      s->idle = 0;
      http_stream_wake(s->h);
    }
}

static void events__frame_free(struct events__frame *f)
{
  free(f->text);
  free(f->point);
}

/* Puts f in the ring as event ev->head, in place of the oldest frame. */
static void events__push(struct events *ev, struct events__frame f)
{
  f.seq = ev->head++;
  struct events__frame *slot = &ev->ring[f.seq % ev->cap];
  events__frame_free(slot);
  *slot = f;
  ev->stats.published++;
  events__wake_idle(ev);
}

void events_publish(struct events *ev, const char *type, cJSON *data)
{
  if (!ev) {
    cJSON_Delete(data);
    return;
  }
  char *json = data ? cJSON_PrintUnformatted(data) : NULL;
  cJSON_Delete(data);
  size_t cap = json ? strlen(json) + strlen(type) + 80 : 0;
  char *text = json && cap <= EVENTS_MAX_FRAME ? malloc(cap) : NULL;
  if (!text) {
    ev->stats.dropped++;
    DG_LOG_RL(DG_LOG_WARN, "events", "%s event not published (%s)", type, json ? "too large" : "out of memory");
    free(json);
    return;
  }
  int n = snprintf(text, cap, "id: %" PRIu64 "-%" PRIu64 "\nevent: %s\ndata: %s\n\n", ev->boot, ev->head, type, json);
  free(json);
  events__push(ev, (struct events__frame){.text = text, .len = (size_t)n});
}

/* ---- points, throttled ------------------------------------------------------------------------ */

static void events__point_send(struct events *ev, struct events__point *p)
{
  size_t id_len = strlen(p->id);
  struct events__point_data *d = malloc(sizeof *d + id_len + 1);
  p->last_ms = (int64_t)uv_now(ev->loop);
  p->pending = 0;
  if (!d) {
    ev->stats.dropped++;
    DG_LOG_RL(DG_LOG_WARN, "events", "point event not published (out of memory)");
    return;
  }
  *d = (struct events__point_data){.has_value = p->has_value, .value = p->value, .quality = p->quality,
                                   .ts_ms = p->ts_ms, .received_ms = p->received_ms};
  memcpy(d->id, p->id, id_len + 1);
  events__push(ev, (struct events__frame){.point = d});
}

/* A JSON number: 15 significant digits, or 17 when 15 do not read back exactly; null when not
 * finite. */
static int events__number(char *out, size_t cap, double v)
{
  if (!isfinite(v)) return snprintf(out, cap, "null");
  int n = snprintf(out, cap, "%1.15g", v);
  if (n > 0 && (size_t)n < cap && strtod(out, NULL) != v) n = snprintf(out, cap, "%1.17g", v);
  return n;
}

/* Writes out the point value f holds, as events_publish would have. 0 or -ENOMEM. */
static int events__point_text(const struct events *ev, struct events__frame *f)
{
  const struct events__point_data *d = f->point;
  char value[32] = "null";
  if (d->has_value) events__number(value, sizeof value, d->value);
  cJSON *id = cJSON_CreateString(d->id); /* the id as a JSON string, escaped */
  char *id_json = id ? cJSON_PrintUnformatted(id) : NULL;
  cJSON_Delete(id);
  size_t cap = (id_json ? strlen(id_json) : 0) + strlen(d->quality) + 256;
  char *text = id_json ? malloc(cap) : NULL;
  if (text) {
    f->len = (size_t)snprintf(text, cap,
                              "id: %" PRIu64 "-%" PRIu64 "\nevent: point\ndata: {\"point\":%s,\"value\":%s,\"quality\":\"%s\","
                              "\"ts_ms\":%" PRId64 ",\"received_ms\":%" PRId64 "}\n\n",
                              ev->boot, f->seq, id_json, value, d->quality, d->ts_ms, d->received_ms);
    f->text = text;
    free(f->point);
    f->point = NULL;
  }
  free(id_json);
  return text ? 0 : -ENOMEM;
}

static int events__points_room(struct events *ev, uint32_t index)
{
  if (index < ev->n_points) return 0;
  size_t n = (size_t)index + 64;
  struct events__point *p = realloc(ev->points, n * sizeof *p);
  if (!p) return -ENOMEM;
  memset(p + ev->n_points, 0, (n - ev->n_points) * sizeof *p);
  for (size_t i = ev->n_points; i < n; i++) p[i].last_ms = INT64_MIN / 2;
  ev->points = p;
  ev->n_points = n;
  return 0;
}

void events_point(struct events *ev, uint32_t index, uint64_t config_generation, const char *point_id, int has_value,
                  double value, const char *quality, int64_t ts_ms, int64_t received_ms)
{
  if (!ev || !point_id || events__points_room(ev, index)) return;
  struct events__point *p = &ev->points[index];
  /* The name is read only when the configuration changed (a sample's one cache miss less). */
  if (p->config != config_generation + 1) {
    p->config = config_generation + 1;
    if (strncmp(p->id, point_id, sizeof p->id - 1) != 0) {
      if (!p->pending) p->last_ms = INT64_MIN / 2; /* another point at this index: not throttled */
      snprintf(p->id, sizeof p->id, "%s", point_id);
    }
  }
  p->has_value = has_value;
  p->value = value;
  p->quality = quality;
  p->ts_ms = ts_ms;
  p->received_ms = received_ms;
  if ((int64_t)uv_now(ev->loop) - p->last_ms >= EVENTS_POINT_MIN_MS) {
    if (p->pending) ev->n_pending--;
    events__point_send(ev, p);
  } else if (!p->pending) {
    p->pending = 1;
    ev->n_pending++;
  }
}

static void events__tick(uv_timer_t *t)
{
  struct events *ev = t->data;
  int64_t now = (int64_t)uv_now(ev->loop);
  for (size_t i = 0; ev->n_pending && i < ev->n_points; i++) {
    struct events__point *p = &ev->points[i];
    if (p->pending && now - p->last_ms >= EVENTS_POINT_MIN_MS) {
      ev->n_pending--;
      events__point_send(ev, p);
    }
  }
  if (now - ev->last_check_ms >= EVENTS_CHECK_MS) {
    ev->last_check_ms = now;
    for (struct events__sub *s = ev->subs; s; s = s->next_sub)
      if (s->h && !s->gone && http_stream_peer_gone(s->h)) {
        s->gone = 1;
        http_stream_wake(s->h);
      }
  }
  if (now - ev->last_ping_ms < EVENTS_PING_MS) return;
  ev->last_ping_ms = now;
  for (struct events__sub *s = ev->subs; s; s = s->next_sub) {
    s->ping = 1;
    if (s->h) http_stream_wake(s->h);
  }
}

/* ---- subscribers ------------------------------------------------------------------------------ */

static void events__prefix(struct events__sub *s, const char *type, const char *fmt_data)
{
  const struct events *ev = s->ev;
  int n = snprintf(s->prefix + s->prefix_len, sizeof s->prefix - s->prefix_len,
                   "id: %" PRIu64 "-%" PRIu64 "\nevent: %s\ndata: %s\n\n", ev->boot, ev->head - 1, type, fmt_data);
  if (n > 0 && (size_t)n < sizeof s->prefix - s->prefix_len) s->prefix_len += (size_t)n;
}

/* The subscriber missed events the ring no longer holds: it reads the full state again. */
static void events__resync(struct events__sub *s, const char *reason)
{
  char data[96];
  snprintf(data, sizeof data, "{\"reason\":\"%s\"}", reason);
  events__prefix(s, "resync", data);
  s->next = s->ev->head;
  s->ev->stats.resyncs++;
}

static void events__opened(void *ctx, struct http_stream *h) { ((struct events__sub *)ctx)->h = h; }

static long events__pull(void *ctx, char *buf, size_t cap)
{
  struct events__sub *s = ctx;
  struct events *ev = s->ev;
  size_t n = 0;
  if (s->gone) return -1;
  if (s->prefix_off < s->prefix_len) {
    n = s->prefix_len - s->prefix_off < cap ? s->prefix_len - s->prefix_off : cap;
    memcpy(buf, s->prefix + s->prefix_off, n);
    s->prefix_off += n;
    if (s->prefix_off == s->prefix_len) s->prefix_off = s->prefix_len = 0;
    return (long)n;
  }
  if (s->next < events__oldest(ev)) {
    events__resync(s, "lagged");
    return events__pull(ctx, buf, cap);
  }
  for (; s->next < ev->head; s->next++) {
    struct events__frame *f = &ev->ring[s->next % ev->cap];
    if (f->point && events__point_text(ev, f)) break; /* out of memory: tried again on the next pull */
    if (n + f->len > cap) break;
    memcpy(buf + n, f->text, f->len);
    n += f->len;
  }
  if (n == 0 && s->ping) {
    static const char ping[] = ": ping\n\n";
    memcpy(buf, ping, sizeof ping - 1);
    n = sizeof ping - 1;
  }
  s->ping = 0;
  s->idle = n == 0;
  return (long)n;
}

static void events__closed(void *ctx)
{
  struct events__sub *s = ctx;
  struct events *ev = s->ev;
  if (s->prev) s->prev->next_sub = s->next_sub;
  else ev->subs = s->next_sub;
  if (s->next_sub) s->next_sub->prev = s->prev;
  ev->stats.subscribers--;
  free(s);
}

static const struct http_stream_ops events__ops = {
  .opened = events__opened,
  .pull = events__pull,
  .closed = events__closed,
};

/* Where a subscriber starts: after its Last-Event-ID when the ring holds everything since. */
static void events__start(struct events__sub *s, const char *last_event_id)
{
  struct events *ev = s->ev;
  unsigned long long boot, seq;
  char tail;
  if (!last_event_id || !last_event_id[0]) {
    char data[128];
    snprintf(data, sizeof data, "{\"boot\":%" PRIu64 ",\"server_ms\":%lld}", ev->boot, (long long)dg_wall_ms());
    events__prefix(s, "hello", data);
    s->next = ev->head;
    return;
  }
  if (sscanf(last_event_id, "%llu-%llu%c", &boot, &seq, &tail) != 2 || boot != ev->boot)
    return events__resync(s, "unknown_id");
  if (seq >= ev->head || seq + 1 < events__oldest(ev)) return events__resync(s, "expired");
  s->next = seq + 1;
}

int events_subscribe(struct events *ev, const char *last_event_id, struct http_response *resp)
{
  if (!ev) return -ENOTSUP;
  struct events__sub *s = calloc(1, sizeof *s);
  if (!s) return -ENOMEM;
  s->ev = ev;
  int n = snprintf(s->prefix, sizeof s->prefix, "retry: %d\n\n", EVENTS_RETRY_MS);
  s->prefix_len = (size_t)n;
  events__start(s, last_event_id);
  s->next_sub = ev->subs;
  if (ev->subs) ev->subs->prev = s;
  ev->subs = s;
  ev->stats.subscribers++;
  resp->stream = &events__ops;
  resp->stream_ctx = s;
  resp->content_type = "text/event-stream; charset=utf-8";
  return 0;
}

/* ---- lifecycle -------------------------------------------------------------------------------- */

int events_new(struct events **out, uv_loop_t *loop, unsigned ring)
{
  struct events *ev = calloc(1, sizeof *ev);
  uint64_t cap = ring ? ring : EVENTS_RING;
  if (!ev || !(ev->ring = calloc(cap, sizeof *ev->ring))) {
    free(ev);
    return -ENOMEM;
  }
  ev->cap = cap;
  ev->loop = loop;
  ev->boot = (uint64_t)dg_wall_ms();
  ev->head = 1;
  ev->last_ping_ms = (int64_t)uv_now(loop);
  uv_timer_init(loop, &ev->timer);
  ev->timer.data = ev;
  uv_timer_start(&ev->timer, events__tick, EVENTS_TICK_MS, EVENTS_TICK_MS);
  *out = ev;
  return 0;
}

void events_close(struct events *ev)
{
  if (ev && !uv_is_closing((uv_handle_t *)&ev->timer)) uv_close((uv_handle_t *)&ev->timer, NULL);
}

void events_free(struct events *ev)
{
  if (!ev) return;
  while (ev->subs) events__closed(ev->subs); /* connections the server never reported closed */
  for (size_t i = 0; i < ev->cap; i++) events__frame_free(&ev->ring[i]);
  free(ev->ring);
  free(ev->points);
  free(ev);
}

void events_stats(const struct events *ev, struct events_stats *out)
{
  if (ev) *out = ev->stats;
  else memset(out, 0, sizeof *out);
}
