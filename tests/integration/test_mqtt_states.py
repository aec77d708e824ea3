#!/usr/bin/python3
"""MQTT states through the daemon: bare payload text and a JSON string field mapped to numbers
by a point's `states`, an unmapped string counted as malformed and flagged bad_payload, and bad
states maps refused at load."""
import sys

from dgtest import check_config, run_tests, start_broker, start_daemon, wait_until, write_config

CONFIG = """
site: {{ code: "410700-0005", name: 测试化工 }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{port}", client_id: dg-states-{port} }}
points:
  - {{ id: P101, driver: mqtt.main, topic: plant/pump/P101, states: {{ "RUN": 1, "STOP": 0, "FAULT": 2 }} }}
  - {{ id: V201, driver: mqtt.main, topic: plant/valve, path: pos, states: {{ OPEN: 1, CLOSED: 0, "true": 1 }} }}
"""


def driver(daemon):
    return daemon.drivers()[0]


def test_states_mapped(workdir, cleanup):
    broker = start_broker(workdir, cleanup)
    daemon = start_daemon(workdir, cleanup, CONFIG.format(port=broker.port), connected=True)

    wait_until(lambda: (broker.publish("plant/pump/P101", "FAULT"), daemon.points()["P101"]["value"] == 2)[1],
               15, "P101 FAULT", interval=0.3)
    broker.publish("plant/valve", '{"pos": "CLOSED"}')
    wait_until(lambda: daemon.points()["V201"]["value"] == 0 and daemon.points()["V201"]["quality"] == "good",
               10, "V201 CLOSED")
    broker.publish("plant/pump/P101", "STOP")
    wait_until(lambda: daemon.points()["P101"]["value"] == 0, 10, "P101 STOP")
    assert driver(daemon)["malformed"] == 0

    broker.publish("plant/valve", '{"pos": "HALF"}')
    wait_until(lambda: daemon.points()["V201"]["quality"] == "bad_payload", 10, "unmapped state flagged")
    broker.publish("plant/pump/P101", "BROKEN")
    wait_until(lambda: daemon.points()["P101"]["quality"] == "bad_payload", 10, "unmapped bare text flagged")
    assert driver(daemon)["malformed"] == 2, driver(daemon)
    broker.publish("plant/valve", '{"pos": true}')
    wait_until(lambda: daemon.points()["V201"]["quality"] == "good" and daemon.points()["V201"]["value"] == 1,
               10, "V201 true")
    assert daemon.stop() == 0


def test_bad_states_refused_at_load(workdir, cleanup):
    cases = [('"FAULT": 2', '"FAULT": high'), ('"FAULT": 2', '"RUN": 2'), ('{ "RUN": 1, "STOP": 0, "FAULT": 2 }', '[RUN]')]
    for old, new in cases:
        cfg = write_config(workdir, CONFIG.format(port=1883).replace(old, new, 1), "bad.yaml")
        r = check_config(cfg)
        assert r.returncode == 1 and "bad.yaml:6:" in r.stderr and "states" in r.stderr, (new, r.stderr)


if __name__ == "__main__":
    sys.exit(run_tests([test_states_mapped, test_bad_states_refused_at_load]))
