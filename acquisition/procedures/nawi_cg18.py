"""``nawi-calibration-cg18``: calibration of a non-automatic weighing instrument per EURAMET cg-18 v4.0.

Roles: ``balance`` (the instrument under test), ``weights`` (a reference weight set whose certificate ``values``
list every piece: ``point`` nominal g, ``value`` conventional mass g, ``U`` g at ``k``, optional ``label``) and
``environment`` (a thermo-hygro-barometer). Every test load is made of pieces of the set (fewest pieces, each used
once, :mod:`acquisition.procedures.weightset`); a load the set cannot make is refused at planning. The operator
action names the pieces to place.

Steps: with ``adjusted_before_calibration`` the operator first adjusts the instrument (cg-18 7.1.2: then no term
for the air density at an earlier adjustment); environment at the start; repeatability (``repetitions`` placements
of ``repeat_load_g``, default Max/2, cg-18 5.1); eccentricity (centre then four positions at
``eccentricity_load_g``, default Max/3, cg-18 5.3); the no-load indication and then the errors of indication at
``loads_g`` going up (default five loads Max/5 … Max, cg-18 5.2) and, with ``down`` (default), back down from the
second-highest load (cg-18 5.2 "loading and unloading"); environment at the end. Every indication is kept once it
is stable.

Evaluation: :func:`acquisition.methods.nawi.errors_of_indication` with the repeatability and eccentricity found
(the eccentricity term enters every load, cg-18 7.1.1) and the reference weights in full (cg-18 7.1.2): each
piece's certified conventional mass and U; its drift δm_D — the change of its certified value between the set's
last two certificates (:mod:`acquisition.procedures.history`) or, for a piece without an earlier certificate, one
third of its OIML R111 class MPE (the largest U its class allows, R111-1:2004 5.2); its air buoyancy δm_B with the
air density measured during the run (``air_density`` = ``measured``, CIPM-2007 from the environment role) or
assumed ρ_0 ± 10 % (``assumed``), and its density from the certificate (``density_kg_m3`` with
``density_U_kg_m3`` at ``density_k``) or bounded by its class (R111-1:2004 10.1); the air density at the
instrument's last adjustment δm_Ba unless ``adjusted_before_calibration``; convection δm_conv from
``convection_relative``. With ``uncertainty_in_use`` (default) the increasing-load results also give the
uncertainty line U(m) = U0 + α·m (cg-18 8) as two rows. Masses in g, densities in kg/m³.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from acquisition.channel import OperatorAction
from acquisition.methods.base import PointResult, Text, num
from acquisition.methods.nawi import (
    AIR_DENSITY_BOUND,
    AirBuoyancy,
    Balance,
    LoadPoint,
    ReferenceWeight,
    eccentricity,
    errors_of_indication,
    repeatability,
    uncertainty_line,
)
from acquisition.methods.weights import CLASSES, mpe_mg
from acquisition.procedures.base import (
    ECCENTRICITY_POSITIONS,
    ENVIRONMENT_ROLE,
    EnvironmentLimit,
    Procedure,
    ProcedureDefinition,
    RoleSpec,
    RunContext,
    Step,
    StepData,
)
from acquisition.procedures.environment import run_air_density, sensor_uncertainty
from acquisition.procedures.history import certified_change, labelled
from acquisition.procedures.params import SETTLE_WINDOW_2D, STABILITY_TIMEOUT_S, ParamSpec
from acquisition.procedures.weightset import Load, Piece, make, pieces
from acquisition.stability import StabilityCriterion
from acquisition.wording import number_text, vietnamese_label


def _place(
    load: Load | None, position: str = "centre", vi_pos: str = "giữa đĩa cân", en_pos: str = "centre"
) -> OperatorAction:
    """Place ``load`` at ``position``, naming its pieces ("150 g (100 g + 50 g)"; a single piece labelled as the
    load is the load: "100 g"); None: remove every weight."""
    if load is None:
        return OperatorAction(
            "remove-load", "Lấy hết quả cân khỏi đĩa cân", "Remove every weight from the pan", {"load_g": 0.0}
        )
    what, what_vi = f"{load.nominal:g} g", f"{number_text(load.nominal)} g"
    if load.labels != [what]:
        what += f" ({' + '.join(load.labels)})"
        what_vi += f" ({' + '.join(vietnamese_label(x) for x in load.labels)})"
    return OperatorAction(
        "place-load",
        f"Đặt {what_vi} ở {vi_pos}",
        f"Place {what} at the {en_pos}",
        {
            "load_g": load.nominal,
            "weights": load.labels,
            "weights_g": [p.nominal for p in load.pieces],
            "position": position,
        },
    )


#: the adjustment step's operator action (cg-18 v4.0 7.1.2: adjusted immediately before the calibration)
_ADJUST = OperatorAction(
    "adjust-balance",
    "Hiệu chỉnh cân ngay bây giờ (quả cân hiệu chỉnh trong hoặc ngoài, theo hướng dẫn của nhà sản xuất), rồi tiếp tục",
    "Adjust the instrument now (internal or external adjustment weight, as its manufacturer describes), then go on",
    {},
)
_ASSUMED_HINT = "; or run with --param air_density=assumed (1.2 kg/m³ ± 10 %, below about 800 m)"


def _class_mpe(piece: Piece, weight_class: str) -> float | None:
    """The OIML R111-1:2004 Table 1 MPE (g) of ``piece`` in ``weight_class``; None when not tabulated."""
    if weight_class not in CLASSES:
        return None
    try:
        return mpe_mg(piece.nominal, weight_class) / 1000.0
    except ValueError:
        return None


def _reference(piece: Piece, context: RunContext) -> ReferenceWeight:
    """One piece of the set as a reference weight (cg-18 v4.0 7.1.2), g and kg/m³: its certified correction and U,
    its density when the certificate gives it, its class MPE (buoyancy bound), and its drift: the change of its
    certified value since the set's previous certificate, or MPE/3 of its class without one. ValueError names what
    the registry lacks."""
    std = context.standards["weights"]
    weight_class = std.accuracy_class.strip().upper()
    class_mpe = _class_mpe(piece, weight_class)
    row = labelled(std.values).get(piece.label, {})
    density = row.get("density_kg_m3")
    u_density = 0.0
    if density is not None:
        if row.get("density_U_kg_m3") is None:
            raise ValueError(
                f"weight set {std.code}, piece {piece.label}: the certificate gives density_kg_m3 without "
                "density_U_kg_m3; add it (kg/m³, at density_k, default 2)"
            )
        u_density = float(row["density_U_kg_m3"]) / float(row.get("density_k", 2.0))
    elif class_mpe is None:
        raise ValueError(
            f"weight set {std.code}, piece {piece.label}: neither its density nor its OIML R111 class is known "
            f"(class {std.accuracy_class or 'not registered'}), needed for the air buoyancy term (cg-18 v4.0 "
            "7.1.2): register the set's class (E1 … M3) or give density_kg_m3 in its certificate"
        )
    change = certified_change(std, piece.label, lambda r: float(r["value"]))
    if change is not None:
        drift, source = abs(change.change), change.describe("mg", 1000.0)
    elif class_mpe is not None:
        drift = class_mpe / 3.0
        source = (
            Text(
                f"không có giấy chứng nhận trước: một phần ba MPE cấp {weight_class} ",
                f"no earlier certificate: one third of the {weight_class} MPE ",
            )
            + num(class_mpe * 1000)
            + " mg"
        )
    else:
        raise ValueError(
            f"weight set {std.code}, piece {piece.label}: no earlier certificate to estimate its drift from and no "
            "OIML R111 class to bound it (cg-18 v4.0 7.1.2 δm_D): register the previous certificate or the class"
        )
    return ReferenceWeight(
        piece.nominal,
        correction=piece.mass - piece.nominal,
        U=piece.U,
        k=piece.k,
        label=piece.label,
        class_mpe=class_mpe,
        density=None if density is None else float(density),
        u_density=u_density,
        drift=drift,
        drift_source=source,
    )


def _point(
    load: Load, indication: float, zero: float, context: RunContext, convection: float, direction: str = "up"
) -> LoadPoint:
    """One error-of-indication point (g); ``convection`` is the half-width relative to the load."""
    weights = tuple(_reference(p, context) for p in load.pieces)
    return LoadPoint(weights, indication, zero=zero, direction=direction, convection=convection * load.nominal)


def _down(loads: list[Load]) -> list[Load]:
    """The decreasing-load series: every load but the highest, from the highest down."""
    return sorted(loads, key=lambda x: -x.nominal)[1:]


#: the run parameters (masses in g)
PARAMETERS = (
    ParamSpec(
        "loads_g",
        "numbers",
        "Các tải thử sai số chỉ thị (ít nhất 5 tải khác nhau); mặc định: năm tải Max/5 … Max (quy trình tự tính)",
        "Test loads of the errors of indication (at least 5 distinct); default: five loads Max/5 … Max (computed)",
        unit="g",
        minimum=0.0,
        zero=False,
    ),
    ParamSpec(
        "repeat_load_g",
        "number",
        "Tải thử độ lặp lại; mặc định: Max/2 (quy trình tự tính)",
        "Load of the repeatability test; default: Max/2 (computed)",
        unit="g",
        minimum=0.0,
        zero=False,
    ),
    ParamSpec(
        "eccentricity_load_g",
        "number",
        "Tải thử độ lệch tâm; mặc định: Max/3 (quy trình tự tính)",
        "Load of the eccentricity test; default: Max/3 (computed)",
        unit="g",
        minimum=0.0,
        zero=False,
    ),
    ParamSpec(
        "repetitions",
        "whole",
        "Số lần cân lặp lại (mỗi lần: không tải, rồi tải); ít nhất 5, hoặc 3 khi tải thử từ 100 kg (cg-18 5.1)",
        "Repeatability weighings (each: no load, then the load); at least 5, or 3 for a load of 100 kg or more "
        "(cg-18 5.1)",
        minimum=3,
        default=5,
    ),
    SETTLE_WINDOW_2D,
    STABILITY_TIMEOUT_S,
    ParamSpec(
        "down",
        "flag",
        "Đo cả chiều giảm tải, từ tải lớn thứ hai trở xuống (cg-18 5.2)",
        "Also measure with decreasing loads, from the second-highest load down (cg-18 5.2)",
        default=True,
    ),
    ParamSpec(
        "uncertainty_in_use",
        "flag",
        "Tính đường độ không đảm bảo đo khi sử dụng U(m) = U0 + α·m (cg-18 8)",
        "Give the uncertainty-in-use line U(m) = U0 + α·m (cg-18 8)",
        default=True,
    ),
    ParamSpec(
        "adjusted_before_calibration",
        "flag",
        "Hiệu chỉnh cân ngay trước khi hiệu chuẩn, tại nơi sử dụng (quy trình thêm một bước hiệu chỉnh); khi "
        "không, độ không đảm bảo đo gồm ảnh hưởng của khối lượng riêng không khí từ lần hiệu chỉnh trước "
        "(cg-18 7.1.2)",
        "Adjust the instrument immediately before the calibration, at its place of use (the run adds an adjustment "
        "step); otherwise U includes the effect of the air density since its last adjustment (cg-18 7.1.2)",
        default=False,
    ),
    ParamSpec(
        "air_density",
        "choice",
        "Khối lượng riêng không khí: measured (tính từ nhiệt độ, áp suất, độ ẩm đo trong lần hiệu chuẩn, CIPM-2007) "
        "hoặc assumed (coi là 1,2 kg/m³ ± 10 %, chỉ dùng ở độ cao dưới khoảng 800 m)",
        "Air density: measured (from the temperature, pressure and humidity of the run, CIPM-2007) or assumed "
        "(1.2 kg/m³ ± 10 %, only below about 800 m altitude)",
        choices=("measured", "assumed"),
        default="measured",
    ),
    ParamSpec(
        "air_density_variation_kg_m3",
        "number",
        "Nửa độ rộng thay đổi khối lượng riêng không khí tại phòng thử kể từ lần hiệu chỉnh cân trước (khi không "
        "hiệu chỉnh ngay trước khi hiệu chuẩn); mặc định 0,12 kg/m³ (±10 % của 1,2 kg/m³)",
        "Half-width of the change of the room's air density since the instrument's last adjustment (when it is not "
        "adjusted immediately before the calibration); default 0.12 kg/m³ (±10 % of 1.2 kg/m³)",
        unit="kg/m³",
        minimum=0.0,
        maximum=0.6,
        default=AIR_DENSITY_BOUND,
    ),
    ParamSpec(
        "convection_relative",
        "number",
        "Nửa độ rộng ảnh hưởng đối lưu, tính theo phần của tải (cg-18 Phụ lục F, theo chênh lệch nhiệt độ giữa quả "
        "cân và phòng và thời gian ổn định nhiệt); 0 khi quả cân đã ổn định nhiệt với phòng",
        "Half-width of the convection effect as a fraction of the load (cg-18 Appendix F, from the temperature "
        "difference between the weights and the room and the acclimatisation time); 0 when acclimatised",
        unit="1",
        minimum=0.0,
        maximum=1e-3,
        default=0.0,
    ),
)


@dataclass(frozen=True)
class Config:
    """The run's resolved parameters (masses in g): Max, d, the test loads composed of the weight set's pieces,
    whether the balance was adjusted, whether the air density is measured and its variation (kg/m³),
    the convection term (relative), the repeatability and eccentricity loads with the number of repetitions, and
    whether to test decreasing loads and give the uncertainty in use."""

    max_load: float
    d: float
    loads: list[Load]
    adjusted: bool
    measured: bool
    variation: float
    convection: float
    repeat: Load
    ecc: Load
    n: int
    down: bool
    in_use: bool


class NawiCalibrationCg18(Procedure):
    """EURAMET cg-18 v4.0 calibration: repeatability, eccentricity, errors of indication, U per cg-18 7."""

    definition = ProcedureDefinition(
        code="nawi-calibration-cg18",
        version="2",
        kind="calibration",
        field="mass",
        title="Hiệu chuẩn cân không tự động / Calibration of a non-automatic weighing instrument",
        method_reference="EURAMET cg-18 v4.0 (11/2015)",
        roles=(
            RoleSpec("balance", "the balance under calibration", under_test=True),
            RoleSpec("weights", "reference weight set (E2/F1) with certificate", standard_kinds=("weight set",)),
            ENVIRONMENT_ROLE,
        ),
        environment=(
            EnvironmentLimit("temperature", 15.0, 30.0, "°C"),
            EnvironmentLimit("humidity", 20.0, 80.0, "%RH"),
        ),
        parameters={
            "repetitions": 5,
            "settle_window": 3,
            "stability_timeout_s": 30.0,
            "down": True,
            "uncertainty_in_use": True,
            "adjusted_before_calibration": False,
            "air_density": "measured",
        },
    )
    parameter_specs = PARAMETERS

    def _loads(self, context: RunContext) -> Config:
        """The run's settings; every load (g) composed of the weight set's pieces (ValueError when it cannot be)."""
        top = context.instrument.range_max
        d = context.instrument.resolution
        if top is None or d is None:
            raise ValueError(
                f"instrument {context.instrument.serial_number} needs its range (Max) and resolution d in the "
                "registry before a cg-18 calibration"
            )
        weights = pieces(context)
        code = context.standards["weights"].code

        def given(name: str, default: Any) -> Any:
            value = self.parameter(context, name)
            return default if value is None else value

        loads = given("loads_g", [round(top * i / 5, 6) for i in range(1, 6)])
        if len({round(x, 9) for x in loads}) < 5:  # as errors_of_indication checks, but before anything is measured
            raise ValueError(f"parameter loads_g needs at least 5 distinct test loads (cg-18 v4.0 5.2), got {loads}")
        repeat = make(weights, given("repeat_load_g", round(top / 2, 6)), "repeat_load_g", code)
        n = self.parameter(context, "repetitions")
        needed = 3 if repeat.nominal >= 100_000.0 else 5  # as the method's repeatability(), but before measuring
        if n < needed:
            raise ValueError(
                f"parameter repetitions must be >= {needed} for a repeatability load of {repeat.nominal:g} g "
                f"(cg-18 v4.0 5.1: 5, or 3 from 100 kg), got {n}"
            )
        made = [make(weights, x, "loads_g", code) for x in loads]
        for load in made:  # every piece of every load has what its budget needs, before anything is measured
            for piece in load.pieces:
                _reference(piece, context)
        measured = self.parameter(context, "air_density") == "measured"
        if measured:
            sensor_uncertainty(context.standards[ENVIRONMENT_ROLE.role], hint=_ASSUMED_HINT)
        return Config(
            max_load=float(top),
            d=float(d),
            loads=made,
            adjusted=self.parameter(context, "adjusted_before_calibration"),
            measured=measured,
            variation=self.parameter(context, "air_density_variation_kg_m3"),
            convection=self.parameter(context, "convection_relative"),
            repeat=repeat,
            ecc=make(weights, given("eccentricity_load_g", round(top / 3, 6)), "eccentricity_load_g", code),
            n=n,
            down=self.parameter(context, "down"),
            in_use=self.parameter(context, "uncertainty_in_use"),
        )

    def plan(self, context: RunContext) -> list[Step]:
        cfg = self._loads(context)
        crit = StabilityCriterion(
            window=self.parameter(context, "settle_window"),
            max_spread=2 * cfg.d,
            timeout=self.parameter(context, "stability_timeout_s"),
        )
        steps = []
        if cfg.adjusted:
            steps.append(
                Step(
                    "adjust",
                    "balance",
                    "Hiệu chỉnh cân trước khi hiệu chuẩn / adjustment before calibration",
                    _ADJUST,
                    keep=0,
                )
            )
        steps.append(
            Step(
                "env-start", "environment", "Điều kiện môi trường lúc bắt đầu / environment at start", environment=True
            )
        )
        for i in range(1, cfg.n + 1):  # each weighing (no load, then the load) is one unit
            group = f"rep-{i}"
            steps.append(
                Step(
                    f"rep-zero-{i}",
                    "balance",
                    f"Độ lặp lại {i}: không tải / repeatability {i}: no load",
                    _place(None),
                    stability=crit,
                    group=group,
                )
            )
            steps.append(
                Step(
                    f"rep-{i}",
                    "balance",
                    (
                        f"Độ lặp lại {i}: {number_text(cfg.repeat.nominal)} g / "
                        f"repeatability {i}: {cfg.repeat.nominal:g} g"
                    ),
                    _place(cfg.repeat),
                    stability=crit,
                    group=group,
                )
            )
        steps.append(
            Step(
                "ecc-centre",
                "balance",
                f"Độ lệch tâm: giữa đĩa {number_text(cfg.ecc.nominal)} g / eccentricity: centre {cfg.ecc.nominal:g} g",
                _place(cfg.ecc),
                stability=crit,
                group="eccentricity",
            )
        )
        for key, vi, en in ECCENTRICITY_POSITIONS:  # each position against the same centre indication: one unit
            steps.append(
                Step(
                    f"ecc-{key}",
                    "balance",
                    f"Độ lệch tâm: {vi} / eccentricity: {en}",
                    _place(cfg.ecc, key, vi, en),
                    stability=crit,
                    group="eccentricity",
                )
            )
        # the no-load indication and the loading sequence up and down are one unit (cg-18 5.2): every error is
        # taken against that no-load indication, and an interruption changes the loading history
        steps.append(
            Step(
                "zero",
                "balance",
                "Sai số chỉ thị: không tải / errors of indication: no load",
                _place(None),
                stability=crit,
                group="errors",
            )
        )
        for load in cfg.loads:
            steps.append(
                Step(
                    f"load-{load.nominal:g}",
                    "balance",
                    f"Sai số chỉ thị: {number_text(load.nominal)} g / errors of indication: {load.nominal:g} g",
                    _place(load),
                    stability=crit,
                    meta={"load_g": load.nominal},
                    group="errors",
                )
            )
        if cfg.down:
            for load in _down(cfg.loads):
                steps.append(
                    Step(
                        f"down-{load.nominal:g}",
                        "balance",
                        (
                            f"Sai số chỉ thị, giảm tải: {number_text(load.nominal)} g / "
                            f"errors of indication, decreasing: {load.nominal:g} g"
                        ),
                        _place(load),
                        stability=crit,
                        meta={"load_g": load.nominal, "direction": "down"},
                        group="errors",
                    )
                )
        steps.append(
            Step("unload", "balance", "Không tải lúc kết thúc / no load at the end", _place(None), stability=crit)
        )
        steps.append(
            Step("env-end", "environment", "Điều kiện môi trường lúc kết thúc / environment at end", environment=True)
        )
        return steps

    def required_range(self, context: RunContext) -> Mapping[str, tuple[float, float, str]]:
        return {}

    def evaluate(self, context: RunContext, data: Mapping[str, StepData]) -> list[PointResult]:
        cfg = self._loads(context)
        rep = repeatability(
            cfg.repeat.nominal,
            [data[f"rep-{i}"].values[0] - data[f"rep-zero-{i}"].values[0] for i in range(1, cfg.n + 1)],
        )
        ecc = eccentricity(
            cfg.ecc.nominal,
            data["ecc-centre"].values[0],
            [data[f"ecc-{k}"].values[0] for k, _, _ in ECCENTRICITY_POSITIONS],
        )
        zero = data["zero"].values[0]
        conv = cfg.convection
        points = [_point(load, data[f"load-{load.nominal:g}"].values[0], zero, context, conv) for load in cfg.loads]
        if cfg.down:
            points.extend(
                _point(load, data[f"down-{load.nominal:g}"].values[0], zero, context, conv, "down")
                for load in _down(cfg.loads)
            )
        if cfg.measured:
            u_sensor = sensor_uncertainty(context.standards[ENVIRONMENT_ROLE.role], hint=_ASSUMED_HINT)
            rho, _, _ = run_air_density(data, u_sensor, hint=_ASSUMED_HINT)
            air = AirBuoyancy(rho.value, rho.u, adjusted=cfg.adjusted, variation=cfg.variation)
        else:
            air = AirBuoyancy(None, adjusted=cfg.adjusted, variation=cfg.variation)
        balance = Balance(max_load=cfg.max_load, d=cfg.d)
        results = [rep.as_result(), ecc.as_result()]
        errors = errors_of_indication(balance, points, rep, ecc, air=air)
        results.extend(errors)
        if cfg.in_use:
            line = uncertainty_line([r for r in errors if r.quantity == "error of indication"])
            for quantity, value, unit in (
                ("uncertainty in use U0", line.U0, "g"),
                ("uncertainty in use slope alpha", line.alpha, "1"),
            ):
                results.append(
                    PointResult(
                        quantity=quantity,
                        point=None,
                        point_unit="",
                        value=value,
                        unit=unit,
                        reference="EURAMET cg-18 v4.0 8",
                        note="U(m) = U0 + alpha*m, not below any calibrated U(E) (increasing loads)",
                    )
                )
        return results
