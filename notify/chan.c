#include "chan.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan_sign.h"

#define CHAN_WECOM_TEXT_MAX 2048
#define CHAN_WECOM_MD_MAX 4096
#define CHAN_FEISHU_BODY_MAX (20 * 1024)
#define CHAN_THROTTLE_MS (10 * 60 * 1000)

/* What an outbox body says, borrowed from its parsed JSON. */
struct chan_msg {
  cJSON *root;
  const char *title, *text, *link;
  const char *name, *phone, *email, *im, *person;
};

static const char *chan__str(const cJSON *o, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static int chan__parse(const char *body, struct chan_msg *m)
{
  memset(m, 0, sizeof *m);
  if (!(m->root = cJSON_Parse(body))) return -EINVAL;
  const cJSON *to = cJSON_GetObjectItemCaseSensitive(m->root, "to");
  m->title = chan__str(m->root, "title");
  m->text = chan__str(m->root, "text");
  if (!m->text) m->text = chan__str(m->root, "text_zh");
  if (!m->text) m->text = "dualguard";
  if (!m->title) m->title = m->text;
  m->link = chan__str(m->root, "link");
  m->name = chan__str(to, "name");
  m->phone = chan__str(to, "phone");
  m->email = chan__str(to, "email");
  m->im = chan__str(to, "im");
  m->person = chan__str(to, "person");
  return 0;
}

/* A mainland mobile as robots @-mention it: without +86. */
static const char *chan__mobile(const char *phone)
{
  if (!phone) return NULL;
  return !strncmp(phone, "+86", 3) ? phone + 3 : phone;
}

static int chan__header(struct chan_req *r, const char *fmt, const char *a, long long b)
{
  if (r->n_headers >= CHAN_MAX_HEADERS) return -E2BIG;
  char line[512];
  if (a) snprintf(line, sizeof line, fmt, a);
  else snprintf(line, sizeof line, fmt, b);
  return (r->headers[r->n_headers++] = strdup(line)) ? 0 : -ENOMEM;
}

static int chan__take_json(struct chan_req *r, cJSON *root)
{
  r->body = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  if (!r->body) return -ENOMEM;
  r->body_len = strlen(r->body);
  r->content_type = "application/json; charset=utf-8";
  return 0;
}

/* The text with the link under it. */
static char *chan__text_link(const struct chan_msg *m, const char *mention)
{
  size_t len = strlen(m->text) + (m->link ? strlen(m->link) : 0) + (mention ? strlen(mention) : 0) + 8;
  char *s = malloc(len);
  if (s) snprintf(s, len, "%s%s%s%s%s", m->text, m->link ? "\n" : "", m->link ? m->link : "", mention ? " @" : "",
                  mention ? mention : "");
  return s;
}

/* ---- DingTalk robot ---- */

static int chan__dingtalk(const struct dg_channel *ch, const struct chan_msg *m, int64_t now_ms, struct chan_req *r)
{
  const char *mobile = chan__mobile(m->im ? m->im : m->phone);
  char *text = chan__text_link(m, mobile);
  cJSON *root = cJSON_CreateObject();
  if (!text || !root) goto oom;
  if (ch->markdown) {
    cJSON_AddStringToObject(root, "msgtype", "markdown");
    cJSON *md = cJSON_AddObjectToObject(root, "markdown");
    cJSON_AddStringToObject(md, "title", m->title);
    cJSON_AddStringToObject(md, "text", text);
  } else {
    cJSON_AddStringToObject(root, "msgtype", "text");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "text"), "content", text);
  }
  cJSON *at = cJSON_AddObjectToObject(root, "at");
  cJSON *mobiles = cJSON_AddArrayToObject(at, "atMobiles");
  if (mobile) cJSON_AddItemToArray(mobiles, cJSON_CreateString(mobile));
  free(text);
  if (ch->secret) {
    char *sign = chan_dingtalk_sign(ch->secret, now_ms);
    size_t len = strlen(ch->url) + (sign ? strlen(sign) : 0) + 48;
    if (!sign || !(r->url = malloc(len))) {
      free(sign);
      cJSON_Delete(root);
      return -ENOMEM;
    }
    snprintf(r->url, len, "%s%ctimestamp=%lld&sign=%s", ch->url, strchr(ch->url, '?') ? '&' : '?', (long long)now_ms,
             sign);
    free(sign);
  }
  return chan__take_json(r, root);
oom:
  free(text);
  cJSON_Delete(root);
  return -ENOMEM;
}

/* The text with its link, and an empty request object: 0, or -ENOMEM with neither. */
static int chan__begin(const struct chan_msg *m, char **text, cJSON **root)
{
  *text = chan__text_link(m, NULL);
  *root = cJSON_CreateObject();
  if (*text && *root) return 0;
  free(*text);
  cJSON_Delete(*root);
  return -ENOMEM;
}

/* ---- WeCom robot ---- */

static int chan__wecom(const struct dg_channel *ch, const struct chan_msg *m, struct chan_req *r)
{
  const char *mobile = chan__mobile(m->phone);
  char *text;
  cJSON *root;
  if (chan__begin(m, &text, &root)) return -ENOMEM;
  text[chan_utf8_cut(text, ch->markdown ? CHAN_WECOM_MD_MAX : CHAN_WECOM_TEXT_MAX)] = '\0';
  const char *kind = ch->markdown ? "markdown" : "text";
  cJSON_AddStringToObject(root, "msgtype", kind);
  cJSON *body = cJSON_AddObjectToObject(root, kind);
  cJSON_AddStringToObject(body, "content", text);
  free(text);
  if (!ch->markdown && (m->im || mobile)) {
    cJSON *ids = cJSON_AddArrayToObject(body, m->im ? "mentioned_list" : "mentioned_mobile_list");
    cJSON_AddItemToArray(ids, cJSON_CreateString(m->im ? m->im : mobile));
  }
  return chan__take_json(r, root);
}

/* ---- Feishu bot ---- */

static int chan__feishu(const struct dg_channel *ch, const struct chan_msg *m, int64_t now_ms, struct chan_req *r)
{
  char *text;
  cJSON *root;
  if (chan__begin(m, &text, &root)) return -ENOMEM;
  size_t len = strlen(text) + (m->im ? strlen(m->im) + 40 : 0) + 1;
  char *content = malloc(len);
  if (content) {
    text[chan_utf8_cut(text, CHAN_FEISHU_BODY_MAX - 1024)] = '\0';
    if (m->im) snprintf(content, len, "%s <at user_id=\"%s\"></at>", text, m->im);
    else snprintf(content, len, "%s", text);
  }
  free(text);
  if (ch->secret) {
    int64_t ts = now_ms / 1000;
    char *sign = chan_feishu_sign(ch->secret, ts), stamp[24];
    snprintf(stamp, sizeof stamp, "%lld", (long long)ts);
    cJSON_AddStringToObject(root, "timestamp", stamp);
    if (sign) cJSON_AddStringToObject(root, "sign", sign);
    free(sign);
  }
  cJSON_AddStringToObject(root, "msg_type", "text");
  cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "content"), "text", content ? content : "");
  free(content);
  return chan__take_json(r, root);
}

/* ---- templates: generic webhook, SMS and voice gateways ---- */

static void chan__append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
  if (!*buf) return;
  if (*len + n + 1 > *cap) {
    size_t ncap = (*len + n + 1) * 2;
    char *p = realloc(*buf, ncap);
    if (!p) {
      free(*buf);
      *buf = NULL;
      return;
    }
    *buf = p;
    *cap = ncap;
  }
  memcpy(*buf + *len, s, n);
  *len += n;
  (*buf)[*len] = '\0';
}

char *chan_expand(const char *tmpl, const char *const *vars, bool json)
{
  size_t len = 0, cap = strlen(tmpl) + 64;
  char *out = malloc(cap);
  if (!out) return NULL;
  out[0] = '\0';
  for (const char *p = tmpl; *p && out;) {
    const char *open = strstr(p, "{{"), *close = open ? strstr(open + 2, "}}") : NULL;
    if (!close) {
      chan__append(&out, &len, &cap, p, strlen(p));
      break;
    }
    chan__append(&out, &len, &cap, p, (size_t)(open - p));
    size_t nlen = (size_t)(close - open - 2);
    for (size_t i = 0; vars[i]; i += 2) {
      if (strlen(vars[i]) != nlen || strncmp(vars[i], open + 2, nlen) || !vars[i + 1]) continue;
      if (!json) {
        chan__append(&out, &len, &cap, vars[i + 1], strlen(vars[i + 1]));
        break;
      }
      cJSON *s = cJSON_CreateString(vars[i + 1]);
      char *q = s ? cJSON_PrintUnformatted(s) : NULL;
      cJSON_Delete(s);
      if (q) chan__append(&out, &len, &cap, q + 1, strlen(q) - 2); /* without the quotes */
      free(q);
      break;
    }
    p = close + 2;
  }
  return out;
}

static int chan__template(const struct dg_channel *ch, const struct chan_msg *m, const char *raw, int64_t id,
                          struct chan_req *r)
{
  char idtext[24];
  snprintf(idtext, sizeof idtext, "%lld", (long long)id);
  const char *vars[] = {"id", idtext, "text", m->text, "title", m->title, "link", m->link, "phone", m->phone,
                        "email", m->email, "name", m->name, "template", ch->template_code, "body", raw, NULL};
  bool json = ch->body_template[0] == '{' || ch->body_template[0] == '[';
  if (!(r->body = chan_expand(ch->body_template, vars, json))) return -ENOMEM;
  r->body_len = strlen(r->body);
  r->content_type = json ? "application/json; charset=utf-8" : "application/x-www-form-urlencoded";
  return 0;
}

/* ---- MQTT: the message's JSON with its outbox id as the idempotency key ---- */

#define CHAN_MQTT_TOPIC "dualguard/notify/{{person}}"

static int chan__mqtt(const struct dg_channel *ch, struct chan_msg *m, int64_t id, struct chan_req *r)
{
  char idtext[24];
  snprintf(idtext, sizeof idtext, "%lld", (long long)id);
  const char *vars[] = {"person", m->person ? m->person : "all", "channel", ch->id, "id", idtext, NULL};
  if (!(r->topic = chan_expand(ch->topic ? ch->topic : CHAN_MQTT_TOPIC, vars, false))) return -ENOMEM;
  cJSON_DeleteItemFromObjectCaseSensitive(m->root, "id");
  cJSON_DeleteItemFromObjectCaseSensitive(m->root, "idempotency_key");
  cJSON_AddNumberToObject(m->root, "id", (double)id);
  cJSON_AddStringToObject(m->root, "idempotency_key", idtext);
  if (!(r->body = cJSON_PrintUnformatted(m->root))) return -ENOMEM;
  r->body_len = strlen(r->body);
  r->content_type = "application/json; charset=utf-8";
  return 0;
}

/* ---- e-mail ---- */

static int chan__mail(const struct dg_channel *ch, const struct chan_msg *m, int64_t id, int64_t now_ms,
                      struct chan_req *r)
{
  if (!m->email) return -EINVAL;
  char date[64];
  time_t t = (time_t)(now_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  char *subject = chan_rfc2047(m->title);
  char *text = chan__text_link(m, NULL);
  char *b64 = text ? chan_base64(text, strlen(text)) : NULL;
  const char *at = strchr(ch->from, '@');
  size_t len = (subject ? strlen(subject) : 0) + (b64 ? strlen(b64) * 78 / 76 : 0) + strlen(ch->from) +
               strlen(m->email) + 512;
  char *msg = subject && b64 ? malloc(len) : NULL;
  if (msg) {
    int n = snprintf(msg, len,
                     "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <outbox-%lld%s>\r\n"
                     "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                     "Content-Transfer-Encoding: base64\r\n\r\n",
                     date, ch->from, m->email, subject, (long long)id, at ? at : "@dualguard.invalid");
    for (size_t off = 0, blen = strlen(b64); off < blen; off += 76)
      n += snprintf(msg + n, len - (size_t)n, "%.76s\r\n", b64 + off);
    r->body_len = (size_t)n;
  }
  free(subject);
  free(text);
  free(b64);
  if (!msg) return -ENOMEM;
  r->body = msg;
  r->smtp = true;
  r->mail_from = strdup(ch->from);
  r->rcpt = strdup(m->email);
  return r->mail_from && r->rcpt ? 0 : -ENOMEM;
}

/* ---- dispatch ---- */

static int chan__headers(const struct dg_channel *ch, int64_t id, struct chan_req *r)
{
  int rc = chan__header(r, "X-Dualguard-Delivery: %lld", NULL, id);
  for (size_t i = 0; !rc && i < ch->n_headers; i++) {
    const char *vars[] = {"secret", ch->secret, NULL};
    char *h = chan_expand(ch->headers[i], vars, false);
    if (!h) return -ENOMEM;
    rc = chan__header(r, "%s", h, 0);
    free(h);
  }
  return rc;
}

/* A plain webhook posts the outbox body as it is: no field of it is read. */
static int chan__plain(const struct dg_channel *ch)
{
  return ch->type == DG_CHANNEL_WEBHOOK && !ch->body_template;
}

int chan_encode(const struct dg_channel *ch, int64_t id, const char *body, int64_t now_ms, struct chan_req *out)
{
  struct chan_msg m = {0};
  memset(out, 0, sizeof *out);
  int rc = chan__plain(ch) ? 0 : chan__parse(body, &m);
  if (rc) return rc;
  switch (ch->type) {
  case DG_CHANNEL_DINGTALK: rc = chan__dingtalk(ch, &m, now_ms, out); break;
  case DG_CHANNEL_WECOM: rc = chan__wecom(ch, &m, out); break;
  case DG_CHANNEL_FEISHU: rc = chan__feishu(ch, &m, now_ms, out); break;
  case DG_CHANNEL_SMTP: rc = chan__mail(ch, &m, id, now_ms, out); break;
  case DG_CHANNEL_MQTT: rc = chan__mqtt(ch, &m, id, out); break;
  case DG_CHANNEL_SMS:
  case DG_CHANNEL_VOICE:
    if (!m.phone) rc = -EINVAL;
    else if (!(rc = chan__template(ch, &m, body, id, out))) out->number = strdup(m.phone);
    break;
  default:
    if (ch->body_template) {
      rc = chan__template(ch, &m, body, id, out);
    } else if ((out->body = strdup(body))) {
      out->body_len = strlen(body);
      out->content_type = "application/json; charset=utf-8";
    } else {
      rc = -ENOMEM;
    }
  }
  cJSON_Delete(m.root);
  if (!rc && !out->smtp && ch->type != DG_CHANNEL_MQTT) rc = chan__headers(ch, id, out);
  if (!rc && !out->url && !(out->url = strdup(ch->url))) rc = -ENOMEM;
  if (rc) chan_req_free(out);
  return rc;
}

void chan_req_free(struct chan_req *r)
{
  free(r->url);
  free(r->body);
  for (size_t i = 0; i < r->n_headers; i++) free(r->headers[i]);
  free(r->mail_from);
  free(r->rcpt);
  free(r->number);
  free(r->topic);
  memset(r, 0, sizeof *r);
}

/* ---- answers ---- */

/* The provider's error code in a 200 answer: DingTalk/WeCom "errcode", Feishu "code" (or the
 * older "StatusCode"). 0 when absent. */
static long chan__errcode(const char *resp, char *msg, size_t len)
{
  cJSON *root = resp ? cJSON_Parse(resp) : NULL;
  long code = 0;
  const char *keys[] = {"errcode", "code", "StatusCode"};
  for (size_t i = 0; root && i < 3; i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, keys[i]);
    if (cJSON_IsNumber(v)) {
      code = (long)v->valuedouble;
      break;
    }
  }
  const char *m = chan__str(root, "errmsg");
  if (!m) m = chan__str(root, "msg");
  snprintf(msg, len, "%s", m ? m : "");
  cJSON_Delete(root);
  return code;
}

static enum chan_verdict chan__robot(const struct dg_channel *ch, const char *resp, char *why, size_t len,
                                     int64_t *min_delay_ms)
{
  char msg[96];
  long code = chan__errcode(resp, msg, sizeof msg);
  if (code == 0) return CHAN_DELIVERED;
  snprintf(why, len, "errcode %ld%s%.80s", code, msg[0] ? ": " : "", msg);
  switch (ch->type) {
  case DG_CHANNEL_DINGTALK: /* 130101 send too fast, 410100 flow-controlled: the robot is throttled */
    if (code == 130101 || code == 410100) return *min_delay_ms = CHAN_THROTTLE_MS, CHAN_RETRY;
    return code == -1 ? CHAN_RETRY : CHAN_GIVE_UP;
  case DG_CHANNEL_WECOM: /* 45009 over the per-minute limit; 93000 bad key; -1 busy */
    if (code == 45009) return *min_delay_ms = 60000, CHAN_RETRY;
    return code == -1 ? CHAN_RETRY : CHAN_GIVE_UP;
  default: /* Feishu: 9499 and 11232 are rate limits */
    if (code == 9499 || code == 11232) return *min_delay_ms = 60000, CHAN_RETRY;
    return CHAN_GIVE_UP;
  }
}

enum chan_verdict chan_verdict(const struct dg_channel *ch, long status, const char *resp, char *why, size_t len,
                               int64_t *min_delay_ms)
{
  *min_delay_ms = 0;
  why[0] = '\0';
  if (ch->type == DG_CHANNEL_MQTT) { /* mqttpub: 1 once the broker's PUBACK arrived */
    if (status == 1) return CHAN_DELIVERED;
    snprintf(why, len, "no PUBACK");
    return CHAN_RETRY;
  }
  if (ch->type == DG_CHANNEL_SMTP) {
    if (status >= 200 && status < 300) return CHAN_DELIVERED;
    snprintf(why, len, "SMTP %ld", status);
    return status >= 500 && status != 552 ? CHAN_GIVE_UP : CHAN_RETRY;
  }
  if (status < 200 || status >= 300) {
    if (status) snprintf(why, len, "HTTP %ld", status);
    if (status == 429) *min_delay_ms = 60000;
    /* A webhook keeps today's behaviour: retried until it expires. */
    bool fatal = status >= 400 && status < 500 && status != 408 && status != 429 && ch->type != DG_CHANNEL_WEBHOOK;
    return fatal ? CHAN_GIVE_UP : CHAN_RETRY;
  }
  if (ch->type == DG_CHANNEL_DINGTALK || ch->type == DG_CHANNEL_WECOM || ch->type == DG_CHANNEL_FEISHU)
    return chan__robot(ch, resp, why, len, min_delay_ms);
  return CHAN_DELIVERED;
}
