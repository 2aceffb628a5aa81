"""Operator actions: the one interface through which a procedure asks a person to do something.

A procedure step says *what* must happen ("place the 200 g weight", "open the valve to Q3") as an
:class:`OperatorAction`; a :class:`Prompter` makes it happen. The command line asks the technician and waits for
Enter; the API (later) shows the action in the web page and waits for the click; in demo mode an automatic prompter
performs the action on the virtual lab itself. Texts are Vietnamese first, English second.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class OperatorAction:
    """Something a person must do before the next readings.

    ``kind`` is machine-readable (``place-load``, ``remove-load``, ``set-flow``, ``set-output``, ``confirm``...);
    ``params`` carries its numbers with units in the key names where needed (e.g. ``{"load_g": 200.0}``).
    """

    kind: str
    text_vi: str
    text_en: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, language: str = "vi") -> str:
        """The instruction in ``language`` (``vi`` or ``en``)."""
        return self.text_vi if language == "vi" else self.text_en


class OperatorAborted(Exception):  # noqa: N818 - an outcome, not a fault
    """The operator declined the action: the run pauses and can be resumed."""


class Prompter(ABC):
    """Carries out operator actions; ``perform`` returns when the action is done."""

    @abstractmethod
    def perform(self, action: OperatorAction) -> None:
        """Make ``action`` happen (ask a person, or act on the virtual lab); raise OperatorAborted to stop."""

    def notify(self, message: str) -> None:  # noqa: B027 - optional hook
        """Tell the operator something that needs no answer (a warning, a demo action)."""

    def progress(self, number: int, total: int, title: str) -> None:
        """Step ``number`` of ``total`` (1-based) is starting; by default a notification ``[n/N] title``."""
        self.notify(f"[{number}/{total}] {title}")


def localised(title: str, language: str) -> str:
    """A step title in ``language`` first: titles are written ``"Vietnamese / English"``; for ``"en"`` the halves
    swap (``"English / Vietnamese"``). A title without the separator is returned as it is."""
    vi, sep, en = title.partition(" / ")
    return f"{en} / {vi}" if sep and language == "en" else title


class AutomaticPrompter(Prompter):
    """Performs actions with a function (the virtual lab's controls in demo mode, or a script in tests)."""

    def __init__(self, act: Callable[[OperatorAction], None], log: Callable[[str], None] | None = None) -> None:
        self._act = act
        self._log = log
        self.performed: list[OperatorAction] = []

    def perform(self, action: OperatorAction) -> None:
        if self._log is not None:
            self._log(f"[demo] {action.text('vi')} / {action.text('en')}")
        self._act(action)
        self.performed.append(action)

    def notify(self, message: str) -> None:
        if self._log is not None:
            self._log(message)
