/* plantsim — plays sensor scenarios onto an MQTT broker and a Modbus TCP server for demos and
 * tests.
 *
 *   plantsim --scenario FILE [--mqtt URI] [--speed X] [--once] [--client-id ID]
 *   plantsim publish --mqtt URI --topic T (--value V | --payload TEXT) [--qos N] [--retain]
 *                    [--format bare|json] [--json-path P] [--no-ts] [--client-id ID] */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mbserve.h"
#include "publisher.h"
#include "scenario.h"

#define PS_DEFAULT_URI "tcp://127.0.0.1:1883"
#define PS_CONNECT_TIMEOUT_MS 5000
#define PS_FLUSH_TIMEOUT_MS 10000
#define PS_EXIT_INCOMPLETE 3

static volatile sig_atomic_t ps_stop;

static void ps_on_signal(int sig) { ps_stop = 1; }

static void ps_usage(FILE *f)
{
  fprintf(f,
          "usage: plantsim --scenario FILE [--mqtt URI] [--speed X] [--once] [--client-id ID]\n"
          "                [--log-level error|warn|info|debug]\n"
          "       plantsim publish [--mqtt URI] --topic T (--value V | --payload TEXT) [--qos N]\n"
          "                [--retain] [--format bare|json] [--json-path P] [--no-ts]\n"
          "                [--client-id ID]\n"
          "  --mqtt       broker URI (default " PS_DEFAULT_URI ")\n"
          "  --speed      scenario seconds per real second (default 1)\n"
          "  --once       play the scenario once from start to end, then exit\n"
          "Exit status: 0 done, 1 error, 2 usage, 3 (--once) samples dropped or unacknowledged.\n");
}

static void ps_default_client_id(char *buf, size_t len, const char *given)
{
  if (given) snprintf(buf, len, "%s", given);
  else snprintf(buf, len, "plantsim-%ld", (long)getpid());
}

static void ps_sleep_until(const struct timespec *start, double offset_s)
{
  struct timespec at = *start;
  double whole = floor(offset_s);
  at.tv_sec += (time_t)whole;
  at.tv_nsec += (long)((offset_s - whole) * 1e9);
  if (at.tv_nsec >= 1000000000L) {
    at.tv_sec++;
    at.tv_nsec -= 1000000000L;
  }
  while (!ps_stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR) {
  }
}

/* Keeps trying until the broker answers: a demo may start before its broker. */
static int ps_connect_retrying(struct ps_pub *pub, const char *uri)
{
  int backoff_s = 1;
  for (;;) {
    int rc = ps_pub_connect(pub, PS_CONNECT_TIMEOUT_MS);
    if (rc == 0) {
      DG_INFO("plantsim", "connected to %s", uri);
      return 0;
    }
    DG_WARN("plantsim", "cannot connect to %s (%s), retrying in %d s", uri, strerror(-rc), backoff_s);
    for (int i = 0; i < backoff_s * 10 && !ps_stop; i++) {
      struct timespec tick = {0, 100 * 1000000L};
      nanosleep(&tick, NULL);
    }
    if (ps_stop) return -EINTR;
    backoff_s = backoff_s * 2 > 10 ? 10 : backoff_s * 2;
  }
}

static void ps_publish_sample(struct ps_scenario *s, struct ps_signal *sig, double t,
                              struct ps_pub *pub)
{
  double v;
  if (!ps_value(s, sig, t, &v)) return;
  char payload[512];
  int len = ps_payload(sig, v, dg_wall_ms(), payload, sizeof payload);
  if (len < 0) {
    DG_LOG_RL(DG_LOG_ERR, "plantsim", "%s: payload does not fit", sig->topic);
    return;
  }
  DG_DEBUG("plantsim", "t=%.3f %s %.*s", t, sig->topic, len, payload);
  int rc = ps_pub_send(pub, sig->topic, payload, (size_t)len, sig->qos, sig->retain);
  if (rc) DG_LOG_RL(DG_LOG_WARN, "plantsim", "%s: sample dropped (%s)", sig->topic, strerror(-rc));
}

/* Plays every signal at multiples of its period, on scenario time = real time * speed: MQTT
 * signals are published, Modbus signals update the registers their server answers with. */
static int ps_play(struct ps_scenario *s, struct ps_pub *pub, struct ps_mbserve *mbs, double speed,
                   bool once)
{
  bool inclusive;
  double length = ps_length(s, &inclusive);
  double limit = once ? length + (inclusive ? 1e-9 : -1e-9) : INFINITY;
  uint64_t *next = calloc(s->n_signals, sizeof *next);
  if (!next) return -ENOMEM;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  DG_INFO("plantsim", "%s: %zu signals, %s %.1f s, speed x%g", s->path, s->n_signals,
          once ? "playing once" : "looping over", length, speed);
  while (!ps_stop) {
    double t = INFINITY;
    for (size_t i = 0; i < s->n_signals; i++) t = fmin(t, (double)next[i] * s->signals[i].period_s);
    if (t > limit) break;
    ps_sleep_until(&start, t / speed);
    if (ps_stop) break;
    if (pub) ps_pub_maintain(pub);
    for (size_t i = 0; i < s->n_signals; i++) {
      struct ps_signal *sig = &s->signals[i];
      if ((double)next[i] * sig->period_s > t + 1e-9) continue;
      if (sig->is_modbus) ps_mbserve_update(mbs, s, i, t);
      else ps_publish_sample(s, sig, t, pub);
      next[i]++;
    }
    ps_mbserve_apply(mbs);
  }
  free(next);
  return 0;
}

static int ps_publish_and_flush(struct ps_scenario *s, struct ps_pub *pub, struct ps_mbserve *mbs,
                                const char *uri, double speed, bool once)
{
  if (ps_connect_retrying(pub, uri) || ps_play(s, pub, mbs, speed, once)) return 1;
  bool flushed = ps_pub_flush(pub, PS_FLUSH_TIMEOUT_MS) == 0;
  struct ps_pub_stats st;
  ps_pub_stats(pub, &st);
  DG_INFO("plantsim", "published %llu, acknowledged %llu, failed %llu, dropped %llu",
          (unsigned long long)st.sent, (unsigned long long)st.acked,
          (unsigned long long)st.failed, (unsigned long long)st.dropped);
  return once && (!flushed || st.failed || st.dropped) ? PS_EXIT_INCOMPLETE : 0;
}

/* Modbus servers first (they need no peer), then the broker only if some signal publishes. */
static int ps_serve_and_publish(struct ps_scenario *s, const char *uri, const char *client,
                                double speed, bool once)
{
  struct ps_mbserve *mbs;
  if (ps_mbserve_start(&mbs, s)) return 1;
  bool has_mqtt = false;
  for (size_t i = 0; i < s->n_signals; i++) has_mqtt = has_mqtt || !s->signals[i].is_modbus;
  int status = 1;
  if (!has_mqtt) {
    status = ps_play(s, NULL, mbs, speed, once) ? 1 : 0;
  } else {
    char client_id[128];
    struct ps_pub *pub;
    ps_default_client_id(client_id, sizeof client_id, client);
    if (ps_pub_create(&pub, uri, client_id) == 0) {
      status = ps_publish_and_flush(s, pub, mbs, uri, speed, once);
      ps_pub_destroy(pub);
    }
  }
  ps_mbserve_stop(mbs);
  return status;
}

static int ps_run_scenario(int argc, char **argv)
{
  const char *scenario = NULL, *uri = PS_DEFAULT_URI, *client = NULL;
  double speed = 1;
  bool once = false;
  static const struct option opts[] = {
    {"scenario", required_argument, NULL, 's'}, {"mqtt", required_argument, NULL, 'm'},
    {"speed", required_argument, NULL, 'x'},    {"once", no_argument, NULL, 'o'},
    {"client-id", required_argument, NULL, 'c'}, {"log-level", required_argument, NULL, 'l'},
    {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
  };
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 's': scenario = optarg; break;
    case 'm': uri = optarg; break;
    case 'o': once = true; break;
    case 'c': client = optarg; break;
    case 'x': {
      char *end;
      speed = strtod(optarg, &end);
      if (*end || !(speed > 0) || !isfinite(speed)) {
        fprintf(stderr, "plantsim: --speed must be a positive number\n");
        return 2;
      }
      break;
    }
    case 'l':
      if (dg_log_parse_level(optarg) < 0) {
        fprintf(stderr, "plantsim: unknown log level '%s'\n", optarg);
        return 2;
      }
      dg_log_set_level(dg_log_parse_level(optarg));
      break;
    case 'h': ps_usage(stdout); return 0;
    default: ps_usage(stderr); return 2;
    }
  }
  if (!scenario || optind != argc) {
    ps_usage(stderr);
    return 2;
  }
  struct ps_scenario s;
  char err[512];
  if (ps_load(scenario, &s, err, sizeof err)) {
    fprintf(stderr, "plantsim: %s\n", err);
    return 1;
  }
  int status = ps_serve_and_publish(&s, uri, client, speed, once);
  ps_free(&s);
  return status;
}

static int ps_run_publish(int argc, char **argv)
{
  const char *uri = PS_DEFAULT_URI, *topic = NULL, *value = NULL, *payload = NULL,
             *client = NULL, *json_path = NULL, *format = "bare";
  int qos = 1;
  bool retain = false, with_ts = true;
  static const struct option opts[] = {
    {"mqtt", required_argument, NULL, 'm'},      {"topic", required_argument, NULL, 't'},
    {"value", required_argument, NULL, 'v'},     {"payload", required_argument, NULL, 'p'},
    {"qos", required_argument, NULL, 'q'},       {"retain", no_argument, NULL, 'r'},
    {"format", required_argument, NULL, 'f'},    {"json-path", required_argument, NULL, 'j'},
    {"no-ts", no_argument, NULL, 'n'},           {"client-id", required_argument, NULL, 'c'},
    {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
  };
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'm': uri = optarg; break;
    case 't': topic = optarg; break;
    case 'v': value = optarg; break;
    case 'p': payload = optarg; break;
    case 'r': retain = true; break;
    case 'f': format = optarg; break;
    case 'j': json_path = optarg; break;
    case 'n': with_ts = false; break;
    case 'c': client = optarg; break;
    case 'q':
      if (strcmp(optarg, "0") && strcmp(optarg, "1") && strcmp(optarg, "2")) {
        fprintf(stderr, "plantsim: --qos must be 0, 1 or 2\n");
        return 2;
      }
      qos = atoi(optarg);
      break;
    case 'h': ps_usage(stdout); return 0;
    default: ps_usage(stderr); return 2;
    }
  }
  if (!topic || !value == !payload || optind != argc) {
    fprintf(stderr, "plantsim publish: needs --topic and exactly one of --value, --payload\n");
    return 2;
  }
  char buf[512];
  if (value) {
    char *end;
    double v = strtod(value, &end);
    struct ps_signal sig = {.format = strcmp(format, "json") == 0 ? PS_JSON : PS_BARE,
                            .json_path = (char *)(json_path ? json_path : "value"),
                            .with_ts = with_ts};
    if (*end || !isfinite(v) || (strcmp(format, "json") && strcmp(format, "bare"))) {
      fprintf(stderr, "plantsim publish: --value must be a number, --format json or bare\n");
      return 2;
    }
    if (ps_payload(&sig, v, dg_wall_ms(), buf, sizeof buf) < 0) {
      fprintf(stderr, "plantsim publish: payload too long\n");
      return 2;
    }
    payload = buf;
  }
  char client_id[128];
  ps_default_client_id(client_id, sizeof client_id, client);
  struct ps_pub *pub;
  if (ps_pub_create(&pub, uri, client_id)) return 1;
  int status = 1;
  int rc = ps_pub_connect(pub, PS_CONNECT_TIMEOUT_MS);
  if (rc) {
    fprintf(stderr, "plantsim publish: cannot connect to %s: %s\n", uri, strerror(-rc));
  } else if ((rc = ps_pub_send(pub, topic, payload, strlen(payload), qos, retain)) != 0) {
    fprintf(stderr, "plantsim publish: send failed: %s\n", strerror(-rc));
  } else {
    struct ps_pub_stats st;
    bool flushed = ps_pub_flush(pub, PS_FLUSH_TIMEOUT_MS) == 0;
    ps_pub_stats(pub, &st);
    if (flushed && st.acked == 1) status = 0;
    else fprintf(stderr, "plantsim publish: %s not acknowledged\n", topic);
  }
  ps_pub_destroy(pub);
  return status;
}

int main(int argc, char **argv)
{
  struct sigaction sa = {.sa_handler = ps_on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  if (argc > 1 && strcmp(argv[1], "publish") == 0) return ps_run_publish(argc - 1, argv + 1);
  return ps_run_scenario(argc, argv);
}
