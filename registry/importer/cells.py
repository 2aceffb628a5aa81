"""Parsing one cell: text, numbers with a decimal point or a Vietnamese/European decimal comma, ranges and
resolutions with their units, dates, intervals, yes/no and tax codes. Every parser raises :class:`CellError` with
what is wrong and what to write instead."""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from registry.importer.messages import Message, msg
from registry.units import canonical_unit, convert

Cell = object  # str from CSV; str, int, float, bool, datetime, time, timedelta or None from Excel

MAX_INTERVAL_MONTHS = 120
#: the earliest date accepted in a date column: older ones are typos or Excel's zero date (00/01/1900)
EARLIEST_DATE = date(1950, 1, 1)


class CellError(ValueError):
    """A cell that cannot be used; the ``message`` (Vietnamese and English) says why and what to write instead;
    ``str()`` is the English text."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.text("en"))
        self.message = message


def _is_blank(value: Cell) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_text(value: Cell) -> str:
    """A text cell: NFC, whitespace collapsed; numbers as written (``12.0`` -> ``12``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date | time | timedelta):
        raise CellError(msg("cell.date_in_text", value=str(value)))
    return " ".join(unicodedata.normalize("NFC", str(value)).split())


_NUMBER = r"[-+]?(?:\d+(?:[.,]\d+)*|[.,]\d+)"
_DASHES = str.maketrans({"–": "-", "—": "-", "−": "-", "‐": "-", "‑": "-", "\u00a0": " ", "\u202f": " "})


def parse_number(token: str) -> Decimal:
    """A number with a decimal point or a decimal comma; thousands separators only when unambiguous."""
    text = token.strip().translate(_DASHES).replace(" ", "")
    sign = ""
    if text[:1] in "+-":
        sign, text = ("-" if text[0] == "-" else ""), text[1:]
    if not re.fullmatch(r"\d+(?:[.,]\d+)*|[.,]\d+", text):
        raise CellError(msg("number.not_number", token=token))
    commas, dots = text.count(","), text.count(".")
    if commas and dots:
        decimal_sep = "," if text.rfind(",") > text.rfind(".") else "."
        group_sep = "." if decimal_sep == "," else ","
        whole, _, fraction = text.rpartition(decimal_sep)
        if text.count(decimal_sep) > 1 or not re.fullmatch(rf"\d{{1,3}}(?:\{group_sep}\d{{3}})+", whole):
            raise CellError(msg("number.mixed", token=token))
        return Decimal(sign + whole.replace(group_sep, "") + "." + fraction)
    if commas + dots == 0:
        return Decimal(sign + text)
    separator = "," if commas else "."
    if commas + dots > 1:  # 1.000.000 or 1,000,000: thousands separators
        if not re.fullmatch(rf"\d{{1,3}}(?:\{separator}\d{{3}})+", text):
            raise CellError(msg("number.not_number", token=token))
        return Decimal(sign + text.replace(separator, ""))
    whole, fraction = text.split(separator)
    if len(fraction) == 3 and re.fullmatch(r"[1-9]\d{0,2}", whole):
        as_decimal = f"{whole}.{fraction}".rstrip("0").rstrip(".")
        raise CellError(
            msg(
                "number.ambiguous",
                token=token,
                separator=separator,
                as_integer=f"{whole}{fraction}",
                as_decimal=Decimal(as_decimal),  # 2,5 in Vietnamese, 2.5 in English
            )
        )
    return Decimal(sign + (whole or "0") + "." + fraction)


def _cell_number(value: Cell) -> Decimal:
    if isinstance(value, bool):
        raise CellError(msg("number.not_number", token=str(value)))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return parse_number(clean_text(value))


# --- range and resolution --------------------------------------------------------------------------------------------

_SEPARATOR = r"(?:-|÷|\.{2,}|…|~|\bto\b|đến|tới)"
_UNIT_START = r"(?:[^\W\d_]|[°µ%‰℃℉])"  # a letter, °, µ, % or ℃
_UNIT_TOKEN = rf"{_UNIT_START}[^\s,;=()\[\]]*"
_LOW_UNIT = rf"{_UNIT_START}[^\s,;=()\[\].…~÷\-]*"  # a unit before a range separator cannot contain one
_RANGE_RE = re.compile(
    rf"^(?:từ|from)?\s*[(\[]?\s*(?P<lo>{_NUMBER})\s*(?P<lo_unit>{_LOW_UNIT})?\s*{_SEPARATOR}\s*"
    rf"(?P<hi>{_NUMBER})\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_MAX_RE = re.compile(
    rf"^(?:max(?:imum)?\.?|tối đa|đến|up to|≤|<=)?\s*[:=]?\s*(?P<hi>{_NUMBER})\s*(?P<rest>.*)$", re.IGNORECASE
)


@dataclass(frozen=True)
class ParsedRange:
    """A measuring range: ``low`` (None when only the maximum is given) .. ``high`` in ``unit`` ("" if none)."""

    low: Decimal | None
    high: Decimal
    unit: str


def _trailing_unit(rest: str) -> str | None:
    """The unit after the last number ("" when none), or None when the rest is not just a unit."""
    rest = rest.strip().strip("()[]").strip()
    if not rest:
        return ""
    if re.fullmatch(rf"{_UNIT_TOKEN}(?: {_UNIT_TOKEN})?", rest):
        return canonical_unit(rest)
    return None


def parse_range(text: str) -> ParsedRange | None:
    """``0-220 g``, ``0 – 220 g``, ``(0 ÷ 220) g``, ``0 ... 220 g``, ``-50 đến 150 °C``, ``220 g``, ``max 220 g``,
    ``2,5 m³/h``; None when the text is not one range (kept as text only). :class:`CellError` for a range that
    is a range but wrong (minimum above maximum, ends in unconvertible units, ambiguous number)."""
    text = unicodedata.normalize("NFC", text).translate(_DASHES).strip()
    match = _RANGE_RE.match(text)
    if match:
        unit = _trailing_unit(match.group("rest"))
        if unit is None:
            return None
        low, high = parse_number(match.group("lo")), parse_number(match.group("hi"))
        lo_unit = canonical_unit(match.group("lo_unit")) if match.group("lo_unit") else ""
        if lo_unit and not unit:
            unit = lo_unit
        elif lo_unit and lo_unit != unit:
            converted = convert(low, lo_unit, unit, difference=False)
            if converted is None:
                raise CellError(msg("range.units", low_unit=lo_unit, unit=unit))
            low = converted
        if low > high:
            raise CellError(msg("range.min_above_max", low=low, high=high))
        return ParsedRange(low, high, unit)
    match = _MAX_RE.match(text)
    if match:
        unit = _trailing_unit(match.group("rest"))
        if unit is None:
            return None
        return ParsedRange(None, parse_number(match.group("hi")), unit)
    return None


def parse_quantity(value: Cell) -> tuple[Decimal, str]:
    """A resolution such as ``0.1 mg``, ``0,0001 g``, ``d = 0.01 °C`` or a bare number (unit "")."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _cell_number(value), ""
    text = clean_text(value).translate(_DASHES)
    text = re.sub(r"^(?:d|e|resolution|độ phân giải)\s*[=:]\s*", "", text, flags=re.IGNORECASE)
    match = re.fullmatch(rf"(?P<num>{_NUMBER})\s*(?P<rest>.*)", text)
    if not match:
        raise CellError(msg("quantity.not_quantity", text=text))
    unit = _trailing_unit(match.group("rest"))
    if unit is None:
        raise CellError(msg("quantity.not_quantity", text=text))
    return parse_number(match.group("num")), unit


# --- other cells -----------------------------------------------------------------------------------------------------


def parse_date(value: Cell, today: date) -> date | None:
    """A calibration date: an Excel date cell, ISO ``2026-03-15``, Vietnamese ``15/03/2026`` (also ``15-03-2026``,
    ``15.03.2026``, ``ngày 15 tháng 3 năm 2026``); None when empty; never after ``today`` nor before
    :data:`EARLIEST_DATE` (1950: a typo in the year, or Excel's empty date 00/01/1900)."""
    if _is_blank(value):
        return None
    if isinstance(value, datetime):
        found = value.date()
    elif isinstance(value, date):
        found = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        raise CellError(msg("date.number", value=str(value)))
    elif not isinstance(value, str):
        raise CellError(msg("date.not_date_value", value=str(value)))
    else:
        found = _date_from_text(clean_text(value))
    if found > today:
        raise CellError(msg("date.future", found=found, today=today))
    if found < EARLIEST_DATE:
        raise CellError(msg("date.too_early", found=found, year=str(EARLIEST_DATE.year)))
    return found


def _date_from_text(text: str) -> date:
    forms = (
        (r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?", "ISO"),
        (r"(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})", "yyyy/mm/dd"),
        (r"(?P<d>\d{1,2})[/.\-](?P<m>\d{1,2})[/.\-](?P<y>\d{4})(?: \d{1,2}:\d{2}(?::\d{2})?)?", "dd/mm/yyyy"),
        (r"ngày\s*(?P<d>\d{1,2})\s*tháng\s*(?P<m>\d{1,2})\s*năm\s*(?P<y>\d{4})", "ngày d tháng m năm y"),
    )
    for pattern, form in forms:
        match = re.fullmatch(pattern, text, flags=re.IGNORECASE)
        if match:
            try:
                return date(int(match["y"]), int(match["m"]), int(match["d"]))
            except ValueError as exc:
                raise CellError(msg("date.not_calendar", text=text, form=form, detail=str(exc))) from exc
    if re.fullmatch(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2}", text):
        raise CellError(msg("date.two_digit_year", text=text))
    raise CellError(msg("date.not_date", text=text))


def parse_interval(value: Cell) -> int:
    """The calibration interval in whole months, 1..120 (``12``, ``12 tháng``, ``12 months``, ``1 năm``)."""
    if _is_blank(value):
        raise CellError(msg("interval.required"))
    months = Decimal(1)
    if isinstance(value, str):
        text = clean_text(value)
        match = re.fullmatch(r"(?P<n>\S+?)\s*(?P<u>tháng|months?|mo|năm|years?|y)?", text, flags=re.IGNORECASE)
        if not match:
            raise CellError(msg("interval.not_months", text=text))
        if (match["u"] or "").casefold() in ("năm", "year", "years", "y"):
            months = Decimal(12)
        number = parse_number(match["n"]) * months
    else:
        number = _cell_number(value)
    if number != number.to_integral_value():
        raise CellError(msg("interval.not_whole", number=number))
    if number < 1:
        raise CellError(msg("interval.too_short", number=number))
    if number > MAX_INTERVAL_MONTHS:
        raise CellError(msg("interval.too_long", number=number, limit=MAX_INTERVAL_MONTHS))
    return int(number)


def add_months(start: date, months: int) -> date:
    """``start`` plus whole calendar months, the day clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    year, month0 = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day)


_TRUE = {"yes", "y", "true", "1", "x", "có", "co", "c"}
_FALSE = {"no", "n", "false", "0", "không", "khong", "k", ""}


def parse_bool(value: Cell) -> bool:
    """A yes/no cell: yes/no, true/false, 1/0, x (= yes), có/không; empty = no."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = clean_text(value).casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError(msg("bool.not_bool", text=text))


def parse_tax_code(value: Cell) -> str | None:
    """A Vietnamese tax code (mã số thuế): 10 digits, or 10 + ``-`` + 3 for a branch; None when empty."""
    if _is_blank(value):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        digits = clean_text(value)
        if re.fullmatch(r"\d{9}", digits):
            raise CellError(msg("tax.nine_digits", digits=digits))
        text = digits
    else:
        text = re.sub(r"\s+", "", clean_text(value))
    if not re.fullmatch(r"\d{10}(?:-\d{3})?", text):
        raise CellError(msg("tax.not_tax", text=text))
    return text
