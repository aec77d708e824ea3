#!/usr/bin/python3
"""The sender's memory stays bounded while a receiver is down under an alarm flood: beyond
`daemon.outbox_in_memory` pending notifications wait in the outbox on disk and are read back,
oldest first, as the queue drains; every one is delivered exactly once when the receiver is back,
also after a kill -9 while most of them were waiting on disk."""
import sys

from dgtest import db_rows, run_tests, start_plant, wait_connected, wait_until

N = 60
BOUND = 16

CONFIG = """
site: {{ code: "410700-0010", name: 测试化工 }}
daemon: {{ history_flush: 100ms, outbox_in_memory: %d }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{mqtt_port}", client_id: dg-obound-{mqtt_port}, qos: 1 }}
points:
%s
rules:
%s
channels:
  - {{ id: hook, type: webhook, url: "http://127.0.0.1:{hook_port}/hook", timeout: 5s }}
policies:
  - {{ id: all, priorities: [low, medium, high, critical], channels: [hook] }}
""" % (BOUND,
       "\n".join(f"  - {{{{ id: P{i}, name: 点{i}, driver: mqtt.main, topic: t/p{i} }}}}" for i in range(N)),
       "\n".join(f"  - {{{{ id: R{i}, type: high, point: P{i}, stages: [ {{{{ name: H, limit: 10, priority: high }}}} ] }}}}"
                 for i in range(N)))


def outbox(daemon):
    return db_rows(daemon.db_path, "SELECT id, state FROM outbox ORDER BY id")


def notify_stats(daemon):
    return daemon.get("/api/v1/drivers")[1]["notify"]


def flood(broker, daemon, sink):
    sink.fail = True
    for i in range(N):
        broker.publish(f"t/p{i}", "50")
    wait_until(lambda: len(outbox(daemon)) == N, 20, f"{N} notifications committed to the outbox")


def check_delivered_once(daemon, sink):
    sink.wait_for(lambda r: len(r) >= N, 60)
    wait_until(lambda: all(r["state"] == 1 for r in outbox(daemon)), 20, "every outbox row marked delivered")
    ids = [e["delivery"] for e in sink.received]
    assert len(ids) == N and len(set(ids)) == N, f"{len(ids)} deliveries, {len(set(ids))} distinct"
    assert set(ids) == {str(r["id"]) for r in outbox(daemon)}
    assert {e["body"]["alarm"]["rule"] for e in sink.received} == {f"R{i}" for i in range(N)}


def test_flood_with_receiver_down_stays_bounded(workdir, cleanup):
    broker, sink, daemon = start_plant(workdir, cleanup, CONFIG)
    flood(broker, daemon, sink)
    notify = notify_stats(daemon)
    assert notify["queued"] + notify["in_flight"] <= BOUND, notify
    assert notify["spilled"] >= N - BOUND, notify
    for _ in range(10):  # retries of the held ones do not let the rest in
        n = notify_stats(daemon)
        assert n["queued"] + n["in_flight"] <= BOUND, n
    sink.fail = False
    check_delivered_once(daemon, sink)
    notify = notify_stats(daemon)
    assert notify["delivered"] == N and notify["read_back"] >= N - BOUND, notify
    assert daemon.stop() == 0


def test_kill9_while_spilled_resumes_bounded_and_once(workdir, cleanup):
    broker, sink, daemon = start_plant(workdir, cleanup, CONFIG)
    flood(broker, daemon, sink)
    assert notify_stats(daemon)["spilled"] > 0
    daemon.kill9()
    daemon.start()
    wait_connected(daemon)
    notify = notify_stats(daemon)
    assert notify["queued"] + notify["in_flight"] <= BOUND, notify
    sink.fail = False
    check_delivered_once(daemon, sink)
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_flood_with_receiver_down_stays_bounded, test_kill9_while_spilled_resumes_bounded_and_once]))
