#include "model_edits.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"

static const char *const model_edits__sql_all =
  "SELECT id, op, kind, entity, parent, body FROM model_edits ORDER BY id";

static const char *const model_edits__sql_count = "SELECT count(*) FROM model_edits";

static char *model_edits__dup(const char *s)
{
  return s ? strdup(s) : NULL;
}

static void model_edits__clear(struct config_edit *e)
{
  free((char *)e->op);
  free((char *)e->kind);
  free((char *)e->entity);
  free((char *)e->parent);
  free((char *)e->body);
}

int model_edits_add(struct model_edits *m, const struct config_edit *e)
{
  if (dg_array_reserve(&m->v, m->n, &m->cap, sizeof *m->v)) return -ENOMEM;
  struct config_edit c = {e->id, model_edits__dup(e->op), model_edits__dup(e->kind), model_edits__dup(e->entity),
                          model_edits__dup(e->parent), model_edits__dup(e->body)};
  if ((e->op && !c.op) || (e->kind && !c.kind) || (e->entity && !c.entity) || (e->parent && !c.parent) ||
      (e->body && !c.body)) {
    model_edits__clear(&c);
    return -ENOMEM;
  }
  m->v[m->n++] = c;
  return 0;
}

void model_edits_free(struct model_edits *m)
{
  for (size_t i = 0; i < m->n; i++) model_edits__clear(&m->v[i]);
  free(m->v);
  *m = (struct model_edits){0};
}

static const char *model_edits__col(sqlite3_stmt *st, int i)
{
  return (const char *)sqlite3_column_text(st, i);
}

int model_edits_read(struct store_conn *c, struct model_edits *m)
{
  sqlite3_stmt *st = store_stmt(c, model_edits__sql_all);
  if (!st) return -EIO;
  int rc, err = 0;
  while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct config_edit e = {sqlite3_column_int64(st, 0), model_edits__col(st, 1), model_edits__col(st, 2),
                            model_edits__col(st, 3), model_edits__col(st, 4), model_edits__col(st, 5)};
    err = model_edits_add(m, &e);
  }
  if (!err && rc != SQLITE_DONE) err = -EIO;
  sqlite3_reset(st);
  return err;
}

int model_edits_count(struct store_conn *c, size_t *n)
{
  sqlite3_stmt *st = store_stmt(c, model_edits__sql_count);
  if (!st) return -EIO;
  int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : -EIO;
  if (!rc) *n = (size_t)sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return rc;
}

int model_edits_load(struct store_conn *c, const char *path, const struct config_edit *extra, struct dg_config **out,
                     size_t *n_journal, char *err, size_t errlen)
{
  struct model_edits m = {0};
  *out = NULL;
  int rc = model_edits_read(c, &m);
  if (n_journal) *n_journal = m.n;
  if (!rc && extra) rc = model_edits_add(&m, extra);
  if (rc) {
    snprintf(err, errlen, "%s: cannot read the model edits: %s", path, rc == -ENOMEM ? "out of memory" : "database error");
    model_edits_free(&m);
    return rc == -ENOMEM ? rc : -EIO;
  }
  rc = config_load_edits(path, m.v, m.n, out, err, errlen);
  model_edits_free(&m);
  return rc;
}
