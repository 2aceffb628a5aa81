"""Non-automatic weighing instruments: calibration per EURAMET cg-18 v4.0 and verification per OIML R76-1:2006.

Every mass, indication, error, scale interval and uncertainty in this module is in **grams** (g); relative
quantities are plain fractions (1e-4 = 0.01 %). Pure functions: the run engine passes the readings of each step.

Calibration (cg-18 v4.0): :func:`repeatability` (5.1/6.1), :func:`eccentricity` (5.3/6.3),
:func:`errors_of_indication` (5.2/6.2 with the uncertainty of 7.1 and the coverage factor of 7.3), and the
optional :func:`uncertainty_line` / :func:`minimum_weight` (§8 and Appendix G).

Verification (R76-1:2006): :func:`r76_mpe` (3.5.1 Table 6, 3.5.2 in service), :func:`changeover_error`
(A.4.4.3), :func:`weighing_test`, :func:`eccentricity_test`, :func:`repeatability_test`,
:func:`discrimination_test` and :func:`verdict`, all by simple acceptance (legal verification: the error itself
is compared with the MPE; the uncertainty of the test is controlled by the test equipment's requirements
instead, R76-1 3.7.1).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from acquisition.methods.base import Budget, PointResult, Text, finite, num, overall, words
from uncertainty import Model, gum, normal, rectangular

__all__ = [
    "AIR_DENSITY_BOUND",
    "CG18",
    "R76",
    "R76_MPE_INITIAL",
    "RHO_0",
    "RHO_C",
    "SIMPLE_ACCEPTANCE",
    "AirBuoyancy",
    "Balance",
    "Eccentricity",
    "LoadPoint",
    "MpeTable",
    "ReferenceWeight",
    "Repeatability",
    "Term",
    "UncertaintyLine",
    "WeighingPoint",
    "adjustment_term",
    "changeover_error",
    "discrimination_test",
    "eccentricity",
    "eccentricity_test",
    "errors_of_indication",
    "minimum_weight",
    "r76_mpe",
    "r111_buoyancy_bound",
    "repeatability",
    "repeatability_test",
    "uncertainty_line",
    "verdict",
    "weighing_test",
]

CG18 = "EURAMET cg-18 v4.0 (11/2015)"
R76 = "OIML R76-1:2006"
SIMPLE_ACCEPTANCE = "simple acceptance (ILAC G8:09/2019 4.2.1, w = 0): pass when |E| <= |MPE|"
#: cg-18 v4.0 7.3 / Appendix E: the expanded uncertainty is stated for a coverage probability of about 95.45 %.
CG18_COVERAGE_PROBABILITY = 0.9545
_REL = 1e-9  # relative tolerance for comparing results of float arithmetic with limits


@dataclass(frozen=True)
class MpeTable:
    """A maximum-permissible-error table with its edition: per class, ``(upper limit of m in e, MPE in e)`` rows.

    A load m (in verification scale intervals e) gets the MPE of the first row whose limit it does not exceed
    (limits are inclusive: "m <= 500 e"); above the last limit the class has no MPE (the load is outside the
    class's range of n = Max/e).
    """

    edition: str
    rows: Mapping[str, tuple[tuple[float, float], ...]]


#: OIML R76-1:2006 3.5.1, Table 6: MPE on initial verification (in service: twice these, 3.5.2).
R76_MPE_INITIAL = MpeTable(
    edition="OIML R76-1:2006 3.5.1 Table 6",
    rows={
        "I": ((50_000, 0.5), (200_000, 1.0), (math.inf, 1.5)),
        "II": ((5_000, 0.5), (20_000, 1.0), (100_000, 1.5)),
        "III": ((500, 0.5), (2_000, 1.0), (10_000, 1.5)),
        "IIII": ((50, 0.5), (200, 1.0), (1_000, 1.5)),
    },
)


def _class(accuracy_class: str) -> str:
    c = str(accuracy_class).strip().upper()
    if c not in R76_MPE_INITIAL.rows:
        raise ValueError(f"accuracy class must be one of I, II, III, IIII (OIML R76-1 3.1), got {accuracy_class!r}")
    return c


# --------------------------------------------------------------------------------------------------- instrument


@dataclass(frozen=True)
class Balance:
    """The instrument under calibration: ``max_load`` (g), scale interval ``d`` (g).

    ``intervals`` describes a multi-interval instrument as ``((upper limit g, d_i g), ...)`` in increasing order
    (the last limit is Max); ``d_zero`` is the scale interval at no load (default: the first d). ``type_approved``
    with zero-setting/tare before each reading limits the rounding error at zero to ±d0/4 instead of ±d0/2
    (cg-18 v4.0 7.1.1, rounding of the no-load indication).
    """

    max_load: float
    d: float
    intervals: tuple[tuple[float, float], ...] = ()
    d_zero: float | None = None
    type_approved: bool = False

    def __post_init__(self) -> None:
        finite("max_load", self.max_load, positive=True)
        finite("d", self.d, positive=True)
        if self.d_zero is not None:
            finite("d_zero", self.d_zero, positive=True)
        last = 0.0
        for limit, d_i in self.intervals:
            finite("interval limit", limit, positive=True)
            finite("interval d", d_i, positive=True)
            if limit <= last:
                raise ValueError("intervals must be ((upper limit, d), ...) with increasing limits; reorder them")
            last = limit

    def d_at(self, load: float) -> float:
        """Scale interval (g) applying to an indication of ``load`` g."""
        for limit, d_i in self.intervals:
            if load <= limit * (1 + _REL):
                return d_i
        return self.d if not self.intervals else self.intervals[-1][1]

    @property
    def d0(self) -> float:
        """Scale interval at no load (g)."""
        if self.d_zero is not None:
            return self.d_zero
        return self.intervals[0][1] if self.intervals else self.d


# --------------------------------------------------------------------------------------------- repeatability


@dataclass(frozen=True)
class Repeatability:
    """cg-18 v4.0 6.1: n indications at ``load`` g; ``mean`` and experimental standard deviation ``s`` (g)."""

    load: float
    n: int
    mean: float
    s: float

    def as_result(self) -> PointResult:
        """The certificate line: s at the test load."""
        return PointResult(
            quantity="repeatability standard deviation",
            point=self.load,
            point_unit="g",
            value=self.s,
            unit="g",
            reference=f"{CG18} 5.1, 6.1",
            note=f"n = {self.n} indications",
        )


def repeatability(load: float, indications: Sequence[float]) -> Repeatability:
    """Repeatability test (cg-18 v4.0 5.1/6.1): s of the indications (g) of one test load (g), divisor n − 1.

    cg-18 5.1 asks for at least 5 indications, or at least 3 when the test load is 100 kg or more.
    """
    load = finite("load", load, positive=True)
    values = [finite(f"indications[{i}]", x) for i, x in enumerate(indications)]
    needed = 3 if load >= 100_000.0 else 5
    if len(values) < needed:
        raise ValueError(
            f"repeatability at {load:g} g needs at least {needed} indications (cg-18 v4.0 5.1), got {len(values)}; "
            "repeat the loading"
        )
    return Repeatability(load, len(values), statistics.fmean(values), statistics.stdev(values))


# ----------------------------------------------------------------------------------------------- eccentricity


@dataclass(frozen=True)
class Eccentricity:
    """cg-18 v4.0 6.3: differences ΔI_ecc,i (g) of the off-centre indications from the centre at ``load`` g."""

    load: float
    deltas: tuple[float, ...]

    @property
    def max_abs(self) -> float:
        """|ΔI_ecc,i|max (g)."""
        return max(abs(x) for x in self.deltas)

    def u_relative(self) -> float:
        """u(δI_ecc)/I = |ΔI_ecc|max / (2 L_ecc √3): cg-18 v4.0 7.1.1-10 (relative, rectangular)."""
        return self.max_abs / (2.0 * self.load * math.sqrt(3.0))

    def as_result(self) -> PointResult:
        """The certificate line: the largest difference at the test load."""
        return PointResult(
            quantity="eccentricity |ΔI_ecc|max",
            point=self.load,
            point_unit="g",
            value=self.max_abs,
            unit="g",
            reference=f"{CG18} 5.3, 6.3",
            note="differences: " + ", ".join(f"{x:+.10g}" for x in self.deltas),
        )


def eccentricity(
    load: float,
    centre: float | Sequence[float],
    off_centre: Sequence[float],
    *,
    zeros: Sequence[float] | None = None,
) -> Eccentricity:
    """Eccentricity test (cg-18 v4.0 5.3/6.3): ΔI_ecc,i = I_i − I_centre (all in g) for the off-centre positions.

    ``centre`` is one indication (methods 1 and 2: zeroed or tared once) or one per off-centre position (method 4:
    back to the centre between positions). ``zeros`` (method 3, removed between positions) are the no-load
    indications recorded before each position: the first belongs to the centre, then one per off-centre position;
    each indication is then taken net of its zero.
    """
    load = finite("load", load, positive=True)
    off = [finite(f"off_centre[{i}]", x) for i, x in enumerate(off_centre)]
    if len(off) < 2:
        raise ValueError("eccentricity needs the indications of at least 2 off-centre positions (cg-18 5.3: 4)")
    if isinstance(centre, (int, float)):
        centres = [finite("centre", centre)] * len(off)
    else:
        centres = [finite(f"centre[{i}]", x) for i, x in enumerate(centre)]
        if len(centres) != len(off):
            raise ValueError(
                f"give one centre indication, or one per off-centre position (method 4): got {len(centres)} "
                f"centres for {len(off)} positions"
            )
    if zeros is not None:
        z = [finite(f"zeros[{i}]", x) for i, x in enumerate(zeros)]
        if len(z) != len(off) + 1:
            raise ValueError(f"method 3 needs {len(off) + 1} no-load indications (centre first), got {len(z)}")
        centres = [c - z[0] for c in centres]
        off = [x - z[i + 1] for i, x in enumerate(off)]
    return Eccentricity(load, tuple(x - c for x, c in zip(off, centres, strict=True)))


# ------------------------------------------------------------------------------------------ reference weights


RHO_0 = 1.2
"""Reference air density ρ_0 of conventional mass, kg/m³ (OIML D 28:2004 / R111-1:2004 2.7)."""
RHO_C = 8000.0
"""Reference density ρ_c of conventional mass, kg/m³ (OIML D 28:2004 / R111-1:2004 2.7)."""
AIR_DENSITY_BOUND = 0.1 * RHO_0
"""±10 % of ρ_0 (0.12 kg/m³): the air-density deviation OIML R111-1:2004 10.1 designs the density limits of weights
for; the half-width taken for ρ_a − ρ_0 when the air density is not measured, and the default half-width of the
air-density change since an adjustment made before the calibration day (kg/m³)."""


def r111_buoyancy_bound(mpe: float) -> float:
    """Half-width (g) of the buoyancy effect on a weight conforming to OIML R111-1:2004 10.1 (density limits).

    R111-1 10.1 bounds the weight's density so that a deviation of 10 % of the air density from 1.2 kg/m³
    changes its apparent mass by at most one quarter of its MPE: the bound is MPE/4 (use it as a rectangular
    half-width when the air density is not measured).
    """
    return finite("mpe", mpe, positive=True) / 4.0


@dataclass(frozen=True)
class AirBuoyancy:
    """The conditions of the air buoyancy of the reference weights in a calibration (cg-18 v4.0 7.1.2); kg/m³.

    ``air_density`` is ρ_a measured during the calibration (t, p, h of the environment instrument) with standard
    uncertainty ``u_air_density``; None when not measured: ρ_a = ρ_0 is assumed, known only to lie within ±10 %
    of it (:data:`AIR_DENSITY_BOUND`, rectangular). ``adjusted``: the instrument was adjusted immediately before the
    calibration at its place of use, so its sensitivity refers to the air of the calibration; otherwise the air
    density may have changed since the last adjustment by up to ±``variation`` (rectangular), which changes the
    indication of a load m by −m·δρ_a/ρ_c (the adjustment weight's buoyancy, density ρ_c).
    """

    air_density: float | None = None
    u_air_density: float = 0.0
    adjusted: bool = False
    variation: float = AIR_DENSITY_BOUND

    def __post_init__(self) -> None:
        if self.air_density is not None:
            rho = finite("air_density (kg/m³)", self.air_density, positive=True)
            if not 0.5 <= rho <= 1.5:
                raise ValueError(f"air density {rho} is outside 0.5..1.5 kg/m³; give it in kg/m³")
        finite("u_air_density (kg/m³)", self.u_air_density, nonneg=True)
        finite("variation (kg/m³)", self.variation, nonneg=True)

    def describe(self) -> Text:
        """One line for a budget's source column, in Vietnamese and English."""
        if self.air_density is None:
            return (
                Text("ρ_a không đo: ρ_0 = ", "ρ_a not measured: ρ_0 = ")
                + num(RHO_0, "")
                + " kg/m³ ± "
                + num(AIR_DENSITY_BOUND)
                + " kg/m³ (±10 %, R111-1:2004 10.1)"
            )
        return (
            "ρ_a = "
            + num(self.air_density, ".4f")
            + " kg/m³, u = "
            + num(self.u_air_density, ".2g")
            + Text(" kg/m³ (đo được)", " kg/m³ (measured)")
        )


@dataclass(frozen=True)
class Term:
    """One contribution of the reference weights: estimate ``value`` (g) and standard uncertainty ``u`` (g) of
    a ``distribution`` (``"rectangular"``: u = half-width/√3), with the ``source`` a budget row shows."""

    value: float
    u: float
    distribution: str
    source: Text


@dataclass(frozen=True)
class ReferenceWeight:
    """One standard weight of a test load; all masses in g, densities in kg/m³.

    ``correction`` is δm_c = conventional mass − nominal from its certificate with ``U`` at coverage factor ``k``
    (cg-18 v4.0 7.1.2: u = U/k); or, used at its nominal value, give only its class ``mpe`` (u = MPE/√3,
    correction 0). ``class_mpe`` is the MPE of its OIML R111 class (default ``mpe``), the bound the buoyancy term
    uses when the density is not known. ``density`` with standard uncertainty ``u_density`` comes from its
    certificate. ``drift`` is the half-width of a rectangular distribution of the drift since the certificate
    (cg-18 7.1.2 δm_D) and ``drift_source`` says where it comes from (certificate history or class bound).
    """

    nominal: float
    correction: float = 0.0
    U: float | None = None
    k: float = 2.0
    mpe: float | None = None
    drift: float = 0.0
    label: str = ""
    class_mpe: float | None = None
    density: float | None = None
    u_density: float = 0.0
    drift_source: Text | str = ""

    def __post_init__(self) -> None:
        finite("nominal", self.nominal, positive=True)
        finite("correction", self.correction)
        finite("drift", self.drift, nonneg=True)
        if self.U is None and self.mpe is None:
            raise ValueError(
                f"reference weight {self.label or self.nominal}: give its certificate U (with k) or its class MPE"
            )
        if self.U is not None:
            finite("U", self.U, nonneg=True)
            finite("k", self.k, positive=True)
        elif self.correction != 0.0:
            raise ValueError("a correction needs the certificate's U; a weight used by its class MPE has correction 0")
        if self.mpe is not None:
            finite("mpe", self.mpe, positive=True)
        if self.class_mpe is not None:
            finite("class_mpe", self.class_mpe, positive=True)
        if self.density is not None:
            rho = finite("density (kg/m³)", self.density, positive=True)
            if not 1000.0 <= rho <= 25_000.0:
                raise ValueError(f"weight density {rho} is outside 1000..25000 kg/m³; give it in kg/m³")
        finite("u_density (kg/m³)", self.u_density, nonneg=True)

    @property
    def conventional_mass(self) -> float:
        """Conventional mass used as reference (g)."""
        return self.nominal + self.correction

    @property
    def u_correction(self) -> float:
        """Standard uncertainty of δm_c (g): U/k, or MPE/√3 without a certificate (cg-18 v4.0 7.1.2)."""
        if self.U is not None:
            return self.U / self.k
        assert self.mpe is not None
        return self.mpe / math.sqrt(3.0)

    @property
    def name(self) -> str:
        """Its label, or its nominal value."""
        return self.label or f"{self.nominal:g} g"

    @property
    def name_text(self) -> Text:
        """:attr:`name` for a budget text (a nominal value with the Vietnamese decimal comma)."""
        return words(self.label) if self.label else num(self.nominal) + " g"

    def buoyancy(self, air: AirBuoyancy) -> Term:
        """δm_B of this weight relative to its conventional mass (cg-18 v4.0 7.1.2; OIML R111-1:2004 10.1), g.

        * density known (ρ, u(ρ)): δm_B = −m_N (ρ_a − ρ_0)(1/ρ − 1/ρ_c) and
          u²(δm_B) = m_N² [(1/ρ − 1/ρ_c)² u²(ρ_a) + (ρ_a − ρ_0)² u²(ρ)/ρ⁴] (first order); with ρ_a not measured
          the estimate ρ_a − ρ_0 is 0, so the product term enters at second order, m_N² u²(ρ_a) u²(ρ)/ρ⁴
          (GUM JCGM 100:2008 5.1.2, note), and u(ρ_a) = 0.12/√3 kg/m³;
        * density known only by class: R111-1:2004 10.1 bounds the effect of a ±10 % deviation of ρ_a from ρ_0 by
          MPE/4, so the correction is 0 with half-width MPE/4 when ρ_a is not measured and
          MPE/4 · (|ρ_a − ρ_0| + 2 u(ρ_a)) / (0.1 ρ_0) when it is (rectangular).
        """
        m = self.nominal
        if self.density is not None:
            rho, u_rho = self.density, self.u_density
            contrast = 1.0 / rho - 1.0 / RHO_C
            if air.air_density is None:
                u_a = AIR_DENSITY_BOUND / math.sqrt(3.0)
                u = m * math.sqrt((contrast * u_a) ** 2 + (u_a * u_rho / rho**2) ** 2)
                return Term(0.0, u, "normal", self._density_source(rho, u_rho))
            d_a = air.air_density - RHO_0
            value = -m * d_a * contrast
            u = m * math.sqrt((contrast * air.u_air_density) ** 2 + (d_a * u_rho / rho**2) ** 2)
            return Term(value, u, "normal", self._density_source(rho, u_rho))
        bound = self.class_mpe if self.class_mpe is not None else self.mpe
        if bound is None:
            raise ValueError(
                f"reference weight {self.name}: its density is not known and no class MPE is given; give the "
                "density (kg/m³) from its certificate or its OIML R111 class"
            )
        if air.air_density is None:
            half = r111_buoyancy_bound(bound)
        else:
            half = r111_buoyancy_bound(bound) * (abs(air.air_density - RHO_0) + 2.0 * air.u_air_density)
            half /= AIR_DENSITY_BOUND
        return Term(
            0.0,
            half / math.sqrt(3.0),
            "rectangular",
            self.name_text + Text(": khối lượng riêng theo cấp, giới hạn MPE/4", ": density by class, MPE/4 bound"),
        )

    def _density_source(self, rho: float, u_rho: float) -> Text:
        return (
            self.name_text
            + ": ρ = "
            + num(rho)
            + " ± "
            + num(u_rho)
            + Text(" kg/m³ (giấy chứng nhận)", " kg/m³ (certificate)")
        )


def adjustment_term(nominal: float, air: AirBuoyancy) -> Term:
    """δm_Ba (g): the change of the indication of a load of ``nominal`` g when the air density differs from that
    of the instrument's last adjustment: −m·δρ_a/ρ_c, 0 with half-width m·variation/ρ_c (rectangular) unless
    the instrument was adjusted immediately before the calibration (then exactly 0; cg-18 v4.0 7.1.2)."""
    if air.adjusted:
        return Term(
            0.0,
            0.0,
            "rectangular",
            Text(
                "cân được hiệu chỉnh ngay trước khi hiệu chuẩn",
                "instrument adjusted immediately before the calibration",
            ),
        )
    half = nominal * air.variation / RHO_C
    return Term(
        0.0,
        half / math.sqrt(3.0),
        "rectangular",
        Text(
            "không hiệu chỉnh trước khi hiệu chuẩn: mật độ không khí có thể khác lúc hiệu chỉnh gần nhất tới ±",
            "not adjusted before the calibration: air density may differ from that at its last adjustment by ±",
        )
        + num(air.variation)
        + " kg/m³, ±m·δρ_a/ρ_c",
    )


# ------------------------------------------------------------------------------------- errors of indication


@dataclass(frozen=True)
class LoadPoint:
    """One test load of the error-of-indication test; all values in g.

    ``indication`` is I_L (the mean of ``n_readings`` indications when several were taken), ``zero`` the no-load
    indication I_0 before the load. ``direction`` is ``"up"`` or ``"down"``.
    ``convection`` is the half-width of the convection effect δm_conv (cg-18 v4.0 Appendix F, from the
    temperature difference between weights and instrument), 0 when acclimatised.
    """

    weights: tuple[ReferenceWeight, ...]
    indication: float
    zero: float = 0.0
    direction: str = "up"
    n_readings: int = 1
    convection: float = 0.0

    def __post_init__(self) -> None:
        if not self.weights:
            raise ValueError("a load point needs at least one reference weight")
        finite("indication", self.indication)
        finite("zero", self.zero)
        finite("convection", self.convection, nonneg=True)
        if self.direction not in ("up", "down"):
            raise ValueError(f"direction must be 'up' or 'down', got {self.direction!r}")
        if isinstance(self.n_readings, bool) or not isinstance(self.n_readings, int) or self.n_readings < 1:
            raise ValueError(f"n_readings must be an integer >= 1, got {self.n_readings!r}")

    @property
    def nominal(self) -> float:
        """Nominal test load (g)."""
        return math.fsum(w.nominal for w in self.weights)


_MODEL = Model.from_expression(
    "IL + dI_digL + dI_rep + dI_ecc - I0 - dI_dig0 - (m_c + dm_B + dm_Ba + dm_D + dm_conv)", measurand="E"
)
_MODEL_TEXT = "E = I_L + δI_digL + δI_rep + δI_ecc − I_0 − δI_dig0 − (m_c + δm_B + δm_Ba + δm_D + δm_conv)"
_SOURCES = {
    "IL": Text("số chỉ khi có tải", "indication at load"),
    "dI_digL": Text(
        "làm tròn số chỉ khi có tải, d_L/√12 (cg-18 v4.0 7.1.1)", "rounding at load, d_L/√12 (cg-18 v4.0 7.1.1)"
    ),
    "dI_rep": Text(
        "độ lặp lại s (hoặc s/√N với giá trị trung bình của N lần đọc) (cg-18 v4.0 7.1.1)",
        "repeatability s (or s/√N for a mean of N) (cg-18 v4.0 7.1.1)",
    ),
    "dI_ecc": Text(
        "độ lệch tâm |ΔI_ecc|max·I/(2 L_ecc √3) (cg-18 v4.0 7.1.1)",
        "eccentricity |ΔI_ecc|max·I/(2 L_ecc √3) (cg-18 v4.0 7.1.1)",
    ),
    "I0": Text("số chỉ khi không tải", "no-load indication"),
    "dI_dig0": Text(
        "làm tròn số chỉ tại điểm không, d0/√12 (d0/(4√3) với cân đã phê duyệt mẫu) (cg-18 v4.0 7.1.1)",
        "rounding at zero, d0/√12 (d0/(4√3) type-approved) (cg-18 v4.0 7.1.1)",
    ),
    "m_c": Text(
        "khối lượng quy ước của tải thử; u = Σ U_i/k_i hoặc Σ MPE_i/√3 (cg-18 v4.0 7.1.2, cộng tuyến tính)",
        "conventional mass of the test load; u = Σ U_i/k_i or Σ MPE_i/√3 (cg-18 v4.0 7.1.2, summed linearly)",
    ),
    "dm_B": Text(
        "lực đẩy không khí lên quả cân, −m_N(ρ_a − ρ_0)(1/ρ − 1/ρ_c) (cg-18 v4.0 7.1.2; R111-1:2004 10.1)",
        "air buoyancy of the weights, −m_N(ρ_a − ρ_0)(1/ρ − 1/ρ_c) (cg-18 v4.0 7.1.2; R111-1:2004 10.1)",
    ),
    "dm_Ba": Text(
        "mật độ không khí tại lần hiệu chỉnh gần nhất của cân, −m_N·δρ_a/ρ_c (cg-18 v4.0 7.1.2)",
        "air density at the instrument's last adjustment, −m_N·δρ_a/ρ_c (cg-18 v4.0 7.1.2)",
    ),
    "dm_D": Text(
        "độ trôi của quả cân kể từ lần hiệu chuẩn, phân bố chữ nhật (cg-18 v4.0 7.1.2)",
        "drift of the weights since their calibration, rectangular (cg-18 v4.0 7.1.2)",
    ),
    "dm_conv": Text(
        "đối lưu, quả cân chưa cân bằng nhiệt độ với phòng (cg-18 v4.0 7.1.2, Phụ lục F)",
        "convection, weights not at the room's temperature (cg-18 v4.0 7.1.2, Appendix F)",
    ),
}
_INDICATION_NOTE = Text(
    "chính số đọc: độ không đảm bảo đo của nó nằm ở các dòng làm tròn, độ lặp lại và độ lệch tâm",
    "the reading itself: its uncertainty is in the rounding, repeatability and eccentricity rows",
)
_SEP = Text("; ", "; ")


def _pick_s(reps: Sequence[Repeatability], load: float) -> Repeatability:
    """cg-18 v4.0 7.1.1: of repeatability tests at several loads, the greater s of the two enclosing the load."""
    ordered = sorted(reps, key=lambda r: r.load)
    below = [r for r in ordered if r.load <= load]
    above = [r for r in ordered if r.load >= load]
    candidates = ([below[-1]] if below else []) + ([above[0]] if above else [])
    return max(candidates, key=lambda r: r.s)


def errors_of_indication(
    balance: Balance,
    points: Sequence[LoadPoint],
    repeatability: Repeatability | Sequence[Repeatability],
    eccentricity: Eccentricity,
    *,
    air: AirBuoyancy | None = None,
    coverage_factor: float | None = None,
    min_loads: int = 5,
) -> list[PointResult]:
    """Errors of indication E = I_L − I_0 − m_ref (g) with their expanded uncertainty (cg-18 v4.0 6.2, 7.1, 7.3).

    u²(E) = d0²/12 + d_L²/12 + s² (s²/N for a mean of N) + u²(δI_ecc) + u²(δm_c) + u²(δm_B) + u²(δm_Ba) +
    u²(δm_D) + u²(δm_conv): every contribution of cg-18 7.1.1 (indication) and 7.1.2 (reference mass) is a row of
    the budget, a term that is zero saying why. The eccentricity term u(δI_ecc) = |ΔI_ecc|max·I/(2 L_ecc √3)
    enters every error of indication (7.1.1), a single piece included. The reference weights' contributions of a
    load of several pieces are summed linearly (fully correlated, cg-18 7.1.2). ``air`` gives the buoyancy case
    (default: air density not measured, instrument not adjusted before the calibration — the conservative case).
    ν_eff by Welch–Satterthwaite (repeatability has n − 1 degrees of freedom, the type B inputs infinite) and
    k = t_95.45 %(ν_eff) (cg-18 7.3, Appendix E), which is 2.00 when ν_eff is large; ``coverage_factor`` fixes k
    instead (e.g. 2.0). ``min_loads``: cg-18 5.2 asks for at least 5 distinct test loads over the range (lower it
    only for an agreed reduced range).
    """
    if not points:
        raise ValueError("no load points given")
    reps = [repeatability] if isinstance(repeatability, Repeatability) else list(repeatability)
    if not reps:
        raise ValueError("give the repeatability test result (cg-18 5.1) used for u(δI_rep)")
    if not isinstance(eccentricity, Eccentricity):
        raise ValueError("give the eccentricity test result (cg-18 5.3): every error of indication has u(δI_ecc)")
    air = air or AirBuoyancy()
    distinct = {round(p.nominal, 9) for p in points}
    if len(distinct) < min_loads:
        raise ValueError(
            f"the error-of-indication test needs at least {min_loads} distinct test loads (cg-18 v4.0 5.2), got "
            f"{len(distinct)}; add loads up to Max"
        )
    if coverage_factor is not None:
        finite("coverage_factor", coverage_factor, positive=True)
    results: list[PointResult] = []
    for i, p in enumerate(points):
        if p.nominal > balance.max_load * 1.25:
            raise ValueError(f"point {i}: test load {p.nominal:g} g is far beyond Max = {balance.max_load:g} g")
        net = p.indication - p.zero
        rep = _pick_s(reps, p.nominal)
        u_rep = rep.s / math.sqrt(p.n_readings)
        d0 = balance.d0
        u_dig0 = d0 / (4.0 * math.sqrt(3.0)) if balance.type_approved else d0 / math.sqrt(12.0)
        d_l = balance.d_at(net)
        u_ecc = eccentricity.u_relative() * abs(net)
        m_c = math.fsum(w.conventional_mass for w in p.weights)
        u_mc = math.fsum(w.u_correction for w in p.weights)
        terms = [w.buoyancy(air) for w in p.weights]
        b_value = math.fsum(t.value for t in terms)
        b_u = math.fsum(t.u for t in terms)  # linear: one air density for every piece (correlated)
        b_rect = all(t.distribution == "rectangular" for t in terms)
        adjust = adjustment_term(p.nominal, air)
        a_d = math.fsum(w.drift for w in p.weights)
        inputs = {
            "IL": normal(float(p.indication), 0.0),
            "dI_digL": rectangular(0.0, d_l / 2.0),
            "dI_rep": normal(0.0, u_rep, dof=float(rep.n - 1)),
            "dI_ecc": rectangular(0.0, u_ecc * math.sqrt(3.0)),
            "I0": normal(float(p.zero), 0.0),
            "dI_dig0": rectangular(0.0, u_dig0 * math.sqrt(3.0)),
            "m_c": normal(m_c, u_mc),
            "dm_B": rectangular(b_value, b_u * math.sqrt(3.0)) if b_rect else normal(b_value, b_u),
            "dm_Ba": rectangular(0.0, adjust.u * math.sqrt(3.0)),
            "dm_D": rectangular(0.0, a_d),
            "dm_conv": rectangular(0.0, p.convection),
        }
        if coverage_factor is None:
            out = gum(_MODEL, inputs, coverage_probability=CG18_COVERAGE_PROBABILITY, check_linearity=False)["E"]
        else:
            out = gum(_MODEL, inputs, coverage_factor=coverage_factor, check_linearity=False)["E"]
        sources = dict(_SOURCES)
        sources["m_c"] += ": " + _SEP.join(
            w.name_text + " " + num(w.conventional_mass, ".7g") + " g" for w in p.weights
        )
        sources["dm_B"] += _SEP + air.describe() + _SEP + _SEP.join(t.source for t in terms)
        sources["dm_Ba"] += _SEP + adjust.source
        drift_sources = [w.name_text + ": " + w.drift_source for w in p.weights if w.drift_source]
        if drift_sources:
            sources["dm_D"] += ": " + _SEP.join(drift_sources)
        notes = {"IL": _INDICATION_NOTE, "I0": _INDICATION_NOTE}
        if adjust.u == 0.0:
            notes["dm_Ba"] = Text(
                "bằng không: cân được hiệu chỉnh ngay trước khi hiệu chuẩn (cg-18 v4.0 7.1.2)",
                "zero: the instrument was adjusted immediately before the calibration (cg-18 v4.0 7.1.2)",
            )
        if p.convection == 0.0:
            notes["dm_conv"] = Text(
                "bằng không: quả cân đã cân bằng nhiệt độ với phòng (cg-18 v4.0 7.1.2, Phụ lục F); khai báo "
                "convection_relative khi quả cân được mang vào nóng hơn hoặc lạnh hơn",
                "zero: the weights were acclimatised to the room's temperature (cg-18 v4.0 7.1.2, Appendix F); "
                "give convection_relative for weights brought in warmer or colder",
            )
        if a_d == 0.0:
            notes["dm_D"] = Text("bằng không: ", "zero: ") + (
                _SEP.join(drift_sources)
                if drift_sources
                else Text("không có độ trôi nào được khai báo cho quả cân", "no drift given for the weights")
            )
        if u_ecc == 0.0:
            notes["dI_ecc"] = Text(
                "bằng không: phép thử độ lệch tâm không cho thấy chênh lệch giữa các vị trí",
                "zero: the eccentricity test showed no difference between the positions",
            )
        if b_u == 0.0 and b_value == 0.0:
            notes["dm_B"] = Text(
                "bằng không: mật độ không khí là ρ_0 = 1,2 kg/m³, không có độ không đảm bảo đo",
                "zero: the air density is ρ_0 = 1.2 kg/m³ with no uncertainty given",
            )
        if u_rep == 0.0:
            notes["dI_rep"] = Text(
                f"bằng không: {rep.n} số chỉ của phép thử độ lặp lại bằng nhau; phần làm tròn của chúng nằm ở các "
                "dòng δI_digL và δI_dig0",
                f"zero: the {rep.n} indications of the repeatability test were equal; their rounding is in the "
                "δI_digL and δI_dig0 rows",
            )
        budget = Budget.of(out, unit="g", model=_MODEL_TEXT, describe=sources, notes=notes)
        results.append(
            PointResult(
                quantity="error of indication" if p.direction == "up" else "error of indication (decreasing load)",
                point=p.nominal,
                point_unit="g",
                value=out.value,
                unit="g",
                U=out.U,
                k=out.k,
                reference=f"{CG18} 6.2, 7.1, 7.3",
                budget=budget,
                note=f"{'increasing' if p.direction == 'up' else 'decreasing'} load; indication {p.indication:.10g} g",
            )
        )
    return results


# ------------------------------------------------------------------------------ uncertainty in use, min weight


@dataclass(frozen=True)
class UncertaintyLine:
    """A straight line U(m) = U0 + alpha·m (U0 in g, alpha a fraction) not below any calibrated U(E)."""

    U0: float
    alpha: float

    def at(self, load: float) -> float:
        """U (g) at ``load`` g."""
        return self.U0 + self.alpha * finite("load", load, nonneg=True)


def uncertainty_line(results: Sequence[PointResult]) -> UncertaintyLine:
    """Conservative linear approximation of U(E) over the range (cg-18 v4.0 §8: U(W) ≈ U0 + α·W), all in g.

    U0 is U at the smallest test load and α the smallest slope that keeps the line at or above every calibrated
    U: α = max((U_i − U0)/m_i, 0). The line therefore never understates a calibrated uncertainty.
    """
    pts = [(r.point, r.U) for r in results if r.point is not None and r.U is not None]
    if len(pts) < 2:
        raise ValueError("the uncertainty line needs at least 2 results with a load and U")
    pts.sort()
    u1 = pts[0][1]
    alpha = max([0.0] + [(u - u1) / m for m, u in pts[1:] if m > 0])
    return UncertaintyLine(u1, alpha)


def minimum_weight(line: UncertaintyLine, tolerance: float, safety_factor: float = 1.0) -> float:
    """Minimum weight (g): the smallest net load m with SF·U(m)/m <= ``tolerance`` (relative, e.g. 0.001).

    With U(m) = U0 + α·m: m_min = SF·U0 / (tolerance − SF·α) (cg-18 v4.0 Appendix G). Raises when the required
    tolerance is not reachable anywhere (tolerance <= SF·α).
    """
    tol = finite("tolerance", tolerance, positive=True)
    sf = finite("safety_factor", safety_factor, positive=True)
    if sf < 1.0:
        raise ValueError(f"safety_factor must be >= 1, got {safety_factor}")
    if tol <= sf * line.alpha:
        raise ValueError(
            f"a relative tolerance of {tol:g} is never met: the relative uncertainty tends to {sf * line.alpha:g} "
            "at large loads; choose a larger tolerance or a better instrument"
        )
    return sf * line.U0 / (tol - sf * line.alpha)


# ------------------------------------------------------------------------------------------ R76 verification


def r76_mpe(load: float, e: float, accuracy_class: str, *, in_service: bool = False) -> float:
    """|MPE| (g) for a load (g) on an instrument of verification scale interval e (g) and class I–IIII.

    OIML R76-1:2006 3.5.1 Table 6 (initial verification); in service twice these (3.5.2). Limits are inclusive
    (0.5 e up to and including 500 e for class III). The load is converted to e exactly (decimal arithmetic).
    """
    load = finite("load", load, nonneg=True)
    e = finite("e", e, positive=True)
    rows = R76_MPE_INITIAL.rows[_class(accuracy_class)]
    m = Decimal(repr(load)) / Decimal(repr(e))
    for limit, mpe_e in rows:
        if math.isinf(limit) or m <= Decimal(int(limit)):
            return (2.0 if in_service else 1.0) * mpe_e * e
    raise ValueError(
        f"load {load:g} g = {m} e exceeds the range of class {_class(accuracy_class)} in {R76_MPE_INITIAL.edition} "
        f"(m <= {int(rows[-1][0])} e); check the class and e"
    )


def changeover_error(load: float, indication: float, added: float, e: float) -> float:
    """Error before rounding (g) by the changeover-point method, OIML R76-1:2006 A.4.4.3: E = I + ½e − ΔL − L.

    ``added`` ΔL (g) is the small extra load (steps of 0.1 e) that made the indication change from I to I + e.
    """
    load = finite("load", load, nonneg=True)
    indication = finite("indication", indication)
    added = finite("added", added, nonneg=True)
    e = finite("e", e, positive=True)
    if added > e * (1 + _REL):
        raise ValueError(f"the added load ΔL = {added:g} g exceeds e = {e:g} g; the changeover was missed, repeat")
    return indication + 0.5 * e - added - load


@dataclass(frozen=True)
class WeighingPoint:
    """One load (g) of a verification test with its indication (g); ``added`` ΔL (g) for the changeover method."""

    load: float
    indication: float
    added: float | None = None
    direction: str = "up"

    def __post_init__(self) -> None:
        finite("load", self.load, nonneg=True)
        finite("indication", self.indication)
        if self.added is not None:
            finite("added", self.added, nonneg=True)
        if self.direction not in ("up", "down"):
            raise ValueError(f"direction must be 'up' or 'down', got {self.direction!r}")

    def error(self, e: float) -> float:
        """Error (g): changeover method when ``added`` is given, else indication − load."""
        if self.added is None:
            return self.indication - self.load
        return changeover_error(self.load, self.indication, self.added, e)


def _judged(
    quantity: str,
    point: float,
    value: float,
    mpe: float,
    reference: str,
    note: str,
    evidence: dict[str, Any] | None = None,
) -> PointResult:
    ok = abs(value) <= mpe * (1 + _REL)
    return PointResult(
        quantity=quantity,
        point=point,
        point_unit="g",
        value=value,
        unit="g",
        mpe=mpe,
        conformity="pass" if ok else "fail",
        rule=SIMPLE_ACCEPTANCE,
        reference=reference,
        note=note,
        evidence=evidence or {},
    )


def weighing_test(
    points: Sequence[WeighingPoint],
    e: float,
    accuracy_class: str,
    *,
    in_service: bool = False,
    zero: WeighingPoint | None = None,
) -> list[PointResult]:
    """Weighing test (R76-1:2006 A.4.4 with increasing and decreasing loads): each error within the MPE (g).

    With ``zero`` (the changeover reading at or near zero), errors are corrected: E_c = E − E_0 (A.4.4.3).
    """
    if not points:
        raise ValueError("no weighing points given")
    e = finite("e", e, positive=True)
    e0 = 0.0 if zero is None else zero.error(e)
    out = []
    for p in points:
        err = p.error(e) - e0
        mpe = r76_mpe(p.load, e, accuracy_class, in_service=in_service)
        how = "changeover point" if p.added is not None else "indication − load"
        out.append(
            _judged(
                "error of indication",
                p.load,
                err,
                mpe,
                f"{R76} A.4.4, 3.5.{'2' if in_service else '1'} Table 6",
                f"{'increasing' if p.direction == 'up' else 'decreasing'} load; {how}"
                + ("; corrected by E0" if zero is not None else ""),
            )
        )
    return out


_POSITIONS = ("centre", "front left", "back left", "back right", "front right")


def eccentricity_test(
    load: float,
    indications: Sequence[float],
    e: float,
    accuracy_class: str,
    max_load: float,
    *,
    added: Sequence[float] | None = None,
    in_service: bool = False,
    support_points: int | None = None,
) -> list[PointResult]:
    """Eccentricity test (R76-1:2006 3.6.2, A.4.7): the error at each position (centre first) within the MPE (g).

    The load is about Max/3 on a receptor with up to 4 support points, Max/(N − 1) with N > 4 (3.6.2); when
    ``support_points`` is given, a load below 0.9 of that is refused. Always refused above Max. ``added`` holds ΔL
    per position for the changeover method.
    """
    load = finite("load", load, positive=True)
    max_load = finite("max_load", max_load, positive=True)
    if load > max_load * (1 + _REL):
        raise ValueError(f"eccentricity load {load:g} g exceeds Max = {max_load:g} g")
    if support_points is not None:
        if isinstance(support_points, bool) or not isinstance(support_points, int) or support_points < 1:
            raise ValueError(f"support_points must be an integer >= 1, got {support_points!r}")
        expected = max_load / 3.0 if support_points <= 4 else max_load / (support_points - 1)
        if load < 0.9 * expected:
            raise ValueError(
                f"eccentricity load {load:g} g is too small: R76-1 3.6.2 asks about {expected:g} g for "
                f"{support_points} support points"
            )
    if len(indications) < 3:
        raise ValueError("the eccentricity test needs the centre and the off-centre positions (R76-1 A.4.7)")
    if added is not None and len(added) != len(indications):
        raise ValueError(f"give one ΔL per position: {len(indications)} indications, {len(added)} ΔL")
    mpe = r76_mpe(load, e, accuracy_class, in_service=in_service)
    out = []
    for i, ind in enumerate(indications):
        wp = WeighingPoint(load, ind, None if added is None else added[i])
        name = _POSITIONS[i] if len(indications) == 5 else f"position {i + 1}"
        out.append(_judged("eccentricity error", load, wp.error(e), mpe, f"{R76} 3.6.2, A.4.7", name))
    return out


def repeatability_test(
    load: float,
    indications: Sequence[float],
    e: float,
    accuracy_class: str,
    *,
    added: Sequence[float] | None = None,
    in_service: bool = False,
) -> PointResult:
    """Repeatability (R76-1:2006 3.6.1, A.4.10): max − min of the results (g) at one load within |MPE| there."""
    load = finite("load", load, positive=True)
    if len(indications) < 2:
        raise ValueError("the repeatability test needs at least 2 weighings of the same load (R76-1 A.4.10)")
    if added is not None and len(added) != len(indications):
        raise ValueError(f"give one ΔL per weighing: {len(indications)} indications, {len(added)} ΔL")
    results = [
        WeighingPoint(load, x, None if added is None else added[i]).error(e) + load for i, x in enumerate(indications)
    ]
    spread = max(results) - min(results)
    mpe = r76_mpe(load, e, accuracy_class, in_service=in_service)
    return _judged(
        "repeatability (max − min)",
        load,
        spread,
        mpe,
        f"{R76} 3.6.1, A.4.10",
        f"{len(results)} weighings",
    )


def discrimination_test(load: float, initial: float, after: float, d: float) -> PointResult:
    """Discrimination (R76-1:2006 3.8.2.2, A.4.8), digital indication: adding 1.4 d (g) must change the indication.

    Passes when ``after`` − ``initial`` is at least one scale interval d (all in g). The value reported is the
    change in g; the "limit" stated in ``mpe`` is d (the change required).
    """
    load = finite("load", load, nonneg=True)
    change = finite("after", after) - finite("initial", initial)
    d = finite("d", d, positive=True)
    ok = change >= d * (1 - 1e-6)
    return PointResult(
        quantity="discrimination: change of indication for 1.4 d",
        point=load,
        point_unit="g",
        value=change,
        unit="g",
        mpe=d,
        conformity="pass" if ok else "fail",
        rule="the indication must change by at least d when 1.4 d is added (R76-1 3.8.2.2)",
        reference=f"{R76} 3.8.2.2, A.4.8",
    )


#: R76-1:2006 A.4.8.2: the small extra weights of the changeover-point method are 0.1 d each ("e.g. 10 times 0.1 d")
DISCRIMINATION_STEP_D = 0.1
DISCRIMINATION_SMALL_WEIGHTS = 10
#: the extra load of the discrimination test of a digital indication, in d (R76-1:2006 3.8.2.2, A.4.8.2)
DISCRIMINATION_ADD_D = 1.4


def discrimination_changeover_test(
    load: float, initial: float, below: float, back: float, after: float, d: float
) -> PointResult:
    """Discrimination of a digital indication by the changeover-point method, R76-1:2006 3.8.2.2 and A.4.8.2 (g).

    At ``load`` plus small extra weights (ten of 0.1 d) the indication is ``initial`` I. The small weights are taken
    off one by one until the indication falls unambiguously to I − d (``below``); one of them is put back (the
    indication ``back``, normally I again: the load now lies just above a changeover point) and 1.4 d is gently
    added: the indication ``after`` shall be I + d. Passes when after − I is one scale interval d; any other change
    (none, or 2 d) fails. When ``below`` is not I − d the changeover point was not reached and the load cannot be
    judged: the row is ``notAssessed`` (repeat the test at that load).
    """
    load = finite("load", load, nonneg=True)
    initial = finite("initial", initial)
    below = finite("below", below)
    back = finite("back", back)
    after = finite("after", after)
    d = finite("d", d, positive=True)
    tol = d * 1e-6  # indications are multiples of d; float differences only
    change = after - initial
    reached = abs((initial - below) - d) <= tol
    if not reached:
        conformity = "notAssessed"
        note = (
            f"changeover point not reached: after taking off small weights the indication was {below:.10g} g, not "
            f"I − d = {initial - d:.10g} g; repeat the test at this load"
        )
    else:
        conformity = "pass" if abs(change - d) <= tol else "fail"
        note = (
            f"I = {initial:.10g} g; small weights off until {below:.10g} g (I − d); one 0.1 d back: {back:.10g} g; "
            f"+ 1.4 d: {after:.10g} g (I + d = {initial + d:.10g} g required)"
        )
    return PointResult(
        quantity="discrimination: change of indication for 1.4 d",
        point=load,
        point_unit="g",
        value=change,
        unit="g",
        mpe=d,
        conformity=conformity,
        rule=(
            "changeover-point method: from just above a changeover point, adding 1.4 d must give I + d "
            "(R76-1 3.8.2.2, A.4.8.2)"
        ),
        reference=f"{R76} 3.8.2.2, A.4.8.2",
        note=note,
    )


def verdict(results: Sequence[PointResult]) -> str:
    """Overall verification result, the run engine's overall verdict (:func:`acquisition.methods.base.overall`,
    decision 0331): ``fail`` when a judged result is rejected, ``pass`` when every judged result is accepted.
    ValueError when no result is judged."""
    judged = overall(r.conformity for r in results)
    if judged == "notAssessed":
        raise ValueError("no judged results: run the verification tests first")
    return judged
