"""Bounded work and no traceback for hostile model files (issue 14 items 4, 5 and the dof of item 8).

Each file-level reproduction runs through the CLI (`caltrace uncertainty evaluate FILE --json`): exit code 2,
nothing on stdout, exactly one short `error: ...` line on stderr, no traceback.
"""

from __future__ import annotations

import json
import math
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from api.cli.uncertainty import app
from uncertainty import Model, ModelError, ModelFileError, evaluate_document, mcm, normal
from uncertainty.errors import InputError
from uncertainty.limits import (
    MAX_EXPRESSION_DEPTH,
    MAX_INPUTS,
    MAX_MODEL_FILE_BYTES,
    MAX_OUTPUTS,
    MCM_MEMORY_BUDGET,
)

runner = CliRunner()
NORMAL = {"value": 1.0, "distribution": "normal", "u": 0.1}


def _run(tmp_path, content: str | bytes):
    f = tmp_path / "model.json"
    if isinstance(content, bytes):
        f.write_bytes(content)
    else:
        f.write_text(content, encoding="utf-8")
    return runner.invoke(app, ["evaluate", str(f), "--json"])


def _assert_one_line_error(res, fragment: str) -> str:
    assert res.exit_code == 2, (res.exit_code, res.stdout[:200], res.stderr[:400])
    assert res.stdout == ""
    err = res.stderr
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[:400]
    assert lines[0].startswith("error: ")
    assert len(lines[0]) <= 420  # quotes at most a short excerpt of the input
    assert fragment in lines[0], lines[0]
    return lines[0]


def test_sum_of_500_terms_evaluates(tmp_path):
    """y = a0 + ... + a499, every u = 0.1, uncorrelated: c_i = 1, so u_c = sqrt(500 x 0.01) = 2.2361 (GUM 5.1.2)."""
    n = 500
    doc = {"model": " + ".join(f"a{i}" for i in range(n)), "inputs": {f"a{i}": NORMAL for i in range(n)}}
    res = _run(tmp_path, json.dumps(doc))
    assert res.exit_code == 0, res.stderr
    g = json.loads(res.stdout)["outputs"]["y"]["gum"]
    assert g["value"] == pytest.approx(500.0, rel=1e-12)
    assert g["u"] == pytest.approx(math.sqrt(n * 0.1**2), rel=1e-12)


def test_5000_inputs_are_refused_by_the_input_limit(tmp_path):
    n = 5000
    doc = {"model": " + ".join(f"a{i}" for i in range(n)), "inputs": {f"a{i}": NORMAL for i in range(n)}}
    line = _assert_one_line_error(_run(tmp_path, json.dumps(doc)), "inputs: has 5000 inputs")
    assert f"the limit is {MAX_INPUTS}" in line


def test_10000_unary_minus_signs_are_refused_before_parsing(tmp_path):
    doc = {"model": "-" * 10_000 + "x", "inputs": {"x": NORMAL}}
    _assert_one_line_error(_run(tmp_path, json.dumps(doc)), "model: expression '-----")


def test_non_utf8_file(tmp_path):
    content = '{"model": "x", "measurand": "\xe9", "inputs": {}}'.encode("latin-1")
    _assert_one_line_error(_run(tmp_path, content), "is not UTF-8 text (byte 0xe9")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            '{"model": "x", "inputs": {"x": {"value": 1' + "0" * 5000 + ', "distribution": "normal", "u": 0.1}}}',
            "integer literal is too long",
        ),
        # 401 digits: valid JSON and a valid Python int, but beyond a float (1.8e308)
        (
            '{"model": "x", "inputs": {"x": {"value": 1' + "0" * 400 + ', "distribution": "normal", "u": 0.1}}}',
            "inputs.x.value: must be finite, got an integer of about 401 digits",
        ),
        (json.dumps({"model": "x + 1" + "0" * 5000, "inputs": {"x": NORMAL}}), "integer literal is too long"),
        (json.dumps({"model": "x + 1" + "0" * 400, "inputs": {"x": NORMAL}}), "too large for a float"),
        (json.dumps({"model": "x * 1e400", "inputs": {"x": NORMAL}}), "too large for a float"),
    ],
)
def test_huge_numbers(tmp_path, text, fragment):
    _assert_one_line_error(_run(tmp_path, text), fragment)


def test_json_nested_100000_deep(tmp_path):
    _assert_one_line_error(_run(tmp_path, "[" * 100_000 + "]" * 100_000), "too deeply")


def test_json_nested_deep_inside_a_valid_document(tmp_path):
    deep = "[" * 500 + "1" + "]" * 500
    text = '{"model": "x", "inputs": {"x": {"value": ' + deep + ', "distribution": "normal", "u": 0.1}}}'
    _assert_one_line_error(_run(tmp_path, text), "nests arrays/objects more than")


@pytest.mark.parametrize("content", ["", "   \n"])
def test_empty_file(tmp_path, content):
    _assert_one_line_error(_run(tmp_path, content), "is empty")


def test_directory_instead_of_a_file(tmp_path):
    _assert_one_line_error(runner.invoke(app, ["evaluate", str(tmp_path), "--json"]), "is a directory")


def test_file_above_the_size_limit_is_refused_before_reading(tmp_path):
    pad = " " * (MAX_MODEL_FILE_BYTES + 10)
    _assert_one_line_error(_run(tmp_path, json.dumps({"model": "x", "inputs": {"x": NORMAL}}) + pad), "bytes")


def test_3000_outputs_are_refused_before_allocating(tmp_path):
    """The probe's 47 KB file: 3000 outputs x 10^6 trials, 8 bytes each, is 24 GB of output values alone."""
    doc = {
        "model": {f"y{i}": "a * b" for i in range(3000)},
        "inputs": {"a": NORMAL, "b": NORMAL},
        "methods": ["mcm"],
        "mcm": {"trials": 1_000_000},
    }
    line = _assert_one_line_error(_run(tmp_path, json.dumps(doc)), "model: has 3000 outputs")
    assert f"the limit is {MAX_OUTPUTS}" in line


def test_monte_carlo_memory_is_estimated_and_refused_with_the_estimate(tmp_path):
    """100 outputs x 5e6 trials: the output values alone are 8 x 100 x 5e6 = 4e9 bytes (3.7 GiB), held twice."""
    doc = {
        "model": {f"y{i}": "a * b" for i in range(100)},
        "inputs": {"a": NORMAL, "b": NORMAL},
        "methods": ["mcm"],
        "mcm": {"trials": 5_000_000},
    }
    line = _assert_one_line_error(_run(tmp_path, json.dumps(doc)), "mcm.trials: Monte Carlo with 5000000 trials")
    estimate = float(line.split("need about ")[1].split(" GiB")[0])
    assert estimate >= 2 * 8 * 100 * 5e6 / 1024**3 - 0.05  # at least the two copies of the values
    assert "lower mcm.trials to at most" in line
    fit = int(line.split("at most ")[1].split(",")[0])
    assert 2 * 8 * 100 * fit <= MCM_MEMORY_BUDGET  # the advice itself fits the budget


def test_mcm_refuses_settings_above_the_memory_budget():
    model = Model.from_expression({f"y{i}": "a * b" for i in range(50)})
    with pytest.raises(InputError, match="GiB"):
        mcm(model, {"a": normal(1.0, 0.1), "b": normal(1.0, 0.1)}, trials=10_000_000)


def test_dof_below_one_is_refused_with_the_key_path(tmp_path):
    doc = {"model": "x", "inputs": {"x": {**NORMAL, "dof": 1e-300}}}
    line = _assert_one_line_error(_run(tmp_path, json.dumps(doc)), "inputs.x.dof: must be >= 1")
    assert "GUM 4.2.6" in line


def test_dof_of_one_is_accepted():
    """nu = 1 (two observations): k = t_0.975(1) = 12.706 (GUM Table G.2)."""
    doc = {"model": "x", "inputs": {"x": {**NORMAL, "dof": 1}}}
    g = evaluate_document(doc)["outputs"]["y"]["gum"]
    assert g["k"] == pytest.approx(12.706, abs=5e-4)


def test_long_keys_and_values_are_quoted_as_short_excerpts(tmp_path):
    name = "x" * 100_000
    doc = {"model": "x", "inputs": {"x": NORMAL, name: {"value": "v" * 100_000}}}
    line = _assert_one_line_error(_run(tmp_path, json.dumps(doc)), "inputs.'xxxx")
    assert "(100000 characters)" in line


def test_newlines_in_keys_do_not_break_the_one_line_error(tmp_path):
    doc = {"model": "x", "inputs": {"x": NORMAL, "a\nb": NORMAL}}
    _assert_one_line_error(_run(tmp_path, json.dumps(doc)), "'a\\nb' is not a valid name")


def test_expression_depth_limit():
    """A sum of n terms is n - 1 BinOp levels deep: MAX_EXPRESSION_DEPTH + 2 terms are refused, and the hint
    (group in parentheses) then works."""
    n = MAX_EXPRESSION_DEPTH + 2
    names = [f"a{i}" for i in range(n)]
    with pytest.raises(ModelError, match="nests more than"):
        Model.from_expression(" + ".join(names))
    half = n // 2
    grouped = f"({' + '.join(names[:half])}) + ({' + '.join(names[half:])})"
    assert Model.from_expression(grouped).n_inputs == n


# ------------------------------------------------------------------ fuzzing the parser

NAMES = ["x", "y", "z"]
TOKENS = [
    *NAMES,
    "1",
    "2.5",
    "0",
    "1e308",
    "1e-320",
    "(",
    ")",
    "+",
    "-",
    "*",
    "/",
    "**",
    "sqrt(",
    "log(",
    "arctan2(",
    "abs(",
    ",",
    "pi",
    "__x",
    ".",
    "[",
    "]",
    "'",
    "not ",
    "lambda",
    " ",
    "9" * 30,
    "e",
    "~",
]
expressions = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=30).map("".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
numbers = st.integers(-(10**400), 10**400) | st.floats(allow_nan=True, allow_infinity=True)
input_specs = st.one_of(
    st.fixed_dictionaries(
        {"value": numbers, "distribution": st.sampled_from(["normal", "t", "rectangular", "triangular"])},
        optional={"u": numbers, "half_width": numbers, "dof": numbers | st.none(), "scale": numbers},
    ),
    st.fixed_dictionaries({"samples": st.lists(numbers, max_size=5)}),
    json_values,
)
documents = (
    st.fixed_dictionaries(
        {"model": expressions | st.dictionaries(st.sampled_from(["Y1", "Y2", "bad name"]), expressions, max_size=3)},
        optional={
            "inputs": st.dictionaries(st.sampled_from(NAMES), input_specs, max_size=3),
            "constants": st.dictionaries(st.sampled_from(["c", "x"]), numbers, max_size=2),
            "correlations": st.lists(st.lists(st.sampled_from(NAMES) | numbers, max_size=3), max_size=2),
            "coverage_probability": numbers,
            "methods": st.sampled_from([["gum"], ["gum", "mcm"], ["mcm"], ["x"], []]),
            "mcm": st.fixed_dictionaries(
                {}, optional={"trials": st.integers(-5, 2000), "seed": st.integers(-5, 10**50)}
            ),
            "extra": json_values,
        },
    )
    | json_values
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_fuzz_model_documents_give_a_result_or_a_model_file_error(doc):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = evaluate_document(doc)
        except ModelFileError as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 400
            return
    json.dumps(out, allow_nan=False)  # a result is strictly JSON


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(documents.map(lambda d: json.dumps(d, allow_nan=True)), st.binary(max_size=60)))
def test_fuzz_cli_gives_a_result_or_one_error_line(tmp_path_factory, content):
    res = _run(tmp_path_factory.mktemp("fuzz"), content)
    assert res.exit_code in (0, 2), (res.exit_code, res.stderr[:300], repr(res.exception))
    assert "Traceback" not in res.stderr
    if res.exit_code == 2:
        assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("error: ")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, st.sampled_from([["gum"], ["gum", "mcm"]]))
def test_fuzz_expressions_over_valid_inputs(expr, methods):
    """Random token strings as the model of an otherwise valid document reach the parser, the compiler, the
    GUM and Monte Carlo: each gives a result or a ModelFileError (never another exception)."""
    doc = {
        "model": expr,
        "inputs": {n: {"value": 0.5, "distribution": "normal", "u": 0.1} for n in NAMES if n in expr},
        "methods": methods,
        "mcm": {"trials": 200, "seed": 1},
    }
    if "mcm" not in methods:
        del doc["mcm"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = evaluate_document(doc)
        except ModelFileError as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 400
            return
    json.dumps(out, allow_nan=False)


def test_adaptive_cap_is_lowered_to_fit_the_memory_budget():
    """100 outputs: 3 copies x 8 bytes x 100 outputs = 2400 bytes per trial, so 2 GiB holds < 10^6 trials, far
    below the engine's default cap of 2e7; the cap is lowered to whole blocks of 10^4 (p = 0.95: ceil(100/0.05)
    = 2000 < 10^4, JCGM 101 7.9.4) and its estimate fits."""
    from uncertainty.mcm import mcm_memory
    from uncertainty.modelfile import _check_mcm_memory

    cap = _check_mcm_memory(2, 100, 0, True, 0.95)
    assert cap % 10_000 == 0 and 20_000 <= cap < MCM_MEMORY_BUDGET / 2400
    assert mcm_memory(2, 100, cap, adaptive=True) <= MCM_MEMORY_BUDGET < mcm_memory(2, 100, cap + 10_000, adaptive=True)
    assert _check_mcm_memory(2, 1, 0, True, 0.95) == 20_000_000  # one output: the default cap fits
