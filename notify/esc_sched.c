#include "esc_sched.h"

#include <string.h>

#define ESC_MIN_MS 60000LL
#define ESC_DAY_MS 86400000LL

static int64_t esc__floor_div(int64_t a, int64_t b)
{
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

uint32_t esc_sched_start_tier(const struct esc_policy *p, const char *stage)
{
  for (size_t i = 0; stage && i < p->n_stages; i++)
    if (!strcmp(p->stages[i].stage, stage)) return p->stages[i].tier;
  return 0;
}

int64_t esc_sched_next(const struct esc_policy *p, const struct esc_sched *s)
{
  const struct esc_tier *t = &p->tiers[s->tier];
  int64_t next = INT64_MAX;
  int last = s->tier + 1 >= p->n_tiers;
  if (t->timeout_s && !last) next = s->tier_start_ms + (int64_t)t->timeout_s * 1000;
  if (t->timeout_s && last && p->repeat_last) next = s->last_notify_ms + (int64_t)t->timeout_s * 1000;
  if (t->renotify_s) {
    int64_t again = s->last_notify_ms + (int64_t)t->renotify_s * 1000;
    if (again < next) next = again;
  }
  return next;
}

uint32_t esc_sched_step(const struct esc_policy *p, struct esc_sched *s, int64_t due)
{
  const struct esc_tier *t = &p->tiers[s->tier];
  if (s->tier + 1 < p->n_tiers && t->timeout_s && due >= s->tier_start_ms + (int64_t)t->timeout_s * 1000) {
    s->tier++;
    s->tier_start_ms = due;
  }
  s->last_notify_ms = due;
  return s->tier;
}

uint32_t esc_sched_jump(const struct esc_policy *p, struct esc_sched *s, const char *stage, int64_t now)
{
  uint32_t want = esc_sched_start_tier(p, stage);
  if (want > s->tier) {
    s->tier = want;
    s->tier_start_ms = now;
  }
  s->last_notify_ms = now;
  return s->tier;
}

struct dg_person *esc_rota_scheduled(const struct esc_rota *r, int64_t at_ms, int64_t *from, int64_t *to)
{
  int64_t off = (int64_t)r->utc_offset_min * ESC_MIN_MS;
  int64_t origin = (int64_t)r->start_day * ESC_DAY_MS + (int64_t)r->handover_min * ESC_MIN_MS - off;
  int64_t period = (int64_t)r->period_days * ESC_DAY_MS;
  int64_t shift = esc__floor_div(at_ms - origin, period);
  int64_t idx = shift % (int64_t)r->n_persons;
  if (idx < 0) idx += (int64_t)r->n_persons;
  if (from) *from = origin + shift * period;
  if (to) *to = origin + (shift + 1) * period;
  return r->persons[idx];
}

struct dg_person *esc_rota_on_call(const struct esc_rota *r, int64_t at_ms)
{
  struct dg_person *who = esc_rota_scheduled(r, at_ms, NULL, NULL);
  for (size_t i = 0; i < r->n_overrides; i++) {
    const struct esc_override *o = &r->overrides[i];
    if (at_ms >= o->from_ms && at_ms < o->to_ms && (!o->covers || o->covers == who)) return o->person;
  }
  return who;
}

int32_t esc_local_minute(int64_t at_ms, int32_t offset_min)
{
  int64_t local = at_ms + (int64_t)offset_min * ESC_MIN_MS;
  return (int32_t)(esc__floor_div(local, ESC_MIN_MS) - esc__floor_div(local, ESC_DAY_MS) * 1440);
}

int esc_in_quiet_hours(int32_t from_min, int32_t to_min, int64_t at_ms, int32_t offset_min)
{
  if (from_min < 0 || to_min < 0 || from_min == to_min) return 0;
  int32_t m = esc_local_minute(at_ms, offset_min);
  return from_min < to_min ? (m >= from_min && m < to_min) : (m >= from_min || m < to_min);
}

int esc_flood_hold(struct esc_flood *f, int64_t now_ms, int64_t window_ms, uint32_t after)
{
  if (!f->count || now_ms >= f->window_start_ms + window_ms) {
    f->window_start_ms = now_ms;
    f->count = 0;
  }
  f->count++;
  return after && f->count > after;
}
