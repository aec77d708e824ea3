/* board — the 安全风险公告栏 (risk bulletin board) of a risk unit or of the whole site: each unit
 * with its assessed and current colour (risk.h), its main risks (its events, highest level
 * first, with the possible accident) and the persons responsible (the unit's and its measures',
 * by name and phone). A3 landscape for the site, A4 landscape for a unit; the QR code opens
 * `url` (NULL: none). Pure; a malloc'd page, NULL on allocation failure. */
#ifndef DG_BOARD_H
#define DG_BOARD_H

#include <stdint.h>

#include "risk.h"

/* units/n: risk_evaluate's answer; only: the unit to show, or NULL for the site. */
char *board_html(const struct dg_config *c, const struct risk_unit *units, size_t n, const struct dg_unit *only,
                 const char *url, int64_t now_ms);

#endif
