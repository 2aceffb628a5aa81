"""Certificate numbers per series and year (decision 0450), on SQLite and PostgreSQL: patterns filled in, separate
running numbers per series, a notice sharing the verification numbers unless it has its own pattern, a rolled back
transaction giving its number back, and two concurrent issuers never getting the same number."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from registry.certificates import allocate_number, format_number
from registry.db import session_scope
from registry.errors import NotPermittedError
from registry.models import CertificateSequence, Laboratory

AT = datetime(2026, 12, 3, 9, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


@pytest.fixture
def lab(engine: Engine) -> Engine:
    with session_scope(engine, "test") as s:
        s.add(
            Laboratory(
                name="TT Đo lường",
                address="Huế",
                certificate_numbering="HC-{year}-{seq:06d}",
                verification_numbering="KĐ-{year}-{seq:06d}",
            )
        )
    return engine


def _next(engine: Engine, series: str, at: datetime = AT) -> str:
    with session_scope(engine, "test") as s:
        return allocate_number(s, series, at)[0]  # type: ignore[arg-type]


def test_series_keep_their_own_running_numbers(lab: Engine) -> None:
    assert _next(lab, "calibration") == "HC-2026-000001"
    assert _next(lab, "calibration") == "HC-2026-000002"
    assert _next(lab, "verification") == "KĐ-2026-000001"
    # a notice without its own pattern takes the verification pattern and numbers
    assert _next(lab, "notice") == "KĐ-2026-000002"
    with session_scope(lab, "test") as s:
        s.scalars(select(Laboratory)).one().notice_numbering = "TBKĐ-{yy}{month:02d}-{seq:04d}"
    assert _next(lab, "notice") == "TBKĐ-2612-0001"
    assert _next(lab, "verification") == "KĐ-2026-000003"
    # a new year starts again at 1, each series on its own
    assert _next(lab, "calibration", AT.replace(year=2027, month=1, day=1)) == "HC-2027-000001"
    assert _next(lab, "calibration") == "HC-2026-000003"


def test_a_rolled_back_issue_gives_its_number_back(lab: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(lab, "test") as s:
        assert allocate_number(s, "calibration", AT)[0] == "HC-2026-000001"
        raise RuntimeError("signing failed")
    assert _next(lab, "calibration") == "HC-2026-000001"
    with session_scope(lab, "test") as s:
        rows = s.scalars(select(CertificateSequence)).all()
        assert [(r.series, r.year, r.last) for r in rows] == [("calibration", 2026, 1)]


def test_no_pattern_is_refused_naming_the_option(engine: Engine) -> None:
    with session_scope(engine, "test") as s:
        s.add(Laboratory(name="TT", address="Huế"))
    with pytest.raises(NotPermittedError, match="--verification-numbering"):
        _next(engine, "verification")
    with pytest.raises(NotPermittedError, match="--numbering"):
        _next(engine, "calibration")


def test_format_number_by_hand() -> None:
    # {yy} two digits of the year, {month:02d}, {seq:05d} zero-padded to five
    assert format_number("{year}/HC-{seq:05d}", seq=42, at=AT) == "2026/HC-00042"
    assert format_number("{yy}.{month:02d}-{seq}", seq=7, at=AT) == "26.12-7"
    with pytest.raises(ValueError, match="seq"):
        format_number("HC-{year}", seq=1, at=AT)


@pytest.mark.parametrize("first_of_year", [True, False])
def test_two_concurrent_issuers_get_different_numbers(lab: Engine, first_of_year: bool) -> None:
    """Issuer A allocates and holds its transaction open; B allocates meanwhile (waits for A's lock), then both
    commit: two different numbers, the row at 2. ``first_of_year``: no sequence row exists yet (both may try to
    create it)."""
    if not first_of_year:
        _next(lab, "calibration")
    base = 0 if first_of_year else 1
    got: dict[str, str] = {}
    a_has_number = threading.Event()
    errors: list[BaseException] = []

    def issuer_a() -> None:
        try:
            with session_scope(lab, "a") as s:
                got["a"] = allocate_number(s, "calibration", AT)[0]
                a_has_number.set()
                time.sleep(0.5)  # B starts its allocation while A's transaction is open
        except BaseException as exc:
            errors.append(exc)
            a_has_number.set()

    def issuer_b() -> None:
        try:
            a_has_number.wait(10)
            with session_scope(lab, "b") as s:
                got["b"] = allocate_number(s, "calibration", AT)[0]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=issuer_a), threading.Thread(target=issuer_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert got["a"] == f"HC-2026-{base + 1:06d}"
    assert got["b"] == f"HC-2026-{base + 2:06d}"
    with session_scope(lab, "test") as s:
        assert s.scalars(select(CertificateSequence.last)).one() == base + 2
