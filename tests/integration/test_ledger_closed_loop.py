#!/usr/bin/python3
"""Hazard closed loop through the API: a sensor breach opens a hazard, which is rectified,
submitted, verified by another person and closed; the next breach of the same measure opens a
new hazard. Manual reports, five-in-place for major hazards, and rejected input."""
import sys
import time

from dgtest import db_rows, run_tests, start_plant, wait_until
from test_major_governance import govern

CONFIG = """
site: {{ code: "410700-0001", name: 测试化工 }}
daemon: {{ history_flush: 200ms, hazard_deadline_days: 3 }}
persons:
  - {{ id: li, name: 李主任, roles: [workshop_director] }}
  - {{ id: wang, name: 王工, roles: [engineer] }}
  - {{ id: zhao, name: 赵安全员, roles: [safety_director] }}
  - {{ id: qian, name: 钱总经理, roles: [principal] }}
hazard_sources:
  - id: HS01
    name: 液氨储罐区
    major_hazard:
      exposed_persons: 60
      substances:
        - name: 液氨
          quantity: 45
          critical: 10
    units:
      - id: U01
        name: 1#液氨储罐
        responsible: {{ dept: 储运车间, person: li }}
        events:
          - id: E01
            name: 液氨泄漏中毒
            accident_type: 中毒和窒息
            lec: {{ l: 1, e: 6, c: 15 }}
            measures:
              - {{ id: M01, desc: 有毒气体检测报警器有效投用, classify: "1-4", data_src: 1 }}
              - {{ id: M02, desc: 装卸区气体检测有效, classify: "1-4", data_src: 1 }}
              - {{ id: M03, desc: 储罐区巡检无泄漏, classify: "3-1", data_src: 2, control_level: 班组,
                   responsible: {{ dept: 储运车间, person: wang }} }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{mqtt_port}", client_id: dg-ledger-{mqtt_port}, qos: 1 }}
points:
  - {{ id: GT101, name: 1#罐区氨气检测器, unit_id: U01, eng_unit: "%LEL", driver: mqtt.main, topic: t/gt101, path: value }}
  - {{ id: GT102, name: 装卸区氨气检测器, unit_id: U01, eng_unit: "%LEL", driver: mqtt.main, topic: t/gt102, path: value }}
rules:
  - id: R-GT101-H
    type: high
    point: GT101
    measure: M01
    stages: [ {{ name: H, limit: 25, priority: high }}, {{ name: HH, limit: 50, priority: critical }} ]
    deadband: 2
  - id: R-GT102-H
    type: high
    point: GT102
    measure: M02
    stages: [ {{ name: H, limit: 25, priority: high }} ]
    hazard_level: 1
channels:
  - {{ id: hook, type: webhook, url: "http://127.0.0.1:{hook_port}/hook", timeout: 2s }}
policies:
  - {{ id: all, priorities: [low, medium, high, critical], channels: [hook] }}
"""


def post(daemon, path, body, actor=None):
    """POSTs as `actor` (or the body's "actor"), authenticated with that person's bearer token."""
    if isinstance(body, dict) and "actor" in body:
        body = dict(body)
        actor = body.pop("actor")
    return daemon.post(path, body, actor=actor)


def setup(workdir, cleanup):
    broker, sink, daemon = start_plant(workdir, cleanup, CONFIG)
    return broker, sink, daemon


def hazard(daemon, hid):
    return daemon.get(f"/api/v1/hazards/{hid}")[1]


def breach(daemon, broker, topic, rule):
    broker.publish(topic, '{"value": 30}')
    wait_until(lambda: daemon.alarm(rule)["active"], 15, f"{rule} active")
    broker.publish(topic, '{"value": 10}')
    wait_until(lambda: not daemon.alarm(rule)["active"], 15, f"{rule} cleared")


def test_breach_to_closed_hazard_and_reopen(workdir, cleanup):
    broker, _, daemon = setup(workdir, cleanup)
    breach(daemon, broker, "t/gt101", "R-GT101-H")
    h = wait_until(lambda: daemon.get("/api/v1/hazards")[1]["hazards"], 10, "hazard opened")[0]
    hid = h["id"]
    assert h["danger_src"] == 9 and h["danger_state"] == 0 and h["measure"] == "M01", h

    # Not yet rectified: nothing to submit; verification needs state 1.
    st, body = post(daemon, f"/api/v1/hazards/{hid}/submit", {"actor": "wang"})
    assert st == 409 and "no rectification" in body["error"], (st, body)
    st, body = post(daemon, f"/api/v1/hazards/{hid}/verify", {"actor": "zhao"})
    assert st == 409 and "needs state" in body["error"], (st, body)

    st, body = post(daemon, f"/api/v1/hazards/{hid}/rectify",
                    {"actor": "wang", "rectify_measures": "更换GT101探头并标定", "cost": 1200.5})
    assert st == 200 and body["danger_state"] == 0 and body["code"] == h["code"], (st, body)
    st, body = post(daemon, f"/api/v1/hazards/{hid}/submit", {"actor": "wang", "comment": "已整改"})
    assert st == 200 and body["danger_state"] == 1, (st, body)
    st, body = post(daemon, f"/api/v1/hazards/{hid}/rectify", {"actor": "wang", "cost": 5})
    assert st == 409, (st, body)

    # The rectifier may not verify or reject his own work.
    st, body = post(daemon, f"/api/v1/hazards/{hid}/verify", {"actor": "wang"})
    assert st == 409 and "verifier must differ" in body["error"], (st, body)
    st, body = post(daemon, f"/api/v1/hazards/{hid}/reject", {"actor": "zhao"})
    assert st == 400 and body["error"].startswith("comment"), (st, body)
    st, body = post(daemon, f"/api/v1/hazards/{hid}/reject", {"actor": "zhao", "comment": "未标定记录"})
    assert st == 200 and body["danger_state"] == 0, (st, body)
    assert post(daemon, f"/api/v1/hazards/{hid}/submit", {"actor": "wang"})[0] == 200
    st, body = post(daemon, f"/api/v1/hazards/{hid}/verify", {"actor": "zhao", "comment": "验收合格"})
    assert st == 200 and body["danger_state"] == 9 and body["danger_state_zh"] == "已验收", (st, body)

    closed = hazard(daemon, hid)
    assert closed["verifier"] == "zhao" and closed["rectifier"] == "wang" and closed["closed_ms"], closed
    assert closed["cost"] == 1200.5 and closed["verify_comment"] == "验收合格", closed
    actions = [(j["action"], j["actor"], j["from_state"], j["to_state"]) for j in closed["journal"]]
    assert actions == [("register", "system", None, 0), ("rectify", "wang", 0, 0), ("submit", "wang", 0, 1),
                       ("reject", "zhao", 1, 0), ("submit", "wang", 0, 1), ("verify", "zhao", 1, 9)], actions
    assert all(j["ts_ms"] for j in closed["journal"])
    st, body = post(daemon, f"/api/v1/hazards/{hid}/reject", {"actor": "li", "comment": "x"})
    assert st == 409, (st, body)

    # The measure fails again: a new hazard, not an occurrence of the closed one.
    breach(daemon, broker, "t/gt101", "R-GT101-H")
    hz = wait_until(lambda: daemon.get("/api/v1/hazards")[1]["hazards"], 10, "a new hazard")
    assert len(hz) == 1 and hz[0]["id"] != hid and hz[0]["measure"] == "M01", hz
    old = hazard(daemon, hid)
    assert len(old["occurrences"]) == 1 and old["danger_state"] == 9, old


def test_major_hazard_needs_five_in_place(workdir, cleanup):
    broker, _, daemon = setup(workdir, cleanup)
    breach(daemon, broker, "t/gt102", "R-GT102-H")
    h = wait_until(lambda: daemon.get("/api/v1/hazards")[1]["hazards"], 10, "hazard opened")[0]
    assert h["danger_level"] == 1 and h["liable_person"] == "li", h
    hid = h["id"]
    assert post(daemon, f"/api/v1/hazards/{hid}/rectify", {"actor": "wang", "rectify_measures": "更换探头"})[0] == 200
    st, body = post(daemon, f"/api/v1/hazards/{hid}/submit", {"actor": "wang"})
    assert st == 409 and "five-in-place" in body["error"], (st, body)
    assert "cost" in body["error"] and "contingency_plan" in body["error"], body
    assert "liable_person" not in body["error"] and "deadline_ms" not in body["error"], body
    st, _ = post(daemon, f"/api/v1/hazards/{hid}/rectify", {"actor": "wang", "cost": 0, "contingency_plan": "液氨泄漏专项预案"})
    assert st == 200
    st, body = post(daemon, f"/api/v1/hazards/{hid}/submit", {"actor": "wang"})
    assert st == 200 and body["danger_state"] == 1, (st, body)


def test_manual_report_and_rejected_input(workdir, cleanup):
    _, _, daemon = setup(workdir, cleanup)
    st, body = post(daemon, "/api/v1/hazards", {"actor": "zhao", "description": "2#泵房地沟积水", "danger_src": 1,
                                                "measure": "M02", "danger_manage_type": 0})
    assert st == 201 and body["danger_state"] == 0 and body["code"].startswith("410700-0001-YH-"), (st, body)
    h = hazard(daemon, body["id"])
    assert h["reporter"] == "zhao" and h["danger_src"] == 1 and h["danger_manage_type"] == 0, h
    assert (h["measure"], h["event"], h["unit"], h["hazard_source"], h["liable_person"]) == ("M02", "E01", "U01", "HS01", "li"), h
    assert [j["action"] for j in h["journal"]] == ["report"] and h["journal"][0]["actor"] == "zhao", h

    # No token, or a token nobody was issued: 401, and nothing is written.
    st, body = post(daemon, "/api/v1/hazards", {"description": "x", "danger_src": 1})
    assert st == 401 and "token" in body["error"], (st, body)
    daemon.tokens["nobody"] = "0" * 64
    st, body = post(daemon, "/api/v1/hazards", {"actor": "nobody", "description": "x", "danger_src": 1})
    assert st == 401, (st, body)
    bad = [
        ({"actor": "zhao", "danger_src": 1}, "description"),
        ({"actor": "zhao", "description": "x"}, "danger_src"),
        ({"actor": "zhao", "description": "x", "danger_src": 9}, "danger_src"),
        ({"actor": "zhao", "description": "x", "danger_src": 1, "danger_level": 2}, "danger_level"),
        ({"actor": "zhao", "description": "x", "danger_src": 1, "unit": "U99"}, "unit"),
        ({"actor": "zhao", "description": "x", "danger_src": 1, "deadline_ms": "tomorrow"}, "deadline_ms"),
    ]
    for req, field in bad:
        st, body = post(daemon, "/api/v1/hazards", req)
        assert st == 400 and body["error"].startswith(field + ":"), (req, st, body)
    st, body = post(daemon, "/api/v1/hazards", b"{not json", actor="zhao")
    assert st == 400 and body["error"].startswith("body"), (st, body)
    hid = h["id"]
    st, body = post(daemon, f"/api/v1/hazards/{hid}/rectify", {"actor": "wang", "cost": -1})
    assert st == 400 and body["error"].startswith("cost"), (st, body)
    st, body = post(daemon, f"/api/v1/hazards/{hid}/rectify", {"actor": "wang", "rectifier": "ghost"})
    assert st == 400 and body["error"].startswith("rectifier"), (st, body)
    assert post(daemon, "/api/v1/hazards/999/submit", {"actor": "wang"})[0] == 404
    assert post(daemon, f"/api/v1/hazards/{hid}/close", {"actor": "wang"})[0] == 404
    assert len(db_rows(daemon.db_path, "SELECT id FROM hazards")) == 1


def test_overdue_hazard_notified_once(workdir, cleanup):
    _, sink, daemon = setup(workdir, cleanup)
    past = int(time.time() * 1000) - 60000
    st, body = post(daemon, "/api/v1/hazards", {"actor": "zhao", "description": "消防通道堵塞", "danger_src": 1,
                                                "unit": "U01", "danger_level": 1, "deadline_ms": past})
    assert st == 201, (st, body)
    hid = body["id"]
    # The scan runs at start (and every minute): a restart makes it run now.
    assert daemon.stop() == 0
    daemon.start()
    got = sink.wait_for(lambda r: any(e["body"].get("event") == "overdue" for e in r))
    msg = next(e["body"] for e in got if e["body"].get("event") == "overdue")
    assert msg["kind"] == "hazard" and msg["hazard"]["id"] == hid and msg["hazard"]["danger_level"] == 1, msg
    assert "隐患超期" in msg["text_zh"] and "李主任" in msg["text_zh"], msg
    rows = db_rows(daemon.db_path, "SELECT overdue_ms FROM hazards WHERE id = ?", (hid,))
    assert rows[0]["overdue_ms"], rows
    assert daemon.stop() == 0
    daemon.start()
    assert [j["action"] for j in hazard(daemon, hid)["journal"]] == ["report", "overdue"]
    assert len(db_rows(daemon.db_path, "SELECT id FROM outbox WHERE ref LIKE 'hazard:%:overdue:%'")) == 1


def unit_risk(daemon, unit="U01"):
    _, body = daemon.get("/api/v1/risk-map")
    return next(u for u in body["units"] if u["id"] == unit), body


def test_risk_map_follows_alarms_and_major_hazards(workdir, cleanup):
    broker, _, daemon = setup(workdir, cleanup)
    u, body = unit_risk(daemon)
    assert u["assessed"] == {"level": "yellow", "level_zh": "一般风险"} and u["current"]["level"] == "yellow", u
    assert u["cause"] == "assessment" and not u["raised"] and body["counts"]["yellow"] == 1, body
    assert body["counts"] == {"red": 0, "orange": 0, "yellow": 1, "blue": 0}, body
    hs = body["hazard_sources"][0]  # graded from its ammonia: R = 1.5 × 2 × 45/10 = 13.5 → 三级
    assert (hs["hazardCode"], hs["isMajor"], hs["hazardLevel"], hs["rValue"]) == ("HS01", 1, 3, 13.5), hs

    broker.publish("t/gt101", '{"value": 30}')  # stage H, priority high → orange
    u = wait_until(lambda: (r := unit_risk(daemon)[0])["current"]["level"] == "orange" and r, 15, "orange")
    assert u["cause"] == "alarm" and u["raised"] and u["raised_by"]["alarm"]["rule"] == "R-GT101-H", u
    assert u["raised_by"]["alarm"]["priority"] == "high" and u["raised_by"]["major_hazard"] is None, u
    assert u["current"]["level_zh"] == "较大风险" and u["assessed"]["level"] == "yellow", u
    broker.publish("t/gt101", '{"value": 55}')  # stage HH, priority critical → red
    u = wait_until(lambda: (r := unit_risk(daemon)[0])["current"]["level"] == "red" and r, 15, "red")
    assert unit_risk(daemon)[1]["counts"]["red"] == 1
    broker.publish("t/gt101", '{"value": 10}')
    wait_until(lambda: unit_risk(daemon)[0]["current"]["level"] == "yellow", 15, "back to yellow")

    # A major hazard keeps the unit red after its alarm clears, until it is closed.
    breach(daemon, broker, "t/gt102", "R-GT102-H")
    u = wait_until(lambda: (r := unit_risk(daemon)[0])["current"]["level"] == "red" and r, 15, "red by hazard")
    assert u["cause"] == "major_hazard" and u["raised_by"]["alarm"] is None, u
    hid = u["raised_by"]["major_hazard"]["id"]
    assert hazard(daemon, hid)["danger_level"] == 1
    assert post(daemon, f"/api/v1/hazards/{hid}/rectify", {"actor": "wang", "rectify_measures": "更换探头", "cost": 800,
                                                           "contingency_plan": "液氨泄漏专项预案"})[0] == 200
    assert post(daemon, f"/api/v1/hazards/{hid}/submit", {"actor": "wang"})[0] == 200
    assert unit_risk(daemon)[0]["current"]["level"] == "red"  # 待验收 is still open
    govern(daemon, hid, "zhao")  # a major hazard: documents and expert review, accepted by the principal
    assert post(daemon, f"/api/v1/hazards/{hid}/verify", {"actor": "qian"})[0] == 200
    u = unit_risk(daemon)[0]
    assert u["current"]["level"] == "yellow" and u["cause"] == "assessment", u

    # The history holds the rise to red and the fall back to the assessment.
    sql = "SELECT from_level, to_level, cause FROM risk_level_history WHERE unit = 'U01' ORDER BY id"
    rows = wait_until(lambda: (r := db_rows(daemon.db_path, sql)) and r[-1]["to_level"] == 2 and
                      any(x["cause"].startswith("major_hazard") for x in r) and r, 15, "risk history")
    assert rows[0]["from_level"] == 2 and rows[0]["to_level"] in (3, 4), rows
    assert all(a["to_level"] == b["from_level"] for a, b in zip(rows, rows[1:])), rows


def get_status(daemon, path):
    return daemon.get_status(path)


def test_inspection_tasks_complete_and_open_hazard(workdir, cleanup):
    _, _, daemon = setup(workdir, cleanup)
    # Generated at start for every measure: E01 is yellow (D = 90) → every 15 days. M01 and M02
    # are monitored (data_src 1): their monitoring stands for the check when the period ends.
    tasks = wait_until(lambda: (r := daemon.get("/api/v1/inspections")[1]["inspections"]) and len(r) == 3 and r,
                       10, "three tasks")
    assert sorted((x["measure"], x["data_src"], x["data_src_zh"]) for x in tasks) == [
        ("M01", 1, "自动化监控"), ("M02", 1, "自动化监控"), ("M03", 2, "隐患排查")], tasks
    t = next(x for x in tasks if x["measure"] == "M03")
    assert t["data_src_en"] == "inspection", t
    assert t["evidence"] is None and t["evidence_zh"] is None, t
    assert (t["measure"], t["event"], t["unit"], t["hazard_source"]) == ("M03", "E01", "U01", "HS01"), t
    assert t["check_cycle"] == 15 and t["check_cycle_unit"] == "天" and t["check_status"] is None, t
    now = time.time() * 1000
    assert t["start_ms"] <= now < t["due_ms"] and t["due_ms"] - t["start_ms"] == 15 * 86400e3, t
    assert daemon.get(f"/api/v1/inspections?due={int(t['start_ms'])}")[1]["inspections"] == []
    assert len(daemon.get(f"/api/v1/inspections?due={int(t['due_ms'])}")[1]["inspections"]) == 3

    st, body = post(daemon, f"/api/v1/inspections/{t['id']}/complete", {"actor": "wang"})
    assert st == 400 and body["error"].startswith("check_status"), (st, body)
    st, body = post(daemon, f"/api/v1/inspections/{t['id']}/complete", {"actor": "wang", "check_status": 4})
    assert st == 400 and body["error"].startswith("check_status"), (st, body)
    # M03's responsible person completes it (zhao, of a higher role, may not: not an assignee).
    assert post(daemon, f"/api/v1/inspections/{t['id']}/complete", {"actor": "zhao", "check_status": 0})[0] == 403
    st, body = post(daemon, f"/api/v1/inspections/{t['id']}/complete",
                    {"actor": "wang", "check_status": 1, "note": "2#罐法兰处有氨味"})
    assert st == 200 and body["hazard"]["code"].startswith("410700-0001-YH-"), (st, body)
    h = daemon.get(f"/api/v1/hazards/{body['hazard']['id']}")[1]
    assert h["danger_src"] == 1 and h["danger_state"] == 0 and h["reporter"] == "wang", h
    assert h["measure"] == "M03" and h["unit"] == "U01" and "2#罐法兰处有氨味" in h["description"], h
    assert [j["action"] for j in h["journal"]] == ["report"], h

    st, body = post(daemon, f"/api/v1/inspections/{t['id']}/complete", {"actor": "li", "check_status": 0})
    assert st == 409 and "already completed" in body["error"], (st, body)
    assert sorted(x["measure"] for x in daemon.get("/api/v1/inspections")[1]["inspections"]) == ["M01", "M02"]
    done = daemon.get("/api/v1/inspections?status=done")[1]["inspections"]
    assert len(done) == 1 and done[0]["check_status"] == 1 and done[0]["checker"] == "wang", done
    assert done[0]["check_status_zh"] == "存在隐患" and done[0]["hazard_id"] == h["id"], done
    assert done[0]["check_status_en"] == "hazard found", done
    assert done[0]["evidence"] == "person" and done[0]["evidence_zh"] == "人工排查", done
    assert post(daemon, "/api/v1/inspections/999/complete", {"actor": "li", "check_status": 0})[0] == 404
    assert get_status(daemon, "/api/v1/inspections?status=later")[0] == 400
    # A restart does not create a second task for the same period.
    assert daemon.stop() == 0
    daemon.start()
    assert len(daemon.get("/api/v1/inspections?status=all")[1]["inspections"]) == 3


if __name__ == "__main__":
    sys.exit(run_tests([
        test_breach_to_closed_hazard_and_reopen,
        test_major_hazard_needs_five_in_place,
        test_manual_report_and_rejected_input,
        test_overdue_hazard_notified_once,
        test_risk_map_follows_alarms_and_major_hazards,
        test_inspection_tasks_complete_and_open_hazard,
    ]))
