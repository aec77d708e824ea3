#!/usr/bin/python3
"""Operator actions with real API tokens: issued by `dualguardd --create-token`, stored only as
SHA-256, checked against the person's roles on every POST."""
import hashlib
import json
import subprocess
import sys

from dgtest import DAEMON, db_rows, run_tests, start_broker, start_daemon, wait_connected, wait_until
from test_model_api import call as request

CONFIG = """
site: {{ code: "T-0001", name: 测试 }}
persons:
  - {{ id: zhang, name: 张工, roles: [operator] }}
  - {{ id: zhao, name: 赵安全员, roles: [safety] }}
  - {{ id: chen, name: 陈管理员, roles: [admin] }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{port}", client_id: dg-tokens-{port} }}
points:
  - {{ id: GT101, name: 氨气, driver: mqtt.main, topic: t/gt101 }}
rules:
  - {{ id: R1, type: high, point: GT101, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
"""


def post(daemon, path, body, token=None):
    return request(daemon, "POST", path, body, token)


def setup(workdir, cleanup):
    """A broker and a daemon (not started) on CONFIG."""
    broker = start_broker(workdir, cleanup)
    daemon = start_daemon(workdir, cleanup, CONFIG.format(port=broker.port), start=False)
    return broker, daemon


def test_tokens_hashed_and_roles_enforced(workdir, cleanup):
    broker, daemon = setup(workdir, cleanup)
    cfg = daemon.config_path
    operator, safety = daemon.token("zhang"), daemon.token("zhao")
    assert len(operator) == 64 and operator != safety
    # Only the hash is stored.
    rows = db_rows(daemon.db_path, "SELECT person, token_sha256 FROM api_tokens ORDER BY id")
    assert [r["person"] for r in rows] == ["zhang", "zhao"], rows
    assert rows[0]["token_sha256"] == hashlib.sha256(operator.encode()).hexdigest(), rows
    with open(daemon.db_path, "rb") as f:
        assert operator.encode() not in f.read()

    daemon.start()
    wait_connected(daemon)
    broker.publish("t/gt101", "30")
    alarm = wait_until(lambda: (a := daemon.alarm("R1"))["state"] == "UNACK" and a, 10, "alarm")
    path = f"/api/v1/alarms/{alarm['id']}/ack"
    assert post(daemon, path, {"comment": "x"})[0] == 401
    assert post(daemon, path, {"comment": "x"}, token="f" * 64)[0] == 401
    assert post(daemon, path, {"comment": "x"}, token=safety)[0] == 403
    st, body = post(daemon, path, {"comment": "现场确认"}, token=operator)
    assert st == 200, (st, body)
    a = wait_until(lambda: (a := daemon.alarm("R1"))["state"] == "ACKED" and a, 10, "acked")
    assert a["ack_user"] == "zhang" and a["ack_comment"] == "现场确认", a
    journal = wait_until(lambda: [j for j in daemon.get(f"/api/v1/alarms/{alarm['id']}/journal")[1]["journal"]
                                  if j["event"] == "ack"], 10, "ack journaled")
    assert journal[0]["actor"] == "zhang", journal
    wait_until(lambda: db_rows(daemon.db_path, "SELECT last_used_ms FROM api_tokens WHERE person = 'zhang'")[0]["last_used_ms"],
               10, "last use recorded")
    r = subprocess.run([DAEMON, "-c", daemon.config_path, "--db",
                        daemon.db_path, "--create-token", "ghost"], capture_output=True, text=True)
    assert r.returncode == 1 and "ghost" in r.stderr, r.stderr
    assert daemon.stop() == 0


def cli(daemon, *args):
    return subprocess.run([DAEMON, "-c", daemon.config_path, "--db", daemon.db_path, *args], capture_output=True,
                          text=True, timeout=30)


def test_tokens_expire_and_are_revoked_and_listed(workdir, cleanup):
    broker, daemon = setup(workdir, cleanup)

    # A token for a person without a usable role is issued with a warning.
    r = cli(daemon, "--create-token", "zhao")
    assert r.returncode == 0 and len(r.stdout.strip()) == 64, r
    assert "zhao" in r.stderr and "no role the API knows" in r.stderr, r.stderr
    reader = r.stdout.strip()  # a person without a known role may still read
    r = cli(daemon, "--create-token", "zhang")
    assert r.returncode == 0 and "no role" not in r.stderr, r.stderr
    operator = r.stdout.strip()
    short = cli(daemon, "--create-token", "zhang", "--expires", "3s").stdout.strip()
    admin = cli(daemon, "--create-token", "chen").stdout.strip()
    assert cli(daemon, "--create-token", "zhang", "--expires", "forever").returncode == 2
    assert cli(daemon, "--create-token", "zhang", "--expires", "3651d").returncode == 2
    rows = db_rows(daemon.db_path, "SELECT id, person, created_ms, expires_ms FROM api_tokens ORDER BY id")
    assert [x["expires_ms"] - x["created_ms"] for x in rows] == [90 * 86400000, 90 * 86400000, 3000,
                                                                   90 * 86400000], rows

    daemon.reader, daemon.tokens = "zhao", {"zhao": reader}  # the fixture reads with it, issues none
    daemon.start()
    wait_connected(daemon)
    # Listing: admin only, newest first, never a hash.
    assert request(daemon, "GET", "/api/v1/tokens", token="")[0] == 401
    assert request(daemon, "GET", "/api/v1/tokens", token=operator)[0] == 403
    st, body = request(daemon, "GET", "/api/v1/tokens", token=admin)
    assert st == 200 and [t["id"] for t in body["tokens"]] == [4, 3, 2, 1], body
    assert all(set(t) == {"id", "person", "created_ms", "expires_ms", "last_used_ms", "revoked", "revoked_ms",
                          "status"} for t in body["tokens"]), body
    assert short not in json.dumps(body) and "sha256" not in json.dumps(body)

    # Expiry: the 3 s token is refused once past, and the refusal says why.
    wait_until(lambda: request(daemon, "GET", "/api/v1/tokens", token=short)[0] == 401, 10, "the short token expired")
    wait_until(lambda: "authentication failed: token 3 (zhang) expired" in daemon.read_log(), 5, "expiry logged")
    assert request(daemon, "GET", "/api/v1/tokens", token="e" * 64)[0] == 401
    wait_until(lambda: "authentication failed: unknown token" in daemon.read_log(), 5, "unknown token logged")
    st, body = request(daemon, "GET", "/api/v1/tokens", token=admin)
    assert [t["status"] for t in body["tokens"]] == ["active", "expired", "active", "active"], body

    # Revocation through the API (admin only) and through the CLI.
    assert request(daemon, "DELETE", "/api/v1/tokens/2", token=operator)[0] == 403
    assert request(daemon, "DELETE", "/api/v1/tokens/99", token=admin)[0] == 404
    st, body = request(daemon, "DELETE", "/api/v1/tokens/2", token=admin)
    assert st == 200 and body == {"id": 2, "revoked": True}, (st, body)
    assert request(daemon, "DELETE", "/api/v1/tokens/2", token=admin)[0] == 409
    broker.publish("t/gt101", "30")
    alarm = wait_until(lambda: (a := daemon.alarm("R1"))["state"] == "UNACK" and a, 10, "alarm")
    assert post(daemon, f"/api/v1/alarms/{alarm['id']}/ack", {}, token=operator)[0] == 401
    wait_until(lambda: "authentication failed: token 2 (zhang) is revoked" in daemon.read_log(), 5, "revoked logged")
    r = cli(daemon, "--revoke-token", "4")
    assert r.returncode == 0 and "token 4 revoked" in r.stdout, r
    assert request(daemon, "GET", "/api/v1/tokens", token=admin)[0] == 401
    assert cli(daemon, "--revoke-token", "99").returncode == 1
    r = cli(daemon, "--list-tokens")
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and lines[0].split()[:2] == ["id", "person"], r
    assert [(x.split()[0], x.split()[1], x.split()[-1]) for x in lines[1:]] == [
        ("4", "chen", "revoked"), ("3", "zhang", "expired"), ("2", "zhang", "revoked"), ("1", "zhao", "active")], lines
    rows = db_rows(daemon.db_path, "SELECT revoked_ms FROM api_tokens WHERE id IN (2, 4)")
    assert all(x["revoked_ms"] for x in rows), rows
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_tokens_hashed_and_roles_enforced, test_tokens_expire_and_are_revoked_and_listed]))
