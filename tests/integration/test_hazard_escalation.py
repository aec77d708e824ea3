#!/usr/bin/python3
"""Hazards reach people: a reported hazard's 整改通知 goes to its liable person with the deadline
and, while nobody submits it, to the workshop director; submitting it stops that escalation
(hazard_moved_on) and tells the verifiers; verifying it closes theirs. A major hazard tells the
safety director and the principal at once, past a full digest window, and turns its unit red,
so a policy filtered on the red colour is chosen for the next alarm. After a restart the overdue
scan and a missed inspection task reach their policies after a kill -9, the hazards' escalations go
on, and nothing is delivered twice."""
import json
import sqlite3
import sys
import time

from dgtest import Daemon, db_rows, run_tests, start_broker, start_sink, wait_connected, wait_until

CONFIG = """
site: {{ code: "410700-0001", name: 测试化工 }}
daemon: {{ history_flush: 200ms, hazard_deadline_days: 3 }}
persons:
  - {{ id: zhang, name: 张工, roles: [operator] }}
  - {{ id: li, name: 李主任, roles: [workshop_director] }}
  - {{ id: wang, name: 王总监, roles: [safety_director] }}
  - {{ id: chen, name: 陈总, roles: [principal] }}
  - {{ id: zhou, name: 周主任, roles: [viewer] }}
  - {{ id: qian, name: 钱班长, roles: [viewer] }}
  - {{ id: sun, name: 孙值班, roles: [viewer] }}
  - {{ id: zhao, name: 赵工, roles: [viewer] }}
hazard_sources:
  - id: HS01
    name: 液氨储罐区
    units:
      - id: U01
        name: 1#液氨储罐
        responsible: {{ dept: 储运车间, person: zhang }}
        events:
          - id: E01
            name: 液氨泄漏中毒
            accident_type: 中毒和窒息
            lec: {{ l: 1, e: 1, c: 3 }}
            measures:
              - {{ id: M01, desc: 有毒气体检测报警器有效投用, classify: "1-4", data_src: 1 }}
              - {{ id: M03, desc: 储罐区巡检无泄漏, classify: "3-1", data_src: 2 }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{mqtt_port}", client_id: dg-hzesc-{mqtt_port}, qos: 1 }}
points:
  - {{ id: GT101, name: 1#罐区氨气检测器, unit_id: U01, eng_unit: "%LEL", driver: mqtt.main, topic: t/gt101, path: value }}
rules:
  - {{ id: R-GT101-H, type: high, point: GT101, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
escalation:
  dashboard_url: "http://127.0.0.1:8080"
  digest_window: 60s
  digest_after: 1
  channels:
    - {{ id: hook, type: webhook, url: "http://127.0.0.1:{hook_port}/people" }}
  policies:
    - id: major
      events: [major_hazard_opened]
      tiers: [ {{ roles: [safety_director, principal], channels: [hook] }} ]
    - id: rectify
      events: [hazard_opened]
      tiers:
        - {{ responsible: [hazard], channels: [hook], timeout: 2s }}
        - {{ roles: [workshop_director], channels: [hook] }}
    - id: accept
      events: [hazard_submitted]
      tiers: [ {{ roles: [safety_director], channels: [hook], timeout: 60s }}, {{ persons: [chen], channels: [hook] }} ]
    - id: overdue
      events: [hazard_overdue]
      tiers: [ {{ persons: [zhou], channels: [hook] }} ]
    - id: missed
      events: [inspection_missed]
      tiers: [ {{ persons: [qian], channels: [hook] }} ]
    - id: red-gas
      events: [alarm_activate]
      risk: [red]
      tiers: [ {{ persons: [sun], channels: [hook] }} ]
    - id: gas
      events: [alarm_activate]
      tiers: [ {{ persons: [zhao], channels: [hook] }} ]
"""


def to(sink, person):
    return [r for r in sink.received if r["body"].get("to", {}).get("person") == person]


def running(daemon, hid):
    return [e for e in daemon.get("/api/v1/escalations")[1]["escalations"] if e["hazard_id"] == hid]


def stops(daemon, hid):
    return [json.loads(r["detail"])["reason"] for r in
            db_rows(daemon.db_path, "SELECT s.detail FROM escalation_steps s JOIN escalations e ON e.id = s.escalation_id"
                    " WHERE e.hazard_id = ? AND s.action = 'stop' ORDER BY s.id", (hid,))]


def test_hazard_events_escalate(workdir, cleanup):
    broker = start_broker(workdir, cleanup)
    sink = start_sink(cleanup)
    cfg = f"{workdir}/plant.yaml"
    with open(cfg, "w", encoding="utf-8") as f:
        f.write(CONFIG.format(mqtt_port=broker.port, hook_port=sink.port))
    daemon = Daemon(workdir, cfg, f"{workdir}/dg.db")
    cleanup.append(lambda: daemon.stop())
    daemon.start()
    wait_connected(daemon)

    # An alarm while the unit is blue: the unfiltered policy, not the red one.
    broker.publish("t/gt101", '{"value": 30}')
    wait_until(lambda: to(sink, "zhao"), 15, "the alarm to zhao")
    broker.publish("t/gt101", '{"value": 10}')
    wait_until(lambda: daemon.alarm("R-GT101-H")["state"] == "RTN_UNACK", 10, "cleared")
    assert not to(sink, "sun")

    # A manual report: the 整改通知 to its liable person with code, deadline and a link to it.
    deadline = int(time.time() * 1000) + 86400000
    st, h1 = daemon.post("/api/v1/hazards", {"description": "罐区围堰破损", "danger_src": 1, "unit": "U01",
                                             "liable_person": "zhang", "deadline_ms": deadline}, actor="li")
    assert st == 201, h1
    m = wait_until(lambda: to(sink, "zhang"), 10, "整改通知 to zhang")[0]["body"]
    assert "隐患整改通知" in m["title"] and h1["code"] in m["text"] and "整改期限" in m["text"], m
    assert "罐区围堰破损" in m["text"] and m["hazard_id"] == h1["id"], m
    assert m["link"] == f"http://127.0.0.1:8080/#hazards/{h1['id']}", m
    esc = running(daemon, h1["id"])
    assert len(esc) == 1 and esc[0]["event"] == "hazard_opened" and esc[0]["alarm_id"] is None, esc
    # Nobody submits it: the workshop director after the tier's 2 s.
    li = wait_until(lambda: to(sink, "li"), 10, "tier 2 to li")
    assert "第2级" in li[0]["body"]["text"], li

    # Rectified and submitted: the rectification escalation stops (moved on), the verifier is told.
    assert daemon.post(f"/api/v1/hazards/{h1['id']}/rectify", {"rectify_measures": "修补围堰"}, actor="zhang")[0] == 200
    assert daemon.post(f"/api/v1/hazards/{h1['id']}/submit", {}, actor="zhang")[0] == 200
    w = wait_until(lambda: to(sink, "wang"), 10, "the verifier told")[0]["body"]
    assert "隐患待验收" in w["title"], w
    assert stops(daemon, h1["id"]) == ["hazard_moved_on"]
    assert [e["event"] for e in running(daemon, h1["id"])] == ["hazard_submitted"]
    assert daemon.post(f"/api/v1/hazards/{h1['id']}/verify", {}, actor="wang")[0] == 200
    assert not running(daemon, h1["id"]) and stops(daemon, h1["id"]) == ["hazard_moved_on", "hazard_closed"]

    # A major hazard: the safety director (whose digest window is already full) and the principal
    # at once; the unit turns red, so the next alarm is the red policy's.
    st, h2 = daemon.post("/api/v1/hazards", {"description": "液氨储罐安全阀失效", "danger_src": 1, "unit": "U01",
                                             "danger_level": 1, "liable_person": "zhang"}, actor="li")
    assert st == 201, h2
    wang = wait_until(lambda: [r for r in to(sink, "wang") if "重大隐患" in r["body"]["title"]], 10, "major to wang")
    chen = wait_until(lambda: [r for r in to(sink, "chen") if "重大隐患" in r["body"]["title"]], 10, "major to chen")
    assert wang[0]["body"]["priority"] == "critical" and h2["code"] in chen[0]["body"]["text"], (wang, chen)
    wait_until(lambda: len(to(sink, "zhang")) == 2, 10, "the major hazard's 整改通知 to zhang")
    wait_until(lambda: db_rows(daemon.db_path, "SELECT to_level FROM risk_level_history WHERE unit = 'U01'"
                               " ORDER BY id DESC LIMIT 1") == [{"to_level": 4}], 10, "U01 red")
    broker.publish("t/gt101", '{"value": 31}')
    wait_until(lambda: to(sink, "sun"), 10, "the alarm to the red policy's person")
    assert len(to(sink, "zhao")) == 1

    # A hazard found by an inspection gets its 整改通知 too (to the unit's responsible person).
    now = int(time.time() * 1000)
    with sqlite3.connect(daemon.db_path) as con:
        task = con.execute("INSERT INTO inspection_tasks (measure, event, unit, hazard_source, check_cycle,"
                           " check_cycle_unit, start_ms, due_ms, data_src) VALUES ('M03', 'E01', 'U01', 'HS01', 1, '天',"
                           " ?, ?, 2)", (now - 3600000, now + 3600000)).lastrowid
    st, done = daemon.post(f"/api/v1/inspections/{task}/complete", {"check_status": 1, "note": "围堰渗漏"}, actor="li")
    assert st == 200 and done["hazard"], done
    told = wait_until(lambda: db_rows(daemon.db_path, "SELECT s.detail FROM escalation_steps s JOIN escalations e"
                                      " ON e.id = s.escalation_id WHERE e.hazard_id = ? AND e.event = 'hazard_opened'",
                                      (done["hazard"]["id"],)), 10, "the inspection's hazard escalated")
    assert [t["person"] for t in json.loads(told[0]["detail"])["told"]] == ["zhang"], told

    # Past its deadline, and an inspection nobody did: the scans at the start after a kill -9
    # announce both.
    due = int(time.time() * 1000) + 300
    st, h3 = daemon.post("/api/v1/hazards", {"description": "消防通道堵塞", "danger_src": 1, "unit": "U01",
                                             "liable_person": "zhang", "deadline_ms": due}, actor="li")
    assert st == 201, h3
    daemon.kill9()
    wait_until(lambda: time.time() * 1000 > due + 100, 5, "past the deadline")
    now = int(time.time() * 1000)
    with sqlite3.connect(daemon.db_path) as con:
        con.execute("INSERT INTO inspection_tasks (measure, event, unit, hazard_source, check_cycle, check_cycle_unit,"
                    " start_ms, due_ms, data_src) VALUES ('M03', 'E01', 'U01', 'HS01', 1, '天', ?, ?, 2)",
                    (now - 86400000, now - 1000))
    before = len(sink.received)
    daemon.start()
    z = wait_until(lambda: to(sink, "zhou"), 15, "overdue to zhou")[0]["body"]
    assert "隐患超期" in z["title"] and h3["code"] in z["text"], z
    q = wait_until(lambda: to(sink, "qian"), 15, "missed inspection to qian")[0]["body"]
    assert "排查未完成" in q["title"] and "M03" in q["text"], q
    assert [e["event"] for e in running(daemon, h3["id"])] == ["hazard_opened", "hazard_overdue"]
    ids = [r["delivery"] for r in sink.received]
    assert len(ids) == len(set(ids)), ids
    assert all(r["body"]["to"]["person"] in ("zhou", "qian", "li") for r in sink.received[before:]), sink.received[before:]


if __name__ == "__main__":
    sys.exit(run_tests([test_hazard_events_escalate]))
