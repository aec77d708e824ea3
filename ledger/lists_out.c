/* lists.h: the XLSX and HTML forms of a list. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "doc_page.h"
#include "lists.h"

#define LISTS_COL_WIDTH_MAX 60.0

/* A column's width in characters: wide enough for its longest line, within bounds. */
static double lists__width(const struct lists_table *t, size_t col)
{
  size_t w = strlen(t->heads[col]) / 2 + 4;
  for (size_t r = 0; r < t->n_rows; r++) {
    const char *s = t->cells[r * t->n_cols + col];
    for (const char *line = s; line && *line;) {
      size_t n = strcspn(line, "\n");
      if (n * 2 / 3 + 2 > w) w = n * 2 / 3 + 2; /* UTF-8 CJK: 3 bytes, 2 columns */
      line += n + (line[n] == '\n');
    }
  }
  return w > LISTS_COL_WIDTH_MAX ? LISTS_COL_WIDTH_MAX : (double)w;
}

static int lists__sheet(lxw_workbook *wb, const struct dg_config *c, const struct lists_table *t)
{
  lxw_worksheet *ws = workbook_add_worksheet(wb, t->title);
  lxw_format *title = workbook_add_format(wb), *head = workbook_add_format(wb), *cell = workbook_add_format(wb);
  if (!ws || !title || !head || !cell) return -ENOMEM;
  format_set_bold(title);
  format_set_font_size(title, 14);
  format_set_bold(head);
  format_set_bg_color(head, 0xECEFF1);
  format_set_border(head, LXW_BORDER_THIN);
  format_set_text_wrap(cell);
  format_set_align(cell, LXW_ALIGN_VERTICAL_TOP);
  format_set_border(cell, LXW_BORDER_THIN);
  char caption[512];
  snprintf(caption, sizeof caption, "%s %s", c->site_name ? c->site_name : c->site_code, t->title);
  int rc = worksheet_write_string(ws, 0, 0, caption, title);
  for (size_t k = 0; k < t->n_cols; k++) {
    rc |= worksheet_write_string(ws, 1, (lxw_col_t)k, t->heads[k], head);
    rc |= worksheet_set_column(ws, (lxw_col_t)k, (lxw_col_t)k, lists__width(t, k), NULL);
  }
  for (size_t r = 0; r < t->n_rows; r++)
    for (size_t k = 0; k < t->n_cols; k++) {
      const char *s = t->cells[r * t->n_cols + k];
      if (s) rc |= worksheet_write_string(ws, (lxw_row_t)(r + 2), (lxw_col_t)k, s, cell);
      else rc |= worksheet_write_blank(ws, (lxw_row_t)(r + 2), (lxw_col_t)k, cell);
    }
  worksheet_freeze_panes(ws, 2, 0);
  worksheet_set_landscape(ws);
  worksheet_set_paper(ws, 9); /* A4 */
  worksheet_repeat_rows(ws, 1, 1);
  worksheet_fit_to_pages(ws, 1, 0);
  return rc ? -EIO : 0;
}

static int lists__slurp(const char *path, char **out, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f) return -errno;
  char *buf = NULL;
  size_t cap = 0, n = 0, got;
  int rc = 0;
  do {
    if (n == cap) {
      char *b = realloc(buf, cap = cap ? 2 * cap : 65536);
      if (!b) {
        rc = -ENOMEM;
        break;
      }
      buf = b;
    }
    n += got = fread(buf + n, 1, cap - n, f);
  } while (got);
  if (!rc && ferror(f)) rc = -EIO;
  fclose(f);
  if (rc) free(buf);
  else *out = buf, *len = n;
  return rc;
}

int lists_xlsx(const struct dg_config *c, const struct lists_table *t, const char *tmpdir, char **out, size_t *len)
{
  char path[4096];
  if (!tmpdir) tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  if (snprintf(path, sizeof path, "%s/dualguard-list-XXXXXX", tmpdir) >= (int)sizeof path) return -ENAMETOOLONG;
  int fd = mkstemp(path);
  if (fd < 0) return -errno;
  close(fd);
  lxw_workbook_options opt = {.tmpdir = (char *)tmpdir};
  lxw_workbook *wb = workbook_new_opt(path, &opt);
  int rc = wb ? lists__sheet(wb, c, t) : -ENOMEM;
  if (wb) {
    workbook_set_properties(wb, &(lxw_doc_properties){.title = (char *)t->title, .company = c->site_name});
    if (workbook_close(wb) != LXW_NO_ERROR && !rc) rc = -EIO;
  }
  if (!rc) rc = lists__slurp(path, out, len);
  unlink(path);
  return rc;
}

static const char lists__css[] =
  ".list { padding: 4mm; } h1 { font-size: 18pt; text-align: center; margin: 0 0 1mm; letter-spacing: 0.2em; }\n"
  ".caption { text-align: center; margin-bottom: 3mm; }\n"
  "table { font-size: 8.5pt; } th { text-align: center; } td { white-space: pre-line; }\n"
  "thead { display: table-header-group; } tr { break-inside: avoid; }\n";

char *lists_html(const struct dg_config *c, const struct lists_table *t, int64_t now_ms)
{
  char *buf, date[32];
  size_t len;
  FILE *f = doc_page_open(&buf, &len);
  if (!f) return NULL;
  doc_page_head(f, t->title, c->site_name, t->n_cols > 10 ? "A3 landscape" : "A4 landscape", lists__css);
  doc_date(now_ms, date, sizeof date);
  fprintf(f, "<div class=\"list\"><h1>%s</h1><div class=\"caption\">", t->title);
  doc_text(f, c->site_name ? c->site_name : c->site_code);
  fprintf(f, " · %s · 打印日期 Printed %s</div><table><thead><tr>", t->title_en, date);
  for (size_t k = 0; k < t->n_cols; k++) fprintf(f, "<th>%s</th>", t->heads[k]);
  fputs("</tr></thead><tbody>\n", f);
  for (size_t r = 0; r < t->n_rows; r++) {
    fputs("<tr>", f);
    for (size_t k = 0; k < t->n_cols; k++) {
      fputs("<td>", f);
      doc_text(f, t->cells[r * t->n_cols + k]);
      fputs("</td>", f);
    }
    fputs("</tr>\n", f);
  }
  if (!t->n_rows) fprintf(f, "<tr><td colspan=\"%zu\">—</td></tr>", t->n_cols);
  fputs("</tbody></table></div>\n", f);
  doc_page_tail(f);
  return doc_page_close(f, &buf, 0);
}
