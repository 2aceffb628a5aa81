"""`dmm-calibration`: the plan, its refusals, and the demo run end to end (simulated 5520A wired to a 34465A).

Where the expected numbers come from:

* The simulated 34465A reads ``input · (1 + g) + noise`` (g its gain error, set in the test or the demo's 8 ppm;
  noise σ = range · 1 ppm / √NPLC with NPLC 10 after ``CONF``). With the simulated calibrator's own output error
  switched off (``error_fraction = 0``) the error found at a point of nominal value v must be g · v within the
  noise of the mean of five readings (bound 5 σ/√5) and the 9-digit reading format.
* U is recomputed here from the GUM model the procedure follows (u_c² = s²/n + (d/√12)² + (a/√3)², k = t_95(ν_eff)
  by Welch–Satterthwaite): s from the kept readings in the run's checkpoint, d = 1 ppm of the range (6½ digits),
  a from the Fluke 5520A 1-year specification rows written out below (ppm of output + floor), as tabulated in
  acquisition/methods/electrical.py from the 5520A Operators Manual — those rows other than ACI are not verified
  against the manufacturer's text (see docs/methods/electrical.md); the figures here are the row figures, not the
  code's output.
* Tolerances: the Keysight 34465A 1-year rows (ppm of reading + ppm of range) of the same module, also unverified.
  Conformity by guarded acceptance: pass when |E| <= tolerance − U.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import Any

import pytest
from scipy import stats

from acquisition.engine import RunRefused
from acquisition.methods.electrical import DMMBand, DMMSpec
from acquisition.procedures import dmm as dmm_module
from acquisition.procedures.base import InstrumentUnderTest, RunContext, StandardUsed, StepData
from acquisition.procedures.dmm import DmmCalibration
from lab.base import DemoScenario
from lab.dmm import CALIBRATOR_ERROR_FRACTION, GAIN_ERROR_PPM, DmmDemo
from registry.db import session_factory
from registry.models import Conformity, Result, Run
from simulators.electrical import output_spec
from tests.acquisition.conftest import DemoRun

N = 5
NOISE_PPM = 1.0  # the 34465A simulator's default noise, ppm of range at NPLC 1
NPLC = 10.0

# function, nominal (V, A, Ω), DMM range, frequency Hz,
# 5520A 1-year limit a = ppm · |v| + floor (row), 34465A 1-year tolerance = ppm · |v| + ppm · range (row)
POINTS: list[tuple[str, float, float, float, float, float]] = [
    ("DCV", 0.1, 0.1, 0.0, 20e-6 * 0.1 + 1e-6, 50e-6 * 0.1 + 35e-6 * 0.1),  # 0–329.9999 mV; 100 mV range
    ("DCV", 1.0, 1.0, 0.0, 11e-6 * 1.0 + 2e-6, 30e-6 * 1.0 + 7e-6 * 1.0),  # 0–3.299999 V; 1 V range
    ("DCV", 10.0, 10.0, 0.0, 12e-6 * 10.0 + 20e-6, 30e-6 * 10.0 + 5e-6 * 10.0),  # 0–32.99999 V; 10 V range
    ("DCV", 100.0, 100.0, 0.0, 18e-6 * 100.0 + 150e-6, 40e-6 * 100.0 + 6e-6 * 100.0),  # 30–329.9999 V
    ("ACV", 1.0, 1.0, 1000.0, 240e-6 * 1.0 + 50e-6, 600e-6 * 1.0 + 300e-6 * 1.0),  # 0.33–3.29999 V, 45 Hz–10 kHz
    ("ACV", 10.0, 10.0, 1000.0, 240e-6 * 10.0 + 650e-6, 600e-6 * 10.0 + 300e-6 * 10.0),  # 3.3–32.9999 V
    ("DCI", 0.01, 0.01, 0.0, 100e-6 * 0.01 + 0.25e-6, 500e-6 * 0.01 + 200e-6 * 0.01),  # 0–32.9999 mA; 10 mA
    ("DCI", 1.0, 1.0, 0.0, 200e-6 * 1.0 + 40e-6, 800e-6 * 1.0 + 100e-6 * 1.0),  # 0–1.09999 A; 1 A range
    ("OHM", 100.0, 100.0, 0.0, 28e-6 * 100.0 + 1.4e-3, 80e-6 * 100.0 + 35e-6 * 100.0),  # 33–109.9999 Ω
    ("OHM", 1e4, 1e4, 0.0, 28e-6 * 1e4 + 20e-3, 80e-6 * 1e4 + 10e-6 * 1e4),  # 3.3–10.99999 kΩ; 10 kΩ range
]
SIM_UNIT = {"DCV": "V", "ACV": "V", "DCI": "A", "OHM": "OHM"}


def step_id(i: int, fn: str, value: float, frequency: float) -> str:
    return f"p{i:02d}-{fn.lower()}-{value:g}" + (f"-{frequency:g}hz" if frequency else "")


def context(model: str = "34465A", **parameters: Any) -> RunContext:
    return RunContext(
        run_id="test",
        parameters={**DmmCalibration.definition.parameters, **parameters},
        instrument=InstrumentUnderTest(1, "DMM", "Keysight", model, "MY1", 0.0, 1000.0, "V", 1e-7, "V", ""),
        standards={
            "calibrator": StandardUsed("calibrator", "CAL", "multifunction calibrator", 0, 1020, "V", "", "C1"),
            "environment": StandardUsed("environment", "ENV", "thermo-hygro-barometer", None, None, "", "", "C2"),
        },
    )


# ----------------------------------------------------------------------------------------------------- plan
def test_default_plan_connects_sets_reads_and_ends_in_standby() -> None:
    steps = DmmCalibration().plan(context())
    ids = [s.id for s in steps]
    points = [step_id(i, fn, v, f) for i, (fn, v, _, f, _, _) in enumerate(POINTS, 1)]
    assert ids == [
        "env-start",
        "connect-voltage",
        *points[:6],
        "connect-current",
        *points[6:8],
        "connect-resistance-4w",
        *points[8:],
        "standby",
        "env-end",
    ]
    by_id = {s.id: s for s in steps}
    for cid in ("connect-voltage", "connect-current", "connect-resistance-4w"):
        s = by_id[cid]
        assert s.keep == 0 and s.action is not None and s.action.kind == "connect"
        assert [(c.role, c.method) for c in s.commands] == [("calibrator", "standby")]  # never rewire live terminals
    assert "AUX/A" in by_id["connect-current"].action.text_en  # type: ignore[union-attr]
    assert "4-wire" in by_id["connect-resistance-4w"].action.text_en  # type: ignore[union-attr]

    ten = by_id[points[2]]
    assert ten.role == "dmm" and ten.keep == N
    assert [(c.role, c.method, dict(c.args)) for c in ten.commands] == [
        ("dmm", "configure", {"function": "dc_voltage", "range": 10.0}),
        ("calibrator", "set_output", {"value": 10.0, "unit": "V"}),
        ("calibrator", "operate", {}),
    ]
    assert ten.stability is not None and ten.stability.window == N
    assert ten.stability.max_spread == pytest.approx(140e-6, rel=1e-12)  # a at 10 V: 12 ppm · 10 V + 20 µV
    ac = by_id[points[4]].commands
    assert dict(ac[0].args) == {"function": "ac_voltage", "range": 1.0}
    assert dict(ac[1].args) == {"value": 1.0, "unit": "V", "frequency": 1000.0}
    ohm = by_id[points[9]].commands
    assert dict(ohm[0].args) == {"function": "resistance_4w", "range": 1e4}
    assert dict(ohm[1].args) == {"value": 1e4, "unit": "OHM"}
    assert by_id["standby"].keep == 0 and [c.method for c in by_id["standby"].commands] == ["standby"]
    assert DmmCalibration().required_range(context()) == {"calibrator": (0.0, 100.0, "V")}


def test_points_in_other_units_and_a_return_to_voltage_reconnects() -> None:
    points = [
        {"function": "dcv", "value": 100, "unit": "mV", "range": 100, "resolution": 0.0001},
        {"function": "DCI", "value": 10, "unit": "mA", "range": 10},
        {"function": "DCV", "value": -10, "unit": "V", "range": 10},
    ]
    steps = DmmCalibration().plan(context(points=points))
    assert [s.id for s in steps] == [
        "env-start",
        "connect-voltage",
        "p01-dcv-0.1",
        "connect-current",
        "p02-dci-0.01",
        "connect-voltage",
        "p03-dcv--10",
        "standby",
        "env-end",
    ]
    first = steps[2]
    assert first.meta["value"] == pytest.approx(0.1) and first.meta["range"] == pytest.approx(0.1)
    assert first.meta["resolution"] == pytest.approx(1e-7)  # 0.0001 mV given
    assert steps[4].meta["resolution"] == pytest.approx(1e-6 * 0.01)  # default: 1 ppm of the 10 mA range


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ({"function": "FREQ", "value": 1, "range": 1}, "not one of"),
        ({"function": "DCV", "value": 1100, "unit": "V", "range": 1000}, "no 1 year specification for DCV"),
        ({"function": "DCV", "value": 1, "unit": "V", "range": 3}, "ranges in the table"),
        ({"function": "DCV", "value": 12.5, "unit": "V", "range": 10}, "beyond the 10 V range"),
        ({"function": "ACV", "value": 1, "unit": "V", "range": 1}, "needs frequency_hz"),
        ({"function": "DCV", "value": 1, "unit": "V", "range": 1, "frequency_hz": 50}, "DC function"),
        ({"function": "DCV", "value": 1, "unit": "A", "range": 1}, "does not fit DCV"),
        ({"function": "DCV", "value": 1, "unit": "V"}, "give 'range'"),
        ({"function": "OHM", "value": -100, "unit": "Ω", "range": 100}, "must be > 0"),
    ],
)
def test_bad_points_are_refused_with_what_to_do(point: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DmmCalibration().plan(context(points=[point]))


def test_specification_must_match_the_dmm_model() -> None:
    with pytest.raises(ValueError, match="set dmm_spec to 'none'"):
        DmmCalibration().plan(context(model="3458A"))
    steps = DmmCalibration().plan(context(model="3458A", dmm_spec="none"))  # calibration without conformity
    assert len(steps) == 16
    with pytest.raises(ValueError, match="readings_per_point"):
        DmmCalibration().plan(context(readings_per_point=0))
    with pytest.raises(ValueError, match="calibrator_distribution"):
        DmmCalibration().plan(context(calibrator_distribution="triangular"))


def test_guarded_acceptance_needs_room_below_the_tolerance(monkeypatch: pytest.MonkeyPatch) -> None:
    # a made-up 34465A-named spec of ±(0 + 100 ppm of range) on 10 V: 1 mV; the calibrator at 10 V has
    # a = 140 µV -> u = 80.8 µV, U >= 1.96 u = 158 µV; a 100 µV tolerance leaves nothing to accept
    tight = DMMSpec("test", "Keysight 34465A", "1 year", (DMMBand("DCV", 10.0, 0, 0, 0.0, 10.0),))
    monkeypatch.setitem(dmm_module.DMM_SPECS, "tight", tight)
    point = [{"function": "DCV", "value": 10, "unit": "V", "range": 10}]
    with pytest.raises(ValueError, match="decision_rule to 'simple'"):
        DmmCalibration().plan(context(points=point, dmm_spec="tight"))
    assert DmmCalibration().plan(context(points=point, dmm_spec="tight", decision_rule="simple"))


def test_a_3458a_dc_point_is_judged_against_the_3458a_table() -> None:
    """A 3458A (registered model 3458A) on its 10 V range against the 1-year DCV row of the 3458A data sheet
    (5965-4971, DCV table: 8 ppm of reading + 0.05 ppm of range; unverified, cross-checked against two
    transcriptions). Readings 10.0000412, 10.0000405, 10.0000409, 10.0000411, 10.0000408 V: mean 10.0000409 V,
    E = 40.9 µV; tolerance = 8e-6 · 10.0000409 + 0.05e-6 · 10 = 80.0003272 + 0.5 = 80.5003272 µV.
    U by hand: s of the readings, d = 0.1 µV given with the point, a = 12 ppm · 10 V + 20 µV = 140 µV (5520A
    1-year row, rectangular). U > tolerance (about 158 µV): guarded acceptance is refused at plan time; simple
    acceptance passes |E| <= 80.5 µV and the result warns that the 5520A cannot demonstrate the specification."""
    point = [{"function": "DCV", "value": 10, "unit": "V", "range": 10, "resolution": 1e-7}]
    with pytest.raises(ValueError, match="decision_rule to 'simple'"):
        DmmCalibration().plan(context(model="3458A", dmm_spec="hp-3458a-1y", points=point))
    ctx = context(model="3458A", dmm_spec="hp-3458a-1y", decision_rule="simple", points=point)
    steps = DmmCalibration().plan(ctx)
    readings = (10.0000412, 10.0000405, 10.0000409, 10.0000411, 10.0000408)
    data = {s.id: StepData(s, readings if s.role == "dmm" else (), "V") for s in steps}
    (r,) = DmmCalibration().evaluate(ctx, data)
    mean = sum(readings) / 5
    assert mean == pytest.approx(10.0000409, abs=1e-12)
    assert r.value == pytest.approx(40.9e-6, abs=1e-11)
    assert r.mpe == pytest.approx(8e-6 * 10.0000409 + 0.05e-6 * 10.0, rel=1e-9)
    assert r.mpe == pytest.approx(80.5003272e-6, rel=1e-9)
    s = statistics.stdev(readings)
    u_c = math.sqrt(s**2 / 5 + (1e-7 / math.sqrt(12)) ** 2 + (140e-6 / math.sqrt(3)) ** 2)
    assert r.budget["u"] == pytest.approx(u_c, rel=1e-9)
    assert r.U is not None and r.mpe is not None and r.mpe < r.U
    assert r.conformity == "pass" and "simple acceptance" in r.rule
    assert "3458A 1 year DCV 10 V range row unverified" in r.note and "is not below the tolerance" in r.note
    assert "3458A" in r.reference and "5965-4971" in r.evidence["tolerance_source"]


def test_a_3458a_table_has_no_ac_rows_and_says_what_to_do() -> None:
    point = [{"function": "ACV", "value": 1, "unit": "V", "range": 1, "frequency_hz": 1000}]
    with pytest.raises(ValueError, match=r"no ACV rows.*dmm_spec 'none'"):
        DmmCalibration().plan(context(model="3458A", dmm_spec="hp-3458a-90d", decision_rule="simple", points=point))
    with pytest.raises(ValueError, match="set dmm_spec to 'none'"):  # a 34465A against the 3458A table
        DmmCalibration().plan(context(dmm_spec="hp-3458a-1y", points=point))


# --------------------------------------------------------------------------------------------- end to end
def kept_values(run: DemoRun) -> dict[str, list[float]]:
    with session_factory(run.registry)() as s:
        row = s.get(Run, run.outcome.run_id)
        assert row is not None
        return {k: v["values"] for k, v in row.checkpoint["completed"].items()}


def overall(run: DemoRun) -> Conformity | None:
    with session_factory(run.registry)() as s:
        row = s.get(Run, run.outcome.run_id)
        assert row is not None
        return row.overall


def hand_U(values: list[float], rng: float, a: float) -> tuple[float, float]:
    """(U, k) from the GUM model: repeatability, resolution 1 ppm of range, calibrator a rectangular."""
    n = len(values)
    u_rep = statistics.stdev(values) / math.sqrt(n)
    u_c = math.sqrt(u_rep**2 + (1e-6 * rng / math.sqrt(12)) ** 2 + (a / math.sqrt(3)) ** 2)
    nu = math.inf if u_rep == 0 else u_c**4 / (u_rep**4 / (n - 1))
    k = float(stats.norm.ppf(0.975)) if math.isinf(nu) else float(stats.t.ppf(0.975, nu))
    return k * u_c, k


def noise_bound(value: float, rng: float) -> float:
    sigma = rng * NOISE_PPM * 1e-6 / math.sqrt(NPLC)
    return 5 * sigma / math.sqrt(N) + 1e-8 * abs(value)  # plus the 9-significant-digit reading format


def exact_calibrator(demo: DemoScenario) -> None:
    assert isinstance(demo, DmmDemo) and demo.calibrator is not None
    demo.calibrator.error_fraction = 0.0


def test_errors_found_are_the_simulated_gain_error_with_u_from_the_5520a_spec(
    demo_run: Callable[..., DemoRun],
) -> None:
    run = demo_run("dmm-calibration", prepare=exact_calibrator)
    assert run.outcome.state == "completed", run.outcome.message
    results = run.outcome.results
    assert len(results) == len(POINTS)
    kept = kept_values(run)
    g = GAIN_ERROR_PPM * 1e-6
    for i, (r, (fn, v, rng, f, a, tol)) in enumerate(zip(results, POINTS, strict=True), 1):
        assert r.quantity == f"error of indication ({fn})" and r.point == pytest.approx(v)
        values = kept[step_id(i, fn, v, f)]
        assert len(values) == N
        assert r.value == pytest.approx(g * v, abs=noise_bound(v, rng)), fn
        assert abs(r.value - g * v) < 0.5 * abs(g * v)  # the bound is tight enough to tell g·v from 0
        expanded, k = hand_U(values, rng, a)
        found_U = r.U
        assert found_U == pytest.approx(expanded, rel=1e-6), fn
        assert r.k == pytest.approx(k, rel=1e-6)
        assert r.mpe == pytest.approx(tol, rel=1e-4)  # the tolerance is taken at the reading, not the nominal
        assert abs(r.value) <= tol - expanded and r.conformity == "pass"
        assert "guarded acceptance" in r.rule
        # every row used here is unverified (5520A DCV/ACV/DCI/OHM, 34465A): the result and its budget say so
        cal_row = next(row for row in r.budget["rows"] if row["input"] == "dV_cal")
        assert "unverified" in cal_row["source"] and "unverified" in r.evidence["tolerance_source"], fn
        assert f"{fn} " in r.note and "unverified against the text" in r.note, fn
    demo = run.demo
    assert isinstance(demo, DmmDemo) and demo.calibrator is not None
    assert [x.params["connection"] for x in demo.actions] == ["voltage", "current", "resistance-4w"]
    assert overall(run) == Conformity.PASS
    with session_factory(run.registry)() as s:  # what the registry keeps for the certificate: the same marking
        stored = s.query(Result).filter_by(run_id=run.outcome.run_id).order_by(Result.seq).all()
        assert len(stored) == len(POINTS)
        for row, (fn, *_) in zip(stored, POINTS, strict=True):
            assert "unverified" in row.note and "unverified" in row.evidence["tolerance_source"], fn
            assert any("unverified" in b.get("source", "") for b in row.budget["rows"]), fn
    assert demo.calibrator.wire.level().operate is False  # left in standby
    assert run.outcome.readings >= N * len(POINTS)


def test_demo_as_shipped_passes_with_the_calibrators_own_output_error(demo_run: Callable[..., DemoRun]) -> None:
    run = demo_run("dmm-calibration")
    assert run.outcome.state == "completed", run.outcome.message
    g = GAIN_ERROR_PPM * 1e-6
    for r, (fn, v, rng, f, _, _) in zip(run.outcome.results, POINTS, strict=True):
        # the simulated 5520A's output is off by at most error_fraction of its 1-year limit a (the methods' row)
        cal_error = CALIBRATOR_ERROR_FRACTION * output_spec(v, SIM_UNIT[fn], f) * (1 + g)
        assert r.value == pytest.approx(g * v, abs=cal_error + noise_bound(v, rng)), fn
        assert r.conformity == "pass"
    assert overall(run) == Conformity.PASS


def test_a_gain_error_beyond_the_34465a_spec_fails_the_dc_voltage_and_resistance_points(
    demo_run: Callable[..., DemoRun],
) -> None:
    g = 150e-6

    def prepare(demo: DemoScenario) -> None:
        exact_calibrator(demo)
        assert isinstance(demo, DmmDemo) and demo.dmm is not None
        demo.dmm.control("set_error", gain_error_ppm=150.0)

    run = demo_run("dmm-calibration", prepare=prepare)
    assert run.outcome.state == "completed", run.outcome.message
    kept = kept_values(run)
    verdicts = {}
    for i, (r, (fn, v, rng, f, a, tol)) in enumerate(zip(run.outcome.results, POINTS, strict=True), 1):
        assert r.value == pytest.approx(g * v, abs=noise_bound(v, rng))
        expanded, _ = hand_U(kept[step_id(i, fn, v, f)], rng, a)
        limit = tol - expanded  # guarded acceptance limit
        assert abs(abs(g * v) - limit) > 0.2 * tol, "test point too close to the acceptance limit to judge"
        expected = "pass" if abs(g * v) <= limit else "fail"
        assert r.conformity == expected, (fn, v)
        verdicts[(fn, v)] = r.conformity
    # 150 ppm is beyond every DCV and OHM tolerance of the 34465A table but inside the ACV and DCI ones
    assert {k for k, c in verdicts.items() if c == "fail"} == {
        ("DCV", 0.1),
        ("DCV", 1.0),
        ("DCV", 10.0),
        ("DCV", 100.0),
        ("OHM", 100.0),
        ("OHM", 1e4),
    }
    assert overall(run) == Conformity.FAIL


def test_a_plan_the_calibrator_cannot_source_is_refused_before_the_run(demo_run: Callable[..., DemoRun]) -> None:
    with pytest.raises(RunRefused, match="no 1 year specification for DCV 1100 V"):
        demo_run("dmm-calibration", points=[{"function": "DCV", "value": 1100, "unit": "V", "range": 1000}])
