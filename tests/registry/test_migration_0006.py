"""Migration 0006 (decisions 0330, 0331): result rows split into budget / evidence / rule / reference / note and
back, the one conformity vocabulary, and certificates of prepackage lots — on SQLite and PostgreSQL.

The pre-0006 rows are written with SQL in the shape the run engine wrote them before this revision:
``{**budget_json(...) + the method's extras, "rule": ..., "reference": ..., "note": ...}`` in ``result.budget``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from registry.audit import verify
from registry.db import current_revision, downgrade, session_factory, upgrade
from registry.errors import MigrationRefusedError

ROW_DV = {  # a budget row as methods.base.budget_rows wrote it: source, unit, note only when given
    "input": "dV_cal",
    "source": "Fluke 5520A 1 year, unverified",
    "value": 0.0,
    "unit": "V",
    "u": 2.0e-5,
    "distribution": "normal",
    "sensitivity": -1.0,
    "contribution": -2.0e-5,
    "dof": None,
}
ROW_RES = {
    "input": "dI_res",
    "source": "DMM resolution",
    "value": 0.0,
    "unit": "V",
    "u": 0.0,
    "distribution": "rectangular",
    "sensitivity": 1.0,
    "contribution": 0.0,
    "dof": None,
    "note": "zero: the resolution is below the noise",
}
#: a DMM point (methods.electrical): the budget, then the method's extras, then the engine's three texts
DMM_BLOB = {
    "model": "E = I_bar + dI_res - V_cal - dV_cal",
    "unit": "V",
    "rows": [ROW_DV, ROW_RES],
    "u": 2.0e-5,
    "dof": None,
    "k": 1.959963984540054,
    "coverage_probability": 0.95,
    "U": 3.919927969080108e-05,
    "readings": [10.00001, 10.00002],
    "calibrator_limit": 5.3e-4,
    "tolerance_source": "34465A 1 year, unverified",
    "tolerance_row_verified": False,
    "rule": "guarded acceptance (ILAC G8:09/2019 4.2.2)",
    "reference": "Keysight 34465A; Fluke 5520A; GUM",
    "note": "unverified row",
}
#: a budget without a model (budget_json(model=None)) and no extras
PLAIN_BLOB = {
    "unit": "%",
    "rows": [dict(ROW_DV, unit="%")],
    "u": 2.0e-5,
    "dof": 12.5,
    "k": 2.0,
    "coverage_probability": None,
    "U": 4.0e-5,
    "rule": "simple acceptance",
    "reference": "OIML R49-2:2013 7.4",
    "note": "",
}
#: an R76 weighing-test row (procedures.nawi_r76): evidence only, no uncertainty
R76_BLOB = {
    "weights": ["500 g", "200 g"],
    "conventional_mass_g": 700.00012,
    "U_weights_g": 0.0008,
    "indication_g": 700.0,
    "zero_g": 0.0,
    "rule": "simple acceptance: |E| <= MPE (R76-1 3.5.1)",
    "reference": "OIML R76-1:2006 A.4.4",
    "note": "increasing load",
}
#: a cg-18 repeatability row: no budget, no evidence
EMPTY_BLOB = {"rule": "", "reference": "EURAMET cg-18 v4.0 5.1, 6.1", "note": "n = 5 indications"}

RESULTS = [  # seq, conformity, blob
    (1, "conditionalPass", DMM_BLOB),
    (2, "pass", PLAIN_BLOB),
    (3, "fail", R76_BLOB),
    (4, "notAssessed", EMPTY_BLOB),
    (5, "noPass", R76_BLOB),
    (6, "noFail", PLAIN_BLOB),
]


def _seed_0005(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(
            text("INSERT INTO customer (id, name, address, contact_name, phone, email) VALUES (1, 'A', '', '', '', '')")
        )
        c.execute(
            text(
                "INSERT INTO measuring_instrument (id, owner_id, kind, field, manufacturer, model, serial_number, "
                "range_text, range_unit, resolution_unit, accuracy_class, location, identity_key, serial_key, group2, "
                "interval_months) VALUES (1, 1, 'DMM', 'electrical', 'Keysight', '34465A', 'MY1', '', 'V', 'V', '', "
                "'', 'keysight|34465a|my1', 'my1', false, 12)"
            )
        )
        c.execute(
            text(
                "INSERT INTO procedure (id, code, version, kind, field, title, method_reference) VALUES "
                "(1, 'dmm-calibration', '1', 'calibration', 'electrical', 'DMM', 'GUM')"
            )
        )
        c.execute(text("INSERT INTO staff (id, username, full_name, email, active) VALUES (1, 'lan', 'Lan', '', true)"))
        for rid, overall in (("run-1", "noFail"), ("run-2", "noPass"), ("run-3", "pass")):
            c.execute(
                text(
                    "INSERT INTO run (id, procedure_id, instrument_id, technician_id, state, created_at, "
                    "current_step, checkpoint, message, overall) VALUES (:id, 1, 1, 1, 'completed', "
                    "'2026-11-01 02:00:00', '', '{}', '', :overall)"
                ),
                {"id": rid, "overall": overall},
            )
        for seq, conformity, blob in RESULTS:
            c.execute(
                text(
                    "INSERT INTO result (run_id, seq, quantity, point_unit, value, unit, conformity, budget) VALUES "
                    "('run-1', :seq, 'error of indication', 'V', 0.0, 'V', :c, :b)"
                ),
                {"seq": seq, "c": conformity, "b": json.dumps(blob)},
            )


def _results(engine: Engine, columns: str) -> list[dict[str, Any]]:
    with engine.connect() as c:
        rows = c.execute(text(f"SELECT seq, conformity, {columns} FROM result ORDER BY seq")).mappings().all()
    out = []
    for stored in rows:
        row = dict(stored)
        for key in ("budget", "evidence"):
            if isinstance(row.get(key), str):
                row[key] = json.loads(row[key])
        out.append(row)
    return out


def _audit_ok(engine: Engine) -> int:
    with session_factory(engine)() as s:
        checked = verify(s)
    assert checked.ok, checked.reason
    return checked.checked


def test_0006_splits_old_results_and_merges_them_back(bare_engine: Engine) -> None:
    upgrade(bare_engine, "0005")
    _seed_0005(bare_engine)
    upgrade(bare_engine, "0006")
    got = {r["seq"]: r for r in _results(bare_engine, "budget, evidence, decision_rule, method_reference, note")}

    dmm = got[1]
    assert (dmm["decision_rule"], dmm["method_reference"], dmm["note"]) == (
        DMM_BLOB["rule"],
        DMM_BLOB["reference"],
        DMM_BLOB["note"],
    )
    # the budget: exactly its declared keys; every row has a source and a unit, a note where there is one
    assert list(dmm["budget"]) == ["model", "unit", "rows", "u", "dof", "k", "coverage_probability", "U"]
    assert dmm["budget"]["rows"][0] == ROW_DV
    assert dmm["budget"]["rows"][1] == ROW_RES
    assert (dmm["budget"]["u"], dmm["budget"]["U"], dmm["budget"]["dof"]) == (2.0e-5, DMM_BLOB["U"], None)
    # the method's extras are evidence
    assert dmm["evidence"] == {
        "readings": [10.00001, 10.00002],
        "calibrator_limit": 5.3e-4,
        "tolerance_source": "34465A 1 year, unverified",
        "tolerance_row_verified": False,
    }
    assert got[2]["budget"]["model"] == "" and got[2]["evidence"] == {}
    # no uncertainty stated: NULL budget, the data are evidence
    assert got[3]["budget"] is None
    assert got[3]["evidence"] == {k: v for k, v in R76_BLOB.items() if k not in ("rule", "reference", "note")}
    assert (got[4]["budget"], got[4]["evidence"], got[4]["note"]) == (None, {}, "n = 5 indications")

    # noPass -> fail, noFail -> notAssessed, each saying so in its note; a run's overall likewise
    assert [got[s]["conformity"] for s in range(1, 7)] == [
        "conditionalPass",
        "pass",
        "fail",
        "notAssessed",
        "fail",
        "notAssessed",
    ]
    assert got[5]["note"].startswith("increasing load; conformity recorded as 'noPass'")
    assert got[6]["note"].startswith("conformity recorded as 'noFail'") and "0331" in got[6]["note"]
    with bare_engine.connect() as c:
        overall = dict(c.execute(text("SELECT id, overall FROM run")).all())
        event = c.execute(text("SELECT actor, action, payload FROM audit_log ORDER BY seq DESC")).first()
    assert overall == {"run-1": "notAssessed", "run-2": "fail", "run-3": "pass"}
    assert event is not None and (event.actor, event.action) == ("migration 0006", "migrate")
    payload = json.loads(event.payload)["conformity"]
    assert {(p["table"], p.get("seq"), p["old"], p["new"]) for p in payload} == {
        ("result", 5, "noPass", "fail"),
        ("result", 6, "noFail", "notAssessed"),
        ("run", None, "noFail", "notAssessed"),
        ("run", None, "noPass", "fail"),
    }
    assert _audit_ok(bare_engine) == 1
    # the vocabulary is enforced: noPass can no longer be stored
    with pytest.raises(DBAPIError), bare_engine.begin() as c:
        c.execute(text("UPDATE result SET conformity = 'noPass' WHERE seq = 1"))

    downgrade(bare_engine, "0005")
    back = {r["seq"]: r for r in _results(bare_engine, "budget")}
    # exactly the blob the engine wrote, for every row whose conformity needed no conversion
    for seq, conformity, blob in RESULTS[:4]:
        assert back[seq]["budget"] == blob, seq
        assert back[seq]["conformity"] == conformity
    # converted rows keep their conversion (the audit event has the originals) and the note that says so
    for seq, blob in ((5, R76_BLOB), (6, PLAIN_BLOB)):
        stored = copy.deepcopy(back[seq]["budget"])
        assert "migration 0006" in stored.pop("note")
        assert stored == {k: v for k, v in blob.items() if k != "note"}
    with bare_engine.begin() as c:  # the old vocabulary is accepted again
        c.execute(text("UPDATE result SET conformity = 'noFail' WHERE seq = 6"))
    upgrade(bare_engine)
    assert _audit_ok(bare_engine) == 2


def _lot_and_certificate(engine: Engine, instrument: str, lot: str) -> None:
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO certificate (number, kind, status, run_id, customer_id, instrument_id, lot_id, "
                "status_reason) VALUES (:n, 'test', 'draft', 'run-3', 1, "
                f"{instrument}, {lot}, '')"
            ),
            {"n": f"C-{instrument}-{lot}"},
        )


def test_0006_certificate_has_an_instrument_or_a_lot_and_downgrade_refuses_lot_certificates(
    bare_engine: Engine,
) -> None:
    upgrade(bare_engine, "0005")
    _seed_0005(bare_engine)
    with bare_engine.begin() as c:  # an instrument's certificate from before 0006
        c.execute(
            text(
                "INSERT INTO certificate (number, kind, status, run_id, customer_id, instrument_id, status_reason) "
                "VALUES ('C-1', 'calibration', 'issued', 'run-3', 1, 1, '')"
            )
        )
    upgrade(bare_engine, "0006")
    with bare_engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO prepackage_lot (id, packer_id, product, brand, lot_number, lot_size, nominal_quantity, "
                "nominal_unit, sampling_place, notes) VALUES (1, 1, 'Đường 500 g', 'Sao Mai', 'LOT-7', 500, 500, "
                "'g', '', '')"
            )
        )
    _lot_and_certificate(bare_engine, "NULL", "1")
    for instrument, lot in (("1", "1"), ("NULL", "NULL")):  # exactly one subject
        with pytest.raises(DBAPIError):
            _lot_and_certificate(bare_engine, instrument, lot)
    with pytest.raises(MigrationRefusedError) as refused:
        downgrade(bare_engine, "0005")
    assert "C-NULL-1" in str(refused.value) and "Nothing was changed" in str(refused.value)
    assert current_revision(bare_engine) == "0006"
    with bare_engine.begin() as c:
        c.execute(text("DELETE FROM certificate WHERE lot_id IS NOT NULL"))
    downgrade(bare_engine, "0005")
    with bare_engine.connect() as c:
        assert c.execute(text("SELECT number, instrument_id FROM certificate")).all() == [("C-1", 1)]
    with pytest.raises(DBAPIError), bare_engine.begin() as c:  # an instrument is required again
        c.execute(text("UPDATE certificate SET instrument_id = NULL"))


def test_a_point_result_row_maps_onto_the_result_model() -> None:
    from acquisition.methods.base import PointResult
    from registry.models import Conformity, Result

    row = PointResult("net quantity", 500.0, "g", 498.0, "g", conformity="fail", evidence={"package": 7}).row()
    stored = Result(run_id="r", seq=1, **row)
    assert stored.conformity is Conformity.FAIL  # the string value becomes the member at once
    assert (stored.budget, stored.evidence, stored.decision_rule, stored.note) == (None, {"package": 7}, "", "")
    with pytest.raises(ValueError, match="'noPass' is not a valid Conformity"):
        Result(run_id="r", seq=2, **(row | {"conformity": "noPass"}))
