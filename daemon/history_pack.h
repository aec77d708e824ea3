/* history_pack — the fixed-width records of packed history (history database schema 4 and 5).
 * A flush is stored as one pack per slice of the log (table sample_packs): records of
 * HISTORY_PACK_REC bytes, point id, time as a signed offset from the pack's base_ms, quality and
 * value. Each slice move turns the slice's packs into one block per point (table sample_blocks):
 * records of HISTORY_BLOCK_REC bytes, time as an unsigned offset from the block's t0, sorted by
 * time (ties in order of arrival); since schema 5 the blocks of one move carry its id in
 * sample_moves. Every field is big-endian, so the `samples` view decodes them in plain SQL
 * (store_history.c); the value is the IEEE 754 double's bits, exact, and 0 bits
 * when the quality is not good (the view answers NULL there).
 * Plain functions, no state; history_pack_records checks a row's length against its count. */
#ifndef DG_HISTORY_PACK_H
#define DG_HISTORY_PACK_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define HISTORY_PACK_REC 17  /* u32 point, i32 dt, u8 quality, f64 value */
#define HISTORY_BLOCK_REC 13 /* u32 dt, u8 quality, f64 value */
/* Records of one pack or block at most: the view's sequence table has this many rows. */
#define HISTORY_PACK_MAX 4096
/* A block's samples lie within this span of its t0 (readers bound their index scans by it). */
#define HISTORY_BLOCK_SPAN_MS (3600LL * 1000)
/* Row ids of blocks and packs are multiplied by this for the `samples` view's rowids. */
#define HISTORY_PACK_ROWID_SCALE 65536

struct history_sample {
  int64_t ts_ms;
  double value;              /* meaningful when quality is good (0) */
  uint32_t point;            /* point_ids.id (packs; blocks leave it as the caller set it) */
  uint8_t quality;
};

void history_pack_put(uint8_t *rec, uint32_t point, int32_t dt, uint8_t quality, double value);
void history_pack_get(const uint8_t *rec, int64_t base_ms, struct history_sample *s);
void history_block_put(uint8_t *rec, uint32_t dt, uint8_t quality, double value);
void history_block_get(const uint8_t *rec, int64_t t0, struct history_sample *s);
/* The records of the pack or block in row st (its id in column 0, its data in data_col), n of
 * rec bytes each; NULL, logged (rate-limited), when the length disagrees with n. */
const uint8_t *history_pack_records(sqlite3_stmt *st, int data_col, int64_t n, size_t rec, const char *what);

#endif
