#!/usr/bin/python3
"""Upload to the regulator's platform in the national record format, against a local platform
simulator (platform_sim.py) written from the published field lists: every record type the
plant produces arrives and passes the platform's checks, the pull export carries the same
records, a measure deleted from the plant model arrives with deleted = 1, kill -9 during an
upload loses nothing and duplicates only what the platform had already taken, and a platform
that was down receives everything in order afterwards."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dgtest import DAEMON, Daemon, Mosquitto, db_rows, run_tests, wait_connected, wait_until  # noqa: E402
from platform_sim import Platform  # noqa: E402
from webhook_sink import Sink  # noqa: E402
from test_model_api import call  # noqa: E402

AES_KEY = "HAYJJWWYTSJJHMYH"
TOKEN = "platform-token-1"

CONFIG = """
site: {{ code: "410700-0001", name: 测试化工 }}
daemon: {{ history_flush: 200ms }}
national:
  company_code: "410700123"
  credit_code: 91350100M000100Y43
  hazard_codes: {{ HS01: "410700123001" }}
  upload:
    url: "http://127.0.0.1:{platform_port}"
    token_file: {token_file}
    aes_key: {aes_key}
    page_size: 3
    interval_s: 1
    timeout_s: {timeout_s}
    max_backoff_s: 1
persons:
  - {{ id: li, name: 李主任, phone: "13900000001", roles: [workshop_director] }}
  - {{ id: wang, name: 王工, phone: "13900000002", roles: [maintenance, engineer] }}
  - {{ id: zhao, name: 赵总监, phone: "13900000003", roles: [safety_director] }}
hazard_sources:
  - id: HS01
    name: 液氨储罐区
    units:
      - id: U01
        name: 1#液氨储罐
        responsible: {{ dept: 储运车间, person: li }}
        events:
          - id: E01
            name: 液氨泄漏中毒
            accident_type: 中毒和窒息
            lec: {{ l: 3, e: 6, c: 15 }}
            measures:
              - {{ id: M01, desc: 有毒气体检测报警器有效投用, classify: "1-4", data_src: 1 }}
              - {{ id: M03, desc: 储罐区巡检无泄漏, classify: "3-1", data_src: 2, troubleshoot: 检查罐区有无泄漏,
                   responsible: {{ dept: 储运车间, person: wang }} }}
              - {{ id: M04, desc: 装卸前静电接地检查, classify: "3-2", data_src: 2, troubleshoot: 检查静电接地 }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{mqtt_port}", client_id: dg-nat-{mqtt_port}, qos: 1 }}
points:
  - {{ id: GT101, name: 1#罐区氨气检测器, unit_id: U01, driver: mqtt.main, topic: t/gt101, path: value }}
rules:
  - {{ id: R-GT101-H, type: high, point: GT101, measure: M01, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
channels:
  - {{ id: hook, type: webhook, url: "http://127.0.0.1:{hook_port}/hook", timeout: 2s }}
policies:
  - {{ id: all, priorities: [high, critical], channels: [hook] }}
"""


def start(workdir, cleanup, timeout_s=5, slow_s=0):
    platform = Platform(aes_key=AES_KEY, token=TOKEN)
    if slow_s:
        platform.mode, platform.delay_s = "slow", slow_s  # takes each page, answers slow_s later
    platform.start()
    cleanup.append(platform.stop)
    broker = Mosquitto(workdir).start()
    cleanup.append(broker.stop)
    sink = Sink(port=0).start()
    cleanup.append(sink.stop)
    cfg, token_file = os.path.join(workdir, "plant.yaml"), os.path.join(workdir, "platform-token")
    with open(token_file, "w", encoding="utf-8") as f:
        f.write(TOKEN + "\n")
    os.chmod(token_file, 0o600)
    with open(cfg, "w", encoding="utf-8") as f:
        f.write(CONFIG.format(platform_port=platform.port, token_file=token_file, aes_key=AES_KEY,
                              mqtt_port=broker.port, timeout_s=timeout_s, hook_port=sink.port))
    daemon = Daemon(workdir, cfg, os.path.join(workdir, "dg.db"))
    cleanup.append(lambda: daemon.stop(9))
    daemon.start()
    wait_connected(daemon)
    daemon.sink = sink
    return platform, broker, daemon


def by_desc(records, desc):
    return next(r for r in records.values() if r.get("riskMeasureDesc") == desc)


def settled(daemon):
    _, st = daemon.get("/api/v1/upload")
    return st["pending"] == 0 and not st["in_flight"]


def open_task(daemon, measure):
    return wait_until(lambda: next((t for t in daemon.get("/api/v1/inspections")[1]["inspections"]
                                    if t["measure"] == measure and t.get("check_status") is None), None),
                      20, f"an open inspection task of {measure}")


def inspect(daemon, measure, status, note):
    from test_ledger_closed_loop import post
    task = open_task(daemon, measure)
    st, body = post(daemon, f"/api/v1/inspections/{task['id']}/complete", {"check_status": status, "note": note},
                    "wang")
    assert st == 200, (st, body)
    return body


def test_round_trip_and_deletion(workdir, cleanup):
    platform, broker, daemon = start(workdir, cleanup)
    wait_until(lambda: len(platform.snapshot()[0]["checkTasks"]) == 3, 20, "the model on the platform")
    recs, _, errors = platform.snapshot()
    assert not errors, errors
    assert len(recs["hazardSources"]) == 1 and len(recs["riskUnits"]) == 1 and len(recs["riskEvents"]) == 1
    hs = next(iter(recs["hazardSources"].values()))
    assert hs["hazardCode"] == "410700123001" and hs["companyCode"] == "410700123", hs
    unit = next(iter(recs["riskUnits"].values()))
    # LEC 3·6·15 = 270: orange, national 2 较大
    assert (unit["riskClass"], unit["hazardLiablePerson"], unit["hazardCode"]) == (2, "李主任", "410700123001"), unit
    m03 = by_desc(recs["controlMeasures"], "储罐区巡检无泄漏")
    assert (m03["classify1"], m03["classify2"], m03["dataSrc"], m03["deleted"]) == ("3", "3-1", "2", "0"), m03
    task = next(t for t in recs["checkTasks"].values() if t["riskMeasureId"] == m03["id"])
    assert (task["checkCycleUnit"], task["workType"], task["troubleshootContent"]) == ("天", "0", "检查罐区有无泄漏")

    # the monthly report of the month before: made at start, stored, pushed, announced
    now = time.localtime()
    month = f"{now.tm_year - (now.tm_mon == 1)}-{(now.tm_mon - 2) % 12 + 1:02d}"
    wait_until(lambda: platform.snapshot()[0]["monthlyReports"], 20, "the monthly report on the platform")
    rep = next(iter(platform.snapshot()[0]["monthlyReports"].values()))
    assert rep["reportMonth"] == month and rep["report"]["month"] == month, rep
    hooks = daemon.sink.wait_for(lambda r: any(e["body"].get("type") == "monthly_report" for e in r))
    note = next(e["body"] for e in hooks if e["body"].get("type") == "monthly_report")
    assert note["month"] == month and note["to"] == ["赵总监"], note

    # an inspection that finds a hazard: record and hazard arrive, the hazard names the record
    body = inspect(daemon, "M03", 1, "罐区法兰渗漏")
    assert body["hazard"], body
    wait_until(lambda: platform.snapshot()[0]["hazards"], 20, "the hazard on the platform")
    recs, _, errors = platform.snapshot()
    assert not errors, errors
    rec = next(iter(recs["checkRecords"].values()))
    assert (rec["checkStatus"], rec["checkTaskId"], rec["mobileMe"]) == ("1", task["id"], "13900000002"), rec
    hz = next(iter(recs["hazards"].values()))
    assert (hz["checkRecordId"], hz["riskMeasureId"], hz["dangerState"]) == (rec["id"], m03["id"], "0"), hz
    assert hz["hazardCode"] == "410700123001" and hz["registrant"] == "王工", hz

    # a report the platform could not place (no unit, no measure) is refused at the door
    from test_ledger_closed_loop import post
    st, body = post(daemon, "/api/v1/hazards", {"description": "地面油污", "danger_src": 1}, "wang")
    assert st == 400 and body["error"].startswith("unit: required"), (st, body)

    # a sensor breach opens a monitoring hazard on M01 (no inspection record behind it)
    broker.publish("t/gt101", '{"value": 40}')
    wait_until(lambda: len(platform.snapshot()[0]["hazards"]) == 2, 20, "the monitoring hazard")

    # a shutdown (停车检修) of the unit, then withdrawn: both versions reach the platform
    st, body = call(daemon, "POST", "/api/v1/shutdowns", {"hazard_source": "HS01", "unit": "U01",
                    "start_ms": int(time.time() * 1000), "reason": "年度检修"}, token=daemon.token("wang"))
    assert st == 201, (st, body)
    assert call(daemon, "POST", "/api/v1/shutdowns", {"hazard_source": "HS01", "unit": "U09", "start_ms": 1,
                "reason": "x"}, token=daemon.token("wang"))[0] == 400
    wait_until(lambda: platform.snapshot()[0]["shutdownRecords"], 20, "the shutdown record on the platform")
    sd = next(iter(platform.snapshot()[0]["shutdownRecords"].values()))
    assert (sd["riskUnitId"], sd["stopReason"], sd["deleted"]) == (unit["id"], "年度检修", "0"), sd
    assert call(daemon, "DELETE", f"/api/v1/shutdowns/{body['id']}", token=daemon.token("wang"))[0] == 200
    wait_until(lambda: platform.snapshot()[0]["shutdownRecords"][sd["id"]]["deleted"] == "1", 20,
               "the withdrawn shutdown record")

    # the pull export carries the same records, ids included
    st, doc = daemon.get("/api/v1/export?since=0")
    assert st == 200 and doc["profile"] == "national", doc
    recs, _, _ = platform.snapshot()
    for kind in ("hazardSources", "riskUnits", "riskEvents", "controlMeasures", "checkTasks", "checkRecords",
                 "hazards", "shutdownRecords"):
        assert {r["id"] for r in doc[kind]} == set(recs[kind]), kind

    # M04 deleted from the plant model: it and its standing task arrive with deleted = 1
    m04 = by_desc(recs["controlMeasures"], "装卸前静电接地检查")
    st, body = call(daemon, "DELETE", "/api/v1/model/measures/M04", token=daemon.token("wang"))
    assert st == 200, (st, body)
    wait_until(lambda: platform.snapshot()[0]["controlMeasures"][m04["id"]]["deleted"] == "1", 20,
               "the deleted measure on the platform")
    recs, _, errors = platform.snapshot()
    assert not errors, errors
    gone = recs["controlMeasures"][m04["id"]]
    assert (gone["riskEventId"], gone["riskMeasureDesc"]) == (m04["riskEventId"], m04["riskMeasureDesc"]), gone
    def task_of_m04():
        return next(t for t in platform.snapshot()[0]["checkTasks"].values() if t["riskMeasureId"] == m04["id"])
    wait_until(lambda: task_of_m04()["deleted"] == "1", 20, "the deleted measure's standing task")
    wait_until(lambda: settled(daemon), 20, "the upload queue to drain")

    # the export files, written by the CLI from the database: the same national records
    out = os.path.join(workdir, "export")
    r = subprocess.run([DAEMON, "-c", daemon.config_path, "--db", daemon.db_path, "--export-dir", out,
                        "--log-level", "error"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(out, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    assert manifest["companyCode"] == "410700123", manifest
    recs, _, _ = platform.snapshot()
    for kind, got in recs.items():
        with open(os.path.join(out, kind + ".json"), encoding="utf-8") as f:
            assert {x["id"] for x in json.load(f)} == set(got), kind


def test_platform_timeout_then_taken(workdir, cleanup):
    platform, broker, daemon = start(workdir, cleanup, timeout_s=1, slow_s=2)  # answers after the client gave up

    def timed_out():
        _, st = daemon.get("/api/v1/upload")
        return any("timeout" in (k["last_error"] or "").lower() for k in st["kinds"])
    wait_until(timed_out, 20, "a page that timed out")
    platform.mode = "up"
    wait_until(lambda: settled(daemon), 30, "the upload queue to drain")
    recs, arrivals, errors = platform.snapshot()
    assert not errors, errors
    st, doc = daemon.get("/api/v1/export?since=0")
    for kind in ("hazardSources", "riskUnits", "riskEvents", "controlMeasures", "checkTasks"):
        assert {r["id"] for r in doc[kind]} == set(recs[kind]), kind


def test_kill9_during_upload(workdir, cleanup):
    platform, broker, daemon = start(workdir, cleanup, timeout_s=30, slow_s=3)
    wait_until(lambda: platform.snapshot()[1], 20, "a first page taken")
    # A version is its whole record: two versions of one second (a standing check task whose
    # first task was just created) share an updateDate.
    def version(k, i, r):
        return k, i, json.dumps(r, sort_keys=True, ensure_ascii=False)
    taken_before = {version(*a) for a in platform.snapshot()[1]}
    daemon.kill9()                                    # its acknowledgement never commits
    seen_before_crash = {version(*a) for a in platform.snapshot()[1]}
    assert taken_before <= seen_before_crash
    platform.mode = "up"
    daemon.start()
    wait_until(lambda: settled(daemon), 30, "the upload queue to drain after the restart")
    recs, arrivals, errors = platform.snapshot()
    assert not errors, errors
    st, doc = daemon.get("/api/v1/export?since=0")
    for kind in ("hazardSources", "riskUnits", "riskEvents", "controlMeasures", "checkTasks"):
        assert {r["id"] for r in doc[kind]} == set(recs[kind]), kind   # nothing lost
    counts = {}
    for a in arrivals:
        counts[version(*a)] = counts.get(version(*a), 0) + 1
    dups = {key for key, n in counts.items() if n > 1}
    assert dups, "the page taken but not acknowledged before the crash is sent again"
    assert dups <= seen_before_crash, dups                            # re-sent only what it had taken
    assert all(n <= 2 for n in counts.values()), counts


def test_platform_down_then_everything_in_order(workdir, cleanup):
    platform, broker, daemon = start(workdir, cleanup)
    wait_until(lambda: settled(daemon) and platform.snapshot()[0]["checkTasks"], 20, "the model on the platform")
    platform.mode = "down"
    inspect(daemon, "M03", 1, "罐区法兰渗漏")
    broker.publish("t/gt101", '{"value": 40}')
    wait_until(lambda: len(db_rows(daemon.db_path, "SELECT id FROM hazards")) == 2, 20, "two hazards")

    def stuck():
        _, st = daemon.get("/api/v1/upload")
        k = {x["kind"]: x for x in st["kinds"]}
        return st["pending"] >= 3 and k["checkRecords"]["last_error"] and k["checkRecords"]["oldest_pending_ms"]
    wait_until(stuck, 20, "records pending with the platform's error")
    _, st = daemon.get("/api/v1/upload")
    assert "503" in next(x for x in st["kinds"] if x["kind"] == "checkRecords")["last_error"], st
    wait_until(lambda: platform.posts >= 6, 20, "retries while the platform is down")
    platform.mode = "up"
    wait_until(lambda: settled(daemon), 30, "the upload queue to drain")
    recs, arrivals, errors = platform.snapshot()
    assert not errors, errors                 # every reference named a record already received
    assert len(recs["checkRecords"]) == 1 and len(recs["hazards"]) == 2, recs
    order = [k for k, _, _ in arrivals]
    assert order.index("checkRecords") < order.index("hazards"), order


if __name__ == "__main__":
    sys.exit(run_tests([test_round_trip_and_deletion, test_platform_timeout_then_taken, test_kill9_during_upload,
                        test_platform_down_then_everything_in_order]))
