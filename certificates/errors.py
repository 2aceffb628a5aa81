"""Errors of the lab's key infrastructure; each message says what is wrong and what to do.

``exit_code`` is the CLI's exit code for the error (the README's table): 1 when something needed is not there
(no CA yet, no such certificate, token not found), 2 for bad usage or a refusal (wrong passphrase or PIN, a CA that
would be overwritten, a signatory not authorised).
"""

from __future__ import annotations


class PkiError(Exception):
    """Base of the key infrastructure's errors: the work could not be done (exit 1)."""

    exit_code = 1


class PkiNotFoundError(PkiError):
    """Something the command needs does not exist: no lab CA yet, no such certificate, no such token or key."""


class PkiRefusedError(PkiError):
    """Bad usage or a refusal: wrong passphrase or PIN, an existing CA without ``--force``, a bad value."""

    exit_code = 2
