"""A simulated Mettler-Toledo balance speaking MT-SICS behind a TCP port (as behind a serial device server).

Replies are formatted here, from the reference manual's rules (see :mod:`drivers.mtsics` for the sources),
not with the driver's parser, so a codec bug in the driver shows up against this simulator:

* weight replies ``S S <value> <unit>``: the value right-aligned in a 10-character field, the sign directly in
  front of the first digit, rounded to the readability (``S S     100.0000 g``, ``S D    -12.3456 g``);
* ``S +`` / ``S -`` exactly for overload / underload; ``S I`` when busy (adjusting) or, for ``S``, when no stability
  came within ``stability_timeout``;
* ``ES`` for an unknown command, a command with parameters it does not take, lower case, or an empty line;
* ``@`` -> ``I4 A "<serial>"`` (cancels a running ``SIR``); ``I1``/``I2``/``I3``/``I4`` values quoted;
  ``I0`` -> ``I0 B <level> "<cmd>"`` lines, the last one with status ``A``;
* ``C3`` -> ``C3 B`` at once and ``C3 A`` ``adjust_seconds`` later (``C3 I`` when busy or unstable); while it runs,
  weight, zero and tare commands answer ``I``;
* ``SIR`` streams ``S S``/``S D`` lines every ``stream_interval`` seconds (or as fast as the paced line allows)
  until the next command arrives;
* ``Z``/``ZI``/``T``/``TI``/``TA``/``TAC`` on the shared :class:`~simulators.balance_physics.BalancePhysics` model
  (zero and tare need stability; ``ZI``/``TI`` do not).

The display unit equals the host unit (``SU``/``SIU`` answer with ID ``SU`` in the same unit). The command levels
announced by ``I0`` are this simulator's choice, not a statement about a particular model.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, ClassVar

from drivers.mtsics import VALUE_WIDTH
from simulators.balance_physics import BalancePhysics, Indication, Outcome, RangeState, SimulatedBalance
from simulators.base import SimOptions
from simulators.serial_server import LineConnection, SerialServer

EOL = "\r\n"

#: (level, command) announced by I0, in order
IMPLEMENTED: tuple[tuple[int, str], ...] = (
    (0, "I0"),
    (0, "I1"),
    (0, "I2"),
    (0, "I3"),
    (0, "I4"),
    (0, "S"),
    (0, "SI"),
    (0, "SIR"),
    (0, "Z"),
    (0, "ZI"),
    (0, "@"),
    (1, "SU"),
    (1, "SIU"),
    (1, "T"),
    (1, "TA"),
    (1, "TAC"),
    (1, "TI"),
    (2, "C3"),
)


class MtSicsSimulator(SimulatedBalance):
    """A virtual MT-SICS balance (default: 220 g capacity, readability 0.0001 g, like an XS204 analytical balance).

    Model parameters: ``capacity`` (g), ``resolution`` (readability d, g), ``unit`` (printed after values; the
    model works in grams), ``balance_type`` (I2 type text), ``firmware`` (I3 text), ``settle_time`` (s to
    stability after a load change), ``noise`` (settled noise, g; default d/10), ``stability_timeout`` (s that
    ``S`` waits before ``S I``), ``adjust_seconds`` (C3 duration, s), ``stream_interval`` (s between SIR lines).
    ``options.settings`` paces the line (None = unpaced); ``options.seed`` makes the noise reproducible.
    Controls: ``place(load_g, position="centre")``, ``add(load_g)``, ``remove()``, ``set_drift(g_per_s)``,
    ``set_sensitivity_error(relative)``, ``set_eccentricity(position, relative)`` and ``fault`` (from
    :class:`SimulatedBalance`).
    """

    protocol: ClassVar[str] = "mt-sics"
    model: ClassVar[str] = "mt-sics"

    def __init__(
        self,
        options: SimOptions,
        *,
        capacity: float = 220.0,
        resolution: float = 0.0001,
        unit: str = "g",
        balance_type: str = "XS204",
        firmware: str = "1.00 caltrace-simulator",
        settle_time: float = 1.5,
        noise: float | None = None,
        stability_timeout: float = 2.0,
        adjust_seconds: float = 5.0,
        stream_interval: float = 0.1,
    ) -> None:
        super().__init__(options)
        if '"' in self.serial_number or '"' in balance_type or '"' in firmware:
            raise ValueError("serial number, balance type and firmware may not contain double quotes")
        if not unit or any(c.isspace() for c in unit):
            raise ValueError(f"unit must be a non-empty word, got {unit!r}")
        if stability_timeout < 0 or stream_interval < 0:
            raise ValueError("stability_timeout and stream_interval must be >= 0 s")
        self.physics = BalancePhysics(
            capacity,
            resolution,
            settle_time_s=settle_time,
            noise_g=noise,
            adjust_seconds=adjust_seconds,
            seed=options.seed,
        )
        self.unit = unit
        self.balance_type = balance_type
        self.firmware = firmware
        self.stability_timeout = float(stability_timeout)
        self.stream_interval = float(stream_interval)
        self.server = SerialServer(self._serve, port=options.port, settings=options.settings, faults=self.faults)

    # -- SimulatedInstrument --------------------------------------------------------------------------------
    def manifest_entry(self) -> dict[str, Any]:
        """Manifest entry with the balance's capacity and readability."""
        entry = super().manifest_entry()
        entry.update(capacity_g=self.physics.capacity_g, resolution_g=self.physics.resolution_g, unit=self.unit)
        return entry

    # -- controls (thread-safe: BalancePhysics holds a lock) ------------------------------------------------

    # -- reply formatting (the manual's rules, independent of the driver's parser) -------------------------
    def _value(self, grams: float) -> str:
        decimals = self.physics.decimals
        text = f"{grams:.{decimals}f}"
        if float(text) == 0.0:
            text = f"{0.0:.{decimals}f}"  # never "-0.0000"
        return text.rjust(VALUE_WIDTH)

    def _weight_line(self, ident: str, ind: Indication) -> str:
        if ind.busy:
            return f"{ident} I"
        if ind.state is RangeState.OVERLOAD:
            return f"{ident} +"
        if ind.state is RangeState.UNDERLOAD:
            return f"{ident} -"
        status = "S" if ind.stable else "D"
        return f"{ident} {status} {self._value(ind.net_g)} {self.unit}"

    # -- protocol loop ---------------------------------------------------------------------------------------
    async def _serve(self, conn: LineConnection) -> None:
        stream: tuple[asyncio.Task[None], asyncio.Event] | None = None
        adjusting: set[asyncio.Task[None]] = set()
        try:
            while (raw := await conn.read_line()) is not None:
                if stream is not None:  # any command ends a running SIR
                    stop_task, stop = stream
                    stop.set()
                    await stop_task
                    stream = None
                if not raw.endswith(b"\r\n"):
                    if conn.reader.at_eof():
                        return  # the client closed mid-line
                    await self._send(conn, "ES")  # an over-long line
                    continue
                text = raw[:-2].decode("latin-1")
                cmd, _, rest = text.partition(" ")
                if rest or not cmd:
                    await self._send(conn, "ES")
                    continue
                if cmd == "SIR":
                    stop = asyncio.Event()
                    stream = (asyncio.create_task(self._stream(conn, stop)), stop)
                elif cmd == "C3":
                    await self._adjust(conn, adjusting)
                elif not await self._command(conn, cmd):
                    return
        finally:
            if stream is not None:
                stream[1].set()
                with contextlib.suppress(Exception):
                    await stream[0]
            for task in adjusting:
                task.cancel()

    async def _send(self, conn: LineConnection, line: str) -> bool:
        return await conn.send((line + EOL).encode("latin-1"))

    async def _command(self, conn: LineConnection, cmd: str) -> bool:
        """Answer one single-reply command; False once the connection is gone."""
        phys = self.physics
        match cmd:
            case "SI":
                return await self._send(conn, self._weight_line("S", phys.read()))
            case "SIU":
                return await self._send(conn, self._weight_line("SU", phys.read()))
            case "S" | "SU":
                return await self._send(conn, await self._stable_weight("S" if cmd == "S" else "SU"))
            case "Z" | "ZI":
                result = phys.zero(immediate=cmd == "ZI")
                reply = {
                    Outcome.BUSY: f"{cmd} I",
                    Outcome.UNSTABLE: f"{cmd} I",
                    Outcome.ABOVE_RANGE: f"{cmd} +",
                    Outcome.BELOW_RANGE: f"{cmd} -",
                }.get(result.outcome)
                if reply is None:
                    reply = "Z A" if cmd == "Z" else f"ZI {'S' if result.stable else 'D'}"
                return await self._send(conn, reply)
            case "T" | "TI":
                if cmd == "T":
                    wait = await self._wait_stable()
                    if not wait:
                        return await self._send(conn, "T I")
                result = phys.tare(immediate=cmd == "TI")
                reply = {
                    Outcome.BUSY: f"{cmd} I",
                    Outcome.UNSTABLE: f"{cmd} I",
                    Outcome.ABOVE_RANGE: f"{cmd} +",
                    Outcome.BELOW_RANGE: f"{cmd} -",
                }.get(result.outcome)
                if reply is None:
                    status = "S" if result.stable or cmd == "T" else "D"
                    reply = f"{cmd} {status} {self._value(result.tare_g)} {self.unit}"
                return await self._send(conn, reply)
            case "TA":
                return await self._send(conn, f"TA A {self._value(phys.read().tare_g)} {self.unit}")
            case "TAC":
                if phys.is_busy():
                    return await self._send(conn, "TAC I")
                phys.clear_tare()
                return await self._send(conn, "TAC A")
            case "@":
                return await self._send(conn, f'I4 A "{self.serial_number}"')
            case "I0":
                for i, (level, name) in enumerate(IMPLEMENTED):
                    status = "A" if i == len(IMPLEMENTED) - 1 else "B"
                    if not await self._send(conn, f'I0 {status} {level} "{name}"'):
                        return False
                return True
            case "I1":
                return await self._send(conn, 'I1 A "012" "2.20" "2.20" "1.00" ""')
            case "I2":
                cap = f"{phys.capacity_g:.{phys.decimals}f}"
                return await self._send(conn, f'I2 A "{self.balance_type} {cap} {self.unit}"')
            case "I3":
                return await self._send(conn, f'I3 A "{self.firmware}"')
            case "I4":
                return await self._send(conn, f'I4 A "{self.serial_number}"')
            case _:
                return await self._send(conn, "ES")

    async def _wait_stable(self) -> bool:
        """Wait up to ``stability_timeout`` for a stable indication; False on timeout."""
        deadline = time.monotonic() + self.stability_timeout
        while True:
            if self.physics.is_stable() or self.physics.is_busy():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await asyncio.sleep(min(0.01, left))

    async def _stable_weight(self, ident: str) -> str:
        """``S``/``SU``: wait for stability (or overload/underload/busy), else ``I`` after the timeout."""
        deadline = time.monotonic() + self.stability_timeout
        while True:
            ind = self.physics.read()
            if ind.busy or ind.state is not RangeState.OK or ind.stable:
                return self._weight_line(ident, ind)
            left = deadline - time.monotonic()
            if left <= 0:
                return f"{ident} I"
            await asyncio.sleep(min(0.01, left))

    async def _stream(self, conn: LineConnection, stop: asyncio.Event) -> None:
        """``SIR``: one line per ``stream_interval`` until ``stop`` is set."""
        while not stop.is_set():
            if not await self._send(conn, self._weight_line("S", self.physics.read())):
                return
            if self.stream_interval > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.stream_interval)
            else:
                await asyncio.sleep(0)

    async def _adjust(self, conn: LineConnection, tasks: set[asyncio.Task[None]]) -> None:
        """``C3``: ``C3 B`` now and ``C3 A`` when the adjustment ends; ``C3 I`` when busy or unstable."""
        outcome = self.physics.start_adjustment()
        if outcome is not Outcome.DONE:
            await self._send(conn, "C3 I")
            return
        await self._send(conn, "C3 B")

        async def finish() -> None:
            await asyncio.sleep(max(0.0, self.physics.adjustment_ends_at() - time.monotonic()))
            await self._send(conn, "C3 A")

        task = asyncio.create_task(finish())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
