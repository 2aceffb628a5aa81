"""`nawi-calibration-cg18`: loads made of the pieces of a weight set, U worked by hand, and the run end to end on
the simulated MT-SICS balance and COMET environment sensor.

The weight set is an E2-like R111 set of pieces 1 g – 200 g (made up below). Each load is made of the fewest pieces,
by hand: 50 g, 100 g and 200 g are one piece each, 150 g = 100 g + 50 g, 220 g = 200 g + 20 g and the 70 g
eccentricity load = 50 g + 20 g; the reference value of a load is the sum of its pieces' certified conventional
masses (``mass`` below).

The simulated balance has a sensitivity error of +2 ppm (set in the test) and the test's operator places the sum of
the certified conventional masses of the pieces the action names, so the expected error of indication at a load of
conventional mass m is E = 2e-6 · m, computed here independently of the procedure; the balance shows 0.1 mg steps, so
each E is expected within a few d of that.

The balance also has an eccentricity error at the back left of exactly −4 d on the 70 g eccentricity load
(relative −4 d / m_c, set in the test), and the operator puts the load where the action says. The eccentricity
differences ΔI_i = I_i − I_centre (cg-18 5.3) are then, by hand: the true indications at the back left and the
centre differ by exactly −4 d (a whole number of d, so rounding both to d shifts them alike), and each reading
also carries the settled noise (d/10, clipped at 3 sigma) and what is left of the settling transient (at most
d/4), so the two readings' offsets differ by less than d and the rounded difference is −4 d, −3 d or −5 d. At the
other positions the true indications equal the centre's, so ΔI_i is −d, 0 or +d. Hence |ΔI_ecc|max is the back
left's: 4 d within d.

The reference weights carry every term of cg-18 v4.0 7.1.2, each worked by hand below from the guide's formulas:
the certificate's U/k (summed linearly over the pieces), the drift δm_D (the change of each piece's certified value
since the set's previous certificate, PREVIOUS below, or one third of its E2 MPE for a piece that certificate does
not list), the air buoyancy δm_B (density by class: MPE/4 · (|ρ_a − ρ_0| + 2u(ρ_a)) / 0.12 kg/m³, or MPE/4 when the
air density is not measured, OIML R111-1:2004 10.1; density known: −m(ρ_a − ρ_0)(1/ρ − 1/ρ_c)) and, for an
instrument not adjusted immediately before the calibration, the air density since its last adjustment
(m · 0.12 kg/m³ / ρ_c, rectangular).
"""

from __future__ import annotations

import dataclasses
import math
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from scipy import stats
from sqlalchemy import select
from sqlalchemy.engine import Engine

from acquisition.channel import AutomaticFrontEnd, OperatorAction
from acquisition.engine import RunEngine, RunRefused
from acquisition.methods.weights import air_density
from acquisition.procedures.base import CertificateRecord, InstrumentUnderTest, RunContext, StandardUsed, StepData
from acquisition.procedures.nawi_cg18 import NawiCalibrationCg18
from acquisition.store import SQLiteReadingStore
from drivers.registry import open_instrument
from registry.db import make_engine, session_factory, session_scope, upgrade
from registry.models import (
    Authorisation,
    Customer,
    EnvironmentRecord,
    MeasuringInstrument,
    MetrologyField,
    ReferenceStandard,
    Result,
    Run,
    RunState,
    Staff,
    StandardCertificate,
)
from simulators.base import SimOptions
from simulators.environment import EnvironmentSimulator
from simulators.mtsics import MtSicsSimulator
from simulators.runner import SimulatorThread

TODAY = date(2026, 11, 21)
SENSITIVITY = 2e-6
D = 0.0001
#: label -> (nominal g, conventional mass g, U g at k = 2): an E2-like set of pieces, made up for the test. The
#: certificate rows carry no labels: the second 20 g and 2 g rows become "20 g*" and "2 g*".
CERTIFIED = {
    "200 g": (200.0, 200.00005, 0.0001),
    "100 g": (100.0, 99.99997, 0.00005),
    "50 g": (50.0, 50.00002, 0.00003),
    "20 g": (20.0, 20.00001, 0.000025),
    "20 g*": (20.0, 19.99998, 0.000025),
    "10 g": (10.0, 10.00001, 0.00002),
    "5 g": (5.0, 5.000005, 0.000016),
    "2 g": (2.0, 2.000004, 0.000012),
    "2 g*": (2.0, 1.999997, 0.000012),
    "1 g": (1.0, 1.000003, 0.00001),
}
#: the set's previous certificate (2024), conventional masses (g): every piece but the 1 g and 2 g ones
PREVIOUS = {
    "200 g": 200.00003,
    "100 g": 99.99994,
    "50 g": 50.00003,
    "20 g": 20.00002,
    "20 g*": 19.99997,
    "10 g": 10.00002,
    "5 g": 5.000001,
}
#: OIML R111-1:2004 Table 1, class E2 MPE (g) by nominal (g) (METROLOGY.md)
E2_MPE = {200.0: 0.0003, 100.0: 0.00016, 50.0: 0.0001, 20.0: 0.00008, 10.0: 0.00006, 5.0: 0.00005, 2.0: 0.00004,
          1.0: 0.00003}  # fmt: skip
#: drift half-width D (g) per piece, by hand: |certified now − certified 2024|; without a 2024 value MPE/3
DRIFT = {
    "200 g": 0.00002,
    "100 g": 0.00003,
    "50 g": 0.00001,
    "20 g": 0.00001,
    "20 g*": 0.00001,
    "10 g": 0.00001,
    "5 g": 0.000004,
    "2 g": 0.00004 / 3,
    "2 g*": 0.00004 / 3,
    "1 g": 0.00003 / 3,
}
RHO_0, RHO_C, BOUND = 1.2, 8000.0, 0.12  # kg/m³: OIML D 28 reference densities; ±10 % of ρ_0 (R111-1 10.1)
#: the thermo-hygro-barometer's certificate: U (k = 2) of temperature °C, humidity %RH, pressure hPa
ENV_CERTIFICATE = [
    {"quantity": "temperature", "U": 0.3, "k": 2},
    {"quantity": "humidity", "U": 3.0, "k": 2},
    {"quantity": "pressure", "U": 1.0, "k": 2},
]
#: the pieces making each load, by hand (fewest pieces, the unstarred piece of a pair first)
PIECES = {
    1.0: ["1 g"],
    50.0: ["50 g"],
    70.0: ["50 g", "20 g"],
    100.0: ["100 g"],
    150.0: ["100 g", "50 g"],
    200.0: ["200 g"],
    220.0: ["200 g", "20 g"],
}
PARAMS = {"loads_g": [50.0, 100.0, 150.0, 200.0, 220.0], "repeat_load_g": 100.0, "eccentricity_load_g": 70.0}
ECC_POSITION = "back-left"


def mass(load: float) -> float:
    """Conventional mass (g) of the pieces making ``load``: the sum of their certified values."""
    return math.fsum(CERTIFIED[label][1] for label in PIECES[load])


def u_weights(load: float) -> float:
    """Standard uncertainty (g) of the pieces making ``load``: their U/k summed linearly (cg-18 7.1.2)."""
    return math.fsum(CERTIFIED[label][2] / 2 for label in PIECES[load])


def u_buoyancy_class_assumed(load: float) -> float:
    """u(δm_B) (g) of the pieces of ``load`` by class, air density not measured: Σ MPE_i/4, over √3 (R111-1 10.1)."""
    return math.fsum(E2_MPE[CERTIFIED[label][0]] / 4 for label in PIECES[load]) / math.sqrt(3)


def u_adjustment(load: float) -> float:
    """u(δm_Ba) (g) of an instrument not adjusted before the calibration: load · 0.12 kg/m³ / ρ_c, over √3."""
    return load * BOUND / RHO_C / math.sqrt(3)


def u_drift(load: float) -> float:
    """u(δm_D) (g): the pieces' drift half-widths D summed linearly, over √3 (rectangular)."""
    return math.fsum(DRIFT[label] for label in PIECES[load]) / math.sqrt(3)


ECC_RELATIVE = -4 * D / mass(70.0)  # -4 d = -0.4 mg on the 70 g load (see the module docstring)
CERTIFICATE = [{"point": n, "value": m, "unit": "g", "U": u, "k": 2} for n, m, u in CERTIFIED.values()]
PREVIOUS_CERTIFICATE = [
    {"point": CERTIFIED[label][0], "value": m, "unit": "g", "U": CERTIFIED[label][2], "k": 2}
    for label, m in PREVIOUS.items()
]


def differences(note: str) -> list[float]:
    """ΔI_i (g) of the eccentricity row's note ``differences: +a, -b, ...`` (front left, back left, back right,
    front right: the order of the procedure's steps)."""
    return [float(x) for x in note.removeprefix("differences: ").split(", ")]


@pytest.fixture
def registry(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'caltrace.db'}")
    upgrade(engine)
    with session_scope(engine, "setup") as s:
        s.add(
            MeasuringInstrument(
                owner=Customer(name="Công ty Dược phẩm B"),
                kind="Cân phân tích",
                field=MetrologyField.MASS,
                manufacturer="Mettler Toledo",
                model="XS204",
                serial_number="B912345678",
                interval_months=12,
                range_min=0.0,
                range_max=220.0,
                range_unit="g",
                resolution=0.0001,
                resolution_unit="g",
                accuracy_class="I",
            )
        )
        tech = Staff(username="lan", full_name="Nguyễn Thị Lan")
        tech.authorisations = [
            Authorisation(procedure_code="nawi-calibration-cg18", can_perform=True, valid_from=date(2026, 1, 1))
        ]
        s.add(tech)
        weights = ReferenceStandard(
            code="W-E2", name="Bộ quả cân E2", kind="weight set", field=MetrologyField.MASS, accuracy_class="E2"
        )
        weights.certificates = [
            StandardCertificate(
                issuer="VMI",
                number="V-2024-007",
                calibrated_on=date(2024, 1, 8),
                issued_on=date(2024, 1, 9),
                due_on=date(2025, 1, 8),
                values=PREVIOUS_CERTIFICATE,
            ),
            StandardCertificate(
                issuer="VMI",
                number="V-2026-001",
                calibrated_on=date(2026, 1, 10),
                issued_on=date(2026, 1, 12),
                due_on=date(2027, 1, 10),
                values=CERTIFICATE,
            ),
        ]
        env = ReferenceStandard(
            code="ENV-1", name="COMET T7510", kind="thermo-hygro-barometer", field=MetrologyField.TEMPERATURE
        )
        env.certificates = [
            StandardCertificate(
                issuer="QUATEST 3",
                number="Q3-77",
                calibrated_on=date(2026, 2, 1),
                issued_on=date(2026, 2, 2),
                due_on=date(2027, 2, 1),
                values=ENV_CERTIFICATE,
            )
        ]
        s.add_all([weights, env])
    return engine


def test_cg18_calibration_on_the_virtual_lab(registry: Engine, sim_thread: SimulatorThread, tmp_path: Path) -> None:
    balance = sim_thread.start(
        MtSicsSimulator(SimOptions("bal-1", "B912345678", seed=11), settle_time=0.15, stability_timeout=0.3)
    )
    assert isinstance(balance, MtSicsSimulator)
    balance.control("set_sensitivity_error", relative=SENSITIVITY)
    balance.control("set_eccentricity", position=ECC_POSITION, relative=ECC_RELATIVE)
    env = sim_thread.start(
        EnvironmentSimulator(SimOptions("env-1", "20231005", seed=3), temperature=21.0, humidity=48.0)
    )

    def act(action: OperatorAction) -> None:  # the certified conventional masses of the pieces the action names
        placed = math.fsum(CERTIFIED[label][1] for label in action.params.get("weights", []))
        balance.control("place", load_g=placed, position=action.params.get("position", "centre"))

    engine = RunEngine(registry, SQLiteReadingStore(tmp_path / "readings.db"), actor="lan", today=lambda: TODAY)
    procedure = NawiCalibrationCg18()
    run_id = engine.create(
        procedure,
        instrument="B912345678",
        technician="lan",
        standards={"weights": "W-E2", "environment": "ENV-1"},
        parameters={**PARAMS, "air_density": "assumed"},
    )
    with (
        open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as bal,
        open_instrument(env.url, "comet-t7510", "env-1") as thermo,
    ):
        outcome = engine.execute(procedure, run_id, {"balance": bal, "environment": thermo}, AutomaticFrontEnd(act))
    assert outcome.state == "completed", outcome.message

    ecc = next(r for r in outcome.results if r.quantity == "eccentricity |ΔI_ecc|max")
    rep = next(r for r in outcome.results if r.quantity == "repeatability standard deviation")
    errors = [r for r in outcome.results if r.quantity == "error of indication"]
    assert [r.point for r in errors] == PARAMS["loads_g"]
    for r in errors:
        assert r.point is not None
        expected = SENSITIVITY * mass(r.point)  # 2 ppm of the conventional mass of the pieces
        assert r.value == pytest.approx(expected, abs=1.5e-4), r  # rounding at zero and load, and noise
        rows = {row["input"]: row["u"] for row in r.budget["rows"]}
        assert rows["m_c"] == pytest.approx(u_weights(r.point), rel=1e-12)  # the pieces' u summed linearly
        # cg-18 7.1.1: every load gets |ΔI_ecc|max · I / (2 L_ecc √3), I the net indication (= the load within 1e-5)
        u_ecc = ecc.value * r.point / (2 * 70.0 * math.sqrt(3))
        assert rows["dI_ecc"] == pytest.approx(u_ecc, rel=1e-5)
        # cg-18 7.1.2: buoyancy by class (air density assumed), not adjusted before, drift from the 2024 certificate
        assert rows["dm_B"] == pytest.approx(u_buoyancy_class_assumed(r.point), rel=1e-12)
        assert rows["dm_Ba"] == pytest.approx(u_adjustment(r.point), rel=1e-12)
        assert rows["dm_D"] == pytest.approx(u_drift(r.point), rel=1e-9)
        # u²(E) = d0²/12 + d²/12 + s² + u²(ecc) + u²(m_c) + u²(δm_B) + u²(δm_Ba) + u²(δm_D) (cg-18 7.1)
        u = math.sqrt(
            2 * D**2 / 12
            + rep.value**2
            + u_ecc**2
            + u_weights(r.point) ** 2
            + u_buoyancy_class_assumed(r.point) ** 2
            + u_adjustment(r.point) ** 2
            + u_drift(r.point) ** 2
        )
        assert r.budget["u"] == pytest.approx(u, rel=1e-5)
        # k = t_95.45(nu_eff): 2.00 for large nu_eff, up to t(4) = 2.87 when the 5-reading repeatability dominates
        assert r.U is not None and r.k is not None and 1.99 < r.k < 2.88
        expanded = r.U
        assert expanded == pytest.approx(r.k * r.budget["u"], rel=1e-12)
    assert ecc.value > 0  # so every row has the eccentricity term
    # the errors grow with the load at the simulated 2 ppm: least-squares slope of E against m
    loads = [r.point or 0.0 for r in errors]
    mean_m, mean_e = sum(loads) / len(loads), sum(r.value for r in errors) / len(errors)
    slope = sum((m - mean_m) * (r.value - mean_e) for m, r in zip(loads, errors, strict=True)) / sum(
        (m - mean_m) ** 2 for m in loads
    )
    assert slope == pytest.approx(SENSITIVITY, abs=1e-6)
    # decreasing loads (all but the top one) find the same 2 ppm error
    down = [r for r in outcome.results if r.quantity == "error of indication (decreasing load)"]
    assert [r.point for r in down] == sorted(PARAMS["loads_g"], reverse=True)[1:]
    for r in down:
        assert r.point is not None
        assert r.value == pytest.approx(SENSITIVITY * mass(r.point), abs=1.5e-4), r
    # uncertainty in use (cg-18 8): the line U0 + alpha*m starts at the smallest load's U and never understates one
    u0 = next(r.value for r in outcome.results if r.quantity == "uncertainty in use U0")
    alpha = next(r.value for r in outcome.results if r.quantity == "uncertainty in use slope alpha")
    assert u0 == errors[0].U and alpha >= 0
    for r in errors:
        assert r.point is not None and r.U is not None
        assert u0 + alpha * r.point >= r.U * (1 - 1e-12)
    # eccentricity (cg-18 5.3): -4 d at the back left only, within d (module docstring)
    assert ecc.point == 70.0 and ecc.unit == "g"
    front_left, back_left, back_right, front_right = differences(ecc.note)
    assert back_left == pytest.approx(-4 * D, abs=1.0001 * D)
    for delta in (front_left, back_right, front_right):
        assert abs(delta) <= 1.0001 * D
    assert ecc.value == pytest.approx(abs(ECC_RELATIVE) * mass(70.0), abs=1.0001 * D)
    assert ecc.value == pytest.approx(abs(back_left), abs=1e-12)
    # Each net value (load minus zero indication, both rounded to d = 0.1 mg; settled noise 0.01 mg) is one of
    # x - d, x, x + d: the largest s of five such values is d (two at each end, one in the middle: sqrt(4d²/4)).
    assert rep.value <= 1.0001e-4

    with session_factory(registry)() as s:
        run = s.get(Run, run_id)
        assert run is not None and run.state is RunState.COMPLETED
        stored = s.scalars(select(Result).where(Result.run_id == run_id)).all()
        # repeatability, eccentricity, 5 loads up, 4 down, U0 and alpha of the uncertainty in use
        assert len(stored) == len(outcome.results) == 2 + 5 + 4 + 2
        envs = s.scalars(select(EnvironmentRecord).where(EnvironmentRecord.run_id == run_id)).all()
        assert {(e.phase, e.quantity) for e in envs} >= {
            ("env-start", "temperature"),
            ("env-start", "humidity"),
            ("env-end", "temperature"),
        }
        assert all(e.within_limits for e in envs)
    assert outcome.readings == engine.store.count(run_id=run_id) > 3 * 21


# --- loads made of pieces, worked by hand on fixed indications --------------------------------------------------


def context(*, density: tuple[float, float] | None = None, **parameters: Any) -> RunContext:
    """The 220 g, d = 0.1 mg balance of the module, the test's E2 weight set with its 2024 certificate, and the
    thermo-hygro-barometer, without a registry. ``density``: (ρ, U at k = 2) kg/m³ written into every piece's row."""
    rows = CERTIFICATE
    if density is not None:
        rows = [dict(r, density_kg_m3=density[0], density_U_kg_m3=density[1]) for r in CERTIFICATE]
    earlier = CertificateRecord("V-2024-007", date(2024, 1, 8), tuple(PREVIOUS_CERTIFICATE))
    return RunContext(
        run_id="t",
        parameters={**PARAMS, **parameters},
        instrument=InstrumentUnderTest(1, "Cân phân tích", "MT", "XS204", "B1", 0.0, 220.0, "g", D, "g", "I"),
        standards={
            "weights": StandardUsed(
                "weights",
                "W-E2",
                "weight set",
                1.0,
                200.0,
                "g",
                "E2",
                "V-2026-001",
                tuple(rows),
                calibrated_on=date(2026, 1, 10),
                history=(earlier,),
            ),
            "environment": StandardUsed(
                "environment", "ENV-1", "thermo-hygro-barometer", None, None, "", "", "Q3-77", tuple(ENV_CERTIFICATE)
            ),
        },
    )


#: indication (g) at each load of the error-of-indication test, up and down
LOAD_READINGS = {1.0: 1.0, 50.0: 50.0001, 100.0: 100.0, 150.0: 150.0002, 200.0: 200.0003, 220.0: 220.0001}
#: fixed indications (g): repeatability nets 100.0000, 100.0001, 100.0000, 100.0001, 100.0000; eccentricity
#: differences from the centre 0, −0.4 mg (back left), 0, +0.1 mg; no-load 0; the loads as above
READINGS = {
    **{f"rep-zero-{i}": 0.0 for i in range(1, 6)},
    **{f"rep-{i}": x for i, x in enumerate([100.0, 100.0001, 100.0, 100.0001, 100.0], start=1)},
    "ecc-centre": 70.0,
    "ecc-front-left": 70.0,
    "ecc-back-left": 69.9996,
    "ecc-back-right": 70.0,
    "ecc-front-right": 70.0001,
    "zero": 0.0,
    "unload": 0.0,
    **{f"{kind}-{x:g}": i for kind in ("load", "down") for x, i in LOAD_READINGS.items()},
}
#: environment at the start and the end: (°C, %RH, hPa)
ENV_READINGS = {"env-start": (20.0, 50.0, 1000.0), "env-end": (22.0, 50.0, 1000.0)}


def evaluate(ctx: RunContext | None = None) -> dict[tuple[str, float], Any]:
    """Run the procedure's plan and evaluation on READINGS; the results by (quantity, load)."""
    procedure = NawiCalibrationCg18()
    ctx = ctx or context()
    steps = procedure.plan(ctx)
    data = {s.id: StepData(s, (READINGS[s.id],), "g") for s in steps if s.role == "balance" and s.keep}
    quantities = ("temperature", "humidity", "pressure")
    data |= {s.id: StepData(s, ENV_READINGS[s.id], "", quantities) for s in steps if s.role == "environment"}
    return {(r.quantity, r.point): r for r in procedure.evaluate(ctx, data)}


def measured_air() -> tuple[float, float]:
    """ρ_a and u(ρ_a) (kg/m³) of ENV_READINGS, worked independently of the procedure: CIPM-2007 at the means
    (21 °C, 50 %RH, 1000 hPa; acquisition.methods.weights.air_density, checked against published values in
    tests/methods/test_weights.py) with u of each quantity = √(u_sensor² + (range/√12)²): u_t = √(0.15² +
    (2/√12)²), u_h = 1.5, u_p = 0.5; sensitivities by central differences; plus the equation's own 22·10⁻⁶."""
    rho = air_density(21.0, 1000.0, 50.0)
    u_t, u_h, u_p = math.hypot(0.15, 2 / math.sqrt(12)), 1.5, 0.5
    c_t = (air_density(21.01, 1000.0, 50.0) - air_density(20.99, 1000.0, 50.0)) / 0.02
    c_h = (air_density(21.0, 1000.0, 50.1) - air_density(21.0, 1000.0, 49.9)) / 0.2
    c_p = (air_density(21.0, 1000.1, 50.0) - air_density(21.0, 999.9, 50.0)) / 0.2
    return rho, math.sqrt((c_t * u_t) ** 2 + (c_h * u_h) ** 2 + (c_p * u_p) ** 2 + (rho * 22e-6) ** 2)


def rows_of(r: Any) -> dict[str, dict[str, Any]]:
    return {row["input"]: row for row in r.budget["rows"]}


S = math.sqrt(3e-9)  # repeatability s (g) of READINGS: s² = (3·(0.04 mg)² + 2·(0.06 mg)²)/4 = 3e-9 g²
U_ECC_100 = 0.0004 * 100.0 / (2 * 70.0 * math.sqrt(3))  # |ΔI_ecc|max · I / (2 L_ecc √3), I = 100.0000 g
U_MC_100 = 0.00005 / 2  # the 100 g piece's certificate U/k


def k_of(u: float) -> float:
    """k = t_95.45 %(ν_eff), ν_eff = u⁴/(s⁴/4) (Welch–Satterthwaite; only the repeatability has finite ν = 4)."""
    return float(stats.t.ppf(0.5 + 0.9545 / 2, u**4 / (S**4 / 4)))


def test_a_150_g_load_of_two_pieces_gets_their_linear_u_and_the_eccentricity_term() -> None:
    results = evaluate(context(air_density="assumed", adjusted_before_calibration=True))
    r = results[("error of indication", 150.0)]
    # reference: 100 g + 50 g = 99.99997 g + 50.00002 g = 149.99999 g; E = I − I0 − m_c = 150.0002 − 0 − 149.99999
    assert r.value == pytest.approx(0.00021, abs=1e-12)
    assert results[("repeatability standard deviation", 100.0)].value == pytest.approx(S, rel=1e-9)
    # eccentricity (cg-18 6.3): |ΔI_ecc|max = 0.4 mg at L_ecc = 70 g; cg-18 7.1.1: u(δI_ecc) = |ΔI_ecc|max · I /
    # (2 L_ecc √3) with I the net indication 150.0002 g
    u_ecc = 0.0004 * 150.0002 / (2 * 70.0 * math.sqrt(3))
    # the two pieces' standard uncertainties added linearly (cg-18 7.1.2): 0.05 mg/2 + 0.03 mg/2 = 0.04 mg
    u_mc = 0.00005 / 2 + 0.00003 / 2
    rows = {row["input"]: row["u"] for row in r.budget["rows"]}
    assert rows["dI_ecc"] == pytest.approx(u_ecc, rel=1e-12)
    assert rows["m_c"] == pytest.approx(u_mc, rel=1e-12)
    assert rows["m_c"] > math.hypot(0.00005 / 2, 0.00003 / 2) * 1.3  # linear, not root-sum-square (0.029 mg)
    # buoyancy by class, air density not measured: (0.16 mg + 0.10 mg)/4/√3; drift (0.03 + 0.01) mg/√3
    u_b = (0.00016 + 0.0001) / 4 / math.sqrt(3)
    u_d = (0.00003 + 0.00001) / math.sqrt(3)
    assert rows["dm_B"] == pytest.approx(u_b, rel=1e-12) and rows["dm_D"] == pytest.approx(u_d, rel=1e-9)
    # u²(E) = d0²/12 + d²/12 + s² + u²(δI_ecc) + u²(δm_c) + u²(δm_B) + u²(δm_D) (cg-18 7.1; adjusted, acclimatised)
    u = math.sqrt(D**2 / 12 + D**2 / 12 + S**2 + u_ecc**2 + u_mc**2 + u_b**2 + u_d**2)
    assert r.budget["u"] == pytest.approx(u, rel=1e-12)
    expanded = r.U
    assert r.k == pytest.approx(k_of(u), rel=1e-6) and expanded == pytest.approx(k_of(u) * u, rel=1e-6)
    # the decreasing 150 g load is the same two pieces, with the same terms
    down = results[("error of indication (decreasing load)", 150.0)]
    assert down.budget["u"] == pytest.approx(u, rel=1e-12)


def test_100_g_measured_air_density_class_density_not_adjusted() -> None:
    """The procedure's defaults: ρ_a measured during the run, the E2 piece's density known only by its class, the
    instrument not adjusted before the calibration (cg-18 v4.0 7.1.2; R111-1:2004 10.1)."""
    r = evaluate()[("error of indication", 100.0)]
    assert r.value == pytest.approx(0.00003, abs=1e-12)  # E = 100.0000 − 99.99997
    rho, u_rho = measured_air()
    u_b = 0.00016 / 4 * (abs(rho - RHO_0) + 2 * u_rho) / BOUND / math.sqrt(3)
    u_ba = 100.0 * BOUND / RHO_C / math.sqrt(3)
    u_d = 0.00003 / math.sqrt(3)  # 99.99997 − 99.99994, certificates V-2024-007 and V-2026-001
    rows = rows_of(r)
    assert rows["dm_B"]["u"] == pytest.approx(u_b, rel=1e-6) and rows["dm_B"]["distribution"] == "rectangular"
    assert rows["dm_Ba"]["u"] == pytest.approx(u_ba, rel=1e-12)
    assert rows["dm_D"]["u"] == pytest.approx(u_d, rel=1e-9)
    assert "V-2024-007" in rows["dm_D"]["source"] and "V-2026-001" in rows["dm_D"]["source"]
    assert "measured" in rows["dm_B"]["source"] and "by class" in rows["dm_B"]["source"]
    u = math.sqrt(D**2 / 6 + S**2 + U_ECC_100**2 + U_MC_100**2 + u_b**2 + u_ba**2 + u_d**2)
    assert r.budget["u"] == pytest.approx(u, rel=1e-9)
    assert pytest.approx(k_of(u) * u, rel=1e-6) == r.U
    # the guide's other terms are rows too; those at zero say why (METROLOGY: every contribution is listed)
    assert set(rows) == {"IL", "dI_digL", "dI_rep", "dI_ecc", "I0", "dI_dig0", "m_c", "dm_B", "dm_Ba", "dm_D",
                         "dm_conv"}  # fmt: skip
    for row in rows.values():
        assert row["unit"] == "g" and row["source"]
        if row["u"] == 0.0:
            assert row.get("note"), row
    # without the air density since the last adjustment the instrument's U would be about five times smaller:
    # that term dominates at 100 g (0.87 mg against 0.18 mg for all the others)
    others = math.sqrt(u**2 - u_ba**2)
    assert u_ba > 4 * others


def test_100_g_air_density_assumed_class_density_adjusted_first() -> None:
    ctx = context(air_density="assumed", adjusted_before_calibration=True)
    steps = NawiCalibrationCg18().plan(ctx)
    # the run starts with the adjustment, an operator action with no reading
    assert steps[0].id == "adjust" and steps[0].keep == 0 and steps[0].action is not None
    assert steps[0].action.kind == "adjust-balance"
    r = evaluate(ctx)[("error of indication", 100.0)]
    rows = rows_of(r)
    u_b = 0.00016 / (4 * math.sqrt(3))  # R111-1 10.1: MPE/4 for ±10 % of ρ_0, rectangular
    assert rows["dm_B"]["u"] == pytest.approx(u_b, rel=1e-12) and rows["dm_B"]["value"] == 0.0
    assert rows["dm_Ba"]["u"] == 0.0 and "adjusted immediately before" in rows["dm_Ba"]["note"]
    u = math.sqrt(D**2 / 6 + S**2 + U_ECC_100**2 + U_MC_100**2 + u_b**2 + (0.00003 / math.sqrt(3)) ** 2)
    assert r.budget["u"] == pytest.approx(u, rel=1e-12)


def test_100_g_measured_air_density_known_weight_density_adjusted() -> None:
    """Density 7950 kg/m³, U = 60 kg/m³ (k = 2) on the certificate: the correction is applied (cg-18 7.1.2)."""
    r = evaluate(context(density=(7950.0, 60.0), adjusted_before_calibration=True))[("error of indication", 100.0)]
    rho, u_rho = measured_air()
    contrast = 1 / 7950.0 - 1 / RHO_C  # 1/ρ − 1/ρ_c, m³/kg
    correction = -100.0 * (rho - RHO_0) * contrast  # δm_B, g (positive: ρ_a < ρ_0 and ρ < ρ_c)
    u_b = 100.0 * math.sqrt((contrast * u_rho) ** 2 + ((rho - RHO_0) * 30.0 / 7950.0**2) ** 2)
    row = rows_of(r)["dm_B"]
    assert row["value"] == pytest.approx(correction, rel=1e-6) and row["u"] == pytest.approx(u_b, rel=1e-5)
    assert row["distribution"] == "normal" and "7950" in row["source"]
    # E = I − I0 − (m_c + δm_B): the correction enters the error itself
    assert r.value == pytest.approx(100.0 - 0.0 - (99.99997 + correction), abs=1e-12)
    u = math.sqrt(D**2 / 6 + S**2 + U_ECC_100**2 + U_MC_100**2 + u_b**2 + (0.00003 / math.sqrt(3)) ** 2)
    assert r.budget["u"] == pytest.approx(u, rel=1e-9)


def test_100_g_air_density_assumed_known_weight_density_not_adjusted() -> None:
    """ρ_a not measured: ρ_a − ρ_0 = 0 ± 0.12 kg/m³ (rectangular), so the density's u enters at second order."""
    r = evaluate(context(density=(7950.0, 60.0), air_density="assumed"))[("error of indication", 100.0)]
    u_a = BOUND / math.sqrt(3)
    contrast = 1 / 7950.0 - 1 / RHO_C
    u_b = 100.0 * math.sqrt((contrast * u_a) ** 2 + (u_a * 30.0 / 7950.0**2) ** 2)
    rows = rows_of(r)
    assert rows["dm_B"]["value"] == 0.0 and rows["dm_B"]["u"] == pytest.approx(u_b, rel=1e-12)
    assert rows["dm_Ba"]["u"] == pytest.approx(100.0 * BOUND / RHO_C / math.sqrt(3), rel=1e-12)


def test_drift_from_the_history_or_the_class_bound() -> None:
    """A 1 g piece the 2024 certificate does not list: D = MPE/3 = 0.01 mg (E2); the 100 g piece's 0.03 mg."""
    results = evaluate(context(loads_g=[1.0, 50.0, 100.0, 150.0, 200.0], air_density="assumed"))
    small = rows_of(results[("error of indication", 1.0)])["dm_D"]
    assert small["u"] == pytest.approx(0.00003 / 3 / math.sqrt(3), rel=1e-12)
    assert "no earlier certificate" in small["source"] and "E2" in small["source"]
    large = rows_of(results[("error of indication", 100.0)])["dm_D"]
    assert large["u"] == pytest.approx(0.00003 / math.sqrt(3), rel=1e-9) and "+0.03 mg" in large["source"]


def test_a_set_without_class_or_density_is_refused_at_planning() -> None:
    ctx = context()
    weights = dataclasses.replace(ctx.standards["weights"], accuracy_class="")
    ctx = dataclasses.replace(ctx, standards={**ctx.standards, "weights": weights})
    with pytest.raises(ValueError, match="neither its density nor its OIML R111 class"):
        NawiCalibrationCg18().plan(ctx)
    env = dataclasses.replace(ctx.standards["environment"], values=())
    ctx2 = dataclasses.replace(context(), standards={**context().standards, "environment": env})
    with pytest.raises(ValueError, match="temperature uncertainty of ENV-1.*air_density=assumed"):
        NawiCalibrationCg18().plan(ctx2)
    NawiCalibrationCg18().plan(dataclasses.replace(ctx2, parameters={**PARAMS, "air_density": "assumed"}))


def test_the_actions_name_the_pieces_to_place() -> None:
    steps = {s.id: s for s in NawiCalibrationCg18().plan(context())}
    action = steps["load-150"].action
    assert action is not None and action.kind == "place-load"
    assert action.text_vi == "Đặt 150 g (100 g + 50 g) ở giữa đĩa cân"
    assert action.text_en == "Place 150 g (100 g + 50 g) at the centre"
    assert action.params["load_g"] == 150.0 and action.params["weights"] == ["100 g", "50 g"]
    assert action.params["position"] == "centre"
    ecc = steps["ecc-back-right"].action
    assert ecc is not None and ecc.text_vi == "Đặt 70 g (50 g + 20 g) ở phía sau bên phải"
    assert ecc.text_en == "Place 70 g (50 g + 20 g) at the back right"
    assert ecc.params["weights"] == ["50 g", "20 g"] and ecc.params["position"] == "back-right"
    for key, labels in (("load-220", ["200 g", "20 g"]), ("down-200", ["200 g"]), ("rep-1", ["100 g"])):
        placed = steps[key].action
        assert placed is not None and placed.params["weights"] == labels
    # one piece labelled as the load: the load is the piece, named once
    single = steps["load-100"].action
    assert single is not None and single.text_vi == "Đặt 100 g ở giữa đĩa cân" and single.params["weights"] == ["100 g"]
    assert single.text_en == "Place 100 g at the centre"
    # a starred piece is named: a set whose only 100 g piece is the second one of the certificate ("100 g*")
    values = [dict(v, label="100 g*") if v["point"] == 100.0 else v for v in CERTIFICATE]
    ctx = dataclasses.replace(
        context(),
        standards={
            **context().standards,
            "weights": dataclasses.replace(context().standards["weights"], values=tuple(values)),
        },
    )
    starred = {s.id: s for s in NawiCalibrationCg18().plan(ctx)}["load-100"].action
    assert starred is not None and starred.text_vi == "Đặt 100 g (100 g*) ở giữa đĩa cân"
    empty = steps["zero"].action
    assert empty is not None and empty.kind == "remove-load" and empty.params == {"load_g": 0.0}


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            {"loads_g": [0.3, 50.0, 100.0, 150.0, 200.0]},
            "loads_g: the weight set W-E2 cannot make 0.3 g from its certified pieces (1, 2, 5, 10, 20, 50, 100, "
            "200 g); choose another loads_g or another weight set",
        ),
        ({"eccentricity_load_g": 73.3}, "eccentricity_load_g: the weight set W-E2 cannot make 73.3 g"),
        ({"repeat_load_g": 411.0}, "repeat_load_g: the weight set W-E2 cannot make 411 g"),  # the set is 410 g
    ],
)
def test_a_load_the_set_cannot_make_is_refused_at_planning(parameters: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as refused:
        NawiCalibrationCg18().plan(context(**parameters))
    assert message in str(refused.value)


def test_the_engine_refuses_a_run_with_a_load_the_set_cannot_make(registry: Engine, tmp_path: Path) -> None:
    engine = RunEngine(registry, SQLiteReadingStore(tmp_path / "readings.db"), actor="lan", today=lambda: TODAY)
    with pytest.raises(RunRefused, match=r"nawi-calibration-cg18: loads_g: the weight set W-E2 cannot make 0\.3 g"):
        engine.create(
            NawiCalibrationCg18(),
            instrument="B912345678",
            technician="lan",
            standards={"weights": "W-E2", "environment": "ENV-1"},
            parameters={**PARAMS, "loads_g": [0.3, 50.0, 100.0, 150.0, 200.0]},
        )
