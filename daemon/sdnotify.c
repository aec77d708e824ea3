#include "sdnotify.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#define SDN_STATUS_PERIOD_MS 1000

struct sdn_heartbeat {
  char *name;
  sdn_heartbeat_fn fn;
  void *ud;
  int64_t max_age_ms;
};

struct sdnotify {
  uv_loop_t *loop;
  uv_timer_t timer;
  bool enabled; /* NOTIFY_SOCKET was set at init */
  bool watchdog_running;      /* the timer runs */
  bool pinging;               /* systemd expects WATCHDOG=1 */
  bool healthy;
  sdn_health_fn health_fn;
  void *health_ud;
  bool failing;
  char status[160];           /* last STATUS= sent: the ready status or why it fails */
  char ready_status[160];
  struct sdn_heartbeat *hbs;
  size_t n_hbs;
};

int64_t dg_mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sdn_init(struct sdnotify **out, uv_loop_t *loop)
{
  *out = NULL;
  struct sdnotify *s = calloc(1, sizeof *s);
  if (!s) return -ENOMEM;
  s->loop = loop;
  s->healthy = true;
  const char *sock = getenv("NOTIFY_SOCKET");
  s->enabled = sock && *sock;
  int rc = uv_timer_init(loop, &s->timer);
  if (rc < 0) {
    free(s);
    return rc;
  }
  s->timer.data = s;
  *out = s;
  return 0;
}

int sdn_add_heartbeat(struct sdnotify *s, const char *name, sdn_heartbeat_fn fn, void *ud,
                      int64_t max_age_ms)
{
  if (!s || !name || !fn || max_age_ms <= 0) return -EINVAL;
  struct sdn_heartbeat *hbs = realloc(s->hbs, (s->n_hbs + 1) * sizeof *hbs);
  if (!hbs) return -ENOMEM;
  s->hbs = hbs;
  char *copy = strdup(name);
  if (!copy) return -ENOMEM;
  s->hbs[s->n_hbs++] = (struct sdn_heartbeat){copy, fn, ud, max_age_ms};
  return 0;
}

static int sdn__send(struct sdnotify *s, const char *msg)
{
  if (!s->enabled) return 0;
  int rc = sd_notify(0, msg);
  if (rc < 0) {
    DG_LOG_RL(DG_LOG_WARN, "sdnotify", "sd_notify: %s", strerror(-rc));
    return rc;
  }
  return 0;
}

/* Sends head plus "STATUS=<status>"; newlines in status would start new fields, so they go. */
static int sdn__send_with_status(struct sdnotify *s, const char *head, const char *status)
{
  if (!s->enabled) return 0;
  if (!status) return sdn__send(s, head);
  char msg[512];
  int n = snprintf(msg, sizeof msg, "%s%sSTATUS=%s", head, *head ? "\n" : "", status);
  if (n < 0) return -EINVAL;
  for (char *p = msg + strlen(head) + (*head ? 1 : 0); *p; p++)
    if (*p == '\n') *p = ' ';
  return sdn__send(s, msg);
}

static bool sdn__check_heartbeats(struct sdnotify *s)
{
  int64_t now = dg_mono_ms();
  bool fresh = true;
  for (size_t i = 0; i < s->n_hbs; i++) {
    struct sdn_heartbeat *hb = &s->hbs[i];
    int64_t age = now - hb->fn(hb->ud);
    if (age <= hb->max_age_ms) continue;
    fresh = false;
    DG_LOG_RL(DG_LOG_ERR, "sdnotify",
              "heartbeat '%s' is %lld ms old (max %lld ms): withholding the watchdog ping",
              hb->name, (long long)age, (long long)hb->max_age_ms);
  }
  return fresh;
}

void sdn_set_health(struct sdnotify *s, sdn_health_fn fn, void *ud)
{
  s->health_fn = fn;
  s->health_ud = ud;
}

static void sdn__report_health(struct sdnotify *s)
{
  if (!s->health_fn) return;
  char why[sizeof s->status] = "";
  bool failing = s->health_fn(s->health_ud, why, sizeof why);
  const char *status = failing ? why : s->ready_status;
  if (failing == s->failing && strcmp(status, s->status) == 0) return;
  if (failing != s->failing) DG_INFO("sdnotify", "status: %s", failing ? why : "healthy again");
  s->failing = failing;
  snprintf(s->status, sizeof s->status, "%s", status);
  sdn__send_with_status(s, "", s->status);
}

static void sdn__on_watchdog(uv_timer_t *t)
{
  struct sdnotify *s = t->data;
  sdn__report_health(s);
  if (!s->pinging) return;
  bool fresh = sdn__check_heartbeats(s);
  if (fresh && !s->healthy) DG_INFO("sdnotify", "all heartbeats fresh again, resuming watchdog pings");
  s->healthy = fresh;
  if (fresh) sdn__send(s, "WATCHDOG=1");
}

static int sdn__start_watchdog(struct sdnotify *s)
{
  uint64_t usec = 0;
  if (s->watchdog_running) return 0;
  int rc = sd_watchdog_enabled(0, &usec);
  if (rc < 0) {
    DG_WARN("sdnotify", "invalid watchdog settings: %s", strerror(-rc));
    return rc;
  }
  s->pinging = rc > 0 && usec > 0;
  if (!s->pinging && !s->health_fn) return 0;
  uint64_t period_ms = s->pinging ? usec / 2000 : SDN_STATUS_PERIOD_MS;
  if (period_ms == 0) period_ms = 1;
  rc = uv_timer_start(&s->timer, sdn__on_watchdog, period_ms, period_ms);
  if (rc < 0) return rc;
  s->watchdog_running = true;
  if (s->pinging)
    DG_INFO("sdnotify", "watchdog enabled: %llu ms timeout, pinging every %llu ms",
            (unsigned long long)(usec / 1000), (unsigned long long)period_ms);
  return 0;
}

int sdn_ready(struct sdnotify *s, const char *status)
{
  if (!s) return -EINVAL;
  if (!s->enabled) return 0;
  snprintf(s->ready_status, sizeof s->ready_status, "%s", status ? status : "running");
  if (!s->failing) snprintf(s->status, sizeof s->status, "%s", s->ready_status);
  int rc = sdn__send_with_status(s, "READY=1", s->failing ? s->status : status);
  if (rc < 0) return rc;
  return sdn__start_watchdog(s);
}

int sdn_status(struct sdnotify *s, const char *status)
{
  if (!s || !status) return -EINVAL;
  return sdn__send_with_status(s, "", status);
}

int sdn_stopping(struct sdnotify *s)
{
  if (!s) return -EINVAL;
  if (!s->enabled) return 0;
  /* systemd stops enforcing the watchdog once we stop; workers wind down and would look stale. */
  uv_timer_stop(&s->timer);
  s->watchdog_running = false;
  return sdn__send(s, "STOPPING=1");
}

int sdn_reloading(struct sdnotify *s)
{
  if (!s) return -EINVAL;
  if (!s->enabled) return 0;
  /* MONOTONIC_USEC is ignored by systemd 252 and required by Type=notify-reload (253+). */
  struct timespec ts;
  char msg[64];
  clock_gettime(CLOCK_MONOTONIC, &ts);
  snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%lld",
           (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
  return sdn__send(s, msg);
}

bool sdn_healthy(const struct sdnotify *s) { return s ? s->healthy : false; }

static void sdn__on_closed(uv_handle_t *h)
{
  struct sdnotify *s = h->data;
  for (size_t i = 0; i < s->n_hbs; i++) free(s->hbs[i].name);
  free(s->hbs);
  free(s);
}

void sdn_close(struct sdnotify *s)
{
  if (!s) return;
  uv_timer_stop(&s->timer);
  uv_close((uv_handle_t *)&s->timer, sdn__on_closed);
}
