#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connlim.h"
#include "log.h"

#define HTTP_SUBSYS "http"
#define HTTP_WRITE_CHUNK (32 * 1024)
#define HTTP_STREAM_SNDBUF (64 * 1024) /* kernel send buffer of a streamed answer */
#define HTTP_HEADER_BUF 2048
#define HTTP_STATIC_MAX_FILE (32 * 1024 * 1024)
#define HTTP_CT_JSON "application/json; charset=utf-8"
#define HTTP_MAX_DESTROY_CALLS 4
#define HTTP_KEEPALIVE_S 5 /* idle time allowed between requests on one connection */
#define HTTP_MAX_HEADER_DATA 8192 /* all request header values together; bearer tokens are long */
#define HTTP_ACCEPT_PAUSE_MS 1000 /* accept stays off this long after the process ran out of descriptors */
#define HTTP_CSP "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; " \
                 "form-action 'self'; frame-ancestors 'none'"

struct http_static_dir {
  char *root;   /* realpath of the served directory */
  char *base;   /* url prefix without trailing '/', "" for "/" */
};

struct http_route_entry {
  char *method;   /* NULL = any */
  char *pattern;  /* exact path, or the prefix before '*' */
  size_t len;
  int prefix;
  http_handler_fn fn;
  void *ud;
  struct http_static_dir *static_dir; /* set on static routes; owned when owns_static */
  int owns_static;
};

struct http_body_limit {
  char *method;
  char *glob;
  size_t max;
  http_admit_fn admit; /* may be NULL */
  void *ud;
};

struct http_server {
  uv_loop_t *loop;
  struct lws_context *ctx;
  struct lws_vhost *vhost;
  uint16_t port;
  struct lws_protocols protocols[2];
  struct http_route_entry *routes;
  size_t nroutes, cap;
  struct http_body_limit *limits;
  size_t nlimits;
  uv_idle_t reaper;
  struct connlim *lim;         /* connections per client address (NULL: not listening) */
  struct connlim_caps caps;
  char **hosts;                /* Host names answered (lower case) */
  size_t nhosts;
  char *read_prefix;           /* http_read_auth */
  http_admit_fn read_admit;
  void *read_ud;
  int read_open_loopback;
  struct lws *listen_wsi;      /* seen on the first accept */
  int accepted_fd;             /* admitted by the filter, its wsi not yet created (-1: none) */
  uv_timer_t accept_pause;     /* running out of descriptors: accept paused, then resumed */
  int pause_state;             /* 0 accepting, 1 pause due, 2 paused */
  int pause_timer_init;
  int closing_seen;
  int destroy_calls;
  struct http_stats stats;
  unsigned n_streams;          /* streamed answers open */
  unsigned char wbuf[LWS_PRE + HTTP_WRITE_CHUNK];
};

struct http_deferred {
  struct lws *wsi;
  struct http_conn *c; /* NULL once the connection's request is over */
};

/* Per connection (lws per-session data); reset between keep-alive transactions. */
struct http_conn {
  int active;      /* a request is being read or answered */
  int responding;  /* headers sent, body being written */
  int dispatched;  /* handed to its handler: body callbacks after that (an empty body's) are not its */
  int too_large;   /* body exceeds its limit: drain it, then 413 */
  int unadmitted;  /* a large body its limit's admit check refused: drain it, then 401 */
  int head_only;
  int close_after;
  int is_static;
  int streaming;   /* a streamed answer: written from stream->pull until the connection closes */
  const struct http_stream_ops *stream;
  void *stream_ctx;
  const char *method;
  char *path;
  char *query;
  char *authorization;
  char *content_type;
  char *host;
  char *last_event_id;
  int loopback;
  int cookie_auth;
  struct lws *deferred_wsi;  /* the connection, for a deferred answer */
  char peer[INET6_ADDRSTRLEN];
  struct http_deferred *deferred; /* a handler's answer is awaited */
  int headers_pending;   /* a deferred answer arrived: headers go out when writeable */
  const char *resp_ct;
  char *resp_cookie;
  char *body;
  size_t body_len, body_expected;
  char *resp_body;
  size_t resp_len, resp_off;
  int status;
  uint64_t start_ms;
};

static const char *const http__method_names[] = {
  [LWSHUMETH_GET] = "GET",         [LWSHUMETH_POST] = "POST",   [LWSHUMETH_OPTIONS] = "OPTIONS",
  [LWSHUMETH_PUT] = "PUT",         [LWSHUMETH_PATCH] = "PATCH", [LWSHUMETH_DELETE] = "DELETE",
  [LWSHUMETH_CONNECT] = "CONNECT", [LWSHUMETH_HEAD] = "HEAD",
};

/* ---- small helpers ------------------------------------------------------------------------ */

static uint64_t http__now_ms(void) { return uv_hrtime() / 1000000u; }

static int http__hexval(int c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes [s, s+n) into out (form rules: '+' is a space). Returns the length, or -1 when it does
 * not fit or decodes to a NUL byte. */
static int http__urldecode(const char *s, size_t n, char *out, size_t outlen)
{
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%' && i + 2 < n && http__hexval(s[i + 1]) >= 0 && http__hexval(s[i + 2]) >= 0) {
      c = http__hexval(s[i + 1]) * 16 + http__hexval(s[i + 2]);
      i += 2;
      if (c == 0) return -1;
    }
    if (o + 1 >= outlen) return -1;
    out[o++] = (char)c;
  }
  out[o] = '\0';
  return (int)o;
}

int http_query_get(const char *query, const char *key, char *out, size_t outlen)
{
  if (!query || !key || !out || outlen == 0) return -1;
  size_t keylen = strlen(key);
  char *name = malloc(keylen + 2);
  if (!name) return -1;
  int result = -1;
  const char *p = query;
  while (*p) {
    const char *end = strchr(p, '&');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    const char *eq = memchr(p, '=', n);
    size_t klen = eq ? (size_t)(eq - p) : n;
    /* A decoded key is never longer than its encoded form, so keylen + 1 bounds the match. */
    if (klen > 0 && http__urldecode(p, klen, name, keylen + 2) == (int)keylen &&
        memcmp(name, key, keylen) == 0) {
      result = eq ? http__urldecode(eq + 1, n - klen - 1, out, outlen) : (out[0] = '\0', 0);
      if (result >= 0 && !http_utf8_valid(out, (size_t)result, NULL)) result = -1;
      if (result < 0) result = -2; /* present, but too long for out, holding %00 or not UTF-8 */
      break;
    }
    if (!end) break;
    p = end + 1;
  }
  free(name);
  return result;
}

static int http__is_query_safe(int c)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
  return c && strchr("-._~!$'()*,/:;@", c) != NULL;
}

/* Appends the percent-encoding of [s, s+n) to out (which has room: 3 bytes per input byte). */
static size_t http__urlencode(const char *s, size_t n, char *out)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (http__is_query_safe(c)) {
      out[o++] = (char)c;
    } else {
      out[o++] = '%';
      out[o++] = hex[c >> 4];
      out[o++] = hex[c & 15];
    }
  }
  return o;
}

/* lws hands URI arguments over already URL-decoded, one "name=value" fragment each; encode them
 * again so the query string handed to handlers is unambiguous (an encoded '&' or '=' survives). */
static char *http__copy_query(struct lws *wsi)
{
  int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
  if (total <= 0) return strdup("");
  int nfrag = 0;
  while (lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, nfrag) > 0) nfrag++;
  char *frag = malloc((size_t)total + 1);
  char *q = malloc((size_t)total * 3 + (size_t)nfrag + 1);
  if (!frag || !q) goto fail;
  size_t o = 0;
  for (int i = 0; i < nfrag; i++) {
    int n = lws_hdr_copy_fragment(wsi, frag, total + 1, WSI_TOKEN_HTTP_URI_ARGS, i);
    if (n < 0) goto fail;
    if (o) q[o++] = '&';
    const char *eq = memchr(frag, '=', (size_t)n);
    if (eq) {
      o += http__urlencode(frag, (size_t)(eq - frag), q + o);
      q[o++] = '=';
      o += http__urlencode(eq + 1, (size_t)(frag + n - eq - 1), q + o);
    } else {
      o += http__urlencode(frag, (size_t)n, q + o);
    }
  }
  q[o] = '\0';
  free(frag);
  return q;
fail:
  free(frag);
  free(q);
  return NULL;
}

static char *http__copy_header(struct lws *wsi, enum lws_token_indexes token)
{
  int len = lws_hdr_total_length(wsi, token);
  if (len <= 0) return NULL;
  char *v = malloc((size_t)len + 1);
  if (v && lws_hdr_copy(wsi, v, len + 1, token) < 0) {
    free(v);
    v = NULL;
  }
  return v;
}

static char *http__copy_custom(struct lws *wsi, const char *name)
{
  int nlen = (int)strlen(name), len = lws_hdr_custom_length(wsi, name, nlen);
  if (len <= 0 || len > 256) return NULL;
  char *v = malloc((size_t)len + 1);
  if (v && lws_hdr_custom_copy(wsi, v, len + 1, name, nlen) < 0) {
    free(v);
    v = NULL;
  }
  return v;
}

static char *http__error_body(const char *message)
{
  char *b = malloc(strlen(message) + 16);
  if (b) sprintf(b, "{\"error\":\"%s\"}", message);
  return b;
}

/* ---- routing -------------------------------------------------------------------------------- */

static int http__method_matches(const char *route_method, const char *method)
{
  if (!route_method) return 1;
  if (strcmp(route_method, method) == 0) return 1;
  return strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0;
}

static int http__pattern_matches(const struct http_route_entry *r, const char *path)
{
  if (r->prefix) return strncmp(path, r->pattern, r->len) == 0;
  return strcmp(path, r->pattern) == 0;
}

/* Specificity of a pattern that matched: exact beats any prefix, longer prefixes beat shorter. */
static size_t http__specificity(const struct http_route_entry *r)
{
  return r->prefix ? r->len : SIZE_MAX;
}

static int http__same_pattern(const struct http_route_entry *a, const struct http_route_entry *b)
{
  return a->prefix == b->prefix && strcmp(a->pattern, b->pattern) == 0;
}

/* The most specific pattern matching the path decides; its method decides between the handler
 * and 405. Returns the route, or NULL with *status set to 404 or 405 (allow lists the methods). */
static const struct http_route_entry *http__match(const struct http_server *s, const char *path,
                                                  const char *method, int *status, char *allow,
                                                  size_t allowlen)
{
  const struct http_route_entry *best = NULL;
  for (size_t i = 0; i < s->nroutes; i++) {
    const struct http_route_entry *r = &s->routes[i];
    if (!http__pattern_matches(r, path)) continue;
    if (!best || http__specificity(r) > http__specificity(best)) best = r;
  }
  if (!best) {
    *status = 404;
    return NULL;
  }
  allow[0] = '\0';
  for (size_t i = 0; i < s->nroutes; i++) {
    const struct http_route_entry *r = &s->routes[i];
    if (!http__same_pattern(r, best)) continue;
    if (http__method_matches(r->method, method)) return r;
    if (strlen(allow) + strlen(r->method) + 3 < allowlen) {
      if (allow[0]) strcat(allow, ", ");
      strcat(allow, r->method);
    }
  }
  *status = 405;
  return NULL;
}

static int http__add_route(struct http_server *s, const char *method, const char *pattern,
                           http_handler_fn fn, void *ud, struct http_static_dir *sd, int owns)
{
  if (!s || !pattern || pattern[0] != '/' || !fn) return -EINVAL;
  size_t plen = strlen(pattern);
  int prefix = pattern[plen - 1] == '*';
  if (prefix) plen--;
  if (memchr(pattern, '*', plen)) return -EINVAL;
  for (size_t i = 0; i < s->nroutes; i++) {
    const struct http_route_entry *r = &s->routes[i];
    if (r->prefix == prefix && r->len == plen && strncmp(r->pattern, pattern, plen) == 0 &&
        ((!r->method && !method) || (r->method && method && strcmp(r->method, method) == 0)))
      return -EEXIST;
  }
  if (s->nroutes == s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 16;
    struct http_route_entry *n = realloc(s->routes, ncap * sizeof *n);
    if (!n) return -ENOMEM;
    s->routes = n;
    s->cap = ncap;
  }
  struct http_route_entry *r = &s->routes[s->nroutes];
  memset(r, 0, sizeof *r);
  r->pattern = strndup(pattern, plen);
  r->method = method ? strdup(method) : NULL;
  if (!r->pattern || (method && !r->method)) {
    free(r->pattern);
    free(r->method);
    return -ENOMEM;
  }
  r->len = plen;
  r->prefix = prefix;
  r->fn = fn;
  r->ud = ud;
  r->static_dir = sd;
  r->owns_static = owns;
  s->nroutes++;
  return 0;
}

int http_route(struct http_server *s, const char *method, const char *pattern, http_handler_fn fn,
               void *ud)
{
  return http__add_route(s, method, pattern, fn, ud, NULL, 0);
}

int http_body_limit(struct http_server *s, const char *method, const char *glob, size_t max_body,
                    http_admit_fn admit, void *ud)
{
  if (!s || !method || !glob || glob[0] != '/') return -EINVAL;
  struct http_body_limit *n = realloc(s->limits, (s->nlimits + 1) * sizeof *n);
  if (!n) return -ENOMEM;
  s->limits = n;
  struct http_body_limit *l = &n[s->nlimits];
  l->method = strdup(method);
  l->glob = strdup(glob);
  l->max = max_body;
  l->admit = admit;
  l->ud = ud;
  if (!l->method || !l->glob) {
    free(l->method);
    free(l->glob);
    return -ENOMEM;
  }
  s->nlimits++;
  return 0;
}

static const struct http_body_limit *http__limit(const struct http_server *s, const char *method, const char *path)
{
  for (size_t i = 0; i < s->nlimits; i++)
    if (strcmp(s->limits[i].method, method) == 0 && fnmatch(s->limits[i].glob, path, FNM_PATHNAME) == 0)
      return &s->limits[i];
  return NULL;
}

/* The body size the request may send in *max: 0, or -EACCES when a raised limit's admit check
 * turns a body larger than HTTP_MAX_BODY away (it is then drained unread, never buffered). */
static int http__max_body(const struct http_server *s, const struct http_conn *c, size_t *max)
{
  const struct http_body_limit *l = http__limit(s, c->method, c->path);
  *max = l ? l->max : HTTP_MAX_BODY;
  if (l && l->admit && c->body_expected > HTTP_MAX_BODY && !l->admit(l->ud, c->authorization)) return -EACCES;
  return 0;
}

/* ---- static files --------------------------------------------------------------------------- */

static const char *http__content_type(const char *file)
{
  static const struct {
    const char *ext, *type;
  } types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", HTTP_CT_JSON},
    {"svg", "image/svg+xml; charset=utf-8"}, /* XML text: labels in it may be Chinese */
    {"png", "image/png"},
    {"ico", "image/x-icon"},
    {"woff2", "font/woff2"},
    {"txt", "text/plain; charset=utf-8"},
  };
  const char *slash = strrchr(file, '/');
  const char *dot = strrchr(slash ? slash : file, '.');
  if (dot)
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
      if (strcasecmp(dot + 1, types[i].ext) == 0) return types[i].type;
  return "application/octet-stream";
}

static int http__has_dotdot_segment(const char *rel)
{
  for (const char *p = rel; *p;) {
    const char *end = strchr(p, '/');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.') return 1;
    if (!end) break;
    p = end + 1;
  }
  return 0;
}

/* Resolves rel under the root; NULL unless it is a regular file inside the root. */
static char *http__static_resolve(const struct http_static_dir *sd, const char *rel)
{
  while (*rel == '/') rel++;
  if (http__has_dotdot_segment(rel)) return NULL;
  size_t rl = strlen(rel);
  int want_index = rl == 0 || rel[rl - 1] == '/';
  size_t n = strlen(sd->root) + rl + sizeof "/index.html" + 1;
  char *candidate = malloc(n);
  if (!candidate) return NULL;
  snprintf(candidate, n, "%s/%s%s", sd->root, rel, want_index ? "index.html" : "");
  char *real = realpath(candidate, NULL);
  free(candidate);
  if (!real) return NULL;
  size_t rootlen = strlen(sd->root);
  struct stat st;
  if (strncmp(real, sd->root, rootlen) != 0 || real[rootlen] != '/' || stat(real, &st) != 0 ||
      !S_ISREG(st.st_mode)) {
    free(real);
    return NULL;
  }
  return real;
}

static int http__read_file(const char *file, char **out, size_t *outlen)
{
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st;
  char *buf = NULL;
  int rc = -EIO;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) goto fail;
  if (st.st_size > HTTP_STATIC_MAX_FILE) {
    rc = -EFBIG;
    goto fail;
  }
  size_t size = (size_t)st.st_size, got = 0;
  buf = malloc(size + 1);
  if (!buf) {
    rc = -ENOMEM;
    goto fail;
  }
  while (got < size) {
    ssize_t r = read(fd, buf + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) goto fail;
    got += (size_t)r;
  }
  buf[size] = '\0';
  close(fd);
  *out = buf;
  *outlen = size;
  return 0;
fail:
  free(buf);
  close(fd);
  return rc;
}

static void http__static_handler(void *ud, const struct http_request *req, struct http_response *resp)
{
  const struct http_static_dir *sd = ud;
  char *file = http__static_resolve(sd, req->path + strlen(sd->base));
  if (!file) {
    resp->status = 404;
    resp->body = http__error_body("not found");
    return;
  }
  int rc = http__read_file(file, &resp->body, &resp->body_len);
  if (rc < 0) {
    DG_LOG_RL(DG_LOG_WARN, HTTP_SUBSYS, "static %s: %s", file, strerror(-rc));
    resp->status = 500;
    resp->body = http__error_body("cannot read file");
  } else {
    resp->content_type = http__content_type(file);
    if (resp->body_len == 0) {
      free(resp->body);
      resp->body = NULL;
    }
  }
  free(file);
}

static void http__static_free(struct http_static_dir *sd)
{
  if (!sd) return;
  free(sd->root);
  free(sd->base);
  free(sd);
}

int http_static(struct http_server *s, const char *url_prefix, const char *dir)
{
  if (!s || !url_prefix || url_prefix[0] != '/' || !dir || strchr(url_prefix, '*')) return -EINVAL;
  struct http_static_dir *sd = calloc(1, sizeof *sd);
  if (!sd) return -ENOMEM;
  size_t blen = strlen(url_prefix);
  while (blen > 0 && url_prefix[blen - 1] == '/') blen--;
  sd->base = strndup(url_prefix, blen);
  sd->root = realpath(dir, NULL);
  int rc = -ENOMEM;
  if (!sd->root) {
    rc = -errno;
    goto fail;
  }
  if (!sd->base) goto fail;
  struct stat st;
  if (stat(sd->root, &st) != 0 || !S_ISDIR(st.st_mode)) {
    rc = -ENOTDIR;
    goto fail;
  }
  char *pattern = malloc(blen + 3);
  if (!pattern) goto fail;
  sprintf(pattern, "%s/*", sd->base);
  rc = http__add_route(s, "GET", pattern, http__static_handler, sd, sd, 1);
  if (rc == 0 && blen > 0) {
    pattern[blen] = '\0';
    rc = http__add_route(s, "GET", pattern, http__static_handler, sd, sd, 0);
    if (rc < 0) {
      /* Keep the registered prefix route owning the directory; report the failure. */
      free(pattern);
      return rc;
    }
  }
  free(pattern);
  if (rc < 0) goto fail;
  return 0;
fail:
  http__static_free(sd);
  return rc;
}

/* ---- request decision ---------------------------------------------------------------------- */

int http_utf8_valid(const char *str, size_t n, size_t *bad_at)
{
  const unsigned char *p = (const unsigned char *)str;
  size_t i = 0;
  while (i < n) {
    unsigned c = p[i], len, min;
    if (c == 0) goto bad;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef) len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, min = 0x10000;
    else goto bad;
    if (n - i < len) goto bad;
    unsigned cp = c & (0x7fu >> len);
    for (unsigned k = 1; k < len; k++) {
      if ((p[i + k] & 0xc0) != 0x80) goto bad;
      cp = (cp << 6) | (p[i + k] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) goto bad;
    i += len;
  }
  return 1;
bad:
  if (bad_at) *bad_at = i;
  return 0;
}

static int http__port_suffix_ok(const char *p)
{
  if (!*p) return 1;
  if (*p++ != ':' || !*p) return 0;
  for (; *p; p++)
    if (*p < '0' || *p > '9') return 0;
  return 1;
}

/* The name in a Host header value ("name", "name:port", "[v6]:port"), lower case, without a
 * trailing dot. 0 or -1 when malformed. */
static int http__host_name(const char *v, char *out, size_t outlen)
{
  const char *start = v, *end;
  if (*v == '[') {
    start = v + 1;
    if (!(end = strchr(start, ']')) || !http__port_suffix_ok(end + 1)) return -1;
  } else {
    end = strchr(v, ':');
    if (!end) end = v + strlen(v);
    else if (!http__port_suffix_ok(end)) return -1;
  }
  size_t n = (size_t)(end - start);
  if (n > 0 && start[n - 1] == '.') n--;
  if (n == 0 || n >= outlen) return -1;
  for (size_t i = 0; i < n; i++) out[i] = (char)tolower((unsigned char)start[i]);
  out[n] = '\0';
  return 0;
}

/* No Host at all comes from HTTP/1.0 clients, never from a browser, so it cannot be a page
 * that a rebound DNS name pointed here. */
static int http__host_allowed(const struct http_server *s, const char *host)
{
  char name[256];
  if (!host) return 1;
  if (http__host_name(host, name, sizeof name) < 0) return 0;
  for (size_t i = 0; i < s->nhosts; i++)
    if (strcmp(s->hosts[i], name) == 0) return 1;
  return 0;
}

static int http__add_host(struct http_server *s, const char *name)
{
  char lower[256];
  if (!name || !name[0] || strcmp(name, "*") == 0 || strcmp(name, "0.0.0.0") == 0 || strcmp(name, "::") == 0)
    return 0;
  size_t n = strlen(name);
  if (n >= sizeof lower) return -EINVAL;
  for (size_t i = 0; i <= n; i++) lower[i] = (char)tolower((unsigned char)name[i]);
  if (n > 1 && lower[0] == '[' && lower[n - 1] == ']') {
    memmove(lower, lower + 1, n - 2);
    lower[n - 2] = '\0';
  }
  char **h = realloc(s->hosts, (s->nhosts + 1) * sizeof *h);
  if (!h) return -ENOMEM;
  s->hosts = h;
  if (!(h[s->nhosts] = strdup(lower))) return -ENOMEM;
  s->nhosts++;
  return 0;
}

int http_read_auth(struct http_server *s, const char *prefix, http_admit_fn admit, void *ud, int open_on_loopback)
{
  if (!s || !prefix || prefix[0] != '/' || !admit) return -EINVAL;
  free(s->read_prefix);
  if (!(s->read_prefix = strdup(prefix))) return -ENOMEM;
  s->read_admit = admit;
  s->read_ud = ud;
  s->read_open_loopback = open_on_loopback;
  return 0;
}

static int http__read_refused(const struct http_server *s, const struct http_route_entry *r,
                              const struct http_request *req)
{
  if (!s->read_prefix || r->static_dir) return 0;
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) return 0;
  if (strncmp(req->path, s->read_prefix, strlen(s->read_prefix)) != 0) return 0;
  if (s->read_open_loopback && req->loopback) return 0;
  return !s->read_admit(s->read_ud, req->authorization);
}

/* Returns 1 when a static file route answered. */
static int http__decide(struct http_server *s, const struct http_request *req, struct http_response *resp,
                        char *allow, size_t allowlen)
{
  int status = 0;
  allow[0] = '\0';
  if (!http__host_allowed(s, req->host)) {
    resp->status = 421;
    resp->body = http__error_body("misdirected request: the Host header names a server not configured here");
    return 0;
  }
  const struct http_route_entry *r = http__match(s, req->path, req->method, &status, allow, allowlen);
  if (!r) {
    resp->status = status;
    resp->body = http__error_body(status == 405 ? "method not allowed" : "not found");
    return 0;
  }
  allow[0] = '\0';
  if (http__read_refused(s, r, req)) {
    resp->status = 401;
    resp->body = http__error_body("reading needs a valid 'Authorization: Bearer <token>'");
    return 0;
  }
  r->fn(r->ud, req, resp);
  return r->static_dir != NULL;
}

void http_handle(struct http_server *s, const struct http_request *req, struct http_response *resp, char *allow,
                 size_t allowlen)
{
  http__decide(s, req, resp, allow, allowlen);
  if (resp->stream) { /* streams need a connection */
    resp->stream->closed(resp->stream_ctx);
    resp->stream = NULL;
  }
  if (resp->body && resp->body_len == 0) resp->body_len = strlen(resp->body);
}

/* ---- connection handling -------------------------------------------------------------------- */

static void http__conn_reset(struct http_conn *c)
{
  free(c->path);
  free(c->query);
  free(c->authorization);
  free(c->content_type);
  free(c->host);
  free(c->last_event_id);
  free(c->body);
  free(c->resp_body);
  free(c->resp_cookie);
  if (c->deferred) c->deferred->c = NULL;
  memset(c, 0, sizeof *c);
}

static int http__send_headers(struct lws *wsi, struct http_conn *c, const char *content_type,
                              const char *allow)
{
  unsigned char buf[LWS_PRE + HTTP_HEADER_BUF];
  unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
  const char *cache = c->is_static ? "no-cache" : "no-store";
  lws_filepos_t len = c->streaming ? LWS_ILLEGAL_HTTP_CONTENT_LEN : c->resp_len; /* no length: lws says close */
  if (lws_add_http_common_headers(wsi, (unsigned int)c->status, content_type, len, &p, end) ||
      lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                  (const unsigned char *)cache, (int)strlen(cache), &p, end) ||
      lws_add_http_header_by_name(wsi, (const unsigned char *)"x-content-type-options:",
                                  (const unsigned char *)"nosniff", 7, &p, end) ||
      lws_add_http_header_by_name(wsi, (const unsigned char *)"content-security-policy:",
                                  (const unsigned char *)HTTP_CSP, (int)strlen(HTTP_CSP), &p, end) ||
      lws_add_http_header_by_name(wsi, (const unsigned char *)"x-frame-options:",
                                  (const unsigned char *)"DENY", 4, &p, end) ||
      lws_add_http_header_by_name(wsi, (const unsigned char *)"referrer-policy:",
                                  (const unsigned char *)"no-referrer", 11, &p, end))
    return -1;
  if (allow && allow[0] &&
      lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:", (const unsigned char *)allow,
                                  (int)strlen(allow), &p, end))
    return -1;
  if (c->resp_cookie &&
      lws_add_http_header_by_name(wsi, (const unsigned char *)"set-cookie:", (const unsigned char *)c->resp_cookie,
                                  (int)strlen(c->resp_cookie), &p, end))
    return -1;
  if (c->close_after &&
      lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
                                  (const unsigned char *)"close", 5, &p, end))
    return -1;
  return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

/* Takes ownership of body. Headers go out now, the body from LWS_CALLBACK_HTTP_WRITEABLE. */
static int http__respond(struct lws *wsi, struct http_conn *c, int status, const char *content_type,
                         char *body, size_t body_len, const char *allow)
{
  if (status < 100 || status > 599) {
    DG_LOG_RL(DG_LOG_WARN, HTTP_SUBSYS, "%s %s: handler set invalid status %d", c->method,
              c->path ? c->path : "?", status);
    free(body);
    status = 500;
    body = http__error_body("internal error");
    body_len = body ? strlen(body) : 0;
    content_type = NULL;
  }
  if (!body || status == 204 || status == 304 || (status >= 100 && status < 200)) {
    free(body);
    body = NULL;
    body_len = 0;
  }
  c->status = status;
  c->resp_body = body;
  c->resp_len = body_len;
  c->resp_off = 0;
  c->responding = 1;
  if (http__send_headers(wsi, c, content_type ? content_type : HTTP_CT_JSON, allow) < 0) return -1;
  lws_callback_on_writable(wsi);
  return 0;
}

static int http__respond_error(struct lws *wsi, struct http_conn *c, int status, const char *message,
                               const char *allow)
{
  char *body = http__error_body(message);
  return http__respond(wsi, c, status, NULL, body, body ? strlen(body) : 0, allow);
}

static void http__take_response(struct http_conn *c, struct http_response *resp)
{
  if (resp->body && resp->body_len == 0) resp->body_len = strlen(resp->body);
  free(c->resp_cookie);
  c->resp_cookie = resp->set_cookie;
  resp->set_cookie = NULL;
}

struct http_deferred *http_defer(const struct http_request *req)
{
  struct http_conn *c = req->conn;
  struct http_deferred *d = c && !c->deferred ? calloc(1, sizeof *d) : NULL;
  if (!d) return NULL;
  d->c = c;
  d->wsi = c->deferred_wsi;
  c->deferred = d;
  return d;
}

void http_deferred_answer(struct http_deferred *d, struct http_response *resp)
{
  struct http_conn *c = d->c;
  if (!c) {
    free(resp->body);
    free(resp->set_cookie);
  } else {
    c->deferred = NULL;
    http__take_response(c, resp);
    c->status = resp->status;
    c->resp_body = resp->body;
    c->resp_len = resp->body_len;
    c->resp_ct = resp->content_type;
    c->headers_pending = 1;
    lws_callback_on_writable(d->wsi);
  }
  resp->body = resp->set_cookie = NULL;
  free(d);
}

static void http__log_request(const struct http_conn *c);
static void http__count(struct http_server *s, const struct http_conn *c);

/* A handler answered with a stream: headers now, then the body from pull (http__on_writeable). */
static int http__stream_start(struct lws *wsi, struct http_server *s, struct http_conn *c,
                              const struct http_response *resp)
{
  if (resp->status != 200 || c->head_only || s->n_streams >= s->caps.max_total / 2) {
    resp->stream->closed(resp->stream_ctx);
    if (resp->status != 200 || c->head_only) return http__respond(wsi, c, resp->status, NULL, NULL, 0, NULL);
    DG_LOG_RL(DG_LOG_WARN, HTTP_SUBSYS, "refused an event stream: %u are open", s->n_streams);
    return http__respond_error(wsi, c, 503, "too many event streams open; retry later", NULL);
  }
  c->streaming = c->responding = 1;
  c->stream = resp->stream;
  c->stream_ctx = resp->stream_ctx;
  c->status = 200;
  s->n_streams++;
  http__log_request(c);
  http__count(s, c);
  if (http__send_headers(wsi, c, resp->content_type ? resp->content_type : "text/event-stream", NULL) < 0) return -1;
  lws_http_mark_sse(wsi);        /* no timeout while the stream is open */
  /* A client that stops reading is held at this much in the kernel, after which its stream lags
   * (events.h resyncs it) instead of the kernel buffering megabytes for it. */
  int sndbuf = HTTP_STREAM_SNDBUF, fd = lws_get_socket_fd(wsi);
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  lws_http_headers_detach(wsi);  /* everything needed was copied; the header pool is for requests */
  c->stream->opened(c->stream_ctx, (struct http_stream *)wsi);
  lws_callback_on_writable(wsi);
  return 0;
}

static void http__stream_end(struct http_server *s, struct http_conn *c)
{
  if (!c->stream) return;
  c->stream->closed(c->stream_ctx);
  c->stream = NULL;
  s->n_streams--;
}

static long http__stream_write(struct lws *wsi, struct http_server *s, struct http_conn *c)
{
  long n = c->stream->pull(c->stream_ctx, (char *)s->wbuf + LWS_PRE, HTTP_WRITE_CHUNK);
  if (n <= 0) return n;
  if (lws_write(wsi, s->wbuf + LWS_PRE, (size_t)n, LWS_WRITE_HTTP) != (int)n) return -1;
  lws_callback_on_writable(wsi); /* more may be pending; pull answers 0 when not */
  return n;
}

void http_stream_wake(struct http_stream *h) { lws_callback_on_writable((struct lws *)h); }

int http_stream_peer_gone(struct http_stream *h)
{
  char c;
  int fd = lws_get_socket_fd((struct lws *)h);
  if (fd < 0) return 1;
  ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

unsigned http_streams_open(const struct http_server *s) { return s ? s->n_streams : 0; }

static int http__dispatch(struct lws *wsi, struct http_server *s, struct http_conn *c)
{
  char allow[128];
  struct http_request req = {
    .method = c->method,
    .path = c->path,
    .query = c->query,
    .authorization = c->authorization,
    .content_type = c->content_type,
    .body = c->body ? c->body : "",
    .body_len = c->body_len,
    .host = c->host,
    .loopback = c->loopback,
    .peer = c->peer,
    .cookie_auth = c->cookie_auth,
    .conn = c,
    .last_event_id = c->last_event_id,
  };
  struct http_response resp = {.status = 200};
  c->dispatched = 1;
  c->deferred_wsi = wsi;
  c->is_static = http__decide(s, &req, &resp, allow, sizeof allow);
  if (c->deferred || c->headers_pending) return 0; /* waiting, or answered through the deferral already */
  if (resp.stream) {
    free(resp.body);
    free(resp.set_cookie);
    return http__stream_start(wsi, s, c, &resp);
  }
  http__take_response(c, &resp);
  return http__respond(wsi, c, resp.status, resp.content_type, resp.body, resp.body_len, allow);
}

static int http__is_loopback(const struct sockaddr_storage *sa)
{
  static const unsigned char v6_loop[16] = {[15] = 1}, v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
  if (sa->ss_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
  if (sa->ss_family != AF_INET6) return 0;
  const unsigned char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
  return memcmp(a, v6_loop, 16) == 0 || (memcmp(a, v4_mapped, 12) == 0 && a[12] == 127);
}

/* Whether the peer is on loopback; its address as text in peer. */
static int http__peer(struct lws *wsi, char *peer, size_t peerlen)
{
  struct sockaddr_storage sa;
  socklen_t len = sizeof sa;
  int fd = lws_get_socket_fd(wsi);
  peer[0] = '\0';
  if (fd < 0 || getpeername(fd, (struct sockaddr *)&sa, &len) != 0) return 0;
  if (sa.ss_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)&sa)->sin_addr, peer, (socklen_t)peerlen);
  else if (sa.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&sa)->sin6_addr, peer, (socklen_t)peerlen);
  return http__is_loopback(&sa);
}

/* The value of cookie `name` in a Cookie header, malloc'd, or NULL. */
static char *http__cookie(const char *header, const char *name)
{
  size_t n = strlen(name);
  for (const char *p = header; p && *p;) {
    while (*p == ' ' || *p == ';') p++;
    const char *end = strchr(p, ';');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') return strndup(p + n + 1, len - n - 1);
    p = end;
  }
  return NULL;
}

/* Origin "scheme://host[:port]" names the Host the request was sent to. */
static int http__same_origin(const char *origin, const char *host)
{
  const char *o = origin ? strstr(origin, "://") : NULL;
  return o && host && strcasecmp(o + 3, host) == 0;
}

/* Without an Authorization header, the session cookie stands for a bearer token; on a change
 * (not GET or HEAD) only when the Origin names this server, else it is ignored (the request is
 * then unauthenticated, so a route that needs no login, such as an acknowledgement link's, still
 * works). */
static int http__cookie_auth(struct lws *wsi, struct http_conn *c, int method)
{
  if (c->authorization) return 0;
  char *cookies = http__copy_header(wsi, WSI_TOKEN_HTTP_COOKIE);
  char *v = http__cookie(cookies, HTTP_SESSION_COOKIE);
  free(cookies);
  if (!v || !v[0]) {
    free(v);
    return 0;
  }
  int cross_site = 0;
  if (method != LWSHUMETH_GET && method != LWSHUMETH_HEAD) {
    char *origin = http__copy_header(wsi, WSI_TOKEN_ORIGIN);
    if ((cross_site = !http__same_origin(origin, c->host)))
      DG_LOG_RL(DG_LOG_WARN, HTTP_SUBSYS, "%s %s: session cookie ignored: Origin '%s' does not name this server",
                c->method, c->path ? c->path : "?", origin ? origin : "(none)");
    free(origin);
  }
  size_t len = strlen(v) + 8;
  c->authorization = cross_site ? NULL : malloc(len);
  if (c->authorization) snprintf(c->authorization, len, "Bearer %s", v);
  c->cookie_auth = c->authorization != NULL;
  free(v);
  return cross_site || c->authorization ? 0 : -ENOMEM;
}

static int http__parse_length(const char *v, size_t *out)
{
  if (!v || !*v) return -1;
  size_t n = 0;
  for (const char *p = v; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    if (n > (SIZE_MAX - 9) / 10) return -1;
    n = n * 10 + (size_t)(*p - '0');
  }
  *out = n;
  return 0;
}

/* The request is dropped if it is not read, answered and its answer written within
 * HTTP_REQUEST_TIMEOUT_S; once its answer is being written, within that time of the last part
 * the client took. */
static void http__arm_deadline(struct lws *wsi)
{
  lws_set_timer_usecs(wsi, (lws_usec_t)HTTP_REQUEST_TIMEOUT_S * LWS_USEC_PER_SEC);
}

/* A part of the answer was written: both deadlines start again, so a long answer read at a
 * steady pace is not cut off. lws's own (PENDING_TIMEOUT_HTTP_CONTENT, set once the request is
 * handed over) comes a second after ours, which logs why. */
static void http__answer_taken(struct lws *wsi)
{
  http__arm_deadline(wsi);
  lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, HTTP_REQUEST_TIMEOUT_S + 1);
}

static int http__on_request(struct lws *wsi, struct http_server *s, struct http_conn *c)
{
  http__conn_reset(c);
  c->active = 1;
  c->start_ms = http__now_ms();
  http__arm_deadline(wsi);

  char *uri = NULL;
  int urilen = 0;
  int m = lws_http_get_uri_and_method(wsi, &uri, &urilen);
  c->method = m >= 0 && (size_t)m < sizeof http__method_names / sizeof http__method_names[0] &&
                  http__method_names[m]
                ? http__method_names[m]
                : "?";
  c->head_only = m == LWSHUMETH_HEAD;
  c->path = uri && urilen > 0 ? strndup(uri, (size_t)urilen) : strdup("/");
  c->query = http__copy_query(wsi);
  c->authorization = http__copy_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
  c->content_type = http__copy_header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE);
  c->host = http__copy_header(wsi, WSI_TOKEN_HOST);
  c->last_event_id = http__copy_custom(wsi, "last-event-id:");
  c->loopback = http__peer(wsi, c->peer, sizeof c->peer);
  if (!c->path || !c->query || http__cookie_auth(wsi, c, m) < 0) {
    c->close_after = 1;
    return http__respond_error(wsi, c, 500, "out of memory", NULL);
  }
  if (m < 0 || m == LWSHUMETH_CONNECT || m == LWSHUMETH_COLON_PATH) {
    c->close_after = 1;
    return http__respond_error(wsi, c, 405, "method not allowed", NULL);
  }

  char *te = http__copy_header(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING);
  char *cl = http__copy_header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
  int bad_length = cl && http__parse_length(cl, &c->body_expected) < 0;
  int chunked = te != NULL;
  free(te);
  free(cl);
  if (bad_length) {
    c->close_after = 1;
    return http__respond_error(wsi, c, 400, "bad content-length", NULL);
  }
  if (chunked) {
    /* Bodies must announce their length so the size limit holds before anything is read. */
    c->close_after = 1;
    return http__respond_error(wsi, c, 411, "length required", NULL);
  }
  if (c->body_expected == 0) return http__dispatch(wsi, s, c);
  size_t max_body;
  c->unadmitted = http__max_body(s, c, &max_body) != 0;
  if (c->body_expected > max_body || c->unadmitted) {
    c->too_large = !c->unadmitted;
    return 0;
  }
  c->body = malloc(c->body_expected + 1);
  if (!c->body) {
    c->close_after = 1;
    return http__respond_error(wsi, c, 500, "out of memory", NULL);
  }
  c->body[0] = '\0';
  return 0;
}

static int http__on_body(struct http_conn *c, const void *in, size_t len)
{
  if (!c->active || c->responding || c->dispatched || c->too_large || c->unadmitted) return 0;
  if (len > c->body_expected - c->body_len) {
    c->too_large = 1;
    return 0;
  }
  memcpy(c->body + c->body_len, in, len);
  c->body_len += len;
  c->body[c->body_len] = '\0';
  return 0;
}

static int http__on_body_complete(struct lws *wsi, struct http_server *s, struct http_conn *c)
{
  if (!c->active || c->responding || c->dispatched) return 0;
  if (c->too_large) return http__respond_error(wsi, c, 413, "request body too large", NULL);
  if (c->unadmitted)
    return http__respond_error(wsi, c, 401, "a valid 'Authorization: Bearer <token>' is required", NULL);
  return http__dispatch(wsi, s, c);
}

static void http__log_request(const struct http_conn *c)
{
  DG_DEBUG(HTTP_SUBSYS, "%s %s%s%s %d %zu bytes %llu ms", c->method, c->path ? c->path : "?",
           c->query && c->query[0] ? "?" : "", c->query ? c->query : "", c->status, c->resp_len,
           (unsigned long long)(http__now_ms() - c->start_ms));
}

static void http__count(struct http_server *s, const struct http_conn *c)
{
  int m = HTTP_STATS_OTHER;
  for (int i = 0; i < HTTP_STATS_OTHER; i++)
    if (c->method && strcmp(c->method, http_stats_methods[i]) == 0) m = i;
  s->stats.requests[m][c->status / 100 % 6]++;
}

void http_stats(const struct http_server *s, struct http_stats *out) { *out = s->stats; }

const char *const http_stats_methods[HTTP_STATS_OTHER + 1] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "other"};

static int http__on_writeable(struct lws *wsi, struct http_server *s, struct http_conn *c)
{
  if (c->headers_pending) {
    c->headers_pending = 0;
    struct http_response r = {.status = c->status, .content_type = c->resp_ct, .body = c->resp_body,
                              .body_len = c->resp_len};
    c->resp_body = NULL;
    return http__respond(wsi, c, r.status, r.content_type, r.body, r.body_len, NULL);
  }
  if (!c->responding) return 0;
  if (c->streaming) return http__stream_write(wsi, s, c) < 0 ? -1 : 0;
  size_t remain = c->head_only ? 0 : c->resp_len - c->resp_off;
  if (remain > 0) {
    size_t n = remain < HTTP_WRITE_CHUNK ? remain : HTTP_WRITE_CHUNK;
    int final = n == remain;
    memcpy(s->wbuf + LWS_PRE, c->resp_body + c->resp_off, n);
    if (lws_write(wsi, s->wbuf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
      return -1;
    c->resp_off += n;
    if (!final) {
      http__answer_taken(wsi);
      lws_callback_on_writable(wsi);
      return 0;
    }
  }
  http__log_request(c);
  http__count(s, c);
  int close_after = c->close_after;
  http__conn_reset(c);
  if (close_after) return -1;
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* lws stops accepting at the total cap (fd_limit_per_thread); a connection accepted beyond it
 * anyway (lws counts closing connections as gone before their descriptors are) or from an
 * address already holding its share is closed at once. */
static int http__filter(struct http_server *s, struct lws *listen_wsi, const struct lws_filter_network_conn_args *a)
{
  s->listen_wsi = listen_wsi;
  int rc = s->lim ? connlim_admit(s->lim, a->accept_fd, (const struct sockaddr *)&a->cli_addr, a->clilen) : 0;
  if (rc == -EBUSY)
    DG_LOG_RL(DG_LOG_WARN, HTTP_SUBSYS, "refused a connection: its client address already holds %u connections",
              s->caps.max_per_client);
  else if (rc)
    DG_LOG_RL(DG_LOG_WARN, HTTP_SUBSYS, "refused a connection: %u connections are open", s->caps.max_total);
  s->accepted_fd = rc ? -1 : a->accept_fd;
  return rc != 0;
}

/* lws turns a CONNECT request into a raw socket with no timeout; it gets a 405 and is closed. */
static int http__raw_refuse(struct lws *wsi)
{
  static const char msg[] = "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  unsigned char buf[LWS_PRE + sizeof msg];
  memcpy(buf + LWS_PRE, msg, sizeof msg - 1);
  lws_write(wsi, buf + LWS_PRE, sizeof msg - 1, LWS_WRITE_RAW);
  return -1;
}

static int http__callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len)
{
  struct http_server *s = lws_context_user(lws_get_context(wsi));
  struct http_conn *c = user;

  switch (reason) {
  case LWS_CALLBACK_HTTP:
    return c ? http__on_request(wsi, s, c) : -1;
  case LWS_CALLBACK_HTTP_BODY:
    return c ? http__on_body(c, in, len) : -1;
  case LWS_CALLBACK_HTTP_BODY_COMPLETION:
    return c ? http__on_body_complete(wsi, s, c) : -1;
  case LWS_CALLBACK_HTTP_WRITEABLE:
    return c ? http__on_writeable(wsi, s, c) : 0;
  case LWS_CALLBACK_TIMER:
    /* Armed per request and never cancelled (lws 4.1 fires a "cancelled" timer at once), so a
     * deadline that outlived its request is ignored. */
    if (!c || !c->active || c->streaming) return 0;
    if (c->responding)
      DG_LOG_RL(DG_LOG_WARN, HTTP_SUBSYS, "%s %s: the client took none of the answer for %d s (%zu of %zu bytes), dropped",
                c->method ? c->method : "?", c->path ? c->path : "?", HTTP_REQUEST_TIMEOUT_S, c->resp_off, c->resp_len);
    else
      DG_LOG_RL(DG_LOG_WARN, HTTP_SUBSYS, "%s %s: not completed within %d s, dropped",
                c->method ? c->method : "?", c->path ? c->path : "?", HTTP_REQUEST_TIMEOUT_S);
    return -1;
  case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
    return -1; /* plain HTTP only */
  case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
    return http__filter(s, wsi, user);
  case LWS_CALLBACK_WSI_CREATE: /* right after the filter, for the connection it admitted */
    if (s->lim && s->accepted_fd >= 0) connlim_bind(s->lim, s->accepted_fd, wsi);
    s->accepted_fd = -1;
    return 0;
  case LWS_CALLBACK_WSI_DESTROY:
    if (s->lim) connlim_release(s->lim, wsi);
    return 0;
  case LWS_CALLBACK_RAW_ADOPT:
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, HTTP_REQUEST_TIMEOUT_S);
    lws_callback_on_writable(wsi);
    return 0;
  case LWS_CALLBACK_RAW_WRITEABLE:
    return http__raw_refuse(wsi);
  case LWS_CALLBACK_CLOSED_HTTP:
  case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    if (c) http__stream_end(s, c);
    if (c) http__conn_reset(c);
    return 0;
  default:
    return 0;
  }
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

/* The server whose accept failures the lws log reports (lws logs without a user pointer; the
 * daemon runs one server). */
static struct http_server *http__log_owner;

static void http__pause_tick(uv_timer_t *t)
{
  struct http_server *s = t->data;
  if (!s->listen_wsi) return;
  if (s->pause_state == 1) {
    lws_rx_flow_control(s->listen_wsi, 0);
    s->pause_state = 2;
    uv_timer_start(t, http__pause_tick, HTTP_ACCEPT_PAUSE_MS, 0);
  } else {
    lws_rx_flow_control(s->listen_wsi, 1);
    s->pause_state = 0;
  }
}

/* accept() failing for want of descriptors leaves the listening socket readable: without a
 * pause the loop would spin on it. Paused from a timer, outside lws's own service. */
static void http__accept_failed(struct http_server *s)
{
  if (!s || !s->pause_timer_init || s->pause_state) return;
  s->pause_state = 1;
  uv_timer_start(&s->accept_pause, http__pause_tick, 0, 0);
}

static void http__lws_log(int level, const char *line)
{
  char msg[512];
  snprintf(msg, sizeof msg, "%s", line);
  size_t n = strlen(msg);
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
  if (strstr(msg, "accept: errno") && (strstr(msg, " 24") || strstr(msg, " 23"))) {
    http__accept_failed(http__log_owner);
    DG_LOG_RL(DG_LOG_ERR, HTTP_SUBSYS, "out of descriptors: not accepting for %d ms", HTTP_ACCEPT_PAUSE_MS);
    return;
  }
  DG_LOG_RL(level == LLL_ERR ? DG_LOG_ERR : DG_LOG_WARN, HTTP_SUBSYS, "lws: %s", msg);
}

static void http__free(struct http_server *s)
{
  for (size_t i = 0; i < s->nroutes; i++) {
    free(s->routes[i].method);
    free(s->routes[i].pattern);
    if (s->routes[i].owns_static) http__static_free(s->routes[i].static_dir);
  }
  free(s->routes);
  for (size_t i = 0; i < s->nlimits; i++) {
    free(s->limits[i].method);
    free(s->limits[i].glob);
  }
  free(s->limits);
  for (size_t i = 0; i < s->nhosts; i++) free(s->hosts[i]);
  free(s->hosts);
  free(s->read_prefix);
  connlim_free(s->lim);
  if (http__log_owner == s) http__log_owner = NULL;
  free(s);
}

static void http__reaper_closed(uv_handle_t *h) { http__free(h->data); }

static void http__find_closing(uv_handle_t *h, void *arg)
{
  struct http_server *s = arg;
  if (h != (uv_handle_t *)&s->reaper && uv_is_closing(h)) s->closing_seen = 1;
}

/* lws on a foreign libuv loop tears down in steps: the first lws_context_destroy() closes every
 * lws handle asynchronously; only once their close callbacks have run (they live in the evlib
 * plugin, which the final step unloads) may a further call free the context, which then clears
 * s->ctx through info.pcontext. The reaper idles until nothing on the loop is closing, calls
 * lws_context_destroy() again while the context exists, and frees the server at the end. */
static void http__reap(uv_idle_t *h)
{
  struct http_server *s = h->data;
  s->closing_seen = 0;
  uv_walk(s->loop, http__find_closing, s);
  if (s->closing_seen) return;
  if (s->ctx && s->destroy_calls < HTTP_MAX_DESTROY_CALLS) {
    s->destroy_calls++;
    lws_context_destroy(s->ctx);
    return;
  }
  if (s->ctx) DG_ERR(HTTP_SUBSYS, "lws context did not finish its teardown");
  uv_idle_stop(h);
  uv_close((uv_handle_t *)h, http__reaper_closed);
}

static void http__teardown(struct http_server *s)
{
  if (s->pause_timer_init) uv_close((uv_handle_t *)&s->accept_pause, NULL);
  s->pause_timer_init = 0;
  s->destroy_calls++;
  lws_context_destroy(s->ctx); /* stops listening and starts closing every connection now */
  uv_idle_init(s->loop, &s->reaper);
  s->reaper.data = s;
  uv_idle_start(&s->reaper, http__reap);
}

/* Works out what lws needs to listen on exactly addr: lws binds an IPv4 address given as iface
 * on its dual-stack socket as the wildcard, so IPv4 addresses get an IPv4-only vhost; host names
 * are resolved here since lws only knows addresses and interface names. */
static int http__listen_config(const char *addr, char *iface, size_t ifacelen, uint64_t *options)
{
  unsigned char sa[sizeof(struct in6_addr)];
  *options = LWS_SERVER_OPTION_LIBUV;
  iface[0] = '\0';
  if (!addr || !addr[0] || strcmp(addr, "*") == 0 || strcmp(addr, "::") == 0) return 0;
  if (strcmp(addr, "0.0.0.0") == 0) {
    *options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    return 0;
  }
  if (strlen(addr) >= ifacelen) return -EINVAL;
  if (inet_pton(AF_INET, addr, sa) == 1) {
    *options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    snprintf(iface, ifacelen, "%s", addr);
    return 0;
  }
  if (inet_pton(AF_INET6, addr, sa) == 1 || if_nametoindex(addr) != 0) {
    snprintf(iface, ifacelen, "%s", addr);
    return 0;
  }
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
  if (getaddrinfo(addr, NULL, &hints, &res) != 0 || !res) return -EADDRNOTAVAIL;
  char numeric[INET6_ADDRSTRLEN];
  int rc = getnameinfo(res->ai_addr, res->ai_addrlen, numeric, sizeof numeric, NULL, 0, NI_NUMERICHOST);
  freeaddrinfo(res);
  if (rc != 0) return -EADDRNOTAVAIL;
  return http__listen_config(numeric, iface, ifacelen, options);
}

static struct http_server *http__new(const struct http_options *o)
{
  static const char *const always[] = {"localhost", "127.0.0.1", "::1"};
  struct http_server *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->accepted_fd = -1;
  s->protocols[0] = (struct lws_protocols){
    .name = "http",
    .callback = http__callback,
    .per_session_data_size = sizeof(struct http_conn),
  };
  int rc = 0;
  for (size_t i = 0; i < sizeof always / sizeof always[0]; i++) rc |= http__add_host(s, always[i]);
  rc |= http__add_host(s, o->listen);
  for (size_t i = 0; i < o->n_hosts; i++) rc |= http__add_host(s, o->hosts[i]);
  if (rc) {
    http__free(s);
    return NULL;
  }
  return s;
}

struct http_server *http_router_new(const struct http_options *o)
{
  static const struct http_options none;
  return http__new(o ? o : &none);
}

void http_router_free(struct http_server *s)
{
  if (s) http__free(s);
}

/* Caps from the descriptor limit, and the per-client table. */
static int http__caps(struct http_server *s, const struct http_options *o)
{
  int clamped = 0;
  unsigned nofile = connlim_nofile();
  int rc = connlim_derive(nofile, o->max_connections, o->max_connections_per_client, o->fd_reserve, &s->caps,
                          &clamped);
  if (rc) {
    DG_ERR(HTTP_SUBSYS, "the descriptor limit (%u) leaves fewer than %u HTTP connections beside the reserve "
           "of %u: raise LimitNOFILE or lower daemon.http.fd_reserve", nofile, CONNLIM_MIN_TOTAL,
           o->fd_reserve ? o->fd_reserve : CONNLIM_MIN_RESERVE);
    return rc;
  }
  if (clamped)
    DG_WARN(HTTP_SUBSYS, "daemon.http connection caps lowered to what the descriptor limit %u leaves", nofile);
  DG_INFO(HTTP_SUBSYS, "at most %u connections (%u per client address); %u of %u descriptors kept for the rest",
          s->caps.max_total, s->caps.max_per_client, s->caps.reserve, nofile);
  return connlim_new(&s->lim, nofile, &s->caps);
}

static int http__context(struct http_server *s, uv_loop_t *loop, int tls)
{
  void *foreign_loops[1] = {loop};
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
  if (tls) info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
  info.foreign_loops = foreign_loops;
  info.user = s;
  info.pcontext = &s->ctx;
  info.server_string = "dualguard";
  info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
  info.timeout_secs = HTTP_REQUEST_TIMEOUT_S; /* lws reads the body timeout from the context */
  info.max_http_header_data = HTTP_MAX_HEADER_DATA;
  /* lws stops accepting when its table holds limit - 1 descriptors; the listener is one. */
  info.fd_limit_per_thread = s->caps.max_total + 2;
  s->ctx = lws_create_context(&info);
  if (!s->ctx) {
    DG_ERR(HTTP_SUBSYS, "cannot create the lws context");
    return -ENOMEM;
  }
  uv_timer_init(loop, &s->accept_pause);
  s->accept_pause.data = s;
  s->pause_timer_init = 1;
  http__log_owner = s;
  return 0;
}

int http_start_opts(struct http_server **out, uv_loop_t *loop, const struct http_options *o)
{
  if (!out || !loop || !o || !o->tls_cert != !o->tls_key) return -EINVAL;
  *out = NULL;
  char iface[256];
  uint64_t options;
  const char *addr = o->listen;
  int rc = http__listen_config(addr, iface, sizeof iface, &options);
  if (rc < 0) {
    DG_ERR(HTTP_SUBSYS, "cannot listen on %s: %s", addr, strerror(-rc));
    return rc;
  }
  struct http_server *s = http__new(o);
  if (!s) return -ENOMEM;
  s->loop = loop;
  lws_set_log_level(LLL_ERR | LLL_WARN, http__lws_log);
  if ((rc = http__caps(s, o)) || (rc = http__context(s, loop, o->tls_cert != NULL))) {
    http__free(s);
    return rc;
  }

  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.options = options;
  info.protocols = s->protocols;
  info.vhost_name = "default";
  info.iface = iface[0] ? iface : NULL;
  info.port = o->port;
  info.timeout_secs = HTTP_REQUEST_TIMEOUT_S;
  info.timeout_secs_ah_idle = HTTP_REQUEST_TIMEOUT_S;
  info.keepalive_timeout = HTTP_KEEPALIVE_S;
  info.ssl_cert_filepath = o->tls_cert;
  info.ssl_private_key_filepath = o->tls_key;
  if (o->tls_cert) info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT; /* lws reads it per vhost too */
  errno = 0;
  s->vhost = lws_create_vhost(s->ctx, &info);
  if (!s->vhost || lws_get_vhost_listen_port(s->vhost) <= 0) {
    rc = errno == EADDRINUSE || errno == EADDRNOTAVAIL || errno == EACCES ? -errno : -EIO;
    if (o->tls_cert && rc == -EIO)
      DG_ERR(HTTP_SUBSYS, "cannot serve TLS with certificate %s and key %s", o->tls_cert, o->tls_key);
    DG_ERR(HTTP_SUBSYS, "cannot listen on %s:%u: %s", addr ? addr : "*", o->port, strerror(-rc));
    http__teardown(s);
    return rc;
  }
  s->port = (uint16_t)lws_get_vhost_listen_port(s->vhost);
  DG_INFO(HTTP_SUBSYS, "listening on %s:%u%s", addr && addr[0] ? addr : "*", s->port, o->tls_cert ? " (TLS)" : "");
  *out = s;
  return 0;
}

int http_start(struct http_server **out, uv_loop_t *loop, const char *addr, uint16_t port)
{
  return http_start_opts(out, loop, &(struct http_options){.listen = addr, .port = port});
}

uint16_t http_port(const struct http_server *s) { return s ? s->port : 0; }

void http_stop(struct http_server *s)
{
  if (!s) return;
  http__teardown(s);
}
