#include "esc_text.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void esc_fmt_value(char *buf, size_t len, double v)
{
  double a = fabs(v);
  int decimals = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : a == 0 ? 0 : 2 - (int)floor(log10(a));
  if (decimals > 6) decimals = 6;
  snprintf(buf, len, "%.*f", decimals, v);
  if (strchr(buf, '.')) {
    char *end = buf + strlen(buf) - 1;
    while (*end == '0') *end-- = '\0';
    if (*end == '.') *end = '\0';
  }
  if (!strcmp(buf, "-0")) snprintf(buf, len, "0");
}

static const char *esc__s(const cJSON *o, const char *k)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *esc__prio_zh(const char *p)
{
  static const char *const en[] = {"low", "medium", "high", "critical"}, *const zh[] = {"低", "中", "高", "紧急"};
  for (int i = 0; p && i < 4; i++)
    if (!strcmp(p, en[i])) return zh[i];
  return p ? p : "-";
}

static const char *esc__level_zh(const char *l)
{
  static const char *const en[] = {"blue", "yellow", "orange", "red"}, *const zh[] = {"蓝", "黄", "橙", "红"};
  for (int i = 0; l && i < 4; i++)
    if (!strcmp(l, en[i])) return zh[i];
  return NULL;
}

static const char *esc__event_zh(enum esc_event ev)
{
  switch (ev) {
  case ESC_EV_ALARM_ESCALATE: return "报警升级";
  case ESC_EV_ALARM_RTN: return "报警恢复";
  case ESC_EV_ALARM_ACK: return "报警已确认";
  case ESC_EV_HAZARD_OPENED: return "隐患整改通知";
  case ESC_EV_MAJOR_HAZARD_OPENED: return "重大隐患";
  case ESC_EV_HAZARD_SUBMITTED: return "隐患待验收";
  case ESC_EV_HAZARD_OVERDUE: return "隐患超期";
  case ESC_EV_INSPECTION_MISSED: return "排查未完成";
  case ESC_EV_DRIVER_FAULT: return "通信故障";
  default: return "报警";
  }
}

static const char *esc__event_en(enum esc_event ev)
{
  switch (ev) {
  case ESC_EV_ALARM_ESCALATE: return "Alarm escalated";
  case ESC_EV_ALARM_RTN: return "Alarm cleared";
  case ESC_EV_ALARM_ACK: return "Alarm acknowledged";
  case ESC_EV_HAZARD_OPENED: return "Hazard to rectify";
  case ESC_EV_MAJOR_HAZARD_OPENED: return "MAJOR hazard";
  case ESC_EV_HAZARD_SUBMITTED: return "Hazard to accept";
  case ESC_EV_HAZARD_OVERDUE: return "Hazard overdue";
  case ESC_EV_INSPECTION_MISSED: return "Inspection missed";
  case ESC_EV_DRIVER_FAULT: return "Communication fault";
  default: return "Alarm";
  }
}

/* "MM-DD HH:MM" local time of ctx[key] (epoch ms), or "" when absent. */
static void esc__when(const cJSON *ctx, const char *key, int32_t utc_offset_min, char *buf, size_t len)
{
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(ctx, key);
  buf[0] = '\0';
  if (!cJSON_IsNumber(j)) return;
  time_t t = (time_t)((int64_t)j->valuedouble / 1000 + (int64_t)utc_offset_min * 60);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, len, "%m-%d %H:%M", &tm);
}

int esc_text_alarm(const cJSON *ctx, enum esc_event ev, uint32_t tier, enum esc_lang lang, int32_t utc_offset_min,
                   char **title, char **text)
{
  char value[32] = "-", limit[32] = "", when[32], due[32], hz[160] = "";
  const cJSON *jv = cJSON_GetObjectItemCaseSensitive(ctx, "value"), *jl = cJSON_GetObjectItemCaseSensitive(ctx, "limit");
  if (cJSON_IsNumber(jv)) esc_fmt_value(value, sizeof value, jv->valuedouble);
  if (cJSON_IsNumber(jl)) esc_fmt_value(limit, sizeof limit, jl->valuedouble);
  esc__when(ctx, "ts_ms", utc_offset_min, when, sizeof when);
  esc__when(ctx, "deadline_ms", utc_offset_min, due, sizeof due);
  const char *site = esc__s(ctx, "site"), *unit = esc__s(ctx, "unit_name"), *point = esc__s(ctx, "point_name");
  const char *eu = esc__s(ctx, "eng_unit"), *stage = esc__s(ctx, "stage"), *prio = esc__s(ctx, "priority");
  const char *level = esc__s(ctx, "level"), *liable = esc__s(ctx, "liable_name"), *todo = esc__s(ctx, "todo");
  const char *hazard = esc__s(ctx, "hazard_code");
  int en = lang == ESC_LANG_EN;
  if (!unit) unit = esc__s(ctx, "unit");
  if (!point) point = esc__s(ctx, "point");
  if (hazard)
    snprintf(hz, sizeof hz, en ? " | hazard %s%s%s" : " 隐患 %s%s%s", hazard, due[0] ? (en ? ", rectify by " : " 整改期限 ") : "",
             due);
  char head[512], body[1536];
  if (en) {
    snprintf(head, sizeof head, "[%s%s%s] %s %s", prio ? prio : "-", level ? "/" : "", level ? level : "",
             esc__event_en(ev), point ? point : "");
    snprintf(body, sizeof body, "%s %s %s: %s%s%s%s%s (%s)\n%s | tier %u%s%s%s%s%s", site ? site : "", unit ? unit : "",
             point ? point : "", value, eu ? " " : "", eu ? eu : "", limit[0] ? ", limit " : "", limit, stage ? stage : "-",
             when, tier + 1, liable ? " | liable: " : "", liable ? liable : "", hz, todo ? "\nDo now: " : "", todo ? todo : "");
  } else {
    const char *lz = esc__level_zh(level);
    snprintf(head, sizeof head, "【%s·%s%s%s】%s", esc__event_zh(ev), esc__prio_zh(prio), lz ? "·" : "", lz ? lz : "",
             point ? point : "");
    snprintf(body, sizeof body, "%s %s %s：%s%s%s%s%s（%s）\n%s 第%u级通知%s%s%s%s%s", site ? site : "", unit ? unit : "",
             point ? point : "", value, eu ? " " : "", eu ? eu : "", limit[0] ? "，限值 " : "", limit, stage ? stage : "-",
             when, tier + 1, liable ? " 责任人：" : "", liable ? liable : "", hz, todo ? "\n处置：" : "", todo ? todo : "");
  }
  *title = strdup(head);
  *text = strdup(body);
  if (*title && *text) return 0;
  free(*title);
  free(*text);
  return -ENOMEM;
}

int esc_text_hazard(const cJSON *ctx, enum esc_event ev, uint32_t tier, enum esc_lang lang, int32_t utc_offset_min,
                    char **title, char **text)
{
  char when[32], due[32], what[64] = "";
  esc__when(ctx, "ts_ms", utc_offset_min, when, sizeof when);
  esc__when(ctx, "deadline_ms", utc_offset_min, due, sizeof due);
  if (!due[0]) esc__when(ctx, "due_ms", utc_offset_min, due, sizeof due);
  const char *site = esc__s(ctx, "site"), *unit = esc__s(ctx, "unit_name"), *prio = esc__s(ctx, "priority");
  const char *level = esc__s(ctx, "level"), *liable = esc__s(ctx, "liable_name"), *todo = esc__s(ctx, "todo");
  const char *code = esc__s(ctx, "hazard_code"), *desc = esc__s(ctx, "description"), *measure = esc__s(ctx, "measure");
  const cJSON *task = cJSON_GetObjectItemCaseSensitive(ctx, "task");
  int en = lang == ESC_LANG_EN;
  if (!unit) unit = esc__s(ctx, "unit");
  if (code) snprintf(what, sizeof what, "%s", code);
  else if (cJSON_IsNumber(task)) snprintf(what, sizeof what, en ? "task %lld" : "任务 %lld", (long long)task->valuedouble);
  char head[256], body[1536];
  if (en) {
    snprintf(head, sizeof head, "[%s%s%s] %s %s", prio ? prio : "-", level ? "/" : "", level ? level : "",
             esc__event_en(ev), what);
    snprintf(body, sizeof body, "%s %s%s%s: %s\n%s%s%s%s%s | tier %u%s%s%s%s", site ? site : "", unit ? unit : "",
             measure ? " measure " : "", measure ? measure : "", desc ? desc : "", when, code ? " | hazard " : "",
             code ? code : "", due[0] ? (code ? ", rectify by " : " | due ") : "", due, tier + 1, liable ? " | liable: " : "",
             liable ? liable : "", todo ? "\nDo now: " : "", todo ? todo : "");
  } else {
    const char *lz = esc__level_zh(level);
    snprintf(head, sizeof head, "【%s·%s%s%s】%s", esc__event_zh(ev), esc__prio_zh(prio), lz ? "·" : "", lz ? lz : "", what);
    snprintf(body, sizeof body, "%s %s%s%s：%s\n%s%s%s%s%s 第%u级通知%s%s%s%s", site ? site : "", unit ? unit : "",
             measure ? " 措施 " : "", measure ? measure : "", desc ? desc : "", when, code ? " 隐患 " : "", code ? code : "",
             due[0] ? (code ? " 整改期限 " : " 应完成于 ") : "", due, tier + 1, liable ? " 责任人：" : "",
             liable ? liable : "", todo ? "\n处置：" : "", todo ? todo : "");
  }
  *title = strdup(head);
  *text = strdup(body);
  if (*title && *text) return 0;
  free(*title);
  free(*text);
  return -ENOMEM;
}
