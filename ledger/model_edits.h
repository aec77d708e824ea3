/* model_edits — the plant-model edit journal (table model_edits): read in id order into
 * config_edit entries and replayed over the YAML file by config_load_edits. The live model is
 * the file plus these edits; folding them back into the file is left to the operator.
 *
 * Ownership: a struct model_edits owns the strings of its entries; model_edits_free releases
 * them. Loop thread (reads through the store's reader connection). */
#ifndef DG_MODEL_EDITS_H
#define DG_MODEL_EDITS_H

#include <stddef.h>

#include "config.h"
#include "store.h"

struct model_edits {
  struct config_edit *v;
  size_t n, cap;
};

/* Appends every journal row, in id order, to `m`. 0 or negative. */
int model_edits_read(struct store_conn *c, struct model_edits *m);
/* The number of journal rows in *n. 0 or -EIO. */
int model_edits_count(struct store_conn *c, size_t *n);
/* Appends a copy of `e`. 0 or -ENOMEM. */
int model_edits_add(struct model_edits *m, const struct config_edit *e);
void model_edits_free(struct model_edits *m);

/* Loads the YAML at `path` with the journal's edits and then `extra` (may be NULL) replayed.
 * *n_journal (may be NULL) is the number of journal rows. As config_load_edits; -EIO for a
 * database error (with `err` set). */
int model_edits_load(struct store_conn *c, const char *path, const struct config_edit *extra, struct dg_config **out,
                     size_t *n_journal, char *err, size_t errlen);

#endif
