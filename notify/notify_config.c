#include "notify_config.h"

#include "config_ctx.h"

#include <stdlib.h>

static const char *const notify_config__channel_types[] = {"webhook", NULL};

enum { CH_ID, CH_TYPE, CH_URL, CH_URL_FILE, CH_TIMEOUT, CH_EXPIRE };
static const struct dg_yfield notify_config__channel_fields[] = {
  [CH_ID] = YF_STR("id", struct dg_channel, id, DG_YF_REQ),
  [CH_TYPE] = YF_ENUM("type", struct dg_channel, type, DG_YF_REQ, notify_config__channel_types),
  [CH_URL] = YF_STR("url", struct dg_channel, url, 0),
  [CH_URL_FILE] = YF_NODE("url_file", 0), /* a URL carrying its access token */
  [CH_TIMEOUT] = YF_NUM("timeout", DG_YK_MS, struct dg_channel, timeout_ms, 0, 1, 600000),
  [CH_EXPIRE] = YF_NUM("expire", DG_YK_SEC, struct dg_channel, expire_s, 0, 1000, 365 * DG_YMS_DAY),
};

static int notify_config__channel(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  static const char *const schemes[] = {"http://", "https://", NULL};
  struct dg_channel *ch = item;
  struct dg_yseen s;
  ch->timeout_ms = 5000;
  ch->expire_s = 86400;
  int rc = DG_YC_MAP(y, n, notify_config__channel_fields, ch, &s);
  if (!rc) rc = dg_yc_add_id(y, &cfg_ctx(y)->ix->channels, ch->id, ch, s.val[CH_ID], "channel");
  if (!rc) rc = dg_yc_secret(y, &s, notify_config__channel_fields, CH_URL, CH_URL_FILE, &ch->url);
  if (!rc && !ch->url) rc = dg_yc_fail(y, n, "missing required key 'url' (or 'url_file')");
  if (!rc && !dg_yc_has_scheme(ch->url, schemes))
    rc = dg_yc_failk(y, s.val[CH_URL] ? s.val[CH_URL] : s.val[CH_URL_FILE], "url",
                     "expected an http:// or https:// URL, got '%.64s'", ch->url);
  return rc;
}

static int notify_config__priority_item(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  int idx;
  int rc = dg_yc_choice(y, n, cfg_priorities, &idx);
  if (!rc) *(unsigned *)obj |= 1u << (idx + 1);
  return rc;
}

static int notify_config__policy_priorities(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_policy *pol = obj;
  if (n->type != DG_YSEQ || !n->n) return dg_yc_fail(y, n, "expected a non-empty sequence of priorities");
  for (size_t i = 0; i < n->n; i++) {
    size_t mark = dg_yc_path_index(y, i);
    int rc = notify_config__priority_item(y, n->kids[i], &pol->priority_mask);
    dg_yc_path_restore(y, mark);
    if (rc) return rc;
  }
  return 0;
}

static int notify_config__policy_channel(struct dg_ycheck *y, struct dg_policy *pol, const struct dg_ynode *n, size_t i)
{
  const char *id = NULL;
  int rc = dg_yc_text(y, n, &id);
  if (rc) return rc;
  struct dg_channel *ch = dg_idmap_get(&cfg_ctx(y)->ix->channels, id);
  if (!ch) return dg_yc_fail(y, n, "unknown channel '%.64s'", id);
  for (size_t k = 0; k < i; k++)
    if (pol->channels[k] == ch) return dg_yc_fail(y, n, "channel '%.64s' listed twice", id);
  pol->channels[i] = ch;
  return 0;
}

static int notify_config__policy_channels(struct dg_ycheck *y, const struct dg_ynode *n, void *obj)
{
  struct dg_policy *pol = obj;
  if (n->type != DG_YSEQ || !n->n) return dg_yc_fail(y, n, "expected a non-empty sequence of channel ids");
  if (!(pol->channels = calloc(n->n, sizeof *pol->channels))) return dg_yc_oom(y);
  pol->n_channels = n->n;
  for (size_t i = 0; i < n->n; i++) {
    size_t mark = dg_yc_path_index(y, i);
    int rc = notify_config__policy_channel(y, pol, n->kids[i], i);
    dg_yc_path_restore(y, mark);
    if (rc) return rc;
  }
  return 0;
}

enum { POL_ID, POL_PRIORITIES, POL_CHANNELS };
static const struct dg_yfield notify_config__policy_fields[] = {
  [POL_ID] = YF_STR("id", struct dg_policy, id, DG_YF_REQ),
  [POL_PRIORITIES] = YF_NODE("priorities", DG_YF_REQ),
  [POL_CHANNELS] = YF_NODE("channels", DG_YF_REQ),
};

static int notify_config__policy(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_policy *pol = item;
  struct dg_yseen s;
  int rc = DG_YC_MAP(y, n, notify_config__policy_fields, pol, &s);
  if (!rc) rc = dg_yc_add_id(y, &cfg_ctx(y)->policies, pol->id, pol, s.val[POL_ID], "policy");
  if (!rc) rc = dg_yc_under(y, s.val[POL_PRIORITIES], "priorities", pol, notify_config__policy_priorities);
  if (!rc) rc = dg_yc_under(y, s.val[POL_CHANNELS], "channels", pol, notify_config__policy_channels);
  return rc;
}

int notify_config_channels(struct cfg_ctx *x, const struct dg_ynode *n)
{
  struct dg_config *c = x->c;
  return dg_yc_list(&x->y, n, sizeof *c->channels, &c->channels, &c->n_channels, notify_config__channel);
}

int notify_config_policies(struct cfg_ctx *x, const struct dg_ynode *n)
{
  struct dg_config *c = x->c;
  return dg_yc_list(&x->y, n, sizeof *c->policies, &c->policies, &c->n_policies, notify_config__policy);
}

void notify_config_free(struct dg_config *c)
{
  for (size_t i = 0; i < c->n_channels; i++) {
    free(c->channels[i].id);
    free(c->channels[i].url);
  }
  free(c->channels);
  for (size_t i = 0; i < c->n_policies; i++) {
    free(c->policies[i].id);
    free(c->policies[i].channels);
  }
  free(c->policies);
}
