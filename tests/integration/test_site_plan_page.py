#!/usr/bin/python3
"""The four-colour map on the site plan in headless Chromium against the real daemon: an
engineer uploads the plan from the page, draws a unit's polygon by clicking on it, drags a vertex
and saves; the unit shows in its current colour with its level in words, and turns orange
without a reload when an alarm raises it. Screenshots at 1600 and 412 px in zh-CN and English,
and the printable A3 page printed to PDF (its text read back with pdftotext) and rendered to
PNG, all under build/test-artefacts/site-plan."""
import json
import os
import re
import shutil
import subprocess
import sys

from dgtest import BUILD_DIR, run_tests, wait_until
from test_dashboard import CHROMIUM, CHROMIUM_ARGS, Browser, need_chromium, setup
from test_site_plan import OPEN_READS, site_plan_png

ARTEFACTS = os.path.join(BUILD_DIR, "test-artefacts", "site-plan")
RISK_RGB = {"red": "rgb(168, 65, 63)", "orange": "rgb(184, 115, 58)", "yellow": "rgb(181, 161, 68)",
            "blue": "rgb(63, 109, 158)"}
POLY = 'document.querySelector(\'#plan-map .plan-unit[data-unit="{}"]\')'


def shot(browser, name, width, height):
    path = browser.screenshot(name, width, height)
    os.makedirs(ARTEFACTS, exist_ok=True)
    shutil.move(path, os.path.join(ARTEFACTS, name + ".png"))


def phone_shot(browser, name):
    """The map at 412 px: nothing wider than the screen; a screenshot."""
    browser.resize(412, 915)
    browser.evaluate("document.getElementById('plan').scrollIntoView()")
    scroll = browser.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll[0] <= scroll[1], (name, scroll)
    # The unit's name stays legible on the narrow map (at least 10 CSS px high).
    wait_until(lambda: browser.evaluate(f"{POLY.format('U01')}.querySelector('tspan').getBoundingClientRect().height")
               >= 10, 5, "legible labels at 412 px")
    shot(browser, name, 412, 915)


def click_at(browser, x, y):
    """A real mouse press and release at viewport coordinates (CSS pixels)."""
    for ev in ("mousePressed", "mouseReleased"):
        browser.call("Input.dispatchMouseEvent", browser.session, type=ev, x=x, y=y, button="left", clickCount=1)


def drag(browser, x0, y0, x1, y1):
    browser.call("Input.dispatchMouseEvent", browser.session, type="mousePressed", x=x0, y=y0, button="left",
                 clickCount=1)
    for i in range(1, 6):
        browser.call("Input.dispatchMouseEvent", browser.session, type="mouseMoved", x=x0 + (x1 - x0) * i / 5,
                     y=y0 + (y1 - y0) * i / 5, button="left", buttons=1)
    browser.call("Input.dispatchMouseEvent", browser.session, type="mouseReleased", x=x1, y=y1, button="left",
                 clickCount=1)


def to_screen(browser, x, y):
    """Viewport coordinates of image pixel (x, y) on the map as drawn now."""
    return browser.evaluate(f"""(() => {{
      const svg = document.querySelector('#plan-map svg'), p = svg.createSVGPoint();
      p.x = {x}; p.y = {y};
      const q = p.matrixTransform(svg.getScreenCTM());
      return [q.x, q.y];
    }})()""")


def set_file(browser, selector, path):
    doc = browser.call("DOM.getDocument", browser.session)["root"]["nodeId"]
    node = browser.call("DOM.querySelector", browser.session, nodeId=doc, selector=selector)["nodeId"]
    browser.call("DOM.setFileInputFiles", browser.session, nodeId=node, files=[path])


def print_pdf(workdir, url, name):
    """The page printed by headless Chromium; returns its text (pdftotext) and page size (pdfinfo)."""
    os.makedirs(ARTEFACTS, exist_ok=True)
    pdf = os.path.join(ARTEFACTS, name + ".pdf")
    profile = os.path.join(workdir, "chromium-print-" + name)
    args = [CHROMIUM, *CHROMIUM_ARGS, "--user-data-dir=" + profile, "--virtual-time-budget=10000",
            "--no-pdf-header-footer", "--print-to-pdf=" + pdf, url]
    with open(os.path.join(workdir, f"chromium-{name}.log"), "w") as log:
        r = subprocess.run(args, stdout=log, stderr=log, timeout=120)
    shutil.rmtree(profile, ignore_errors=True)
    assert r.returncode == 0 and os.path.exists(pdf), f"chromium exited {r.returncode}"
    text = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True, check=True).stdout
    info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, check=True).stdout
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", pdf, os.path.join(ARTEFACTS, name)], check=True)
    return text, info


def test_draw_save_colour_and_print(workdir, cleanup):
    if not need_chromium():
        return
    broker, daemon = setup(workdir, cleanup, OPEN_READS)
    plan_file = os.path.join(workdir, "site-plan.png")
    with open(plan_file, "wb") as f:
        f.write(site_plan_png())
    browser = Browser(workdir)
    cleanup.append(browser.close)
    browser.resize(1600, 1000)
    browser.goto(f"http://127.0.0.1:{daemon.port}/?lang=zh#risk")
    wait_until(lambda: browser.evaluate("typeof app === 'object' && !!app.lastOk"), 15, "the page polled")
    # Read only: no editing offered, and the page says no plan is uploaded.
    assert browser.evaluate("document.getElementById('plan-edit-toggle').hidden")
    assert "尚未上传" in browser.evaluate("document.getElementById('plan-none').textContent")
    # The engineer signs in, opens the editor and uploads the plan from the page.
    browser.evaluate(f"document.getElementById('token-input').value = {json.dumps(daemon.token('wang'))};"
                     "document.getElementById('token-form').requestSubmit()")
    wait_until(lambda: not browser.evaluate("document.getElementById('plan-edit-toggle').hidden"), 10, "edit offered")
    browser.evaluate("document.getElementById('plan-edit-toggle').click()")
    set_file(browser, "#plan-file", plan_file)
    wait_until(lambda: browser.evaluate("!!document.querySelector('#plan-map svg image[href^=\"blob:\"]')"), 15,
               "the uploaded plan on the page")
    assert daemon.get("/api/v1/site-plan")[1]["image"]["width"] == 1200
    assert "1200 × 800" in browser.evaluate("document.getElementById('message').textContent")

    # Draw U01 around the left building: four clicks, then drag the last vertex into place.
    browser.evaluate("(s => { s.value = 'U01'; s.dispatchEvent(new Event('change')); })(document.getElementById('plan-unit'))")
    browser.evaluate("document.getElementById('plan-map').scrollIntoView()")
    for x, y in ((80, 80), (520, 80), (520, 360), (200, 300)):
        click_at(browser, *to_screen(browser, x, y))
    assert browser.evaluate("document.querySelectorAll('#plan-map .plan-vertex').length") == 4
    drag(browser, *to_screen(browser, 200, 300), *to_screen(browser, 80, 360))
    shot(browser, "plan-edit-zh-1600", 1600, 1000)
    browser.evaluate("document.getElementById('plan-save').click()")
    wait_until(lambda: daemon.get("/api/v1/site-plan")[1]["units"][0]["points"] is not None, 10, "the polygon saved")
    pts = daemon.get("/api/v1/site-plan")[1]["units"][0]["points"]
    want = [(80, 80), (520, 80), (520, 360), (80, 360)]
    assert len(pts) == 4 and all(abs(p[0] - w[0]) <= 2 and abs(p[1] - w[1]) <= 2 for p, w in zip(pts, want)), pts
    # Leaving the editor, the unit is drawn in its current colour (yellow), the level in words.
    browser.evaluate("document.getElementById('plan-edit-toggle').click()")
    wait_until(lambda: browser.evaluate(f"!!{POLY.format('U01')}"), 10, "U01 on the map")
    fill = f"getComputedStyle({POLY.format('U01')}.querySelector('.plan-poly')).fill"
    assert browser.evaluate(fill) == RISK_RGB["yellow"], browser.evaluate(fill)
    assert "一般风险" in browser.evaluate(f"{POLY.format('U01')}.querySelector('.plan-label').textContent")
    assert "评估等级：一般风险" in browser.evaluate(f"{POLY.format('U01')}.querySelector('title').textContent")
    legend = browser.evaluate("document.querySelector('.plan-legend').textContent")
    assert "一般风险 1" in legend and "重大风险 0" in legend, legend
    assert "装卸站台" in browser.evaluate("document.getElementById('plan-legend-box').textContent")  # not placed
    shot(browser, "plan-zh-1600-yellow", 1600, 1000)

    # An alarm raises U01 to orange; the map follows without a reload; a tap tells why.
    browser.evaluate("window.loadedOnce = 1")
    broker.publish("t/gt101", '{"value": 30}')
    wait_until(lambda: browser.evaluate(fill) == RISK_RGB["orange"], 15, "U01 orange on the map")
    assert browser.evaluate("window.loadedOnce") == 1
    wait_until(lambda: "报警 1 · 隐患 1" in browser.evaluate(f"{POLY.format('U01')}.textContent"), 15, "counts")
    assert "raised" in browser.evaluate(f"{POLY.format('U01')}.getAttribute('class')")
    browser.evaluate(f"{POLY.format('U01')}.dispatchEvent(new MouseEvent('click', {{bubbles: true}}))")
    info = browser.evaluate("document.getElementById('plan-info').textContent")
    assert "当前等级：较大风险" in info and "评估等级：一般风险" in info and "升级原因：报警" in info, info
    shot(browser, "plan-zh-1600", 1600, 1000)
    phone_shot(browser, "plan-zh-412")
    browser.resize(1600, 1000)
    browser.evaluate("document.getElementById('lang-toggle').click()")
    assert "Significant (orange)" in browser.evaluate(f"{POLY.format('U01')}.textContent")
    assert browser.evaluate("document.querySelector('#plan-title').textContent") == "Four-colour risk map of the site"
    browser.evaluate("document.getElementById('plan').scrollIntoView()")
    shot(browser, "plan-en-1600", 1600, 1000)
    phone_shot(browser, "plan-en-412")

    # The wall version: A3 landscape, title, enterprise, date, legend and units in words.
    for lang, words in (("zh", ["风险四色空间分布图", "测试化工", "打印时间", "较大风险", "1#液氨储罐", "图例", "低风险", "储运车间", "李主任"]),
                        ("en", ["Four-colour risk map of the site", "Printed", "Significant (orange)", "Legend"])):
        text, info = print_pdf(workdir, f"http://127.0.0.1:{daemon.port}/plan-print.html?lang={lang}", f"plan-print-{lang}")
        for w in words:
            assert w in text, (lang, w, text)
        size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
        assert size and abs(float(size.group(1)) - 1190.55) < 2 and abs(float(size.group(2)) - 841.89) < 2, info
        assert re.search(r"Pages:\s+1\n", info), info


if __name__ == "__main__":
    sys.exit(run_tests([test_draw_save_colour_and_print]))
