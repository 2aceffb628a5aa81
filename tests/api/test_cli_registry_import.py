"""`caltrace registry import instruments` as a user runs it: a data directory of its own, exit codes, output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from api.cli import app
from registry import audit
from registry.db import make_engine, session_scope, upgrade
from registry.models import AuditEntry, Customer, MeasuringInstrument, PrepackageLot

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "instruments.csv"
CALTRACE = str(Path(sys.executable).parent / "caltrace")
HEADER = (
    "customer,kind,manufacturer,model,serial_number,range,resolution,accuracy_class,location,interval_months,"
    "last_calibrated"
)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh installation: CALTRACE_DATA_DIR in tmp_path, no other CALTRACE_* setting."""
    for name in list(os.environ):
        if name.startswith("CALTRACE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CALTRACE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CALTRACE_ACTOR", "lab-tech")
    return tmp_path / "var"


@pytest.fixture
def registry(data_dir: Path) -> Iterator[Engine]:
    """The installation's registry, migrated (as `caltrace db upgrade` would)."""
    engine = make_engine(f"sqlite:///{data_dir / 'caltrace.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, ["registry", "import", "instruments", *args])


def test_rejected_rows_in_english_with_lang_en_and_the_same_exit_status(registry: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "mixed.csv", GOOD_1, GOOD_2, BAD_3, BAD_4)
    result = invoke(str(path), "--lang", "en")
    assert result.exit_code == 1
    out = result.stdout
    assert "Rejected rows (2)" in out and "Dòng bị từ chối" not in out
    assert "'twelve' is not a number" in out
    assert "02/01/2999 is in the future" in out
    assert "2 imported, 2 rejected, 1 new customer. The good rows are in the registry" in out
    with session_scope(registry, "test") as session:  # the good rows went in, as with Vietnamese messages
        assert session.scalar(select(func.count()).select_from(MeasuringInstrument)) == 2


def test_a_bad_lang_is_refused_before_anything_is_read(registry: Engine, tmp_path: Path) -> None:
    result = invoke(str(write(tmp_path / "a.csv", GOOD_1)), "--lang", "fr")
    assert result.exit_code == 2 and "--lang must be vi or en" in result.stderr
    assert counts(registry)[:2] == (0, 0)


def test_a_file_error_is_in_vietnamese_by_default(registry: Engine, tmp_path: Path) -> None:
    result = invoke(str(tmp_path / "missing.csv"))
    assert result.exit_code == 2
    assert "missing.csv: không có tệp này; chưa nhập gì" in result.stderr


def counts(engine: Engine) -> tuple[int, int, int]:
    with session_scope(engine, "test") as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Customer, MeasuringInstrument, AuditEntry)
        )


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


GOOD_1 = (
    "Công ty TNHH Bình Minh,Cân phân tích,Sartorius,Quintix 224,0035901234,0 - 220 g,0.1 mg,I,Phòng QC,12,02/01/2025"
)
GOOD_2 = "Công ty TNHH Bình Minh,Nhiệt kế,Testo,735-2,40012345,-50 ... 150 °C,0.01 °C,,Kho lạnh,12,2025-01-31"
BAD_3 = "Công ty TNHH Bình Minh,Cân kỹ thuật,Ohaus,PX4202,C1,0 - 4200 g,0.01 g,II,Xưởng,twelve,02/01/2025"
BAD_4 = "Công ty TNHH Bình Minh,Cân kỹ thuật,Ohaus,PX4202,C2,0 - 4200 g,0.01 g,II,Xưởng,12,02/01/2999"


def test_an_unmigrated_registry_is_refused(data_dir: Path, tmp_path: Path) -> None:
    result = invoke(str(write(tmp_path / "a.csv", GOOD_1)), "--lang", "en")
    assert result.exit_code == 2
    assert "run `caltrace db upgrade`" in result.stderr
    assert "nothing was imported" in result.stderr


def test_the_documented_example_imports_cleanly_and_again_only_with_update(registry: Engine) -> None:
    result = invoke(str(EXAMPLE), "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "instruments.csv: 10 rows: 10 imported, 0 rejected, 5 new customers." in result.stdout
    assert counts(registry)[:2] == (5, 10)

    again = invoke(str(EXAMPLE), "--lang", "en")
    assert again.exit_code == 1
    assert "already registered" in again.stdout
    assert counts(registry)[:2] == (5, 10)

    update = invoke(str(EXAMPLE), "--update", "--lang", "en")
    assert update.exit_code == 0, update.output
    assert "0 imported, 0 updated, 10 unchanged, 0 rejected" in update.stdout


def test_some_rows_rejected_exits_1_with_the_good_rows_in(registry: Engine, tmp_path: Path) -> None:
    """The reasons in Vietnamese, the default (caltrace issue 16, item 3)."""
    path = write(tmp_path / "mixed.csv", GOOD_1, GOOD_2, BAD_3, BAD_4)
    result = invoke(str(path))
    assert result.exit_code == 1
    out = result.stdout
    assert "Dòng bị từ chối (2)" in out and "Rejected rows" not in out
    assert "«twelve» không phải là số" in out
    assert "02/01/2999 là ngày trong tương lai" in out
    assert "đã nhập 2, bị từ chối 2, 1 khách hàng mới. Các dòng đúng đã vào cơ sở dữ liệu" in out
    with session_scope(registry, "test") as session:
        serials = set(session.scalars(select(MeasuringInstrument.serial_number)))
        event = session.scalars(select(AuditEntry).where(AuditEntry.action == "import")).one()
        assert audit.verify(session).ok
    assert serials == {"0035901234", "40012345"}
    assert event.actor == "lab-tech"  # $CALTRACE_ACTOR
    assert json.loads(event.payload)["rejected_rows"] == [4, 5]


def test_dry_run_with_json_writes_nothing(registry: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "mixed.csv", GOOD_1, GOOD_2, BAD_3)
    before = counts(registry)
    result = invoke(str(path), "--dry-run", "--json", "--lang", "en")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["dry_run"], report["imported"], report["rejected_rows"], report["ok"]) == (True, 2, [4], False)
    assert report["rejected"] == [
        {
            "row": 4,
            "column": "interval_months",
            "header": "interval_months",
            "code": "number.not_number",
            "reason": "'twelve' is not a number",
        }
    ]
    assert report["customers_created"] == [{"name": "Công ty TNHH Bình Minh", "tax_code": None, "row": 2}]
    assert counts(registry) == before

    clean = invoke(str(write(tmp_path / "clean.csv", GOOD_1)), "--dry-run", "--lang", "en")
    assert clean.exit_code == 0
    assert "Dry run: nothing was written." in clean.stdout
    assert counts(registry) == before


def test_actor_option_is_recorded(registry: Engine, tmp_path: Path) -> None:
    result = invoke(str(write(tmp_path / "a.csv", GOOD_1)), "--actor", "nguyen.van.an")
    assert result.exit_code == 0, result.output
    with session_scope(registry, "test") as session:
        actors = set(session.scalars(select(AuditEntry.actor)))
    assert actors == {"nguyen.van.an"}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("empty.csv", b"", "is empty"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "save it as .xlsx"),
        ("locked.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "password-protected"),
        ("broken.xlsx", b"PK\x03\x04 not really a zip", "damaged .xlsx"),
        ("columns.csv", "khách hàng,số sản xuất\nA,1\n".encode(), "missing columns kind, manufacturer"),
    ],
)
def test_unreadable_files_exit_2_and_write_nothing(
    registry: Engine, tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    before = counts(registry)
    result = invoke(str(path), "--lang", "en")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert result.stdout == ""
    assert counts(registry) == before


def test_the_installed_command_never_shows_a_traceback(registry: Engine, tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if k.startswith(("CALTRACE_", "PATH", "HOME", "LANG"))}
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    done = subprocess.run(
        [CALTRACE, "registry", "import", "instruments", str(broken), "--lang", "en"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: broken.xlsx is a damaged .xlsx workbook")
    assert "Traceback" not in done.stderr


def test_import_lots_from_the_example_file(registry: Engine, tmp_path: Path) -> None:
    lots_example = EXAMPLE.with_name("lots.csv")
    done = CliRunner().invoke(app, ["registry", "import", "lots", str(lots_example), "--lang", "en"])
    assert done.exit_code == 0, done.output
    assert "lots.csv: 3 rows: 3 imported, 0 rejected, 2 new customers." in done.output
    bad = tmp_path / "bad.csv"
    bad.write_text("packer,product,lot_number,lot_size,nominal_quantity\nSao Mai,Đường,SM-1,many,500 g\n", "utf-8")
    rejected = CliRunner().invoke(app, ["registry", "import", "lots", str(bad), "--json", "--lang", "en"])
    assert rejected.exit_code == 1
    doc = json.loads(rejected.output)
    assert doc["rejected_rows"] == [2] and doc["rejected"][0]["column"] == "lot_size" and doc["records"] == "lots"
    missing = CliRunner().invoke(
        app, ["registry", "import", "lots", str(EXAMPLE), "--lang", "en"]
    )  # an instrument list
    assert missing.exit_code == 2 and "missing columns" in missing.output


def test_import_lots_with_update(registry: Engine, tmp_path: Path) -> None:
    lots_example = EXAMPLE.with_name("lots.csv")
    assert CliRunner().invoke(app, ["registry", "import", "lots", str(lots_example), "--lang", "en"]).exit_code == 0
    lines = lots_example.read_text("utf-8").splitlines()
    assert ",SM-2026-0412,500," in lines[1]
    lines[1] = lines[1].replace(",SM-2026-0412,500,", ",SM-2026-0412,600,")  # lot size 500 -> 600; rows 3, 4 as is
    changed = tmp_path / "lots.csv"
    changed.write_text("\n".join(lines) + "\n", "utf-8")

    refused = CliRunner().invoke(app, ["registry", "import", "lots", str(changed), "--lang", "en"])
    assert refused.exit_code == 1
    assert "lots.csv: 3 rows: 0 imported, 3 rejected." in refused.output and "--update" in refused.output

    done = CliRunner().invoke(app, ["registry", "import", "lots", str(changed), "--update", "--lang", "en"])
    assert done.exit_code == 0, done.output
    assert "lots.csv: 3 rows: 0 imported, 1 updated, 2 unchanged, 0 rejected." in done.output
    with session_scope(registry, "test") as session:
        sizes = session.scalars(select(PrepackageLot.lot_size).order_by(PrepackageLot.id)).all()
        assert sizes == [600, 1200, 800]
        assert audit.verify(session).ok
