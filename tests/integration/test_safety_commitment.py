#!/usr/bin/python3
"""The daily safety commitment (安全承诺公告) through a real daemon: prefilled from a known state
(hazard sources' operating states, open hazards by level, an active alarm, a stop flag, overdue
inspection tasks of a chosen past date written into the database, special operations declared
for that date), confirmed only by the principal person in charge or the delegate, for today
only, and never changed once confirmed (the database refuses it too); listed as history and
exported."""
import sqlite3
import sys
import time

from dgtest import run_tests, start_plant, wait_until
from test_major_governance import FIVE

CONFIG = """
site: {{ code: "410700-0001", name: 测试化工 }}
daemon: {{ history_flush: 200ms }}
ledger: {{ principal_delegates: [sun] }}
persons:
  - {{ id: zhang, name: 张操作员, roles: [operator] }}
  - {{ id: li, name: 李主任, roles: [workshop_director] }}
  - {{ id: zhao, name: 赵总监, roles: [safety_director] }}
  - {{ id: chen, name: 陈管理员, roles: [admin] }}
  - {{ id: qian, name: 钱总经理, roles: [principal] }}
  - {{ id: sun, name: 孙副总, roles: [viewer] }}
hazard_sources:
  - id: HS01
    name: 液氨储罐区
    major: true
    major_grade: 2
    units:
      - id: U01
        name: 1#液氨储罐
        responsible: {{ dept: 储运车间, person: li }}
        events:
          - id: E01
            lec: {{ l: 1, e: 6, c: 15 }}
            measures:
              - {{ id: M01, desc: 储罐区巡检无泄漏, data_src: 2 }}
  - id: HS02
    name: 液氯库
    major: true
    major_grade: 3
    units:
      - id: U02
        name: 液氯钢瓶库
        events:
          - id: E02
            lec: {{ l: 1, e: 6, c: 15 }}
            measures:
              - {{ id: M02, desc: 钢瓶库巡检, data_src: 2 }}
  - id: HS03
    name: 机修车间
    units:
      - id: U03
        events:
          - id: E03
            lec: {{ l: 1, e: 1, c: 1 }}
            measures:
              - {{ id: M03, data_src: 2 }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{mqtt_port}", client_id: dg-commit-{mqtt_port}, qos: 1 }}
points:
  - {{ id: GT101, unit_id: U01, driver: mqtt.main, topic: t/gt101, path: value }}
rules:
  - {{ id: R1, type: high, point: GT101, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
"""

HOUR = 3600 * 1000
DATE = "2026-03-10"  # the controllable date: a past day whose tasks are written below


def local_midnight_ms(date):
    return int(time.mktime(time.strptime(date, "%Y-%m-%d")) * 1000)


def post(daemon, path, body, actor):
    return daemon.post(path, body, actor=actor)


def seed_tasks(db, day_ms):
    """Five inspection tasks around the day: two count as overdue (one still pending, one judged
    未排查), one was done, one is due the day before, one the day after."""
    rows = [("M01", day_ms + 9 * HOUR, None), ("M02", day_ms + 15 * HOUR, 2), ("M03", day_ms + 10 * HOUR, 0),
            ("M01", day_ms - 1 * HOUR, None), ("M02", day_ms + 25 * HOUR, None)]
    con = sqlite3.connect(db)
    with con:
        for m, due, status in rows:
            con.execute("INSERT INTO inspection_tasks (measure, event, unit, hazard_source, check_cycle, check_cycle_unit,"
                        " start_ms, due_ms, data_src, check_status, checked_ms) VALUES (?, 'E01', 'U01', 'HS01', 1, '天',"
                        " ?, ?, 2, ?, ?)", (m, due - 24 * HOUR, due, status, None if status is None else due))
    con.close()


def known_state(daemon, broker, day_ms):
    # Open hazards: one major (with a stop flag) and two general; one more general one closed.
    st, h = post(daemon, "/api/v1/hazards", {"description": "液氨罐根阀泄漏", "danger_src": 1, "danger_level": 1,
                                             "unit": "U01"}, "zhang")
    assert st == 201, (st, h)
    assert post(daemon, f"/api/v1/hazards/{h['id']}/stop", {"flag": "stop_production", "reason": "罐区停产治理"},
                "zhao")[0] == 200
    for d in ("消防通道堵塞", "安全标识缺失", "灭火器过期"):
        assert post(daemon, "/api/v1/hazards", {"description": d, "danger_src": 1, "unit": "U02"}, "zhang")[0] == 201
    assert post(daemon, "/api/v1/hazards/4/rectify", {"rectify_measures": "更换"}, "li")[0] == 200
    assert post(daemon, "/api/v1/hazards/4/submit", {}, "li")[0] == 200
    assert post(daemon, "/api/v1/hazards/4/verify", {}, "zhao")[0] == 200
    # Operating states: HS02 under maintenance; an operator may not set it, nor without a reason.
    assert post(daemon, "/api/v1/hazard-sources/HS02/state", {"state": "maintenance", "reason": "年度检修"}, "zhang")[0] == 403
    st, r = post(daemon, "/api/v1/hazard-sources/HS02/state", {"state": "maintenance"}, "li")
    assert st == 400 and r["error"].startswith("reason"), (st, r)
    st, r = post(daemon, "/api/v1/hazard-sources/HS02/state", {"state": "maintenance", "reason": "年度检修"}, "li")
    assert st == 201 and r["state_zh"] == "检修" and r["actor"] == "li", (st, r)
    # Special operations of the date (and one the next day, and one refused).
    for t, place, start in (("hot_work", "1#罐区管廊", 8), ("动火", "2#泵房", 13), ("受限空间作业", "3#储罐内部", 9),
                            ("lifting", "装卸站台", 24 + 8)):
        st, r = post(daemon, "/api/v1/special-operations", {"type": t, "place": place, "start_ms": day_ms + start * HOUR,
                                                             "end_ms": day_ms + (start + 4) * HOUR}, "li")
        assert st == 201 and r["declared_by"] == "li", (st, r)
    st, r = post(daemon, "/api/v1/special-operations", {"type": "爬树", "place": "x", "start_ms": day_ms,
                                                         "end_ms": day_ms + HOUR}, "li")
    assert st == 400 and r["error"].startswith("type"), (st, r)
    # One active alarm.
    broker.publish("t/gt101", '{"value": 30}')
    wait_until(lambda: daemon.alarm("R1")["active"], 15, "the alarm active")


def check_prefill(c, date):
    assert c["date"] == date and c["status"] == "draft" and c["confirmed_by"] is None, c
    src = {s["id"]: s for s in c["hazard_sources"]}
    assert sorted(src) == ["HS01", "HS02"], src  # the major hazard sources only
    assert src["HS01"]["state"] == "running" and src["HS02"]["state"] == "maintenance", src
    assert src["HS02"]["reason"] == "年度检修" and src["HS02"]["actor"] == "li", src
    assert c["hazards_open"] == {"major": 1, "general": 2, "total": 3}, c["hazards_open"]
    assert [s["stop_flag"] for s in c["stops"]] == ["stop_production"], c["stops"]
    assert c["alarms"]["active"] == 1 and c["alarms"]["by_priority"]["high"] == 1, c["alarms"]
    assert "重大危险源2处，其中运行1处、停产0处、检修1处" in c["text_zh"], c["text_zh"]
    assert "重大隐患1项、一般隐患2项" in c["text_zh"] and "停产停业或撤人1处" in c["text_zh"], c["text_zh"]
    assert "2 major hazard source(s)" in c["text_en"], c["text_en"]


def test_commitment_prefilled_confirmed_immutable(workdir, cleanup):
    broker, _, daemon = start_plant(workdir, cleanup, CONFIG, start=False)
    day_ms = local_midnight_ms(DATE)
    daemon.start()
    wait_until(lambda: daemon.drivers()[0]["subscribed"], 15, "MQTT subscribed")
    assert daemon.stop() == 0
    seed_tasks(daemon.db_path, day_ms)
    daemon.start()
    wait_until(lambda: daemon.drivers()[0]["subscribed"], 15, "MQTT subscribed")
    known_state(daemon, broker, day_ms)

    # The chosen date: its overdue tasks and its special operations.
    c = daemon.get(f"/api/v1/commitment?date={DATE}")[1]
    check_prefill(c, DATE)
    assert c["inspections"]["overdue"] == 2, c["inspections"]
    assert [t["due_ms"] for t in c["inspections"]["tasks"]] == [day_ms + 9 * HOUR, day_ms + 15 * HOUR], c["inspections"]
    ops = c["special_operations"]
    assert [(o["type"], o["type_zh"], o["place"]) for o in ops] == [
        ("hot_work", "动火作业", "1#罐区管廊"), ("confined_space", "受限空间作业", "3#储罐内部"),
        ("hot_work", "动火作业", "2#泵房")], ops
    assert "特殊作业3处（动火作业2处、受限空间作业1处）" in c["text_zh"], c["text_zh"]
    assert "超期未排查任务2项" in c["text_zh"], c["text_zh"]
    st, r = daemon.get_status("/api/v1/commitment?date=2026-02-30")
    assert st == 400, (st, r)

    # Confirmation: only the principal or the delegate, only for today.
    today = time.strftime("%Y-%m-%d")
    check_prefill(daemon.get("/api/v1/commitment")[1], today)
    for who in ("zhao", "chen", "li"):
        st, r = post(daemon, "/api/v1/commitment/confirm", {}, who)
        assert st == 403 and "principal" in r["error"], (who, st, r)
    st, r = post(daemon, "/api/v1/commitment/confirm", {"date": DATE}, "qian")
    assert st == 409 and "only today's" in r["error"], (st, r)
    st, c = post(daemon, "/api/v1/commitment/confirm", {"note": "已研判"}, "qian")
    assert st == 201 and c["status"] == "confirmed" and c["confirmed_by"] == "qian", (st, c)
    assert c["confirmed_by_name"] == "钱总经理" and c["note"] == "已研判" and c["date"] == today, c
    assert c["hazards_open"]["total"] == 3 and c["alarms"]["active"] == 1, c
    st, r = post(daemon, "/api/v1/commitment/confirm", {}, "sun")  # the delegate may, but it is done
    assert st == 409 and "already confirmed" in r["error"], (st, r)

    # The live state moves on; the confirmed commitment does not.
    broker.publish("t/gt101", '{"value": 10}')
    wait_until(lambda: not daemon.alarm("R1")["active"], 15, "the alarm cleared")
    assert post(daemon, "/api/v1/hazards", {"description": "新隐患", "danger_src": 1, "unit": "U02"}, "zhang")[0] == 201
    assert daemon.get("/api/v1/commitment")[1] == c
    con = sqlite3.connect(daemon.db_path)
    try:
        for sql in ("UPDATE commitments SET confirmed_by = 'x'", "DELETE FROM commitments"):
            try:
                with con:
                    con.execute(sql)
                raise AssertionError(sql + " was allowed")
            except sqlite3.IntegrityError as e:
                assert "immutable" in str(e), e
    finally:
        con.close()
    hist = daemon.get("/api/v1/commitments")[1]["commitments"]
    assert hist == [c], hist
    exp = daemon.get("/api/v1/export?since=0")[1]["commitments"]
    assert exp == [c], exp

    # After a restart it is still the same.
    assert daemon.stop() == 0
    daemon.start()
    assert daemon.get("/api/v1/commitment")[1] == c
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_commitment_prefilled_confirmed_immutable]))
