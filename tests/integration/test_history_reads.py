#!/usr/bin/python3
"""A long read of a point's history does not hold the daemon (docs/architecture.md, the store's
read lane). A month of history of a point sampled every ten minutes is spread over 86 400 moves
of its slice; reading it walks every one of them. Requests sent while that read runs are
answered before it, and its own answer is whole and right."""
import http.client
import json
import sqlite3
import struct
import sys
import threading
import time

from dgtest import run_tests, start_daemon

CONFIG = """
site: { code: "410700-0011", name: 测试化工 }
mqtt:
  - { id: main, uri: "tcp://127.0.0.1:9", client_id: dg-history-reads }
points:
  - { id: LT1, name: 尾矿库库水位, eng_unit: m, driver: mqtt.main, topic: t/lt1 }
"""

DAY_MS = 86400 * 1000
DAYS = 30
MOVE_EVERY_MS = 30 * 1000      # each slice of the history's log is moved every 30 s
SAMPLE_EVERY_MS = 600 * 1000   # LT1: one sample every ten minutes
OTHERS = 4                     # other points of LT1's slice, one sample in every move
SLICES = 30                    # HISTORY_LOG_SLICES


def block(value):
    """One record of a block (daemon/history_pack.h): u32 dt, u8 quality (0 good), f64 value, big-endian."""
    return struct.pack(">IBd", 0, 0, value)


def fill_history(db_path, now_ms):
    """A month of moves of LT1's slice, as the daemon leaves them. Returns LT1's samples (ts, value)."""
    con = sqlite3.connect(db_path + "-history")
    with con:
        con.execute("INSERT OR IGNORE INTO point_ids (name) VALUES ('LT1')")
        lt1 = con.execute("SELECT id FROM point_ids WHERE name = 'LT1'").fetchone()[0]
        others = []
        for k in range(OTHERS):
            pid = lt1 + SLICES * (k + 1)
            con.execute("INSERT INTO point_ids (id, name) VALUES (?, ?)", (pid, f"gone-{k}"))
            others.append(pid)
        move = con.execute("SELECT coalesce(max(id), 0) FROM sample_moves").fetchone()[0]
        samples, moves, blocks = [], [], []
        first = now_ms - DAYS * DAY_MS
        for t1 in range(first + MOVE_EVERY_MS, now_ms, MOVE_EVERY_MS):
            move += 1
            moves.append((move, lt1 % SLICES, t1 - MOVE_EVERY_MS + 1, t1))
            if t1 // SAMPLE_EVERY_MS != (t1 - MOVE_EVERY_MS) // SAMPLE_EVERY_MS:
                value = float(len(samples) % 1000)
                samples.append((t1, value))
                blocks.append((lt1, t1, t1, 1, block(value), move))
            blocks.extend((pid, t1, t1, 1, block(1.0), move) for pid in others)
        con.executemany("INSERT INTO sample_moves (id, slice, t0, t1) VALUES (?, ?, ?, ?)", moves)
        con.executemany("INSERT INTO sample_blocks (point, t0, t1, n, data, move) VALUES (?, ?, ?, ?, ?, ?)", blocks)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return samples


def timed_get(daemon, path, token, out, key, sent=None):
    """GET path on a connection of its own; out[key] = (status, body, when its headers came, when
    all of it had). `sent` (an Event) is set once the request is on its way."""
    con = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=60)
    con.request("GET", path, headers={"Authorization": "Bearer " + token})
    if sent:
        sent.set()
    r = con.getresponse()
    headers_at = time.monotonic()
    body = r.read()
    out[key] = (r.status, body, headers_at, time.monotonic())
    con.close()


def test_month_of_history_read_off_the_loop(workdir, cleanup):
    daemon = start_daemon(workdir, cleanup, CONFIG)
    assert daemon.stop() == 0
    now = int(time.time() * 1000)
    samples = fill_history(daemon.db_path, now)
    daemon.start()
    token = daemon.token(daemon.reader)
    path = f"/api/v1/points/LT1/history?since={now - DAYS * DAY_MS}&until={now}&limit=10000"
    # The read alone, to know what a whole answer is and that it takes long enough to overlap.
    out = {}
    started = time.monotonic()
    timed_get(daemon, path, token, out, "alone")
    status, body, _, _ = out["alone"]
    assert status == 200, body
    got = json.loads(body)
    assert got["truncated"] is False
    # LT1's samples, and the daemon's own marks of its broker being unreachable (first start)
    assert [(x["ts_ms"], x["value"]) for x in got["samples"] if x["quality"] == "good"] == samples
    assert {x["quality"] for x in got["samples"] if x["quality"] != "good"} <= {"comm_fault"}
    alone_s = out["alone"][3] - started
    # The read again, and while it runs, small requests on other connections.
    sent = threading.Event()
    reads = threading.Thread(target=timed_get, args=(daemon, path, token, out, "history", sent))
    reads.start()
    assert sent.wait(10), "the history request sent"
    for i in range(3):
        timed_get(daemon, "/api/v1/whoami", token, out, f"whoami{i}")
    reads.join(60)
    assert out["history"][0] == 200 and json.loads(out["history"][1]) == got
    assert all(out[f"whoami{i}"][0] == 200 for i in range(3)), out
    # Read on the loop, the history's headers would go out before the loop even read the others.
    answered_first = [out[f"whoami{i}"][3] < out["history"][2] for i in range(3)]
    assert all(answered_first), (answered_first, alone_s)
    # Many at once: reads beyond the lane's queue are refused with 503, the others answered whole.
    threads = [threading.Thread(target=timed_get, args=(daemon, path, token, out, f"many{i}")) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    statuses = sorted(out[f"many{i}"][0] for i in range(20))
    assert set(statuses) <= {200, 503} and statuses.count(200) >= 16, statuses  # STORE_READS_MAX
    assert all("too many reads waiting" in json.loads(out[f"many{i}"][1])["error"]
               for i in range(20) if out[f"many{i}"][0] == 503)
    assert all(json.loads(out[f"many{i}"][1]) == got for i in range(20) if out[f"many{i}"][0] == 200)
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_month_of_history_read_off_the_loop]))
