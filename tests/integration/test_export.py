#!/usr/bin/python3
"""Incremental export in the national field names: every exported record carries the required
fields, a hazard opened by a sensor breach is exported with the right values, and `since`
leaves out hazards and records that did not change after it."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dgtest import DAEMON, run_tests, start_plant, wait_until  # noqa: E402
from test_ledger_closed_loop import CONFIG, breach, post  # noqa: E402

REQUIRED = {
    "hazardSources": ["hazardCode", "hazardName", "hazardType", "isMajor", "hazardLevel", "rValue"],
    "riskUnits": ["riskUnitId", "riskUnitName", "hazardCode", "hazardDep", "hazardLiablePerson", "riskLevel"],
    "riskEvents": ["riskEventId", "riskEventName", "riskUnitId", "accidentType", "assessMethod", "riskValue",
                   "riskLevel"],
    "controlMeasures": ["controlMeasureId", "riskEventId", "riskMeasureDesc", "classify1", "classify2", "dataSrc",
                        "troubleshootContent", "controlLevel", "controlLiableDep", "controlLiablePerson"],
    "checkTasks": ["checkTaskId", "controlMeasureId", "riskEventId", "riskUnitId", "hazardCode", "checkCycle",
                   "checkCycleUnit", "taskStartTime", "taskEndTime", "taskDone"],
    "checkRecords": ["checkRecordId", "checkTaskId", "controlMeasureId", "checkStatus", "checkPerson", "checkTime",
                     "checkDesc", "hazardId"],
    "hazards": ["hazardId", "dangerCode", "hazardCode", "riskUnitId", "riskEventId", "controlMeasureId",
                "dangerLevel", "dangerSrc", "dangerManageType", "hazardDangerType", "dangerState", "dangerDesc",
                "dangerReason", "controlMeasures", "cost", "liablePerson", "dangerManageDeadline",
                "contingencyPlan", "registPerson", "rectifyPerson", "checkAcceptPerson", "checkAcceptComment",
                "checkAcceptTime", "overdueTime", "createTime", "updateTime"],
}


def check_fields(doc):
    for key, fields in REQUIRED.items():
        assert isinstance(doc[key], list), (key, doc)
        for rec in doc[key]:
            missing = [f for f in fields if f not in rec]
            assert not missing, (key, missing, rec)
            for f in fields:
                if f.endswith("Time") or f.endswith("Deadline"):
                    assert rec[f] is None or is_datetime(rec[f]), (key, f, rec)


def is_datetime(v):
    """The national interface's "yyyy-MM-dd HH:mm:ss" local time."""
    try:
        return isinstance(v, str) and time.strftime("%Y-%m-%d %H:%M:%S", time.strptime(v, "%Y-%m-%d %H:%M:%S")) == v
    except ValueError:
        return False


def local(ms):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms // 1000))


def test_export_round_trip(workdir, cleanup):
    broker, sink, daemon = start_plant(workdir, cleanup, CONFIG)

    st, doc = daemon.get("/api/v1/export?since=0")
    assert st == 200 and doc["hazards"] == [] and doc["enterpriseCode"] == "410700-0001", (st, doc)
    check_fields(doc)
    assert [u["riskUnitId"] for u in doc["riskUnits"]] == ["U01"], doc
    hs = doc["hazardSources"][0]
    assert (hs["hazardCode"], hs["isMajor"], hs["hazardLevel"], hs["hazardLevelName"]) == ("HS01", 1, 3, "三级"), hs
    assert abs(hs["rValue"] - 13.5) < 1e-9 and hs["alpha"] == 1.5, hs
    u = doc["riskUnits"][0]
    assert (u["hazardCode"], u["hazardDep"], u["hazardLiablePerson"]) == ("HS01", "储运车间", "li"), u
    e = doc["riskEvents"][0]
    assert (e["riskEventId"], e["accidentType"], e["assessMethod"], e["riskValue"]) == ("E01", "中毒和窒息", "LEC", 90), e
    ms = {m["controlMeasureId"]: m for m in doc["controlMeasures"]}
    assert set(ms) == {"M01", "M02", "M03"}, ms
    assert (ms["M01"]["classify1"], ms["M01"]["classify2"], ms["M01"]["dataSrc"]) == (1, "1-4", 1), ms["M01"]
    assert (ms["M03"]["classify1"], ms["M03"]["dataSrc"], ms["M03"]["controlLevel"]) == (3, 2, "班组"), ms["M03"]
    assert (ms["M03"]["controlLiableDep"], ms["M03"]["controlLiablePerson"]) == ("储运车间", "wang"), ms["M03"]

    breach(daemon, broker, "t/gt101", "R-GT101-H")
    h = wait_until(lambda: daemon.get("/api/v1/hazards")[1]["hazards"], 10, "hazard opened")[0]
    st, body = post(daemon, f"/api/v1/hazards/{h['id']}/rectify",
                    {"actor": "wang", "rectify_measures": "更换GT101探头并标定", "cost": 1200.5})
    assert st == 200, (st, body)

    st, doc = daemon.get("/api/v1/export?since=0")
    assert st == 200, (st, doc)
    check_fields(doc)
    assert len(doc["hazards"]) == 1, doc["hazards"]
    x = doc["hazards"][0]
    want = {"hazardId": h["id"], "dangerCode": h["code"], "hazardCode": "HS01", "riskUnitId": "U01",
            "riskEventId": "E01", "controlMeasureId": "M01", "dangerLevel": 0, "dangerSrc": 9, "dangerState": 0,
            "controlMeasures": "更换GT101探头并标定", "cost": 1200.5, "liablePerson": "li",
            "rectifyPerson": "wang", "dangerManageDeadline": local(h["deadline_ms"]), "checkAcceptTime": None}
    got = {k: x[k] for k in want}
    assert got == want, (got, want)
    assert x["dangerDesc"] and x["createTime"] <= x["updateTime"] <= local(doc["until"]), x
    assert x["createTime"] == local(h["created_ms"]), (x, h)

    # Nothing changed after the first export's end: the incremental export is empty.
    st, later = daemon.get(f"/api/v1/export?since={doc['until']}")
    assert st == 200 and later["hazards"] == [] and later["checkRecords"] == [], later
    assert len(later["riskUnits"]) == 1 and len(later["controlMeasures"]) == 3, later
    updated_ms = daemon.get(f"/api/v1/hazards/{h['id']}")[1]["updated_ms"]
    st, later = daemon.get(f"/api/v1/export?since={updated_ms - 1}")
    assert [y["hazardId"] for y in later["hazards"]] == [h["id"]], later

    for bad in ("-1", "abc", "12x", "1" * 40):
        st, body = daemon.get_status(f"/api/v1/export?since={bad}")
        assert st == 400 and body["error"].startswith("since"), (bad, st, body)
    # An over-long filter is refused, not taken for "no filter".
    for path, key in (("/api/v1/hazards?state=" + "9" * 40, "state"), ("/api/v1/alarms?state=" + "A" * 40, "state"),
                      ("/api/v1/inspections?status=" + "x" * 40, "status"),
                      ("/api/v1/reports/monthly?month=" + "2" * 40, "month")):
        st, body = daemon.get_status(path)
        assert st == 400 and body["error"].startswith(key + ": value too long"), (path, st, body)

    # The same export as JSON files, written by the CLI from the database.
    out = os.path.join(workdir, "export")
    r = subprocess.run([DAEMON, "-c", daemon.config_path, "--db", daemon.db_path, "--export-dir", out,
                        "--log-level", "error"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(out, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    assert manifest["enterpriseCode"] == doc["enterpriseCode"] and manifest["since"] == 0, manifest
    for kind in ("hazardSources", "riskUnits", "riskEvents", "controlMeasures", "checkTasks", "checkRecords", "hazards"):
        with open(os.path.join(out, kind + ".json"), encoding="utf-8") as f:
            records = json.load(f)
        assert manifest["counts"][kind] == len(records), (kind, manifest)
        if kind == "hazards":
            assert [y["hazardId"] for y in records] == [h["id"]] and records[0]["dangerSrc"] == 9, records
    r = subprocess.run([DAEMON, "-c", daemon.config_path, "--db", daemon.db_path, "--export-dir", out,
                        "--export-since", str(later["until"] + 60000)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(out, "hazards.json"), encoding="utf-8") as f:
        assert json.load(f) == []


if __name__ == "__main__":
    sys.exit(run_tests([test_export_round_trip]))
