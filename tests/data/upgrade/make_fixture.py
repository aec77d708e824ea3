#!/usr/bin/python3
"""Makes dualguard-0.1.0.db, the upgrade fixture: a database of today's schema with data in it,
written by the daemon of that release on plant.yaml. Two alarms (one acknowledged), two open
hazards (one major), history samples, and notifications left pending because the webhook
receiver refused them (503) until the daemon was stopped.

    DG_BUILD_DIR=<build dir of the release> /usr/bin/python3 tests/data/upgrade/make_fixture.py
"""
import json
import os
import shutil
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
from dgtest import Daemon, Mosquitto, db_rows, wait_connected, wait_until  # noqa: E402
from webhook_sink import Sink  # noqa: E402


def main():
    work = tempfile.mkdtemp(prefix="dg-fixture-")
    broker = Mosquitto(work).start()
    sink = Sink(port=0).start()
    sink.fail = True
    cfg = os.path.join(work, "plant.yaml")
    with open(os.path.join(HERE, "plant.yaml"), encoding="utf-8") as f:
        text = f.read().format(mqtt_port=broker.port, hook_port=sink.port)
    with open(cfg, "w", encoding="utf-8") as f:
        f.write(text)
    db = os.path.join(work, "dg.db")
    daemon = Daemon(work, cfg, db)
    try:
        token = daemon.token("zhang")
        daemon.start()
        wait_connected(daemon)
        for v in ("3", "4", "30"):
            broker.publish("t/gt101", v)
        for v in ("1.2", "2.0"):
            broker.publish("t/pt101", v)
        wait_until(lambda: daemon.alarm("R-GT101-H")["state"] == "UNACK", 10, "GT101 alarm")
        pt = wait_until(lambda: (a := daemon.alarm("R-PT101-H"))["stage"] == "HH" and a, 10, "PT101 alarm")
        req = urllib.request.Request(f"http://127.0.0.1:{daemon.port}/api/v1/alarms/{pt['id']}/ack",
                                     data=json.dumps({"comment": "现场确认"}).encode(), method="POST",
                                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()
        wait_until(lambda: daemon.alarm("R-PT101-H")["state"] == "ACKED", 10, "ack")
        wait_until(lambda: len(db_rows(db, "SELECT id FROM hazards")) == 2, 10, "two hazards")
        wait_until(lambda: db_rows(db, "SELECT count(*) AS n FROM outbox WHERE state = 0 AND attempts > 0")[0]["n"] >= 2,
                   20, "refused deliveries")
        assert daemon.stop() == 0
        out = os.path.join(HERE, "dualguard-0.1.0.db")
        shutil.copy(db, out)
        print(out)
    finally:
        daemon.stop()
        sink.stop()
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
