"""`nawi-calibration-cg18` end to end on the simulated MT-SICS balance and COMET environment sensor.

The simulated balance has a sensitivity error of +2 ppm (set in the test) and the demo operator places each load's
true (conventional) mass from the weight certificate, so the expected error of indication at a load of conventional
mass m is E = 2e-6 · m, computed here independently of the procedure; the balance shows 0.1 mg steps, so each E is
expected within a few d of that.

The balance also has an eccentricity error at the back left of exactly −4 d on the 70 g eccentricity weight
(relative −4 d / m_c, set in the test), and the operator puts the weight where the action says. The eccentricity
differences ΔI_i = I_i − I_centre (cg-18 5.3) are then, by hand: the true indications at the back left and the
centre differ by exactly −4 d (a whole number of d, so rounding both to d shifts them alike), and each reading
also carries the settled noise (d/10, clipped at 3 sigma) and what is left of the settling transient (at most
d/4), so the two readings' offsets differ by less than d and the rounded difference is −4 d, −3 d or −5 d. At the
other positions the true indications equal the centre's, so ΔI_i is −d, 0 or +d. Hence |ΔI_ecc|max is the back
left's: 4 d within d.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from acquisition.engine import RunEngine
from acquisition.procedures.nawi_cg18 import NawiCalibrationCg18
from acquisition.prompts import AutomaticPrompter, OperatorAction
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
from simulators.environment import EnvironmentSimulator
from simulators.mtsics import MtSicsSimulator
from simulators.runner import SimulatorThread

TODAY = date(2026, 11, 21)
SENSITIVITY = 2e-6
D = 0.0001
# nominal g -> (conventional mass g, U g at k = 2): an E2-like set, made up for the test
CERTIFIED = {
    50.0: (50.00002, 0.00003),
    70.0: (70.00001, 0.00004),
    100.0: (99.99997, 0.00005),
    150.0: (150.00004, 0.00008),
    200.0: (200.00005, 0.0001),
    220.0: (219.99998, 0.00012),
}
PARAMS = {"loads_g": [50.0, 100.0, 150.0, 200.0, 220.0], "repeat_load_g": 100.0, "eccentricity_load_g": 70.0}
ECC_POSITION = "back-left"
ECC_RELATIVE = -4 * D / CERTIFIED[70.0][0]  # -4 d = -0.4 mg on the 70 g weight (see the module docstring)


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
        weights = ReferenceStandard(code="W-E2", name="Bộ quả cân E2", kind="weight set", field=MetrologyField.MASS)
        weights.certificates = [
            StandardCertificate(
                issuer="VMI",
                number="V-2026-001",
                calibrated_on=date(2026, 1, 10),
                issued_on=date(2026, 1, 12),
                due_on=date(2027, 1, 10),
                values=[{"point": n, "value": m, "unit": "g", "U": u, "k": 2} for n, (m, u) in CERTIFIED.items()],
            )
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
            )
        ]
        s.add_all([weights, env])
    return engine


def test_cg18_calibration_on_the_virtual_lab(registry: Engine, sim_thread: SimulatorThread, tmp_path: Path) -> None:
    balance = sim_thread.start(MtSicsSimulator("bal-1", "B912345678", settle_time=0.15, stability_timeout=0.3, seed=11))
    assert isinstance(balance, MtSicsSimulator)
    balance.control("set_sensitivity_error", relative=SENSITIVITY)
    balance.control("set_eccentricity", position=ECC_POSITION, relative=ECC_RELATIVE)
    env = sim_thread.start(EnvironmentSimulator("env-1", "20231005", seed=3, temperature=21.0, humidity=48.0))

    def act(action: OperatorAction) -> None:
        nominal = action.params["load_g"]
        position = action.params.get("position", "centre")
        balance.control("place", load_g=CERTIFIED[nominal][0] if nominal else 0.0, position=position)

    engine = RunEngine(registry, SQLiteReadingStore(tmp_path / "readings.db"), actor="lan", today=lambda: TODAY)
    procedure = NawiCalibrationCg18()
    run_id = engine.create(
        procedure,
        instrument="B912345678",
        technician="lan",
        standards={"weights": "W-E2", "environment": "ENV-1"},
        parameters=PARAMS,
    )
    with (
        open_instrument(f"{balance.url}?timeout=1", "mt-sics", "bal-1") as bal,
        open_instrument(env.url, "comet-t7510", "env-1") as thermo,
    ):
        outcome = engine.execute(procedure, run_id, {"balance": bal, "environment": thermo}, AutomaticPrompter(act))
    assert outcome.state == "completed", outcome.message

    errors = [r for r in outcome.results if r.quantity == "error of indication"]
    assert [r.point for r in errors] == PARAMS["loads_g"]
    for r in errors:
        assert r.point is not None
        expected = SENSITIVITY * CERTIFIED[r.point][0]  # 2 ppm of the conventional mass
        assert r.value == pytest.approx(expected, abs=1.5e-4), r  # rounding at zero and load, and noise
        # k = t_95.45(nu_eff): 2.00 for large nu_eff, up to t(4) = 2.87 when the 5-reading repeatability dominates
        assert r.U is not None and r.k is not None and 5e-5 < r.U < 5e-4 and 1.99 < r.k < 2.88
        inputs = {row["input"] for row in r.budget["rows"]}
        assert {"dI_digL", "dI_dig0", "m_c"} <= inputs  # rounding at load and zero, the weight's certificate
        # cg-18 7.1: u(E) is at least the two roundings (d/sqrt(12) each) and the weight's U/k combined
        floor = math.sqrt(2 * 0.0001**2 / 12 + (CERTIFIED[r.point][1] / 2) ** 2)
        assert r.budget["u"] >= floor * (1 - 1e-9)
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
        assert r.value == pytest.approx(SENSITIVITY * CERTIFIED[r.point][0], abs=1.5e-4), r
    # uncertainty in use (cg-18 8): the line U0 + alpha*m starts at the smallest load's U and never understates one
    u0 = next(r.value for r in outcome.results if r.quantity == "uncertainty in use U0")
    alpha = next(r.value for r in outcome.results if r.quantity == "uncertainty in use slope alpha")
    assert u0 == errors[0].U and alpha >= 0
    for r in errors:
        assert r.point is not None and r.U is not None
        assert u0 + alpha * r.point >= r.U * (1 - 1e-12)
    # eccentricity (cg-18 5.3): -4 d at the back left only, within d (module docstring)
    ecc = next(r for r in outcome.results if r.quantity == "eccentricity |ΔI_ecc|max")
    assert ecc.point == 70.0 and ecc.unit == "g"
    front_left, back_left, back_right, front_right = differences(ecc.note)
    assert back_left == pytest.approx(-4 * D, abs=1.0001 * D)
    for delta in (front_left, back_right, front_right):
        assert abs(delta) <= 1.0001 * D
    assert ecc.value == pytest.approx(abs(ECC_RELATIVE) * CERTIFIED[70.0][0], abs=1.0001 * D)
    assert ecc.value == pytest.approx(abs(back_left), abs=1e-12)
    rep = next(r for r in outcome.results if r.quantity == "repeatability standard deviation")
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
