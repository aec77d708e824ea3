/* httpc against a real HTTP receiver: a python http.server on loopback that records every POST
 * (path, headers, body) as one JSON line and answers per path. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "httpc.h"
#include "loop_deadline.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char receiver_py[] =
  "import http.server, json, sys, threading, time\n"
  "record_path = sys.argv[1]\n"
  "lock = threading.Lock()\n"
  "class Handler(http.server.BaseHTTPRequestHandler):\n"
  "    protocol_version = 'HTTP/1.1'\n" /* keep-alive, as webhook receivers are */
  "    def log_message(self, *args):\n"
  "        pass\n"
  "    def do_POST(self):\n"
  "        length = int(self.headers.get('Content-Length', '0'))\n"
  "        body = self.rfile.read(length) if length else b''\n"
  "        entry = {'path': self.path, 'body_hex': body.hex(), 'peer_port': self.client_address[1],\n"
  "                 'headers': {k.lower(): v for k, v in self.headers.items()}}\n"
  "        with lock:\n"
  "            with open(record_path, 'a') as f:\n"
  "                f.write(json.dumps(entry) + '\\n')\n"
  "        if self.path == '/ok':\n"
  "            self.reply(200, b'ok')\n"
  "        elif self.path == '/fail':\n"
  "            self.reply(500, b'fail')\n"
  "        elif self.path == '/slow':\n"
  "            time.sleep(3)\n"
  "            self.reply(200, b'slow')\n"
  "        elif self.path == '/big':\n"
  "            self.reply(200, b'x' * 100000)\n"
  "        else:\n"
  "            self.reply(404, b'not found')\n"
  "    def reply(self, code, payload):\n"
  "        try:\n"
  "            self.send_response(code)\n"
  "            self.send_header('Content-Type', 'text/plain')\n"
  "            self.send_header('Content-Length', str(len(payload)))\n"
  "            self.end_headers()\n"
  "            self.wfile.write(payload)\n"
  "        except (BrokenPipeError, ConnectionResetError):\n"
  "            pass\n"
  "class Server(http.server.ThreadingHTTPServer):\n"
  "    daemon_threads = True\n"
  "    request_queue_size = 128\n"
  "srv = Server(('127.0.0.1', 0), Handler)\n"
  "print(srv.server_address[1], flush=True)\n"
  "srv.serve_forever()\n";

static struct {
  char dir[64];
  char script[128];
  char records[128];
  pid_t pid;
  int port;
} rx;

struct fixture {
  uv_loop_t loop;
  struct loop_deadline deadline;
  struct httpc *c;
};

#define MAX_RESULT_BODY (128 * 1024)

struct result {
  int calls;
  long status;
  char error[256];
  bool has_body;
  size_t body_len;
  char *body;
  struct httpc *post_from_done;  /* if set, done tries a new post and stores its rc */
  struct httpc *close_from_done; /* if set, done closes this client */
  int post_rc;
};

/* ---- receiver process ---- */

static int write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs(text, f);
  return fclose(f);
}

static int receiver_start(void **state)
{
  strcpy(rx.dir, "/tmp/dg-httpc-XXXXXX");
  if (!mkdtemp(rx.dir)) return -1;
  snprintf(rx.script, sizeof rx.script, "%s/receiver.py", rx.dir);
  snprintf(rx.records, sizeof rx.records, "%s/records.jsonl", rx.dir);
  if (write_file(rx.script, receiver_py)) return -1;
  int fds[2];
  if (pipe(fds)) return -1;
  rx.pid = fork();
  if (rx.pid < 0) return -1;
  if (rx.pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl("/usr/bin/python3", "python3", rx.script, rx.records, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  char line[32] = {0};
  size_t n = 0;
  struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
  while (n < sizeof line - 1 && !strchr(line, '\n')) {
    if (poll(&pfd, 1, 10000) <= 0) break;
    ssize_t got = read(fds[0], line + n, sizeof line - 1 - n);
    if (got <= 0) break;
    n += (size_t)got;
  }
  close(fds[0]);
  rx.port = atoi(line);
  return rx.port > 0 ? 0 : -1;
}

static int receiver_stop(void **state)
{
  if (rx.pid > 0) {
    kill(rx.pid, SIGTERM);
    waitpid(rx.pid, NULL, 0);
  }
  unlink(rx.records);
  unlink(rx.script);
  rmdir(rx.dir);
  return 0;
}

static void url_for(char *buf, size_t len, const char *path)
{
  snprintf(buf, len, "http://127.0.0.1:%d%s", rx.port, path);
}

/* Every record the receiver has completely written so far, as a JSON array. */
static cJSON *records_load(void)
{
  cJSON *all = cJSON_CreateArray();
  FILE *f = fopen(rx.records, "r");
  if (!f) return all;
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    cJSON *rec = cJSON_Parse(line);
    if (rec) cJSON_AddItemToArray(all, rec);
  }
  free(line);
  fclose(f);
  return all;
}

static const char *record_header(const cJSON *rec, const char *name)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rec, "headers"), name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *record_find(const cJSON *all, const char *test_id)
{
  const cJSON *rec;
  cJSON_ArrayForEach(rec, all)
  {
    const char *id = record_header(rec, "x-dg-id");
    if (id && strcmp(id, test_id) == 0) return rec;
  }
  return NULL;
}

static size_t records_count(const char *path, const char *id_prefix)
{
  cJSON *all = records_load();
  const cJSON *rec;
  size_t n = 0;
  cJSON_ArrayForEach(rec, all)
  {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(rec, "path");
    const char *id = record_header(rec, "x-dg-id");
    if (cJSON_IsString(p) && strcmp(p->valuestring, path) == 0 && id &&
        strncmp(id, id_prefix, strlen(id_prefix)) == 0)
      n++;
  }
  cJSON_Delete(all);
  return n;
}

static void hex_encode(char *out, const unsigned char *in, size_t len)
{
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * len] = '\0';
}

/* ---- loop helpers ---- */

/* Runs the loop until *count reaches want or the deadline passes. */
static void run_until_count(struct fixture *f, const int *count, int want, uint64_t deadline_ms)
{
  loop_deadline_arm(&f->deadline, deadline_ms);
  while (*count < want && !f->deadline.expired) uv_run(&f->loop, UV_RUN_ONCE);
  loop_deadline_stop(&f->deadline);
}

static void on_done(void *ud, long status, const char *error, const char *body)
{
  struct result *r = ud;
  r->calls++;
  r->status = status;
  snprintf(r->error, sizeof r->error, "%s", error ? error : "");
  r->has_body = body != NULL;
  r->body_len = body ? strlen(body) : 0;
  free(r->body);
  r->body = body ? strdup(body) : NULL;
  if (r->post_from_done)
    r->post_rc = httpc_post(r->post_from_done, "http://127.0.0.1:1/", NULL, "", 0, NULL, 1000,
                            on_done, r);
  if (r->close_from_done) httpc_close(r->close_from_done);
}

static int fixture_setup(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);
  if (!f) return -1;
  if (uv_loop_init(&f->loop)) return -1;
  loop_deadline_init(&f->deadline, &f->loop);
  if (httpc_init(&f->c, &f->loop)) return -1;
  *state = f;
  return 0;
}

static int fixture_teardown(void **state)
{
  struct fixture *f = *state;
  if (f->c) httpc_close(f->c);
  loop_deadline_close(&f->deadline);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&f->loop);
  free(f);
  assert_int_equal(rc, 0);
  return 0;
}

/* ---- tests ---- */

static void test_body_and_headers_intact(void **state)
{
  struct fixture *f = *state;
  struct result res = {0};
  char url[128];
  url_for(url, sizeof url, "/ok");
  /* Binary-safe: an embedded NUL and non-ASCII bytes must arrive unchanged. */
  static const char body[] = "{\"alarm\":\"TI-101 高温\",\"v\":1}\0tail";
  const size_t len = sizeof body - 1;
  const char *const headers[] = {"X-Dg-Id: intact", "Authorization: Bearer s3cr3t", NULL};

  assert_int_equal(httpc_post(f->c, url, "application/json", body, len, headers, 5000, on_done, &res), 0);
  assert_int_equal(res.calls, 0); /* never called from inside httpc_post */
  assert_int_equal(httpc_active(f->c), 1);
  run_until_count(f, &res.calls, 1, 10000);

  assert_int_equal(res.calls, 1);
  assert_int_equal(res.status, 200);
  assert_string_equal(res.error, "");
  assert_true(res.has_body);
  assert_string_equal(res.body, "ok");
  assert_int_equal(httpc_active(f->c), 0);

  cJSON *all = records_load();
  const cJSON *rec = record_find(all, "intact");
  assert_non_null(rec);
  char hex[2 * sizeof body + 1];
  hex_encode(hex, (const unsigned char *)body, len);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(rec, "body_hex")->valuestring, hex);
  assert_string_equal(record_header(rec, "content-type"), "application/json");
  assert_string_equal(record_header(rec, "authorization"), "Bearer s3cr3t");
  assert_null(record_header(rec, "expect"));
  cJSON_Delete(all);
  free(res.body);
}

/* Easy handles are kept between requests: a request sends its own headers, body and type, and
 * reads its own answer, nothing of the request that used its handle before (after an error too). */
static void test_reused_handles_carry_nothing_over(void **state)
{
  struct fixture *f = *state;
  struct result res = {0};
  char ok[128], fail[128];
  url_for(ok, sizeof ok, "/ok");
  url_for(fail, sizeof fail, "/fail");
  const char *const first[] = {"X-Dg-Id: reuse-1", "Authorization: Bearer s3cr3t", NULL};
  assert_int_equal(httpc_post(f->c, ok, "application/json", "{\"a\":1}", 7, first, 5000, on_done, &res), 0);
  run_until_count(f, &res.calls, 1, 10000);
  assert_int_equal(res.status, 200);
  assert_int_equal(httpc_post(f->c, "http://127.0.0.1:1/", NULL, "", 0, NULL, 2000, on_done, &res), 0);
  run_until_count(f, &res.calls, 2, 10000);
  assert_string_equal(res.error, "connection refused");
  const char *const second[] = {"X-Dg-Id: reuse-2", NULL};
  assert_int_equal(httpc_post(f->c, fail, "text/plain", "b", 1, second, 5000, on_done, &res), 0);
  run_until_count(f, &res.calls, 3, 10000);
  assert_int_equal(res.status, 500);
  assert_string_equal(res.error, "");
  assert_string_equal(res.body, "fail");

  cJSON *all = records_load();
  const cJSON *rec = record_find(all, "reuse-2");
  assert_non_null(rec);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(rec, "path")->valuestring, "/fail");
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(rec, "body_hex")->valuestring, "62");
  assert_string_equal(record_header(rec, "content-type"), "text/plain");
  assert_null(record_header(rec, "authorization"));
  cJSON_Delete(all);
  free(res.body);
}

static void test_large_body_sent_without_expect(void **state)
{
  enum { LEN = 2 * 1024 * 1024 }; /* above curl's 1 MiB Expect: 100-continue threshold */
  struct fixture *f = *state;
  struct result res = {0};
  char url[128];
  url_for(url, sizeof url, "/ok");
  char *body = malloc(LEN);
  char *hex = malloc(2 * LEN + 1);
  assert_non_null(body);
  assert_non_null(hex);
  for (size_t i = 0; i < LEN; i++) body[i] = (char)(i * 7 + 3);
  const char *const headers[] = {"X-Dg-Id: large", NULL};
  assert_int_equal(httpc_post(f->c, url, "application/octet-stream", body, LEN, headers, 10000, on_done, &res), 0);
  hex_encode(hex, (const unsigned char *)body, LEN);
  memset(body, 0, LEN); /* httpc_post copied it */
  free(body);
  run_until_count(f, &res.calls, 1, 10000);
  assert_int_equal(res.calls, 1);
  assert_int_equal(res.status, 200);

  cJSON *all = records_load();
  const cJSON *rec = record_find(all, "large");
  assert_non_null(rec);
  assert_null(record_header(rec, "expect"));
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(rec, "body_hex")->valuestring, hex);
  cJSON_Delete(all);
  free(hex);
  free(res.body);
}

static void test_server_error_reports_status(void **state)
{
  struct fixture *f = *state;
  struct result res = {0};
  char url[128];
  url_for(url, sizeof url, "/fail");
  const char *const headers[] = {"X-Dg-Id: fail", NULL};
  assert_int_equal(httpc_post(f->c, url, "text/plain", "x", 1, headers, 5000, on_done, &res), 0);
  run_until_count(f, &res.calls, 1, 10000);
  assert_int_equal(res.calls, 1);
  assert_int_equal(res.status, 500);
  assert_string_equal(res.error, "");
  assert_string_equal(res.body, "fail");
  free(res.body);
}

static void test_response_body_capped(void **state)
{
  struct fixture *f = *state;
  struct result res = {0};
  char url[128];
  url_for(url, sizeof url, "/big");
  assert_int_equal(httpc_post(f->c, url, NULL, NULL, 0, NULL, 5000, on_done, &res), 0);
  run_until_count(f, &res.calls, 1, 10000);
  assert_int_equal(res.calls, 1);
  assert_int_equal(res.status, 200);
  assert_int_equal(res.body_len, 64 * 1024);
  free(res.body);
}

static void test_connection_refused(void **state)
{
  struct fixture *f = *state;
  struct result res = {0};
  /* A bound socket that never listens: connects to it are refused, and no one can take the port. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t salen = sizeof sa;
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/ok", ntohs(sa.sin_port));

  assert_int_equal(httpc_post(f->c, url, "text/plain", "x", 1, NULL, 5000, on_done, &res), 0);
  assert_int_equal(res.calls, 0);
  run_until_count(f, &res.calls, 1, 10000);
  close(fd);
  assert_int_equal(res.calls, 1);
  assert_int_equal(res.status, 0);
  assert_string_equal(res.error, "connection refused");
  assert_false(res.has_body);
}

static void test_timeout(void **state)
{
  struct fixture *f = *state;
  struct result res = {0};
  char url[128];
  url_for(url, sizeof url, "/slow");
  const char *const headers[] = {"X-Dg-Id: timeout", NULL};
  assert_int_equal(httpc_post(f->c, url, "text/plain", "x", 1, headers, 300, on_done, &res), 0);
  run_until_count(f, &res.calls, 1, 10000);
  assert_int_equal(res.calls, 1);
  assert_int_equal(res.status, 0);
  assert_string_equal(res.error, "timeout");
  assert_int_equal(httpc_active(f->c), 0);
}

/* Posts n requests at once to /ok, tagged "<tag>-<i>" with body {"n":i}, and runs the loop
 * until each is answered 200. */
static void burst(struct fixture *f, const char *tag, int n, struct result *res)
{
  char url[128];
  url_for(url, sizeof url, "/ok");
  memset(res, 0, n * sizeof *res);
  for (int i = 0; i < n; i++) {
    char id[48], body[32];
    snprintf(id, sizeof id, "X-Dg-Id: %s-%d", tag, i);
    snprintf(body, sizeof body, "{\"n\":%d}", i);
    const char *const headers[] = {id, NULL};
    assert_int_equal(httpc_post(f->c, url, "application/json", body, strlen(body), headers, 10000, on_done, &res[i]), 0);
  }
  assert_int_equal(httpc_active(f->c), n);
  int total = 0;
  loop_deadline_arm(&f->deadline, 20000);
  while (!f->deadline.expired && total < n) {
    uv_run(&f->loop, UV_RUN_ONCE);
    total = 0;
    for (int i = 0; i < n; i++) total += res[i].calls;
  }
  loop_deadline_stop(&f->deadline);
  for (int i = 0; i < n; i++) {
    assert_int_equal(res[i].calls, 1);
    assert_int_equal(res[i].status, 200);
    free(res[i].body);
  }
  assert_int_equal(httpc_active(f->c), 0);
}

static void test_concurrent_posts(void **state)
{
  enum { N = 50 };
  struct fixture *f = *state;
  static struct result res[N];
  burst(f, "conc", N, res);
  cJSON *all = records_load();
  for (int i = 0; i < N; i++) {
    char id[32], body[32], hex[80];
    snprintf(id, sizeof id, "conc-%d", i);
    snprintf(body, sizeof body, "{\"n\":%d}", i);
    hex_encode(hex, (const unsigned char *)body, strlen(body));
    const cJSON *rec = record_find(all, id);
    assert_non_null(rec);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(rec, "body_hex")->valuestring, hex);
  }
  cJSON_Delete(all);
}

static int peer_port(const cJSON *all, const char *tag, int i)
{
  char id[48];
  snprintf(id, sizeof id, "%s-%d", tag, i);
  const cJSON *rec = record_find(all, id);
  assert_non_null(rec);
  return cJSON_GetObjectItemCaseSensitive(rec, "peer_port")->valueint;
}

/* Notifications come in bursts (an upset trips many alarms at once, up to 16 deliveries in
 * flight): the connections a burst opened to a keep-alive receiver carry the next burst, none
 * is closed and opened again in between. */
static void test_connections_kept_across_bursts(void **state)
{
  enum { N = 16 };
  struct fixture *f = *state;
  static struct result res[N];
  burst(f, "first", N, res);
  burst(f, "second", N, res);
  cJSON *all = records_load();
  int opened = 0;
  for (int i = 0; i < N; i++) {
    int port = peer_port(all, "second", i), seen = 0;
    for (int k = 0; k < N && !seen; k++) seen = peer_port(all, "first", k) == port;
    opened += !seen;
  }
  cJSON_Delete(all);
  assert_int_equal(opened, 0);
}

static void on_poll_records(uv_timer_t *t)
{
  int *seen = t->data;
  *seen = (int)records_count("/slow", "cancel-");
}

static void test_close_cancels_in_flight(void **state)
{
  enum { N = 5 };
  struct fixture *f = *state;
  struct result res[N] = {0};
  char url[128];
  url_for(url, sizeof url, "/slow");
  for (int i = 0; i < N; i++) {
    char id[32];
    snprintf(id, sizeof id, "X-Dg-Id: cancel-%d", i);
    const char *const headers[] = {id, NULL};
    res[i].post_from_done = f->c;
    assert_int_equal(httpc_post(f->c, url, "text/plain", "x", 1, headers, 10000, on_done, &res[i]), 0);
  }
  /* Wait until the receiver holds all of them, so they are truly in flight. */
  int seen = 0;
  uv_timer_t poller;
  uv_timer_init(&f->loop, &poller);
  poller.data = &seen;
  uv_timer_start(&poller, on_poll_records, 20, 20);
  run_until_count(f, &seen, N, 10000);
  uv_close((uv_handle_t *)&poller, NULL);
  uv_run(&f->loop, UV_RUN_NOWAIT); /* poller lives on this stack frame */
  assert_int_equal(seen, N);
  assert_int_equal(httpc_active(f->c), N);

  httpc_close(f->c);
  f->c = NULL;
  for (int i = 0; i < N; i++) {
    assert_int_equal(res[i].calls, 1);
    assert_int_equal(res[i].status, 0);
    assert_string_equal(res[i].error, "cancelled");
    assert_int_equal(res[i].post_rc, -ESHUTDOWN);
  }
  /* Nothing of httpc keeps the loop alive any more; teardown asserts uv_loop_close() == 0. */
  assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
}

static void test_close_is_idempotent(void **state)
{
  struct fixture *f = *state;
  struct result first = {0}, pending = {0};
  char ok[128], slow[128];
  url_for(ok, sizeof ok, "/ok");
  url_for(slow, sizeof slow, "/slow");
  const char *const h1[] = {"X-Dg-Id: cfd-ok", NULL};
  const char *const h2[] = {"X-Dg-Id: cfd-slow", NULL};
  assert_int_equal(httpc_post(f->c, slow, NULL, "s", 1, h2, 10000, on_done, &pending), 0);
  assert_int_equal(httpc_post(f->c, ok, NULL, "o", 1, h1, 10000, on_done, &first), 0);
  run_until_count(f, &first.calls, 1, 10000);
  assert_int_equal(first.calls, 1);
  assert_int_equal(first.status, 200);
  httpc_close(f->c);
  httpc_close(f->c); /* a second close before the loop runs does nothing */
  f->c = NULL;
  assert_int_equal(pending.calls, 1);
  assert_string_equal(pending.error, "cancelled");
  free(first.body);
}

static void test_close_inside_done_callback(void **state)
{
  struct fixture *f = *state;
  struct result pending = {0}, closer = {.close_from_done = f->c};
  char ok[128], slow[128];
  url_for(ok, sizeof ok, "/ok");
  url_for(slow, sizeof slow, "/slow");
  assert_int_equal(httpc_post(f->c, slow, NULL, "s", 1, NULL, 10000, on_done, &pending), 0);
  assert_int_equal(httpc_post(f->c, ok, NULL, "o", 1, NULL, 10000, on_done, &closer), 0);
  run_until_count(f, &closer.calls, 1, 10000);
  f->c = NULL; /* closed from inside the callback */
  assert_int_equal(closer.calls, 1);
  assert_int_equal(closer.status, 200);
  assert_int_equal(pending.calls, 1);
  assert_string_equal(pending.error, "cancelled");
  free(closer.body);
}

static void test_invalid_arguments(void **state)
{
  struct fixture *f = *state;
  struct result res = {0};
  char url[128];
  url_for(url, sizeof url, "/ok");
  const char *const bad_header[] = {"X-A: 1\r\nX-Injected: 2", NULL};
  assert_int_equal(httpc_post(f->c, NULL, NULL, "x", 1, NULL, 1000, on_done, &res), -EINVAL);
  assert_int_equal(httpc_post(f->c, url, NULL, "x", 1, NULL, 0, on_done, &res), -EINVAL);
  assert_int_equal(httpc_post(f->c, url, NULL, NULL, 3, NULL, 1000, on_done, &res), -EINVAL);
  assert_int_equal(httpc_post(f->c, url, NULL, "x", 1, bad_header, 1000, on_done, &res), -EINVAL);
  assert_int_equal(httpc_post(f->c, url, "a\nb", "x", 1, NULL, 1000, on_done, &res), -EINVAL);
  assert_int_equal(httpc_active(f->c), 0);
  assert_int_equal(res.calls, 0);
}

static void test_non_http_scheme_rejected(void **state)
{
  struct fixture *f = *state;
  struct result res = {0};
  assert_int_equal(httpc_post(f->c, "file:///etc/passwd", NULL, "x", 1, NULL, 1000, on_done, &res), 0);
  run_until_count(f, &res.calls, 1, 10000);
  assert_int_equal(res.calls, 1);
  assert_int_equal(res.status, 0);
  assert_true(strlen(res.error) > 0);
  assert_false(res.has_body);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_body_and_headers_intact, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_reused_handles_carry_nothing_over, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_large_body_sent_without_expect, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_server_error_reports_status, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_response_body_capped, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_connection_refused, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_timeout, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_connections_kept_across_bursts, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_concurrent_posts, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_close_cancels_in_flight, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_close_is_idempotent, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_close_inside_done_callback, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_invalid_arguments, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_non_http_scheme_rejected, fixture_setup, fixture_teardown),
  };
  return cmocka_run_group_tests(tests, receiver_start, receiver_stop);
}
