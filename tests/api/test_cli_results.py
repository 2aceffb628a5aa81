"""What a technician reads in `runs show` and `calibrate`: rounded values with units, words, local times, budgets,
and CSV that Excel opens as UTF-8.

Every expected string is worked by hand from the rules of docs/presentation.md (GUM 7.2.6 / ILAC P14: U rounded up
to two significant digits, the value to U's last digit; k to two decimals half up; decimal comma and U+202F digit
groups in Vietnamese), in the comments next to it.
"""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from rich.console import Console

from acquisition.wording import quantity_words
from api.cli.results import lab_time, result_row, summary_lines
from api.cli.tables import Format, budget_table, emit

NB = "\u202f"  # the digit-group space


def row(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "quantity": "error of indication",
        "point": 100.0,
        "point_unit": "g",
        "value": 0.0,
        "unit": "g",
        "U": None,
        "k": None,
        "mpe": None,
        "conformity": "notAssessed",
    }
    return {**base, **fields}


def test_a_calibration_result_is_rounded_per_gum_7_2_6_with_units() -> None:
    r = row(value=100.00012345, U=0.0002999999999957481, k=2.0000024438996027, point=100.0)
    # U = 0.000299999… g rounded UP at the 2nd significant digit: 0.00030 (5 decimals); y to 5 decimals: 100.00012;
    # k = 2.0000024… -> 2.00; the decimal part "00012" has five digits, so it is grouped "000 12"
    vi = result_row(r, "vi", seq=3)
    assert vi == {
        "seq": "3",
        "quantity": "sai số chỉ thị",
        "point": "100 g",
        "value": f"100,000{NB}12 g",
        "U": f"0,000{NB}30 g",
        "k": "2,00",
        "mpe": "",
        "conformity": "không đánh giá",
    }
    en = result_row(r, "en", seq=3)
    assert (en["value"], en["U"], en["k"], en["conformity"], en["quantity"]) == (
        f"100.000{NB}12 g",
        f"0.000{NB}30 g",
        "2.00",
        "not assessed",
        "error of indication",
    )


def test_u_is_rounded_up_never_down() -> None:
    # U = 0.3395240 Ω (DMM demo, 10 kΩ point) -> 0.34 Ω (up); y = 0.15113999 Ω -> 2 decimals half up: 0.15 Ω;
    # k = 1.95996… -> 1.96; an English DC voltage reads "error of indication (DC voltage)"
    r = row(
        quantity="error of indication (OHM)",
        point=10000.0,
        point_unit="Ω",
        value=0.1511399999999412,
        unit="Ω",
        U=0.3395240294660623,
        k=1.9599639845678933,
        mpe=0.9000120911999999,
        conformity="pass",
    )
    vi = result_row(r, "vi")
    assert (vi["value"], vi["U"], vi["k"]) == ("0,15 Ω", "0,34 Ω", "1,96")
    # MPE 0.90001209… Ω: four significant digits at most, half up, trailing zeros dropped -> 0.9 Ω
    assert vi["mpe"] == "0,9 Ω"
    assert vi["point"] == f"10{NB}000 Ω"  # five integer digits: grouped
    assert vi["quantity"] == "sai số chỉ thị (điện trở)" and vi["conformity"] == "đạt"
    assert result_row(r, "en")["quantity"] == "error of indication (resistance)"


def test_r76_discrimination_limit_is_labelled_a_minimum() -> None:
    # OIML R76-1:2006 3.8.2.2: the change must be at least d = 0.01 g; the value without U is shown to a hundredth
    # of the limit: 0.01 g has its leading digit at 2 decimals, so 4 decimals: 0.00999999… -> 0.0100 g
    r = row(
        quantity="discrimination: change of indication for 1.4 d",
        point=1100.0,
        value=0.009999999999999787,
        mpe=0.01,
        conformity="pass",
    )
    vi, en = result_row(r, "vi"), result_row(r, "en")
    assert (vi["mpe"], en["mpe"]) == ("0,01 g (tối thiểu)", "0.01 g (minimum)")
    assert (vi["value"], vi["U"], vi["k"]) == ("0,0100 g", "", "")
    assert vi["quantity"] == "độ phân biệt: thay đổi số chỉ khi thêm 1,4 d"


def test_an_mpe_is_a_maximum_and_keeps_its_unit() -> None:
    # R76 MPE 1.5 e with e = 0.1 g, computed as 0.15000000000000002 g -> 0.15 g, no label; the error 0.0187000…1 g
    # to a hundredth of the limit (leading digit at 1 decimal -> 3 decimals): 0.019 g (half up)
    r = row(point=2200.0, value=0.018700000000080763, mpe=0.15000000000000002, conformity="pass")
    vi = result_row(r, "vi")
    assert (vi["mpe"], vi["value"]) == ("0,15 g", "0,019 g")


def test_counts_and_uncertainties_in_use() -> None:
    count = row(quantity="T1-defective prepackages", point=500.0, value=2.0, unit="1", mpe=3.0, conformity="pass")
    vi = result_row(count, "vi")
    assert (vi["value"], vi["mpe"], vi["quantity"]) == ("2", "3", "số gói thiếu quá T1")
    # U0 = 0.00015171… g is an uncertainty: rounded UP to two significant digits, 0.00016 g (never 0.00015)
    u0 = row(quantity="uncertainty in use U0", point=None, point_unit="", value=0.0001517133402896693)
    assert result_row(u0, "vi")["value"] == "0,000\u202f16 g" and result_row(u0, "vi")["point"] == ""


def test_every_conformity_value_is_in_words() -> None:
    assert [result_row(row(conformity=c), "vi")["conformity"] for c in ("pass", "fail", "notAssessed")] == [
        "đạt",
        "không đạt",
        "không đánh giá",
    ]


def test_times_are_shown_in_the_labs_time_zone() -> None:
    # Vietnam keeps UTC+07:00 all year (no daylight saving): 14:05:09 UTC is 21:05:09 in Hanoi, the same day
    at = datetime(2026, 12, 3, 14, 5, 9, tzinfo=UTC)
    assert lab_time(at, "Asia/Ho_Chi_Minh") == "2026-12-03 21:05:09 +07:00"
    assert lab_time(datetime(2026, 12, 3, 20, 0), "Asia/Ho_Chi_Minh") == "2026-12-04 03:00:00 +07:00"  # naive: UTC
    assert lab_time("2026-12-03T14:05:09+00:00", "UTC") == "2026-12-03 14:05:09 +00:00"
    assert lab_time(None, "Asia/Ho_Chi_Minh") == ""
    with pytest.raises(ValueError, match="not a known time zone"):
        lab_time(at, "Mars/Olympus")


def test_the_summary_names_the_reviewer_and_review_time_in_words() -> None:
    summary = {
        "run_id": "R1",
        "state": "reviewed",
        "overall": "pass",
        "created_at": datetime(2026, 12, 3, 1, 0, tzinfo=UTC),
        "reviewer": "lan",
        "reviewed_at": datetime(2026, 12, 3, 17, 30, tzinfo=UTC),
        "standards": {"weights": "W-E2"},
    }
    vi = summary_lines(summary, "vi", "Asia/Ho_Chi_Minh")
    assert "trạng thái       đã xem xét" in vi and "kết luận chung   đạt" in vi
    assert "người xem xét    lan" in vi
    assert "xem xét lúc      2026-12-04 00:30:00 +07:00" in vi  # 17:30 UTC + 7 h crosses midnight
    assert "chuẩn sử dụng    weights: W-E2" in vi
    en = summary_lines(summary, "en", "Asia/Ho_Chi_Minh")
    assert "reviewer         lan" in en and "reviewed         2026-12-04 00:30:00 +07:00" in en
    waiting = summary_lines(
        {**summary, "state": "completed", "reviewer": None, "reviewed_at": None, "lot": ""}, "vi", "UTC"
    )
    assert "người xem xét    chưa xem xét" in waiting and "trạng thái       hoàn thành" in waiting
    assert not any(line.startswith(("xem xét lúc", "lô hàng")) for line in waiting)  # nothing to say: left out


def budget() -> dict[str, Any]:
    """A two-input budget in V, with its totals computed here.

    u_c = √(0.00034² + 0.000348²) = √(1.156e-7 + 1.21104e-7) = √2.36704e-7 = 0.000486522… V (GUM 5.1.2);
    ν_eff = u_c⁴ / (0.000348⁴/50) = 50·(2.36704/1.21104)² = 191.02 (GUM G.4.1); k = 1.9725; U = k·u_c = 0.000959…
    """
    u_c = math.sqrt(0.00034**2 + 0.000348**2)
    return {
        "model": "E = V + c_T·(T − 20 °C)",
        "unit": "V",
        "rows": [
            {
                "input": "V",
                "source": "voltmeter reading",
                "value": 10.00123,
                "unit": "V",
                "u": 0.00034,
                "distribution": "normal",
                "sensitivity": 1.0,
                "contribution": 0.00034,
                "dof": None,
            },
            {
                "input": "T",
                "source": "room temperature",
                "value": 20.3,
                "unit": "°C",
                "u": 0.29,
                "distribution": "rectangular",
                "sensitivity": -0.0012,
                "contribution": -0.000348,
                "dof": 50,
            },
        ],
        "u": u_c,
        "dof": 191.02,
        "k": 1.9725,
        "coverage_probability": 0.95,
        "U": 1.9725 * u_c,
    }


def test_a_budget_table_has_units_and_rounded_numbers() -> None:
    out = io.StringIO()
    assert budget_table(Console(file=out, width=200), "ngân sách #1", budget())
    text = out.getvalue()
    # row V: u 0.00034 V (two significant digits already), x to u's last digit: 10.00123 V -> "10,001 23 V";
    # c = 1 -> "1,00" (three significant digits, V/V has no unit); dof None -> ∞
    for cell in (f"10,001{NB}23 V", f"0,000{NB}34 V", "chuẩn", "1,00", "∞"):
        assert cell in text, cell
    # row T: u 0.29 °C -> x to 2 decimals "20,30 °C"; c = -0.0012 V/°C -> "-0,001 20 V/°C" (3 significant digits);
    # contribution -0.000348 V rounded up in magnitude -> "-0,000 35 V"; rectangular -> "chữ nhật"; ν = 50
    for cell in ("20,30 °C", "0,29 °C", f"-0,001{NB}20 V/°C", f"-0,000{NB}35 V", "chữ nhật", " 50 "):
        assert cell in text, cell
    # totals: u_c 0.000486… -> up: 0.00049 V; ν_eff 191.02 -> down: 191; k 1.9725 -> 1.97; U 0.000959… -> 0.00096 V
    assert f"u_c   = 0,000{NB}49 V" in text
    assert "ν_eff = 191" in text
    assert "k     = 1,97 (xác suất phủ 95 %)" in text
    assert f"U     = k·u_c = 0,000{NB}96 V" in text
    assert "mô hình: E = V + c_T·(T − 20 °C)" in text
    assert "đại lượng vào" in text and "hệ số nhạy" in text


def test_a_budget_table_in_english() -> None:
    out = io.StringIO()
    assert budget_table(Console(file=out, width=200), "budget #1", budget(), "en")
    text = out.getvalue()
    assert f"U     = k·u_c = 0.000{NB}96 V" in text and "k     = 1.97 (coverage probability 95 %)" in text
    assert "sensitivity" in text and "rectangular" in text and "model: " in text


def test_no_budget_prints_nothing() -> None:
    out = io.StringIO()
    assert not budget_table(Console(file=out), "x", None) and out.getvalue() == ""


def test_csv_is_utf8_with_a_byte_order_mark(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    emit([{"name": "Nguyễn Thị Lan", "n": 2}], [("name", "name"), ("n", "n")], Format.CSV)
    data = capsysbinary.readouterr().out
    assert data[:3] == b"\xef\xbb\xbf"  # the UTF-8 BOM Excel needs to read the file as UTF-8
    assert data[3:] == "name,n\nNguyễn Thị Lan,2\n".encode()


def test_every_quantity_word_table_entry_has_both_languages() -> None:
    from acquisition.wording import FUNCTION_WORDS, QUANTITY_WORDS

    for table in (QUANTITY_WORDS, FUNCTION_WORDS):
        for key, words in table.items():
            assert set(words) == {"vi", "en"} and words["vi"] and words["en"], key
            assert words["vi"] != words["en"], f"{key}: the Vietnamese words are the English ones"
    assert quantity_words("something new") == "something new"  # shown rather than hidden


def test_every_run_state_and_only_those_have_words() -> None:
    from api.cli.results import STATE_WORDS
    from registry.models import RunState

    assert set(STATE_WORDS) == {s.value for s in RunState}
    for words in STATE_WORDS.values():
        assert words["vi"] and words["en"]
