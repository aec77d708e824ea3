#include "message.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "describe.h"
#include "emergency.h"
#include "log.h"

static const char *message__event_zh(enum alarm_event ev)
{
  switch (ev) {
  case ALARM_EV_ACTIVATE: return "报警";
  case ALARM_EV_ESCALATE: return "报警升级";
  case ALARM_EV_DEESCALATE: return "报警降级";
  case ALARM_EV_CLEAR: return "报警恢复";
  case ALARM_EV_ACK: return "报警确认";
  case ALARM_EV_UNSHELVE: return "报警解除搁置";
  case ALARM_EV_RETURN_TO_SERVICE: return "报警恢复投用";
  default: return "";
  }
}

static const char *message__priority_zh(enum dg_priority p)
{
  static const char *const names[] = {"", "低", "中", "高", "紧急"};
  return names[p];
}

static void message__add_text(cJSON *o, const char *k, const char *v)
{
  if (v) cJSON_AddStringToObject(o, k, v);
  else cJSON_AddNullToObject(o, k);
}

/* The texts of the message; an activation adds what to do now (emergency.h), as "todo" too. */
static void message__body_texts(cJSON *root, const struct alarm_transition *tr, const struct alarm *a)
{
  char cond_zh[400], cond_en[400], zh[512 + EMERGENCY_TODO_MAX], en[512 + EMERGENCY_TODO_MAX], todo[EMERGENCY_TODO_MAX];
  describe_condition(a->rule, tr->stage, tr->value, cond_zh, sizeof cond_zh, cond_en, sizeof cond_en);
  if (tr->stage >= 0) {
    snprintf(zh, sizeof zh, "【%s】%s，优先级：%s", message__event_zh(tr->event), cond_zh,
             message__priority_zh(tr->priority));
    snprintf(en, sizeof en, "[%s] %s, priority %s", alarm_event_name(tr->event), cond_en,
             dg_priority_name(tr->priority));
  } else {
    snprintf(zh, sizeof zh, "【%s】%s", message__event_zh(tr->event), cond_zh);
    snprintf(en, sizeof en, "[%s] %s", alarm_event_name(tr->event), cond_en);
  }
  if (tr->stage >= 0 && emergency_todo(a->rule->measure, todo, sizeof todo) != -ENOENT) {
    size_t zl = strlen(zh), el = strlen(en);
    snprintf(zh + zl, sizeof zh - zl, "\n处置：%s", todo);
    snprintf(en + el, sizeof en - el, "\nDo now: %s", todo);
    cJSON_AddStringToObject(root, "todo", todo);
  }
  cJSON_AddStringToObject(root, "text_zh", zh);
  cJSON_AddStringToObject(root, "text_en", en);
}

static void message__body_plant(const struct dg_config *cfg, cJSON *root, const struct dg_rule *r)
{
  const struct dg_measure *m = r->measure;
  const struct dg_event *ev = m ? m->event : NULL;
  const struct dg_unit *unit = ev ? ev->unit : NULL;
  if (!unit && r->point->unit_id) unit = dg_config_unit(cfg, r->point->unit_id);
  if (m) {
    cJSON *jm = cJSON_AddObjectToObject(root, "measure");
    message__add_text(jm, "id", m->id);
    message__add_text(jm, "desc", m->desc);
  }
  if (unit) {
    cJSON *ju = cJSON_AddObjectToObject(root, "unit");
    message__add_text(ju, "id", unit->id);
    message__add_text(ju, "name", unit->name);
    message__add_text(ju, "level", dg_level_name(unit->level));
    message__add_text(ju, "liable_person", unit->person);
    if (unit->source) {
      cJSON *js = cJSON_AddObjectToObject(root, "hazard_source");
      message__add_text(js, "id", unit->source->id);
      message__add_text(js, "name", unit->source->name);
      cJSON_AddBoolToObject(js, "major", unit->source->is_major);
    }
  }
}

char *message_alarm_body(const struct dg_config *cfg, const struct alarm *a, const struct alarm_transition *tr,
                         const struct hazard_change *hc)
{
  const struct dg_rule *r = a->rule;
  const char *tr_stage = tr->stage >= 0 ? r->stages[tr->stage].name : NULL;
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "kind", "alarm");
  cJSON_AddStringToObject(root, "event", alarm_event_name(tr->event));
  cJSON_AddNumberToObject(root, "ts_ms", (double)tr->ts_ms);
  cJSON *site = cJSON_AddObjectToObject(root, "site");
  message__add_text(site, "code", cfg->site_code);
  message__add_text(site, "name", cfg->site_name);
  cJSON *ja = cJSON_AddObjectToObject(root, "alarm");
  cJSON_AddNumberToObject(ja, "id", (double)a->id);
  message__add_text(ja, "rule", r->id);
  message__add_text(ja, "rule_name", r->name);
  message__add_text(ja, "state", alarm_state_name(tr->to));
  message__add_text(ja, "stage", tr_stage);
  message__add_text(ja, "priority", tr->priority ? dg_priority_name(tr->priority) : NULL);
  if (tr->stage >= 0) cJSON_AddNumberToObject(ja, "limit", r->stages[tr->stage].limit);
  cJSON_AddNumberToObject(ja, "value", tr->value);
  cJSON *jp = cJSON_AddObjectToObject(root, "point");
  message__add_text(jp, "id", r->point->id);
  message__add_text(jp, "name", r->point->name);
  message__add_text(jp, "eng_unit", r->point->eng_unit);
  message__body_plant(cfg, root, r);
  if (hc->kind != HAZARD_NONE) {
    cJSON *jh = cJSON_AddObjectToObject(root, "hazard");
    cJSON_AddNumberToObject(jh, "id", (double)hc->hazard_id);
    cJSON_AddStringToObject(jh, "code", hc->code);
    cJSON_AddBoolToObject(jh, "new", hc->kind == HAZARD_OPEN);
  }
  message__body_texts(root, tr, a);
  char *s = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  return s;
}

static int message__has_channel(const struct notify_msg *list, const char *id)
{
  for (; list; list = list->next)
    if (strcmp(list->channel, id) == 0) return 1;
  return 0;
}

void message_alarm_build(struct notify *n, const struct dg_config *cfg, const struct alarm *a,
                         const struct alarm_transition *tr, const struct hazard_change *hc, int64_t journal_id,
                         struct notify_msg **list)
{
  enum alarm_event ev = tr->event;
  /* An alarm back in annunciation with its condition active is announced like an activation. */
  int resumed = (ev == ALARM_EV_UNSHELVE || ev == ALARM_EV_RETURN_TO_SERVICE || ev == ALARM_EV_UNSUPPRESS) &&
                tr->to == ALARM_UNACK;
  if (ev != ALARM_EV_ACTIVATE && ev != ALARM_EV_ESCALATE && ev != ALARM_EV_CLEAR && !resumed) return;
  if (alarm_is_silenced(a)) return;
  char ref[96];
  snprintf(ref, sizeof ref, "alarm:%lld:journal:%lld", (long long)a->id, (long long)journal_id);
  const char *built = NULL; /* the same body for every channel: built once, copied for the others */
  for (size_t i = 0; i < cfg->n_policies; i++) {
    const struct dg_policy *pol = &cfg->policies[i];
    if (!(pol->priority_mask & (1u << tr->priority))) continue;
    for (size_t k = 0; k < pol->n_channels; k++) {
      const struct dg_channel *ch = pol->channels[k];
      if (message__has_channel(*list, ch->id)) continue;
      char *body = built ? strdup(built) : message_alarm_body(cfg, a, tr, hc);
      struct notify_msg *m = body ? notify_msg_new(n, ch, ref, body, tr->ts_ms) : NULL;
      if (!m) {
        DG_ERR("engine", "out of memory building a notification");
        continue;
      }
      if (!built) built = m->body;
      m->next = *list;
      *list = m;
    }
  }
}
