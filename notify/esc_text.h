/* esc_text — the words of a message to a person: short enough for a phone's lock screen, in
 * zh-CN (or English), with the value and limit at a sensible precision and what to do now. */
#ifndef DG_ESC_TEXT_H
#define DG_ESC_TEXT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "esc_config.h"

/* A measured value with the precision a person reads: 3 significant digits, at most 2 decimals
 * from 1 on, no trailing zeros (25.0545 → "25.1", 0.012345 → "0.0123", 1250 → "1250"). */
void esc_fmt_value(char *buf, size_t len, double v);

/* Title and text of an alarm escalation step from its context (see escalate.c: alarm, rule,
 * point, unit, stage, priority, level, value, limit, eng_unit, ts_ms, liable, todo, hazard_code),
 * the event and the 0-based tier. malloc'd into *title and *text; 0 or -ENOMEM. */
int esc_text_alarm(const cJSON *ctx, enum esc_event ev, uint32_t tier, enum esc_lang lang, int32_t utc_offset_min,
                   char **title, char **text);

/* The same for a hazard or inspection event (escalate.c: hazard_code, description, unit,
 * measure, priority, level, liable_name, ts_ms, deadline_ms or a task's due_ms, todo). */
int esc_text_hazard(const cJSON *ctx, enum esc_event ev, uint32_t tier, enum esc_lang lang, int32_t utc_offset_min,
                    char **title, char **text);

#endif
