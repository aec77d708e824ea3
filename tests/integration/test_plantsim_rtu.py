#!/usr/bin/python3
"""plantsim serves Modbus RTU on a pty it creates itself (no socat): the scenario's `rtu: { link }`
symlinks the pty's slave side, the daemon's RTU bus opens that link and reads the scaled values;
a unit going silent on the line turns its point comm_fault, and it recovers."""
import os
import signal
import sys

from dgtest import PLANTSIM, run_tests, start_daemon, start_process, wait_until, write_config

SCENARIO = """
duration: 1h
signals:
  - modbus: {{ rtu: {{ link: "{link}" }}, unit: 3, holding: 10, type: float32 }}
    period: 500ms
    profile:
      - {{ at: 0s,  kind: const, value: 4.5 }}
      - {{ at: 30s, kind: silent }}
      - {{ at: 70s, kind: const, value: 6.25 }}
"""

CONFIG = """
site: {{ code: "410700-0006", name: 测试化工 }}
modbus:
  - {{ id: line1, transport: rtu, device: "{link}", baud: 19200, poll_interval: 100ms,
      response_timeout: 200ms, fail_threshold: 2, reconnect_max: 500ms }}
points:
  - {{ id: GT401, eng_unit: "%LEL", driver: modbus.line1, slave: 3, holding: 10, type: float32 }}
"""


def point(daemon):
    return daemon.points()["GT401"]


def test_daemon_reads_rtu_on_plantsim_pty(workdir, cleanup):
    link = os.path.join(workdir, "ttyPLANT0")
    scenario = write_config(workdir, SCENARIO.format(link=link), "rtu.yaml")
    sim = start_process(workdir, cleanup, [PLANTSIM, "--scenario", scenario, "--speed", "10"], "plantsim.log")
    wait_until(lambda: os.path.islink(link) and os.path.exists(link), 10, "the pty link")

    daemon = start_daemon(workdir, cleanup, CONFIG.format(link=link))

    wait_until(lambda: point(daemon)["quality"] == "good" and point(daemon)["value"] == 4.5, 10, "4.5 over RTU")
    wait_until(lambda: point(daemon)["quality"] == "comm_fault", 15, "the silent unit")
    wait_until(lambda: point(daemon)["quality"] == "good" and point(daemon)["value"] == 6.25, 15, "6.25 again")
    bus = daemon.get("/api/v1/drivers")[1]["drivers"][0]
    assert bus["timeouts"] > 0, bus
    assert daemon.stop() == 0
    sim.send_signal(signal.SIGTERM)
    assert sim.wait(10) == 0
    assert not os.path.lexists(link), "plantsim removes its link on exit"


if __name__ == "__main__":
    sys.exit(run_tests([test_daemon_reads_rtu_on_plantsim_pty]))
