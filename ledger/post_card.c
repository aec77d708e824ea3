#include "post_card.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "doc_page.h"
#include "emergency.h"
#include "report.h"

int post_card_url(const char *base, const char *post_id, char *out, size_t len)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t blen = strlen(base);
  while (blen && base[blen - 1] == '/') blen--;
  int n = snprintf(out, len, "%.*s/api/v1/posts/", (int)blen, base);
  if (n < 0 || (size_t)n >= len) return -ENOSPC;
  size_t at = (size_t)n;
  for (const unsigned char *s = (const unsigned char *)post_id; *s; s++) {
    int plain = (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr("-._~", *s);
    if (at + (plain ? 1 : 3) >= len) return -ENOSPC;
    if (plain) {
      out[at++] = (char)*s;
    } else {
      out[at++] = '%';
      out[at++] = hex[*s >> 4];
      out[at++] = hex[*s & 15];
    }
  }
  if (at + sizeof "/card" > len) return -ENOSPC;
  memcpy(out + at, "/card", sizeof "/card");
  return 0;
}

static const char post_card__style[] =
  "<style>\n"
  "@page { size: A4 portrait; margin: 10mm; }\n"
  "* { box-sizing: border-box; }\n"
  "body { margin: 0; font-family: 'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'Microsoft YaHei',"
  " sans-serif; color: #111; font-size: 10.5pt; line-height: 1.45; }\n"
  ".card { width: 190mm; min-height: 275mm; margin: 0 auto; border: 2.5mm solid var(--lv); padding: 5mm;"
  " display: flex; flex-direction: column; -webkit-print-color-adjust: exact; print-color-adjust: exact; }\n"
  "header { background: var(--lv); color: var(--lvfg); text-align: center; padding: 3mm 0 2.5mm; margin: -5mm -5mm 4mm; }\n"
  "header h1 { margin: 0; font-size: 26pt; letter-spacing: 0.3em; font-weight: 700; }\n"
  "header .en { font-size: 10pt; letter-spacing: 0.1em; }\n"
  "table { width: 100%; border-collapse: collapse; }\n"
  "th, td { border: 0.3mm solid #444; padding: 1.5mm 2mm; vertical-align: top; text-align: left; }\n"
  "th { background: #eceff1; font-weight: 700; white-space: nowrap; }\n"
  "th .en, .sub { display: block; font-weight: 400; font-size: 7.5pt; color: #555; }\n"
  ".info { margin-bottom: 4mm; table-layout: fixed; } .info th { width: 24mm; }\n"
  ".risks { table-layout: fixed; } .risks th { text-align: center; }\n"
  ".risks .c-ev { width: 32mm; } .risks .c-lv { width: 20mm; } .risks .c-acc { width: 31mm; }\n"
  ".risks td ol { margin: 0; padding-left: 5mm; }\n"
  ".lv { text-align: center; font-weight: 700; white-space: nowrap; width: 20mm;"
  " -webkit-print-color-adjust: exact; print-color-adjust: exact; }\n"
  ".bottom { display: flex; gap: 5mm; margin-top: auto; padding-top: 4mm; align-items: stretch; }\n"
  ".phones { flex: 1; border: 0.6mm solid #d32f2f; padding: 3mm 4mm; }\n"
  ".phones h2, .scan h2 { margin: 0 0 2mm; font-size: 13pt; }\n"
  ".phones li { font-size: 14pt; } .phones li b { font-size: 17pt; margin-left: 3mm; }\n"
  ".phones ul { list-style: none; margin: 0; padding: 0; }\n"
  ".scan { width: 52mm; text-align: center; font-size: 8.5pt; }\n"
  ".scan svg { width: 40mm; height: 40mm; display: block; margin: 0 auto 1mm; }\n"
  ".scan .url { word-break: break-all; color: #444; font-size: 7pt; }\n"
  "footer { margin-top: 3mm; font-size: 8pt; color: #555; display: flex; justify-content: space-between; }\n"
  "@media screen and (max-width: 700px) {\n"
  "  .card { width: auto; min-height: 0; border-width: 2mm; }\n"
  "  header h1 { font-size: 20pt; letter-spacing: 0.1em; }\n"
  "  .info, .info tbody, .risks, .risks tbody { display: block; } .risks thead, .risks colgroup { display: none; }\n"
  "  .info tr { display: grid; grid-template-columns: 24mm 1fr; } .info th, .info td { width: auto; }\n"
  "  .risks tr, .risks td { display: block; width: auto; border: 0; }\n"
  "  .risks td.lv { display: inline-block; margin: 0 2mm 1mm; padding: 0.5mm 3mm; }\n"
  "  .risks tr { border: 0.3mm solid #444; margin-bottom: 3mm; }\n"
  "  .risks td[data-h]::before { content: attr(data-h); display: block; font-weight: 700; color: #333; }\n"
  "  .bottom { flex-direction: column; } .scan { width: auto; }\n"
  "}\n"
  "</style>\n";

static void post_card__text(FILE *f, const char *s) { report_html_text(f, s ? s : ""); }

static enum dg_level post_card__level(const struct dg_post *p)
{
  enum dg_level top = DG_LEVEL_NONE;
  for (size_t i = 0; i < p->n_events; i++)
    if (p->events[i]->level > top) top = p->events[i]->level;
  return top;
}

static void post_card__names(FILE *f, struct dg_person *const *v, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (i) fputs("、", f);
    post_card__text(f, v[i]->name ? v[i]->name : v[i]->id);
  }
  if (!n) fputs("—", f);
}

static void post_card__info(FILE *f, const struct dg_config *c, const struct dg_post *p, enum dg_level top)
{
  fputs("<table class=\"info\"><tr><th>单位<span class=\"en\">Company</span></th><td>", f);
  post_card__text(f, c->site_name ? c->site_name : c->site_code);
  fputs("</td><th>岗位<span class=\"en\">Post</span></th><td>", f);
  post_card__text(f, p->name ? p->name : p->id);
  fputs("</td></tr><tr><th>作业区域<span class=\"en\">Work area</span></th><td>", f);
  for (size_t i = 0; i < p->n_units; i++) {
    if (i) fputs("、", f);
    post_card__text(f, p->units[i]->name ? p->units[i]->name : p->units[i]->id);
  }
  fprintf(f, "</td><th>风险等级<span class=\"en\">Risk level</span></th><td class=\"lv\" style=\"background:%s;color:%s\">",
          doc_level_colour(top), top == DG_LEVEL_YELLOW ? "#111" : "#fff");
  post_card__text(f, dg_level_name_zh(top));
  fputs("</td></tr><tr><th>岗位人员<span class=\"en\">Staff</span></th><td>", f);
  post_card__names(f, p->persons, p->n_persons);
  fputs("</td><th>代岗人员<span class=\"en\">Deputies</span></th><td>", f);
  post_card__names(f, p->deputies, p->n_deputies);
  fputs("</td></tr></table>\n", f);
}

/* The control measures of event `e` (every classify but 4 应急措施). */
static void post_card__measures(FILE *f, const struct dg_event *e)
{
  int n = 0;
  for (size_t i = 0; i < e->n_measures; i++) {
    const struct dg_measure *m = &e->measures[i];
    if (m->classify1 == 4 || !m->desc) continue;
    fputs(n++ ? "<li>" : "<ol><li>", f);
    post_card__text(f, m->desc);
    fputs("</li>", f);
  }
  fputs(n ? "</ol>" : "—", f);
}

void post_card_steps(FILE *f, const struct dg_event *e)
{
  const char *steps[32];
  size_t n = emergency_steps(e, steps, sizeof steps / sizeof steps[0]);
  for (size_t i = 0; i < n; i++) {
    fputs(i ? "<li>" : "<ol><li>", f);
    post_card__text(f, steps[i]);
    fputs("</li>", f);
  }
  fputs(n ? "</ol>" : "—", f);
}

static void post_card__risks(FILE *f, const struct dg_post *p)
{
  fputs("<table class=\"risks\"><colgroup><col class=\"c-ev\"><col class=\"c-lv\"><col class=\"c-acc\"><col><col>"
        "</colgroup><thead><tr><th>风险事件<span class=\"en\">Risk</span></th>"
        "<th>风险等级<span class=\"en\">Level</span></th><th>可能导致的事故<span class=\"en\">Possible accident</span></th>"
        "<th>管控措施<span class=\"en\">Control measures</span></th><th>应急处置<span class=\"en\">Emergency actions</span>"
        "</th></tr></thead><tbody>\n", f);
  for (size_t i = 0; i < p->n_events; i++) {
    const struct dg_event *e = p->events[i];
    fputs("<tr><td data-h=\"风险事件\"><b>", f);
    post_card__text(f, e->name ? e->name : e->id);
    fputs("</b><span class=\"sub\">", f);
    post_card__text(f, e->unit->name ? e->unit->name : e->unit->id);
    fprintf(f, "</span></td><td class=\"lv\" style=\"background:%s;color:%s\">", doc_level_colour(e->level),
            e->level == DG_LEVEL_YELLOW ? "#111" : "#fff");
    post_card__text(f, dg_level_name_zh(e->level));
    fputs("</td><td data-h=\"可能导致的事故\">", f);
    post_card__text(f, e->accident_type ? e->accident_type : "—");
    fputs("</td><td data-h=\"管控措施\">", f);
    post_card__measures(f, e);
    fputs("</td><td data-h=\"应急处置\">", f);
    post_card_steps(f, e);
    fputs("</td></tr>\n", f);
  }
  if (!p->n_events) fputs("<tr><td colspan=\"5\">本岗位未关联风险事件 (no risk events linked to this post)</td></tr>", f);
  fputs("</tbody></table>\n", f);
}

static int post_card__bottom(FILE *f, const struct dg_post *p, const char *url)
{
  fputs("<section class=\"bottom\"><div class=\"phones\"><h2>应急电话 <span class=\"sub\" style=\"display:inline\">"
        "Emergency phone numbers</span></h2><ul>", f);
  for (size_t i = 0; i < p->n_phones; i++) {
    fputs("<li>", f);
    post_card__text(f, p->phones[i].name);
    fputs("<b>", f);
    post_card__text(f, p->phones[i].phone);
    fputs("</b></li>", f);
  }
  if (!p->n_phones) fputs("<li>—</li>", f);
  fputs("</ul></div><div class=\"scan\">", f);
  if (doc_qr_svg(f, url)) return -1;
  fputs("扫码查看本岗位风险告知卡<br>Scan for this card on your phone<div class=\"url\">", f);
  post_card__text(f, url);
  fputs("</div></div></section>\n", f);
  return 0;
}

char *post_card_html(const struct dg_config *c, const struct dg_post *p, const char *url, int64_t now_ms)
{
  char *buf = NULL, date[32] = "";
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  enum dg_level top = post_card__level(p);
  time_t t = (time_t)(now_ms / 1000);
  struct tm tm;
  if (localtime_r(&t, &tm)) strftime(date, sizeof date, "%Y-%m-%d", &tm);
  fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>岗位风险告知卡 · ", f);
  post_card__text(f, p->name ? p->name : p->id);
  fprintf(f, "</title>\n%s</head><body><div class=\"card\" style=\"--lv:%s;--lvfg:%s\">\n", post_card__style,
          doc_level_colour(top), top == DG_LEVEL_YELLOW ? "#111" : "#fff");
  fputs("<header><h1>岗位风险告知卡</h1><div class=\"en\">POST RISK NOTICE CARD</div></header>\n", f);
  post_card__info(f, c, p, top);
  post_card__risks(f, p);
  int rc = post_card__bottom(f, p, url);
  fputs("<footer><span>岗位编号 Post id: ", f);
  post_card__text(f, p->id);
  fprintf(f, "</span><span>打印日期 Printed %s · 本卡由安全风险模型生成</span></footer>\n</div></body></html>\n", date);
  if (fclose(f) || rc) {
    free(buf);
    return NULL;
  }
  return buf;
}
