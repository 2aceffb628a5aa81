"""Importing the certificate history of a centre's reference standards: one row per certified value, rows grouped
into certificates by (standard, issuer, number), each certificate imported whole or not at all; weight-set pieces
stored in g (see :mod:`registry.importer.standards`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.importer.base import _key, _Row
from registry.importer.cells import (
    Cell,
    CellError,
    _is_blank,
    clean_text,
    parse_date,
    parse_quantity,
)
from registry.importer.messages import Quantity, msg
from registry.importer.records import Catalogue, _Record, _RecordImporter, any_date, import_records, lengths, schema
from registry.importer.report import ImportReport
from registry.importer.standards import WEIGHT_SET
from registry.models import Base, ReferenceStandard, RunStandard, StandardCertificate
from registry.units import canonical_unit, convert

# --- certificates -------------------------------------------------------------------------------------------------

CERTIFICATES = schema(
    ("standard", "number", "issuer", "calibrated_on", "valid_until", "uncertainty"),
    ("issued_on", "quantity", "label", "nominal", "value", "correction", "k", "class", "density", "unit"),
    {
        "standard": ("standard code", "code", "mã chuẩn"),
        "number": ("certificate number", "certificate", "số giấy chứng nhận", "số gcn", "số chứng chỉ"),
        "issuer": ("issued by", "calibrated by", "cơ quan cấp", "đơn vị hiệu chuẩn", "nơi hiệu chuẩn"),
        "calibrated_on": ("calibration date", "date of calibration", "ngày hiệu chuẩn", "ngày hc"),
        "valid_until": ("due", "due on", "due date", "next calibration", "hiệu lực đến", "có hiệu lực đến", "hạn"),
        "uncertainty": ("u", "expanded uncertainty", "độ không đảm bảo đo", "đkđb"),
        "issued_on": ("issue date", "ngày cấp"),
        "quantity": ("measurand", "đại lượng"),
        "label": ("piece", "mark", "ký hiệu", "quả cân", "dấu"),
        "nominal": ("nominal value", "point", "giá trị danh định", "danh định", "điểm"),
        "value": ("certified value", "conventional mass", "giá trị", "khối lượng quy ước"),
        "correction": ("conventional mass correction", "số hiệu chính", "hiệu chính"),
        "k": ("coverage factor", "hệ số phủ"),
        "class": ("accuracy class", "weight class", "cấp chính xác", "ccx"),
        "density": ("density (kg/m³)", "khối lượng riêng"),
        "unit": ("đơn vị",),
    },
    {
        "standard": "mã chuẩn",
        "number": "số giấy chứng nhận",
        "issuer": "cơ quan cấp",
        "calibrated_on": "ngày hiệu chuẩn",
        "valid_until": "hiệu lực đến",
        "uncertainty": "độ không đảm bảo đo",
        "issued_on": "ngày cấp",
        "quantity": "đại lượng",
        "label": "ký hiệu",
        "nominal": "giá trị danh định",
        "value": "giá trị",
        "correction": "số hiệu chính",
        "k": "hệ số phủ",
        "class": "cấp chính xác",
        "density": "khối lượng riêng",
        "unit": "đơn vị",
    },
    "certificate values",
)
_CERT_LENGTHS = lengths(StandardCertificate)
_HEADER_FIELDS = ("calibrated_on", "issued_on", "due_on")


@dataclass
class _Group:
    """The rows of one certificate: its first row, the standard, its dates and its rows' numbers."""

    first: int
    standard_id: int | None
    dates: dict[str, Any]
    rows: list[int]


class _CertificateImporter(_RecordImporter):
    """Certificates of registered (or just imported) standards, one row per certified value."""

    model = StandardCertificate
    key_column = "number"
    what = "what.certificate"

    def registered(self) -> dict[str, int]:
        self.standards = {s.code: s for s in self.session.scalars(select(ReferenceStandard))}
        self.used = set(
            self.session.scalars(select(RunStandard.certificate_id).where(RunStandard.certificate_id.is_not(None)))
        )
        self.groups: dict[str, _Group] = {}
        self.bad_keys: dict[str, int] = {}  # certificate -> its first row rejected while validating
        self.seen_labels: dict[tuple[str, str], int] = {}
        return {f"{_key(c.issuer)}|{_key(c.number)}": c.id for c in self.session.scalars(select(StandardCertificate))}

    def validate(self, row: int, cells: Sequence[Cell]) -> _Record | None:
        problems = len(self.report.rejected)
        get = self.columns.get
        code = self.text(row, cells, "standard", 40, "required.certificate_standard")
        number = self.text(row, cells, "number", _CERT_LENGTHS["number"], "required.certificate_number")
        issuer = self.text(row, cells, "issuer", _CERT_LENGTHS["issuer"], "required.certificate_issuer")
        label = self.text(row, cells, "label", 40)
        quantity = self.text(row, cells, "quantity", 40)
        piece_class = self.text(row, cells, "class", 10)
        standard = self.standards.get(code) if code else None
        if code and standard is None:
            self.reject(row, "standard", msg("certificate.no_standard", code=code))
        calibrated = self._cell(row, "calibrated_on", lambda v: parse_date(v, self.today), get(cells, "calibrated_on"))
        if calibrated is None and not any(i.row == row and i.column == "calibrated_on" for i in self.report.rejected):
            self.reject(row, "calibrated_on", msg("required.calibrated_on"))
        issued = self._cell(row, "issued_on", lambda v: parse_date(v, self.today), get(cells, "issued_on"))
        due = self._cell(row, "valid_until", any_date, get(cells, "valid_until"))
        if due is None and not any(i.row == row and i.column == "valid_until" for i in self.report.rejected):
            self.reject(row, "valid_until", msg("required.valid_until"))
        if calibrated and due and due < calibrated:
            self.reject(row, "valid_until", msg("certificate.before_calibration", date=due, calibrated=calibrated))
        if calibrated and issued and issued < calibrated:
            self.reject(row, "issued_on", msg("certificate.before_calibration", date=issued, calibrated=calibrated))
        value = self._value(row, cells, standard, label, quantity, piece_class) if standard is not None else None
        if len(self.report.rejected) > problems or value is None:
            if number:
                self.bad_keys.setdefault(f"{_key(issuer)}|{_key(number)}", row)
            return None
        assert standard is not None and calibrated is not None and due is not None
        header = {
            "standard_id": standard.id,
            "issuer": issuer,
            "number": number,
            "calibrated_on": calibrated,
            "issued_on": issued or calibrated,
            "due_on": due,
        }
        return _Record(row, "", None, header, ("", "", f"{_key(issuer)}|{_key(number)}"), children=[value])

    def _quantity(self, row: int, column: str, value: Cell, unit: str) -> tuple[Decimal, str] | None:
        """A number with its unit (the unit column's when the cell has none)."""
        try:
            number, own = parse_quantity(value)
        except CellError as exc:
            self.reject(row, column, exc.message)
            return None
        return number, own or unit

    def _value(
        self, row: int, cells: Sequence[Cell], standard: ReferenceStandard | None, label: str, quantity: str, cls: str
    ) -> dict[str, Any] | None:
        """One certified value: ``{"point", "value", "unit", "U", "k", ...}`` (weight sets in g)."""
        get = self.columns.get
        unit = canonical_unit(clean_text(get(cells, "unit"))) if not _is_blank(get(cells, "unit")) else ""
        read: dict[str, tuple[Decimal, str] | None] = {}
        for column in ("nominal", "value", "correction", "uncertainty"):
            cell = get(cells, column)
            read[column] = None if _is_blank(cell) else self._quantity(row, column, cell, unit)
        k = Decimal(2)
        if not _is_blank(get(cells, "k")):
            got = self._quantity(row, "k", get(cells, "k"), "")
            if got is not None:
                k = got[0]
                if not Decimal(1) <= k <= Decimal(4):
                    self.reject(row, "k", msg("certificate.k_range", k=k))
        density = None
        if not _is_blank(get(cells, "density")):
            got = self._quantity(row, "density", get(cells, "density"), "kg/m³")
            if got is not None:
                density = got[0]
                if got[1] not in ("kg/m³", "") or not Decimal(1000) <= density <= Decimal(25000):
                    self.reject(row, "density", msg("certificate.density_unit", quantity=Quantity(density, got[1])))
        if read["uncertainty"] is None:
            if _is_blank(get(cells, "uncertainty")):
                self.reject(row, "uncertainty", msg("required.uncertainty"))
            return None
        weights = standard is not None and standard.kind == WEIGHT_SET
        out: dict[str, Any] = {}
        if weights:
            return self._piece(row, read, k, label, cls, density)
        u_number, u_unit = read["uncertainty"]
        if u_number <= 0:
            self.reject(row, "uncertainty", msg("certificate.u_not_positive", u=u_number))
            return None
        if quantity:
            out["quantity"] = quantity
        for column, key in (("nominal", "point"), ("value", "value")):
            got = read[column]
            if got is not None:
                out[key] = float(got[0])
                out["unit"] = got[1]
        if read["correction"] is not None:
            self.reject(row, "correction", msg("certificate.correction_not_weights"))
            return None
        if not quantity and "value" not in out:
            self.reject(row, "value", msg("certificate.need_value"))
            return None
        out.update(U=float(u_number), k=float(k))
        if u_unit and out.get("unit") and u_unit != out["unit"]:
            converted = convert(u_number, u_unit, out["unit"], difference=True)
            if converted is None:
                self.reject(row, "uncertainty", msg("certificate.u_unit", u_unit=u_unit, unit=out["unit"]))
                return None
            out["U"] = float(converted)
        elif u_unit:
            out.setdefault("unit", u_unit)
        if label:
            out["label"] = label
        return out

    def _piece(
        self,
        row: int,
        read: dict[str, tuple[Decimal, str] | None],
        k: Decimal,
        label: str,
        cls: str,
        density: Decimal | None,
    ) -> dict[str, Any] | None:
        """A weight-set piece in g: nominal, conventional mass (given, or nominal + correction), U at k."""
        grams: dict[str, Decimal] = {}
        for column in ("nominal", "value", "correction", "uncertainty"):
            got = read[column]
            if got is None:
                continue
            number, unit = got
            if not unit:
                self.reject(row, column, msg("certificate.no_unit", number=number))
                return None
            converted = convert(number, unit, "g", difference=column in ("correction", "uncertainty"))
            if converted is None:
                self.reject(row, column, msg("certificate.not_mass", unit=unit))
                return None
            grams[column] = converted
        if "nominal" not in grams:
            self.reject(row, "nominal", msg("required.piece_nominal"))
            return None
        if ("value" in grams) == ("correction" in grams):
            self.reject(
                row,
                "correction",
                msg("certificate.value_and_correction" if "value" in grams else "certificate.value_or_correction"),
            )
            return None
        mass = grams["value"] if "value" in grams else grams["nominal"] + grams["correction"]
        if grams["uncertainty"] <= 0:
            self.reject(row, "uncertainty", msg("certificate.piece_u_not_positive"))
            return None
        piece: dict[str, Any] = {
            "point": float(grams["nominal"]),
            "value": float(mass),
            "unit": "g",
            "U": float(grams["uncertainty"]),
            "k": float(k),
        }
        if label:
            piece["label"] = label
        if cls:
            piece["class"] = cls
            self._check_class(row, piece, cls)
        if density is not None:
            piece["density"] = float(density)
        return piece

    def _check_class(self, row: int, piece: dict[str, Any], cls: str) -> None:
        """Note (not reject: the certificate states the piece's conventional mass whatever its class) a piece that
        does not meet its class. U is taken at k = 2, as R111 states it: U·2/k, never less than the certificate's U
        (conservative for k > 2)."""
        check = self.catalogue.check_piece
        if check is None:
            return
        u2 = max(piece["U"], piece["U"] * 2.0 / piece["k"])
        try:
            note = check(piece["point"], piece["value"] - piece["point"], u2, cls)
        except ValueError as exc:
            note = str(exc)
        if note:
            self.note(row, "class", msg("certificate.class_note", note=note))

    def accept(self, row: _Row) -> bool:
        """A row of a new certificate, or of a registered one when updating (not one a run used); its dates and
        standard the same as the certificate's other rows."""
        assert isinstance(row, _Record)
        key = row.key[2]
        dates = {k: row.values[k] for k in _HEADER_FIELDS}
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = _Group(row.row, row.values["standard_id"], dates, [])
            existing = self.existing.get(key)
            if existing is not None and not self.update:
                self.reject(
                    row.row,
                    "number",
                    msg("certificate.registered", number=row.values["number"], issuer=row.values["issuer"]),
                )
                return False
            if existing is not None and existing in self.used:
                self.reject(
                    row.row,
                    "number",
                    msg("certificate.used", number=row.values["number"]),
                )
                return False
        elif group.standard_id != row.values["standard_id"] or group.dates != dates:
            self.reject(
                row.row,
                "number",
                msg("certificate.inconsistent", first=group.first),
            )
            self.bad_keys.setdefault(key, row.row)
            return False
        row.existing_id = self.existing.get(key)
        group.rows.append(row.row)
        labels = [c.get("label") for c in row.children]
        for label in labels:
            if label:
                first = self.seen_labels.setdefault((key, label), row.row)
                if first != row.row:
                    self.reject(row.row, "label", msg("certificate.same_piece", label=label, first=first))
                    self.bad_keys.setdefault(key, row.row)
                    return False
        return True

    def finish(self, rows: list[_Row]) -> list[_Row]:
        """Whole certificates only: a certificate with a rejected row loses every row; rows merge per certificate."""
        bad_rows = set(self.report.rejected_rows)
        bad: dict[str, int] = dict(self.bad_keys)
        for key, group in self.groups.items():
            rejected = [n for n in [*group.rows, group.first] if n in bad_rows]
            if rejected:
                bad[key] = min([*rejected, *([bad[key]] if key in bad else [])])
        bad_all = {r.row for r in rows if r.key[2] in bad}
        for record in rows:
            if record.row in bad_all:
                self.reject(
                    record.row,
                    "number",
                    msg("certificate.rejected_row", number=record.values["number"], bad=bad[record.key[2]]),
                )
        merged: dict[str, _Record] = {}
        for record in rows:
            if record.row in bad_all:
                continue
            assert isinstance(record, _Record)
            first = merged.get(record.key[2])
            if first is None:
                merged[record.key[2]] = _Record(
                    record.row,
                    "",
                    None,
                    dict(record.values),
                    record.key,
                    record.existing_id,
                    None,
                    list(record.children),
                )
            else:
                first.children.extend(record.children)
        return list(merged.values())

    def _differences(self, row: _Record) -> tuple[Any, dict[str, Any]]:
        record, diff = super()._differences(row)
        if record.values != row.children:
            diff["values"] = row.children
        return record, diff

    def make(self, row: _Record) -> Base:
        return StandardCertificate(values=row.children, **row.values)


def import_certificates(
    session: Session,
    path: Path | str,
    *,
    today: date | None = None,
    dry_run: bool = False,
    update: bool = False,
    catalogue: Catalogue | None = None,
) -> ImportReport:
    """Import reference standards' certificates from ``path``, one row per certified value (standard, number,
    issuer, calibrated on, valid until, U; optional issued on, quantity, label, nominal, value or correction, k,
    class, density, unit). The report counts certificates, not rows. A certificate is imported whole or not at all;
    with ``update`` a registered one (same issuer and number) gets the file's values and dates, unless a run used
    it."""
    return import_records(
        _CertificateImporter,
        CERTIFICATES,
        "standard_certificate",
        session,
        path,
        catalogue=catalogue,
        today=today,
        dry_run=dry_run,
        update=update,
    )
