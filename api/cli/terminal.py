"""Input from the person at the terminal, shared by the commands that need it (``caltrace read``, ``calibrate``)."""

from __future__ import annotations

import sys

import typer

from drivers.errors import DeviceConnectionError


def ask_on_terminal(prompt: str) -> str:
    """A manual reading typed by the person at the terminal (or the next line of piped input).

    This is the ``ask`` callback of :class:`drivers.manual.ManualEntry`; end of input raises
    :class:`~drivers.errors.DeviceConnectionError`, which a run treats like a lost connection (it pauses).
    """
    if sys.stdin.isatty():
        return str(typer.prompt(prompt, err=True))
    line = sys.stdin.readline()
    if not line:
        raise DeviceConnectionError("manual entry: no more input (end of file)")
    return line.strip()
