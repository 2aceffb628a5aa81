"""Setting up a centre through the CLI: `caltrace registry import laboratory|cmc|staff|standards|certificates`, the
single commands (lab, cmc, staff, standards) and `registry check`, on a data directory of its own."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from api.cli import app
from lab.nawi_cg18 import true_mass
from registry.db import make_engine, upgrade
from simulators.base import SimOptions
from simulators.environment import EnvironmentSimulator
from simulators.mtsics import MtSicsSimulator
from simulators.runner import SimulatorThread
from tests.api.test_cli_calibrate import CALTRACE, CG18, _operator, caltrace

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
KINDS = ("laboratory", "cmc", "staff", "standards", "certificates")
TODAY = date(2026, 12, 3)  # the example certificates are valid 2026-09-15 .. 2027-09-14


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A fresh, migrated installation; the lab's calendar day fixed so the example certificates are in force."""
    for name in list(os.environ):
        if name.startswith("CALTRACE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CALTRACE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CALTRACE_ACTOR", "lab-admin")
    monkeypatch.setattr("registry.settings.lab_today", lambda: TODAY)
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'caltrace.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def cli(*args: str) -> Result:
    return CliRunner().invoke(app, ["registry", *args])


def import_examples() -> None:
    for kind in KINDS:
        result = cli("import", kind, str(EXAMPLES / f"{kind}.csv"))
        assert result.exit_code == 0, (kind, result.output)


def test_fresh_registry_lacks_everything_for_cg18(registry: Engine) -> None:
    result = cli("check", "--procedure", "nawi-calibration-cg18", "--lang", "en")
    assert result.exit_code == 1
    for gap in ("no laboratory registered", "no technician", "no reviewer", "no signatory", "'weight set'"):
        assert gap in result.output


def test_check_speaks_vietnamese_by_default(registry: Engine) -> None:
    result = cli("check", "--procedure", "nawi-calibration-cg18")
    assert result.exit_code == 1
    assert "nawi-calibration-cg18: còn thiếu" in result.output
    for gap in (
        "chưa có phòng thí nghiệm",
        "không có kỹ thuật viên nào",
        "không có người soát xét nào",
        "không có người nào được giao ký",
        "không có chuẩn đo lường loại 'weight set'",
    ):
        assert gap in result.output
    assert "no laboratory" not in result.output
    doc = json.loads(cli("check", "-p", "nawi-calibration-cg18", "--json", "--lang", "en").output)
    assert "no_laboratory" in doc[0]["codes"] and "no laboratory registered" in doc[0]["missing"][0]
    assert cli("check", "-p", "nawi-calibration-cg18", "--lang", "fr").exit_code == 2


def test_examples_make_a_centre_ready_for_cg18(registry: Engine) -> None:
    import_examples()
    result = cli("check", "-p", "nawi-calibration-cg18", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "nawi-calibration-cg18: ready" in result.output
    assert "nawi-calibration-cg18: sẵn sàng" in cli("check", "-p", "nawi-calibration-cg18").output
    assert "VILAS 1234" in cli("lab", "show").output
    assert "5 ppm" in cli("cmc", "list").output
    staff = cli("staff", "show", "hoa")
    assert "review+sign" in staff.output and "KĐV-0123" in staff.output
    listing = cli("standards", "list")
    assert "V08.KL-2026/0117" in listing.output and "W-E2" in listing.output


def test_check_for_an_instrument_needs_cmc_lines_covering_its_range(registry: Engine) -> None:
    """The example CMC lines are 0 – 220 g and 0.2 kg – 6 kg: together they hold C034512789's 0 – 4200 g (the
    second line converted to g: 200 g – 6000 g), not 6A1234567's 150 kg."""
    import_examples()
    assert cli("import", "instruments", str(EXAMPLES / "instruments.csv")).exit_code == 0
    assert cli("check", "-p", "nawi-calibration-cg18", "-i", "B912345678").exit_code == 0
    assert cli("check", "-p", "nawi-calibration-cg18", "-i", "C034512789").exit_code == 0
    big = cli("check", "-p", "nawi-calibration-cg18", "-i", "6A1234567", "--lang", "en")
    assert big.exit_code == 1 and "does not cover the range 0 – 150 kg of instrument 6A1234567" in big.output
    assert "(its lines in the field: 0 – 220 g; 0.2 – 6 kg)" in big.output
    vi = cli("check", "-p", "nawi-calibration-cg18", "-i", "6A1234567").output
    assert "bảng CMC không phủ hết phạm vi đo 0 – 150 kg" in vi and "0 – 220 g; 0,2 – 6 kg" in vi  # decimal comma
    assert cli("check", "-i", "NOPE").exit_code == 1


def test_expired_certificate_and_deactivated_staff_show_up_in_check(
    registry: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_examples()
    assert cli("staff", "deactivate", "hoa").exit_code == 0
    result = cli("check", "-p", "nawi-calibration-cg18", "--lang", "en")
    assert result.exit_code == 1 and "no reviewer" in result.output and "no signatory" in result.output
    monkeypatch.setattr("registry.settings.lab_today", lambda: date(2027, 9, 15))  # the day after W-E2's validity
    result = cli("check", "-p", "nawi-calibration-cg18", "--lang", "en")
    assert "W-E2's certificate V08.KL-2026/0117 expired on 14/09/2027" in result.output


def test_import_rejected_rows_exit_1_dry_run_and_update(registry: Engine, tmp_path: Path) -> None:
    sheet = tmp_path / "staff.csv"
    sheet.write_text(
        "tên đăng nhập,họ và tên,vai trò,quy trình\nlan,Nguyễn Thị Lan,kỹ thuật viên,nawi-calibration-cg18\n"
        "tu,Lê Tú,kỹ thuật viên,no-such-procedure\n",
        encoding="utf-8-sig",
    )
    dry = cli("import", "staff", str(sheet), "--dry-run", "--lang", "en")
    assert dry.exit_code == 1 and "Dry run: nothing was written" in dry.output
    assert "'no-such-procedure' is not a procedure id" in dry.output and "nawi-calibration-cg18" in dry.output
    assert cli("staff", "show", "lan").exit_code == 1  # not written
    assert cli("import", "staff", str(sheet)).exit_code == 1
    assert "lan" in cli("staff", "list").output
    again = cli("import", "staff", str(sheet), "--update", "--lang", "en")
    assert again.exit_code == 1 and "1 unchanged" in again.output
    assert cli("import", "cmc", str(tmp_path / "missing.csv")).exit_code == 2


def test_single_commands_and_their_errors(registry: Engine) -> None:
    assert cli("staff", "add", "minh", "--name", "Lê Minh").exit_code == 0
    assert cli("staff", "add", "minh", "--name", "Lê Minh").exit_code == 2
    assert cli("staff", "authorise", "minh", "nawi-calibration-cg18", "--perform").exit_code == 0
    bad = cli("staff", "authorise", "minh", "cg18", "--perform")
    assert bad.exit_code == 2 and "nawi-calibration-cg18" in bad.output
    assert cli("staff", "authorise", "nobody", "nawi-calibration-cg18", "--perform").exit_code == 1
    assert "perform" in cli("staff", "show", "minh").output
    added = cli("standards", "add", "BAL-9", "--name", "Cân", "--kind", "weight set", "--driver", "mt-sics")
    assert added.exit_code == 2 and "go together" in added.output
    bad_driver = cli("standards", "add", "BAL-9", "--name", "Cân", "--kind", "x", "--driver", "nope", "--address", "a")
    assert bad_driver.exit_code == 2 and "mt-sics" in bad_driver.output
    ok = cli("standards", "add", "W-F1", "--name", "Bộ quả cân F1", "--kind", "weight set", "--class", "F1")
    assert ok.exit_code == 0
    assert "no certificate" in cli("standards", "list").output
    assert cli("standards", "deactivate", "W-F1").exit_code == 0
    assert "W-F1" not in cli("standards", "list").output
    assert cli("standards", "show", "NOPE").exit_code == 1
    assert cli("lab", "show").exit_code == 1
    assert cli("check", "-p", "nope").exit_code == 2


def _shifted(source: Path, target: Path, today: date) -> None:
    """A copy of the example certificates with their dates moved so that they are in force on ``today`` (the
    examples are dated 2026/2027; the run below uses the real date in the lab's time zone)."""
    text = source.read_text(encoding="utf-8-sig")
    for old, new in (
        ("15/09/2026", today - timedelta(days=60)),
        ("14/09/2027", today + timedelta(days=300)),
        ("20/08/2026", today - timedelta(days=90)),
        ("19/08/2027", today + timedelta(days=270)),
    ):
        text = text.replace(old, new.strftime("%d/%m/%Y"))
    target.write_text(text, encoding="utf-8-sig")


def test_a_centre_set_up_from_the_examples_runs_cg18_by_url_and_reviews_it(
    tmp_path: Path, sim_thread: SimulatorThread
) -> None:
    """The README's path: import the examples, calibrate the instrument B912345678 by technician lan with W-E2 and
    ENV-1 on the virtual lab's MT-SICS balance given by URL (a person placing the loads), review it as hoa."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALTRACE_")}
    env["CALTRACE_DATA_DIR"] = str(tmp_path / "var")
    assert caltrace(env, "db", "upgrade").returncode == 0
    from registry.settings import lab_today

    _shifted(EXAMPLES / "certificates.csv", tmp_path / "certificates.csv", lab_today())
    for kind in (*KINDS, "instruments"):
        path = tmp_path / "certificates.csv" if kind == "certificates" else EXAMPLES / f"{kind}.csv"
        done = caltrace(env, "registry", "import", kind, str(path))
        assert done.returncode == 0, (kind, done.stdout, done.stderr)
    assert caltrace(env, "registry", "check", "-p", CG18).returncode == 0
    balance = sim_thread.start(
        MtSicsSimulator(SimOptions("bal-9", "B912345678", seed=5), settle_time=0.1, stability_timeout=0.3)
    )
    assert isinstance(balance, MtSicsSimulator)
    balance.control("set_sensitivity_error", relative=2e-6)
    thermo = sim_thread.start(
        EnvironmentSimulator(SimOptions("env-9", "20231005", seed=9), temperature=22.0, humidity=55.0)
    )
    command = [
        CALTRACE, "calibrate", "-p", CG18, "-i", "B912345678", "-t", "lan",
        "-s", "weights=W-E2", "-s", "environment=ENV-1",
        "--connect", f"balance=mt-sics@{balance.url}?timeout=1",
        "--connect", f"environment=comet-t7510@{thermo.url}",
        "--param", "loads_g=[50,100,150,200,220]", "--param", "repeat_load_g=100",
        "--param", "eccentricity_load_g=70", "--lang", "vi", "--json",
    ]  # fmt: skip
    proc = subprocess.Popen(
        command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    log: list[str] = []

    def place(nominal: float) -> None:  # the example certificate's pieces are the demo set's: same true masses
        balance.control("place", load_g=true_mass(nominal))

    person = threading.Thread(target=_operator, args=(proc, place, log), daemon=True)
    person.start()
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.wait(120)
    person.join(10)
    assert proc.returncode == 0, "".join(log)
    doc = json.loads(out)
    errors = [r for r in doc["results"] if r["quantity"] == "error of indication"]
    assert len(errors) == 5
    for r in errors:  # +2 ppm of the conventional mass, within rounding and noise of d = 0.1 mg
        assert r["value"] == pytest.approx(2e-6 * true_mass(r["point"]), abs=1.5e-4)
    reviewed = caltrace(env, "runs", "review", doc["run_id"][:8], "--reviewer", "hoa")
    assert reviewed.returncode == 0, reviewed.stderr
    shown = caltrace({**env, "COLUMNS": "200"}, "runs", "show", doc["run_id"][:8])
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "người xem xét" in text and "hoa" in text  # the reviewer, in Vietnamese (the default)
    assert "+07:00" in text  # times in the lab's time zone, Asia/Ho_Chi_Minh
    for r in errors:  # each error of indication with its U as a certificate states it, in Vietnamese notation
        assert f"{_vi_number(r['point'], 0)} g" in text
        assert f"{ilac_p14_vi(r['U'])} g" in text, (r["U"], text)
    assert "sai số chỉ thị" in text and "error of indication" not in text
    table = text.partition("ngân sách")[0]  # the summary and the results table, before the first budget
    assert "0.0" not in table  # no decimal point in the Vietnamese results


def _vi_number(x: float, decimals: int) -> str:
    """``x`` with ``decimals`` places and a decimal comma, the decimals grouped in threes by U+202F when there are more
    than four of them (ISO 80000-1:2009 7.3.4, as docs/presentation.md states it)."""
    whole, _, frac = f"{x:.{decimals}f}".partition(".")
    if len(frac) > 4:
        frac = "\u202f".join(frac[i : i + 3] for i in range(0, len(frac), 3))
    return whole + ("," + frac if frac else "")


def ilac_p14_vi(u: float) -> str:
    """U rounded up to two significant digits (ILAC P14:09/2020 5.4; GUM 7.2.6), in Vietnamese notation: worked here
    with exact decimals, independently of caltrace's own rounding."""
    from decimal import ROUND_CEILING, Decimal

    d = Decimal(repr(u))
    exponent = d.adjusted() - 1  # the place of the second significant digit
    rounded = d.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_CEILING)
    return _vi_number(float(rounded), max(0, -exponent))


def test_a_piece_outside_its_class_is_imported_with_a_note(registry: Engine, tmp_path: Path) -> None:
    """E2 200 g: δm = 0.3 mg (OIML R111-1:2004 Table 1). Correction +0.25 mg with U 0.10 mg gives
    |m_c − m_0| + U = 0.35 mg > 0.3 mg (5.3.1): kept (the certificate states its mass) with a note. The 100 g
    piece (δm 0.16 mg): 0.06 + 0.05 = 0.11 mg, U 0.05 ≤ 0.16/3: no note. The examples themselves give none."""
    import_examples()
    sheet = tmp_path / "certs.csv"
    sheet.write_text(
        "mã chuẩn,số giấy chứng nhận,cơ quan cấp,ngày hiệu chuẩn,hiệu lực đến,ký hiệu,giá trị danh định,"
        "số hiệu chính,độ không đảm bảo đo,cấp chính xác\n"
        'W-E2,N-2,VMI,01/12/2026,30/11/2027,200 g,200 g,"+0,25 mg","0,10 mg",E2\n'
        'W-E2,N-2,VMI,01/12/2026,30/11/2027,100 g,100 g,"-0,06 mg","0,05 mg",E2\n',
        encoding="utf-8-sig",
    )
    result = cli("import", "certificates", str(sheet))
    assert result.exit_code == 0, result.output
    assert "0.35 mg exceeds δm = 0.3 mg (R111-1:2004 5.3.1)" in result.output
    assert "100 g class E2" not in result.output
    examples = cli("import", "certificates", str(EXAMPLES / "certificates.csv"), "--dry-run", "--update")
    assert "class E2" not in examples.output


def test_the_certificates_summary_counts_certificates_and_says_so(registry: Engine) -> None:
    """certificates.csv lists value rows; a certificate goes in whole, so the summary counts certificates (the
    distinct numbers in the file, counted here from the file itself) and says which count is in which unit."""
    import csv

    for kind in ("laboratory", "standards"):
        assert cli("import", kind, str(EXAMPLES / f"{kind}.csv")).exit_code == 0
    with (EXAMPLES / "certificates.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    numbers = {row[1] for row in rows[1:] if row}
    done = cli("import", "certificates", str(EXAMPLES / "certificates.csv"))
    assert done.exit_code == 0, done.output
    assert f"{len(rows) - 1} dòng giá trị: đã nhập {len(numbers)}, bị từ chối 0" in done.output
    assert "đếm theo giấy chứng nhận" in done.output
