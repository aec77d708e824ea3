#!/usr/bin/python3
"""The printed documents with a real daemon, each rendered by headless Chromium to PDF (its
Chinese text read back by pdftotext) and to a PNG kept under build/test-artefacts/cards: the
应急处置卡 of a post and of a unit, whose steps are word for word what the alarm list and the
alarm notification give as what to do now; the 应知应会卡; the 安全风险公告栏 of the site and of a
unit with assessed and current colours and the responsible persons' phones; the three lists as
XLSX read back by openpyxl against the model and the ledger, and as pages; the rectification
notice issued on assignment, numbered without reuse across a restart. The QR code of a card
decodes (zbarimg) to the post's signed link, which opens that post's cards without a token and
nothing else, and stops working once revoked."""
import io
import os
import re
import shutil
import sys
import time

import openpyxl

from dgtest import BUILD_DIR, run_tests, start_plant, wait_connected, wait_until
from test_posts import CHROMIUM, chromium, run

ARTEFACT_DIR = os.path.join(BUILD_DIR, "test-artefacts", "cards")
PUBLIC = "https://dg.example.cn/plant/"
STEPS = ["立即佩戴正压式空气呼吸器", "关闭罐根部紧急切断阀", "启动水喷淋并疏散下风向人员", "拨打119并报告值班领导"]
TODO = "；".join(f"{i + 1}. {s}" for i, s in enumerate(STEPS))

CONFIG = """
site: {{ code: "T-0002", name: 测试化工有限公司 }}
daemon: {{ public_url: "https://dg.example.cn/plant/" }}
persons:
  - {{ id: wang, name: 王工, phone: "13900000001", roles: [engineer] }}
  - {{ id: zhang, name: 张工, phone: "13800000001", roles: [operator] }}
  - {{ id: li, name: 李主任, phone: "13700000001", roles: [workshop_director] }}
hazard_sources:
  - id: HS1
    name: 液氨罐区
    units:
      - id: U1
        name: 1#储罐
        responsible: {{ dept: 储运车间, person: li }}
        events:
          - id: E1
            name: 液氨泄漏中毒
            accident_type: 中毒和窒息
            lec: {{ l: 3, e: 6, c: 40 }}
            emergency: [{steps}]
            measures:
              - {{ id: M1, desc: 氨气检测报警器有效投用, classify: "1-4", data_src: 1, responsible: {{ person: wang }} }}
              - {{ id: M2, desc: 罐区巡检法兰无泄漏, classify: "3-1", data_src: 2, troubleshoot: 检查法兰和阀门,
                  control_level: 岗位 }}
      - id: U2
        name: 装卸区
        responsible: {{ dept: 储运车间, person: zhang }}
        events:
          - id: E2
            name: 装卸软管破裂
            accident_type: 其他爆炸
            ls: {{ l: 2, s: 2 }}
            measures:
              - {{ id: M3, desc: 装卸区压力监测, classify: "1-1", data_src: 1 }}
              - {{ id: M4, desc: 泄漏时关闭紧急切断阀, classify: "4-1", data_src: 2, troubleshoot: 检查切断阀 }}
posts:
  - id: P1
    name: 罐区操作工
    units: [U1]
    persons: [zhang]
    events: [E1]
    duties: [负责罐区巡检, 发现泄漏立即报告]
    emergency_phones: [ {{ name: 火警, phone: "119" }}, {{ name: 值班室, phone: "0371-1234567" }} ]
  - id: P2
    name: 装卸工
    units: [U2]
    persons: [zhang]
    events: [E2]
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{mqtt_port}", client_id: dg-cards-{mqtt_port}, qos: 1 }}
points:
  - {{ id: GT1, name: 罐区氨气, unit_id: U1, eng_unit: ppm, driver: mqtt.main, topic: t/gt1 }}
  - {{ id: PT2, name: 装卸压力, unit_id: U2, eng_unit: MPa, driver: mqtt.main, topic: t/pt2 }}
rules:
  - {{ id: R1, type: high, point: GT1, measure: M1, stages: [ {{ name: H, limit: 20, priority: high }} ] }}
  - {{ id: R2, type: high, point: PT2, measure: M3, stages: [ {{ name: H, limit: 2, priority: high }} ] }}
channels:
  - {{ id: hook, type: webhook, url: "http://127.0.0.1:{hook_port}/hook", timeout: 2s }}
policies:
  - {{ id: all, priorities: [low, medium, high, critical], channels: [hook] }}
""".replace("{steps}", ", ".join(STEPS))


def page(daemon, path, token=None):
    st, ctype, body = daemon.request("GET", path, token=token)
    assert st == 200 and ctype.startswith("text/html"), (path, st, body[:300])
    return body


def render(workdir, name, html, size=(794, 1123), url=None):
    """The page (or `url` itself) printed to PDF (text and page count returned) and screenshot to a kept PNG."""
    src = os.path.join(workdir, name + ".html")
    with open(src, "wb") as f:
        f.write(html)
    src = url or "file://" + src
    pdf = os.path.join(workdir, name + ".pdf")
    chromium(workdir, name + "-pdf", "--no-pdf-header-footer", "--print-to-pdf=" + pdf, src)
    os.makedirs(ARTEFACT_DIR, exist_ok=True)
    png = os.path.join(ARTEFACT_DIR, name + ".png")
    chromium(workdir, name + "-png", "--hide-scrollbars", f"--window-size={size[0]},{size[1]}",
             "--force-device-scale-factor=2", "--screenshot=" + png, src)
    shutil.copy(pdf, os.path.join(ARTEFACT_DIR, name + ".pdf"))
    text = "".join(run("pdftotext", "-raw", pdf, "-").split())
    return text, run("pdfinfo", pdf), png


def assert_in_order(text, wants, what):
    at = 0
    for w in wants:
        i = text.find(w, at)
        assert i >= 0, f"{what}: {w!r} missing or out of order in {text}"
        at = i + len(w)


def start(workdir, cleanup):
    for tool in (CHROMIUM, shutil.which("pdftotext"), shutil.which("zbarimg")):
        assert tool and os.path.exists(tool), "scripts/install-deps.sh installs chromium, poppler-utils, zbar-tools"
    broker, sink, daemon = start_plant(workdir, cleanup, CONFIG, start=False)
    for p in ("wang", "zhang", "li"):
        daemon.token(p)
    daemon.start()
    wait_connected(daemon)
    return broker, sink, daemon


def test_emergency_card_is_what_alarms_say(workdir, cleanup):
    broker, sink, daemon = start(workdir, cleanup)
    broker.publish("t/gt1", "35")
    alarm = wait_until(lambda: (a := daemon.alarm("R1"))["state"] == "UNACK" and a, 15, "alarm R1")
    st, alarms = daemon.get("/api/v1/alarms")
    assert next(a for a in alarms["alarms"] if a["rule"] == "R1")["response"] == TODO, alarms
    body = sink.wait_for(lambda r: r)[0]["body"]
    assert body["todo"] == TODO and body["text_zh"].endswith("处置：" + TODO), body
    assert body["text_en"].endswith("Do now: " + TODO), body
    # A measure whose event has no steps of its own takes its 应急措施 measures (E2 → M4).
    broker.publish("t/pt2", "3")
    wait_until(lambda: daemon.alarm("R2")["state"] == "UNACK", 15, "alarm R2")
    r2 = next(a for a in daemon.get("/api/v1/alarms")[1]["alarms"] if a["rule"] == "R2")
    assert r2["response"] == "泄漏时关闭紧急切断阀", r2

    html = page(daemon, "/api/v1/posts/P1/emergency-card")
    text, info, png = render(workdir, "emergency-P1", html)
    assert "Pages:           1" in info and "(A4)" in info, info
    assert_in_order(text, ["应急处置卡", "测试化工有限公司", "罐区操作工", "液氨泄漏中毒", "重大风险", "中毒和窒息"] + STEPS +
                    ["火警119", "值班室0371-1234567"], "post emergency card")
    assert zbar(png).startswith(PUBLIC + "p/"), zbar(png)
    text, _, _ = render(workdir, "emergency-U2", page(daemon, "/api/v1/units/U2/emergency-card"))
    assert_in_order(text, ["应急处置卡", "装卸区", "装卸软管破裂", "泄漏时关闭紧急切断阀"], "unit emergency card")
    assert daemon.request("GET", "/api/v1/units/U9/emergency-card")[0] == 404
    assert alarm["id"]
    assert daemon.stop() == 0


def zbar(png):
    return run("zbarimg", "--raw", "-q", png).strip()


def test_knowledge_card_and_boards(workdir, cleanup):
    broker, sink, daemon = start(workdir, cleanup)
    broker.publish("t/pt2", "3")  # a high-priority alarm raises U2 (blue) to orange now
    wait_until(lambda: daemon.alarm("R2")["state"] == "UNACK", 15, "alarm R2")
    text, info, png = render(workdir, "knowledge-P1", page(daemon, "/api/v1/posts/P1/knowledge-card"))
    assert "Pages:           1" in info, info
    assert_in_order(text, ["应知应会卡", "罐区操作工", "负责罐区巡检", "发现泄漏立即报告", "液氨泄漏中毒", "罐区巡检法兰无泄漏",
                           "检查法兰和阀门"] + STEPS, "knowledge card")
    assert zbar(png).startswith(PUBLIC + "p/")

    text, info, png = render(workdir, "board-site", page(daemon, "/api/v1/board"), size=(1587, 1123))
    assert "(A3)" in info and "Pages:           1" in info, info
    assert_in_order(text, ["安全风险公告栏", "测试化工有限公司", "1#储罐", "重大风险", "重大风险", "液氨泄漏中毒", "李主任",
                           "13700000001", "王工", "13900000001", "装卸区", "低风险", "较大风险", "装卸软管破裂", "张工",
                           "13800000001"], "site board")
    assert zbar(png) == PUBLIC
    text, info, png = render(workdir, "board-U1", page(daemon, "/api/v1/units/U1/board"), size=(1123, 794))
    assert "安全风险公告栏" in text and "1#储罐" in text and "装卸区" not in text, text
    assert zbar(png).startswith(PUBLIC + "p/")
    assert daemon.stop() == 0


def local(url, daemon):
    """The public URL as the daemon behind the reverse proxy sees it."""
    assert url.startswith(PUBLIC), url
    return "/" + url[len(PUBLIC):]


def test_qr_link_opens_the_card_without_a_token(workdir, cleanup):
    broker, sink, daemon = start(workdir, cleanup)
    _, _, png = render(workdir, "card-P1", page(daemon, "/api/v1/posts/P1/card"))
    url = zbar(png)
    assert re.fullmatch(re.escape(PUBLIC) + r"p/[A-Za-z0-9_-]{24}", url), url
    st, link = daemon.get("/api/v1/posts/P1/link")
    assert link["url"] == url and link["generation"] == 0, link
    path = local(url, daemon)
    public = page(daemon, path, token="")
    assert "岗位风险告知卡".encode() in public and "罐区操作工".encode() in public, public[:300]
    assert "装卸工".encode() not in public and "13800000001".encode() not in public
    for sub in ("/knowledge-card", "/emergency-card"):
        assert "罐区操作工".encode() in page(daemon, path + sub, token="")
    # A browser without a token, served by the daemon (its CSP lets the page's own styles apply).
    # A4 only when the page's style applied; the links are for the screen, not the print.
    text, info, _ = render(workdir, "phone-P1", public, size=(412, 900), url=f"http://127.0.0.1:{daemon.port}{path}")
    assert "(A4)" in info and "Pages:           1" in info, info
    assert "液氨泄漏中毒" in text and "上报隐患" not in text, text
    assert "上报隐患".encode() in public and "我的任务".encode() in public
    # Nothing else through it, and nothing without a token elsewhere.
    for other in (path + "/board", path + "/../api/v1/model", path[:-1] + ("A" if path[-1] != "A" else "B"),
                  "/p/" + "x" * 24):
        assert daemon.request("GET", other, token="")[0] == 404, other
    for api in ("/api/v1/posts/P1/card", "/api/v1/posts/P1/link", "/api/v1/model", "/api/v1/board"):
        assert daemon.request("GET", api, token="")[0] == 401, api
    p2 = daemon.get("/api/v1/posts/P2/link")[1]["url"]
    assert p2 != url and "装卸工".encode() in page(daemon, local(p2, daemon), token="")

    # Revoked: the printed code stops working; the next prints carry the new one, kept across a restart.
    assert daemon.call("POST", "/api/v1/posts/P1/link/revoke", {}, actor="zhang")[0] == 403
    st, r = daemon.call("POST", "/api/v1/posts/P1/link/revoke", {}, actor="wang")
    assert st == 200 and r["generation"] == 1 and r["url"] != url, (st, r)
    assert daemon.request("GET", path, token="")[0] == 404
    assert daemon.stop() == 0
    daemon.start()
    assert daemon.get("/api/v1/posts/P1/link")[1]["url"] == r["url"]
    assert "罐区操作工".encode() in page(daemon, local(r["url"], daemon), token="")
    assert daemon.request("GET", path, token="")[0] == 404
    assert daemon.stop() == 0


def xlsx(daemon, name):
    st, ctype, body = daemon.request("GET", f"/api/v1/lists/{name}.xlsx")
    assert st == 200 and ctype.startswith("application/vnd.openxmlformats"), (st, ctype, body[:200])
    ws = openpyxl.load_workbook(io.BytesIO(body)).active
    rows = [[c if c is not None else "" for c in r] for r in ws.iter_rows(values_only=True)]
    return rows[1], [dict(zip(rows[1], r)) for r in rows[2:]]


def test_lists_and_rectification_notices(workdir, cleanup):
    broker, sink, daemon = start(workdir, cleanup)
    model = daemon.get("/api/v1/model")[1]
    events = [e for s in model["hazard_sources"] for u in s["units"] for e in u["events"]]

    heads, risks = xlsx(daemon, "risks")
    assert heads[:4] == ["序号", "风险分析对象", "风险单元", "风险事件"], heads
    assert [(r["风险事件"], r["风险等级"]) for r in risks] == [(e["name"], e["level_zh"]) for e in events], risks
    assert risks[0]["应急处置"] == TODO and risks[0]["责任人"] == "李主任", risks[0]
    assert risks[1]["风险值"] == "4" and risks[1]["管控措施"] == "1. 装卸区压力监测", risks[1]
    _, duties = xlsx(daemon, "duties")
    assert [r["管控措施"] for r in duties] == [m["desc"] for e in events for m in e["measures"]], duties
    assert (duties[0]["措施责任人"], duties[0]["岗位"], duties[2]["单元责任人"]) == ("王工", "罐区操作工", "张工"), duties

    st, r = daemon.post("/api/v1/hazards", {"description": "2#罐根部阀门渗漏", "danger_src": 1, "unit": "U1"}, actor="zhang")
    assert st == 201, (st, r)
    hid = r["id"]
    numbers = []
    for who in ("zhang", "wang"):
        st, a = daemon.post(f"/api/v1/hazards/{hid}/assign", {"assignee": who, "rectify_measures": "更换阀门填料"},
                            actor="li")
        assert st == 200 and a["action"] == "assign", (st, a)
        numbers.append(a["notice"])
    year = time.localtime().tm_year
    assert numbers == [f"ZG-{year}-0001", f"ZG-{year}-0002"], numbers
    assert "notice" not in daemon.post(f"/api/v1/hazards/{hid}/rectify", {"comment": "已处理"}, actor="wang")[1]
    assert daemon.stop() == 0
    daemon.start()
    st, r2 = daemon.post("/api/v1/hazards", {"description": "消防通道堵塞", "danger_src": 1, "unit": "U2"}, actor="zhang")
    st, a = daemon.post(f"/api/v1/hazards/{r2['id']}/assign", {"assignee": "zhang"}, actor="li")
    assert st == 200 and a["notice"] == f"ZG-{year}-0003", (st, a)
    listed = daemon.get("/api/v1/notices")[1]["notices"]
    assert [n["number"] for n in listed] == numbers + [a["notice"]], listed
    assert [n["number"] for n in daemon.get(f"/api/v1/notices?hazard={hid}")[1]["notices"]] == numbers

    text, info, png = render(workdir, "notice", page(daemon, "/api/v1/notices/" + numbers[0]))
    assert "Pages:           1" in info and "(A4)" in info, info
    assert_in_order(text, ["隐患整改通知书", numbers[0], "张工", "一般隐患", "1#储罐", "2#罐根部阀门渗漏", "更换阀门填料",
                           "李主任"], "notice")
    assert zbar(png) == PUBLIC + "#hazards"
    assert daemon.request("GET", "/api/v1/notices/ZG-1999-0001")[0] == 404

    heads, hazards = xlsx(daemon, "hazards")
    st, ledger = daemon.get("/api/v1/hazards")
    by_code = {h["code"]: h for h in ledger["hazards"]}
    assert sorted(r["隐患编号"] for r in hazards) == sorted(by_code), (hazards, by_code)
    first = next(r for r in hazards if r["隐患描述"] == "2#罐根部阀门渗漏")
    assert (first["风险单元"], first["整改状态"], first["整改人"], first["隐患等级"]) == ("1#储罐", "整改中", "王工", "一般隐患"), first

    for name, title, want in (("risks", "风险清单", "液氨泄漏中毒"), ("hazards", "隐患清单", "消防通道堵塞"),
                              ("duties", "责任清单", "装卸区压力监测")):
        text, info, _ = render(workdir, "list-" + name, page(daemon, f"/api/v1/lists/{name}.html"), size=(1587, 1123))
        assert title in text and want in text, (name, text)
    assert daemon.request("GET", "/api/v1/lists/people.xlsx")[0] == 404
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_emergency_card_is_what_alarms_say, test_knowledge_card_and_boards,
                        test_qr_link_opens_the_card_without_a_token, test_lists_and_rectification_notices]))
