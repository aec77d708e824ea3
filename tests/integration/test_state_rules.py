#!/usr/bin/python3
"""Digital inputs through `state` rules, end to end: an ESD trip input over MQTT alarms while it
is tripped and opens a hazard on its measure; a valve's state text (OPEN/CLOSED) alarms on every
change and returns to normal after the rule's off_delay without a new sample. Real mosquitto,
webhook receiver and daemon."""
import sys

from dgtest import run_tests, start_plant, wait_until
from test_operator_tokens import post

CONFIG = """
site: {{ code: "T-0001", name: 测试 }}
persons:
  - {{ id: zhang, name: 张工, roles: [operator] }}
hazard_sources:
  - id: HS1
    name: 液氨罐区
    units:
      - id: U1
        name: 1#储罐
        events:
          - id: E1
            accident_type: 中毒和窒息
            lec: {{ l: 1, e: 6, c: 7 }}
            measures:
              - {{ id: M1, desc: 紧急切断系统有效投用, classify: "1-5", data_src: 1 }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{mqtt_port}", client_id: dg-state-{mqtt_port}, qos: 1 }}
points:
  - {{ id: XS101, name: 罐区ESD联锁, driver: mqtt.main, topic: t/xs101 }}
  - {{ id: XV101, name: 进料切断阀, driver: mqtt.main, topic: t/xv101, states: {{ OPEN: 1, CLOSED: 0 }} }}
rules:
  - {{ id: ESD-101, type: state, point: XS101, value: 1, priority: critical, measure: M1 }}
  - {{ id: XV-101-CHG, type: state, point: XV101, change: true, priority: low, off_delay: 1s }}
channels:
  - {{ id: hook, type: webhook, url: "http://127.0.0.1:{hook_port}/hook", timeout: 2s }}
policies:
  - {{ id: all, priorities: [low, medium, high, critical], channels: [hook] }}
"""


def test_trip_input_and_change_alarm(workdir, cleanup):
    broker, sink, daemon = start_plant(workdir, cleanup, CONFIG)

    # The trip input: 0 is normal, 1 alarms (stage "state", its value) and opens a hazard.
    broker.publish("t/xs101", "0")
    wait_until(lambda: [p for p in daemon.get("/api/v1/points")[1]["points"] if p["id"] == "XS101"][0]["value"] == 0,
               10, "XS101 read")
    assert daemon.alarm("ESD-101")["state"] == "NORMAL"
    broker.publish("t/xs101", "1")
    a = wait_until(lambda: (x := daemon.alarm("ESD-101"))["state"] == "UNACK" and x, 10, "the trip alarm")
    assert a["stage"] == "state" and a["priority"] == "critical" and a["value"] == 1, a
    h = wait_until(lambda: daemon.get("/api/v1/hazards")[1]["hazards"], 10, "a hazard on M1")[0]
    assert h["measure"] == "M1" and h["danger_src"] == 9, h
    got = sink.wait_for(lambda r: any(e["body"].get("alarm", {}).get("rule") == "ESD-101" for e in r))
    assert got, got
    broker.publish("t/xs101", "1")  # still tripped: nothing changes
    broker.publish("t/xs101", "0")
    wait_until(lambda: daemon.alarm("ESD-101")["state"] == "RTN_UNACK", 10, "the trip cleared")

    # The valve: the first state is the reference; a change alarms and clears by itself.
    broker.publish("t/xv101", "CLOSED")
    wait_until(lambda: [p for p in daemon.get("/api/v1/points")[1]["points"] if p["id"] == "XV101"][0]["value"] == 0,
               10, "XV101 read")
    assert daemon.alarm("XV-101-CHG")["state"] == "NORMAL"
    broker.publish("t/xv101", "OPEN")
    a = wait_until(lambda: (x := daemon.alarm("XV-101-CHG"))["active"] and x, 10, "the change alarm")
    assert a["stage"] == "change" and a["value"] == 1 and a["priority"] == "low", a
    wait_until(lambda: daemon.alarm("XV-101-CHG")["state"] == "RTN_UNACK", 10, "back to normal after off_delay")
    st, body = post(daemon, f"/api/v1/alarms/{a['id']}/ack", {}, token=daemon.token("zhang"))
    assert st == 200 and body["state"] == "NORMAL", (st, body)
    journal = wait_until(lambda: (j := daemon.get(f"/api/v1/alarms/{a['id']}/journal")[1]["journal"]) and
                         j[0]["event"] == "ack" and j, 10, "the ack journaled")
    assert [j["event"] for j in journal][::-1] == ["activate", "clear", "ack"], journal
    # the off_delay (1 s) held it; the timer runs on the loop clock, the journal stamps wall time
    assert journal[1]["ts_ms"] - journal[2]["ts_ms"] >= 990, journal
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_trip_input_and_change_alarm]))
