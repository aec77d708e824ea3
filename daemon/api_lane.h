/* api_lane — a request answered after a read on the store's read lane (store_submit_read), or
 * after a write committed by the store's writer (api_lane_write): the loop does not wait for
 * the store, and the answer follows when the work is done. A request with no connection to wait
 * on (an internal caller) is read on the loop's reader, or its write waited for, and answered at
 * once. Loop thread. */
#ifndef DG_API_LANE_H
#define DG_API_LANE_H

#include <stdbool.h>

#include "http.h"
#include "store.h"

/* Read lane thread (or the loop, for a request answered at once): the read; SQLITE_OK,
 * SQLITE_NOMEM or another SQLite result code. */
typedef int (*api_lane_read_fn)(struct store_conn *c, void *arg);
/* Loop thread: answers the request from the read's result and frees arg. rc is 0, -ENOMEM,
 * -EIO, or -EBUSY / -ESHUTDOWN when the read could not run (api_lane_failed answers these). */
typedef void (*api_lane_answer_fn)(void *arg, int rc, struct http_response *resp);

/* The answer to a read that failed with rc: 503 "<what>: too many reads waiting, try again" or
 * "…: shutting down, try again" (the client retries), 500 otherwise. Returns rc: 0 when there
 * is nothing to answer. */
int api_lane_failed(struct http_response *resp, const char *what, int rc);

/* Defers req until its read is done: the lane then owns arg, and api_lane_submit starts the
 * read. NULL when req has no connection to wait on (or no memory for the lane): nothing was
 * done, and the caller reads at once (api_lane_here). */
struct api_lane *api_lane_defer(struct store *s, const struct http_request *req, api_lane_read_fn read,
                                api_lane_answer_fn answer, void *arg);
/* Submits the lane's read; the answer follows. The lane is freed after it. */
void api_lane_submit(struct api_lane *l);
/* Reads on the loop's reader and answers in resp. */
void api_lane_here(struct store *s, struct http_response *resp, api_lane_read_fn read, api_lane_answer_fn answer,
                   void *arg);
/* Deferred and submitted, or, without a connection, read and answered here. */
void api_lane_read(struct store *s, const struct http_request *req, struct http_response *resp, api_lane_read_fn read,
                   api_lane_answer_fn answer, void *arg);

/* Reads after every write submitted before it has committed (an answered alarm action whose
 * commit is still queued, say), without the loop waiting for them: a job with nothing to write
 * goes through the writer first, and its done submits the read. Without a connection, waits for
 * the writes (store_wait_own) and reads here. */
void api_lane_submit_after_writes(struct api_lane *l);
void api_lane_read_after_writes(struct store *s, const struct http_request *req, struct http_response *resp,
                                api_lane_read_fn read, api_lane_answer_fn answer, void *arg);

/* A write's answer (loop thread): rc is the work's result as the store's done gives it (0 or a
 * negative errno, e.g. -ESTALE from the work itself), or -ESHUTDOWN (-ENOMEM) when the job could
 * not be submitted; answers in resp and frees arg. */
typedef void (*api_lane_written_fn)(void *arg, int rc, struct http_response *resp);
/* Submits `work` on the writer's urgent lane (or its normal one: a large write that must not
 * hold alarm transitions grouped with it) and answers req once it is committed; meanwhile the
 * loop goes on. Without a connection, waits for the commit (store_wait_own) and answers in resp.
 * `written` is called exactly once either way. */
void api_lane_write(struct store *s, const struct http_request *req, struct http_response *resp, bool urgent,
                    store_work_fn work, api_lane_written_fn written, void *arg);

#endif
