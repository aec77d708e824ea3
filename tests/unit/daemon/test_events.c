/* events: the ring shared by subscribers, ids, resume after Last-Event-ID, resync of a
 * subscriber that fell behind or names an id the ring no longer holds, point throttling. The
 * subscribers are driven through their http_stream_ops as the HTTP server would (never opened
 * here, so nothing wakes a connection). */
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "events.h"

struct sub {
  const struct http_stream_ops *ops;
  void *ctx;
};

static struct sub subscribe(struct events *ev, const char *last_id)
{
  struct http_response resp = {0};
  assert_int_equal(events_subscribe(ev, last_id, &resp), 0);
  assert_non_null(resp.stream);
  assert_string_equal(resp.content_type, "text/event-stream; charset=utf-8");
  return (struct sub){resp.stream, resp.stream_ctx};
}

/* Everything pending for the subscriber, as the server would write it. */
static void drain(struct sub s, char *out, size_t cap)
{
  size_t n = 0;
  long got;
  while ((got = s.ops->pull(s.ctx, out + n, cap - n - 1)) > 0) n += (size_t)got;
  assert_true(got == 0);
  out[n] = '\0';
}

static unsigned count(const char *text, const char *what)
{
  unsigned n = 0;
  for (const char *p = text; (p = strstr(p, what)); p += strlen(what)) n++;
  return n;
}

static void publish(struct events *ev, int i)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "n", i);
  events_publish(ev, "alarm", o);
}

static uint64_t boot_of(const char *hello)
{
  unsigned long long boot = 0, seq = 0;
  const char *id = strstr(hello, "id: ");
  assert_non_null(id);
  assert_int_equal(sscanf(id, "id: %llu-%llu", &boot, &seq), 2);
  return boot;
}

static struct events *start(uv_loop_t *loop, unsigned ring)
{
  struct events *ev;
  uv_loop_init(loop);
  assert_int_equal(events_new(&ev, loop, ring), 0);
  return ev;
}

static void finish(uv_loop_t *loop, struct events *ev)
{
  events_close(ev);
  uv_run(loop, UV_RUN_DEFAULT);
  events_free(ev); /* also frees the subscribers the server never closed */
  uv_loop_close(loop);
}

static void test_hello_then_events_in_order(void **state)
{
  (void)state;
  uv_loop_t loop;
  struct events *ev = start(&loop, 0);
  char buf[65536];
  struct sub s = subscribe(ev, NULL);
  drain(s, buf, sizeof buf);
  assert_non_null(strstr(buf, "retry: 3000\n\n"));
  assert_non_null(strstr(buf, "event: hello\n"));
  uint64_t boot = boot_of(buf);
  for (int i = 1; i <= 3; i++) publish(ev, i);
  drain(s, buf, sizeof buf);
  char want[256];
  snprintf(want, sizeof want,
           "id: %" PRIu64 "-1\nevent: alarm\ndata: {\"n\":1}\n\nid: %" PRIu64 "-2\nevent: alarm\ndata: {\"n\":2}\n\n"
           "id: %" PRIu64 "-3\nevent: alarm\ndata: {\"n\":3}\n\n", boot, boot, boot);
  assert_string_equal(buf, want);
  drain(s, buf, sizeof buf);
  assert_string_equal(buf, ""); /* nothing twice */

  /* Resuming after event 1: events 2 and 3, no hello, no resync. */
  snprintf(want, sizeof want, "%" PRIu64 "-1", boot);
  struct sub r = subscribe(ev, want);
  drain(r, buf, sizeof buf);
  assert_null(strstr(buf, "hello"));
  assert_null(strstr(buf, "resync"));
  assert_int_equal(count(buf, "event: alarm\n"), 2);
  assert_non_null(strstr(buf, "data: {\"n\":2}"));
  /* Resuming after the newest: nothing missed. */
  snprintf(want, sizeof want, "%" PRIu64 "-3", boot);
  struct sub latest = subscribe(ev, want);
  drain(latest, buf, sizeof buf);
  assert_string_equal(buf, "retry: 3000\n\n");

  struct events_stats st;
  events_stats(ev, &st);
  assert_int_equal(st.subscribers, 3);
  assert_int_equal(st.published, 3);
  s.ops->closed(s.ctx);
  r.ops->closed(r.ctx);
  latest.ops->closed(latest.ctx);
  events_stats(ev, &st);
  assert_int_equal(st.subscribers, 0);
  finish(&loop, ev);
}

static void test_resync(void **state)
{
  (void)state;
  uv_loop_t loop;
  struct events *ev = start(&loop, 16);
  char buf[65536], id[64];
  struct sub slow = subscribe(ev, NULL);
  drain(slow, buf, sizeof buf);
  uint64_t boot = boot_of(buf);
  /* More than the ring holds while the subscriber did not read: it is told to resync, and goes on
   * from the newest event. */
  for (int i = 1; i <= 40; i++) publish(ev, i);
  drain(slow, buf, sizeof buf);
  assert_int_equal(count(buf, "event: resync\n"), 1);
  assert_non_null(strstr(buf, "\"reason\":\"lagged\""));
  assert_int_equal(count(buf, "event: alarm\n"), 0);
  publish(ev, 41);
  drain(slow, buf, sizeof buf);
  assert_int_equal(count(buf, "event: alarm\n"), 1);
  assert_non_null(strstr(buf, "data: {\"n\":41}"));

  /* An id the ring no longer holds, an id of another run, garbage. */
  snprintf(id, sizeof id, "%" PRIu64 "-2", boot);
  struct sub old = subscribe(ev, id);
  drain(old, buf, sizeof buf);
  assert_non_null(strstr(buf, "\"reason\":\"expired\""));
  assert_int_equal(count(buf, "event: alarm\n"), 0);
  snprintf(id, sizeof id, "%" PRIu64 "-2", boot + 1);
  struct sub other = subscribe(ev, id);
  drain(other, buf, sizeof buf);
  assert_non_null(strstr(buf, "\"reason\":\"unknown_id\""));
  struct sub junk = subscribe(ev, "2-x");
  drain(junk, buf, sizeof buf);
  assert_non_null(strstr(buf, "\"reason\":\"unknown_id\""));
  /* A resumable id just inside the ring still resumes. */
  snprintf(id, sizeof id, "%" PRIu64 "-30", boot);
  struct sub ok = subscribe(ev, id);
  drain(ok, buf, sizeof buf);
  assert_null(strstr(buf, "resync"));
  assert_int_equal(count(buf, "event: alarm\n"), 11);

  struct events_stats st;
  events_stats(ev, &st);
  assert_int_equal(st.resyncs, 4);
  finish(&loop, ev);
}

/* One value per point per second at most, the latest held value after it; a point that another
 * configuration puts at the same index is not throttled by its predecessor. */
static void test_points_throttled(void **state)
{
  (void)state;
  uv_loop_t loop;
  struct events *ev = start(&loop, 0);
  char buf[65536];
  struct sub s = subscribe(ev, NULL);
  drain(s, buf, sizeof buf);
  events_point(ev, 0, 0, "GT101", 1, 10, "good", 1, 101);
  events_point(ev, 0, 0, "GT101", 1, 11, "good", 2, 102);
  events_point(ev, 0, 0, "GT101", 1, 12, "good", 3, 103);
  events_point(ev, 1, 0, "GT102", 0, 0, "comm_fail", 4, 104);
  drain(s, buf, sizeof buf);
  /* The first value of each point at once, the others held. */
  assert_int_equal(count(buf, "event: point\n"), 2);
  assert_non_null(strstr(buf, "{\"point\":\"GT101\",\"value\":10,\"quality\":\"good\",\"ts_ms\":1,\"received_ms\":101}"));
  assert_non_null(strstr(buf, "{\"point\":\"GT102\",\"value\":null,\"quality\":\"comm_fail\",\"ts_ms\":4,\"received_ms\":104}"));
  /* Once the point's second has passed, only the latest held value follows. */
  struct events_stats st;
  for (int i = 0; i < 400; i++) {
    uv_run(&loop, UV_RUN_ONCE);
    events_stats(ev, &st);
    if (st.published == 3) break;
  }
  drain(s, buf, sizeof buf);
  assert_int_equal(count(buf, "event: point\n"), 1);
  assert_non_null(strstr(buf, "\"value\":12,\"quality\":\"good\",\"ts_ms\":3,\"received_ms\":103"));
  /* Another configuration puts another point at index 0: its first value goes out at once, under
   * its own name, and its next one is held. */
  events_point(ev, 0, 1, "GT201", 1, 20, "good", 5, 105);
  events_point(ev, 0, 1, "GT201", 1, 21, "good", 6, 106);
  drain(s, buf, sizeof buf);
  assert_int_equal(count(buf, "event: point\n"), 1);
  assert_non_null(strstr(buf, "{\"point\":\"GT201\",\"value\":20,"));
  s.ops->closed(s.ctx);
  finish(&loop, ev);
}

/* Point values are written out when first read: a subscriber resuming from an id published
 * before them gets them complete, numbers exact, the id escaped, a missing value as null. */
static void test_points_written_when_read(void **state)
{
  (void)state;
  uv_loop_t loop;
  struct events *ev = start(&loop, 0);
  char buf[65536], last_id[64];
  struct sub first = subscribe(ev, NULL);
  publish(ev, 1);
  drain(first, buf, sizeof buf);
  assert_non_null(strstr(buf, "-1\nevent: alarm\n"));
  snprintf(last_id, sizeof last_id, "%" PRIu64 "-1", boot_of(buf)); /* the alarm's id */
  first.ops->closed(first.ctx);
  const double values[] = {0.1, 0.1 + 0.2, -2.5e-7, 1e300, 42};
  for (unsigned i = 0; i < 5; i++) events_point(ev, i, 0, i == 4 ? "GT\"1\\x" : "GT", 1, values[i], "good", 1, 2);
  events_point(ev, 5, 0, "NAN", 1, NAN, "bad_payload", 3, 4);
  struct sub s = subscribe(ev, last_id);
  drain(s, buf, sizeof buf);
  assert_int_equal(count(buf, "event: point\n"), 6);
  char *p = buf;
  for (unsigned i = 0; i < 6; i++) {
    p = strstr(p, "data: ");
    assert_non_null(p);
    p += 6;
    cJSON *o = cJSON_ParseWithOpts(p, NULL, 0);
    assert_non_null(o);
    const cJSON *v = cJSON_GetObjectItem(o, "value");
    if (i < 5) assert_true(cJSON_IsNumber(v) && v->valuedouble == values[i]);
    else assert_true(cJSON_IsNull(v));
    assert_string_equal(cJSON_GetObjectItem(o, "point")->valuestring, i == 4 ? "GT\"1\\x" : i == 5 ? "NAN" : "GT");
    assert_true(cJSON_GetObjectItem(o, "ts_ms")->valuedouble == (i == 5 ? 3 : 1));
    cJSON_Delete(o);
  }
  assert_non_null(strstr(buf, "\"value\":0.1,"));
  assert_non_null(strstr(buf, "\"value\":42,"));
  /* A second reader gets the same text. */
  struct sub again = subscribe(ev, last_id);
  char buf2[65536];
  drain(again, buf2, sizeof buf2);
  assert_string_equal(strstr(buf2, "id: "), strstr(buf, "id: "));
  s.ops->closed(s.ctx);
  again.ops->closed(again.ctx);
  finish(&loop, ev);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_hello_then_events_in_order),
    cmocka_unit_test(test_resync),
    cmocka_unit_test(test_points_throttled),
    cmocka_unit_test(test_points_written_when_read),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
