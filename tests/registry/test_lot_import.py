"""`import_lots`: prepackage lots from a spreadsheet, on SQLite and PostgreSQL; packers matched like customers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from registry.audit import verify
from registry.db import session_factory, session_scope
from registry.errors import ImportFileError
from registry.importer import import_lots
from registry.models import (
    AuditEntry,
    Customer,
    MetrologyField,
    PrepackageLot,
    Procedure,
    ProcedureKind,
    Run,
    Staff,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "lots.csv"
TODAY = date(2026, 11, 21)
HEADER = "packer,packer_tax_code,product,brand,lot_number,lot_size,nominal_quantity,nominal_unit,packed_on,sampled_on"


def write(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "lots.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def lots(engine: Engine) -> list[tuple[object, ...]]:
    with session_factory(engine)() as s:
        return [
            (lot.packer.name, lot.lot_number, lot.lot_size, lot.nominal_quantity, lot.nominal_unit, lot.sampled_on)
            for lot in s.scalars(select(PrepackageLot).order_by(PrepackageLot.id))
        ]


def test_the_example_file_imports(engine: Engine) -> None:
    with session_scope(engine, "lan") as s:
        report = import_lots(s, EXAMPLE, today=TODAY)
    assert report.ok and (report.rows, report.imported) == (3, 3)
    assert [c.name for c in report.customers_created] == [
        "Công ty CP Thực phẩm Sao Mai",
        "Công ty TNHH Nước mắm Phú Quốc",
    ]
    # Vietnamese headers; "1 kg" carries its unit in the quantity cell; dd/mm/yyyy dates
    assert lots(engine) == [
        ("Công ty CP Thực phẩm Sao Mai", "SM-2026-0412", 500, 500.0, "g", date(2026, 4, 12)),
        ("Công ty CP Thực phẩm Sao Mai", "SM-2026-0415", 1200, 1.0, "kg", date(2026, 4, 12)),
        ("Công ty TNHH Nước mắm Phú Quốc", "PQ-0326", 800, 500.0, "mL", date(2026, 4, 14)),
    ]
    with session_factory(engine)() as s:
        event = s.scalars(select(AuditEntry).where(AuditEntry.action == "import")).one()
        assert event.entity == "prepackage_lot" and '"imported":3' in event.payload
        assert verify(s).ok


def test_bad_rows_are_rejected_with_the_reason_and_good_rows_go_in(engine: Engine, tmp_path: Path) -> None:
    with session_scope(engine, "seed") as s:
        s.add(Customer(name="Công ty CP Thực phẩm Sao Mai", tax_code="3600000001"))
    with session_scope(engine, "lan") as s:
        import_lots(s, write(tmp_path, "Sao Mai,3600000001,Đường 500 g,,L-1,500,500,g,,"), today=TODAY)
    path = write(
        tmp_path,
        "Sao Mai,3600000001,Đường 500 g,,L-2,500,500 g,,01/04/2026,10/04/2026",  # row 2: good, packer by tax code
        "Sao Mai,3600000001,Đường 500 g,,l-1,500,500,g,,",  # 3: L-1 already registered for this packer
        "Sao Mai,3600000001,Đường 500 g,,L-3,0,500,g,,",  # 4: lot size 0
        "Sao Mai,3600000001,Đường 500 g,,L-4,500,500,oz,,",  # 5: unit
        "Sao Mai,3600000001,Đường 500 g,,L-5,500,500 g,kg,,",  # 6: two units
        "Sao Mai,3600000001,Đường 500 g,,L-6,500,500,g,10/04/2026,01/04/2026",  # 7: sampled before packed
        "Sao Mai,3600000001,,,L-7,500,500,g,,",  # 8: no product
        "Sao Mai,3600000001,Đường 500 g,,L-2,500,500,g,,",  # 9: same lot as row 2
        "Sao Mai,3600000001,Đường 500 g,,L-8,500,-5,g,,",  # 10: Qn not positive
        "Sao Mai,3600000001,Đường 500 g,,L-9,500,500,g,,01/01/2027",  # 11: sampled in the future
    )
    with session_scope(engine, "lan") as s:
        report = import_lots(s, path, today=TODAY)
    assert report.imported == 1 and report.rejected_rows == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    reasons = {(issue.row, issue.column): issue.reason for issue in report.rejected}
    assert reasons[(3, "lot_number")].startswith("already registered: lot #1 (l-1) of Công ty CP Thực phẩm Sao Mai")
    assert "whole number of prepackages" in reasons[(4, "lot_size")]
    assert reasons[(5, "nominal_unit")] == "'oz': the nominal quantity must be in g, kg, mL or L (e.g. 500 g)"
    assert "the quantity says g but the unit column kg" in reasons[(6, "nominal_unit")]
    assert "before the goods were packed" in reasons[(7, "sampled_on")]
    assert reasons[(8, "product")].startswith("required")
    assert reasons[(9, "lot_number")].startswith("the same lot (L-2 of Công ty CP Thực phẩm Sao Mai) as row 2")
    assert "must be more than 0" in reasons[(10, "nominal_quantity")]
    assert "in the future" in reasons[(11, "sampled_on")]
    assert [row[1] for row in lots(engine)] == ["L-1", "L-2"]
    assert "fix the rejected rows" in report.summary("en")


def test_a_file_without_the_required_columns_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "Sao Mai,Đường,L-1", header="packer,product,lot_number")
    with (
        pytest.raises(ImportFileError, match=r"missing columns lot_size, nominal_quantity .*'cỡ lô'"),
        session_scope(engine, "lan") as s,
    ):
        import_lots(s, path, today=TODAY)
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(PrepackageLot)) == 0
        assert s.scalar(select(func.count()).select_from(Customer)) == 0


def test_dry_run_writes_nothing(engine: Engine) -> None:
    with session_scope(engine, "lan") as s:
        report = import_lots(s, EXAMPLE, today=TODAY, dry_run=True)
    assert report.imported == 3 and "Dry run" in report.summary("en")
    assert lots(engine) == []


def add_runs(engine: Engine, lot_number: str, *run_ids: str) -> None:
    """Runs of the prepackage check on the registered lot ``lot_number``, in the order given."""
    with session_scope(engine, "seed") as s:
        lot = s.scalars(select(PrepackageLot).where(PrepackageLot.lot_number == lot_number)).one()
        tech = s.scalars(select(Staff)).first() or Staff(username="lan", full_name="Nguyễn Thị Lan")
        procedure = s.scalars(select(Procedure)).first() or Procedure(
            code="prepackage-r87",
            version="2",
            kind=ProcedureKind.TEST,
            field=MetrologyField.MASS,
            title="Kiểm tra lượng hàng đóng gói sẵn",
            method_reference="OIML R87:2016",
        )
        for n, run_id in enumerate(run_ids):
            s.add(
                Run(
                    id=run_id,
                    procedure=procedure,
                    lot=lot,
                    technician=tech,
                    created_at=datetime(2026, 4, 12 + n, 3, tzinfo=UTC),
                )
            )


def updates_of_lots(engine: Engine) -> list[dict[str, Any]]:
    with session_factory(engine)() as s:
        entries = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "update", AuditEntry.entity == "prepackage_lot")
            .order_by(AuditEntry.seq)
        )
        return [json.loads(entry.payload) for entry in entries]


def audit_entries(engine: Engine) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_update_changes_registered_lots_and_counts_them(engine: Engine, tmp_path: Path) -> None:
    first = write(
        tmp_path,
        "Sao Mai,3600000001,Đường 500 g,Sao Mai,L-1,500,500,g,01/04/2026,10/04/2026",
        "Sao Mai,3600000001,Bột ngọt 1 kg,Sao Mai,L-2,800,1,kg,01/04/2026,10/04/2026",
    )
    with session_scope(engine, "lan") as s:
        assert import_lots(s, first, today=TODAY).imported == 2
    again = write(
        tmp_path,
        "Sao Mai,3600000001,Đường 500 g,Sao Mai,L-1,600,500,g,01/04/2026,10/04/2026",  # row 2: lot size 500 -> 600
        "Sao Mai,3600000001,Bột ngọt 1 kg,Sao Mai,L-2,800,1 kg,,01/04/2026,10/04/2026",  # 3: L-2 as registered
        "Sao Mai,3600000001,Đường 1 kg,Sao Mai,L-3,300,1,kg,01/04/2026,10/04/2026",  # 4: a new lot
    )
    before = audit_entries(engine)

    with session_scope(engine, "lan") as s:
        dry = import_lots(s, again, today=TODAY, update=True, dry_run=True)
    assert (dry.imported, dry.updated, dry.unchanged, dry.rejected) == (1, 1, 1, [])
    assert dry.summary("en") == (
        "lots.csv: 3 rows: 1 to import, 1 to update, 1 unchanged, 0 rejected. Dry run: nothing was written."
    )
    assert [(lot[1], lot[2]) for lot in lots(engine)] == [("L-1", 500), ("L-2", 800)]
    assert audit_entries(engine) == before

    with session_scope(engine, "lan") as s:
        report = import_lots(s, again, today=TODAY, update=True)
    assert (report.imported, report.updated, report.unchanged, report.rejected) == (1, 1, 1, [])
    assert report.summary("en") == "lots.csv: 3 rows: 1 imported, 1 updated, 1 unchanged, 0 rejected."
    assert [(lot[1], lot[2]) for lot in lots(engine)] == [("L-1", 600), ("L-2", 800), ("L-3", 300)]
    assert updates_of_lots(engine) == [{"lot_size": [500, 600]}]
    with session_factory(engine)() as s:
        event = s.scalars(select(AuditEntry).where(AuditEntry.action == "import").order_by(AuditEntry.seq.desc()))
        assert '"updated":1' in next(iter(event)).payload
        assert verify(s).ok


def test_without_update_a_registered_lot_is_still_rejected(engine: Engine, tmp_path: Path) -> None:
    with session_scope(engine, "lan") as s:
        import_lots(s, write(tmp_path, "Sao Mai,3600000001,Đường 500 g,,L-1,500,500,g,,"), today=TODAY)
    with session_scope(engine, "lan") as s:
        report = import_lots(s, write(tmp_path, "Sao Mai,3600000001,Đường 500 g,,L-1,600,500,g,,"), today=TODAY)
    assert (report.imported, report.updated, report.unchanged, report.rejected_rows) == (0, 0, 0, [2])
    assert report.rejected[0].reason == (
        "already registered: lot #1 (L-1) of Sao Mai; import with --update to update it from this file"
    )
    assert [lot[2] for lot in lots(engine)] == [500]


def test_update_does_not_change_a_lot_that_has_runs(engine: Engine, tmp_path: Path) -> None:
    first = write(
        tmp_path,
        "Sao Mai,3600000001,Đường 500 g,,L-1,500,500,g,,",
        "Sao Mai,3600000001,Bột ngọt 1 kg,,L-2,800,1,kg,,",
        "Sao Mai,3600000001,Muối 1 kg,,L-3,300,1,kg,,",
    )
    with session_scope(engine, "lan") as s:
        assert import_lots(s, first, today=TODAY).imported == 3
    add_runs(engine, "L-1", "run-a", "run-b")
    add_runs(engine, "L-2", "run-c")
    again = write(
        tmp_path,
        "Sao Mai,3600000001,Đường 500 g,,L-1,600,500,g,,",  # row 2: checked lot, lot size 500 -> 600: rejected
        "Sao Mai,3600000001,Bột ngọt 1 kg,,L-2,800,1,kg,,",  # 3: checked lot, nothing changes: unchanged
        "Sao Mai,3600000001,Muối 1 kg,,L-3,350,1,kg,,",  # 4: not checked, lot size 300 -> 350: updated
    )
    with session_scope(engine, "lan") as s:
        report = import_lots(s, again, today=TODAY, update=True)
    assert (report.imported, report.updated, report.unchanged, report.rejected_rows) == (0, 1, 1, [2])
    issue = report.rejected[0]
    assert issue.column == "lot_number"
    assert issue.reason.startswith("lot #1 (L-1) of Sao Mai was checked in runs run-a, run-b: ")
    assert "(this row changes lot_size)" in issue.reason and "amending the check's result" in issue.reason
    assert [(lot[1], lot[2]) for lot in lots(engine)] == [("L-1", 500), ("L-2", 800), ("L-3", 350)]

    one_run = write(tmp_path, "Sao Mai,3600000001,Bột ngọt 1 kg,,L-2,900,1,kg,,")
    with session_scope(engine, "lan") as s:
        dry = import_lots(s, one_run, today=TODAY, update=True, dry_run=True)
    assert dry.rejected_rows == [2] and "was checked in run run-c: " in dry.rejected[0].reason
    # without --update the old rejection, without suggesting --update for a checked lot
    with session_scope(engine, "lan") as s:
        plain = import_lots(s, one_run, today=TODAY)
    assert plain.rejected[0].reason == "already registered: lot #2 (L-2) of Sao Mai"


def test_update_leaves_a_column_the_file_lacks_alone(engine: Engine, tmp_path: Path) -> None:
    with session_scope(engine, "lan") as s:
        import_lots(
            s, write(tmp_path, "Sao Mai,3600000001,Đường 500 g,,L-1,500,500,g,01/04/2026,10/04/2026"), today=TODAY
        )
    short = write(
        tmp_path,
        "Sao Mai,Đường 500 g,L-1,600,500 g",
        header="packer,product,lot_number,lot_size,nominal_quantity",
    )
    with session_scope(engine, "lan") as s:
        report = import_lots(s, short, today=TODAY, update=True)
    assert (report.updated, report.unchanged, report.rejected) == (1, 0, [])
    assert lots(engine) == [("Sao Mai", "L-1", 600, 500.0, "g", date(2026, 4, 10))]
    assert updates_of_lots(engine) == [{"lot_size": [500, 600]}]
