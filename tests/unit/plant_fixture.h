/* A plant for unit tests: a config from YAML text and, on one libuv loop, the real store (in a
 * temporary directory), ledger, HTTP client, notifier and engine, opened and closed in the
 * daemon's order. Header-only: each test includes it. */
#ifndef DG_TEST_PLANT_FIXTURE_H
#define DG_TEST_PLANT_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "engine.h"
#include "httpc.h"
#include "ledger.h"
#include "notify.h"
#include "store.h"

struct plant {
  char dir[64];
  char db[128];
  uv_loop_t loop;
  struct dg_config *cfg;
  struct store *store;
  struct ledger *ledger;
  struct httpc *httpc;
  struct notify *notify;
  struct engine engine;
};

/* Loads `yaml` and makes the directory of the database; nothing runs yet. */
static inline void plant_init(struct plant *p, const char *yaml)
{
  char err[256];
  snprintf(p->dir, sizeof p->dir, "/tmp/dg-plant-XXXXXX");
  assert_non_null(mkdtemp(p->dir));
  snprintf(p->db, sizeof p->db, "%s/dg.db", p->dir);
  int rc = config_load_string("test.yaml", yaml, strlen(yaml), &p->cfg, err, sizeof err);
  if (rc) fail_msg("%s", err);
}

/* Opens the loop, store, ledger, HTTP client, notifier and engine (on p->cfg). */
static inline void plant_start(struct plant *p)
{
  char err[256];
  assert_int_equal(uv_loop_init(&p->loop), 0);
  assert_int_equal(store_open(&p->store, &p->loop, p->db, err, sizeof err), 0);
  assert_int_equal(ledger_open(&p->ledger, p->cfg, p->store), 0);
  assert_int_equal(httpc_init(&p->httpc, &p->loop), 0);
  assert_int_equal(notify_init(&p->notify, &p->loop, p->cfg, p->store, p->httpc), 0);
  assert_int_equal(engine_init(&p->engine, &p->loop, p->cfg, p->store, p->ledger, p->notify), 0);
}

/* On the loop thread: closes what runs on the loop; the loop must then run until it is empty. */
static inline void plant_close_handles(struct plant *p)
{
  store_wait_idle(p->store);
  engine_close(&p->engine);
  notify_close(p->notify);
  httpc_close(p->httpc);
  store_close(p->store);
}

/* After the loop has run empty: closes the loop, frees the engine and the ledger. */
static inline void plant_release(struct plant *p)
{
  assert_int_equal(uv_loop_close(&p->loop), 0);
  engine_free(&p->engine);
  ledger_close(p->ledger);
}

/* plant_start undone (the config and database stay: plant_start may run again). */
static inline void plant_stop(struct plant *p)
{
  plant_close_handles(p);
  uv_run(&p->loop, UV_RUN_DEFAULT);
  plant_release(p);
}

/* Frees the config and removes the database and its directory. */
static inline void plant_free(struct plant *p)
{
  config_free(p->cfg);
  char path[256];
  const char *files[] = {"dg.db", "dg.db-wal", "dg.db-shm"};
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", p->dir, files[i]);
    unlink(path);
  }
  rmdir(p->dir);
}

/* A started plant on `yaml` in fresh memory, for a cmocka setup; plant_teardown undoes it all. */
static inline struct plant *plant_new(const char *yaml)
{
  struct plant *p = calloc(1, sizeof *p);
  assert_non_null(p);
  plant_init(p, yaml);
  plant_start(p);
  return p;
}

static inline int plant_teardown(void **state)
{
  struct plant *p = *state;
  plant_stop(p);
  plant_free(p);
  free(p);
  return 0;
}

#endif
