#!/usr/bin/python3
"""The web dashboard served by the real daemon (--dashboard), rendered by headless Chromium
against the real API: a breach leaves an alarm, a hazard and a raised risk unit, and the
rendered page shows them in zh-CN by default and in English with ?lang=en. When the API stops
answering, the page keeps the last data but marks it stale. Acknowledging from the page (driven
over the DevTools protocol) shows 401/403 and acknowledges with the operator's token. The alarm
summary live: a new alarm without reload and with sound, silence, first out, acknowledge all,
shelve/unshelve, refusals in the page's language, filters kept over a reload, no horizontal
scroll at 360 and 412 px, the language switch; screenshots under build/test-artefacts/dashboard.
Also the static files' content types, 404 and refused traversal."""
import http.client
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.request

import base64

from dgtest import BUILD_DIR, SOURCE_DIR, run_tests, start_plant, wait_until
from test_ledger_closed_loop import CONFIG, breach

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT_DIR = os.path.join(BUILD_DIR, "test-artefacts", "dashboard")
DASHBOARD_DIR = os.path.join(SOURCE_DIR, "dashboards")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]  # containers often have a small /dev/shm
ZHAO = "  - {{ id: zhao, name: 赵安全员, roles: [safety_director] }}\n"
assert ZHAO in CONFIG
# The closed-loop plant plus an operator, who may acknowledge alarms (the others may not).
PLANT = CONFIG.replace(ZHAO, ZHAO + "  - {{ id: zhang, name: 张操作员, roles: [operator] }}\n")
# The page as the demo serves it: reads open to this machine, so the page shows data untokened.
assert "daemon: {{ " in PLANT
OPEN_READS = PLANT.replace("daemon: {{ ", "daemon: {{ http: {{ open_reads_on_loopback: true }}, ")


def setup(workdir, cleanup, template=OPEN_READS):
    broker, sink, daemon = start_plant(workdir, cleanup, template, extra_args=["--dashboard", DASHBOARD_DIR])
    return broker, daemon


def plant_with_alarms(workdir, cleanup, template=OPEN_READS):
    """GT101 breached and back (RTN_UNACK, general hazard); GT102 still high (UNACK, major hazard:
    unit U01 red on its open major hazard)."""
    broker, daemon = setup(workdir, cleanup, template)
    breach(daemon, broker, "t/gt101", "R-GT101-H")
    broker.publish("t/gt102", '{"value": 30}')
    wait_until(lambda: daemon.alarm("R-GT102-H")["state"] == "UNACK", 15, "R-GT102-H unacknowledged")
    wait_until(lambda: len(daemon.get("/api/v1/hazards")[1]["hazards"]) == 2, 15, "two hazards")
    wait_until(lambda: daemon.get("/api/v1/risk-map")[1]["units"][0]["cause"] == "major_hazard", 15,
               "U01 raised by its major hazard")
    return daemon


def render(workdir, url, name):
    """The DOM after the page ran for 8 s of virtual time, from a fresh browser profile."""
    profile = os.path.join(workdir, "chromium-" + name)
    args = [CHROMIUM, *CHROMIUM_ARGS, "--user-data-dir=" + profile, "--virtual-time-budget=8000", "--dump-dom", url]
    with open(os.path.join(workdir, f"chromium-{name}.log"), "w") as log:
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=log, timeout=90)
    shutil.rmtree(profile, ignore_errors=True)
    assert r.returncode == 0, f"chromium exited {r.returncode}"
    dom = r.stdout.decode("utf-8")
    with open(os.path.join(workdir, f"dom-{name}.html"), "w", encoding="utf-8") as f:
        f.write(dom)
    return dom


def element(dom, tag, attr, value):
    """Opening tag and inner HTML of the first <tag> whose attr equals value."""
    m = re.search(rf'<{tag}\b([^>]*\b{attr}="{re.escape(value)}"[^>]*)>(.*?)</{tag}>', dom, re.S)
    assert m, f"no <{tag} {attr}={value!r}> in the rendered page"
    return m.group(1), m.group(2)


def text(fragment):
    return re.sub(r"<[^>]+>", " ", fragment)


def classes(opening):
    m = re.search(r'\bclass="([^"]*)"', opening)
    return set(m.group(1).split()) if m else set()


def is_hidden(opening):
    return re.search(r"\shidden(\s|=|$)", opening) is not None


def need_chromium():
    if os.path.exists(CHROMIUM):
        return True
    print(f"SKIP: {CHROMIUM} is absent (scripts/install-deps.sh installs it); the rendered page is not checked",
          flush=True)
    return False


def check_static_files(daemon):
    base = f"http://127.0.0.1:{daemon.port}"
    for path, ctype, marker in [("/", "text/html; charset=utf-8", "<title>"),
                                ("/index.html", "text/html; charset=utf-8", 'src="app.js"'),
                                ("/app.js", "text/javascript; charset=utf-8", "/api/v1/alarms"),
                                ("/app.css", "text/css; charset=utf-8", "--r-red")]:
        with urllib.request.urlopen(base + path, timeout=5) as r:
            body = r.read().decode("utf-8")
            assert r.status == 200 and r.headers["Content-Type"] == ctype, (path, r.headers["Content-Type"])
            assert marker in body, path
    # The API keeps its own routes under the dashboard's "/".
    assert daemon.get("/api/v1/alarms")[0] == 200
    # Unknown files and every way out of the directory answer 404 without the file.
    for raw in ["/nope.html", "/../README.md", "/%2e%2e/README.md", "/x/../../README.md", "/..%2fREADME.md"]:
        conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=5)
        conn.putrequest("GET", raw, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        conn.close()
        assert resp.status == 404, (raw, resp.status)
        assert "dualguard" not in body, raw


def test_static_files_and_page_in_chinese(workdir, cleanup):
    daemon = plant_with_alarms(workdir, cleanup)
    check_static_files(daemon)
    if not need_chromium():
        return
    dom = render(workdir, f"http://127.0.0.1:{daemon.port}/", "zh")
    assert '<html lang="zh-CN">' in dom
    # Risk map: the unit's tile in its current colour, the assessed level beside it and the cause.
    tile, inner = element(dom, "article", "data-unit", "U01")
    assert {"tile", "lvl-red", "raised"} <= classes(tile), tile
    assert "1#液氨储罐" in inner and "重大风险" in text(inner)
    chip, chip_text = element(inner, "span", "data-level", "yellow")
    assert "lvl-yellow" in classes(chip) and chip_text == "一般风险"
    assert 'data-cause="major_hazard"' in inner and "重大隐患" in inner and 'href="#hazards/2"' in inner
    # The unit's active alarms (GT102; GT101 has returned) and open hazards as counts; its owner by name.
    assert 'data-count="alarms">报警 1<' in inner and 'data-count="hazards">隐患 2<' in inner, inner
    assert "储运车间 · 李主任" in inner
    assert re.search(r'data-level="red"><span class="count-n">1</span>', dom), "one red unit counted"
    src, src_inner = element(dom, "tr", "data-source", "HS01")
    assert "液氨储罐区" in src_inner and "三级" in src_inner and "13.5" in src_inner
    # Live alarms: highest priority first; the unacknowledged one with its state and an ack button.
    row, inner = element(dom, "tr", "data-rule", "R-GT102-H")
    assert {"alarm", "prio-high", "st-UNACK"} <= classes(row) and 'data-state="UNACK"' in row
    assert "未确认" in inner and "装卸区氨气检测器" in inner and "30 %LEL" in inner and "高" in inner
    assert "1#液氨储罐" in inner and "装卸区气体检测有效" in inner  # the unit and the measure by name
    assert 'data-ack="' in inner and ">确认<" in inner
    row, inner = element(dom, "tr", "data-rule", "R-GT101-H")
    assert "st-RTN_UNACK" in classes(row) and "已恢复未确认" in inner
    assert dom.index('data-rule="R-GT102-H"') < dom.index('data-rule="R-GT101-H"')
    badge, count = element(dom, "span", "id", "badge-alarms")
    assert count == "2" and not is_hidden(badge)
    # Hazard ledger: both hazards, state 整改中, level and source in words.
    hazards = daemon.get("/api/v1/hazards")[1]["hazards"]
    for hz in hazards:
        row, inner = element(dom, "tr", "data-code", hz["code"])
        assert "hstate-0" in classes(row) and "整改中" in inner and "管控措施失效" in inner
        assert ("重大隐患" if hz["danger_level"] else "一般隐患") in inner
        assert "李主任" in text(inner) and 'data-person="li"' in inner and "overdue" not in inner
    # Inspections: the inspected measure's task and a monitored one, pending.
    row, inner = element(dom, "tr", "data-measure", "M03")
    assert "pending" in classes(row) and "每 15 天" in inner and "待排查" in inner and ">隐患排查<" in inner
    _, inner = element(dom, "tr", "data-measure", "M01")
    assert ">自动化监控<" in inner and "有毒气体检测报警器有效投用" in inner
    # Live data: no stale banner, an update time.
    banner, _ = element(dom, "div", "id", "stale-banner")
    assert is_hidden(banner) and "is-stale" not in dom
    assert re.search(r'id="updated"[^>]*>更新于 ', dom)


class FlakyApi(http.server.ThreadingHTTPServer):
    """Serves the dashboard files and relays the API to the daemon until the page polls the
    alarms a second time; from then on the API answers 503, as if the daemon had gone."""
    daemon_threads = True

    def __init__(self, daemon_port):
        self.daemon_port = daemon_port
        self.alarm_polls = 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), FlakyHandler)


class FlakyHandler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=DASHBOARD_DIR, **kwargs)

    def log_message(self, *args):
        pass

    def do_GET(self):
        if not self.path.startswith("/api/"):
            return super().do_GET()
        with self.server.lock:
            if self.path.startswith("/api/v1/alarms"):
                self.server.alarm_polls += 1
            up = self.server.alarm_polls <= 1
        if not up:
            self.send_error(503)
            return
        with urllib.request.urlopen(f"http://127.0.0.1:{self.server.daemon_port}{self.path}", timeout=5) as r:
            body = r.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_english_hazard_detail_and_stale_data(workdir, cleanup):
    if not need_chromium():
        return
    daemon = plant_with_alarms(workdir, cleanup)
    hid = daemon.get("/api/v1/hazards")[1]["hazards"][-1]["id"]
    dom = render(workdir, f"http://127.0.0.1:{daemon.port}/?lang=en#hazards/{hid}", "en")
    assert '<html lang="en">' in dom
    assert ">Live alarms<" in dom and ">Hazard ledger<" in dom and ">Four-colour risk map<" in dom
    _, inner = element(dom, "article", "data-unit", "U01")
    assert "Major (red)" in inner and "General (yellow)" in inner and "major hazard" in inner
    _, inner = element(dom, "tr", "data-rule", "R-GT102-H")
    assert "Unacknowledged" in inner and "High" in inner and ">Ack<" in inner
    _, inner = element(dom, "tr", "data-state", "0")
    assert "Rectifying" in inner and "Control measure failed" in inner
    _, inner = element(dom, "tr", "data-measure", "M01")
    assert "automated monitoring" in inner and "every 15 day(s)" in inner
    # The hash opened the hazard's detail panel with its journal timeline.
    panel, inner = element(dom, "aside", "id", "hazard-detail")
    assert not is_hidden(panel)
    code = daemon.get(f"/api/v1/hazards/{hid}")[1]["code"]
    assert code in inner and "Timeline" in inner
    _, entry_inner = element(inner, "li", "data-action", "register")
    assert "system" in entry_inner and "registered" in entry_inner and "Rectifying" in entry_inner
    section_open = re.search(r'<section id="view-hazards"[^>]*>', dom).group(0)
    assert not is_hidden(section_open), section_open

    # When the API stops answering, the last data stays on screen greyed out and marked stale.
    relay = FlakyApi(daemon.port)
    threading.Thread(target=relay.serve_forever, daemon=True).start()
    cleanup.append(relay.server_close)
    cleanup.append(relay.shutdown)
    dom = render(workdir, f"http://127.0.0.1:{relay.server_address[1]}/", "stale")
    assert relay.alarm_polls >= 2
    banner, msg = element(dom, "div", "id", "stale-banner")
    assert not is_hidden(banner) and "数据已过期" in msg and "最后更新" in msg, banner + msg
    assert re.search(r'<body[^>]*class="[^"]*\bis-stale\b', dom)
    # The last data stays on screen (greyed out by the is-stale class), not a blank page.
    element(dom, "tr", "data-rule", "R-GT102-H")


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (fd 3 in, fd 4 out; messages
    are JSON separated by NUL bytes), one page attached; evaluate() runs JavaScript in it."""

    def __init__(self, workdir):
        self.profile = os.path.join(workdir, "chromium-cdp")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        self.log = open(os.path.join(workdir, "chromium-cdp.log"), "w")
        shell = f'exec 3<&{to_chrome_r} 4>&{from_chrome_w} {to_chrome_r}<&- {from_chrome_w}>&- && exec "$0" "$@"'
        self.proc = subprocess.Popen(["/bin/bash", "-c", shell, CHROMIUM, *CHROMIUM_ARGS,
                                      "--user-data-dir=" + self.profile, "--remote-debugging-pipe", "about:blank"],
                                     pass_fds=(to_chrome_r, from_chrome_w), stdout=self.log, stderr=self.log)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.next_id = 0
        self.replies = {}
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def _read(self):
        buf = b""
        while True:
            chunk = os.read(self.from_chrome, 65536)
            if not chunk:
                break
            buf += chunk
            *messages, buf = buf.split(b"\0")
            for raw in messages:
                msg = json.loads(raw)
                if "id" in msg:
                    with self.cond:
                        self.replies[msg["id"]] = msg
                        self.cond.notify_all()

    def call(self, method, session=None, **params):
        with self.cond:
            self.next_id += 1
            mid = self.next_id
        msg = {"id": mid, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode("utf-8") + b"\0")
        with self.cond:
            assert self.cond.wait_for(lambda: mid in self.replies, 30), f"no answer to {method}"
            reply = self.replies.pop(mid)
        assert "error" not in reply, reply
        return reply["result"]

    def screenshot(self, name, width, height):
        """A PNG of the page at width x height, kept under the build dir as a test artefact."""
        self.call("Emulation.setDeviceMetricsOverride", self.session, width=width, height=height,
                  deviceScaleFactor=1, mobile=width < 800)
        data = self.call("Page.captureScreenshot", self.session, format="png")["data"]
        os.makedirs(SCREENSHOT_DIR, exist_ok=True)
        path = os.path.join(SCREENSHOT_DIR, name + ".png")
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def resize(self, width, height):
        self.call("Emulation.setDeviceMetricsOverride", self.session, width=width, height=height,
                  deviceScaleFactor=1, mobile=width < 800)

    def goto(self, url):
        self.call("Page.navigate", self.session, url=url)

    def evaluate(self, expression):
        r = self.call("Runtime.evaluate", self.session, expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in r, r
        return r["result"].get("value")

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        os.close(self.to_chrome)
        self.reader.join(10)  # ends at the end of chromium's output
        if not self.reader.is_alive():
            os.close(self.from_chrome)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def test_page_asks_for_a_token_to_read(workdir, cleanup):
    """Without open reads the page gets 401, shows its login form, and reads with a token given
    under Settings (as a machine's screen would)."""
    if not need_chromium():
        return
    daemon = plant_with_alarms(workdir, cleanup, PLANT)
    browser = Browser(workdir)
    cleanup.append(browser.close)
    browser.goto(f"http://127.0.0.1:{daemon.port}/#alarms")
    row = 'document.querySelector(\'tr[data-rule="R-GT102-H"]\')'
    wait_until(lambda: "401" in browser.evaluate("document.getElementById('message').textContent"), 15,
               "the page to ask for a login")
    assert not browser.evaluate("document.getElementById('login').hidden")
    assert not browser.evaluate(f"!!{row}")
    browser.evaluate(f"document.getElementById('token-input').value = {json.dumps(daemon.token('zhao'))};"
                     "document.getElementById('token-form').requestSubmit()")
    wait_until(lambda: browser.evaluate(f"!!{row}"), 15, "the alarms read with the token")


def test_acknowledge_from_the_page(workdir, cleanup):
    if not need_chromium():
        return
    daemon = plant_with_alarms(workdir, cleanup)
    browser = Browser(workdir)
    cleanup.append(browser.close)
    browser.goto(f"http://127.0.0.1:{daemon.port}/#alarms")
    ack_button = 'document.querySelector(\'tr[data-rule="R-GT102-H"] button.ack\')'
    wait_until(lambda: browser.evaluate(f"!!{ack_button}"), 15, "the alarm row with its ack button")

    def message():
        return browser.evaluate("(m => m.hidden ? '' : m.textContent)(document.getElementById('message'))")

    def use_token(token):
        browser.evaluate(f"document.getElementById('token-input').value = {json.dumps(token)};"
                         "document.getElementById('token-form').requestSubmit()")

    def ack(comment):
        browser.evaluate(f"{ack_button}.click()")
        assert browser.evaluate("document.getElementById('ack-dialog').open"), message()
        browser.evaluate(f"document.getElementById('ack-comment').value = {json.dumps(comment)};"
                         "document.querySelector('#ack-form button[value=ok]').click()")

    # Signed in by neither login nor token, the page asks for a login and sends nothing.
    browser.evaluate(f"{ack_button}.click()")
    assert "登录" in message() and not browser.evaluate("document.getElementById('ack-dialog').open")
    assert not browser.evaluate("document.getElementById('login').hidden")
    # A wrong token: 401 on the page; a person without an acknowledging role: 403.
    use_token("0" * 64)
    ack("试一下")
    wait_until(lambda: "401" in message(), 10, "the 401 shown")
    use_token(daemon.token("zhao"))
    ack("试一下")
    wait_until(lambda: "403" in message(), 10, "the 403 shown")
    assert daemon.alarm("R-GT102-H")["state"] == "UNACK"
    # The operator's token acknowledges, with the comment, and the row turns steady.
    token = daemon.token("zhang")
    use_token(token)
    ack("已通知现场巡检")
    wait_until(lambda: daemon.alarm("R-GT102-H")["state"] == "ACKED", 10, "R-GT102-H acknowledged")
    a = daemon.alarm("R-GT102-H")
    assert a["ack_user"] == "zhang" and a["ack_comment"] == "已通知现场巡检", a
    wait_until(lambda: browser.evaluate(
        'document.querySelector(\'tr[data-rule="R-GT102-H"]\').dataset.state') == "ACKED", 10, "row ACKED")
    assert not browser.evaluate(f"!!{ack_button}")
    assert "已确认" in browser.evaluate('document.querySelector(\'tr[data-rule="R-GT102-H"] .state\').textContent')
    # The token lives in the tab's sessionStorage only.
    assert browser.evaluate("sessionStorage.getItem('dg.token')") == token
    assert token not in browser.evaluate("JSON.stringify(Object.entries(localStorage))")



LIVE_ROW = 'document.querySelector(\'#alarm-rows tr[data-rule="{}"]\')'


def test_alarm_summary_live(workdir, cleanup):
    """A live alarm appears without a reload and requests sound; the live value moves while the
    value at activation stays; the first of a burst on one unit is marked; acknowledge all
    visible with one comment; shelve and see it leave the live list, unshelve; an action refused
    answers in the page's language; the language switch; no horizontal scroll at phone widths.
    Screenshots land in build/test-artefacts/dashboard."""
    if not need_chromium():
        return
    broker, daemon = setup(workdir, cleanup)
    browser = Browser(workdir)
    cleanup.append(browser.close)
    browser.resize(1600, 1000)
    browser.goto(f"http://127.0.0.1:{daemon.port}/#alarms")
    wait_until(lambda: browser.evaluate("typeof app === 'object' && !!app.lastOk"), 15, "the page polled")
    browser.evaluate("localStorage.removeItem('dg.alarmPrefs'); window.loadedOnce = 1")
    browser.evaluate(f"document.getElementById('token-input').value = {json.dumps(daemon.token('zhang'))};"
                     "document.getElementById('token-form').requestSubmit()")
    assert browser.evaluate("window.dgSound.requests") == 0

    def row(rule):
        return LIVE_ROW.format(rule)

    def message():
        return browser.evaluate("(m => m.hidden ? '' : m.textContent)(document.getElementById('message'))")

    # A new high alarm shows up by itself, and the page asks for sound.
    broker.publish("t/gt102", '{"value": 30}')
    wait_until(lambda: browser.evaluate(f"!!{row('R-GT102-H')}"), 15, "the live alarm on the page")
    assert browser.evaluate("window.loadedOnce") == 1, "the page reloaded"
    wait_until(lambda: browser.evaluate("window.dgSound.requests") >= 1, 10, "sound requested")
    assert browser.evaluate("window.dgSound.last") == "high"
    assert not browser.evaluate("document.getElementById('alarm-silence').disabled")
    # Live value beside the value at activation.
    broker.publish("t/gt102", '{"value": 35.5}')
    wait_until(lambda: "35.5 %LEL" in browser.evaluate(f"{row('R-GT102-H')}.querySelector('td.live').textContent"),
               10, "the live value")
    cells = browser.evaluate(f"[...{row('R-GT102-H')}.querySelectorAll('td.num')].map(c => c.textContent)")
    assert cells[1] == "30 %LEL" and cells[2] == "25 %LEL", cells
    # A second alarm on the same unit within the burst: the first one carries the first-out mark.
    broker.publish("t/gt101", '{"value": 30}')
    wait_until(lambda: browser.evaluate(f"!!{row('R-GT101-H')}"), 15, "the second alarm")
    wait_until(lambda: browser.evaluate(f"!!{row('R-GT102-H')}.querySelector('.first-out')"), 5, "first-out mark")
    assert not browser.evaluate(f"!!{row('R-GT101-H')}.querySelector('.first-out')")
    # Priority by shape and text as well as colour; only the symbol blinks.
    assert browser.evaluate(f"getComputedStyle({row('R-GT102-H')}.querySelector('.prio-sym')).animationName") == "blink"
    assert browser.evaluate(f"getComputedStyle({row('R-GT102-H')}.querySelector('.prio-text')).animationName") == "none"
    # Silence stops the sound owed so far; a later activation (GT101 escalating to critical) sounds again.
    browser.evaluate("document.getElementById('alarm-silence').click()")
    assert browser.evaluate("document.getElementById('alarm-silence').disabled")
    before = browser.evaluate("window.dgSound.requests")
    broker.publish("t/gt101", '{"value": 55}')
    wait_until(lambda: browser.evaluate("window.dgSound.requests") > before, 10, "the escalation sounding")
    assert browser.evaluate("window.dgSound.last") == "critical"
    assert not browser.evaluate("document.getElementById('alarm-silence').disabled")
    browser.screenshot("alarms-zh-1600", 1600, 1000)

    # Acknowledge all visible, one comment.
    browser.evaluate("document.getElementById('alarm-ack-visible').click()")
    assert browser.evaluate("document.getElementById('ack-dialog').open")
    assert "2" in browser.evaluate("document.getElementById('ack-title').textContent")
    browser.evaluate("document.getElementById('ack-comment').value = '现场已确认';"
                     "document.querySelector('#ack-form button[value=ok]').click()")
    for rule in ("R-GT101-H", "R-GT102-H"):
        wait_until(lambda: daemon.alarm(rule)["state"] == "ACKED", 10, f"{rule} acknowledged")
        assert daemon.alarm(rule)["ack_comment"] == "现场已确认"
    wait_until(lambda: "已确认 2 条报警" in message(), 10, "the result in Chinese")
    assert browser.evaluate("document.getElementById('alarm-silence').disabled"), "sound stops once acknowledged"

    # Shelve GT101: its durations stop at the priority's maximum; it leaves the live list.
    browser.evaluate(f"{row('R-GT101-H')}.querySelector('button.shelve').click()")
    assert browser.evaluate("document.getElementById('shelve-dialog').open")
    options = browser.evaluate("[...document.getElementById('shelve-minutes').options].map(o => +o.value)")
    api_max = daemon.alarm("R-GT101-H")["max_shelve_minutes"]
    assert options and max(options) == api_max, (options, api_max)
    browser.evaluate("document.getElementById('shelve-reason').value = '检测器标定';"
                     "document.getElementById('shelve-minutes').value = '15';"
                     "document.querySelector('#shelve-form button[value=ok]').click()")
    wait_until(lambda: daemon.alarm("R-GT101-H")["state"] == "SHELVED", 10, "shelved")
    assert daemon.alarm("R-GT101-H")["shelve_reason"] == "检测器标定"
    wait_until(lambda: not browser.evaluate(f"!!{row('R-GT101-H')}"), 10, "the shelved alarm left the live list")
    assert browser.evaluate(f"!!{row('R-GT102-H')}")
    # A refused action answers in Chinese, not with the server's English 409.
    browser.evaluate("unshelve(app.data.alarms.find(a => a.rule === 'R-GT102-H'))")
    wait_until(lambda: "未被搁置" in message(), 10, "the refusal in Chinese")
    assert "not" not in message() and "409" not in message()
    # The shelved view holds it, with an unshelve button; unshelving brings it back.
    browser.evaluate("document.querySelector('[data-alarm-view=silenced]').click()")
    assert browser.evaluate(f"{row('R-GT101-H')}.dataset.state") == "SHELVED"
    assert "检测器标定" in browser.evaluate(f"{row('R-GT101-H')}.textContent")
    browser.screenshot("alarms-shelved-zh-1600", 1600, 1000)
    browser.evaluate(f"{row('R-GT101-H')}.querySelector('button.unshelve').click()")
    wait_until(lambda: daemon.alarm("R-GT101-H")["state"] != "SHELVED", 10, "unshelved")
    browser.evaluate("document.querySelector('[data-alarm-view=live]').click()")
    wait_until(lambda: browser.evaluate(f"!!{row('R-GT101-H')}"), 10, "back in the live list")
    # Filters survive a reload.
    browser.evaluate("(s => { s.value = 'high'; s.dispatchEvent(new Event('change')); })(document.getElementById('f-prio'))")
    browser.call("Page.reload", browser.session)
    wait_until(lambda: browser.evaluate("typeof app === 'object' && !!app.lastOk && !window.loadedOnce"), 15, "reloaded")
    assert browser.evaluate("document.getElementById('f-prio').value") == "high"
    browser.evaluate("(s => { s.value = 'all'; s.dispatchEvent(new Event('change')); })(document.getElementById('f-prio'))")

    # Phones: no horizontal scrolling on the alarm list, the ledger and the inspections.
    for width, height in ((412, 915), (360, 780)):
        for view in ("alarms", "hazards", "inspections", "risk"):
            browser.resize(width, height)
            browser.evaluate(f"location.hash = '{view}'")
            wait_until(lambda: browser.evaluate(f"!document.getElementById('view-{view}').hidden"), 5, view)
            scroll = browser.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert scroll[0] <= scroll[1], (view, width, scroll)
            if width == 412:
                browser.screenshot(f"{view}-zh-412", width, height)

    # The language switch: the page and its messages in English.
    browser.resize(1600, 1000)
    browser.evaluate("location.hash = 'alarms'; document.getElementById('lang-toggle').click()")
    assert browser.evaluate("document.documentElement.lang") == "en"
    assert browser.evaluate("document.querySelector('#view-alarms h2').textContent") == "Live alarms"
    assert "Acknowledged" in browser.evaluate(f"{row('R-GT102-H')}.querySelector('.state').textContent")
    browser.evaluate("unshelve(app.data.alarms.find(a => a.rule === 'R-GT102-H'))")
    wait_until(lambda: "is not shelved" in message(), 10, "the refusal in English")
    browser.screenshot("alarms-en-1600", 1600, 1000)
    for view in ("alarms", "hazards", "inspections"):
        browser.evaluate(f"location.hash = '{view}'")
        browser.screenshot(f"{view}-en-412", 412, 915)
        scroll = browser.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll[0] <= scroll[1], (view, "en", scroll)
    browser.resize(1600, 1000)
    browser.evaluate("location.hash = 'risk'")
    browser.screenshot("risk-en-1600", 1600, 1000)


if __name__ == "__main__":
    sys.exit(run_tests([
        test_static_files_and_page_in_chinese,
        test_english_hazard_detail_and_stale_data,
        test_page_asks_for_a_token_to_read,
        test_acknowledge_from_the_page,
        test_alarm_summary_live,
    ]))
