#!/usr/bin/python3
"""Inspection assignment, plans and the performance assessment (考核) with a real daemon in the
site's time zone (Asia/Shanghai): each task keeps its assignee, only the assignee or a deputy
completes it (403 with the reason in Chinese and English), a workshop director reassigns it; a
special inspection (专项排查) defined in the config creates today's task with its checklist,
shown in ?mine=1 and completed item by item, a finding opening a hazard; and the monthly
statistics of a hand-built month (tasks on time, late and missed, hazards, acknowledgements at
known times) checked number by number per person, post and department, as JSON, CSV and XLSX
(read back with openpyxl)."""
import csv
import sys
import datetime
import io
import openpyxl
import sqlite3
from zoneinfo import ZoneInfo

from dgtest import check_config, db_rows, run_tests, start_daemon, wait_until, write_config

SITE_TZ = ZoneInfo("Asia/Shanghai")
ENV = {"TZ": "Asia/Shanghai"}

CONFIG = """
site: {{ code: "T-0002", name: 测试化工有限公司 }}
persons:
  - {{ id: zhang, name: 张工, roles: [operator], dept: 储运车间 }}
  - {{ id: zhao, name: 赵工, roles: [operator], dept: 储运车间 }}
  - {{ id: li, name: 李主任, roles: [workshop_director], dept: 储运车间 }}
  - {{ id: wang, name: 王工, roles: [engineer], dept: 安全部 }}
  - {{ id: sun, name: 孙工, roles: [operator], dept: 安全部 }}
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
            lec: {{ l: 3, e: 6, c: 40 }}
            measures:
              - {{ id: M1, desc: 罐区巡检，法兰及阀门无泄漏, data_src: 2, control_level: 岗位 }}
              - {{ id: M2, desc: 空气呼吸器完好, data_src: 2, control_level: 班组, responsible: {{ person: li }} }}
posts:
  - {{ id: P1, name: 罐区操作工, units: [U1], persons: [zhang, zhao], deputies: [li], events: [E1] }}
  - {{ id: P2, name: 安全员, units: [U1], persons: [sun] }}
inspection_plans:
  - id: SP1
    name: 冬季防冻专项排查
    kind: special
    from: "{today}"
    to: "{today}"
    unit: U1
    post: P1
    items: [伴热线完好, 排凝阀已排空, 消防栓保温]
"""


def ms(y, mo, d, h=0, mi=0, s=0):
    return int(datetime.datetime(y, mo, d, h, mi, s, tzinfo=SITE_TZ).timestamp() * 1000)


def config():
    return CONFIG.format(today=datetime.datetime.now(SITE_TZ).date().isoformat())


def tasks(daemon, token, query="status=all"):
    st, body = daemon.call("GET", "/api/v1/inspections?" + query, token=token)
    assert st == 200, (st, body)
    return {t["plan"]["id"] if t["plan"] else t["measure"]: t for t in body["inspections"]}


def test_assignment_rights_and_plan_tasks(workdir, cleanup):
    daemon = start_daemon(workdir, cleanup, config(), start=False, env=ENV)
    tok = {p: daemon.token(p) for p in ("zhang", "zhao", "li", "wang", "sun")}
    daemon.start()
    wait_until(lambda: len(tasks(daemon, tok["sun"])) == 3, 20, "the tasks of M1, M2 and plan SP1")
    every = tasks(daemon, tok["sun"])
    assert every["M1"]["assigned"]["posts"] == ["P1"] and every["M2"]["assigned"]["person"] == "li", every
    stored = {r["measure"]: (r["assigned_posts"], r["assigned_person"]) for r in
              db_rows(daemon.db_path, "SELECT measure, assigned_posts, assigned_person FROM inspection_tasks")}
    assert stored == {"M1": ("P1", None), "M2": (None, "li"), "plan:SP1": ("P1", None)}, stored

    def complete(person, key, body=None):
        return daemon.call("POST", f"/api/v1/inspections/{int(every[key]['id'])}/complete",
                           body or {"check_status": 0}, token=tok[person])

    st, r = complete("sun", "M1")
    assert st == 403 and "只有被分配人或其代理人可以完成" in r["error"] and "only an assignee or a deputy" in r["error"], r
    assert complete("wang", "M2")[0] == 403          # a higher role is not the assignee
    # Reassigned by the workshop director (not by an operator): M1 is now sun's alone.
    m1 = int(every["M1"]["id"])
    assert daemon.call("POST", f"/api/v1/inspections/{m1}/assign", {"person": "sun"}, token=tok["zhang"])[0] == 403
    st, r = daemon.call("POST", f"/api/v1/inspections/{m1}/assign", {"person": "nobody"}, token=tok["li"])
    assert st == 400 and "person" in r["error"], r
    st, r = daemon.call("POST", f"/api/v1/inspections/{m1}/assign", {"person": "sun"}, token=tok["li"])
    assert st == 200 and r["assigned"]["person"] == "sun" and r["assigned"]["by"] == "li", r
    assert "M1" in tasks(daemon, tok["sun"], "mine=1") and "M1" not in tasks(daemon, tok["zhang"], "mine=1")
    assert complete("zhang", "M1")[0] == 403         # no longer the post's
    assert complete("sun", "M1")[0] == 200
    assert complete("li", "M2")[0] == 200
    assert daemon.call("POST", f"/api/v1/inspections/{m1}/assign", {"person": "zhang"}, token=tok["li"])[0] == 409

    # The special inspection: the post's persons and its deputy see it today, with its checklist.
    for p in ("zhang", "zhao", "li"):
        assert "SP1" in tasks(daemon, tok[p], "mine=1"), p
    sp = tasks(daemon, tok["zhang"], "mine=1")["SP1"]
    assert sp["measure"] is None and sp["plan"]["kind"] == "special" and sp["plan"]["kind_zh"] == "专项排查", sp
    assert sp["plan"]["checklist"] == ["伴热线完好", "排凝阀已排空", "消防栓保温"] and sp["plan"]["results"] is None, sp
    st, r = complete("zhang", "SP1", {"items": [{"result": 0}]})
    assert st == 400 and "one result per checklist item" in r["error"], r
    st, r = complete("zhang", "SP1", {"items": [{"result": 0}, {"result": 2}, {"result": 0}]})
    assert st == 400 and "items[1]" in r["error"], r
    st, r = complete("zhang", "SP1", {"items": [{"result": 0}, {"result": 1, "note": "3#排凝阀积水"},
                                                {"result": 0, "note": "已包扎"}]})
    assert st == 200 and r["check_status"] == 1 and r["hazard"], r
    st, h = daemon.call("GET", f"/api/v1/hazards/{int(r['hazard']['id'])}", token=tok["li"])
    assert st == 200 and "冬季防冻专项排查" in h["description"] and "排凝阀已排空：3#排凝阀积水" in h["description"], h
    assert h["unit"] == "U1" and h["reporter"] == "zhang" and h["danger_src"] == 1, h
    done = tasks(daemon, tok["zhang"])["SP1"]
    assert [i["result"] for i in done["plan"]["results"]] == [0, 1, 0] and done["checker"] == "zhang", done
    assert done["plan"]["results"][2] == {"item": "消防栓保温", "result": 0, "note": "已包扎"}, done

    st, plans = daemon.call("GET", "/api/v1/inspection-plans", token=tok["sun"])
    assert st == 200 and [p["id"] for p in plans["plans"]] == ["SP1"], plans
    today = datetime.datetime.now(SITE_TZ).date()
    start = int(datetime.datetime(today.year, today.month, today.day, tzinfo=SITE_TZ).timestamp() * 1000)
    assert plans["plans"][0]["next"] == [{"start_ms": start, "due_ms": start + 86400000}], plans
    assert daemon.stop() == 0


def seed(db):
    """October 2026 by hand: tasks, hazards and acknowledgements at known times."""
    con = sqlite3.connect(db)
    task = ("INSERT INTO inspection_tasks (measure, event, unit, check_cycle, check_cycle_unit, start_ms, due_ms,"
            " check_status, checker, checked_ms, evidence, data_src, assigned_posts, assigned_person)"
            " VALUES (?, 'E1', 'U1', 1, '天', ?, ?, ?, ?, ?, ?, 2, ?, ?)")
    day = 86400000
    rows = [  # measure, due, status, checker, checked, evidence, posts, person
        ("M1", ms(2026, 10, 5, 10), 0, "zhang", ms(2026, 10, 5, 9), "person", "P1", None),   # T1 on time
        ("M1", ms(2026, 10, 6), 0, "zhao", ms(2026, 10, 6, 2), "person", "P1", None),        # T2 late
        ("M1", ms(2026, 10, 7), 2, "system", ms(2026, 10, 7), "system", "P1", None),         # T3 missed
        ("M2", ms(2026, 10, 8), 1, "wang", ms(2026, 10, 7, 15), "person", None, "wang"),     # T4 on time
        ("M2", ms(2026, 10, 9), 2, "system", ms(2026, 10, 9), "system", None, "sun"),        # T5 missed
        ("M1", ms(2026, 10, 10), 0, "li", ms(2026, 10, 9, 20), "person", "P1", None),        # T6 by the deputy
        ("M1", ms(2026, 10, 11), 0, "monitoring", ms(2026, 10, 11), "monitoring", "P1", None),  # not a person's
        ("M1", ms(2026, 11, 2), 0, "zhang", ms(2026, 11, 1), "person", "P1", None),          # November
        ("M1", ms(2026, 10, 1) - 1, 2, "system", ms(2026, 10, 1), "system", "P1", None),     # September
    ]
    for m, due, status, checker, checked, ev, posts, person in rows:
        con.execute(task, (m, due - day, due, status, checker, checked, ev, posts, person))
    hazard = ("INSERT INTO hazards (code, danger_level, danger_src, danger_manage_type, hazard_danger_type,"
              " danger_state, description, reporter, rectifier, assignee, liable_person, deadline_ms, created_ms,"
              " updated_ms, closed_ms, dismissed) VALUES (?, 0, 1, 1, 1, ?, 'x', ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    for i, (state, reporter, rectifier, assignee, liable, deadline, created, closed, dismissed) in enumerate([
        (9, "zhang", "li", None, "li", ms(2026, 10, 12), ms(2026, 10, 3), ms(2026, 10, 10), 0),    # H1 on time
        (9, "zhang", "zhao", None, "li", ms(2026, 10, 15), ms(2026, 10, 4), ms(2026, 10, 20), 0),  # H2 overdue
        (0, "wang", None, "zhao", "li", ms(2026, 10, 25), ms(2026, 10, 5), None, 0),               # H3 open, late
        (9, "sun", "li", None, "li", ms(2026, 10, 1), ms(2026, 9, 28), ms(2026, 10, 2), 0),        # H4 from Sept
        (-1, "zhao", None, None, None, None, ms(2026, 10, 6), ms(2026, 10, 7), 1),                 # H5 dismissed
    ]):
        con.execute(hazard, (f"H{i}", state, reporter, rectifier, assignee, liable, deadline, created, created,
                             closed, dismissed))
    con.execute("INSERT INTO alarms (id, rule, updated_ms) VALUES (1, 'R1', 0), (2, 'R2', 0)")
    for alarm, ts, event, actor in [(1, ms(2026, 10, 1, 10), "activate", None), (1, ms(2026, 10, 1, 10, 1), "ack", "zhang"),
                                    (1, ms(2026, 10, 2, 8), "activate", None), (1, ms(2026, 10, 2, 8, 0, 30), "ack", "zhang"),
                                    (2, ms(2026, 10, 3, 12), "activate", None), (2, ms(2026, 10, 3, 12, 10), "ack", "li"),
                                    (2, ms(2026, 11, 1, 9), "ack", "wang")]:
        con.execute("INSERT INTO alarm_journal (alarm_id, ts_ms, event, actor) VALUES (?, ?, ?, ?)",
                    (alarm, ts, event, actor))
    con.commit()
    con.close()


COLS = ("rank", "members", "inspections_due", "inspections_on_time", "inspections_late", "inspections_missed",
        "on_time_rate", "hazards_reported", "rectified_on_time", "rectified_overdue", "overdue_open",
        "alarms_acknowledged", "ack_mean_s", "participants", "participation_rate")

EXPECTED = {
    "person": {
        "wang":  (1, 1, 1, 1, 0, 0, 1.0, 1, 0, 0, 0, 0, None, 1, 1.0),
        "li":    (2, 1, 1, 1, 0, 0, 1.0, 0, 1, 1, 0, 1, 600.0, 1, 1.0),
        "zhang": (3, 1, 2, 1, 0, 1, 0.5, 2, 0, 0, 0, 2, 45.0, 1, 1.0),
        "sun":   (4, 1, 1, 0, 0, 1, 0.0, 0, 0, 0, 0, 0, None, 0, 0.0),
        "zhao":  (5, 1, 2, 0, 1, 1, 0.0, 0, 0, 1, 1, 0, None, 1, 1.0),
    },
    "post": {
        "P1": (1, 2, 4, 2, 1, 1, 0.5, 2, 0, 1, 1, 2, 45.0, 2, 1.0),
        "P2": (2, 1, 1, 0, 0, 1, 0.0, 0, 0, 0, 0, 0, None, 0, 0.0),
    },
    "department": {
        "储运车间": (1, 3, 4, 2, 1, 1, 0.5, 2, 1, 2, 1, 3, 230.0, 3, 1.0),
        "安全部": (2, 2, 2, 1, 0, 1, 0.5, 1, 0, 0, 0, 0, None, 1, 0.5),
    },
}


def test_monthly_assessment_of_a_known_month(workdir, cleanup):
    daemon = start_daemon(workdir, cleanup, config(), start=False, env=ENV)
    token = daemon.token("sun")  # creates the database
    seed(daemon.db_path)
    daemon.start()
    for by, want in EXPECTED.items():
        st, body = daemon.call("GET", f"/api/v1/assessment?month=2026-10&by={by}", token=token)
        assert st == 200 and body["month"] == "2026-10" and body["by"] == by, (st, body)
        assert body["from_ms"] == ms(2026, 10, 1) and body["to_ms"] == ms(2026, 11, 1), body
        got = {r["id"]: tuple(r[c] for c in COLS) for r in body["rows"]}
        for key in want:
            assert got[key] == want[key], (by, key, dict(zip(COLS, got[key])), dict(zip(COLS, want[key])))
        assert set(got) == set(want), got
        assert [r["rank"] for r in body["rows"]] == list(range(1, len(want) + 1)), body
    st, ctype, raw = daemon.request("GET", "/api/v1/assessment?month=2026-10&by=person&format=csv", token=token)
    assert st == 200 and ctype.startswith("text/csv"), (st, ctype)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["排名 rank", "编号 id", "名称 name"] and len(rows) == 6, rows
    assert rows[3] == ["3", "zhang", "张工", "1", "2", "1", "0", "1", "0.500", "2", "0", "0", "0", "2", "45.0", "1",
                       "1.000"], rows[3]
    st, ctype, raw = daemon.request("GET", "/api/v1/assessment?month=2026-10&by=department&format=xlsx", token=token)
    assert st == 200 and ctype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (st, ctype)
    sheet = openpyxl.load_workbook(io.BytesIO(raw)).active  # an independent reader
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0][0] == "2026-10 考核 performance assessment by department", cells[0]
    assert cells[1][:3] == ["排名 rank", "编号 id", "名称 name"] and len(cells[1]) == 17, cells[1]
    assert cells[2] == [1, "储运车间", "储运车间", 3, 4, 2, 1, 1, 0.5, 2, 1, 2, 1, 3, 230, 3, 1], cells[2]
    assert cells[3][:3] == [2, "安全部", "安全部"] and cells[3][14] is None and cells[3][16] == 0.5, cells[3]
    assert sheet.cell(row=3, column=9).number_format == "0.0%"
    for bad in ("month=2026-13", "month=2026-10&by=team", "month=2026-10&format=xml", "month=26-10", "by=post"):
        assert daemon.call("GET", "/api/v1/assessment?" + bad, token=token)[0] == 400, bad
    assert daemon.call("GET", "/api/v1/assessment?month=2026-10", token="")[0] == 401
    assert daemon.stop() == 0


def test_plan_config_errors(workdir, cleanup):
    good = config()
    plan = good[good.index("  - id: SP1"):]
    cases = [
        ("    post: P1\n", "    post: P9\n", "unknown post 'P9'"),
        ("    kind: special\n", "    kind: weekly\n", "kind"),
        ('    to: "', '    to: "1999-01-01" #', "on or after 'from'"),
        ("    kind: special\n", "    kind: holiday\n    cycle: { n: 1, unit: 月 }\n", "no cycle"),
        ("    kind: special\n", "    kind: special\n    before_days: 2\n", "only for kind: holiday"),
        ("    items: [伴热线完好, 排凝阀已排空, 消防栓保温]\n", "    items: []\n", "1 to 64 checklist items"),
        ('    from: "', '    from: "2027-02-30" #', "expected a date"),
    ]
    for old, new, want in cases:
        assert old in plan, old
        path = write_config(workdir, good.replace(plan, plan.replace(old, new, 1)), "bad.yaml")
        r = check_config(path)
        assert r.returncode != 0 and "bad.yaml:" in r.stderr and "inspection_plans[0]" in r.stderr and want in r.stderr, \
            (new, r.stderr)
    assert check_config(write_config(workdir, good, "good.yaml")).returncode == 0


def test_plans_through_the_model_api(workdir, cleanup):
    daemon = start_daemon(workdir, cleanup, config(), start=False, env=ENV)
    engineer, operator = daemon.token("wang"), daemon.token("zhang")
    daemon.start()
    today = datetime.datetime.now(SITE_TZ).date()
    plan = {"id": "SEA1", "name": "雨季防汛检查", "kind": "seasonal", "from": today.isoformat(),
            "to": (today + datetime.timedelta(days=40)).isoformat(), "cycle": {"n": 7, "unit": "天"},
            "person": "sun", "unit": "U1", "items": ["排水沟畅通", "沙袋到位"]}
    assert daemon.call("POST", "/api/v1/model/inspection-plans", plan, token=operator)[0] == 403
    st, r = daemon.call("POST", "/api/v1/model/inspection-plans", dict(plan, post="P9"), token=engineer)
    assert st == 400 and "unknown post 'P9'" in r["error"], (st, r)
    st, r = daemon.call("POST", "/api/v1/model/inspection-plans", plan, token=engineer)
    assert st == 201 and r["id"] == "SEA1" and r["cycle"] == {"n": 7, "unit": "天"} and r["person"] == "sun", (st, r)
    st, r = daemon.call("PUT", "/api/v1/model/inspection-plans/SEA1", {"items": ["排水沟畅通", "沙袋到位", "泵完好"]},
                        token=engineer)
    assert st == 200 and len(r["items"]) == 3, (st, r)
    st, plans = daemon.call("GET", "/api/v1/inspection-plans", token=operator)
    sea = next(p for p in plans["plans"] if p["id"] == "SEA1")
    start = int(datetime.datetime(today.year, today.month, today.day, tzinfo=SITE_TZ).timestamp() * 1000)
    assert sea["kind_zh"] == "季节性排查" and sea["next"][0] == {"start_ms": start, "due_ms": start + 7 * 86400000}, sea
    assert sea["next"][1]["start_ms"] == start + 7 * 86400000, sea
    st, audit = daemon.call("GET", "/api/v1/model/audit?kind=inspection-plans", token=engineer)
    assert [(e["op"], e["entity"], e["actor"]) for e in audit["edits"]] == \
        [("create", "SEA1", "wang"), ("update", "SEA1", "wang")], audit
    assert audit["edits"][1]["before"]["items"] == ["排水沟畅通", "沙袋到位"], audit
    # Replayed at start: its task is created, assigned to sun, with the edited checklist.
    assert daemon.stop() == 0
    daemon.start()
    sun = daemon.token("sun")
    wait_until(lambda: "SEA1" in tasks(daemon, sun, "mine=1"), 20, "the seasonal task among sun's")
    assert tasks(daemon, sun, "mine=1")["SEA1"]["plan"]["checklist"] == ["排水沟畅通", "沙袋到位", "泵完好"]
    assert daemon.call("DELETE", "/api/v1/model/inspection-plans/SEA1", None, token=engineer)[0] == 200
    assert all(p["id"] != "SEA1" for p in daemon.call("GET", "/api/v1/inspection-plans", token=sun)[1]["plans"])
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_assignment_rights_and_plan_tasks, test_monthly_assessment_of_a_known_month,
                        test_plan_config_errors, test_plans_through_the_model_api]))
