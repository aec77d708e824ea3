#include "sampleq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

const char *dg_quality_name(enum dg_quality q)
{
  switch (q) {
  case DG_Q_GOOD: return "good";
  case DG_Q_BAD_PAYLOAD: return "bad_payload";
  case DG_Q_COMM: return "comm_fault";
  case DG_Q_DEVICE: return "device_fault";
  case DG_Q_STALE: return "stale";
  case DG_Q_UNKNOWN: return "unknown";
  }
  return "unknown";
}

static void sampleq__drain(struct sampleq *q, int all);
static void sampleq__on_pace(uv_timer_t *t);

/* Any thread: makes the loop run sampleq__on_wake unless it is already due to. */
static void sampleq__signal(struct sampleq *q)
{
  if (atomic_exchange(&q->signalled, 1)) return;
  uint64_t one = 1;
  /* EAGAIN: the counter is saturated, the loop is woken anyway. */
  while (write(q->wake_fd, &one, sizeof one) < 0 && errno == EINTR) continue;
}

/* Hands out what is pending. Under a stream, `signalled` stays set after the run and the pace
 * timer looks again DG_SAMPLEQ_PACE_MS later, so that no producer writes the eventfd meanwhile:
 * the loop wakes once a pace (the timer) for all of a stream's samples, not once for the eventfd
 * and again for the timer. While held, `signalled` is cleared: sampleq_hold's release signals. */
static void sampleq__run(struct sampleq *q)
{
  atomic_store(&q->signalled, 1);
  sampleq__drain(q, 0);
  if (q->held) atomic_store(&q->signalled, 0);
  else uv_timer_start(&q->pace, sampleq__on_pace, DG_SAMPLEQ_PACE_MS, 0);
}

/* A push after the clear below writes the eventfd (the queue is quiet then: taken at once); a push
 * before it is seen in n_pending. */
static void sampleq__on_pace(uv_timer_t *t)
{
  struct sampleq *q = t->data;
  atomic_store(&q->signalled, 0);
  pthread_mutex_lock(&q->lock);
  int pending = q->n_pending > 0;
  pthread_mutex_unlock(&q->lock);
  if (pending || q->drain_off < q->drain_n) sampleq__run(q);
}

/* A first sample after a quiet moment is taken at once; while the pace timer runs, it will. */
static void sampleq__on_wake(uv_poll_t *h, int status, int events)
{
  struct sampleq *q = h->data;
  uint64_t v;
  while (read(q->wake_fd, &v, sizeof v) < 0 && errno == EINTR) continue;
  if (!uv_is_active((uv_handle_t *)&q->pace)) sampleq__run(q);
}

int sampleq_init(struct sampleq *q, uv_loop_t *loop, sampleq_drain_fn drain, void *ud)
{
  memset(q, 0, sizeof *q);
  q->drain = drain;
  q->ud = ud;
  int rc = pthread_mutex_init(&q->lock, NULL);
  if (rc) return -rc;
  if ((rc = pthread_cond_init(&q->room, NULL))) {
    pthread_mutex_destroy(&q->lock);
    return -rc;
  }
  q->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  rc = q->wake_fd < 0 ? -errno : uv_poll_init(loop, &q->wake, q->wake_fd);
  if (rc == 0) {
    q->wake.data = q;
    rc = uv_poll_start(&q->wake, UV_READABLE, sampleq__on_wake);
    if (rc) uv_close((uv_handle_t *)&q->wake, NULL); /* the loop must run once more */
  }
  if (rc == 0) {
    uv_timer_init(loop, &q->pace);
    q->pace.data = q;
  }
  if (rc) {
    if (q->wake_fd >= 0) close(q->wake_fd);
    pthread_cond_destroy(&q->room);
    pthread_mutex_destroy(&q->lock);
    return rc;
  }
  return 0;
}

static int sampleq__reserve(struct sampleq *q, size_t extra)
{
  size_t need = q->n_pending + extra;
  if (need <= q->cap_pending) return 0;
  size_t cap = q->cap_pending ? q->cap_pending : 256;
  while (cap < need) cap *= 2;
  struct dg_sample *p = realloc(q->pending, cap * sizeof *p);
  if (!p) return -ENOMEM;
  q->pending = p;
  q->cap_pending = cap;
  return 0;
}

int sampleq_push(struct sampleq *q, const struct dg_sample *s, size_t n)
{
  pthread_mutex_lock(&q->lock);
  if (q->n_pending && q->n_pending + n > DG_SAMPLEQ_MAX && !q->nonblocking) {
    q->waits++;
    /* The loop may be asleep with the batch it has not been told about yet. */
    sampleq__signal(q);
    while (q->n_pending && q->n_pending + n > DG_SAMPLEQ_MAX && !q->nonblocking) pthread_cond_wait(&q->room, &q->lock);
  }
  int rc = sampleq__reserve(q, n);
  if (rc == 0) {
    memcpy(q->pending + q->n_pending, s, n * sizeof *s);
    q->n_pending += n;
  } else {
    q->dropped += n;
  }
  pthread_mutex_unlock(&q->lock);
  if (rc == 0) sampleq__signal(q);
  return rc;
}

/* Hands out what is left of the batch being drained, slice by slice, stopping while held unless
 * `all`. Returns 1 when the batch is done. */
static int sampleq__deliver(struct sampleq *q, int all)
{
  while (q->drain_off < q->drain_n) {
    if (q->held && !all) return 0;
    size_t k = q->drain_n - q->drain_off < DG_SAMPLEQ_SLICE ? q->drain_n - q->drain_off : DG_SAMPLEQ_SLICE;
    size_t off = q->drain_off;
    q->drain_off += k;
    q->drain(q->ud, q->draining + off, k);
  }
  return 1;
}

/* Takes the pending samples as the batch to drain (the previous one must be done). */
static void sampleq__take(struct sampleq *q)
{
  /* Swap buffers so producers never wait while the loop evaluates rules. */
  pthread_mutex_lock(&q->lock);
  struct dg_sample *batch = q->pending;
  size_t n = q->n_pending, cap = q->cap_pending;
  q->pending = q->draining;
  q->cap_pending = q->cap_draining;
  q->n_pending = 0;
  pthread_cond_broadcast(&q->room);
  pthread_mutex_unlock(&q->lock);
  q->draining = batch;
  q->cap_draining = cap;
  q->drain_off = 0;
  q->drain_n = n;
}

static void sampleq__drain(struct sampleq *q, int all)
{
  if (!sampleq__deliver(q, all)) return;
  sampleq__take(q);
  sampleq__deliver(q, all);
}

void sampleq_drain_now(struct sampleq *q) { sampleq__drain(q, 1); }

void sampleq_set_blocking(struct sampleq *q, int on)
{
  pthread_mutex_lock(&q->lock);
  q->nonblocking = !on;
  pthread_cond_broadcast(&q->room);
  pthread_mutex_unlock(&q->lock);
}

void sampleq_hold(struct sampleq *q, int on)
{
  q->held = on;
  if (!on) sampleq__signal(q);
}

uint64_t sampleq_waits(struct sampleq *q)
{
  pthread_mutex_lock(&q->lock);
  uint64_t w = q->waits;
  pthread_mutex_unlock(&q->lock);
  return w;
}

uint64_t sampleq_dropped(struct sampleq *q)
{
  pthread_mutex_lock(&q->lock);
  uint64_t d = q->dropped;
  pthread_mutex_unlock(&q->lock);
  return d;
}

static void sampleq__on_close(uv_handle_t *h)
{
  struct sampleq *q = h->data;
  free(q->pending);
  free(q->draining);
  q->pending = q->draining = NULL;
  q->cap_pending = q->cap_draining = q->n_pending = 0;
  pthread_cond_destroy(&q->room);
  pthread_mutex_destroy(&q->lock);
  close(q->wake_fd);
  q->wake_fd = -1;
}

void sampleq_close(struct sampleq *q)
{
  q->held = 0;
  sampleq_drain_now(q);
  uv_close((uv_handle_t *)&q->pace, NULL);
  uv_close((uv_handle_t *)&q->wake, sampleq__on_close);
}
