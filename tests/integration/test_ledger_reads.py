#!/usr/bin/python3
"""Reading the whole ledger does not hold the daemon (docs/architecture.md, the store's read
lane). A year of a plant's inspection records and two thousand hazards make the export (and the
national upload's pass, which builds the same document) read and write tens of thousands of
records. Requests sent while an export runs are answered before it, and its answer is whole."""
import http.client
import json
import signal
import sqlite3
import sys
import threading
import time

from dgtest import run_tests, start_daemon, wait_until, write_config
from test_history_reads import timed_get

CONFIG = """
site: { code: "410700-0012", name: 测试化工 }
national: { company_code: "410700123", credit_code: 91350100M000100Y43 }
persons:
  - { id: wang, name: 王工, phone: "13900000002", roles: [maintenance] }
hazard_sources:
  - id: HS01
    name: 液氨储罐区
    units:
      - id: U01
        name: 储罐
        responsible: { dept: 储运, person: wang }
        events:
          - id: E01
            name: 泄漏
            lec: { l: 3, e: 6, c: 40 }
            measures:
              - { id: M01, desc: 巡检, data_src: 2, classify: "3-1", troubleshoot: 查看液位 }
"""

RECORDS = 40000   # completed inspection tasks: a year of about 110 measures checked daily
HAZARDS = 2000
DAY_MS = 86400 * 1000


def fill_ledger(db_path):
    con = sqlite3.connect(db_path)
    first = 1600000000000
    with con:
        con.executemany(
            "INSERT INTO inspection_tasks (measure, event, unit, hazard_source, check_cycle, check_cycle_unit,"
            " start_ms, due_ms, check_status, checker, checked_ms, data_src)"
            " VALUES ('M01', 'E01', 'U01', 'HS01', 1, '天', ?, ?, 0, 'wang', ?, 2)",
            ((first + i * DAY_MS, first + (i + 1) * DAY_MS, first + i * DAY_MS + 3600000) for i in range(RECORDS)))
        con.executemany(
            "INSERT INTO hazards (code, danger_level, danger_src, danger_manage_type, hazard_danger_type,"
            " danger_state, description, liable_person, hazard_source, unit, measure, created_ms, updated_ms)"
            " VALUES (?, 0, 1, 1, 1, 9, '地沟积水', 'wang', 'HS01', 'U01', 'M01', ?, ?)",
            ((f"YH-{i}", first + i * 60000, first + i * 60000) for i in range(HAZARDS)))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def start_with_a_years_ledger(workdir, cleanup):
    """The daemon on a ledger filled while it was stopped (no record has a UUID yet), and a
    reader's token."""
    daemon = start_daemon(workdir, cleanup, CONFIG)
    assert daemon.stop() == 0
    fill_ledger(daemon.db_path)
    daemon.start()
    return daemon, daemon.token(daemon.reader)


def test_export_of_a_years_ledger_read_off_the_loop(workdir, cleanup):
    daemon, token = start_with_a_years_ledger(workdir, cleanup)
    # The export alone (it also stores the records' UUIDs), to know what a whole answer is.
    out = {}
    started = time.monotonic()
    timed_get(daemon, "/api/v1/export?since=0", token, out, "alone")
    status, body, _, _ = out["alone"]
    assert status == 200, body
    doc = json.loads(body)
    assert len(doc["checkRecords"]) == RECORDS and len(doc["hazards"]) == HAZARDS
    alone_s = out["alone"][3] - started
    # Again, and while it runs, small requests on other connections.
    sent = threading.Event()
    export = threading.Thread(target=timed_get, args=(daemon, "/api/v1/export?since=0", token, out, "export", sent))
    export.start()
    assert sent.wait(10), "the export request sent"
    for i in range(3):
        timed_get(daemon, "/api/v1/whoami", token, out, f"whoami{i}")
    export.join(60)
    assert out["export"][0] == 200
    again = json.loads(out["export"][1])
    assert len(again["checkRecords"]) == RECORDS and len(again["hazards"]) == HAZARDS
    assert all(out[f"whoami{i}"][0] == 200 for i in range(3)), out
    # Read on the loop, the export's headers would go out before the loop even read the others.
    answered_first = [out[f"whoami{i}"][3] < out["export"][2] for i in range(3)]
    assert all(answered_first), (answered_first, alone_s)
    assert daemon.stop() == 0


def test_stop_while_an_export_stores_its_uuids(workdir, cleanup):
    """A stop while the first export stores its records' UUIDs (the writer's job, then the read
    from its commit): the daemon finishes cleanly (under ASan: nothing leaked or freed twice)
    and the UUIDs it stored are whole."""
    daemon, token = start_with_a_years_ledger(workdir, cleanup)
    out = {}
    sent = threading.Event()

    def export_cut_short():
        try:
            timed_get(daemon, "/api/v1/export?since=0", token, out, "export", sent)
        except (ConnectionError, http.client.HTTPException):
            out["export"] = "connection closed by the stop"

    export = threading.Thread(target=export_cut_short, daemon=True)
    export.start()
    assert sent.wait(10), "the export request sent"
    assert daemon.stop() == 0
    export.join(30)
    con = sqlite3.connect(daemon.db_path)
    stored = con.execute("SELECT count(*) FROM national_ids WHERE kind IN ('record', 'hazard')").fetchone()[0]
    con.close()
    assert stored in (0, RECORDS + HAZARDS), stored  # one commit: all of them or none


def test_reload_while_month_reads_run(workdir, cleanup):
    """The month's report and assessment read the configuration (site, model, persons) on the
    read lane; a reload frees the old one only after them. Reports, assessments and exports asked
    for around a reload are each answered whole (or refused with 503 when sixteen reads already
    wait), and the daemon stays clean: under ASan a read of the freed configuration aborts it."""
    daemon, token = start_with_a_years_ledger(workdir, cleanup)
    paths = ["/api/v1/reports/monthly?month=2020-09", "/api/v1/assessment?month=2020-09&format=xlsx",
             "/api/v1/reports/monthly?month=2020-09&format=csv", "/api/v1/export?since=0"]
    out = {}
    sent = [threading.Event() for _ in range(12)]
    threads = [threading.Thread(target=timed_get, args=(daemon, paths[i % len(paths)], token, out, i, sent[i]))
               for i in range(12)]
    for t in threads:
        t.start()
    assert all(e.wait(10) for e in sent), "the requests sent"  # the first export takes a few hundred ms
    write_config(workdir, CONFIG.replace("测试化工", "测试化工二厂"))
    daemon.proc.send_signal(signal.SIGHUP)
    for t in threads:
        t.join(120)
    wait_until(lambda: "configuration reloaded" in daemon.read_log(), 15, "reload")
    statuses = [out[i][0] for i in range(12)]
    assert set(statuses) <= {200, 503} and statuses.count(200) >= 4, statuses
    for i in range(12):
        if statuses[i] != 200:
            continue
        body = out[i][1]
        if i % 4 == 0:
            doc = json.loads(body)
            assert doc["enterpriseName"] in ("测试化工", "测试化工二厂") and len(doc["majorHazards"]) == 0, doc
            assert doc["statistics"]["opened"] == HAZARDS, doc["statistics"]
        elif i % 4 == 1:
            assert body[:2] == b"PK", body[:16]  # the workbook: a zip container
        elif i % 4 == 2:
            assert "类别" in body.decode("utf-8-sig"), body[:64]
        else:
            assert len(json.loads(body)["hazards"]) == HAZARDS
    timed_get(daemon, paths[0], token, out, "after")
    assert out["after"][0] == 200 and json.loads(out["after"][1])["enterpriseName"] == "测试化工二厂"
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_export_of_a_years_ledger_read_off_the_loop, test_stop_while_an_export_stores_its_uuids,
                        test_reload_while_month_reads_run]))
