/* sampleq — hand samples from driver threads to the loop thread.
 *
 * Producers (bus threads, paho callback threads) copy samples in with sampleq_push() and wake
 * the loop through an eventfd, written only by the first push after the loop last looked (so one
 * wake may carry many pushes); the loop swaps the pending buffer out and hands the whole batch
 * to the drain callback. Not uv_async_send: its loop side spins, then sched_yield()s, while a
 * sender is preempted inside it, which on a busy machine with few cores costs more than the
 * samples themselves. Under a steady stream the loop takes the queue at most once a
 * millisecond (DG_SAMPLEQ_PACE_MS), so a wake-up carries many samples, not one.
 * The queue is bounded and applies back-pressure: a producer that would take it past
 * DG_SAMPLEQ_MAX pending samples waits until the loop has taken the batch (a paho receive thread
 * then stops reading its socket, a Modbus bus stops polling), so no sample that could raise an
 * alarm is ever dropped for want of room. While the loop stops the producers themselves
 * (sampleq_set_blocking 0), pushes never wait and the bound is lifted. The loop can also hold
 * the queue (sampleq_hold) when what it would produce from the samples cannot be stored fast
 * enough (alarm transitions waiting on the store): producers then wait too. */
#ifndef DG_SAMPLEQ_H
#define DG_SAMPLEQ_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define DG_SAMPLEQ_MAX (1u << 16)
/* The loop hands a batch to the drain callback in slices of at most this many samples, and stops
 * between slices while the queue is held, so one batch cannot overshoot the hold by much. */
#define DG_SAMPLEQ_SLICE 1024u
/* Under a steady stream the loop takes the queue at most once per this many ms (one wake-up for
 * many samples); a sample after a quiet moment is taken at once. */
#define DG_SAMPLEQ_PACE_MS 1

/* Point quality. GOOD is the only quality whose value is meaningful. */
enum dg_quality {
  DG_Q_GOOD = 0,
  DG_Q_BAD_PAYLOAD = 1, /* malformed MQTT payload, wrong type, missing field */
  DG_Q_COMM = 2,        /* link to device/broker lost, timeout */
  DG_Q_DEVICE = 3,      /* device reported a fault (e.g. Modbus exception) */
  DG_Q_STALE = 4,       /* no fresh sample in time */
  DG_Q_UNKNOWN = 5,     /* never received since start */
};
const char *dg_quality_name(enum dg_quality q); /* "good", "bad_payload", ... */

struct dg_sample {
  uint32_t point;       /* index into config->points */
  uint8_t quality;      /* enum dg_quality */
  double value;         /* engineering units (scale/offset applied by the driver) */
  int64_t ts_ms;        /* source timestamp, or receive time when the source has none */
};

typedef void (*sampleq_drain_fn)(void *ud, const struct dg_sample *s, size_t n);

struct sampleq {
  uv_poll_t wake;                                           /* on wake_fd, an eventfd */
  uv_timer_t pace;                                          /* runs while a stream is being taken */
  int wake_fd;
  atomic_int signalled;                                     /* set: the loop will look (eventfd written or pacing) */
  pthread_mutex_t lock;
  struct dg_sample *pending; size_t n_pending, cap_pending; /* guarded by lock */
  struct dg_sample *draining; size_t cap_draining;          /* loop thread only */
  size_t drain_off, drain_n;                                /* loop thread: draining[off..n) left */
  pthread_cond_t room;                                      /* signalled when pending is taken */
  uint64_t dropped;                                         /* guarded by lock */
  uint64_t waits;                                           /* guarded by lock: pushes that waited */
  int nonblocking;                                          /* guarded by lock */
  int held;                                                 /* loop thread: drain deferred */
  sampleq_drain_fn drain;
  void *ud;
};

/* Loop thread. Returns 0 or a negative errno. */
int sampleq_init(struct sampleq *q, uv_loop_t *loop, sampleq_drain_fn drain, void *ud);
/* Any thread but the loop's. Waits while the queue is full (see above); returns 0, or -ENOMEM
 * (samples dropped and counted) when no memory is left for them. */
int sampleq_push(struct sampleq *q, const struct dg_sample *s, size_t n);
/* Loop thread. 0 before stopping producers that may be waiting in sampleq_push (their stop
 * would otherwise wait for the loop), 1 once they are stopped. */
void sampleq_set_blocking(struct sampleq *q, int on);
/* Loop thread. 1: pending samples stay in the queue (producers wait once it is full); 0: they
 * are delivered again, starting now. */
void sampleq_hold(struct sampleq *q, int on);
/* Pushes that had to wait for room (back-pressure applied). */
uint64_t sampleq_waits(struct sampleq *q);
/* Loop thread: deliver whatever is pending now, held or not (reload, shutdown). */
void sampleq_drain_now(struct sampleq *q);
uint64_t sampleq_dropped(struct sampleq *q);
/* Loop thread: drains what is left, then closes the async handle (the loop must run once more
 * for the close to finish). Producers must be stopped first. */
void sampleq_close(struct sampleq *q);

#endif
