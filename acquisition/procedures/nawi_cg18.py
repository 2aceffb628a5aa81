"""``nawi-calibration-cg18``: calibration of a non-automatic weighing instrument per EURAMET cg-18 v4.0.

Roles: ``balance`` (the instrument under test), ``weights`` (a reference weight set whose certificate ``values``
list each nominal load in g with its conventional mass, U and k) and ``environment`` (a thermo-hygro-barometer).

Steps: environment at the start; repeatability (``repetitions`` placements of ``repeat_load_g``, default Max/2,
cg-18 5.1); eccentricity (centre then four positions at ``eccentricity_load_g``, default Max/3, cg-18 5.3); the
no-load indication and then the errors of indication at ``loads_g`` going up (default five loads Max/5 … Max,
cg-18 5.2) and, with ``down`` (default), back down from the second-highest load (cg-18 5.2 "loading and
unloading"); environment at the end. Every indication is kept once it is stable. Evaluation:
:func:`acquisition.methods.nawi.errors_of_indication` with the repeatability and eccentricity found, the weights'
conventional masses and U from their certificate. With ``uncertainty_in_use`` (default) the increasing-load
results also give the uncertainty line U(m) = U0 + α·m (cg-18 8) as two rows. Masses in g.
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
    ENVIRONMENT_ROLE,
    EnvironmentLimit,
    Procedure,
    ProcedureDefinition,
    RoleSpec,
    RunContext,
    Step,
    StepData,
)
from acquisition.prompts import OperatorAction
from acquisition.stability import StabilityCriterion

POSITIONS = (
    ("front-left", "trước trái", "front left"),
    ("back-left", "sau trái", "back left"),
    ("back-right", "sau phải", "back right"),
    ("front-right", "trước phải", "front right"),
)


def _place(
    load: float, position: str = "centre", vi_pos: str = "giữa đĩa cân", en_pos: str = "centre"
) -> OperatorAction:
    if load == 0:
        return OperatorAction(
            "remove-load", "Lấy hết quả cân khỏi đĩa cân", "Remove every weight from the pan", {"load_g": 0.0}
        )
    return OperatorAction(
        "place-load",
        f"Đặt {load:g} g ở {vi_pos}",
        f"Place {load:g} g at the {en_pos}",
        {"load_g": load, "position": position},
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

    def _loads(self, context: RunContext) -> dict[str, Any]:
        p = context.parameters
        top = context.instrument.range_max
        d = context.instrument.resolution
        if top is None or d is None:
            raise ValueError(
                f"instrument {context.instrument.serial_number} needs its range (Max) and resolution d in the "
                "registry before a cg-18 calibration"
            )
        loads = [float(x) for x in p.get("loads_g", [round(top * i / 5, 6) for i in range(1, 6)])]
        return {
            "max": float(top),
            "d": float(d),
            "loads": loads,
            "repeat": float(p.get("repeat_load_g", round(top / 2, 6))),
            "ecc": float(p.get("eccentricity_load_g", round(top / 3, 6))),
            "n": int(p.get("repetitions", 5)),
            "down": bool(p.get("down", True)),
            "in_use": bool(p.get("uncertainty_in_use", True)),
        }

    def _weights(self, context: RunContext) -> dict[float, ReferenceWeight]:
        """The weight set's certified loads by nominal value (g)."""
        weights = {}
        for row in context.standards["weights"].values:
            nominal = float(row["point"])
            weights[nominal] = ReferenceWeight(
                nominal,
                correction=float(row["value"]) - nominal,
                U=float(row["U"]),
                k=float(row.get("k", 2.0)),
                label=f"{nominal:g} g",
            )
        return weights

    def plan(self, context: RunContext) -> list[Step]:
        cfg = self._loads(context)
        weights = self._weights(context)
        missing = [x for x in (*cfg["loads"], cfg["repeat"], cfg["ecc"]) if x not in weights]
        if missing:
            raise ValueError(
                f"the weight set {context.standards['weights'].code} has no certified load of "
                f"{', '.join(f'{x:g} g' for x in missing)}: choose loads_g from "
                f"{', '.join(f'{x:g}' for x in sorted(weights))}"
            )
        window = int(context.parameters.get("settle_window", 3))
        spread = 2 * cfg["d"]
        crit = StabilityCriterion(
            window=window, max_spread=spread, timeout=float(context.parameters.get("stability_timeout_s", 30))
        )
        steps = [
            Step(
                "env-start", "environment", "Điều kiện môi trường lúc bắt đầu / environment at start", environment=True
            )
        ]
        for i in range(1, cfg["n"] + 1):
            steps.append(Step(f"rep-zero-{i}", "balance", f"Repeatability {i}: zero", _place(0.0), stability=crit))
            steps.append(
                Step(
                    f"rep-{i}",
                    "balance",
                    f"Repeatability {i}: {cfg['repeat']:g} g",
                    _place(cfg["repeat"]),
                    stability=crit,
                )
            )
        steps.append(
            Step("ecc-centre", "balance", f"Eccentricity: centre {cfg['ecc']:g} g", _place(cfg["ecc"]), stability=crit)
        )
        for key, vi, en in POSITIONS:
            steps.append(
                Step(f"ecc-{key}", "balance", f"Eccentricity: {en}", _place(cfg["ecc"], key, vi, en), stability=crit)
            )
        steps.append(Step("zero", "balance", "Errors of indication: no load", _place(0.0), stability=crit))
        for load in cfg["loads"]:
            steps.append(
                Step(
                    f"load-{load:g}",
                    "balance",
                    f"Errors of indication: {load:g} g",
                    _place(load),
                    stability=crit,
                    meta={"load_g": load},
                )
            )
        if cfg["down"]:
            for load in sorted(cfg["loads"], reverse=True)[1:]:
                steps.append(
                    Step(
                        f"down-{load:g}",
                        "balance",
                        f"Errors of indication, decreasing: {load:g} g",
                        _place(load),
                        stability=crit,
                        meta={"load_g": load, "direction": "down"},
                    )
                )
        steps.append(Step("unload", "balance", "No load at the end", _place(0.0), stability=crit))
        steps.append(
            Step("env-end", "environment", "Điều kiện môi trường lúc kết thúc / environment at end", environment=True)
        )
        return steps

    def required_range(self, context: RunContext) -> Mapping[str, tuple[float, float, str]]:
        return {}

    def evaluate(self, context: RunContext, data: Mapping[str, StepData]) -> list[PointResult]:
        cfg = self._loads(context)
        weights = self._weights(context)
        rep = repeatability(
            cfg["repeat"],
            [data[f"rep-{i}"].values[0] - data[f"rep-zero-{i}"].values[0] for i in range(1, cfg["n"] + 1)],
        )
        ecc = eccentricity(
            cfg["ecc"], data["ecc-centre"].values[0], [data[f"ecc-{k}"].values[0] for k, _, _ in POSITIONS]
        )
        zero = data["zero"].values[0]
        points = [
            LoadPoint((weights[load],), data[f"load-{load:g}"].values[0], zero=zero, single_body=True)
            for load in cfg["loads"]
        ]
        if cfg["down"]:
            points.extend(
                LoadPoint(
                    (weights[load],), data[f"down-{load:g}"].values[0], zero=zero, direction="down", single_body=True
                )
                for load in sorted(cfg["loads"], reverse=True)[1:]
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
