#!/usr/bin/python3
"""The dashboard's major-hazard governance view and daily safety commitment, rendered by headless
Chromium (driven over the DevTools protocol) against a real daemon in a known state: the stop
order shows as a banner on every view and on its unit's tile, the governance view shows each
major hazard's steps, and the commitment page shows the prefilled announcement in zh-CN and in
English; the principal person in charge confirms it from the page, and a non-principal has no
confirm button. Screenshots at 1600 and 412 px under build/test-artefacts/govern; no horizontal
scroll at 412 px."""
import os
import sys
import time

from dgtest import BUILD_DIR, run_tests, start_plant, wait_until
import test_dashboard
from test_dashboard import DASHBOARD_DIR, Browser, need_chromium
from test_safety_commitment import CONFIG, known_state

test_dashboard.SCREENSHOT_DIR = os.path.join(BUILD_DIR, "test-artefacts", "govern")
OPEN_READS = CONFIG.replace("daemon: {{ ", "daemon: {{ http: {{ open_reads_on_loopback: true }}, ")
assert OPEN_READS != CONFIG


def shot(browser, view, lang, width, height, name=None):
    browser.resize(width, height)
    browser.evaluate(f"location.hash = '{view}'")
    wait_until(lambda: browser.evaluate(f"!document.getElementById('view-{view}').hidden"), 5, view)
    # The layout settles after the resize: no horizontal scrolling once it has.
    wait_until(lambda: (s := browser.evaluate("[document.documentElement.scrollWidth, window.innerWidth]"))[0] <= s[1]
               and s[1] == width, 5, f"{view} {lang} at {width} px without horizontal scroll")
    browser.screenshot(f"{name or view}-{lang}-{width}", width, height)


def test_governance_and_commitment_pages(workdir, cleanup):
    if not need_chromium():
        return
    broker, _, daemon = start_plant(workdir, cleanup, OPEN_READS, extra_args=["--dashboard", DASHBOARD_DIR])
    today_ms = int(time.mktime(time.strptime(time.strftime("%Y-%m-%d"), "%Y-%m-%d")) * 1000)
    known_state(daemon, broker, today_ms)
    browser = Browser(workdir)
    cleanup.append(browser.close)
    browser.goto(f"http://127.0.0.1:{daemon.port}/?lang=zh#commitment")
    text = lambda sel: browser.evaluate(f"(e => e ? e.textContent : null)(document.querySelector({sel!r}))")
    wait_until(lambda: "安全承诺公告" in (text("#cm-body .cm-text") or ""), 20, "the commitment rendered")
    assert "草稿" in text("#cm-status"), text("#cm-status")
    body = text("#cm-body")
    assert "重大危险源2处，其中运行1处、停产0处、检修1处" in body and "检修" in body and "年度检修" in body, body
    assert "动火作业" in body and "1#罐区管廊" in body and "受限空间作业" in body, body
    assert browser.evaluate("document.getElementById('cm-confirm').hidden"), "no confirm button without a token"
    wait_until(lambda: "停产停业" in (text("#stop-banner") or ""), 10, "the stop banner")
    assert not browser.evaluate("document.getElementById('stop-banner').hidden")
    assert "罐区停产治理" in text("#stop-banner"), text("#stop-banner")
    shot(browser, "commitment", "zh", 1600, 1100)
    shot(browser, "commitment", "zh", 412, 915)

    browser.evaluate("location.hash = 'governance'")
    wait_until(lambda: text("#gov-rows tr") and "液氨罐根阀泄漏" in text("#gov-rows"), 15, "the governance rows")
    row = text("#gov-rows tr")
    assert "评估报告书" in row and "治理方案" in row and "专家论证" in row and "停产停业" in row, row
    # names come with the ledger's poll; until then the page shows ids (app.js loadNames)
    wait_until(lambda: "孙副总" in (text("#gov-who") or ""), 15, "the delegate's name")
    shot(browser, "governance", "zh", 1600, 900)
    shot(browser, "governance", "zh", 412, 915)
    browser.evaluate("location.hash = 'risk'")
    wait_until(lambda: text("[data-unit='U01'] .tile-stop"), 10, "the stop on the U01 tile")
    assert "停产停业" in text("[data-unit='U01'] .tile-stop")
    assert "检修" in text("#risk-sources [data-source='HS02']"), text("#risk-sources [data-source='HS02']")
    assert "尚未确认" in text("#cm-today"), text("#cm-today")
    shot(browser, "risk", "zh", 1600, 1100)

    # English.
    browser.evaluate("document.getElementById('lang-toggle').click()")
    browser.evaluate("location.hash = 'commitment'")
    wait_until(lambda: "Safety commitment of" in (text("#cm-body .cm-text") or ""), 15, "the English commitment")
    assert "Under maintenance" in text("#cm-body") and "Hot work" in text("#cm-body"), text("#cm-body")
    assert "Stop production" in text("#stop-banner"), text("#stop-banner")
    shot(browser, "commitment", "en", 1600, 1100)
    shot(browser, "commitment", "en", 412, 915)
    browser.evaluate("location.hash = 'governance'")
    wait_until(lambda: "Assessment report" in (text("#gov-rows") or ""), 15, "the English governance rows")
    shot(browser, "governance", "en", 1600, 900)
    shot(browser, "governance", "en", 412, 915)

    # The safety director sees no confirm button; the principal confirms from the page.
    for who, can in (("zhao", False), ("qian", True)):
        browser.evaluate(f"sessionStorage.setItem('dg.token', {daemon.token(who)!r}); loadMe()")
        wait_until(lambda: browser.evaluate(f"!!app.me && app.me.id === {who!r}"), 10, who + " signed in")
        browser.evaluate("location.hash = 'commitment'; loadCommitment()")
        wait_until(lambda: browser.evaluate("document.getElementById('cm-confirm').hidden") == (not can), 10,
                   f"the confirm button for {who}")
    # The principal (a manager too) declares a special operation and shuts a source down from the page.
    day = time.strftime("%Y-%m-%d")
    browser.evaluate("document.getElementById('cm-declare').click()")
    browser.evaluate(f"(f => {{ f.type.value = 'lifting'; f.place.value = '2#罐顶'; f.start.value = '{day}T14:00';"
                     f" f.end.value = '{day}T16:00'; f.querySelector('button[value=ok]').click(); }})"
                     "(document.getElementById('gov-form'))")
    ops = wait_until(lambda: (o := daemon.get("/api/v1/special-operations")[1]["special_operations"]) and
                     len(o) == 4 and o, 10, "the operation declared from the page")
    assert any(o["type"] == "lifting" and o["place"] == "2#罐顶" and o["declared_by"] == "qian" for o in ops), ops
    wait_until(lambda: browser.evaluate("!!document.querySelector(\"#cm-body button[data-source='HS01']\")"), 10,
               "the state button")
    browser.evaluate("document.querySelector(\"#cm-body button[data-source='HS01']\").click()")
    browser.evaluate("(f => { f.state.value = 'shutdown'; f.reason.value = '配合治理停产';"
                     " f.querySelector('button[value=ok]').click(); })(document.getElementById('gov-form'))")
    wait_until(lambda: daemon.get("/api/v1/hazard-sources/HS01/states")[1]["states"][0]["state"] == "shutdown", 10,
               "HS01 shut down from the page")
    wait_until(lambda: "配合治理停产" in (text("#cm-body") or ""), 10, "the new state on the page")
    browser.evaluate("window.confirm = () => true; document.getElementById('cm-confirm').click()")
    wait_until(lambda: "钱总经理" in (text("#cm-status") or "") or "钱总经理" in (text("#cm-history") or ""), 15,
               "confirmed on the page")
    c = daemon.get("/api/v1/commitment")[1]
    assert c["status"] == "confirmed" and c["confirmed_by"] == "qian", c
    wait_until(lambda: browser.evaluate("document.getElementById('cm-confirm').hidden"), 10, "the button gone")
    wait_until(lambda: "钱总经理" in (text("#cm-today") or ""), 10, "today's commitment confirmed on the risk map")
    shot(browser, "commitment", "en", 1600, 1100, "commitment-confirmed")
    browser.evaluate("location.hash = 'governance'; loadGovernance()")
    wait_until(lambda: browser.evaluate("document.querySelectorAll('#gov-rows button').length") == 3, 10,
               "the principal's governance actions")
    shot(browser, "governance", "en", 1600, 900, "governance-principal")
    shot(browser, "governance", "en", 412, 915, "governance-principal")
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_governance_and_commitment_pages]))
