/* post_docs — the 应知应会卡 (what a post's worker must know and be able to do) and the 应急处置卡
 * (what to do, in order, for each risk event; emergency.h is its one source) of a post, and the
 * 应急处置卡 of a risk unit, as A4 HTML pages with the QR code of `url` (the post's phone page;
 * NULL: none). Pure: reads the config, returns a malloc'd page, NULL on allocation failure or a
 * URL too long for a QR code. */
#ifndef DG_POST_DOCS_H
#define DG_POST_DOCS_H

#include <stdint.h>

#include "model.h"

char *post_docs_knowledge_html(const struct dg_config *c, const struct dg_post *p, const char *url, int64_t now_ms);
char *post_docs_emergency_html(const struct dg_config *c, const struct dg_post *p, const char *url, int64_t now_ms);
char *post_docs_unit_emergency_html(const struct dg_config *c, const struct dg_unit *u, int64_t now_ms);

#endif
