"""``prepackage-r87``: quantity of product in prepackages (OIML R87:2016; Circular 21/2014/TT-BKHCN), by mass.

A run tests a **prepackage lot** registered in the registry's ``prepackage_lot`` table (decision 0304: packer,
product, lot number, lot size, nominal quantity Qn in g or kg; a lot labelled by volume, mL or L, is refused:
checking volume by mass and density is not implemented). Roles: ``lot`` (under test, no driver) and ``balance``
(the laboratory's balance, a reference standard of kind ``balance`` with a certificate in force; its range must
reach Qn).

Steps, each indication kept once stable: the empty pan; ``tare_count`` empty packagings one by one (operator
action ``place-package`` with ``{"kind": "tare", "index": i}``); the n sampled prepackages one by one
(``{"kind": "gross", "index": j}``); the empty pan again. Every weighing is taken net of the first empty-pan
indication.

Parameters: ``lot_size`` (default: the registered lot's size; a different value is refused); ``nominal_g``
(default: the registered lot's nominal quantity);
``sample_size``, ``lambda`` and ``c`` (all three or none; default: :func:`sampling_plan` of the lot size, whose
rows are unverified against R87's own text: the note of the mean, T1 and lot-decision rows says so; lots below 100:
every package, λ = 0, c = 0, a conservative choice);
``tare_count`` (default 10); ``settle_window`` (readings), ``settle_spread_g`` (default T1/100) and
``stability_timeout_s`` (s).

Evaluation through :mod:`acquisition.methods.prepackages`: the average tare of the empty packagings, net
quantity = gross − average tare, then :func:`assess_lot`. Rows, each with conformity pass/fail: the mean test, the
T1- and T2-defective counts and the lot decision (whose evidence holds the tares, gross and net masses of every
package; no row states an uncertainty budget). Single packages are not result rows: a T1-defective package is
allowed (up to c) in an accepted lot, and the run's overall verdict (``acquisition.methods.base.overall``) is "fail"
as soon as one row fails.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from acquisition.channel import OperatorAction
from acquisition.methods.base import PointResult
from acquisition.methods.prepackages import (
    R87_SAMPLING,
    R87_T1,
    SamplingPlan,
    assess_lot,
    average_tare,
    sampling_plan,
    tolerable_deficiency,
)
from acquisition.procedures.base import (
    LotUnderTest,
    Procedure,
    ProcedureDefinition,
    RoleSpec,
    RunContext,
    Step,
    StepData,
)
from acquisition.procedures.params import STABILITY_TIMEOUT_S, ParamSpec, number
from acquisition.stability import StabilityCriterion

_UNITS = {"g": 1.0, "kg": 1000.0}


@dataclass(frozen=True)
class Config:
    """The run's resolved parameters (masses in g)."""

    nominal: float
    lot_size: int
    plan: SamplingPlan
    tare_count: int
    t1: float
    criterion: StabilityCriterion


#: the run parameters (masses in g)
PARAMETERS = (
    ParamSpec(
        "lot_size",
        "whole",
        "Số gói hàng đóng gói sẵn trong lô; mặc định: cỡ lô đã đăng ký (giá trị khác bị từ chối)",
        "Number of prepackages in the lot; default: the registered lot size (a different value is refused)",
        minimum=1,
    ),
    ParamSpec(
        "nominal_g",
        "number",
        "Lượng danh định Qn; mặc định: lượng danh định của lô đã đăng ký",
        "Nominal quantity Qn; default: the registered lot's nominal quantity",
        unit="g",
        minimum=0.0,
        zero=False,
    ),
    ParamSpec(
        "sample_size",
        "whole",
        "Cỡ mẫu n (cho cùng lambda và c, hoặc không cho cả ba); mặc định: phương án lấy mẫu R87 theo cỡ lô",
        "Sample size n (with lambda and c, or none of the three); default: R87's sampling plan for the lot size",
        minimum=2,
    ),
    ParamSpec(
        "lambda",
        "number",
        "Hệ số λ của phép thử giá trị trung bình (cùng sample_size và c); mặc định: theo phương án R87",
        "Factor λ of the mean test (with sample_size and c); default: from R87's sampling plan",
        minimum=0.0,
    ),
    ParamSpec(
        "c",
        "whole",
        "Số gói thiếu quá T1 được chấp nhận (cùng sample_size và lambda); mặc định: theo phương án R87",
        "T1-defective prepackages allowed (with sample_size and lambda); default: from R87's sampling plan",
        minimum=0,
    ),
    ParamSpec(
        "tare_count",
        "whole",
        "Số bao bì rỗng được cân để tính khối lượng bì trung bình",
        "Empty packagings weighed for the average tare",
        minimum=2,
        default=10,
    ),
    ParamSpec(
        "settle_window",
        "whole",
        "Số lần đọc liên tiếp phải nằm trong settle_spread_g để số chỉ được coi là ổn định",
        "Successive readings that must lie within settle_spread_g for the indication to count as stable",
        minimum=1,
        default=3,
    ),
    ParamSpec(
        "settle_spread_g",
        "number",
        "Độ chênh lớn nhất giữa các lần đọc khi ổn định; mặc định: T1/100 (quy trình tự tính)",
        "Largest spread of the readings of a stable indication; default: T1/100 (computed)",
        unit="g",
        minimum=0.0,
        zero=False,
    ),
    STABILITY_TIMEOUT_S,
)


class PrepackageR87(Procedure):
    """OIML R87 quantity check of a lot of prepackages by mass: average tare, mean test, T1/T2 counts."""

    under_test = "lot"
    definition = ProcedureDefinition(
        code="prepackage-r87",
        version="2",
        kind="test",
        field="mass",
        title="Kiểm tra lượng của hàng đóng gói sẵn / Quantity of product in prepackages",
        method_reference="OIML R87:2016; Thông tư 21/2014/TT-BKHCN",
        roles=(
            RoleSpec("lot", "the lot of prepackages under inspection (a registered prepackage lot)", under_test=True),
            RoleSpec(
                "balance",
                "the laboratory's balance weighing the packages (reference standard with certificate)",
                standard_kinds=("balance",),
                quantities=("mass",),
            ),
        ),
        parameters={"tare_count": 10, "settle_window": 3, "stability_timeout_s": 30.0},
    )
    parameter_specs = PARAMETERS

    def config(self, context: RunContext) -> Config:
        """The run's settings; ValueError names the parameter or registry value to fix."""
        p = context.parameters
        lot = context.lot
        nominal = self._nominal(context, lot)
        registered = lot.lot_size
        lot_size: int | None = self.parameter(context, "lot_size")
        if lot_size is None:
            lot_size = registered
        elif lot_size != registered:
            raise ValueError(
                f"lot_size {lot_size} disagrees with lot {lot.lot_number}'s registered size {registered}: leave "
                "lot_size out to use the registered size, or correct the lot's record first"
            )
        given = [k for k in ("sample_size", "lambda", "c") if k in p]
        if given:
            if len(given) != 3:
                raise ValueError(
                    "a sampling plan given by parameters needs sample_size, lambda and c together "
                    f"(got only {', '.join(given)}); or give none of them to use R87's plan for the lot size"
                )
            plan = SamplingPlan(
                n=self.parameter(context, "sample_size"),
                lam=self.parameter(context, "lambda"),
                c=self.parameter(context, "c"),
                reference="sampling plan given by the run parameters",
            )
        else:
            try:
                plan = sampling_plan(lot_size)
            except ValueError as exc:
                raise ValueError(f"{exc}; as run parameters: sample_size, lambda and c") from None
        if plan.n > lot_size:
            raise ValueError(f"the sample ({plan.n}) cannot be larger than the lot (lot_size = {lot_size})")
        t1 = tolerable_deficiency(nominal)
        spread = self.parameter(context, "settle_spread_g")
        return Config(
            nominal=nominal,
            lot_size=lot_size,
            plan=plan,
            tare_count=self.parameter(context, "tare_count"),
            t1=t1,
            criterion=StabilityCriterion(
                window=self.parameter(context, "settle_window"),
                max_spread=t1 / 100 if spread is None else spread,
                timeout=self.parameter(context, "stability_timeout_s"),
            ),
        )

    def _nominal(self, context: RunContext, lot: LotUnderTest) -> float:
        """Qn in g: the ``nominal_g`` parameter, else the registered lot's nominal quantity (g or kg)."""
        if lot.nominal_unit not in _UNITS:
            raise ValueError(
                f"lot {lot.lot_number} ({lot.product}) is labelled by volume ({lot.nominal_quantity:g} "
                f"{lot.nominal_unit}): prepackage-r87 checks the quantity by mass only (g or kg); checking volume "
                "through the product's density is not implemented, so this lot cannot be checked with it"
            )
        given: float | None = self.parameter(context, "nominal_g")
        if given is not None:
            return given
        quantity = number(
            "the lot's nominal quantity", lot.nominal_quantity, unit=lot.nominal_unit, minimum=0, zero=False
        )
        return quantity * _UNITS[lot.nominal_unit]

    def required_range(self, context: RunContext) -> Mapping[str, tuple[float, float, str]]:
        return {"balance": (0.0, self.config(context).nominal, "g")}

    @staticmethod
    def _package(kind: str, index: int, count: int) -> OperatorAction:
        if kind == "tare":
            vi, en = f"bao bì rỗng số {index}/{count}", f"empty packaging no. {index}/{count}"
        else:
            vi, en = f"gói mẫu số {index}/{count}", f"sample prepackage no. {index}/{count}"
        return OperatorAction(
            "place-package",
            f"Lấy vật trên đĩa cân ra, đặt {vi} lên đĩa cân",
            f"Take off what is on the pan and place the {en}",
            {"kind": kind, "index": index},
        )

    def plan(self, context: RunContext) -> list[Step]:
        cfg = self.config(context)
        crit = cfg.criterion
        empty = OperatorAction("remove-load", "Để trống đĩa cân", "Leave the pan empty", {"load_g": 0.0})
        steps = [Step("zero", "balance", "Đĩa cân trống / empty pan", empty, stability=crit)]
        for i in range(1, cfg.tare_count + 1):
            steps.append(
                Step(
                    f"tare-{i}",
                    "balance",
                    f"Bì: bao bì rỗng {i}/{cfg.tare_count} / tare: empty packaging {i}/{cfg.tare_count}",
                    self._package("tare", i, cfg.tare_count),
                    stability=crit,
                    meta={"kind": "tare", "index": i},
                )
            )
        for j in range(1, cfg.plan.n + 1):
            steps.append(
                Step(
                    f"gross-{j}",
                    "balance",
                    f"Gói mẫu {j}/{cfg.plan.n} / sample prepackage {j}/{cfg.plan.n}",
                    self._package("gross", j, cfg.plan.n),
                    stability=crit,
                    meta={"kind": "gross", "index": j},
                )
            )
        steps.append(
            Step("unload", "balance", "Đĩa cân trống lúc kết thúc / empty pan at the end", empty, stability=crit)
        )
        return steps

    def evaluate(self, context: RunContext, data: Mapping[str, StepData]) -> list[PointResult]:
        cfg = self.config(context)

        def first(step_id: str) -> float:
            return data[step_id].values[0]

        zero = first("zero")
        tares = [first(f"tare-{i}") - zero for i in range(1, cfg.tare_count + 1)]
        gross = [first(f"gross-{j}") - zero for j in range(1, cfg.plan.n + 1)]
        est = average_tare(tares)
        decision = assess_lot(cfg.nominal, gross, lot_size=cfg.lot_size, tare=est, plan=cfg.plan)
        reference = f"{R87_T1.edition}; {cfg.plan.reference}"
        drift = first("unload") - zero
        *packages, mean_row, t1_row, t2_row = decision.results
        status = {j: row.note.partition(": ")[2] for j, row in enumerate(packages, start=1) if ": " in row.note}
        results = [
            dataclasses.replace(
                mean_row,
                note=f"net = gross − average tare {est.mean:.6g} g ({est.n} empty packagings, s = {est.s:.3g} g); "
                + mean_row.note,
            ),
            t1_row,
            t2_row,
        ]
        results.append(
            PointResult(
                quantity="lot decision",
                point=cfg.nominal,
                point_unit="g",
                value=1.0 if decision.accepted else 0.0,
                unit="1",
                conformity=decision.conformity,
                rule=(
                    "lot accepted (1) when the mean test passes, at most c prepackages are below Qn − T1 and none "
                    "below Qn − T2; else rejected (0)"
                ),
                reference=reference,
                note="; ".join(decision.reasons) + f"; empty-pan drift over the run {drift:+.4g} g; {t1_row.note}",
                evidence={
                    "lot_size": cfg.lot_size,
                    "n": cfg.plan.n,
                    "lambda": cfg.plan.lam,
                    "c": cfg.plan.c,
                    "T1": decision.t1,
                    "T2": decision.t2,
                    "mean": decision.mean,
                    "s": decision.s,
                    "mean_limit": decision.mean_limit,
                    "T1_defectives": list(decision.t1_defectives),
                    "T2_defectives": list(decision.t2_defectives),
                    "sampling_table": R87_SAMPLING.edition,
                    "sampling_plan_note": cfg.plan.note,
                    "average_tare_g": est.mean,
                    "tare_s_g": est.s,
                    "tares_g": tares,
                    "gross_g": gross,
                    "net_g": list(decision.net),
                    "package_status": {str(j): text for j, text in status.items()},
                },
            )
        )
        return results
