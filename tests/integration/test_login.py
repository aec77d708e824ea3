#!/usr/bin/python3
"""People's logins: accounts made on the command line (none exist at first), Argon2id hashes,
sessions in an HttpOnly SameSite=Strict cookie accepted where bearer tokens are, idle expiry,
logout, cross-site refusal, rate-limited failures, the admin's account routes, password change."""
import http.client
import json
import sqlite3
import subprocess
import sys

from dgtest import DAEMON, db_rows, run_tests, start_broker, start_daemon, wait_connected, wait_until

CONFIG = """
site: {{ code: "T-0001", name: 测试 }}
daemon:
  login: {{ idle_timeout: {idle}, session_lifetime: {life}, max_failures: {fails}, max_failures_per_address: 50, lockout: 30s }}
persons:
  - {{ id: chen, name: 陈管理员, roles: [admin] }}
  - {{ id: zhang, name: 张工, roles: [operator] }}
  - {{ id: wang, name: 王查看, roles: [viewer] }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{port}", client_id: dg-login-{port} }}
points:
  - {{ id: GT101, name: 氨气, driver: mqtt.main, topic: t/gt101 }}
rules:
  - {{ id: R1, type: high, point: GT101, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
"""

ADMIN_PW = "管理员-correct horse"
OPER_PW = "operator-pass-1"


def setup(workdir, cleanup, idle="30m", life="12h", fails=5):
    broker = start_broker(workdir, cleanup)
    daemon = start_daemon(workdir, cleanup, CONFIG.format(port=broker.port, idle=idle, life=life, fails=fails),
                          start=False)
    return broker, daemon


def cli(daemon, *args, stdin=""):
    return subprocess.run([DAEMON, "-c", daemon.config_path, "--db", daemon.db_path, *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def call(daemon, method, path, body=None, cookie=None, origin=True, token=None):
    """(status, JSON body, Set-Cookie header) of one request, as a browser on the dashboard sends it."""
    conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=30)
    host = f"127.0.0.1:{daemon.port}"
    headers = {"Host": host, "Content-Type": "application/json"}
    if cookie:
        headers["Cookie"] = cookie
    if origin is True:
        headers["Origin"] = "http://" + host
    elif origin:
        headers["Origin"] = origin
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, body=None if body is None else json.dumps(body).encode(), headers=headers)
    r = conn.getresponse()
    raw = r.read().decode()
    conn.close()
    return r.status, json.loads(raw or "null"), r.getheader("Set-Cookie")


def login(daemon, name, pw):
    """(status, body, cookie "dg_session=…" or None, full Set-Cookie)."""
    st, body, set_cookie = call(daemon, "POST", "/api/v1/login", {"login": name, "password": pw})
    cookie = set_cookie.split(";")[0] if set_cookie else None
    return st, body, cookie, set_cookie


def make_admin(daemon):
    r = cli(daemon, "--create-account", "admin", "--person", "chen", stdin=ADMIN_PW + "\n")
    assert r.returncode == 0, r.stderr


def test_first_admin_and_sessions(workdir, cleanup):
    broker, daemon = setup(workdir, cleanup)
    daemon.start()
    wait_connected(daemon)
    # No account exists at first: nobody can log in, whatever they try.
    assert db_rows(daemon.db_path, "SELECT count(*) AS n FROM accounts")[0]["n"] == 0
    for name, pw in (("admin", "admin"), ("admin", ADMIN_PW), ("chen", "password123")):
        st, body, cookie, _ = login(daemon, name, pw)
        assert st == 401 and cookie is None, (st, body)
    # The password never comes from the command line: no stdin, no account.
    r = cli(daemon, "--create-account", "admin", "--person", "chen", stdin="")
    assert r.returncode != 0 and "password" in r.stderr, r.stderr
    r = cli(daemon, "--create-account", "admin", "--person", "chen", stdin="short\n")
    assert r.returncode != 0 and "at least 10" in r.stderr, r.stderr
    r = cli(daemon, "--create-account", "ghost", stdin=ADMIN_PW + "\n")
    assert r.returncode != 0 and "ghost" in r.stderr, r.stderr
    make_admin(daemon)
    row = db_rows(daemon.db_path, "SELECT login, person, pwhash FROM accounts")[0]
    assert row["login"] == "admin" and row["person"] == "chen" and row["pwhash"].startswith("$argon2id$"), row
    with open(daemon.db_path, "rb") as f:
        assert ADMIN_PW.encode() not in f.read()

    # Wrong password, then the right one: a session cookie with the right flags.
    st, body, cookie, _ = login(daemon, "admin", ADMIN_PW + "x")
    assert st == 401 and cookie is None, body
    st, body, cookie, set_cookie = login(daemon, "admin", ADMIN_PW)
    assert st == 200 and body["person"] == "chen" and body["roles"] == ["admin"], body
    flags = [f.strip().lower() for f in set_cookie.split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags, set_cookie
    token = cookie.split("=", 1)[1]
    assert token.startswith("s-") and len(token) == 66, cookie
    assert not db_rows(daemon.db_path, "SELECT 1 FROM sessions WHERE token_sha256 = ?", (token,))
    log = daemon.read_log()
    assert "failed: wrong name or password" in log and ADMIN_PW not in log

    # The cookie is accepted where bearer tokens are: reads, whoami, admin routes.
    st, me, _ = call(daemon, "GET", "/api/v1/whoami", cookie=cookie, origin=None)
    assert st == 200 and me["id"] == "chen" and me["auth"] == "session", me
    assert call(daemon, "GET", "/api/v1/alarms", cookie=cookie, origin=None)[0] == 200
    # The admin creates an operator's account over the API; wrong inputs are refused.
    assert call(daemon, "POST", "/api/v1/accounts", {"login": "zhang", "person": "zhang", "password": "short"},
                cookie=cookie)[0] == 400
    assert call(daemon, "POST", "/api/v1/accounts", {"login": "x", "person": "nobody", "password": OPER_PW},
                cookie=cookie)[0] == 400
    st, body, _ = call(daemon, "POST", "/api/v1/accounts", {"login": "zhang", "person": "zhang", "password": OPER_PW},
                       cookie=cookie)
    assert st == 201 and body["person"] == "zhang", body
    assert call(daemon, "POST", "/api/v1/accounts", {"login": "zhang2", "person": "zhang", "password": OPER_PW},
                cookie=cookie)[0] == 409
    # A change authenticated by the cookie needs this server's Origin (cross-site forgery).
    st, body, _ = call(daemon, "POST", "/api/v1/accounts", {"login": "w", "person": "wang", "password": OPER_PW},
                       cookie=cookie, origin="http://evil.example")
    assert st == 401, body
    assert "session cookie ignored: Origin 'http://evil.example'" in daemon.read_log()
    assert call(daemon, "POST", "/api/v1/accounts", {"login": "w", "person": "wang", "password": OPER_PW},
                cookie=cookie, origin=None)[0] == 401
    st, body, _ = call(daemon, "GET", "/api/v1/accounts", cookie=cookie, origin=None)
    assert [a["login"] for a in body["accounts"]] == ["admin", "zhang"], body
    assert body["accounts"][0]["active_sessions"] == 1 and "pwhash" not in body["accounts"][0], body

    # Rights come from the person's roles: the operator acknowledges, but is no admin.
    st, _, ocookie, _ = login(daemon, "zhang", OPER_PW)
    assert st == 200
    assert call(daemon, "GET", "/api/v1/accounts", cookie=ocookie, origin=None)[0] == 403
    broker.publish("t/gt101", "30")
    alarm = wait_until(lambda: (a := daemon.alarm("R1"))["state"] == "UNACK" and a, 10, "alarm")
    st, body, _ = call(daemon, "POST", f"/api/v1/alarms/{alarm['id']}/ack", {"comment": "会话确认"}, cookie=ocookie)
    assert st == 200, body
    a = wait_until(lambda: (a := daemon.alarm("R1"))["state"] == "ACKED" and a, 10, "acked")
    assert a["ack_user"] == "zhang", a

    # Logout revokes the session: the same cookie no longer works; the answer deletes the cookie.
    st, body, set_cookie = call(daemon, "POST", "/api/v1/logout", cookie=ocookie)
    assert st == 200 and body["logged_out"] is True and "max-age=0" in set_cookie.lower(), (body, set_cookie)
    assert call(daemon, "GET", "/api/v1/whoami", cookie=ocookie, origin=None)[0] == 401

    # Nobody disables their own account (the last admin would lock everyone out).
    assert call(daemon, "POST", "/api/v1/accounts/admin/disable", {}, cookie=cookie)[0] == 409
    assert call(daemon, "POST", "/api/v1/accounts/nobody/disable", {}, cookie=cookie)[0] == 404
    # Disabling an account ends its sessions and its logins.
    st, _, ocookie, _ = login(daemon, "zhang", OPER_PW)
    assert call(daemon, "POST", "/api/v1/accounts/zhang/disable", {}, cookie=cookie)[0] == 200
    assert call(daemon, "GET", "/api/v1/whoami", cookie=ocookie, origin=None)[0] == 401
    assert login(daemon, "zhang", OPER_PW)[0] == 403
    assert call(daemon, "POST", "/api/v1/accounts/zhang/enable", {}, cookie=cookie)[0] == 200
    assert login(daemon, "zhang", OPER_PW)[0] == 200

    # Password change: the current password is checked; the other sessions end; the new one works.
    st, _, other, _ = login(daemon, "admin", ADMIN_PW)
    st, body, _ = call(daemon, "POST", "/api/v1/account/password",
                       {"current_password": "wrong-wrong", "new_password": "new-admin-pass"}, cookie=cookie)
    assert st == 400 and "current_password" in body["error"], body
    st, body, _ = call(daemon, "POST", "/api/v1/account/password",
                       {"current_password": ADMIN_PW, "new_password": "new-admin-pass"}, cookie=cookie)
    assert st == 200, body
    assert call(daemon, "GET", "/api/v1/whoami", cookie=cookie, origin=None)[0] == 200
    assert call(daemon, "GET", "/api/v1/whoami", cookie=other, origin=None)[0] == 401
    assert login(daemon, "admin", ADMIN_PW)[0] == 401
    assert login(daemon, "admin", "new-admin-pass")[0] == 200
    # The admin resets a person's password: every session of that account ends, the new one works.
    st, _, zcookie, _ = login(daemon, "zhang", OPER_PW)
    assert st == 200
    assert call(daemon, "POST", "/api/v1/accounts/nobody/password", {"password": "reset-by-admin"},
                cookie=cookie)[0] == 404
    st, body, _ = call(daemon, "POST", "/api/v1/accounts/zhang/password", {"password": "reset-by-admin"},
                       cookie=cookie)
    assert st == 200 and body["changed"] is True, body
    assert call(daemon, "GET", "/api/v1/whoami", cookie=zcookie, origin=None)[0] == 401
    st, _, zcookie, _ = login(daemon, "zhang", "reset-by-admin")
    assert st == 200
    # So does the command line, beside the running daemon.
    r = cli(daemon, "--set-password", "zhang", stdin="set-on-the-cli\n")
    assert r.returncode == 0 and "sessions have ended" in r.stdout, (r.stdout, r.stderr)
    assert call(daemon, "GET", "/api/v1/whoami", cookie=zcookie, origin=None)[0] == 401
    assert login(daemon, "zhang", "set-on-the-cli")[0] == 200
    # API tokens stay for machines.
    assert call(daemon, "GET", "/api/v1/whoami", origin=None, token=daemon.token("wang"))[1]["auth"] == "token"
    assert daemon.stop() == 0


def test_failed_logins_locked_out(workdir, cleanup):
    broker, daemon = setup(workdir, cleanup, fails=3)
    make_admin(daemon)
    daemon.start()
    for _ in range(3):
        assert login(daemon, "admin", "not-the-password")[0] == 401
    # max_failures reached: even the right password is refused until the lock-out ends.
    st, body, cookie, _ = login(daemon, "admin", ADMIN_PW)
    assert st == 429 and cookie is None and 25 <= body["retry_after_s"] <= 30, body
    log = daemon.read_log()
    assert "locked out" in log and "not-the-password" not in log and ADMIN_PW not in log
    # Another name from the same address is not locked (its own count; the address allows 50).
    assert login(daemon, "zhang", "whatever-else")[0] == 401
    # A restart forgets the lock-out (it is kept in memory), and the account still works.
    assert daemon.stop() == 0
    daemon.start()
    assert login(daemon, "admin", ADMIN_PW)[0] == 200
    assert daemon.stop() == 0


def test_session_idle_and_lifetime(workdir, cleanup):
    broker, daemon = setup(workdir, cleanup, idle="2s", life="6s")
    make_admin(daemon)
    daemon.start()
    # Unused for longer than idle_timeout: refused.
    st, _, cookie, _ = login(daemon, "admin", ADMIN_PW)
    assert st == 200
    assert call(daemon, "GET", "/api/v1/whoami", cookie=cookie, origin=None)[0] == 200
    wait_until(lambda: call(daemon, "GET", "/api/v1/whoami", cookie=cookie, origin=None)[0] == 401 or None, 4,
               "idle session refused", interval=2.5)
    # Kept in use (every 0.3 s), it lives until its lifetime, then ends although used.
    st, body, cookie, set_cookie = login(daemon, "admin", ADMIN_PW)
    assert "max-age=6" in set_cookie.lower(), set_cookie
    seen_ok = []
    def ended():
        st = call(daemon, "GET", "/api/v1/whoami", cookie=cookie, origin=None)[0]
        seen_ok.append(st == 200)
        return st == 401
    wait_until(ended, 15, "session past its lifetime", interval=0.3)
    assert sum(seen_ok) >= 8, seen_ok  # it stayed alive well past the 2 s idle timeout while used
    row = db_rows(daemon.db_path, "SELECT expires_ms - created_ms AS life FROM sessions ORDER BY id DESC LIMIT 1")[0]
    assert row["life"] == 6000, row
    assert daemon.stop() == 0
    # Sessions that ended more than 30 days ago are removed at the next login.
    con = sqlite3.connect(daemon.db_path)
    con.execute("UPDATE sessions SET expires_ms = expires_ms - 31 * 86400000")
    con.commit()
    con.close()
    old = db_rows(daemon.db_path, "SELECT count(*) AS n FROM sessions")[0]["n"]
    assert old == 2, old
    daemon.start()
    assert login(daemon, "admin", ADMIN_PW)[0] == 200
    wait_until(lambda: db_rows(daemon.db_path, "SELECT count(*) AS n FROM sessions")[0]["n"] == 1, 10,
               "ended sessions pruned")
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_first_admin_and_sessions, test_failed_logins_locked_out, test_session_idle_and_lifetime]))
