/* The sample queue applies back-pressure: a producer pushing more than DG_SAMPLEQ_MAX samples
 * ahead of the loop waits for the loop instead of dropping them; a held queue delivers nothing
 * until released; with blocking off a producer never waits. Real threads, real libuv loop. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sampleq.h"

#define TOTAL (3u * DG_SAMPLEQ_MAX)
#define CHUNK 32u

struct fixture {
  uv_loop_t loop;
  struct sampleq q;
  int hold_on_drain;
  uint64_t received, next_point, out_of_order;
  int pushes_failed;
  _Atomic int producer_done;
};

static void on_drain(void *ud, const struct dg_sample *s, size_t n)
{
  struct fixture *f = ud;
  if (f->hold_on_drain) sampleq_hold(&f->q, 1);
  for (size_t i = 0; i < n; i++, f->next_point++)
    if (s[i].point != (uint32_t)f->next_point) f->out_of_order++;
  f->received += n;
}

static void *producer(void *arg)
{
  struct fixture *f = arg;
  struct dg_sample batch[CHUNK];
  for (uint32_t i = 0; i < TOTAL; i += CHUNK) {
    for (uint32_t k = 0; k < CHUNK; k++) batch[k] = (struct dg_sample){.point = i + k, .value = 1, .ts_ms = 1};
    if (sampleq_push(&f->q, batch, CHUNK)) f->pushes_failed++;
  }
  f->producer_done = 1;
  return NULL;
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(sampleq_init(&f->q, &f->loop, on_drain, f), 0);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  sampleq_close(&f->q);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  free(f);
  return 0;
}

/* The loop turns only when the test says so: the producer must wait, and every sample arrives
 * in order, none dropped. */
static void test_producer_waits_for_the_loop(void **state)
{
  struct fixture *f = *state;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, producer, f), 0);
  while (sampleq_waits(&f->q) == 0) sched_yield(); /* full: the producer waits for the loop */
  assert_false(f->producer_done);
  while (!f->producer_done) uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(pthread_join(t, NULL), 0);
  sampleq_drain_now(&f->q);
  assert_int_equal(f->received, TOTAL);
  assert_int_equal(f->out_of_order, 0);
  assert_int_equal(f->pushes_failed, 0);
  assert_int_equal(sampleq_dropped(&f->q), 0);
  assert_true(sampleq_waits(&f->q) > 0);
}

/* Held: nothing is delivered and the producer stops at the bound; released: everything flows. */
static void test_held_queue_stops_the_producer(void **state)
{
  struct fixture *f = *state;
  sampleq_hold(&f->q, 1);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, producer, f), 0);
  while (sampleq_waits(&f->q) == 0) uv_run(&f->loop, UV_RUN_NOWAIT);
  for (int i = 0; i < 50; i++) uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(f->received, 0);
  assert_false(f->producer_done);
  sampleq_hold(&f->q, 0);
  while (!f->producer_done) uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(pthread_join(t, NULL), 0);
  sampleq_drain_now(&f->q);
  assert_int_equal(f->received, TOTAL);
  assert_int_equal(f->out_of_order, 0);
}

/* Held by what it delivers (the alarm transitions a slice made): the rest of the batch waits. */
static void test_hold_stops_a_batch_between_slices(void **state)
{
  struct fixture *f = *state;
  struct dg_sample s[3 * DG_SAMPLEQ_SLICE];
  for (uint32_t i = 0; i < 3 * DG_SAMPLEQ_SLICE; i++) s[i] = (struct dg_sample){.point = i, .value = 1};
  assert_int_equal(sampleq_push(&f->q, s, 3 * DG_SAMPLEQ_SLICE), 0);
  f->hold_on_drain = 1;
  for (int i = 0; i < 20; i++) uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(f->received, DG_SAMPLEQ_SLICE);
  f->hold_on_drain = 0;
  sampleq_hold(&f->q, 0);
  for (int i = 0; i < 20; i++) uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(f->received, 3 * DG_SAMPLEQ_SLICE);
  assert_int_equal(f->out_of_order, 0);
}

/* While producers are being stopped the loop does not drain: pushes must not wait. */
static void test_nonblocking_never_waits(void **state)
{
  struct fixture *f = *state;
  sampleq_set_blocking(&f->q, 0);
  producer(f);
  assert_int_equal(sampleq_waits(&f->q), 0);
  sampleq_drain_now(&f->q);
  assert_int_equal(f->received, TOTAL);
  sampleq_set_blocking(&f->q, 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_producer_waits_for_the_loop, setup, teardown),
    cmocka_unit_test_setup_teardown(test_held_queue_stops_the_producer, setup, teardown),
    cmocka_unit_test_setup_teardown(test_hold_stops_a_batch_between_slices, setup, teardown),
    cmocka_unit_test_setup_teardown(test_nonblocking_never_waits, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
