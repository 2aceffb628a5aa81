"""Importing a reference standard's DCC into its certificate history (caltrace issue 17 item 8, decision 0460).

:func:`import_standard_dcc` does, in order, and writes only when every step agrees:

1. verifies the file with :func:`certificates.verify.verify_bytes`: a failed step refuses; a step that could not
   confirm (``warn``: unsigned, no trusted timestamp, schema validation off...) refuses unless the caller accepts
   the warnings (``accept_warnings``, the CLI's ``--accept-warnings``);
2. reads it (:func:`certificates.read_dcc.read_dcc`); anything it could not read refuses;
3. checks that the certificate's item is the standard: one of its identifications equals the standard's registered
   serial number (ignoring case and spaces); a standard without a serial number, or a mismatch, refuses;
4. maps the values to the standard's certificate rows:

   - a weight set (``registry.importer.standards.WEIGHT_SET``): every value a conventional-mass correction
     (m_c − m_0) or a conventional mass (correction = m_c − nominal), with its nominal value, U and k, converted to
     g; each matched to a piece of the set (the pieces of its newest certificate) by nominal value and marking: a
     piece not in the set, a nominal value the set has twice without a marking to tell them apart, or two results
     for one piece refuse. A set without a certificate yet takes the certificate's pieces as its own (noted);
   - a single reference weight (kind ``reference weight``): exactly one such value, its nominal value the
     registered one; recorded as its conventional mass in g (the rows the R111 procedure reads);
   - any other standard: each value with its quantity's name, nominal value (when of the value's dimension), U, k;
   - a (true) mass where a conventional mass is needed is refused, not converted (conventional mass: OIML D 28; the
     conversion needs the density and its uncertainty, which a caller would have to vouch for);

5. writes the certificate through the spreadsheet import's own checks (:func:`registry.importer.
   import_certificate_document`: the same validation as a spreadsheet row, whole or nothing, an ``import`` audit
   event naming the file and its SHA-256, which the record keeps too). The check runs first as a dry run; nothing,
   not even the audit event, is written when it rejects anything, or with ``dry_run``.

The validity end (``due``) is the caller's: a DCC states no recalibration date (ISO/IEC 17025:2017 7.8.4.3 lets a
certificate recommend one only when agreed with the customer)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography import x509
from sqlalchemy.orm import Session

from certificates.read_dcc import DccContent, DccReadError, DccValue, read_dcc
from certificates.read_dcc_messages import m
from certificates.verify import STEP_TITLES, Report, Step, verify_bytes
from registry.errors import NotFoundError
from registry.importer import Catalogue, ImportReport, import_certificate_document
from registry.importer.cells import Cell
from registry.importer.messages import Message, Quantity
from registry.importer.standards import WEIGHT_SET
from registry.models import ReferenceStandard
from registry.queries import find_standard, standard_with_certificate
from registry.units import convert
from registry.vocabulary import identity_part, name_key

#: the kind of a single reference weight (the R111 procedure's ``reference`` role)
REFERENCE_WEIGHT = "reference weight"
#: the longest quantity name a certificate row keeps (the import's limit for the ``quantity`` column)
QUANTITY_LIMIT = 40
_UG = Decimal(1_000_000)  # micrograms per gram: pieces are matched in whole micrograms


@dataclass(frozen=True)
class Recorded:
    """One value as read (``source``) and what the registry records for it (``row``: the import's cells)."""

    source: DccValue
    row: dict[str, Cell]
    piece: str = ""  # the piece of the set it was matched to ("200 g", "200 g*", a marking)


@dataclass
class StandardDccImport:
    """The outcome: what was verified and read, what it maps to, the reasons it was refused, notes, and the
    import's report (None when refused before the registry was asked)."""

    file: str
    sha256: str
    code: str
    dry_run: bool
    verification: Report | None = None
    content: DccContent | None = None
    standard: ReferenceStandard | None = None
    recorded: list[Recorded] = field(default_factory=list)
    refusals: list[Message] = field(default_factory=list)
    notes: list[Message] = field(default_factory=list)
    report: ImportReport | None = None

    @property
    def ok(self) -> bool:
        """True when nothing refused it (a dry run: it would be imported)."""
        return not self.refusals and self.report is not None and self.report.ok

    @property
    def written(self) -> bool:
        """True when the certificate is now in the registry."""
        return self.ok and not self.dry_run


def number_cell(value: Decimal) -> str:
    """A Decimal as the import's number cell, digit for digit: no exponent, and a trailing 0 where a lone point
    with exactly three decimals would read as a thousands separator (``200.000`` -> ``200.0000``)."""
    text = format(value, "f")
    if "." in text:
        whole, fraction = text.lstrip("-").split(".")
        if len(fraction) == 3 and len(whole) <= 3 and whole[:1] != "0":
            text += "0"
    return text


def _quantity_cell(value: Decimal, unit: str) -> str:
    return f"{number_cell(value)} {unit}".strip()


def _item_check(result: StandardDccImport, content: DccContent, standard: ReferenceStandard) -> None:
    ids = "; ".join(f"{issuer} {value}".strip() for issuer, value in content.item_ids) or "-"
    if not standard.serial_number.strip():
        result.refusals.append(m("item.no_serial", code=standard.code, ids=ids))
    elif not content.item_ids:
        result.refusals.append(m("item.none"))
    elif identity_part(standard.serial_number) not in {identity_part(v) for _, v in content.item_ids}:
        result.refusals.append(m("item.mismatch", ids=ids, code=standard.code, serial=standard.serial_number))


@dataclass(frozen=True)
class _Piece:
    """A piece of the set as its newest certificate lists it."""

    ug: int
    label: str  # the row's own label ("" when none)
    shown: str  # its name as the weight-set procedure gives it ("200 g", "200 g*", or the label)


def _set_pieces(standard: ReferenceStandard) -> list[_Piece]:
    """The pieces of the weight set's newest certificate (by calibration date), named as
    :func:`acquisition.procedures.weightset.pieces` names them (the registry layer cannot import it)."""
    if not standard.certificates:
        return []
    newest = max(standard.certificates, key=lambda c: (c.calibrated_on, c.id or 0))
    out: list[_Piece] = []
    seen: dict[str, int] = {}
    for row in newest.values:
        if not isinstance(row, dict) or row.get("point") is None:
            continue
        nominal = Decimal(repr(float(row["point"])))
        label = str(row.get("label") or "")
        base = label or f"{float(row['point']):g} g"
        seen[base] = seen.get(base, 0) + 1
        out.append(_Piece(int((nominal * _UG).to_integral_value()), label, base + "*" * (seen[base] - 1)))
    return out


def _match(pieces: Sequence[_Piece], ug: int, marking: str) -> list[_Piece]:
    """The pieces of the set a value can be (one: matched; none: not in the set; several: ambiguous).

    Same nominal value (to 1 µg), then: a marking names the piece whose label, or whose name (``200 g*``), it is;
    a piece of that nominal value without a label in the registry takes any marking when it is the only one. No
    marking names the one piece of that nominal value without a label, or the only piece of that nominal value."""
    candidates = [p for p in pieces if p.ug == ug]
    if marking:
        key = name_key(marking)
        named = [p for p in candidates if key in (name_key(p.label), name_key(p.shown))]
        if named:
            return named
        return candidates if len(candidates) == 1 and not candidates[0].label else []
    unlabelled = [p for p in candidates if not p.label]
    return unlabelled if len(unlabelled) == 1 else candidates


def _grams(v: DccValue, result: StandardDccImport) -> tuple[Decimal, Decimal, Decimal] | None:
    """(nominal g, correction g, U g) of a weight's value, or None after refusing it."""
    if v.kind == "mass":
        result.refusals.append(m("value.true_mass", where=v.where))
        return None
    if v.kind not in ("correction", "conventional mass"):
        result.refusals.append(m("value.not_weight", where=v.where, name=v.name))
        return None
    if v.nominal is None:
        result.refusals.append(m("value.no_nominal", where=v.where))
        return None
    assert v.U is not None
    nominal = convert(v.nominal, v.nominal_unit, "g", difference=False)
    value = convert(v.value, v.unit, "g", difference=v.kind == "correction")
    U = convert(v.U, v.U_unit, "g", difference=True)
    for got, unit in ((nominal, v.nominal_unit), (value, v.unit), (U, v.U_unit)):
        if got is None:
            result.refusals.append(m("value.not_mass_unit", where=v.where, unit=unit))
            return None
    assert nominal is not None and value is not None and U is not None
    return nominal, (value if v.kind == "correction" else value - nominal), U


def _weight_set(result: StandardDccImport, header: dict[str, Cell], values: Sequence[DccValue]) -> None:
    standard = result.standard
    assert standard is not None
    pieces = _set_pieces(standard)
    if not pieces:
        result.notes.append(m("piece.first", code=standard.code))
    used: dict[object, Message] = {}
    for v in values:
        grams = _grams(v, result)
        if grams is None:
            continue
        nominal, correction, U = grams
        ug = int((nominal * _UG).to_integral_value())
        shown = v.label or f"{nominal.normalize():f} g"
        label = v.label
        key: object
        if pieces:
            chosen = _match(pieces, ug, v.label)
            if not chosen:
                listed = ", ".join(p.shown for p in pieces)
                result.refusals.append(m("piece.not_in_set", where=v.where, piece=shown, code=standard.code,
                                         pieces=listed))  # fmt: skip
                continue
            if len(chosen) > 1:
                listed = ", ".join(p.shown for p in chosen)
                result.refusals.append(m("piece.ambiguous", where=v.where, code=standard.code,
                                         nominal=Quantity(nominal.normalize(), "g"), pieces=listed))  # fmt: skip
                continue
            key, label, shown = chosen[0], chosen[0].label, chosen[0].shown
        else:
            key = (ug, name_key(v.label))
        if key in used:
            result.refusals.append(m("piece.twice", where=v.where, piece=shown, first=used[key]))
            continue
        used[key] = v.where
        row: dict[str, Cell] = {
            **header,
            "nominal": number_cell(nominal),
            "correction": number_cell(correction),
            "uncertainty": number_cell(U),
            "k": number_cell(v.k or Decimal(0)),
            "unit": "g",
        }
        if label:
            row["label"] = label
        result.recorded.append(Recorded(v, row, shown))
    missing = [p.shown for p in pieces if p not in used]
    if pieces and missing and not result.refusals:
        result.notes.append(m("piece.not_covered", pieces=", ".join(missing), code=standard.code))


def _reference_weight(result: StandardDccImport, header: dict[str, Cell], values: Sequence[DccValue]) -> None:
    standard = result.standard
    assert standard is not None
    weights = [v for v in values if v.kind in ("correction", "conventional mass", "mass")]
    if len(weights) != 1:
        if not weights and values:
            for v in values:
                result.refusals.append(m("value.not_weight", where=v.where, name=v.name))
        else:
            result.refusals.append(m("weight.one", code=standard.code, n=len(weights)))
        return
    v = weights[0]
    grams = _grams(v, result)
    if grams is None:
        return
    nominal, correction, U = grams
    if standard.range_max is not None and standard.range_unit:
        registered = convert(Decimal(repr(standard.range_max)), standard.range_unit, "g", difference=False)
        if registered is not None and registered != nominal:
            result.refusals.append(m("weight.nominal", where=v.where, nominal=Quantity(nominal.normalize(), "g"),
                                     code=standard.code,
                                     registered=Quantity(standard.range_max, standard.range_unit)))  # fmt: skip
            return
    row: dict[str, Cell] = {
        **header,
        "nominal": number_cell(nominal),
        "value": number_cell(nominal + correction),
        "uncertainty": number_cell(U),
        "k": number_cell(v.k or Decimal(0)),
        "unit": "g",
    }
    result.recorded.append(Recorded(v, row, f"{nominal.normalize():f} g"))


def _other(result: StandardDccImport, header: dict[str, Cell], values: Sequence[DccValue]) -> None:
    for v in values:
        assert v.U is not None and v.k is not None
        name = v.name
        if len(name) > QUANTITY_LIMIT:
            result.notes.append(m("value.name_long", where=v.where, name=name, limit=QUANTITY_LIMIT))
            name = name[:QUANTITY_LIMIT].rstrip()
        U = convert(v.U, v.U_unit, v.unit, difference=True)
        if U is None:
            result.refusals.append(m("value.u_unit", where=v.where, u_unit=v.U_unit, unit=v.unit))
            continue
        row: dict[str, Cell] = {
            **header,
            "quantity": name,
            "value": _quantity_cell(v.value, v.unit),
            "uncertainty": _quantity_cell(U, v.unit),
            "k": number_cell(v.k),
        }
        if v.nominal is not None:
            point = convert(v.nominal, v.nominal_unit, v.unit, difference=False) if v.unit else None
            if point is None:
                result.notes.append(m("value.point_dropped", where=v.where,
                                      nominal=Quantity(v.nominal, v.nominal_unit)))  # fmt: skip
            else:
                row["nominal"] = _quantity_cell(point, v.unit)
        if v.label:
            row["label"] = v.label
        result.recorded.append(Recorded(v, row))


def _verify(result: StandardDccImport, report: Report, accept_warnings: bool) -> None:
    """A failed step refuses; a step not confirmed refuses unless ``accept_warnings``."""
    failed = [s for s in report.steps if s.outcome == "fail"]
    warned = [s for s in report.steps if s.outcome == "warn"]
    if failed:
        result.refusals.append(m("verify.failed", steps=_steps(failed)))
    elif warned and not accept_warnings:
        result.refusals.append(m("verify.warnings", steps=_steps(warned)))


def _steps(steps: Sequence[Step]) -> Message:
    """The steps' titles and details, in each language (a message argument rendered in the reader's language)."""

    def listed(language: str) -> str:
        text = "; ".join(f"{STEP_TITLES[s.name][language]}: {s.detail(language).rstrip('. ')}" for s in steps)
        return text.replace("{", "{{").replace("}", "}}")

    return Message("verify.steps", (), (listed("vi"), listed("en")))


def _rejected(session: Session, content: DccContent, reason: Message) -> Message:
    """The import's reason for rejecting a row, as a refusal; a certificate already registered names its
    standard (the spreadsheet import's advice, ``--update``, does not apply to a DCC: it is imported once)."""
    if reason.code != "certificate.registered":
        return m("import.rejected", detail=reason)
    holder = standard_with_certificate(session, content.number, content.laboratory)
    return m("dcc.registered", number=content.number, issuer=content.laboratory, code=holder or "-")


def import_standard_dcc(
    session: Session,
    data: bytes,
    file_name: str,
    code: str,
    *,
    due: date,
    trust: Sequence[x509.Certificate] = (),
    accept_warnings: bool = False,
    dry_run: bool = False,
    today: date | None = None,
    catalogue: Catalogue | None = None,
    schema_directory: Path | None = None,
    now: datetime | None = None,
) -> StandardDccImport:
    """Verify, read and import the DCC ``data`` (from ``file_name``) into the certificate history of standard
    ``code``, valid until ``due`` (see the module docstring). Never raises for what the file says: every reason
    is in :attr:`StandardDccImport.refusals`, and nothing is written then."""
    digest = hashlib.sha256(data).hexdigest()
    result = StandardDccImport(Path(file_name).name, digest, code, dry_run)
    verify_args: dict[str, Any] = {"now": now}
    if schema_directory is not None:
        verify_args["schema_directory"] = schema_directory
    result.verification = verify_bytes(data, file_name, trust, **verify_args)
    _verify(result, result.verification, accept_warnings)
    try:
        content = read_dcc(data, result.file)
    except DccReadError as exc:
        result.refusals.append(exc.message)
        return result
    result.content = content
    result.refusals.extend(content.problems)
    try:
        standard = find_standard(session, code)
    except NotFoundError:
        result.refusals.append(m("standard.not_found", code=code))
        return result
    result.standard = standard
    _item_check(result, content, standard)
    header: dict[str, Cell] = {
        "standard": standard.code,
        "number": content.number,
        "issuer": content.laboratory,
        "calibrated_on": content.calibrated_on,
        "valid_until": due,
    }
    if content.issued_on is not None:
        header["issued_on"] = content.issued_on
    if standard.kind == WEIGHT_SET:
        _weight_set(result, header, content.values)
    elif standard.kind == REFERENCE_WEIGHT:
        _reference_weight(result, header, content.values)
    else:
        _other(result, header, content.values)
    if result.refusals or not result.recorded:
        if not result.refusals:
            result.refusals.append(m("dcc.no_results"))
        return result
    rows = [r.row for r in result.recorded]
    common: dict[str, Any] = {"source": result.file, "sha256": digest, "today": today, "catalogue": catalogue}
    check = import_certificate_document(session, rows, dry_run=True, **common)
    if not check.ok:
        result.report = check
        result.refusals.extend(_rejected(session, content, issue.message) for issue in check.rejected)
        return result
    result.notes.extend(m("import.note", detail=issue.message) for issue in check.warnings)
    result.report = check if dry_run else import_certificate_document(session, rows, dry_run=False, **common)
    if not result.report.ok:
        result.refusals.extend(m("import.rejected", detail=issue.message) for issue in result.report.rejected)
    return result
