"""Units as a lab writes them: parse, convert, and give their D-SI notation.

One module for every layer that meets a unit: the spreadsheet importer (:mod:`registry.importer`) normalises what a
lab typed (``m3/giờ`` -> ``m³/h``, ``oC`` -> ``°C``) and converts a resolution to its range's unit; the DCC writer
(``certificates/``, above ``registry`` in the layers) writes quantities in D-SI notation. Decision record:
``docs/decisions/0350-shared-units-module.md``.

What it covers (the units of caltrace's fields; each *reference unit* below is the one its factors are relative to):

- mass (g): ng..Gg, t;  length (m): nm..Gm;  volume (L): nL..GL, mm³..m³;  time (s): ns..Gs, min, h
- voltage (V), current (A), resistance (Ω), power (W), energy (Wh), apparent power (VA), frequency (Hz),
  force (N), pressure (Pa; also hPa, bar, mbar, atm, mmHg, mmH₂O, kgf/cm², psi), with SI prefixes n µ m c d k M G
- temperature (°C, K, °F): a *difference* converts by scale (1 K = 1 °C = 9/5 °F); a temperature *reading*
  (offset scales) is never converted
- percent (%) and relative humidity (%RH), not convertible to each other
- one quotient by a time: ``m³/h``, ``L/min``, ``kg/h``

What it refuses: other compound units (``kg/m³``, ``N·m``), unit powers other than the listed cubes, and
conversions between dimensions. D-SI notation is refused for units D-SI has no unit for in the texts checked
(``bar``, ``mbar``, ``atm``, ``mmHg``, ``mmH₂O``, ``kgf/cm²``, ``psi``, ``°F``): convert the value to pascal or
kelvin/°C first (:func:`convert`).

Exact factors: 1 atm = 101 325 Pa (10th CGPM 1954, Res. 4), 1 mmHg = 133.322 387 415 Pa (conventional, from
13.5951 g/cm³ x 9.806 65 m/s² x 1 mm), 1 mmH₂O = 9.806 65 Pa (1000 kg/m³ x g_n x 1 mm), 1 kgf/cm² = 98 066.5 Pa,
1 psi = 4.448 221 615 260 5 N / 0.000 645 16 m² (the international pound-force over a square inch, exact).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

# --- the unit table --------------------------------------------------------------------------------------------------

#: SI prefixes a unit may carry: symbol -> (factor, D-SI prefix)
_PREFIXES: dict[str, tuple[Decimal, str]] = {
    "n": (Decimal("1e-9"), r"\nano"),
    "µ": (Decimal("1e-6"), r"\micro"),
    "m": (Decimal("1e-3"), r"\milli"),
    "c": (Decimal("1e-2"), r"\centi"),
    "d": (Decimal("1e-1"), r"\deci"),
    "": (Decimal(1), ""),
    "k": (Decimal("1e3"), r"\kilo"),
    "M": (Decimal("1e6"), r"\mega"),
    "G": (Decimal("1e9"), r"\giga"),
}
_PREFIX = {symbol: factor for symbol, (factor, _dsi) in _PREFIXES.items()}

#: units that take every prefix above: symbol -> (dimension, D-SI notation)
_PREFIXED_BASES: dict[str, tuple[str, str]] = {
    "g": ("mass", r"\gram"),
    "m": ("length", r"\metre"),
    "L": ("volume", r"\litre"),
    "V": ("voltage", r"\volt"),
    "A": ("current", r"\ampere"),
    "Ω": ("resistance", r"\ohm"),
    "W": ("power", r"\watt"),
    "Wh": ("energy", r"\watt\hour"),
    "VA": ("apparent power", r"\volt\ampere"),
    "Hz": ("frequency", r"\hertz"),
    "Pa": ("pressure", r"\pascal"),
    "N": ("force", r"\newton"),
    "s": ("time", r"\second"),
}


@dataclass(frozen=True)
class _Entry:
    dimension: str
    factor: Decimal  # the unit's size in its dimension's reference unit
    dsi: str | None  # D-SI notation, None when D-SI has none


def _unit_table() -> dict[str, _Entry]:
    table: dict[str, _Entry] = {}
    for base, (dimension, dsi) in _PREFIXED_BASES.items():
        for prefix, (factor, dsi_prefix) in _PREFIXES.items():
            table.setdefault(prefix + base, _Entry(dimension, factor, dsi_prefix + dsi))
    table["kg"] = _Entry("mass", Decimal(1000), r"\kilogram")  # D-SI: the kilogram takes no prefix (\kilo\gram)
    for prefix in ("m", "c", "d", ""):  # cubic metres, in litres
        factor, dsi_prefix = _PREFIXES[prefix]
        table[prefix + "m³"] = _Entry("volume", factor**3 * 1000, dsi_prefix + r"\metre\tothe{3}")
    table.update(
        {
            "t": _Entry("mass", Decimal("1e6"), r"\tonne"),  # tonne, in grams
            "min": _Entry("time", Decimal(60), r"\minute"),
            "h": _Entry("time", Decimal(3600), r"\hour"),
            "hPa": _Entry("pressure", Decimal(100), r"\hecto\pascal"),
            "bar": _Entry("pressure", Decimal("1e5"), None),
            "mbar": _Entry("pressure", Decimal(100), None),
            "atm": _Entry("pressure", Decimal(101325), None),
            "mmHg": _Entry("pressure", Decimal("133.322387415"), None),
            "mmH₂O": _Entry("pressure", Decimal("9.80665"), None),
            "kgf/cm²": _Entry("pressure", Decimal("98066.5"), None),
            "psi": _Entry("pressure", Decimal("4.4482216152605") / Decimal("0.00064516"), None),
            # temperature differences (a resolution is one): 1 K = 1 °C, 1 °F = 5/9 K
            "°C": _Entry("temperature", Decimal(1), r"\degreecelsius"),
            "K": _Entry("temperature", Decimal(1), r"\kelvin"),
            "°F": _Entry("temperature", Decimal(5) / Decimal(9), None),
            "%": _Entry("percent", Decimal(1), r"\percent"),
            "%RH": _Entry("relative humidity", Decimal(1), r"\percent"),
        }
    )
    return table


_UNITS = _unit_table()
_UNIT_ALIASES = {
    "l": "L",
    "lít": "L",
    "lit": "L",
    "litre": "L",
    "liter": "L",
    "giờ": "h",
    "hr": "h",
    "phút": "min",
    "giây": "s",
    "sec": "s",
    "tấn": "t",
    "ohm": "Ω",
    "ôm": "Ω",
    "độ c": "°C",
    "oc": "°C",
    "ºc": "°C",
    "℃": "°C",
    "of": "°F",
    "ºf": "°F",
    "℉": "°F",
    "mmh2o": "mmH₂O",
    "kgf/cm2": "kgf/cm²",
}

#: Where each D-SI token was checked. Tokens not listed are marked unverified by :func:`dsi`.
#:   [G]  D-SI unit list, PTB xsd-d-si wiki ``wiki/doc/UnitSystem.md`` (commits 1d52ecb, 5237a6e;
#:        gitlab1.ptb.de/d-ptb/d-si/xsd-d-si): tables "SI base units", "D-SI additional platinum units", "SI derived
#:        units"
#:   [R]  PTB dsiUnits README "How D-SI units are composed" (prefix, ``\tothe{..}``, ``\per``;
#:        gitlab1.ptb.de/digitaldynamicmeasurement/dsiUnits)
#:   [T]  /work/shared/dcc-examples/dcc_gp_temperature_typical_v12.xml (DCC 3.1.1)
#:   [H]  /work/shared/dcc-examples/dcc_gp_humidity_v1.0.xml (DCC 3.1.2; relative humidity in ``\percent``)
#:   [S]  /work/shared/dcc-examples/siliziumkugel_2_4_0.xml (DCC 2.4.0)
DSI_SOURCES: dict[str, str] = {
    r"\metre": "[G] SI base units; [T] line 293",
    r"\kilogram": "[G] SI base units (the kilogram takes no prefix); [S] line 479",
    r"\second": "[G] SI base units; [H] line 564",
    r"\ampere": "[G] SI base units",
    r"\kelvin": "[G] SI base units; [T] line 186",
    r"\minute": "[G] D-SI additional platinum units; [H] line 568",
    r"\hour": "[G] D-SI additional platinum units",
    r"\gram": "[G] SI derived units (prefixable, unlike the kilogram)",
    r"\hertz": "[G] SI derived units",
    r"\newton": "[G] SI derived units",
    r"\pascal": "[G] SI derived units; [S] line 410 as \\hecto\\pascal",
    r"\watt": "[G] SI derived units",
    r"\volt": "[G] SI derived units",
    r"\ohm": "[G] SI derived units",
    r"\degreecelsius": "[T] line 383, [H] line 305 (DCC 2.4.0 [S] spells it \\degreeCelsius)",
    r"\percent": "[H] line 273: the relative-humidity range",
    r"\kilo": "[R] prefix example",
    r"\milli": "[R] prefix example",
    r"\hecto": "[S] line 410 \\hecto\\pascal",
    r"\centi": "[S] line 528 \\centi\\metre\\tothe{3}",
    r"\tothe": "[R]; [S] line 528 \\centi\\metre\\tothe{3}; [H] line 583 \\metre\\second\\tothe{-1}",
    r"\per": "[R] \\metre\\per\\second",
}
_DSI_TOKEN = re.compile(r"\\[a-zA-Z]+")


# --- parsing ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """A unit caltrace knows: ``symbol`` in caltrace's spelling (``m³/h``), its ``dimension`` (``volume/time``) and
    ``factor``, its size in the dimension's reference unit (g, m, L, s, V, A, Ω, W, Wh, VA, Hz, N, Pa, K; a
    quotient's factor is the numerator's over the denominator's: m³/h -> 1000/3600 L/s)."""

    symbol: str
    dimension: str
    factor: Decimal


@dataclass(frozen=True)
class DsiUnit:
    """A unit's D-SI notation (``\\metre\\tothe{3}\\per\\hour``); ``unverified``: its tokens that were not checked
    against the D-SI guide or a real DCC (see :data:`DSI_SOURCES`): a DCC writer notes them, never drops them."""

    notation: str
    unverified: tuple[str, ...]

    @property
    def verified(self) -> bool:
        """True when every token was checked against a cited source."""
        return not self.unverified


def _canonical_part(part: str) -> str:
    part = part.strip()
    alias = _UNIT_ALIASES.get(part.casefold())
    if alias:
        return alias
    if len(part) > 1 and part[0] in _PREFIX:
        alias = _UNIT_ALIASES.get(part[1:].casefold())
        if alias and alias in _PREFIXED_BASES:
            return part[0] + alias
    if len(part) > 1 and part[0] == "u" and part[1:] in _PREFIXED_BASES:
        return "µ" + part[1:]
    part = re.sub(r"(?<=m)([23])(?!\d)", lambda m: "²" if m.group(1) == "2" else "³", part)
    if part in _UNITS:
        return part
    if len(part) > 1 and part[0] == "K" and "k" + part[1:] in _UNITS:  # "Kg", "KV": kilo written in capitals
        return "k" + part[1:]
    matches = [unit for unit in _UNITS if unit.casefold() == part.casefold()]
    return matches[0] if len(matches) == 1 else part


def canonical_unit(text: str) -> str:
    """The unit in caltrace's spelling (``m3/giờ`` -> ``m³/h``, ``oC`` -> ``°C``, ``ml`` -> ``mL``); unknown units
    are returned cleaned but otherwise as written."""
    text = unicodedata.normalize("NFC", text).replace("μ", "µ").strip()
    text = re.sub(r"\s+", " ", text)
    whole = _UNIT_ALIASES.get(text.casefold())
    if whole:
        return whole
    if text.casefold() in ("kgf/cm2", "kgf/cm²"):
        return "kgf/cm²"
    if "/" in text:
        num, _, den = text.partition("/")
        return f"{_canonical_part(num)}/{_canonical_part(den)}"
    return _canonical_part(text)


def _lookup(symbol: str) -> tuple[str, Decimal] | None:
    """Dimension and factor of a canonical unit symbol, None when unknown (or an unsupported compound)."""
    if symbol in _UNITS:
        entry = _UNITS[symbol]
        return entry.dimension, entry.factor
    if symbol.count("/") == 1:
        num, den = (_UNITS.get(p) for p in symbol.split("/"))
        if num and den and den.dimension == "time":
            return f"{num.dimension}/time", num.factor / den.factor
    return None


def unit_symbols() -> list[str]:
    """Every unit symbol the table knows (without aliases), in table order."""
    return list(_UNITS)


def unit_info(symbol: str) -> tuple[str, Decimal] | None:
    """``(dimension, factor)`` of a unit in caltrace's spelling (see :class:`Unit`), None when it is unknown."""
    return _lookup(symbol)


def parse_unit(text: str) -> Unit:
    """The unit a lab wrote (``kg``, ``m3/h``, ``oC``, ``%RH``, ``hPa``, ``ohm``); :class:`ValueError` naming the
    text when caltrace does not know it."""
    symbol = canonical_unit(text)
    found = _lookup(symbol)
    if found is None:
        raise ValueError(
            f"unknown unit {text!r}: write an SI unit such as g, kg, mL, L, m³, m³/h, °C, K, %RH, Pa, hPa, V, A or Ω"
            " (a quotient only by a time: m³/h, L/min)"
        )
    return Unit(symbol, found[0], found[1])


def convert(value: Decimal, source: str, target: str, *, difference: bool) -> Decimal | None:
    """``value`` in ``source`` units expressed in ``target`` units (both in caltrace's spelling), or None when they
    are not convertible (unknown, or another dimension).

    ``difference`` says the value is an interval (a resolution): then °C, K and °F convert by scale only. A
    temperature reading (a range end) in another temperature unit is not converted (offset scales).
    """
    if source == target:
        return value
    a, b = _lookup(source), _lookup(target)
    if a is None or b is None or a[0] != b[0]:
        return None
    if a[0] == "temperature" and not difference:
        return None
    return value * a[1] / b[1]


# --- D-SI ------------------------------------------------------------------------------------------------------------


def dsi(unit: str | Unit) -> DsiUnit:
    """The D-SI notation of a unit (text as a lab writes it, or a :class:`Unit`): ``kg`` -> ``\\kilogram``, ``mg`` ->
    ``\\milli\\gram``, ``m³/h`` -> ``\\metre\\tothe{3}\\per\\hour``, ``%RH`` -> ``\\percent``.

    :class:`ValueError` for an unknown unit or one D-SI has no unit for (bar, mmHg, psi, °F, ...): convert the value
    to a unit D-SI has first (``convert(v, "bar", "kPa", difference=False)``)."""
    parsed = unit if isinstance(unit, Unit) else parse_unit(unit)
    parts = parsed.symbol.split("/") if parsed.symbol not in _UNITS else [parsed.symbol]
    notations: list[str] = []
    for part in parts:
        entry = _UNITS.get(part)
        if entry is None:
            raise ValueError(f"unknown unit {parsed.symbol!r}: parse it with registry.units.parse_unit")
        if entry.dsi is None:
            raise ValueError(
                f"{parsed.symbol} has no D-SI unit: express the value in pascal (Pa, hPa, kPa, MPa) or in K/°C "
                f"before writing it to a certificate (registry.units.convert)"
            )
        notations.append(entry.dsi)
    notation = r"\per".join(notations)
    unverified = tuple(dict.fromkeys(t for t in _DSI_TOKEN.findall(notation) if t not in DSI_SOURCES))
    return DsiUnit(notation, unverified)


#: D-SI spellings a DCC may use that are not caltrace's own notation (:func:`dsi`) -> caltrace's unit.
#: ``\degreeCelsius`` is the D-SI 1.x spelling (DCC 2.4.0, [S] line 271); ``\kilo\gram`` is not valid D-SI (the
#: kilogram takes no prefix, [G]) but unambiguous, read as kg.
_DSI_READ_ALIASES: dict[str, str] = {r"\degreeCelsius": "°C", r"\kilo\gram": "kg", r"\percent": "%"}


def _dsi_read_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for symbol, entry in _UNITS.items():
        if entry.dsi is not None and symbol != "%RH":  # \percent reads as %: the DCC does not say "relative"
            table.setdefault(entry.dsi, symbol)
    table.update(_DSI_READ_ALIASES)
    return table


_DSI_READ = _dsi_read_table()


def from_dsi(notation: str) -> str | None:
    """caltrace's unit for a D-SI unit string of a DCC (``\\milli\\gram`` -> ``mg``, ``\\kilogram`` -> ``kg``,
    ``\\centi\\metre\\tothe{3}`` -> ``cm³``, ``\\metre\\tothe{3}\\per\\hour`` -> ``m³/h``; the D-SI 1.x
    ``\\degreeCelsius`` -> ``°C`` and a power of one, ``\\gram\\tothe{1}`` -> ``g``; ``\\one`` -> ``""``,
    dimensionless), or None for a unit caltrace cannot convert (a compound other than a quotient by a time, a power
    it does not list, a token it does not know)."""
    text = "".join(notation.split()).replace(r"\tothe{1}", "")  # x to the first power is x (D-SI 1.x writes it)
    if text == r"\one":
        return ""
    parts = text.split(r"\per")
    if len(parts) > 2:
        return None
    symbols = [_DSI_READ.get(part) for part in parts]
    if any(s is None for s in symbols):
        return None
    symbol = "/".join(s for s in symbols if s is not None)
    return symbol if _lookup(symbol) is not None else None
