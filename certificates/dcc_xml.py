"""XML helpers of the DCC writer (:mod:`certificates.dcc`): namespaces, element making, D-SI units, numbers."""

from __future__ import annotations

import re
import warnings
from decimal import Decimal
from functools import cache
from importlib.metadata import PackageNotFoundError, version

from lxml import etree

from registry.units import dsi

DCC_NS = "https://ptb.de/dcc"
SI_NS = "https://ptb.de/si"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
SCHEMA_VERSION = "3.3.0"
#: coverage probability stated when the budget gives k without a probability (k = 2, normal: about 95 %; the
#: DCC wants a number in [0, 1], METROLOGY.md "coverageProbability 0.95, not 95")
DEFAULT_COVERAGE_PROBABILITY = "0.95"
#: PTB refType names seen in the DCC good-practice examples (../shared/dcc-examples); others are caltrace's own
ENV_REFTYPE = {"temperature": "basic_temperature", "humidity": "basic_humidityRelative"}


def q(tag: str) -> str:
    """Clark name of ``dcc:x`` or ``si:x``."""
    prefix, _, local = tag.partition(":")
    return f"{{{SI_NS if prefix == 'si' else DCC_NS}}}{local}"


def el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    """A child ``tag`` of ``parent`` with ``text`` (never empty: DCC 3.3.0 forbids it) and ``attrs``."""
    e = etree.SubElement(parent, q(tag), attrs)
    if text is not None:
        if not text.strip():
            raise ValueError(f"empty text for {tag}: DCC 3.3.0 does not allow it")
        e.text = text
    return e


#: D-SI for a dimensionless quantity (a ratio, cg-18's slope α of the uncertainty in use): ``\one``, as PTB's
#: good-practice DCC writes relative humidity (../shared/dcc-examples/dcc_gp_temperature_typical_v12.xml);
#: registry.units (decision 0350) has no unit "1", so the certificate writer maps it here
DIMENSIONLESS = ("1", "")


def dsi_unit(unit: str) -> str:
    """The D-SI string of a result's unit: :func:`registry.units.dsi`, or ``\\one`` for a dimensionless result,
    checked by PTB's own D-SI parser (:func:`check_dsi`)."""
    return check_dsi(r"\one" if unit.strip() in DIMENSIONLESS else dsi(unit).notation)


#: the D-SI form: backslash tokens, ``\\tothe`` with a braced exponent (D-SI 2.2.1 guide, as the dsiUnits README
#: composes units)
_DSI_FORM = re.compile(r"(\\[a-zA-Z]+(\{-?\d+(\.\d+)?\})?)+")


@cache
def check_dsi(notation: str) -> str:
    """``notation`` when PTB's dsiUnits package (``dsi_unit.DsiUnit``, 3.1) parses it as a valid D-SI unit;
    ValueError with the parser's own words otherwise, so no certificate carries a unit a DCC reader cannot parse.

    The package's DeprecationWarning for ``\\per`` is silenced: D-SI 2.2.1 (imported by DCC 3.3.0) still
    defines ``\\per``; the package prefers ``\\tothe{-1}`` for a future D-SI."""
    from dsi_unit import DsiUnit  # noqa: PLC0415 - loaded only when a certificate is written

    if not _DSI_FORM.fullmatch(notation):  # the package also takes plain text ("kg") as valid
        raise ValueError(f"unit {notation!r} is not valid D-SI (not a sequence of \\tokens): fix the unit table")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = DsiUnit(notation)
    if not parsed.valid:
        why = "; ".join(str(w) for w in parsed.warnings) or "not a D-SI unit"
        raise ValueError(f"unit {notation!r} is not valid D-SI ({why}): fix registry.units' D-SI table")
    return notation


def xml_number(text: str) -> str:
    """A number :func:`uncertainty.presentation.format_number` wrote in English without grouping, as
    ``si:decimalType`` (``1.3 × 10^-14`` -> ``1.3E-14``); the digits are kept as they are (no second rounding)."""
    text = text.strip().replace(" × 10^", "E")
    Decimal(text)  # raises on anything that is not a number
    return text


def caltrace_version() -> str:
    """caltrace's installed version as a DCC ``release``: ``v`` and the digits (``v0.1.0``), the form PTB's
    Schematron (dcc.sch, release rule) asks for: a letter, then up to four dot-separated numbers."""
    try:
        return "v" + version("caltrace")
    except PackageNotFoundError:  # run from a checkout without installing
        return "v0.1.0"
