/* alarm_config — the `alarm` section: alarm management settings (max_shelve per priority).
 *
 * Called by config.c with "alarm" on the error path; stores into c->max_shelve_ms, nothing
 * allocated. alarm_config_defaults fills the priorities the file left unset (whether or not the
 * section is present). */
#ifndef DG_ALARM_CONFIG_H
#define DG_ALARM_CONFIG_H

struct cfg_ctx;
struct dg_config;
struct dg_ynode;

int alarm_config_parse(struct cfg_ctx *x, const struct dg_ynode *n);
void alarm_config_defaults(struct dg_config *c);

#endif
