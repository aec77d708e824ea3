/* Modbus driver against real servers on loopback: pymodbus (TCP, RTU over a socat pty pair,
 * RTU over TCP) and the in-process libmodbus simulator (mbsim). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "mbsim.h"
#include "modbus.h"
#include "sampleq.h"

extern char **environ;

#define MAX_POINTS 256
#define MAX_BUSES 4
#define MAX_CHILDREN 4
#define PY_START_MS 20000 /* interpreter start + pymodbus import, generous under valgrind */
#define EVENT_MS 15000

struct rec {
  uint32_t samples, good, comm, device;
  uint8_t last_q;
  double last_v;
};

struct harness {
  uv_loop_t loop;
  struct sampleq q;
  uv_timer_t tick;
  struct rec recs[MAX_POINTS];
  struct dg_config cfg;
  struct dg_modbus_bus buses[MAX_BUSES];
  struct dg_point points[MAX_POINTS];
  struct mb_driver *mb;
  struct mbsim *sims[2];
  pid_t children[MAX_CHILDREN];
  char dir[64];
};

static struct harness H;

static int64_t mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the loop until cond holds or ms elapse; evaluates to cond's final value. The repeating
 * tick only bounds each blocking turn of the loop. */
#define WAIT_FOR(cond, ms)                                                                         \
  ({                                                                                               \
    int64_t end_ = mono_ms() + (ms);                                                               \
    bool ok_;                                                                                      \
    while (!(ok_ = (cond)) && mono_ms() < end_) uv_run(&H.loop, UV_RUN_ONCE);                      \
    ok_;                                                                                           \
  })

static void on_samples(void *ud, const struct dg_sample *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    assert_true(s[i].point < H.cfg.n_points);
    struct rec *r = &H.recs[s[i].point];
    r->samples++;
    r->last_q = s[i].quality;
    r->last_v = s[i].value;
    if (s[i].quality == DG_Q_GOOD) r->good++;
    if (s[i].quality == DG_Q_COMM) r->comm++;
    if (s[i].quality == DG_Q_DEVICE) r->device++;
    assert_true(s[i].ts_ms > 0);
  }
}

static void on_tick(uv_timer_t *t) {}

static int setup(void **state)
{
  memset(&H, 0, sizeof H);
  H.cfg.modbus_buses = H.buses;
  H.cfg.points = H.points;
  for (int i = 0; i < MAX_CHILDREN; i++) H.children[i] = -1;
  strcpy(H.dir, "/tmp/dg-mbtest-XXXXXX");
  assert_non_null(mkdtemp(H.dir));
  assert_int_equal(uv_loop_init(&H.loop), 0);
  assert_int_equal(sampleq_init(&H.q, &H.loop, on_samples, NULL), 0);
  assert_int_equal(uv_timer_init(&H.loop, &H.tick), 0);
  assert_int_equal(uv_timer_start(&H.tick, on_tick, 20, 20), 0);
  return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove(path);
}

static void stop_child(int i)
{
  if (H.children[i] <= 0) return;
  kill(H.children[i], SIGKILL);
  waitpid(H.children[i], NULL, 0);
  H.children[i] = -1;
}

static int teardown(void **state)
{
  mb_stop(H.mb);
  H.mb = NULL;
  for (int i = 0; i < 2; i++) mbsim_stop(H.sims[i]);
  for (int i = 0; i < MAX_CHILDREN; i++) stop_child(i);
  sampleq_close(&H.q);
  uv_close((uv_handle_t *)&H.tick, NULL);
  uv_run(&H.loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&H.loop), 0);
  nftw(H.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
  return 0;
}

/* ---- configuration built by hand ---- */

static struct dg_modbus_bus *add_bus(int transport, const char *host, uint16_t port)
{
  assert_true(H.cfg.n_modbus_buses < MAX_BUSES);
  struct dg_modbus_bus *b = &H.buses[H.cfg.n_modbus_buses++];
  *b = (struct dg_modbus_bus){.id = "bus", .transport = transport, .host = (char *)host,
                              .port = port, .response_timeout_ms = 250, .byte_timeout_ms = 100,
                              .poll_interval_ms = 50, .max_gap = 8, .fail_threshold = 3,
                              .reconnect_max_ms = 400};
  return b;
}

static size_t add_point(size_t bus, int slave, enum dg_mb_space space, uint16_t addr,
                        enum dg_mb_type type, const char *order)
{
  assert_true(H.cfg.n_points < MAX_POINTS);
  size_t i = H.cfg.n_points++;
  struct dg_point *p = &H.points[i];
  *p = (struct dg_point){.id = "p", .driver_kind = DG_DRIVER_MODBUS, .driver_index = bus,
                         .scale = 1, .index = i};
  p->modbus = (struct dg_modbus_binding){.slave = slave, .space = space, .address = addr,
                                         .type = type, .bit = -1};
  if (order) snprintf(p->modbus.order, sizeof p->modbus.order, "%s", order);
  return i;
}

static void start_driver(void)
{
  assert_int_equal(mb_start(&H.mb, &H.loop, &H.cfg, &H.q), 0);
  assert_int_equal(mb_bus_count(H.mb), H.cfg.n_modbus_buses);
}

static struct mb_bus_stats stats(size_t bus)
{
  struct mb_bus_stats st;
  assert_int_equal(mb_bus_stats(H.mb, bus, &st), 0);
  return st;
}

static bool all_quality(size_t first, size_t n, enum dg_quality q)
{
  for (size_t i = first; i < first + n; i++)
    if (H.recs[i].samples == 0 || H.recs[i].last_q != q) return false;
  return true;
}

static uint32_t good_total(size_t first, size_t n)
{
  uint32_t t = 0;
  for (size_t i = first; i < first + n; i++) t += H.recs[i].good;
  return t;
}

/* ---- real peers ---- */

static uint16_t free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  close(fd);
  return ntohs(sa.sin_port);
}

/* A bus of `transport` to a free port of 127.0.0.1, for a peer started on it; port_s gets the port. */
static struct dg_modbus_bus *add_local_bus(int transport, char port_s[8])
{
  struct dg_modbus_bus *b = add_bus(transport, "127.0.0.1", free_port());
  snprintf(port_s, 8, "%u", b->port);
  return b;
}

static void spawn(int slot, char *const argv[], const char *log_name)
{
  char log[128];
  snprintf(log, sizeof log, "%s/%s", H.dir, log_name);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  assert_int_equal(posix_spawn(&H.children[slot], argv[0], &fa, NULL, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
}

/* Holding 0..63, input 0..15, coils and discretes 0..15 of unit 1 (zero-based addresses). */
static const char pymodbus_script[] =
  "import sys\n"
  "from pymodbus.server import StartTcpServer, StartSerialServer\n"
  "from pymodbus.datastore import ModbusSequentialDataBlock, ModbusSlaveContext, "
  "ModbusServerContext\n"
  "from pymodbus.transaction import ModbusRtuFramer\n"
  "\n"
  "mode, where = sys.argv[1], sys.argv[2]\n"
  "hr = [0] * 64\n"
  "hr[0:9] = [0x42F6, 0xE979, 0xFFFF, 0xFFFE, 1234, 0xFFFF, 0xBEEF, 0xDEAD, 0x8000]\n"
  "ir = [500] + [0] * 15\n"
  "bits = [1, 0, 1, 1] + [0] * 12\n"
  "blocks = {k: ModbusSequentialDataBlock(0, v) for k, v in\n"
  "          ((\"hr\", hr), (\"ir\", ir), (\"co\", bits), (\"di\", bits))}\n"
  "slave = ModbusSlaveContext(zero_mode=True, **blocks)\n"
  "context = ModbusServerContext(slaves={1: slave}, single=False)\n"
  "if mode == \"serial\":\n"
  "    StartSerialServer(context=context, framer=ModbusRtuFramer, port=where, baudrate=115200)\n"
  "elif mode == \"rtu-tcp\":\n"
  "    StartTcpServer(context=context, address=(\"127.0.0.1\", int(where)),\n"
  "                   framer=ModbusRtuFramer, allow_reuse_address=True)\n"
  "else:\n"
  "    StartTcpServer(context=context, address=(\"127.0.0.1\", int(where)),\n"
  "                   allow_reuse_address=True)\n";

static void start_pymodbus(int slot, const char *mode, const char *where)
{
  char script[128];
  snprintf(script, sizeof script, "%s/server.py", H.dir);
  FILE *f = fopen(script, "w");
  assert_non_null(f);
  fputs(pymodbus_script, f);
  fclose(f);
  char *argv[] = {"/usr/bin/python3", script, (char *)mode, (char *)where, NULL};
  spawn(slot, argv, "pymodbus.log");
}

/* Points matching the pymodbus image; returns the index of the first. */
struct expect {
  size_t first, n;
  double v[16];
};

static struct expect add_pymodbus_points(size_t bus)
{
  struct expect e = {.first = H.cfg.n_points};
  size_t i;
  add_point(bus, 1, DG_MB_HOLDING, 0, DG_MB_FLOAT32, "ABCD");
  e.v[e.n++] = 123.456 /* the float32 read as the decimal it stands for */;
  add_point(bus, 1, DG_MB_HOLDING, 2, DG_MB_INT32, NULL);
  e.v[e.n++] = -2;
  i = add_point(bus, 1, DG_MB_HOLDING, 4, DG_MB_UINT16, NULL);
  H.points[i].scale = 0.1;
  H.points[i].offset = -40;
  e.v[e.n++] = 1234 * 0.1 - 40;
  add_point(bus, 1, DG_MB_HOLDING, 5, DG_MB_INT16, NULL);
  e.v[e.n++] = -1;
  add_point(bus, 1, DG_MB_HOLDING, 6, DG_MB_UINT32, "CDAB");
  e.v[e.n++] = 3735928559.0;
  i = add_point(bus, 1, DG_MB_HOLDING, 8, DG_MB_BOOL, NULL);
  H.points[i].modbus.bit = 15;
  e.v[e.n++] = 1;
  i = add_point(bus, 1, DG_MB_HOLDING, 8, DG_MB_BOOL, NULL);
  H.points[i].modbus.bit = 14;
  e.v[e.n++] = 0;
  add_point(bus, 1, DG_MB_INPUT, 0, DG_MB_UINT16, NULL);
  e.v[e.n++] = 500;
  add_point(bus, 1, DG_MB_COIL, 0, DG_MB_BOOL, NULL);
  e.v[e.n++] = 1;
  add_point(bus, 1, DG_MB_COIL, 1, DG_MB_BOOL, NULL);
  e.v[e.n++] = 0;
  add_point(bus, 1, DG_MB_DISCRETE, 3, DG_MB_BOOL, NULL);
  e.v[e.n++] = 1;
  return e;
}

static void assert_expected_values(const struct expect *e)
{
  for (size_t k = 0; k < e->n; k++) {
    const struct rec *r = &H.recs[e->first + k];
    assert_int_equal(r->last_q, DG_Q_GOOD);
    if (fabs(r->last_v - e->v[k]) > 1e-9) fail_msg("point %zu: %.17g != %.17g", k, r->last_v, e->v[k]);
  }
}

/* ---- tests ---- */

static void test_pymodbus_tcp_values_comm_loss_and_reconnect(void **state)
{
  char port_s[8];
  add_local_bus(DG_MB_TCP, port_s);
  struct expect e = add_pymodbus_points(0);
  start_pymodbus(0, "tcp", port_s);
  start_driver();

  assert_true(WAIT_FOR(all_quality(e.first, e.n, DG_Q_GOOD), PY_START_MS));
  assert_expected_values(&e);
  struct mb_bus_stats st = stats(0);
  assert_true(st.connected);
  assert_true(st.requests >= 4);
  assert_true(st.last_rtt_us > 0);

  stop_child(0);
  assert_true(WAIT_FOR(all_quality(e.first, e.n, DG_Q_COMM), EVENT_MS));
  st = stats(0);
  assert_false(st.connected);
  assert_true(st.errors >= 1);
  assert_int_equal(st.slaves_down, 1);

  uint32_t good_before = good_total(e.first, e.n);
  start_pymodbus(0, "tcp", port_s);
  assert_true(WAIT_FOR(all_quality(e.first, e.n, DG_Q_GOOD), PY_START_MS));
  assert_true(good_total(e.first, e.n) > good_before);
  assert_expected_values(&e);
  st = stats(0);
  assert_true(st.connected);
  assert_true(st.reconnects >= 1);
  assert_int_equal(st.slaves_down, 0);
}

/* Polls until something accepts TCP connections on 127.0.0.1:port, or the deadline passes. */
static bool wait_listening(uint16_t port, int64_t ms)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int64_t end = mono_ms() + ms;
  do {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    close(fd);
    if (rc == 0) return true;
    nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
  } while (mono_ms() < end);
  return false;
}

static void test_pymodbus_exception_is_device_fault(void **state)
{
  char port_s[8];
  uint16_t port = add_local_bus(DG_MB_TCP, port_s)->port;
  size_t ok = add_point(0, 1, DG_MB_HOLDING, 4, DG_MB_UINT16, NULL);
  size_t bad = add_point(0, 1, DG_MB_HOLDING, 100, DG_MB_UINT16, NULL); /* past the block */
  start_pymodbus(0, "tcp", port_s);
  /* Connect failures before the server listens would count as comm loss, which this test
   * asserts never happens while exceptions arrive. */
  assert_true(wait_listening(port, PY_START_MS));
  start_driver();

  assert_true(WAIT_FOR(H.recs[bad].device >= 3 && H.recs[ok].good >= 3, PY_START_MS));
  assert_int_equal(H.recs[bad].last_q, DG_Q_DEVICE);
  assert_int_equal(H.recs[bad].good, 0);
  assert_int_equal(H.recs[ok].last_q, DG_Q_GOOD);
  assert_true(H.recs[ok].last_v == 1234);
  struct mb_bus_stats st = stats(0);
  assert_true(st.exceptions >= 3);
  assert_true(st.exception_codes[2] >= 3); /* illegal data address */
  assert_int_equal(st.exception_codes[2], st.exceptions);
  /* An exception proves the slave alive: no comm loss. */
  assert_int_equal(H.recs[ok].comm, 0);
  assert_int_equal(H.recs[bad].comm, 0);
  assert_int_equal(st.slaves_down, 0);
}

static bool path_exists(const char *p)
{
  struct stat st;
  return stat(p, &st) == 0;
}

static void test_pymodbus_rtu_over_pty(void **state)
{
  char a[96], b[96], pty_a[128], pty_b[128];
  snprintf(a, sizeof a, "%s/a", H.dir);
  snprintf(b, sizeof b, "%s/b", H.dir);
  snprintf(pty_a, sizeof pty_a, "pty,raw,echo=0,link=%s", a);
  snprintf(pty_b, sizeof pty_b, "pty,raw,echo=0,link=%s", b);
  char *socat[] = {"/usr/bin/socat", "-d", "-d", pty_a, pty_b, NULL};
  spawn(1, socat, "socat.log");
  assert_true(WAIT_FOR(path_exists(a) && path_exists(b), EVENT_MS));

  struct dg_modbus_bus *bus = add_bus(DG_MB_RTU, NULL, 0);
  bus->device = a;
  bus->baud = 115200;
  bus->rs485 = true; /* a pty refuses RS-485 mode: logged, polling goes on */
  bus->response_timeout_ms = 500;
  struct expect e = add_pymodbus_points(0);
  start_pymodbus(0, "serial", b);
  start_driver();

  assert_true(WAIT_FOR(all_quality(e.first, e.n, DG_Q_GOOD), PY_START_MS));
  assert_expected_values(&e);
  assert_true(stats(0).connected);
}

static void test_pymodbus_rtu_over_tcp(void **state)
{
  char port_s[8];
  add_local_bus(DG_MB_RTU_OVER_TCP, port_s);
  struct expect e = add_pymodbus_points(0);
  start_pymodbus(0, "rtu-tcp", port_s);
  start_driver();

  assert_true(WAIT_FOR(all_quality(e.first, e.n, DG_Q_GOOD), PY_START_MS));
  assert_expected_values(&e);

  /* The peer goes away: comm loss, no SIGPIPE; it comes back: values again. */
  stop_child(0);
  assert_true(WAIT_FOR(all_quality(e.first, e.n, DG_Q_COMM), EVENT_MS));
  start_pymodbus(0, "rtu-tcp", port_s);
  assert_true(WAIT_FOR(all_quality(e.first, e.n, DG_Q_GOOD), PY_START_MS));
  assert_true(stats(0).reconnects >= 1);
}

/* ---- against mbsim ---- */

static struct mbsim *start_sim(int slot, const uint8_t *units, size_t n_units)
{
  struct mbsim_opts o = {.units = units, .n_units = n_units, .n_holdings = 100, .n_inputs = 16,
                         .n_coils = 16, .n_discretes = 16};
  assert_int_equal(mbsim_start(&H.sims[slot], &o), 0);
  assert_true(mbsim_port(H.sims[slot]) > 0);
  return H.sims[slot];
}

/* 100 registers of one unit: 40 uint16, 10 float32 (CDAB), 10 int32, 5 uint64 (DCBA). */
static size_t fill_device(struct mbsim *sim, size_t bus, int unit, double *expect)
{
  uint16_t regs[100];
  size_t n = 0;
  for (int i = 0; i < 40; i++) {
    add_point(bus, unit, DG_MB_HOLDING, (uint16_t)i, DG_MB_UINT16, NULL);
    expect[n++] = regs[i] = (uint16_t)(unit * 1000 + i);
  }
  for (int i = 0; i < 10; i++) {
    add_point(bus, unit, DG_MB_HOLDING, (uint16_t)(40 + 2 * i), DG_MB_FLOAT32, "CDAB");
    expect[n] = unit + i * 0.25;
    mb_encode_regs(expect[n++], DG_MB_FLOAT32, MB_ORDER_CDAB, &regs[40 + 2 * i], 2);
  }
  for (int i = 0; i < 10; i++) {
    add_point(bus, unit, DG_MB_HOLDING, (uint16_t)(60 + 2 * i), DG_MB_INT32, NULL);
    expect[n] = -(unit * 100000 + i);
    mb_encode_regs(expect[n++], DG_MB_INT32, MB_ORDER_ABCD, &regs[60 + 2 * i], 2);
  }
  for (int i = 0; i < 5; i++) {
    add_point(bus, unit, DG_MB_HOLDING, (uint16_t)(80 + 4 * i), DG_MB_UINT64, "DCBA");
    expect[n] = (double)((uint64_t)unit << 40 | (uint64_t)i);
    mb_encode_regs(expect[n++], DG_MB_UINT64, MB_ORDER_DCBA, &regs[80 + 4 * i], 4);
  }
  assert_int_equal(mbsim_set_registers(sim, unit, DG_MB_HOLDING, 0, regs, 100), 0);
  return n;
}

static bool values_match(size_t first, const double *expect, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (H.recs[first + i].last_q != DG_Q_GOOD || H.recs[first + i].last_v != expect[i])
      return false;
  return true;
}

static void test_mbsim_coalesced_devices(void **state)
{
  static const uint8_t units[] = {1, 2, 3};
  struct mbsim *sim = start_sim(0, units, 3);
  add_bus(DG_MB_TCP, "127.0.0.1", mbsim_port(sim));
  double expect[3][65];
  size_t first[3], n = 0;
  for (int u = 0; u < 3; u++) {
    first[u] = H.cfg.n_points;
    n = fill_device(sim, 0, units[u], expect[u]);
  }
  assert_int_equal(n, 65);

  /* One 100-register read per device. */
  struct mb_plan plan;
  assert_int_equal(mb_plan_build(&plan, &H.cfg, 0), 0);
  assert_int_equal(plan.n_reqs, 3);
  for (int u = 0; u < 3; u++) {
    assert_int_equal(plan.reqs[u].count, 100);
    assert_int_equal(plan.reqs[u].slave, units[u]);
  }
  mb_plan_free(&plan);

  start_driver();
  assert_true(WAIT_FOR(values_match(first[0], expect[0], n) && values_match(first[1], expect[1], n) &&
                         values_match(first[2], expect[2], n),
                       EVENT_MS));

  /* Live values follow the device. */
  uint16_t v = 4242;
  assert_int_equal(mbsim_set_registers(sim, 2, DG_MB_HOLDING, 7, &v, 1), 0);
  expect[1][7] = 4242;
  assert_true(WAIT_FOR(values_match(first[1], expect[1], n), EVENT_MS));
  struct mb_bus_stats st = stats(0);
  assert_int_equal(st.errors, 0);
  assert_true(mbsim_requests(sim) >= 4); /* a full cycle, then unit 2 again */
}

static void test_mbsim_silent_slave_does_not_stall_others(void **state)
{
  static const uint8_t units_a[] = {1, 2}, units_b[] = {1};
  struct mbsim *sim_a = start_sim(0, units_a, 2);
  struct mbsim *sim_b = start_sim(1, units_b, 1);
  add_bus(DG_MB_TCP, "127.0.0.1", mbsim_port(sim_a));
  add_bus(DG_MB_TCP, "127.0.0.1", mbsim_port(sim_b));
  H.buses[0].reconnect_max_ms = 1000;
  double expect[3][65];
  size_t a1 = H.cfg.n_points, n = fill_device(sim_a, 0, 1, expect[0]);
  size_t a2 = H.cfg.n_points;
  fill_device(sim_a, 0, 2, expect[1]);
  size_t b1 = H.cfg.n_points;
  fill_device(sim_b, 1, 1, expect[2]);
  start_driver();
  assert_true(WAIT_FOR(all_quality(a1, 3 * n, DG_Q_GOOD), EVENT_MS));

  assert_int_equal(mbsim_set_silent(sim_a, 1, true), 0);
  assert_true(WAIT_FOR(all_quality(a1, n, DG_Q_COMM) && stats(0).slaves_down == 1, EVENT_MS));
  struct mb_bus_stats st = stats(0);
  assert_true(st.timeouts >= 3);

  /* The other slave on the same bus and the other bus keep delivering. */
  uint32_t a2_good = good_total(a2, n), b1_good = good_total(b1, n);
  assert_true(WAIT_FOR(good_total(a2, n) >= a2_good + 10 * n && good_total(b1, n) >= b1_good + 10 * n,
                       EVENT_MS));
  assert_true(all_quality(a2, n, DG_Q_GOOD));
  assert_true(all_quality(b1, n, DG_Q_GOOD));
  assert_true(all_quality(a1, n, DG_Q_COMM));
  assert_int_equal(stats(1).errors, 0);

  assert_int_equal(mbsim_set_silent(sim_a, 1, false), 0);
  assert_true(WAIT_FOR(values_match(a1, expect[0], n), EVENT_MS));
  assert_int_equal(stats(0).slaves_down, 0);
}

static void test_mbsim_exception_range(void **state)
{
  struct mbsim *sim = start_sim(0, NULL, 0);
  add_bus(DG_MB_TCP, "127.0.0.1", mbsim_port(sim));
  size_t ok = add_point(0, 1, DG_MB_HOLDING, 0, DG_MB_UINT16, NULL);
  size_t bad = add_point(0, 1, DG_MB_HOLDING, 20, DG_MB_UINT16, NULL);
  size_t coil = add_point(0, 1, DG_MB_COIL, 3, DG_MB_BOOL, NULL);
  uint16_t v[2] = {11, 22};
  uint8_t on = 1;
  assert_int_equal(mbsim_set_registers(sim, 1, DG_MB_HOLDING, 0, &v[0], 1), 0);
  assert_int_equal(mbsim_set_registers(sim, 1, DG_MB_HOLDING, 20, &v[1], 1), 0);
  assert_int_equal(mbsim_set_bits(sim, 1, DG_MB_COIL, 3, &on, 1), 0);
  assert_int_equal(mbsim_set_exception(sim, 1, DG_MB_HOLDING, 15, 10, 4), 0);
  start_driver();

  assert_true(WAIT_FOR(H.recs[bad].device >= 2 && H.recs[ok].good >= 2 && H.recs[coil].good >= 2,
                       EVENT_MS));
  assert_int_equal(H.recs[bad].last_q, DG_Q_DEVICE);
  assert_true(H.recs[ok].last_v == 11);
  assert_true(H.recs[coil].last_v == 1);
  struct mb_bus_stats st = stats(0);
  assert_true(st.exception_codes[4] >= 2); /* slave device failure */
  assert_int_equal(st.slaves_down, 0);

  assert_int_equal(mbsim_set_exception(sim, 1, DG_MB_HOLDING, 0, 0, 0), 0);
  assert_true(WAIT_FOR(H.recs[bad].last_q == DG_Q_GOOD, EVENT_MS));
  assert_true(H.recs[bad].last_v == 22);
}

static void test_nobody_listening_gives_comm_loss(void **state)
{
  int64_t t0 = mono_ms();
  add_bus(DG_MB_TCP, "127.0.0.1", free_port());
  size_t p0 = add_point(0, 1, DG_MB_HOLDING, 0, DG_MB_UINT16, NULL);
  add_point(0, 2, DG_MB_INPUT, 0, DG_MB_FLOAT32, NULL);
  add_bus(DG_MB_TCP, "127.0.0.1", 502)->poll_interval_ms = 1000; /* a bus without points */
  start_driver();
  assert_true(WAIT_FOR(all_quality(p0, 2, DG_Q_COMM), EVENT_MS));
  struct mb_bus_stats st = stats(0);
  assert_true(st.connect_failures >= 3);
  assert_false(st.connected);
  assert_int_equal(st.slaves_down, 2);
  assert_int_equal(st.requests, 0);
  assert_true(mb_heartbeat_ms(H.mb) >= t0);
  assert_int_equal(stats(1).connect_failures, 0);
  struct mb_bus_stats none;
  assert_int_equal(mb_bus_stats(H.mb, 2, &none), -ENOENT);
}

static void test_start_rejects_bad_binding(void **state)
{
  add_bus(DG_MB_TCP, "127.0.0.1", 502);
  add_point(0, 1, DG_MB_HOLDING, 65535, DG_MB_FLOAT32, NULL);
  assert_int_equal(mb_start(&H.mb, &H.loop, &H.cfg, &H.q), -EINVAL);
  assert_null(H.mb);
  H.points[0].modbus.address = 0;
  H.buses[0].transport = DG_MB_RTU; /* no device */
  assert_int_equal(mb_start(&H.mb, &H.loop, &H.cfg, &H.q), -EINVAL);
  assert_null(H.mb);
}

int main(void)
{
  signal(SIGPIPE, SIG_DFL); /* the driver must not rely on SIGPIPE being ignored */
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_pymodbus_tcp_values_comm_loss_and_reconnect, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pymodbus_exception_is_device_fault, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pymodbus_rtu_over_pty, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pymodbus_rtu_over_tcp, setup, teardown),
    cmocka_unit_test_setup_teardown(test_mbsim_coalesced_devices, setup, teardown),
    cmocka_unit_test_setup_teardown(test_mbsim_silent_slave_does_not_stall_others, setup, teardown),
    cmocka_unit_test_setup_teardown(test_mbsim_exception_range, setup, teardown),
    cmocka_unit_test_setup_teardown(test_nobody_listening_gives_comm_loss, setup, teardown),
    cmocka_unit_test_setup_teardown(test_start_rejects_bad_binding, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
