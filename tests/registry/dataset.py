"""A small registry whose answers were worked out by hand (see the comments); ``TODAY`` is 2026-11-21."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.engine import Engine

from registry.db import session_scope
from registry.models import (
    Certificate,
    CertificateStatus,
    Conformity,
    Customer,
    MeasuringInstrument,
    MetrologyField,
    PrepackageLot,
    Procedure,
    ProcedureKind,
    ReferenceStandard,
    Run,
    RunStandard,
    RunState,
    Staff,
    StandardCertificate,
)

TODAY = date(2026, 11, 21)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type,misc]


def build(engine: Engine) -> None:
    """Fill ``engine``'s migrated database with the hand-checked data set."""
    with session_scope(engine, "dataset") as s:
        a = Customer(name="Công ty TNHH Cân Việt", tax_code="0101234567")
        b = Customer(name="Xí nghiệp Nước sạch Số 2", tax_code="0309876543")
        c = Customer(name="Cửa hàng Xăng dầu 17", tax_code="0301112223-001")
        s.add_all([a, b, c])

        def inst(owner: Customer, kind: str, f: MetrologyField, serial: str, due: date | None, g2: bool = False):
            i = MeasuringInstrument(
                owner=owner, kind=kind, field=f, serial_number=serial, interval_months=12, next_due=due, group2=g2
            )
            s.add(i)
            return i

        bal1 = inst(a, "Cân phân tích", MetrologyField.MASS, "BAL-001", date(2026, 11, 25))  # 4 days left
        bal2 = inst(a, "Cân phân tích", MetrologyField.MASS, "BAL-002", date(2026, 12, 21))  # 30 days left
        bal3 = inst(a, "Cân kỹ thuật", MetrologyField.MASS, "BAL-003", date(2026, 12, 22))  # 31: outside 30
        wm1 = inst(b, "Đồng hồ nước", MetrologyField.VOLUME_FLOW, "WM-1", date(2026, 11, 1), True)  # 20 overdue
        wm2 = inst(b, "Đồng hồ nước", MetrologyField.VOLUME_FLOW, "WM-2", None, True)  # never calibrated
        fd1 = inst(c, "Cột đo nhiên liệu", MetrologyField.VOLUME_FLOW, "FD-1", TODAY, True)  # due today

        s1 = ReferenceStandard(code="W-E2-200g", name="Quả cân E2 200 g", kind="weight", field=MetrologyField.MASS)
        s1.certificates = [
            StandardCertificate(
                issuer="VMI",
                number="V01.24",
                calibrated_on=date(2024, 10, 1),
                issued_on=date(2024, 10, 3),
                due_on=date(2025, 10, 1),
            ),
            StandardCertificate(
                issuer="VMI",
                number="V01.25",
                calibrated_on=date(2025, 10, 5),
                issued_on=date(2025, 10, 6),
                due_on=date(2026, 12, 1),  # 10 days left
            ),
        ]
        s2 = ReferenceStandard(code="BAL-REF", name="Cân so sánh", kind="balance", field=MetrologyField.MASS)
        s2.certificates = [
            StandardCertificate(
                issuer="QUATEST 1",
                number="Q1-778",
                calibrated_on=date(2025, 6, 1),
                issued_on=date(2025, 6, 2),
                due_on=date(2026, 6, 1),  # expired 173 days ago: 30+31+31+30+31 days to 1 Nov, +20
            )
        ]
        s3 = ReferenceStandard(
            code="FLOW-MASTER", name="Đồng hồ chuẩn", kind="flow meter", field=MetrologyField.VOLUME_FLOW
        )
        s3.certificates = [
            StandardCertificate(
                issuer="VMI",
                number="F-9",
                calibrated_on=date(2026, 6, 1),
                issued_on=date(2026, 6, 2),
                due_on=date(2027, 6, 1),
            )
        ]
        s4 = ReferenceStandard(
            code="DMM-REF", name="Đồng hồ vạn năng chuẩn", kind="dmm", field=MetrologyField.ELECTRICAL
        )
        s5 = ReferenceStandard(
            code="OLD",
            name="Retired",
            kind="weight",
            field=MetrologyField.MASS,
            active=False,
            certificates=[
                StandardCertificate(
                    issuer="VMI",
                    number="OLD-1",
                    calibrated_on=date(2020, 1, 1),
                    issued_on=date(2020, 1, 1),
                    due_on=date(2021, 1, 1),
                )
            ],
        )
        s.add_all([s1, s2, s3, s4, s5])

        tech = Staff(username="lan", full_name="Nguyễn Thị Lan")
        s.add(tech)
        p1 = Procedure(
            code="nawi-calibration-cg18",
            version="1",
            kind=ProcedureKind.CALIBRATION,
            field=MetrologyField.MASS,
            title="Hiệu chuẩn cân",
            method_reference="EURAMET cg-18 v4.0",
        )
        p2 = Procedure(
            code="water-meter-verification-r49",
            version="1",
            kind=ProcedureKind.VERIFICATION,
            field=MetrologyField.VOLUME_FLOW,
            title="Kiểm định đồng hồ nước",
            method_reference="ĐLVN 17:2017",
        )
        p3 = Procedure(
            code="fuel-dispenser-verification",
            version="1",
            kind=ProcedureKind.VERIFICATION,
            field=MetrologyField.VOLUME_FLOW,
            title="Kiểm định cột đo nhiên liệu",
            method_reference="ĐLVN 10:2017",
        )
        s.add_all([p1, p2, p3])
        s.flush()

        def run(rid, proc, instrument, state, finished, overall, standard, cert=None, created=None):
            r = Run(
                id=rid,
                procedure=proc,
                instrument=instrument,
                technician=tech,
                state=state,
                finished_at=finished,
                overall=overall,
                created_at=created or (finished or now_utc),
            )
            r.standards = [RunStandard(standard=standard, certificate_id=cert.id if cert else None, role="reference")]
            s.add(r)
            return r

        now_utc = utc(2026, 11, 21, 3)
        c2 = s1.certificates[1]
        f9 = s3.certificates[0]
        na = Conformity.NOT_ASSESSED
        r1 = run("r1", p1, bal1, RunState.COMPLETED, utc(2026, 3, 10, 5), na, s1, c2)
        r2 = run("r2", p2, wm1, RunState.REVIEWED, utc(2026, 5, 2, 4), Conformity.PASS, s3, f9)
        run("r3", p2, wm2, RunState.COMPLETED, utc(2026, 5, 2, 6), Conformity.FAIL, s3, f9)
        # 18:00 UTC on 31 Dec 2025 is 01:00 on 1 Jan 2026 in Viet Nam (UTC+7): a 2026 run.
        r4 = run("r4", p3, fd1, RunState.COMPLETED, utc(2025, 12, 31, 18), Conformity.PASS, s3, f9)
        run("r5", p1, bal2, RunState.ABORTED, utc(2026, 4, 1, 2), na, s1, c2)
        # 17:30 UTC on 31 Dec 2026 is 00:30 on 1 Jan 2027 in Viet Nam: not a 2026 run.
        r6 = run("r6", p1, bal3, RunState.COMPLETED, utc(2026, 12, 31, 17, 30), na, s1, c2)
        run("r7", p1, bal2, RunState.RUNNING, None, na, s1, c2, created=utc(2026, 11, 20, 2))
        r8 = run("r8", p2, wm1, RunState.COMPLETED, utc(2025, 6, 1, 3), Conformity.PASS, s3)
        s.flush()

        def cert(number, r, issued, status=CertificateStatus.ISSUED):
            s.add(
                Certificate(
                    number=number,
                    kind=r.procedure.kind,
                    status=status,
                    run_id=r.id,
                    customer_id=r.instrument.owner_id,
                    instrument_id=r.instrument.id,
                    issued_at=issued,
                )
            )

        # Prepackage lots (decision 0304) of a packer that owns no instrument: lot L-1 checked twice in 2026 (r9
        # conforming on 1 Jul, r11 conforming on 1 Sep), L-2 once (r10 not conforming on 1 Aug), L-2 again but the
        # run was aborted (r12). r9 used W-E2-200g. Lots have no due date.
        d = Customer(name="Công ty CP Thực phẩm Sao Mai", tax_code="3600000001")
        lot1 = PrepackageLot(
            packer=d,
            product="Đường kính trắng 500 g",
            lot_number="L-1",
            lot_size=500,
            nominal_quantity=500.0,
            nominal_unit="g",
        )
        lot2 = PrepackageLot(
            packer=d, product="Bột ngọt 1 kg", lot_number="L-2", lot_size=1000, nominal_quantity=1.0, nominal_unit="kg"
        )
        p4 = Procedure(
            code="prepackage-r87",
            version="2",
            kind=ProcedureKind.TEST,
            field=MetrologyField.MASS,
            title="Kiểm tra lượng hàng đóng gói sẵn",
            method_reference="OIML R87:2016",
        )
        s.add_all([d, lot1, lot2, p4])
        s.flush()
        for rid, lot, state, finished, overall in (
            ("r9", lot1, RunState.COMPLETED, utc(2026, 7, 1, 3), Conformity.PASS),
            ("r10", lot2, RunState.COMPLETED, utc(2026, 8, 1, 3), Conformity.FAIL),
            ("r11", lot1, RunState.REVIEWED, utc(2026, 9, 1, 3), Conformity.PASS),
            ("r12", lot2, RunState.ABORTED, utc(2026, 9, 2, 3), na),
        ):
            r = Run(
                id=rid,
                procedure=p4,
                lot=lot,
                technician=tech,
                state=state,
                finished_at=finished,
                overall=overall,
                created_at=finished,
            )
            if rid == "r9":
                r.standards = [RunStandard(standard=s1, certificate_id=c2.id, role="balance")]
            s.add(r)
        s.flush()

        cert("CT-2026-0001", r1, utc(2026, 3, 11, 2))
        cert("KĐ-2026-0002", r2, utc(2026, 5, 3, 2))
        cert("KĐ-2026-0003", r4, utc(2025, 12, 31, 18, 30))  # 2026 in Viet Nam
        cert("CT-2026-0004", r6, None, CertificateStatus.DRAFT)
        cert("KĐ-2025-0100", r8, utc(2025, 6, 2, 2))
