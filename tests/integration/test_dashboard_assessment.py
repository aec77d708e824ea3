#!/usr/bin/python3
"""The performance ranking page (绩效考核) in the browser against the real daemon on the
hand-built month of test_assessment: the ranking per person and per department in Chinese and
English, readable at 412 px without sideways scrolling; screenshots at 1600 and 412 px in both
languages under build/test-artefacts/dashboard. And a special inspection's task completed item
by item from a phone, its finding opening a hazard."""
import json
import sys

from dgtest import run_tests, start_daemon, wait_until
from test_assessment import ENV, config, seed
from test_dashboard import Browser, need_chromium


def rows(b):
    return b.evaluate("[...document.querySelectorAll('#assess-rows tr')].map(r =>"
                      " [...r.children].map(td => td.textContent))")


def choose(b, element, value):
    b.evaluate(f"(e => {{ e.value = {json.dumps(value)}; e.dispatchEvent(new Event('change')); }})"
               f"(document.getElementById({json.dumps(element)}))")


def no_sideways_scroll(b, what):
    scroll = b.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll[0] <= scroll[1], (what, scroll)


def signed_in_page(workdir, cleanup, daemon, person, width, height, hash_):
    """A browser at width x height on the page's view hash_, in Chinese, signed in as person."""
    token = daemon.token(person)
    if not daemon.proc:
        daemon.start()
    b = Browser(workdir)
    cleanup.append(b.close)
    b.resize(width, height)
    b.goto(f"http://127.0.0.1:{daemon.port}/?lang=zh#{hash_}")
    wait_until(lambda: b.evaluate("typeof app === 'object' && app.ready === true"), 15, "the page")
    b.evaluate(f"document.getElementById('token-input').value = {json.dumps(token)};"
               "document.getElementById('token-form').requestSubmit()")
    wait_until(lambda: b.evaluate("app.me && app.me.id") == person, 10, "signed in")
    return b


def test_ranking_page(workdir, cleanup):
    if not need_chromium():
        return
    daemon = start_daemon(workdir, cleanup, config(), start=False, env=ENV)
    daemon.token("li")  # creates the database
    seed(daemon.db_path)
    b = signed_in_page(workdir, cleanup, daemon, "li", 1600, 1000, "assessment")
    choose(b, "assess-month", "2026-10")
    ranking = ["王工", "李主任", "张工", "孙工", "赵工"]
    wait_until(lambda: [x[1] for x in rows(b)] == ranking, 10, "October's ranking of five persons")
    r = rows(b)
    assert r[2][:7] == ["3", "张工", "2", "1", "0", "1", "50%"] and r[2][12] == "45 s" and r[2][13] == "100% (1/1)", r[2]
    head = b.evaluate("[...document.querySelectorAll('#assess-head th')].map(th => th.textContent)")
    assert head[:3] == ["排名", "名称", "应排查"] and "平均确认时间" in head, head
    b.screenshot("assessment-zh-1600", 1600, 1000)
    b.resize(412, 915)
    no_sideways_scroll(b, "zh 412")
    b.screenshot("assessment-zh-412", 412, 915)

    choose(b, "assess-by", "department")
    wait_until(lambda: [x[1] for x in rows(b)] == ["储运车间", "安全部"], 10, "the departments")
    assert rows(b)[0][12] == "3.8 min" and rows(b)[1][13] == "50% (1/2)", rows(b)
    b.evaluate("document.getElementById('lang-toggle').click()")
    wait_until(lambda: b.evaluate("document.documentElement.lang") == "en", 5, "English")
    head = b.evaluate("[...document.querySelectorAll('#assess-head th')].map(th => th.textContent)")
    assert head[:3] == ["Rank", "Name", "Due"] and "On-time rate" in head, head
    assert b.evaluate("document.querySelector('#assess-rows td.num:nth-child(7)').dataset.label") == "On-time rate"
    no_sideways_scroll(b, "en 412")
    b.screenshot("assessment-en-412", 412, 915)
    choose(b, "assess-by", "person")
    wait_until(lambda: [x[1] for x in rows(b)] == ranking, 10, "the persons again")
    b.resize(1600, 1000)
    b.screenshot("assessment-en-1600", 1600, 1000)
    assert daemon.stop() == 0


def test_plan_task_from_a_phone(workdir, cleanup):
    if not need_chromium():
        return
    daemon = start_daemon(workdir, cleanup, config(), start=False, env=ENV)
    b = signed_in_page(workdir, cleanup, daemon, "zhao", 412, 915, "inspections")
    token = daemon.token("zhao")
    button = "[...document.querySelectorAll('#inspection-rows tr')].find(r => r.textContent.includes('冬季防冻专项排查'))"
    wait_until(lambda: b.evaluate(f"!!({button})"), 20, "the plan task among my tasks")
    assert "专项排查 · 冬季防冻专项排查" in b.evaluate(f"({button}).textContent")
    b.evaluate(f"({button}).querySelector('button.complete').click()")
    assert b.evaluate("document.querySelectorAll('#hz-form fieldset.results').length") == 3
    b.evaluate("document.querySelector('#hz-form input[name=item-1][value=\"1\"]').checked = true;"
               "document.querySelector('#hz-form [name=itemnote-1]').value = '3#排凝阀积水'")
    no_sideways_scroll(b, "plan task dialog")
    b.screenshot("plan-task-zh-412", 412, 915)
    b.evaluate("document.querySelector('#hz-form button[value=ok]').click()")
    wait_until(lambda: daemon.call("GET", "/api/v1/inspections?status=done", token=token)[1]["inspections"], 10,
               "the task done")
    done = daemon.call("GET", "/api/v1/inspections?status=done", token=token)[1]["inspections"][0]
    assert done["check_status"] == 1 and done["checker"] == "zhao" and done["hazard_id"], done
    assert [i["result"] for i in done["plan"]["results"]] == [0, 1, 0], done
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_ranking_page, test_plan_task_from_a_phone]))
