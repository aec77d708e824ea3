/* The words of hazard and inspection messages: event, priority and colour in the title with the
 * hazard's code (or the task), the deadline in the site's time, the liable person, what to do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "esc_text.h"


static void check(const char *ctx_json, enum esc_event ev, enum esc_lang lang, const char *in_title,
                  const char *const *in_text)
{
  cJSON *ctx = cJSON_Parse(ctx_json);
  char *title = NULL, *text = NULL;
  assert_non_null(ctx);
  assert_int_equal(esc_text_hazard(ctx, ev, 1, lang, 480, &title, &text), 0);
  if (!strstr(title, in_title)) fail_msg("title '%s' lacks '%s'", title, in_title);
  for (size_t i = 0; in_text[i]; i++)
    if (!strstr(text, in_text[i])) fail_msg("text '%s' lacks '%s'", text, in_text[i]);
  free(title);
  free(text);
  cJSON_Delete(ctx);
}

static void test_rectification_notice(void **state)
{
  (void)state;
  const char *ctx = "{\"site\":\"测试化工\",\"hazard\":3,\"hazard_code\":\"YH-0003\",\"description\":\"围堰破损\","
                    "\"unit\":\"U01\",\"unit_name\":\"1#液氨储罐\",\"level\":\"orange\",\"priority\":\"high\","
                    "\"liable_name\":\"张工\",\"ts_ms\":1796400000000,\"deadline_ms\":1796436000000,\"todo\":\"修补围堰\"}";
  const char *zh[] = {"1#液氨储罐", "围堰破损", "隐患 YH-0003", "整改期限 12-05 10:00", "第2级通知", "责任人：张工",
                      "处置：修补围堰", NULL};
  check(ctx, ESC_EV_HAZARD_OPENED, ESC_LANG_ZH, "【隐患整改通知·高·橙】YH-0003", zh);
  const char *en[] = {"hazard YH-0003, rectify by 12-05 10:00", "tier 2", "liable: 张工", "Do now: 修补围堰", NULL};
  check(ctx, ESC_EV_HAZARD_OVERDUE, ESC_LANG_EN, "[high/orange] Hazard overdue YH-0003", en);
  const char *sub[] = {"围堰破损", NULL};
  check(ctx, ESC_EV_HAZARD_SUBMITTED, ESC_LANG_ZH, "【隐患待验收·高·橙】", sub);
}

static void test_missed_inspection(void **state)
{
  (void)state;
  const char *ctx = "{\"task\":12,\"measure\":\"M03\",\"description\":\"储罐区巡检无泄漏\",\"unit\":\"U01\","
                    "\"priority\":\"low\",\"level\":\"blue\",\"ts_ms\":1796400000000,\"due_ms\":1796436000000}";
  const char *zh[] = {"U01 措施 M03：储罐区巡检无泄漏", "应完成于 12-05 10:00", NULL};
  check(ctx, ESC_EV_INSPECTION_MISSED, ESC_LANG_ZH, "【排查未完成·低·蓝】任务 12", zh);
  const char *en[] = {"measure M03", "due 12-05 10:00", NULL};
  check(ctx, ESC_EV_INSPECTION_MISSED, ESC_LANG_EN, "Inspection missed task 12", en);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rectification_notice),
    cmocka_unit_test(test_missed_inspection),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
