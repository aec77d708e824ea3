#!/usr/bin/python3
"""End to end: MQTT sensor → alarm → hazard record → webhook, durable across kill -9."""
import os
import signal
import socket
import sys

from dgtest import check_config, db_rows, run_tests, start_plant, wait_connected, wait_until, write_config

CONFIG = """
site: {{ code: "410700-0001", name: 测试化工 }}
daemon: {{ history_flush: 200ms, hazard_deadline_days: 3 }}
persons:
  - {{ id: li, name: 李主任, roles: [workshop_director] }}
hazard_sources:
  - id: HS01
    name: 液氨储罐区
    major: true
    major_grade: 2
    units:
      - id: U01
        name: 1#液氨储罐
        responsible: {{ dept: 储运车间, person: li }}
        events:
          - id: E01
            name: 液氨泄漏中毒
            accident_type: 中毒和窒息
            lec: {{ l: 3, e: 6, c: 40 }}
            measures:
              - {{ id: M01, desc: 有毒气体检测报警器有效投用, classify: "1-4", data_src: 1 }}
              - {{ id: M02, desc: 装卸区气体检测有效, classify: "1-4", data_src: 1 }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{mqtt_port}", client_id: dg-test-{mqtt_port}, qos: 1 }}
points:
  - {{ id: GT101, name: 1#罐区氨气检测器, unit_id: U01, eng_unit: "%LEL", driver: mqtt.main, topic: t/gt101, path: value, ts_path: ts }}
  - {{ id: GT102, name: 装卸区氨气检测器, unit_id: U01, eng_unit: "%LEL", driver: mqtt.main, topic: t/gt102, path: data.ch4 }}
  - {{ id: TT101, name: 温度, driver: mqtt.main, topic: t/tt101 }}
rules:
  - id: R-GT101-H
    name: 1#罐区氨气浓度高
    type: high
    point: GT101
    measure: M01
    stages: [ {{ name: H, limit: 25, priority: high }}, {{ name: HH, limit: 50, priority: critical }} ]
    deadband: 2
    on_delay: 1s
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


def setup(workdir, cleanup, start=False):
    return start_plant(workdir, cleanup, CONFIG, start=start)


def publish_rise(broker, topic, values, fmt):
    for v in values:
        broker.publish(topic, fmt(v))


def test_alarm_hazard_webhook_and_crash_recovery(workdir, cleanup):
    broker, sink, daemon = setup(workdir, cleanup, start=True)

    # A rising gas reading crosses H (25 %LEL) and holds past the 1 s on-delay.
    publish_rise(broker, "t/gt101", [5, 12, 20, 26, 30], lambda v: '{"value": %s, "ts": 1700000000}' % v)
    alarm = wait_until(lambda: (a := daemon.alarm("R-GT101-H"))["state"] == "UNACK" and a, 15, "alarm UNACK")
    assert alarm["active"] and alarm["stage"] == "H" and alarm["priority"] == "high", alarm
    assert alarm["value"] == 30 or alarm["value"] == 26, alarm
    _, points = daemon.get("/api/v1/points")
    gt101 = next(p for p in points["points"] if p["id"] == "GT101")
    assert gt101["value"] == 30 and gt101["quality"] == "good" and gt101["ts_ms"] == 1700000000000, gt101

    # The hazard record: source 9 (管控措施失效), state 0 (整改中), linked to the plant model.
    # The alarm list shows the transition at once; the hazard row appears when it commits.
    hz = wait_until(lambda: (h := daemon.get("/api/v1/hazards")[1])["hazards"] and h, 10, "hazard committed")
    assert len(hz["hazards"]) == 1, hz
    h = hz["hazards"][0]
    assert h["danger_src"] == 9 and h["danger_state"] == 0 and h["danger_level"] == 0, h
    assert (h["measure"], h["event"], h["unit"], h["hazard_source"], h["rule"]) == ("M01", "E01", "U01", "HS01", "R-GT101-H"), h
    assert h["alarm_id"] == alarm["id"] and h["liable_person"] == "li" and h["occurrences"] == 1, h
    assert h["code"].startswith("410700-0001-YH-") and "管控措施失效" in h["description"], h
    assert 2.9 * 86400e3 < h["deadline_ms"] - h["created_ms"] <= 3 * 86400e3, h

    # The webhook: one activation notification with the alarm, the hazard and bilingual text.
    got = sink.wait_for(lambda r: len(r) >= 1)
    body = got[0]["body"]
    assert body["event"] == "activate" and body["alarm"]["rule"] == "R-GT101-H", body
    assert body["alarm"]["stage"] == "H" and body["alarm"]["limit"] == 25, body
    assert body["hazard"]["code"] == h["code"] and body["hazard"]["new"] is True, body
    assert body["unit"]["id"] == "U01" and body["hazard_source"]["major"] is True, body
    assert "氨气" in body["text_zh"] and "above H limit 25" in body["text_en"], body
    assert got[0]["delivery"], got[0]

    # Return to normal (below 25 - 2) and a second activation: one hazard, two occurrences.
    broker.publish("t/gt101", '{"value": 22.5}')
    wait_until(lambda: daemon.alarm("R-GT101-H")["state"] == "RTN_UNACK", 10, "RTN_UNACK")
    broker.publish("t/gt101", '{"value": 41}')
    wait_until(lambda: daemon.alarm("R-GT101-H")["state"] == "UNACK", 10, "re-alarm")
    wait_until(lambda: daemon.get("/api/v1/hazards")[1]["hazards"][0]["occurrences"] == 2, 10, "second occurrence")
    assert len(daemon.get("/api/v1/hazards")[1]["hazards"]) == 1
    sink.wait_for(lambda r: [e["body"]["event"] for e in r] == ["activate", "clear", "activate"])
    _, journal = daemon.get(f"/api/v1/alarms/{alarm['id']}/journal")
    assert [j["event"] for j in journal["journal"]] == ["activate", "clear", "activate"], journal

    # The receiver goes down; a second detector alarms. The transition commits, delivery pends.
    sink.fail = True
    broker.publish("t/gt102", '{"data": {"ch4": 33}}')
    wait_until(lambda: daemon.alarm("R-GT102-H")["state"] == "UNACK", 10, "GT102 alarm")
    wait_until(lambda: db_rows(daemon.db_path, "SELECT attempts FROM outbox WHERE state = 0 AND attempts >= 1"),
               15, "a failed delivery attempt recorded")
    hz = db_rows(daemon.db_path, "SELECT * FROM hazards WHERE measure = 'M02'")
    assert len(hz) == 1 and hz[0]["danger_level"] == 1, hz  # rule override: 重大

    # kill -9 mid-way, the receiver comes back, the daemon restarts.
    daemon.kill9()
    delivered_before = {e["delivery"] for e in sink.received}
    sink.fail = False
    daemon.start()
    got = sink.wait_for(lambda r: any(e["body"]["alarm"]["rule"] == "R-GT102-H" for e in r), 20)
    deliveries = [e["delivery"] for e in got]
    assert len(deliveries) == len(set(deliveries)), f"duplicate deliveries: {deliveries}"
    assert delivered_before < set(deliveries), deliveries
    wait_until(lambda: db_rows(daemon.db_path, "SELECT COUNT(*) n FROM outbox WHERE state <> 1")[0]["n"] == 0, 10,
               "every outbox row delivered")
    outbox = db_rows(daemon.db_path, "SELECT id FROM outbox")
    assert sorted(int(d) for d in deliveries) == sorted(r["id"] for r in outbox), (deliveries, outbox)

    # Alarm states survived the crash: no new activation, no new hazard.
    a1, a2 = daemon.alarm("R-GT101-H"), daemon.alarm("R-GT102-H")
    assert a1["state"] == "UNACK" and a1["activations"] == 2 and a1["stage"] == "H", a1
    assert a2["state"] == "UNACK" and a2["activations"] == 1, a2
    broker.publish("t/gt102", '{"data": {"ch4": 35}}')  # still in alarm: no new transition
    wait_until(lambda: next(p for p in daemon.get("/api/v1/points")[1]["points"] if p["id"] == "GT102")["value"] == 35, 10)
    assert daemon.alarm("R-GT102-H")["activations"] == 1
    assert len(daemon.get("/api/v1/hazards")[1]["hazards"]) == 2
    assert daemon.stop() == 0


def test_malformed_payloads_are_counted_not_fatal(workdir, cleanup):
    broker, sink, daemon = setup(workdir, cleanup, start=True)
    for payload in ["not json", '{"value": "abc"}', '{"other": 1}', "", "[1,2", '{"value": null}']:
        broker.publish("t/gt101", payload)
    wait_until(lambda: daemon.drivers()[0]["malformed"] >= 6, 10, "malformed counted")
    gt101 = daemon.points()["GT101"]
    assert gt101["quality"] == "bad_payload", gt101
    broker.publish("t/gt101", '{"value": 3}')
    wait_until(lambda: daemon.points()["GT101"]["quality"] == "good", 10)
    assert daemon.proc.poll() is None
    assert daemon.stop() == 0


def test_api_answers_and_rejects(workdir, cleanup):
    broker, sink, daemon = setup(workdir, cleanup)
    daemon.start()
    status, health = daemon.get("/healthz")
    assert status == 200 and health["status"] == "ok" and health["site"] == "410700-0001", health
    status, body = daemon.get_status("/api/v1/alarms?state=bogus")
    assert status == 400 and "state" in body["error"], body
    status, body = daemon.get_status("/api/v1/nothing")
    assert status == 404, body
    status, body = daemon.get_status("/api/v1/hazards/999")
    assert status == 404, body
    _, body = daemon.get("/api/v1/alarms?state=all")
    assert sorted(a["rule"] for a in body["alarms"]) == ["R-GT101-H", "R-GT102-H"], body
    assert all(a["state"] == "NORMAL" for a in body["alarms"]), body
    assert daemon.get("/api/v1/alarms")[1]["alarms"] == []
    assert daemon.stop() == 0


def test_sd_notify_ready_and_watchdog(workdir, cleanup):
    broker, sink, daemon = setup(workdir, cleanup)
    path = os.path.join(workdir, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(15)
    cleanup.append(sock.close)
    daemon.env.update(NOTIFY_SOCKET=path, WATCHDOG_USEC="400000")
    daemon.env.pop("WATCHDOG_PID", None)
    daemon.start(wait_ready=False)
    messages = []
    while not any("WATCHDOG=1" in m for m in messages):
        messages.append(sock.recv(4096).decode())
    assert any("READY=1" in m for m in messages), messages
    ready = next(m for m in messages if "READY=1" in m)
    assert "STATUS=" in ready and "rules" in ready, ready
    daemon.proc.send_signal(signal.SIGTERM)
    while not any("STOPPING=1" in m for m in messages):
        messages.append(sock.recv(4096).decode())
    assert daemon.proc.wait(20) == 0


def test_config_check_and_bad_config(workdir, cleanup):
    import subprocess
    from dgtest import DAEMON, SOURCE_DIR
    r = check_config(os.path.join(SOURCE_DIR, "examples", "demo-plant.yaml"))
    assert r.returncode == 0 and "OK" in r.stdout, (r.stdout, r.stderr)
    bad = write_config(workdir, "site: { code: x, name: y }\npoints:\n  - { id: P1, driver: mqtt.nobroker, topic: a }\n",
                       "bad.yaml")
    r = check_config(bad)
    assert r.returncode == 1 and "bad.yaml:3:" in r.stderr and "nobroker" in r.stderr, (r.stdout, r.stderr)
    db = os.path.join(workdir, "never.db")
    r = subprocess.run([DAEMON, "-c", bad, "--db", db], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and not os.path.exists(db), r.stderr


def test_sighup_reload_keeps_alarm_state(workdir, cleanup):
    broker, sink, daemon = setup(workdir, cleanup, start=True)
    broker.publish("t/gt102", '{"data": {"ch4": 30}}')
    wait_until(lambda: daemon.alarm("R-GT102-H")["state"] == "UNACK", 10, "GT102 alarm")
    with open(daemon.config_path, encoding="utf-8") as f:
        text = f.read()
    text = text.replace("channels:\n  - {", """  - id: R-TT101-H
    type: high
    point: TT101
    stages: [ { name: H, limit: 80, priority: medium } ]
channels:
  - {""")
    write_config(workdir, text)
    daemon.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "configuration reloaded" in daemon.read_log(), 15, "reload")
    a = daemon.alarm("R-GT102-H")
    assert a["state"] == "UNACK" and a["activations"] == 1, a
    wait_connected(daemon)
    broker.publish("t/tt101", "95")
    wait_until(lambda: daemon.alarm("R-TT101-H")["state"] == "UNACK", 10, "new rule alarms")
    # A broken config on reload is refused and the running one stays.
    write_config(workdir, "site: [broken\n")
    daemon.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "reload refused" in daemon.read_log(), 15, "reload refused")
    assert daemon.alarm("R-TT101-H")["state"] == "UNACK"
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([
        test_config_check_and_bad_config,
        test_api_answers_and_rejects,
        test_alarm_hazard_webhook_and_crash_recovery,
        test_malformed_payloads_are_counted_not_fatal,
        test_sd_notify_ready_and_watchdog,
        test_sighup_reload_keeps_alarm_state,
    ]))
