/* Shared by the benches that run the real engine on a loop: a configuration from YAML text, a
 * store in a temporary directory, the ledger, the outbox and the engine fed by a sample queue.
 * Static functions: include once per bench program. */
#ifndef DG_BENCH_ENGINE_UTIL_H
#define DG_BENCH_ENGINE_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "engine.h"
#include "httpc.h"
#include "ledger.h"
#include "log.h"
#include "notify.h"
#include "sampleq.h"
#include "store.h"

struct bench_plant {
  char dir[200];
  struct dg_config *cfg;
  struct store *store;
  struct ledger *ledger;
  struct httpc *httpc;
  struct notify *notify;
};

/* Loads yaml (freed here), opens everything on loop with q draining into e. 0 or -1 (printed). */
static int bench_plant_open(struct bench_plant *p, const char *tag, char *yaml, uv_loop_t *loop, struct engine *e,
                            struct sampleq *q)
{
  char db[sizeof p->dir + 16], err[256] = "";
  const char *tmp = getenv("TMPDIR");
  int len = snprintf(p->dir, sizeof p->dir, "%s/dg-bench-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
  if (len < 0 || (size_t)len >= sizeof p->dir || !mkdtemp(p->dir)) return fprintf(stderr, "no directory in TMPDIR\n"), -1;
  snprintf(db, sizeof db, "%s/bench.db", p->dir);
  dg_log_set_level(DG_LOG_ERR);
  int rc = config_load_string("bench.yaml", yaml, strlen(yaml), &p->cfg, err, sizeof err);
  free(yaml);
  if (!rc) uv_loop_init(loop);
  if (rc || store_open(&p->store, loop, db, err, sizeof err) || ledger_open(&p->ledger, p->cfg, p->store) ||
      httpc_init(&p->httpc, loop) || notify_init(&p->notify, loop, p->cfg, p->store, p->httpc) ||
      engine_init(e, loop, p->cfg, p->store, p->ledger, p->notify) || sampleq_init(q, loop, engine_on_samples, e)) {
    fprintf(stderr, "start-up failed %s\n", err);
    return -1;
  }
  return 0;
}

/* Closes everything (the caller has closed its own handles), runs the loop out, removes the
 * directory. 0 or 1. */
static int bench_plant_close(struct bench_plant *p, uv_loop_t *loop, struct engine *e, struct sampleq *q)
{
  sampleq_close(q);
  engine_close(e);
  notify_close(p->notify);
  httpc_close(p->httpc);
  store_close(p->store);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  engine_free(e);
  ledger_close(p->ledger);
  config_free(p->cfg);
  char cmd[sizeof p->dir + 16];
  snprintf(cmd, sizeof cmd, "rm -rf %s", p->dir);
  return system(cmd) == 0 ? 0 : 1;
}

#endif
