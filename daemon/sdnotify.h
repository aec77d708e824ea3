/* sdnotify — systemd readiness and watchdog (sd_notify protocol via libsystemd).
 *
 * READY=1 once config, database and listeners are up; WATCHDOG=1 from a loop timer at half the
 * WatchdogSec period, sent only while every registered heartbeat source is fresh. Without
 * NOTIFY_SOCKET everything here is a no-op. Loop thread only. */
#ifndef DG_SDNOTIFY_H
#define DG_SDNOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Returns monotonic ms (uv_hrtime()/1e6 scale) of the source's last sign of life. */
typedef int64_t (*sdn_heartbeat_fn)(void *ud);

struct sdnotify;

int sdn_init(struct sdnotify **out, uv_loop_t *loop);
/* Register a worker (bus thread, store writer) whose heartbeat must be younger than max_age_ms. */
int sdn_add_heartbeat(struct sdnotify *s, const char *name, sdn_heartbeat_fn fn, void *ud, int64_t max_age_ms);
/* True while the daemon cannot do its job although it runs (commits failing); `why` says why. */
typedef bool (*sdn_health_fn)(void *ud, char *why, size_t len);
/* The timer asks fn every tick (the watchdog period, else every second) and sends STATUS=why
 * when it turns unhealthy or the reason changes, and the ready status again when it recovers.
 * Unhealthy does not withhold the watchdog ping: a restart does not free a disk. */
void sdn_set_health(struct sdnotify *s, sdn_health_fn fn, void *ud);
/* READY=1 plus STATUS=..., and starts the watchdog timer if WATCHDOG_USEC is set for us. */
int sdn_ready(struct sdnotify *s, const char *status);
int sdn_status(struct sdnotify *s, const char *status);
int sdn_stopping(struct sdnotify *s);
int sdn_reloading(struct sdnotify *s);
/* True if the last watchdog tick found every heartbeat fresh. */
bool sdn_healthy(const struct sdnotify *s);
/* Stops the timer and closes handles (loop must run once more). */
void sdn_close(struct sdnotify *s);

/* Monotonic clock in ms shared by heartbeat producers (any thread). */
int64_t dg_mono_ms(void);

#endif
