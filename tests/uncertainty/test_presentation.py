"""Presentation rounding (GUM JCGM 100:2008 7.2.6, ILAC P14): U rounded up to two significant digits, the value to
U's last digit, k to two decimals, Vietnamese and English number text.

Every expected value is worked by hand in its comment from the rule: "ceil at the 2nd significant digit" means
take the decimal the float denotes (its repr), keep two significant digits, and raise the second one by one unit
if anything non-zero follows it.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from uncertainty import Model, gum, normal
from uncertainty.errors import InputError
from uncertainty.presentation import (
    GROUP_SEPARATOR,
    format_k,
    format_number,
    present,
    present_budget,
    present_informational,
    round_expanded_uncertainty,
    round_to_decimals,
    round_up_significant,
)

NNBSP = GROUP_SEPARATOR  # narrow no-break space between digit groups


@pytest.mark.parametrize(
    ("U", "expected", "decimals"),
    [
        # 0.0002999999999957481: significant digits 2,9 | 9999… follows -> 2,9 + 1 unit = 3,0 -> 0.00030 (5 places)
        (0.0002999999999957481, "0.00030", 5),
        # 0.0995: 9,9 | 5 follows -> 9,9 + 1 = 10,0 carries into a new leading digit -> keep 2 digits: 0.10
        (0.0995, "0.10", 2),
        # 1234.5: 1,2 | 34.5 follows -> 1,3 in the hundreds -> 1300 (last digit in the hundreds: -2 places)
        (1234.5, "1.3E+3", -2),
        # GUM 7.2.6's own example: 10.47 (mΩ) "might be rounded up to 11"
        (10.47, "11", 0),
        # GUM 7.2.6 would round 28.05 down to 28; caltrace never rounds down: 2,8 | 05 follows -> 29
        (28.05, "29", 0),
        # exactly two significant digits: nothing follows, nothing to raise -> 0.059 unchanged
        (0.059, "0.059", 3),
        # 0.1 is the float repr "0.1": one digit, stated with two -> 0.10, not 0.11 (the binary tail is not data)
        (0.1, "0.10", 2),
        # 99.6: 9,9 | 6 -> 10,0 carries -> 1.0E+2 = 100 (last digit in the tens)
        (99.6, "1.0E+2", -1),
        # 5: one significant digit, stated with two -> 5.0
        (5.0, "5.0", 1),
        # very small: 1.234e-300 -> 1,2 | 34 -> 1.3e-300
        (1.234e-300, "1.3E-300", 301),
        # very large: 9.87e300 -> 9,8 | 7 -> 9.9e300
        (9.87e300, "9.9E+300", -299),
        # the smallest subnormal float, repr 5e-324 -> 5.0e-324
        (5e-324, "5.0E-324", 325),
    ],
)
def test_round_expanded_uncertainty_by_hand(U: float, expected: str, decimals: int) -> None:
    r, d = round_expanded_uncertainty(U)
    assert r == Decimal(expected) and str(r) == str(Decimal(expected))  # same digits, trailing zeros kept
    assert d == decimals


def test_cmc_floor_is_stated_when_larger() -> None:
    # calculated U 0.0101 below a CMC of 0.0123: the CMC is stated, rounded up: 1,2 | 3 -> 0.013
    r, d = round_expanded_uncertainty(0.0101, minimum=0.0123)
    assert (r, d) == (Decimal("0.013"), 3)
    # CMC below U: U wins: 0.0101 -> 1,0 | 1 -> 0.011
    assert round_expanded_uncertainty(0.0101, minimum=0.005)[0] == Decimal("0.011")
    assert present(1.0, 0.0101, 2.0, "g", cmc=0.0123).cmc_applied
    assert not present(1.0, 0.0101, 2.0, "g", cmc=0.005).cmc_applied


@pytest.mark.parametrize("bad", [0.0, -0.0, -1e-9, math.inf, -math.inf, math.nan, True, "0.1", None])
def test_bad_U_is_a_clear_value_error(bad: object) -> None:
    with pytest.raises(ValueError, match="U must be"):
        round_expanded_uncertainty(bad)  # type: ignore[arg-type]


def test_bad_minimum_and_digits() -> None:
    with pytest.raises(InputError, match="minimum"):
        round_expanded_uncertainty(0.1, minimum=0.0)
    with pytest.raises(InputError, match="significant_digits"):
        round_expanded_uncertainty(0.1, significant_digits=0)


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        # 100.00012345 to 5 places (U = 0.00030): the 6th place is 3 -> down -> 100.00012
        (100.00012345, 5, "100.00012"),
        # GUM 7.2.6: y = 10.05762 with u = 0.027 (3 places): 4th place 6 -> up -> 10.058
        (10.05762, 3, "10.058"),
        # to the hundreds (U = 1300): 123456.7 -> 123500 (the tens digit 5 rounds half up)
        (123456.7, -2, "1.235E+5"),
        # a small negative value rounding to zero shows as 0.000, not -0.000
        (-0.0004, 3, "0.000"),
        # negative zero in, zero out
        (-0.0, 2, "0.00"),
    ],
)
def test_round_value_to_U_decimal_place(value: float, decimals: int, expected: str) -> None:
    r = round_to_decimals(value, decimals)
    assert str(r) == str(Decimal(expected))
    assert not r.is_signed() or not r.is_zero()


def test_round_value_rejects_non_finite() -> None:
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match="finite"):
            round_to_decimals(bad, 2)


@pytest.mark.parametrize(
    ("k", "vi", "en"),
    [
        (2.0000024438996027, "2,00", "2.00"),  # 2.0000… -> 2.00
        (2.0, "2,00", "2.00"),
        (2.2649, "2,26", "2.26"),  # third place 4 -> down
        (2.265, "2,27", "2.27"),  # repr "2.265": exact half -> half up -> 2.27
        (1.996, "2,00", "2.00"),  # carries
    ],
)
def test_k_two_decimals(k: float, vi: str, en: str) -> None:
    assert format_k(k, "vi") == vi and format_k(k, "en") == en


@pytest.mark.parametrize("bad", [0.0, -2.0, math.nan, math.inf])
def test_bad_k(bad: float) -> None:
    with pytest.raises(ValueError, match="k must be"):
        format_k(bad)


def test_present_the_issue_16_example() -> None:
    # issue 16 showed "0.0002999999999957481" and "k 2.0000024438996027"; by hand: U -> 0.00030 g,
    # value 100.00012345 g to 5 places -> 100.00012 g, k -> 2.00
    p = present(100.00012345, 0.0002999999999957481, 2.0000024438996027, "g")
    assert (p.value, p.U, p.k, p.decimals) == (100.00012, 0.0003, 2.0, 5)
    # Vietnamese: decimal comma; the 5 decimals are grouped 3 + 2 by a narrow no-break space
    assert p.value_text == f"100,000{NNBSP}12 g"
    assert p.U_text == f"0,000{NNBSP}30 g"
    assert p.text == f"100,000{NNBSP}12 g ± 0,000{NNBSP}30 g (k = 2,00)"
    en = present(100.00012345, 0.0002999999999957481, 2.0000024438996027, "g", language="en", group=None)
    assert en.text == "100.00012 g ± 0.00030 g (k = 2.00)"


def test_present_large_U_to_the_hundreds() -> None:
    # U 1234.5 mg -> 1300 mg (up); value 250012.3 mg to the hundreds -> 250000 mg
    p = present(250012.3, 1234.5, 2.0, "mg", group=None)
    assert p.value_text == "250000 mg" and p.U_text == "1300 mg" and p.decimals == -2
    assert p.value == 250000.0 and p.U == 1300.0


def test_present_negative_value_and_dimensionless() -> None:
    # an error of indication -0.01234 g with U 0.0071 g (two digits, exact) -> -0.0123 g
    assert present(-0.01234, 0.0071, 2.0, "g", language="en").text == "-0.0123 g ± 0.0071 g (k = 2.00)"
    # no unit: no trailing space
    assert present(0.5, 0.013, 2.0, "", language="en").text == "0.500 ± 0.013 (k = 2.00)"


def test_present_rejects_bad_language_and_unit() -> None:
    with pytest.raises(ValueError, match="language"):
        present(1.0, 0.1, 2.0, "g", language="fr")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unit"):
        present(1.0, 0.1, 2.0, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="U must be"):
        present(1.0, 0.0, 2.0, "g")


@pytest.mark.parametrize(
    ("d", "vi", "en"),
    [
        (Decimal("1234"), "1234", "1234"),  # four digits: no grouping
        (Decimal("12345.6"), f"12{NNBSP}345,6", f"12{NNBSP}345.6"),
        (Decimal("0.0001234"), f"0,000{NNBSP}123{NNBSP}4", f"0.000{NNBSP}123{NNBSP}4"),
        (Decimal("-1234567"), f"-1{NNBSP}234{NNBSP}567", f"-1{NNBSP}234{NNBSP}567"),
        (Decimal("-0.00"), "0,00", "0.00"),
        (Decimal("1.3E+300"), "1,3 × 10^300", "1.3 × 10^300"),
        (Decimal("5.0E-324"), "5,0 × 10^-324", "5.0 × 10^-324"),
    ],
)
def test_format_number(d: Decimal, vi: str, en: str) -> None:
    assert format_number(d, "vi") == vi and format_number(d, "en") == en


def test_informational_rows() -> None:
    # resolution 0.1 mg -> 1 place: 12.34 mg -> 12.3 mg
    assert present_informational(12.34, "mg", resolution=0.1, language="en").text == "12.3 mg"
    # repeatability 0.00004 g on a 0.0001 g balance: 4 places would print 0.0000; two significant digits -> 0.000040
    assert present_informational(0.00004, "g", resolution=0.0001, language="en", group=None).text == "0.000040 g"
    # no resolution: 4 significant digits: 3.14159 -> 3.142; large values keep their integer part
    assert present_informational(3.14159, "", language="en").text == "3.142"
    assert present_informational(123456.7, "g", language="en", group=None).text == "123457 g"
    assert present_informational(0.0, "g", resolution=0.01, language="en").text == "0.00 g"
    assert present_informational(-0.0, "g").text == "0 g"
    p = present_informational(12.34, "mg", resolution=0.1)
    assert (p.value, p.U, p.k, p.U_text, p.k_text) == (12.3, None, None, None, None)
    with pytest.raises(ValueError, match="resolution"):
        present_informational(1.0, "g", resolution=0.0)


def test_round_up_significant_keeps_sign_and_zero() -> None:
    # a contribution -0.000356: magnitude 3,5 | 6 -> 3,6 -> -0.00036 (further from zero: never a smaller uncertainty)
    assert str(round_up_significant(-0.000356)) == "-0.00036"
    assert round_up_significant(0.0) == 0  # a term left at zero stays zero (its row note says why)
    with pytest.raises(ValueError, match="finite"):
        round_up_significant(math.nan)


def test_budget_of_R_is_V_over_I_by_hand() -> None:
    # R = V/I, V = 5.0 V with u 0.01 V, I = 0.02 A with u 1e-5 A (both normal, infinitely many dof).
    # By hand: c_V = 1/I = 50 Ω/V, contribution 0.5 Ω; c_I = -V/I² = -12500 Ω/A, contribution -0.125 Ω;
    # u_c = sqrt(0.25 + 0.015625) = 0.51539 Ω; k = 1.95996 (95 %, ν = ∞); U = 1.01014 Ω.
    # Shown: u_c 5,1|539 -> 0.52 Ω; U 1,0|1014 -> 1.1 Ω; contributions 0.50 Ω and -0.13 Ω (0.125 up);
    # u(V) 0.010 V so V reads 5.000 V; u(I) 0.000010 A so I reads 0.020000 A; k 1.96; p 95 %.
    from acquisition.methods.base import budget_json

    out = gum(Model.from_expression("V / I", measurand="R"), {"V": normal(5.0, 0.01), "I": normal(0.02, 1e-5)})["R"]
    shown = present_budget(budget_json(out, unit="Ω", units={"V": "V", "I": "A"}), language="en", group=None)
    rows = {r["input"]: r for r in shown["rows"]}
    assert rows["V"] == {
        "input": "V",
        "value": "5.000 V",
        "u": "0.010 V",
        "distribution": "normal",
        "sensitivity": "50.0 Ω/V",
        "contribution": "0.50 Ω",
        "dof": "∞",
    }
    assert (rows["I"]["value"], rows["I"]["u"]) == ("0.020000 A", "0.000010 A")
    assert (rows["I"]["sensitivity"], rows["I"]["contribution"]) == ("-12500 Ω/A", "-0.13 Ω")
    assert (shown["u"], shown["U"], shown["k"], shown["dof"]) == ("0.52 Ω", "1.1 Ω", "1.96", "∞")
    assert shown["coverage_probability"] == "95 %"
    vi = present_budget(budget_json(out, unit="Ω", units={"V": "V", "I": "A"}))
    assert vi["U"] == "1,1 Ω" and vi["rows"][0]["distribution"] == "chuẩn"


def test_budget_zero_term_finite_dof_and_bad_input() -> None:
    budget = {
        "unit": "mg",
        "rows": [
            # ν = 12.7 shown rounded down to 12 (fewer dof, larger k: the conservative side)
            {"input": "dT", "value": 0.5, "unit": "°C", "u": 0.2887, "distribution": "rectangular",
             "sensitivity": -0.00123456, "contribution": -0.000356, "dof": 12.7},
            {"input": "drift", "value": 0.0, "unit": "mg", "u": 0.0, "distribution": "rectangular",
             "sensitivity": 1.0, "contribution": 0.0, "dof": None, "note": "no drift between calibrations"},
        ],
        "U": 0.0,
    }  # fmt: skip
    with pytest.raises(ValueError, match="U must be greater than zero"):
        present_budget(budget)
    budget["U"] = 0.0314  # 3,1 | 4 -> 0.032 mg
    shown = present_budget(budget, language="en", group=None)
    dT, drift = shown["rows"]
    # u 0.2887 -> 0.29 °C, value 0.5 to 2 places -> 0.50 °C, c -0.00123456 -> 3 digits -0.00123 mg/°C
    assert (dT["u"], dT["value"], dT["sensitivity"], dT["dof"]) == ("0.29 °C", "0.50 °C", "-0.00123 mg/°C", "12")
    assert (drift["u"], drift["contribution"], drift["note"]) == ("0 mg", "0 mg", "no drift between calibrations")
    assert shown["U"] == "0.032 mg"
    with pytest.raises(ValueError, match="'unit'"):
        present_budget({"rows": []})
    with pytest.raises(ValueError, match="u must be >= 0"):
        present_budget({"unit": "g", "rows": [{"input": "x", "u": -1.0}]})


# --- properties ---------------------------------------------------------------------------------------------------

POSITIVE_U = st.floats(min_value=5e-324, max_value=1e305, allow_nan=False, allow_infinity=False)


@given(POSITIVE_U)
def test_rounded_U_is_never_below_U(U: float) -> None:
    r, _ = round_expanded_uncertainty(U)
    # never below U, except by the floating-point noise removed beyond 12 significant digits (<= 5e-13 relative)
    assert r >= Decimal(repr(U)) * (1 - Decimal("5e-13"))
    assert float(r) >= U * (1 - 5e-13)


@given(POSITIVE_U)
def test_rounded_U_excess_is_below_one_unit_of_the_second_digit(U: float) -> None:
    d = Decimal(repr(U))
    r, decimals = round_expanded_uncertainty(U)
    unit = Decimal(1).scaleb(d.adjusted() - 1)  # one unit in U's second significant digit
    assert r - d < unit
    assert (r - d) / d < Decimal("0.1")  # hence below 10 % of U
    assert len(r.as_tuple().digits) == 2  # exactly two significant digits stated
    assert decimals == -r.as_tuple().exponent


@given(
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False),
    st.floats(min_value=1e-9, max_value=1e9, allow_nan=False, allow_infinity=False),
)
def test_value_is_rounded_to_U_decimal_place(y: float, U: float) -> None:
    U_r, decimals = round_expanded_uncertainty(U)
    y_r = round_to_decimals(y, decimals)
    assert y_r.as_tuple().exponent == U_r.as_tuple().exponent
    half_unit = Decimal(1).scaleb(-decimals) / 2
    assert abs(y_r - Decimal(repr(y))) <= half_unit


@given(
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False),
    st.floats(min_value=1e-9, max_value=1e6, allow_nan=False, allow_infinity=False),
)
def test_text_reads_back_to_the_numbers(y: float, U: float) -> None:
    p = present(y, U, 2.0, "g", language="vi")
    back = p.value_text.removesuffix(" g").replace(NNBSP, "").replace(",", ".")
    assert Decimal(back) == Decimal(repr(p.value)) or float(back) == p.value
    assert float(p.U_text.removesuffix(" g").replace(NNBSP, "").replace(",", ".")) == p.U


def test_floating_point_noise_is_not_rounded_up() -> None:
    # 0.1 + 0.2 is 0.30000000000000004 in binary floating point; its intended value is 0.3 (two significant
    # digits: 0.30). A genuine excess in the 12th digit still rounds up: 0.30000000001 -> 0.31.
    assert round_expanded_uncertainty(0.1 + 0.2)[0] == Decimal("0.30")
    assert round_expanded_uncertainty(0.30000000001)[0] == Decimal("0.31")


def test_budget_row_texts_in_the_language_with_an_english_fallback() -> None:
    """Decision 0361: ``source_vi`` / ``note_vi`` in Vietnamese, ``source`` / ``note`` in English and, for a budget
    stored before the Vietnamese keys existed, in Vietnamese too."""
    row = {"input": "x", "value": 1.0, "unit": "g", "u": 0.1, "distribution": "normal", "sensitivity": 1.0}
    row |= {"contribution": 0.1, "dof": None, "source": "reading", "note": "zero: none"}
    old = {"unit": "g", "rows": [row], "u": 0.1, "k": 2.0, "U": 0.2}
    new = {**old, "rows": [row | {"source_vi": "số đọc", "note_vi": "bằng không: không có"}]}
    for language in ("vi", "en"):
        shown = present_budget(old, language=language)["rows"][0]
        assert (shown["source"], shown["note"]) == ("reading", "zero: none")
    # the numbers stay in the language: u = 0.1 -> 0.10 (two significant digits), x to its last digit: 1.00
    assert present_budget(old, language="vi")["rows"][0]["value"] == "1,00 g"
    vi, en = present_budget(new, language="vi")["rows"][0], present_budget(new, language="en")["rows"][0]
    assert (vi["source"], vi["note"]) == ("số đọc", "bằng không: không có")
    assert (en["source"], en["note"]) == ("reading", "zero: none")
