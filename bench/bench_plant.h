/* The plant the benches load: n points on 100 units (n a multiple of 100), one measure per
 * point, one monitored high rule per point (limit BENCH_PLANT_LIMIT, deadband
 * BENCH_PLANT_DEADBAND) and, with two_rules, a low rule too (limit 5). The points are MQTT
 * topics (bench_plant_write, with one webhook channel for every priority) or Modbus holding
 * registers (bench_plant_write_modbus). bench_plant_history_prefill gives its history the rows a
 * running plant has. Static: include once per bench program. */
#ifndef DG_BENCH_PLANT_H
#define DG_BENCH_PLANT_H

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "history.h"
#include "history_pack.h"

#define BENCH_PLANT_LIMIT 80.0
#define BENCH_PLANT_DEADBAND 2.0
#define BENCH_PLANT_REGS_PER_SLAVE 1000
#define BENCH_PLANT_SLAVES_PER_BUS 25

/* Site, the daemon's settings, a person, and the hazard source with its 100 units, each with
 * n / 100 measures. */
static inline void bench_plant__model(FILE *f, int n)
{
  fprintf(f, "site: {code: \"410700-0001\", name: bench}\n"
             "daemon: {http: {listen: 127.0.0.1, port: 0, open_reads_on_loopback: true}, history_flush: 1s}\n"
             "persons:\n  - {id: li, name: 李主任, roles: [workshop_director]}\n"
             "hazard_sources:\n  - id: HS01\n    name: bench\n    type: 储罐\n    units:\n");
  for (int u = 0; u < 100; u++) {
    fprintf(f, "      - id: U%03d\n        name: unit %d\n        responsible: {dept: d, person: li}\n"
               "        events:\n          - id: E%03d\n            name: e\n            accident_type: 中毒和窒息\n"
               "            lec: {l: 1, e: 1, c: 1}\n            measures:\n", u, u, u);
    for (int m = 0; m < n / 100; m++)
      fprintf(f, "              - {id: M%06d, desc: m, classify: \"1-4\", data_src: 1}\n", u * (n / 100) + m);
  }
}

static inline void bench_plant__rules(FILE *f, int n, int two_rules)
{
  fprintf(f, "rules:\n");
  for (int i = 0; i < n; i++) {
    fprintf(f, "  - {id: R%06d, type: high, point: P%06d, measure: M%06d, deadband: %g,"
               " stages: [{name: H, limit: %g, priority: high}]}\n", i, i, i, BENCH_PLANT_DEADBAND, BENCH_PLANT_LIMIT);
    if (two_rules)
      fprintf(f, "  - {id: L%06d, type: low, point: P%06d, deadband: 1, stages: [{name: L, limit: 5, priority: low}]}\n",
              i, i);
  }
}

/* n MQTT points (topic bench/p/<i>, JSON {"value", "ts"}) on the broker at mqtt_port, and a
 * webhook channel to sink_port for every priority. */
static inline int bench_plant_write(const char *path, uint16_t mqtt_port, uint16_t sink_port, int qos, int n, int two_rules)
{
  FILE *f = fopen(path, "w");
  if (!f) return -errno;
  bench_plant__model(f, n);
  fprintf(f, "mqtt:\n  - {id: main, uri: \"tcp://127.0.0.1:%u\", client_id: bench-dualguard, qos: %d}\npoints:\n",
          mqtt_port, qos);
  for (int i = 0; i < n; i++)
    fprintf(f, "  - {id: P%06d, unit_id: U%03d, driver: mqtt.main, topic: bench/p/%d, path: value, ts_path: ts}\n", i,
            i / (n / 100), i);
  bench_plant__rules(f, n, two_rules);
  fprintf(f, "channels:\n  - {id: sink, type: webhook, url: \"http://127.0.0.1:%u/hook\", timeout: 5s, expire: 1h}\n"
             "policies:\n  - {id: all, priorities: [low, medium, high, critical], channels: [sink]}\n", sink_port);
  return fclose(f) ? -errno : 0;
}

/* n Modbus points (n a multiple of BENCH_PLANT_REGS_PER_SLAVE * BENCH_PLANT_SLAVES_PER_BUS):
 * point i is holding register i % 1000 of slave 1 + (i / 1000) % 25 on bus i / 25000, a TCP
 * server on 127.0.0.1:ports[bus]; value = raw x 0.1; every bus polled every poll_ms, both
 * rules per point. */
static inline int bench_plant_write_modbus(const char *path, const uint16_t *ports, int n, int poll_ms)
{
  const int per_bus = BENCH_PLANT_REGS_PER_SLAVE * BENCH_PLANT_SLAVES_PER_BUS;
  FILE *f = fopen(path, "w");
  if (!f) return -errno;
  bench_plant__model(f, n);
  fprintf(f, "modbus:\n");
  for (int b = 0; b < n / per_bus; b++)
    fprintf(f, "  - {id: b%d, transport: tcp, host: 127.0.0.1, port: %u, poll_interval: %dms}\n", b, ports[b], poll_ms);
  fprintf(f, "points:\n");
  for (int i = 0; i < n; i++)
    fprintf(f, "  - {id: P%06d, unit_id: U%03d, driver: modbus.b%d, slave: %d, holding: %d, scale: 0.1}\n", i,
            i / (n / 100), i / per_bus, 1 + (i / BENCH_PLANT_REGS_PER_SLAVE) % BENCH_PLANT_SLAVES_PER_BUS,
            i % BENCH_PLANT_REGS_PER_SLAVE);
  bench_plant__rules(f, n, 1);
  return fclose(f) ? -errno : 0;
}

/* History as a plant has it after a while: rows samples of each of the n points, named by the
 * printf format name_fmt applied to 0 .. n - 1, spacing_ms apart and ending now, in blocks of
 * BENCH_PLANT_BLOCK samples (history_pack.h), each block in the move of its slice and time, as
 * the daemon's moves leave them (one move per slice per BENCH_PLANT_BLOCK samples). Written into
 * <db>-history, whose schema a start of the daemon or an open store created, while its writer is
 * idle. */
#define BENCH_PLANT_BLOCK 30
static inline int bench_plant_history_prefill(const char *db, const char *name_fmt, int n, int rows, int spacing_ms)
{
  char path[PATH_MAX + 16], name[64];
  snprintf(path, sizeof path, "%s-history", db);
  sqlite3 *h = NULL;
  sqlite3_stmt *add = NULL, *get = NULL, *block = NULL, *move = NULL;
  int rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL);
  if (h) sqlite3_busy_timeout(h, 5000);
  if (rc == SQLITE_OK) rc = sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(h, "INSERT OR IGNORE INTO point_ids (name) VALUES (?1)", -1, &add, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(h, "SELECT id FROM point_ids WHERE name = ?1", -1, &get, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(h, "INSERT INTO sample_blocks (point, t0, t1, n, data, move) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            -1, &block, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(h, "INSERT INTO sample_moves (id, slice, t0, t1) VALUES (?1, ?2, ?3, ?4)", -1, &move, NULL);
  long long first_ms = (long long)time(NULL) * 1000 - (long long)rows * spacing_ms, move0 = 0;
  sqlite3_stmt *last = NULL; /* move ids: after the daemon's, + 1 + the block's place in time * slices + the slice */
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(h, "SELECT coalesce(max(id), 0) FROM sample_moves", -1, &last, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(last) == SQLITE_ROW ? SQLITE_OK : SQLITE_ERROR;
  if (rc == SQLITE_OK) move0 = sqlite3_column_int64(last, 0);
  sqlite3_finalize(last);
  for (int j = 0; rc == SQLITE_OK && j < rows; j += BENCH_PLANT_BLOCK)
    for (int s = 0; rc == SQLITE_OK && s < HISTORY_LOG_SLICES; s++) {
      int k = rows - j < BENCH_PLANT_BLOCK ? rows - j : BENCH_PLANT_BLOCK;
      long long t0 = first_ms + (long long)j * spacing_ms;
      sqlite3_bind_int64(move, 1, move0 + 1 + (long long)j / BENCH_PLANT_BLOCK * HISTORY_LOG_SLICES + s);
      sqlite3_bind_int(move, 2, s);
      sqlite3_bind_int64(move, 3, t0);
      sqlite3_bind_int64(move, 4, t0 + (long long)(k - 1) * spacing_ms);
      rc = sqlite3_step(move) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
      sqlite3_reset(move);
    }
  uint8_t data[BENCH_PLANT_BLOCK * HISTORY_BLOCK_REC];
  for (int b = 0; b < BENCH_PLANT_BLOCK; b++)
    history_block_put(data + b * HISTORY_BLOCK_REC, (uint32_t)(b * spacing_ms), 0, 50);
  for (int i = 0; rc == SQLITE_OK && i < n; i++) {
    snprintf(name, sizeof name, name_fmt, i);
    sqlite3_bind_text(add, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(get, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(add) == SQLITE_DONE && sqlite3_step(get) == SQLITE_ROW ? SQLITE_OK : SQLITE_ERROR;
    int64_t id = rc == SQLITE_OK ? sqlite3_column_int64(get, 0) : 0;
    sqlite3_reset(add);
    sqlite3_reset(get);
    for (int j = 0; rc == SQLITE_OK && j < rows; j += BENCH_PLANT_BLOCK) {
      int k = rows - j < BENCH_PLANT_BLOCK ? rows - j : BENCH_PLANT_BLOCK;
      long long t0 = first_ms + (long long)j * spacing_ms;
      sqlite3_bind_int64(block, 1, id);
      sqlite3_bind_int64(block, 2, t0);
      sqlite3_bind_int64(block, 3, t0 + (long long)(k - 1) * spacing_ms);
      sqlite3_bind_int(block, 4, k);
      sqlite3_bind_blob(block, 5, data, k * HISTORY_BLOCK_REC, SQLITE_STATIC);
      sqlite3_bind_int64(block, 6, move0 + 1 + (long long)j / BENCH_PLANT_BLOCK * HISTORY_LOG_SLICES + id % HISTORY_LOG_SLICES);
      rc = sqlite3_step(block) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
      sqlite3_reset(block);
    }
  }
  sqlite3_finalize(add);
  sqlite3_finalize(get);
  sqlite3_finalize(block);
  sqlite3_finalize(move);
  if (rc == SQLITE_OK) rc = sqlite3_exec(h, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE);", NULL, NULL, NULL);
  if (rc != SQLITE_OK) fprintf(stderr, "history prefill of %s: %s\n", path, sqlite3_errmsg(h));
  sqlite3_close(h);
  return rc == SQLITE_OK ? 0 : -EIO;
}

#endif
