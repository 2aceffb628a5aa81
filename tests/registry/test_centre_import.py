"""Importing a centre's laboratory, CMC table, staff, standards and certificates (registry.importer.centre and
registry.importer.standards): good rows in, bad rows listed with row and reason, dry run writes nothing, update."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from registry.db import make_engine, session_scope, upgrade
from registry.errors import ImportFileError
from registry.importer import (
    Catalogue,
    ImportReport,
    import_certificates,
    import_cmc,
    import_laboratory,
    import_staff,
    import_standards,
)
from registry.models import Authorisation, CmcEntry, Laboratory, ReferenceStandard, Staff, StandardCertificate

TODAY = date(2026, 12, 3)
CATALOGUE = Catalogue(
    procedures=("nawi-calibration-cg18", "weights-r111"),
    standard_kinds=("weight set", "thermo-hygro-barometer"),
    driver_models=("mt-sics", "comet-t7510"),
)
LAB = (
    "tên phòng thí nghiệm,địa chỉ,số hiệu công nhận,mẫu số giấy chứng nhận\n"
    "Trung tâm A,Số 1 Lê Lợi,VILAS 1,{year}/HC-{seq:05d}\n"
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    found = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    upgrade(found)
    yield found
    found.dispose()


def run(engine: Engine, do: object, tmp_path: Path, text: str, **options: bool) -> ImportReport:
    path = tmp_path / "sheet.csv"
    path.write_text(text, encoding="utf-8-sig")
    with session_scope(engine, "test") as s:
        report: ImportReport = do(s, path, today=TODAY, catalogue=CATALOGUE, **options)  # type: ignore[operator]
        return report


def count(engine: Engine, model: type) -> int:
    with session_scope(engine, "test") as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def reasons(report: ImportReport) -> dict[int, str]:
    found: dict[int, str] = {}
    for issue in report.rejected:
        found[issue.row] = found[issue.row] + " | " + issue.reason if issue.row in found else issue.reason
    return found


def test_laboratory_imported_then_updated_and_a_bad_pattern_rejected(engine: Engine, tmp_path: Path) -> None:
    report = run(engine, import_laboratory, tmp_path, LAB)
    assert report.imported == 1 and report.ok
    again = run(engine, import_laboratory, tmp_path, LAB)
    assert "already registered" in reasons(again)[2] and "--update" in reasons(again)[2]
    updated = run(engine, import_laboratory, tmp_path, LAB.replace("Lê Lợi", "Hùng Vương"), update=True)
    assert updated.updated == 1
    with session_scope(engine, "t") as s:
        lab = s.scalars(select(Laboratory)).one()
        assert lab.address == "Số 1 Hùng Vương" and lab.certificate_numbering == "{year}/HC-{seq:05d}"
    bad = run(engine, import_laboratory, tmp_path, LAB.replace("{seq:05d}", "{n}"), update=True)
    assert "{n} is not a placeholder" in reasons(bad)[2]
    no_seq = run(engine, import_laboratory, tmp_path, LAB.replace("-{seq:05d}", ""), update=True)
    assert "has no {seq}" in reasons(no_seq)[2]


def test_second_laboratory_row_is_rejected(engine: Engine, tmp_path: Path) -> None:
    report = run(engine, import_laboratory, tmp_path, LAB + "Trung tâm B,Số 2,VILAS 2,{seq}\n")
    assert report.imported == 1 and "one laboratory" in reasons(report)[3]


def test_cmc_needs_the_laboratory_and_checks_units(engine: Engine, tmp_path: Path) -> None:
    sheet = (
        "đại lượng,phạm vi đo,cmc,phương pháp\n"
        'Khối lượng,0 - 220 g,"0,1 mg",cg-18\n'  # absolute, in mg against a range in g
        "Khối lượng,0.2 kg - 6 kg,5 ppm,cg-18\n"  # relative: 5e-6
        "Khối lượng,0 - 220 g,0.1 °C,cg-18\n"  # a temperature CMC for a mass range
        "Khối lượng,0 - 220 g,0.1,cg-18\n"  # no unit
    )
    with pytest.raises(ImportFileError, match="no laboratory is registered"):
        run(engine, import_cmc, tmp_path, sheet)
    run(engine, import_laboratory, tmp_path, LAB)
    dry = run(engine, import_cmc, tmp_path, sheet, dry_run=True)
    assert dry.imported == 2 and sorted(reasons(dry)) == [4, 5] and count(engine, CmcEntry) == 0
    report = run(engine, import_cmc, tmp_path, sheet)
    assert "cannot be compared" in reasons(report)[4] and "no unit" in reasons(report)[5]
    with session_scope(engine, "t") as s:
        lines = {e.range_unit: e for e in s.scalars(select(CmcEntry))}
        assert (lines["g"].cmc, lines["g"].cmc_unit, lines["g"].cmc_relative) == (0.1, "mg", False)
        assert lines["kg"].cmc == pytest.approx(5e-6) and lines["kg"].cmc_relative
        assert lines["kg"].field.value == "mass"  # inferred from "Khối lượng"


STAFF = (
    "tên đăng nhập,họ và tên,vai trò,quy trình,được phép từ ngày,số thẻ kiểm định viên,thẻ có hiệu lực đến\n"
    "lan,Nguyễn Thị Lan,kỹ thuật viên,nawi-calibration-cg18,01/01/2026,,\n"
    "hoa,Trần Văn Hòa,soát xét; người ký,tất cả,01/01/2026,KĐV-1,31/12/2028\n"
    "tu,Lê Tú,kỹ thuật viên,nawi-cg18,,,\n"  # unknown procedure id
    "an,Phạm An,thủ kho,nawi-calibration-cg18,,,\n"  # unknown role
    "binh,Vũ Bình,kỹ thuật viên,nawi-calibration-cg18,,KĐV-9,\n"  # card without validity
    "lan,Nguyễn Lan,kỹ thuật viên,nawi-calibration-cg18,,,\n"  # listed twice
)


def test_staff_with_authorisations_and_row_errors(engine: Engine, tmp_path: Path) -> None:
    report = run(engine, import_staff, tmp_path, STAFF)
    assert report.imported == 2
    bad = reasons(report)
    assert "'nawi-cg18' is not a procedure id" in bad[4] and "nawi-calibration-cg18, weights-r111" in bad[4]
    assert "'thủ kho' is not a role" in bad[5]
    assert "needs its validity date" in bad[6]
    assert "the same member of staff as row 2" in bad[7]
    with session_scope(engine, "t") as s:
        hoa = s.scalars(select(Staff).where(Staff.username == "hoa")).one()
        assert hoa.officer_card == "KĐV-1" and hoa.officer_card_expires == date(2028, 12, 31)
        auths = {a.procedure_code: (a.can_perform, a.can_review, a.can_sign) for a in hoa.authorisations}
        assert auths == {"nawi-calibration-cg18": (False, True, True), "weights-r111": (False, True, True)}


def test_staff_update_changes_roles_and_dry_run_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    first = STAFF.splitlines()[:2]
    run(engine, import_staff, tmp_path, "\n".join(first) + "\n")
    promoted = "\n".join([first[0], first[1].replace("kỹ thuật viên", "kỹ thuật viên; soát xét")]) + "\n"
    dry = run(engine, import_staff, tmp_path, promoted, update=True, dry_run=True)
    assert dry.updated == 1
    with session_scope(engine, "t") as s:
        assert not s.scalars(select(Authorisation)).one().can_review
    unchanged = run(engine, import_staff, tmp_path, "\n".join(first) + "\n", update=True)
    assert (unchanged.updated, unchanged.unchanged) == (0, 1)
    report = run(engine, import_staff, tmp_path, promoted, update=True)
    assert report.updated == 1
    with session_scope(engine, "t") as s:
        auth = s.scalars(select(Authorisation)).one()
        assert (auth.can_perform, auth.can_review, auth.valid_from) == (True, True, date(2026, 1, 1))


STANDARDS = (
    "mã chuẩn,tên chuẩn,loại chuẩn,phạm vi đo,độ phân giải,trình điều khiển,địa chỉ kết nối\n"
    "W-E2,Bộ quả cân E2,weight set,1 g - 200 g,,,\n"
    "BAL-1,Cân so sánh,mass comparator,0 - 220 g,0.01 mg,mt-sics,socket://10.0.0.21:4001\n"
    "BAL-2,Cân,balance,0 - 220 g,,no-such-driver,socket://10.0.0.22:4001\n"
    "BAL-3,Cân,balance,0 - 220 g,,mt-sics,\n"
)


def test_standards_rows_checked_against_drivers_and_kinds(engine: Engine, tmp_path: Path) -> None:
    report = run(engine, import_standards, tmp_path, STANDARDS)
    assert report.imported == 2
    bad = reasons(report)
    assert "'no-such-driver' is not a driver" in bad[4] and "mt-sics" in bad[4]
    assert "needs both its driver model and its address" in bad[5]
    assert any("no procedure uses a standard of kind 'mass comparator'" in w.reason for w in report.warnings)
    with session_scope(engine, "t") as s:
        bal = s.scalars(select(ReferenceStandard).where(ReferenceStandard.code == "BAL-1")).one()
        assert bal.resolution == pytest.approx(0.00001)  # 0.01 mg in the range's unit g
        assert (bal.driver_model, bal.address) == ("mt-sics", "socket://10.0.0.21:4001")


CERTS = (
    "mã chuẩn,số giấy chứng nhận,cơ quan cấp,ngày hiệu chuẩn,hiệu lực đến,ký hiệu,giá trị danh định,"
    "số hiệu chính,độ không đảm bảo đo,hệ số phủ,cấp chính xác,khối lượng riêng\n"
    'W-E2,C-1,VMI,15/09/2026,14/09/2027,200 g,200 g,"+0,12 mg","0,10 mg",2,E2,8000\n'
    'W-E2,C-1,VMI,15/09/2026,14/09/2027,100 g,100 g,"-0,06 mg","0,05 mg",2,E2,8000\n'
    'W-E2,C-2,VMI,15/09/2025,14/09/2026,200 g,200 g,"+0,10 mg","0,10 mg",2,E2,8000\n'
    'W-E2,C-2,VMI,15/09/2025,14/09/2026,100 g,100 g,"-0,06 mg",,2,E2,8000\n'  # no U: certificate C-2 rejected whole
    'NOPE,C-3,VMI,15/09/2026,14/09/2027,1 g,1 g,"+0,01 mg","0,01 mg",2,E2,8000\n'
)


def test_weight_set_certificate_pieces_in_grams_and_whole_certificates_only(engine: Engine, tmp_path: Path) -> None:
    run(engine, import_standards, tmp_path, STANDARDS.splitlines()[0] + "\n" + STANDARDS.splitlines()[1] + "\n")
    dry = run(engine, import_certificates, tmp_path, CERTS, dry_run=True)
    assert dry.imported == 1 and count(engine, StandardCertificate) == 0
    report = run(engine, import_certificates, tmp_path, CERTS)
    assert report.imported == 1
    bad = reasons(report)
    assert "required: the expanded uncertainty" in bad[5]
    assert "has a rejected row (5)" in bad[4] and "imported whole" in bad[4]
    assert "no reference standard with code 'NOPE'" in bad[6]
    with session_scope(engine, "t") as s:
        cert = s.scalars(select(StandardCertificate)).one()
        # conventional mass = nominal + correction: 200 g + 0.12 mg = 200.00012 g; U 0.10 mg = 0.0001 g
        piece = cert.values[0]
        assert piece["point"] == 200.0 and piece["value"] == pytest.approx(200.00012, abs=1e-12)
        assert piece["U"] == pytest.approx(0.0001) and piece["unit"] == "g"
        assert (piece["k"], piece["class"], piece["density"], piece["label"]) == (2.0, "E2", 8000.0, "200 g")
        assert cert.values[1]["value"] == pytest.approx(99.99994, abs=1e-12)
        assert cert.due_on == date(2027, 9, 14)
    again = run(engine, import_certificates, tmp_path, "\n".join(CERTS.splitlines()[:3]) + "\n")
    assert "already registered" in reasons(again)[2]
    changed = CERTS.splitlines()[:3]
    changed[2] = changed[2].replace('"-0,06 mg"', '"-0,07 mg"')
    updated = run(engine, import_certificates, tmp_path, "\n".join(changed) + "\n", update=True)
    assert updated.updated == 1
    with session_scope(engine, "t") as s:
        assert s.scalars(select(StandardCertificate)).one().values[1]["value"] == pytest.approx(99.99993, abs=1e-12)


def test_environment_certificate_rows_per_quantity(engine: Engine, tmp_path: Path) -> None:
    run(
        engine,
        import_standards,
        tmp_path,
        "mã chuẩn,tên chuẩn,loại chuẩn,phạm vi đo\nENV-1,COMET,thermo-hygro-barometer,\n",
    )
    sheet = (
        "mã chuẩn,số giấy chứng nhận,cơ quan cấp,ngày hiệu chuẩn,hiệu lực đến,đại lượng,độ không đảm bảo đo\n"
        'ENV-1,E-1,VMI,20/08/2026,19/08/2027,temperature,"0,3 °C"\n'
        "ENV-1,E-1,VMI,20/08/2026,19/08/2027,humidity,3 %RH\n"
        "ENV-1,E-1,VMI,20/08/2026,19/09/2027,pressure,1 hPa\n"  # another validity date than its first row
    )
    report = run(engine, import_certificates, tmp_path, sheet)
    assert report.imported == 0 and "other dates" in reasons(report)[4]
    fixed = run(engine, import_certificates, tmp_path, sheet.replace("19/09/2027", "19/08/2027"))
    assert fixed.imported == 1
    with session_scope(engine, "t") as s:
        values = s.scalars(select(StandardCertificate)).one().values
    assert [(v["quantity"], v["U"], v["unit"]) for v in values] == [
        ("temperature", 0.3, "°C"),
        ("humidity", 3.0, "%RH"),
        ("pressure", 1.0, "hPa"),
    ]


def test_xlsx_with_english_headers(engine: Engine, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Staff list"])  # a title row above the header
    sheet.append(["Username", "Full name", "Roles", "Procedures", "Officer card", "Card valid until"])
    sheet.append(["lan", "Nguyễn Thị Lan", "technician", "nawi-calibration-cg18", "KĐV-7", date(2028, 6, 30)])
    path = tmp_path / "staff.xlsx"
    book.save(path)
    with session_scope(engine, "test") as s:
        report = import_staff(s, path, today=TODAY, catalogue=CATALOGUE)
    assert report.imported == 1 and report.ok, report.rejected
    with session_scope(engine, "t") as s:
        lan = s.scalars(select(Staff)).one()
        assert lan.officer_card_expires == date(2028, 6, 30)
        assert [(a.procedure_code, a.can_perform, a.can_review) for a in lan.authorisations] == [
            ("nawi-calibration-cg18", True, False)
        ]


def test_a_certificate_used_by_a_run_is_not_changed(engine: Engine, tmp_path: Path) -> None:
    from registry.models import (
        Customer,
        MeasuringInstrument,
        MetrologyField,
        Procedure,
        ProcedureKind,
        Run,
        RunStandard,
    )

    run(engine, import_standards, tmp_path, STANDARDS.splitlines()[0] + "\n" + STANDARDS.splitlines()[1] + "\n")
    first = "\n".join(CERTS.splitlines()[:3]) + "\n"
    run(engine, import_certificates, tmp_path, first)
    with session_scope(engine, "test") as s:
        procedure = Procedure(
            code="nawi-calibration-cg18", version="2", kind=ProcedureKind.CALIBRATION, field=MetrologyField.MASS,
            title="t", method_reference="cg-18",
        )  # fmt: skip
        owner = Customer(name="C")
        instrument = MeasuringInstrument(
            owner=owner, kind="Cân", field=MetrologyField.MASS, serial_number="S1", interval_months=12
        )
        staff = Staff(username="lan", full_name="Lan")
        cert = s.scalars(select(StandardCertificate)).one()
        used = Run(id="r-1", procedure=procedure, instrument=instrument, technician=staff)
        s.add_all([procedure, owner, instrument, staff, used])
        s.flush()
        s.add(RunStandard(run_id="r-1", standard_id=cert.standard_id, certificate_id=cert.id, role="weights"))
    changed = first.replace('"-0,06 mg"', '"-0,07 mg"')
    report = run(engine, import_certificates, tmp_path, changed, update=True)
    assert report.updated == 0 and "was used by a run" in reasons(report)[2]
    with session_scope(engine, "t") as s:
        assert s.scalars(select(StandardCertificate)).one().values[1]["value"] == pytest.approx(99.99994, abs=1e-12)


def test_numbering_per_kind_with_vietnamese_or_english_headers(engine: Engine, tmp_path: Path) -> None:
    """Decision 0450: a pattern per series; the verification and notice columns are optional, checked as the
    calibration one, and an update without them leaves them as they are."""
    vi = (
        "tên phòng thí nghiệm,địa chỉ,số hiệu công nhận,mẫu số giấy chứng nhận hiệu chuẩn,"
        "mẫu số giấy chứng nhận kiểm định,mẫu số thông báo không đạt\n"
        "Trung tâm A,Số 1 Lê Lợi,VILAS 1,HC-{year}-{seq:06d},KĐ-{year}-{seq:06d},\n"
    )
    assert run(engine, import_laboratory, tmp_path, vi).imported == 1
    with session_scope(engine, "t") as s:
        lab = s.scalars(select(Laboratory)).one()
        assert (lab.certificate_numbering, lab.verification_numbering, lab.notice_numbering) == (
            "HC-{year}-{seq:06d}",
            "KĐ-{year}-{seq:06d}",
            "",
        )
    en = (
        "laboratory name,address,accreditation,calibration numbering,verification numbering,notice numbering\n"
        "Trung tâm A,Số 1 Lê Lợi,VILAS 1,HC-{year}-{seq:06d},KĐ-{year},TB-{year}-{seq:04d}\n"
    )
    bad = run(engine, import_laboratory, tmp_path, en, update=True)
    assert "has no {seq}" in reasons(bad)[2] and bad.updated == 0
    fixed = run(engine, import_laboratory, tmp_path, en.replace("KĐ-{year},", "KĐ-{year}-{seq:06d},"), update=True)
    assert fixed.updated == 1
    run(engine, import_laboratory, tmp_path, LAB, update=True)  # no verification/notice columns: kept
    with session_scope(engine, "t") as s:
        lab = s.scalars(select(Laboratory)).one()
        assert (lab.certificate_numbering, lab.verification_numbering, lab.notice_numbering) == (
            "{year}/HC-{seq:05d}",
            "KĐ-{year}-{seq:06d}",
            "TB-{year}-{seq:04d}",
        )
