#include "board.h"

#include <stdlib.h>
#include <string.h>

#include "doc_page.h"

#define BOARD_MAIN_RISKS 3 /* events named per unit: the board is read from across a room */
#define BOARD_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char board__css[] =
  ".doc { border: 2mm solid #0d47a1; } .doc > header { background: #0d47a1; color: #fff; }\n"
  ".units th { text-align: center; } .units td.lv { width: 20mm; } .units td { font-size: 11pt; }\n"
  ".units .c-unit { width: 40mm; } .units .c-resp { width: 62mm; }\n"
  ".counts { display: flex; gap: 3mm; margin-bottom: 3mm; } .counts span { padding: 1mm 3mm; font-weight: 700; }\n"
  ".bottom { display: flex; justify-content: space-between; align-items: flex-end; margin-top: 3mm; }\n"
  ".legend span { display: inline-block; padding: 0.5mm 3mm; margin-right: 2mm; }\n";

static int board__cmp_event(const void *a, const void *b)
{
  const struct dg_event *x = *(const struct dg_event *const *)a, *y = *(const struct dg_event *const *)b;
  if (x->level != y->level) return (int)y->level - (int)x->level;
  return x < y ? -1 : x > y;
}

static void board__risks(FILE *f, const struct dg_unit *u)
{
  const struct dg_event *ev[BOARD_MAIN_RISKS * 8];
  size_t n = u->n_events < BOARD_COUNT(ev) ? u->n_events : BOARD_COUNT(ev);
  for (size_t i = 0; i < n; i++) ev[i] = &u->events[i];
  qsort(ev, n, sizeof ev[0], board__cmp_event);
  if (n > BOARD_MAIN_RISKS) n = BOARD_MAIN_RISKS;
  for (size_t i = 0; i < n; i++) {
    fputs(i ? "<li>" : "<ol><li>", f);
    doc_text(f, ev[i]->name ? ev[i]->name : ev[i]->id);
    fprintf(f, "（%s", dg_level_name_zh(ev[i]->level));
    if (ev[i]->accident_type) {
      fputs("，", f);
      doc_text(f, ev[i]->accident_type);
    }
    fputs("）</li>", f);
  }
  fputs(n ? "</ol>" : "—", f);
}

static void board__person(FILE *f, const struct dg_config *c, const char *id, const char *role)
{
  const struct dg_person *p = dg_config_person(c, id);
  fprintf(f, "<li>%s：", role);
  doc_text(f, p && p->name ? p->name : id);
  if (p && p->phone) {
    fputs(" ", f);
    doc_text(f, p->phone);
  }
  fputs("</li>", f);
}

/* The unit's liable person, then each other person responsible for one of its measures. */
static void board__responsible(FILE *f, const struct dg_config *c, const struct dg_unit *u)
{
  fputs("<ul>", f);
  if (u->dept) {
    fputs("<li>责任部门：", f);
    doc_text(f, u->dept);
    fputs("</li>", f);
  }
  if (u->person) board__person(f, c, u->person, "责任人");
  const char *seen[16];
  size_t n_seen = 0;
  for (size_t e = 0; e < u->n_events; e++)
    for (size_t m = 0; m < u->events[e].n_measures; m++) {
      const char *id = u->events[e].measures[m].resp_person;
      size_t k = 0;
      while (id && k < n_seen && strcmp(seen[k], id)) k++;
      if (!id || k < n_seen || (u->person && !strcmp(u->person, id)) || n_seen == BOARD_COUNT(seen)) continue;
      seen[n_seen++] = id;
      board__person(f, c, id, "管控责任人");
    }
  fputs("</ul>", f);
}

static void board__row(FILE *f, const struct dg_config *c, const struct risk_unit *r)
{
  const struct dg_unit *u = r->unit;
  fputs("<tr><td><b>", f);
  doc_text(f, u->name ? u->name : u->id);
  fputs("</b><span class=\"sub\">", f);
  doc_text(f, u->source ? u->source->name : NULL);
  fputs("</span></td>", f);
  doc_level_cell(f, r->assessed);
  doc_level_cell(f, r->current);
  fputs("<td>", f);
  board__risks(f, u);
  fputs("</td><td>", f);
  board__responsible(f, c, u);
  fputs("</td></tr>\n", f);
}

static void board__counts(FILE *f, const struct risk_unit *units, size_t n, const struct dg_unit *only)
{
  size_t by[DG_LEVEL_RED + 1] = {0};
  for (size_t i = 0; i < n; i++)
    if (!only || units[i].unit == only) by[units[i].current]++;
  fputs("<div class=\"counts\">", f);
  for (int l = DG_LEVEL_RED; l >= DG_LEVEL_BLUE; l--)
    fprintf(f, "<span style=\"background:%s;color:%s\">%s %zu</span>", doc_level_colour((enum dg_level)l),
            doc_level_fg((enum dg_level)l), dg_level_name_zh((enum dg_level)l), by[l]);
  fputs("</div>\n", f);
}

char *board_html(const struct dg_config *c, const struct risk_unit *units, size_t n, const struct dg_unit *only,
                 const char *url, int64_t now_ms)
{
  char *buf, date[32];
  size_t len;
  FILE *f = doc_page_open(&buf, &len);
  if (!f) return NULL;
  doc_page_head(f, "安全风险公告栏", only ? (only->name ? only->name : only->id) : c->site_name,
                only ? "A4 landscape" : "A3 landscape", board__css);
  fputs("<div class=\"doc\"><header><h1>安全风险公告栏</h1><div class=\"en\">SAFETY RISK BULLETIN BOARD</div></header>\n"
        "<p><b>", f);
  doc_text(f, c->site_name ? c->site_name : c->site_code);
  if (only) {
    fputs(" · ", f);
    doc_text(f, only->name ? only->name : only->id);
  }
  fputs("</b></p>\n", f);
  board__counts(f, units, n, only);
  fputs("<table class=\"units\"><colgroup><col class=\"c-unit\"><col><col><col><col class=\"c-resp\"></colgroup><thead><tr>"
        "<th>风险单元<span class=\"en\">Unit</span></th><th>评估等级<span class=\"en\">Assessed</span></th>"
        "<th>当前等级<span class=\"en\">Now</span></th><th>主要风险<span class=\"en\">Main risks</span></th>"
        "<th>责任人<span class=\"en\">Responsible</span></th></tr></thead><tbody>\n", f);
  for (size_t i = 0; i < n; i++)
    if (!only || units[i].unit == only) board__row(f, c, &units[i]);
  fputs("</tbody></table>\n<div class=\"bottom\"><div class=\"legend\">", f);
  for (int l = DG_LEVEL_RED; l >= DG_LEVEL_BLUE; l--)
    fprintf(f, "<span style=\"background:%s;color:%s\">%s</span>", doc_level_colour((enum dg_level)l),
            doc_level_fg((enum dg_level)l), dg_level_name_zh((enum dg_level)l));
  int rc = 0;
  if (url) {
    fputs("</div><div class=\"scan\">", f);
    rc = doc_qr_svg(f, url);
    fputs("扫码查看 Scan for details<div class=\"url\">", f);
    doc_text(f, url);
    fputs("</div>", f);
  }
  doc_date(now_ms, date, sizeof date);
  fprintf(f, "</div></div><footer><span>当前等级含报警与重大隐患 Now: alarms and major hazards included</span>"
          "<span>打印日期 Printed %s · 由安全风险模型生成</span></footer></div>\n", date);
  doc_page_tail(f);
  return doc_page_close(f, &buf, rc);
}
