#!/usr/bin/python3
"""MQTT wildcard_topics through the daemon: a message on plant/<area>/gas/<id> feeds the point
whose id is the fourth topic level (JSON path and bare number forms), an exact topic keeps
working beside it, an id naming no point is counted as unknown_point, and a filter whose id
level is not a '+' is refused at load."""
import sys

from dgtest import check_config, run_tests, start_broker, start_daemon, wait_until, write_config

CONFIG = """
site: {{ code: "410700-0005", name: 测试化工 }}
mqtt:
  - id: main
    uri: "tcp://127.0.0.1:{port}"
    client_id: dg-wildcards-{port}
    wildcard_topics:
      - {{ filter: "plant/+/gas/+", id_level: 4, path: value }}
      - {{ filter: "raw/+", id_level: 2 }}
points:
  - {{ id: GT101, driver: mqtt.main }}
  - {{ id: GT102, driver: mqtt.main, scale: 10 }}
  - {{ id: LT201, driver: mqtt.main, topic: tank/level }}
"""


def driver(daemon):
    return daemon.drivers()[0]


def test_point_id_from_topic_level(workdir, cleanup):
    broker = start_broker(workdir, cleanup)
    daemon = start_daemon(workdir, cleanup, CONFIG.format(port=broker.port), connected=True)

    wait_until(lambda: (broker.publish("plant/area1/gas/GT101", '{"value": 3.5}'),
                        daemon.points()["GT101"]["value"] == 3.5)[1], 15, "GT101 by wildcard", interval=0.3)
    broker.publish("raw/GT102", "0.25")
    broker.publish("tank/level", "71.5")
    wait_until(lambda: daemon.points()["GT102"]["value"] == 2.5, 10, "GT102 scaled, bare payload")
    wait_until(lambda: daemon.points()["LT201"]["value"] == 71.5, 10, "LT201 by its exact topic")

    broker.publish("plant/area2/gas/GT999", '{"value": 1}')
    wait_until(lambda: driver(daemon)["unknown_point"] >= 1, 10, "unknown id counted")
    broker.publish("plant/area2/gas/GT101", '{"other": 1}')
    wait_until(lambda: daemon.points()["GT101"]["quality"] == "bad_payload", 10, "missing field flagged")
    d = driver(daemon)
    assert d["malformed"] >= 1 and d["unknown_point"] == 1, d
    assert daemon.points()["GT102"]["quality"] == "good"
    assert daemon.stop() == 0


def test_bad_wildcards_refused_at_load(workdir, cleanup):
    cases = [('id_level: 4, path: value', 'id_level: 3, path: value', "id_level"),
             ('"plant/+/gas/+"', '"plant/#/gas/+"', "filter")]
    for old, new, key in cases:
        cfg = write_config(workdir, CONFIG.format(port=1883).replace(old, new, 1), "bad.yaml")
        r = check_config(cfg)
        assert r.returncode == 1 and "bad.yaml:8:" in r.stderr and f"wildcard_topics[0].{key}" in r.stderr, \
            (new, r.stderr)
    # Without wildcard_topics a point still needs its topic.
    cfg = write_config(workdir, "\n".join(l for l in CONFIG.format(port=1883).splitlines()
                                          if "wildcard_topics" not in l and "filter:" not in l), "notopic.yaml")
    r = check_config(cfg)
    assert r.returncode == 1 and "missing required key 'topic'" in r.stderr, r.stderr


if __name__ == "__main__":
    sys.exit(run_tests([test_point_id_from_topic_level, test_bad_wildcards_refused_at_load]))
