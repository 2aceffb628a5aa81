"""Every D-SI unit string caltrace can write into a DCC is valid for PTB's own D-SI parser (the dsiUnits package),
an implementation independent of registry.units' table; a string it rejects is refused before a certificate is
written, with the parser's reason."""

from __future__ import annotations

import pytest

from certificates.dcc_xml import check_dsi, dsi_unit
from registry.units import dsi, unit_symbols


def test_every_unit_of_the_table_is_valid_d_si() -> None:
    written = []
    for symbol in unit_symbols():
        try:
            notation = dsi(symbol).notation
        except ValueError:
            continue  # no D-SI unit (bar, mmHg, ...): the writer converts first, tested in tests/registry
        written.append(check_dsi(notation))
    assert len(written) > 50  # the table has SI units with their prefixes: not an empty loop


@pytest.mark.parametrize(
    ("unit", "expected"),
    [  # written by hand from the D-SI guide's composition rules (prefix + unit, \tothe{n}, \per)
        ("m³/h", r"\metre\tothe{3}\per\hour"),
        ("L/min", r"\litre\per\minute"),
        ("mg", r"\milli\gram"),
        ("1", r"\one"),
    ],
)
def test_compound_units_the_procedures_write(unit: str, expected: str) -> None:
    assert dsi_unit(unit) == expected


@pytest.mark.parametrize("bad", [r"\gramm", r"\cubic\metre\per\hour", r"\volts", "kg", ""])
def test_a_string_the_ptb_parser_rejects_is_refused_with_its_reason(bad: str) -> None:
    with pytest.raises(ValueError, match="is not valid D-SI"):
        check_dsi(bad)
