#!/usr/bin/python3
"""SSE fan-out: N clients (default 100) on GET /api/v1/events while alarm transitions are driven
at R per second (default 1000) through a real Mosquitto into the real daemon: one point toggling
across a high limit, so every sample is an activation or a clear. Prints, for the steady window:
transitions committed per second, events delivered per second (all clients), lag from the
transition's time to its arrival at a client (p50, p99, max), resyncs, and the daemon's CPU and
resident memory. The clients are bench_sse_clients (C, one epoll loop), so that they are not what
limits the figures. Printed, never asserted.

  /usr/bin/python3 bench/bench_sse_fanout.py [clients] [rate] [seconds]
Run from the source tree after building (build/dualguardd, build/bench/bench_sse_clients)."""
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from dgtest import Mosquitto, start_daemon, wait_until  # noqa: E402

CLIENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 100
RATE = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
CLIENTS_BIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "bench", "bench_sse_clients")
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
        wait_until(lambda: daemon.get("/healthz")[0] == 200, 10, "healthy")
        clients = subprocess.Popen([CLIENTS_BIN, str(daemon.port), token, str(CLIENTS), str(WARMUP_S), str(SECONDS)],
                                   stdout=subprocess.PIPE, text=True)
        stop_pub = threading.Event()
        pt = threading.Thread(target=publisher, args=(broker.port, RATE, stop_pub), daemon=True)
        pt.start()
        time.sleep(WARMUP_S)
        tr0 = transitions(daemon)
        cpu0, _, _ = proc_stat(daemon.proc.pid)
        t0 = time.monotonic()
        out = clients.communicate(timeout=SECONDS + 60)[0]
        elapsed = time.monotonic() - t0
        cpu1, rss, hwm = proc_stat(daemon.proc.pid)
        tr1 = transitions(daemon)
        stop_pub.set()
        pt.join(10)
        f = dict(kv.split("=") for kv in out.split())
        load = os.getloadavg()[0]
        print(f"clients {CLIENTS}, offered {RATE} samples/s (each a transition), {SECONDS:.0f} s window, "
              f"load at end {load:.1f}")
        print(f"transitions committed: {(tr1 - tr0) / elapsed:.0f}/s")
        print(f"alarm events delivered: {f['delivered']}/s over all clients ({f['per_client']}/s per client, "
              f"slowest client {f['min_client']}/s)")
        print(f"lag transition→client (ms, {f['lag_samples']} samples): p50 {f['p50']}, p99 {f['p99']}, max {f['max']}")
        print(f"resyncs: {f['resyncs']}")
        print(f"daemon CPU: {100 * (cpu1 - cpu0) / elapsed:.0f} % of one core; RSS {rss} MB (peak {hwm} MB)")
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
