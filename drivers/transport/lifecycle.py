"""The life cycle every transport shares: open on first use, close, back off between failed attempts, one user.

A transport holds one *link* (a pyserial port, a pymodbus client) to one instrument:

* it opens lazily, on the first request or on :meth:`TransportLifecycle.open`, and is reused while it works;
* :meth:`~TransportLifecycle.close` drops it (closing twice, or before any open, does nothing); the next request
  reopens it;
* a failed attempt to open, or a link lost during a request, pushes the next attempt back by :class:`Backoff`
  (0.2 s doubling to 10 s by default, reset by a success). Until then a request fails at once with
  "link is down (...); next attempt in N s" instead of hammering a dead port;
* a per-instrument re-entrant lock serialises requests; :meth:`~TransportLifecycle.exclusive` holds it across a
  multi-request exchange, so other threads wait (they are not refused) until it ends.

Subclasses say how to connect (:meth:`~TransportLifecycle._connect`, raising :class:`DeviceConnectionError` with
their own advice) and disconnect, and word the "link is down" message (``down_reason``, ``advice``).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar, Generic, Self, TypeVar

from drivers.address import Address, parse_address
from drivers.errors import DeviceConnectionError
from drivers.transport.backoff import Backoff

L = TypeVar("L")


class TransportLifecycle(ABC, Generic[L]):
    """Open/close, reconnection back-off and the per-instrument lock of a link of type ``L``.

    ``name`` labels the instrument in every error message (drivers refine it after identification).
    """

    #: why the link is down, in the message given while the back-off runs ("last reconnection failed")
    down_reason: ClassVar[str] = "last connection attempt failed"
    #: what the operator should check, ending that message
    advice: ClassVar[str] = "Check the cable, power and address."

    def __init__(self, address: Address | str, *, name: str = "", backoff: Backoff | None = None) -> None:
        self.address = parse_address(address) if isinstance(address, str) else address
        self.name = name or "instrument"
        self._backoff = backoff or Backoff()
        self._link: L | None = None
        self._lock = threading.RLock()

    # -- to implement -----------------------------------------------------------------------------------------
    @abstractmethod
    def _connect(self) -> L:
        """Open a new link; raise :class:`DeviceConnectionError` (saying what to check) when it cannot."""

    @abstractmethod
    def _disconnect(self, link: L) -> None:
        """Close ``link``, swallowing the errors of a link that is already broken."""

    # -- life cycle -------------------------------------------------------------------------------------------
    def describe(self) -> str:
        """``name at url``, for messages."""
        return f"{self.name} at {self.address.shown}"

    @property
    def is_open(self) -> bool:
        """True while a link is open."""
        return self._link is not None

    def open(self) -> None:
        """Open the link now (otherwise it opens on first use). Raises DeviceConnectionError."""
        with self._lock:
            self._ensure_open()

    def close(self) -> None:
        """Close the link; the next call reopens it. Idempotent."""
        with self._lock:
            link, self._link = self._link, None
            if link is not None:
                self._disconnect(link)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def exclusive(self) -> Iterator[Self]:
        """Hold the instrument for a multi-step exchange (e.g. a reply stream): other threads wait."""
        with self._lock:
            yield self

    def _ensure_open(self) -> L:
        """The open link, opening it if the back-off allows (call with the lock held)."""
        if self._link is not None:
            return self._link
        wait = self._backoff.wait_left()
        if wait > 0:
            raise DeviceConnectionError(
                f"{self.describe()}: link is down ({self.down_reason}); next attempt in {wait:.1f} s. {self.advice}"
            )
        try:
            link = self._connect()
        except DeviceConnectionError:
            self._backoff.failed()
            raise
        self._backoff.succeeded()
        self._link = link
        return link

    def _link_lost(self) -> None:
        """The link broke during a request: close it and push the next attempt back (call with the lock held)."""
        self.close()
        self._backoff.failed()
