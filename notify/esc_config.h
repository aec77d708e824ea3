/* esc_config — the `escalation:` section of the plant configuration: the channels that reach
 * persons (DingTalk, WeCom and Feishu robots, SMTP, SMS/voice gateways, webhooks with headers and
 * a body template), the policies that say who is told of which event, tier by tier, and the
 * on-call rotas. Parsed by config.c through esc_config_parse; the struct esc_config is owned by
 * its dg_config (c->esc) and read-only afterwards. Errors name file:line:column like every other
 * config error. */
#ifndef DG_ESC_CONFIG_H
#define DG_ESC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "yaml.h"

/* Event kinds a policy is chosen by (bit positions of esc_policy.event_mask). */
enum esc_event {
  ESC_EV_ALARM_ACTIVATE, ESC_EV_ALARM_ESCALATE, ESC_EV_ALARM_RTN, ESC_EV_ALARM_ACK, ESC_EV_HAZARD_OPENED,
  ESC_EV_HAZARD_SUBMITTED, ESC_EV_HAZARD_OVERDUE, ESC_EV_MAJOR_HAZARD_OPENED, ESC_EV_INSPECTION_MISSED,
  ESC_EV_DRIVER_FAULT, ESC_EV_COUNT
};
const char *esc_event_name(enum esc_event ev);
/* The event named s, ESC_EV_COUNT when none (or s NULL). */
enum esc_event esc_event_parse(const char *s);
/* A hazard or inspection event (not an alarm's)? */
int esc_event_is_ledger(enum esc_event ev);

/* Stop conditions (bits of esc_policy.stop_mask). */
enum { ESC_STOP_ACKED = 1, ESC_STOP_SHELVED = 2, ESC_STOP_OUT_OF_SERVICE = 4, ESC_STOP_RTN = 8,
       ESC_STOP_HAZARD_MOVED = 16 };

/* Whose responsible person a tier tells (bits of esc_tier.responsible). */
enum { ESC_RESP_MEASURE = 1, ESC_RESP_UNIT = 2, ESC_RESP_SOURCE = 4, ESC_RESP_HAZARD = 8 /* liable, assignee, rectifier */ };

struct esc_rota;

struct esc_tier {
  char **roles;               /* persons holding any of these roles */
  size_t n_roles;
  struct dg_person **persons; /* explicit persons */
  size_t n_persons;
  unsigned responsible;       /* ESC_RESP_* */
  struct esc_rota *rota;      /* whoever is on call (may be NULL) */
  struct dg_channel **channels;
  size_t n_channels;
  uint32_t timeout_s;         /* next tier after this long unacknowledged (0: the last word) */
  uint32_t renotify_s;        /* tell this tier again every so often while it is current (0: never) */
};

struct esc_stage_map {
  char *stage;                /* alarm stage name, e.g. "HH" */
  uint32_t tier;              /* 0-based tier an escalation to this stage starts at */
};

struct esc_policy {
  char *id;
  unsigned event_mask;        /* bit (1u << enum esc_event) */
  unsigned priority_mask;     /* bit (1u << dg_priority); 0: any */
  unsigned level_mask;        /* bit (1u << dg_level) of the unit's current colour; 0: any */
  struct esc_tier *tiers;
  size_t n_tiers;
  bool repeat_last;           /* the last tier is told again every timeout until a stop */
  unsigned stop_mask;         /* ESC_STOP_*; default acknowledged, shelved, out of service, hazard moved on */
  struct esc_stage_map *stages;
  size_t n_stages;
};

struct esc_override {
  struct dg_person *person;   /* who is on call instead */
  struct dg_person *covers;   /* whose shift (NULL: whoever's) */
  int64_t from_ms, to_ms;     /* wall clock, [from, to) */
};

struct esc_rota {
  char *id;
  int32_t utc_offset_min;     /* the site's time zone (fixed offset; default +08:00) */
  uint32_t handover_min;      /* local minutes after midnight of the hand-over */
  uint32_t period_days;       /* 1 daily, 7 weekly */
  int32_t start_day;          /* local civil day (days since 1970-01-01) the first person's shift starts */
  struct dg_person **persons; /* in rotation order */
  size_t n_persons;
  struct esc_override *overrides;
  size_t n_overrides;
};

enum esc_lang { ESC_LANG_ZH = 0, ESC_LANG_EN = 1 };

struct esc_config {
  enum esc_lang lang;         /* message language, default zh-CN */
  char *dashboard_url;        /* base of the links in messages (NULL: no link) */
  uint32_t link_ttl_s;        /* lifetime of an acknowledgement link, default 24 h */
  uint32_t digest_window_s;   /* events to one person on one channel within this window ... */
  uint32_t digest_after;      /* ... beyond this many are sent as one digest (0: never) */
  int32_t quiet_from_min, quiet_to_min; /* local quiet hours for low priority (-1: none) */
  int32_t utc_offset_min;     /* the site's time zone for quiet hours */
  struct dg_channel *channels;
  size_t n_channels;
  struct esc_policy *policies;
  size_t n_policies;
  struct esc_rota *rotas;
  size_t n_rotas;
};

struct cfg_ctx;

/* Parses the value of the top-level `escalation:` key into x->c->esc (config_ctx.h); persons and
 * the channels: section must already be loaded. Errors as every section's:
 * "<file>:<line>:<col>: escalation.<path>: <message>". Freed by esc_config_free(c->esc). */
int esc_config_parse(struct cfg_ctx *x, const struct dg_ynode *n);
void esc_config_free(struct esc_config *e);

/* Lookups by id (NULL if absent or e is NULL). */
struct dg_channel *esc_config_channel(const struct esc_config *e, const char *id);
struct esc_rota *esc_config_rota(const struct esc_config *e, const char *id);

#endif
