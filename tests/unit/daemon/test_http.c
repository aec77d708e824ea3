/* HTTP server: real libuv loop on the main thread, real libcurl client on a second thread. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "http.h"
#include "log.h"

#define MAX_REPLIES 40
#define BIG_LEN (500 * 1024)

struct reply {
  CURLcode rc;
  long status;
  char *body;
  size_t len;
  char ctype[128];
  char cache[64];
  char nosniff[64];
  char allow[64];
  long num_connects;
  long local_port;
  curl_off_t content_length;
};

struct fixture {
  int later_calls;
  uv_loop_t loop;
  struct http_server *srv;
  uv_async_t done;
  pthread_t thread;
  void (*client)(struct fixture *f);
  char base[64];
  uint16_t port;
  struct reply r[MAX_REPLIES];
  int nr;
  int echo_calls;
  char tmp[256];
  int timeout_closed; /* raw-socket result: 1 = server closed the stalled request */
  int timeout_got_response;
  int fds[3];          /* connections left open when the server stops */
  int huge_started;
  long slow_read, stalled_read; /* bytes of /huge the slow and the stalled reader got; -1 if never closed */
};

/* ---- handlers (loop thread) ----------------------------------------------------------------- */

static void tag_handler(void *ud, const struct http_request *req, struct http_response *resp)
{
  const char *tag = ud;
  size_t n = strlen(tag) + strlen(req->method) + strlen(req->path) + 64;
  resp->body = malloc(n);
  snprintf(resp->body, n, "{\"route\":\"%s\",\"method\":\"%s\",\"path\":\"%s\"}", tag, req->method,
           req->path);
}

static void echo_handler(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct fixture *f = ud;
  f->echo_calls++;
  resp->content_type = "application/octet-stream";
  resp->body = malloc(req->body_len + 1);
  memcpy(resp->body, req->body, req->body_len + 1);
  resp->body_len = req->body_len;
  if (req->body_len == 0) {
    /* An empty body must still arrive as "" so handlers can parse it unconditionally. */
    resp->body[0] = req->body[0] == '\0' ? 'E' : 'X';
    resp->body_len = 1;
  }
}

static void query_handler(void *ud, const struct http_request *req, struct http_response *resp)
{
  char state[64], q[64];
  int ns = http_query_get(req->query, "state", state, sizeof state);
  int nq = http_query_get(req->query, "q", q, sizeof q);
  resp->body = malloc(256);
  snprintf(resp->body, 256, "%d:%s|%d:%s|%s", ns, ns >= 0 ? state : "", nq, nq >= 0 ? q : "",
           req->authorization ? req->authorization : "-");
}

static void created_handler(void *ud, const struct http_request *req, struct http_response *resp)
{
  resp->status = 201;
  resp->content_type = "text/plain; charset=utf-8";
  resp->body = strdup("made");
}

static void teapot_handler(void *ud, const struct http_request *req, struct http_response *resp)
{
  resp->status = 418;
}

static void badstatus_handler(void *ud, const struct http_request *req, struct http_response *resp)
{
  resp->status = 42;
  resp->body = strdup("ignored");
}

static char big_byte(size_t i) { return (char)('a' + (i * 31 + i / 7) % 26); }

static void big_handler(void *ud, const struct http_request *req, struct http_response *resp)
{
  resp->content_type = "text/plain";
  resp->body = malloc(BIG_LEN);
  for (size_t i = 0; i < BIG_LEN; i++) resp->body[i] = big_byte(i);
  resp->body_len = BIG_LEN;
}

#define HUGE_LEN (16 * 1024 * 1024)

static void huge_handler(void *ud, const struct http_request *req, struct http_response *resp)
{
  resp->content_type = "application/octet-stream";
  resp->body = malloc(HUGE_LEN);
  memset(resp->body, 'h', HUGE_LEN);
  resp->body_len = HUGE_LEN;
}

static void stop_handler(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct fixture *f = ud;
  http_stop(f->srv);
  f->srv = NULL;
  resp->body = strdup("{\"stopping\":true}");
}

/* Answered 20 ms later from a timer, through its deferral. */
struct later {
  uv_timer_t timer;
  struct http_deferred *d;
  int call;
};

static void later_closed(uv_handle_t *h) { free(h->data); }

static void later_answer(uv_timer_t *t)
{
  struct later *l = t->data;
  struct http_response resp = {.status = 200};
  resp.body = malloc(32);
  snprintf(resp.body, 32, "later %d", l->call);
  http_deferred_answer(l->d, &resp);
  uv_close((uv_handle_t *)t, later_closed);
}

static void later_handler(void *ud, const struct http_request *req, struct http_response *resp)
{
  struct fixture *f = ud;
  struct later *l = calloc(1, sizeof *l);
  assert_non_null(l);
  l->call = ++f->later_calls;
  assert_non_null(l->d = http_defer(req));
  uv_timer_init(&f->loop, &l->timer);
  l->timer.data = l;
  uv_timer_start(&l->timer, later_answer, 20, 0);
}

/* ---- client side (client thread) ------------------------------------------------------------ */

static size_t write_cb(char *data, size_t size, size_t n, void *ud)
{
  struct reply *r = ud;
  size_t add = size * n;
  char *nb = realloc(r->body, r->len + add + 1);
  if (!nb) return 0;
  memcpy(nb + r->len, data, add);
  r->body = nb;
  r->len += add;
  r->body[r->len] = '\0';
  return add;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
  size_t nl = strlen(name);
  if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':') return;
  const char *v = line + nl + 1;
  const char *end = line + n;
  while (v < end && *v == ' ') v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
  snprintf(out, outlen, "%.*s", (int)(end - v), v);
}

static size_t header_cb(char *line, size_t size, size_t n, void *ud)
{
  struct reply *r = ud;
  size_t len = size * n;
  header_value(line, len, "Content-Type", r->ctype, sizeof r->ctype);
  header_value(line, len, "Cache-Control", r->cache, sizeof r->cache);
  header_value(line, len, "X-Content-Type-Options", r->nosniff, sizeof r->nosniff);
  header_value(line, len, "Allow", r->allow, sizeof r->allow);
  return len;
}

struct req_opts {
  const char *method;
  const char *body;
  size_t body_len;
  const char *auth;
  int path_as_is;
  int head;
};

static struct reply *request(struct fixture *f, CURL *c, const char *path, const struct req_opts *o)
{
  static const struct req_opts none;
  if (!o) o = &none;
  struct reply *r = &f->r[f->nr++];
  char url[1024];
  snprintf(url, sizeof url, "%s%s", f->base, path);
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (o->path_as_is) curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
  if (o->head) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (o->body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
  }
  if (o->method) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, o->method);
  struct curl_slist *hdrs = NULL;
  char auth[256];
  if (o->auth) {
    snprintf(auth, sizeof auth, "Authorization: %s", o->auth);
    hdrs = curl_slist_append(hdrs, auth);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  }
  r->rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r->num_connects);
  curl_easy_getinfo(c, CURLINFO_LOCAL_PORT, &r->local_port);
  curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &r->content_length);
  curl_slist_free_all(hdrs);
  return r;
}

static struct reply *get(struct fixture *f, CURL *c, const char *path)
{
  return request(f, c, path, NULL);
}

/* ---- harness -------------------------------------------------------------------------------- */

static void on_client_done(uv_async_t *a)
{
  struct fixture *f = a->data;
  http_stop(f->srv);
  f->srv = NULL;
  uv_close((uv_handle_t *)a, NULL);
}

static void *client_main(void *arg)
{
  struct fixture *f = arg;
  f->client(f);
  uv_async_send(&f->done);
  return NULL;
}

static struct fixture *fixture_new(void)
{
  struct fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(http_start(&f->srv, &f->loop, "127.0.0.1", 0), 0);
  f->port = http_port(f->srv);
  assert_true(f->port > 0);
  snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", f->port);
  return f;
}

/* Runs the client on its own thread while the loop serves; the loop must then wind down by
 * itself after http_stop and close cleanly. */
static void run_client(struct fixture *f, void (*client)(struct fixture *f))
{
  f->client = client;
  assert_int_equal(uv_async_init(&f->loop, &f->done, on_client_done), 0);
  f->done.data = f;
  assert_int_equal(pthread_create(&f->thread, NULL, client_main, f), 0);
  assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(pthread_join(f->thread, NULL), 0);
  assert_int_equal(uv_loop_close(&f->loop), 0);
}

static void fixture_free(struct fixture *f)
{
  for (int i = 0; i < f->nr; i++) free(f->r[i].body);
  free(f);
}

static void assert_api_headers(const struct reply *r)
{
  assert_string_equal(r->ctype, "application/json; charset=utf-8");
  assert_string_equal(r->cache, "no-store");
  assert_string_equal(r->nosniff, "nosniff");
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_query_get(void **state)
{
  char out[64];
  assert_int_equal(http_query_get("state=UNACK&q=%E6%B0%A8", "state", out, sizeof out), 5);
  assert_string_equal(out, "UNACK");
  assert_int_equal(http_query_get("state=UNACK&q=%E6%B0%A8", "q", out, sizeof out), 3);
  assert_string_equal(out, "\xe6\xb0\xa8");
  assert_int_equal(http_query_get("a=1&b=x+y%20z", "b", out, sizeof out), 5);
  assert_string_equal(out, "x y z");
  assert_int_equal(http_query_get("ab=1&a=2", "a", out, sizeof out), 1);
  assert_string_equal(out, "2");
  assert_int_equal(http_query_get("a%3Db=c%26d&x=1", "a=b", out, sizeof out), 3);
  assert_string_equal(out, "c&d");
  assert_int_equal(http_query_get("flag&x=1", "flag", out, sizeof out), 0);
  assert_string_equal(out, "");
  assert_int_equal(http_query_get("x=&y=2", "x", out, sizeof out), 0);
  assert_int_equal(http_query_get("p=100%25&r=%zz%4", "p", out, sizeof out), 4);
  assert_string_equal(out, "100%");
  assert_int_equal(http_query_get("p=100%25&r=%zz%4", "r", out, sizeof out), 5);
  assert_string_equal(out, "%zz%4");
  assert_int_equal(http_query_get("a=1", "b", out, sizeof out), -1);
  assert_int_equal(http_query_get("", "a", out, sizeof out), -1);
  assert_int_equal(http_query_get("a=%00", "a", out, sizeof out), -2); /* present, not text */
  assert_int_equal(http_query_get("a=123456", "a", out, 6), -2); /* present, too long */
  assert_int_equal(http_query_get("a=12345", "a", out, 6), 5);
  assert_int_equal(http_query_get(NULL, "a", out, sizeof out), -1);
}

static void client_routes(struct fixture *f)
{
  CURL *c = curl_easy_init();
  get(f, c, "/healthz");                                                  /* 0 */
  get(f, c, "/api/v1/points");                                            /* 1 */
  get(f, c, "/api/v1/alarms/12");                                         /* 2 */
  request(f, c, "/api/v1/alarms/12/ack", &(struct req_opts){.body = "{}", .body_len = 2}); /* 3 */
  get(f, c, "/api/v1/alarms/12/ack");                                     /* 4 */
  get(f, c, "/nope");                                                     /* 5 */
  get(f, c, "/only-post");                                                /* 6 */
  request(f, c, "/api/v1/alarms/3", &(struct req_opts){.method = "DELETE"}); /* 7 */
  request(f, c, "/healthz", &(struct req_opts){.method = "PUT", .body = "x", .body_len = 1}); /* 8 */
  get(f, c, "/api/v1");                                                   /* 9 */
  get(f, c, "/api/v1/alarms/%E6%B0%A8");                                  /* 10 */
  get(f, c, "/healthz/");                                                 /* 11 */
  request(f, c, "/api/v1/alarms/3", &(struct req_opts){.method = "PUT", .body = "{}", .body_len = 2}); /* 12 */
  curl_easy_cleanup(c);
}

static void test_routes(void **state)
{
  struct fixture *f = fixture_new();
  assert_int_equal(http_route(f->srv, "GET", "/healthz", tag_handler, "health"), 0);
  assert_int_equal(http_route(f->srv, "GET", "/api/v1/*", tag_handler, "v1"), 0);
  assert_int_equal(http_route(f->srv, NULL, "/api/v1/alarms/*", tag_handler, "alarms"), 0);
  assert_int_equal(http_route(f->srv, "POST", "/api/v1/alarms/12/ack", tag_handler, "ack"), 0);
  assert_int_equal(http_route(f->srv, "POST", "/only-post", tag_handler, "post"), 0);
  assert_int_equal(http_route(f->srv, "POST", "/only-post", tag_handler, "dup"), -EEXIST);
  assert_int_equal(http_route(f->srv, "GET", "no-slash", tag_handler, "x"), -EINVAL);
  assert_int_equal(http_route(f->srv, "GET", "/a*b", tag_handler, "x"), -EINVAL);
  assert_int_equal(http_route(f->srv, "GET", "/x", NULL, "x"), -EINVAL);
  run_client(f, client_routes);

  struct reply *r = f->r;
  for (int i = 0; i < f->nr; i++) assert_int_equal(r[i].rc, CURLE_OK);
  assert_int_equal(r[0].status, 200);
  assert_string_equal(r[0].body, "{\"route\":\"health\",\"method\":\"GET\",\"path\":\"/healthz\"}");
  assert_api_headers(&r[0]);
  assert_int_equal(r[1].status, 200);
  assert_string_equal(r[1].body, "{\"route\":\"v1\",\"method\":\"GET\",\"path\":\"/api/v1/points\"}");
  assert_int_equal(r[2].status, 200);
  assert_string_equal(r[2].body,
                      "{\"route\":\"alarms\",\"method\":\"GET\",\"path\":\"/api/v1/alarms/12\"}");
  assert_int_equal(r[3].status, 200);
  assert_string_equal(r[3].body,
                      "{\"route\":\"ack\",\"method\":\"POST\",\"path\":\"/api/v1/alarms/12/ack\"}");
  assert_int_equal(r[4].status, 405);
  assert_string_equal(r[4].allow, "POST");
  assert_api_headers(&r[4]);
  assert_int_equal(r[5].status, 404);
  assert_string_equal(r[5].body, "{\"error\":\"not found\"}");
  assert_api_headers(&r[5]);
  assert_int_equal(r[6].status, 405);
  assert_int_equal(r[7].status, 200);
  assert_string_equal(r[7].body,
                      "{\"route\":\"alarms\",\"method\":\"DELETE\",\"path\":\"/api/v1/alarms/3\"}");
  assert_int_equal(r[8].status, 405);
  assert_string_equal(r[8].allow, "GET");
  assert_int_equal(r[9].status, 404); /* the prefix is "/api/v1/", not "/api/v1" */
  assert_int_equal(r[10].status, 200);
  assert_string_equal(r[10].body, "{\"route\":\"alarms\",\"method\":\"GET\",\"path\":\"/api/v1/alarms/"
                                  "\xe6\xb0\xa8\"}");
  assert_int_equal(r[11].status, 404);
  assert_int_equal(r[12].status, 200); /* a PUT with a body reaches its handler */
  assert_string_equal(r[12].body, "{\"route\":\"alarms\",\"method\":\"PUT\",\"path\":\"/api/v1/alarms/3\"}");
  fixture_free(f);
}

static char *pattern_body(size_t n)
{
  char *b = malloc(n);
  for (size_t i = 0; i < n; i++) b[i] = (char)((i * 7 + i / 251) % 251);
  return b;
}

static void client_bodies(struct fixture *f)
{
  CURL *c = curl_easy_init();
  char *b60 = pattern_body(60 * 1024);
  char *b70 = pattern_body(70 * 1024);
  request(f, c, "/echo", &(struct req_opts){.body = "hello", .body_len = 5});            /* 0 */
  request(f, c, "/echo", &(struct req_opts){.body = b60, .body_len = 60 * 1024});        /* 1 */
  request(f, c, "/echo", &(struct req_opts){.body = b70, .body_len = 70 * 1024});        /* 2 */
  request(f, c, "/echo", &(struct req_opts){.body = "", .body_len = 0});                 /* 3 */
  request(f, c, "/echo", &(struct req_opts){.body = b70, .body_len = HTTP_MAX_BODY});   /* 4 */
  request(f, c, "/echo", &(struct req_opts){.body = b70, .body_len = HTTP_MAX_BODY + 1}); /* 5 */
  request(f, c, "/echo", &(struct req_opts){.method = "PATCH", .body = "p", .body_len = 1}); /* 6 */
  free(b60);
  free(b70);
  curl_easy_cleanup(c);
}

static void test_post_bodies(void **state)
{
  struct fixture *f = fixture_new();
  assert_int_equal(http_route(f->srv, "POST", "/echo", echo_handler, f), 0);
  assert_int_equal(http_route(f->srv, "PATCH", "/echo", echo_handler, f), 0);
  run_client(f, client_bodies);

  struct reply *r = f->r;
  for (int i = 0; i < f->nr; i++) assert_int_equal(r[i].rc, CURLE_OK);
  assert_int_equal(r[0].status, 200);
  assert_int_equal(r[0].len, 5);
  assert_memory_equal(r[0].body, "hello", 5);
  assert_string_equal(r[0].ctype, "application/octet-stream");

  char *b60 = pattern_body(60 * 1024);
  assert_int_equal(r[1].status, 200);
  assert_int_equal(r[1].len, 60 * 1024);
  assert_memory_equal(r[1].body, b60, 60 * 1024);
  free(b60);

  assert_int_equal(r[2].status, 413);
  assert_string_equal(r[2].body, "{\"error\":\"request body too large\"}");
  assert_api_headers(&r[2]);

  assert_int_equal(r[3].status, 200);
  assert_string_equal(r[3].body, "E");

  assert_int_equal(r[4].status, 200);
  assert_int_equal(r[4].len, HTTP_MAX_BODY);
  assert_int_equal(r[5].status, 413);
  assert_int_equal(r[6].status, 200);
  assert_string_equal(r[6].body, "p");
  /* Every request but the two oversized ones reached the handler. */
  assert_int_equal(f->echo_calls, 5);
  fixture_free(f);
}

static void client_later(struct fixture *f)
{
  CURL *c = curl_easy_init();
  request(f, c, "/later", &(struct req_opts){.body = "", .body_len = 0});   /* 0: Content-Length: 0 */
  request(f, c, "/later", &(struct req_opts){.body = "abc", .body_len = 3}); /* 1: the same connection */
  request(f, c, "/later", &(struct req_opts){.body = "", .body_len = 0});   /* 2 */
  curl_easy_cleanup(c);
}

/* A request answered later, whose body is empty, is handed to its handler once; the body
 * callbacks that follow its headers are not its handler's. */
static void test_deferred_answer_to_an_empty_body(void **state)
{
  struct fixture *f = fixture_new();
  assert_int_equal(http_route(f->srv, "POST", "/later", later_handler, f), 0);
  run_client(f, client_later);
  for (int i = 0; i < 3; i++) {
    char want[32];
    snprintf(want, sizeof want, "later %d", i + 1);
    assert_int_equal(f->r[i].rc, CURLE_OK);
    assert_int_equal(f->r[i].status, 200);
    assert_string_equal(f->r[i].body, want);
    assert_int_equal(f->r[i].num_connects, i == 0);
  }
  assert_int_equal(f->later_calls, 3);
  fixture_free(f);
}

#define PHOTO_LIMIT (200 * 1024)

static void client_body_limits(struct fixture *f)
{
  CURL *c = curl_easy_init();
  char *b = pattern_body(PHOTO_LIMIT + 1);
  request(f, c, "/up/7/photos", &(struct req_opts){.body = b, .body_len = 100 * 1024});        /* 0 */
  request(f, c, "/up/7/photos", &(struct req_opts){.body = b, .body_len = PHOTO_LIMIT});       /* 1 */
  request(f, c, "/up/7/photos", &(struct req_opts){.body = b, .body_len = PHOTO_LIMIT + 1});   /* 2 */
  request(f, c, "/up/7/submit", &(struct req_opts){.body = b, .body_len = 100 * 1024});        /* 3 */
  request(f, c, "/up/7/8/photos", &(struct req_opts){.body = b, .body_len = 100 * 1024});      /* 4 */
  request(f, c, "/up/7/photos", &(struct req_opts){.method = "PATCH", .body = b, .body_len = 100 * 1024}); /* 5 */
  request(f, c, "/up/7/submit", &(struct req_opts){.body = "{}", .body_len = 2});               /* 6 */
  free(b);
  curl_easy_cleanup(c);
}

/* A larger body is allowed only for the method and paths given; everything else keeps
 * HTTP_MAX_BODY. */
static void test_body_limit_per_route(void **state)
{
  struct fixture *f = fixture_new();
  assert_int_equal(http_route(f->srv, "POST", "/up/*", echo_handler, f), 0);
  assert_int_equal(http_route(f->srv, "PATCH", "/up/*", echo_handler, f), 0);
  assert_int_equal(http_body_limit(f->srv, "POST", "/up/*/photos", PHOTO_LIMIT, NULL, NULL), 0);
  assert_int_equal(http_body_limit(f->srv, "POST", "no-slash", PHOTO_LIMIT, NULL, NULL), -EINVAL);
  run_client(f, client_body_limits);

  struct reply *r = f->r;
  for (int i = 0; i < f->nr; i++) assert_int_equal(r[i].rc, CURLE_OK);
  char *b = pattern_body(PHOTO_LIMIT);
  assert_int_equal(r[0].status, 200);
  assert_int_equal(r[0].len, 100 * 1024);
  assert_int_equal(r[1].status, 200);
  assert_int_equal(r[1].len, PHOTO_LIMIT);
  assert_memory_equal(r[1].body, b, PHOTO_LIMIT);
  free(b);
  assert_int_equal(r[2].status, 413);
  assert_string_equal(r[2].body, "{\"error\":\"request body too large\"}");
  assert_int_equal(r[3].status, 413); /* another path under the same route */
  assert_int_equal(r[4].status, 413); /* '*' stays within one segment */
  assert_int_equal(r[5].status, 413); /* another method */
  assert_int_equal(r[6].status, 200);
  assert_int_equal(f->echo_calls, 3);
  fixture_free(f);
}

static int admit_good(void *ud, const char *authorization)
{
  (void)ud;
  return authorization && strcmp(authorization, "Bearer good") == 0;
}

static void client_admission(struct fixture *f)
{
  CURL *c = curl_easy_init();
  char *b = pattern_body(100 * 1024);
  request(f, c, "/up/1/photos", &(struct req_opts){.body = b, .body_len = 100 * 1024});                     /* 0 */
  request(f, c, "/up/1/photos", &(struct req_opts){.body = b, .body_len = 100 * 1024, .auth = "Bearer bad"}); /* 1 */
  request(f, c, "/up/1/photos", &(struct req_opts){.body = b, .body_len = 100 * 1024, .auth = "Bearer good"}); /* 2 */
  request(f, c, "/up/1/photos", &(struct req_opts){.body = b, .body_len = 1024});                           /* 3 */
  free(b);
  curl_easy_cleanup(c);
}

/* With an admit check, a body beyond HTTP_MAX_BODY is only taken from an admitted caller; the
 * others get 401 without their body reaching a handler. Small bodies do not ask. */
static void test_body_limit_admission(void **state)
{
  struct fixture *f = fixture_new();
  assert_int_equal(http_route(f->srv, "POST", "/up/*", echo_handler, f), 0);
  assert_int_equal(http_body_limit(f->srv, "POST", "/up/*/photos", PHOTO_LIMIT, admit_good, NULL), 0);
  run_client(f, client_admission);
  struct reply *r = f->r;
  for (int i = 0; i < f->nr; i++) assert_int_equal(r[i].rc, CURLE_OK);
  assert_int_equal(r[0].status, 401);
  assert_int_equal(r[1].status, 401);
  assert_int_equal(r[2].status, 200);
  assert_int_equal(r[2].len, 100 * 1024);
  assert_int_equal(r[3].status, 200);
  assert_int_equal(f->echo_calls, 2);
  fixture_free(f);
}

static void client_query_status(struct fixture *f)
{
  CURL *c = curl_easy_init();
  get(f, c, "/q?state=UNACK&q=%E6%B0%A8");                                       /* 0 */
  get(f, c, "/q");                                                               /* 1 */
  request(f, c, "/q?q=a%26b%3Dc+d&state=", &(struct req_opts){.auth = "Bearer t0k3n"}); /* 2 */
  get(f, c, "/created");                                                         /* 3 */
  get(f, c, "/teapot");                                                          /* 4 */
  get(f, c, "/badstatus");                                                       /* 5 */
  curl_easy_cleanup(c);
}

static void test_query_and_status(void **state)
{
  struct fixture *f = fixture_new();
  assert_int_equal(http_route(f->srv, "GET", "/q", query_handler, NULL), 0);
  assert_int_equal(http_route(f->srv, "GET", "/created", created_handler, NULL), 0);
  assert_int_equal(http_route(f->srv, "GET", "/teapot", teapot_handler, NULL), 0);
  assert_int_equal(http_route(f->srv, "GET", "/badstatus", badstatus_handler, NULL), 0);
  run_client(f, client_query_status);

  struct reply *r = f->r;
  for (int i = 0; i < f->nr; i++) assert_int_equal(r[i].rc, CURLE_OK);
  assert_int_equal(r[0].status, 200);
  assert_string_equal(r[0].body, "5:UNACK|3:\xe6\xb0\xa8|-");
  assert_string_equal(r[1].body, "-1:|-1:|-");
  assert_string_equal(r[2].body, "0:|7:a&b=c d|Bearer t0k3n");
  assert_int_equal(r[3].status, 201);
  assert_string_equal(r[3].body, "made");
  assert_string_equal(r[3].ctype, "text/plain; charset=utf-8");
  assert_string_equal(r[3].cache, "no-store");
  assert_int_equal(r[4].status, 418);
  assert_int_equal(r[4].len, 0);
  assert_string_equal(r[4].ctype, "application/json; charset=utf-8");
  assert_int_equal(r[5].status, 500);
  fixture_free(f);
}

static void client_big_keepalive(struct fixture *f)
{
  CURL *c = curl_easy_init();
  get(f, c, "/big");                                                          /* 0 */
  request(f, c, "/healthz", &(struct req_opts){.method = "GET"});             /* 1 */
  request(f, c, "/big", &(struct req_opts){.head = 1});                       /* 2 */
  get(f, c, "/healthz");                                                      /* 3 */
  curl_easy_cleanup(c);
}

static void test_big_response_keepalive(void **state)
{
  struct fixture *f = fixture_new();
  assert_int_equal(http_route(f->srv, "GET", "/big", big_handler, NULL), 0);
  assert_int_equal(http_route(f->srv, "GET", "/healthz", tag_handler, "health"), 0);
  run_client(f, client_big_keepalive);

  struct reply *r = f->r;
  for (int i = 0; i < f->nr; i++) assert_int_equal(r[i].rc, CURLE_OK);
  assert_int_equal(r[0].status, 200);
  assert_int_equal(r[0].len, BIG_LEN);
  for (size_t i = 0; i < BIG_LEN; i++)
    if (r[0].body[i] != big_byte(i)) fail_msg("byte %zu differs", i);
  assert_int_equal(r[0].num_connects, 1);
  /* The second request reused the first connection. */
  assert_int_equal(r[1].status, 200);
  assert_int_equal(r[1].num_connects, 0);
  assert_int_equal(r[1].local_port, r[0].local_port);
  /* HEAD: headers of the GET, no body, and the connection stays usable. */
  assert_int_equal(r[2].status, 200);
  assert_int_equal(r[2].len, 0);
  assert_int_equal(r[2].content_length, BIG_LEN);
  assert_int_equal(r[3].status, 200);
  assert_int_equal(r[3].local_port, r[0].local_port);
  fixture_free(f);
}

static void write_file(const char *dir, const char *name, const char *content)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  fputs(content, fp);
  fclose(fp);
}

static void client_static(struct fixture *f)
{
  CURL *c = curl_easy_init();
  static const struct req_opts as_is = {.path_as_is = 1};
  get(f, c, "/");                                          /* 0 */
  get(f, c, "/index.html");                                /* 1 */
  get(f, c, "/app.js");                                    /* 2 */
  get(f, c, "/style.css");                                 /* 3 */
  get(f, c, "/data.json");                                 /* 4 */
  get(f, c, "/logo.svg");                                  /* 5 */
  get(f, c, "/img.png");                                   /* 6 */
  get(f, c, "/favicon.ico");                               /* 7 */
  get(f, c, "/font.woff2");                                /* 8 */
  get(f, c, "/sub/");                                      /* 9: directory without index */
  get(f, c, "/sub");                                       /* 10 */
  request(f, c, "/../secret.txt", &as_is);                 /* 11 */
  request(f, c, "/%2e%2e/secret.txt", &as_is);             /* 12 */
  request(f, c, "/sub/../../secret.txt", &as_is);          /* 13 */
  request(f, c, "/sub/..%2f..%2fsecret.txt", &as_is);      /* 14 */
  get(f, c, "/link.txt");                                  /* 15: symlink leaving the dir */
  get(f, c, "/missing.html");                              /* 16 */
  get(f, c, "/api/v1/alarms");                             /* 17 */
  request(f, c, "/app.js", &(struct req_opts){.method = "POST", .body = "x", .body_len = 1}); /* 18 */
  get(f, c, "/ui");                                        /* 19 */
  get(f, c, "/ui/");                                       /* 20 */
  get(f, c, "/ui/app.js");                                 /* 21 */
  request(f, c, "/ui/%2e%2e/secret.txt", &as_is);          /* 22 */
  get(f, c, "/sub/deep.txt");                              /* 23 */
  curl_easy_cleanup(c);
}

static void test_static(void **state)
{
  struct fixture *f = fixture_new();
  snprintf(f->tmp, sizeof f->tmp, "/tmp/test_http.XXXXXX");
  assert_non_null(mkdtemp(f->tmp));
  char www[300], sub[320], link[320];
  snprintf(www, sizeof www, "%s/www", f->tmp);
  snprintf(sub, sizeof sub, "%s/sub", www);
  snprintf(link, sizeof link, "%s/link.txt", www);
  assert_int_equal(mkdir(www, 0755), 0);
  assert_int_equal(mkdir(sub, 0755), 0);
  write_file(f->tmp, "secret.txt", "TOP SECRET");
  write_file(www, "index.html", "<h1>dualguard</h1>");
  write_file(www, "app.js", "console.log(1);");
  write_file(www, "style.css", "body{}");
  write_file(www, "data.json", "{\"a\":1}");
  write_file(www, "logo.svg", "<svg/>");
  write_file(www, "img.png", "PNG");
  write_file(www, "favicon.ico", "ICO");
  write_file(www, "font.woff2", "WOFF");
  write_file(sub, "deep.txt", "deep");
  assert_int_equal(symlink("../secret.txt", link), 0);

  assert_int_equal(http_route(f->srv, "GET", "/api/v1/*", tag_handler, "v1"), 0);
  assert_int_equal(http_static(f->srv, "/", www), 0);
  assert_int_equal(http_static(f->srv, "/ui/", www), 0);
  assert_int_equal(http_static(f->srv, "/nowhere", "/nonexistent/dir/for/test"), -ENOENT);
  run_client(f, client_static);

  struct reply *r = f->r;
  for (int i = 0; i < f->nr; i++) assert_int_equal(r[i].rc, CURLE_OK);
  assert_int_equal(r[0].status, 200);
  assert_string_equal(r[0].body, "<h1>dualguard</h1>");
  assert_string_equal(r[0].ctype, "text/html; charset=utf-8");
  assert_string_equal(r[0].nosniff, "nosniff");
  assert_string_not_equal(r[0].cache, "no-store");
  assert_int_equal(r[1].status, 200);
  assert_string_equal(r[1].body, "<h1>dualguard</h1>");
  assert_string_equal(r[2].body, "console.log(1);");
  assert_string_equal(r[2].ctype, "text/javascript; charset=utf-8");
  assert_string_equal(r[3].ctype, "text/css; charset=utf-8");
  assert_string_equal(r[4].ctype, "application/json; charset=utf-8");
  assert_string_equal(r[5].ctype, "image/svg+xml; charset=utf-8");
  assert_string_equal(r[6].ctype, "image/png");
  assert_string_equal(r[7].ctype, "image/x-icon");
  assert_string_equal(r[8].ctype, "font/woff2");
  assert_string_equal(r[8].body, "WOFF");
  for (int i = 9; i <= 16; i++) {
    assert_int_equal(r[i].status, 404);
    assert_null(strstr(r[i].body ? r[i].body : "", "SECRET"));
  }
  assert_string_equal(r[9].body, "{\"error\":\"not found\"}");
  assert_int_equal(r[17].status, 200);
  assert_string_equal(r[17].body, "{\"route\":\"v1\",\"method\":\"GET\",\"path\":\"/api/v1/alarms\"}");
  assert_int_equal(r[18].status, 405);
  assert_int_equal(r[19].status, 200);
  assert_string_equal(r[19].body, "<h1>dualguard</h1>");
  assert_int_equal(r[20].status, 200);
  assert_string_equal(r[20].body, "<h1>dualguard</h1>");
  assert_int_equal(r[21].status, 200);
  assert_string_equal(r[21].body, "console.log(1);");
  assert_int_equal(r[22].status, 404);
  assert_null(strstr(r[22].body ? r[22].body : "", "SECRET"));
  assert_int_equal(r[23].status, 200);
  assert_string_equal(r[23].body, "deep");

  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->tmp);
  assert_int_equal(system(cmd), 0);
  fixture_free(f);
}

/* A client that announces a body and then stalls must be cut off by the server. */
static void client_stall(struct fixture *f)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(f->port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) return;
  static const char req[] = "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nabc";
  if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) goto out;
  /* Deadline well past HTTP_REQUEST_TIMEOUT_S: the server must close first. */
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    long left_ms = (HTTP_REQUEST_TIMEOUT_S + 15) * 1000L - ((now.tv_sec - t0.tv_sec) * 1000L +
                                                           (now.tv_nsec - t0.tv_nsec) / 1000000L);
    if (left_ms <= 0) break;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, (int)left_ms) <= 0) continue;
    char buf[512];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      f->timeout_got_response = 1;
      continue;
    }
    f->timeout_closed = n == 0 || errno == ECONNRESET;
    break;
  }
out:
  close(fd);
}

static void test_request_timeout(void **state)
{
  struct fixture *f = fixture_new();
  assert_int_equal(http_route(f->srv, "POST", "/echo", echo_handler, f), 0);
  run_client(f, client_stall);
  assert_int_equal(f->timeout_closed, 1);
  assert_int_equal(f->timeout_got_response, 0);
  assert_int_equal(f->echo_calls, 0);
  fixture_free(f);
}

static int raw_connect(uint16_t port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

static int write_all(int fd, const char *s)
{
  size_t n = strlen(s);
  return write(fd, s, n) == (ssize_t)n ? 0 : -1;
}

/* Reads until EOF or the deadline; returns the byte count, or -1 if the peer never closed. */
static long drain_until_eof(int fd, int deadline_ms)
{
  long total = 0;
  char buf[65536];
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    long left = deadline_ms - ((now.tv_sec - t0.tv_sec) * 1000L + (now.tv_nsec - t0.tv_nsec) / 1000000L);
    if (left <= 0) return -1;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, (int)left) <= 0) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) total += n;
    else if (n == 0 || errno == ECONNRESET) return total;
    else if (errno != EINTR) return -1;
  }
}

/* Leaves a half-sent body, a response in mid-flight and an idle connection behind. */
static void client_inflight(struct fixture *f)
{
  f->fds[0] = raw_connect(f->port);
  f->fds[1] = raw_connect(f->port);
  f->fds[2] = raw_connect(f->port);
  if (f->fds[0] < 0 || f->fds[1] < 0 || f->fds[2] < 0) return;
  if (write_all(f->fds[0], "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nabc") ||
      write_all(f->fds[1], "GET /huge HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
    return;
  char head[16] = {0};
  size_t got = 0;
  while (got < sizeof head - 1) {
    struct pollfd p = {.fd = f->fds[1], .events = POLLIN};
    if (poll(&p, 1, 20000) <= 0) return;
    ssize_t n = read(f->fds[1], head + got, sizeof head - 1 - got);
    if (n <= 0) return;
    got += (size_t)n;
  }
  f->huge_started = strncmp(head, "HTTP/1.1 200", 12) == 0;
}

static long ms_since(const struct timespec *t0)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - t0->tv_sec) * 1000L + (now.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* Two clients ask for HUGE_LEN bytes: one reads them at about 1 MB/s, so the server writes for
 * longer than HTTP_REQUEST_TIMEOUT_S (its socket buffer holds at most a few MB of them); the
 * other reads nothing after the request. */
static void client_slow_readers(struct fixture *f)
{
  int slow = raw_connect(f->port), stalled = raw_connect(f->port);
  f->slow_read = f->stalled_read = -1;
  if (slow < 0 || stalled < 0 || write_all(slow, "GET /huge HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") ||
      write_all(stalled, "GET /huge HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
    goto out;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long total = 0;
  char buf[16384];
  while (ms_since(&t0) < 60000) {
    struct pollfd p = {.fd = slow, .events = POLLIN};
    if (poll(&p, 1, 1000) <= 0) continue;
    ssize_t n = read(slow, buf, sizeof buf);
    if (n <= 0) break;
    total += n;
    long due_ms = total / 1000; /* 1 000 bytes a ms */
    long ahead = due_ms - ms_since(&t0);
    if (ahead > 0) nanosleep(&(struct timespec){ahead / 1000, (ahead % 1000) * 1000000L}, NULL);
  }
  f->slow_read = total;
  f->stalled_read = drain_until_eof(stalled, 20000);
out:
  if (slow >= 0) close(slow);
  if (stalled >= 0) close(stalled);
}

/* An answer the client reads at a steady pace is written whole, however long that takes; one
 * the client stops taking is dropped HTTP_REQUEST_TIMEOUT_S after the last part it took. */
static void test_slow_reader_gets_the_whole_answer(void **state)
{
  struct fixture *f = fixture_new();
  assert_int_equal(http_route(f->srv, "GET", "/huge", huge_handler, NULL), 0);
  run_client(f, client_slow_readers);
  long header_max = 1024;
  assert_true(f->slow_read >= HUGE_LEN && f->slow_read < HUGE_LEN + header_max);
  assert_true(f->stalled_read >= 0 && f->stalled_read < HUGE_LEN);
  fixture_free(f);
}

static void test_stop_with_open_connections(void **state)
{
  struct fixture *f = fixture_new();
  f->fds[0] = f->fds[1] = f->fds[2] = -1;
  assert_int_equal(http_route(f->srv, "POST", "/echo", echo_handler, f), 0);
  assert_int_equal(http_route(f->srv, "GET", "/huge", huge_handler, NULL), 0);
  run_client(f, client_inflight);
  assert_int_equal(f->huge_started, 1);
  assert_int_equal(f->echo_calls, 0);
  /* The loop has closed, so the server side of every connection must be gone. */
  for (int i = 0; i < 3; i++) {
    assert_true(f->fds[i] >= 0);
    long n = drain_until_eof(f->fds[i], 20000);
    assert_true(n >= 0);
    if (i == 1) assert_true(n < HUGE_LEN);
    close(f->fds[i]);
  }
  fixture_free(f);
}

static void client_stop_from_handler(struct fixture *f)
{
  CURL *c = curl_easy_init();
  get(f, c, "/stop");
  curl_easy_cleanup(c);
  /* The listener is gone once the loop has seen the stop. */
  for (int tries = 0; tries < 200; tries++) {
    int fd = raw_connect(f->port);
    if (fd < 0) {
      f->timeout_closed = 1;
      break;
    }
    close(fd);
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
}

static void test_stop_from_handler(void **state)
{
  struct fixture *f = fixture_new();
  assert_int_equal(http_route(f->srv, "GET", "/stop", stop_handler, f), 0);
  run_client(f, client_stop_from_handler);
  assert_null(f->srv);
  assert_int_equal(f->timeout_closed, 1);
  fixture_free(f);
}

static int connect_to(const char *ip, uint16_t port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, ip, &sa.sin_addr);
  int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : -errno;
  close(fd);
  return rc;
}

/* "127.0.0.1" must mean that address only, not every interface. */
static void test_listen_address(void **state)
{
  static const char *const addrs[] = {"127.0.0.1", "localhost"};
  for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
    uv_loop_t loop;
    struct http_server *s = NULL;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(http_start(&s, &loop, addrs[i], 0), 0);
    uint16_t port = http_port(s);
    assert_int_equal(connect_to("127.0.0.1", port), 0);
    assert_int_equal(connect_to("127.0.0.2", port), -ECONNREFUSED);
    http_stop(s);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
  }
  uv_loop_t loop;
  struct http_server *s = NULL;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(http_start(&s, &loop, "0.0.0.0", 0), 0);
  assert_int_equal(connect_to("127.0.0.2", http_port(s)), 0);
  http_stop(s);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_listen_failure(void **state)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(fd, 1), 0);
  socklen_t sl = sizeof sa;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);

  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  struct http_server *s = (struct http_server *)&loop; /* must be overwritten */
  int rc = http_start(&s, &loop, "127.0.0.1", ntohs(sa.sin_port));
  assert_true(rc < 0);
  assert_null(s);
  http_stop(NULL);
  /* Whatever the failed start left on the loop winds down by itself. */
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
  close(fd);
}

/* ---- request decision without a connection (http_handle) ---------------------------------- */

static void ok_handler(void *ud, const struct http_request *req, struct http_response *resp)
{
  resp->body = strdup("{\"ok\":true}");
}

static int decide(struct http_server *s, const char *method, const char *path, const char *host, const char *auth,
                  int loopback)
{
  char allow[64];
  struct http_request req = {.method = method, .path = path, .query = "", .body = "", .host = host,
                             .authorization = auth, .loopback = loopback};
  struct http_response resp = {.status = 200};
  http_handle(s, &req, &resp, allow, sizeof allow);
  free(resp.body);
  return resp.status;
}

/* Host names a DNS-rebinding page would send are refused; reads of the API need a token unless
 * opened to loopback clients; other paths stay open. */
static void test_host_and_read_auth(void **state)
{
  const char *const hosts[] = {"Plant-PC.example"};
  struct http_server *s = http_router_new(&(struct http_options){.listen = "10.1.2.3", .hosts = hosts, .n_hosts = 1});
  assert_non_null(s);
  assert_int_equal(http_route(s, "GET", "/api/v1/points", ok_handler, NULL), 0);
  assert_int_equal(http_route(s, "POST", "/api/v1/points", ok_handler, NULL), 0);
  assert_int_equal(http_route(s, "GET", "/healthz", ok_handler, NULL), 0);
  assert_int_equal(decide(s, "GET", "/api/v1/points", "127.0.0.1", NULL, 1), 200);
  assert_int_equal(http_read_auth(s, "/api/", admit_good, NULL, 0), 0);

  assert_int_equal(decide(s, "GET", "/healthz", "evil.example", NULL, 1), 421);
  assert_int_equal(decide(s, "GET", "/healthz", "evil.example:8080", NULL, 1), 421);
  assert_int_equal(decide(s, "GET", "/healthz", "127.0.0.1.evil.example", NULL, 1), 421);
  assert_int_equal(decide(s, "GET", "/healthz", "127.0.0.1:8080:1", NULL, 1), 421);
  assert_int_equal(decide(s, "GET", "/healthz", "127.0.0.1:8080", NULL, 1), 200);
  assert_int_equal(decide(s, "GET", "/healthz", "LOCALHOST.:8080", NULL, 1), 200);
  assert_int_equal(decide(s, "GET", "/healthz", "[::1]:8080", NULL, 1), 200);
  assert_int_equal(decide(s, "GET", "/healthz", "10.1.2.3", NULL, 0), 200);
  assert_int_equal(decide(s, "GET", "/healthz", "plant-pc.example:443", NULL, 0), 200);
  assert_int_equal(decide(s, "GET", "/healthz", NULL, NULL, 0), 200);

  assert_int_equal(decide(s, "GET", "/api/v1/points", "127.0.0.1", NULL, 1), 401);
  assert_int_equal(decide(s, "HEAD", "/api/v1/points", "127.0.0.1", "Bearer bad", 1), 401);
  assert_int_equal(decide(s, "GET", "/api/v1/points", "127.0.0.1", "Bearer good", 1), 200);
  assert_int_equal(decide(s, "POST", "/api/v1/points", "127.0.0.1", NULL, 1), 200); /* handlers check writes */
  assert_int_equal(decide(s, "GET", "/api/nothing", "127.0.0.1", NULL, 1), 404);

  assert_int_equal(http_read_auth(s, "/api/", admit_good, NULL, 1), 0);
  assert_int_equal(decide(s, "GET", "/api/v1/points", "127.0.0.1", NULL, 1), 200);
  assert_int_equal(decide(s, "GET", "/api/v1/points", "10.1.2.3", NULL, 0), 401);
  http_router_free(s);
}

static void test_utf8(void **state)
{
  size_t bad = 99;
  assert_true(http_utf8_valid("h\xc3\xa9 \xe6\xb0\xa8 \xf0\x9f\x98\x80", 12, NULL));
  assert_false(http_utf8_valid("ab\xff", 3, &bad));
  assert_int_equal(bad, 2);
  assert_false(http_utf8_valid("\xc0\xaf", 2, &bad));     /* overlong '/' */
  assert_false(http_utf8_valid("\xed\xa0\x80", 3, &bad)); /* surrogate */
  assert_false(http_utf8_valid("\xe6\xb0", 2, &bad));     /* truncated */
  assert_false(http_utf8_valid("a\0b", 3, &bad));
  assert_int_equal(bad, 1);
  char out[16];
  assert_int_equal(http_query_get("q=%FF", "q", out, sizeof out), -2);
  assert_int_equal(http_query_get("q=%E6%B0%A8", "q", out, sizeof out), 3);
}

int main(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (getenv("DG_TEST_DEBUG")) dg_log_set_level(DG_LOG_DEBUG);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_query_get),
    cmocka_unit_test(test_routes),
    cmocka_unit_test(test_post_bodies),
    cmocka_unit_test(test_body_limit_per_route),
    cmocka_unit_test(test_body_limit_admission),
    cmocka_unit_test(test_query_and_status),
    cmocka_unit_test(test_big_response_keepalive),
    cmocka_unit_test(test_static),
    cmocka_unit_test(test_listen_address),
    cmocka_unit_test(test_listen_failure),
    cmocka_unit_test(test_stop_with_open_connections),
    cmocka_unit_test(test_stop_from_handler),
    cmocka_unit_test(test_request_timeout),
    cmocka_unit_test(test_host_and_read_auth),
    cmocka_unit_test(test_utf8),
    cmocka_unit_test(test_deferred_answer_to_an_empty_body),
    cmocka_unit_test(test_slow_reader_gets_the_whole_answer),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
