#!/usr/bin/python3
"""A Modbus TCP device that stalls and then answers its backlog late: while stalled it reads
requests and answers none; once it runs again, every request on a connection with a backlog gets
the answer to the oldest queued request instead (a PLC or gateway working off its queue). The
daemon must drop such a connection on the first answer whose transaction id does not match, so
the points recover within one poll interval plus the reconnect delay, and a stale answer is
never taken for the current value."""
import os
import signal
import socket
import struct
import sys
import threading
import time
from collections import deque

from dgtest import Daemon, db_rows, free_port, run_tests, wait_until

POLL_S = 0.2
RECONNECT_MAX_S = 2.0
MARGIN_S = 3.0  # scheduling on a loaded machine; the old driver never recovered at all

CONFIG = """
site: {{ code: "410700-0003", name: 测试化工 }}
daemon: {{ history_flush: 100ms }}
modbus:
  - {{ id: plc1, transport: tcp, host: 127.0.0.1, port: {port}, poll_interval: 200ms,
      response_timeout: 300ms, fail_threshold: 3, reconnect_max: 2s }}
points:
  - {{ id: PT301, name: 出口压力, eng_unit: kPa, driver: modbus.plc1, holding: 0, type: int16 }}
"""


class LaggingPlc:
    """Unit 1, holding registers (function 3) only, all registers hold `value`."""

    def __init__(self, port):
        self.port = port
        self.value = 0
        self.stalled = False
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.stale_answers = 0
        self.release_backlog = 0  # while stalled: resume when a connection queues its Nth request
        self.released = threading.Event()
        self.released_at = None
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self):
        self.sock.close()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_exact(conn, n):
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def _serve(self, conn):
        backlog = deque()
        with conn:
            try:
                while True:
                    tid, _pid, length, unit = struct.unpack(">HHHB", self._read_exact(conn, 7))
                    fc, _addr, count = struct.unpack(">BHH", self._read_exact(conn, length - 1))
                    with self.lock:
                        backlog.append((tid, unit, fc, count, self.value))
                        if self.stalled and self.release_backlog and len(backlog) == self.release_backlog:
                            # The device resumes with this backlog on the daemon's current connection.
                            self.stalled = False
                            self.value = 42
                            self.released_at = time.monotonic()
                            self.released.set()
                            continue
                        if self.stalled:
                            continue
                        if len(backlog) > 1:
                            self.stale_answers += 1
                    tid, unit, fc, count, value = backlog.popleft()
                    regs = struct.pack(f">{count}h", *([value] * count))
                    pdu = struct.pack(">BB", fc, len(regs)) + regs
                    conn.sendall(struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu)
            except (EOFError, OSError):
                return


def point(daemon):
    return next(p for p in daemon.get("/api/v1/points")[1]["points"] if p["id"] == "PT301")


def test_stall_then_late_answers_recovers_without_stale_values(workdir, cleanup):
    port = free_port()
    plc = LaggingPlc(port)
    cleanup.append(plc.stop)
    plc.value = 999  # what the device said before the stall: its late answers carry it
    cfg = os.path.join(workdir, "plant.yaml")
    with open(cfg, "w", encoding="utf-8") as f:
        f.write(CONFIG.format(port=port))
    db = os.path.join(workdir, "dg.db")
    daemon = Daemon(workdir, cfg, db)
    cleanup.append(lambda: daemon.stop(signal.SIGKILL))
    daemon.start()
    wait_until(lambda: (p := point(daemon))["quality"] == "good" and p["value"] == 999, 15, "PT301 = 999")

    with plc.lock:
        plc.stalled = True
    wait_until(lambda: point(daemon)["quality"] == "comm_fault", 15, "PT301 comm_fault during the stall")
    time.sleep(3 * RECONNECT_MAX_S)  # let the probe back-off reach reconnect_max
    stall_end_ms = int(time.time() * 1000)
    with plc.lock:
        plc.release_backlog = 2
    assert plc.released.wait(30), "no connection ever had two requests queued"
    t0 = plc.released_at

    seen = []

    def recovered():
        p = point(daemon)
        seen.append((p["quality"], p["value"]))
        return p["quality"] == "good" and p["value"] == 42

    wait_until(recovered, 30, "PT301 to recover with the current value 42", interval=0.02)
    elapsed = time.monotonic() - t0
    bound = POLL_S + RECONNECT_MAX_S + MARGIN_S
    assert elapsed <= bound, f"recovered after {elapsed:.2f}s, bound {bound:.2f}s"
    assert ("good", 999) not in seen, seen
    assert plc.stale_answers >= 1, "the device never answered late: the test did not test anything"

    time.sleep(0.5)  # one more history flush
    stale = db_rows(db, "SELECT ts_ms, value FROM samples WHERE point = 'PT301' AND quality = 0 "
                        "AND value = 999 AND ts_ms >= ?", (stall_end_ms,))
    assert not stale, f"stale answers stored as good samples: {stale}"
    _, drivers = daemon.get("/api/v1/drivers")
    bus = next(d for d in drivers["drivers"] if d["kind"] == "modbus")
    assert bus["connected"] and bus["slaves_down"] == 0, bus
    print(f"recovered {elapsed:.2f}s after the stall ended; {plc.stale_answers} late answers sent",
          flush=True)
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_stall_then_late_answers_recovers_without_stale_values]))
