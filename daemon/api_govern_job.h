/* api_govern_job — what the governance API modules (api_govern.c, api_site_ops.c) share: one
 * store job, a row change and for a hazard its journal entry (who, when, from and to state),
 * committed before the answer and before anything else is told; and the request helpers.
 * The loop does not wait for the commit: the request is answered after it (api_lane_write).
 * Loop thread, but for `work`. */
#ifndef DG_API_GOVERN_JOB_H
#define DG_API_GOVERN_JOB_H

#include <stdbool.h>

#include "api_req.h"

#define GOVERN_API_TEXT_MAX 2000

/* A change in flight, on the heap from govern_job_new until its answer. It owns the request's
 * body (the string fields point into it), the reviewers' text and copies of the actor and the
 * hazard source: a reload may free the configuration while the job waits.
 *
 * `work` writes the row on the writer thread; with hazard_id set, the job also journals
 * `action` with `comment` (state from and to `state`). It returns -ESTALE when what the handler
 * checked moved meanwhile (answered 409). id: the row inserted (or set by work).
 * `committed` answers on the loop once the change is committed. */
struct govern_job {
  struct api_ctx *ctx;
  int (*work)(struct store_conn *c, struct govern_job *j);
  void (*committed)(struct govern_job *j, struct http_response *resp);
  int64_t hazard_id, now_ms, id, start_ms, end_ms;
  int state, flag, old_flag, conclusion, op_type;
  bool touch_ledger; /* the change shows in the ledger's views (ledger_touch after the commit) */
  const char *action; /* static text */
  const char *reason, *opinion, *place, *unit, *supervisor, *conclusion_name; /* into body */
  cJSON *body;
  char *reviewers; /* JSON array text */
  char actor[128], source[128], names[1000];
  char comment[2400];
};

/* A job of `who` with its work and action, the request's body object and now_ms; NULL after
 * answering 400 (the body is not a JSON object) or 500. */
struct govern_job *govern_job_new(struct api_ctx *ctx, const struct http_request *req, const struct dg_person *who,
                                  int (*work)(struct store_conn *c, struct govern_job *j), const char *action,
                                  struct http_response *resp);
void govern_job_free(struct govern_job *j);

/* Submits the job on the writer's urgent lane; `committed` answers req after the commit, or
 * 409 (-ESTALE from work) / 500 / 503 is answered. The job belongs to the commit from here on. */
void govern_job_commit(struct govern_job *j, const struct http_request *req, struct http_response *resp,
                       void (*committed)(struct govern_job *j, struct http_response *resp));

/* The caller with all of `need` (enum hazard_right, govern_rights), or NULL after answering
 * 401 or 403 (with `who` saying who may). */
const struct dg_person *govern_job_caller(struct api_ctx *ctx, const struct http_request *req, unsigned need,
                                          const char *who, struct http_response *resp);

/* A string field of at most GOVERN_API_TEXT_MAX bytes: NULL when absent and not required, or
 * after answering 400 (then *bad is set; with *bad already set nothing is read). */
const char *govern_job_str(const cJSON *body, const char *key, int required, struct http_response *resp, int *bad);

/* A required epoch-milliseconds field; 0 after answering 400 (*bad set). */
int64_t govern_job_ms(const cJSON *body, const char *key, struct http_response *resp, int *bad);

#endif
