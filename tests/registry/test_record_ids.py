"""A long number typed where a record id or a serial is accepted is looked up as text, never sent to the database
as an integer it cannot hold (PostgreSQL INTEGER is 32-bit; SQLite's 64-bit)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from registry.db import session_scope
from registry.errors import NotFoundError
from registry.models import Customer, MeasuringInstrument, MetrologyField
from registry.queries import MAX_ID, as_id, find_standard
from registry.runs import find_instrument, find_lot


def test_as_id_takes_only_ids_the_database_can_hold() -> None:
    assert as_id("42") == 42 and as_id(" 7 ") == 7
    assert as_id(str(MAX_ID)) == MAX_ID
    assert as_id(str(MAX_ID + 1)) is None and as_id("0") is None and as_id("12345678901234567890") is None
    assert as_id("4a") is None and as_id("") is None


def test_a_long_numeric_serial_is_found_by_serial_and_an_unknown_one_is_not_found(engine: Engine) -> None:
    serial = "12345678901234567890"
    with session_scope(engine, "test") as s:
        owner = Customer(name="A")
        s.add(
            MeasuringInstrument(
                owner=owner, kind="cân", field=MetrologyField.MASS, serial_number=serial, interval_months=12
            )
        )
    with session_scope(engine, "test") as s:
        assert find_instrument(s, serial).serial_number == serial
        with pytest.raises(NotFoundError):
            find_instrument(s, "98765432109876543210")
        assert find_lot(s, "98765432109876543210") is None
        with pytest.raises(NotFoundError):
            find_standard(s, "98765432109876543210")
