"""A simulated Sartorius balance speaking SBI on a serial-device-server TCP port.

The replies are laid out here, by hand, from the manuals (not with the driver's codec, so the driver's byte-level
tests and this simulator check each other):

* value line, 16 characters (Cubis MSE Operating Instructions p. 69): sign (``+``, ``-``, space for 0 per the
  IW2P1X SBI description p. 23), value right-aligned in positions 2-10 with the balance's decimals, space, unit in
  12-14 -- **blank while not stable** (IW2P1X p. 23) --, CR LF. 22 characters (Cubis MSE p. 70): a 6-character
  ID (default ``N``) in front.
* overload / underload: ``Stat     High`` / ``Stat     Low`` (Cubis MSE p. 70; the transcription loses the columns,
  so the word is put where ``ERR`` stands, position 10 of 22 / 4 of 16); adjusting: ``C`` at position 13 of 22 /
  7 of 16 (Cubis MSA p. 151, Signum p. 88); error: ``Stat     ERR ###`` (Cubis MSE p. 70) / ``   Err ###``
  (16 characters, Signum p. 88).
* identification: ``ESC x1_`` model, ``x2_`` serial number, ``x3_`` balance software, ``x4_`` APC software (Entris
  II interface description p. 4); in the 22-character form the model and serial lines carry the IDs ``Model`` and
  ``S/N`` (IW2P1X p. 23). The exact layout of these lines is not in the manuals found: this one is an assumption.
* commands (Cubis MSE pp. 71-72): ``ESC`` + one upper-case letter, or ``ESC`` + lower-case letter, digits/letters
  and ``_``; CR LF optional. Bytes outside a command are ignored. ``ESC T`` (tare, or zero near zero), ``ESC U``
  (tare) and ``ESC V`` (zero) act only on a stable indication -- otherwise they are ignored, as there is no reply
  to refuse with. ``ESC Z`` starts the internal adjustment (``adjust_seconds``). With auto print on, ``ESC P``
  stops and restarts the stream (Entris II p. 4: "Print, auto print; activate or block").

Pacing: a command of n bytes is acted on n character-times after it arrived; replies leave through
:meth:`LineConnection.send`, which paces them and applies the :class:`Faults`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import ClassVar

from simulators.balance_physics import BalancePhysics, Indication, Outcome, RangeState, SimulatedBalance
from simulators.base import SimOptions
from simulators.serial_server import LineConnection, SerialServer

ESC = 0x1B
CR, LF = 0x0D, 0x0A
MAX_COMMAND = 16  # characters after ESC; longer is noise


@dataclass
class _Session:
    """Per-connection state: whether the auto-print stream is running."""

    streaming: bool = True


class SartoriusSimulator(SimulatedBalance):
    """A Sartorius SBI balance (default: a 220 g x 0.1 mg analytical balance, type ``MSE224S-100-DU``).

    ``options.settings`` paces the line (None = unpaced); ``capacity`` and ``resolution`` (readability d) in g;
    ``settle_time`` (s) to stability after a load change; ``adjust_seconds`` (s) an ``ESC Z`` lasts;
    ``output_format`` is 16 or 22 characters per line; ``id_code`` is the 22-character form's ID; ``auto_print_s``
    (s) makes the balance print on its own at that interval (None = print on request only).
    """

    protocol: ClassVar[str] = "sbi"
    model: ClassVar[str] = "sartorius-sbi"
    controls: ClassVar[frozenset[str]] = SimulatedBalance.controls | {
        "set_error",
        "set_output_format",
        "set_auto_print",
    }

    def __init__(
        self,
        options: SimOptions,
        *,
        type_name: str = "MSE224S-100-DU",
        software_version: str = "01-70-03",
        apc_version: str = "01-47-02",
        capacity: float = 220.0,
        resolution: float = 0.0001,
        settle_time: float = 1.5,
        adjust_seconds: float = 5.0,
        output_format: int = 16,
        id_code: str = "N",
        auto_print_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(options)
        if len(id_code) > 6 or not id_code.isprintable():
            raise ValueError(f"id_code must be at most 6 printable characters, got {id_code!r}")
        self.type_name = type_name
        self.software_version = software_version
        self.apc_version = apc_version
        self.id_code = id_code
        self.physics = BalancePhysics(
            capacity,
            resolution,
            settle_time_s=settle_time,
            adjust_seconds=adjust_seconds,
            seed=options.seed,
            clock=clock,
        )
        self.server = SerialServer(self._serve, port=options.port, settings=options.settings, faults=self.faults)
        self._lock = threading.Lock()
        self._format = 16
        self._error: int | None = None
        self._auto_print_s: float | None = None
        self.set_output_format(output_format)
        self.set_auto_print(auto_print_s)

    # -- life cycle -------------------------------------------------------------------------------------------
    # -- controls (thread-safe) -------------------------------------------------------------------------------

    def set_error(self, code: int | None) -> None:
        """Print ``Stat     ERR <code>`` instead of values (1..999); None clears the error."""
        if code is not None and not (isinstance(code, int) and 0 < code < 1000):
            raise ValueError(f"SBI error code must be 1..999 or None, got {code!r}")
        with self._lock:
            self._error = code

    def set_output_format(self, chars: int) -> None:
        """Line length: 16 (no ID) or 22 (6-character ID first)."""
        if chars not in (16, 22):
            raise ValueError(f"SBI output format must be 16 or 22 characters, got {chars!r}")
        with self._lock:
            self._format = chars

    def set_auto_print(self, interval_s: float | None) -> None:
        """Print by itself every ``interval_s`` seconds (>= 0.01), or only on request (None)."""
        if interval_s is not None and not (math.isfinite(interval_s) and interval_s >= 0.01):
            raise ValueError(f"auto-print interval must be >= 0.01 s or None, got {interval_s!r}")
        with self._lock:
            self._auto_print_s = interval_s

    # -- reply layout (from the manuals, independent of the driver's codec) -----------------------------------
    def _wrap(self, body: str, status_id: bool) -> bytes:
        """14-character body -> full line in the configured form, CR LF added."""
        with self._lock:
            wide = self._format == 22
        prefix = ("Stat" if status_id else self.id_code).ljust(6) if wide else ""
        return (prefix + body + "\r\n").encode("ascii")

    def indication_line(self) -> bytes:
        """The line ``ESC P`` prints now."""
        with self._lock:
            error = self._error
            wide = self._format == 22
        if error is not None:
            return self._wrap(f"   {'ERR' if wide else 'Err'} {error:>3}    ", status_id=True)
        ind: Indication = self.physics.read()
        if ind.busy:
            return self._wrap("      C       ", status_id=True)
        if ind.state is RangeState.OVERLOAD:
            return self._wrap("   High       ", status_id=True)
        if ind.state is RangeState.UNDERLOAD:
            return self._wrap("   Low        ", status_id=True)
        value = ind.net_g
        digits = f"{abs(value):.{self.physics.decimals}f}"
        if len(digits) > 9:  # does not fit the display field
            return self._wrap("   High       ", status_id=True)
        sign = "+" if value > 0 else "-" if value < 0 else " "
        unit = "g" if ind.stable else ""
        return self._wrap(f"{sign}{digits:>9} {unit:<3}", status_id=False)

    def _text_line(self, id_code: str, text: str) -> bytes:
        with self._lock:
            wide = self._format == 22
        return ((id_code.ljust(6) if wide and id_code else "") + text + "\r\n").encode("ascii", "replace")

    # -- protocol loop ----------------------------------------------------------------------------------------
    async def _commands(self, conn: LineConnection) -> AsyncIterator[bytes]:
        """Commands (the bytes after ESC) as they complete; everything outside a command is ignored."""
        command: bytearray | None = None
        while not conn.closed:
            try:
                chunk = await conn.reader.read(256)
            except (ConnectionError, OSError):
                return
            if not chunk:
                return
            for byte in chunk:
                if byte == ESC:
                    command = bytearray()
                    continue
                if command is None:
                    continue  # CR, LF or noise between commands
                if byte in (CR, LF) or len(command) >= MAX_COMMAND:
                    command = None  # an unfinished command is dropped
                    continue
                command.append(byte)
                first = command[0]
                if 0x41 <= first <= 0x5A:  # format 1: one upper-case letter
                    done, command = bytes(command), None
                    yield done
                elif 0x61 <= first <= 0x7A:  # format 2: lower-case letter ... "_"
                    if byte == 0x5F:
                        done, command = bytes(command), None
                        yield done
                else:
                    command = None

    async def _auto_print(self, conn: LineConnection, session: _Session) -> None:
        while not conn.closed:
            with self._lock:
                interval = self._auto_print_s
            if interval is None or not session.streaming:
                await asyncio.sleep(0.05)
                continue
            if not await conn.send(self.indication_line()):
                return
            await asyncio.sleep(interval)

    async def _serve(self, conn: LineConnection) -> None:
        session = _Session()
        ticker = asyncio.create_task(self._auto_print(conn, session))
        try:
            async for command in self._commands(conn):
                if conn.char_time:
                    await asyncio.sleep((1 + len(command)) * conn.char_time)  # ESC + command at line rate
                if not await self._execute(conn, command, session):
                    return
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker

    async def _execute(self, conn: LineConnection, command: bytes, session: _Session) -> bool:
        """Act on one command; False once the connection is gone."""
        physics = self.physics
        match command:
            case b"P":
                with self._lock:
                    auto = self._auto_print_s is not None
                if auto:
                    session.streaming = not session.streaming
                    return True
                return await conn.send(self.indication_line())
            case b"T":
                if physics.zero().outcome is Outcome.ABOVE_RANGE:
                    physics.tare()
            case b"U":
                physics.tare()
            case b"V":
                physics.zero()
            case b"Z":
                physics.start_adjustment()
            case b"x1_":
                return await conn.send(self._text_line("Model", self.type_name))
            case b"x2_":
                return await conn.send(self._text_line("S/N", self.serial_number))
            case b"x3_":
                return await conn.send(self._text_line("", self.software_version))
            case b"x4_":
                return await conn.send(self._text_line("", self.apc_version))
            case _:
                pass  # filters, key lock, beep, restart, ...: accepted without a reply
        return True
