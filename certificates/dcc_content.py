"""What a calibration certificate must hold, gathered from a reviewed run and checked before any XML is written.

The items are those of ISO/IEC 17025:2017 7.8.2.1 (every report) and 7.8.4.1 (calibration certificates). The
7.8.2.1 letters a)–p) were checked against a reproduction of the standard's text (ISO/IEC 17025:2017(E) p. 14);
the 7.8.4.1 letters could not be read in the standard's text and are **unverified** (:data:`UNVERIFIED`), which
the certificate's content-check statement says.

:func:`gather` refuses (:class:`DccRefusedError`, every missing item at once, in Vietnamese and English) a run that
is not reviewed, is not a calibration, or lacks an item; it never fills a gap with a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from registry.models import (
    Authorisation,
    Conformity,
    Customer,
    EnvironmentRecord,
    Laboratory,
    MeasuringInstrument,
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
#: clause letters not checked against the standard's own text
UNVERIFIED: frozenset[str] = frozenset(c for c in CLAUSES if c.startswith("7.8.4.1"))
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
    instrument: MeasuringInstrument
    signatory: Staff
    performed: tuple[date, date]
    results: tuple[Result, ...]
    cmc: tuple[CmcMatch | None, ...]
    environment: tuple[EnvironmentRecord, ...]
    standards: tuple[StandardUsed, ...]
    language_codes: tuple[str, ...]
    result_docs: tuple[dict[str, Any], ...] = field(default=())


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


def _check_results(results: Sequence[Result], missing: list[Missing]) -> None:
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
            missing.append(_m("7.8.4.1 e", f"kết quả {r.seq}: có tuyên bố phù hợp nhưng không nêu quy tắc quyết định",
                              f"result {r.seq}: a conformity statement without its decision rule"))  # fmt: skip
    if results and all(is_informational(r) for r in results):
        missing.append(_m("7.8.4.1 a", "không kết quả nào có độ không đảm bảo đo",
                          "no result states a measurement uncertainty"))  # fmt: skip


def gather(
    s: Session,
    run_id: str,
    *,
    number: str,
    issued_on: date,
    signatory: str | None = None,
    language_codes: Sequence[str] = ("vi", "en"),
) -> Content:
    """The content of the calibration certificate ``number`` for run ``run_id``, checked; :class:`DccRefusedError`
    listing every missing item otherwise. ``signatory`` (a username) defaults to the run's reviewer; either must be
    authorised to sign the procedure on ``issued_on`` and must not be the run's technician."""
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
    if run.procedure.kind is not ProcedureKind.CALIBRATION:
        missing.append(_m("7.8.2.1 a", f"quy trình {run.procedure.code} không phải hiệu chuẩn (chỉ lập giấy chứng "
                          "nhận hiệu chuẩn)", f"procedure {run.procedure.code} is not a calibration (only calibration "
                          "certificates are built so far)"))  # fmt: skip
    lab = laboratory(s)
    if lab is None or not lab.name.strip():
        missing.append(_m("7.8.2.1 b", "chưa có tên phòng thí nghiệm trong sổ đăng ký",
                          "the registry has no laboratory name"))  # fmt: skip
    if lab is None or not lab.address.strip():
        missing.append(_m("7.8.2.1 b", "chưa có địa chỉ phòng thí nghiệm (registry import laboratory)",
                          "the laboratory has no address (registry import laboratory)"))  # fmt: skip
    if not number.strip():
        missing.append(_m("7.8.2.1 d", "thiếu số giấy chứng nhận", "no certificate number"))
    instrument = run.instrument
    if instrument is None:
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
        missing.append(_m("7.8.2.1 j", f"ngày ban hành {issued_on} trước ngày hiệu chuẩn",
                          f"issue date {issued_on} is before the calibration"))  # fmt: skip
    results = run_results(s, run_id)
    _check_results(results, missing)
    environment = tuple(sorted(run.environment, key=lambda e: (e.quantity, e.at)))
    if not environment:
        missing.append(_m("7.8.4.1 b", "lần đo không ghi điều kiện môi trường", "the run recorded no environment"))
    for e in environment:
        try:
            dsi(e.unit)
        except ValueError:
            missing.append(_m("7.8.4.1 b", f"đơn vị môi trường {e.unit!r} không có dạng D-SI",
                              f"environment unit {e.unit!r} has no D-SI form"))  # fmt: skip
    standards: list[StandardUsed] = []
    if not run.standards:
        missing.append(_m("7.8.4.1 c", "lần đo không ghi chuẩn đã dùng", "the run names no standards"))
    for rs in run.standards:
        cert = s.get(StandardCertificate, rs.certificate_id) if rs.certificate_id is not None else None
        if cert is None or not cert.number.strip():
            missing.append(_m("7.8.4.1 c", f"chuẩn {rs.standard.code} không có số giấy chứng nhận hiệu chuẩn",
                              f"standard {rs.standard.code} has no calibration certificate number"))  # fmt: skip
            continue
        st = rs.standard
        standards.append(
            StandardUsed(st.code, st.name, rs.role, st.manufacturer, st.model, st.serial_number, st.traceability, cert)
        )
    signer = _signatory(s, run, signatory, issued_on, missing)
    if missing:
        raise DccRefusedError(run_id, missing)
    assert lab is not None and instrument is not None and signer is not None
    assert run.started_at is not None and run.finished_at is not None
    docs = tuple(result_json(r) for r in results)
    return Content(
        run=run,
        number=number.strip(),
        issued_on=issued_on,
        lab=lab,
        customer=instrument.owner,
        instrument=instrument,
        signatory=signer,
        performed=(_local_day(run.started_at), _local_day(run.finished_at)),
        results=tuple(results),
        cmc=tuple(run_cmc(s, run_id, docs)),
        environment=environment,
        standards=tuple(standards),
        language_codes=langs,
        result_docs=docs,
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
