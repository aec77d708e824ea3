#!/usr/bin/python3
"""A full file system under the database (a small tmpfs mounted here, so this needs root): /healthz
turns 503 and says why, systemd's STATUS says why, the failed commits and the dropped history are
counted where the API shows them; alarm transitions made meanwhile are committed once space
returns, in order; the outcome of a delivery answered while the disk was full is recorded, so a
restart sends nothing twice; and health comes back when space does."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from dgtest import SKIPPED, Publisher, db_rows, run_tests, start_plant, wait_until

CONFIG = """
site: {{ code: "410700-0009", name: 测试化工 }}
daemon: {{ history_flush: 100ms }}
persons:
  - {{ id: li, name: 李主任, roles: [workshop_director] }}
hazard_sources:
  - id: HS01
    name: 液氨储罐区
    units:
      - id: U01
        name: 1#液氨储罐
        responsible: {{ dept: 储运车间, person: li }}
        events:
          - id: E01
            name: 液氨泄漏中毒
            ls: {{ l: 3, s: 4 }}
            measures:
              - {{ id: M01, desc: 有毒气体检测报警器有效投用, classify: "1-4", data_src: 1 }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{mqtt_port}", client_id: dg-disk-{mqtt_port}, qos: 1 }}
points:
  - {{ id: GT1, name: 氨气检测器, unit_id: U01, eng_unit: "%LEL", driver: mqtt.main, topic: t/gt1 }}
{noise}
rules:
  - {{ id: R-GT1-H, type: high, point: GT1, measure: M01, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
channels:
  - {{ id: hook, type: webhook, url: "http://127.0.0.1:{hook_port}/hook", timeout: 10s }}
policies:
  - {{ id: all, priorities: [low, medium, high, critical], channels: [hook] }}
"""
NOISE_POINTS = "  - {{ id: N1, name: 噪声, driver: mqtt.main, topic: t/noise, path: v }}"


class StatusListener:
    """The NOTIFY_SOCKET end: collects every sd_notify datagram."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.5)
        self.messages = []
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except OSError:
                continue

    def statuses(self):
        return [line[len("STATUS="):] for m in list(self.messages) for line in m.split("\n")
                if line.startswith("STATUS=")]

    def stop(self):
        self.running = False
        self.thread.join(5)
        self.sock.close()


def fill(path):
    """Writes until the file system is full; returns the bytes written."""
    written = 0
    with open(path, "wb", buffering=0) as f:
        for chunk in (65536, 4096, 512, 64, 1):
            try:
                while True:
                    written += f.write(b"\0" * chunk)
            except OSError:
                pass
    return written


def health(daemon):
    return daemon.get_status("/healthz")


def journal_events(db):
    return [r["event"] for r in db_rows(db, "SELECT j.event FROM alarm_journal j JOIN alarms a ON a.id = j.alarm_id "
                                            "WHERE a.rule = 'R-GT1-H' ORDER BY j.id")]


def test_full_disk_degrades_health_and_loses_nothing(workdir, cleanup):
    disk = os.path.join(workdir, "disk")
    os.mkdir(disk)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", disk], check=True)
    cleanup.append(lambda: subprocess.run(["umount", "-l", disk], check=False))
    broker, sink, daemon = start_plant(workdir, cleanup, CONFIG.replace("{noise}", NOISE_POINTS), start=False)
    db = os.path.join(disk, "dg.db")
    daemon.db_path = db
    status = StatusListener(os.path.join(workdir, "notify.sock"))
    cleanup.append(status.stop)
    daemon.env.update(NOTIFY_SOCKET=status.sock.getsockname())
    daemon.env.pop("WATCHDOG_USEC", None)
    daemon.start()
    wait_until(lambda: daemon.get("/api/v1/drivers")[1]["drivers"][0]["connected"], 15, "MQTT connected")
    noise = Publisher(broker.port, "t/noise", lambda i: '{"v": %d}' % i)  # history keeps flowing
    cleanup.append(noise.stop)
    code, body = health(daemon)
    assert code == 200 and body["status"] == "ok" and body["commits_failed"] == 0, body

    # An activation commits and its delivery is on its way to a slow receiver when the disk fills.
    sink.delay_s = 3
    broker.publish("t/gt1", "30")
    wait_until(lambda: db_rows(db, "SELECT 1 FROM outbox"), 10, "the activation and its outbox row committed")
    filler = os.path.join(disk, "filler")
    fill(filler)

    code, body = wait_until(lambda: (h := health(daemon))[0] == 503 and h, 30, "/healthz to turn 503")
    assert body["status"] == "degraded" and "No space left" in body["reason"], body
    # Transitions while nothing commits: the alarm list shows them at once.
    broker.publish("t/gt1", "10")
    wait_until(lambda: daemon.alarm("R-GT1-H")["state"] == "RTN_UNACK", 10, "RTN_UNACK in memory")
    broker.publish("t/gt1", "40")
    wait_until(lambda: daemon.alarm("R-GT1-H")["state"] == "UNACK", 10, "UNACK again in memory")
    code, body = wait_until(lambda: (h := health(daemon))[1].get("history_dropped", 0) > 0 and h, 30,
                            "dropped history counted")
    assert code == 503 and body["commits_failed"] > 0, body
    store = daemon.get("/api/v1/drivers")[1]["store"]
    assert store["commits_failed"] > 0 and store["history_dropped"] > 0, store
    wait_until(lambda: any("commits failing" in s and "No space left" in s for s in status.statuses()), 10,
               "systemd STATUS to say why")
    # The slow receiver answers while the disk is still full: its outcome is written again until
    # it commits (whether its first write fails depends on the room left in the WAL file; the
    # unit test test_commit_retry forces that failure).
    sink.wait_for(lambda r: len(r) >= 1, 20)
    sink.delay_s = 0
    assert health(daemon)[0] == 503

    os.remove(filler)
    code, body = wait_until(lambda: (h := health(daemon))[0] == 200 and h, 40, "/healthz healthy again")
    assert body["status"] == "ok" and "reason" not in body, body
    wait_until(lambda: status.statuses() and "rules" in status.statuses()[-1], 10, "STATUS back to the ready text")

    # Every transition committed, in order, and every delivery recorded as delivered.
    wait_until(lambda: journal_events(db) == ["activate", "clear", "activate"], 30,
               "the three transitions committed in order")
    alarm = db_rows(db, "SELECT state, active FROM alarms WHERE rule = 'R-GT1-H'")[0]
    assert alarm == {"state": "UNACK", "active": 1}, alarm
    wait_until(lambda: len(sink.received) >= 3, 30, "three deliveries")
    wait_until(lambda: not db_rows(db, "SELECT id FROM outbox WHERE state != 1"), 30, "every outbox row delivered")
    delivered = [e["delivery"] for e in sink.received]
    assert len(delivered) == len(set(delivered)) == 3, delivered

    # A crash and a restart send nothing again.
    noise.stop()
    daemon.kill9()
    daemon.start()
    wait_until(lambda: health(daemon)[0] == 200, 20, "healthy after the restart")
    time.sleep(2)  # the outbox is resumed at start: anything pending would have gone by now
    again = [e["delivery"] for e in sink.received]
    assert again == delivered, f"sent again after the restart: {again[len(delivered):]}"
    print(f"commits failed {body['commits_failed']}, history dropped {body['history_dropped']}, "
          f"outcome retries {body['outcome_retries']}", flush=True)
    assert daemon.stop(signal.SIGTERM) == 0


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIPPED: test_full_disk: mounting the tmpfs that fills up needs root", flush=True)
        sys.exit(SKIPPED)
    sys.exit(run_tests([test_full_disk_degrades_health_and_loses_nothing]))
