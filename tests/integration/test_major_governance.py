#!/usr/bin/python3
"""Major-hazard governance (重大隐患治理) end to end through a real daemon with real tokens: the
assessment report and treatment plan are attached (a real PDF accepted, a fake one refused), an
expert review is recorded, and only the principal person in charge or the configured delegate
accepts the hazard, whatever roles anyone else holds (admin, safety_director, engineer). The
stop-production / evacuate flag is set and cleared with a reason by authorised roles and shows
on the risk map and in the governance view; every step is journaled with who and when."""
import sys
from urllib.parse import quote

from dgtest import db_rows, run_tests, start_daemon
from test_hazard_review_photos import MAX_PHOTO, png, upload

CONFIG = """
site: { code: "410700-0001", name: 测试化工 }
daemon: { history_flush: 200ms }
ledger: { principal_delegates: [sun] }
persons:
  - { id: zhang, name: 张操作员, roles: [operator] }
  - { id: li, name: 李主任, roles: [workshop_director] }
  - { id: wang, name: 王工, roles: [engineer] }
  - { id: zhao, name: 赵总监, roles: [safety_director] }
  - { id: chen, name: 陈管理员, roles: [admin, safety_director, engineer] }
  - { id: qian, name: 钱总经理, roles: [principal] }
  - { id: sun, name: 孙副总, roles: [viewer] }
hazard_sources:
  - id: HS01
    name: 液氨储罐区
    major: true
    major_grade: 2
    units:
      - id: U01
        name: 1#液氨储罐
        responsible: { dept: 储运车间, person: li }
        events:
          - id: E01
            name: 液氨泄漏中毒
            accident_type: 中毒和窒息
            lec: { l: 1, e: 6, c: 15 }
            measures:
              - { id: M01, desc: 储罐区巡检无泄漏, classify: "3-1", data_src: 2 }
"""

FIVE = {"rectify_measures": "更换罐根阀", "cost": 52000, "contingency_plan": "液氨泄漏专项预案",
        "deadline_ms": 4102444800000}


def pdf(text="assessment"):
    """A small well-formed PDF, built here (header, one object, xref, trailer, %%EOF)."""
    body = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    xref = len(body)
    return (body + b"xref\n0 2\n0000000000 65535 f \n0000000009 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R >>\n"
            + b"startxref\n" + str(xref).encode() + b"\n%% " + text.encode() + b"\n%%EOF\n")


def govern(daemon, hid, actor):
    """The governance steps before a major hazard's acceptance: both documents attached and an
    approved expert review recorded, by `actor` (a safety director, principal or admin)."""
    for stage in ("assessment", "plan"):
        st, r = upload(daemon, f"/api/v1/hazards/{hid}/documents?stage={stage}", pdf(stage), actor=actor,
                       ctype="application/pdf")
        assert st == 201, (st, r)
    st, r = daemon.post(f"/api/v1/hazards/{hid}/expert-review", {"reviewers": ["刘教授"], "conclusion": "approved",
                                                                 "opinion": "方案可行"}, actor=actor)
    assert st == 201, (st, r)


def post(daemon, path, body, actor):
    return daemon.post(path, body, actor=actor)


def major_hazard(daemon):
    st, h = post(daemon, "/api/v1/hazards", {"description": "1#罐根部阀门严重泄漏", "danger_src": 1,
                                             "danger_level": 1, "unit": "U01"}, "zhang")
    assert st == 201 and h["danger_state"] == 0, (st, h)
    hid = h["id"]
    st, r = post(daemon, f"/api/v1/hazards/{hid}/rectify", FIVE, "li")
    assert st == 200, (st, r)
    assert post(daemon, f"/api/v1/hazards/{hid}/submit", {}, "li")[0] == 200
    return hid


def review(daemon, hid, actor="zhao", conclusion="approved"):
    return post(daemon, f"/api/v1/hazards/{hid}/expert-review",
                {"reviewers": ["刘教授", "周高工", "吴工"], "conclusion": conclusion, "opinion": "治理方案可行"}, actor)


def test_documents_review_and_principal_acceptance(workdir, cleanup):
    daemon = start_daemon(workdir, cleanup, CONFIG)
    hid = major_hazard(daemon)
    docs = f"/api/v1/hazards/{hid}/documents"

    # Acceptance needs an approved expert review, which needs both documents.
    st, r = post(daemon, f"/api/v1/hazards/{hid}/verify", {}, "qian")
    assert st == 409 and "expert review" in r["error"], (st, r)
    st, r = review(daemon, hid)
    assert st == 409 and "assessment" in r["error"] and "plan" in r["error"], (st, r)

    # A fake PDF (an image, or a PDF header without its trailer) is refused; a real one is kept.
    st, r = upload(daemon, docs + "?stage=assessment", png(), actor="zhao", ctype="application/pdf")
    assert st == 400, (st, r)
    st, r = upload(daemon, docs + "?stage=assessment", b"%PDF-1.4\nnot really a pdf", actor="zhao",
                   ctype="application/pdf")
    assert st == 400, (st, r)
    st, r = upload(daemon, docs + "?stage=other", pdf(), actor="zhao", ctype="application/pdf")
    assert st == 400 and r["error"].startswith("stage"), (st, r)
    st, r = upload(daemon, f"/api/v1/hazards/{hid}/photos", pdf(), actor="zhao", ctype="application/pdf")
    assert st == 415, (st, r)
    # At most 8 MiB; a large body from a caller without a token is not even read.
    big = b"%PDF-1.4\n" + b"0" * MAX_PHOTO + b"\n%%EOF\n"
    st, r = upload(daemon, docs + "?stage=assessment", big, actor="zhao", ctype="application/pdf")
    assert st == 413, (st, r)
    st, r = upload(daemon, docs + "?stage=assessment", pdf(), actor=None, ctype="application/pdf")
    assert st == 401, (st, r)
    st, r = upload(daemon, docs + "?stage=assessment&note=" + quote("评估报告书"), pdf(), actor="zhao", ctype="application/pdf")
    assert st == 201 and r["content_type"] == "application/pdf" and r["stage"] == "assessment", (st, r)
    st, _, raw = daemon.request("GET", r["url"])
    assert st == 200 and raw == pdf(), st
    st, r = review(daemon, hid)
    assert st == 409 and "plan" in r["error"] and "assessment" not in r["error"].split("missing:")[1], (st, r)
    st, r = upload(daemon, docs + "?stage=plan", png(), actor="zhao")  # a scanned plan as an image
    assert st == 201 and r["stage"] == "plan", (st, r)

    # The review is recorded by the safety director, not by an engineer; a rejected one does not count.
    st, r = review(daemon, hid, actor="wang")
    assert st == 403, (st, r)
    st, r = review(daemon, hid, conclusion="rejected")
    assert st == 201 and r["conclusion_zh"] == "不通过", (st, r)
    st, r = post(daemon, f"/api/v1/hazards/{hid}/verify", {}, "qian")
    assert st == 409 and "expert review" in r["error"], (st, r)
    st, r = review(daemon, hid)
    assert st == 201 and r["reviewers"] == ["刘教授", "周高工", "吴工"] and r["recorder"] == "zhao", (st, r)

    # Nobody but the principal or the delegate accepts or rejects it, whatever their roles.
    for who in ("chen", "zhao", "wang"):
        for action in ("verify", "reject"):
            st, r = post(daemon, f"/api/v1/hazards/{hid}/{action}", {"comment": "验收"}, who)
            assert st == 403 and "principal" in r["error"], (who, action, st, r)
    g = daemon.get("/api/v1/governance")[1]
    m = next(x for x in g["major_hazards"] if x["id"] == hid)
    assert m["steps"] == {"assessment": True, "plan": True, "expert_review": "approved", "accepted": False}, m
    assert g["principal_delegates"] == ["sun"], g
    # The delegate (a viewer by role) accepts it.
    st, r = post(daemon, f"/api/v1/hazards/{hid}/verify", {"comment": "治理完成，同意销号"}, "sun")
    assert st == 200 and r["danger_state"] == 9, (st, r)

    h = daemon.get(f"/api/v1/hazards/{hid}")[1]
    assert h["verifier"] == "sun", h
    steps = [(j["action"], j["actor"]) for j in h["journal"]]
    assert steps == [("report", "zhang"), ("rectify", "li"), ("submit", "li"), ("document", "zhao"),
                     ("document", "zhao"), ("expert_review", "zhao"), ("expert_review", "zhao"),
                     ("verify", "sun")], steps
    assert all(j["ts_ms"] > 0 for j in h["journal"]), h["journal"]
    rows = db_rows(daemon.db_path, "SELECT conclusion, recorder, reviewers FROM expert_reviews ORDER BY id")
    assert [r["conclusion"] for r in rows] == [2, 1] and "刘教授" in rows[1]["reviewers"], rows
    assert daemon.stop() == 0


def test_principal_accepts_and_documents_only_for_major(workdir, cleanup):
    daemon = start_daemon(workdir, cleanup, CONFIG)
    hid = major_hazard(daemon)
    for stage in ("assessment", "plan"):
        assert upload(daemon, f"/api/v1/hazards/{hid}/documents?stage={stage}", pdf(stage), actor="chen",
                      ctype="application/pdf")[0] == 201
    assert review(daemon, hid, actor="qian")[0] == 201
    st, r = post(daemon, f"/api/v1/hazards/{hid}/verify", {}, "qian")
    assert st == 200 and r["danger_state"] == 9, (st, r)
    # A general hazard takes no governance documents and is accepted as before.
    st, h = post(daemon, "/api/v1/hazards", {"description": "消防通道堵塞", "danger_src": 1, "unit": "U01"}, "zhang")
    st, r = upload(daemon, f"/api/v1/hazards/{h['id']}/documents?stage=plan", pdf(), actor="zhao",
                   ctype="application/pdf")
    assert st == 409 and "major hazard" in r["error"], (st, r)
    assert daemon.stop() == 0


def test_stop_flag_on_map_and_governance(workdir, cleanup):
    daemon = start_daemon(workdir, cleanup, CONFIG)
    hid = major_hazard(daemon)
    stop = f"/api/v1/hazards/{hid}/stop"
    for who in ("wang", "li", "zhang"):
        st, r = post(daemon, stop, {"flag": "evacuate", "reason": "氨浓度超标"}, who)
        assert st == 403, (who, st, r)
    st, r = post(daemon, stop, {"flag": "evacuate"}, "zhao")
    assert st == 400 and r["error"].startswith("reason"), (st, r)
    st, r = post(daemon, stop, {"flag": "halt", "reason": "x"}, "zhao")
    assert st == 400 and r["error"].startswith("flag"), (st, r)
    st, r = post(daemon, stop, {"flag": "evacuate", "reason": "罐根阀泄漏，罐区人员撤离"}, "zhao")
    assert st == 200 and r["stop_flag"] == "evacuate" and r["stop_flag_zh"] == "撤人", (st, r)
    st, r = post(daemon, stop, {"flag": "evacuate", "reason": "again"}, "zhao")
    assert st == 409, (st, r)

    m = daemon.get("/api/v1/risk-map")[1]
    u = next(u for u in m["units"] if u["id"] == "U01")
    assert u["stop"]["stop_flag"] == "evacuate" and u["stop"]["id"] == hid, u
    assert u["stop"]["stop_reason"] == "罐根阀泄漏，罐区人员撤离" and u["stop"]["stop_by"] == "zhao", u
    assert [s["id"] for s in m["stops"]] == [hid], m["stops"]
    assert daemon.get(f"/api/v1/hazards/{hid}")[1]["stop_flag"] == "evacuate"

    st, r = post(daemon, stop, {"flag": "stop_production", "reason": "人员已撤离，维持停产"}, "sun")  # the delegate
    assert st == 200 and r["stop_flag"] == "stop_production", (st, r)
    st, r = post(daemon, f"/api/v1/hazards/{hid}/resume", {"reason": "泄漏已处置，恢复生产"}, "qian")
    assert st == 200 and r["stop_flag"] == "none", (st, r)
    m = daemon.get("/api/v1/risk-map")[1]
    assert m["stops"] == [] and next(u for u in m["units"] if u["id"] == "U01")["stop"] is None, m
    j = [(x["action"], x["actor"], x["comment"]) for x in daemon.get(f"/api/v1/hazards/{hid}")[1]["journal"]
         if x["action"] in ("stop", "resume")]
    assert [(a, who) for a, who, _ in j] == [("stop", "zhao"), ("stop", "sun"), ("resume", "qian")], j
    assert "撤人" in j[0][2] and "恢复生产" in j[2][2], j
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_documents_review_and_principal_acceptance, test_principal_accepts_and_documents_only_for_major,
                        test_stop_flag_on_map_and_governance]))
