"""The shared checks and JSON shapes of acquisition.methods.base."""

from __future__ import annotations

import math

import pytest

from acquisition.methods.base import budget_json, budget_rows, finite, json_dof
from uncertainty import Model, gum, normal, rectangular


@pytest.mark.parametrize("bad", [True, "1.0", None, math.nan, math.inf, -math.inf])
def test_finite_refuses_what_is_not_a_finite_real_number(bad: object) -> None:
    with pytest.raises(ValueError, match=r"^load \(g\) must be a finite number, got "):
        finite("load (g)", bad)


def test_finite_bounds() -> None:
    assert finite("x", 3) == 3.0 and isinstance(finite("x", 3), float)
    assert finite("x", 0, nonneg=True) == 0.0
    with pytest.raises(ValueError, match="x must be > 0, got 0"):
        finite("x", 0, positive=True)
    with pytest.raises(ValueError, match=r"x must be >= 0, got -1e-09"):
        finite("x", -1e-9, nonneg=True)


def test_budget_rows_are_json_ready() -> None:
    # y = a + b with u(a) = 0.3 (normal, 4 degrees of freedom) and b rectangular of half-width 0.6 (u = 0.6/√3)
    out = gum(Model.from_expression("a + b", measurand="y"), {"a": normal(1.0, 0.3, dof=4), "b": rectangular(0, 0.6)})
    rows = budget_rows(
        out["y"].budget, describe={"a": "first", "b": "second"}, units={"a": "g", "b": "g"}, notes={"b": "why"}
    )
    by_input = {r["input"]: r for r in rows}
    assert by_input["a"]["source"] == "first" and by_input["a"]["dof"] == 4
    assert by_input["b"]["note"] == "why" and "note" not in by_input["a"]
    assert by_input["b"]["dof"] is None  # infinitely many: JSON has no infinity
    assert by_input["b"]["u"] == pytest.approx(0.6 / math.sqrt(3))
    assert set(by_input["a"]) == {
        "input",
        "source",
        "value",
        "unit",
        "u",
        "distribution",
        "sensitivity",
        "contribution",
        "dof",
    }
    assert "source" not in budget_rows(out["y"].budget)[0]
    assert json_dof(math.inf) is None and json_dof(7.5) == 7.5


def test_budget_json_is_the_one_shape() -> None:
    # y = a + b: u_c = √(0.3² + 0.4²) = 0.5 (both normal, infinite dof), k = 2 given, U = 1.0
    out = gum(
        Model.from_expression("a + b", measurand="y"),
        {"a": normal(1.0, 0.3), "b": normal(2.0, 0.4)},
        coverage_factor=2.0,
    )
    body = budget_json(out["y"], unit="g", model="y = a + b", describe={"a": "A", "b": "B"})
    assert list(body) == ["model", "unit", "rows", "u", "dof", "k", "coverage_probability", "U"]
    assert body["u"] == pytest.approx(0.5) and body["U"] == pytest.approx(1.0) and body["dof"] is None
    assert [r["unit"] for r in body["rows"]] == ["g", "g"]
    assert [r["input"] for r in budget_json(out["y"], unit="g", keep=lambda r: r.input != "a")["rows"]] == ["b"]
