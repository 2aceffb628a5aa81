"""Steps that belong together resume as one unit (issue 14): acquisition.procedures.base.resume_point."""

from __future__ import annotations

from acquisition.procedures.base import Step, resume_point


def _steps() -> list[Step]:
    def step(name: str, group: str = "") -> Step:
        return Step(name, "meter", name, group=group)

    return [
        step("env"),
        step("q1-meter-start", "q1"),
        step("q1-run", "q1"),
        step("q1-meter-end", "q1"),
        step("q2-meter-start", "q2"),
        step("q2-run", "q2"),
        step("q2-meter-end", "q2"),
        step("env-end"),
    ]


def test_an_interrupted_group_starts_again_from_its_first_step() -> None:
    done = {"env": {}, "q1-meter-start": {}, "q1-run": {}, "q1-meter-end": {}, "q2-meter-start": {}}
    assert resume_point(_steps(), done) == {"q2-meter-start"}  # q2 was interrupted after its reading before


def test_complete_groups_and_ungrouped_steps_are_kept() -> None:
    assert resume_point(_steps(), {"env": {}, "q1-meter-start": {}, "q1-run": {}, "q1-meter-end": {}}) == set()
    assert resume_point(_steps(), {}) == set()
    every = {s.id: {} for s in _steps()}
    assert resume_point(_steps(), every) == set()


def test_an_r111_abba_cycle_is_one_group() -> None:
    """R111-1:2004 C.4.3: a cycle's drift cancellation assumes its four readings follow one another."""
    from acquisition.procedures.weights_r111 import WeightCalibrationR111
    from tests.acquisition.test_weights_r111 import context as r111_context

    steps = WeightCalibrationR111().plan(r111_context({}))
    cycles = {s.group for s in steps if s.id.startswith("cycle-")}
    assert cycles == {"cycle-1", "cycle-2", "cycle-3"}
    assert [s.id for s in steps if s.group == "cycle-2"] == ["cycle-2-A1", "cycle-2-B1", "cycle-2-B2", "cycle-2-A2"]


def test_r76_groups_follow_the_tests() -> None:
    """R76-1:2006: the weighing test's sequence, the eccentricity test, each repeatability weighing and each
    discrimination search resume as units."""
    from acquisition.procedures.nawi_r76 import NawiVerificationR76
    from tests.acquisition.test_nawi_r76 import context as r76_context

    steps = NawiVerificationR76().plan(r76_context())
    groups: dict[str, list[str]] = {}
    for s in steps:
        groups.setdefault(s.group, []).append(s.id)
    assert groups["weighing"][0] == "wt-zero" and all(i.startswith("wt-") for i in groups["weighing"])
    assert groups["eccentricity"][:2] == ["ecc-zero", "ecc-centre"] and len(groups["eccentricity"]) == 6
    assert groups["rep-1"] == ["rep-zero-1", "rep-1"]
    disc = [g for g in groups if g.startswith("disc-")]
    assert disc and all([i.rsplit("-", 1)[1] for i in groups[g]] == ["start", "down", "back", "plus"] for g in disc)
    assert set(groups[""]) == {"env-start", "unload", "env-end"}


def test_every_step_title_is_vietnamese_then_english() -> None:
    """Issue 14: `--lang en` swaps step titles as it swaps prompts; every title of every demo plan is "vi / en"."""
    from acquisition.channel import localised
    from acquisition.procedures import get_procedure, procedure_ids
    from tests.acquisition import (
        test_dmm,
        test_flow_calibration,
        test_nawi_cg18,
        test_nawi_r76,
        test_prepackage_r87,
        test_water_r49,
        test_weights_r111,
    )

    contexts = {
        "nawi-calibration-cg18": test_nawi_cg18.context(adjusted_before_calibration=True),
        "nawi-verification-r76": test_nawi_r76.context(),
        "weight-calibration-r111": test_weights_r111.context({}),
        "water-meter-verification-r49": test_water_r49._context(),
        "flow-meter-calibration": test_flow_calibration._context(),
        "dmm-calibration": test_dmm.context(),
        "prepackage-r87": test_prepackage_r87.context(),
    }
    for code, ctx in contexts.items():
        for step in get_procedure(code).plan(ctx):
            vi, sep, en = step.title.partition(" / ")
            assert sep and vi and en and " / " not in en, (code, step.title)
            assert localised(step.title, "en") == f"{en} / {vi}" and localised(step.title, "vi") == step.title
    assert set(contexts) == set(procedure_ids())
