"""The single commands that set up a centre (`registry lab set`, `registry cmc add|show|deactivate`, `registry
standards certify`), checked by the spreadsheet import's own validation; the complete demo centre
(`db seed-demo` then `registry check`); and the CMC shown beside a computed U below it (`runs show`)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from api.cli import app
from registry.db import make_engine, session_factory, upgrade
from registry.models import AuditEntry, CmcEntry, ReferenceStandard
from tests.api.test_cli_calibrate import CG18, caltrace


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A fresh, migrated installation of its own."""
    for name in list(os.environ):
        if name.startswith("CALTRACE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CALTRACE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CALTRACE_ACTOR", "lab-admin")
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'caltrace.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


SINGLE = {("lab", "set"), ("cmc", "add"), ("standards", "certify")}


def cli(*args: str) -> Result:
    """``caltrace registry ARGS``; the single commands in English (these tests read their English messages; the
    language itself is tested in :func:`test_cmc_add_and_the_import_reject_a_cell_with_the_same_reason`)."""
    english = ("--lang", "en") if tuple(args[:2]) in SINGLE else ()
    return CliRunner().invoke(app, ["registry", *args, *english])


def set_lab() -> None:
    done = cli("lab", "set", "--name", "TT KT TĐC 1", "--address", "Huế", "--accreditation", "VILAS 1")
    assert done.exit_code == 0, done.output


def test_lab_set_creates_then_updates_the_one_laboratory(registry: Engine, tmp_path: Path) -> None:
    assert cli("lab", "set").exit_code == 2  # nothing to set
    first = cli("lab", "set", "--name", "TT KT TĐC 1")
    assert first.exit_code == 1 and "--address: required" in first.output
    bad = cli("lab", "set", "--name", "TT", "--address", "Huế", "--numbering", "{year}/HC")
    assert bad.exit_code == 1 and "--numbering" in bad.output and "{seq}" in bad.output
    assert cli("lab", "show").exit_code == 1  # nothing was written
    set_lab()
    logo = tmp_path / "logo.png"
    assert cli("lab", "set", "--logo", str(logo)).exit_code == 2  # no such file
    logo.write_bytes(b"\x89PNG")
    changed = cli("lab", "set", "--phone", "0234 3822", "--numbering", "{year}/HC-{seq:05d}", "--logo", str(logo))
    assert changed.exit_code == 0 and "updated" in changed.output, changed.output
    shown = json.loads(cli("lab", "show", "--json").output)
    assert shown["name"] == "TT KT TĐC 1" and shown["address"] == "Huế" and shown["accreditation"] == "VILAS 1"
    assert shown["phone"] == "0234 3822" and shown["certificate numbering"] == "{year}/HC-{seq:05d}"
    assert shown["logo"] == str(logo.resolve())
    with session_factory(registry)() as s:  # audited like an import, with the name of the command as the file
        events = s.scalars(select(AuditEntry).where(AuditEntry.action == "import")).all()
        assert {e.entity_id for e in events} == {"registry-lab-set.csv"}
        # the two refused attempts are recorded with their rejected row, as a refused import is
        payloads = [json.loads(e.payload) for e in events]
        assert [(p["imported"], p["updated"], p["rejected_rows"]) for p in payloads] == [
            (0, 0, [2]),
            (0, 0, [2]),
            (1, 0, []),
            (0, 1, []),
        ]
    # a numbering pattern per kind (decision 0450), checked like the calibration one
    assert shown["verification numbering"] == "" and shown["notice numbering"] == "(= verification)"
    bad = cli("lab", "set", "--verification-numbering", "KĐ-{year}")
    assert bad.exit_code == 1 and "--verification-numbering" in bad.output and "{seq}" in bad.output
    kinds = cli("lab", "set", "--verification-numbering", "KĐ-{year}-{seq:06d}", "--notice-numbering", "TB-{seq}")
    assert kinds.exit_code == 0, kinds.output
    shown = json.loads(cli("lab", "show", "--json").output)
    assert shown["verification numbering"] == "KĐ-{year}-{seq:06d}" and shown["notice numbering"] == "TB-{seq}"
    assert shown["certificate numbering"] == "{year}/HC-{seq:05d}"  # the others stay


def test_cmc_add_show_deactivate(registry: Engine) -> None:
    no_lab = cli("cmc", "add", "--quantity", "khối lượng", "--range", "0 - 220 g", "--cmc", "0,1 mg", "--method", "x")
    assert no_lab.exit_code == 2 and "no laboratory is registered" in no_lab.output
    set_lab()
    args = ("--quantity", "khối lượng", "--range", "0 - 220 g", "--method", "EURAMET cg-18", "--instrument", "cân")
    assert cli("cmc", "add", *args, "--cmc", "0,1 mg").exit_code == 0
    again = cli("cmc", "add", *args, "--cmc", "0,2 mg")
    assert again.exit_code == 1 and "already registered" in again.output
    assert cli("cmc", "add", *args, "--cmc", "0,2 mg", "--update").exit_code == 0
    relative = cli(
        "cmc", "add", "--quantity", "khối lượng", "--range", "0,2 kg - 6 kg", "--cmc", "5 ppm", "--method", "x"
    )
    assert relative.exit_code == 0, relative.output
    with session_factory(registry)() as s:
        lines = {e.range_unit: e for e in s.scalars(select(CmcEntry))}
        assert (lines["g"].cmc, lines["g"].cmc_unit) == (0.2, "mg")
        assert lines["kg"].cmc == pytest.approx(5e-6) and lines["kg"].cmc_relative  # 5 ppm stored as 5e-6
        first = lines["g"].id
    shown = json.loads(cli("cmc", "show", str(first), "--json").output)
    assert shown["cmc"] == "0.2 mg" and shown["active"] is True and shown["instrument"] == "cân"
    assert cli("check", "-p", CG18).output.count("no CMC line") == 0
    assert cli("cmc", "deactivate", str(first)).exit_code == 0
    assert cli("cmc", "deactivate", str(first)).exit_code == 2  # already withdrawn
    assert cli("cmc", "show", "999").exit_code == 1
    listed = json.loads(cli("cmc", "list", "--json").output)
    assert [row["id"] for row in listed] != [] and first not in [row["id"] for row in listed]
    assert first in [row["id"] for row in json.loads(cli("cmc", "list", "--all", "--json").output)]
    assert json.loads(cli("cmc", "show", str(first), "--json").output)["active"] is False  # kept for history


def test_cmc_add_and_the_import_reject_a_cell_with_the_same_reason(registry: Engine, tmp_path: Path) -> None:
    """One validation: a CMC without a unit is refused by the same words through the command and the sheet."""
    set_lab()
    sheet = tmp_path / "cmc.csv"
    sheet.write_text("đại lượng;phạm vi đo;cmc;phương pháp\nkhối lượng;0 - 220 g;0,1;cg-18\n", encoding="utf-8")
    line = ("--quantity", "khối lượng", "--range", "0 - 220 g", "--cmc", "0,1", "--method", "cg-18")
    for lang, words in (("vi", "không có đơn vị"), ("en", "has no unit")):
        imported = CliRunner().invoke(app, ["registry", "import", "cmc", str(sheet), "--json", "--lang", lang])
        reason = json.loads(imported.output)["rejected"][0]["reason"]
        single = CliRunner().invoke(app, ["registry", "cmc", "add", *line, "--lang", lang])
        assert single.exit_code == 1 and f"--cmc: {reason}" in single.output, single.output
        assert words in reason


def test_standards_certify(registry: Engine) -> None:
    assert cli("standards", "add", "ENV-1", "--name", "Nhiệt ẩm kế", "--kind", "thermo-hygro-barometer").exit_code == 0
    assert cli("standards", "add", "W-E2", "--name", "Bộ quả cân", "--kind", "weight set").exit_code == 0
    dates = ("--issuer", "VMI", "--calibrated", "01/06/2026", "--due", "31/05/2027")
    weights = cli("standards", "certify", "W-E2", "--number", "1", *dates, "--value", "U=0,1 mg")
    assert weights.exit_code == 2 and "spreadsheet" in weights.output
    assert cli("standards", "certify", "NOPE", "--number", "1", *dates, "--value", "U=1 g").exit_code == 1
    assert cli("standards", "certify", "ENV-1", "--number", "1", *dates, "--value", "X=1").exit_code == 2
    bad = cli(
        "standards", "certify", "ENV-1", "--number", "V-1", *dates,
        "--value", "quantity=temperature; U=0,3 °C",
        "--value", "quantity=humidity; U=3 %RH; k=7",
    )  # fmt: skip
    assert bad.exit_code == 1 and "--value k" in bad.output and "between 1 and 4" in bad.output
    assert "no certificate" in cli("standards", "list").output  # a certificate goes in whole or not at all
    ok = cli(
        "standards", "certify", "ENV-1", "--number", "V-1", *dates,
        "--value", "quantity=temperature; point=20 °C; value=20,02 °C; U=0,15 °C; k=2",
        "--value", "quantity=pressure; point=1000 hPa; value=1000,4 hPa; U=50 Pa",
        "--value", "quantity=humidity; U=3 %RH",
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    with session_factory(registry)() as s:
        std = s.scalars(select(ReferenceStandard).where(ReferenceStandard.code == "ENV-1")).one()
        (cert,) = std.certificates
        assert (cert.number, cert.issuer, str(cert.calibrated_on), str(cert.due_on)) == (
            "V-1",
            "VMI",
            "2026-06-01",
            "2027-05-31",
        )
        temperature, pressure, humidity = cert.values
        assert (temperature["point"], temperature["value"], temperature["U"], temperature["k"]) == (
            20.0,
            20.02,
            0.15,
            2,
        )
        # U = 50 Pa given for a value in hPa: stored in the value's unit, 50 Pa = 0.5 hPa
        assert pressure["U"] == pytest.approx(0.5) and pressure["unit"] == "hPa"
        assert (humidity["U"], humidity["k"]) == (3.0, 2.0)  # k defaults to 2
    duplicate = cli("standards", "certify", "ENV-1", "--number", "V-1", *dates, "--value", "quantity=t; U=1 °C")
    assert duplicate.exit_code == 1 and "already registered" in duplicate.output


def test_the_seeded_demo_centre_is_complete_for_every_procedure(registry: Engine) -> None:
    seeded = CliRunner().invoke(app, ["db", "seed-demo"])
    assert seeded.exit_code == 0, seeded.output
    assert "nothing to add" in CliRunner().invoke(app, ["db", "seed-demo"]).output  # idempotent
    check = cli("check", "--json")
    assert check.exit_code == 0, check.output
    assert all(not r["missing"] for r in json.loads(check.output))
    for procedure, serial in (
        ("nawi-calibration-cg18", "B912345678"),
        ("weight-calibration-r111", "QC-F1-200-0001"),
        ("flow-meter-calibration", "PM83-DEMO-0025"),
        ("dmm-calibration", "MY57503456"),
    ):  # the CMC table covers each demo calibration instrument's whole range
        covered = cli("check", "-p", procedure, "-i", serial)
        assert covered.exit_code == 0, covered.output
    lab = json.loads(cli("lab", "show", "--json").output)
    assert lab["certificate numbering"] and lab["accreditation"] == "VILAS 999"
    signatory = json.loads(cli("staff", "show", "demo-reviewer", "--json").output)
    assert all("sign" in a["may"] for a in signatory["authorisations"])
    technician = json.loads(cli("staff", "show", "demo", "--json").output)
    assert all("sign" not in a["may"] for a in technician["authorisations"])


@pytest.mark.timeout(300)
def test_runs_show_gives_the_cmc_beside_a_u_below_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    env["CALTRACE_DATA_DIR"] = str(tmp_path / "var")
    assert caltrace(env, "db", "upgrade").returncode == 0
    done = caltrace(env, "calibrate", "--demo", "-p", CG18, "--json")
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    # a line for 0 – 100 g with CMC 1 mg = 0.001 g, far above any U of the demo balance at 50 g and 100 g (tenths of
    # a mg); above 100 g only the demo's own 0 – 220 g line (0.1 mg = 0.0001 g) holds
    added = caltrace(
        env, "registry", "cmc", "add", "--quantity", "khối lượng", "--range", "0 - 100 g", "--cmc", "1 mg",
        "--method", "EURAMET cg-18 v4.0", "--instrument", "Cân phân tích",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    shown = json.loads(caltrace(env, "runs", "show", run_id, "-f", "json").stdout)
    marked = []
    for r in shown["results"]:
        if r["U"] is None or r["point"] is None:
            assert "cmc" not in r
            continue
        expected = 0.001 if r["point"] <= 100 else 0.0001
        assert r["cmc"]["value"] == pytest.approx(expected) and r["cmc"]["unit"] == "g"
        assert r["cmc"]["U_below_cmc"] is (r["U"] < expected)  # both numbers kept
        if r["cmc"]["U_below_cmc"]:
            marked.append(r["seq"])
    assert len(marked) >= 4  # 50 g and 100 g, increasing and decreasing loads
    table = caltrace(env, "runs", "show", run_id).stdout
    assert "CMC" in table and "U < CMC: giấy chứng nhận ghi CMC" in table
    rows = [line for line in table.splitlines() if line.startswith("│ ") and line.split("│")[1].strip().isdigit()]
    starred = sorted(int(line.split("│")[1]) for line in rows if " *" in line)
    assert starred == sorted(marked)
    english = caltrace(env, "runs", "show", run_id, "--lang", "en").stdout
    assert "U < CMC: the certificate states the CMC" in english
    as_calibrated = json.loads(caltrace(env, "calibrate", "--demo", "-p", CG18, "--json").stdout)
    at_50 = next(r for r in as_calibrated["results"] if r["point"] == 50.0 and r["U"])
    assert at_50["cmc"]["value"] == pytest.approx(0.001) and at_50["cmc"]["U_below_cmc"] is True
