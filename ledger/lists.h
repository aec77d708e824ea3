/* lists — the three lists an inspection asks for, built from the plant model and the ledger:
 * 风险清单 (risks: one row per risk event with its assessment, measures and emergency steps),
 * 隐患清单 (hazards: one row per hazard record) and 责任清单 (responsibilities: one row per
 * control measure with the unit's and the measure's responsible persons and the posts facing
 * the event); each as an XLSX workbook (libxlsxwriter) or a printable A4/A3 HTML page.
 *
 * Loop thread (hazards read through the reader connection). A table owns its strings. */
#ifndef DG_LISTS_H
#define DG_LISTS_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "store.h"

enum lists_kind { LISTS_RISKS, LISTS_HAZARDS, LISTS_DUTIES, LISTS_COUNT };

struct lists_table {
  enum lists_kind kind;
  const char *title, *title_en;  /* 风险清单 … (static) */
  const char *const *heads;      /* n_cols column heads (static) */
  size_t n_cols;
  char **cells;                  /* n_rows × n_cols, NULL for an empty cell */
  size_t n_rows, cap;
};

/* "risks", "hazards", "duties" → kind, or -1. */
int lists_kind_parse(const char *name);

/* Builds the table of `kind`; 0, -ENOMEM or -EIO (database). Free with lists_table_free. */
int lists_build(const struct dg_config *c, struct store_conn *reader, enum lists_kind kind, struct lists_table *t);
void lists_table_free(struct lists_table *t);

/* The table as an XLSX file in memory (*out malloc'd, *len bytes), written through a temporary
 * file in tmpdir (NULL: $TMPDIR or /tmp). 0 or negative. */
int lists_xlsx(const struct dg_config *c, const struct lists_table *t, const char *tmpdir, char **out, size_t *len);
/* The table as a printable page; NULL on allocation failure. */
char *lists_html(const struct dg_config *c, const struct lists_table *t, int64_t now_ms);

#endif
