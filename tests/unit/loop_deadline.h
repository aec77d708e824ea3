/* A one-shot timer that bounds how long a test runs its loop while it waits for something to
 * happen on the loop. Header-only: each test includes it. */
#ifndef DG_TEST_LOOP_DEADLINE_H
#define DG_TEST_LOOP_DEADLINE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <uv.h>

struct loop_deadline {
  uv_timer_t timer;
  bool expired; /* set on the loop when the armed time has passed */
};

static inline void loop_deadline__fire(uv_timer_t *t)
{
  struct loop_deadline *d = t->data;
  d->expired = true;
}

static inline void loop_deadline_init(struct loop_deadline *d, uv_loop_t *loop)
{
  assert_int_equal(uv_timer_init(loop, &d->timer), 0);
  d->timer.data = d;
  d->expired = false;
}

/* Clears `expired` and sets it again ms from now. */
static inline void loop_deadline_arm(struct loop_deadline *d, uint64_t ms)
{
  d->expired = false;
  uv_timer_start(&d->timer, loop_deadline__fire, ms, 0);
}

static inline void loop_deadline_stop(struct loop_deadline *d)
{
  uv_timer_stop(&d->timer);
}

/* Closes the timer; the loop must then run once more before it closes. */
static inline void loop_deadline_close(struct loop_deadline *d)
{
  uv_close((uv_handle_t *)&d->timer, NULL);
}

#endif
