"""What a centre still lacks before it can run each procedure (``caltrace registry check``), in plain words.

For each procedure, on ``today`` (the lab's calendar day), the registry must hold:

- the laboratory;
- an active member of staff authorised to perform it (for a verification, with a verification officer card in
  force: ``registry.runs.may_perform``);
- an active reviewer authorised for it who is not the only technician (a technician may not review their own run,
  ``registry.runs.may_review``), and an active signatory;
- for each role the procedure fills with a reference standard (``RoleSpec.standard_kinds``), an active standard of
  an accepted kind whose certificate is in force and not expired (``registry.runs.usable_standard``);
- for a calibration, a line of the CMC table in the procedure's metrology field (ILAC P14:09/2020 does not let a
  certificate state an uncertainty smaller than the CMC, so a calibration outside the CMC table cannot be reported;
  clause number not checked against the edition's text: unverified); for a given
  instrument, lines whose ranges together hold the instrument's whole range.

Each gap is a :class:`~registry.importer.messages.Message` of :data:`GAPS`, in Vietnamese (default) or English.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from acquisition.procedures import get_procedure, procedure_ids
from acquisition.procedures.base import ProcedureDefinition
from acquisition.wording import role_words
from registry.importer.messages import Language, Message, Span, message_from
from registry.models import Authorisation, CmcEntry, MeasuringInstrument, MetrologyField, ReferenceStandard, Staff
from registry.queries import cmc_lines, cmc_span, current_certificate, laboratory

#: code -> (Vietnamese, English) text of each kind of gap, with named fields (str.format)
GAPS: dict[str, tuple[str, str]] = {
    "no_laboratory": (
        "chưa có phòng thí nghiệm trong cơ sở dữ liệu (`caltrace registry import laboratory FILE`)",
        "no laboratory registered (`caltrace registry import laboratory FILE`)",
    ),
    "no_technician": (
        "hôm nay không có kỹ thuật viên nào được giao thực hiện quy trình này",
        "no technician authorised to perform it today",
    ),
    "no_officer": (
        "hôm nay không có kỹ thuật viên nào được giao thực hiện quy trình này mà có thẻ kiểm định viên còn hiệu lực",
        "no technician authorised to perform it with a verification officer card in force today",
    ),
    "no_reviewer": (
        "không có người soát xét nào được giao cho quy trình này",
        "no reviewer authorised for it",
    ),
    "reviewer_is_technician": (
        "người soát xét duy nhất ({username}) cũng là kỹ thuật viên duy nhất: người thực hiện lần chạy không được "
        "tự soát xét lần chạy đó",
        "the only reviewer ({username}) is also the only technician: a run cannot be reviewed by the person who "
        "performed it",
    ),
    "no_signatory": (
        "không có người nào được giao ký giấy chứng nhận của quy trình này",
        "no signatory authorised to sign its certificates",
    ),
    "no_standard": (
        "không có chuẩn đo lường loại {kinds} cho vai trò {role} ({description})",
        "no reference standard of kind {kinds} for the role {role} ({description})",
    ),
    "no_usable_standard": (
        "không có chuẩn dùng được cho vai trò {role}: {problems}",
        "no usable standard for the role {role}: {problems}",
    ),
    "standard_no_certificate": (
        "{code} không có giấy chứng nhận hiệu chuẩn",
        "{code} has no calibration certificate",
    ),
    "standard_expired": (
        "giấy chứng nhận {number} của {code} đã hết hiệu lực ngày {due}",
        "{code}'s certificate {number} expired on {due}",
    ),
    "no_cmc": (
        "không có dòng CMC nào cho lĩnh vực {field}: không kiểm tra được độ không đảm bảo đo của phép hiệu chuẩn",
        "no CMC line for the field {field}: the calibration's uncertainty cannot be checked",
    ),
    "instrument_no_range": (
        "phương tiện đo {serial} chưa có phạm vi đo trong cơ sở dữ liệu: không đối chiếu được với dòng CMC nào",
        "instrument {serial} has no range registered: no CMC line can be matched to it",
    ),
    "range_not_covered": (
        "bảng CMC không phủ hết phạm vi đo {range} của phương tiện đo {serial} (các dòng CMC của lĩnh vực này: {held})",
        "the CMC table does not cover the range {range} of instrument {serial} (its lines in the field: {held})",
    ),
    # the metrology fields (registry.vocabulary.MetrologyField values), arguments of no_cmc
    "field.mass": ("khối lượng", "mass"),
    "field.volume-flow": ("dung tích – lưu lượng", "volume-flow"),
    "field.electrical": ("điện", "electrical"),
    "field.temperature": ("nhiệt độ", "temperature"),
    "field.pressure": ("áp suất", "pressure"),
    "field.length": ("độ dài", "length"),
    "field.other": ("khác", "other"),
}


def gap(code: str, /, **args: object) -> Message:
    """The gap ``code`` of :data:`GAPS` with ``args``."""
    return message_from(GAPS, code, **args)


@dataclass(frozen=True)
class Readiness:
    """One procedure's gaps (empty: the centre can run it)."""

    procedure: str
    title: str
    missing: tuple[Message, ...]

    @property
    def ready(self) -> bool:
        return not self.missing

    def gaps(self, language: Language = "vi") -> list[str]:
        """The gaps in ``language``."""
        return [m.text(language) for m in self.missing]


def _valid(auth: Authorisation, today: date) -> bool:
    return auth.valid_from <= today and (auth.valid_until is None or auth.valid_until >= today)


def _people(s: Session, code: str, today: date) -> list[tuple[Staff, Authorisation]]:
    query = (
        select(Staff, Authorisation)
        .join(Authorisation, Authorisation.staff_id == Staff.id)
        .where(Authorisation.procedure_code == code, Staff.active.is_(True))
        .order_by(Staff.username)
    )
    return [(staff, auth) for staff, auth in s.execute(query) if _valid(auth, today)]


def _staff_gaps(s: Session, definition: ProcedureDefinition, today: date) -> list[Message]:
    code = definition.code
    people = _people(s, code, today)
    performers = [st for st, a in people if a.can_perform]
    if definition.kind == "verification":
        performers = [
            st
            for st in performers
            if st.officer_card and (st.officer_card_expires is None or st.officer_card_expires >= today)
        ]
    gaps = []
    if not performers:
        gaps.append(gap("no_officer" if definition.kind == "verification" else "no_technician"))
    reviewers = [st for st, a in people if a.can_review]
    if not reviewers:
        gaps.append(gap("no_reviewer"))
    elif (
        performers
        and {r.id for r in reviewers} <= {p.id for p in performers}
        and len(reviewers) == 1 == len(performers)
    ):
        gaps.append(gap("reviewer_is_technician", username=reviewers[0].username))
    if not any(a.can_sign for _, a in people):
        gaps.append(gap("no_signatory"))
    return gaps


def _standard_gaps(s: Session, definition: ProcedureDefinition, today: date) -> list[Message]:
    gaps = []
    for role in definition.roles:
        if not role.standard_kinds:
            continue
        kinds = " / ".join(repr(k) for k in role.standard_kinds)
        found = list(
            s.scalars(
                select(ReferenceStandard)
                .where(ReferenceStandard.kind.in_(role.standard_kinds), ReferenceStandard.active.is_(True))
                .order_by(ReferenceStandard.code)
            )
        )
        if not found:
            description = message_from(
                {"role": (role_words(role.description, "vi"), role.description)}, "role"
            )  # the role's description in the reader's language
            gaps.append(gap("no_standard", kinds=kinds, role=role.role, description=description))
            continue
        problems = []
        for std in found:
            cert = current_certificate(s, std.id, today)
            if cert is None:
                problems.append(gap("standard_no_certificate", code=std.code))
            elif cert.due_on < today:
                problems.append(gap("standard_expired", code=std.code, number=cert.number, due=cert.due_on))
            else:
                break
        else:
            gaps.append(gap("no_usable_standard", role=role.role, problems=tuple(problems)))
    return gaps


def _covered(lines: list[CmcEntry], instrument: MeasuringInstrument) -> bool:
    """True when the CMC lines' ranges together hold the instrument's whole range (each line converted to the
    instrument's unit, :func:`registry.queries.cmc_span`; lines in another dimension are skipped): the calibration
    points may fall anywhere in it."""
    low = instrument.range_min if instrument.range_min is not None else 0.0
    high = instrument.range_max
    assert high is not None
    spans = [span for line in lines if (span := cmc_span(line, instrument.range_unit)) is not None]
    slack = 1e-9 * max(abs(high), abs(low), 1e-300)  # ends written alike in other units (0.22 kg = 220 g)
    reached = low
    for start, stop in sorted(spans):
        if start - slack > reached:
            break
        reached = max(reached, stop)
    return reached + slack >= high and any(start - slack <= low for start, _ in spans)


def _cmc_gaps(
    s: Session, definition: ProcedureDefinition, lab_id: int | None, instrument: MeasuringInstrument | None
) -> list[Message]:
    if definition.kind != "calibration" or lab_id is None:
        return []
    lines = cmc_lines(s, MetrologyField(definition.field))  # the lines in force (a withdrawn one does not count)
    if not lines:
        field = gap(f"field.{definition.field}") if f"field.{definition.field}" in GAPS else definition.field
        return [gap("no_cmc", field=field)]
    if instrument is None:
        return []
    if instrument.range_max is None or not instrument.range_unit:
        return [gap("instrument_no_range", serial=instrument.serial_number)]
    if not _covered(lines, instrument):
        low = instrument.range_min if instrument.range_min is not None else 0.0
        held = tuple(Span(x.range_min, x.range_max, x.range_unit) for x in lines)
        covered = Span(low, instrument.range_max, instrument.range_unit)
        return [gap("range_not_covered", range=covered, serial=instrument.serial_number, held=held)]
    return []


def readiness(
    s: Session, today: date, codes: list[str] | None = None, instrument: MeasuringInstrument | None = None
) -> list[Readiness]:
    """Per procedure (``codes``, default all), what the registry lacks on ``today`` before it can be run; with
    ``instrument``, also whether the CMC lines of a calibration cover that instrument's range."""
    lab = laboratory(s)
    out = []
    for code in codes or procedure_ids():
        definition = get_procedure(code).definition
        missing = [] if lab is not None else [gap("no_laboratory")]
        missing += _staff_gaps(s, definition, today)
        missing += _standard_gaps(s, definition, today)
        missing += _cmc_gaps(s, definition, lab.id if lab is not None else None, instrument)
        out.append(Readiness(code, definition.title, tuple(missing)))
    return out
