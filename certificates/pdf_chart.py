"""The certificate's chart as inline SVG, drawn here: error (or deviation) against the measuring point (load, flow,
nominal value) with the expanded uncertainty U as error bars, and the MPE lines where the DCC states limits.

Plotted are the results that have a reference point, a numeric value and a stated U or limits (a verification's
errors against ±MPE state no U: no bar is drawn) (:mod:`certificates.pdf_view`), one series per result name
(increasing and decreasing load are two series), in the unit most of them share. A limit pair
(``basic_toleranceLimitLower``/``Upper``, or ``basic_acceptanceLimit*``) at a point is drawn as a dashed line
through the points. Nothing is fitted or interpolated: the markers are the DCC's numbers.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from html import escape

from certificates.pdf_view import Bi, ResultRow

WIDTH, HEIGHT = 680.0, 300.0
LEFT, RIGHT, TOP, BOTTOM = 78.0, 16.0, 14.0, 40.0
COLOURS = ("#1f4e8c", "#c0392b", "#2e7d32", "#7b3fa0", "#b8860b")


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    U: float


@dataclass
class Series:
    name: Bi
    points: list[Point]
    colour: str = ""
    marker: str = "circle"


@dataclass
class Chart:
    """The chart's data (also what the tests check) and its SVG."""

    series: list[Series]
    limits: list[tuple[float, float, float]]  # (x, lower, upper)
    x_unit: str
    y_unit: str
    x_label: Bi
    y_label: Bi
    svg: str


def _float(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """Round tick values covering [lo, hi] (steps 1, 2, 2.5 or 5 times a power of ten)."""
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / n
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    if ticks[-1] < hi:
        ticks.append(round(t, 12))
    return ticks


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    text = f"{v:.6g}"
    return text.replace("e-0", "e-").replace("e+0", "e")


def chart(results: list[ResultRow]) -> Chart | None:
    """The chart of ``results``, or None when fewer than two points can be plotted."""
    usable = [
        r
        for r in results
        if r.point is not None
        and r.value is not None
        and r.point.number is not None
        and r.value.number is not None
        and (_float(r.value.U) is not None or r.lower is not None or r.upper is not None)
    ]
    if not usable:
        return None
    y_unit = Counter(r.value.unit for r in usable if r.value).most_common(1)[0][0]
    usable = [r for r in usable if r.value and r.value.unit == y_unit]
    x_unit = Counter(r.point.unit for r in usable if r.point).most_common(1)[0][0]
    usable = [r for r in usable if r.point and r.point.unit == x_unit]
    if len(usable) < 2:
        return None
    series: dict[str, Series] = {}
    limits: list[tuple[float, float, float]] = []
    for r in usable:
        assert r.point is not None and r.value is not None
        x, y, U = r.point.number, r.value.number, _float(r.value.U) or 0.0  # a verification states no U: no bar
        assert x is not None and y is not None
        series.setdefault(r.name.en, Series(r.name, [])).points.append(Point(x, y, U))
        lo = _float(r.lower.value) if r.lower and r.lower.unit == y_unit else None
        hi = _float(r.upper.value) if r.upper and r.upper.unit == y_unit else None
        if lo is not None and hi is not None:
            limits.append((x, lo, hi))
    limits = sorted(set(limits))
    for i, s in enumerate(series.values()):
        s.colour, s.marker = COLOURS[i % len(COLOURS)], "square" if i % 2 else "circle"
    first = usable[0]
    y_label = first.name if len(series) == 1 else Bi("Sai số", "Error")
    return Chart(
        list(series.values()), limits, x_unit, y_unit, Bi("Điểm đo", "Measuring point"), y_label,
        _svg(list(series.values()), limits, x_unit, y_unit, y_label),
    )  # fmt: skip


def _svg(series: list[Series], limits: list[tuple[float, float, float]], x_unit: str, y_unit: str, y_label: Bi) -> str:
    xs = [p.x for s in series for p in s.points] + [x for x, _, _ in limits]
    ys = [p.y - p.U for s in series for p in s.points] + [p.y + p.U for s in series for p in s.points]
    ys += [v for _, lo, hi in limits for v in (lo, hi)] + [0.0]
    x_ticks = _ticks(min(*xs, 0.0), max(xs))
    y_ticks = _ticks(min(ys), max(ys))
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return TOP + (y1 - y) / (y1 - y0) * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH:g} {HEIGHT:g}" '
        f'width="{WIDTH:g}" height="{HEIGHT:g}" font-size="11" font-family="Cert Sans">'
    ]
    for t in y_ticks:
        out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{py(t):.2f}" y2="{py(t):.2f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 5}" y="{py(t) + 4:.2f}" text-anchor="end">{_fmt(t)}</text>')
    for t in x_ticks:
        out.append(f'<line x1="{px(t):.2f}" x2="{px(t):.2f}" y1="{TOP}" y2="{TOP + ph}" stroke="#eee"/>')
        out.append(f'<text x="{px(t):.2f}" y="{TOP + ph + 15}" text-anchor="middle">{_fmt(t)}</text>')
    if y0 < 0 < y1:
        out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{py(0):.2f}" y2="{py(0):.2f}" stroke="#555"/>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw:g}" height="{ph:g}" fill="none" stroke="#333"/>')
    if limits:
        for idx in (1, 2):
            pts = " ".join(f"{px(lim[0]):.2f},{py(lim[idx]):.2f}" for lim in limits)
            out.append(
                f'<polyline class="mpe" points="{pts}" fill="none" stroke="#b03030" stroke-dasharray="6 4"'
                ' stroke-width="1.2"/>'
            )
    n = len(series)
    span = (x1 - x0) / pw * 4  # 4 px apart, so increasing and decreasing load at one point do not hide each other
    for i, s in enumerate(series):
        colour = s.colour
        shift = (i - (n - 1) / 2) * span
        for p in s.points:
            cx, top, bottom = px(p.x + shift), py(p.y + p.U), py(p.y - p.U)
            if p.U > 0:
                out.append(
                    f'<line class="ubar" x1="{cx:.2f}" x2="{cx:.2f}" y1="{top:.2f}" y2="{bottom:.2f}" '
                    f'stroke="{colour}" stroke-width="1.2"/>'
                )
                for yy in (top, bottom):
                    out.append(
                        f'<line x1="{cx - 3:.2f}" x2="{cx + 3:.2f}" y1="{yy:.2f}" y2="{yy:.2f}" stroke="{colour}"/>'
                    )
            if s.marker == "square":
                out.append(f'<rect class="point" x="{cx - 3:.2f}" y="{py(p.y) - 3:.2f}" width="6" height="6" '
                           f'fill="{colour}"/>')  # fmt: skip
            else:
                out.append(f'<circle class="point" cx="{cx:.2f}" cy="{py(p.y):.2f}" r="3.2" fill="{colour}"/>')
    unit = f" ({escape(x_unit)})" if x_unit else ""
    out.append(
        f'<text x="{LEFT + pw / 2:.2f}" y="{HEIGHT - 8}" text-anchor="middle">Điểm đo / Measuring point{unit}</text>'
    )
    yunit = f" ({escape(y_unit)})" if y_unit else ""
    label = escape(y_label.vi if y_label.same else f"{y_label.vi} / {y_label.en}") + yunit
    out.append(f'<text transform="translate(14 {TOP + ph / 2:.2f}) rotate(-90)" text-anchor="middle">{label}</text>')
    out.append("</svg>")
    return "".join(out)
