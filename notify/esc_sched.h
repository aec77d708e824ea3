/* esc_sched — the timing of one escalation and the on-call rota, as pure functions of a policy,
 * a state and a time (no clock of their own), so every rule is testable at any instant. */
#ifndef DG_ESC_SCHED_H
#define DG_ESC_SCHED_H

#include <stdint.h>

#include "esc_config.h"

/* Where an escalation stands. Times are wall-clock ms. */
struct esc_sched {
  uint32_t tier;           /* 0-based current tier */
  int64_t tier_start_ms;   /* when the current tier was first told */
  int64_t last_notify_ms;  /* when it was last told */
};

/* The tier an escalation starts at for `stage` (the policy's stages map; 0 when unmapped). */
uint32_t esc_sched_start_tier(const struct esc_policy *p, const char *stage);

/* When the next step is due: the next tier after the current one's timeout, a re-notify of the
 * current tier, or a repeat of the last tier. INT64_MAX when nothing more will happen. */
int64_t esc_sched_next(const struct esc_policy *p, const struct esc_sched *s);

/* Takes the step due at `due` (the value esc_sched_next gave): moves to the next tier when its
 * timeout has passed, else re-tells the current one. Returns the tier to tell. Times advance
 * from `due`, not from when the step ran, so a late step does not shift the ones after it. */
uint32_t esc_sched_step(const struct esc_policy *p, struct esc_sched *s, int64_t due);

/* A worse stage while running: jumps to the stage's tier when that is further on. Returns the
 * tier to tell now (the current one again when the jump is not further). */
uint32_t esc_sched_jump(const struct esc_policy *p, struct esc_sched *s, const char *stage, int64_t now);

/* Who is on call on rota r at wall time at_ms: the rotation's person, or an override's. */
struct dg_person *esc_rota_on_call(const struct esc_rota *r, int64_t at_ms);
/* The rotation's person alone (no overrides), and the shift's bounds [*from, *to). */
struct dg_person *esc_rota_scheduled(const struct esc_rota *r, int64_t at_ms, int64_t *from, int64_t *to);

/* Local minutes after midnight at wall time at_ms in a zone offset_min east of UTC. */
int32_t esc_local_minute(int64_t at_ms, int32_t offset_min);
/* Inside the quiet hours [from, to) (local minutes; to < from spans midnight)? */
int esc_in_quiet_hours(int32_t from_min, int32_t to_min, int64_t at_ms, int32_t offset_min);

/* Messages to one person on one channel, counted in windows of window_ms from the first. */
struct esc_flood {
  int64_t window_start_ms;
  uint32_t count;
};

/* Counts one message at now_ms: 0 to send it on its own, 1 when it is one more than `after` in
 * the window, to go into the window's digest (sent at window_start_ms + window_ms). */
int esc_flood_hold(struct esc_flood *f, int64_t now_ms, int64_t window_ms, uint32_t after);

#endif
