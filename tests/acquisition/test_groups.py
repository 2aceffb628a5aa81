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
