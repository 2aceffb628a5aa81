"""What every simulated instrument offers the virtual lab."""

from __future__ import annotations

import inspect
from abc import ABC
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from drivers.address import SerialSettings
from simulators.faults import Faults


@dataclass(frozen=True)
class SimOptions:
    """What every simulator is given whatever it simulates; its physical parameters are its own keywords.

    ``instrument_id`` names it in the lab (manifest, control port, error messages); ``serial_number`` is what it
    reports when identified; ``settings`` paces the bytes at a serial line rate (None = unpaced, as fast as TCP);
    ``port`` is the TCP port on 127.0.0.1 (0 = any free port); ``seed`` seeds its noise (None = not
    reproducible); ``faults`` is the fault injector to use (None = a fresh one of its own).

    A time source is not here: only the simulators whose physics runs on model time (the Sartorius balance, the
    flow meter's rig) take a ``clock`` keyword; the others, and every protocol timeout, run on real time.
    """

    instrument_id: str
    serial_number: str
    settings: SerialSettings | None = None
    port: int = 0
    seed: int | None = None
    faults: Faults | None = None


class Server(Protocol):
    """A listener a simulator serves its protocol on (``SerialServer``, ``ModbusServer``)."""

    @property
    def url(self) -> str: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class SimulatedInstrument(ABC):
    """A virtual instrument listening on 127.0.0.1 and speaking its real wire protocol.

    Subclasses set ``protocol`` (wire protocol name for the manifest) and ``model`` (the driver registry model a
    client uses), assign ``self.server`` (whose ``url``, ``start`` and ``stop`` the simulator presents), and list
    in ``controls`` the public methods a test or demo may call by name through :meth:`control` (e.g. ``place`` a
    load on a balance). Every simulator carries a :class:`Faults` injector. A constructor takes one
    :class:`SimOptions` first, then its model's parameters as keywords:
    ``MtSicsSimulator(SimOptions("bal-1", "B912345678", seed=1), capacity=220.0)``.
    """

    protocol: ClassVar[str] = ""
    model: ClassVar[str] = ""
    controls: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, options: SimOptions) -> None:
        self.options = options
        self.instrument_id = options.instrument_id
        self.serial_number = options.serial_number
        self.faults = options.faults or Faults()

    server: Server

    @property
    def url(self) -> str:
        """Address a driver connects to (valid after :meth:`start`)."""
        return self.server.url

    async def start(self) -> None:
        """Start listening; return once connections are accepted."""
        await self.server.start()

    async def stop(self) -> None:
        """Stop listening and drop connections."""
        await self.server.stop()

    def manifest_entry(self) -> dict[str, Any]:
        """This instrument's entry in the virtual-lab manifest."""
        return {
            "id": self.instrument_id,
            "model": self.model,
            "protocol": self.protocol,
            "url": self.url,
            "serial_number": self.serial_number,
        }

    def control(self, action: str, **params: Any) -> Any:
        """Call a control action by name (``fault`` is always available); raise ValueError when unknown."""
        if action == "fault":
            self.faults.inject(**params)
            return None
        if action not in self.controls:
            allowed = ", ".join(sorted(self.controls | {"fault"}))
            raise ValueError(f"{self.instrument_id}: unknown action {action!r}; allowed: {allowed}")
        method = getattr(self, action)
        try:
            inspect.signature(method).bind(**params)
        except TypeError as exc:
            raise ValueError(f"{self.instrument_id}.{action}: {exc}") from None
        return method(**params)
