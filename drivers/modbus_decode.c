/* Pure parts of the Modbus driver: register decoding and read planning. */
#include "modbus.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MB_DEFAULT_POLL_MS 1000

int mb_order_parse(const char *s)
{
  static const char *const names[] = {
    [MB_ORDER_ABCD] = "ABCD", [MB_ORDER_CDAB] = "CDAB", [MB_ORDER_BADC] = "BADC",
    [MB_ORDER_DCBA] = "DCBA"};
  if (!s || !*s) return MB_ORDER_ABCD;
  for (int i = 0; i < 4; i++)
    if (strcasecmp(s, names[i]) == 0) return i;
  return -EINVAL;
}

unsigned mb_type_registers(enum dg_mb_type type, int bit)
{
  if (bit >= 0) return 1;
  switch (type) {
  case DG_MB_INT32: case DG_MB_UINT32: case DG_MB_FLOAT32: return 2;
  case DG_MB_INT64: case DG_MB_UINT64: case DG_MB_FLOAT64: return 4;
  default: return 1;
  }
}

/* Every order is its own inverse, so the same permutation maps wire bytes to value bytes
 * (most significant first) and back. */
static void mb__permute(const uint8_t *in, uint8_t *out, size_t nbytes, enum mb_order order)
{
  size_t words = nbytes / 2;
  for (size_t i = 0; i < nbytes; i++) {
    size_t w = i / 2, b = i % 2, src;
    switch (order) {
    case MB_ORDER_CDAB: src = (words - 1 - w) * 2 + b; break;
    case MB_ORDER_BADC: src = w * 2 + (1 - b); break;
    case MB_ORDER_DCBA: src = nbytes - 1 - i; break;
    default: src = i; break;
    }
    out[i] = in[src];
  }
}

static uint64_t mb__value_bits(const uint16_t *regs, size_t words, enum mb_order order)
{
  uint8_t wire[8], val[8];
  for (size_t i = 0; i < words; i++) {
    wire[2 * i] = (uint8_t)(regs[i] >> 8);
    wire[2 * i + 1] = (uint8_t)regs[i];
  }
  mb__permute(wire, val, words * 2, order);
  uint64_t v = 0;
  for (size_t i = 0; i < words * 2; i++) v = v << 8 | val[i];
  return v;
}

static void mb__store_bits(uint64_t v, uint16_t *regs, size_t words, enum mb_order order)
{
  uint8_t wire[8], val[8];
  for (size_t i = 0; i < words * 2; i++) val[i] = (uint8_t)(v >> (8 * (words * 2 - 1 - i)));
  mb__permute(val, wire, words * 2, order);
  for (size_t i = 0; i < words; i++) regs[i] = (uint16_t)(wire[2 * i] << 8 | wire[2 * i + 1]);
}

static bool mb__valid_type(int type) { return type >= DG_MB_BOOL && type <= DG_MB_FLOAT64; }
static bool mb__valid_order(int order) { return order >= MB_ORDER_ABCD && order <= MB_ORDER_DCBA; }

/* The decimal a float32 stands for, as a double: the shortest text that reads back as the same
 * float (1.2f is 1.2, not 1.2000000476837158), so values, history and alarms show what the
 * device meant. */
static double mb__float_value(float f)
{
  char text[32];
  for (int digits = 6; digits < 9; digits++) {
    snprintf(text, sizeof text, "%.*g", digits, (double)f);
    if (strtof(text, NULL) == f) return strtod(text, NULL);
  }
  return f;
}

int mb_decode_regs(const uint16_t *regs, size_t n, enum dg_mb_type type, enum mb_order order,
                   int bit, double *raw)
{
  if (!mb__valid_type(type) || !mb__valid_order(order) || bit < -1 || bit > 15) return -EINVAL;
  size_t words = mb_type_registers(type, bit);
  if (n < words) return -EINVAL;
  if (bit >= 0) {
    *raw = (regs[0] >> bit) & 1u;
    return 0;
  }
  uint64_t v = mb__value_bits(regs, words, order);
  switch (type) {
  case DG_MB_BOOL: *raw = v != 0; return 0;
  case DG_MB_INT16: *raw = (int16_t)(uint16_t)v; return 0;
  case DG_MB_UINT16: *raw = (uint16_t)v; return 0;
  case DG_MB_INT32: *raw = (int32_t)(uint32_t)v; return 0;
  case DG_MB_UINT32: *raw = (uint32_t)v; return 0;
  case DG_MB_INT64: *raw = (double)(int64_t)v; return 0;
  case DG_MB_UINT64: *raw = (double)v; return 0;
  case DG_MB_FLOAT32: {
    uint32_t u = (uint32_t)v;
    float f;
    memcpy(&f, &u, sizeof f);
    if (!isfinite(f)) {
      *raw = f;
      return -ERANGE;
    }
    *raw = mb__float_value(f);
    return 0;
  }
  case DG_MB_FLOAT64: {
    double d;
    memcpy(&d, &v, sizeof d);
    *raw = d;
    return isfinite(d) ? 0 : -ERANGE;
  }
  }
  return -EINVAL;
}

static double mb__clamp(double x, double lo, double hi)
{
  if (isnan(x)) return 0;
  return x < lo ? lo : x > hi ? hi : x;
}

int mb_encode_regs(double raw, enum dg_mb_type type, enum mb_order order, uint16_t *regs,
                   size_t n)
{
  if (!mb__valid_type(type) || !mb__valid_order(order)) return -EINVAL;
  size_t words = mb_type_registers(type, -1);
  if (n < words) return -EINVAL;
  uint64_t v = 0;
  switch (type) {
  case DG_MB_BOOL: v = raw != 0; break;
  case DG_MB_INT16: v = (uint16_t)(int16_t)mb__clamp(raw, INT16_MIN, INT16_MAX); break;
  case DG_MB_UINT16: v = (uint16_t)mb__clamp(raw, 0, UINT16_MAX); break;
  case DG_MB_INT32: v = (uint32_t)(int32_t)mb__clamp(raw, INT32_MIN, INT32_MAX); break;
  case DG_MB_UINT32: v = (uint32_t)mb__clamp(raw, 0, UINT32_MAX); break;
  /* 2^63 and 2^64 are exact doubles; the largest doubles below them convert safely. */
  case DG_MB_INT64:
    v = (uint64_t)(int64_t)mb__clamp(raw, -9223372036854775808.0, 9223372036854774784.0);
    break;
  case DG_MB_UINT64: v = (uint64_t)mb__clamp(raw, 0, 18446744073709549568.0); break;
  case DG_MB_FLOAT32: {
    float f = (float)raw;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    v = u;
    break;
  }
  case DG_MB_FLOAT64: memcpy(&v, &raw, sizeof v); break;
  }
  mb__store_bits(v, regs, words, order);
  return (int)words;
}

int mb_decode_item(const struct mb_item *it, enum dg_mb_space space, const uint16_t *regs,
                   const uint8_t *bits, size_t n, double *value)
{
  double raw;
  int rc = 0;
  if (space == DG_MB_COIL || space == DG_MB_DISCRETE) {
    if (!bits || it->offset >= n) return -EINVAL;
    raw = bits[it->offset] ? 1 : 0;
  } else if (it->bit < 0 && (it->type == DG_MB_UINT16 || it->type == DG_MB_INT16) &&
             (it->order == MB_ORDER_ABCD || it->order == MB_ORDER_CDAB)) {
    /* The common case, on every sample: one register whose word order cannot matter. */
    if (!regs || it->offset >= n) return -EINVAL;
    uint16_t w = regs[it->offset];
    raw = it->type == DG_MB_UINT16 ? (double)w : (double)(int16_t)w;
  } else {
    size_t words = mb_type_registers(it->type, it->bit);
    if (!regs || (size_t)it->offset + words > n) return -EINVAL;
    rc = mb_decode_regs(regs + it->offset, words, it->type, it->order, it->bit, &raw);
    if (rc == -EINVAL) return rc;
  }
  *value = raw * it->scale + it->add;
  if (rc == 0 && !isfinite(*value)) rc = -ERANGE;
  return rc;
}

/* ---- planning ---- */

struct mb__entry {
  uint8_t slave, space;
  uint32_t period_ms;
  uint32_t address, width;
  struct mb_item item;
};

static int mb__entry_cmp(const void *pa, const void *pb)
{
  const struct mb__entry *a = pa, *b = pb;
  if (a->slave != b->slave) return a->slave < b->slave ? -1 : 1;
  if (a->space != b->space) return a->space < b->space ? -1 : 1;
  if (a->period_ms != b->period_ms) return a->period_ms < b->period_ms ? -1 : 1;
  if (a->address != b->address) return a->address < b->address ? -1 : 1;
  if (a->item.point != b->item.point) return a->item.point < b->item.point ? -1 : 1;
  return 0;
}

static bool mb__is_bit_space(int space) { return space == DG_MB_COIL || space == DG_MB_DISCRETE; }

static int mb__entry_from_point(struct mb__entry *e, const struct dg_point *p, size_t index,
                                const struct dg_modbus_bus *bus)
{
  const struct dg_modbus_binding *b = &p->modbus;
  if (b->slave < 0 || b->slave > 247) return -EINVAL;
  if (b->space < DG_MB_COIL || b->space > DG_MB_HOLDING) return -EINVAL;
  int order = mb_order_parse(b->order);
  if (order < 0) return -EINVAL;
  bool bits = mb__is_bit_space(b->space);
  int type = bits ? DG_MB_BOOL : b->type;
  if (!mb__valid_type(type) || b->bit < -1 || b->bit > 15) return -EINVAL;
  int bit = bits ? -1 : b->bit;
  e->slave = (uint8_t)b->slave;
  e->space = (uint8_t)b->space;
  e->period_ms = b->poll_ms ? b->poll_ms : bus->poll_interval_ms ? bus->poll_interval_ms
                                                                 : MB_DEFAULT_POLL_MS;
  e->address = b->address;
  e->width = bits ? 1 : mb_type_registers(type, bit);
  if (e->address + e->width > 65536) return -EINVAL;
  e->item = (struct mb_item){.point = (uint32_t)index, .type = (uint8_t)type,
                             .order = (uint8_t)order, .bit = (int8_t)bit, .scale = p->scale,
                             .add = p->offset};
  return 0;
}

static bool mb__same_group(const struct mb__entry *a, const struct mb__entry *b)
{
  return a->slave == b->slave && a->space == b->space && a->period_ms == b->period_ms;
}

static void mb__merge(struct mb_plan *plan, struct mb__entry *e, size_t n, uint32_t max_gap)
{
  struct mb_request *r = NULL;
  uint32_t end = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t limit = mb__is_bit_space(e[i].space) ? MB_MAX_READ_BITS : MB_MAX_READ_REGISTERS;
    uint32_t new_end = e[i].address + e[i].width;
    if (new_end < end) new_end = end;
    bool fits = r && mb__same_group(&e[i - 1], &e[i]) &&
                (e[i].address <= end || e[i].address - end <= max_gap) &&
                new_end - r->address <= limit;
    if (!fits) {
      r = &plan->reqs[plan->n_reqs++];
      *r = (struct mb_request){.slave = e[i].slave, .space = e[i].space,
                               .address = (uint16_t)e[i].address, .period_ms = e[i].period_ms,
                               .first_item = (uint32_t)plan->n_items};
      new_end = e[i].address + e[i].width;
    }
    end = new_end;
    r->count = (uint16_t)(end - r->address);
    struct mb_item *it = &plan->items[plan->n_items++];
    *it = e[i].item;
    it->offset = (uint16_t)(e[i].address - r->address);
    r->n_items++;
  }
}

int mb_plan_build(struct mb_plan *plan, const struct dg_config *cfg, size_t bus)
{
  memset(plan, 0, sizeof *plan);
  if (bus >= cfg->n_modbus_buses) return -EINVAL;
  const struct dg_modbus_bus *b = &cfg->modbus_buses[bus];
  size_t n = 0;
  for (size_t i = 0; i < cfg->n_points; i++)
    if (cfg->points[i].driver_kind == DG_DRIVER_MODBUS && cfg->points[i].driver_index == bus) n++;
  if (n == 0) return 0;

  int rc = -ENOMEM;
  struct mb__entry *e = calloc(n, sizeof *e);
  plan->reqs = calloc(n, sizeof *plan->reqs);
  plan->items = calloc(n, sizeof *plan->items);
  if (!e || !plan->reqs || !plan->items) goto fail;
  size_t k = 0;
  for (size_t i = 0; i < cfg->n_points; i++) {
    const struct dg_point *p = &cfg->points[i];
    if (p->driver_kind != DG_DRIVER_MODBUS || p->driver_index != bus) continue;
    rc = mb__entry_from_point(&e[k++], p, i, b);
    if (rc < 0) goto fail;
  }
  qsort(e, n, sizeof *e, mb__entry_cmp);
  mb__merge(plan, e, n, b->max_gap);
  free(e);
  return 0;
fail:
  free(e);
  mb_plan_free(plan);
  return rc;
}

void mb_plan_free(struct mb_plan *plan)
{
  free(plan->reqs);
  free(plan->items);
  memset(plan, 0, sizeof *plan);
}
