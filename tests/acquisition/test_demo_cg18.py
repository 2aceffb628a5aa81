"""The cg-18 demo scenario runs to completion through the shared demo fixture (what `calibrate --demo` uses).

The demo weight set is made of separate E2 pieces; by hand (fewest pieces, the unstarred piece of a pair first) the
demo's loads are 50 g = 50 g, 100 g = 100 g, 150 g = 100 g + 50 g, 200 g = 200 g, 220 g = 200 g + 20 g and the
70 g eccentricity load = 50 g + 20 g. The demo operator places the sum of the certified conventional masses of the
pieces each action names, so the reference of each load is that sum (``mass`` below), and with the +2 ppm
sensitivity error E = 2e-6 · mass within a few d.

The demo balance has, at the back right, an eccentricity error ε with ε · 70 g = 3 d (d = 0.1 mg). By hand, as in
test_nawi_cg18: the demo operator puts the 70 g load (conventional mass m_c = 50.00004 g + 19.99997 g = 70.00001 g)
where each action says; the true back-right and centre indications differ by ε · m_c = 3 d · m_c / 70 g (3 d within
1e-10 g, so rounding both to d shifts them alike) and their noise and settling remnants differ by less than d, so
the back-right difference ΔI is 2 d, 3 d or 4 d and the others are −d, 0 or +d: |ΔI_ecc|max = ε · m_c within d.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from lab.nawi_cg18 import CERTIFIED, ECCENTRICITY, SENSITIVITY, true_mass
from tests.acquisition.conftest import DemoRun

D = 0.0001  # readability of the demo balance (g)
#: the pieces of the demo set making each load, by hand (see the module docstring)
PIECES = {
    50.0: ["50 g"],
    70.0: ["50 g", "20 g"],
    100.0: ["100 g"],
    150.0: ["100 g", "50 g"],
    200.0: ["200 g"],
    220.0: ["200 g", "20 g"],
}
#: OIML R111-1:2004 Table 1, class E2 MPE (g) by nominal (g)
E2_MPE = {200.0: 0.0003, 100.0: 0.00016, 50.0: 0.0001, 20.0: 0.00008, 10.0: 0.00006, 5.0: 0.00005, 2.0: 0.00004,
          1.0: 0.00003}  # fmt: skip


def mass(load: float) -> float:
    """Conventional mass (g) of the pieces making ``load``, from the demo certificate."""
    return math.fsum(CERTIFIED[label][1] for label in PIECES[load])


def test_the_demo_set_is_an_e2_set_of_pieces() -> None:
    # every piece within its E2 MPE, with U <= MPE/3 (R111-1 5.2); the usual 1-2-2-5 decades from 1 g to 200 g
    assert sorted(n for n, _, _ in CERTIFIED.values()) == [1.0, 2.0, 2.0, 5.0, 10.0, 20.0, 20.0, 50.0, 100.0, 200.0]
    for label, (nominal, conventional, u) in CERTIFIED.items():
        assert abs(conventional - nominal) <= E2_MPE[nominal], label
        assert u <= E2_MPE[nominal] / 3 * (1 + 1e-12), label
    # true_mass (what the CLI test's operator places for a load) is the hand-composed load's mass
    for load in PIECES:
        assert true_mass(load) == pytest.approx(mass(load), abs=1e-12)
    assert true_mass(0.0) == 0.0


def test_cg18_demo_finds_the_simulated_sensitivity_and_eccentricity_errors(demo_run: Callable[..., DemoRun]) -> None:
    run = demo_run("nawi-calibration-cg18")
    assert run.outcome.state == "completed", run.outcome.message
    errors = [r for r in run.outcome.results if r.quantity == "error of indication"]
    assert [r.point for r in errors] == [50.0, 100.0, 150.0, 200.0, 220.0]
    for r in errors:
        assert r.point is not None
        assert r.value == pytest.approx(SENSITIVITY * mass(r.point), abs=1.5e-4)
        rows = {row["input"]: row for row in r.budget["rows"]}
        # every load carries the eccentricity term (cg-18 7.1.1) and the reference weights' buoyancy and drift
        # (7.1.2): the demo measures the air density and its set has a previous certificate; the demo balance is
        # adjusted first, so the air density since an earlier adjustment is zero, saying why
        for name in ("dI_ecc", "dm_B", "dm_D", "m_c"):
            assert rows[name]["u"] > 0, (r.point, name)
        assert rows["dm_Ba"]["u"] == 0 and "adjusted immediately before" in rows["dm_Ba"]["note"]
        assert "measured" in rows["dm_B"]["source"]
        assert "-PREV" in rows["dm_D"]["source"]  # the change since the set's previous certificate
    ecc = next(r for r in run.outcome.results if r.quantity == "eccentricity |ΔI_ecc|max")
    assert list(ECCENTRICITY) == ["back-right"]
    expected = ECCENTRICITY["back-right"] * mass(70.0)  # 3 d, the demo's eccentricity at 70 g
    assert expected == pytest.approx(3 * D, abs=1e-10)
    assert ecc.point == 70.0 and ecc.value == pytest.approx(expected, abs=1.0001 * D)
    # ΔI in the procedure's order: front left, back left, back right, front right
    deltas = [float(x) for x in ecc.note.removeprefix("differences: ").split(", ")]
    assert len(deltas) == 4 and deltas[2] == pytest.approx(expected, abs=1.0001 * D)
    assert all(abs(x) <= 1.0001 * D for i, x in enumerate(deltas) if i != 2)
    assert run.outcome.readings == run.engine.store.count(run_id=run.outcome.run_id) > 0
