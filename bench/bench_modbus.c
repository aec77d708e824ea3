/* Modbus TCP polling throughput of the driver against in-process mbsim servers on loopback,
 * next to libmodbus's raw round-trip rate for the same 100-register read.
 *
 * Topology: every mbsim server (one listening socket, one server thread) serves 20 devices as
 * unit ids 1..20, each with 100 holding registers bound to 100 uint16 points; the driver has
 * one bus (one thread, one connection) per server. 100 devices = 5 servers, 500 devices = 25.
 * (One bus per device would need 1000+ sockets, beyond what libmodbus's select() can watch.)
 * For each size:
 *   - poll 1 s: every device read once per second (the design target); requests/s should be
 *     the device count;
 *   - saturated: poll period 1 ms, so each bus reads back to back as fast as it can;
 *   - raw: one bare libmodbus client thread per server reading the same devices in a loop;
 *   - saturated and raw alternate in five pairs of 1 s windows; the ratio is their median.
 * Figures are printed, nothing is asserted. Whole run: about 30 s. */
#include <errno.h>
#include <modbus/modbus.h> /* drivers/modbus.h shadows <modbus.h> */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <uv.h>

#include "mbsim.h"
#include "modbus.h"
#include "sampleq.h"

#define UNITS_PER_SERVER 20
#define REGS 100
#define WARMUP_MS 500
#define WINDOW_MS 1000
#define RAW_MS 2000
#define PAIRS 5

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Context switches of the whole process so far. */
static double switches(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_nvcsw + (double)ru.ru_nivcsw;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* ---- raw libmodbus clients ---- */

struct raw_client {
  pthread_t thread;
  uint16_t port;
  int units;
  double seconds;
  uint64_t requests, errors;
};

static void *raw_main(void *arg)
{
  struct raw_client *c = arg;
  uint16_t regs[REGS];
  modbus_t *ctx = modbus_new_tcp("127.0.0.1", c->port);
  if (!ctx || modbus_connect(ctx) < 0) {
    c->errors++;
    if (ctx) modbus_free(ctx);
    return NULL;
  }
  double end = now_s() + c->seconds;
  for (int unit = 1; now_s() < end; unit = unit % c->units + 1) {
    modbus_set_slave(ctx, unit);
    if (modbus_read_registers(ctx, 0, REGS, regs) == REGS) c->requests++;
    else c->errors++;
  }
  modbus_close(ctx);
  modbus_free(ctx);
  return NULL;
}

/* Aggregate request rate of one raw client per server. */
static double raw_rate(struct mbsim **sims, size_t n_sims, int units, double seconds,
                       double *sw_per_req)
{
  struct raw_client *c = calloc(n_sims, sizeof *c);
  double t0 = now_s(), sw0 = switches();
  for (size_t i = 0; i < n_sims; i++) {
    c[i] = (struct raw_client){.port = mbsim_port(sims[i]), .units = units, .seconds = seconds};
    pthread_create(&c[i].thread, NULL, raw_main, &c[i]);
  }
  uint64_t total = 0, errors = 0;
  for (size_t i = 0; i < n_sims; i++) {
    pthread_join(c[i].thread, NULL);
    total += c[i].requests;
    errors += c[i].errors;
  }
  double dt = now_s() - t0;
  if (sw_per_req) *sw_per_req = total ? (switches() - sw0) / (double)total : 0;
  if (errors) printf("  (raw clients: %llu errors)\n", (unsigned long long)errors);
  free(c);
  return total / dt;
}

/* ---- driver runs ---- */

struct run {
  uv_loop_t loop;
  struct sampleq q;
  uv_timer_t timer;
  struct mb_driver *mb;
  uint64_t samples, good;
  uint64_t samples0, req0, err0;
  double t0, cpu0, sw0;
  double req_rate, sample_rate, cpu_pct, sw_per_req;
  uint64_t errors;
  int phase;
};

static void on_samples(void *ud, const struct dg_sample *s, size_t n)
{
  struct run *r = ud;
  r->samples += n;
  for (size_t i = 0; i < n; i++) r->good += s[i].quality == DG_Q_GOOD;
}

static void sum_stats(struct run *r, uint64_t *req, uint64_t *err)
{
  *req = *err = 0;
  for (size_t i = 0; i < mb_bus_count(r->mb); i++) {
    struct mb_bus_stats st;
    mb_bus_stats(r->mb, i, &st);
    *req += st.requests;
    *err += st.errors;
  }
}

static void on_timer(uv_timer_t *t)
{
  struct run *r = t->data;
  if (r->phase++ == 0) {
    sum_stats(r, &r->req0, &r->err0);
    r->samples0 = r->samples;
    r->t0 = now_s();
    r->cpu0 = cpu_s();
    r->sw0 = switches();
    return;
  }
  uint64_t req, err;
  sum_stats(r, &req, &err);
  double dt = now_s() - r->t0;
  r->req_rate = (req - r->req0) / dt;
  r->sample_rate = (r->samples - r->samples0) / dt;
  r->cpu_pct = 100 * (cpu_s() - r->cpu0) / dt;
  r->sw_per_req = req > r->req0 ? (switches() - r->sw0) / (double)(req - r->req0) : 0;
  r->errors = err - r->err0;
  uv_timer_stop(t);
  uv_stop(&r->loop);
}

static struct dg_config *make_config(struct mbsim **sims, size_t n_sims, uint32_t poll_ms)
{
  struct dg_config *cfg = calloc(1, sizeof *cfg);
  cfg->n_modbus_buses = n_sims;
  cfg->modbus_buses = calloc(n_sims, sizeof *cfg->modbus_buses);
  cfg->n_points = n_sims * UNITS_PER_SERVER * REGS;
  cfg->points = calloc(cfg->n_points, sizeof *cfg->points);
  size_t k = 0;
  for (size_t b = 0; b < n_sims; b++) {
    cfg->modbus_buses[b] = (struct dg_modbus_bus){
      .id = "bench", .transport = DG_MB_TCP, .host = "127.0.0.1", .port = mbsim_port(sims[b]),
      .response_timeout_ms = 1000, .byte_timeout_ms = 500, .poll_interval_ms = poll_ms,
      .max_gap = 8, .fail_threshold = 3, .reconnect_max_ms = 1000};
    for (int u = 1; u <= UNITS_PER_SERVER; u++)
      for (int a = 0; a < REGS; a++, k++) {
        struct dg_point *p = &cfg->points[k];
        p->driver_kind = DG_DRIVER_MODBUS;
        p->driver_index = b;
        p->scale = 0.1;
        p->index = k;
        p->modbus = (struct dg_modbus_binding){.slave = u, .space = DG_MB_HOLDING,
                                               .address = (uint16_t)a, .type = DG_MB_UINT16,
                                               .bit = -1};
      }
  }
  return cfg;
}

static void free_config(struct dg_config *cfg)
{
  free(cfg->modbus_buses);
  free(cfg->points);
  free(cfg);
}

static int drive(struct run *r, struct mbsim **sims, size_t n_sims, uint32_t poll_ms)
{
  memset(r, 0, sizeof *r);
  struct dg_config *cfg = make_config(sims, n_sims, poll_ms);
  uv_loop_init(&r->loop);
  sampleq_init(&r->q, &r->loop, on_samples, r);
  uv_timer_init(&r->loop, &r->timer);
  r->timer.data = r;
  int rc = mb_start(&r->mb, &r->loop, cfg, &r->q);
  free_config(cfg); /* the driver keeps its own copy */
  if (rc == 0) {
    uv_timer_start(&r->timer, on_timer, WARMUP_MS, WINDOW_MS);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    mb_stop(r->mb);
  }
  sampleq_close(&r->q);
  uv_close((uv_handle_t *)&r->timer, NULL);
  uv_run(&r->loop, UV_RUN_DEFAULT);
  uv_loop_close(&r->loop);
  return rc;
}

static void bench_size(size_t devices, double raw_single)
{
  size_t n_sims = devices / UNITS_PER_SERVER;
  uint8_t units[UNITS_PER_SERVER];
  for (int u = 0; u < UNITS_PER_SERVER; u++) units[u] = (uint8_t)(u + 1);
  struct mbsim **sims = calloc(n_sims, sizeof *sims);
  struct mbsim_opts o = {.units = units, .n_units = UNITS_PER_SERVER, .n_holdings = REGS};
  for (size_t i = 0; i < n_sims; i++)
    if (mbsim_start(&sims[i], &o) < 0) {
      fprintf(stderr, "mbsim_start failed\n");
      exit(1);
    }

  printf("\n%zu devices x %d registers (%zu servers x %d unit ids, %zu buses, %zu points)\n",
         devices, REGS, n_sims, UNITS_PER_SERVER, n_sims, devices * REGS);
  struct run r;
  if (drive(&r, sims, n_sims, 1000) < 0) exit(1);
  printf("  poll 1 s   : %8.0f req/s %10.0f registers/s %10.0f samples/s  target %zu req/s"
         "  errors %llu  CPU %.0f%%\n",
         r.req_rate, r.req_rate * REGS, r.sample_rate, devices, (unsigned long long)r.errors,
         r.cpu_pct);
  /* Saturated driver and raw clients alternate, in turns whose order flips each pair, so that a
   * change of the machine's load during the run weighs on both sides alike; the figure is the
   * median of the pairs' ratios. */
  double ratio[PAIRS];
  for (int k = 0; k < PAIRS; k++) {
    double raw = 0, raw_sw = 0;
    if (k % 2) raw = raw_rate(sims, n_sims, UNITS_PER_SERVER, WINDOW_MS / 1000.0, &raw_sw);
    if (drive(&r, sims, n_sims, 1) < 0) exit(1);
    if (k % 2 == 0) raw = raw_rate(sims, n_sims, UNITS_PER_SERVER, WINDOW_MS / 1000.0, &raw_sw);
    ratio[k] = r.req_rate / raw;
    printf("  pair %d     : saturated driver %6.0f req/s (%llu errors, CPU %.0f%%, %.1f switches/req),"
           " raw clients %6.0f req/s (%.1f switches/req)  ratio %.2f\n",
           k + 1, r.req_rate, (unsigned long long)r.errors, r.cpu_pct, r.sw_per_req, raw, raw_sw,
           ratio[k]);
    if (k == 0)
      printf("  registers/s: driver %.0f, raw %.0f; driver/raw single pair %.2f\n",
             r.req_rate * REGS, raw * REGS, r.req_rate / raw_single);
  }
  qsort(ratio, PAIRS, sizeof ratio[0], cmp_double);
  printf("  ratio driver/raw, same topology: median %.2f of %d pairs (%.2f-%.2f)  target >= 0.9  %s\n",
         ratio[PAIRS / 2], PAIRS, ratio[0], ratio[PAIRS - 1], ratio[PAIRS / 2] >= 0.9 ? "MET" : "NOT MET");
  for (size_t i = 0; i < n_sims; i++) mbsim_stop(sims[i]);
  free(sims);
}

int main(void)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  double t0 = now_s();
  struct mbsim *sim;
  struct mbsim_opts o = {.n_holdings = REGS};
  if (mbsim_start(&sim, &o) < 0) return 1;
  double single = raw_rate(&sim, 1, 1, RAW_MS / 1000.0, NULL);
  mbsim_stop(sim);
  printf("raw libmodbus round trip, one client, one server, %d registers: %.0f req/s "
         "(%.1f us), %.0f registers/s\n", REGS, single, 1e6 / single, single * REGS);
  bench_size(100, single);
  bench_size(500, single);
  printf("\ntotal %.1f s\n", now_s() - t0);
  return 0;
}
