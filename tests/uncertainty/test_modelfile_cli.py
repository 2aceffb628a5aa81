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
    assert set(g) == {"value", "u", "dof", "k", "U", "interval", "budget"}
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
        "d_low",
        "d_high",
    }
    assert m["trials"] == 20000 and isinstance(m["validated"], bool)
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
