"""Test helpers for Modbus byte-level tests: an independent CRC-16/MODBUS and a raw-socket fake device.

The CRC here is written from the Modbus over Serial Line specification V1.02, section 6.2.2 (polynomial 0xA001,
preset 0xFFFF, low byte sent first) so the tests do not trust the code under test (pymodbus) to check itself.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence

Action = bytes | None | str  # reply bytes, None = stay silent, "close" = drop the connection


def crc16(frame: bytes) -> bytes:
    """CRC-16/MODBUS of ``frame`` as sent on the wire (low byte first)."""
    crc = 0xFFFF
    for byte in frame:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes([crc & 0xFF, crc >> 8])


def rtu(hex_text: str) -> bytes:
    """An RTU frame from hex text, with its CRC computed and appended."""
    body = bytes.fromhex(hex_text)
    return body + crc16(body)


class FakeDevice:
    """A TCP listener playing a script: one list of (expected request, action) per expected connection.

    It asserts the exact bytes received; mismatches are collected in :attr:`errors` (check with
    :meth:`assert_ok`). After a conversation it waits for the client to close the connection.
    """

    def __init__(self, conversations: Sequence[Sequence[tuple[bytes, Action]]]) -> None:
        self.conversations = [list(c) for c in conversations]
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.errors: list[str] = []
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _accept(self) -> socket.socket | None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
                return conn
            except TimeoutError:
                continue
            except OSError:
                return None
        return None

    def _recv_exact(self, conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n and not self._stop.is_set():
            try:
                chunk = conn.recv(n - len(data))
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        return data

    def _wait_closed(self, conn: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                chunk = conn.recv(256)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            self.errors.append(f"unexpected extra bytes {chunk.hex(' ')}")

    def _run(self) -> None:
        for conversation in self.conversations:
            conn = self._accept()
            if conn is None:
                return
            self.connections += 1
            with conn:
                conn.settimeout(0.1)
                dropped = False
                for expected, action in conversation:
                    data = self._recv_exact(conn, len(expected))
                    self.received.append(data)
                    if data != expected:
                        self.errors.append(f"received {data.hex(' ')}, expected {expected.hex(' ')}")
                        return
                    if action == "close":
                        dropped = True
                        break
                    if isinstance(action, bytes):
                        conn.sendall(action)
                if not dropped:
                    self._wait_closed(conn)
        # any further connection is unexpected
        extra = self._accept()
        if extra is not None:
            self.connections += 1
            extra.close()

    def close(self) -> None:
        """Stop the thread and the listener."""
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def assert_ok(self) -> None:
        """Every request matched the script."""
        assert not self.errors, self.errors

    def __enter__(self) -> FakeDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
