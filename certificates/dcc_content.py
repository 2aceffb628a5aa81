"""What a certificate must hold, gathered from a reviewed run and checked before any XML is written.

Four kinds (:class:`CertificateKind`, decision 0425), chosen by the run's procedure kind and overall conformity
(:func:`natural_kind`): a calibration certificate (calibration run), a verification certificate (verification run
that passed: with the verification mark number and the validity date), a notice of non-conformity (verification
run that failed: no mark, no validity, the failed tests) and the result of a prepackage lot check (OIML R87 run:
the subject is the lot).

The items are those of ISO/IEC 17025:2017 7.8.2.1 (every report), 7.8.4.1 (calibration certificates), 7.8.3.1
(test reports: the verification and lot kinds) and 7.8.6 (statements of conformity). The 7.8.2.1 letters a)–p)
were checked against a reproduction of the standard's text (ISO/IEC 17025:2017(E) p. 14); the 7.8.4.1, 7.8.3.1
and 7.8.6.2 letters could not be read in the standard's text and are **unverified** (:data:`UNVERIFIED`), which
the certificate's content-check statement says.

:func:`gather` refuses (:class:`DccRefusedError`, every missing item at once, in Vietnamese and English) a run that
is not reviewed, whose kind does not match what was asked, or lacks an item; it never fills a gap with a guess.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from registry.importer.cells import add_months
from registry.models import (
    Authorisation,
    Conformity,
    Customer,
    EnvironmentRecord,
    Laboratory,
    MeasuringInstrument,
    PrepackageLot,
    ProcedureKind,
    Result,
    Run,
    RunState,
    Staff,
    StandardCertificate,
)
from registry.queries import LAB_TZ, CmcMatch, find_staff, laboratory
from registry.runs import result_json, run_cmc, run_results
from registry.units import dsi

#: the 17025:2017 items checked, clause -> (vi, en); the 7.8.4.1 letters are unverified (see the module docstring)
CLAUSES: dict[str, tuple[str, str]] = {
    "7.8.2.1 a": ("tiêu đề", "title"),
    "7.8.2.1 b": ("tên và địa chỉ phòng thí nghiệm", "laboratory name and address"),
    "7.8.2.1 c": ("nơi thực hiện", "location of the laboratory activity"),
    "7.8.2.1 d": ("số hiệu nhận dạng duy nhất", "unique identification"),
    "7.8.2.1 e": ("tên và địa chỉ khách hàng", "customer name and contact"),
    "7.8.2.1 f": ("phương pháp sử dụng", "method used"),
    "7.8.2.1 g": ("nhận dạng đối tượng hiệu chuẩn", "identification of the item"),
    "7.8.2.1 i": ("ngày hiệu chuẩn", "date(s) of calibration"),
    "7.8.2.1 j": ("ngày ban hành", "date of issue"),
    "7.8.2.1 l": ("kết quả chỉ liên quan đến đối tượng được hiệu chuẩn", "results relate only to the item"),
    "7.8.2.1 m": ("kết quả kèm đơn vị đo", "results with units"),
    "7.8.2.1 o": ("người phê duyệt", "person authorising the certificate"),
    "7.8.4.1 a": ("độ không đảm bảo đo", "measurement uncertainty"),
    "7.8.4.1 b": ("điều kiện môi trường", "environmental conditions"),
    "7.8.4.1 c": ("tính liên kết chuẩn (chuẩn đã dùng và giấy chứng nhận)", "traceability (standards used and "
                  "their certificates)"),
    "7.8.4.1 e": ("tuyên bố phù hợp kèm quy tắc quyết định", "conformity statement with its decision rule"),
}  # fmt: skip


class CertificateKind(enum.StrEnum):
    """What a certificate is (decision 0425); the value is written as the DCC's ``caltrace_certificateKind``
    statement ``convention``."""

    CALIBRATION = "calibration"  # giấy chứng nhận hiệu chuẩn
    VERIFICATION = "verification"  # giấy chứng nhận kiểm định (passed)
    NON_CONFORMITY = "nonConformity"  # thông báo kết quả kiểm định không đạt (failed)
    LOT_CHECK = "lotCheck"  # kết quả kiểm tra lượng của lô hàng đóng gói sẵn (OIML R87)


#: the items checked for a verification certificate or notice and a lot check (test reports, 7.8.3.1; statements
#: of conformity, 7.8.6; traceability, 6.5), clause -> (vi, en)
TEST_CLAUSES: dict[str, tuple[str, str]] = {
    **{k: v for k, v in CLAUSES.items() if k.startswith("7.8.2.1")},
    "7.8.3.1 a": ("điều kiện môi trường", "environmental conditions"),
    "7.8.6.2": ("tuyên bố phù hợp: kết quả, yêu cầu (MPE) và quy tắc quyết định", "statement of conformity: the "
                "results, the requirement (MPE) and the decision rule"),
    "6.5": ("tính liên kết chuẩn (chuẩn đã dùng và giấy chứng nhận)", "metrological traceability (standards used "
            "and their certificates)"),
}  # fmt: skip
#: clause letters not checked against the standard's own text
UNVERIFIED: frozenset[str] = frozenset(
    c for c in (*CLAUSES, *TEST_CLAUSES) if c.startswith(("7.8.4.1", "7.8.3.1", "7.8.6"))
)
#: the Vietnamese legal basis of the verification interval (chu kỳ kiểm định) and of the verification mark and
#: certificate; the article numbers were not read in the circulars' text (unverified)
LEGAL_BASIS = (
    "Thông tư 23/2013/TT-BKHCN (sửa đổi bởi 07/2019/TT-BKHCN và 03/2024/TT-BKHCN), danh mục phương tiện đo nhóm 2 "
    "và chu kỳ kiểm định; Thông tư 24/2013/TT-BKHCN"
)


def clauses_for(kind: CertificateKind) -> dict[str, tuple[str, str]]:
    """The 17025 items checked for a certificate of ``kind``."""
    return CLAUSES if kind is CertificateKind.CALIBRATION else TEST_CLAUSES


def valid_until(verified_on: date, interval_months: int) -> date:
    """The last day a verification done on ``verified_on`` is valid: ``verified_on`` plus ``interval_months``
    calendar months (the day clamped to the month's end), **minus one day**.

    The convention for the end day could not be checked against Thông tư 24/2013/TT-BKHCN or its amendments
    (**unverified**); the conservative reading is chosen: the validity never reaches the day the interval ends
    (verified 2026-11-21, 12 months: valid until 2027-11-20 inclusive)."""
    if interval_months <= 0:
        raise ValueError(f"verification interval {interval_months} months: it must be a whole number of months > 0")
    return add_months(verified_on, interval_months) - timedelta(days=1)


#: the edition the clause letters refer to
STANDARD = "ISO/IEC 17025:2017"


@dataclass(frozen=True)
class Missing:
    """One item a certificate cannot be issued without: its clause (or ``"review"``) and what to do, vi and en."""

    clause: str
    vi: str
    en: str


class DccRefusedError(ValueError):
    """The certificate was not built: ``missing`` lists every item that is absent, each in vi and en."""

    exit_code = 2

    def __init__(self, run_id: str, missing: Sequence[Missing]) -> None:
        self.run_id = run_id
        self.missing = tuple(missing)
        lines = [f"- [{m.clause}] {m.vi} / {m.en}" for m in self.missing]
        super().__init__(
            f"không lập được giấy chứng nhận cho lần đo {run_id} / no certificate can be built for run {run_id}:\n"
            + "\n".join(lines)
        )

    def text(self, language: str) -> str:
        """The refusal in one language ("vi" or "en"), one missing item a line."""
        head = (
            f"không lập được giấy chứng nhận cho lần đo {self.run_id}:"
            if language == "vi"
            else f"no certificate can be built for run {self.run_id}:"
        )
        return "\n".join([head] + [f"- [{m.clause}] {m.vi if language == 'vi' else m.en}" for m in self.missing])


@dataclass(frozen=True)
class StandardUsed:
    """A reference standard of the run with the certificate that gives its traceability."""

    code: str
    name: str
    role: str
    manufacturer: str
    model: str
    serial_number: str
    traceability: str
    certificate: StandardCertificate


@dataclass(frozen=True)
class Content:
    """Everything the DCC states, read from the registry and checked (no None where the certificate needs text)."""

    run: Run
    number: str
    issued_on: date
    lab: Laboratory
    customer: Customer
    #: the subject: an instrument (calibration, verification, notice) or a prepackage lot (lot check)
    instrument: MeasuringInstrument | None
    signatory: Staff
    performed: tuple[date, date]
    results: tuple[Result, ...]
    cmc: tuple[CmcMatch | None, ...]
    environment: tuple[EnvironmentRecord, ...]
    standards: tuple[StandardUsed, ...]
    language_codes: tuple[str, ...]
    result_docs: tuple[dict[str, Any], ...] = field(default=())
    kind: CertificateKind = CertificateKind.CALIBRATION
    lot: PrepackageLot | None = None
    #: the verification mark (stamp) number (verification certificate only)
    mark: str = ""
    #: the verification interval (months) and the last day of validity (verification certificate only)
    interval_months: int | None = None
    valid_until: date | None = None
    #: the result rows that failed (notice of non-conformity; a rejected lot's failing rows)
    failed: tuple[Result, ...] = ()
    #: the lot decision row's evidence (lot check): n, lambda, c, T1, T2, mean, s, mean_limit ...
    lot_evidence: dict[str, Any] = field(default_factory=dict)


def _local_day(at: datetime) -> date:
    return at.astimezone(ZoneInfo(LAB_TZ)).date()


def _may_sign(staff: Staff, code: str, on: date) -> Authorisation | None:
    for a in staff.authorisations:
        if (
            a.procedure_code == code
            and a.can_sign
            and a.valid_from <= on
            and (a.valid_until is None or on <= a.valid_until)
        ):
            return a
    return None


def _m(clause: str, vi: str, en: str) -> Missing:
    return Missing(clause, vi, en)


def is_informational(r: Result) -> bool:
    """A row stated without an uncertainty: no U and no budget (cg-18's repeatability s and eccentricity
    |ΔI_ecc|max, reported as test results). A row with a budget but no U is an error, never informational."""
    return r.expanded_uncertainty is None and not r.budget


def natural_kind(run: Run) -> CertificateKind | None:
    """The certificate a reviewed run gives: its procedure's kind and, for a verification, the overall verdict
    (pass: a verification certificate; fail: a notice of non-conformity); a test of a prepackage lot gives a lot
    check. None when no kind fits (a verification with a conditional or no verdict, a test without a lot)."""
    kind = run.procedure.kind
    if kind is ProcedureKind.CALIBRATION:
        return CertificateKind.CALIBRATION
    if kind is ProcedureKind.VERIFICATION:
        return {Conformity.PASS: CertificateKind.VERIFICATION, Conformity.FAIL: CertificateKind.NON_CONFORMITY}.get(
            run.overall
        )
    if kind is ProcedureKind.TEST and run.lot_id is not None:
        return CertificateKind.LOT_CHECK
    return None


_KIND_WORDS = {
    CertificateKind.CALIBRATION: ("giấy chứng nhận hiệu chuẩn", "a calibration certificate"),
    CertificateKind.VERIFICATION: ("giấy chứng nhận kiểm định", "a verification certificate"),
    CertificateKind.NON_CONFORMITY: ("thông báo kết quả kiểm định không đạt", "a notice of non-conformity"),
    CertificateKind.LOT_CHECK: ("kết quả kiểm tra lô hàng đóng gói sẵn", "a prepackage lot check result"),
}


def _check_kind(run: Run, asked: str | None, missing: list[Missing]) -> CertificateKind | None:
    """The kind to write: ``asked`` (a :class:`CertificateKind` value) if it is the run's, else the run's own;
    every mismatch is a listed refusal."""
    natural = natural_kind(run)
    code = run.procedure.code
    if asked is not None:
        try:
            wanted = CertificateKind(asked)
        except ValueError:
            names = ", ".join(k.value for k in CertificateKind)
            missing.append(_m("kind", f"loại giấy chứng nhận {asked!r} không có; dùng một trong: {names}",
                              f"no certificate kind {asked!r}; use one of: {names}"))  # fmt: skip
            return natural
        if wanted is not natural:
            vi_w, en_w = _KIND_WORDS[wanted]
            if wanted is CertificateKind.VERIFICATION and natural is CertificateKind.NON_CONFORMITY:
                vi = f"lần kiểm định không đạt: không cấp {vi_w}, hãy lập thông báo kết quả kiểm định không đạt"
                en = "the verification failed: no verification certificate; issue a notice of non-conformity"
            elif wanted is CertificateKind.NON_CONFORMITY and natural is CertificateKind.VERIFICATION:
                vi = f"lần kiểm định đạt: không lập {vi_w}, hãy cấp giấy chứng nhận kiểm định"
                en = "the verification passed: no notice of non-conformity; issue a verification certificate"
            else:
                vi = f"lần đo theo quy trình {code} ({run.procedure.kind.value}) không cho {vi_w}"
                en = f"a run of procedure {code} ({run.procedure.kind.value}) does not give {en_w}"
            missing.append(_m("kind", vi, en))
            return natural
    if natural is None:
        if run.procedure.kind is ProcedureKind.VERIFICATION:
            missing.append(_m("7.8.6.2", f"kết luận chung của lần kiểm định là {run.overall.value}: giấy chứng nhận "
                              "kiểm định cần đạt, thông báo cần không đạt",
                              f"the verification's overall conformity is {run.overall.value}: a verification "
                              "certificate needs pass, a notice fail"))  # fmt: skip
        else:
            pk = run.procedure.kind.value
            missing.append(_m("kind", f"quy trình {code} ({pk}) không có loại giấy chứng nhận nào",
                              f"procedure {code} ({pk}) has no certificate kind"))  # fmt: skip
    return natural


def _check_results(results: Sequence[Result], kind: CertificateKind | None, missing: list[Missing]) -> None:
    calibration = kind is CertificateKind.CALIBRATION or kind is None
    rule_clause = "7.8.4.1 e" if calibration else "7.8.6.2"
    if not results:
        missing.append(_m("7.8.2.1 m", "lần đo không có kết quả nào", "the run has no results"))
    for r in results:
        try:
            if r.unit.strip() not in ("1", ""):  # dimensionless: D-SI \one (certificates.dcc.dsi_unit)
                dsi(r.unit)
        except ValueError as exc:
            missing.append(_m("7.8.2.1 m", f"kết quả {r.seq}: đơn vị {r.unit!r} không có dạng D-SI ({exc})",
                              f"result {r.seq}: unit {r.unit!r} has no D-SI form ({exc})"))  # fmt: skip
        if r.point is not None and r.point_unit:
            try:
                dsi(r.point_unit)
            except ValueError:
                missing.append(_m("7.8.2.1 m", f"kết quả {r.seq}: đơn vị điểm đo {r.point_unit!r} không có dạng D-SI",
                                  f"result {r.seq}: point unit {r.point_unit!r} has no D-SI form"))  # fmt: skip
        if not is_informational(r) and (
            r.expanded_uncertainty is None or r.expanded_uncertainty <= 0 or not r.coverage_factor
        ):
            vi = f"kết quả {r.seq} ({r.quantity}) có ngân sách nhưng không có U và k"
            en = f"result {r.seq} ({r.quantity}) has a budget but no expanded uncertainty U with k"
            missing.append(_m("7.8.4.1 a", vi, en))
        if r.conformity is not Conformity.NOT_ASSESSED and not r.decision_rule.strip():
            missing.append(_m(rule_clause, f"kết quả {r.seq}: có tuyên bố phù hợp nhưng không nêu quy tắc quyết định",
                              f"result {r.seq}: a conformity statement without its decision rule"))  # fmt: skip
        if kind in (CertificateKind.VERIFICATION, CertificateKind.NON_CONFORMITY) and (
            r.conformity is not Conformity.NOT_ASSESSED and r.mpe is None
        ):
            missing.append(_m("7.8.6.2", f"kết quả {r.seq} ({r.quantity}): có tuyên bố phù hợp nhưng không có MPE",
                              f"result {r.seq} ({r.quantity}): a conformity statement without its MPE"))  # fmt: skip
    if calibration and results and all(is_informational(r) for r in results):
        missing.append(_m("7.8.4.1 a", "không kết quả nào có độ không đảm bảo đo",
                          "no result states a measurement uncertainty"))  # fmt: skip


#: what the lot decision row's evidence must hold for a lot check (prepackage-r87's evaluate)
LOT_EVIDENCE = ("n", "lambda", "c", "T1", "T2", "mean", "s", "mean_limit", "T1_defectives", "T2_defectives")


def _check_lot(lot: PrepackageLot | None, results: Sequence[Result], missing: list[Missing]) -> dict[str, Any]:
    """The lot's identity (7.8.2.1 g) and packer (7.8.2.1 e), and the lot decision row with its evidence."""
    if lot is None:
        missing.append(_m("7.8.2.1 g", "lần kiểm tra không gắn với lô hàng nào", "the run names no lot"))
        return {}
    if not lot.lot_number.strip() or not lot.product.strip():
        missing.append(_m("7.8.2.1 g", "lô hàng thiếu số lô hoặc tên sản phẩm", "the lot lacks its number or product"))
    if lot.lot_size <= 0 or lot.nominal_quantity <= 0:
        missing.append(_m("7.8.2.1 g", f"lô {lot.lot_number}: cỡ lô và lượng danh định phải lớn hơn 0",
                          f"lot {lot.lot_number}: lot size and nominal quantity must be > 0"))  # fmt: skip
    packer = lot.packer
    if packer is None or not packer.name.strip() or not packer.address.strip():
        who = packer.name if packer is not None else ""
        missing.append(_m("7.8.2.1 e", f"lô {lot.lot_number}: cơ sở đóng gói {who!r} thiếu tên hoặc địa chỉ",
                          f"lot {lot.lot_number}: the packer {who!r} lacks a name or an address"))  # fmt: skip
    decisions = [r for r in results if r.quantity == "lot decision"]
    evidence = decisions[0].evidence if len(decisions) == 1 else {}
    lacking = [k for k in LOT_EVIDENCE if k not in evidence]
    if len(decisions) != 1 or lacking:
        missing.append(_m("7.8.6.2", "thiếu dòng kết luận lô (cỡ mẫu, λ, c, T1, T2, giá trị trung bình) "
                          + ", ".join(lacking), "no lot decision row with the sample size, λ, c, T1, T2 and mean "
                          + ", ".join(lacking)))  # fmt: skip
        return {}
    return dict(evidence)


def gather(
    s: Session,
    run_id: str,
    *,
    number: str,
    issued_on: date,
    signatory: str | None = None,
    language_codes: Sequence[str] = ("vi", "en"),
    mark: str | None = None,
    kind: str | None = None,
) -> Content:
    """The content of certificate ``number`` for run ``run_id``, checked; :class:`DccRefusedError` listing every
    missing item otherwise. ``signatory`` (a username) defaults to the run's reviewer; either must be authorised to
    sign the procedure on ``issued_on`` and must not be the run's technician.

    The kind is the run's (:func:`natural_kind`); ``kind`` (a :class:`CertificateKind` value) asks for one and is
    refused when the run gives another (a failed verification asked for a certificate, a passed one for a notice).
    ``mark`` is the verification mark (stamp) number the signatory enters: required for a verification
    certificate, refused on every other kind."""
    run = s.get(Run, run_id)
    if run is None:
        raise DccRefusedError(run_id, [_m("run", "không có lần đo này", "no such run")])
    missing: list[Missing] = []
    langs = tuple(language_codes)
    if not langs or any(code not in ("vi", "en") for code in langs) or len(set(langs)) != len(langs):
        missing.append(_m("language", f"ngôn ngữ {langs!r}: chỉ dùng vi và en", f"languages {langs!r}: use vi and en"))
    if run.state is not RunState.REVIEWED:
        missing.append(_m("review", f"lần đo đang ở trạng thái {run.state.value}, chưa được soát xét",
                          f"the run is {run.state.value}, not reviewed: review it first"))  # fmt: skip
    chosen = _check_kind(run, kind, missing)
    calibration = chosen is CertificateKind.CALIBRATION
    mark_text = (mark or "").strip()
    if chosen is CertificateKind.VERIFICATION and not mark_text:
        missing.append(_m("mark", "thiếu số tem kiểm định (mark=): người ký nhập số tem đã dán lên phương tiện đo",
                          "no verification mark (stamp) number: give mark=, the number of the stamp put on the "
                          "instrument"))  # fmt: skip
    elif mark_text and chosen is not CertificateKind.VERIFICATION:
        what = _KIND_WORDS[chosen][0] if chosen else "giấy chứng nhận này"
        what_en = _KIND_WORDS[chosen][1] if chosen else "this certificate"
        missing.append(_m("mark", f"{what} không mang tem kiểm định: bỏ mark={mark_text!r}",
                          f"{what_en} carries no verification mark: leave out mark={mark_text!r}"))  # fmt: skip
    elif len(mark_text) > 60 or any(not ch.isprintable() for ch in mark_text):
        missing.append(_m("mark", f"số tem {mark_text!r}: tối đa 60 ký tự in được",
                          f"mark {mark_text!r}: at most 60 printable characters"))  # fmt: skip
    lab = laboratory(s)
    if lab is None or not lab.name.strip():
        missing.append(_m("7.8.2.1 b", "chưa có tên phòng thí nghiệm trong sổ đăng ký",
                          "the registry has no laboratory name"))  # fmt: skip
    if lab is None or not lab.address.strip():
        missing.append(_m("7.8.2.1 b", "chưa có địa chỉ phòng thí nghiệm (registry import laboratory)",
                          "the laboratory has no address (registry import laboratory)"))  # fmt: skip
    if not number.strip():
        missing.append(_m("7.8.2.1 d", "thiếu số giấy chứng nhận", "no certificate number"))
    results = run_results(s, run_id)
    instrument = run.instrument
    lot = run.lot if chosen is CertificateKind.LOT_CHECK else None
    lot_evidence: dict[str, Any] = {}
    if chosen is CertificateKind.LOT_CHECK:
        lot_evidence = _check_lot(lot, results, missing)
    elif instrument is None:
        missing.append(_m("7.8.2.1 g", "lần đo không gắn với phương tiện đo nào", "the run names no instrument"))
    else:
        if not instrument.serial_number.strip() or not instrument.kind.strip():
            missing.append(_m("7.8.2.1 g", "phương tiện đo thiếu loại hoặc số sản xuất",
                              "the instrument lacks its kind or serial number"))  # fmt: skip
        owner = instrument.owner
        if not owner.name.strip() or not owner.address.strip():
            missing.append(_m("7.8.2.1 e", f"khách hàng {owner.name!r} thiếu tên hoặc địa chỉ",
                              f"customer {owner.name!r} lacks a name or an address"))  # fmt: skip
    proc = run.procedure
    if not (proc.code.strip() and proc.version.strip() and proc.method_reference.strip()):
        missing.append(_m("7.8.2.1 f", "quy trình thiếu mã, phiên bản hoặc tài liệu viện dẫn",
                          "the procedure lacks its code, version or reference document"))  # fmt: skip
    if run.started_at is None or run.finished_at is None:
        missing.append(_m("7.8.2.1 i", "lần đo không có thời điểm bắt đầu và kết thúc",
                          "the run has no start and end time"))  # fmt: skip
    elif issued_on < _local_day(run.finished_at):
        missing.append(_m("7.8.2.1 j", f"ngày ban hành {issued_on} trước ngày thực hiện",
                          f"issue date {issued_on} is before the calibration or verification"))  # fmt: skip
    _check_results(results, chosen, missing)
    failed = tuple(r for r in results if r.conformity in (Conformity.FAIL, Conformity.CONDITIONAL_FAIL))
    if chosen is CertificateKind.NON_CONFORMITY and not failed:
        missing.append(_m("7.8.6.2", "kết luận chung không đạt nhưng không kết quả nào không đạt",
                          "the overall verdict is fail but no result row fails"))  # fmt: skip
    env_clause = "7.8.4.1 b" if calibration else "7.8.3.1 a"
    environment = tuple(sorted(run.environment, key=lambda e: (e.quantity, e.at)))
    if not environment and chosen is not CertificateKind.LOT_CHECK:  # R87 by mass records none (docs)
        missing.append(_m(env_clause, "lần đo không ghi điều kiện môi trường", "the run recorded no environment"))
    for e in environment:
        try:
            dsi(e.unit)
        except ValueError:
            missing.append(_m(env_clause, f"đơn vị môi trường {e.unit!r} không có dạng D-SI",
                              f"environment unit {e.unit!r} has no D-SI form"))  # fmt: skip
    trace_clause = "7.8.4.1 c" if calibration else "6.5"
    standards: list[StandardUsed] = []
    if not run.standards:
        missing.append(_m(trace_clause, "lần đo không ghi chuẩn đã dùng", "the run names no standards"))
    for rs in run.standards:
        cert = s.get(StandardCertificate, rs.certificate_id) if rs.certificate_id is not None else None
        if cert is None or not cert.number.strip():
            missing.append(_m(trace_clause, f"chuẩn {rs.standard.code} không có số giấy chứng nhận hiệu chuẩn",
                              f"standard {rs.standard.code} has no calibration certificate number"))  # fmt: skip
            continue
        st = rs.standard
        standards.append(
            StandardUsed(st.code, st.name, rs.role, st.manufacturer, st.model, st.serial_number, st.traceability, cert)
        )
    signer = _signatory(s, run, signatory, issued_on, missing)
    interval: int | None = None
    until: date | None = None
    if chosen is CertificateKind.VERIFICATION and instrument is not None and run.finished_at is not None:
        interval = instrument.interval_months
        if interval is None or interval <= 0:
            missing.append(_m("interval", f"phương tiện đo {instrument.serial_number} không có chu kỳ kiểm định",
                              f"instrument {instrument.serial_number} has no verification interval"))  # fmt: skip
        else:
            until = valid_until(_local_day(run.finished_at), interval)
    if missing:
        raise DccRefusedError(run_id, missing)
    assert lab is not None and signer is not None and chosen is not None
    assert run.started_at is not None and run.finished_at is not None
    customer = lot.packer if lot is not None else instrument.owner if instrument is not None else None
    assert customer is not None
    docs = tuple(result_json(r) for r in results)
    return Content(
        run=run,
        number=number.strip(),
        issued_on=issued_on,
        lab=lab,
        customer=customer,
        instrument=None if lot is not None else instrument,
        signatory=signer,
        performed=(_local_day(run.started_at), _local_day(run.finished_at)),
        results=tuple(results),
        cmc=tuple(run_cmc(s, run_id, docs)),
        environment=environment,
        standards=tuple(standards),
        language_codes=langs,
        result_docs=docs,
        kind=chosen,
        lot=lot,
        mark=mark_text if chosen is CertificateKind.VERIFICATION else "",
        interval_months=interval,
        valid_until=until,
        failed=failed,
        lot_evidence=lot_evidence,
    )


def _signatory(s: Session, run: Run, username: str | None, on: date, missing: list[Missing]) -> Staff | None:
    """The person authorising the certificate (7.8.2.1 o): ``username`` or the run's reviewer, checked."""
    staff = find_staff(s, username) if username else run.reviewer
    who = username or (run.reviewer.username if run.reviewer is not None else "")
    if staff is None:
        missing.append(_m("7.8.2.1 o", f"không có người ký {who!r} (cho --signatory hoặc soát xét lần đo)",
                          f"no signatory {who!r} (give one, or review the run)"))  # fmt: skip
        return None
    if not staff.active or _may_sign(staff, run.procedure.code, on) is None:
        missing.append(_m("7.8.2.1 o", f"{staff.username} không được ủy quyền ký {run.procedure.code} ngày {on}",
                          f"{staff.username} is not authorised to sign {run.procedure.code} on {on}"))  # fmt: skip
    if staff.id == run.technician_id:
        missing.append(_m("7.8.2.1 o", f"{staff.username} đã thực hiện lần đo, không được tự ký",
                          f"{staff.username} performed the run and may not sign it"))  # fmt: skip
    return staff
