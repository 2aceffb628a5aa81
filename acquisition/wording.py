"""Words a technician reads for conformity values and limit kinds, in Vietnamese (default) and English.

Pure data and a few look-ups; the only caltrace import, made when a number is written, is
:func:`uncertainty.presentation.format_number` (the one number formatter, for :func:`number_text`), so ``api`` and
``certificates`` can use it freely.

Sources
-------
* The conformity values are those of the DCC schema 3.3.0, ``stringConformityStatementStatusType`` (pass, fail,
  conditionalPass, conditionalFail, noPass, noFail; /work/shared/schemas/dcc/v3.3.0/dcc.xsd), plus caltrace's own
  ``notAssessed`` for a row no rule judged (``acquisition.methods.base.CONFORMITY``, ``registry.models.Conformity``).
* "đạt" / "không đạt" / "không đánh giá" are the words caltrace issue 16 asks for and the everyday words of
  Vietnamese verification practice ("đạt yêu cầu" — meets the requirements). No ĐLVN or TCVN clause fixing these
  words could be read from a stored text: **wording source unverified**.
* conditional pass / conditional fail are the non-binary statements of ILAC G8:09/2019 (measured value inside /
  outside the limit while the uncertainty interval crosses it). The Vietnamese renderings "đạt có điều kiện" /
  "không đạt có điều kiện" are caltrace's literal translations: **unverified** against a Vietnamese text; each
  carries a one-line explanation (:data:`EXPLANATIONS`) so the reader does not have to know ILAC G8.
* noPass / noFail: the DCC 3.3.0 schema lists them without documentation; caltrace's run verdict treats noPass as a
  failure and noFail as a pass (``acquisition.engine._overall``). The words below say literally "not stated as
  pass" / "not stated as fail": **meaning unverified**.
* Minimum-type limits (OIML R76-1:2006 discrimination, a minimum capacity) are labelled "tối thiểu" / "minimum",
  maximum-type ones (a maximum permissible error) "tối đa" / "maximum". Which results are judged against a minimum
  is declared per result quantity in :data:`MINIMUM_LIMITS` (the methods carry the limit in ``mpe`` either way).
* Result quantity names (:data:`QUANTITY_WORDS`): the methods name their results with English identifiers (stored in
  the registry and used by the code, so they are not changed); the words shown are below. The Vietnamese terms are
  those in everyday use in Vietnamese verification and calibration (sai số chỉ thị, độ lặp lại, độ lệch tâm, lượng
  tịnh, khối lượng quy ước); they were not checked against the text of an ĐLVN/TCVN document: **unverified**.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

__all__ = [
    "CONFORMITY_WORDS",
    "EXPLANATIONS",
    "FUNCTION_WORDS",
    "LIMIT_WORDS",
    "MINIMUM_LIMITS",
    "QUANTITY_WORDS",
    "ROLE_WORDS",
    "conformity_explanation",
    "conformity_words",
    "has_quantity_words",
    "limit_kind",
    "limit_words",
    "measurand_words",
    "number_text",
    "quantity_words",
    "role_words",
    "vietnamese_label",
]

Language = Literal["vi", "en"]
LANGUAGES: tuple[str, ...] = ("vi", "en")

#: conformity value -> {language: words}
CONFORMITY_WORDS: dict[str, dict[str, str]] = {
    "pass": {"vi": "đạt", "en": "pass"},
    "fail": {"vi": "không đạt", "en": "fail"},
    "conditionalPass": {"vi": "đạt có điều kiện", "en": "conditional pass"},
    "conditionalFail": {"vi": "không đạt có điều kiện", "en": "conditional fail"},
    "noPass": {"vi": "không khẳng định đạt", "en": "not stated as pass"},
    "noFail": {"vi": "không khẳng định không đạt", "en": "not stated as fail"},
    "notAssessed": {"vi": "không đánh giá", "en": "not assessed"},
}

#: one-line explanations for the values a reader may not know (ILAC G8:09/2019 non-binary statements)
EXPLANATIONS: dict[str, dict[str, str]] = {
    "conditionalPass": {
        "vi": "giá trị đo nằm trong giới hạn nhưng khoảng độ không đảm bảo đo vượt ra ngoài giới hạn",
        "en": "the measured value is within the limit but its uncertainty interval extends beyond it",
    },
    "conditionalFail": {
        "vi": "giá trị đo nằm ngoài giới hạn nhưng khoảng độ không đảm bảo đo vẫn chạm vào giới hạn",
        "en": "the measured value is outside the limit but its uncertainty interval reaches back inside it",
    },
    "notAssessed": {
        "vi": "kết quả chỉ để tham khảo, không so với giới hạn nào",
        "en": "an informational result, not compared with any limit",
    },
}

#: limit kind -> {language: words}; a minimum-type limit must be labelled as a minimum
LIMIT_WORDS: dict[str, dict[str, str]] = {
    "minimum": {"vi": "tối thiểu", "en": "minimum"},
    "maximum": {"vi": "tối đa", "en": "maximum"},
}


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")


def conformity_words(conformity: str, language: Language = "vi") -> str:
    """The words for a conformity value (``"pass"`` -> ``"đạt"`` / ``"pass"``); ValueError for an unknown value."""
    _check_language(language)
    try:
        return CONFORMITY_WORDS[conformity][language]
    except KeyError:
        raise ValueError(
            f"unknown conformity value {conformity!r}; expected one of {', '.join(CONFORMITY_WORDS)}"
        ) from None


def conformity_explanation(conformity: str, language: Language = "vi") -> str | None:
    """A one-line explanation of a conformity value a reader may not know (None for pass, fail …)."""
    conformity_words(conformity, language)  # validates both
    entry = EXPLANATIONS.get(conformity)
    return None if entry is None else entry[language]


def limit_words(kind: str, language: Language = "vi") -> str:
    """The label of a limit kind: ``"minimum"`` -> ``"tối thiểu"`` / ``"minimum"``, ``"maximum"`` -> ``"tối đa"``."""
    _check_language(language)
    try:
        return LIMIT_WORDS[kind][language]
    except KeyError:
        raise ValueError(f"unknown limit kind {kind!r}; expected 'minimum' or 'maximum'") from None


#: result quantity (the methods' English identifier) -> {language: words}. Vietnamese wording **unverified** against
#: an ĐLVN/TCVN text (see the module docstring).
QUANTITY_WORDS: dict[str, dict[str, str]] = {
    # non-automatic weighing instruments: EURAMET cg-18 v4.0, OIML R76-1:2006 (acquisition.methods.nawi)
    "error of indication": {"vi": "sai số chỉ thị", "en": "error of indication"},
    "error of indication (decreasing load)": {
        "vi": "sai số chỉ thị (giảm tải)",
        "en": "error of indication (decreasing load)",
    },
    "repeatability standard deviation": {"vi": "độ lệch chuẩn lặp lại", "en": "repeatability standard deviation"},
    "repeatability (max − min)": {"vi": "độ lặp lại (max − min)", "en": "repeatability (max − min)"},
    "eccentricity |ΔI_ecc|max": {"vi": "độ lệch tâm |ΔI_ecc|max", "en": "eccentricity |ΔI_ecc|max"},
    "eccentricity error": {"vi": "sai số lệch tâm", "en": "eccentricity error"},
    "discrimination: change of indication for 1.4 d": {
        "vi": "độ phân biệt: thay đổi số chỉ khi thêm 1,4 d",
        "en": "discrimination: change of indication for 1.4 d",
    },
    "uncertainty in use U0": {"vi": "độ không đảm bảo đo khi sử dụng U0", "en": "uncertainty in use U0"},
    "uncertainty in use slope alpha": {
        "vi": "độ không đảm bảo đo khi sử dụng, hệ số α",
        "en": "uncertainty in use, slope α",
    },
    # weights: OIML R111-1:2004 (acquisition.methods.weights)
    "conventional mass deviation (m_c - m_0)": {
        "vi": "độ lệch khối lượng quy ước (m_c − m_0)",
        "en": "conventional mass deviation (m_c − m_0)",
    },
    # water and flow meters: OIML R49-1:2013, ISO 4185 (acquisition.methods.flow)
    "relative error of indication": {"vi": "sai số tương đối của số chỉ", "en": "relative error of indication"},
    # prepackages: OIML R87:2016 (acquisition.methods.prepackages, acquisition.procedures.prepackage_r87)
    "net quantity": {"vi": "lượng tịnh", "en": "net quantity"},
    "mean net quantity": {"vi": "lượng tịnh trung bình", "en": "mean net quantity"},
    "T1-defective prepackages": {"vi": "số gói thiếu quá T1", "en": "T1-defective prepackages"},
    "T2-defective prepackages": {"vi": "số gói thiếu quá T2", "en": "T2-defective prepackages"},
    "lot decision": {"vi": "kết luận lô", "en": "lot decision"},
}

#: DMM function codes (acquisition.methods.electrical.FUNCTIONS) in words, for "error of indication (DCV)" …
FUNCTION_WORDS: dict[str, dict[str, str]] = {
    "DCV": {"vi": "điện áp một chiều", "en": "DC voltage"},
    "ACV": {"vi": "điện áp xoay chiều", "en": "AC voltage"},
    "DCI": {"vi": "dòng điện một chiều", "en": "DC current"},
    "ACI": {"vi": "dòng điện xoay chiều", "en": "AC current"},
    "OHM": {"vi": "điện trở", "en": "resistance"},
}

#: result quantities judged against a minimum: the value must be at least the limit stated in ``mpe``. OIML
#: R76-1:2006 3.8.2.2 / A.4.8: adding 1.4 d must change the indication by (at least) d — ``mpe`` holds d
#: (acquisition.methods.nawi.discrimination_test, discrimination_changeover_test). Every other limit is a maximum.
MINIMUM_LIMITS: frozenset[str] = frozenset({"discrimination: change of indication for 1.4 d"})


def quantity_words(quantity: str, language: Language = "vi") -> str:
    """The words for a result quantity (``"error of indication"`` -> ``"sai số chỉ thị"``); a DMM function in
    brackets is spelt out (``"error of indication (DCV)"`` -> ``"sai số chỉ thị (điện áp một chiều)"``). A quantity
    with no entry is returned as it is (a new method's name is shown rather than hidden; the test of the procedures'
    texts fails until it has words)."""
    _check_language(language)
    entry = QUANTITY_WORDS.get(quantity)
    if entry is not None:
        return entry[language]
    head, sep, tail = quantity.partition(" (")
    if sep and tail.endswith(")") and head in QUANTITY_WORDS and tail[:-1] in FUNCTION_WORDS:
        return f"{QUANTITY_WORDS[head][language]} ({FUNCTION_WORDS[tail[:-1]][language]})"
    return quantity


#: what a manual-entry instrument's reading is (its address's ``quantity=``) -> {language: words}; everyday words
#: (a technician types the value the instrument shows), not taken from a standard
MEASURAND_WORDS: dict[str, dict[str, str]] = {
    "": {"vi": "giá trị", "en": "value"},
    "temperature": {"vi": "nhiệt độ", "en": "temperature"},
    "humidity": {"vi": "độ ẩm", "en": "humidity"},
    "pressure": {"vi": "áp suất", "en": "pressure"},
    "mass": {"vi": "khối lượng", "en": "mass"},
    "register": {"vi": "số chỉ", "en": "register reading"},
    "totalizer": {"vi": "số chỉ tổng", "en": "totalizer"},
    "volume": {"vi": "thể tích", "en": "volume"},
    "flow": {"vi": "lưu lượng", "en": "flow"},
}


def measurand_words(quantity: str, language: Language = "vi") -> str:
    """The words for what a manual-entry reading is (``"temperature"`` -> ``"nhiệt độ"``); an unknown quantity is
    returned as it is (in both languages: it is the instrument's own name for it)."""
    _check_language(language)
    entry = MEASURAND_WORDS.get(quantity)
    return quantity if entry is None else entry[language]


#: a procedure role's description (``RoleSpec.description``, English, part of the procedure's digest and so not
#: changed) -> its Vietnamese words; everyday metrology words, not taken from a standard (**unverified** wording)
ROLE_WORDS: dict[str, str] = {
    "thermo-hygro-barometer": "nhiệt ẩm áp kế",
    "the digital multimeter under calibration (remote: configure)": "đồng hồ vạn năng hiện số cần hiệu chuẩn "
    "(điều khiển từ xa: `configure`)",
    "multifunction calibrator Fluke 5520A (remote: set_output, operate, standby)": "máy hiệu chuẩn đa năng Fluke "
    "5520A (điều khiển từ xa: `set_output`, `operate`, `standby`)",
    "the flow meter under test (totaliser)": "đồng hồ lưu lượng cần hiệu chuẩn (bộ tổng)",
    "master meter with a certified error curve (totaliser and water temperature)": "đồng hồ chuẩn có đường cong "
    "sai số đã được chứng nhận (bộ tổng và nhiệt độ nước)",
    "the balance under calibration": "cân cần hiệu chuẩn",
    "reference weight set (E2/F1) with certificate": "bộ quả cân chuẩn (E2/F1) có giấy chứng nhận",
    "the weighing instrument under verification": "phương tiện đo khối lượng cần kiểm định",
    "standard weight set (E2/F1) with certificate": "bộ quả cân chuẩn (E2/F1) có giấy chứng nhận",
    "the lot of prepackages under inspection (a registered prepackage lot)": "lô hàng đóng gói sẵn cần kiểm tra "
    "(một lô đã đăng ký)",
    "the laboratory's balance weighing the packages (reference standard with certificate)": "cân của phòng thí "
    "nghiệm dùng để cân các gói hàng (chuẩn có giấy chứng nhận)",
    "the water meter under test, read by the technician": "đồng hồ nước cần kiểm định, do kỹ thuật viên đọc số",
    "the weight under calibration (nominal value, R111 class)": "quả cân cần hiệu chuẩn (giá trị danh định, cấp "
    "chính xác theo R111)",
    "reference weight of the same nominal value (certificate: conventional mass, U, k, density)": "quả cân chuẩn "
    "cùng giá trị danh định (giấy chứng nhận: khối lượng quy ước, U, k, khối lượng riêng)",
    "mass comparator (certificate: resolution d, sensitivity, eccentricity test, optionally repeatability)": "cân so "
    "sánh (giấy chứng nhận: độ phân giải d, độ nhạy, phép thử lệch tâm, có thể có độ lặp lại)",
}


def role_words(description: str, language: Language = "vi") -> str:
    """A procedure role's description in ``language``; one with no Vietnamese words is returned as it is (the test of
    the procedures' texts fails until it has them)."""
    _check_language(language)
    return ROLE_WORDS.get(description, description) if language == "vi" else description


def has_quantity_words(quantity: str) -> bool:
    """True when :func:`quantity_words` knows ``quantity`` (directly or as a quantity with a DMM function)."""
    return quantity_words(quantity, "vi") != quantity


def limit_kind(quantity: str) -> str:
    """``"minimum"`` for a result judged against a minimum (:data:`MINIMUM_LIMITS`), else ``"maximum"``."""
    return "minimum" if quantity in MINIMUM_LIMITS else "maximum"


def number_text(x: float, language: Language = "vi", significant: int = 6) -> str:
    """A number for a step title or an operator instruction: ``significant`` significant digits like Python's
    ``:g`` (trailing zeros dropped), with the decimal comma in Vietnamese and the decimal point in English
    (``0.5`` -> ``"0,5"`` / ``"0.5"``). Digits are not grouped (a Vietnamese thousands point would read as a decimal
    point; see :mod:`uncertainty.presentation`, "Number text"); very large or small magnitudes are written
    ``m × 10^e`` by :func:`~uncertainty.presentation.format_number`."""
    _check_language(language)
    d = Decimal(format(float(x), f".{significant}g")).normalize()
    # imported here: the uncertainty package loads scipy, and the CLI imports this module when it starts
    from uncertainty.presentation import format_number  # noqa: PLC0415

    return format_number(d, language, group=None)


#: a label that starts with a number written with a decimal point and a unit ("0.5 g", "2.5 mg•")
_LEADING_DECIMAL = re.compile(r"^([-+]?\d+)\.(\d+)(?=\s*[^\W\d_])")


def vietnamese_label(label: str) -> str:
    """A weight's label for a Vietnamese text: a leading number with a decimal point and a unit is written with the
    decimal comma (``"0.5 g"`` -> ``"0,5 g"``, the default label of a piece is its nominal value with ``:g``); any
    other label (a name, a code) is returned as it is."""
    return _LEADING_DECIMAL.sub(r"\1,\2", label)
