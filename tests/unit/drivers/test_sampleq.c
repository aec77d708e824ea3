/* The sample queue applies back-pressure: a producer pushing more than DG_SAMPLEQ_MAX samples
 * ahead of the loop waits for the loop instead of dropping them; a held queue delivers nothing
 * until released; with blocking off a producer never waits; concurrent producers wake the loop
 * without a wake-up lost. Real threads, real libuv loop. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

#define PRODUCERS 4
#define PER_PRODUCER 50000u

struct lane {
  struct fixture *f;
  uint32_t id;
};

static uint32_t lane_next[PRODUCERS];

static void on_lanes(void *ud, const struct dg_sample *s, size_t n)
{
  struct fixture *f = ud;
  for (size_t i = 0; i < n; i++) {
    uint32_t lane = s[i].point >> 24, seq = s[i].point & 0xffffffu;
    if (lane >= PRODUCERS || seq != lane_next[lane]++) f->out_of_order++;
  }
  f->received += n;
}

/* Pushes of 1 to 7 samples, so wake-ups race with the loop taking batches. */
static void *lane_producer(void *arg)
{
  struct lane *l = arg;
  struct dg_sample batch[7];
  for (uint32_t i = 0; i < PER_PRODUCER;) {
    uint32_t k = 0, n = 1 + i % 7;
    for (; k < n && i < PER_PRODUCER; k++, i++)
      batch[k] = (struct dg_sample){.point = l->id << 24 | i, .value = 1, .ts_ms = 1};
    if (sampleq_push(&l->f->q, batch, k)) l->f->pushes_failed++;
  }
  return NULL;
}

static void on_tick(uv_timer_t *t) {}

static double mono_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Every sample of every producer arrives once, each producer's in order, and the last push wakes
 * the loop: the loop only ever learns of samples through the queue's own wake-up (the timer just
 * bounds each blocking turn), so a lost wake-up leaves samples behind and fails the deadline. */
static void test_concurrent_producers_wake_the_loop(void **state)
{
  struct fixture *f = *state;
  f->q.drain = on_lanes;
  memset(lane_next, 0, sizeof lane_next);
  static uv_timer_t tick; /* closed here, freed by the loop in teardown */
  assert_int_equal(uv_timer_init(&f->loop, &tick), 0);
  assert_int_equal(uv_timer_start(&tick, on_tick, 50, 50), 0);
  pthread_t t[PRODUCERS];
  struct lane lanes[PRODUCERS];
  for (uint32_t i = 0; i < PRODUCERS; i++) {
    lanes[i] = (struct lane){.f = f, .id = i};
    assert_int_equal(pthread_create(&t[i], NULL, lane_producer, &lanes[i]), 0);
  }
  double end = mono_s() + 30;
  while (f->received < PRODUCERS * PER_PRODUCER && mono_s() < end) uv_run(&f->loop, UV_RUN_ONCE);
  for (uint32_t i = 0; i < PRODUCERS; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
  assert_int_equal(f->received, PRODUCERS * PER_PRODUCER);
  assert_int_equal(f->out_of_order, 0);
  assert_int_equal(f->pushes_failed, 0);
  uv_close((uv_handle_t *)&tick, NULL);
}

#define PING_ROUNDS 3000

static _Atomic uint64_t ping_received;
static _Atomic int ping_done;

static void on_ping(void *ud, const struct dg_sample *s, size_t n) { ping_received += n; }

/* One sample at a time, each pushed as soon as the previous one arrived: the push races with
 * the loop finishing the drain that delivered the previous one. */
static void *ping_producer(void *arg)
{
  struct fixture *f = arg;
  struct dg_sample one = {.point = 1, .value = 1, .ts_ms = 1};
  double end = mono_s() + 30;
  for (uint64_t i = 0; i < PING_ROUNDS && mono_s() < end; i++) {
    if (sampleq_push(&f->q, &one, 1)) f->pushes_failed++;
    while (ping_received <= i && mono_s() < end) sched_yield();
  }
  ping_done = 1;
  return NULL;
}

static void test_every_push_wakes_the_loop(void **state)
{
  struct fixture *f = *state;
  f->q.drain = on_ping;
  ping_received = 0;
  ping_done = 0;
  static uv_timer_t tick; /* closed here, freed by the loop in teardown */
  assert_int_equal(uv_timer_init(&f->loop, &tick), 0);
  assert_int_equal(uv_timer_start(&tick, on_tick, 50, 50), 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, ping_producer, f), 0);
  while (!ping_done) uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(ping_received, PING_ROUNDS);
  assert_int_equal(f->pushes_failed, 0);
  uv_close((uv_handle_t *)&tick, NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_producer_waits_for_the_loop, setup, teardown),
    cmocka_unit_test_setup_teardown(test_held_queue_stops_the_producer, setup, teardown),
    cmocka_unit_test_setup_teardown(test_hold_stops_a_batch_between_slices, setup, teardown),
    cmocka_unit_test_setup_teardown(test_nonblocking_never_waits, setup, teardown),
    cmocka_unit_test_setup_teardown(test_concurrent_producers_wake_the_loop, setup, teardown),
    cmocka_unit_test_setup_teardown(test_every_push_wakes_the_loop, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
