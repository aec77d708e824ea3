/* dualguardctl — status, alarms, hazards, the risk map and API tokens of a running dualguardd
 * over its HTTP API, and the daemon's own configuration check. Readable tables by default, the
 * server's JSON with --json. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "ctl.h"

#define CTL_DEFAULT_URL "http://127.0.0.1:8080"
#define CTL_MAX_SETS 16

struct ctl_args {
  const char *state, *limit, *cursor, *comment, *minutes, *reason, *expires;
  const char *sets[CTL_MAX_SETS];
  int n_sets;
  char **pos; /* subcommand words */
  int n_pos;
};

static void ctl__usage(FILE *f)
{
  fprintf(f,
          "usage: dualguardctl [--url URL] [--token T | --token-file F] [--json] COMMAND\n"
          "  status                                   health, drivers and alarm counts\n"
          "  alarms list [--state S]                  S: all, active, UNACK, ACKED, RTN_UNACK, NORMAL\n"
          "  alarms ack ID [--comment C]\n"
          "  alarms shelve ID --minutes N --reason R\n"
          "  hazards list [--state S] [--limit N] [--cursor C]\n"
          "  hazards show ID\n"
          "  hazards transition ID ACTION [--comment C] [--set FIELD=VALUE ...]\n"
          "                                           ACTION: rectify assign submit verify reject confirm dismiss\n"
          "  risk                                     the four-colour risk map\n"
          "  tokens list | tokens create PERSON [--expires 90d] | tokens revoke ID\n"
          "  check-config FILE                        validate a configuration with the daemon's loader\n"
          "URL: --url, else DUALGUARD_URL, else " CTL_DEFAULT_URL ". Token: --token, --token-file,\n"
          "DUALGUARD_TOKEN or DUALGUARD_TOKEN_FILE. Exit 0 done, 1 refused, 2 usage, 3 unreachable.\n");
}

/* ---- small helpers -------------------------------------------------------------------------- */

static const char *ctl__str(const cJSON *o, const char *k)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : "-";
}

static double ctl__num(const cJSON *o, const char *k, double dflt)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static const char *ctl__time(const cJSON *o, const char *k, char *out, size_t len)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  if (!cJSON_IsNumber(v)) return "-";
  time_t t = (time_t)(v->valuedouble / 1000);
  struct tm tm;
  strftime(out, len, "%Y-%m-%d %H:%M", localtime_r(&t, &tm));
  return out;
}

/* Prints s left-aligned in `width` terminal columns and a space: Chinese characters (3- and
 * 4-byte UTF-8) take two columns, so byte counts would misalign the tables. */
static void ctl__cell(const char *s, int width)
{
  int cols = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if ((*p & 0xC0) != 0x80) cols += *p >= 0xE0 ? 2 : 1;
  fputs(s, stdout);
  for (int i = cols; i < width; i++) putchar(' ');
  putchar(' ');
}

static int ctl__id(const char *s, long long *id)
{
  char *end;
  errno = 0;
  *id = s ? strtoll(s, &end, 10) : 0;
  if (!s || !*s || *end || errno || *id <= 0) {
    fprintf(stderr, "dualguardctl: expected a positive id, got '%s'\n", s ? s : "");
    return -1;
  }
  return 0;
}

static void ctl__print_json(const cJSON *j)
{
  char *t = cJSON_Print(j);
  if (t) puts(t);
  free(t);
}

/* GET path; with --json prints the answer and returns; else hands it to show. */
static int ctl__get_show(const struct ctl *c, const char *path, void (*show)(const cJSON *))
{
  cJSON *a;
  int rc = ctl_call(c, "GET", path, NULL, &a);
  if (rc) return rc;
  if (c->json) ctl__print_json(a);
  else show(a);
  cJSON_Delete(a);
  return 0;
}

/* ---- status --------------------------------------------------------------------------------- */

static int ctl__status(const struct ctl *c)
{
  cJSON *health, *drivers, *alarms;
  int rc = ctl_call(c, "GET", "/healthz", NULL, &health);
  if (rc == CTL_EXIT_UNREACHABLE) return rc;
  if (!health) return rc; /* a degraded server answers 503 with its reason, printed already */
  if ((rc = ctl_call(c, "GET", "/api/v1/drivers", NULL, &drivers))) goto no_drivers;
  if ((rc = ctl_call(c, "GET", "/api/v1/alarms?state=active", NULL, &alarms))) goto no_alarms;
  if (c->json) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemReferenceToObject(o, "health", health);
    cJSON_AddItemReferenceToObject(o, "drivers", cJSON_GetObjectItem(drivers, "drivers"));
    cJSON_AddItemReferenceToObject(o, "alarms", cJSON_GetObjectItem(alarms, "alarms"));
    ctl__print_json(o);
    cJSON_Delete(o);
  } else {
    printf("%s  status %s  version %s  uptime %.0f s\n", ctl__str(health, "site"), ctl__str(health, "status"),
           ctl__str(health, "version"), ctl__num(health, "uptime_s", 0));
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItem(drivers, "drivers"))
      printf("driver %-6s %-16s %s\n", ctl__str(d, "kind"), ctl__str(d, "id"),
             cJSON_IsTrue(cJSON_GetObjectItem(d, "connected")) ? "connected" : "DISCONNECTED");
    int active = 0, unacked = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(alarms, "alarms")) {
      active++;
      unacked += !cJSON_IsTrue(cJSON_GetObjectItem(a, "acked"));
    }
    printf("alarms active %d, unacknowledged %d\n", active, unacked);
  }
  cJSON_Delete(alarms);
no_alarms:
  cJSON_Delete(drivers);
no_drivers:
  cJSON_Delete(health);
  return rc;
}

/* ---- alarms --------------------------------------------------------------------------------- */

static void ctl__alarm_row(const cJSON *a)
{
  char v[32] = "-", lim[32] = "-";
  if (cJSON_IsNumber(cJSON_GetObjectItem(a, "live_value"))) snprintf(v, sizeof v, "%g", ctl__num(a, "live_value", 0));
  if (cJSON_IsNumber(cJSON_GetObjectItem(a, "limit"))) snprintf(lim, sizeof lim, "%g", ctl__num(a, "limit", 0));
  printf("%-6.0f %-9s %-10s %-12s %10s %10s %-8s %s\n", ctl__num(a, "id", 0), ctl__str(a, "priority"),
         ctl__str(a, "state"), ctl__str(a, "point"), v, lim, cJSON_IsNumber(cJSON_GetObjectItem(a, "shelved_until_ms"))
                                                               ? "shelved" : "-", ctl__str(a, "rule_name"));
}

static void ctl__alarms_show(const cJSON *ans)
{
  const cJSON *a;
  printf("%-6s %-9s %-10s %-12s %10s %10s %-8s %s\n", "ID", "PRIORITY", "STATE", "POINT", "LIVE", "LIMIT", "SHELVED",
         "RULE");
  cJSON_ArrayForEach(a, cJSON_GetObjectItem(ans, "alarms")) ctl__alarm_row(a);
}

static int ctl__alarm_action(const struct ctl *c, const struct ctl_args *g, const char *action)
{
  long long id;
  char path[96];
  cJSON *ans;
  if (g->n_pos != 3) fprintf(stderr, "dualguardctl: expected alarms %s ID\n", action);
  if (g->n_pos != 3 || ctl__id(g->pos[2], &id)) return CTL_EXIT_USAGE;
  cJSON *body = cJSON_CreateObject();
  if (strcmp(action, "shelve") == 0) {
    char *end;
    double m = g->minutes ? strtod(g->minutes, &end) : 0;
    if (!g->minutes || *end || !(m > 0) || !g->reason) {
      fprintf(stderr, "dualguardctl: alarms shelve needs --minutes N (> 0) and --reason TEXT\n");
      cJSON_Delete(body);
      return CTL_EXIT_USAGE;
    }
    cJSON_AddNumberToObject(body, "minutes", m);
    cJSON_AddStringToObject(body, "reason", g->reason);
  } else if (g->comment) {
    cJSON_AddStringToObject(body, "comment", g->comment);
  }
  snprintf(path, sizeof path, "/api/v1/alarms/%lld/%s", id, action);
  int rc = ctl_call(c, "POST", path, body, &ans);
  cJSON_Delete(body);
  if (rc) return rc;
  if (c->json) ctl__print_json(ans);
  else ctl__alarm_row(ans);
  cJSON_Delete(ans);
  return 0;
}

static int ctl__alarms(const struct ctl *c, const struct ctl_args *g)
{
  const char *sub = g->n_pos > 1 ? g->pos[1] : "";
  if (strcmp(sub, "ack") == 0 || strcmp(sub, "shelve") == 0) return ctl__alarm_action(c, g, sub);
  if (strcmp(sub, "list") || g->n_pos != 2) {
    fprintf(stderr, "dualguardctl: expected alarms list, alarms ack ID or alarms shelve ID\n");
    return CTL_EXIT_USAGE;
  }
  char path[128] = "/api/v1/alarms", esc[64];
  if (g->state) {
    if (ctl_escape(g->state, esc, sizeof esc)) return CTL_EXIT_USAGE;
    snprintf(path, sizeof path, "/api/v1/alarms?state=%s", esc);
  }
  return ctl__get_show(c, path, ctl__alarms_show);
}

/* ---- hazards -------------------------------------------------------------------------------- */

static void ctl__hazard_row(const cJSON *h)
{
  char dl[32];
  printf("%-6.0f ", ctl__num(h, "id", 0));
  ctl__cell(ctl__str(h, "code"), 28);
  ctl__cell(ctl__str(h, "danger_level_zh"), 8);
  ctl__cell(ctl__str(h, "danger_state_zh"), 6);
  printf("%-16s %s\n", ctl__time(h, "deadline_ms", dl, sizeof dl), ctl__str(h, "description"));
}

static void ctl__hazards_show(const cJSON *ans)
{
  const cJSON *h, *next = cJSON_GetObjectItem(ans, "next_cursor");
  printf("%-6s %-28s %-8s %-6s %-16s %s\n", "ID", "CODE", "LEVEL", "STATE", "DEADLINE", "DESCRIPTION");
  cJSON_ArrayForEach(h, cJSON_GetObjectItem(ans, "hazards")) ctl__hazard_row(h);
  if (cJSON_IsString(next)) printf("more: --cursor %s\n", next->valuestring);
}

static void ctl__hazard_show(const cJSON *h)
{
  char t[32];
  static const char *const keys[] = {"code", "danger_level_zh", "danger_state_zh", "description", "reason",
                                     "rectify_measures", "liable_person", "assignee", "rectifier", "verifier",
                                     "unit", "measure", "rule"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) printf("%-17s %s\n", keys[i], ctl__str(h, keys[i]));
  printf("%-17s %s\n", "deadline", ctl__time(h, "deadline_ms", t, sizeof t));
  const cJSON *j;
  puts("journal:");
  cJSON_ArrayForEach(j, cJSON_GetObjectItem(h, "journal"))
    printf("  %s  %-10s %-8s %s\n", ctl__time(j, "ts_ms", t, sizeof t), ctl__str(j, "action"), ctl__str(j, "actor"),
           ctl__str(j, "comment"));
}

/* --set FIELD=VALUE: a number when VALUE is one, else text. */
static int ctl__add_set(cJSON *body, const char *set)
{
  const char *eq = strchr(set, '=');
  char key[64], *end;
  if (!eq || eq == set || (size_t)(eq - set) >= sizeof key) {
    fprintf(stderr, "dualguardctl: --set: expected FIELD=VALUE, got '%s'\n", set);
    return -1;
  }
  snprintf(key, sizeof key, "%.*s", (int)(eq - set), set);
  double v = strtod(eq + 1, &end);
  if (eq[1] && !*end) cJSON_AddNumberToObject(body, key, v);
  else cJSON_AddStringToObject(body, key, eq + 1);
  return 0;
}

static int ctl__hazard_transition(const struct ctl *c, const struct ctl_args *g)
{
  long long id;
  char path[128], act[32];
  cJSON *ans;
  if (g->n_pos != 4 || ctl__id(g->pos[2], &id) || ctl_escape(g->pos[3], act, sizeof act)) {
    fprintf(stderr, "dualguardctl: expected hazards transition ID ACTION\n");
    return CTL_EXIT_USAGE;
  }
  cJSON *body = cJSON_CreateObject();
  if (g->comment) cJSON_AddStringToObject(body, "comment", g->comment);
  for (int i = 0; i < g->n_sets; i++)
    if (ctl__add_set(body, g->sets[i])) {
      cJSON_Delete(body);
      return CTL_EXIT_USAGE;
    }
  snprintf(path, sizeof path, "/api/v1/hazards/%lld/%s", id, act);
  int rc = ctl_call(c, "POST", path, body, &ans);
  cJSON_Delete(body);
  if (rc) return rc;
  if (c->json) ctl__print_json(ans);
  else printf("hazard %lld %s %s: now %s\n", id, ctl__str(ans, "code"), ctl__str(ans, "action"),
              ctl__str(ans, "danger_state_zh"));
  cJSON_Delete(ans);
  return 0;
}

static int ctl__hazards(const struct ctl *c, const struct ctl_args *g)
{
  const char *sub = g->n_pos > 1 ? g->pos[1] : "";
  char path[256], esc[3][64] = {"", "", ""};
  long long id;
  if (strcmp(sub, "transition") == 0) return ctl__hazard_transition(c, g);
  if (strcmp(sub, "show") == 0) {
    if (g->n_pos != 3) fprintf(stderr, "dualguardctl: expected hazards show ID\n");
    if (g->n_pos != 3 || ctl__id(g->pos[2], &id)) return CTL_EXIT_USAGE;
    snprintf(path, sizeof path, "/api/v1/hazards/%lld", id);
    return ctl__get_show(c, path, ctl__hazard_show);
  }
  if (strcmp(sub, "list") || g->n_pos != 2) {
    fprintf(stderr, "dualguardctl: expected hazards list, hazards show ID or hazards transition ID ACTION\n");
    return CTL_EXIT_USAGE;
  }
  if (ctl_escape(g->state ? g->state : "open", esc[0], sizeof esc[0]) ||
      ctl_escape(g->limit ? g->limit : "50", esc[1], sizeof esc[1]) ||
      (g->cursor && ctl_escape(g->cursor, esc[2], sizeof esc[2])))
    return CTL_EXIT_USAGE;
  snprintf(path, sizeof path, "/api/v1/hazards?state=%s&limit=%s%s%s", esc[0], esc[1], g->cursor ? "&cursor=" : "",
           esc[2]);
  return ctl__get_show(c, path, ctl__hazards_show);
}

/* ---- risk map ------------------------------------------------------------------------------- */

static void ctl__risk_show(const cJSON *ans)
{
  const cJSON *u;
  printf("%-10s %-20s %-10s %-10s %s\n", "UNIT", "NAME", "ASSESSED", "CURRENT", "RAISED BY");
  cJSON_ArrayForEach(u, cJSON_GetObjectItem(ans, "units")) {
    const cJSON *alarm = cJSON_GetObjectItem(cJSON_GetObjectItem(u, "raised_by"), "alarm");
    char why[96] = "-";
    if (cJSON_IsTrue(cJSON_GetObjectItem(u, "raised")))
      snprintf(why, sizeof why, "%s%s%s", ctl__str(u, "cause"), cJSON_IsObject(alarm) ? " " : "",
               cJSON_IsObject(alarm) ? ctl__str(alarm, "rule") : "");
    ctl__cell(ctl__str(u, "id"), 10);
    ctl__cell(ctl__str(u, "name"), 20);
    printf("%-10s %-10s %s\n", ctl__str(cJSON_GetObjectItem(u, "assessed"), "level"),
           ctl__str(cJSON_GetObjectItem(u, "current"), "level"), why);
  }
}

/* ---- tokens --------------------------------------------------------------------------------- */

static void ctl__tokens_show(const cJSON *ans)
{
  const cJSON *t;
  char a[32], b[32], c[32];
  printf("%-5s %-12s %-8s %-16s %-16s %s\n", "ID", "PERSON", "STATUS", "CREATED", "EXPIRES", "LAST USED");
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(ans, "tokens"))
    printf("%-5.0f %-12s %-8s %-16s %-16s %s\n", ctl__num(t, "id", 0), ctl__str(t, "person"), ctl__str(t, "status"),
           ctl__time(t, "created_ms", a, sizeof a), ctl__time(t, "expires_ms", b, sizeof b),
           ctl__time(t, "last_used_ms", c, sizeof c));
}

static int ctl__tokens(const struct ctl *c, const struct ctl_args *g)
{
  const char *sub = g->n_pos > 1 ? g->pos[1] : "";
  cJSON *ans = NULL;
  long long id;
  char path[64], t[32];
  int rc;
  if (strcmp(sub, "list") == 0 && g->n_pos == 2) return ctl__get_show(c, "/api/v1/tokens", ctl__tokens_show);
  if (strcmp(sub, "create") == 0 && g->n_pos == 3) {
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "person", g->pos[2]);
    if (g->expires) cJSON_AddStringToObject(body, "expires", g->expires);
    rc = ctl_call(c, "POST", "/api/v1/tokens", body, &ans);
    cJSON_Delete(body);
    if (!rc && c->json) ctl__print_json(ans);
    else if (!rc)
      printf("%s\n(token for %s, expires %s; shown only now, the server keeps its hash)\n", ctl__str(ans, "token"),
             ctl__str(ans, "person"), ctl__time(ans, "expires_ms", t, sizeof t));
  } else if (strcmp(sub, "revoke") == 0 && g->n_pos == 3) {
    if (ctl__id(g->pos[2], &id)) return CTL_EXIT_USAGE;
    snprintf(path, sizeof path, "/api/v1/tokens/%lld", id);
    rc = ctl_call(c, "DELETE", path, NULL, &ans);
    if (!rc && c->json) ctl__print_json(ans);
    else if (!rc) printf("token %lld revoked\n", id);
  } else {
    fprintf(stderr, "dualguardctl: expected tokens list, tokens create PERSON or tokens revoke ID\n");
    return CTL_EXIT_USAGE;
  }
  cJSON_Delete(ans);
  return rc;
}

/* ---- check-config --------------------------------------------------------------------------- */

static int ctl__check_config(const struct ctl *c, const struct ctl_args *g)
{
  struct dg_config *cfg = NULL;
  char err[512] = "";
  if (g->n_pos != 2) {
    fprintf(stderr, "dualguardctl: expected check-config FILE\n");
    return CTL_EXIT_USAGE;
  }
  const char *file = g->pos[1];
  int rc = config_load(file, &cfg, err, sizeof err);
  if (c->json) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", file);
    cJSON_AddBoolToObject(o, "valid", !rc);
    if (rc) cJSON_AddStringToObject(o, "error", err);
    else {
      cJSON_AddNumberToObject(o, "hazard_sources", (double)cfg->n_sources);
      cJSON_AddNumberToObject(o, "points", (double)cfg->n_points);
      cJSON_AddNumberToObject(o, "rules", (double)cfg->n_rules);
    }
    ctl__print_json(o);
    cJSON_Delete(o);
  } else if (rc) {
    fprintf(stderr, "%s\n", err);
  } else {
    printf("%s: OK (%zu hazard sources, %zu points, %zu rules)\n", file, cfg->n_sources, cfg->n_points, cfg->n_rules);
  }
  if (cfg) config_free(cfg);
  return rc ? CTL_EXIT_REFUSED : 0;
}

/* ---- arguments ------------------------------------------------------------------------------ */

/* The token from a file: its first line. */
static int ctl__read_token(const char *file, struct ctl *c)
{
  FILE *f = fopen(file, "r");
  if (!f || !fgets(c->token, sizeof c->token, f)) {
    fprintf(stderr, "dualguardctl: cannot read a token from %s: %s\n", file, f ? "empty file" : strerror(errno));
    if (f) fclose(f);
    return -1;
  }
  fclose(f);
  c->token[strcspn(c->token, "\r\n")] = '\0';
  return 0;
}

static int ctl__parse(int argc, char **argv, struct ctl *c, struct ctl_args *g)
{
  static const struct option opts[] = {
    {"url", required_argument, 0, 'u'},      {"token", required_argument, 0, 't'},
    {"token-file", required_argument, 0, 'f'}, {"json", no_argument, 0, 'j'},
    {"state", required_argument, 0, 's'},    {"limit", required_argument, 0, 'l'},
    {"cursor", required_argument, 0, 'C'},   {"comment", required_argument, 0, 'c'},
    {"minutes", required_argument, 0, 'm'},  {"reason", required_argument, 0, 'r'},
    {"expires", required_argument, 0, 'e'},  {"set", required_argument, 0, 'S'},
    {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
  const char *token = getenv("DUALGUARD_TOKEN"), *token_file = getenv("DUALGUARD_TOKEN_FILE");
  int o;
  c->url = getenv("DUALGUARD_URL");
  while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (o) {
    case 'u': c->url = optarg; break;
    case 't': token = optarg, token_file = NULL; break;
    case 'f': token_file = optarg, token = NULL; break;
    case 'j': c->json = 1; break;
    case 's': g->state = optarg; break;
    case 'l': g->limit = optarg; break;
    case 'C': g->cursor = optarg; break;
    case 'c': g->comment = optarg; break;
    case 'm': g->minutes = optarg; break;
    case 'r': g->reason = optarg; break;
    case 'e': g->expires = optarg; break;
    case 'S':
      if (g->n_sets == CTL_MAX_SETS) return -1;
      g->sets[g->n_sets++] = optarg;
      break;
    case 'h': ctl__usage(stdout); exit(0);
    default: return -1;
    }
  }
  if (!c->url || !c->url[0]) c->url = CTL_DEFAULT_URL;
  if (token && snprintf(c->token, sizeof c->token, "%s", token) >= (int)sizeof c->token) return -1;
  if (!token && token_file && ctl__read_token(token_file, c)) return -1;
  g->pos = argv + optind;
  g->n_pos = argc - optind;
  return g->n_pos > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
  static struct ctl c;
  static struct ctl_args g;
  char url[512];
  if (ctl__parse(argc, argv, &c, &g)) {
    ctl__usage(stderr);
    return CTL_EXIT_USAGE;
  }
  snprintf(url, sizeof url, "%s", c.url);
  for (size_t n = strlen(url); n && url[n - 1] == '/'; n--) url[n - 1] = '\0';
  c.url = url;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const char *cmd = g.pos[0];
  int rc = CTL_EXIT_USAGE;
  if (strcmp(cmd, "status") == 0 && g.n_pos == 1) rc = ctl__status(&c);
  else if (strcmp(cmd, "alarms") == 0) rc = ctl__alarms(&c, &g);
  else if (strcmp(cmd, "hazards") == 0) rc = ctl__hazards(&c, &g);
  else if (strcmp(cmd, "risk") == 0 && g.n_pos == 1) rc = ctl__get_show(&c, "/api/v1/risk-map", ctl__risk_show);
  else if (strcmp(cmd, "tokens") == 0) rc = ctl__tokens(&c, &g);
  else if (strcmp(cmd, "check-config") == 0) rc = ctl__check_config(&c, &g);
  else ctl__usage(stderr);
  curl_global_cleanup();
  return rc;
}
