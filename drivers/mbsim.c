/* Modbus TCP simulator server. */
#include "mbsim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <modbus/modbus.h> /* drivers/modbus.h shadows <modbus.h> */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define MBSIM_LOG "mbsim"
#define MBSIM_UNITS 248
#define MBSIM_MAX_CLIENTS 64

struct mbsim__fault {
  uint8_t unit, space, code;
  uint32_t first, end;     /* [first, end) */
};

struct mbsim {
  int listen_fd, wake_fd;
  uint16_t port;
  modbus_t *ctx;           /* server thread only: frames requests on the client sockets */
  pthread_t thread;
  bool started;

  pthread_mutex_t lock;    /* guards everything below */
  modbus_mapping_t *maps[MBSIM_UNITS];
  bool silent[MBSIM_UNITS];
  struct mbsim__fault *faults;
  size_t n_faults, cap_faults;
  atomic_uint_fast64_t requests;
  bool rtu;                /* fds[2] is the serial line: never closed on a bad frame */
  bool rtu_opened;         /* the line was opened by modbus_connect (rtu_device) */
  int header;              /* bytes before the function code: 7 (MBAP) or 1 (RTU address) */

  struct pollfd fds[2 + MBSIM_MAX_CLIENTS]; /* wake, listener, clients */
  size_t n_fds;
};

static int mbsim__listen(struct mbsim *s, const char *host, uint16_t port)
{
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) return -EINVAL;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t len = sizeof sa;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  s->listen_fd = fd;
  s->port = ntohs(sa.sin_port);
  return 0;
}

/* The one unit served answers as the RTU slave address; requests for other addresses are
 * dropped by libmodbus. */
static int mbsim__open_rtu(struct mbsim *s, const struct mbsim_opts *o)
{
  int unit = o->units ? (o->n_units == 1 ? o->units[0] : -1) : 1;
  if (unit < 1 || unit > 247) return -EINVAL;
  s->rtu = true;
  s->ctx = modbus_new_rtu(o->rtu_device ? o->rtu_device : "/dev/null", o->rtu_baud ? (int)o->rtu_baud : 9600,
                          'N', 8, 1);
  if (!s->ctx) return -errno ? -errno : -ENOMEM;
  if (modbus_set_slave(s->ctx, unit) < 0) return -EINVAL;
  if (!o->rtu_device) return modbus_set_socket(s->ctx, o->rtu_fd) < 0 ? -EINVAL : 0;
  if (modbus_connect(s->ctx) < 0) return -errno ? -errno : -EIO;
  s->rtu_opened = true;
  return 0;
}

/* ---- request handling (server thread) ---- */

static int mbsim__space_of(int function)
{
  switch (function) {
  case 0x01: case 0x05: case 0x0F: return DG_MB_COIL;
  case 0x02: return DG_MB_DISCRETE;
  case 0x04: return DG_MB_INPUT;
  case 0x03: case 0x06: case 0x10: case 0x17: return DG_MB_HOLDING;
  default: return 0;
  }
}

/* Exception code configured for this request, 0 if none. Caller holds the lock. */
static int mbsim__fault_for(struct mbsim *s, const uint8_t *req, int len)
{
  int h = s->header;
  if (len < h + 5 || s->n_faults == 0) return 0;
  int unit = req[h - 1], function = req[h];
  int space = mbsim__space_of(function);
  uint32_t addr = (uint32_t)req[h + 1] << 8 | req[h + 2];
  uint32_t nb = (uint32_t)req[h + 3] << 8 | req[h + 4];
  if (function == 0x05 || function == 0x06) nb = 1;
  for (size_t i = 0; i < s->n_faults; i++) {
    const struct mbsim__fault *f = &s->faults[i];
    if (f->unit == unit && f->space == space && addr < f->end && addr + nb > f->first)
      return f->code;
  }
  return 0;
}

/* Reads one request from client fd and answers it. Returns -1 when the client must go. */
static int mbsim__serve(struct mbsim *s, int fd)
{
  uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
  modbus_set_socket(s->ctx, fd);
  int len = modbus_receive(s->ctx, req);
  if (len < 0) return -1;
  if (len < s->header + 1) return 0;
  atomic_fetch_add(&s->requests, 1);
  int unit = req[s->header - 1];
  int rc = 0;
  pthread_mutex_lock(&s->lock);
  if (unit < MBSIM_UNITS && s->maps[unit] && !s->silent[unit]) {
    int code = mbsim__fault_for(s, req, len);
    rc = code ? modbus_reply_exception(s->ctx, req, (unsigned)code)
              : modbus_reply(s->ctx, req, len, s->maps[unit]);
  }
  pthread_mutex_unlock(&s->lock);
  return rc < 0 ? -1 : 0;
}

static void mbsim__accept(struct mbsim *s)
{
  int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0) return;
  if (s->n_fds == sizeof s->fds / sizeof *s->fds) {
    DG_LOG_RL(DG_LOG_WARN, MBSIM_LOG, "port %u: too many clients, connection refused", s->port);
    close(fd);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  s->fds[s->n_fds++] = (struct pollfd){.fd = fd, .events = POLLIN};
}

static void *mbsim__main(void *arg)
{
  struct mbsim *s = arg;
  pthread_setname_np(pthread_self(), "dg-mbsim");
  for (;;) {
    if (poll(s->fds, s->n_fds, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (s->fds[0].revents) break;
    for (size_t i = 2; i < s->n_fds;) {
      if (s->fds[i].revents && mbsim__serve(s, s->fds[i].fd) < 0 && !s->rtu) {
        close(s->fds[i].fd);
        s->fds[i] = s->fds[--s->n_fds];
        continue;
      }
      i++;
    }
    if (s->fds[1].revents & POLLIN) mbsim__accept(s);
  }
  return NULL;
}

/* ---- public API ---- */

static void mbsim__free(struct mbsim *s)
{
  for (size_t i = 2; i < s->n_fds && !s->rtu; i++) close(s->fds[i].fd);
  if (s->listen_fd >= 0) close(s->listen_fd);
  if (s->wake_fd >= 0) close(s->wake_fd);
  if (s->ctx && s->rtu && s->rtu_opened) modbus_close(s->ctx);
  if (s->ctx) {
    modbus_set_socket(s->ctx, -1);
    modbus_free(s->ctx);
  }
  for (int u = 0; u < MBSIM_UNITS; u++)
    if (s->maps[u]) modbus_mapping_free(s->maps[u]);
  free(s->faults);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

static int mbsim__add_units(struct mbsim *s, const struct mbsim_opts *o)
{
  static const uint8_t unit_one = 1;
  const uint8_t *units = o->units ? o->units : &unit_one;
  size_t n = o->units ? o->n_units : 1;
  for (size_t i = 0; i < n; i++) {
    if (units[i] >= MBSIM_UNITS) return -EINVAL;
    if (s->maps[units[i]]) continue;
    s->maps[units[i]] = modbus_mapping_new_start_address(
      o->start, o->n_coils, o->start, o->n_discretes, o->start, o->n_holdings, o->start,
      o->n_inputs);
    if (!s->maps[units[i]]) return -ENOMEM;
  }
  return 0;
}

static int mbsim__start_thread(struct mbsim *s)
{
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = -pthread_create(&s->thread, NULL, mbsim__main, s);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  s->started = rc == 0;
  return rc;
}

int mbsim_start(struct mbsim **out, const struct mbsim_opts *o)
{
  *out = NULL;
  struct mbsim *s = calloc(1, sizeof *s);
  if (!s) return -ENOMEM;
  s->listen_fd = s->wake_fd = -1;
  int rc = -pthread_mutex_init(&s->lock, NULL);
  if (rc < 0) {
    free(s);
    return rc;
  }
  rc = mbsim__add_units(s, o);
  if (rc < 0) goto fail;
  s->wake_fd = eventfd(0, EFD_CLOEXEC);
  if (s->wake_fd < 0) {
    rc = -errno;
    goto fail;
  }
  rc = o->rtu ? mbsim__open_rtu(s, o) : mbsim__listen(s, o->host ? o->host : "127.0.0.1", o->port);
  if (rc < 0) goto fail;
  if (!s->ctx) s->ctx = modbus_new_tcp(NULL, 0);
  if (!s->ctx) {
    rc = -ENOMEM;
    goto fail;
  }
  s->header = modbus_get_header_length(s->ctx);
  modbus_set_error_recovery(s->ctx, MODBUS_ERROR_RECOVERY_NONE);
  s->fds[0] = (struct pollfd){.fd = s->wake_fd, .events = POLLIN};
  s->fds[1] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN}; /* -1 (ignored) for RTU */
  s->n_fds = 2;
  if (s->rtu) s->fds[s->n_fds++] = (struct pollfd){.fd = modbus_get_socket(s->ctx), .events = POLLIN};
  rc = mbsim__start_thread(s);
  if (rc < 0) goto fail;
  *out = s;
  return 0;
fail:
  mbsim__free(s);
  return rc;
}

void mbsim_stop(struct mbsim *s)
{
  if (!s) return;
  if (s->started) {
    uint64_t one = 1;
    while (write(s->wake_fd, &one, sizeof one) < 0 && errno == EINTR) continue;
    pthread_join(s->thread, NULL);
  }
  mbsim__free(s);
}

uint16_t mbsim_port(const struct mbsim *s) { return s->port; }

uint64_t mbsim_requests(struct mbsim *s) { return atomic_load(&s->requests); }

/* The table for unit/space, with its start and size. Caller holds the lock. */
static int mbsim__table(struct mbsim *s, int unit, enum dg_mb_space space, uint16_t addr,
                        size_t n, void **tab, size_t *first)
{
  if (unit < 0 || unit >= MBSIM_UNITS || !s->maps[unit]) return -ENOENT;
  modbus_mapping_t *m = s->maps[unit];
  int start, nb;
  switch (space) {
  case DG_MB_COIL: start = m->start_bits; nb = m->nb_bits; *tab = m->tab_bits; break;
  case DG_MB_DISCRETE:
    start = m->start_input_bits; nb = m->nb_input_bits; *tab = m->tab_input_bits; break;
  case DG_MB_INPUT:
    start = m->start_input_registers; nb = m->nb_input_registers; *tab = m->tab_input_registers;
    break;
  case DG_MB_HOLDING: start = m->start_registers; nb = m->nb_registers; *tab = m->tab_registers; break;
  default: return -EINVAL;
  }
  if (addr < start || addr - start + n > (size_t)nb) return -EINVAL;
  *first = (size_t)(addr - start);
  return 0;
}

static bool mbsim__is_bits(enum dg_mb_space space)
{
  return space == DG_MB_COIL || space == DG_MB_DISCRETE;
}

static int mbsim__copy(struct mbsim *s, int unit, enum dg_mb_space space, uint16_t addr,
                       void *v, size_t n, bool bits, bool write)
{
  if (bits != mbsim__is_bits(space)) return -EINVAL;
  size_t width = bits ? sizeof(uint8_t) : sizeof(uint16_t);
  void *tab;
  size_t first;
  pthread_mutex_lock(&s->lock);
  int rc = mbsim__table(s, unit, space, addr, n, &tab, &first);
  if (rc == 0) {
    uint8_t *cell = (uint8_t *)tab + first * width;
    if (write) memcpy(cell, v, n * width);
    else memcpy(v, cell, n * width);
  }
  pthread_mutex_unlock(&s->lock);
  return rc;
}

int mbsim_set_registers(struct mbsim *s, int unit, enum dg_mb_space space, uint16_t addr,
                        const uint16_t *v, size_t n)
{
  return mbsim__copy(s, unit, space, addr, (void *)v, n, false, true);
}

int mbsim_get_registers(struct mbsim *s, int unit, enum dg_mb_space space, uint16_t addr,
                        uint16_t *v, size_t n)
{
  return mbsim__copy(s, unit, space, addr, v, n, false, false);
}

int mbsim_set_bits(struct mbsim *s, int unit, enum dg_mb_space space, uint16_t addr,
                   const uint8_t *v, size_t n)
{
  return mbsim__copy(s, unit, space, addr, (void *)v, n, true, true);
}

int mbsim_get_bits(struct mbsim *s, int unit, enum dg_mb_space space, uint16_t addr, uint8_t *v,
                   size_t n)
{
  return mbsim__copy(s, unit, space, addr, v, n, true, false);
}

static void mbsim__clear_faults(struct mbsim *s, int unit, enum dg_mb_space space)
{
  size_t k = 0;
  for (size_t i = 0; i < s->n_faults; i++)
    if (s->faults[i].unit != unit || s->faults[i].space != space) s->faults[k++] = s->faults[i];
  s->n_faults = k;
}

static int mbsim__add_fault(struct mbsim *s, const struct mbsim__fault *f)
{
  if (s->n_faults == s->cap_faults) {
    size_t cap = s->cap_faults ? 2 * s->cap_faults : 8;
    struct mbsim__fault *p = realloc(s->faults, cap * sizeof *p);
    if (!p) return -ENOMEM;
    s->faults = p;
    s->cap_faults = cap;
  }
  s->faults[s->n_faults++] = *f;
  return 0;
}

int mbsim_set_exception(struct mbsim *s, int unit, enum dg_mb_space space, uint16_t addr,
                        uint16_t n, int code)
{
  if (space < DG_MB_COIL || space > DG_MB_HOLDING || code < 0 || code > 255) return -EINVAL;
  if (unit < 0 || unit >= MBSIM_UNITS) return -ENOENT;
  int rc = 0;
  pthread_mutex_lock(&s->lock);
  if (!s->maps[unit]) rc = -ENOENT;
  else if (code == 0) mbsim__clear_faults(s, unit, space);
  else
    rc = mbsim__add_fault(s, &(struct mbsim__fault){.unit = (uint8_t)unit, .space = (uint8_t)space,
                                                   .code = (uint8_t)code, .first = addr,
                                                   .end = (uint32_t)addr + n});
  pthread_mutex_unlock(&s->lock);
  return rc;
}

int mbsim_set_silent(struct mbsim *s, int unit, bool silent)
{
  if (unit < -1 || unit >= MBSIM_UNITS) return -ENOENT;
  int rc = 0;
  pthread_mutex_lock(&s->lock);
  if (unit == -1) {
    for (int u = 0; u < MBSIM_UNITS; u++) s->silent[u] = silent;
  } else if (s->maps[unit]) {
    s->silent[unit] = silent;
  } else {
    rc = -ENOENT;
  }
  pthread_mutex_unlock(&s->lock);
  return rc;
}
