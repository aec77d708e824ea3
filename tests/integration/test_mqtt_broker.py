#!/usr/bin/python3
"""MQTT broker features against a real mosquitto: username/password, TLS with a test CA and a
client certificate, and a persistent session (clean_session false, QoS 1) whose messages
published while the daemon was stopped are processed after it restarts."""
import os
import re
import subprocess
import sys

from dgtest import Mosquitto, check_config, db_rows, run_tests, start_broker, start_daemon, wait_until, write_config

BASE = """
site: {{ code: "410700-0004", name: 测试化工 }}
daemon: {{ history_flush: 100ms }}
mqtt:
{brokers}
points:
{points}
"""


def readable_by_broker(*paths):
    """mosquitto started as root reads its files as the 'mosquitto' user after dropping root."""
    for path in paths:
        os.chmod(path, 0o755 if os.path.isdir(path) else 0o644)


def plant_config(workdir, brokers, points):
    return write_config(workdir, BASE.format(brokers="\n".join(brokers), points="\n".join(points)))


def drivers(daemon):
    return {d["id"]: d for d in daemon.drivers()}


def point(daemon, pid):
    return daemon.points()[pid]


def run(args):
    subprocess.run(args, check=True, timeout=30, capture_output=True)


def test_username_password(workdir, cleanup):
    pwfile = os.path.join(workdir, "passwd")
    run(["mosquitto_passwd", "-c", "-b", pwfile, "dualguard", "s3cret-Pa55"])
    readable_by_broker(workdir, pwfile)
    broker = start_broker(workdir, cleanup, f"listener {{port}} 127.0.0.1\nallow_anonymous false\npassword_file {pwfile}\n")
    cfg = plant_config(workdir, [
        f'  - {{ id: good, uri: "tcp://127.0.0.1:{broker.port}", client_id: dg-pw-good-{broker.port}, '
        'username: dualguard, password: "s3cret-Pa55" }',
        f'  - {{ id: bad, uri: "tcp://127.0.0.1:{broker.port}", client_id: dg-pw-bad-{broker.port}, '
        'username: dualguard, password: wrong }',
    ], ["  - { id: PT1, driver: mqtt.good, topic: t/pt1 }", "  - { id: PT2, driver: mqtt.bad, topic: t/pt2 }"])
    daemon = start_daemon(workdir, cleanup, config_path=cfg)
    wait_until(lambda: drivers(daemon)["good"]["connected"], 15, "the broker with the right password")
    wait_until(lambda: (broker.publish_auth("t/pt1", "4.5"), point(daemon, "PT1")["value"] == 4.5)[1], 15,
               "PT1 delivered over the authenticated session", interval=0.3)
    assert not drivers(daemon)["bad"]["connected"]
    # CONNACK 5: not authorised.
    wait_until(lambda: re.search(r"bad: cannot connect .*code 5", daemon.read_log()), 10, "the refused login logged")
    assert point(daemon, "PT2")["quality"] != "good"
    assert daemon.stop() == 0


def make_pki(workdir):
    """A test CA, a server certificate for 127.0.0.1 and a client certificate, plus an unrelated CA."""
    d = os.path.join(workdir, "pki")
    os.makedirs(d)
    p = lambda name: os.path.join(d, name)  # noqa: E731
    for ca in ("ca", "other-ca"):
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=dualguard test {ca}",
             "-keyout", p(f"{ca}.key"), "-out", p(f"{ca}.crt")])
    with open(p("server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    for name, ext in (("server", ["-extfile", p("server.ext")]), ("client", [])):
        run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=dualguard test {name}",
             "-keyout", p(f"{name}.key"), "-out", p(f"{name}.csr")])
        run(["openssl", "x509", "-req", "-in", p(f"{name}.csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"),
             "-CAcreateserial", "-days", "2", "-out", p(f"{name}.crt")] + ext)
    readable_by_broker(workdir, d, *(os.path.join(d, f) for f in os.listdir(d)))
    return p


def test_tls_with_test_ca_and_client_certificate(workdir, cleanup):
    p = make_pki(workdir)
    broker = start_broker(workdir, cleanup, f"listener {{port}} 127.0.0.1\nallow_anonymous true\ncafile {p('ca.crt')}\n"
                          f"certfile {p('server.crt')}\nkeyfile {p('server.key')}\nrequire_certificate true\n")
    uri = f"ssl://127.0.0.1:{broker.port}"
    client = f"cert_file: {p('client.crt')}, key_file: {p('client.key')}"
    cfg = plant_config(workdir, [
        f'  - {{ id: good, uri: "{uri}", client_id: dg-tls-good, ca_file: {p("ca.crt")}, {client}, insecure: false }}',
        f'  - {{ id: nocert, uri: "{uri}", client_id: dg-tls-nocert, ca_file: {p("ca.crt")} }}',
        f'  - {{ id: wrongca, uri: "{uri}", client_id: dg-tls-wrongca, ca_file: {p("other-ca.crt")}, {client} }}',
    ], ["  - { id: TLS1, driver: mqtt.good, topic: t/tls1 }", "  - { id: TLS2, driver: mqtt.nocert, topic: t/tls2 }",
        "  - { id: TLS3, driver: mqtt.wrongca, topic: t/tls3 }"])
    daemon = start_daemon(workdir, cleanup, config_path=cfg)
    wait_until(lambda: drivers(daemon)["good"]["connected"], 15, "the TLS connection with the test CA")
    pub = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "--cafile", p("ca.crt"), "--cert", p("client.crt"),
           "--key", p("client.key"), "-q", "1", "-t", "t/tls1", "-m", "7.25"]
    wait_until(lambda: (run(pub), point(daemon, "TLS1")["value"] == 7.25)[1], 15, "TLS1 delivered over TLS", interval=0.3)
    wait_until(lambda: "TLS" in daemon.read_log(), 10, "the TLS failures to be logged")
    d = drivers(daemon)
    assert not d["nocert"]["connected"] and not d["wrongca"]["connected"], d
    assert daemon.stop() == 0


def test_qos1_messages_published_while_stopped_are_processed_after_restart(workdir, cleanup):
    broker = start_broker(workdir, cleanup)
    cfg = plant_config(workdir, [
        f'  - {{ id: main, uri: "tcp://127.0.0.1:{broker.port}", client_id: dg-persist-{broker.port}, qos: 1, '
        'clean_session: false }'], ["  - { id: LT1, driver: mqtt.main, topic: t/lt1 }"])
    daemon = start_daemon(workdir, cleanup, config_path=cfg)
    # A first message proves the subscription exists in the broker's session.
    wait_until(lambda: (broker.publish("t/lt1", "1"), point(daemon, "LT1")["value"] == 1)[1], 15,
               "the first message", interval=0.3)
    assert daemon.stop() == 0
    for v in ("11", "12", "13"):
        broker.publish("t/lt1", v, qos=1)
    daemon.start()
    wait_until(lambda: point(daemon, "LT1")["value"] == 13, 15, "the queued messages after the restart")
    assert daemon.stop() == 0
    values = [r["value"] for r in db_rows(daemon.db_path, "SELECT value FROM samples WHERE point = 'LT1' ORDER BY rowid")]
    assert values[-3:] == [11, 12, 13], values


def test_tls_keys_are_checked_at_load(workdir, cleanup):
    ca = os.path.join(workdir, "ca.pem")
    with open(ca, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\n")
    cases = [
        ('uri: "tcp://127.0.0.1:1883", ca_file: ' + ca, "key 'ca_file' needs a TLS uri"),
        ('uri: "ssl://127.0.0.1:8883", ca_file: /nonexistent/ca.pem', "cannot read '/nonexistent/ca.pem'"),
        ('uri: "ssl://127.0.0.1:8883", cert_file: ' + ca, "cert_file and key_file go together"),
        ('uri: "ssl://127.0.0.1:8883", ca_file: ' + ca + ", insecure: true", None),
    ]
    for broker, error in cases:
        cfg = plant_config(workdir, [f"  - {{ id: b1, {broker} }}"], ["  - { id: P1, driver: mqtt.b1, topic: t/p1 }"])
        r = check_config(cfg)
        if error is None:
            assert r.returncode == 0, r.stderr
        else:
            assert r.returncode == 1 and error in r.stderr and "plant.yaml:5:" in r.stderr, (broker, r.stderr)


def publish_auth(self, topic, payload):
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-u", "dualguard", "-P", "s3cret-Pa55",
                    "-q", "1", "-t", topic, "-m", payload], check=True, timeout=10)


Mosquitto.publish_auth = publish_auth

if __name__ == "__main__":
    sys.exit(run_tests([test_username_password, test_tls_with_test_ca_and_client_certificate,
                        test_qos1_messages_published_while_stopped_are_processed_after_restart,
                        test_tls_keys_are_checked_at_load]))
