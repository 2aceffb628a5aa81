"""Instrument addresses are URLs (data, not code).

Schemes
    ``serial:///dev/ttyUSB0?baud=9600&bytesize=8&parity=N&stopbits=1&xonxoff=0&rtscts=0&timeout=2``
        a local serial port (``serial://COM3`` on Windows).
    ``socket://10.0.0.5:4001?timeout=2``
        a serial device server as raw TCP (pyserial's own scheme; line settings are ignored by the transport,
        but ``baud`` etc. are still accepted so a record can say what the device server is set to).
    ``rfc2217://10.0.0.5:4001?baud=9600``
        a serial device server speaking RFC 2217 (line settings are sent to the server).
    ``modbus+tcp://host:502?unit=1&timeout=1``
        Modbus TCP.
    ``modbus+rtu:///dev/ttyUSB1?baud=19200&parity=E&unit=3``
        Modbus RTU on a local RS-485 port.
    ``modbus+rtu+socket://host:4001?unit=3``
        Modbus RTU frames (with CRC) carried on raw TCP by a serial device server.
    ``manual:``
        a person types the value (manual entry); ``?unit=g`` sets the default unit.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

from drivers.errors import AddressError

Kind = Literal["serial", "modbus-tcp", "modbus-rtu", "manual"]

_PARITIES = {"N": "N", "E": "E", "O": "O", "M": "M", "S": "S", "NONE": "N", "EVEN": "E", "ODD": "O"}
_SERIAL_KEYS = {"baud", "bytesize", "parity", "stopbits", "xonxoff", "rtscts", "timeout", "write_timeout"}
_ALIASES = {"baudrate": "baud", "data_bits": "bytesize", "databits": "bytesize", "stop_bits": "stopbits"}


@dataclass(frozen=True, slots=True)
class SerialSettings:
    """Line settings of a serial link. ``baud`` in bit/s; ``stopbits`` 1, 1.5 or 2."""

    baud: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    xonxoff: bool = False
    rtscts: bool = False

    def bits_per_character(self) -> int:
        """Bits on the wire per character: start + data + parity + stop (rounded up)."""
        parity_bits = 0 if self.parity == "N" else 1
        return int(1 + self.bytesize + parity_bits + (2 if self.stopbits > 1 else 1))

    def seconds_per_byte(self) -> float:
        """Time one character takes on the line, in seconds."""
        return self.bits_per_character() / self.baud


@dataclass(frozen=True, slots=True)
class Address:
    """A parsed instrument address.

    ``target`` is what the transport opens: a pyserial URL or port name for serial links, ``host:port`` for
    Modbus TCP. ``timeout`` is the reply timeout in seconds. ``unit`` is the Modbus device id (1..247).
    """

    url: str
    kind: Kind
    target: str
    serial: SerialSettings = field(default_factory=SerialSettings)
    timeout: float = 1.0
    unit: int = 1
    host: str = ""
    port: int = 0
    options: dict[str, str] = field(default_factory=dict)

    @property
    def shown(self) -> str:
        """The address as messages, logs and default instrument ids show it: no password, at most 100 characters."""
        return shown(self.url)

    @property
    def is_network(self) -> bool:
        """True when the link is TCP (serial device server or Modbus TCP): line settings do not apply."""
        return self.kind == "modbus-tcp" or self.target.startswith(("socket://", "rfc2217://"))


def _brief(text: str) -> str:
    """``repr(text)`` cut to 40 characters, for a message."""
    quoted = repr(text)
    return quoted if len(quoted) <= 40 else quoted[:39] + "…"


def _netloc(host: str, port: int) -> str:
    """``host:port``, an IPv6 host in brackets (``[::1]:4001``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _number(url: str, key: str, text: str, kind: type[int] | type[float]) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise AddressError(f"{url}: parameter {key}={_brief(text)} is not a number") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise AddressError(f"{url}: parameter {key}={_brief(text)} is not a finite number")
    return value


def _flag(url: str, key: str, text: str) -> bool:
    low = text.lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off"}:
        return False
    raise AddressError(f"{url}: parameter {key}={_brief(text)} must be 0 or 1")


#: how much of an address an error message quotes (characters)
SHOWN = 100
_USERINFO = re.compile(r"(?<=://)([^/@:?#]*):[^/@?#]*@")


def shown(url: str) -> str:
    """``url`` as an error message may quote it: a password in ``user:password@`` replaced by ``***``, control
    characters escaped, at most :data:`SHOWN` characters (then ``…``)."""
    text = _USERINFO.sub(r"\1:***@", url)
    text = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def parse_address(url: str, default_timeout: float = 1.0) -> Address:
    """Parse an instrument address URL; raise :class:`AddressError` saying what is wrong (quoting at most a short,
    password-free excerpt of it)."""
    if not isinstance(url, str) or not url.strip():
        raise AddressError("empty instrument address: give a URL such as serial:///dev/ttyUSB0?baud=9600")
    try:
        return _parse(url.strip(), default_timeout)
    except AddressError:
        raise
    except (ValueError, TypeError, UnicodeError, OverflowError) as exc:  # urllib's own complaints
        raise AddressError(
            f"{shown(url.strip())}: not a valid address ({exc}); write e.g. socket://10.0.0.5:4001 or "
            "socket://[fe80::1]:4001"
        ) from None


def _parse(full: str, default_timeout: float) -> Address:
    url = shown(full)
    parts = urlsplit(full)
    scheme = parts.scheme.lower()
    raw: dict[str, str] = {}
    for given, value in parse_qsl(parts.query, keep_blank_values=True):
        key = _ALIASES.get(given.lower(), given.lower())
        if key in raw:
            raise AddressError(f"{url}: parameter {key!r} given twice")
        raw[key] = value

    def serial_settings() -> SerialSettings:
        s = SerialSettings()
        baud = int(_number(url, "baud", raw["baud"], int)) if "baud" in raw else s.baud
        if baud <= 0:
            raise AddressError(f"{url}: baud must be positive")
        bytesize = int(_number(url, "bytesize", raw["bytesize"], int)) if "bytesize" in raw else s.bytesize
        if bytesize not in (5, 6, 7, 8):
            raise AddressError(f"{url}: bytesize must be 5, 6, 7 or 8, got {bytesize}")
        parity = _PARITIES.get(raw.get("parity", s.parity).upper())
        if parity is None:
            raise AddressError(f"{url}: parity must be N, E, O, M or S, got {_brief(raw['parity'])}")
        stopbits = _number(url, "stopbits", raw["stopbits"], float) if "stopbits" in raw else s.stopbits
        if stopbits not in (1, 1.5, 2):
            raise AddressError(f"{url}: stopbits must be 1, 1.5 or 2, got {_brief(raw['stopbits'])}")
        return SerialSettings(
            baud=baud,
            bytesize=bytesize,
            parity=parity,
            stopbits=stopbits,
            xonxoff=_flag(url, "xonxoff", raw["xonxoff"]) if "xonxoff" in raw else False,
            rtscts=_flag(url, "rtscts", raw["rtscts"]) if "rtscts" in raw else False,
        )

    timeout = _number(url, "timeout", raw["timeout"], float) if "timeout" in raw else default_timeout
    if not 0 < timeout <= 3600:
        raise AddressError(f"{url}: timeout must be between 0 and 3600 s, got {timeout}")

    def check_keys(allowed: set[str]) -> dict[str, str]:
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise AddressError(
                f"{url}: unknown parameter(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
            )
        return {k: v for k, v in raw.items() if k not in _SERIAL_KEYS | {"unit"}}

    def host_port(default_port: int | None) -> tuple[str, int]:
        try:
            port = parts.port
        except ValueError:
            raise AddressError(f"{url}: the port is not a number between 0 and 65535") from None
        host = parts.hostname or ""
        if not host:
            raise AddressError(f"{url}: no host; write e.g. {scheme}://10.0.0.5:4001")
        if port is None:
            if default_port is None:
                raise AddressError(f"{url}: no TCP port; write e.g. {scheme}://10.0.0.5:4001")
            port = default_port
        return host, port

    def unit_id() -> int:
        unit = int(_number(url, "unit", raw["unit"], int)) if "unit" in raw else 1
        if not 0 <= unit <= 247:
            raise AddressError(f"{url}: Modbus unit must be 0..247, got {unit}")
        return unit

    if scheme == "serial":
        device = (parts.netloc + parts.path) if parts.netloc else parts.path
        if not device:
            raise AddressError(f"{url}: no serial port; write e.g. serial:///dev/ttyUSB0")
        options = check_keys(_SERIAL_KEYS)
        return Address(full, "serial", device, serial_settings(), timeout, options=options)
    if scheme in ("socket", "rfc2217"):
        host, port = host_port(None)
        options = check_keys(_SERIAL_KEYS)
        return Address(
            full, "serial", f"{scheme}://{_netloc(host, port)}", serial_settings(), timeout, 1, host, port, options
        )
    if scheme == "modbus+tcp":
        host, port = host_port(502)
        options = check_keys({"unit", "timeout"})
        return Address(
            full, "modbus-tcp", _netloc(host, port), SerialSettings(), timeout, unit_id(), host, port, options
        )
    if scheme == "modbus+rtu":
        device = (parts.netloc + parts.path) if parts.netloc else parts.path
        if not device:
            raise AddressError(f"{url}: no serial port; write e.g. modbus+rtu:///dev/ttyUSB1?baud=19200&unit=3")
        options = check_keys(_SERIAL_KEYS | {"unit"})
        return Address(full, "modbus-rtu", device, serial_settings(), timeout, unit_id(), options=options)
    if scheme == "modbus+rtu+socket":
        host, port = host_port(None)
        options = check_keys(_SERIAL_KEYS | {"unit"})
        return Address(
            full,
            "modbus-rtu",
            f"socket://{_netloc(host, port)}",
            serial_settings(),
            timeout,
            unit_id(),
            host,
            port,
            options,
        )
    if scheme == "manual":
        options = check_keys({"unit", "timeout", "quantity"})
        return Address(
            full,
            "manual",
            "",
            SerialSettings(),
            timeout,
            options=options | ({"unit": raw["unit"]} if "unit" in raw else {}),
        )
    raise AddressError(
        f"{url}: unknown scheme {parts.scheme!r}; use serial://, socket://, rfc2217://, modbus+tcp://, "
        "modbus+rtu://, modbus+rtu+socket:// or manual:"
    )
