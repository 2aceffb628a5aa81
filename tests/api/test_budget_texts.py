"""A budget's row texts in the reader's language (decision 0361): `caltrace runs show` prints each row's source and
note in Vietnamese from ``source_vi`` / ``note_vi``, and a budget stored before those keys existed still renders,
with its English texts."""

from __future__ import annotations

import io
import math
from typing import Any

import pytest
from rich.console import Console

from acquisition.methods.base import Budget, Text, num
from api.cli.tables import budget_table
from uncertainty import Model, gum, normal, rectangular


def stored_budget(**texts: str) -> dict[str, Any]:
    """A one-input budget as a result row stores it: u = 0.002 g, c = 1, k = 2, U = 0.004 g (u_c = u, one row)."""
    row = {
        "input": "m_c",
        "source": "conventional mass of the test load",
        "value": 50.00004,
        "unit": "g",
        "u": 0.002,
        "distribution": "normal",
        "sensitivity": 1.0,
        "contribution": 0.002,
        "dof": None,
        "note": "the reading itself",
    } | texts
    return {"model": "E = m_c", "unit": "g", "rows": [row], "u": 0.002, "dof": None, "k": 2.0, "U": 0.004}


def shown(budget: dict[str, Any], language: str) -> str:
    out = io.StringIO()
    assert budget_table(Console(file=out, width=240), "ngân sách #1", budget, language)
    return out.getvalue()


def test_an_old_stored_budget_without_vietnamese_texts_still_renders_in_english() -> None:
    old = stored_budget()
    assert "source_vi" not in old["rows"][0] and "note_vi" not in old["rows"][0]
    text = shown(old, "vi")
    assert "conventional mass of the test load" in text and "the reading itself" in text
    # the numbers are still Vietnamese: u = 0.002 g -> "0,0020 g" (two significant digits), x to u's last digit
    assert "0,0020 g" in text and "50,0000 g" in text
    assert Budget.from_json(old).rows[0].source_vi == ""  # and it still reads as a Budget


def test_a_bilingual_budget_renders_each_language_and_round_trips() -> None:
    budget = stored_budget(source_vi="khối lượng quy ước của tải thử", note_vi="chính số đọc")
    vi, en = shown(budget, "vi"), shown(budget, "en")
    assert "khối lượng quy ước của tải thử" in vi and "chính số đọc" in vi
    assert "conventional mass" not in vi and "the reading itself" not in vi
    assert "conventional mass of the test load" in en and "the reading itself" in en and "khối lượng" not in en
    assert Budget.from_json(budget).as_json()["rows"] == budget["rows"]


def test_a_method_budget_carries_both_texts_and_keeps_its_english_and_numbers() -> None:
    """Budget.of with Text sources and notes: the English keys are what they were (``source``, ``note``), the
    Vietnamese ones beside them; a str source stays English only. u_c = √(0.003² + (0.004/√3)²) (GUM 5.1.2)."""
    model = Model.from_expression("a + b", measurand="y")
    out = gum(model, {"a": normal(1.0, 0.003), "b": rectangular(0.0, 0.004)}, coverage_factor=2.0)["y"]
    budget = Budget.of(
        out,
        unit="g",
        describe={"a": Text("số đọc ", "reading ") + num(1.25) + " g", "b": "rounding"},
        notes={"b": Text("bằng không: ", "zero: ") + "δ"},
    )
    rows = {r["input"]: r for r in budget.as_json()["rows"]}
    assert rows["a"]["source"] == "reading 1.25 g" and rows["a"]["source_vi"] == "số đọc 1,25 g"
    assert rows["b"]["source"] == "rounding" and "source_vi" not in rows["b"]
    assert rows["b"]["note"] == "zero: δ" and rows["b"]["note_vi"] == "bằng không: δ"
    assert budget.u == pytest.approx(math.sqrt(0.003**2 + (0.004 / math.sqrt(3)) ** 2), rel=1e-12)


@pytest.mark.parametrize(
    ("x", "spec", "en", "vi"),
    [
        (50.00004, ".7g", "50.00004", "50,000\u202f04"),  # the digit group of uncertainty.presentation
        (-1e-05, "+.3g", "-1e-05", "-0,000\u202f01"),
        (0.02, "+.3g", "+0.02", "+0,02"),
        (1.2, "", "1.2", "1,2"),
        (8000.0, "g", "8000", "8000"),
    ],
)
def test_a_number_in_a_budget_text(x: float, spec: str, en: str, vi: str) -> None:
    assert num(x, spec) == Text(vi, en)
