#include "api_events.h"

#include <errno.h>

#include "events.h"

/* GET /api/v1/events: Last-Event-ID (header, or ?last_event_id= for clients that cannot set
 * headers) resumes after that event. */
static void api_events__stream(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  char last[80];
  int q = api_query_text(req, "last_event_id", last, sizeof last, resp);
  if (q < 0) return;
  int rc = events_subscribe(ctx->engine->events, q ? last : req->last_event_id, resp);
  if (rc == -ENOTSUP) api_error(resp, 503, "the event stream is not running");
  else if (rc) api_error(resp, 500, "out of memory");
}

static const struct api_route api_events__routes[] = {
  {"GET", "/api/v1/events", api_events__stream, 0, NULL, "last_event_id"},
};

struct api_routes events_api_routes(void) { return API_ROUTES(api_events__routes); }
