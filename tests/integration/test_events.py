#!/usr/bin/python3
"""The live event stream (GET /api/v1/events, server-sent events) against a real broker and
daemon: reading needs a token; an alarm raised through MQTT arrives as alarm, hazard, risk and
point events; a client reconnecting with Last-Event-ID gets what it missed and nothing twice; an
id the daemon no longer holds answers "resync"; a client that stops reading is resynced instead of
making the daemon keep events for it, while other clients keep receiving."""
import sys
import json
import socket
import threading
import time

from dgtest import Publisher, run_tests, start_plant, wait_until
from test_ledger_closed_loop import CONFIG

PLANT = CONFIG.replace("  - {{ id: zhao, name: 赵安全员, roles: [safety_director] }}\n",
                       "  - {{ id: zhao, name: 赵安全员, roles: [safety_director] }}\n"
                       "  - {{ id: zhang, name: 张操作员, roles: [operator] }}\n"
                       "  - {{ id: vv, name: 值班观察员, roles: [viewer] }}\n")
SMALL_RING = PLANT.replace("daemon: {{ ", "daemon: {{ http: {{ event_buffer: 256 }}, ")
FEW_CONNECTIONS = PLANT.replace("daemon: {{ ", "daemon: {{ http: {{ max_connections: 16, max_connections_per_client: 16 }}, ")


class Stream:
    """One SSE connection on a raw socket; events() parses what has arrived so far."""

    def __init__(self, daemon, token, last_event_id=None, rcvbuf=None):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(("127.0.0.1", daemon.port))
        headers = f"GET /api/v1/events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n"
        if token:
            headers += f"Authorization: Bearer {token}\r\n"
        if last_event_id:
            headers += f"Last-Event-ID: {last_event_id}\r\n"
        self.sock.sendall((headers + "\r\n").encode())
        self.buf = b""
        self.head = None
        self.parsed = []
        self.closed = False

    def pump(self, timeout=0.2):
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                self.closed = True
            self.buf += chunk
        except socket.timeout:
            pass
        if self.head is None and b"\r\n\r\n" in self.buf:
            self.head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            self.head = self.head.decode()
        while self.head is not None and b"\n\n" in self.buf:
            frame, self.buf = self.buf.split(b"\n\n", 1)
            ev = {}
            for line in frame.decode().split("\n"):
                if line.startswith(":"):
                    continue
                k, _, v = line.partition(": ")
                ev[k] = v
            if "event" in ev:
                ev["data"] = json.loads(ev["data"])
                self.parsed.append(ev)
        return self.parsed

    def wait(self, pred, timeout=15, what="an event"):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump()
            found = [e for e in self.parsed if pred(e)]
            if found:
                return found[0]
            assert not self.closed, f"stream closed while waiting for {what}: {self.head}"
        kinds = [e["event"] for e in self.parsed]
        raise AssertionError(f"timed out waiting for {what}; got {len(kinds)} events, the last {kinds[-5:]}")

    def close(self):
        self.sock.close()


def is_alarm(rule, state):
    return lambda e: e["event"] == "alarm" and e["data"]["rule"] == rule and e["data"]["state"] == state


def test_auth_and_alarm_events(workdir, cleanup):
    broker, _, daemon = start_plant(workdir, cleanup, PLANT)
    anon = Stream(daemon, None)
    wait_until(lambda: anon.pump() is not None and anon.head is not None, 10, "an answer")
    assert anon.head.startswith("HTTP/1.1 401"), anon.head
    bad = Stream(daemon, "not-a-token")
    wait_until(lambda: bad.pump() is not None and bad.head is not None, 10, "an answer")
    assert bad.head.startswith("HTTP/1.1 401"), bad.head

    s = Stream(daemon, daemon.token("vv"))
    hello = s.wait(lambda e: e["event"] == "hello", what="hello")
    assert "content-type: text/event-stream" in s.head.lower(), s.head
    assert "retry: 3000" not in json.dumps(hello)
    broker.publish("t/gt102", '{"value": 30}')
    alarm = s.wait(is_alarm("R-GT102-H", "UNACK"), what="the activation")
    assert alarm["data"]["event"] == "activate" and alarm["data"]["priority"] == "high", alarm
    assert alarm["data"]["value"] == 30 and alarm["data"]["active"] is True
    hazard = s.wait(lambda e: e["event"] == "hazard", what="the hazard it opened")
    assert hazard["data"]["action"] == "open" and hazard["data"]["alarm_id"] == alarm["data"]["id"], hazard
    point = s.wait(lambda e: e["event"] == "point" and e["data"]["point"] == "GT102", what="the point value")
    assert point["data"]["value"] == 30 and point["data"]["quality"] == "good", point
    # Raised by the alarm (orange) and by the major hazard it opened (red), in one step or two.
    risk = s.wait(lambda e: e["event"] == "risk" and e["data"]["to"] == "red", what="the unit red")
    assert risk["data"]["unit"] == "U01" and risk["data"]["from"] in ("yellow", "orange"), risk
    # The event is the committed state: the API reads the same.
    assert daemon.alarm("R-GT102-H")["state"] == "UNACK"
    ids = [e["id"] for e in s.parsed]
    assert len(set(ids)) == len(ids), ids
    s.close()


def test_resume_with_last_event_id(workdir, cleanup):
    broker, _, daemon = start_plant(workdir, cleanup, PLANT)
    token = daemon.token("vv")
    s = Stream(daemon, token)
    broker.publish("t/gt102", '{"value": 30}')
    activation = s.wait(is_alarm("R-GT102-H", "UNACK"), what="the activation")
    s.wait(lambda e: e["event"] == "risk", what="the risk change")
    last = s.parsed[-1]["id"]
    s.close()

    # Missed while disconnected: the acknowledgement.
    status, _ = daemon.post(f"/api/v1/alarms/{activation['data']['id']}/ack", {"comment": "seen"}, actor="zhang")
    assert status == 200, status
    wait_until(lambda: daemon.alarm("R-GT102-H")["state"] == "ACKED", 10, "acknowledged")

    again = Stream(daemon, token, last_event_id=last)
    ack = again.wait(is_alarm("R-GT102-H", "ACKED"), what="the missed acknowledgement")
    assert ack["data"]["actor"] == "zhang" and ack["data"]["event"] == "ack", ack
    seen = [e["event"] for e in again.parsed]
    assert "hello" not in seen and "resync" not in seen, seen
    assert all(e["id"] != activation["id"] for e in again.parsed), "an event sent twice"
    again.close()

    # An id of another run (or never issued) cannot resume: resync.
    other = Stream(daemon, token, last_event_id="1-1")
    resync = other.wait(lambda e: e["event"] == "resync", what="resync")
    assert resync["data"]["reason"] == "unknown_id", resync
    # /metrics counts the resync, and the subscribers still connected (the closed ones are gone).
    metrics = lambda: daemon.request("GET", "/metrics")[2].decode()  # noqa: E731
    wait_until(lambda: "dualguard_events_resyncs_total 1\n" in metrics(), 10, "the resync counted")
    wait_until(lambda: "dualguard_events_subscribers 1\n" in metrics(), 10, "one subscriber left")
    other.close()


def test_slow_client_is_resynced(workdir, cleanup):
    broker, _, daemon = start_plant(workdir, cleanup, SMALL_RING)
    token = daemon.token("vv")
    stalled = Stream(daemon, token, rcvbuf=2048)  # never read until the end
    live = Stream(daemon, token)
    live.wait(lambda e: e["event"] == "hello", what="hello")
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            live.pump(0.05)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    pub = Publisher(broker.port, "t/gt101", lambda i: '{"value": %d}' % (30 if i % 2 == 0 else 0))
    try:
        wait_until(lambda: sum(e["event"] == "alarm" for e in live.parsed) >= 2000, 120,
                   "2000 alarm events at the live client")
    finally:
        pub.stop()
        stop.set()
        t.join(5)
    sent = sum(e["event"] == "alarm" for e in live.parsed)
    # The stalled client now reads: it was not kept every event; it was told to resync.
    resync = stalled.wait(lambda e: e["event"] == "resync", 30, "resync at the stalled client")
    assert resync["data"]["reason"] == "lagged", resync
    got = sum(e["event"] == "alarm" for e in stalled.parsed)
    assert got < sent, (got, sent)
    # After the resync it follows live events again.
    broker.publish("t/gt102", '{"value": 30}')
    stalled.wait(is_alarm("R-GT102-H", "UNACK"), 30, "a new event after the resync")
    stalled.close()
    live.close()


def test_streams_leave_room_for_requests(workdir, cleanup):
    """Streams take at most half of the connection cap: the next is refused with 503, and requests
    are still answered; a stream whose client left frees its place."""
    _, _, daemon = start_plant(workdir, cleanup, FEW_CONNECTIONS)
    token = daemon.token("vv")
    streams = [Stream(daemon, token) for _ in range(8)]
    for s in streams:
        s.wait(lambda e: e["event"] == "hello", what="hello")
    extra = Stream(daemon, token)
    wait_until(lambda: extra.pump() is not None and extra.head is not None, 10, "an answer")
    assert extra.head.startswith("HTTP/1.1 503"), extra.head
    extra.close()
    assert daemon.get("/api/v1/alarms")[0] == 200
    streams.pop().close()

    def admitted():
        s = Stream(daemon, token)
        wait_until(lambda: s.pump() is not None and s.head is not None, 10, "an answer")
        ok = s.head.startswith("HTTP/1.1 200")
        s.close()
        return ok

    wait_until(admitted, 10, "a stream admitted once one left")
    for s in streams:
        s.close()


if __name__ == "__main__":
    sys.exit(run_tests([test_auth_and_alarm_events, test_resume_with_last_event_id, test_slow_client_is_resynced,
               test_streams_leave_room_for_requests]))
