"""Where log lines go when caltrace runs from the command line: a file, not the terminal.

Libraries log (SQLAlchemy, Alembic's ``Running upgrade ...``, pymodbus, urllib3, influxdb_client); those lines
belong in the log file ``caltrace.log`` in the data directory (:attr:`registry.settings.Settings.log_path`), with
caltrace's own. The terminal shows caltrace's own warnings and errors, once each, as ``warning: ...`` lines on
stderr; what a command prints itself it does not also log at WARNING (a message is printed once).

Nothing heavy is imported here, and the file is opened (and the data directory created) only when a line is
written: ``caltrace --help`` writes no file.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

#: the top-level packages whose warnings are shown on the terminal (every other logger goes to the file only)
OWN_PACKAGES = ("api", "acquisition", "certificates", "drivers", "lab", "registry", "simulators", "uncertainty")
#: libraries whose INFO/DEBUG chatter is not worth the file either (their warnings still go there)
QUIET_LIBRARIES = ("sqlalchemy", "urllib3", "pymodbus", "influxdb_client", "asyncio", "alembic.runtime.plugins")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class LazyFileHandler(logging.Handler):
    """Appends to the log file, opened (its directory created) on the first line; a file that cannot be opened
    silences the handler rather than failing the command."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self._file: logging.FileHandler | None = None
        self._broken = False
        self.path: Path | None = None
        self.setFormatter(logging.Formatter(FORMAT))

    def _open(self) -> logging.FileHandler | None:
        if self._file is None and not self._broken:
            try:
                from registry.settings import get_settings

                self.path = get_settings().log_path
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = logging.FileHandler(self.path, encoding="utf-8")
                self._file.setFormatter(self.formatter)
            except Exception:  # bad settings or an unwritable directory: the command still runs, without a log
                self._broken = True
        return self._file

    def emit(self, record: logging.LogRecord) -> None:
        handler = self._open()
        if handler is not None:
            handler.emit(record)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        super().close()


class _TerminalFormatter(logging.Formatter):
    """``warning: message`` / ``error: message``, as the CLI's own lines read (no traceback on the terminal)."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


class _OwnWarnings(logging.Filter):
    """Passes caltrace's own records only, and not those whose message the caller reports itself (logged with
    ``extra={"reported_by_caller": True}``, e.g. a run's pause, a source left live, readings spooled): those the
    command prints, once."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "reported_by_caller", False):
            return False
        return record.name.split(".", 1)[0] in OWN_PACKAGES or record.name.startswith("caltrace")


def configure_logging() -> None:
    """Send every logger to the log file (INFO and up) and caltrace's own warnings to stderr, once each."""
    root = logging.getLogger()
    if any(isinstance(h, LazyFileHandler) for h in root.handlers):
        return
    root.setLevel(logging.INFO)
    root.addHandler(LazyFileHandler())
    terminal = logging.StreamHandler(sys.stderr)
    terminal.setLevel(logging.WARNING)
    terminal.addFilter(_OwnWarnings())
    terminal.setFormatter(_TerminalFormatter())
    root.addHandler(terminal)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)  # Python warnings (py.warnings) go to the file, not the terminal
