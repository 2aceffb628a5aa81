"""The start record that tells a run's executor from a later process given the same id (issue 14.7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from acquisition import ownership
from acquisition.ownership import CREATED_TOLERANCE_S, process_start, same_process

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux reads /proc")


@linux
def test_the_linux_record_is_the_boot_id_and_the_start_tick_of_the_process() -> None:
    record = process_start(os.getpid())
    assert record is not None
    assert record["boot_id"] == Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    # independently: start ticks / ticks per second = seconds from boot to this process's start, which psutil
    # gives as create_time - boot_time (both wall-clock based, so compared within a second)
    since_boot = record["start_ticks"] / os.sysconf("SC_CLK_TCK")
    assert since_boot == pytest.approx(psutil.Process().create_time() - psutil.boot_time(), abs=1.0)
    assert process_start(os.getpid()) == record  # stable: nothing in it moves while the process lives


@linux
def test_a_later_process_differs_and_a_vanished_one_has_no_record() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        mine, theirs = process_start(os.getpid()), process_start(child.pid)
        assert mine is not None and theirs is not None
        assert theirs["start_ticks"] > mine["start_ticks"] and theirs["boot_id"] == mine["boot_id"]
        assert same_process(mine, theirs) is False
    finally:
        child.kill()
        child.wait(10)
    assert process_start(child.pid) is None  # reaped: no /proc entry


@linux
def test_a_command_name_with_parentheses_and_spaces_does_not_shift_the_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sys/kernel/random").mkdir(parents=True)
    (tmp_path / "sys/kernel/random/boot_id").write_text("b00t\n")
    (tmp_path / "77").mkdir()
    # field 3 is S and fields 4..21 are 2..19 here, so field 22 (starttime) is 987654; the comm is "a) (b c"
    fields = " ".join(["S", *map(str, range(2, 20)), "987654", "0", "0"])
    (tmp_path / "77/stat").write_text(f"77 (a) (b c) {fields}\n")
    monkeypatch.setattr(ownership, "_PROC", str(tmp_path))
    assert process_start(77) == {"boot_id": "b00t", "start_ticks": 987654}


def test_comparisons() -> None:
    a = {"boot_id": "x", "start_ticks": 100}
    assert same_process(a, {"boot_id": "x", "start_ticks": 100}) is True
    assert same_process(a, {"boot_id": "x", "start_ticks": 101}) is False
    assert same_process(a, {"boot_id": "y", "start_ticks": 100}) is False  # another boot: not even comparable ticks
    assert same_process({"created": 1000.0}, {"created": 1000.0 + CREATED_TOLERANCE_S / 2}) is True
    assert same_process({"created": 1000.0}, {"created": 1000.0 + 2 * CREATED_TOLERANCE_S}) is False
    assert same_process(a, {"created": 1000.0}) is None  # different kinds: cannot tell
    assert same_process({"boot_id": "x"}, {"boot_id": "x", "start_ticks": 1}) is None


def test_elsewhere_psutil_gives_the_creation_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ownership.sys, "platform", "win32")
    record = process_start(os.getpid())
    assert record is not None and set(record) == {"created"}
    assert same_process(record, {"created": psutil.Process().create_time()}) is True
