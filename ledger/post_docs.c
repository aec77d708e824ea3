#include "post_docs.h"

#include <stdlib.h>
#include <string.h>

#include "doc_page.h"
#include "post_card.h"

/* Whose card it is: a post or a unit, its events and the phone numbers to call. */
struct post_docs__who {
  const char *kind_zh, *kind_en, *name, *id;
  struct dg_event *const *events;
  size_t n_events;
  const struct dg_post_phone *phones;
  size_t n_phones;
};

static const char post_docs__css[] =
  ".doc { width: 190mm; min-height: 275mm; border: 2mm solid var(--band); display: flex; flex-direction: column; }\n"
  ".doc > header { background: var(--band); color: #fff; }\n"
  ".facts { margin-bottom: 3mm; table-layout: fixed; } .facts th { width: 24mm; }\n"
  "section h2 { font-size: 13pt; margin: 3mm 0 1.5mm; border-left: 2mm solid var(--band); padding-left: 2mm; }\n"
  ".ev { margin-bottom: 2.5mm; } .ev th { width: 30mm; } .ev .lv { width: 22mm; }\n"
  ".steps li { font-size: 12pt; margin-bottom: 1mm; }\n"
  ".bottom { display: flex; gap: 5mm; margin-top: auto; padding-top: 3mm; }\n"
  ".phones { flex: 1; border: 0.6mm solid #d32f2f; padding: 2mm 4mm; }\n"
  ".phones ul { list-style: none; margin: 0; padding: 0; } .phones li { font-size: 13pt; }\n"
  ".phones li b { font-size: 16pt; margin-left: 3mm; } .scan { width: 48mm; }\n";

static void post_docs__facts(FILE *f, const struct dg_config *c, const struct post_docs__who *w)
{
  fputs("<table class=\"facts\"><tr><th>单位<span class=\"en\">Company</span></th><td>", f);
  doc_text(f, c->site_name ? c->site_name : c->site_code);
  fprintf(f, "</td><th>%s<span class=\"en\">%s</span></th><td>", w->kind_zh, w->kind_en);
  doc_text(f, w->name ? w->name : w->id);
  fputs("</td></tr></table>\n", f);
}

static int post_docs__bottom(FILE *f, const struct post_docs__who *w, const char *url)
{
  fputs("<section class=\"bottom\"><div class=\"phones\"><h2>应急电话 <span class=\"en\">Emergency phone numbers</span>"
        "</h2><ul>", f);
  for (size_t i = 0; i < w->n_phones; i++) {
    fputs("<li>", f);
    doc_text(f, w->phones[i].name);
    fputs("<b>", f);
    doc_text(f, w->phones[i].phone);
    fputs("</b></li>", f);
  }
  if (!w->n_phones) fputs("<li>—</li>", f);
  fputs("</ul></div>", f);
  if (url) {
    fputs("<div class=\"scan\">", f);
    if (doc_qr_svg(f, url)) return -1;
    fputs("扫码查看本岗位的卡片、上报隐患<br>Scan: the cards, report a hazard<div class=\"url\">", f);
    doc_text(f, url);
    fputs("</div></div>", f);
  }
  fputs("</section>\n", f);
  return 0;
}

static void post_docs__footer(FILE *f, const struct post_docs__who *w, int64_t now_ms)
{
  char date[32];
  doc_date(now_ms, date, sizeof date);
  fprintf(f, "<footer><span>%s编号 %s id: ", w->kind_zh, w->kind_en);
  doc_text(f, w->id);
  fprintf(f, "</span><span>打印日期 Printed %s · 由安全风险模型生成</span></footer>\n", date);
}

/* One event's head row: name, unit, level, possible accident. */
static void post_docs__event_head(FILE *f, const struct dg_event *e)
{
  fputs("<tr><th>风险事件<span class=\"en\">Risk event</span></th><td><b>", f);
  doc_text(f, e->name ? e->name : e->id);
  fputs("</b> <span class=\"en\">", f);
  doc_text(f, e->unit->name ? e->unit->name : e->unit->id);
  fputs("</span></td>", f);
  doc_level_cell(f, e->level);
  fputs("</tr><tr><th>可能导致的事故<span class=\"en\">Possible accident</span></th><td colspan=\"2\">", f);
  doc_text(f, e->accident_type);
  fputs("</td></tr>", f);
}

/* The body of a card between its facts and its bottom. */
typedef void (*post_docs__body_fn)(FILE *f, const struct post_docs__who *w, const struct dg_post *p);

/* A card page: head, title band, facts, body, phones and QR code, footer. */
static char *post_docs__page(const struct dg_config *c, const struct post_docs__who *w, const struct dg_post *p,
                             const char *const title[3], post_docs__body_fn body, const char *url, int64_t now_ms)
{
  char *buf;
  size_t len;
  FILE *f = doc_page_open(&buf, &len);
  if (!f) return NULL;
  doc_page_head(f, title[0], w->name ? w->name : w->id, "A4 portrait", post_docs__css);
  fprintf(f, "<div class=\"doc\" style=\"--band:%s\"><header><h1>%s</h1><div class=\"en\">%s</div></header>\n", title[2],
          title[0], title[1]);
  post_docs__facts(f, c, w);
  body(f, w, p);
  int rc = post_docs__bottom(f, w, url);
  post_docs__footer(f, w, now_ms);
  fputs("</div>\n", f);
  doc_page_tail(f);
  return doc_page_close(f, &buf, rc);
}

static void post_docs__emergency_body(FILE *f, const struct post_docs__who *w, const struct dg_post *p)
{
  (void)p;
  for (size_t i = 0; i < w->n_events; i++) {
    fputs("<table class=\"ev\">", f);
    post_docs__event_head(f, w->events[i]);
    fputs("<tr><th>处置步骤<span class=\"en\">What to do, in order</span></th><td colspan=\"2\" class=\"steps\">", f);
    post_card_steps(f, w->events[i]);
    fputs("</td></tr></table>\n", f);
  }
  if (!w->n_events) fputs("<p>未关联风险事件 (no risk events)</p>", f);
}

static char *post_docs__emergency(const struct dg_config *c, const struct post_docs__who *w, const char *url,
                                  int64_t now_ms)
{
  static const char *const title[3] = {"应急处置卡", "EMERGENCY RESPONSE CARD", "#c62828"};
  return post_docs__page(c, w, NULL, title, post_docs__emergency_body, url, now_ms);
}

static void post_docs__duties(FILE *f, const struct dg_post *p)
{
  fputs("<section><h2>岗位职责 <span class=\"en\">Duties</span></h2>", f);
  for (size_t i = 0; i < p->n_duties; i++) {
    fputs(i ? "<li>" : "<ol><li>", f);
    doc_text(f, p->duties[i]);
    fputs("</li>", f);
  }
  fputs(p->n_duties ? "</ol>" : "<p>—</p>", f);
  fputs("</section>\n", f);
}

/* 应会: the measures the post carries out (inspected ones with what to check). */
static void post_docs__checks(FILE *f, const struct dg_event *e)
{
  int n = 0;
  for (size_t i = 0; i < e->n_measures; i++) {
    const struct dg_measure *m = &e->measures[i];
    if (m->classify1 == 4) continue;
    fputs(n++ ? "<li>" : "<ol><li>", f);
    doc_text(f, m->desc);
    if (m->troubleshoot) {
      fputs("<span class=\"sub\">检查：", f);
      doc_text(f, m->troubleshoot);
      fputs("</span>", f);
    }
    fputs("</li>", f);
  }
  fputs(n ? "</ol>" : "—", f);
}

static void post_docs__knowledge_body(FILE *f, const struct post_docs__who *w, const struct dg_post *p)
{
  (void)w;
  post_docs__duties(f, p);
  fputs("<section><h2>应知：岗位风险 <span class=\"en\">Know: the risks of the post</span></h2>", f);
  for (size_t i = 0; i < p->n_events; i++) {
    const struct dg_event *e = p->events[i];
    fputs("<table class=\"ev\">", f);
    post_docs__event_head(f, e);
    fputs("<tr><th>应会：管控措施<span class=\"en\">Do: control measures</span></th><td colspan=\"2\">", f);
    post_docs__checks(f, e);
    fputs("</td></tr><tr><th>应会：应急处置<span class=\"en\">Do: in an emergency</span></th><td colspan=\"2\">", f);
    post_card_steps(f, e);
    fputs("</td></tr></table>\n", f);
  }
  if (!p->n_events) fputs("<p>本岗位未关联风险事件 (no risk events linked to this post)</p>", f);
  fputs("</section>\n", f);
}

char *post_docs_knowledge_html(const struct dg_config *c, const struct dg_post *p, const char *url, int64_t now_ms)
{
  static const char *const title[3] = {"应知应会卡", "WHAT THIS POST MUST KNOW AND DO", "#1565c0"};
  struct post_docs__who w = {"岗位", "Post", p->name, p->id, p->events, p->n_events, p->phones, p->n_phones};
  return post_docs__page(c, &w, p, title, post_docs__knowledge_body, url, now_ms);
}

char *post_docs_emergency_html(const struct dg_config *c, const struct dg_post *p, const char *url, int64_t now_ms)
{
  struct post_docs__who w = {"岗位", "Post", p->name, p->id, p->events, p->n_events, p->phones, p->n_phones};
  return post_docs__emergency(c, &w, url, now_ms);
}

/* A unit's card: its events, and the phone numbers of the first post working in it. */
char *post_docs_unit_emergency_html(const struct dg_config *c, const struct dg_unit *u, int64_t now_ms)
{
  struct dg_event **evs = calloc(u->n_events + 1, sizeof *evs);
  if (!evs) return NULL;
  for (size_t i = 0; i < u->n_events; i++) evs[i] = &u->events[i];
  struct post_docs__who w = {"风险单元", "Unit", u->name, u->id, evs, u->n_events, NULL, 0};
  for (size_t i = 0; i < c->n_posts && !w.n_phones; i++)
    for (size_t k = 0; k < c->posts[i].n_units; k++)
      if (c->posts[i].units[k] == u) {
        w.phones = c->posts[i].phones;
        w.n_phones = c->posts[i].n_phones;
      }
  char *page = post_docs__emergency(c, &w, NULL, now_ms);
  free(evs);
  return page;
}
