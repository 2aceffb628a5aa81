"""Declared run parameters: the validators, check_parameters, and every procedure's declarations."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from acquisition.engine import RunRefused
from acquisition.procedures import get_procedure, procedure_ids
from acquisition.procedures.base import RunContext
from acquisition.procedures.nawi_cg18 import NawiCalibrationCg18
from acquisition.procedures.params import (
    ParamSpec,
    check_parameters,
    choice,
    flag,
    number,
    numbers,
    read,
    spec_named,
    text,
    whole,
)
from lab import scenario
from registry.db import make_engine, session_factory
from registry.models import Run
from tests.acquisition.conftest import DemoRun

# --- numbers --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(0.5, 0.5), (3, 3.0), ("0.5", 0.5), (" 12 ", 12.0), ("-2.5", -2.5), (".5", 0.5), ("1e3", 1000.0), ("5.", 5.0)],
)
def test_a_number_may_be_given_as_a_number_or_as_numeric_text(raw: Any, expected: float) -> None:
    assert number("x", raw) == expected
    assert isinstance(number("x", raw), float)


def test_a_decimal_comma_is_refused_with_a_hint_to_use_a_dot() -> None:
    with pytest.raises(ValueError) as refused:
        number("eccentricity_load_g", "0,5", unit="g", minimum=0, zero=False)
    message = str(refused.value)
    assert "parameter eccentricity_load_g must be a number > 0 (g), got '0,5'" in message
    assert "decimal point as a dot: 0.5" in message
    with pytest.raises(ValueError, match="dot: 12.75"):
        number("x", "12,75")


@pytest.mark.parametrize("raw", [True, False])
def test_a_bool_is_not_a_number(raw: bool) -> None:
    with pytest.raises(ValueError, match="true/false is not a number"):
        number("repeat_load_g", raw)
    with pytest.raises(ValueError, match="true/false is not a number"):
        whole("repetitions", raw)


@pytest.mark.parametrize(
    "raw", [math.nan, math.inf, -math.inf, "nan", "inf", "", "abc", "1_000", "0x10", "1 000", None, [1.0], {"a": 1}]
)
def test_anything_else_is_not_a_number(raw: Any) -> None:
    with pytest.raises(ValueError, match=r"parameter x must be a number \(g\), got "):
        number("x", raw, unit="g")


def test_number_bounds_and_zero() -> None:
    assert number("t", 0.001, unit="s", minimum=0, zero=False) == 0.001
    for bad in (0, 0.0, "0", -1):
        with pytest.raises(ValueError, match=r"parameter t must be a number > 0 \(s\), got "):
            number("t", bad, unit="s", minimum=0, zero=False)
    assert number("u", 0, minimum=0) == 0.0  # zero allowed: >= 0
    with pytest.raises(ValueError, match=r"must be a number >= 0 and <= 100 \(°C\), got 100.5"):
        number("water_temperature_c", 100.5, unit="°C", minimum=0, maximum=100)
    with pytest.raises(ValueError, match="must be a number not 0, got 0"):
        number("k", 0, zero=False)


@pytest.mark.parametrize(("raw", "expected"), [(3, 3), ("3", 3), (" 12 ", 12), (3.0, 3), ("4.0", 4), ("1e1", 10)])
def test_a_whole_number_may_be_an_int_or_integral_text(raw: Any, expected: int) -> None:
    result = whole("n", raw)
    assert result == expected and isinstance(result, int)


@pytest.mark.parametrize("raw", [2.5, "2.5", "2,0", "two", None, [2]])
def test_a_fraction_or_text_is_not_a_whole_number(raw: Any) -> None:
    with pytest.raises(ValueError, match="must be a whole number"):
        whole("n", raw)


def test_whole_number_bounds() -> None:
    with pytest.raises(ValueError, match="parameter repetitions must be a whole number >= 2 and <= 10000, got 1"):
        whole("repetitions", 1, minimum=2)
    with pytest.raises(ValueError, match=r"parameter cycles must be a whole number >= 1 and <= 20, got 21"):
        whole("cycles", 21, minimum=1, maximum=20)
    assert whole("c", 0, minimum=0) == 0


def test_a_list_of_numbers() -> None:
    assert numbers("loads_g", [50, "100", 150.5]) == [50.0, 100.0, 150.5]
    with pytest.raises(ValueError, match=r"parameter loads_g\[1\] must be a number > 0 \(g\), got 'abc'"):
        numbers("loads_g", [50, "abc"], unit="g", minimum=0, zero=False)
    with pytest.raises(ValueError, match=r"loads_g\[0\] must be a number.*got True"):
        numbers("loads_g", [True])
    bad: Any
    for bad in ([], "50,100", 50, None):
        with pytest.raises(ValueError, match=r"non-empty list of numbers.*e\.g\. \[50, 100, 200\]"):
            numbers("loads_g", bad)


# --- flags, texts, choices ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("FALSE", False),
        (" Yes ", True),
        ("no", False),
        ("1", True),
        ("0", False),
        (1, True),
        (0, False),
        ("có", True),
        ("Có", True),
        ("không", False),
        ("KHÔNG", False),
        (unicodedata.normalize("NFD", "có"), True),  # some keyboards send the accent as a combining mark
        (unicodedata.normalize("NFD", "Không"), False),
    ],
)
def test_a_flag_from_bool_or_text(raw: Any, expected: bool) -> None:
    assert flag("down", raw) is expected


@pytest.mark.parametrize("raw", ["maybe", "", "co", "t", 2, -1, 0.5, None, ["true"]])
def test_anything_else_is_not_a_flag(raw: Any) -> None:
    with pytest.raises(ValueError, match=r"parameter down must be true or false \(also yes/no, có/không, 1/0\), got"):
        flag("down", raw)


def test_text() -> None:
    assert text("name", "  inox ") == "inox"
    for bad in ("", "   ", 5, None):
        with pytest.raises(ValueError, match="parameter name must be a non-empty text"):
            text("name", bad)


def test_a_choice_is_one_of_the_allowed_values() -> None:
    assert choice("rule", "simple", ("simple", "guarded")) == "simple"
    assert choice("rule", " GUARDED ", ("simple", "guarded")) == "guarded"  # the declared spelling comes back
    with pytest.raises(ValueError) as refused:
        choice("rule", "strict", ("simple", "guarded"))
    assert str(refused.value) == "parameter rule must be one of simple, guarded, got 'strict'"
    with pytest.raises(ValueError, match="one of simple, guarded, got 'gaurded'; did you mean 'guarded'"):
        choice("rule", "gaurded", ("simple", "guarded"))
    with pytest.raises(ValueError, match="one of simple, guarded, got 1"):
        choice("rule", 1, ("simple", "guarded"))


# --- specs ----------------------------------------------------------------------------------------------------------


def spec(kind: str, **fields: Any) -> ParamSpec:
    return ParamSpec("p", kind, "mô tả", "description", **fields)  # type: ignore[arg-type]


def test_a_spec_checks_by_its_kind() -> None:
    assert spec("number", unit="g", minimum=0, zero=False).check("2.5") == 2.5
    assert spec("whole", minimum=1).check("3") == 3
    assert spec("flag").check("không") is False
    assert spec("numbers").check(["1", 2]) == [1.0, 2.0]
    assert spec("numbers", single=True).check("10") == 10.0  # one value for all
    assert spec("numbers", single=True).check([10, 20]) == [10.0, 20.0]
    assert spec("text").check(" x ") == "x"
    assert spec("choice", choices=("a", "b")).check("B") == "b"
    points = spec("choices", choices=("Q1", "Q2", "Q3", "Q4"))
    assert points.check(["q1", "Q3"]) == ["Q1", "Q3"]
    with pytest.raises(ValueError, match=r"parameter p\[1\] must be one of Q1, Q2, Q3, Q4, got 'Q5'"):
        points.check(["Q1", "Q5"])
    with pytest.raises(ValueError, match="Q1 given twice"):
        points.check(["Q1", "q1"])
    with pytest.raises(ValueError, match="non-empty list of distinct values"):
        points.check("Q1")
    volumes = spec("mapping", unit="L", minimum=0, zero=False, choices=("Q1", "Q2", "Q3", "Q4"))
    assert volumes.check({"q1": "10", "Q3": 100}) == {"Q1": 10.0, "Q3": 100.0}
    with pytest.raises(ValueError, match=r"parameter p\[Q2\] must be a number > 0 \(L\), got 0"):
        volumes.check({"Q2": 0})
    with pytest.raises(ValueError, match="parameter p key must be one of Q1, Q2, Q3, Q4, got 'Q9'"):
        volumes.check({"Q9": 1})
    with pytest.raises(ValueError, match=r'an object of numbers with keys among Q1, Q2, Q3, Q4 \(L\).*"Q1": 10'):
        volumes.check([10, 20])
    rows = spec("table")
    assert rows.check([{"function": "DCV"}]) == [{"function": "DCV"}]
    with pytest.raises(ValueError, match=r"parameter p\[1\] must be an object, got 5"):
        rows.check([{"function": "DCV"}, 5])


def test_null_is_accepted_only_where_declared() -> None:
    assert spec("number", nullable=True).check(None) is None
    with pytest.raises(ValueError, match="parameter p must be a number, got null"):
        spec("number").check(None)


def test_a_hint_says_what_to_do() -> None:
    material = spec("choice", choices=("brass",), hint="or give test_density_kg_m3")
    with pytest.raises(ValueError, match="got 'granite'; or give test_density_kg_m3"):
        material.check("granite")


def test_a_declaration_that_contradicts_itself_is_refused() -> None:
    with pytest.raises(ValueError, match=r"parameter p must be a whole number >= 2 and <= 10000, got 1"):
        spec("whole", minimum=2, default=1)
    with pytest.raises(ValueError, match="needs its allowed values"):
        spec("choice")
    with pytest.raises(ValueError, match="kind 'date'"):
        spec("date")
    with pytest.raises(ValueError, match="required parameter has no default"):
        spec("whole", required=True, default=3)
    with pytest.raises(ValueError, match="description"):
        ParamSpec("p", "flag", "", "description")


def test_bounds_in_words() -> None:
    assert spec("number", minimum=0, zero=False).bounds() == "> 0"
    assert spec("whole", minimum=1, maximum=20).bounds() == ">= 1 and <= 20"
    assert spec("number").bounds() == ""
    assert spec("choice", choices=("simple", "guarded")).bounds() == "simple | guarded"
    assert spec("mapping", choices=("Q1", "Q2"), minimum=0, zero=False).bounds() == "keys Q1 | Q2; values > 0"


SPECS = (
    ParamSpec("repetitions", "whole", "Số lần cân lặp lại", "Repeatability weighings", minimum=2, default=5),
    ParamSpec("repeat_load_g", "number", "Tải", "Load", unit="g", minimum=0, zero=False),
    ParamSpec("down", "flag", "Giảm tải", "Decreasing loads", default=True),
)


def test_check_parameters_refuses_an_unknown_name_and_suggests_the_closest() -> None:
    with pytest.raises(ValueError) as refused:
        check_parameters(SPECS, {"repetitons": 10}, procedure="nawi-calibration-cg18")
    message = str(refused.value)
    assert "unknown parameter 'repetitons' (did you mean 'repetitions'?)" in message
    assert "known parameters: repetitions, repeat_load_g, down" in message
    assert "caltrace procedures show nawi-calibration-cg18" in message


def test_check_parameters_names_every_unknown_name() -> None:
    with pytest.raises(ValueError) as refused:
        check_parameters(SPECS, {"colour": "red", "dwn": False, "repetitions": 3})
    message = str(refused.value)
    assert "unknown parameter 'colour'; unknown parameter 'dwn' (did you mean 'down'?)" in message
    with pytest.raises(ValueError, match="unknown parameter 'x'; this procedure takes no parameters"):
        check_parameters((), {"x": 1})
    assert check_parameters((), {}) == {}


def test_check_parameters_cleans_the_known_ones_and_adds_nothing() -> None:
    assert check_parameters(SPECS, {"repetitions": "3", "down": "không"}) == {"repetitions": 3, "down": False}
    with pytest.raises(ValueError, match="parameter repeat_load_g must be a number > 0 \\(g\\), got '0,5'"):
        check_parameters(SPECS, {"repeat_load_g": "0,5"})


def test_read_applies_the_default_and_refuses_an_undeclared_name() -> None:
    assert read(SPECS, {}, "repetitions") == 5
    assert read(SPECS, {"repetitions": 7}, "repetitions") == 7
    assert read(SPECS, {}, "repeat_load_g") is None  # computed by the procedure
    with pytest.raises(LookupError, match="'repetitons' is read but not declared"):
        read(SPECS, {}, "repetitons")


# --- every procedure's declarations ---------------------------------------------------------------------------------


def _typo(name: str) -> str:
    """``name`` with one letter left out (``repetitions`` -> ``repetitons``), or one added when it is short."""
    if len(name) <= 3:
        return name + "x"
    i = len(name) // 2
    return name[:i] + name[i + 1 :]


@pytest.mark.parametrize("code", procedure_ids())
def test_the_declarations_cover_the_definition_defaults_and_the_demo(code: str) -> None:
    procedure = get_procedure(code)
    specs = procedure.parameter_specs
    names = [s.name for s in specs]
    assert specs and len(set(names)) == len(names), names
    for spec in specs:
        assert spec.description_vi != spec.description_en  # both written, not one copied
    # every default of the (digested) definition is declared, with the same default
    defaults = dict(procedure.definition.parameters)
    assert set(defaults) <= set(names), set(defaults) - set(names)
    for key, value in defaults.items():
        assert spec_named(specs, key).default == value, key
    assert check_parameters(specs, defaults) == defaults  # the defaults are clean already
    # the demo scenario's parameters are declared and valid
    demo = scenario(code)
    assert check_parameters(specs, demo.parameters, procedure=code).keys() == demo.parameters.keys()


@pytest.mark.parametrize("code", procedure_ids())
def test_a_misspelt_parameter_is_refused_with_the_right_name(code: str) -> None:
    specs = get_procedure(code).parameter_specs
    for spec in specs:
        with pytest.raises(ValueError) as refused:
            check_parameters(specs, {_typo(spec.name): 1}, procedure=code)
        assert f"(did you mean {spec.name!r}?)" in str(refused.value)
        assert f"caltrace procedures show {code}" in str(refused.value)


class Recording(Mapping[str, Any]):
    """A run's parameters that remember every name the procedure looks up (``p[k]``, ``p.get(k)``, ``k in p``)."""

    def __init__(self, data: Mapping[str, Any], seen: set[str]) -> None:
        self.data, self.seen = dict(data), seen

    def __getitem__(self, key: str) -> Any:
        self.seen.add(key)
        return self.data[key]

    def __contains__(self, key: object) -> bool:
        self.seen.add(str(key))
        return key in self.data

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


@pytest.mark.parametrize("code", procedure_ids())
def test_every_parameter_a_procedure_reads_is_declared(
    code: str, demo_run: Callable[..., DemoRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo run end to end (create, plan, every step, evaluate) with parameters that record each lookup."""
    seen: set[str] = set()

    def recording(**fields: Any) -> RunContext:
        return RunContext(**{**fields, "parameters": Recording(fields["parameters"], seen)})

    monkeypatch.setattr("acquisition.creation.RunContext", recording)
    run = demo_run(code)
    assert run.outcome.state == "completed", run.outcome.message
    declared = {s.name for s in get_procedure(code).parameter_specs}
    assert seen, "the procedure read no parameter through its context"
    assert seen <= declared, f"read but not declared: {sorted(seen - declared)}"


def test_the_engine_refuses_a_misspelt_parameter_and_writes_no_run(
    demo_run: Callable[..., DemoRun], tmp_path: Path
) -> None:
    with pytest.raises(RunRefused) as refused:
        demo_run("nawi-calibration-cg18", repetitons=10)
    message = str(refused.value)
    assert message.startswith("nawi-calibration-cg18: unknown parameter 'repetitons' (did you mean 'repetitions'?)")
    registry = make_engine(f"sqlite:///{tmp_path / 'nawi-calibration-cg18.db'}")
    with session_factory(registry)() as s:
        assert s.scalar(select(func.count()).select_from(Run)) == 0
    registry.dispose()


def test_the_engine_refuses_a_decimal_comma_before_writing_anything(
    demo_run: Callable[..., DemoRun], tmp_path: Path
) -> None:
    with pytest.raises(RunRefused, match=r"repeat_load_g must be a number > 0 \(g\), got '100,5'.*dot: 100\.5"):
        demo_run("nawi-calibration-cg18", repeat_load_g="100,5")
    registry = make_engine(f"sqlite:///{tmp_path / 'nawi-calibration-cg18.db'}")
    with session_factory(registry)() as s:
        assert s.scalar(select(func.count()).select_from(Run)) == 0
    registry.dispose()


def test_the_engine_keeps_the_clean_values_a_form_sent_as_text(demo_run: Callable[..., DemoRun]) -> None:
    """``down = "không"`` is false (it used to be bool("không") = True) and ``repetitions = "6"`` is 6: a cg-18 run
    then has 6 repeatability pairs and no decreasing loads, so 1 + 1 + 6×2 + 5 + 1 + 5 + 1 + 1 = 27 steps (the demo
    adjusts the balance first) and 9 results (repeatability, eccentricity, 5 increasing loads, U0 and alpha)."""
    run = demo_run("nawi-calibration-cg18", down="không", repetitions="6")
    assert run.outcome.state == "completed", run.outcome.message
    assert len(run.outcome.results) == 9
    assert not any("decreasing" in r.quantity for r in run.outcome.results)
    assert run.outcome.results[0].note == "n = 6 indications"  # the repeatability row
    with session_factory(run.registry)() as s:
        stored = s.get(Run, run.outcome.run_id)
        assert stored is not None
        assert stored.checkpoint["parameters"]["down"] is False
        assert stored.checkpoint["parameters"]["repetitions"] == 6
        assert len(stored.checkpoint["completed"]) == 27


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"repetitions": 4}, r"repetitions must be >= 5 for a repeatability load of 100 g \(cg-18 v4.0 5.1"),
        ({"repetitions": 2}, r"parameter repetitions must be a whole number >= 3 and <= 10000, got 2"),
        ({"loads_g": [50, 100, 150, 200]}, r"loads_g needs at least 5 distinct test loads \(cg-18 v4.0 5.2\)"),
        ({"loads_g": [50, 100, 100, 200, 220]}, "at least 5 distinct"),
    ],
)
def test_a_cg18_run_that_could_not_be_evaluated_is_refused_before_it_starts(
    demo_run: Callable[..., DemoRun], parameters: dict[str, Any], message: str
) -> None:
    """cg-18 5.1 and 5.2 (as acquisition.methods.nawi checks them at evaluation): 5 repeatability indications below
    100 kg and 5 distinct test loads; a run without them used to be measured in full, then paused at the end."""
    with pytest.raises(RunRefused, match=message):
        demo_run("nawi-calibration-cg18", **parameters)


# --- issue 14: bounded work for bounded input ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (100_000_000, r"repetitions must be a whole number >= 3 and <= 10000, got 100000000"),
        ("9" * 5000, r"repetitions must be a whole number >= 3 and <= 10000, got '9999"),
        ("a 5000-digit int", r"repetitions must be a whole number .*too large to show.*limited to ±1e\+12"),
    ],
)
def test_a_huge_count_is_refused_before_any_step_is_planned(value: object, message: str) -> None:
    if value == "a 5000-digit int":
        value = 10**5000  # built here: pytest's test id would try to print it
    spec = next(s for s in NawiCalibrationCg18.parameter_specs if s.name == "repetitions")
    with pytest.raises(ValueError, match=message) as refused:
        spec.check(value)
    assert len(str(refused.value)) < 300  # a short excerpt of the value, never all of it


def test_huge_numbers_and_lists_are_refused_with_the_limit() -> None:
    loads = next(s for s in NawiCalibrationCg18.parameter_specs if s.name == "loads_g")
    with pytest.raises(ValueError, match=r"loads_g\[1\] must be a number > 0 \(g\), got 1e\+308; numbers are limited"):
        loads.check([50.0, 1e308])
    with pytest.raises(ValueError, match="loads_g has 5000 entries; at most 1000 are accepted"):
        loads.check([1.0] * 5000)
    assert loads.check([50.0, 1e12]) == [50.0, 1e12]  # the limit itself is accepted


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(code=st.sampled_from(procedure_ids()), name_index=st.integers(min_value=0, max_value=99), value=_JSON)
def test_any_json_value_for_any_declared_parameter_is_clean_or_refused(code: str, name_index: int, value: Any) -> None:
    """Issue 14.5: a hypothesis fuzz of the --param parser's second half (the declared checks): whatever JSON
    arrives for whichever parameter, the result is a clean value or a ValueError whose message is short."""
    specs = get_procedure(code).parameter_specs
    spec = specs[name_index % len(specs)]
    try:
        spec.check(value)
    except ValueError as exc:
        assert len(str(exc)) < 1000 and str(exc).startswith("parameter ")
