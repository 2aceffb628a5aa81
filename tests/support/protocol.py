"""Byte-level protocol testing (in the spirit of pymeasure's ``expected_protocol``).

A :class:`ScriptedPort` stands in for the pyserial port under a real :class:`SerialTransport`: it checks that the
driver writes exactly the expected request bytes and answers with the literal reply bytes from the manual.
So a test exercises the driver's codec and the transport's framing together, without hardware.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from drivers.address import Address, parse_address
from drivers.transport.serial import SerialTransport

Exchange = tuple[bytes | None, bytes | None]


class ScriptedPort:
    """A fake serial port following a script of (request, reply) pairs.

    ``request`` None means "expect nothing written, just deliver ``reply``" (unsolicited/streamed lines);
    ``reply`` None means the device stays silent (the read times out at once instead of waiting).
    """

    def __init__(self, script: Sequence[Exchange]) -> None:
        self.script = list(script)
        self.step = 0
        self.timeout: float | None = None
        self.written = bytearray()
        self._pending = bytearray()
        self.closed = False

    def _advance_unsolicited(self) -> None:
        while self.step < len(self.script) and self.script[self.step][0] is None:
            reply = self.script[self.step][1]
            self._pending += reply or b""
            self.step += 1

    def write(self, data: bytes, /) -> int:
        self.written += data
        expected_request = self.script[self.step][0] if self.step < len(self.script) else None
        if self.step >= len(self.script):
            raise AssertionError(f"unexpected write {data!r}: the script has ended")
        assert expected_request is not None, f"unexpected write {data!r}: script expects a reply-only step"
        if len(self.written) < len(expected_request):
            assert expected_request.startswith(bytes(self.written)), (
                f"wrote {bytes(self.written)!r}, expected {expected_request!r}"
            )
            return len(data)
        assert bytes(self.written) == expected_request, f"wrote {bytes(self.written)!r}, expected {expected_request!r}"
        self.written.clear()
        reply = self.script[self.step][1]
        self.step += 1
        if reply is not None:
            self._pending += reply
        return len(data)

    @property
    def in_waiting(self) -> int:
        self._advance_unsolicited()
        return len(self._pending)

    def read(self, size: int = 1, /) -> bytes:
        self._advance_unsolicited()
        if not self._pending:
            # a real port would block until the timeout; the transport's deadline then fires

            time.sleep(min(self.timeout or 0.0, 0.01))
            return b""
        out = bytes(self._pending[:size])
        del self._pending[:size]
        return out

    def reset_input_buffer(self) -> None:
        self._pending.clear()

    def close(self) -> None:
        self.closed = True

    def assert_done(self) -> None:
        """Every scripted exchange happened."""
        assert self.step == len(self.script), f"script stopped at step {self.step} of {len(self.script)}"


def scripted_transport(
    script: Iterable[Exchange], url: str = "socket://127.0.0.1:4001?timeout=0.05", name: str = "test instrument"
) -> tuple[SerialTransport, ScriptedPort]:
    """A real SerialTransport over a :class:`ScriptedPort` (short timeout so silent steps fail fast)."""
    port = ScriptedPort(list(script))
    address: Address = parse_address(url)
    return SerialTransport(address, name=name, port_factory=lambda _a: port), port
