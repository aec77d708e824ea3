/* dualguardd — entry point: command line, start-up, signals, reload and orderly shutdown. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "attach.h"
#include "auth.h"
#include "config.h"
#include "export.h"
#include "heap.h"
#include "engine.h"
#include "esc_wire.h"
#include "escalate.h"
#include "events.h"
#include "http.h"
#include "httpc.h"
#include "ledger.h"
#include "ledger_watch.h"
#include "log.h"
#include "login.h"
#include "login_cli.h"
#include "national.h"
#include "report_auto.h"
#include "upload.h"
#include "model_edits.h"
#include "modbus.h"
#include "mqtt.h"
#include "notify.h"
#include "sampleq.h"
#include "sdnotify.h"
#include "store.h"

/* Above the store's 5 s busy timeout, so a long wait for the lock is not taken for a hang. */
#define STORE_MAX_HEARTBEAT_AGE_MS 15000
/* A bus thread blocks at most one response timeout per request. */
#define MODBUS_MAX_HEARTBEAT_AGE_MS 30000

struct dg_options {
  const char *config_path;
  const char *db_path;
  const char *http_listen;
  int http_port;              /* -1: from config */
  const char *dashboard_dir;
  int check_only;
  const char *create_token_for; /* --create-token PERSON */
  int64_t token_valid_ms;       /* --expires DURATION (default 90 days) */
  int list_tokens;              /* --list-tokens */
  int list_routes;              /* --list-routes */
  int64_t revoke_token;         /* --revoke-token ID, 0: none */
  const char *backup_to;        /* --backup FILE */
  const char *export_dir;       /* --export-dir DIR */
  int64_t export_since_ms;      /* --export-since MS */
  const char *account;          /* --create-account LOGIN */
  const char *account_person;   /* --person P (default: LOGIN) */
  const char *set_password;     /* --set-password LOGIN */
};

struct dg_daemon {
  struct dg_options opt;
  uv_loop_t loop;
  struct dg_config *cfg;
  struct store *store;
  struct ledger *ledger;
  struct httpc *httpc;
  struct notify *notify;
  struct escalate *escalate;
  struct engine engine;
  int engine_ready;
  struct sampleq queue;
  int queue_ready;
  struct mqtt_driver *mqtt;
  struct mb_driver *modbus;
  struct http_server *http;
  struct api_ctx api;
  char *attachments_dir;
  struct auth auth;
  struct login *login;
  struct sdnotify *sdn;
  uv_signal_t sig_term, sig_int, sig_hup;
  int stopping;
  struct ledger_watch *ledger_watch;
  struct upload *upload;
  struct report_auto *report_auto;
  struct events *events;
};

static void main__usage(FILE *f)
{
  fprintf(f,
          "Usage: dualguardd -c FILE [options]\n"
          "  -c, --config FILE     plant configuration (YAML, default " DG_CONFIG_FILE ")\n"
          "      --check-config    validate the configuration and exit (0 valid, 1 invalid)\n"
          "      --db PATH         SQLite database (default: daemon.db from the config)\n"
          "      --http-listen A   listen address (default: daemon.http.listen)\n"
          "      --http-port N     listen port, 0 for any free port (default: daemon.http.port)\n"
          "      --dashboard DIR   directory of the web dashboard (default " DG_DASHBOARD_DIR ")\n"
          "      --log-level L     error, warn, info (default) or debug\n"
          "      --create-token P  issue an API token for person P, print it once and exit\n"
          "      --expires D       with --create-token: validity, e.g. 30d, 12h (default 90d, at most 3650d)\n"
          "      --list-tokens     list the API tokens (id, person, created, expires, last used, status) and exit\n"
          "      --revoke-token ID revoke API token ID and exit\n"
          "      --create-account L create login account L of person --person P (default: L) and exit; the\n"
          "                        password is read from the terminal (twice) or the first line of stdin\n"
          "      --set-password L  set the password of account L (read as for --create-account) and exit\n"
          "      --list-routes     print the HTTP API's routes (method, path, query parameters) and exit\n"
          "      --backup FILE     copy the database (also while the daemon runs) to FILE and exit\n"
          "      --export-dir DIR  write the national-field export as JSON files to DIR and exit\n"
          "      --export-since MS with --export-dir: only records changed after MS (epoch ms)\n"
          "  -V, --version         print the version\n");
}

static int main__parse_args(int argc, char **argv, struct dg_options *o)
{
  static const struct option opts[] = {
    {"config", required_argument, 0, 'c'},    {"check-config", no_argument, 0, 'k'},
    {"db", required_argument, 0, 'd'},        {"http-listen", required_argument, 0, 'l'},
    {"http-port", required_argument, 0, 'p'}, {"dashboard", required_argument, 0, 'D'},
    {"create-token", required_argument, 0, 'T'}, {"export-dir", required_argument, 0, 'E'},
    {"export-since", required_argument, 0, 'S'}, {"backup", required_argument, 0, 'B'},
    {"expires", required_argument, 0, 'X'},   {"list-tokens", no_argument, 0, 'K'},
    {"revoke-token", required_argument, 0, 'R'}, {"list-routes", no_argument, 0, 'O'},
    {"create-account", required_argument, 0, 'A'}, {"person", required_argument, 0, 'P'},
    {"set-password", required_argument, 0, 'W'},
    {"log-level", required_argument, 0, 'L'}, {"version", no_argument, 0, 'V'},
    {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
  o->http_port = -1;
  o->dashboard_dir = DG_DASHBOARD_DIR;
  o->token_valid_ms = AUTH_DEFAULT_VALID_MS;
  int c, level;
  char *end;
  uint64_t ms;
  while ((c = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
    switch (c) {
    case 'c': o->config_path = optarg; break;
    case 'k': o->check_only = 1; break;
    case 'T': o->create_token_for = optarg; break;
    case 'K': o->list_tokens = 1; break;
    case 'A': o->account = optarg; break;
    case 'P': o->account_person = optarg; break;
    case 'W': o->set_password = optarg; break;
    case 'O': o->list_routes = 1; break;
    case 'X':
      if (!config_parse_duration(optarg, &ms) || ms < 1 || ms > (uint64_t)AUTH_MAX_VALID_MS) {
        fprintf(stderr, "dualguardd: --expires: expected a duration from 1s to 3650d (e.g. 90d), got '%s'\n", optarg);
        return -EINVAL;
      }
      o->token_valid_ms = (int64_t)ms;
      break;
    case 'R':
      o->revoke_token = strtoll(optarg, &end, 10);
      if (*end || o->revoke_token <= 0) {
        fprintf(stderr, "dualguardd: --revoke-token: expected a token id (see --list-tokens), got '%s'\n", optarg);
        return -EINVAL;
      }
      break;
    case 'E': o->export_dir = optarg; break;
    case 'B': o->backup_to = optarg; break;
    case 'S':
      o->export_since_ms = strtoll(optarg, &end, 10);
      if (*end || o->export_since_ms < 0) {
        fprintf(stderr, "dualguardd: --export-since: expected epoch milliseconds, got '%s'\n", optarg);
        return -EINVAL;
      }
      break;
    case 'd': o->db_path = optarg; break;
    case 'l': o->http_listen = optarg; break;
    case 'D': o->dashboard_dir = optarg; break;
    case 'p':
      o->http_port = (int)strtol(optarg, &end, 10);
      if (*end || o->http_port < 0 || o->http_port > 65535) {
        fprintf(stderr, "dualguardd: --http-port: expected 0..65535, got '%s'\n", optarg);
        return -EINVAL;
      }
      break;
    case 'L':
      if ((level = dg_log_parse_level(optarg)) < 0) {
        fprintf(stderr, "dualguardd: --log-level: expected error, warn, info or debug, got '%s'\n", optarg);
        return -EINVAL;
      }
      dg_log_set_level(level);
      break;
    case 'V': printf("dualguardd %s\n", DG_VERSION); exit(0);
    case 'h': main__usage(stdout); exit(0);
    default: main__usage(stderr); return -EINVAL;
    }
  }
  if (!o->config_path) o->config_path = DG_CONFIG_FILE;
  return 0;
}

static int main__load_config(const char *path, struct dg_config **out)
{
  char err[512];
  int rc = config_load(path, out, err, sizeof err);
  if (rc) DG_ERR("config", "%s", err);
  return rc;
}

/* ---- shutdown ------------------------------------------------------------------------------- */

static void main__close_walk(uv_handle_t *h, void *arg)
{
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

/* Reading a large configuration peaks at several times what stays in use (the YAML tree, then
 * the model): hand the freed pages back so the resident size is what the daemon keeps. */
static void main__trim(void)
{
  heap_settle();
  heap_release_unused();
}

/* Order: HTTP and timers, field drivers, queue drain, durable flush, handles, loop. */
static void main__shutdown(struct dg_daemon *d)
{
  if (d->stopping) return;
  d->stopping = 1;
  DG_INFO("main", "shutting down");
  if (d->sdn) sdn_stopping(d->sdn);
  if (d->http) http_stop(d->http);
  d->http = NULL;
  login_free(d->login); /* password jobs still out end without touching the store */
  d->login = NULL;
  events_close(d->events);
  uv_signal_stop(&d->sig_term);
  uv_signal_stop(&d->sig_int);
  uv_signal_stop(&d->sig_hup);
  if (d->queue_ready) sampleq_set_blocking(&d->queue, 0); /* a producer waiting for room must not hold up its stop */
  mb_stop(d->modbus);
  d->modbus = NULL;
  if (d->mqtt) mqtt_stop(d->mqtt);
  d->mqtt = NULL;
  if (d->queue_ready) sampleq_close(&d->queue);
  if (d->engine_ready) engine_close(&d->engine);
  ledger_watch_close(d->ledger_watch);
  d->ledger_watch = NULL;
  if (d->escalate) escalate_close(d->escalate);
  if (d->notify) notify_close(d->notify);
  report_auto_close(d->report_auto);
  d->report_auto = NULL;
  upload_close(d->upload);
  d->upload = NULL;
  if (d->httpc) httpc_close(d->httpc);
  if (d->store) store_close(d->store);
  d->store = NULL;
  if (d->sdn) sdn_close(d->sdn);
  d->sdn = NULL;
}

static void main__on_stop_signal(uv_signal_t *h, int signum)
{
  DG_INFO("main", "received %s", strsignal(signum));
  main__shutdown(h->data);
}

/* ---- reload --------------------------------------------------------------------------------- */

/* The file with the plant-model edits of the journal replayed over it. */
static int main__load_with_edits(struct dg_daemon *d, struct dg_config **out)
{
  char err[512];
  size_t n = 0;
  int rc = model_edits_load(store_reader(d->store), d->opt.config_path, NULL, out, &n, err, sizeof err);
  if (rc) DG_ERR("config", "%s", err);
  else if (n) DG_INFO("config", "%zu plant-model edits replayed, %zu skipped", (*out)->n_edits_applied,
                      (*out)->n_edits_skipped);
  return rc;
}

/* Puts `cfg` in force (taking it): drivers restart, the engine keeps alarm state by rule
 * identity. 0, or -1 when the engine refused it (then it is freed and the old one stays). */
static int main__swap_config(struct dg_daemon *d, struct dg_config *cfg)
{
  int rc = 0;
  sdn_reloading(d->sdn);
  sampleq_set_blocking(&d->queue, 0);
  mb_stop(d->modbus);
  d->modbus = NULL;
  mqtt_stop(d->mqtt);
  d->mqtt = NULL;
  sampleq_drain_now(&d->queue);
  engine_flush_history(&d->engine);
  /* Risk levels under the old config are noted first, so the new assessment's changes are
   * recorded with the edit or reload that made them. */
  if (d->ledger_watch) ledger_watch_risk(d->ledger_watch, dg_wall_ms());
  store_wait_quiet(d->store); /* reads and jobs in flight borrow the old config */
  struct dg_config *old = d->cfg;
  if (engine_reload(&d->engine, cfg)) {
    DG_ERR("main", "reload failed: the configuration in force is kept");
    config_free(cfg);
    cfg = old;
    old = NULL;
    rc = -1;
  }
  d->cfg = cfg;
  ledger_set_config(d->ledger, cfg);
  notify_set_config(d->notify, cfg);
  escalate_set_config(d->escalate, cfg);
  upload_reconcile(d->upload); /* model records changed by the file carry no change mark */
  sampleq_set_blocking(&d->queue, 1);
  if (mqtt_start(&d->mqtt, &d->loop, cfg, &d->queue)) DG_ERR("main", "MQTT driver did not restart");
  if (mb_start(&d->modbus, &d->loop, cfg, &d->queue)) DG_ERR("main", "Modbus driver did not restart");
  d->api.mqtt = d->mqtt;
  d->api.modbus = d->modbus;
  if (d->ledger_watch) ledger_watch_risk(d->ledger_watch, dg_wall_ms());
  store_wait_quiet(d->store);
  config_free(old);
  main__trim();
  sdn_ready(d->sdn, "configuration reloaded");
  DG_INFO("main", "configuration reloaded: %zu points, %zu rules", cfg->n_points, cfg->n_rules);
  return rc;
}

static void main__reload(struct dg_daemon *d)
{
  struct dg_config *cfg = NULL;
  DG_INFO("main", "reloading %s", d->opt.config_path);
  if (main__load_with_edits(d, &cfg)) {
    DG_ERR("main", "reload refused: the configuration in force is kept");
    return;
  }
  main__swap_config(d, cfg);
}

/* api_ctx.apply_model: a plant-model edit has been committed; its config goes in force. */
static int main__apply_model(void *ud, struct dg_config *cfg)
{
  return main__swap_config(ud, cfg);
}

/* At start-up, once the store is open: the file alone was loaded; if the journal holds edits,
 * the model in force is the file with them. If they no longer validate over the file, the file
 * alone stays in force (and the error says why). */
static void main__start_with_edits(struct dg_daemon *d)
{
  struct dg_config *cfg = NULL;
  size_t n = 0;
  char err[512];
  /* Without edits the model in force is the file just loaded: reading it again would double
   * the start-up of a large plant. */
  if (model_edits_count(store_reader(d->store), &n) == 0 && n == 0) return;
  int rc = model_edits_load(store_reader(d->store), d->opt.config_path, NULL, &cfg, &n, err, sizeof err);
  if (rc) {
    DG_ERR("config", "%s", err);
    DG_ERR("main", "plant-model edits not applied: running on %s alone", d->opt.config_path);
    return;
  }
  if (!n) {
    config_free(cfg);
    return;
  }
  DG_INFO("config", "%zu plant-model edits replayed, %zu skipped", cfg->n_edits_applied, cfg->n_edits_skipped);
  config_free(d->cfg);
  d->cfg = cfg;
}

static void main__on_hup(uv_signal_t *h, int signum) { main__reload(h->data); }

/* ---- start-up ------------------------------------------------------------------------------- */

static int main__signals(struct dg_daemon *d)
{
  uv_signal_t *sigs[] = {&d->sig_term, &d->sig_int, &d->sig_hup};
  for (int i = 0; i < 3; i++) {
    uv_signal_init(&d->loop, sigs[i]);
    sigs[i]->data = d;
  }
  signal(SIGPIPE, SIG_IGN);
  int rc = uv_signal_start(&d->sig_term, main__on_stop_signal, SIGTERM);
  if (!rc) rc = uv_signal_start(&d->sig_int, main__on_stop_signal, SIGINT);
  if (!rc) rc = uv_signal_start(&d->sig_hup, main__on_hup, SIGHUP);
  return rc;
}

static const char *main__db_path(const struct dg_daemon *d)
{
  return d->opt.db_path ? d->opt.db_path : d->cfg->db_path;
}

static int main__open_store(struct dg_daemon *d)
{
  char err[512];
  const char *path = main__db_path(d);
  int rc = store_open(&d->store, &d->loop, path, err, sizeof err);
  if (rc) DG_ERR("store", "%s", err);
  else DG_INFO("store", "database %s open", path);
  /* Attachments belong with the database: their directory does not move on reload. */
  if (!rc && !d->attachments_dir && !(d->attachments_dir = attach_dir(d->cfg->attachments_dir, path))) rc = -ENOMEM;
  return rc;
}

/* A dashboard folder that cannot be served is said at start: the API still runs, and "/"
 * answers 404. */
static void main__dashboard(struct dg_daemon *d)
{
  char index[4096];
  const char *dir = d->opt.dashboard_dir;
  snprintf(index, sizeof index, "%s/index.html", dir);
  if (access(index, R_OK) != 0) {
    DG_ERR("http", "dashboard not served: cannot read %s: %s (give its folder with --dashboard DIR)", index,
           strerror(errno));
    return;
  }
  if (http_static(d->http, "/", dir)) DG_ERR("http", "dashboard not served from %s", dir);
  else DG_INFO("http", "dashboard from %s", dir);
}

static int main__start_http(struct dg_daemon *d)
{
  const struct dg_config *c = d->cfg;
  const char *addr = d->opt.http_listen ? d->opt.http_listen : c->http_listen;
  uint16_t port = d->opt.http_port >= 0 ? (uint16_t)d->opt.http_port : c->http_port;
  struct http_options o = {.listen = addr, .port = port, .max_connections = c->http_max_connections,
                           .max_connections_per_client = c->http_max_per_client, .fd_reserve = c->http_fd_reserve,
                           .hosts = (const char *const *)c->http_hosts, .n_hosts = c->n_http_hosts,
                           .tls_cert = c->http_tls_cert, .tls_key = c->http_tls_key};
  int rc = http_start_opts(&d->http, &d->loop, &o);
  if (rc) {
    DG_ERR("http", "cannot listen on %s:%u: %s", addr, port, strerror(-rc));
    return rc;
  }
  d->api = (struct api_ctx){.engine = &d->engine, .store = d->store, .mqtt = d->mqtt, .modbus = d->modbus,
                            .notify = d->notify, .escalate = d->escalate, .queue = &d->queue, .started_ms = dg_wall_ms(),
                            .authenticate = auth_authenticate, .auth_ud = &d->auth,
                            .apply_model = main__apply_model, .model_ud = d,
                            .attachments_dir = d->attachments_dir, .http = d->http,
                            .upload = d->upload, .login = d->login};
  rc = api_register(d->http, &d->api);
  if (!rc) rc = http_read_auth(d->http, "/api/", api_admit, &d->api, c->http_open_reads_on_loopback);
  if (!rc) main__dashboard(d);
  /* The actual port, on one line tests and scripts can read. */
  if (!rc) DG_INFO("http", "listening on %s://%s:%u", c->http_tls_cert ? "https" : "http", addr, http_port(d->http));
  return rc;
}

static int64_t main__modbus_heartbeat(void *ud)
{
  struct dg_daemon *d = ud;
  return d->modbus ? mb_heartbeat_ms(d->modbus) : dg_mono_ms();
}

static bool main__store_failing(void *ud, char *why, size_t len)
{
  struct dg_daemon *d = ud;
  return d->store && store_failing(d->store, why, len);
}

/* The key of acknowledgement links lives beside the database (never in it). */
static void main__link_key(struct dg_daemon *d)
{
  const char *db = main__db_path(d);
  char path[4096];
  if (!strcmp(db, ":memory:")) return;
  snprintf(path, sizeof path, "%s.ackkey", db);
  escalate_set_link_key_file(d->escalate, path);
}

static int main__start(struct dg_daemon *d)
{
  int rc;
  if ((rc = uv_loop_init(&d->loop))) return rc;
  if ((rc = main__signals(d))) return rc;
  if ((rc = main__open_store(d))) return rc;
  main__start_with_edits(d);
  if ((rc = login_new(&d->login, &d->loop, d->store, (const struct dg_config *const *)&d->cfg, d->cfg->http_tls_cert != NULL)))
    return rc;
  d->auth = (struct auth){(const struct dg_config *const *)&d->cfg, d->store, d->login};
  if ((rc = ledger_open(&d->ledger, d->cfg, d->store))) return rc;
  if ((rc = httpc_init(&d->httpc, &d->loop))) return rc;
  if ((rc = notify_init(&d->notify, &d->loop, d->cfg, d->store, d->httpc))) return rc;
  if ((rc = engine_init(&d->engine, &d->loop, d->cfg, d->store, d->ledger, d->notify))) return rc;
  d->engine_ready = 1;
  if ((rc = events_new(&d->events, &d->loop, d->cfg->http_event_buffer))) return rc;
  d->engine.events = d->engine.txn.events = d->events;
  if ((rc = escalate_init(&d->escalate, &d->loop, d->cfg, d->store, d->notify))) return rc;
  d->engine.txn.escalate = d->escalate;
  main__link_key(d);
  if ((rc = notify_resume(d->notify))) return rc;
  if ((rc = escalate_resume(d->escalate))) return rc;
  esc_wire(d->ledger, d->escalate, &d->ledger_watch);
  if ((rc = ledger_watch_start(&d->ledger_watch, &d->engine))) return rc;
  if ((rc = upload_start(&d->upload, &d->loop, (const struct dg_config *const *)&d->cfg, d->store, d->httpc)))
    return rc;
  if ((rc = report_auto_start(&d->report_auto, &d->loop, (const struct dg_config *const *)&d->cfg, d->store,
                              d->notify, d->upload)))
    return rc;
  if ((rc = sampleq_init(&d->queue, &d->loop, engine_on_samples, &d->engine))) return rc;
  d->queue_ready = 1;
  d->engine.txn.hold = &d->queue;
  if ((rc = mqtt_start(&d->mqtt, &d->loop, d->cfg, &d->queue))) return rc;
  if ((rc = mb_start(&d->modbus, &d->loop, d->cfg, &d->queue))) return rc;
  if ((rc = main__start_http(d))) return rc;
  if ((rc = sdn_init(&d->sdn, &d->loop))) return rc;
  sdn_add_heartbeat(d->sdn, "store writer", store_heartbeat_ms, d->store, STORE_MAX_HEARTBEAT_AGE_MS);
  sdn_add_heartbeat(d->sdn, "history writer", store_heartbeat_ms, store_history(d->store), STORE_MAX_HEARTBEAT_AGE_MS);
  /* Registered once: the driver pointer changes on reload, so the heartbeat reads it through d. */
  sdn_add_heartbeat(d->sdn, "modbus buses", main__modbus_heartbeat, d, MODBUS_MAX_HEARTBEAT_AGE_MS);
  sdn_set_health(d->sdn, main__store_failing, d);
  char status[128];
  snprintf(status, sizeof status, "%zu points, %zu rules", d->cfg->n_points, d->cfg->n_rules);
  main__trim();
  sdn_ready(d->sdn, status);
  DG_INFO("main", "dualguardd %s ready: site %s, %s", DG_VERSION, d->cfg->site_code, status);
  return 0;
}

static void main__free(struct dg_daemon *d)
{
  if (d->engine_ready) engine_free(&d->engine);
  events_free(d->events);
  ledger_close(d->ledger);
  config_free(d->cfg);
  free(d->attachments_dir);
}

/* A one-shot command run by root works on the database as the owner of its directory (the
 * service user of an installed system), so it never leaves a root-owned database, -wal or -shm
 * file there for the daemon to trip over. The configuration has been read already. */
static int main__become_db_owner(const struct dg_daemon *d)
{
  char *copy = strdup(main__db_path(d));
  struct stat sb;
  int rc = copy ? 0 : -ENOMEM;
  if (!rc && geteuid() == 0 && stat(dirname(copy), &sb) == 0 && sb.st_uid != 0) {
    struct passwd *pw = getpwuid(sb.st_uid);
    gid_t gid = pw ? pw->pw_gid : sb.st_gid;
    if ((pw ? initgroups(pw->pw_name, gid) : setgroups(0, NULL)) || setgid(gid) || setuid(sb.st_uid)) rc = -errno;
    if (rc) DG_ERR("main", "cannot switch to the owner (uid %u) of the database folder: %s", (unsigned)sb.st_uid,
                   strerror(-rc));
    else DG_INFO("main", "working as %s, the owner of the database folder", pw ? pw->pw_name : "its owner");
  }
  free(copy);
  return rc;
}

/* --backup: an online copy of the database, consistent while the daemon writes. */
static int main__backup(struct dg_daemon *d)
{
  char err[512];
  int rc = uv_loop_init(&d->loop);
  if (!rc) rc = main__become_db_owner(d);
  if (!rc && (rc = store_backup(main__db_path(d), d->opt.backup_to, err, sizeof err))) DG_ERR("store", "%s", err);
  if (!rc) printf("%s\n", d->opt.backup_to);
  return rc;
}

/* The store and the token functions for a one-shot token command. */
static int main__open_auth(struct dg_daemon *d)
{
  int rc = uv_loop_init(&d->loop);
  if (!rc) rc = main__become_db_owner(d);
  if (!rc) rc = main__signals(d);
  if (!rc) rc = main__open_store(d);
  if (!rc) d->auth = (struct auth){(const struct dg_config *const *)&d->cfg, d->store, NULL};
  return rc;
}

/* --create-token: open the database, store a new token's hash, print the token once. */
static int main__create_token(struct dg_daemon *d)
{
  char token[AUTH_TOKEN_HEX_LEN + 1];
  const char *who = d->opt.create_token_for;
  int rc = main__open_auth(d);
  if (rc) return rc;
  const struct dg_person *p = dg_config_person(d->cfg, who);
  if (!p) {
    DG_ERR("auth", "no person '%s' in %s", who, d->opt.config_path);
    return -ENOENT;
  }
  if (!auth_role_usable(p))
    DG_WARN("auth", "'%s' has no role the API knows (viewer, operator, workshop_director, engineer, safety_director,"
            " principal, admin): every request with this token will be refused (403); 该人员没有可用角色", who);
  rc = auth_create_token(&d->auth, who, d->opt.token_valid_ms, token, sizeof token);
  if (!rc) printf("%s\n", token);
  if (!rc) DG_INFO("auth", "token for '%s' issued, valid %lld days", who, (long long)(d->opt.token_valid_ms / 86400000));
  return rc;
}

static void main__print_ms(const cJSON *o, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  char text[32] = "-";
  if (cJSON_IsNumber(v)) {
    time_t t = (time_t)(v->valuedouble / 1000);
    struct tm tm;
    strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
  }
  printf("  %-19s", text);
}

/* --list-tokens: one line per token, newest first. */
static int main__list_tokens(struct dg_daemon *d)
{
  int rc = main__open_auth(d);
  if (rc) return rc;
  cJSON *arr = auth_list_tokens(store_reader(d->store), dg_wall_ms());
  if (!arr) return -EIO;
  printf("%-6s  %-16s  %-19s  %-19s  %-19s  %s\n", "id", "person", "created", "expires", "last used", "status");
  const cJSON *t;
  cJSON_ArrayForEach(t, arr) {
    printf("%-6.0f  %-16s", cJSON_GetObjectItem(t, "id")->valuedouble, cJSON_GetObjectItem(t, "person")->valuestring);
    main__print_ms(t, "created_ms");
    main__print_ms(t, "expires_ms");
    main__print_ms(t, "last_used_ms");
    printf("  %s\n", cJSON_GetObjectItem(t, "status")->valuestring);
  }
  cJSON_Delete(arr);
  return 0;
}

/* --revoke-token ID */
static int main__revoke_token(struct dg_daemon *d)
{
  int rc = main__open_auth(d);
  if (!rc) rc = auth_revoke_token(d->store, d->opt.revoke_token);
  if (rc == -ENOENT) DG_ERR("auth", "no token %lld (see --list-tokens)", (long long)d->opt.revoke_token);
  else if (rc == -EALREADY) DG_WARN("auth", "token %lld was already revoked", (long long)d->opt.revoke_token);
  else if (!rc) printf("token %lld revoked\n", (long long)d->opt.revoke_token);
  return rc == -EALREADY ? 0 : rc;
}

/* --export-dir: write the export files from the database and exit. */
static int main__export(struct dg_daemon *d)
{
  char err[512];
  int rc = uv_loop_init(&d->loop);
  if (!rc) rc = main__become_db_owner(d);
  if (!rc) rc = main__signals(d);
  if (!rc) rc = main__open_store(d);
  if (!rc) main__start_with_edits(d); /* export the model in force, with the API's edits */
  if (!rc && d->cfg->national) rc = national_assign_ids(d->cfg, d->store);
  if (!rc) rc = export_write_files(d->cfg, store_reader(d->store), d->opt.export_since_ms, d->opt.export_dir, err,
                                   sizeof err);
  if (rc && d->store) DG_ERR("export", "%s", err);
  else if (!rc) printf("%s\n", d->opt.export_dir);
  return rc;
}

/* --create-account, --set-password */
static int main__account(struct dg_daemon *d)
{
  int rc = main__open_auth(d);
  if (!rc && d->opt.account)
    rc = login_cli_create(d->store, d->cfg, d->opt.account, d->opt.account_person ? d->opt.account_person : d->opt.account);
  else if (!rc)
    rc = login_cli_set_password(d->store, d->opt.set_password);
  return rc;
}

/* A one-shot command instead of running the daemon: 0 none, else its result. */
static int main__one_shot(struct dg_daemon *d, int *rc)
{
  if (d->opt.create_token_for) *rc = main__create_token(d);
  else if (d->opt.list_tokens) *rc = main__list_tokens(d);
  else if (d->opt.revoke_token) *rc = main__revoke_token(d);
  else if (d->opt.account || d->opt.set_password) *rc = main__account(d);
  else if (d->opt.export_dir) *rc = main__export(d);
  else if (d->opt.backup_to) *rc = main__backup(d);
  else return 0;
  return 1;
}

/* With TZ unset glibc checks /etc/localtime again at every localtime/mktime call (a stat each;
 * 7 % of the start-up with 100 000 measures whose inspection periods are computed). Naming the
 * file reads it once; a change of the system time zone then takes a restart. */
static void main__pin_timezone(void)
{
  if (!getenv("TZ")) setenv("TZ", ":/etc/localtime", 0);
  tzset();
}

int main(int argc, char **argv)
{
  static struct dg_daemon d;
  main__pin_timezone();
  if (main__parse_args(argc, argv, &d.opt)) return 2;
  if (d.opt.list_routes) {
    api_list_routes(stdout);
    return 0;
  }
  heap_prepare_large(d.opt.config_path);
  if (main__load_config(d.opt.config_path, &d.cfg)) return 1;
  if (d.opt.check_only) {
    printf("%s: OK (%zu hazard sources, %zu points, %zu rules)\n", d.opt.config_path, d.cfg->n_sources,
           d.cfg->n_points, d.cfg->n_rules);
    config_free(d.cfg);
    return 0;
  }
  int rc = 0;
  if (!main__one_shot(&d, &rc)) {
    rc = main__start(&d);
    if (rc) DG_ERR("main", "start-up failed: %s", strerror(rc < 0 ? -rc : rc));
    else uv_run(&d.loop, UV_RUN_DEFAULT);
  }
  main__shutdown(&d);
  /* Let every module finish closing its own handles (lws needs a few passes), then close what
   * is left: the stopped signal handles. */
  uv_run(&d.loop, UV_RUN_DEFAULT);
  uv_walk(&d.loop, main__close_walk, NULL);
  uv_run(&d.loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&d.loop)) DG_WARN("main", "event loop closed with handles still open");
  main__free(&d);
  DG_INFO("main", "stopped");
  return rc ? 1 : 0;
}
