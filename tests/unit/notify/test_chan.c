/* chan: signatures against vectors from Python's hmac, RFC 2047 subjects split on character
 * boundaries, WeCom's byte limits, value precision, templates, and the reading of answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "chan_sign.h"
#include "esc_text.h"

static void test_signatures(void **state)
{
  (void)state;
  /* python3: quote(b64encode(hmac.new(b"SEC000", b"1700000000000\nSEC000", sha256).digest()), safe="") */
  char *d = chan_dingtalk_sign("SEC000", 1700000000000LL);
  assert_string_equal(d, "ltBBey5eZrWKh1cPzFIdz3v3xpkc4Tjx4lLsPSHqdtA%3D");
  free(d);
  /* python3: b64encode(hmac.new(b"1700000000\nSEC000", b"", sha256).digest()) */
  char *f = chan_feishu_sign("SEC000", 1700000000LL);
  assert_string_equal(f, "QKhXycVUGrhA1dUEbXA2Vo/zGkv/W88IgYgKNA7Xmk0=");
  free(f);
}

static void test_rfc2047(void **state)
{
  (void)state;
  char *plain = chan_rfc2047("Alarm GT101");
  assert_string_equal(plain, "Alarm GT101");
  free(plain);
  /* 40 three-byte characters: 120 bytes, three words of whole characters. */
  char text[200] = "";
  for (int i = 0; i < 40; i++) strcat(text, "氨");
  char *enc = chan_rfc2047(text);
  int words = 0;
  for (char *w = strstr(enc, "=?UTF-8?B?"); w; w = strstr(w + 1, "=?UTF-8?B?")) {
    char *end = strstr(w, "?=");
    assert_non_null(end);
    assert_true(end + 2 - w <= 75);
    words++;
  }
  assert_int_equal(words, 3);
  assert_non_null(strstr(enc, "?=\r\n =?UTF-8?B?"));
  free(enc);
}

static void test_utf8_cut(void **state)
{
  (void)state;
  assert_int_equal(chan_utf8_cut("氨气", 4), 3);
  assert_int_equal(chan_utf8_cut("氨气", 6), 6);
  assert_int_equal(chan_utf8_cut("ab氨", 4), 2);
}

static void test_wecom_text_limit(void **state)
{
  (void)state;
  struct dg_channel ch = {.id = "w", .type = DG_CHANNEL_WECOM, .url = "http://127.0.0.1/x?key=K"};
  cJSON *root = cJSON_CreateObject();
  char *text = malloc(3000 * 3 + 1);
  text[0] = '\0';
  for (int i = 0; i < 3000; i++) strcat(text, "气");
  cJSON_AddStringToObject(root, "text", text);
  cJSON_AddObjectToObject(root, "to");
  char *body = cJSON_PrintUnformatted(root);
  struct chan_req r;
  assert_int_equal(chan_encode(&ch, 7, body, 0, &r), 0);
  cJSON *sent = cJSON_Parse(r.body);
  const char *content = cJSON_GetObjectItem(cJSON_GetObjectItem(sent, "text"), "content")->valuestring;
  assert_true(strlen(content) <= 2048 && strlen(content) > 2040);
  assert_int_equal(strlen(content) % 3, 0);
  assert_string_equal(r.headers[0], "X-Dualguard-Delivery: 7");
  cJSON_Delete(sent);
  chan_req_free(&r);
  free(body);
  free(text);
  cJSON_Delete(root);
}

/* A plain webhook posts the outbox body byte for byte, with its delivery id; with a template the
 * body's fields are read, and a body that is not JSON is refused. */
static void test_plain_webhook(void **state)
{
  (void)state;
  struct dg_channel hook = {.id = "h", .type = DG_CHANNEL_WEBHOOK, .url = "http://127.0.0.1/h"};
  const char *body = "{\"text\":\"\u6db2\u4f4d\",  \"b\":1.50}";
  struct chan_req r;
  assert_int_equal(chan_encode(&hook, 42, body, 0, &r), 0);
  assert_string_equal(r.body, body);
  assert_int_equal(r.body_len, strlen(body));
  assert_string_equal(r.url, "http://127.0.0.1/h");
  assert_string_equal(r.headers[0], "X-Dualguard-Delivery: 42");
  chan_req_free(&r);
  hook.body_template = "{\"msg\":\"{{text}}\"}";
  assert_int_equal(chan_encode(&hook, 42, body, 0, &r), 0);
  assert_string_equal(r.body, "{\"msg\":\"\u6db2\u4f4d\"}");
  chan_req_free(&r);
  assert_int_equal(chan_encode(&hook, 42, "not json", 0, &r), -EINVAL);
}

static void test_verdicts(void **state)
{
  (void)state;
  struct dg_channel ding = {.type = DG_CHANNEL_DINGTALK}, wecom = {.type = DG_CHANNEL_WECOM},
                    hook = {.type = DG_CHANNEL_WEBHOOK}, sms = {.type = DG_CHANNEL_SMS};
  char why[128];
  int64_t delay;
  assert_int_equal(chan_verdict(&ding, 200, "{\"errcode\":0,\"errmsg\":\"ok\"}", why, sizeof why, &delay), CHAN_DELIVERED);
  assert_int_equal(chan_verdict(&ding, 200, "{\"errcode\":130101,\"errmsg\":\"send too fast\"}", why, sizeof why, &delay),
                   CHAN_RETRY);
  assert_true(delay == 600000);
  assert_int_equal(chan_verdict(&ding, 200, "{\"errcode\":310000,\"errmsg\":\"ok\"}", why, sizeof why, &delay),
                   CHAN_GIVE_UP); /* the code decides, not the message */
  assert_int_equal(chan_verdict(&wecom, 200, "{\"errcode\":45009}", why, sizeof why, &delay), CHAN_RETRY);
  assert_int_equal(chan_verdict(&wecom, 200, "{\"errcode\":93000}", why, sizeof why, &delay), CHAN_GIVE_UP);
  assert_int_equal(chan_verdict(&hook, 404, "", why, sizeof why, &delay), CHAN_RETRY);
  assert_int_equal(chan_verdict(&sms, 400, "", why, sizeof why, &delay), CHAN_GIVE_UP);
  assert_int_equal(chan_verdict(&sms, 0, NULL, why, sizeof why, &delay), CHAN_RETRY);
}

static void test_template_and_values(void **state)
{
  (void)state;
  const char *vars[] = {"text", "a\"b\n", "id", "12", NULL};
  char *json = chan_expand("{\"t\":\"{{text}}\",\"id\":{{id}},\"x\":\"{{nope}}\"}", vars, true);
  assert_string_equal(json, "{\"t\":\"a\\\"b\\n\",\"id\":12,\"x\":\"\"}");
  free(json);
  char buf[32];
  esc_fmt_value(buf, sizeof buf, 25.0545);
  assert_string_equal(buf, "25.1");
  esc_fmt_value(buf, sizeof buf, 0.012345);
  assert_string_equal(buf, "0.0123");
  esc_fmt_value(buf, sizeof buf, 1250.4);
  assert_string_equal(buf, "1250");
  esc_fmt_value(buf, sizeof buf, 3.10);
  assert_string_equal(buf, "3.1");
  esc_fmt_value(buf, sizeof buf, 0);
  assert_string_equal(buf, "0");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_signatures),  cmocka_unit_test(test_rfc2047),  cmocka_unit_test(test_utf8_cut),
    cmocka_unit_test(test_wecom_text_limit), cmocka_unit_test(test_plain_webhook), cmocka_unit_test(test_verdicts), cmocka_unit_test(test_template_and_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
