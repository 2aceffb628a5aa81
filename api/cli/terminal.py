"""Input from the person at the terminal, shared by the commands that need it (``caltrace read``).

The prompt is the run's or the command's language only (``--lang``, default Vietnamese): what to type
(:func:`acquisition.channel.manual_entry_texts`, the same words a run's manual entry uses) and, after a typo, what
was wrong. A decimal comma or point is accepted (``21,4`` or ``21.4``, :func:`drivers.manual.parse_entry`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import typer

from drivers.errors import DeviceConnectionError
from drivers.manual import EntryError, ManualEntry


def ask_on_terminal(prompt: str) -> str:
    """A manual reading typed by the person at the terminal (or the next line of piped input), after ``prompt``.

    End of input raises :class:`~drivers.errors.DeviceConnectionError`, which a run treats like a lost connection
    (it pauses).
    """
    if sys.stdin.isatty():
        return str(typer.prompt(prompt, err=True))
    line = sys.stdin.readline()
    if not line:
        raise DeviceConnectionError("manual entry: no more input (end of file)")
    return line.strip()


def terminal_asker(instrument: ManualEntry, language: str = "vi") -> Callable[[str], str]:
    """The ``ask`` callback of ``instrument`` at this terminal, worded in ``language`` (``vi`` or ``en``) only: the
    instrument's own (English) prompt is replaced by :func:`~acquisition.channel.manual_entry_texts`' words, and a
    typed text that is not a reading is asked again with what was wrong, up to
    :data:`~acquisition.channel.ENTRY_ATTEMPTS` times (then the last text goes to the instrument, whose error the
    command reports)."""
    from acquisition.channel import ask_until_valid, manual_entry_texts  # here: the channel loads the registry

    index = 0 if language == "vi" else 1

    def ask(_prompt: str) -> str:
        def once(error: EntryError | None) -> str:
            prompt = manual_entry_texts(instrument.instrument_id, instrument.quantity, instrument.unit, error)[index]
            if error is not None and not sys.stdin.isatty():
                typer.echo(prompt, err=True)  # piped input: say what was wrong (a terminal shows it as the prompt)
            return ask_on_terminal(prompt)

        return ask_until_valid(once, instrument.unit)

    return ask
