#include "api_posts.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "post_card.h"

#define POSTS_API_PREFIX "/api/v1/posts/"
#define POSTS_API_CARD "/card"

/* The post named by "/api/v1/posts/{id}/card", or NULL. */
static const struct dg_post *posts_api__post(const struct dg_config *c, const char *path)
{
  char id[128];
  const char *seg = path + strlen(POSTS_API_PREFIX);
  size_t len = strlen(seg), tail = strlen(POSTS_API_CARD);
  if (len <= tail || len - tail >= sizeof id || strcmp(seg + len - tail, POSTS_API_CARD)) return NULL;
  memcpy(id, seg, len - tail);
  id[len - tail] = '\0';
  return dg_config_post(c, id);
}

static void posts_api__card(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_config *c = ctx->engine->cfg;
  const struct dg_post *p = posts_api__post(c, req->path);
  char base[512], url[1024];
  if (!p) {
    api_error(resp, 404, "no such post: GET /api/v1/posts/{id}/card");
    return;
  }
  if (c->public_url) snprintf(base, sizeof base, "%s", c->public_url);
  else snprintf(base, sizeof base, "http://%s:%u", c->http_listen, (unsigned)c->http_port);
  if (post_card_url(base, p->id, url, sizeof url) || !(resp->body = post_card_html(c, p, url, dg_wall_ms()))) {
    api_error(resp, 500, "cannot render the card of post '%s'", p->id);
    return;
  }
  resp->status = 200;
  resp->content_type = "text/html; charset=utf-8";
}

static const struct api_route posts_api__routes[] = {
  {"GET", POSTS_API_PREFIX "{id}" POSTS_API_CARD, posts_api__card, 0, NULL, NULL},
};

struct api_routes posts_api_routes(void) { return API_ROUTES(posts_api__routes); }
