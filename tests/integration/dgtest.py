"""Shared helpers for integration tests: real peers on loopback (mosquitto, webhook receiver),
the real daemon, condition waits with deadlines, and a tiny test runner whose last line is
'N passed, N failed'."""
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

SOURCE_DIR = os.environ.get("DG_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD_DIR = os.environ.get("DG_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tools"))
from webhook_sink import Sink  # noqa: E402

DAEMON = os.path.join(BUILD_DIR, "dualguardd")
PLANTSIM = os.path.join(BUILD_DIR, "plantsim")
DASHBOARD_DIR = os.path.join(SOURCE_DIR, "dashboards")
SKIPPED = 77  # exit status ctest reports as "Skipped" (SKIP_RETURN_CODE), never as a pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=20.0, what="condition", interval=0.05):
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # a peer not ready yet
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_exc})" if last_exc else ""))


def wait_listening(port, timeout=20.0, what=None):
    """Until something accepts TCP connections on 127.0.0.1:port."""
    wait_until(lambda: socket.create_connection(("127.0.0.1", port), timeout=0.5).close() or True,
               timeout, what or f"a listener on port {port}")


def write_file(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def write_config(workdir, text, name="plant.yaml"):
    """Writes a configuration file into workdir; returns its path."""
    return write_file(os.path.join(workdir, name), text)


def example_text(name):
    """The text of a file under examples/ in the source tree."""
    with open(os.path.join(SOURCE_DIR, "examples", name), encoding="utf-8") as f:
        return f.read()


def check_config(path, timeout=20):
    """`dualguardd -c path --check-config`, run to completion (CompletedProcess, text output)."""
    return subprocess.run([DAEMON, "-c", path, "--check-config"], capture_output=True, text=True, timeout=timeout)


def start_process(workdir, cleanup, args, log_name):
    """A peer process logging to workdir/log_name, killed by cleanup if still running."""
    log = open(os.path.join(workdir, log_name), "w")
    cleanup.append(log.close)
    proc = subprocess.Popen(args, stdout=log, stderr=log)
    cleanup.append(lambda: proc.poll() is None and (proc.kill(), proc.wait(10)))
    return proc


class Mosquitto:
    """A broker on loopback. `listener` replaces the default anonymous listener lines; it is a
    str.format template with {port}."""
    def __init__(self, workdir, port=None, listener=None):
        self.port = port or free_port()
        self.conf = os.path.join(workdir, f"mosquitto-{self.port}.conf")
        listener = (listener or "listener {port} 127.0.0.1\nallow_anonymous true\n").format(port=self.port)
        with open(self.conf, "w") as f:
            f.write(listener + "persistence false\n"
                    "max_queued_messages 200000\nmax_inflight_messages 100\nset_tcp_nodelay true\n")
        self.log = open(os.path.join(workdir, f"mosquitto-{self.port}.log"), "w")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", self.conf], stdout=self.log, stderr=self.log)
        wait_listening(self.port, 10, "mosquitto to listen")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def publish(self, topic, payload, qos=1, retain=False):
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-q", str(qos), "-t", topic,
                        "-m", payload] + (["-r"] if retain else []), check=True, timeout=10)


READER = "dgtest-reader"


def reader_person(config_path):
    """Whose token the helpers read the API with (reads need one): the config's first person, or
    a viewer added to a config without persons."""
    with open(config_path, encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"^persons:[^\n]*\n((?:[ \t].*\n?)*)", text, re.M)
    first = block and re.search(r"\bid:\s*\"?([\w.-]+)", block.group(0))
    if first:
        return first.group(1)
    with open(config_path, "a", encoding="utf-8") as f:
        f.write(f"\npersons:\n  - {{ id: {READER}, roles: [viewer] }}\n")
    return READER


class Daemon:
    def __init__(self, workdir, config_path, db_path, env=None, extra_args=(), wrapper=()):
        self.workdir = workdir
        self.config_path = config_path
        self.db_path = db_path
        self.env = dict(os.environ, **(env or {}))
        self.extra_args = list(extra_args)
        self.wrapper = list(wrapper)  # e.g. ("prlimit", "--nofile=256")
        self.reader = None
        self.proc = None
        self.port = None
        self.log_path = None
        self.runs = 0

    def start(self, wait_ready=True):
        self.runs += 1
        self.log_path = os.path.join(self.workdir, f"daemon-{self.runs}.log")
        self.log = open(self.log_path, "w")
        # DG_DAEMON_WRAPPER runs the daemon under a tool, e.g. "valgrind --error-exitcode=99".
        wrapper = self.wrapper + os.environ.get("DG_DAEMON_WRAPPER", "").split()
        self.reader = self.reader or reader_person(self.config_path)
        # A build-tree binary's default dashboard is the installed one: give the source tree's.
        args = wrapper + [DAEMON, "-c", self.config_path, "--db", self.db_path, "--http-port", "0", "--log-level", "debug",
                          "--dashboard", DASHBOARD_DIR]
        self.proc = subprocess.Popen(args + self.extra_args, stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        if wait_ready:
            m = wait_until(lambda: re.search(r"listening on https?://[\d.]+:(\d+)", self.read_log()), 20,
                           "the daemon to listen")
            self.port = int(m.group(1))
            wait_until(lambda: "ready" in self.read_log(), 10, "the daemon to be ready")
        return self

    def token(self, person):
        """A bearer token for a configured person, issued by the real CLI (kept per person)."""
        self.tokens = getattr(self, "tokens", {})
        if person not in self.tokens:
            r = subprocess.run([DAEMON, "-c", self.config_path, "--db", self.db_path, "--create-token", person,
                                "--log-level", "error"], capture_output=True, text=True, timeout=30)
            assert r.returncode == 0, r.stderr
            self.tokens[person] = r.stdout.strip()
        return self.tokens[person]

    def read_log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def read_headers(self):
        """The Authorization header reads send: the reader's token."""
        return {"Authorization": "Bearer " + self.token(self.reader)}

    def get(self, path):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=self.read_headers())
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read().decode("utf-8"))

    def request(self, method, path, body=None, token=None, actor=None, ctype="application/json", timeout=20):
        """One HTTP request; body is bytes, None or JSON-encoded. Authenticated with `token`, or with
        `actor`'s token; a GET or HEAD without either reads as the reader (token="" sends none).
        Returns (status, content type, raw body) for every status."""
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": ctype} if ctype else {}
        if actor:
            token = self.token(actor)
        if token is None and method in ("GET", "HEAD"):
            token = self.token(self.reader)
        if token:
            headers["Authorization"] = "Bearer " + token
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.headers.get("Content-Type"), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read()

    def call(self, method, path, body=None, token=None, actor=None):
        """request() with a JSON answer: (status, decoded body or None)."""
        status, _, raw = self.request(method, path, body, token=token, actor=actor)
        return status, json.loads(raw.decode("utf-8") or "null")

    def post(self, path, body, token=None, actor=None):
        return self.call("POST", path, body, token=token, actor=actor)

    def points(self):
        """The points by id, as /api/v1/points reports them."""
        return {p["id"]: p for p in self.get("/api/v1/points")[1]["points"]}

    def drivers(self):
        return self.get("/api/v1/drivers")[1]["drivers"]

    def get_status(self, path):
        try:
            return self.get(path)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read().decode("utf-8") or "null")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout)
        return self.proc.returncode if self.proc else None

    def alarm(self, rule):
        _, body = self.get("/api/v1/alarms?state=all")
        return next(a for a in body["alarms"] if a["rule"] == rule)


class Publisher:
    """Publishes payload(i) for i = 0, 1, ... to one topic without pause, through one
    mosquitto_pub -l, until stopped: history writes going on while something else happens."""

    def __init__(self, port, topic, payload):
        self.proc = subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "0", "-t", topic, "-l"],
                                     stdin=subprocess.PIPE, text=True)
        self.payload = payload
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        i = 0
        while not self.stopping:
            try:
                self.proc.stdin.write(self.payload(i) + "\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                return
            i += 1
            time.sleep(0.002)

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.terminate()
            self.proc.wait(10)


def wait_connected(daemon, timeout=15):
    """Until the daemon's first MQTT broker connection is up and its subscriptions acknowledged
    (a message published before that is not delivered to the daemon)."""
    wait_until(lambda: daemon.drivers()[0]["subscribed"], timeout, "MQTT connected and subscribed")


def start_broker(workdir, cleanup, listener=None):
    """A started Mosquitto (see Mosquitto for `listener`), stopped by cleanup."""
    broker = Mosquitto(workdir, listener=listener).start()
    cleanup.append(broker.stop)
    return broker


def start_sink(cleanup, port=0):
    """A started webhook sink, stopped by cleanup."""
    sink = Sink(port=port).start()
    cleanup.append(sink.stop)
    return sink


def start_daemon(workdir, cleanup, config=None, config_path=None, db="dg.db", start=True, connected=False,
                 extra_args=(), env=None, wrapper=()):
    """The daemon on `config` (YAML text, written to workdir/plant.yaml) or on the file config_path,
    with its database workdir/db; killed by cleanup. With start it is started (and with connected,
    also connected to its first MQTT broker)."""
    if config_path is None:
        config_path = write_config(workdir, config)
    daemon = Daemon(workdir, config_path, os.path.join(workdir, db), env=env, extra_args=extra_args, wrapper=wrapper)
    cleanup.append(lambda: daemon.stop(signal.SIGKILL))
    if start:
        daemon.start()
        if connected:
            wait_connected(daemon)
    return daemon


def start_plant(workdir, cleanup, template, extra_args=(), start=True, hook_port=0, wrapper=()):
    """Mosquitto, a webhook sink (on hook_port, 0 for any) and the daemon on `template` (a
    str.format template with {mqtt_port} and {hook_port}) in workdir, each stopped by cleanup. With
    start, the daemon is started and connected to the broker. Returns (broker, sink, daemon)."""
    broker = start_broker(workdir, cleanup)
    sink = start_sink(cleanup, hook_port)
    daemon = start_daemon(workdir, cleanup, template.format(mqtt_port=broker.port, hook_port=sink.port),
                          start=start, connected=True, extra_args=extra_args, wrapper=wrapper)
    return broker, sink, daemon


def connect_db(db_path, readonly=True, timeout=5):
    """A connection to the daemon's database with the history database beside it attached, as
    the daemon's reader has it: `samples`, `sample_blocks` and `point_ids` name its tables."""
    mode = "?mode=ro" if readonly else ""
    con = sqlite3.connect(f"file:{db_path}{mode}", uri=True, timeout=timeout)
    if os.path.exists(db_path + "-history"):
        con.execute("ATTACH DATABASE ? AS history", (f"file:{db_path}-history{mode}",))
    return con


def db_rows(db_path, sql, args=()):
    con = connect_db(db_path)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute(sql, args)]
    finally:
        con.close()


def run_tests(tests):
    """Runs each test function with a fresh temp dir; prints a closing 'N passed, N failed'."""
    passed = failed = 0
    for test in tests:
        workdir = tempfile.mkdtemp(prefix=f"dg-{test.__name__}-")
        cleanup = []
        print(f"[ RUN  ] {test.__name__}", flush=True)
        try:
            test(workdir, cleanup)
            passed += 1
            print(f"[  OK  ] {test.__name__}", flush=True)
        except Exception:
            failed += 1
            traceback.print_exc()
            for name in sorted(os.listdir(workdir)):
                if name.endswith(".log"):
                    with open(os.path.join(workdir, name), errors="replace") as f:
                        print(f"---- {name} (tail) ----\n" + "".join(f.readlines()[-60:]))
            print(f"[ FAIL ] {test.__name__}", flush=True)
        finally:
            for fn in reversed(cleanup):
                try:
                    fn()
                except Exception:
                    traceback.print_exc()
            if not failed:
                shutil.rmtree(workdir, ignore_errors=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    if failed:  # the exit status is what ctest judges, also for a caller that ignores the return value
        sys.exit(1)
    return 0
