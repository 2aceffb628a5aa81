"""Importing instruments from spreadsheets: parsing (no database), then whole imports on SQLite and PostgreSQL.

Expected values are worked by hand from the cell text (SI prefixes, calendar months), never taken from the code.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from registry import audit, importer
from registry.db import make_engine, session_factory, session_scope, upgrade
from registry.errors import ImportFileError
from registry.importer import (
    CellError,
    add_months,
    canonical_unit,
    column_for_header,
    convert,
    import_instruments,
    infer_field,
    parse_date,
    parse_interval,
    parse_number,
    parse_quantity,
    parse_range,
    parse_tax_code,
)
from registry.models import AuditEntry, Customer, MeasuringInstrument, MetrologyField

TODAY = date(2026, 4, 1)

# --- parsing, no database ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2,5", Decimal("2.5")),
        ("0.1", Decimal("0.1")),
        ("0,0001", Decimal("0.0001")),
        ("0,001", Decimal("0.001")),  # a leading 0 cannot be a thousands group
        ("1.234,5", Decimal("1234.5")),
        ("1,234.5", Decimal("1234.5")),
        ("1.000.000", Decimal(1000000)),
        ("60000", Decimal(60000)),
        ("-40", Decimal(-40)),
        ("1500.000", Decimal("1500")),  # four digits before the point: no thousands group possible
    ],
)
def test_numbers_with_decimal_point_or_comma(text: str, expected: Decimal) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["1.000", "2,500", "60.000"])
def test_a_lone_separator_before_three_digits_is_ambiguous(text: str) -> None:
    with pytest.raises(CellError, match="ambiguous"):
        parse_number(text)


@pytest.mark.parametrize(
    ("text", "low", "high", "unit"),
    [
        ("0-220 g", 0, 220, "g"),
        ("0 – 220 g", 0, 220, "g"),
        ("(0 ÷ 220) g", 0, 220, "g"),
        ("0 ... 220 g", 0, 220, "g"),
        ("0 g...220 g", 0, 220, "g"),
        ("(0 - 220 g)", 0, 220, "g"),
        ("từ 0 đến 6 kg", 0, 6, "kg"),
        ("220 g", None, 220, "g"),
        ("max 220 g", None, 220, "g"),
        ("Max = 60000 kg", None, 60000, "kg"),
        ("2,5 m³/h", None, Decimal("2.5"), "m³/h"),
        ("0,5 - 10 m3/giờ", Decimal("0.5"), 10, "m³/h"),
        ("-50 ... 150 oC", -50, 150, "°C"),
        ("-40 ... +85 ℃", -40, 85, "°C"),
        ("10 kg - 2 t", Decimal("0.01"), 2, "t"),  # 10 kg = 0.01 t
        ("0 - 14", 0, 14, ""),
    ],
)
def test_ranges(text: str, low: Any, high: Any, unit: str) -> None:
    parsed = parse_range(text)
    assert parsed is not None
    assert (parsed.low, parsed.high, parsed.unit) == (
        None if low is None else Decimal(low),
        Decimal(high),
        unit,
    )


@pytest.mark.parametrize("text", ["Q3 = 2,5 m³/h", "0-220 g / 0.1 mg", "82 g / 220 g", "1 - 2 - 3"])
def test_text_that_is_not_one_range_is_kept_as_text(text: str) -> None:
    assert parse_range(text) is None


def test_wrong_ranges_are_errors() -> None:
    with pytest.raises(CellError, match="minimum 220 is above its maximum 0"):
        parse_range("220 - 0 g")
    with pytest.raises(CellError, match="one unit"):
        parse_range("0 °C - 300 K")  # temperatures on different scales are not a range we convert


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [("0.1 mg", "0.1", "mg"), ("0,0001 g", "0.0001", "g"), ("d = 0,01 oC", "0.01", "°C"), ("0.5", "0.5", "")],
)
def test_resolution_cells(text: str, value: str, unit: str) -> None:
    assert parse_quantity(text) == (Decimal(value), unit)


def test_unit_conversions_by_hand() -> None:
    # 1 mg = 0.001 g; 1 L = 0.001 m³; 1 L/min = 60 L/h = 0.06 m³/h; 1 psi = 6.894757 kPa (NIST SP 811);
    # a difference of 1.8 °F is 1 K; 1 mmHg = 133.322387415 Pa (conventional)
    assert convert(Decimal("0.1"), "mg", "g", difference=True) == Decimal("0.0001")
    assert convert(Decimal("0.05"), "L", "m³", difference=True) == Decimal("0.00005")
    assert float(convert(Decimal(1), "L/min", "m³/h", difference=True) or 0) == pytest.approx(0.06, rel=1e-15)
    assert float(convert(Decimal(1), "psi", "kPa", difference=True) or 0) == pytest.approx(6.894757, rel=1e-6)
    assert convert(Decimal("1.8"), "°F", "K", difference=True) == Decimal(1)
    assert convert(Decimal(1), "bar", "mmHg", difference=True) == Decimal(100000) / Decimal("133.322387415")
    assert convert(Decimal(1), "mV", "g", difference=True) is None
    assert convert(Decimal(20), "°C", "K", difference=False) is None  # a temperature, not a difference
    assert [canonical_unit(u) for u in ("Kg", "ml", "kOhm", "uV", "m3/giờ", "℃", "kgf/cm2")] == [
        "kg",
        "mL",
        "kΩ",
        "µV",
        "m³/h",
        "°C",
        "kgf/cm²",
    ]


@pytest.mark.parametrize(
    ("start", "months", "due"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2025, 3, 31), 1, date(2025, 4, 30)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2025, 12, 15), 1, date(2026, 1, 15)),
        (date(2023, 5, 31), 120, date(2033, 5, 31)),
        (date(2025, 10, 31), 4, date(2026, 2, 28)),
    ],
)
def test_due_date_is_calendar_months_clamped_to_month_end(start: date, months: int, due: date) -> None:
    assert add_months(start, months) == due


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("Cân phân tích", MetrologyField.MASS),
        ("Cân ô tô", MetrologyField.MASS),
        ("Quả cân M1", MetrologyField.MASS),
        ("Analytical balance", MetrologyField.MASS),
        ("Cân điện tử", MetrologyField.MASS),  # "điện tử" is "electronic"
        ("Công tơ điện tử 3 pha", MetrologyField.ELECTRICAL),
        ("Huyết áp kế điện tử", MetrologyField.PRESSURE),
        ("Đồng hồ nước lạnh", MetrologyField.VOLUME_FLOW),
        ("Cột đo xăng dầu", MetrologyField.VOLUME_FLOW),
        ("Fuel dispenser", MetrologyField.VOLUME_FLOW),
        ("Bồn đong cố định", MetrologyField.VOLUME_FLOW),
        ("Công tơ điện 1 pha", MetrologyField.ELECTRICAL),
        ("Đồng hồ vạn năng", MetrologyField.ELECTRICAL),
        ("Digital multimeter", MetrologyField.ELECTRICAL),
        ("Đồng hồ đo điện áp", MetrologyField.ELECTRICAL),  # "áp" of "điện áp" is voltage, not pressure
        ("Huyết áp kế", MetrologyField.PRESSURE),
        ("Áp kế lò xo", MetrologyField.PRESSURE),
        ("Pressure gauge", MetrologyField.PRESSURE),
        ("Nhiệt kế thủy tinh", MetrologyField.TEMPERATURE),
        ("Cặp nhiệt điện", MetrologyField.TEMPERATURE),  # a thermocouple, though it says "điện"
        ("Thước cuộn", MetrologyField.LENGTH),
        ("Taximet", MetrologyField.LENGTH),
        ("Máy đo pH", MetrologyField.OTHER),
        ("Phương tiện đo độ ẩm hạt", MetrologyField.OTHER),
    ],
)
def test_field_is_inferred_from_the_kind(kind: str, field: MetrologyField) -> None:
    assert infer_field(kind) == field


def test_dates() -> None:
    assert parse_date("2026-03-15", TODAY) == date(2026, 3, 15)
    assert parse_date("15/03/2026", TODAY) == date(2026, 3, 15)
    assert parse_date("5.3.2026", TODAY) == date(2026, 3, 5)
    assert parse_date("ngày 15 tháng 3 năm 2026", TODAY) == date(2026, 3, 15)
    assert parse_date(datetime(2026, 3, 15, 0, 0), TODAY) == date(2026, 3, 15)
    assert parse_date("", TODAY) is None
    assert parse_date(None, TODAY) is None
    assert parse_date("2026-04-01", TODAY) == TODAY  # today is not the future
    for bad, reason in (
        ("02/04/2026", "future"),
        ("31/02/2026", "not a calendar date"),
        ("15/03/26", "two-digit year"),
        ("March 2026", "not a date"),
        (45000, "a number, not a date"),
    ):
        with pytest.raises(CellError, match=reason):
            parse_date(bad, TODAY)


def test_intervals() -> None:
    assert [parse_interval(v) for v in ("12", 12, 24.0, "12 tháng", "6 months", "1 năm", "120")] == [
        12,
        12,
        24,
        12,
        6,
        12,
        120,
    ]
    for bad, reason in (
        ("6,5", "whole number"),
        ("0", "at least 1"),
        ("-3", "at least 1"),
        ("121", "120"),
        ("", "required"),
    ):
        with pytest.raises(CellError, match=reason):
            parse_interval(bad)


def test_tax_codes() -> None:
    assert parse_tax_code("0101234567") == "0101234567"
    assert parse_tax_code(" 0101234567-001 ") == "0101234567-001"
    assert parse_tax_code(None) is None
    with pytest.raises(CellError, match="leading 0"):
        parse_tax_code(101234567)  # Excel turned 0101234567 into a number
    for bad in ("12345", "0101234567-01", "01012345678", "MST0101234567"):
        with pytest.raises(CellError, match="not a tax code"):
            parse_tax_code(bad)


def test_headers_english_vietnamese_and_without_diacritics() -> None:
    assert column_for_header("Serial_Number") == "serial_number"
    assert column_for_header("  Số sản xuất ") == "serial_number"
    assert column_for_header("so san xuat") == "serial_number"
    assert column_for_header("Chu kỳ (tháng)") == "interval_months"
    assert column_for_header("NGÀY KIỂM ĐỊNH GẦN NHẤT") == "last_calibrated"
    assert column_for_header(unicodedata.normalize("NFD", "Khách hàng")) == "customer"
    assert column_for_header("Kiểu/Model") == "model"
    assert column_for_header("Tên phương tiện đo") == "kind"
    assert column_for_header("Hãng sản xuất") == "manufacturer"
    assert column_for_header("Phạm vi đo") == "range"
    assert column_for_header("Giá trị độ chia") == "resolution"
    assert column_for_header("Cấp chính xác") == "accuracy_class"
    assert column_for_header("Nơi sử dụng") == "location"
    assert column_for_header("Colour") is None


# --- reading files ------------------------------------------------------------------------------------------------

HEADER = [
    "customer",
    "customer_tax_code",
    "kind",
    "manufacturer",
    "model",
    "serial_number",
    "range",
    "resolution",
    "accuracy_class",
    "location",
    "interval_months",
    "last_calibrated",
    "field",
    "group2",
]
AN_BINH = "Công ty TNHH Thực phẩm An Bình"
HA_DONG = "Công ty CP Nước sạch Hà Đông"


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def row(**values: str) -> list[str]:
    return [values.get(column, "") for column in HEADER]


GOOD = {
    "customer": AN_BINH,
    "kind": "Cân kỹ thuật",
    "manufacturer": "Ohaus",
    "model": "PX4202",
    "range": "0 - 4200 g",
    "resolution": "0,01 g",
    "accuracy_class": "II",
    "location": "Phòng thí nghiệm",
    "interval_months": "12",
    "last_calibrated": "10/01/2026",
}


def good(serial: str, **changes: str) -> list[str]:
    return row(**{**GOOD, "serial_number": serial, **changes})


def mixed_rows() -> list[list[str]]:
    """Header, 6 good rows and 18 bad ones (one per reason), a blank row; the row number is in each comment."""
    return [
        HEADER,
        # 2: new customer by tax code; 31 Jan + 1 month = 28 Feb 2025; 0.01 mg = 0.00001 g
        row(
            customer=AN_BINH,
            customer_tax_code="0312345678",
            kind="Cân phân tích",
            manufacturer="Mettler Toledo",
            model="XPR205",
            serial_number="B912345678",
            range="(0 ÷ 220) g",
            resolution="0.01 mg",
            accuracy_class="I",
            location="Phòng QC",
            interval_months="1",
            last_calibrated="31/01/2025",
            group2="yes",
        ),
        # 3: same customer by name; 0.05 L = 0.00005 m³; 15 Mar 2025 + 60 months = 15 Mar 2030
        row(
            customer=AN_BINH,
            kind="Đồng hồ nước",
            manufacturer="Itron",
            model="Multimag",
            serial_number="21HA009911",
            range="0 ÷ 99999 m3",
            resolution="0,05 L",
            accuracy_class="B",
            location="Nhà máy số 2",
            interval_months="60",
            last_calibrated="2025-03-15",
            group2="x",
        ),
        # 4: a branch (tax code with -001); 29 Feb 2024 + 12 months = 28 Feb 2025
        row(
            customer="Cửa hàng xăng dầu Số 5",
            customer_tax_code="0101234567-001",
            kind="Cột đo xăng dầu",
            manufacturer="Tatsuno",
            model="Sunny",
            serial_number="TS-0042",
            range="(5 ÷ 50) L/min",
            accuracy_class="0,5",
            location="Đảo bơm 1",
            interval_months="12",
            last_calibrated="29/02/2024",
        ),
        good("BAD-5", customer=""),  # 5
        good("BAD-6", interval_months="6.5"),  # 6
        good("BAD-7", last_calibrated="15/04/2026"),  # 7: after TODAY
        good("b912345678", manufacturer="METTLER TOLEDO", model="xpr205"),  # 8: row 2 again
        good("BAD-9", resolution="1 mV"),  # 9
        good("BAD-10", range="220 - 0 g"),  # 10
        good("BAD-11", customer_tax_code="12345"),  # 11
        good("BAD-12", field="chemistry"),  # 12
        good("BAD-13", group2="maybe"),  # 13
        good("BAD-14", resolution="-0.1 g"),  # 14
        good("BAD-15", range="0 - 1.000 kg"),  # 15
        good("BAD-16", interval_months="0"),  # 16
        good("BAD-17", interval_months="121"),  # 17
        good("BAD-18", last_calibrated="15/03/25"),  # 18
        good("", kind=""),  # 19: two problems
        # 20: never calibrated; 0.1 mV = 0.0001 V
        row(
            customer=AN_BINH,
            kind="Đồng hồ vạn năng",
            manufacturer="Fluke",
            model="87V",
            serial_number="12345678",
            range="0 - 1000 V",
            resolution="0.1 mV",
            accuracy_class="0,05 %",
            location="Xưởng điện",
            interval_months="12",
        ),
        good("BAD-21", kind="Nhiệt kế", range="0-100", resolution="0.1 °C"),  # 21
        good("21ha000001", customer=HA_DONG, manufacturer="ITRON", model="multimag"),  # 22: registered already
        good("BAD-23", kind="Cân " + "x" * 120),  # 23
        # 24: the name of row 2 in other case and spacing; 31 Mar 2026 + 12 months = 31 Mar 2027
        row(
            customer=f"  {AN_BINH.upper()}  ",
            kind="Nhiệt kế điện tử",
            manufacturer="Testo",
            model="735-2",
            serial_number="40012345",
            range="-50 ... 150 °C",
            resolution="0,1 oC",
            accuracy_class="",
            location="Kho lạnh",
            interval_months="12 tháng",
            last_calibrated="ngày 31 tháng 3 năm 2026",
        ),
        ["", "", "", ""],  # 25: blank, skipped
        # 26: existing customer by tax code under another name; range kept as text
        row(
            customer="Nước sạch Hà Đông",
            customer_tax_code="0109876543",
            kind="Đồng hồ nước",
            manufacturer="Itron",
            model="Multimag",
            serial_number="21HA000002",
            range="Q3 = 2,5 m³/h",
            accuracy_class="B",
            location="Trạm bơm Văn Quán",
            interval_months="60",
            last_calibrated="10/01/2026",
        ),
    ]


EXPECTED_REJECTED = {
    (5, "customer", "required"),
    (6, "interval_months", "whole number"),
    (7, "last_calibrated", "future"),
    (8, "serial_number", "row 2"),
    (9, "resolution", "cannot be"),
    (10, "range", "above its maximum"),
    (11, "customer_tax_code", "not a tax code"),
    (12, "field", "not a metrology field"),
    (13, "group2", "yes/no"),
    (14, "resolution", "positive"),
    (15, "range", "ambiguous"),
    (16, "interval_months", "at least 1"),
    (17, "interval_months", "120"),
    (18, "last_calibrated", "two-digit year"),
    (19, "kind", "required"),
    (19, "serial_number", "required"),
    (21, "range", "no unit"),
    (22, "serial_number", "already registered"),
    (23, "kind", "longer than 120"),
}


def seed(engine: Engine) -> None:
    """A customer with one water meter, registered before the import."""
    with session_scope(engine, "seed") as session:
        owner = Customer(name=HA_DONG, tax_code="0109876543")
        session.add(
            MeasuringInstrument(
                owner=owner,
                kind="Đồng hồ nước",
                field=MetrologyField.VOLUME_FLOW,
                manufacturer="Itron",
                model="Multimag",
                serial_number="21HA000001",
                interval_months=60,
            )
        )


def counts(engine: Engine) -> tuple[int, int, int]:
    with session_scope(engine, "test") as session:
        return (
            session.scalar(select(func.count()).select_from(Customer)) or 0,
            session.scalar(select(func.count()).select_from(MeasuringInstrument)) or 0,
            session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
        )


def issues(report: importer.ImportReport) -> set[tuple[int, str]]:
    return {(i.row, i.column) for i in report.rejected}


def test_mixed_csv_good_rows_in_bad_rows_listed(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    path = write_csv(tmp_path / "instruments.csv", mixed_rows())
    before = counts(engine)

    with session_scope(engine, "tester") as session:
        dry = import_instruments(session, path, today=TODAY, dry_run=True)
    assert counts(engine) == before  # a dry run writes nothing, not even an audit entry
    assert (dry.rows, dry.imported, len(dry.rejected_rows)) == (24, 6, 18)

    with session_scope(engine, "tester") as session:
        report = import_instruments(session, path, today=TODAY)
    assert (report.rows, report.imported, len(report.rejected_rows)) == (24, 6, 18)
    assert issues(report) == issues(dry) == {(r, c) for r, c, _ in EXPECTED_REJECTED}
    for r, c, reason in EXPECTED_REJECTED:
        found = [i.reason for i in report.rejected if (i.row, i.column) == (r, c)]
        assert reason in found[0], (r, c, found)
    assert [(c.name, c.tax_code, c.row) for c in report.customers_created] == [
        (AN_BINH, "0312345678", 2),
        ("Cửa hàng xăng dầu Số 5", "0101234567-001", 4),
    ]
    assert {(w.row, w.column) for w in report.warnings} == {(26, "customer"), (26, "range")}
    assert counts(engine)[:2] == (before[0] + 2, before[1] + 6)

    with session_scope(engine, "test") as session:
        got = {i.serial_number: i for i in session.scalars(select(MeasuringInstrument))}
        balance = got["B912345678"]
        assert (balance.owner.name, balance.owner.tax_code) == (AN_BINH, "0312345678")
        assert (balance.range_min, balance.range_max, balance.range_unit, balance.range_text) == (
            0.0,
            220.0,
            "g",
            "(0 ÷ 220) g",
        )
        assert balance.resolution == pytest.approx(1e-5, rel=1e-12)
        assert (balance.field, balance.group2, balance.interval_months) == (MetrologyField.MASS, True, 1)
        assert (balance.last_calibrated, balance.next_due) == (date(2025, 1, 31), date(2025, 2, 28))

        meter = got["21HA009911"]
        assert meter.owner_id == balance.owner_id
        assert (meter.range_min, meter.range_max, meter.range_unit) == (0.0, 99999.0, "m³")
        assert meter.resolution == pytest.approx(5e-5, rel=1e-12)
        assert (meter.field, meter.group2, meter.next_due) == (MetrologyField.VOLUME_FLOW, True, date(2030, 3, 15))

        dispenser = got["TS-0042"]
        assert (dispenser.range_min, dispenser.range_max, dispenser.range_unit, dispenser.resolution) == (
            5.0,
            50.0,
            "L/min",
            None,
        )
        assert (dispenser.field, dispenser.group2, dispenser.next_due) == (
            MetrologyField.VOLUME_FLOW,
            False,
            date(2025, 2, 28),
        )
        assert dispenser.owner.tax_code == "0101234567-001"

        dmm = got["12345678"]
        assert (dmm.field, dmm.range_unit, dmm.last_calibrated, dmm.next_due) == (
            MetrologyField.ELECTRICAL,
            "V",
            None,
            None,
        )
        assert dmm.resolution == pytest.approx(1e-4, rel=1e-12)

        thermometer = got["40012345"]
        assert thermometer.owner_id == balance.owner_id
        assert (thermometer.range_min, thermometer.range_max, thermometer.range_unit) == (-50.0, 150.0, "°C")
        assert (thermometer.field, thermometer.next_due) == (MetrologyField.TEMPERATURE, date(2027, 3, 31))

        second_meter = got["21HA000002"]
        assert second_meter.owner.name == HA_DONG  # matched by tax code
        assert (second_meter.range_text, second_meter.range_min, second_meter.range_max) == (
            "Q3 = 2,5 m³/h",
            None,
            None,
        )

        event = session.scalars(select(AuditEntry).where(AuditEntry.action == "import")).one()
        payload = json.loads(event.payload)
        assert event.actor == "tester"
        assert payload["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert (payload["file"], payload["imported"], payload["rows"]) == ("instruments.csv", 6, 24)
        assert payload["rejected_rows"] == sorted({r for r, _, _ in EXPECTED_REJECTED})
        inserted = session.scalars(select(AuditEntry).where(AuditEntry.entity == "measuring_instrument")).all()
        assert sum(1 for e in inserted if e.action == "insert") == 1 + 6  # the seed's and the import's
        assert audit.verify(session).ok


def test_xlsx_with_vietnamese_headers_excel_dates_and_decimal_comma(engine: Engine, tmp_path: Path) -> None:
    workbook = Workbook()
    notes = workbook.active
    assert notes is not None
    notes.title = "Ghi chú"
    notes.append(["Danh sách này gửi Trung tâm Kỹ thuật TĐC", "", ""])
    sheet = workbook.create_sheet("Instruments")
    sheet.append(["DANH SÁCH PHƯƠNG TIỆN ĐO"])  # a title above the header, as labs do
    sheet.append(
        [
            "STT",
            "Khách hàng",
            "Mã số thuế",
            "Tên phương tiện đo",
            "Hãng sản xuất",
            "Kiểu",
            "Số sản xuất",
            "Phạm vi đo",
            "Giá trị độ chia",
            "Cấp chính xác",
            "Nơi sử dụng",
            "Chu kỳ (tháng)",
            "Ngày kiểm định gần nhất",
            "Nhóm 2",
        ]
    )
    thu_duc = "Công ty CP Cơ điện Thủ Đức"
    base = [thu_duc, "0301234567", "Cân bàn điện tử", "Ohaus", "Defender 3000"]
    sheet.append([1, *base, 8339, "0 - 150 kg", 0.05, "III", "Kho thành phẩm", 6, datetime(2025, 8, 31), "có"])
    sheet.append(
        [
            2,
            unicodedata.normalize("NFD", thu_duc),  # the same name, decomposed as some keyboards type it
            None,
            "Đồng hồ đo lưu lượng",
            "Siemens",
            "MAG 5000",
            "7ME6520",
            "2,5 m³/h",
            "0,001 m³/h",
            "0,4",
            "Trạm bơm",
            24.0,
            datetime(2024, 2, 29),
            "không",
        ]
    )
    sheet.append([3, None, None, "Cân bàn", "Ohaus", "D1", "S-5", "150 kg", "0,05 kg", "III", "Kho", 12, None, None])
    sheet.append([4, *base, "S-6", "150 kg", "0,05 kg", "III", "Kho", 12, 45000, None])
    sheet.append([5, *base, datetime(2026, 3, 12), "150 kg", "0,05 kg", "III", "Kho", 12, None, None])
    sheet.append([6, thu_duc, 301234567, "Cân bàn", "Ohaus", "D1", "S-8", "150 kg", "0,05 kg", "III", "Kho", 12])
    for r in (3, 4):
        sheet.cell(r, 13).number_format = "dd/mm/yyyy"
    path = tmp_path / "danh-sach.xlsx"
    workbook.save(path)

    with session_scope(engine, "tester") as session:
        report = import_instruments(session, path, today=TODAY)
    assert report.source == "sheet 'Instruments'"
    assert (report.rows, report.imported) == (6, 2)
    assert issues(report) == {(5, "customer"), (6, "last_calibrated"), (7, "serial_number"), (8, "customer_tax_code")}
    reasons = {i.row: i.reason for i in report.rejected}
    assert "merged cells" in reasons[5]
    assert "a number, not a date" in reasons[6]
    assert "turned this into a date" in reasons[7]
    assert "leading 0" in reasons[8]
    assert report.rejected[0].header == "Khách hàng"

    with session_scope(engine, "test") as session:
        customers = session.scalars(select(Customer)).all()
        assert [(c.name, c.tax_code) for c in customers] == [(thu_duc, "0301234567")]
        got = {i.serial_number: i for i in session.scalars(select(MeasuringInstrument))}
        scale, flow = got["8339"], got["7ME6520"]
        assert (scale.kind, scale.location, scale.accuracy_class) == ("Cân bàn điện tử", "Kho thành phẩm", "III")
        assert (scale.range_min, scale.range_max, scale.range_unit, scale.resolution) == (0.0, 150.0, "kg", 0.05)
        assert (scale.field, scale.group2, scale.last_calibrated) == (MetrologyField.MASS, True, date(2025, 8, 31))
        assert scale.next_due == date(2026, 2, 28)  # 31 Aug 2025 + 6 months
        assert (flow.range_min, flow.range_max, flow.range_unit, flow.resolution) == (None, 2.5, "m³/h", 0.001)
        assert (flow.accuracy_class, flow.interval_months, flow.group2) == ("0,4", 24, False)
        assert (flow.field, flow.next_due) == (MetrologyField.VOLUME_FLOW, date(2026, 2, 28))  # 29 Feb 2024 + 24


def test_a_crash_mid_import_leaves_nothing_and_the_chain_intact(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(engine)
    before = counts(engine)
    path = write_csv(tmp_path / "big.csv", [HEADER] + [good(f"SN-{n:03d}") for n in range(10)])
    monkeypatch.setattr(importer.base, "INSERT_EVERY", 2)
    built: list[int] = []
    seen_in_transaction: list[int] = []
    real_build = importer.instruments._instrument_values

    def failing_build(row: Any, owner: Customer) -> dict[str, Any]:
        built.append(row.row)
        if len(built) == 6:
            session = session_holder[0]
            with session.no_autoflush:  # count what earlier flushes wrote, not the row still pending
                seen_in_transaction.append(session.scalar(select(func.count()).select_from(MeasuringInstrument)) or 0)
            raise RuntimeError("disk on fire")
        return real_build(row, owner)

    monkeypatch.setattr(importer.instruments, "_instrument_values", failing_build)
    session_holder: list[Any] = []
    with pytest.raises(RuntimeError, match="disk on fire"), session_scope(engine, "tester") as session:
        session_holder.append(session)
        import_instruments(session, path, today=TODAY)
    assert seen_in_transaction == [before[1] + 4]  # four rows had been flushed when it failed
    assert counts(engine) == before
    with session_scope(engine, "test") as session:
        assert audit.verify(session).ok


def test_the_import_rolls_itself_back_even_if_the_caller_commits(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path / "i.csv", [HEADER, good("A-1"), good("A-2"), good("A-3")])
    monkeypatch.setattr(importer.base, "INSERT_EVERY", 1)
    calls: list[int] = []
    real_build = importer.instruments._instrument_values

    def failing_build(row: Any, owner: Customer) -> dict[str, Any]:
        calls.append(row.row)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return real_build(row, owner)

    monkeypatch.setattr(importer.instruments, "_instrument_values", failing_build)
    with session_factory(sqlite_engine)() as session:
        session.info["actor"] = "careless"
        session.add(Customer(name="Kept customer"))
        with pytest.raises(RuntimeError):
            import_instruments(session, path, today=TODAY)
        session.commit()  # the caller's own work commits; the import's does not
    with session_scope(sqlite_engine, "test") as session:
        assert session.scalars(select(Customer.name)).all() == ["Kept customer"]
        assert session.scalar(select(func.count()).select_from(MeasuringInstrument)) == 0
        assert audit.verify(session).ok


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite registry (for behaviour that does not depend on the engine)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'caltrace.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def test_update_mode_updates_registered_instruments(sqlite_engine: Engine, tmp_path: Path) -> None:
    first = write_csv(tmp_path / "a.csv", [HEADER, good("U-1"), good("U-2")])
    with session_scope(sqlite_engine, "t") as session:
        assert import_instruments(session, first, today=TODAY).imported == 2

    again = write_csv(
        tmp_path / "b.csv",
        [HEADER, good("U-1", location="Phòng cân 2", interval_months="6"), good("u-2"), good("U-3")],
    )
    with session_scope(sqlite_engine, "t") as session:
        refused = import_instruments(session, again, today=TODAY)
    assert (refused.imported, issues(refused)) == (1, {(2, "serial_number"), (3, "serial_number")})
    assert "--update" in refused.rejected[0].reason

    again = write_csv(
        tmp_path / "c.csv",
        [HEADER, good("U-1", location="Phòng cân 2", interval_months="6"), good("U-2"), good("U-4")],
    )
    with session_scope(sqlite_engine, "t") as session:
        dry = import_instruments(session, again, today=TODAY, update=True, dry_run=True)
    assert (dry.imported, dry.updated, dry.unchanged) == (1, 1, 1)
    with session_scope(sqlite_engine, "t") as session:
        report = import_instruments(session, again, today=TODAY, update=True)
    assert (report.imported, report.updated, report.unchanged, report.rejected) == (1, 1, 1, [])
    with session_scope(sqlite_engine, "t") as session:
        u1 = session.scalars(select(MeasuringInstrument).where(MeasuringInstrument.serial_number == "U-1")).one()
        assert (u1.location, u1.interval_months, u1.next_due) == ("Phòng cân 2", 6, date(2026, 7, 10))
        updates = session.scalars(select(AuditEntry).where(AuditEntry.action == "update")).all()
        assert len(updates) == 1
        assert json.loads(updates[0].payload)["location"] == ["Phòng thí nghiệm", "Phòng cân 2"]


def test_an_update_from_a_file_without_the_optional_columns_keeps_their_registered_values(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    first = write_csv(tmp_path / "a.csv", [HEADER, good("G-1", field="pressure", group2="yes")])
    with session_scope(sqlite_engine, "t") as session:
        assert import_instruments(session, first, today=TODAY).imported == 1
    short = [c for c in HEADER if c not in ("field", "group2")]
    again = {**GOOD, "serial_number": "G-1", "location": "Kho"}
    new = {**GOOD, "serial_number": "G-2"}
    path = write_csv(tmp_path / "b.csv", [short, [again.get(c, "") for c in short], [new.get(c, "") for c in short]])
    with session_scope(sqlite_engine, "t") as session:
        report = import_instruments(session, path, today=TODAY, update=True)
    assert (report.imported, report.updated, report.rejected) == (1, 1, [])
    with session_scope(sqlite_engine, "t") as session:
        got = {i.serial_number: i for i in session.scalars(select(MeasuringInstrument))}
        # the file said nothing of field and Group 2: G-1 keeps what was registered, only its location changes
        assert (got["G-1"].location, got["G-1"].field, got["G-1"].group2) == ("Kho", MetrologyField.PRESSURE, True)
        # a new instrument gets its field from its kind (a Cân is mass) and is not Group 2 unless said so
        assert (got["G-2"].field, got["G-2"].group2) == (MetrologyField.MASS, False)


def test_customers_matched_by_tax_code_then_name(sqlite_engine: Engine, tmp_path: Path) -> None:
    with session_scope(sqlite_engine, "seed") as session:
        session.add_all(
            [
                Customer(name="Công ty A"),
                Customer(name="Công ty B", tax_code="0100000001"),
                Customer(name="Công ty B", tax_code="0100000002"),
            ]
        )
    path = write_csv(
        tmp_path / "c.csv",
        [
            HEADER,
            good("C-2", customer="công ty   a", customer_tax_code="0100000009"),  # gets its tax code
            good("C-3", customer="Công ty B"),  # which one?
            good("C-4", customer="Công ty B", customer_tax_code="0100000002"),
            good("C-5", customer="CÔNG TY A"),
        ],
    )
    with session_scope(sqlite_engine, "t") as session:
        report = import_instruments(session, path, today=TODAY)
    assert report.customers_created == []
    assert issues(report) == {(3, "customer")}
    assert "0100000001, 0100000002" in report.rejected[0].reason
    with session_scope(sqlite_engine, "t") as session:
        owners = {
            i.serial_number: (i.owner.name, i.owner.tax_code) for i in session.scalars(select(MeasuringInstrument))
        }
    assert owners == {
        "C-2": ("Công ty A", "0100000009"),
        "C-4": ("Công ty B", "0100000002"),
        "C-5": ("Công ty A", "0100000009"),
    }


def encode_cp1258(text: str) -> bytes:
    """Text as Windows-1258 writes it: precomposed base letters plus a combining tone mark."""
    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = []
    for ch in unicodedata.normalize("NFC", text):
        decomposed = unicodedata.normalize("NFD", ch)
        tone = "".join(c for c in decomposed if c in tones)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in tones))
        out.append(base + tone)
    return "".join(out).encode("cp1258")


def test_csv_encodings_delimiters_and_the_sep_line(sqlite_engine: Engine, tmp_path: Path) -> None:
    name = "Công ty TNHH Đo lường Việt Hưng"
    lines = [";".join(HEADER), ";".join(good("E-1", customer=name)), ";".join(good("E-2", customer=name, field="x"))]
    legacy = tmp_path / "ansi.csv"
    legacy.write_bytes(encode_cp1258("\r\n".join(lines)))
    assert "Công".encode() not in legacy.read_bytes()  # really not UTF-8
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(["sep=;", *lines]).replace("E-", "F-").encode())
    tabs = tmp_path / "unicode.csv"
    tabs.write_bytes("\r\n".join(line.replace(";", "\t") for line in lines).replace("E-", "G-").encode("utf-16"))

    for path, source, bad_row in (
        (legacy, "encoding cp1258, delimiter ';'", 3),
        (bom, "encoding utf-8-sig, delimiter ';'", 3),  # Excel hides the sep= line: rows as in Excel
        (tabs, "encoding utf-16, delimiter tab", 3),
    ):
        with session_scope(sqlite_engine, "t") as session:
            report = import_instruments(session, path, today=TODAY)
        assert report.source == source
        assert (report.imported, issues(report)) == (1, {(bad_row, "field")})
    with session_scope(sqlite_engine, "t") as session:
        assert session.scalars(select(Customer.name)).all() == [name]  # one customer, diacritics intact


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("blank.csv", b"\r\n \r\n", "is empty"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old Excel format"),
        ("list.txt", b"customer,kind", "expected a .csv or .xlsx"),
        ("locked.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "password-protected"),
        ("broken.xlsx", b"PK\x03\x04" + b"\x00garbage" * 20, "damaged .xlsx"),
        ("text.xlsx", b"customer,kind\n", "not an Excel .xlsx"),
        ("wrong.csv", b"PK\x03\x04" + b"\x00" * 40, "rename it to .xlsx"),
        ("binary.csv", b"\x81\x8a\x8d\x90 not text", "neither UTF-8 nor Windows-1258"),
        ("header-only.csv", (",".join(HEADER) + "\r\n").encode(), "no instrument rows"),
        ("few-columns.csv", b"customer,kind,serial_number\r\nA,Can,1\r\n", "missing columns manufacturer, model"),
        ("twice.csv", (",".join([*HEADER, "Số sản xuất"]) + "\r\n").encode(), "both mean serial_number"),
    ],
)
def test_files_that_cannot_be_read_write_nothing(
    sqlite_engine: Engine, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    before = counts(sqlite_engine)
    with pytest.raises(ImportFileError, match=message), session_scope(sqlite_engine, "t") as session:
        import_instruments(session, path, today=TODAY)
    assert counts(sqlite_engine) == before


def test_missing_columns_message_lists_the_expected_header(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", [["Khách hàng", "Tên phương tiện đo", "Số sản xuất"], ["A", "Cân", "1"]])
    with pytest.raises(ImportFileError) as caught, session_scope(sqlite_engine, "t") as session:
        import_instruments(session, path, today=TODAY)
    text = str(caught.value)
    assert "customer,kind,manufacturer,model,serial_number,range,resolution" in text
    assert "'hãng sản xuất'" in text  # the Vietnamese header of a missing column
    with pytest.raises(ImportFileError, match="no such file"), session_scope(sqlite_engine, "t") as session:
        import_instruments(session, tmp_path / "nowhere.csv", today=TODAY)


def test_flow_range_keeps_a_volume_resolution_in_its_own_unit(engine: Engine, tmp_path: Path) -> None:
    """A fuel dispenser: flow range in L/min, scale interval 0,05 L (not convertible to L/min, but its volume)."""
    path = write_csv(
        tmp_path / "dispensers.csv",
        [
            HEADER,
            row(
                customer="Cửa hàng xăng dầu Số 9",
                kind="Cột đo xăng dầu",
                manufacturer="Tatsuno",
                model="Sunny",
                serial_number="TS-0099",
                range="(5 ÷ 50) L/min",
                resolution="0,05 L",
                interval_months="12",
            ),
            row(
                customer="Cửa hàng xăng dầu Số 9",
                kind="Đồng hồ nước",
                manufacturer="Itron",
                model="Multimag",
                serial_number="WM-77",
                range="0 - 2,5 m³/h",
                resolution="0,05 mL",
                interval_months="60",
            ),
        ],
    )
    with session_scope(engine, "tester") as session:
        report = import_instruments(session, path, today=TODAY)
    assert (report.imported, report.rejected) == (2, [])
    with session_scope(engine, "tester") as session:
        got = {i.serial_number: i for i in session.scalars(select(MeasuringInstrument))}
    assert (got["TS-0099"].range_unit, got["TS-0099"].resolution, got["TS-0099"].resolution_unit) == (
        "L/min",
        0.05,
        "L",
    )
    # mL is a volume like the m³ of m³/h, but not a flow: kept as written, 0.05 mL.
    assert (got["WM-77"].range_unit, got["WM-77"].resolution, got["WM-77"].resolution_unit) == ("m³/h", 0.05, "mL")
