#include "httpc.h"

#include "log.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTPC_BODY_CAP (64 * 1024)
#define HTTPC_CONNECT_TIMEOUT_MS 5000u
/* Connections kept alive after use: more than the senders have in flight together, so the
 * connections a burst of notifications opened carry the next burst. curl's default (four per
 * transfer added at the time) shrinks as a burst drains and closes all but four. */
#define HTTPC_MAX_CONNECTS 64L
/* Easy handles kept between requests (curl_easy_reset): a delivery then costs no handle of its
 * own, only its options. */
#define HTTPC_IDLE_EASY 16

struct httpc_req {
  struct httpc *c;
  CURL *easy;
  struct curl_slist *headers;
  struct curl_slist *rcpts; /* SMTP */
  char *up;                 /* SMTP: the message being uploaded */
  size_t up_len, up_off;
  httpc_done_fn done;
  void *ud;
  char *resp;
  size_t resp_len;
  size_t resp_cap;
  struct httpc_req *prev, *next;
  char errbuf[CURL_ERROR_SIZE];
};

/* One per socket curl asks us to watch. */
struct httpc_sock {
  struct httpc *c;
  uv_poll_t poll;
  curl_socket_t fd;
  struct httpc_sock *prev, *next;
};

struct httpc {
  uv_loop_t *loop;
  CURLM *multi;
  uv_timer_t timer;
  struct httpc_req *reqs;
  struct httpc_sock *socks;
  CURL *idle[HTTPC_IDLE_EASY];
  size_t n_idle;
  size_t active;
  size_t open_handles; /* uv handles whose close callback has not run yet */
  bool dispatching;    /* inside httpc__check_multi_info */
  bool closing;
};

static pthread_once_t httpc__once = PTHREAD_ONCE_INIT;
static CURLcode httpc__global_rc;

static void httpc__global_init(void) { httpc__global_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

static void httpc__shutdown(struct httpc *c);

/* ---- memory owned by uv handles ---- */

static void httpc__handle_closed(struct httpc *c)
{
  if (--c->open_handles == 0) free(c);
}

static void httpc__on_timer_closed(uv_handle_t *h) { httpc__handle_closed(h->data); }

static void httpc__on_sock_closed(uv_handle_t *h)
{
  struct httpc_sock *s = h->data;
  struct httpc *c = s->c;
  free(s);
  httpc__handle_closed(c);
}

static void httpc__sock_close(struct httpc_sock *s)
{
  struct httpc *c = s->c;
  if (s->prev) s->prev->next = s->next;
  else c->socks = s->next;
  if (s->next) s->next->prev = s->prev;
  uv_poll_stop(&s->poll);
  uv_close((uv_handle_t *)&s->poll, httpc__on_sock_closed);
}

/* ---- request bookkeeping ---- */

static void httpc__req_link(struct httpc *c, struct httpc_req *r)
{
  r->prev = NULL;
  r->next = c->reqs;
  if (c->reqs) c->reqs->prev = r;
  c->reqs = r;
  c->active++;
}

static void httpc__req_unlink(struct httpc *c, struct httpc_req *r)
{
  if (r->prev) r->prev->next = r->next;
  else c->reqs = r->next;
  if (r->next) r->next->prev = r->prev;
  c->active--;
}

/* A finished request's easy handle, out of the multi handle: kept for the next request with its
 * options reset, or cleaned up. */
static void httpc__easy_put(struct httpc *c, CURL *easy)
{
  if (!c->closing && c->n_idle < HTTPC_IDLE_EASY) {
    curl_easy_reset(easy);
    c->idle[c->n_idle++] = easy;
  } else {
    curl_easy_cleanup(easy);
  }
}

static void httpc__req_free(struct httpc_req *r)
{
  if (r->easy) httpc__easy_put(r->c, r->easy);
  curl_slist_free_all(r->headers);
  curl_slist_free_all(r->rcpts);
  free(r->up);
  free(r->resp);
  free(r);
}

static size_t httpc__on_write(char *data, size_t size, size_t nmemb, void *ud)
{
  struct httpc_req *r = ud;
  size_t n = size * nmemb;
  size_t room = HTTPC_BODY_CAP - r->resp_len;
  size_t take = n < room ? n : room;
  if (take == 0) return n; /* past the cap: keep draining, drop the rest */
  if (r->resp_len + take + 1 > r->resp_cap) {
    size_t cap = r->resp_cap ? r->resp_cap : 1024;
    while (cap < r->resp_len + take + 1) cap *= 2;
    if (cap > HTTPC_BODY_CAP + 1) cap = HTTPC_BODY_CAP + 1;
    char *p = realloc(r->resp, cap);
    if (!p) return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    r->resp = p;
    r->resp_cap = cap;
  }
  memcpy(r->resp + r->resp_len, data, take);
  r->resp_len += take;
  r->resp[r->resp_len] = '\0';
  return n;
}

static const char *httpc__describe(struct httpc_req *r, CURLcode rc)
{
  long os_errno = 0;
  switch (rc) {
  case CURLE_OPERATION_TIMEDOUT: return "timeout";
  case CURLE_COULDNT_CONNECT:
    curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os_errno);
    if (os_errno == ECONNREFUSED) return "connection refused";
    break;
  default: break;
  }
  return r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);
}

/* Unlinks r, reports its outcome and frees it. r must already be out of the multi handle. */
static void httpc__finish(struct httpc *c, struct httpc_req *r, CURLcode rc)
{
  long status = 0;
  const char *error = NULL;
  httpc__req_unlink(c, r);
  if (rc == CURLE_OK) curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
  else error = httpc__describe(r, rc);
  if (rc == CURLE_OK && status == 0) error = "no HTTP status";
  r->done(r->ud, status, error, rc == CURLE_OK ? r->resp : NULL);
  httpc__req_free(r);
}

static void httpc__check_multi_info(struct httpc *c)
{
  CURLMsg *msg;
  int pending;
  c->dispatching = true;
  while (!c->closing && (msg = curl_multi_info_read(c->multi, &pending))) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL *easy = msg->easy_handle;
    CURLcode rc = msg->data.result;
    char *priv = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    curl_multi_remove_handle(c->multi, easy);
    httpc__finish(c, (struct httpc_req *)priv, rc);
  }
  c->dispatching = false;
  /* A done callback asked to close: finish that now that curl is no longer being walked. */
  if (c->closing) httpc__shutdown(c);
}

/* ---- curl multi <-> libuv glue (curl's docs/examples/multi-uv.c) ---- */

static void httpc__on_poll(uv_poll_t *h, int status, int events)
{
  struct httpc_sock *s = h->data;
  struct httpc *c = s->c;
  int flags = 0;
  int running;
  if (status < 0) flags = CURL_CSELECT_ERR;
  if (!status && (events & UV_READABLE)) flags |= CURL_CSELECT_IN;
  if (!status && (events & UV_WRITABLE)) flags |= CURL_CSELECT_OUT;
  curl_multi_socket_action(c->multi, s->fd, flags, &running);
  httpc__check_multi_info(c);
}

static void httpc__on_timeout(uv_timer_t *h)
{
  struct httpc *c = h->data;
  int running;
  curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  httpc__check_multi_info(c);
}

static int httpc__on_curl_timer(CURLM *multi, long timeout_ms, void *ud)
{
  struct httpc *c = ud;
  if (c->closing) return 0; /* the timer is closed; nothing is left to drive */
  if (timeout_ms < 0) {
    uv_timer_stop(&c->timer);
    return 0;
  }
  /* Never 0: a zero timer re-armed from its own callback would spin inside one loop pass. */
  if (timeout_ms == 0) timeout_ms = 1;
  uv_timer_start(&c->timer, httpc__on_timeout, (uint64_t)timeout_ms, 0);
  return 0;
}

static struct httpc_sock *httpc__sock_open(struct httpc *c, curl_socket_t fd)
{
  struct httpc_sock *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  if (uv_poll_init_socket(c->loop, &s->poll, fd) < 0) {
    free(s);
    return NULL;
  }
  s->c = c;
  s->fd = fd;
  s->poll.data = s;
  s->next = c->socks;
  if (c->socks) c->socks->prev = s;
  c->socks = s;
  c->open_handles++;
  return s;
}

static int httpc__on_curl_socket(CURL *easy, curl_socket_t fd, int action, void *ud, void *socketp)
{
  struct httpc *c = ud;
  struct httpc_sock *s = socketp;
  if (c->closing) return 0; /* every poll handle is already closed */
  if (action == CURL_POLL_REMOVE) {
    if (s) {
      curl_multi_assign(c->multi, fd, NULL);
      httpc__sock_close(s);
    }
    return 0;
  }
  if (!s) {
    s = httpc__sock_open(c, fd);
    if (!s) {
      DG_LOG_RL(DG_LOG_ERR, "httpc", "cannot watch socket %d", (int)fd);
      return -1;
    }
    curl_multi_assign(c->multi, fd, s);
  }
  int events = 0;
  if (action == CURL_POLL_IN || action == CURL_POLL_INOUT) events |= UV_READABLE;
  if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT) events |= UV_WRITABLE;
  if (uv_poll_start(&s->poll, events, httpc__on_poll) < 0) return -1;
  return 0;
}

/* ---- public API ---- */

int httpc_init(struct httpc **out, uv_loop_t *loop)
{
  *out = NULL;
  pthread_once(&httpc__once, httpc__global_init);
  if (httpc__global_rc != CURLE_OK) {
    DG_ERR("httpc", "curl_global_init: %s", curl_easy_strerror(httpc__global_rc));
    return -EIO;
  }
  struct httpc *c = calloc(1, sizeof *c);
  if (!c) return -ENOMEM;
  c->loop = loop;
  c->multi = curl_multi_init();
  if (!c->multi) goto fail;
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, httpc__on_curl_socket);
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, httpc__on_curl_timer);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
  curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, HTTPC_MAX_CONNECTS);
  if (uv_timer_init(loop, &c->timer) < 0) goto fail;
  c->timer.data = c;
  c->open_handles = 1;
  *out = c;
  return 0;
fail:
  if (c->multi) curl_multi_cleanup(c->multi);
  free(c);
  return -ENOMEM;
}

static int httpc__start(struct httpc *c, struct httpc_req *r);

static bool httpc__header_ok(const char *s) { return s && !strpbrk(s, "\r\n"); }

static int httpc__build_headers(struct httpc_req *r, const char *content_type,
                                const char *const *headers)
{
  char line[256];
  struct curl_slist *l;
  if (content_type) {
    if (!httpc__header_ok(content_type)) return -EINVAL;
    if ((size_t)snprintf(line, sizeof line, "Content-Type: %s", content_type) >= sizeof line)
      return -EINVAL;
    if (!(l = curl_slist_append(r->headers, line))) return -ENOMEM;
    r->headers = l;
  }
  /* No "Expect: 100-continue" round trip for larger bodies: webhook receivers rarely answer it. */
  if (!(l = curl_slist_append(r->headers, "Expect:"))) return -ENOMEM;
  r->headers = l;
  for (size_t i = 0; headers && headers[i]; i++) {
    if (!httpc__header_ok(headers[i])) return -EINVAL;
    if (!(l = curl_slist_append(r->headers, headers[i]))) return -ENOMEM;
    r->headers = l;
  }
  return 0;
}

/* 0, or the errno of a failed request setup (logged). */
static int httpc__setup_rc(CURLcode rc)
{
  if (rc == CURLE_OK) return 0;
  if (rc == CURLE_OUT_OF_MEMORY) return -ENOMEM;
  DG_WARN("httpc", "request setup failed: %s", curl_easy_strerror(rc));
  return -EINVAL;
}

/* Options every request has: where, how long, which protocols, the response sink. */
static CURLcode httpc__common(struct httpc_req *r, const char *url, uint32_t timeout_ms, int smtp)
{
  CURL *e = r->easy;
  long connect_ms = timeout_ms < HTTPC_CONNECT_TIMEOUT_MS ? timeout_ms : HTTPC_CONNECT_TIMEOUT_MS;
  CURLcode rc = CURLE_OK;
#define HTTPC_SET(opt, val)                                                                        \
  if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
  HTTPC_SET(CURLOPT_URL, url);
  HTTPC_SET(CURLOPT_PRIVATE, r);
  HTTPC_SET(CURLOPT_ERRORBUFFER, r->errbuf);
  HTTPC_SET(CURLOPT_NOSIGNAL, 1L);
  HTTPC_SET(CURLOPT_TIMEOUT_MS, (long)timeout_ms);
  HTTPC_SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
#if LIBCURL_VERSION_NUM >= 0x075500
  HTTPC_SET(CURLOPT_PROTOCOLS_STR, smtp ? "smtp,smtps" : "http,https");
#else
  HTTPC_SET(CURLOPT_PROTOCOLS, smtp ? (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS) : (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  HTTPC_SET(CURLOPT_WRITEFUNCTION, httpc__on_write);
  HTTPC_SET(CURLOPT_WRITEDATA, r);
#undef HTTPC_SET
  return rc;
}

static int httpc__configure(struct httpc_req *r, const char *url, const char *body, size_t len,
                            uint32_t timeout_ms)
{
  CURL *e = r->easy;
  CURLcode rc = httpc__common(r, url, timeout_ms, 0);
#define HTTPC_SET(opt, val)                                                                        \
  if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
  HTTPC_SET(CURLOPT_FOLLOWLOCATION, 0L);
  HTTPC_SET(CURLOPT_USERAGENT, "dualguard/" DG_VERSION);
  HTTPC_SET(CURLOPT_POST, 1L);
  /* The size must be set first so COPYPOSTFIELDS copies exactly len bytes (NULs included). */
  HTTPC_SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  HTTPC_SET(CURLOPT_COPYPOSTFIELDS, body ? body : "");
  HTTPC_SET(CURLOPT_HTTPHEADER, r->headers);
#undef HTTPC_SET
  return httpc__setup_rc(rc);
}

/* A new request with its easy handle, or NULL when out of memory. */
static struct httpc_req *httpc__req_new(struct httpc *c, httpc_done_fn done, void *ud)
{
  struct httpc_req *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->c = c;
  r->done = done;
  r->ud = ud;
  if ((r->easy = c->n_idle ? c->idle[--c->n_idle] : curl_easy_init())) return r;
  free(r);
  return NULL;
}

int httpc_post(struct httpc *c, const char *url, const char *content_type, const char *body,
               size_t len, const char *const *headers, uint32_t timeout_ms, httpc_done_fn done,
               void *ud)
{
  int rc;
  if (!c || !url || !done || timeout_ms == 0 || (!body && len)) return -EINVAL;
  if (c->closing) return -ESHUTDOWN;
  struct httpc_req *r = httpc__req_new(c, done, ud);
  if (!r) return -ENOMEM;
  if ((rc = httpc__build_headers(r, content_type, headers)) < 0) goto fail;
  if ((rc = httpc__configure(r, url, body, len, timeout_ms)) < 0) goto fail;
  /* Adding only arms curl's timer; the transfer starts and completes from loop callbacks. */
  if ((rc = httpc__start(c, r)) < 0) goto fail;
  return 0;
fail:
  httpc__req_free(r);
  return rc;
}

static size_t httpc__on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
  struct httpc_req *r = ud;
  size_t room = size * nmemb, left = r->up_len - r->up_off;
  size_t n = left < room ? left : room;
  memcpy(buf, r->up + r->up_off, n);
  r->up_off += n;
  return n;
}

static int httpc__configure_smtp(struct httpc_req *r, const char *url, const char *user, const char *password,
                                 bool require_tls, const char *from, uint32_t timeout_ms)
{
  CURL *e = r->easy;
  char mail_from[320];
  CURLcode rc = httpc__common(r, url, timeout_ms, 1);
  snprintf(mail_from, sizeof mail_from, "<%s>", from);
#define HTTPC_SET(opt, val)                                                                        \
  if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
  if (require_tls) HTTPC_SET(CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
  if (user) HTTPC_SET(CURLOPT_USERNAME, user);
  if (password) HTTPC_SET(CURLOPT_PASSWORD, password);
  HTTPC_SET(CURLOPT_MAIL_FROM, mail_from);
  HTTPC_SET(CURLOPT_MAIL_RCPT, r->rcpts);
  HTTPC_SET(CURLOPT_UPLOAD, 1L);
  HTTPC_SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->up_len);
  HTTPC_SET(CURLOPT_READFUNCTION, httpc__on_read);
  HTTPC_SET(CURLOPT_READDATA, r);
#undef HTTPC_SET
  return httpc__setup_rc(rc);
}

/* Puts a configured request in the multi handle. */
static int httpc__start(struct httpc *c, struct httpc_req *r)
{
  CURLMcode mrc = curl_multi_add_handle(c->multi, r->easy);
  if (mrc != CURLM_OK) {
    DG_WARN("httpc", "curl_multi_add_handle: %s", curl_multi_strerror(mrc));
    return mrc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
  }
  httpc__req_link(c, r);
  return 0;
}

int httpc_smtp(struct httpc *c, const char *url, const char *user, const char *password, bool require_tls,
               const char *from, const char *rcpt, const char *msg, size_t len, uint32_t timeout_ms,
               httpc_done_fn done, void *ud)
{
  int rc = -ENOMEM;
  char to[320];
  if (!c || !url || !from || !rcpt || !msg || !done || !timeout_ms || !httpc__header_ok(rcpt)) return -EINVAL;
  if (c->closing) return -ESHUTDOWN;
  struct httpc_req *r = httpc__req_new(c, done, ud);
  if (!r) return -ENOMEM;
  snprintf(to, sizeof to, "<%s>", rcpt);
  if (!(r->rcpts = curl_slist_append(NULL, to)) || !(r->up = malloc(len + 1)))
    goto fail;
  memcpy(r->up, msg, len);
  r->up_len = len;
  if ((rc = httpc__configure_smtp(r, url, user, password, require_tls, from, timeout_ms)) < 0) goto fail;
  if ((rc = httpc__start(c, r)) < 0) goto fail;
  return 0;
fail:
  httpc__req_free(r);
  return rc;
}

size_t httpc_active(const struct httpc *c) { return c ? c->active : 0; }

static void httpc__shutdown(struct httpc *c)
{
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->timer, httpc__on_timer_closed);
  /* Stop polling while curl still holds the descriptors open. */
  while (c->socks) httpc__sock_close(c->socks);
  struct httpc_req *r;
  while ((r = c->reqs)) {
    curl_multi_remove_handle(c->multi, r->easy);
    httpc__req_unlink(c, r);
    r->done(r->ud, 0, "cancelled", NULL);
    httpc__req_free(r);
  }
  while (c->n_idle) curl_easy_cleanup(c->idle[--c->n_idle]);
  curl_multi_cleanup(c->multi);
  c->multi = NULL;
}

void httpc_close(struct httpc *c)
{
  if (!c || c->closing) return;
  c->closing = true;
  if (c->dispatching) return; /* httpc__check_multi_info finishes the close */
  httpc__shutdown(c);
}
