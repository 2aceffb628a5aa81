"""Errors of the registry layer; each message says what went wrong and what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from registry.importer.messages import Language, Message


class RegistryError(Exception):
    """Base of registry errors."""


class DatabaseError(RegistryError):
    """The database cannot be reached or used (bad URL, server down, permissions)."""


class BadSettingError(DatabaseError):
    """A setting that cannot be used as written (CALTRACE_DATABASE_URL not a supported URL, an unknown
    CALTRACE_TIMEZONE): the user must change it (the CLI exits 2)."""


class RegistryBusyError(DatabaseError):
    """The registry stayed locked by another writer longer than the retries allowed; nothing was written."""


class SchemaOutOfDateError(RegistryError):
    """The database schema is not the one this caltrace expects (run ``caltrace db upgrade``, or upgrade caltrace)."""


class ImportFileError(RegistryError):
    """A spreadsheet that cannot be read at all (wrong type, missing columns, unreadable file); ``message`` in
    Vietnamese and English (:mod:`registry.importer.messages`), ``str()`` in English."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.text("en"))
        self.message = message

    def text(self, language: Language = "vi") -> str:
        """What is wrong with the file, in ``language``."""
        return self.message.text(language)


class NotFoundError(RegistryError, LookupError):
    """A record named by the user does not exist."""


class NotPermittedError(RegistryError):
    """The registry's records forbid the request: staff not authorised, standard expired or unsuitable."""


class MigrationRefusedError(RegistryError):
    """A migration cannot convert the data it finds; the message names the records and what to change first."""
