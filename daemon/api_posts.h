/* api_posts — a post's printed cards as A4 HTML pages: GET /api/v1/posts/{id}/card (岗位风险告知卡,
 * post_card.h), /knowledge-card (应知应会卡) and /emergency-card (应急处置卡, post_docs.h); its
 * signed phone link (post_link.h): GET /api/v1/posts/{id}/link, POST .../link/revoke (engineer
 * or admin); and the pages that link opens without a token: GET /p/{key} (the risk card with
 * links to the others, to report a hazard and to my tasks), /p/{key}/knowledge-card and
 * /p/{key}/emergency-card. Every card's QR code is the post's link under daemon.public_url.
 * Loop thread. */
#ifndef DG_API_POSTS_H
#define DG_API_POSTS_H

#include <stddef.h>

#include "api_req.h"

struct api_routes posts_api_routes(void);

/* The base of printed links: daemon.public_url, else http://<listen>:<port>. */
void posts_api_base(const struct dg_config *c, char *out, size_t len);

/* The phone link of post p into out; 0 or negative. */
int posts_api_link(struct api_ctx *ctx, const struct dg_post *p, char *out, size_t len);

#endif
