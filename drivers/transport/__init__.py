"""Transports own the byte stream: opening, timeouts, one-request-one-reply locking and reconnection.

Drivers only encode commands and decode replies; they never sleep or retry. Opening, closing, back-off and the
per-instrument lock are written once, in :mod:`drivers.transport.lifecycle`.
"""

from drivers.transport.backoff import Backoff
from drivers.transport.lifecycle import TransportLifecycle
from drivers.transport.modbus import (
    DataType,
    ModbusTransport,
    RegisterSpec,
    decode_registers,
    encode_value,
)
from drivers.transport.serial import SerialPort, SerialTransport

__all__ = [
    "Backoff",
    "DataType",
    "ModbusTransport",
    "RegisterSpec",
    "SerialPort",
    "SerialTransport",
    "TransportLifecycle",
    "decode_registers",
    "encode_value",
]
