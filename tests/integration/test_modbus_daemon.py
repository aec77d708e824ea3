#!/usr/bin/python3
"""Modbus end to end through the daemon: a pymodbus TCP server (nobody here wrote it) serves a
float32 CDAB with scale, an int16 and a coil; the daemon polls them, shows values, quality and
bus statistics in the API, raises the high alarm and its hazard when the register is written
above the limit, and marks every point comm_fault when the server dies."""
import os
import re
import signal
import struct
import subprocess
import sys

from pymodbus.client import ModbusTcpClient

from dgtest import free_port, run_tests, start_daemon, wait_listening, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIG = """
site: {{ code: "410700-0002", name: 测试化工 }}
daemon: {{ history_flush: 200ms }}
persons:
  - {{ id: wang, name: 王工, roles: [workshop_director] }}
hazard_sources:
  - id: HS01
    name: 甲醇储罐区
    units:
      - id: U01
        name: 1#甲醇储罐
        responsible: {{ dept: 储运车间, person: wang }}
        events:
          - id: E01
            name: 甲醇泄漏火灾
            ls: {{ l: 3, s: 4 }}
            measures:
              - {{ id: M01, desc: 可燃气体检测报警器有效投用, classify: "1-4", data_src: 1 }}
modbus:
  - {{ id: plc1, transport: tcp, host: 127.0.0.1, port: {port}, poll_interval: 100ms,
      response_timeout: 300ms, fail_threshold: 2, reconnect_max: 1s }}
points:
  - {{ id: GT201, name: 甲醇气体检测器, unit_id: U01, eng_unit: "%LEL", driver: modbus.plc1,
      holding: 0, type: float32, order: CDAB, scale: 10 }}
  - {{ id: TT201, name: 罐温, eng_unit: "°C", driver: modbus.plc1, holding: 2, type: int16 }}
  - {{ id: PT201, name: 罐压, eng_unit: MPa, driver: modbus.plc1, holding: 3, type: float32 }}
  - {{ id: XV201, name: 紧急切断阀开, driver: modbus.plc1, coil: 0 }}
rules:
  - id: R-GT201-H
    type: high
    point: GT201
    measure: M01
    stages: [ {{ name: H, limit: 25, priority: high }} ]
    deadband: 1
"""


def float32_cdab(value):
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return [lo, hi]


class ModbusServer:
    def __init__(self, workdir, port, registers):
        self.port = port
        self.args = ["/usr/bin/python3", os.path.join(HERE, "modbus_server.py"), str(port),
                     ",".join(str(r) for r in registers)]
        self.log = open(os.path.join(workdir, "pymodbus.log"), "w")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=self.log)
        wait_listening(self.port, 20, "pymodbus to listen")
        return self

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def write_holding(self, address, values):
        client = ModbusTcpClient("127.0.0.1", port=self.port, timeout=3)
        try:
            assert client.connect(), "Modbus client could not connect"
            rr = client.write_registers(address, values, slave=1)
            assert not rr.isError(), rr
        finally:
            client.close()


def test_modbus_values_alarm_and_comm_fault(workdir, cleanup):
    port = free_port()
    # GT201 raw 1.5 * scale 10 = 15 %LEL; TT201 = -7 (0xFFF9); PT201 float32 1.2 (ABCD).
    server = ModbusServer(workdir, port, float32_cdab(1.5) + [0xFFF9] + float32_cdab(1.2)[::-1]).start()
    cleanup.append(server.kill)
    daemon = start_daemon(workdir, cleanup, CONFIG.format(port=port))

    pts = wait_until(lambda: (p := daemon.points()) and all(x["quality"] == "good" for x in p.values()) and p,
                     15, "every Modbus point good")
    assert abs(pts["GT201"]["value"] - 15.0) < 1e-9, pts["GT201"]
    assert pts["TT201"]["value"] == -7, pts["TT201"]
    assert pts["XV201"]["value"] == 1, pts["XV201"]
    # A float32 shows the decimal it stands for, not 1.2000000476837158.
    text = daemon.request("GET", "/api/v1/points")[2].decode()
    assert re.search(r'"id":"PT201"[^}]*"value":1\.2[,}]', text), text
    assert all(p["driver"] == "modbus" and p["driver_id"] == "plc1" for p in pts.values()), pts

    _, drivers = daemon.get("/api/v1/drivers")
    bus = next(d for d in drivers["drivers"] if d["kind"] == "modbus")
    assert bus["id"] == "plc1" and bus["transport"] == "tcp" and bus["connected"], bus
    assert bus["requests"] >= 2 and bus["errors"] == 0 and bus["connects"] == 1, bus
    assert bus["last_rtt_us"] > 0 and bus["slaves_down"] == 0, bus
    assert daemon.alarm("R-GT201-H")["state"] == "NORMAL"

    server.write_holding(0, float32_cdab(3.2))   # 32 %LEL, above the 25 limit
    alarm = wait_until(lambda: (a := daemon.alarm("R-GT201-H"))["state"] == "UNACK" and a, 10,
                       "the GT201 alarm to activate")
    assert alarm["stage"] == "H" and alarm["value"] == 32, alarm  # float32 3.2 × 10, without rounding noise
    # The API shows the alarm as soon as the loop has it; its hazard once the transition committed.
    hazards = wait_until(lambda: (h := daemon.get("/api/v1/hazards")[1])["hazards"] and h, 10, "the GT201 hazard")
    assert len(hazards["hazards"]) == 1, hazards
    assert hazards["hazards"][0]["measure"] == "M01" and hazards["hazards"][0]["danger_src"] == 9, hazards

    server.kill()
    pts = wait_until(lambda: (p := daemon.points()) and all(x["quality"] == "comm_fault" for x in p.values()) and p,
                     15, "every Modbus point comm_fault after the server died")
    bus = wait_until(lambda: (b := next(d for d in daemon.get("/api/v1/drivers")[1]["drivers"]
                                        if d["kind"] == "modbus")) and b["slaves_down"] == 1 and b,
                     10, "the slave counted down")
    assert bus["errors"] > 0, bus
    # A bad sample holds the alarm where it is.
    assert daemon.alarm("R-GT201-H")["state"] == "UNACK"

    server.start()
    wait_until(lambda: all(x["quality"] == "good" for x in daemon.points().values()), 15,
               "the points to recover once the server is back")
    assert daemon.stop() == 0


if __name__ == "__main__":
    sys.exit(run_tests([test_modbus_values_alarm_and_comm_fault]))
