#!/usr/bin/python3
"""The upload journal against the platform simulator (platform_sim.py): a change is queued by
the transaction that makes it, so kill -9 right after its commit still delivers it exactly
once and in order (and the start-up reconciliation finds nothing the marks missed); a record
the platform refuses for good is set aside (dead letter) without holding the queue, its later
versions still go, and an engineer can send it again; a long outage only delays; hazards carry
managementClassification and occurrenceLink, and 包保 tasks arrive as national task rows."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_national_upload as nu  # noqa: E402
from dgtest import db_rows, run_tests, wait_until  # noqa: E402
from test_model_api import call  # noqa: E402

CONFIG = nu.CONFIG.replace("""    max_backoff_s: 1
""", """    max_backoff_s: 1
    max_refusals: 3
    refuse_codes: [4001]
""").replace("""  upload:
""", """  responsibility_tasks:
    - {{ measure: M03, role: principal, task_num: 1 }}
    - {{ measure: M03, role: operational, task_num: 10, check_cycle: {{ n: 1, unit: 天 }} }}
  upload:
""")


def start(workdir, cleanup, **kw):
    nu.CONFIG = CONFIG  # the shared start() formats the module's template
    return nu.start(workdir, cleanup, **kw)


def status(daemon):
    st, body = daemon.get("/api/v1/upload")
    assert st == 200, body
    return body, {k["kind"]: k for k in body["kinds"]}


def shutdown(daemon, reason, who="wang"):
    st, body = call(daemon, "POST", "/api/v1/shutdowns", {"hazard_source": "HS01", "unit": "U01",
                    "start_ms": int(time.time() * 1000), "reason": reason}, token=daemon.token(who))
    assert st == 201, (st, body)
    return body["id"]


def versions(arrivals, kind, rid):
    return [r for k, i, r in arrivals if k == kind and i == rid]


def shutdown_uuid(platform, reason):
    return next(i for k, i, r in platform.snapshot()[1] if k == "shutdownRecords" and r["stopReason"] == reason)


def test_fields_and_responsibility_tasks(workdir, cleanup):
    platform, broker, daemon = start(workdir, cleanup)
    wait_until(lambda: len(platform.snapshot()[0]["checkTasks"]) == 5, 20, "3 daily and 2 包保 tasks")
    recs, _, errors = platform.snapshot()
    assert not errors, errors
    m03 = nu.by_desc(recs["controlMeasures"], "储罐区巡检无泄漏")
    bb = sorted(((t["workType"], t["taskNum"], t["checkCycle"], t["checkCycleUnit"]) for t in recs["checkTasks"].values()
                 if t["riskMeasureId"] == m03["id"]))
    assert bb[0][:2] == ("0", None) and bb[1:] == [("1", "1", 3, "月"), ("3", "10", 1, "天")], bb
    from test_ledger_closed_loop import post
    task = nu.open_task(daemon, "M03")
    st, body = post(daemon, f"/api/v1/inspections/{task['id']}/complete",
                    {"check_status": 1, "note": "阀门操作失误", "management_classification": 1, "occurrence_link": 6},
                    "wang")
    assert st == 200, (st, body)
    st, body = post(daemon, f"/api/v1/inspections/{nu.open_task(daemon, 'M04')['id']}/complete",
                    {"check_status": 1, "occurrence_link": 11}, "wang")
    assert st == 400 and "occurrence_link" in body["error"], (st, body)
    broker.publish("t/gt101", '{"value": 40}')
    wait_until(lambda: len(platform.snapshot()[0]["hazards"]) == 2, 20, "both hazards on the platform")
    recs, _, errors = platform.snapshot()
    assert not errors, errors
    got = sorted((h["dangerSrc"], h["managementClassification"], h["occurrenceLink"]) for h in recs["hazards"].values())
    assert got == [("1", 1, 6), ("9", 2, None)], got
    # set later, with a step of the closed loop (a fix the platform asked for): a new version
    hid = db_rows(daemon.db_path, "SELECT id FROM hazards WHERE danger_src = 9")[0]["id"]
    st, body = post(daemon, f"/api/v1/hazards/{hid}/rectify", {"rectify_measures": "更换检测器", "occurrence_link": 7},
                    "li")
    assert st == 200, (st, body)

    def monitored():
        return next(h for h in platform.snapshot()[0]["hazards"].values() if h["dangerSrc"] == "9")
    wait_until(lambda: monitored()["occurrenceLink"] == 7, 20, "the hazard's occurrenceLink on the platform")
    assert monitored()["managementClassification"] == 2


def test_kill9_right_after_commit(workdir, cleanup):
    platform, broker, daemon = start(workdir, cleanup)
    wait_until(lambda: nu.settled(daemon) and platform.snapshot()[0]["checkTasks"], 20, "the model on the platform")
    sid = shutdown(daemon, "停车检修一")
    assert call(daemon, "DELETE", f"/api/v1/shutdowns/{sid}", token=daemon.token("wang"))[0] == 200
    daemon.kill9()                        # right after the commits: the marks carry the change
    platform.wait_quiet()                 # a request sent just before the kill is still being judged
    before = [r["deleted"] for k, _, r in platform.snapshot()[1] if k == "shutdownRecords"]  # taken before the crash
    queued = db_rows(daemon.db_path, "SELECT count(*) AS n FROM upload_marks")[0]["n"] + \
        db_rows(daemon.db_path, "SELECT count(*) AS n FROM upload_queue WHERE kind = 7")[0]["n"]
    assert queued >= 1, "the change left nothing durable for the upload"
    daemon.start()
    uuid = wait_until(lambda: next((i for k, i, r in platform.snapshot()[1] if k == "shutdownRecords"
                                    and r["deleted"] == "1"), None), 30, "the withdrawn shutdown on the platform")
    wait_until(lambda: nu.settled(daemon), 30, "the queue to drain")
    _, arrivals, errors = platform.snapshot()
    assert not errors, errors
    seen = [r["deleted"] for r in versions(arrivals, "shutdownRecords", uuid)]
    assert seen == sorted(seen) and seen[-1] == "1", seen   # in commit order
    for v in set(seen):                   # once, or twice if taken just before the crash (ack lost)
        assert seen.count(v) <= 1 + before.count(v), (seen, before)
    body, _ = status(daemon)
    assert body["journal"]["reconciled_missed"] == 0, body["journal"]   # the marks covered it
    assert body["journal"]["reconciled_at_ms"] > 0, body["journal"]


def test_dead_letter_and_retry(workdir, cleanup):
    platform, broker, daemon = start(workdir, cleanup)
    wait_until(lambda: nu.settled(daemon) and platform.snapshot()[0]["checkTasks"], 20, "the model on the platform")
    # the platform refuses, for good, a live shutdown whose reason it cannot accept
    platform.refuse = lambda kind, rec: 4001 if kind == "shutdownRecords" and rec["stopReason"] == "原因不详" \
        and rec["deleted"] == "0" else None
    bad = shutdown(daemon, "原因不详")
    shutdown(daemon, "年度检修")                          # queued behind it, in the same page
    wait_until(lambda: shutdown_uuid(platform, "年度检修"), 20, "the record behind the refused one")
    wait_until(lambda: nu.settled(daemon), 20, "its acknowledgement")
    body, kinds = status(daemon)
    sd = kinds["shutdownRecords"]
    assert sd["dead_lettered"] == 1 and sd["pending"] == 0 and "4001" in sd["last_error"], sd
    assert body["dead_lettered"] == 1 and body["pending"] == 0, body
    # a later version of the refused record still goes, in order
    assert call(daemon, "DELETE", f"/api/v1/shutdowns/{bad}", token=daemon.token("wang"))[0] == 200
    uuid = wait_until(lambda: next((i for k, i, r in platform.snapshot()[1] if k == "shutdownRecords"
                                    and r["stopReason"] == "原因不详"), None), 20, "the later version")
    assert [r["deleted"] for r in versions(platform.snapshot()[1], "shutdownRecords", uuid)] == ["1"]
    # retrying is for admins and engineers; once the cause is fixed the record is sent again
    st, _ = call(daemon, "POST", "/api/v1/upload/retry", {"kind": "shutdownRecords"}, token=daemon.token("li"))
    assert st == 403, st
    st, _ = call(daemon, "POST", "/api/v1/upload/retry", {"kind": "nope"}, token=daemon.token("wang"))
    assert st == 400, st
    platform.refuse = None
    st, out = call(daemon, "POST", "/api/v1/upload/retry", {"kind": "shutdownRecords"}, token=daemon.token("wang"))
    assert st == 200 and out["retried"] == 1, (st, out)
    wait_until(lambda: len(versions(platform.snapshot()[1], "shutdownRecords", uuid)) == 2, 20, "the retried record")
    wait_until(lambda: nu.settled(daemon), 20, "the queue to drain")
    body, kinds = status(daemon)
    assert kinds["shutdownRecords"]["dead_lettered"] == 0 and body["dead_lettered"] == 0, body
    _, _, errors = platform.snapshot()
    assert not errors, errors


def test_long_outage_then_everything_in_order(workdir, cleanup):
    platform, broker, daemon = start(workdir, cleanup)
    wait_until(lambda: nu.settled(daemon) and platform.snapshot()[0]["checkTasks"], 20, "the model on the platform")
    platform.mode = "down"                # HTTP 503 on every POST; the backoff is capped at max_backoff_s
    first = shutdown(daemon, "检修甲")
    nu.inspect(daemon, "M03", 1, "罐区法兰渗漏")
    assert call(daemon, "DELETE", f"/api/v1/shutdowns/{first}", token=daemon.token("wang"))[0] == 200
    shutdown(daemon, "检修乙")
    posts = platform.posts
    wait_until(lambda: platform.posts >= posts + 8, 40, "the client retrying at its capped backoff")
    body, kinds = status(daemon)
    assert body["failures"] >= 8 and body["dead_lettered"] == 0, body   # an outage never sets records aside
    # 甲 created and withdrawn, 乙 created: every version waits, none lost to the outage
    assert kinds["shutdownRecords"]["pending"] >= 2 and kinds["shutdownRecords"]["oldest_pending_ms"], \
        (kinds["shutdownRecords"], db_rows(daemon.db_path, "SELECT seq, uuid, acked_ms FROM upload_queue WHERE kind = 7"))
    platform.mode = "up"
    wait_until(lambda: nu.settled(daemon), 30, "the queue to drain")
    _, arrivals, errors = platform.snapshot()
    assert not errors, errors
    a = shutdown_uuid(platform, "检修甲")
    seen = [r["deleted"] for r in versions(arrivals, "shutdownRecords", a)]
    assert seen in (["0", "1"], ["1"]), seen          # versions in commit order, the last one last
    order = [(k, r.get("stopReason")) for k, _, r in arrivals if k in ("shutdownRecords", "checkRecords", "hazards")]
    assert order.index(("shutdownRecords", "检修甲")) < order.index(("shutdownRecords", "检修乙")), order
    assert order.index(("checkRecords", None)) < order.index(("hazards", None)), order


if __name__ == "__main__":
    sys.exit(run_tests([test_fields_and_responsibility_tasks, test_kill9_right_after_commit, test_dead_letter_and_retry,
                        test_long_outage_then_everything_in_order]))
