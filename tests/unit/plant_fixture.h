/* A plant for unit tests: a config (from YAML text, or built by the test) and, on one libuv loop,
 * the real store (in a temporary directory), ledger, HTTP client, notifier and engine, opened and
 * closed in the daemon's order. A test that needs only the lower layers starts the plant up to
 * PLANT_STORE or PLANT_NOTIFY. Header-only: each test includes it. */
#ifndef DG_TEST_PLANT_FIXTURE_H
#define DG_TEST_PLANT_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "engine.h"
#include "httpc.h"
#include "ledger.h"
#include "log.h"
#include "notify.h"
#include "sdnotify.h"
#include "store.h"

/* YAML for tests: an MQTT broker `main` and a webhook channel `hook` (with a policy `all` for
 * every priority) on port 1, where nothing listens: deliveries stay pending in the outbox. */
#define PLANT_YAML_MQTT "mqtt:\n  - { id: main, uri: \"tcp://127.0.0.1:1\", client_id: t }\n"
#define PLANT_YAML_HOOK                                                    \
  "channels:\n  - { id: hook, type: webhook, url: \"http://127.0.0.1:1/hook\" }\n" \
  "policies:\n  - { id: all, priorities: [low, medium, high, critical], channels: [hook] }\n"
/* A hazard source HS1 (罐区) with unit U1 (person wang responsible), event E1 and inspection
 * measure M1: the smallest plant model with national records. More measures of E1 may follow. */
#define PLANT_YAML_TANK_FARM                                                                       \
  "hazard_sources:\n"                                                                             \
  "  - id: HS1\n"                                                                                 \
  "    name: 罐区\n"                                                                              \
  "    units:\n"                                                                                  \
  "      - id: U1\n"                                                                              \
  "        name: 储罐\n"                                                                          \
  "        responsible: { dept: 储运, person: wang }\n"                                           \
  "        events:\n"                                                                             \
  "          - id: E1\n"                                                                          \
  "            name: 泄漏\n"                                                                      \
  "            lec: { l: 3, e: 6, c: 40 }\n"                                                      \
  "            measures:\n"                                                                       \
  "              - { id: M1, desc: 巡检, data_src: 2, classify: '3-1', troubleshoot: 查看液位 }\n"

/* How far plant_start_to opens the plant; each level includes the ones before it. */
enum plant_level {
  PLANT_LOOP,   /* the loop only: the test opens its stores itself */
  PLANT_STORE,  /* the store on p->db */
  PLANT_NOTIFY, /* the HTTP client and the notifier */
  PLANT_ENGINE, /* the ledger and the engine: the whole plant */
};

struct plant {
  char dir[64];
  char db[128];
  uv_loop_t loop;
  struct dg_config *cfg;
  bool own_cfg; /* loaded by plant_init, freed by plant_free */
  enum plant_level level;
  struct store *store;
  struct ledger *ledger;
  struct httpc *httpc;
  struct notify *notify;
  struct engine engine;
};

/* Makes the temporary directory of the database (p->dir, p->db); nothing runs yet. */
static inline void plant_make_dir(struct plant *p)
{
  snprintf(p->dir, sizeof p->dir, "/tmp/dg-plant-XXXXXX");
  assert_non_null(mkdtemp(p->dir));
  snprintf(p->db, sizeof p->db, "%s/dg.db", p->dir);
}

/* Loads `yaml` as test.yaml; a load error fails the test with its message. */
static inline struct dg_config *plant_load(const char *yaml)
{
  char err[256];
  struct dg_config *cfg = NULL;
  if (config_load_string("test.yaml", yaml, strlen(yaml), &cfg, err, sizeof err)) fail_msg("%s", err);
  return cfg;
}

/* Loads `yaml` and makes the directory of the database; nothing runs yet. */
static inline void plant_init(struct plant *p, const char *yaml)
{
  plant_make_dir(p);
  p->cfg = plant_load(yaml);
  p->own_cfg = true;
}

/* Like plant_init on a config the test built (and keeps owning). */
static inline void plant_init_with(struct plant *p, struct dg_config *cfg)
{
  plant_make_dir(p);
  p->cfg = cfg;
  p->own_cfg = false;
}

/* Opens the store on p->db (again, after plant_close_store). */
static inline void plant_open_store(struct plant *p)
{
  char err[256];
  int rc = store_open(&p->store, &p->loop, p->db, err, sizeof err);
  if (rc) fail_msg("store_open: %s", err);
}

/* Closes the store and runs the loop until its handles are closed. */
static inline void plant_close_store(struct plant *p)
{
  store_close(p->store);
  p->store = NULL;
  uv_run(&p->loop, UV_RUN_DEFAULT);
}

/* Opens the loop and, up to `level`, the store, ledger, HTTP client, notifier and engine. */
static inline void plant_start_to(struct plant *p, enum plant_level level)
{
  p->level = level;
  assert_int_equal(uv_loop_init(&p->loop), 0);
  if (level >= PLANT_STORE) plant_open_store(p);
  if (level >= PLANT_ENGINE) assert_int_equal(ledger_open(&p->ledger, p->cfg, p->store), 0);
  if (level >= PLANT_NOTIFY) {
    assert_int_equal(httpc_init(&p->httpc, &p->loop), 0);
    assert_int_equal(notify_init(&p->notify, &p->loop, p->cfg, p->store, p->httpc), 0);
  }
  if (level >= PLANT_ENGINE)
    assert_int_equal(engine_init(&p->engine, &p->loop, p->cfg, p->store, p->ledger, p->notify), 0);
}

/* Opens the whole plant on p->cfg. */
static inline void plant_start(struct plant *p)
{
  plant_start_to(p, PLANT_ENGINE);
}

/* On the loop thread: closes what runs on the loop; the loop must then run until it is empty. */
static inline void plant_close_handles(struct plant *p)
{
  if (p->store) store_wait_idle(p->store);
  if (p->level >= PLANT_ENGINE) engine_close(&p->engine);
  if (p->level >= PLANT_NOTIFY) {
    notify_close(p->notify);
    httpc_close(p->httpc);
  }
  if (p->store) store_close(p->store);
  p->store = NULL;
}

/* After the loop has run empty: closes the loop, frees the engine and the ledger. */
static inline void plant_release(struct plant *p)
{
  assert_int_equal(uv_loop_close(&p->loop), 0);
  if (p->level >= PLANT_ENGINE) {
    engine_free(&p->engine);
    ledger_close(p->ledger);
  }
}

/* plant_start undone (the config and database stay: plant_start may run again). */
static inline void plant_stop(struct plant *p)
{
  plant_close_handles(p);
  uv_run(&p->loop, UV_RUN_DEFAULT);
  plant_release(p);
}

/* Removes the files of `dir` and then `dir` (the database directory holds no subdirectories). */
static inline void plant_remove_dir(const char *dir)
{
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

/* Frees a config plant_init loaded and removes the database and its directory. */
static inline void plant_free(struct plant *p)
{
  if (p->own_cfg) config_free(p->cfg);
  p->cfg = NULL;
  plant_remove_dir(p->dir);
}

/* A started plant on `yaml`, for a cmocka setup; plant_delete undoes it. */
static inline struct plant *plant_new(const char *yaml)
{
  struct plant *p = calloc(1, sizeof *p);
  assert_non_null(p);
  plant_init(p, yaml);
  plant_start(p);
  return p;
}

static inline void plant_delete(struct plant *p)
{
  plant_stop(p);
  plant_free(p);
  free(p);
}

/* cmocka setup and teardown of a started plant whose YAML text is the test's initial state. */
static inline int plant_setup(void **state)
{
  *state = plant_new(*state);
  return 0;
}

static inline int plant_teardown(void **state)
{
  plant_delete(*state);
  return 0;
}

/* A cmocka test run on a fresh plant_new(yaml), deleted after it. */
#define plant_unit_test(test, yaml) \
  cmocka_unit_test_prestate_setup_teardown(test, plant_setup, plant_teardown, (void *)(yaml))

/* The engine's alarm of the rule `id`; fails the test when there is none. */
static inline struct alarm *plant_alarm(struct plant *p, const char *id)
{
  for (size_t i = 0; i < p->cfg->n_rules; i++)
    if (strcmp(p->cfg->rules[i].id, id) == 0) return &p->engine.alarms[i];
  fail_msg("no rule %s", id);
  return NULL;
}

/* Hands the engine one sample of `point`, stamped now, and waits for the store to commit. */
static inline void plant_feed(struct plant *p, const char *point, double value, uint8_t quality)
{
  struct dg_sample s = {.point = (uint32_t)dg_config_point(p->cfg, point)->index, .quality = quality,
                        .value = value, .ts_ms = dg_wall_ms()};
  engine_on_samples(&p->engine, &s, 1);
  store_wait_idle(p->store);
}

/* Runs the loop until the alarm of rule `id` is in state `want`, for at most timeout_ms. */
static inline void plant_wait_state(struct plant *p, const char *id, enum alarm_state want, int64_t timeout_ms)
{
  int64_t deadline = dg_mono_ms() + timeout_ms;
  while (plant_alarm(p, id)->state != want && dg_mono_ms() < deadline) {
    uv_run(&p->loop, UV_RUN_NOWAIT);
    store_wait_idle(p->store);
  }
  assert_int_equal(plant_alarm(p, id)->state, want);
}

#endif
