"""The virtual lab and `caltrace read`/`control` as a user runs them: separate processes, real sockets."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CALTRACE = str(Path(sys.executable).parent / "caltrace")


def run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CALTRACE, *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module", autouse=True)
def own_data_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every command of this module on a data directory of its own (never the checkout's ``var``)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CALTRACE_DATA_DIR", str(tmp_path_factory.mktemp("var")))
        yield


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`caltrace simulate --manifest` in its own process, with the default lab on any free ports."""
    manifest = tmp_path_factory.mktemp("lab") / "lab.json"
    proc = subprocess.Popen(
        [CALTRACE, "simulate", "--manifest", str(manifest), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not manifest.exists():
        assert proc.poll() is None, f"simulate exited: {proc.stderr.read() if proc.stderr else ''}"
        assert time.monotonic() < deadline, "manifest never appeared"
        time.sleep(0.05)
    doc = json.loads(manifest.read_text())
    doc["path"] = str(manifest)
    yield doc
    proc.terminate()
    proc.wait(10)


def test_manifest_lists_every_instrument_with_the_contract_keys(lab: dict) -> None:
    entries = lab["instruments"]
    assert {e["id"] for e in entries} >= {"bal-1", "bal-2", "env-1", "env-2"}
    for e in entries:
        assert {"id", "model", "protocol", "url", "serial_number"} <= set(e)
        assert e["url"].split("://", 1)[1].startswith("127.0.0.1:")
    protocols = {e["id"]: e["protocol"] for e in entries}
    assert protocols["bal-1"] == "mt-sics"
    assert protocols["bal-2"] == "sbi"
    assert protocols["env-1"] == "modbus-tcp"
    assert protocols["env-2"] == "modbus-rtu"
    assert (protocols["flow-1"], protocols["flow-2"], protocols["flow-3"]) == ("modbus-tcp", "modbus-rtu", "modbus-tcp")
    flows = {e["id"]: e for e in entries if e["id"].startswith("flow-")}
    assert [(flows[i]["model"], flows[i]["unit"]) for i in ("flow-1", "flow-2", "flow-3")] == [
        ("siemens-sitrans-fc-mass6000", 1),
        ("endress-hauser-promass83", 2),
        ("krohne-gfc300", 1),
    ]
    assert all(f"unit={e['unit']}" in e["url"] for e in flows.values())
    assert protocols["cal-1"] == "fluke-5520a"
    assert protocols["dmm-1"] == "scpi"
    assert protocols["dmm-2"] == "hp3458a"
    assert lab["control"].startswith("tcp://127.0.0.1:")


@pytest.mark.parametrize(
    "instrument", ["bal-1", "bal-2", "env-1", "env-2", "flow-1", "flow-2", "flow-3", "cal-1", "dmm-1", "dmm-2"]
)
def test_every_instrument_is_readable_with_caltrace_read(lab: dict, instrument: str) -> None:
    entry = next(e for e in lab["instruments"] if e["id"] == instrument)
    result = run(
        "read",
        entry["url"],
        "--model",
        entry["model"],
        "--count",
        "2",
        "--interval",
        "0.1",
        "--json",
        "--id",
        instrument,
    )
    assert result.returncode == 0, result.stderr
    readings = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(readings) >= 2
    assert all(r["instrument_id"] == instrument for r in readings)
    assert all(r["status"] in {"stable", "dynamic"} for r in readings)


def test_a_load_placed_through_the_control_port_is_weighed(lab: dict) -> None:
    entry = next(e for e in lab["instruments"] if e["id"] == "bal-1")
    placed = run("control", "bal-1", "place", "load_g=100", "--manifest", lab["path"])
    assert placed.returncode == 0, placed.stderr
    time.sleep(3)  # let it settle
    result = run("read", entry["url"], "--model", entry["model"], "--json")
    reading = json.loads(result.stdout.splitlines()[-1])
    assert reading["unit"] == "g"
    assert reading["value"] == pytest.approx(100, abs=0.01)


def test_control_errors_are_one_clear_line(lab: dict) -> None:
    result = run("control", "bal-9", "place", "load_g=1", "--manifest", lab["path"])
    assert result.returncode == 1
    assert "no instrument 'bal-9'" in result.stderr and "Traceback" not in result.stderr
    result = run("control", "bal-1", "explode", "--manifest", lab["path"])
    assert result.returncode == 1 and "unknown action 'explode'" in result.stderr


def test_read_with_a_bad_address_or_model_exits_2_without_traceback() -> None:
    for args, words in [
        (("read", "socket://127.0.0.1", "--model", "mt-sics"), "no TCP port"),
        (("read", "socket://127.0.0.1:1", "--model", "nonesuch"), "no driver for model 'nonesuch'"),
    ]:
        result = run(*args)
        assert result.returncode == 2, result
        assert words in result.stderr and "Traceback" not in result.stderr


def test_read_from_a_vanished_instrument_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run("read", f"socket://127.0.0.1:{port}?timeout=0.3", "--model", "mt-sics")
    assert result.returncode == 1
    assert "cannot open the link" in result.stderr and "Traceback" not in result.stderr


def test_simulate_rejects_a_bad_configuration(tmp_path: Path) -> None:
    config = tmp_path / "lab.json"
    config.write_text(json.dumps({"instruments": [{"id": "x", "kind": "teapot", "serial_number": "1"}]}))
    result = run("simulate", "--config", str(config), "--port", "0")
    assert result.returncode == 2
    assert "unknown kind 'teapot'" in result.stderr and "Traceback" not in result.stderr


def test_simulate_stream_prints_live_readings() -> None:
    result = run("simulate", "--stream", "--interval", "0.2", "--duration", "2", "--port", "0", timeout=60)
    assert result.returncode == 0, result.stderr
    lines = [ln for ln in result.stdout.splitlines() if "[stable]" in ln or "[dynamic]" in ln]
    assert any("bal-1" in ln for ln in lines) and any("env-1" in ln for ln in lines)
