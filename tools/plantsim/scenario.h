/* scenario — plantsim's signal profiles, loaded from YAML (format in README.md).
 *
 * A scenario is a set of signals; each publishes on one topic every `period` a value computed
 * from its profile: segments that start at a time offset and hold until the next one. Scenario
 * time may loop. Evaluation is pure apart from the noise generator and the "stuck" memory. */
#ifndef PS_SCENARIO_H
#define PS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* PS_SILENT and PS_EXCEPTION only apply to Modbus signals: the device stops answering, or
 * answers the signal's registers with Modbus exception `code`. */
enum ps_kind { PS_CONST = 1, PS_RAMP, PS_STEP, PS_NOISE, PS_DROP, PS_STUCK, PS_SILENT, PS_EXCEPTION };
enum ps_format { PS_JSON = 1, PS_BARE };

struct ps_segment {
  double at_s;
  enum ps_kind kind;
  double value, from, to;
  double amplitude;  /* uniform noise +-amplitude added to the value (0: none) */
  double end_s;      /* ramp: where `to` is reached */
  int code;          /* exception: Modbus exception code 1..255 */
};

/* A signal served by plantsim's Modbus TCP server on `port` instead of published on a topic:
 * the register value is (value - offset) / scale encoded as `type` in byte order `order`. */
struct ps_modbus {
  uint16_t port;
  uint8_t unit;
  enum dg_mb_space space;
  uint16_t address;
  enum dg_mb_type type;
  int order;         /* enum mb_order */
  double scale, offset;
  /* rtu: served as Modbus RTU instead of TCP (port unused): on a pty whose slave side is
   * symlinked at rtu_link, or on the serial device rtu_device at rtu_baud. */
  char *rtu_link;
  char *rtu_device;
  uint32_t rtu_baud;
};

struct ps_signal {
  char *topic;       /* NULL for a Modbus signal */
  enum ps_format format;
  char *json_path;   /* json: dotted path of the value, default "value" */
  bool with_ts;      /* json: add "ts": epoch milliseconds at the top level */
  double period_s;
  double loop_s;     /* 0: no loop (the last segment holds) */
  struct ps_segment *segments;
  size_t n_segments;
  int qos;
  bool retain;
  /* Evaluation state. */
  bool has_last;
  double last_value;
  bool is_modbus;
  struct ps_modbus mb;
};

struct ps_scenario {
  char *path;
  struct ps_signal *signals;
  size_t n_signals;
  double loop_s;     /* default loop of every signal */
  double duration_s; /* explicit length of one play-through, 0 if not given */
  uint64_t rng;
};

/* Returns 0, or -EINVAL/-ENOENT with "file:line:col: message" (or "file: message") in err. */
int ps_load(const char *path, struct ps_scenario *out, char *err, size_t errlen);
void ps_free(struct ps_scenario *s);

/* Length of one play-through, used by --once: `duration`, else the loop, else the latest
 * segment start or ramp end of any signal. *inclusive tells whether a sample falling exactly
 * at that length belongs to the play-through (true only in the last case). */
double ps_length(const struct ps_scenario *s, bool *inclusive);

/* Value of `sig` at scenario time t (seconds since start). Returns false when the profile
 * says nothing is published at t (drop, or before the first segment). */
bool ps_value(struct ps_scenario *s, struct ps_signal *sig, double t, double *value);

/* The segment in force at scenario time t, NULL before the first one. */
const struct ps_segment *ps_segment_at(const struct ps_signal *sig, double t);

/* Payload for `value` in the signal's format. Returns its length, or -1 if it does not fit. */
int ps_payload(const struct ps_signal *sig, double value, int64_t ts_ms, char *buf, size_t len);

/* "1s", "500ms", "2m", "1h", "1.5" (seconds). Returns 0 or -EINVAL. */
int ps_parse_duration(const char *s, size_t len, double *seconds);

#endif
