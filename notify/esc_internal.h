/* esc_internal — what the files of the escalation engine (escalate.h) share, and nothing else.
 *
 * The engine is one module split by concern; each file owns the functions it defines:
 *   escalate.c    the lifecycle: the heap of running escalations, changes (rows, journal), alarm
 *                 transitions, timed steps, close
 *   esc_tell.c    telling a tier: recipients, envelopes, acknowledgement links and their rendering
 *   esc_digest.c  flood digests: counting messages per person and channel, the digest rows
 *   esc_hazard.c  hazard and inspection events (ledger_events.h), the hazard an alarm opened
 *   esc_store.c   rows: writing a change, resuming after a restart, spending links, the API views
 * struct escalate and every esc_run in its heap belong to the loop thread; a change belongs to
 * whoever builds it until it is handed to the writer (escalate_write) and back.
 *
 * Include after escalate.h: this header needs its types but cannot include it (escalate.c
 * includes both, and scripts/check-includes.sh counts escalate.c and escalate.h as one module). */
#ifndef DG_ESC_INTERNAL_H
#define DG_ESC_INTERNAL_H

#ifndef DG_ESCALATE_H
#error "include escalate.h before esc_internal.h"
#endif

#include <cjson/cJSON.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <uv.h>

#include "acklink.h"
#include "esc_sched.h"

struct esc__used;
struct esc_digest;

/* One running escalation. */
struct esc_run {
  int64_t id, alarm_id;
  enum esc_event kind;      /* what started it (the words of its messages) */
  int64_t hazard_id;        /* a hazard's escalation (0: an alarm's) */
  int hazard_state;         /* the hazard's state that started it (hazard_moved_on: it left it) */
  char *policy;             /* policy id (re-resolved after a reload) */
  struct esc_sched s;
  int64_t next_ms;          /* INT64_MAX: nothing scheduled */
  int64_t created_ms;
  uint32_t steps;
  char *ctx;                /* JSON context of the messages */
  size_t hi;                /* index in the heap */
};

struct escalate {
  uv_loop_t *loop;
  const struct dg_config *cfg;
  struct store *store;
  struct notify *notify;
  uv_timer_t timer;
  struct esc_run **heap;    /* min-heap on next_ms */
  size_t n, cap;
  int64_t next_id, next_step_id, next_link_id;
  int closing;
  struct escalate_stats stats;
  struct esc__used *spending; /* links spent whose used_ms is not committed yet (esc_store.c) */
  struct esc_digest *digests; /* esc_digest.c */
  uv_timer_t dtimer;          /* sends digests whose window has ended */
  unsigned char link_key[ACKLINK_KEY_BYTES]; /* derives acknowledgement links' tokens */
  escalate_level_fn level_fn; /* the units' current colour */
  void *level_arg;
};

/* Rows of one transaction. */
struct esc_snap {
  int64_t id, alarm_id, tier_start_ms, last_notify_ms, next_ms, created_ms, updated_ms, hazard_id;
  uint32_t tier, steps;
  int state, hazard_state;
  enum esc_event kind;
  char *policy, *ctx, *stop_reason;
  struct esc_snap *next;
};
struct esc_step {
  int64_t id, esc_id, alarm_id, ts_ms;
  int tier;                 /* 0-based, -1 none */
  const char *action;
  char *detail;
  struct esc_step *next;
};
struct esc_link {
  char hash[2 * SHA256_DIGEST_LENGTH + 1];
  int64_t id, alarm_id, esc_id, created_ms, expires_ms;
  char *person;
  struct esc_link *next;
};
/* A digest row's body, rewritten as messages join it. */
struct esc_upd {
  int64_t id;
  char *body;
  struct esc_upd *next;
};
struct esc_change {
  struct escalate *x;
  struct esc_snap *snaps;
  struct esc_step *steps;
  struct esc_link *links;
  struct notify_msg *msgs;  /* timed steps only: the alarm path hands its messages to the engine */
  struct notify_msg *held;  /* new digest rows: written, sent when their window ends */
  struct esc_upd *upds;
};

/* escalate.c */
int esc__push(struct escalate *x, struct esc_run *r);
void esc__remove(struct escalate *x, struct esc_run *r);
void esc__run_free(struct esc_run *r);
const struct esc_policy *esc__policy(const struct escalate *x, const char *id);
struct esc_change *esc__change(struct escalate *x);
/* Appends r's row as it is now (state 1: stopped, for `why`). */
void esc__snap(struct esc_change *ch, const struct esc_run *r, int state, const char *why, int64_t now);
/* Appends a journal entry; takes detail. */
void esc__journal(struct esc_change *ch, const struct esc_run *r, int tier, const char *action, cJSON *detail,
                  int64_t now);
/* Journals and writes the stop, takes r out of the heap and frees it. */
void esc__stop(struct escalate *x, struct esc_change *ch, struct esc_run *r, const char *why, int64_t now);
unsigned esc__current_level(const struct escalate *x, const struct dg_unit *u);
const struct esc_policy *esc__choose(const struct escalate *x, enum esc_event kind, enum dg_priority prio,
                                     unsigned level);
/* (Re)starts the timer of the next step due. */
void esc__arm(struct escalate *x);

/* esc_tell.c */
void esc__tell(struct escalate *x, struct esc_change *ch, struct esc_run *r, const struct esc_policy *p,
               uint32_t tier, enum esc_event ev, const char *action, int64_t now, struct notify_msg **msgs);
const char *esc__contact(const struct dg_person *p, const struct dg_channel *ch);
char *esc__render(void *arg, const char *body);

/* esc_digest.c */
int esc__digest(struct escalate *x, struct esc_change *ch, const struct dg_person *p, const struct dg_channel *chn,
                const char *title, int64_t now);
int esc__load_digests(struct escalate *x, int64_t now);
void esc__digests_free(struct escalate *x);

/* esc_hazard.c */
void esc__hazard(struct escalate *x, struct esc_change *ch, const struct esc_alarm *ev, const struct dg_unit *u,
                 struct notify_msg **msgs);

#endif
