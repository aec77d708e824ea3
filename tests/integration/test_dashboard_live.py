#!/usr/bin/python3
"""The dashboard on the daemon's event stream, in headless Chromium over the DevTools protocol,
with polling set to ten minutes so that only the push can explain what changes: a new alarm
appears without a reload and requests sound, its live value moves, the hazard it opened reaches
the ledger and the risk map; the stream is read with the page's bearer token (reads closed to
loopback clients); when the daemon goes away the page says its data is stale."""
import sys
import json
import signal

from dgtest import run_tests, wait_until
from test_dashboard import PLANT, Browser, need_chromium, setup

LONG_POLL = "?poll=600000"
ROW = 'document.querySelector(\'#alarm-rows tr[data-rule="{}"]\')'


def open_page(browser, daemon, token):
    browser.resize(1600, 1000)
    browser.goto(f"http://127.0.0.1:{daemon.port}/{LONG_POLL}#alarms")
    wait_until(lambda: browser.evaluate("typeof app === 'object' && app.ready === true"), 15, "the page")
    browser.evaluate(f"document.getElementById('token-input').value = {json.dumps(token)};"
                     "document.getElementById('token-form').requestSubmit()")
    wait_until(lambda: browser.evaluate("!!app.lastOk && window.dgLive.open"), 20, "data loaded and the stream open")
    browser.evaluate("window.loadedOnce = 1")


def test_live_alarm_without_reload(workdir, cleanup):
    if not need_chromium():
        return
    broker, daemon = setup(workdir, cleanup, PLANT)  # reads need a token, also from loopback
    browser = Browser(workdir)
    cleanup.append(browser.close)
    open_page(browser, daemon, daemon.token("zhang"))
    assert browser.evaluate("window.dgSound.requests") == 0
    assert "实时推送" in browser.evaluate("document.getElementById('updated').textContent")
    polls = browser.evaluate("app.tick")

    broker.publish("t/gt102", '{"value": 30}')
    wait_until(lambda: browser.evaluate(f"!!{ROW.format('R-GT102-H')}"), 15, "the alarm on the page")
    assert browser.evaluate("window.loadedOnce") == 1, "the page reloaded"
    assert browser.evaluate("app.tick") == polls, "a poll ran: the push is not what showed the alarm"
    wait_until(lambda: browser.evaluate("window.dgSound.requests") >= 1, 10, "sound requested")
    assert browser.evaluate("window.dgSound.last") == "high"
    # The live value follows the point events; the value at activation stays.
    broker.publish("t/gt102", '{"value": 35.5}')
    wait_until(lambda: "35.5" in browser.evaluate(f"{ROW.format('R-GT102-H')}.querySelector('td.live').textContent"),
               10, "the live value pushed")
    # The hazard it opened is in the ledger, and its unit is red on the map, without a poll.
    wait_until(lambda: browser.evaluate("(app.data.hazards || []).length") == 1, 10, "the hazard pushed")
    wait_until(lambda: browser.evaluate("app.data.riskMap.units[0].current.level") == "red", 10, "the unit red")
    assert browser.evaluate("app.tick") == polls
    browser.screenshot("live-alarm-zh-1600", 1600, 1000)

    # The daemon gone: the stream ends, the fallback poll fails, the page says the data is stale.
    daemon.stop(signal.SIGKILL)
    wait_until(lambda: not browser.evaluate("document.getElementById('stale-banner').hidden"), 15, "stale shown")
    assert browser.evaluate("document.body.classList.contains('is-stale')")
    assert not browser.evaluate("window.dgLive.open")


if __name__ == "__main__":
    sys.exit(run_tests([test_live_alarm_without_reload]))
