/* libFuzzer target for the config loader: any byte string must load, or fail with one
 * "file:line:col: message" line; never crash, hang or leak.
 *
 * Seed corpus: tests/data/config/ and examples/. */
#include <stdint.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char err[512];
  struct dg_config *c = NULL;
  int rc = config_load_string("fuzz.yaml", (const char *)data, size, &c, err, sizeof err);
  if (rc == 0 && !c) __builtin_trap();
  if (rc != 0 && (c || !err[0] || strchr(err, '\n'))) __builtin_trap();
  config_free(c);
  return 0;
}
