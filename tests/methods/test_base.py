"""The shared checks and JSON shapes of acquisition.methods.base."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from acquisition.methods.base import (
    CONFORMITY,
    Budget,
    BudgetRow,
    PointResult,
    budget_json,
    budget_rows,
    finite,
    json_dof,
    overall,
)
from acquisition.methods.nawi import verdict
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


# --- the declared budget shape (decision 0330) -------------------------------------------------------------------


def _budget() -> Budget:
    # y = a + b, a normal u = 0.3 with 4 degrees of freedom, b rectangular half-width 0.6 (u = 0.6/√3 ≈ 0.34641),
    # by hand: u_c = √(0.09 + 0.12) = √0.21 ≈ 0.458258; ν_eff = u_c⁴ / (0.3⁴/4) = 0.0441 / 0.002025 ≈ 21.778
    # (GUM G.4.1); k = 2 given, so U = 2·u_c and no coverage probability.
    out = gum(
        Model.from_expression("a + b", measurand="y"),
        {"a": normal(1.0, 0.3, dof=4), "b": rectangular(0, 0.6)},
        coverage_factor=2.0,
    )["y"]
    return Budget.of(out, unit="g", model="y = a + b", describe={"a": "A (cert)", "b": "B (res)"})


def test_budget_of_a_gum_output_is_the_declared_shape() -> None:
    b = _budget()
    assert b.u == pytest.approx(math.sqrt(0.21), rel=1e-12)
    assert b.dof == pytest.approx(0.21**2 / (0.3**4 / 4), rel=1e-9)
    assert (b.k, b.coverage_probability) == (2.0, None) and pytest.approx(2 * math.sqrt(0.21), rel=1e-12) == b.U
    doc = b.as_json()
    assert list(doc) == ["model", "unit", "rows", "u", "dof", "k", "coverage_probability", "U"]
    assert set(doc["rows"][0]) == {"input", "source", "value", "unit", "u", "distribution", "sensitivity",
                                   "contribution", "dof"}  # fmt: skip
    assert doc["rows"][1]["dof"] is None  # rectangular: infinitely many
    # it reads like its JSON document, and the document comes back to the same budget
    assert b["u"] == b.u and b["rows"][0]["input"] == "a" and dict(b) == doc
    assert Budget.from_json(json.loads(json.dumps(doc))) == b


def test_budget_refuses_what_does_not_add_up() -> None:
    b = _budget()
    with pytest.raises(ValueError, match="is not k·u_c"):
        dataclasses.replace(b, U=b.U * 1.01)
    with pytest.raises(ValueError, match="a contribution is missing"):
        dataclasses.replace(b, rows=b.rows[:1])
    with pytest.raises(ValueError, match=r"ν_eff \(dof\) must be >= 1"):
        dataclasses.replace(b, dof=0.5)
    with pytest.raises(ValueError, match="budget u_c must be a finite number"):
        dataclasses.replace(b, u=math.nan)
    with pytest.raises(ValueError, match="coverage_probability must lie between 0 and 1"):
        dataclasses.replace(b, coverage_probability=95.0)
    with pytest.raises(ValueError, match="contribution .* is not sensitivity × u"):
        dataclasses.replace(b.rows[0], contribution=0.31)
    with pytest.raises(ValueError, match="budget row a: u must be >= 0"):
        dataclasses.replace(b.rows[0], u=-0.3, contribution=-0.3)
    with pytest.raises(ValueError, match="an uncertainty budget needs 'U'"):
        Budget.from_json({k: v for k, v in b.as_json().items() if k != "U"})
    row = BudgetRow("x", 0.0, "g", 0.0, "normal", 1.0, 0.0, note="zero: why")
    assert row.as_json()["note"] == "zero: why" and row.dof == math.inf


def test_point_result_keeps_budget_and_evidence_apart() -> None:
    b = _budget()
    r = PointResult("error", 1.0, "g", 0.1, "g", U=b.U, k=b.k, budget=b, evidence={"readings_g": (1.0, 1.1)})
    assert r.evidence == {"readings_g": [1.0, 1.1]}
    doc = r.as_dict()
    assert doc["budget"] == b.as_json() and doc["evidence"] == {"readings_g": [1.0, 1.1]}
    row = r.row()
    assert (row["decision_rule"], row["method_reference"], row["budget"]) == ("", "", b.as_json())
    assert PointResult("s", None, "", 0.1, "g").as_dict()["budget"] is None
    with pytest.raises(ValueError, match="budget must be a Budget"):
        PointResult("e", None, "", 0.0, "g", budget=b.as_json())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"evidence.readings\[1\] must be a finite number"):
        PointResult("e", None, "", 0.0, "g", evidence={"readings": [1.0, math.inf]})
    with pytest.raises(ValueError, match="evidence must not hold \\['note'\\]"):
        PointResult("e", None, "", 0.0, "g", evidence={"note": "x"})


# --- one conformity vocabulary, one overall verdict (decision 0331) ----------------------------------------------


def test_the_vocabulary_is_dcc_without_nopass_nofail_plus_not_assessed() -> None:
    assert CONFORMITY == ("pass", "fail", "conditionalPass", "conditionalFail", "notAssessed")
    for stale in ("noPass", "noFail"):
        with pytest.raises(ValueError, match="conformity must be one of"):
            PointResult("q", None, "", 0.0, "g", conformity=stale)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (["pass", "pass"], "pass"),
        (["pass", "conditionalPass", "notAssessed"], "pass"),
        (["pass", "conditionalFail"], "fail"),
        (["conditionalPass", "fail"], "fail"),
        (["notAssessed"], "notAssessed"),
        ([], "notAssessed"),
    ],
)
def test_overall_and_the_r76_verdict_agree(rows: list[str], expected: str) -> None:
    assert overall(rows) == expected
    results = [PointResult("q", None, "", 0.0, "g", conformity=c) for c in rows]
    if expected == "notAssessed":
        with pytest.raises(ValueError, match="no judged results"):
            verdict(results)
    else:
        assert verdict(results) == expected
