"""``dmm-calibration``: a digital multimeter calibrated against a Fluke 5520A multifunction calibrator.

Roles: ``dmm`` (the multimeter under test; its driver must offer ``configure(function, range)``: Keysight 34465A or
HP 3458A), ``calibrator`` (a reference standard of kind ``multifunction calibrator`` driven remotely:
``set_output(value, unit, frequency)``, ``operate()``, ``standby()``) and ``environment`` (a thermo-hygro-barometer).

Steps: environment at the start; for each test point (parameter ``points``, default :data:`DEFAULT_POINTS`) one step
whose remote commands set the DMM's function and range, set the calibrator's output and switch it to operate, after
which ``readings_per_point`` DMM readings are kept once their spread is within ``stability_spread`` times the
calibrator's specification limit at that point. Before the first point of each kind of connection (voltage, current,
4-wire resistance) the calibrator goes to standby and the operator makes the connection. A final command-only step
puts the calibrator in standby; environment at the end.

Evaluation per point: :func:`acquisition.methods.electrical.dmm_point` — error E = mean reading − nominal output,
U from the readings' repeatability, the DMM's resolution and the calibrator's 1-year specification
(:data:`~acquisition.methods.electrical.FLUKE_5520A_1Y`, taken as rectangular by default because its 99 % confidence
statement is not verified), conformity to the DMM's own specification (``dmm_spec``: the 34465A 1-year table, or
the 3458A DCV table for 24 hours, 90 days or 1 year, see :data:`DMM_SPECS`) by guarded acceptance (ILAC G8, w = U)
unless ``decision_rule`` is ``simple``. Each result names the specification rows it used and whether they were
verified against the manufacturer's text.

Units: points are given in ``unit`` (V, mV, A, mA, µA, Ω, kΩ, MΩ; ``ohm`` also accepted) with their DMM ``range``
and optional ``resolution`` in the same unit; ``frequency_hz`` in Hz (AC only). Results are in V, A or Ω.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from acquisition.channel import OperatorAction
from acquisition.methods.base import PointResult
from acquisition.methods.electrical import (
    FLUKE_5520A_1Y,
    FUNCTIONS,
    HP_3458A_1Y,
    HP_3458A_24H,
    HP_3458A_90D,
    HP_3458A_OPT002_1Y,
    HP_3458A_OPT002_90D,
    KEYSIGHT_34465A_1Y,
    DMMSpec,
    calibrator_limit,
    dmm_point,
    dmm_tolerance,
)
from acquisition.procedures.base import (
    ENVIRONMENT_ROLE,
    DeviceCommand,
    EnvironmentLimit,
    Procedure,
    ProcedureDefinition,
    RoleSpec,
    RunContext,
    Step,
    StepData,
)
from acquisition.procedures.params import ParamSpec, choice, number, spec_named
from acquisition.stability import StabilityCriterion
from acquisition.wording import Language, number_text

#: dmm_spec parameter -> the DMM specification judged against (None: calibration without a conformity statement).
#: The 3458A tables hold DCV only (``-opt002``: a meter with the Option 002 high-stability reference).
DMM_SPECS: dict[str, DMMSpec | None] = {
    "keysight-34465a-1y": KEYSIGHT_34465A_1Y,
    "hp-3458a-24h": HP_3458A_24H,
    "hp-3458a-90d": HP_3458A_90D,
    "hp-3458a-1y": HP_3458A_1Y,
    "hp-3458a-opt002-90d": HP_3458A_OPT002_90D,
    "hp-3458a-opt002-1y": HP_3458A_OPT002_1Y,
    "none": None,
}

#: function -> (DMM driver function, calibrator output unit, unit of the DMM's readings, connection)
SETUP: dict[str, tuple[str, str, str, str]] = {
    "DCV": ("dc_voltage", "V", "V", "voltage"),
    "ACV": ("ac_voltage", "V", "V", "voltage"),
    "DCI": ("dc_current", "A", "A", "current"),
    "ACI": ("ac_current", "A", "A", "current"),
    "OHM": ("resistance_4w", "OHM", "ohm", "resistance-4w"),
}

#: connection -> (Vietnamese, English) name, for the step title
CONNECTION_NAMES: dict[str, tuple[str, str]] = {
    "voltage": ("điện áp", "voltage"),
    "current": ("dòng điện", "current"),
    "resistance-4w": ("điện trở 4 dây", "4-wire resistance"),
}

#: connection -> (Vietnamese, English) instruction; the calibrator is in standby while the operator connects
CONNECTIONS: dict[str, tuple[str, str]] = {
    "voltage": (
        "Nối đầu vào điện áp HI/LO của đồng hồ vạn năng với đầu ra NORMAL HI/LO của máy hiệu chuẩn",
        "Connect the DMM's voltage input (HI/LO) to the calibrator's NORMAL HI/LO output",
    ),
    "current": (
        "Nối các đầu đo dòng điện của đồng hồ vạn năng (I/LO) với đầu ra AUX/A của máy hiệu chuẩn",
        "Connect the DMM's current terminals (I/LO) to the calibrator's AUX/A output",
    ),
    "resistance-4w": (
        "Nối dây đo điện trở 4 dây: HI/LO của đồng hồ với NORMAL HI/LO, SENSE HI/LO với AUX (Ω SENSE) của máy "
        "hiệu chuẩn",
        "Connect the 4-wire ohms leads: DMM HI/LO to the calibrator's NORMAL HI/LO, DMM SENSE HI/LO to its "
        "AUX (Ω SENSE) HI/LO",
    ),
}

#: default test plan: DCV on four ranges, ACV at 1 kHz, DCI, 4-wire resistance (units as written in each row)
DEFAULT_POINTS: tuple[dict[str, Any], ...] = (
    {"function": "DCV", "value": 0.1, "unit": "V", "range": 0.1},
    {"function": "DCV", "value": 1.0, "unit": "V", "range": 1.0},
    {"function": "DCV", "value": 10.0, "unit": "V", "range": 10.0},
    {"function": "DCV", "value": 100.0, "unit": "V", "range": 100.0},
    {"function": "ACV", "value": 1.0, "unit": "V", "frequency_hz": 1000.0, "range": 1.0},
    {"function": "ACV", "value": 10.0, "unit": "V", "frequency_hz": 1000.0, "range": 10.0},
    {"function": "DCI", "value": 10.0, "unit": "mA", "range": 10.0},
    {"function": "DCI", "value": 1.0, "unit": "A", "range": 1.0},
    {"function": "OHM", "value": 100.0, "unit": "Ω", "range": 100.0},
    {"function": "OHM", "value": 10.0, "unit": "kΩ", "range": 10.0},
)

_PREFIX = {"": 1.0, "µ": 1e-6, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6}
_SYMBOL = {"V": "V", "A": "A", "OHM": "Ω"}
_K95 = 1.96  # lower bound of k = t_95(ν_eff) for the plan-time check of U against the tolerance


@dataclass(frozen=True)
class DmmPoint:
    """One test point in base units: ``value`` and ``range`` in V, A or Ω; ``frequency`` Hz; ``resolution`` the
    DMM's last digit on that range (same unit)."""

    function: str
    value: float
    frequency: float
    range: float
    resolution: float

    @property
    def unit(self) -> str:
        """Unit of the value (V, A, Ω)."""
        return FUNCTIONS[self.function]

    @property
    def connection(self) -> str:
        """Which terminals the point needs (voltage, current, resistance-4w)."""
        return SETUP[self.function][3]

    def label(self, language: Language = "en") -> str:
        """``DCV 10 V``, ``ACV 1 V 1 kHz``, ``OHM 10 kΩ`` (``DCV 1,5 V`` in Vietnamese, ``DCV 1.5 V`` in English)."""
        text = f"{self.function} {_human(self.value, self.unit, language)}"
        return text + (f" {_human(self.frequency, 'Hz', language)}" if self.frequency else "")


def _human(value: float, unit: str, language: Language = "en") -> str:
    """``value`` in ``unit`` with an SI prefix, six significant digits (the decimal comma in Vietnamese)."""
    a = abs(value)
    if a == 0:
        return f"0 {unit}"
    for prefix, scale in (("M", 1e6), ("k", 1e3), ("", 1.0), ("m", 1e-3), ("µ", 1e-6)):
        if a >= scale or prefix == "µ":
            return f"{number_text(value / scale, language)} {prefix}{unit}"
    return f"{number_text(value, language)} {unit}"  # pragma: no cover - the loop always returns


def _scale(unit: str, function: str, where: str) -> float:
    """Factor from ``unit`` (V, mV, A, mA, µA, Ω, kΩ, ohm...) to the function's base unit."""
    text = unit.strip()
    base = FUNCTIONS[function]
    if base == "Ω":
        for symbol in ("Ω", "ohm", "OHM", "Ohm"):
            if text.endswith(symbol):
                prefix = text[: -len(symbol)]
                break
        else:
            prefix = None
    else:
        prefix = text[:-1] if text.endswith(base) else None
    if prefix is None or prefix not in _PREFIX:
        raise ValueError(f"{where}: unit {unit!r} does not fit {function}; give it in {base} (or m{base}, k{base}...)")
    return _PREFIX[prefix]


def _number(row: Mapping[str, Any], key: str, where: str, default: float | None = None) -> float:
    """Field ``key`` of a test point as a finite number (or ``default``); ValueError names the point and field."""
    value = row.get(key, default)
    if value is None:
        raise ValueError(f"{where}: give '{key}'")
    return number(f"{key} of {where}", value)


def _positive(name: str, vi: str, en: str, default: float, unit: str = "") -> ParamSpec:
    return ParamSpec(name, "number", vi, en, unit=unit, minimum=0.0, zero=False, default=default)


#: the run parameters
PARAMETERS = (
    ParamSpec(
        "points",
        "table",
        "Các điểm thử: danh sách {function, value, unit, frequency_hz, range, resolution}; mặc định: 10 điểm DCV, "
        "ACV, DCI và OHM",
        "Test points: a list of {function, value, unit, frequency_hz, range, resolution}; default: 10 points of "
        "DCV, ACV, DCI and OHM",
        default=[dict(p) for p in DEFAULT_POINTS],
    ),
    ParamSpec(
        "readings_per_point",
        "whole",
        "Số lần đọc của đồng hồ được giữ lại tại mỗi điểm (thường là 5)",
        "DMM readings kept at each point (5 is usual)",
        minimum=1,
        default=5,
    ),
    ParamSpec(
        "dmm_spec",
        "choice",
        "Đặc tính kỹ thuật của đồng hồ dùng để đánh giá sự phù hợp (34465A 1 năm; 3458A chỉ DCV: 24 giờ, 90 ngày, "
        "1 năm, opt002 cho máy có Option 002); none: hiệu chuẩn không kèm tuyên bố phù hợp",
        "DMM specification judged against (34465A 1 year; 3458A DCV only: 24 hours, 90 days, 1 year, opt002 for a "
        "meter with Option 002); none: calibration without a statement of conformity",
        choices=tuple(DMM_SPECS),
        default="keysight-34465a-1y",
    ),
    ParamSpec(
        "calibrator_distribution",
        "choice",
        "Phân bố của đặc tính máy hiệu chuẩn 5520A: rectangular (chữ nhật, a/√3) hoặc normal (chuẩn, mức tin cậy 99 %)",
        "Distribution of the 5520A specification: rectangular (a/√3) or normal (its 99 % statement)",
        choices=("rectangular", "normal"),
        default="rectangular",
    ),
    ParamSpec(
        "decision_rule",
        "choice",
        "Quy tắc quyết định: guarded (chấp nhận có dải bảo vệ w = U, ILAC G8) hoặc simple (chấp nhận đơn giản)",
        "Decision rule: guarded acceptance (w = U, ILAC G8) or simple acceptance",
        choices=("guarded", "simple"),
        default="guarded",
    ),
    _positive(
        "resolution_ppm_of_range",
        "Độ phân giải của đồng hồ khi điểm thử không cho resolution, tính bằng ppm của thang đo",
        "DMM resolution when a point gives none, in ppm of the range",
        1.0,
        "ppm",
    ),
    _positive(
        "stability_spread",
        "Độ chênh cho phép của các lần đọc giữ lại, tính bằng số lần giới hạn a của máy hiệu chuẩn tại điểm thử",
        "Allowed spread of the kept readings, in multiples of the calibrator's limit a at the point",
        1.0,
    ),
    _positive(
        "stability_timeout_s",
        "Thời gian chờ số chỉ ổn định lâu nhất",
        "Longest wait for stable readings",
        30.0,
        "s",
    ),
)


@dataclass(frozen=True)
class Config:
    """The run's resolved parameters: readings per point, the DMM specification judged against (None: no
    conformity statement), the calibrator's distribution, the decision rule, the stability spread (in the
    calibrator's limits) and timeout (s), and the test points."""

    n: int
    spec: DMMSpec | None
    distribution: str
    rule: str
    spread: float
    timeout: float
    points: list[DmmPoint]


class DmmCalibration(Procedure):
    """DMM vs Fluke 5520A: error, U (calibrator specification as reference) and conformity per test point."""

    definition = ProcedureDefinition(
        code="dmm-calibration",
        version="2",
        kind="calibration",
        field="electrical",
        title="Hiệu chuẩn đồng hồ vạn năng hiện số / Calibration of a digital multimeter",
        method_reference=(
            "Direct comparison with a multifunction calibrator (Fluke 5520A 1-year specification as reference); "
            "GUM JCGM 100:2008; ILAC G8:09/2019 decision rules"
        ),
        roles=(
            RoleSpec("dmm", "the digital multimeter under calibration (remote: configure)", under_test=True),
            RoleSpec(
                "calibrator",
                "multifunction calibrator Fluke 5520A (remote: set_output, operate, standby)",
                standard_kinds=("multifunction calibrator",),
            ),
            ENVIRONMENT_ROLE,
        ),
        # the 5520A and 34465A specifications hold at Tcal ± 5 °C; Tcal = 23 °C assumed (the lab's reference)
        environment=(
            EnvironmentLimit("temperature", 18.0, 28.0, "°C", stop=True),
            EnvironmentLimit("humidity", 20.0, 80.0, "%RH"),
        ),
        parameters={
            "points": [dict(p) for p in DEFAULT_POINTS],
            "readings_per_point": 5,
            "dmm_spec": "keysight-34465a-1y",
            "calibrator_distribution": "rectangular",
            "decision_rule": "guarded",
            "resolution_ppm_of_range": 1.0,
            "stability_spread": 1.0,
            "stability_timeout_s": 30.0,
        },
    )
    parameter_specs = PARAMETERS

    # ------------------------------------------------------------------------------------------- parameters
    def _settings(self, context: RunContext) -> Config:
        n = self.parameter(context, "readings_per_point")
        # checked against the live table (a specification added at run time counts), not the declared choices
        raw = context.parameters.get("dmm_spec", spec_named(PARAMETERS, "dmm_spec").default)
        spec_name = choice("dmm_spec", raw, DMM_SPECS)
        spec = DMM_SPECS[spec_name]
        model = context.instrument.model
        if spec is not None and spec.model.split()[-1].upper() not in model.upper():
            raise ValueError(
                f"the DMM under test is a {context.instrument.manufacturer} {model}, but dmm_spec {spec_name!r} is "
                f"the {spec.model} specification: set dmm_spec to 'none' (calibration without a conformity "
                "statement) or to this model's specification"
            )
        distribution = self.parameter(context, "calibrator_distribution")
        rule = self.parameter(context, "decision_rule")
        ppm = self.parameter(context, "resolution_ppm_of_range")
        spread = self.parameter(context, "stability_spread")
        timeout = self.parameter(context, "stability_timeout_s")
        points = self.parameter(context, "points")
        parsed = [self._point(row, i, ppm, spec) for i, row in enumerate(points, 1)]
        for pt in parsed:
            self._check_ratio(pt, spec, distribution, rule)
        return Config(
            n=n,
            spec=spec,
            distribution=distribution,
            rule=rule,
            spread=spread,
            timeout=timeout,
            points=parsed,
        )

    @staticmethod
    def _point(row: Any, i: int, ppm: float, spec: DMMSpec | None) -> DmmPoint:
        where = f"test point {i}"
        if not isinstance(row, Mapping):
            raise ValueError(f"{where}: expected {{function, value, unit, frequency_hz, range}}, got {row!r}")
        fn = str(row.get("function", "")).strip().upper()
        if fn not in SETUP:
            raise ValueError(f"{where}: function {row.get('function')!r} is not one of {', '.join(SETUP)}")
        scale = _scale(str(row.get("unit", FUNCTIONS[fn])), fn, where)
        value = _number(row, "value", where) * scale
        rng = _number(row, "range", where) * scale
        frequency = _number(row, "frequency_hz", where, 0.0)
        if fn in ("ACV", "ACI") and frequency <= 0:
            raise ValueError(f"{where}: {fn} needs frequency_hz > 0")
        if fn not in ("ACV", "ACI") and frequency != 0:
            raise ValueError(f"{where}: {fn} is a DC function; leave frequency_hz out")
        if fn in ("ACV", "ACI", "OHM") and value <= 0:
            raise ValueError(f"{where}: {fn} value must be > 0")
        if rng <= 0:
            raise ValueError(f"{where}: range must be > 0")
        resolution = _number(row, "resolution", where, ppm * 1e-6 * rng / scale) * scale
        if resolution <= 0:
            raise ValueError(f"{where}: resolution must be > 0")
        pt = DmmPoint(fn, value, frequency, rng, resolution)
        try:
            calibrator_limit(FLUKE_5520A_1Y, fn, value, frequency)  # the 5520A table has no row for it
            if spec is not None:
                dmm_tolerance(spec, fn, rng, value, frequency)  # range not in the DMM's table, or over range
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if spec is None and abs(value) > 1.2 * rng:
            raise ValueError(f"{where}: {pt.label()} is beyond the {_human(rng, pt.unit)} range (120 % over-range)")
        return pt

    @staticmethod
    def _check_ratio(pt: DmmPoint, spec: DMMSpec | None, distribution: str, rule: str) -> None:
        """Refuse a guarded-acceptance point where the calibrator alone gives U >= the DMM's tolerance."""
        if spec is None or rule != "guarded":
            return
        a = calibrator_limit(FLUKE_5520A_1Y, pt.function, pt.value, pt.frequency)
        u = a / math.sqrt(3) if distribution == "rectangular" else a / FLUKE_5520A_1Y.k
        tol = dmm_tolerance(spec, pt.function, pt.range, pt.value, pt.frequency)
        if _K95 * u >= tol:
            raise ValueError(
                f"{pt.label()}: the calibrator's specification alone gives U >= {_human(_K95 * u, pt.unit)}, not "
                f"below the DMM's tolerance {_human(tol, pt.unit)}: guarded acceptance cannot accept anything there; "
                "drop the point or set decision_rule to 'simple'"
            )

    # ------------------------------------------------------------------------------------------- plan
    @staticmethod
    def _step_id(i: int, pt: DmmPoint) -> str:
        return f"p{i:02d}-{pt.function.lower()}-{pt.value:g}" + (f"-{pt.frequency:g}hz" if pt.frequency else "")

    def plan(self, context: RunContext) -> list[Step]:
        cfg = self._settings(context)
        standby = DeviceCommand("calibrator", "standby")
        steps = [
            Step(
                "env-start", "environment", "Điều kiện môi trường lúc bắt đầu / environment at start", environment=True
            )
        ]
        connected = ""
        for i, pt in enumerate(cfg.points, 1):
            if pt.connection != connected:
                connected = pt.connection
                vi, en = CONNECTIONS[connected]
                name_vi, name_en = CONNECTION_NAMES[connected]
                steps.append(
                    Step(
                        f"connect-{connected}",
                        "calibrator",
                        f"Đấu nối {name_vi} / connection: {name_en}",
                        OperatorAction("connect", vi, en, {"connection": connected}),
                        keep=0,
                        commands=(standby,),
                    )
                )
            dmm_function, out_unit, _, _ = SETUP[pt.function]
            output: dict[str, Any] = {"value": pt.value, "unit": out_unit}
            if pt.frequency:
                output["frequency"] = pt.frequency
            a = calibrator_limit(FLUKE_5520A_1Y, pt.function, pt.value, pt.frequency)
            steps.append(
                Step(
                    self._step_id(i, pt),
                    "dmm",
                    (
                        f"{pt.label('vi')}, thang đo {_human(pt.range, pt.unit, 'vi')} / "
                        f"{pt.label()}, range {_human(pt.range, pt.unit)}"
                    ),
                    keep=cfg.n,
                    stability=StabilityCriterion(window=cfg.n, max_spread=cfg.spread * a, timeout=cfg.timeout),
                    meta={
                        "function": pt.function,
                        "value": pt.value,
                        "unit": pt.unit,
                        "frequency_hz": pt.frequency,
                        "range": pt.range,
                        "resolution": pt.resolution,
                    },
                    commands=(
                        DeviceCommand("dmm", "configure", {"function": dmm_function, "range": pt.range}),
                        DeviceCommand("calibrator", "set_output", output),
                        DeviceCommand("calibrator", "operate"),
                    ),
                )
            )
        steps.append(
            Step("standby", "calibrator", "Máy hiệu chuẩn về STBY / calibrator to standby", keep=0, commands=(standby,))
        )
        steps.append(
            Step("env-end", "environment", "Điều kiện môi trường lúc kết thúc / environment at end", environment=True)
        )
        return steps

    def required_range(self, context: RunContext) -> Mapping[str, tuple[float, float, str]]:
        """The calibrator must cover the largest voltage point (V); other functions are checked by the table."""
        volts = [abs(p.value) for p in self._settings(context).points if p.unit == "V"]
        return {"calibrator": (0.0, max(volts), "V")} if volts else {}

    # ------------------------------------------------------------------------------------------- evaluate
    def evaluate(self, context: RunContext, data: Mapping[str, StepData]) -> list[PointResult]:
        cfg = self._settings(context)
        results = []
        for i, pt in enumerate(cfg.points, 1):
            step = data[self._step_id(i, pt)]
            expected = SETUP[pt.function][2]
            if step.unit.lower() != expected.lower():
                raise ValueError(
                    f"{pt.label()}: the DMM reported {step.unit!r}, expected {expected}; check its function setting"
                )
            results.append(
                dmm_point(
                    pt.function,
                    pt.value,
                    step.values,
                    dmm_range=pt.range,
                    resolution=pt.resolution,
                    frequency=pt.frequency,
                    calibrator=FLUKE_5520A_1Y,
                    dmm=cfg.spec,
                    calibrator_distribution=cfg.distribution,
                    rule=cfg.rule,
                )
            )
        return results
