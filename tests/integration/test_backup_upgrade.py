#!/usr/bin/python3
"""Keeping a plant's record across backups and upgrades: an online backup (--backup) taken
while samples are written is consistent and restores as README says; the database of the
previous release (tests/data/upgrade, made by make_fixture.py) opens in this one with every
alarm, hazard and pending notification, and the notification is then delivered. Also: a
dashboard folder that cannot be served is an error in the log, not a silent 404."""
import os
import shutil
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request

from dgtest import (DAEMON, SOURCE_DIR, Publisher, connect_db, db_rows, run_tests, start_broker, start_daemon, start_plant, start_sink,
                    wait_until)

FIXTURE_DIR = os.path.join(SOURCE_DIR, "tests", "data", "upgrade")
DAY_MS = 86400000

PLANT = """
site: {{ code: "T-0001" }}
daemon: {{ history_flush: 100ms }}
persons:
  - {{ id: zhang, name: 张工, roles: [operator] }}
hazard_sources:
  - id: S
    units:
      - id: U
        events:
          - {{ id: E, lec: {{ l: 3, e: 6, c: 40 }}, measures: [ {{ id: M01, desc: 检测报警, classify: "1-4", data_src: 1 }} ] }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{mqtt_port}", client_id: dg-backup-{mqtt_port} }}
points:
  - {{ id: GT101, name: 氨气, unit_id: U, driver: mqtt.main, topic: t/gt101 }}
  - {{ id: TT101, name: 温度, unit_id: U, driver: mqtt.main, topic: t/tt101 }}
rules:
  - {{ id: R1, type: high, point: GT101, measure: M01, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
channels:
  - {{ id: hook, type: webhook, url: "http://127.0.0.1:{hook_port}/hook" }}
policies:
  - {{ id: all, priorities: [low, medium, high, critical], channels: [hook] }}
"""


def count(db, sql):
    con = connect_db(db, timeout=10)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def backup(daemon, dest):
    return subprocess.run([DAEMON, "-c", daemon.config_path, "--db", daemon.db_path, "--backup", dest, "--log-level",
                           "error"], capture_output=True, text=True, timeout=120)


def test_online_backup_and_restore(workdir, cleanup):
    broker, sink, daemon = start_plant(workdir, cleanup, PLANT)
    broker.publish("t/gt101", "30")
    wait_until(lambda: daemon.alarm("R1")["state"] == "UNACK", 10, "the alarm")
    wait_until(lambda: len(sink.received) == 1, 10, "its notification")
    writer = Publisher(broker.port, "t/tt101", lambda i: str(20 + i % 7))
    cleanup.append(writer.stop)
    db = daemon.db_path
    wait_until(lambda: count(db, "SELECT count(*) FROM samples WHERE point = 'TT101'") > 300, 30, "history writes")

    dest = os.path.join(workdir, "backup.db")
    r = backup(daemon, dest)
    assert r.returncode == 0 and r.stdout.strip() == dest, r
    taken = count(db, "SELECT count(*) FROM samples")
    wait_until(lambda: count(db, "SELECT count(*) FROM samples") > taken + 100, 20, "writes after the backup")
    writer.stop()
    assert not [f for f in os.listdir(workdir) if f.endswith(".partial")]
    assert os.path.exists(dest + "-history")  # the history database's own copy beside it
    con = connect_db(dest, readonly=False)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA history.integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # self-contained files
        assert con.execute("PRAGMA history.journal_mode").fetchone()[0] == "delete"
        in_backup = con.execute("SELECT count(*) FROM samples").fetchone()[0]
        assert 300 < in_backup <= taken, (in_backup, taken)
        assert con.execute("SELECT state FROM alarms WHERE rule = 'R1'").fetchone()[0] == "UNACK"
        assert con.execute("SELECT count(*) FROM hazards").fetchone()[0] == 1
    finally:
        con.close()

    # A missing database is an error, and no file is made in its place.
    r = subprocess.run([DAEMON, "-c", daemon.config_path, "--db", os.path.join(workdir, "none.db"), "--backup",
                        os.path.join(workdir, "b2.db")], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "none.db" in r.stderr, r
    assert not os.path.exists(os.path.join(workdir, "none.db")) and not os.path.exists(os.path.join(workdir, "b2.db"))

    # Restore as README says: stop, replace both files, remove their -wal and -shm, start.
    assert daemon.stop() == 0
    shutil.copy(dest, db)
    shutil.copy(dest + "-history", db + "-history")
    for suffix in ("-wal", "-shm", "-history-wal", "-history-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    daemon.start()
    assert count(db, "SELECT count(*) FROM samples") >= in_backup
    a = daemon.alarm("R1")
    assert a["state"] == "UNACK" and a["stage"] == "H", a
    _, body = daemon.get("/api/v1/hazards?state=all")
    assert len(body["hazards"]) == 1, body
    assert daemon.stop() == 0


def test_upgrade_from_previous_release(workdir, cleanup):
    db = os.path.join(workdir, "dg.db")
    shutil.copy(os.path.join(FIXTURE_DIR, "dualguard-0.1.0.db"), db)
    con = sqlite3.connect(db)
    try:
        # The fixture's notifications expire a year after it was made: keep them within their
        # expiry so this tests the upgrade, not the calendar.
        now_ms = int(time.time() * 1000)
        con.execute("UPDATE outbox SET expires_ms = max(expires_ms, ?) WHERE state = 0", (now_ms + DAY_MS,))
        con.commit()
    finally:
        con.close()
    before = {t: db_rows(db, f"SELECT * FROM {t} ORDER BY id") for t in
              ("alarms", "alarm_journal", "hazards", "hazard_occurrences", "hazard_journal", "outbox", "api_tokens")}
    samples = count(db, "SELECT count(*) FROM samples")
    pending = [r for r in before["outbox"] if r["state"] == 0]
    assert len(before["alarms"]) == 2 and len(before["hazards"]) == 2 and len(pending) == 2, before

    broker = start_broker(workdir, cleanup)
    sink = start_sink(cleanup)
    with open(os.path.join(FIXTURE_DIR, "plant.yaml"), encoding="utf-8") as f:
        text = f.read().format(mqtt_port=broker.port, hook_port=sink.port)
    daemon = start_daemon(workdir, cleanup, text, db=os.path.basename(db), connected=True)

    # Every pending notification is delivered, once, with its outbox id.
    got = sink.wait_for(lambda rs: len(rs) >= len(pending), 60)
    assert sorted(int(r["delivery"]) for r in got) == sorted(r["id"] for r in pending), got
    wait_until(lambda: all(r["state"] == 1 for r in db_rows(db, "SELECT state FROM outbox")), 10, "outbox delivered")

    # Every alarm, hazard, journal row and token is still there, as it was.
    for table, rows in before.items():
        now = {r["id"]: r for r in db_rows(db, f"SELECT * FROM {table} ORDER BY id")}
        for row in rows:
            kept = now.get(row["id"])
            assert kept is not None, (table, row)
            changed = {k for k in row if k in kept and kept[k] != row[k]}
            allowed = {"state", "attempts", "next_attempt_ms", "delivered_ms", "last_error"} if table == "outbox" else \
                {"last_used_ms"} if table == "api_tokens" else set()
            assert changed <= allowed, (table, row, kept)
    assert count(db, "SELECT count(*) FROM samples") >= samples
    alarms = {a["rule"]: a for a in daemon.get("/api/v1/alarms?state=all")[1]["alarms"]}
    assert alarms["R-GT101-H"]["state"] == "UNACK" and alarms["R-PT101-H"]["state"] == "ACKED", alarms
    assert alarms["R-PT101-H"]["ack_user"] == "zhang", alarms
    _, body = daemon.get("/api/v1/hazards?state=all")
    assert sorted(h["code"] for h in body["hazards"]) == sorted(h["code"] for h in before["hazards"]), body
    assert daemon.stop() == 0


def test_missing_dashboard_is_logged(workdir, cleanup):
    missing = os.path.join(workdir, "no-dashboard")
    _, _, daemon = start_plant(workdir, cleanup, PLANT, extra_args=["--dashboard", missing])
    assert f"dashboard not served: cannot read {missing}/index.html: No such file or directory" in daemon.read_log()
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{daemon.port}/", timeout=5)
        raise AssertionError("the dashboard answered")
    except urllib.error.HTTPError as e:
        assert e.code == 404
    assert daemon.get("/api/v1/alarms")[0] == 200


if __name__ == "__main__":
    raise SystemExit(run_tests([test_online_backup_and_restore, test_upgrade_from_previous_release,
                                test_missing_dashboard_is_logged]))
