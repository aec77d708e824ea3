/* libFuzzer target for the plant-model edit replay (config_load_edits_string): edits built from
 * the input are spliced into a fixed plant's YAML tree before validation. Any edit must load, be
 * skipped, or fail with one "file: path: message" line; never crash, hang or leak.
 *
 * Input: up to four edits separated by 0xFF bytes; in each, byte 0 picks the op, byte 1 the
 * kind, bytes 2 and 3 the entity and parent ids from a small list, the rest is the JSON body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static const char plant[] =
  "site: { code: F1 }\n"
  "persons: [ { id: li } ]\n"
  "hazard_sources:\n"
  "  - id: HS1\n"
  "    units:\n"
  "      - id: U1\n"
  "        responsible: { person: li }\n"
  "        events:\n"
  "          - { id: E1, lec: { l: 3, e: 6, c: 40 }, measures: [ { id: M1, data_src: 1 }, { id: M2, data_src: 2 } ] }\n"
  "mqtt: [ { id: m, uri: \"tcp://127.0.0.1:1\", client_id: f } ]\n"
  "points: [ { id: P1, unit_id: U1, driver: mqtt.m, topic: t/p1 } ]\n"
  "rules: [ { id: R1, type: high, point: P1, measure: M1, stages: [ { name: H, limit: 1, priority: high } ] } ]\n";

static const char *const ops[] = {"create", "update", "delete"};
static const char *const kinds[] = {"hazard_source", "unit", "event", "measure"};
static const char *const ids[] = {"HS1", "U1", "E1", "M1", "M2", "HS2", "U2", "E2", "M3", "", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct config_edit edits[4];
  char *bodies[4] = {0};
  size_t n = 0, pos = 0;
  while (n < 4 && pos + 4 <= size) {
    size_t end = pos + 4;
    while (end < size && data[end] != 0xFF) end++;
    bodies[n] = malloc(end - pos - 4 + 1);
    if (!bodies[n]) break;
    memcpy(bodies[n], data + pos + 4, end - pos - 4);
    bodies[n][end - pos - 4] = '\0';
    edits[n] = (struct config_edit){.id = (long long)n + 1, .op = ops[data[pos] % 3], .kind = kinds[data[pos + 1] % 4],
                                    .entity = ids[data[pos + 2] % 11], .parent = ids[data[pos + 3] % 11],
                                    .body = bodies[n]};
    n++;
    pos = end + 1;
  }
  char err[512];
  struct dg_config *c = NULL;
  int rc = config_load_edits_string("fuzz.yaml", plant, sizeof plant - 1, edits, n, &c, err, sizeof err);
  if (rc == 0 && !c) __builtin_trap();
  if (rc != 0 && (c || !err[0] || strchr(err, '\n'))) __builtin_trap();
  config_free(c);
  for (size_t i = 0; i < n; i++) free(bodies[i]);
  return 0;
}
