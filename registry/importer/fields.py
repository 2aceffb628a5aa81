"""The metrology field of an instrument: named in a cell (:func:`parse_field`) or inferred from its kind
(:func:`infer_field`: ``Cân phân tích`` -> mass)."""

from __future__ import annotations

import re
import unicodedata

from registry.importer.cells import Cell, CellError, _is_blank, clean_text
from registry.importer.headers import _fold
from registry.importer.messages import msg
from registry.models import MetrologyField

_FIELD_NAMES: dict[str, MetrologyField] = {
    **{_fold(f.value): f for f in MetrologyField},
    **{
        _fold(name): f
        for names, f in (
            (("khối lượng", "mass"), MetrologyField.MASS),
            (
                ("dung tích", "lưu lượng", "dung tích lưu lượng", "volume", "flow", "volume flow"),
                MetrologyField.VOLUME_FLOW,
            ),
            (("điện", "điện điện từ", "electrical", "electric"), MetrologyField.ELECTRICAL),
            (("nhiệt", "nhiệt độ", "nhiệt học", "temperature"), MetrologyField.TEMPERATURE),
            (("áp suất", "pressure"), MetrologyField.PRESSURE),
            (("độ dài", "chiều dài", "length"), MetrologyField.LENGTH),
            (("khác", "other"), MetrologyField.OTHER),
        )
        for name in names
    },
}


def parse_field(value: Cell) -> MetrologyField | None:
    """The metrology field named in a cell (English value or Vietnamese name); None when empty."""
    if _is_blank(value):
        return None
    text = clean_text(value)
    found = _FIELD_NAMES.get(_fold(text))
    if found is None:
        allowed = ", ".join(f.value for f in MetrologyField)
        raise CellError(msg("field.unknown", text=text, allowed=allowed))
    return found


# Checked in order, first match wins: "điện áp" (voltage) must not read as pressure, "cặp nhiệt điện"
# (thermocouple) not as electrical. "điện tử" (electronic) and "hiện số" (digital) say nothing about the field and
# are removed first: "Cân điện tử" is a balance.
_FIELD_KEYWORDS: tuple[tuple[MetrologyField, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        MetrologyField.PRESSURE,
        ("áp kế", "áp suất", "huyết áp", "khí áp", "chân không"),
        ("pressure", "manometer", "barometer", "sphygmomanometer", "vacuum gauge"),
    ),
    (
        MetrologyField.TEMPERATURE,
        ("nhiệt",),
        ("thermo", "temperature", "pt100", "rtd"),
    ),
    (
        MetrologyField.VOLUME_FLOW,
        (
            "đồng hồ nước",
            "công tơ nước",
            "nước",
            "lưu lượng",
            "cột đo",
            "nhiên liệu",
            "xăng dầu",
            "bồn",
            "bể",
            "xi téc",
            "xitec",
            "bình chuẩn",
            "ca đong",
            "dung tích",
            "đồng hồ khí",
            "công tơ khí",
        ),
        ("water meter", "flow", "fuel", "dispenser", "tank", "gas meter", "volume", "pipette", "burette"),
    ),
    (
        MetrologyField.ELECTRICAL,
        ("điện", "công tơ", "vạn năng", "ampe", "vôn", "ôm kế", "điện trở"),
        ("electric", "energy meter", "kwh", "multimeter", "dmm", "volt", "amp", "ohm", "megger", "calibrator"),
    ),
    (
        MetrologyField.MASS,
        ("cân", "quả cân", "khối lượng"),
        ("balance", "scale", "weigh", "weight", "mass"),
    ),
    (
        MetrologyField.LENGTH,
        ("thước", "taximet", "độ dài", "chiều dài", "panme", "đồng hồ so"),
        ("length", "taxi", "caliper", "calliper", "micrometer", "ruler", "tape measure", "dial indicator"),
    ),
)
_FIELD_PATTERNS = tuple(
    (
        f,
        re.compile(
            "|".join(
                [rf"(?<!\w){re.escape(word)}(?!\w)" for word in vietnamese]
                + [rf"(?<!\w){re.escape(stem)}" for stem in english]
            ),
            re.IGNORECASE,
        ),
    )
    for f, vietnamese, english in _FIELD_KEYWORDS
)


def infer_field(kind: str) -> MetrologyField:
    """The metrology field an instrument kind suggests (``Cân phân tích`` -> mass), ``other`` when none."""
    text = unicodedata.normalize("NFC", kind).casefold()
    text = re.sub(r"(?<!\w)(?:điện tử|hiện số)(?!\w)", " ", text)
    for found, pattern in _FIELD_PATTERNS:
        if pattern.search(text):
            return found
    return MetrologyField.OTHER
