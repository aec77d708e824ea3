/* A gate that holds one of the store's threads (the writer, or the read lane's reader) inside
 * a job until it is opened, so a test can see what waits behind it and what does not.
 * Header-only: each test includes it. */
#ifndef DG_TEST_STORE_GATE_H
#define DG_TEST_STORE_GATE_H

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "store.h"

struct gate {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int entered, released;
};

static inline int gate__work(struct store_conn *c, void *arg)
{
  (void)c;
  struct gate *g = arg;
  pthread_mutex_lock(&g->lock);
  g->entered = 1;
  pthread_cond_broadcast(&g->cond);
  while (!g->released) pthread_cond_wait(&g->cond, &g->lock);
  pthread_mutex_unlock(&g->lock);
  return SQLITE_OK;
}

/* A gate that is open: gate_open on it does nothing, gate_destroy frees it. */
static inline void gate_init(struct gate *g)
{
  pthread_mutex_init(&g->lock, NULL);
  pthread_cond_init(&g->cond, NULL);
  g->entered = 0;
  g->released = 1;
}

typedef int (*gate_submit_fn)(struct store *s, store_work_fn work, store_done_fn done, void *arg);

/* Holds the thread that runs `lane`'s jobs (store_submit: the writer; store_submit_read: the
 * reader) until gate_open; returns once the thread is held. */
static inline void gate_close_on(struct store *s, struct gate *g, gate_submit_fn lane)
{
  gate_init(g);
  g->released = 0;
  assert_int_equal(lane(s, gate__work, NULL, g), 0);
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 10;
  pthread_mutex_lock(&g->lock);
  while (!g->entered)
    if (pthread_cond_timedwait(&g->cond, &g->lock, &dl) == ETIMEDOUT) break;
  int entered = g->entered;
  pthread_mutex_unlock(&g->lock);
  assert_true(entered);
}

static inline void gate_open(struct gate *g)
{
  pthread_mutex_lock(&g->lock);
  g->released = 1;
  pthread_cond_broadcast(&g->cond);
  pthread_mutex_unlock(&g->lock);
}

static inline void gate_destroy(struct gate *g)
{
  pthread_mutex_destroy(&g->lock);
  pthread_cond_destroy(&g->cond);
}

#endif
