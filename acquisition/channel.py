"""The operator channel: the one request/answer interface between a run and the people (or the virtual lab) that
carry it out, with cancellation (decisions 0310 and 0311, docs/runs.md "The operator channel").

A procedure step says *what* must happen ("place the 200 g weight", "open the valve to Q3") as an
:class:`OperatorAction`; a manual-entry instrument asks for a value the same way (an action that ``expects`` a
value, with its unit and quantity). The engine hands every action to its :class:`OperatorChannel`, which

1. writes it to the registry as a pending action of the run (``registry.actions``), with its deadline;
2. offers it to the local :class:`FrontEnd` (the console, the virtual lab's automatic operator, later a web page),
   which answers when it can, from any thread;
3. waits for the first answer from anywhere: the local front end, or another process through the registry
   (``caltrace runs answer``); it also stops waiting when the action times out (the run pauses) or the run is
   cancelled (checked every :data:`WAIT_SLICE_S` locally and at most every :data:`REGISTRY_CHECK_S` in the
   registry).

An answer is ``done``, a ``value`` (typed text, parsed by the instrument) or ``stop`` (the run pauses,
resumable). Texts are Vietnamese first, English second. The channel also carries the run's :class:`EventBus`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from acquisition.events import EventBus
from acquisition.wording import measurand_words
from drivers.base import Instrument
from drivers.manual import EntryError, ManualEntry, parse_entry
from registry import actions
from registry.db import read_session, session_scope
from registry.errors import NotPermittedError, RegistryBusyError
from registry.models import ActionStatus, OperatorActionRecord, Run, RunState

log = logging.getLogger(__name__)

#: seconds an operator action waits for its answer unless the run (``OperatorChannel(timeout_s=...)``, the CLI's
#: ``CALTRACE_ACTION_TIMEOUT_S``) or the action itself (``OperatorAction.timeout_s``) says otherwise: one hour, long
#: enough for the slowest manual step of the procedures (a flow run at Q1, a weight set's ABBA cycle), short enough
#: that a run left waiting on an unattended bench does not hold its sources and lease all day
DEFAULT_ACTION_TIMEOUT_S = 3600.0
#: seconds between the registry checks for a cancel request or an answer from another process (at most)
REGISTRY_CHECK_S = 0.5
#: seconds between the local checks (an answer from the front end, a local cancel) while waiting
WAIT_SLICE_S = 0.1


@dataclass(frozen=True)
class OperatorAction:
    """Something a person must do before the next readings, or a value they must read and type.

    ``kind`` is machine-readable (``place-load``, ``remove-load``, ``set-flow``, ``set-output``, ``confirm``,
    ``manual-entry``...); ``params`` carries its numbers with units in the key names where needed (e.g.
    ``{"load_g": 200.0}``). ``expects`` is ``done`` (confirm) or ``value`` (type a reading, in ``unit`` for
    ``quantity``). ``timeout_s`` overrides the run's answer timeout for this action (s).
    """

    kind: str
    text_vi: str
    text_en: str
    params: dict[str, Any] = field(default_factory=dict)
    expects: str = "done"
    unit: str = ""
    quantity: str = ""
    timeout_s: float | None = None

    def __post_init__(self) -> None:
        if self.expects not in ("done", "value"):
            raise ValueError(f"an operator action expects 'done' or 'value', not {self.expects!r}")
        if self.timeout_s is not None and not self.timeout_s > 0:
            raise ValueError(f"an operator action's timeout must be > 0 s, got {self.timeout_s}")

    def text(self, language: str = "vi") -> str:
        """The instruction in ``language`` (``vi`` or ``en``)."""
        return self.text_vi if language == "vi" else self.text_en


def localised(title: str, language: str) -> str:
    """A step title in ``language`` first: titles are written ``"Vietnamese / English"``; for ``"en"`` the halves
    swap (``"English / Vietnamese"``). A title without the separator is returned as it is."""
    vi, sep, en = title.partition(" / ")
    return f"{en} / {vi}" if sep and language == "en" else title


def title_in(title: str, language: str) -> str:
    """A step title in ``language`` only: the Vietnamese half of ``"Vietnamese / English"`` for ``"vi"``, the
    English half for ``"en"``. A title without the separator is returned as it is."""
    vi, sep, en = title.partition(" / ")
    if not sep:
        return title
    return en if language == "en" else vi


@dataclass(frozen=True)
class Answer:
    """An answer to an action: ``kind`` is ``done``, ``value`` (``value``: the typed text) or ``stop`` (``note``:
    why); ``by`` who answered."""

    kind: str
    value: str | None = None
    by: str = ""
    note: str = ""

    @classmethod
    def done(cls, by: str = "") -> Answer:
        return cls("done", by=by)

    @classmethod
    def typed(cls, value: str, by: str = "") -> Answer:
        return cls("value", value, by=by)

    @classmethod
    def stop(cls, note: str = "", by: str = "") -> Answer:
        return cls("stop", by=by, note=note)


@dataclass(frozen=True)
class Request:
    """A pending action as a front end sees it: its registry id, run, step, the action, its deadline (UTC) and,
    for manual entry, the instrument's prompt and role."""

    action_id: int
    run_id: str
    step: str
    action: OperatorAction
    deadline: datetime | None = None
    prompt: str = ""
    role: str = ""


class OperatorAborted(Exception):  # noqa: N818 - an outcome, not a fault
    """The operator answered stop (or nobody is there to answer): the run pauses and can be resumed."""


class ActionTimedOut(Exception):  # noqa: N818 - an outcome
    """Nobody answered an action before its deadline: the run pauses (the message says what was asked)."""


class RunCancelled(Exception):  # noqa: N818 - an outcome
    """Someone cancelled the run (``by``; ``abort``: abandon it rather than pause it; ``reason``)."""

    def __init__(self, by: str, abort: bool = False, reason: str = "") -> None:
        self.by = by
        self.abort = abort
        self.reason = reason
        super().__init__(f"cancelled by {by}" + (f" ({reason})" if reason else ""))


Reply = Callable[[Answer], None]


class FrontEnd(ABC):
    """Answers operator actions: shows each :class:`Request` and calls ``reply`` (from any thread) with the answer.

    ``present`` may answer before it returns (the virtual lab acts at once) or later (a person at a terminal);
    ``withdraw`` tells it that the request needs no answer any more (answered elsewhere, timed out, cancelled).
    """

    @abstractmethod
    def present(self, request: Request, reply: Reply) -> None:
        """Show ``request``; answer it with ``reply(Answer...)`` now or later."""

    def withdraw(self, request: Request, why: str) -> None:  # noqa: B027 - optional hook
        """``request`` needs no answer from this front end any more (``why``: e.g. answered by whom)."""


class AutomaticFrontEnd(FrontEnd):
    """Answers every action at once with functions: ``act(action)`` performs it (the virtual lab's controls in demo
    mode, a script in tests) and raising :class:`OperatorAborted` answers stop; ``readers[role](prompt)`` gives a
    manual-entry value (the demo scenario's virtual reader). ``log`` shows what it does (``[demo] ...``)."""

    def __init__(
        self,
        act: Callable[[OperatorAction], None],
        log: Callable[[str], None] | None = None,
        readers: dict[str, Callable[[str], str]] | None = None,
        by: str = "automatic operator",
    ) -> None:
        self._act = act
        self._log = log
        self.readers: dict[str, Callable[[str], str]] = dict(readers or {})
        self.by = by
        self.performed: list[OperatorAction] = []

    def present(self, request: Request, reply: Reply) -> None:
        action = request.action
        if action.expects == "value":
            reader = self.readers.get(request.role)
            if reader is None:
                reply(Answer.stop(f"no reader for the {request.role or 'manual entry'} in automatic mode", self.by))
                return
            reply(Answer.typed(reader(request.prompt), self.by))
            return
        if self._log is not None:
            self._log(f"[demo] {action.text('vi')} / {action.text('en')}")
        try:
            self._act(action)
        except OperatorAborted as exc:
            reply(Answer.stop(str(exc), self.by))
            return
        self.performed.append(action)
        reply(Answer.done(self.by))


class _Box:
    """The first answer a front end gives (thread-safe)."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.answer: Answer | None = None
        self._lock = threading.Lock()

    def put(self, answer: Answer) -> None:
        with self._lock:
            if self.answer is None:
                self.answer = answer
        self.ready.set()


Retry = Callable[[Callable[[], Any], str], Any]


def _once(write: Callable[[], Any], _what: str) -> Any:
    return write()


@dataclass
class _Binding:
    """The run the channel serves while the engine executes it."""

    registry: Engine
    run_id: str
    actor: str
    retry: Retry
    gone: Callable[[], None]  # raises when the run is no longer this process's (aborted, taken over)
    step: str = ""
    checked: float = -1e9  # monotonic time of the last registry check


@dataclass(frozen=True)
class _Seen:
    """What one registry check found."""

    cancel: RunCancelled | None
    running: bool
    action: OperatorActionRecord | None


class OperatorChannel:
    """Carries operator actions to a :class:`FrontEnd` and answers back, persisted in the registry; watches for
    cancellation; publishes the run's events on ``events``.

    ``timeout_s`` is the run's answer timeout (default :data:`DEFAULT_ACTION_TIMEOUT_S`). The engine binds the
    channel to a run for one execution (:meth:`bound`); the code that opens the instruments wires manual-entry
    instruments to :meth:`manual_entry` before that.
    """

    def __init__(self, front_end: FrontEnd, *, events: EventBus | None = None, timeout_s: float | None = None) -> None:
        if timeout_s is not None and not timeout_s > 0:
            raise ValueError(f"the operator action timeout must be > 0 s, got {timeout_s}")
        self.front_end = front_end
        self.events = events if events is not None else EventBus()
        self.timeout_s = timeout_s if timeout_s is not None else DEFAULT_ACTION_TIMEOUT_S
        self._cancel = threading.Event()
        self._cancelled: RunCancelled | None = None
        self._binding: _Binding | None = None

    # --- binding (the engine) ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def bound(
        self, registry: Engine, run_id: str, actor: str, *, retry: Retry = _once, gone: Callable[[], None]
    ) -> Iterator[OperatorChannel]:
        """Serve ``run_id`` inside the block: requests are recorded as ``actor``, writes go through ``retry``
        (the engine's checkpoint retries), and ``gone()`` is called when the registry shows the run is no longer
        running (it raises the engine's taken-over error)."""
        if self._binding is not None:
            raise RuntimeError(f"this operator channel already serves run {self._binding.run_id}")
        self._cancel.clear()
        self._cancelled = None
        self._binding = _Binding(registry, run_id, actor, retry, gone)
        try:
            yield self
        finally:
            self._binding = None

    @property
    def run_id(self) -> str:
        return self._binding.run_id if self._binding is not None else ""

    def at_step(self, step: str) -> None:
        """The step under way (recorded with the actions requested during it)."""
        if self._binding is not None:
            self._binding.step = step

    def publish(self, kind: str, **data: Any) -> None:
        """Publish an event of the bound run (see acquisition.events)."""
        self.events.publish(kind, self.run_id, **data)

    # --- cancellation -----------------------------------------------------------------------------------------

    def cancel(self, by: str, *, abort: bool = False, reason: str = "") -> None:
        """Cancel the run from this process (a local front end): the engine stops within about a second."""
        self._cancelled = RunCancelled(by, abort, reason)
        self._cancel.set()

    def _look(self, action_id: int | None = None) -> _Seen:
        b = self._binding
        assert b is not None
        with read_session(b.registry) as s:
            request = actions.open_cancel(s, b.run_id)
            run = s.get(Run, b.run_id)
            row = s.get(OperatorActionRecord, action_id) if action_id is not None else None
        b.checked = time.monotonic()
        cancel = RunCancelled(request.requested_by, request.abort, request.reason) if request is not None else None
        return _Seen(cancel, run is not None and run.state is RunState.RUNNING, row)

    def check(self, *, force: bool = False, action_id: int | None = None) -> _Seen | None:
        """Raise :class:`RunCancelled` when the run was cancelled here or in the registry (looked up at most every
        :data:`REGISTRY_CHECK_S`, or now with ``force``), or the engine's taken-over error when the run is no
        longer running. Returns what the registry showed when it was looked at (else None)."""
        if self._cancel.is_set():
            assert self._cancelled is not None
            raise self._cancelled
        b = self._binding
        if b is None or (not force and time.monotonic() - b.checked < REGISTRY_CHECK_S):
            return None
        seen = self._look(action_id)
        if seen.cancel is not None:
            raise seen.cancel
        if not seen.running:
            b.gone()
        return seen

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a stability wait's pause), checking for cancellation meanwhile."""
        end = time.monotonic() + seconds
        while True:
            self.check()
            left = end - time.monotonic()
            if left <= 0:
                return
            if self._cancel.wait(min(left, WAIT_SLICE_S)):
                self.check()

    # --- requests ---------------------------------------------------------------------------------------------

    def perform(self, action: OperatorAction) -> None:
        """Have ``action`` done; returns when it is. Raises :class:`OperatorAborted` on a stop answer,
        :class:`ActionTimedOut`, :class:`RunCancelled`."""
        self.ask(action)

    def manual_entry(self, role: str, instrument_id: str, quantity: str = "", unit: str = "") -> Callable[[str], str]:
        """The ``ask`` hook of a manual-entry instrument: each reading becomes a pending action that expects a value
        (the front end's answer, or ``caltrace runs answer ID --value``), worded in Vietnamese and English
        (:func:`manual_entry_texts`). A typed value that is not a reading (:func:`drivers.manual.parse_entry`;
        ``21,4`` and ``21.4`` both are) is asked again with what is wrong, in both languages, up to
        :data:`ENTRY_ATTEMPTS` times in all; after that the last text goes to the instrument, whose error pauses the
        run. The instrument's own prompt (English) is kept as the request's ``prompt``."""

        def ask(prompt: str) -> str:
            def once(error: EntryError | None) -> str:
                vi, en = manual_entry_texts(instrument_id, quantity, unit, error)
                action = OperatorAction(
                    "manual-entry",
                    vi,
                    en,
                    {"role": role, "instrument": instrument_id},
                    expects="value",
                    unit=unit,
                    quantity=quantity,
                )
                return self.ask(action, prompt=prompt, role=role).value or ""

            return ask_until_valid(once, unit)

        return ask

    def ask(self, action: OperatorAction, *, prompt: str = "", role: str = "") -> Answer:
        """Record ``action`` as pending, offer it to the front end and return the first answer (done or value).

        Raises :class:`OperatorAborted` on a stop answer, :class:`ActionTimedOut` when nobody answered in time,
        :class:`RunCancelled` when the run was cancelled meanwhile.
        """
        b = self._binding
        if b is None:
            raise RuntimeError("an operator action outside an executing run (bind the channel to a run first)")
        timeout = action.timeout_s if action.timeout_s is not None else self.timeout_s
        deadline = datetime.now(UTC) + timedelta(seconds=timeout)

        def record() -> int:
            with session_scope(b.registry, b.actor) as s:
                row = actions.request_action(
                    s,
                    b.run_id,
                    step=b.step,
                    kind=action.kind,
                    text_vi=action.text_vi,
                    text_en=action.text_en,
                    params=action.params,
                    expects=action.expects,
                    unit=action.unit,
                    quantity=action.quantity,
                    deadline=deadline,
                )
                return row.id

        self.check()
        action_id: int = b.retry(record, f"operator action '{action.kind}' of run {b.run_id}")
        request = Request(action_id, b.run_id, b.step, action, deadline, prompt or action.text_en, role)
        self.publish(
            "action-requested",
            action_id=action_id,
            step=b.step,
            action_kind=action.kind,
            text_vi=action.text_vi,
            text_en=action.text_en,
            expects=action.expects,
            unit=action.unit,
            quantity=action.quantity,
            deadline=deadline.isoformat(),
        )
        box = _Box()
        try:
            self.front_end.present(request, box.put)
            answer = self._wait(b, request, box, time.monotonic() + timeout, timeout)
        except RunCancelled:
            self._close(b, request, ActionStatus.CANCELLED, "the run was cancelled")
            raise
        except (RegistryBusyError, ActionTimedOut):
            raise
        except Exception as exc:
            self._close(b, request, ActionStatus.WITHDRAWN, f"the run stopped: {exc}")
            raise
        self.publish("action-answered", action_id=action_id, answer=answer.kind, value=answer.value, by=answer.by)
        if answer.kind == "stop":
            raise OperatorAborted(answer.note or "dừng theo yêu cầu / stopped on request")
        return answer

    def _close(self, b: _Binding, request: Request, status: ActionStatus, note: str) -> None:
        """Close the action without an answer, best effort (the run is stopping anyway; a resume supersedes it)."""
        self.front_end.withdraw(request, note)
        try:
            with session_scope(b.registry, b.actor) as s:
                actions.close_action(s, request.action_id, status, note)
        except Exception:
            log.warning("run %s: could not close operator action %s", b.run_id, request.action_id, exc_info=True)

    def _wait(self, b: _Binding, request: Request, box: _Box, end: float, timeout: float) -> Answer:
        while True:
            if box.answer is not None:
                return self._record_answer(b, request, box.answer)
            seen = self.check(action_id=request.action_id)
            row = seen.action if seen is not None else None
            if row is not None and row.status is not ActionStatus.PENDING:
                return self._settled(b, request, row)
            if time.monotonic() >= end:
                return self._time_out(b, request, timeout)
            box.ready.wait(max(0.0, min(WAIT_SLICE_S, end - time.monotonic())))

    def _record_answer(self, b: _Binding, request: Request, answer: Answer) -> Answer:
        """Write the local front end's answer (the first answer wins); an earlier answer from elsewhere stands."""
        by = answer.by or b.actor

        def write() -> None:
            with session_scope(b.registry, by) as s:
                actions.answer_action(
                    s, request.action_id, answer=answer.kind, by=by, value=answer.value, note=answer.note
                )

        try:
            b.retry(write, f"the answer to operator action {request.action_id} of run {b.run_id}")
        except NotPermittedError as exc:
            with read_session(b.registry) as s:
                row = actions.get_action(s, request.action_id)
            if row.status is ActionStatus.ANSWERED:
                return self._settled(b, request, row)
            self.check(force=True)  # aborted or taken over meanwhile: the engine's error
            raise OperatorAborted(str(exc)) from None
        return Answer(answer.kind, answer.value, by, answer.note)

    def _settled(self, b: _Binding, request: Request, row: OperatorActionRecord) -> Answer:
        """The action was answered or closed by another process."""
        if row.status is ActionStatus.ANSWERED:
            by = row.answered_by or ""
            self.front_end.withdraw(request, f"answered by {by}")
            return Answer(row.answer or "done", row.answer_value, by, row.note)
        self.front_end.withdraw(request, row.note or row.status.value)
        self.check(force=True)
        raise OperatorAborted(f"operator action {row.id} was {row.status.value}: {row.note}".rstrip(": "))

    def _time_out(self, b: _Binding, request: Request, timeout: float) -> Answer:
        note = f"no answer within {timeout:g} s"

        def write() -> ActionStatus:
            with session_scope(b.registry, b.actor) as s:
                return actions.close_action(s, request.action_id, ActionStatus.TIMED_OUT, note).status

        status = b.retry(write, f"the timeout of operator action {request.action_id} of run {b.run_id}")
        if status is ActionStatus.ANSWERED:  # answered at the last moment: the answer stands
            with read_session(b.registry) as s:
                return self._settled(b, request, actions.get_action(s, request.action_id))
        self.front_end.withdraw(request, note)
        action = request.action
        asked = f"'{action.text_vi}' ({action.text_en})"
        raise ActionTimedOut(
            f"nobody answered operator action {request.action_id}, {asked}, within {timeout:g} s; when someone is "
            f"at the bench, resume the run: caltrace calibrate --resume {b.run_id}"
        )


#: times a manual entry is asked before a text that is not a reading goes to the instrument (as drivers.manual does)
ENTRY_ATTEMPTS = 3


def ask_until_valid(ask_once: Callable[[EntryError | None], str], unit: str) -> str:
    """A typed reading: ``ask_once(error)`` (``error``: what was wrong with the previous text, None at first) until
    its text reads as a value (:func:`drivers.manual.parse_entry`, default ``unit``), at most :data:`ENTRY_ATTEMPTS`
    times; then the last text is returned as it is (the instrument's own error reports it)."""
    error: EntryError | None = None
    typed = ""
    for _ in range(ENTRY_ATTEMPTS):
        typed = ask_once(error)
        try:
            parse_entry(typed, unit)
        except EntryError as exc:
            error = exc
            continue
        return typed
    return typed


#: why a typed text is not a reading (drivers.manual.EntryError.reason) -> (Vietnamese, English); {text} is what was
#: typed. The examples show each language's decimal sign; both are accepted.
_ENTRY_ERRORS: dict[str, tuple[str, str]] = {
    "number": (
        "không đọc được {text!r} thành một số (có thể kèm đơn vị); gõ ví dụ 21,4 °C",
        "cannot read {text!r} as a number with an optional unit; type e.g. 21.4 °C",
    ),
    "finite": ("{text!r} không phải là một số hữu hạn", "{text!r} is not a finite number"),
    "unit": (
        "{text!r} không có đơn vị và thiết bị chưa đặt đơn vị; gõ ví dụ 21,4 °C",
        "{text!r} has no unit and none is set for this instrument; type e.g. 21.4 °C",
    ),
}


def manual_entry_texts(
    instrument_id: str, quantity: str = "", unit: str = "", error: EntryError | None = None
) -> tuple[str, str]:
    """The instruction of a manual entry in Vietnamese and English (``"env-1: nhập nhiệt độ (°C)"`` /
    ``"env-1: enter temperature in °C"``), each prefixed with what was wrong with the last typed text, if any."""
    vi = f"{instrument_id}: nhập {measurand_words(quantity, 'vi')}" + (f" ({unit})" if unit else " kèm đơn vị")
    en = f"{instrument_id}: enter {measurand_words(quantity, 'en')}" + (f" in {unit}" if unit else " with its unit")
    if error is not None:
        why_vi, why_en = _ENTRY_ERRORS.get(error.reason, _ENTRY_ERRORS["number"])
        vi = f"{why_vi.format(text=error.text)}. {vi}"
        en = f"{why_en.format(text=error.text)}. {en}"
    return vi, en


def wire_manual_entry(channel: OperatorChannel, role: str, instrument: Instrument) -> None:
    """Route a manual-entry instrument's readings through ``channel`` (each one a pending action expecting a
    value); other instruments are left alone. Call it where the instruments are opened, after the demo scenario's
    ``attach``: a reader the instrument already has (the virtual lab's register) becomes the automatic front
    end's reader for ``role``."""
    if not isinstance(instrument, ManualEntry):
        return
    front = channel.front_end
    if instrument.ask is not None and isinstance(front, AutomaticFrontEnd):
        front.readers.setdefault(role, instrument.ask)
    instrument.ask = channel.manual_entry(role, instrument.instrument_id, instrument.quantity, instrument.unit)
