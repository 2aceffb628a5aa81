"""Every simulator takes its common options as one SimOptions; the lab builds them from a spec."""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from drivers.address import SerialSettings
from simulators.base import SimOptions, SimulatedInstrument
from simulators.faults import Faults
from simulators.lab import DEFAULT_LAB, SIMULATORS, InstrumentSpec

#: serial numbers each simulator accepts (the Comet ones are up to 8 BCD digits)
SERIALS = {"environment": "20231005"}


def build(kind: str, options: SimOptions) -> SimulatedInstrument:
    module_name, _, class_name = SIMULATORS[kind].partition(":")
    sim = getattr(importlib.import_module(module_name), class_name)(options)
    assert isinstance(sim, SimulatedInstrument)
    return sim


@pytest.mark.parametrize("kind", sorted(SIMULATORS))
def test_every_simulator_takes_the_common_options(kind: str) -> None:
    faults = Faults()
    options = SimOptions("x-1", SERIALS.get(kind, "SN123"), port=0, seed=5, faults=faults)
    sim = build(kind, options)
    assert (sim.instrument_id, sim.serial_number, sim.options) == ("x-1", options.serial_number, options)
    assert sim.faults is faults  # the given injector, so a test can hold it


def test_without_a_fault_injector_each_simulator_gets_its_own() -> None:
    options = SimOptions("bal-1", "B1")
    a, b = build("mt-sics", options), build("mt-sics", options)
    assert a.faults is not b.faults


def test_options_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SimOptions("bal-1", "B1").seed = 3  # type: ignore[misc]


def test_the_lab_spec_becomes_the_options() -> None:
    spec = next(s for s in DEFAULT_LAB if s.id == "bal-1")  # mt-sics, line 9600 8N1, seed 1
    assert spec.options() == SimOptions(
        "bal-1", "B912345678", settings=SerialSettings(baud=9600, bytesize=8, parity="N"), port=0, seed=1
    )
    assert spec.build().options == spec.options()


def test_a_common_option_among_the_model_params_is_refused_clearly() -> None:
    spec = InstrumentSpec("bal-9", "mt-sics", "B9", params={"seed": 4})
    with pytest.raises(ValueError, match="bal-9 \\(mt-sics\\).*seed"):
        spec.build()
