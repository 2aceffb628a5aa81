"""The CMC line that holds for a result (``registry.queries.find_cmc``), withdrawn CMC lines, migration 0009, and
who may review a run (``registry.runs.may_review``: an active member of staff, authorised on the day)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from registry.db import downgrade, session_scope, upgrade
from registry.errors import NotPermittedError
from registry.models import Authorisation, CmcEntry, Laboratory, MetrologyField, Staff
from registry.queries import cmc_at, find_cmc
from registry.runs import may_review

TODAY = date(2026, 12, 3)
CG18 = "nawi-calibration-cg18"


def _lab(engine: Engine, *lines: CmcEntry) -> None:
    with session_scope(engine, "test") as s:
        s.add(Laboratory(name="TĐC", address="Huế", accreditation_code="VILAS 1", cmc=list(lines)))


def _line(low: float, high: float, unit: str, cmc: float, cmc_unit: str = "", **kw: object) -> CmcEntry:
    fields: dict[str, object] = {
        "field": MetrologyField.MASS,
        "quantity": "khối lượng",
        "instrument_kind": "",
        "range_min": low,
        "range_max": high,
        "range_unit": unit,
        "cmc": cmc,
        "cmc_unit": cmc_unit,
        "cmc_relative": not cmc_unit,
        "method_reference": "EURAMET cg-18",
    }
    fields.update(kw)
    return CmcEntry(**fields)


def test_the_largest_cmc_holding_the_point_is_taken_in_the_unit_of_u(engine: Engine) -> None:
    _lab(
        engine,
        _line(0, 220, "g", 0.1, "mg"),
        _line(0, 0.1, "kg", 0.3, "mg"),  # 0 – 100 g written in kg
        _line(200, 6000, "g", 1.0, "mg", active=False),  # withdrawn: never counts
    )
    with session_scope(engine, "test") as s:
        at_50 = find_cmc(s, MetrologyField.MASS, 50.0, "g", "g")
        assert at_50 is not None
        assert at_50.value == pytest.approx(0.3e-3)  # 0.3 mg = 0.0003 g: the larger of 0.1 mg and 0.3 mg
        assert at_50.range_text == "0 – 0.1 kg"
        at_150 = find_cmc(s, MetrologyField.MASS, 150.0, "g", "mg")
        assert at_150 is not None and at_150.value == pytest.approx(0.1)  # only the 0 – 220 g line, in mg
        assert find_cmc(s, MetrologyField.MASS, 250.0, "g", "g") is None  # the 200 – 6000 g line is withdrawn
        assert find_cmc(s, MetrologyField.ELECTRICAL, 50.0, "g", "g") is None  # another field


def test_a_line_naming_the_instrument_kind_wins_over_a_larger_general_one(engine: Engine) -> None:
    _lab(
        engine,
        _line(0, 220, "g", 0.5, "mg"),
        _line(1, 200, "g", 0.05, "mg", instrument_kind="Quả cân"),
    )
    with session_scope(engine, "test") as s:
        weight = find_cmc(s, MetrologyField.MASS, 200.0, "g", "mg", instrument_kind="quả  CÂN")
        assert weight is not None and weight.value == pytest.approx(0.05)
        other = find_cmc(s, MetrologyField.MASS, 200.0, "g", "mg", instrument_kind="Cân phân tích")
        assert other is not None and other.value == pytest.approx(0.5)  # no line names it: the larger of both


def test_relative_and_absolute_cmc_at_a_point() -> None:
    # 10 ppm of 10 V = 1e-4 V = 0.1 mV
    volts = _line(0, 1000, "V", 1e-5, field=MetrologyField.ELECTRICAL)
    assert cmc_at(volts, 10.0, "V", "V") == pytest.approx(1e-4)
    assert cmc_at(volts, 10.0, "V", "mV") == pytest.approx(0.1)
    assert cmc_at(volts, 10.0, "V", "ppm") == pytest.approx(10.0)
    # an absolute 0.01 m³/h at 2.5 m³/h, for a relative error in %: 0.01 / 2.5 = 0.004 = 0.4 %
    flow = _line(0, 40, "m³/h", 0.01, "m³/h", field=MetrologyField.VOLUME_FLOW)
    assert cmc_at(flow, 2.5, "m³/h", "%") == pytest.approx(0.4)
    # a relative 0.05 % for a result in %: 0.05 %
    relative = _line(0, 40, "m³/h", 5e-4, field=MetrologyField.VOLUME_FLOW)
    assert cmc_at(relative, 2.5, "m³/h", "%") == pytest.approx(0.05)
    assert cmc_at(_line(0, 220, "g", 0.1, "mg"), 50.0, "g", "V") is None  # not comparable


def test_migration_0009_keeps_registered_lines_in_force(bare_engine: Engine) -> None:
    upgrade(bare_engine, "0008")
    with bare_engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO laboratory (name, address, accreditation_code, phone, email) "
                "VALUES ('TĐC', 'Huế', 'VILAS 1', '', '')"
            )
        )
        c.execute(
            text(
                "INSERT INTO cmc_entry (laboratory_id, field, quantity, instrument_kind, range_min, range_max, "
                "range_unit, cmc, cmc_unit, cmc_relative, method_reference) "
                "VALUES (1, 'mass', 'khối lượng', '', 0, 220, 'g', 0.1, 'mg', false, 'cg-18')"
            )
        )
    upgrade(bare_engine, "0009")
    with bare_engine.connect() as c:
        assert c.execute(text("SELECT active FROM cmc_entry")).scalar_one() in (True, 1)
    downgrade(bare_engine, "0008")
    assert "active" not in {c["name"] for c in inspect(bare_engine).get_columns("cmc_entry")}


def _staff(engine: Engine, **auth: object) -> tuple[int, int]:
    """A technician and a reviewer ``rita`` with the authorisation fields ``auth`` (review of CG18); their ids."""
    with session_scope(engine, "test") as s:
        tech = Staff(username="tam", full_name="Tâm")
        tech.authorisations.append(Authorisation(procedure_code=CG18, can_perform=True, valid_from=TODAY))
        reviewer = Staff(username="rita", full_name="Rita", active=bool(auth.pop("active", True)))
        fields: dict[str, object] = {"procedure_code": CG18, "can_review": True, "valid_from": TODAY}
        fields.update(auth)
        reviewer.authorisations.append(Authorisation(**fields))
        s.add_all([tech, reviewer])
        s.flush()
        return tech.id, reviewer.id


def test_an_authorised_active_reviewer_may_review(engine: Engine) -> None:
    tech, reviewer = _staff(engine)
    with session_scope(engine, "test") as s:
        assert may_review(s, "rita", CG18, TODAY, technician_id=tech).id == reviewer
        with pytest.raises(NotPermittedError, match="cannot review"):
            may_review(s, "tam", CG18, TODAY, technician_id=tech)


def test_a_deactivated_reviewer_may_not_review(engine: Engine) -> None:
    tech, _ = _staff(engine, active=False)
    with session_scope(engine, "test") as s, pytest.raises(NotPermittedError, match="no active member of staff"):
        may_review(s, "rita", CG18, TODAY, technician_id=tech)


def test_a_reviewer_authorised_only_from_tomorrow_may_not_review_today(engine: Engine) -> None:
    tech, _ = _staff(engine, valid_from=TODAY + timedelta(days=1))
    with session_scope(engine, "test") as s:
        with pytest.raises(NotPermittedError, match="not on 2026-12-03"):
            may_review(s, "rita", CG18, TODAY, technician_id=tech)
        assert may_review(s, "rita", CG18, TODAY + timedelta(days=1), technician_id=tech).username == "rita"


def test_a_reviewer_whose_authorisation_ended_may_not_review(engine: Engine) -> None:
    tech, _ = _staff(engine, valid_from=TODAY - timedelta(days=30), valid_until=TODAY - timedelta(days=1))
    with session_scope(engine, "test") as s, pytest.raises(NotPermittedError, match="not on 2026-12-03"):
        may_review(s, "rita", CG18, TODAY, technician_id=tech)
