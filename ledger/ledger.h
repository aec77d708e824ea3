/* ledger — the hazard ledger (隐患台账): automatic hazards from failed control measures.
 *
 * The loop thread decides (hazard_on_activation) whether an alarm activation opens a new hazard
 * or appends an occurrence to the open one of the same measure; the decision is written by
 * hazard_write() inside the same store transaction as the alarm transition. */
#ifndef DG_LEDGER_H
#define DG_LEDGER_H

#include <stdint.h>

#include "model.h"
#include "store.h"

/* dangerState; 审核中 (-1) only for manual reports while ledger.review_reports is on. */
enum { HAZARD_REVIEWING = -1, HAZARD_RECTIFYING = 0, HAZARD_PENDING_ACCEPTANCE = 1, HAZARD_ACCEPTED = 9 };
/* dangerSrc 9 管控措施失效 */
#define HAZARD_SRC_MEASURE_FAILED 9

struct ledger;

/* What one alarm activation does to the ledger. Config strings are borrowed: the config must
 * outlive the store job (reload waits for the store to be idle before freeing a config). */
struct hazard_change {
  enum { HAZARD_NONE = 0, HAZARD_OPEN, HAZARD_APPEND } kind;
  int64_t hazard_id;
  char code[64];
  int danger_level;          /* 0 一般, 1 重大 */
  int64_t deadline_ms;
  char *description;         /* owned, OPEN only */
  char *reason;              /* owned, OPEN only */
  const struct dg_rule *rule;
  const struct dg_measure *measure;
  int64_t alarm_id;
  const char *stage;
  double value;
  int64_t ts_ms;
};

/* Loads the open automatic hazards (one per measure) from the reader connection and the next
 * free hazard id. 0 or negative. */
int ledger_open(struct ledger **out, const struct dg_config *cfg, struct store *store);
void ledger_close(struct ledger *l);
void ledger_set_config(struct ledger *l, const struct dg_config *cfg);

/* Loop thread. Decides the change for an alarm activation of `rule` (stage index `stage`).
 * Returns 1 with *hc filled when the ledger changes, 0 when the rule has no automated measure. */
int hazard_on_activation(struct ledger *l, const struct dg_rule *rule, int stage, double value,
                         int64_t alarm_id, int64_t now_ms, struct hazard_change *hc);
/* Writer thread: persists *hc. SQLITE_OK or an SQLite error. */
int hazard_write(struct store_conn *c, const struct hazard_change *hc);
void hazard_change_release(struct hazard_change *hc);

/* Loop thread. Allocates the id and code of a hazard registered outside alarm automation
 * (manual report, inspection record). Returns the id. */
int64_t ledger_alloc_hazard(struct ledger *l, int64_t now_ms, char *code, size_t len);
/* Loop thread, after the commit that closed hazard `hazard_id`: the next failure of its measure
 * opens a new hazard. */
void ledger_forget(struct ledger *l, int64_t hazard_id);

/* Loop thread. A counter bumped by every change to the ledger made on the loop that can change
 * its open major hazards (an automatic major hazard opened, API changes committed), so the
 * risk watch can tell when to read them again. An automatic general hazard, or an occurrence
 * appended to an open hazard, leaves it as it is. */
void ledger_touch(struct ledger *l);
uint64_t ledger_generation(const struct ledger *l);

/* Number of open automatic hazards known to the loop. */
size_t ledger_open_count(const struct ledger *l);

#endif
