#!/usr/bin/python3
"""MQTT wildcard_topics through the daemon: a message on plant/<area>/gas/<id> feeds the point
whose id is the fourth topic level (JSON path and bare number forms), an exact topic keeps
working beside it, an id naming no point is counted as unknown_point, and a filter whose id
level is not a '+' is refused at load."""
import os
import signal
import subprocess
import sys

from dgtest import DAEMON, Daemon, Mosquitto, run_tests, wait_until

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


def points(daemon):
    return {p["id"]: p for p in daemon.get("/api/v1/points")[1]["points"]}


def driver(daemon):
    return daemon.get("/api/v1/drivers")[1]["drivers"][0]


def test_point_id_from_topic_level(workdir, cleanup):
    broker = Mosquitto(workdir).start()
    cleanup.append(broker.stop)
    cfg = os.path.join(workdir, "plant.yaml")
    with open(cfg, "w", encoding="utf-8") as f:
        f.write(CONFIG.format(port=broker.port))
    daemon = Daemon(workdir, cfg, os.path.join(workdir, "dg.db"))
    cleanup.append(lambda: daemon.stop(signal.SIGKILL))
    daemon.start()
    wait_until(lambda: driver(daemon)["connected"], 15, "MQTT connected")

    wait_until(lambda: (broker.publish("plant/area1/gas/GT101", '{"value": 3.5}'),
                        points(daemon)["GT101"]["value"] == 3.5)[1], 15, "GT101 by wildcard", interval=0.3)
    broker.publish("raw/GT102", "0.25")
    broker.publish("tank/level", "71.5")
    wait_until(lambda: points(daemon)["GT102"]["value"] == 2.5, 10, "GT102 scaled, bare payload")
    wait_until(lambda: points(daemon)["LT201"]["value"] == 71.5, 10, "LT201 by its exact topic")

    broker.publish("plant/area2/gas/GT999", '{"value": 1}')
    wait_until(lambda: driver(daemon)["unknown_point"] >= 1, 10, "unknown id counted")
    broker.publish("plant/area2/gas/GT101", '{"other": 1}')
    wait_until(lambda: points(daemon)["GT101"]["quality"] == "bad_payload", 10, "missing field flagged")
    d = driver(daemon)
    assert d["malformed"] >= 1 and d["unknown_point"] == 1, d
    assert points(daemon)["GT102"]["quality"] == "good"
    assert daemon.stop() == 0


def test_bad_wildcards_refused_at_load(workdir, cleanup):
    cases = [('id_level: 4, path: value', 'id_level: 3, path: value', "id_level"),
             ('"plant/+/gas/+"', '"plant/#/gas/+"', "filter")]
    for old, new, key in cases:
        cfg = os.path.join(workdir, "bad.yaml")
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(CONFIG.format(port=1883).replace(old, new, 1))
        r = subprocess.run([DAEMON, "-c", cfg, "--check-config"], capture_output=True, text=True, timeout=10)
        assert r.returncode == 1 and "bad.yaml:8:" in r.stderr and f"wildcard_topics[0].{key}" in r.stderr, \
            (new, r.stderr)
    # Without wildcard_topics a point still needs its topic.
    cfg = os.path.join(workdir, "notopic.yaml")
    with open(cfg, "w", encoding="utf-8") as f:
        f.write("\n".join(l for l in CONFIG.format(port=1883).splitlines()
                          if "wildcard_topics" not in l and "filter:" not in l))
    r = subprocess.run([DAEMON, "-c", cfg, "--check-config"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and "missing required key 'topic'" in r.stderr, r.stderr


if __name__ == "__main__":
    sys.exit(run_tests([test_point_id_from_topic_level, test_bad_wildcards_refused_at_load]))
