#!/usr/bin/python3
"""Monthly report (月报) through the API in JSON, CSV and HTML: a major hazard reported this
month appears in each format, with the month's counts; bad parameters answer 400."""
import csv
import io
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dgtest import run_tests, start_plant, wait_until  # noqa: E402
from test_ledger_closed_loop import CONFIG, post  # noqa: E402


def fetch(daemon, path):
    return daemon.request("GET", path, ctype=None)


def test_monthly_report_formats(workdir, cleanup):
    broker, sink, daemon = start_plant(workdir, cleanup, CONFIG)

    desc = "液氨管线法兰<泄漏> & \"渗漏\""
    st, body = post(daemon, "/api/v1/hazards", {"actor": "zhao", "description": desc, "danger_src": 1,
                                                "danger_level": 1, "measure": "M01"})
    assert st == 201, (st, body)
    # The month the hazards were registered in (a run across midnight at a month's end must
    # still ask for that month).
    created_ms = daemon.get(f"/api/v1/hazards/{body['id']}")[1]["created_ms"]
    month = time.strftime("%Y-%m", time.localtime(created_ms / 1000))
    st, body = post(daemon, "/api/v1/hazards", {"actor": "wang", "description": "泵房积水", "danger_src": 2})
    assert st == 201, (st, body)

    # The open major hazard turns U01 red; once that change is recorded the report lists U01 as a
    # major risk of the month on its dynamic level.
    def report():
        st, doc = daemon.get(f"/api/v1/reports/monthly?month={month}&format=json")
        assert st == 200 and doc["month"] == month, (st, doc)
        return doc if any(r["basis"] == "dynamic" for r in doc["majorRisks"]) else None
    doc = wait_until(report, 15, "U01 red in the report")
    s = doc["statistics"]
    assert (s["opened"], s["closed"], s["overdue"], s["openAtEnd"]) == (2, 0, 0, 2), s
    assert {(g["code"], g["count"]) for g in s["byLevel"]} == {(0, 1), (1, 1)}, s
    assert {(g["code"], g["count"]) for g in s["bySource"]} == {(1, 1), (2, 1)}, s
    assert [h["dangerDesc"] for h in doc["majorHazards"]] == [desc], doc["majorHazards"]
    # HS01 is graded from its ammonia: S = 45/10, R = 1.5 (60 exposed) × 2 (β of ammonia) × 4.5 = 13.5 → 三级.
    assert [(r["kind"], r["id"], r["level"], r["basis"]) for r in doc["majorRisks"]] == [
        ("hazard_source", "HS01", "三级", "assessed"), ("unit", "U01", "重大风险", "dynamic")], doc
    assert doc["majorRisks"][1]["cause"].startswith("major_hazard"), doc
    assert abs(doc["majorRisks"][0]["rValue"] - 13.5) < 1e-9, doc
    st, default = daemon.get(f"/api/v1/reports/monthly?month={month}")
    assert st == 200 and default["statistics"] == s, default

    st, ctype, raw = fetch(daemon, f"/api/v1/reports/monthly?month={month}&format=csv")
    assert st == 200 and ctype.startswith("text/csv"), (st, ctype)
    assert raw.startswith(b"\xef\xbb\xbf"), raw[:8]
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["类别", "项目", "编号", "名称", "等级或状态", "数量"], rows[0]
    assert ["隐患统计", "本月新增隐患", "", "", "", "2"] in rows, rows
    major = [r for r in rows if r[0] == "重大隐患"]
    assert len(major) == 1 and major[0][3] == desc and major[0][4] == "整改中", major

    st, ctype, raw = fetch(daemon, f"/api/v1/reports/monthly?month={month}&format=html")
    page = raw.decode("utf-8")
    assert st == 200 and ctype.startswith("text/html"), (st, ctype)
    assert '<html lang="zh-CN">' in page and "双重预防机制月报" in page, page[:300]
    assert "液氨管线法兰&lt;泄漏&gt; &amp; &quot;渗漏&quot;" in page and "<泄漏>" not in page, page

    for q, field in (("month=2026-13", "month"), ("", "month"), (f"month={month}&format=pdf", "format")):
        st, body = daemon.get_status(f"/api/v1/reports/monthly?{q}")
        assert st == 400 and body["error"].startswith(field), (q, st, body)


if __name__ == "__main__":
    sys.exit(run_tests([test_monthly_report_formats]))
