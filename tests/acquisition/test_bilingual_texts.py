"""Every step title, operator instruction and result name a technician meets exists in Vietnamese and English,
Vietnamese first (caltrace issue 16, item 3).

Each procedure is planned with its demo scenario's registry data and parameters (``lab``), exactly as a run of
``caltrace calibrate --demo`` plans it; the result names are those of the demo runs' real results.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from acquisition.creation import load_run, run_context
from acquisition.engine import RunEngine
from acquisition.procedures import get_procedure, procedure_ids
from acquisition.procedures.base import Step
from acquisition.store import SQLiteReadingStore
from acquisition.wording import has_quantity_words, quantity_words, role_words
from lab import scenario
from lab.base import TECHNICIAN, seed_common
from registry.db import make_engine, read_session, session_scope, upgrade
from tests.acquisition.conftest import DemoRun
from tests.support.bilingual import check_pair

TODAY = date(2026, 11, 21)


def planned_steps(procedure: str, tmp_path: Path) -> list[Step]:
    """The steps of a run of ``procedure`` created from its demo scenario (seeded registry, demo parameters)."""
    registry = make_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    upgrade(registry)
    demo = scenario(procedure)
    with session_scope(registry, "demo") as s:
        seed_common(s, TODAY, procedure_ids())
        demo.seed(s, TODAY)
    with SQLiteReadingStore(tmp_path / "readings.db") as store:
        engine = RunEngine(registry, store, actor=TECHNICIAN, today=lambda: TODAY)
        proc = get_procedure(procedure)
        run_id = engine.create(
            proc,
            instrument=demo.instrument or None,
            lot=demo.lot or None,
            technician=TECHNICIAN,
            standards=dict(demo.standards),
            parameters=dict(demo.parameters),
        )
        with read_session(registry) as s:
            context = run_context(s, load_run(s, run_id))
    registry.dispose()
    return proc.plan(context)


@pytest.mark.parametrize("procedure", procedure_ids())
def test_every_step_title_and_action_is_in_vietnamese_then_english(procedure: str, tmp_path: Path) -> None:
    steps = planned_steps(procedure, tmp_path)
    assert steps
    for step in steps:
        vi, sep, en = step.title.partition(" / ")
        assert sep and " / " not in en, f"{procedure} {step.id}: title {step.title!r} is not 'Vietnamese / English'"
        check_pair(vi, en, f"{procedure} {step.id} title")
        if step.action is not None:
            check_pair(step.action.text_vi, step.action.text_en, f"{procedure} {step.id} action")


def test_the_checks_catch_what_they_are_for() -> None:
    with pytest.raises(AssertionError, match="left in English"):
        check_pair("Đấu nối: voltage", "connection: voltage", "x")
    with pytest.raises(AssertionError, match="is not Vietnamese"):
        check_pair("connection", "Đấu nối", "x")
    with pytest.raises(AssertionError, match="is not English"):
        check_pair("Đấu nối", "Đấu nối", "x")
    with pytest.raises(AssertionError, match="'0.5' in 'Đặt 0.5 kg'"):
        check_pair("Đặt 0.5 kg", "Place 0.5 kg", "x")
    with pytest.raises(AssertionError, match="English writes the decimal point"):
        check_pair("Đặt 0,5 kg", "Place 0,5 kg", "x")
    check_pair("Đặt 0,5 kg (R76-1 3.7.1)", "Place 0.5 kg (R76-1 3.7.1)", "x")  # a clause number is no decimal


@pytest.mark.parametrize("procedure", procedure_ids())
def test_every_result_name_of_a_demo_run_has_words_in_both_languages(
    procedure: str, demo_run: Callable[..., DemoRun]
) -> None:
    run = demo_run(procedure)
    assert run.outcome.state == "completed" and run.outcome.results
    for quantity in {r.quantity for r in run.outcome.results}:
        assert has_quantity_words(quantity), f"{procedure}: result {quantity!r} has no Vietnamese words"
        check_pair(quantity_words(quantity, "vi"), quantity_words(quantity, "en"), f"{procedure} result")


#: what may keep a point between digits in a Vietnamese budget text: clause and edition references, quoted verbatim
#: ("cg-18 v4.0 7.1.2", "R111-1:2004 C.6.4.1", "GUM F.2.2.1", "OIML R49-2:2013 7.4", "GUM JCGM 100:2008 4.2")
CLAUSE = re.compile(r"v\d+\.\d+|\b[A-Z]\.\d+(?:\.\d+)*|\b\d+(?:\.\d+){2,}|:\d{4}\s+\d+\.\d+(?:, \d+\.\d+)*")
DECIMAL_POINT = re.compile(r"\d\.\d")


def check_budget_text(vi: str, en: str, where: str) -> None:
    """A budget row's Vietnamese and English text (:func:`check_pair`, which also wants decimal commas in the
    Vietnamese one), once the clause references quoted verbatim in both are set aside."""
    left = CLAUSE.sub("§", vi)
    assert not DECIMAL_POINT.search(left), f"{where}: a decimal point in the Vietnamese {vi!r}"
    check_pair(left, CLAUSE.sub("§", en), where)


def test_the_budget_check_catches_a_decimal_point_but_not_a_clause() -> None:
    check_budget_text("độ lệch tâm (cg-18 v4.0 7.1.1; GUM JCGM 100:2008 4.2)", "eccentricity (cg-18 v4.0 7.1.1)", "x")
    check_budget_text("quả cân 50,000 04 g (R111-1:2004 C.6.2)", "weight 50.00004 g", "x")
    with pytest.raises(AssertionError, match="decimal point"):
        check_budget_text("quả cân 50.00004 g (R111-1:2004 C.6.2)", "weight 50.00004 g", "x")


@pytest.mark.parametrize("procedure", procedure_ids())
def test_every_budget_row_of_a_demo_run_has_its_source_and_note_in_vietnamese(
    procedure: str, demo_run: Callable[..., DemoRun]
) -> None:
    """Decision 0361: each row of each stored budget has ``source_vi`` (and ``note_vi`` beside an English ``note``)."""
    run = demo_run(procedure)
    assert run.outcome.state == "completed" and run.outcome.results
    checked = 0
    for result in run.outcome.results:
        if result.budget is None:
            continue
        stored = result.budget.as_json()  # what the registry keeps and `caltrace runs show` reads
        for row in stored["rows"]:
            checked += 1
            where = f"{procedure} {result.quantity} {result.point} {row['input']}"
            assert row.get("source"), f"{where}: no source"
            check_budget_text(row.get("source_vi", ""), row["source"], f"{where} source")
            if row.get("note"):
                check_budget_text(row.get("note_vi", ""), row["note"], f"{where} note")
            else:
                assert not row.get("note_vi"), f"{where}: a Vietnamese note without its English one"
    # the procedures whose results state an uncertainty (the others judge by simple acceptance, without a budget)
    assert checked or procedure in ("nawi-verification-r76", "prepackage-r87"), f"{procedure}: no budget rows"


@pytest.mark.parametrize("procedure", procedure_ids())
def test_every_role_description_has_vietnamese_words(procedure: str) -> None:
    """What `registry check` and a refused run say a role needs: the description's Vietnamese words
    (acquisition.wording.ROLE_WORDS; remote command names, in backticks, are the instrument's own words)."""
    for role in get_procedure(procedure).definition.roles:
        vi = re.sub(r"`[^`]*`", " ", role_words(role.description, "vi"))
        check_pair(vi, role.description, f"{procedure} role {role.role}")
