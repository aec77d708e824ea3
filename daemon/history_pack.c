#include "history_pack.h"

#include <string.h>

#include "log.h"
#include "sampleq.h"

static void history_pack__u32(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static uint32_t history_pack__get_u32(const uint8_t *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* quality, then the value's bits (0 unless good) */
static void history_pack__qv(uint8_t *p, uint8_t quality, double value)
{
  uint64_t bits = 0;
  if (quality == DG_Q_GOOD) memcpy(&bits, &value, sizeof bits);
  p[0] = quality;
  history_pack__u32(p + 1, (uint32_t)(bits >> 32));
  history_pack__u32(p + 5, (uint32_t)bits);
}

static void history_pack__get_qv(const uint8_t *p, struct history_sample *s)
{
  uint64_t bits = (uint64_t)history_pack__get_u32(p + 1) << 32 | history_pack__get_u32(p + 5);
  s->quality = p[0];
  memcpy(&s->value, &bits, sizeof bits);
}

void history_pack_put(uint8_t *rec, uint32_t point, int32_t dt, uint8_t quality, double value)
{
  history_pack__u32(rec, point);
  history_pack__u32(rec + 4, (uint32_t)dt);
  history_pack__qv(rec + 8, quality, value);
}

void history_pack_get(const uint8_t *rec, int64_t base_ms, struct history_sample *s)
{
  s->point = history_pack__get_u32(rec);
  s->ts_ms = base_ms + (int32_t)history_pack__get_u32(rec + 4);
  history_pack__get_qv(rec + 8, s);
}

void history_block_put(uint8_t *rec, uint32_t dt, uint8_t quality, double value)
{
  history_pack__u32(rec, dt);
  history_pack__qv(rec + 4, quality, value);
}

void history_block_get(const uint8_t *rec, int64_t t0, struct history_sample *s)
{
  s->ts_ms = t0 + history_pack__get_u32(rec);
  history_pack__get_qv(rec + 4, s);
}

const uint8_t *history_pack_records(sqlite3_stmt *st, int data_col, int64_t n, size_t rec, const char *what)
{
  const uint8_t *data = sqlite3_column_blob(st, data_col);
  if (n >= 0 && n <= HISTORY_PACK_MAX && sqlite3_column_bytes(st, data_col) == n * (int64_t)rec) return data;
  DG_LOG_RL(DG_LOG_ERR, "history", "%s %lld is damaged (%lld records, %d bytes): left out", what,
            (long long)sqlite3_column_int64(st, 0), (long long)n, sqlite3_column_bytes(st, data_col));
  return NULL;
}
