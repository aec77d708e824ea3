#!/usr/bin/python3
"""What survives kill -9 right after a reading (docs/reliability.md). The broker has its PUBACK
before the daemon has judged the reading, so a reading that arrives milliseconds before the crash
may be lost; the guarantees are that a condition that persists is raised from the first sample
after the restart (also when its on-delay was running at the crash), and that a retained reading
is judged again at the subscription after the restart without anyone publishing it again."""
import sys

from dgtest import db_rows, run_tests, start_plant, wait_connected, wait_until

CONFIG = """
site: {{ code: "410700-0010", name: 测试化工 }}
daemon: {{ history_flush: 100ms }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{mqtt_port}", client_id: dg-crash-{mqtt_port}, qos: 1 }}
points:
  - {{ id: GT1, name: 氨气检测器, eng_unit: "%LEL", driver: mqtt.main, topic: t/gt1 }}
  - {{ id: GT2, name: 可燃气体检测器, eng_unit: "%LEL", driver: mqtt.main, topic: t/gt2 }}
  - {{ id: GT3, name: 尾矿库浸润线, eng_unit: m, driver: mqtt.main, topic: t/gt3 }}
rules:
  - {{ id: R-GT1-H, type: high, point: GT1, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
  - {{ id: R-GT2-H, type: high, point: GT2, on_delay: 2s, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
  - {{ id: R-GT3-H, type: high, point: GT3, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
channels:
  - {{ id: hook, type: webhook, url: "http://127.0.0.1:{hook_port}/hook", timeout: 5s }}
policies:
  - {{ id: all, priorities: [low, medium, high, critical], channels: [hook] }}
"""


def journal(daemon, rule):
    return [r["event"] for r in db_rows(daemon.db_path, "SELECT j.event FROM alarm_journal j JOIN alarms a"
                                                        " ON a.id = j.alarm_id WHERE a.rule = ? ORDER BY j.id", (rule,))]


def point(daemon, pid):
    return next(p for p in daemon.get("/api/v1/points")[1]["points"] if p["id"] == pid)


def restart(daemon):
    daemon.start()
    wait_connected(daemon)


def deliveries(sink, rule):
    return [e for e in sink.received if e["body"].get("alarm", {}).get("rule") == rule]


def test_persisting_reading_after_kill9_is_raised_by_the_next_sample(workdir, cleanup):
    broker, sink, daemon = start_plant(workdir, cleanup, CONFIG)
    broker.publish("t/gt1", "30")  # QoS 1: returns once the broker has it
    daemon.kill9()                 # within milliseconds: the alarm may or may not be committed
    restart(daemon)
    broker.publish("t/gt1", "31")  # the condition persists: the device's next sample
    wait_until(lambda: journal(daemon, "R-GT1-H") == ["activate"], 10, "the activation journaled once")
    assert daemon.alarm("R-GT1-H")["state"] == "UNACK"
    sink.wait_for(lambda r: len(deliveries(sink, "R-GT1-H")) >= 1, 10)
    assert {e["delivery"] for e in deliveries(sink, "R-GT1-H")} and \
        {e["body"]["event"] for e in deliveries(sink, "R-GT1-H")} == {"activate"}, sink.received
    assert daemon.stop() == 0


def test_on_delay_running_at_kill9_restarts_from_the_next_sample(workdir, cleanup):
    broker, sink, daemon = start_plant(workdir, cleanup, CONFIG)
    broker.publish("t/gt2", "30")
    wait_until(lambda: point(daemon, "GT2")["value"] == 30, 10, "GT2 judged (its 2 s on-delay running)")
    assert daemon.alarm("R-GT2-H")["state"] == "NORMAL"
    daemon.kill9()
    assert journal(daemon, "R-GT2-H") == [], "nothing was committed before the on-delay ran out"
    restart(daemon)
    assert daemon.alarm("R-GT2-H")["state"] == "NORMAL"
    broker.publish("t/gt2", "31")
    wait_until(lambda: journal(daemon, "R-GT2-H") == ["activate"], 15,
               "the activation journaled after the on-delay, counted from the first sample")
    alarm = daemon.alarm("R-GT2-H")
    assert alarm["state"] == "UNACK" and alarm["value"] == 31, alarm
    sink.wait_for(lambda r: len(deliveries(sink, "R-GT2-H")) == 1, 10)
    assert daemon.stop() == 0


def test_retained_reading_is_judged_at_resubscription(workdir, cleanup):
    broker, sink, daemon = start_plant(workdir, cleanup, CONFIG)
    broker.publish("t/gt3", "30", retain=True)
    daemon.kill9()
    restart(daemon)  # nobody publishes again: the broker's retained copy is all there is
    wait_until(lambda: journal(daemon, "R-GT3-H") == ["activate"], 10, "the retained reading judged after the restart")
    assert daemon.alarm("R-GT3-H")["state"] == "UNACK"
    assert point(daemon, "GT3")["value"] == 30
    # A second restart judges the retained value again without raising the alarm twice.
    assert daemon.stop() == 0
    restart(daemon)
    wait_until(lambda: point(daemon, "GT3")["value"] == 30, 10, "the retained reading received again")
    assert journal(daemon, "R-GT3-H") == ["activate"]
    assert daemon.alarm("R-GT3-H")["state"] == "UNACK"
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_persisting_reading_after_kill9_is_raised_by_the_next_sample,
                        test_on_delay_running_at_kill9_restarts_from_the_next_sample,
                        test_retained_reading_is_judged_at_resubscription]))
