"""``water-meter-verification-r49``: verification of a water meter against a master meter (OIML R49 / ISO 4064).

Roles: ``meter`` (the water meter under test, read by the technician: a manual-entry instrument
``manual:?unit=L&quantity=register``) and ``master`` (a master meter, e.g. a Modbus Coriolis flow meter, whose
certificate ``values`` give its error curve: rows ``{point: flow rate m³/h, value: error %, U: %, k, unit: "%"}``,
optionally ``point_unit``).

Method (OIML R49-2:2013 7.4, master meter, standing start and finish): at each test flow Q1, Q2, Q3 (from Q3 and
R by :func:`acquisition.methods.flow.flow_rates`; the actual test flow defaults to the middle of the range allowed
around the nominal one) and for each run: the meter's register, the master's totaliser, the operator runs the
test volume (``run-volume``: open the valve to the flow, pass the volume, close the valve), the master's totaliser,
the meter's register. The water temperature is read once per flow from the master's temperature channel (recorded
as an environmental condition) unless ``water_temperature_c`` is given; it selects the MPE row (above 30 °C) and,
when the master's totaliser counts mass, the water density that turns kg into L (Tanaka's formula unless
``water_density_kg_m3`` is given). Evaluation: :func:`~acquisition.methods.flow.water_meter_point` at each flow
(error, U, MPE by class and zone, simple acceptance) and :func:`~acquisition.methods.flow.water_meter_verification`
(the meter passes only if every flow passes).

Units: flow rates m³/h, volumes L, errors %, temperatures °C, densities kg/m³.

The helpers :func:`to_litres`, :func:`resolution_litres`, :func:`master_curve` and :func:`water_conditions` are
shared with ``flow-meter-calibration``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any

from acquisition.channel import OperatorAction
from acquisition.methods.base import PointResult, Text, num
from acquisition.methods.flow import (
    FlowRates,
    MasterCurvePoint,
    MasterRun,
    allowed_flow_range,
    flow_rates,
    master_error_at,
    water_density,
    water_meter_point,
    water_meter_verification,
)
from acquisition.procedures.base import (
    Procedure,
    ProcedureDefinition,
    RepeatGroupsError,
    RoleSpec,
    RunContext,
    StandardUsed,
    Step,
    StepData,
)
from acquisition.procedures.params import Kind, ParamSpec
from acquisition.wording import number_text

#: volume unit -> litres
VOLUME_UNITS: dict[str, float] = {
    "L": 1.0,
    "l": 1.0,
    "dm3": 1.0,
    "dm³": 1.0,
    "mL": 1e-3,
    "ml": 1e-3,
    "m3": 1000.0,
    "m³": 1000.0,
}
#: mass unit -> kg (a mass totaliser is turned into litres with the water density)
MASS_UNITS: dict[str, float] = {"kg": 1.0, "g": 1e-3, "t": 1000.0}
#: flow-rate unit of a certificate's ``point`` -> m³/h
FLOW_UNITS: dict[str, float] = {"m³/h": 1.0, "m3/h": 1.0, "L/h": 1e-3, "l/h": 1e-3, "L/min": 0.06, "L/s": 3.6}
TEMPERATURE_UNITS = ("°C", "degC", "C")
#: density used only to express a resolution given in kg as litres (pure water at 20 °C, Tanaka 2001)
RESOLUTION_DENSITY = 998.2067


def to_litres(value: float, unit: str, density: float) -> float:
    """``value`` in a volume unit (L, mL, m³...) or a mass unit (kg, g, t: divided by ``density`` kg/m³) as L."""
    if unit in VOLUME_UNITS:
        return value * VOLUME_UNITS[unit]
    if unit in MASS_UNITS:
        return 1000.0 * value * MASS_UNITS[unit] / density
    raise ValueError(
        f"a register in {unit!r} cannot be turned into litres; set the instrument to one of "
        f"{', '.join([*VOLUME_UNITS, *MASS_UNITS])}"
    )


def resolution_litres(value: float | None, unit: str, what: str, parameter: str) -> float:
    """A register's resolution (scale interval d) in L; a resolution in kg uses water at 20 °C (998.2 kg/m³)."""
    if value is None:
        raise ValueError(f"the {what} has no resolution: record it in the registry or give {parameter} (L)")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{parameter} must be a number > 0 (L), got {value!r}")
    try:
        return to_litres(float(value), unit or "L", RESOLUTION_DENSITY)
    except ValueError:
        raise ValueError(f"the {what}'s resolution is in {unit!r}; give {parameter} in L instead") from None


def master_curve(standard: StandardUsed) -> list[MasterCurvePoint]:
    """The master meter's error curve from its certificate rows (flow m³/h, error %, U %, k)."""
    if not standard.values:
        raise ValueError(
            f"the master meter {standard.code} has no certified errors (certificate {standard.certificate or '?'}): "
            "enter its rows {point: flow m³/h, value: error %, U, k, unit: '%'} in the registry"
        )
    points = []
    for row in standard.values:
        try:
            flow = float(row["point"])
            error = float(row["value"])
            expanded = float(row["U"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                f"master meter {standard.code}: certificate row {dict(row)!r} needs point (flow m³/h), value "
                "(error %) and U (%)"
            ) from None
        unit = str(row.get("unit", "%"))
        if unit != "%":
            raise ValueError(
                f"master meter {standard.code}: certificate errors must be in % of reading, got {unit!r}; "
                "convert the certificate rows"
            )
        point_unit = str(row.get("point_unit", "m³/h"))
        if point_unit not in FLOW_UNITS:
            raise ValueError(
                f"master meter {standard.code}: certificate flow unit {point_unit!r} is not one of "
                f"{', '.join(FLOW_UNITS)}"
            )
        points.append(MasterCurvePoint(flow * FLOW_UNITS[point_unit], error, expanded, float(row.get("k", 2.0))))
    return points


def _positive(name: str, kind: Kind, vi: str, en: str, unit: str, default: Any = None, **more: Any) -> ParamSpec:
    """A parameter of numbers > 0 in ``unit``."""
    return ParamSpec(name, kind, vi, en, unit=unit, minimum=0.0, zero=False, default=default, **more)


# parameters shared with ``flow-meter-calibration`` (units in the names)
WATER_TEMPERATURE = ParamSpec(
    "water_temperature_c",
    "number",
    "Nhiệt độ nước; mặc định: đọc từ kênh nhiệt độ của đồng hồ chuẩn sau mỗi lưu lượng",
    "Water temperature; default: read from the master's temperature channel after each flow",
    unit="°C",
    minimum=0.0,
    maximum=100.0,
    nullable=True,
)
WATER_DENSITY = _positive(
    "water_density_kg_m3",
    "number",
    "Khối lượng riêng của nước; mặc định: công thức Tanaka theo nhiệt độ nước",
    "Water density; default: Tanaka's formula at the water temperature",
    "kg/m³",
    nullable=True,
)
METER_RESOLUTION = _positive(
    "meter_resolution_l",
    "number",
    "Giá trị độ chia của đồng hồ được thử; mặc định: độ phân giải trong sổ đăng ký, đổi ra L",
    "Scale interval of the meter under test; default: the registered resolution, in L",
    "L",
    nullable=True,
)
MASTER_RESOLUTION = _positive(
    "master_resolution_l",
    "number",
    "Giá trị độ chia của bộ đếm tổng trên đồng hồ chuẩn",
    "Scale interval of the master meter's totaliser",
    "L",
    default=0.001,
)
RULE = ParamSpec(
    "rule",
    "choice",
    "Quy tắc quyết định: simple (chấp nhận đơn giản) hoặc guarded (chấp nhận có dải bảo vệ)",
    "Decision rule: simple acceptance or guarded acceptance",
    choices=("simple", "guarded"),
    default="simple",
)


def runs_spec(default: int) -> ParamSpec:
    """Parameter ``runs``: runs at each flow, >= 1."""
    return ParamSpec(
        "runs", "whole", "Số lần đo tại mỗi lưu lượng", "Runs at each flow rate", minimum=1, default=default
    )


def water_conditions(
    parameters: Mapping[str, Any], data: Mapping[str, StepData], step_id: str, label: str
) -> tuple[float, float]:
    """Water temperature (°C) and density (kg/m³) at one flow: the parameters, else the master's reading."""
    t: float | None = WATER_TEMPERATURE.value(parameters)
    if t is None:
        step = data.get(step_id)
        if step is None or not step.values or not math.isfinite(step.values[0]):
            raise ValueError(
                f"the master reported no water temperature at {label}: give the parameter water_temperature_c"
            )
        if step.unit not in TEMPERATURE_UNITS:
            raise ValueError(f"water temperature at {label} is in {step.unit!r}, expected °C")
        t = float(step.values[0])
    density: float | None = WATER_DENSITY.value(parameters)
    return t, water_density(t) if density is None else density


def water_step(step_id: str, label: str) -> Step:
    """The master's temperature channel read as the water temperature (an environmental record)."""
    return Step(
        step_id,
        "master",
        f"{label}: nhiệt độ nước / {label}: water temperature",
        quantity="temperature",
        environment=True,
        meta={"label": label},
    )


def run_volume_action(label: str, q: float, volume: float, low: float, high: float) -> OperatorAction:
    """The operator runs ``volume`` L at ``q`` m³/h (kept within ``low``..``high``), standing start and finish."""
    return OperatorAction(
        "run-volume",
        f"Mở van đến {label} ({number_text(q, significant=4)} m³/h, giữ trong khoảng "
        f"{number_text(low, significant=4)}–{number_text(high, significant=4)} m³/h), cho chảy {number_text(volume)} L "
        "rồi đóng van",
        f"Open the valve to {label} ({q:.4g} m³/h, keep it within {low:.4g}–{high:.4g} m³/h), pass {volume:g} L, "
        "then close the valve",
        {"point": label, "flow_m3_h": q, "volume_l": volume, "low_m3_h": low, "high_m3_h": high},
    )


def run_steps(tag: str, label: str, run: int, meter_quantity: str, action: OperatorAction) -> list[Step]:
    """One standing-start run: meter start, master start, run the volume, master end, meter end."""
    meta = {"label": label, "run": run}
    steps = [
        Step(
            f"{tag}-meter-start",
            "meter",
            f"{label} lần {run}: số chỉ ban đầu / {label} run {run}: meter reading before",
            quantity=meter_quantity,
            meta=meta,
        ),
        Step(
            f"{tag}-master-start",
            "master",
            f"{label} lần {run}: chuẩn ban đầu / {label} run {run}: master totaliser before",
            quantity="totalizer",
            meta=meta,
        ),
        Step(
            f"{tag}-run",
            "master",
            f"{label} lần {run}: cho nước chảy / {label} run {run}: run the volume",
            action,
            keep=0,
            meta=meta,
        ),
        Step(
            f"{tag}-master-end",
            "master",
            f"{label} lần {run}: chuẩn kết thúc / {label} run {run}: master totaliser after",
            quantity="totalizer",
            meta=meta,
        ),
        Step(
            f"{tag}-meter-end",
            "meter",
            f"{label} lần {run}: số chỉ kết thúc / {label} run {run}: meter reading after",
            quantity=meter_quantity,
            meta=meta,
        ),
    ]
    # the readings before, the run and the readings after are one unit: an interrupted run starts again from its
    # readings before (a resume in its middle once passed 10 L of a 20 L run and judged the meter on it)
    return [dataclasses.replace(step, group=tag) for step in steps]


#: how far below the planned test volume a run may stop (the operator closes the valve by hand; the master meter's
#: own error): a run that passed less than (1 − VOLUME_SLACK) of it is measured again
VOLUME_SLACK = 0.02


def master_runs(
    data: Mapping[str, StepData], prefix: str, runs: int, density: float, volume: float, label: str
) -> list[MasterRun]:
    """The runs ``{prefix}-1`` … ``{prefix}-{runs}`` of one test point, in L; :class:`RepeatGroupsError` for the runs
    whose master totaliser shows less than the planned test ``volume`` L (minus :data:`VOLUME_SLACK`): the test
    method's minimum, below which the point's error is not measured to the method (their readings are kept, the
    runs are measured again on resume)."""
    out = [master_run(data, f"{prefix}-{i}", density) for i in range(1, runs + 1)]
    short = [
        (f"{prefix}-{i}", r.master_stop - r.master_start)
        for i, r in enumerate(out, 1)
        if r.master_stop - r.master_start < volume * (1.0 - VOLUME_SLACK)
    ]
    if short:
        passed = ", ".join(f"run {tag.rsplit('-', 1)[1]} passed {v:.4g} L" for tag, v in short)
        raise RepeatGroupsError(
            f"{label}: {passed}, less than the planned test volume of {volume:g} L (the method's minimum)",
            tuple(tag for tag, _ in short),
        )
    return out


#: how far the water temperature at the meter may differ from that at the master (both in series on the rig)
TEMPERATURE_DIFFERENCE = ParamSpec(
    "temperature_difference_k",
    "number",
    "Chênh lệch nhiệt độ nước lớn nhất giữa đồng hồ cần kiểm và đồng hồ chuẩn (nửa độ rộng, phân bố chữ nhật)",
    "Largest water temperature difference between the meter under test and the master (half-width, rectangular)",
    unit="K",
    minimum=0.0,
    maximum=10.0,
    default=0.5,
)


def master_drift_at(standard: StandardUsed, q: float) -> tuple[float, Text]:
    """Half-width (%) of the master meter's drift at flow ``q`` (m³/h) and where it comes from: the change of its
    certified error there (interpolated as :func:`master_error_at`) since the newest earlier certificate that
    certifies that flow; without one, the master's expanded U at that flow (conservative: it may drift by as much
    as it is known to in one calibration interval)."""
    now, expanded, _ = master_error_at(master_curve(standard), q)
    for cert in standard.history:
        earlier = dataclasses.replace(standard, values=cert.values, certificate=cert.number)
        try:
            before = master_error_at(master_curve(earlier), q)[0]
        except ValueError:  # that certificate does not cover this flow, or its rows cannot be read
            continue
        return abs(now - before), (
            Text("thay đổi ", "change ")
            + num(now - before, "+.3g")
            + Text(" % tại ", " % at ")
            + num(q)
            + Text(f" m³/h giữa các giấy chứng nhận {cert.number} ", f" m³/h between certificates {cert.number} ")
            + Text(f"({cert.calibrated_on.isoformat()}) và ", f"({cert.calibrated_on.isoformat()}) and ")
            + str(standard.certificate)
        )
    return expanded, (
        Text("không có giấy chứng nhận trước nào bao trùm ", "no earlier certificate covers ")
        + num(q)
        + Text(" m³/h: U của đồng hồ chuẩn tại đó = ", " m³/h: the master's U = ")
        + num(expanded)
        + Text(" % (chọn phía an toàn)", " % there (conservative)")
    )


def master_run(data: Mapping[str, StepData], tag: str, density: float) -> MasterRun:
    """The four readings of one run, in L."""

    def litres(step_id: str) -> float:
        step = data[step_id]
        if not step.values:
            raise ValueError(f"step {step_id} kept no reading")
        return to_litres(step.values[0], step.unit, density)

    return MasterRun(
        meter_start=litres(f"{tag}-meter-start"),
        meter_stop=litres(f"{tag}-meter-end"),
        master_start=litres(f"{tag}-master-start"),
        master_stop=litres(f"{tag}-master-end"),
    )


def accuracy_class(given: int | None, registered: str) -> int:
    """The meter's accuracy class (1 or 2): the parameter ``accuracy_class`` when given, else the registry's."""
    text = str(given if given is not None else registered or "").strip()
    match = re.fullmatch(r"(?i)(?:class\s*|cấp\s*)?([12])", text)
    if not match:
        raise ValueError(
            f"accuracy class {text!r} is not 1 or 2 (OIML R49-1:2013 4.2): record the meter's class in the "
            "registry or give the parameter accuracy_class"
        )
    return int(match.group(1))


def accuracy_class_spec(vi: str, en: str) -> ParamSpec:
    """Parameter ``accuracy_class``: 1 or 2 (OIML R49-1:2013 4.2)."""
    return ParamSpec("accuracy_class", "whole", vi, en, minimum=1, maximum=2, nullable=True)


POINTS = ("Q1", "Q2", "Q3", "Q4")

#: the run parameters of ``water-meter-verification-r49``
PARAMETERS = (
    _positive(
        "q3_m3_h", "number", "Lưu lượng danh định Q3 của đồng hồ", "Permanent flow rate Q3 of the meter", "m³/h", 2.5
    ),
    _positive("r", "number", "Tỷ số R = Q3/Q1 của đồng hồ", "Ratio R = Q3/Q1 of the meter", "", 160),
    ParamSpec(
        "points",
        "choices",
        "Các điểm lưu lượng thử",
        "Test flow points",
        choices=POINTS,
        default=["Q1", "Q2", "Q3"],
    ),
    _positive(
        "volumes_l",
        "mapping",
        'Thể tích thử tại mỗi điểm, ví dụ {"Q1": 10, "Q2": 20, "Q3": 100}',
        'Test volume at each point, e.g. {"Q1": 10, "Q2": 20, "Q3": 100}',
        "L",
        {"Q1": 10.0, "Q2": 20.0, "Q3": 100.0},
        choices=POINTS,
        nullable=True,
    ),
    _positive(
        "test_flows_m3_h",
        "mapping",
        "Lưu lượng thử thực tế tại mỗi điểm; mặc định: giữa khoảng cho phép quanh lưu lượng danh nghĩa "
        "(quy trình tự tính)",
        "Actual test flow at each point; default: the middle of the range allowed around the nominal flow (computed)",
        "m³/h",
        choices=POINTS,
        nullable=True,
    ),
    runs_spec(1),
    accuracy_class_spec(
        "Cấp chính xác của đồng hồ (1 hoặc 2); mặc định: cấp trong sổ đăng ký",
        "Accuracy class of the meter (1 or 2); default: the registered class",
    ),
    METER_RESOLUTION,
    MASTER_RESOLUTION,
    WATER_TEMPERATURE,
    WATER_DENSITY,
    RULE,
    TEMPERATURE_DIFFERENCE,
)


@dataclasses.dataclass(frozen=True)
class Config:
    """The run's resolved parameters: rates (m³/h), test points by name with their flows (m³/h) and volumes (L),
    runs per point, the meter's accuracy class, the resolutions of meter and master (L) and the decision rule."""

    rates: FlowRates
    points: list[str]
    flows: dict[str, float]
    volumes: dict[str, float]
    runs: int
    accuracy_class: int
    d_meter: float
    d_master: float
    rule: str


class WaterMeterVerificationR49(Procedure):
    """OIML R49-2:2013 7.4 verification against a master meter at Q1, Q2, Q3; MPE per R49-1:2013 4.2."""

    definition = ProcedureDefinition(
        code="water-meter-verification-r49",
        version="2",
        kind="verification",
        field="volume-flow",
        title="Kiểm định đồng hồ nước / Verification of a water meter (OIML R49)",
        method_reference="OIML R49-2:2013 7.4 (= ISO 4064-2:2014), master meter method; MPE OIML R49-1:2013 4.2",
        roles=(
            RoleSpec("meter", "the water meter under test, read by the technician", under_test=True),
            RoleSpec(
                "master",
                "master meter with a certified error curve (totaliser and water temperature)",
                standard_kinds=("master meter",),
                quantities=("totalizer", "temperature"),
            ),
        ),
        parameters={
            "q3_m3_h": 2.5,
            "r": 160,
            "points": ["Q1", "Q2", "Q3"],
            "volumes_l": {"Q1": 10.0, "Q2": 20.0, "Q3": 100.0},
            "runs": 1,
            "master_resolution_l": 0.001,
            "rule": "simple",
        },
    )
    parameter_specs = PARAMETERS

    def _config(self, context: RunContext) -> Config:
        rates = flow_rates(self.parameter(context, "q3_m3_h"), self.parameter(context, "r"))
        points: list[str] = self.parameter(context, "points")
        volumes: dict[str, float] = self.parameter(context, "volumes_l") or {}
        flows_given: dict[str, float] = self.parameter(context, "test_flows_m3_h") or {}
        flows: dict[str, float] = {}
        vols: dict[str, float] = {}
        for name in points:
            lo, hi = allowed_flow_range(rates, name)
            q = flows_given.get(name, (lo + hi) / 2)
            if not lo <= q <= hi:
                raise ValueError(
                    f"test flow at {name} must be within {lo:.6g}..{hi:.6g} m³/h (OIML R49-2:2013 7.4), got {q!r}: "
                    "correct test_flows_m3_h"
                )
            v = volumes.get(name)
            if v is None:
                raise ValueError(f"parameter volumes_l needs a test volume > 0 (L) for {name}, got {v!r}")
            flows[name], vols[name] = q, v
        instrument = context.instrument
        d_meter = self.parameter(context, "meter_resolution_l")
        if d_meter is None:
            d_meter = resolution_litres(
                instrument.resolution, instrument.resolution_unit, "water meter", "meter_resolution_l"
            )
        self.parameter(context, "water_temperature_c")  # a bad value is refused at planning, not at the end
        return Config(
            rates=rates,
            points=points,
            flows=flows,
            volumes=vols,
            runs=self.parameter(context, "runs"),
            accuracy_class=accuracy_class(self.parameter(context, "accuracy_class"), instrument.accuracy_class),
            d_meter=d_meter,
            d_master=self.parameter(context, "master_resolution_l"),
            rule=self.parameter(context, "rule"),
        )

    def _curve(self, context: RunContext, flows: Mapping[str, float]) -> list[MasterCurvePoint]:
        curve = master_curve(context.standards["master"])
        for q in flows.values():
            master_error_at(curve, q)  # refuses a flow outside the certified range
        return curve

    def plan(self, context: RunContext) -> list[Step]:
        cfg = self._config(context)
        self._curve(context, cfg.flows)
        rates: FlowRates = cfg.rates
        steps: list[Step] = []
        for name in cfg.points:
            lo, hi = allowed_flow_range(rates, name)
            action = run_volume_action(name, cfg.flows[name], cfg.volumes[name], lo, hi)
            for i in range(1, cfg.runs + 1):
                steps += run_steps(f"{name.lower()}-{i}", name, i, "register", action)
            if self.parameter(context, "water_temperature_c") is None:
                steps.append(water_step(f"{name.lower()}-water", name))
        return steps

    def required_range(self, context: RunContext) -> Mapping[str, tuple[float, float, str]]:
        flows = self._config(context).flows.values()
        return {"master": (min(flows), max(flows), "m³/h")}

    def evaluate(self, context: RunContext, data: Mapping[str, StepData]) -> list[PointResult]:
        cfg = self._config(context)
        curve = self._curve(context, cfg.flows)
        points: list[PointResult] = []
        for name in cfg.points:
            q = cfg.flows[name]
            t, density = water_conditions(context.parameters, data, f"{name.lower()}-water", name)
            runs = master_runs(data, name.lower(), cfg.runs, density, cfg.volumes[name], name)
            e_m, u_m, k_m = master_error_at(curve, q)
            drift, drift_source = master_drift_at(context.standards["master"], q)
            point = water_meter_point(
                runs,
                flow_rate=q,
                meter_resolution=cfg.d_meter,
                master_resolution=cfg.d_master,
                master_error=e_m,
                master_U=u_m,
                master_k=k_m,
                rates=cfg.rates,
                nominal=name,
                accuracy_class=cfg.accuracy_class,
                water_temperature=t,
                rule=cfg.rule,
                temperature_difference=self.parameter(context, "temperature_difference_k"),
                master_drift=drift,
                drift_source=drift_source,
            )
            extra = {
                "test_volume_l": cfg.volumes[name],
                "water_temperature_c": t,
                "water_density_kg_m3": density,
                "master": {"error": e_m, "U": u_m, "k": k_m, "certificate": context.standards["master"].certificate},
            }
            points.append(dataclasses.replace(point, evidence=point.evidence | extra))
        return list(water_meter_verification(points).points)
