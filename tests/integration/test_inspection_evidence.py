#!/usr/bin/python3
"""Inspection tasks of automatically monitored measures (data_src 1) are judged from the
monitoring history when their period is over: a period with healthy samples becomes 正常, one
without data becomes 未排查 and is announced. The past periods are written into the database
while the daemon is stopped; the verdict comes from the restarted daemon, so it is durable.
A person may still complete a monitored task by hand (evidence "person")."""
import sqlite3
import sys

from dgtest import connect_db, run_tests, start_plant, wait_until

CONFIG = """
site: {{ code: "410700-0001", name: 测试化工 }}
daemon: {{ history_flush: 200ms }}
persons:
  - {{ id: zhao, name: 赵安全员, roles: [safety, operator] }}
hazard_sources:
  - id: HS01
    units:
      - id: U01
        events:
          - id: E01
            lec: {{ l: 1, e: 6, c: 15 }}
            measures:
              - {{ id: M01, data_src: 1, check_cycle: {{ n: 1, unit: 小时 }} }}
              - {{ id: M02, data_src: 1, check_cycle: {{ n: 1, unit: hour }} }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{mqtt_port}", client_id: dg-evidence-{mqtt_port}, qos: 1 }}
points:
  - {{ id: GT101, unit_id: U01, driver: mqtt.main, topic: t/gt101, path: value }}
  - {{ id: GT102, unit_id: U01, driver: mqtt.main, topic: t/gt102, path: value }}
rules:
  - {{ id: R1, type: high, point: GT101, measure: M01, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
  - {{ id: R2, type: high, point: GT102, measure: M02, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
channels:
  - {{ id: hook, type: webhook, url: "http://127.0.0.1:{hook_port}/hook", timeout: 2s }}
policies:
  - {{ id: all, priorities: [low, medium, high, critical], channels: [hook] }}
"""

HOUR = 3600 * 1000


def post(daemon, path, body, actor):
    return daemon.post(path, body, actor=actor)


def test_monitored_periods_judged_after_restart(workdir, cleanup):
    broker, sink, daemon = start_plant(workdir, cleanup, CONFIG, start=False)
    db = daemon.db_path
    daemon.start()
    tasks = wait_until(lambda: (r := daemon.get("/api/v1/inspections")[1]["inspections"]) and len(r) == 2 and r,
                       10, "the current hour's tasks")
    assert all(t["data_src"] == 1 and t["check_cycle"] == 1 and t["check_cycle_unit"] == "小时" for t in tasks), tasks
    assert all(t["due_ms"] - t["start_ms"] == HOUR for t in tasks), tasks
    start = int(tasks[0]["start_ms"])
    assert daemon.stop() == 0

    # Two hours ago, a period already over: GT101 reported good data before it and throughout it
    # (a sample a minute, as the engine stores a live point), GT102 never reported.
    s0 = start - 2 * HOUR
    con = connect_db(db, readonly=False)
    with con:
        for m in ("M01", "M02"):
            con.execute("INSERT INTO inspection_tasks (measure, event, unit, hazard_source, check_cycle,"
                        " check_cycle_unit, start_ms, due_ms, data_src) VALUES (?, 'E01', 'U01', 'HS01', 1, '小时',"
                        " ?, ?, 1)", (m, s0, s0 + HOUR))
        con.executemany("INSERT INTO samples (point, ts_ms, value, quality) VALUES ('GT101', ?, 10, 0)",
                        [(s0 + k * 60000,) for k in range(-1, 61)])
    con.close()

    daemon.start()
    def judged():  # (an hour turning during the test closes the current tasks as well)
        done = [t for t in daemon.get("/api/v1/inspections?status=done")[1]["inspections"] if t["start_ms"] == s0]
        return len(done) == 2 and {t["measure"]: t for t in done}
    done = wait_until(judged, 15, "the past periods judged")
    ok, missed = done["M01"], done["M02"]
    assert ok["check_status"] == 0 and ok["check_status_zh"] == "正常", ok
    assert ok["checker"] == "monitoring" and ok["evidence"] == "monitoring", ok
    assert ok["evidence_zh"] == "自动化监控判定" and "周期内监测正常" in ok["note"], ok
    assert missed["check_status"] == 2 and missed["evidence"] == "system", missed
    assert "GT102" in missed["note"] and "no data" in missed["note"], missed
    got = sink.wait_for(lambda r: any(e["body"].get("event") == "missed" for e in r))
    bodies = [e["body"] for e in got if e["body"].get("event") == "missed" and e["body"]["task"]["start_ms"] == s0]
    assert len(bodies) == 1 and bodies[0]["task"]["measure"] == "M02", got
    assert "no data for point GT102" in bodies[0]["task"]["note"], bodies

    # The current hour's monitored task completed by hand before it is due.
    cur = next(t for t in daemon.get("/api/v1/inspections")[1]["inspections"] if t["measure"] == "M01")
    st, body = post(daemon, f"/api/v1/inspections/{cur['id']}/complete", {"check_status": 0}, "zhao")
    assert st == 200, (st, body)
    mine = next(t for t in daemon.get("/api/v1/inspections?status=done")[1]["inspections"] if t["id"] == cur["id"])
    assert mine["evidence"] == "person" and mine["evidence_zh"] == "人工排查" and mine["checker"] == "zhao", mine


if __name__ == "__main__":
    sys.exit(run_tests([test_monitored_periods_judged_after_restart]))
