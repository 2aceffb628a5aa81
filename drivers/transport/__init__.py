"""Transports own the byte stream: opening, timeouts, one-request-one-reply locking and reconnection.

Drivers only encode commands and decode replies; they never sleep or retry.
"""

from drivers.transport.backoff import Backoff
from drivers.transport.serial import SerialPort, SerialTransport

__all__ = ["Backoff", "SerialPort", "SerialTransport"]
