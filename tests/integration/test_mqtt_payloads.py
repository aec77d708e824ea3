#!/usr/bin/python3
"""MQTT payload forms through the daemon: one array message [{id, value, ts}, ...] feeding
several points by "[id=...]" paths, ISO 8601 source timestamps with zone offsets, a source
clock running ahead beyond max_clock_skew (receive time used, counted), and a malformed
message counted without harming the daemon."""
import datetime
import json
import sys

from dgtest import check_config, run_tests, start_broker, start_daemon, wait_until, write_config

CONFIG = """
site: {{ code: "410700-0005", name: 测试化工 }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{port}", client_id: dg-payloads-{port}, max_clock_skew: 5s }}
points:
  - {{ id: GT101, driver: mqtt.main, topic: plant/gas, path: "[id=GT101].value", ts_path: "[id=GT101].ts" }}
  - {{ id: GT102, driver: mqtt.main, topic: plant/gas, path: "[id=GT102].value", ts_path: "[id=GT102].ts" }}
  - {{ id: GT103, driver: mqtt.main, topic: plant/gas, path: "$[id=GT103].value" }}
"""


def iso(dt, tz):
    return dt.astimezone(tz).isoformat(timespec="milliseconds")


def test_array_iso_timestamps_and_clock_skew(workdir, cleanup):
    broker = start_broker(workdir, cleanup)
    daemon = start_daemon(workdir, cleanup, CONFIG.format(port=broker.port), connected=True)

    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    past = now - datetime.timedelta(seconds=60)
    beijing = datetime.timezone(datetime.timedelta(hours=8))
    message = [
        {"id": "GT101", "value": 3.2, "ts": iso(past, beijing)},
        {"id": "GT102", "value": 4.5, "ts": iso(now + datetime.timedelta(hours=1), datetime.timezone.utc)},
        {"id": "GT103", "value": "6.5"},
    ]
    wait_until(lambda: (broker.publish("plant/gas", json.dumps(message)), daemon.points()["GT103"]["value"] == 6.5)[1],
               15, "the array message", interval=0.3)
    p = daemon.points()
    assert p["GT101"]["value"] == 3.2 and p["GT101"]["ts_ms"] == int(past.timestamp() * 1000), p["GT101"]
    # Stamped with the driver's receive time, which precedes the engine's, not an hour ahead.
    future_ms = int((now + datetime.timedelta(hours=1)).timestamp() * 1000)
    assert p["GT102"]["value"] == 4.5 and p["GT102"]["ts_ms"] <= p["GT102"]["received_ms"] < future_ms, p["GT102"]
    assert all(x["quality"] == "good" for x in p.values()), p
    d = daemon.get("/api/v1/drivers")[1]["drivers"][0]
    assert d["clock_skewed"] >= 1 and d["malformed"] == 0, d

    # Within the tolerance the source time is kept.
    ahead = now + datetime.timedelta(seconds=2)
    broker.publish("plant/gas", json.dumps([{"id": "GT102", "value": 4.75, "ts": iso(ahead, beijing)}]))
    wait_until(lambda: daemon.points()["GT102"]["value"] == 4.75, 10, "GT102 within the tolerance")
    assert daemon.points()["GT102"]["ts_ms"] == int(ahead.timestamp() * 1000)

    skewed = daemon.get("/api/v1/drivers")[1]["drivers"][0]["clock_skewed"]
    broker.publish("plant/gas", '[{"id": "GT101", "value": 1, "ts": "yesterday"}]')
    wait_until(lambda: daemon.points()["GT101"]["quality"] == "bad_payload", 10, "the bad timestamp flagged")
    d = daemon.get("/api/v1/drivers")[1]["drivers"][0]
    assert d["malformed"] >= 1 and d["clock_skewed"] == skewed, d
    assert daemon.stop() == 0


def test_malformed_paths_are_refused_at_load(workdir, cleanup):
    for path in ("[id=GT101.value", "a..b", "value."):
        cfg = write_config(workdir, CONFIG.format(port=1883).replace('"[id=GT102].value"', f'"{path}"'), "bad.yaml")
        r = check_config(cfg)
        assert r.returncode == 1 and "bad.yaml:7:" in r.stderr and "points[1].path" in r.stderr, (path, r.stderr)


if __name__ == "__main__":
    sys.exit(run_tests([test_array_iso_timestamps_and_clock_skew, test_malformed_paths_are_refused_at_load]))
