"""Serial transport over pyserial ``serial_for_url``: local ports and serial device servers (``socket://``).

One request, one reply: every exchange holds a per-instrument lock. Reply timeouts are totals, not per-byte.
When the link breaks the failing call raises :class:`DeviceConnectionError` (a command is never re-sent
silently: it may not be idempotent, e.g. tare); the next call reopens the link, with exponential back-off
between attempts (the life cycle shared with the Modbus transport: :mod:`drivers.transport.lifecycle`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from typing import Protocol

import serial

from drivers.address import Address
from drivers.errors import DeviceConnectionError, DeviceTimeoutError, ProtocolError
from drivers.transport.backoff import Backoff
from drivers.transport.lifecycle import TransportLifecycle

CRLF = b"\r\n"
MAX_LINE = 4096  # bytes; a longer "line" is garbage or the wrong device


class SerialPort(Protocol):
    """The part of a pyserial port the transport uses (a test double implements the same)."""

    timeout: float | None

    def write(self, data: bytes, /) -> int | None: ...
    def read(self, size: int = 1, /) -> bytes: ...
    @property
    def in_waiting(self) -> int: ...
    def reset_input_buffer(self) -> None: ...
    def close(self) -> None: ...


PortFactory = Callable[[Address], SerialPort]


def open_pyserial(address: Address) -> SerialPort:
    """Open ``address`` with pyserial (local port, ``socket://`` or ``rfc2217://``).

    A local port is opened exclusively (pyserial ``exclusive=True``: an advisory ``flock`` on POSIX), so a second
    program, or a second caltrace process, cannot talk to the same instrument at the same time; its open fails
    with "in use". A device server (``socket://``) is not locked here: it allows one TCP client itself."""
    s = address.serial
    local = "://" not in address.target
    port: SerialPort = serial.serial_for_url(
        address.target,
        **({"exclusive": True} if local else {}),
        baudrate=s.baud,
        bytesize=s.bytesize,
        parity=s.parity,
        stopbits=s.stopbits,
        xonxoff=s.xonxoff,
        rtscts=s.rtscts,
        timeout=address.timeout,
        write_timeout=address.timeout,
    )
    return port


class SerialTransport(TransportLifecycle[SerialPort]):
    """A line-oriented serial link to one instrument.

    ``name`` labels the instrument in every error message (drivers refine it after identification, e.g.
    ``"Mettler-Toledo XS205 SN 1234567"``). ``port_factory`` opens the port (tests pass a scripted port).
    Opening, closing, back-off and the lock: :class:`~drivers.transport.lifecycle.TransportLifecycle`.
    """

    down_reason = "last reconnection failed"
    advice = "Check the cable, power and address."

    def __init__(
        self,
        address: Address | str,
        *,
        name: str = "",
        port_factory: PortFactory = open_pyserial,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(address, name=name, backoff=backoff)
        self._factory = port_factory
        self._buffer = bytearray()

    # -- life cycle -------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the port and drop buffered input; the next call reopens it. Idempotent."""
        with self._lock:
            self._buffer.clear()
            super().close()

    def _connect(self) -> SerialPort:
        try:
            port = self._factory(self.address)
        except (OSError, serial.SerialException, ValueError) as exc:
            if "exclusively lock" in str(exc):  # pyserial's words when another process holds the port
                raise DeviceConnectionError(
                    f"{self.describe()}: the port is in use by another program or caltrace process. Close it there "
                    "(or finish that run), then try again"
                ) from exc
            raise DeviceConnectionError(f"{self.describe()}: cannot open the link ({exc}). {self.advice}") from exc
        self._buffer.clear()
        return port

    def _disconnect(self, link: SerialPort) -> None:
        with suppress(OSError, serial.SerialException):
            link.close()

    def _broken(self, exc: BaseException, doing: str) -> DeviceConnectionError:
        self._link_lost()
        return DeviceConnectionError(
            f"{self.describe()}: connection lost while {doing} ({exc}); it will be reopened on the next request."
        )

    # -- exchanges --------------------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Send raw bytes."""
        with self._lock:
            port = self._ensure_open()
            try:
                port.write(data)
            except (OSError, serial.SerialException) as exc:
                raise self._broken(exc, "sending") from exc

    def discard_input(self) -> None:
        """Drop anything already received (a late reply to an earlier, timed-out request)."""
        with self._lock:
            port = self._ensure_open()
            self._buffer.clear()
            try:
                port.reset_input_buffer()
            except (OSError, serial.SerialException) as exc:
                raise self._broken(exc, "clearing input") from exc

    def read_line(self, timeout: float | None = None, terminator: bytes = CRLF) -> bytes:
        """Read one line, terminator included, within ``timeout`` seconds in total (default: the address's)."""
        with self._lock:
            port = self._ensure_open()
            deadline = time.monotonic() + (self.address.timeout if timeout is None else timeout)
            while True:
                end = self._buffer.find(terminator)
                if end >= 0:
                    line = bytes(self._buffer[: end + len(terminator)])
                    del self._buffer[: end + len(terminator)]
                    return line
                if len(self._buffer) > MAX_LINE:
                    junk = bytes(self._buffer[:40])
                    self._buffer.clear()
                    raise ProtocolError(
                        f"{self.describe()}: no line end in {MAX_LINE} bytes (starts {junk!r}); "
                        "wrong baud rate or wrong instrument?"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    partial = bytes(self._buffer)
                    limit = self.address.timeout if timeout is None else timeout
                    raise DeviceTimeoutError(
                        f"{self.describe()}: no complete reply within {limit:g} s"
                        + (f" (received {partial!r})" if partial else "")
                        + ". Is it switched on, connected and set to the same baud rate?"
                    )
                try:
                    port.timeout = remaining
                    chunk = port.read(max(1, port.in_waiting))
                except (OSError, serial.SerialException) as exc:
                    raise self._broken(exc, "waiting for a reply") from exc
                self._buffer += chunk

    def query(self, request: bytes, timeout: float | None = None, terminator: bytes = CRLF) -> bytes:
        """Send ``request`` (stale input discarded first) and return the one-line reply."""
        with self._lock:
            self.discard_input()
            self.write(request)
            return self.read_line(timeout, terminator)

    def query_lines(
        self,
        request: bytes,
        last: Callable[[bytes], bool],
        timeout: float | None = None,
        terminator: bytes = CRLF,
        max_lines: int = 256,
    ) -> list[bytes]:
        """Send ``request`` and collect reply lines until ``last(line)`` is true (multi-line replies)."""
        with self._lock:
            self.discard_input()
            self.write(request)
            lines: list[bytes] = []
            while True:
                line = self.read_line(timeout, terminator)
                lines.append(line)
                if last(line):
                    return lines
                if len(lines) >= max_lines:
                    raise ProtocolError(f"{self.describe()}: more than {max_lines} reply lines without an end")
