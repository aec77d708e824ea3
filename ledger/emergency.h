/* emergency — what to do, in order, when a risk event happens (应急处置): one source for the
 * 应急处置卡, the post cards, the alarm list's `response`, the alarm notification's `todo` and
 * the escalation message's 处置 line.
 *
 * An event's steps are its `emergency` list when configured, else the descriptions of its
 * measures of classify 4 (应急措施) in order. An alarm's "what to do now" is the steps of its
 * measure's event; without any, the measure's troubleshoot text, else its description. Pure. */
#ifndef DG_EMERGENCY_H
#define DG_EMERGENCY_H

#include <stddef.h>

#include "model.h"

#define EMERGENCY_TODO_MAX 7000 /* 20 steps of 300 bytes, numbered */

/* Up to `max` steps of `e` into out (borrowed from the config); their number. */
size_t emergency_steps(const struct dg_event *e, const char **out, size_t max);

/* The steps of `e` as one text, "1. …；2. …" (a single step unnumbered), into out; 0, or
 * -ENOENT when the event has none (out ""), -ENOSPC when truncated. */
int emergency_text(const struct dg_event *e, char *out, size_t len);

/* What to do now for an alarm on measure `m` (may be NULL), as above; 0 or -ENOENT (out ""). */
int emergency_todo(const struct dg_measure *m, char *out, size_t len);

#endif
