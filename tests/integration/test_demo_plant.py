#!/usr/bin/python3
"""The bundled demo: plantsim plays examples/demo-scenario.yaml (sped up) into a real mosquitto;
the daemon on examples/demo-plant.yaml raises the GT101 alarm, registers the hazard and notifies
the webhook receiver and, tier 1 of the escalation, the operator; it returns to normal when the gas
falls back."""
import os
import re
import subprocess
import sys

from dgtest import (PLANTSIM, SOURCE_DIR, db_rows, example_text, run_tests, start_broker, start_daemon, start_sink, wait_until,
                    write_config)


def demo_config(workdir, mqtt_port, hook_port):
    text = example_text("demo-plant.yaml")
    text = text.replace("tcp://127.0.0.1:1883", f"tcp://127.0.0.1:{mqtt_port}")
    text = text.replace("http://127.0.0.1:8090/", f"http://127.0.0.1:{hook_port}/")
    text = re.sub(r"client_id: \S+", f"client_id: dg-demo-test-{mqtt_port}", text)
    return write_config(workdir, text, "demo-plant.yaml")


def test_demo_scenario_raises_and_clears_the_gas_alarm(workdir, cleanup):
    broker = start_broker(workdir, cleanup)
    sink = start_sink(cleanup)
    daemon = start_daemon(workdir, cleanup, config_path=demo_config(workdir, broker.port, sink.port), db="demo.db",
                          connected=True)

    # One pass of the 240 s scenario at 12x: GT101 is above 25 %LEL for ~7 s of real time.
    sim = subprocess.run([PLANTSIM, "--scenario", os.path.join(SOURCE_DIR, "examples", "demo-scenario.yaml"),
                          "--mqtt", f"tcp://127.0.0.1:{broker.port}", "--speed", "12", "--once"],
                         capture_output=True, text=True, timeout=120)
    assert sim.returncode == 0, sim.stderr

    alarm = wait_until(lambda: (a := daemon.alarm("R-GT101-H"))["state"] == "RTN_UNACK" and a, 15,
                       "GT101 alarm to return to normal")
    assert alarm["activations"] == 1 and alarm["priority"] == "high", alarm
    _, journal = daemon.get(f"/api/v1/alarms/{alarm['id']}/journal")
    assert [j["event"] for j in journal["journal"]] == ["clear", "activate"], journal

    # The other sensors stayed normal.
    _, alarms = daemon.get("/api/v1/alarms?state=all")
    others = [a for a in alarms["alarms"] if a["rule"] != "R-GT101-H"]
    assert others and all(a["state"] == "NORMAL" for a in others), others
    _, points = daemon.get("/api/v1/points")
    assert all(p["quality"] == "good" for p in points["points"]), points

    hazards = wait_until(lambda: db_rows(daemon.db_path, "SELECT * FROM hazards"), 10, "hazard committed")
    assert len(hazards) == 1 and hazards[0]["measure"] == "M01" and hazards[0]["danger_src"] == 9, hazards
    assert hazards[0]["unit"] == "U01" and hazards[0]["hazard_source"] == "HS01", hazards
    hook = lambda r: [e for e in r if e["path"] == "/hook"]
    got = hook(sink.wait_for(lambda r: [e["body"]["event"] for e in hook(r)] == ["activate", "clear"], 15))
    assert got[0]["body"]["alarm"]["rule"] == "R-GT101-H", got
    assert got[0]["body"]["hazard"]["code"] == hazards[0]["code"], got
    # Escalation, tier 1: the operator (zhang) with the gas value and a link that acknowledges.
    persons = sink.wait_for(lambda r: [e for e in r if e["path"] == "/persons"], 15)
    tier1 = [e["body"] for e in persons if e["path"] == "/persons"]
    assert [b["to"]["person"] for b in tier1] == ["zhang"] and tier1[0]["tier"] == 1, tier1
    assert "%LEL" in tier1[0]["text"] and "/ack?token=" in tier1[0]["link"], tier1
    history = db_rows(daemon.db_path, "SELECT COUNT(*) n, MAX(value) top FROM samples WHERE point = 'GT101'")[0]
    assert history["n"] > 50 and history["top"] > 30, history
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_demo_scenario_raises_and_clears_the_gas_alarm]))
