#!/usr/bin/python3
"""Review of manual hazard reports (审核中 -1) and photo attachments, through the API of a real
daemon: a report waits for an engineer other than the reporter to confirm or dismiss it; photos
are stored on disk under their SHA-256, served back byte for byte, and refused when damaged."""
import hashlib
import json
import os
import struct
import sys
import zlib

from dgtest import db_rows, run_tests, start_daemon, wait_until

CONFIG = """
site: { code: "410700-0001", name: 测试化工 }
daemon: { history_flush: 200ms }
ledger: { review_reports: true }
persons:
  - { id: zhao, name: 赵安全员, roles: [safety, engineer] }
  - { id: li, name: 李工程师, roles: [engineer] }
  - { id: wang, name: 王工, roles: [maintenance, operator] }
  - { id: chen, name: 陈管理员, roles: [admin] }
hazard_sources:
  - id: HS01
    name: 液氨储罐区
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

MAX_PHOTO = 8 * 1024 * 1024


def png(width=2, height=1, rgb=(200, 30, 30)):
    """A small valid PNG, built here."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def request(daemon, method, path, body=None, actor=None, ctype="application/json"):
    return daemon.request(method, path, body, actor=actor, ctype=ctype)


def post(daemon, path, body, actor=None):
    return daemon.post(path, body, actor=actor)


def upload(daemon, path, data, actor="zhao", ctype="image/png"):
    st, _, raw = request(daemon, "POST", path, data, actor, ctype)
    try:
        return st, json.loads(raw.decode("utf-8") or "null")
    except ValueError:
        return st, raw


def start(workdir, cleanup, config=CONFIG):
    return start_daemon(workdir, cleanup, config)


def report(daemon, actor="zhao", **fields):
    body = {"description": "2#罐根部阀门渗漏", "danger_src": 1, "unit": "U01", **fields}
    st, h = post(daemon, "/api/v1/hazards", body, actor)
    assert st == 201, (st, h)
    return h


def unit_level(daemon, unit):
    u = next(u for u in daemon.get("/api/v1/risk-map")[1]["units"] if u["id"] == unit)
    return u["assessed"]["level"], u["current"]["level"]


def test_report_waits_for_confirmation(workdir, cleanup):
    daemon = start(workdir, cleanup)
    h = report(daemon, danger_level=1)
    hid = h["id"]
    assert h["danger_state"] == -1 and h["danger_state_zh"] == "审核中" and not h["dismissed"], h
    # A major report awaiting confirmation does not raise its unit yet, but is listed as open.
    assert unit_level(daemon, "U01") == ("yellow", "yellow")
    assert [x["id"] for x in daemon.get("/api/v1/hazards")[1]["hazards"]] == [hid]
    assert [x["id"] for x in daemon.get("/api/v1/hazards?state=-1")[1]["hazards"]] == [hid]
    assert daemon.get("/api/v1/hazards?state=0")[1]["hazards"] == []

    for action, body in (("rectify", {"rectify_measures": "更换阀门"}), ("submit", {}), ("verify", {}),
                         ("reject", {"comment": "x"})):
        st, r = post(daemon, f"/api/v1/hazards/{hid}/{action}", body, "wang")
        assert st == 409 and "awaiting confirmation (审核中)" in r["error"], (action, st, r)
    st, r = post(daemon, f"/api/v1/hazards/{hid}/confirm", {}, "wang")
    assert st == 403 and "engineer, safety_director, principal or admin" in r["error"], (st, r)
    st, r = post(daemon, f"/api/v1/hazards/{hid}/confirm", {}, "zhao")
    assert st == 409 and "reviewer must differ from the reporter (zhao)" in r["error"], (st, r)
    st, r = post(daemon, f"/api/v1/hazards/{hid}/confirm", {}, None)
    assert st == 401, (st, r)
    assert daemon.get(f"/api/v1/hazards/{hid}")[1]["danger_state"] == -1

    st, r = post(daemon, f"/api/v1/hazards/{hid}/confirm", {"comment": "现场确认属实"}, "li")
    assert st == 200 and r["danger_state"] == 0 and r["danger_state_zh"] == "整改中", (st, r)
    st, r = post(daemon, f"/api/v1/hazards/{hid}/confirm", {}, "chen")
    assert st == 409 and "needs state 审核中 (-1)" in r["error"], (st, r)
    assert unit_level(daemon, "U01") == ("yellow", "red")
    got = daemon.get(f"/api/v1/hazards/{hid}")[1]
    assert got["reviewer"] == "li" and got["review_comment"] == "现场确认属实" and got["reviewed_ms"], got
    assert [(j["action"], j["actor"], j["from_state"], j["to_state"]) for j in got["journal"]] == [
        ("report", "zhao", None, -1), ("confirm", "li", -1, 0)], got["journal"]
    # Confirmed, the hazard is in the closed loop like any other: the liable person li names wang
    # to rectify it, and wang records his rectification himself.
    st, r = post(daemon, f"/api/v1/hazards/{hid}/rectify", {"rectifier": "wang"}, "li")
    assert st == 200 and r["action"] == "assign", (st, r)
    st, r = post(daemon, f"/api/v1/hazards/{hid}/rectify",
                 {"rectify_measures": "更换阀门", "cost": 300, "contingency_plan": "泄漏预案"}, "wang")
    assert st == 200 and r["danger_state"] == 0, (st, r)
    assert post(daemon, f"/api/v1/hazards/{hid}/submit", {}, "wang")[1]["danger_state"] == 1

    # Inspection records never wait for confirmation, even with review on.
    t = wait_until(lambda: daemon.get("/api/v1/inspections")[1]["inspections"], 10, "an inspection task")[0]
    st, r = post(daemon, f"/api/v1/inspections/{t['id']}/complete", {"check_status": 1, "note": "法兰渗漏"}, "zhao")
    assert st == 200, (st, r)
    assert daemon.get(f"/api/v1/hazards/{r['hazard']['id']}")[1]["danger_state"] == 0
    assert daemon.stop() == 0


def test_dismissed_report_is_closed(workdir, cleanup):
    daemon = start(workdir, cleanup)
    hid = report(daemon, danger_level=1)["id"]
    st, r = post(daemon, f"/api/v1/hazards/{hid}/dismiss", {}, "chen")
    assert st == 400 and r["error"].startswith("comment"), (st, r)
    st, r = post(daemon, f"/api/v1/hazards/{hid}/dismiss", {"comment": "系冷凝水，非泄漏"}, "zhao")
    assert st == 409 and "reporter" in r["error"], (st, r)
    st, r = post(daemon, f"/api/v1/hazards/{hid}/dismiss", {"comment": "系冷凝水，非泄漏"}, "chen")
    assert st == 200 and r["danger_state"] == -1 and r["dismissed"] and r["danger_state_zh"] == "已撤销", (st, r)

    row = db_rows(daemon.db_path, "SELECT * FROM hazards WHERE id = ?", (hid,))[0]
    assert row["dismissed"] == 1 and row["danger_state"] == -1 and row["closed_ms"], row
    assert row["reviewer"] == "chen" and row["review_comment"] == "系冷凝水，非泄漏", row
    assert daemon.get("/api/v1/hazards")[1]["hazards"] == []
    assert daemon.get("/api/v1/hazards?state=-1")[1]["hazards"] == []
    assert [x["id"] for x in daemon.get("/api/v1/hazards?state=dismissed")[1]["hazards"]] == [hid]
    assert unit_level(daemon, "U01") == ("yellow", "yellow")
    for action in ("confirm", "dismiss", "rectify", "verify"):
        st, r = post(daemon, f"/api/v1/hazards/{hid}/{action}", {"comment": "x"}, "li")
        assert st == 409 and "dismissed" in r["error"], (action, st, r)
    st, r = upload(daemon, f"/api/v1/hazards/{hid}/photos", png())
    assert st == 409 and "dismissed" in r["error"], (st, r)
    journal = daemon.get(f"/api/v1/hazards/{hid}")[1]["journal"]
    assert [(j["action"], j["actor"], j["from_state"], j["to_state"], j["comment"]) for j in journal][1:] == [
        ("dismiss", "chen", -1, -1, "系冷凝水，非泄漏")], journal


def test_review_off_reports_enter_rectification(workdir, cleanup):
    daemon = start(workdir, cleanup, CONFIG.replace("ledger: { review_reports: true }\n", ""))
    h = report(daemon)
    assert h["danger_state"] == 0, h
    st, r = post(daemon, f"/api/v1/hazards/{h['id']}/confirm", {}, "li")
    assert st == 409 and "needs state 审核中" in r["error"], (st, r)


def test_photos_stored_by_hash_and_served(workdir, cleanup):
    daemon = start(workdir, cleanup)
    hid = report(daemon)["id"]
    photo = png()
    sha = hashlib.sha256(photo).hexdigest()
    st, r = upload(daemon, f"/api/v1/hazards/{hid}/photos?stage=discover&note=%E9%98%80%E9%97%A8%E6%B8%97%E6%BC%8F", photo)
    assert st == 201 and r["sha256"] == sha and r["size"] == len(photo) and r["stage"] == "discover", (st, r)
    assert r["note"] == "阀门渗漏" and r["content_type"] == "image/png", r
    adir = daemon.db_path + ".attachments"
    path = os.path.join(adir, sha + ".png")
    with open(path, "rb") as f:
        assert f.read() == photo
    rows = db_rows(daemon.db_path, "SELECT * FROM attachments")
    assert len(rows) == 1 and rows[0]["sha256"] == sha and rows[0]["hazard_id"] == hid, rows
    assert rows[0]["uploader"] == "zhao" and rows[0]["file"] == sha + ".png" and rows[0]["size"] == len(photo), rows
    st, ctype, body = request(daemon, "GET", r["url"])
    assert st == 200 and ctype == "image/png" and body == photo, (st, ctype, len(body))

    # The same content again: a second row, one file. A larger photo than any JSON body is fine.
    st, again = upload(daemon, f"/api/v1/hazards/{hid}/photos", photo, actor="li")
    assert st == 201 and again["sha256"] == sha and again["id"] != r["id"], (st, again)
    assert again["stage"] == "discover", again  # the step the hazard is in
    big = png() + os.urandom(300 * 1024)  # trailing bytes: still starts like a PNG
    st, b = upload(daemon, f"/api/v1/hazards/{hid}/photos?stage=rectify", big, actor="li")
    assert st == 201 and b["sha256"] == hashlib.sha256(big).hexdigest(), (st, b)
    assert sorted(os.listdir(adir)) == sorted([sha + ".png", b["sha256"] + ".png"]), os.listdir(adir)

    h = daemon.get(f"/api/v1/hazards/{hid}")[1]
    assert [(a["id"], a["sha256"], a["stage"], a["uploader"]) for a in h["attachments"]] == [
        (r["id"], sha, "discover", "zhao"), (again["id"], sha, "discover", "li"), (b["id"], b["sha256"], "rectify", "li")]
    assert all(a["ts_ms"] and a["content_type"] == "image/png" for a in h["attachments"]), h["attachments"]
    assert [j["action"] for j in h["journal"]] == ["report", "photo", "photo", "photo"], h["journal"]
    listed = daemon.get("/api/v1/hazards")[1]["hazards"][0]
    assert [a["id"] for a in listed["attachments"]] == [r["id"], again["id"], b["id"]], listed

    # An inspection task's photo.
    t = wait_until(lambda: daemon.get("/api/v1/inspections")[1]["inspections"], 10, "an inspection task")[0]
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00" + os.urandom(64) + b"\xff\xd9"
    st, ti = upload(daemon, f"/api/v1/inspections/{t['id']}/photos", jpeg, ctype="image/jpeg")
    assert st == 201 and ti["task_id"] == t["id"] and ti["stage"] is None, (st, ti)
    task = daemon.get("/api/v1/inspections")[1]["inspections"][0]
    assert [a["id"] for a in task["attachments"]] == [ti["id"]], task
    st, ctype, body = request(daemon, "GET", ti["url"])
    assert st == 200 and ctype == "image/jpeg" and body == jpeg

    # Refused uploads leave nothing behind.
    cases = [
        (f"/api/v1/hazards/{hid}/photos", photo, "text/plain", "zhao", 415),
        (f"/api/v1/hazards/{hid}/photos", photo, None, "zhao", 415),
        (f"/api/v1/hazards/{hid}/photos", jpeg, "image/png", "zhao", 400),
        (f"/api/v1/hazards/{hid}/photos", b"RIFF\x00\x00\x00\x00WAVE", "image/webp", "zhao", 400),
        (f"/api/v1/hazards/{hid}/photos?stage=later", photo, "image/png", "zhao", 400),
        (f"/api/v1/inspections/{t['id']}/photos?stage=verify", photo, "image/png", "zhao", 400),
        (f"/api/v1/hazards/{hid}/photos", photo, "image/png", None, 401),
        ("/api/v1/hazards/999/photos", photo, "image/png", "zhao", 404),
        ("/api/v1/inspections/999/photos", photo, "image/png", "zhao", 404),
    ]
    for path_, data, ctype, actor, want in cases:
        st, body = upload(daemon, path_, data, actor=actor, ctype=ctype)
        assert st == want, (path_, ctype, st, body)
    st, body = upload(daemon, f"/api/v1/hazards/{hid}/photos", b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_PHOTO)
    assert st == 413, (st, body)
    # A large body from a caller without a valid token is not even buffered: 401.
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (1 << 20)
    st, body = upload(daemon, f"/api/v1/hazards/{hid}/photos", big, actor=None)
    assert st == 401, (st, body)
    st, body = post(daemon, f"/api/v1/hazards/{hid}/rectify", {"rectify_measures": "x" * (70 * 1024)}, "wang")
    assert st == 413, (st, body)  # JSON routes keep their limit
    assert len(db_rows(daemon.db_path, "SELECT id FROM attachments")) == 4
    assert not [n for n in os.listdir(adir) if n.startswith(".")], os.listdir(adir)

    # Damaged or missing files are not served.
    with open(path, "r+b") as f:
        f.seek(20)
        f.write(b"\x00\x01")
    st, _, body = request(daemon, "GET", r["url"])
    assert st == 500 and b"damaged" in body, (st, body)
    wait_until(lambda: "no longer matches its size and SHA-256" in daemon.read_log(), 5, "the damage logged")
    os.unlink(path)
    st, _, body = request(daemon, "GET", again["url"])
    assert st == 500 and b"missing" in body, (st, body)
    assert request(daemon, "GET", "/api/v1/attachments/999")[0] == 404
    # Uploading the content again repairs the file.
    assert upload(daemon, f"/api/v1/hazards/{hid}/photos", photo)[0] == 201
    st, _, body = request(daemon, "GET", r["url"])
    assert st == 200 and body == photo
    assert daemon.stop() == 0  # an orderly stop (and, under ASan, no leak)


if __name__ == "__main__":
    sys.exit(run_tests([
        test_report_waits_for_confirmation,
        test_dismissed_report_is_closed,
        test_review_off_reports_enter_rectification,
        test_photos_stored_by_hash_and_served,
    ]))
