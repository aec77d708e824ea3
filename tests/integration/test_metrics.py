#!/usr/bin/python3
"""GET /metrics parsed by an independent parser (prometheus_client's text parser) after known
events: samples counted per driver and quality, one raised alarm in the alarms gauge by state
and priority, its acknowledgement moving it, the outbox and store figures, a commit latency
histogram whose buckets are cumulative and end in +Inf, HTTP requests counted. GET /readyz
answers 200 with the broker connected and 503 once it is gone."""
import os
import sys
import urllib.error
import urllib.request

from dgtest import run_tests, start_plant, wait_until
from test_ledger_closed_loop import CONFIG, post

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # scripts/install-deps.sh installs python3-prometheus-client
    print("SKIP: python3-prometheus-client is absent", flush=True)
    sys.exit(77)

PLANT = CONFIG.replace("  - {{ id: zhao, name: 赵安全员, roles: [safety_director] }}\n",
                       "  - {{ id: zhao, name: 赵安全员, roles: [safety_director] }}\n"
                       "  - {{ id: zhang, name: 张操作员, roles: [operator] }}\n")


def scrape(daemon):
    with urllib.request.urlopen(f"http://127.0.0.1:{daemon.port}/metrics", timeout=5) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers["Content-Type"]
        text = r.read().decode("utf-8")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return text, families


def value(families, family, sample, **labels):
    for s in families[family].samples:
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise AssertionError(f"no sample {sample} {labels}")


def alarms(families, state, priority):
    return value(families, "dualguard_alarms", "dualguard_alarms", state=state, priority=priority)


def test_metrics_after_known_events(workdir, cleanup):
    broker, _, daemon = start_plant(workdir, cleanup, PLANT)
    text, fam = scrape(daemon)
    # Types as declared; counters exposed with _total.
    assert fam["dualguard_samples"].type == "counter" and "# TYPE dualguard_samples_total counter" in text
    assert fam["dualguard_alarms"].type == "gauge"
    assert fam["dualguard_store_commit_seconds"].type == "histogram"
    assert alarms(fam, "UNACK", "high") == 0
    good0 = value(fam, "dualguard_samples", "dualguard_samples_total", driver="main", quality="good")

    broker.publish("t/gt102", '{"value": 30}')
    broker.publish("t/gt101", '"garbage"')
    wait_until(lambda: daemon.alarm("R-GT102-H")["state"] == "UNACK", 15, "R-GT102-H raised")
    wait_until(lambda: value(scrape(daemon)[1], "dualguard_samples", "dualguard_samples_total", driver="main",
                             quality="bad_payload") >= 1, 10, "the bad payload counted")
    _, fam = scrape(daemon)
    assert value(fam, "dualguard_samples", "dualguard_samples_total", driver="main", quality="good") == good0 + 1
    assert alarms(fam, "UNACK", "high") == 1 and alarms(fam, "ACKED", "high") == 0
    assert value(fam, "dualguard_rule_evaluations", "dualguard_rule_evaluations_total") >= 1
    assert value(fam, "dualguard_driver_connected", "dualguard_driver_connected", driver="main", kind="mqtt") == 1

    # Commit latency: cumulative buckets ending in +Inf, which equals _count.
    buckets = [(s.labels["le"], s.value) for s in fam["dualguard_store_commit_seconds"].samples
               if s.name.endswith("_bucket")]
    assert buckets[-1][0] == "+Inf" and len(buckets) > 5
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), buckets
    count = value(fam, "dualguard_store_commit_seconds", "dualguard_store_commit_seconds_count")
    assert buckets[-1][1] == count >= 1
    assert value(fam, "dualguard_store_commit_seconds", "dualguard_store_commit_seconds_sum") >= 0
    assert value(fam, "dualguard_store_queue_depth", "dualguard_store_queue_depth", lane="urgent") >= 0
    assert value(fam, "dualguard_store_jobs_failed", "dualguard_store_jobs_failed_total") == 0
    # The alarm's notification went through the outbox to the webhook sink.
    wait_until(lambda: value(scrape(daemon)[1], "dualguard_notify_delivered", "dualguard_notify_delivered_total") >= 1,
               15, "the notification delivered")
    # The outbox row is marked delivered by a store job after the counter moves: wait for it.
    wait_until(lambda: value(scrape(daemon)[1], "dualguard_outbox_pending", "dualguard_outbox_pending") == 0, 10,
               "the outbox emptied")
    _, fam = scrape(daemon)
    assert value(fam, "dualguard_outbox_oldest_age_seconds", "dualguard_outbox_oldest_age_seconds") == 0
    assert value(fam, "dualguard_outbox_failed", "dualguard_outbox_failed") == 0

    assert post(daemon, f"/api/v1/alarms/{daemon.alarm('R-GT102-H')['id']}/ack", {"comment": "seen"},
                actor="zhang")[0] == 200
    _, fam = scrape(daemon)
    assert alarms(fam, "UNACK", "high") == 0 and alarms(fam, "ACKED", "high") == 1
    # HTTP requests: the scrapes so far were counted as GET 2xx, the ack as POST 2xx.
    assert value(fam, "dualguard_http_requests", "dualguard_http_requests_total", method="GET", code="2xx") >= 5
    assert value(fam, "dualguard_http_requests", "dualguard_http_requests_total", method="POST", code="2xx") == 1

    st, body = daemon.get("/readyz")
    assert st == 200 and body["ready"] and body["database"]["writable"]
    assert body["drivers"] == [{"id": "main", "kind": "mqtt", "connected": True}]
    broker.stop()
    wait_until(lambda: daemon.get_status("/readyz")[0] == 503, 30, "not ready without the broker")
    st, body = daemon.get_status("/readyz")
    assert not body["ready"] and not body["drivers_connected"] and body["database"]["writable"]


def test_label_values_escaped(workdir, cleanup):
    """A driver id with a quote and a backslash survives the round trip through the parser."""
    plant = PLANT.replace("id: main,", 'id: "m\\\\a\\"in",').replace("driver: mqtt.main", 'driver: "mqtt.m\\\\a\\"in"')
    broker, _, daemon = start_plant(workdir, cleanup, plant, start=False)
    daemon.start()
    wait_until(lambda: daemon.get("/api/v1/drivers")[1]["drivers"][0]["connected"], 15, "MQTT connected")
    text, fam = scrape(daemon)
    with open(os.path.join(workdir, "metrics.txt"), "w") as f:
        f.write(text)
    assert 'driver="m\\\\a\\"in"' in text, text[:2000]
    assert value(fam, "dualguard_driver_connected", "dualguard_driver_connected", driver='m\\a"in') == 1


if __name__ == "__main__":
    sys.exit(run_tests([test_metrics_after_known_events, test_label_values_escaped]))
