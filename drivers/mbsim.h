/* mbsim — a Modbus TCP server (libmodbus) on its own thread, serving simulated devices.
 *
 * One listening socket serves several unit ids, each with its own register map
 * (modbus_mapping_new_start_address; every unit gets the same layout). Any thread may change
 * values, make a range answer with an exception, or make a unit go silent (requests are read
 * and dropped, connections stay open). Requests for unit ids not served get no answer.
 * Used by tests, benches and plantsim. */
#ifndef DG_MBSIM_H
#define DG_MBSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct mbsim;

struct mbsim_opts {
  const char *host;          /* listen address (numeric), default "127.0.0.1" */
  uint16_t port;             /* 0: an ephemeral port, see mbsim_port() */
  const uint8_t *units;      /* unit ids served (0..247); NULL: unit 1 only */
  size_t n_units;
  uint16_t start;            /* first address of every table */
  uint16_t n_coils, n_discretes, n_inputs, n_holdings; /* table sizes */
  /* Modbus RTU instead of TCP (host and port unused; exactly one unit, as libmodbus' RTU
   * server answers one slave address): on rtu_device (opened with rtu_baud, 8N1), or, when
   * rtu_device is NULL, on the already open rtu_fd (e.g. a pty master; not closed by mbsim). */
  bool rtu;
  const char *rtu_device;
  uint32_t rtu_baud;         /* default 9600 */
  int rtu_fd;
};

/* Binds, listens and starts the server thread. Returns 0 or a negative errno. */
int mbsim_start(struct mbsim **out, const struct mbsim_opts *opts);
/* Closes every connection, joins the thread, frees. NULL is accepted. */
void mbsim_stop(struct mbsim *s);
uint16_t mbsim_port(const struct mbsim *s);

/* Any thread. space DG_MB_INPUT or DG_MB_HOLDING for registers, DG_MB_COIL or DG_MB_DISCRETE
 * for bits (one byte per bit, 0 or 1). Return 0, -ENOENT (unit not served) or -EINVAL (range
 * outside the table, wrong space). */
int mbsim_set_registers(struct mbsim *s, int unit, enum dg_mb_space space, uint16_t addr,
                        const uint16_t *v, size_t n);
int mbsim_get_registers(struct mbsim *s, int unit, enum dg_mb_space space, uint16_t addr,
                        uint16_t *v, size_t n);
int mbsim_set_bits(struct mbsim *s, int unit, enum dg_mb_space space, uint16_t addr,
                   const uint8_t *v, size_t n);
int mbsim_get_bits(struct mbsim *s, int unit, enum dg_mb_space space, uint16_t addr, uint8_t *v,
                   size_t n);
/* Requests of `unit` touching [addr, addr+n) of `space` get exception `code` (1..255);
 * code 0 removes the ranges of that unit and space. Returns 0, -ENOENT, -EINVAL or -ENOMEM. */
int mbsim_set_exception(struct mbsim *s, int unit, enum dg_mb_space space, uint16_t addr,
                        uint16_t n, int code);
/* unit -1: every unit. Returns 0 or -ENOENT. */
int mbsim_set_silent(struct mbsim *s, int unit, bool silent);
/* Requests received (answered or not). */
uint64_t mbsim_requests(struct mbsim *s);

#endif
