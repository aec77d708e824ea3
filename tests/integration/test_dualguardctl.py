#!/usr/bin/python3
"""dualguardctl against the real daemon: every subcommand in both output modes (tables for a
terminal, the server's JSON with --json), URL and token from flags, environment and a file, and
the error paths: a bad or revoked token, a missing role, an unreachable server, an invalid
configuration, bad usage. Each ends with a clear message and its own exit status."""
import sys
import json
import os
import subprocess

from dgtest import BUILD_DIR, start_broker, start_daemon, run_tests, wait_until

CTL = os.path.join(BUILD_DIR, "dualguardctl")

CONFIG = """
site: {{ code: "410700-0001", name: 测试化工 }}
daemon: {{ history_flush: 200ms }}
persons:
  - {{ id: chen, name: 陈管理员, roles: [admin] }}
  - {{ id: zhang, name: 张工, roles: [operator] }}
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
            lec: {{ l: 1, e: 6, c: 15 }}
            measures:
              - {{ id: M01, desc: 有毒气体检测报警器有效投用, classify: "1-4", data_src: 1 }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{port}", client_id: dg-ctl-{port} }}
points:
  - {{ id: GT101, name: 氨气, unit_id: U01, eng_unit: "%LEL", driver: mqtt.main, topic: t/gt101, path: value }}
rules:
  - {{ id: R1, name: 氨气高报, type: high, point: GT101, measure: M01, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
"""


def ctl(daemon, *args, token=None, env=None):
    """Runs dualguardctl; returns (exit status, stdout, stderr)."""
    e = dict(os.environ, DUALGUARD_URL=f"http://127.0.0.1:{daemon.port}")
    e.pop("DUALGUARD_TOKEN", None)
    e.pop("DUALGUARD_TOKEN_FILE", None)
    if token:
        e["DUALGUARD_TOKEN"] = token
    e.update(env or {})
    r = subprocess.run([CTL, *args], capture_output=True, text=True, timeout=60, env=e)
    return r.returncode, r.stdout, r.stderr


def ok(daemon, *args, token=None, env=None):
    rc, out, err = ctl(daemon, *args, token=token, env=env)
    assert rc == 0 and not err, (args, rc, out, err)
    return json.loads(out) if "--json" in args else out


def setup(workdir, cleanup):
    broker = start_broker(workdir, cleanup)
    daemon = start_daemon(workdir, cleanup, CONFIG.format(port=broker.port), connected=True)
    return broker, daemon


def test_status_alarms_risk(workdir, cleanup):
    broker, daemon = setup(workdir, cleanup)
    admin = daemon.token("chen")
    out = ok(daemon, "status", token=admin)
    assert "status ok" in out and "driver mqtt   main" in out and "alarms active 0, unacknowledged 0" in out, out
    j = ok(daemon, "status", "--json", token=admin)
    assert j["health"]["status"] == "ok" and j["drivers"][0]["connected"] is True and j["alarms"] == [], j

    broker.publish("t/gt101", json.dumps({"value": 31.5}))
    wait_until(lambda: daemon.alarm("R1")["state"] == "UNACK", 15, "the alarm")
    aid = str(daemon.alarm("R1")["id"])
    out = ok(daemon, "alarms", "list", token=admin)
    row = next(line for line in out.splitlines() if line.startswith(aid + " "))
    assert "high" in row and "UNACK" in row and "GT101" in row and "31.5" in row and "氨气高报" in row, out
    j = ok(daemon, "alarms", "list", "--state", "all", "--json", token=admin)
    assert [a["id"] for a in j["alarms"]] == [int(aid)], j
    assert "unacknowledged 1" in ok(daemon, "status", token=admin)

    out = ok(daemon, "alarms", "ack", aid, "--comment", "现场确认", token=admin)
    assert "ACKED" in out, out
    assert daemon.alarm("R1")["ack_comment"] == "现场确认"
    j = ok(daemon, "--json", "alarms", "shelve", aid, "--minutes", "5", "--reason", "检修", token=admin)
    assert j["shelved_until_ms"] and j["shelve_reason"] == "检修", j
    assert "shelved" in ok(daemon, "alarms", "list", token=admin)

    out = ok(daemon, "risk", token=admin)
    assert "U01        1#液氨储罐           yellow     orange     alarm R1" in out, out
    j = ok(daemon, "risk", "--json", token=admin)
    assert [u["id"] for u in j["units"]] == ["U01"], j


def test_hazards(workdir, cleanup):
    _, daemon = setup(workdir, cleanup)
    admin = daemon.token("chen")
    ids = []
    for i in range(3):
        st, h = daemon.post("/api/v1/hazards", {"description": f"法兰渗漏 {i}", "danger_src": 1, "unit": "U01"},
                            actor="chen")
        assert st == 201, h
        ids.append(h["id"])
    out = ok(daemon, "hazards", "list", token=admin)
    assert all(f"法兰渗漏 {i}" in out for i in range(3)) and "整改中" in out, out
    j = ok(daemon, "hazards", "list", "--limit", "2", "--json", token=admin)
    assert [h["id"] for h in j["hazards"]] == ids[:0:-1] and j["next_cursor"], j
    out = ok(daemon, "hazards", "list", "--limit", "2", token=admin)
    assert f"more: --cursor {j['next_cursor']}" in out, out
    j2 = ok(daemon, "hazards", "list", "--limit", "2", "--cursor", j["next_cursor"], "--json", token=admin)
    assert [h["id"] for h in j2["hazards"]] == [ids[0]] and j2["next_cursor"] is None, j2

    hid = str(ids[0])
    out = ok(daemon, "hazards", "show", hid, token=admin)
    assert "法兰渗漏 0" in out and "journal:" in out and "report" in out, out
    assert ok(daemon, "hazards", "show", hid, "--json", token=admin)["id"] == ids[0]
    out = ok(daemon, "hazards", "transition", hid, "rectify", "--set", "rectify_measures=更换垫片", "--set", "cost=120",
             "--comment", "已整改", token=admin)
    assert f"hazard {hid}" in out and "rectify" in out, out
    j = ok(daemon, "hazards", "transition", hid, "submit", "--json", token=admin)
    assert j["action"] == "submit" and j["danger_state"] == 1, j
    _, h = daemon.get(f"/api/v1/hazards/{hid}")
    assert h["rectify_measures"] == "更换垫片" and h["cost"] == 120 and h["danger_state"] == 1, h

    rc, _, err = ctl(daemon, "hazards", "transition", hid, "fly", token=admin)
    assert rc == 1 and "HTTP 404" in err, (rc, err)
    rc, _, err = ctl(daemon, "hazards", "list", "--limit", "0", token=admin)
    assert rc == 1 and "HTTP 400: limit:" in err, (rc, err)


def test_tokens_and_bad_tokens(workdir, cleanup):
    _, daemon = setup(workdir, cleanup)
    admin = daemon.token("chen")
    out = ok(daemon, "tokens", "create", "zhang", "--expires", "1d", token=admin)
    zhang = out.splitlines()[0]
    assert len(zhang) == 64 and "shown only now" in out, out
    j = ok(daemon, "tokens", "create", "zhang", "--json", token=admin)
    assert len(j["token"]) == 64 and j["person"] == "zhang", j
    tokens = ok(daemon, "tokens", "list", "--json", token=admin)["tokens"]
    mine = [t for t in tokens if t["person"] == "zhang"]
    assert len(mine) == 2 and all(t["status"] == "active" for t in mine), tokens
    assert "zhang" in ok(daemon, "tokens", "list", token=admin)

    tfile = os.path.join(workdir, "token")
    with open(tfile, "w") as f:
        f.write(zhang + "\n")
    assert "status ok" in ok(daemon, "--token-file", tfile, "status")
    assert "status ok" in ok(daemon, "status", env={"DUALGUARD_TOKEN_FILE": tfile})

    rc, out, err = ctl(daemon, "tokens", "list", token=zhang)
    assert rc == 1 and not out and "HTTP 403" in err and "lacks the role" in err, (rc, out, err)
    rc, out, err = ctl(daemon, "--token", "0" * 64, "tokens", "list")
    assert rc == 1 and not out and "HTTP 401" in err and "token was refused" in err, (rc, out, err)
    rc, _, err = ctl(daemon, "tokens", "create", "nobody", token=admin)
    assert rc == 1 and "person: no person 'nobody'" in err, err
    rc, _, err = ctl(daemon, "tokens", "create", "zhang", "--expires", "forever", token=admin)
    assert rc == 1 and "expires:" in err, err

    oldest = min(t["id"] for t in mine)
    newest = max(t["id"] for t in mine)
    assert ok(daemon, "tokens", "revoke", str(oldest), token=admin) == f"token {oldest} revoked\n"
    assert ok(daemon, "tokens", "revoke", str(newest), "--json", token=admin) == {"id": newest, "revoked": True}
    rc, _, err = ctl(daemon, "tokens", "revoke", str(newest), token=admin)
    assert rc == 1 and "HTTP 409" in err, err
    rc, _, err = ctl(daemon, "alarms", "ack", "1", token=zhang)
    assert rc == 1 and "HTTP 401" in err and "token was refused" in err, err


def test_usage_config_and_unreachable(workdir, cleanup):
    broker, daemon = setup(workdir, cleanup)
    out = ok(daemon, "check-config", daemon.config_path)
    assert out.startswith(f"{daemon.config_path}: OK (1 hazard sources, 1 points, 1 rules)"), out
    j = ok(daemon, "check-config", daemon.config_path, "--json")
    assert j["valid"] is True and j["points"] == 1, j
    bad = os.path.join(workdir, "bad.yaml")
    with open(bad, "w") as f:
        f.write(CONFIG.format(port=broker.port).replace("limit: 25", "limit: high"))
    rc, out, err = ctl(daemon, "check-config", bad)
    assert rc == 1 and not out and err.startswith(bad + ":") and "limit" in err, (rc, out, err)
    rc, out, _ = ctl(daemon, "check-config", bad, "--json")
    assert rc == 1 and json.loads(out)["valid"] is False and "limit" in json.loads(out)["error"], out

    for args in (["alarms"], ["alarms", "ack", "x"], ["hazards", "show"], ["tokens", "revoke"], ["frobnicate"], ["--nope", "status"], []):
        rc, out, err = ctl(daemon, *args)
        assert rc == 2 and ("usage" in err or "expected" in err), (args, rc, out, err)
    rc, _, err = ctl(daemon, "alarms", "shelve", "1", "--minutes", "5", token="x")
    assert rc == 2 and "--reason" in err, err
    rc, _, err = ctl(daemon, "--url", "http://127.0.0.1:1", "status")
    assert rc == 3 and "cannot reach http://127.0.0.1:1" in err, err


if __name__ == "__main__":
    sys.exit(run_tests([test_status_alarms_risk, test_hazards, test_tokens_and_bad_tokens, test_usage_config_and_unreachable]))
