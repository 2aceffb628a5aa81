"""Reconnection back-off shared by the transports."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Exponential back-off between reconnection attempts.

    After a failed attempt the next one is allowed only ``delay`` seconds later; ``delay`` doubles up to
    ``maximum`` and resets after a success. Times in seconds, from ``clock`` (monotonic).
    """

    initial: float = 0.2
    maximum: float = 10.0
    clock: Callable[[], float] = time.monotonic
    delay: float = field(init=False, default=0.0)
    next_attempt: float = field(init=False, default=0.0)

    def wait_left(self) -> float:
        """Seconds until another attempt is allowed (0 when allowed now)."""
        return max(0.0, self.next_attempt - self.clock())

    def failed(self) -> None:
        """Record a failed attempt and push the next one back."""
        self.delay = self.initial if self.delay == 0 else min(self.delay * 2, self.maximum)
        self.next_attempt = self.clock() + self.delay

    def succeeded(self) -> None:
        """Record a success: the next failure starts again from ``initial``."""
        self.delay = 0.0
        self.next_attempt = 0.0
