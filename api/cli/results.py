"""Results as a technician reads them: the rows of ``caltrace runs show`` and ``caltrace calibrate``.

Each result (the ``PointResult.as_dict`` / ``registry.runs.result_json`` shape) becomes text in Vietnamese (default)
or English (docs/presentation.md, decision 0360):

* value ± U: U rounded **up** to two significant digits and the value to U's last digit (JCGM 100:2008 7.2.6;
  ILAC P14 — :func:`uncertainty.presentation.round_expanded_uncertainty`), both with the result's unit; a value
  without U (an informational row) with four significant digits
  (:func:`~uncertainty.presentation.present_informational`);
* k to two decimals; the quantity and the conformity in words (:mod:`acquisition.wording`);
* the limit (``mpe``) with its unit and four significant digits at most (a caltrace convention: the decision was
  made on the unrounded limit), labelled "tối thiểu" / "minimum" when the result must be at least the limit (OIML
  R76-1:2006 discrimination, :data:`acquisition.wording.MINIMUM_LIMITS`);
* times in the lab's time zone (CALTRACE_TIMEZONE, ``registry.settings.Settings.timezone``);
* for a calibration, where the laboratory's CMC at the result's point (``registry.runs.run_cmc``) is larger than
  the computed U, a ``CMC`` column gives the CMC (rounded up to two significant digits, like U) marked ``*``, and
  the caption says the certificate states the CMC: a certificate may not state U below the CMC (ILAC P14:09/2020;
  clause unverified). The row's ``cmc`` (:func:`with_cmc`) keeps both numbers unrounded for JSON.

Only printed text is rounded; ``--format json`` / ``--json`` keep every digit. Heavy modules are imported inside
the functions, so starting the CLI stays light.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

Language = Literal["vi", "en"]

#: (key, Vietnamese heading, English heading) of the results table
RESULT_HEADINGS: tuple[tuple[str, str, str], ...] = (
    ("seq", "#", "#"),
    ("quantity", "đại lượng", "quantity"),
    ("point", "điểm đo", "point"),
    ("value", "giá trị", "value"),
    ("U", "U", "U"),
    ("k", "k", "k"),
    ("mpe", "MPE / giới hạn", "MPE / limit"),
    ("conformity", "kết luận", "conformity"),
)

#: (key, Vietnamese label, English label) of the run summary that ``runs show`` prints above the results
SUMMARY_LABELS: tuple[tuple[str, str, str], ...] = (
    ("run_id", "lần chạy", "run"),
    ("procedure", "quy trình", "procedure"),
    ("version", "phiên bản", "version"),
    ("instrument", "phương tiện đo", "instrument"),
    ("lot", "lô hàng", "lot"),
    ("technician", "người thực hiện", "technician"),
    ("standards", "chuẩn sử dụng", "standards"),
    ("state", "trạng thái", "state"),
    ("current_step", "bước hiện tại", "current step"),
    ("message", "thông báo", "message"),
    ("overall", "kết luận chung", "overall"),
    ("created_at", "tạo lúc", "created"),
    ("finished_at", "kết thúc lúc", "finished"),
    ("steps_completed", "số bước đã xong", "steps done"),
    ("reviewer", "người xem xét", "reviewer"),
    ("reviewed_at", "xem xét lúc", "reviewed"),
)

#: run states in words (registry.models.RunState values)
STATE_WORDS: dict[str, dict[str, str]] = {
    "created": {"vi": "mới tạo", "en": "created"},
    "running": {"vi": "đang chạy", "en": "running"},
    "paused": {"vi": "tạm dừng", "en": "paused"},
    "completed": {"vi": "hoàn thành", "en": "completed"},
    "reviewed": {"vi": "đã xem xét", "en": "reviewed"},
    "aborted": {"vi": "đã hủy", "en": "aborted"},
}

#: results that are themselves uncertainties (EURAMET cg-18 v4.0 §8, the uncertainty in use U(W) ≈ U0 + α·W):
#: shown rounded **up** to two significant digits like U (GUM 7.2.6), never half up
UNCERTAINTY_QUANTITIES: frozenset[str] = frozenset({"uncertainty in use U0", "uncertainty in use slope alpha"})

#: significant digits of a limit (MPE) or a nominal point shown (caltrace convention)
LIMIT_DIGITS = 4
POINT_DIGITS = 6


def check_language(language: str) -> Language:
    """``vi`` or ``en``; ValueError otherwise."""
    if language == "vi":
        return "vi"
    if language == "en":
        return "en"
    raise ValueError(f"--lang must be vi or en, got {language!r}")


def _plain(x: float, unit: str, language: Language, digits: int) -> str:
    """A specified number (a nominal point, a limit): at most ``digits`` significant digits (half up), trailing
    zeros dropped, with its unit."""
    from decimal import Decimal

    from uncertainty.presentation import format_number, round_to_decimals

    d = Decimal(repr(float(x)))
    if d.is_zero():
        text = "0"
    else:
        r = round_to_decimals(float(x), digits - 1 - d.adjusted()).normalize()
        text = format_number(r, language)
    return f"{text} {unit}" if unit and unit != "1" else text


def value_and_u(result: Mapping[str, Any], language: Language) -> tuple[str, str, str]:
    """(value, U, k) texts of one result; "" for what is absent. Units follow the numbers (a unit ``1`` is not
    written).

    With U > 0: per GUM 7.2.6 / ILAC P14, U rounded up to two significant digits and the value to U's last digit.
    A result that is itself an uncertainty (:data:`UNCERTAINTY_QUANTITIES`) is rounded up to two significant
    digits. Without U (caltrace conventions): a whole number without unit (a count) as an integer; a value judged
    against a limit to two decimal places beyond the limit's leading digit (a hundredth of the limit: MPE 0.05 g
    -> 4 decimals, 0.1 g -> 3); otherwise four significant digits
    (:func:`~uncertainty.presentation.present_informational`)."""
    from uncertainty.presentation import (
        format_k,
        format_number,
        present_informational,
        round_expanded_uncertainty,
        round_to_decimals,
        round_up_significant,
    )

    unit = str(result.get("unit") or "")
    unit = "" if unit == "1" else unit
    value = float(result["value"])
    U = result.get("U")
    k = result.get("k")
    k_text = format_k(float(k), language) if isinstance(k, int | float) and k > 0 else ""
    if isinstance(U, int | float) and U > 0:
        U_r, decimals = round_expanded_uncertainty(float(U))
        y_r = round_to_decimals(value, decimals)
        with_unit = (lambda t: f"{t} {unit}") if unit else (lambda t: t)
        return with_unit(format_number(y_r, language)), with_unit(format_number(U_r, language)), k_text
    mpe = result.get("mpe")
    if result.get("quantity") in UNCERTAINTY_QUANTITIES and value > 0:  # an uncertainty: never shown smaller
        shown = format_number(round_up_significant(value), language) + (f" {unit}" if unit else "")
    elif float(value).is_integer() and not unit:  # a count (defective prepackages, a lot decision)
        shown = format_number(round_to_decimals(value, 0), language)
    elif isinstance(mpe, int | float) and mpe > 0:  # judged without U: to a hundredth of the limit
        decimals = 2 - math.floor(math.log10(mpe))
        shown = format_number(round_to_decimals(value, decimals), language) + (f" {unit}" if unit else "")
    else:
        shown = present_informational(value, unit, language=language).text
    return shown, ("0" if U == 0 else ""), k_text


def limit_text(result: Mapping[str, Any], language: Language) -> str:
    """The limit of a judged result with its unit; "tối thiểu" / "minimum" after a minimum-type limit."""
    from acquisition.wording import limit_kind, limit_words

    mpe = result.get("mpe")
    if not isinstance(mpe, int | float):
        return ""
    text = _plain(float(mpe), str(result.get("unit") or ""), language, LIMIT_DIGITS)
    quantity = str(result.get("quantity") or "")
    if limit_kind(quantity) == "minimum":
        return f"{text} ({limit_words('minimum', language)})"
    return text


def result_row(result: Mapping[str, Any], language: Language, seq: int | None = None) -> dict[str, str]:
    """One result as the texts of :data:`RESULT_HEADINGS` (keys ``seq``, ``quantity``, ``point``, ``value``,
    ``U``, ``k``, ``mpe``, ``conformity``)."""
    from acquisition.wording import conformity_words, quantity_words

    value, U, k = value_and_u(result, language)
    point = result.get("point")
    number = seq if seq is not None else result.get("seq")
    return {
        "seq": "" if number is None else str(number),
        "quantity": quantity_words(str(result.get("quantity") or ""), language),
        "point": (
            "" if point is None else _plain(float(point), str(result.get("point_unit") or ""), language, POINT_DIGITS)
        ),
        "value": value,
        "U": U,
        "k": k,
        "mpe": limit_text(result, language),
        "conformity": conformity_words(str(result.get("conformity") or "notAssessed"), language),
    }


#: the caption under a results table with a result whose U is below the CMC
CMC_NOTE: dict[str, str] = {
    "vi": "* U < CMC: giấy chứng nhận ghi CMC, không ghi U tính được",
    "en": "* U < CMC: the certificate states the CMC, not the computed U",
}


def with_cmc(results: Sequence[Mapping[str, Any]], matches: Sequence[Any]) -> list[dict[str, Any]]:
    """``results`` with ``cmc`` added where a CMC line holds (``registry.queries.CmcMatch`` per result, None where
    none does): ``{"value", "unit", "line", "quantity", "range", "method", "U_below_cmc"}``, the CMC in the unit of
    U, unrounded; ``U_below_cmc`` is true when the computed U is smaller (the certificate then states the CMC)."""
    out = []
    for r, match in zip(results, matches, strict=True):
        row = dict(r)
        if match is not None:
            U = r.get("U")
            row["cmc"] = {
                "value": match.value,
                "unit": match.unit,
                "line": match.line_id,
                "quantity": match.quantity,
                "range": match.range_text,
                "method": match.method_reference,
                "U_below_cmc": isinstance(U, int | float) and match.value > U,
            }
        out.append(row)
    return out


def cmc_text(result: Mapping[str, Any], language: Language) -> str:
    """The CMC of a result whose U is below it, rounded **up** to two significant digits with its unit and marked
    ``*``; "" otherwise (no CMC line, or U not below the CMC)."""
    from uncertainty.presentation import format_number, round_expanded_uncertainty

    cmc = result.get("cmc")
    if not isinstance(cmc, Mapping) or not cmc.get("U_below_cmc"):
        return ""
    rounded, _ = round_expanded_uncertainty(float(cmc["value"]))
    unit = "" if cmc.get("unit") in ("", "1", None) else f" {cmc['unit']}"
    return f"{format_number(rounded, language)}{unit} *"


def results_table(title: str, results: Sequence[Mapping[str, Any]], language: Language) -> Any:
    """A rich table of ``results`` in ``language`` (numbers right-aligned); a ``CMC`` column after U when a
    result's U is below the laboratory's CMC (:func:`cmc_text`), explained in the caption (:data:`CMC_NOTE`)."""
    from rich.table import Table

    marked = any(cmc_text(r, language) for r in results)
    table = Table(title=title or None, caption=CMC_NOTE[language] if marked else None)
    index = 1 if language == "vi" else 2
    for heading in RESULT_HEADINGS:
        table.add_column(heading[index], justify="left" if heading[0] in ("quantity", "conformity") else "right")
        if marked and heading[0] == "U":
            table.add_column("CMC", justify="right")
    for n, r in enumerate(results, 1):
        seq = r.get("seq")
        row = result_row(r, language, seq=seq if isinstance(seq, int) else n)
        cells = []
        for key, _, _ in RESULT_HEADINGS:
            cells.append(row[key])
            if marked and key == "U":
                cells.append(cmc_text(r, language))
        table.add_row(*cells)
    return table


def lab_time(value: datetime | str | None, timezone: str) -> str:
    """A stored UTC time in the lab's time zone, ``2026-12-03 21:24:05 +07:00``; "" for None. A naive datetime
    is taken as UTC (the registry stores UTC)."""
    from datetime import UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"CALTRACE_TIMEZONE {timezone!r} is not a known time zone; use e.g. Asia/Ho_Chi_Minh"
        ) from None
    local = value.astimezone(zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def summary_lines(summary: Mapping[str, Any], language: Language, timezone: str) -> list[str]:
    """The run summary as ``label  value`` lines in ``language``, times in the lab's time zone; empty fields are
    left out, a run nobody reviewed yet says so."""
    from acquisition.wording import conformity_words

    index = 1 if language == "vi" else 2
    lines = []
    for entry in SUMMARY_LABELS:
        key, label = entry[0], entry[index]
        if key not in summary:
            continue
        value = summary[key]
        if key == "reviewer" and not value:
            value = "chưa xem xét" if language == "vi" else "not reviewed"
        if value is None or value in ("", {}):  # nothing to say (no lot, no message, not finished)
            continue
        if key in ("created_at", "finished_at", "reviewed_at"):
            text = lab_time(value, timezone)
        elif key == "overall" and value:
            text = conformity_words(str(value), language)
        elif key == "state" and value in STATE_WORDS:
            text = STATE_WORDS[str(value)][language]
        elif key == "standards" and isinstance(value, Mapping):
            text = ", ".join(f"{role}: {code}" for role, code in value.items())
        else:
            text = "" if value is None else str(value)
        lines.append(f"{label:16} {text}".rstrip())
    return lines


def budget_title(result: Mapping[str, Any], seq: int, language: str) -> str:
    """``bảng ngân sách độ không đảm bảo đo #3: sai số chỉ thị 100 g`` / ``budget #3: error of indication 100 g``."""
    from acquisition.wording import quantity_words

    lang = check_language(language)
    point = result_row(result, lang)["point"]
    head = "ngân sách độ không đảm bảo đo" if lang == "vi" else "budget"
    return f"{head} #{seq}: {quantity_words(str(result['quantity']), lang)} {point}".rstrip()
