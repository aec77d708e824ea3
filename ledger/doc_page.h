/* doc_page — what the printed documents share (岗位卡, 应知应会卡, 应急处置卡, 公告栏, 整改通知):
 * the page head with print CSS for A4/A3 and Chinese fonts, the level colours, escaped text and
 * the QR code as inline SVG. Pure; writes to a FILE (open_memstream). */
#ifndef DG_DOC_PAGE_H
#define DG_DOC_PAGE_H

#include <stdint.h>
#include <stdio.h>

#include "model.h"

/* Opens `f` on a new memory buffer into buf and len; NULL on failure. */
FILE *doc_page_open(char **buf, size_t *len);
/* Closes f: the page (malloc'd) when all was written and rc is 0, else NULL (buffer freed). */
char *doc_page_close(FILE *f, char **buf, int rc);

/* "<!DOCTYPE html>…<body>": `size` is the CSS page size ("A4 portrait", "A3 landscape"),
 * `css` the document's own rules (may be NULL). */
void doc_page_head(FILE *f, const char *title, const char *subject, const char *size, const char *css);
void doc_page_tail(FILE *f);

const char *doc_level_colour(enum dg_level l); /* red, orange, yellow, blue; grey for none */
const char *doc_level_fg(enum dg_level l);     /* text colour readable on it */
/* A table cell coloured by level with its Chinese name. */
void doc_level_cell(FILE *f, enum dg_level l);

/* HTML-escaped s ("—" for NULL). */
void doc_text(FILE *f, const char *s);
/* "YYYY-MM-DD" of now_ms in local time into out (size >= 11). */
void doc_date(int64_t now_ms, char *out, size_t len);

/* The QR code of `text` as one SVG path; 0, or -1 when it cannot be encoded. */
int doc_qr_svg(FILE *f, const char *text);

#endif
