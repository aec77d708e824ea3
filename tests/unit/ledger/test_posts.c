/* task_assign and post_card: who inspects by control level and who else may complete; the card's
 * address and page from a hand-built model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emergency.h"
#include "post_card.h"
#include "task_assign.h"

static char *operator_roles[] = {"operator"}, *director_roles[] = {"workshop_director"},
            *engineer_roles[] = {"engineer"}, *contractor_roles[] = {"contractor"};
static struct dg_person persons[] = {
  {.id = "op", .name = "张工", .roles = operator_roles, .n_roles = 1},
  {.id = "dep", .roles = operator_roles, .n_roles = 1},
  {.id = "other", .roles = operator_roles, .n_roles = 1},
  {.id = "dir", .roles = director_roles, .n_roles = 1},
  {.id = "eng", .roles = engineer_roles, .n_roles = 1},
  {.id = "temp", .roles = contractor_roles, .n_roles = 1},
};
enum { OP, DEP, OTHER, DIR, ENG, TEMP };

struct fixture {
  struct dg_hazard_source src;
  struct dg_unit unit;
  struct dg_event events[2];
  struct dg_measure post_m, team_m, free_m, emergency_m;
  struct dg_unit *post_units[1];
  struct dg_person *post_persons[1], *post_deputies[1];
  struct dg_event *post_events[1];
  struct dg_post_phone phones[1];
  struct dg_post post;
  struct dg_config c;
};

static void fixture_init(struct fixture *f)
{
  memset(f, 0, sizeof *f);
  f->src = (struct dg_hazard_source){.id = "S", .units = &f->unit, .n_units = 1};
  f->unit = (struct dg_unit){.id = "U1", .name = "1#储罐", .events = f->events, .n_events = 2, .source = &f->src};
  f->events[0] = (struct dg_event){.id = "E1", .name = "液氨泄漏<中毒>", .accident_type = "中毒和窒息",
                                   .level = DG_LEVEL_RED, .unit = &f->unit};
  f->events[1] = (struct dg_event){.id = "E2", .level = DG_LEVEL_BLUE, .unit = &f->unit};
  f->post_m = (struct dg_measure){.id = "M1", .desc = "巡检", .classify1 = 3, .control_level = "岗位", .event = &f->events[0]};
  f->emergency_m = (struct dg_measure){.id = "M4", .desc = "佩戴呼吸器", .classify1 = 4, .event = &f->events[0]};
  f->team_m = (struct dg_measure){.id = "M2", .control_level = "班组", .resp_person = "dir", .event = &f->events[0]};
  f->free_m = (struct dg_measure){.id = "M3", .control_level = "岗位", .event = &f->events[1]};
  f->events[0].measures = &f->post_m; /* only the card reads measures through the event */
  f->events[0].n_measures = 1;
  f->post_units[0] = &f->unit;
  f->post_persons[0] = &persons[OP];
  f->post_deputies[0] = &persons[DEP];
  f->post_events[0] = &f->events[0];
  f->phones[0] = (struct dg_post_phone){"火警", "119"};
  f->post = (struct dg_post){.id = "P 1/岗", .name = "罐区操作工", .units = f->post_units, .n_units = 1,
                             .persons = f->post_persons, .n_persons = 1, .deputies = f->post_deputies,
                             .n_deputies = 1, .events = f->post_events, .n_events = 1, .phones = f->phones,
                             .n_phones = 1};
  f->c = (struct dg_config){.site_code = "X", .site_name = "测试&化工", .persons = persons,
                            .n_persons = sizeof persons / sizeof persons[0], .sources = &f->src, .n_sources = 1,
                            .posts = &f->post, .n_posts = 1};
}

static void test_assignment(void **state)
{
  struct fixture *f = malloc(sizeof *f);
  struct task_assignee a;
  (void)state;
  fixture_init(f);

  task_assign(&f->c, &f->post_m, &a); /* 岗位: the post facing E1 */
  assert_int_equal(a.n_posts, 1);
  assert_ptr_equal(a.posts[0], &f->post);
  assert_null(a.person);
  assert_true(task_assign_is_mine(&a, &persons[OP]));
  assert_true(task_assign_is_mine(&a, &persons[DEP]));
  assert_false(task_assign_is_mine(&a, &persons[OTHER]));
  assert_false(task_assign_may_complete(&a, &f->c, &persons[OTHER])); /* same rank as the post's operator */
  assert_false(task_assign_may_complete(&a, &f->c, &persons[DIR]));   /* a higher role is not an assignee */
  assert_true(task_assign_may_complete(&a, &f->c, &persons[DEP]));    /* the post's deputy */
  assert_false(task_assign_may_complete(&a, &f->c, &persons[TEMP]));  /* no role that inspects */

  char buf[64];
  assert_int_equal(task_assign_encode(&a, buf, sizeof buf), 0); /* stored with the task, read back */
  assert_string_equal(buf, "P 1/岗");
  assert_int_equal(task_assign_encode(&a, buf, 4), -ENOSPC);
  task_assign_decode(&f->c, "", "op", &a);
  assert_int_equal(a.n_posts, 0);
  assert_ptr_equal(a.person, &persons[OP]);
  assert_true(task_assign_may_complete(&a, &f->c, &persons[DEP])); /* deputy of the post the person holds */
  assert_false(task_assign_may_complete(&a, &f->c, &persons[OTHER]));
  task_assign_decode(&f->c, "nope", "nobody", &a);                /* ids the model no longer has */
  assert_true(task_assign_none(&a));

  task_assign(&f->c, &f->team_m, &a); /* 班组: the measure's responsible person */
  assert_int_equal(a.n_posts, 0);
  assert_ptr_equal(a.person, &persons[DIR]);
  assert_false(task_assign_may_complete(&a, &f->c, &persons[OP]));
  assert_true(task_assign_may_complete(&a, &f->c, &persons[DIR]));
  assert_false(task_assign_may_complete(&a, &f->c, &persons[ENG]));

  task_assign(&f->c, &f->free_m, &a); /* 岗位, but no post faces E2: unassigned */
  assert_true(task_assign_none(&a));
  assert_true(task_assign_may_complete(&a, &f->c, &persons[OTHER]));
  assert_false(task_assign_may_complete(&a, &f->c, &persons[TEMP]));
  assert_false(task_assign_may_complete(&a, &f->c, NULL));
  task_assign(&f->c, NULL, &a);
  assert_true(task_assign_none(&a));
  free(f);
}

static void test_card(void **state)
{
  struct fixture *f = malloc(sizeof *f);
  char url[128];
  (void)state;
  fixture_init(f);
  assert_int_equal(post_card_url("https://dg.example.cn/x//", f->post.id, url, sizeof url), 0);
  assert_string_equal(url, "https://dg.example.cn/x/api/v1/posts/P%201%2F%E5%B2%97/card");
  assert_int_equal(post_card_url("https://dg.example.cn", "P1", url, 40), -ENOSPC);

  struct dg_measure both[] = {f->post_m, f->emergency_m};
  f->events[0].measures = both;
  f->events[0].n_measures = 2;
  char *html = post_card_html(&f->c, &f->post, "https://dg.example.cn/api/v1/posts/P1/card", 0);
  assert_non_null(html);
  assert_non_null(strstr(html, "测试&amp;化工"));                    /* escaped */
  assert_non_null(strstr(html, "液氨泄漏&lt;中毒&gt;"));
  assert_non_null(strstr(html, "重大风险"));
  assert_non_null(strstr(html, "<li>巡检</li></ol></td><td data-h=\"应急处置\"><ol><li>佩戴呼吸器</li>"));
  assert_non_null(strstr(html, "火警<b>119</b>"));
  assert_non_null(strstr(html, "<svg class=\"qr\""));
  assert_non_null(strstr(html, "--lv:#d32f2f")); /* the card takes the colour of its worst risk */
  free(html);
  free(f);
}

/* One source of what to do now: the event's steps, else its 应急措施 measures, else (for an
 * alarm) the measure's own troubleshoot or description. */
static void test_emergency(void **state)
{
  struct fixture *f = malloc(sizeof *f);
  char out[EMERGENCY_TODO_MAX];
  (void)state;
  fixture_init(f);
  struct dg_measure both[] = {f->post_m, f->emergency_m};
  f->events[0].measures = both;
  f->events[0].n_measures = 2;
  assert_int_equal(emergency_todo(&both[0], out, sizeof out), 0);
  assert_string_equal(out, "佩戴呼吸器"); /* one step: no number */
  char *steps[] = {"撤离", "关阀", "报警"};
  f->events[0].emergency = steps;
  f->events[0].n_emergency = 3;
  assert_int_equal(emergency_todo(&both[0], out, sizeof out), 0);
  assert_string_equal(out, "1. 撤离；2. 关阀；3. 报警");
  assert_int_equal(emergency_text(&f->events[0], out, 12), -ENOSPC);
  f->events[0].n_emergency = 0;
  f->events[0].n_measures = 1;
  assert_int_equal(emergency_text(&f->events[0], out, sizeof out), -ENOENT);
  assert_int_equal(emergency_todo(&f->post_m, out, sizeof out), 0);
  assert_string_equal(out, "巡检"); /* no steps anywhere: the measure's own text */
  f->post_m.troubleshoot = "查看法兰";
  assert_int_equal(emergency_todo(&f->post_m, out, sizeof out), 0);
  assert_string_equal(out, "查看法兰");
  assert_int_equal(emergency_todo(NULL, out, sizeof out), -ENOENT);
  assert_string_equal(out, "");
  free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_emergency),
    cmocka_unit_test(test_assignment),
    cmocka_unit_test(test_card),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
