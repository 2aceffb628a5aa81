"""``weight-calibration-r111``: calibration of a weight by ABBA comparison (OIML R111-1:2004 Annex C).

Roles: ``weight`` (the weight under calibration: registry instrument, ``range_max`` = nominal value, ``accuracy_class``
= its R111 class), ``reference`` (a reference weight or weight set whose certificate has a row for the nominal value),
``comparator`` (a mass comparator or balance read as the indicating instrument, here over MT-SICS) and
``environment`` (a thermo-hygro-barometer: temperature, humidity, pressure for the air density).

Steps: environment at the start; ``cycles`` ABBA cycles (R111-1:2004 C.4.3), each of four placements in the order
reference (A), test (B), test (B), reference (A), every comparator indication kept once stable; environment at the
end. Evaluation: ΔI = (I_B1 − I_A1 − I_A2 + I_B2)/2 per cycle, averaged; the air density ρ_a from the mean
environment (CIPM-2007 by default) with u(ρ_a) from the sensor's uncertainty and the change during the run; the
conventional mass m_ct = m_cr + ΔI_mean + m_cr(ρ_a − ρ_0)(1/ρ_t − 1/ρ_r), U (k = 2) per R111-1:2004 C.6 and the
conformity to the weight's class (|m_ct − m_0| + U ≤ δm, R111 5.3.1; U ≤ δm/3, R111 5.2), all through
:func:`acquisition.methods.weights.calibrate_weight`.

Units: masses and comparator indications in g (certificate rows may say ``"unit": "mg"`` or ``"kg"``); the result's
value (m_c − m_0), U and MPE in mg; densities in kg/m³; t in °C, p in hPa, h in %RH.

Certificate rows read (``values`` of the certificate in force):

* reference: ``{"point": nominal g, "value": conventional mass, "unit": "g", "U", "k"}`` and optionally
  ``"density_kg_m3"`` with ``"density_U_kg_m3"`` (at ``"density_k"``, default 2) and ``"air_density_kg_m3"`` (ρ_al
  at its calibration). Without a density the material's assumed density (R111 Table B.7) is used.
* comparator: ``{"quantity": "resolution", "value": d, "unit": "g"}`` and optionally
  ``{"quantity": "repeatability", "point": load g, "value": s, "unit": "g", "dof": ν}``: a pooled standard deviation
  of one indication. For an ABBA difference of independent indications s(ΔI) = √(4 s²)/2 = s, so it is used as the
  pooled s of ΔI (R111 C.6.1); without it the standard deviation of this run's cycle differences is used.
* environment: ``{"quantity": "temperature" | "humidity" | "pressure", "U", "k"}`` (largest U/k per quantity).

Parameters override the certificate where both exist (see :attr:`WeightCalibrationR111.definition` and the
procedure document ``docs/procedures/weight-calibration-r111.md``).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping
from typing import Any

from acquisition.methods.base import PointResult
from acquisition.methods.weights import (
    CLASSES,
    R111_MATERIAL_DENSITY,
    AirDensity,
    Comparator,
    ReferenceWeight,
    TestWeight,
    air_density_with_uncertainty,
    calibrate_weight,
    mpe_mg,
)
from acquisition.procedures.base import (
    ENVIRONMENT_ROLE,
    EnvironmentLimit,
    Procedure,
    ProcedureDefinition,
    RoleSpec,
    RunContext,
    StandardUsed,
    Step,
    StepData,
)
from acquisition.procedures.params import STABILITY_TIMEOUT_S, ParamSpec, read
from acquisition.prompts import OperatorAction
from acquisition.stability import StabilityCriterion

#: ABBA order within a cycle: (position, weight, label) — A = reference, B = test (R111-1:2004 C.4.3)
ABBA: tuple[tuple[int, str, str], ...] = (
    (1, "reference", "A1"),
    (2, "test", "B1"),
    (3, "test", "B2"),
    (4, "reference", "A2"),
)
ENV_QUANTITIES = ("temperature", "humidity", "pressure")
_TO_GRAMS = {"g": 1.0, "mg": 1e-3, "kg": 1e3}


def _grams(value: Any, unit: Any, what: str) -> float:
    """``value`` in ``unit`` (g, mg or kg; empty means g) as grams."""
    u = str(unit or "g")
    if u not in _TO_GRAMS:
        raise ValueError(f"{what}: unit {u!r} is not a mass unit; use g, mg or kg")
    return float(value) * _TO_GRAMS[u]


def _optional(name: str, vi: str, en: str, unit: str, *, zero: bool = False) -> ParamSpec:
    """An optional number >= 0 (> 0 unless ``zero``) in ``unit``; null means not given."""
    return ParamSpec(name, "number", vi, en, unit=unit, minimum=0.0, zero=zero, nullable=True)


#: the run parameters (masses in g, densities in kg/m³)
PARAMETERS = (
    _optional(
        "nominal_g",
        "Giá trị danh định m0 của quả cân; mặc định: range_max của quả cân trong sổ đăng ký",
        "Nominal value m0 of the weight; default: the weight's range_max in the registry",
        "g",
    ),
    ParamSpec(
        "cycles",
        "whole",
        "Số chu kỳ ABBA (1 chu kỳ chỉ khi độ lặp lại của cân so sánh đã có trong giấy chứng nhận)",
        "ABBA cycles (1 only when the comparator's certificate gives its repeatability)",
        minimum=1,
        maximum=20,
        default=3,
    ),
    _optional(
        "test_density_kg_m3",
        "Khối lượng riêng của quả cân cần hiệu chuẩn, khi đã biết (cùng test_density_U_kg_m3)",
        "Density of the weight under calibration, when known (with test_density_U_kg_m3)",
        "kg/m³",
    ),
    _optional(
        "test_density_U_kg_m3",
        "Độ không đảm bảo đo mở rộng (k = 2) của khối lượng riêng đó",
        "Expanded uncertainty (k = 2) of that density",
        "kg/m³",
        zero=True,
    ),
    ParamSpec(
        "test_material",
        "choice",
        "Vật liệu của quả cân: dùng khối lượng riêng giả định (R111 Bảng B.7) khi không cho test_density_kg_m3",
        "Material of the weight: its assumed density (R111 Table B.7) is used when test_density_kg_m3 is not given",
        choices=tuple(R111_MATERIAL_DENSITY.rows),
        default="stainless steel",
        hint="or give test_density_kg_m3 and test_density_U_kg_m3",
    ),
    ParamSpec(
        "reference_drift_g",
        "number",
        "Nửa độ rộng độ trôi của quả cân chuẩn kể từ lần hiệu chuẩn (phân bố chữ nhật, R111 C.6.3)",
        "Half-width of the reference weight's drift since its calibration (rectangular, R111 C.6.3)",
        unit="g",
        minimum=0.0,
        default=0.0,
        nullable=True,
    ),
    _optional(
        "comparator_d_g",
        "Độ phân giải d của cân so sánh; mặc định: theo giấy chứng nhận",
        "Resolution d of the comparator; default: from its certificate",
        "g",
    ),
    _optional(
        "u_temperature_c",
        "Độ không đảm bảo đo chuẩn của cảm biến nhiệt độ; mặc định: U/k theo giấy chứng nhận",
        "Standard uncertainty of the temperature sensor; default: U/k from its certificate",
        "°C",
        zero=True,
    ),
    _optional(
        "u_humidity_pct",
        "Độ không đảm bảo đo chuẩn của cảm biến độ ẩm; mặc định: U/k theo giấy chứng nhận",
        "Standard uncertainty of the humidity sensor; default: U/k from its certificate",
        "%RH",
        zero=True,
    ),
    _optional(
        "u_pressure_hpa",
        "Độ không đảm bảo đo chuẩn của cảm biến áp suất; mặc định: U/k theo giấy chứng nhận",
        "Standard uncertainty of the pressure sensor; default: U/k from its certificate",
        "hPa",
        zero=True,
    ),
    _optional(
        "pressure_hpa",
        "Áp suất không khí, chỉ dùng khi thiết bị đo môi trường không cho áp suất",
        "Air pressure, used only when the environment instrument gives none",
        "hPa",
    ),
    ParamSpec(
        "air_density_formula",
        "choice",
        "Công thức tính khối lượng riêng của không khí: cipm2007 hoặc r111 (R111-1 E.3-1)",
        "Air density formula: cipm2007 (CIPM-2007) or r111 (R111-1 E.3-1)",
        choices=("cipm2007", "r111"),
        default="cipm2007",
    ),
    ParamSpec(
        "settle_window",
        "whole",
        "Số lần đọc liên tiếp để số chỉ được coi là ổn định",
        "Successive readings for the indication to count as stable",
        minimum=1,
        default=3,
    ),
    ParamSpec(
        "stability_spread_d",
        "number",
        "Độ chênh lớn nhất của các lần đọc khi ổn định, tính bằng số lần d",
        "Largest spread of the readings of a stable indication, in multiples of d",
        minimum=0.0,
        zero=False,
        default=5.0,
        nullable=True,
    ),
    dataclasses.replace(STABILITY_TIMEOUT_S, nullable=True),
)


class WeightCalibrationR111(Procedure):
    """OIML R111-1:2004 Annex C: one weight against a reference weight of the same nominal value, ABBA cycles."""

    definition = ProcedureDefinition(
        code="weight-calibration-r111",
        version="1",
        kind="calibration",
        field="mass",
        title="Hiệu chuẩn quả cân / Calibration of a weight (OIML R111, ABBA)",
        method_reference="OIML R111-1:2004 Annex C (C.4.3 ABBA, C.6 uncertainty), 5.2 and 5.3.1",
        roles=(
            RoleSpec("weight", "the weight under calibration (nominal value, R111 class)", under_test=True),
            RoleSpec(
                "reference",
                "reference weight of the same nominal value (certificate: conventional mass, U, k, density)",
                standard_kinds=("reference weight", "weight set"),
            ),
            RoleSpec(
                "comparator",
                "mass comparator (certificate: resolution d, optionally repeatability)",
                standard_kinds=("mass comparator",),
            ),
            ENVIRONMENT_ROLE,
        ),
        environment=(
            EnvironmentLimit("temperature", 15.0, 30.0, "°C"),
            EnvironmentLimit("humidity", 20.0, 80.0, "%RH"),
            # no air density without a pressure: a failed or absurd reading pauses the run
            EnvironmentLimit("pressure", 500.0, 1200.0, "hPa", stop=True),
        ),
        parameters={
            "cycles": 3,
            "test_material": "stainless steel",
            "reference_drift_g": 0.0,
            "air_density_formula": "cipm2007",
            "settle_window": 3,
            "stability_spread_d": 5.0,
            "stability_timeout_s": 30.0,
        },
    )
    parameter_specs = PARAMETERS

    # ------------------------------------------------------------------------------------------------ set-up

    def _setup(self, context: RunContext) -> dict[str, Any]:
        """Everything plan and evaluate need from the context, checked; ValueError says what to fix."""
        p = context.parameters
        inst = context.instrument
        nominal: float | None = self.parameter(context, "nominal_g")
        if nominal is None:
            if inst.range_max is None:
                raise ValueError(
                    f"weight {inst.serial_number}: give the nominal value as parameter nominal_g, or register it as "
                    "the instrument's range_max (g)"
                )
            nominal = _grams(inst.range_max, inst.range_unit, f"weight {inst.serial_number} range")
        if nominal <= 0:
            raise ValueError(f"nominal_g must be > 0 g, got {nominal!r}")
        weight_class = (inst.accuracy_class or "").strip().upper()
        if weight_class not in CLASSES:
            raise ValueError(
                f"weight {inst.serial_number} has class {inst.accuracy_class!r} in the registry; set its OIML R111 "
                f"class (accuracy_class one of {', '.join(CLASSES)})"
            )
        mpe = mpe_mg(nominal, weight_class)  # raises for a nominal value not in R111 Table 1
        cycles: int = self.parameter(context, "cycles")

        reference = self._reference(context.standards["reference"], nominal, p)
        d, pooled_s, pooled_dof = self._comparator(context.standards["comparator"], nominal, p)
        if pooled_s is None and cycles < 2:
            raise ValueError(
                f"one cycle gives no standard deviation and the comparator {context.standards['comparator'].code} "
                "certificate has no repeatability row: weigh cycles >= 2"
            )
        test = self._test_weight(nominal, weight_class, p)
        u_env = self._environment_u(context.standards["environment"], p)
        formula = self.parameter(context, "air_density_formula")
        window = self.parameter(context, "settle_window")
        spread_d = self.parameter(context, "stability_spread_d")
        timeout = self.parameter(context, "stability_timeout_s")
        return {
            "nominal": nominal,
            "class": weight_class,
            "mpe": mpe,
            "cycles": cycles,
            "reference": reference,
            "d": d,
            "pooled_s": pooled_s,
            "pooled_dof": pooled_dof,
            "test": test,
            "u_env": u_env,
            "formula": formula,
            "stability": StabilityCriterion(
                window=window,
                max_spread=(5.0 if spread_d is None else spread_d) * d,
                timeout=30.0 if timeout is None else timeout,
            ),
        }

    def _reference(self, std: StandardUsed, nominal: float, p: Mapping[str, Any]) -> ReferenceWeight:
        """The reference's certificate row for ``nominal`` (g) as a :class:`ReferenceWeight`."""
        rows = [r for r in std.values if r.get("point") is not None and "value" in r]
        row = next(
            (r for r in rows if math.isclose(_grams(r["point"], r.get("unit"), std.code), nominal, rel_tol=1e-9)),
            None,
        )
        if row is None:
            have = ", ".join(f"{_grams(r['point'], r.get('unit'), std.code):g} g" for r in rows) or "none"
            raise ValueError(
                f"reference {std.code} (certificate {std.certificate or '?'}) has no certified value for "
                f"{nominal:g} g (it has: {have}); choose a reference weight of the weight's nominal value"
            )
        for key in ("U", "k"):
            if row.get(key) is None:
                raise ValueError(f"reference {std.code}: the {nominal:g} g certificate row has no {key}; add it")
        density = row.get("density_kg_m3")
        u_density = None
        if density is not None:
            if row.get("density_U_kg_m3") is None:
                raise ValueError(
                    f"reference {std.code}: the {nominal:g} g row gives density_kg_m3 without density_U_kg_m3; add it"
                )
            u_density = float(row["density_U_kg_m3"]) / float(row.get("density_k", 2.0))
        drift = read(PARAMETERS, p, "reference_drift_g") or 0.0
        rho_al = row.get("air_density_kg_m3")
        return ReferenceWeight(
            conventional_mass=_grams(row["value"], row.get("unit"), std.code),
            U=_grams(row["U"], row.get("unit"), std.code),
            k=float(row["k"]),
            density=None if density is None else float(density),
            u_density=u_density,
            material=str(row.get("material", "stainless steel")),
            drift=drift,
            air_density_at_calibration=None if rho_al is None else float(rho_al),
        )

    def _comparator(
        self, std: StandardUsed, nominal: float, p: Mapping[str, Any]
    ) -> tuple[float, float | None, float | None]:
        """(resolution d g, pooled s g or None, its degrees of freedom or None) from parameters and certificate."""
        d = read(PARAMETERS, p, "comparator_d_g")
        if d is None:
            row = next((r for r in std.values if r.get("quantity") == "resolution"), None)
            if row is not None:
                d = _grams(row["value"], row.get("unit"), std.code)
        if d is None or d <= 0:
            raise ValueError(
                f"comparator {std.code}: its resolution d is unknown; add a certificate row "
                '{"quantity": "resolution", "value": d, "unit": "g"} or give parameter comparator_d_g'
            )
        reps = [r for r in std.values if r.get("quantity") == "repeatability" and r.get("value") is not None]
        if not reps:
            return d, None, None

        def distance(r: Mapping[str, Any]) -> tuple[float, float]:
            load = _grams(r.get("point", nominal), r.get("unit"), std.code)
            return abs(load - nominal), -load  # nearest load; on a tie the larger one

        row = min(reps, key=distance)
        dof = row.get("dof")
        return d, _grams(row["value"], row.get("unit"), std.code), None if dof is None else float(dof)

    def _test_weight(self, nominal: float, weight_class: str, p: Mapping[str, Any]) -> TestWeight:
        density = read(PARAMETERS, p, "test_density_kg_m3")
        if density is None:
            material = read(PARAMETERS, p, "test_material")
            if material not in R111_MATERIAL_DENSITY.rows:  # the table changed since the choices were declared
                raise ValueError(
                    f"parameter test_material {material!r} is not in {R111_MATERIAL_DENSITY.edition}; give "
                    f"test_density_kg_m3 and test_density_U_kg_m3, or one of {', '.join(R111_MATERIAL_DENSITY.rows)}"
                )
            return TestWeight(nominal, weight_class, material=material)
        U = read(PARAMETERS, p, "test_density_U_kg_m3")
        if U is None:
            raise ValueError("parameter test_density_kg_m3 needs test_density_U_kg_m3 (kg/m³, k = 2) as well")
        return TestWeight(nominal, weight_class, density=density, u_density=U / 2.0)

    def _environment_u(self, std: StandardUsed, p: Mapping[str, Any]) -> dict[str, float]:
        """Standard uncertainty of the sensor per quantity (°C, %RH, hPa): parameter, else certificate U/k."""
        keys = {"temperature": "u_temperature_c", "humidity": "u_humidity_pct", "pressure": "u_pressure_hpa"}
        out: dict[str, float] = {}
        for quantity, key in keys.items():
            value = read(PARAMETERS, p, key)
            if value is None:
                rows = [r for r in std.values if r.get("quantity") == quantity and r.get("U") is not None]
                if rows:
                    value = max(float(r["U"]) / float(r.get("k", 2.0)) for r in rows)
            if value is None or value < 0:
                raise ValueError(
                    f"the {quantity} uncertainty of {std.code} is unknown (needed for u of the air density): add a "
                    f'certificate row {{"quantity": "{quantity}", "U": ..., "k": 2}} or give parameter {key}'
                )
            out[quantity] = value
        return out

    # ------------------------------------------------------------------------------------------------ plan

    def plan(self, context: RunContext) -> list[Step]:
        cfg = self._setup(context)
        nominal, n = cfg["nominal"], cfg["cycles"]
        steps = [
            Step(
                "env-start", "environment", "Điều kiện môi trường lúc bắt đầu / environment at start", environment=True
            )
        ]
        for i in range(1, n + 1):
            for position, weight, label in ABBA:
                vi_weight = "quả cân chuẩn" if weight == "reference" else "quả cân cần hiệu chuẩn"
                en_weight = "reference weight" if weight == "reference" else "weight under calibration"
                action = OperatorAction(
                    "place-weight",
                    f"Chu kỳ {i}/{n}, vị trí {position} ({label}): đặt {vi_weight} {nominal:g} g lên bàn cân so sánh",
                    f"Cycle {i}/{n}, position {position} ({label}): place the {en_weight} {nominal:g} g on the "
                    "comparator",
                    {"weight": weight, "nominal_g": nominal, "cycle": i, "position": position},
                )
                steps.append(
                    Step(
                        f"cycle-{i}-{label}",
                        "comparator",
                        f"ABBA {i}/{n} {label}: {en_weight} {nominal:g} g",
                        action,
                        stability=cfg["stability"],
                        meta={"cycle": i, "position": position, "weight": weight, "nominal_g": nominal},
                    )
                )
        steps.append(
            Step("env-end", "environment", "Điều kiện môi trường lúc kết thúc / environment at end", environment=True)
        )
        return steps

    def required_range(self, context: RunContext) -> Mapping[str, tuple[float, float, str]]:
        nominal = self._setup(context)["nominal"]
        return {"reference": (nominal, nominal, "g"), "comparator": (nominal, nominal, "g")}

    # ------------------------------------------------------------------------------------------------ evaluate

    @staticmethod
    def _environment(data: Mapping[str, StepData], p: Mapping[str, Any]) -> tuple[dict[str, list[float]], str]:
        """Finite environment values per quantity over every environment step, and a note on the pressure."""
        seen: dict[str, list[float]] = {q: [] for q in ENV_QUANTITIES}
        for sd in data.values():
            if not sd.step.environment:
                continue
            for quantity, value in zip(sd.quantities, sd.values, strict=False):
                if quantity in seen and math.isfinite(value):
                    seen[quantity].append(value)
        note = ""
        if not seen["pressure"]:
            pressure = read(PARAMETERS, p, "pressure_hpa")
            if pressure is None:
                raise ValueError(
                    "the environment instrument gave no pressure: give parameter pressure_hpa (and u_pressure_hpa)"
                )
            seen["pressure"] = [pressure]
            note = f"Pressure {pressure:g} hPa from parameter pressure_hpa (no barometer reading)."
        for quantity in ("temperature", "humidity"):
            if not seen[quantity]:
                raise ValueError(f"no valid {quantity} reading in the environment steps: check the sensor, re-run")
        return seen, note

    def evaluate(self, context: RunContext, data: Mapping[str, StepData]) -> list[PointResult]:
        cfg = self._setup(context)
        p = context.parameters
        cycles: list[list[float]] = []
        for i in range(1, cfg["cycles"] + 1):
            cycle = []
            for _position, _weight, label in ABBA:
                sd = data[f"cycle-{i}-{label}"]
                if not sd.values:
                    raise ValueError(f"step cycle-{i}-{label} kept no comparator reading")
                cycle.append(_grams(sd.values[-1], sd.unit, f"comparator reading cycle-{i}-{label}"))
            cycles.append(cycle)

        env, env_note = self._environment(data, p)
        means = {q: statistics.fmean(v) for q, v in env.items()}
        # sensor standard uncertainty combined with the change during the run (rectangular over the range seen)
        u = {q: math.hypot(cfg["u_env"][q], (max(v) - min(v)) / math.sqrt(12.0)) for q, v in env.items()}
        rho: AirDensity = air_density_with_uncertainty(
            means["temperature"],
            means["pressure"],
            means["humidity"],
            u_t=u["temperature"],
            u_p=u["pressure"],
            u_h=u["humidity"],
            formula=cfg["formula"],
        )
        result = calibrate_weight(
            cfg["test"],
            cfg["reference"],
            cycles,
            scheme="ABBA",
            comparator=Comparator(resolution=cfg["d"]),
            air_density=rho,
            pooled_s=cfg["pooled_s"],
            pooled_dof=cfg["pooled_dof"],
        )
        pr = result.point_result
        ref_std = context.standards["reference"]
        budget = {
            **pr.budget,
            "air_density": {"value": rho.value, "u": rho.u, "formula": rho.formula, "budget": rho.budget},
            "environment": {q: {"mean": means[q], "u": u[q], "n": len(env[q])} for q in ENV_QUANTITIES},
            "reference": {
                "code": ref_std.code,
                "certificate": ref_std.certificate,
                "conventional_mass_g": cfg["reference"].conventional_mass,
                "U_g": cfg["reference"].U,
                "k": cfg["reference"].k,
            },
            "comparator": {
                "code": context.standards["comparator"].code,
                "d_g": cfg["d"],
                "pooled_s_g": cfg["pooled_s"],
            },
            "readings_g": cycles,
        }
        note = f"{pr.note.rstrip('. ')}. ρ_a = {rho.value:.5f} kg/m³ ({rho.formula})."
        if env_note:
            note += f" {env_note}"
        return [dataclasses.replace(pr, budget=budget, note=note)]
