"""Rate limiting of the public routes (certificate verification, decision 0510): a token bucket per client address,
in process.

Each client address has a bucket of ``per_minute`` tokens that refills continuously at ``per_minute / 60`` tokens
per second; a request takes one token, and with none left it is refused with 429 and ``Retry-After`` (whole
seconds until one token is back). Memory is bounded: at most ``max_clients`` buckets are kept, the least recently
seen evicted first (a client evicted comes back with a full bucket, the generous direction for an address that has
been quiet longest). The time comes from the service's clock, so tests move it instead of sleeping.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from fastapi import Depends, Request

from api.web.errors import ApiProblem

#: buckets kept at most (one per client address): about 100 bytes each, so about 1 MB
MAX_CLIENTS = 10_000


class TokenBucketLimiter:
    """Token buckets per key (a client address), ``per_minute`` requests a minute with bursts of as many."""

    def __init__(self, per_minute: int, clock: Callable[[], datetime], *, max_clients: int = MAX_CLIENTS) -> None:
        if per_minute < 1:
            raise ValueError(f"a rate of {per_minute} requests per minute allows nothing: give at least 1")
        if max_clients < 1:
            raise ValueError(f"max_clients is {max_clients}: give at least 1")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at: POSIX s)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when allowed, else the seconds until a token is back."""
        now = self.clock().timestamp()
        with self._lock:
            tokens, at = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + max(0.0, now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)  # the least recently seen
        return wait


def client_address(request: Request) -> str:
    """The client's address as the server sees it (behind a reverse proxy, uvicorn's ``--proxy-headers`` with
    ``--forwarded-allow-ips`` makes it the forwarded one)."""
    return request.client.host if request.client is not None else "unknown"


def get_limiter(request: Request) -> TokenBucketLimiter:
    """The app's limiter of the public routes (made by ``create_app`` from the settings and the clock)."""
    limiter: TokenBucketLimiter = request.app.state.public_limiter
    return limiter


def public_rate_limit(request: Request) -> None:
    """Refuse the request with 429 (``Retry-After`` in seconds) when its client address has used its requests."""
    limiter = get_limiter(request)
    wait = limiter.take(client_address(request))
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise ApiProblem(
            429,
            "rate-limited",
            "Too many requests",
            f"this address sent more than {int(limiter.capacity)} requests a minute to the public "
            f"verification; try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


#: add to a public route's dependencies: ``dependencies=[RateLimited]``
RateLimited = Depends(public_rate_limit)
