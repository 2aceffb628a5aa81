"""Every budget a method builds in the method and procedure tests has its row texts in Vietnamese too (decision 0361).

The demo runs (tests/acquisition/test_bilingual_texts.py) take one path through each method; the method tests here
take the others (air density not measured, a weight's density known, buoyancy not corrected, one run only, a
normal calibrator reading, zero terms with their notes...). Each test of those modules that takes no argument is run
again with ``Budget.of`` recorded, and every row of every budget is checked: a Vietnamese source (and note beside an
English note) and no decimal point between digits outside a clause reference. Texts a test passes in as plain
English strings (a ``drift_source="history"``, a comparator note) are the caller's: they stay English inside the
Vietnamese text, and a whole note given so has no Vietnamese one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from acquisition.methods.base import Budget
from tests.acquisition import test_dmm, test_flow_calibration, test_nawi_cg18, test_weights_r111
from tests.acquisition.test_bilingual_texts import CLAUSE, DECIMAL_POINT
from tests.methods import test_electrical, test_flow, test_nawi, test_weights
from tests.support.bilingual import VIETNAMESE

#: the methods' tests, and the procedures' tests that evaluate recorded data (parameters, certificate histories);
#: the R49 procedure's plain tests build no budget (its budgets are the demo runs' in test_bilingual_texts)
MODULES: tuple[ModuleType, ...] = (
    test_nawi,
    test_weights,
    test_flow,
    test_electrical,
    test_nawi_cg18,
    test_weights_r111,
    test_flow_calibration,
    test_dmm,
)


def plain_tests(module: ModuleType) -> list[Callable[[], Any]]:
    """The tests of ``module`` that take no argument."""
    return [
        fn
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if name.startswith("test_")
        and fn.__module__ == module.__name__
        and not inspect.signature(fn).parameters
        and not hasattr(fn, "pytestmark")
    ]


@pytest.fixture
def budgets(monkeypatch: pytest.MonkeyPatch) -> list[Budget]:
    """Every Budget built through ``Budget.of`` while the test runs."""
    seen: list[Budget] = []
    original = Budget.of.__func__  # type: ignore[attr-defined]

    def recorded(cls: type[Budget], *args: Any, **kwargs: Any) -> Budget:
        budget: Budget = original(cls, *args, **kwargs)
        seen.append(budget)
        return budget

    monkeypatch.setattr(Budget, "of", classmethod(recorded))
    return seen


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_every_budget_of_the_method_tests_has_vietnamese_row_texts(module: ModuleType, budgets: list[Budget]) -> None:
    """Each module's plain tests run again; the module's tests as a whole build at least one budget."""
    caller_text = inspect.getsource(module)
    for test in plain_tests(module):
        test()
    assert budgets, f"{module.__name__}: its tests build no budget"
    for budget in budgets:
        for row in budget.rows:
            where = f"{module.__name__} {row.input}"
            for en, vi in ((row.source, row.source_vi), (row.note, row.note_vi)):
                if not en:
                    assert not vi, f"{where}: a Vietnamese text without its English one"
                    continue
                if not vi and en in caller_text:  # the test's own English text, passed in whole
                    continue
                assert VIETNAMESE.search(vi), f"{where}: no Vietnamese text beside {en!r}"
                assert not VIETNAMESE.search(en), f"{where}: {en!r} is not English"
                assert not DECIMAL_POINT.search(CLAUSE.sub("§", vi)), f"{where}: a decimal point in {vi!r}"
