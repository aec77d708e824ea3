#!/usr/bin/python3
"""Operator actions with real API tokens: issued by `dualguardd --create-token`, stored only as
SHA-256, checked against the person's roles on every POST."""
import hashlib
import subprocess
import sys

from dgtest import DAEMON, db_rows, run_tests, start_broker, start_daemon, wait_connected, wait_until

CONFIG = """
site: {{ code: "T-0001", name: 测试 }}
persons:
  - {{ id: zhang, name: 张工, roles: [operator] }}
  - {{ id: zhao, name: 赵安全员, roles: [safety] }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{port}", client_id: dg-tokens-{port} }}
points:
  - {{ id: GT101, name: 氨气, driver: mqtt.main, topic: t/gt101 }}
rules:
  - {{ id: R1, type: high, point: GT101, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
"""


def post(daemon, path, body, token=None):
    return daemon.post(path, body, token=token)


def test_tokens_hashed_and_roles_enforced(workdir, cleanup):
    broker = start_broker(workdir, cleanup)
    daemon = start_daemon(workdir, cleanup, CONFIG.format(port=broker.port), start=False)
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


if __name__ == "__main__":
    sys.exit(run_tests([test_tokens_hashed_and_roles_enforced]))
