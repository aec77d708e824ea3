#include "post_config.h"

#include "config_ctx.h"
#include "model_config.h"

#include <stdlib.h>
#include <string.h>

/* An item of a reference list: the id, resolved through `m` to the pointer stored at `item`. */
static int post_config__ref(struct dg_ycheck *y, const struct dg_ynode *n, void *item, const struct dg_idmap *m,
                            const char *kind)
{
  const char *id = NULL;
  int rc = dg_yc_text(y, n, &id);
  if (!rc && !(*(void **)item = dg_idmap_get(m, id))) rc = dg_yc_fail(y, n, "unknown %s '%.64s'", kind, id);
  return rc;
}

static int post_config__unit(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  (void)i;
  return post_config__ref(y, n, item, &cfg_ctx(y)->ix->units, "unit");
}

static int post_config__person(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  (void)i;
  return post_config__ref(y, n, item, &cfg_ctx(y)->ix->persons, "person");
}

static int post_config__event(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  (void)i;
  return post_config__ref(y, n, item, &cfg_ctx(y)->events, "event");
}

enum { PH_NAME, PH_PHONE };
static const struct dg_yfield post_config__phone_fields[] = {
  [PH_NAME] = YF_STR("name", struct dg_post_phone, name, DG_YF_REQ),
  [PH_PHONE] = YF_STR("phone", struct dg_post_phone, phone, DG_YF_REQ),
};

static int post_config__phone(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_yseen s;
  (void)i;
  return DG_YC_MAP(y, n, post_config__phone_fields, item, &s);
}

enum { POST_ID, POST_NAME, POST_UNITS, POST_PERSONS, POST_DEPUTIES, POST_EVENTS, POST_PHONES, POST_DUTIES };
static const struct dg_yfield post_config__fields[] = {
  [POST_ID] = YF_STR("id", struct dg_post, id, DG_YF_REQ),
  [POST_NAME] = YF_STR("name", struct dg_post, name, 0),
  [POST_UNITS] = YF_NODE("units", DG_YF_REQ),
  [POST_PERSONS] = YF_NODE("persons", 0),
  [POST_DEPUTIES] = YF_NODE("deputies", 0),
  [POST_EVENTS] = YF_NODE("events", 0),
  [POST_PHONES] = YF_NODE("emergency_phones", 0),
  [POST_DUTIES] = YF_NODE("duties", 0),
};

static int post_config__list(struct dg_ycheck *y, const struct dg_ynode *n, const char *key, size_t elsize,
                             void *arrp, size_t *count, dg_yc_item_fn fn)
{
  if (!n) return 0;
  size_t mark = dg_yc_path_key(y, key);
  int rc = dg_yc_list(y, n, elsize, arrp, count, fn);
  dg_yc_path_restore(y, mark);
  return rc;
}

/* Every event of the post must lie in one of its units: a worker faces the risks where he works. */
static int post_config__events_in_units(struct dg_ycheck *y, const struct dg_post *p, const struct dg_ynode *list)
{
  for (size_t e = 0; e < p->n_events; e++) {
    size_t u = 0;
    while (u < p->n_units && p->units[u] != p->events[e]->unit) u++;
    if (u < p->n_units) continue;
    size_t mark = dg_yc_path_key(y, "events");
    dg_yc_path_index(y, e);
    int rc = dg_yc_fail(y, list->kids[e], "event '%.64s' is in unit '%.64s', which is not one of the post's units",
                        p->events[e]->id, p->events[e]->unit->id);
    dg_yc_path_restore(y, mark);
    return rc;
  }
  return 0;
}

static int post_config__post(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_post *p = item;
  struct dg_yseen s;
  (void)i;
  int rc = DG_YC_MAP(y, n, post_config__fields, p, &s);
  if (!rc) rc = dg_yc_add_id(y, &cfg_ctx(y)->posts, p->id, p, s.val[POST_ID], "post");
  if (!rc) rc = post_config__list(y, s.val[POST_UNITS], "units", sizeof *p->units, &p->units, &p->n_units,
                                  post_config__unit);
  if (!rc && !p->n_units) rc = dg_yc_failk(y, s.val[POST_UNITS], "units", "expected at least one unit id");
  if (!rc) rc = post_config__list(y, s.val[POST_PERSONS], "persons", sizeof *p->persons, &p->persons,
                                  &p->n_persons, post_config__person);
  if (!rc) rc = post_config__list(y, s.val[POST_DEPUTIES], "deputies", sizeof *p->deputies, &p->deputies,
                                  &p->n_deputies, post_config__person);
  if (!rc) rc = post_config__list(y, s.val[POST_EVENTS], "events", sizeof *p->events, &p->events, &p->n_events,
                                  post_config__event);
  if (!rc) rc = post_config__events_in_units(y, p, s.val[POST_EVENTS]);
  if (!rc) rc = post_config__list(y, s.val[POST_PHONES], "emergency_phones", sizeof *p->phones, &p->phones,
                                  &p->n_phones, post_config__phone);
  if (!rc) rc = model_config_texts(y, s.val[POST_DUTIES], "duties", &p->duties, &p->n_duties);
  return rc;
}

int post_config_parse(struct cfg_ctx *x, const struct dg_ynode *n)
{
  struct dg_config *c = x->c;
  return dg_yc_list(&x->y, n, sizeof *c->posts, &c->posts, &c->n_posts, post_config__post);
}

void post_config_free(struct dg_config *c)
{
  for (size_t i = 0; i < c->n_posts; i++) {
    struct dg_post *p = &c->posts[i];
    for (size_t k = 0; k < p->n_phones; k++) {
      free(p->phones[k].name);
      free(p->phones[k].phone);
    }
    free(p->phones);
    model_config_texts_free(p->duties, p->n_duties);
    free(p->units);
    free(p->persons);
    free(p->deputies);
    free(p->events);
    free(p->id);
    free(p->name);
  }
  free(c->posts);
}
