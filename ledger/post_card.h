/* post_card — the 岗位风险告知卡 (post risk notice card) of a post as one A4 HTML page: the
 * post's risk events with their colour, possible accidents, control measures, emergency actions
 * (emergency.h: the event's emergency steps), the emergency phone numbers, and a QR code (inline SVG) that
 * opens the card's phone address. Print CSS for A4; narrow screens get one column.
 *
 * Pure: reads the config, returns a malloc'd page the caller frees. */
#ifndef DG_POST_CARD_H
#define DG_POST_CARD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

/* The emergency steps of `e` (emergency.h) as an ordered list, "—" when it has none. */
void post_card_steps(FILE *f, const struct dg_event *e);

/* The card's address: "<base>/api/v1/posts/<id, percent-encoded>/card" into out. 0, or -ENOSPC. */
int post_card_url(const char *base, const char *post_id, char *out, size_t len);

/* The page of post `p`, with a QR code of `url` and `now_ms` as the printing date; NULL on
 * allocation failure or a URL too long for a QR code. */
char *post_card_html(const struct dg_config *c, const struct dg_post *p, const char *url, int64_t now_ms);

#endif
