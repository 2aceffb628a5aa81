"""A simulated serial instrument behind a TCP port, as a serial device server presents it (raw TCP).

The server models the wire: bytes travel at the configured line rate in both directions (a request of n bytes
is only "received" n character-times after it started; a reply leaves one character-time per byte), so tests and
benchmarks meet the same limits as a real RS-232 link. A pty or a plain socket would not.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from drivers.address import SerialSettings
from simulators.faults import Faults, ReplyFault

CRLF = b"\r\n"


class LineConnection:
    """One client connection: paced line input and paced, fault-injected output.

    ``settings`` gives the line rate to pace at; ``None`` means as fast as the socket goes.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        settings: SerialSettings | None,
        faults: Faults,
        terminator: bytes = CRLF,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.settings = settings
        self.faults = faults
        self.terminator = terminator
        self.closed = False
        self._line_free_at = 0.0  # monotonic time the output line finishes the last byte queued
        self._send_lock = asyncio.Lock()

    @property
    def char_time(self) -> float:
        """Seconds per character on the line (0 when not paced)."""
        return self.settings.seconds_per_byte() if self.settings else 0.0

    async def read_line(self, max_len: int = 4096) -> bytes | None:
        """Next request line (terminator included), ``None`` when the client closed.

        A request line longer than ``max_len`` is returned as it is, unterminated, so the instrument can
        answer with its syntax error.
        """
        try:
            line = await self.reader.readuntil(self.terminator)
        except asyncio.IncompleteReadError as exc:
            return exc.partial or None
        except asyncio.LimitOverrunError:
            line = await self.reader.read(max_len)
        except (ConnectionError, OSError):
            return None
        if self.char_time:
            await asyncio.sleep(len(line) * self.char_time)  # the bytes arrive at line rate
        return line

    async def send(self, data: bytes) -> bool:
        """Send a reply through the fault injector and the line pacing. False once the connection is gone."""
        if self.closed:
            return False
        fault = self.faults.take()
        if self.faults.delay:
            await asyncio.sleep(self.faults.delay)
        if fault is ReplyFault.DROP:
            return True
        if fault is ReplyFault.DISCONNECT:
            await self.close()
            return False
        if fault is ReplyFault.GARBLE:
            data = self.faults.garble_bytes(data, self.terminator)
        return await self._paced_write(data)

    async def _paced_write(self, data: bytes) -> bool:
        async with self._send_lock:
            try:
                tb = self.char_time
                if not tb:
                    self.writer.write(data)
                    await self.writer.drain()
                    return True
                start = max(time.monotonic(), self._line_free_at)
                sent = 0
                while sent < len(data):
                    now = time.monotonic()
                    due = int((now - start) / tb)  # characters whose last bit has left by now
                    if due > sent:
                        self.writer.write(data[sent:due])
                        await self.writer.drain()
                        sent = min(due, len(data))
                    if sent < len(data):
                        await asyncio.sleep(max(0.0, start + (sent + 1) * tb - time.monotonic()))
                self._line_free_at = start + len(data) * tb
                return True
            except (ConnectionError, OSError):
                self.closed = True
                return False

    async def close(self) -> None:
        """Close the connection (as a device server does when the device vanishes)."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(ConnectionError, OSError):
            self.writer.close()
            await self.writer.wait_closed()


Handler = Callable[[LineConnection], Awaitable[None]]


class SerialServer:
    """TCP listener that hands each connection to ``handler`` (the instrument's protocol loop).

    Bind to 127.0.0.1 only. ``port=0`` picks a free port; read it from :attr:`port` after :meth:`start`.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        settings: SerialSettings | None = None,
        faults: Faults | None = None,
        terminator: bytes = CRLF,
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.settings = settings
        self.faults = faults or Faults()
        self.terminator = terminator
        self._server: asyncio.Server | None = None
        self._connections: set[LineConnection] = set()

    @property
    def url(self) -> str:
        """The address a driver connects to (``socket://127.0.0.1:PORT``)."""
        return f"socket://{self.host}:{self.port}"

    async def start(self) -> None:
        """Start listening; returns once the port accepts connections."""
        self._server = await asyncio.start_server(self._on_client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections):
            await conn.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def drop_connections(self) -> None:
        """Close every client connection now (the device vanished); the port keeps listening."""
        for conn in list(self._connections):
            await conn.close()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = LineConnection(reader, writer, self.settings, self.faults, self.terminator)
        self._connections.add(conn)
        try:
            await self.handler(conn)
        except (ConnectionError, OSError):
            pass
        finally:
            self._connections.discard(conn)
            await conn.close()
