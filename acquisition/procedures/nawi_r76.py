"""``nawi-verification-r76``: verification of a non-automatic weighing instrument per OIML R76-1:2006.

Roles: ``balance`` (the instrument under verification; its class I–IIII, Max and d from the registry),
``weights`` (a reference weight set whose certificate ``values`` list every piece: ``point`` nominal g,
``value`` conventional mass g, ``U`` g at ``k``, optional ``label`` to tell apart pieces of equal nominal value)
and ``environment`` (a thermo-hygro-barometer). A test load is made of pieces of the set (each piece used once,
fewest pieces, :mod:`acquisition.procedures.weightset`); its reference value is the sum of their certified
conventional masses.

Steps (every indication kept once stable): environment at the start; weighing test (R76-1 A.4.4): no load, then
``loads_g`` increasing and decreasing back from Max; eccentricity (3.6.2, A.4.7): no load, then
``eccentricity_load_g`` at the centre and the four quarters; repeatability (3.6.1, A.4.10): ``repetitions``
times no load then ``repeat_load_g``; discrimination (3.8.2.2, A.4.8.2, changeover-point method) at each of
``discrimination_loads_g``: the load plus ten small weights of 0.1 d (indication I), the small weights taken off one
by one until the indication falls to I − d, one put back, then 1.4 d added (indication I + d required);
environment at the end.

Parameters (masses in g): ``e`` verification scale interval (default: the registered resolution d);
``in_service`` (False: initial verification MPE, True: twice those, 3.5.2); ``loads_g`` (default: Min of R76-1
Table 3, the class's MPE change points of Table 6 below Max, Max/2 and Max — loads the weight set cannot make are
left out, except Max); ``eccentricity_load_g`` (default Max/3 rounded to two significant digits);
``repeat_load_g`` (default Max/2); ``repetitions`` (default 3); ``discrimination_loads_g`` (default Min, Max/2,
Max); ``settle_window`` and ``stability_timeout_s`` (s).

Evaluation by simple acceptance through :mod:`acquisition.methods.nawi` (``weighing_test`` corrected by the
no-load indication, ``eccentricity_test``, ``repeatability_test``, ``discrimination_changeover_test``): one row
per load, position, series and discrimination load, each with its MPE (the required change d for discrimination)
and conformity; the run's overall verdict follows from the rows.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from acquisition.channel import OperatorAction
from acquisition.methods.base import PointResult
from acquisition.methods.nawi import (
    DISCRIMINATION_ADD_D,
    DISCRIMINATION_SMALL_WEIGHTS,
    DISCRIMINATION_STEP_D,
    R76_MPE_INITIAL,
    WeighingPoint,
    discrimination_changeover_test,
    eccentricity_test,
    r76_mpe,
    repeatability_test,
    weighing_test,
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
from acquisition.procedures.params import SETTLE_WINDOW_2D, STABILITY_TIMEOUT_S, Kind, ParamSpec
from acquisition.procedures.weightset import Load, Piece, compose, make, pieces
from acquisition.stability import StabilityCriterion
from acquisition.wording import number_text, vietnamese_label

_UNITS = {"mg": 1e-3, "g": 1.0, "kg": 1e3}


def r76_min_capacity(e: float, accuracy_class: str) -> float:
    """Minimum capacity Min (g) for a verification scale interval ``e`` (g), OIML R76-1:2006 Table 3.

    Class I: 100 e; class II: 20 e for 0.001 g <= e <= 0.05 g, 50 e for e >= 0.1 g; class III: 20 e; class IIII:
    10 e (the same table is Annex I Table 1 of Directive 2014/31/EU, against which it was checked).
    """
    cls = accuracy_class.strip().upper()
    factor = {"I": 100, "III": 20, "IIII": 10}.get(cls)
    if factor is None:
        factor = 20 if e <= 0.05 + 1e-12 else 50
    return round(factor * e, 9)


@dataclass(frozen=True)
class Config:
    """The run's resolved parameters (masses in g)."""

    max_load: float
    d: float
    e: float
    cls: str
    in_service: bool
    loads: tuple[Load, ...]
    skipped: tuple[float, ...]
    ecc: Load
    rep: Load
    repetitions: int
    disc: tuple[Load, ...]
    add: float
    criterion: StabilityCriterion
    small: float = 0.0  # one small weight of the changeover-point method, 0.1 d (g)
    small_count: int = DISCRIMINATION_SMALL_WEIGHTS


def _two_digits(x: float) -> float:
    """``x`` rounded to two significant digits (733.3 -> 730)."""
    exponent = math.floor(math.log10(abs(x))) - 1
    scale = 10.0**exponent
    return round(round(x / scale) * scale, 9)


def _load(name: str, vi: str, en: str) -> ParamSpec:
    """A test load (or list of loads) in g, > 0, computed by the procedure when not given."""
    kind: Kind = "numbers" if name.endswith("loads_g") else "number"
    return ParamSpec(name, kind, vi, en, unit="g", minimum=0.0, zero=False)


#: the run parameters (masses in g)
PARAMETERS = (
    ParamSpec(
        "e",
        "number",
        "Giá trị độ chia kiểm e (phải ≥ d); mặc định: giá trị độ chia thực d trong sổ đăng ký",
        "Verification scale interval e (must be ≥ d); default: the registered scale interval d",
        unit="g",
        minimum=0.0,
        zero=False,
    ),
    ParamSpec(
        "in_service",
        "flag",
        "Kiểm định trong sử dụng: sai số lớn nhất cho phép gấp đôi (R76-1 3.5.2); mặc định: kiểm định ban đầu",
        "In-service verification: twice the maximum permissible errors (R76-1 3.5.2); default: initial verification",
        default=False,
    ),
    _load(
        "loads_g",
        "Các tải của phép thử cân; mặc định: Min, các điểm chuyển MPE dưới Max, Max/2 và Max (quy trình tự tính)",
        "Loads of the weighing test; default: Min, the MPE change points below Max, Max/2 and Max (computed)",
    ),
    _load(
        "eccentricity_load_g",
        "Tải thử độ lệch tâm; mặc định: Max/3 làm tròn đến hai chữ số có nghĩa (quy trình tự tính)",
        "Load of the eccentricity test; default: Max/3 rounded to two significant digits (computed)",
    ),
    _load(
        "repeat_load_g",
        "Tải thử độ lặp lại; mặc định: Max/2 (quy trình tự tính)",
        "Load of the repeatability test; default: Max/2 (computed)",
    ),
    ParamSpec(
        "repetitions",
        "whole",
        "Số lần cân lặp lại (mỗi lần: không tải, rồi tải)",
        "Repeatability weighings (each: no load, then the load)",
        minimum=2,
        default=3,
    ),
    _load(
        "discrimination_loads_g",
        "Các tải thử độ phân biệt; mặc định: Min, Max/2 và Max (quy trình tự tính)",
        "Loads of the discrimination test; default: Min, Max/2 and Max (computed)",
    ),
    SETTLE_WINDOW_2D,
    STABILITY_TIMEOUT_S,
)


def _group(step_id: str) -> str:
    """The unit a step resumes with (docs/runs.md): the weighing test's no-load and loading sequence up and down
    (R76-1:2006 A.4.4, an interruption changes the loading history), the eccentricity test (A.4.7: every position
    against the same centre), each repeatability weighing (A.4.10: no load, load), each discrimination test (A.4.8.2:
    its four readings are one search for the changeover point)."""
    if step_id.startswith("wt-"):
        return "weighing"
    if step_id.startswith("ecc-"):
        return "eccentricity"
    if step_id.startswith("rep-"):
        return "rep-" + step_id.rsplit("-", 1)[1]
    if step_id.startswith("disc-"):
        return step_id.rsplit("-", 1)[0]
    return ""


class NawiVerificationR76(Procedure):
    """OIML R76-1:2006 verification: weighing, eccentricity, repeatability and discrimination tests."""

    definition = ProcedureDefinition(
        code="nawi-verification-r76",
        version="2",
        kind="verification",
        field="mass",
        title="Kiểm định cân không tự động / Verification of a non-automatic weighing instrument",
        method_reference="OIML R76-1:2006 / ĐLVN",
        roles=(
            RoleSpec("balance", "the weighing instrument under verification", under_test=True),
            RoleSpec("weights", "standard weight set (E2/F1) with certificate", standard_kinds=("weight set",)),
            ENVIRONMENT_ROLE,
        ),
        environment=(
            EnvironmentLimit("temperature", 15.0, 30.0, "°C"),
            EnvironmentLimit("humidity", 20.0, 80.0, "%RH"),
        ),
        parameters={"in_service": False, "repetitions": 3, "settle_window": 3, "stability_timeout_s": 30.0},
    )
    parameter_specs = PARAMETERS

    # --- parameters ----------------------------------------------------------------------------------------------

    def config(self, context: RunContext) -> Config:
        """The run's loads and settings; ValueError says which parameter or registry value to fix."""
        inst = context.instrument
        if inst.range_max is None or inst.resolution is None:
            raise ValueError(
                f"instrument {inst.serial_number} needs its Max (range_max) and scale interval d (resolution) in the "
                "registry before an R76 verification"
            )
        try:
            max_load = inst.range_max * _UNITS[inst.range_unit or "g"]
            d = inst.resolution * _UNITS[inst.resolution_unit or "g"]
        except KeyError:
            raise ValueError(
                f"instrument {inst.serial_number}: Max and d must be registered in mg, g or kg, got "
                f"{inst.range_unit!r} and {inst.resolution_unit!r}"
            ) from None
        cls = (inst.accuracy_class or "").strip().upper()
        if cls not in R76_MPE_INITIAL.rows:
            raise ValueError(
                f"instrument {inst.serial_number} has accuracy class {inst.accuracy_class!r}: register its R76 class "
                "(I, II, III or IIII) from the data plate"
            )
        e = self.parameter(context, "e")
        if e is None:
            e = d
        if e < d * (1 - 1e-9):
            raise ValueError(
                f"parameter e = {e:g} g is below the scale interval d = {d:g} g: e must be >= d (R76-1 3.4)"
            )
        in_service: bool = self.parameter(context, "in_service")
        repetitions: int = self.parameter(context, "repetitions")
        window: int = self.parameter(context, "settle_window")
        timeout: float = self.parameter(context, "stability_timeout_s")

        weights = pieces(context)
        code = context.standards["weights"].code

        def make_load(name: str, load: float) -> Load:
            if load > max_load * (1 + 1e-9):
                raise ValueError(f"{name}: {load:g} g exceeds Max = {max_load:g} g")
            return make(weights, load, name, code)

        min_load = r76_min_capacity(e, cls)
        half = round(max_load / 2, 9)
        top = round(max_load, 9)
        skipped: list[float] = []

        def defaults(wanted: Sequence[float]) -> list[Load]:
            out = []
            for x in sorted(set(wanted)):
                made = compose(weights, x)
                if made is None and x != top:
                    skipped.append(x)  # as far as the weight set allows; Max itself is never left out
                else:
                    out.append(make_load("the load Max", x) if made is None else made)
            return out

        given_loads = self.parameter(context, "loads_g")
        if given_loads is not None:
            loads = [make_load("loads_g", x) for x in sorted(set(given_loads))]
        else:
            changes = [round(limit * e, 9) for limit, _ in R76_MPE_INITIAL.rows[cls] if math.isfinite(limit)]
            loads = defaults([min_load, *(x for x in changes if x < top), half, top])
        given_disc = self.parameter(context, "discrimination_loads_g")
        if given_disc is not None:
            disc = tuple(make_load("discrimination_loads_g", x) for x in sorted(set(given_disc)))
        else:
            disc = tuple(defaults([min_load, half, top]))
        ecc_load = self.parameter(context, "eccentricity_load_g")
        ecc = make_load("eccentricity_load_g", _two_digits(max_load / 3) if ecc_load is None else ecc_load)
        rep_load = self.parameter(context, "repeat_load_g")
        rep = make_load("repeat_load_g", half if rep_load is None else rep_load)

        # every load must lie in the class's range (r76_mpe refuses beyond it), and R76-1 3.7.1: the standard
        # weights' error (here: the uncertainty of their certified conventional mass) at most 1/3 of the MPE
        for load in (*loads, ecc, rep, *disc):
            mpe = r76_mpe(load.nominal, e, cls, in_service=in_service)
            if load.uncertainty > mpe / 3 * (1 + 1e-9):
                raise ValueError(
                    f"the weights making {load.nominal:g} g ({', '.join(load.labels)}) have U = "
                    f"{load.uncertainty:g} g, more than 1/3 of the MPE {mpe:g} g (R76-1 3.7.1): use a weight set of "
                    "a better class"
                )
        criterion = StabilityCriterion(window=window, max_spread=2 * d, timeout=timeout)
        return Config(
            max_load=max_load,
            d=d,
            e=e,
            cls=cls,
            in_service=in_service,
            loads=tuple(loads),
            skipped=tuple(sorted(set(skipped))),
            ecc=ecc,
            rep=rep,
            repetitions=repetitions,
            disc=disc,
            add=round(DISCRIMINATION_ADD_D * d, 12),
            criterion=criterion,
            small=round(DISCRIMINATION_STEP_D * d, 12),
        )

    # --- plan ----------------------------------------------------------------------------------------------------

    @staticmethod
    def _place(
        load: Load, where: str = "giữa đĩa cân", where_en: str = "centre", position: str = "centre"
    ) -> OperatorAction:
        names = " + ".join(load.labels)
        names_vi = " + ".join(vietnamese_label(x) for x in load.labels)
        return OperatorAction(
            "place-load",
            f"Đặt tải {number_text(load.nominal)} g ({names_vi}) ở {where}",
            f"Place {load.nominal:g} g ({names}) at the {where_en}",
            {
                "load_g": load.nominal,
                "weights": load.labels,
                "weights_g": [p.nominal for p in load.pieces],
                "position": position,
            },
        )

    @staticmethod
    def _empty() -> OperatorAction:
        return OperatorAction(
            "remove-load", "Lấy hết quả cân khỏi đĩa cân", "Remove every weight from the pan", {"load_g": 0.0}
        )

    @classmethod
    def _discrimination_steps(cls, cfg: Config, load: Load) -> list[Step]:
        """The changeover-point method at one load (R76-1:2006 A.4.8.2): four steps, each read once stable.

        Step ids are new in version 2 (version 1 read ``disc-<L>`` and ``disc-<L>-add`` without the small weights).
        """
        crit, small, n, key = cfg.criterion, cfg.small, cfg.small_count, f"disc-{load.nominal:g}"
        place = cls._place(load)
        names = " + ".join(load.labels)
        names_vi = " + ".join(vietnamese_label(x) for x in load.labels)
        start = OperatorAction(
            "place-load",
            f"Đặt tải {number_text(load.nominal)} g ({names_vi}) và {n} quả cân nhỏ {number_text(small)} g (0,1 d) "
            "ở giữa đĩa cân",
            f"Place {load.nominal:g} g ({names}) and {n} small weights of {small:g} g (0.1 d) at the centre",
            {**place.params, "small_weights": n, "small_g": small, "extra_g": round(n * small, 12)},
        )
        down = OperatorAction(
            "remove-small-weights",
            f"Lấy ra từng quả cân nhỏ {number_text(small)} g, chờ số chỉ ổn định sau mỗi lần, đến khi số chỉ giảm "
            f"đúng một độ chia d = {number_text(cfg.d)} g so với bước trước (I − d) thì dừng",
            f"Take off the small weights of {small:g} g one at a time, waiting for a stable indication each time, "
            f"until the indication is one scale interval d = {cfg.d:g} g below that of the previous step (I − d); "
            "stop there",
            {"step_g": small, "max_count": n, "d_g": cfg.d, "load_g": load.nominal},
        )
        back = OperatorAction(
            "add-load",
            f"Đặt lại một quả cân nhỏ {number_text(small)} g vừa lấy ra",
            f"Put one of the small weights of {small:g} g back",
            {"add_g": small, "load_g": load.nominal},
        )
        plus = OperatorAction(
            "add-load",
            f"Đặt nhẹ thêm quả cân {number_text(cfg.add)} g (1,4 d) lên đĩa cân",
            f"Gently add a weight of {cfg.add:g} g (1.4 d) to the pan",
            {"add_g": cfg.add, "load_g": load.nominal},
        )
        vi_title, title = f"Độ phân biệt tại {number_text(load.nominal)} g", f"discrimination at {load.nominal:g} g"
        return [
            Step(
                f"{key}-start",
                "balance",
                f"{vi_title}: + {n} × {number_text(small)} g (I) / {title}: + {n} × {small:g} g (I)",
                start,
                stability=crit,
            ),
            Step(
                f"{key}-down",
                "balance",
                f"{vi_title}: bớt quả cân nhỏ đến I − d / {title}: small weights off until I − d",
                down,
                stability=crit,
            ),
            Step(
                f"{key}-back",
                "balance",
                f"{vi_title}: đặt lại một quả {number_text(small)} g / {title}: one {small:g} g back",
                back,
                stability=crit,
            ),
            Step(
                f"{key}-plus",
                "balance",
                (
                    f"{vi_title}: + {number_text(cfg.add)} g (1,4 d), phải được I + d / "
                    f"{title}: + {cfg.add:g} g (1.4 d), I + d required"
                ),
                plus,
                stability=crit,
            ),
        ]

    def plan(self, context: RunContext) -> list[Step]:
        cfg = self.config(context)
        crit = cfg.criterion
        steps = [
            Step(
                "env-start", "environment", "Điều kiện môi trường lúc bắt đầu / environment at start", environment=True
            ),
            Step(
                "wt-zero", "balance", "Phép thử cân: không tải / weighing test: no load", self._empty(), stability=crit
            ),
        ]
        top = cfg.loads[-1]
        for load in cfg.loads:
            steps.append(
                Step(
                    f"wt-up-{load.nominal:g}",
                    "balance",
                    (
                        f"Phép thử cân, tăng tải: {number_text(load.nominal)} g / "
                        f"weighing test, increasing: {load.nominal:g} g"
                    ),
                    self._place(load),
                    stability=crit,
                    meta={"load_g": load.nominal, "direction": "up"},
                )
            )
        for load in reversed(cfg.loads[:-1]):
            steps.append(
                Step(
                    f"wt-down-{load.nominal:g}",
                    "balance",
                    (
                        f"Phép thử cân, giảm tải từ {number_text(top.nominal)} g: {number_text(load.nominal)} g / "
                        f"weighing test, decreasing from {top.nominal:g} g: {load.nominal:g} g"
                    ),
                    self._place(load),
                    stability=crit,
                    meta={"load_g": load.nominal, "direction": "down"},
                )
            )
        steps.append(
            Step("ecc-zero", "balance", "Độ lệch tâm: không tải / eccentricity: no load", self._empty(), stability=crit)
        )
        steps.append(
            Step(
                "ecc-centre",
                "balance",
                (
                    f"Độ lệch tâm: {number_text(cfg.ecc.nominal)} g ở giữa / "
                    f"eccentricity: {cfg.ecc.nominal:g} g at the centre"
                ),
                self._place(cfg.ecc),
                stability=crit,
            )
        )
        for key, vi, en in ECCENTRICITY_POSITIONS:
            steps.append(
                Step(
                    f"ecc-{key}",
                    "balance",
                    f"Độ lệch tâm: {number_text(cfg.ecc.nominal)} g {vi} / eccentricity: {cfg.ecc.nominal:g} g {en}",
                    self._place(cfg.ecc, vi, en, key),
                    stability=crit,
                )
            )
        for i in range(1, cfg.repetitions + 1):
            steps.append(
                Step(
                    f"rep-zero-{i}",
                    "balance",
                    f"Độ lặp lại {i}: không tải / repeatability {i}: no load",
                    self._empty(),
                    stability=crit,
                )
            )
            steps.append(
                Step(
                    f"rep-{i}",
                    "balance",
                    f"Độ lặp lại {i}: {number_text(cfg.rep.nominal)} g / repeatability {i}: {cfg.rep.nominal:g} g",
                    self._place(cfg.rep),
                    stability=crit,
                )
            )
        for load in cfg.disc:
            steps.extend(self._discrimination_steps(cfg, load))
        steps.append(
            Step("unload", "balance", "Không tải lúc kết thúc / no load at the end", self._empty(), stability=crit)
        )
        steps.append(
            Step("env-end", "environment", "Điều kiện môi trường lúc kết thúc / environment at end", environment=True)
        )
        return [dataclasses.replace(step, group=_group(step.id)) for step in steps]

    # --- evaluation ----------------------------------------------------------------------------------------------

    def evaluate(self, context: RunContext, data: Mapping[str, StepData]) -> list[PointResult]:
        cfg = self.config(context)

        def first(step_id: str) -> float:
            return data[step_id].values[0]

        def reference(load: Load, indication: float, zero: float) -> dict[str, Any]:
            return {
                "weights": load.labels,
                "conventional_mass_g": load.mass,
                "U_weights_g": load.uncertainty,
                "indication_g": indication,
                "zero_g": zero,
            }

        # Weighing test: the indication is taken relative to the weights' conventional mass (I − δm compared with
        # the nominal load), and corrected by the no-load indication E0 (R76-1 A.4.4.3).
        zero = first("wt-zero")
        series = [("up", f"wt-up-{x.nominal:g}", x) for x in cfg.loads]
        series += [("down", f"wt-down-{x.nominal:g}", x) for x in reversed(cfg.loads[:-1])]
        points = [
            WeighingPoint(load.nominal, first(step) - load.correction, direction=direction)
            for direction, step, load in series
        ]
        rows = weighing_test(points, cfg.e, cfg.cls, in_service=cfg.in_service, zero=WeighingPoint(0.0, zero))
        results: list[PointResult] = []
        for row, (_, step, load) in zip(rows, series, strict=True):
            note = row.note + f"; reference {load.mass:.10g} g ({' + '.join(load.labels)})"
            results.append(dataclasses.replace(row, note=note, evidence=reference(load, first(step), zero)))
        if cfg.skipped:
            results[0] = dataclasses.replace(
                results[0],
                note=results[0].note
                + "; default loads the weight set cannot make, left out: "
                + ", ".join(f"{x:g} g" for x in cfg.skipped),
            )

        ecc_zero = first("ecc-zero")
        ecc_steps = ["ecc-centre", *(f"ecc-{key}" for key, _, _ in ECCENTRICITY_POSITIONS)]
        ecc_rows = eccentricity_test(
            cfg.ecc.nominal,
            [first(s) - ecc_zero - cfg.ecc.correction for s in ecc_steps],
            cfg.e,
            cfg.cls,
            cfg.max_load,
            in_service=cfg.in_service,
        )
        results.extend(
            dataclasses.replace(row, evidence=reference(cfg.ecc, first(s), ecc_zero))
            for row, s in zip(ecc_rows, ecc_steps, strict=True)
        )

        nets = [first(f"rep-{i}") - first(f"rep-zero-{i}") for i in range(1, cfg.repetitions + 1)]
        rep_row = repeatability_test(cfg.rep.nominal, nets, cfg.e, cfg.cls, in_service=cfg.in_service)
        results.append(dataclasses.replace(rep_row, evidence={"net_indications_g": nets, "weights": cfg.rep.labels}))

        for load in cfg.disc:
            key = f"disc-{load.nominal:g}"
            initial, below, back, after = (first(f"{key}-{part}") for part in ("start", "down", "back", "plus"))
            row = discrimination_changeover_test(load.nominal, initial, below, back, after, cfg.d)
            results.append(
                dataclasses.replace(
                    row,
                    evidence={
                        "weights": load.labels,
                        "small_weights": cfg.small_count,
                        "small_g": cfg.small,
                        "added_g": cfg.add,
                        "initial_g": initial,
                        "below_g": below,
                        "back_g": back,
                        "after_g": after,
                    },
                )
            )
        return results


__all__ = ["Config", "Load", "NawiVerificationR76", "Piece", "r76_min_capacity"]
