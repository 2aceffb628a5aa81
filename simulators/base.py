"""What every simulated instrument offers the virtual lab."""

from __future__ import annotations

import inspect
from abc import ABC
from typing import Any, ClassVar, Protocol

from simulators.faults import Faults


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
    load on a balance). Every simulator carries a :class:`Faults` injector.
    """

    protocol: ClassVar[str] = ""
    model: ClassVar[str] = ""
    controls: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, instrument_id: str, serial_number: str, faults: Faults | None = None) -> None:
        self.instrument_id = instrument_id
        self.serial_number = serial_number
        self.faults = faults or Faults()

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
