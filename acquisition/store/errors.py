"""Errors of the reading store: each message says what went wrong and what to do about it."""

from __future__ import annotations


class StoreError(RuntimeError):
    """Base class of every reading-store error."""


class StoreAccessError(StoreError, PermissionError):
    """The store's file or directory cannot be created, opened or written (permissions, a file in the way)."""


class StoreVersionError(StoreError):
    """The store file was written by a newer caltrace (or is not a caltrace reading store at all)."""


class StoreBusyError(StoreError, TimeoutError):
    """Another writer held the store longer than the busy timeout."""


class StoreUnavailableError(StoreError, ConnectionError):
    """The time-series server cannot be reached (a query cannot be answered; appends spool instead)."""


class StoreAuthError(StoreError, PermissionError):
    """The time-series server refused the credentials (HTTP 401/403)."""


class StoreRejectedError(StoreError, ValueError):
    """The time-series server refused the data or the query as malformed (HTTP 4xx other than auth)."""


class StoreClosedError(StoreError):
    """The store was used after ``close()``."""
