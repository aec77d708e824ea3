"""Field faults become alarms: a killed broker and a killed Modbus server raise the quality
alarm of their points within the configured delay, a silent point raises its stale alarm, and
recovery clears them. Real mosquitto, a real pymodbus server and the real daemon on loopback."""
import os
import sys
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dgtest import (free_port, run_tests, start_broker, start_daemon, start_process, wait_connected,  # noqa: E402
                    wait_listening, wait_until)

MODBUS_SERVER = textwrap.dedent("""
    import sys
    from pymodbus.datastore import ModbusSequentialDataBlock, ModbusSlaveContext, ModbusServerContext
    from pymodbus.server import StartTcpServer
    block = ModbusSequentialDataBlock(0, [0] * 20 + [42] + [0] * 20)
    ctx = ModbusServerContext(slaves=ModbusSlaveContext(hr=block, ir=block, co=block, di=block, zero_mode=True),
                              single=True)
    StartTcpServer(context=ctx, address=("127.0.0.1", int(sys.argv[1])))
""")

CONFIG = """
site: {{ code: T1 }}
mqtt:
  - {{ id: main, uri: "tcp://127.0.0.1:{mqtt_port}", client_id: dg-fault-{mqtt_port}, keepalive: 2s }}
modbus:
  - {{ id: plc, transport: tcp, host: 127.0.0.1, port: {mb_port}, poll_interval: 200ms, response_timeout: 200ms,
      fail_threshold: 2, reconnect_max: 500ms }}
points:
  - {{ id: GT1, driver: mqtt.main, topic: t/gt1 }}
  - {{ id: GT2, driver: mqtt.main, topic: t/gt2 }}
  - {{ id: LT1, driver: modbus.plc, holding: 20 }}
rules:
  - {{ id: Q-GT1, type: quality, point: GT1, priority: high, on_delay: 1s }}
  - {{ id: S-GT2, type: stale, point: GT2, timeout: 2s, priority: medium }}
  - {{ id: Q-LT1, type: quality, point: LT1, priority: critical, on_delay: 500ms }}
"""


def start_modbus(workdir, port, cleanup):
    proc = start_process(workdir, cleanup, ["/usr/bin/python3", "-c", MODBUS_SERVER, str(port)], f"pymodbus-{port}.log")
    # Listening before the daemon polls, or the first polls would already be comm faults.
    wait_listening(port, 20, "the Modbus server to listen")
    return proc


def setup(workdir, cleanup):
    broker = start_broker(workdir, cleanup)
    mb_port = free_port()
    mb = start_modbus(workdir, mb_port, cleanup)
    daemon = start_daemon(workdir, cleanup, CONFIG.format(mqtt_port=broker.port, mb_port=mb_port))
    return broker, mb, mb_port, daemon


def state_of(daemon, rule):
    return daemon.alarm(rule)["state"]


def test_broker_loss_raises_quality_alarm(workdir, cleanup):
    broker, _, _, daemon = setup(workdir, cleanup)
    wait_connected(daemon, 20)
    broker.publish("t/gt1", "5")
    wait_until(lambda: daemon.points()["GT1"]["value"] == 5, 10, "GT1 value")
    assert state_of(daemon, "Q-GT1") == "NORMAL"
    broker.stop()
    wait_until(lambda: state_of(daemon, "Q-GT1") == "UNACK", 20, "quality alarm on broker loss")
    a = daemon.alarm("Q-GT1")
    assert a["priority"] == "high" and a["stage"] == "quality", a
    broker.start()
    wait_connected(daemon, 30)
    broker.publish("t/gt1", "6")
    wait_until(lambda: state_of(daemon, "Q-GT1") == "RTN_UNACK", 10, "quality alarm cleared")


def test_silent_point_raises_stale_alarm(workdir, cleanup):
    broker, _, _, daemon = setup(workdir, cleanup)
    wait_until(lambda: state_of(daemon, "S-GT2") == "UNACK", 10, "stale alarm for a point that never reported")
    wait_connected(daemon, 20)
    broker.publish("t/gt2", "1")
    wait_until(lambda: state_of(daemon, "S-GT2") == "RTN_UNACK", 10, "stale alarm cleared by a sample")


def test_modbus_loss_raises_quality_alarm(workdir, cleanup):
    _, mb, mb_port, daemon = setup(workdir, cleanup)
    lt1 = lambda: daemon.points()["LT1"]  # noqa: E731
    wait_until(lambda: lt1()["value"] == 42 and lt1()["quality"] == "good", 20, "LT1 polled")
    assert state_of(daemon, "Q-LT1") == "NORMAL"
    mb.kill()
    mb.wait(10)
    wait_until(lambda: state_of(daemon, "Q-LT1") == "UNACK", 20, "quality alarm on Modbus comm loss")
    assert lt1()["quality"] == "comm_fault"
    start_modbus(workdir, mb_port, cleanup)
    wait_until(lambda: state_of(daemon, "Q-LT1") == "RTN_UNACK", 30, "quality alarm cleared after recovery")


if __name__ == "__main__":
    sys.exit(run_tests([test_broker_loss_raises_quality_alarm, test_silent_point_raises_stale_alarm,
                        test_modbus_loss_raises_quality_alarm]))
