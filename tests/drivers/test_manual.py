"""Manual entry: what a technician types becomes the same Reading a driver produces."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import DeviceError, ProtocolError
from drivers.manual import ManualEntry, parse_entry
from drivers.reading import ReadingStatus
from drivers.registry import open_instrument


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("21.4 °C", 21.4, "°C"),
        ("1013,2 hPa", 1013.2, "hPa"),
        ("-0.5g", -0.5, "g"),
        ("55", 55.0, "%RH"),
        (" 1e3 mg ", 1000.0, "mg"),
    ],
)
def test_entries(text: str, value: float, unit: str) -> None:
    assert parse_entry(text, default_unit="%RH") == (value, unit)


@pytest.mark.parametrize("text", ["", "abc", "12.3.4 g", "°C 21", "nan °C"])
def test_bad_entries_say_what_is_expected(text: str) -> None:
    with pytest.raises(ProtocolError, match="type e.g."):
        parse_entry(text, default_unit="°C")


def test_manual_instrument_from_address_asks_again_after_a_typo() -> None:
    inst = open_instrument("manual:?unit=°C&quantity=temperature", "manual", "thermo-7")
    assert isinstance(inst, ManualEntry)
    answers = iter(["twenty", "21,5"])
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    inst.ask = ask
    (reading,) = inst.poll()
    assert (reading.value, reading.unit, reading.status, reading.quantity, reading.instrument_id) == (
        21.5,
        "°C",
        ReadingStatus.STABLE,
        "temperature",
        "thermo-7",
    )
    assert "cannot read 'twenty'" in prompts[1]


def test_manual_without_a_person_is_a_clear_error() -> None:
    with pytest.raises(DeviceError, match="nobody to ask"):
        ManualEntry("m1", unit="g").poll()


@given(st.text(max_size=40))
def test_any_entry_parses_or_raises_protocol_error(text: str) -> None:
    try:
        parse_entry(text, default_unit="g")
    except ProtocolError:
        pass
