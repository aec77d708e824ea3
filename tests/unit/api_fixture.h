/* The daemon's HTTP server and API over a plant (plant_fixture.h), its loop on a thread of its
 * own, and a real libcurl client calling it on loopback. Header-only: each test includes it.
 * Order: plant_init, plant_start (and whatever the test sets up on the loop), api_fixture_listen,
 * api_fixture_run (or api_fixture_start for all of these); api_fixture_stop ends it all. */
#ifndef DG_TEST_API_FIXTURE_H
#define DG_TEST_API_FIXTURE_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "plant_fixture.h"

struct api_fixture {
  struct plant p;
  uv_async_t stop;
  struct http_server *http;
  struct api_ctx api;
  pthread_t thread;
  char base[64];
  char attachments[96]; /* photos, in the plant's directory */
};

static inline void api_fixture__on_stop(uv_async_t *a)
{
  struct api_fixture *f = a->data;
  http_stop(f->http);
  plant_close_handles(&f->p);
  uv_close((uv_handle_t *)a, NULL);
}

static inline void *api_fixture__loop(void *arg)
{
  struct api_fixture *f = arg;
  uv_run(&f->p.loop, UV_RUN_DEFAULT);
  return NULL;
}

/* Serves the API of the started plant on an ephemeral port; tokens map to persons through
 * authenticate(ud, token). */
static inline void api_fixture_listen(struct api_fixture *f,
                                      const struct dg_person *(*authenticate)(void *ud, const char *token), void *ud)
{
  assert_int_equal(http_start(&f->http, &f->p.loop, "127.0.0.1", 0), 0);
  snprintf(f->attachments, sizeof f->attachments, "%s/attachments", f->p.dir);
  f->api = (struct api_ctx){.engine = &f->p.engine, .store = f->p.store, .notify = f->p.notify, .started_ms = dg_wall_ms(),
                            .authenticate = authenticate, .auth_ud = ud, .attachments_dir = f->attachments};
  assert_int_equal(api_register(f->http, &f->api), 0);
  snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", http_port(f->http));
}

/* The loop thread takes over: from here on the test touches the plant only through HTTP. */
static inline void api_fixture_run(struct api_fixture *f)
{
  uv_async_init(&f->p.loop, &f->stop, api_fixture__on_stop);
  f->stop.data = f;
  assert_int_equal(pthread_create(&f->thread, NULL, api_fixture__loop, f), 0);
}

static inline int api_fixture__fill(struct store_conn *c, void *sql)
{
  return sqlite3_exec(store_conn_db(c), sql, NULL, NULL, NULL);
}

/* The plant of `yaml` with the rows of `fill_sql` (NULL: none) committed, served and running. */
static inline void api_fixture_start(struct api_fixture *f, const char *yaml, const char *fill_sql,
                                     const struct dg_person *(*authenticate)(void *ud, const char *token), void *ud)
{
  plant_init(&f->p, yaml);
  plant_start(&f->p);
  if (fill_sql) {
    assert_int_equal(store_submit(f->p.store, api_fixture__fill, NULL, (void *)fill_sql), 0);
    assert_int_equal(store_wait_idle(f->p.store), 0);
  }
  api_fixture_listen(f, authenticate, ud);
  api_fixture_run(f);
}

/* The first column of the first row of sql, read with a connection of its own ("" if none). */
static inline void api_fixture_query(const struct api_fixture *f, const char *sql, char *out, size_t len)
{
  sqlite3 *db;
  sqlite3_stmt *st;
  out[0] = '\0';
  assert_int_equal(sqlite3_open_v2(f->p.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
    snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
}

static inline void api_fixture_stop(struct api_fixture *f)
{
  uv_async_send(&f->stop);
  pthread_join(f->thread, NULL);
  plant_release(&f->p);
  plant_free(&f->p);
}

struct api_reply {
  CURLcode rc;
  long status;
  char body[65536];
  size_t len;
};

static inline size_t api_fixture__write(char *data, size_t size, size_t n, void *ud)
{
  struct api_reply *r = ud;
  size_t add = size * n;
  if (r->len + add >= sizeof r->body) return 0;
  memcpy(r->body + r->len, data, add);
  r->len += add;
  r->body[r->len] = '\0';
  return add;
}

/* `method` (NULL: POST with a body, GET without) of path, with len bytes of body as content_type
 * (body non-NULL), into *r, giving up after timeout_s; token NULL sends no Authorization header.
 * Safe from any thread but the loop's. */
static inline void api_fixture_request(const struct api_fixture *f, const char *method, const char *path,
                                       const char *token, const char *content_type, const char *body, size_t len,
                                       long timeout_s, struct api_reply *r)
{
  char url[256], auth[128], ct[128];
  memset(r, 0, sizeof *r);
  snprintf(url, sizeof url, "%s%s", f->base, path);
  snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
  CURL *c = curl_easy_init();
  assert_non_null(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, api_fixture__write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  struct curl_slist *hdrs = curl_slist_append(NULL, ct);
  if (token) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    hdrs = curl_slist_append(hdrs, auth);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  }
  if (method) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  r->rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(c);
}

/* POST of len bytes of body as content_type (body non-NULL), or GET (api_fixture_request). */
static inline void api_fixture_post(const struct api_fixture *f, const char *path, const char *token,
                                    const char *content_type, const char *body, size_t len, long timeout_s,
                                    struct api_reply *r)
{
  api_fixture_request(f, NULL, path, token, content_type, body, len, timeout_s, r);
}

/* POST of a JSON body (non-NULL) or GET of path into *r (api_fixture_post). */
static inline void api_fixture_call(const struct api_fixture *f, const char *path, const char *token, const char *body,
                                    long timeout_s, struct api_reply *r)
{
  api_fixture_post(f, path, token, "application/json", body, body ? strlen(body) : 0, timeout_s, r);
}

#endif
