"""The terminal as a front end of the operator channel, and the run's progress display (an event subscriber).

:class:`ConsoleFrontEnd` shows each pending action on stderr and answers it from stdin: Enter = done, a number
(with or without its unit; ``21,4`` or ``21.4``) = the value of a manual entry, ``s``/``stop``/``dừng`` = stop (the
run pauses), end of input = stop ("no operator at the terminal"). Everything it prints — the instruction, the hint,
what was wrong with a typed value, "answered by" — is in the run's language (``calibrate --lang``, default
Vietnamese), one language at a time (:data:`TEXTS`); the action's text in the other language stays in the registry
(``caltrace runs actions``). Ctrl-C stays what it always was: KeyboardInterrupt in the main
thread, the engine's safe path. Another process may answer the same action first (``caltrace runs answer``);
the terminal then says who did and takes its next line for the next action.

:class:`ConsoleDisplay` prints the progress bar and warnings from the run's events. In demo mode the virtual
lab's automatic operator (acquisition.channel.AutomaticFrontEnd with the scenario's ``act``) answers instead,
printing what it does as ``[mô phỏng] ...`` (``[demo] ...`` with ``--lang en``).
"""

from __future__ import annotations

import collections
import io
import os
import sys
import threading
from collections.abc import Callable
from typing import TextIO

import typer

from acquisition.channel import (
    Answer,
    AutomaticFrontEnd,
    FrontEnd,
    OperatorAction,
    OperatorChannel,
    Reply,
    Request,
    title_in,
)
from acquisition.events import Event
from api.cli.errors import fail

STOP_WORDS = {"s", "stop", "q", "quit", "dừng", "dung"}
#: environment variable: the run's operator action timeout in seconds (default acquisition.channel's one hour)
TIMEOUT_VARIABLE = "CALTRACE_ACTION_TIMEOUT_S"
NO_OPERATOR = "no operator at the terminal (input ended)"

#: the terminal's own words, per language (the run's ``--lang``)
TEXTS: dict[str, dict[str, str]] = {
    "vi": {
        "done": "Enter khi xong, s để dừng: ",
        "value": "gõ giá trị rồi Enter (21,4 hoặc 21.4), s để dừng: ",
        "answered": "(đã được {by} trả lời)",
        "warning": "cảnh báo",
        "demo": "[mô phỏng]",
    },
    "en": {
        "done": "Enter when done, s to stop: ",
        "value": "type the value and Enter (21.4 or 21,4), s to stop: ",
        "answered": "(answered by {by})",
        "warning": "warning",
        "demo": "[demo]",
    },
}


def _say(text: str) -> None:
    typer.echo(text, err=True)


class ConsoleDisplay:
    """Event subscriber: ``[bar] n/N title`` when a step starts (the title in the run's language only),
    ``  cảnh báo: ...`` / ``  warning: ...`` for a warning (stderr)."""

    def __init__(self, language: str = "vi", say: Callable[[str], None] = _say) -> None:
        self.language = language
        self._say = say

    def __call__(self, event: Event) -> None:
        if event.kind == "step-started":
            number, total = int(event.data["number"]), int(event.data["total"])
            width = 24
            done = round(width * (number - 1) / max(total, 1))
            bar = "█" * done + "░" * (width - done)
            self._say(f"{bar} {number}/{total} {title_in(str(event.data['title']), self.language)}")
        elif event.kind == "warning":
            self._say(f"  {TEXTS[self.language]['warning']}: {event.data['message']}")


class ConsoleFrontEnd(FrontEnd):
    """Answers actions from the terminal (see the module docs); ``by`` is recorded as who answered."""

    def __init__(self, language: str = "vi", by: str = "", stdin: TextIO | None = None) -> None:
        self.language = language
        self.by = by
        self._stdin = stdin
        self._lock = threading.Lock()
        self._lines: collections.deque[str] = collections.deque()
        self._ended = False
        self._current: tuple[Request, Reply] | None = None
        self._reader: threading.Thread | None = None

    def _tty(self) -> bool:
        stdin = self._stdin or sys.stdin
        try:
            return stdin.isatty()
        except (ValueError, AttributeError):
            return False

    def _hint(self, request: Request) -> None:
        if self._tty():
            typer.echo(f"    {TEXTS[self.language][request.action.expects]}", err=True, nl=False)

    def present(self, request: Request, reply: Reply) -> None:
        _say(f"  → {request.action.text(self.language)}")
        self._hint(request)
        with self._lock:
            self._current = (request, reply)
        self._start()
        self._dispatch()

    def withdraw(self, request: Request, why: str) -> None:
        with self._lock:
            if self._current is not None and self._current[0] is request:
                self._current = None
        if why.startswith("answered by ") and why != f"answered by {self.by}":
            _say(f"    {TEXTS[self.language]['answered'].format(by=why.removeprefix('answered by '))}")

    def _answer(self, request: Request, line: str | None) -> Answer:
        if line is None:
            return Answer.stop(NO_OPERATOR, self.by)
        text = line.strip()
        if text.lower() in STOP_WORDS:
            return Answer.stop("dừng theo yêu cầu / stopped on request", self.by)
        if request.action.expects == "value":
            return Answer.typed(text, self.by)
        return Answer.done(self.by)

    def _dispatch(self) -> None:
        """Give the oldest unread line (or the end of input) to the action waiting for one; an empty line where a
        value is expected is skipped (the prompt is shown again)."""
        while True:
            with self._lock:
                if self._current is None or (not self._lines and not self._ended):
                    return
                request, reply = self._current
                line = self._lines.popleft() if self._lines else None
                if line is not None and not line.strip() and request.action.expects == "value":
                    again = True
                else:
                    again = False
                    self._current = None
            if again:
                self._hint(request)
                continue
            reply(self._answer(request, line))
            return

    def _start(self) -> None:
        with self._lock:
            if self._reader is not None:
                return
            self._reader = threading.Thread(target=self._read, name="console-answers", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        """Read stdin line by line (a daemon thread). From the file descriptor itself where there is one, so that a
        thread still blocked here when the run ends holds no lock of ``sys.stdin`` at interpreter shutdown."""
        stdin = self._stdin or sys.stdin
        try:
            fd = stdin.fileno()
        except (AttributeError, ValueError, io.UnsupportedOperation):
            fd = -1
        pending = b""
        while True:
            if fd >= 0:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    chunk = b""
                if chunk:
                    pending += chunk
                    *complete, pending = pending.split(b"\n")
                    lines = [c.decode("utf-8", "replace") for c in complete]
                else:
                    lines = [pending.decode("utf-8", "replace")] if pending else []
                    pending = b""
            else:
                line = stdin.readline()
                lines = [line.rstrip("\n")] if line else []
                chunk = line.encode() if line else b""
            with self._lock:
                self._lines.extend(lines)
                if not chunk:
                    self._ended = True
            self._dispatch()
            if not chunk:
                return


def _timeout() -> float | None:
    text = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise fail(f"{TIMEOUT_VARIABLE}={text!r}: give the operator action timeout in seconds, e.g. 1800", 2)
    return value


def operator_channel(
    language: str, act: Callable[[OperatorAction], None] | None = None, by: str = ""
) -> OperatorChannel:
    """The CLI's channel: the terminal answers (or, with ``act``, the virtual lab's automatic operator, printing
    ``[mô phỏng] ...``, ``[demo] ...`` in English); the progress display follows the events; the timeout comes from
    ``CALTRACE_ACTION_TIMEOUT_S``."""
    front: FrontEnd
    if act is not None:

        def show(action: OperatorAction) -> None:
            _say(f"  {TEXTS[language]['demo']} {action.text(language)}")
            act(action)

        front = AutomaticFrontEnd(show, by=by or "demo operator")
    else:
        front = ConsoleFrontEnd(language, by=by)
    channel = OperatorChannel(front, timeout_s=_timeout())
    channel.events.subscribe(ConsoleDisplay(language))
    return channel
