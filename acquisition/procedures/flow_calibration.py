"""``flow-meter-calibration``: calibration of a flow meter against a master meter (totals, standing start/finish).

Roles: ``meter`` (the flow meter under test: a Modbus flow meter whose ``totalizer`` is read) and ``master`` (a
master meter with a certified error curve, certificate rows ``{point: flow m³/h, value: error %, U: %, k}``).

Steps, at each flow rate of ``flows_m3_h`` (default: 10, 25, 50, 75 and 100 % of the meter's range when the
registry gives it in m³/h) and for each of ``runs`` runs: both totalisers at rest, the operator passes the test
volume (``run-volume``; ``volumes_l``, default the volume of ``run_time_s`` seconds at that flow), both totalisers
at rest again. The water temperature is read once per flow from the master (unless ``water_temperature_c``); it
gives the water density that turns mass totals (kg) into litres. When both totalisers count the same kind of
quantity (both mass or both volume) the density cancels out of the error.

Evaluation: :func:`acquisition.methods.flow.water_meter_point` at each flow (error E = 100 (V_meter − V_ref)/V_ref
in %, V_ref corrected by the master's certified error, U from repeatability, both registers' resolution and the
master's certificate), then :func:`~acquisition.methods.flow.flow_meter_error_curve` fits E(Q) of degree
``curve_degree`` (weighted by u(E); the fit goes into each point's evidence under ``error_curve``). No conformity
unless ``accuracy_class`` (1 or 2) with ``q3_m3_h`` and ``r`` ask for the OIML R49 MPE; otherwise ``notAssessed``.

Units: flow rates m³/h, volumes L, errors %, temperatures °C, densities kg/m³.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from acquisition.methods.base import PointResult
from acquisition.methods.flow import (
    FlowRates,
    MasterCurvePoint,
    flow_meter_error_curve,
    flow_rates,
    master_error_at,
    water_meter_point,
    zone,
)
from acquisition.procedures.base import Procedure, ProcedureDefinition, RoleSpec, RunContext, Step, StepData
from acquisition.procedures.params import ParamSpec
from acquisition.procedures.water_r49 import (
    FLOW_UNITS,
    MASTER_RESOLUTION,
    METER_RESOLUTION,
    RULE,
    TEMPERATURE_DIFFERENCE,
    WATER_DENSITY,
    WATER_TEMPERATURE,
    accuracy_class,
    accuracy_class_spec,
    master_curve,
    master_drift_at,
    master_runs,
    resolution_litres,
    run_steps,
    run_volume_action,
    runs_spec,
    water_conditions,
    water_step,
)

#: default test flows as fractions of the meter's upper range value
DEFAULT_FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)

#: the run parameters (units in the names)
PARAMETERS = (
    ParamSpec(
        "flows_m3_h",
        "numbers",
        "Các lưu lượng thử; mặc định: 10, 25, 50, 75 và 100 % phạm vi đo của lưu lượng kế (quy trình tự tính)",
        "Test flow rates; default: 10, 25, 50, 75 and 100 % of the meter's range (computed)",
        unit="m³/h",
        minimum=0.0,
        zero=False,
        nullable=True,
    ),
    ParamSpec(
        "volumes_l",
        "numbers",
        "Thể tích thử: một giá trị cho mỗi lưu lượng hoặc một giá trị cho tất cả; mặc định: thể tích chảy trong "
        "run_time_s (quy trình tự tính)",
        "Test volume: one per flow rate, or one for all; default: the volume of run_time_s at each flow (computed)",
        unit="L",
        minimum=0.0,
        zero=False,
        nullable=True,
        single=True,
    ),
    ParamSpec(
        "run_time_s",
        "number",
        "Thời gian chảy tại mỗi lưu lượng khi không cho volumes_l",
        "Flow time at each flow rate when volumes_l is not given",
        unit="s",
        minimum=0.0,
        zero=False,
        default=60.0,
    ),
    runs_spec(3),
    METER_RESOLUTION,
    MASTER_RESOLUTION,
    ParamSpec(
        "curve_degree",
        "whole",
        "Bậc của đường cong sai số được khớp (cần ít nhất bậc + 2 lưu lượng); null: không khớp",
        "Degree of the fitted error curve (needs at least degree + 2 flow rates); null: no fit",
        minimum=1,
        default=2,
        nullable=True,
    ),
    ParamSpec(
        "flow_tolerance_percent",
        "number",
        "Dung sai của lưu lượng thử, hiển thị cho người thao tác",
        "Tolerance on the test flow rate, shown to the operator",
        unit="%",
        minimum=0.0,
        zero=False,
        default=5.0,
    ),
    WATER_TEMPERATURE,
    WATER_DENSITY,
    accuracy_class_spec(
        "Cấp chính xác OIML R49 (1 hoặc 2) để đánh giá sự phù hợp, cùng q3_m3_h và r; mặc định: không đánh giá",
        "OIML R49 accuracy class (1 or 2) to judge conformity, with q3_m3_h and r; default: no verdict",
    ),
    ParamSpec(
        "q3_m3_h",
        "number",
        "Lưu lượng danh định Q3, cần khi có accuracy_class",
        "Permanent flow rate Q3, needed with accuracy_class",
        unit="m³/h",
        minimum=0.0,
        zero=False,
        nullable=True,
    ),
    ParamSpec(
        "r",
        "number",
        "Tỷ số R = Q3/Q1, cần khi có accuracy_class",
        "Ratio R = Q3/Q1, needed with accuracy_class",
        minimum=0.0,
        zero=False,
        nullable=True,
    ),
    RULE,
    TEMPERATURE_DIFFERENCE,
)


@dataclasses.dataclass(frozen=True)
class Config:
    """The run's resolved parameters: flows (m³/h) with their volumes (L), runs per flow, the error curve's degree
    (None: no curve), the rates and class to judge against (None: no verdict), the decision rule, the flow
    tolerance (a fraction) and the resolutions of meter and master (L)."""

    flows: list[float]
    volumes: list[float]
    runs: int
    degree: int | None
    rates: FlowRates | None
    accuracy_class: int | None
    rule: str
    tolerance: float
    d_meter: float
    d_master: float


class FlowMeterCalibration(Procedure):
    """Errors of a flow meter's totaliser against a master meter at several flow rates, with U and an error curve."""

    definition = ProcedureDefinition(
        code="flow-meter-calibration",
        version="2",
        kind="calibration",
        field="volume-flow",
        title="Hiệu chuẩn lưu lượng kế / Calibration of a flow meter against a master meter",
        method_reference=(
            "master meter comparison of totals, standing start and finish (as OIML R49-2:2013 7.4); "
            "GUM JCGM 100:2008; error curve by weighted least squares (ISO/TS 28037)"
        ),
        roles=(
            RoleSpec("meter", "the flow meter under test (totaliser)", under_test=True, quantities=("totalizer",)),
            RoleSpec(
                "master",
                "master meter with a certified error curve (totaliser and water temperature)",
                standard_kinds=("master meter",),
                quantities=("totalizer", "temperature"),
            ),
        ),
        parameters={
            "runs": 3,
            "run_time_s": 60.0,
            "master_resolution_l": 0.001,
            "curve_degree": 2,
            "flow_tolerance_percent": 5.0,
            "rule": "simple",
        },
    )
    parameter_specs = PARAMETERS

    def _flows(self, context: RunContext) -> list[float]:
        inst = context.instrument
        flows: list[float] | None = self.parameter(context, "flows_m3_h")
        if flows is None:
            factor = FLOW_UNITS.get(inst.range_unit)
            if inst.range_max is None or factor is None or inst.range_max <= 0:
                raise ValueError(
                    f"give the test flows flows_m3_h (m³/h): the registry has no flow range in m³/h for "
                    f"{inst.serial_number}"
                )
            return [round(f * inst.range_max * factor, 6) for f in DEFAULT_FRACTIONS]
        if len(set(flows)) != len(flows):
            raise ValueError(f"parameter flows_m3_h must list distinct flow rates (m³/h), got {flows!r}")
        return flows

    def _volumes(self, context: RunContext, flows: list[float]) -> list[float]:
        given: float | list[float] | None = self.parameter(context, "volumes_l")
        if given is None:
            seconds: float = self.parameter(context, "run_time_s")
            return [q * seconds / 3.6 for q in flows]  # m³/h -> L/s is /3.6
        values = [given] * len(flows) if isinstance(given, float) else given
        if len(values) != len(flows):
            raise ValueError(f"parameter volumes_l needs one volume per flow ({len(flows)}), got {len(values)}")
        return values

    def _config(self, context: RunContext) -> Config:
        flows = self._flows(context)
        degree: int | None = self.parameter(context, "curve_degree")
        if degree is not None and len(flows) < degree + 2:
            raise ValueError(
                f"an error curve of degree {degree} needs at least {degree + 2} flow rates, got {len(flows)}: "
                "add flows or lower curve_degree"
            )
        rates: FlowRates | None = None
        cls: int | None = None
        given_class = self.parameter(context, "accuracy_class")
        if given_class is not None:
            cls = accuracy_class(given_class, "")
            q3, r = self.parameter(context, "q3_m3_h"), self.parameter(context, "r")
            if q3 is None or r is None:
                raise ValueError("judging against an accuracy class needs the meter's q3_m3_h and r (Q3/Q1)")
            rates = flow_rates(q3, r)
            for q in flows:
                zone(rates, q)  # no MPE outside Q1..Q4
        self.parameter(context, "water_temperature_c")  # a bad value is refused at planning, not at the end
        d_meter = self.parameter(context, "meter_resolution_l")
        if d_meter is None:
            inst = context.instrument
            d_meter = resolution_litres(inst.resolution, inst.resolution_unit, "flow meter", "meter_resolution_l")
        return Config(
            flows=flows,
            volumes=self._volumes(context, flows),
            runs=self.parameter(context, "runs"),
            degree=degree,
            rates=rates,
            accuracy_class=cls,
            rule=self.parameter(context, "rule"),
            tolerance=self.parameter(context, "flow_tolerance_percent") / 100.0,
            d_meter=d_meter,
            d_master=self.parameter(context, "master_resolution_l"),
        )

    def _curve(self, context: RunContext, flows: list[float]) -> list[MasterCurvePoint]:
        curve = master_curve(context.standards["master"])
        for q in flows:
            master_error_at(curve, q)  # refuses a flow outside the certified range
        return curve

    def plan(self, context: RunContext) -> list[Step]:
        cfg = self._config(context)
        self._curve(context, cfg.flows)
        steps: list[Step] = []
        tol = cfg.tolerance
        for j, (q, volume) in enumerate(zip(cfg.flows, cfg.volumes, strict=True), 1):
            label = f"q{j}"
            action = run_volume_action(label, q, volume, q * (1 - tol), q * (1 + tol))
            for i in range(1, cfg.runs + 1):
                steps += run_steps(f"{label}-{i}", label, i, "totalizer", action)
            if self.parameter(context, "water_temperature_c") is None:
                steps.append(water_step(f"{label}-water", label))
        return steps

    def required_range(self, context: RunContext) -> Mapping[str, tuple[float, float, str]]:
        flows = self._flows(context)
        return {"master": (min(flows), max(flows), "m³/h")}

    def evaluate(self, context: RunContext, data: Mapping[str, StepData]) -> list[PointResult]:
        cfg = self._config(context)
        curve = self._curve(context, cfg.flows)
        points: list[PointResult] = []
        for j, (q, volume) in enumerate(zip(cfg.flows, cfg.volumes, strict=True), 1):
            label = f"q{j}"
            t, density = water_conditions(context.parameters, data, f"{label}-water", f"{q:g} m³/h")
            runs = master_runs(data, label, cfg.runs, density, volume, f"{q:g} m³/h")
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
                accuracy_class=cfg.accuracy_class,
                water_temperature=t,
                rule=cfg.rule,
                temperature_difference=self.parameter(context, "temperature_difference_k"),
                master_drift=drift,
                drift_source=drift_source,
            )
            extra = {
                "test_volume_l": volume,
                "water_temperature_c": t,
                "water_density_kg_m3": density,
                "master": {"error": e_m, "U": u_m, "k": k_m, "certificate": context.standards["master"].certificate},
            }
            points.append(dataclasses.replace(point, evidence=point.evidence | extra))
        if cfg.degree is None:
            return points
        fit = flow_meter_error_curve(points, degree=cfg.degree)
        summary = {
            "degree": fit.degree,
            "coefficients": list(fit.coefficients),
            "x_ref": fit.x_ref,
            "covariance": [list(row) for row in fit.covariance],
            "chi2": fit.chi2,
            "unit": "% against (Q − x_ref) in m³/h, lowest power first",
        }
        out = []
        for point in points:
            assert point.point is not None
            fitted, u_fitted = fit.predict(point.point)
            curve_here = summary | {"fitted": fitted, "u_fitted": u_fitted}
            out.append(dataclasses.replace(point, evidence=point.evidence | {"error_curve": curve_here}))
        return out
