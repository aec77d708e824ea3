/* Modbus register decoding and read planning (pure functions). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "modbus.h"

static const enum mb_order orders[] = {MB_ORDER_ABCD, MB_ORDER_CDAB, MB_ORDER_BADC, MB_ORDER_DCBA};

static double decode(const uint16_t *regs, size_t n, enum dg_mb_type type, enum mb_order order)
{
  double v = NAN;
  assert_int_equal(mb_decode_regs(regs, n, type, order, -1, &v), 0);
  return v;
}

static void test_order_parse(void **state)
{
  assert_int_equal(mb_order_parse(NULL), MB_ORDER_ABCD);
  assert_int_equal(mb_order_parse(""), MB_ORDER_ABCD);
  assert_int_equal(mb_order_parse("ABCD"), MB_ORDER_ABCD);
  assert_int_equal(mb_order_parse("cdab"), MB_ORDER_CDAB);
  assert_int_equal(mb_order_parse("BADC"), MB_ORDER_BADC);
  assert_int_equal(mb_order_parse("DCBA"), MB_ORDER_DCBA);
  assert_int_equal(mb_order_parse("ABDC"), -EINVAL);
  assert_int_equal(mb_order_parse("ABC"), -EINVAL);
}

static void test_type_registers(void **state)
{
  assert_int_equal(mb_type_registers(DG_MB_BOOL, -1), 1);
  assert_int_equal(mb_type_registers(DG_MB_INT16, -1), 1);
  assert_int_equal(mb_type_registers(DG_MB_UINT16, -1), 1);
  assert_int_equal(mb_type_registers(DG_MB_INT32, -1), 2);
  assert_int_equal(mb_type_registers(DG_MB_UINT32, -1), 2);
  assert_int_equal(mb_type_registers(DG_MB_FLOAT32, -1), 2);
  assert_int_equal(mb_type_registers(DG_MB_INT64, -1), 4);
  assert_int_equal(mb_type_registers(DG_MB_UINT64, -1), 4);
  assert_int_equal(mb_type_registers(DG_MB_FLOAT64, -1), 4);
  assert_int_equal(mb_type_registers(DG_MB_FLOAT64, 3), 1);
}

/* float32 123.456 = 0x42F6E979 in the four orders. */
static void test_float32_orders(void **state)
{
  const uint16_t images[4][2] = {
    {0x42F6, 0xE979}, {0xE979, 0x42F6}, {0xF642, 0x79E9}, {0x79E9, 0xF642}};
  for (int i = 0; i < 4; i++)
    assert_true(decode(images[i], 2, DG_MB_FLOAT32, orders[i]) == 123.456);
}

/* A float32 reads as the decimal it stands for (its shortest round-trip text), not the binary
 * double of the float: 1.2f is 1.2, not 1.2000000476837158. */
static void test_float32_shortest_decimal(void **state)
{
  static const float values[] = {1.2f, 0.1f, 123.456f, -40.7f, 3.4028235e38f, 2.5e-5f, 16777217.0f, 0.3f};
  static const char *const texts[] = {"1.2", "0.1", "123.456", "-40.7", "3.4028235e+38", "2.5e-05", "16777216", "0.3"};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    uint16_t r[2];
    double v = 0;
    assert_int_equal(mb_encode_regs(values[i], DG_MB_FLOAT32, MB_ORDER_ABCD, r, 2), 2);
    assert_int_equal(mb_decode_regs(r, 2, DG_MB_FLOAT32, MB_ORDER_ABCD, -1, &v), 0);
    assert_true((float)v == values[i]);
    assert_true(strtod(texts[i], NULL) == v);
  }
}

static void test_int32_uint32_orders(void **state)
{
  const uint16_t minus2[4][2] = {
    {0xFFFF, 0xFFFE}, {0xFFFE, 0xFFFF}, {0xFFFF, 0xFEFF}, {0xFEFF, 0xFFFF}};
  const uint16_t deadbeef[4][2] = {
    {0xDEAD, 0xBEEF}, {0xBEEF, 0xDEAD}, {0xADDE, 0xEFBE}, {0xEFBE, 0xADDE}};
  for (int i = 0; i < 4; i++) {
    assert_true(decode(minus2[i], 2, DG_MB_INT32, orders[i]) == -2.0);
    assert_true(decode(deadbeef[i], 2, DG_MB_UINT32, orders[i]) == 3735928559.0);
  }
  /* Same image, other signedness. */
  assert_true(decode(minus2[0], 2, DG_MB_UINT32, MB_ORDER_ABCD) == 4294967294.0);
  assert_true(decode(deadbeef[0], 2, DG_MB_INT32, MB_ORDER_ABCD) == (double)(int32_t)0xDEADBEEF);
}

static void test_64bit_orders(void **state)
{
  /* 0x0123456789ABCDEF */
  const uint16_t u64[4][4] = {{0x0123, 0x4567, 0x89AB, 0xCDEF},
                              {0xCDEF, 0x89AB, 0x4567, 0x0123},
                              {0x2301, 0x6745, 0xAB89, 0xEFCD},
                              {0xEFCD, 0xAB89, 0x6745, 0x2301}};
  /* -1234567890123 = 0xFFFFFEE08E04FB35 */
  const uint16_t i64[4][4] = {{0xFFFF, 0xFEE0, 0x8E04, 0xFB35},
                              {0xFB35, 0x8E04, 0xFEE0, 0xFFFF},
                              {0xFFFF, 0xE0FE, 0x048E, 0x35FB},
                              {0x35FB, 0x048E, 0xE0FE, 0xFFFF}};
  /* pi = 0x400921FB54442D18 */
  const uint16_t f64[4][4] = {{0x4009, 0x21FB, 0x5444, 0x2D18},
                              {0x2D18, 0x5444, 0x21FB, 0x4009},
                              {0x0940, 0xFB21, 0x4454, 0x182D},
                              {0x182D, 0x4454, 0xFB21, 0x0940}};
  for (int i = 0; i < 4; i++) {
    assert_true(decode(u64[i], 4, DG_MB_UINT64, orders[i]) == (double)0x0123456789ABCDEFull);
    assert_true(decode(i64[i], 4, DG_MB_INT64, orders[i]) == -1234567890123.0);
    assert_true(decode(f64[i], 4, DG_MB_FLOAT64, orders[i]) == 3.141592653589793);
  }
  const uint16_t max_u64[4] = {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF};
  assert_true(decode(max_u64, 4, DG_MB_UINT64, MB_ORDER_ABCD) == 18446744073709551615.0);
  assert_true(decode(max_u64, 4, DG_MB_INT64, MB_ORDER_ABCD) == -1.0);
}

static void test_16bit_and_bool(void **state)
{
  const uint16_t ffff = 0xFFFF, fffe = 0xFFFE, feff = 0xFEFF, x1234 = 0x1234, x3412 = 0x3412;
  const uint16_t zero = 0, x8000 = 0x8000;
  assert_true(decode(&ffff, 1, DG_MB_INT16, MB_ORDER_ABCD) == -1.0);
  assert_true(decode(&ffff, 1, DG_MB_UINT16, MB_ORDER_ABCD) == 65535.0);
  assert_true(decode(&fffe, 1, DG_MB_INT16, MB_ORDER_ABCD) == -2.0);
  assert_true(decode(&fffe, 1, DG_MB_INT16, MB_ORDER_CDAB) == -2.0);
  assert_true(decode(&feff, 1, DG_MB_INT16, MB_ORDER_BADC) == -2.0);
  assert_true(decode(&feff, 1, DG_MB_INT16, MB_ORDER_DCBA) == -2.0);
  assert_true(decode(&x1234, 1, DG_MB_UINT16, MB_ORDER_ABCD) == 0x1234);
  assert_true(decode(&x3412, 1, DG_MB_UINT16, MB_ORDER_BADC) == 0x1234);
  assert_true(decode(&x1234, 1, DG_MB_UINT16, MB_ORDER_CDAB) == 0x1234);
  assert_true(decode(&zero, 1, DG_MB_BOOL, MB_ORDER_ABCD) == 0.0);
  assert_true(decode(&x8000, 1, DG_MB_BOOL, MB_ORDER_ABCD) == 1.0);
}

static void test_bit_in_register(void **state)
{
  const uint16_t x8000 = 0x8000, x0001 = 0x0001, x0400 = 0x0400;
  double v = -1;
  assert_int_equal(mb_decode_regs(&x8000, 1, DG_MB_BOOL, MB_ORDER_ABCD, 15, &v), 0);
  assert_true(v == 1.0);
  assert_int_equal(mb_decode_regs(&x8000, 1, DG_MB_BOOL, MB_ORDER_ABCD, 14, &v), 0);
  assert_true(v == 0.0);
  assert_int_equal(mb_decode_regs(&x8000, 1, DG_MB_UINT16, MB_ORDER_ABCD, 0, &v), 0);
  assert_true(v == 0.0);
  assert_int_equal(mb_decode_regs(&x0001, 1, DG_MB_BOOL, MB_ORDER_ABCD, 0, &v), 0);
  assert_true(v == 1.0);
  /* Bits are numbered in the register as transmitted, whatever the order. */
  assert_int_equal(mb_decode_regs(&x0400, 1, DG_MB_BOOL, MB_ORDER_DCBA, 10, &v), 0);
  assert_true(v == 1.0);
  assert_int_equal(mb_decode_regs(&x0400, 1, DG_MB_BOOL, MB_ORDER_ABCD, 16, &v), -EINVAL);
  assert_int_equal(mb_decode_regs(&x0400, 1, DG_MB_BOOL, MB_ORDER_ABCD, -2, &v), -EINVAL);
}

static void test_decode_errors(void **state)
{
  const uint16_t nan32[2] = {0x7FC0, 0x0000}, inf32[2] = {0x7F80, 0x0000};
  const uint16_t nan64[4] = {0x7FF8, 0, 0, 0};
  double v = 0;
  assert_int_equal(mb_decode_regs(nan32, 2, DG_MB_FLOAT32, MB_ORDER_ABCD, -1, &v), -ERANGE);
  assert_true(isnan(v));
  assert_int_equal(mb_decode_regs(inf32, 2, DG_MB_FLOAT32, MB_ORDER_ABCD, -1, &v), -ERANGE);
  assert_int_equal(mb_decode_regs(nan64, 4, DG_MB_FLOAT64, MB_ORDER_ABCD, -1, &v), -ERANGE);
  assert_int_equal(mb_decode_regs(nan32, 1, DG_MB_FLOAT32, MB_ORDER_ABCD, -1, &v), -EINVAL);
  assert_int_equal(mb_decode_regs(nan64, 3, DG_MB_UINT64, MB_ORDER_ABCD, -1, &v), -EINVAL);
  assert_int_equal(mb_decode_regs(nan32, 2, (enum dg_mb_type)0, MB_ORDER_ABCD, -1, &v), -EINVAL);
  assert_int_equal(mb_decode_regs(nan32, 2, (enum dg_mb_type)10, MB_ORDER_ABCD, -1, &v), -EINVAL);
  assert_int_equal(mb_decode_regs(nan32, 2, DG_MB_INT32, (enum mb_order)4, -1, &v), -EINVAL);
}

static void test_encode_known_and_round_trip(void **state)
{
  uint16_t r[4] = {0};
  assert_int_equal(mb_encode_regs(123.456, DG_MB_FLOAT32, MB_ORDER_BADC, r, 4), 2);
  assert_int_equal(r[0], 0xF642);
  assert_int_equal(r[1], 0x79E9);
  assert_int_equal(mb_encode_regs((double)0x0123456789ABCDEFull, DG_MB_UINT64, MB_ORDER_CDAB, r, 4),
                   4);
  double back = 0;
  assert_int_equal(mb_decode_regs(r, 4, DG_MB_UINT64, MB_ORDER_CDAB, -1, &back), 0);
  assert_true(back == (double)0x0123456789ABCDEFull);
  assert_int_equal(mb_encode_regs(-2, DG_MB_INT32, MB_ORDER_DCBA, r, 4), 2);
  assert_int_equal(r[0], 0xFEFF);
  assert_int_equal(r[1], 0xFFFF);
  assert_int_equal(mb_encode_regs(1, DG_MB_FLOAT64, MB_ORDER_ABCD, r, 3), -EINVAL);
  /* Out-of-range values clamp. */
  assert_int_equal(mb_encode_regs(70000, DG_MB_UINT16, MB_ORDER_ABCD, r, 1), 1);
  assert_int_equal(r[0], 0xFFFF);
  assert_int_equal(mb_encode_regs(-70000, DG_MB_INT16, MB_ORDER_ABCD, r, 1), 1);
  assert_int_equal(r[0], 0x8000);

  const struct { enum dg_mb_type type; double v; } cases[] = {
    {DG_MB_INT16, -12345}, {DG_MB_UINT16, 54321}, {DG_MB_INT32, -123456789},
    {DG_MB_UINT32, 4000000000.0}, {DG_MB_FLOAT32, 0.5}, {DG_MB_INT64, -9007199254740991.0},
    {DG_MB_UINT64, 9007199254740993.0 * 4}, {DG_MB_FLOAT64, -1.0e-300}, {DG_MB_BOOL, 1}};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
    for (int o = 0; o < 4; o++) {
      uint16_t regs[4] = {0};
      int n = mb_encode_regs(cases[c].v, cases[c].type, orders[o], regs, 4);
      assert_int_equal(n, (int)mb_type_registers(cases[c].type, -1));
      assert_true(decode(regs, (size_t)n, cases[c].type, orders[o]) == cases[c].v);
    }
}

static void test_decode_item_scale_offset(void **state)
{
  const uint16_t regs[4] = {0, 1234, 0x42F6, 0xE979};
  const uint8_t bits[3] = {0, 1, 0};
  double v = 0;
  struct mb_item it = {.offset = 1, .type = DG_MB_UINT16, .order = MB_ORDER_ABCD, .bit = -1,
                       .scale = 0.1, .add = -40};
  assert_int_equal(mb_decode_item(&it, DG_MB_HOLDING, regs, NULL, 4, &v), 0);
  assert_true(fabs(v - 83.4) < 1e-9);
  it = (struct mb_item){.offset = 2, .type = DG_MB_FLOAT32, .bit = -1, .scale = 2, .add = 1};
  assert_int_equal(mb_decode_item(&it, DG_MB_INPUT, regs, NULL, 4, &v), 0);
  assert_true(v == 123.456 * 2 + 1);
  it.offset = 3; /* runs past the request */
  assert_int_equal(mb_decode_item(&it, DG_MB_INPUT, regs, NULL, 4, &v), -EINVAL);
  it = (struct mb_item){.offset = 1, .type = DG_MB_BOOL, .bit = -1, .scale = 10, .add = 5};
  assert_int_equal(mb_decode_item(&it, DG_MB_COIL, NULL, bits, 3, &v), 0);
  assert_true(v == 15.0);
  it.offset = 2;
  assert_int_equal(mb_decode_item(&it, DG_MB_DISCRETE, NULL, bits, 3, &v), 0);
  assert_true(v == 5.0);
  it.offset = 3;
  assert_int_equal(mb_decode_item(&it, DG_MB_DISCRETE, NULL, bits, 3, &v), -EINVAL);
}

/* ---- planning ---- */

#define MAX_POINTS 16

struct fixture {
  struct dg_config cfg;
  struct dg_modbus_bus buses[2];
  struct dg_point points[MAX_POINTS];
  struct mb_plan plan;
};

static struct fixture fx;

static int setup(void **state)
{
  memset(&fx, 0, sizeof fx);
  fx.buses[0] = (struct dg_modbus_bus){.id = "b0", .transport = DG_MB_TCP, .host = "127.0.0.1",
                                       .poll_interval_ms = 1000, .max_gap = 8};
  fx.buses[1] = fx.buses[0];
  fx.buses[1].id = "b1";
  fx.cfg.modbus_buses = fx.buses;
  fx.cfg.n_modbus_buses = 2;
  fx.cfg.points = fx.points;
  return 0;
}

static int teardown(void **state)
{
  mb_plan_free(&fx.plan);
  return 0;
}

static struct dg_point *add(int slave, enum dg_mb_space space, uint16_t addr, enum dg_mb_type type)
{
  assert_true(fx.cfg.n_points < MAX_POINTS);
  struct dg_point *p = &fx.points[fx.cfg.n_points];
  *p = (struct dg_point){.id = "p", .driver_kind = DG_DRIVER_MODBUS, .driver_index = 0,
                         .scale = 1, .index = fx.cfg.n_points};
  p->modbus = (struct dg_modbus_binding){.slave = slave, .space = space, .address = addr,
                                         .type = type, .bit = -1};
  fx.cfg.n_points++;
  return p;
}

static void plan(void)
{
  mb_plan_free(&fx.plan);
  assert_int_equal(mb_plan_build(&fx.plan, &fx.cfg, 0), 0);
}

static void assert_req(size_t i, int slave, enum dg_mb_space space, uint16_t addr, uint16_t count,
                       uint32_t n_items)
{
  assert_true(i < fx.plan.n_reqs);
  const struct mb_request *r = &fx.plan.reqs[i];
  assert_int_equal(r->slave, slave);
  assert_int_equal(r->space, space);
  assert_int_equal(r->address, addr);
  assert_int_equal(r->count, count);
  assert_int_equal(r->n_items, n_items);
}

static void test_plan_gap_boundary(void **state)
{
  add(1, DG_MB_HOLDING, 0, DG_MB_UINT16);
  add(1, DG_MB_HOLDING, 9, DG_MB_UINT16); /* gap 8 = max_gap: merged */
  plan();
  assert_int_equal(fx.plan.n_reqs, 1);
  assert_req(0, 1, DG_MB_HOLDING, 0, 10, 2);

  fx.points[1].modbus.address = 10; /* gap 9: split */
  plan();
  assert_int_equal(fx.plan.n_reqs, 2);
  assert_req(0, 1, DG_MB_HOLDING, 0, 1, 1);
  assert_req(1, 1, DG_MB_HOLDING, 10, 1, 1);

  /* The gap counts from the end of a wide point. */
  fx.points[0].modbus.type = DG_MB_FLOAT32; /* covers 0..1, gap to 10 is 8 */
  plan();
  assert_int_equal(fx.plan.n_reqs, 1);
  assert_req(0, 1, DG_MB_HOLDING, 0, 11, 2);
  assert_int_equal(fx.plan.items[1].offset, 10);

  fx.buses[0].max_gap = 0; /* adjacent points only */
  fx.points[1].modbus.address = 2;
  plan();
  assert_int_equal(fx.plan.n_reqs, 1);
  fx.points[1].modbus.address = 3;
  plan();
  assert_int_equal(fx.plan.n_reqs, 2);
}

static void test_plan_register_limit(void **state)
{
  fx.buses[0].max_gap = 500;
  add(1, DG_MB_INPUT, 0, DG_MB_UINT16);
  add(1, DG_MB_INPUT, 124, DG_MB_UINT16);
  plan();
  assert_int_equal(fx.plan.n_reqs, 1);
  assert_req(0, 1, DG_MB_INPUT, 0, 125, 2);

  fx.points[1].modbus.address = 125;
  plan();
  assert_int_equal(fx.plan.n_reqs, 2);

  fx.points[1].modbus.address = 123;
  fx.points[1].modbus.type = DG_MB_FLOAT32; /* ends at 124 */
  plan();
  assert_int_equal(fx.plan.n_reqs, 1);
  assert_req(0, 1, DG_MB_INPUT, 0, 125, 2);

  fx.points[1].modbus.address = 124; /* would end at 125 */
  plan();
  assert_int_equal(fx.plan.n_reqs, 2);
  assert_req(1, 1, DG_MB_INPUT, 124, 2, 1);

  fx.points[1].modbus.address = 121;
  fx.points[1].modbus.type = DG_MB_FLOAT64; /* 121..124 */
  plan();
  assert_int_equal(fx.plan.n_reqs, 1);
  fx.points[1].modbus.address = 122;
  plan();
  assert_int_equal(fx.plan.n_reqs, 2);
}

static void test_plan_many_points_split_into_full_requests(void **state)
{
  struct dg_point pts[300];
  memset(pts, 0, sizeof pts);
  for (size_t i = 0; i < 300; i++) {
    pts[i] = (struct dg_point){.driver_kind = DG_DRIVER_MODBUS, .scale = 1, .index = i};
    pts[i].modbus = (struct dg_modbus_binding){.slave = 3, .space = DG_MB_HOLDING,
                                               .address = (uint16_t)(299 - i), .type = DG_MB_INT16,
                                               .bit = -1};
  }
  fx.cfg.points = pts;
  fx.cfg.n_points = 300;
  plan();
  assert_int_equal(fx.plan.n_reqs, 3);
  assert_req(0, 3, DG_MB_HOLDING, 0, 125, 125);
  assert_req(1, 3, DG_MB_HOLDING, 125, 125, 125);
  assert_req(2, 3, DG_MB_HOLDING, 250, 50, 50);
  /* Items follow addresses and name the right points. */
  assert_int_equal(fx.plan.items[0].point, 299);
  assert_int_equal(fx.plan.items[0].offset, 0);
  assert_int_equal(fx.plan.items[130].point, 299 - 130);
  assert_int_equal(fx.plan.items[130].offset, 5);
  mb_plan_free(&fx.plan);
  fx.cfg.points = fx.points;
  fx.cfg.n_points = 0;
}

static void test_plan_never_merges_groups(void **state)
{
  add(1, DG_MB_HOLDING, 10, DG_MB_UINT16);
  add(2, DG_MB_HOLDING, 11, DG_MB_UINT16);  /* other slave */
  add(1, DG_MB_INPUT, 11, DG_MB_UINT16);    /* other space */
  struct dg_point *fast = add(1, DG_MB_HOLDING, 12, DG_MB_UINT16);
  fast->modbus.poll_ms = 200;               /* other period */
  struct dg_point *same = add(1, DG_MB_HOLDING, 13, DG_MB_UINT16);
  same->modbus.poll_ms = 1000;              /* explicit bus default: same period */
  struct dg_point *other_bus = add(1, DG_MB_HOLDING, 14, DG_MB_UINT16);
  other_bus->driver_index = 1;
  struct dg_point *mqtt = add(1, DG_MB_HOLDING, 15, DG_MB_UINT16);
  mqtt->driver_kind = DG_DRIVER_MQTT;
  plan();
  assert_int_equal(fx.plan.n_items, 5);
  assert_int_equal(fx.plan.n_reqs, 4);
  /* slave 1 holding 200 ms, slave 1 holding 1000 ms, slave 1 input, slave 2 holding */
  assert_req(0, 1, DG_MB_INPUT, 11, 1, 1);
  assert_req(1, 1, DG_MB_HOLDING, 12, 1, 1);
  assert_int_equal(fx.plan.reqs[1].period_ms, 200);
  assert_req(2, 1, DG_MB_HOLDING, 10, 4, 2);
  assert_int_equal(fx.plan.reqs[2].period_ms, 1000);
  assert_req(3, 2, DG_MB_HOLDING, 11, 1, 1);

  mb_plan_free(&fx.plan);
  assert_int_equal(mb_plan_build(&fx.plan, &fx.cfg, 1), 0);
  assert_int_equal(fx.plan.n_reqs, 1);
  assert_int_equal(fx.plan.items[0].point, 5);
}

static void test_plan_bits(void **state)
{
  add(1, DG_MB_COIL, 0, DG_MB_BOOL);
  add(1, DG_MB_COIL, 9, DG_MB_BOOL); /* gap 8 bits: merged */
  add(1, DG_MB_DISCRETE, 0, DG_MB_BOOL);
  plan();
  assert_int_equal(fx.plan.n_reqs, 2);
  assert_req(0, 1, DG_MB_COIL, 0, 10, 2);
  assert_req(1, 1, DG_MB_DISCRETE, 0, 1, 1);

  fx.buses[0].max_gap = 5000;
  fx.points[1].modbus.address = 1999;
  plan();
  assert_req(0, 1, DG_MB_COIL, 0, 2000, 2);
  fx.points[1].modbus.address = 2000;
  plan();
  assert_int_equal(fx.plan.n_reqs, 3);
}

static void test_plan_bits_in_one_register(void **state)
{
  add(1, DG_MB_HOLDING, 7, DG_MB_BOOL)->modbus.bit = 0;
  add(1, DG_MB_HOLDING, 7, DG_MB_BOOL)->modbus.bit = 15;
  add(1, DG_MB_HOLDING, 6, DG_MB_UINT32); /* overlaps register 7 */
  plan();
  assert_int_equal(fx.plan.n_reqs, 1);
  assert_req(0, 1, DG_MB_HOLDING, 6, 2, 3);
  assert_int_equal(fx.plan.items[1].offset, 1);
  assert_int_equal(fx.plan.items[1].bit, 0);
  assert_int_equal(fx.plan.items[2].bit, 15);
}

static void test_plan_rejects_bad_bindings(void **state)
{
  struct dg_point *p = add(1, DG_MB_HOLDING, 65534, DG_MB_UINT32);
  plan(); /* 65534..65535 fits */
  mb_plan_free(&fx.plan);
  p->modbus.type = DG_MB_FLOAT64;
  assert_int_equal(mb_plan_build(&fx.plan, &fx.cfg, 0), -EINVAL);
  p->modbus.type = DG_MB_UINT16;
  p->modbus.slave = 248;
  assert_int_equal(mb_plan_build(&fx.plan, &fx.cfg, 0), -EINVAL);
  p->modbus.slave = 1;
  strcpy(p->modbus.order, "XYZW");
  assert_int_equal(mb_plan_build(&fx.plan, &fx.cfg, 0), -EINVAL);
  strcpy(p->modbus.order, "CDAB");
  p->modbus.space = 0;
  assert_int_equal(mb_plan_build(&fx.plan, &fx.cfg, 0), -EINVAL);
  p->modbus.space = DG_MB_HOLDING;
  p->modbus.bit = 16;
  assert_int_equal(mb_plan_build(&fx.plan, &fx.cfg, 0), -EINVAL);
  p->modbus.bit = -1;
  assert_int_equal(mb_plan_build(&fx.plan, &fx.cfg, 5), -EINVAL);
  plan();
  assert_int_equal(fx.plan.items[0].order, MB_ORDER_CDAB);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_order_parse),
    cmocka_unit_test(test_type_registers),
    cmocka_unit_test(test_float32_orders),
    cmocka_unit_test(test_float32_shortest_decimal),
    cmocka_unit_test(test_int32_uint32_orders),
    cmocka_unit_test(test_64bit_orders),
    cmocka_unit_test(test_16bit_and_bool),
    cmocka_unit_test(test_bit_in_register),
    cmocka_unit_test(test_decode_errors),
    cmocka_unit_test(test_encode_known_and_round_trip),
    cmocka_unit_test(test_decode_item_scale_offset),
    cmocka_unit_test_setup_teardown(test_plan_gap_boundary, setup, teardown),
    cmocka_unit_test_setup_teardown(test_plan_register_limit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_plan_many_points_split_into_full_requests, setup, teardown),
    cmocka_unit_test_setup_teardown(test_plan_never_merges_groups, setup, teardown),
    cmocka_unit_test_setup_teardown(test_plan_bits, setup, teardown),
    cmocka_unit_test_setup_teardown(test_plan_bits_in_one_register, setup, teardown),
    cmocka_unit_test_setup_teardown(test_plan_rejects_bad_bindings, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
