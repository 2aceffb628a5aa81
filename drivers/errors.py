"""Errors raised by transports and drivers.

Every error built on a builtin so callers can catch broadly (``TimeoutError``, ``OSError``, ``ValueError``) or
narrowly (``DeviceTimeoutError``). Messages name the instrument (model, serial, address) and say what to do.
"""

from __future__ import annotations


class DriverError(Exception):
    """Base class of every error raised in ``drivers``."""


class AddressError(DriverError, ValueError):
    """An instrument address URL that cannot be used (bad scheme, parameter or value)."""


class DeviceConnectionError(DriverError, OSError):
    """The instrument could not be reached or the connection dropped."""


class DeviceTimeoutError(DriverError, TimeoutError):
    """The instrument did not answer within the transport's timeout."""


class ProtocolError(DriverError, ValueError):
    """A reply that does not follow the instrument's protocol (garbled, truncated, unexpected)."""


class DeviceError(DriverError):
    """The instrument understood the exchange but reported an error or refused the command.

    ``code`` is the instrument's own error token (e.g. MT-SICS ``ES``/``EL``/``I``), when it has one.
    """

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class UnknownModelError(DriverError, LookupError):
    """No driver is registered under the model name."""
