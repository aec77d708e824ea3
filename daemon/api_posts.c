#include "api_posts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_lane.h"
#include "log.h"
#include "post_card.h"
#include "post_docs.h"
#include "post_link.h"

#define POSTS_API_PREFIX "/api/v1/posts/"
#define POSTS_API_PUBLIC "/p/"

enum posts_api_doc { POSTS_DOC_CARD, POSTS_DOC_KNOWLEDGE, POSTS_DOC_EMERGENCY };

static const char *const posts_api__tails[] = {"", "/knowledge-card", "/emergency-card"};

void posts_api_base(const struct dg_config *c, char *out, size_t len)
{
  if (c->public_url) snprintf(out, len, "%s", c->public_url);
  else snprintf(out, len, "http://%s:%u", c->http_listen, (unsigned)c->http_port);
  size_t n = strlen(out);
  while (n && out[n - 1] == '/') out[--n] = '\0';
}

int posts_api_link(struct api_ctx *ctx, const struct dg_post *p, char *out, size_t len)
{
  char base[512], key[POST_LINK_KEY_LEN + 1];
  posts_api_base(ctx->engine->cfg, base, sizeof base);
  int rc = post_link_key(ctx->store, p->id, key, sizeof key, NULL);
  return rc ? rc : post_link_url(base, key, out, len);
}

/* The segment after `prefix` up to the next '/' (or the end) into out; the rest of the path. */
static const char *posts_api__segment(const char *path, const char *prefix, char *out, size_t len)
{
  const char *seg = path + strlen(prefix), *end = strchr(seg, '/');
  size_t n = end ? (size_t)(end - seg) : strlen(seg);
  if (!n || n >= len) return NULL;
  memcpy(out, seg, n);
  out[n] = '\0';
  return seg + n;
}

static char *posts_api__render(const struct dg_config *c, const struct dg_post *p, enum posts_api_doc d,
                               const char *url)
{
  switch (d) {
  case POSTS_DOC_KNOWLEDGE: return post_docs_knowledge_html(c, p, url, dg_wall_ms());
  case POSTS_DOC_EMERGENCY: return post_docs_emergency_html(c, p, url, dg_wall_ms());
  default: return post_card_html(c, p, url, dg_wall_ms());
  }
}

static void posts_api__page(struct api_ctx *ctx, const struct dg_post *p, enum posts_api_doc d,
                            struct http_response *resp)
{
  char url[1024];
  int rc = posts_api_link(ctx, p, url, sizeof url);
  if (rc || !(resp->body = posts_api__render(ctx->engine->cfg, p, d, url))) {
    api_error(resp, 500, "cannot render the card of post '%s'%s", p->id, rc ? " (database error)" : "");
    return;
  }
  resp->status = 200;
  resp->content_type = "text/html; charset=utf-8";
}

/* GET /api/v1/posts/{id}/card | knowledge-card | emergency-card */
static void posts_api__card(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  char id[128];
  const char *tail = posts_api__segment(req->path, POSTS_API_PREFIX, id, sizeof id);
  const struct dg_post *p = tail ? dg_config_post(ctx->engine->cfg, id) : NULL;
  if (!p) {
    api_error(resp, 404, "no such post: GET /api/v1/posts/{id}/card");
    return;
  }
  enum posts_api_doc d = POSTS_DOC_CARD;
  if (!strcmp(tail, "/knowledge-card")) d = POSTS_DOC_KNOWLEDGE;
  else if (!strcmp(tail, "/emergency-card")) d = POSTS_DOC_EMERGENCY;
  posts_api__page(ctx, p, d, resp);
}

/* The phone page's links: the other cards of the post, and the dashboard to act on it. */
static char *posts_api__with_nav(char *page, const char *key, const char *base)
{
  const char *body = strstr(page, "<body>");
  char *out = NULL;
  if (!body || asprintf(&out,
                        "%.*s<body><style>.phone-nav { display: flex; flex-wrap: wrap; gap: 2mm; padding: 2mm; font-size: 11pt; }"
                        " @media print { .phone-nav { display: none; } }</style><nav class=\"phone-nav\">"
                        "<a href=\"%s/p/%s\">岗位风险告知卡</a><a href=\"%s/p/%s/knowledge-card\">应知应会卡</a>"
                        "<a href=\"%s/p/%s/emergency-card\">应急处置卡</a><a href=\"%s/#hazards\">上报隐患 Report a hazard"
                        " (sign in)</a><a href=\"%s/#inspections\">我的任务 My tasks</a></nav>%s",
                        (int)(body - page), page, base, key, base, key, base, key, base, base,
                        body + strlen("<body>")) < 0)
    out = NULL;
  free(page);
  return out;
}

/* GET /p/{key}[/knowledge-card|/emergency-card]: no token; only the cards of the key's post. */
static void posts_api__public(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  char key[POST_LINK_KEY_LEN + 2], base[512];
  const char *tail = posts_api__segment(req->path, POSTS_API_PUBLIC, key, sizeof key);
  const struct dg_post *p = tail ? post_link_find(ctx->store, ctx->engine->cfg, key) : NULL;
  size_t d = 0;
  while (tail && d < sizeof posts_api__tails / sizeof posts_api__tails[0] && strcmp(tail, posts_api__tails[d])) d++;
  if (!p || d == sizeof posts_api__tails / sizeof posts_api__tails[0]) {
    api_error(resp, 404, "no such link (it may have been revoked)");
    return;
  }
  posts_api__page(ctx, p, (enum posts_api_doc)d, resp);
  posts_api_base(ctx->engine->cfg, base, sizeof base);
  if (resp->status == 200 && !(resp->body = posts_api__with_nav(resp->body, key, base)))
    api_error(resp, 500, "out of memory");
}

static const struct dg_post *posts_api__link_post(struct api_ctx *ctx, const struct http_request *req,
                                                  struct http_response *resp)
{
  char id[128];
  const char *tail = posts_api__segment(req->path, POSTS_API_PREFIX, id, sizeof id);
  const struct dg_post *p = tail ? dg_config_post(ctx->engine->cfg, id) : NULL;
  if (!p) api_error(resp, 404, "no such post");
  return p;
}

static void posts_api__link_answer(struct api_ctx *ctx, const struct dg_post *p, struct http_response *resp)
{
  char base[512], key[POST_LINK_KEY_LEN + 1], url[1024], card[1024];
  int64_t gen = 0;
  posts_api_base(ctx->engine->cfg, base, sizeof base);
  if (post_link_key(ctx->store, p->id, key, sizeof key, &gen) || post_link_url(base, key, url, sizeof url) ||
      post_card_url(base, p->id, card, sizeof card)) {
    api_error(resp, 500, "database error");
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "post", p->id);
  cJSON_AddStringToObject(o, "url", url);
  cJSON_AddNumberToObject(o, "generation", (double)gen);
  cJSON_AddStringToObject(o, "card", card);
  api_reply(resp, 200, o);
}

/* GET /api/v1/posts/{id}/link */
static void posts_api__link(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  const struct dg_post *p = posts_api__link_post(ctx, req, resp);
  if (p) posts_api__link_answer(ctx, p, resp);
}

struct posts_api__revoke {
  struct api_ctx *ctx;
  struct post_link_revocation r;
};

static int posts_api__revoke_work(struct store_conn *c, void *arg)
{
  return post_link_revoke_work(c, &((struct posts_api__revoke *)arg)->r);
}

static void posts_api__revoked(void *arg, int rc, struct http_response *resp)
{
  struct posts_api__revoke *x = arg;
  const struct dg_post *p;
  if (rc == -ESHUTDOWN) {
    api_error(resp, 503, "database unavailable");
  } else if (rc) {
    api_error(resp, 500, "link not revoked (database error)");
  } else {
    DG_INFO("posts", "phone link of post %s revoked by %s", x->r.post, x->r.by);
    if ((p = dg_config_post(x->ctx->engine->cfg, x->r.post))) posts_api__link_answer(x->ctx, p, resp);
    else api_error(resp, 404, "link revoked, but post %s left the plant model meanwhile", x->r.post);
  }
  free(x);
}

/* POST /api/v1/posts/{id}/link/revoke: the printed QR codes stop working; print the cards anew.
 * Answered after its commit, with the new link. */
static void posts_api__revoke(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct api_ctx *ctx = ud;
  struct posts_api__revoke *x;
  const struct dg_person *who = api_caller(ctx, req);
  int may = 0;
  for (size_t i = 0; who && i < who->n_roles; i++)
    may |= !strcmp(who->roles[i], "engineer") || !strcmp(who->roles[i], "admin");
  if (!who || !may) {
    api_error(resp, who ? 403 : 401, "revoking a post's link requires the engineer or admin role");
    return;
  }
  const struct dg_post *p = posts_api__link_post(ctx, req, resp);
  if (!p) return;
  if (!(x = api_calloc(sizeof *x, resp))) return;
  *x = (struct posts_api__revoke){.ctx = ctx, .r = {.now_ms = dg_wall_ms()}};
  snprintf(x->r.post, sizeof x->r.post, "%s", p->id);
  snprintf(x->r.by, sizeof x->r.by, "%s", who->id);
  api_lane_write(ctx->store, req, resp, true, posts_api__revoke_work, posts_api__revoked, x);
}

static const struct api_route posts_api__routes[] = {
  {"GET", POSTS_API_PREFIX "{id}/card", posts_api__card, 0, NULL, NULL},
  {"GET", POSTS_API_PREFIX "{id}/knowledge-card", posts_api__card, 0, NULL, NULL},
  {"GET", POSTS_API_PREFIX "{id}/emergency-card", posts_api__card, 0, NULL, NULL},
  {"GET", POSTS_API_PREFIX "{id}/link", posts_api__link, 0, NULL, NULL},
  {"POST", POSTS_API_PREFIX "{id}/link/revoke", posts_api__revoke, 0, NULL, NULL},
  {"GET", POSTS_API_PUBLIC "{key}", posts_api__public, 0, NULL, NULL},
  {"GET", POSTS_API_PUBLIC "{key}/knowledge-card", posts_api__public, 0, NULL, NULL},
  {"GET", POSTS_API_PUBLIC "{key}/emergency-card", posts_api__public, 0, NULL, NULL},
};

struct api_routes posts_api_routes(void) { return API_ROUTES(posts_api__routes); }
