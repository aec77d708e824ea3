/* api_govern_job — what the governance API modules (api_govern.c, api_site_ops.c) share: one
 * store job, a row change and for a hazard its journal entry (who, when, from and to state),
 * committed before the answer and before anything else is told; and the request helpers.
 * Loop thread. */
#ifndef DG_API_GOVERN_JOB_H
#define DG_API_GOVERN_JOB_H

#include "api_req.h"

#define GOVERN_API_TEXT_MAX 2000

/* `work` writes the row on the writer thread; with hazard_id set, the job also journals
 * `action` with `comment` (state from and to `state`). id: the row inserted (or set by work). */
struct govern_job {
  int (*work)(struct store_conn *c, struct govern_job *j);
  int64_t hazard_id, now_ms, id;
  int state, flag, old_flag, conclusion, op_type;
  const char *actor, *action, *reason, *opinion, *source, *place, *unit, *supervisor;
  char *reviewers;         /* JSON array text, owned */
  int64_t start_ms, end_ms;
  char comment[2400];
  int rc;
};

/* Commits the job and waits for it: 0, or answers 409 (-ESTALE from work) / 500 / 503 and
 * returns negative. */
int govern_job_commit(struct api_ctx *ctx, struct govern_job *j, struct http_response *resp);

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
