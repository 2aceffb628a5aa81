"""Drift read from a standard's certificate history (acquisition.procedures.history)."""

from __future__ import annotations

from datetime import date

import pytest

from acquisition.procedures.base import CertificateRecord, StandardUsed
from acquisition.procedures.history import certified_change, labelled


def _std(values: tuple[dict[str, object], ...], *history: CertificateRecord) -> StandardUsed:
    return StandardUsed(
        "weights", "W-E2", "weight set", 1.0, 200.0, "g", "E2", "C-2026", values, None, date(2026, 5, 4), history
    )


def grams(row: object) -> float:
    assert isinstance(row, dict)
    return float(row["value"])


def test_labels_follow_the_weight_set_convention() -> None:
    rows = [{"point": 200, "value": 200.0001}, {"point": 200, "value": 199.9999}, {"point": 5, "label": "5 g (dot)"}]
    assert list(labelled(rows)) == ["200 g", "200 g*", "5 g (dot)"]


def test_change_since_the_newest_earlier_certificate_that_certifies_the_piece() -> None:
    now = ({"point": 100, "value": 100.000_112}, {"point": 100, "value": 99.999_950}, {"point": 50, "value": 50.00003})
    c2024 = CertificateRecord("C-2024", date(2024, 5, 2), ({"point": 100, "value": 100.000_070},))
    c2022 = CertificateRecord(
        "C-2022", date(2022, 5, 1), ({"point": 100, "value": 100.0}, {"point": 100, "value": 99.99990})
    )
    std = _std(now, c2024, c2022)
    first = certified_change(std, "100 g", grams)
    assert first is not None
    assert first.change == pytest.approx(0.000_042, abs=1e-12)  # 100.000112 - 100.000070, worked by hand
    assert (first.earlier, first.current) == ("C-2024", "C-2026")
    second = certified_change(std, "100 g*", grams)  # C-2024 has one 100 g only: the 2022 certificate is used
    assert second is not None and second.earlier == "C-2022"
    assert second.change == pytest.approx(0.000_050, abs=1e-12)
    assert certified_change(std, "50 g", grams) is None  # never certified before: no history
    assert "C-2024" in first.describe("mg", 1000.0).en and "+0.042 mg" in first.describe("mg", 1000.0).en


def test_no_history_and_unreadable_rows() -> None:
    assert certified_change(_std(({"point": 1, "value": 1.0},)), "1 g", grams) is None
    old = CertificateRecord("C-OLD", date(2020, 1, 1), ({"point": 1, "value": "n/a"}, {"point": 1, "value": 0.9999}))
    std = _std(({"point": 1, "value": 1.0}, {"point": 1, "value": 1.0001}), old)
    assert certified_change(std, "1 g", grams) is None  # the old row cannot be read
    change = certified_change(std, "1 g*", grams)
    assert change is not None and change.change == pytest.approx(0.0002)
