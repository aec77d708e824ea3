#!/usr/bin/python3
"""Who may act on hazards and inspection tasks, end to end over the API with real tokens: a
person without an API role can do nothing; the actor is always the token's person, whatever the
body says; naming another person as rectifier only assigns the work, which that person must
record themselves; the verifier must differ from who actually rectified; a major hazard is
accepted only by the principal person in charge (after its governance steps). Photos: refused without a role, on a
closed hazard and over the upload quota. A new database is created 0600."""
import os
import stat
import sys

from dgtest import db_rows, run_tests, wait_until
from test_hazard_review_photos import CONFIG as REVIEW_CONFIG, png, post, start, upload
from test_major_governance import govern

PERSONS = """  - { id: nobody, name: 孙临时工, roles: [contractor] }
  - { id: zhang, name: 张操作员, roles: [operator] }
  - { id: sun, name: 孙操作员, roles: [operator] }
  - { id: li, name: 李主任, roles: [workshop_director] }
  - { id: wang, name: 王工, roles: [engineer] }
  - { id: zhao, name: 赵总监, roles: [safety_director] }
  - { id: qian, name: 钱总经理, roles: [principal] }
"""
# The review test's plant (one unit, liable li; one inspected measure) with these persons and a
# small upload quota.
CONFIG = REVIEW_CONFIG.replace("ledger: { review_reports: true }",
                               "ledger: { upload_quota: { per_person_day_mib: 1, total_mib: 2 } }")
CONFIG = CONFIG[:CONFIG.index("persons:\n") + len("persons:\n")] + PERSONS + CONFIG[CONFIG.index("hazard_sources:"):]

FIVE = {"rectify_measures": "更换法兰垫片", "cost": 800, "contingency_plan": "液氨泄漏专项预案"}


def hazard(daemon, hid):
    return daemon.get(f"/api/v1/hazards/{hid}")[1]


def test_major_hazard_cannot_be_closed_alone(workdir, cleanup):
    daemon = start(workdir, cleanup, CONFIG)
    t = wait_until(lambda: daemon.get("/api/v1/inspections")[1]["inspections"], 10, "an inspection task")[0]

    # A person whose roles give no API right: nothing is written.
    st, r = post(daemon, f"/api/v1/inspections/{t['id']}/complete", {"check_status": 1, "danger_level": 1}, "nobody")
    assert st == 403 and "no role" in r["error"], (st, r)
    st, r = post(daemon, "/api/v1/hazards", {"description": "x", "danger_src": 1}, "nobody")
    assert st == 403, (st, r)
    assert db_rows(daemon.db_path, "SELECT id FROM hazards") == []
    assert db_rows(daemon.db_path, "SELECT check_status FROM inspection_tasks")[0]["check_status"] is None

    # An operator records the finding: a major hazard, reported by the token's person even when
    # the body names someone else.
    st, r = post(daemon, f"/api/v1/inspections/{t['id']}/complete",
                 {"check_status": 1, "danger_level": 1, "note": "法兰渗漏", "actor": "zhao"}, "zhang")
    assert st == 200 and r["hazard"], (st, r)
    hid = r["hazard"]["id"]
    h = hazard(daemon, hid)
    assert h["reporter"] == "zhang" and h["danger_level"] == 1 and h["liable_person"] == "li", h
    assert db_rows(daemon.db_path, "SELECT checker FROM inspection_tasks")[0]["checker"] == "zhang"

    for who in ("nobody",):
        for action, body in (("rectify", FIVE), ("submit", {}), ("assign", {"assignee": "zhang"})):
            st, r = post(daemon, f"/api/v1/hazards/{hid}/{action}", body, who)
            assert st == 403, (who, action, st, r)
        st, r = upload(daemon, f"/api/v1/hazards/{hid}/photos", png(), actor=who)
        assert st == 403 and "no role" in r["error"], (st, r)
    # An operator neither assigned nor liable may not rectify, nor name someone to do it.
    st, r = post(daemon, f"/api/v1/hazards/{hid}/rectify", {**FIVE, "rectifier": "sun"}, "zhang")
    assert st == 403 and "assign" in r["error"], (st, r)
    st, r = post(daemon, f"/api/v1/hazards/{hid}/rectify", FIVE, "zhang")
    assert st == 403 and "only the assignee" in r["error"], (st, r)
    # Only a person who may act on hazards can be named.
    st, r = post(daemon, f"/api/v1/hazards/{hid}/rectify", {"rectifier": "nobody"}, "li")
    assert st == 400 and r["error"].startswith("rectifier"), (st, r)

    # The liable person names zhang: an assignment, not a rectification by zhang.
    st, r = post(daemon, f"/api/v1/hazards/{hid}/rectify", {**FIVE, "rectifier": "zhang"}, "li")
    assert st == 200 and r["action"] == "assign" and r["danger_state"] == 0, (st, r)
    h = hazard(daemon, hid)
    assert h["assignee"] == "zhang" and h["rectifier"] is None and h["rectify_measures"] == "更换法兰垫片", h
    st, r = post(daemon, f"/api/v1/hazards/{hid}/submit", {}, "li")
    assert st == 409 and "no rectification recorded" in r["error"], (st, r)
    # The assignee acts himself; a rectifier named in his body other than himself is an assignment.
    st, r = post(daemon, f"/api/v1/hazards/{hid}/rectify", {"comment": "已更换垫片", "actor": "li"}, "zhang")
    assert st == 200 and r["action"] == "rectify", (st, r)
    assert post(daemon, f"/api/v1/hazards/{hid}/submit", {}, "zhang")[0] == 200

    # The verifier differs from who actually rectified; a major hazard is accepted by the principal.
    st, r = post(daemon, f"/api/v1/hazards/{hid}/verify", {}, "zhang")
    assert st == 409 and "verifier must differ from the rectifier (zhang)" in r["error"], (st, r)
    govern(daemon, hid, "zhao")
    for who in ("wang", "li", "zhao"):
        for action in ("verify", "reject"):
            st, r = post(daemon, f"/api/v1/hazards/{hid}/{action}", {"comment": "x"}, who)
            assert st == 403 and "major hazard" in r["error"], (who, action, st, r)
    st, r = post(daemon, f"/api/v1/hazards/{hid}/verify", {"comment": "验收合格"}, "qian")
    assert st == 200 and r["danger_state"] == 9, (st, r)

    h = hazard(daemon, hid)
    assert (h["reporter"], h["rectifier"], h["verifier"], h["assignee"]) == ("zhang", "zhang", "qian", "zhang"), h
    assert [(j["action"], j["actor"]) for j in h["journal"]] == [
        ("report", "zhang"), ("assign", "li"), ("rectify", "zhang"), ("submit", "zhang"), ("document", "zhao"),
        ("document", "zhao"), ("expert_review", "zhao"), ("verify", "qian")], h
    x = daemon.get("/api/v1/export?since=0")[1]["hazards"][0]
    assert (x["registPerson"], x["rectifyPerson"], x["checkAcceptPerson"]) == ("zhang", "zhang", "qian"), x

    # A closed hazard takes no more photos.
    st, r = upload(daemon, f"/api/v1/hazards/{hid}/photos", png(), actor="zhao")
    assert st == 409 and "closed" in r["error"], (st, r)
    assert [r["stage"] for r in db_rows(daemon.db_path, "SELECT stage FROM attachments")] == ["assessment", "plan"]
    assert daemon.stop() == 0


def test_general_hazard_verified_by_another_engineer(workdir, cleanup):
    daemon = start(workdir, cleanup, CONFIG)
    st, r = post(daemon, "/api/v1/hazards", {"description": "消防通道堵塞", "danger_src": 1, "unit": "U01"}, "zhang")
    assert st == 201, (st, r)
    hid = r["id"]
    st, r = post(daemon, f"/api/v1/hazards/{hid}/rectify", {"rectify_measures": "清理通道"}, "wang")
    assert st == 200 and r["action"] == "rectify", (st, r)
    assert post(daemon, f"/api/v1/hazards/{hid}/submit", {}, "wang")[0] == 200
    st, r = post(daemon, f"/api/v1/hazards/{hid}/verify", {}, "zhang")
    assert st == 403 and "workshop_director, engineer" in r["error"], (st, r)
    st, r = post(daemon, f"/api/v1/hazards/{hid}/verify", {}, "wang")
    assert st == 409 and "verifier must differ" in r["error"], (st, r)
    st, r = post(daemon, f"/api/v1/hazards/{hid}/verify", {}, "li")
    assert st == 200 and r["danger_state"] == 9, (st, r)
    assert daemon.stop() == 0


def test_upload_quota_and_private_database(workdir, cleanup):
    daemon = start(workdir, cleanup, CONFIG)
    for path in (daemon.db_path, daemon.db_path + "-wal"):
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == 0o600, (path, oct(mode))
    st, r = post(daemon, "/api/v1/hazards", {"description": "阀门渗漏", "danger_src": 1, "unit": "U01"}, "zhang")
    hid = r["id"]
    half = 600 * 1024
    assert upload(daemon, f"/api/v1/hazards/{hid}/photos", png() + os.urandom(half), actor="zhang")[0] == 201
    # zhang's second 600 KiB would pass his 1 MiB a day: 429, nothing stored.
    st, r = upload(daemon, f"/api/v1/hazards/{hid}/photos", png() + os.urandom(half), actor="zhang")
    assert st == 429 and "zhang" in r["error"], (st, r)
    assert upload(daemon, f"/api/v1/hazards/{hid}/photos", png() + os.urandom(half), actor="sun")[0] == 201
    assert upload(daemon, f"/api/v1/hazards/{hid}/photos", png() + os.urandom(half), actor="li")[0] == 201
    # 1.8 MiB stored: another 600 KiB would pass the 2 MiB in total.
    st, r = upload(daemon, f"/api/v1/hazards/{hid}/photos", png() + os.urandom(half), actor="wang")
    assert st == 507 and "total_mib" in r["error"], (st, r)
    assert len(db_rows(daemon.db_path, "SELECT id FROM attachments")) == 3
    adir = daemon.db_path + ".attachments"
    assert len(os.listdir(adir)) == 3 and stat.S_IMODE(os.stat(adir).st_mode) == 0o700
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([
        test_major_hazard_cannot_be_closed_alone,
        test_general_hazard_verified_by_another_engineer,
        test_upload_quota_and_private_database,
    ]))
