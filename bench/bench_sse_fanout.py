#!/usr/bin/python3
"""SSE fan-out: N clients (default 100) on GET /api/v1/events while alarm transitions are driven
at R per second (default 1000) through a real Mosquitto into the real daemon: one point toggling
across a high limit, so every sample is an activation or a clear. Prints, for the steady window:
transitions committed per second, events delivered per second (all clients), lag from the
transition's time to its arrival at a client (p50, p99, max; sampled on LAG_CLIENTS clients),
resyncs, and the daemon's CPU and resident memory. Printed, never asserted.

  /usr/bin/python3 bench/bench_sse_fanout.py [clients] [rate] [seconds]
Run from the source tree after building (build/dualguardd)."""
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from dgtest import Mosquitto, start_daemon, wait_connected, wait_until  # noqa: E402

CLIENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 100
RATE = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
LAG_CLIENTS = 10
WARMUP_S = 2.0

PLANT = """
site: {{ code: "410700-0001", name: 基准测试 }}
daemon: {{ history_flush: 1s }}
persons:
  - {{ id: viewer, name: 观察员, roles: [viewer] }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{mqtt_port}", client_id: dg-bench-sse-{mqtt_port}, qos: 0 }}
points:
  - {{ id: P1, name: 基准测点, eng_unit: "%LEL", driver: mqtt.main, topic: t/p1, path: value }}
rules:
  - id: R-P1-H
    type: high
    point: P1
    stages: [ {{ name: H, limit: 25, priority: high }} ]
"""


class Client:
    def __init__(self, port, token, measure_lag):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(f"GET /api/v1/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\r\n"
                          .encode())
        self.sock.setblocking(False)
        self.measure_lag = measure_lag
        self.tail = b""
        self.alarms = 0
        self.resyncs = 0
        self.lags = []
        self.counting = False

    def feed(self, data, now_ms):
        if not self.counting:
            return
        self.alarms += data.count(b"event: alarm\n")
        self.resyncs += data.count(b"event: resync\n")
        if not self.measure_lag:
            return
        buf = self.tail + data
        frames = buf.split(b"\n\n")
        self.tail = frames.pop()
        for f in frames:
            if b"event: alarm\n" in f:
                i = f.rfind(b'"ts_ms":')
                if i >= 0:
                    j = i + 8
                    k = j
                    while k < len(f) and 48 <= f[k] <= 57:
                        k += 1
                    self.lags.append(now_ms - int(f[j:k]))


def proc_stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) // 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) // 1024
    return cpu, rss, hwm


def publisher(port, rate, stop):
    """mosquitto_pub -l fed at `rate` lines per second, alternating above and below the limit."""
    pub = subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "0", "-t", "t/p1", "-l"],
                           stdin=subprocess.PIPE, text=True)
    sent, start = 0, time.monotonic()
    while not stop.is_set():
        due = int((time.monotonic() - start) * rate)
        lines = "".join('{"value": %d}\n' % (30 if (sent + i) % 2 == 0 else 0) for i in range(due - sent))
        if lines:
            pub.stdin.write(lines)
            pub.stdin.flush()
            sent = due
        time.sleep(0.005)
    pub.stdin.close()
    pub.wait(10)


def pct(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100 * len(v)))]


def main():
    workdir = tempfile.mkdtemp(prefix="dg-bench-sse-")
    cleanup = []
    try:
        broker = Mosquitto(workdir).start()
        cleanup.append(broker.stop)
        daemon = start_daemon(workdir, cleanup, PLANT.format(mqtt_port=broker.port), connected=True)
        token = daemon.token("viewer")
        clients = [Client(daemon.port, token, i < LAG_CLIENTS) for i in range(CLIENTS)]
        sel = selectors.DefaultSelector()
        for c in clients:
            sel.register(c.sock, selectors.EVENT_READ, c)
        stop_pub, stop_read = threading.Event(), threading.Event()

        def reader():
            while not stop_read.is_set():
                for key, _ in sel.select(0.1):
                    try:
                        data = key.fileobj.recv(1 << 18)
                    except BlockingIOError:
                        continue
                    key.data.feed(data, time.time() * 1000)

        rt = threading.Thread(target=reader, daemon=True)
        rt.start()
        wait_until(lambda: daemon.get("/api/v1/healthz")[0] == 200, 10, "healthy")
        pt = threading.Thread(target=publisher, args=(broker.port, RATE, stop_pub), daemon=True)
        pt.start()
        time.sleep(WARMUP_S)
        tr0 = transitions(daemon)
        cpu0, _, _ = proc_stat(daemon.proc.pid)
        for c in clients:
            c.counting = True
        t0 = time.monotonic()
        time.sleep(SECONDS)
        for c in clients:
            c.counting = False
        elapsed = time.monotonic() - t0
        cpu1, rss, hwm = proc_stat(daemon.proc.pid)
        tr1 = transitions(daemon)
        stop_pub.set()
        pt.join(10)
        stop_read.set()
        rt.join(5)
        load = os.getloadavg()[0]
        delivered = sum(c.alarms for c in clients)
        lags = [x for c in clients for x in c.lags]
        print(f"clients {CLIENTS}, offered {RATE} samples/s (each a transition), {elapsed:.1f} s window, "
              f"load at end {load:.1f}")
        print(f"transitions committed: {(tr1 - tr0) / elapsed:.0f}/s")
        print(f"alarm events delivered: {delivered / elapsed:.0f}/s over all clients "
              f"({delivered / elapsed / CLIENTS:.0f}/s per client; min client {min(c.alarms for c in clients) / elapsed:.0f}/s)")
        print(f"lag transition→client (ms, {len(lags)} samples on {LAG_CLIENTS} clients): "
              f"p50 {pct(lags, 50):.0f}, p99 {pct(lags, 99):.0f}, max {max(lags) if lags else float('nan'):.0f}")
        print(f"resyncs: {sum(c.resyncs for c in clients)}")
        print(f"daemon CPU: {100 * (cpu1 - cpu0) / elapsed:.0f} % of one core; RSS {rss} MB (peak {hwm} MB)")
        for c in clients:
            c.sock.close()
    finally:
        for c in reversed(cleanup):
            try:
                c()
            except Exception:
                pass


def transitions(daemon):
    """Alarm transitions journaled so far (the alarm's journal, newest id first)."""
    _, body = daemon.get("/api/v1/alarms?state=all")
    aid = body["alarms"][0]["id"]
    _, j = daemon.get(f"/api/v1/alarms/{aid}/journal?limit=1")
    return j["journal"][0]["id"] if j["journal"] else 0


if __name__ == "__main__":
    main()
