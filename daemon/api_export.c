#include "api_export.h"

#include <errno.h>
#include <stdlib.h>

#include "api_commit.h"
#include "api_lane.h"
#include "export.h"
#include "log.h"
#include "national.h"

/* An export's read: the whole ledger since `since_ms` as JSON text, read and written on the
 * store's read lane (a year of a plant's records takes a few hundred milliseconds). */
struct export_api__read {
  const struct dg_config *cfg;  /* in force while the read runs: a reload waits for reads */
  int64_t since_ms;
  char *text;                   /* cJSON_PrintUnformatted's */
};

static int export_api__work(struct store_conn *c, void *arg)
{
  struct export_api__read *r = arg;
  cJSON *doc = export_build(r->cfg, c, r->since_ms);
  if (!doc) return SQLITE_IOERR;
  cJSON_AddItemToObject(doc, "commitments", commit_api_since(c, r->since_ms));
  r->text = cJSON_PrintUnformatted(doc);
  cJSON_Delete(doc);
  return r->text ? SQLITE_OK : SQLITE_NOMEM;
}

/* The answer to a read that returned rc (the document's text is handed to resp); frees r. */
static void export_api__answer(void *arg, int rc, struct http_response *resp)
{
  struct export_api__read *r = arg;
  if (api_lane_failed(resp, "export", rc)) {
    if (resp->status == 500)
      DG_WARN("export", "export since %lld failed: %s", (long long)r->since_ms, rc == -ENOMEM ? "out of memory" : "database error");
  } else {
    resp->status = 200;
    resp->body = r->text;
    r->text = NULL;
  }
  free(r->text);
  free(r);
}

/* The record UUIDs are stored: the read follows. Their commit came after every write queued
 * before the request, so the document holds what every answered write committed. */
static void export_api__assigned(void *arg, int rc)
{
  (void)rc; /* a failed storing was logged; the document goes out with the UUIDs stored before */
  api_lane_submit(arg);
}

/* GET /api/v1/export?since=: the record UUIDs are stored through the writer, then the document
 * is read on the read lane; the loop waits for neither, and the answer follows. */
static void export_api__get(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_config *cfg = ctx->engine->cfg;
  int64_t since_ms = 0;
  if (api_query_ms(req, "since", 0, &since_ms, resp) < 0) return;
  struct export_api__read *r = calloc(1, sizeof *r);
  if (!r) {
    api_error(resp, 500, "out of memory");
    return;
  }
  *r = (struct export_api__read){.cfg = cfg, .since_ms = since_ms};
  struct api_lane *l = api_lane_defer(ctx->store, req, export_api__work, export_api__answer, r);
  if (!l) { /* no connection to wait on: everything here */
    store_wait_own(ctx->store);
    if (cfg->national && national_assign_ids(cfg, ctx->store)) DG_WARN("export", "storing national record UUIDs failed");
    api_lane_here(ctx->store, resp, export_api__work, export_api__answer, r);
    return;
  }
  if (cfg->national) {
    if (national_assign_submit(cfg, ctx->store, export_api__assigned, l) == 0) return;
    DG_WARN("export", "storing national record UUIDs failed");
  }
  api_lane_submit_after_writes(l); /* export what every answered write committed */
}

static const struct api_route export_api__routes[] = {
  {"GET", "/api/v1/export", export_api__get, 0, NULL, "since"},
};

struct api_routes export_api_routes(void) { return API_ROUTES(export_api__routes); }
