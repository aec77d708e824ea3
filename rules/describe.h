/* describe — what a rule's stage means, in words, for notifications and hazard records.
 *
 * describe_condition writes the condition of rule r in stage `stage` at `value` (its measured or
 * derived value: the point's value, the rate, the deviation, the vote count …) in Chinese and
 * English, e.g. "罐区氨气浓度（GT101）当前值 32%LEL，高于 H 限值 25%LEL" /
 * "罐区氨气浓度 (GT101) is 32%LEL, above H limit 25%LEL". stage < 0 describes the return to
 * normal. Pure; always NUL-terminates. */
#ifndef DG_DESCRIBE_H
#define DG_DESCRIBE_H

#include <stddef.h>

#include "model.h"

void describe_condition(const struct dg_rule *r, int stage, double value, char *zh, size_t zhlen, char *en,
                        size_t enlen);

#endif
