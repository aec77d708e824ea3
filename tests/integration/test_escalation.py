#!/usr/bin/python3
"""Alerts reach people: gas rises → tier 1 (the unit's operator) → nobody acknowledges → tier 2
(the workshop director) → acknowledged through the link in the message → tier 3 never fires.
Local receivers play DingTalk, WeCom, Feishu and an SMS gateway and verify the signatures with
their own code; a local SMTP server (aiosmtpd) receives the mails. A kill -9 during an
escalation: the next tier fires at its due time, nothing is sent twice."""
import base64
import email
import email.header
import email.policy
import hashlib
import hmac
import http.server
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
import urllib.request

from dgtest import Daemon, db_rows, free_port, Mosquitto, run_tests, wait_connected, wait_until

DING_SECRET = "SECding-7f3a"
FEISHU_SECRET = "feishu-secret-91"

CONFIG = """
site: {{ code: "410700-0001", name: 测试化工 }}
daemon: {{ history_flush: 200ms }}
persons:
  - {{ id: zhang, name: 张工, phone: "+8613800000001", email: zhang@example.com, roles: [operator] }}
  - {{ id: li, name: 李主任, phone: "+8613800000002", email: li@example.com, wecom: li01, feishu: ou_li, roles: [workshop_director] }}
  - {{ id: wang, name: 王总监, phone: "+8613800000003", roles: [safety_director] }}
hazard_sources:
  - id: HS01
    name: 液氨储罐区
    units:
      - id: U01
        name: 1#液氨储罐
        responsible: {{ dept: 储运车间, person: zhang }}
        events:
          - id: E01
            name: 液氨泄漏中毒
            accident_type: 中毒和窒息
            lec: {{ l: 3, e: 6, c: 40 }}
            measures:
              - {{ id: M01, desc: 有毒气体检测报警器有效投用, classify: "1-4", data_src: 1, troubleshoot: 关闭进料阀并启动喷淋 }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{mqtt_port}", client_id: dg-esc-{mqtt_port}, qos: 1 }}
points:
  - {{ id: GT101, name: 1#罐区氨气检测器, unit_id: U01, eng_unit: "%LEL", driver: mqtt.main, topic: t/gt101, path: value }}
rules:
  - id: R-GT101-H
    type: high
    point: GT101
    measure: M01
    stages: [ {{ name: H, limit: 25, priority: high }}, {{ name: HH, limit: 50, priority: critical }} ]
escalation:
  dashboard_url: "http://127.0.0.1:8080"
  digest_window: 8s
  digest_after: {digest_after}
  channels:
    - {{ id: ding, type: dingtalk, url: "http://127.0.0.1:{prov}/robot/send?access_token=T1", secret_file: {secret_file} }}
    - {{ id: ding-bad, type: dingtalk, url: "http://127.0.0.1:{prov}/robot/send?access_token=T1", secret: wrong }}
    - {{ id: wecom, type: wecom, url: "http://127.0.0.1:{prov}/cgi-bin/webhook/send?key=GOOD" }}
    - {{ id: wecom-limited, type: wecom, url: "http://127.0.0.1:{prov}/cgi-bin/webhook/send?key=LIMIT" }}
    - {{ id: wecom-badkey, type: wecom, url: "http://127.0.0.1:{prov}/cgi-bin/webhook/send?key=BAD" }}
    - {{ id: feishu, type: feishu, url: "http://127.0.0.1:{prov}/open-apis/bot/v2/hook/H1", secret_env: DG_TEST_FEISHU_SECRET }}
    - {{ id: sms, type: sms, url: "http://127.0.0.1:{prov}/sms", template: SMS_0001,
        headers: {{ Authorization: "Bearer {{{{secret}}}}" }}, secret: gw-key,
        body_template: '{{"to":"{{{{phone}}}}","template":"{{{{template}}}}","params":{{"text":"{{{{text}}}}"}},"request_id":"{{{{id}}}}"}}' }}
    - {{ id: call, type: voice, url: "http://127.0.0.1:{prov}/voice", template: TTS_0001, secret: gw-key,
        headers: {{ Authorization: "Bearer {{{{secret}}}}" }}, per_number_per_min: 1, fallback: sms,
        body_template: '{{"to":"{{{{phone}}}}","template":"{{{{template}}}}","params":{{"text":"{{{{text}}}}"}},"request_id":"{{{{id}}}}"}}' }}
    - {{ id: mail, type: smtp, url: "smtp://127.0.0.1:{smtp}", from: alarm@plant.example }}
    - {{ id: hang, type: webhook, url: "http://127.0.0.1:{prov}/hang", timeout: 20s }}
  policies:
    - id: gas
      events: [alarm_activate, alarm_escalate]
      priorities: [high, critical]
      tiers:
        - {{ responsible: [unit], channels: [hang, ding, ding-bad, wecom-limited, wecom-badkey, sms, mail], timeout: {t1} }}
        - {{ roles: [workshop_director], channels: [feishu, wecom, mail], timeout: {t2} }}
        - {{ roles: [safety_director], channels: [call] }}
      stages: {{ HH: 3 }}
    - id: rectify
      events: [hazard_opened]
      tiers:
        - {{ responsible: [measure, unit], channels: [mail] }}
"""


class Providers:
    """DingTalk, WeCom, Feishu, an SMS gateway and a hanging webhook on one loopback port.
    Every request is recorded with whether its signature verified."""

    def __init__(self):
        self.records = []
        self.lock = threading.Lock()
        self.hang_release = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                url = urllib.parse.urlsplit(self.path)
                rec = {"path": url.path, "query": urllib.parse.parse_qs(url.query), "headers": dict(self.headers),
                       "body": json.loads(body or b"null"), "t": time.time()}
                code, answer = outer.answer(rec)
                with outer.lock:
                    outer.records.append(rec)
                if url.path == "/hang":
                    outer.hang_release.wait(15)
                    rec["released"] = time.time()
                payload = json.dumps(answer).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, rec):
        path, q, body = rec["path"], rec["query"], rec["body"]
        if path == "/robot/send":
            ts, sign = q.get("timestamp", [""])[0], q.get("sign", [""])[0]
            want = base64.b64encode(hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(),
                                             hashlib.sha256).digest()).decode()
            rec["verified"] = bool(ts) and hmac.compare_digest(sign, want) and abs(time.time() * 1000 - int(ts)) < 3600e3
            return 200, {"errcode": 0, "errmsg": "ok"} if rec["verified"] else {"errcode": 310000, "errmsg": "sign not match"}
        if path == "/cgi-bin/webhook/send":
            key = q.get("key", [""])[0]
            rec["verified"] = key == "GOOD"
            return 200, {"GOOD": {"errcode": 0, "errmsg": "ok"}, "LIMIT": {"errcode": 45009, "errmsg": "api freq out of limit"}}.get(
                key, {"errcode": 93000, "errmsg": "invalid webhook url"})
        if path.startswith("/open-apis/bot/v2/hook/"):
            ts = body.get("timestamp", "")
            want = base64.b64encode(hmac.new(f"{ts}\n{FEISHU_SECRET}".encode(), b"", hashlib.sha256).digest()).decode()
            rec["verified"] = bool(ts) and hmac.compare_digest(body.get("sign", ""), want)
            return 200, {"code": 0, "msg": "success"} if rec["verified"] else {"code": 19021, "msg": "sign match fail"}
        if path in ("/sms", "/voice"):
            rec["verified"] = (rec["headers"].get("Authorization") == "Bearer gw-key" and
                               body["request_id"] == rec["headers"].get("X-Dualguard-Delivery"))
            return 200, {"Code": "OK"}
        return 200, {}

    def find(self, pred):
        with self.lock:
            return [r for r in self.records if pred(r)]

    def stop(self):
        self.hang_release.set()
        self.server.shutdown()


class Mailbox:
    """A real SMTP server (aiosmtpd) keeping every message as received."""

    def __init__(self):
        from aiosmtpd.controller import Controller
        self.messages = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                       "raw": envelope.original_content or envelope.content})
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


def setup(workdir, cleanup, t1="3s", t2="10s", digest_after=0):
    broker = Mosquitto(workdir).start()
    cleanup.append(broker.stop)
    prov = Providers()
    cleanup.append(prov.stop)
    mail = Mailbox()
    cleanup.append(mail.stop)
    secret_file = os.path.join(workdir, "ding.secret")
    with open(secret_file, "w") as f:
        f.write(DING_SECRET + "\n")
    cfg = os.path.join(workdir, "plant.yaml")
    text = CONFIG.format(mqtt_port=broker.port, prov=prov.port, smtp=mail.port, secret_file=secret_file, t1=t1, t2=t2,
                         digest_after=digest_after)
    os.environ["DG_TEST_FEISHU_SECRET"] = FEISHU_SECRET  # also for the CLI that issues the reader's token
    daemon = Daemon(workdir, cfg, os.path.join(workdir, "dg.db"))
    cleanup.append(lambda: daemon.stop(signal.SIGKILL))
    with open(cfg, "w", encoding="utf-8") as f:
        f.write(text)
    return broker, prov, mail, daemon


def text_of(rec):
    b = rec["body"]
    return (b.get("text") or {}).get("content") or (b.get("content") or {}).get("text") or json.dumps(b, ensure_ascii=False)


def check_mail(msg, person_email, want_in_subject):
    raw = msg["raw"].decode("ascii")  # 7-bit clean: encoded words and base64
    subject_line = re.search(r"^Subject: (.*(?:\r\n .*)*)", raw, re.M).group(1)
    words = re.findall(r"=\?UTF-8\?B\?[^?]*\?=", subject_line)
    assert words and all(len(w) <= 75 for w in words), subject_line
    for w in words:  # each word holds whole characters
        base64.b64decode(w[10:-2]).decode("utf-8")
    parsed = email.message_from_bytes(msg["raw"], policy=email.policy.default)
    assert want_in_subject in str(parsed["Subject"]), parsed["Subject"]
    assert parsed.get_content_type() == "text/plain" and parsed.get_content_charset() == "utf-8", parsed
    assert re.fullmatch(r"<outbox-\d+@plant\.example>", parsed["Message-ID"]), parsed["Message-ID"]
    assert msg["to"] == [person_email], msg
    return parsed.get_content()


def subject(msg):
    return str(email.message_from_bytes(msg["raw"], policy=email.policy.default)["Subject"])


def alarm_mails(mail, to):
    return [m for m in mail.messages if m["to"] == [to] and "隐患" not in subject(m)]


def tier_steps(daemon):
    """The alarms' escalation journal (a hazard's escalation has its own, without an alarm)."""
    return db_rows(daemon.db_path, "SELECT tier, action, ts_ms, detail FROM escalation_steps WHERE alarm_id IS NOT NULL"
                   " ORDER BY id")


def alarm_escalations(daemon):
    return [e for e in daemon.get("/api/v1/escalations")[1]["escalations"] if e["alarm_id"] is not None]


def test_tiers_channels_and_ack_link(workdir, cleanup):
    broker, prov, mail, daemon = setup(workdir, cleanup)
    daemon.start()
    wait_connected(daemon)
    broker.publish("t/gt101", '{"value": 30.0545}')
    alarm = wait_until(lambda: (a := daemon.alarm("R-GT101-H"))["state"] == "UNACK" and a, 15, "alarm UNACK")

    # Tier 1: the unit's responsible person (zhang) on every channel of the tier.
    ding = wait_until(lambda: prov.find(lambda r: r["path"] == "/robot/send" and r["verified"]), 15, "DingTalk")
    assert len(ding) == 1, ding
    body = ding[0]["body"]
    assert body["msgtype"] == "text" and body["at"]["atMobiles"] == ["13800000001"], body
    content = body["text"]["content"]
    assert "@13800000001" in content and "30.1 %LEL" in content and "限值 25" in content, content
    assert "关闭进料阀并启动喷淋" in content and "第1级" in content and "1#液氨储罐" in content, content
    # A slow channel did not hold the others back: the hanging webhook (held until the test ends)
    # has its request in flight while DingTalk's is answered.
    wait_until(lambda: prov.find(lambda r: r["path"] == "/hang"), 10, "the hanging request")
    assert not prov.find(lambda r: r["path"] == "/hang" and "released" in r)
    sms = wait_until(lambda: prov.find(lambda r: r["path"] == "/sms"), 10, "SMS")
    assert sms[0]["verified"] and sms[0]["body"]["to"] == "+8613800000001", sms
    assert sms[0]["body"]["template"] == "SMS_0001" and "30.1" in sms[0]["body"]["params"]["text"], sms
    m1 = wait_until(lambda: alarm_mails(mail, "zhang@example.com"), 10, "mail to zhang")
    text = check_mail(m1[0], "zhang@example.com", "氨气检测器")
    assert "1#液氨储罐" in text and "/ack?token=" in text, text
    # The hazard the alarm opened: its 整改通知 to the responsible person, with the deadline.
    hz = wait_until(lambda: [m for m in mail.messages if "隐患整改通知" in subject(m)], 10, "hazard notice")
    text = check_mail(hz[0], "zhang@example.com", "隐患整改通知")
    code = daemon.get("/api/v1/hazards")[1]["hazards"][0]["code"]
    assert code in text and "整改期限" in text, text

    # Providers' error codes: wrong DingTalk signature and a bad WeCom key are not retried; a
    # WeCom rate limit (45009) is retried later.
    def by_channel():
        _, n = daemon.get("/api/v1/notifications?limit=100")
        return {x["channel"]: x for x in n["notifications"]}
    n = wait_until(lambda: (b := by_channel()).get("ding-bad", {}).get("state") == "expired" and
                   b.get("wecom-badkey", {}).get("state") == "expired" and b.get("wecom-limited", {}).get("attempts") and b, 15,
                   "provider errors recorded")
    assert n["ding-bad"]["attempts"] == 1 and "310000" in n["ding-bad"]["last_response"], n["ding-bad"]
    assert n["wecom-badkey"]["attempts"] == 1 and "93000" in n["wecom-badkey"]["last_response"], n["wecom-badkey"]
    assert n["wecom-limited"]["state"] == "pending" and "45009" in n["wecom-limited"]["last_response"], n["wecom-limited"]
    assert n["ding"]["state"] == "delivered" and n["ding"]["recipient"] == "zhang", n["ding"]

    esc = alarm_escalations(daemon)
    assert len(esc) == 1 and esc[0]["tier"] == 1, esc
    started = esc[0]["tier_started_ms"]
    assert esc[0]["next_step_ms"] == started + 3000, esc

    # Nobody acknowledges: tier 2, the workshop director, through Feishu (signed), WeCom and mail.
    fs = wait_until(lambda: prov.find(lambda r: r["path"].startswith("/open-apis/")), 15, "Feishu")
    assert fs[0]["verified"], fs[0]
    fs_text = fs[0]["body"]["content"]["text"]
    assert '<at user_id="ou_li"></at>' in fs_text and "第2级" in fs_text, fs_text
    wc = wait_until(lambda: prov.find(lambda r: r["path"] == "/cgi-bin/webhook/send" and r["verified"]), 10, "WeCom")
    assert wc[0]["body"]["text"]["mentioned_list"] == ["li01"], wc[0]
    steps = tier_steps(daemon)
    assert [(s["tier"], s["action"]) for s in steps] == [(1, "start"), (2, "next_tier")], steps
    assert steps[1]["ts_ms"] == started + 3000, steps  # at its due time, not when the timer ran

    # li acknowledges from the phone: the link opens a confirmation page, its button POSTs.
    link = re.search(r"http://127\.0\.0\.1:8080(/ack\?token=[0-9a-f]{32})", fs_text).group(1)
    with urllib.request.urlopen(f"http://127.0.0.1:{daemon.port}{link}", timeout=5) as r:
        assert r.status == 200 and "确认" in r.read().decode()
    assert daemon.alarm("R-GT101-H")["state"] == "UNACK"  # showing the page acknowledged nothing
    token = link.split("=")[1]
    # The outbox rows name the link, never its token; ack_links keeps only the token's hash.
    bodies = [r["body"] for r in db_rows(daemon.db_path, "SELECT body FROM outbox")]
    assert not [b for b in bodies if token in b or "token=" in b], bodies
    assert [b for b in bodies if '"ack_link":' in b], bodies
    assert db_rows(daemon.db_path, "SELECT count(*) AS n FROM ack_links WHERE token_sha256 = ?",
                   (hashlib.sha256(token.encode()).hexdigest(),))[0]["n"] == 1
    req = urllib.request.Request(f"http://127.0.0.1:{daemon.port}/api/v1/ack", data=f"token={token}".encode(),
                                 method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=5) as r:
        ack = json.loads(r.read())
    assert ack["acknowledged_by"] == "li" and ack["alarm_id"] == alarm["id"], ack
    a = daemon.alarm("R-GT101-H")
    assert a["state"] == "ACKED" and a["ack_user"] == "li", a
    try:
        urllib.request.urlopen(req, timeout=5)
        raise AssertionError("a used link acknowledged again")
    except urllib.error.HTTPError as e:
        assert e.code == 410, e.code

    # The escalation stopped with the acknowledgement: tier 3 (wang's SMS) never fires.
    assert not alarm_escalations(daemon)
    steps = wait_until(lambda: (st := tier_steps(daemon)) and st[-1]["action"] == "stop" and st, 5, "stop committed")
    assert [(s["tier"], s["action"]) for s in steps] == [(1, "start"), (2, "next_tier"), (2, "stop")], steps
    assert json.loads(steps[2]["detail"])["reason"] == "acknowledged", steps
    tier3_due = started + 3000 + 10000
    wait_until(lambda: time.time() * 1000 > tier3_due + 2000, 15, "past tier 3's due time")
    assert not prov.find(lambda r: r["path"] in ("/sms", "/voice") and r["body"]["to"] == "+8613800000003")
    assert len(tier_steps(daemon)) == 3
    # Nothing was delivered twice.
    ids = [r["headers"].get("X-Dualguard-Delivery") for r in prov.records]
    assert None not in ids and len(ids) == len(set(ids)), ids


def test_kill9_resumes_with_remaining_time(workdir, cleanup):
    broker, prov, mail, daemon = setup(workdir, cleanup, t1="6s")
    daemon.start()
    wait_connected(daemon)
    broker.publish("t/gt101", '{"value": 31}')
    wait_until(lambda: prov.find(lambda r: r["path"] == "/robot/send" and r["verified"]), 15, "tier 1")
    # Every tier-1 delivery that can succeed is confirmed before the crash.
    wait_until(lambda: db_rows(daemon.db_path, "SELECT count(*) AS n FROM outbox WHERE (state = 1 AND channel IN"
                               " ('ding', 'sms', 'mail')) OR (state = 2 AND channel = 'ding-bad')")[0]["n"] == 5, 15,
               "tier 1 confirmed")
    started = db_rows(daemon.db_path, "SELECT tier_start_ms FROM escalations WHERE alarm_id IS NOT NULL")[0]["tier_start_ms"]
    daemon.kill9()
    before = len(prov.find(lambda r: r["path"] in ("/robot/send", "/sms")))
    daemon.start()
    fs = wait_until(lambda: prov.find(lambda r: r["path"].startswith("/open-apis/")), 20, "tier 2 after the restart")
    assert fs[0]["t"] * 1000 >= started + 6000 - 50, (fs[0]["t"], started)
    steps = [s for s in tier_steps(daemon) if s["action"] != "notice"]
    assert [(s["tier"], s["action"]) for s in steps[:2]] == [(1, "start"), (2, "next_tier")], steps
    assert steps[1]["ts_ms"] == started + 6000, steps
    # Confirmed tier-1 deliveries were not sent again.
    assert len(prov.find(lambda r: r["path"] in ("/robot/send", "/sms"))) == before
    assert len(alarm_mails(mail, "zhang@example.com")) == 1


def test_stage_jump_starts_at_mapped_tier(workdir, cleanup):
    broker, prov, mail, daemon = setup(workdir, cleanup, t1="60s", t2="60s")
    daemon.start()
    wait_connected(daemon)
    broker.publish("t/gt101", '{"value": 30}')
    wait_until(lambda: db_rows(daemon.db_path, "SELECT count(*) AS n FROM escalation_steps WHERE action = 'start'"
                               " AND alarm_id IS NOT NULL")[0]["n"] == 1,
               15, "tier 1")
    broker.publish("t/gt101", '{"value": 55}')  # H → HH: the policy maps HH to tier 3
    call = wait_until(lambda: prov.find(lambda r: r["path"] == "/voice" and r["body"]["to"] == "+8613800000003"), 15,
                      "tier 3 at once")
    assert call[0]["verified"] and call[0]["body"]["template"] == "TTS_0001" and "55" in call[0]["body"]["params"]["text"], call
    steps = [s for s in tier_steps(daemon) if s["action"] != "notice"]
    assert [(s["tier"], s["action"]) for s in steps] == [(1, "start"), (3, "jump")], steps
    esc = alarm_escalations(daemon)
    assert esc[0]["tier"] == 3, esc
    # Back to normal and straight to HH again: the escalation starts at tier 3, but wang's number
    # had its one call this minute, so the call goes out as an SMS (same outbox id as request id).
    broker.publish("t/gt101", '{"value": 10}')
    wait_until(lambda: daemon.alarm("R-GT101-H")["state"] == "RTN_UNACK", 10, "cleared")
    broker.publish("t/gt101", '{"value": 60}')
    sms = wait_until(lambda: prov.find(lambda r: r["path"] == "/sms" and r["body"]["to"] == "+8613800000003"), 15,
                     "the capped call as SMS")
    assert sms[0]["verified"] and "60" in sms[0]["body"]["params"]["text"], sms
    assert len(prov.find(lambda r: r["path"] == "/voice")) == 1
    _, n = daemon.get("/api/v1/notifications?recipient=wang")
    assert [x["channel"] for x in n["notifications"]] == ["call", "call"], n
    assert str(n["notifications"][0]["id"]) == sms[0]["headers"]["X-Dualguard-Delivery"], (n, sms[0]["headers"])


def test_flood_digest(workdir, cleanup):
    broker, prov, mail, daemon = setup(workdir, cleanup, t1="60s", t2="60s", digest_after=2)
    daemon.start()
    wait_connected(daemon)
    # Four activations within the 8 s window: zhang's SMS gets two messages, then one digest of
    # the other two when the window ends; the HH stage (critical) is never held.
    for i in range(4):
        broker.publish("t/gt101", '{"value": %d}' % (30 + i))
        wait_until(lambda: daemon.alarm("R-GT101-H")["state"] == "UNACK", 10, "active")
        broker.publish("t/gt101", '{"value": 10}')
        wait_until(lambda: daemon.alarm("R-GT101-H")["state"] == "RTN_UNACK", 10, "cleared")
    to_zhang = lambda: prov.find(lambda r: r["path"] == "/sms" and r["body"]["to"] == "+8613800000001")
    digest = wait_until(lambda: [r for r in to_zhang() if "汇总" in r["body"]["params"]["text"]], 20, "the digest")
    text = digest[0]["body"]["params"]["text"]
    assert "另有2条通知" in text and text.count("氨气检测器") == 2, text
    assert len(to_zhang()) == 3, [r["body"] for r in to_zhang()]
    held = [json.loads(s["detail"]) for s in tier_steps(daemon) if s["action"] == "start"]
    assert sum(1 for d in held for t in d["told"] if t.get("held") == "digest" and t["channel"] == "sms") == 2, held
    broker.publish("t/gt101", '{"value": 60}')  # HH: critical, sent at once although the window is full again
    wait_until(lambda: daemon.alarm("R-GT101-H")["stage"] == "HH", 10, "HH")
    wait_until(lambda: prov.find(lambda r: r["path"] == "/voice" and r["body"]["to"] == "+8613800000003"), 10,
               "tier 3 at once")


if __name__ == "__main__":
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        print("python3-aiosmtpd is not installed (scripts/install-deps.sh)")
        sys.exit(77)
    sys.exit(run_tests([test_tiers_channels_and_ack_link, test_kill9_resumes_with_remaining_time,
                        test_stage_jump_starts_at_mapped_tier, test_flood_digest]))
