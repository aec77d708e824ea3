/* alarm_rows — the alarms table as the engine starts and reloads: one row per configured rule
 * (created on first sight, its point and measure kept current), from which alarm state is
 * restored, and the rules of a config looked up by id through a sorted index. The engine owns
 * the arrays filled here. Loop thread. */
#ifndef DG_ALARM_ROWS_H
#define DG_ALARM_ROWS_H

#include <stdbool.h>
#include <stdint.h>

#include "alarm.h"
#include "model.h"
#include "rule.h"
#include "store.h"

/* Making sure every rule of `cfg` has its row with its point and measure, on the store's
 * writer (which reads the rows first and writes only those missing or changed): started by
 * alarm_rows_ensure so the caller can prepare its arrays meanwhile, waited for by
 * alarm_rows_load; alarm_rows_wait ends the job either way (call it last, also after a
 * failure). The job is the caller's and must stay in place until then; the writer only reads
 * `cfg` and the job's sorted rule index. */
struct alarm_rows_job {
  const struct dg_config *cfg;
  uint32_t *idx; /* alarm_rows_rule_index(cfg) */
  int rc;        /* the writer's SQLite result */
  bool done;     /* rc is set */
};
int alarm_rows_ensure(struct store *store, const struct dg_config *cfg, struct alarm_rows_job *job);
void alarm_rows_wait(struct store *store, struct alarm_rows_job *job);

/* Waits for the rows `job` ensures, then reads them back: every alarms[i].id, and for each
 * rule i with fresh[i] set (no state carried over in memory) the row's state into alarms[i]
 * and rules[i].stage / .pending; *next_journal_id from the journal. 0, -EIO or -ENOMEM. */
int alarm_rows_load(struct store *store, struct alarm_rows_job *job, struct alarm *alarms, struct rule_state *rules,
                    const uint8_t *fresh, int64_t *next_journal_id);

/* The rule indices of cfg sorted by id (malloc'd; NULL on allocation failure), and a lookup
 * in it (NULL: no such rule). */
uint32_t *alarm_rows_rule_index(const struct dg_config *cfg);
const struct dg_rule *alarm_rows_find_rule(const struct dg_config *cfg, const uint32_t *idx, const char *id);

#endif
