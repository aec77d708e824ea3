/* http — the HTTP server (libwebsockets on the daemon's libuv loop, foreign-loop mode).
 *
 * Handlers run on the loop thread and answer synchronously. Request bodies are limited to
 * HTTP_MAX_BODY bytes (413 beyond) unless http_body_limit allows more for a method and path;
 * a request that does not complete within HTTP_REQUEST_TIMEOUT_S is dropped. */
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
};

struct http_response {
  int status;                /* default 200 */
  const char *content_type;  /* default "application/json; charset=utf-8" */
  char *body;                /* malloc'd by the handler; the server frees it. NULL = empty */
  size_t body_len;           /* 0 with non-NULL body: strlen(body) */
};

typedef void (*http_handler_fn)(void *ud, const struct http_request *req, struct http_response *resp);

/* Loop thread. Listens on addr:port (port 0 = ephemeral; see http_port). 0 or negative errno. */
int http_start(struct http_server **out, uv_loop_t *loop, const char *addr, uint16_t port);
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

/* Serve files under `dir` for paths under url_prefix ("/" → dir/index.html). No directory
 * listing, no ".." escapes. */
int http_static(struct http_server *s, const char *url_prefix, const char *dir);

/* Query helper: copies the URL-decoded value of `key` into out; returns its length, -1 when the
 * key is absent, -2 when its value does not fit in out or holds a NUL (%00). */
int http_query_get(const char *query, const char *key, char *out, size_t outlen);

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
