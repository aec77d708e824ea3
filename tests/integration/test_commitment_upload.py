#!/usr/bin/python3
"""The confirmed daily safety commitment (安全承诺公告) as a national record: confirmed by the
principal person in charge through the real daemon, it reaches the platform simulator
(platform_sim.py, independent of the daemon's code) as one safetyCommitments record with the
enterprise codes, the national time format, the day and the figures as confirmed; later changes
and a restart (a reconciling pass) do not send it again, and its UUID stays the one stored."""
import sys
import time

from dgtest import db_rows, run_tests, start_plant, wait_until
from platform_sim import Platform

CONFIG = """
site: {{ code: "410700-0001", name: 测试化工 }}
daemon: {{ history_flush: 200ms }}
national:
  company_code: "410700123"
  credit_code: 91350100M000100Y43
  upload:
    url: "http://127.0.0.1:PLATFORM_PORT"
    interval_s: 1
    max_backoff_s: 1
    paths: {{ safetyCommitments: /sec_safety_promise }}
persons:
  - {{ id: zhang, name: 张操作员, roles: [operator] }}
  - {{ id: li, name: 李主任, roles: [workshop_director] }}
  - {{ id: zhao, name: 赵总监, roles: [safety_director] }}
  - {{ id: qian, name: 钱总经理, phone: "13900000009", roles: [principal] }}
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
            name: 液氨泄漏中毒
            lec: {{ l: 1, e: 6, c: 15 }}
            measures:
              - {{ id: M01, desc: 储罐区巡检无泄漏, classify: "3-1", data_src: 2, troubleshoot: 检查罐区有无泄漏 }}
  - id: HS02
    name: 液氯库
    major: true
    major_grade: 3
    units:
      - id: U02
        name: 液氯钢瓶库
        responsible: {{ dept: 储运车间, person: li }}
        events:
          - id: E02
            name: 氯气泄漏中毒
            lec: {{ l: 1, e: 6, c: 15 }}
            measures:
              - {{ id: M02, desc: 钢瓶库巡检, classify: "3-1", data_src: 2, troubleshoot: 检查钢瓶 }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{mqtt_port}", client_id: dg-cup-{mqtt_port}, qos: 1 }}
points:
  - {{ id: GT101, unit_id: U01, driver: mqtt.main, topic: t/gt101, path: value }}
rules:
  - {{ id: R1, type: high, point: GT101, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
"""

HOUR = 3600 * 1000


def commitments(platform):
    return [r for k, _, r in platform.snapshot()[1] if k == "safetyCommitments"]


def hazard_arrived(platform, desc):
    return any(k == "hazards" and r["dangerDesc"] == desc for k, _, r in platform.snapshot()[1])


def report(daemon, platform, desc, level, unit):
    st, h = daemon.post("/api/v1/hazards", {"description": desc, "danger_src": 1, "danger_level": level,
                                            "unit": unit}, actor="zhao")
    assert st == 201, (st, h)
    wait_until(lambda: hazard_arrived(platform, desc), 20, f"hazard {desc} on the platform")


def test_confirmed_commitment_uploaded_once(workdir, cleanup):
    platform = Platform()
    platform.start()
    cleanup.append(platform.stop)
    _, _, daemon = start_plant(workdir, cleanup, CONFIG.replace("PLATFORM_PORT", str(platform.port)))

    # A known state: one major and one general hazard open, HS02 under maintenance, one special
    # operation today.
    report(daemon, platform, "液氨罐根阀泄漏", 1, "U01")
    report(daemon, platform, "消防通道堵塞", 0, "U02")
    st, r = daemon.post("/api/v1/hazard-sources/HS02/state", {"state": "maintenance", "reason": "年度检修"}, actor="li")
    assert st == 201, (st, r)
    now = int(time.time() * 1000)
    st, r = daemon.post("/api/v1/special-operations", {"type": "hot_work", "place": "1#罐区管廊", "start_ms": now,
                                                        "end_ms": now + HOUR}, actor="li")
    assert st == 201, (st, r)
    assert commitments(platform) == []  # a draft is no record

    st, c = daemon.post("/api/v1/commitment/confirm", {"note": "已研判"}, actor="zhao")
    assert st == 403, (st, c)
    st, c = daemon.post("/api/v1/commitment/confirm", {"note": "已研判"}, actor="qian")
    assert st == 201 and c["status"] == "confirmed", (st, c)
    rec = wait_until(lambda: next(iter(commitments(platform)), None), 20, "the commitment on the platform")
    assert not platform.snapshot()[2], platform.snapshot()[2]

    today = time.strftime("%Y-%m-%d")
    confirmed = time.strftime("%Y%m%d%H%M%S", time.localtime(c["confirmed_ms"] / 1000))
    assert (rec["commitDate"], c["date"]) == (today, today), rec
    assert (rec["commitTime"], rec["createDate"], rec["updateDate"]) == (confirmed,) * 3, rec
    assert (rec["commitPerson"], rec["commitPersonMobile"], rec["createBy"]) == ("钱总经理", "13900000009", "钱总经理")
    assert (rec["companyCode"], rec["tyshxydm"], rec["deleted"]) == ("410700123", "91350100M000100Y43", "0"), rec
    figures = {k: rec[k] for k in ("majorSourceNum", "runningNum", "shutdownNum", "maintenanceNum",
                                   "specialOperationNum", "openHazardNum", "majorHazardNum", "generalHazardNum",
                                   "activeAlarmNum", "stopOrderNum")}
    assert figures == {"majorSourceNum": 2, "runningNum": 1, "shutdownNum": 0, "maintenanceNum": 1,
                       "specialOperationNum": 1, "openHazardNum": 2, "majorHazardNum": 1, "generalHazardNum": 1,
                       "activeAlarmNum": 0, "stopOrderNum": 0}, figures
    assert rec["overdueTaskNum"] == c["inspections"]["overdue"], (rec, c["inspections"])
    assert rec["commitContent"] == c["text_zh"] and rec["commitNote"] == "已研判", rec
    uuid = db_rows(daemon.db_path, "SELECT uuid FROM national_ids WHERE kind = 'commitment' AND key = ?", (today,))
    assert [u["uuid"] for u in uuid] == [rec["id"]], (uuid, rec["id"])

    # Later changes are uploaded; the commitment is not sent again, nor after a restart.
    report(daemon, platform, "安全标识缺失", 0, "U02")
    assert daemon.stop() == 0
    daemon.start()
    report(daemon, platform, "灭火器过期", 0, "U02")
    assert commitments(platform) == [rec], commitments(platform)
    assert not platform.snapshot()[2], platform.snapshot()[2]
    exp = daemon.get("/api/v1/export?since=0")[1]["safetyCommitments"]
    assert [e["id"] for e in exp] == [rec["id"]], exp


if __name__ == "__main__":
    sys.exit(run_tests([test_confirmed_commitment_uploaded_once]))
