"""Importing a centre's staff and their authorisations.

Authorisations are columns of the staff sheet (``roles`` and ``procedures``): each procedure listed gets an
authorisation with the capabilities the roles give (technician: perform; reviewer: review; signatory: sign),
valid from ``authorised_from`` (default: today) until ``authorised_until`` (empty: open). A member of staff whose
roles differ between procedures is given the commonest roles here and the others by ``caltrace registry staff
authorise``. Procedure ids are checked against the :class:`~registry.importer.records.Catalogue` the caller gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.importer.base import _key
from registry.importer.cells import Cell, CellError, _is_blank, parse_bool
from registry.importer.messages import msg
from registry.importer.records import (
    Catalogue,
    _Record,
    _RecordImporter,
    any_date,
    import_records,
    lengths,
    schema,
    split_list,
)
from registry.importer.report import ImportReport
from registry.models import Authorisation, Base, Staff

# --- staff ---------------------------------------------------------------------------------------------------------

STAFF = schema(
    ("username", "full_name", "roles", "procedures"),
    ("email", "officer_card", "officer_card_valid_until", "authorised_from", "authorised_until", "active"),
    {
        "username": ("user", "login", "tên đăng nhập", "tài khoản"),
        "full_name": ("name", "họ và tên", "họ tên", "tên"),
        "roles": ("role", "vai trò", "chức năng", "nhiệm vụ"),
        "procedures": ("procedure", "procedure ids", "quy trình", "các quy trình", "được phép thực hiện quy trình"),
        "email": ("e-mail", "thư điện tử"),
        "officer_card": (
            "verification officer card",
            "officer card number",
            "card",
            "số thẻ kiểm định viên",
            "thẻ kiểm định viên",
            "số thẻ kđv",
        ),
        "officer_card_valid_until": (
            "officer card valid until",
            "card valid until",
            "card expires",
            "thẻ có hiệu lực đến",
            "hiệu lực thẻ đến",
            "hạn thẻ",
        ),
        "authorised_from": ("authorised from", "authorized from", "valid from", "được phép từ ngày", "hiệu lực từ"),
        "authorised_until": ("authorised until", "authorized until", "được phép đến ngày", "hiệu lực đến"),
        "active": ("đang làm việc", "còn hoạt động"),
    },
    {
        "username": "tên đăng nhập",
        "full_name": "họ và tên",
        "roles": "vai trò",
        "procedures": "quy trình",
        "email": "email",
        "officer_card": "số thẻ kiểm định viên",
        "officer_card_valid_until": "thẻ có hiệu lực đến",
        "authorised_from": "được phép từ ngày",
        "authorised_until": "được phép đến ngày",
        "active": "đang làm việc",
    },
    "staff members",
)

#: role -> the authorisation capability it gives; the names a sheet may use for it
ROLES: dict[str, tuple[str, ...]] = {
    "technician": ("technician", "perform", "kỹ thuật viên", "ktv", "thực hiện", "kiểm định viên", "hiệu chuẩn viên"),
    "reviewer": ("reviewer", "review", "soát xét", "người soát xét", "kiểm tra", "người kiểm tra"),
    "signatory": ("signatory", "sign", "signer", "ký", "người ký", "phê duyệt", "người phê duyệt"),
}
_ROLE_NAMES = {_key(name): role for role, names in ROLES.items() for name in names}
_ALL = {"all", "tất cả", "*"}
_STAFF_LENGTHS = lengths(Staff)


def parse_roles(value: Cell) -> set[str]:
    """The roles named in a cell (``kỹ thuật viên; soát xét``) as ``technician``/``reviewer``/``signatory``."""
    found: set[str] = set()
    for item in split_list(value):
        role = _ROLE_NAMES.get(_key(item))
        if role is None:
            raise CellError(msg("role.unknown", item=item))
        found.add(role)
    return found


def parse_procedures(value: Cell, known: Sequence[str]) -> list[str]:
    """The procedure ids named in a cell (``all`` or ``tất cả``: every known one); each checked against ``known``
    when it is given."""
    items = split_list(value)
    if any(_key(item) in _ALL for item in items):
        if not known:
            raise CellError(msg("procedures.all_unknown"))
        return list(known)
    if known:
        unknown = [item for item in items if item not in known]
        if unknown:
            raise CellError(msg("procedures.unknown", item=unknown[0], known=", ".join(known)))
    return list(dict.fromkeys(items))


class _StaffImporter(_RecordImporter):
    """Members of staff by username, with an authorisation per procedure listed."""

    model = Staff
    key_column = "username"
    what = "what.staff"

    def registered(self) -> dict[str, int]:
        return {_key(s.username): s.id for s in self.session.scalars(select(Staff))}

    def validate(self, row: int, cells: Sequence[Cell]) -> _Record | None:
        problems = len(self.report.rejected)
        get = self.columns.get
        username = self.text(row, cells, "username", _STAFF_LENGTHS["username"], "required.username")
        if username and (" " in username or username != username.strip()):
            self.reject(row, "username", msg("username.space", username=username))
        full_name = self.text(row, cells, "full_name", _STAFF_LENGTHS["full_name"], "required.full_name")
        email = self.text(row, cells, "email", _STAFF_LENGTHS["email"])
        card = self.text(row, cells, "officer_card", _STAFF_LENGTHS["officer_card"])
        card_until = self._cell(row, "officer_card_valid_until", any_date, get(cells, "officer_card_valid_until"))
        if card and card_until is None and "officer_card_valid_until" not in {i.column for i in self.report.rejected}:
            self.reject(row, "officer_card_valid_until", msg("card.no_date", card=card))
        if card_until and not card:
            self.reject(row, "officer_card", msg("card.no_number"))
        roles = self._cell(row, "roles", parse_roles, get(cells, "roles")) or set()
        procedures = self._cell(
            row, "procedures", lambda v: parse_procedures(v, self.catalogue.procedures), get(cells, "procedures")
        )
        procedures = procedures or []
        start = self._cell(row, "authorised_from", any_date, get(cells, "authorised_from")) or self.today
        until = self._cell(row, "authorised_until", any_date, get(cells, "authorised_until"))
        if until and until < start:
            self.reject(row, "authorised_until", msg("authorisation.ends_before_start", until=until, start=start))
        if roles and not procedures and not _is_blank(get(cells, "roles")) and len(self.report.rejected) == problems:
            self.reject(row, "procedures", msg("roles.need_procedures"))
        if procedures and not roles and len(self.report.rejected) == problems:
            self.reject(row, "roles", msg("procedures.need_roles"))
        active = self._cell(row, "active", parse_bool, get(cells, "active")) if "active" in self.columns.index else True
        if "active" in self.columns.index and _is_blank(get(cells, "active")):
            active = True
        if len(self.report.rejected) > problems:
            return None
        values: dict[str, Any] = {
            "username": username,
            "full_name": full_name,
            "email": email,
            "officer_card": card or None,
            "officer_card_expires": card_until,
            "active": active,
        }
        for column, name in (("email", "email"), ("officer_card", "officer_card"), ("active", "active")):
            if column not in self.columns.index:
                del values[name]
        if "officer_card" not in self.columns.index:
            values.pop("officer_card_expires", None)
        children = [
            {
                "procedure_code": code,
                "can_perform": "technician" in roles,
                "can_review": "reviewer" in roles,
                "can_sign": "signatory" in roles,
                "valid_from": start,
                "valid_until": until,
            }
            for code in procedures
        ]
        return _Record(row, "", None, values, ("", "", _key(username)), children=children)

    def make(self, row: _Record) -> Base:
        return Staff(**row.values)

    def _changes(self, record: Staff, row: _Record) -> list[tuple[Authorisation | None, dict[str, Any]]]:
        have = {a.procedure_code: a for a in record.authorisations}
        out: list[tuple[Authorisation | None, dict[str, Any]]] = []
        for child in row.children:
            auth = have.get(child["procedure_code"])
            if auth is None or any(getattr(auth, k) != v for k, v in child.items()):
                out.append((auth, child))
        return out

    def children_differ(self, record: Any, row: _Record) -> bool:
        return bool(self._changes(record, row))

    def write_children(self, record: Any, row: _Record) -> bool:
        changes = self._changes(record, row)
        for auth, child in changes:
            if auth is None:
                record.authorisations.append(Authorisation(**child))
            else:
                for name, value in child.items():
                    setattr(auth, name, value)
        return bool(changes)


def import_staff(
    session: Session,
    path: Path | str,
    *,
    today: date | None = None,
    dry_run: bool = False,
    update: bool = False,
    catalogue: Catalogue | None = None,
) -> ImportReport:
    """Import members of staff from ``path`` (username, full name, roles, procedures; optional email, verification
    officer card and its validity, authorisation dates, active). Each procedure listed (checked against
    ``catalogue.procedures``) gets an authorisation with the capabilities of the roles. With ``update`` a registered
    member of staff is updated and the listed procedures' authorisations set; others are left as they are."""
    return import_records(
        _StaffImporter, STAFF, "staff", session, path, catalogue=catalogue, today=today, dry_run=dry_run, update=update
    )
