/* report_auto — the monthly report (月报) of major risks and major hazards made without anyone
 * asking, part of the national reporting (a configuration with a `national` section): once the
 * month has turned (checked at start and every hour), the report of the month
 * before is built (report_monthly), stored in table monthly_reports with, in the same writer
 * transaction, a notification to the channels of the policies covering high priority, addressed
 * to the safety director (persons with the safety_director role); the national upload
 * (national.h, upload.h) then sends it as a monthlyReports record. A month already stored is
 * never made again, so a restart or a daemon that was down on the 1st catches up once.
 *
 * Loop thread. Reads the config through *cfgp (the daemon swaps it on reload). */
#ifndef DG_REPORT_AUTO_H
#define DG_REPORT_AUTO_H

#include <uv.h>

#include "model.h"
#include "notify.h"
#include "store.h"

struct report_auto;
struct upload;

int report_auto_start(struct report_auto **out, uv_loop_t *loop, const struct dg_config *const *cfgp,
                      struct store *store, struct notify *notify, struct upload *upload);
/* Stops; frees itself once its timer is closed and its writer job has finished. NULL: no-op. */
void report_auto_close(struct report_auto *r);

#endif
