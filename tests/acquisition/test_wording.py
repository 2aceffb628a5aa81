"""Conformity and limit words (Vietnamese default, English): every value the code base can produce has words."""

from __future__ import annotations

import pytest

from acquisition.methods.base import CONFORMITY
from acquisition.wording import (
    CONFORMITY_WORDS,
    conformity_explanation,
    conformity_words,
    limit_words,
    number_text,
    vietnamese_label,
)
from registry.models import Conformity

# the DCC 3.3.0 stringConformityStatementStatusType enumeration (shared/schemas/dcc/v3.3.0/dcc.xsd), typed out
DCC_330 = ("pass", "fail", "conditionalPass", "conditionalFail", "noPass", "noFail")


def test_every_value_in_use_has_words_in_both_languages() -> None:
    in_use = set(CONFORMITY) | {c.value for c in Conformity} | set(DCC_330)
    assert in_use <= set(CONFORMITY_WORDS)
    for value in in_use:
        vi, en = conformity_words(value, "vi"), conformity_words(value, "en")
        assert vi and en and vi != value  # never the internal camelCase name


@pytest.mark.parametrize(
    ("value", "vi", "en"),
    [
        ("pass", "đạt", "pass"),
        ("fail", "không đạt", "fail"),
        ("notAssessed", "không đánh giá", "not assessed"),
        ("conditionalPass", "đạt có điều kiện", "conditional pass"),
        ("conditionalFail", "không đạt có điều kiện", "conditional fail"),
    ],
)
def test_words(value: str, vi: str, en: str) -> None:
    assert conformity_words(value) == vi  # Vietnamese is the default
    assert conformity_words(value, "en") == en


def test_explanations_for_the_non_binary_values_only() -> None:
    assert conformity_explanation("pass") is None
    assert "giới hạn" in (conformity_explanation("conditionalPass") or "")
    assert "limit" in (conformity_explanation("conditionalFail", "en") or "")


def test_minimum_limits_are_labelled_as_minimums() -> None:
    assert limit_words("minimum") == "tối thiểu" and limit_words("minimum", "en") == "minimum"
    assert limit_words("maximum") == "tối đa" and limit_words("maximum", "en") == "maximum"


def test_unknown_values_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown conformity value 'passed'"):
        conformity_words("passed")
    with pytest.raises(ValueError, match="language"):
        conformity_words("pass", "de")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit kind"):
        limit_words("min")


@pytest.mark.parametrize(
    ("x", "vi", "en"),
    [
        (0.5, "0,5", "0.5"),  # the decimal comma in Vietnamese, the point in English
        (20000.0, "20000", "20000"),  # no thousands grouping (a Vietnamese "20.000" would read as 20 in English)
        (1e6, "1000000", "1000000"),  # positional, where :g would write 1e+06
        (0.1234567, "0,123457", "0.123457"),  # six significant digits, as :g
        (-0.0, "0", "0"),
        (1.4e-13, "1,4 × 10^-13", "1.4 × 10^-13"),
    ],
)
def test_number_text_writes_the_decimal_sign_of_the_language(x: float, vi: str, en: str) -> None:
    assert (number_text(x), number_text(x, "en")) == (vi, en)


def test_number_text_significant_digits_and_a_bad_language() -> None:
    assert number_text(2.345678, significant=4) == "2,346"
    with pytest.raises(ValueError, match="language"):
        number_text(1.0, "fr")  # type: ignore[arg-type]


def test_a_dmm_point_label_in_vietnamese_writes_the_decimal_comma() -> None:
    from acquisition.procedures.dmm import DmmPoint

    point = DmmPoint("DCV", 1.5, 0.0, 10.0, 1e-6)
    assert (point.label("vi"), point.label()) == ("DCV 1,5 V", "DCV 1.5 V")
    assert DmmPoint("ACV", 0.1, 1500.0, 1.0, 1e-6).label("vi") == "ACV 100 mV 1,5 kHz"


@pytest.mark.parametrize(
    ("label", "vi"),
    [
        ("0.5 g", "0,5 g"),  # a piece's default label: its nominal value written with :g
        ("2.5 mg•", "2,5 mg•"),  # a marked piece of a set
        ("200 g", "200 g"),
        ("W-1.2", "W-1.2"),  # a code, not a number
        ("E2 set 1.0", "E2 set 1.0"),  # a number that does not start the label is left alone
    ],
)
def test_a_weight_label_in_a_vietnamese_text(label: str, vi: str) -> None:
    assert vietnamese_label(label) == vi
