"""Run events: what the engine tells whoever follows a run (the CLI's progress display, later a server-sent-events
stream), published on an in-process :class:`EventBus`.

Kinds (``Event.kind``) and their ``data`` (JSON-ready; units in the key names or beside the value):

- ``step-started``: ``number``, ``total`` (1-based), ``title`` (``"Vietnamese / English"``), ``step`` (id)
- ``reading``: ``step``, ``quantity``, ``value``, ``unit``, ``status`` (``stable``, ``unstable``, ``overload``...)
- ``stable``: ``step``, ``count`` (readings in the window), ``value`` and ``unit`` of the last one
- ``action-requested``: ``action_id``, ``step``, ``action_kind``, ``text_vi``, ``text_en``, ``expects`` (``done`` or
  ``value``), ``unit``, ``quantity``, ``deadline`` (ISO 8601 UTC or null)
- ``action-answered``: ``action_id``, ``answer`` (``done``, ``value``, ``stop``), ``value``, ``by``
- ``warning``: ``message``
- ``cancelled``: ``by``, ``abort``, ``reason``
- ``paused``: ``message``; ``completed``: ``results`` (how many), ``warnings``
- ``stopped``: ``message`` (the run was taken over or aborted elsewhere; this process stopped executing it)

Delivery: :meth:`EventBus.publish` calls every callback subscriber in the publishing thread, in subscription
order; a subscriber that raises is logged and skipped, never breaking the run. :meth:`EventBus.stream` gives a
bounded queue read as an iterator from another thread (a web response); see :class:`EventStream` for what happens
when its reader falls behind.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

#: events an :class:`EventStream` holds for a reader that has not taken them yet (a whole R76 run publishes a few
#: thousand readings; a reader that keeps up never holds more than a handful)
STREAM_BOUND = 1000

Subscriber = Callable[["Event"], None]


@dataclass(frozen=True)
class Event:
    """One thing that happened in a run: ``kind`` (see the module docs), the run, when (UTC), and its data."""

    kind: str
    run_id: str
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (``at`` in ISO 8601), the shape a server-sent event carries as its data."""
        return {"kind": self.kind, "run_id": self.run_id, "at": self.at.isoformat(), **self.data}


class EventStream:
    """A subscriber with a bounded queue, read as an iterator (``for event in stream``) from any thread.

    At most ``bound`` events wait. A reader that falls further behind is not waited for (the run never slows for
    it): the stream is closed, its iterator yields one last ``overflow`` event (``data["dropped"]``: the first
    event that did not fit) and stops. The reader then catches up from the registry (the run's state, its pending
    actions) and opens a new stream. ``close()`` (or the bus's ``unsubscribe``) ends the iterator too.
    """

    _END = object()

    def __init__(self, bus: EventBus, bound: int = STREAM_BOUND) -> None:
        if bound < 1:
            raise ValueError(f"an event stream holds at least 1 event, got {bound}")
        self._bus = bus
        self._queue: queue.Queue[Any] = queue.Queue(bound + 2)  # two slots kept: the overflow and end markers
        self._bound = bound
        self._lock = threading.Lock()
        self.closed = False
        self.overflowed = False

    def __call__(self, event: Event) -> None:
        with self._lock:
            if self.closed:
                return
            if self._queue.qsize() >= self._bound:
                self.overflowed = True
                self.closed = True
                self._queue.put_nowait(
                    Event("overflow", event.run_id, {"dropped": event.kind, "bound": self._bound}, event.at)
                )
                self._queue.put_nowait(self._END)
                self._bus.unsubscribe(self)
                return
            self._queue.put_nowait(event)

    def close(self) -> None:
        """Stop receiving; the iterator ends after the events already queued."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        self._bus.unsubscribe(self)
        with contextlib.suppress(queue.Full):  # a reader that far behind stops at the overflow marker
            self._queue.put_nowait(self._END)

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting up to ``timeout`` s (None: for ever); None at the end or on timeout."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is self._END:
            self._queue.put_nowait(self._END)  # later calls see the end too
            return None
        assert isinstance(item, Event)
        return item

    def __iter__(self) -> Iterator[Event]:
        while True:
            event = self.get()
            if event is None:
                return
            yield event
            if event.kind == "overflow":
                return


class EventBus:
    """Thread-safe publish/subscribe of run :class:`Event` s (in process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Subscriber:
        """Call ``subscriber(event)`` for every event published from now on; returns it (for ``unsubscribe``)."""
        with self._lock:
            self._subscribers = [*self._subscribers, subscriber]
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop calling ``subscriber`` (no error when it is not subscribed)."""
        with self._lock:
            self._subscribers = [s for s in self._subscribers if s is not subscriber]

    def stream(self, bound: int = STREAM_BOUND) -> EventStream:
        """A new subscribed :class:`EventStream` holding at most ``bound`` unread events."""
        stream = EventStream(self, bound)
        self.subscribe(stream)
        return stream

    def publish(self, kind: str, run_id: str, **data: Any) -> Event:
        """Deliver one event to every subscriber; a subscriber's exception is logged, not raised."""
        event = Event(kind, run_id, data)
        with self._lock:
            subscribers = self._subscribers
        for subscriber in subscribers:
            try:
                subscriber(event)
            except Exception:
                log.exception("run %s: an event subscriber failed on %s (the run goes on)", run_id, kind)
        return event
