/* Modbus bus threads hand samples over in batches: against the in-process simulator, every
 * answered request still yields all its samples, in order, also those batched when the driver
 * stops, and stats count a request no later than its samples arrive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "loop_deadline.h"
#include "mbsim.h"
#include "modbus.h"
#include "sampleq.h"

#define UNITS 20 /* one cycle takes longer than the 1 ms poll period: the bus never sleeps */
#define REGS 100
#define N_POINTS (UNITS * REGS)
#define EVENT_MS 15000

struct harness {
  uv_loop_t loop;
  struct sampleq q;
  uv_timer_t tick;
  struct dg_config cfg;
  struct dg_modbus_bus bus;
  struct dg_point points[N_POINTS];
  struct mb_driver *mb;
  struct mbsim *sim;
  struct loop_deadline deadline;
  uint64_t samples, out_of_order, not_good, ahead_of_stats;
  double last_v[N_POINTS];
  int64_t last_ts[N_POINTS];
  uint16_t counter;
};

static struct harness H;

static uint64_t bus_requests(void)
{
  struct mb_bus_stats st;
  assert_int_equal(mb_bus_stats(H.mb, 0, &st), 0);
  return st.requests;
}

static void on_samples(void *ud, const struct dg_sample *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    assert_true(s[i].point < N_POINTS);
    uint32_t p = s[i].point;
    if (s[i].quality != DG_Q_GOOD) H.not_good++;
    /* Registers only ever grow, so a point's values and timestamps never go back. */
    if (s[i].value < H.last_v[p] || s[i].ts_ms < H.last_ts[p]) H.out_of_order++;
    H.last_v[p] = s[i].value;
    H.last_ts[p] = s[i].ts_ms;
  }
  H.samples += n;
  /* Each request yields REGS samples; its count must already be in the stats. */
  if (H.mb && H.samples > bus_requests() * REGS) H.ahead_of_stats++;
}

/* Raises every register of every unit by one, so values change under the poller. */
static void on_tick(uv_timer_t *t)
{
  uint16_t regs[REGS];
  H.counter++;
  for (int i = 0; i < REGS; i++) regs[i] = H.counter;
  for (int u = 1; u <= UNITS; u++)
    assert_int_equal(mbsim_set_registers(H.sim, u, DG_MB_HOLDING, 0, regs, REGS), 0);
}

static int setup(void **state)
{
  memset(&H, 0, sizeof H);
  static uint8_t units[UNITS];
  for (int u = 0; u < UNITS; u++) units[u] = (uint8_t)(u + 1);
  struct mbsim_opts o = {.units = units, .n_units = UNITS, .n_holdings = REGS};
  assert_int_equal(mbsim_start(&H.sim, &o), 0);
  H.bus = (struct dg_modbus_bus){.id = "bus", .transport = DG_MB_TCP, .host = "127.0.0.1",
                                 .port = mbsim_port(H.sim), .response_timeout_ms = 1000,
                                 .byte_timeout_ms = 500, .poll_interval_ms = 1, .max_gap = 8,
                                 .fail_threshold = 3, .reconnect_max_ms = 400};
  H.cfg.modbus_buses = &H.bus;
  H.cfg.n_modbus_buses = 1;
  H.cfg.points = H.points;
  H.cfg.n_points = N_POINTS;
  for (size_t i = 0; i < N_POINTS; i++) {
    H.points[i] = (struct dg_point){.id = "p", .driver_kind = DG_DRIVER_MODBUS, .driver_index = 0,
                                    .scale = 1, .index = i};
    H.points[i].modbus = (struct dg_modbus_binding){.slave = (int)(1 + i / REGS),
                                                    .space = DG_MB_HOLDING,
                                                    .address = (uint16_t)(i % REGS),
                                                    .type = DG_MB_UINT16, .bit = -1};
  }
  assert_int_equal(uv_loop_init(&H.loop), 0);
  assert_int_equal(sampleq_init(&H.q, &H.loop, on_samples, NULL), 0);
  assert_int_equal(uv_timer_init(&H.loop, &H.tick), 0);
  assert_int_equal(uv_timer_start(&H.tick, on_tick, 3, 3), 0);
  loop_deadline_init(&H.deadline, &H.loop);
  return 0;
}

static int teardown(void **state)
{
  mb_stop(H.mb);
  H.mb = NULL;
  sampleq_close(&H.q);
  uv_close((uv_handle_t *)&H.tick, NULL);
  loop_deadline_close(&H.deadline);
  uv_run(&H.loop, UV_RUN_DEFAULT);
  uv_loop_close(&H.loop);
  mbsim_stop(H.sim);
  return 0;
}

static void test_every_sample_delivered_in_order(void **state)
{
  assert_int_equal(mb_start(&H.mb, &H.loop, &H.cfg, &H.q), 0);
  /* Back-to-back polling: thousands of requests, each one batched with its neighbours. */
  loop_deadline_arm(&H.deadline, EVENT_MS);
  while (!(H.samples >= 2000 * REGS && H.counter >= 50) && !H.deadline.expired)
    uv_run(&H.loop, UV_RUN_ONCE);
  assert_false(H.deadline.expired);
  assert_int_equal(H.ahead_of_stats, 0);

  /* Stop while samples may sit in a batch: the bus hands them over on its way out. */
  sampleq_set_blocking(&H.q, 0);
  mb_stop(H.mb);
  H.mb = NULL;
  sampleq_drain_now(&H.q);
  assert_true(mbsim_requests(H.sim) > 0);
  assert_int_equal(H.samples, mbsim_requests(H.sim) * REGS);
  assert_int_equal(H.not_good, 0);
  assert_int_equal(H.out_of_order, 0);
  for (size_t i = 0; i < N_POINTS; i++) assert_true(H.last_v[i] >= 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_every_sample_delivered_in_order, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
