"""Ports for the servers the tests start (PostgreSQL, InfluxDB), chosen so that nothing else takes them meanwhile.

A port the kernel hands out for ``bind(0)`` comes from the ephemeral range, the same range it uses for the source
port of every outgoing connection; between choosing it and the server binding it, any loopback client of the busy
test run can take it ("address already in use", seen in CI). Ports here come from below that range, are checked
free, and are never handed out twice in one process.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_ISSUED: set[int] = set()
_LOWEST = 20000  # above the well-known and most registered service ports


def _ephemeral_start() -> int:
    """First port of the kernel's ephemeral range (Linux default 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def server_port() -> int:
    """A TCP port on 127.0.0.1 outside the ephemeral range, free now and not given out before by this process."""
    top = _ephemeral_start() - 1
    if top - _LOWEST < 1000:  # an unusual range: fall back to the kernel's choice
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    for _ in range(200):
        port = random.randint(_LOWEST, top)
        if port not in _ISSUED and _bindable(port):
            _ISSUED.add(port)
            return port
    raise RuntimeError(f"no free TCP port between {_LOWEST} and {top} on 127.0.0.1 after 200 tries")
