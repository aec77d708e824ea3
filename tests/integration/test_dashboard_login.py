#!/usr/bin/python3
"""Logging in from the dashboard in headless Chromium against the real daemon (reads not open):
the page shows the login form in zh-CN or English, a wrong password is answered in the page's
language, the right one signs the person in through an HttpOnly cookie the page cannot read,
the page then reads and acknowledges with it, and logging out ends the session. Screenshots at
1600 and 412 px in both languages under build/test-artefacts/dashboard."""
import subprocess
import sys

from dgtest import DAEMON, run_tests, wait_until
from test_dashboard import PLANT, Browser, need_chromium, setup
from test_ledger_closed_loop import breach

PASSWORD = "张工的密码-2026"


def js(browser, expr):
    return browser.evaluate(expr)


def submit(browser, name, password):
    js(browser, f"document.getElementById('login-name').value = {name!r};"
                f"document.getElementById('login-password').value = {password!r};"
                "document.getElementById('login-form').requestSubmit()")


def status(browser):
    return js(browser, "document.getElementById('login-status').textContent")


def no_sideways_scroll(browser, what):
    scroll = js(browser, "[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll[0] <= scroll[1], (what, scroll)


def test_login_from_the_page(workdir, cleanup):
    if not need_chromium():
        return
    broker, daemon = setup(workdir, cleanup, PLANT)
    r = subprocess.run([DAEMON, "-c", daemon.config_path, "--db", daemon.db_path, "--create-account", "zhang"],
                       input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    breach(daemon, broker, "t/gt101", "R-GT101-H")

    browser = Browser(workdir)
    cleanup.append(browser.close)
    browser.resize(1600, 1000)
    browser.goto(f"http://127.0.0.1:{daemon.port}/#alarms")
    wait_until(lambda: js(browser, "typeof app === 'object' && !document.getElementById('login').hidden"), 15,
               "the login form")
    assert js(browser, "document.documentElement.lang") == "zh-CN"
    assert js(browser, "document.querySelector('#login h2').textContent") == "登录"
    assert js(browser, "app.me") is None and not js(browser, "app.lastOk")
    wait_until(lambda: js(browser, "document.getElementById('stale-banner').textContent") == "需要登录后才能查看数据", 10,
               "the banner saying a login is needed")
    browser.screenshot("login-zh-1600", 1600, 1000)

    submit(browser, "zhang", "not-my-password")
    wait_until(lambda: status(browser) == "登录名或密码错误。", 20, "the refusal in Chinese")
    submit(browser, "zhang", PASSWORD)
    wait_until(lambda: js(browser, "app.me && app.me.id") == "zhang", 20, "signed in")
    assert js(browser, "app.me.auth") == "session"
    assert js(browser, "document.getElementById('login').hidden")
    assert not js(browser, "document.getElementById('logout').hidden")
    # The session cookie is HttpOnly: the page's scripts never see it.
    assert "dg_session" not in js(browser, "document.cookie")
    wait_until(lambda: js(browser, "!!app.lastOk && (app.data.alarms || []).length > 0"), 15, "data read in session")
    browser.screenshot("login-signed-in-zh-1600", 1600, 1000)
    # A change from the page's own button: the browser sends the cookie and its Origin.
    ack_button = 'document.querySelector(\'tr[data-rule="R-GT101-H"] button.ack\')'
    wait_until(lambda: js(browser, f"!!{ack_button}"), 15, "the ack button")
    js(browser, f"{ack_button}.click()")
    assert js(browser, "document.getElementById('ack-dialog').open")
    js(browser, "document.getElementById('ack-comment').value = '页面登录确认';"
                "document.querySelector('#ack-form button[value=ok]').click()")
    a = wait_until(lambda: (a := daemon.alarm("R-GT101-H"))["ack_user"] and a, 10, "acknowledged")
    assert a["ack_user"] == "zhang" and a["ack_comment"] == "页面登录确认", a

    js(browser, "document.getElementById('logout').click()")
    wait_until(lambda: js(browser, "app.me === null && !document.getElementById('login').hidden"), 15, "logged out")
    assert js(browser, "fetch('/api/v1/whoami').then(r => r.status)") == 401

    # English, and a phone's width, with nothing wider than the screen.
    js(browser, "document.getElementById('lang-toggle').click()")
    assert js(browser, "document.querySelector('#login h2').textContent") == "Log in"
    submit(browser, "zhang", "still-not-it")
    wait_until(lambda: status(browser) == "Wrong login name or password.", 20, "the refusal in English")
    browser.screenshot("login-en-1600", 1600, 1000)
    browser.resize(412, 915)
    no_sideways_scroll(browser, "en 412")
    browser.screenshot("login-en-412", 412, 915)
    js(browser, "document.getElementById('lang-toggle').click()")
    assert status(browser) == "登录名或密码错误。"  # the form's message follows the language
    no_sideways_scroll(browser, "zh 412")
    browser.screenshot("login-zh-412", 412, 915)
    submit(browser, "zhang", PASSWORD)
    wait_until(lambda: js(browser, "app.me && app.me.id") == "zhang", 20, "signed in at 412 px")
    wait_until(lambda: js(browser, "!app.failing && document.getElementById('stale-banner').hidden"), 15,
               "fresh data in session")
    no_sideways_scroll(browser, "zh 412 signed in")
    browser.screenshot("login-signed-in-zh-412", 412, 915)
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_login_from_the_page]))
