"""Which process executes a run: an identity of a process's start that a reused process id does not share.

A run's checkpoint names its executor by computer and process id (decision 0302). A process id alone is not an
identity: after a reboot, or after the kernel wraps its pid counter, another process (a browser, a shell) may hold
the same number, and "is process 14642 alive?" then says yes for ever. So the executor also records when its
process started:

* Linux: the boot id (``/proc/sys/kernel/random/boot_id``, a new random UUID at every boot) and the start time in
  clock ticks since boot (``/proc/<pid>/stat`` field 22, ``starttime``; proc(5)). Both are exact integers and do not
  move when the wall clock is set, so equality is the test.
* Elsewhere (Windows, macOS): psutil's ``Process.create_time()`` (Unix seconds from the operating system's own
  record of the process), compared within :data:`CREATED_TOLERANCE_S`.

psutil is not used on Linux because it derives the start from the boot time in ``/proc/stat`` (``btime``), which the
kernel recomputes when the clock is stepped (e.g. by NTP), so two processes could compute different start times for
one process and wrongly take over a live run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

import psutil

#: seconds within which two psutil start times name the same process (its record has sub-second resolution)
CREATED_TOLERANCE_S = 1.0

_PROC = "/proc"


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _linux_start(pid: int) -> dict[str, Any] | None:
    boot = _read(f"{_PROC}/sys/kernel/random/boot_id")
    stat = _read(f"{_PROC}/{pid}/stat")
    if not boot or not stat:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')';
    # the fields after it start at field 3 (state), so field 22 (starttime) is the 20th of them
    fields = stat[stat.rfind(")") + 1 :].split()
    if len(fields) < 20 or not fields[19].isdigit():
        return None
    return {"boot_id": boot.strip(), "start_ticks": int(fields[19])}


def _psutil_start(pid: int) -> dict[str, Any] | None:
    try:
        return {"created": float(psutil.Process(pid).create_time())}
    except (psutil.Error, OSError, ValueError):
        return None


def process_start(pid: int) -> dict[str, Any] | None:
    """How process ``pid`` is told apart from a later process with the same id (JSON-ready), or None when this
    computer will not say (no such process, or its record cannot be read)."""
    if sys.platform.startswith("linux") and os.path.isdir(_PROC):
        return _linux_start(pid)
    return _psutil_start(pid)


def same_process(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> bool | None:
    """True when the two start records name one process, False when they name two, None when they cannot be
    compared (records of different kinds, or malformed)."""
    if "boot_id" in recorded and "boot_id" in current:
        if recorded.get("boot_id") != current.get("boot_id"):
            return False  # another boot: every process of the recorded one has ended
        a, b = recorded.get("start_ticks"), current.get("start_ticks")
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        return None
    a, b = recorded.get("created"), current.get("created")
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) <= CREATED_TOLERANCE_S
    return None
