/* The API fixture with a store gate (store_gate.h), and requests made on threads of their own:
 * for what waits behind a held store thread while the loop answers others. Header-only: each
 * test includes it. The fixture is the `ud` of the test's authenticate. */
#ifndef DG_TEST_API_GATE_H
#define DG_TEST_API_GATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "api_fixture.h"
#include "store_gate.h"

struct api_gated {
  struct api_fixture a;
  struct gate gate;
};

/* cmocka setup: the plant of `yaml` with `fill_sql` committed, served, its gate open. */
static inline int api_gated_setup(void **state, const char *yaml, const char *fill_sql,
                                  const struct dg_person *(*authenticate)(void *ud, const char *token))
{
  struct api_gated *f = calloc(1, sizeof *f);
  gate_init(&f->gate);
  api_fixture_start(&f->a, yaml, fill_sql, authenticate, f);
  *state = f;
  return 0;
}

static inline int api_gated_teardown(void **state)
{
  struct api_gated *f = *state;
  gate_open(&f->gate); /* a failed assertion must not leave a store thread held */
  api_fixture_stop(&f->a);
  gate_destroy(&f->gate);
  free(f);
  return 0;
}

/* A request on a thread of its own: a POST of body, or a GET without one. */
struct api_call_thread {
  const struct api_fixture *a;
  const char *path, *token, *body;
  const char *content_type; /* NULL: JSON */
  size_t len;               /* with content_type: the body's bytes */
  const char *method;       /* NULL: POST with a body, GET without */
  pthread_t thread;
  atomic_int answered;
  struct api_reply reply;
};

static inline void *api_call_thread__main(void *arg)
{
  struct api_call_thread *x = arg;
  const char *ct = x->content_type ? x->content_type : "application/json";
  size_t len = x->content_type ? x->len : x->body ? strlen(x->body) : 0;
  api_fixture_request(x->a, x->method, x->path, x->token, ct, x->body, len, 30, &x->reply);
  atomic_store(&x->answered, 1);
  return NULL;
}

static inline void api_call_thread_run(struct api_call_thread *x)
{
  assert_int_equal(pthread_create(&x->thread, NULL, api_call_thread__main, x), 0);
}

static inline void api_call_thread_start(struct api_call_thread *x, const struct api_fixture *a, const char *path,
                                         const char *token, const char *body)
{
  *x = (struct api_call_thread){.a = a, .path = path, .token = token, .body = body};
  api_call_thread_run(x);
}

/* A POST of len bytes of content_type on a thread of its own. */
static inline void api_call_thread_post(struct api_call_thread *x, const struct api_fixture *a, const char *path,
                                        const char *token, const char *content_type, const char *body, size_t len)
{
  *x = (struct api_call_thread){.a = a, .path = path, .token = token, .body = body, .content_type = content_type,
                                .len = len};
  api_call_thread_run(x);
}

/* Waits for the answer (which must have come); its status. */
static inline long api_call_thread_join(struct api_call_thread *x)
{
  assert_int_equal(pthread_join(x->thread, NULL), 0);
  assert_int_equal(x->reply.rc, CURLE_OK);
  return x->reply.status;
}

/* Waits until exactly `n` jobs are queued or running on the writer (a held gate counts). */
static inline void api_gated_wait_pending(const struct api_gated *f, unsigned n)
{
  struct timespec nap = {0, 10 * 1000000L};
  for (int i = 0; i < 1000 && store_pending(f->a.p.store) != n; i++) nanosleep(&nap, NULL);
  assert_int_equal(store_pending(f->a.p.store), n);
}

/* The loop answers `GET /api/v1/whoami` while x is still unanswered. */
static inline void api_gated_answered_meanwhile(const struct api_gated *f, const char *token,
                                                struct api_call_thread *x)
{
  struct api_reply who;
  api_fixture_call(&f->a, "/api/v1/whoami", token, NULL, 10, &who);
  assert_int_equal(who.rc, CURLE_OK);
  assert_int_equal(who.status, 200);
  assert_false(atomic_load(&x->answered));
}

#endif
