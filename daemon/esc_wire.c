#include "esc_wire.h"

#include "ledger_events.h"

static void *esc_wire__begin(void *arg, const struct ledger_event *ev, void *change)
{
  return escalate_on_ledger(arg, ev, change);
}

static int esc_wire__write(struct store_conn *c, const void *change) { return escalate_write(c, change); }

static void esc_wire__end(void *arg, void *change, int rc)
{
  (void)arg;
  escalate_change_done(change, rc);
}

static enum dg_level esc_wire__level(void *arg, const char *unit)
{
  struct ledger_watch *const *w = arg;
  return *w ? ledger_watch_level(*w, unit) : DG_LEVEL_NONE;
}

void esc_wire(struct ledger *l, struct escalate *x, struct ledger_watch *const *watch)
{
  struct ledger_hook h = {esc_wire__begin, esc_wire__write, esc_wire__end, x};
  ledger_set_hook(l, &h);
  escalate_set_level_source(x, esc_wire__level, (void *)watch);
}
