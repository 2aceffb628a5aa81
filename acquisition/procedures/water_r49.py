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

from acquisition.methods.base import PointResult
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
    RoleSpec,
    RunContext,
    StandardUsed,
    Step,
    StepData,
)
from acquisition.prompts import OperatorAction

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


def positive(parameters: Mapping[str, Any], name: str, unit: str) -> float:
    """Parameter ``name`` as a finite number > 0; ValueError names it."""
    value = parameters.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"parameter {name} must be a number > 0 ({unit}), got {value!r}")
    return float(value)


def run_count(parameters: Mapping[str, Any]) -> int:
    """Parameter ``runs``: an integer >= 1."""
    n = parameters.get("runs", 1)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"parameter runs must be an integer >= 1, got {n!r}")
    return n


def temperature_parameter(parameters: Mapping[str, Any]) -> float:
    """Parameter ``water_temperature_c`` as a finite number (°C)."""
    t = parameters.get("water_temperature_c")
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
        raise ValueError(f"parameter water_temperature_c must be a number (°C), got {t!r}")
    return float(t)


def water_conditions(
    parameters: Mapping[str, Any], data: Mapping[str, StepData], step_id: str, label: str
) -> tuple[float, float]:
    """Water temperature (°C) and density (kg/m³) at one flow: the parameters, else the master's reading."""
    if parameters.get("water_temperature_c") is not None:
        t = temperature_parameter(parameters)
    else:
        step = data.get(step_id)
        if step is None or not step.values or not math.isfinite(step.values[0]):
            raise ValueError(
                f"the master reported no water temperature at {label}: give the parameter water_temperature_c"
            )
        if step.unit not in TEMPERATURE_UNITS:
            raise ValueError(f"water temperature at {label} is in {step.unit!r}, expected °C")
        t = float(step.values[0])
    if parameters.get("water_density_kg_m3") is not None:
        return t, positive(parameters, "water_density_kg_m3", "kg/m³")
    return t, water_density(t)


def water_step(step_id: str, label: str) -> Step:
    """The master's temperature channel read as the water temperature (an environmental record)."""
    return Step(
        step_id,
        "master",
        f"{label}: nhiệt độ nước / water temperature",
        quantity="temperature",
        environment=True,
        meta={"label": label},
    )


def run_volume_action(label: str, q: float, volume: float, low: float, high: float) -> OperatorAction:
    """The operator runs ``volume`` L at ``q`` m³/h (kept within ``low``..``high``), standing start and finish."""
    return OperatorAction(
        "run-volume",
        f"Mở van đến {label} ({q:.4g} m³/h, giữ trong khoảng {low:.4g}–{high:.4g} m³/h), cho chảy {volume:g} L "
        "rồi đóng van",
        f"Open the valve to {label} ({q:.4g} m³/h, keep it within {low:.4g}–{high:.4g} m³/h), pass {volume:g} L, "
        "then close the valve",
        {"point": label, "flow_m3_h": q, "volume_l": volume, "low_m3_h": low, "high_m3_h": high},
    )


def run_steps(tag: str, label: str, run: int, meter_quantity: str, action: OperatorAction) -> list[Step]:
    """One standing-start run: meter start, master start, run the volume, master end, meter end."""
    meta = {"label": label, "run": run}
    return [
        Step(
            f"{tag}-meter-start",
            "meter",
            f"{label} lần {run}: số chỉ ban đầu / meter reading before",
            quantity=meter_quantity,
            meta=meta,
        ),
        Step(
            f"{tag}-master-start",
            "master",
            f"{label} lần {run}: chuẩn ban đầu / master totaliser before",
            quantity="totalizer",
            meta=meta,
        ),
        Step(f"{tag}-run", "master", f"{label} lần {run}: cho nước chảy / run the volume", action, keep=0, meta=meta),
        Step(
            f"{tag}-master-end",
            "master",
            f"{label} lần {run}: chuẩn kết thúc / master totaliser after",
            quantity="totalizer",
            meta=meta,
        ),
        Step(
            f"{tag}-meter-end",
            "meter",
            f"{label} lần {run}: số chỉ kết thúc / meter reading after",
            quantity=meter_quantity,
            meta=meta,
        ),
    ]


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


def accuracy_class(parameters: Mapping[str, Any], registered: str) -> int:
    """The meter's accuracy class (1 or 2): parameter ``accuracy_class``, else the registry's."""
    given = parameters.get("accuracy_class")
    text = str(given if given is not None else registered or "").strip()
    match = re.fullmatch(r"(?i)(?:class\s*|cấp\s*)?([12])", text)
    if not match:
        raise ValueError(
            f"accuracy class {text!r} is not 1 or 2 (OIML R49-1:2013 4.2): record the meter's class in the "
            "registry or give the parameter accuracy_class"
        )
    return int(match.group(1))


POINTS = ("Q1", "Q2", "Q3", "Q4")


class WaterMeterVerificationR49(Procedure):
    """OIML R49-2:2013 7.4 verification against a master meter at Q1, Q2, Q3; MPE per R49-1:2013 4.2."""

    definition = ProcedureDefinition(
        code="water-meter-verification-r49",
        version="1",
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

    def _config(self, context: RunContext) -> dict[str, Any]:
        p = context.parameters
        rates = flow_rates(positive(p, "q3_m3_h", "m³/h"), positive(p, "r", "Q3/Q1"))
        points = [str(x).strip().upper() for x in p.get("points", ["Q1", "Q2", "Q3"])]
        bad = [x for x in points if x not in POINTS]
        if bad or not points:
            raise ValueError(f"parameter points must list test points among {', '.join(POINTS)}, got {points!r}")
        if len(set(points)) != len(points):
            raise ValueError(f"parameter points lists a test point twice: {points!r}")
        volumes = {str(k).strip().upper(): v for k, v in dict(p.get("volumes_l") or {}).items()}
        flows_given = {str(k).strip().upper(): v for k, v in dict(p.get("test_flows_m3_h") or {}).items()}
        flows: dict[str, float] = {}
        vols: dict[str, float] = {}
        for name in points:
            lo, hi = allowed_flow_range(rates, name)
            q = flows_given.get(name, (lo + hi) / 2)
            if isinstance(q, bool) or not isinstance(q, int | float) or not lo <= q <= hi:
                raise ValueError(
                    f"test flow at {name} must be within {lo:.6g}..{hi:.6g} m³/h (OIML R49-2:2013 7.4), got {q!r}: "
                    "correct test_flows_m3_h"
                )
            v = volumes.get(name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
                raise ValueError(f"parameter volumes_l needs a test volume > 0 (L) for {name}, got {v!r}")
            flows[name], vols[name] = float(q), float(v)
        instrument = context.instrument
        if p.get("meter_resolution_l") is not None:
            d_meter = positive(p, "meter_resolution_l", "L")
        else:
            d_meter = resolution_litres(
                instrument.resolution, instrument.resolution_unit, "water meter", "meter_resolution_l"
            )
        if p.get("water_temperature_c") is not None:
            temperature_parameter(p)
        rule = p.get("rule", "simple")
        if rule not in ("simple", "guarded"):
            raise ValueError(f"parameter rule must be 'simple' or 'guarded', got {rule!r}")
        return {
            "rates": rates,
            "points": points,
            "flows": flows,
            "volumes": vols,
            "runs": run_count(p),
            "class": accuracy_class(p, instrument.accuracy_class),
            "d_meter": d_meter,
            "d_master": positive(p, "master_resolution_l", "L"),
            "rule": rule,
        }

    def _curve(self, context: RunContext, flows: Mapping[str, float]) -> list[MasterCurvePoint]:
        curve = master_curve(context.standards["master"])
        for q in flows.values():
            master_error_at(curve, q)  # refuses a flow outside the certified range
        return curve

    def plan(self, context: RunContext) -> list[Step]:
        cfg = self._config(context)
        self._curve(context, cfg["flows"])
        rates: FlowRates = cfg["rates"]
        steps: list[Step] = []
        for name in cfg["points"]:
            lo, hi = allowed_flow_range(rates, name)
            action = run_volume_action(name, cfg["flows"][name], cfg["volumes"][name], lo, hi)
            for i in range(1, cfg["runs"] + 1):
                steps += run_steps(f"{name.lower()}-{i}", name, i, "register", action)
            if context.parameters.get("water_temperature_c") is None:
                steps.append(water_step(f"{name.lower()}-water", name))
        return steps

    def required_range(self, context: RunContext) -> Mapping[str, tuple[float, float, str]]:
        flows = self._config(context)["flows"].values()
        return {"master": (min(flows), max(flows), "m³/h")}

    def evaluate(self, context: RunContext, data: Mapping[str, StepData]) -> list[PointResult]:
        cfg = self._config(context)
        curve = self._curve(context, cfg["flows"])
        points: list[PointResult] = []
        for name in cfg["points"]:
            q = cfg["flows"][name]
            t, density = water_conditions(context.parameters, data, f"{name.lower()}-water", name)
            runs = [master_run(data, f"{name.lower()}-{i}", density) for i in range(1, cfg["runs"] + 1)]
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
                nominal=name,
                accuracy_class=cfg["class"],
                water_temperature=t,
                rule=cfg["rule"],
            )
            extra = {
                "test_volume_l": cfg["volumes"][name],
                "water_temperature_c": t,
                "water_density_kg_m3": density,
                "master": {"error": e_m, "U": u_m, "k": k_m, "certificate": context.standards["master"].certificate},
            }
            points.append(dataclasses.replace(point, budget=point.budget | extra))
        return list(water_meter_verification(points).points)
