#!/usr/bin/python3
"""A Modbus TCP server built on Debian's pymodbus for integration tests: unit 1, zero-based
addresses, holding registers 0..63, coils 0..15. Usage: modbus_server.py PORT [HR0,HR1,...]
(initial holding registers, decimal); tests change values through ordinary Modbus writes."""
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import StartTcpServer


def main():
    port = int(sys.argv[1])
    hr = [0] * 64
    if len(sys.argv) > 2 and sys.argv[2]:
        initial = [int(v, 0) for v in sys.argv[2].split(",")]
        hr[:len(initial)] = initial
    bits = [1, 0, 1, 1] + [0] * 12
    slave = ModbusSlaveContext(zero_mode=True,
                               hr=ModbusSequentialDataBlock(0, hr),
                               ir=ModbusSequentialDataBlock(0, [0] * 16),
                               co=ModbusSequentialDataBlock(0, bits),
                               di=ModbusSequentialDataBlock(0, bits))
    context = ModbusServerContext(slaves={1: slave}, single=False)
    StartTcpServer(context=context, address=("127.0.0.1", port), allow_reuse_address=True)


if __name__ == "__main__":
    main()
