"""Settings of a caltrace installation, read from ``CALTRACE_*`` environment variables (or a ``.env`` file).

Every setting has an embedded default, so a fresh machine runs with none set: the data directory holds the SQLite
registry ``caltrace.db``, the SQLite reading store ``readings.db``, the time-series spool, the virtual lab's manifest
``lab.json`` and the log file ``caltrace.log``. Its default does not depend on the working directory
(:func:`default_data_dir`): ``var`` in the source checkout caltrace runs from (``make run``), else
``$XDG_DATA_HOME/caltrace`` (``~/.local/share/caltrace``). A relative ``CALTRACE_DATA_DIR`` is taken from the
working directory at start and made absolute.
"""

from __future__ import annotations

import getpass
import os
from datetime import date, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from registry.errors import BadSettingError

#: default TCP port of the virtual lab's control interface; its instruments listen on the next ports (``lab_port``)
DEFAULT_LAB_PORT = 4100


def source_checkout() -> Path | None:
    """The root of the source checkout caltrace runs from (an editable install, as ``make run`` makes), or None
    when it runs from an installed package."""
    root = Path(__file__).resolve().parents[1]
    if (root / "pyproject.toml").is_file() and (root / "registry" / "settings.py").is_file():
        return root
    return None


def default_data_dir() -> Path:
    """The data directory when ``CALTRACE_DATA_DIR`` is not set, the same from any working directory: ``var`` in
    the source checkout, else ``$XDG_DATA_HOME/caltrace`` (``~/.local/share/caltrace``)."""
    root = source_checkout()
    if root is not None:
        return root / "var"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "caltrace"


def _env_files() -> tuple[Path, ...]:
    """``.env`` files read for settings: the checkout's, then the working directory's (which wins)."""
    root = source_checkout()
    return (root / ".env", Path(".env")) if root is not None else (Path(".env"),)


class Settings(BaseSettings):
    """Installation settings; each field is also the environment variable ``CALTRACE_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="CALTRACE_", env_file=_env_files(), extra="ignore")

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Directory for the SQLite files, spool, lab manifest and log file (default: see default_data_dir).",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the registry, e.g. postgresql+psycopg://user:pw@host/caltrace. "
        "Default: SQLite file caltrace.db in the data directory.",
    )
    timezone: str = Field(
        default="Asia/Ho_Chi_Minh", description="The lab's time zone: calendar days and years in reports."
    )
    public_url: str = Field(
        default="http://localhost:8000",
        description="Public base URL of the verification page: the certificate PDF's QR code links to "
        "`{public_url}/verify/{number}?h={hash prefix}`.",
    )
    tsa_url: str | None = Field(
        default=None,
        description="RFC 3161 timestamp server URL: `caltrace certificate sign` adds a signature timestamp (XAdES-T).",
    )
    store: Literal["sqlite", "influx"] = Field(default="sqlite", description="Where readings are kept.")
    influx_url: str = Field(default="http://127.0.0.1:8086", description="InfluxDB base URL.")
    influx_api: Literal["auto", "v1", "v2"] = Field(
        default="auto", description="InfluxDB HTTP API: v1 (/write, /query; InfluxDB 1.x) or v2 (2.x/3.x)."
    )
    influx_database: str = Field(default="caltrace", description="v1 database, or v2 bucket.")
    influx_org: str = Field(default="caltrace", description="v2 organisation.")
    influx_token: str | None = Field(default=None, description="v2 API token (v1: unused).")
    influx_username: str | None = Field(default=None, description="v1 user, when authentication is on.")
    influx_password: str | None = Field(default=None, description="v1 password, when authentication is on.")

    lab_port: int = Field(
        default=DEFAULT_LAB_PORT,
        ge=0,
        le=65000,
        description="TCP port of the virtual lab's control interface; its instruments listen on the ports after it "
        "(bal-1 on lab_port + 1, ...). 0: any free ports.",
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        """The data directory as an absolute path (a relative one is taken from the working directory now)."""
        return value.expanduser().resolve()

    @property
    def manifest_path(self) -> Path:
        """Where ``caltrace simulate`` writes the virtual lab's manifest and ``read``/``control`` look for it."""
        return self.data_dir / "lab.json"

    @property
    def log_path(self) -> Path:
        """The log file: every library's log lines (and caltrace's own) go here, not to the terminal."""
        return self.data_dir / "caltrace.log"

    @property
    def resolved_database_url(self) -> str:
        """The registry URL: ``database_url`` or the SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'caltrace.db').resolve()}"

    @property
    def readings_path(self) -> Path:
        """SQLite file of the embedded reading store."""
        return self.data_dir / "readings.db"

    @property
    def spool_dir(self) -> Path:
        """Directory where readings wait while the time-series server is unreachable."""
        return self.data_dir / "spool"

    def lab_today(self) -> date:
        """Today's date in the lab's time zone (``timezone``, CALTRACE_TIMEZONE): the calendar day on which
        authorisations, certificates and standards' due dates are judged."""
        try:
            return datetime.now(ZoneInfo(self.timezone)).date()
        except ZoneInfoNotFoundError:
            raise BadSettingError(
                f"CALTRACE_TIMEZONE {self.timezone!r} is not a known time zone; use e.g. Asia/Ho_Chi_Minh"
            ) from None


def get_settings() -> Settings:
    """Settings from the environment, read afresh (tests change the environment between calls)."""
    return Settings()


def lab_today() -> date:
    """Today's date in the lab's time zone, from the installation's settings (:meth:`Settings.lab_today`)."""
    return get_settings().lab_today()


def default_actor() -> str:
    """Who is recorded in the audit log for a change made from this computer's account: $CALTRACE_ACTOR, else the
    login name (``cli`` when there is none, as in some containers)."""
    actor = os.environ.get("CALTRACE_ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "cli"
