#!/usr/bin/python3
"""plantsim serves Modbus: scenarios played through plantsim's Modbus TCP server against the
daemon. device-silent: the silent unit's point goes comm_fault while the other unit stays good,
the unit answering exception 2 goes device_fault, and every point is good again at the end.
tailings-phreatic-rain on examples/tailings-dam.yaml: the phreatic line escalates through the
blue/yellow/orange/red stages, opens a hazard and returns to normal after the rain."""
import os
import sys

from dgtest import PLANTSIM, example_text, free_port, run_tests, start_daemon, start_process, wait_until, write_config

CONFIG = """
site: {{ code: "410700-0003", name: 测试化工 }}
modbus:
  - {{ id: gw1, transport: tcp, host: 127.0.0.1, port: {port}, poll_interval: 100ms,
      response_timeout: 250ms, fail_threshold: 2, reconnect_max: 500ms }}
points:
  - {{ id: GT301, eng_unit: "%LEL", driver: modbus.gw1, slave: 1, holding: 100, type: float32, order: ABCD }}
  - {{ id: GT302, eng_unit: "%LEL", driver: modbus.gw1, slave: 2, holding: 100, type: uint16, scale: 0.1 }}
"""


def scenario_copy(workdir, port):
    text = example_text("scenarios/device-silent.yaml")
    assert text.count("port: 15020") == 2
    return write_config(workdir, text.replace("port: 15020", f"port: {port}"), "device-silent.yaml")


def example_copy(workdir, name, replacements):
    text = example_text(name)
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return write_config(workdir, text, os.path.basename(name))


def qualities(daemon):
    return {pid: (p["quality"], p["value"]) for pid, p in daemon.points().items()}


def test_device_silent_then_exception_then_good(workdir, cleanup):
    port = free_port()
    # 150 s of scenario at x10: each phase lasts 3 s of real time.
    sim = start_process(workdir, cleanup, [PLANTSIM, "--scenario", scenario_copy(workdir, port), "--speed", "10", "--once"],
                        "plantsim.log")
    daemon = start_daemon(workdir, cleanup, CONFIG.format(port=port))

    q = wait_until(lambda: (q := qualities(daemon)) and all(v[0] == "good" for v in q.values()) and q, 10,
                   "both detectors good")
    assert 3 <= q["GT301"][1] <= 5 and 1.6 <= q["GT302"][1] <= 2.4, q

    q = wait_until(lambda: (q := qualities(daemon))["GT302"][0] == "comm_fault" and q, 10,
                   "the silent unit's point comm_fault")
    assert q["GT301"][0] == "good", q   # one dead device does not take its neighbour down

    q = wait_until(lambda: (q := qualities(daemon))["GT301"][0] == "device_fault" and q, 15,
                   "unit 1 answering exception 2")
    assert q["GT302"][0] == "good", q
    _, drivers = daemon.get("/api/v1/drivers")
    bus = drivers["drivers"][0]
    assert bus["exception_codes"].get("2", 0) > 0 and bus["timeouts"] > 0, bus

    wait_until(lambda: all(v[0] == "good" for v in qualities(daemon).values()), 15, "every point good again")
    assert sim.wait(30) == 0
    assert daemon.stop() == 0


def test_tailings_rain_escalates_phreatic_line_to_red(workdir, cleanup):
    port = free_port()
    scenario = example_copy(workdir, "scenarios/tailings-phreatic-rain.yaml", [("port: 15021", f"port: {port}")])
    # The daemon's delays run on real time while the scenario runs 60x faster.
    cfg = example_copy(workdir, "tailings-dam.yaml", [("port: 15021", f"port: {port}"),
                                                      ("poll_interval: 2s", "poll_interval: 100ms"),
                                                      ("on_delay: 10s", "on_delay: 100ms")])
    sim = start_process(workdir, cleanup, [PLANTSIM, "--scenario", scenario, "--speed", "60", "--once"], "plantsim.log")
    daemon = start_daemon(workdir, cleanup, config_path=cfg)

    red = wait_until(lambda: (a := daemon.alarm("R-PZ01-H"))["stage"] == "red" and a, 20,
                     "the phreatic line alarm at the red stage")
    assert red["priority"] == "critical" and red["value"] >= 186.3, red
    wait_until(lambda: daemon.alarm("R-PZ01-H")["state"] == "RTN_UNACK", 20, "the phreatic line back to normal")
    assert sim.wait(30) == 0
    _, journal = daemon.get(f"/api/v1/alarms/{red['id']}/journal?limit=50")
    stages = [j["stage"] for j in reversed(journal["journal"]) if j["event"] != "clear"]
    assert stages[:4] == ["blue", "yellow", "orange", "red"], journal
    pond = daemon.alarm("R-WL01-H")
    assert pond["activations"] >= 1, pond
    _, hazards = daemon.get("/api/v1/hazards")
    phreatic = [h for h in hazards["hazards"] if h["measure"] == "M-PHREATIC"]
    assert len(phreatic) == 1 and phreatic[0]["danger_level"] == 1, hazards
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_device_silent_then_exception_then_good,
                        test_tailings_rain_escalates_phreatic_line_to_red]))
