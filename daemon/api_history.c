#include "api_history.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_lane.h"
#include "history_read.h"
#include "log.h"

#define HISTORY_API_WINDOW_MS (3600LL * 1000)   /* default: the last hour */
#define HISTORY_API_LIMIT 2000
#define HISTORY_API_LIMIT_MAX 10000

/* ?limit=: 1 .. HISTORY_API_LIMIT_MAX; anything else answers 400. */
static int history_api__limit(const struct http_request *req, int *out, struct http_response *resp)
{
  char text[16], *end;
  int present = api_query_text(req, "limit", text, sizeof text, resp);
  if (present < 0) return -1;
  if (!present || !text[0]) return 0;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (end == text || *end || errno || v < 1 || v > HISTORY_API_LIMIT_MAX) {
    api_error(resp, 400, "limit: expected 1 to %d", HISTORY_API_LIMIT_MAX);
    return -1;
  }
  *out = (int)v;
  return 0;
}

static int history_api__reads(const struct dg_rule *r, const struct dg_point *p)
{
  if (r->point == p || r->point2 == p) return 1;
  for (size_t i = 0; i < r->n_inputs; i++)
    if (r->inputs[i] == p) return 1;
  return 0;
}

static const char *history_api__type(enum dg_rule_type t)
{
  static const char *const names[] = {"", "high", "low", "stale", "quality", "rate", "expr", "deviation",
                                      "vote", "aggregate", "state"};
  return (size_t)t < sizeof names / sizeof names[0] ? names[t] : "";
}

/* The rules reading the point: stages with limits (a chart draws those of high and low rules)
 * and the state of each rule's alarm. */
static cJSON *history_api__rules(const struct engine *e, const struct dg_point *p)
{
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < e->cfg->n_rules; i++) {
    const struct dg_rule *r = &e->cfg->rules[i];
    if (!history_api__reads(r, p)) continue;
    const struct alarm *a = &e->alarms[i];
    cJSON *o = cJSON_CreateObject();
    api_json_text(o, "id", r->id);
    api_json_text(o, "name", r->name);
    cJSON_AddStringToObject(o, "type", history_api__type(r->type));
    cJSON_AddNumberToObject(o, "deadband", r->deadband);
    cJSON *stages = cJSON_AddArrayToObject(o, "stages");
    for (size_t s = 0; s < r->n_stages; s++) {
      cJSON *st = cJSON_CreateObject();
      api_json_text(st, "name", r->stages[s].name);
      cJSON_AddNumberToObject(st, "limit", r->stages[s].limit);
      api_json_text(st, "priority", dg_priority_name(r->stages[s].priority));
      cJSON_AddItemToArray(stages, st);
    }
    cJSON *al = cJSON_AddObjectToObject(o, "alarm");
    cJSON_AddNumberToObject(al, "id", (double)a->id);
    cJSON_AddStringToObject(al, "state", alarm_state_name(a->state));
    cJSON_AddBoolToObject(al, "active", alarm_is_active(a));
    api_json_text(al, "stage", a->stage >= 0 ? r->stages[a->stage].name : NULL);
    cJSON_AddItemToArray(arr, o);
  }
  return arr;
}

static cJSON *history_api__point(const struct engine *e, const struct dg_point *p)
{
  const struct point_rt *rt = &e->points[p->index];
  cJSON *o = cJSON_CreateObject();
  api_json_text(o, "id", p->id);
  api_json_text(o, "name", p->name);
  api_json_text(o, "eng_unit", p->eng_unit);
  api_json_text(o, "unit_id", p->unit_id);
  if (rt->has_value) cJSON_AddNumberToObject(o, "value", rt->value);
  else cJSON_AddNullToObject(o, "value");
  cJSON_AddStringToObject(o, "quality", dg_quality_name(rt->quality));
  if (rt->ts_ms) cJSON_AddNumberToObject(o, "ts_ms", (double)rt->ts_ms);
  else cJSON_AddNullToObject(o, "ts_ms");
  return o;
}

/* A request's read: the window's newest `limit` samples, the log's too, oldest first, as JSON
 * text (10 000 samples take tens of milliseconds to write: done with the read, off the loop). */
struct history_api__read {
  struct api_ctx *ctx;
  char point[128];
  int64_t since, until;
  int limit;
  size_t n;
  char *samples; /* cJSON_PrintUnformatted's */
};

static char *history_api__samples(const struct history_sample *s, size_t n)
{
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < n; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "ts_ms", (double)s[i].ts_ms);
    if (s[i].quality == DG_Q_GOOD) cJSON_AddNumberToObject(o, "value", s[i].value);
    else cJSON_AddNullToObject(o, "value");
    cJSON_AddStringToObject(o, "quality", dg_quality_name((enum dg_quality)s[i].quality));
    cJSON_AddItemToArray(arr, o);
  }
  char *text = cJSON_PrintUnformatted(arr);
  cJSON_Delete(arr);
  return text;
}

static int history_api__read_work(struct store_conn *c, void *arg)
{
  struct history_api__read *r = arg;
  struct history_sample *s = NULL;
  if (history_read(c, r->point, r->since, r->until, (size_t)r->limit, 1, &s, &r->n)) return SQLITE_ERROR;
  r->samples = history_api__samples(s, r->n);
  free(s);
  return r->samples ? SQLITE_OK : SQLITE_NOMEM;
}

/* The answer to a read that returned rc. The point is looked up again: a reload may have
 * removed it meanwhile. */
static void history_api__reply(const struct history_api__read *r, int rc, struct http_response *resp)
{
  if (api_lane_failed(resp, "history", rc)) return;
  const struct dg_point *p = dg_config_point(r->ctx->engine->cfg, r->point);
  if (!p) {
    api_error(resp, 404, "no such point: %s", r->point);
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddItemToObject(o, "point", history_api__point(r->ctx->engine, p));
  cJSON_AddNumberToObject(o, "since", (double)r->since);
  cJSON_AddNumberToObject(o, "until", (double)r->until);
  cJSON_AddBoolToObject(o, "truncated", r->n == (size_t)r->limit);
  cJSON_AddItemToObject(o, "samples", cJSON_CreateRaw(r->samples));
  cJSON_AddItemToObject(o, "rules", history_api__rules(r->ctx->engine, p));
  api_reply(resp, 200, o);
}

static void history_api__answer(void *arg, int rc, struct http_response *resp)
{
  struct history_api__read *r = arg;
  history_api__reply(r, rc, resp);
  cJSON_free(r->samples);
  free(r);
}

/* GET /api/v1/points/{id}/history. A week of a point's history can take tens of milliseconds
 * to read: the read goes to the store's read lane, off the loop, and the answer follows. */
static void history_api__get(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  char id[128];
  int used = 0;
  if (sscanf(req->path, "/api/v1/points/%127[^/]/history%n", id, &used) != 1 || req->path[used]) {
    api_error(resp, 404, "not found: GET /api/v1/points/{id}/history");
    return;
  }
  if (!dg_config_point(ctx->engine->cfg, id)) {
    api_error(resp, 404, "no such point: %s", id);
    return;
  }
  int64_t until = dg_wall_ms(), since;
  int limit = HISTORY_API_LIMIT;
  if (api_query_ms(req, "until", 0, &until, resp) < 0) return;
  since = until - HISTORY_API_WINDOW_MS;
  if (api_query_ms(req, "since", 0, &since, resp) < 0 || history_api__limit(req, &limit, resp) < 0) return;
  if (since > until) {
    api_error(resp, 400, "since: after until");
    return;
  }
  struct history_api__read *r = calloc(1, sizeof *r);
  if (!r) {
    api_error(resp, 500, "out of memory");
    return;
  }
  *r = (struct history_api__read){.ctx = ctx, .since = since, .until = until, .limit = limit};
  snprintf(r->point, sizeof r->point, "%s", id);
  api_lane_read(ctx->store, req, resp, history_api__read_work, history_api__answer, r);
}

static const struct api_route history_api__routes[] = {
  {"GET", "/api/v1/points/{id}/history", history_api__get, 0, NULL, "since until limit<=10000"}, /* HISTORY_API_LIMIT_MAX */
};

struct api_routes history_api_routes(void) { return API_ROUTES(history_api__routes); }
