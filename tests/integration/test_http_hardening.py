#!/usr/bin/python3
"""The HTTP server under hostile clients: floods of CONNECT requests and of idle half-sent
requests, with the daemon started under a descriptor limit of 256, must neither keep the
descriptors the alarm's webhook needs nor stop the API from answering once they end. Reads need
a token, foreign Host names are refused, the dashboard carries its security headers, JSON bodies
are strict and the listener can serve TLS. Real mosquitto, webhook sink and daemon on loopback."""
import json
import os
import re
import resource
import selectors
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dgtest import run_tests, start_broker, start_daemon, start_plant, wait_until  # noqa: E402

NOFILE = 256
FLOOD_SOURCES = 12  # loopback source addresses 127.0.0.2..: more than the per-client share each

CONFIG = """
site: {{ code: "T-0001", name: 测试 }}
daemon:
  http: {{ hosts: [plant.example]{extra} }}
persons:
  - {{ id: zhang, name: 张工, roles: [operator] }}
  - {{ id: vera, name: 魏值班, roles: [viewer] }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{mqtt_port}", client_id: dg-http-{mqtt_port} }}
points:
  - {{ id: GT101, name: 氨气, driver: mqtt.main, topic: t/gt101 }}
rules:
  - {{ id: R1, type: high, point: GT101, stages: [ {{ name: H, limit: 25, priority: high }} ] }}
channels:
  - {{ id: hook, type: webhook, url: "http://127.0.0.1:{hook_port}/hook", timeout: 2s }}
policies:
  - {{ id: all, priorities: [low, medium, high, critical], channels: [hook] }}
"""


def start(workdir, cleanup, extra="", wrapper=()):
    """Broker, webhook sink and the daemon (connected) on CONFIG with `extra` daemon.http keys."""
    return start_plant(workdir, cleanup, CONFIG.replace("{extra}", extra), wrapper=wrapper)


def request(daemon, path, token=None, host=None, method="GET", body=None, scheme="http", context=None):
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    if host:
        headers["Host"] = host
    if body is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(f"{scheme}://127.0.0.1:{daemon.port}{path}", data=body, method=method,
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5, context=context) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def raise_own_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))
    return min(n, hard) - 64


class Flood:
    """Connections from several loopback addresses that each send `payload` and then stay
    silent; counts those the server has closed."""

    def __init__(self, port, payload, count):
        self.sel = selectors.DefaultSelector()
        self.open = 0
        self.refused = 0
        for i in range(count):
            s = socket.socket()
            s.bind((f"127.0.0.{2 + i % FLOOD_SOURCES}", 0))
            s.settimeout(2)
            try:
                s.connect(("127.0.0.1", port))
                if payload:
                    s.sendall(payload)
            except OSError:
                s.close()
                self.refused += 1
                continue
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ)
            self.open += 1

    def closed_by_server(self):
        """Reads what arrived; returns how many connections are still open."""
        for key, _ in self.sel.select(timeout=0.2):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                self.sel.unregister(s)
                s.close()
                self.open -= 1
        return self.open

    def stop(self):
        if self.sel.get_map() is None:
            return  # stopped already
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()
        self.sel.close()


def flood_with_alarm(workdir, cleanup, payload, count):
    raise_own_nofile(count + 256)
    broker, sink, daemon = start(workdir, cleanup, wrapper=("prlimit", f"--nofile={NOFILE}"))
    wait_until(lambda: "at most 192 connections (48 per client address); 64 of 256 descriptors" in daemon.read_log(),
               5, "the caps derived from the descriptor limit")
    viewer = daemon.token("vera")

    flood = Flood(daemon.port, payload, count)
    cleanup.append(flood.stop)
    assert flood.open > 192, f"only {flood.open} flood connections opened"
    # While the flood holds the server, a gas alarm still reaches its webhook.
    broker.publish("t/gt101", "40")
    sink.wait_for(lambda r: any(e["body"].get("event") == "activate" for e in r), timeout=15)
    # The server closes every flood connection (refused beyond the caps, answered or timed
    # out), without the client doing anything.
    wait_until(lambda: flood.closed_by_server() == 0, 60, "the server to close every flood connection",
               interval=0)
    flood.stop()
    status, _, body = request(daemon, "/api/v1/alarms", viewer)
    assert status == 200 and json.loads(body)["alarms"][0]["rule"] == "R1", (status, body)
    assert daemon.proc.poll() is None
    assert "out of descriptors" not in daemon.read_log()


def test_connect_flood(workdir, cleanup):
    flood_with_alarm(workdir, cleanup, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 1100)


def test_idle_request_flood(workdir, cleanup):
    # Half-sent request lines, headers and bodies of every method, and silent connections.
    payloads = [b"GET /api/v1/alarms HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", b"POST /api/v1/alarms/1/ack HTTP/1.1\r\n"
                b"Host: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{", b"PUT /x HTTP/1.1\r\nHost: 1", b"DELETE /api/v1/",
                b"OPTIONS * HTTP/1.1\r\n", b""]
    raise_own_nofile(900)
    broker, sink, daemon = start(workdir, cleanup, wrapper=("prlimit", f"--nofile={NOFILE}"))
    viewer = daemon.token("vera")
    floods = [Flood(daemon.port, p, 100) for p in payloads]
    for f in floods:
        cleanup.append(f.stop)
    assert sum(f.open for f in floods) > 192
    broker.publish("t/gt101", "40")
    sink.wait_for(lambda r: any(e["body"].get("event") == "activate" for e in r), timeout=15)
    wait_until(lambda: sum(f.closed_by_server() for f in floods) == 0, 90,
               "the server to close every idle connection", interval=0)
    for f in floods:
        f.stop()
    status, _, body = request(daemon, "/api/v1/alarms", viewer)
    assert status == 200 and json.loads(body)["alarms"][0]["rule"] == "R1", (status, body)
    assert "out of descriptors" not in daemon.read_log()


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_out_of_descriptors_pauses_accepting(workdir, cleanup):
    # A reserve configured too small for this daemon: the process itself runs out of descriptors
    # before the HTTP cap is reached. accept() then fails; the server must pause accepting
    # instead of spinning on the readable listening socket.
    raise_own_nofile(700)
    broker, sink, daemon = start(workdir, cleanup, extra=", fd_reserve: 16", wrapper=("prlimit", f"--nofile={NOFILE}"))
    flood = Flood(daemon.port, b"GET /healthz HTTP/1.1\r\nHost: 127", 400)
    cleanup.append(flood.stop)
    wait_until(lambda: "out of descriptors: not accepting" in daemon.read_log(), 10, "accepting to pause")
    # CPU time, not speed: a loop spinning on accept() burns a whole core; a paused one nothing.
    before = cpu_seconds(daemon.proc.pid)
    time.sleep(3)
    assert cpu_seconds(daemon.proc.pid) - before < 0.5, "the loop spins while out of descriptors"
    flood.stop()
    wait_until(lambda: request(daemon, "/healthz")[0] == 200, 30, "the API to answer again")


def test_reads_need_a_token_and_a_known_host(workdir, cleanup):
    broker, sink, daemon = start(workdir, cleanup)
    viewer, operator = daemon.token("vera"), daemon.token("zhang")
    for path in ("/api/v1/alarms", "/api/v1/hazards", "/api/v1/model", "/api/v1/model/audit", "/api/v1/export"):
        status, _, body = request(daemon, path)
        assert status == 401 and b"token" in body, (path, status, body)
        assert request(daemon, path, "0" * 64)[0] == 401
        assert request(daemon, path, viewer)[0] == 200, path
        assert request(daemon, path, operator)[0] == 200, path
    # Monitoring stays open.
    assert request(daemon, "/healthz")[0] == 200
    # A viewer reads but does not act.
    status, _, _ = request(daemon, "/api/v1/alarms/1/ack", viewer, method="POST", body=b"{}")
    assert status in (403, 404), status
    # A page on another name (DNS rebinding) is refused, even for open paths and valid tokens.
    for host in ("evil.example", "evil.example:80", f"127.0.0.1.evil.example:{daemon.port}"):
        assert request(daemon, "/api/v1/alarms", viewer, host=host)[0] == 421, host
        assert request(daemon, "/", host=host)[0] == 421, host
    assert request(daemon, "/api/v1/alarms", viewer, host=f"plant.example:{daemon.port}")[0] == 200
    assert request(daemon, "/api/v1/alarms", viewer, host=f"localhost:{daemon.port}")[0] == 200
    # The dashboard itself is served without a token, with its security headers.
    status, headers, body = request(daemon, "/")
    assert status == 200 and b"<html" in body.lower()
    headers = {k.lower(): v for k, v in headers.items()}
    assert "frame-ancestors 'none'" in headers["content-security-policy"], headers
    assert "default-src 'self'" in headers["content-security-policy"], headers
    assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer", headers


def test_reads_opened_on_loopback(workdir, cleanup):
    broker, sink, daemon = start(workdir, cleanup, extra=", open_reads_on_loopback: true")
    assert request(daemon, "/api/v1/alarms")[0] == 200
    assert request(daemon, "/api/v1/alarms", host="evil.example")[0] == 421
    # Acting still needs a token.
    assert request(daemon, "/api/v1/alarms/1/ack", method="POST", body=b"{}")[0] == 401


def test_strict_json_bodies(workdir, cleanup):
    broker, sink, daemon = start(workdir, cleanup)
    operator = daemon.token("zhang")
    broker.publish("t/gt101", "40")
    alarm = wait_until(lambda: active_alarm(daemon, operator), 15, "the alarm")
    path = f"/api/v1/alarms/{alarm['id']}/ack"
    status, _, body = request(daemon, path, operator, method="POST", body=b'{"comment": "ok"} trailing')
    assert status == 400 and "after the JSON value" in json.loads(body)["error"], body
    status, _, body = request(daemon, path, operator, method="POST", body=b'{"comment": "ok"}{}')
    assert status == 400 and "after the JSON value" in json.loads(body)["error"], body
    status, _, body = request(daemon, path, operator, method="POST", body=b'{"comment": "\xff\xfe bad"}')
    assert status == 400 and "UTF-8" in json.loads(body)["error"], body
    status, _, body = request(daemon, "/api/v1/hazards", operator, method="POST", body=b'{"description": "\xc0\xaf"}')
    assert status in (400, 404, 405) and (status != 400 or "UTF-8" in json.loads(body)["error"]), body
    # Nothing of those was stored: the alarm is still unacknowledged; a clean body acknowledges.
    assert not active_alarm(daemon, operator)["acked"]
    status, _, body = request(daemon, path, operator, method="POST", body=b'{"comment": "\xe5\xb7\xb2\xe7\xa1\xae\xe8\xae\xa4"} \r\n')
    assert status == 200 and json.loads(body)["ack_comment"] == "已确认", body


def active_alarm(daemon, token):
    alarms = json.loads(request(daemon, "/api/v1/alarms?state=all", token)[2])["alarms"]
    return next((a for a in alarms if a["rule"] == "R1" and a["state"] != "NORMAL"), None)


def test_tls_listener(workdir, cleanup):
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    broker = start_broker(workdir, cleanup)
    config = CONFIG.replace("{extra}", f", tls_cert: {cert}, tls_key: {key}").format(mqtt_port=broker.port, hook_port=9)
    daemon = start_daemon(workdir, cleanup, config)
    assert re.search(r"listening on https://", daemon.read_log())
    ctx = ssl.create_default_context(cafile=cert)
    viewer = daemon.token("vera")
    status, _, body = request(daemon, "/api/v1/points", viewer, scheme="https", context=ctx)
    assert status == 200 and json.loads(body)["points"][0]["id"] == "GT101", body
    assert request(daemon, "/api/v1/points", scheme="https", context=ctx)[0] == 401
    # Nothing is answered in clear text on the TLS port.
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        try:
            assert not s.recv(100).startswith(b"HTTP/1.1 200")
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(run_tests([test_reads_need_a_token_and_a_known_host, test_reads_opened_on_loopback, test_strict_json_bodies,
               test_tls_listener, test_connect_flood, test_idle_request_flood, test_out_of_descriptors_pauses_accepting]))
