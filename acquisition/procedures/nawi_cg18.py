"""``nawi-calibration-cg18``: calibration of a non-automatic weighing instrument per EURAMET cg-18 v4.0.

Roles: ``balance`` (the instrument under test), ``weights`` (a reference weight set whose certificate ``values``
list every piece: ``point`` nominal g, ``value`` conventional mass g, ``U`` g at ``k``, optional ``label``) and
``environment`` (a thermo-hygro-barometer). Every test load is made of pieces of the set (fewest pieces, each used
once, :mod:`acquisition.procedures.weightset`); a load the set cannot make is refused at planning. The operator
action names the pieces to place.

Steps: environment at the start; repeatability (``repetitions`` placements of ``repeat_load_g``, default Max/2,
cg-18 5.1); eccentricity (centre then four positions at ``eccentricity_load_g``, default Max/3, cg-18 5.3); the
no-load indication and then the errors of indication at ``loads_g`` going up (default five loads Max/5 … Max,
cg-18 5.2) and, with ``down`` (default), back down from the second-highest load (cg-18 5.2 "loading and
unloading"); environment at the end. Every indication is kept once it is stable. Evaluation:
:func:`acquisition.methods.nawi.errors_of_indication` with the repeatability and eccentricity found, the pieces'
conventional masses and U from their certificate (summed linearly for a load of several pieces). A load of one
piece is a single body placed centrally (no eccentricity contribution); a load of several pieces gets the
eccentricity contribution |ΔI_ecc|max·I/(2 L_ecc √3) of the eccentricity test (cg-18 7.1.1). With
``uncertainty_in_use`` (default) the increasing-load results also give the uncertainty line U(m) = U0 + α·m
(cg-18 8) as two rows. Masses in g.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from acquisition.methods.base import PointResult
from acquisition.methods.nawi import (
    Balance,
    LoadPoint,
    ReferenceWeight,
    eccentricity,
    errors_of_indication,
    repeatability,
    uncertainty_line,
)
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
from acquisition.procedures.params import SETTLE_WINDOW_2D, STABILITY_TIMEOUT_S, ParamSpec
from acquisition.procedures.weightset import Load, make, pieces
from acquisition.prompts import OperatorAction
from acquisition.stability import StabilityCriterion


def _place(
    load: Load | None, position: str = "centre", vi_pos: str = "giữa đĩa cân", en_pos: str = "centre"
) -> OperatorAction:
    """Place ``load`` at ``position``, naming its pieces ("150 g (100 g + 50 g)"; a single piece labelled as the
    load is the load: "100 g"); None: remove every weight."""
    if load is None:
        return OperatorAction(
            "remove-load", "Lấy hết quả cân khỏi đĩa cân", "Remove every weight from the pan", {"load_g": 0.0}
        )
    what = f"{load.nominal:g} g"
    if load.labels != [what]:
        what += f" ({' + '.join(load.labels)})"
    return OperatorAction(
        "place-load",
        f"Đặt {what} ở {vi_pos}",
        f"Place {what} at the {en_pos}",
        {
            "load_g": load.nominal,
            "weights": load.labels,
            "weights_g": [p.nominal for p in load.pieces],
            "position": position,
        },
    )


def _reference(load: Load) -> tuple[ReferenceWeight, ...]:
    """The pieces of ``load`` as the method's reference weights (correction and U from the certificate, g)."""
    return tuple(
        ReferenceWeight(p.nominal, correction=p.mass - p.nominal, U=p.U, k=p.k, label=p.label) for p in load.pieces
    )


def _point(load: Load, indication: float, zero: float, direction: str = "up") -> LoadPoint:
    """One error-of-indication point: a single piece is a single body (no eccentricity term), several are not."""
    return LoadPoint(_reference(load), indication, zero=zero, direction=direction, single_body=len(load.pieces) == 1)


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
)


class NawiCalibrationCg18(Procedure):
    """EURAMET cg-18 v4.0 calibration: repeatability, eccentricity, errors of indication, U per cg-18 7."""

    definition = ProcedureDefinition(
        code="nawi-calibration-cg18",
        version="1",
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
        },
    )
    parameter_specs = PARAMETERS

    def _loads(self, context: RunContext) -> dict[str, Any]:
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
        return {
            "max": float(top),
            "d": float(d),
            "loads": [make(weights, x, "loads_g", code) for x in loads],
            "repeat": repeat,
            "ecc": make(weights, given("eccentricity_load_g", round(top / 3, 6)), "eccentricity_load_g", code),
            "n": n,
            "down": self.parameter(context, "down"),
            "in_use": self.parameter(context, "uncertainty_in_use"),
        }

    def plan(self, context: RunContext) -> list[Step]:
        cfg = self._loads(context)
        crit = StabilityCriterion(
            window=self.parameter(context, "settle_window"),
            max_spread=2 * cfg["d"],
            timeout=self.parameter(context, "stability_timeout_s"),
        )
        steps = [
            Step(
                "env-start", "environment", "Điều kiện môi trường lúc bắt đầu / environment at start", environment=True
            )
        ]
        for i in range(1, cfg["n"] + 1):
            steps.append(Step(f"rep-zero-{i}", "balance", f"Repeatability {i}: zero", _place(None), stability=crit))
            steps.append(
                Step(
                    f"rep-{i}",
                    "balance",
                    f"Repeatability {i}: {cfg['repeat'].nominal:g} g",
                    _place(cfg["repeat"]),
                    stability=crit,
                )
            )
        steps.append(
            Step(
                "ecc-centre",
                "balance",
                f"Eccentricity: centre {cfg['ecc'].nominal:g} g",
                _place(cfg["ecc"]),
                stability=crit,
            )
        )
        for key, vi, en in ECCENTRICITY_POSITIONS:
            steps.append(
                Step(f"ecc-{key}", "balance", f"Eccentricity: {en}", _place(cfg["ecc"], key, vi, en), stability=crit)
            )
        steps.append(Step("zero", "balance", "Errors of indication: no load", _place(None), stability=crit))
        for load in cfg["loads"]:
            steps.append(
                Step(
                    f"load-{load.nominal:g}",
                    "balance",
                    f"Errors of indication: {load.nominal:g} g",
                    _place(load),
                    stability=crit,
                    meta={"load_g": load.nominal},
                )
            )
        if cfg["down"]:
            for load in _down(cfg["loads"]):
                steps.append(
                    Step(
                        f"down-{load.nominal:g}",
                        "balance",
                        f"Errors of indication, decreasing: {load.nominal:g} g",
                        _place(load),
                        stability=crit,
                        meta={"load_g": load.nominal, "direction": "down"},
                    )
                )
        steps.append(Step("unload", "balance", "No load at the end", _place(None), stability=crit))
        steps.append(
            Step("env-end", "environment", "Điều kiện môi trường lúc kết thúc / environment at end", environment=True)
        )
        return steps

    def required_range(self, context: RunContext) -> Mapping[str, tuple[float, float, str]]:
        return {}

    def evaluate(self, context: RunContext, data: Mapping[str, StepData]) -> list[PointResult]:
        cfg = self._loads(context)
        rep = repeatability(
            cfg["repeat"].nominal,
            [data[f"rep-{i}"].values[0] - data[f"rep-zero-{i}"].values[0] for i in range(1, cfg["n"] + 1)],
        )
        ecc = eccentricity(
            cfg["ecc"].nominal,
            data["ecc-centre"].values[0],
            [data[f"ecc-{k}"].values[0] for k, _, _ in ECCENTRICITY_POSITIONS],
        )
        zero = data["zero"].values[0]
        points = [_point(load, data[f"load-{load.nominal:g}"].values[0], zero) for load in cfg["loads"]]
        if cfg["down"]:
            points.extend(
                _point(load, data[f"down-{load.nominal:g}"].values[0], zero, "down") for load in _down(cfg["loads"])
            )
        balance = Balance(max_load=cfg["max"], d=cfg["d"])
        results = [rep.as_result(), ecc.as_result()]
        errors = errors_of_indication(balance, points, rep, ecc)
        results.extend(errors)
        if cfg["in_use"]:
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
