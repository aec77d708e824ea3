#include "doc_page.h"

#include <qrencode.h>
#include <stdlib.h>
#include <time.h>

#include "report.h"

#define DOC_QR_QUIET 4 /* modules of white around the code, as the standard asks */

static const char doc__style[] =
  "* { box-sizing: border-box; }\n"
  "body { margin: 0; font-family: 'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'Microsoft YaHei',"
  " sans-serif; color: #111; font-size: 10.5pt; line-height: 1.45; }\n"
  ".doc { margin: 0 auto; padding: 5mm; -webkit-print-color-adjust: exact; print-color-adjust: exact; }\n"
  ".doc > header { text-align: center; padding: 3mm 0 2.5mm; margin: -5mm -5mm 4mm; }\n"
  ".doc > header h1 { margin: 0; font-size: 24pt; letter-spacing: 0.25em; font-weight: 700; }\n"
  ".doc > header .en { font-size: 10pt; letter-spacing: 0.1em; color: inherit; }\n"
  "table { width: 100%; border-collapse: collapse; }\n"
  "th, td { border: 0.3mm solid #444; padding: 1.5mm 2mm; vertical-align: top; text-align: left; }\n"
  "th { background: #eceff1; font-weight: 700; }\n"
  ".en, .sub { font-weight: 400; font-size: 7.5pt; color: #555; }\n"
  "th .en, .sub { display: block; }\n"
  "td ol, td ul { margin: 0; padding-left: 5mm; }\n"
  ".lv { text-align: center; font-weight: 700; white-space: nowrap;"
  " -webkit-print-color-adjust: exact; print-color-adjust: exact; }\n"
  ".scan { text-align: center; font-size: 8.5pt; }\n"
  ".scan svg { width: 36mm; height: 36mm; display: block; margin: 0 auto 1mm; }\n"
  ".scan .url { word-break: break-all; color: #444; font-size: 6.5pt; }\n"
  "footer { margin-top: 3mm; font-size: 8pt; color: #555; display: flex; justify-content: space-between; }\n"
  "@media screen and (max-width: 700px) { .doc { width: auto !important; min-height: 0 !important; }"
  " table, tbody, tr, td, th { display: block; width: auto !important; } thead { display: none; } }\n";

FILE *doc_page_open(char **buf, size_t *len)
{
  *buf = NULL;
  *len = 0;
  return open_memstream(buf, len);
}

char *doc_page_close(FILE *f, char **buf, int rc)
{
  if (fclose(f) || rc) {
    free(*buf);
    return NULL;
  }
  return *buf;
}

void doc_text(FILE *f, const char *s) { report_html_text(f, s ? s : "—"); }

void doc_date(int64_t now_ms, char *out, size_t len)
{
  time_t t = (time_t)(now_ms / 1000);
  struct tm tm;
  out[0] = '\0';
  if (localtime_r(&t, &tm)) strftime(out, len, "%Y-%m-%d", &tm);
}

void doc_page_head(FILE *f, const char *title, const char *subject, const char *size, const char *css)
{
  fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>", f);
  doc_text(f, title);
  if (subject) {
    fputs(" · ", f);
    doc_text(f, subject);
  }
  fprintf(f, "</title>\n<style>\n@page { size: %s; margin: 10mm; }\n%s%s</style>\n</head><body>\n", size, doc__style,
          css ? css : "");
}

void doc_page_tail(FILE *f) { fputs("</body></html>\n", f); }

const char *doc_level_colour(enum dg_level l)
{
  static const char *const colours[] = {"#9e9e9e", "#1565c0", "#f9d71c", "#f57c00", "#d32f2f"};
  return (unsigned)l < sizeof colours / sizeof colours[0] ? colours[l] : colours[0];
}

const char *doc_level_fg(enum dg_level l) { return l == DG_LEVEL_YELLOW ? "#111" : "#fff"; }

void doc_level_cell(FILE *f, enum dg_level l)
{
  fprintf(f, "<td class=\"lv\" style=\"background:%s;color:%s\">", doc_level_colour(l), doc_level_fg(l));
  doc_text(f, dg_level_name_zh(l));
  fputs("</td>", f);
}

int doc_qr_svg(FILE *f, const char *text)
{
  QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  if (!q) return -1;
  int w = q->width, side = w + 2 * DOC_QR_QUIET;
  fprintf(f, "<svg class=\"qr\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">"
          "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"", side, side, side, side);
  for (int y = 0; y < w; y++)
    for (int x = 0; x < w; x++)
      if (q->data[y * w + x] & 1) fprintf(f, "M%d %dh1v1h-1z", x + DOC_QR_QUIET, y + DOC_QR_QUIET);
  fputs("\"/></svg>", f);
  QRcode_free(q);
  return 0;
}
