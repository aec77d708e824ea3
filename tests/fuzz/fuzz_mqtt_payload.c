/* libFuzzer target: mqtt_parse_payload must never crash, read out of bounds or leak, and must
 * only report finite values, whatever the broker hands us. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "mqtt.h"

static const struct dg_mqtt_binding bindings[] = {
  {.topic = "f/bare"},
  {.topic = "f/value", .path = "value"},
  {.topic = "f/dollar", .path = "$.value", .ts_path = "ts"},
  {.topic = "f/nested", .path = "data.ch4", .ts_path = "ts"},
  {.topic = "f/array", .path = "values.2", .ts_path = "meta.ts"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  for (size_t i = 0; i < sizeof bindings / sizeof bindings[0]; i++) {
    double value = 0;
    int64_t ts = -1;
    const char *why = NULL;
    int rc = mqtt_parse_payload(&bindings[i], (const char *)data, size, &value, &ts, &why);
    if (rc == 0 && !isfinite(value)) abort();
    if (rc != 0 && (!why || !*why)) abort();
    if (ts != -1 && ts < 0) abort();
  }
  return 0;
}
