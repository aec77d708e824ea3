/* http — the HTTP server (libwebsockets on the daemon's libuv loop, foreign-loop mode).
 *
 * Handlers run on the loop thread and answer synchronously. Request bodies are limited to
 * HTTP_MAX_BODY bytes (413 beyond) unless http_body_limit allows more for a method and path;
 * a request that is not read and answered within HTTP_REQUEST_TIMEOUT_S is dropped, whatever its
 * method, and so is an answer the client takes none of for that long (a long answer read at a
 * steady pace is written whole). CONNECT and upgrades are answered 405 and closed.
 *
 * Connections are capped below the descriptor limit (connlim.h): when the cap is reached the
 * server stops accepting until connections close, so drivers, the store and notifications keep
 * their descriptors. Requests whose Host header names another server are refused with 421 (DNS
 * rebinding). Every answer carries Content-Security-Policy, X-Frame-Options and Referrer-Policy. */
#ifndef DG_HTTP_H
#define DG_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define HTTP_MAX_BODY (64 * 1024)
#define HTTP_REQUEST_TIMEOUT_S 10

struct http_server;

struct http_request {
  const char *method;        /* "GET", "POST", ... */
  const char *path;          /* decoded path without query, e.g. "/api/v1/alarms/12/ack" */
  const char *query;         /* raw query string without '?', "" if none */
  const char *authorization; /* Authorization header value, or NULL */
  const char *content_type;  /* Content-Type header value, or NULL */
  const char *body;          /* NUL-terminated, "" if none */
  size_t body_len;
  const char *host;          /* Host header value, or NULL */
  int loopback;              /* the client connected from a loopback address */
  const char *peer;          /* the client's address as text ("" when unknown) */
  int cookie_auth;           /* authorization came from the session cookie, not the header */
  void *conn;                /* the server's connection (http_defer); NULL without one */
  const char *last_event_id; /* Last-Event-ID header value (event streams), or NULL */
};

/* A streamed answer (server-sent events): the connection, valid from opened until closed. */
struct http_stream;

struct http_stream_ops {
  /* The answer's headers are out; wake h (http_stream_wake) when output is pending. */
  void (*opened)(void *ctx, struct http_stream *h);
  /* Copies up to cap bytes of pending output to buf: the count, 0 when nothing is pending (the
   * stream waits for its next wake), or -1 to close the connection. */
  long (*pull)(void *ctx, char *buf, size_t cap);
  /* The connection is gone (or the stream was refused): free ctx; h is invalid from now on. */
  void (*closed)(void *ctx);
};

struct http_response {
  int status;                /* default 200 */
  const char *content_type;  /* default "application/json; charset=utf-8" */
  char *body;                /* malloc'd by the handler; the server frees it. NULL = empty */
  size_t body_len;           /* 0 with non-NULL body: strlen(body) */
  char *set_cookie;          /* malloc'd Set-Cookie value or NULL; the server frees it */
  /* Set by a handler (with status 200 and no body) to stream the answer: headers go out without
   * a length and the connection stays open, written from stream->pull whenever it can take more
   * (no request timeout applies). Streams take at most half of the connection cap (else 503, and
   * closed is called at once). */
  const struct http_stream_ops *stream;
  void *stream_ctx;
};

/* Session cookie: a request without an Authorization header that carries this cookie is
 * handled as if it had sent "Authorization: Bearer <cookie value>" (req->cookie_auth set).
 * Cross-site request forgery: on a method other than GET or HEAD the cookie counts only with an
 * Origin header naming the Host the request was sent to; otherwise it is ignored (and logged),
 * so the request is unauthenticated. */
#define HTTP_SESSION_COOKIE "dg_session"

/* Deferred answers: a handler that must wait (work on another thread) calls http_defer and
 * leaves resp untouched; the server answers when http_deferred_answer is called, on the loop
 * thread, with the response (its body and set_cookie taken). If the connection closed
 * meanwhile, the answer is dropped. The handler may also answer through the deferral before it
 * returns (its work could not start). http_defer returns NULL when the request has no
 * connection (http_handle); the handler must then answer at once. */
struct http_deferred;
struct http_deferred *http_defer(const struct http_request *req);
void http_deferred_answer(struct http_deferred *d, struct http_response *resp);

typedef void (*http_handler_fn)(void *ud, const struct http_request *req, struct http_response *resp);

struct http_options {
  const char *listen;               /* address, host name or interface; NULL/"*" = all */
  uint16_t port;                    /* 0 = ephemeral */
  unsigned max_connections;         /* 0 = derived from the descriptor limit (connlim_derive) */
  unsigned max_connections_per_client;
  unsigned fd_reserve;              /* 0 = derived */
  const char *const *hosts;         /* Host names answered besides localhost, 127.0.0.1, ::1 and listen */
  size_t n_hosts;
  const char *tls_cert, *tls_key;   /* PEM files: serve HTTPS (both or neither) */
};

/* Loop thread. Listens on addr:port (port 0 = ephemeral; see http_port). 0 or negative errno. */
int http_start(struct http_server **out, uv_loop_t *loop, const char *addr, uint16_t port);
int http_start_opts(struct http_server **out, uv_loop_t *loop, const struct http_options *o);
uint16_t http_port(const struct http_server *s);

/* Routes: `pattern` is an exact path ("/healthz") or a prefix ending in '*' ("/api/v1/alarms/" followed by a star).
 * Exact matches win over prefixes, longer prefixes over shorter. method NULL = any method.
 * No route: 404 JSON. A route exists for the path but not the method: 405. */
int http_route(struct http_server *s, const char *method, const char *pattern, http_handler_fn fn, void *ud);

/* Admission of a large body from its request's Authorization header (NULL if absent): nonzero
 * admits. Runs on the loop thread before any of the body is read. */
typedef int (*http_admit_fn)(void *ud, const char *authorization);

/* Allows request bodies of up to max_body bytes (instead of HTTP_MAX_BODY) for `method` on paths
 * matching `glob` (fnmatch with FNM_PATHNAME: '*' matches within one path segment, e.g.
 * "/api/v1/hazards/ * /photos" without the spaces). The first matching limit applies. With
 * `admit`, a body larger than HTTP_MAX_BODY is only buffered when admit says so (else it is
 * drained unread and answered 401), so unauthenticated clients cannot make the server hold large
 * bodies. */
int http_body_limit(struct http_server *s, const char *method, const char *glob, size_t max_body,
                    http_admit_fn admit, void *ud);

/* Reads (GET, HEAD) of paths starting with `prefix` need a bearer token that `admit` accepts,
 * else 401; with open_on_loopback, clients connected from a loopback address need none. Static
 * files and other paths stay open. */
int http_read_auth(struct http_server *s, const char *prefix, http_admit_fn admit, void *ud, int open_on_loopback);

/* Serve files under `dir` for paths under url_prefix ("/" → dir/index.html). No directory
 * listing, no ".." escapes. */
int http_static(struct http_server *s, const char *url_prefix, const char *dir);

/* Query helper: copies the URL-decoded value of `key` into out; returns its length, -1 when the
 * key is absent, -2 when its value does not fit in out or holds a NUL (%00). */
int http_query_get(const char *query, const char *key, char *out, size_t outlen);

/* Nonzero when [s, s+n) is well-formed UTF-8 without NUL bytes; else *bad_at (if not NULL) is
 * the offset of the first offending byte. */
int http_utf8_valid(const char *s, size_t n, size_t *bad_at);

/* The request decision without a connection (what the server does once a request's headers and
 * body are in): Host check, route, read authorization, handler. allow receives the methods of a
 * 405. A server from http_router_new has routes but does not listen (tests and fuzzing). */
void http_handle(struct http_server *s, const struct http_request *req, struct http_response *resp, char *allow,
                 size_t allowlen);
struct http_server *http_router_new(const struct http_options *o);
void http_router_free(struct http_server *s);

/* Loop thread: output is pending on a stream, call its pull when the connection can take it. */
void http_stream_wake(struct http_stream *h);
/* Nonzero when the client of a stream has closed its side or reset the connection (lws does not
 * read a connection while it writes a streamed answer, so it would only learn this from a write
 * failing). */
int http_stream_peer_gone(struct http_stream *h);
/* Streams open now. */
unsigned http_streams_open(const struct http_server *s);

/* Loop thread. Stops listening and destroys the lws context; the loop must keep running until
 * its handles have closed. */
void http_stop(struct http_server *s);

/* Requests answered since start, by method (http_stats_methods; the last is every other
 * method) and status class (index status / 100: 1 … 5). Loop thread. */
#define HTTP_STATS_OTHER 6
struct http_stats {
  uint64_t requests[HTTP_STATS_OTHER + 1][6];
};
extern const char *const http_stats_methods[HTTP_STATS_OTHER + 1];
void http_stats(const struct http_server *s, struct http_stats *out);

#endif
