"""One instrument, one record (issue 14.6): serial numbers (and makers, models) that differ only by case or spaces
are the same instrument, on import, when a run names its instrument, and in migration 0005; dates before 1950
are refused on import."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from registry.audit import verify
from registry.db import current_revision, downgrade, read_session, session_factory, session_scope, upgrade
from registry.errors import MigrationRefusedError, NotFoundError
from registry.importer import CellError, import_instruments, parse_date
from registry.models import Customer, MeasuringInstrument, MetrologyField
from registry.runs import find_instrument
from tests.registry.test_importer import HEADER, TODAY, good, write_csv


def _register(engine: Engine, *serials: tuple[str, str]) -> None:
    """Register instruments (manufacturer, serial) of one customer, model PX4202."""
    with session_scope(engine, "seed") as s:
        owner = Customer(name="Chủ sở hữu")
        for manufacturer, serial in serials:
            s.add(
                MeasuringInstrument(
                    owner=owner,
                    kind="Cân kỹ thuật",
                    field=MetrologyField.MASS,
                    manufacturer=manufacturer,
                    model="PX4202",
                    serial_number=serial,
                    interval_months=12,
                )
            )


def test_serials_that_differ_by_case_or_spaces_are_one_instrument_in_a_file(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "i.csv",
        [HEADER, good("B912 345678"), good("b912345678"), good("B9123 45678", manufacturer="OHAUS"), good("B9")],
    )
    with session_scope(engine, "t") as s:
        report = import_instruments(s, path, today=TODAY)
    assert report.imported == 2
    assert [(i.row, i.column) for i in report.rejected] == [(3, "serial_number"), (4, "serial_number")]
    assert all("as row 2 of this file" in i.reason for i in report.rejected)


def test_a_registered_serial_written_otherwise_is_already_registered_or_updated(engine: Engine, tmp_path: Path) -> None:
    _register(engine, ("Ohaus", "AB 12-34"))
    path = write_csv(tmp_path / "i.csv", [HEADER, good("ab1 2-34", location="Kho")])
    with session_scope(engine, "t") as s:
        report = import_instruments(s, path, today=TODAY)
    assert report.imported == 0 and "already registered: instrument #1" in report.rejected[0].reason
    with session_scope(engine, "t") as s:
        report = import_instruments(s, path, today=TODAY, update=True)
    assert (report.imported, report.updated) == (0, 1)
    with read_session(engine) as s:
        (inst,) = s.scalars(select(MeasuringInstrument)).all()
        assert (inst.serial_number, inst.location, inst.serial_key) == ("ab1 2-34", "Kho", "ab12-34")


def test_a_run_finds_its_instrument_by_serial_in_any_case_and_spacing(engine: Engine) -> None:
    _register(engine, ("Ohaus", "B912345678"), ("Ohaus", "XY 7"), ("Mettler", "xy7"))
    with session_factory(engine)() as s:
        assert find_instrument(s, "b912 345 678").serial_number == "B912345678"
        assert find_instrument(s, "XY 7").manufacturer == "Ohaus"  # the serial as written comes first
        with pytest.raises(NotFoundError, match="2 instruments have serial number 'xy 7': give the registry id"):
            find_instrument(s, "xy 7")
        with pytest.raises(NotFoundError, match="no instrument"):
            find_instrument(s, "B91234567")


# --- migration 0005 ----------------------------------------------------------------------------------------------


def _seed_0004(engine: Engine, *serials: str) -> None:
    with engine.begin() as c:
        c.execute(
            text("INSERT INTO customer (id, name, address, contact_name, phone, email) VALUES (1, 'A', '', '', '', '')")
        )
        for n, serial in enumerate(serials, 1):
            key = "|".join(" ".join(p.casefold().split()) for p in ("Ohaus", "PX", serial))  # 0002's key
            c.execute(
                text(
                    "INSERT INTO measuring_instrument (id, owner_id, kind, field, manufacturer, model, serial_number, "
                    "range_text, range_unit, resolution_unit, accuracy_class, location, group2, interval_months, "
                    "identity_key) VALUES (:id, 1, 'b', 'mass', 'Ohaus', 'PX', :s, '', '', '', '', '', false, 12, :k)"
                ),
                {"id": n, "s": serial, "k": key},
            )


def test_0005_rekeys_instruments_ignoring_spaces_and_back(bare_engine: Engine) -> None:
    upgrade(bare_engine, "0004")
    _seed_0004(bare_engine, "AB  12", "CD34")
    upgrade(bare_engine, "0005")
    with bare_engine.connect() as c:
        rows = c.execute(text("SELECT identity_key, serial_key FROM measuring_instrument ORDER BY id")).all()
        event = c.execute(text("SELECT actor, action, entity, payload FROM audit_log")).one()
    assert [tuple(r) for r in rows] == [("ohaus|px|ab12", "ab12"), ("ohaus|px|cd34", "cd34")]
    assert (event.actor, event.action, event.entity) == ("migration 0005", "migrate", "measuring_instrument")
    assert json.loads(event.payload)["identity_keys"] == [{"id": 1, "old": "ohaus|px|ab 12", "new": "ohaus|px|ab12"}]
    with session_factory(bare_engine)() as s:
        assert verify(s).ok
    downgrade(bare_engine, "0004")
    with bare_engine.connect() as c:
        keys = c.execute(text("SELECT identity_key FROM measuring_instrument ORDER BY id")).scalars().all()
    assert keys == ["ohaus|px|ab 12", "ohaus|px|cd34"]
    with session_factory(bare_engine)() as s:
        assert verify(s).ok


def test_0005_refuses_two_records_of_one_instrument_and_changes_nothing(bare_engine: Engine) -> None:
    upgrade(bare_engine, "0004")
    _seed_0004(bare_engine, "SN 1", "sn1", "OK-2")
    with pytest.raises(MigrationRefusedError) as refused:
        upgrade(bare_engine)
    message = str(refused.value)
    assert "instrument #1 ('Ohaus / PX / SN 1', customer #1) and instrument #2 ('Ohaus / PX / sn1'" in message
    assert "Nothing was changed" in message and "OK-2" not in message
    assert current_revision(bare_engine) == "0004"
    with bare_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM measuring_instrument")).scalar() == 3
        assert c.execute(text("SELECT count(*) FROM audit_log")).scalar() == 0


# --- dates ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell", ["31/12/1949", "1900-01-01", datetime(1899, 12, 31), date(1900, 1, 1), "ngày 5 tháng 6 năm 1066"]
)
def test_dates_before_1950_are_refused(cell: object) -> None:
    with pytest.raises(CellError, match="before 1950: check the year"):
        parse_date(cell, TODAY)


def test_1950_and_today_are_accepted_the_future_is_not() -> None:
    assert parse_date("01/01/1950", TODAY) == date(1950, 1, 1)
    assert parse_date(TODAY.isoformat(), TODAY) == TODAY
    with pytest.raises(CellError, match="in the future"):
        parse_date(date(TODAY.year + 1, 1, 1), TODAY)


def test_an_old_date_rejects_its_row_with_the_reason(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "i.csv", [HEADER, good("D-1", last_calibrated="15/03/1949"), good("D-2")])
    with session_scope(engine, "t") as s:
        report = import_instruments(s, path, today=TODAY)
    assert report.imported == 1
    (issue,) = report.rejected
    assert (issue.row, issue.column) == (2, "last_calibrated") and "15/03/1949 is before 1950" in issue.reason
