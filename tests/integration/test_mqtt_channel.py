#!/usr/bin/python3
"""The mqtt channel publishes a message to a person with QoS 1: a real mosquitto subscriber gets
the JSON on the channel's topic with the outbox id as its idempotency key, and the row counts as
delivered once the broker's PUBACK has arrived. A broker that takes the PUBLISH but never
acknowledges it leaves the row pending, retried with backoff, each attempt with the same key."""
import json
import os
import socket
import subprocess
import sys
import threading

from dgtest import Daemon, db_rows, free_port, run_tests, start_broker, wait_until

CONFIG = """
site: {{ code: "410700-0001", name: 测试化工 }}
persons:
  - {{ id: zhang, name: 张工, roles: [operator] }}
  - {{ id: li, name: 李主任, roles: [workshop_director] }}
hazard_sources:
  - id: HS01
    name: 液氨储罐区
    units:
      - id: U01
        name: 1#液氨储罐
        responsible: {{ dept: 储运车间, person: zhang }}
        events:
          - {{ id: E01, name: 液氨泄漏中毒, accident_type: 中毒和窒息, lec: {{ l: 1, e: 1, c: 3 }},
               measures: [ {{ id: M01, desc: 有毒气体检测报警器有效投用, classify: "1-4", data_src: 2 }} ] }}
escalation:
  channels:
    - {{ id: mq, type: mqtt, url: "tcp://127.0.0.1:{mqtt_port}", topic: "dg/people/{{{{person}}}}" }}
    - {{ id: mq-silent, type: mqtt, url: "tcp://127.0.0.1:{silent_port}", timeout: 1s }}
  policies:
    - id: rectify
      events: [hazard_opened]
      tiers: [ {{ responsible: [hazard], channels: [mq, mq-silent] }} ]
"""


class SilentBroker:
    """Speaks just enough MQTT 3.1.1 to accept a connection and take PUBLISH packets, which it
    records and never acknowledges."""

    def __init__(self):
        self.port = free_port()
        self.published = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read(conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _serve(self, conn):
        try:
            while True:
                kind = self._read(conn, 1)[0]
                length, shift = 0, 0
                while True:
                    b = self._read(conn, 1)[0]
                    length |= (b & 0x7F) << shift
                    shift += 7
                    if not b & 0x80:
                        break
                body = self._read(conn, length)
                if kind >> 4 == 1:
                    conn.sendall(b"\x20\x02\x00\x00")  # CONNACK accepted
                elif kind >> 4 == 3:
                    tlen = int.from_bytes(body[:2], "big")
                    qos = (kind >> 1) & 3
                    self.published.append((body[2:2 + tlen].decode(), json.loads(body[2 + tlen + (2 if qos else 0):])))
                elif kind >> 4 == 12:
                    conn.sendall(b"\xd0\x00")  # PINGRESP
        except (EOFError, OSError):
            conn.close()

    def stop(self):
        self.sock.close()


def test_mqtt_publish_acknowledged(workdir, cleanup):
    broker = start_broker(workdir, cleanup)
    silent = SilentBroker()
    cleanup.append(silent.stop)
    out = open(os.path.join(workdir, "sub.out"), "w")
    sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1", "-v",
                            "-t", "dg/people/#"], stdout=out, stderr=subprocess.STDOUT)
    cleanup.append(sub.terminate)

    def subscribed():  # the subscriber is in place before anything is published
        broker.publish("dg/people/probe", "{}")
        return "dg/people/probe" in open(out.name).read()
    wait_until(subscribed, 10, "the subscriber", interval=0.3)
    cfg = os.path.join(workdir, "plant.yaml")
    with open(cfg, "w", encoding="utf-8") as f:
        f.write(CONFIG.format(mqtt_port=broker.port, silent_port=silent.port))
    daemon = Daemon(workdir, cfg, os.path.join(workdir, "dg.db"))
    cleanup.append(lambda: daemon.stop())
    daemon.start()

    st, h = daemon.post("/api/v1/hazards", {"description": "罐区围堰破损", "danger_src": 1, "unit": "U01",
                                            "liable_person": "zhang"}, actor="li")
    assert st == 201, h
    line = wait_until(lambda: [x for x in open(out.name).read().splitlines() if x.startswith("dg/people/zhang ")], 15,
                      "the message on zhang's topic")[0]
    payload = json.loads(line.split(" ", 1)[1])
    row = wait_until(lambda: db_rows(daemon.db_path, "SELECT id, state, attempts FROM outbox WHERE channel = 'mq'"), 5)[0]
    assert payload["idempotency_key"] == str(row["id"]) and payload["id"] == row["id"], (payload, row)
    assert payload["to"]["person"] == "zhang" and h["code"] in payload["text"], payload
    wait_until(lambda: db_rows(daemon.db_path, "SELECT state FROM outbox WHERE id = ?", (row["id"],))[0]["state"] == 1,
               10, "delivered after the PUBACK")

    # No PUBACK: never delivered, tried again with backoff, always with the same key.
    silent_row = lambda: db_rows(daemon.db_path, "SELECT id, state, attempts, last_error FROM outbox"
                                 " WHERE channel = 'mq-silent'")[0]
    r = wait_until(lambda: (r := silent_row())["attempts"] >= 2 and r, 20, "two unacknowledged attempts")
    assert r["state"] == 0 and "PUBACK" in r["last_error"], r
    assert len(silent.published) >= 2, silent.published
    assert {p["idempotency_key"] for _, p in silent.published} == {str(r["id"])}, silent.published
    assert all(t == "dualguard/notify/zhang" for t, _ in silent.published), silent.published


if __name__ == "__main__":
    sys.exit(run_tests([test_mqtt_publish_acknowledged]))
