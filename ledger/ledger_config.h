/* ledger_config — the `ledger` section (review_reports, attachments_dir) and the `calendar`
 * section (weekend days, holidays and make-up workdays the hazard deadlines count in).
 *
 * Called by config.c with the section key on the error path. The ledger settings are stored
 * into c (attachments_dir freed by config_free with the daemon settings); the calendar's sorted
 * date arrays belong to c->calendar and are released by ledger_config_free. */
#ifndef DG_LEDGER_CONFIG_H
#define DG_LEDGER_CONFIG_H

struct cfg_ctx;
struct dg_config;
struct dg_ynode;

int ledger_config_parse(struct cfg_ctx *x, const struct dg_ynode *n);
int ledger_config_calendar(struct cfg_ctx *x, const struct dg_ynode *n);
void ledger_config_free(struct dg_config *c);

#endif
