#include "mbserve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <termios.h>
#include <unistd.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mbsim.h"
#include "modbus.h"

#define PS_MB_MIN_TABLE 16

struct ps__server {
  uint16_t port;           /* 0 for RTU */
  const struct ps_modbus *rtu; /* the first signal naming the RTU link or device */
  int pty_master, pty_slave;   /* -1 unless a pty was created for rtu->rtu_link */
  bool linked;                 /* rtu->rtu_link is our symlink: removed on stop */
  struct mbsim *sim;
  bool unit_used[248];
  bool unit_silent[248];   /* as last set on the server */
  bool want_silent[248];
};

struct ps__mbsig {
  struct ps_signal *sig;   /* NULL for an MQTT signal */
  size_t server;
  enum ps_kind mode;       /* PS_SILENT, PS_EXCEPTION or 0 (answering) */
  int code;
};

struct ps_mbserve {
  struct ps__server *servers;
  size_t n_servers;
  struct ps__mbsig *sigs;  /* one per scenario signal */
  size_t n_sigs;
  bool faults_changed;
};

static const char *ps__rtu_name(const struct ps_modbus *mb)
{
  return mb->rtu_link ? mb->rtu_link : mb->rtu_device;
}

static bool ps__same_server(const struct ps__server *srv, const struct ps_modbus *mb)
{
  if (!srv->rtu || !ps__rtu_name(mb)) return !srv->rtu && !ps__rtu_name(mb) && srv->port == mb->port;
  return strcmp(ps__rtu_name(srv->rtu), ps__rtu_name(mb)) == 0;
}

static size_t ps__server_of(struct ps_mbserve *m, const struct ps_modbus *mb)
{
  size_t i = 0;
  while (i < m->n_servers && !ps__same_server(&m->servers[i], mb)) i++;
  if (i == m->n_servers) {
    struct ps__server *srv = &m->servers[m->n_servers++];
    srv->port = ps__rtu_name(mb) ? 0 : mb->port;
    srv->rtu = ps__rtu_name(mb) ? mb : NULL;
    srv->pty_master = srv->pty_slave = -1;
  }
  return i;
}

static const char *ps__server_name(const struct ps__server *srv, char *buf, size_t size)
{
  if (srv->rtu) snprintf(buf, size, "RTU %s", ps__rtu_name(srv->rtu));
  else snprintf(buf, size, "127.0.0.1:%u", srv->port);
  return buf;
}

/* A pty pair made here stands in for a serial line: the server speaks on the master, the
 * client opens the slave through the symlink. plantsim keeps the slave open too, so the master
 * never reads end-of-file while no client is attached. */
static int ps__open_pty(struct ps__server *srv)
{
  const char *link = srv->rtu->rtu_link;
  srv->pty_master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (srv->pty_master < 0 || grantpt(srv->pty_master) || unlockpt(srv->pty_master)) return -errno;
  const char *name = ptsname(srv->pty_master);
  if (!name) return -errno;
  srv->pty_slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (srv->pty_slave < 0) return -errno;
  struct termios tio;
  if (tcgetattr(srv->pty_slave, &tio)) return -errno;
  cfmakeraw(&tio);
  if (tcsetattr(srv->pty_slave, TCSANOW, &tio)) return -errno;
  if (unlink(link) && errno != ENOENT) return -errno;
  if (symlink(name, link)) return -errno;
  srv->linked = true;
  DG_INFO("plantsim", "pty %s linked at %s", name, link);
  return 0;
}

static void ps__close_pty(struct ps__server *srv)
{
  if (srv->linked) unlink(srv->rtu->rtu_link);
  srv->linked = false;
  if (srv->pty_master >= 0) close(srv->pty_master);
  if (srv->pty_slave >= 0) close(srv->pty_slave);
  srv->pty_master = srv->pty_slave = -1;
}

static uint16_t ps__table_end(const struct ps_scenario *s, const struct ps__server *srv, enum dg_mb_space space)
{
  uint32_t end = PS_MB_MIN_TABLE;
  for (size_t i = 0; i < s->n_signals; i++) {
    const struct ps_signal *sig = &s->signals[i];
    if (!sig->is_modbus || !ps__same_server(srv, &sig->mb) || sig->mb.space != space) continue;
    uint32_t e = (uint32_t)sig->mb.address + mb_type_registers(sig->mb.type, -1);
    if (e > end) end = e;
  }
  return end > 65535 ? 65535 : (uint16_t)end;
}

static int ps__start_server(struct ps__server *srv, const struct ps_scenario *s)
{
  uint8_t units[248];
  size_t n = 0;
  for (int u = 0; u < 248; u++)
    if (srv->unit_used[u]) units[n++] = (uint8_t)u;
  struct mbsim_opts o = {
    .host = "127.0.0.1", .port = srv->port, .units = units, .n_units = n,
    .n_coils = ps__table_end(s, srv, DG_MB_COIL),
    .n_discretes = ps__table_end(s, srv, DG_MB_DISCRETE),
    .n_inputs = ps__table_end(s, srv, DG_MB_INPUT),
    .n_holdings = ps__table_end(s, srv, DG_MB_HOLDING),
  };
  char name[300];
  ps__server_name(srv, name, sizeof name);
  int rc = 0;
  if (srv->rtu) {
    if (n != 1) {
      DG_ERR("plantsim", "%s: an RTU line serves one unit here, the scenario names %zu", name, n);
      return -EINVAL;
    }
    o.rtu = true;
    o.rtu_device = srv->rtu->rtu_device;
    o.rtu_baud = srv->rtu->rtu_baud;
    if (srv->rtu->rtu_link) rc = ps__open_pty(srv);
    o.rtu_fd = srv->pty_master;
  }
  if (!rc) rc = mbsim_start(&srv->sim, &o);
  if (rc) DG_ERR("plantsim", "cannot serve Modbus on %s: %s", name, strerror(-rc));
  else DG_INFO("plantsim", "serving Modbus %s on %s, %zu unit(s)", srv->rtu ? "RTU" : "TCP", name, n);
  return rc;
}

int ps_mbserve_start(struct ps_mbserve **out, struct ps_scenario *s)
{
  *out = NULL;
  size_t n_modbus = 0;
  for (size_t i = 0; i < s->n_signals; i++) n_modbus += s->signals[i].is_modbus;
  if (!n_modbus) return 0;
  struct ps_mbserve *m = calloc(1, sizeof *m);
  int rc = -ENOMEM;
  if (!m) return rc;
  m->servers = calloc(n_modbus, sizeof *m->servers);
  m->sigs = calloc(s->n_signals, sizeof *m->sigs);
  if (!m->servers || !m->sigs) goto fail;
  m->n_sigs = s->n_signals;
  for (size_t i = 0; i < s->n_signals; i++) {
    struct ps_signal *sig = &s->signals[i];
    if (!sig->is_modbus) continue;
    m->sigs[i] = (struct ps__mbsig){.sig = sig, .server = ps__server_of(m, &sig->mb)};
    m->servers[m->sigs[i].server].unit_used[sig->mb.unit] = true;
  }
  for (size_t i = 0; i < m->n_servers; i++)
    if ((rc = ps__start_server(&m->servers[i], s))) goto fail;
  *out = m;
  return 0;
fail:
  ps_mbserve_stop(m);
  return rc;
}

static void ps__write_value(struct mbsim *sim, const struct ps_modbus *mb, double v)
{
  int rc;
  if (mb->space == DG_MB_COIL || mb->space == DG_MB_DISCRETE) {
    uint8_t bit = v != 0;
    rc = mbsim_set_bits(sim, mb->unit, mb->space, mb->address, &bit, 1);
  } else {
    uint16_t regs[4];
    int n = mb_encode_regs((v - mb->offset) / mb->scale, mb->type, (enum mb_order)mb->order, regs, 4);
    rc = n < 0 ? n : mbsim_set_registers(sim, mb->unit, mb->space, mb->address, regs, (size_t)n);
  }
  if (rc) DG_LOG_RL(DG_LOG_ERR, "plantsim", "unit %u address %u: cannot set value: %s", mb->unit, mb->address,
                    strerror(-rc));
}

void ps_mbserve_update(struct ps_mbserve *m, struct ps_scenario *s, size_t i, double t)
{
  struct ps__mbsig *ms = &m->sigs[i];
  if (!ms->sig) return;
  const struct ps_segment *seg = ps_segment_at(ms->sig, t);
  enum ps_kind mode = seg && (seg->kind == PS_SILENT || seg->kind == PS_EXCEPTION) ? seg->kind : 0;
  int code = mode == PS_EXCEPTION ? seg->code : 0;
  if (mode != ms->mode || code != ms->code) {
    ms->mode = mode;
    ms->code = code;
    m->faults_changed = true;
  }
  double v;
  if (ps_value(s, ms->sig, t, &v)) ps__write_value(m->servers[ms->server].sim, &ms->sig->mb, v);
}

void ps_mbserve_apply(struct ps_mbserve *m)
{
  if (!m || !m->faults_changed) return;
  m->faults_changed = false;
  for (size_t k = 0; k < m->n_servers; k++) memset(m->servers[k].want_silent, 0, sizeof m->servers[k].want_silent);
  for (size_t i = 0; i < m->n_sigs; i++) {
    const struct ps__mbsig *ms = &m->sigs[i];
    if (!ms->sig) continue;
    const struct ps_modbus *mb = &ms->sig->mb;
    if (ms->mode == PS_SILENT) m->servers[ms->server].want_silent[mb->unit] = true;
    mbsim_set_exception(m->servers[ms->server].sim, mb->unit, mb->space, 0, 0, 0);
  }
  for (size_t i = 0; i < m->n_sigs; i++) {
    const struct ps__mbsig *ms = &m->sigs[i];
    if (!ms->sig || ms->mode != PS_EXCEPTION) continue;
    const struct ps_modbus *mb = &ms->sig->mb;
    int rc = mbsim_set_exception(m->servers[ms->server].sim, mb->unit, mb->space, mb->address,
                                 (uint16_t)mb_type_registers(mb->type, -1), ms->code);
    if (rc) DG_ERR("plantsim", "unit %u address %u: cannot set exception %d: %s", mb->unit, mb->address,
                   ms->code, strerror(-rc));
  }
  for (size_t k = 0; k < m->n_servers; k++) {
    struct ps__server *srv = &m->servers[k];
    for (int u = 0; u < 248; u++) {
      if (!srv->unit_used[u] || srv->unit_silent[u] == srv->want_silent[u]) continue;
      srv->unit_silent[u] = srv->want_silent[u];
      mbsim_set_silent(srv->sim, u, srv->unit_silent[u]);
      char name[300];
      DG_INFO("plantsim", "Modbus %s unit %d %s", ps__server_name(srv, name, sizeof name), u,
              srv->unit_silent[u] ? "stops answering" : "answers again");
    }
  }
}

void ps_mbserve_stop(struct ps_mbserve *m)
{
  if (!m) return;
  for (size_t i = 0; i < m->n_servers; i++) {
    mbsim_stop(m->servers[i].sim);
    ps__close_pty(&m->servers[i]);
  }
  free(m->servers);
  free(m->sigs);
  free(m);
}
