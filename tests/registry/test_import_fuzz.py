"""Spreadsheet input never gives a traceback (issue 14.5): random CSV text — stray quotes, separators, formula
prefixes, very long cells, odd bytes — is imported (dry run) into a real SQLite registry and must give an import
report or an ImportFileError, nothing else. Bounded: a fixed number of examples, each a small file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from registry.db import make_engine, session_scope, upgrade
from registry.errors import ImportFileError
from registry.importer import REQUIRED_COLUMNS, import_instruments

HEADER = ",".join(REQUIRED_COLUMNS)
CELL = st.text(alphabet=st.sampled_from("ab1 2.,;\"'=+-@\t\r\nđ°µ%/0x"), max_size=24)
ROW = st.lists(CELL, min_size=0, max_size=len(REQUIRED_COLUMNS) + 2).map(",".join)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'caltrace.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _import(engine: Engine, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    with session_scope(engine, "fuzz") as s:
        try:
            import_instruments(s, path, dry_run=True)
        except ImportFileError as exc:
            assert str(exc) and "\n" not in str(exc).strip()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, max_size=6))
def test_random_csv_rows_give_a_report_or_a_clear_error(registry: Engine, tmp_path: Path, rows: list[str]) -> None:
    _import(registry, tmp_path / "fuzz.csv", "\n".join([HEADER, *rows]).encode("utf-8"))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_random_bytes_give_a_report_or_a_clear_error(registry: Engine, tmp_path: Path, data: bytes) -> None:
    _import(registry, tmp_path / "bytes.csv", HEADER.encode() + b"\n" + data)


def test_a_stray_quote_and_a_huge_cell_are_one_line_errors(registry: Engine, tmp_path: Path) -> None:
    """The issue's reproductions: a cell of 131 072 characters and more (the csv module's limit), and a stray quote
    that swallows the rest of a large file into one cell."""
    huge = HEADER + "\nCty A," + "x" * 131_073 + "," * (len(REQUIRED_COLUMNS) - 2)
    (tmp_path / "huge.csv").write_text(huge, encoding="utf-8")
    with (
        pytest.raises(ImportFileError, match=r"field larger than field limit.*stray double quote"),
        session_scope(registry, "fuzz") as s,
    ):
        import_instruments(s, tmp_path / "huge.csv", dry_run=True)
    stray = HEADER + '\nCty A,"B1' + ("\nCty B,x,y" * 20_000)
    with pytest.raises(ImportFileError, match="stray double quote"), session_scope(registry, "fuzz") as s:
        (tmp_path / "stray.csv").write_text(stray, encoding="utf-8")
        import_instruments(s, tmp_path / "stray.csv", dry_run=True)
