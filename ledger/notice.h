/* notice — rectification notices (整改通知): issued when a hazard is assigned to a rectifier,
 * each with a number "ZG-<year>-<seq, 4 digits>" counted per calendar year (local time) in table
 * rect_notices, stored with the notice and never reused; printed as an A4 page.
 *
 * notice_issue runs on the writer thread inside the assignment's transaction; the rest on the
 * loop thread (reader connection). */
#ifndef DG_NOTICE_H
#define DG_NOTICE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "store.h"

#define NOTICE_NUMBER_MAX 32

/* Issues the next number of now_ms's year for hazard `hazard_id` assigned to `rectifier` by
 * `by`, into number. SQLITE_OK or an SQLite error. */
int notice_issue(struct store_conn *c, int64_t hazard_id, const char *rectifier, const char *by, int64_t now_ms,
                 char *number, size_t len);

/* The page of notice `number` (with the hazard as stored now) and a QR code of `url` (may be
 * NULL); *page malloc'd. 0, -ENOENT (no such notice), -EIO or -ENOMEM. */
int notice_html(struct store_conn *c, const struct dg_config *cfg, const char *number, const char *url, char **page);

#endif
