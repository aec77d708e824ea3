/* api_posts — GET /api/v1/posts/{id}/card: a post's 岗位风险告知卡 as an A4 HTML page
 * (post_card.h), its QR code opening the same address under daemon.public_url. Loop thread. */
#ifndef DG_API_POSTS_H
#define DG_API_POSTS_H

#include "api_req.h"

struct api_routes posts_api_routes(void);

#endif
