"""Who may sign a DCC now, with which lab-issued key, and the audit entry of each signature.

A signatory signs with their newest lab-issued certificate that is valid now and not revoked, and only while they
are an active member of staff authorised to sign at least one procedure today
(:func:`registry.runs.signing_procedures`). Whether they may sign *this* certificate's procedure and are not its
run's technician is checked where the certificate is made from a run (not here: a file carries no run).
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from certificates.errors import PkiNotFoundError, PkiRefusedError
from certificates.pki import CertificateInfo, PkiPaths, list_signers
from certificates.signer import FileKeySigner
from registry import audit
from registry.runs import signing_procedures

#: the audit log's entity for a signed DCC file (entity id: the SHA-256 of the signed bytes)
SIGNED_ENTITY = "dcc_file"


def current_certificate(session: Session, username: str, now: datetime, paths: PkiPaths) -> CertificateInfo:
    """The newest certificate issued to ``username`` that is valid at ``now`` and not revoked.

    PkiNotFoundError when there is none, saying whether their certificates are expired, not yet valid or revoked."""
    mine = [i for i in list_signers(session, paths) if i.username == username]
    usable = [i for i in mine if i.revoked is None and i.not_before <= now <= i.not_after]
    if usable:
        return usable[0]  # list_signers sorts newest first
    if not mine:
        raise PkiNotFoundError(
            f"{username} has no signing certificate: issue one with `caltrace pki issue-signer {username}`"
        )
    why = "; ".join(
        f"{i.serial}: "
        + (f"revoked ({i.revoked})" if i.revoked else "expired" if i.not_after < now else "not valid yet")
        for i in mine
    )
    raise PkiNotFoundError(
        f"{username} has no usable signing certificate ({why}): issue a new one with "
        f"`caltrace pki issue-signer {username}`"
    )


def lab_signer(
    session: Session, username: str, passphrase: str, *, today: date, now: datetime, paths: PkiPaths
) -> FileKeySigner:
    """The key of ``username``'s current certificate, opened with ``passphrase``, after checking that they may
    sign today (NotPermittedError) and hold a usable certificate (PkiNotFoundError); PkiRefusedError for a wrong
    passphrase."""
    signing_procedures(session, username, today)
    info = current_certificate(session, username, now, paths)
    if not passphrase:
        raise PkiRefusedError(f"no passphrase given for {username}'s signing key")
    return FileKeySigner.issued(info.serial, passphrase, paths)


def record_signature(
    session: Session,
    signed: bytes,
    *,
    username: str,
    serial: str,
    signing_time: datetime,
    source: Path,
    out: Path,
    level: str = "XAdES-B-B",
) -> str:
    """Write a ``dcc-sign`` audit entry for the signed bytes; returns their SHA-256 (hex), the entry's entity id."""
    digest = hashlib.sha256(signed).hexdigest()
    audit.record(
        session,
        "dcc-sign",
        SIGNED_ENTITY,
        digest,
        {
            "username": username,
            "certificate_serial": serial,
            "signing_time": signing_time,
            "source": str(source),
            "out": str(out),
            "level": level,
        },
    )
    return digest
