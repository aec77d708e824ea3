/* Telling a tier of a policy: its recipients, the envelopes of their messages, acknowledgement
 * links (esc_internal.h). */
#include "escalate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esc_internal.h"
#include "esc_text.h"
#include "log.h"

#define ESC_MAX_RECIPIENTS 64

/* ---- recipients and messages --------------------------------------------------------------- */

static void esc__add_person(struct dg_person **out, size_t *n, struct dg_person *p)
{
  if (!p || *n >= ESC_MAX_RECIPIENTS) return;
  for (size_t i = 0; i < *n; i++)
    if (out[i] == p) return;
  out[(*n)++] = p;
}

static int esc__has_role(const struct dg_person *p, const char *role)
{
  for (size_t i = 0; i < p->n_roles; i++)
    if (!strcmp(p->roles[i], role)) return 1;
  return 0;
}

static size_t esc__recipients(const struct escalate *x, const struct esc_tier *t, const cJSON *ctx, int64_t now,
                              struct dg_person **out)
{
  const struct dg_config *c = x->cfg;
  size_t n = 0;
  for (size_t i = 0; i < t->n_persons; i++) esc__add_person(out, &n, t->persons[i]);
  for (size_t r = 0; r < t->n_roles; r++)
    for (size_t i = 0; i < c->n_persons; i++)
      if (esc__has_role(&c->persons[i], t->roles[r])) esc__add_person(out, &n, &c->persons[i]);
  const cJSON *jm = cJSON_GetObjectItemCaseSensitive(ctx, "measure"), *ju = cJSON_GetObjectItemCaseSensitive(ctx, "unit");
  const struct dg_measure *m = cJSON_IsString(jm) ? dg_config_measure(c, jm->valuestring) : NULL;
  const struct dg_unit *u = cJSON_IsString(ju) ? dg_config_unit(c, ju->valuestring) : NULL;
  if ((t->responsible & ESC_RESP_MEASURE) && m) esc__add_person(out, &n, dg_config_person(c, m->resp_person));
  if ((t->responsible & ESC_RESP_UNIT) && u) esc__add_person(out, &n, dg_config_person(c, u->person));
  if ((t->responsible & ESC_RESP_SOURCE) && u && u->source)
    for (size_t i = 0; i < u->source->n_units; i++)
      esc__add_person(out, &n, dg_config_person(c, u->source->units[i].person));
  const cJSON *hp = cJSON_GetObjectItemCaseSensitive(ctx, "hazard_people"), *e;
  if (t->responsible & ESC_RESP_HAZARD)
    cJSON_ArrayForEach(e, hp) if (cJSON_IsString(e)) esc__add_person(out, &n, dg_config_person(c, e->valuestring));
  if (t->rota) esc__add_person(out, &n, esc_rota_on_call(t->rota, now));
  return n;
}

const char *esc__contact(const struct dg_person *p, const struct dg_channel *ch)
{
  switch (ch->type) {
  case DG_CHANNEL_DINGTALK: return p->dingtalk;
  case DG_CHANNEL_WECOM: return p->wecom;
  case DG_CHANNEL_FEISHU: return p->feishu;
  default: return NULL;
  }
}

static int esc__reachable(const struct dg_person *p, const struct dg_channel *ch)
{
  if (ch->type == DG_CHANNEL_SMTP) return p->email != NULL;
  if (ch->type == DG_CHANNEL_SMS || ch->type == DG_CHANNEL_VOICE) return p->phone != NULL;
  return 1;
}

/* A one-time link acknowledging alarm r->alarm_id as p: its id (0: none), which the message
 * carries until it is sent (esc__render); only the token's hash is kept. */
static int64_t esc__link(struct escalate *x, struct esc_change *ch, const struct esc_run *r, const struct dg_person *p,
                         int64_t now)
{
  const struct esc_config *e = x->cfg->esc;
  char token[ACKLINK_TOKEN_LEN + 1];
  if (!e->dashboard_url) return 0;
  struct esc_link *l = calloc(1, sizeof *l);
  if (!l || !(l->person = strdup(p->id))) {
    free(l);
    return 0;
  }
  l->id = x->next_link_id++;
  acklink_token(x->link_key, l->id, token);
  acklink_hash(token, l->hash);
  l->alarm_id = r->alarm_id;
  l->esc_id = r->id;
  l->created_ms = now;
  l->expires_ms = now + (int64_t)e->link_ttl_s * 1000;
  l->next = ch->links;
  ch->links = l;
  return l->id;
}

/* At send time (notify's render hook): the acknowledgement link's token goes into the message. */
char *esc__render(void *arg, const char *body)
{
  struct escalate *x = arg;
  const struct esc_config *e = x->cfg->esc;
  if (!e || !e->dashboard_url || !strstr(body, "\"ack_link\"")) return NULL;
  cJSON *root = cJSON_Parse(body);
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "ack_link");
  char *out = NULL, token[ACKLINK_TOKEN_LEN + 1], url[1024];
  if (cJSON_IsNumber(id)) {
    acklink_token(x->link_key, (int64_t)id->valuedouble, token);
    snprintf(url, sizeof url, "%s/ack?token=%s", e->dashboard_url, token);
    cJSON_DeleteItemFromObjectCaseSensitive(root, "ack_link");
    cJSON_DeleteItemFromObjectCaseSensitive(root, "link");
    cJSON_AddStringToObject(root, "link", url);
    out = cJSON_PrintUnformatted(root);
  }
  cJSON_Delete(root);
  return out;
}

int escalate_set_link_key_file(struct escalate *x, const char *path)
{
  int rc = acklink_key_load(path, x->link_key);
  if (rc) DG_ERR("escalate", "acknowledgement link key %s: %s; links last until the next start", path, strerror(-rc));
  return rc;
}

/* A hazard's page on the dashboard (no token: nothing to acknowledge there without a login). */
static char *esc__page_link(const struct esc_config *e, const struct esc_run *r)
{
  if (!e->dashboard_url || !r->hazard_id) return NULL;
  size_t len = strlen(e->dashboard_url) + 48;
  char *url = malloc(len);
  if (url) snprintf(url, len, "%s/#hazards/%lld", e->dashboard_url, (long long)r->hazard_id);
  return url;
}

static char *esc__envelope(const struct dg_person *p, const struct dg_channel *chn, const char *title,
                           const char *text, const char *link, int64_t ack, const struct esc_run *r, uint32_t tier,
                           const char *priority)
{
  cJSON *root = cJSON_CreateObject(), *to = cJSON_AddObjectToObject(root, "to");
  cJSON_AddStringToObject(to, "person", p->id);
  if (p->name) cJSON_AddStringToObject(to, "name", p->name);
  if (p->phone) cJSON_AddStringToObject(to, "phone", p->phone);
  if (p->email) cJSON_AddStringToObject(to, "email", p->email);
  const char *im = esc__contact(p, chn);
  if (im) cJSON_AddStringToObject(to, "im", im);
  cJSON_AddStringToObject(root, "title", title);
  cJSON_AddStringToObject(root, "text", text);
  if (link) cJSON_AddStringToObject(root, "link", link);
  if (ack) cJSON_AddNumberToObject(root, "ack_link", (double)ack); /* its token is rendered when sent */
  if (priority) cJSON_AddStringToObject(root, "priority", priority);
  if (r->alarm_id) cJSON_AddNumberToObject(root, "alarm_id", (double)r->alarm_id);
  if (r->hazard_id) cJSON_AddNumberToObject(root, "hazard_id", (double)r->hazard_id);
  cJSON_AddNumberToObject(root, "escalation", (double)r->id);
  cJSON_AddNumberToObject(root, "tier", tier + 1);
  char *s = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  return s;
}

/* Tells tier `tier` of r's policy: one message per person and channel, journaled. */
void esc__tell(struct escalate *x, struct esc_change *ch, struct esc_run *r, const struct esc_policy *p,
               uint32_t tier, enum esc_event ev, const char *action, int64_t now, struct notify_msg **msgs)
{
  const struct esc_config *e = x->cfg->esc;
  const struct esc_tier *t = &p->tiers[tier];
  cJSON *ctx = cJSON_Parse(r->ctx), *detail = cJSON_CreateObject(), *told = cJSON_AddArrayToObject(detail, "told");
  struct dg_person *who[ESC_MAX_RECIPIENTS];
  char *title = NULL, *text = NULL;
  if (!ctx || (esc_event_is_ledger(ev) ? esc_text_hazard(ctx, ev, tier, e->lang, e->utc_offset_min, &title, &text)
                                        : esc_text_alarm(ctx, ev, tier, e->lang, e->utc_offset_min, &title, &text)))
    goto out;
  const cJSON *jp = cJSON_GetObjectItemCaseSensitive(ctx, "priority");
  const char *prio = cJSON_IsString(jp) ? jp->valuestring : NULL;
  int quiet = prio && !strcmp(prio, "low") && esc_in_quiet_hours(e->quiet_from_min, e->quiet_to_min, now, e->utc_offset_min);
  /* a critical alarm or a major hazard is never held back by a digest */
  int urgent = (prio && !strcmp(prio, "critical")) || ev == ESC_EV_MAJOR_HAZARD_OPENED;
  size_t n = esc__recipients(x, t, ctx, now, who);
  r->steps++;
  for (size_t i = 0; i < n; i++) {
    int hazard = r->hazard_id || esc_event_is_ledger(ev);
    char *link = hazard ? esc__page_link(e, r) : NULL;
    int64_t ack = hazard ? 0 : esc__link(x, ch, r, who[i], now);
    for (size_t k = 0; k < t->n_channels; k++) {
      const struct dg_channel *chn = t->channels[k];
      cJSON *entry = cJSON_CreateObject();
      cJSON_AddStringToObject(entry, "person", who[i]->id);
      cJSON_AddStringToObject(entry, "channel", chn->id);
      cJSON_AddItemToArray(told, entry);
      if (!esc__reachable(who[i], chn)) {
        cJSON_AddStringToObject(entry, "skipped", "no contact point");
        continue;
      }
      if (!urgent && esc__digest(x, ch, who[i], chn, title, now)) {
        cJSON_AddStringToObject(entry, "held", "digest");
        continue;
      }
      char ref[160];
      snprintf(ref, sizeof ref, "esc:%lld:step:%u:%s", (long long)r->id, r->steps, who[i]->id);
      char *body = esc__envelope(who[i], chn, title, text, link, ack, r, tier, prio);
      struct notify_msg *m = body ? notify_msg_new(x->notify, chn, ref, body, now) : NULL;
      if (!m || !(m->recipient = strdup(who[i]->id))) {
        notify_msg_free_list(m);
        continue;
      }
      if (quiet) { /* low priority waits for the end of the quiet hours */
        int32_t wait = (e->quiet_to_min - esc_local_minute(now, e->utc_offset_min) + 1440) % 1440;
        m->next_attempt_ms = now + (int64_t)wait * 60000;
        m->expires_ms += (int64_t)wait * 60000;
      }
      cJSON_AddNumberToObject(entry, "outbox", (double)m->id);
      m->next = *msgs;
      *msgs = m;
      x->stats.messages++;
    }
    free(link);
  }
  if (!n) cJSON_AddStringToObject(detail, "warning", "the tier resolved to nobody");
out:
  esc__journal(ch, r, (int)tier, action, detail, now);
  free(title);
  free(text);
  cJSON_Delete(ctx);
}
