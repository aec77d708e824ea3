#include "api_lane.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "api_req.h"

struct api_lane {
  struct store *store;
  struct http_deferred *d;
  api_lane_read_fn read;
  api_lane_answer_fn answer;
  void *arg;
};

int api_lane_failed(struct http_response *resp, const char *what, int rc)
{
  if (rc == -EBUSY || rc == -ESHUTDOWN)
    api_error(resp, 503, "%s: %s, try again", what, rc == -EBUSY ? "too many reads waiting" : "shutting down");
  else if (rc)
    api_error(resp, 500, rc == -ENOMEM ? "out of memory" : "database error");
  return rc;
}

static int api_lane__rc(int sqlite_rc) { return sqlite_rc == SQLITE_NOMEM ? -ENOMEM : sqlite_rc ? -EIO : 0; }

static int api_lane__work(struct store_conn *c, void *arg)
{
  struct api_lane *l = arg;
  return l->read(c, l->arg);
}

/* Answers the deferred request and frees the lane. */
static void api_lane__finish(struct api_lane *l, int rc)
{
  struct http_response resp = {.status = 200};
  l->answer(l->arg, rc, &resp);
  http_deferred_answer(l->d, &resp);
  free(l);
}

/* store_submit_read's done gives the work's result as a negative errno: -ENOMEM, or another. */
static void api_lane__done(void *arg, int rc) { api_lane__finish(arg, rc == -ENOMEM ? rc : rc ? -EIO : 0); }

struct api_lane *api_lane_defer(struct store *s, const struct http_request *req, api_lane_read_fn read,
                                api_lane_answer_fn answer, void *arg)
{
  struct api_lane *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  *l = (struct api_lane){.store = s, .read = read, .answer = answer, .arg = arg};
  if (!(l->d = http_defer(req))) {
    free(l);
    return NULL;
  }
  return l;
}

void api_lane_submit(struct api_lane *l)
{
  int rc = store_submit_read(l->store, api_lane__work, api_lane__done, l);
  if (rc) api_lane__finish(l, rc);
}

void api_lane_here(struct store *s, struct http_response *resp, api_lane_read_fn read, api_lane_answer_fn answer,
                   void *arg)
{
  answer(arg, api_lane__rc(read(store_reader(s), arg)), resp);
}

void api_lane_read(struct store *s, const struct http_request *req, struct http_response *resp, api_lane_read_fn read,
                   api_lane_answer_fn answer, void *arg)
{
  struct api_lane *l = api_lane_defer(s, req, read, answer, arg);
  if (l) api_lane_submit(l);
  else api_lane_here(s, resp, read, answer, arg);
}

/* The writer takes urgent jobs before normal ones, so by the time this normal job runs every
 * job submitted before it has committed. It writes nothing: its commit costs no fsync. */
static int api_lane__barrier_work(struct store_conn *c, void *arg)
{
  (void)c, (void)arg;
  return SQLITE_OK;
}

static void api_lane__barrier_done(void *arg, int rc)
{
  (void)rc;
  api_lane_submit(arg);
}

void api_lane_submit_after_writes(struct api_lane *l)
{
  if (store_submit(l->store, api_lane__barrier_work, api_lane__barrier_done, l)) api_lane_submit(l);
}

void api_lane_read_after_writes(struct store *s, const struct http_request *req, struct http_response *resp,
                                api_lane_read_fn read, api_lane_answer_fn answer, void *arg)
{
  struct api_lane *l = api_lane_defer(s, req, read, answer, arg);
  if (l) {
    api_lane_submit_after_writes(l);
    return;
  }
  store_wait_own(s);
  api_lane_here(s, resp, read, answer, arg);
}

/* ---- writes ---------------------------------------------------------------------------------- */

struct api_lane__write {
  struct http_deferred *d;
  store_work_fn work;
  api_lane_written_fn written;
  void *arg;
};

static int api_lane__write_work(struct store_conn *c, void *arg)
{
  struct api_lane__write *w = arg;
  return w->work(c, w->arg);
}

/* Answers the deferral with written's answer to rc. */
static void api_lane__answer(struct http_deferred *d, api_lane_written_fn written, void *arg, int rc)
{
  struct http_response resp = {.status = 200};
  written(arg, rc, &resp);
  http_deferred_answer(d, &resp);
}

static void api_lane__written(void *arg, int rc)
{
  struct api_lane__write *w = arg;
  api_lane__answer(w->d, w->written, w->arg, rc);
  free(w);
}

void api_lane_write(struct store *s, const struct http_request *req, struct http_response *resp, bool urgent,
                    store_work_fn work, api_lane_written_fn written, void *arg)
{
  struct http_deferred *d = http_defer(req);
  if (!d) { /* no connection to wait on: the commit is waited for here */
    written(arg, store_write_now(s, urgent, work, arg), resp);
    return;
  }
  struct api_lane__write *w = calloc(1, sizeof *w);
  if (!w) {
    api_lane__answer(d, written, arg, -ENOMEM);
    return;
  }
  *w = (struct api_lane__write){.d = d, .work = work, .written = written, .arg = arg};
  if ((urgent ? store_submit_urgent : store_submit)(s, api_lane__write_work, api_lane__written, w)) {
    api_lane__answer(d, written, arg, -ESHUTDOWN);
    free(w);
  }
}
