#!/usr/bin/python3
"""Posts (岗位) with a real daemon: in the model API, edited through it with the audit trail and
refused with the field named when they name what does not exist; inspection tasks assigned by
the measure's control level, listed per person (?mine=1) and completed only by the assignee or a
deputy, each with their own token; the post's 岗位风险告知卡 printed by headless
Chromium to PDF (its Chinese text read back by pdftotext) and to a PNG kept under
build/test-artefacts/posts, whose QR code zbarimg decodes to the post's signed phone link."""
import os
import shutil
import subprocess
import sys

from dgtest import BUILD_DIR, db_rows, run_tests, start_daemon, wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
ARTEFACT_DIR = os.path.join(BUILD_DIR, "test-artefacts", "posts")

CONFIG = """
site: { code: "T-0001", name: 测试化工有限公司 }
daemon: { public_url: "https://dg.example.cn/plant/" }
persons:
  - { id: wang, name: 王工, roles: [engineer] }
  - { id: zhang, name: 张工, phone: "+8613800000001", roles: [operator] }
  - { id: zhao, name: 赵工, roles: [operator] }
  - { id: li, name: 李主任, roles: [workshop_director] }
  - { id: sun, name: 孙工, roles: [operator] }
hazard_sources:
  - id: HS1
    name: 液氨罐区
    units:
      - id: U1
        name: 1#储罐
        responsible: { dept: 储运车间, person: li }
        events:
          - id: E1
            name: 液氨泄漏中毒
            accident_type: 中毒和窒息
            lec: { l: 3, e: 6, c: 40 }
            measures:
              - { id: M1, desc: 罐区巡检，法兰及阀门无泄漏, classify: "3-1", data_src: 2, control_level: 岗位 }
              - { id: M2, desc: 正压式空气呼吸器完好，泄漏时佩戴后关闭根部阀, classify: "4-1", data_src: 2, control_level: 班组,
                  responsible: { person: li } }
              - { id: M3, desc: 有毒气体报警器每月校验, classify: "2-1", data_src: 2, control_level: 车间,
                  responsible: { person: wang } }
      - id: U2
        name: 装卸区
        events:
          - id: E2
            name: 装卸软管破裂泄漏
            accident_type: 中毒和窒息
            ls: { l: 2, s: 2 }
            measures:
              - { id: M4, desc: 装卸前检查软管, classify: "3-2", data_src: 2, control_level: 部门 }
posts:
  - id: P1
    name: 罐区操作工
    units: [U1]
    persons: [zhang]
    deputies: [zhao]
    events: [E1]
    emergency_phones: [ { name: 火警, phone: "119" }, { name: 急救, phone: "120" } ]
"""


def model_posts(daemon):
    st, body = daemon.get("/api/v1/model")
    assert st == 200, (st, body)
    return {p["id"]: p for p in body["posts"]}


def test_posts_in_the_model_api(workdir, cleanup):
    daemon = start_daemon(workdir, cleanup, CONFIG, start=False)
    engineer, operator = daemon.token("wang"), daemon.token("zhang")
    daemon.start()
    p1 = model_posts(daemon)["P1"]
    assert p1 == {"id": "P1", "name": "罐区操作工", "units": ["U1"], "persons": ["zhang"], "deputies": ["zhao"],
                  "events": ["E1"], "emergency_phones": [{"name": "火警", "phone": "119"},
                                                         {"name": "急救", "phone": "120"}], "duties": []}, p1

    post = {"id": "P2", "name": "装卸工", "units": ["U2"], "persons": ["zhao"], "events": ["E2"]}
    assert daemon.call("POST", "/api/v1/model/posts", post, token=operator)[0] == 403
    st, r = daemon.call("POST", "/api/v1/model/posts", dict(post, parent="U2"), token=engineer)
    assert st == 400 and r["field"] == "parent", (st, r)
    st, r = daemon.call("POST", "/api/v1/model/posts", dict(post, units=["U9"]), token=engineer)
    assert st == 400 and r["field"] == "posts[1].units[0]" and "unknown unit 'U9'" in r["error"], (st, r)
    st, r = daemon.call("POST", "/api/v1/model/posts", dict(post, events=["E1"]), token=engineer)
    assert st == 400 and "event 'E1' is in unit 'U1'" in r["error"], (st, r)
    st, r = daemon.call("POST", "/api/v1/model/posts", post, token=engineer)
    assert st == 201 and r["units"] == ["U2"] and r["persons"] == ["zhao"], (st, r)
    st, r = daemon.call("PUT", "/api/v1/model/posts/P2", {"persons": ["zhao", "zhang"]}, token=engineer)
    assert st == 200 and r["persons"] == ["zhao", "zhang"], (st, r)
    st, r = daemon.call("PUT", "/api/v1/model/posts/P1", {"deputies": ["nobody"]}, token=engineer)
    assert st == 400 and "unknown person 'nobody'" in r["error"], (st, r)
    assert model_posts(daemon)["P2"]["persons"] == ["zhao", "zhang"]

    st, audit = daemon.call("GET", "/api/v1/model/audit?kind=posts", token=engineer)
    assert st == 200 and [(e["op"], e["entity"], e["actor"]) for e in audit["edits"]] == \
        [("create", "P2", "wang"), ("update", "P2", "wang")], audit
    assert audit["edits"][1]["before"]["persons"] == ["zhao"], audit
    assert audit["edits"][1]["after"]["persons"] == ["zhao", "zhang"], audit

    # In force after a restart (the journal is replayed), and deleted like the rest.
    assert daemon.stop() == 0
    daemon.start()
    assert model_posts(daemon)["P2"]["persons"] == ["zhao", "zhang"]
    assert daemon.call("DELETE", "/api/v1/model/posts/P2", None, token=engineer)[0] == 200
    assert "P2" not in model_posts(daemon)
    assert db_rows(daemon.db_path, "SELECT count(*) AS n FROM model_edits WHERE kind = 'post'")[0]["n"] == 3
    assert daemon.stop() == 0


def tasks(daemon, token, query="mine=1&status=all"):
    st, body = daemon.call("GET", "/api/v1/inspections?" + query, token=token)
    assert st == 200, (st, body)
    return {t["measure"]: t for t in body["inspections"]}


def test_inspection_tasks_by_assignment(workdir, cleanup):
    daemon = start_daemon(workdir, cleanup, CONFIG, start=False)
    tok = {p: daemon.token(p) for p in ("wang", "zhang", "zhao", "li", "sun")}
    daemon.start()
    wait_until(lambda: len(tasks(daemon, tok["sun"], "status=all")) == 4, 20, "the tasks of the four measures")
    every = tasks(daemon, tok["sun"], "status=all")
    assert set(every) == {"M1", "M2", "M3", "M4"}, every
    assert every["M1"]["assigned"] == {"posts": ["P1"], "person": None, "by": None, "ms": None}, every["M1"]   # 岗位: the post
    assert every["M2"]["assigned"] == {"posts": [], "person": "li", "by": None, "ms": None}, every["M2"]       # 班组: the measure's
    assert every["M3"]["assigned"] == {"posts": [], "person": "wang", "by": None, "ms": None}, every["M3"]     # 车间: the measure's
    assert every["M4"]["assigned"] == {"posts": [], "person": None, "by": None, "ms": None}, every["M4"]       # nobody named: anyone
    assert daemon.call("GET", "/api/v1/inspections?mine=1", token="")[0] == 401
    mine = {p: sorted(tasks(daemon, t)) for p, t in tok.items()}
    assert mine == {"wang": ["M3"], "zhang": ["M1"], "zhao": ["M1"], "li": ["M2"], "sun": []}, mine

    def complete(person, measure):
        return daemon.call("POST", f"/api/v1/inspections/{int(every[measure]['id'])}/complete",
                           {"check_status": 0, "note": "巡检正常"}, token=tok[person])

    st, r = complete("sun", "M1")
    assert st == 403 and "assigned to 岗位 post P1" in r["error"] and "只有被分配人或其代理人" in r["error"], (st, r)
    assert complete("zhang", "M2")[0] == 403        # li's task
    assert complete("li", "M3")[0] == 403           # wang's
    assert complete("zhao", "M1")[0] == 200         # the post's deputy
    assert complete("wang", "M2")[0] == 403         # a higher role is not an assignee
    assert complete("li", "M2")[0] == 200
    assert complete("sun", "M4")[0] == 200          # unassigned: anyone who inspects
    assert complete("wang", "M3")[0] == 200
    done = {r["measure"]: r["checker"] for r in db_rows(daemon.db_path, "SELECT measure, checker FROM inspection_tasks"
                                                          " WHERE check_status IS NOT NULL")}
    assert done == {"M1": "zhao", "M2": "li", "M3": "wang", "M4": "sun"}, done
    assert tasks(daemon, tok["zhang"])["M1"]["checker"] == "zhao"
    assert tasks(daemon, tok["zhang"], "mine=1") == {}   # pending only by default
    assert daemon.stop() == 0


def chromium(workdir, name, *args):
    profile = os.path.join(workdir, "chromium-" + name)
    with open(os.path.join(workdir, f"chromium-{name}.log"), "w") as log:
        r = subprocess.run([CHROMIUM, *CHROMIUM_ARGS, "--user-data-dir=" + profile, *args], stdout=log,
                           stderr=subprocess.STDOUT, timeout=120)
    shutil.rmtree(profile, ignore_errors=True)
    assert r.returncode == 0, f"chromium exited {r.returncode}"


def run(*args):
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (args, r.stderr)
    return r.stdout


def test_post_risk_card(workdir, cleanup):
    for tool in (CHROMIUM, shutil.which("pdftotext"), shutil.which("zbarimg")):
        assert tool and os.path.exists(tool), "scripts/install-deps.sh installs chromium, poppler-utils, zbar-tools"
    daemon = start_daemon(workdir, cleanup, CONFIG, start=False)
    token = daemon.token("zhang")
    daemon.start()
    st, ctype, html = daemon.request("GET", "/api/v1/posts/P1/card", token=token)
    assert st == 200 and ctype.startswith("text/html"), (st, ctype)
    assert daemon.request("GET", "/api/v1/posts/P9/card", token=token)[0] == 404
    page = os.path.join(workdir, "card-P1.html")
    with open(page, "wb") as f:
        f.write(html)

    pdf = os.path.join(workdir, "card-P1.pdf")
    chromium(workdir, "pdf", "--no-pdf-header-footer", "--print-to-pdf=" + pdf, "file://" + page)
    info = run("pdfinfo", pdf)
    assert "Pages:           1" in info and "(A4)" in info, f"the card is one A4 page: {info}"
    text = "".join(run("pdftotext", "-raw", pdf, "-").split())  # content order: cell by cell
    for want in ("岗位风险告知卡", "测试化工有限公司", "罐区操作工", "1#储罐", "液氨泄漏中毒", "重大风险", "中毒和窒息",
                 "罐区巡检，法兰及阀门无泄漏", "有毒气体报警器每月校验", "正压式空气呼吸器完好", "张工", "赵工",
                 "火警119", "急救120", "扫码查看本岗位风险告知卡"):
        assert want in text, f"{want!r} not in the PDF's text: {text}"

    os.makedirs(ARTEFACT_DIR, exist_ok=True)
    png = os.path.join(ARTEFACT_DIR, "card-P1.png")
    chromium(workdir, "png", "--hide-scrollbars", "--window-size=794,1123", "--force-device-scale-factor=2",
             "--screenshot=" + png, "file://" + page)
    shutil.copy(pdf, os.path.join(ARTEFACT_DIR, "card-P1.pdf"))
    link = daemon.get("/api/v1/posts/P1/link")[1]
    assert link["card"] == "https://dg.example.cn/plant/api/v1/posts/P1/card", link
    assert run("zbarimg", "--raw", "-q", png).strip() == link["url"], link  # the signed phone link (test_cards.py)
    assert link["url"].startswith("https://dg.example.cn/plant/p/"), link
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_posts_in_the_model_api, test_inspection_tasks_by_assignment, test_post_risk_card]))
