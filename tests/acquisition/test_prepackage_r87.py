"""`prepackage-r87`: refusals by hand, and the demo lot end to end (accepted, then short on average: rejected).

Expected decisions are worked here from the demo's true masses (seeded, see lab/prepackage_r87.py) with the
rule tables quoted from OIML R87:2016 / Circular 21/2014/TT-BKHCN, not from the procedure:

* Table 1, tolerable deficiency T1 for Qn from 500 g to 1 000 g: 15 g (and 3 % of 500 g = 15 g for the row
  300–500 g, so both rows agree at 500 g). T2 = 2 T1 = 30 g. So Qn − T1 = 485 g, Qn − T2 = 470 g.
* Sampling plan for a lot of 100–500 prepackages: n = 50, λ = 0.379, c = 3 (at most 3 below Qn − T1).
* Mean test: x̄ >= Qn − λ·s; net = gross − average tare of the empty packagings.

The balance (d = 0.01 g) rounds each weighing, so the mean net found by the run is within 0.01 g of the true one
(half a digit on the gross mean and on the tare mean); the counts are exact because no true net lies within 0.1 g
of 485 g or 470 g (checked below).
"""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from acquisition.channel import AutomaticFrontEnd
from acquisition.engine import RunEngine, RunRefused
from acquisition.procedures import get_procedure, procedure_ids
from acquisition.procedures.base import InstrumentUnderTest, LotUnderTest, RunContext, StandardUsed, StepData
from acquisition.procedures.prepackage_r87 import PrepackageR87
from acquisition.store import SQLiteReadingStore
from drivers.registry import open_instrument
from lab.base import TECHNICIAN, DemoScenario, instrument, prepackage_lot, seed_common
from lab.prepackage_r87 import BALANCE, LOT, PrepackageR87Demo
from registry.db import make_engine, session_factory, session_scope, upgrade
from registry.models import Conformity, Customer, MetrologyField, PrepackageLot, Procedure, ProcedureKind, Run
from simulators.runner import SimulatorThread
from tests.acquisition.conftest import TODAY, DemoRun

QN = 500.0
T1 = 15.0  # R87 Table 1, 500 g
N, LAMBDA, C = 50, 0.379, 3  # R87 sampling plan, lot of 100–500
TARE_COUNT = 10  # the procedure's default tare sample


def lot(size: int = 500, nominal: float = QN, unit: str = "g") -> LotUnderTest:
    return LotUnderTest(1, "Công ty Demo", "Đường 500 g", "", "LOT-1", size, nominal, unit)


def context(registered: LotUnderTest | None = None, **parameters: Any) -> RunContext:
    return RunContext(
        run_id="t",
        parameters=parameters,
        lot=registered or lot(),
        standards={"balance": StandardUsed("balance", "BAL", "balance", 0.0, 2200.0, "g", "II", "C-1")},
    )


@pytest.mark.parametrize(
    ("size", "parameters", "message"),
    [
        (500, {"sample_size": 20}, "sample_size, lambda and c together"),
        (10, {"sample_size": 20, "lambda": 0.5, "c": 1}, "cannot be larger than the lot"),
        (500, {"tare_count": 1}, "tare_count must be a whole number >= 2"),
        (500, {"lot_size": 400}, "lot_size 400 disagrees with lot LOT-1's registered size 500"),
    ],
)
def test_plan_refuses_bad_parameters(size: int, parameters: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PrepackageR87().plan(context(lot(size), **parameters))


@pytest.mark.parametrize("parameters", [{}, {"nominal_g": 500.0}])
def test_a_lot_labelled_by_volume_is_refused(parameters: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"labelled by volume \(500 mL\): prepackage-r87 checks the quantity by mass"):
        PrepackageR87().plan(context(lot(nominal=500.0, unit="mL"), **parameters))


def test_nominal_quantity_and_lot_size_come_from_the_lot() -> None:
    # 0.5 kg is 500 g: the balance must reach 500 g; the registered 500 packages give R87's plan n = 50
    assert PrepackageR87().required_range(context(lot(nominal=0.5, unit="kg")))["balance"] == (0.0, 500.0, "g")
    assert sum(1 for s in PrepackageR87().plan(context(lot(500))) if s.id.startswith("gross-")) == N
    assert PrepackageR87().required_range(context(nominal_g=250.0))["balance"] == (0.0, 250.0, "g")  # override


def test_a_small_lot_is_weighed_whole_and_its_mean_must_reach_qn() -> None:
    """Lot of 20, Qn = 100 g (T1 = 4.5 g): below 100 the encoded plan (unverified, conservative) weighs all 20
    packages with λ = 0 and c = 0. Worked by hand through evaluate(): empty pan 0.00 g, ten empty packagings at
    5.00 g (average tare 5.00 g); gross 104.00 g ×10 and 105.60 g ×10 -> net 99.00 g and 100.60 g; x̄ = 99.80 g < Qn
    = 100 g: the mean test fails (λ·s = 0) and the lot is rejected; no package below Qn − T1 = 95.5 g."""
    ctx = context(lot(20, nominal=100.0))
    proc = PrepackageR87()
    steps = proc.plan(ctx)
    assert sum(1 for s in steps if s.id.startswith("gross-")) == 20
    values = {"zero": 0.0, "unload": 0.0}
    values |= {f"tare-{i}": 5.0 for i in range(1, TARE_COUNT + 1)}
    values |= {f"gross-{j}": 104.0 if j <= 10 else 105.6 for j in range(1, 21)}
    data = {s.id: StepData(s, (values[s.id],), "g") for s in steps}
    got = {r.quantity: r for r in proc.evaluate(ctx, data)}
    mean = got["mean net quantity"]
    assert mean.value == pytest.approx(99.8, abs=1e-9) and mean.mpe == 0.0 and mean.conformity == "fail"
    assert "unverified" in mean.note and "n = 20, λ = 0, c = 0" in mean.note
    assert got["T1-defective prepackages"].value == 0 and got["T1-defective prepackages"].mpe == 0
    decision = got["lot decision"]
    assert decision.conformity == "fail" and "unverified" in decision.note
    assert (decision.evidence["n"], decision.evidence["lambda"], decision.evidence["c"]) == (20, 0.0, 0)
    assert decision.evidence["sampling_plan_note"].startswith("unverified")


def test_an_instrument_context_is_refused() -> None:
    inst = InstrumentUnderTest(1, "Cân", "MT", "XS204", "B1", 0.0, 220.0, "g", 0.0001, "g", "I")
    with pytest.raises(ValueError, match="tests an instrument, not a prepackage lot"):
        PrepackageR87().plan(RunContext("t", {}, inst, {}))


def test_plan_weighs_the_tares_then_the_sample() -> None:
    steps = PrepackageR87().plan(context())
    assert len(steps) == 1 + TARE_COUNT + N + 1
    places = [s.action.params for s in steps if s.action is not None and s.action.kind == "place-package"]
    assert places[0] == {"kind": "tare", "index": 1} and places[TARE_COUNT] == {"kind": "gross", "index": 1}
    assert places[-1] == {"kind": "gross", "index": N}
    given = PrepackageR87().plan(context(lot(60), sample_size=13, **{"lambda": 0.8}, c=1))
    assert sum(1 for s in given if s.id.startswith("gross-")) == 13


def expected(demo: DemoScenario) -> dict[str, Any]:
    """The lot's figures worked by hand from the true masses."""
    assert isinstance(demo, PrepackageR87Demo)
    truth = demo.truth()
    tare = statistics.fmean(truth.tares[:TARE_COUNT])
    nets = [truth.gross(j) - tare for j in range(1, N + 1)]
    assert all(abs(x - (QN - T1)) > 0.1 and abs(x - (QN - 2 * T1)) > 0.1 for x in nets)  # counts are exact
    mean, s = statistics.fmean(nets), statistics.stdev(nets)
    below_t1 = sum(1 for x in nets if x < QN - T1)
    below_t2 = sum(1 for x in nets if x < QN - 2 * T1)
    accepted = mean >= QN - LAMBDA * s and below_t1 <= C and below_t2 == 0
    return {"tare": tare, "mean": mean, "s": s, "t1": below_t1, "t2": below_t2, "accepted": accepted}


def rows(run: DemoRun) -> dict[str, Any]:
    got = {r.quantity: r for r in run.outcome.results}
    assert list(got) == ["mean net quantity", "T1-defective prepackages", "T2-defective prepackages", "lot decision"]
    return got


def test_r87_demo_lot_is_accepted(demo_run: Callable[..., DemoRun]) -> None:
    run = demo_run("prepackage-r87")
    assert run.outcome.state == "completed", run.outcome.message
    want = expected(run.demo)
    # the scenario as designed: two packets below Qn − T1 (allowed: 3), none below Qn − T2, mean well above
    assert want["t1"] == 2 and want["t2"] == 0 and want["accepted"]
    got = rows(run)
    assert got["lot decision"].evidence["average_tare_g"] == pytest.approx(want["tare"], abs=0.006)
    assert got["mean net quantity"].value == pytest.approx(want["mean"], abs=0.011)
    assert got["mean net quantity"].conformity == "pass"
    assert got["mean net quantity"].mpe == pytest.approx(LAMBDA * want["s"], abs=0.01)
    assert got["T1-defective prepackages"].value == want["t1"] and got["T1-defective prepackages"].mpe == C
    assert got["T2-defective prepackages"].value == 0 and got["T2-defective prepackages"].conformity == "pass"
    decision = got["lot decision"]
    assert decision.conformity == "pass" and decision.value == 1.0
    assert decision.evidence["T1"] == T1 and decision.evidence["n"] == N
    assert decision.evidence["T1_defectives"] == [7, 23]  # the demo's short packets
    assert len(decision.evidence["net_g"]) == N
    assert decision.evidence["package_status"] == {"7": "T1-defective", "23": "T1-defective"}
    with session_factory(run.registry)() as s:
        stored = s.get(Run, run.outcome.run_id)
        assert stored is not None and stored.overall is Conformity.PASS
    assert run.outcome.readings == run.engine.store.count(run_id=run.outcome.run_id) >= 1 + TARE_COUNT + N + 1


def test_r87_demo_lot_short_on_average_is_rejected(demo_run: Callable[..., DemoRun]) -> None:
    def prepare(demo: DemoScenario) -> None:
        assert isinstance(demo, PrepackageR87Demo)
        demo.net_mean = 497.0  # 3 g short on average: x̄ < Qn − λ·s with s about 3 g

    run = demo_run("prepackage-r87", prepare=prepare)
    assert run.outcome.state == "completed", run.outcome.message
    want = expected(run.demo)
    assert not want["accepted"] and want["mean"] < QN - LAMBDA * want["s"] - 0.05
    got = rows(run)
    assert got["mean net quantity"].value == pytest.approx(want["mean"], abs=0.011)
    assert got["mean net quantity"].conformity == "fail"
    assert got["T1-defective prepackages"].value == want["t1"]
    assert got["lot decision"].conformity == "fail" and got["lot decision"].value == 0.0
    assert got["lot decision"].note.startswith("lot rejected")
    with session_factory(run.registry)() as s:
        stored = s.get(Run, run.outcome.run_id)
        assert stored is not None and stored.overall is Conformity.FAIL


# --- the engine: a lot procedure is given a lot, an instrument procedure an instrument ---------------------------


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[RunEngine]:
    """A registry with the demo data (the sugar lot LOT-2026-0501, the balance) plus a cg-18 balance B-1 and a
    second packer whose lot number LOT-X is also used by the demo packer."""
    registry = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    upgrade(registry)
    with session_scope(registry, "test") as s:
        seed_common(s, TODAY, procedure_ids())
        PrepackageR87Demo().seed(s, TODAY)
        instrument(s, "B-1", kind="Cân phân tích", field=MetrologyField.MASS, range_max=220.0, range_unit="g")
        prepackage_lot(s, "LOT-X", product="Muối i-ốt 1 kg", lot_size=300, nominal_quantity=1.0, nominal_unit="kg")
        other = Customer(name="Công ty TNHH Nước mắm Phú Quốc", tax_code="1700000001")
        s.add(other)
        s.add(
            PrepackageLot(
                packer=other,
                product="Nước mắm 500 mL",
                lot_number="LOT-X",
                lot_size=200,
                nominal_quantity=500.0,
                nominal_unit="mL",
            )
        )
    with SQLiteReadingStore(tmp_path / "readings.db") as store:
        yield RunEngine(registry, store, actor=TECHNICIAN, today=lambda: TODAY)


def _create(engine: RunEngine, **key: str) -> str:
    return engine.create(PrepackageR87(), technician=TECHNICIAN, standards={"balance": BALANCE}, **key)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            {"lot": "B-1"},
            r"prepackage-r87 tests a lot; 'B-1' is not a registered lot \(it is the serial number of measuring "
            r"instrument #\d+, a Cân phân tích\); register it with `caltrace registry import lots",
        ),
        ({"lot": "LOT-NOPE"}, "'LOT-NOPE' is not a registered lot; register it with `caltrace registry import lots"),
        ({"instrument": "B-1"}, "prepackage-r87 tests a prepackage lot, not an instrument"),
        ({}, "prepackage-r87 tests a prepackage lot: give its lot number"),
        (
            {"lot": "LOT-X"},
            r"2 lots have lot number 'LOT-X' \(id \d+: Công ty CP Thực phẩm Demo, Muối i-ốt 1 kg; id \d+: "
            r"Công ty TNHH Nước mắm Phú Quốc, Nước mắm 500 mL\): give the registry id",
        ),
    ],
)
def test_the_engine_refuses_a_key_of_the_wrong_kind(seeded: RunEngine, key: dict[str, str], message: str) -> None:
    with pytest.raises(RunRefused, match=message):
        _create(seeded, **key)
    with session_factory(seeded.registry)() as s:
        assert s.scalar(select(func.count()).select_from(Run)) == 0


def test_the_engine_refuses_a_lot_for_an_instrument_procedure(seeded: RunEngine) -> None:
    with pytest.raises(RunRefused, match="nawi-calibration-cg18 tests an instrument, not a prepackage lot"):
        seeded.create(
            get_procedure("nawi-calibration-cg18"), lot=LOT, technician=TECHNICIAN, standards={"weights": "W"}
        )


def test_a_lot_by_id_and_by_volume(seeded: RunEngine) -> None:
    with session_factory(seeded.registry)() as s:
        sugar = s.scalars(select(PrepackageLot).where(PrepackageLot.lot_number == LOT)).one()
        sauce = s.scalars(select(PrepackageLot).where(PrepackageLot.nominal_unit == "mL")).one()
    run_id = _create(seeded, lot=str(sugar.id))
    with session_factory(seeded.registry)() as s:
        run = s.get(Run, run_id)
        assert run is not None and (run.lot_id, run.instrument_id) == (sugar.id, None)
        assert run.checkpoint["parameters"].get("lot_size") is None  # the size comes from the lot, not a copy
    with pytest.raises(RunRefused, match=r"labelled by volume \(500 mL\)"):
        _create(seeded, lot=str(sauce.id))


def test_a_run_created_under_version_1_still_resumes(
    seeded: RunEngine, sim_thread: SimulatorThread, tmp_path: Path
) -> None:
    """Runs created before the lot table follow procedure version 1 (its row keeps the old digest); the engine
    resumes them with this caltrace's definition, as it resumes any run of the procedure's code."""
    run_id = _create(seeded, lot=LOT)
    with session_scope(seeded.registry, "test") as s:
        old = Procedure(
            code="prepackage-r87",
            version="1",
            kind=ProcedureKind.TEST,
            field=MetrologyField.MASS,
            title="R87",
            method_reference="OIML R87:2016",
            definition_sha256="0" * 64,
        )
        s.add(old)
        s.flush()
        run = s.get(Run, run_id)
        assert run is not None
        run.procedure_id = old.id
        run.checkpoint = {**run.checkpoint, "parameters": {**run.checkpoint["parameters"], "lot_size": 500}}
    demo = PrepackageR87Demo()
    addresses = demo.start(sim_thread)
    with contextlib.ExitStack() as stack:
        connected = {
            role: stack.enter_context(open_instrument(url, model, role)) for role, (url, model) in addresses.items()
        }
        outcome = seeded.execute(PrepackageR87(), run_id, connected, AutomaticFrontEnd(demo.act))
    assert outcome.state == "completed", outcome.message
    assert PrepackageR87.definition.version == "2"
