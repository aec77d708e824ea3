/* Modbus driver: bus threads, connections, scheduling and fault handling. */
#include "modbus.h"

#include <errno.h>
#include <fcntl.h>
#include <modbus/modbus.h> /* drivers/modbus.h shadows <modbus.h> */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define MB_LOG "modbus"
#define MB_SLAVES 248
#define MB_LINK_BACKOFF_MIN_MS 100
#define MB_MAX_WAIT_MS 1000 /* longest sleep between heartbeats */
#define MB_THREAD_STACK (512 * 1024)
/* A bus thread hands samples over in batches: one queue lock and at most one wake-up of the loop
 * per batch instead of per request. A batch is handed over when it reaches MB_BATCH_SAMPLES,
 * before the bus waits for anything (sleep, connect, a slave that failed last time) and before
 * a read that would, judging by the last round trip, make its oldest sample older than
 * MB_BATCH_MS. A device that stops answering in the middle of a batch holds that batch for one
 * response timeout, once: after a failure the batch goes out before every read of that slave. */
#define MB_BATCH_SAMPLES 1024
#define MB_BATCH_MS 2

#define MB_DEF_PORT 502
#define MB_DEF_BAUD 9600
#define MB_DEF_RESPONSE_MS 1000
#define MB_DEF_BYTE_MS 500
#define MB_DEF_FAIL_THRESHOLD 3
#define MB_DEF_RECONNECT_MAX_MS 30000

/* How a failed read is handled. */
enum mb__fault {
  MB_FAULT_TIMEOUT,   /* no answer in time: COMM, counts against the slave */
  MB_FAULT_FRAME,     /* garbled or mismatched answer: COMM, counts, stream flushed */
  MB_FAULT_LINK,      /* connection lost: COMM, counts, reconnect */
  MB_FAULT_EXCEPTION, /* the slave answered with an exception: DEVICE, slave is alive */
  MB_FAULT_GATEWAY,   /* gateway says the target did not answer: COMM, counts */
};

struct mb__slave {
  bool used;
  bool down;              /* past fail_threshold: probed once per backoff period */
  uint32_t failures;      /* consecutive */
  uint32_t min_period_ms;
  uint32_t backoff_ms;
  int64_t next_probe_ms;
};

struct mb__bus {
  struct mb_driver *drv;
  size_t index;
  struct dg_modbus_bus cfg; /* defaults applied; strings owned below */
  char *id, *host, *device;
  struct mb_plan plan;
  int64_t *next_due;        /* per planned request */
  struct mb__slave slaves[MB_SLAVES];
  struct dg_sample *samples;
  size_t cap_samples;
  size_t n_samples;         /* batch not yet handed to the queue */
  int64_t batch_us;         /* monotonic time of its first sample */
  uint64_t unpublished_requests; /* requests not yet counted in stats */
  uint32_t unpublished_rtt_us;   /* round trip of the last successful one of them, 0: none */
  uint32_t rtt_us;          /* last round trip, successful or not */
  uint16_t regs[MB_MAX_READ_REGISTERS];
  uint8_t bits[MB_MAX_READ_BITS];

  /* bus thread only */
  modbus_t *ctx;
  bool connected, ever_connected;
  uint32_t link_backoff_ms;
  int64_t reconnect_at_ms;
  uint32_t timeouts_in_row; /* bus-wide, no answer from anyone in between */
  bool rs485_warned;
  bool sync_ready;          /* lock and wake initialised */

  pthread_t thread;
  bool started;
  atomic_bool stop;
  atomic_int_fast64_t heartbeat_ms;
  pthread_mutex_t lock;     /* guards stats and the wait on `wake` */
  pthread_cond_t wake;
  struct mb_bus_stats stats;
};

struct mb_driver {
  struct sampleq *q;
  struct mb__bus *buses;
  size_t n_buses;
};

static int64_t mb__now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mb__now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint32_t mb__min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

static uint32_t mb__double_capped(uint32_t v, uint32_t cap)
{
  return (uint64_t)v * 2 < cap ? v * 2 : cap;
}

/* modbus_strerror() uses strerror(), which is not thread-safe. */
static const char *mb__strerror(int err, char *buf, size_t len)
{
  static const char *const texts[] = {
    "illegal function", "illegal data address", "illegal data value", "slave device failure",
    "acknowledge", "slave device busy", "negative acknowledge", "memory parity error",
    "exception 9", "gateway path unavailable", "gateway target failed to respond",
    "invalid CRC", "invalid data", "invalid exception code", "unknown exception code",
    "too many data", "response from the wrong slave"};
  if (err > MODBUS_ENOBASE && err - MODBUS_ENOBASE <= (int)(sizeof texts / sizeof *texts))
    return texts[err - MODBUS_ENOBASE - 1];
  return strerror_r(err, buf, len);
}

static const char *mb__space_name(int space)
{
  switch (space) {
  case DG_MB_COIL: return "coils";
  case DG_MB_DISCRETE: return "discrete inputs";
  case DG_MB_INPUT: return "input registers";
  default: return "holding registers";
  }
}

static enum mb__fault mb__classify(int err)
{
  if (err == ETIMEDOUT) return MB_FAULT_TIMEOUT;
  if (err == EMBXGPATH || err == EMBXGTAR) return MB_FAULT_GATEWAY;
  if ((err > MODBUS_ENOBASE && err < MODBUS_ENOBASE + MODBUS_EXCEPTION_MAX) || err == EMBBADEXC)
    return MB_FAULT_EXCEPTION;
  if (err >= MODBUS_ENOBASE || err == EINVAL) return MB_FAULT_FRAME;
  return MB_FAULT_LINK;
}

static void mb__beat(struct mb__bus *b, int64_t now_ms)
{
  atomic_store_explicit(&b->heartbeat_ms, now_ms, memory_order_relaxed);
}

static bool mb__stopping(struct mb__bus *b) { return atomic_load(&b->stop); }

/* ---- samples ---- */

/* Counts the requests done since the last call in stats; the caller holds b->lock. */
static void mb__publish_requests_locked(struct mb__bus *b)
{
  b->stats.requests += b->unpublished_requests;
  if (b->unpublished_rtt_us) b->stats.last_rtt_us = b->unpublished_rtt_us;
  b->unpublished_requests = 0;
  b->unpublished_rtt_us = 0;
}

/* Hands the batch to the loop. Stats first: whoever sees the values sees them counted. */
static void mb__flush_samples(struct mb__bus *b)
{
  if (b->unpublished_requests) {
    pthread_mutex_lock(&b->lock);
    mb__publish_requests_locked(b);
    pthread_mutex_unlock(&b->lock);
  }
  size_t n = b->n_samples;
  b->n_samples = 0;
  if (n && sampleq_push(b->drv->q, b->samples, n) < 0)
    DG_LOG_RL(DG_LOG_WARN, MB_LOG, "bus %s: sample queue full, %zu samples dropped", b->id, n);
}

/* Room for n more samples in the batch (n <= cap_samples). */
static struct dg_sample *mb__batch_room(struct mb__bus *b, size_t n)
{
  if (b->n_samples + n > b->cap_samples) mb__flush_samples(b);
  if (b->n_samples == 0) b->batch_us = mb__now_us();
  struct dg_sample *at = b->samples + b->n_samples;
  b->n_samples += n;
  return at;
}

static void mb__add_quality(struct mb__bus *b, const struct mb_request *r, enum dg_quality q,
                            int64_t ts)
{
  struct dg_sample *at = mb__batch_room(b, r->n_items);
  for (uint32_t i = 0; i < r->n_items; i++)
    at[i] = (struct dg_sample){.point = b->plan.items[r->first_item + i].point, .quality = q,
                               .value = 0, .ts_ms = ts};
}

/* Comm loss of one slave: every point it serves. */
static void mb__add_slave_comm(struct mb__bus *b, int slave)
{
  int64_t ts = dg_wall_ms();
  for (size_t i = 0; i < b->plan.n_reqs; i++)
    if (b->plan.reqs[i].slave == slave) mb__add_quality(b, &b->plan.reqs[i], DG_Q_COMM, ts);
}

static void mb__add_values(struct mb__bus *b, const struct mb_request *r)
{
  int64_t ts = dg_wall_ms();
  struct dg_sample *at = mb__batch_room(b, r->n_items);
  for (uint32_t i = 0; i < r->n_items; i++) {
    const struct mb_item *it = &b->plan.items[r->first_item + i];
    double v = 0;
    int rc = mb_decode_item(it, r->space, b->regs, b->bits, r->count, &v);
    at[i] = (struct dg_sample){.point = it->point, .ts_ms = ts,
                               .quality = rc == 0 ? DG_Q_GOOD : DG_Q_DEVICE,
                               .value = rc == 0 ? v : 0};
  }
}

/* Before reading r: hands the batch over if the read may keep it waiting too long. Returns
 * whether it did. */
static bool mb__flush_before_read(struct mb__bus *b, const struct mb_request *r, int64_t now_us)
{
  if (!b->n_samples) return false;
  const struct mb__slave *s = &b->slaves[r->slave];
  if (!s->failures && !b->timeouts_in_row &&
      now_us + b->rtt_us - b->batch_us < (int64_t)MB_BATCH_MS * 1000)
    return false;
  mb__flush_samples(b);
  return true;
}

/* After a request: hand the batch over once it is full or old enough. */
static void mb__flush_if_due(struct mb__bus *b, int64_t now_us)
{
  if (b->n_samples >= MB_BATCH_SAMPLES || now_us - b->batch_us >= (int64_t)MB_BATCH_MS * 1000)
    mb__flush_samples(b);
}

/* Hands the batch over, then sleeps until `when` (monotonic ms) or stop, at most MB_MAX_WAIT_MS
 * so the caller can beat. */
static void mb__sleep_until(struct mb__bus *b, int64_t when)
{
  mb__flush_samples(b);
  int64_t limit = mb__now_ms() + MB_MAX_WAIT_MS;
  if (when > limit) when = limit;
  struct timespec ts = {.tv_sec = when / 1000, .tv_nsec = (when % 1000) * 1000000};
  pthread_mutex_lock(&b->lock);
  while (!mb__stopping(b) && mb__now_ms() < when)
    if (pthread_cond_timedwait(&b->wake, &b->lock, &ts) == ETIMEDOUT) break;
  pthread_mutex_unlock(&b->lock);
}

/* ---- slave health ---- */

static void mb__slave_ok(struct mb__bus *b, int slave)
{
  struct mb__slave *s = &b->slaves[slave];
  s->failures = 0;
  if (!s->down) return;
  s->down = false;
  DG_INFO(MB_LOG, "bus %s: slave %d answers again", b->id, slave);
  pthread_mutex_lock(&b->lock);
  b->stats.slaves_down--;
  pthread_mutex_unlock(&b->lock);
}

static void mb__slave_failed(struct mb__bus *b, int slave)
{
  struct mb__slave *s = &b->slaves[slave];
  int64_t now = mb__now_ms();
  s->failures++;
  if (s->down) {
    s->next_probe_ms = now + s->backoff_ms;
    s->backoff_ms = mb__double_capped(s->backoff_ms, b->cfg.reconnect_max_ms);
    return;
  }
  if (s->failures < b->cfg.fail_threshold) return;
  s->down = true;
  s->backoff_ms = mb__min_u32(s->min_period_ms, b->cfg.reconnect_max_ms);
  s->next_probe_ms = now + s->backoff_ms;
  DG_WARN(MB_LOG, "bus %s: slave %d lost after %u failures", b->id, slave, s->failures);
  pthread_mutex_lock(&b->lock);
  b->stats.slaves_down++;
  pthread_mutex_unlock(&b->lock);
  mb__add_slave_comm(b, slave);
}

/* ---- connection ---- */

static int mb__tcp_socket(const char *host, uint16_t port, uint32_t timeout_ms)
{
  char service[8];
  snprintf(service, sizeof service, "%u", port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
  int rc = getaddrinfo(host, service, &hints, &res);
  if (rc) return rc == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
  int err = -ECONNREFUSED;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      err = -errno;
      continue;
    }
    int so = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
      so = errno;
      if (so == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        socklen_t len = sizeof so;
        so = ETIMEDOUT;
        if (poll(&p, 1, (int)timeout_ms) == 1) getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &len);
      }
    }
    if (so == 0) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      freeaddrinfo(res);
      return fd;
    }
    err = -so;
    close(fd);
  }
  freeaddrinfo(res);
  return err;
}

static int mb__connect(struct mb__bus *b)
{
  if (b->cfg.transport == DG_MB_RTU_OVER_TCP) {
    int fd = mb__tcp_socket(b->host, b->cfg.port, b->cfg.response_timeout_ms);
    if (fd < 0) return fd;
    modbus_set_socket(b->ctx, fd);
    return 0;
  }
  if (modbus_connect(b->ctx) < 0) return -errno;
  if (b->cfg.transport == DG_MB_RTU && b->cfg.rs485 &&
      modbus_rtu_set_serial_mode(b->ctx, MODBUS_RTU_RS485) < 0 && !b->rs485_warned) {
    char buf[64];
    DG_WARN(MB_LOG, "bus %s: cannot set RS-485 mode on %s: %s", b->id, b->device,
            mb__strerror(errno, buf, sizeof buf));
    b->rs485_warned = true;
  }
  return 0;
}

static void mb__close(struct mb__bus *b)
{
  if (b->cfg.transport == DG_MB_RTU_OVER_TCP) {
    /* The RTU backend would run tcsetattr() on the socket: close it ourselves. */
    int fd = modbus_get_socket(b->ctx);
    modbus_set_socket(b->ctx, -1);
    if (fd >= 0) close(fd);
  } else {
    modbus_close(b->ctx);
  }
  b->connected = false;
  pthread_mutex_lock(&b->lock);
  b->stats.connected = false;
  pthread_mutex_unlock(&b->lock);
}

/* Discards whatever is left in the receive path (a late answer to a timed-out request). */
static void mb__flush(struct mb__bus *b)
{
  if (b->cfg.transport != DG_MB_RTU_OVER_TCP) {
    modbus_flush(b->ctx);
    return;
  }
  uint8_t junk[256];
  int fd = modbus_get_socket(b->ctx);
  while (fd >= 0 && recv(fd, junk, sizeof junk, MSG_DONTWAIT) > 0) continue;
}

static void mb__on_connected(struct mb__bus *b)
{
  b->connected = true;
  b->timeouts_in_row = 0;
  /* A fresh connection carries no stale answers: lost slaves are probed on it right away
   * instead of after their backoff, so recovery takes one reconnect delay, not a probe period. */
  int64_t now = mb__now_ms();
  for (int s = 0; s < MB_SLAVES; s++)
    if (b->slaves[s].down) b->slaves[s].next_probe_ms = now;
  pthread_mutex_lock(&b->lock);
  b->stats.connected = true;
  b->stats.connects++;
  if (b->ever_connected) b->stats.reconnects++;
  pthread_mutex_unlock(&b->lock);
  if (b->ever_connected) DG_INFO(MB_LOG, "bus %s: reconnected", b->id);
  b->ever_connected = true;
}

static void mb__on_connect_failed(struct mb__bus *b, int err)
{
  char buf[64];
  DG_LOG_RL(DG_LOG_WARN, MB_LOG, "bus %s: connect failed: %s", b->id,
            mb__strerror(-err, buf, sizeof buf));
  pthread_mutex_lock(&b->lock);
  b->stats.connect_failures++;
  pthread_mutex_unlock(&b->lock);
  for (int s = 0; s < MB_SLAVES; s++)
    if (b->slaves[s].used) mb__slave_failed(b, s);
  b->reconnect_at_ms = mb__now_ms() + b->link_backoff_ms;
  b->link_backoff_ms = mb__double_capped(b->link_backoff_ms, b->cfg.reconnect_max_ms);
}

/* ---- polling ---- */

static int mb__read(struct mb__bus *b, const struct mb_request *r)
{
  int rc;
  if (modbus_set_slave(b->ctx, r->slave) < 0) return -errno;
  switch (r->space) {
  case DG_MB_COIL: rc = modbus_read_bits(b->ctx, r->address, r->count, b->bits); break;
  case DG_MB_DISCRETE: rc = modbus_read_input_bits(b->ctx, r->address, r->count, b->bits); break;
  case DG_MB_INPUT: rc = modbus_read_input_registers(b->ctx, r->address, r->count, b->regs); break;
  default: rc = modbus_read_registers(b->ctx, r->address, r->count, b->regs); break;
  }
  if (rc < 0) return errno ? -errno : -EIO;
  return rc == r->count ? 0 : -EMBBADDATA;
}

static void mb__count_failure(struct mb__bus *b, enum mb__fault f, int err)
{
  pthread_mutex_lock(&b->lock);
  mb__publish_requests_locked(b); /* errors never outnumber requests */
  b->stats.errors++;
  if (f == MB_FAULT_TIMEOUT) b->stats.timeouts++;
  if (f == MB_FAULT_EXCEPTION || f == MB_FAULT_GATEWAY) {
    int code = err - MODBUS_ENOBASE;
    b->stats.exceptions++;
    b->stats.exception_codes[code > 0 && code < MB_EXCEPTION_CODES ? code : 0]++;
  }
  pthread_mutex_unlock(&b->lock);
}

/* A mismatched transaction id or unit (EMBBADDATA, EMBBADSLAVE) or a garbled frame on a stream
 * means answers to earlier requests are still queued on it: a device that stalled and then answers
 * its backlog late keeps one stale answer ahead of every request, and a flush only drains what has
 * already arrived. Only a fresh connection is known to be clean. */
static void mb__drop_stream(struct mb__bus *b)
{
  DG_LOG_RL(DG_LOG_WARN, MB_LOG, "bus %s: answer out of step with its request, reconnecting", b->id);
  mb__close(b);
  b->reconnect_at_ms = mb__now_ms() + b->link_backoff_ms;
  b->link_backoff_ms = mb__double_capped(b->link_backoff_ms, b->cfg.reconnect_max_ms);
}

static void mb__on_failure(struct mb__bus *b, const struct mb_request *r, int err)
{
  enum mb__fault f = mb__classify(err);
  char buf[64];
  DG_LOG_RL(DG_LOG_WARN, MB_LOG, "bus %s: slave %u: reading %u %s from %u failed: %s", b->id,
            r->slave, r->count, mb__space_name(r->space), r->address,
            mb__strerror(err, buf, sizeof buf));
  mb__count_failure(b, f, err);
  mb__add_quality(b, r, f == MB_FAULT_EXCEPTION ? DG_Q_DEVICE : DG_Q_COMM, dg_wall_ms());
  if (f == MB_FAULT_EXCEPTION) mb__slave_ok(b, r->slave);
  else mb__slave_failed(b, r->slave);

  if (f == MB_FAULT_TIMEOUT) b->timeouts_in_row++;
  else if (f != MB_FAULT_LINK) b->timeouts_in_row = 0;
  bool tcp = b->cfg.transport != DG_MB_RTU;
  if (tcp && f == MB_FAULT_FRAME) {
    mb__drop_stream(b);
    return;
  }
  if (f == MB_FAULT_LINK || (tcp && b->timeouts_in_row >= b->cfg.fail_threshold)) {
    /* A TCP link nobody answers on for a while may be half-open: start a fresh one. */
    mb__close(b);
    b->reconnect_at_ms = mb__now_ms() + (f == MB_FAULT_LINK ? b->link_backoff_ms : 0);
    return;
  }
  if (f == MB_FAULT_TIMEOUT || f == MB_FAULT_FRAME) mb__flush(b);
}

/* t0_us: monotonic now. Stats and samples go out with the batch (mb__flush_samples). */
static void mb__execute(struct mb__bus *b, size_t i, int64_t t0_us)
{
  const struct mb_request *r = &b->plan.reqs[i];
  if (mb__flush_before_read(b, r, t0_us)) t0_us = mb__now_us();
  int rc = mb__read(b, r);
  int64_t now_us = mb__now_us(), now_ms = now_us / 1000;
  b->rtt_us = (uint32_t)(now_us - t0_us);
  b->unpublished_requests++;
  if (rc == 0) b->unpublished_rtt_us = b->rtt_us ? b->rtt_us : 1;

  b->next_due[i] += r->period_ms;
  if (b->next_due[i] <= now_ms) b->next_due[i] = now_ms + r->period_ms;
  if (rc < 0) {
    mb__on_failure(b, r, -rc);
    mb__flush_samples(b);
    return;
  }
  b->timeouts_in_row = 0;
  b->link_backoff_ms = MB_LINK_BACKOFF_MIN_MS;
  mb__slave_ok(b, r->slave); /* stats first: whoever sees the values sees the slave back */
  mb__add_values(b, r);
  mb__flush_if_due(b, now_us);
}

/* Earliest request to run; a lost slave's requests wait for its next probe. */
static size_t mb__next_request(struct mb__bus *b, int64_t *due)
{
  size_t best = SIZE_MAX;
  *due = INT64_MAX;
  for (size_t i = 0; i < b->plan.n_reqs; i++) {
    const struct mb__slave *s = &b->slaves[b->plan.reqs[i].slave];
    int64_t d = b->next_due[i];
    if (s->down && s->next_probe_ms > d) d = s->next_probe_ms;
    if (d < *due) {
      *due = d;
      best = i;
    }
  }
  return best;
}

static void mb__poll_once(struct mb__bus *b, int64_t now_us)
{
  int64_t now = now_us / 1000;
  if (!b->connected) {
    if (now < b->reconnect_at_ms) {
      mb__sleep_until(b, b->reconnect_at_ms);
      return;
    }
    mb__flush_samples(b);
    int rc = mb__connect(b);
    if (rc < 0) mb__on_connect_failed(b, rc);
    else mb__on_connected(b);
    return;
  }
  int64_t due;
  size_t i = mb__next_request(b, &due);
  if (due > now) {
    mb__sleep_until(b, due);
    return;
  }
  mb__execute(b, i, now_us);
  if (b->cfg.request_pause_ms) mb__sleep_until(b, mb__now_ms() + b->cfg.request_pause_ms);
}

static void *mb__bus_main(void *arg)
{
  struct mb__bus *b = arg;
  pthread_setname_np(pthread_self(), "dg-modbus");
  int64_t now = mb__now_ms();
  for (size_t i = 0; i < b->plan.n_reqs; i++) b->next_due[i] = now;
  while (!mb__stopping(b)) {
    int64_t now_us = mb__now_us();
    mb__beat(b, now_us / 1000);
    if (b->plan.n_reqs == 0) mb__sleep_until(b, INT64_MAX);
    else mb__poll_once(b, now_us);
  }
  mb__flush_samples(b);
  if (b->connected) mb__close(b);
  return NULL;
}

/* ---- setup ---- */

static void mb__apply_defaults(struct dg_modbus_bus *c)
{
  if (!c->port) c->port = MB_DEF_PORT;
  if (!c->baud) c->baud = MB_DEF_BAUD;
  if (!c->parity) c->parity = 'N';
  if (!c->data_bits) c->data_bits = 8;
  if (!c->stop_bits) c->stop_bits = 1;
  if (!c->response_timeout_ms) c->response_timeout_ms = MB_DEF_RESPONSE_MS;
  if (!c->byte_timeout_ms) c->byte_timeout_ms = MB_DEF_BYTE_MS;
  if (!c->fail_threshold) c->fail_threshold = MB_DEF_FAIL_THRESHOLD;
  if (!c->reconnect_max_ms) c->reconnect_max_ms = MB_DEF_RECONNECT_MAX_MS;
  if (c->reconnect_max_ms < MB_LINK_BACKOFF_MIN_MS) c->reconnect_max_ms = MB_LINK_BACKOFF_MIN_MS;
}

static int mb__new_context(struct mb__bus *b)
{
  const struct dg_modbus_bus *c = &b->cfg;
  char service[8];
  switch (c->transport) {
  case DG_MB_TCP:
    if (!b->host) return -EINVAL;
    snprintf(service, sizeof service, "%u", c->port);
    b->ctx = modbus_new_tcp_pi(b->host, service);
    break;
  case DG_MB_RTU:
    if (!b->device) return -EINVAL;
    b->ctx = modbus_new_rtu(b->device, (int)c->baud, c->parity, c->data_bits, c->stop_bits);
    break;
  case DG_MB_RTU_OVER_TCP:
    /* The RTU backend only frames; the "device" is never opened. */
    if (!b->host) return -EINVAL;
    b->ctx = modbus_new_rtu(b->host, (int)c->baud, 'N', 8, 1);
    break;
  default: return -EINVAL;
  }
  if (!b->ctx) return errno == ENOMEM ? -ENOMEM : -EINVAL;
  modbus_set_error_recovery(b->ctx, MODBUS_ERROR_RECOVERY_NONE);
  modbus_set_response_timeout(b->ctx, c->response_timeout_ms / 1000,
                              (c->response_timeout_ms % 1000) * 1000);
  modbus_set_byte_timeout(b->ctx, c->byte_timeout_ms / 1000, (c->byte_timeout_ms % 1000) * 1000);
  return 0;
}

static char *mb__strdup(const char *s, int *rc)
{
  if (!s) return NULL;
  char *d = strdup(s);
  if (!d) *rc = -ENOMEM;
  return d;
}

static int mb__bus_init(struct mb__bus *b, struct mb_driver *m, const struct dg_config *cfg,
                        size_t index)
{
  b->drv = m;
  b->index = index;
  b->cfg = cfg->modbus_buses[index];
  mb__apply_defaults(&b->cfg);
  b->cfg.id = b->cfg.host = b->cfg.device = NULL;
  b->link_backoff_ms = MB_LINK_BACKOFF_MIN_MS;
  atomic_init(&b->stop, false);
  atomic_init(&b->heartbeat_ms, mb__now_ms());

  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  int rc = -pthread_cond_init(&b->wake, &ca);
  pthread_condattr_destroy(&ca);
  if (rc < 0) return rc;
  rc = -pthread_mutex_init(&b->lock, NULL);
  if (rc < 0) {
    pthread_cond_destroy(&b->wake);
    return rc;
  }
  b->sync_ready = true;

  const struct dg_modbus_bus *c = &cfg->modbus_buses[index];
  b->id = mb__strdup(c->id ? c->id : "?", &rc);
  b->host = mb__strdup(c->host, &rc);
  b->device = mb__strdup(c->device, &rc);
  if (rc < 0) return rc;
  rc = mb_plan_build(&b->plan, cfg, index);
  if (rc < 0) {
    DG_ERR(MB_LOG, "bus %s: a point has a binding this driver cannot read", b->id);
    return rc;
  }
  if (b->plan.n_reqs == 0) return 0;
  b->next_due = calloc(b->plan.n_reqs, sizeof *b->next_due);
  b->cap_samples = b->plan.n_items;
  b->samples = calloc(b->cap_samples, sizeof *b->samples);
  if (!b->next_due || !b->samples) return -ENOMEM;
  for (size_t i = 0; i < b->plan.n_reqs; i++) {
    struct mb__slave *s = &b->slaves[b->plan.reqs[i].slave];
    if (!s->used || b->plan.reqs[i].period_ms < s->min_period_ms)
      s->min_period_ms = b->plan.reqs[i].period_ms;
    s->used = true;
  }
  return mb__new_context(b);
}

static void mb__bus_free(struct mb__bus *b)
{
  if (b->ctx) {
    if (b->connected) mb__close(b);
    modbus_free(b->ctx);
  }
  mb_plan_free(&b->plan);
  free(b->next_due);
  free(b->samples);
  free(b->id);
  free(b->host);
  free(b->device);
  if (b->sync_ready) {
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->wake);
  }
}

static void mb__signal_stop(struct mb__bus *b)
{
  if (!b->sync_ready) return;
  pthread_mutex_lock(&b->lock);
  atomic_store(&b->stop, true);
  pthread_cond_broadcast(&b->wake);
  pthread_mutex_unlock(&b->lock);
}

/* Stops and frees the first n buses of m, then m itself. */
static void mb__destroy(struct mb_driver *m, size_t n)
{
  for (size_t i = 0; i < n; i++) mb__signal_stop(&m->buses[i]);
  for (size_t i = 0; i < n; i++) {
    if (m->buses[i].started) pthread_join(m->buses[i].thread, NULL);
    mb__bus_free(&m->buses[i]);
  }
  free(m->buses);
  free(m);
}

static int mb__start_thread(struct mb__bus *b)
{
  pthread_attr_t attr;
  sigset_t all, old;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, MB_THREAD_STACK);
  /* Signals belong to the loop thread; a write to a dead RTU-over-TCP peer yields EPIPE. */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = -pthread_create(&b->thread, &attr, mb__bus_main, b);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  b->started = rc == 0;
  return rc;
}

int mb_start(struct mb_driver **out, uv_loop_t *loop, const struct dg_config *cfg,
             struct sampleq *q)
{
  int rc = 0;
  size_t inited = 0;
  *out = NULL;
  struct mb_driver *m = calloc(1, sizeof *m);
  if (!m) return -ENOMEM;
  m->q = q;
  m->n_buses = cfg->n_modbus_buses;
  if (m->n_buses && !(m->buses = calloc(m->n_buses, sizeof *m->buses))) rc = -ENOMEM;
  while (rc == 0 && inited < m->n_buses) {
    rc = mb__bus_init(&m->buses[inited], m, cfg, inited);
    inited++;
  }
  for (size_t i = 0; rc == 0 && i < m->n_buses; i++) rc = mb__start_thread(&m->buses[i]);
  if (rc < 0) {
    mb__destroy(m, inited);
    return rc;
  }
  *out = m;
  return 0;
}

void mb_stop(struct mb_driver *m)
{
  if (m) mb__destroy(m, m->n_buses);
}

size_t mb_bus_count(const struct mb_driver *m) { return m ? m->n_buses : 0; }

int mb_bus_stats(struct mb_driver *m, size_t bus, struct mb_bus_stats *out)
{
  if (!m || bus >= m->n_buses) return -ENOENT;
  struct mb__bus *b = &m->buses[bus];
  pthread_mutex_lock(&b->lock);
  *out = b->stats;
  pthread_mutex_unlock(&b->lock);
  out->heartbeat_ms = atomic_load(&b->heartbeat_ms);
  return 0;
}

int64_t mb_heartbeat_ms(void *driver)
{
  struct mb_driver *m = driver;
  int64_t oldest = mb__now_ms();
  for (size_t i = 0; m && i < m->n_buses; i++) {
    int64_t hb = atomic_load(&m->buses[i].heartbeat_ms);
    if (hb < oldest) oldest = hb;
  }
  return oldest;
}
