"""Run simulators on an asyncio loop in a background thread, controlled from ordinary (threaded) code."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable
from typing import Any, Self, TypeVar

from simulators.base import SimulatedInstrument

T = TypeVar("T")


class SimulatorThread:
    """An event loop in a daemon thread hosting simulators; use as a context manager.

    >>> with SimulatorThread() as lab:               # doctest: +SKIP
    ...     sim = lab.start(MtSicsSimulator(SimOptions("bal1", "1234567")))
    ...     url = sim.url
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="caltrace-simulators", daemon=True)
        self.instruments: list[SimulatedInstrument] = []
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run a coroutine on the simulator loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, instrument: SimulatedInstrument) -> SimulatedInstrument:
        """Start one simulator; return it once it listens."""
        self.call(instrument.start())
        self.instruments.append(instrument)
        return instrument

    def start_all(self, instruments: Iterable[SimulatedInstrument]) -> list[SimulatedInstrument]:
        """Start several simulators concurrently; return them once all listen."""
        items = list(instruments)

        async def _all() -> None:
            await asyncio.gather(*(i.start() for i in items))

        self.call(_all())
        self.instruments.extend(items)
        return items

    def stop(self) -> None:
        """Stop every simulator and the loop."""
        if not self.loop.is_running():
            return

        async def _all() -> None:
            await asyncio.gather(*(i.stop() for i in self.instruments), return_exceptions=True)
            # connection handlers still running (clients that never hung up) end here, not at garbage collection
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        try:
            self.call(_all())
        finally:
            self.instruments.clear()
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
            if not self._thread.is_alive():
                self.loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
