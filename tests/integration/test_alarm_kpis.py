"""Alarm KPIs from the journal: a chattering alarm toggled twelve times shows up as a flood, as
chattering and at the top of the most frequent alarms; an alarm active for more than a day is
standing. Real mosquitto and the real daemon on loopback."""
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dgtest import run_tests, start_broker, start_daemon, wait_until  # noqa: E402

CONFIG = """
site: {{ code: T1 }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{mqtt_port}", client_id: dg-kpi-{mqtt_port} }}
points:
  - {{ id: GT1, driver: mqtt.main, topic: t/gt1 }}
  - {{ id: GT2, driver: mqtt.main, topic: t/gt2 }}
rules:
  - {{ id: R1, type: high, point: GT1, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
  - {{ id: R2, type: high, point: GT2, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
"""


def test_kpis(workdir, cleanup):
    broker = start_broker(workdir, cleanup)
    daemon = start_daemon(workdir, cleanup, CONFIG.format(mqtt_port=broker.port), connected=True)
    status, k = daemon.get("/api/v1/alarm-kpis")
    assert status == 200 and k["alarms_last_24h"] == 0 and k["floods"] == [] and k["top10"] == [], k
    for i in range(12):
        broker.publish("t/gt1", "30")
        wait_until(lambda: daemon.alarm("R1")["activations"] == i + 1, 10, f"activation {i + 1}")
        broker.publish("t/gt1", "10")
        wait_until(lambda: not daemon.alarm("R1")["active"], 10, f"clear {i + 1}")
    broker.publish("t/gt2", "30")
    wait_until(lambda: daemon.alarm("R2")["active"], 10, "R2 active")
    # The journal commits on the writer thread: wait for the last activation to land.
    k = wait_until(lambda: (lambda k: k if k["alarms_last_24h"] == 13 else None)(daemon.get("/api/v1/alarm-kpis")[1]),
                   10, "13 activations in the journal")
    r1, r2 = daemon.alarm("R1")["id"], daemon.alarm("R2")["id"]
    assert k["alarms_last_10min"] == 13 and k["alarms_last_24h"] == 13, k
    assert len(k["floods"]) == 1, k["floods"]
    assert [c["rule"] for c in k["chattering"]] == ["R1"] and k["chattering"][0]["max_activations_per_min"] >= 3, k
    assert k["top10"][0] == {"alarm_id": r1, "rule": "R1", "activations": 12}, k["top10"]
    assert k["top10"][1] == {"alarm_id": r2, "rule": "R2", "activations": 1}, k["top10"]
    assert k["standing"] == [], k["standing"]  # R2 has been active for seconds, not a day
    # Pretend R2 has been active for 25 hours.
    daemon.stop()
    con = sqlite3.connect(daemon.db_path)
    with con:
        con.execute("UPDATE alarms SET first_active_ms = ? WHERE rule = 'R2'", (int(time.time() * 1000) - 25 * 3600 * 1000,))
    con.close()
    daemon.start()
    _, k = daemon.get("/api/v1/alarm-kpis")
    assert [(s["alarm_id"], s["rule"], s["state"]) for s in k["standing"]] == [(r2, "R2", "UNACK")], k["standing"]


if __name__ == "__main__":
    sys.exit(run_tests([test_kpis]))
