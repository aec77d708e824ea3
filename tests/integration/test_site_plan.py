#!/usr/bin/python3
"""The four-colour map on the site plan through the API of a real daemon: an engineer uploads a
plan image (type and magic bytes checked, size limited, stored by SHA-256 and served back byte
for byte), places risk units as polygons (checked: at least 3 points, inside the image, a unit
of the model), every change journaled; rights per role; each polygon's colour is its unit's
current level, which an alarm raises. A smaller new image drops the polygons it cannot hold."""
import hashlib
import json
import os
import struct
import sys
import zlib

from dgtest import db_rows, run_tests, start_plant, wait_until
from test_ledger_closed_loop import CONFIG

# The closed-loop plant plus a second unit, an admin and a viewer.
M03_END = "                   responsible: {{ dept: 储运车间, person: wang }} }}\n"
assert M03_END in CONFIG
U02 = M03_END + """      - id: U02
        name: 装卸站台
        responsible: {{ dept: 储运车间, person: li }}
        events:
          - id: E02
            name: 装卸软管破裂
            accident_type: 中毒和窒息
            ls: {{ l: 2, s: 3 }}
            measures:
              - {{ id: M04, desc: 装卸软管定期更换, classify: "2-1", data_src: 2 }}
"""
ZHAO = "  - {{ id: zhao, name: 赵安全员, roles: [safety_director] }}\n"
PLANT = CONFIG.replace(M03_END, U02).replace(
    ZHAO, ZHAO + "  - {{ id: chen, name: 陈管理员, roles: [admin] }}\n  - {{ id: sun, name: 孙查看, roles: [viewer] }}\n")
OPEN_READS = PLANT.replace("daemon: {{ ", "daemon: {{ http: {{ open_reads_on_loopback: true }}, ")
MAX_BYTES = 8 * 1024 * 1024


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)


def site_plan_png(width=1200, height=800):
    """A drawn site plan: pale ground, grey roads, darker buildings and two round tanks."""
    ground, road, house, tank = b"\xf2\xf0\xe8", b"\xc8\xc8\xc8", b"\x9a\xa0\xa8", b"\x7a\x86\x94"
    boxes = [(80, 80, 520, 360, house), (660, 120, 1120, 340, house), (700, 460, 1100, 720, house)]
    tanks = [(230, 560, 90), (430, 560, 90)]
    rows = []
    for y in range(height):
        row = bytearray(ground * width)
        for x0, y0, x1, y1, c in boxes:
            if y0 <= y < y1:
                row[3 * x0:3 * x1] = c * (x1 - x0)
        if 400 <= y < 430:
            row[:] = road * width
        row[3 * 590:3 * 620] = road * 30
        for cx, cy, r in tanks:
            dy = y - cy
            if abs(dy) < r:
                half = int((r * r - dy * dy) ** 0.5)
                row[3 * (cx - half):3 * (cx + half)] = tank * (2 * half)
        rows.append(b"\x00" + bytes(row))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(b"".join(rows), 6)) + png_chunk(b"IEND", b""))


def jpeg_header(width, height):
    """The marker segments of a baseline JPEG up to its frame header (what the size is read from)."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def upload(daemon, data, actor="wang", ctype="image/png", token=None):
    st, _, raw = daemon.request("POST", "/api/v1/site-plan/image", data, token=token, actor=actor, ctype=ctype)
    return st, json.loads(raw.decode("utf-8") or "null")


def put(daemon, unit, body, actor="wang"):
    return daemon.call("PUT", f"/api/v1/site-plan/units/{unit}", body, actor=actor)


def plan(daemon):
    st, body = daemon.get("/api/v1/site-plan")
    assert st == 200
    return body


def unit_of(daemon, uid):
    return next(u for u in plan(daemon)["units"] if u["id"] == uid)


U01_POLY = [[80, 80], [520, 80], [520, 360], [80, 360]]
U02_POLY = [[660, 120], [1120, 120], [1120, 340], [660, 340]]


def test_upload_polygons_and_rights(workdir, cleanup):
    _, _, daemon = start_plant(workdir, cleanup, PLANT)
    body = plan(daemon)
    assert body["image"] is None and {u["id"] for u in body["units"]} == {"U01", "U02"}
    assert all(u["points"] is None for u in body["units"])
    # Nothing to place units on yet.
    st, err = put(daemon, "U01", {"points": U01_POLY})
    assert st == 409 and "POST /api/v1/site-plan/image" in err["error"], err
    image = site_plan_png()
    # Rights: a token is needed, and the engineer or admin role.
    assert upload(daemon, image, actor=None, token="")[0] == 401
    for who in ("sun", "zhao", "li"):
        st, err = upload(daemon, image, actor=who)
        assert st == 403 and "engineer or admin" in err["error"], (who, err)
    # Type, magic bytes, header and size.
    assert upload(daemon, b"GIF89a\x01\x00\x01\x00", ctype="image/gif")[0] == 415
    assert upload(daemon, b"RIFF\x10\x00\x00\x00WEBPVP8 ", ctype="image/webp")[0] == 415
    st, err = upload(daemon, jpeg_header(10, 10), ctype="image/png")
    assert st == 400 and "image/png" in err["error"], err
    st, err = upload(daemon, image[:20], ctype="image/png")
    assert st == 400 and "image size" in err["error"], err
    assert upload(daemon, b"\xff\xd8\xff" + b"\0" * MAX_BYTES, ctype="image/jpeg")[0] == 413
    assert plan(daemon)["image"] is None
    # The engineer uploads: stored under its SHA-256, served back byte for byte.
    st, ans = upload(daemon, image)
    assert st == 201 and ans["dropped"] == 0, ans
    img = ans["image"]
    assert (img["width"], img["height"], img["content_type"]) == (1200, 800, "image/png"), img
    assert img["sha256"] == hashlib.sha256(image).hexdigest() and img["uploader"] == "wang"
    st, ctype, raw = daemon.request("GET", "/api/v1/site-plan/image")
    assert st == 200 and ctype == "image/png" and raw == image
    stored = os.path.join(daemon.db_path + ".attachments", img["sha256"] + ".png")
    with open(stored, "rb") as f:
        assert f.read() == image
    # The viewer reads the map; without a token nothing is read.
    assert daemon.request("GET", "/api/v1/site-plan", token="")[0] == 401
    assert daemon.request("GET", "/api/v1/site-plan/image", token="")[0] == 401
    assert daemon.call("GET", "/api/v1/site-plan", actor="sun")[0] == 200

    # Polygons: the engineer places U01, the admin U02; the others may not.
    st, ans = put(daemon, "U01", {"points": U01_POLY})
    assert st == 200 and ans["points"] == U01_POLY and ans["updated_by"] == "wang", ans
    assert put(daemon, "U02", {"points": U02_POLY}, actor="sun")[0] == 403
    assert put(daemon, "U02", {"points": U02_POLY}, actor="zhao")[0] == 403
    assert daemon.call("PUT", "/api/v1/site-plan/units/U02", {"points": U02_POLY}, token="")[0] == 401
    assert put(daemon, "U02", {"points": U02_POLY}, actor="chen")[0] == 200
    u = unit_of(daemon, "U01")
    assert u["points"] == U01_POLY and u["updated_by"] == "wang" and u["name"] == "1#液氨储罐"
    assert (u["dept"], u["person"], u["person_name"]) == ("储运车间", "li", "李主任"), u

    # Bad polygons answer 400 saying what is wrong, and change nothing.
    bad = [({"points": [[1, 1], [5, 5]]}, "at least 3 points"),
           ({"points": [[0, 0], [1300, 0], [0, 100]]}, "points[1]: x 1300 is outside the image (0 to 1200)"),
           ({"points": [[0, 0], [10, 0], [10, -1]]}, "points[2]: y -1 is outside the image (0 to 800)"),
           ({"points": [[0, 0], [10, 10], [20, 20]]}, "encloses no area"),
           ({"points": [[0, 0], ["a", 1], [20, 20]]}, "points[1]: expected [x, y]"),
           ({"points": [[0, 0, 1], [5, 1], [20, 20]]}, "points[0]: expected [x, y]"),
           ({"poly": U01_POLY}, "points: expected an array"),
           ({"points": [[0, 0]] * 257}, "3 to 256")]
    for body, want in bad:
        st, err = put(daemon, "U01", body)
        assert st == 400 and want in err["error"], (body, err)
    st, _, raw = daemon.request("PUT", "/api/v1/site-plan/units/U01", b"[1,", actor="wang")
    assert st == 400, raw
    st, err = put(daemon, "U99", {"points": U01_POLY})
    assert st == 400 and "no risk unit 'U99'" in err["error"], err
    assert unit_of(daemon, "U01")["points"] == U01_POLY

    # Delete: engineer or admin; a unit without a polygon answers 404.
    assert daemon.call("DELETE", "/api/v1/site-plan/units/U02", actor="sun")[0] == 403
    st, ans = daemon.call("DELETE", "/api/v1/site-plan/units/U02", actor="chen")
    assert st == 200 and ans["deleted"] == "polygon", ans
    assert daemon.call("DELETE", "/api/v1/site-plan/units/U02", actor="chen")[0] == 404
    assert unit_of(daemon, "U02")["points"] is None
    put(daemon, "U02", {"points": [[600, 100], [1190, 100], [1190, 300]]}, actor="chen")

    # A smaller plan keeps what fits and drops, journaled, what does not.
    st, ans = upload(daemon, jpeg_header(800, 600), ctype="image/jpeg")
    assert st == 201 and ans["dropped"] == 1 and ans["image"]["width"] == 800, ans
    assert unit_of(daemon, "U01")["points"] == U01_POLY and unit_of(daemon, "U02")["points"] is None

    # The journal: who changed what, before and after.
    st, audit = daemon.get("/api/v1/site-plan/audit")
    ops = [(e["op"], e["unit"], e["actor"]) for e in audit["edits"]]
    assert ops == [("image", None, "wang"), ("set", "U01", "wang"), ("set", "U02", "chen"), ("delete", "U02", "chen"),
                   ("set", "U02", "chen"), ("image", None, "wang"), ("drop", "U02", "wang")], ops
    first, delete = audit["edits"][0], audit["edits"][3]
    assert first["before"] is None and first["after"]["sha256"] == img["sha256"]
    assert delete["before"] == U02_POLY and delete["after"] is None
    assert audit["edits"][5]["before"]["id"] == img["id"]
    st, only = daemon.get("/api/v1/site-plan/audit?unit=U01&limit=1")
    assert [e["op"] for e in only["edits"]] == ["set"] and only["next_cursor"], only
    # Kept across a restart.
    daemon.stop()
    daemon.start()
    assert unit_of(daemon, "U01")["points"] == U01_POLY and plan(daemon)["image"]["width"] == 800
    assert len(db_rows(daemon.db_path, "SELECT id FROM site_plans")) == 2


def test_colour_follows_current_level(workdir, cleanup):
    broker, _, daemon = start_plant(workdir, cleanup, PLANT)
    assert upload(daemon, site_plan_png())[0] == 201
    assert put(daemon, "U01", {"points": U01_POLY})[0] == 200
    assert put(daemon, "U02", {"points": U02_POLY})[0] == 200
    u = unit_of(daemon, "U01")
    # LEC 1·6·15 = 90: yellow; LS 2·3 = 6: blue.
    assert (u["assessed"]["level"], u["current"]["level"], u["raised"]) == ("yellow", "yellow", False), u
    assert (u["alarms_active"], u["hazards_open"]) == (0, 0)
    assert unit_of(daemon, "U02")["current"]["level"] == "blue"
    # A high alarm on GT101 raises U01 to orange, with its alarm and the hazard it opened counted.
    broker.publish("t/gt101", '{"value": 30}')
    wait_until(lambda: unit_of(daemon, "U01")["current"]["level"] == "orange", 15, "U01 raised to orange")
    u = unit_of(daemon, "U01")
    assert u["raised"] and u["cause"] == "alarm" and u["current"]["level_zh"] == "较大风险", u
    assert u["assessed"]["level"] == "yellow" and u["alarms_active"] == 1
    wait_until(lambda: unit_of(daemon, "U01")["hazards_open"] == 1, 15, "the hazard counted")
    # A major hazard (GT102) makes it red; U02 stays blue.
    broker.publish("t/gt102", '{"value": 30}')
    wait_until(lambda: unit_of(daemon, "U01")["current"]["level"] == "red", 15, "U01 red")
    u = unit_of(daemon, "U01")
    assert u["cause"] == "major_hazard" and u["alarms_active"] == 2, u
    wait_until(lambda: unit_of(daemon, "U01")["hazards_open"] == 2, 15, "both hazards counted")
    assert unit_of(daemon, "U02")["current"]["level"] == "blue"
    # The risk map and the site plan agree.
    rm = {x["id"]: x["current"]["level"] for x in daemon.get("/api/v1/risk-map")[1]["units"]}
    assert rm == {x["id"]: x["current"]["level"] for x in plan(daemon)["units"]}


if __name__ == "__main__":
    sys.exit(run_tests([test_upload_polygons_and_rights, test_colour_follows_current_level]))
