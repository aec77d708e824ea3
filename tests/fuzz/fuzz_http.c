/* libFuzzer target: the HTTP request decision (Host check, route match, read authorization,
 * query decoding, strict JSON bodies, static file resolution) must never crash, leak or answer
 * outside its rules, whatever a client sends. The input is split on '\n' into method, path,
 * query, Host, Authorization and a loopback flag; the rest is the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "http.h"

#define FUZZ_FIELDS 6

static int fuzz__admit(void *ud, const char *authorization)
{
  return authorization && strcmp(authorization, "Bearer good") == 0;
}

static void fuzz__list(void *ud, const struct http_request *req, struct http_response *resp)
{
  char state[32];
  if (api_query_text(req, "state", state, sizeof state, resp) < 0) return;
  if (!http_utf8_valid(state, strlen(state), NULL)) abort(); /* query values handed on are text */
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "state", state);
  api_reply(resp, 200, o);
}

static void fuzz__post(void *ud, const struct http_request *req, struct http_response *resp)
{
  cJSON *body = api_body_object(req, resp);
  if (!body) {
    if (resp->status != 400) abort();
    return;
  }
  if (!cJSON_IsObject(body) || !http_utf8_valid(req->body, req->body_len, NULL)) abort();
  api_reply(resp, 200, body);
}

static char fuzz__dir[] = "/tmp/fuzz_http.XXXXXX";
static const char *const fuzz__files[] = {"index.html", "app.js"};

static void fuzz__remove_dir(void)
{
  for (size_t i = 0; i < sizeof fuzz__files / sizeof fuzz__files[0]; i++) {
    char path[64];
    snprintf(path, sizeof path, "%s/%s", fuzz__dir, fuzz__files[i]);
    unlink(path);
  }
  rmdir(fuzz__dir);
}

/* A dashboard-like folder to serve, removed at exit. */
static const char *fuzz__static_dir(void)
{
  const char *dir = fuzz__dir;
  const char *const *files = fuzz__files;
  if (!mkdtemp(fuzz__dir)) abort();
  atexit(fuzz__remove_dir);
  for (size_t i = 0; i < sizeof fuzz__files / sizeof fuzz__files[0]; i++) {
    char path[64];
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    FILE *f = fopen(path, "w");
    if (!f || fputs("<!doctype html>", f) < 0 || fclose(f)) abort();
  }
  return dir;
}

static struct http_server *fuzz__server(void)
{
  static struct http_server *s;
  if (s) return s;
  const char *const hosts[] = {"plant.example"};
  s = http_router_new(&(struct http_options){.listen = "10.0.0.5", .hosts = hosts, .n_hosts = 1});
  if (!s || http_route(s, "GET", "/api/v1/items", fuzz__list, NULL) ||
      http_route(s, "POST", "/api/v1/items/*", fuzz__post, NULL) ||
      http_route(s, "GET", "/healthz", fuzz__list, NULL) || http_static(s, "/", fuzz__static_dir()) ||
      http_read_auth(s, "/api/", fuzz__admit, NULL, 1))
    abort();
  return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *buf = malloc(size + 1);
  if (!buf) return 0;
  memcpy(buf, data, size);
  buf[size] = '\0';
  char *field[FUZZ_FIELDS] = {0}, *p = buf;
  for (int i = 0; i < FUZZ_FIELDS && p; i++) {
    field[i] = p;
    p = memchr(p, '\n', size - (size_t)(p - buf));
    if (p) *p++ = '\0';
  }
  const char *body = p ? p : "";
  struct http_request req = {
    .method = field[0] ? field[0] : "GET",
    .path = field[1] && field[1][0] == '/' ? field[1] : "/",
    .query = field[2] ? field[2] : "",
    .host = field[3] && field[3][0] ? field[3] : NULL,
    .authorization = field[4] && field[4][0] ? field[4] : NULL,
    .loopback = field[5] && field[5][0] == '1',
    .body = body,
    .body_len = p ? size - (size_t)(p - buf) : 0,
  };
  struct http_response resp = {.status = 200};
  char allow[128];
  http_handle(fuzz__server(), &req, &resp, allow, sizeof allow);
  if (resp.status < 100 || resp.status > 599) abort();
  /* An API read answered without the token is only for loopback clients. */
  int read = !strcmp(req.method, "GET") || !strcmp(req.method, "HEAD");
  if (read && resp.status == 200 && !strncmp(req.path, "/api/", 5) && !req.loopback &&
      !fuzz__admit(NULL, req.authorization))
    abort();
  free(resp.body);
  free(resp.set_cookie);
  free(buf);
  return 0;
}
