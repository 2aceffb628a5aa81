"""Fixtures of the key infrastructure tests: a migrated SQLite registry with a laboratory and four members of staff,
and the PKI directory in a temp dir."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from certificates.pki import PkiPaths
from registry.db import make_engine, session_scope, upgrade
from registry.models import Authorisation, Laboratory, Staff
from registry.settings import lab_today

LAB = "Trung tâm Kỹ thuật Tiêu chuẩn Đo lường Chất lượng Thử"
CA_PASS = "ca passphrase 1"
SIGNER_PASS = "signer passphrase 1"


def add_centre(engine: Engine) -> None:
    """The laboratory; ``sig`` may sign cg18 today, ``tech`` may only perform it, ``gone`` may sign but left the
    lab (inactive), ``late`` may sign only until yesterday, ``soon`` only from tomorrow."""
    today = lab_today()
    with session_scope(engine, "test") as s:
        s.add(Laboratory(name=LAB, accreditation_code="VILAS 999"))
        sig = Staff(username="sig", full_name="Nguyễn Thị Hoa", email="hoa@example.vn")
        sig.authorisations.append(
            Authorisation(procedure_code="cg18", can_perform=True, can_sign=True, valid_from=today - timedelta(10))
        )
        tech = Staff(username="tech", full_name="Trần Văn Nam")
        tech.authorisations.append(
            Authorisation(procedure_code="cg18", can_perform=True, can_review=True, valid_from=today)
        )
        gone = Staff(username="gone", full_name="Lê Văn Cũ", active=False)
        gone.authorisations.append(Authorisation(procedure_code="cg18", can_sign=True, valid_from=today))
        late = Staff(username="late", full_name="Phạm Hết Hạn")
        late.authorisations.append(
            Authorisation(
                procedure_code="cg18",
                can_sign=True,
                valid_from=today - timedelta(100),
                valid_until=today - timedelta(1),
            )
        )
        soon = Staff(username="soon", full_name="Võ Chưa Đến")
        soon.authorisations.append(Authorisation(procedure_code="cg18", can_sign=True, valid_from=today + timedelta(1)))
        s.add_all([sig, tech, gone, late, soon])


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The installation's data directory (CALTRACE_DATA_DIR) in a temp dir."""
    path = tmp_path / "var"
    path.mkdir()
    monkeypatch.setenv("CALTRACE_DATA_DIR", str(path))
    monkeypatch.delenv("CALTRACE_DATABASE_URL", raising=False)
    return path


@pytest.fixture
def engine(data_dir: Path) -> Engine:
    """The migrated SQLite registry of ``data_dir`` with the centre of :func:`add_centre`."""
    engine = make_engine(f"sqlite:///{data_dir / 'caltrace.db'}")
    upgrade(engine)
    add_centre(engine)
    return engine


@pytest.fixture
def paths(data_dir: Path) -> PkiPaths:
    """The PKI directory of ``data_dir``."""
    return PkiPaths(data_dir / "pki")
