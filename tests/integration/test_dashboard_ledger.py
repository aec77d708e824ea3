#!/usr/bin/python3
"""The hazard ledger's closed loop and the inspection tasks from the browser, at phone width,
against the real daemon: a worker reports a hazard with a camera photo, the workshop director
rectifies it (with a photo) and submits, an engineer accepts it; each sees only the actions
their roles allow, and a refusal is shown in the page's language. An inspection task due today
for the signed-in person is completed at 412 px with result, note and photo, without sideways
scrolling. The point detail draws the stored history and the rule's limit. Screenshots under
build/test-artefacts/dashboard."""
import json
import sys

from dgtest import db_rows, run_tests, wait_until
from test_dashboard import Browser, need_chromium, setup

# A small PNG made by the page itself, put in a file input as a camera would.
PHOTO_JS = """(async (sel) => {
  const c = document.createElement('canvas'); c.width = 64; c.height = 48;
  const g = c.getContext('2d'); g.fillStyle = '#c33'; g.fillRect(0, 0, 64, 48);
  const blob = await new Promise((r) => c.toBlob(r, 'image/png'));
  const dt = new DataTransfer(); dt.items.add(new File([blob], 'photo.png', {type: 'image/png'}));
  document.querySelector(sel).files = dt.files;
  return document.querySelector(sel).files.length;
})(%s)"""


class Page:
    def __init__(self, browser, daemon):
        self.b, self.daemon = browser, daemon

    def js(self, expr):
        return self.b.evaluate(expr)

    def sign_in(self, person):
        self.js(f"document.getElementById('token-input').value = {json.dumps(self.daemon.token(person))};"
                "document.getElementById('token-form').requestSubmit()")
        wait_until(lambda: self.js("app.me && app.me.id") == person, 10, f"signed in as {person}")

    def message(self):
        return self.js("(m => m.hidden ? '' : m.textContent)(document.getElementById('message'))")

    def clear_message(self):
        self.js("document.getElementById('message').hidden = true")

    def actions(self):
        return self.js("[...document.querySelectorAll('#hazard-detail [data-hz-action]')].map(b => b.dataset.hzAction)")

    def open_hazard(self, hid):
        self.js(f"location.hash = 'hazards/{hid}'")
        wait_until(lambda: self.js(f"!!(app.detail && app.detail.body && app.detail.body.id === {hid})"), 10,
                   "the hazard's detail")

    def fill(self, values):
        for name, value in values.items():
            self.js(f"(e => {{ e.value = {json.dumps(value)}; }})(document.querySelector('#hz-form [name={name}]'))")

    def photo(self):
        assert self.js(PHOTO_JS % json.dumps("#hz-form input[type=file]")) == 1

    def submit(self):
        self.js("document.querySelector('#hz-form button[value=ok]').click()")

    def act(self, action):
        self.js(f"document.querySelector('#hazard-detail [data-hz-action={action}]').click()")
        assert self.js("document.getElementById('hz-dialog').open"), self.message()

    def no_sideways_scroll(self, what):
        scroll = self.js("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll[0] <= scroll[1], (what, scroll)


def open_page(workdir, cleanup, daemon, width, height, hash_):
    """A browser on the dashboard at width x height, once the page has polled."""
    browser = Browser(workdir)
    cleanup.append(browser.close)
    browser.resize(width, height)
    browser.goto(f"http://127.0.0.1:{daemon.port}/#{hash_}")
    p = Page(browser, daemon)
    wait_until(lambda: p.js("typeof app === 'object' && !!app.lastOk && !!app.data.inspections && "
                            "Object.keys(app.names.units).length > 0"), 15, "the page polled")
    return browser, p


def test_closed_loop_from_a_phone(workdir, cleanup):
    if not need_chromium():
        return
    broker, daemon = setup(workdir, cleanup)
    browser, p = open_page(workdir, cleanup, daemon, 412, 915, "hazards")
    # Signed in by neither login nor token: read only, and the report button asks for a login.
    p.js("document.getElementById('hazard-report').click()")
    assert "登录" in p.message() and not p.js("document.getElementById('hz-dialog').open")

    # 张操作员 (operator) reports a hazard on U01 with a photo from the camera.
    p.sign_in("zhang")
    assert "张操作员" in p.js("document.getElementById('me').textContent")
    p.js("document.getElementById('hazard-report').click()")
    assert p.js("document.querySelector('#hz-form input[type=file]').accept") == "image/*"
    assert p.js("document.querySelector('#hz-form input[type=file]').hasAttribute('capture')")
    p.fill({"description": "2#泵房法兰渗漏，有氨味", "unit": "U01", "danger_src": "1"})
    p.photo()
    browser.screenshot("ledger-report-zh-412", 412, 915)
    p.no_sideways_scroll("report dialog")
    p.submit()
    hz = wait_until(lambda: [x for x in daemon.get("/api/v1/hazards")[1]["hazards"] if x["reporter"] == "zhang"],
                    10, "the report stored")[0]
    hid = hz["id"]
    assert hz["description"] == "2#泵房法兰渗漏，有氨味" and hz["unit"] == "U01" and hz["danger_src"] == 1
    assert hz["liable_person"] == "li", hz
    wait_until(lambda: len(daemon.get(f"/api/v1/hazards/{hid}")[1]["attachments"]) == 1, 10, "the photo stored")
    photo = daemon.get(f"/api/v1/hazards/{hid}")[1]["attachments"][0]
    assert photo["stage"] == "discover" and photo["uploader"] == "zhang" and photo["content_type"] == "image/png"
    wait_until(lambda: "已上报" in p.message(), 10, "the report confirmed in Chinese")
    # The page opened it: the operator, neither liable nor assigned, may only add photos.
    wait_until(lambda: p.js(f"location.hash") == f"#hazards/{hid}", 10, "the new hazard opened")
    p.open_hazard(hid)
    wait_until(lambda: p.actions() == ["photo"], 10, "the operator's actions")
    assert p.js("document.querySelectorAll('#hazard-detail .photos img').length") == 1
    # Forcing an action the roles do not allow: the API's 403, shown in Chinese.
    p.clear_message()
    p.js("openAction('rectify', app.detail.body)")
    p.fill({"rectify_measures": "试一下"})
    p.submit()
    wait_until(lambda: "无权限" in p.message(), 10, "the 403 in Chinese")
    assert "403" not in p.message() and "only" not in p.message()

    # 李主任 (workshop director, liable for U01) rectifies with a photo and submits.
    p.sign_in("li")
    p.open_hazard(hid)
    wait_until(lambda: p.actions() == ["rectify", "assign", "submit", "photo"], 10, "the director's actions")
    p.act("rectify")
    p.fill({"rectify_measures": "更换法兰垫片，复查无渗漏", "cost": "800", "deadline_ms": "2030-01-31"})
    p.photo()
    p.submit()
    wait_until(lambda: daemon.get(f"/api/v1/hazards/{hid}")[1]["rectifier"] == "li", 10, "rectified by li")
    got = daemon.get(f"/api/v1/hazards/{hid}")[1]
    assert got["rectify_measures"] == "更换法兰垫片，复查无渗漏" and got["cost"] == 800, got
    wait_until(lambda: len(daemon.get(f"/api/v1/hazards/{hid}")[1]["attachments"]) == 2, 10, "the rectify photo")
    assert daemon.get(f"/api/v1/hazards/{hid}")[1]["attachments"][1]["stage"] == "rectify"
    wait_until(lambda: p.js("!document.getElementById('hz-dialog').open && app.detail.body.rectifier === 'li'"), 10,
               "the detail refreshed")
    p.act("submit")
    p.submit()
    wait_until(lambda: daemon.get(f"/api/v1/hazards/{hid}")[1]["danger_state"] == 1, 10, "submitted")
    # The rectifier may not accept his own work: no accept button for him.
    wait_until(lambda: p.js("app.detail.body.danger_state") == 1, 10, "the page shows 待验收")
    assert "verify" not in p.actions(), p.actions()
    browser.screenshot("ledger-detail-zh-412", 412, 915)

    # 王工 (engineer) accepts it: closed, the journal names each person.
    p.sign_in("wang")
    p.open_hazard(hid)
    wait_until(lambda: "verify" in p.actions(), 10, "the engineer may accept")
    p.act("verify")
    p.fill({"comment": "现场复查合格"})
    p.submit()
    wait_until(lambda: daemon.get(f"/api/v1/hazards/{hid}")[1]["danger_state"] == 9, 10, "accepted")
    got = daemon.get(f"/api/v1/hazards/{hid}")[1]
    assert got["verifier"] == "wang" and got["verify_comment"] == "现场复查合格"
    actors = [(j["action"], j["actor"]) for j in got["journal"]]
    assert ("report", "zhang") in actors and ("rectify", "li") in actors and ("verify", "wang") in actors, actors
    wait_until(lambda: p.js("app.detail.body.danger_state") == 9, 10, "the page shows 已验收")
    # the detail's data arrives before the page re-renders it (names load in between)
    wait_until(lambda: p.actions() == [], 10, "no action left on a closed hazard")
    p.no_sideways_scroll("hazard detail")

    # A major hazard submitted without the five in place: the 409 names what is missing, in Chinese.
    st, body = daemon.post("/api/v1/hazards", {"description": "液氨储罐安全阀失效", "danger_src": 2,
                                                "danger_level": 1, "unit": "U01"}, actor="zhang")
    assert st == 201, body
    major = body["id"]
    p.sign_in("li")
    p.open_hazard(major)
    wait_until(lambda: "submit" in p.actions(), 10, "submit offered")
    p.clear_message()
    p.act("submit")
    p.submit()
    wait_until(lambda: "五到位" in p.message(), 10, "the five-in-place refusal in Chinese")
    assert "预案" in p.message() and "missing" not in p.message(), p.message()
    # The rectify form of a major hazard requires all five fields.
    p.act("rectify")
    assert "五到位" in p.js("document.getElementById('hz-fields').textContent")
    for name in ("rectify_measures", "liable_person", "cost", "deadline_ms", "contingency_plan"):
        assert p.js(f"document.querySelector('#hz-form [name={name}]').required"), name
    p.js("document.querySelector('#hz-form button[value=cancel]').click()")
    # 李主任 assigns it to 张操作员, who may then rectify and submit it himself.
    p.act("assign")
    names = p.js("[...document.querySelectorAll('#hz-form [name=assignee] option')].map(o => o.textContent)")
    assert "张操作员" in names and "zhang" not in names, names
    p.fill({"assignee": "zhang"})
    p.submit()
    wait_until(lambda: daemon.get(f"/api/v1/hazards/{major}")[1]["assignee"] == "zhang", 10, "assigned to zhang")
    wait_until(lambda: "张操作员" in p.message(), 10, "the assignment confirmed by name")
    p.sign_in("zhang")
    p.open_hazard(major)
    wait_until(lambda: p.actions() == ["rectify", "submit", "photo"], 10, "the assignee's actions")
    assert "张操作员" in p.js("document.getElementById('hazard-detail').textContent")
    assert p.js("document.querySelector('#hazard-detail li[data-action=assign] .what').textContent") == "指派"
    p.sign_in("li")
    p.open_hazard(major)

    # Overdue: a past deadline is highlighted in the list.
    st, body = daemon.post(f"/api/v1/hazards/{major}/rectify", {"deadline_ms": 1000000000000,
                                                                 "rectify_measures": "停用并更换"}, actor="li")
    assert st == 200, body
    p.js("refreshLedger()")
    wait_until(lambda: p.js(f"!!document.querySelector('tr[data-hazard-id=\"{major}\"].is-overdue td.overdue')"),
               10, "overdue highlighted")
    browser.screenshot("ledger-detail-zh-1600", 1600, 1000)
    browser.resize(412, 915)

    # English: the same refusal in English.
    p.js("document.getElementById('lang-toggle').click()")
    p.clear_message()
    p.js("openAction('submit', app.detail.body)")
    p.submit()
    wait_until(lambda: "five-in-place" in p.message(), 10, "the refusal in English")
    assert "contingency plan" in p.message(), p.message()
    browser.screenshot("ledger-detail-en-412", 412, 915)
    browser.screenshot("ledger-detail-en-1600", 1600, 1000)
    p.js("document.getElementById('lang-toggle').click()")


def test_inspection_at_phone_width(workdir, cleanup):
    if not need_chromium():
        return
    broker, daemon = setup(workdir, cleanup)
    wait_until(lambda: any(x["measure"] == "M03" for x in daemon.get("/api/v1/inspections")[1]["inspections"]), 15,
               "the M03 task")
    browser, p = open_page(workdir, cleanup, daemon, 412, 915, "inspections")
    p.js("app.inspView = 'mine'; renderInspections()")
    # Without a token there is nobody's "today".
    assert p.js("document.querySelectorAll('#inspection-rows tr').length") == 0
    assert "令牌" in p.js("document.getElementById('inspections-empty').textContent")
    # 王工 is responsible for M03 (储罐区巡检无泄漏): his task today, by the measure's text and the unit's name.
    p.sign_in("wang")
    wait_until(lambda: p.js("document.querySelectorAll('#inspection-rows tr').length") == 1, 10, "wang's one task")
    row = "document.querySelector('#inspection-rows tr')"
    assert p.js(f"{row}.dataset.measure") == "M03"
    txt = p.js(f"{row}.textContent")
    assert "储罐区巡检无泄漏" in txt and "1#液氨储罐" in txt and "M03" not in txt and "U01" not in txt, txt
    p.no_sideways_scroll("my tasks")
    browser.screenshot("inspections-mine-zh-412", 412, 915)
    tid = int(p.js(f"{row}.dataset.taskId"))
    p.js(f"{row}.querySelector('button.complete').click()")
    assert p.js("document.getElementById('hz-dialog').open")
    assert "储罐区巡检无泄漏" in p.js("document.getElementById('hz-fields').textContent")
    p.js("document.querySelector('#hz-form input[name=check_status][value=\"0\"]').checked = true")
    p.fill({"note": "罐区巡检，无泄漏"})
    p.photo()
    p.no_sideways_scroll("complete dialog")
    browser.screenshot("inspection-complete-zh-412", 412, 915)
    p.submit()
    task = wait_until(lambda: [x for x in daemon.get("/api/v1/inspections?status=done")[1]["inspections"]
                               if x["id"] == tid], 10, "the task completed")[0]
    assert task["check_status"] == 0 and task["checker"] == "wang" and task["note"] == "罐区巡检，无泄漏", task
    assert task["evidence"] == "person" and len(task["attachments"]) == 1, task
    wait_until(lambda: "已完成" in p.message(), 10, "the result in Chinese")
    wait_until(lambda: p.js("document.querySelectorAll('#inspection-rows tr').length") == 0, 10, "done, off my list")
    p.no_sideways_scroll("after completion")
    # All tasks: the done one shows its checker by name.
    p.js("document.querySelector('[data-insp-view=all]').click()")
    wait_until(lambda: "王工" in p.js(f"document.querySelector('#inspection-rows tr[data-task-id=\"{tid}\"]').textContent"),
               10, "the checker by name")
    p.no_sideways_scroll("all tasks")
    browser.screenshot("inspections-all-zh-1600", 1600, 1000)
    p.js("document.getElementById('lang-toggle').click()")
    browser.screenshot("inspections-all-en-1600", 1600, 1000)
    browser.screenshot("inspections-all-en-412", 412, 915)
    p.js("document.getElementById('lang-toggle').click()")


def history(daemon, point, query=""):
    return daemon.call("GET", f"/api/v1/points/{point}/history{query}")


def test_point_trend(workdir, cleanup):
    """The stored history drawn with the rule's limits, reached from the alarm list; the history
    and whoami routes' answers."""
    broker, daemon = setup(workdir, cleanup)
    for n, value in enumerate((10, 20, 30), start=1):
        broker.publish("t/gt101", json.dumps({"value": value}))
        wait_until(lambda: len(history(daemon, "GT101")[1]["samples"]) >= n, 15, f"{n} samples stored")
    st, body = history(daemon, "GT101")
    assert st == 200 and [s["value"] for s in body["samples"]] == [10, 20, 30], body
    assert body["point"]["value"] == 30 and body["point"]["quality"] == "good" and body["point"]["eng_unit"] == "%LEL"
    rule = [r for r in body["rules"] if r["id"] == "R-GT101-H"][0]
    assert rule["type"] == "high" and [s["limit"] for s in rule["stages"]] == [25, 50], rule
    wait_until(lambda: history(daemon, "GT101")[1]["rules"][0]["alarm"]["state"] == "UNACK", 10, "the alarm in the history")
    assert history(daemon, "GT101", "?limit=2")[1]["truncated"] is True
    assert [s["value"] for s in history(daemon, "GT101", "?limit=2")[1]["samples"]] == [20, 30]
    # the same rows once moved from the history's log into a block (a round of its slices)
    moved = "SELECT coalesce(sum(b.n), 0) AS n FROM sample_blocks b JOIN point_ids p ON p.id = b.point WHERE p.name = 'GT101'"
    wait_until(lambda: db_rows(daemon.db_path, moved)[0]["n"] == 3, 15, "GT101's rows moved")
    assert [s["value"] for s in history(daemon, "GT101")[1]["samples"]] == [10, 20, 30]
    for query in ("?limit=0", "?limit=x", "?limit=10001", "?since=2000&until=1000", "?since=abc"):
        assert history(daemon, "GT101", query)[0] == 400, query
    assert history(daemon, "NOPE")[0] == 404
    assert daemon.call("GET", "/api/v1/whoami", token="")[0] == 401
    assert daemon.call("GET", "/api/v1/whoami", token="0" * 64)[0] == 401
    st, me = daemon.call("GET", "/api/v1/whoami", actor="zhang")
    assert st == 200 and me == {"id": "zhang", "name": "张操作员", "roles": ["operator"], "auth": "token"}, me
    if not need_chromium():
        return
    browser, p = open_page(workdir, cleanup, daemon, 1600, 1000, "alarms")
    link = "document.querySelector('#alarm-rows tr[data-rule=\"R-GT101-H\"] a.point-link')"
    wait_until(lambda: p.js(f"!!{link}"), 15, "the alarm's point link")
    p.js(f"{link}.click()")
    wait_until(lambda: p.js("!document.getElementById('view-point').hidden"), 5, "the point view")
    wait_until(lambda: p.js("(document.querySelector('#trend polyline.series') || {}).dataset?.n") == "3", 10,
               "the drawn series")
    limits = p.js("[...document.querySelectorAll('#trend line.limit')].map(l => +l.dataset.limit)")
    assert sorted(limits) == [25, 50], limits
    # The 25 line lies between the samples 20 and 30 on screen: the limit is drawn to the same scale.
    ys = p.js("document.querySelector('#trend polyline.series').getAttribute('points').split(' ').map(p => +p.split(',')[1])")
    ys = [v for i, v in enumerate(ys) if i == 0 or v != ys[i - 1]]  # the steps' levels: 10, 20, 30
    y25 = p.js("+[...document.querySelectorAll('#trend line.limit')].find(l => l.dataset.limit === '25').getAttribute('y1')")
    assert ys[2] < y25 < ys[1], (ys, y25)
    text = p.js("document.getElementById('point-body').textContent")
    assert "30 %LEL" in text and "质量：正常" in text and "未确认" in text and "1#液氨储罐" in text, text
    browser.screenshot("point-zh-1600", 1600, 1000)
    browser.screenshot("point-zh-412", 412, 915)
    p.no_sideways_scroll("point detail at 412")
    p.js("document.getElementById('lang-toggle').click()")
    wait_until(lambda: "Current value" in p.js("document.getElementById('point-body').textContent"), 5, "English")
    assert "Unacknowledged" in p.js("document.getElementById('point-body').textContent")
    browser.screenshot("point-en-412", 412, 915)
    browser.screenshot("point-en-1600", 1600, 1000)
    p.js("document.getElementById('lang-toggle').click()")


if __name__ == "__main__":
    sys.exit(run_tests([
        test_closed_loop_from_a_phone,
        test_inspection_at_phone_width,
        test_point_trend,
    ]))
