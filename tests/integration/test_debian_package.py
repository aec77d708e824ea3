#!/usr/bin/python3
"""The Debian package as a plant's administrator meets it: cpack builds it from this build tree,
lintian finds no error, dpkg installs it, the installed daemon runs as the dualguard user on the
installed configuration (edited as the README says), serves the dashboard and the API, an admin
creates a token and takes an online backup while samples are written, and dpkg -r leaves only
the state directory and the conffile. Needs root (dpkg); skipped otherwise, and in sanitizer
builds (packaging them is pointless)."""
import glob
import grp
import json
import os
import pwd
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import urllib.error
import urllib.request

from dgtest import BUILD_DIR, SKIPPED, Publisher, connect_db, free_port, run_tests, start_broker, start_sink, wait_until

PKG = "dualguard"
SBIN = "/usr/sbin/dualguardd"
CONFIG = "/etc/dualguard/dualguard.yaml"
SECRETS = "/etc/dualguard/secrets"
STATE = "/var/lib/dualguard"
UNIT = "/lib/systemd/system/dualguardd.service"


def cache_value(name):
    with open(os.path.join(BUILD_DIR, "CMakeCache.txt"), encoding="utf-8") as f:
        m = re.search(rf"^{name}:[A-Z]+=(.*)$", f.read(), re.M)
    return m.group(1) if m else ""


def skip_reason():
    if os.geteuid() != 0:
        return "needs root to install the package with dpkg"
    if cache_value("DG_SANITIZE") == "ON" or cache_value("DG_FUZZ") == "ON":
        return "a sanitizer build is not packaged; the plain build runs this test"
    if cache_value("CMAKE_INSTALL_PREFIX") != "/usr":
        return f"configured with CMAKE_INSTALL_PREFIX={cache_value('CMAKE_INSTALL_PREFIX')}; the package is built from a /usr tree"
    for tool in ("cpack", "lintian", "dpkg"):
        if not shutil.which(tool):
            return f"{tool} is not installed (scripts/install-deps.sh)"
    return None


def run(args, timeout=300, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    assert r.returncode == 0, f"{args}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


def installed():
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", PKG], capture_output=True, text=True)
    return "installed" in r.stdout and "not-installed" not in r.stdout


def build_package(workdir):
    out = os.path.join(workdir, "pkg")
    run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD_DIR, "CPackConfig.cmake"), "-B", out], timeout=600)
    debs = glob.glob(os.path.join(out, "*.deb"))
    assert len(debs) == 1, debs
    return debs[0]


def no_root_files(path):
    owned = [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs if os.lstat(os.path.join(d, f)).st_uid == 0]
    assert not owned, f"root-owned files in {path}: {owned}"


def edit_config(mqtt_port, http_port, hook_port):
    """What an administrator does: broker address, its password in a secret file, the webhook."""
    with open(CONFIG, encoding="utf-8") as f:
        text = f.read()
    text = text.replace("tcp://127.0.0.1:1883", f"tcp://127.0.0.1:{mqtt_port}")
    text = text.replace("port: 8080", f"port: {http_port}")
    text = text.replace("http://127.0.0.1:8090/hook", f"http://127.0.0.1:{hook_port}/hook")
    text = text.replace("    # username: dualguard\n    # password_file:", "    username: dualguard\n    password_file:")
    assert "password_file: /etc/dualguard/secrets/mqtt-plant" in text and "# password_file" not in text, text
    with open(CONFIG, "w", encoding="utf-8") as f:
        f.write(text)
    secret = os.path.join(SECRETS, "mqtt-plant")
    with open(secret, "w") as f:
        f.write("broker-password\n")
    os.chown(secret, 0, grp.getgrnam("dualguard").gr_gid)
    os.chmod(secret, 0o640)


def exec_start():
    """The unit's ExecStart command line."""
    with open(UNIT) as f:
        line = next(l for l in f if l.startswith("ExecStart="))
    return line[len("ExecStart="):].split()


class InstalledDaemon:
    """The installed daemon as the unit runs it: by systemd when it is PID 1, else as a plain
    process under the dualguard user with the unit's command line."""

    def __init__(self, workdir):
        self.systemd = os.path.isdir("/run/systemd/system")
        self.log_path = os.path.join(workdir, "daemon.log")
        self.proc = None

    def start(self):
        if self.systemd:
            run(["systemctl", "start", "dualguardd.service"], timeout=60)
            return
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(["setpriv", "--reuid=dualguard", "--regid=dualguard", "--init-groups", "--"] + exec_start() + ["--log-level", "debug"],
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd="/")

    def read_log(self):
        if self.systemd:
            return run(["journalctl", "-u", "dualguardd.service", "--no-pager", "-o", "cat"])
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.systemd:
            subprocess.run(["systemctl", "stop", "dualguardd.service"], timeout=60)
            return 0
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        return self.proc.returncode if self.proc else None


def http(port, path, data=None, token=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method="POST" if data else "GET")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def count_samples(db):
    con = connect_db(db, timeout=10)
    try:
        return con.execute("SELECT count(*) FROM samples").fetchone()[0]
    finally:
        con.close()


def test_debian_package(workdir, cleanup):
    assert not installed(), f"package {PKG} is already installed here: this test does not touch a real installation"
    for path in (STATE, "/etc/dualguard"):
        assert not os.path.exists(path), f"{path} exists (an earlier installation?): remove it to run this test"
    had_user = subprocess.run(["getent", "passwd", "dualguard"], capture_output=True).returncode == 0

    def clean_machine():
        if installed() or subprocess.run(["dpkg", "-s", PKG], capture_output=True).returncode == 0:
            subprocess.run(["dpkg", "--purge", PKG], capture_output=True, timeout=120)
        shutil.rmtree(STATE, ignore_errors=True)
        shutil.rmtree("/etc/dualguard", ignore_errors=True)
        if not had_user:
            subprocess.run(["userdel", "dualguard"], capture_output=True)
            subprocess.run(["groupdel", "dualguard"], capture_output=True)
    cleanup.append(clean_machine)

    deb = build_package(workdir)
    run(["lintian", "--allow-root", "--fail-on", "error", deb], timeout=300)
    run(["dpkg", "-i", deb], timeout=120)
    files = [l for l in run(["dpkg", "-L", PKG]).splitlines() if os.path.isfile(l)]

    # The installed layout, user and permissions.
    for path in (SBIN, "/usr/bin/dualguardctl", "/usr/share/doc/dualguard/openapi.yaml",
                 "/usr/share/dualguard/dashboards/index.html", "/usr/share/doc/dualguard/examples/demo-plant.yaml",
                 "/usr/share/doc/dualguard/copyright", "/usr/lib/sysusers.d/dualguard.conf",
                 "/usr/lib/tmpfiles.d/dualguard.conf", UNIT, CONFIG):
        assert path in files, (path, files)
    user = pwd.getpwnam("dualguard")
    gid = grp.getgrnam("dualguard").gr_gid
    for path, mode, uid in ((CONFIG, 0o640, 0), (SECRETS, 0o750, 0), ("/etc/dualguard", 0o750, 0),
                            (STATE, 0o750, user.pw_uid)):
        st = os.stat(path)
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (mode, uid, gid), (path, oct(st.st_mode), st.st_uid, st.st_gid)
    assert "/etc/dualguard/dualguard.yaml" in run(["dpkg-query", "-W", "-f=${Conffiles}", PKG])
    assert "OK" in run([SBIN, "--check-config"])  # the installed default configuration
    # --man=no: minimal images drop manual pages at unpack (dpkg path-exclude).
    run(["systemd-analyze", "verify", "--man=no", UNIT], timeout=60)

    broker = start_broker(workdir, cleanup)
    sink = start_sink(cleanup)
    port = free_port()
    edit_config(broker.port, port, sink.port)
    daemon = InstalledDaemon(workdir)
    cleanup.append(daemon.stop)
    daemon.start()
    wait_until(lambda: "ready" in daemon.read_log(), 30, "the installed daemon to be ready")
    log = daemon.read_log()
    assert "dashboard from /usr/share/dualguard/dashboards" in log and "dashboard not served" not in log, log
    status, page = http(port, "/")
    assert status == 200 and "<html" in page.lower(), (status, page[:200])
    status, body = http(port, "/api/v1/alarms")
    assert status == 401, (status, body)  # reads need a token too
    # The first admin's token, created by root as the README says: found the configured
    # database, worked as the dualguard user.
    token = run([SBIN, "--create-token", "admin", "--log-level", "error"], timeout=30).strip()
    assert re.fullmatch(r"[0-9a-f]{64}", token), token
    status, body = http(port, "/api/v1/alarms", token=token)
    assert status == 200 and '"alarms"' in body, (status, body)
    # The broker password came from its secret file, read by the dualguard user.
    wait_until(lambda: json.loads(http(port, "/api/v1/drivers", token=token)[1])["drivers"][0]["connected"], 20,
               "MQTT connected")

    status, _ = http(port, "/api/v1/alarms/999999/ack", data=b'{"comment":"x"}', token=token)
    assert status == 404, status  # authenticated (not 401), the alarm does not exist
    no_root_files(STATE)

    # An online backup while samples are being written.
    db = os.path.join(STATE, "dualguard.db")
    pub = Publisher(broker.port, "plant/gt101", lambda i: '{"value": %.2f}' % (3 + (i % 10) / 10))
    cleanup.append(pub.stop)
    wait_until(lambda: count_samples(db) > 200, 30, "samples to be written")
    backup = os.path.join(STATE, "backup-test.db")
    assert run([SBIN, "--backup", backup, "--log-level", "error"], timeout=120).strip() == backup
    before = count_samples(db)
    wait_until(lambda: count_samples(db) > before + 100, 30, "the daemon to go on writing after the backup")
    pub.stop()
    assert os.stat(backup).st_uid == user.pw_uid
    assert os.stat(backup + "-history").st_uid == user.pw_uid
    copy = os.path.join(workdir, "backup.db")
    shutil.copy(backup, copy)
    shutil.copy(backup + "-history", copy + "-history")
    con = connect_db(copy, readonly=False)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        n = con.execute("SELECT count(*) FROM samples").fetchone()[0]
        assert 0 < n <= before, (n, before)
        assert con.execute("SELECT count(*) FROM api_tokens WHERE person = 'admin'").fetchone()[0] == 1
    finally:
        con.close()
    assert daemon.stop() == 0
    no_root_files(STATE)

    # Installing the package again (the upgrade path of the maintainer scripts) keeps the
    # administrator's configuration and the database.
    with open(CONFIG, encoding="utf-8") as f:
        edited = f.read()
    run(["dpkg", "-i", deb], timeout=120, stdin=subprocess.DEVNULL)
    with open(CONFIG, encoding="utf-8") as f:
        assert f.read() == edited
    assert count_samples(db) >= before

    # Removal keeps the state directory and the conffile, nothing else of the package.
    run(["dpkg", "-r", PKG], timeout=120)
    left = [f for f in files if os.path.exists(f)]
    assert left == [CONFIG], left
    assert os.path.isfile(db) and os.path.isfile(backup)
    run(["dpkg", "--purge", PKG], timeout=120)
    assert not os.path.exists(CONFIG)
    assert os.path.isfile(db), "the database is kept even on purge"


if __name__ == "__main__":
    reason = skip_reason()
    if reason:
        print(f"SKIPPED: test_debian_package: {reason}", flush=True)
        sys.exit(SKIPPED)
    sys.exit(run_tests([test_debian_package]))
