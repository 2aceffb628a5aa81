"""Every registry query on SQLite and PostgreSQL against the hand-worked data set in ``dataset.py``."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine

from registry.db import session_factory
from registry.errors import NotFoundError
from registry.models import MetrologyField
from registry.queries import (
    annual_statistics,
    current_certificate,
    find_customer,
    find_standard,
    forward_trace,
    instruments_due,
    standards_due,
)
from tests.registry.dataset import TODAY, build


@pytest.fixture
def filled(engine: Engine) -> Engine:
    build(engine)
    return engine


def test_instruments_due_within_30_days(filled: Engine) -> None:
    with session_factory(filled)() as s:
        rows = instruments_due(s, 30, TODAY)
    # WM-1 due 1 Nov (20 days overdue), FD-1 due today, BAL-001 in 4 days, BAL-002 in 30; BAL-003 (31) and
    # WM-2 (never calibrated, no due date) are not listed.
    assert [(r.serial_number, r.days_left) for r in rows] == [
        ("WM-1", -20),
        ("FD-1", 0),
        ("BAL-001", 4),
        ("BAL-002", 30),
    ]
    assert rows[0].customer == "Xí nghiệp Nước sạch Số 2" and rows[0].group2


def test_a_prepackage_lot_is_never_due(filled: Engine) -> None:
    # lots L-1 and L-2 have runs but no due date: no horizon, customer or field brings them into the due report
    with session_factory(filled)() as s:
        everything = instruments_due(s, 36500, TODAY)
        assert {r.serial_number for r in everything} == {"WM-1", "FD-1", "BAL-001", "BAL-002", "BAL-003"}
        assert instruments_due(s, 36500, TODAY, customer="3600000001") == []


def test_instruments_due_filters(filled: Engine) -> None:
    with session_factory(filled)() as s:
        assert [r.serial_number for r in instruments_due(s, 30, TODAY, include_overdue=False)] == [
            "FD-1",
            "BAL-001",
            "BAL-002",
        ]
        assert [r.serial_number for r in instruments_due(s, 30, TODAY, customer="0101234567")] == ["BAL-001", "BAL-002"]
        assert [r.serial_number for r in instruments_due(s, 30, TODAY, customer="  công ty tnhh  cân việt ")] == [
            "BAL-001",
            "BAL-002",
        ]
        assert [r.serial_number for r in instruments_due(s, 30, TODAY, field=MetrologyField.VOLUME_FLOW)] == [
            "WM-1",
            "FD-1",
        ]
        assert [r.serial_number for r in instruments_due(s, 0, TODAY)] == ["WM-1", "FD-1"]
        assert [r.serial_number for r in instruments_due(s, 31, TODAY)][-1] == "BAL-003"
        with pytest.raises(NotFoundError, match="no customer"):
            instruments_due(s, 30, TODAY, customer="Nobody Ltd")
        with pytest.raises(ValueError, match="0 or more"):
            instruments_due(s, -1, TODAY)


def test_standards_due_or_expired(filled: Engine) -> None:
    with session_factory(filled)() as s:
        rows = standards_due(s, 30, TODAY)
    # DMM-REF has no certificate; BAL-REF expired on 1 June 2026 (173 days ago); W-E2-200g's newest certificate
    # (V01.25) is due on 1 Dec 2026, 10 days from now; FLOW-MASTER is due in 2027; OLD is retired.
    assert [(r.code, r.status, r.days_left, r.certificate) for r in rows] == [
        ("DMM-REF", "no certificate", None, ""),
        ("BAL-REF", "expired", -173, "Q1-778"),
        ("W-E2-200g", "due", 10, "V01.25"),
    ]


def test_certificate_in_force_on_a_date(filled: Engine) -> None:
    with session_factory(filled)() as s:
        std = find_standard(s, "W-E2-200g")
        assert current_certificate(s, std.id, date(2025, 5, 1)).number == "V01.24"  # type: ignore[union-attr]
        assert current_certificate(s, std.id, date(2025, 10, 5)).number == "V01.25"  # type: ignore[union-attr]
        assert current_certificate(s, std.id, date(2024, 9, 30)) is None


def test_forward_trace(filled: Engine) -> None:
    with session_factory(filled)() as s:
        rows = forward_trace(s, "W-E2-200g", date(2026, 1, 1), date(2026, 12, 31))
        # r1 (10 Mar, certificate CT-2026-0001), r5 (aborted 1 Apr), r9 (lot L-1, 1 Jul: the packer is the
        # customer), r7 (running, created 20 Nov); r6 finished 00:30 on 1 Jan 2027 in Viet Nam, outside the period.
        assert [(r.run_id, r.certificate, r.customer) for r in rows] == [
            ("r1", "CT-2026-0001", "Công ty TNHH Cân Việt"),
            ("r5", "", "Công ty TNHH Cân Việt"),
            ("r9", "", "Công ty CP Thực phẩm Sao Mai"),
            ("r7", "", "Công ty TNHH Cân Việt"),
        ]
        assert rows[0].standard_certificate == "V01.25"
        assert (rows[2].instrument, rows[2].serial_number) == ("Lô hàng đóng gói sẵn: Đường kính trắng 500 g", "L-1")
        assert [r.run_id for r in forward_trace(s, "W-E2-200g", date(2026, 1, 1), date(2027, 1, 1))][-1] == "r6"
        assert forward_trace(s, "FLOW-MASTER", date(2026, 1, 1), date(2026, 1, 1))[0].run_id == "r4"
        with pytest.raises(NotFoundError, match="no reference standard"):
            forward_trace(s, "NOPE", date(2026, 1, 1), date(2026, 12, 31))


def test_annual_statistics_2026(filled: Engine) -> None:
    with session_factory(filled)() as s:
        stats = annual_statistics(s, 2026)
    # Finished in 2026 (Viet Nam time): r1 (mass calibration), r2 pass, r3 fail, r4 pass (01:00 on 1 Jan).
    # r5 aborted, r6 is 2027, r7 unfinished, r8 is 2025.
    assert [(r.field, r.kind, r.runs, r.passed, r.failed, r.not_assessed) for r in stats.rows] == [
        ("mass", "calibration", 1, 0, 0, 1),
        ("volume-flow", "verification", 3, 2, 1, 0),
    ]
    # Instruments: BAL-001, WM-1, WM-2, FD-1; the three flow instruments are Group 2. The lot checks are not
    # instrument work: no "mass / test" row, and their packer is not among the customers served.
    assert (stats.customers_served, stats.instruments_served, stats.group2_instruments) == (3, 4, 3)
    # Lot checks finished in 2026: r9 (L-1, pass), r10 (L-2, fail), r11 (L-1 again, pass); r12 was aborted.
    lots = stats.lots
    assert (lots.runs, lots.lots, lots.conforming, lots.not_conforming, lots.no_verdict) == (3, 2, 2, 1, 0)
    assert lots.packers_served == 1
    # CT-2026-0001, KĐ-2026-0002 and KĐ-2026-0003 (issued 01:30 on 1 Jan in Viet Nam); the draft is not counted.
    assert stats.certificates_issued == 3
    assert stats.total.runs == 4


def test_annual_statistics_2025(filled: Engine) -> None:
    with session_factory(filled)() as s:
        stats = annual_statistics(s, 2025)
    assert [(r.field, r.kind, r.runs, r.passed) for r in stats.rows] == [("volume-flow", "verification", 1, 1)]
    assert (stats.customers_served, stats.certificates_issued) == (1, 1)
    assert stats.lots.runs == 0 and stats.lots.packers_served == 0


def test_find_customer_ambiguous_and_by_id(filled: Engine) -> None:
    with session_factory(filled)() as s:
        assert find_customer(s, "0309876543").name == "Xí nghiệp Nước sạch Số 2"
        first = find_customer(s, "1")
        assert first.tax_code == "0101234567"
