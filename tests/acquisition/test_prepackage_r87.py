"""`prepackage-r87`: refusals by hand, and the demo lot end to end (accepted, then short on average: rejected).

Expected decisions are worked here from the demo's true masses (seeded, see api/demo/prepackage_r87.py) with the
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

import statistics
from collections.abc import Callable
from typing import Any

import pytest

from acquisition.procedures.base import InstrumentUnderTest, RunContext, StandardUsed
from acquisition.procedures.prepackage_r87 import PrepackageR87
from api.demo.base import DemoScenario
from api.demo.prepackage_r87 import PrepackageR87Demo
from registry.db import session_factory
from registry.models import Conformity, Run
from tests.acquisition.conftest import DemoRun

QN = 500.0
T1 = 15.0  # R87 Table 1, 500 g
N, LAMBDA, C = 50, 0.379, 3  # R87 sampling plan, lot of 100–500
TARE_COUNT = 10  # the procedure's default tare sample


def context(**parameters: Any) -> RunContext:
    return RunContext(
        run_id="t",
        parameters=parameters,
        instrument=InstrumentUnderTest(
            1, "Lô hàng đóng gói sẵn", "Demo", "Đường 500 g", "LOT-1", 0.0, QN, "g", None, "", ""
        ),
        standards={"balance": StandardUsed("balance", "BAL", "balance", 0.0, 2200.0, "g", "II", "C-1")},
    )


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({}, "lot_size is required"),
        ({"lot_size": 80}, "sample_size, lambda and c"),  # no encoded plan below 100
        ({"lot_size": 500, "sample_size": 20}, "sample_size, lambda and c together"),
        ({"lot_size": 10, "sample_size": 20, "lambda": 0.5, "c": 1}, "cannot be larger than the lot"),
        ({"lot_size": 500, "tare_count": 1}, "tare_count must be a whole number >= 2"),
    ],
)
def test_plan_refuses_bad_parameters(parameters: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PrepackageR87().plan(context(**parameters))


def test_plan_weighs_the_tares_then_the_sample() -> None:
    steps = PrepackageR87().plan(context(lot_size=500))
    assert len(steps) == 1 + TARE_COUNT + N + 1
    places = [s.action.params for s in steps if s.action is not None and s.action.kind == "place-package"]
    assert places[0] == {"kind": "tare", "index": 1} and places[TARE_COUNT] == {"kind": "gross", "index": 1}
    assert places[-1] == {"kind": "gross", "index": N}
    given = PrepackageR87().plan(context(lot_size=60, sample_size=13, **{"lambda": 0.8}, c=1))
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
    assert got["lot decision"].budget["average_tare_g"] == pytest.approx(want["tare"], abs=0.006)
    assert got["mean net quantity"].value == pytest.approx(want["mean"], abs=0.011)
    assert got["mean net quantity"].conformity == "pass"
    assert got["mean net quantity"].mpe == pytest.approx(LAMBDA * want["s"], abs=0.01)
    assert got["T1-defective prepackages"].value == want["t1"] and got["T1-defective prepackages"].mpe == C
    assert got["T2-defective prepackages"].value == 0 and got["T2-defective prepackages"].conformity == "pass"
    decision = got["lot decision"]
    assert decision.conformity == "pass" and decision.value == 1.0
    assert decision.budget["T1"] == T1 and decision.budget["n"] == N
    assert decision.budget["T1_defectives"] == [7, 23]  # the demo's short packets
    assert len(decision.budget["net_g"]) == N
    assert decision.budget["package_status"] == {"7": "T1-defective", "23": "T1-defective"}
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
