"""The part of a DCC that says which certificate it replaces (``coreData/reportAmendedSubstituted`` and
``coreData/previousReport``, DCC 3.3.0 ``reportAmendedSubstitutedType`` and ``hashType``), kept apart from the
writer of :mod:`certificates.dcc` so that the amending workflow (decision 0450) edits nothing else there.

``typeOfChange`` is ``substituted``: caltrace's amendment is a complete new certificate with a new number that
replaces the original (ISO/IEC 17025:2017 7.8.8.3: a completely new report is uniquely identified and refers to the
original it replaces; 7.8.8.1: the reason for a change is stated where appropriate. Read in a paraphrase of the
clauses, not the standard's own text: **unverified**). ``previousReport`` carries the original's number, the SHA-256
of its stored signed XML and the reason for the replacement (the schema's ``reportAmendedSubstitutedType`` has no
place for a reason).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from certificates.dcc_xml import el, q

#: the hash procedure named in ``previousReport/procedure``
HASH_PROCEDURE = "SHA-256"


@dataclass(frozen=True)
class Replaces:
    """The certificate a new one replaces: its number, the SHA-256 (hex) of its stored signed DCC and why."""

    number: str
    sha256: str
    reason: str


_TEXT = {
    "referral": {"vi": "Giấy chứng nhận được thay thế", "en": "Certificate replaced"},
    "reason": {"vi": "Lý do thay thế: {reason}", "en": "Reason for the replacement: {reason}"},
}


def write_replaces(root: etree._Element, replaces: Replaces, languages: Sequence[str]) -> None:
    """Append ``reportAmendedSubstituted`` and ``previousReport`` to the root's ``coreData`` (after
    ``issueDate``, their place in the schema's sequence). ValueError for an empty number, hash or reason."""
    if not (replaces.number.strip() and replaces.sha256.strip() and replaces.reason.strip()):
        raise ValueError("a replacing certificate needs the replaced number, its SHA-256 and a reason")
    core = root.find(f"{q('dcc:administrativeData')}/{q('dcc:coreData')}")
    if core is None:
        raise ValueError("the DCC has no administrativeData/coreData")
    ras = el(core, "dcc:reportAmendedSubstituted")
    el(ras, "dcc:typeOfChange", "substituted")
    el(ras, "dcc:replacedUniqueIdentifier", replaces.number)
    prev = el(core, "dcc:previousReport")
    referral = el(prev, "dcc:referral")
    for lang in languages:
        el(referral, "dcc:content", _TEXT["referral"][lang], lang=lang)
    el(prev, "dcc:referralID", replaces.number)
    el(prev, "dcc:procedure", HASH_PROCEDURE)
    el(prev, "dcc:value", replaces.sha256)
    description = el(prev, "dcc:description")
    for lang in languages:
        el(description, "dcc:content", _TEXT["reason"][lang].format(reason=replaces.reason.strip()), lang=lang)
