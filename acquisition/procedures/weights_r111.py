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
  The balance terms of R111-1:2004 C.6.4 (each its own budget row; a zero one says why):

  - sensitivity (C.6.4.1): ``{"quantity": "sensitivity", "value": S, "U_rel": U_rel, "k": 2}`` (S dimensionless,
    1 for a comparator indicating in g; U_rel its relative expanded uncertainty), unless the run parameters
    ``sensitivity_weight_g``, ``sensitivity_weight_U_g``, ``sensitivity_indication_g`` and
    ``sensitivity_indication_u_g`` give a sensitivity weight and the indication change it gave.
  - display resolution (C.6.4.2): u_d = (d/2)/√3·√2 from d above.
  - eccentricity (C.6.4.3): ``{"quantity": "eccentricity", "point": load g, "value": D, "unit": "g",
    "distance_mm": d2}`` — D the largest minus the smallest indication of the comparator's off-centre test at that
    load, d2 the distance (mm) of its off-centre positions from the pan's centre; u_E = (d1/d2)·D/(2√3) with d1 the
    run parameter ``centring_distance_mm`` (default d2: the conservative reading). The row nearest the nominal value
    is used, its D scaled up by nominal/load when it was measured at a smaller load. The run parameter
    ``eccentricity_u_g`` overrides.
  - magnetism (C.6.4.4): 0 while ``weights_meet_magnetism_limits`` (default true) declares that both weights meet
    the R111-1:2004 magnetism requirements; otherwise ``magnetism_u_g``.

  A comparator without a sensitivity or an eccentricity row (and without the parameters) is refused at planning.
* environment: ``{"quantity": "temperature" | "humidity" | "pressure", "U", "k"}`` (largest U/k per quantity).

The reference's drift u_inst (R111-1:2004 C.6.2) is |change| of its certified value between its last two
certificates (``StandardUsed.history``, :func:`acquisition.procedures.history.certified_change`), the half-width of a
rectangular distribution; without an earlier certificate, one third of the MPE of the reference's registered class
(the largest U R111-1:2004 5.2 allows that class; the conservative bound of decision 0305); a reference with neither
is refused. The run parameter ``reference_drift_g`` overrides both.

The clause numbers C.6.1–C.6.5 and the C.6.4 formulas are as this project reads R111-1:2004; they could not be
checked against the edition's text, and the budget rows say so.

Parameters override the certificate where both exist (see :attr:`WeightCalibrationR111.definition` and the
procedure document ``docs/procedures/weight-calibration-r111.md``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Literal

from acquisition.channel import OperatorAction
from acquisition.methods.base import PointResult, Text, Words, num, words
from acquisition.methods.weights import (
    CLASSES,
    R111_MATERIAL_DENSITY,
    Comparator,
    ReferenceWeight,
    TestWeight,
    calibrate_weight,
    eccentricity_u,
    mpe_mg,
    sensitivity_from_weight,
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
from acquisition.procedures.environment import run_air_density, sensor_uncertainty
from acquisition.procedures.history import certified_change, labelled
from acquisition.procedures.params import STABILITY_TIMEOUT_S, ParamSpec, read
from acquisition.stability import StabilityCriterion
from acquisition.wording import number_text

#: ABBA order within a cycle: (position, weight, label) — A = reference, B = test (R111-1:2004 C.4.3)
ABBA: tuple[tuple[int, str, str], ...] = (
    (1, "reference", "A1"),
    (2, "test", "B1"),
    (3, "test", "B2"),
    (4, "reference", "A2"),
)
#: quantity -> the run parameter giving its sensor's standard uncertainty
_ENV_U = {"temperature": "u_temperature_c", "humidity": "u_humidity_pct", "pressure": "u_pressure_hpa"}
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
    _optional(
        "reference_drift_g",
        "Nửa độ rộng độ trôi của quả cân chuẩn (phân bố chữ nhật, R111 C.6.2); mặc định: |thay đổi| giá trị chứng "
        "nhận giữa hai giấy chứng nhận gần nhất, hoặc 1/3 MPE cấp của quả cân chuẩn khi không có giấy trước",
        "Half-width of the reference weight's drift (rectangular, R111 C.6.2); default: |change| of its certified "
        "value between its last two certificates, or one third of its class MPE without an earlier certificate",
        "g",
        zero=True,
    ),
    _optional(
        "sensitivity_weight_g",
        "Khối lượng m_s của quả cân độ nhạy (R111 C.6.4.1); cùng sensitivity_weight_U_g, sensitivity_indication_g, "
        "sensitivity_indication_u_g; mặc định: độ nhạy theo giấy chứng nhận của cân so sánh",
        "Mass m_s of the sensitivity weight (R111 C.6.4.1); with sensitivity_weight_U_g, sensitivity_indication_g and "
        "sensitivity_indication_u_g; default: the sensitivity on the comparator's certificate",
        "g",
    ),
    _optional(
        "sensitivity_weight_U_g",
        "Độ không đảm bảo đo mở rộng (k = 2) của m_s",
        "Expanded uncertainty (k = 2) of m_s",
        "g",
        zero=True,
    ),
    _optional(
        "sensitivity_indication_g",
        "Thay đổi số chỉ ΔI_s khi đặt quả cân độ nhạy",
        "Change ΔI_s of the indication the sensitivity weight gives",
        "g",
    ),
    _optional(
        "sensitivity_indication_u_g",
        "Độ không đảm bảo đo chuẩn của ΔI_s",
        "Standard uncertainty of ΔI_s",
        "g",
        zero=True,
    ),
    _optional(
        "eccentricity_u_g",
        "Độ không đảm bảo đo chuẩn u_E do tải lệch tâm (R111 C.6.4.3); mặc định: từ phép thử lệch tâm trong giấy "
        "chứng nhận của cân so sánh",
        "Standard uncertainty u_E of eccentric loading (R111 C.6.4.3); default: from the eccentricity test on the "
        "comparator's certificate",
        "g",
        zero=True,
    ),
    _optional(
        "centring_distance_mm",
        "Khoảng cách ước lượng d1 giữa tâm hai quả cân trên đĩa cân (R111 C.6.4.3); mặc định: d2 của phép thử lệch "
        "tâm (cách đọc thận trọng)",
        "Estimated distance d1 between the centres of the two weights on the pan (R111 C.6.4.3); default: the d2 of "
        "the eccentricity test (the conservative reading)",
        "mm",
        zero=True,
    ),
    ParamSpec(
        "weights_meet_magnetism_limits",
        "flag",
        "Cả hai quả cân đáp ứng giới hạn từ tính của R111-1 (khi đó u_ma = 0, R111 C.6.4.4); nếu không, cho "
        "magnetism_u_g",
        "Both weights meet the R111-1 magnetism limits (then u_ma = 0, R111 C.6.4.4); otherwise give magnetism_u_g",
        default=True,
    ),
    _optional(
        "magnetism_u_g",
        "Độ không đảm bảo đo chuẩn u_ma do từ tính (R111 C.6.4.4); thay cho weights_meet_magnetism_limits",
        "Standard uncertainty u_ma of magnetic effects (R111 C.6.4.4); overrides weights_meet_magnetism_limits",
        "g",
        zero=True,
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


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything plan and evaluate need, checked: nominal value (g), class and its MPE δm (mg), ABBA cycles, the
    reference weight, the comparator's d (g), pooled s (g) with its degrees of freedom and balance terms, the test
    weight, the environment sensors' u, the air density formula and the stability criterion."""

    nominal: float
    weight_class: str
    mpe: float
    cycles: int
    reference: ReferenceWeight
    d: float
    comparator: Comparator
    pooled_s: float | None
    pooled_dof: float | None
    test: TestWeight
    u_env: dict[str, float]
    formula: Literal["cipm2007", "r111"]
    stability: StabilityCriterion


class WeightCalibrationR111(Procedure):
    """OIML R111-1:2004 Annex C: one weight against a reference weight of the same nominal value, ABBA cycles."""

    definition = ProcedureDefinition(
        code="weight-calibration-r111",
        version="2",
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
                "mass comparator (certificate: resolution d, sensitivity, eccentricity test, optionally repeatability)",
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
            "weights_meet_magnetism_limits": True,
            "air_density_formula": "cipm2007",
            "settle_window": 3,
            "stability_spread_d": 5.0,
            "stability_timeout_s": 30.0,
        },
    )
    parameter_specs = PARAMETERS

    # ------------------------------------------------------------------------------------------------ set-up

    def _setup(self, context: RunContext) -> Config:
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
        comparator = self._balance_terms(context.standards["comparator"], nominal, d, p)
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
        return Config(
            nominal=nominal,
            weight_class=weight_class,
            mpe=mpe,
            cycles=cycles,
            reference=reference,
            d=d,
            comparator=comparator,
            pooled_s=pooled_s,
            pooled_dof=pooled_dof,
            test=test,
            u_env=u_env,
            formula=formula,
            stability=StabilityCriterion(
                window=window,
                max_spread=(5.0 if spread_d is None else spread_d) * d,
                timeout=30.0 if timeout is None else timeout,
            ),
        )

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
        drift, drift_source = self._drift(std, row, nominal, p)
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
            drift_source=drift_source,
        )

    @staticmethod
    def _drift(std: StandardUsed, row: Mapping[str, Any], nominal: float, p: Mapping[str, Any]) -> tuple[float, Text]:
        """Half-width (g) of the reference's drift u_inst (R111-1:2004 C.6.2, rectangular) and where it came from:
        the run parameter, else |change| of the certified value since the previous certificate, else one third of
        the reference class's MPE (R111-1:2004 5.2; decision 0305). ValueError when none of them is known."""
        given = read(PARAMETERS, p, "reference_drift_g")
        if given is not None:
            return given, (
                Text("tham số của lần đo reference_drift_g = ", "run parameter reference_drift_g = ")
                + num(given)
                + Text(" g (thay cho lịch sử giấy chứng nhận)", " g (overrides the certificate history)")
            )
        label = next((name for name, r in labelled(std.values).items() if r is row), None)
        change = None
        if label is not None:
            change = certified_change(std, label, lambda r: _grams(r["value"], r.get("unit"), std.code))
        if change is not None:
            return abs(change.change), (
                Text(
                    f"nửa độ rộng |thay đổi| của giá trị được chứng nhận của {std.code} {label}: ",
                    f"half-width |change| of the certified value of {std.code} {label}: ",
                )
                + change.describe("mg", 1000.0)
                + Text(" (thay đổi trong một chu kỳ hiệu chuẩn)", " (the change over one calibration interval)")
            )
        weight_class = (std.accuracy_class or "").strip().upper()
        if weight_class in CLASSES:
            try:
                class_mpe = mpe_mg(nominal, weight_class)
            except ValueError:
                class_mpe = None
            if class_mpe is not None:
                return class_mpe / 3000.0, (
                    Text(
                        f"không có giấy chứng nhận trước nào của {std.code} chứng nhận ",
                        f"no earlier certificate of {std.code} certifies ",
                    )
                    + num(nominal)
                    + Text(
                        f" g: một phần ba MPE cấp {weight_class} ", f" g: one third of its class {weight_class} MPE "
                    )
                    + num(class_mpe)
                    + Text(
                        " mg, U lớn nhất mà R111-1:2004 5.2 cho phép với cấp đó (giới hạn an toàn, quyết định 0305)",
                        " mg, the largest U R111-1:2004 5.2 allows that class (a conservative bound, decision 0305)",
                    )
                )
        raise ValueError(
            f"reference {std.code}: no earlier certificate certifies {nominal:g} g, so its drift (R111-1:2004 C.6.2 "
            f"u_inst) cannot be estimated, and its class {std.accuracy_class or '(not registered)'} gives no bound: "
            "register the previous certificate, or the reference's R111 class (E1 … M3), or give reference_drift_g"
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

    def _balance_terms(self, std: StandardUsed, nominal: float, d: float, p: Mapping[str, Any]) -> Comparator:
        """The comparator terms of R111-1:2004 C.6.4 (g) with their sources and, for a zero one, why it is zero:
        sensitivity (run parameters or certificate row), resolution d, eccentricity (parameter or certificate row
        and centring_distance_mm) and magnetism (declared compliance or magnetism_u_g). ValueError says what to add."""
        cert = Text(
            f"giấy chứng nhận hiệu chuẩn {std.certificate or '?'} của cân so sánh {std.code}",
            f"comparator {std.code} certificate {std.certificate or '?'}",
        )
        param = Text("tham số của lần đo ", "run parameter ")
        zero = Text("bằng không: ", "zero: ")
        operator = Text(" (khai báo của người thao tác)", " (the operator's statement)")
        sources: dict[str, Words] = {}
        notes: dict[str, Words] = {}
        resolution_param = read(PARAMETERS, p, "comparator_d_g")
        sources["resolution"] = param + "comparator_d_g" if resolution_param is not None else cert

        # C.6.4.1 sensitivity
        names = (
            "sensitivity_weight_g",
            "sensitivity_weight_U_g",
            "sensitivity_indication_g",
            "sensitivity_indication_u_g",
        )
        given = {name: read(PARAMETERS, p, name) for name in names}
        if any(v is not None for v in given.values()):
            missing = [name for name, v in given.items() if v is None]
            if missing:
                raise ValueError(
                    f"a sensitivity weight needs all of {', '.join(names)}: give {', '.join(missing)} as well"
                )
            S, u_rel = sensitivity_from_weight(
                given["sensitivity_weight_g"],
                given["sensitivity_weight_U_g"] / 2.0,
                given["sensitivity_indication_g"],
                given["sensitivity_indication_u_g"],
            )
            sources["sensitivity"] = (
                Text("quả cân độ nhạy m_s = ", "sensitivity weight m_s = ")
                + num(given["sensitivity_weight_g"])
                + " g (U = "
                + num(given["sensitivity_weight_U_g"])
                + " g, k = 2), ΔI_s = "
                + num(given["sensitivity_indication_g"])
                + " g (u = "
                + num(given["sensitivity_indication_u_g"])
                + Text(" g), tham số của lần đo: S = ", " g), run parameters: S = ")
                + num(S, ".7g")
                + ", u_rel(S) = "
                + num(u_rel, ".3g")
            )
        else:
            rows = [r for r in std.values if r.get("quantity") == "sensitivity"]
            if not rows:
                raise ValueError(
                    f"comparator {std.code}: its sensitivity is unknown (R111-1:2004 C.6.4.1): add a certificate row "
                    '{"quantity": "sensitivity", "value": S, "U_rel": U_rel, "k": 2} or give the sensitivity weight '
                    "as parameters " + ", ".join(names)
                )
            try:
                row = min(rows, key=lambda r: abs(_grams(r.get("point", nominal), r.get("unit"), std.code) - nominal))
                S = float(row.get("value", 1.0))
                U_rel, k_s = float(row["U_rel"]), float(row.get("k", 2.0))
            except (KeyError, TypeError, ValueError):
                raise ValueError(
                    f"comparator {std.code}: the sensitivity row needs a number U_rel (relative expanded uncertainty "
                    "of S, at k, default 2) and a number value S (default 1)"
                ) from None
            if not (math.isfinite(S) and 0.5 <= S <= 2.0 and math.isfinite(U_rel) and U_rel >= 0 and k_s > 0):
                raise ValueError(
                    f"comparator {std.code}: sensitivity S = {S!r} with U_rel = {U_rel!r} at k = {k_s!r} is not "
                    "plausible; S is the indication change per unit mass (about 1), U_rel a relative expanded "
                    "uncertainty (e.g. 0.0002) and k > 0"
                )
            u_rel = U_rel / k_s
            sources["sensitivity"] = (
                cert + ": S = " + num(S, ".7g") + ", U_rel = " + num(U_rel) + " (k = " + num(k_s) + ")"
            )
        if u_rel == 0.0:
            notes["sensitivity"] = (
                zero
                + Text("u_rel(S) = 0 theo số liệu đã cho (", "u_rel(S) = 0 as given (")
                + sources["sensitivity"]
                + ")"
            )

        # C.6.4.3 eccentricity
        ecc = read(PARAMETERS, p, "eccentricity_u_g")
        if ecc is not None:
            sources["eccentricity"] = param + "eccentricity_u_g = " + num(ecc) + " g"
            if ecc == 0.0:
                notes["eccentricity"] = zero + param + "eccentricity_u_g = 0" + operator
        else:
            rows = [r for r in std.values if r.get("quantity") == "eccentricity" and r.get("value") is not None]
            if not rows:
                raise ValueError(
                    f"comparator {std.code}: no eccentricity data (R111-1:2004 C.6.4.3): add a certificate row "
                    '{"quantity": "eccentricity", "point": load, "value": D, "unit": "g", "distance_mm": d2} or give '
                    "parameter eccentricity_u_g"
                )

            def distance(r: Mapping[str, Any]) -> tuple[float, float]:
                load = _grams(r.get("point", nominal), r.get("unit"), std.code)
                return abs(load - nominal), -load  # nearest load; on a tie the larger one

            try:
                row = min(rows, key=distance)
                load = _grams(row.get("point", nominal), row.get("unit"), std.code)
                D = _grams(row["value"], row.get("unit"), std.code)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"comparator {std.code}: an eccentricity row needs numbers point (load) and value (D) in its unit "
                    f"(g, mg or kg): {exc}"
                ) from None
            if not (math.isfinite(D) and math.isfinite(load)):
                raise ValueError(f"comparator {std.code}: the eccentricity row's point and value must be finite")
            d2 = row.get("distance_mm")
            if d2 is None or isinstance(d2, bool) or not isinstance(d2, int | float) or not d2 > 0:
                raise ValueError(
                    f"comparator {std.code}: the eccentricity row needs distance_mm (d2 > 0, mm), the distance of the "
                    "off-centre positions from the pan's centre"
                )
            scale = max(1.0, nominal / load) if load > 0 else 1.0
            d1 = read(PARAMETERS, p, "centring_distance_mm")
            d1_text = (
                "d1 = " + num(d1) + Text(" mm (tham số của lần đo)", " mm (run parameter)")
                if d1 is not None
                else "d1 = d2 = "
                + num(d2)
                + Text(" mm (không được cho: chọn phía an toàn)", " mm (not given: conservative)")
            )
            d1 = float(d2) if d1 is None else d1
            ecc = eccentricity_u(abs(D) * scale, d1, float(d2))
            scaled = (
                " × " + num(scale, ".4g") + Text(" (quy đổi về ", " (scaled to ") + num(nominal) + " g)"
                if scale != 1.0
                else Text("", "")
            )
            sources["eccentricity"] = (
                cert
                + ": D = "
                + num(D, ".3g")
                + Text(" g tại ", " g at ")
                + num(load)
                + " g"
                + scaled
                + ", d2 = "
                + num(float(d2))
                + " mm; "
                + d1_text
            )
            if ecc == 0.0:
                notes["eccentricity"] = zero + (
                    Text(
                        "tâm của hai quả cân trùng nhau (centring_distance_mm = 0)",
                        "the weights' centres coincide (centring_distance_mm = 0)",
                    )
                    if d1 == 0.0
                    else Text(
                        "phép thử độ lệch tâm của cân so sánh không cho thấy chênh lệch (D = 0)",
                        "the comparator's eccentricity test showed no difference (D = 0)",
                    )
                )

        # C.6.4.4 magnetism
        mag = read(PARAMETERS, p, "magnetism_u_g")
        if mag is not None:
            sources["magnetism"] = param + "magnetism_u_g = " + num(mag) + " g"
            if mag == 0.0:
                notes["magnetism"] = zero + param + "magnetism_u_g = 0" + operator
        elif read(PARAMETERS, p, "weights_meet_magnetism_limits"):
            mag = 0.0
            sources["magnetism"] = param + Text(
                "weights_meet_magnetism_limits = đúng", "weights_meet_magnetism_limits = true"
            )
            notes["magnetism"] = Text(
                "bằng không: cả hai quả cân đáp ứng giới hạn từ tính của R111-1:2004 (độ phân cực, độ cảm từ), "
                "theo khai báo weights_meet_magnetism_limits (mặc định: đúng); khi đó C.6.4.4 lấy u_ma bằng không "
                "(cách đọc chưa kiểm chứng)",
                "zero: both weights meet the R111-1:2004 magnetism limits (polarization, susceptibility), as declared "
                "by weights_meet_magnetism_limits (default true); C.6.4.4 then takes u_ma as zero (unverified reading)",
            )
        else:
            raise ValueError(
                "weights_meet_magnetism_limits is false: give magnetism_u_g, the standard uncertainty (g) of the "
                "magnetic effect (R111-1:2004 C.6.4.4)"
            )
        return Comparator(
            resolution=d,
            sensitivity=S,
            u_sensitivity_rel=u_rel,
            eccentricity_u=ecc,
            magnetism_u=mag,
            sources=sources,
            notes=notes,
        )

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
        return sensor_uncertainty(std, {q: read(PARAMETERS, p, key) for q, key in _ENV_U.items()}, parameters=_ENV_U)

    # ------------------------------------------------------------------------------------------------ plan

    def plan(self, context: RunContext) -> list[Step]:
        cfg = self._setup(context)
        nominal, n = cfg.nominal, cfg.cycles
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
                    f"Chu kỳ {i}/{n}, vị trí {position} ({label}): đặt {vi_weight} {number_text(nominal)} g lên "
                    "bàn cân so sánh",
                    f"Cycle {i}/{n}, position {position} ({label}): place the {en_weight} {nominal:g} g on the "
                    "comparator",
                    {"weight": weight, "nominal_g": nominal, "cycle": i, "position": position},
                )
                steps.append(
                    Step(
                        f"cycle-{i}-{label}",
                        "comparator",
                        (
                            f"ABBA {i}/{n} {label}: {vi_weight} {number_text(nominal)} g / "
                            f"ABBA {i}/{n} {label}: {en_weight} {nominal:g} g"
                        ),
                        action,
                        stability=cfg.stability,
                        meta={"cycle": i, "position": position, "weight": weight, "nominal_g": nominal},
                        group=f"cycle-{i}",  # an ABBA cycle's drift cancellation needs its 4 readings in a row
                    )
                )
        steps.append(
            Step("env-end", "environment", "Điều kiện môi trường lúc kết thúc / environment at end", environment=True)
        )
        return steps

    def required_range(self, context: RunContext) -> Mapping[str, tuple[float, float, str]]:
        nominal = self._setup(context).nominal
        return {"reference": (nominal, nominal, "g"), "comparator": (nominal, nominal, "g")}

    # ------------------------------------------------------------------------------------------------ evaluate

    def evaluate(self, context: RunContext, data: Mapping[str, StepData]) -> list[PointResult]:
        cfg = self._setup(context)
        p = context.parameters
        cycles: list[list[float]] = []
        for i in range(1, cfg.cycles + 1):
            cycle = []
            for _position, _weight, label in ABBA:
                sd = data[f"cycle-{i}-{label}"]
                if not sd.values:
                    raise ValueError(f"step cycle-{i}-{label} kept no comparator reading")
                cycle.append(_grams(sd.values[-1], sd.unit, f"comparator reading cycle-{i}-{label}"))
            cycles.append(cycle)

        # sensor standard uncertainty combined with the change during the run (rectangular over the range seen)
        rho, environment, env_note = run_air_density(
            data,
            cfg.u_env,
            formula=cfg.formula,
            pressure=read(PARAMETERS, p, "pressure_hpa"),
            hint="; or give parameter pressure_hpa (and u_pressure_hpa) when the instrument has no barometer",
        )
        result = calibrate_weight(
            cfg.test,
            cfg.reference,
            cycles,
            scheme="ABBA",
            comparator=cfg.comparator,
            air_density=rho,
            pooled_s=cfg.pooled_s,
            pooled_dof=cfg.pooled_dof,
        )
        pr = result.point_result
        ref_std = context.standards["reference"]
        evidence = {
            **pr.evidence,
            "air_density": {"value": rho.value, "u": rho.u, "formula": rho.formula, "budget": rho.budget},
            "environment": environment,
            # the reference weight (before 0006 this key was overwritten by the engine's method reference)
            "reference_weight": {
                "code": ref_std.code,
                "certificate": ref_std.certificate,
                "conventional_mass_g": cfg.reference.conventional_mass,
                "U_g": cfg.reference.U,
                "k": cfg.reference.k,
                "drift_g": cfg.reference.drift,
                "drift_source": words(cfg.reference.drift_source).en,
            },
            "comparator": {
                "code": context.standards["comparator"].code,
                "d_g": cfg.d,
                "pooled_s_g": cfg.pooled_s,
                "sensitivity": cfg.comparator.sensitivity,
                "u_sensitivity_rel": cfg.comparator.u_sensitivity_rel,
                "eccentricity_u_g": cfg.comparator.eccentricity_u,
                "magnetism_u_g": cfg.comparator.magnetism_u,
            },
            "readings_g": cycles,
        }
        note = f"{pr.note.rstrip('. ')}. ρ_a = {rho.value:.5f} kg/m³ ({rho.formula})."
        if env_note:
            note += f" {env_note}"
        return [dataclasses.replace(pr, evidence=evidence, note=note)]
