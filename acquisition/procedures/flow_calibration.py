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
``curve_degree`` (weighted by u(E); the fit goes into each point's budget under ``error_curve``). No conformity
unless ``accuracy_class`` (1 or 2) with ``q3_m3_h`` and ``r`` ask for the OIML R49 MPE; otherwise ``notAssessed``.

Units: flow rates m³/h, volumes L, errors %, temperatures °C, densities kg/m³.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

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
from acquisition.procedures.water_r49 import (
    FLOW_UNITS,
    accuracy_class,
    master_curve,
    master_run,
    positive,
    resolution_litres,
    run_count,
    run_steps,
    run_volume_action,
    temperature_parameter,
    water_conditions,
    water_step,
)

#: default test flows as fractions of the meter's upper range value
DEFAULT_FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)


class FlowMeterCalibration(Procedure):
    """Errors of a flow meter's totaliser against a master meter at several flow rates, with U and an error curve."""

    definition = ProcedureDefinition(
        code="flow-meter-calibration",
        version="1",
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

    def _flows(self, context: RunContext) -> list[float]:
        p = context.parameters
        inst = context.instrument
        given = p.get("flows_m3_h")
        if given is None:
            factor = FLOW_UNITS.get(inst.range_unit)
            if inst.range_max is None or factor is None or inst.range_max <= 0:
                raise ValueError(
                    f"give the test flows flows_m3_h (m³/h): the registry has no flow range in m³/h for "
                    f"{inst.serial_number}"
                )
            return [round(f * inst.range_max * factor, 6) for f in DEFAULT_FRACTIONS]
        if isinstance(given, str | bytes) or not hasattr(given, "__iter__"):
            raise ValueError(f"parameter flows_m3_h must be a list of flow rates (m³/h), got {given!r}")
        flows = []
        for q in given:
            if isinstance(q, bool) or not isinstance(q, int | float) or not math.isfinite(q) or q <= 0:
                raise ValueError(f"parameter flows_m3_h: each flow rate must be a number > 0 (m³/h), got {q!r}")
            flows.append(float(q))
        if not flows or len(set(flows)) != len(flows):
            raise ValueError(f"parameter flows_m3_h must list distinct flow rates (m³/h), got {given!r}")
        return flows

    def _volumes(self, context: RunContext, flows: list[float]) -> list[float]:
        given = context.parameters.get("volumes_l")
        if given is None:
            seconds = positive(context.parameters, "run_time_s", "s")
            return [q * seconds / 3.6 for q in flows]  # m³/h -> L/s is /3.6
        values = [given] * len(flows) if isinstance(given, int | float) else list(given)
        if len(values) != len(flows):
            raise ValueError(f"parameter volumes_l needs one volume per flow ({len(flows)}), got {len(values)}")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
                raise ValueError(f"parameter volumes_l: each test volume must be a number > 0 (L), got {v!r}")
        return [float(v) for v in values]

    def _config(self, context: RunContext) -> dict[str, Any]:
        p = context.parameters
        inst = context.instrument
        flows = self._flows(context)
        degree = p.get("curve_degree")
        if degree is not None:
            if isinstance(degree, bool) or not isinstance(degree, int) or degree < 1:
                raise ValueError(f"parameter curve_degree must be an integer >= 1 or null, got {degree!r}")
            if len(flows) < degree + 2:
                raise ValueError(
                    f"an error curve of degree {degree} needs at least {degree + 2} flow rates, got {len(flows)}: "
                    "add flows or lower curve_degree"
                )
        rates: FlowRates | None = None
        cls: int | None = None
        if p.get("accuracy_class") is not None:
            cls = accuracy_class(p, "")
            if p.get("q3_m3_h") is None or p.get("r") is None:
                raise ValueError("judging against an accuracy class needs the meter's q3_m3_h and r (Q3/Q1)")
            rates = flow_rates(positive(p, "q3_m3_h", "m³/h"), positive(p, "r", "Q3/Q1"))
            for q in flows:
                zone(rates, q)  # no MPE outside Q1..Q4
        if p.get("water_temperature_c") is not None:
            temperature_parameter(p)
        rule = p.get("rule", "simple")
        if rule not in ("simple", "guarded"):
            raise ValueError(f"parameter rule must be 'simple' or 'guarded', got {rule!r}")
        if p.get("meter_resolution_l") is not None:
            d_meter = positive(p, "meter_resolution_l", "L")
        else:
            d_meter = resolution_litres(inst.resolution, inst.resolution_unit, "flow meter", "meter_resolution_l")
        return {
            "flows": flows,
            "volumes": self._volumes(context, flows),
            "runs": run_count(p),
            "degree": degree,
            "rates": rates,
            "class": cls,
            "rule": rule,
            "tolerance": positive(p, "flow_tolerance_percent", "%") / 100.0,
            "d_meter": d_meter,
            "d_master": positive(p, "master_resolution_l", "L"),
        }

    def _curve(self, context: RunContext, flows: list[float]) -> list[MasterCurvePoint]:
        curve = master_curve(context.standards["master"])
        for q in flows:
            master_error_at(curve, q)  # refuses a flow outside the certified range
        return curve

    def plan(self, context: RunContext) -> list[Step]:
        cfg = self._config(context)
        self._curve(context, cfg["flows"])
        steps: list[Step] = []
        tol = cfg["tolerance"]
        for j, (q, volume) in enumerate(zip(cfg["flows"], cfg["volumes"], strict=True), 1):
            label = f"q{j}"
            action = run_volume_action(label, q, volume, q * (1 - tol), q * (1 + tol))
            for i in range(1, cfg["runs"] + 1):
                steps += run_steps(f"{label}-{i}", label, i, "totalizer", action)
            if context.parameters.get("water_temperature_c") is None:
                steps.append(water_step(f"{label}-water", label))
        return steps

    def required_range(self, context: RunContext) -> Mapping[str, tuple[float, float, str]]:
        flows = self._flows(context)
        return {"master": (min(flows), max(flows), "m³/h")}

    def evaluate(self, context: RunContext, data: Mapping[str, StepData]) -> list[PointResult]:
        cfg = self._config(context)
        curve = self._curve(context, cfg["flows"])
        points: list[PointResult] = []
        for j, (q, volume) in enumerate(zip(cfg["flows"], cfg["volumes"], strict=True), 1):
            label = f"q{j}"
            t, density = water_conditions(context.parameters, data, f"{label}-water", f"{q:g} m³/h")
            runs = [master_run(data, f"{label}-{i}", density) for i in range(1, cfg["runs"] + 1)]
            e_m, u_m, k_m = master_error_at(curve, q)
            point = water_meter_point(
                runs,
                flow_rate=q,
                meter_resolution=cfg["d_meter"],
                master_resolution=cfg["d_master"],
                master_error=e_m,
                master_U=u_m,
                master_k=k_m,
                rates=cfg["rates"],
                accuracy_class=cfg["class"],
                water_temperature=t,
                rule=cfg["rule"],
            )
            extra = {
                "test_volume_l": volume,
                "water_temperature_c": t,
                "water_density_kg_m3": density,
                "master": {"error": e_m, "U": u_m, "k": k_m, "certificate": context.standards["master"].certificate},
            }
            points.append(dataclasses.replace(point, budget=point.budget | extra))
        if cfg["degree"] is None:
            return points
        fit = flow_meter_error_curve(points, degree=cfg["degree"])
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
            out.append(dataclasses.replace(point, budget=point.budget | {"error_curve": curve_here}))
        return out
