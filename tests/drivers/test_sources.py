"""Which drivers source energy (issue 14.1): the list documented in docs/instruments/ and docs/runs.md."""

from __future__ import annotations

from drivers.base import Instrument
from drivers.registry import DRIVERS, driver_class


def test_only_the_calibrator_sources_energy_and_each_source_says_what_safe_means() -> None:
    sources = {model for model in DRIVERS if driver_class(model).sources_energy}
    assert sources == {"fluke-5520a"}  # DMMs, balances, thermo-hygrometers, flow meters, manual entry: none
    for model in DRIVERS:
        cls = driver_class(model)
        assert bool(cls.safe_state) == cls.sources_energy, model
        # a source must override make_safe; a measuring instrument keeps the no-op
        assert (cls.make_safe is not Instrument.make_safe) == cls.sources_energy, model
