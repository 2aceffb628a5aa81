"""Who executes a run: the lease a process holds on it, its heartbeat, and the checks that it still holds it.

A process that executes a run records itself in the run's checkpoint (``owner``: computer, process id, the
process's start, a sign of life ``seen`` by the registry server's clock) and refreshes ``seen`` every
:data:`HEARTBEAT_S`. Another process may take the run over (``caltrace calibrate --resume``) when the owner is
gone: on the same computer when its process no longer lives, on another computer after :data:`STALE_S` without a
sign of life (decision record 0302). The executing process checks before each write, command and poll that it
still holds the run, and stops (:class:`~acquisition.errors.RunTakenOver`) when it does not.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from acquisition.errors import RunError, RunNotFound, RunTakenOver
from acquisition.ownership import process_start, same_process
from registry import checkpoint
from registry.db import server_time, session_scope
from registry.models import Run, RunState

log = logging.getLogger(__name__)

#: seconds between the executing process's signs of life in the run's checkpoint (``owner.seen``)
HEARTBEAT_S = 30.0
#: seconds without a sign of life after which a run executed on another computer counts as abandoned
STALE_S = 150.0


def _own_process() -> dict[str, Any] | None:
    """This process's start record (:func:`acquisition.ownership.process_start`)."""
    return process_start(os.getpid())


def _alive_here(owner: Mapping[str, Any]) -> bool:
    """True when ``owner`` names another live process on this computer (a crashed one is not alive).

    A live process with the owner's id is the owner only if it also started when the owner did (``owner.process``:
    boot id and start time): after a reboot or a wrap of the pid counter the id may belong to another program.
    An owner record without a start (written by an older caltrace), or a process whose start cannot be read,
    counts as the owner while the id is alive: a run is never taken from a process that may still execute it.
    """
    pid = owner.get("pid")
    if owner.get("host") != socket.gethostname() or not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        pass
    recorded = owner.get("process")
    if not isinstance(recorded, Mapping):
        return True
    current = process_start(pid)
    return current is None or same_process(recorded, current) is not False


def _holder_problem(run_id: str, owner: Mapping[str, Any], now: float) -> str | None:
    """Why ``owner`` (the checkpoint's record of the executing process) still holds ``run_id``, or None.

    On this computer the process is asked directly; on another one it holds the run while it has shown a sign of
    life (``seen``, Unix seconds by the registry server's clock, as ``now``) within :data:`STALE_S`.
    """
    if not owner:
        return None
    if owner.get("host") == socket.gethostname():
        if _alive_here(owner):
            return (
                f"run {run_id} is being executed by process {owner.get('pid')} on this computer; "
                "wait for it to finish or pause, or stop that process first"
            )
        return None
    seen = owner.get("seen")
    if not isinstance(seen, (int, float)) or now - seen >= STALE_S:
        return None
    return (
        f"run {run_id} is being executed on computer {owner.get('host')!r} (process {owner.get('pid')}, last heard "
        f"from {max(0, round(now - seen))} s ago); finish or pause it there. If that computer has crashed, resume "
        f"after {STALE_S:.0f} s without news from it"
    )


def owner_record(s: Session) -> dict[str, Any]:
    """This process as the executor of a run: computer, process id, the process's start (so that a later
    process given the same id is not taken for it) and a sign of life now (Unix s by the registry server's
    clock, so that computers whose clocks disagree still judge staleness alike)."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "process": _own_process(), "seen": server_time(s)}


def held(s: Session, run_id: str) -> Run:
    """``run_id``, locked for this transaction, after checking that this process still executes it.

    Raises :class:`RunTakenOver` when the checkpoint names another executor (it took the run over while this
    process was silent for :data:`STALE_S`, e.g. a network outage) or the run was aborted meanwhile.
    """
    run = checkpoint.locked_run(s, run_id)
    if run is None:
        raise RunNotFound(f"no run {run_id!r} in the registry")
    owner = run.checkpoint.get("owner") or {}
    if run.state is not RunState.RUNNING:
        reason = run.message or "no reason given"
        raise RunTakenOver(
            f"run {run_id} was {run.state.value} while this computer executed it ({reason}); this computer "
            "stopped. The readings taken so far are kept in the store"
        )
    recorded, mine = owner.get("process"), _own_process()
    if (
        owner.get("host") != socket.gethostname()
        or owner.get("pid") != os.getpid()
        or (isinstance(recorded, Mapping) and mine is not None and same_process(recorded, mine) is False)
    ):
        raise RunTakenOver(
            f"run {run_id} was taken over by computer {owner.get('host')!r} (process {owner.get('pid')}) after "
            f"this computer had not been heard from for {STALE_S:.0f} s; this computer stopped. The readings "
            f"taken so far are kept in the store; continue the run on {owner.get('host')!r}"
        )
    return run


def heartbeat(
    registry: Engine,
    actor: str,
    lock: threading.Lock,
    run_id: str,
    stop: threading.Event,
    lost: threading.Event,
) -> None:
    """Refresh ``owner.seen`` every :data:`HEARTBEAT_S` while the run executes (an operator action may take
    longer than :data:`STALE_S`); set ``lost`` when the run was taken over or aborted meanwhile. ``lock`` is the
    executing engine's checkpoint lock (the steps' writes and the heartbeat take turns)."""
    while not stop.wait(HEARTBEAT_S):
        try:
            with lock, session_scope(registry, actor) as s:
                checkpoint.record_owner(held(s, run_id), owner_record(s))
        except RunError:  # taken over or aborted: the run's own thread stops at its next poll, command or save
            lost.set()
            return
        except Exception:  # the registry may be briefly away; the next beat tries again
            log.warning("run %s: could not record a sign of life", run_id, exc_info=True)


def still_held(registry: Engine, actor: str, lock: threading.Lock, run_id: str, lost: threading.Event) -> None:
    """RunTakenOver when the heartbeat found the run taken over or aborted (``lost`` set; checked before each
    command and poll, so an abort stops a long stability wait within a heartbeat)."""
    if lost.is_set():
        with lock, session_scope(registry, actor) as s:
            held(s, run_id)
