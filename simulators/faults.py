"""Fault injection shared by every simulator: drop, delay, garble, disconnect, stop answering."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from enum import StrEnum


class ReplyFault(StrEnum):
    """What happens to the next reply."""

    NONE = "none"
    DROP = "drop"  # the reply is not sent
    GARBLE = "garble"  # the reply is sent with corrupted bytes (its line end kept)
    DISCONNECT = "disconnect"  # the connection is closed instead of replying


@dataclass
class Faults:
    """Faults to inject; safe to change from another thread while the simulator runs.

    ``drop``, ``garble`` and ``disconnect`` count replies still to be affected; ``delay`` (s) is added before
    every reply; ``silent`` stops all replies until cleared.
    """

    drop: int = 0
    garble: int = 0
    disconnect: int = 0
    delay: float = 0.0
    silent: bool = False
    seed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def inject(self, fault: str, count: int = 1, seconds: float = 0.0) -> None:
        """Arm a fault by name: drop, garble, disconnect (next ``count`` replies), delay (s), silent, clear."""
        with self._lock:
            match fault:
                case "drop":
                    self.drop += count
                case "garble":
                    self.garble += count
                case "disconnect":
                    self.disconnect += count
                case "delay":
                    if seconds < 0:
                        raise ValueError("delay must be >= 0 s")
                    self.delay = seconds
                case "silent":
                    self.silent = True
                case "clear":
                    self.drop = self.garble = self.disconnect = 0
                    self.delay = 0.0
                    self.silent = False
                case _:
                    raise ValueError(f"unknown fault {fault!r}: use drop, garble, disconnect, delay, silent or clear")

    def take(self) -> ReplyFault:
        """Consume and return the fault for the reply about to be sent."""
        with self._lock:
            if self.silent:
                return ReplyFault.DROP
            if self.disconnect:
                self.disconnect -= 1
                return ReplyFault.DISCONNECT
            if self.drop:
                self.drop -= 1
                return ReplyFault.DROP
            if self.garble:
                self.garble -= 1
                return ReplyFault.GARBLE
            return ReplyFault.NONE

    def garble_bytes(self, data: bytes, keep_suffix: bytes = b"") -> bytes:
        """Corrupt ``data`` (random bytes, never CR/LF) but keep ``keep_suffix`` so a line still ends."""
        body = data[: len(data) - len(keep_suffix)] if keep_suffix and data.endswith(keep_suffix) else data
        suffix = data[len(body) :]
        with self._lock:
            noise = bytes(self._rng.choice([b for b in range(256) if b not in (10, 13)]) for _ in body or b"x")
        return noise + suffix
