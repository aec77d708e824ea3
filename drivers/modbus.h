/* modbus — Modbus field driver (libmodbus), one thread per configured bus.
 *
 * Threads: every bus (TCP endpoint, serial port, RTU-over-TCP gateway) gets its own pthread
 * that owns the bus's libmodbus context; it polls coalesced block reads on a schedule, decodes
 * them and pushes samples to the sampleq. The loop thread only starts/stops the driver and
 * reads stats (guarded by a per-bus mutex).
 *
 * Faults: a failed read marks exactly the points of that request DG_Q_COMM (timeout, link
 * error, garbled frame) or DG_Q_DEVICE (Modbus exception; gateway exceptions 0x0A/0x0B count
 * as DG_Q_COMM because the target did not answer). After fail_threshold consecutive failures
 * of one slave every point of that slave gets DG_Q_COMM (the comm-loss signal) and the slave
 * is only probed with one request per backoff period until it answers again, so a dead slave
 * costs the others on the bus at most one response timeout per backoff period.
 * A link error closes the connection; reconnects back off exponentially up to
 * reconnect_max_ms. Every failed connect counts as one failure of every slave on the bus.
 * On a stream (TCP, RTU over TCP) an answer out of step with its request (transaction id,
 * unit, function, length or CRC) also closes it: answers to older requests may be queued
 * behind it. Every new connection probes lost slaves at once.
 *
 * Zero-valued bus settings mean their defaults (port 502, baud 9600, parity 'N', 8 data bits,
 * 1 stop bit, response 1000 ms, byte 500 ms, poll 1000 ms, fail_threshold 3,
 * reconnect_max_ms 30000); max_gap and request_pause_ms are taken as given.
 * RTU over TCP frames RTU ADUs (CRC, no MBAP header) over a plain TCP socket: the libmodbus
 * RTU backend is given a connected socket instead of a serial port. */
#ifndef DG_MODBUS_H
#define DG_MODBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "model.h"
#include "sampleq.h"

struct mb_driver;

/* Index = Modbus exception code (1..11); index 0 counts malformed exception responses. */
#define MB_EXCEPTION_CODES 12

struct mb_bus_stats {
  bool connected;
  uint64_t requests;       /* read requests sent */
  uint64_t errors;         /* requests that failed, whatever the cause */
  uint64_t timeouts;       /* requests with no (complete) answer in time */
  uint64_t exceptions;     /* Modbus exception responses */
  uint64_t exception_codes[MB_EXCEPTION_CODES];
  uint64_t connects;       /* successful connects, the first one included */
  uint64_t reconnects;     /* successful connects after the first one */
  uint64_t connect_failures;
  uint32_t last_rtt_us;    /* round trip of the last successful request */
  uint32_t slaves_down;    /* slaves currently past fail_threshold */
  int64_t heartbeat_ms;    /* monotonic ms of the bus thread's last sign of life */
};

/* Loop thread. Plans the reads of every bus in cfg and starts one thread per bus. The driver
 * copies what it needs from cfg: the config may be freed once mb_start returned (point indexes
 * in samples refer to it). Returns 0 or a negative errno (-EINVAL for a binding the plan cannot
 * serve, e.g. an address range past 65535 or an unknown byte order). */
int mb_start(struct mb_driver **out, uv_loop_t *loop, const struct dg_config *cfg,
             struct sampleq *q);
/* Loop thread. Signals every bus thread and joins it (a thread blocked in a Modbus call
 * returns within its response timeout), closes the contexts and frees the driver. After it
 * returns no bus thread pushes to the sampleq again. NULL is accepted. */
void mb_stop(struct mb_driver *m);
size_t mb_bus_count(const struct mb_driver *m);
/* Any thread. Returns 0 or -ENOENT. */
int mb_bus_stats(struct mb_driver *m, size_t bus, struct mb_bus_stats *out);
/* Any thread. Oldest heartbeat of all bus threads (monotonic ms, CLOCK_MONOTONIC), for the
 * systemd watchdog (sdn_heartbeat_fn); the current time when there is no bus. */
int64_t mb_heartbeat_ms(void *driver);

/* ---- Pure decoding and read planning, shared by the driver, tests and fuzzers. ---- */

/* Byte/word order of multi-register values. Letters name the bytes of the value from most to
 * least significant as they appear on the wire: ABCD is the Modbus standard (big-endian words,
 * most significant word first); CDAB swaps the words (least significant word first); BADC swaps
 * the bytes inside each word; DCBA reverses all bytes. 64-bit values extend the same rule over
 * four words (CDAB: words in reverse order). */
enum mb_order { MB_ORDER_ABCD = 0, MB_ORDER_CDAB = 1, MB_ORDER_BADC = 2, MB_ORDER_DCBA = 3 };

/* "ABCD", "CDAB", "BADC", "DCBA" (case-insensitive); NULL or "" = ABCD. Returns the order or
 * -EINVAL. */
int mb_order_parse(const char *s);
/* Registers a register value occupies: 1 (bool, 16-bit, bit-in-register), 2 or 4. */
unsigned mb_type_registers(enum dg_mb_type type, int bit);
/* Decodes n registers (as read, register i at address+i) into the raw value.
 * bit 0..15: bit of the first register as transmitted (order ignored), 0 or 1.
 * DG_MB_BOOL without bit: register != 0. Returns 0, -EINVAL (unknown type, too few registers,
 * bit out of range) or -ERANGE (NaN or infinite float: *raw is still set). */
int mb_decode_regs(const uint16_t *regs, size_t n, enum dg_mb_type type, enum mb_order order,
                   int bit, double *raw);
/* Inverse of mb_decode_regs for simulators and tests (values are truncated toward zero and
 * clamped to the type's range). Returns the registers written or -EINVAL. */
int mb_encode_regs(double raw, enum dg_mb_type type, enum mb_order order, uint16_t *regs,
                   size_t n);

/* One point inside a planned request, with everything needed to decode it. */
struct mb_item {
  uint32_t point;          /* index into config->points */
  uint16_t offset;         /* first register (or bit) of the point inside the request */
  uint8_t type;            /* enum dg_mb_type */
  uint8_t order;           /* enum mb_order */
  int8_t bit;              /* -1, or 0..15 for a bit inside a register */
  double scale;
  double add;              /* the point's offset: value = raw * scale + add */
};

/* One coalesced read: count registers (or bits) from address of one slave and space. */
struct mb_request {
  uint8_t slave;
  uint8_t space;           /* enum dg_mb_space */
  uint16_t address;
  uint16_t count;
  uint32_t period_ms;
  uint32_t first_item;     /* into mb_plan.items */
  uint32_t n_items;
};

#define MB_MAX_READ_REGISTERS 125
#define MB_MAX_READ_BITS 2000

struct mb_plan {
  struct mb_request *reqs;
  size_t n_reqs;
  struct mb_item *items;
  size_t n_items;
};

/* Plans the reads of bus `bus` of cfg: points grouped by (slave, space, poll period), sorted by
 * address, merged while the gap after the previous point is <= max_gap registers (bits for
 * coils and discrete inputs) and the request spans at most 125 registers (2000 bits).
 * Requests are ordered by slave, space, period, address. Returns 0, -EINVAL or -ENOMEM. */
int mb_plan_build(struct mb_plan *plan, const struct dg_config *cfg, size_t bus);
void mb_plan_free(struct mb_plan *plan);
/* Decodes one item of a successful request: regs for register spaces, bits (one byte per bit,
 * as libmodbus returns them) for coils and discrete inputs; n is the request's count.
 * Sets *value to raw * scale + add. Returns 0, -EINVAL or -ERANGE (non-finite value). */
int mb_decode_item(const struct mb_item *it, enum dg_mb_space space, const uint16_t *regs,
                   const uint8_t *bits, size_t n, double *value);

#endif
