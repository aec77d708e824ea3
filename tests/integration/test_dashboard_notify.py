#!/usr/bin/python3
"""The notifications and reports screens in headless Chromium against the real daemon: an alarm
whose escalation sends to a webhook that answers and to one that does not shows a delivered and a
failing message (attempts and last response) and the running escalation; the monthly report
shows the API's figures and downloads its CSV with the page's token; both screens in zh-CN and
English at 1600 and 412 px without horizontal scrolling. Screenshots under
build/test-artefacts/dashboard."""
import sys
import json

from dgtest import free_port, run_tests, wait_until
from test_dashboard import OPEN_READS, Browser, need_chromium, setup

ESCALATION = """
escalation:
  channels:
    - {{ id: ops, type: webhook, url: "http://127.0.0.1:{hook_port}/hook" }}
    - {{ id: dead, type: webhook, url: "http://127.0.0.1:%d/dead", timeout: 1s }}
  policies:
    - id: gas
      events: [alarm_activate]
      priorities: [high, critical]
      tiers:
        - {{ responsible: [unit], channels: [ops, dead], timeout: 10m }}
        - {{ roles: [safety_director], channels: [ops] }}
"""


def no_hscroll(browser, what):
    scroll = browser.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll[0] <= scroll[1], (what, scroll)


def shots(browser, view, lang):
    browser.evaluate(f"location.hash = '{view}'")
    browser.screenshot(f"{view}-{lang}-1600", 1600, 1000)
    browser.screenshot(f"{view}-{lang}-412", 412, 915)
    no_hscroll(browser, f"{view} {lang} 412")
    browser.resize(1600, 1000)


def test_notifications_and_reports(workdir, cleanup):
    if not need_chromium():
        return
    broker, daemon = setup(workdir, cleanup, OPEN_READS + ESCALATION % free_port())
    broker.publish("t/gt102", '{"value": 30}')
    wait_until(lambda: daemon.get("/api/v1/escalations")[1]["escalations"], 15, "the escalation running")

    def outbox():
        return daemon.get("/api/v1/notifications")[1]["notifications"]

    wait_until(lambda: any(n["state"] == "delivered" for n in outbox()), 15, "a message delivered")
    wait_until(lambda: any(n["channel"] == "dead" and n["attempts"] >= 1 and n["last_response"] for n in outbox()),
               20, "the dead webhook tried")

    browser = Browser(workdir)
    cleanup.append(browser.close)
    browser.resize(1600, 1000)
    browser.goto(f"http://127.0.0.1:{daemon.port}/#notifications")
    rows = "document.querySelectorAll('#nt-rows tr.nt')"
    wait_until(lambda: browser.evaluate(f"{rows}.length") >= len(outbox()) > 0, 15, "the outbox on the page")
    wait_until(lambda: browser.evaluate("document.querySelectorAll('#esc-rows tr.esc').length") == 1, 10,
               "the running escalation")
    assert "R-GT102-H" in browser.evaluate("document.querySelector('#esc-rows tr.esc').textContent")
    delivered = browser.evaluate("document.querySelector('#nt-rows tr[data-state=delivered]').textContent")
    assert "已送达" in delivered and "R-GT102-H" in delivered, delivered
    dead = [n for n in outbox() if n["channel"] == "dead"][0]
    row = f"document.querySelector('#nt-rows tr[data-id=\"{dead['id']}\"]')"
    wait_until(lambda: browser.evaluate(f"{row}.querySelector('td.resp').textContent") != "—", 15,
               "the failing message's last response")
    cells = browser.evaluate(f"[...{row}.querySelectorAll('td')].map(c => c.textContent)")
    assert "dead" in cells and int(cells[5]) >= 1, cells
    shots(browser, "notifications", "zh")

    # The monthly report: the API's figures, and its CSV downloaded with the page's credentials.
    _, report = daemon.get("/api/v1/reports/monthly?month=" + browser.evaluate("document.getElementById('rp-month').value"))
    browser.evaluate("location.hash = 'reports'")
    kpi = "document.querySelector('[data-kpi=opened] .kpi-n')"
    wait_until(lambda: browser.evaluate(f"!!{kpi}"), 15, "the report on the page")
    assert browser.evaluate(f"{kpi}.textContent") == str(report["statistics"]["opened"]) == "1"
    text = browser.evaluate("document.getElementById('rp-body').textContent")
    assert report["majorHazards"][0]["dangerCode"] in text and "液氨储罐区" in text
    browser.evaluate("document.querySelector('[data-rp-download=csv]').click()")
    wait_until(lambda: browser.evaluate("window.dgDownloads.length") == 1, 10, "the CSV downloaded")
    got = browser.evaluate("window.dgDownloads[0]")
    assert got["name"].endswith(".csv") and got["size"] > 100 and got["type"].startswith("text/csv"), got
    shots(browser, "reports", "zh")

    browser.evaluate("document.getElementById('lang-toggle').click()")
    assert browser.evaluate("document.documentElement.lang") == "en"
    assert browser.evaluate("document.querySelector('#view-reports h2').textContent") == "Monthly report"
    assert "major (red)" in browser.evaluate("document.getElementById('rp-body').textContent")
    shots(browser, "reports", "en")
    browser.evaluate("location.hash = 'notifications'")
    wait_until(lambda: "delivered" in browser.evaluate(
        "(r => r ? r.textContent : '')(document.querySelector('#nt-rows tr[data-state=delivered]'))"), 10, "English rows")
    shots(browser, "notifications", "en")
    assert json.dumps(browser.evaluate("window.dgDownloads[0].name")).startswith('"dualguard-report-')


if __name__ == "__main__":
    sys.exit(run_tests([test_notifications_and_reports]))
