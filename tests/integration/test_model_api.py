#!/usr/bin/python3
"""Plant-model edits through the API with a real daemon: units, events and measures created and
changed by an engineer, validated like the YAML file, in force at once (risk map) and after a
restart, refused for the wrong role, bad values or references still in use, and audited."""
import json
import os
import signal
import subprocess
import sys

from dgtest import DAEMON, db_rows, run_tests, start_broker, start_daemon, wait_until, write_config

CONFIG = """
site: {{ code: "T-0001", name: 测试 }}
persons:
  - {{ id: wang, name: 王工, roles: [engineer] }}
  - {{ id: zhang, name: 张工, roles: [operator] }}
hazard_sources:
  - id: HS1
    name: 液氨罐区
    units:
      - id: U1
        name: 1#储罐
        responsible: {{ dept: 储运车间, person: wang }}
        events:
          - id: E1
            accident_type: 中毒和窒息
            lec: {{ l: 1, e: 6, c: 7 }}
            measures:
              - {{ id: M1, desc: 氨气检测报警, classify: "1-4", data_src: 1 }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{port}", client_id: dg-model-{port} }}
points:
  - {{ id: GT101, name: 氨气, unit_id: U1, driver: mqtt.main, topic: t/gt101 }}
rules:
  - {{ id: R1, type: high, point: GT101, measure: M1, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
"""


def call(daemon, method, path, body=None, token=None):
    return daemon.call(method, path, body, token=token)


def risk_unit(daemon, unit):
    _, body = daemon.get("/api/v1/risk-map")
    return next((u for u in body["units"] if u["id"] == unit), None)


def model_unit(daemon, unit):
    _, body = daemon.get("/api/v1/model")
    for hs in body["hazard_sources"]:
        for u in hs["units"]:
            if u["id"] == unit:
                return u
    return None


def setup(workdir, cleanup):
    """A broker and a daemon (not started) on CONFIG."""
    broker = start_broker(workdir, cleanup)
    daemon = start_daemon(workdir, cleanup, CONFIG.format(port=broker.port), start=False)
    return broker, daemon, daemon.config_path


def test_model_edits_end_to_end(workdir, cleanup):
    broker, daemon, cfg = setup(workdir, cleanup)
    engineer, operator = daemon.token("wang"), daemon.token("zhang")
    daemon.start()

    st, model = daemon.get("/api/v1/model")
    assert st == 200 and model["hazard_sources"][0]["units"][0]["events"][0]["measures"][0]["rules"] == ["R1"], model

    unit = {"parent": "HS1", "id": "U2", "name": "装卸区", "responsible": {"dept": "储运车间", "person": "wang"}}
    assert call(daemon, "POST", "/api/v1/model/units", unit)[0] == 401
    st, body = call(daemon, "POST", "/api/v1/model/units", unit, token=operator)
    assert st == 403, (st, body)
    st, body = call(daemon, "POST", "/api/v1/model/units", unit, token=engineer)
    assert st == 201 and body["id"] == "U2" and body["hazard_source"] == "HS1", (st, body)
    event = {"parent": "U2", "id": "E2", "name": "装卸臂泄漏", "accident_type": "中毒和窒息",
             "lec": {"l": 3, "e": 6, "c": 40}}
    st, body = call(daemon, "POST", "/api/v1/model/events", event, token=engineer)
    assert st == 201 and body["score"] == 720 and body["level"] == "red", (st, body)
    measure = {"parent": "E2", "id": "M2", "desc": "装卸前检查静电接地", "classify": "3-1", "data_src": 2,
               "control_level": "班组", "check_cycle": {"n": 2, "unit": "天"}, "work_days": True}
    st, body = call(daemon, "POST", "/api/v1/model/measures", measure, token=engineer)
    assert st == 201 and body["classify"] == "3-1" and body["rules"] == [], (st, body)
    assert body["check_cycle"] == {"n": 2, "unit": "天", "configured": True} and body["work_days"], body
    st, body = call(daemon, "POST", "/api/v1/model/measures", dict(measure, parent="E1"), token=engineer)
    assert st == 409 and body["field"] == "id", (st, body)

    u2 = risk_unit(daemon, "U2")
    assert u2 and u2["assessed"]["level"] == "red" and u2["current"]["level"] == "red", u2

    # A hazard source graded from what it holds: 60 t chlorine (β 4, Q 5), 120 people around (α 2):
    # R = 2 × 4 × 12 = 96 → 二级; then 70 t → R = 112 → 一级.
    src = {"id": "HS2", "name": "液氯库", "major_hazard": {"exposed_persons": 120,
                                                         "substances": [{"name": "液氯", "quantity": 60, "critical": 5}]}}
    st, body = call(daemon, "POST", "/api/v1/model/hazard-sources", src, token=engineer)
    assert st == 201 and body["major"] and body["major_grade"] == 2 and body["major_hazard"]["r"] == 96, (st, body)
    st, body = call(daemon, "PUT", "/api/v1/model/hazard-sources/HS2",
                    {"major_hazard": {"exposed_persons": 120, "substances": [{"name": "液氯", "quantity": 70,
                                                                           "critical": 5}]}}, token=engineer)
    assert st == 200 and body["major_grade"] == 1 and body["major_hazard"]["r"] == 112, (st, body)
    st, body = call(daemon, "PUT", "/api/v1/model/hazard-sources/HS2",
                    {"major_hazard": {"alpha": 1, "substances": [{"name": "某物", "quantity": 1, "critical": 5}]}},
                    token=engineer)
    assert st == 400 and body["field"].endswith("major_hazard.substances[0]"), (st, body)
    _, exp = daemon.get("/api/v1/export")
    hs2 = next(h for h in exp["hazardSources"] if h["hazardCode"] == "HS2")
    assert (hs2["isMajor"], hs2["hazardLevel"], hs2["rValue"]) == (1, 1, 112), hs2

    # Invalid values are refused by the loader's own rules, naming the field.
    st, body = call(daemon, "PUT", "/api/v1/model/events/E2", {"lec": {"l": 4, "e": 6, "c": 7}}, token=engineer)
    assert st == 400 and body["field"] == "hazard_sources[0].units[1].events[0].lec.l", (st, body)
    assert "not in the LEC table" in body["error"], body
    st, body = call(daemon, "PUT", "/api/v1/model/events/E2", {"units": []}, token=engineer)
    assert st == 400, (st, body)
    st, body = call(daemon, "PUT", "/api/v1/model/events/E2", {"measures": []}, token=engineer)
    assert st == 400 and body["field"] == "measures", (st, body)
    st, body = call(daemon, "PUT", "/api/v1/model/events/E9", {"name": "x"}, token=engineer)
    assert st == 404, (st, body)
    st, body = call(daemon, "PUT", "/api/v1/model/events/E2", {}, token=engineer)
    assert st == 400 and body["field"] == "body", (st, body)
    st, body = call(daemon, "PUT", "/api/v1/model/events/E2", {"id": "E3"}, token=engineer)
    assert st == 400 and body["field"] == "id", (st, body)
    st, body = call(daemon, "POST", "/api/v1/model/events", dict(event, id="E3", parent="U9"), token=engineer)
    assert st == 400 and body["field"] == "parent", (st, body)
    st, body = call(daemon, "POST", "/api/v1/model/units", {"parent": "HS1", "id": "U3", "responsible": {"person": "li"}},
                    token=engineer)
    assert st == 400 and body["field"] == "hazard_sources[0].units[2].responsible.person", (st, body)

    st, body = call(daemon, "PUT", "/api/v1/model/events/E2", {"lec": {"l": 1, "e": 6, "c": 7}}, token=engineer)
    assert st == 200 and body["score"] == 42 and body["level"] == "blue", (st, body)
    assert body["name"] == "装卸臂泄漏", body  # keys not given are kept
    u2 = risk_unit(daemon, "U2")
    assert u2["assessed"]["level"] == "blue", u2
    # Each change of the assessed level is recorded with the edit that made it.
    rows = db_rows(daemon.db_path, "SELECT from_level, to_level, cause FROM risk_level_history WHERE unit = 'U2'"
                   " ORDER BY id")
    assert rows == [{"from_level": 0, "to_level": 4, "cause": "assessment"},
                    {"from_level": 4, "to_level": 1, "cause": "assessment"}], rows

    # References still in use.
    st, body = call(daemon, "DELETE", "/api/v1/model/measures/M1", token=engineer)
    assert st == 409 and "R1" in body["error"], (st, body)
    st, body = call(daemon, "DELETE", "/api/v1/model/units/U1", token=engineer)
    assert st == 409, (st, body)
    st, body = call(daemon, "DELETE", "/api/v1/model/measures/M2", token=operator)
    assert st == 403, (st, body)
    st, body = call(daemon, "DELETE", "/api/v1/model/measures/M2", token=engineer)
    assert st == 200 and body["deleted"] == "measure", (st, body)
    assert model_unit(daemon, "U2")["events"][0]["measures"] == []
    st, hazard = call(daemon, "POST", "/api/v1/hazards", {"description": "装卸臂法兰渗漏", "danger_src": 1, "unit": "U2"},
                      token=operator)
    assert st == 201, (st, hazard)
    st, body = call(daemon, "DELETE", "/api/v1/model/units/U2", token=engineer)
    assert st == 409 and hazard["code"] in body["error"], (st, body)

    st, audit = daemon.get("/api/v1/model/audit")
    edits = audit["edits"]
    assert [(e["op"], e["kind"], e["entity"]) for e in edits] == [
        ("create", "unit", "U2"), ("create", "event", "E2"), ("create", "measure", "M2"),
        ("create", "hazard_source", "HS2"), ("update", "hazard_source", "HS2"),
        ("update", "event", "E2"), ("delete", "measure", "M2")], edits
    assert all(e["actor"] == "wang" for e in edits), edits
    assert (edits[4]["before"]["major_grade"], edits[4]["after"]["major_grade"]) == (2, 1), edits[4]
    upd = edits[5]
    assert upd["before"]["lec"] == {"l": 3, "e": 6, "c": 40} and upd["before"]["level"] == "red", upd
    assert upd["after"]["lec"] == {"l": 1, "e": 6, "c": 7} and upd["after"]["level"] == "blue", upd
    assert edits[0]["before"] is None and edits[0]["parent"] == "HS1", edits[0]
    assert edits[6]["after"] is None and edits[6]["before"]["id"] == "M2", edits[6]
    _, only = daemon.get("/api/v1/model/audit?kind=events&entity=E2")
    assert [e["op"] for e in only["edits"]] == ["create", "update"], only
    st, _ = daemon.get_status("/api/v1/model/audit?since=x")
    assert st == 400
    # A refused edit leaves no journal row.
    rows = db_rows(daemon.db_path, "SELECT count(*) AS n FROM model_edits")
    assert rows[0]["n"] == 7, rows

    # The edits stay in force across a restart and a reload.
    assert daemon.stop() == 0
    daemon.start()
    u2 = model_unit(daemon, "U2")
    assert u2 and u2["name"] == "装卸区" and u2["events"][0]["lec"] == {"l": 1, "e": 6, "c": 7}, u2
    assert u2["events"][0]["measures"] == [], u2
    assert risk_unit(daemon, "U2")["assessed"]["level"] == "blue"
    # A reload takes the file as it is now, with the edits over it.
    write_config(workdir, CONFIG.format(port=broker.port).replace("1#储罐", "一号储罐"))
    daemon.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "configuration reloaded" in daemon.read_log(), 10, "reload")
    assert model_unit(daemon, "U1")["name"] == "一号储罐"
    assert model_unit(daemon, "U2")["events"][0]["score"] == 42
    assert daemon.stop() == 0

    # The one-shot file export carries the model in force, edits included.
    out = os.path.join(workdir, "export")
    r = subprocess.run([DAEMON, "-c", daemon.config_path, "--db", daemon.db_path, "--export-dir", out, "--log-level", "error"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(out, "hazardSources.json"), encoding="utf-8") as f:
        sources = {h["hazardCode"]: h for h in json.load(f)}
    assert sources["HS2"]["hazardLevel"] == 1 and sources["HS2"]["rValue"] == 112, sources
    with open(os.path.join(out, "riskEvents.json"), encoding="utf-8") as f:
        events = {e["riskEventId"]: e for e in json.load(f)}
    assert events["E2"]["riskValue"] == 42, events


def test_edits_refused_before_anything_is_stored(workdir, cleanup):
    _, daemon, _ = setup(workdir, cleanup)
    engineer = daemon.token("wang")
    daemon.start()

    # Deeper than the YAML loader takes: every reload would skip it, so it is refused now.
    deep = "x"
    for _ in range(80):
        deep = [deep]
    for method, path, body in (("PUT", "/api/v1/model/units/U1", {"name": deep}),
                               ("POST", "/api/v1/model/units", {"id": "U9", "parent": "HS1", "name": deep})):
        st, r = call(daemon, method, path, body, engineer)
        assert st == 400 and r["field"] == "body" and "nesting deeper than" in r["error"], (method, st, r)
    # Ids a URL path segment carries unescaped only.
    for bad in ("U/2", "U 2", "../U2", "-U2", "装卸区", "U" * 65):
        st, r = call(daemon, "POST", "/api/v1/model/units", {"id": bad, "parent": "HS1", "name": "x"}, engineer)
        assert st == 400 and r["field"] == "id" and "A-Z a-z 0-9" in r["error"], (bad, st, r)
    assert db_rows(daemon.db_path, "SELECT count(*) AS n FROM model_edits")[0]["n"] == 0
    # A well-formed id can be created, edited and deleted.
    st, r = call(daemon, "POST", "/api/v1/model/units", {"id": "U-2.b_1", "parent": "HS1", "name": "装卸区"}, engineer)
    assert st == 201, (st, r)
    assert call(daemon, "PUT", "/api/v1/model/units/U-2.b_1", {"name": "二号装卸区"}, engineer)[0] == 200
    assert call(daemon, "DELETE", "/api/v1/model/units/U-2.b_1", None, engineer)[0] == 200
    assert daemon.stop() == 0
    daemon.start()
    assert model_unit(daemon, "U1")["name"] == "1#储罐" and model_unit(daemon, "U-2.b_1") is None
    assert "3 plant-model edits replayed, 0 skipped" in daemon.read_log()
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_model_edits_end_to_end, test_edits_refused_before_anything_is_stored]))
