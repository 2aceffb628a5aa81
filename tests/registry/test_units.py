"""The shared units module: parsing what labs write, conversion factors worked from the SI definitions, and D-SI
notation checked against the D-SI unit list and real DCCs.

Sources of the D-SI strings (the same letters as ``registry.units.DSI_SOURCES``):
  [G] D-SI unit list, PTB xsd-d-si wiki ``wiki/doc/UnitSystem.md`` (tables "SI base units", "D-SI additional platinum
      units", "SI derived units"; note a: the kilogram takes no prefix)
  [R] PTB dsiUnits README, "How D-SI units are composed": prefix + unit, ``\\tothe{n}``, ``\\per``
  [T] shared/dcc-examples/dcc_gp_temperature_typical_v12.xml   [H] shared/dcc-examples/dcc_gp_humidity_v1.0.xml
  [S] shared/dcc-examples/siliziumkugel_2_4_0.xml
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from registry.units import DSI_SOURCES, Unit, convert, dsi, parse_unit

CLOSE = Decimal("1e-20")  # Decimal division rounds at 28 significant digits


def close(a: Decimal | None, b: Decimal) -> bool:
    return a is not None and abs(a - b) <= CLOSE * max(Decimal(1), abs(b))


# --- parsing -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "symbol", "dimension"),
    [
        ("g", "g", "mass"),
        ("kg", "kg", "mass"),
        ("Kg", "kg", "mass"),
        ("mg", "mg", "mass"),
        ("L", "L", "volume"),
        ("lít", "L", "volume"),
        ("ml", "mL", "volume"),
        ("m3", "m³", "volume"),
        ("m³", "m³", "volume"),
        ("m3/h", "m³/h", "volume/time"),
        ("m3/giờ", "m³/h", "volume/time"),
        ("L/min", "L/min", "volume/time"),
        ("oC", "°C", "temperature"),
        ("℃", "°C", "temperature"),
        ("%RH", "%RH", "relative humidity"),
        ("%rh", "%RH", "relative humidity"),
        ("%", "%", "percent"),
        ("hPa", "hPa", "pressure"),
        ("V", "V", "voltage"),
        ("mV", "mV", "voltage"),
        ("A", "A", "current"),
        ("Ω", "Ω", "resistance"),
        ("ohm", "Ω", "resistance"),
        ("kΩ", "kΩ", "resistance"),
        ("uA", "µA", "current"),
    ],
)
def test_a_unit_is_parsed_as_a_lab_writes_it(text: str, symbol: str, dimension: str) -> None:
    unit = parse_unit(text)
    assert (unit.symbol, unit.dimension) == (symbol, dimension)


@pytest.mark.parametrize("text", ["kg/m3", "furlong", "N·m", "g/L"])
def test_an_unknown_unit_or_compound_is_refused_with_its_text(text: str) -> None:
    with pytest.raises(ValueError, match="unknown unit") as caught:
        parse_unit(text)
    assert repr(text) in str(caught.value)


# --- conversion factors, worked from the definitions -------------------------------------------------------------


def test_volume_flow_converts_by_the_definitions_of_litre_and_hour() -> None:
    # 1 m³ = (10 dm)³ = 1000 dm³ = 1000 L (SI Brochure 9th ed., Table 8: 1 L = 1 dm³); 1 h = 3600 s, 1 min = 60 s
    assert close(convert(Decimal(1), "m³/h", "L/s", difference=False), Decimal(1000) / Decimal(3600))
    assert close(convert(Decimal(1), "m³/h", "L/min", difference=False), Decimal(1000) / Decimal(60))
    assert close(convert(Decimal(60), "L/min", "m³/h", difference=False), Decimal("3.6"))  # 60 L/min = 3600 L/h


def test_volume_units() -> None:
    assert convert(Decimal(1), "cm³", "mL", difference=False) == Decimal(1)  # (0.01 m)³ = 1e-6 m³ = 1e-3 L
    assert convert(Decimal(1), "dm³", "L", difference=False) == Decimal(1)
    assert convert(Decimal(1), "m³", "L", difference=False) == Decimal(1000)
    assert convert(Decimal(250), "mL", "L", difference=False) == Decimal("0.25")


def test_mass_units() -> None:
    assert convert(Decimal("0.1"), "mg", "g", difference=True) == Decimal("0.0001")  # 1 mg = 1e-3 g
    assert convert(Decimal(1), "kg", "g", difference=False) == Decimal(1000)
    assert convert(Decimal(1), "t", "kg", difference=False) == Decimal(1000)  # 1 t = 1 Mg (SI Brochure Table 8)
    assert convert(Decimal(1), "µg", "mg", difference=False) == Decimal("0.001")


def test_pressure_units_from_their_definitions() -> None:
    g_n = Decimal("9.80665")  # standard acceleration of gravity, m/s² (3rd CGPM 1901)
    assert convert(Decimal(1), "hPa", "Pa", difference=False) == Decimal(100)
    assert convert(Decimal(1), "mbar", "hPa", difference=False) == Decimal(1)
    assert convert(Decimal(1), "bar", "kPa", difference=False) == Decimal(100)  # 1 bar = 1e5 Pa
    assert convert(Decimal(1), "atm", "kPa", difference=False) == Decimal("101.325")  # 10th CGPM 1954, Res. 4
    # 1 kgf/cm² = 1 kg x g_n / (0.01 m)²
    assert convert(Decimal(1), "kgf/cm²", "Pa", difference=False) == g_n / Decimal("0.0001")
    # 1 mmHg (conventional) = 13.5951 g/cm³ = 13595.1 kg/m³ of mercury x g_n x 0.001 m
    assert convert(Decimal(1), "mmHg", "Pa", difference=False) == Decimal("13595.1") * g_n * Decimal("0.001")
    # 1 mmH₂O = 1000 kg/m³ x g_n x 0.001 m
    assert convert(Decimal(1), "mmH₂O", "Pa", difference=False) == Decimal(1000) * g_n * Decimal("0.001")
    # 1 psi = 1 lbf / in² = 0.453 592 37 kg x g_n / (0.0254 m)²  (international pound and inch, 1959)
    psi = Decimal("0.45359237") * g_n / Decimal("0.0254") ** 2
    assert close(convert(Decimal(1), "psi", "Pa", difference=False), psi)


def test_electrical_units() -> None:
    assert convert(Decimal(1), "mV", "V", difference=False) == Decimal("0.001")
    assert convert(Decimal(1), "kΩ", "Ω", difference=False) == Decimal(1000)
    assert convert(Decimal(1), "MΩ", "kΩ", difference=False) == Decimal(1000)
    assert convert(Decimal(1), "mA", "µA", difference=False) == Decimal(1000)
    assert convert(Decimal(1), "kWh", "Wh", difference=False) == Decimal(1000)


def test_temperature_differences_convert_by_scale_and_readings_not_at_all() -> None:
    assert convert(Decimal("0.1"), "°C", "K", difference=True) == Decimal("0.1")  # 1 K = 1 °C as an interval
    assert convert(Decimal(9), "°F", "K", difference=True) == Decimal(5)  # 1 °F = 5/9 K as an interval
    assert convert(Decimal(20), "°C", "K", difference=False) is None  # 20 °C = 293.15 K: an offset, refused


def test_different_dimensions_do_not_convert() -> None:
    assert convert(Decimal(1), "g", "L", difference=False) is None
    assert convert(Decimal(1), "%", "%RH", difference=False) is None
    assert convert(Decimal(1), "m³/h", "m³", difference=False) is None
    assert convert(Decimal(1), "furlong", "m", difference=False) is None


# --- D-SI --------------------------------------------------------------------------------------------------------

#: unit as a lab writes it -> D-SI, and where that string (or its parts) is found
DSI_CASES = [
    ("kg", r"\kilogram", "[G] base unit; [S] line 479 exactly"),
    ("g", r"\gram", "[G] derived units"),
    ("mg", r"\milli\gram", "[G] gram takes prefixes (note a: the kilogram does not), [R] prefix + unit"),
    ("m", r"\metre", "[G] base unit; [T] line 293 exactly"),
    ("m³", r"\metre\tothe{3}", r"[S] line 528 \centi\metre\tothe{3} without its prefix"),
    ("cm³", r"\centi\metre\tothe{3}", "[S] line 528 exactly"),
    ("m3/h", r"\metre\tothe{3}\per\hour", r"[R] \metre\per\second with [G] \hour"),
    ("s", r"\second", "[G]; [H] line 564 exactly"),
    ("min", r"\minute", "[G]; [H] line 568 exactly"),
    ("h", r"\hour", "[G] additional platinum units"),
    ("°C", r"\degreecelsius", "[T] line 383, [H] line 305 exactly"),
    ("K", r"\kelvin", "[G]; [T] line 186 exactly"),
    ("%RH", r"\percent", "[H] line 273: the relative-humidity range, exactly"),
    ("hPa", r"\hecto\pascal", "[S] line 410 exactly"),
    ("kPa", r"\kilo\pascal", r"[G] \pascal, [R] \kilo"),
    ("V", r"\volt", "[G] derived units"),
    ("mV", r"\milli\volt", r"[G] \volt, [R] \milli"),
    ("A", r"\ampere", "[G] base unit"),
    ("Ω", r"\ohm", "[G] derived units"),
    ("kΩ", r"\kilo\ohm", r"[G] \ohm, [R] \kilo"),
    ("Hz", r"\hertz", "[G] derived units"),
    ("N", r"\newton", "[G] derived units"),
    ("W", r"\watt", "[G] derived units"),
    ("kWh", r"\kilo\watt\hour", "[G] watt and hour, a product as [H] line 583 writes one"),
]


@pytest.mark.parametrize(("text", "expected", "source"), DSI_CASES)
def test_dsi_notation_matches_the_cited_source(text: str, expected: str, source: str) -> None:
    found = dsi(text)
    assert found.notation == expected, source
    assert found.verified, f"{expected}: every token has a source ({source})"


@pytest.mark.parametrize(
    ("text", "expected", "unverified"),
    [
        ("L", r"\litre", (r"\litre",)),
        ("mL", r"\milli\litre", (r"\litre",)),
        ("L/min", r"\litre\per\minute", (r"\litre",)),
        ("t", r"\tonne", (r"\tonne",)),
        ("µm", r"\micro\metre", (r"\micro",)),
        ("MΩ", r"\mega\ohm", (r"\mega",)),
    ],
)
def test_dsi_tokens_not_found_in_the_sources_are_reported_unverified(
    text: str, expected: str, unverified: tuple[str, ...]
) -> None:
    found = dsi(text)
    assert found.notation == expected
    assert found.unverified == unverified and not found.verified


def test_dsi_takes_a_parsed_unit_too() -> None:
    assert dsi(Unit("m³/h", "volume/time", Decimal(1000) / Decimal(3600))).notation == r"\metre\tothe{3}\per\hour"


@pytest.mark.parametrize("text", ["bar", "mbar", "mmHg", "atm", "psi", "kgf/cm2", "mmH2O", "°F", "oF"])
def test_units_without_a_dsi_unit_are_refused_with_what_to_do(text: str) -> None:
    with pytest.raises(ValueError, match="has no D-SI unit: express the value in pascal"):
        dsi(text)


def test_dsi_of_an_unknown_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown unit"):
        dsi("kg/m3")
    with pytest.raises(ValueError, match="unknown unit"):
        dsi(Unit("furlong", "length", Decimal("201.168")))


def _dcc_examples() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "dcc-examples"
        if candidate.is_dir():
            return candidate
    return None


@pytest.mark.skipif(_dcc_examples() is None, reason="the shared DCC examples are not on this machine")
@pytest.mark.parametrize(
    ("file", "line", "unit"),
    [
        ("siliziumkugel_2_4_0.xml", 479, r"\kilogram"),
        ("siliziumkugel_2_4_0.xml", 528, r"\centi\metre\tothe{3}"),
        ("siliziumkugel_2_4_0.xml", 410, r"\hecto\pascal"),
        ("dcc_gp_temperature_typical_v12.xml", 293, r"\metre"),
        ("dcc_gp_temperature_typical_v12.xml", 186, r"\kelvin"),
        ("dcc_gp_temperature_typical_v12.xml", 383, r"\degreecelsius"),
        ("dcc_gp_humidity_v1.0.xml", 305, r"\degreecelsius"),
        ("dcc_gp_humidity_v1.0.xml", 273, r"\percent"),
        ("dcc_gp_humidity_v1.0.xml", 564, r"\second"),
        ("dcc_gp_humidity_v1.0.xml", 568, r"\minute"),
        ("dcc_gp_humidity_v1.0.xml", 583, r"\metre\second\tothe{-1}"),
    ],
)
def test_the_cited_dcc_lines_hold_those_units(file: str, line: int, unit: str) -> None:
    examples = _dcc_examples()
    assert examples is not None
    text = (examples / file).read_text(encoding="utf-8").splitlines()[line - 1]
    assert f">{unit}<" in text


def test_every_cited_token_is_one_dsi_uses() -> None:
    produced = {token for text, _expected, _source in DSI_CASES for token in dsi(text).notation.split("\\") if token}
    cited = {token.lstrip("\\") for token in DSI_SOURCES}
    # every token the verified cases produce is cited (``tothe{3}`` is the \tothe token with its argument)
    assert {t.split("{")[0] for t in produced} <= cited
