"""Every ``caltrace report`` table and ``caltrace runs list`` in Vietnamese (the default) and English (``--lang en``):
titles, column headings, the message when nothing matches and the annual summary lines (caltrace issue 16, item 3).

The reports are enumerated from the typer app, so a new report without its words (and its arguments here) fails.
Each command runs in-process on the hand-checked data set (tests/registry/dataset.py); what it hands to
``api.cli.tables.emit`` is recorded, so the headings are compared whole (a rich table may wrap them when printed).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from api.cli import app, tables
from api.cli import report as report_cli
from api.cli import runs as runs_cli
from registry.db import make_engine, upgrade
from tests.registry.dataset import build
from tests.support.bilingual import check_pair

#: the arguments each report is run with on the data set (a new report: add it here and its words in REPORT_WORDS)
ARGS: dict[str, list[str]] = {
    "due": ["--days", "30", "--today", "2026-11-21"],
    "standards": ["--days", "30", "--today", "2026-11-21"],
    "trace": ["W-E2-200g", "--from", "2026-01-01", "--to", "2026-12-31"],
    "annual": ["--year", "2026"],
}
#: arguments that match nothing, per report, on an empty registry (trace: on the data set, a year the standard was
#: not used): the empty-result message is printed instead of a table
NOTHING: dict[str, list[str]] = {
    "due": ["--days", "30", "--today", "2026-11-21"],
    "standards": ["--days", "30", "--today", "2026-11-21"],
    "trace": ["W-E2-200g", "--from", "2001-01-01", "--to", "2001-12-31"],
    "annual": ["--year", "2026"],
}


def report_commands() -> list[str]:
    """The names of the ``report`` subcommands, from the typer app itself."""
    return sorted(c.name or (c.callback.__name__ if c.callback else "") for c in report_cli.app.registered_commands)


@pytest.fixture
def empty_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A data directory with a migrated, empty registry, no other CALTRACE_* setting."""
    for name in list(os.environ):
        if name.startswith("CALTRACE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CALTRACE_DATA_DIR", str(tmp_path / "var"))
    (tmp_path / "var").mkdir()
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'caltrace.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def registry(empty_registry: Engine) -> Engine:
    """The same with the data set in it."""
    build(empty_registry)
    return empty_registry


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What the commands hand to ``emit`` (title, headings, empty message), the table still printed."""
    calls: list[dict[str, Any]] = []
    real = tables.emit

    def spy(rows: Any, columns: Any, fmt: Any, title: str = "", *, empty: str = "") -> None:
        calls.append({"rows": len(rows), "headings": [h for _, h in columns], "title": title, "empty": empty})
        real(rows, columns, fmt, title, empty=empty)

    monkeypatch.setattr(report_cli, "emit", spy)
    monkeypatch.setattr(runs_cli, "emit", spy)
    return calls


def run(*args: str) -> Result:
    done = CliRunner().invoke(app, list(args))
    assert done.exit_code == 0, (args, done.output, done.exception)
    return done


def check_texts(vi: dict[str, Any], en: dict[str, Any], where: str) -> None:
    assert len(vi["headings"]) == len(en["headings"]) and vi["headings"], where
    for v, e in zip(vi["headings"], en["headings"], strict=True):
        check_pair(v, e, f"{where} heading")
    check_pair(vi["title"], en["title"], f"{where} title")
    check_pair(vi["empty"], en["empty"], f"{where} empty message")


def test_every_report_has_words_and_arguments_here() -> None:
    commands = report_commands()
    assert commands == sorted(report_cli.REPORT_WORDS), "a report without its words in REPORT_WORDS"
    assert commands == sorted(ARGS) == sorted(NOTHING), "a report without its arguments in this test"


@pytest.mark.parametrize("command", report_commands())
def test_a_report_in_vietnamese_by_default_and_in_english(
    command: str, registry: Engine, emitted: list[dict[str, Any]]
) -> None:
    vi = run("report", command, *ARGS[command])
    en = run("report", command, *ARGS[command], "--lang", "en")
    [vi_call, en_call] = emitted
    assert vi_call["rows"] > 0, f"{command}: the data set should give rows"  # so the table itself is printed
    check_texts(vi_call, en_call, f"report {command}")
    _, columns, empty = report_cli.REPORT_WORDS[command].pick("vi")
    assert vi_call["headings"] == [h for _, h in columns] and vi_call["empty"] == empty
    assert vi_call["headings"][0].split()[0] in vi.stdout and en_call["headings"][0].split()[0] in en.stdout
    if command == "annual":  # the summary lines under the table
        for key, (v, e) in report_cli.SUMMARY_WORDS.items():
            check_pair(v, e, f"annual {key}")
            assert f"{v}: " in vi.stdout and f"{e}: " in en.stdout, key
        for value, (v, e) in report_cli.CELL_WORDS.items():  # the field and kind cells of the table
            check_pair(v, e, f"annual cell {value}")
        assert "khối lượng" in vi.stdout and "tất cả" in vi.stdout and "mass" not in vi.stdout
    # CSV keeps the English machine names whatever --lang says
    as_csv = run("report", command, *ARGS[command], "--lang", "vi", "--format", "csv")
    header = next(csv.reader(io.StringIO(as_csv.stdout.removeprefix("\ufeff"))))
    assert header == [key for key, _ in columns]


@pytest.mark.parametrize("command", report_commands())
def test_a_report_that_finds_nothing_says_so_in_the_language(
    command: str, request: pytest.FixtureRequest, emitted: list[dict[str, Any]]
) -> None:
    request.getfixturevalue("registry" if command == "trace" else "empty_registry")
    vi = run("report", command, *NOTHING[command])
    en = run("report", command, *NOTHING[command], "--lang", "en")
    vi_empty = report_cli.REPORT_WORDS[command].empty[0]
    en_empty = report_cli.REPORT_WORDS[command].empty[1]
    assert vi_empty in vi.stdout and en_empty not in vi.stdout
    assert en_empty in en.stdout and vi_empty not in en.stdout
    assert [c["rows"] for c in emitted] == [0, 0]


def test_runs_list_in_vietnamese_by_default_and_in_english(registry: Engine, emitted: list[dict[str, Any]]) -> None:
    vi = run("runs", "list")
    en = run("runs", "list", "--lang", "en")
    [vi_call, en_call] = emitted
    assert vi_call["rows"] > 0
    check_texts(vi_call, en_call, "runs list")
    assert vi_call["headings"] == [c[1] for c in runs_cli.LIST_COLUMNS]
    # the table says the state and the verdict in words (7 completed runs in the data set; English stays the value)
    assert "hoàn thành" in vi.stdout and "completed" not in vi.stdout and "completed" in en.stdout
    assert "procedure" in en.stdout and "lần chạy" not in en.stdout
    nothing = run("runs", "list", "--state", "paused", "--lang", "en")
    none_vi = run("runs", "list", "--state", "paused")
    assert runs_cli.LIST_EMPTY[1] in nothing.stdout and runs_cli.LIST_EMPTY[0] in none_vi.stdout
    as_csv = run("runs", "list", "--format", "csv")
    assert as_csv.stdout.removeprefix("\ufeff").startswith("run_id,procedure,instrument,")


def test_a_bad_language_is_refused_like_runs_show(registry: Engine) -> None:
    for args in (["report", "due", "--days", "1"], ["runs", "list"]):
        done = CliRunner().invoke(app, [*args, "--lang", "fr"])
        assert done.exit_code == 2 and "--lang must be vi or en" in done.output, args


def test_runs_actions_in_vietnamese_by_default_and_in_english(registry: Engine, emitted: list[dict[str, Any]]) -> None:
    vi = run("runs", "actions")
    en = run("runs", "actions", "--lang", "en")
    [vi_call, en_call] = emitted
    check_texts(vi_call, en_call, "runs actions")
    assert runs_cli.ACTIONS_EMPTY[0] in vi.stdout and runs_cli.ACTIONS_EMPTY[1] in en.stdout  # nothing waits
    as_json = run("runs", "actions", "--format", "json")
    assert as_json.stdout.strip() == "[]"
