"""The model-file contract (uncertainty.modelfile) and the `caltrace uncertainty evaluate` command."""

from __future__ import annotations

import copy
import json
import math

import pytest
from typer.testing import CliRunner

from api.cli.uncertainty import app
from uncertainty import ModelFileError, evaluate_document

S2 = {
    # EA-4/02 M:2022 S2 (grams): published m_X = 10 000.025 g, u = 29.3 mg
    "measurand": "m_X",
    "model": "m_S + dm_D + dm + dm_C + dB",
    "inputs": {
        "m_S": {"value": 10000.005, "distribution": "normal", "U": 0.045, "k": 2},
        "dm_D": {"value": 0.0, "distribution": "rectangular", "half_width": 0.015},
        "dm": {"value": 0.020, "distribution": "normal", "u": 0.025 / math.sqrt(3)},
        "dm_C": {"value": 0.0, "distribution": "rectangular", "half_width": 0.010},
        "dB": {"distribution": "rectangular", "lower": -0.010, "upper": 0.010},
    },
    "coverage_factor": 2,
}

H2 = {
    "model": {"R": "V/I*cos(phi)", "X": "V/I*sin(phi)", "Z": "V/I"},
    "inputs": {
        "V": {"samples": [5.007, 4.994, 5.005, 4.990, 4.999]},
        "I": {"samples": [19.663e-3, 19.639e-3, 19.640e-3, 19.685e-3, 19.678e-3]},
        "phi": {"samples": [1.0456, 1.0438, 1.0468, 1.0428, 1.0433]},
    },
    "simultaneous": [["V", "I", "phi"]],
}


def test_single_output_document_shape_and_numbers():
    out = evaluate_document(S2)
    assert set(out) == {"outputs"}
    g = out["outputs"]["m_X"]["gum"]
    assert set(g) == {"value", "u", "dof", "k", "U", "interval", "u_second_order", "nonlinear", "budget"}
    # a linear model: the GUM 5.1.2 second-order terms vanish, so u_second_order = u and not non-linear
    assert g["nonlinear"] is False and g["u_second_order"] == pytest.approx(g["u"], rel=1e-9)
    assert g["value"] == pytest.approx(10000.025)
    assert round(g["u"] * 1000, 1) == 29.3
    assert g["dof"] is None and g["k"] == 2.0
    assert g["interval"] == pytest.approx([g["value"] - g["U"], g["value"] + g["U"]])
    row = g["budget"][0]
    assert set(row) == {"input", "value", "u", "distribution", "sensitivity", "contribution", "dof"}
    assert (row["input"], row["u"], row["distribution"], row["dof"]) == ("m_S", 0.0225, "normal", None)
    assert row["contribution"] == pytest.approx(row["sensitivity"] * row["u"])
    json.dumps(out, allow_nan=False)  # strictly JSON


def test_several_outputs_and_correlation_from_samples():
    out = evaluate_document(H2)
    assert set(out["outputs"]) == {"R", "X", "Z"}
    assert round(out["correlation"]["R"]["X"], 3) == -0.588  # GUM Table H.4
    assert out["correlation"]["X"]["R"] == out["correlation"]["R"]["X"]
    assert out["outputs"]["R"]["gum"]["dof"] == pytest.approx(4.0)


def test_mcm_section_and_validation_numbers():
    doc = {
        "model": "a + b",
        "inputs": {
            "a": {"value": 1.0, "distribution": "normal", "u": 0.1},
            "b": {"value": 2.0, "distribution": "t", "scale": 0.1, "dof": 10},
        },
        "methods": ["gum", "mcm"],
        "mcm": {"trials": 20000, "seed": 1},
    }
    out = evaluate_document(doc)["outputs"]["y"]
    m = out["mcm"]
    assert set(m) == {
        "value",
        "u",
        "interval_symmetric",
        "interval_shortest",
        "trials",
        "validated",
        "delta",
        "delta_from",
        "d_low",
        "d_high",
        "validation_note",
    }
    assert m["trials"] == 20000 and isinstance(m["validated"], bool)
    # GUM u = sqrt(0.1^2 + 0.1^2) = 0.1414 = 14 x 10^-2 (n_dig = 2) -> delta = 0.005 (JCGM 101 7.9.2)
    assert m["delta_from"] == "gum" and m["delta"] == pytest.approx(0.005) and m["validation_note"] is None
    assert m["d_low"] == pytest.approx(abs(out["gum"]["interval"][0] - m["interval_shortest"][0]))
    assert evaluate_document(doc) == evaluate_document(doc)  # seeded: reproducible


def test_mcm_only_has_no_gum_and_null_validation():
    doc = {
        "model": "a",
        "inputs": {"a": {"value": 1.0, "distribution": "arcsine", "half_width": 1}},
        "methods": ["mcm"],
        "mcm": {"adaptive": True, "significant_digits": 1, "seed": 3},
    }
    out = evaluate_document(doc)["outputs"]["y"]
    assert "gum" not in out and out["mcm"]["validated"] is None
    assert out["mcm"]["delta"] is None and out["mcm"]["delta_from"] is None  # nothing to validate


def mutate(base, path, value):
    doc = copy.deepcopy(base)
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        (("extra",), 1, "extra"),
        (("inputs", "m_S", "u"), -1, "inputs.m_S"),
        (("inputs", "dm", "u"), -0.1, "inputs.dm.u"),
        (("inputs", "dm", "value"), KeyError, "inputs.dm.value"),
        (("inputs", "dm", "colour"), "red", "inputs.dm.colour"),
        (("inputs", "dm", "distribution"), "cauchy", "inputs.dm.distribution"),
        (("inputs", "dm", "dof"), 0, "inputs.dm.dof"),
        (("inputs", "dm", "u"), "0.1", "inputs.dm.u"),
        (("inputs", "dB", "upper"), -0.02, "inputs.dB.upper"),
        (("inputs", "unused"), {"value": 1.0, "distribution": "normal", "u": 1.0}, "inputs.unused"),
        (("model",), "m_S + dm_D + dm + dm_C + dB + ghost", "model"),
        (("model",), "m_S.__class__", "model"),
        (("model",), "__import__('os')", "model"),
        (("model",), KeyError, "model"),
        (("coverage_probability",), 95, "coverage_probability"),
        (("coverage_factor",), -2, "coverage_factor"),
        (("methods",), ["gum", "bayes"], "methods[1]"),
        (("mcm",), {"trials": 1000}, "mcm"),
        (("correlations",), [["m_S", "dm", 1.5]], "correlations[0][2]"),
        (("correlations",), [["m_S", "nope", 0.5]], "correlations[0]"),
        (("constants",), {"k": "two"}, "constants.k"),
        (("measurand",), "not a name", "measurand"),
    ],
)
def test_invalid_documents_name_the_offending_key(path, value, key):
    with pytest.raises(ModelFileError) as info:
        evaluate_document(mutate(S2, path, value))
    assert str(info.value).startswith(key)


def test_non_psd_correlations_in_document():
    doc = {
        "model": "a + b + c",
        "inputs": {n: {"value": 0.0, "distribution": "normal", "u": 1.0} for n in "abc"},
        "correlations": [["a", "b", 0.9], ["a", "c", 0.9], ["b", "c", -0.9]],
    }
    with pytest.raises(ModelFileError, match=r"^correlations: .*positive semi-definite"):
        evaluate_document(doc)


def test_simultaneous_group_requires_samples():
    doc = copy.deepcopy(H2)
    doc["inputs"]["V"] = {"value": 5.0, "distribution": "normal", "u": 0.003}
    with pytest.raises(ModelFileError, match=r"^simultaneous\[0\]"):
        evaluate_document(doc)


def test_correlation_across_two_simultaneous_groups_is_allowed():
    """Only a pair inside one group gets its correlation from the samples; a pair across two groups may be
    given. Check by GUM 5.2.2 eq. (13): adding r(V, P) adds 2 c_V c_P r u(V) u(P) to u_c^2."""
    doc = {
        "model": "V/I + P*Q",
        "inputs": {
            "V": {"samples": [5.0, 5.1, 4.9, 5.05, 4.95]},
            "I": {"samples": [1.0, 0.98, 1.01, 1.02, 0.99]},
            "P": {"samples": [2.0, 2.1, 1.9, 2.02, 1.97]},
            "Q": {"samples": [3.0, 3.05, 3.1, 2.9, 2.95]},
        },
        "simultaneous": [["V", "I"], ["P", "Q"]],
    }
    without = evaluate_document(doc)["outputs"]["y"]["gum"]
    doc["correlations"] = [["V", "P", 0.5]]
    with_r = evaluate_document(doc)["outputs"]["y"]["gum"]
    rows = {r["input"]: r for r in with_r["budget"]}
    extra = 2 * rows["V"]["contribution"] * rows["P"]["contribution"] * 0.5
    assert with_r["u"] ** 2 - without["u"] ** 2 == pytest.approx(extra, rel=1e-9)
    doc["correlations"] = [["V", "I", 0.5]]
    with pytest.raises(ModelFileError, match=r"^correlations\[0\]: .*comes from their simultaneous samples"):
        evaluate_document(doc)


def test_linearity_not_checkable_is_null_not_false():
    """sqrt(x) at x = 0.01, u = 0.1: the model is not defined at x - u/8, so the GUM 5.1.2 check cannot be made;
    the output says null (unknown) rather than false (linear)."""
    doc = {"model": "sqrt(x)", "inputs": {"x": {"value": 0.01, "distribution": "normal", "u": 0.1}}}
    g = evaluate_document(doc)["outputs"]["y"]["gum"]
    assert g["nonlinear"] is None and g["u_second_order"] is None


def test_document_must_be_an_object():
    with pytest.raises(ModelFileError, match="JSON object"):
        evaluate_document([1, 2])


# ------------------------------------------------------------------ CLI

runner = CliRunner()


def test_cli_json_prints_exactly_the_document(tmp_path):
    f = tmp_path / "s2.json"
    f.write_text(json.dumps(S2))
    res = runner.invoke(app, ["evaluate", str(f), "--json"])
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout) == evaluate_document(S2)


def test_cli_table_output(tmp_path):
    f = tmp_path / "h2.json"
    f.write_text(json.dumps(H2))
    res = runner.invoke(app, ["evaluate", str(f)], terminal_width=200)
    assert res.exit_code == 0, res.stderr
    for word in ("GUM budget", "R =", "phi", "Correlation of the outputs", "-0.5884"):
        assert word in res.stdout


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps(mutate(S2, ("inputs", "dm", "u"), -1)), "inputs.dm.u: must be >= 0"),
        (json.dumps({"model": "x"}), "inputs: missing"),
    ],
)
def test_cli_invalid_input_exits_2_with_one_line(tmp_path, content, fragment):
    f = tmp_path / "bad.json"
    f.write_text(content)
    res = runner.invoke(app, ["evaluate", str(f), "--json"])
    assert res.exit_code == 2
    assert res.stdout == ""
    assert fragment in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert "Traceback" not in res.stderr


def test_cli_missing_file(tmp_path):
    res = runner.invoke(app, ["evaluate", str(tmp_path / "nope.json")])
    assert res.exit_code == 2 and "cannot read" in res.stderr


# ------------------------------------------------- JCGM 101:2008 9.4: a GUM u of 0 through the CLI

THETA = 2 * 0.005**2  # 2 u^2 = 5e-5, the mean and the s.d. of dY (see the test below)

COMPARISON_LOSS = {
    # JCGM 101:2008 9.4, comparison loss in microwave power meter calibration: dY = X1^2 + X2^2 with the
    # real and imaginary parts of the reflection coefficient estimated at 0, u = 0.005 each, uncorrelated
    "measurand": "dY",
    "model": "X1**2 + X2**2",
    "inputs": {
        "X1": {"value": 0.0, "distribution": "normal", "u": 0.005},
        "X2": {"value": 0.0, "distribution": "normal", "u": 0.005},
    },
    "methods": ["gum", "mcm"],
    "mcm": {"trials": 200_000, "seed": 94, "significant_digits": 2},
}


def _cli_json(tmp_path, doc):
    f = tmp_path / "model.json"
    f.write_text(json.dumps(doc))
    res = runner.invoke(app, ["evaluate", str(f), "--json"])
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout), res.stderr


def test_cli_jcgm101_9_4_gum_u_zero_is_reported_not_validated(tmp_path):
    """The first-order GUM gives u = 0 for dY = X1^2 + X2^2 at x = 0; Monte Carlo shows the spread.

    Exact distribution, by hand: X_i = u Z_i with Z_i ~ N(0, 1) independent, so dY = u^2 (Z1^2 + Z2^2)
    = u^2 chi^2_2, and chi^2_2 is the exponential distribution of mean 2. Hence dY ~ Exp with mean and
    s.d. theta = 2u^2 = 5e-5, F(y) = 1 - exp(-y/theta). Its density decreases, so the shortest 95 %
    interval is [0, q] with q = -theta ln 0.05 = 1.498e-4 (JCGM 101 9.4 gives [0, 0.000150]).

    Tolerances from M = 2e5 trials, 5 standard errors each: mean theta/sqrt(M); s.d.
    theta sqrt((kurtosis - 1)/(4M)) = theta sqrt(2/M) (kurtosis of the exponential is 9); the 0.95
    quantile sqrt(p(1 - p)/M) / f(q) with f(q) = 0.05/theta; probability content sqrt(p(1 - p)/M).

    GUM: all sensitivities are 0 at x = 0, so u = 0 and the interval is [0, 0]. Second order (GUM 5.1.2
    note): f_11 = f_22 = 2, f_12 = 0, no third derivatives: u^2 = 1/2 (2^2 u^4 + 2^2 u^4) = 4u^4, u = 2u^2.

    Validation (JCGM 101 8.1): y - U = y + U = 0, so d_low = |y_low| and d_high = |y_high|; the GUM u has
    no numerical tolerance, so delta comes from the Monte Carlo u ~ 5.0e-5 = 50 x 10^-6 (n_dig = 2):
    delta = 1/2 x 10^-6.
    """
    out, stderr = _cli_json(tmp_path, COMPARISON_LOSS)
    g, m = out["outputs"]["dY"]["gum"], out["outputs"]["dY"]["mcm"]
    assert g["value"] == 0.0 and g["u"] == 0.0 and g["interval"] == [0.0, 0.0]
    assert g["nonlinear"] is True and g["u_second_order"] == pytest.approx(THETA, rel=1e-9)
    assert "non-linear" in stderr

    big_m, p = m["trials"], 0.95
    assert big_m == 200_000
    assert abs(m["value"] - THETA) <= 5 * THETA / math.sqrt(big_m)
    assert abs(m["u"] - THETA) <= 5 * THETA * math.sqrt(2 / big_m)
    q = -THETA * math.log(1 - p)
    se_q = math.sqrt(p * (1 - p) / big_m) / ((1 - p) / THETA)
    lo, hi = m["interval_shortest"]
    assert 0.0 <= lo <= 5 * se_q
    assert abs(hi - q) <= 5 * se_q
    content = math.exp(-lo / THETA) - math.exp(-hi / THETA)  # F(hi) - F(lo) under the exact law
    assert abs(content - p) <= 5 * math.sqrt(p * (1 - p) / big_m)

    assert m["validated"] is False
    assert m["delta_from"] == "monte_carlo" and "Monte Carlo" in m["validation_note"]
    assert m["delta"] == pytest.approx(0.5e-6, rel=1e-12)
    assert m["d_low"] == pytest.approx(lo, abs=1e-15) and m["d_high"] == pytest.approx(hi, abs=1e-15)
    assert m["d_high"] > m["delta"]


def test_cli_table_shows_linearity_and_the_source_of_delta(tmp_path):
    f = tmp_path / "model.json"
    f.write_text(json.dumps(COMPARISON_LOSS))
    res = runner.invoke(app, ["evaluate", str(f)], terminal_width=400)
    assert res.exit_code == 0, res.stderr
    text = res.stdout
    assert "NON-LINEAR (GUM 5.1.2): u with second-order terms = 5e-05 (first order 0)" in text
    assert "GUM NOT validated (JCGM 101:2008 clause 8)" in text
    assert "delta = 5e-07 (from the Monte Carlo u)" in text


def test_cli_json_carries_nonlinear_and_the_second_order_u(tmp_path):
    """y = a b + exp(c) at a = b = 1, c = 0 with u(a) = u(b) = 0.5, u(c) = 0.3, by hand:

    GUM 5.1.2 eq. (10): f_a = b = 1, f_b = a = 1, f_c = e^c = 1, so
    u^2 = 0.25 + 0.25 + 0.09 = 0.59.
    Note to 5.1.2, sum over i, j of [1/2 f_ij^2 + f_i f_ijj] u_i^2 u_j^2: f_ab = f_ba = 1 gives
    2 x 1/2 x 0.25 x 0.25 = 0.0625; f_cc = f_ccc = 1 gives (1/2 + 1) x 0.3^4 = 0.01215; every other
    second and third derivative is 0. u_2^2 = 0.59 + 0.0625 + 0.01215 = 0.66465, u_2 = 0.81526; u changes
    by sqrt(0.66465/0.59) - 1 = 6.1 % > 1 %: non-linear.
    The engine takes f_ij, f_ijj by central differences of exact gradients at x ± u/8; for exp the
    relative error is h^2/6 with h = 0.3/8, which moves u_2 by ~2e-6 relative: rel = 1e-5.
    """
    doc = {
        "model": "a*b + exp(c)",
        "inputs": {
            "a": {"value": 1.0, "distribution": "normal", "u": 0.5},
            "b": {"value": 1.0, "distribution": "normal", "u": 0.5},
            "c": {"value": 0.0, "distribution": "normal", "u": 0.3},
        },
    }
    out, stderr = _cli_json(tmp_path, doc)
    g = out["outputs"]["y"]["gum"]
    assert g["u"] == pytest.approx(math.sqrt(0.59), rel=1e-12)
    assert g["u_second_order"] == pytest.approx(math.sqrt(0.66465), rel=1e-5)
    assert g["nonlinear"] is True
    assert "non-linear" in stderr
