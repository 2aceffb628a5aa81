"""Every import message exists in Vietnamese and English, Vietnamese the default (caltrace issue 16, item 3).

The catalogue (:data:`registry.importer.messages.CATALOGUE`) is walked whole: each message has both texts, the
Vietnamese one in Vietnamese, the English one without Vietnamese letters, no English word left untranslated in the
Vietnamese one, and the same named fields in both. Every message code the importer's source names is in the
catalogue. Numbers follow the language: a decimal comma in Vietnamese, a point in English.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

import registry.importer
from registry.db import make_engine, session_scope, upgrade
from registry.errors import ImportFileError
from registry.importer import CellError, import_instruments, parse_number
from registry.importer.messages import CATALOGUE, Message, Quantity, Span, msg, render
from tests.support.bilingual import check_messages


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite registry (the messages do not depend on the engine)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'caltrace.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def test_every_import_message_is_in_vietnamese_and_english() -> None:
    check_messages(CATALOGUE, "import message")


def test_the_checks_catch_a_message_left_in_english_or_with_other_fields() -> None:
    with pytest.raises(AssertionError, match="left in English"):
        check_messages({"x": ("dòng {row}: required", "row {row}: required")}, "x")
    with pytest.raises(AssertionError, match="fields"):
        check_messages({"x": ("dòng {row}: trống", "row {line}: empty")}, "x")
    with pytest.raises(AssertionError, match="is not English"):
        check_messages({"x": ("dòng trống", "dòng trống")}, "x")
    # a quoted literal is not prose: the Vietnamese example in an English text is allowed
    check_messages({"x": ("trống — cần tên (ví dụ «Cân phân tích»)", "required: a name (e.g. 'Cân phân tích')")}, "x")


def test_every_message_code_the_importer_names_is_in_the_catalogue() -> None:
    sources = [*Path(registry.importer.__file__).parent.glob("*.py")]
    sources.append(Path(registry.importer.__file__).parents[2] / "api" / "cli" / "registry.py")
    prefixes = "|".join(sorted({code.split(".")[0] for code in CATALOGUE}))
    named = set()
    for path in sources:  # every string literal "prefix.name" with a catalogue prefix (file., required., ...)
        named |= set(re.findall(rf'"((?:{prefixes})\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    assert len(named) > 100  # the scan found the messages
    assert sorted(named - set(CATALOGUE)) == []
    # the codes made at run time: a required column of a lot, a kind of record, the new-customer lines
    made = {f"required.{c}" for c in ("packer", "product", "lot_number")}
    made |= {f"noun.{s.records}" for s in _schemas()}
    made |= {f"cli.new_customer{t}{d}" for t in ("", "_taxed") for d in ("", "_dry")}
    assert sorted(made - set(CATALOGUE)) == []


def _schemas() -> list[registry.importer.Schema]:
    from registry.importer.certificates import CERTIFICATES
    from registry.importer.laboratory import CMC, LABORATORY
    from registry.importer.staff import STAFF
    from registry.importer.standards import STANDARDS

    return [registry.importer.INSTRUMENTS, registry.importer.LOTS, LABORATORY, CMC, STAFF, STANDARDS, CERTIFICATES]


def test_numbers_take_a_decimal_comma_in_vietnamese_and_a_point_in_english() -> None:
    assert render(Decimal("2.5"), "vi") == "2,5" and render(Decimal("2.5"), "en") == "2.5"
    assert render(0.001, "vi") == "0,001" and render(0.001, "en") == "0.001"
    assert render(Quantity(Decimal("-0.1"), "mg"), "vi") == "-0,1 mg"
    assert render(Span(0.0, 220.5, "g"), "en") == "0 – 220.5 g"
    assert render(date(2026, 3, 5), "vi") == render(date(2026, 3, 5), "en") == "05/03/2026"
    with pytest.raises(CellError) as caught:
        parse_number("2.500")  # ambiguous: 2500 or 2.5
    assert caught.value.message.text("vi").endswith("viết 2500 hoặc 2,5")
    assert caught.value.message.text("en").endswith("write 2500 or 2.5")
    assert str(caught.value) == caught.value.message.text("en")


def test_a_message_needs_its_fields_and_nests_other_messages() -> None:
    with pytest.raises(KeyError, match="needs"):
        msg("record.twice", first=3)
    twice = msg("record.twice", what=msg("what.staff"), first=3)
    assert twice.text("vi") == "trùng nhân viên với dòng 3"
    assert twice.text("en") == "the same member of staff as row 3"
    assert twice.text() == twice.text("vi")  # Vietnamese is the default
    assert isinstance(twice, Message) and twice.code == "record.twice"


def test_a_report_gives_each_reason_in_both_languages_and_its_code(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "instruments.csv"
    path.write_text(
        "customer,kind,manufacturer,model,serial_number,range,resolution,accuracy_class,location,interval_months,"
        "last_calibrated\n"
        'Công ty A,Cân phân tích,Mettler,XS205,,0-220 g,"0,1 mg",I,Lab,12,01/03/2026\n',
        encoding="utf-8",
    )
    with session_scope(sqlite_engine, "t") as s:
        report = import_instruments(s, path, today=date(2026, 11, 21))
    (issue,) = report.rejected
    assert issue.code == "required.serial_number"
    assert issue.text("vi") == "trống — cần số sản xuất của phương tiện đo"
    assert issue.reason == issue.text("en") == "required: the instrument's serial number"
    assert report.summary("vi") == (
        "instruments.csv: 1 dòng: đã nhập 0, bị từ chối 1. Chưa ghi phương tiện đo nào; sửa dòng bị từ chối "
        "rồi nhập lại."
    )
    assert report.summary("en") == (
        "instruments.csv: 1 row: 0 imported, 1 rejected. No instrument was written; fix the rejected row and import "
        "again."
    )
    doc = report.to_dict("en")
    assert doc["rejected"][0]["code"] == "required.serial_number" and doc["language"] == "en"
    assert doc["rejected"][0]["reason"] == "required: the instrument's serial number"
    assert report.to_dict()["rejected"][0]["reason"] == issue.text("vi")


def test_a_file_error_is_in_both_languages(sqlite_engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError) as caught, session_scope(sqlite_engine, "t") as s:
        import_instruments(s, tmp_path / "none.csv", today=date(2026, 11, 21))
    assert caught.value.text("vi").endswith("none.csv: không có tệp này")
    assert caught.value.text("en").endswith("none.csv: no such file") and str(caught.value).endswith("no such file")
